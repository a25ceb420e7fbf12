"""Visible checks of assignment a2_rnn (rnn_io_shapes, manual_rnn), and the guarded call
its hidden tests use too.

Every expectation is torch's own answer, computed before the student's function runs:
shapes from a forward of zeros through an nn.RNN, values from the nn.RNN itself. Diagnosis asks
which plausible mistake the student's result matches: each "variant" is torch's answer to
a slightly different question (another nonlinearity, zeroed biases, transposed weights,
h0[0] for every layer, x fed to every layer...), built from real torch modules, so no
formula of the exercise is written here. A result that matches no variant gets a generic
message naming what this case changes, never a guessed diagnosis.

Each contract item has its own check (and its own points in the assignment): rnn_io_shapes'
batch_first=False cases and batch_first=True; manual_rnn's main cases (tanh, biases, batch_first=False,
h0 given), relu, bias=False, batch_first=True, h0=None and the gradients. An item's cases give an
all-zero h0 where h0 is not the item, and are graded on what the item changes: batch_first=True is
compared with the student's own time-major answer where that tells the items apart (h_n's layers in
rnn_io_shapes, a broken h0=None in manual_rnn), so one missing item costs only its own points. An
item's check that sees a wrong result first asks whether the main cases are right.

The student's `manual_rnn` receives a copy of the nn.RNN whose forward refuses to run,
and torch's fused sequence functions (torch.rnn_tanh / torch.rnn_relu, the kernels behind
nn.RNN.forward, and their torch.ops.aten operators) refuse too while it runs: the exercise is
the loop. `rnn_io_shapes` runs under core.deriving (derive): no module, kernel or oracle.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab import oracles
from rnnlab.checks.core import check_dtype, fresh_torch_state
from rnnlab.checks.core import check_gradients, guarded_copy as _guarded_copy, refusing
from rnnlab.checks.core import (  # noqa: F401  (expect_close and CheckFailed: the hidden tests use them)
    CheckFailed, call, check_is_tensor, close, derive, describe, expect_close, fail, max_abs_diff, shape_of,
)

NO_CALL = "不要调用 rnn(...)：请用它的参数自己写循环。"
NO_FUSED = ("不要调用 torch.rnn_tanh / torch.rnn_relu 或 torch.ops.aten.rnn_tanh / rnn_relu（nn.RNN 内部的融合实现）："
            "请用参数自己写循环。")
NO_EDIT = "manual_rnn 修改了 rnn 的参数：只读取 weight_ih_l{k} 等参数，不要改动它们。"


# ------------------------------------------------------------------ torch as the oracle

def io_shapes_by_torch(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    """(output shape, h_n shape) of a single-direction nn.RNN, from a forward of zeros on the CPU.

    Not on the meta device: meta tensors go through torch's Python decompositions, whose first use
    imports sympy (a second of CPU in every student's kernel). The module's random initialisation
    runs on a forked generator: the student's random numbers are not advanced.
    """
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=batch_first, device="cpu", dtype=torch.float32)
        shape = (batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)
        output, h_n = rnn(torch.zeros(shape, dtype=torch.float32, device="cpu"))
    return tuple(output.shape), tuple(h_n.shape)


def _quietly_built(**kwargs) -> nn.RNN:
    """A new nn.RNN whose default initialisation does not advance the student's global RNG."""
    with torch.random.fork_rng(devices=[]):
        return nn.RNN(**kwargs)


def _config(rnn: nn.RNN, **changes) -> dict:
    cfg = dict(input_size=rnn.input_size, hidden_size=rnn.hidden_size, num_layers=rnn.num_layers,
               nonlinearity=rnn.nonlinearity, bias=rnn.bias, batch_first=rnn.batch_first)
    cfg.update(changes)
    return cfg


def _like(rnn: nn.RNN, edit=None, **changes) -> nn.RNN:
    """A copy of `rnn` with some settings changed and `edit(name, tensor)` applied to each parameter."""
    new = _quietly_built(**_config(rnn, **changes))
    old = dict(rnn.named_parameters())
    with torch.no_grad():
        for name, p in new.named_parameters():
            value = old[name].detach() if name in old else torch.zeros_like(p)
            p.copy_(edit(name, value) if edit else value)
    return new


def _layer(rnn: nn.RNN, k: int) -> nn.RNN:
    """Layer k of `rnn` alone: a one-layer nn.RNN holding its parameters (time-major)."""
    new = _quietly_built(**_config(rnn, num_layers=1, batch_first=False,
                                   input_size=rnn.input_size if k == 0 else rnn.hidden_size))
    old = dict(rnn.named_parameters())
    with torch.no_grad():
        for name, p in new.named_parameters():
            p.copy_(old[name[:-1] + str(k)].detach())
    return new


def _run(module: nn.RNN, x, h0=None):
    with torch.no_grad():
        return module(x, h0)


@dataclass
class Case:
    """One visible case: a seeded nn.RNN, its input and h0, and what it adds to the cases before it."""
    rnn: nn.RNN
    x: torch.Tensor
    h0: torch.Tensor | None
    new: str  # the setting this case tries for the first time (for the generic message)
    zeros: bool = False  # h0 given, all zero: the items other than h0's own do not depend on h0

    @property
    def label(self) -> str:
        r = self.rnn
        h0 = "None" if self.h0 is None else "全零" if self.zeros else "给定"
        return (f"manual_rnn（num_layers={r.num_layers}, nonlinearity={r.nonlinearity}, bias={r.bias}, "
                f"batch_first={r.batch_first}, h0={h0}, input_size={r.input_size}, hidden_size={r.hidden_size}）")


def make_case(seed, seq, batch, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
              batch_first=False, with_h0=True, new="", h0_zeros=False) -> Case:
    g = oracles.seeded(seed)
    rnn = _quietly_built(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                         nonlinearity=nonlinearity, bias=bias, batch_first=batch_first)
    oracles.fill_parameters(rnn, g)
    x = oracles.randn(g, *((batch, seq, input_size) if batch_first else (seq, batch, input_size)))
    h0 = oracles.randn(g, num_layers, batch, hidden_size) if with_h0 else None
    if h0_zeros:
        h0 = torch.zeros(num_layers, batch, hidden_size)
    return Case(rnn, x, h0, new, zeros=h0_zeros)


def _variants(case: Case):
    """[(output, h_n, hint)]: torch's answers to the questions a classic mistake answers instead."""
    rnn, x, h0 = case.rnn, case.x, case.h0
    L, bf = rnn.num_layers, rnn.batch_first
    xt = x.transpose(0, 1) if bf else x               # time-major, for the layer-by-layer variants
    T, B = xt.shape[0], xt.shape[1]
    back = (lambda o: o.transpose(0, 1)) if bf else (lambda o: o)
    want_out, want_hn = _run(rnn, x, h0)
    out = []

    def add(module_or_pair, hint, h=h0, inp=x):
        pair = module_or_pair if isinstance(module_or_pair, tuple) else _run(module_or_pair, inp, h)
        out.append((pair[0], pair[1], hint))

    if h0 is not None:
        add(_run(rnn, x), "传入的 h0 没有被使用：结果像是从全零的隐状态开始的。")
        if L > 1:
            add(rnn, "每一层都从 h0[0] 开始了：第 k 层的初始隐状态是 h0[k]。", h=h0[:1].expand(L, -1, -1).contiguous())
    if L > 1:
        if rnn.input_size == rnn.hidden_size:
            outs, hs = [], []
            for k in range(L):
                o, h = _run(_layer(rnn, k), xt, None if h0 is None else h0[k:k + 1])
                outs.append(o)
                hs.append(h)
            add((back(outs[-1]), torch.cat(hs)),
                "每一层都读入了 x：第 1 层及以上的输入应当是下面一层在各个时间步的输出，而不是 x。")
            # The same loop whose layer outputs are never kept: the input that "goes up" stays x, to the end.
            add((x, torch.cat(hs)),
                "每一层都读入了 x，返回的 output 也原样是 x：每一层在各个时间步的输出要收集起来（torch.stack），"
                "作为上面一层的输入；output 是最上面一层的这些输出。")
        first, _ = _run(_layer(rnn, 0), xt, None if h0 is None else h0[:1])
        add((back(first), want_hn), "output 应当来自最上面一层（第 num_layers-1 层），而不是第 0 层。")
        add((want_out, want_hn.flip(0)), "h_n 的层顺序反了：h_n[0] 是第 0 层（最靠近输入的一层）最后的隐状态。")
    other = "tanh" if rnn.nonlinearity == "relu" else "relu"
    add(_like(rnn, nonlinearity=other),
        f"这个 rnn 的 nonlinearity 是 \"{rnn.nonlinearity}\"，结果却像是用了 {other}：按 rnn.nonlinearity 选择激活函数。")
    if rnn.bias:
        zero = lambda which: (lambda n, v: torch.zeros_like(v) if n.startswith(which) else v)  # noqa: E731
        add(_like(rnn, zero("bias_ih")), "bias_ih_l{k} 似乎没有加上。")
        add(_like(rnn, zero("bias_hh")), "bias_hh_l{k} 似乎没有加上。")
        add(_like(rnn, zero("bias")), "两个偏置 bias_ih_l{k}、bias_hh_l{k} 似乎都没有加上。")
    add(_like(rnn, lambda n, v: v.T if n.startswith("weight_hh") else v),
        "隐状态与 weight_hh_l{k} 相乘时少了转置：PyTorch 计算的是 h @ weight_hh_l{k}.T。")
    if any(getattr(rnn, f"weight_ih_l{k}").shape[0] == getattr(rnn, f"weight_ih_l{k}").shape[1] for k in range(L)):
        add(_like(rnn, lambda n, v: v.T if n.startswith("weight_ih") and v.shape[0] == v.shape[1] else v),
            "输入与 weight_ih_l{k} 相乘时少了转置：PyTorch 计算的是 x_t @ weight_ih_l{k}.T。")
    # Every time step restarted from h0: T*B independent one-step sequences.
    flat = xt.reshape(1, T * B, -1)
    h_rep = None if h0 is None else h0.repeat(1, T, 1)
    o, h = _run(_like(rnn, batch_first=False), flat, h_rep)
    add((back(o.reshape(T, B, -1)), h.reshape(L, T, B, -1)[:, -1]),
        "每个时间步都从初始隐状态重新开始了：隐状态要一步一步传下去（第 t 步用第 t-1 步的结果）。")
    if bf and h0 is None:
        add(_like(rnn, batch_first=False),
            "batch_first=True 时 x 的形状是 (batch, seq, input_size)：时间步在第 1 维，应当按 x[:, t] 取。")
    return want_out, want_hn, [(o, h, hint) for o, h, hint in out
                               if not (close(o, want_out) and close(h, want_hn))]


# ------------------------------------------------------------------ the guarded call

def _no_fused_rnn(tripped: list):
    """torch.rnn_tanh/rnn_relu (behind the module torch would use) refuse inside the block."""
    return refusing(('rnn_tanh', 'rnn_relu'), NO_FUSED, tripped)


def guarded_copy(rnn: nn.RNN, tripped: list) -> nn.RNN:
    """A copy of `rnn` whose forward refuses to run (the student writes the loop)."""
    return _guarded_copy(rnn, NO_CALL, tripped)


def _augment(msg: str, case_label: str, rnn: nn.RNN) -> str:
    """Assignment-specific hints for an error raised inside the student's code."""
    if "还没有实现" in msg:
        return msg
    extra = ""
    if "AttributeError" in msg and "bias_" in msg and not rnn.bias:
        extra = ("这个 rnn 是用 bias=False 建的，它没有 bias_ih_l{k}、bias_hh_l{k}："
                 "先看 rnn.bias，再决定要不要加偏置。")
    elif "AttributeError" in msg and "_l" in msg and "weight_" in msg:
        extra = f"这个 rnn 只有 {rnn.num_layers} 层：参数名里的层号 k 是 0 到 rnn.num_layers-1。"
    return f"{msg}\n{extra}（出错的这一例：{case_label}）" if extra else f"{msg}\n（出错的这一例：{case_label}）"


DEFAULT_H0 = ("同一例传入全零的 h0 时，你的函数算对了：问题出在 h0=None 时的处理。h0=None 表示从全零的隐状态开始，"
              "新建的全零 h0 要与传入的 h0 形状相同，即 (num_layers, batch, hidden_size)，有层这一维，"
              "h0[k] 才是第 k 层的 (batch, hidden_size)。")


def _default_h0_hint(manual_rnn, case: Case, want_out, want_hn) -> str:
    """DEFAULT_H0 when the student's function, failing with h0=None, gives torch's answer for h0 = zeros
    (what h0=None means); "" otherwise. The case's expectations were computed before the student ran."""
    try:
        output, h_n, _ = run_manual_rnn(manual_rnn, case.rnn, case.x, case.x.new_zeros(shape_of(want_hn)),
                                        case.label)
    except CheckFailed:
        return ""
    return DEFAULT_H0 if close(output, want_out) and close(h_n, want_hn) else ""


def _with_hint(msg: str, hint: str) -> str:
    """`msg` (a failed call, from run_manual_rnn) with its 提示 lines replaced by `hint`, before the case line."""
    lines = [line for line in msg.splitlines() if not line.startswith("提示：")]
    at = next((i for i, line in enumerate(lines) if line.startswith("（出错的这一例：")), len(lines))
    return "\n".join(lines[:at] + ["提示：" + hint] + lines[at:])


def run_manual_rnn(manual_rnn, rnn: nn.RNN, x, h0=None, label: str = "manual_rnn"):
    """Call the student's manual_rnn on a guarded copy of `rnn`; returns (output, h_n, the copy).

    Fails (Chinese) when it calls rnn(...) or torch's fused RNN, modifies the parameters,
    raises, or does not return a pair of plain tensors. Used by the visible check and the
    hidden tests alike.
    """
    name = "manual_rnn"
    tripped: list = []
    twin = guarded_copy(rnn, tripped)
    before = {n: p.detach().clone() for n, p in twin.named_parameters()}
    args = (twin, x.clone(), None if h0 is None else h0.clone())
    try:
        with _no_fused_rnn(tripped):
            result = call(manual_rnn, name, *args)
    except CheckFailed as e:
        if tripped:
            fail(tripped[0])
        fail(_augment(str(e), label, rnn))
    if tripped:  # the student's code caught our refusal and went on
        fail(tripped[0])
    now = dict(twin.named_parameters())
    if set(now) != set(before) or any(not close(now[n].detach(), before[n], atol=0, rtol=0) for n in before):
        fail(NO_EDIT)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = describe(result) + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "")
        fail(f"{name} 应当返回一个二元组 (output, h_n)，实际返回的是 {got}。")
    output = check_is_tensor(result[0], f"{name} 的 output")
    h_n = check_is_tensor(result[1], f"{name} 的 h_n")
    return output, h_n, twin


