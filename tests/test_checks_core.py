"""rnnlab.checks.core: comparisons that resist tampering, and `call`, which turns an error raised
in a student's function into a short Chinese message (their line, torch's first line, a hint)."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab import checks
from rnnlab.checks import core
from rnnlab.checks.core import CheckFailed, TORCH_HINTS

from checktools import hint_for

HERE = __file__



def failure_of(fn, *args, **kwargs) -> CheckFailed:
    with pytest.raises(CheckFailed) as info:
        core.call(fn, "f", *args, **kwargs)
    return info.value


# ---------------------------------------------------------------- tamper resistance

def test_comparisons_survive_monkeypatched_torch(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(torch, "equal", lambda *a, **k: True)
    monkeypatch.setattr(torch.Tensor, "__eq__", lambda *a, **k: True)
    a, b = torch.zeros(3), torch.ones(3)
    assert not checks.close(a, b)
    assert checks.max_abs_diff(a, b) == 1.0
    wrong = lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.zeros(x.shape[0], wh.shape[0])
    with pytest.raises(CheckFailed):
        checks.check_rnn_cell_step(wrong)


def test_nan_output_is_never_close():
    assert not checks.close(torch.full((2,), float("nan")), torch.zeros(2))


def test_patching_from_inside_the_students_function_changes_nothing(monkeypatch):
    """A wrong answer that patches torch while it runs (after the expectations exist)."""
    def sneaky(x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh"):
        monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
        monkeypatch.setattr(torch, "abs", lambda t: t * 0)
        monkeypatch.setattr(torch.Tensor, "double", lambda t: t * 0)
        monkeypatch.setattr(nn.RNNCell, "forward", lambda self, x, h=None: torch.zeros(x.shape[0], self.hidden_size))
        return torch.zeros(x.shape[0], wh.shape[0])
    with pytest.raises(CheckFailed):
        checks.check_rnn_cell_step(sneaky)


def test_tensor_subclasses_that_lie_are_rejected():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return torch.zeros(())
    liar = torch.zeros(2, 4).as_subclass(Liar)
    assert not checks.close(liar, torch.ones(2, 4))
    assert "子类" in hint_for(checks.check_rnn_cell_step, lambda *a, **k: liar)
    with pytest.raises(CheckFailed):
        checks.expect_close(liar, torch.ones(2, 4), "x")


# ---------------------------------------------------------------- comparisons and their messages

def test_expect_close_messages():
    checks.expect_close(torch.ones(2), torch.ones(2), "x")
    with pytest.raises(CheckFailed, match="形状"):
        checks.expect_close(torch.ones(3), torch.ones(2), "x")
    with pytest.raises(CheckFailed, match="数值"):
        checks.expect_close(torch.zeros(2), torch.ones(2), "x")
    with pytest.raises(CheckFailed, match="torch.Tensor"):
        checks.expect_close([1.0, 1.0], torch.ones(2), "x")


def test_check_is_tensor_names_what_came_back():
    assert checks.check_is_tensor(torch.ones(1), "f") is not None
    with pytest.raises(CheckFailed, match="return"):
        checks.check_is_tensor(None, "f")
    with pytest.raises(CheckFailed, match="torch.stack"):
        checks.check_is_tensor([torch.ones(1)], "f")
    with pytest.raises(CheckFailed, match="ndarray"):
        checks.check_is_tensor(torch.ones(1).numpy(), "f")


def test_check_shape_hints():
    with pytest.raises(CheckFailed, match="顺序不对"):
        checks.check_shape(torch.ones(2, 4, 5), (4, 2, 5), "outputs")
    with pytest.raises(CheckFailed, match=r"x @ W\.T"):
        checks.check_shape(torch.ones(3, 4), (4, 3), "w")
    with pytest.raises(CheckFailed, match="最大差值"):
        checks.check_values(torch.zeros(2), torch.ones(2), "x")


def test_unpack_pair():
    assert checks.unpack_pair([1, 2], "f") == [1, 2]
    with pytest.raises(CheckFailed, match="二元组"):
        checks.unpack_pair((1, 2, 3), "f")


# ---------------------------------------------------------------- call: errors in the student's code

def test_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    assert "还没有实现" in str(failure_of(stub))


CELL = nn.RNNCell(3, 5)
X = torch.randn(4, 2, 3)   # (seq, batch, input)
H = torch.randn(2, 5)


def _bool_tensor():
    bias = torch.ones(5)
    if bias:
        return bias


# Each hint of TORCH_HINTS, earned by a real torch error (torch 2.13's own message).
RAISES = {
    "bool_tensor": _bool_tensor,
    "batch_size": lambda: CELL(X[:, 0], H),                       # a batch-first loop: x[:, t] is (seq, input)
    "hidden_dims": lambda: CELL(X[0], H.unsqueeze(0)),            # nn.RNN's h_0 shape given to a cell
    "input_dims": lambda: CELL(X, H),                             # the whole sequence given to a cell
    "hidden_size": lambda: CELL(X[0], torch.randn(2, 4)),
    "input_size": lambda: CELL(torch.randn(2, 4), H),
    "matmul": lambda: X[0] @ CELL.weight_ih,                      # missing transpose
    "dtype": lambda: X[0].double() @ CELL.weight_ih.T,
    "broadcast": lambda: H + torch.ones(3),
    "stack": lambda: torch.stack([H, torch.ones(3, 5)]),
    "einsum": lambda: torch.einsum("bi,hi->bh", X[0], CELL.weight_hh),
    "none": lambda: X[0] @ CELL.weight_ih.T + None,
    "inplace": lambda: CELL.bias_ih.add_(1.0),                       # b = bias_ih; b += ... on a parameter
    "proj_size": lambda: nn.GRU(3, 5, proj_size=0 or 2),
    "index": lambda: H.unsqueeze(0)[1],                            # a (1, B, H) h0 read at layer 1
    "dim_range": lambda: H.transpose(0, 2),                           # a 2-D state treated as (L, B, H)
    "view": lambda: X.transpose(0, 1).view(4, 2, 3),                  # view to swap (B, T) back to (T, B)
}


@pytest.mark.parametrize("name", sorted(RAISES))
def test_each_torch_error_gets_its_hint(name):
    with pytest.raises(Exception) as raw:
        RAISES[name]()
    first_line = str(raw.value).splitlines()[0]
    msg = str(failure_of(RAISES[name]))
    assert "调用 f 时出错" in msg
    assert f"{type(raw.value).__name__}: {first_line}" in msg  # torch's English first line, verbatim
    assert msg.endswith("提示：" + TORCH_HINTS[name][1])
    assert core.torch_hint(raw.value) == TORCH_HINTS[name][1]


def test_every_torch_hint_is_tested():
    assert set(RAISES) == set(TORCH_HINTS)


def _backward_through_inplace():
    h = torch.tanh(X[0] @ CELL.weight_ih.T)
    out = h * 2
    h.mul_(0.5)                       # h is needed by tanh's backward
    out.sum().backward()


def test_more_messages_of_the_same_mistakes_are_recognised():
    """Other torch calls make the same mistakes with other words."""
    dims = {  # (call, hint)
        (lambda: CELL(X[0], torch.randn(5)), "batch_size"),   # a 1-D h0 for a batch
        (lambda: F.linear(X[0].double(), CELL.weight_ih), "dtype"),
        (lambda: CELL(X[0].double(), H), "dtype"),
        (lambda: torch.addmv(torch.zeros(5), CELL.weight_ih, X[0, 0].double()), "dtype"),
        (lambda: X[0] @ torch.ones(3, 5, dtype=torch.long), "dtype"),
        (lambda: F.linear(X[0], CELL.weight_ih.T), "matmul"),
        (lambda: CELL.weight_ih.T.T.T + None.T, "none"),
        (lambda: torch.sigmoid(CELL.weight_ih).chunk(1)[0].sigmoid_(), "inplace"),   # a chunk view changed in place
        (_backward_through_inplace, "inplace"),
        # IndexError, from torch and from Python
        (lambda: X[:, 2], "index"),                                 # x[:, t] with t >= batch
        (lambda: X.shape[3], "index"),                              # tuple index out of range
        (lambda: [H][1], "index"),                                  # list index out of range
        (lambda: X.unbind(0)[4], "index"),                          # tuple index out of range
        (lambda: X.select(0, 4), "index"),                          # select(): index 4 out of range for tensor of size
        (lambda: torch.cat([H, H], dim=2), "dim_range"),            # Dimension out of range
        (lambda: H[0, 1, 2], "dim_range"),                          # too many indices for tensor of dimension 2
    }
    for fn, name in dims:
        assert str(failure_of(fn)).endswith(TORCH_HINTS[name][1]), name


def test_an_unknown_error_gets_its_first_line_and_no_hint():
    def raises():
        raise KeyError("weight_ih")
    msg = str(failure_of(raises))
    assert "KeyError: 'weight_ih'" in msg and "提示" not in msg
    # An IndexError that is no subscript out of range gets no subscript hint either.
    assert str(failure_of(lambda: [].pop())).endswith("\nIndexError: pop from empty list")


def _helper(x):
    return x @ CELL.weight_ih  # the innermost line of the student's own code


def test_the_message_names_the_students_innermost_line_not_torch_or_rnnlab():
    def student(x):
        return _helper(x) + 1
    err = failure_of(student, X[0])
    line = _helper.__code__.co_firstlineno + 1
    msg = str(err)
    assert msg.startswith(f"调用 f 时出错，在你的代码 File {HERE}, line {line}：\n    return x @ CELL.weight_ih")
    assert "torch" not in msg.split("\n")[0] and "rnnlab" not in msg


def test_the_error_is_raised_from_none_and_hidden_frames_are_marked():
    err = failure_of(lambda: CELL(X[:, 0], H))
    assert err.__cause__ is None and err.__suppress_context__
    tb, hidden = err.__traceback__.tb_next, []  # the first frame is the caller's (failure_of)
    while tb is not None:
        hidden.append(tb.tb_frame.f_locals.get("__tracebackhide__", False))
        tb = tb.tb_next
    assert hidden and all(hidden)  # every frame from the caller to the raise is a checks frame


def test_ipython_shows_the_students_line_not_the_checks_or_torch_frames():
    """IPython's ultratb (what Jupyter shows) skips frames whose locals set __tracebackhide__."""
    ultratb = pytest.importorskip("IPython.core.ultratb")

    def batch_first(cell, x, h0=None):
        h, outs = h0, []
        for t in range(x.shape[1]):
            h = cell(x[:, t], h)
            outs.append(h)
        return torch.stack(outs), h

    try:
        checks.check_run_rnn_cell(batch_first)
    except CheckFailed:
        text = ultratb.AutoFormattedTB(mode="Context", theme_name="nocolor").text(*sys.exc_info())
    assert "skipping hidden" in text
    assert "a1_rnncell.py" not in text and "torch/nn" not in text and "_call_impl" not in text
    assert "h = cell(x[:, t], h)" in text
    assert "RuntimeError: Input batch size 4 doesn't match hidden0 batch size 2" in text
    assert TORCH_HINTS["batch_size"][1] in text
    # The whole traceback is short: the caller, one frame of rnnlab (the raise), the message.
    assert sum(line.startswith("File ") for line in text.splitlines()) <= 2


