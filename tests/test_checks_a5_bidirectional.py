"""rnnlab.checks.a5_bidirectional: correct styles pass, every Chinese hint is earned by the mistake it names,
a mistake without a hint of its own gets the generic message, and the expectations are torch's."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab import oracles, shapes
from rnnlab.checks import a5_bidirectional as checks
from rnnlab.checks.core import TORCH_HINTS, CheckFailed

from checktools import hint_for

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


# ---------------------------------------------------------------- test-side implementations

def param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0, **mistake):
    """A correct recurrent_param_shapes; each keyword switches on one classic mistake."""
    m = mistake.get
    if proj_size and mode != "LSTM" and not m("no_error"):
        if m("assert_error"):
            raise AssertionError("proj_size 只有 LSTM 支持")
        raise ValueError("" if m("bare_error") else "proj_size 只有 LSTM 支持")
    gates = dict(GATES, GRU=2) if m("gru_two") else GATES
    rows = gates[mode] * hidden_size
    h_out = proj_size or hidden_size
    D = 2 if bidirectional else 1
    out = {}
    for k in range(1 if m("one_layer") else num_layers):
        cols = input_size if (k == 0 or m("upper_input_size")) else (h_out if m("upper_one_direction") else D * h_out)
        if k and proj_size and m("upper_ignores_proj"):
            cols = D * hidden_size
        if k == 0 and m("first_hidden"):
            cols = hidden_size
        for s in ([f"_l{k}", f"_l{k}_reverse"][:1 if m("no_reverse") else D]):
            out["weight_ih" + s] = (cols, rows) if m("transposed") else (rows, cols)
            out["weight_hh" + s] = (rows, hidden_size if m("hh_ignores_proj") else h_out)
            if not m("no_bias"):
                out["bias_ih" + s] = (rows,)
                if not m("one_bias"):
                    out["bias_hh" + s] = (rows,)
            if proj_size and not m("no_hr"):
                out["weight_hr" + s] = (hidden_size, proj_size) if m("hr_transposed") else (proj_size, hidden_size)
            if m("hr_always") and not proj_size:
                out["weight_hr" + s] = (1, hidden_size)
    if m("wrong_names"):
        out = {n.replace("_l", "_layer"): v for n, v in out.items()}
    if m("lists"):
        out = {n: list(v) for n, v in out.items()}
    if m("int_bias"):
        out = {n: (v[0] if len(v) == 1 else v) for n, v in out.items()}
    if m("numpy_ints"):
        out = {n: tuple(np.int64(d) for d in v) for n, v in out.items()}
    if m("as_list"):
        return list(out.items())
    if m("builds_module"):
        kw = {"proj_size": proj_size} if proj_size else {}
        module = getattr(nn, mode)(input_size, hidden_size, num_layers, bidirectional=bidirectional, device="meta", **kw)
        return {n: tuple(p.shape) for n, p in module.named_parameters()}
    if m("shape_model"):
        cfg = shapes.Config(module=mode, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                            bidirectional=bidirectional, proj_size=proj_size)
        return shapes.describe(cfg).param_dict()
    return out


def shapes_with(**mistake):
    return lambda *a, **k: param_shapes(*a, **k, **mistake)


def num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0, **mistake):
    """A correct recurrent_num_params; each keyword switches on one classic mistake."""
    m = mistake.get
    if m("builds_module"):
        kw = {"proj_size": proj_size} if proj_size else {}
        module = getattr(nn, mode)(input_size, hidden_size, num_layers, bidirectional=bidirectional, bias=bias, **kw)
        return sum(p.numel() for p in module.parameters())
    found = param_shapes(mode, input_size, hidden_size, num_layers, bidirectional, proj_size,
                         **{k: v for k, v in mistake.items() if k in ("gru_two", "no_reverse", "upper_one_direction",
                                                                     "one_layer", "upper_input_size", "no_hr",
                                                                     "hh_ignores_proj", "one_bias", "no_error")})
    total = sum(math.prod(s) for n, s in found.items() if (bias or m("ignores_bias")) or not n.startswith("bias"))
    if m("forgets_bias") and bias:
        total -= sum(math.prod(s) for n, s in found.items() if n.startswith("bias"))
    if m("ignores_proj") and proj_size:
        total = num_params(mode, input_size, hidden_size, num_layers, bidirectional, bias)
    if m("ignores_bidirectional") and bidirectional:
        total = num_params(mode, input_size, hidden_size, num_layers, False, bias, proj_size)
    if m("off_by_one"):
        total += 1
    if m("as_float"):
        return float(total)
    if m("as_numpy"):
        return np.int64(total)
    if m("as_tensor"):
        return torch.tensor(total)
    return total


def count_with(**mistake):
    return lambda *a, **k: num_params(*a, **k, **mistake)


def final_states(output, hidden_size, batch_first=False, **mistake):
    """A correct final_states_from_output; each keyword switches on one classic mistake."""
    m = mistake.get
    H = hidden_size
    if batch_first and not m("ignore_batch_first"):
        if m("reshape_for_batch_first"):  # (B, T, 2H) -> (T, B, 2H) by regrouping, not by swapping
            output = output.reshape(output.shape[1], output.shape[0], -1)
        elif m("contiguous_view_for_batch_first"):
            output = output.contiguous().view(output.shape[1], output.shape[0], output.shape[2])
        elif m("view_for_batch_first"):  # torch's output is not contiguous here: view raises
            output = output.view(output.shape[1], output.shape[0], output.shape[2])
        else:
            output = output.transpose(0, 1)
    if m("always_batch_first"):
        output = output.transpose(0, 1)
    fwd_t, bwd_t = (-1, -1) if m("both_last") else (0, 0) if m("both_first") else (-1, 0)
    fwd, bwd = output[fwd_t, :, :H], output[bwd_t, :, H:]
    if m("halves_swapped"):
        fwd, bwd = output[fwd_t, :, H:], output[bwd_t, :, :H]
    if m("whole_steps"):
        fwd, bwd = output[-1], output[0]
    if m("off_by_a_bit"):
        fwd = fwd + 0.01
    if m("pair_swapped"):
        return bwd, fwd
    if m("one_value"):
        return torch.cat((fwd, bwd), dim=1)
    if m("as_lists"):
        return fwd.tolist(), bwd.tolist()
    return fwd, bwd


def states_with(**mistake):
    return lambda output, hidden_size, batch_first=False: final_states(output, hidden_size, batch_first, **mistake)


def manual(rnn, x, **mistake):
    """A correct manual_bidirectional_rnn; each keyword switches on one classic mistake."""
    m = mistake.get
    T, B, _ = x.shape
    H = rnn.hidden_size
    inp, finals = x, []
    for k in range(rnn.num_layers):
        halves = []
        for d, tag in enumerate(["", "_reverse"][:1 if m("no_reverse") else 2]):
            src = "" if m("reverse_forward_params") else tag
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{k}{src}"), getattr(rnn, f"weight_hh_l{k}{src}")
            b_ih, b_hh = getattr(rnn, f"bias_ih_l{k}{src}"), getattr(rnn, f"bias_hh_l{k}{src}")
            if m("no_bias_ih"):
                b_ih = None
            if m("no_bias_hh"):
                b_hh = None
            if m("no_reverse_bias") and d == 1:
                b_ih = b_hh = None
            if m("no_transpose_hh"):
                w_hh = w_hh.T
            seq = inp.flip(0) if d == 1 and not m("no_flip") and not m("no_flip_but_flip_back") else inp
            if d == 1 and m("no_flip_but_flip_back"):
                seq = inp
            h, outs = torch.zeros(B, H), []
            for t in range(T):
                h = torch.tanh(F.linear(seq[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh))
                outs.append(h)
            out = torch.stack(outs)
            if d == 1 and not m("reversed_order") and not m("no_flip"):
                out = out.flip(0)
            if d == 0 and m("forward_reversed"):
                out = out.flip(0)
            halves.append(out)
            finals.append(out[-1] if (m("hn_after_one_step") and d == 1) else h)
        if m("upper_forward_only") and k < rnn.num_layers - 1:
            inp = halves[0]
        elif m("upper_backward_first") and k < rnn.num_layers - 1:
            inp = torch.cat(halves[::-1], dim=-1)
        else:
            inp = torch.cat(halves, dim=-1)
    output, h_n = inp, torch.stack(finals)
    if m("stack_directions"):
        output = torch.stack(halves, dim=2)
    if m("hn_by_direction"):
        h_n = torch.cat((h_n[0::2], h_n[1::2]))
    if m("hn_grouped"):
        h_n = h_n.view(rnn.num_layers, 2, B, H)
    if m("off_by_a_bit"):
        output = output + 0.01
    if m("detach"):
        output = output.detach()
    if m("detach_hn"):
        h_n = h_n.detach()
    if m("edits_params"):
        with torch.no_grad():
            rnn.weight_hh_l0_reverse.mul_(2)
    if m("output_only"):
        return output
    return output, h_n


def manual_with(**mistake):
    if mistake.pop("both_reversed", False):  # both halves in reverse time order
        mistake.update(reversed_order=True, forward_reversed=True)
    return lambda rnn, x: manual(rnn, x, **mistake)


# ---------------------------------------------------------------- the expectations are torch's

def test_expectations_come_from_torch():
    assert checks.num_params_by_torch("LSTM", 50, 100, num_layers=2) == 141_600
    assert checks.num_params_by_torch("GRU", 10, 20) == 1920
    got = checks.param_shapes_by_torch("RNN", 100, 15, num_layers=2, bidirectional=True)
    assert got["weight_ih_l1_reverse"] == (15, 30) and len(got) == 16
    case = checks.make_states_case(1, "LSTM", 4, 3, 2, 5, num_layers=2, batch_first=True)
    f, b = checks.states_by_torch(case)
    assert torch.equal(f, case.h_n[-2]) and torch.equal(b, case.h_n[-1])


def test_reference_implementations_here_agree_with_torch():
    for mode, i, h, kw in checks.SHAPE_CASES:
        assert param_shapes(mode, i, h, **kw) == checks.param_shapes_by_torch(mode, i, h, **kw)
    for mode, i, h, kw in checks.COUNT_CASES:
        assert num_params(mode, i, h, **kw) == checks.num_params_by_torch(mode, i, h, **kw)


# ---------------------------------------------------------------- recurrent_param_shapes

def test_param_shapes_correct_styles_pass():
    assert "通过" in checks.check_recurrent_param_shapes(param_shapes)

    def torch_size_values(*a, **k):
        return {n: torch.Size(s) for n, s in param_shapes(*a, **k).items()}
    assert "通过" in checks.check_recurrent_param_shapes(torch_size_values)


@pytest.mark.parametrize("mistake, expected", [
    ("no_reverse", "缺少反向方向的参数"),
    ("upper_one_direction", "双向网络第 k≥1 层的输入是下面一层两个方向"),
    ("gru_two", "GRU 的权重和偏置按门块叠放"),
    ("one_bias", "缺少偏置"),
    ("no_bias", "缺少偏置"),
    ("no_hr", "还多一个投影矩阵 weight_hr_l{k}"),
    ("hr_always", "proj_size=0 表示没有投影"),
    ("hr_transposed", "行和列反了"),
    ("transposed", "行和列反了"),
    ("hh_ignores_proj", "weight_hh 乘的是它"),
    ("upper_ignores_proj", "下面一层每个方向给出 proj_size 维"),
    ("upper_input_size", "第 k≥1 层的输入是下面一层的输出，不是 x"),
    ("first_hidden", "weight_ih_l0 的列数是 input_size"),
    ("one_layer", "层号不对"),
    ("wrong_names", "参数名与 named_parameters() 给出的不一致"),
    ("lists", "是列表"),
    ("int_bias", "一维的形状要写成 (n,)"),
    ("numpy_ints", "由整数（int）组成"),
    ("as_list", "应当返回一个 dict"),
    ("no_error", "应当 raise ValueError"),
    ("assert_error", "实际抛出的是 AssertionError"),
    ("bare_error", "抛出了 ValueError，但没有说明"),
])
def test_each_param_shapes_mistake_gets_its_hint(mistake, expected):
    fn = shapes_with(**{mistake: True})
    if mistake in REFUSAL_MISTAKES:  # its own check and points: the shapes are right
        assert "通过" in checks.check_recurrent_param_shapes(fn)
        assert expected in hint_for(checks.check_recurrent_param_shapes_refuses_proj_size, fn)
    else:
        assert expected in hint_for(checks.check_recurrent_param_shapes, fn)
        assert "通过" in checks.check_recurrent_param_shapes_refuses_proj_size(fn)


REFUSAL_MISTAKES = ("no_error", "assert_error", "bare_error")


def test_param_shapes_hints_never_reveal_torchs_shapes():
    for mistake in ("gru_two", "upper_one_direction", "hh_ignores_proj", "transposed", "first_hidden"):
        msg = hint_for(checks.check_recurrent_param_shapes, shapes_with(**{mistake: True}))
        label, _, rest = msg.partition("：")
        wrong = rest.split(" 不对")[0]
        for mode, i, h, kw in checks.SHAPE_CASES:
            for shape in checks.param_shapes_by_torch(mode, i, h, **kw).values():
                if len(shape) == 2:
                    assert str(shape) not in rest.replace(wrong, "")


def test_asking_the_course_shape_model_or_torch_is_refused():
    """Asking torch (a meta-device module) or the course's own shape model (rnnlab.shapes, which
    the explorers use) is refused: the question is derived (issue 21, point 2). Both work again after."""
    assert "要你自己推导" in hint_for(checks.check_recurrent_param_shapes, shapes_with(shape_model=True))
    assert "要你自己推导" in hint_for(checks.check_recurrent_param_shapes, shapes_with(builds_module=True))
    assert "要你自己推导" in hint_for(checks.check_recurrent_num_params, count_with(builds_module=True))
    assert shapes.describe(shapes.Config(module="GRU")).param_dict()["weight_ih_l0"] == (300, 50)


def test_param_shapes_cases_try_every_setting():
    seen = {(m, kw.get("num_layers", 1) > 1, kw.get("bidirectional", False), kw.get("proj_size", 0) > 0)
            for m, _, _, kw in checks.SHAPE_CASES}
    assert {s[0] for s in seen} == {"RNN", "LSTM", "GRU"}
    assert {s[1] for s in seen} == {True, False} and {s[2] for s in seen} == {True, False}
    assert {s[3] for s in seen} == {True, False}
    assert any(not kw for *_, kw in checks.SHAPE_CASES)  # called with the defaults
    assert {m for m, *_ in checks.PROJ_ERROR_CASES} == {"RNN", "GRU"}


def test_param_shapes_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    assert "还没有实现" in hint_for(checks.check_recurrent_param_shapes, stub)


# ---------------------------------------------------------------- recurrent_num_params

def test_num_params_correct_styles_pass():
    assert "通过" in checks.check_recurrent_num_params(num_params)


@pytest.mark.parametrize("mistake, expected", [
    ("gru_two", "结果像是把门块数数错了。GRU"),
    ("one_bias", "只算了一个偏置"),
    ("forgets_bias", "偏置没有算进去"),
    ("ignores_bias", "bias=False 时模块没有偏置参数"),
    ("ignores_bidirectional", "结果像是单向网络的参数数"),
    ("no_reverse", "只数了前向方向"),
    ("upper_one_direction", "第 k≥1 层的 weight_ih 少算了一半"),
    ("one_layer", "结果像是只算了一层"),
    ("upper_input_size", "第 k≥1 层的输入是下面一层的输出，不是 x"),
    ("ignores_proj", "proj_size 被忽略了"),
    ("no_hr", "投影矩阵 weight_hr_l{k} 没有算进去"),
    ("as_float", "返回了浮点数"),
    ("as_numpy", "请返回 Python 的 int"),
    ("as_tensor", "返回的是张量"),
    ("no_error", "应当 raise ValueError"),
])
def test_each_num_params_mistake_gets_its_hint(mistake, expected):
    fn = count_with(**{mistake: True})
    if mistake in REFUSAL_MISTAKES:
        assert "通过" in checks.check_recurrent_num_params(fn)
        assert expected in hint_for(checks.check_recurrent_num_params_refuses_proj_size, fn)
    else:
        assert expected in hint_for(checks.check_recurrent_num_params, fn)


def test_num_params_unknown_mistake_gets_the_generic_message():
    msg = hint_for(checks.check_recurrent_num_params, count_with(off_by_one=True))
    assert "逐项数一数" in msg
    for specific in ("门块数数错", "偏置没有算进去", "单向网络", "只算了一层", "proj_size 被忽略", "只数了前向"):
        assert specific not in msg


def test_num_params_ambiguous_counts_name_no_mistake():
    for mode, i, h, kw in checks.COUNT_CASES:
        counts = [c for c, _ in checks._count_variants(mode, i, h, kw)]
        assert len(counts) == len(set(counts)), (mode, i, h, kw)


def test_num_params_cases_try_every_setting():
    seen = lambda f: {f(kw) for *_, kw in checks.COUNT_CASES}  # noqa: E731
    assert {m for m, *_ in checks.COUNT_CASES} == {"RNN", "LSTM", "GRU"}
    assert seen(lambda kw: kw.get("num_layers", 1) > 1) == {True, False}
    assert seen(lambda kw: kw.get("bidirectional", False)) == {True, False}
    assert seen(lambda kw: kw.get("bias", True)) == {True, False}
    assert seen(lambda kw: kw.get("proj_size", 0) > 0) == {True, False}
    assert {m for m, *_ in checks.COUNT_ERROR_CASES} == {"RNN", "GRU"}


# ---------------------------------------------------------------- final_states_from_output

def test_final_states_correct_styles_pass():
    assert "通过" in checks.check_final_states_from_output(final_states)

    def by_view(output, hidden_size, batch_first=False):
        seq = output.transpose(0, 1) if batch_first else output
        per_dir = seq.reshape(seq.shape[0], seq.shape[1], 2, hidden_size)
        return per_dir[-1, :, 0], per_dir[0, :, 1]
    assert "通过" in checks.check_final_states_from_output(by_view)


@pytest.mark.parametrize("mistake, expected", [
    ("both_last", "反向的最终隐状态不在最后一个时间步"),
    ("both_first", "前向的最终隐状态不在第 0 个时间步"),
    ("pair_swapped", "前向和反向弄反了"),
    ("halves_swapped", "两个方向在 output 最后一维里的位置弄反了"),
    ("ignore_batch_first", "batch_first=True 时 output 是 (batch, seq, 2×hidden_size)"),
    ("always_batch_first", "batch_first=False 时 output 是 (seq, batch, 2×hidden_size)"),
    ("whole_steps", "每个方向只占 output 最后一维的一半"),
    ("one_value", "二元组 (forward_last, backward_last)"),
    ("as_lists", "而不是张量"),
    ("reshape_for_batch_first", "要用 transpose(0, 1)（或 permute(1, 0, 2)），不能用 reshape 或 view"),
    ("contiguous_view_for_batch_first", "要用 transpose(0, 1)（或 permute(1, 0, 2)），不能用 reshape 或 view"),
    ("view_for_batch_first", TORCH_HINTS["view"][1]),
])
def test_each_final_states_mistake_gets_its_hint(mistake, expected):
    assert expected in hint_for(checks.check_final_states_from_output, states_with(**{mistake: True}))


STATES_MISTAKES = ("both_last", "both_first", "pair_swapped", "halves_swapped", "ignore_batch_first",
                   "always_batch_first", "whole_steps", "off_by_a_bit", "reshape_for_batch_first",
                   "contiguous_view_for_batch_first", "view_for_batch_first")


def test_reshape_instead_of_transpose_is_no_wrong_time_step():
    """reshape keeps the elements' order: output[t] after it is no time step, so no time step is named."""
    for mistake in ("reshape_for_batch_first", "contiguous_view_for_batch_first"):
        msg = hint_for(checks.check_final_states_from_output, states_with(**{mistake: True}))
        assert "batch_first=True" in msg.split("：")[0]  # the first batch_first case
        for wrong in ("想一想这个方向最后读到的是哪个时间步", "不在最后一个时间步", "不在第 0 个时间步", "弄反了"):
            assert wrong not in msg
    # A plain view of torch's (non-contiguous) output raises: the student's line, torch's error, the hint.
    msg = hint_for(checks.check_final_states_from_output, states_with(view_for_batch_first=True))
    assert "RuntimeError: view size is not compatible" in msg and "transpose / permute" in msg


