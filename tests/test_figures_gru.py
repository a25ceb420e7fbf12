"""rnnlab.figures.gru: the GRU cell draws in Chinese without missing glyphs, names its parts as
d2l-zh and the code do, puts the reset gate where PyTorch applies it (after the matmul), marks
one part on request, and rejects bad arguments with a Chinese message."""

from __future__ import annotations

import io
import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.path import Path  # noqa: E402

from rnnlab import fonts, palette  # noqa: E402
from rnnlab.figures.gru import PARTS, draw_gru_cell  # noqa: E402

HIGHLIGHTS = [None, "r", "z", "n", "h"]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def _by_gid(fig) -> dict:
    return {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}


def _marked(fig) -> set[str]:
    """The named patches drawn with the highlight colour as their edge."""
    rgba = matplotlib.colors.to_rgba(palette.ROLE["highlight"])
    return {gid for gid, p in _by_gid(fig).items() if tuple(p.get_edgecolor()) == rgba}


def _points(arrow) -> list[tuple[float, float]]:
    """The drawn points of an arrow (shaft and head) in data coordinates."""
    path = arrow.get_path()
    codes = path.codes if path.codes is not None else [Path.LINETO] * len(path.vertices)
    return [tuple(v) for v, c in zip(path.vertices, codes) if c not in (Path.CLOSEPOLY, Path.STOP)]


def _touches(arrow, circle, tol=0.06) -> bool:
    """Some point of the arrow lies on the circle's rim (the arrow starts or ends at that node)."""
    cx, cy = circle.center
    return any(abs(math.hypot(x - cx, y - cy) - circle.radius) < tol for x, y in _points(arrow))


@pytest.mark.parametrize("highlight", HIGHLIGHTS)
def test_renders_with_a_cjk_font_and_no_missing_glyph(highlight):
    assert fonts.setup_cjk_fonts() == "Noto Sans CJK SC"  # CI installs fonts-noto-cjk
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw_gru_cell(highlight=highlight)
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message) or "glyph" in str(w.message).lower()]
    # One notation across the figures: Unicode subscripts or code names, never $mathtext$.
    assert not [t for t in _texts(fig) if "$" in t]


def test_draws_on_a_given_axes_without_opening_a_figure():
    fig, ax = plt.subplots()
    n_before = len(plt.get_fignums())
    assert draw_gru_cell(ax=ax) is fig and ax.texts
    assert len(plt.get_fignums()) == n_before


def test_names_every_part_with_d2l_terms_and_code_names():
    texts = _texts(draw_gru_cell())
    joined = "\n".join(texts)
    for term, letter in (("重置门", "r"), ("更新门", "z")):
        assert any(term in t and f" {letter}" in t for t in texts), term
    assert any("候选隐状态" in t and t.startswith("n") for t in texts)
    assert "GRUCell" in texts and "tanh" in texts
    assert "hₜ₋₁Wₕₙᵀ + bₕₙ" in texts and "xₜWᵢₙᵀ + bᵢₙ" in texts
    assert {"hₜ₋₁", "xₜ", "hₜ"} <= set(texts)
    assert "hₜ = (1 − z) ⊙ n\n+ z ⊙ hₜ₋₁" in texts
    assert "(3H, I)" in joined and "(3H, H)" in joined
    assert "《动手学深度学习》" in joined and "r ⊙ hₜ₋₁" in joined


