"""Visible checks of assignment a6_training (masked_mean_loss, detach_state, last_valid_output,
encode, clipped_step), and the guarded calls its hidden tests use too.

Every expectation is torch's own answer, computed before the student's function runs, from data
the checker generated UNPADDED: per-sequence logits and targets, per-sequence outputs, per-sequence
inputs. The expected loss is F.cross_entropy over the concatenated valid rows; the expected last
output is each generated sequence's own last row; the expected features are h_n of the rnn run on
each sequence alone (a batch of one, no padding). Only then are the sequences padded with junk
(large random logits, random targets, random features) and handed to the student. No function
here takes (padded, lengths) and returns the right answer. clipped_step is judged against
autograd.grad on a copy of the model, the documented clip formula (one total 2-norm over all
gradients, scale min(1, max_norm / (norm + 1e-6))) and the optimizer's own update on another copy.

Diagnosis asks which plausible mistake a wrong result matches. Each "variant" is torch's answer to
a slightly different wrong question (the mean over all B·T positions, the sum divided by B, one
position more or fewer per sequence, output[:, -1], the backward direction after one step, the
directions swapped, the rows left in sorted order, gradients not zeroed, clipping after the step,
the norm after clipping...). A result that matches no variant gets a generic message, never a
guessed diagnosis. Every Chinese message is in HINTS; tests/test_checks_a6_training.py feeds each
one its mistake.
"""

from __future__ import annotations

import copy
import re
import warnings
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab import oracles
from rnnlab.checks.core import changed_input, check_dtype, fresh_torch_state
from rnnlab.checks.core import (  # noqa: F401  (expect_close and CheckFailed: the hidden tests use them)
    CheckFailed, call, check_is_tensor, close, describe, expect_close, fail, max_abs_diff, shape_of,
)

