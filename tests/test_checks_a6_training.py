"""rnnlab.checks.a6_training: correct styles pass, every Chinese hint is earned by the mistake it names,
a mistake without a hint of its own gets the generic message, and the expectations are torch's.

The implementations live here (the package must not hold a solution); each keyword switches on one
classic mistake.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.checks import a6_training as checks
from rnnlab.checks.core import TORCH_HINTS, CheckFailed

from checktools import hint_for

HINTS = checks.HINTS
LOSS, LAST, LAST_TM = checks.check_masked_mean_loss, checks.check_last_valid_output, checks.check_last_valid_output_time_major
DETACH, DETACH_TUPLE, DETACH_NONE = checks.check_detach_state, checks.check_detach_state_tuple, checks.check_detach_state_none
ENCODE, ENCODE_BI = checks.check_encode, checks.check_encode_bidirectional
STEP, NORM = checks.check_clipped_step, checks.check_clipped_step_norm


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread is faster on a shared machine (the grading sandbox uses one too)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def hint(key: str) -> str:
    """The fixed part of a hint (up to its first placeholder), as the student reads it."""
    text = HINTS[key]
    for i, ch in enumerate(text):
        if ch == "{" and text[i:i + 2] != "{{":
            rest = text[text.index("}", i) + 1:]
            return (rest.split("{")[0] if len(text[:i]) < 8 else text[:i]).strip("：，。")
    return text


# ---------------------------------------------------------------- masked_mean_loss

def masked_loss(logits, targets, lengths, **mistake):
    """A correct masked_mean_loss (mask × cross-entropy); each keyword switches on one classic mistake."""
    m = mistake.get
    B, T, C = logits.shape
    lens = lengths if m("raw_lengths") else torch.as_tensor(lengths)
    if m("one_extra"):
        lens = lens + 1
    if m("one_fewer"):
        lens = lens - 1
    mask = torch.arange(T) < lens[:, None]
    if m("no_transpose"):
        per = F.cross_entropy(logits, targets, reduction="none")
    else:
        per = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # (B, T)
    if m("all_positions"):
        return per.mean()
    if m("ignore_zero"):
        return F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1), ignore_index=0)
    if m("modifies_targets"):
        targets[~mask] = -100
        return F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1))
    if m("per_position"):
        return per * mask
    if m("per_sequence"):
        return ((per * mask).sum(1) / lens).mean()
    if m("per_sequence_vector"):
        return (per * mask).sum(1) / lens
    total = (per * mask).sum()
    if m("over_batch"):
        return total / B
    if m("over_all_count"):
        return total / (B * T)
    if m("sum"):
        return total
    loss = total / mask.sum()
    if m("item"):
        return loss.item()
    if m("detach"):
        return loss.detach()
    if m("rewrap"):
        return torch.tensor(loss.item(), requires_grad=True)
    if m("off_by_a_bit"):
        return loss + 0.01
    if m("double"):
        return loss.double()
    return loss


def loss_with(**mistake):
    return lambda logits, targets, lengths: masked_loss(logits, targets, lengths, **mistake)


def loss_packed(logits, targets, lengths):
    lp = pack_padded_sequence(logits, lengths, batch_first=True, enforce_sorted=False).data
    tp = pack_padded_sequence(targets, lengths, batch_first=True, enforce_sorted=False).data
    return F.cross_entropy(lp, tp)


def loss_loop(logits, targets, lengths):
    rows = torch.cat([logits[b, :n] for b, n in enumerate(lengths)])
    wanted = torch.cat([targets[b, :n] for b, n in enumerate(lengths)])
    return F.cross_entropy(rows, wanted)


def loss_ignore_index(logits, targets, lengths):
    T, C = logits.shape[1:]
    pad = torch.arange(T)[None, :] >= torch.as_tensor(lengths)[:, None]
    return F.cross_entropy(logits.reshape(-1, C), targets.masked_fill(pad, -100).reshape(-1))


def loss_gather(logits, targets, lengths):
    mask = (torch.arange(logits.shape[1]) < torch.as_tensor(lengths).unsqueeze(1)).float()
    picked = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -(picked * mask).sum() / mask.sum()


def loss_bool_index(logits, targets, lengths):
    mask = torch.arange(logits.shape[1]) < torch.as_tensor(lengths).view(-1, 1)
    return F.cross_entropy(logits[mask], targets[mask])


@pytest.mark.parametrize("fn", [loss_with(), loss_packed, loss_loop, loss_ignore_index, loss_gather, loss_bool_index],
                         ids=["mask", "packed", "loop", "ignore_index", "gather", "bool_index"])
def test_masked_mean_loss_correct_styles_pass(fn):
    assert "通过" in LOSS(fn)


@pytest.mark.parametrize("mistake, key", [
    ("all_positions", "loss_all_positions"),
    ("over_batch", "loss_over_batch"),
    ("over_all_count", "loss_over_all_count"),
    ("sum", "loss_sum"),
    ("per_sequence", "loss_per_sequence"),
    ("one_extra", "loss_one_extra"),
    ("one_fewer", "loss_one_fewer"),
    ("ignore_zero", "loss_ignore_zero"),
    ("item", "loss_float"),
    ("per_sequence_vector", "loss_shape_per_sequence"),
    ("per_position", "loss_shape_per_position"),
    ("detach", "loss_detached"),
    ("rewrap", "loss_grad"),
    ("no_transpose", "target_size"),
    ("raw_lengths", "lengths_list"),
    ("modifies_targets", "modified_input"),
])
def test_each_masked_mean_loss_mistake_gets_its_hint(mistake, key):
    assert hint(key) in hint_for(LOSS, loss_with(**{mistake: True}))


def test_masked_mean_loss_unknown_mistake_gets_the_generic_message():
    msg = hint_for(LOSS, loss_with(off_by_a_bit=True))
    assert hint("loss_generic") in msg and "结果不对" not in msg
    assert "dtype 是 torch.float64" in hint_for(LOSS, loss_with(double=True))


def test_masked_mean_loss_expectation_is_torchs_on_the_valid_rows():
    for case in checks.loss_cases():
        logits, targets, lengths = case.inputs()
        keep = torch.arange(logits.shape[1]) < torch.as_tensor(lengths)[:, None]
        want = F.cross_entropy(logits.detach()[keep], targets[keep])
        torch.testing.assert_close(checks.loss_by_torch(case), want)
        # the junk at the padding is large: counting it would change the loss by far more than the tolerance
        assert abs(F.cross_entropy(logits.detach().flatten(0, 1), targets.flatten()) - want) > 1


def test_masked_mean_loss_cases_try_every_argument_variant():
    cases = checks.loss_cases()
    assert {c.as_list for c in cases} == {True, False}
    lengths = [c.lengths for c in cases]
    T = [c.sizes[1] for c in cases]
    assert any(ls != sorted(ls, reverse=True) for ls in lengths)            # unsorted
    assert any(1 in ls for ls in lengths)                                   # length 1
    assert any(max(ls) == t for ls, t in zip(lengths, T))                   # a full-length sequence
    assert any(max(ls) < t for ls, t in zip(lengths, T))                    # every sequence padded


# ---------------------------------------------------------------- detach_state

def detach(state, **mistake):
    """A correct detach_state; each keyword switches on one classic mistake."""
    m = mistake.get
    if state is None and not m("none_crash"):
        return () if m("none_value") else None
    if m("none_crash"):
        return state.detach() if isinstance(state, torch.Tensor) else tuple(s.detach() for s in state)
    if isinstance(state, tuple) or (m("len_two") and len(state) == 2):
        if m("only_h"):
            return state[0].detach(), state[1]
        if m("only_c"):
            return state[0], state[1].detach()
        if m("as_list"):
            return [s.detach() for s in state]
        if m("h_only"):
            return state[0].detach()
        if m("three"):
            return state[0].detach(), state[1].detach(), state[1].detach()
        return tuple(detach(s, **mistake) for s in state)
    if m("same"):
        return state
    if m("no_grad"):
        with torch.no_grad():
            return state
    if m("clone"):
        return state.clone()
    if m("times_one"):
        return state * 1
    if m("zeros"):
        return torch.zeros_like(state)
    if m("scaled"):
        return state.detach() * 1.5
    if m("in_place"):
        return state.detach_()
    if m("requires_grad_false"):
        return state.requires_grad_(False)
    if m("method"):
        return state.detach
    return state.detach()


def detach_with(**mistake):
    return lambda state: detach(state, **mistake)


def detach_data(state):
    if state is None:
        return state
    return tuple(s.data for s in state) if isinstance(state, tuple) else state.data


def detach_copy(state):
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if state is not None:
        h, c = state
        return h.detach().clone(), c.detach().clone()


@pytest.mark.parametrize("fn", [detach_with(), detach_data, detach_copy], ids=["detach", "data", "copy"])
def test_detach_state_correct_styles_pass(fn):
    assert "通过" in DETACH(fn) and "通过" in DETACH_TUPLE(fn) and "通过" in DETACH_NONE(fn)


@pytest.mark.parametrize("mistake, check, key", [
    ("same", DETACH, "detach_same"),
    ("no_grad", DETACH, "detach_same"),
    ("clone", DETACH, "detach_clone"),
    ("times_one", DETACH, "detach_attached"),
    ("zeros", DETACH, "detach_zeros"),
    ("scaled", DETACH, "detach_values"),
    ("in_place", DETACH, "detach_inplace"),
    ("requires_grad_false", DETACH, "leaf_requires_grad"),
    ("method", DETACH, "detach_method"),
    ("len_two", DETACH, "detach_tensor_as_tuple"),
    ("only_h", DETACH_TUPLE, "detach_only_h"),
    ("only_c", DETACH_TUPLE, "detach_only_c"),
    ("as_list", DETACH_TUPLE, "detach_tuple_list"),
    ("h_only", DETACH_TUPLE, "detach_tuple_one"),
    ("three", DETACH_TUPLE, "detach_type"),
    ("none_crash", DETACH_NONE, "detach_none_error"),
    ("none_value", DETACH_NONE, "detach_none_value"),
])
def test_each_detach_state_mistake_gets_its_hint(mistake, check, key):
    fn = detach_with(**{mistake: True})
    assert hint(key) in hint_for(check, fn)
    others = {DETACH, DETACH_TUPLE, DETACH_NONE} - {check}
    if mistake not in ("same", "no_grad", "clone", "zeros", "scaled", "in_place", "requires_grad_false", "method",
                       "times_one", "len_two"):
        assert all("通过" in other(fn) for other in others), "a contract item of its own: the others keep their points"


def test_only_one_half_detached_is_named_whichever_half():
    assert "只断开了 h" in hint_for(DETACH_TUPLE, detach_with(only_h=True))
    assert "只断开了 c" in hint_for(DETACH_TUPLE, detach_with(only_c=True))


def test_detach_state_cases_try_every_argument_variant():
    tensors, tuples = checks.state_cases(), checks.tuple_cases()
    assert {c.kind for c in tensors} >= {"RNN", "GRU"} and {c.kind for c in tuples} == {"LSTM"}
    assert any(c.state.shape[0] == 2 for c in tensors)          # len(state) == 2 for a tensor
    assert any(c.state.grad_fn is None for c in tensors)        # a state with no graph
    assert all(c.state.grad_fn is not None for c in tensors if "不在计算图上" not in c.label)
    assert any(h.shape != c.shape for h, c in (t.state for t in tuples))   # proj_size: h and c differ


def test_the_callers_state_is_left_on_its_graph():
    case = checks.state_cases()[0]
    checks.check_detach_state(detach_with())
    assert case.state.grad_fn is not None


# ---------------------------------------------------------------- last_valid_output

def last(output, lengths, batch_first=True, **mistake):
    """A correct last_valid_output (advanced indexing); each keyword switches on one classic mistake."""
    m = mistake.get
    if (not batch_first and not m("ignore_batch_first")) or (batch_first and m("inverted")):
        output = output.transpose(0, 1)
    lens = lengths if m("raw_lengths") else torch.as_tensor(lengths)
    B = len(lengths)
    if m("padded_last"):
        return output[:, -1]
    if m("max_length"):
        return output[:, max(lens) - 1]
    if m("first"):
        return output[:, 0]
    index = lens - 1
    if m("after"):
        index = lens
    if m("before"):
        index = lens - 2
    if m("in_place"):
        output[:, 0] = 0
    result = output[torch.arange(B), index]
    if m("keepdim"):
        result = result.unsqueeze(1)
    if m("detach"):
        result = result.detach()
    if m("tolist"):
        result = torch.tensor(result.tolist())
    if m("off_by_a_bit"):
        result = result + 0.01
    return result


def last_with(**mistake):
    return lambda output, lengths, batch_first=True: last(output, lengths, batch_first, **mistake)


def last_gather(output, lengths, batch_first=True):
    seq = output if batch_first else output.permute(1, 0, 2)
    index = (torch.as_tensor(lengths) - 1).view(-1, 1, 1).expand(-1, 1, seq.shape[2])
    return seq.gather(1, index).squeeze(1)


def last_loop(output, lengths, batch_first=True):
    rows = []
    for b, n in enumerate(lengths):
        rows.append(output[b, n - 1] if batch_first else output[n - 1, b])
    return torch.stack(rows)


def last_one_hot(output, lengths, batch_first=True):
    seq = output if batch_first else output.transpose(0, 1)
    pick = F.one_hot(torch.as_tensor(lengths) - 1, seq.shape[1]).to(seq.dtype)   # (B, T)
    return (seq * pick.unsqueeze(-1)).sum(dim=1)


@pytest.mark.parametrize("fn", [last_with(), last_gather, last_loop, last_one_hot],
                         ids=["index", "gather", "loop", "one_hot"])
def test_last_valid_output_correct_styles_pass(fn):
    assert "通过" in LAST(fn) and "通过" in LAST_TM(fn)


@pytest.mark.parametrize("mistake, check, key", [
    ("padded_last", LAST, "last_padded"),
    ("max_length", LAST, "last_max_length"),
    ("first", LAST, "last_first"),
    ("after", LAST, "last_after"),
    ("before", LAST, "last_before"),
    ("inverted", LAST, "last_batch_major"),
    ("ignore_batch_first", LAST_TM, "last_time_major"),
    ("keepdim", LAST, "last_shape"),
    ("detach", LAST, "last_detached"),
    ("tolist", LAST, "last_detached"),
    ("raw_lengths", LAST, "lengths_list"),
    ("in_place", LAST, "modified_input"),
])
def test_each_last_valid_output_mistake_gets_its_hint(mistake, check, key):
    fn = last_with(**{mistake: True})
    assert hint(key) in hint_for(check, fn)
    if mistake in ("inverted", "ignore_batch_first"):   # batch_first has points of its own
        assert "通过" in (LAST_TM if check is LAST else LAST)(fn)


def test_an_index_past_a_full_length_sequence_is_named():
    """lengths[b] as the index where a sequence fills all T steps: torch's IndexError with the Chinese hint."""
    def past_the_end_when_full(output, lengths, batch_first=True):
        if max(lengths) < output.shape[1]:
            return last(output, lengths, batch_first)
        past = torch.as_tensor(lengths)
        return output[torch.arange(output.shape[0]), past]
    msg = hint_for(LAST, past_the_end_when_full)
    assert hint("last_index_full") in msg and "IndexError" in msg


