"""rnnlab.checks.a4_gru: correct styles pass; every Chinese hint is earned by the mistake it names.

MISTAKES holds, for every hint of a4_gru.HINTS, a small wrong function that makes exactly that
mistake (the implementations live here: the package itself must not hold a GRU); a mistake without
a hint of its own gets the generic hint of its function, never another.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.checks import a4_gru as a4
from rnnlab.checks.core import TORCH_HINTS, CheckFailed

from checktools import assert_each_reports_not_implemented, hint_for

HINTS = a4.HINTS


def _all(*checks):
    """A function's visible checks (one per contract item) in their cells' order, as one: the first
    that fails raises, as the student meets them running the notebook."""
    def run(fn):
        return " ".join(check(fn) for check in checks)
    run.__name__ = checks[0].__name__
    return run


STEP = _all(a4.check_gru_cell_step, a4.check_gru_cell_step_grad)
SPLIT = _all(a4.check_split_gru_gates, a4.check_split_gru_gates_bias, a4.check_split_gru_gates_graph)
SHAPES = _all(a4.check_gru_param_shapes, a4.check_gru_param_shapes_layers)


# ---------------------------------------------------------------- test-side implementations

def step(x, h, w_ih, w_hh, b_ih, b_hh, **mistake):
    """A correct GRU step as nn.GRUCell computes it; each keyword switches on one classic mistake."""
    m = mistake.get
    parts = 4 if m("four_blocks") else 3
    if m("sum_then_chunk"):
        r, z, n_all = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(3, 1)
        return (1 - torch.sigmoid(z)) * torch.tanh(n_all) + torch.sigmoid(z) * h
    i_r, i_z, i_n = F.linear(x, w_ih, None if m("no_bias_ih") else b_ih).chunk(parts, 1)[:3]
    h_r, h_z, h_n = F.linear(h, w_hh, None if m("no_bias_hh") else b_hh).chunk(parts, 1)[:3]
    if m("order_zrn"):
        i_r, i_z, h_r, h_z = i_z, i_r, h_z, h_r
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    if m("paper"):
        W_hn, b_hn = w_hh.chunk(3)[2], b_hh.chunk(3)[2]
        n = torch.tanh(i_n + F.linear(r * h, W_hn, b_hn))
    elif m("b_hn_outside"):
        b_hn = b_hh.chunk(3)[2]
        n = torch.tanh(i_n + b_hn + r * (h_n - b_hn))
    elif m("n_sigmoid"):
        n = torch.sigmoid(i_n + r * h_n)
    else:
        n = torch.tanh(i_n + r * h_n)
    if m("z_swapped"):
        out = z * n + (1 - z) * h
    else:
        out = (1 - z) * n + z * h
    if m("detach"):
        out = out.detach()
    if m("off_by_a_bit"):
        out = out + 1e-2
    if m("squeeze"):
        out = out.squeeze()
    if m("in_place"):
        h.sub_(h - out)               # h_prev itself becomes h_t: the caller's tensor changed
        return h
    return out


def with_(**mistake):
    return lambda x, h, w_ih, w_hh, b_ih, b_hh: step(x, h, w_ih, w_hh, b_ih, b_hh, **mistake)


def step_slicing_einsum(x, h, w_ih, w_hh, b_ih, b_hh):
    """Another correct style: slicing by hidden_size, einsum, addmm."""
    H = h.shape[1]
    gi = torch.einsum("bi,gi->bg", x, w_ih) + b_ih
    gh = torch.addmm(b_hh, h, w_hh.t())
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h - n)


def step_view(x, h, w_ih, w_hh, b_ih, b_hh):
    """Another correct style: the gate dimension made explicit with view, unbind."""
    B, H = h.shape
    gi = (x @ w_ih.T + b_ih).view(B, 3, H)
    gh = (h @ w_hh.T + b_hh).view(B, 3, H)
    (i_r, i_z, i_n), (h_r, h_z, h_n) = gi.unbind(1), gh.unbind(1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    return torch.lerp(torch.tanh(i_n + r * h_n), h, z)


def split(weight, **mistake):
    m = mistake.get
    if m("four"):
        return weight.chunk(4)
    if m("four_slicing"):
        q = weight.shape[0] // 4
        return weight[:q], weight[q:2 * q], weight[2 * q:3 * q]
    if m("columns"):
        return weight.chunk(3, dim=-1)
    if m("rows_from_columns"):
        H = weight.shape[1] if weight.dim() == 2 else weight.shape[0] // 3
        return weight[:H], weight[H:2 * H], weight[2 * H:3 * H]
    if m("two_d_slicing"):
        H = weight.shape[0] // 3
        return weight[:H, :], weight[H:2 * H, :], weight[2 * H:, :]
    if m("not_tuple"):
        return torch.stack(weight.chunk(3))
    r, z, n = weight.chunk(3)
    if m("order"):
        return z, r, n
    if m("rotated"):
        return n, r, z
    if m("values"):
        return r, z, -n
    if m("detach"):
        return r.detach(), z.detach(), n.detach()
    if m("transposed") and weight.dim() == 2:
        return r.T, z.T, n.T
    return r, z, n


def split_with(**mistake):
    return lambda weight: split(weight, **mistake)


def shapes(input_size, hidden_size, num_layers=1, **mistake):
    m = mistake.get
    G = 1 if m("one_gate") else 4 if m("four_gates") else 3
    out = {}
    for k in range(1 if m("only_l0") else num_layers):
        fan_in = input_size if (k == 0 or m("upper_input")) else hidden_size
        sfx = "" if m("cell_names") else f"_l{k}"
        out[f"weight_ih{sfx}"] = (fan_in, G * hidden_size) if m("reversed") else (G * hidden_size, fan_in)
        out[f"weight_hh{sfx}"] = (G * hidden_size, hidden_size)
        out[f"bias_ih{sfx}"] = (G * hidden_size,)
        out[f"bias_hh{sfx}"] = (G * hidden_size, 1) if m("bias_2d") else (G * hidden_size,)
        if m("reverse"):
            out[f"weight_ih{sfx}_reverse"] = (G * hidden_size, fan_in)
        if m("int_bias"):
            out[f"bias_ih{sfx}"] = (G * hidden_size)
        if m("list_shape"):
            out[f"weight_hh{sfx}"] = [G * hidden_size, hidden_size]
        if m("hh_generic"):
            out[f"weight_hh{sfx}"] = (G * hidden_size, input_size)
    if m("missing_bias"):
        del out["bias_hh_l0"]
    if m("not_dict"):
        return list(out.items())
    return out


def shapes_with(**mistake):
    return lambda i, h, num_layers=1: shapes(i, h, num_layers, **mistake)


# ---------------------------------------------------------------- correct answers

@pytest.mark.parametrize("fn", [step, step_slicing_einsum, step_view], ids=["chunk", "slicing_einsum", "view"])
def test_correct_steps_pass(fn):
    assert "通过" in STEP(fn)


def test_correct_splits_and_shapes_pass():
    assert "通过" in SPLIT(split)
    assert "通过" in SPLIT(lambda w: w.split(w.shape[0] // 3))
    assert "通过" in SPLIT(lambda w: list(w.unflatten(0, (3, -1)).unbind(0)))
    assert "通过" in SHAPES(shapes)
    assert "通过" in SHAPES(lambda i, h, num_layers=1: {n: torch.empty(s, device="meta").shape  # torch.Size values
                                                     for n, s in shapes(i, h, num_layers).items()})


def test_checks_leave_the_students_random_state_alone():
    before = torch.random.get_rng_state()
    STEP(step), SPLIT(split), SHAPES(shapes)
    assert torch.equal(before, torch.random.get_rng_state())


def test_the_expectations_are_torchs():
    case = a4.make_step_case(1, 3, 4, 5)
    cell = a4.gru_cell_from(*case.args[2:])
    assert isinstance(cell, nn.GRUCell)
    assert torch.allclose(a4.step_by_torch(*case.args), step(*case.args), atol=1e-6)
    assert a4.param_shapes_by_torch(10, 20, 2)["weight_ih_l1"] == (60, 20)


def test_the_reset_probe_tells_the_two_forms_apart():
    """The probe's paper-form answer is the paper's step (computed here), not PyTorch's nor b_hn-outside."""
    case = a4.make_step_case(2, 3, 4, 5)
    probe, want, paper = a4.reset_probe(case, 9)
    assert torch.allclose(want, step(*probe.args), atol=1e-6)
    assert torch.allclose(paper, step(*probe.args, paper=True), atol=1e-6)
    assert not torch.allclose(paper, want, atol=1e-3)
    assert not torch.allclose(paper, step(*probe.args, b_hn_outside=True), atol=1e-3)


