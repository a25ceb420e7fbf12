"""rnnlab.figures.bidirectional: the chapter 5 figure draws in Chinese without missing glyphs, names
things as the code does (h_0/h_n rows ordered by layer and direction, output[t]'s two halves), marks
where the last layer's final states live, and rejects bad arguments with a Chinese message."""

from __future__ import annotations

import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlab import fonts  # noqa: E402
from rnnlab.figures.bidirectional import draw_bidirectional_rnn  # noqa: E402
from rnnlab.palette import DIRECTION  # noqa: E402


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def _colour_of(fig, text: str):
    (t,) = [t for t in fig.axes[0].texts if t.get_text() == text]
    return matplotlib.colors.to_hex(t.get_color())


def _arrows_of_colour(fig, colour) -> int:
    rgba = matplotlib.colors.to_rgba(colour)
    return sum(1 for p in fig.axes[0].patches if type(p).__name__ == "FancyArrowPatch"
               and tuple(p.get_edgecolor()) == rgba)


def _outlined(fig, colour) -> int:
    """Unfilled rectangles drawn in `colour` (a half of output[t] pointed at)."""
    rgba = matplotlib.colors.to_rgba(colour)
    return sum(1 for p in fig.axes[0].patches if type(p).__name__ == "FancyBboxPatch"
               and tuple(p.get_edgecolor()) == rgba and p.get_facecolor()[3] == 0)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


SIZES = [(1, 1), (2, 3), (3, 5), (4, 6), (1, 2)]


@pytest.mark.parametrize("num_layers, steps", SIZES)
def test_renders_with_a_cjk_font_and_no_missing_glyph(num_layers, steps):
    assert fonts.setup_cjk_fonts() == "Noto Sans CJK SC"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw_bidirectional_rnn(num_layers=num_layers, steps=steps)
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message) or "glyph" in str(w.message).lower()]
    assert not [t for t in _texts(fig) if "$" in t]


def test_draws_on_a_given_axes():
    fig, ax = plt.subplots()
    assert draw_bidirectional_rnn(ax=ax) is fig and ax.texts


def test_the_default_is_two_layers_over_three_steps():
    texts = _texts(draw_bidirectional_rnn())
    assert [t for t in texts if t.startswith("output[") and t.endswith("]")] == ["output[0]", "output[1]", "output[2]"]
    assert [t for t in texts if t.startswith("第 ") and t.endswith(" 层")] == ["第 0 层", "第 1 层"]


@pytest.mark.parametrize("num_layers, steps", SIZES)
def test_every_layer_has_a_forward_and_a_backward_row_named_as_the_parameters(num_layers, steps):
    fig = draw_bidirectional_rnn(num_layers=num_layers, steps=steps)
    texts = _texts(fig)
    assert texts.count("前向") == texts.count("反向") == num_layers * steps
    assert [t for t in texts if t.startswith("前向 _l")] == [f"前向 _l{k}" for k in range(num_layers)]
    assert [t for t in texts if t.startswith("反向 _l")] == [f"反向 _l{k}_reverse" for k in range(num_layers)]
    assert [t for t in texts if t.startswith("第 ") and t.endswith(" 层")] == [f"第 {k} 层" for k in range(num_layers)]
    assert [t for t in texts if t.startswith("x[")] == [f"x[{t}]" for t in range(steps)]
    assert [t for t in texts if t.startswith("output[") and t.endswith("]")] == [f"output[{t}]" for t in range(steps)]
    assert _colour_of(fig, "前向 _l0") == DIRECTION["forward"]
    assert _colour_of(fig, "反向 _l0_reverse") == DIRECTION["backward"]
    # Arrows along each row: steps - 1 per direction and layer, plus each cell's state going up and h_n leaving.
    per_direction = num_layers * ((steps - 1) + steps + 1)
    assert _arrows_of_colour(fig, DIRECTION["forward"]) >= per_direction
    assert _arrows_of_colour(fig, DIRECTION["backward"]) >= per_direction