# ------------------------------------------------------------------ visible checks

def _shape_hint_output(got, want, case: Case) -> str:
    T, B = (case.x.shape[1], case.x.shape[0]) if case.rnn.batch_first else (case.x.shape[0], case.x.shape[1])
    H = case.rnn.hidden_size
    if case.rnn.batch_first and got == (T, B, H):
        return "batch_first=True 时 output 也是批量在前：(batch, seq, hidden_size)。"
    if not case.rnn.batch_first and got == (B, T, H):
        return "batch_first=False 时 output 是时间步在前：(seq, batch, hidden_size)。"
    one_more = list(want)
    one_more[1 if case.rnn.batch_first else 0] += 1
    if got == tuple(one_more):
        return "output 多了一个时间步：output 的第 t 个时间步是读入 x 的第 t 步之后的隐状态，不要把 h0 放进去。"
    if case.rnn.num_layers > 1 and got == tuple(want[:2]) + (H * case.rnn.num_layers,):
        return "output 只含最上面一层的隐状态，不要把各层连结起来。"
    if len(got) != 3:
        return "output 是三维的：每个时间步、每个样本一个 hidden_size 维的隐状态。"
    return ""


def _shape_hint_hn(got, want, case: Case) -> str:
    L, B, H = want
    if case.rnn.batch_first and got == (B, L, H) and L != B:
        return "h_n 不受 batch_first 影响：无论 batch_first 是什么，h_n 都是 (num_layers, batch, hidden_size)。"
    if L > 1 and got in ((1, B, H), (B, H)):
        return "h_n 应当包含每一层最后的隐状态（num_layers 个），不只是最上面一层的。"
    if got == (B, H):
        return "输入是一批序列 (seq, batch, …) 时，h_n 是三维的 (num_layers, batch, hidden_size)，即使 num_layers=1。"
    return ""


