"""Student-facing checks for the visible test cells of the assignments.

Every check compares a student's function with torch itself (the oracle is a real
nn.RNNCell / nn.RNN, never a re-implementation), and on failure raises an
AssertionError whose Chinese message says *what* looks wrong and *where to look*,
without ever printing the expected values.

Diagnosis works by asking which plausible mistake the student's output matches:
each "variant" is torch's own answer to a slightly different question (a zeroed
bias, a transposed weight, a zero hidden state...), so no formula is written here.
"""

from __future__ import annotations

import hashlib
import math

import torch
from torch import nn

# Captured at import, before any student code runs. The methods come from the C base
# class torch._C.TensorBase, which Python code cannot patch; the functions are the
# objects themselves, so rebinding torch.abs, torch.allclose, torch.equal or
# torch.Tensor.__eq__ later changes nothing here.
_TB = torch._C.TensorBase
_TensorType = torch.Tensor
_abs = torch.abs
_amax = torch.amax
_isfinite = torch.isfinite
_double = _TB.double
_detach = _TB.detach
_numel = _TB.numel
_size = _TB.size
_all = _TB.all
_item = _TB.item
_no_grad = torch.no_grad
_no_torch_function = torch._C.DisableTorchFunctionSubclass

ATOL = 1e-5
RTOL = 1e-4


class CheckFailed(AssertionError):
    """A check failed; the message is the Chinese hint shown to the student."""


def _fail(msg: str):
    raise CheckFailed(msg)


def is_plain_tensor(value) -> bool:
    """A real torch.Tensor, not a subclass (a subclass can override every operation)."""
    return type(value) is _TensorType


