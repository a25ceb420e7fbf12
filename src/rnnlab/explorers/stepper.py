"""Step-through of a recurrent cell over a sequence (chapters 1, 3, 4): a slider over time
steps shows which x[t] is read and the hidden states so far as a heatmap.

    from rnnlab.explorers.stepper import show_stepper
    show_stepper(nn.RNNCell(100, 200), torch.randn(6, 5, 100))
    show_stepper(nn.LSTMCell(100, 200), x, (h0, c0))   # or nn.GRUCell(100, 200), x, h0

Works for nn.RNNCell, nn.LSTMCell and nn.GRUCell. The hidden states come from
rnnlab.oracles.run_cell: ONE call of the real nn.RNN / nn.LSTM / nn.GRU holding the cell's
parameters (the package never writes the step loop: that is the students' exercise).
For an LSTMCell the heatmap shows h, the text says that c exists too.
"""

from __future__ import annotations

import math

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, display
from matplotlib.ticker import MaxNLocator
from torch import nn

from rnnlab.explorers.html import code, message, shape_text
from rnnlab.explorers.view import HTMLView
from rnnlab.fonts import setup_cjk_fonts
from rnnlab.oracles import run_cell
from rnnlab.palette import ROLE

MAX_UNITS_SHOWN = 64
MAX_TICK_LABELS = 12
CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)
_MODULE_HINT = {nn.RNN: "nn.RNNCell", nn.LSTM: "nn.LSTMCell", nn.GRU: "nn.GRUCell"}


def _what(value) -> str:
    """A received value, described for a message."""
    if torch.is_tensor(value):
        return f"形状为 {shape_text(tuple(value.shape))} 的张量"
    if isinstance(value, (tuple, list)):
        return f"含 {len(value)} 个元素的 {type(value).__name__}"
    return f"一个 {type(value).__name__}"


def _validate(cell, x, h0) -> None:
    """Raise TypeError / ValueError with a Chinese message when the stepper cannot run."""
    if type(cell) not in CELLS:
        hint = next((f"{type(cell).__name__} 一次处理整条序列；这里要的是单元 {c}。"
                     for m, c in _MODULE_HINT.items() if type(cell) is m), "")
        raise TypeError(f"第一个参数应当是 nn.RNNCell、nn.LSTMCell 或 nn.GRUCell，收到的是 {type(cell).__name__}。{hint}")
    name = type(cell).__name__
    if not torch.is_tensor(x):
        raise TypeError(f"x 应当是张量，收到的是 {type(x).__name__}。")
    if x.dim() != 3:
        raise ValueError(f"x 应当是三维的 (时间步, 批量, input_size)，收到的形状是 {shape_text(tuple(x.shape))}。")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError("x 至少要有一个时间步和一个样本。")
    if x.shape[2] != cell.input_size:
        raise ValueError(f"x 的最后一维是 {x.shape[2]}，但这个单元的 input_size 是 {cell.input_size}。"
                         "记住顺序：(时间步, 批量, 特征)。")
    dtype = cell.weight_ih.dtype
    if x.dtype != dtype:
        raise ValueError(f"x 的 dtype 是 {x.dtype}，单元的参数是 {dtype}：两者要一致"
                         f"（例如 {'x.float()' if dtype == torch.float32 else f'x.to({dtype})'}）。")
    if h0 is None:
        return
    want = shape_text((x.shape[1], cell.hidden_size))
    if isinstance(cell, nn.LSTMCell):
        if not isinstance(h0, tuple) or len(h0) != 2:
            raise ValueError(f"LSTMCell 的初始状态是元组 (h0, c0)，两个张量的形状都是 {want}（批量, hidden_size），"
                             f"收到的是{_what(h0)}。")
        states = {"h0": h0[0], "c0": h0[1]}
    else:
        if isinstance(h0, (tuple, list)):
            raise ValueError(f"{name} 的初始状态只有一个张量 h0，形状 {want}（批量, hidden_size），收到的是{_what(h0)}；"
                             "元组 (h0, c0) 是 LSTMCell 的写法。")
        states = {"h0": h0}
    for label, s in states.items():
        if not torch.is_tensor(s) or shape_text(tuple(s.shape)) != want:
            raise ValueError(f"{label} 的形状应当是 {want}（批量, hidden_size），收到的是{_what(s)}。")
        if s.dtype != dtype:
            raise ValueError(f"{label} 的 dtype 是 {s.dtype}，单元的参数是 {dtype}：两者要一致。")


def tick_positions(n: int, keep: int | None = None, most: int = MAX_TICK_LABELS) -> list[int]:
    """At most about `most` of 0..n-1, evenly spaced from 0, always with the last one and `keep`
    (a position closer than one spacing to these is dropped so that labels do not overlap)."""
    step = max(1, math.ceil(n / most))
    ticks = list(range(0, n, step))
    for must in (n - 1, keep):  # `keep` last: it wins over 0 and n - 1
        if must is not None:
            ticks = [i for i in ticks if i == must or abs(i - must) >= step] + ([] if must in ticks else [must])
    return sorted(ticks)


