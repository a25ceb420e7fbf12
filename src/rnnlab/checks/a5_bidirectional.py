"""Visible checks of assignment a5_bidirectional (recurrent_param_shapes, recurrent_num_params,
final_states_from_output, manual_bidirectional_rnn), and the guarded calls its hidden tests
use too.

Every expectation is torch's own answer, computed before the student's function runs:
parameter shapes and counts from a module built on the meta device, final states and
outputs from the real nn.RNN / nn.GRU / nn.LSTM. Diagnosis asks which plausible mistake
the student's result matches: each "variant" is torch's answer to a slightly different
question (another mode, bidirectional off, bias toggled, a module whose reverse direction
holds the forward parameters, h_n regrouped by direction, torch's output read at the wrong
step...), so no formula of the exercise is written here. A result that matches no variant
gets a generic message, never a guessed diagnosis.

The parameter functions must derive their answer: they run under core.deriving (derive), where
building a recurrent module (on the meta device too), calling a recurrent kernel or one of the
oracles is refused, so the expectations are computed before they run.
The student's `manual_bidirectional_rnn` receives a copy of the nn.RNN whose forward refuses
to run, and torch's fused sequence functions refuse too: that exercise is the loop.
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab import oracles
from rnnlab import shapes as _shape_model
from rnnlab.checks.core import check_dtype, fresh_torch_state
from rnnlab.checks.core import check_gradients, guarded_copy as _guarded_copy, refusing
from rnnlab.checks.core import (  # noqa: F401  (expect_close and CheckFailed: the hidden tests use them)
    CheckFailed, call, check_is_tensor, close, derive, deriving, describe, expect_close, fail, max_abs_diff,
    shape_of, unpack_pair,
)

NO_CALL = "不要调用 rnn(...)：请用它的参数自己写两个方向的循环。"
NO_FUSED = ("不要调用 torch.rnn_tanh / torch.rnn_relu 或 torch.ops.aten.rnn_tanh / rnn_relu（nn.RNN 内部的融合实现）："
            "请用参数自己写循环。")
NO_EDIT = "manual_bidirectional_rnn 修改了 rnn 的参数：只读取 weight_ih_l{k}、weight_ih_l{k}_reverse 等参数，不要改动它们。"

GATE_WORDS = {
    "RNN": "nn.RNN 没有门：它的每个权重和偏置只有一组，行数就是 hidden_size。",
    "LSTM": "LSTM 的权重和偏置按门块叠放：数一数它有几个门块（输入门、遗忘门、候选记忆元、输出门各一块），行数是门块数 × hidden_size。",
    "GRU": "GRU 的权重和偏置按门块叠放：数一数它有几个门块（重置门、更新门、候选隐状态各一块），行数是门块数 × hidden_size。",
}
LAYER = re.compile(r"_l(\d+)(_reverse)?$")


# ------------------------------------------------------------------ torch as the oracle

def _kwargs(num_layers=1, bidirectional=False, bias=True, proj_size=0) -> dict:
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    if proj_size:
        kw["proj_size"] = proj_size
    return kw


def param_shapes_by_torch(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0,
                          bias=True) -> dict[str, tuple[int, ...]]:
    """named_parameters() shapes of nn.<mode>, built on the meta device."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return oracles.param_shapes(mode, input_size, hidden_size,
                                    **_kwargs(num_layers, bidirectional, bias, proj_size))


def num_params_by_torch(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True,
                        proj_size=0) -> int:
    """The number of parameters of nn.<mode> (every element of every named parameter)."""
    found = param_shapes_by_torch(mode, input_size, hidden_size, num_layers, bidirectional, proj_size, bias)
    return sum(math.prod(s) for s in found.values())


# ------------------------------------------------------------------ guarded calls

def run_param_fn(fn, name: str, *args, **kwargs):
    """Call recurrent_param_shapes / recurrent_num_params under core.derive (torch's errors get their
    Chinese hint; a module, a recurrent kernel or an oracle is refused)."""
    __tracebackhide__ = True
    return derive(fn, name, *args, **kwargs)


def expect_value_error(fn, name: str, label: str, mode: str, *args, **kwargs) -> None:
    """`fn(mode, *args, **kwargs)` (proj_size > 0 for a mode that is not LSTM) must raise ValueError."""
    __tracebackhide__ = True
    message = None
    tripped: list = []
    try:
        with deriving(name, tripped):
            result = fn(mode, *args, **kwargs)
    except ValueError as e:
        if tripped:
            fail(tripped[0])
        if not str(e).strip():
            fail(f"{label}：抛出了 ValueError，但没有说明。请附上一句中文说明，"
                 "例如 raise ValueError(\"proj_size 只有 LSTM 支持\")。")
        return
    except NotImplementedError:
        message = f"{name} 还没有实现（仍在 raise NotImplementedError）。"
    except Exception as e:  # noqa: BLE001  (any other error of the student's code)
        first = str(e).strip().splitlines()
        message = (f"{label}：应当 raise ValueError，实际抛出的是 {type(e).__name__}"
                   + (f"：{first[0]}" if first else "") + "。proj_size 用错了地方是参数的值不对，用 ValueError。")
    else:
        message = (f"{label}：proj_size 只有 LSTM 支持，mode=\"{mode}\" 且 proj_size > 0 时应当 "
                   f"raise ValueError（附上中文说明），而你的函数返回了 {describe(result)}。")
    fail(tripped[0] if tripped else message)


