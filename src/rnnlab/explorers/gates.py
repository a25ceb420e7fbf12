"""Gate-block view: weight_ih / weight_hh of LSTM (i, f, g, o) and GRU (r, z, n) as
coloured row blocks (门块) with their row ranges; nn.RNN's weight is a single block. Answers
"why (400, 100)?" at a glance.

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
LABEL_WIDTH = 130  # px, enough for the longest label ("W 权重（不分门块）", about 110 px) and its padding
# A block of more rows is taller: from the two label lines (+ padding, 1 px border, 1 px spare)
# at 1 row up to MAX_HEIGHT at the sliders' top. Not to scale: 512 rows would not fit a page.
MIN_HEIGHT, MAX_HEIGHT, MAX_ROWS = 2 * LINE + 2 * PAD + 2, 128, 512
# rnnlab.palette keys the colour of nn.RNN's single block "h" (asked to add "W").
_COLOUR_KEY = {"W": "h"}


def block_height(hidden_size: int) -> int:
    """px of one block of `hidden_size` rows: grows with the rows, within MIN_HEIGHT..MAX_HEIGHT."""
    rows = min(hidden_size, MAX_ROWS)
    return MIN_HEIGHT + round((MAX_HEIGHT - MIN_HEIGHT) * (rows - 1) / (MAX_ROWS - 1))


def render_blocks(module: str, input_size: int, hidden_size: int) -> str:
    report = describe(Config(module, input_size, hidden_size))
    p = report.param_dict()
    rows = gate_rows(module, hidden_size)
    height = block_height(hidden_size)  # equal blocks, equal heights
    widest = max(input_size, hidden_size)

    def matrix(name: str, cols: int, col_label: str) -> str:
        width = LABEL_WIDTH + int(100 * cols / widest)  # wider with more columns
        blocks = "".join(
            f'<div class="rnnlab-gate" data-gate="{g}" style="background:{GATE[_COLOUR_KEY.get(g, g)]};color:white;'
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
    explain = (f"{code(module)} 把 {g} 个门块按行叠在一起："
               + "、".join(f"{gl}（{escape(n)}）" for gl, n, _, _ in rows)
               + f"，每个门块 hidden_size = {hidden_size} 行，共 {g} × {hidden_size} = {g * hidden_size} 行。"
               f"用 {code(f'weight_ih_l0.chunk({g}, 0)')} 可以按这个顺序拆开。") if g > 1 else (
        f"{code('RNN')} 没有门，权重不分门块：hidden_size = {hidden_size} 行，每行对应一个隐藏单元。")
    scale = "块的高度随 hidden_size 增加，只是示意，不按比例。"
    return (f'<div class="rnnlab-gates">{matrix("weight_ih_l0", input_size, "input_size")}'
            f'{matrix("weight_hh_l0", hidden_size, "hidden_size")}<p>{explain}{scale}</p></div>')


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
