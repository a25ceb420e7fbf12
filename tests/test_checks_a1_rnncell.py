"""rnnlab.checks.a1_rnncell: correct answers pass; every Chinese hint is earned by the mistake it names.

MISTAKES holds, for every hint of a1_rnncell.HINTS, a small wrong function that makes exactly that
mistake; a mistake without a hint of its own gets the generic hint of its function, never another.
"""

from __future__ import annotations


import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.checks import a1_rnncell as a1
from rnnlab.checks.core import TORCH_HINTS

from checktools import hint_for

HINTS = a1.HINTS
STEP, RUN, SHAPES = a1.check_rnn_cell_step, a1.check_run_rnn_cell, a1.check_rnn_cell_param_shapes
# Each contract item's own check (and points): None biases, relu; h0=None, any cell, the gradient.
STEP_NONE, STEP_RELU = a1.check_rnn_cell_step_bias_none, a1.check_rnn_cell_step_relu
RUN_H0, RUN_CELL, RUN_GRAD = (a1.check_run_rnn_cell_default_h0, a1.check_run_rnn_cell_any_cell,
                              a1.check_run_rnn_cell_gradient)
STEP_CHECKS = (STEP, STEP_NONE, STEP_RELU)
RUN_CHECKS = (RUN, RUN_H0, RUN_CELL, RUN_GRAD)


# Test-side implementations (the package itself must not hold them).
def good_step(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    z = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)


def good_run(cell, x, h0=None):
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h


def good_shapes(i, h):
    return {"weight_ih": (h, i), "weight_hh": (h, h), "bias_ih": (h,), "bias_hh": (h,)}



def test_correct_answers_pass():
    for check in STEP_CHECKS:
        assert "通过" in check(good_step)
    for check in RUN_CHECKS:
        assert "通过" in check(good_run)
    assert "通过" in SHAPES(good_shapes)
    # torch.Size values are shapes too (read from plain tensors: no module is built).
    assert "通过" in SHAPES(lambda i, h: {"weight_ih": torch.empty(h, i).shape, "weight_hh": torch.Size([h, h]),
                                          "bias_ih": torch.empty(h).shape, "bias_hh": torch.Size([h])})


def test_checks_leave_the_students_random_state_alone():
    before = torch.random.get_rng_state()
    [check(good_step) for check in STEP_CHECKS], [check(good_run) for check in RUN_CHECKS], SHAPES(good_shapes)
    assert torch.equal(before, torch.random.get_rng_state())


# ---------------------------------------------------------------- rnn_cell_step's mistakes