def test_last_valid_output_gradient_reaches_only_the_last_valid_rows():
    def through_values(output, lengths, batch_first=True):
        got = last(output, lengths, batch_first)
        return got + 0 * output.sum()          # right values, every row gets a (zero) gradient: still right
    assert "通过" in LAST(through_values)

    def values_only(output, lengths, batch_first=True):
        return last(output, lengths, batch_first).detach() + 0 * output.sum()   # on the graph, no gradient through
    assert hint("last_grad") in hint_for(LAST, values_only)


def test_last_valid_output_unknown_mistake_gets_the_generic_message():
    msg = hint_for(LAST, last_with(off_by_a_bit=True))
    assert hint("last_generic") in msg and "结果不对" not in msg


def test_last_valid_output_cases_try_every_argument_variant():
    every = checks.last_cases() + checks.time_major_cases()
    assert {c.batch_first for c in checks.last_cases()} == {True} and {c.batch_first for c in checks.time_major_cases()} == {False}
    assert any(c.defaults for c in every) and {c.as_list for c in every} == {True, False}
    assert any(1 in c.lengths for c in every) and any(c.lengths != sorted(c.lengths, reverse=True) for c in every)
    assert any(max(c.lengths) == c.sizes[1] for c in every) and any(max(c.lengths) < c.sizes[1] for c in every)
    for cases in (checks.last_cases(), checks.time_major_cases()):
        assert any(max(c.lengths) == c.sizes[1] for c in cases) or any(1 in c.lengths for c in cases)


