"""rnnlab.checks.a2_rnn: correct styles pass, every Chinese hint is earned by the mistake it names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.checks import a2_rnn as checks
from rnnlab.checks.core import TORCH_HINTS, CheckFailed

from checktools import hint_for, in_a_fresh_interpreter


# ---------------------------------------------------------------- test-side implementations

def manual(rnn, x, h0=None, **mistake):
    """A correct manual_rnn; each keyword switches on one classic mistake."""
    m = mistake.get
    bf = rnn.batch_first and not m("ignore_batch_first")
    xs = x.transpose(0, 1) if bf else x
    if m("squeeze_x"):
        xs = xs.squeeze()
    T, B, _ = xs.shape
    L, H = rnn.num_layers, rnn.hidden_size
    if h0 is None:
        h0 = torch.randn(L, B, H) if m("random_default_h0") else xs.new_zeros(L, B, H)
        if m("default_h0_2d"):  # the zeros of a1's cell: h0[k] broadcasts, until num_layers > batch
            h0 = xs.new_zeros(B, H)
        if m("default_h0_one_layer"):
            h0 = xs.new_zeros(1, B, H)
        if m("default_h0_batch_from_dim1"):  # the batch read from x as given: with batch_first, that is seq
            h0 = xs.new_zeros(L, x.shape[1], H)
    if m("ignore_h0"):
        h0 = torch.zeros_like(h0)
    act = torch.tanh if (rnn.nonlinearity == "tanh" or m("always_tanh")) else torch.relu
    layers = range(2) if m("two_layers_hard_coded") else range(L)
    inp, finals, first_out, all_outs = xs, [], None, []
    for k in layers:
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
        if m("no_transpose_ih"):
            w_ih = w_ih.T
        if m("no_transpose_hh"):
            w_hh = w_hh.T
        has_bias = rnn.bias or m("assume_bias")
        b_ih = getattr(rnn, f"bias_ih_l{k}") if has_bias and not m("no_bias_ih") else None
        b_hh = getattr(rnn, f"bias_hh_l{k}") if has_bias and not m("no_bias_hh") else None
        start = h0[0] if m("h0_first_for_all") else h0[k]
        h, outs = start, []
        for t in range(T + 1 if m("one_step_too_many") else T):
            if m("restart_each_step"):
                h = start
            h = act(F.linear(xs[t] if m("x_every_layer") else inp[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh))
            outs.append(h)
        if m("include_h0"):
            outs.insert(0, start)
        inp = torch.stack(outs)
        first_out = inp if first_out is None else first_out
        all_outs.append(inp)
        finals.append(h)
    if m("concat_layers"):
        inp = torch.cat(all_outs, dim=-1)
    out = first_out if m("output_first_layer") else inp
    if bf and not m("output_time_major"):
        out = out.transpose(0, 1)
    h_n = torch.stack(finals)
    if m("hn_reversed"):
        h_n = h_n.flip(0)
    if m("hn_top_only"):
        h_n = h_n[-1:]
    if m("hn_batch_first") and rnn.batch_first:
        h_n = h_n.transpose(0, 1)
    if m("detach"):
        out = out.detach()
    if m("detach_hn"):
        h_n = h_n.detach()
    if m("off_by_a_bit"):
        out = out + 0.01
    if m("output_is_x"):  # the layer outputs were never kept: what went up, and came out, is x
        out = x
    if m("edits_params"):
        with torch.no_grad():
            rnn.weight_hh_l0.mul_(2)
    if m("as_list"):
        return list(out), h_n
    if m("output_only"):
        return out
    return out, h_n


def with_(**mistake):
    return lambda rnn, x, h0=None: manual(rnn, x, h0, **mistake)


def vectorised(rnn, x, h0=None):
    """Another correct style: input projection for all steps at once, einsum, preallocated outputs."""
    if rnn.batch_first:
        x = x.permute(1, 0, 2)
    T, B = x.shape[:2]
    h_init = x.new_zeros(rnn.num_layers, B, rnn.hidden_size) if h0 is None else h0
    h_n = torch.empty(rnn.num_layers, B, rnn.hidden_size)
    layer_in = x
    for k in range(rnn.num_layers):
        proj = torch.einsum("tbi,hi->tbh", layer_in, getattr(rnn, f"weight_ih_l{k}"))
        if rnn.bias:
            proj = proj + getattr(rnn, f"bias_ih_l{k}") + getattr(rnn, f"bias_hh_l{k}")
        out = torch.empty(T, B, rnn.hidden_size)
        h = h_init[k]
        for t in range(T):
            z = torch.addmm(proj[t], h, getattr(rnn, f"weight_hh_l{k}").t())
            h = torch.relu(z) if rnn.nonlinearity == "relu" else z.tanh()
            out[t] = h
        h_n[k] = h
        layer_in = out
    return (layer_in.permute(1, 0, 2) if rnn.batch_first else layer_in), h_n


def with_cells(rnn, x, h0=None):
    """Another correct style: one nn.RNNCell per layer holding the layer's parameters, x[:, t] indexing."""
    L, H = rnn.num_layers, rnn.hidden_size
    B, T = (x.shape[0], x.shape[1]) if rnn.batch_first else (x.shape[1], x.shape[0])
    hs = [torch.zeros(B, H) if h0 is None else h0[k] for k in range(L)]
    outs = []
    for t in range(T):
        inp = x[:, t] if rnn.batch_first else x[t]
        for k in range(L):
            w = [getattr(rnn, f"{n}_l{k}") for n in ("weight_ih", "weight_hh")]
            pre = inp @ w[0].T + hs[k] @ w[1].T
            if rnn.bias:
                pre = pre + getattr(rnn, f"bias_ih_l{k}") + getattr(rnn, f"bias_hh_l{k}")
            hs[k] = torch.tanh(pre) if rnn.nonlinearity == "tanh" else F.relu(pre)
            inp = hs[k]
        outs.append(inp)
    return torch.stack(outs, dim=1 if rnn.batch_first else 0), torch.stack(hs)