def test_every_variant_is_the_mistake_it_names_and_differs_from_torch():
    made = {"gate_order": dict(order_zrn=True), "z_swapped": dict(z_swapped=True),
            "b_hn_outside": dict(b_hn_outside=True), "reset_unused": dict(sum_then_chunk=True),
            "no_bias_ih": dict(no_bias_ih=True), "no_bias_hh": dict(no_bias_hh=True),
            "no_biases": dict(no_bias_ih=True, no_bias_hh=True)}
    for case in a4.visible_step_cases():
        want = a4.step_by_torch(*case.args)
        for value, key in a4.step_variants(case):
            assert torch.allclose(value, step(*case.args, **made[key]), atol=1e-5), key
            assert not torch.allclose(value, want, atol=1e-3), key


# ---------------------------------------------------------------- every hint, earned by its mistake

MISTAKES = {
    # gru_cell_step
    "paper_reset": (STEP, with_(paper=True), {}),
    "b_hn_outside": (STEP, with_(b_hn_outside=True), {}),
    "z_swapped": (STEP, with_(z_swapped=True), {}),
    "gate_order": (STEP, with_(order_zrn=True), {}),
    "reset_unused": (STEP, with_(sum_then_chunk=True), {}),
    "no_bias_ih": (STEP, with_(no_bias_ih=True), {}),
    "no_bias_hh": (STEP, with_(no_bias_hh=True), {}),
    "no_biases": (STEP, with_(no_bias_ih=True, no_bias_hh=True), {}),
    "four_blocks": (STEP, with_(four_blocks=True), {}),
    "step_generic": (STEP, with_(n_sigmoid=True), {}),
    "step_case": (STEP, lambda x, h, *p: step(x, h, *p) + (0.01 if x.shape[0] == 1 else 0.0),
                  {"new": "batch=1（一个样本）"}),
    "step_shape": (STEP, lambda x, h, *p: torch.cat([step(x, h, *p), h], 1),
                   {"what": "gru_cell_step（batch=2, input_size=5, hidden_size=4）", "got": (2, 8)}),
    "step_detached": (STEP, with_(detach=True), {}),
    "step_modifies_input": (STEP, with_(in_place=True),
                            {"what": "gru_cell_step（batch=2, input_size=5, hidden_size=4）", "arg": "h_prev"}),
    "step_grad_missing": (STEP, lambda x, h, wi, wh, bi, bh: step(x, h.detach(), wi, wh, bi, bh), {"name": "h_prev"}),
    # right values, but an extra path to bias_ih that adds 0 to h_t and 0.5 to its gradient
    "step_grad": (STEP, lambda x, h, wi, wh, bi, bh: step(x, h, wi, wh, bi, bh) + 0.5 * (bi - bi.detach()).sum(),
                  {"name": "bias_ih"}),
    "no_fused": (STEP, lambda x, h, wi, wh, bi, bh: torch.gru_cell(x, h, wi, wh, bi, bh), {}),
    # the gradients' own check, run on a step whose values are wrong
    "step_grad_values_first": (a4.check_gru_cell_step_grad, with_(n_sigmoid=True),
                               {"what": "gru_cell_step（batch=2, input_size=5, hidden_size=4），求梯度"}),
    # split_gru_gates
    "split_not_three": (SPLIT, split_with(not_tuple=True), {"got": "Tensor"}),
    "split_four": (SPLIT, split_with(four=True), {}),
    "split_columns": (SPLIT, split_with(columns=True),
                      {"what": "split_gru_gates(weight_ih，形状 (12, 5))", "got": (12, 2)}),
    "split_rows_from_columns": (SPLIT, split_with(rows_from_columns=True),
                                {"what": "split_gru_gates(weight_ih，形状 (12, 5))", "rows": 5}),
    "split_shape": (SPLIT, split_with(transposed=True),
                    {"what": "split_gru_gates(weight_ih，形状 (12, 5))", "i": 0, "got": (5, 4)}),
    "split_order": (SPLIT, split_with(order=True), {"what": "split_gru_gates(weight_ih，形状 (12, 5))"}),
    "split_values": (SPLIT, split_with(values=True), {"what": "split_gru_gates(weight_ih，形状 (12, 5))"}),
    "split_bias_1d": (SPLIT, split_with(two_d_slicing=True), {}),
    "split_detached": (SPLIT, split_with(detach=True), {}),
    # gru_param_shapes
    "shapes_not_dict": (SHAPES, shapes_with(not_dict=True), {"got": "list"}),
    "shapes_cell_names": (SHAPES, shapes_with(cell_names=True), {"label": "gru_param_shapes(6, 9)"}),
    "shapes_layers": (SHAPES, shapes_with(only_l0=True),
                      {"label": "gru_param_shapes(5, 7, num_layers=3)", "layers": 3, "last": 2}),
    "shapes_reverse": (SHAPES, shapes_with(reverse=True), {"label": "gru_param_shapes(6, 9)"}),
    "shapes_keys": (SHAPES, shapes_with(missing_bias=True),
                    {"label": "gru_param_shapes(6, 9)", "detail": "缺少 ['bias_hh_l0']；"}),
    "shape_is_int": (SHAPES, shapes_with(int_bias=True), {"label": "gru_param_shapes(6, 9)", "key": "bias_ih_l0",
                                                          "got": 27}),
    "shape_not_tuple": (SHAPES, shapes_with(list_shape=True), {"label": "gru_param_shapes(6, 9)", "key": "weight_hh_l0",
                                                               "got": "list"}),
    "shape_reversed": (SHAPES, shapes_with(reversed=True), {"label": "gru_param_shapes(6, 9)", "key": "weight_ih_l0"}),
    "shape_one_gate": (SHAPES, shapes_with(one_gate=True), {"label": "gru_param_shapes(6, 9)", "key": "weight_ih_l0"}),
    "shape_four_gates": (SHAPES, shapes_with(four_gates=True), {"label": "gru_param_shapes(6, 9)",
                                                                "key": "weight_ih_l0"}),
    "shape_upper_input": (SHAPES, shapes_with(upper_input=True), {"label": "gru_param_shapes(5, 7, num_layers=3)",
                                                                  "key": "weight_ih_l1"}),
    "bias_not_1d": (SHAPES, shapes_with(bias_2d=True), {"label": "gru_param_shapes(6, 9)", "key": "bias_hh_l0"}),
    "shape_generic": (SHAPES, shapes_with(hh_generic=True), {"label": "gru_param_shapes(6, 9)", "key": "weight_hh_l0"}),
}

