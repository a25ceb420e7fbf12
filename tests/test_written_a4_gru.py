"""a4's written question: the facts its reference answer and rubric state, executed (issue 21, point 1).

A student's d2l-style GRU candidate against PyTorch's.
"""

from __future__ import annotations

import torch
from torch import nn


def d2l_candidate(cell, x, h, r):
    """The student's candidate: r applied before the matrix product, b_hn merged into one bias."""
    W_in, W_hn = cell.weight_ih.chunk(3, 0)[2], cell.weight_hh.chunk(3, 0)[2]
    b = (cell.bias_ih.chunk(3)[2] + cell.bias_hh.chunk(3)[2]) if cell.bias else 0
    return torch.tanh(x @ W_in.T + (r * h) @ W_hn.T + b)


def pytorch_candidate(cell, x, h, r):
    W_in, W_hn = cell.weight_ih.chunk(3, 0)[2], cell.weight_hh.chunk(3, 0)[2]
    b_in, b_hn = (cell.bias_ih.chunk(3)[2], cell.bias_hh.chunk(3)[2]) if cell.bias else (0, 0)
    return torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))


def test_a4_zero_state_without_bias_hides_the_difference_within_float_error():
    """The question's first test: GRUCell(4, 3, bias=False), h_prev all zeros: allclose (the
    question no longer says 完全一致); random h_prev (or a bias with h_prev zero) shows it."""
    torch.manual_seed(0)
    x, r = torch.randn(5, 4), torch.rand(5, 3)
    with torch.no_grad():
        cell = nn.GRUCell(4, 3, bias=False)
        zero = torch.zeros(5, 3)
        assert torch.allclose(d2l_candidate(cell, x, zero, r), pytorch_candidate(cell, x, zero, r))
        h = torch.randn(5, 3)
        assert not torch.allclose(d2l_candidate(cell, x, h, r), pytorch_candidate(cell, x, h, r))
        biased = nn.GRUCell(4, 3)
        assert not torch.allclose(d2l_candidate(biased, x, zero, r), pytorch_candidate(biased, x, zero, r))
        # The PyTorch form is nn.GRUCell's own candidate: n = (h' - z*h) / (1 - z).
        z = torch.sigmoid(x @ biased.weight_ih.chunk(3, 0)[1].T + biased.bias_ih.chunk(3)[1]
                          + h @ biased.weight_hh.chunk(3, 0)[1].T + biased.bias_hh.chunk(3)[1])
        r_true = torch.sigmoid(x @ biased.weight_ih.chunk(3, 0)[0].T + biased.bias_ih.chunk(3)[0]
                               + h @ biased.weight_hh.chunk(3, 0)[0].T + biased.bias_hh.chunk(3)[0])
        n = pytorch_candidate(biased, x, h, r_true)
        torch.testing.assert_close(biased(x, h), (1 - z) * n + z * h)