HINTS = {
    # shared
    "case_new": "前面的例子都通过了，这一例第一次用到：{new}。",
    "modified_input": "{name} 原地修改了传入的 {arg}（调用者的张量被改掉了）：不要对参数做 x[...] = …、"
                      "masked_fill_、+= 之类的原地操作，需要时先 .clone()。",
    "lengths_list": "这一例的 lengths 是 Python 的列表：列表不能直接参与张量运算（比较、减 1、[:, None] 之类）。"
                    "先把它变成张量（torch.as_tensor 或 torch.tensor 都可以）。",
    "target_size": "F.cross_entropy 的输入超过二维时，类别要在第 1 维：(B, C, T) 的 logits 配 (B, T) 的 targets；"
                   "或者先把 logits 变成 (B·T, C)、targets 变成 (B·T,) 再算。",
    # masked_mean_loss
    "loss_all_positions": "结果像是对全部 B·T 个位置求了平均：填充位置的 logits 和 targets 也算进去了。"
                          "只有 t < lengths[b] 的位置是真实数据，其余是填充，不能计入损失。",
    "loss_over_batch": "结果像是把有效位置的损失加起来之后除以了批量大小 B：分母应当是有效位置的个数（所有 lengths 之和）。",
    "loss_over_all_count": "结果像是只把有效位置的损失加了起来，却除以了全部位置的个数 B·T："
                           "分母也只数有效位置（所有 lengths 之和）。",
    "loss_per_sequence": "结果像是每条序列先各自求平均、再对 B 条序列求平均：这样短序列的每个位置比长序列的权重大。"
                         "要的是把所有有效位置放在一起，求一个平均。",
    "loss_sum": "结果像是有效位置损失的总和：还要除以有效位置的个数。",
    "loss_one_extra": "每条序列多算了一个位置：长为 lengths[b] 的序列，有效时间步是 t = 0, 1, …, lengths[b]−1，"
                      "t = lengths[b] 已经是填充。",
    "loss_one_fewer": "每条序列少算了一个位置：长为 lengths[b] 的序列有 lengths[b] 个有效时间步，"
                      "最后一个是 t = lengths[b]−1，它也要算进去。",
    "loss_ignore_zero": "结果像是用 ignore_index=0 去掉了目标为 0 的位置：可是 0 也是一个正常的类别，"
                        "填充位置的 targets 也可以是任何类别。哪些位置是填充，只能由 lengths 判断。",
    "loss_float": "{what} 返回的是 Python 的 {got}，不是张量：这样没法 loss.backward()。"
                  "不要用 .item() 或 float(...)，返回一个标量张量。",
    "loss_shape": "{what}：形状是 {got}，应当是一个标量张量（形状 ()）。",
    "loss_shape_per_sequence": "像是每条序列一个损失：还要把所有有效位置合在一起求一个平均。",
    "loss_shape_per_position": "像是逐位置的损失（reduction=\"none\"）：还要只对有效位置求平均。",
    "loss_detached": "{what}：返回的损失与 logits 断开了，没有梯度能传回去。是否用了 .item()、.detach()、"
                     "torch.no_grad()，或者用 torch.tensor 把结果重新包装了一遍？",
    "loss_grad": "{what}：损失的数值对了，但 loss.backward() 传回 logits 的梯度与 PyTorch 的不一致："
                 "填充位置的梯度应当是 0，有效位置的梯度应当与只用有效位置算出的平均损失相同。",
    "loss_generic": "{what}：数值不对（最大差值 {diff:.3g}）。逐项检查：哪些位置有效（t < lengths[b]）、"
                    "每个位置的交叉熵、分子只加有效位置、分母是有效位置的个数。",
    # detach_state
    "detach_same": "{what}：原样返回了传入的 state，它还连着上一段的计算图：下一段 backward 时梯度会穿过它传回上一段。",
    "detach_clone": "{what}：返回的是副本，但副本仍在计算图上：clone() 是可求导的运算，梯度会经由它传回原来的张量。",
    "detach_attached": "{what}：返回的张量仍在计算图上（它的 grad_fn 不是 None，或 requires_grad 为 True）："
                       "下一段 backward 时梯度还会穿过它传回上一段，截断没有发生。",
    "detach_zeros": "{what}：返回的是全零。这是把隐状态重置了，不是截断：截断只让梯度在这里停下，"
                    "下一段仍要从上一段的隐状态接着往下读。",
    "detach_values": "{what}：数值变了（最大差值 {diff:.3g}）：截断只让梯度停下，隐状态的数值要原样保留。",
    "detach_inplace": "{what}：传入的 state 被原地断开了（例如 detach_()）：调用者手里的张量也离开了计算图。"
                      "返回新的张量，不要改动传入的张量。",
    "detach_tensor_as_tuple": "{what}：传入的是一个张量，返回的却是 {got}。用 len(state) == 2 之类判断 state 是不是 (h, c) 靠不住："
                              "形状为 (2, B, H) 的张量（两层的 nn.GRU 的 h_n）长度也是 2。判断元组用 isinstance(state, tuple)。",
    "detach_type": "{what} 应当返回与传入相同的结构（张量进、张量出；(h, c) 元组进、元组出；None 进、None 出），"
                   "实际返回的是 {got}。",
    "detach_method": "{what} 返回的是一个方法（{got}），不是张量：是不是少写了调用的括号？",
    "detach_tuple_list": "{what}：传入的是元组 (h, c)，返回的是列表。请返回元组（例如 tuple(...)），与传入的结构相同。",
    "detach_tuple_one": "{what}：传入的是 LSTM 的 (h, c)，返回的却只有一个张量：隐状态 h 和记忆元 c 都要交给下一段。",
    "detach_only_h": "{what}：只断开了 h。LSTM 的记忆元 c 也连着上一段的计算图，(h, c) 两个都要断开。",
    "detach_only_c": "{what}：只断开了 c。隐状态 h 也连着上一段的计算图，(h, c) 两个都要断开。",
    "detach_none_error": "state 是 None 时（还没有隐状态，循环层会从全零开始）出错了：先判断 `if state is None`，原样返回 None。",
    "detach_none_value": "state 是 None 时应当原样返回 None，实际返回的是 {got}。",
    "leaf_requires_grad": "requires_grad_(False) 只能用在叶子张量（直接建出来的张量）上；隐状态是算出来的，"
                          "不能这样把它从计算图上摘下来。",
    # last_valid_output
    "last_padded": "取到的是补齐后最后一个时间步的输出（output[:, -1]）：比 T 短的序列在那里是填充，"
                   "不是它自己最后一个有效时间步的输出。每条序列要用它自己的 lengths[b]。",
    "last_max_length": "所有序列用的都是最长的长度 max(lengths)：每条序列最后一个有效时间步由它自己的 lengths[b] 决定。",
    "last_after": "错开了一个时间步：取到的是 t = lengths[b]，那已经是填充。长为 lengths[b] 的序列，"
                  "最后一个有效时间步的下标是 lengths[b] − 1。",
    "last_before": "错开了一个时间步：取到的是 t = lengths[b] − 2。长为 lengths[b] 的序列，"
                   "最后一个有效时间步的下标是 lengths[b] − 1。",
    "last_first": "取到的是第 0 个时间步的输出：要的是每条序列最后一个有效时间步 t = lengths[b] − 1 的输出。",
    "last_time_major": "batch_first=False 时 output 是 (T, B, H)：时间步在第 0 维、批量在第 1 维。"
                       "结果像是把它当成了 (B, T, H)。",
    "last_batch_major": "batch_first=True 时 output 是 (B, T, H)：批量在第 0 维、时间步在第 1 维。"
                        "结果像是把它当成了 (T, B, H)。",
    "last_index_full": "这一例有一条序列正好占满 T 个时间步：它最后一个有效时间步的下标是 T − 1（即 lengths[b] − 1），"
                       "下标 lengths[b] 超出了范围。",
    "last_shape": "{what}：形状是 {got}，应当是 (B, H) = {want}。",
    "last_detached": "{what}：结果与 output 断开了，没有梯度能传回去（分类器要靠它训练）。"
                     "是否用了 .detach()、.tolist()、numpy，或者用 torch.tensor 把结果重新包装了一遍？",
    "last_grad": "{what}：数值对了，但 result.sum().backward() 传回 output 的梯度不对："
                 "只有每条序列最后一个有效时间步的那个位置应当得到梯度。",
    "last_generic": "{what}：形状对了，但数值不对（最大差值 {diff:.3g}）。第 b 行应当是第 b 条序列在 t = lengths[b] − 1 处的输出。",
    # encode
    "enc_no_pack": "{what}：结果像是把补齐的整批直接交给了 rnn（再取 h_n 或 output[:, -1]）：短序列读完自己的词元后又接着读了填充{bi}。"
                   "先用 pack_padded_sequence 打包，rnn 才只读每条序列自己的时间步。",
    "enc_no_pack_bi": "，反向方向更是从填充开始读",
    "enc_output_last": "{what}：结果像是取了 output[:, -1]：对短序列，补齐后的最后一个时间步是填充"
                       "（打包后再用 pad_packed_sequence 还原的 output，填充位置是 0）。"
                       "每条序列读完自己最后一个词元后的隐状态在 h_n 里。",
    "enc_backward_one_step": "{what}：前向的一半对了，反向的一半不对：反向方向在最后一个有效时间步只读了一个词元。"
                             "反向方向读完整条序列（最后读 x[0]）之后的隐状态，是 h_n 里最上面一层反向的那一行。",
    "enc_swapped": "{what}：两个方向的顺序反了：特征是前向在前、反向在后，h_n 每层里也是先前向、后反向。",
    "enc_first_layer": "{what}：取到的是最下面一层（第 0 层）的最终隐状态：h_n 按层排列，最上面一层的{rows}在最后。",
    "enc_c_n": "{what}：取到的是记忆元 c_n：nn.LSTM 返回 (output, (h_n, c_n))，要的是隐状态 h_n。",
    "enc_sorted_order": "{what}：每一行的特征都对，但行的顺序是按长度排过序的：结果要按原来批量的顺序排列"
                        "（第 b 行属于第 b 条序列）。",
    "enc_shape": "{what}：形状是 {got}，应当是 (B, D·H) = {want}。",
    "enc_shape_bi_half": "双向时要把最上面一层两个方向的最终隐状态连结起来（前向在前），每行 2·hidden_size 个数。",
    "enc_uni": "单向的 rnn 每层只有一个方向：h_n 的形状是 (num_layers, B, hidden_size)，最上面一层是最后一行，"
               "每条序列的特征只有 hidden_size 个数。",
    "enc_shape_3d": "结果是三维的：要的是每条序列一行特征。nn.LSTM 返回的第二项是元组 (h_n, c_n)，先从中取出 h_n；"
                    "再取最上面一层的行。",
    "enforce_sorted": "这一例的 lengths 没有按从长到短排好，而 pack_padded_sequence 默认 enforce_sorted=True，只收排好序的批量。"
                      "传 enforce_sorted=False（它会替你排序、算完再按原来的顺序排回去），或者自己排序并在最后还原顺序。",
    "pack_batch_first": "pack_padded_sequence 默认 batch_first=False，把第 0 维当成时间步：embedded 是 (B, T, E)，"
                        "要告诉它 batch_first=True。",
    "enc_params_changed": "encode 修改了 rnn 的参数：只用 rnn 计算，不要改动它的参数。",
    "enc_detached": "{what}：特征与 rnn 的参数断开了，没有梯度能传回去（encode 用在训练里）。"
                    "是否用了 torch.no_grad()、.detach()、.data，或者用 torch.tensor 把结果重新包装了一遍？",
    "enc_grad": "{what}：特征的数值对了，但 features.sum().backward() 传到 {name} 的梯度与 PyTorch 的不一致。",
    "enc_generic": "{what}：形状对了，但数值不对（最大差值 {diff:.3g}）。第 b 行应当等于第 b 条序列单独（不补齐）"
                   "交给 rnn 时，h_n 里最上面一层{dirs}的最终隐状态。",
    # clipped_step
    "clip_not_zeroed": "{what}：结果像是没有先把梯度清零：参数原有的 .grad（上一步留下的）和这一次 backward 算出的梯度加在了一起。",
    "clip_no_effect": "{what}：参数是按没有裁剪过的梯度更新的（与不裁剪的结果相同）："
                      "梯度裁剪要放在 loss.backward() 之后、optimizer.step() 之前。",
    "clip_after_step": "{what}：参数是按没有裁剪过的梯度更新的，而梯度最后却是裁剪过的：裁剪放在了 optimizer.step() 之后，"
                       "那时参数已经更新完了。",
    "clip_before_backward": "{what}：裁剪发生在 loss.backward() 之前：那时还没有这一次的梯度，"
                            "后来 backward 算出的梯度没有被裁剪，参数就按它更新了。",
    "clip_zero_after_backward": "{what}：参数没有更新，返回的范数也是 0：梯度是在 backward 之后才清零的，这一次算出的梯度也被清掉了。",
    "clip_no_step": "{what}：参数没有更新：是不是忘了 optimizer.step()？",
    "clip_per_parameter": "{what}：结果像是每个参数各自裁剪：clip_grad_norm_ 把所有参数的梯度看成一个长向量，"
                          "只算一个总范数、用同一个比例缩放所有梯度。",
    "clip_value": "{what}：结果像是逐元素截断（clip_grad_value_）：要的是按总范数整体缩放（clip_grad_norm_），梯度的方向不变。",
    "clip_grad_none": "这一例是训练的第一步：参数的 .grad 还是 None，不能对它调用 zero_() 之类的方法。"
                      "清零用 optimizer.zero_grad()，或者先判断 p.grad is not None。",
    "backward_twice": "loss.backward() 调用了两次：第一次之后计算图就释放了。每一步只 backward 一次。",
    "clip_generic": "{what}：更新后的参数与 PyTorch 的不一致（最大差值 {diff:.3g}）。逐项检查顺序：清零梯度 → "
                    "loss.backward() → 按总范数裁剪 → optimizer.step()。",
    "norm_after": "{what}：返回的是裁剪之后的范数：要返回裁剪之前的总范数（clip_grad_norm_ 的返回值就是它）。",
    "norm_tensor": "{what}：返回的是张量，请转成 Python 的 float（float(...) 或 .item()）。",
    "norm_type": "{what} 应当返回 Python 的 float（裁剪之前的总范数），实际返回的是 {got}。",
    "norm_none": "{what} 返回了 None：是不是忘了 return 裁剪之前的总范数？",
    "norm_not_zeroed": "{what}：返回的范数把上一步留下的梯度也算进去了：先把梯度清零，再 backward。",
    "norm_before_backward": "{what}：返回的范数里没有这一次的梯度（你的是 {got:.4g}）：裁剪放在了 loss.backward() 之前，"
                            "或者 backward 之后又把梯度清零了。裁剪和记下范数都要在 backward 之后、清零之前。",
    "norm_generic": "{what}：返回的范数不对（你的是 {got:.4g}）。它应当是这一次 backward 得到的所有梯度连成一个长向量后的 2-范数，"
                    "在裁剪之前量。",
}

