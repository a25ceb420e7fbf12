"""a6's written question: the facts its reference answer and rubric state, executed on the exact code the
question shows (read from the source notebook) and the log it prints.

A tagger (nn.Embedding → nn.GRU → nn.Linear) trained with SGD(lr=0.5) and clip_grad_norm_(max_norm=1.0);
the loss averages each sentence first (sum / lengths), and the batch of step 140 holds an empty sentence.
"""

from __future__ import annotations

import contextlib
import io
import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from conftest import REPO
from nbtools import read

V, C, B, STEPS, EMPTY_STEP = 20, 5, 8, 160, 140


def question_cell() -> str:
    nb = read(REPO / "source" / "a6_training" / "a6_training.ipynb")
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "part6_question")


QUESTION = question_cell()
CODE = re.search(r"```python\n(.*?)```", QUESTION, re.S).group(1)
LOG = re.search(r"```\n(step .*?)```", QUESTION, re.S).group(1).strip().splitlines()
IMPORT = "from torch.nn.utils import clip_grad_norm_\n"


def batches() -> list:
    """The data: sentences of 1 to 12 tokens (1-19; 0 pads), the tag of a token is the previous token mod 5;
    one empty sentence, the fourth of step 140's batch."""
    g = torch.Generator().manual_seed(6)
    lengths = torch.randint(1, 13, (B * STEPS,), generator=g)
    lengths[EMPTY_STEP * B + 3] = 0
    sentences = [torch.randint(1, V, (int(n),), generator=g) for n in lengths]
    tags = [F.pad(s, (1, 0))[:-1] % C for s in sentences]
    return [(pad_sequence(sentences[k * B:(k + 1) * B], batch_first=True),
             pad_sequence(tags[k * B:(k + 1) * B], batch_first=True), lengths[k * B:(k + 1) * B].clone())
            for k in range(STEPS)]


class Run:
    """The question's code executed as shown (one line may be edited), with what happened at every step."""

    def __init__(self, code: str = CODE):
        assert IMPORT in code
        self.lines, self.params_before, self.clip_calls = [], [], []
        self.error: Exception | None = None
        ns: dict = {"torch": torch, "nn": nn, "F": F}

        def feed():
            for batch in batches():
                if "model" in ns:
                    self.params_before.append([p.detach().clone() for p in ns["model"].parameters()])
                yield batch

        def clip_grad_norm_(parameters, *args, **kwargs):
            parameters = list(parameters)
            before = [p.grad.clone() for p in parameters]
            norm = torch.nn.utils.clip_grad_norm_(parameters, *args, **kwargs)
            self.clip_calls.append((before, norm, [p.grad.clone() for p in parameters]))
            return norm

        ns.update(batches=feed(), clip_grad_norm_=clip_grad_norm_, print=lambda *a: self.lines.append(" ".join(a)))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        torch.manual_seed(0)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code.replace(IMPORT, ""), "<a6 written question>", "exec"), ns)
        except (RuntimeError, AssertionError) as e:
            self.error = e
        finally:
            torch.set_num_threads(threads)
        self.model = ns["model"]
        self.losses = [float(line.split()[3]) for line in self.lines]
        self.norms = [float(line.split()[5]) for line in self.lines]


def edited(old: str, new: str) -> str:
    assert CODE.count(old) == 1, old
    return CODE.replace(old, new)


@pytest.fixture(scope="module")
def run() -> Run:
    return Run()


def test_the_log_in_the_question_is_what_its_code_prints(run):
    assert len(run.lines) == STEPS and len(LOG) == 13
    for shown in LOG:
        step = int(shown.split()[1])
        got = run.lines[step].split()
        want = shown.split()
        assert got[:3] == want[:3] and got[4] == want[4], (shown, run.lines[step])
        for i in (3, 5):
            if want[i] == "nan":
                assert got[i] == "nan", (shown, run.lines[step])
            else:
                assert abs(float(got[i]) - float(want[i])) <= 2e-3, (shown, run.lines[step])