def io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False, **mistake):
    m = mistake.get
    out = (batch, seq_len, hidden_size) if batch_first else (seq_len, batch, hidden_size)
    if m("output_ignores_bf"):
        out = (seq_len, batch, hidden_size)
    if m("output_always_bf"):
        out = (batch, seq_len, hidden_size)
    if m("output_last_input"):
        out = out[:2] + (input_size,)
    if m("output_last_layers"):
        out = out[:2] + (num_layers * hidden_size,)
    if m("output_scrambled"):
        out = (hidden_size, seq_len, batch)
    h_n = (num_layers, batch, hidden_size)
    if m("hn_bf") and batch_first:
        h_n = (batch, num_layers, hidden_size)
    if m("hn_one_layer"):
        h_n = (1, batch, hidden_size)
    if m("hn_seq_first"):
        h_n = (seq_len, batch, hidden_size)
    if m("hn_2d"):
        h_n = (batch, hidden_size)
    if m("hn_scrambled"):
        h_n = (num_layers, hidden_size, batch)
    if m("int_element"):
        h_n = (hidden_size)
    if m("lists"):
        return list(out), list(h_n)
    if m("numpy_ints"):
        return tuple(np.int64(d) for d in out), h_n
    if m("not_pair"):
        return out
    return out, h_n


def io_with(**mistake):
    return lambda *a, **k: io_shapes(*a, **k, **mistake)



# ---------------------------------------------------------------- manual_rnn

MAIN = checks.check_manual_rnn
# Each contract item's own check (and points).
RELU, NO_BIAS, BATCH_FIRST, DEFAULT_H0, GRADIENT = (
    checks.check_manual_rnn_relu, checks.check_manual_rnn_bias_false, checks.check_manual_rnn_batch_first,
    checks.check_manual_rnn_default_h0, checks.check_manual_rnn_gradient)
MANUAL_CHECKS = (MAIN, RELU, NO_BIAS, BATCH_FIRST, DEFAULT_H0, GRADIENT)


