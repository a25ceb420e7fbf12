"""Step-through of an nn.RNNCell over a sequence (chapter 1): a slider over time steps
shows which x[t] is read and the hidden states so far as a heatmap.

    from rnnlab.explorers.stepper import show_stepper
    show_stepper(nn.RNNCell(100, 200), torch.randn(6, 5, 100))

The hidden states come from ONE call of a real nn.RNN holding the cell's parameters (the
package never writes the step loop: that is the students' exercise).
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch
from IPython.display import HTML, display
from torch import nn

from rnnlab.explorers.html import code, message, shape_text
from rnnlab.fonts import setup_cjk_fonts
from rnnlab.palette import ROLE

MAX_UNITS_SHOWN = 64


def _validate(cell, x, h0):
    if not isinstance(cell, nn.RNNCell):
        raise TypeError(f"第一个参数应当是 nn.RNNCell，收到的是 {type(cell).__name__}。")
    if not torch.is_tensor(x):
        raise TypeError(f"x 应当是张量，收到的是 {type(x).__name__}。")
    if x.dim() != 3:
        raise ValueError(f"x 应当是三维的 (时间步, 批量, input_size)，收到的形状是 {shape_text(tuple(x.shape))}。")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError("x 至少要有一个时间步和一个样本。")
    if x.shape[2] != cell.input_size:
        raise ValueError(f"x 的最后一维是 {x.shape[2]}，但这个单元的 input_size 是 {cell.input_size}。"
                         "记住顺序：(时间步, 批量, 特征)。")
    if h0 is not None:
        want = (x.shape[1], cell.hidden_size)
        if not torch.is_tensor(h0) or tuple(h0.shape) != want:
            got = shape_text(tuple(h0.shape)) if torch.is_tensor(h0) else type(h0).__name__
            raise ValueError(f"h0 的形状应当是 {shape_text(want)}（批量, hidden_size），收到的是 {got}。")


def hidden_states(cell: nn.RNNCell, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
    """All hidden states (seq, batch, hidden) from one nn.RNN call with the cell's parameters."""
    bias = cell.bias_ih is not None
    rnn = nn.RNN(cell.input_size, cell.hidden_size, bias=bias, nonlinearity=cell.nonlinearity)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(cell.weight_ih)
        rnn.weight_hh_l0.copy_(cell.weight_hh)
        if bias:
            rnn.bias_ih_l0.copy_(cell.bias_ih)
            rnn.bias_hh_l0.copy_(cell.bias_hh)
        out, _ = rnn(x, None if h0 is None else h0.unsqueeze(0))
    return out


class CellStepper(W.VBox):
    def __init__(self, cell: nn.RNNCell, x: torch.Tensor, h0: torch.Tensor | None = None):
        _validate(cell, x, h0)
        self.cell, self.x = cell, x
        self.states = hidden_states(cell, x, h0)
        seq, batch = x.shape[0], x.shape[1]
        self.slider = W.IntSlider(value=0, min=0, max=seq - 1, description="时间步 t", continuous_update=True)
        self.sample = W.IntSlider(value=0, min=0, max=batch - 1, description="样本", continuous_update=True)
        self.text = W.HTML()
        self.plot = W.Output()
        self.slider.observe(lambda _c: self.update(), names="value")
        self.sample.observe(lambda _c: self.update(), names="value")
        super().__init__([W.HBox([self.slider, self.sample]), self.text, self.plot])
        self.add_class("rnnlab-stepper")
        self.update()

    @property
    def t(self) -> int:
        return self.slider.value

    @t.setter
    def t(self, value: int) -> None:
        self.slider.value = value

    def state_text(self) -> str:
        t, H = self.t, self.cell.hidden_size
        return (f"第 {t} 步读入 {code(f'x[{t}]')}，形状 {shape_text(tuple(self.x[t].shape))}（批量, input_size）；"
                f"得到新的隐状态 {code(f'out[{t}]')}，形状 {shape_text((self.x.shape[1], H))}（批量, hidden_size）。"
                f"到目前为止共 {t + 1} 个隐状态，叠起来是 {shape_text((t + 1, self.x.shape[1], H))}。")

    def update(self) -> None:
        self.text.value = self.state_text()
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
        ax_time.set_xticks(range(seq), [f"x[{i}]" for i in range(seq)])
        ax_time.set_yticks([])
        ax_time.set_title(f"读入的时间步（橙色为当前 t = {t}）", fontsize=10)
        data = self.states[: t + 1, b, :units].numpy()
        im = ax_h.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax_h.set_yticks(range(t + 1), [f"out[{i}]" for i in range(t + 1)])
        ax_h.set_xlabel("隐藏单元" + (f"（只画前 {units} 个，共 {self.cell.hidden_size} 个）"
                                      if units < self.cell.hidden_size else ""))
        fig.colorbar(im, ax=ax_h, fraction=0.03)
        fig.tight_layout()
        return fig


def show_stepper(cell, x, h0=None):
    """A CellStepper, or a Chinese message in place of the widget when the input is wrong."""
    try:
        return CellStepper(cell, x, h0)
    except (TypeError, ValueError) as e:
        return W.HTML(message(str(e)))
