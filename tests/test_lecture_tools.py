"""Fonts, figures, the step-through explorer and the self-check widget used by the lectures."""

from __future__ import annotations

import io
import warnings

import ipywidgets as W
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from rnnlab import fonts  # noqa: E402
from rnnlab.explorers.stepper import CellStepper, show_stepper  # noqa: E402
from rnnlab.figures import draw_rnn_cell, draw_unrolled_rnn  # noqa: E402
from rnnlab.selfcheck import quiz  # noqa: E402


def _render(fig) -> None:
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_cjk_font_is_found_and_chinese_renders_without_missing_glyphs():
    assert fonts.setup_cjk_fonts() == "Noto Sans CJK SC"  # CI installs fonts-noto-cjk
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _render(draw_unrolled_rnn(4))
        _render(draw_rnn_cell())
    assert not [w for w in caught if "missing from" in str(w.message) or "glyph" in str(w.message).lower()]


def test_no_cjk_font_gives_one_clear_warning_and_still_a_figure():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fonts.setup_cjk_fonts(candidates=("No Such Font CJK",)) is None
        fig, ax = plt.subplots()
        ax.set_title("隐状态")
        _render(fig)
    ours = [w for w in caught if "没有找到中文字体" in str(w.message)]
    assert len(ours) == 1 and "fonts-noto-cjk" in str(ours[0].message)
    fonts._state.clear()
    fonts.setup_cjk_fonts()  # back to the real font for the other tests


def test_unrolled_figure_labels_every_time_step():
    fig = draw_unrolled_rnn(steps=5, highlight=2)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert [f"时间步 {t}" for t in range(5)] == [t for t in texts if t.startswith("时间步")]
    assert any("共享同一组参数" in t for t in texts) and any("初始隐状态" in t for t in texts)
    plt.close(fig)


@pytest.mark.parametrize("kwargs", [dict(steps=0), dict(steps=2.5), dict(steps=4, highlight=4), dict(steps=True)])
def test_unrolled_figure_rejects_bad_arguments_in_chinese(kwargs):
    with pytest.raises(ValueError, match="应当是"):
        draw_unrolled_rnn(**kwargs)


def _loop(cell, x, state):
    """The students' loop, written out: the truth the stepper's states must equal."""
    lstm = isinstance(cell, nn.LSTMCell)
    batch, hidden = x.shape[1], cell.hidden_size
    if state is None:
        state = (torch.zeros(batch, hidden), torch.zeros(batch, hidden)) if lstm else torch.zeros(batch, hidden)
    hs = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            state = cell(x[t], state)
            hs.append(state[0] if lstm else state)
    return torch.stack(hs)


@pytest.mark.parametrize("make_cell, with_state", [
    (lambda: nn.RNNCell(7, 9), False),
    (lambda: nn.RNNCell(7, 9, nonlinearity="relu"), True),
    (lambda: nn.RNNCell(7, 9, bias=False), True),
    (lambda: nn.LSTMCell(7, 9), False),
    (lambda: nn.LSTMCell(7, 9), True),
    (lambda: nn.GRUCell(7, 9, bias=False), False),
    (lambda: nn.GRUCell(7, 9), True),
], ids=["rnn", "rnn-relu-h0", "rnn-nobias-h0", "lstm", "lstm-h0c0", "gru-nobias", "gru-h0"])
def test_stepper_shows_the_states_a_real_loop_computes(make_cell, with_state):
    torch.manual_seed(1)
    cell = make_cell()
    x = torch.randn(5, 3, 7)
    state = None
    if with_state:
        state = (torch.randn(3, 9), torch.randn(3, 9)) if isinstance(cell, nn.LSTMCell) else torch.randn(3, 9)
    stepper = show_stepper(cell, x, state)
    assert isinstance(stepper, CellStepper)
    assert torch.allclose(stepper.states, _loop(cell, x, state), atol=1e-6)
    stepper.t = 3
    assert "第 3 步读入 <code>x[3]</code>" in stepper.text.value and "<code>out[3]</code>" in stepper.text.value
    assert "(4, 3, 9)" in stepper.text.value
    assert ("记忆元 <code>c</code>" in stepper.text.value) == isinstance(cell, nn.LSTMCell)
    plt.close("all")


_X = torch.randn(5, 3, 7)


@pytest.mark.parametrize("args, words", [
    ((nn.RNN(7, 9), _X), "nn.RNNCell"),
    ((nn.LSTM(7, 9), _X), "这里要的是单元 nn.LSTMCell"),
    ((nn.RNNCell(7, 9), [[1.0]]), "张量"),
    ((nn.RNNCell(7, 9), torch.randn(5, 7)), "三维"),
    ((nn.RNNCell(7, 9), torch.randn(5, 3, 8)), "input_size 是 7"),
    ((nn.GRUCell(7, 9), torch.randn(5, 3, 8)), "input_size 是 7"),
    ((nn.RNNCell(7, 9), _X.double()), "dtype"),
    ((nn.RNNCell(7, 9), _X, torch.randn(9, 3)), "h0 的形状应当是 (3, 9)"),
    ((nn.GRUCell(7, 9), _X, torch.randn(9, 3)), "h0 的形状应当是 (3, 9)"),
    ((nn.GRUCell(7, 9), _X, (torch.randn(3, 9), torch.randn(3, 9))), "GRUCell 的初始状态只有一个张量 h0"),
    ((nn.LSTMCell(7, 9), _X, torch.randn(3, 9)), "LSTMCell 的初始状态是元组 (h0, c0)"),
    ((nn.LSTMCell(7, 9), _X, (torch.randn(3, 9),)), "LSTMCell 的初始状态是元组 (h0, c0)"),
    ((nn.LSTMCell(7, 9), _X, (torch.randn(3, 9), torch.randn(1, 3, 9))), "c0 的形状应当是 (3, 9)"),
])
def test_stepper_bad_input_is_a_chinese_message_not_a_traceback(args, words):
    widget = show_stepper(*args)
    assert isinstance(widget, W.HTML) and words in widget.value and "rnnlab-error" in widget.value


