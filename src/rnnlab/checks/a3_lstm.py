"""Visible checks of assignment a3_lstm (lstm_param_shapes, lstm_num_params, split_lstm_gates,
lstm_cell_step), and the oracles its hidden tests use too.

Every expectation is torch's own answer, computed before the student's function runs:
parameter shapes from an nn.LSTM built on the meta device, counts as the sum of numel of
those meta parameters, one LSTM step from a real nn.LSTMCell holding the given tensors.
The gate blocks of split_lstm_gates are drawn first and stacked in PyTorch's order
(rnnlab.shapes.GATE_NAMES, the order the explorers show); tests/test_checks_a3_lstm.py
proves that order against nn.LSTMCell.

Diagnosis asks which plausible mistake the student's answer matches: each "variant" is
torch's answer to a slightly different question (nn.RNN's or nn.GRU's shapes, an nn.LSTM
without projection, a cell whose gate blocks are permuted or whose bias is zero...), so
no formula of the exercise is written here. A hint that names a mistake is given only
when the answer matches that mistake; anything else gets the generic hint of its function.

Each contract item has its own visible check (and its own points): lstm_param_shapes for one
layer, for several layers and with proj_size; lstm_num_params for one layer, several layers and
bias=False; split_lstm_gates for 2-D weights and 1-D biases; lstm_cell_step's values and its
gradients. A net with several layers AND a projection (or bias=False) belongs to the projection's
(bias=False's) item.

Every Chinese message is in HINTS; tests/test_checks_a3_lstm.py feeds each one its mistake.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from rnnlab import oracles
from rnnlab.checks.core import changed_input, check_dtype, fresh_torch_state
from rnnlab.checks.core import derive, refusing  # noqa: F401  (derive: the hidden tests use it too)
from rnnlab.checks.core import (  # noqa: F401  (expect_close, CheckFailed: the hidden tests use them)
    CheckFailed, call, check_is_tensor, check_shape, check_values, close, describe, expect_close, fail,
    is_plain_tensor, max_abs_diff, shape_of, unpack_pair,
)
from rnnlab.shapes import GATE_NAMES

GATES = tuple(letter for letter, _ in GATE_NAMES["LSTM"])  # PyTorch's stacking order

HINTS = {
    # lstm_param_shapes: the keys
    "shapes_not_dict": "{label} 应当返回 dict（参数名 -> 形状元组），实际返回的是 {got}。",
    "keys_cell_names": "{label}：参数名缺少层号后缀。nn.LSTM 的参数名形如 weight_ih_l0、bias_hh_l1"
                       "（不带后缀的 weight_ih 是 nn.LSTMCell 的名字）。",
    "keys_missing_layers": "{label}：缺少某些层的参数。num_layers 层中的每一层都有自己的一组参数，"
                           "层号 k 从 0 到 num_layers-1。",
    "keys_one_bias": "{label}：每层只给出了一个偏置。nn.LSTM 的每一层有两个偏置 bias_ih_l{{k}} 和 bias_hh_l{{k}}"
                     "（为了与 cuDNN 兼容；Keras 的 LSTM 只有一个）。",
    "keys_proj_missing": "{label}：proj_size > 0 时，每一层还多一个投影矩阵 weight_hr_l{{k}}，"
                         "它把隐状态投影到 proj_size 维。",
    "keys_proj_extra": "{label}：proj_size=0 表示不做投影，这时没有 weight_hr_l{{k}}。",
    "keys_generic": "{label}：键不对：{detail}键名应与 nn.LSTM(...).named_parameters() 给出的名字一致。",
    # lstm_param_shapes: one shape
    "shape_is_int": "{label}：{key} 的形状是整数 {got}，不是元组：(n) 只是加了括号的整数 n，"
                    "只有一个元素的元组要写逗号：(n,)。",
    "shape_not_tuple": "{label}：{key} 的形状应当是由整数（int）组成的元组，实际是 {got}。",
    "shape_reversed": "{label}：{key} 的两个维度反了：PyTorch 的权重按 (输出, 输入) 存放，计算时用 x @ W.T。",
    "proj_ignored": "{label}：{key} 的形状像是没有考虑 proj_size：proj_size > 0 时，隐状态先被 weight_hr_l{{k}} "
                    "投影到 proj_size 维，下一个时间步和上面一层读到的都是投影后的隐状态。",
    "layer_input_size": "{label}：{key} 的形状像是第 k 层也读入 input_size 维的 x。第 k ≥ 1 层读入的是"
                        "下面一层的输出（隐状态），不是 x。",
    "rows_one_gate": "{label}：{key} 的行数像是 nn.RNN 的（只有一组）：LSTM 把 4 个门块"
                     "（输入门、遗忘门、候选记忆元、输出门）的参数沿第 0 维叠在一起。",
    "rows_three_gates": "{label}：{key} 的行数像是 GRU 的（3 个门块）：LSTM 有 4 个门块。",
    "bias_not_1d": "{label}：{key} 应当是一维的：每一行（每个门块的每个隐藏单元）一个偏置。",
    "shape_generic": "{label}：{key} 的形状不对。想一想它把多少维的向量映射到多少维，其中叠了几个门块。",
    # lstm_num_params
    "count_float": "{label} 返回的是浮点数 {got}：参数个数是整数。用整数运算（// 而不是 /），或者用 int(...) 转换。",
    "count_not_int": "{label} 应当返回一个 int（Python 整数），实际返回的是 {got}。"
                     "如果它是张量或 numpy 的整数，用 int(...) 转换。",
    "count_one_bias": "{label}：结果像是每层只算了一个偏置。nn.LSTM 每一层有 bias_ih_l{{k}} 和 bias_hh_l{{k}} 两个偏置"
                      "（Keras 的 LSTM 只有一个，所以按它的公式算出的数不同）。",
    "count_no_bias": "{label}：结果像是没有算偏置：bias=True 时每一层都有偏置参数。",
    "count_bias_ignored": "{label}：bias=False 时没有任何偏置参数，结果却像是把偏置算进去了。",
    "count_layer_input": "{label}：结果像是每一层都按 input_size 维的输入计算的。第 k ≥ 1 层的 weight_ih_l{{k}} "
                         "读入的是下面一层的隐状态，不是 x。",
    "count_one_layer": "{label}：结果像是只算了一层：num_layers 层中每一层都有自己的参数。",
    "count_one_gate": "{label}：结果像是 nn.RNN 的参数个数：LSTM 的每个权重和偏置都叠了 4 个门块。",
    "count_three_gates": "{label}：结果像是 GRU 的参数个数（3 个门块）：LSTM 有 4 个门块。",
    "count_generic": "{label} 不对。列出每一层的参数和它们的形状，再把元素个数加起来。",
    # split_lstm_gates
    "split_not_tuple": "{label} 应当返回 4 个张量组成的元组 (w_i, w_f, w_g, w_o)，实际返回的是 {got}。",
    "split_tensor": "{label} 返回的是一个张量，而不是 4 个张量组成的元组 (w_i, w_f, w_g, w_o)。",
    "split_count": "{label} 返回了 {n} 个值，应当是 4 个：LSTM 的每个门块各一块。",
    "split_columns": "{label}：每一块的行数和传入的 weight 一样多。4 个门块是沿第 0 维（行）叠放的，"
                     "要按行切成 4 块，而不是按列。",
    "split_bias_dims": "{label}：一维的偏置切出来的每一块也应当是一维的，不要改变它的维数。",
    "split_bias_error": "这一例传入的是一维的偏置：split_lstm_gates 也要能切一维的张量，"
                        "不要假定 weight 有第 1 维（例如 weight.shape[1]、weight[:, ...]）。",
    "split_interleaved": "{label}：每个门块占连续的一段行，而结果像是每隔 4 行取一行："
                         "检查 view/reshape 时哪一维是「门块」、哪一维是「隐藏单元」。",
    "split_order_ifog": "{label}：w_g 和 w_o 对调了：结果像是按 i, f, o, g 的顺序切的（有些课程和教材这样写），"
                        "而 PyTorch 叠放 4 个门块的顺序不是这样（见 nn.LSTM 的文档或讲义）。",
    "split_order": "{label}：4 块都切对了，但返回的次序不对：要按 (w_i, w_f, w_g, w_o) 返回，"
                   "而它们在 weight 里是按 PyTorch 的顺序叠放的。",
    "split_shape_generic": "{label}：{what} 的形状是 {got}，不对：每一块是一个门块的参数，4 块合起来正好是传入的 weight。",
    "split_generic": "{label}：{what} 的形状对了，但数值不对：检查每一块取的是 weight 的哪几行。",
    # lstm_cell_step: values
    "step_swapped": "{label}：h_t 和 c_t 的位置反了：返回值是 (h_t, c_t)，隐状态在前，记忆元在后。",
    "step_order_ifog": "{label}：结果像是按 i, f, o, g 的顺序取的 4 个门块（有些课程这样写）："
                       "PyTorch 叠放的顺序与此不同，和 split_lstm_gates 一样。",
    "step_order": "{label}：结果像是 4 个门块用错了位置：或者切出的次序不对（要按 PyTorch 叠放的顺序，"
                  "和 split_lstm_gates 一样），或者切对了、却在公式里把它们（连同 σ 和 tanh）用在了别的门的位置上。",
    "step_no_tanh_c": "{label}：c_t 对了，h_t 却像是少了对记忆元的 tanh：输出门要乘的是 tanh(c_t)。",
    "step_no_bias_ih": "{label}：bias_ih 似乎没有加上。",
    "step_no_bias_hh": "{label}：bias_hh 似乎没有加上。",
    "step_no_biases": "{label}：两个偏置 bias_ih、bias_hh 似乎都没有加上。",
    "step_ignores_c_prev": "{label}：结果像是没有用到 c_prev：遗忘门作用在上一步的记忆元上。",
    "step_ignores_h_prev": "{label}：结果像是没有用到 h_prev：h_prev @ weight_hh.T 这一项去哪儿了？",
    "step_transpose_ih": "{label}：x_t 与 weight_ih 相乘时少了转置：PyTorch 计算的是 x_t @ weight_ih.T"
                         "（这一例的 weight_ih 恰好是方阵，所以没有报错）。",
    "step_unpack": "把预激活拆成 4 个门块时得到的块数不对：x_t @ weight_ih.T 的形状是 (批量大小, 4*hidden_size)，"
                   "4 个门块沿最后一维排列（在 weight 里是沿第 0 维叠放的）。",
    "step_modifies_inputs": "{label}：lstm_cell_step 原地修改了传入的 {what}：不要用 +=、*=、mul_ 之类的原地操作"
                            "改写参数，计算结果写进新的张量。",
    "step_generic": "逐项检查：4 个门块的预激活（两个矩阵乘法、两个偏置）、切成 4 个门块的次序、"
                    "哪些门块用 sigmoid、哪个用 tanh、c_t 的两项，以及 h_t 的计算。",
    # lstm_cell_step: gradients
    "step_detached": "{part} 与输入断开了，没有梯度能传回去：是否用了 .detach()、.data、.item()、torch.no_grad()，"
                     "或者用 torch.tensor 把结果重新包装了一遍？",
    "step_grad_generic": "{part}.sum() 对 {arg} 的梯度与 PyTorch 的不一致：计算图在某处断开了，"
                         "或者用了不可求导的写法（.detach()、.data、.item()、torch.no_grad()、numpy）。",
    "step_grad_values_first": "{label}：h_t、c_t 的数值还不对，梯度无从比较：先让上面 lstm_cell_step 数值的可见检查通过，"
                              "这一项只检查梯度。",
}


# ------------------------------------------------------------------ torch as the oracle

def shapes_by_torch(input_size, hidden_size, num_layers=1, proj_size=0, kind="LSTM") -> dict:
    """named_parameters() shapes of a single-direction nn.<kind>, built on the meta device."""
    extra = {"proj_size": proj_size} if kind == "LSTM" else {}
    return oracles.param_shapes(kind, input_size, hidden_size, num_layers=num_layers, **extra)


def count_by_torch(input_size, hidden_size, num_layers=1, bias=True, kind="LSTM", skip: str = "") -> int:
    """The number of parameters of nn.<kind> (meta device); names starting with `skip` left out."""
    module = getattr(nn, kind)(input_size, hidden_size, num_layers=num_layers, bias=bias, device="meta")
    return sum(p.numel() for n, p in module.named_parameters() if not (skip and n.startswith(skip)))


def expect_shapes_of(lstm_param_shapes, input_size, hidden_size, num_layers=None, proj_size=None) -> None:
    """For hidden tests: lstm_param_shapes(...) must give torch's dict (called with the defaults when
    num_layers is None), derived without asking torch."""
    __tracebackhide__ = True
    name = "lstm_param_shapes"
    want = shapes_by_torch(input_size, hidden_size, num_layers or 1, proj_size or 0)
    if num_layers is None:
        what = f"{name}({input_size}, {hidden_size})（默认参数）"
        got = derive(lstm_param_shapes, name, input_size, hidden_size)
    else:
        what = f"{name}({input_size}, {hidden_size}, num_layers={num_layers}, proj_size={proj_size})"
        got = derive(lstm_param_shapes, name, input_size, hidden_size, num_layers=num_layers, proj_size=proj_size)
    if not isinstance(got, dict):
        fail(f"{what} 应当返回 dict")
    if set(got) != set(want):
        fail(f"{what}：参数名与 nn.LSTM 的不一致")
    for key, shape in want.items():
        if not (isinstance(got[key], tuple) and all(type(d) is int for d in got[key])):
            fail(f"{what}：{key} 的形状应当是由 int 组成的元组")
        if tuple(got[key]) != shape:
            fail(f"{what}：{key} 的形状与 nn.LSTM 的不一致")


def expect_count_of(lstm_num_params, input_size, hidden_size, num_layers=None, bias=None) -> None:
    """For hidden tests: lstm_num_params(...) must be torch's count, an int (the defaults when
    num_layers is None), derived without asking torch."""
    __tracebackhide__ = True
    name = "lstm_num_params"
    want = count_by_torch(input_size, hidden_size, num_layers or 1, True if bias is None else bias)
    if num_layers is None:
        what = f"{name}({input_size}, {hidden_size})（默认参数）"
        got = derive(lstm_num_params, name, input_size, hidden_size)
    else:
        what = f"{name}({input_size}, {hidden_size}, num_layers={num_layers}, bias={bias})"
        got = derive(lstm_num_params, name, input_size, hidden_size, num_layers=num_layers, bias=bias)
    if type(got) is not int:
        fail(f"{what} 应当返回 int")
    if got != want:
        fail(f"{what} 与 nn.LSTM 的参数个数不一致")


def stacked_gates(g: torch.Generator, hidden: int, *cols: int):
    """(weight, blocks): four blocks of `hidden` rows drawn from g, stacked in PyTorch's gate order.

    `cols` is () for a bias (4H,), (n,) for a weight (4H, n). blocks is a dict gate -> block.
    """
    blocks = {gate: oracles.randn(g, hidden, *cols) for gate in GATES}
    return torch.cat([blocks[gate] for gate in GATES]), blocks


def _quiet_cell(input_size, hidden_size) -> nn.LSTMCell:
    with torch.random.fork_rng(devices=[]):
        return nn.LSTMCell(input_size, hidden_size)


def lstm_cell_by_torch(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh, grad: bool = False):
    """(h_t, c_t) of an nn.LSTMCell holding the given tensors (the cell too when grad=True)."""
    cell = _quiet_cell(weight_ih.shape[1], weight_hh.shape[1])
    with torch.no_grad():
        for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), (weight_ih, weight_hh, bias_ih, bias_hh)):
            getattr(cell, name).copy_(value)
    if grad:
        return cell(x, (h, c)), cell
    with torch.no_grad():
        return cell(x, (h, c))


def _permuted(t: torch.Tensor, order) -> torch.Tensor:
    """t's four row blocks (as stacked) rearranged: block j of the result is block order[j] of t."""
    blocks = t.reshape(4, -1, *t.shape[1:])
    return blocks[list(order)].reshape(t.shape)