def test_before_the_nan_the_norms_stay_small_and_do_not_grow(run):
    shown = [float(line.split()[5]) for line in LOG if int(line.split()[1]) < EMPTY_STEP]
    assert all(0.25 <= n <= 0.55 for n in shown)                    # "日志里 … 都在 0.25 到 0.55 之间"
    before = run.norms[:EMPTY_STEP]
    assert all(0.2 <= n < 0.7 for n in before)                      # the whole run: below 0.7, never max_norm
    assert max(before[-10:]) < 2 * min(before[:10])                 # no growth towards the nan
    assert all(math.isfinite(x) for x in run.losses[:EMPTY_STEP])
    assert math.isnan(run.losses[EMPTY_STEP]) and math.isnan(run.norms[EMPTY_STEP])


def test_the_nan_is_born_in_the_forward_pass_of_step_140(run):
    """Step 139 moved the (finite) parameters by lr × its norm (no clipping: norm < max_norm); step 140's loss,
    computed before that step's backward and update, is already nan."""
    p139, p140 = run.params_before[139], run.params_before[140]
    assert all(torch.isfinite(p).all() for p in p140)
    moved = torch.linalg.vector_norm(torch.cat([(a - b).flatten() for a, b in zip(p140, p139)])).item()
    before, norm, _ = run.clip_calls[139]
    assert norm.item() < 1.0
    assert abs(moved - 0.5 * norm.item()) < 1e-4 and abs(0.5 * 0.300 - moved) < 1e-3   # "lr × 0.300 = 0.15"


def test_a_smaller_max_norm_gives_the_nan_at_the_same_step(run):
    small = Run(edited("max_norm=1.0", "max_norm=0.1"))
    assert all(math.isfinite(x) for x in small.losses[:EMPTY_STEP])
    assert math.isnan(small.losses[EMPTY_STEP])
    assert small.losses[139] > run.losses[139] + 0.1                # smaller updates: the loss falls more slowly


def test_clipping_spreads_the_nan_to_every_gradient_and_every_parameter(run):
    before, norm, after = run.clip_calls[EMPTY_STEP]
    names = [n for n, _ in run.model.named_parameters()]
    grads = dict(zip(names, before))
    assert torch.isfinite(grads["embed.weight"]).all()              # finite before clipping
    assert torch.isnan(grads["out.weight"]).any() and torch.isnan(grads["gru.weight_hh_l0"]).any()
    assert math.isnan(norm.item())                                  # clip_grad_norm_ returns nan
    assert all(torch.isnan(g).all() for g in after)                 # every element of every gradient
    assert all(torch.isnan(p).all() for p in run.params_before[EMPTY_STEP + 1])   # after opt.step()
    x = batches()[EMPTY_STEP][0]
    absent = [t for t in range(V) if not (x == t).any()]
    embed_after = dict(zip(names, run.params_before[EMPTY_STEP + 1]))["embed.weight"]
    assert absent and torch.isnan(embed_after[absent]).all()        # rows of tokens this batch never showed
    assert all(math.isnan(x) for x in run.losses[EMPTY_STEP:])      # never comes back


def test_the_empty_sentence_makes_the_per_sentence_mean_zero_over_zero(run):
    x, y, lengths = batches()[EMPTY_STEP]
    assert lengths.tolist() == [6, 2, 4, 0, 9, 6, 6, 2]             # as the question prints it
    assert x.min() >= 0 and x.max() <= 19 and (x[3] == 0).all()
    model = run.model
    with torch.no_grad():
        for p, q in zip(model.parameters(), run.params_before[EMPTY_STEP]):
            p.copy_(q)                                              # the finite parameters step 140 started from
    per_token = F.cross_entropy(model(x).transpose(1, 2), y, reduction="none")
    per_token.retain_grad()
    mask = torch.arange(x.shape[1]) < lengths[:, None]
    assert not mask[3].any()
    sums = (per_token * mask).sum(dim=1)
    per_sentence = sums / lengths
    assert sums[3].item() == 0.0 and math.isnan(per_sentence[3].item())
    assert torch.isfinite(per_sentence[torch.arange(B) != 3]).all()
    per_sentence.mean().backward()
    assert torch.isnan(per_token.grad[3]).all() and torch.isfinite(per_token.grad[torch.arange(B) != 3]).all()
    # The mean over every valid position of the batch (the assignment's masked_mean_loss) is finite here.
    total = (per_token * mask).sum() / mask.sum()
    torch.testing.assert_close(total, F.cross_entropy(model(x)[mask], y[mask]))