@pytest.mark.parametrize("fn", [manual, vectorised, with_cells], ids=["loops", "vectorised", "cells"])
def test_correct_styles_pass(fn):
    for check in MANUAL_CHECKS:
        assert "通过" in check(fn)


@pytest.mark.parametrize("check, mistake, expected", [
    (MAIN, "h0_first_for_all", "每一层都从 h0[0] 开始了"),
    (MAIN, "x_every_layer", "每一层都读入了 x"),
    (DEFAULT_H0, "default_h0_2d", "问题出在 h0=None 时的处理"),
    (DEFAULT_H0, "default_h0_one_layer", "问题出在 h0=None 时的处理"),
    (RELU, "always_tanh", "nonlinearity 是 \"relu\"，结果却像是用了 tanh"),
    (MAIN, "no_bias_ih", "bias_ih_l{k} 似乎没有加上"),
    (MAIN, "no_bias_hh", "bias_hh_l{k} 似乎没有加上"),
    (MAIN, "hn_top_only", "h_n 应当包含每一层最后的隐状态"),
    (MAIN, "output_first_layer", "output 应当来自最上面一层"),
    (MAIN, "hn_reversed", "h_n 的层顺序反了"),
    (BATCH_FIRST, "hn_batch_first", "h_n 不受 batch_first 影响"),
    (MAIN, "no_transpose_hh", "少了转置：PyTorch 计算的是 h @ weight_hh_l{k}.T"),
    (MAIN, "no_transpose_ih", "少了转置：PyTorch 计算的是 x_t @ weight_ih_l{k}.T"),
    (MAIN, "ignore_h0", "传入的 h0 没有被使用"),
    (MAIN, "restart_each_step", "每个时间步都从初始隐状态重新开始了"),
    (BATCH_FIRST, "ignore_batch_first", "batch_first=True 时 x 的形状是 (batch, seq, input_size)"),
    (BATCH_FIRST, "output_time_major", "batch_first=True 时 output 也是批量在前"),
    (MAIN, "include_h0", "output 多了一个时间步"),
    (MAIN, "concat_layers", "不要把各层连结起来"),
    (DEFAULT_H0, "random_default_h0", "这一例第一次用到：h0=None"),
    (NO_BIAS, "assume_bias", "这个 rnn 是用 bias=False 建的"),
    (MAIN, "two_layers_hard_coded", "这个 rnn 只有 1 层"),
    (GRADIENT, "detach", "output 与 rnn 的参数断开了"),
    (GRADIENT, "detach_hn", "h_n 与 rnn 的参数断开了"),
    (MAIN, "edits_params", "修改了 rnn 的参数"),
    (MAIN, "as_list", "torch.stack"),
    (MAIN, "output_only", "二元组 (output, h_n)"),
])
def test_each_mistake_gets_its_hint(check, mistake, expected):
    assert expected in hint_for(check, with_(**{mistake: True}))


def test_both_biases_missing():
    assert "两个偏置" in hint_for(MAIN, with_(no_bias_ih=True, no_bias_hh=True))


def test_x_fed_to_every_layer_and_returned_as_output():
    """The layer outputs never kept: every layer reads x, and output is x itself."""
    msg = hint_for(checks.check_manual_rnn, with_(x_every_layer=True, output_is_x=True))
    assert "每一层都读入了 x，返回的 output 也原样是 x" in msg and "逐项检查" not in msg
    # output = x alone (the layers themselves right) is another mistake: not this diagnosis.
    msg = hint_for(checks.check_manual_rnn, with_(output_is_x=True))
    assert "读入了 x" not in msg and "逐项检查" in msg
    # Every layer reading x, output from the top layer: the hint without "output 也原样是 x".
    msg = hint_for(checks.check_manual_rnn, with_(x_every_layer=True))
    assert "每一层都读入了 x" in msg and "原样是 x" not in msg