# ------------------------------------------------------------------ lstm_param_shapes

SHAPE_ITEMS = {  # contract item -> [(input_size, hidden_size, num_layers, proj_size, call with the defaults)]
    "base": [(6, 5, 1, 0, True), (7, 4, 1, 0, False)],          # one layer, no projection
    "layers": [(6, 5, 3, 0, False)],                            # several layers
    "proj": [(7, 4, 1, 2, False), (3, 8, 2, 5, False)],         # proj_size > 0, one and several layers
}
SHAPE_CASES = [case for cases in SHAPE_ITEMS.values() for case in cases]


def _shape_label(name, I, H, L, P, defaults):
    return f"{name}({I}, {H}" + (")" if defaults else f", num_layers={L}, proj_size={P})")


def _layer_of(key: str) -> int | None:
    head, sep, k = key.rpartition("_l")
    return int(k) if sep and k.isdigit() else None


def _check_keys(result: dict, want: dict, label: str, P: int) -> None:
    missing = [k for k in want if k not in result]
    extra = [k for k in result if k not in want]
    if not (missing or extra):
        return
    if any(_layer_of(str(k)) is None for k in extra) and any(str(k).startswith("weight_") for k in extra):
        fail(HINTS["keys_cell_names"].format(label=label))
    if not extra and missing and all(k.startswith("weight_hr") for k in missing):
        fail(HINTS["keys_proj_missing"].format(label=label))
    if not missing and extra and all(str(k).startswith("weight_hr") for k in extra) and P == 0:
        fail(HINTS["keys_proj_extra"].format(label=label))
    if missing and all(k.startswith("bias_") for k in missing) and len(missing) == len(want) // (5 if P else 4) \
            and len({k[:7] for k in missing}) == 1:  # every layer lost the same one of its two biases
        fail(HINTS["keys_one_bias"].format(label=label))
    if missing and not extra and min(_layer_of(k) for k in missing) > 0 \
            and all(k in missing for k in want if _layer_of(k) >= min(_layer_of(k) for k in missing)):
        fail(HINTS["keys_missing_layers"].format(label=label))
    detail = (f"缺少 {missing}；" if missing else "") + (f"多出 {extra}；" if extra else "")
    fail(HINTS["keys_generic"].format(label=label, detail=detail))