GENERIC = {"step_generic", "step_case", "split_values", "split_shape", "shapes_keys", "shape_generic"}


def test_every_hint_has_its_mistake():
    assert set(MISTAKES) == set(HINTS)


def _others(key) -> list[str]:
    """The fixed text of every other hint (the part before any placeholder, when there is one)."""
    return [h.split("{")[0] for k, h in HINTS.items() if k != key and len(h.split("{")[0]) > 2]


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_each_mistake_gets_exactly_its_hint(key):
    check, wrong, fmt = MISTAKES[key]
    msg = hint_for(check, wrong)
    assert HINTS[key].format(**fmt) in msg, msg
    for other in _others(key):
        if other not in HINTS[key]:
            assert other not in msg, (key, other)


def test_the_paper_hint_names_the_reset_placement_without_the_formula():
    hint = HINTS["paper_reset"]
    assert "重置门" in hint and "位置" in hint
    for formula in ("W_hn", "⊙", "b_hn", "(W", "h_prev)", "r *", "r*"):
        assert formula not in hint, formula


# Mistakes without a hint of their own: the generic hint, never a specific (wrong) one.
UNNAMED = {
    "step_generic": [
        with_(n_sigmoid=True),
        with_(off_by_a_bit=True),
        with_(paper=True, z_swapped=True),      # two mistakes at once match no single variant
        with_(order_zrn=True, no_bias_hh=True),
        lambda x, h, wi, wh, bi, bh: step(x, torch.zeros_like(h), wi, wh, bi, bh),  # h_prev ignored
    ],
    "split_values": [split_with(values=True), lambda w: tuple(b.flip(0) for b in w.chunk(3))],
}


