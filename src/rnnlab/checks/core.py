"""The tamper-resistant core every assignment's checks are built on.

Comparisons use functions captured when this module is imported (before any student
code runs), accept only plain tensors, and fail with CheckFailed, whose Chinese
message is what the student sees. The expected values are never printed.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import os
import sys
import sysconfig
import traceback

import torch

from rnnlab.failed_check import shown_lines

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

# The global state a check resets (captured too: a student may rebind these names).
_enable_grad = torch.enable_grad
_inference_mode = torch.inference_mode
_get_default_device = torch.get_default_device
_set_default_device = torch.set_default_device
_get_default_dtype = torch.get_default_dtype
_set_default_dtype = torch.set_default_dtype
_float32 = torch.float32

ATOL = 1e-5
RTOL = 1e-4


def fresh_torch_state(check):
    """Run a check in torch's default global state, whatever a student's cell left switched.

    torch.set_grad_enabled(False), torch.set_default_device("meta") or a changed default dtype
    in one cell would otherwise fail a later question's check inside its own reference
    computation, with torch's English error. The student's function runs in this state too:
    it is judged by what it computes, not by what the notebook around it switched.
    """
    @functools.wraps(check)
    def run(*args, **kwargs):
        __tracebackhide__ = True  # the student's traceback shows the check, not this wrapper
        dtype, device = _get_default_dtype(), _get_default_device()
        _set_default_dtype(_float32)
        # None, not a `with torch.device("cpu")` block: that is a torch function mode, through
        # which even the captured C methods would reach a student's patched torch.Tensor.double.
        _set_default_device(None)
        try:
            with _enable_grad(), _inference_mode(False):
                return check(*args, **kwargs)
        finally:
            _set_default_dtype(dtype)
            _set_default_device(None if device.type == "cpu" else device)
    return run


class CheckFailed(AssertionError):
    """A check failed; the message is the Chinese hint shown to the student.

    IPython shows what an exception's _render_traceback_() returns instead of a traceback, so the
    student reads the hint alone: no "Traceback" header, no frame of rnnlab, no machine path.
    Jupyter's notebook, nbgrader's Validate dialog and the feedback all show these lines. An error
    in the student's own code reaches here through call(), whose message names their lines.
    """

    def _render_traceback_(self) -> list[str]:
        return shown_lines(str(self))


def fail(msg: str):
    __tracebackhide__ = True  # IPython and pytest leave the checks' frames out of the traceback
    raise CheckFailed(msg) from None


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
    __tracebackhide__ = True
    if not is_plain_tensor(got):
        fail(f"{what}：应当返回 torch.Tensor，实际是 {describe(got)}。")
    if shape_of(got) != shape_of(want):
        fail(f"{what}：形状是 {shape_of(got)}，与 PyTorch 的结果形状不同。")
    if not close(got, want):
        fail(f"{what}：数值与 PyTorch 的结果不一致（最大差值 {max_abs_diff(got, want):.3g}）。")
    check_dtype(got, want, what)


def changed_input(names, now, before) -> str | None:
    """The name of the first argument whose tensor a student's function changed in place (None: none).

    `now` are the tensors handed to the function, `before` copies taken first; None stands for
    an argument not given.
    """
    for name, a, b in zip(names, now, before):
        if a is not None and not close(_detach(a), b, atol=0.0, rtol=0.0):
            return name
    return None


def check_dtype(value: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    """Same dtype as PyTorch's result: a float64 zeros buffer filled with float32 values is not it."""
    __tracebackhide__ = True
    if value.dtype != expected.dtype:
        fail(f"{what}：数值对了，但 dtype 是 {value.dtype}，PyTorch 的结果是 {expected.dtype}（与输入相同）。"
             "新建张量时用 x.new_zeros(...) 或 torch.zeros(..., dtype=x.dtype)，不要另指定 dtype。")


def describe(value) -> str:
    if value is None:
        return "None"
    return type(value).__name__