# ---------------------------------------------------------------- encode

def encode(rnn, embedded, lengths, **mistake):
    """A correct encode (packing, enforce_sorted=False, h_n); each keyword switches on one classic mistake."""
    m = mistake.get
    D = 2 if rnn.bidirectional else 1
    if m("raw_lengths"):
        lengths = lengths.cpu()
    if m("no_pack") or m("output_last"):
        output, state = rnn(embedded)
        if m("output_last"):
            return output[:, -1]
    elif m("sort_no_restore"):
        lens = torch.as_tensor(lengths)
        order = torch.sort(lens, descending=True, stable=True).indices
        output, state = rnn(pack_padded_sequence(embedded[order], lens[order], batch_first=True))
    else:
        packed = pack_padded_sequence(embedded, lengths, batch_first=not m("pack_time_major"),
                                      enforce_sorted=bool(m("enforce_sorted")))
        if m("no_grad"):
            with torch.no_grad():
                output, state = rnn(packed)
        else:
            output, state = rnn(packed)
        if m("packed_output_last") or m("output_at_last_valid"):
            padded, lens = pad_packed_sequence(output, batch_first=True)
            if m("packed_output_last"):
                return padded[:, -1]
            return padded[torch.arange(padded.shape[0]), lens - 1]
    if m("tuple_state"):
        return state[-1]          # h_n[-1] with `_, h_n = rnn(packed)`: for nn.LSTM that is all of c_n
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    if m("c_n") and c_n is not None:
        h_n = c_n
    if m("edits_params"):
        with torch.no_grad():
            next(rnn.parameters()).mul_(2)
    if m("first_layer"):
        rows = [h_n[d] for d in range(D)]
    elif m("swapped") and D == 2:
        rows = [h_n[-1], h_n[-2]]
    elif m("last_row_only"):
        rows = [h_n[-1]]
    elif m("always_two_rows"):
        rows = [h_n[-2], h_n[-1]]
    else:
        rows = [h_n[h_n.shape[0] - D + d] for d in range(D)]
    out = torch.cat(rows, dim=1)
    if m("off_by_a_bit"):
        out = out + 0.01
    if m("values_only"):
        out = out.detach() + 0 * sum(p.sum() for p in rnn.parameters())
    return out


