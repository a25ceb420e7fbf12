"""a4's written question: the facts its reference answer and rubric state, executed on the exact
configuration the question asks about (issue 21, point 1).

A trained `nn.RNNCell(10, 20)` loaded into an `nn.GRUCell(10, 20)`: the n block holds the RNN, the
other rows are zeroed, z's bias is -30. The code, what it prints and the reference answer's one-line
fix are read from the question and the answer themselves, so the test runs what the student reads.
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path

import torch
from torch import nn

from nbtools import cell_by_id, read

SOURCE = read(Path(__file__).resolve().parents[1] / "source" / "a4_gru" / "a4_gru.ipynb")
QUESTION = cell_by_id(SOURCE, "part4_question").source
ANSWER = cell_by_id(SOURCE, "written_rnn_to_gru").source
SETUP, PRINTED, GRADS, GRADS_PRINTED = (textwrap.dedent(b) for b in re.findall(r"```(?:python)?\n(.*?)```", QUESTION, re.S))
FIX = re.search(r"加一行 `([^`]*)`", ANSWER).group(1)
R, Z, N = slice(0, 20), slice(20, 40), slice(40, 60)
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def run(*pieces: str) -> tuple[dict, str]:
    """The question's code (and more), executed in a fresh namespace: (namespace, what it printed)."""
    ns = {"torch": torch, "nn": nn}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for piece in pieces:
            exec(compile(piece, "<question>", "exec"), ns)
    return ns, out.getvalue()


def with_no_grad(line: str) -> str:
    return "with torch.no_grad():\n    " + line + "\n"


def test_a4_the_report_prints_true_then_false():
    _, printed = run(SETUP)
    assert printed == PRINTED == "True\nFalse\n"
    assert FIX == "gru.bias_ih[0:20] = 30.0"


def test_a4_zeroed_rows_give_r_one_half_and_the_hidden_term_halved():
    ns, _ = run(SETUP)
    gru, rnn, x, h = ns["gru"], ns["rnn"], ns["x"], ns["h"]
    with torch.no_grad():
        W_ih, W_hh, b_ih, b_hh = (getattr(gru, n) for n in PARAMS)
        r = torch.sigmoid(x @ W_ih[R].T + b_ih[R] + h @ W_hh[R].T + b_hh[R])
        z = torch.sigmoid(x @ W_ih[Z].T + b_ih[Z] + h @ W_hh[Z].T + b_hh[Z])
        assert torch.equal(r, torch.full_like(r, 0.5))                   # sigma(0), whatever the input
        assert 5e-14 < z.min() and z.max() < 1e-13                       # sigma(-30) ~ 9e-14
        halved = torch.tanh(x @ rnn.weight_ih.T + rnn.bias_ih + rnn.bias_hh + 0.5 * (h @ rnn.weight_hh.T))
        assert torch.allclose(gru(x, h), halved, atol=1e-6)
        assert not torch.allclose(gru(x, h), rnn(x, h), atol=1e-3)
        zero = torch.zeros(8, 20)                                        # the hidden term is 0 either way
        assert torch.allclose(gru(x, zero), rnn(x, zero), atol=1e-6)


def test_a4_the_merged_bias_is_not_the_bug():
    """Outside the reset gate the merged bias is safe; rnn.bias_hh in bias_hh[40:60] would be halved."""
    apart = SETUP.replace("gru.bias_ih[40:60] = rnn.bias_ih + rnn.bias_hh",
                          "gru.bias_ih[40:60] = rnn.bias_ih\n    gru.bias_hh[40:60] = rnn.bias_hh")
    assert apart != SETUP
    _, printed = run(apart)
    assert printed == "False\nFalse\n"


def fixed_with(line: str) -> tuple[dict, str]:
    """The question's code with `line` added right after the parameters are loaded (before the tests)."""
    load, tests = SETUP.split("x = torch.randn")
    return run(load, with_no_grad(line), "x = torch.randn" + tests)


