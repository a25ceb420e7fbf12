"""rnnlab.checks.a3_lstm: correct styles pass; every Chinese hint is earned by the mistake it names.

MISTAKES holds, for every hint of a3_lstm.HINTS, a small wrong function that makes exactly that
mistake; a mistake without a hint of its own gets the generic hint of its function, never another.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.checks import a3_lstm as a3
from rnnlab.checks.core import TORCH_HINTS

from checktools import assert_each_reports_not_implemented, hint_for

HINTS = a3.HINTS


def _all(*checks):
    """A function's visible checks (one per contract item) in their cells' order, as one: the first
    that fails raises, as the student meets them running the notebook."""
    def run(fn):
        return " ".join(check(fn) for check in checks)
    run.__name__ = checks[0].__name__
    return run


SHAPES = _all(a3.check_lstm_param_shapes, a3.check_lstm_param_shapes_layers, a3.check_lstm_param_shapes_proj)
COUNT = _all(a3.check_lstm_num_params, a3.check_lstm_num_params_layers, a3.check_lstm_num_params_no_bias)
SPLIT = _all(a3.check_split_lstm_gates, a3.check_split_lstm_gates_bias)
STEP = _all(a3.check_lstm_cell_step, a3.check_lstm_cell_step_grad)


# ---------------------------------------------------------------- test-side implementations (never in rnnlab)

def shapes(I, H, num_layers=1, proj_size=0, **mistake):
    """A correct lstm_param_shapes written out; each keyword switches on one classic mistake."""
    m = mistake.get
    G = 1 if m("one_gate") else 3 if m("three_gates") else 4
    P = 0 if m("ignore_proj") else proj_size  # weight_hr still listed below, the rest as if P were 0
    out = P or H
    d = {}
    for k in range(1 if m("layer0_only") else num_layers):
        sfx = "" if m("cell_names") else f"_l{k}"
        d[f"weight_ih{sfx}"] = (G * H, I if (k == 0 or m("layer_input")) else out)
        d[f"weight_hh{sfx}"] = (G * H, out)
        d[f"bias_ih{sfx}"] = (G * H,)
        if not m("one_bias"):
            d[f"bias_hh{sfx}"] = (G * H,)
        if proj_size and not m("drop_hr") or m("always_hr"):
            d[f"weight_hr{sfx}"] = (proj_size, H)
    if m("extra_layer"):
        d[f"weight_ih_l{num_layers}"] = (G * H, out)
    if m("reversed"):
        d["weight_ih_l0"] = d["weight_ih_l0"][::-1]
    if m("bias_int"):
        d["bias_ih_l0"] = (G * H)
    if m("lists"):
        d = {k: list(v) for k, v in d.items()}
    if m("bias_2d"):
        d["bias_hh_l0"] = (G * H, 1)
    if m("hh_reads_input"):
        d["weight_hh_l0"] = (G * H, I)
    if m("as_list"):
        return list(d.items())
    return d


def count(I, H, num_layers=1, bias=True, **mistake):
    """A correct lstm_num_params written out; each keyword switches on one classic mistake."""
    m = mistake.get
    G = 1 if m("one_gate") else 3 if m("three_gates") else 4
    has_bias = (bias or m("bias_always")) and not m("bias_never")
    n_bias = (1 if m("one_bias") else 2) if has_bias else 0
    total = 0
    for k in range(1 if m("one_layer") else num_layers):
        inp = I if (k == 0 or m("layer_input")) else H
        total += G * H * (inp + H) + n_bias * G * H
    if m("off_by_one"):
        total += 1
    if m("float"):
        return total / 1
    if m("tensor"):
        return torch.tensor(total)
    if m("numpy"):
        return np.int64(total)
    return total


def split(w, **mistake):
    m = mistake.get
    if m("columns"):
        return w.chunk(4, dim=-1)
    if m("three"):
        return w.chunk(3, 0)
    if m("as_tensor"):
        return w.reshape(4, -1, *w.shape[1:])
    if m("as_dict"):
        return dict(zip("ifgo", w.chunk(4)))
    if m("reshape_keeps_2d"):
        return tuple(w.reshape(4, w.shape[0] // 4, -1))
    if m("assumes_2d"):
        H = w.shape[0] // 4
        return tuple(w[k * H:(k + 1) * H, :] for k in range(4))
    if m("interleaved"):
        return tuple(w.reshape(w.shape[0] // 4, 4, *w.shape[1:]).transpose(0, 1))
    if m("ifog"):
        i, f, o, g = w.chunk(4)
        return i, f, g, o
    if m("reversed"):
        return w.chunk(4)[::-1]
    if m("unsqueezed"):
        return tuple(b.unsqueeze(0) for b in w.chunk(4))
    if m("rolled"):
        return torch.roll(w, 1, 0).chunk(4)
    if m("edits"):
        w.mul_(2)
        return (w / 2).chunk(4)
    return w.chunk(4)


def step(x, h, c, wi, wh, bi, bh, **mistake):
    """A correct lstm_cell_step written out; each keyword switches on one classic mistake."""
    m = mistake.get
    if m("no_bias_ih"):
        bi = None
    if m("no_bias_hh"):
        bh = None
    if m("detach_wh"):
        wh = wh.detach()
    pre = (x @ wi if m("no_transpose_ih") else F.linear(x, wi, None))
    pre = pre + (0 if m("ignore_h") else h @ wh.T)
    pre = pre + (bi if bi is not None else 0) + (bh if bh is not None else 0)
    chunks = pre.chunk(4, 0 if m("chunk_dim0") else 1)
    if m("ifog"):
        i, f, o, g = chunks
    elif m("fi"):
        f, i, g, o = chunks
    else:
        i, f, g, o = chunks
    i, f, o = torch.sigmoid(i), torch.sigmoid(f), torch.sigmoid(o)
    g = torch.sigmoid(g) if m("sigmoid_g") else torch.tanh(g)
    if m("in_place_c"):
        c.mul_(f)
        c_t = c + i * g
    elif m("ignore_c"):
        c_t = i * g
    else:
        c_t = f * c + i * g
    h_t = o * c_t if m("no_tanh") else o * torch.tanh(c_t)
    if m("detach"):
        h_t, c_t = h_t.detach(), c_t.detach()
    if m("scaled"):
        h_t = h_t * 1.01
    if m("swapped"):
        return c_t, h_t
    if m("only_h"):
        return h_t
    return h_t, c_t


def with_(fn, **mistake):
    return lambda *a, **k: fn(*a, **k, **mistake)


# ---------------------------------------------------------------- correct styles

def shapes_meta(I, H, num_layers=1, proj_size=0):
    """Derived shapes as torch.Size, read from plain meta tensors (no module: that is refused)."""
    return {n: torch.empty(s, device="meta").shape for n, s in shapes(I, H, num_layers, proj_size).items()}


def count_meta(I, H, num_layers=1, bias=True):
    return sum(torch.empty(s, device="meta").numel() for n, s in shapes(I, H, num_layers).items()
               if bias or not n.startswith("bias"))


def count_from_shapes(I, H, num_layers=1, bias=True):
    return sum(math.prod(s) for n, s in shapes(I, H, num_layers).items() if bias or not n.startswith("bias"))


def split_by_sizes(w):
    return tuple(torch.split(w, w.shape[0] // 4))


def split_view(w):
    v = w.view(4, w.shape[0] // 4, *w.shape[1:])
    return v[0], v[1], v[2], v[3]


def split_unbind(w):
    return w.unflatten(0, (4, -1)).unbind(0)


def step_einsum(x, h, c, wi, wh, bi, bh):
    gates = torch.einsum("bi,gi->bg", x, wi) + torch.einsum("bh,gh->bg", h, wh) + bi + bh
    H = h.shape[1]
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    c_t = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * c_t.tanh(), c_t


def step_blocks(x, h, c, wi, wh, bi, bh):
    """Gate by gate, from the blocks of every parameter (split first, then four small products)."""
    p = [split(t) for t in (wi, wh, bi, bh)]
    z = [F.linear(x, p[0][k], p[2][k]) + F.linear(h, p[1][k], p[3][k]) for k in range(4)]
    c_t = torch.addcmul(torch.sigmoid(z[1]) * c, torch.sigmoid(z[0]), torch.tanh(z[2]))
    return torch.sigmoid(z[3]) * torch.tanh(c_t), c_t


def step_cell(x, h, c, wi, wh, bi, bh):
    """An nn.LSTMCell that shares the tensors: torch's own step, refused in this exercise."""
    cell = nn.LSTMCell(wi.shape[1], wh.shape[1])
    del cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh = wi, wh, bi, bh
    return cell(x, (h, c))


