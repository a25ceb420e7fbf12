"""The course's colours, one table for matplotlib figures and HTML explorers alike.

A colour means the same thing everywhere: the input is always blue, the hidden state
always green, a gate block always the same colour in a figure and in the gate explorer.
"""

from __future__ import annotations

# Roles in the diagrams.
ROLE = {
    "input": "#4c72b0",       # x, x[t]
    "hidden": "#55a868",      # h, out[t]
    "memory": "#8172b3",      # c (LSTM memory cell)
    "cell": "#f2f2f2",        # the recurrent unit's box
    "edge": "#333333",
    "highlight": "#dd8452",
    "note": "#666666",
    "past": "#c7d3e6",        # time steps already read (step-through)
    "future": "#eeeeee",      # time steps not read yet
    "rule": "#999",           # table-cell borders
}

# One colour per kind of tensor dimension (shape chips in the explorers).
DIM = {
    "时间步": "#1f77b4",
    "批量": "#d62728",
    "特征": "#2ca02c",
    "层数×方向": "#9467bd",
}
DIM_UNKNOWN = "#555555"

# Gate blocks in torch's stacking order (LSTM i f g o, GRU r z n; h: the plain RNN's single block).
GATE = {"i": "#4c72b0", "f": "#dd8452", "g": "#55a868", "o": "#c44e52",
        "r": "#8172b3", "z": "#937860", "n": "#da8bc3", "h": "#4c72b0"}

# Directions of a bidirectional layer, and "this claim is false".
DIRECTION = {"forward": "#2e7d32", "backward": "#1565c0", "wrong": "#c62828"}

# Message boxes: (text, background).
MESSAGE = {"error": ("#b00020", "#fdecea"), "warning": ("#8a6d00", "#fff8e1"), "ok": ("#1b5e20", "#e8f5e9")}
