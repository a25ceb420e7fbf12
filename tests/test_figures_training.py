"""rnnlab.figures.training: the chapter 6 figures draw in Chinese without missing glyphs, draw what they are given
(one line per run, the chance level, a log scale, the packed batch sizes torch computes, the cuts of truncated
BPTT), give a cell the same colour in every figure, and reject bad arguments with a Chinese message."""

from __future__ import annotations

import io
import math
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from rnnlab import fonts  # noqa: E402
from rnnlab.figures.training import (  # noqa: E402
    CELL_COLOUR, draw_gradient_norms, draw_padded_batch, draw_training_curves, draw_truncated_bptt, line_styles,
)
from rnnlab.palette import DIRECTION, GATE  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _history(n=4, start=2.0, end=0.1, acc_end=1.0):
    steps = [25 * (i + 1) for i in range(n)]
    return {"step": steps, "loss": [start + (end - start) * i / (n - 1) for i in range(n)],
            "accuracy": [0.125 + (acc_end - 0.125) * i / (n - 1) for i in range(n)]}


HISTORIES = {"RNN": _history(acc_end=0.13), "GRU": _history(), "LSTM": _history(), "GRU（打开门）": _history(),
             "LSTM（打开门）": _history()}
NORMS = {"RNN": [10.0 ** (-13 + 12 * t / 49) for t in range(50)], "GRU（打开门）": [0.05 + 0.001 * t for t in range(50)],
         "RNN（weight_hh × 4）": torch.logspace(3, -1, 50)}

ALL = [
    ("curves", lambda: draw_training_curves(HISTORIES, chance=1 / 8, title="T = 50")),
    ("curves, no chance", lambda: draw_training_curves({"LSTM，h_n": _history()})),
    ("gradient norms", lambda: draw_gradient_norms(NORMS, title="刚初始化")),
    ("padded batch", lambda: draw_padded_batch([5, 2, 4, 3])),
    ("padded batch, one row", lambda: draw_padded_batch([1])),
    ("truncated bptt", lambda: draw_truncated_bptt()),
    ("truncated bptt, 1x1", lambda: draw_truncated_bptt(num_segments=1, segment_len=1)),
    ("truncated bptt, 5x6", lambda: draw_truncated_bptt(num_segments=5, segment_len=6)),
]


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("name, draw", ALL, ids=[n for n, _ in ALL])
def test_renders_with_a_cjk_font_and_no_missing_glyph(name, draw):
    assert fonts.setup_cjk_fonts() == "Noto Sans CJK SC"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw()
        fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in caught if "missing from" in str(w.message) or "glyph" in str(w.message).lower()]
    labels = _texts(fig) + [ax.get_xlabel() + ax.get_ylabel() + ax.get_title() for ax in fig.axes]
    assert not [t for t in labels if "$" in t]


def test_a_cell_has_one_colour_and_its_later_runs_other_line_styles():
    styles = line_styles(["RNN", "GRU", "LSTM", "GRU（打开门）", "LSTM（打开门）", "RNN（weight_hh × 4）", "打包", "不打包"])
    assert styles["RNN"] == (GATE["h"], "-") and styles["GRU"] == (GATE["z"], "-") and styles["LSTM"] == (GATE["f"], "-")
    assert styles["GRU（打开门）"] == (GATE["z"], "--") and styles["LSTM（打开门）"] == (GATE["f"], "--")
    assert styles["RNN（weight_hh × 4）"] == (GATE["h"], "--")
    assert styles["打包"][0] != styles["不打包"][0] and not {styles["打包"][0], styles["不打包"][0]} & set(CELL_COLOUR.values())
    # A cell name is a word: "LSTM，h_n" is an LSTM, "BRNNX" names no cell; GRU is not read inside "BiGRU".
    assert line_styles(["LSTM，h_n"])["LSTM，h_n"][0] == GATE["f"]
    assert line_styles(["BRNNX"])["BRNNX"][0] not in CELL_COLOUR.values()
    assert line_styles(["BiGRU"])["BiGRU"][0] not in CELL_COLOUR.values()