def encode_with(**mistake):
    return lambda rnn, embedded, lengths: encode(rnn, embedded, lengths, **mistake)


def encode_alone(rnn, embedded, lengths):
    """Each sequence alone, no padding: a loop."""
    rows = []
    for b, n in enumerate(lengths):
        _, state = rnn(embedded[b:b + 1, :int(n)])
        h_n = state[0] if isinstance(state, tuple) else state
        rows.append(torch.cat((h_n[-2, 0], h_n[-1, 0])) if rnn.bidirectional else h_n[-1, 0])
    return torch.stack(rows)


def encode_sorted_by_hand(rnn, embedded, lengths):
    lens = torch.as_tensor(lengths)
    lens_sorted, order = lens.sort(descending=True)
    _, state = rnn(pack_padded_sequence(embedded[order], lens_sorted, batch_first=True))
    h_n = state[0] if isinstance(state, tuple) else state
    feats = torch.cat((h_n[-2], h_n[-1]), 1) if rnn.bidirectional else h_n[-1]
    return feats[order.argsort()]


def encode_from_packed_output(rnn, embedded, lengths):
    """Forward half at each sequence's last valid step, backward half at step 0 of the unpacked output."""
    out, lens = pad_packed_sequence(rnn(pack_padded_sequence(embedded, lengths, batch_first=True,
                                                             enforce_sorted=False))[0], batch_first=True)
    H = rnn.hidden_size
    fwd = out[torch.arange(out.shape[0]), lens - 1, :H]
    return torch.cat((fwd, out[:, 0, H:]), dim=1) if rnn.bidirectional else fwd