def _shape_variants(I, H, L, P) -> list[tuple[str, dict]]:
    """(hint key, {param name: shape}) for the shapes a classic mistake gives (torch's answers)."""
    want = shapes_by_torch(I, H, L, P)
    rnn, gru = shapes_by_torch(I, H, L, kind="RNN"), shapes_by_torch(I, H, L, kind="GRU")
    out = []
    if P:
        no_proj = shapes_by_torch(I, H, L)
        out.append(("proj_ignored", {k: no_proj[k] for k in want if k in no_proj}))
    if L > 1:
        out.append(("layer_input_size", {f"weight_ih_l{k}": want["weight_ih_l0"] for k in range(1, L)}))
    # Rows of nn.RNN / nn.GRU for the same parameter, columns as nn.LSTM has them.
    out.append(("rows_one_gate", {k: (rnn[k][0],) + want[k][1:] for k in want if k in rnn}))
    out.append(("rows_three_gates", {k: (gru[k][0],) + want[k][1:] for k in want if k in gru}))
    return [(key, {k: s for k, s in shapes.items() if s != want[k]}) for key, shapes in out]


def _check_shapes(lstm_param_shapes, cases, passed: str) -> str:
    __tracebackhide__ = True
    name = "lstm_param_shapes"
    plans = [(c, shapes_by_torch(*c[:4]), _shape_variants(*c[:4])) for c in cases]
    for (I, H, L, P, defaults), want, variants in plans:
        label = _shape_label(name, I, H, L, P, defaults)
        result = derive(lstm_param_shapes, name, I, H) if defaults else \
            derive(lstm_param_shapes, name, I, H, num_layers=L, proj_size=P)
        if not isinstance(result, dict):
            fail(HINTS["shapes_not_dict"].format(label=label, got=describe(result)))
        _check_keys(result, want, label, P)
        for key in want:
            got = result[key]
            if type(got) is int:
                fail(HINTS["shape_is_int"].format(label=label, key=key, got=got))
            if not isinstance(got, tuple) or not all(type(d) is int for d in got):
                fail(HINTS["shape_not_tuple"].format(label=label, key=key, got=describe(got)))
            got = tuple(got)
            if got == want[key]:
                continue
            if len(got) == 2 and got[::-1] == want[key]:
                fail(HINTS["shape_reversed"].format(label=label, key=key))
            named = {hint for hint, shapes in variants if shapes.get(key) == got}
            if len(named) == 1:  # two mistakes giving the same shape: neither is named
                fail(HINTS[named.pop()].format(label=label, key=key))
            if key.startswith("bias") and len(got) != 1:
                fail(HINTS["bias_not_1d"].format(label=label, key=key))
            fail(HINTS["shape_generic"].format(label=label, key=key))
    return f"{name}{passed}通过了可见检查。"