def check_is_tensor(value, what: str) -> torch.Tensor:
    """Fail with a hint when `value` is not a tensor (None, list, ndarray, ...)."""
    __tracebackhide__ = True
    if is_plain_tensor(value):
        return value
    if isinstance(value, _TensorType):
        fail(f"{what} 返回的是 torch.Tensor 的子类 {type(value).__name__}，请返回普通的张量。")
    if value is None:
        fail(f"{what} 返回了 None：是不是忘了写 return？")
    if isinstance(value, (list, tuple)):
        fail(
            f"{what} 返回了一个 {describe(value)}，而不是张量。"
            "如果是把每个时间步的结果放进了列表，请用 torch.stack 把它们叠成一个张量；"
            "如果是多返回了值（例如 torch.max 返回的是 (值, 下标)），只返回要求的那个张量。"
        )
    fail(f"{what} 应当返回 torch.Tensor，实际返回的是 {describe(value)}。")


def check_shape(value: torch.Tensor, expected_shape, what: str, dims: str = "") -> None:
    """Fail when the shape differs. The shape is a hint, not the answer, in these exercises."""
    __tracebackhide__ = True
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
    __tracebackhide__ = True
    check_shape(value, shape_of(expected), what)
    if not close(value, expected):
        diff = max_abs_diff(value, expected)
        msg = f"{what}：形状对了，但数值不对（最大差值 {diff:.3g}）。"
        fail(msg + (hint or ""))
    check_dtype(value, expected, what)


# ---------------------------------------------------------------- calling student code

# torch's English errors raised inside a student's function, recognised by fragments of the
# message (lower case), each with a one-line Chinese hint. First match wins.
# name -> (fragments, hint)
TORCH_HINTS = {
    "bool_tensor": (("boolean value of tensor with more than one value is ambiguous",),
     "`if 张量:` 判断不了一个张量是否给出（多个元素的张量没有唯一的真假）。"
     "判断可选参数（例如偏置）是否给出，请写 `if b is not None:`。"),
    "batch_size": (("doesn't match hidden0 batch size", "doesn't match hx batch size"),
     "交给单元的输入与隐状态的批量大小不一致：cell(x_t, h) 里 x_t 是 (批量, 特征)，h 是 (批量, hidden_size)。"
     "检查 x[t] 取到的是不是第 t 个时间步（时间步在第 0 维），以及隐状态是不是二维的 (批量, hidden_size)。"),
    "hidden_dims": (("expected hidden to be 1d or 2d", "expected hx to be 1d or 2d"),
     "单元的隐状态应当是二维的 (批量, hidden_size)；(层数×方向数, 批量, hidden_size) 是 nn.RNN 这类模块的 h_0 的形状。"),
    "input_dims": (("expected input to be 1d or 2d",),
     "单元每次只读入一个时间步：应当传入 x[t]（形状 (批量, 特征)），而不是整条序列。"),
    "hidden_size": (("has inconsistent hidden_size",),
     "隐状态的最后一维应当是 hidden_size：检查隐状态的形状是不是 (批量, hidden_size)，维度有没有弄反。"),
    "input_size": (("has inconsistent input_size",),
     "输入的最后一维应当是 input_size：检查交给单元的是不是 x[t]（形状 (批量, input_size)）。"),
    "matmul": (("shapes cannot be multiplied", "size mismatch"),
     "矩阵乘法的形状对不上。先看每个乘法用的是不是该用的那个权重、乘的是不是该乘的那个张量"
     "（weight_ih 乘这一层的输入，weight_hh 乘隐状态）；再看转置：PyTorch 把权重存成 (输出, 输入)，"
     "要乘的是 x @ W.T（或 F.linear(x, W)）。"),
    "dtype": (("same dtype", "expected scalar type", "found dtype"),
     "参与运算的张量 dtype 不同（例如 float32 与 float64，或整数与浮点数）："
     "新建张量时用 x.new_zeros(...) 或 torch.zeros(..., dtype=x.dtype)。"),
    "broadcast": (("must match the size of tensor",),
     "逐元素运算（例如相加）的两个张量形状对不上，也不能广播：检查参与相加的各项的形状。"),
    "stack": (("stack expects each tensor to be equal size",),
     "torch.stack 要求每个张量的形状相同：检查每一步放进列表的张量。"),
    "einsum": (("einsum():",),
     "einsum 的下标与张量对不上：每个张量的下标个数要等于它的维数，同一个字母在各处代表的长度必须相同；"
     "PyTorch 的权重按 (输出, 输入) 存放。"),
    "inplace": (("in-place operation", "modified by an inplace operation", "is being modified inplace"),
     "原地操作（+=、*=、add_、sigmoid_ 之类）不能用在这里：它改的是要求梯度的参数、chunk/split 切出的视图，"
     "或者求梯度还要用到的张量。改写成产生新张量的写法，"
     "例如 a = a + b，而不是 a += b。"),
    "proj_size": (("proj_size argument is only supported for lstm",),
     "只有 nn.LSTM 接受 proj_size 参数：nn.RNN、nn.GRU 即使传 proj_size=0 也会报错，建它们时不要传这个参数。"),
    "none": (("'nonetype'",),
     "有一个值是 None：可选参数（例如没有偏置时的 bias、没有给出的初始隐状态）可能是 None，"
     "使用前先用 `is not None` 判断。"),
    # IndexError: torch's "index 1 is out of bounds for dimension 0 with size 1", "select(): index 5 out of
    # range for tensor of size ...", "index out of range in self"; Python's "tuple/list index out of range".
    "index": (("out of bounds for dimension", "index out of range", "out of range for tensor of size"),
     "下标超出了范围：先看出错的这一行按哪一维取下标、取的是第几个，再看被取的张量（或元组、列表）在这一维上实际有多长。"
     "例如输入带批量维时，nn.RNN 这类模块的 h0、h_n 是 (层数×方向数, 批量, hidden_size)，h0[k] 按第 0 维取第 k 个，自己新建的全零 h0 也要有这一维；"
     "循环的范围 range(...) 不要超过被取下标的那一维的长度。"),
    # IndexError: torch's "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    # "too many indices for tensor of dimension 2".
    "dim_range": (("dimension out of range", "too many indices for tensor of dimension"),
     "用到的维度编号超出了张量的维数（或者下标比维数多）：先看出错的这一行里的 dim=…、transpose(…)、x[:, t] 之类，"
     "再看那个张量实际是几维的。例如输入带批量维时，模块的 h0、h_n 是三维的 (层数×方向数, 批量, hidden_size)，h0[k] 是二维的 (批量, hidden_size)；"
     "整条序列 x 是三维的，x[t] 是二维的；偏置是一维的。"),
    "view": (("view size is not compatible with input tensor's size and stride",),
     "view 只能用在元素的存放方式恰好合适的张量上（转置之后的往往不行）。若只是改变形状（例如把两维合成一维），"
     "用 reshape 或先 .contiguous()；若是要交换两个维度（例如把 (batch, seq, 特征) 换成 (seq, batch, 特征)），"
     "要用 transpose / permute：view 和 reshape 都不移动元素，只把元素按原来的先后顺序重新分组。"),
}