# ------------------------------------------------------------------ recurrent_param_shapes

SHAPE_CASES = [  # (mode, input_size, hidden_size, keyword arguments of the call)
    ("RNN", 10, 20, {}),
    ("GRU", 10, 20, {"num_layers": 2}),
    ("LSTM", 50, 100, {"num_layers": 2}),
    ("RNN", 100, 15, {"num_layers": 2, "bidirectional": True}),
    ("GRU", 7, 4, {"num_layers": 3, "bidirectional": True}),
    ("LSTM", 5, 9, {"proj_size": 4}),
    ("LSTM", 6, 8, {"num_layers": 2, "bidirectional": True, "proj_size": 3}),
]
PROJ_ERROR_CASES = [  # proj_size > 0 for a mode that has no projection: ValueError
    ("GRU", 8, 6, {"proj_size": 3}),
    ("RNN", 5, 7, {"num_layers": 2, "bidirectional": True, "proj_size": 2}),
]


def case_label(name: str, mode, input_size, hidden_size, kw: dict) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in kw.items())
    return f"{name}(\"{mode}\", {input_size}, {hidden_size}{extra})"


def _layer_of(pname: str):
    m = LAYER.search(pname)
    return (int(m.group(1)), bool(m.group(2))) if m else (None, None)


def _names_hint(got: dict, want: dict, mode, kw) -> str:
    """Why the student's parameter names differ from torch's (never torch's full list)."""
    L, bi, P = kw.get("num_layers", 1), kw.get("bidirectional", False), kw.get("proj_size", 0)
    missing, extra = set(want) - set(got), set(got) - set(want)
    if bi and missing and all(n.endswith("_reverse") for n in missing) and not extra:
        return ("缺少反向方向的参数：bidirectional=True 时每一层还有一套反向参数，"
                "名字在层号后面加 _reverse（例如 weight_ih_l0_reverse）。")
    if not bi and extra and all(n.endswith("_reverse") for n in extra) and not missing:
        return "bidirectional=False 时没有 _reverse 参数：单向网络每层只有一套参数。"
    if missing and all(n.startswith("bias_") for n in missing) and not extra:
        return ("缺少偏置：这个函数没有 bias 参数，模块总是带偏置，而且每层、每个方向有两个偏置 "
                "bias_ih_l{k} 与 bias_hh_l{k}（PyTorch 为了与 cuDNN 兼容保留了两个）。")
    if missing and all(n.startswith("weight_hr") for n in missing) and not extra:
        return "proj_size > 0 时每层、每个方向还多一个投影矩阵 weight_hr_l{k}（双向时还有 weight_hr_l{k}_reverse）。"
    if P == 0 and extra and all(n.startswith("weight_hr") for n in extra) and not missing:
        return "proj_size=0 表示没有投影，也就没有 weight_hr_l{k}。"
    got_layers = {_layer_of(n)[0] for n in got} - {None}
    if got_layers and got_layers != set(range(L)) and all(_layer_of(n)[0] is not None for n in got):
        return (f"层号不对：num_layers={L} 时每一层都有自己的一套参数，层号 k 从 0 数到 num_layers-1，"
                f"而你的字典里出现的层号是 {sorted(got_layers)}。")
    strange = sorted(extra)[:4]
    return ("参数名与 named_parameters() 给出的不一致"
            + (f"：PyTorch 没有这些名字 {strange}" if strange else "")
            + (f"；还少了 {len(missing)} 个参数" if missing else "")
            + "。名字的格式是 weight_ih_l0、bias_hh_l1、weight_hh_l0_reverse 这样。")


def _shape_hint(pname: str, got: tuple, want: tuple, mode, input_size, hidden_size, kw) -> str:
    """Why one parameter's shape differs, when a classic mistake explains it ("" otherwise)."""
    H, P = hidden_size, kw.get("proj_size", 0)
    D = 2 if kw.get("bidirectional", False) else 1
    k, _ = _layer_of(pname)
    if len(got) == 2 and got == want[::-1] and got != want:
        return "行和列反了：PyTorch 的权重按 (输出, 输入) 存放，计算时用 x @ W.T。"
    if pname.startswith("weight_hr"):
        return "weight_hr_l{k} 把 hidden_size 维的隐状态投影到 proj_size 维：想一想它的输出和输入各是多少维。"
    if len(got) != len(want):
        return "权重是二维的 (行, 列)，偏置是一维的 (行,)。"
    if got[0] != want[0] and got[0] % H == 0 and got[0] // H in (1, 2, 3, 4, 6, 8):
        return GATE_WORDS[mode]
    if len(got) == 2 and got[0] == want[0]:
        cols, h_out = got[1], (P or H)
        if pname.startswith("weight_ih") and k == 0:
            return "第 0 层的输入就是 x：weight_ih_l0 的列数是 input_size。"
        if pname.startswith("weight_ih") and k and k > 0:
            if D == 2 and cols == h_out:
                return ("双向网络第 k≥1 层的输入是下面一层两个方向在同一时间步的输出连结起来，"
                        "不只是一个方向的输出。")
            if P and cols == D * H:
                return "有投影时每个方向输出的是投影后的隐状态：下面一层每个方向给出 proj_size 维，而不是 hidden_size 维。"
            if cols == input_size and input_size != want[1]:
                return "第 k≥1 层的输入是下面一层的输出，不是 x：它的列数与 input_size 无关。"
        if pname.startswith("weight_hh") and P and cols == H:
            return "有投影时传到下一时间步的是投影后的隐状态（proj_size 维）：weight_hh 乘的是它。"
    return ""