def _check_shape_part(value, want, what: str, case: Case, hint_for_shape) -> None:
    got = shape_of(value)
    if got != shape_of(want):
        hint = hint_for_shape(got, shape_of(want), case)
        fail(f"{case.label}：{what} 的形状是 {got}，应当是 {shape_of(want)}。{hint}")


def _check_value_part(value, want, what: str, case: Case, generic: str) -> None:
    if not close(value, want):
        fail(f"{case.label}：{what} 的形状对了，但数值不对（最大差值 {max_abs_diff(value, want):.3g}）。{generic}")


def _generic(case: Case, first: bool, item: bool = False) -> str:
    if first:
        return ("逐项检查：每一层、每个时间步的 x_t @ weight_ih_l{k}.T + bias_ih_l{k} + h @ weight_hh_l{k}.T "
                "+ bias_hh_l{k}，激活函数，以及上一层的输出是下一层的输入。")
    if item:
        return f"上面的主检查通过了，这一例第一次用到：{case.new}。"
    return f"前面的例子都通过了，这一例第一次用到：{case.new}。"


CORE_FIRST = ("h0 给定、tanh、有偏置、batch_first=False 的例子（上面「可见检查：manual_rnn」那一格）就已经不对了："
              "先按那一格的提示把它改对，再看这一项。")