# torch's English errors this assignment meets, recognised by fragments (lower case): hint key.
# Checked before core's TORCH_HINTS; the first match wins.
LOCAL_ERRORS = (
    (("must be sorted in decreasing order",), "enforce_sorted"),
    (("to be equal to batch_size",), "pack_batch_first"),
    (("backward through the graph a second time",), "backward_twice"),
    (("only change requires_grad flags of leaf variables",), "leaf_requires_grad"),
    (("expected target size",), "target_size"),
)

SEQ_NOTE = "（出错的这一例：{label}）"


def _hint(key: str, **kw) -> str:
    return HINTS[key].format(**kw)


def _quietly(kind, *args, **kwargs) -> nn.Module:
    """A new module whose default initialisation does not advance the student's global RNG."""
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kind(*args, **kwargs)


def _lengths_arg(lengths: list[int], as_list: bool):
    return list(lengths) if as_list else torch.tensor(lengths, dtype=torch.int64)


def _lengths_text(lengths: list[int], as_list: bool) -> str:
    return f"lengths 是列表 {list(lengths)}" if as_list else f"lengths 是 int64 张量，值为 {list(lengths)}"


def run(fn, name: str, args: tuple, label: str, lengths_list: bool = False, kwargs: dict | None = None,
        extra_error_hint=None):
    """call(fn, name, *args, **kwargs) with this assignment's Chinese hints for torch's errors and the case's label.

    `extra_error_hint(message) -> str` may name what this case tries that the error points to ("" when nothing).
    """
    __tracebackhide__ = True
    try:
        return call(fn, name, *args, **(kwargs or {}))
    except CheckFailed as e:
        msg = str(e)
        if "还没有实现" in msg:
            fail(msg)
        lower = msg.lower()
        hint = ""
        for fragments, key in LOCAL_ERRORS:
            if any(f in lower for f in fragments):
                hint = HINTS[key]
                break
        if not hint and lengths_list and ("'list'" in lower or "list indices" in lower):
            hint = HINTS["lengths_list"]
        if not hint and extra_error_hint is not None:
            hint = extra_error_hint(msg)
        if hint:
            msg = "\n".join(line for line in msg.splitlines() if not line.startswith("提示：")) + f"\n提示：{hint}"
        fail(msg + "\n" + SEQ_NOTE.format(label=label))


def _unique(variants: list, want) -> list:
    """Variants that differ from the expectation, and only those a single hint explains: a value that two
    different mistakes give names neither (the generic message is given instead)."""
    kept = [(v, h) for v, h in variants if v is not None and not _same(v, want)]
    return [(v, h) for v, h in kept if not any(_same(v, w) and h != g for w, g in kept)]


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return close(a, b)


# ------------------------------------------------------------------ masked_mean_loss

class _Padded:
    """A case made of per-sequence valid rows (`valid`) and the junk that pads each (`junk`)."""

    @property
    def lengths(self) -> list[int]:
        return [int(v.shape[0]) for v in self.valid]

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(B, T, last dimension) of the padded batch."""
        return len(self.valid), self.valid[0].shape[0] + self.junk[0].shape[0], self.valid[0].shape[1]


@dataclass
class LossCase(_Padded):
    valid: list           # per sequence: (lengths[b], C) logits, the real data
    valid_targets: list   # per sequence: (lengths[b],) int64
    junk: list            # per sequence: (T - lengths[b], C) logits at the padded positions
    junk_targets: list    # per sequence: (T - lengths[b],) any class
    as_list: bool
    new: str = ""

    @property
    def label(self) -> str:
        B, T, C = self.sizes
        return f"masked_mean_loss（logits 形状 ({B}, {T}, {C})，{_lengths_text(self.lengths, self.as_list)}）"

    def inputs(self):
        """(logits (B, T, C) leaf requiring grad, targets (B, T), lengths): what the student receives."""
        logits = torch.stack([torch.cat((v, j)) for v, j in zip(self.valid, self.junk)]).requires_grad_()
        targets = torch.stack([torch.cat((v, j)) for v, j in zip(self.valid_targets, self.junk_targets)])
        return logits, targets, _lengths_arg(self.lengths, self.as_list)


def make_loss_case(seed: int, lengths, T: int, C: int, as_list: bool = False, new: str = "") -> LossCase:
    """Seeded per-sequence logits and targets of the given lengths, and junk for the padding."""
    g = oracles.seeded(seed)
    valid = [oracles.randn(g, n, C, scale=2.0) for n in lengths]
    valid_targets = [torch.randint(0, C, (n,), generator=g) for n in lengths]
    junk = [oracles.randn(g, T - n, C, scale=30.0) for n in lengths]  # large: a pad counted shows
    junk_targets = [torch.randint(0, C, (T - n,), generator=g) for n in lengths]
    return LossCase(valid, valid_targets, junk, junk_targets, as_list, new)


def loss_by_torch(case: LossCase) -> torch.Tensor:
    """F.cross_entropy over the valid rows only (the checker has them, unpadded)."""
    with torch.no_grad():
        return F.cross_entropy(torch.cat(case.valid), torch.cat(case.valid_targets))


def loss_grad_by_torch(case: LossCase) -> torch.Tensor:
    """d loss / d logits as autograd gives it on the valid rows; zero at every padded position."""
    leaves = [v.clone().requires_grad_() for v in case.valid]
    loss = F.cross_entropy(torch.cat(leaves), torch.cat(case.valid_targets))
    grads = torch.autograd.grad(loss, leaves)
    return torch.stack([torch.cat((g_, torch.zeros_like(j))) for g_, j in zip(grads, case.junk)])


def _loss_variants(case: LossCase):
    """[(value, hint)]: torch's answers to the questions a classic mistake answers instead."""
    B, T, _ = case.sizes
    ce = F.cross_entropy
    rows, targets = torch.cat(case.valid), torch.cat(case.valid_targets)
    every_row = torch.cat([torch.cat((v, j)) for v, j in zip(case.valid, case.junk)])
    every_target = torch.cat([torch.cat((v, j)) for v, j in zip(case.valid_targets, case.junk_targets)])
    total = ce(rows, targets, reduction="sum")
    found = [
        (ce(every_row, every_target), "loss_all_positions"),
        (total / B, "loss_over_batch"),
        (total / (B * T), "loss_over_all_count"),
        (total, "loss_sum"),
        (torch.stack([ce(v, t) for v, t in zip(case.valid, case.valid_targets)]).mean(), "loss_per_sequence"),
        (ce(torch.cat([torch.cat((v, j[:1])) for v, j in zip(case.valid, case.junk)]),
            torch.cat([torch.cat((v, j[:1])) for v, j in zip(case.valid_targets, case.junk_targets)])),
         "loss_one_extra"),
    ]
    if any(v.shape[0] > 1 for v in case.valid):
        found.append((ce(torch.cat([v[:-1] for v in case.valid]), torch.cat([t[:-1] for t in case.valid_targets])),
                      "loss_one_fewer"))
    keep = every_target != 0
    if keep.any():
        found.append((ce(every_row[keep], every_target[keep]), "loss_ignore_zero"))
    with torch.no_grad():
        return _unique([(v.detach(), h) for v, h in found], loss_by_torch(case))


