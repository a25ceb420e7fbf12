"""a3's written question: the facts its reference answer and rubric state, executed on the exact
configuration the question asks about (issue 21, point 1).

A hand-written loop over layer 0 of `nn.LSTM(30, 64, num_layers=3, proj_size=16)` on a (7, 5, 30)
input. The loop, the error it prints and the fix the reference answer gives are read from the
question and the answer themselves, so the test runs what the student reads.
"""

from __future__ import annotations

import re
import textwrap
import traceback
from pathlib import Path

import pytest
import torch
from torch import nn

from nbtools import cell_by_id, read

SOURCE = read(Path(__file__).resolve().parents[1] / "source" / "a3_lstm" / "a3_lstm.ipynb")
QUESTION = cell_by_id(SOURCE, "part5_question").source
ANSWER = cell_by_id(SOURCE, "written_lstm_proj_loop").source
LOOP, REPORT = re.findall(r"```(?:python)?\n(.*?)```", QUESTION, re.S)[:2]
FIX = textwrap.dedent(re.findall(r"```python\n(.*?)```", ANSWER, re.S)[0])

# The student's `step` (the question shows only its line 2): nn.LSTMCell's step, no projection.
STEP = """\
def step(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh):
    gates = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
"""

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")


def run(loop: str, seed: int = 0):
    """Execute the loop (after `step`) in a fresh namespace: (namespace, the error or None)."""
    torch.manual_seed(seed)
    ns = {"torch": torch, "nn": nn}
    exec(compile(STEP, "<step>", "exec"), ns)
    try:
        with torch.no_grad():
            exec(compile(loop, "<loop>", "exec"), ns)
    except RuntimeError as error:
        return ns, error
    return ns, None


def fixed(loop: str) -> str:
    """The question's loop with its body replaced by the reference answer's fix."""
    head, body = loop.split("for t in range(7):\n")
    return head + "for t in range(7):\n" + "".join("    " + line + "\n" for line in FIX.strip().splitlines())