@pytest.mark.parametrize("num_layers, steps", SIZES)
def test_h_0_and_h_n_rows_are_ordered_by_layer_then_direction(num_layers, steps):
    fig = draw_bidirectional_rnn(num_layers=num_layers, steps=steps)
    texts = _texts(fig)
    for state in ("h_0", "h_n"):
        boxes = [t for t in texts if re.fullmatch(state + r"\[\d+\]", t)]
        assert sorted(boxes) == sorted(f"{state}[{r}]" for r in range(2 * num_layers))
    # Even rows are forward (enter on the left, leave on the right), odd rows backward (the other way round).
    pos = {t.get_text(): t.get_position() for t in fig.axes[0].texts}
    first, last = pos["x[0]"][0], pos[f"x[{steps - 1}]"][0]
    for k in range(num_layers):
        assert pos[f"h_0[{2 * k}]"][0] < first and pos[f"h_n[{2 * k}]"][0] > last
        assert pos[f"h_0[{2 * k + 1}]"][0] > last and pos[f"h_n[{2 * k + 1}]"][0] < first
        assert pos[f"h_n[{2 * k}]"][1] == pos[f"h_0[{2 * k}]"][1] < pos[f"h_n[{2 * k + 1}]"][1]
        if k:
            assert pos[f"h_n[{2 * k}]"][1] > pos[f"h_n[{2 * k - 1}]"][1]  # layer k above layer k-1
    assert any(f"共 {2 * num_layers} 行" in t and "h_n[2k]" in t and "h_n[2k+1]" in t for t in texts)


@pytest.mark.parametrize("num_layers, steps", [(1, 2), (2, 3), (3, 4)])
def test_the_last_layers_final_states_are_marked_where_they_live(num_layers, steps):
    fig = draw_bidirectional_rnn(num_layers=num_layers, steps=steps)
    texts = _texts(fig)
    pos = {t.get_text(): t.get_position() for t in fig.axes[0].texts}
    last = steps - 1
    fwd, bwd = f"h_n[{2 * num_layers - 2}]", f"h_n[{2 * num_layers - 1}]"
    # Forward ends on the right after x[T-1]; backward ends on the left after x[0].
    assert pos[fwd][0] > pos[f"x[{last}]"][0] and pos[bwd][0] < pos["x[0]"][0]
    assert pos[f"h_0[{2 * num_layers - 2}]"][0] < pos["x[0]"][0] < pos[f"h_0[{2 * num_layers - 1}]"][0]
    assert any(t.startswith("h_n[-2]") and f"x[{last}]" in t and f"output[{last}, :, :H]" in t for t in texts)
    assert any(t.startswith("h_n[-1]") and "x[0]" in t and "output[0, :, H:]" in t for t in texts)
    wrong = [t for t in texts if f"output[{last}, :, H:]" in t and "不是 h_n[-1]" in t]
    assert len(wrong) == 1 and _colour_of(fig, wrong[0]) == DIRECTION["wrong"]
    # Pointed at: output[T-1]'s forward half, output[0]'s backward half, and the wrong half in red.
    assert _outlined(fig, DIRECTION["forward"]) == 1
    assert _outlined(fig, DIRECTION["backward"]) == 1
    assert _outlined(fig, DIRECTION["wrong"]) == 1


def test_one_step_has_no_wrong_half_to_point_at():
    fig = draw_bidirectional_rnn(num_layers=1, steps=1)
    assert _outlined(fig, DIRECTION["wrong"]) == 0
    assert not [t for t in _texts(fig) if "不是 h_n[-1]" in t]


@pytest.mark.parametrize("num_layers", [1, 2, 4])
def test_each_output_half_is_named_and_upper_layers_read_2H(num_layers):
    steps = 3
    texts = _texts(draw_bidirectional_rnn(num_layers=num_layers, steps=steps))
    # One [:H | H:] node per step between layers and at the top.
    assert texts.count(":H") == texts.count("H:") == num_layers * steps
    joins = [t for t in texts if "两个方向连结：2H" in t]
    assert joins == [f"第 {k} 层两个方向连结：2H" for k in range(num_layers - 1)]
    assert any("weight_ih_l1 是 (H, 2H)" in t for t in texts) == (num_layers > 1)
    assert any("_reverse" in t and "反向" in t for t in texts)


@pytest.mark.parametrize("call", [
    lambda: draw_bidirectional_rnn(num_layers=0),
    lambda: draw_bidirectional_rnn(num_layers=5),
    lambda: draw_bidirectional_rnn(num_layers=2.0),
    lambda: draw_bidirectional_rnn(num_layers=True),
    lambda: draw_bidirectional_rnn(num_layers="2"),
    lambda: draw_bidirectional_rnn(steps=0),
    lambda: draw_bidirectional_rnn(steps=7),
    lambda: draw_bidirectional_rnn(steps=None),
    lambda: draw_bidirectional_rnn(ax="不是坐标轴"),
    lambda: draw_bidirectional_rnn(ax=[1]),
])
def test_bad_arguments_are_rejected_in_chinese(call):
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match="应当是.*收到的是"):
        call()
    assert len(plt.get_fignums()) == n_before