@fresh_torch_state
def check_lstm_param_shapes(lstm_param_shapes) -> str:
    """Visible check for `lstm_param_shapes`, one layer without projection (the defaults too)."""
    __tracebackhide__ = True
    return _check_shapes(lstm_param_shapes, SHAPE_ITEMS["base"], "（一层、不投影）")


@fresh_torch_state
def check_lstm_param_shapes_layers(lstm_param_shapes) -> str:
    """Visible check of the item num_layers > 1 (without projection)."""
    __tracebackhide__ = True
    return _check_shapes(lstm_param_shapes, SHAPE_ITEMS["layers"], "（多层）")


@fresh_torch_state
def check_lstm_param_shapes_proj(lstm_param_shapes) -> str:
    """Visible check of the item proj_size > 0 (one layer and several)."""
    __tracebackhide__ = True
    return _check_shapes(lstm_param_shapes, SHAPE_ITEMS["proj"], "（proj_size > 0）")


# ------------------------------------------------------------------ lstm_num_params

COUNT_ITEMS = {  # contract item -> [(input_size, hidden_size, num_layers, bias, call with the defaults)]
    "base": [(6, 5, 1, True, True), (4, 7, 1, True, False)],    # one layer with biases
    "layers": [(4, 6, 3, True, False)],                         # several layers
    "no_bias": [(5, 3, 1, False, False), (3, 8, 2, False, False)],  # bias=False, one layer and several
}
COUNT_CASES = [case for cases in COUNT_ITEMS.values() for case in cases]


