"""a1's written question (written_concat): the facts its reference answer and rubric state, executed
on the exact configuration the question asks about (issue 21, point 1).

`nn.RNNCell(3, 5)`, batch 2: one step written as one matrix multiplication of the concatenated
input and hidden state with the concatenated weights, as d2l writes it, and part 2's loop over a
whole sequence.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

I, H, B, T = 3, 5, 2, 6
MATMULS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default}


class CountMatmuls(TorchDispatchMode):
    """How many matrix multiplications torch runs inside the block."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls += func in MATMULS
        return func(*args, **(kwargs or {}))


@pytest.fixture
def step():
    torch.manual_seed(0)
    cell = nn.RNNCell(I, H)
    return cell, torch.randn(B, I), torch.randn(B, H)


def test_a1_the_two_weights_share_their_rows_not_their_columns(step):
    cell, _, _ = step
    assert cell.weight_ih.shape == (5, 3) and cell.weight_hh.shape == (5, 5)


def test_a1_concatenated_along_dim_1_one_product_is_both_terms(step):
    cell, x_t, h_prev = step
    W = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)
    xh = torch.cat([x_t, h_prev], dim=1)
    assert W.shape == (5, 8) and xh.shape == (2, 8) and (xh @ W.T).shape == (2, 5)
    # the first 3 columns of xh meet weight_ih only, the last 5 weight_hh only
    assert torch.equal(W[:, :3], cell.weight_ih) and torch.equal(W[:, 3:], cell.weight_hh)
    assert torch.equal(xh[:, :3], x_t) and torch.equal(xh[:, 3:], h_prev)
    torch.testing.assert_close(xh @ W.T, x_t @ cell.weight_ih.T + h_prev @ cell.weight_hh.T)
    with torch.no_grad():
        torch.testing.assert_close(torch.tanh(xh @ W.T + cell.bias_ih + cell.bias_hh), cell(x_t, h_prev))


def test_a1_the_books_dim_0_raises_with_pytorchs_storage(step):
    cell, _, _ = step
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0"):
        torch.cat([cell.weight_ih, cell.weight_hh], dim=0)


def test_a1_the_books_layout_shares_columns_and_needs_no_transpose(step):
    cell, x_t, h_prev = step
    W_xh, W_hh = cell.weight_ih.T, cell.weight_hh.T  # d2l's (input, output): (3, 5) and (5, 5)
    assert W_xh.shape == (3, 5) and W_hh.shape == (5, 5)
    W = torch.cat((W_xh, W_hh), 0)
    assert W.shape == (8, 5)
    book = torch.matmul(torch.cat((x_t, h_prev), 1), W)
    torch.testing.assert_close(book, x_t @ cell.weight_ih.T + h_prev @ cell.weight_hh.T)
    # the same in PyTorch, transposed first: cat([weight_ih.T, weight_hh.T], dim=0), then xh @ W
    xh = torch.cat([x_t, h_prev], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(torch.tanh(xh @ torch.cat([cell.weight_ih.T, cell.weight_hh.T], dim=0)
                                              + cell.bias_ih + cell.bias_hh), cell(x_t, h_prev))


def test_a1_one_product_per_step_instead_of_two_with_the_same_multiply_adds(step):
    cell, x_t, h_prev = step
    W = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)
    xh = torch.cat([x_t, h_prev], dim=1)
    with torch.no_grad():
        with CountMatmuls() as one, FlopCounterMode(display=False) as one_flops:
            xh @ W.T
        with CountMatmuls() as two, FlopCounterMode(display=False) as two_flops:
            x_t @ cell.weight_ih.T + h_prev @ cell.weight_hh.T
    assert (one.calls, two.calls) == (1, 2)
    # FlopCounterMode counts 2 flops per multiply-add: B·(I+H)·H = 2·8·5 = 80 multiply-adds either way
    assert one_flops.get_total_flops() == two_flops.get_total_flops() == 2 * B * (I + H) * H == 2 * 80


def _loops(cell, x):
    """Part 2's loop three ways; each returns (outputs, number of matrix multiplications)."""
    h0 = x.new_zeros(B, H)

    def separate():
        h, outs = h0, []
        for t in range(T):
            h = torch.tanh(x[t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
            outs.append(h)
        return torch.stack(outs)

    def hoisted():
        inputs = x @ cell.weight_ih.T  # every time step's input term at once: (T, B, H)
        assert inputs.shape == (T, B, H)
        h, outs = h0, []
        for t in range(T):
            h = torch.tanh(inputs[t] + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
            outs.append(h)
        return torch.stack(outs)

    def concatenated():
        W = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)  # once, outside the loop
        h, outs = h0, []
        for t in range(T):
            h = torch.tanh(torch.cat([x[t], h], dim=1) @ W.T + cell.bias_ih + cell.bias_hh)
            outs.append(h)
        return torch.stack(outs)

    results = {}
    for name, fn in (("separate", separate), ("hoisted", hoisted), ("concatenated", concatenated)):
        with CountMatmuls() as count:
            results[name] = (fn(), count.calls)
    return results


def test_a1_the_input_term_of_a_whole_sequence_is_one_product_before_the_loop():
    torch.manual_seed(1)
    cell, x = nn.RNNCell(I, H), torch.randn(T, B, I)
    rnn = nn.RNN(I, H)
    rnn.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    with torch.no_grad():
        want, _ = rnn(x)
        got = _loops(cell, x)
    for outputs, _ in got.values():
        torch.testing.assert_close(outputs, want)
    assert {name: calls for name, (_, calls) in got.items()} == {"separate": 2 * T, "hoisted": 1 + T, "concatenated": T}


def test_a1_the_concatenated_input_is_a_new_tensor_each_step_and_needs_the_previous_state(step):
    cell, x_t, h_prev = step
    xh = torch.cat([x_t, h_prev], dim=1)
    assert xh.untyped_storage().data_ptr() not in (x_t.untyped_storage().data_ptr(),
                                                   h_prev.untyped_storage().data_ptr())
    before = h_prev.clone()
    xh[:, 3:] += 1.0  # a copy: changing it leaves h_prev alone
    assert torch.equal(h_prev, before)
    # The next step's xh holds the state this step produces: it cannot exist before this step ran.
    with torch.no_grad():
        h_next = cell(x_t, h_prev)
    assert torch.equal(torch.cat([x_t, h_next], dim=1)[:, 3:], h_next)


def test_a1_gradients_reach_both_weights_through_the_concatenation():
    torch.manual_seed(2)
    cell, x = nn.RNNCell(I, H), torch.randn(T, B, I)
    W = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)
    h, outs = x.new_zeros(B, H), []
    for t in range(T):
        h = torch.tanh(torch.cat([x[t], h], dim=1) @ W.T + cell.bias_ih + cell.bias_hh)
        outs.append(h)
    torch.stack(outs).sum().backward()
    got = cell.weight_ih.grad.clone(), cell.weight_hh.grad.clone()
    cell.zero_grad()
    h, outs = x.new_zeros(B, H), []
    for t in range(T):
        h = cell(x[t], h)
        outs.append(h)
    torch.stack(outs).sum().backward()
    torch.testing.assert_close(got[0], cell.weight_ih.grad)
    torch.testing.assert_close(got[1], cell.weight_hh.grad)