LOSS_LINE = "    loss = ((per_token * mask).sum(dim=1) / lengths).mean()   # 每句先求平均，再对批量求平均\n"


@pytest.mark.parametrize("old, new", [
    (LOSS_LINE, "    loss = (per_token * mask).sum() / mask.sum()\n"),
    (LOSS_LINE, "    loss = ((per_token * mask).sum(dim=1) / lengths.clamp(min=1)).mean()\n"),
    ("    logits = model(x)\n", "    keep = lengths > 0\n    x, y, lengths = x[keep], y[keep], lengths[keep]\n"
                              "    logits = model(x)\n"),
], ids=["mean_over_valid_positions", "clamp", "drop_empty_sentences"])
def test_removing_the_cause_keeps_the_whole_run_finite(old, new):
    fixed = Run(edited(old, new))
    assert len(fixed.losses) == STEPS and all(math.isfinite(x) for x in fixed.losses)
    assert all(torch.isfinite(p).all() for p in fixed.model.parameters())


def test_skipping_a_non_finite_loss_keeps_the_parameters_finite():
    guarded = Run(edited("    opt.zero_grad()\n", "    if not torch.isfinite(loss):\n        continue\n    opt.zero_grad()\n"))
    assert len(guarded.losses) == STEPS - 1 and all(math.isfinite(x) for x in guarded.losses)
    assert all(torch.isfinite(p).all() for p in guarded.model.parameters())


def test_error_if_nonfinite_stops_at_step_140_before_the_parameters_are_touched():
    stopped = Run(edited("max_norm=1.0)", "max_norm=1.0, error_if_nonfinite=True)"))
    assert isinstance(stopped.error, RuntimeError) and "non-finite" in str(stopped.error)
    assert len(stopped.lines) == EMPTY_STEP                          # steps 0-139 printed, then the error
    assert all(torch.isfinite(p).all() for p in stopped.model.parameters())


def test_asserting_non_empty_sentences_stops_at_step_140():
    stopped = Run(edited("    logits = model(x)\n", "    assert lengths.min() > 0\n    logits = model(x)\n"))
    assert isinstance(stopped.error, AssertionError) and len(stopped.lines) == EMPTY_STEP


def test_the_embedding_gradient_is_finite_because_padding_idx_keeps_the_pad_row_out(run):
    """Without padding_idx the empty sentence's nan would reach row 0 of the embedding's gradient too."""
    x, y, lengths = batches()[EMPTY_STEP]
    model = run.model
    with torch.no_grad():
        for p, q in zip(model.parameters(), run.params_before[EMPTY_STEP]):
            p.copy_(q)
    for padding_idx, nan_in_row_0 in ((0, False), (None, True)):
        model.zero_grad()
        model.embed.padding_idx = padding_idx
        per_token = F.cross_entropy(model(x).transpose(1, 2), y, reduction="none")
        mask = torch.arange(x.shape[1]) < lengths[:, None]
        ((per_token * mask).sum(dim=1) / lengths).mean().backward()
        grad = model.embed.weight.grad
        assert bool(torch.isnan(grad[0]).any()) == nan_in_row_0 and torch.isfinite(grad[1:]).all()
    model.embed.padding_idx = 0


def test_packing_refuses_an_empty_sentence():
    x, _, lengths = batches()[EMPTY_STEP]
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(nn.Embedding(V, 4)(x), lengths, batch_first=True, enforce_sorted=False)