def test_training_curves_draw_every_run_on_both_panels_with_the_chance_level():
    fig = draw_training_curves(HISTORIES, chance=1 / 8)
    loss_ax, acc_ax = fig.axes
    for ax in (loss_ax, acc_ax):
        drawn = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
        assert list(drawn) == list(HISTORIES)
        assert list(drawn["GRU"].get_xdata()) == HISTORIES["GRU"]["step"]
        assert matplotlib.colors.to_hex(drawn["LSTM（打开门）"].get_color()) == GATE["f"]
        assert drawn["LSTM（打开门）"].get_linestyle() == "--"
    assert list(acc_ax.get_lines()[2].get_ydata()) == HISTORIES["LSTM"]["accuracy"]
    levels = {ax: [line.get_ydata()[0] for line in ax.get_lines() if line.get_label().startswith("_")]
              for ax in (loss_ax, acc_ax)}
    assert levels[acc_ax] == [pytest.approx(0.125)] and levels[loss_ax] == [pytest.approx(math.log(8))]
    assert any(t.startswith("随机猜测 ln 8") and "2.08" in t for t in _texts(fig))
    assert loss_ax.get_xlabel() == acc_ax.get_xlabel() == "训练步数"
    assert acc_ax.get_ylim()[1] > 1 and acc_ax.get_legend() is not None


def test_training_curves_without_chance_draw_no_level_and_a_nan_loss_is_a_gap():
    history = _history()
    history["loss"][2] = float("nan")
    fig = draw_training_curves({"RNN": history})
    assert all(not line.get_label().startswith("_") for ax in fig.axes for line in ax.get_lines())
    assert math.isnan(fig.axes[0].get_lines()[0].get_ydata()[2])
    fig.savefig(io.BytesIO(), format="png")


def test_gradient_norms_are_drawn_on_a_log_scale_with_the_factor_per_line():
    fig = draw_gradient_norms(NORMS)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == list(NORMS)
    assert list(lines["RNN"].get_xdata()) == list(range(50))
    assert lines["RNN"].get_ydata()[0] == pytest.approx(1e-13)
    texts = _texts(fig)
    assert "×1e-12" in texts and "×1e+04" in texts                     # first / last per line
    assert matplotlib.colors.to_hex(lines["RNN（weight_hh × 4）"].get_color()) == GATE["h"]
    assert "时间步 t" in ax.get_xlabel() and "对数" in ax.get_ylabel()


def test_gradient_norms_draw_on_a_given_axes():
    fig, ax = plt.subplots()
    assert draw_gradient_norms({"LSTM": [1.0, 2.0]}, ax=ax) is fig and ax.get_yscale() == "log"