def step_with(body):
    """A step from a body z(x, h, wi, wh, bi, bh, nl) -> h_t."""
    def step(x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh"):
        return body(x, h, wi, wh, bi, bh, nonlinearity)
    return step


def act(z, nl):
    return torch.relu(z) if nl == "relu" else torch.tanh(z)


def plus(z, *biases):
    for b in biases:
        if b is not None:
            z = z + b
    return z


def both_or_nothing(x, h, wi, wh, bi, bh, nl):
    z = x @ wi.T + h @ wh.T
    if bi is not None and bh is not None:
        z = z + bi + bh
    return act(z, nl)


def bias_hh_inside_bias_ih(x, h, wi, wh, bi, bh, nl):
    z = x @ wi.T + h @ wh.T
    if bi is not None:
        z = z + bi + (bh if bh is not None else 0)
    return act(z, nl)


def run_with(body):
    def run(cell, x, h0=None):
        return body(cell, x, h0)
    return run


def loop(cell, x, h, step=None, cut=lambda t, h: h):
    outs = []
    for t in range(x.shape[0]):
        h = (step or cell)(x[t], cut(t, h))
        outs.append(h)
    return torch.stack(outs), h


def includes_h0(cell, x, h0):
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    outs = [h]
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h


def own_step_without_nonlinearity(cell, x, h0):
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    step = lambda xt, h: good_step(xt, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    return loop(cell, x, h, step)


def no_grad_loop(cell, x, h0):
    with torch.no_grad():
        return loop(cell, x, h0)


def detached_weight_hh(cell, x, h0):
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    step = lambda xt, h: good_step(xt, h, cell.weight_ih, cell.weight_hh.detach(), cell.bias_ih, cell.bias_hh,
                                   cell.nonlinearity)
    return loop(cell, x, h, step)


def reversed_loop(cell, x, h0):
    """Reads the sequence backwards (and returns its outputs in the original order)."""
    o, h = good_run(cell, x.flip(0), h0)
    return o.flip(0), h


def bias_alias_inplace(x, h, wi, wh, bi, bh, nl):
    b = bi if bi is not None else 0
    if bh is not None:
        b += bh                       # bi is the caller's tensor: it is changed in place
    return act(x @ wi.T + h @ wh.T + b, nl)


# hint key -> (check, wrong function, format arguments of the hint)
MISTAKES = {
    "step_modifies_input": (STEP, step_with(bias_alias_inplace), {"arg": "bias_ih"}),
    "no_bias_ih": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(F.linear(x, wi) + F.linear(h, wh, bh), nl)), {}),
    "no_bias_hh": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(F.linear(x, wi, bi) + F.linear(h, wh), nl)), {}),
    "no_biases": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(x @ wi.T + h @ wh.T, nl)), {}),
    "no_transpose_hh": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T + h @ wh, bi, bh), nl)), {}),
    "ignores_h_prev": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T, bi, bh), nl)), {}),
    "relu_by_default": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: good_step(x, h, wi, wh, bi, bh, "relu")), {}),
    "sigmoid": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: torch.sigmoid(plus(x @ wi.T + h @ wh.T, bi, bh))), {}),
    "no_activation": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: plus(x @ wi.T + h @ wh.T, bi, bh)), {}),
    "dropped_given_bias": (STEP_NONE, step_with(both_or_nothing), {"none": "bias_hh", "given": "bias_ih"}),
    "ignores_relu": (STEP_RELU, step_with(lambda x, h, wi, wh, bi, bh, nl: good_step(x, h, wi, wh, bi, bh)), {}),
    # an item's check when the default call itself is wrong (here weight_hh not transposed)
    "step_core_first": (STEP_RELU, step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T + h @ wh, bi, bh), nl)),
                        {}),
    "step_generic": (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T - h @ wh.T, bi, bh), nl)), {}),
    "includes_h0": (RUN, run_with(includes_h0), {}),
    "shifted": (RUN, run_with(lambda cell, x, h0: (lambda o, h: (o[:-1], h))(*includes_h0(cell, x, h0))), {}),
    "ignores_h0": (RUN, run_with(lambda cell, x, h0: good_run(cell, x)), {}),
    "default_h0": (RUN_H0, run_with(lambda cell, x, h0: good_run(cell, x, torch.ones(x.shape[1], 5) if h0 is None else h0)),
                   {}),
    "h_last": (RUN, run_with(lambda cell, x, h0: (lambda o, h: (o, o[0]))(*good_run(cell, x, h0))), {}),
    "run_ignores_nonlinearity": (RUN_CELL, run_with(own_step_without_nonlinearity), {}),
    "run_detached": (RUN_GRAD, run_with(lambda cell, x, h0: loop(cell, x, h0, lambda xt, h: cell(xt, h).detach())), {}),
    "run_truncated": (RUN_GRAD, run_with(lambda cell, x, h0: loop(cell, x, h0, cut=lambda t, h: None if h is None
                                                                   else h.detach())), {}),
    "run_grad_generic": (RUN_GRAD, run_with(lambda cell, x, h0: loop(cell, x, h0, cut=lambda t, h: h.detach() if t == 2
                                                                      else h)), {}),
    "run_generic": (RUN, run_with(reversed_loop), {}),
    # an item's check when the main case (h0 given) is wrong too
    "run_core_first": (RUN_H0, run_with(reversed_loop), {}),
    "shapes_not_dict": (SHAPES, lambda i, h: [(h, i)], {"name": "rnn_cell_param_shapes", "got": "list"}),
    "shapes_keys": (SHAPES, lambda i, h: {k: v for k, v in good_shapes(i, h).items() if k != "bias_hh"},
                    {"name": "rnn_cell_param_shapes", "detail": "缺少 ['bias_hh']；"}),
    "shape_is_int": (SHAPES, lambda i, h: {**good_shapes(i, h), "bias_ih": (h), "bias_hh": (h)},
                     {"key": "bias_ih", "got": 9}),
    "shape_not_tuple": (SHAPES, lambda i, h: {**good_shapes(i, h), "weight_ih": [h, i]}, {"key": "weight_ih", "got": "list"}),
    "shape_reversed": (SHAPES, lambda i, h: {**good_shapes(i, h), "weight_ih": (i, h)}, {"key": "weight_ih"}),
    "bias_not_1d": (SHAPES, lambda i, h: {**good_shapes(i, h), "bias_hh": (h, 1)}, {"key": "bias_hh"}),
    "shape_generic": (SHAPES, lambda i, h: {**good_shapes(i, h), "weight_hh": (h, i)}, {"key": "weight_hh", "inp": 6, "hid": 9}),
}

