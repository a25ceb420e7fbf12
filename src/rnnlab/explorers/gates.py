"""Gate-block view: weight_ih / weight_hh of LSTM (i, f, g, o) and GRU (r, z, n) as
coloured row blocks with their row ranges. Answers "why (400, 100)?" at a glance.

    from rnnlab.explorers.gates import GateBlocks
    GateBlocks(module="LSTM", input_size=50, hidden_size=100)
"""

from __future__ import annotations

from html import escape

import ipywidgets as W

from rnnlab.explorers.html import code, shape_text
from rnnlab.explorers.view import HTMLView
from rnnlab.palette import GATE, ROLE
from rnnlab.shapes import GATE_NAMES, Config, describe

_MODULES = ("LSTM", "GRU", "RNN")


def gate_rows(module: str, hidden_size: int) -> list[tuple[str, str, int, int]]:
    """(gate letter, Chinese name, first row, last row) of each block, in PyTorch's order."""
    h = hidden_size
    return [(g, name, k * h, (k + 1) * h - 1) for k, (g, name) in enumerate(GATE_NAMES[module])]


# Each block is labelled on two lines, "i 输入门" and "行 0–99", never wrapped or cut. The line
# height is set here: the HTML widget's own (28 px) would not let two lines fit a block.
FONT, LINE, PAD = 12, 18, 3  # px: font size, line height, padding above and below the label
LABEL_WIDTH = 110  # px, enough for the longest label ("行 1536–2047", about 95 px) and its padding


def render_blocks(module: str, input_size: int, hidden_size: int) -> str:
    report = describe(Config(module, input_size, hidden_size))
    p = report.param_dict()
    rows = gate_rows(module, hidden_size)
    height = 44 if len(rows) > 1 else 80  # px per block: equal blocks, equal heights; fits 2 lines
    widest = max(input_size, hidden_size)

    def matrix(name: str, cols: int, col_label: str) -> str:
        width = LABEL_WIDTH + int(100 * cols / widest)  # wider with more columns
        blocks = "".join(
            f'<div class="rnnlab-gate" data-gate="{g}" style="background:{GATE[g]};color:white;'
            f'height:{height}px;box-sizing:border-box;border-bottom:1px solid white;'
            f'font-size:{FONT}px;line-height:{LINE}px;padding:{PAD}px 6px;white-space:nowrap">'
            f"<b>{g}</b> {escape(label)}<br>行 {lo}–{hi}</div>"
            for g, label, lo, hi in rows
        )
        # A grid as wide as its widest label if that is wider (another font): blocks stay equal.
        return (f'<div style="display:inline-block;vertical-align:top;margin-right:28px">'
                f'<div>{code(name)} <b>{shape_text(p[name])}</b></div>'
                f'<div style="display:grid;width:max-content;min-width:{width}px">{blocks}</div>'
                f'<div style="font-size:12px;color:{ROLE["note"]}">← {cols} 列（{escape(col_label)}）→</div></div>')

    g = len(rows)
    explain = (f"{code(module)} 把 {g} 组权重按行叠在一起："
               + "、".join(f"{gl}（{escape(n)}）" for gl, n, _, _ in rows)
               + f"，每组 hidden_size = {hidden_size} 行，共 {g} × {hidden_size} = {g * hidden_size} 行。"
               f"用 {code(f'weight_ih_l0.chunk({g}, 0)')} 可以按这个顺序拆开。") if g > 1 else (
        f"{code('RNN')} 只有一组权重：hidden_size = {hidden_size} 行。")
    return (f'<div class="rnnlab-gates">{matrix("weight_ih_l0", input_size, "input_size")}'
            f'{matrix("weight_hh_l0", hidden_size, "hidden_size")}<p>{explain}</p></div>')


class GateBlocks(HTMLView):
    """The gate blocks of weight_ih_l0 / weight_hh_l0 for a module and two sizes."""

    range_notes = {k: "（512 是这张图画得下的上限；形状规律对任何大小都一样。）" for k in ("input_size", "hidden_size")}

    def __init__(self, module: str = "LSTM", input_size: int = 50, hidden_size: int = 100):
        style = {"description_width": "100px"}
        controls = {
            "module": W.Dropdown(options=_MODULES, value="LSTM", description="模块", style=style),
            "input_size": W.IntSlider(value=50, min=1, max=512, description="input_size", style=style),
            "hidden_size": W.IntSlider(value=100, min=1, max=512, description="hidden_size", style=style),
        }
        output = W.HTML()
        super().__init__([W.HBox(list(controls.values())), output])
        self.add_class("rnnlab-gate-explorer")
        self.watch(controls, output)
        self.set(module=module, input_size=input_size, hidden_size=hidden_size)

    def render(self) -> str:
        v = {k: w.value for k, w in self.controls.items()}
        return render_blocks(v["module"], v["input_size"], v["hidden_size"])