@pytest.mark.parametrize("lengths", [[5, 2, 4, 3], [1], [3, 3], [1, 12, 7, 2, 2, 9, 1, 4]])
def test_the_padded_batch_shows_the_batch_sizes_torch_computes(lengths):
    fig = draw_padded_batch(lengths)
    texts = _texts(fig)
    B, T = len(lengths), max(lengths)
    packed = pack_padded_sequence(torch.zeros(B, T, 1), torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    numbers = [t for t in texts if t.isdigit()]
    assert numbers == [str(n) for n in packed.batch_sizes.tolist()]
    assert texts.count("填充") == sum(T - n for n in lengths)
    assert [t for t in texts if t.startswith("序列 ")] == [f"序列 {b}" for b in range(B)]
    notes = [t for t in texts if t.startswith("长度 ")]
    assert notes == [f"长度 {n}：h_n 取自 t = {n - 1}" + (f"，output[:, -1] 多读了 {T - n} 个填充" if n < T else "")
                     for n in lengths]
    # Each row's own last step in green, the column output[:, -1] reads in red.
    ax = fig.axes[0]
    outlines = [p for p in ax.patches if type(p).__name__ == "Rectangle"]
    green = [p for p in outlines if matplotlib.colors.to_hex(p.get_edgecolor()) == DIRECTION["forward"]]
    red = [p for p in outlines if matplotlib.colors.to_hex(p.get_edgecolor()) == DIRECTION["wrong"]]
    assert len(green) == B and len(red) == 1
    assert [round(p.get_x() + p.get_width() / 2) for p in green] == [n - 1 for n in lengths]
    assert round(red[0].get_x() + red[0].get_width() / 2) == T - 1
    assert "output[:, -1]" in texts and "batch_sizes" in texts


@pytest.mark.parametrize("segments, length", [(3, 4), (1, 1), (2, 5)])
def test_truncated_bptt_marks_every_cut_and_numbers_the_stream(segments, length):
    texts = _texts(draw_truncated_bptt(num_segments=segments, segment_len=length))
    assert [t for t in texts if t.startswith("x[")] == [f"x[{t}]" for t in range(segments * length)]
    assert texts.count("detach()") == segments - 1
    assert [t for t in texts if t.startswith("第 ")] == [f"第 {k} 段：loss.backward()" for k in range(segments)]
    assert any("跨过切口也传" in t for t in texts) and any("在切口处停下" in t for t in texts)


@pytest.mark.parametrize("call", [
    lambda: draw_training_curves({}),
    lambda: draw_training_curves([1, 2]),
    lambda: draw_training_curves({"RNN": {"step": [1], "loss": [1.0]}}),
    lambda: draw_training_curves({"RNN": {"step": [1, 2], "loss": [1.0], "accuracy": [0.5]}}),
    lambda: draw_training_curves({"RNN": {"step": [1], "loss": [1.0], "accuracy": [1.5]}}),
    lambda: draw_training_curves({"RNN": {"step": "12", "loss": [1.0], "accuracy": [0.5]}}),
    lambda: draw_training_curves({"RNN": {"step": [], "loss": [], "accuracy": []}}),
    lambda: draw_training_curves({"": _history()}),
    lambda: draw_training_curves({"RNN": _history()}, chance=0),
    lambda: draw_training_curves({"RNN": _history()}, chance=8),
    lambda: draw_training_curves({"RNN": _history()}, chance=True),
    lambda: draw_training_curves({"RNN": _history()}, title=3),
    lambda: draw_gradient_norms({}),
    lambda: draw_gradient_norms({"RNN": [1.0, 0.0]}),
    lambda: draw_gradient_norms({"RNN": [1.0, float("nan")]}),
    lambda: draw_gradient_norms({"RNN": [1.0, float("inf")]}),
    lambda: draw_gradient_norms({"RNN": [-1.0]}),
    lambda: draw_gradient_norms({"RNN": ["a"]}),
    lambda: draw_gradient_norms({3: [1.0]}),
    lambda: draw_gradient_norms({"RNN": [1.0]}, ax="不是坐标轴"),
    lambda: draw_padded_batch([]),
    lambda: draw_padded_batch([0, 2]),
    lambda: draw_padded_batch([13]),
    lambda: draw_padded_batch([2.0]),
    lambda: draw_padded_batch(list(range(1, 10))),
    lambda: draw_padded_batch("52"),
    lambda: draw_padded_batch(5),
    lambda: draw_padded_batch([2], ax=[1]),
    lambda: draw_truncated_bptt(num_segments=0),
    lambda: draw_truncated_bptt(num_segments=6),
    lambda: draw_truncated_bptt(segment_len=7),
    lambda: draw_truncated_bptt(segment_len=2.0),
    lambda: draw_truncated_bptt(ax="坐标轴"),
])
def test_bad_arguments_are_rejected_in_chinese(call):
    n_before = len(plt.get_fignums())
    with pytest.raises(ValueError, match="应当"):
        call()
    assert len(plt.get_fignums()) == n_before