BATCH_FIRST = ("同一例把 x 转成 (seq, batch, input_size)、交给 batch_first=False 的同一个 rnn 时，你的函数算对了："
               "问题出在 batch_first=True 的处理。batch_first=True 时 x 的形状是 (batch, seq, input_size)，时间步在第 1 维；"
               "output 也按这个布局返回，h0 和 h_n 却不受它影响。")
BATCH_FIRST_H0 = "h0=None 时新建的全零 h0 同样是 (num_layers, batch, hidden_size)：batch 要按 batch_first 所说的布局从 x 的形状里取。"


def core_cases() -> list[Case]:
    """The main check's cases: tanh, biases, batch_first=False, a random h0 given; one to three layers."""
    return [
        make_case(2001, 5, 3, 4, 4, num_layers=2, with_h0=True, new="两层、给定 h0"),
        make_case(2003, 4, 2, 3, 5, num_layers=1, with_h0=True, new="num_layers=1，且 input_size ≠ hidden_size"),
        make_case(2009, 6, 2, 5, 4, num_layers=3, with_h0=True, new="三层"),
    ]


def item_cases() -> dict[str, list[Case]]:
    """Each contract item's cases (its own check and points). h0 is all zeros where h0 is not the item,
    so that a mistake about h0 costs only h0's points (the main check gives a random h0)."""
    return {
        "relu": [
            make_case(2005, 6, 2, 5, 4, num_layers=3, nonlinearity="relu", h0_zeros=True,
                      new="nonlinearity=\"relu\"（按 rnn.nonlinearity 选择激活函数）"),
        ],
        "bias_false": [
            make_case(2006, 5, 3, 3, 6, num_layers=2, bias=False, h0_zeros=True,
                      new="bias=False（这个 rnn 没有偏置参数）"),
        ],
        "batch_first": [
            make_case(2004, 4, 3, 2, 5, num_layers=2, batch_first=True, h0_zeros=True,
                      new="batch_first=True（x 的形状是 (batch, seq, input_size)）"),
            make_case(2007, 6, 2, 5, 4, num_layers=3, batch_first=True, h0_zeros=True,
                      new="batch_first=True、三层"),
            # h0=None with batch_first: graded here only when the student's h0=None works in the time-major layout
            make_case(2010, 4, 3, 2, 5, num_layers=2, batch_first=True, with_h0=False,
                      new="batch_first=True 且 h0=None（全零的 h0 是 (num_layers, batch, hidden_size)）"),
        ],
        "default_h0": [
            make_case(2002, 5, 3, 4, 4, num_layers=2, with_h0=False,
                      new="h0=None（应当从全零的隐状态开始，形状 (num_layers, batch, hidden_size)）"),
            make_case(2008, 4, 1, 3, 4, num_layers=3, with_h0=False,
                      new="h0=None 且层数多于批量（全零的 h0 要有层这一维：(num_layers, batch, hidden_size)）"),
        ],
    }


