"""a5's written question: the facts its question, reference answer and rubric state, executed on the
exact configuration the question asks about (issue 21, point 1).

`nn.LSTM(300, 128, num_layers=2, bidirectional=True, batch_first=True)`, freshly initialised, reading
8 "reviews" of random word vectors with lengths [37, 112, 58, 400, 21, 395, 64, 49], padded with
`pad_sequence` at the end (the student), at the end but read at each review's own last step (teammate 1),
at the front (teammate 2), and packed (the answer).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from nbtools import read

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source" / "a5_bidirectional" / "a5_bidirectional.ipynb"
LENGTHS = [37, 112, 58, 400, 21, 395, 64, 49]
PADDED = [i for i, n in enumerate(LENGTHS) if n <= 350]  # the six short reviews (>= 50 padding steps)
T, H = 400, 128


def make_encoder(num_layers=2):
    torch.manual_seed(0)
    return nn.LSTM(300, H, num_layers=num_layers, bidirectional=True, batch_first=True).eval()


def make_reviews(lengths=LENGTHS):
    torch.manual_seed(1)
    return [torch.randn(n, 300) for n in lengths]


def layer(encoder, k, reverse):
    """Layer k of `encoder`, one direction, as an nn.LSTMCell (the same parameters)."""
    suffix = f"_l{k}" + ("_reverse" if reverse else "")
    cell = nn.LSTMCell(300 if k == 0 else 2 * H, H)
    cell.load_state_dict({name: getattr(encoder, name + suffix) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    return cell


def layer0(encoder):
    """Layer 0 of `encoder` alone, both directions: its output is what layer 1 reads."""
    net = nn.LSTM(300, H, bidirectional=True, batch_first=True).eval()
    net.load_state_dict({k: v for k, v in encoder.state_dict().items() if "_l0" in k})
    return net


@pytest.fixture(scope="module")
def run():
    torch.set_grad_enabled(False)
    encoder, reviews = make_encoder(), make_reviews()
    lengths = torch.tensor(LENGTHS)
    x = pad_sequence(reviews, batch_first=True)
    output, (h_n, _) = encoder(x)
    alone = [encoder(r.unsqueeze(0))[1][0][:, 0] for r in reviews]  # each review read alone: h_n, (4, H)
    yield dict(encoder=encoder, reviews=reviews, lengths=lengths, x=x, output=output, h_n=h_n, alone=alone)
    torch.set_grad_enabled(True)


def question_text():
    cells = [c for c in read(SOURCE).cells if c.metadata.get("nbgrader", {}).get("grade_id") == "part5_question"]
    assert len(cells) == 1
    return cells[0].source


def test_a5_the_printout_in_the_question_is_what_this_configuration_prints(run):
    x, output, lengths = run["x"], run["output"], run["lengths"]
    assert x.shape == (8, T, 300) and output.shape == (8, T, 2 * H)
    assert torch.equal(x[0, 37:], torch.zeros(T - 37, 300)) and T - 37 == 363  # padded at the end
    features = output[:, -1]
    assert features.shape == (8, 256) and nn.Linear(256, 2)(features).shape == (8, 2)
    diff = (features - features[0]).abs().amax(dim=1)
    printed = diff.round(decimals=4)
    text = question_text()
    assert str(lengths) in text and str(printed) in text
    assert torch.equal(printed, torch.tensor([0.0, 0.0, 0.0, 0.1376, 0.0, 0.0211, 0.0, 0.0]))
    # "差别只有浮点误差那么大" for the six short ones, "分类器给它们的 logits 也就一样"
    assert diff[PADDED].max() < 1e-6
    torch.manual_seed(2)
    logits = nn.Linear(256, 2)(features)
    assert torch.allclose(logits[PADDED], logits[0].expand(len(PADDED), 2), atol=1e-6)


def test_a5_part1_the_front_half_read_the_review_then_the_padding_washed_it_out(run):
    output, lengths = run["output"], run["lengths"]
    own_last = output[torch.arange(8), lengths - 1, :H]  # the forward state right after each review
    others = (own_last[PADDED] - own_last[PADDED[0]]).abs().amax(dim=1)
    assert (others[1:] > 0.05).all()  # it did read the reviews: they differ there ...
    front = output[:, -1, :H]
    assert (front[PADDED] - front[0]).abs().max() < 1e-6  # ... and no longer after hundreds of padding steps
    assert (front[3] - front[0]).abs().max() > (front[5] - front[0]).abs().max() > 0.01  # 400: none, 395: 5 steps

    # "影评后面补上 50 步，差别就已小于 1e-6": a 350-token review in the same 400-step batch
    encoder = run["encoder"]
    reviews = make_reviews([37, 350, 400])
    out, _ = encoder(pad_sequence(reviews, batch_first=True))
    assert (out[1, -1] - out[0, -1]).abs().max() < 1e-6 < (out[2, -1] - out[0, -1]).abs().max()

    # "第 0 层在这些位置的输出也一步步趋于相同": what layer 1 reads at the last step
    below, _ = layer0(encoder)(run["x"])
    assert (below[PADDED, -1] - below[0, -1]).abs().max() < 1e-6
    assert (below[3, -1] - below[0, -1]).abs().max() > 0.01


def test_a5_part1_the_back_half_is_one_step_on_what_layer0_gives_at_the_padded_last_step(run):
    encoder, output = run["encoder"], run["output"]
    below, _ = layer0(encoder)(run["x"])
    zeros = torch.zeros(8, H)
    # the top layer's backward half at the last step: one step from zeros on layer 0's output there
    h, _ = layer(encoder, 1, reverse=True)(below[:, -1], (zeros, zeros))
    torch.testing.assert_close(output[:, -1, H:], h)
    # layer 0's backward half there: one step from zeros on a zero vector, the same for every padded review
    h0, _ = layer(encoder, 0, reverse=True)(torch.zeros(8, 300), (zeros, zeros))
    torch.testing.assert_close(below[PADDED, -1, H:], h0[PADDED])
    assert (below[PADDED, -1, H:] - below[0, -1, H:]).abs().max() < 1e-7
    assert (output[PADDED, -1, H:] - output[0, -1, H:]).abs().max() < 1e-6


def test_a5_part2_own_last_step_without_packing_matches_neither_final_state_with_two_layers(run):
    output, lengths, alone = run["output"], run["lengths"], run["alone"]
    gathered = output[torch.arange(8), lengths - 1]
    assert gathered.shape == (8, 256)
    back = (gathered[0, H:] - alone[0][-1]).abs().max()
    front = (gathered[0, :H] - alone[0][-2]).abs().max()
    assert back > 0.1  # "两者差 0.1 以上"
    assert 0.005 < front < 0.02  # "这里约差 0.01": NOT equal
    assert not torch.allclose(gathered[0, :H], alone[0][-2], atol=1e-4)
    # h_alone[-1] sits at step 0 of the alone run, not at its last step
    out_alone, _ = run["encoder"](run["reviews"][0].unsqueeze(0))
    assert torch.equal(out_alone[0, 0, H:], alone[0][-1])
    assert not torch.allclose(out_alone[0, -1, H:], alone[0][-1], atol=1e-4)

    # the path: layer 0's forward half on steps 0..36 is the alone one, its backward half is not
    below, _ = layer0(run["encoder"])(run["x"])
    below_alone, _ = layer0(run["encoder"])(run["reviews"][0].unsqueeze(0))
    assert torch.allclose(below[0, :37, :H], below_alone[0, :, :H], atol=1e-6)
    assert not torch.allclose(below[0, :37, H:], below_alone[0, :, H:], atol=1e-4)

    # "只有一层时，前 128 维才会和 h_alone[-2] 相同（在浮点误差内）"
    one = make_encoder(num_layers=1)
    out1, _ = one(run["x"])
    got1 = out1[torch.arange(8), lengths - 1, :H]
    for i, r in enumerate(run["reviews"]):
        _, (h1, _) = one(r.unsqueeze(0))
        torch.testing.assert_close(got1[i], h1[-2, 0], atol=1e-6, rtol=0)


def test_a5_part3_front_padding_fixes_the_forward_half_and_spoils_h_n_minus_one(run):
    encoder, reviews, alone = run["encoder"], run["reviews"], run["alone"]
    xp = pad_sequence(reviews, batch_first=True, padding_side="left")
    assert torch.equal(xp[0, T - 37:], reviews[0]) and torch.equal(xp[0, :T - 37], torch.zeros(T - 37, 300))
    out, (h_n, _) = encoder(xp)
    front = out[:, -1, :H]
    # the forward half: the whole review, nearly the alone h_n[-2] ("相差不到 1e-5"), and different per review
    for i in range(8):
        assert (front[i] - alone[i][-2]).abs().max() < 1e-5
    assert (front[4] - alone[4][-2]).abs().max() > 1e-7  # the padding did change where it started
    assert ((front[1:] - front[0]).abs().amax(dim=1) > 0.05).all()
    # the back half: still the top backward's first step, not its final state
    below, _ = layer0(encoder)(xp)
    zeros = torch.zeros(8, H)
    h, _ = layer(encoder, 1, reverse=True)(below[:, -1], (zeros, zeros))
    torch.testing.assert_close(out[:, -1, H:], h)
    assert not torch.allclose(out[:, -1, H:], h_n[-1], atol=1e-3)
    # h_n[-1] now ends on the front padding: the six short reviews give nearly the same one again
    assert (h_n[-1][PADDED] - h_n[-1][0]).abs().max() < 1e-6
    assert (h_n[-1][3] - h_n[-1][0]).abs().max() > 0.05 and (h_n[-1][5] - h_n[-1][0]).abs().max() > 0.01
    for i in PADDED:
        assert (h_n[-1][i] - alone[i][-1]).abs().max() > 0.05


def test_a5_part3_packing_the_end_padded_batch_gives_each_reviews_own_final_states(run):
    encoder, x, lengths, alone = run["encoder"], run["x"], run["lengths"], run["alone"]
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, (h_n, _) = encoder(packed)
    features = torch.cat((h_n[-2], h_n[-1]), dim=1)
    assert features.shape == (8, 256)
    for i in range(8):
        torch.testing.assert_close(features[i], torch.cat((alone[i][-2], alone[i][-1])), atol=1e-6, rtol=0)
    # packing a front-padded batch reads each review's first lengths[i] steps: review 0 gets 37 zero vectors
    xp = pad_sequence(run["reviews"], batch_first=True, padding_side="left")
    read_in, read_lengths = pad_packed_sequence(pack_padded_sequence(xp, lengths, batch_first=True, enforce_sorted=False),
                                                batch_first=True)
    assert read_lengths.tolist() == LENGTHS
    for i, n in enumerate(LENGTHS):
        if n < T // 2:
            assert torch.equal(read_in[i, :n], torch.zeros(n, 300))


def test_a5_part3_the_other_accepted_fixes_read_only_the_reviews_own_tokens(run):
    """The rubric also accepts: packing after sorting by length (enforce_sorted=True), and batches of
    equal-length reviews (no padding at all)."""
    encoder, reviews, alone = run["encoder"], run["reviews"], run["alone"]
    order = sorted(range(8), key=lambda i: -LENGTHS[i])
    x_sorted = pad_sequence([reviews[i] for i in order], batch_first=True)
    _, (h_n, _) = encoder(pack_padded_sequence(x_sorted, [LENGTHS[i] for i in order], batch_first=True))
    for row, i in enumerate(order):
        torch.testing.assert_close(h_n[:, row], alone[i], atol=1e-6, rtol=0)
    torch.manual_seed(3)
    same_length = torch.randn(2, 37, 300)
    _, (h_pair, _) = encoder(same_length)
    for i in range(2):
        _, (h_one, _) = encoder(same_length[i:i + 1])
        torch.testing.assert_close(h_pair[:, i], h_one[:, 0], atol=1e-6, rtol=0)