class CellStepper(HTMLView):
    """Two sliders (time step, sample) above a text and a figure of the hidden states so far."""

    def __init__(self, cell: nn.RNNCellBase, x: torch.Tensor, h0=None):
        _validate(cell, x, h0)
        self.cell, self.x = cell, x
        self.is_lstm = isinstance(cell, nn.LSTMCell)
        self.states, _ = run_cell(cell, x, h0)  # (seq, batch, hidden): h at every step
        units = min(cell.hidden_size, MAX_UNITS_SHOWN)
        # One symmetric colour scale for the whole run (relu cells exceed ±1; the scale never shifts).
        self.vmax = max(1.0, float(self.states[:, :, :units].abs().max()))
        seq, batch = x.shape[0], x.shape[1]
        controls = {
            "t": W.IntSlider(value=0, min=0, max=seq - 1, description="时间步 t", continuous_update=True),
            "sample": W.IntSlider(value=0, min=0, max=batch - 1, description="样本", continuous_update=True),
        }
        self.slider, self.sample = controls["t"], controls["sample"]
        self.text = W.HTML()
        self.plot = W.Output()
        super().__init__([W.HBox([self.slider, self.sample]), self.text, self.plot])
        self.add_class("rnnlab-stepper")
        self.watch(controls, self.text)
        self.update()

    @property
    def t(self) -> int:
        return self.slider.value

    @t.setter
    def t(self, value: int) -> None:
        self.set(t=value)

    def state_text(self) -> str:
        t, H, B = self.t, self.cell.hidden_size, self.x.shape[1]
        memory = (f"LSTMCell 还有一个同样形状的记忆元 {code('c')}（下图只画 h）。" if self.is_lstm else "")
        return (f"第 {t} 步读入 {code(f'x[{t}]')}，形状 {shape_text(tuple(self.x[t].shape))}（批量, input_size）；"
                f"得到新的隐状态 {code(f'out[{t}]')}，形状 {shape_text((B, H))}（批量, hidden_size）。{memory}"
                f"到目前为止共 {t + 1} 个隐状态，叠起来是 {shape_text((t + 1, B, H))}。")

    def render(self) -> str:
        return self.state_text()

    def update(self) -> None:
        super().update()
        with self.plot:
            self.plot.clear_output(wait=True)
            try:
                fig = self._figure()
                display(fig)
                plt.close(fig)  # displayed once; do not keep it in pyplot's global state
            except Exception as e:  # a drawing problem must not become a traceback
                display(HTML(message(f"画图出错：{type(e).__name__}: {e}")))

    def _figure(self):
        setup_cjk_fonts()
        t, b = self.t, self.sample.value
        seq = self.x.shape[0]
        units = min(self.cell.hidden_size, MAX_UNITS_SHOWN)
        fig, (ax_time, ax_h) = plt.subplots(2, 1, figsize=(7.5, 3.6), gridspec_kw={"height_ratios": [1, 3]})
        colours = [ROLE["highlight"] if i == t else (ROLE["past"] if i < t else ROLE["future"]) for i in range(seq)]
        ax_time.bar(range(seq), [1] * seq, color=colours, edgecolor=ROLE["edge"])
        xt = tick_positions(seq, keep=t)
        ax_time.set_xticks(xt, [f"x[{i}]" for i in xt])
        ax_time.set_yticks([])
        ax_time.set_title(f"读入的时间步（橙色为当前 t = {t}）", fontsize=10)
        data = self.states[: t + 1, b, :units].numpy()
        im = ax_h.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-self.vmax, vmax=self.vmax)
        yt = tick_positions(t + 1)
        ax_h.set_yticks(yt, [f"out[{i}]" for i in yt])
        ax_h.xaxis.set_major_locator(MaxNLocator(integer=True))  # unit numbers, not 2.5
        ax_h.set_xlabel(("隐状态 h 的单元" if self.is_lstm else "隐藏单元")
                        + (f"（只画前 {units} 个，共 {self.cell.hidden_size} 个）" if units < self.cell.hidden_size else ""))
        fig.colorbar(im, ax=ax_h, fraction=0.03)
        fig.tight_layout()
        return fig


def show_stepper(cell, x, h0=None):
    """A CellStepper, or a Chinese message in place of the widget when the input is wrong.

    `cell`: nn.RNNCell, nn.LSTMCell or nn.GRUCell; `x`: (时间步, 批量, input_size);
    `h0`: None (zeros), a (批量, hidden_size) tensor, or for an LSTMCell the tuple (h0, c0).
    """
    try:
        return CellStepper(cell, x, h0)
    except (TypeError, ValueError) as e:
        return W.HTML(message(str(e)))