def test_a_default_h0_without_the_layer_dimension_is_named_not_torchs_index_error():
    """h0=None made (batch, hidden_size): torch's English IndexError once num_layers > batch. The
    check asks the student's function the same case with h0 = zeros given: right, so the default is it."""
    msg = hint_for(DEFAULT_H0, with_(default_h0_2d=True))
    assert "IndexError: index 1 is out of bounds for dimension 0 with size 1" in msg  # their error, verbatim
    assert checks.DEFAULT_H0 in msg and "（出错的这一例：manual_rnn（num_layers=3" in msg and "h0=None" in msg
    assert msg.count("提示：") == 1 and msg.index(checks.DEFAULT_H0) < msg.index("（出错的这一例：")
    assert "（出错的这一例：" in msg.splitlines()[-1]


def test_an_index_error_that_is_no_default_h0_gets_the_general_hint_only():
    """An IndexError in every case (one step too many): torch's error with core's Chinese hint. A case with
    h0=None that fails with h0 given too (x.squeeze() breaks the batch of 1): no h0=None diagnosis."""
    msg = hint_for(checks.check_manual_rnn, with_(one_step_too_many=True))
    assert "IndexError" in msg and TORCH_HINTS["index"][1] in msg and checks.DEFAULT_H0 not in msg

    msg = hint_for(DEFAULT_H0, with_(squeeze_x=True))
    assert "h0=None" in msg and checks.DEFAULT_H0 not in msg  # the batch-1 case, which has no h0


def test_the_default_h0_hint_never_fires_for_a_correct_default():
    for fn in (manual, vectorised, with_cells):
        assert "通过" in DEFAULT_H0(fn)
    # A right default, another mistake in the h0=None case: not the default's fault.
    msg = hint_for(DEFAULT_H0, with_(random_default_h0=True))
    assert checks.DEFAULT_H0 not in msg


def test_unknown_mistake_gets_the_generic_message():
    msg = hint_for(checks.check_manual_rnn, with_(off_by_a_bit=True))
    assert "数值不对" in msg and "逐项检查" in msg
    for specific in ("h0[0]", "读入了 x", "偏置", "转置", "顺序反了", "第 0 层"):
        assert specific not in msg
    # Two mistakes at once match no single variant: generic, not a wrong diagnosis.
    msg = hint_for(checks.check_manual_rnn, with_(h0_first_for_all=True, no_bias_ih=True))
    assert "逐项检查" in msg and "h0[0]" not in msg and "bias_ih" not in msg.split("逐项检查")[0]


def test_calling_the_module_or_the_fused_function_is_refused():
    assert checks.NO_CALL in hint_for(checks.check_manual_rnn, lambda rnn, x, h0=None: rnn(x, h0))
    assert checks.NO_CALL in hint_for(checks.check_manual_rnn, lambda rnn, x, h0=None: rnn.forward(x, h0))
    assert checks.NO_FUSED in hint_for(checks.check_manual_rnn, lambda rnn, x, h0=None: nn.RNN.forward(rnn, x, h0))

    def own_module(rnn, x, h0=None):  # a fresh nn.RNN loaded with the parameters: still the fused kernel
        twin = nn.RNN(rnn.input_size, rnn.hidden_size, rnn.num_layers, nonlinearity=rnn.nonlinearity,
                      bias=rnn.bias, batch_first=rnn.batch_first)
        twin.load_state_dict(rnn.state_dict())
        return twin(x, h0)
    assert checks.NO_FUSED in hint_for(checks.check_manual_rnn, own_module)

    def swallows(rnn, x, h0=None):  # catches the refusal and falls back: still refused
        try:
            return rnn(x, h0)
        except Exception:
            return manual(rnn, x, h0)
    assert checks.NO_CALL in hint_for(checks.check_manual_rnn, swallows)
    # Nothing stays patched afterwards.
    assert "rnn_tanh" not in vars(torch._VF)
    nn.RNN(2, 3)(torch.zeros(4, 1, 2))