def visible_cases() -> list[Case]:
    """Every visible case of manual_rnn: the main check's, then each item's."""
    return core_cases() + [c for cases in item_cases().values() for c in cases]


def _prepare(cases: list[Case]) -> list[tuple]:
    """(case, want_out, want_hn, variants, time-major twin or None): every expectation before the student runs."""
    prepared = []
    for case in cases:
        want_out, want_hn, variants = _variants(case)
        twin = _like(case.rnn, batch_first=False) if case.rnn.batch_first else None
        prepared.append((case, want_out, want_hn, variants, twin))
    return prepared


def _right(manual_rnn, rnn, x, h0, want_out, want_hn, label) -> bool:
    try:
        output, h_n, _ = run_manual_rnn(manual_rnn, rnn, x, h0, label)
    except CheckFailed:
        return False
    return close(output, want_out) and close(h_n, want_hn)


def _time_major_right(manual_rnn, case: Case, want_out, want_hn, twin) -> bool:
    """The student's function on the same data in the (seq, batch, input) layout, given to a
    batch_first=False copy of the rnn: right? (then a wrong batch_first case is batch_first's fault)."""
    return _right(manual_rnn, twin, case.x.transpose(0, 1).contiguous(), case.h0, want_out.transpose(0, 1), want_hn,
                  case.label)