def loss_cases() -> list[LossCase]:
    return [
        make_loss_case(6101, [4, 2, 5], T=6, C=5, new="第一例"),
        make_loss_case(6102, [3, 1, 7, 5], T=7, C=4, as_list=True,
                       new="lengths 是列表，有一条长度为 1、一条正好占满 T 的序列"),
        make_loss_case(6103, [2, 5, 3, 4, 1], T=8, C=3,
                       new="最长的序列也比 T 短（每条序列后面都有填充），批量大小大于类别数"),
    ]


def run_masked_mean_loss(fn, case: LossCase):
    """Call the student's function on the case's padded inputs; (loss, logits) back, the inputs untouched."""
    __tracebackhide__ = True
    name = "masked_mean_loss"
    logits, targets, lengths = case.inputs()
    before = (logits.detach().clone(), targets.clone(), None if case.as_list else lengths.clone())
    kept_list = list(lengths) if case.as_list else None
    got = run(fn, name, (logits, targets, lengths), case.label, lengths_list=case.as_list)
    arg = changed_input(("logits", "targets", "lengths"),
                        (logits, targets, None if case.as_list else lengths), before)
    if arg is None and case.as_list and list(lengths) != kept_list:
        arg = "lengths"
    if arg:
        fail(f"{case.label}：" + _hint("modified_input", name=name, arg=arg))
    if isinstance(got, (float, int)) and not isinstance(got, bool):
        fail(_hint("loss_float", what=case.label, got=type(got).__name__))
    return check_is_tensor(got, case.label), logits


def _loss_shape_hint(got: tuple, case: LossCase) -> str:
    B, T, _ = case.sizes
    if got in ((B,), (B, 1)):
        return HINTS["loss_shape_per_sequence"]
    if got in ((B, T), (B * T,), (sum(case.lengths),)):
        return HINTS["loss_shape_per_position"]
    return ""


@fresh_torch_state
def loss_check(masked_mean_loss, cases: list[LossCase]) -> None:
    """Each case's value and the gradient loss.backward() sends to the logits (visible checks and hidden tests)."""
    __tracebackhide__ = True
    prepared = [(case, loss_by_torch(case), loss_grad_by_torch(case), _loss_variants(case)) for case in cases]
    for i, (case, want, want_grad, variants) in enumerate(prepared):
        got, logits = run_masked_mean_loss(masked_mean_loss, case)
        what = case.label
        if shape_of(got) != ():
            fail(_hint("loss_shape", what=what, got=shape_of(got)) + _loss_shape_hint(shape_of(got), case))
        if not close(got, want):
            for value, key in variants:
                if close(got, value):
                    fail(f"{what}：结果不对。" + HINTS[key])
            fail(_hint("loss_generic", what=what, diff=max_abs_diff(got, want))
                 + ("" if i == 0 else _hint("case_new", new=case.new)))
        check_dtype(got, want, what)
        if not got.requires_grad:
            fail(_hint("loss_detached", what=what))
        call(got.backward, "loss.backward()")
        if logits.grad is None or not close(logits.grad, want_grad):
            fail(_hint("loss_grad", what=what))


@fresh_torch_state
def check_masked_mean_loss(masked_mean_loss) -> str:
    """Visible check: unsorted lengths as a tensor and as a list, length 1, a full-length sequence,
    every sequence padded; the value, and the gradient that loss.backward() sends to the logits."""
    loss_check(masked_mean_loss, loss_cases())
    return "masked_mean_loss 通过了可见检查。"


# ------------------------------------------------------------------ detach_state

@dataclass
class StateCase:
    kind: str                      # "RNN", "GRU" or "LSTM" (the module that produced the state)
    state: object                  # a tensor, a tuple (h, c), or None
    note: str = ""

    @property
    def label(self) -> str:
        if self.state is None:
            return "detach_state(None)"
        if isinstance(self.state, tuple):
            shapes = "、".join(str(tuple(s.shape)) for s in self.state)
            return f"detach_state((h, c))（nn.{self.kind} 的 (h_n, c_n)，形状 {shapes}{self.note}）"
        return f"detach_state(h)（nn.{self.kind} 的 h_n，形状 {tuple(self.state.shape)}{self.note}）"


def make_state_case(seed: int, kind: str, input_size: int, hidden_size: int, num_layers: int = 1, batch: int = 2,
                    seq: int = 3, proj_size: int = 0, no_graph: bool = False, bidirectional: bool = False) -> StateCase:
    """The final state of a seeded module of `kind` after reading a segment: on the graph (grad_fn set),
    or, with no_graph, computed without gradients (a tensor with no history)."""
    g = oracles.seeded(seed)
    kw = {"proj_size": proj_size} if proj_size else {}
    module = _quietly(getattr(nn, kind), input_size, hidden_size, num_layers, bidirectional=bidirectional, **kw)
    oracles.fill_parameters(module, g)
    x = oracles.randn(g, seq, batch, input_size)
    with warnings.catch_warnings(), torch.set_grad_enabled(not no_graph):
        warnings.simplefilter("ignore")  # "LSTM with projections is not supported with oneDNN"
        _, state = module(x)
    note = "，不在计算图上" if no_graph else ""
    return StateCase(kind, state, note)


def state_cases() -> list[StateCase]:
    return [
        make_state_case(6201, "GRU", 3, 4, num_layers=1, batch=3),
        make_state_case(6202, "GRU", 2, 5, num_layers=2, batch=3),   # first dimension 2: a tensor, not (h, c)
        make_state_case(6203, "RNN", 4, 3, num_layers=3, batch=2),
        make_state_case(6204, "GRU", 3, 2, num_layers=1, batch=4, no_graph=True),
    ]


def tuple_cases() -> list[StateCase]:
    return [
        make_state_case(6211, "LSTM", 3, 4, num_layers=1, batch=2),
        make_state_case(6212, "LSTM", 2, 5, num_layers=2, batch=3, proj_size=3),  # h and c differ in shape
    ]


def _snapshot(state):
    if isinstance(state, tuple):
        return tuple(_snapshot(s) for s in state)
    return (state.detach().clone(), state.grad_fn, state.requires_grad)


def _untouched(state, snap) -> bool:
    """The caller's state still holds its values and is still on its graph."""
    if isinstance(state, tuple):
        return all(_untouched(s, n) for s, n in zip(state, snap))
    values, grad_fn, requires_grad = snap
    return state.grad_fn is grad_fn and state.requires_grad == requires_grad and close(
        state.detach(), values, atol=0.0, rtol=0.0)


def _on_graph(t: torch.Tensor) -> bool:
    return t.grad_fn is not None or t.requires_grad


