"""Small HTML building blocks shared by the explorers: tables, labelled shapes, messages.

The explorers render into ipywidgets.HTML: cheap to update (no matplotlib on every
change), readable without a kernel, and its text can be checked in a browser test.
"""

from __future__ import annotations

from html import escape

from rnnlab.palette import DIM, DIM_UNKNOWN, MESSAGE, ROLE
from rnnlab.shapes import Dim

# The thin grey border of a table cell. rnnlab.palette has no entry for it yet (asked for
# as ROLE["rule"]); until it has, this is the explorers' only colour not taken from there.
RULE = ROLE.get("rule", "#999")
# Kinds of dimension rnnlab.palette.DIM has no colour for yet (asked for): the hidden units
# (also projected) in the hidden state's colour, 层数×方向数 in that of its former name.
DIM_COLOUR = {"层数×方向数": DIM.get("层数×方向", DIM_UNKNOWN), "隐藏单元": ROLE["hidden"],
              "投影维": ROLE["hidden"], **DIM}


def shape_text(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def dim_chips(dims: tuple[Dim, ...]) -> str:
    """A shape as coloured chips: (5 时间步, 3 批量, 100 特征)."""
    chips = []
    for d in dims:
        colour = DIM_COLOUR.get(d.label, DIM_UNKNOWN)
        chips.append(
            f'<span class="rnnlab-dim" data-label="{escape(d.label)}" title="{escape(d.why)}" '
            f'style="border:1px solid {colour};color:{colour};border-radius:4px;padding:0 4px;margin:0 1px">'
            f"<b>{d.size}</b> {escape(d.label)}</span>"
        )
    return "(" + ", ".join(chips) + ")"


def table(header: list[str], rows: list[list[str]], css_class: str) -> str:
    """A plain HTML table; cells are HTML already (escape text before passing it)."""
    head = "".join(f'<th style="text-align:left;padding:2px 8px">{h}</th>' for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td style="padding:2px 8px;vertical-align:top">{c}</td>' for c in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{css_class}" style="border-collapse:collapse"><tr>{head}</tr>{body}</table>'


def message(text: str, kind: str = "error") -> str:
    """A Chinese message box: 'error' (red) or 'warning' (amber) or 'ok' (green)."""
    colour, background = MESSAGE[kind]
    return (f'<div class="rnnlab-{kind}" style="color:{colour};background:{background};'
            f'padding:6px 10px;border-radius:4px;margin:4px 0">{escape(text)}</div>')


def code(text: str) -> str:
    return f"<code>{escape(text)}</code>"