def _check_shape_dict(got, want: dict, label: str, mode, input_size, hidden_size, kw) -> None:
    __tracebackhide__ = True
    if not isinstance(got, dict):
        fail(f"{label} 应当返回一个 dict（参数名 → 形状元组），实际返回的是 {describe(got)}。")
    for pname, shape in got.items():
        if isinstance(shape, list):
            fail(f"{label}：{pname} 的形状是列表，请写成元组，例如 (2, 3)（可以用 tuple(...) 转换）。")
        if type(shape) is int:
            fail(f"{label}：{pname} 的形状是一个整数，应当是元组。注意一维的形状要写成 (n,)，(n) 就是 n 本身。")
        if not isinstance(shape, tuple) or not all(type(d) is int for d in shape):
            fail(f"{label}：{pname} 的形状应当是由整数（int）组成的元组，实际是 {describe(shape)}"
                 + ("，其中有不是 int 的元素。" if isinstance(shape, tuple) else "。"))
    if set(got) != set(want):
        fail(f"{label}：{_names_hint(got, want, mode, kw)}")
    for pname in want:  # named_parameters() order: the first wrong parameter is named
        g = tuple(got[pname])
        if g != want[pname]:
            hint = _shape_hint(pname, g, want[pname], mode, input_size, hidden_size, kw)
            fail(f"{label}：{pname} 的形状 {g} 不对。"
                 + (hint or "想一想它的行对应什么（几组 × 多少维）、列对应它乘的是什么输入。"))


@fresh_torch_state
def check_recurrent_param_shapes(recurrent_param_shapes) -> str:
    """Visible check: every mode, 1 and more layers, both directions, proj_size (the ValueError is checked apart)."""
    name = "recurrent_param_shapes"
    wants = [param_shapes_by_torch(m, i, h, **kw) for m, i, h, kw in SHAPE_CASES]
    for (mode, i, h, kw), want in zip(SHAPE_CASES, wants):
        label = case_label(name, mode, i, h, kw)
        got = run_param_fn(recurrent_param_shapes, name, mode, i, h, **kw)
        _check_shape_dict(got, want, label, mode, i, h, kw)
    return "recurrent_param_shapes 通过了可见检查（形状）。"


def refuses_proj_size(fn, name: str, cases) -> str:
    """Visible check of the contract's own item: proj_size > 0 for RNN or GRU raises ValueError.
    It has its own points, so a function whose shapes are all right keeps theirs without it."""
    __tracebackhide__ = True
    for mode, i, h, kw in cases:
        expect_value_error(fn, name, case_label(name, mode, i, h, kw), mode, i, h, **kw)
    return f"{name} 通过了可见检查（拒绝 proj_size 用在 RNN、GRU 上）。"


@fresh_torch_state
def check_recurrent_param_shapes_refuses_proj_size(recurrent_param_shapes) -> str:
    return refuses_proj_size(recurrent_param_shapes, "recurrent_param_shapes", PROJ_ERROR_CASES)


# ------------------------------------------------------------------ recurrent_num_params

COUNT_CASES = [
    ("RNN", 10, 20, {}),
    ("GRU", 10, 20, {}),
    ("LSTM", 50, 100, {"num_layers": 2}),
    ("RNN", 100, 15, {"num_layers": 2, "bidirectional": True}),
    ("GRU", 6, 5, {"num_layers": 3, "bidirectional": True, "bias": False}),
    ("LSTM", 7, 10, {"num_layers": 2, "bidirectional": True, "proj_size": 3}),
    ("LSTM", 8, 6, {"bias": False, "proj_size": 2}),
    ("RNN", 4, 3, {"num_layers": 2, "bias": False}),
]
COUNT_ERROR_CASES = [
    ("RNN", 8, 6, {"proj_size": 3}),
    ("GRU", 5, 7, {"num_layers": 2, "bidirectional": True, "bias": False, "proj_size": 2}),
]