def _check_one_tensor(got, given: torch.Tensor, what: str) -> None:
    """`got` must hold given's values, off the graph (not given itself, not a differentiable copy)."""
    __tracebackhide__ = True
    if callable(got) and not isinstance(got, torch.Tensor):
        fail(_hint("detach_method", what=what, got=type(got).__name__))
    got = check_is_tensor(got, what)
    if shape_of(got) != shape_of(given):
        fail(f"{what}：形状是 {shape_of(got)}，传入的是 {shape_of(given)}：截断不改变隐状态的形状。")
    if not close(got.detach(), given.detach(), atol=0.0, rtol=0.0):
        with torch.no_grad():
            zeros = bool((got == 0).all())
        if zeros:
            fail(_hint("detach_zeros", what=what))
        fail(_hint("detach_values", what=what, diff=max_abs_diff(got, given)))
    if got is given and _on_graph(given):
        fail(_hint("detach_same", what=what))
    if _on_graph(got):
        if got.grad_fn is not None and type(got.grad_fn).__name__.startswith("CloneBackward"):
            fail(_hint("detach_clone", what=what))
        fail(_hint("detach_attached", what=what))
    check_dtype(got, given, what)


def run_detach(fn, case: StateCase):
    __tracebackhide__ = True
    snap = _snapshot(case.state) if case.state is not None else None
    got = run(fn, "detach_state", (case.state,), case.label)
    if case.state is not None and not _untouched(case.state, snap):
        fail(_hint("detach_inplace", what=case.label))
    return got


@fresh_torch_state
def detach_tensor_check(detach_state, cases: list[StateCase]) -> None:
    __tracebackhide__ = True
    for case in cases:
        got = run_detach(detach_state, case)
        if isinstance(got, (tuple, list)):
            fail(_hint("detach_tensor_as_tuple", what=case.label, got=describe(got)))
        if got is None:
            fail(_hint("detach_type", what=case.label, got="None"))
        _check_one_tensor(got, case.state, case.label)


@fresh_torch_state
def check_detach_state(detach_state) -> str:
    """Visible check, tensors: nn.GRU's and nn.RNN's h_n (1 to 3 layers, one with 2 layers so that
    len(state) == 2), and a state with no graph at all."""
    detach_tensor_check(detach_state, state_cases())
    return "detach_state 通过了可见检查（张量）。"


@fresh_torch_state
def detach_tuple_check(detach_state, cases: list[StateCase]) -> None:
    __tracebackhide__ = True
    for case in cases:
        got = run_detach(detach_state, case)
        h, c = case.state
        if isinstance(got, list):
            fail(_hint("detach_tuple_list", what=case.label))
        if isinstance(got, torch.Tensor):
            fail(_hint("detach_tuple_one", what=case.label))
        if not isinstance(got, tuple):
            fail(_hint("detach_type", what=case.label, got=describe(got)))
        if len(got) != 2:
            fail(_hint("detach_type", what=case.label, got=f"有 {len(got)} 个元素的 tuple"))
        gh, gc = got
        if (isinstance(gh, torch.Tensor) and isinstance(gc, torch.Tensor) and shape_of(gh) == shape_of(h)
                and shape_of(gc) == shape_of(c) and close(gh.detach(), h.detach()) and close(gc.detach(), c.detach())):
            if not _on_graph(gh) and _on_graph(gc):
                fail(_hint("detach_only_h", what=case.label))
            if _on_graph(gh) and not _on_graph(gc):
                fail(_hint("detach_only_c", what=case.label))
        _check_one_tensor(gh, h, case.label + " 的 h")
        _check_one_tensor(gc, c, case.label + " 的 c")


@fresh_torch_state
def check_detach_state_tuple(detach_state) -> str:
    """Visible check, LSTM's (h, c): one layer, and two layers with proj_size (h and c differ in shape)."""
    detach_tuple_check(detach_state, tuple_cases())
    return "detach_state 通过了可见检查（LSTM 的 (h, c)）。"


@fresh_torch_state
def expect_none_kept(detach_state) -> None:
    """detach_state(None) must return None (visible check and hidden test alike)."""
    __tracebackhide__ = True
    try:
        got = call(detach_state, "detach_state", None)
    except CheckFailed as e:
        msg = str(e)
        if "还没有实现" in msg:
            fail(msg)
        fail(msg.split("\n提示：")[0] + "\n提示：" + HINTS["detach_none_error"])
    if got is not None:
        fail(_hint("detach_none_value", got=describe(got)))


@fresh_torch_state
def check_detach_state_none(detach_state) -> str:
    """Visible check: the first segment has no state yet (None)."""
    expect_none_kept(detach_state)
    return "detach_state 通过了可见检查（None）。"


# ------------------------------------------------------------------ last_valid_output

@dataclass
class LastCase(_Padded):
    valid: list        # per sequence (lengths[b], H): the outputs at its valid steps
    junk: list         # per sequence (T - lengths[b], H): whatever sits at the padded steps
    as_list: bool
    batch_first: bool = True
    defaults: bool = False   # call without batch_first
    new: str = ""

    @property
    def label(self) -> str:
        B, T, H = self.sizes
        layout = (B, T, H) if self.batch_first else (T, B, H)
        flag = "" if self.defaults else f", batch_first={self.batch_first}"
        return f"last_valid_output(output, lengths{flag})（output 形状 {layout}，{_lengths_text(self.lengths, self.as_list)}）"

    def leaves(self):
        """Fresh leaves for the valid and junk rows, and the padded output built from them (on the graph)."""
        valid = [v.clone().requires_grad_() for v in self.valid]
        junk = [j.clone().requires_grad_() for j in self.junk]
        padded = torch.stack([torch.cat((v, j)) for v, j in zip(valid, junk)])   # (B, T, H)
        if not self.batch_first:
            padded = padded.transpose(0, 1).contiguous()                          # (T, B, H), as a module gives it
        return valid, junk, padded


def make_last_case(seed, lengths, T, H, as_list=False, batch_first=True, defaults=False, new="") -> LastCase:
    g = oracles.seeded(seed)
    valid = [oracles.randn(g, n, H) for n in lengths]
    junk = [oracles.randn(g, T - n, H, scale=3.0) for n in lengths]
    return LastCase(valid, junk, as_list, batch_first, defaults, new)


def last_by_torch(case: LastCase) -> torch.Tensor:
    """Each generated sequence's own last row."""
    return torch.stack([v[-1] for v in case.valid]).clone()


def _last_variants(case: LastCase):
    B, T, H = case.sizes
    L = case.lengths
    full = [torch.cat((v, j)) for v, j in zip(case.valid, case.junk)]        # per sequence (T, H)
    bt = torch.stack(full)                                                   # (B, T, H)
    found = [
        (bt[:, -1], "last_padded"),
        (bt[:, max(L) - 1], "last_max_length"),
        (bt[:, 0], "last_first"),
        (torch.stack([f[n - 2] for f, n in zip(full, L)]), "last_before"),
    ]
    if max(L) < T:
        found.append((torch.stack([f[n] for f, n in zip(full, L)]), "last_after"))
    # The other layout read: for a time-major tensor taken as (B, T, H), or the other way round,
    # output[b, lengths[b] - 1] is time step b of sequence lengths[b] - 1.
    if B <= T and max(L) <= B:
        found.append((torch.stack([bt[n - 1, b] for b, n in enumerate(L)]),
                      "last_batch_major" if case.batch_first else "last_time_major"))
    return _unique(found, last_by_torch(case))


def last_cases() -> list[LastCase]:
    return [
        make_last_case(6301, [3, 5, 1, 4, 2], T=6, H=3, defaults=True, new="第一例"),
        make_last_case(6302, [7, 2, 7, 5, 3], T=7, H=4, as_list=True, batch_first=True,
                       new="lengths 是列表，有正好占满 T 的序列"),
    ]


def time_major_cases() -> list[LastCase]:
    return [
        make_last_case(6311, [2, 6, 4], T=6, H=5, batch_first=False, new="batch_first=False"),
        make_last_case(6312, [1, 3], T=5, H=2, as_list=True, batch_first=False,
                       new="batch_first=False，lengths 是列表，最长的序列也比 T 短"),
    ]