def shape_of(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(_size(t))


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """Largest |a - b| in float64, with functions captured at import (inf if not finite)."""
    with _no_grad(), _no_torch_function():
        d = _abs(_double(_detach(a)) - _double(_detach(b)))
        if _numel(d) == 0:
            return 0.0
        if not _item(_all(_isfinite(d))):
            return math.inf
        return float(_item(_amax(d)))


def close(a, b, atol: float = ATOL, rtol: float = RTOL) -> bool:
    """allclose for two plain tensors of the same shape, robust to monkey-patched torch."""
    if not (is_plain_tensor(a) and is_plain_tensor(b)) or shape_of(a) != shape_of(b):
        return False
    with _no_grad(), _no_torch_function():
        scale = float(_item(_amax(_abs(_double(_detach(b)))))) if _numel(b) else 0.0
    return max_abs_diff(a, b) <= atol + rtol * scale


def expect_close(got, want: torch.Tensor, what: str) -> None:
    """For hidden tests: a plain tensor of want's shape and values, else CheckFailed."""
    if not is_plain_tensor(got):
        _fail(f"{what}：应当返回 torch.Tensor，实际是 {_describe(got)}。")
    if shape_of(got) != shape_of(want):
        _fail(f"{what}：形状是 {shape_of(got)}，与 PyTorch 的结果形状不同。")
    if not close(got, want):
        _fail(f"{what}：数值与 PyTorch 的结果不一致（最大差值 {max_abs_diff(got, want):.3g}）。")


def _describe(value) -> str:
    if value is None:
        return "None"
    return type(value).__name__


def check_is_tensor(value, what: str) -> torch.Tensor:
    """Fail with a hint when `value` is not a tensor (None, list, ndarray, ...)."""
    if is_plain_tensor(value):
        return value
    if isinstance(value, _TensorType):
        _fail(f"{what} 返回的是 torch.Tensor 的子类 {type(value).__name__}，请返回普通的张量。")
    if value is None:
        _fail(f"{what} 返回了 None：是不是忘了写 return？")
    if isinstance(value, (list, tuple)):
        _fail(
            f"{what} 返回了一个 {_describe(value)}，而不是张量。"
            "如果你把每个时间步的结果放进了列表，请用 torch.stack 把它们叠成一个张量。"
        )
    _fail(f"{what} 应当返回 torch.Tensor，实际返回的是 {_describe(value)}。")


def check_shape(value: torch.Tensor, expected_shape, what: str, dims: str = "") -> None:
    """Fail when the shape differs. The shape is a hint, not the answer, in these exercises."""
    got, want = shape_of(value), tuple(expected_shape)
    if got == want:
        return
    msg = f"{what}：形状是 {got}，应当是 {want}"
    msg += f"（{dims}）。" if dims else "。"
    if len(got) == len(want) and sorted(got) == sorted(want):
        msg += "维度的数目对了，但顺序不对：检查是否把某两个维度弄反了。"
    if len(got) == 2 and len(want) == 2 and got == want[::-1]:
        msg += "PyTorch 的权重按 (输出, 输入) 存放，计算时用 x @ W.T。"
    _fail(msg)


def check_values(value: torch.Tensor, expected: torch.Tensor, what: str, hint: str = "") -> None:
    """Fail when values differ; report the largest difference, never the expected values."""
    check_shape(value, shape_of(expected), what)
    if not close(value, expected):
        diff = max_abs_diff(value, expected)
        msg = f"{what}：形状对了，但数值不对（最大差值 {diff:.3g}）。"
        _fail(msg + (hint or ""))


# ---------------------------------------------------------------- torch oracles

def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rand(g, *shape):
    return torch.randn(*shape, generator=g)


def _torch_cell(w_ih, w_hh, b_ih, b_hh, nonlinearity):
    """A real nn.RNNCell holding the given tensors (a None bias: bias off for both)."""
    hidden, inp = w_ih.shape
    cell = nn.RNNCell(inp, hidden, bias=True, nonlinearity=nonlinearity)
    with _no_grad():
        cell.weight_ih.copy_(w_ih)
        cell.weight_hh.copy_(w_hh)
        cell.bias_ih.copy_(b_ih if b_ih is not None else torch.zeros(hidden))
        cell.bias_hh.copy_(b_hh if b_hh is not None else torch.zeros(hidden))
    return cell


def _oracle_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    with _no_grad():
        return _torch_cell(w_ih, w_hh, b_ih, b_hh, nonlinearity)(x, h)


def _call(fn, name, *args, **kwargs):
    """Call the student's function; turn its exception into a Chinese hint."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        _fail(f"{name} 还没有实现（仍在 raise NotImplementedError）。")
    except RuntimeError as e:
        text = str(e)
        hint = ""
        if "shapes cannot be multiplied" in text or "size mismatch" in text:
            hint = (
                "矩阵乘法的形状对不上。PyTorch 把权重存成 (输出, 输入)，"
                "所以应该与权重的转置相乘：x @ W.T（或 F.linear(x, W)）。"
            )
        _fail(f"调用 {name} 时出错：{type(e).__name__}: {text.splitlines()[0] if text else ''}\n{hint}")
    except Exception as e:  # any other bug in student code: report it, do not crash the check
        first = str(e).splitlines()[0] if str(e) else ""
        _fail(f"调用 {name} 时出错：{type(e).__name__}: {first}")


# ---------------------------------------------------------------- assignment 1

def check_rnn_cell_step(rnn_cell_step) -> str:
    """Visible check for `rnn_cell_step` (assignment a1_rnncell).

    Uses one small configuration (input 3, hidden 4, batch 2) and localises the
    usual mistakes: a missing bias, a missing transpose, an ignored h_prev or
    nonlinearity. Every expectation is computed before the student's function runs,
    so nothing it changes in torch can alter them. Returns a short success message.
    """
    name = "rnn_cell_step"
    g = _seeded(2024)
    batch, inp, hid = 2, 3, 4
    x, h = _rand(g, batch, inp), _rand(g, batch, hid)
    w_ih, w_hh = _rand(g, hid, inp) * 0.5, _rand(g, hid, hid) * 0.5
    b_ih, b_hh = _rand(g, hid), _rand(g, hid)
    args = (x, h, w_ih, w_hh)

    want = _oracle_step(*args, b_ih, b_hh)
    variants = [
        (_oracle_step(*args, None, b_hh), "bias_ih 似乎没有加上。"),
        (_oracle_step(*args, b_ih, None), "bias_hh 似乎没有加上。"),
        (_oracle_step(*args, None, None), "两个偏置 bias_ih、bias_hh 似乎都没有加上。"),
        (_oracle_step(x, h, w_ih, w_hh.T, b_ih, b_hh),
         "h_prev 与 weight_hh 相乘时少了转置：PyTorch 计算的是 h_prev @ weight_hh.T。"),
        (_oracle_step(x, torch.zeros_like(h), w_ih, w_hh, b_ih, b_hh),
         "结果像是没有用到 h_prev（上一步的隐状态）：h_prev @ weight_hh.T 这一项去哪儿了？"),
        (_oracle_step(*args, b_ih, b_hh, "relu"), "默认的 nonlinearity 是 \"tanh\"，结果却像是用了 relu。"),
        (torch.atanh(want.clamp(-1 + 1e-7, 1 - 1e-7)), "结果像是少了非线性激活：求和之后还要经过 tanh（或 relu）。"),
    ]
    # Optional arguments must be honoured, not ignored.
    options = [
        ((b_ih, b_hh), {}, "", ""),
        ((None, None), {}, "bias_ih=None, bias_hh=None", "偏置为 None 表示没有这一项偏置，不要加上它。"),
        ((b_ih, None), {}, "bias_hh=None", "偏置为 None 表示没有这一项偏置，不要加上它。"),
        ((b_ih, b_hh), {"nonlinearity": "relu"}, "nonlinearity=\"relu\"", "nonlinearity=\"relu\" 时应当用 relu 代替 tanh。"),
    ]
    expected = [_oracle_step(*args, *biases, kw.get("nonlinearity", "tanh")) for biases, kw, _, _ in options]

    for (biases, kw, label, hint), exp in zip(options, expected):
        what = f"{name}(..., {label}) 的返回值" if label else f"{name} 的返回值"
        fresh = [a.clone() for a in args] + [b if b is None else b.clone() for b in biases]
        out = check_is_tensor(_call(rnn_cell_step, name, *fresh, **kw), name)
        check_shape(out, (batch, hid), what, "批量大小, hidden_size")
        if not label and not close(out, exp):
            for variant, diagnosis in variants:
                if close(out, variant, atol=1e-4):
                    _fail(f"{name} 的数值不对：{diagnosis}")
            hint = "逐项检查：x_t 与 weight_ih、h_prev 与 weight_hh 的乘法（注意转置），两个偏置，以及激活函数。"
        check_values(out, exp, what, hint)
    return "rnn_cell_step 通过了可见检查。"


def _torch_rnn_like(cell: nn.RNNCell) -> nn.RNN:
    """An nn.RNN that holds a copy of `cell`'s parameters (same bias and nonlinearity)."""
    bias = cell.bias_ih is not None
    rnn = nn.RNN(cell.input_size, cell.hidden_size, bias=bias, nonlinearity=cell.nonlinearity)
    with _no_grad():
        rnn.weight_ih_l0.copy_(cell.weight_ih)
        rnn.weight_hh_l0.copy_(cell.weight_hh)
        if bias:
            rnn.bias_ih_l0.copy_(cell.bias_ih)
            rnn.bias_hh_l0.copy_(cell.bias_hh)
    return rnn


def _oracle_run(cell, x, h0=None):
    with _no_grad():
        rnn = _torch_rnn_like(cell)
        outputs, h_n = rnn(x, None if h0 is None else h0.unsqueeze(0))
        return outputs, h_n[0]


def _unpack_pair(result, name):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = _describe(result) + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "")
        _fail(f"{name} 应当返回一个二元组 (outputs, h_last)，实际返回的是 {got}。")
    return result