@pytest.mark.parametrize("fn", [encode_with(), encode_alone, encode_sorted_by_hand, encode_from_packed_output],
                         ids=["packed", "alone", "sorted_by_hand", "packed_output"])
def test_encode_correct_styles_pass(fn):
    assert "通过" in ENCODE(fn) and "通过" in ENCODE_BI(fn)


@pytest.mark.parametrize("mistake, check, key", [
    ("no_pack", ENCODE, "enc_no_pack"),
    ("no_pack", ENCODE_BI, "enc_no_pack_bi"),
    ("output_last", ENCODE, "enc_no_pack"),
    ("output_last", ENCODE_BI, "enc_output_last"),
    ("packed_output_last", ENCODE, "enc_output_last"),
    ("output_at_last_valid", ENCODE_BI, "enc_backward_one_step"),
    ("swapped", ENCODE_BI, "enc_swapped"),
    ("first_layer", ENCODE, "enc_first_layer"),
    ("c_n", ENCODE, "enc_c_n"),
    ("sort_no_restore", ENCODE, "enc_sorted_order"),
    ("enforce_sorted", ENCODE, "enforce_sorted"),
    ("pack_time_major", ENCODE, "pack_batch_first"),
    ("last_row_only", ENCODE_BI, "enc_shape_bi_half"),
    ("tuple_state", ENCODE, "enc_shape_3d"),
    ("no_grad", ENCODE, "enc_detached"),
    ("edits_params", ENCODE, "enc_params_changed"),
    ("raw_lengths", ENCODE, "lengths_list"),
    ("always_two_rows", ENCODE, "enc_uni"),
    ("values_only", ENCODE, "enc_grad"),
])
def test_each_encode_mistake_gets_its_hint(mistake, check, key):
    assert hint(key) in hint_for(check, encode_with(**{mistake: True}))