def _count_variants(mode, input_size, hidden_size, kw) -> list[tuple[int, str]]:
    """[(count, hint)]: torch's counts for the questions a classic mistake answers instead."""
    L, bi = kw.get("num_layers", 1), kw.get("bidirectional", False)
    bias, P = kw.get("bias", True), kw.get("proj_size", 0)
    full = dict(num_layers=L, bidirectional=bi, bias=bias, proj_size=P)
    found = param_shapes_by_torch(mode, input_size, hidden_size, L, bi, P, bias)
    numel = {n: math.prod(s) for n, s in found.items()}
    want = sum(numel.values())
    G = _shape_model.GATES[mode]
    out: list[tuple[int, str]] = []

    def by_torch(**changes):
        return num_params_by_torch(mode, input_size, hidden_size, **{**full, **changes})

    if bi:
        out.append((by_torch(bidirectional=False),
                    "结果像是单向网络的参数数：bidirectional=True 时每一层还有一套同样大小的反向参数。"))
        out.append((sum(v for n, v in numel.items() if not n.endswith("_reverse")),
                    "只数了前向方向：bidirectional=True 时每一层的反向方向还有一套同样形状的参数（名字带 _reverse）。"))
        upper = [n for n in found if n.startswith("weight_ih") and _layer_of(n)[0]]
        if upper:
            out.append((want - sum(numel[n] // 2 for n in upper),
                        "第 k≥1 层的 weight_ih 少算了一半：双向网络上面各层的输入是下面一层两个方向的输出连结起来。"))
    if L > 1:
        out.append((by_torch(num_layers=1), f"结果像是只算了一层：num_layers={L} 时每一层都有自己的参数。"))
        upper = [n for n in found if n.startswith("weight_ih") and _layer_of(n)[0]]
        out.append((want - sum(numel[n] for n in upper) + sum(found[n][0] * input_size for n in upper),
                    "第 k≥1 层的输入是下面一层的输出，不是 x：它的 weight_ih 的列数与 input_size 无关。"))
    if bias:
        out.append((by_torch(bias=False), "偏置没有算进去：bias=True 时每层、每个方向有 bias_ih 与 bias_hh 两个偏置。"))
        out.append((want - sum(v for n, v in numel.items() if n.startswith("bias_hh")),
                    "只算了一个偏置：PyTorch 每层、每个方向有 bias_ih 与 bias_hh 两个偏置（为了与 cuDNN 兼容）。"))
    else:
        out.append((by_torch(bias=True), "bias=False 时模块没有偏置参数，不要把偏置算进去。"))
    if P:
        out.append((by_torch(proj_size=0), "proj_size 被忽略了：有投影时多了 weight_hr，而且 weight_hh 与上面各层的输入都变成了 proj_size 维。"))
        out.append((want - sum(v for n, v in numel.items() if n.startswith("weight_hr")),
                    "投影矩阵 weight_hr_l{k} 没有算进去。"))
    for g in (1, 2, 3, 4):
        if g != G:
            out.append((sum(v if n.startswith("weight_hr") else v // G * g for n, v in numel.items()),
                        "结果像是把门块数数错了。" + GATE_WORDS[mode]))
    # A count that two different mistakes give names neither: the generic message is given instead.
    hints_of: dict[int, set[str]] = {}
    for c, h in out:
        hints_of.setdefault(c, set()).add(h)
    return [(c, h) for c, h in out if c != want and len(hints_of[c]) == 1]


@fresh_torch_state
def check_recurrent_num_params(recurrent_num_params) -> str:
    """Visible check: every mode, layers, directions, bias on/off, proj_size (the ValueError is checked apart)."""
    name = "recurrent_num_params"
    prepared = [(num_params_by_torch(m, i, h, **kw), _count_variants(m, i, h, kw)) for m, i, h, kw in COUNT_CASES]
    for (mode, i, h, kw), (want, variants) in zip(COUNT_CASES, prepared):
        label = case_label(name, mode, i, h, kw)
        got = run_param_fn(recurrent_num_params, name, mode, i, h, **kw)
        if type(got) is not int:
            if isinstance(got, bool) or got is None:
                fail(f"{label} 应当返回一个整数（int），实际返回的是 {describe(got)}。")
            if isinstance(got, float):
                fail(f"{label} 返回了浮点数 {got!r}：参数个数是整数，请返回 int（用 // 做整除，或 int(...)）。")
            if isinstance(got, torch.Tensor):
                fail(f"{label} 返回的是张量，请返回 Python 的 int（可以用 int(...) 转换）。")
            if hasattr(got, "__index__"):
                fail(f"{label} 返回的是 {describe(got)}，请返回 Python 的 int（可以用 int(...) 转换）。")
            fail(f"{label} 应当返回一个整数（int），实际返回的是 {describe(got)}。")
        if got == want:
            continue
        for count, hint in variants:
            if got == count:
                fail(f"{label} 不对。{hint}")
        fail(f"{label} 不对。逐项数一数：每层、每个方向的 weight_ih、weight_hh、两个偏置"
             "（以及有投影时的 weight_hr）各有多少个元素。")
    return "recurrent_num_params 通过了可见检查（参数个数）。"


@fresh_torch_state
def check_recurrent_num_params_refuses_proj_size(recurrent_num_params) -> str:
    return refuses_proj_size(recurrent_num_params, "recurrent_num_params", COUNT_ERROR_CASES)


# ------------------------------------------------------------------ final_states_from_output

def _quietly(kind, *args, **kwargs) -> nn.Module:
    """A new module whose default initialisation does not advance the student's global RNG."""
    with torch.random.fork_rng(devices=[]):
        return kind(*args, **kwargs)


@dataclass
class StatesCase:
    mode: str
    output: torch.Tensor
    h_n: torch.Tensor
    hidden_size: int
    num_layers: int
    batch_first: bool
    defaults: bool = False  # call without batch_first (its default)

    @property
    def label(self) -> str:
        T, B = self.seq_batch
        args = f"output, {self.hidden_size}" + ("" if self.defaults else f", batch_first={self.batch_first}")
        return (f"final_states_from_output({args})（output 来自双向 nn.{self.mode}，num_layers={self.num_layers}，"
                f"seq={T}，batch={B}）")

    @property
    def seq_batch(self) -> tuple[int, int]:
        a, b = self.output.shape[:2]
        return (b, a) if self.batch_first else (a, b)


def make_states_case(seed, mode, seq, batch, input_size, hidden_size, num_layers=1, batch_first=False,
                     defaults=False) -> StatesCase:
    """A seeded bidirectional module of `mode`, run by torch: its output and h_n."""
    g = oracles.seeded(seed)
    module = _quietly(getattr(nn, mode), input_size, hidden_size, num_layers, bidirectional=True,
                      batch_first=batch_first)
    oracles.fill_parameters(module, g)
    x = oracles.randn(g, *((batch, seq, input_size) if batch_first else (seq, batch, input_size)))
    with torch.no_grad():
        output, state = module(x)
    h_n = state[0] if isinstance(state, tuple) else state
    return StatesCase(mode, output, h_n, hidden_size, num_layers, batch_first, defaults)


def states_by_torch(case: StatesCase):
    """(forward_last, backward_last) as torch gives them: h_n[-2] and h_n[-1]."""
    return case.h_n[-2].clone(), case.h_n[-1].clone()


def _states_variants(case: StatesCase):
    """[(forward, backward, hint)]: what reading torch's output in a classic wrong way gives."""
    fwd, bwd = states_by_torch(case)
    H = case.hidden_size
    out = case.output.transpose(0, 1) if case.batch_first else case.output  # time-major
    last, first = out[-1], out[0]
    found = [
        (bwd, fwd, "前向和反向弄反了：返回 (forward_last, backward_last)，前向在前；"
                   "output 最后一维的前 hidden_size 个是前向，后 hidden_size 个是反向。"),
        (fwd, last[:, H:], "反向的最终隐状态不在最后一个时间步：output 最后一个时间步的后一半，"
                           "是反向方向只读了最后一个时间步之后的隐状态。想一想反向方向最后读到的是哪个时间步。"),
        (first[:, :H], bwd, "前向的最终隐状态不在第 0 个时间步：前向方向在第 0 个时间步只读了一个输入。"
                            "想一想前向方向最后读到的是哪个时间步。"),
        (last[:, H:], first[:, :H], "两个方向在 output 最后一维里的位置弄反了：前一半（前 hidden_size 个）是前向，"
                                    "后一半是反向。"),
    ]
    if case.batch_first:
        # (B, T, 2H) made (T, B, 2H) by reshape (or contiguous().view): the same elements in the same order,
        # regrouped, so [t] of the result is no time step at all, not a shifted one.
        T, B = case.seq_batch
        regrouped = case.output.reshape(T, B, 2 * H)
        found.append((regrouped[-1, :, :H], regrouped[0, :, H:],
                      "batch_first=True 时把 (batch, seq, 2×hidden_size) 换成 (seq, batch, 2×hidden_size) 要用 "
                      "transpose(0, 1)（或 permute(1, 0, 2)），不能用 reshape 或 view：它们只改变形状、不移动元素，"
                      "把元素按原来的先后顺序重新分组，于是各个时间步、各个样本的数被打乱混在了一起，"
                      "取到的不是错开了一个时间步的隐状态。"))
    return [(f, b, hint) for f, b, hint in found if not (close(f, fwd) and close(b, bwd))]


def _states_shape_hint(got: tuple, case: StatesCase) -> str:
    T, B = case.seq_batch
    H = case.hidden_size
    if got == (T, H) or got == (T, 2 * H):
        return ("时间步和批量弄混了：" + ("batch_first=True 时 output 是 (batch, seq, 2×hidden_size)，时间步在第 1 维。"
                                  if case.batch_first else
                                  "batch_first=False 时 output 是 (seq, batch, 2×hidden_size)，时间步在第 0 维。"))
    if got == (B, 2 * H):
        return "每个方向只占 output 最后一维的一半（hidden_size 个）：前一半是前向，后一半是反向。"
    if len(got) == 3:
        return "每个方向的最终隐状态是二维的 (batch, hidden_size)：只取一个时间步。"
    return ""


def states_cases() -> list[StatesCase]:
    return [
        make_states_case(5101, "RNN", 5, 3, 4, 6, num_layers=1, defaults=True),
        make_states_case(5102, "GRU", 4, 2, 3, 5, num_layers=2, batch_first=True),
        make_states_case(5103, "LSTM", 6, 4, 2, 5, num_layers=3, batch_first=False),
        make_states_case(5104, "LSTM", 3, 5, 4, 2, num_layers=2, batch_first=True),
    ]


def run_final_states(fn, case: StatesCase):
    """Call the student's function on a copy of the case's output; a pair of plain tensors back."""
    __tracebackhide__ = True
    name = "final_states_from_output"
    args = (case.output.clone(), case.hidden_size)
    result = call(fn, name, *args) if case.defaults else call(fn, name, *args, batch_first=case.batch_first)
    f, b = unpack_pair(result, name, "(forward_last, backward_last)")
    return check_is_tensor(f, f"{name} 的 forward_last"), check_is_tensor(b, f"{name} 的 backward_last")


@fresh_torch_state
def check_final_states_from_output(final_states_from_output) -> str:
    """Visible check: RNN/GRU/LSTM outputs, 1 to 3 layers, batch_first off and on, the default call."""
    cases = states_cases()
    prepared = [(case, states_by_torch(case), _states_variants(case)) for case in cases]
    for case, (want_f, want_b), variants in prepared:
        f, b = run_final_states(final_states_from_output, case)
        if close(f, want_f) and close(b, want_b):
            continue
        for vf, vb, hint in variants:
            if close(f, vf) and close(b, vb):
                fail(f"{case.label}：结果不对。{hint}")
        for what, got, want in (("forward_last", f, want_f), ("backward_last", b, want_b)):
            if shape_of(got) != shape_of(want):
                fail(f"{case.label}：{what} 的形状是 {shape_of(got)}，应当是 (batch, hidden_size)。"
                     + _states_shape_hint(shape_of(got), case))
            if not close(got, want):
                fail(f"{case.label}：{what} 的形状对了，但它不是这个方向读完整条序列之后的隐状态"
                     f"（与 h_n 对应的那一行相比，最大差值 {max_abs_diff(got, want):.3g}）。"
                     "想一想这个方向最后读到的是哪个时间步，它又占 output 最后一维的哪一半。")
    return "final_states_from_output 通过了可见检查。"


# ------------------------------------------------------------------ manual_bidirectional_rnn

def _layer_only(rnn: nn.RNN, k: int, reverse: bool) -> nn.RNN:
    """One direction of layer k of `rnn` alone, as a one-layer, one-direction nn.RNN (time-major)."""
    H = rnn.hidden_size
    new = _quietly(nn.RNN, rnn.input_size if k == 0 else 2 * H, H)
    old = dict(rnn.named_parameters())
    with torch.no_grad():
        for name, p in new.named_parameters():
            p.copy_(old[name[:-1] + str(k) + ("_reverse" if reverse else "")].detach())
    return new


def _like(rnn: nn.RNN, edit) -> nn.RNN:
    """A copy of the bidirectional `rnn` with `edit(name, tensor, all_params)` applied to each parameter."""
    new = _quietly(nn.RNN, rnn.input_size, rnn.hidden_size, rnn.num_layers, bidirectional=True)
    old = {n: p.detach() for n, p in rnn.named_parameters()}
    with torch.no_grad():
        for name, p in new.named_parameters():
            p.copy_(edit(name, old[name], old))
    return new


def _run(module: nn.RNN, x):
    with torch.no_grad():
        return module(x)


@dataclass
class BiCase:
    rnn: nn.RNN
    x: torch.Tensor
    new: str  # what this case tries for the first time (for the generic message)

    @property
    def label(self) -> str:
        r = self.rnn
        return (f"manual_bidirectional_rnn（num_layers={r.num_layers}, seq={self.x.shape[0]}, "
                f"batch={self.x.shape[1]}, input_size={r.input_size}, hidden_size={r.hidden_size}）")


def make_bi_case(seed, seq, batch, input_size, hidden_size, num_layers=1, new="") -> BiCase:
    """A seeded bidirectional nn.RNN (tanh, bias, sequence-first) and its input."""
    g = oracles.seeded(seed)
    rnn = _quietly(nn.RNN, input_size, hidden_size, num_layers, bidirectional=True)
    oracles.fill_parameters(rnn, g)
    return BiCase(rnn, oracles.randn(g, seq, batch, input_size), new)


BACKWARD_LEFT_REVERSED = ("反向的输出还是按它处理的顺序（从最后一个时间步到第 0 个）放着：要翻转回原来的时间顺序，"
                          "使 output[t] 的后一半是反向方向读到 x[t] 时的隐状态。")


def _bi_variants(case: BiCase):
    """(output, h_n, [(output, h_n, hint)]): torch's answer and its answers to nearby wrong questions."""
    rnn, x = case.rnn, case.x
    L, H = rnn.num_layers, rnn.hidden_size
    T, B = x.shape[:2]
    want_out, want_hn = _run(rnn, x)
    found = []

    def add(pair, hint):
        found.append((pair[0], pair[1], hint))

    add(_run(_like(rnn, lambda n, v, old: old[n.removesuffix("_reverse")]), x),
        "反向方向用的是前向的参数：反向方向有自己的一套参数，名字以 _reverse 结尾（例如 weight_ih_l0_reverse）。")
    zero = lambda which: (lambda n, v, old: torch.zeros_like(v) if n.startswith(which) else v)  # noqa: E731
    add(_run(_like(rnn, zero("bias_ih")), x), "bias_ih_l{k}（以及 bias_ih_l{k}_reverse）似乎没有加上。")
    add(_run(_like(rnn, zero("bias_hh")), x), "bias_hh_l{k}（以及 bias_hh_l{k}_reverse）似乎没有加上。")
    add(_run(_like(rnn, zero("bias")), x), "偏置似乎都没有加上：每层、每个方向有 bias_ih 与 bias_hh 两个偏置。")
    add(_run(_like(rnn, lambda n, v, old: torch.zeros_like(v) if n.startswith("bias") and n.endswith("_reverse")
                    else v), x),
        "反向方向的偏置 bias_ih_l{k}_reverse、bias_hh_l{k}_reverse 似乎没有加上。")
    add(_run(_like(rnn, lambda n, v, old: v.T if n.startswith("weight_hh") else v), x),
        "隐状态与 weight_hh 相乘时少了转置：PyTorch 计算的是 h @ weight_hh_l{k}.T。")
    if L > 1:
        swap = lambda n, v, old: (torch.cat((v[:, H:], v[:, :H]), dim=1)  # noqa: E731
                                  if n.startswith("weight_ih") and _layer_of(n)[0] else v)
        add(_run(_like(rnn, swap), x),
            "第 k≥1 层的输入连结顺序反了：下面一层的输出在每个时间步是 (前向, 反向) 这样连结的，前向在前。")
        add((want_out, want_hn.reshape(L, 2, B, H).transpose(0, 1).reshape(2 * L, B, H)),
            "h_n 的顺序不对：h_n 按层排列，每层里先前向、后反向，"
            "即 h_n[2k] 是第 k 层前向、h_n[2k+1] 是第 k 层反向的最终隐状态；不是先放所有前向、再放所有反向。")
    else:
        # One layer: the mistakes of the backward loop itself, from torch's two directions.
        fwd_out, bwd_out = want_out[..., :H], want_out[..., H:]
        add((torch.cat((fwd_out, bwd_out.flip(0)), dim=-1), want_hn), BACKWARD_LEFT_REVERSED)
        # Both halves in reverse time order (every output written at T-1-t, or the wrong half flipped back):
        # the backward one is still left reversed, and the forward one is reversed too.
        add((want_out.flip(0), want_hn),
            BACKWARD_LEFT_REVERSED + "前向的输出也倒过来了：前向方向本来就是按 t = 0, 1, …, T-1 的顺序算的，"
            "它的输出不要翻转（output[t] 的前一半是前向方向读到 x[t] 时的隐状态）。")
        rev_out, rev_hn = _run(_layer_only(rnn, 0, reverse=True), x)
        hint = "反向方向要从最后一个时间步读到第 0 个（把序列翻转过来读），结果像是它也按正常的时间顺序读了 x。"
        add((torch.cat((fwd_out, rev_out), dim=-1), torch.cat((want_hn[:1], rev_hn))), hint)
        add((torch.cat((fwd_out, rev_out.flip(0)), dim=-1), torch.cat((want_hn[:1], rev_hn))), hint)
        add((want_out, torch.stack((want_hn[0], bwd_out[-1]))),
            "h_n 里反向的最终隐状态，是反向方向读完整条序列（最后读到第 0 个时间步）之后的隐状态，"
            "不是 output 最后一个时间步的后一半。")
    return want_out, want_hn, [(o, h, hint) for o, h, hint in found
                               if not (close(o, want_out) and close(h, want_hn))]


def _no_fused_rnn(tripped: list):
    """torch.rnn_tanh/rnn_relu (behind the module torch would use) refuse inside the block."""
    return refusing(('rnn_tanh', 'rnn_relu'), NO_FUSED, tripped)


def guarded_copy(rnn: nn.RNN, tripped: list) -> nn.RNN:
    """A copy of `rnn` whose forward refuses to run (the student writes the loop)."""
    return _guarded_copy(rnn, NO_CALL, tripped)


UPPER_INPUT = ("第 k≥1 层的 weight_ih_l{k}（和 weight_ih_l{k}_reverse）的列数是 2×hidden_size：它的输入是"
               "下面一层两个方向在同一时间步的输出连结起来，不只是一个方向的输出。")


def run_manual_bidirectional(fn, rnn: nn.RNN, x, label: str = "manual_bidirectional_rnn",
                             upper_layers_only: bool = False):
    """Call the student's function on a guarded copy of `rnn`; returns (output, h_n, the copy).

    Fails (Chinese) when it calls rnn(...) or torch's fused RNN, modifies the parameters,
    raises, or does not return a pair of plain tensors. `upper_layers_only`: a one-layer
    case has passed already, so a shape error in matrix products is in the layers above.
    """
    __tracebackhide__ = True
    name = "manual_bidirectional_rnn"
    tripped: list = []
    twin = guarded_copy(rnn, tripped)
    before = {n: p.detach().clone() for n, p in twin.named_parameters()}
    try:
        with _no_fused_rnn(tripped):
            result = call(fn, name, twin, x.clone())
    except CheckFailed as e:
        if tripped:
            fail(tripped[0])
        msg = str(e)
        if "还没有实现" in msg:
            fail(msg)
        extra = ""
        if upper_layers_only and rnn.num_layers > 1 and ("矩阵乘法的形状对不上" in msg or "逐元素运算" in msg):
            # The one-layer case passed: the products of layer 0 are right, the input of the layers above is not.
            msg = "\n".join(line for line in msg.splitlines() if not line.startswith("提示："))
            extra = "\n提示：一层的例子已经通过了，这一例多了上面的层。" + UPPER_INPUT
        elif "AttributeError" in msg and "_l" in msg and "weight_" in msg:
            extra = f"\n这个 rnn 只有 {rnn.num_layers} 层：参数名里的层号 k 是 0 到 rnn.num_layers-1。"
        fail(f"{msg}{extra}\n（出错的这一例：{label}）")
    if tripped:  # the student's code caught our refusal and went on
        fail(tripped[0])
    now = dict(twin.named_parameters())
    if set(now) != set(before) or any(not close(now[n].detach(), before[n], atol=0, rtol=0) for n in before):
        fail(NO_EDIT)
    output, h_n = unpack_pair(result, name, "(output, h_n)")
    return check_is_tensor(output, f"{name} 的 output"), check_is_tensor(h_n, f"{name} 的 h_n"), twin


def _bi_shape_hint_output(got, case: BiCase) -> str:
    T, B = case.x.shape[:2]
    H, L = case.rnn.hidden_size, case.rnn.num_layers
    if got == (T, B, H):
        return "output 的最后一维应当是 2×hidden_size：每个时间步把前向与反向的隐状态连结起来。是不是漏了反向方向？"
    if got in ((T, B, 2, H), (2, T, B, H), (T, 2, B, H)):
        return "output 是三维的：用 torch.cat 在最后一维把两个方向连结起来，而不是 torch.stack 出新的一维。"
    if L > 1 and got == (T, B, 2 * H * L):
        return "output 只含最上面一层的两个方向，不要把各层连结起来。"
    if got == (B, T, 2 * H):
        return "x 是时间步在前的 (seq, batch, input_size)，output 也是 (seq, batch, 2×hidden_size)。"
    return ""


def _bi_shape_hint_hn(got, case: BiCase) -> str:
    B, H, L = case.x.shape[1], case.rnn.hidden_size, case.rnn.num_layers
    if got == (L, B, H) and L != 2:
        return "h_n 的第一维是 num_layers×2：每一层的两个方向各有一个最终隐状态。是不是漏了反向方向？"
    if got in ((L, 2, B, H), (2, L, B, H)):
        return "h_n 是三维的 (num_layers×2, batch, hidden_size)：把各层、各方向的最终隐状态叠在第 0 维。"
    if L > 2 and got == (2, B, H):  # with two layers this shape is also "no reverse direction": no guess
        return "h_n 要包含每一层两个方向的最终隐状态，不只是最上面一层的。"
    if got == (L, B, 2 * H):
        return "h_n 的每一行是一个方向的最终隐状态 (batch, hidden_size)，两个方向是分开的两行，不要连结。"
    return ""


def bi_cases() -> list[BiCase]:
    return [
        make_bi_case(5201, 5, 3, 4, 6, num_layers=1, new="一层"),
        make_bi_case(5202, 4, 3, 3, 5, num_layers=2,
                     new="两层（第 1 层读入第 0 层两个方向连结起来的输出，h_n 按层排列）"),
        make_bi_case(5203, 6, 4, 5, 2, num_layers=3, new="三层，且 hidden_size 小于 input_size"),
    ]


@fresh_torch_state
def check_manual_bidirectional_rnn(manual_bidirectional_rnn) -> str:
    """Visible check: one, two and three layers, then gradients of output and h_n."""
    cases = bi_cases()
    prepared = [(case, _bi_variants(case)) for case in cases]  # every expectation before the student runs
    grad_case = cases[1]
    grads = []
    for part in (0, 1):
        ref = copy.deepcopy(grad_case.rnn)
        ref(grad_case.x)[part].sum().backward()
        grads.append({n: p.grad.clone() for n, p in ref.named_parameters()})

    one_layer_passed = False
    for i, (case, (want_out, want_hn, variants)) in enumerate(prepared):
        output, h_n, _ = run_manual_bidirectional(manual_bidirectional_rnn, case.rnn, case.x, case.label,
                                                  upper_layers_only=one_layer_passed)
        if close(output, want_out) and close(h_n, want_hn):
            check_dtype(output, want_out, f"{case.label}：output")
            check_dtype(h_n, want_hn, f"{case.label}：h_n")
            one_layer_passed = one_layer_passed or case.rnn.num_layers == 1
            continue
        for v_out, v_hn, hint in variants:
            if close(output, v_out, atol=1e-4) and close(h_n, v_hn, atol=1e-4):
                fail(f"{case.label}：结果不对。{hint}")
        for what, got, want, shape_hint in (("output", output, want_out, _bi_shape_hint_output),
                                            ("h_n", h_n, want_hn, _bi_shape_hint_hn)):
            if shape_of(got) != shape_of(want):
                fail(f"{case.label}：{what} 的形状是 {shape_of(got)}，应当是 {shape_of(want)}。"
                     + shape_hint(shape_of(got), case))
            if not close(got, want):
                generic = ("逐项检查：前向从第 0 个时间步读到最后，反向用 _reverse 参数从最后一个时间步读到第 0 个；"
                           "两个方向都从全零的隐状态开始；output[t] 是 (前向, 反向) 在时间步 t 的隐状态连结起来。"
                           if i == 0 else f"前面的例子都通过了，这一例第一次用到：{case.new}。")
                fail(f"{case.label}：{what} 的形状对了，但数值不对（最大差值 {max_abs_diff(got, want):.3g}）。{generic}")

    for part, wants in zip(("output", "h_n"), grads):
        output, h_n, twin = run_manual_bidirectional(manual_bidirectional_rnn, grad_case.rnn, grad_case.x,
                                                     grad_case.label, upper_layers_only=True)
        check_gradients(part, output if part == "output" else h_n, twin, wants,
                        "某个参与计算的张量在用过之后又被原地修改了（例如往预先分配的张量里写入后又读它、+=）。"
                        "写入一个新的张量，或者先 .clone()。")
    return "manual_bidirectional_rnn 通过了可见检查。"