def run_last_valid_output(fn, case: LastCase):
    """Call the student's function; (result, valid leaves, junk leaves), the inputs untouched."""
    __tracebackhide__ = True
    name = "last_valid_output"
    valid, junk, padded = case.leaves()
    lengths = _lengths_arg(case.lengths, case.as_list)
    before = (padded.detach().clone(), None if case.as_list else lengths.clone())
    kwargs = {} if case.defaults else {"batch_first": case.batch_first}

    def where(msg: str) -> str:
        # A hint only where torch's index error says which mistake it is: index T on the time dimension is
        # lengths[b] used as an index; on a (T, B, H) output, batch numbers on the time dimension (or time
        # steps on the batch dimension) are the layout mistake. Any other index error gets no guess.
        m = re.search(r"index (\d+) is out of bounds for dimension (\d+) with size (\d+)", msg)
        if not m:
            return ""
        index, dim, size = map(int, m.groups())
        B, T, _ = case.sizes
        time_dim = 1 if case.batch_first else 0
        if dim == time_dim and index == size == T and max(case.lengths) == T:
            return HINTS["last_index_full"]
        if not case.batch_first and ((dim == 0 and size == T and index < B) or (dim == 1 and size == B)):
            return HINTS["last_time_major"]
        return ""

    got = run(fn, name, (padded, lengths), case.label, lengths_list=case.as_list, kwargs=kwargs,
              extra_error_hint=where)
    arg = changed_input(("output", "lengths"), (padded, None if case.as_list else lengths), before)
    if arg is None and case.as_list and list(lengths) != case.lengths:
        arg = "lengths"
    if arg:
        fail(f"{case.label}：" + _hint("modified_input", name=name, arg=arg))
    return check_is_tensor(got, case.label), valid, junk


@fresh_torch_state
def last_check(fn, cases: list[LastCase]) -> None:
    """Each case's rows and the gradient result.sum().backward() sends back (visible checks and hidden tests)."""
    __tracebackhide__ = True
    prepared = [(case, last_by_torch(case), _last_variants(case)) for case in cases]
    for i, (case, want, variants) in enumerate(prepared):
        got, valid, junk = run_last_valid_output(fn, case)
        what = case.label
        if shape_of(got) != shape_of(want):
            fail(_hint("last_shape", what=what, got=shape_of(got), want=shape_of(want)))
        if not close(got, want):
            for value, key in variants:
                if close(got, value):
                    fail(f"{what}：结果不对。" + HINTS[key])
            fail(_hint("last_generic", what=what, diff=max_abs_diff(got, want))
                 + (_hint("case_new", new=case.new) if i else ""))
        check_dtype(got, want, what)
        if not got.requires_grad:
            fail(_hint("last_detached", what=what))
        call(got.sum().backward, "result.sum().backward()")
        wants = [torch.autograd.grad(v[-1].sum(), v)[0] for v in (x.detach().requires_grad_() for x in case.valid)]
        for leaf, w in zip(valid, wants):
            if leaf.grad is None or not close(leaf.grad, w):
                fail(_hint("last_grad", what=what))
        if any(j.grad is not None and j.numel() and not close(j.grad, torch.zeros_like(j)) for j in junk):
            fail(_hint("last_grad", what=what))


@fresh_torch_state
def check_last_valid_output(last_valid_output) -> str:
    """Visible check, batch_first=True (given and by default): unsorted lengths as a tensor and as a list,
    length 1, full-length sequences, every row of the padding junk; the gradient reaches only the right rows."""
    last_check(last_valid_output, last_cases())
    return "last_valid_output 通过了可见检查（batch_first=True）。"


@fresh_torch_state
def check_last_valid_output_time_major(last_valid_output) -> str:
    """Visible check, batch_first=False: output is (T, B, H)."""
    last_check(last_valid_output, time_major_cases())
    return "last_valid_output 通过了可见检查（batch_first=False）。"


# ------------------------------------------------------------------ encode

@dataclass
class EncodeCase:
    rnn: nn.Module                 # batch_first=True
    sequences: list                # per sequence (lengths[b], E), unpadded
    junk: list                     # per sequence (T - lengths[b], E)
    as_list: bool
    new: str = ""

    @property
    def lengths(self) -> list[int]:
        return [int(s.shape[0]) for s in self.sequences]

    @property
    def label(self) -> str:
        r = self.rnn
        B, T = len(self.sequences), self.sequences[0].shape[0] + self.junk[0].shape[0]
        kind = type(r).__name__
        extra = (f", num_layers={r.num_layers}" if r.num_layers > 1 else "") + (", bidirectional=True" if r.bidirectional else "")
        return (f"encode（nn.{kind}({r.input_size}, {r.hidden_size}{extra}, batch_first=True)，"
                f"embedded 形状 ({B}, {T}, {r.input_size})，{_lengths_text(self.lengths, self.as_list)}）")

    def embedded(self) -> torch.Tensor:
        return torch.stack([torch.cat((s, j)) for s, j in zip(self.sequences, self.junk)])


def make_encode_case(seed, kind, input_size, hidden_size, lengths, T, num_layers=1, bidirectional=False,
                     as_list=False, new="") -> EncodeCase:
    g = oracles.seeded(seed)
    rnn = _quietly(getattr(nn, kind), input_size, hidden_size, num_layers, batch_first=True,
                   bidirectional=bidirectional)
    oracles.fill_parameters(rnn, g)
    sequences = [oracles.randn(g, n, input_size) for n in lengths]
    junk = [oracles.randn(g, T - n, input_size, scale=3.0) for n in lengths]
    return EncodeCase(rnn, sequences, junk, as_list, new)


def _alone(rnn: nn.Module, sequences: list, grad: bool = False):
    """Each sequence run alone, a batch of one with no padding: [(output (L, D·H), h_n (L·D, H), c_n or None)]."""
    found = []
    with torch.set_grad_enabled(grad):
        for s in sequences:
            out, state = rnn(s.unsqueeze(0))
            h, c = state if isinstance(state, tuple) else (state, None)
            found.append((out[0], h[:, 0], None if c is None else c[:, 0]))
    return found


def _top(rows: torch.Tensor, D: int) -> torch.Tensor:
    """The last D rows of one sequence's (L·D, H) final states, concatenated (forward first)."""
    return torch.cat([rows[rows.shape[0] - D + d] for d in range(D)])


def features_by_torch(case: EncodeCase, rnn: nn.Module | None = None, grad: bool = False) -> torch.Tensor:
    """(B, D·H): the top layer's final states of each sequence run alone, forward then backward."""
    rnn = case.rnn if rnn is None else rnn
    D = 2 if rnn.bidirectional else 1
    return torch.stack([_top(h, D) for _, h, _ in _alone(rnn, case.sequences, grad)])


def _encode_variants(case: EncodeCase):
    rnn = case.rnn
    D, L = (2 if rnn.bidirectional else 1), rnn.num_layers
    alone = _alone(rnn, case.sequences)
    want = features_by_torch(case)
    with torch.no_grad():
        padded_out, padded_state = rnn(case.embedded())
    padded_h = padded_state[0] if isinstance(padded_state, tuple) else padded_state
    longest = max(case.lengths)
    found = [(torch.cat([padded_h[L * D - D + d] for d in range(D)], dim=1), "enc_no_pack")]
    if D == 2:  # one direction: output[:, -1] of the padded batch is that same h_n row (the same mistake)
        found.append((padded_out[:, -1], "enc_output_last"))
    found += [
        (torch.stack([out[-1] if out.shape[0] == longest else torch.zeros_like(out[-1]) for out, _, _ in alone]),
         "enc_output_last"),
    ]
    if D == 2:
        found.append((torch.stack([out[-1] for out, _, _ in alone]), "enc_backward_one_step"))
        found.append((torch.stack([torch.cat((h[-1], h[-2])) for _, h, _ in alone]), "enc_swapped"))
    if L > 1:
        found.append((torch.stack([torch.cat([h[d] for d in range(D)]) for _, h, _ in alone]), "enc_first_layer"))
    if isinstance(rnn, nn.LSTM):
        found.append((torch.stack([_top(c, D) for _, _, c in alone]), "enc_c_n"))
    order = sorted(range(len(case.lengths)), key=lambda b: -case.lengths[b])
    if order != list(range(len(order))):
        found.append((want[order], "enc_sorted_order"))
    return _unique(found, want)