def test_block_labels_read_r_z_n_from_left_to_right_in_storage_order():
    """PyTorch stacks the GRU's blocks as r, z, n (weight_ih.chunk(3, 0)); the labels say so in the order a
    reader sees them: one row, left to right, each in its gate's colour. (The columns above run r, n, z, so
    labels placed under their columns would read r, n, z.)"""
    fig = draw_gru_cell()
    labels = [t for t in fig.axes[0].texts if "：第 " in t.get_text() and t.get_text().endswith(" 块")]
    assert len(labels) == 3
    left_to_right = sorted(labels, key=lambda t: t.get_position()[0])
    assert [t.get_text() for t in left_to_right] == ["r：第 0 块", "z：第 1 块", "n：第 2 块"]
    assert len({t.get_position()[1] for t in labels}) == 1  # one row
    for t in left_to_right:
        gate = t.get_text()[0]
        assert matplotlib.colors.to_rgba(t.get_color()) == matplotlib.colors.to_rgba(palette.GATE[gate])
    # Rendered, the row really reads r, z, n: the labels' extents do not overlap and follow each other.
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in left_to_right]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))


def test_the_reset_gate_acts_after_the_matmul_and_its_bias():
    parts = _by_gid(draw_gru_cell())
    reset, hn_box, in_box, n_sum = parts["node-reset"], parts["box-hn"], parts["box-in"], parts["node-n-sum"]
    # r flows into the ⊙ node, and so does the box hₜ₋₁Wₕₙᵀ + bₕₙ: the product is r ⊙ (matmul + bias).
    assert _touches(parts["arrow-r"], reset) and _touches(parts["arrow-hn"], reset)
    hn_bottom = hn_box.get_y()
    assert min(y for _, y in _points(parts["arrow-hn"])) >= reset.center[1]
    assert max(y for _, y in _points(parts["arrow-hn"])) == pytest.approx(hn_bottom, abs=0.05)
    # One column: matmul box above ⊙, ⊙ above the sum with the input term, the input term below it.
    x = reset.center[0]
    assert hn_box.get_x() + hn_box.get_width() / 2 == pytest.approx(x)
    assert n_sum.center[0] == pytest.approx(x) and in_box.get_x() + in_box.get_width() / 2 == pytest.approx(x)
    assert hn_bottom > reset.center[1] > n_sum.center[1] > in_box.get_y() + in_box.get_height()
    # r comes from the reset gate's box on the left, at the node's height.
    r_box = parts["box-r"]
    assert r_box.get_x() + r_box.get_width() < x - reset.radius
    assert r_box.get_y() < reset.center[1] < r_box.get_y() + r_box.get_height()


def test_gate_colours_are_the_gate_explorers():
    parts = _by_gid(draw_gru_cell())
    for gid, gate in (("box-r", "r"), ("box-z", "z"), ("box-tanh", "n")):
        assert tuple(parts[gid].get_facecolor()) == matplotlib.colors.to_rgba(palette.GATE[gate])


@pytest.mark.parametrize("highlight, expected", [
    (None, set()),
    ("r", {"box-r", "node-reset", "arrow-r"}),
    ("z", {"box-z", "node-one-minus"}),
    ("n", {"box-hn", "box-in", "box-tanh", "node-reset", "node-n-sum"}),
    ("h", {"node-zh", "node-n-update", "node-h-sum"}),
])
def test_highlight_marks_its_part_only(highlight, expected):
    assert _marked(draw_gru_cell(highlight=highlight)) == expected


def test_parts_are_the_code_names():
    assert list(PARTS) == ["r", "z", "n", "h"]


@pytest.mark.parametrize("call", [
    lambda: draw_gru_cell(highlight="R"),
    lambda: draw_gru_cell(highlight="reset"),
    lambda: draw_gru_cell(highlight="重置门"),
    lambda: draw_gru_cell(highlight=0),
    lambda: draw_gru_cell(highlight=True),
    lambda: draw_gru_cell(highlight=["r"]),
    lambda: draw_gru_cell(ax="不是坐标轴"),
    lambda: draw_gru_cell(ax=42),
    lambda: draw_gru_cell("r"),  # the first positional argument is ax, not highlight
])
def test_bad_arguments_are_rejected_in_chinese(call):
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match="应当是.*收到的是"):
        call()
    assert len(plt.get_fignums()) == n_before  # checked before any figure is opened