def check_run_rnn_cell(run_rnn_cell) -> str:
    """Visible check for `run_rnn_cell` (assignment a1_rnncell): seq 4, batch 2, input 3, hidden 5."""
    name = "run_rnn_cell"
    with torch.random.fork_rng(devices=[]):  # the cell's initialisation, without touching the student's RNG
        torch.manual_seed(7)
        cell = nn.RNNCell(3, 5)
    g = _seeded(11)
    seq, batch = 4, 2
    x = _rand(g, seq, batch, 3)
    h0 = _rand(g, batch, 5)

    # Every expectation before the student's code runs.
    want_out, want_last = _oracle_run(cell, x, h0)
    want0, _ = _oracle_run(cell, x)
    shifted = torch.cat([h0.unsqueeze(0), want_out[:-1]])

    outputs, h_last = _unpack_pair(_call(run_rnn_cell, name, cell, x.clone(), h0.clone()), name)
    outputs = check_is_tensor(outputs, "outputs")
    h_last = check_is_tensor(h_last, "h_last")
    if shape_of(outputs) == (seq + 1, batch, 5):
        _fail("outputs 多了一个时间步：outputs[t] 应当是读入 x[t] 之后的隐状态，不要把 h0 也放进去。")
    check_shape(outputs, shape_of(want_out), "outputs", "时间步, 批量大小, hidden_size")
    if not close(outputs, want_out):
        if close(outputs, shifted):
            _fail("outputs 错开了一个时间步：outputs[t] 应当是读入 x[t] 之后的隐状态，而不是之前的。")
        if close(outputs, want0):
            _fail("outputs 像是从全零的隐状态开始的：传入的 h0 没有被使用。")
        check_values(outputs, want_out, "outputs", "检查循环：每一步把 x[t] 和上一步的隐状态交给 cell。")
    check_shape(h_last, shape_of(want_last), "h_last", "批量大小, hidden_size")
    check_values(h_last, want_last, "h_last", "h_last 应当是最后一个时间步之后的隐状态。")

    outputs0, h_last0 = _unpack_pair(_call(run_rnn_cell, name, cell, x.clone()), name)
    outputs0 = check_is_tensor(outputs0, "outputs")
    check_values(outputs0, want0, "h0=None 时的 outputs",
                 "h0 为 None 时应当从全零的隐状态开始（torch.zeros，形状 (批量大小, hidden_size)）。")
    check_values(check_is_tensor(h_last0, "h_last"), want0[-1], "h0=None 时的 h_last")
    return "run_rnn_cell 通过了可见检查。"


