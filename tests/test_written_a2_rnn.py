"""a2's written question (written_h_n_view): the facts its reference answer and rubric state, executed
on the exact configuration the question asks about (issue 21, point 1).

`nn.RNN(8, 32, num_layers=2, batch_first=True)`, `nn.Linear(64, 5)`, x of shape (16, 50, 8), and
`feats = h_n.view(16, -1)` meant as each sequence's two final states side by side.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

B, T, L, H = 16, 50, 2, 32


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return nn.RNN(8, H, num_layers=L, batch_first=True), nn.Linear(64, 5)


def final_states(rnn, x):
    with torch.no_grad():
        return rnn(x)[1]


def test_a2_the_bug_report_runs_without_an_error_and_prints_these_shapes(model):
    rnn, head = model
    x = torch.randn(B, T, 8)
    with torch.no_grad():
        output, h_n = rnn(x)
        feats = h_n.view(16, -1)
        logits = head(feats)
    assert (h_n.shape, feats.shape, logits.shape) == ((2, 16, 32), (16, 64), (16, 5))
    assert h_n.numel() == 2 * 16 * 32 == 1024 == 16 * 64


def test_a2_h_n_is_stored_layer_by_layer_then_sequence_by_sequence(model):
    rnn, _ = model
    h_n = final_states(rnn, torch.randn(B, T, 8))
    assert h_n.is_contiguous() and h_n.stride() == (16 * 32, 32, 1)
    assert torch.equal(h_n.flatten()[:16 * 32], h_n[0].flatten())  # first layer 0's 16 sequences, then layer 1's


def test_a2_each_row_of_the_view_is_one_layer_of_two_sequences(model):
    rnn, _ = model
    h_n = final_states(rnn, torch.randn(B, T, 8))
    feats = h_n.view(16, -1)
    assert torch.equal(feats[0], torch.cat([h_n[0, 0], h_n[0, 1]]))  # layer 0, sequences 0 and 1
    assert torch.equal(feats[8], torch.cat([h_n[1, 0], h_n[1, 1]]))  # layer 1, sequences 0 and 1
    for i in range(8):
        assert torch.equal(feats[i], torch.cat([h_n[0, 2 * i], h_n[0, 2 * i + 1]]))
        assert torch.equal(feats[8 + i], torch.cat([h_n[1, 2 * i], h_n[1, 2 * i + 1]]))
    right = torch.cat([h_n[0], h_n[1]], dim=1)
    assert not torch.equal(feats, right)
    assert not torch.allclose(feats[5], right[5])


def test_a2_only_rows_0_and_15_use_their_own_sequence(model):
    """Changing one sequence changes the rows that hold it: its own row only for sequences 0 and 15;
    for sequence 5 that is rows 2 and 10, and row 5 stays as it was."""
    rnn, _ = model
    x = torch.randn(B, T, 8)
    before = final_states(rnn, x).view(16, -1)
    rows_of = {}
    for i in range(B):
        y = x.clone()
        y[i] += 1.0
        after = final_states(rnn, y).view(16, -1)
        rows_of[i] = {r for r in range(16) if not torch.equal(after[r], before[r])}
    assert [i for i in range(B) if i in rows_of[i]] == [0, 15]
    assert rows_of[5] == {2, 10}
    assert rows_of[0] == {0, 8} and rows_of[15] == {7, 15}


def test_a2_with_one_sequence_the_view_is_the_concatenation(model):
    rnn, _ = model
    h_n = final_states(rnn, torch.randn(1, T, 8))
    assert h_n.shape == (2, 1, 32)
    assert torch.equal(h_n.view(1, -1), torch.cat([h_n[0], h_n[1]], dim=1))
    # one sequence: (layer, batch) and (batch, layer) are the same numbers in the same order
    assert torch.equal(h_n.flatten(), h_n.transpose(0, 1).flatten())
    # more than one sequence: no longer (already with two)
    h_two = final_states(rnn, torch.randn(2, T, 8))
    assert not torch.equal(h_two.view(2, -1), torch.cat([h_two[0], h_two[1]], dim=1))


def test_a2_the_right_features_are_each_sequences_two_layers(model):
    rnn, _ = model
    h_n = final_states(rnn, torch.randn(B, T, 8))
    right = torch.cat([h_n[0], h_n[1]], dim=1)
    assert right.shape == (16, 64)
    for i in range(B):
        assert torch.equal(right[i], torch.cat([h_n[0, i], h_n[1, i]]))
    for other in (h_n.transpose(0, 1).reshape(16, -1), h_n.permute(1, 0, 2).reshape(16, -1),
                  h_n.transpose(0, 1).reshape(h_n.shape[1], -1), h_n.transpose(0, 1).contiguous().view(16, -1)):
        assert torch.equal(other, right)


def test_a2_view_after_transpose_raises_and_reshape_copies(model):
    rnn, _ = model
    h_n = final_states(rnn, torch.randn(B, T, 8))
    swapped = h_n.transpose(0, 1)
    # transpose moves no data: same storage, strides swapped, no longer contiguous
    assert swapped.data_ptr() == h_n.data_ptr() and swapped.stride() == (32, 512, 1) and not swapped.is_contiguous()
    with pytest.raises(RuntimeError, match=r"view size is not compatible with input tensor's size and stride.*"
                                           r"Use \.reshape"):
        swapped.view(16, -1)
    # view never copies (the wrong view shares h_n's storage); reshape here has to copy
    assert h_n.view(16, -1).data_ptr() == h_n.data_ptr()
    assert swapped.reshape(16, -1).data_ptr() != h_n.data_ptr()