def _count_label(name, I, H, L, bias, defaults):
    return f"{name}({I}, {H}" + (")" if defaults else f", num_layers={L}, bias={bias})")


def _count_variants(I, H, L, bias) -> list[tuple[str, int]]:
    """(hint key, count) of the classic mistakes, each counted by torch; those equal to the answer dropped."""
    want = count_by_torch(I, H, L, bias)
    out = [
        ("count_one_bias", count_by_torch(I, H, L, bias, skip="bias_hh")),
        ("count_bias_ignored" if not bias else "count_no_bias", count_by_torch(I, H, L, not bias)),
        ("count_one_gate", count_by_torch(I, H, L, bias, kind="RNN")),
        ("count_three_gates", count_by_torch(I, H, L, bias, kind="GRU")),
    ]
    if L > 1:
        out.append(("count_layer_input", L * count_by_torch(I, H, 1, bias)))
        out.append(("count_one_layer", count_by_torch(I, H, 1, bias)))
    return [(k, n) for k, n in out if n != want]


def _check_counts(lstm_num_params, cases, passed: str) -> str:
    __tracebackhide__ = True
    name = "lstm_num_params"
    plans = [(c, count_by_torch(*c[:4]), _count_variants(*c[:4])) for c in cases]
    for (I, H, L, bias, defaults), want, variants in plans:
        label = _count_label(name, I, H, L, bias, defaults)
        got = derive(lstm_num_params, name, I, H) if defaults else \
            derive(lstm_num_params, name, I, H, num_layers=L, bias=bias)
        if isinstance(got, float):
            fail(HINTS["count_float"].format(label=label, got=got))
        if type(got) is not int:
            fail(HINTS["count_not_int"].format(label=label, got=describe(got)))
        if got == want:
            continue
        named = {hint for hint, n in variants if got == n}
        if len(named) == 1:  # two mistakes giving the same count: neither is named
            fail(HINTS[named.pop()].format(label=label))
        fail(HINTS["count_generic"].format(label=label))
    return f"{name}{passed}通过了可见检查。"