@pytest.mark.parametrize("key, index", [(k, i) for k, fns in UNNAMED.items() for i in range(len(fns))])
def test_a_mistake_without_a_hint_gets_the_generic_one(key, index):
    check = MISTAKES[key][0]
    msg = hint_for(check, UNNAMED[key][index])
    assert HINTS[key].split("{")[0] in msg
    for other in _others(key):
        if other not in HINTS[key]:
            assert other not in msg, other


def test_four_blocks_by_slicing_and_hidden_from_columns_in_the_step():
    def quarter(x, h, wi, wh, bi, bh):  # hidden_size taken as weight_hh.shape[0] // 4, then sliced
        q = wh.shape[0] // 4
        gi, gh = F.linear(x, wi, bi), F.linear(h, wh, bh)
        r = torch.sigmoid(gi[:, :q] + gh[:, :q])
        z = torch.sigmoid(gi[:, q:2 * q] + gh[:, q:2 * q])
        return (1 - z) * torch.tanh(gi[:, 2 * q:3 * q] + r * gh[:, 2 * q:3 * q]) + z * h
    assert HINTS["four_blocks"] in hint_for(STEP, quarter)
    assert HINTS["four_blocks"] in hint_for(SPLIT, split_with(four_slicing=True))


def test_the_step_refuses_torchs_gru_and_leaves_nothing_patched():
    def own_cell(x, h, wi, wh, bi, bh):
        cell = nn.GRUCell(wi.shape[1], wh.shape[1])
        with torch.no_grad():
            for p, v in zip(cell.parameters(), (wi, wh, bi, bh)):
                p.copy_(v)
        return cell(x, h)

    def swallows(x, h, wi, wh, bi, bh):
        try:
            return torch._VF.gru_cell(x, h, wi, wh, bi, bh)
        except Exception:
            return step(x, h, wi, wh, bi, bh)
    assert HINTS["no_fused"] in hint_for(STEP, own_cell)
    assert HINTS["no_fused"] in hint_for(STEP, swallows)
    assert "gru_cell" not in vars(torch._VF)
    nn.GRUCell(2, 3)(torch.zeros(1, 2))