def test_in_place_writes_that_break_backward_get_a_hint():
    def overwrites_h0(rnn, x, h0=None):  # preallocated h_n that the loop also reads from
        inp = x.transpose(0, 1) if rnn.batch_first else x
        h_n = torch.zeros(rnn.num_layers, inp.shape[1], rnn.hidden_size) if h0 is None else h0.clone()
        for k in range(rnn.num_layers):
            h, outs = h_n[k], []
            for t in range(inp.shape[0]):
                pre = inp[t] @ getattr(rnn, f"weight_ih_l{k}").T + h @ getattr(rnn, f"weight_hh_l{k}").T
                if rnn.bias:
                    pre = pre + getattr(rnn, f"bias_ih_l{k}") + getattr(rnn, f"bias_hh_l{k}")
                h = torch.tanh(pre) if rnn.nonlinearity == "tanh" else torch.relu(pre)
                outs.append(h)
            h_n[k] = h
            inp = torch.stack(outs)
        return (inp.transpose(0, 1) if rnn.batch_first else inp), h_n
    assert "原地修改" in hint_for(GRADIENT, overwrites_h0)


def test_not_implemented_is_reported():
    def stub(rnn, x, h0=None):
        raise NotImplementedError()
    for check in MANUAL_CHECKS:
        assert "还没有实现" in hint_for(check, stub)


def test_the_check_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    a = torch.rand(1)
    torch.manual_seed(123)
    for check in MANUAL_CHECKS:
        check(manual)
    assert torch.equal(torch.rand(1), a)


def test_comparisons_survive_monkeypatched_torch(monkeypatch):
    def sneaky(rnn, x, h0=None):
        monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
        monkeypatch.setattr(torch, "equal", lambda *a, **k: True)
        monkeypatch.setattr(torch.Tensor, "__eq__", lambda *a, **k: True)
        monkeypatch.setattr(torch, "abs", lambda t: t * 0)
        out, h_n = manual(rnn, x, h0)
        return torch.zeros_like(out), torch.zeros_like(h_n)
    with pytest.raises(CheckFailed):
        checks.check_manual_rnn(sneaky)


def test_tensor_subclasses_are_rejected():
    class Liar(torch.Tensor):
        pass

    def lies(rnn, x, h0=None):
        out, h_n = manual(rnn, x, h0)
        return out.as_subclass(Liar), h_n
    assert "子类" in hint_for(checks.check_manual_rnn, lies)


# ---------------------------------------------------------------- rnn_io_shapes

IO_CHECKS = (checks.check_rnn_io_shapes, checks.check_rnn_io_shapes_batch_first)


def test_io_shapes_correct_styles_pass():
    for check in IO_CHECKS:
        assert "通过" in check(io_shapes)

    def sizes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
        out = torch.empty((batch, seq_len, hidden_size) if batch_first else (seq_len, batch, hidden_size), device="meta")
        return out.shape, torch.Size([num_layers, batch, hidden_size])  # torch.Size is a tuple of ints
    for check in IO_CHECKS:
        assert "通过" in check(sizes)


def test_io_shapes_expectation_is_torchs():
    assert checks.io_shapes_by_torch(5, 3, 4, 6, 2, True) == ((3, 5, 6), (2, 3, 6))


def test_io_shapes_expectation_draws_no_random_number_and_imports_no_sympy():
    """The visible check runs in the student's kernel: it must not advance their generator, and a forward on
    the meta device (torch's Python decompositions) would import sympy there, a second of CPU per kernel."""
    value, untouched, sympy = in_a_fresh_interpreter("from rnnlab.checks import a2_rnn",
                                                     "a2_rnn.io_shapes_by_torch(4, 2, 3, 5, 2, False)")
    assert (value, untouched, sympy) == ("((4, 2, 5), (2, 2, 5))", True, False)


IO_BF = checks.check_rnn_io_shapes_batch_first


@pytest.mark.parametrize("mistake, expected", [
    ("hn_bf", "h_n 不受 batch_first 影响"),
    ("output_ignores_bf", "batch_first=True 时 output 也是批量在前"),
    ("output_always_bf", "batch_first=False（默认）时 output 是时间步在前"),
    ("output_last_input", "最后一维不对：它是 input_size"),
    ("output_last_layers", "output_shape 的最后一维不对"),
    ("output_scrambled", "output_shape 不对"),
    ("hn_one_layer", "h_n_shape 的第一维不对"),
    ("hn_seq_first", "它不是时间步数"),
    ("hn_2d", "即使 num_layers=1"),
    ("hn_scrambled", "h_n_shape 不对"),
    ("int_element", "元组要写成 (n,)"),
    ("lists", "是列表"),
    ("numpy_ints", "由整数（int）组成"),
    ("not_pair", "二元组 (output_shape, h_n_shape)"),
])
def test_each_io_mistake_gets_its_hint(mistake, expected):
    check = IO_BF if mistake in ("hn_bf", "output_ignores_bf") else checks.check_rnn_io_shapes
    msg = hint_for(check, io_with(**{mistake: True}))
    assert expected in msg