@fresh_torch_state
def check_lstm_num_params(lstm_num_params) -> str:
    """Visible check for `lstm_num_params`, one layer with biases (the defaults too)."""
    __tracebackhide__ = True
    return _check_counts(lstm_num_params, COUNT_ITEMS["base"], "（一层、有偏置）")


@fresh_torch_state
def check_lstm_num_params_layers(lstm_num_params) -> str:
    """Visible check of the item num_layers > 1 (with biases)."""
    __tracebackhide__ = True
    return _check_counts(lstm_num_params, COUNT_ITEMS["layers"], "（多层）")


@fresh_torch_state
def check_lstm_num_params_no_bias(lstm_num_params) -> str:
    """Visible check of the item bias=False (one layer and several)."""
    __tracebackhide__ = True
    return _check_counts(lstm_num_params, COUNT_ITEMS["no_bias"], "（bias=False）")


# ------------------------------------------------------------------ split_lstm_gates

SPLIT_ITEMS = {  # contract item -> [(seed, hidden_size, columns, what the tensor stands for)]
    "weight": [(3101, 3, (8,), "weight_ih，形状 (4*3, 8)"),
               (3102, 3, (3,), "weight_hh，形状 (4*3, 3)"),
               (3103, 5, (2,), "proj_size=2 时的 weight_hh，形状 (4*5, 2)")],
    "bias": [(3104, 3, (), "一维的偏置 bias_ih，形状 (4*3,)"),
             (3105, 5, (), "一维的偏置 bias_hh，形状 (4*5,)")],
}
SPLIT_CASES = [case for cases in SPLIT_ITEMS.values() for case in cases]


def run_split(split_lstm_gates, weight: torch.Tensor, label: str):
    """Call the student's split on a copy of `weight`; returns its four blocks (plain tensors).

    Fails (Chinese) when it raises, modifies the weight or returns anything but four tensors.
    Used by the visible check and the hidden tests alike.
    """
    __tracebackhide__ = True
    name = "split_lstm_gates"
    arg = weight.clone()
    try:
        result = call(split_lstm_gates, name, arg)
    except CheckFailed as e:
        msg = str(e)
        # Only an index error on the 1-D case means a second dimension was assumed (a typo is just a typo).
        if weight.dim() == 1 and "IndexError" in msg:
            fail(f"{msg}\n{HINTS['split_bias_error']}（这一例：{label}）")
        fail(msg if "还没有实现" in msg else f"{msg}\n（这一例：{label}）")
    if not close(arg, weight, atol=0, rtol=0):
        fail(f"{label}：split_lstm_gates 修改了传入的 weight：只切分，不要改动它。")
    if is_plain_tensor(result):
        fail(HINTS["split_tensor"].format(label=label))
    if not isinstance(result, (tuple, list)):
        fail(HINTS["split_not_tuple"].format(label=label, got=describe(result)))
    blocks = [check_is_tensor(b, f"{label} 的第 {j} 个返回值") for j, b in enumerate(result)]
    if weight.dim() == 2 and blocks and all(b.dim() == 2 and b.shape[0] == weight.shape[0] for b in blocks):
        fail(HINTS["split_columns"].format(label=label))
    if len(blocks) != 4:
        fail(HINTS["split_count"].format(label=label, n=len(blocks)))
    return blocks


def _check_split(split_lstm_gates, cases, passed: str) -> str:
    __tracebackhide__ = True
    name = "split_lstm_gates"
    plans = []
    for seed, hidden, cols, what in cases:
        weight, blocks = stacked_gates(oracles.seeded(seed), hidden, *cols)
        want = [blocks[g] for g in GATES]
        interleaved = [weight[j::4] for j in range(4)]
        plans.append((f"{name}({what})", weight, want, interleaved))
    for label, weight, want, interleaved in plans:
        got = run_split(split_lstm_gates, weight, label)
        if all(close(a, b) for a, b in zip(got, want)):
            continue
        if weight.dim() == 1 and any(b.dim() != 1 and b.numel() == want[0].numel() for b in got):
            fail(HINTS["split_bias_dims"].format(label=label))
        if all(close(a, b) for a, b in zip(got, interleaved)):
            fail(HINTS["split_interleaved"].format(label=label))
        for order in itertools.permutations(range(4)):
            if all(close(got[j], want[order[j]]) for j in range(4)):
                swapped_g_o = order == (0, 1, 3, 2)
                fail(HINTS["split_order_ifog" if swapped_g_o else "split_order"].format(label=label))
        for j, (a, b) in enumerate(zip(got, want)):
            what = f"w_{GATES[j]}"
            if shape_of(a) != shape_of(b):
                fail(HINTS["split_shape_generic"].format(label=label, what=what, got=shape_of(a)))
            if not close(a, b):
                fail(HINTS["split_generic"].format(label=label, what=what))
    return f"{name}{passed}通过了可见检查。"