def test_the_reshape_hint_is_earned_by_reshape_alone():
    for mistake in STATES_MISTAKES:
        msg = hint_for(checks.check_final_states_from_output, states_with(**{mistake: True}))
        assert ("不能用 reshape 或 view" in msg) == (mistake in ("reshape_for_batch_first",
                                                             "contiguous_view_for_batch_first")), mistake


def test_final_states_unknown_mistake_gets_the_generic_message():
    msg = hint_for(checks.check_final_states_from_output, states_with(off_by_a_bit=True))
    assert "形状对了" in msg and "想一想这个方向最后读到的是哪个时间步" in msg
    for specific in ("弄反了", "不在最后一个时间步", "不在第 0 个时间步"):
        assert specific not in msg


def test_final_states_cases_try_every_setting():
    cases = checks.states_cases()
    assert {c.mode for c in cases} == {"RNN", "GRU", "LSTM"}
    assert {c.batch_first for c in cases} == {True, False}
    assert {c.num_layers for c in cases} >= {1, 2, 3}
    assert any(c.defaults for c in cases)
    for c in cases:  # sizes that tell the layouts apart
        T, B = c.seq_batch
        assert len({T, B, c.hidden_size, 2 * c.hidden_size}) == 4


def test_final_states_not_implemented_is_reported():
    def stub(output, hidden_size, batch_first=False):
        raise NotImplementedError()
    assert "还没有实现" in hint_for(checks.check_final_states_from_output, stub)