def _core_right(manual_rnn, core) -> bool:
    return all(_right(manual_rnn, c.rnn, c.x, c.h0, w_out, w_hn, c.label) for c, w_out, w_hn, _, _ in core)


def _check_cases(manual_rnn, prepared, core=None) -> None:
    """The student's manual_rnn on each prepared case. `core`: the main check's prepared cases when these
    are an item's (a wrong result then first asks whether the main check's cases are right)."""
    __tracebackhide__ = True
    item = core is not None
    for i, (case, want_out, want_hn, variants, twin) in enumerate(prepared):
        first = i == 0 and not item
        bf_none = twin is not None and case.h0 is None  # batch_first's part of h0=None, see item_cases
        try:
            output, h_n, _ = run_manual_rnn(manual_rnn, case.rnn, case.x, case.h0, case.label)
        except CheckFailed as e:
            if bf_none and not _time_major_right(manual_rnn, case, want_out, want_hn, twin):
                continue  # h0=None fails without batch_first too: graded by the h0=None check
            hint = ""
            if case.h0 is None and not bf_none:  # failing only without h0: the student's default h0 is the mistake
                hint = _default_h0_hint(manual_rnn, case, want_out, want_hn)
            elif twin is not None and _time_major_right(manual_rnn, case, want_out, want_hn, twin):
                hint = BATCH_FIRST + (BATCH_FIRST_H0 if bf_none else "")
            if not hint:
                raise
            fail(_with_hint(str(e), hint))
        if close(output, want_out) and close(h_n, want_hn):
            check_dtype(output, want_out, f"{case.label}：output")
            check_dtype(h_n, want_hn, f"{case.label}：h_n")
            continue
        if bf_none and not _time_major_right(manual_rnn, case, want_out, want_hn, twin):
            continue
        for v_out, v_hn, hint in variants:
            if close(output, v_out, atol=1e-4) and close(h_n, v_hn, atol=1e-4):
                fail(f"{case.label}：结果不对。{hint}")
        _check_shape_part(output, want_out, "output", case, _shape_hint_output)
        _check_shape_part(h_n, want_hn, "h_n", case, _shape_hint_hn)
        if twin is not None and _time_major_right(manual_rnn, case, want_out, want_hn, twin):
            fail(f"{case.label}：结果不对。" + BATCH_FIRST + (BATCH_FIRST_H0 if bf_none else ""))
        if item and not _core_right(manual_rnn, core):
            fail(f"{case.label}：结果不对。" + CORE_FIRST)
        _check_value_part(output, want_out, "output", case, _generic(case, first, item))
        _check_value_part(h_n, want_hn, "h_n", case, _generic(case, first, item))


@fresh_torch_state
def check_manual_rnn(manual_rnn) -> str:
    """Visible check for `manual_rnn`'s main cases: tanh, biases, batch_first=False, h0 given, one to three
    layers. relu, bias=False, batch_first=True, h0=None and the gradients have their own checks (and points)."""
    __tracebackhide__ = True
    _check_cases(manual_rnn, _prepare(core_cases()))
    return "manual_rnn 通过了可见检查。"


def _check_item(manual_rnn, item: str) -> None:
    __tracebackhide__ = True
    core = _prepare(core_cases())
    _check_cases(manual_rnn, _prepare(item_cases()[item]), core)


@fresh_torch_state
def check_manual_rnn_relu(manual_rnn) -> str:
    """Visible check of one contract item: nonlinearity="relu"."""
    __tracebackhide__ = True
    _check_item(manual_rnn, "relu")
    return "manual_rnn 通过了可见检查（nonlinearity=\"relu\"）。"


@fresh_torch_state
def check_manual_rnn_bias_false(manual_rnn) -> str:
    """Visible check of one contract item: bias=False (the rnn has no bias parameters)."""
    __tracebackhide__ = True
    _check_item(manual_rnn, "bias_false")
    return "manual_rnn 通过了可见检查（bias=False）。"


@fresh_torch_state
def check_manual_rnn_batch_first(manual_rnn) -> str:
    """Visible check of one contract item: batch_first=True (x and output batch-major; h0, h_n unchanged)."""
    __tracebackhide__ = True
    _check_item(manual_rnn, "batch_first")
    return "manual_rnn 通过了可见检查（batch_first=True）。"


@fresh_torch_state
def check_manual_rnn_default_h0(manual_rnn) -> str:
    """Visible check of one contract item: h0=None starts every layer from zeros."""
    __tracebackhide__ = True
    _check_item(manual_rnn, "default_h0")
    return "manual_rnn 通过了可见检查（h0=None）。"