def test_bidirectional_mistakes_keep_the_one_direction_points():
    for mistake in ("output_at_last_valid", "swapped", "last_row_only"):
        assert "通过" in ENCODE(encode_with(**{mistake: True})), mistake


def test_encode_unknown_mistake_gets_the_generic_message():
    msg = hint_for(ENCODE, encode_with(off_by_a_bit=True))
    assert hint("enc_generic") in msg and "单独（不补齐）" in msg and "结果不对" not in msg
    assert hint("case_new") not in hint_for(ENCODE_BI, encode_with(off_by_a_bit=True))


def test_encode_expectation_is_each_sequence_alone():
    for case in checks.encode_cases() + checks.bidirectional_cases():
        want = checks.features_by_torch(case)
        with torch.no_grad():
            got = encode_alone(case.rnn, case.embedded(), case.lengths)
        torch.testing.assert_close(got, want)
        # the junk at the padding matters: reading it changes the features
        with torch.no_grad():
            _, state = case.rnn(case.embedded())
        h = state[0] if isinstance(state, tuple) else state
        assert not torch.allclose(h[-1], want[:, -case.rnn.hidden_size:] if not case.rnn.bidirectional
                                  else want[:, case.rnn.hidden_size:], atol=1e-3)


def test_encode_cases_try_every_argument_variant():
    uni, bi = checks.encode_cases(), checks.bidirectional_cases()
    for cases in (uni, bi):
        assert {type(c.rnn).__name__ for c in cases} == {"RNN", "GRU", "LSTM"}
        assert {c.rnn.num_layers for c in cases} >= {1, 2, 3}
        assert {c.as_list for c in cases} == {True, False}
        assert any(c.lengths != sorted(c.lengths, reverse=True) for c in cases)
        assert any(c.lengths == sorted(c.lengths, reverse=True) for c in cases)
        assert all(c.rnn.batch_first for c in cases)
    assert not any(c.rnn.bidirectional for c in uni) and all(c.rnn.bidirectional for c in bi)
    every = uni + bi
    T = lambda c: c.lengths[0] + c.junk[0].shape[0]  # noqa: E731
    assert any(1 in c.lengths for c in every) and any(max(c.lengths) == T(c) for c in every)
    assert any(max(c.lengths) < T(c) for c in every)
    assert all(len(c.lengths) != T(c) for c in every)   # B != T: packing with the wrong batch_first raises


def test_the_rnn_passed_in_is_a_copy_and_stays_untouched():
    case = checks.encode_cases()[0]
    before = {n: p.detach().clone() for n, p in case.rnn.named_parameters()}
    with pytest.raises(CheckFailed, match="修改了 rnn 的参数"):
        checks.run_encode(encode_with(edits_params=True), case)
    assert all(torch.equal(p.detach(), before[n]) for n, p in case.rnn.named_parameters())


# ---------------------------------------------------------------- clipped_step