# ---------------------------------------------------------------- manual_bidirectional_rnn

def flipping_style(rnn, x):
    """Another correct style: one nn.RNNCell per layer and direction sharing the parameters, torch.flip."""
    seq, finals = x, []
    for k in range(rnn.num_layers):
        halves = []
        for tag in ("", "_reverse"):
            cell = nn.RNNCell(seq.shape[-1], rnn.hidden_size)
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                setattr(cell, n, getattr(rnn, f"{n}_l{k}{tag}"))
            inputs = torch.flip(seq, [0]) if tag else seq
            h, outs = None, []
            for x_t in inputs:
                h = cell(x_t, h)
                outs.append(h)
            out = torch.stack(outs)
            halves.append(torch.flip(out, [0]) if tag else out)
            finals.append(h)
        seq = torch.cat(halves, dim=-1)
    return seq, torch.stack(finals)


@pytest.mark.parametrize("fn", [manual, flipping_style], ids=["loops", "cells_and_flip"])
def test_manual_correct_styles_pass(fn):
    assert "通过" in checks.check_manual_bidirectional_rnn(fn)


@pytest.mark.parametrize("mistake, expected", [
    ("reversed_order", "反向的输出还是按它处理的顺序"),
    ("both_reversed", "反向的输出还是按它处理的顺序"),
    ("no_flip", "反向方向要从最后一个时间步读到第 0 个"),
    ("no_flip_but_flip_back", "反向方向要从最后一个时间步读到第 0 个"),
    ("hn_after_one_step", "h_n 里反向的最终隐状态"),
    ("hn_by_direction", "h_n 的顺序不对：h_n 按层排列"),
    ("reverse_forward_params", "反向方向用的是前向的参数"),
    ("no_bias_ih", "bias_ih_l{k}（以及 bias_ih_l{k}_reverse）似乎没有加上"),
    ("no_bias_hh", "bias_hh_l{k}（以及 bias_hh_l{k}_reverse）似乎没有加上"),
    ("no_reverse_bias", "反向方向的偏置"),
    ("no_transpose_hh", "少了转置：PyTorch 计算的是 h @ weight_hh_l{k}.T"),
    ("upper_backward_first", "第 k≥1 层的输入连结顺序反了"),
    ("upper_forward_only", "一层的例子已经通过了"),
    ("no_reverse", "是不是漏了反向方向"),
    ("stack_directions", "用 torch.cat 在最后一维把两个方向连结起来"),
    ("hn_grouped", "h_n 是三维的"),
    ("detach", "output 与 rnn 的参数断开了"),
    ("detach_hn", "h_n 与 rnn 的参数断开了"),
    ("edits_params", "修改了 rnn 的参数"),
    ("output_only", "二元组 (output, h_n)"),
])
def test_each_manual_mistake_gets_its_hint(mistake, expected):
    assert expected in hint_for(checks.check_manual_bidirectional_rnn, manual_with(**{mistake: True}))