def test_stepper_caps_huge_hidden_sizes():
    stepper = show_stepper(nn.RNNCell(4, 1000), torch.randn(3, 2, 4))
    fig = stepper._figure()
    assert "只画前 64 个" in fig.axes[1].get_xlabel()
    plt.close("all")


def test_stepper_colour_scale_fits_relu_states_and_is_symmetric():
    torch.manual_seed(0)
    relu = nn.RNNCell(4, 6, nonlinearity="relu")
    with torch.no_grad():
        relu.weight_ih.mul_(10)
    stepper = show_stepper(relu, torch.randn(4, 2, 4) * 3)
    biggest = float(stepper.states.abs().max())
    assert biggest > 1
    stepper.t = 1  # the scale is the whole run's, not the steps shown so far
    image = stepper._figure().axes[1].images[0]
    assert image.get_clim() == pytest.approx((-biggest, biggest))
    small = show_stepper(nn.RNNCell(4, 6), torch.randn(4, 2, 4) * 0.01)  # at least ±1
    assert small._figure().axes[1].images[0].get_clim() == (-1.0, 1.0)
    plt.close("all")


def test_stepper_tick_labels_stay_readable_at_40_steps():
    stepper = show_stepper(nn.GRUCell(3, 5), torch.randn(40, 1, 3))
    stepper.t = 39
    ax_time, ax_h = stepper._figure().axes[:2]
    rows = [t.get_text() for t in ax_h.get_yticklabels()]
    steps = [t.get_text() for t in ax_time.get_xticklabels()]
    assert 2 <= len(rows) <= 12 and rows[0] == "out[0]" and rows[-1] == "out[39]"
    assert 2 <= len(steps) <= 13 and "x[39]" in steps
    stepper.t = 17  # the current step is always labelled
    assert "x[17]" in [t.get_text() for t in stepper._figure().axes[0].get_xticklabels()]
    short = show_stepper(nn.RNNCell(3, 5), torch.randn(5, 1, 3))  # a short sequence keeps every label
    short.t = 4
    assert [t.get_text() for t in short._figure().axes[1].get_yticklabels()] == [f"out[{i}]" for i in range(5)]
    plt.close("all")


def test_stepper_refuses_a_step_beyond_the_sequence():
    stepper = show_stepper(nn.RNNCell(3, 5), torch.randn(5, 2, 3))
    stepper.t = 7
    assert stepper.t == 0 and "0 到 4 之间" in stepper.error and "rnnlab-error" in stepper.text.value
    stepper.set(t=2, sample=1)
    assert stepper.error is None and "第 2 步" in stepper.text.value
    plt.close("all")


def test_quiz_feedback():
    q = quiz("`weight_ih` 的形状？", ["(8, 30)", "(30, 8)"], answer=0, explanation="按 (输出, 输入) 存放。")
    assert "<code>weight_ih</code>" in q.children[0].value
    assert q.check() is False and "先选" in q.feedback.value
    q.choice.index = 1
    assert q.check() is False and "再想想" in q.feedback.value
    q.choice.index = 0
    assert q.check() is True and "正确" in q.feedback.value and "输出, 输入" in q.feedback.value
    with pytest.raises(ValueError):
        quiz("?", ["a"], answer=3, explanation="")

    # Each option may carry its own explanation: a wrong choice is told what is wrong with it.
    options = ["(30, 8)", "(8, 30)", "(8, 8)"]
    q = quiz("`weight_ih` 的形状？", options, answer=1,
             explanations=["这是《动手学深度学习》里 `W_xh` 的形状。", "按 (输出, 输入) 存放。", "那是 `weight_hh`。"])
    q.choice.index = 0
    assert q.check() is False and "再想想" in q.feedback.value and "<code>W_xh</code>" in q.feedback.value
    assert "weight_hh" not in q.feedback.value and "打印出的形状" not in q.feedback.value
    q.choice.index = 2
    assert q.check() is False and "<code>weight_hh</code>" in q.feedback.value and "W_xh" not in q.feedback.value
    q.choice.index = 1
    assert q.check() is True and "正确" in q.feedback.value and "输出, 输入" in q.feedback.value
    # A dict may explain some options only: the others fall back to `explanation` / the generic hint.
    q = quiz("?", ["a", "b", "c"], answer=0, explanation="因为 a。", explanations={2: "c 只对 GRU 以外成立。"})
    q.choice.index = 2
    assert q.check() is False and "c 只对 GRU" in q.feedback.value
    q.choice.index = 1
    assert q.check() is False and "打印出的形状" in q.feedback.value
    q.choice.index = 0
    assert q.check() is True and "因为 a" in q.feedback.value
    # A radio button shows plain text: no literal backticks in the options a student reads.
    q = quiz("?", ["`h_n` 和 `c_n` 都是 (2, 8, 32)", "`output[-1]` 等于 `c_n[-1]`"], answer=0)
    assert q.choice.options == ("h_n 和 c_n 都是 (2, 8, 32)", "output[-1] 等于 c_n[-1]")
    with pytest.raises(ValueError, match="重复"):
        quiz("?", ["`a`", "a"], answer=0)
    for bad in (["只有一条"], {3: "越界"}, {True: "布尔不是下标"}, "一个字符串"):
        with pytest.raises(ValueError, match="explanations"):
            quiz("?", ["a", "b", "c"], answer=0, explanations=bad)