@pytest.mark.parametrize("wrong, torch_hint", [
    (lambda x, h, wi, wh, bi, bh: step(x, h, wi, wh.T, bi, bh), "matmul"),
    (lambda x, h, wi, wh, bi, bh: step(x.double(), h, wi, wh, bi, bh), "dtype"),
])
def test_torch_errors_get_a_chinese_hint_and_the_case(wrong, torch_hint):
    msg = hint_for(STEP, wrong)
    assert "提示：" + TORCH_HINTS[torch_hint][1] in msg
    assert "出错的这一例：gru_cell_step（batch=2, input_size=5, hidden_size=4）" in msg


def test_blocks_in_any_wrong_order_are_called_a_wrong_order():
    """(n, r, z): the three blocks are the rows of weight, only returned in another order."""
    msg = hint_for(SPLIT, split_with(rotated=True))
    assert HINTS["split_order"].format(what="split_gru_gates(weight_ih，形状 (12, 5))") in msg
    assert "内容不是" not in msg


def test_split_by_size_is_told_about_split_and_chunk():
    """torch.split(weight, 3) cuts blocks of 3 rows: 4 of them here, and 20 for another size."""
    assert "每块的大小" in hint_for(SPLIT, lambda w: torch.split(w, 3))
    assert "每块的大小" in HINTS["split_not_three"]


def test_hints_never_reveal_the_answer():
    for key in ("shape_reversed", "shape_generic", "shape_one_gate", "shape_upper_input"):
        msg = hint_for(SHAPES, MISTAKES[key][1])
        for shape in a4.param_shapes_by_torch(6, 9).values():
            assert str(shape) not in msg.split("：", 1)[1], key
    for key in ("split_order", "split_values", "split_shape"):
        assert "tensor(" not in hint_for(SPLIT, MISTAKES[key][1])


def test_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    for check in (STEP, SPLIT, SHAPES):
        assert "还没有实现" in hint_for(check, stub)


def test_return_values_that_are_not_tensors():
    assert "return" in hint_for(STEP, lambda *a: None)
    assert "子类" in hint_for(STEP, lambda *a: step(*a).as_subclass(type("Liar", (torch.Tensor,), {})))
    assert "第 1 块" in hint_for(SPLIT, lambda w: (w[:1], [0.0], w[1:]))


def test_comparisons_survive_monkeypatched_torch(monkeypatch):
    def sneaky(x, h, wi, wh, bi, bh):
        monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
        monkeypatch.setattr(torch.Tensor, "__eq__", lambda *a, **k: True)
        return torch.zeros_like(h)
    with pytest.raises(CheckFailed):
        STEP(sneaky)


def test_visible_cases_try_every_variant_of_the_contract():
    sizes = [c.sizes for c in a4.visible_step_cases()]
    assert {b for b, _, _ in sizes} >= {1, 2}
    assert any(i == h for _, i, h in sizes) and any(i > h for _, i, h in sizes) and any(i < h for _, i, h in sizes)
    # The first case's four-block size (3·H/4) is no other size, so a broadcast error naming it is unambiguous.
    b, i, h = sizes[0]
    assert not a4._four_block_sizes(h) & {b, i, h}
    layers = {c[2] for c in a4.SHAPE_CASES}
    assert 1 in layers and max(layers) > 1 and any(c[3] for c in a4.SHAPE_CASES)
    assert all(c[0] != c[1] for c in a4.SHAPE_CASES if c[2] > 1)  # tells weight_ih_l1's (3H, H) from (3H, I)