def test_backward_left_reversed_is_named_whether_or_not_the_forward_is_reversed_too():
    backward_only = hint_for(checks.check_manual_bidirectional_rnn, manual_with(reversed_order=True))
    both = hint_for(checks.check_manual_bidirectional_rnn, manual_with(both_reversed=True))
    assert checks.BACKWARD_LEFT_REVERSED in backward_only and checks.BACKWARD_LEFT_REVERSED in both
    assert "前向的输出也倒过来了" in both and "前向的输出也倒过来了" not in backward_only
    # The forward reversed alone is another mistake: neither hint, the generic message.
    msg = hint_for(checks.check_manual_bidirectional_rnn, manual_with(forward_reversed=True))
    assert "逐项检查" in msg and "反向的输出还是按它处理的顺序" not in msg and "前向的输出也倒过来了" not in msg


def test_both_biases_missing():
    msg = hint_for(checks.check_manual_bidirectional_rnn, manual_with(no_bias_ih=True, no_bias_hh=True))
    assert "偏置似乎都没有加上" in msg


def test_upper_layer_error_hint_replaces_the_transpose_hint():
    msg = hint_for(checks.check_manual_bidirectional_rnn, manual_with(upper_forward_only=True))
    assert "x @ W.T" not in msg and "2×hidden_size" in msg