def torch_hint(error: BaseException) -> str:
    """The Chinese hint for an error raised in a student's function ("" when none applies)."""
    text = f"{type(error).__name__}: {error}".lower()
    for fragments, hint in TORCH_HINTS.values():
        if any(f in text for f in fragments):
            return hint
    return ""


def _library_dirs() -> tuple[str, ...]:
    """Folders whose frames are not the student's: rnnlab, torch, Python and its site-packages."""
    dirs = {os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.path.dirname(torch.__file__)}
    dirs.update(os.path.abspath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            dirs.add(os.path.abspath(path))
    return tuple(d.rstrip(os.sep) + os.sep for d in dirs)


_LIBRARY_DIRS = _library_dirs()


def _is_students(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return False
    path = filename if filename.startswith("<") else os.path.abspath(filename)
    return not path.startswith(_LIBRARY_DIRS)


def _where(filename: str, lineno: int) -> str:
    """'Cell In[3], line 5' for a notebook cell (as IPython writes it), else 'File …, line 5'."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    compiler = getattr(shell, "compile", None)
    label = compiler.format_code_name(filename) if hasattr(compiler, "format_code_name") else None
    if label:
        return f"{label[0]} {label[1]}, line {lineno}"
    return f"File {filename}, line {lineno}"


def _students_frames(tb) -> list:
    return [f for f in traceback.extract_tb(tb) if _is_students(f.filename)]


def students_line(tb) -> str:
    """Where in the student's own code an error happened: the innermost frame outside rnnlab,
    torch and Python's libraries, as '<where>:\n    <code line>' ("" when there is none)."""
    for frame in reversed(_students_frames(tb)):
        code = (frame.line or "").strip()
        return _where(frame.filename, frame.lineno) + (f"：\n    {code}" if code else "")
    return ""


def students_path(tb) -> str:
    """The student's own frames, outermost first, when the error passed through more than one of
    their functions ("" otherwise): the rest of their traceback, which the check's message keeps."""
    frames = _students_frames(tb)
    if len(frames) < 2:
        return ""
    return " → ".join(f"{_where(f.filename, f.lineno)}, in {f.name}" for f in frames)


def call(fn, name, *args, **kwargs):
    """Call the student's function; turn its exception into a short Chinese hint.

    The CheckFailed names the student's line, the error's first line and a hint, and is raised
    `from None`: the student's traceback ends there instead of running through torch's internals.
    """
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        message = f"{name} 还没有实现（仍在 raise NotImplementedError）。"
    except Exception as e:  # any bug in student code: report it, do not crash the check
        lines = str(e).strip().splitlines()
        where = students_line(e.__traceback__)
        message = f"调用 {name} 时出错" + (f"，在你的代码 {where}" if where else "") + "\n"
        path = students_path(e.__traceback__)
        if path:
            message += f"（出错前经过你的代码：{path}）\n"
        message += f"{type(e).__name__}: {lines[0] if lines else ''}"
        hint = torch_hint(e)
        if hint:
            message += f"\n提示：{hint}"
    raise CheckFailed(message) from None


def unpack_pair(result, name, pair: str = "(outputs, h_last)"):
    """The two values of a function that must return a pair (a list of two is accepted too)."""
    __tracebackhide__ = True
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = describe(result) + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "")
        fail(f"{name} 应当返回一个二元组 {pair}，实际返回的是 {got}。")
    return result


# ---------------------------------------------------------------- "write it yourself" exercises

def _recurrent_ops() -> tuple[str, ...]:
    """Names of torch's recurrent kernels (aten::rnn_tanh, lstm, gru_cell, _thnn_fused_lstm_cell, ...)."""
    found = {s.name[len("aten::"):] for s in torch._C._jit_get_all_schemas()
             if s.name.startswith("aten::") and any(k in s.name for k in ("rnn", "lstm", "gru"))}
    return tuple(sorted(found))


_RECURRENT_OPS = _recurrent_ops()
_MODULES = (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU, torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell)
_ATEN = torch.ops.aten


class _Patches:
    """Attributes set for the length of a block and put back exactly as they were (absent stays absent)."""

    def __init__(self):
        self._saved: list = []

    def set(self, obj, attr: str, value) -> None:
        self._saved.append((obj, attr, attr in vars(obj), vars(obj).get(attr)))
        setattr(obj, attr, value)

    def restore(self) -> None:
        for obj, attr, had, old in reversed(self._saved):
            if had:
                setattr(obj, attr, old)
            else:
                try:
                    delattr(obj, attr)
                except AttributeError:
                    pass
        self._saved.clear()


def _refuse_kernels(patches: _Patches, names, refuse) -> None:
    """torch.<name>, torch._VF.<name> and torch.ops.aten.<name> (the packet and every overload, such as
    .input or .default, even when the student took a reference to it before) call `refuse` instead."""
    for name in names:
        if hasattr(torch, name):
            patches.set(torch, name, refuse)
        if hasattr(torch._C._VariableFunctions, name):
            patches.set(torch._VF, name, refuse)  # an instance attribute shadows the VF lookup
        if name in _RECURRENT_OPS:
            packet = getattr(_ATEN, name)
            patches.set(packet, "_op", refuse)
            for overload in packet.overloads():
                patches.set(getattr(packet, overload), "_op", refuse)


@contextlib.contextmanager
def refusing(names: tuple[str, ...], message: str, tripped: list):
    """torch.<name> (and torch._VF's, which nn.RNN/LSTM/GRU and their cells call, and torch.ops.aten's)
    raise `message` inside the block.

    For exercises whose point is the computation torch would do: the student's code may not
    hand it back to torch. `tripped` records the refusal even when the student catches it.
    """
    def refuse(*args, **kwargs):
        tripped.append(message)
        fail(message)

    patches = _Patches()
    try:
        _refuse_kernels(patches, names, refuse)
        yield
    finally:
        patches.restore()


# "Derive, don't ask": the shape, count and input/output-shape questions are answered by reasoning.
DERIVE = ("{name} 要你自己推导：检查运行时它不能建 nn.RNN、nn.LSTM、nn.GRU 及其单元（device=\"meta\" 的也不行），"
          "也不能调用 PyTorch 的循环算子或课程的参考函数，请用公式或循环写出答案，"
          "写完后可以在另一个单元格里用 device=\"meta\" 的模块核对。")


@contextlib.contextmanager
def deriving(name: str, tripped: list | None = None):
    """Inside the block, building any recurrent module or cell (on any device, meta included),
    calling a recurrent kernel (torch.lstm, torch._VF.*, torch.ops.aten.rnn_tanh, ...) or one of
    rnnlab's torch-backed oracles raises DERIVE. Yields `tripped`, which records the refusal even
    when the student's code catches it. Only the student's function runs inside: the expected
    values are computed before.
    """
    from torch.nn.modules import rnn as _rnn_modules

    from rnnlab import oracles

    tripped = [] if tripped is None else tripped
    message = DERIVE.format(name=name)

    def refuse(*args, **kwargs):
        tripped.append(message)
        fail(message)

    patches = _Patches()
    try:
        for kind in (_rnn_modules.RNNBase, _rnn_modules.RNNCellBase, *_MODULES):  # nn.GRU(proj_size=…) too
            if "__init__" in vars(kind):
                patches.set(kind, "__init__", refuse)
        _refuse_kernels(patches, _RECURRENT_OPS, refuse)
        patches.set(oracles, "_refusal", refuse)
        yield tripped
    finally:
        patches.restore()


def derive(fn, name, *args, **kwargs):
    """call(fn, name, ...) for a function that must derive its answer (see deriving): fails with
    DERIVE when it built a recurrent module, called a recurrent kernel or an oracle, even if it
    caught the refusal. Used by the visible checks and the hidden tests alike."""
    __tracebackhide__ = True
    tripped: list = []
    try:
        with deriving(name, tripped):
            result = call(fn, name, *args, **kwargs)
    except CheckFailed:
        if tripped:
            fail(tripped[0])
        raise
    if tripped:
        fail(tripped[0])
    return result


def guarded_copy(module, message: str, tripped: list):
    """A copy of `module` (same parameters, its own tensors) whose forward raises `message`."""
    twin = copy.deepcopy(module)

    def refuse(*args, **kwargs):
        tripped.append(message)
        fail(message)

    twin.forward = refuse
    return twin


def check_gradients(part: str, value, module, wants: dict, inplace_hint: str) -> None:
    """`value.sum().backward()` must reach `module`'s parameters with torch's gradients (wants: name -> grad)."""
    __tracebackhide__ = True
    if not value.requires_grad:
        fail(f"{part} 与 rnn 的参数断开了：没有梯度能传回去。是否用了 .detach()、.data、.item()、"
             "torch.no_grad()，是否从 rnn.state_dict() 取的参数（它返回的张量不在计算图上，"
             "用 getattr(rnn, 名字) 或 rnn.named_parameters()），或者用 torch.tensor 把结果重新包装了一遍？")
    try:
        value.sum().backward()
    except RuntimeError as e:
        text = str(e)
        fail(f"{part}.sum().backward() 出错：" + (
            inplace_hint if "inplace operation" in text else
            f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"))
    for name, want in wants.items():
        got = getattr(module, name).grad
        if got is None or not close(got, want):
            fail(f"{part}.sum() 对 {name} 的梯度与 PyTorch 的不一致：计算图在某处断开了，"
                 "或者用了不可求导的写法（.detach()、.data、.item()、torch.no_grad()、numpy），"
                 "或者参数是从 rnn.state_dict() 取的（它返回的张量不在计算图上）。")