@fresh_torch_state
def check_manual_rnn_gradient(manual_rnn) -> str:
    """Visible check of one contract item: output and h_n stay connected to the parameters (torch's gradients;
    two layers, h0 all zeros)."""
    __tracebackhide__ = True
    core = _prepare(core_cases())
    grad_case = make_case(2011, 5, 3, 4, 4, num_layers=2, h0_zeros=True, new="梯度")
    want_out, want_hn = _run(grad_case.rnn, grad_case.x, grad_case.h0)
    ref = copy.deepcopy(grad_case.rnn)
    ref(grad_case.x, grad_case.h0)[0].sum().backward()
    want_grads = {n: p.grad.clone() for n, p in ref.named_parameters()}
    ref_h = copy.deepcopy(grad_case.rnn)
    ref_h(grad_case.x, grad_case.h0)[1].sum().backward()
    want_grads_h = {n: p.grad.clone() for n, p in ref_h.named_parameters()}

    for part, wants in (("output", want_grads), ("h_n", want_grads_h)):
        output, h_n, twin = run_manual_rnn(manual_rnn, grad_case.rnn, grad_case.x, grad_case.h0, grad_case.label)
        if not (close(output, want_out) and close(h_n, want_hn)):
            if not _core_right(manual_rnn, core):
                fail(f"{grad_case.label}：结果不对，梯度也就无从比较。" + CORE_FIRST)
            _check_value_part(output, want_out, "output", grad_case, _generic(grad_case, True))
            _check_value_part(h_n, want_hn, "h_n", grad_case, _generic(grad_case, True))
        check_gradients(part, output if part == "output" else h_n, twin, wants,
                        "某个参与计算的张量在用过之后又被原地修改了（例如往预先分配的张量里写入、+=、"
                        "或者给 h0 的切片赋值）。写入一个新的张量，或者先 .clone()。")
    return "manual_rnn 通过了可见检查（梯度）。"


IO_CASES = [  # (seq_len, batch, input_size, hidden_size, num_layers, batch_first, call with defaults)
    (5, 3, 4, 6, 1, False, True),
    (7, 2, 3, 8, 3, False, False),
    (4, 5, 6, 2, 2, False, False),
]
# batch_first=True, the contract's own item (its own check and points): (seq_len, batch, input_size,
# hidden_size, num_layers). Graded on what batch_first changes, see check_rnn_io_shapes_batch_first.
IO_BATCH_FIRST_CASES = [
    (4, 5, 6, 2, 1),
    (6, 3, 5, 7, 2),
]


def _is_int_shape(value) -> bool:
    return isinstance(value, tuple) and all(type(d) is int for d in value)


def _io_label(name, T, B, I, H, L, bf, defaults=False) -> str:
    return f"{name}({T}, {B}, {I}, {H}" + (")" if defaults else f", num_layers={L}, batch_first={bf})")


def _io_pair(result, label):
    __tracebackhide__ = True
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = describe(result) + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "")
        fail(f"{label} 应当返回一个二元组 (output_shape, h_n_shape)，实际返回的是 {got}。")
    return result


