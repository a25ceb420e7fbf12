"""rnnlab.figures.lstm: the LSTM cell draws in Chinese without missing glyphs, names the gates as
d2l-zh and torch do, stacks them in torch's order i, f, g, o, and rejects bad arguments in Chinese."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlab import fonts, palette  # noqa: E402
from rnnlab.figures.lstm import draw_lstm_cell  # noqa: E402

TERMS = ("输入门", "遗忘门", "输出门", "候选记忆元", "记忆元", "隐状态")


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def _left_to_right(fig, keep) -> list[str]:
    """The texts for which keep(text) holds, ordered by their x position."""
    found = [(t.get_position()[0], t.get_text()) for t in fig.axes[0].texts if keep(t.get_text())]
    return [text for _, text in sorted(found)]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize("proj", [False, True])
def test_cell_renders_with_a_cjk_font_and_no_missing_glyph(proj):
    assert fonts.setup_cjk_fonts() == "Noto Sans CJK SC"  # CI installs fonts-noto-cjk
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw_lstm_cell(proj=proj)
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message) or "glyph" in str(w.message).lower()]
    assert not [t for t in _texts(fig) if "$" in t]  # Unicode subscripts, never $mathtext$


@pytest.mark.parametrize("proj", [False, True])
def test_cell_draws_on_a_given_axes(proj):
    fig, ax = plt.subplots()
    assert draw_lstm_cell(ax=ax, proj=proj) is fig and ax.texts
    assert len(plt.get_fignums()) == 1


def test_cell_uses_the_d2l_terms_and_the_code_names():
    texts = _texts(draw_lstm_cell())
    joined = "\n".join(texts)
    for term in TERMS:
        assert term in joined, term
    assert {"xₜ", "hₜ₋₁", "hₜ", "cₜ₋₁", "cₜ", "LSTMCell"} <= set(texts)
    assert "cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ" in texts
    assert any("oₜ ⊙ tanh(cₜ)" in t for t in texts)
    assert "xₜWᵢₕᵀ + bᵢₕ + hₜ₋₁Wₕₕᵀ + bₕₕ" in texts


def test_gates_stand_in_torch_order_with_their_activation_and_columns():
    fig = draw_lstm_cell()
    assert _left_to_right(fig, lambda t: t in {"i  σ", "f  σ", "g  tanh", "o  σ"}) == ["i  σ", "f  σ", "g  tanh",
                                                                                        "o  σ"]
    assert _left_to_right(fig, lambda t: t in {"输入门", "遗忘门", "候选记忆元", "输出门"}) == [
        "输入门", "遗忘门", "候选记忆元", "输出门"]
    assert _left_to_right(fig, lambda t: t.endswith("]") and "[:, " in t) == [
        "i  [:, 0:H]", "f  [:, H:2H]", "g  [:, 2H:3H]", "o  [:, 3H:4H]"]
    joined = "\n".join(_texts(fig))
    assert "chunk(4, 1)" in joined and "i、f、g、o" in joined
    assert "weight_ih：(4H, I)" in joined and "weight_hh：(4H, H)" in joined
    faces = {matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches
             if type(p).__name__ == "FancyBboxPatch"}
    assert {palette.GATE[g] for g in "ifgo"} <= faces  # the same colour as in the gate explorer


def test_projection_changes_h_and_weight_hh_but_not_c():
    plain, proj = _texts(draw_lstm_cell()), _texts(draw_lstm_cell(proj=True))
    assert "· Wₕᵣᵀ" in proj and "· Wₕᵣᵀ" not in plain
    joined = "\n".join(proj)
    assert "weight_hr：(P, H)" in joined and "weight_hh：(4H, P)" in joined
    # hₜ₋₁ and hₜ have P features, cₜ₋₁ and cₜ keep H.
    assert proj.count("(批量, P)") == 2 and proj.count("(批量, H)") == 2
    assert plain.count("(批量, H)") == 4 and "(批量, P)" not in plain
    # nn.LSTMCell has no proj_size: the projected box is a layer of nn.LSTM.
    assert "LSTMCell" not in proj and any("nn.LSTM" in t and "proj_size" in t for t in proj)


@pytest.mark.parametrize("call", [
    lambda: draw_lstm_cell(proj="yes"),
    lambda: draw_lstm_cell(proj=1),
    lambda: draw_lstm_cell(proj=None),
    lambda: draw_lstm_cell(ax="不是坐标轴"),
    lambda: draw_lstm_cell(ax=42),
    lambda: draw_lstm_cell(42),
])
def test_bad_arguments_are_rejected_in_chinese(call):
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match="应当是.*收到的是"):
        call()
    assert len(plt.get_fignums()) == n_before  # checked before any figure is opened