@pytest.mark.parametrize("check, fn", [
    (SHAPES, shapes), (SHAPES, shapes_meta),
    (COUNT, count), (COUNT, count_meta), (COUNT, count_from_shapes),
    (SPLIT, split), (SPLIT, split_by_sizes), (SPLIT, split_view), (SPLIT, split_unbind),
    (SPLIT, lambda w: list(w.chunk(4))),
    (STEP, step), (STEP, step_einsum), (STEP, step_blocks),
], ids=lambda v: getattr(v, "__name__", ""))
def test_correct_styles_pass(check, fn):
    assert "通过" in check(fn)


def test_checks_leave_the_students_random_state_alone():
    before = torch.random.get_rng_state()
    SHAPES(shapes), COUNT(count), SPLIT(split), STEP(step)
    assert torch.equal(before, torch.random.get_rng_state())


def test_the_stacking_order_is_torchs():
    """split_lstm_gates' expectation stacks blocks in GATES order: that order is nn.LSTMCell's own."""
    assert a3.GATES == ("i", "f", "g", "o")
    g = torch.Generator().manual_seed(0)
    weight, blocks = a3.stacked_gates(g, 3, 5)
    assert torch.equal(weight, torch.cat([blocks[k] for k in "ifgo"]))
    cell = nn.LSTMCell(5, 3)
    x, h, c = torch.randn(2, 5), torch.randn(2, 3), torch.randn(2, 3)
    with torch.no_grad():
        want_h, want_c = cell(x, (h, c))
        got_h, got_c = step(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        wrong_h, _ = step(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, ifog=True)
    assert torch.allclose(got_h, want_h, atol=1e-6) and torch.allclose(got_c, want_c, atol=1e-6)
    assert not torch.allclose(wrong_h, want_h, atol=1e-3)


def test_expectations_are_torchs():
    assert a3.shapes_by_torch(50, 100, 2)["weight_hh_l0"] == (400, 100)
    assert a3.count_by_torch(50, 100, 2) == 141_600
    assert a3.count_by_torch(10, 20) == 2560


# ---------------------------------------------------------------- every hint earns its mistake

def _cell_error_in_place(x, h, c, wi, wh, bi, bh):
    return step(x, h, c, wi, wh, bi, bh, in_place_c=True)


# hint key -> (check, wrong function, format arguments of the hint, or None: only the fixed text is asked)
MISTAKES = {
    "shapes_not_dict": (SHAPES, with_(shapes, as_list=True)),
    "keys_cell_names": (SHAPES, with_(shapes, cell_names=True)),
    "keys_missing_layers": (SHAPES, with_(shapes, layer0_only=True)),
    "keys_one_bias": (SHAPES, with_(shapes, one_bias=True)),
    "keys_proj_missing": (SHAPES, with_(shapes, drop_hr=True)),
    "keys_proj_extra": (SHAPES, with_(shapes, always_hr=True)),
    "keys_generic": (SHAPES, with_(shapes, extra_layer=True)),
    "shape_is_int": (SHAPES, with_(shapes, bias_int=True)),
    "shape_not_tuple": (SHAPES, with_(shapes, lists=True)),
    "shape_reversed": (SHAPES, with_(shapes, reversed=True)),
    "proj_ignored": (SHAPES, with_(shapes, ignore_proj=True)),
    "layer_input_size": (SHAPES, with_(shapes, layer_input=True)),
    "rows_one_gate": (SHAPES, with_(shapes, one_gate=True)),
    "rows_three_gates": (SHAPES, with_(shapes, three_gates=True)),
    "bias_not_1d": (SHAPES, with_(shapes, bias_2d=True)),
    "shape_generic": (SHAPES, with_(shapes, hh_reads_input=True)),
    "count_float": (COUNT, with_(count, float=True)),
    "count_not_int": (COUNT, with_(count, tensor=True)),
    "count_one_bias": (COUNT, with_(count, one_bias=True)),
    "count_no_bias": (COUNT, with_(count, bias_never=True)),
    "count_bias_ignored": (COUNT, with_(count, bias_always=True)),
    "count_layer_input": (COUNT, with_(count, layer_input=True)),
    "count_one_layer": (COUNT, with_(count, one_layer=True)),
    "count_one_gate": (COUNT, with_(count, one_gate=True)),
    "count_three_gates": (COUNT, with_(count, three_gates=True)),
    "count_generic": (COUNT, with_(count, off_by_one=True)),
    "split_not_tuple": (SPLIT, with_(split, as_dict=True)),
    "split_tensor": (SPLIT, with_(split, as_tensor=True)),
    "split_count": (SPLIT, with_(split, three=True)),
    "split_columns": (SPLIT, with_(split, columns=True)),
    "split_bias_dims": (SPLIT, with_(split, reshape_keeps_2d=True)),
    "split_bias_error": (SPLIT, with_(split, assumes_2d=True)),
    "split_interleaved": (SPLIT, with_(split, interleaved=True)),
    "split_order_ifog": (SPLIT, with_(split, ifog=True)),
    "split_order": (SPLIT, with_(split, reversed=True)),
    "split_shape_generic": (SPLIT, with_(split, unsqueezed=True)),
    "split_generic": (SPLIT, with_(split, rolled=True)),
    "step_swapped": (STEP, with_(step, swapped=True)),
    "step_order_ifog": (STEP, with_(step, ifog=True)),
    "step_order": (STEP, with_(step, fi=True)),
    "step_no_tanh_c": (STEP, with_(step, no_tanh=True)),
    "step_no_bias_ih": (STEP, with_(step, no_bias_ih=True)),
    "step_no_bias_hh": (STEP, with_(step, no_bias_hh=True)),
    "step_no_biases": (STEP, with_(step, no_bias_ih=True, no_bias_hh=True)),
    "step_ignores_c_prev": (STEP, with_(step, ignore_c=True)),
    "step_ignores_h_prev": (STEP, with_(step, ignore_h=True)),
    "step_transpose_ih": (STEP, with_(step, no_transpose_ih=True)),
    "step_unpack": (STEP, with_(step, chunk_dim0=True)),
    "step_modifies_inputs": (STEP, _cell_error_in_place),
    "step_generic": (STEP, with_(step, sigmoid_g=True)),
    "step_detached": (STEP, with_(step, detach=True)),
    "step_grad_generic": (STEP, with_(step, detach_wh=True)),
    # the gradients' own check, run on a step whose values are wrong
    "step_grad_values_first": (a3.check_lstm_cell_step_grad, with_(step, sigmoid_g=True)),
}


def test_every_hint_has_its_mistake():
    assert set(MISTAKES) == set(HINTS)


def _fixed(text: str) -> list[str]:
    """The fixed pieces of a hint (between its placeholders), long enough to be telling."""
    return [p for p in re.split(r"\{[a-z_]*\}", text.replace("{{k}}", "{k}")) if len(p) >= 6]


def test_a_typo_in_split_is_not_called_a_second_dimension_assumption():
    """The 1-D hint is for an index error only: a NameError in split_lstm_gates is not about dimensions."""
    def split(weight):
        return wieght.chunk(4)  # noqa: F821  (the student's typo)

    msg = hint_for(a3.check_split_lstm_gates_bias, split)
    assert "NameError" in msg and _fixed(HINTS["split_bias_error"])[0] not in msg


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_each_mistake_gets_exactly_its_hint(key):
    check, wrong = MISTAKES[key]
    msg = hint_for(check, wrong)
    for piece in _fixed(HINTS[key]):
        assert piece in msg, (key, piece)
    for other, text in HINTS.items():
        if other == key:
            continue
        pieces = [p for p in _fixed(text) if p not in HINTS[key] and len(p) >= 12]
        assert not (pieces and all(p in msg for p in pieces)), (key, other)


# Mistakes without a hint of their own: the generic hint of their function, never a specific one.
UNNAMED = {
    "count_generic": [with_(count, one_bias=True, three_gates=True)],   # two mistakes at once
    "shape_generic": [with_(shapes, one_gate=True, reversed=True)],
    "step_generic": [with_(step, scaled=True), with_(step, no_tanh=True, no_bias_ih=True),
                     with_(step, swapped=True, ifog=True)],
    "split_generic": [lambda w: tuple(b * 2 for b in w.chunk(4))],
}


@pytest.mark.parametrize("key, index", [(k, i) for k, fns in UNNAMED.items() for i in range(len(fns))])
def test_a_mistake_without_a_hint_gets_the_generic_one(key, index):
    msg = hint_for(MISTAKES[key][0], UNNAMED[key][index])
    for piece in _fixed(HINTS[key]):
        assert piece in msg
    for other, text in HINTS.items():
        if other != key:
            pieces = [p for p in _fixed(text) if p not in HINTS[key] and len(p) >= 12]
            assert not (pieces and all(p in msg for p in pieces)), other


def test_the_layer_input_mistake_with_a_projection_is_named_too():
    msg = hint_for(SHAPES, with_(shapes, layer_input=True))
    assert "num_layers=3, proj_size=0" in msg  # first seen without projection...
    # ... and with one (the 3-layer case answered right, the projected one wrong).
    def only_projected(I, H, num_layers=1, proj_size=0):
        return shapes(I, H, num_layers, proj_size, layer_input=proj_size > 0)
    msg = hint_for(SHAPES, only_projected)
    assert "proj_size=5" in msg and _fixed(HINTS["layer_input_size"])[-1] in msg


def test_numpy_integers_are_asked_to_be_converted():
    assert "int(...)" in hint_for(COUNT, with_(count, numpy=True))


def test_split_leaves_the_weight_alone():
    assert "修改了传入的 weight" in hint_for(SPLIT, with_(split, edits=True))


def test_torchs_own_lstm_step_is_refused():
    assert hint_for(STEP, step_cell) == a3.NO_FUSED
    assert hint_for(STEP, lambda x, h, c, *p: torch.lstm_cell(x, (h, c), *p)) == a3.NO_FUSED

    def swallows(*args):
        try:
            return step_cell(*args)
        except Exception:
            return step(*args)
    assert hint_for(STEP, swallows) == a3.NO_FUSED
    assert "lstm_cell" not in vars(torch._VF)
    nn.LSTMCell(2, 3)(torch.zeros(1, 2))
    nn.LSTM(2, 3)(torch.zeros(4, 1, 2))


def test_step_returns_a_pair():
    assert "二元组 (h_t, c_t)" in hint_for(STEP, with_(step, only_h=True))


def test_torch_errors_inside_the_step_get_a_chinese_hint():
    def no_transpose_hh(x, h, c, wi, wh, bi, bh):
        i, f, g, o = (x @ wi.T + h @ wh + bi + bh).chunk(4, 1)
        c_t = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_t), c_t
    msg = hint_for(STEP, no_transpose_hh)
    assert "提示：" + TORCH_HINTS["matmul"][1] in msg
    assert "h @ wh" in msg and "这一例" in msg