GENERIC = {"step_generic", "run_generic", "run_grad_generic", "shape_generic"}


def test_every_hint_has_its_mistake():
    assert set(MISTAKES) == set(HINTS)


def _others(key, **fmt) -> list[str]:
    """The fixed text of every other hint (the part before any placeholder)."""
    return [h.split("{")[0] for k, h in HINTS.items() if k != key and h.split("{")[0]]


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_each_mistake_gets_exactly_its_hint(key):
    check, wrong, fmt = MISTAKES[key]
    msg = hint_for(check, wrong)
    assert HINTS[key].format(**fmt) in msg
    for other in _others(key):
        if other not in HINTS[key]:
            assert other not in msg, (key, other)


def test_a_lone_bias_hh_dropped_names_bias_hh():
    msg = hint_for(STEP_NONE, step_with(bias_hh_inside_bias_ih))
    assert HINTS["dropped_given_bias"].format(none="bias_ih", given="bias_hh") in msg
    assert "bias_ih=None" in msg


def test_biases_only_when_both_are_given_is_not_called_a_none_bias_added():
    """The review's case: the given bias_ih was dropped (the old hint said a None bias was added)."""
    msg = hint_for(STEP_NONE, step_with(both_or_nothing))
    assert msg == ("rnn_cell_step(..., bias_hh=None) 的返回值数值不对："
                   + HINTS["dropped_given_bias"].format(none="bias_hh", given="bias_ih"))


# Mistakes without a hint of their own: the generic hint, never a specific (wrong) one.
UNNAMED = {  # hint key -> [(the check that sees it, the wrong function)]
    "step_generic": [
        (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T + h @ wh.T, bi, bh, bi), nl))),  # bias_ih twice
        (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T + 0.5 * h @ wh.T, bi, bh), nl))),  # scaled
        # treats a None bias as ones (the default call is right)
        (STEP_NONE, step_with(lambda x, h, wi, wh, bi, bh, nl: act(x @ wi.T + h @ wh.T + (1 if bi is None else bi)
                                                                   + (1 if bh is None else bh), nl))),
    ],
    "run_generic": [
        # when h0 is None, every step starts from zeros (the first step is right, the others are not)
        (RUN_H0, run_with(lambda cell, x, h0: loop(cell, x, h0, cut=lambda t, h: h if h0 is not None else None))),
        # a bias=False cell gets biases of ones
        (RUN_CELL, run_with(lambda cell, x, h0: loop(cell, x, torch.zeros(x.shape[1], 5) if h0 is None else h0,
                                                     lambda xt, h: good_step(xt, h, cell.weight_ih, cell.weight_hh,
                                                                             cell.bias_ih if cell.bias_ih is not None
                                                                             else torch.ones(5),
                                                                             cell.bias_hh, cell.nonlinearity)))),
    ],
}


@pytest.mark.parametrize("key, index", [(k, i) for k, fns in UNNAMED.items() for i in range(len(fns))])
def test_a_mistake_without_a_hint_gets_the_generic_one(key, index):
    check, wrong = UNNAMED[key][index]
    msg = hint_for(check, wrong)
    assert msg.endswith(HINTS[key])
    for other in _others(key):
        assert other not in msg, other


def test_a_detached_weight_is_disconnected():
    assert hint_for(RUN_GRAD, run_with(detached_weight_hh)).endswith(HINTS["run_detached"])


def test_no_grad_is_disconnected():
    assert hint_for(RUN_GRAD, run_with(no_grad_loop)) == HINTS["run_detached"]


# ---------------------------------------------------------------- torch's errors, through the a1 checks

def if_bias(x, h, wi, wh, bi=None, bh=None, nonlinearity="tanh"):
    z = x @ wi.T + h @ wh.T
    if bi:
        z = z + bi
    return torch.tanh(z)