def test_a3_step_is_nn_lstmcells_step_without_projection():
    ns, _ = run("")
    cell = nn.LSTMCell(30, 64)
    x, h, c = torch.randn(5, 30), torch.randn(5, 64), torch.randn(5, 64)
    with torch.no_grad():
        want_h, want_c = cell(x, (h, c))
        got_h, got_c = ns["step"](x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    torch.testing.assert_close(got_h, want_h)
    torch.testing.assert_close(got_c, want_c)


def test_a3_the_report_is_what_the_loop_prints_and_t_is_1():
    ns, error = run(LOOP)
    assert error is not None and str(error) == REPORT.strip().splitlines()[-1].split(": ", 1)[1]
    assert str(error) == "mat1 and mat2 shapes cannot be multiplied (5x64 and 16x256)"
    assert ns["t"] == 1
    frames = {frame.filename: frame for frame in traceback.extract_tb(error.__traceback__)}
    assert frames["<loop>"].lineno == 9 and frames["<step>"].lineno == 2
    shown = [line for line in REPORT.splitlines() if line.startswith("---->")]
    assert shown[0].split(None, 2)[2] == LOOP.splitlines()[8].strip()
    assert shown[1].split(None, 2)[2] == STEP.splitlines()[1].strip()


def test_a3_5x64_is_the_unprojected_h_and_16x256_is_w_hh_transposed():
    ns, _ = run(LOOP)
    lstm, x = ns["lstm"], ns["x"]
    assert lstm.weight_hh_l0.shape == (4 * 64, 16) and lstm.weight_hh_l0.T.shape == (16, 256)
    assert lstm.weight_hr_l0.shape == (16, 64) and lstm.weight_ih_l0.shape == (256, 30)
    with torch.no_grad():
        h0 = torch.zeros(5, 16)
        h1, c1 = ns["step"](x[0], h0, torch.zeros(5, 64), lstm.weight_ih_l0, lstm.weight_hh_l0,
                            lstm.bias_ih_l0, lstm.bias_hh_l0)   # t = 0 runs: the initial h has 16 features
    assert h1.shape == (5, 64) and c1.shape == (5, 64)       # what the loop hands to t = 1
    assert (h1 @ lstm.weight_hr_l0.T).shape == (5, 16)       # only this went into outs
    assert len(ns["outs"]) == 1


def test_a3_the_fix_matches_layer_0_and_output_is_another_layer():
    ns, error = run(fixed(LOOP))
    assert error is None
    lstm, x, h, c, outs = ns["lstm"], ns["x"], ns["h"], ns["c"], ns["outs"]
    assert h.shape == (5, 16) and c.shape == (5, 64)
    with torch.no_grad():
        output, (h_n, c_n) = lstm(x)
        zeros = (torch.zeros(3, 5, 16), torch.zeros(3, 5, 64))
        assert torch.equal(lstm(x, zeros)[0], output)           # lstm(x) starts from zeros too
    assert output.shape == (7, 5, 16) and h_n.shape == (3, 5, 16) and c_n.shape == (3, 5, 64)
    assert torch.allclose(h, h_n[0], atol=1e-6) and torch.allclose(c, c_n[0], atol=1e-6)
    assert not torch.allclose(torch.stack(outs), output, atol=1e-3)  # output is layer 2's
    assert not torch.allclose(h, h_n[-1], atol=1e-3)             # h_n[-1] is layer 2's too


def test_a3_a_64_dim_initial_h_fails_at_t_0_with_the_same_error():
    loop = LOOP.replace("torch.zeros(5, 16), torch.zeros(5, 64)", "torch.zeros(5, 64), torch.zeros(5, 64)")
    assert loop != LOOP
    ns, error = run(loop)
    assert str(error) == "mat1 and mat2 shapes cannot be multiplied (5x64 and 16x256)" and ns["t"] == 0


def test_a3_projecting_c_too_is_wrong():
    """The rubric: c must keep its 64 features (f * c_prev is taken over the hidden units)."""
    loop = fixed(LOOP).replace("    outs.append(h)\n", "    outs.append(h)\n    c = c @ W_hr.T\n")
    ns, error = run(loop)
    assert error is not None and "must match the size of tensor" in str(error) and ns["t"] == 1


def test_a3_layers_1_and_2_read_the_projected_outputs_and_give_output():
    ns, _ = run(fixed(LOOP))
    lstm, x = ns["lstm"], ns["x"]
    assert lstm.weight_ih_l1.shape == (256, 16) and lstm.weight_ih_l2.shape == (256, 16)
    below = torch.stack(ns["outs"])
    assert below.shape == (7, 5, 16)
    with torch.no_grad():
        for k in (1, 2):
            p = [getattr(lstm, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
            h, c, outs = torch.zeros(5, 16), torch.zeros(5, 64), []
            for t in range(7):
                h, c = ns["step"](below[t], h, c, *p[:4])
                h = h @ p[4].T
                outs.append(h)
            below = torch.stack(outs)
        output, (h_n, c_n) = lstm(x)
    torch.testing.assert_close(below, output)
    torch.testing.assert_close(h, h_n[-1])
    torch.testing.assert_close(c, c_n[-1])


def test_a3_the_students_own_lstm_cell_step_reproduces_the_report():
    """The question suggests question 4's lstm_cell_step as `step`: the reference one gives the same error
    at t = 1 (a version reading hidden_size from h_prev's shape would read the projected 16 instead)."""
    solution = cell_by_id(SOURCE, "lstm_cell_step").source
    ns = {"torch": torch, "nn": nn, "F": torch.nn.functional}
    exec(re.sub(r"^\s*### (BEGIN|END) SOLUTION\n", "", solution, flags=re.M), ns)
    torch.manual_seed(0)
    ns["step"] = ns["lstm_cell_step"]
    with pytest.raises(RuntimeError, match=re.escape("(5x64 and 16x256)")), torch.no_grad():
        exec(compile(LOOP, "<loop>", "exec"), ns)
    assert ns["t"] == 1 and ns["lstm"].hidden_size == 64 and ns["lstm"].proj_size == 16
