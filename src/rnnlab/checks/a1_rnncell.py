"""Visible checks of assignment a1_rnncell (rnn_cell_step, run_rnn_cell, rnn_cell_param_shapes).

Every expectation is torch's own answer (rnnlab.oracles), computed before the student's
function runs. Diagnosis asks which plausible mistake the student's output matches: each
"variant" is torch's answer to a slightly different question (a zeroed bias, a transposed
weight, a zero hidden state...), so no formula of the exercise is written here. A hint that
names a mistake is given only when the output matches that mistake; any other wrong output
gets the generic hint of its function.

Each contract item has its own check (and its own points in the assignment): rnn_cell_step's
default call, None biases and relu; run_rnn_cell's main case (h0 given), h0=None, any cell
(relu, bias=False) and the gradient. An item's check that sees a wrong result first asks
whether the main case is right, and if not says to fix that first.

Every Chinese message is in HINTS; tests/test_checks_a1_rnncell.py feeds each one's mistake.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab import oracles
from rnnlab.checks.core import CheckFailed, changed_input, check_dtype, fresh_torch_state
from rnnlab.checks.core import (
    call, check_is_tensor, check_shape, check_values, close, derive, describe, fail, shape_of, unpack_pair,
)

HINTS = {
    # rnn_cell_step, all arguments given
    "no_bias_ih": "bias_ih 似乎没有加上。",
    "no_bias_hh": "bias_hh 似乎没有加上。",
    "no_biases": "两个偏置 bias_ih、bias_hh 似乎都没有加上。",
    "no_transpose_hh": "h_prev 与 weight_hh 相乘时少了转置：PyTorch 计算的是 h_prev @ weight_hh.T。",
    "ignores_h_prev": "结果像是没有用到 h_prev（上一步的隐状态）：h_prev @ weight_hh.T 这一项去哪儿了？",
    "relu_by_default": "默认的 nonlinearity 是 \"tanh\"，结果却像是用了 relu。",
    "sigmoid": "结果像是用了 sigmoid：RNN 的激活函数是 tanh（nonlinearity=\"relu\" 时是 relu）。",
    "no_activation": "结果像是少了非线性激活：求和之后还要经过 tanh（或 relu）。",
    # rnn_cell_step, optional arguments
    "dropped_given_bias": "{none}=None 时，给定的 {given} 却没有加上：两个偏置要分别判断是否为 None，"
                          "一个是 None 不影响另一个。",
    "ignores_relu": "nonlinearity=\"relu\" 时应当用 relu 代替 tanh。",
    "step_modifies_input": "rnn_cell_step 原地修改了传入的 {arg}（调用者的张量被改掉了）：b = {arg} 并不复制，"
                           "之后的 b += …、add_ 改的就是 {arg}。用不改动输入的写法算出新的张量。",
    "step_generic": "逐项检查：x_t 与 weight_ih、h_prev 与 weight_hh 的乘法（注意转置），"
                    "两个偏置（None 表示没有这一项），以及激活函数。",
    "step_core_first": "默认调用（两个偏置都给定、nonlinearity=\"tanh\"）的结果就已经不对了："
                       "先按上面「可见检查：rnn_cell_step」那一格的提示把它改对，再看这一项。",
    # run_rnn_cell
    "includes_h0": "outputs 多了一个时间步：outputs[t] 应当是读入 x[t] 之后的隐状态，不要把 h0 也放进去。",
    "shifted": "outputs 错开了一个时间步：outputs[t] 应当是读入 x[t] 之后的隐状态，而不是之前的。",
    "ignores_h0": "outputs 像是从全零的隐状态开始的：传入的 h0 没有被使用。",
    "default_h0": "h0 为 None 时应当从全零的隐状态开始（torch.zeros，形状 (批量大小, hidden_size)）。",
    "h_last": "h_last 应当是最后一个时间步之后的隐状态。",
    "run_ignores_nonlinearity": "这个单元的 nonlinearity 是 \"relu\"，outputs 却像是用 tanh 算的："
                                "循环里调用自己的 rnn_cell_step 时，要传入 nonlinearity=cell.nonlinearity"
                                "（或者直接调用 cell(x[t], h)）。",
    "run_detached": "outputs 与 cell 的参数断开了，梯度传不回去：是否用了 .detach()、.data 或 torch.no_grad()？",
    "run_truncated": "outputs 对 weight_hh 的梯度不对：隐状态在时间步之间被截断了（对 h 用了 .detach() 或 .data？）。"
                     "每一步要直接使用上一步返回的 h，梯度才能沿着整个循环传回去。",
    "run_grad_generic": "outputs 的数值对了，梯度却与 PyTorch 的不一致：梯度要能沿着整个循环传回 cell 的参数。",
    "run_generic": "检查循环：每一步把 x[t] 和上一步的隐状态交给 cell。",
    "run_core_first": "h0 给定时（tanh、有偏置的单元）的 outputs 就已经不对了："
                      "先按上面「可见检查：run_rnn_cell」那一格的提示把它改对，再看这一项。",
    # rnn_cell_param_shapes
    "shapes_not_dict": "{name} 应当返回 dict（参数名 -> 形状元组），实际返回的是 {got}。",
    "shapes_keys": "{name} 的键不对：{detail}键名应与 nn.RNNCell(...).named_parameters() 给出的名字一致。",
    "shape_is_int": "{key} 的形状是整数 {got}，不是元组：(n) 只是加了括号的整数 n，只有一个元素的元组要写逗号：(n,)。",
    "shape_not_tuple": "{key} 的形状应当是由整数组成的元组（例如 (3, 5)），实际是 {got}。",
    "shape_reversed": "{key} 的两个维度反了：PyTorch 的权重按 (输出, 输入) 存放。",
    "bias_not_1d": "{key} 应当是一维的：每个隐藏单元一个偏置。",
    "shape_generic": "{key} 的形状不对（用 input_size={inp}、hidden_size={hid} 测试）。想一想它把什么映射到什么。",
}


def _step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    with torch.no_grad():
        return oracles.rnn_cell_from(w_ih, w_hh, b_ih, b_hh, nonlinearity)(x, h)


def _step_mistakes(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity, want):
    """(torch's answer with one mistake made, the hint naming it) for one call of rnn_cell_step."""
    args = (x, h, w_ih, w_hh)
    if b_ih is not None and b_hh is not None and nonlinearity == "tanh":  # the default call
        return [
            (_step(*args, None, b_hh), HINTS["no_bias_ih"]),
            (_step(*args, b_ih, None), HINTS["no_bias_hh"]),
            (_step(*args, None, None), HINTS["no_biases"]),
            (_step(x, h, w_ih, w_hh.T, b_ih, b_hh), HINTS["no_transpose_hh"]),
            (_step(x, torch.zeros_like(h), w_ih, w_hh, b_ih, b_hh), HINTS["ignores_h_prev"]),
            (_step(*args, b_ih, b_hh, "relu"), HINTS["relu_by_default"]),
            (torch.sigmoid(torch.atanh(want.clamp(-1 + 1e-7, 1 - 1e-7))), HINTS["sigmoid"]),
            (torch.atanh(want.clamp(-1 + 1e-7, 1 - 1e-7)), HINTS["no_activation"]),
        ]
    if nonlinearity == "relu":
        return [(_step(*args, b_ih, b_hh, "tanh"), HINTS["ignores_relu"])]
    if (b_ih is None) != (b_hh is None):  # one bias given: it must still be added
        none, given = ("bias_hh", "bias_ih") if b_hh is None else ("bias_ih", "bias_hh")
        return [(_step(*args, None, None), HINTS["dropped_given_bias"].format(none=none, given=given))]
    return []


STEP_ARGS = ("x_t", "h_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh")

# The calls of rnn_cell_step's visible checks: (label, which biases are given, nonlinearity).
# Each contract item has its own check (and its own points): the default call, None biases, relu.
STEP_DEFAULT = ("", "both", "tanh")
STEP_BIAS_NONE = [
    ("bias_ih=None, bias_hh=None", "none", "tanh"),
    ("bias_hh=None", "ih", "tanh"),
    ("bias_ih=None", "hh", "tanh"),
]
STEP_RELU = [("nonlinearity=\"relu\"", "both", "relu")]


def _step_plans(calls):
    """(args, batch, hidden, [(label, biases, nonlinearity, want, mistakes)]) for the default call
    followed by `calls`: every expectation and diagnosis before the student's code runs."""
    g = oracles.seeded(2024)
    batch, inp, hid = 2, 3, 4
    x, h = oracles.randn(g, batch, inp), oracles.randn(g, batch, hid)
    w_ih, w_hh = oracles.randn(g, hid, inp, scale=0.5), oracles.randn(g, hid, hid, scale=0.5)
    b_ih, b_hh = oracles.randn(g, hid), oracles.randn(g, hid)
    args = (x, h, w_ih, w_hh)
    given = {"both": (b_ih, b_hh), "none": (None, None), "ih": (b_ih, None), "hh": (None, b_hh)}
    plans = []
    with torch.random.fork_rng(devices=[]):  # nn.RNNCell's initialisation: leave the student's RNG alone
        for label, which, nonlinearity in [STEP_DEFAULT, *calls]:
            biases = given[which]
            want = _step(*args, *biases, nonlinearity)
            plans.append((label, biases, nonlinearity, want, _step_mistakes(*args, *biases, nonlinearity, want)))
    return args, batch, hid, plans


def _call_step(rnn_cell_step, args, plan):
    """The student's h_t for one planned call; fails when it is no tensor or changed an input."""
    __tracebackhide__ = True
    name = "rnn_cell_step"
    label, biases, nonlinearity = plan[:3]
    what = f"{name}(..., {label}) 的返回值" if label else f"{name} 的返回值"
    kwargs = {"nonlinearity": nonlinearity} if label.startswith("nonlinearity") else {}
    given = [*args, *biases]
    fresh = [a if a is None else a.clone() for a in given]
    out = check_is_tensor(call(rnn_cell_step, name, *fresh, **kwargs), name)
    arg = changed_input(STEP_ARGS, fresh, given)
    if arg:
        fail(f"{what}：" + HINTS["step_modifies_input"].format(arg=arg))
    return what, out


def _step_default_right(rnn_cell_step, args, plan) -> bool:
    """Whether the student's default call (both biases, tanh) gives torch's answer."""
    try:
        _, out = _call_step(rnn_cell_step, args, plan)
    except CheckFailed:
        return False
    return close(out, plan[3])


def _check_step_calls(rnn_cell_step, calls) -> None:
    """The default call alone (calls=[]), or the calls of one contract item: a wrong result there
    first asks whether the default call is right (else that is the mistake to fix first)."""
    __tracebackhide__ = True
    args, batch, hid, (default, *items) = _step_plans(calls)
    for plan in items or [default]:
        label, biases, nonlinearity, want, mistakes = plan
        what, out = _call_step(rnn_cell_step, args, plan)
        check_shape(out, (batch, hid), what, "批量大小, hidden_size")
        if not close(out, want):
            # A contract item's mistake is named only once the default call is right: a loop that adds
            # no bias at all would otherwise be told it mishandles None.
            if items and not _step_default_right(rnn_cell_step, args, default):
                fail(f"{what}数值不对：" + HINTS["step_core_first"])
            for variant, hint in mistakes:
                if close(out, variant, atol=1e-4):
                    fail(f"{what}数值不对：{hint}")
        check_values(out, want, what, HINTS["step_generic"])


@fresh_torch_state
def check_rnn_cell_step(rnn_cell_step) -> str:
    """Visible check for `rnn_cell_step`'s default call: input 3, hidden 4, batch 2, both biases, tanh.

    Localises the usual mistakes. None biases and relu have their own checks (and points).
    """
    __tracebackhide__ = True  # IPython and pytest leave this frame out of the student's traceback
    _check_step_calls(rnn_cell_step, [])
    return "rnn_cell_step 通过了可见检查。"


@fresh_torch_state
def check_rnn_cell_step_bias_none(rnn_cell_step) -> str:
    """Visible check of one contract item: bias_ih and/or bias_hh given as None (no such term)."""
    __tracebackhide__ = True
    _check_step_calls(rnn_cell_step, STEP_BIAS_NONE)
    return "rnn_cell_step 通过了可见检查（偏置为 None）。"


@fresh_torch_state
def check_rnn_cell_step_relu(rnn_cell_step) -> str:
    """Visible check of one contract item: nonlinearity="relu"."""
    __tracebackhide__ = True
    _check_step_calls(rnn_cell_step, STEP_RELU)
    return "rnn_cell_step 通过了可见检查（nonlinearity=\"relu\"）。"


def _filled_cell(g, **kwargs) -> nn.RNNCell:
    return oracles.fill_parameters(nn.RNNCell(3, 5, **kwargs), g)


def _gradients(cell: nn.RNNCell, x: torch.Tensor):
    """outputs from zeros, d outputs.sum() / d weight_hh, and the same gradient when the state is
    cut (detached) between time steps; all computed by torch, before any student code runs."""
    module = oracles.module_like(cell)
    with torch.enable_grad():
        outputs, _ = module(x)
        outputs.sum().backward()
    full = module.weight_hh_l0.grad.detach().clone()
    # Cut between steps = every step fed the true previous state as a constant: one batched call.
    seq, batch, _ = x.shape
    prev = torch.cat([torch.zeros(1, batch, cell.hidden_size), outputs.detach()[:-1]])
    step = oracles.rnn_cell_from(cell.weight_ih.detach(), cell.weight_hh.detach(),
                                 cell.bias_ih.detach(), cell.bias_hh.detach(), cell.nonlinearity)
    with torch.enable_grad():
        step(x.reshape(seq * batch, -1), prev.reshape(seq * batch, -1)).sum().backward()
    return outputs.detach(), full, step.weight_hh.grad.detach().clone()


def _run_case():
    """The visible checks' cells, inputs and every expectation (seq 4, batch 2, input 3, hidden 5).

    The main check gives a random h0; the h0=None check gives none; the other items (a relu cell,
    a bias=False cell, the gradient) give an all-zero h0, so that a mistake about h0 costs only
    the points of h0's own checks.
    """
    torch.manual_seed(7)
    cell = nn.RNNCell(3, 5)
    g = oracles.seeded(11)
    seq, batch = 4, 2
    x = oracles.randn(g, seq, batch, 3)
    h0 = oracles.randn(g, batch, 5)
    zeros = torch.zeros(batch, 5)
    relu_cell = _filled_cell(g, nonlinearity="relu")
    bare_cell = _filled_cell(g, bias=False)
    grad_cell = _filled_cell(g)
    want_out, want_last = oracles.run_cell(cell, x, h0)
    want0, _ = oracles.run_cell(cell, x)
    relu_as_tanh, _ = oracles.run_cell(
        oracles.rnn_cell_from(relu_cell.weight_ih, relu_cell.weight_hh, relu_cell.bias_ih, relu_cell.bias_hh), x, zeros)
    return dict(
        cell=cell, relu_cell=relu_cell, bare_cell=bare_cell, grad_cell=grad_cell, x=x, h0=h0, zeros=zeros,
        want_out=want_out, want_last=want_last, want0=want0,
        shifted=torch.cat([h0.unsqueeze(0), want_out[:-1]]),
        want_relu=oracles.run_cell(relu_cell, x, zeros), relu_as_tanh=relu_as_tanh,
        want_bare=oracles.run_cell(bare_cell, x, zeros), grads=_gradients(grad_cell, x),
    )


def _prepared_run(run_rnn_cell):
    """(case, run): every expectation computed first (torch's initialisations leave the student's RNG
    alone), and run(cell, *state, label=...) -> (outputs, h_last) of the student's function."""
    __tracebackhide__ = True
    with torch.random.fork_rng(devices=[]):
        case = _run_case()
    name = "run_rnn_cell"

    def run(cell_, *state, label=""):
        __tracebackhide__ = True
        try:
            result = unpack_pair(call(run_rnn_cell, name, cell_, case["x"].clone(), *(s.clone() for s in state)), name)
        except CheckFailed as e:
            if not label:
                raise
            fail(f"{e}\n（出错的这一例：{label}）")
        return check_is_tensor(result[0], "outputs"), check_is_tensor(result[1], "h_last")
    return case, run


def _run_main_right(case, run) -> bool:
    """Whether the student's loop gives torch's outputs for the main case (tanh cell, h0 given)."""
    try:
        outputs, _ = run(case["cell"], case["h0"])
    except CheckFailed:
        return False
    return close(outputs, case["want_out"])


def _check_item_values(value, want, what, case, run, hint=HINTS["run_generic"]) -> None:
    """An item's values: when wrong, first ask whether the main case is right (else fix that first)."""
    __tracebackhide__ = True
    check_shape(value, shape_of(want), what, "时间步, 批量大小, hidden_size" if len(want.shape) == 3 else "")
    if not close(value, want) and not _run_main_right(case, run):
        fail(f"{what}：形状对了，但数值不对。" + HINTS["run_core_first"])
    check_values(value, want, what, hint)


@fresh_torch_state
def check_run_rnn_cell(run_rnn_cell) -> str:
    """Visible check for `run_rnn_cell`'s main case: a tanh cell with biases, h0 given (seq 4, batch 2,
    input 3, hidden 5). h0=None, other cells and the gradient have their own checks (and points)."""
    __tracebackhide__ = True
    case, run = _prepared_run(run_rnn_cell)
    x, h0, cell = case["x"], case["h0"], case["cell"]
    seq, batch = x.shape[:2]
    want_out, want_last, want0 = case["want_out"], case["want_last"], case["want0"]

    outputs, h_last = run(cell, h0)
    if shape_of(outputs) == (seq + 1, batch, 5):
        fail(HINTS["includes_h0"])
    check_shape(outputs, shape_of(want_out), "outputs", "时间步, 批量大小, hidden_size")
    if not close(outputs, want_out):
        if close(outputs, case["shifted"]):
            fail(HINTS["shifted"])
        if close(outputs, want0):
            fail(HINTS["ignores_h0"])
        check_values(outputs, want_out, "outputs", HINTS["run_generic"])
    check_dtype(outputs, want_out, "outputs")
    check_shape(h_last, shape_of(want_last), "h_last", "批量大小, hidden_size")
    check_values(h_last, want_last, "h_last", HINTS["h_last"])
    return "run_rnn_cell 通过了可见检查。"


@fresh_torch_state
def check_run_rnn_cell_default_h0(run_rnn_cell) -> str:
    """Visible check of one contract item: h0=None starts from zeros."""
    __tracebackhide__ = True
    case, run = _prepared_run(run_rnn_cell)
    want0 = case["want0"]
    outputs0, h_last0 = run(case["cell"])
    what = "h0=None 时的 outputs"
    check_shape(outputs0, shape_of(want0), what, "时间步, 批量大小, hidden_size")
    if not close(outputs0, want0):
        if not _run_main_right(case, run):
            fail(f"{what}：形状对了，但数值不对。" + HINTS["run_core_first"])
        # The loop works from a given h0; a wrong first step from None means a wrong start.
        start_wrong = not close(outputs0[0], want0[0])
        check_values(outputs0, want0, what, HINTS["default_h0"] if start_wrong else HINTS["run_generic"])
    check_dtype(outputs0, want0, what)
    check_values(h_last0, want0[-1], "h0=None 时的 h_last", HINTS["h_last"])
    return "run_rnn_cell 通过了可见检查（h0=None）。"


@fresh_torch_state
def check_run_rnn_cell_any_cell(run_rnn_cell) -> str:
    """Visible check of one contract item: any nn.RNNCell, a relu one and a bias=False one (h0 = zeros)."""
    __tracebackhide__ = True
    case, run = _prepared_run(run_rnn_cell)
    zeros = case["zeros"]

    label = "nonlinearity=\"relu\" 的单元，h0 全零"
    outputs, h_last = run(case["relu_cell"], zeros, label=label)
    want_out, want_last = case["want_relu"]
    check_shape(outputs, shape_of(want_out), f"outputs（{label}）", "时间步, 批量大小, hidden_size")
    if not close(outputs, want_out) and close(outputs, case["relu_as_tanh"], atol=1e-4):
        fail(HINTS["run_ignores_nonlinearity"])
    _check_item_values(outputs, want_out, f"outputs（{label}）", case, run)
    check_values(h_last, want_last, f"h_last（{label}）", HINTS["h_last"])

    label = "bias=False 的单元，cell.bias_ih、cell.bias_hh 都是 None，h0 全零"
    outputs, h_last = run(case["bare_cell"], zeros, label=label)
    want_out, want_last = case["want_bare"]
    _check_item_values(outputs, want_out, f"outputs（{label}）", case, run)
    check_values(h_last, want_last, f"h_last（{label}）", HINTS["h_last"])
    return "run_rnn_cell 通过了可见检查（relu 与 bias=False 的单元）。"


@fresh_torch_state
def check_run_rnn_cell_gradient(run_rnn_cell) -> str:
    """Visible check of one contract item: outputs stay connected to the cell (d outputs.sum() / d weight_hh)."""
    __tracebackhide__ = True
    case, run = _prepared_run(run_rnn_cell)
    want_grad_out, want_grad, truncated_grad = case["grads"]
    label = "求梯度用的单元，h0 全零"
    outputs, _ = run(case["grad_cell"], case["zeros"], label=label)
    _check_item_values(outputs, want_grad_out, f"outputs（{label}）", case, run)
    if not outputs.requires_grad:
        fail(HINTS["run_detached"])
    call(lambda: outputs.sum().backward(), "outputs.sum().backward()")
    got = case["grad_cell"].weight_hh.grad
    if got is None:
        fail(HINTS["run_detached"])
    if not close(got, want_grad) and close(got, truncated_grad):
        fail(HINTS["run_truncated"])
    check_values(got, want_grad, "outputs.sum() 对 weight_hh 的梯度", HINTS["run_grad_generic"])
    return "run_rnn_cell 通过了可见检查（梯度）。"


@fresh_torch_state
def check_rnn_cell_param_shapes(rnn_cell_param_shapes) -> str:
    """Visible check for `rnn_cell_param_shapes` with input 6, hidden 9 (never prints the answer).

    The expectation is torch's nn.RNNCell built on the meta device, computed before the student's
    function runs; that function runs under core.deriving (it may not ask torch: the exercise is
    to know the answer).
    """
    __tracebackhide__ = True
    name = "rnn_cell_param_shapes"
    inp, hid = 6, 9
    want = oracles.param_shapes("RNNCell", inp, hid)
    result = derive(rnn_cell_param_shapes, name, inp, hid)
    if not isinstance(result, dict):
        fail(HINTS["shapes_not_dict"].format(name=name, got=describe(result)))
    missing = [k for k in want if k not in result]
    extra = [k for k in result if k not in want]
    if missing or extra:
        detail = (f"缺少 {missing}；" if missing else "") + (f"多出 {extra}；" if extra else "")
        fail(HINTS["shapes_keys"].format(name=name, detail=detail))
    for key in want:
        got = result[key]
        if type(got) is int:
            fail(HINTS["shape_is_int"].format(key=key, got=got))
        if not isinstance(got, tuple) or not all(type(d) is int for d in got):
            fail(HINTS["shape_not_tuple"].format(key=key, got=describe(got)))
        got_t = tuple(got)
        if got_t == want[key]:
            continue
        if got_t[::-1] == want[key]:
            fail(HINTS["shape_reversed"].format(key=key))
        if key.startswith("bias") and len(got_t) != 1:
            fail(HINTS["bias_not_1d"].format(key=key))
        fail(HINTS["shape_generic"].format(key=key, inp=inp, hid=hid))
    return "rnn_cell_param_shapes 通过了可见检查。"
