"""Visible checks of assignment a4_gru (gru_param_shapes, split_gru_gates, gru_cell_step), and the
guarded calls its hidden tests use too.

Every expectation is torch's own answer, computed before the student's function runs: parameter
shapes from an nn.GRU built on the meta device (rnnlab.oracles.param_shapes), one GRU step from a
real nn.GRUCell loaded with the given tensors, gradients from autograd through that nn.GRUCell.
split_gru_gates is judged against the given tensor itself: its three blocks, stacked again in
nn.GRU's documented order (W_ir|W_iz|W_in), must give back exactly the torch tensor that was split.

Diagnosis asks which plausible mistake a wrong step matches. Each "variant" is what an nn.GRUCell
computes when it is loaded with edited tensors (two gate blocks swapped, the update gate's rows
negated, b_hn moved into b_in, the reset gate pinned open...), so no GRU formula is written here.
The paper's reset placement cannot be put into a GRUCell in general; it is recognised on a probe:
a GRU whose reset gate is a chosen constant r for every sample, where the paper's candidate is
exactly what nn.GRUCell gives with r folded into W_hn's columns. A result that matches no variant
gets a generic message, never a guessed diagnosis.

Each contract item has its own visible check (and its own points): gru_param_shapes for one layer
and for several; split_gru_gates for 2-D weights, for 1-D biases and for blocks that stay on the
graph; gru_cell_step's values and its gradients.

Every Chinese message is in HINTS; tests/test_checks_a4_gru.py feeds each one its mistake.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from rnnlab import oracles
from rnnlab.checks.core import changed_input, check_dtype, fresh_torch_state
from rnnlab.checks.core import derive, refusing  # noqa: F401  (derive: the hidden tests use it too)
from rnnlab.checks.core import (  # noqa: F401  (expect_close, CheckFailed: the hidden tests use them)
    CheckFailed, call, check_is_tensor, close, describe, expect_close, fail, max_abs_diff, shape_of,
)

HINTS = {
    # gru_cell_step: named mistakes (each matched against an nn.GRUCell loaded with edited tensors)
    "paper_reset": "结果与 GRU 论文正式版本（arXiv 第 3 版）和 d2l 写法的 GRU 一致，而不是 PyTorch 的：两者的差别在重置门 r 作用的位置。"
                   "再读一遍题目里候选隐状态 n 的公式，看 r 乘的究竟是哪一项。",
    "b_hn_outside": "b_hn（bias_hh 的第三块）加的位置不对：在 PyTorch 里它和 W_hn h_prev 一起受重置门 r 控制，"
                    "而不是加在 r ⊙ (…) 的外面。",
    "z_swapped": "更新门 z 的作用反了：PyTorch 里 z 接近 1 时保留上一步的隐状态 h_prev。"
                 "检查 z 和 1 − z 分别乘的是 n 还是 h_prev。",
    "gate_order": "门块的顺序不对：结果像是把前两块当成了 (z, r)。PyTorch 按 r、z、n 的顺序把三个门块叠在一起。",
    "reset_unused": "重置门 r 像是没有用上：结果与 r 恒等于 1 时一样。"
                    "是不是像普通 RNN 那样把两边的投影先加在一起再分块了？n 的两部分要分开算，r 只乘隐状态那一部分。",
    "no_bias_ih": "bias_ih 似乎没有加上。",
    "no_bias_hh": "bias_hh 似乎没有加上。",
    "no_biases": "两个偏置 bias_ih、bias_hh 似乎都没有加上。",
    "four_blocks": "像是把叠在一起的权重分成了 4 块（LSTM 的习惯）：GRU 只有 3 个门块（r、z、n），"
                   "每一块 hidden_size 行。",
    "step_generic": "逐项检查：两边的投影（注意转置）、三个门块在 (3·hidden_size) 维里的顺序、"
                    "每个门块用的激活函数、重置门 r 乘的是哪一项，以及最后怎样用 z 混合 n 与 h_prev。",
    "step_case": "前面的例子都通过了，这一例第一次用到：{new}。",
    "step_shape": "{what}：形状是 {got}，应当是 (批量大小, hidden_size)，与 h_prev 相同。",
    "step_modifies_input": "{what}：gru_cell_step 原地修改了传入的 {arg}（调用者的张量被改掉了）："
                           "不要对参数用 +=、sub_、mul_ 之类的原地操作，计算结果写进新的张量。",
    "step_detached": "h_t 与输入断开了，没有梯度能传回去：是否用了 .detach()、.data、.item()、torch.no_grad()，"
                     "或者用 torch.tensor 把结果重新包装了一遍？",
    "step_grad_missing": "h_t.sum() 对 {name} 没有梯度：计算图在 {name} 这里断开了。",
    "step_grad": "h_t.sum() 对 {name} 的梯度与 PyTorch 的不一致：计算图在某处断开了，"
                 "或者用了不可求导的写法（.detach()、.data、numpy）。",
    "step_grad_values_first": "{what}：h_t 的数值还不对，梯度无从比较：先让上面 gru_cell_step 数值的可见检查通过，"
                              "这一项只检查梯度。",
    "no_fused": "不要调用 nn.GRUCell、nn.GRU 或 torch.gru_cell：请用传入的张量自己写出这一步。",
    # split_gru_gates
    "split_not_three": "split_gru_gates 应当返回三元组 (w_r, w_z, w_n)，实际返回的是 {got}。"
                       "（用 torch.split 时注意：它的第二个参数是每块的大小，torch.chunk 的才是块数。）",
    "split_four": "split_gru_gates 返回了 4 块：GRU 只有 3 个门块（r、z、n），4 块是 LSTM 的。"
                  "如果用的是 torch.split，注意它的第二个参数是每块的大小，torch.chunk 的才是块数。",
    "split_columns": "{what}：每块的形状是 {got}，像是沿第 1 维（列）切开了。三个门块是沿第 0 维（行）叠在一起的。",
    "split_rows_from_columns": "{what}：每块有 {rows} 行，像是把 weight 的第 1 维（这里是 input_size）当成了 hidden_size。"
                               "hidden_size 只能从第 0 维（三个门块叠在一起的行数）得出。",
    "split_shape": "{what}：第 {i} 块的形状是 {got}，应当是 (hidden_size, …)：行数是 hidden_size，其余各维与 weight 相同。",
    "split_order": "{what}：三块的内容对，顺序不对。nn.GRU 的文档写的是 (W_ir|W_iz|W_in)：按 r、z、n 的顺序返回。",
    "split_values": "{what}：三块的形状对了，但内容不是 weight 按行依次切出的三段。",
    "split_bias_1d": "这一例传入的是一维的偏置 (3·hidden_size,)：它没有第 1 维。"
                     "只沿第 0 维切，同一段代码就能同时处理权重和偏置。",
    "split_detached": "切出的块与 weight 断开了，梯度传不回去：是否用了 .detach()、.data、numpy，或者用 torch.tensor 重新包装了一遍？"
                      "用切片、chunk 或 split 得到的块仍在计算图上。",
    # gru_param_shapes
    "shapes_not_dict": "gru_param_shapes 应当返回 dict（参数名 -> 形状元组），实际返回的是 {got}。",
    "shapes_cell_names": "{label}：参数名要带层号后缀，例如 weight_ih_l0：weight_ih 这样的名字是 nn.GRUCell 的。",
    "shapes_layers": "{label}：num_layers={layers} 时每一层都有自己的一组参数（后缀 _l0 … _l{last}）。",
    "shapes_reverse": "{label}：这里的 nn.GRU 是单向的，没有 _reverse 参数。",
    "shapes_keys": "{label}：键不对：{detail}键名应与 nn.GRU(...).named_parameters() 给出的名字一致。",
    "shape_is_int": "{label}：{key} 的形状是整数 {got}，不是元组：(n) 只是加了括号的整数 n，只有一个元素的元组要写逗号：(n,)。",
    "shape_not_tuple": "{label}：{key} 的形状应当是由整数组成的元组（例如 (3, 5)），实际是 {got}。",
    "shape_reversed": "{label}：{key} 的两个维度反了：PyTorch 的权重按 (输出, 输入) 存放。",
    "shape_one_gate": "{label}：{key} 的第 0 维少了门块的个数：GRU 把 3 个门块（r、z、n）的参数叠在一起存放。",
    "shape_four_gates": "{label}：{key} 像是叠了 4 个门块：那是 LSTM，GRU 只有 3 个门块。",
    "shape_upper_input": "{label}：{key} 的第 1 维不对：第 k ≥ 1 层的输入是下面一层的隐状态，不是 x。",
    "bias_not_1d": "{label}：{key} 应当是一维的。",
    "shape_generic": "{label}：{key} 的形状不对。想一想它把什么映射到什么，以及叠放了几个门块。",
}

_BIG = 1e4  # a gate pre-activation this large pins sigmoid at exactly 0 or 1


# ------------------------------------------------------------------ torch as the oracle

def gru_cell_from(weight_ih, weight_hh, bias_ih, bias_hh) -> nn.GRUCell:
    """A real nn.GRUCell holding copies of the given tensors (its dtype is theirs)."""
    input_size, hidden_size = weight_ih.shape[1], weight_hh.shape[1]
    with torch.random.fork_rng(devices=[]):  # its random initialisation leaves the student's RNG alone
        cell = nn.GRUCell(input_size, hidden_size, dtype=weight_ih.dtype)
    with torch.no_grad():
        for p, value in zip((cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh),
                            (weight_ih, weight_hh, bias_ih, bias_hh)):
            p.copy_(value.detach())
    return cell


def step_by_torch(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh) -> torch.Tensor:
    """What nn.GRUCell computes for one step with these tensors (no gradients)."""
    with torch.no_grad():
        return gru_cell_from(weight_ih, weight_hh, bias_ih, bias_hh)(x_t, h_prev)


def grads_by_torch(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh) -> dict[str, torch.Tensor]:
    """d h_t.sum() / d every input, by autograd through nn.GRUCell."""
    cell = gru_cell_from(weight_ih, weight_hh, bias_ih, bias_hh)
    x, h = x_t.detach().clone().requires_grad_(), h_prev.detach().clone().requires_grad_()
    with torch.enable_grad():
        cell(x, h).sum().backward()
    return {"x_t": x.grad, "h_prev": h.grad, "weight_ih": cell.weight_ih.grad, "weight_hh": cell.weight_hh.grad,
            "bias_ih": cell.bias_ih.grad, "bias_hh": cell.bias_hh.grad}


def param_shapes_by_torch(input_size, hidden_size, num_layers=1) -> dict[str, tuple[int, ...]]:
    """named_parameters() shapes of a single-direction nn.GRU, built on the meta device."""
    return oracles.param_shapes("GRU", input_size, hidden_size, num_layers=num_layers)


def seeded_gru(seed: int, input_size: int, hidden_size: int, num_layers: int = 1) -> nn.GRU:
    """For hidden tests: an nn.GRU whose parameters are drawn from a generator seeded with `seed`."""
    g = oracles.seeded(seed)
    with torch.random.fork_rng(devices=[]):
        gru = nn.GRU(input_size, hidden_size, num_layers)
    return oracles.fill_parameters(gru, g)


def _edit_gates(t: torch.Tensor, hidden: int, fn) -> torch.Tensor:
    """`t` (3·hidden, …) viewed as (3, hidden, …) gate blocks, edited by fn, stacked back."""
    return fn(t.detach().clone().unflatten(0, (3, hidden))).flatten(0, 1)


def _swap_first_two(g):
    return g[[1, 0, 2]]


def _negate_second(g):
    return g * torch.tensor([1.0, -1.0, 1.0], dtype=g.dtype).view(3, *([1] * (g.dim() - 1)))


def _pin(index, value):
    def pin(g):
        g[index] = value
        return g
    return pin


def _pin_first(value):  # the reset gate's block
    return _pin(0, value)


def _pin_third(value):  # the candidate's block
    return _pin(2, value)


@dataclass
class StepCase:
    """One call of gru_cell_step: its inputs (x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)."""
    args: tuple
    new: str  # what this case tries for the first time (for the generic message)

    @property
    def sizes(self):
        x, h = self.args[0], self.args[1]
        return x.shape[0], x.shape[1], h.shape[1]

    @property
    def label(self) -> str:
        b, i, h = self.sizes
        return f"gru_cell_step（batch={b}, input_size={i}, hidden_size={h}）"


def make_step_case(seed: int, batch: int, input_size: int, hidden_size: int, new: str = "") -> StepCase:
    """A seeded case: the parameters of an nn.GRUCell(input_size, hidden_size) and random x_t, h_prev."""
    g = oracles.seeded(seed)
    with torch.random.fork_rng(devices=[]):
        cell = nn.GRUCell(input_size, hidden_size)
    oracles.fill_parameters(cell, g)
    x, h = oracles.randn(g, batch, input_size), oracles.randn(g, batch, hidden_size)
    params = tuple(p.detach().clone() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    return StepCase((x, h) + params, new)


def reset_probe(case: StepCase, seed: int) -> tuple[StepCase, torch.Tensor, torch.Tensor]:
    """A case of the same sizes whose reset gate is a chosen r (the same for every sample).

    Returns (the case, torch's answer, the paper-form answer). With the reset rows of both
    weights zero, r = sigmoid(bias_ir) for every sample; choosing bias_ir = logit(r) fixes it.
    The paper's candidate multiplies W_hn by r ⊙ h_prev = W_hn with its columns scaled by r,
    applied to h_prev: an nn.GRUCell with that W_hn and its reset gate pinned open (r = 1)
    computes exactly the paper's step.
    """
    g = oracles.seeded(seed)
    batch, input_size, hidden = case.sizes
    base = make_step_case(seed + 1, batch, input_size, hidden)
    x, h, w_ih, w_hh, b_ih, b_hh = base.args
    r = 0.15 + 0.7 * torch.rand(hidden, generator=g)
    w_ih = _edit_gates(w_ih, hidden, _pin_first(0.0))
    w_hh = _edit_gates(w_hh, hidden, _pin_first(0.0))
    b_ih = _edit_gates(b_ih, hidden, _pin_first(torch.logit(r)))
    b_hh = _edit_gates(b_hh, hidden, _pin_first(0.0))
    probe = StepCase((x, h, w_ih, w_hh, b_ih, b_hh), "")

    def fold_r_into_w_hn(gates):
        gates[2] = gates[2] * r  # column j of W_hn scaled by r_j
        return gates
    paper = step_by_torch(x, h, w_ih, _edit_gates(w_hh, hidden, fold_r_into_w_hn),
                          _edit_gates(b_ih, hidden, _pin_first(_BIG)), b_hh)
    return probe, step_by_torch(*probe.args), paper


def step_variants(case: StepCase) -> list[tuple[torch.Tensor, str]]:
    """[(what nn.GRUCell gives with one classic mistake made, its hint key)], for `case`."""
    x, h, w_ih, w_hh, b_ih, b_hh = case.args
    hidden = h.shape[1]

    def each(fn):  # the same gate edit applied to all four parameter tensors
        return tuple(_edit_gates(t, hidden, fn) for t in (w_ih, w_hh, b_ih, b_hh))

    def b_hn_moved(gates_ih):  # b_hn added to b_in (outside the reset gate), b_hn itself zeroed
        gates_ih[2] = gates_ih[2] + b_hh.unflatten(0, (3, hidden))[2]
        return gates_ih

    return [
        (step_by_torch(x, h, *each(_swap_first_two)), "gate_order"),
        (step_by_torch(x, h, *each(_negate_second)), "z_swapped"),
        (step_by_torch(x, h, w_ih, w_hh, _edit_gates(b_ih, hidden, b_hn_moved),
                       _edit_gates(b_hh, hidden, _pin_third(0.0))), "b_hn_outside"),
        (step_by_torch(x, h, w_ih, w_hh, _edit_gates(b_ih, hidden, _pin_first(_BIG)), b_hh), "reset_unused"),
        (step_by_torch(x, h, w_ih, w_hh, torch.zeros_like(b_ih), b_hh), "no_bias_ih"),
        (step_by_torch(x, h, w_ih, w_hh, b_ih, torch.zeros_like(b_hh)), "no_bias_hh"),
        (step_by_torch(x, h, w_ih, w_hh, torch.zeros_like(b_ih), torch.zeros_like(b_hh)), "no_biases"),
    ]


# ------------------------------------------------------------------ the guarded call

def _no_fused_gru(tripped: list):
    """torch.gru_cell/gru (behind the module torch would use) refuse inside the block."""
    return refusing(('gru_cell', 'gru'), HINTS["no_fused"], tripped)


_SIZES = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)")


def _four_block_sizes(hidden: int) -> set[int]:
    """Block sizes of a (…, 3·hidden) tensor cut into 4 pieces (chunk or //4 slicing)."""
    return {math.ceil(3 * hidden / 4), 3 * hidden // 4} - {hidden}


def run_gru_cell_step(gru_cell_step, args, label: str = "gru_cell_step") -> torch.Tensor:
    """Call the student's gru_cell_step on copies of `args`; returns h_t (a plain tensor).

    Fails (Chinese) when it calls torch's GRU kernels, raises, or returns no tensor. An error
    raised inside it gets the hints of this assignment on top of core.call's. Used by the
    visible check and the hidden tests alike.
    """
    __tracebackhide__ = True
    name = "gru_cell_step"
    tripped: list = []
    batch, input_size, hidden = args[0].shape[0], args[0].shape[1], args[1].shape[1]
    before = [a.detach().clone() for a in args]
    try:
        with _no_fused_gru(tripped):
            result = call(gru_cell_step, name, *args)
    except CheckFailed as e:
        if tripped:
            fail(tripped[0])
        msg = str(e)
        if "还没有实现" in msg:
            fail(msg)
        extra = ""
        m = _SIZES.search(msg)
        sizes = {int(m.group(1)), int(m.group(2))} if m else set()
        if hidden in sizes and sizes & _four_block_sizes(hidden) and not sizes & {batch, input_size}:
            extra = HINTS["four_blocks"] + "\n"
        elif "IndexError" in msg and ("range of [-1, 0], but got 1" in msg or "tensor of dimension 1" in msg):
            extra = HINTS["split_bias_1d"] + "\n"
        fail(f"{msg}\n{extra}（出错的这一例：{label}）")
    if tripped:  # the student's code caught our refusal and went on
        fail(tripped[0])
    arg = changed_input(STEP_ARG_NAMES, args, before)
    if arg:
        fail(HINTS["step_modifies_input"].format(what=label, arg=arg))
    return check_is_tensor(result, name)


def fresh(args: tuple, requires_grad: bool = False) -> tuple:
    """Copies of the inputs the student may use freely (leaf tensors when gradients are wanted)."""
    return tuple(a.detach().clone().requires_grad_(requires_grad) for a in args)


# ------------------------------------------------------------------ visible check: gru_cell_step

def visible_step_cases() -> list[StepCase]:
    return [
        make_step_case(4001, 2, 5, 4),
        make_step_case(4002, 1, 3, 6, new="batch=1（一个样本）"),
        make_step_case(4003, 4, 6, 6, new="input_size == hidden_size"),
        make_step_case(4004, 5, 7, 3, new="input_size > hidden_size、batch=5"),
    ]


STEP_ARG_NAMES = ("x_t", "h_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh")


@fresh_torch_state
def check_gru_cell_step(gru_cell_step) -> str:
    """Visible check for `gru_cell_step`'s values: four sizes (batch 1 among them)."""
    __tracebackhide__ = True
    cases = visible_step_cases()
    # Every expectation and diagnosis before the student's code runs.
    plans = [(c, step_by_torch(*c.args), step_variants(c), reset_probe(c, 4100 + i)) for i, c in enumerate(cases)]

    for i, (case, want, variants, (probe, probe_want, probe_paper)) in enumerate(plans):
        got = run_gru_cell_step(gru_cell_step, fresh(case.args), case.label)
        if shape_of(got) != shape_of(want):
            fail(HINTS["step_shape"].format(what=case.label, got=shape_of(got)))
        if close(got, want):
            check_dtype(got, want, case.label)
            continue
        head = f"{case.label}：形状对了，但数值不对（最大差值 {max_abs_diff(got, want):.3g}）。"
        for value, key in variants:
            if close(got, value, atol=1e-4):
                fail(head + HINTS[key])
        # The paper's reset placement: asked on a probe of the same sizes (see reset_probe).
        got_probe = run_gru_cell_step(gru_cell_step, fresh(probe.args), case.label)
        if not close(got_probe, probe_want) and close(got_probe, probe_paper, atol=1e-4):
            fail(head + HINTS["paper_reset"])
        fail(head + (HINTS["step_generic"] if i == 0 else HINTS["step_case"].format(new=case.new)))
    return "gru_cell_step（数值）通过了可见检查。"


@fresh_torch_state
def check_gru_cell_step_grad(gru_cell_step) -> str:
    """Visible check of the item 'h_t stays on the graph': gradients of h_t.sum() with respect to all
    six inputs (values wrong: told to get them right first)."""
    __tracebackhide__ = True
    grad_case = visible_step_cases()[0]
    want, want_grads = step_by_torch(*grad_case.args), grads_by_torch(*grad_case.args)
    inputs = fresh(grad_case.args, requires_grad=True)
    label = grad_case.label + "，求梯度"
    got = run_gru_cell_step(gru_cell_step, inputs, label)
    if not close(got, want):
        fail(HINTS["step_grad_values_first"].format(what=label))
    if not got.requires_grad:
        fail(HINTS["step_detached"])
    call(lambda: got.sum().backward(), "h_t.sum().backward()")
    for name, tensor in zip(STEP_ARG_NAMES, inputs):
        if tensor.grad is None:
            fail(HINTS["step_grad_missing"].format(name=name))
        if not close(tensor.grad, want_grads[name]):
            fail(HINTS["step_grad"].format(name=name))
    return "gru_cell_step（梯度）通过了可见检查。"


# ------------------------------------------------------------------ split_gru_gates

def run_split(split_gru_gates, weight: torch.Tensor, label: str):
    """Call the student's split_gru_gates on `weight`; returns its three blocks (plain tensors)."""
    __tracebackhide__ = True
    name = "split_gru_gates"
    try:
        result = call(split_gru_gates, name, weight)
    except CheckFailed as e:
        msg = str(e)
        if "还没有实现" in msg:
            fail(msg)
        extra = HINTS["split_bias_1d"] + "\n" if weight.dim() == 1 and "IndexError" in msg else ""
        fail(f"{msg}\n{extra}（出错的这一例：{label}）")
    if isinstance(result, (tuple, list)) and len(result) == 4:
        fail(HINTS["split_four"])
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        got = describe(result) + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "")
        fail(HINTS["split_not_three"].format(got=got))
    return tuple(check_is_tensor(b, f"{name} 的第 {i} 块") for i, b in enumerate(result))


def expect_gate_blocks(blocks, weight: torch.Tensor, hidden: int, what: str) -> None:
    """The three blocks, stacked again in nn.GRU's order (W_ir|W_iz|W_in), are exactly `weight`."""
    __tracebackhide__ = True
    want_shape = (hidden,) + shape_of(weight)[1:]
    for i, b in enumerate(blocks):
        got = shape_of(b)
        if got == want_shape:
            continue
        if got and got[0] in _four_block_sizes(hidden):
            fail(f"{what}：{HINTS['four_blocks']}")
        if weight.dim() == 2 and got and got[0] == weight.shape[0] and got[1:] != want_shape[1:]:
            fail(HINTS["split_columns"].format(what=what, got=got))
        if weight.dim() == 2 and got == (weight.shape[1],) + want_shape[1:] and weight.shape[1] != hidden:
            fail(HINTS["split_rows_from_columns"].format(what=what, rows=got[0]))
        fail(HINTS["split_shape"].format(what=what, i=i, got=got))
    with torch.no_grad():
        if close(torch.cat([b.detach() for b in blocks]), weight.detach(), atol=0, rtol=0):
            return
        for order in itertools.permutations(range(3)):  # (z, r, n), (n, r, z)...: right blocks, wrong order
            if close(torch.cat([blocks[i].detach() for i in order]), weight.detach(), atol=0, rtol=0):
                fail(HINTS["split_order"].format(what=what))
    fail(HINTS["split_values"].format(what=what))


def expect_split_of(split_gru_gates, param: torch.Tensor, hidden: int, what: str) -> None:
    """For hidden tests: the student's blocks of a copy of `param`, stacked again, are exactly `param`."""
    __tracebackhide__ = True
    blocks = run_split(split_gru_gates, param.detach().clone(), what)
    expect_gate_blocks(blocks, param, hidden, what)


def expect_connected_blocks(split_gru_gates, param: nn.Parameter, label: str) -> None:
    """The blocks of a parameter are on its graph: the sum of all blocks has gradient 1 for every entry."""
    __tracebackhide__ = True
    blocks = run_split(split_gru_gates, param, label)
    if not all(b.requires_grad for b in blocks):
        fail(HINTS["split_detached"])
    call(lambda: sum(b.sum() for b in blocks).backward(), "（切出的块求和）.backward()")
    if param.grad is None or not close(param.grad, torch.ones_like(param), atol=0, rtol=0):
        fail(HINTS["split_detached"])


def _split_cells():
    """The visible check's tensors: an nn.GRUCell(5, 4) and an nn.GRUCell(3, 2), seeded."""
    g = oracles.seeded(4200)
    with torch.random.fork_rng(devices=[]):
        cell, small = nn.GRUCell(5, 4), nn.GRUCell(3, 2)
    oracles.fill_parameters(cell, g)
    oracles.fill_parameters(small, g)
    return cell, small


def _check_split_cases(split_gru_gates, cases) -> None:
    __tracebackhide__ = True
    for weight, hidden, desc in cases:
        what = f"split_gru_gates({desc})"
        blocks = run_split(split_gru_gates, weight.detach().clone(), what)
        expect_gate_blocks(blocks, weight, hidden, what)


@fresh_torch_state
def check_split_gru_gates(split_gru_gates) -> str:
    """Visible check for `split_gru_gates` on 2-D weights: an nn.GRUCell(5, 4)'s weight_ih (12, 5) and
    weight_hh (12, 4), a GRUCell(3, 2)'s weight_ih (6, 3)."""
    __tracebackhide__ = True
    cell, small = _split_cells()
    _check_split_cases(split_gru_gates, [
        (cell.weight_ih, 4, "weight_ih，形状 (12, 5)"), (cell.weight_hh, 4, "weight_hh，形状 (12, 4)"),
        (small.weight_ih, 2, "nn.GRUCell(3, 2) 的 weight_ih，形状 (6, 3)")])
    return "split_gru_gates（二维的权重）通过了可见检查。"


@fresh_torch_state
def check_split_gru_gates_bias(split_gru_gates) -> str:
    """Visible check of the item 1-D bias: the GRUCell(5, 4)'s bias_ih and bias_hh (12,), the GRUCell(3, 2)'s bias_hh (6,)."""
    __tracebackhide__ = True
    cell, small = _split_cells()
    _check_split_cases(split_gru_gates, [
        (cell.bias_ih, 4, "bias_ih，形状 (12,)"), (cell.bias_hh, 4, "bias_hh，形状 (12,)"),
        (small.bias_hh, 2, "nn.GRUCell(3, 2) 的 bias_hh，形状 (6,)")])
    return "split_gru_gates（一维的偏置）通过了可见检查。"


@fresh_torch_state
def check_split_gru_gates_graph(split_gru_gates) -> str:
    """Visible check of the item 'blocks stay on the graph': the blocks of an nn.Parameter pass gradients back."""
    __tracebackhide__ = True
    cell, _ = _split_cells()
    # The blocks of a parameter stay connected to it (gru_cell_step's gradients flow through them).
    expect_connected_blocks(split_gru_gates, nn.Parameter(cell.weight_hh.detach().clone()),
                            "split_gru_gates（一个 nn.Parameter，形状 (12, 4)）")
    return "split_gru_gates（梯度传回）通过了可见检查。"


# ------------------------------------------------------------------ gru_param_shapes

SHAPE_ITEMS = {  # contract item -> [(input_size, hidden_size, num_layers, call with the default num_layers)]
    "base": [(6, 9, 1, True), (8, 3, 1, False)],      # one layer
    "layers": [(5, 7, 3, False), (10, 4, 2, False)],  # several layers
}
SHAPE_CASES = [case for cases in SHAPE_ITEMS.values() for case in cases]


def _shape_label(inp, hid, layers, defaults) -> str:
    return f"gru_param_shapes({inp}, {hid}" + (")" if defaults else f", num_layers={layers})")


def expect_param_shapes(result, want: dict, inp: int, hid: int, layers: int, label: str) -> None:
    """`result` must be torch's dict: same names, shape tuples of ints equal to torch's."""
    __tracebackhide__ = True
    if not isinstance(result, dict):
        fail(HINTS["shapes_not_dict"].format(got=describe(result)))
    keys = [k for k in result if isinstance(k, str)]
    if set(result) != set(want):
        if keys and all(not re.search(r"_l\d+", k) for k in keys):
            fail(HINTS["shapes_cell_names"].format(label=label))
        if any(k.endswith("_reverse") for k in keys):
            fail(HINTS["shapes_reverse"].format(label=label))
        if layers > 1 and set(result) < set(want):
            fail(HINTS["shapes_layers"].format(label=label, layers=layers, last=layers - 1))
        missing = sorted(k for k in want if k not in result)
        extra = sorted(map(str, (k for k in result if k not in want)))
        detail = (f"缺少 {missing}；" if missing else "") + (f"多出 {extra}；" if extra else "")
        fail(HINTS["shapes_keys"].format(label=label, detail=detail))
    for key, want_shape in want.items():
        got = result[key]
        fmt = dict(label=label, key=key)
        if type(got) is int:
            fail(HINTS["shape_is_int"].format(got=got, **fmt))
        if not isinstance(got, tuple) or not all(type(d) is int for d in got):
            fail(HINTS["shape_not_tuple"].format(got=describe(got), **fmt))
        got = tuple(got)
        if got == want_shape:
            continue
        rest = want_shape[1:]
        if len(want_shape) == 2 and got == want_shape[::-1]:
            fail(HINTS["shape_reversed"].format(**fmt))
        if got == (hid,) + rest:
            fail(HINTS["shape_one_gate"].format(**fmt))
        if got == (4 * hid,) + rest:
            fail(HINTS["shape_four_gates"].format(**fmt))
        if key.startswith("weight_ih_l") and not key.endswith("_l0") and got == (want_shape[0], inp) and inp != hid:
            fail(HINTS["shape_upper_input"].format(**fmt))
        if key.startswith("bias") and len(got) != 1:
            fail(HINTS["bias_not_1d"].format(**fmt))
        fail(HINTS["shape_generic"].format(**fmt))


def _check_shapes(gru_param_shapes, cases) -> None:
    __tracebackhide__ = True
    name = "gru_param_shapes"
    for inp, hid, layers, defaults in cases:
        want = param_shapes_by_torch(inp, hid, layers)
        label = _shape_label(inp, hid, layers, defaults)
        result = derive(gru_param_shapes, name, inp, hid) if defaults else \
            derive(gru_param_shapes, name, inp, hid, num_layers=layers)
        expect_param_shapes(result, want, inp, hid, layers, label)


@fresh_torch_state
def check_gru_param_shapes(gru_param_shapes) -> str:
    """Visible check for `gru_param_shapes`, one layer (the default num_layers too); torch's nn.GRU on
    the meta device is the expectation (never printed)."""
    __tracebackhide__ = True
    _check_shapes(gru_param_shapes, SHAPE_ITEMS["base"])
    return "gru_param_shapes（一层）通过了可见检查。"


@fresh_torch_state
def check_gru_param_shapes_layers(gru_param_shapes) -> str:
    """Visible check of the item num_layers > 1."""
    __tracebackhide__ = True
    _check_shapes(gru_param_shapes, SHAPE_ITEMS["layers"])
    return "gru_param_shapes（多层）通过了可见检查。"
