"""The tamper-resistant core every assignment's checks are built on.

Comparisons use functions captured when this module is imported (before any student
code runs), accept only plain tensors, and fail with CheckFailed, whose Chinese
message is what the student sees. The expected values are never printed.
"""

from __future__ import annotations

import math

import torch

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


def fail(msg: str):
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
        fail(f"{what}：应当返回 torch.Tensor，实际是 {describe(got)}。")
    if shape_of(got) != shape_of(want):
        fail(f"{what}：形状是 {shape_of(got)}，与 PyTorch 的结果形状不同。")
    if not close(got, want):
        fail(f"{what}：数值与 PyTorch 的结果不一致（最大差值 {max_abs_diff(got, want):.3g}）。")


def describe(value) -> str:
    if value is None:
        return "None"
    return type(value).__name__


def check_is_tensor(value, what: str) -> torch.Tensor:
    """Fail with a hint when `value` is not a tensor (None, list, ndarray, ...)."""
    if is_plain_tensor(value):
        return value
    if isinstance(value, _TensorType):
        fail(f"{what} 返回的是 torch.Tensor 的子类 {type(value).__name__}，请返回普通的张量。")
    if value is None:
        fail(f"{what} 返回了 None：是不是忘了写 return？")
    if isinstance(value, (list, tuple)):
        fail(
            f"{what} 返回了一个 {describe(value)}，而不是张量。"
            "如果你把每个时间步的结果放进了列表，请用 torch.stack 把它们叠成一个张量。"
        )
    fail(f"{what} 应当返回 torch.Tensor，实际返回的是 {describe(value)}。")


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
    fail(msg)


def check_values(value: torch.Tensor, expected: torch.Tensor, what: str, hint: str = "") -> None:
    """Fail when values differ; report the largest difference, never the expected values."""
    check_shape(value, shape_of(expected), what)
    if not close(value, expected):
        diff = max_abs_diff(value, expected)
        msg = f"{what}：形状对了，但数值不对（最大差值 {diff:.3g}）。"
        fail(msg + (hint or ""))


# ---------------------------------------------------------------- calling student code

def call(fn, name, *args, **kwargs):
    """Call the student's function; turn its exception into a Chinese hint."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        fail(f"{name} 还没有实现（仍在 raise NotImplementedError）。")
    except RuntimeError as e:
        text = str(e)
        hint = ""
        if "shapes cannot be multiplied" in text or "size mismatch" in text:
            hint = (
                "矩阵乘法的形状对不上。PyTorch 把权重存成 (输出, 输入)，"
                "所以应该与权重的转置相乘：x @ W.T（或 F.linear(x, W)）。"
            )
        fail(f"调用 {name} 时出错：{type(e).__name__}: {text.splitlines()[0] if text else ''}\n{hint}")
    except Exception as e:  # any other bug in student code: report it, do not crash the check
        first = str(e).splitlines()[0] if str(e) else ""
        fail(f"调用 {name} 时出错：{type(e).__name__}: {first}")


def unpack_pair(result, name, pair: str = "(outputs, h_last)"):
    """The two values of a function that must return a pair (a list of two is accepted too)."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = describe(result) + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "")
        fail(f"{name} 应当返回一个二元组 {pair}，实际返回的是 {got}。")
    return result