def step(parameters, optimizer, loss, max_norm, **mistake):
    """A correct clipped_step; each keyword switches on one classic mistake."""
    m = mistake.get
    clip = torch.nn.utils.clip_grad_norm_
    if m("grad_zero_on_none"):
        for p in parameters:
            p.grad.zero_()
    elif not m("not_zeroed") and not m("zero_after_backward"):
        optimizer.zero_grad()
    norm = None
    if m("clip_before_backward"):
        norm = clip(parameters, max_norm)
    loss.backward()
    if m("backward_twice"):
        loss.backward()
    if m("zero_after_backward"):
        optimizer.zero_grad()
    if m("per_parameter"):
        norm = clip(parameters, float("inf"))
        for p in parameters:
            clip([p], max_norm)
    elif m("clip_value"):
        norm = clip(parameters, float("inf"))
        torch.nn.utils.clip_grad_value_(parameters, max_norm)
    elif not m("no_clip") and not m("clip_before_backward") and not m("clip_after_step"):
        norm = clip(parameters, max_norm)
    elif m("no_clip"):
        norm = clip(parameters, float("inf"))
    if not m("no_step"):
        optimizer.step()
    if m("clip_after_step"):
        norm = clip(parameters, max_norm)
    if m("norm_after"):
        norm = clip(parameters, float("inf"))
    if m("returns_tensor"):
        return norm
    if m("returns_none"):
        return None
    if m("squared"):
        return float(norm) ** 2
    return float(norm)


def step_with(**mistake):
    return lambda parameters, optimizer, loss, max_norm: step(parameters, optimizer, loss, max_norm, **mistake)


def step_by_hand(parameters, optimizer, loss, max_norm):
    """Zeroing, the norm and the scaling written out."""
    for p in parameters:
        p.grad = None
    loss.backward()
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in parameters))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in parameters:
            p.grad.mul_(scale)
    optimizer.step()
    return total.item()


def step_set_to_zero(parameters, optimizer, loss, max_norm):
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm=max_norm)
    optimizer.step()
    return norm.item()


@pytest.mark.parametrize("fn", [step_with(), step_by_hand, step_set_to_zero], ids=["torch", "by_hand", "zero_tensors"])
def test_clipped_step_correct_styles_pass(fn):
    assert "通过" in STEP(fn) and "通过" in NORM(fn)


@pytest.mark.parametrize("mistake, check, key", [
    ("not_zeroed", STEP, "clip_not_zeroed"),
    ("not_zeroed", NORM, "norm_not_zeroed"),
    ("no_clip", STEP, "clip_no_effect"),
    ("clip_after_step", STEP, "clip_after_step"),
    ("clip_before_backward", STEP, "clip_before_backward"),
    ("clip_before_backward", NORM, "norm_before_backward"),
    ("zero_after_backward", STEP, "clip_zero_after_backward"),
    ("no_step", STEP, "clip_no_step"),
    ("per_parameter", STEP, "clip_per_parameter"),
    ("clip_value", STEP, "clip_value"),
    ("grad_zero_on_none", STEP, "clip_grad_none"),
    ("backward_twice", STEP, "backward_twice"),
    ("norm_after", NORM, "norm_after"),
    ("returns_tensor", NORM, "norm_tensor"),
    ("returns_none", NORM, "norm_none"),
])
def test_each_clipped_step_mistake_gets_its_hint(mistake, check, key):
    assert hint(key) in hint_for(check, step_with(**{mistake: True}))


@pytest.mark.parametrize("mistake, lost", [("norm_after", NORM), ("returns_tensor", NORM), ("clip_after_step", STEP),
                                           ("no_clip", STEP), ("no_step", STEP)])
def test_the_update_and_the_norm_are_scored_apart(mistake, lost):
    fn = step_with(**{mistake: True})
    assert "通过" in (STEP if lost is NORM else NORM)(fn)


def test_clipped_step_unknown_mistakes_get_the_generic_messages():
    msg = hint_for(NORM, step_with(squared=True))
    assert hint("norm_generic") in msg and "裁剪之后" not in msg

    def twice(parameters, optimizer, loss, max_norm):
        norm = step(parameters, optimizer, loss, max_norm)
        optimizer.step()
        return norm
    msg = hint_for(STEP, twice)
    assert hint("clip_generic") in msg and "结果像是" not in msg