def test_io_hints_never_reveal_the_answer():
    for mistake in ("hn_bf", "output_ignores_bf", "output_last_input", "hn_one_layer", "output_scrambled",
                    "hn_scrambled"):
        check = IO_BF if mistake in ("hn_bf", "output_ignores_bf") else checks.check_rnn_io_shapes
        msg = hint_for(check, io_with(**{mistake: True}))
        head, _, tail = msg.partition("：")
        # The call is named (its arguments), never a shape of torch's answer.
        wants = [checks.io_shapes_by_torch(*case[:6]) for case in checks.IO_CASES]
        wants += [checks.io_shapes_by_torch(*case, True) for case in checks.IO_BATCH_FIRST_CASES]
        for want_out, want_hn in wants:
            assert str(want_out) not in tail and str(want_hn) not in tail


def test_io_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    for check in IO_CHECKS:
        assert "还没有实现" in hint_for(check, stub)


def test_io_shapes_are_asked_with_every_setting():
    settings = {(c[4] > 1, c[5]) for c in checks.IO_CASES} | {(c[4] > 1, True) for c in checks.IO_BATCH_FIRST_CASES}
    assert settings == {(False, False), (True, False), (False, True), (True, True)}
    assert any(c[6] for c in checks.IO_CASES)  # called with the defaults too
    assert not any(c[5] for c in checks.IO_CASES)  # batch_first=True is its own item


def test_manual_rnn_visible_cases_try_every_setting_of_the_contract():
    cases = checks.visible_cases()
    seen = lambda f: {f(c) for c in cases}  # noqa: E731
    assert seen(lambda c: c.rnn.num_layers) >= {1, 2, 3}
    assert seen(lambda c: c.rnn.nonlinearity) == {"tanh", "relu"}
    assert seen(lambda c: c.rnn.bias) == {True, False}
    assert seen(lambda c: c.rnn.batch_first) == {True, False}
    assert seen(lambda c: c.h0 is None) == {True, False}
    assert seen(lambda c: c.rnn.input_size == c.rnn.hidden_size) == {True, False}
    # Sizes that tell the layouts apart: seq, batch and num_layers differ in every case.
    for c in cases:
        T, B = (c.x.shape[1], c.x.shape[0]) if c.rnn.batch_first else (c.x.shape[0], c.x.shape[1])
        assert len({T, B, c.rnn.num_layers}) == 3


def test_the_module_passed_in_is_left_untouched():
    rnn = checks.make_case(1, 3, 2, 2, 3, num_layers=2).rnn
    before = {n: p.detach().clone() for n, p in rnn.named_parameters()}
    x = torch.randn(3, 2, 2)
    with pytest.raises(CheckFailed, match="修改了 rnn 的参数"):
        checks.run_manual_rnn(with_(edits_params=True), rnn, x)
    assert all(torch.equal(p.detach(), before[n]) for n, p in rnn.named_parameters())
    assert "forward" not in vars(rnn)


def test_parameters_taken_from_state_dict_are_named():
    """rnn.state_dict() hands out detached tensors: right values, no gradient, and the hint says why."""
    import answers.a2_rnn as answers

    ns = {"torch": torch, "nn": nn, "F": F}
    exec(answers.BASE.replace('getattr(rnn, f"weight_ih_l{k}")', 'rnn.state_dict()[f"weight_ih_l{k}"]'), ns)
    msg = hint_for(GRADIENT, ns["manual_rnn"])
    assert "state_dict()" in msg and "断开" in msg