@fresh_torch_state
def check_rnn_io_shapes(rnn_io_shapes) -> str:
    """Visible check for `rnn_io_shapes` with batch_first=False (one and more layers, the defaults);
    torch's CPU forward of zeros is the expectation (never printed). batch_first=True is checked apart."""
    name = "rnn_io_shapes"
    wants = [io_shapes_by_torch(*c[:6]) for c in IO_CASES]
    for (T, B, I, H, L, bf, defaults), (want_out, want_hn) in zip(IO_CASES, wants):
        label = _io_label(name, T, B, I, H, L, bf, defaults)
        result = derive(rnn_io_shapes, name, T, B, I, H) if defaults else \
            derive(rnn_io_shapes, name, T, B, I, H, num_layers=L, batch_first=bf)
        result = _io_pair(result, label)
        for what, got, want in (("output_shape", result[0], want_out), ("h_n_shape", result[1], want_hn)):
            if type(got) is int:
                fail(f"{label}：{what} 是一个整数，应当是形状元组，例如 (2, 3, 4)。"
                     "注意括号里只有一个数时 (n) 就是 n 本身，元组要写成 (n,)。")
            if isinstance(got, list):
                fail(f"{label}：{what} 是列表，请返回元组，例如 (2, 3, 4)（可以用 tuple(...) 转换）。")
            if not _is_int_shape(got):
                fail(f"{label}：{what} 应当是由整数（int）组成的元组，实际是 {describe(got)}"
                     + ("，其中有不是 int 的元素。" if isinstance(got, tuple) else "。"))
            if tuple(got) == want:
                continue
            got = tuple(got)
            if len(got) != len(want):
                fail(f"{label}：{what} 的维数不对：{what[:-6]} 是三维张量。"
                     + ("即使 num_layers=1，h_n 也有表示层数的第一维。" if what == "h_n_shape" and len(got) == 2 else ""))
            if what == "output_shape":
                if not bf and got == (B, T, H):
                    fail(f"{label}：batch_first=False（默认）时 output 是时间步在前。")
                if got[:2] == want[:2]:
                    extra = "它是 input_size，而 output 是各时间步的隐状态。" if got[2] == I else ""
                    fail(f"{label}：output_shape 的最后一维不对：{extra}想一想 output 的每个元素是什么。")
                fail(f"{label}：output_shape 不对。想一想 output 按什么顺序排列：时间步、批量、特征。")
            else:
                if got[1:] == want[1:]:
                    extra = "它不是时间步数：h_n 只有最后一个时间步。" if got[0] == T and T != L else ""
                    fail(f"{label}：h_n_shape 的第一维不对：{extra}h_n 为每一层保存一个最后的隐状态。")
                fail(f"{label}：h_n_shape 不对。想一想 h_n 保存的是哪些隐状态。")
    return "rnn_io_shapes 通过了可见检查。"


def _as_shape(value):
    """A tuple of ints from a tuple or list of ints (the types are graded by the batch_first=False check)."""
    if isinstance(value, (tuple, list)) and all(type(d) is int for d in value):
        return tuple(value)
    return None


def batch_first_io_right(got, own, want) -> tuple[bool, bool]:
    """(output right, h_n right) for batch_first=True: what batch_first changes, graded on its own.

    got: the student's (output_shape, h_n_shape) with batch_first=True; own: theirs for the same sizes
    with batch_first=False (None if that failed); want: torch's. The output is right when it is torch's,
    or their own batch_first=False output with its first two dimensions swapped and those two right
    (its last dimension is the batch_first=False check's business); h_n is right when it is torch's,
    or their own batch_first=False h_n (batch_first does not change it; the layers are graded there).
    """
    out, hn = (_as_shape(v) for v in got)
    own_out, own_hn = (_as_shape(v) for v in own) if own is not None else (None, None)
    swapped = None if own_out is None or len(own_out) != 3 else (own_out[1], own_out[0], own_out[2])
    out_ok = out is not None and (out == want[0] or (out[:2] == want[0][:2] and out == swapped))
    hn_ok = hn is not None and (hn == want[1] or hn == own_hn)
    return out_ok, hn_ok


@fresh_torch_state
def check_rnn_io_shapes_batch_first(rnn_io_shapes) -> str:
    """Visible check of the contract's item batch_first=True: output is batch-major, h_n is what it is
    without batch_first (compared with the student's own batch_first=False answer, so a mistake graded
    there, such as h_n's layers, costs nothing here)."""
    name = "rnn_io_shapes"
    wants = [io_shapes_by_torch(T, B, I, H, L, True) for T, B, I, H, L in IO_BATCH_FIRST_CASES]
    for (T, B, I, H, L), want in zip(IO_BATCH_FIRST_CASES, wants):
        label = _io_label(name, T, B, I, H, L, True)
        got = _io_pair(derive(rnn_io_shapes, name, T, B, I, H, num_layers=L, batch_first=True), label)
        try:
            own = derive(rnn_io_shapes, name, T, B, I, H, num_layers=L, batch_first=False)
            own = own if isinstance(own, (tuple, list)) and len(own) == 2 else None
        except CheckFailed:
            own = None
        out_ok, hn_ok = batch_first_io_right(got, own, want)
        out, hn = (_as_shape(v) for v in got)
        if not out_ok:
            if out is not None and out[:2] == (T, B):
                fail(f"{label}：batch_first=True 时 output 也是批量在前。")
            fail(f"{label}：output_shape 不对。想一想 batch_first=True 时 output 的各维按什么顺序排列。")
        if not hn_ok:
            if hn == (B, L, H) and B != L:
                fail(f"{label}：h_n 不受 batch_first 影响：batch_first 只改变 input 和 output 的布局。")
            fail(f"{label}：h_n_shape 不对。想一想 batch_first 改变了哪些张量的布局，哪些没有改变。")
    return "rnn_io_shapes 通过了可见检查（batch_first=True）。"
