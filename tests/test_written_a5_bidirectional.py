"""a5's written question: the facts its reference answer and rubric state, executed on the exact
configuration the question asks about (issue 21, point 1).

`nn.LSTM(300, 128, num_layers=2, bidirectional=True, batch_first=True)`.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

B, T = 3, 7


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return nn.LSTM(300, 128, num_layers=2, bidirectional=True, batch_first=True).eval()


def run(encoder, x):
    with torch.no_grad():
        return encoder(x)


def test_a5_output_minus_one_is_the_last_sample_over_all_time_steps(encoder):
    x = torch.randn(B, T, 300)
    output, (h_n, c_n) = run(encoder, x)
    assert output[-1].shape == (T, 256) and nn.Linear(256, 2)(output[-1]).shape == (T, 2)
    assert h_n.shape == (4, B, 128)


def test_a5_the_backward_half_at_the_last_step_took_one_step_of_the_top_layer(encoder):
    """Its input is only layer 0's output at the last step: one LSTMCell step from zeros."""
    x = torch.randn(B, T, 300)
    output, _ = run(encoder, x)
    layer0 = nn.LSTM(300, 128, bidirectional=True, batch_first=True)
    layer0.load_state_dict({k: v for k, v in encoder.state_dict().items() if "_l0" in k})
    cell = nn.LSTMCell(256, 128)
    cell.load_state_dict({k.replace("_l1_reverse", ""): v for k, v in encoder.state_dict().items() if "_l1_reverse" in k})
    with torch.no_grad():
        below, _ = layer0(x)
        h, _ = cell(below[:, -1])
    torch.testing.assert_close(output[:, -1, 128:], h)


def test_a5_with_two_layers_the_backward_half_still_depends_on_the_first_token(encoder):
    """Changing only the first token changes output[:, -1, 128:] (through layer 0's forward
    direction); with one layer it would not: there it read only the last token."""
    x = torch.randn(B, T, 300)
    y = x.clone()
    y[:, 0] += 1.0
    (out_x, _), (out_y, _) = run(encoder, x), run(encoder, y)
    assert not torch.allclose(out_x[:, -1, 128:], out_y[:, -1, 128:])

    torch.manual_seed(1)
    one_layer = nn.LSTM(300, 128, bidirectional=True, batch_first=True).eval()
    (one_x, _), (one_y, _) = run(one_layer, x), run(one_layer, y)
    assert torch.equal(one_x[:, -1, 128:], one_y[:, -1, 128:])


def test_a5_h_n_holds_the_top_layers_two_final_states_and_output_minus_one_does_not(encoder):
    x = torch.randn(B, T, 300)
    output, (h_n, _) = run(encoder, x)
    assert torch.equal(output[:, -1, :128], h_n[-2])  # forward, after reading the whole review
    assert torch.equal(output[:, 0, 128:], h_n[-1])  # backward, after reading back to the first token
    assert not torch.allclose(output[:, -1, 128:], h_n[-1])  # the summary the classifier never sees
    features = torch.cat((h_n[-2], h_n[-1]), dim=1)
    assert features.shape == (B, 256)
    assert torch.equal(features, torch.cat((output[:, -1, :128], output[:, 0, 128:]), dim=1))