def encode_cases() -> list[EncodeCase]:
    return [
        make_encode_case(6401, "GRU", 3, 4, [5, 2, 6, 1], T=6, new="第一例"),
        make_encode_case(6402, "LSTM", 4, 3, [2, 5, 3], T=5, num_layers=2, as_list=True,
                         new="nn.LSTM（它返回 (h_n, c_n)），两层，lengths 是列表"),
        make_encode_case(6403, "RNN", 2, 5, [4, 3, 3, 2, 1], T=6, num_layers=3,
                         new="nn.RNN，三层，lengths 已经从长到短排好，最长的序列也比 T 短"),
    ]


def bidirectional_cases() -> list[EncodeCase]:
    return [
        make_encode_case(6411, "GRU", 3, 4, [3, 5, 1, 4], T=5, bidirectional=True, new="双向"),
        make_encode_case(6412, "LSTM", 3, 2, [6, 2, 4], T=7, num_layers=2, bidirectional=True, as_list=True,
                         new="双向 nn.LSTM，两层，lengths 是列表，最长的序列也比 T 短"),
        make_encode_case(6413, "RNN", 2, 3, [4, 2], T=4, num_layers=3, bidirectional=True,
                         new="双向 nn.RNN，三层，lengths 已经排好"),
    ]


def run_encode(fn, case: EncodeCase):
    """Call the student's function on a copy of the case's rnn; (features, the copy), inputs and parameters untouched."""
    __tracebackhide__ = True
    name = "encode"
    twin = copy.deepcopy(case.rnn)
    before = {n: p.detach().clone() for n, p in twin.named_parameters()}
    embedded = case.embedded()
    lengths = _lengths_arg(case.lengths, case.as_list)
    saved = (embedded.clone(), None if case.as_list else lengths.clone())
    def where(msg: str) -> str:
        if "exceeds dimension size" in msg:   # packed with batch_first=False and enforce_sorted=False
            return HINTS["pack_batch_first"]
        if not case.rnn.bidirectional and "IndexError" in msg and "dimension 0" in msg:
            return HINTS["enc_uni"]
        return ""

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = run(fn, name, (twin, embedded, lengths), case.label, lengths_list=case.as_list, extra_error_hint=where)
    now = dict(twin.named_parameters())
    if set(now) != set(before) or any(not close(now[n].detach(), before[n], atol=0, rtol=0) for n in before):
        fail(HINTS["enc_params_changed"])
    arg = changed_input(("embedded", "lengths"), (embedded, None if case.as_list else lengths), saved)
    if arg is None and case.as_list and list(lengths) != case.lengths:
        arg = "lengths"
    if arg:
        fail(f"{case.label}：" + _hint("modified_input", name=name, arg=arg))
    return check_is_tensor(got, case.label), twin


def _encode_shape_hint(got: tuple, case: EncodeCase) -> str:
    B, H = len(case.sequences), case.rnn.hidden_size
    if len(got) == 3:
        return HINTS["enc_shape_3d"]
    if case.rnn.bidirectional and got == (B, H):
        return HINTS["enc_shape_bi_half"]
    if not case.rnn.bidirectional and got == (B, 2 * H):
        return HINTS["enc_uni"]
    return ""


@fresh_torch_state
def encode_check(fn, cases: list[EncodeCase], grad_case: int) -> None:
    """Each case's features; the gradients of case `grad_case` (visible checks and hidden tests)."""
    __tracebackhide__ = True
    prepared = [(case, features_by_torch(case), _encode_variants(case)) for case in cases]
    ref = copy.deepcopy(cases[grad_case].rnn)
    features_by_torch(cases[grad_case], ref, grad=True).sum().backward()
    wants = {n: p.grad.clone() for n, p in ref.named_parameters()}
    for i, (case, want, variants) in enumerate(prepared):
        got, twin = run_encode(fn, case)
        what = case.label
        if shape_of(got) != shape_of(want):
            fail(_hint("enc_shape", what=what, got=shape_of(got), want=shape_of(want)) + _encode_shape_hint(shape_of(got), case))
        if not close(got, want):
            for value, key in variants:
                if close(got, value):
                    rows = "两行（前向、反向）" if case.rnn.bidirectional else "一行"
                    fail(f"{what}：结果不对。" + _hint(key, what="", bi=HINTS["enc_no_pack_bi"] if case.rnn.bidirectional
                                                    else "", rows=rows).lstrip("："))
            dirs = "两个方向（前向在前）" if case.rnn.bidirectional else ""
            fail(_hint("enc_generic", what=what, diff=max_abs_diff(got, want), dirs=dirs)
                 + (_hint("case_new", new=case.new) if i else ""))
        check_dtype(got, want, what)
        if i == grad_case:
            if not got.requires_grad:
                fail(_hint("enc_detached", what=what))
            call(got.sum().backward, "features.sum().backward()")
            for n, p in twin.named_parameters():
                if p.grad is None or not close(p.grad, wants[n]):
                    fail(_hint("enc_grad", what=what, name=n))


@fresh_torch_state
def check_encode(encode) -> str:
    """Visible check, one direction: nn.GRU, nn.LSTM, nn.RNN, 1 to 3 layers, unsorted and sorted lengths as a
    tensor and as a list, length 1, a full-length sequence, junk in the padding; gradients to the rnn."""
    encode_check(encode, encode_cases(), grad_case=1)
    return "encode 通过了可见检查（单向）。"


@fresh_torch_state
def check_encode_bidirectional(encode) -> str:
    """Visible check, two directions: forward then backward, each after its own last valid token."""
    encode_check(encode, bidirectional_cases(), grad_case=1)
    return "encode 通过了可见检查（双向）。"


# ------------------------------------------------------------------ clipped_step