def _shown_by_ipython(code: str, namespace: dict) -> str:
    """What a notebook shows for `code`: IPython's own showtraceback, through a real shell."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.user_ns.update(namespace)
    with capture_output() as shown:
        shell.run_cell(code)
    return ANSI.sub("", shown.stdout + shown.stderr)


ANSI = __import__("re").compile(r"\x1b\[[0-9;]*m")


def test_a_failed_check_shows_the_chinese_hint_alone():
    """No traceback header, no frame of rnnlab, no machine path, no English: the hint (issue 25)."""
    def no_bias(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
        return torch.tanh(x @ w_ih.T + h @ w_hh.T)

    text = _shown_by_ipython("checks.check_rnn_cell_step(no_bias)", {"checks": checks, "no_bias": no_bias})
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0] == "没有通过检查：", text
    assert "Traceback" not in text and "skipping hidden" not in text and "File " not in text, text
    assert "rnnlab" not in text and "/" not in text and "CheckFailed" not in text, text
    assert all(__import__("re").search(r"[\u4e00-\u9fff]", line) for line in lines), text


def test_an_error_in_the_students_code_keeps_their_frames_and_gets_the_hint():
    """Their own traceback is theirs to read: every frame of theirs, the error, the Chinese hint;
    nothing of rnnlab or torch."""
    def inner(x, w):
        return x @ w  # forgot .T

    def step(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
        return torch.tanh(inner(x, w_ih) + h @ w_hh.T)

    text = _shown_by_ipython("checks.check_rnn_cell_step(step)", {"checks": checks, "step": step})
    assert "return x @ w  # forgot .T" in text, text
    assert ", in step → " in text and ", in inner）" in text, text
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in text
    assert TORCH_HINTS["matmul"][1] in text
    assert "Traceback" not in text and "rnnlab/" not in text and "torch/" not in text, text


def test_a_rebound_checks_name_says_where_the_check_lives():
    """A student copies a1's `from rnnlab import checks` into a2: the test cells then look up
    a2's checks on the package, and the error says what happened, in Chinese."""
    import rnnlab.checks as package

    with pytest.raises(AttributeError, match="rnnlab.checks.a2_rnn") as err:
        package.check_manual_rnn
    assert "from rnnlab.checks import a2_rnn as checks" in str(err.value)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        package.nothing_here
    assert package.check_rnn_cell_step is not None  # a1's names stay where released notebooks use them


def test_a_float64_result_is_told_its_dtype():
    want = torch.ones(2, 3)
    for check in (lambda got: core.check_values(got, want, "outputs"), lambda got: core.expect_close(got, want, "outputs")):
        with pytest.raises(CheckFailed, match="dtype 是 torch.float64"):
            check(want.double())
        check(want.clone())