@fresh_torch_state
def check_split_lstm_gates(split_lstm_gates) -> str:
    """Visible check for `split_lstm_gates` on 2-D weights: weight_ih, weight_hh (with and without proj_size)."""
    __tracebackhide__ = True
    return _check_split(split_lstm_gates, SPLIT_ITEMS["weight"], "（二维的权重）")


@fresh_torch_state
def check_split_lstm_gates_bias(split_lstm_gates) -> str:
    """Visible check of the item 1-D bias."""
    __tracebackhide__ = True
    return _check_split(split_lstm_gates, SPLIT_ITEMS["bias"], "（一维的偏置）")


# ------------------------------------------------------------------ lstm_cell_step

NO_FUSED = ("不要调用 nn.LSTMCell、nn.LSTM 或 torch.lstm_cell（PyTorch 自己的实现）："
            "这道题要你用参数亲手写出一步的计算。")


def _no_fused_lstm(tripped: list):
    """torch.lstm_cell/lstm (behind the module torch would use) refuse inside the block."""
    return refusing(('lstm_cell', 'lstm'), NO_FUSED, tripped)


STEP_ARGS = ("x_t", "h_prev", "c_prev", "weight_ih", "weight_hh", "bias_ih", "bias_hh")


def step_inputs(seed, batch, input_size, hidden_size, scale=0.5) -> tuple[torch.Tensor, ...]:
    """Seeded (x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)."""
    g = oracles.seeded(seed)
    return (oracles.randn(g, batch, input_size), oracles.randn(g, batch, hidden_size),
            oracles.randn(g, batch, hidden_size), oracles.randn(g, 4 * hidden_size, input_size, scale=scale),
            oracles.randn(g, 4 * hidden_size, hidden_size, scale=scale), oracles.randn(g, 4 * hidden_size, scale=scale),
            oracles.randn(g, 4 * hidden_size, scale=scale))


def _step_label(args) -> str:
    x, h = args[0], args[1]
    return (f"lstm_cell_step（批量大小 {x.shape[0]}，input_size={x.shape[1]}，hidden_size={h.shape[1]}）")


def run_step(lstm_cell_step, args, label: str):
    """Call the student's step on copies of `args`; returns (h_t, c_t, the copies given).

    Fails (Chinese) when it calls torch's own LSTM step, raises, modifies an input in place
    or does not return a pair of plain tensors. Used by the visible check and the hidden tests alike.
    """
    __tracebackhide__ = True
    name = "lstm_cell_step"
    given = [a.detach().clone().requires_grad_(a.requires_grad) for a in args]
    before = [a.detach().clone() for a in args]
    tripped: list = []
    try:
        with _no_fused_lstm(tripped):
            result = call(lstm_cell_step, name, *given)
    except CheckFailed as e:
        if tripped:
            fail(tripped[0])
        msg = str(e)
        if "values to unpack (expected 4" in msg:
            fail(f"{msg}\n{HINTS['step_unpack']}（这一例：{label}）")
        fail(msg if "还没有实现" in msg else f"{msg}\n（这一例：{label}）")
    if tripped:  # the student's code caught our refusal and went on
        fail(tripped[0])
    arg = changed_input(STEP_ARGS, given, before)
    if arg:
        fail(HINTS["step_modifies_inputs"].format(label=label, what=arg))
    h_t, c_t = unpack_pair(result, name, "(h_t, c_t)")
    return check_is_tensor(h_t, f"{name} 的 h_t"), check_is_tensor(c_t, f"{name} 的 c_t"), given


