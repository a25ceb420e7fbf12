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


# ---------------------------------------------------------------- derive, don't ask (issue 21, point 2)

from rnnlab import oracles  # noqa: E402
from rnnlab.checks import a2_rnn, a3_lstm, a4_gru, a5_bidirectional  # noqa: E402

_X, _H0 = torch.randn(3, 2, 4), torch.zeros(1, 2, 5)
_W = [torch.randn(5, 4), torch.randn(5, 5)]
_EARLY_OVERLOAD = torch.ops.aten.rnn_tanh.input  # taken before any check runs, as a student's cell could

SHORTCUTS = {  # what a shape, count or I/O function may not do while it runs
    "meta_lstm": lambda: nn.LSTM(4, 5, device="meta"),
    "real_rnn": lambda: nn.RNN(4, 5),
    "meta_gru_cell": lambda: nn.GRUCell(4, 5, device="meta"),
    "real_rnn_cell": lambda: nn.RNNCell(4, 5),
    "torch_lstm_kernel": lambda: torch.lstm(_X, (_H0, _H0), [torch.randn(20, 4), torch.randn(20, 5)],
                                            False, 1, 0.0, False, False, False),
    "vf_rnn_tanh": lambda: torch._VF.rnn_tanh(_X, _H0, _W, False, 1, 0.0, False, False, False),
    "aten_packet": lambda: torch.ops.aten.rnn_tanh(_X, _H0, _W, False, 1, 0.0, False, False, False),
    "aten_overload": lambda: torch.ops.aten.rnn_relu.input(_X, _H0, _W, False, 1, 0.0, False, False, False),
    "aten_overload_taken_early": lambda: _EARLY_OVERLOAD(_X, _H0, _W, False, 1, 0.0, False, False, False),
    "aten_gru_cell": lambda: torch.ops.aten.gru_cell(_X[0], _H0[0], torch.randn(15, 4), torch.randn(15, 5)),
    "oracle_param_shapes": lambda: oracles.param_shapes("LSTM", 4, 5),
    "oracle_rnn_cell_from": lambda: oracles.rnn_cell_from(*_W),
    "a2_io_shapes_by_torch": lambda: a2_rnn.io_shapes_by_torch(3, 2, 4, 5),
    "a3_shapes_by_torch": lambda: a3_lstm.shapes_by_torch(4, 5),
    "a3_count_by_torch": lambda: a3_lstm.count_by_torch(4, 5),
    "a4_param_shapes_by_torch": lambda: a4_gru.param_shapes_by_torch(4, 5),
    "a5_num_params_by_torch": lambda: a5_bidirectional.num_params_by_torch("GRU", 4, 5, bidirectional=True),
}


def _one_chinese_sentence(msg: str) -> bool:
    return "推导" in msg and msg.count("。") == 1 and msg.endswith("。") and "\n" not in msg


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_deriving_refuses_every_way_of_asking_torch(name):
    with core.deriving("f") as tripped:
        with pytest.raises(CheckFailed) as info:
            SHORTCUTS[name]()
    assert tripped and _one_chinese_sentence(str(info.value)), str(info.value)
    SHORTCUTS[name]()  # lifted after the block: each works again


@pytest.mark.parametrize("name", sorted(SHORTCUTS))
def test_derive_fails_a_function_that_asks_torch_even_when_it_catches_the_refusal(name):
    def sneaky(n):
        try:
            SHORTCUTS[name]()
        except Exception:  # noqa: BLE001
            pass
        return n

    with pytest.raises(CheckFailed) as info:
        core.derive(sneaky, "sneaky", 1)
    assert str(info.value) == core.DERIVE.format(name="sneaky") and _one_chinese_sentence(str(info.value))


def test_derive_lets_honest_answers_through():
    def honest(i, h):
        return {"weight_ih": torch.empty(4 * h, i).shape, "weight_hh": torch.Size([4 * h, h]),
                "bias_ih": (4 * h,), "n": sum(math.prod(s) for s in [(4 * h, i), (4 * h, h)]),
                "meta": torch.empty(2, 3, device="meta").shape, "linear": nn.Linear(i, h).weight.shape}

    import math
    got = core.derive(honest, "honest", 3, 5)
    assert got["weight_ih"] == (20, 3) and got["n"] == 20 * 8 and got["linear"] == (5, 3)


def test_the_refusal_is_lifted_after_a_check_and_after_an_error_inside():
    def asks(i, h):
        return {n: tuple(p.shape) for n, p in nn.LSTM(i, h, device="meta").named_parameters()}

    init_rnn, init_cell = nn.modules.rnn.RNNBase.__init__, nn.modules.rnn.RNNCellBase.__init__
    with pytest.raises(CheckFailed):
        a3_lstm.check_lstm_param_shapes(asks)
    with pytest.raises(CheckFailed):
        with core.deriving("f"):
            raise CheckFailed("inside")
    assert nn.modules.rnn.RNNBase.__init__ is init_rnn and nn.modules.rnn.RNNCellBase.__init__ is init_cell
    assert oracles._refusal is None and "rnn_tanh" not in vars(torch._VF) and "lstm" not in vars(torch._VF)
    assert "_op" in vars(torch.ops.aten.rnn_tanh) and torch.ops.aten.rnn_tanh._op is not None
    out, h_n = nn.LSTM(3, 4)(torch.randn(5, 2, 3))  # a real module builds and runs right after the check
    assert out.shape == (5, 2, 4) and nn.GRU(3, 4, device="meta").weight_ih_l0.shape == (12, 3)
    assert torch.ops.aten.rnn_tanh(_X, _H0, _W, False, 1, 0.0, False, False, False)[0].shape == (3, 2, 5)
    assert _EARLY_OVERLOAD(_X, _H0, _W, False, 1, 0.0, False, False, False)[0].shape == (3, 2, 5)


def test_the_oracles_still_answer_the_checks_own_expectations():
    assert oracles.param_shapes("GRU", 4, 5)["weight_ih_l0"] == (15, 4)
    assert a3_lstm.count_by_torch(4, 5) == 4 * 5 * (4 + 5 + 2)
    assert a2_rnn.io_shapes_by_torch(3, 2, 4, 5, 2, True) == ((2, 3, 5), (2, 2, 5))
    cell = nn.RNNCell(4, 5)
    out, h = oracles.run_cell(cell, _X)
    assert out.shape == (3, 2, 5) and h.shape == (2, 5)
    # every reference passes its own visible check (its expectations come from these oracles)
    assert "通过" in a3_lstm.check_lstm_num_params(lambda i, h, num_layers=1, bias=True:
                                                  sum(4 * h * ((i if k == 0 else h) + h + 2 * bias)
                                                      for k in range(num_layers)))


def test_refusing_also_refuses_the_aten_operators_and_puts_them_back():
    tripped: list = []
    with core.refusing(("rnn_tanh", "rnn_relu"), "不要。", tripped):
        for call_ in (SHORTCUTS["aten_packet"], SHORTCUTS["aten_overload"], SHORTCUTS["aten_overload_taken_early"],
                      SHORTCUTS["vf_rnn_tanh"]):
            with pytest.raises(CheckFailed, match="不要"):
                call_()
        nn.RNNCell(4, 5)(_X[0])  # the cell's kernel (rnn_tanh_cell) is not in the list
    assert len(tripped) == 4
    for name in ("aten_packet", "aten_overload", "aten_overload_taken_early", "vf_rnn_tanh"):
        SHORTCUTS[name]()
