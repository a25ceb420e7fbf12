"""What every figure shares: argument checks in Chinese, boxes, arrows, axes sized to their contents,
and the cells a figure can draw (their states and stacked gate blocks)."""


from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from rnnlab import palette
from rnnlab.fonts import setup_cjk_fonts

ROLE = palette.ROLE

# cell -> (states carried between time steps, gate blocks stacked in weight_ih / weight_hh)
CELLS = {"RNNCell": (("h",), 1), "GRUCell": (("h",), 3), "LSTMCell": (("h", "c"), 4)}
STATE_COLOUR = {"h": ROLE["hidden"], "c": ROLE["memory"]}
CHAPTER_OF = {"GRUCell": "第 4 章", "LSTMCell": "第 3 章"}


# -- argument checks: every bad argument is a ValueError with a Chinese message -------------
def check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} 应当是 {lo} 到 {hi} 之间的整数，收到的是 {value!r}。")
    return value


def check_cell(cell) -> tuple[tuple[str, ...], int]:
    if not isinstance(cell, str) or cell not in CELLS:
        raise ValueError(f"cell 应当是 {'、'.join(repr(c) for c in CELLS)} 之一，收到的是 {cell!r}。")
    return CELLS[cell]


def check_ax(ax) -> None:
    if ax is not None and not isinstance(ax, Axes):
        raise ValueError(f"ax 应当是 matplotlib 的 Axes 或 None，收到的是 {type(ax).__name__}。")


def gates(g: int) -> str:
    """'H' for a plain RNN, '4H' for an LSTM: the rows of weight_ih / weight_hh."""
    return "H" if g == 1 else f"{g}H"


# -- drawing primitives ----------------------------------------------------------------------
def box(ax, x, y, w, h, text, face, edge=ROLE["edge"], color="black", size=12, lw=1.2, **text_kw):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=face, edgecolor=edge, linewidth=lw))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=color, **text_kw)


def state_box(ax, x, y, symbol, shape, face):
    """A math symbol (large, its subscripts must stay legible) above its shape (small)."""
    box(ax, x, y, 1.2, 0.7, "", face)
    ax.text(x, y + 0.13, symbol, ha="center", va="center", fontsize=15, color="white")
    ax.text(x, y - 0.19, shape, ha="center", va="center", fontsize=9, color="white")


def arrow(ax, start, end, color=ROLE["edge"], lw=1.4, style="-|>", ls="-"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=color, lw=lw,
                                 linestyle=ls, shrinkA=0, shrinkB=0))


def path_arrow(ax, points, color=ROLE["edge"], lw=1.4, ls="-"):
    """An arrow along a polyline (for the loop that feeds a state back)."""
    path = Path(points, [Path.MOVETO] + [Path.LINETO] * (len(points) - 1))
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=14, color=color, lw=lw,
                                 linestyle=ls, shrinkA=0, shrinkB=0, joinstyle="miter"))


def described(fig, text: str):
    """Attach the figure's text description in Chinese (its alt text) and return the figure.

    In a Jupyter kernel the description becomes the "alt" metadata of the figure's image/png output, where
    the course's printable handouts, slides and site read it for readers who cannot see the picture."""
    fig.rnnlab_alt = text
    _alt_text_in_outputs()
    return fig


def alt_text(fig) -> str | None:
    """The figure's text description in Chinese (every draw_* function sets one), or None."""
    return getattr(fig, "rnnlab_alt", None)


def _alt_text_in_outputs() -> None:
    """Wrap IPython's image/png printer of matplotlib figures (once) so that it returns (png, {"alt": ...}).

    The inline backend registers that printer when the first figure is made, so this runs after a figure
    exists; IPython stores the returned metadata with the output. Outside a kernel it does nothing."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    formatters = getattr(getattr(get_ipython(), "display_formatter", None), "formatters", {})
    png = formatters.get("image/png")
    if png is None:
        return
    from matplotlib.figure import Figure

    try:
        printer = png.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(printer, "rnnlab_alt", False):
        return

    def with_alt(fig):
        data = printer(fig)
        text = alt_text(fig)
        if data is None or not text:
            return data
        if isinstance(data, tuple):  # already (data, metadata)
            data, meta = data
            return data, {**(meta or {}), "alt": text}
        return data, {"alt": text}

    with_alt.rnnlab_alt = True
    png.for_type(Figure, with_alt)


def new_axes(ax):
    check_ax(ax)
    setup_cjk_fonts()
    if ax is None:
        fig, ax = plt.subplots()
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
        ax._rnnlab_own_figure = True
    ax.set_axis_off()
    ax.set_aspect("equal")
    return ax.figure, ax


def fit(ax, xlim, ylim, inches_per_unit=0.82):
    """Set the data limits; a figure we created gets the size that shows them at a fixed scale."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    if getattr(ax, "_rnnlab_own_figure", False):
        ax.figure.set_size_inches((xlim[1] - xlim[0]) * inches_per_unit / 0.98,
                                  (ylim[1] - ylim[0]) * inches_per_unit / 0.98)


# -- figures ---------------------------------------------------------------------------------