def test_manual_unknown_mistake_gets_the_generic_message():
    msg = hint_for(checks.check_manual_bidirectional_rnn, manual_with(off_by_a_bit=True))
    assert "数值不对" in msg and "逐项检查" in msg
    for specific in ("偏置", "转置", "顺序", "前向的参数", "翻转"):
        assert specific not in msg.split("逐项检查")[0]
    # Two mistakes at once match no single variant: generic, not a wrong diagnosis.
    msg = hint_for(checks.check_manual_bidirectional_rnn, manual_with(no_flip=True, no_bias_ih=True))
    assert "逐项检查" in msg and "结果不对" not in msg


def test_calling_the_module_or_the_fused_function_is_refused():
    assert checks.NO_CALL in hint_for(checks.check_manual_bidirectional_rnn, lambda rnn, x: rnn(x))
    assert checks.NO_FUSED in hint_for(checks.check_manual_bidirectional_rnn, lambda rnn, x: nn.RNN.forward(rnn, x))

    def own_module(rnn, x):
        twin = nn.RNN(rnn.input_size, rnn.hidden_size, rnn.num_layers, bidirectional=True)
        twin.load_state_dict(rnn.state_dict())
        return twin(x)
    assert checks.NO_FUSED in hint_for(checks.check_manual_bidirectional_rnn, own_module)

    def swallows(rnn, x):
        try:
            return rnn(x)
        except Exception:
            return manual(rnn, x)
    assert checks.NO_CALL in hint_for(checks.check_manual_bidirectional_rnn, swallows)
    assert "rnn_tanh" not in vars(torch._VF)
    nn.RNN(2, 3, bidirectional=True)(torch.zeros(4, 1, 2))


