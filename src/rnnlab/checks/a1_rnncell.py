"""Visible checks of assignment a1_rnncell (rnn_cell_step, run_rnn_cell, rnn_cell_param_shapes).

Every expectation is torch's own answer (rnnlab.oracles), computed before the student's
function runs. Diagnosis asks which plausible mistake the student's output matches: each
"variant" is torch's answer to a slightly different question (a zeroed bias, a transposed
weight, a zero hidden state...), so no formula of the exercise is written here.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab import oracles
from rnnlab.checks.core import (
    call, check_is_tensor, check_shape, check_values, close, describe, fail, shape_of, unpack_pair,
)


def _step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    with torch.no_grad():
        return oracles.rnn_cell_from(w_ih, w_hh, b_ih, b_hh, nonlinearity)(x, h)


def check_rnn_cell_step(rnn_cell_step) -> str:
    """Visible check for `rnn_cell_step`: input 3, hidden 4, batch 2.

    Localises the usual mistakes: a missing bias, a missing transpose, an ignored h_prev
    or nonlinearity. Returns a short success message.
    """
    name = "rnn_cell_step"
    g = oracles.seeded(2024)
    batch, inp, hid = 2, 3, 4
    x, h = oracles.randn(g, batch, inp), oracles.randn(g, batch, hid)
    w_ih, w_hh = oracles.randn(g, hid, inp, scale=0.5), oracles.randn(g, hid, hid, scale=0.5)
    b_ih, b_hh = oracles.randn(g, hid), oracles.randn(g, hid)
    args = (x, h, w_ih, w_hh)

    want = _step(*args, b_ih, b_hh)
    variants = [
        (_step(*args, None, b_hh), "bias_ih 似乎没有加上。"),
        (_step(*args, b_ih, None), "bias_hh 似乎没有加上。"),
        (_step(*args, None, None), "两个偏置 bias_ih、bias_hh 似乎都没有加上。"),
        (_step(x, h, w_ih, w_hh.T, b_ih, b_hh),
         "h_prev 与 weight_hh 相乘时少了转置：PyTorch 计算的是 h_prev @ weight_hh.T。"),
        (_step(x, torch.zeros_like(h), w_ih, w_hh, b_ih, b_hh),
         "结果像是没有用到 h_prev（上一步的隐状态）：h_prev @ weight_hh.T 这一项去哪儿了？"),
        (_step(*args, b_ih, b_hh, "relu"), "默认的 nonlinearity 是 \"tanh\"，结果却像是用了 relu。"),
        (torch.atanh(want.clamp(-1 + 1e-7, 1 - 1e-7)), "结果像是少了非线性激活：求和之后还要经过 tanh（或 relu）。"),
    ]
    # Optional arguments must be honoured, not ignored.
    options = [
        ((b_ih, b_hh), {}, "", ""),
        ((None, None), {}, "bias_ih=None, bias_hh=None", "偏置为 None 表示没有这一项偏置，不要加上它。"),
        ((b_ih, None), {}, "bias_hh=None", "偏置为 None 表示没有这一项偏置，不要加上它。"),
        ((b_ih, b_hh), {"nonlinearity": "relu"}, "nonlinearity=\"relu\"", "nonlinearity=\"relu\" 时应当用 relu 代替 tanh。"),
    ]
    expected = [_step(*args, *biases, kw.get("nonlinearity", "tanh")) for biases, kw, _, _ in options]

    for (biases, kw, label, hint), exp in zip(options, expected):
        what = f"{name}(..., {label}) 的返回值" if label else f"{name} 的返回值"
        fresh = [a.clone() for a in args] + [b if b is None else b.clone() for b in biases]
        out = check_is_tensor(call(rnn_cell_step, name, *fresh, **kw), name)
        check_shape(out, (batch, hid), what, "批量大小, hidden_size")
        if not label and not close(out, exp):
            for variant, diagnosis in variants:
                if close(out, variant, atol=1e-4):
                    fail(f"{name} 的数值不对：{diagnosis}")
            hint = "逐项检查：x_t 与 weight_ih、h_prev 与 weight_hh 的乘法（注意转置），两个偏置，以及激活函数。"
        check_values(out, exp, what, hint)
    return "rnn_cell_step 通过了可见检查。"


def check_run_rnn_cell(run_rnn_cell) -> str:
    """Visible check for `run_rnn_cell`: seq 4, batch 2, input 3, hidden 5."""
    name = "run_rnn_cell"
    with torch.random.fork_rng(devices=[]):  # the cell's initialisation, without touching the student's RNG
        torch.manual_seed(7)
        cell = nn.RNNCell(3, 5)
    g = oracles.seeded(11)
    seq, batch = 4, 2
    x = oracles.randn(g, seq, batch, 3)
    h0 = oracles.randn(g, batch, 5)

    # Every expectation before the student's code runs.
    want_out, want_last = oracles.run_cell(cell, x, h0)
    want0, _ = oracles.run_cell(cell, x)
    shifted = torch.cat([h0.unsqueeze(0), want_out[:-1]])

    outputs, h_last = unpack_pair(call(run_rnn_cell, name, cell, x.clone(), h0.clone()), name)
    outputs = check_is_tensor(outputs, "outputs")
    h_last = check_is_tensor(h_last, "h_last")
    if shape_of(outputs) == (seq + 1, batch, 5):
        fail("outputs 多了一个时间步：outputs[t] 应当是读入 x[t] 之后的隐状态，不要把 h0 也放进去。")
    check_shape(outputs, shape_of(want_out), "outputs", "时间步, 批量大小, hidden_size")
    if not close(outputs, want_out):
        if close(outputs, shifted):
            fail("outputs 错开了一个时间步：outputs[t] 应当是读入 x[t] 之后的隐状态，而不是之前的。")
        if close(outputs, want0):
            fail("outputs 像是从全零的隐状态开始的：传入的 h0 没有被使用。")
        check_values(outputs, want_out, "outputs", "检查循环：每一步把 x[t] 和上一步的隐状态交给 cell。")
    check_shape(h_last, shape_of(want_last), "h_last", "批量大小, hidden_size")
    check_values(h_last, want_last, "h_last", "h_last 应当是最后一个时间步之后的隐状态。")

    outputs0, h_last0 = unpack_pair(call(run_rnn_cell, name, cell, x.clone()), name)
    outputs0 = check_is_tensor(outputs0, "outputs")
    check_values(outputs0, want0, "h0=None 时的 outputs",
                 "h0 为 None 时应当从全零的隐状态开始（torch.zeros，形状 (批量大小, hidden_size)）。")
    check_values(check_is_tensor(h_last0, "h_last"), want0[-1], "h0=None 时的 h_last")
    return "run_rnn_cell 通过了可见检查。"


def check_rnn_cell_param_shapes(rnn_cell_param_shapes) -> str:
    """Visible check for `rnn_cell_param_shapes` with input 6, hidden 9 (never prints the answer).

    The expectation is torch's nn.RNNCell built on the meta device: a student can ask torch
    the same question, and the exercise is to know the answer, not to hide it.
    """
    name = "rnn_cell_param_shapes"
    inp, hid = 6, 9
    want = oracles.param_shapes("RNNCell", inp, hid)
    result = call(rnn_cell_param_shapes, name, inp, hid)
    if not isinstance(result, dict):
        fail(f"{name} 应当返回 dict（参数名 -> 形状元组），实际返回的是 {describe(result)}。")
    missing = [k for k in want if k not in result]
    extra = [k for k in result if k not in want]
    if missing or extra:
        fail(
            f"{name} 的键不对：" + (f"缺少 {missing}；" if missing else "") + (f"多出 {extra}；" if extra else "")
            + "键名应与 nn.RNNCell(...).named_parameters() 给出的名字一致。"
        )
    for key in want:
        got = result[key]
        if not isinstance(got, tuple) or not all(type(d) is int for d in got):
            fail(f"{key} 的形状应当是由整数组成的元组（例如 (3, 5)），实际是 {describe(got)}。")
        got_t = tuple(got)
        if got_t == want[key]:
            continue
        if got_t[::-1] == want[key]:
            fail(f"{key} 的两个维度反了：PyTorch 的权重按 (输出, 输入) 存放。")
        if key.startswith("bias") and len(got_t) != 1:
            fail(f"{key} 应当是一维的：每个隐藏单元一个偏置。")
        fail(f"{key} 的形状不对（用 input_size={inp}、hidden_size={hid} 测试）。想一想它把什么映射到什么。")
    return "rnn_cell_param_shapes 通过了可见检查。"