def test_hints_never_reveal_the_answer():
    for key in ("shape_reversed", "shape_generic", "proj_ignored", "layer_input_size", "rows_one_gate",
                "keys_generic"):
        msg = hint_for(SHAPES, MISTAKES[key][1])
        for I, H, L, P, _ in a3.SHAPE_CASES:
            for name, want in a3.shapes_by_torch(I, H, L, P).items():
                if name not in msg:  # keys_generic names missing keys, never their shapes
                    continue
                assert str(want) not in msg, (key, name)
    for key in ("count_one_bias", "count_layer_input", "count_generic", "count_no_bias"):
        msg = hint_for(COUNT, MISTAKES[key][1])
        for I, H, L, bias, _ in a3.COUNT_CASES:
            assert str(a3.count_by_torch(I, H, L, bias)) not in msg, key


def test_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    for check in (SHAPES, COUNT, SPLIT, STEP):
        msg = hint_for(check, stub)
        assert "还没有实现" in msg and "这一例" not in msg


def test_visible_cases_try_every_setting_of_the_contract():
    assert {(c[2] > 1, c[3] > 0) for c in a3.SHAPE_CASES} == {(False, False), (True, False), (False, True), (True, True)}
    assert any(c[4] for c in a3.SHAPE_CASES)
    assert {(c[2] > 1, c[3]) for c in a3.COUNT_CASES} == {(False, True), (True, True), (False, False), (True, False)}
    assert any(c[4] for c in a3.COUNT_CASES)
    for I, H, L, P, _ in a3.SHAPE_CASES:  # sizes that tell the mistakes apart
        assert len({I, H, P} - {0}) == (3 if P else 2)
    kinds = {len(c[2]) for c in a3.SPLIT_CASES}
    assert kinds == {0, 1}  # a 1-D bias and 2-D weights
    assert any(c[2] == (c[1],) for c in a3.SPLIT_CASES) and any(c[2] and c[2] != (c[1],) for c in a3.SPLIT_CASES)
    assert any(i == 4 * h for _, _, i, h in a3.STEP_CASES) and any(i != 4 * h for _, _, i, h in a3.STEP_CASES)