_CELL_PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# Hashes of the correct shapes for input_size=6, hidden_size=9: the check can say
# "right" or "transposed" without this file holding (or computing) the answer.
_PARAM_SHAPE_HASHES = {
    "weight_ih": "9b91927fd29a6ec8",
    "weight_hh": "879885336254f411",
    "bias_ih": "4f5ccb0ac9b699d7",
    "bias_hh": "f4295cc49fc0790d",
}


def _shape_hash(key: str, shape: tuple) -> str:
    return hashlib.sha256(f"{key}:{shape}".encode()).hexdigest()[:16]


def check_rnn_cell_param_shapes(rnn_cell_param_shapes) -> str:
    """Visible check for `rnn_cell_param_shapes` with input 6, hidden 9 (never prints the answer)."""
    name = "rnn_cell_param_shapes"
    inp, hid = 6, 9
    result = _call(rnn_cell_param_shapes, name, inp, hid)
    if not isinstance(result, dict):
        _fail(f"{name} 应当返回 dict（参数名 -> 形状元组），实际返回的是 {_describe(result)}。")
    missing = [k for k in _CELL_PARAM_NAMES if k not in result]
    extra = [k for k in result if k not in _CELL_PARAM_NAMES]
    if missing or extra:
        _fail(
            f"{name} 的键不对：" + (f"缺少 {missing}；" if missing else "") + (f"多出 {extra}；" if extra else "")
            + "键名应与 nn.RNNCell(...).named_parameters() 给出的名字一致。"
        )
    for key in _CELL_PARAM_NAMES:
        got = result[key]
        if not isinstance(got, tuple) or not all(type(d) is int for d in got):
            _fail(f"{key} 的形状应当是由整数组成的元组（例如 (3, 5)），实际是 {_describe(got)}。")
        got_t = tuple(got)
        if _shape_hash(key, got_t) == _PARAM_SHAPE_HASHES[key]:
            continue
        if _shape_hash(key, got_t[::-1]) == _PARAM_SHAPE_HASHES[key]:
            _fail(f"{key} 的两个维度反了：PyTorch 的权重按 (输出, 输入) 存放。")
        if key.startswith("bias") and len(got_t) != 1:
            _fail(f"{key} 应当是一维的：每个隐藏单元一个偏置。")
        _fail(f"{key} 的形状不对（用 input_size={inp}、hidden_size={hid} 测试）。想一想它把什么映射到什么。")
    return "rnn_cell_param_shapes 通过了可见检查。"