def _step_variants(args) -> list[tuple[str, tuple]]:
    """(hint key, (h_t, c_t)) that a classic mistake gives: torch's answers to other questions."""
    x, h, c, w_ih, w_hh, b_ih, b_hh = args
    want_h, want_c = lstm_cell_by_torch(*args)
    out = [("step_swapped", (want_c, want_h))]
    for order in itertools.permutations(range(4)):
        if order != (0, 1, 2, 3):
            perm = [_permuted(t, order) for t in (w_ih, w_hh, b_ih, b_hh)]
            key = "step_order_ifog" if order == (0, 1, 3, 2) else "step_order"
            out.append((key, lstm_cell_by_torch(x, h, c, *perm)))
    # o * c_t instead of o * tanh(c_t): o = h_t / tanh(c_t) from torch's own answer.
    tanh_c = torch.tanh(want_c)
    safe = tanh_c.abs() > 1e-6
    ratio = torch.where(safe, want_c / torch.where(safe, tanh_c, torch.ones_like(tanh_c)), torch.ones_like(want_c))
    out.append(("step_no_tanh_c", (want_h * ratio, want_c)))
    zero = torch.zeros_like(b_ih)
    out += [
        ("step_no_bias_ih", lstm_cell_by_torch(x, h, c, w_ih, w_hh, zero, b_hh)),
        ("step_no_bias_hh", lstm_cell_by_torch(x, h, c, w_ih, w_hh, b_ih, zero)),
        ("step_no_biases", lstm_cell_by_torch(x, h, c, w_ih, w_hh, zero, zero)),
        ("step_ignores_c_prev", lstm_cell_by_torch(x, h, torch.zeros_like(c), w_ih, w_hh, b_ih, b_hh)),
        ("step_ignores_h_prev", lstm_cell_by_torch(x, torch.zeros_like(h), c, w_ih, w_hh, b_ih, b_hh)),
    ]
    if w_ih.shape[0] == w_ih.shape[1]:
        out.append(("step_transpose_ih", lstm_cell_by_torch(x, h, c, w_ih.T, w_hh, b_ih, b_hh)))
    return [(k, v) for k, v in out if not (close(v[0], want_h) and close(v[1], want_c))]


STEP_CASES = [  # (seed, batch, input_size, hidden_size)
    (3201, 2, 8, 2),  # input_size == 4 * hidden_size: weight_ih is square, a missing .T raises nothing
    (3202, 3, 4, 5),
]
GRAD_CASE = 1  # the gradients are checked on this case


def step_gradients(args, part: int):
    """torch's gradients of (h_t, c_t)[part].sum() with respect to the seven inputs."""
    leaves = [a.detach().clone().requires_grad_(True) for a in args[:3]]
    with torch.random.fork_rng(devices=[]), torch.enable_grad():
        out, cell = lstm_cell_by_torch(*leaves, *args[3:], grad=True)
        out[part].sum().backward()
    return [leaf.grad for leaf in leaves] + [getattr(cell, n).grad for n in STEP_ARGS[3:]]


@fresh_torch_state
def check_lstm_cell_step(lstm_cell_step) -> str:
    """Visible check for `lstm_cell_step`'s values: two sizes (one with a square weight_ih)."""
    __tracebackhide__ = True
    plans = []
    for seed, batch, inp, hid in STEP_CASES:
        args = step_inputs(seed, batch, inp, hid)
        plans.append((args, lstm_cell_by_torch(*args), _step_variants(args)))

    for args, (want_h, want_c), variants in plans:
        label = _step_label(args)
        h_t, c_t, _ = run_step(lstm_cell_step, args, label)
        shape = (args[0].shape[0], args[1].shape[1])
        check_shape(h_t, shape, f"{label}：h_t", "批量大小, hidden_size")
        check_shape(c_t, shape, f"{label}：c_t", "批量大小, hidden_size")
        if close(h_t, want_h) and close(c_t, want_c):
            check_dtype(h_t, want_h, f"{label}：h_t")
            check_dtype(c_t, want_c, f"{label}：c_t")
            continue
        named = {hint for hint, (v_h, v_c) in variants if close(h_t, v_h, atol=1e-4) and close(c_t, v_c, atol=1e-4)}
        if len(named) == 1:
            fail(HINTS[named.pop()].format(label=label))
        check_values(c_t, want_c, f"{label}：c_t", HINTS["step_generic"])
        check_values(h_t, want_h, f"{label}：h_t", HINTS["step_generic"])
    return "lstm_cell_step（数值）通过了可见检查。"


@fresh_torch_state
def check_lstm_cell_step_grad(lstm_cell_step) -> str:
    """Visible check of the item 'h_t and c_t stay on the graph': gradients of h_t.sum() and c_t.sum()
    with respect to all seven inputs (values wrong: told to get them right first)."""
    __tracebackhide__ = True
    grad_args = step_inputs(*STEP_CASES[GRAD_CASE])
    want_h, want_c = lstm_cell_by_torch(*grad_args)
    grads = [step_gradients(grad_args, part) for part in (0, 1)]
    label = _step_label(grad_args) + "，求梯度"
    for part, wants in zip(("h_t", "c_t"), grads):
        leaves = [a.detach().clone().requires_grad_(True) for a in grad_args]
        h_t, c_t, given = run_step(lstm_cell_step, leaves, label)
        if not (close(h_t, want_h) and close(c_t, want_c)):
            fail(HINTS["step_grad_values_first"].format(label=label))
        value = h_t if part == "h_t" else c_t
        if not value.requires_grad:
            fail(HINTS["step_detached"].format(part=part))
        call(lambda: value.sum().backward(), f"{part}.sum().backward()")
        for arg, leaf, want in zip(STEP_ARGS, given, wants):
            if leaf.grad is None or not close(leaf.grad, want):
                fail(HINTS["step_grad_generic"].format(part=part, arg=arg))
    return "lstm_cell_step（梯度）通过了可见检查。"