def test_each_contract_item_has_its_own_cases():
    """One layer / several / proj_size; one layer / several / bias=False; weights / biases (issue 21, point 4).
    Several layers with a projection (or bias=False) belong to the projection's (bias=False's) item."""
    items = a3.SHAPE_ITEMS
    assert all(L == 1 and P == 0 for _, _, L, P, _ in items["base"]) and any(c[4] for c in items["base"])
    assert any(not c[4] for c in items["base"])  # num_layers=1, proj_size=0 passed explicitly too
    assert all(L > 1 and P == 0 for _, _, L, P, _ in items["layers"])
    assert all(P > 0 for *_, P, _ in items["proj"]) and {c[2] > 1 for c in items["proj"]} == {False, True}
    items = a3.COUNT_ITEMS
    assert all(L == 1 and bias for _, _, L, bias, _ in items["base"]) and any(c[4] for c in items["base"])
    assert all(L > 1 and bias for _, _, L, bias, _ in items["layers"])
    assert all(not bias for *_, bias, _ in items["no_bias"]) and {c[2] > 1 for c in items["no_bias"]} == {False, True}
    assert all(len(c[2]) == 1 for c in a3.SPLIT_ITEMS["weight"]) and all(c[2] == () for c in a3.SPLIT_ITEMS["bias"])
    assert len({c[1] for c in a3.SPLIT_ITEMS["bias"]}) > 1


