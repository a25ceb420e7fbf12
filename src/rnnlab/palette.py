"""The course's colours, one table for matplotlib figures and HTML explorers alike.

A colour means the same thing everywhere: the input is always blue, the hidden state
always green, a gate block always the same colour in a figure and in the gate explorer.

Colours that tell things apart in one picture stay apart for readers with a colour-vision
deficiency too: five hues after Okabe and Ito's palette (blue, bluish green, orange,
vermilion, purple) at different lightness, so that no meaning rests on red against green.
tests/test_palette.py simulates protanopia, deuteranopia and tritanopia (Machado et al. 2009)
and checks every pair that shares a picture.
"""

from __future__ import annotations

# Roles in the diagrams.
ROLE = {
    "input": "#0082cb",       # x, x[t]
    "hidden": "#00b383",      # h, out[t]
    "memory": "#8e2f66",      # c (LSTM memory cell)
    "cell": "#f2f2f2",        # the recurrent unit's box
    "edge": "#333333",
    "highlight": "#e69f00",
    "note": "#666666",
    "past": "#c7d3e6",        # time steps already read (step-through)
    "future": "#eeeeee",      # time steps not read yet
    "rule": "#999",           # table-cell borders
}

# One colour per kind of tensor dimension (shape chips in the explorers).
DIM = {
    "时间步": "#0082cb",
    "批量": "#d55e00",
    "特征": "#00b383",
    "层数×方向": "#8e2f66",
}
DIM_UNKNOWN = "#555555"

# Gate blocks in torch's stacking order (LSTM i f g o, GRU r z n; h: the plain RNN's single block).
# LSTM's o is not the memory cell's purple (both are in the LSTM figure); each candidate is green.
GATE = {"i": "#0082cb", "f": "#e69f00", "g": "#00b383", "o": "#d55e00",
        "r": "#8e2f66", "z": "#d55e00", "n": "#00b383", "h": "#0082cb"}

# Directions of a bidirectional layer, and "this claim is false".
DIRECTION = {"forward": "#00b383", "backward": "#0082cb", "wrong": "#d55e00"}

# Message boxes: (text, background).
MESSAGE = {"error": ("#9c1c1c", "#fdecea"), "warning": ("#8a6d00", "#fff8e1"), "ok": ("#00614a", "#e8f5e9")}