# ---------------------------------------------------------------- derive, don't ask (issue 21, point 2)

def _io_meta(T, B, I, H, num_layers=1, batch_first=False):
    rnn = nn.RNN(I, H, num_layers, batch_first=batch_first, device="meta")
    out, h_n = rnn(torch.empty((B, T, I) if batch_first else (T, B, I), device="meta"))
    return tuple(out.shape), tuple(h_n.shape)


def _io_real(T, B, I, H, num_layers=1, batch_first=False):
    out, h_n = nn.RNN(I, H, num_layers, batch_first=batch_first)(torch.zeros((B, T, I) if batch_first else (T, B, I)))
    return tuple(out.shape), tuple(h_n.shape)


def _io_aten(T, B, I, H, num_layers=1, batch_first=False):
    x = torch.empty((B, T, I) if batch_first else (T, B, I), device="meta")
    params = [torch.empty(H, I if k == 0 else H, device="meta") if j == 0 else torch.empty(H, H, device="meta")
              for k in range(num_layers) for j in range(2)]
    out, h_n = torch.ops.aten.rnn_tanh(x, torch.empty(num_layers, B, H, device="meta"), params, False, num_layers,
                                       0.0, False, False, batch_first)
    return tuple(out.shape), tuple(h_n.shape)


IO_ASKS_TORCH = {
    "meta_module": _io_meta, "real_module": _io_real, "aten_kernel": _io_aten,
    "oracle": lambda T, B, I, H, num_layers=1, batch_first=False: checks.io_shapes_by_torch(T, B, I, H, num_layers,
                                                                                            batch_first),
}


@pytest.mark.parametrize("name", sorted(IO_ASKS_TORCH))
def test_io_shapes_asked_of_torch_is_refused_in_chinese(name):
    for check in IO_CHECKS:
        msg = hint_for(check, IO_ASKS_TORCH[name])
        assert msg.startswith("rnn_io_shapes 要你自己推导") and msg.count("。") == 1
    assert nn.RNN(3, 4)(torch.randn(2, 1, 3))[0].shape == (2, 1, 4)  # lifted after the check


def _aten_manual(rnn, x, h0=None, overload=False):
    if h0 is None:
        h0 = torch.zeros(rnn.num_layers, x.shape[0] if rnn.batch_first else x.shape[1], rnn.hidden_size)
    kernel = torch.ops.aten.rnn_tanh if rnn.nonlinearity == "tanh" else torch.ops.aten.rnn_relu
    kernel = kernel.input if overload else kernel
    return kernel(x, h0, list(rnn.parameters()), rnn.bias, rnn.num_layers, 0.0, False, False, rnn.batch_first)


@pytest.mark.parametrize("overload", [False, True])
def test_manual_rnn_through_the_aten_kernel_is_refused(overload):
    for check in MANUAL_CHECKS:
        assert hint_for(check, lambda rnn, x, h0=None: _aten_manual(rnn, x, h0, overload)) == checks.NO_FUSED
    rnn = nn.RNN(3, 4)
    assert _aten_manual(rnn, torch.randn(2, 1, 3))[0].shape == (2, 1, 4)  # lifted after the check


# ---------------------------------------------------------------- partial credit (issue 21): one item, one check

def passing(family, fn) -> set:
    ok = set()
    for check in family:
        try:
            check(fn)
            ok.add(check)
        except CheckFailed:
            pass
    return ok


@pytest.mark.parametrize("mistake, failing", [
    ("always_tanh", RELU),
    ("assume_bias", NO_BIAS),
    ("ignore_batch_first", BATCH_FIRST),
    ("output_time_major", BATCH_FIRST),
    ("hn_batch_first", BATCH_FIRST),
    ("default_h0_batch_from_dim1", BATCH_FIRST),   # h0=None is right without batch_first
    ("random_default_h0", DEFAULT_H0),            # ... and the batch_first check leaves a broken h0=None alone
    ("default_h0_2d", DEFAULT_H0),
    ("default_h0_one_layer", DEFAULT_H0),
    ("ignore_h0", MAIN),                          # the items give an all-zero h0
    ("h0_first_for_all", MAIN),
    ("detach", GRADIENT),
    ("detach_hn", GRADIENT),
])
def test_one_item_wrong_fails_only_that_items_check(mistake, failing):
    assert passing(MANUAL_CHECKS, with_(**{mistake: True})) == set(MANUAL_CHECKS) - {failing}