def test_clipped_step_expectations_are_autograd_the_clip_formula_and_the_optimizer():
    for case in checks.clip_cases():
        want = checks.clip_by_torch(case)
        model, x, y, _ = case.build()
        opt = case.optimizer(model)
        opt.zero_grad()
        case.loss(model, x, y).backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), case.max_norm)
        opt.step()
        assert abs(float(norm) - want.norm) < 1e-4 * want.norm
        for p, w in zip(model.parameters(), want.params):
            torch.testing.assert_close(p.detach(), w)


def test_clipped_step_cases_try_every_argument_variant():
    cases = checks.clip_cases()
    norms = [checks.clip_by_torch(c).norm for c in cases]
    assert any(n > c.max_norm for n, c in zip(norms, cases)) and any(n < c.max_norm for n, c in zip(norms, cases))
    assert {c.junk for c in cases} == {True, False}             # stale gradients, and the first step (None)
    assert {c.momentum > 0 for c in cases} == {True, False}
    assert any(isinstance(c.max_norm, int) for c in cases)
    assert {c.kind for c in cases} == {"RNN", "GRU", "LSTM"}


# ---------------------------------------------------------------- every check

ALL = [(LOSS, masked_loss), (DETACH, detach), (DETACH_TUPLE, detach), (DETACH_NONE, detach), (LAST, last),
       (LAST_TM, last), (ENCODE, encode), (ENCODE_BI, encode), (STEP, step), (NORM, step)]


def test_not_implemented_is_reported_by_every_check():
    def stub(*args, **kwargs):
        raise NotImplementedError()
    for check, _ in ALL:
        assert "还没有实现" in hint_for(check, stub)


def test_the_checks_leave_the_global_rng_alone():
    torch.manual_seed(123)
    a = torch.rand(1)
    torch.manual_seed(123)
    for check, fn in ALL:
        check(fn)
    assert torch.equal(torch.rand(1), a)


def test_comparisons_survive_monkeypatched_torch(monkeypatch):
    def sneaky(logits, targets, lengths):
        monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)
        monkeypatch.setattr(torch, "equal", lambda *a, **k: True)
        monkeypatch.setattr(torch.Tensor, "__eq__", lambda *a, **k: True)
        return masked_loss(logits, targets, lengths) * 0
    with pytest.raises(CheckFailed):
        LOSS(sneaky)


def test_every_hint_is_tested_here():
    """Each key of HINTS is named by a test above (a message nobody can earn is a message nobody checked)."""
    import inspect
    import sys
    source = inspect.getsource(sys.modules[__name__])
    missing = [k for k in HINTS if f'"{k}"' not in source]
    assert not missing, missing


def test_shape_and_type_messages():
    assert hint("loss_shape") in hint_for(LOSS, loss_with(per_sequence_vector=True))
    assert hint("enc_shape") in hint_for(ENCODE_BI, encode_with(last_row_only=True))
    assert hint("norm_type") in hint_for(NORM, lambda *a: str(step(*a)))
    assert hint("detach_type") in hint_for(DETACH, lambda state: None)
    assert hint("case_new") in hint_for(LOSS, lambda logits, targets, lengths: masked_loss(logits, targets, lengths)
                                        + (0.5 if logits.shape[0] == 5 else 0))
    assert TORCH_HINTS["index"][1] not in hint_for(LAST, last_with(after=True))


def test_zero_grad_after_backward_gets_a_norm_hint_that_names_it():
    """A norm of 0 also comes from backward, zero_grad, then clip: the hint names both causes, not only
    "clipped before backward"."""
    msg = hint_for(NORM, step_with(zero_after_backward=True))
    assert "backward 之后又把梯度清零" in msg


def test_an_index_error_gets_a_layout_or_off_by_one_hint_only_when_torch_says_which():
    """Right layout, lengths[b] used without − 1: not told it swapped the layout; a layout swap still is."""
    def off_by_one(output, lengths, batch_first=True):
        lengths = torch.as_tensor(lengths)
        if batch_first:
            return output[torch.arange(output.shape[0]), lengths]
        return output[lengths, torch.arange(output.shape[1])]

    msg = hint_for(LAST_TM, off_by_one)
    assert "IndexError" in msg and hint("last_time_major") not in msg

    def unknown(output, lengths, batch_first=True):
        return output[torch.arange(output.shape[0] + 7)][:, 0]

    assert hint("last_time_major") not in hint_for(LAST_TM, unknown)