def test_a4_the_fix_makes_both_tests_pass_in_bias_ih_or_bias_hh():
    ns, printed = fixed_with(FIX)
    assert printed == "True\nTrue\n"
    gru, rnn = ns["gru"], ns["rnn"]
    with torch.no_grad():
        big = 10 * torch.randn(8, 20)                                    # any h_prev, not only these
        assert torch.allclose(gru(ns["x"], big), rnn(ns["x"], big), atol=1e-6)
    assert fixed_with(FIX.replace("bias_ih", "bias_hh"))[1] == "True\nTrue\n"
    assert fixed_with(FIX.replace("30.0", "-30.0"))[1] == "True\nFalse\n"  # r = 0 drops the hidden term


def test_a4_only_a_large_bias_is_exact_in_float32():
    one, tiny = torch.sigmoid(torch.tensor(30.0)), torch.sigmoid(torch.tensor(-30.0))
    assert one.item() == 1.0 and (1 - tiny).item() == 1.0 and 0 < tiny.item() < 1e-13
    s3, s_3 = torch.sigmoid(torch.tensor(3.0)).item(), torch.sigmoid(torch.tensor(-3.0)).item()
    assert abs(s3 - 0.95) < 0.005 and abs(s_3 - 0.05) < 0.005
    ns, _ = run(SETUP)
    gru, rnn, x, h = ns["gru"], ns["rnn"], ns["x"], ns["h"]
    with torch.no_grad():
        gru.bias_ih[R], gru.bias_ih[Z] = 3.0, -3.0
        assert (gru(x, h) - rnn(x, h)).abs().max() > 1e-2               # far beyond float error


def test_a4_the_gradient_report_and_saturated_gates():
    ns, printed = run(SETUP, with_no_grad(FIX), GRADS)
    assert printed == "True\nFalse\n" + GRADS_PRINTED
    gru = ns["gru"]
    for name in PARAMS:
        grad = getattr(gru, name).grad
        assert torch.equal(grad[R], torch.zeros_like(grad[R])), name    # sigma(30) == 1: derivative exactly 0
        assert 1e-13 < grad[Z].abs().max() < 1e-11, name                 # sigma'(-30) ~ 9e-14
        assert grad[N].abs().max() > 0.1, name
    a = torch.tensor([30.0, -30.0], requires_grad=True)
    torch.sigmoid(a).sum().backward()
    assert a.grad[0].item() == 0.0 and 5e-14 < a.grad[1].item() < 1e-13  # sigma(a) (1 - sigma(a))


def _train(gru: nn.GRUCell, steps: int = 60) -> dict[str, torch.Tensor]:
    """SGD on a small sequence task; returns how far each parameter moved."""
    start = {n: getattr(gru, n).detach().clone() for n in PARAMS}
    opt = torch.optim.SGD(gru.parameters(), lr=0.1)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        xs = torch.randn(6, 4, 10, generator=g)
        h = torch.zeros(4, 20)
        for t in range(6):
            h = gru(xs[t], h)
        loss = (h - torch.sin(xs.sum(0)[:, :1])).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {n: (getattr(gru, n).detach() - start[n]).abs() for n in PARAMS}


def test_a4_trained_with_sgd_the_gates_stay_put_and_it_stays_an_rnn():
    ns, _ = run(SETUP, with_no_grad(FIX))
    gru = ns["gru"]
    moved = _train(gru)
    for name in PARAMS:
        assert moved[name][R].max() == 0 and moved[name][Z].max() < 1e-10, name
        assert moved[name][N].max() > 1e-3, name                         # the RNN's part learns
    rnn = nn.RNNCell(10, 20)
    with torch.no_grad():
        for name in PARAMS:
            getattr(rnn, name).copy_(getattr(gru, name)[N])
        x, h = torch.randn(8, 10), torch.randn(8, 20)
        assert torch.allclose(gru(x, h), rnn(x, h), atol=1e-6)          # still exactly an RNN


def test_a4_with_moderate_biases_the_gates_learn():
    ns, _ = run(SETUP, with_no_grad(FIX))
    gru = ns["gru"]
    with torch.no_grad():
        gru.bias_ih[R], gru.bias_ih[Z] = 3.0, -3.0
    moved = _train(gru)
    for name in PARAMS:
        assert moved[name][R].max() > 1e-4 and moved[name][Z].max() > 1e-4, name