def test_batch_first_with_a_default_h0_from_the_wrong_dimension_is_named():
    msg = hint_for(BATCH_FIRST, with_(default_h0_batch_from_dim1=True))
    assert checks.BATCH_FIRST in msg and checks.BATCH_FIRST_H0 in msg and "h0=None" in msg
    # Without h0=None the same layout mistake names batch_first only.
    msg = hint_for(BATCH_FIRST, with_(ignore_batch_first=True))
    assert checks.BATCH_FIRST in msg and checks.BATCH_FIRST_H0 not in msg


def test_an_items_check_points_at_the_main_check_only_when_that_fails():
    for check in (RELU, NO_BIAS, BATCH_FIRST, DEFAULT_H0, GRADIENT):
        assert checks.CORE_FIRST in hint_for(check, with_(off_by_a_bit=True)), check.__name__
    assert checks.CORE_FIRST in hint_for(RELU, with_(no_transpose_hh=True, always_tanh=True))
    for mistake in ("always_tanh", "ignore_batch_first", "random_default_h0", "detach"):
        check = next(iter(set(MANUAL_CHECKS) - passing(MANUAL_CHECKS, with_(**{mistake: True}))))
        assert checks.CORE_FIRST not in hint_for(check, with_(**{mistake: True})), mistake


@pytest.mark.parametrize("mistake, failing", [
    ("hn_bf", IO_BF), ("output_ignores_bf", IO_BF),
    ("hn_one_layer", checks.check_rnn_io_shapes), ("output_last_input", checks.check_rnn_io_shapes),
    ("lists", checks.check_rnn_io_shapes), ("hn_scrambled", checks.check_rnn_io_shapes),
])
def test_one_io_item_wrong_fails_only_that_items_check(mistake, failing):
    assert passing(IO_CHECKS, io_with(**{mistake: True})) == set(IO_CHECKS) - {failing}


def test_the_batch_first_io_item_is_no_gift():
    """Graded on what batch_first changes, but against torch where it can: a constant answer, or
    batch_first swapping everything, still fails it."""
    assert IO_BF not in passing(IO_CHECKS, lambda *a, **k: ((0, 0, 0), (0, 0, 0)))
    assert IO_BF not in passing(IO_CHECKS, io_with(output_always_bf=True, hn_bf=True, output_ignores_bf=True))
    right = checks.io_shapes_by_torch(4, 5, 6, 2, 2, True)
    assert checks.batch_first_io_right(right, None, right) == (True, True)
    # their own batch_first=False answer with output's first two dims swapped, h_n unchanged: right here
    assert checks.batch_first_io_right(((5, 4, 6), (1, 5, 2)), ((4, 5, 6), (1, 5, 2)), right) == (True, True)
    assert checks.batch_first_io_right(((4, 5, 2), (5, 2, 2)), ((4, 5, 2), (2, 5, 2)), right) == (False, False)


def test_the_batch_first_io_items_generic_hints():
    msg = hint_for(IO_BF, lambda *a, **k: ((0, 0, 0), (0, 0, 0)))
    assert msg.endswith("output_shape 不对。想一想 batch_first=True 时 output 的各维按什么顺序排列。")

    def h_n_grows_with_batch_first(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
        out, h_n = io_shapes(seq_len, batch, input_size, hidden_size, num_layers, batch_first)
        return out, (h_n[0], h_n[1], h_n[2] + 1) if batch_first else h_n
    msg = hint_for(IO_BF, h_n_grows_with_batch_first)
    assert msg.endswith("h_n_shape 不对。想一想 batch_first 改变了哪些张量的布局，哪些没有改变。")
    assert "通过" in checks.check_rnn_io_shapes(h_n_grows_with_batch_first)