def test_manual_not_implemented_is_reported():
    def stub(rnn, x):
        raise NotImplementedError()
    assert "还没有实现" in hint_for(checks.check_manual_bidirectional_rnn, stub)


def test_manual_visible_cases_try_one_and_more_layers():
    cases = checks.bi_cases()
    assert cases[0].rnn.num_layers == 1 and {c.rnn.num_layers for c in cases} >= {1, 2, 3}
    assert all(c.rnn.bidirectional and c.rnn.bias and not c.rnn.batch_first for c in cases)
    for c in cases:
        T, B = c.x.shape[:2]
        assert len({T, B, c.rnn.num_layers, c.rnn.hidden_size}) == 4


def test_the_module_passed_in_is_left_untouched():
    case = checks.make_bi_case(1, 3, 2, 2, 3, num_layers=2)
    before = {n: p.detach().clone() for n, p in case.rnn.named_parameters()}
    with pytest.raises(CheckFailed, match="修改了 rnn 的参数"):
        checks.run_manual_bidirectional(manual_with(edits_params=True), case.rnn, case.x)
    assert all(torch.equal(p.detach(), before[n]) for n, p in case.rnn.named_parameters())
    assert "forward" not in vars(case.rnn)


def test_the_checks_leave_the_global_rng_alone():
    torch.manual_seed(123)
    a = torch.rand(1)
    torch.manual_seed(123)
    checks.check_manual_bidirectional_rnn(manual)
    checks.check_final_states_from_output(final_states)
    checks.check_recurrent_param_shapes(param_shapes)
    checks.check_recurrent_num_params(num_params)
    assert torch.equal(torch.rand(1), a)