@pytest.mark.parametrize("check, wrong, torch_hint, line", [
    (STEP, if_bias, "bool_tensor", "if bi:"),
    (STEP_NONE, step_with(lambda x, h, wi, wh, bi, bh, nl: act(x @ wi.T + h @ wh.T + bi + bh, nl)), "none", "act(x @ wi.T"),
    (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: act(x @ wi + h @ wh.T, nl)), "matmul", "act(x @ wi +"),
    (STEP, step_with(lambda x, h, wi, wh, bi, bh, nl: good_step(x.double(), h, wi, wh, bi, bh, nl)), "dtype",
     "z = F.linear(x, w_ih, b_ih)"),
    (RUN, run_with(lambda cell, x, h0: loop(cell, x.transpose(0, 1), h0)), "batch_size", "h = (step or cell)"),
    (RUN_H0, run_with(lambda cell, x, h0: loop(cell, x, torch.zeros(5) if h0 is None else h0)), None, None),
    (RUN, run_with(lambda cell, x, h0: loop(cell, x, h0 if h0 is None else h0[None])), "hidden_dims", "h = (step or cell)"),
    (RUN, run_with(lambda cell, x, h0: (cell(x, h0), cell(x, h0))), "input_dims", "(cell(x, h0), cell(x, h0))"),
])
def test_torch_errors_get_one_chinese_line_and_the_students_line(check, wrong, torch_hint, line):
    msg = hint_for(check, wrong)
    if torch_hint is None:  # a 1-D default h0: the h0=None check (the main one, h0 given, passes)
        assert msg.endswith(TORCH_HINTS["batch_size"][1]) and "Input batch size 2 doesn't match hidden0 batch size 5" in msg
        return
    assert msg.endswith("提示：" + TORCH_HINTS[torch_hint][1])
    assert f"File {__file__}" in msg and line in msg


def test_param_shape_hints_never_reveal_the_answer():
    for key in ("shape_reversed", "shape_generic", "shape_is_int", "shape_not_tuple"):
        msg = hint_for(SHAPES, MISTAKES[key][1])
        assert "(9, 6)" not in msg and "(6, 9)" not in msg and "(9,)" not in msg and "(9, 9)" not in msg, key


def test_not_implemented_is_reported():
    def stub(*a, **k):
        raise NotImplementedError()
    for check in (*STEP_CHECKS, *RUN_CHECKS, SHAPES):
        assert "还没有实现" in hint_for(check, stub)


def test_return_values_that_are_not_tensors():
    assert "return" in hint_for(STEP, lambda *a, **k: None)
    assert "不是张量" in hint_for(STEP, lambda *a, **k: [1.0])
    assert "torch.stack" in hint_for(RUN, run_with(lambda cell, x, h0: (list(good_run(cell, x, h0)[0]), h0)))
    assert "二元组" in hint_for(RUN, lambda cell, x, h0=None: good_run(cell, x, h0)[0])
    assert "顺序不对" in hint_for(RUN, run_with(lambda cell, x, h0: (lambda o, h: (o.transpose(0, 1), h))(
        *good_run(cell, x, h0))))


# The answer matrix of tests/answers/ against the visible checks: tests/test_checks_answers.py.


# ---------------------------------------------------------------- derive, don't ask (issue 21, point 2)

ASKS_TORCH = {
    "meta_module": lambda i, h: {n: tuple(p.shape) for n, p in nn.RNNCell(i, h, device="meta").named_parameters()},
    "real_module": lambda i, h: {n: tuple(p.shape) for n, p in nn.RNNCell(i, h).named_parameters()},
    "oracle": lambda i, h: __import__("rnnlab.oracles", fromlist=["x"]).param_shapes("RNNCell", i, h),
}


@pytest.mark.parametrize("name", sorted(ASKS_TORCH))
def test_param_shapes_asked_of_torch_is_refused_in_chinese(name):
    msg = hint_for(a1.check_rnn_cell_param_shapes, ASKS_TORCH[name])
    assert msg.startswith("rnn_cell_param_shapes 要你自己推导") and "device=\"meta\"" in msg and msg.count("。") == 1
    assert nn.RNNCell(3, 4).weight_ih.shape == (4, 3)  # lifted after the check