class _Tiny(nn.Module):
    """A recurrent layer and a linear read-out: the model a training step updates."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, classes: int):
        super().__init__()
        self.rnn = getattr(nn, kind)(input_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, classes)

    def forward(self, x):
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        return self.out(h[-1])


@dataclass
class ClipCase:
    seed: int
    kind: str
    max_norm: float
    lr: float
    momentum: float = 0.0
    junk: bool = True          # .grad already holds the previous step's gradients
    scale: float = 1.0         # the loss is scale × cross-entropy (sets the gradient norm)
    sizes: tuple = (3, 4, 2, 5, 6)   # input_size, hidden_size, classes, batch, seq
    new: str = ""

    @property
    def label(self) -> str:
        opt = f"SGD(lr={self.lr}" + (f", momentum={self.momentum}" if self.momentum else "") + ")"
        grads = "参数的 .grad 里留着上一步的梯度" if self.junk else "第一步：参数的 .grad 还是 None"
        return f"clipped_step（nn.{self.kind} + nn.Linear，{opt}，max_norm={self.max_norm}，{grads}）"

    def build(self):
        """The seeded model, its input and targets (the same on every call)."""
        I, H, C, B, T = self.sizes
        g = oracles.seeded(self.seed)
        model = _quietly(_Tiny, self.kind, I, H, C)
        oracles.fill_parameters(model, g)
        x = oracles.randn(g, B, T, I)
        y = torch.randint(0, C, (B,), generator=g)
        junk = [oracles.randn(g, *p.shape, scale=2.0) for p in model.parameters()]
        return model, x, y, junk

    def loss(self, model, x, y) -> torch.Tensor:
        return self.scale * F.cross_entropy(model(x), y)

    def optimizer(self, model):
        return torch.optim.SGD(model.parameters(), lr=self.lr, momentum=self.momentum)


def _total_norm(grads) -> float:
    """The 2-norm of every gradient as one long vector (float64)."""
    with torch.no_grad():
        return float(torch.linalg.vector_norm(torch.cat([g.reshape(-1).double() for g in grads])))


@dataclass
class ClipExpected:
    params: list
    norm: float
    grads: list               # this step's gradients, unclipped
    clipped: list
    junk: list | None
    variants: list = field(default_factory=list)      # [(params, hint)]
    norm_variants: list = field(default_factory=list)  # [(norm, hint)]


def clip_by_torch(case: ClipCase) -> ClipExpected:
    """autograd.grad on a copy, the clip formula, and the optimizer's own update on another copy."""
    model, x, y, junk = case.build()
    params = list(model.parameters())
    grads = [g.detach() for g in torch.autograd.grad(case.loss(model, x, y), params)]
    norm = _total_norm(grads)

    def clip(gs, m=case.max_norm):
        n = _total_norm(gs)
        coef = min(1.0, m / (n + 1e-6))
        return [g * coef for g in gs]

    def stepped(gs):
        twin = case.build()[0]
        opt = case.optimizer(twin)
        for p, g in zip(twin.parameters(), gs):
            p.grad = g.clone()
        opt.step()
        return [p.detach().clone() for p in twin.parameters()]

    clipped = clip(grads)
    want = stepped(clipped)
    found = [(stepped(grads), "clip_no_effect"),
             (stepped([clip([g])[0] for g in grads]), "clip_per_parameter"),
             (stepped([g.clamp(-case.max_norm, case.max_norm) for g in grads]), "clip_value")]
    norms = [(_total_norm(clipped), "norm_after"), (0.0, "norm_before_backward")]
    if case.junk:
        summed = [j + g for j, g in zip(junk, grads)]
        found.append((stepped(clip(summed)), "clip_not_zeroed"))
        norms += [(_total_norm(summed), "norm_not_zeroed"), (_total_norm(junk), "norm_before_backward")]
    variants = [(v, h) for v, h in found if not _same(v, want)]
    variants = [(v, h) for v, h in variants if not any(_same(v, w) and h != k for w, k in variants)]
    norm_variants = [(v, h) for v, h in norms if not _norm_close(v, norm)]
    return ClipExpected(want, norm, grads, clipped, junk if case.junk else None, variants, norm_variants)


def _norm_close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 + 1e-4 * abs(b)


def clip_cases() -> list[ClipCase]:
    return [
        ClipCase(6501, "GRU", max_norm=0.5, lr=0.1, scale=4.0, new="第一例"),
        ClipCase(6502, "LSTM", max_norm=1, lr=0.05, momentum=0.9, junk=False, scale=6.0,
                 new="第一步（.grad 还是 None），nn.LSTM，SGD 带 momentum，max_norm 是整数"),
        ClipCase(6503, "RNN", max_norm=100.0, lr=0.2, scale=1.0, new="max_norm 比总范数大（不需要裁剪）"),
    ]


def run_clipped_step(fn, case: ClipCase):
    """Call the student's function on a fresh model (the previous step's gradients in .grad when case.junk);
    returns (what it returned, parameters after, gradients after)."""
    __tracebackhide__ = True
    name = "clipped_step"
    model, x, y, junk = case.build()
    params = list(model.parameters())
    if case.junk:
        for p, j in zip(params, junk):
            p.grad = j.clone()
    optimizer = case.optimizer(model)
    loss = case.loss(model, x, y)

    def where(msg: str) -> str:
        return HINTS["clip_grad_none"] if (not case.junk and "'nonetype'" in msg.lower()) else ""

    got = run(fn, name, (list(params), optimizer, loss, case.max_norm), case.label, extra_error_hint=where)
    return got, [p.detach().clone() for p in params], [None if p.grad is None else p.grad.detach().clone()
                                                         for p in params]


def _params_hint(case: ClipCase, want: ClipExpected, after, grads_after, returned) -> str:
    """The hint key for parameters that were not updated as torch would (None: no diagnosis)."""
    before = case.build()[0]
    if _same(after, [p.detach() for p in before.parameters()]):
        if isinstance(returned, (float, int)) and not isinstance(returned, bool) and abs(returned) < 1e-6:
            return "clip_zero_after_backward"
        return "clip_no_step"
    for value, key in want.variants:
        if _same(after, value):
            if key == "clip_no_effect":
                if all(g is not None for g in grads_after) and _same(grads_after, want.clipped):
                    return "clip_after_step"
                if isinstance(returned, (float, int)) and any(
                        _norm_close(float(returned), n) for n, k in want.norm_variants if k == "norm_before_backward"):
                    return "clip_before_backward"
            return key
    return None


@fresh_torch_state
def step_check(clipped_step, cases: list[ClipCase]) -> None:
    """The parameters after each case's step (visible checks and hidden tests)."""
    __tracebackhide__ = True
    prepared = [(case, clip_by_torch(case)) for case in cases]
    for i, (case, want) in enumerate(prepared):
        returned, after, grads_after = run_clipped_step(clipped_step, case)
        if _same(after, want.params):
            continue
        key = _params_hint(case, want, after, grads_after, returned)
        if key:
            fail(_hint(key, what=case.label))
        diff = max(max_abs_diff(a, w) for a, w in zip(after, want.params))
        fail(_hint("clip_generic", what=case.label, diff=diff) + (_hint("case_new", new=case.new) if i else ""))


@fresh_torch_state
def check_clipped_step(clipped_step) -> str:
    """Visible check, the update: stale gradients in .grad and the first step (.grad None), clipping needed
    and not needed, SGD with and without momentum; the parameters after the step are the optimizer's update
    with the clipped gradients."""
    step_check(clipped_step, clip_cases())
    return "clipped_step 通过了可见检查（参数的更新）。"


def expect_norm(returned, case: ClipCase, want: ClipExpected) -> None:
    """The value returned must be the total norm before clipping, as a Python float."""
    __tracebackhide__ = True
    what = case.label
    if returned is None:
        fail(_hint("norm_none", what=what))
    if isinstance(returned, torch.Tensor):
        if returned.numel() == 1 and _norm_close(float(returned.detach()), want.norm):
            fail(_hint("norm_tensor", what=what))
        fail(_hint("norm_type", what=what, got=describe(returned)))
    if isinstance(returned, bool) or not isinstance(returned, (float, int)):
        fail(_hint("norm_type", what=what, got=describe(returned)))
    value = float(returned)
    if _norm_close(value, want.norm):
        if isinstance(returned, float):
            return
        fail(_hint("norm_type", what=what, got=describe(returned)))
    for norm, key in want.norm_variants:
        if _norm_close(value, norm):
            fail(_hint(key, what=what, got=value))
    fail(_hint("norm_generic", what=what, got=value))


@fresh_torch_state
def norm_check(clipped_step, cases: list[ClipCase]) -> None:
    """The value each case's step returns (visible checks and hidden tests)."""
    __tracebackhide__ = True
    for case in cases:
        want = clip_by_torch(case)
        returned, _, _ = run_clipped_step(clipped_step, case)
        expect_norm(returned, case, want)


@fresh_torch_state
def check_clipped_step_norm(clipped_step) -> str:
    """Visible check, the value returned: the total gradient norm before clipping, a Python float."""
    norm_check(clipped_step, clip_cases())
    return "clipped_step 通过了可见检查（返回的范数）。"

