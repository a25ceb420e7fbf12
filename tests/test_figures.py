"""rnnlab.figures: every figure draws in Chinese without missing glyphs, carries the labels the
lectures rely on, and rejects bad arguments with a Chinese message."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlab import fonts, palette  # noqa: E402
from rnnlab.figures import draw_rnn_cell, draw_stacked_rnn, draw_unrolled_rnn  # noqa: E402

ALL = [
    ("draw_rnn_cell", lambda: draw_rnn_cell()),
    ("draw_rnn_cell LSTM", lambda: draw_rnn_cell(cell="LSTMCell")),
    ("draw_rnn_cell GRU", lambda: draw_rnn_cell(cell="GRUCell")),
    ("draw_unrolled_rnn", lambda: draw_unrolled_rnn(steps=4, highlight=1)),
    ("draw_unrolled_rnn LSTM", lambda: draw_unrolled_rnn(steps=3, cell="LSTMCell")),
    ("draw_stacked_rnn", lambda: draw_stacked_rnn()),
    ("draw_stacked_rnn 3x4", lambda: draw_stacked_rnn(num_layers=3, steps=4)),
    ("draw_stacked_rnn LSTM", lambda: draw_stacked_rnn(cell="LSTMCell")),
]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def _lines_of_colour(fig, colour) -> int:
    """Arrows (patches) drawn in `colour`."""
    rgba = matplotlib.colors.to_rgba(colour)
    return sum(1 for p in fig.axes[0].patches if type(p).__name__ == "FancyArrowPatch"
               and tuple(p.get_edgecolor()) == rgba)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize("name, draw", ALL, ids=[n for n, _ in ALL])
def test_figure_renders_with_a_cjk_font_and_no_missing_glyph(name, draw):
    assert fonts.setup_cjk_fonts() == "Noto Sans CJK SC"  # CI installs fonts-noto-cjk
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw()
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message) or "glyph" in str(w.message).lower()]
    # One notation: Unicode subscripts or code names, never $mathtext$ (it has no Chinese glyphs).
    assert not [t for t in _texts(fig) if "$" in t]


@pytest.mark.parametrize("name, draw", ALL, ids=[n for n, _ in ALL])
def test_figure_draws_on_a_given_axes(name, draw):
    fig, ax = plt.subplots()
    kwargs = {"draw_rnn_cell": {}, "draw_unrolled_rnn": {"steps": 2}, "draw_stacked_rnn": {}}[name.split()[0]]
    func = {"draw_rnn_cell": draw_rnn_cell, "draw_unrolled_rnn": draw_unrolled_rnn,
            "draw_stacked_rnn": draw_stacked_rnn}[name.split()[0]]
    assert func(ax=ax, **kwargs) is fig and ax.texts


# -- draw_rnn_cell ---------------------------------------------------------------------------
def test_cell_shows_the_matmul_shapes_and_the_loop():
    texts = _texts(draw_rnn_cell())
    assert any("xₜ @ Wᵢₕᵀ" in t and "(批量, I) @ (I, H)" in t for t in texts)
    assert any("hₜ₋₁ @ Wₕₕᵀ" in t and "(批量, H) @ (H, H)" in t for t in texts)
    assert any("循环" in t and "hₜ₋₁" in t for t in texts)
    assert any("weight_ih：(H, I)" in t and "weight_hh：(H, H)" in t for t in texts)
    assert "RNNCell" in texts and "tanh" in "".join(texts)


def test_cell_names_the_gate_blocks_and_the_lstm_memory_line():
    gru = _texts(draw_rnn_cell(cell="GRUCell"))
    assert "GRUCell" in gru and any("(I, 3H)" in t for t in gru) and not any("cₜ" in t for t in gru)
    fig = draw_rnn_cell(cell="LSTMCell")
    lstm = _texts(fig)
    assert "LSTMCell" in lstm and any("(H, 4H)" in t for t in lstm)
    assert {"cₜ₋₁", "cₜ"} <= set(lstm) and any("记忆元" in t for t in lstm)
    assert _lines_of_colour(fig, palette.ROLE["memory"]) >= 2  # the c line and its loop
    assert _lines_of_colour(draw_rnn_cell(), palette.ROLE["memory"]) == 0


# -- draw_unrolled_rnn -----------------------------------------------------------------------
@pytest.mark.parametrize("steps", [1, 4, 7])
def test_unrolled_says_that_h_n_holds_the_last_output(steps):
    texts = _texts(draw_unrolled_rnn(steps=steps))
    assert [f"out[{t}]" for t in range(steps)] == [t for t in texts if t.startswith("out[") and "]" == t[-1]]
    assert [f"x[{t}]" for t in range(steps)] == [t for t in texts if t.startswith("x[")]
    assert any(t.startswith("out[t]：") and "output" in t for t in texts)
    assert "h_0" in texts and "h_n" in texts
    assert any("h_n 的内容" in t and f"out[{steps - 1}]" in t for t in texts)


def test_unrolled_highlight_marks_one_cell():
    fig = draw_unrolled_rnn(steps=4, highlight=2)
    rgba = matplotlib.colors.to_rgba(palette.ROLE["highlight"])
    marked = [p for p in fig.axes[0].patches if type(p).__name__ == "FancyBboxPatch"
              and tuple(p.get_edgecolor()) == rgba]
    assert len(marked) == 1


def test_unrolled_lstm_carries_c_and_labels_its_cells():
    fig = draw_unrolled_rnn(steps=3, cell="LSTMCell")
    texts = _texts(fig)
    assert texts.count("LSTMCell") == 3 and {"c_0", "c_n", "h_0", "h_n"} <= set(texts)
    assert _lines_of_colour(fig, palette.ROLE["memory"]) >= 2 + 2  # between 3 cells, plus in and out
    plain = draw_unrolled_rnn(steps=3)
    assert "c_0" not in _texts(plain) and _lines_of_colour(plain, palette.ROLE["memory"]) == 0
    assert _texts(draw_unrolled_rnn(steps=2, cell="GRUCell")).count("GRUCell") == 2


# -- draw_stacked_rnn ------------------------------------------------------------------------
@pytest.mark.parametrize("num_layers, steps", [(1, 1), (2, 3), (3, 4), (4, 2)])
def test_stacked_has_one_h_0_and_one_h_n_per_layer_and_names_the_weights(num_layers, steps):
    texts = _texts(draw_stacked_rnn(num_layers=num_layers, steps=steps))
    assert [t for t in texts if t.startswith("h_n[")] == [f"h_n[{k}]" for k in range(num_layers)]
    assert [t for t in texts if t.startswith("h_0[")] == [f"h_0[{k}]" for k in range(num_layers)]
    assert [t for t in texts if t.startswith("output[")] == [f"output[{t}]" for t in range(steps)]
    assert [t for t in texts if t.startswith("x[")] == [f"x[{t}]" for t in range(steps)]
    assert [t for t in texts if t.startswith("weight_ih_l")] == [f"weight_ih_l{k}" for k in range(num_layers)]
    hh = [t for t in texts if t.startswith("weight_hh_l")]
    assert hh == ([f"weight_hh_l{k}" for k in range(num_layers)] if steps > 1 else [])
    assert [t for t in texts if t.startswith("第 ") and t.endswith(" 层")] == [f"第 {k} 层" for k in range(num_layers)]
    assert texts.count("RNNCell") == num_layers * steps
    assert any("最顶层" in t for t in texts)


def test_stacked_lstm_draws_c_per_layer():
    fig = draw_stacked_rnn(num_layers=2, steps=3, cell="LSTMCell")
    texts = _texts(fig)
    assert {"c_0[0]", "c_0[1]", "c_n[0]", "c_n[1]", "h_n[0]", "h_n[1]"} <= set(texts)
    assert any("(4H, H)" in t for t in texts)
    assert _lines_of_colour(fig, palette.ROLE["memory"]) == 2 * (2 + 2)  # per layer: 2 between cells, in, out


# -- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda: draw_rnn_cell(cell="LSTM"),
    lambda: draw_rnn_cell(cell=None),
    lambda: draw_rnn_cell(ax="不是坐标轴"),
    lambda: draw_unrolled_rnn(steps=13),
    lambda: draw_unrolled_rnn(steps="4"),
    lambda: draw_unrolled_rnn(steps=3, highlight=-1),
    lambda: draw_unrolled_rnn(steps=3, highlight=True),
    lambda: draw_unrolled_rnn(cell="rnncell"),
    lambda: draw_unrolled_rnn(ax=42),
    lambda: draw_stacked_rnn(num_layers=0),
    lambda: draw_stacked_rnn(num_layers=5),
    lambda: draw_stacked_rnn(num_layers=2.0),
    lambda: draw_stacked_rnn(steps=0),
    lambda: draw_stacked_rnn(steps=7),
    lambda: draw_stacked_rnn(steps=False),
    lambda: draw_stacked_rnn(cell="GRU"),
    lambda: draw_stacked_rnn(ax=[1]),
])
def test_bad_arguments_are_rejected_in_chinese(call):
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match="应当是.*收到的是"):
        call()
    assert len(plt.get_fignums()) == n_before  # checked before any figure is opened