def test_param_shapes_from_plain_tensor_shapes_pass():
    def from_tensors(i, h):
        return {"weight_ih": torch.empty(h, i).shape, "weight_hh": torch.empty(h, h, device="meta").shape,
                "bias_ih": torch.Size([h]), "bias_hh": (h,)}
    assert "通过" in a1.check_rnn_cell_param_shapes(from_tensors)


# ---------------------------------------------------------------- partial credit (issue 21): one item, one check

def passing(checks, fn) -> set:
    """The checks among `checks` that fn passes."""
    ok = set()
    for check in checks:
        try:
            check(fn)
            ok.add(check)
        except a1.CheckFailed:
            pass
    return ok


def bias_none_crashes(x, h, wi, wh, bi, bh, nl):
    return act(x @ wi.T + h @ wh.T + bi + bh, nl)


def own_step_biases_always(cell, x, h0):
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    def step(xt, h):
        return act(xt @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh, cell.nonlinearity)
    return loop(cell, x, h, step)


ONE_ITEM = [  # (wrong function, the checks of its family, the one check it fails)
    (step_with(bias_none_crashes), STEP_CHECKS, STEP_NONE),
    (step_with(both_or_nothing), STEP_CHECKS, STEP_NONE),
    (step_with(lambda x, h, wi, wh, bi, bh, nl: good_step(x, h, wi, wh, bi, bh)), STEP_CHECKS, STEP_RELU),
    (run_with(lambda cell, x, h0: good_run(cell, x, torch.randn(x.shape[1], 5) if h0 is None else h0)), RUN_CHECKS, RUN_H0),
    (run_with(lambda cell, x, h0: good_run(cell, x)), RUN_CHECKS, RUN),  # h0 ignored: the main case only
    (run_with(own_step_without_nonlinearity), RUN_CHECKS, RUN_CELL),
    (run_with(own_step_biases_always), RUN_CHECKS, RUN_CELL),
    (run_with(no_grad_loop), RUN_CHECKS, RUN_GRAD),
    (run_with(lambda cell, x, h0: loop(cell, x, h0, cut=lambda t, h: None if h is None else h.detach())), RUN_CHECKS,
     RUN_GRAD),
]


@pytest.mark.parametrize("index", range(len(ONE_ITEM)))
def test_one_item_wrong_fails_only_that_items_check(index):
    wrong, family, failing = ONE_ITEM[index]
    assert passing(family, wrong) == set(family) - {failing}


def test_a_crash_in_one_cell_of_the_any_cell_check_names_that_cell():
    msg = hint_for(RUN_CELL, run_with(own_step_biases_always))
    assert "NoneType" in msg and msg.splitlines()[-1] == "（出错的这一例：bias=False 的单元，cell.bias_ih、cell.bias_hh 都是 None，h0 全零）"


def test_a_step_that_adds_no_bias_is_sent_to_the_default_call_not_told_it_mishandles_none():
    """With bias_hh=None it looks like "dropped the given bias_ih", but the student never adds any bias: the
    None check names the default call as the mistake (a wrong diagnosis is worse than none)."""
    no_bias = step_with(lambda x, h, wi, wh, bi, bh, nl: act(x @ wi.T + h @ wh.T, nl))
    msg = hint_for(STEP_NONE, no_bias)
    assert msg.endswith(HINTS["step_core_first"]) and "分别判断" not in msg
    assert hint_for(STEP, no_bias).endswith(HINTS["no_biases"])


def test_an_items_check_points_at_the_main_check_only_when_that_fails():
    """A wrong default call (or main loop) is named as the thing to fix first; a right one never is."""
    wrong_core = step_with(lambda x, h, wi, wh, bi, bh, nl: act(plus(x @ wi.T - h @ wh.T, bi, bh), nl))
    for check in (STEP_NONE, STEP_RELU):
        assert hint_for(check, wrong_core).endswith(HINTS["step_core_first"])
    for check in (RUN_H0, RUN_CELL, RUN_GRAD):
        assert hint_for(check, run_with(reversed_loop)).endswith(HINTS["run_core_first"])
    assert not hint_for(STEP_NONE, step_with(both_or_nothing)).endswith(HINTS["step_core_first"])
    assert HINTS["run_core_first"] not in hint_for(RUN_CELL, run_with(own_step_without_nonlinearity))
