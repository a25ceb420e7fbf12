"""Bidirectional view: which slices of `output` are which rows of `h_n`.

For a bidirectional module with L layers, h_n has 2L rows ordered (layer, direction):
h_n[2l] is layer l forward, h_n[2l + 1] layer l backward; `output` holds the LAST layer
only, forward half in [..., :H], backward half in [..., H:]. So output[-1, :, :H] is
h_n[-2] and output[0, :, H:] is h_n[-1]; output[-1, :, H:] is NOT h_n[-1] (the backward
direction reads the sequence from the end, so its final state sits at t = 0).

Each claim the view makes is also computed on a small real module and shown as True/False.
"""

from __future__ import annotations

from html import escape

import ipywidgets as W
import torch
from torch import nn

from rnnlab.explorers.html import RULE, code
from rnnlab.explorers.view import HTMLView
from rnnlab.palette import DIRECTION
from rnnlab.shapes import Config, describe

_MODULES = ("RNN", "GRU", "LSTM")
_FWD, _BWD, _BAD = DIRECTION["forward"], DIRECTION["backward"], DIRECTION["wrong"]


def truths(module: str, num_layers: int, seq_len: int, hidden_size: int = 3, batch: int = 2) -> dict[str, bool]:
    """The three claims, evaluated on a real module (seeded, without touching the global RNG)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = getattr(nn, module)(4, hidden_size, num_layers=num_layers, bidirectional=True)
        x = torch.randn(seq_len, batch, 4)
        with torch.no_grad():
            out, state = m(x)
    h_n = state[0] if isinstance(state, tuple) else state
    H = hidden_size
    return {
        "output[-1, :, :H] == h_n[-2]": torch.equal(out[-1, :, :H], h_n[-2]),
        "output[0, :, H:] == h_n[-1]": torch.equal(out[0, :, H:], h_n[-1]),
        "output[-1, :, H:] == h_n[-1]": torch.equal(out[-1, :, H:], h_n[-1]),
    }


def _cell(text: str, colour: str | None, title: str = "") -> str:
    style = f"border:1px solid {RULE};padding:2px 6px;font-size:12px;min-width:70px;text-align:center"
    if colour:
        style += f";background:{colour};color:white"
    return f'<td style="{style}" title="{escape(title)}">{text}</td>'


def render_map(module: str, num_layers: int, seq_len: int, hidden_size: int) -> str:
    report = describe(Config(module, 4, hidden_size, num_layers=num_layers, bidirectional=True, seq_len=seq_len, batch=2))
    t = report.tensor_dict()
    H, T, L = hidden_size, seq_len, num_layers

    rows = []
    for step in range(T):
        fwd = _FWD if step == T - 1 else None
        bwd = _BWD if step == 0 else (_BAD if step == T - 1 else None)
        fwd_text = "= h_n[-2]" if fwd else ""
        bwd_text = "= h_n[-1]" if step == 0 else ("≠ h_n[-1] ✗" if step == T - 1 else "")
        rows.append(f'<tr><th style="font-weight:normal;padding-right:6px">t = {step}</th>'
                    f"{_cell(fwd_text, fwd)}{_cell(bwd_text, bwd)}</tr>")
    out_table = (f'<table class="rnnlab-bi-output" style="border-collapse:collapse">'
                 f'<tr><th></th><th>前向 [:, :, :{H}]</th><th>反向 [:, :, {H}:]</th></tr>{"".join(rows)}</table>')

    hn_rows = []
    for k in range(2 * L):
        layer, direction = divmod(k, 2)
        neg = k - 2 * L
        colour = (_FWD if direction == 0 else _BWD) if layer == L - 1 else None
        hn_rows.append(f"<tr><td>{code(f'h_n[{k}]')}（{code(f'h_n[{neg}]')}）</td>"
                       f"{_cell(f'第 {layer} 层 · ' + ('前向' if direction == 0 else '反向'), colour)}</tr>")
    hn_table = f'<table class="rnnlab-bi-hn" style="border-collapse:collapse">{"".join(hn_rows)}</table>'

    checks = "".join(
        f'<li>{code(claim.replace("H", str(H)))}：<b class="rnnlab-truth" data-claim="{escape(claim)}">{value}</b></li>'
        for claim, value in truths(module, L, T, H).items()
    )
    return (
        f'<div class="rnnlab-bidirectional"><p>{code("output")} {t["output"]}：只含<b>最后一层</b>，'
        f'前一半特征是前向、后一半是反向。{code("h_n")} {t["h_n"]}：每层每个方向一行，按 (层, 方向) 排列。</p>'
        f'<div style="display:flex;gap:32px;align-items:flex-start">{out_table}{hn_table}</div>'
        f'<p style="color:{_BAD}">朱红色的格子是经典错误：{code("output[-1]")} 的后一半只是反向读完<b>第一步</b>'
        f'（从序列末尾开始读）后的状态，不是反向的最终隐状态。</p>'
        f"<p>在一个真实的 {code(f'nn.{module}(4, {H}, num_layers={L}, bidirectional=True)')} 上验证：</p>"
        f"<ul>{checks}</ul></div>"
    )


class BidirectionalMap(HTMLView):
    """Which slices of `output` are which rows of `h_n`, for a small bidirectional module."""

    def __init__(self, module: str = "GRU", num_layers: int = 2, seq_len: int = 4, hidden_size: int = 3):
        style = {"description_width": "100px"}
        controls = {
            "module": W.Dropdown(options=_MODULES, value="GRU", description="模块", style=style),
            "num_layers": W.IntSlider(value=2, min=1, max=4, description="num_layers", style=style),
            "seq_len": W.IntSlider(value=4, min=2, max=8, description="seq_len", style=style),
            "hidden_size": W.IntSlider(value=3, min=1, max=16, description="hidden_size", style=style),
        }
        output = W.HTML()
        super().__init__([W.HBox([controls["module"], controls["num_layers"]]),
                          W.HBox([controls["seq_len"], controls["hidden_size"]]), output])
        self.add_class("rnnlab-bidirectional-explorer")
        self.watch(controls, output)
        self.set(module=module, num_layers=num_layers, seq_len=seq_len, hidden_size=hidden_size)

    def render(self) -> str:
        v = {k: w.value for k, w in self.controls.items()}
        return render_map(v["module"], v["num_layers"], v["seq_len"], v["hidden_size"])