# (an item's visible check, a mistake in another item): the check passes it, the mistake costs only its item
OTHER_ITEMS_MISTAKE = [
    (a3.check_lstm_param_shapes, with_(shapes, ignore_proj=True)),
    (a3.check_lstm_param_shapes, with_(shapes, drop_hr=True)),
    (a3.check_lstm_param_shapes, with_(shapes, layer_input=True)),
    (a3.check_lstm_param_shapes_layers, with_(shapes, ignore_proj=True)),
    (a3.check_lstm_param_shapes_layers, with_(shapes, drop_hr=True)),
    (a3.check_lstm_num_params, with_(count, bias_always=True)),
    (a3.check_lstm_num_params, with_(count, layer_input=True)),
    (a3.check_lstm_num_params_layers, with_(count, bias_always=True)),
    (a3.check_lstm_num_params_no_bias, with_(count, one_bias=True)),
    (a3.check_split_lstm_gates, with_(split, assumes_2d=True)),
    (a3.check_split_lstm_gates, with_(split, reshape_keeps_2d=True)),
    (a3.check_lstm_cell_step, with_(step, detach=True)),
    (a3.check_lstm_cell_step, with_(step, detach_wh=True)),
]
# (an item's visible check, the mistake of that item): caught there
OWN_ITEMS_MISTAKE = [
    (a3.check_lstm_param_shapes_proj, with_(shapes, ignore_proj=True)),
    (a3.check_lstm_param_shapes_proj, with_(shapes, drop_hr=True)),
    (a3.check_lstm_param_shapes_layers, with_(shapes, layer_input=True)),
    (a3.check_lstm_num_params_no_bias, with_(count, bias_always=True)),
    (a3.check_lstm_num_params_layers, with_(count, layer_input=True)),
    (a3.check_split_lstm_gates_bias, with_(split, assumes_2d=True)),
    (a3.check_split_lstm_gates_bias, with_(split, reshape_keeps_2d=True)),
    (a3.check_lstm_cell_step_grad, with_(step, detach=True)),
    (a3.check_lstm_cell_step_grad, with_(step, detach_wh=True)),
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
    assert_each_reports_not_implemented(a3, ("check_lstm", "check_split"))


# The answer matrix of tests/answers/ against the visible checks: tests/test_checks_answers.py.


# ---------------------------------------------------------------- derive, don't ask (issue 21, point 2)

SHAPES_ASK_TORCH = {
    "meta_module": lambda i, h, num_layers=1, proj_size=0: {
        n: tuple(p.shape) for n, p in nn.LSTM(i, h, num_layers, proj_size=proj_size, device="meta").named_parameters()},
    "real_module": lambda i, h, num_layers=1, proj_size=0: {
        n: tuple(p.shape) for n, p in nn.LSTM(i, h, num_layers, proj_size=proj_size).named_parameters()},
    "oracle": lambda i, h, num_layers=1, proj_size=0: a3.shapes_by_torch(i, h, num_layers, proj_size),
}
COUNT_ASKS_TORCH = {
    "meta_module": lambda i, h, num_layers=1, bias=True: sum(
        p.numel() for p in nn.LSTM(i, h, num_layers, bias=bias, device="meta").parameters()),
    "real_module": lambda i, h, num_layers=1, bias=True: sum(
        p.numel() for p in nn.LSTM(i, h, num_layers, bias=bias).parameters()),
    "oracle": lambda i, h, num_layers=1, bias=True: a3.count_by_torch(i, h, num_layers, bias),
}


@pytest.mark.parametrize("name", sorted(SHAPES_ASK_TORCH))
def test_lstm_param_shapes_asked_of_torch_is_refused_in_chinese(name):
    msg = hint_for(a3.check_lstm_param_shapes, SHAPES_ASK_TORCH[name])
    assert msg.startswith("lstm_param_shapes 要你自己推导") and msg.count("。") == 1
    assert nn.LSTM(3, 4, device="meta").weight_ih_l0.shape == (16, 3)  # lifted after the check


@pytest.mark.parametrize("name", sorted(COUNT_ASKS_TORCH))
def test_lstm_num_params_asked_of_torch_is_refused_in_chinese(name):
    msg = hint_for(a3.check_lstm_num_params, COUNT_ASKS_TORCH[name])
    assert msg.startswith("lstm_num_params 要你自己推导") and msg.count("。") == 1
    assert a3.count_by_torch(3, 4) == 16 * (3 + 4 + 2)  # the oracle answers again after the check