def test_each_contract_item_has_its_own_cases():
    """One layer (the default call too) / several layers (issue 21, point 4)."""
    base, layers = a4.SHAPE_ITEMS["base"], a4.SHAPE_ITEMS["layers"]
    assert all(c[2] == 1 for c in base) and {c[3] for c in base} == {True, False}
    assert all(c[2] > 1 and not c[3] for c in layers)


def _rowwise(weight):
    """A split that works on 2-D weights only (2-D slicing): the bias item's mistake."""
    return split(weight, two_d_slicing=True)


# (an item's visible check, a mistake in another item): the check passes it, the mistake costs only its item
OTHER_ITEMS_MISTAKE = [
    (a4.check_gru_param_shapes, shapes_with(upper_input=True)),
    (a4.check_gru_param_shapes, shapes_with(only_l0=True)),
    (a4.check_split_gru_gates, _rowwise),
    (a4.check_split_gru_gates, split_with(detach=True)),
    (a4.check_split_gru_gates_bias, split_with(detach=True)),
    (a4.check_split_gru_gates_graph, _rowwise),
    (a4.check_split_gru_gates_graph, split_with(order=True)),
    (a4.check_gru_cell_step, with_(detach=True)),
    (a4.check_gru_cell_step, lambda x, h, wi, wh, bi, bh: step(x, h.detach(), wi, wh, bi, bh)),
]
# (an item's visible check, the mistake of that item): caught there
OWN_ITEMS_MISTAKE = [
    (a4.check_gru_param_shapes_layers, shapes_with(upper_input=True)),
    (a4.check_gru_param_shapes_layers, shapes_with(only_l0=True)),
    (a4.check_split_gru_gates_bias, _rowwise),
    (a4.check_split_gru_gates_graph, split_with(detach=True)),
    (a4.check_gru_cell_step_grad, with_(detach=True)),
    (a4.check_gru_cell_step_grad, lambda x, h, wi, wh, bi, bh: step(x, h.detach(), wi, wh, bi, bh)),
]


@pytest.mark.parametrize("index", range(len(OTHER_ITEMS_MISTAKE)))
def test_an_items_check_passes_a_mistake_of_another_item(index):
    check, wrong = OTHER_ITEMS_MISTAKE[index]
    assert "通过" in check(wrong)


@pytest.mark.parametrize("index", range(len(OWN_ITEMS_MISTAKE)))
def test_an_items_check_catches_its_own_mistake(index):
    check, wrong = OWN_ITEMS_MISTAKE[index]
    hint_for(check, wrong)


def test_every_visible_check_reports_not_implemented():
    assert_each_reports_not_implemented(a4, ("check_gru", "check_split"))


# The answer matrix of tests/answers/ against the visible checks: tests/test_checks_answers.py.


# ---------------------------------------------------------------- derive, don't ask (issue 21, point 2)

GRU_ASKS_TORCH = {
    "meta_module": lambda i, h, num_layers=1: {
        n: tuple(p.shape) for n, p in nn.GRU(i, h, num_layers, device="meta").named_parameters()},
    "real_module": lambda i, h, num_layers=1: {n: tuple(p.shape) for n, p in nn.GRU(i, h, num_layers).named_parameters()},
    "oracle": lambda i, h, num_layers=1: a4.param_shapes_by_torch(i, h, num_layers),
}


@pytest.mark.parametrize("name", sorted(GRU_ASKS_TORCH))
def test_gru_param_shapes_asked_of_torch_is_refused_in_chinese(name):
    msg = hint_for(a4.check_gru_param_shapes, GRU_ASKS_TORCH[name])
    assert msg.startswith("gru_param_shapes 要你自己推导") and msg.count("。") == 1
    assert nn.GRU(3, 4).weight_ih_l0.shape == (12, 3)  # lifted after the check


def test_an_index_error_unrelated_to_a_bias_is_not_called_a_one_dimensional_bias():
    """h_prev.shape[2] fails with "tuple index out of range" on every case: no bias was touched."""
    def step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
        H = h_prev.shape[2]
        return h_prev[:, :H]

    msg = hint_for(a4.check_gru_cell_step, step)
    assert "IndexError" in msg and HINTS["split_bias_1d"] not in msg
