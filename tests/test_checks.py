"""rnnlab.checks: correct answers pass, each classic mistake gets its own Chinese hint."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab import checks
from rnnlab.checks import CheckFailed


# Test-side implementations (the package itself must not hold them).
def good_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    z = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)


def good_run(cell, x, h0=None):
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h


def good_shapes(i, h):
    return {"weight_ih": (h, i), "weight_hh": (h, h), "bias_ih": (h,), "bias_hh": (h,)}


def hint_for(check, fn) -> str:
    with pytest.raises(CheckFailed) as info:
        check(fn)
    msg = str(info.value)
    assert "tensor(" not in msg  # never prints tensors (expected values)
    return msg


def test_correct_answers_pass():
    assert "通过" in checks.check_rnn_cell_step(good_step)
    assert "通过" in checks.check_run_rnn_cell(good_run)
    assert "通过" in checks.check_rnn_cell_param_shapes(good_shapes)


@pytest.mark.parametrize("fn, expected", [
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.tanh(F.linear(x, wi, bi) + F.linear(h, wh)),
     "bias_hh 似乎没有加上"),
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.tanh(F.linear(x, wi) + F.linear(h, wh, bh)),
     "bias_ih 似乎没有加上"),
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.tanh(F.linear(x, wi, bi) + bh),
     "h_prev"),
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": F.linear(x, wi, bi) + F.linear(h, wh, bh),
     "非线性激活"),
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.tanh(x @ wi + h @ wh.T + bi + bh),
     "x @ W.T"),
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.tanh(x @ wi.T + h @ wh + bi + bh),
     "少了转置"),
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": torch.tanh(x @ wi.T + h @ wh.T + bi + bh),
     "调用 rnn_cell_step 时出错"),  # None biases crash
    (lambda x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh": good_step(x, h, wi, wh, bi, bh),
     "relu"),  # ignores nonlinearity
    (lambda *a, **k: None, "return"),
    (lambda *a, **k: [1.0], "不是张量"),
])
def test_step_mistakes_get_specific_hints(fn, expected):
    assert expected in hint_for(checks.check_rnn_cell_step, fn)


def test_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    assert "还没有实现" in hint_for(checks.check_rnn_cell_step, stub)


def _run_with(transform):
    def run(cell, x, h0=None):
        return transform(cell, x, h0)
    return run


def test_run_mistakes_get_specific_hints():
    def includes_h0(cell, x, h0):
        h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
        outs = [h]
        for t in range(x.shape[0]):
            h = cell(x[t], h)
            outs.append(h)
        return torch.stack(outs), h

    def shifted(cell, x, h0):
        outs, h = includes_h0(cell, x, h0)
        return outs[:-1], h

    def ignores_h0(cell, x, h0):
        return good_run(cell, x)

    def as_list(cell, x, h0):
        outs, h = good_run(cell, x, h0)
        return list(outs), h

    assert "多了一个时间步" in hint_for(checks.check_run_rnn_cell, _run_with(includes_h0))
    assert "错开了一个时间步" in hint_for(checks.check_run_rnn_cell, _run_with(shifted))
    assert "h0 没有被使用" in hint_for(checks.check_run_rnn_cell, _run_with(ignores_h0))
    assert "torch.stack" in hint_for(checks.check_run_rnn_cell, _run_with(as_list))
    assert "二元组" in hint_for(checks.check_run_rnn_cell, lambda cell, x, h0=None: good_run(cell, x, h0)[0])


def test_wrong_default_h0_is_caught():
    def random_h0(cell, x, h0=None):
        if h0 is None:
            h0 = torch.randn(x.shape[1], cell.hidden_size)
        return good_run(cell, x, h0)
    assert "全零" in hint_for(checks.check_run_rnn_cell, random_h0)


def test_param_shape_hints_never_reveal_the_answer():
    transposed = lambda i, h: {**good_shapes(i, h), "weight_ih": (i, h)}
    msg = hint_for(checks.check_rnn_cell_param_shapes, transposed)
    assert "反了" in msg and "(9, 6)" not in msg and "(6, 9)" not in msg
    column_bias = lambda i, h: {**good_shapes(i, h), "bias_hh": (h, 1)}
    assert "一维" in hint_for(checks.check_rnn_cell_param_shapes, column_bias)
    missing = lambda i, h: {k: v for k, v in good_shapes(i, h).items() if k != "bias_hh"}
    assert "缺少" in hint_for(checks.check_rnn_cell_param_shapes, missing)
    assert "dict" in hint_for(checks.check_rnn_cell_param_shapes, lambda i, h: [(h, i)])
    # torch.Size values are shapes too.
    sizes = lambda i, h: {n: p.shape for n, p in nn.RNNCell(i, h).named_parameters()}
    assert "通过" in checks.check_rnn_cell_param_shapes(sizes)


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


def test_expect_close_messages():
    checks.expect_close(torch.ones(2), torch.ones(2), "x")
    with pytest.raises(CheckFailed, match="形状"):
        checks.expect_close(torch.ones(3), torch.ones(2), "x")
    with pytest.raises(CheckFailed, match="数值"):
        checks.expect_close(torch.zeros(2), torch.ones(2), "x")
    with pytest.raises(CheckFailed, match="torch.Tensor"):
        checks.expect_close([1.0, 1.0], torch.ones(2), "x")