def test_comparisons_survive_monkeypatched_torch(monkeypatch):
    def sneaky(rnn, x):
        monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
        monkeypatch.setattr(torch, "equal", lambda *a, **k: True)
        monkeypatch.setattr(torch.Tensor, "__eq__", lambda *a, **k: True)
        out, h_n = manual(rnn, x)
        return torch.zeros_like(out), torch.zeros_like(h_n)
    with pytest.raises(CheckFailed):
        checks.check_manual_bidirectional_rnn(sneaky)


# ---------------------------------------------------------------- derive, don't ask (issue 21, point 2)

def _module(mode, i, h, num_layers=1, bidirectional=False, proj_size=0, bias=True, device=None):
    kw = {"proj_size": proj_size} if proj_size else {}
    return getattr(nn, mode)(i, h, num_layers, bias=bias, bidirectional=bidirectional, device=device, **kw)


SHAPES_ASK_TORCH = {
    "meta_module": lambda mode, i, h, num_layers=1, bidirectional=False, proj_size=0: {
        n: tuple(p.shape) for n, p in _module(mode, i, h, num_layers, bidirectional, proj_size,
                                              device="meta").named_parameters()},
    "real_module": lambda mode, i, h, num_layers=1, bidirectional=False, proj_size=0: {
        n: tuple(p.shape) for n, p in _module(mode, i, h, num_layers, bidirectional, proj_size).named_parameters()},
    "oracle": lambda mode, i, h, num_layers=1, bidirectional=False, proj_size=0: checks.param_shapes_by_torch(
        mode, i, h, num_layers, bidirectional, proj_size),
}
COUNT_ASKS_TORCH = {
    "meta_module": lambda mode, i, h, num_layers=1, bidirectional=False, bias=True, proj_size=0: sum(
        p.numel() for p in _module(mode, i, h, num_layers, bidirectional, proj_size, bias, device="meta").parameters()),
    "real_module": lambda mode, i, h, num_layers=1, bidirectional=False, bias=True, proj_size=0: sum(
        p.numel() for p in _module(mode, i, h, num_layers, bidirectional, proj_size, bias).parameters()),
    "oracle": lambda mode, i, h, num_layers=1, bidirectional=False, bias=True, proj_size=0: checks.num_params_by_torch(
        mode, i, h, num_layers, bidirectional, bias, proj_size),
}


@pytest.mark.parametrize("name", sorted(SHAPES_ASK_TORCH))
def test_recurrent_param_shapes_asked_of_torch_is_refused_in_chinese(name):
    for check in (checks.check_recurrent_param_shapes, checks.check_recurrent_param_shapes_refuses_proj_size):
        msg = hint_for(check, SHAPES_ASK_TORCH[name])
        assert msg.startswith("recurrent_param_shapes 要你自己推导") and msg.count("。") == 1, msg
    assert nn.LSTM(3, 4, bidirectional=True).weight_ih_l0_reverse.shape == (16, 3)  # lifted after the check


@pytest.mark.parametrize("name", sorted(COUNT_ASKS_TORCH))
def test_recurrent_num_params_asked_of_torch_is_refused_in_chinese(name):
    for check in (checks.check_recurrent_num_params, checks.check_recurrent_num_params_refuses_proj_size):
        msg = hint_for(check, COUNT_ASKS_TORCH[name])
        assert msg.startswith("recurrent_num_params 要你自己推导") and msg.count("。") == 1, msg
    assert checks.num_params_by_torch("RNN", 3, 4) == 4 * (3 + 4 + 2)  # the oracle answers again after the check


def test_manual_bidirectional_rnn_through_the_aten_kernel_is_refused():
    def aten(rnn, x):
        h0 = torch.zeros(2 * rnn.num_layers, x.shape[1], rnn.hidden_size)
        return torch.ops.aten.rnn_tanh.input(x, h0, list(rnn.parameters()), True, rnn.num_layers, 0.0, False, True,
                                             False)
    assert hint_for(checks.check_manual_bidirectional_rnn, aten) == checks.NO_FUSED
    assert aten(nn.RNN(3, 4, bidirectional=True), torch.randn(2, 1, 3))[0].shape == (2, 1, 8)  # lifted after
