"""Reference computations: torch itself answers, never a formula written here.

Used by the checks (rnnlab.checks), the explorers and the hidden tests of the
assignments, so that "what does torch compute for this?" is asked in one way only.
Nothing here is the students' exercise: every answer comes from calling a real torch
module (a cell's parameters loaded into nn.RNN/LSTM/GRU, a module built on the meta
device), not from the loop or the shape arithmetic the assignments ask for.
"""

from __future__ import annotations

import torch
from torch import nn

# A recurrent cell and the one-layer module that runs it over a whole sequence.
_MODULE_OF_CELL = {nn.RNNCell: nn.RNN, nn.LSTMCell: nn.LSTM, nn.GRUCell: nn.GRU}

# Set by rnnlab.checks.core.deriving only while a student's shape, count or input/output-shape
# function runs: those questions are derived, not asked of torch, so the oracles refuse (they
# call it, and it raises the Chinese refusal). None the rest of the time.
_refusal = None


def _refuse_while_deriving() -> None:
    if _refusal is not None:
        _refusal()


def seeded(seed: int) -> torch.Generator:
    """A private random generator: the caller's global RNG is left untouched."""
    return torch.Generator().manual_seed(seed)


def randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * scale


def fill_parameters(module: nn.Module, g: torch.Generator, scale: float = 0.5) -> nn.Module:
    """Every parameter drawn from `g` (seeded tests get the same module on any machine)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return module


def _fresh(kind, *args, **kwargs) -> nn.Module:
    """A module whose random initialisation (overwritten by the caller) leaves the global RNG where it was."""
    _refuse_while_deriving()
    with torch.random.fork_rng(devices=[]):
        return kind(*args, **kwargs)


def rnn_cell_from(weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity: str = "tanh") -> nn.RNNCell:
    """A real nn.RNNCell holding the given tensors; a None bias is a zero bias (the term is absent)."""
    _refuse_while_deriving()
    hidden, inp = weight_ih.shape
    cell = _fresh(nn.RNNCell, inp, hidden, bias=True, nonlinearity=nonlinearity)
    with torch.no_grad():
        cell.weight_ih.copy_(weight_ih)
        cell.weight_hh.copy_(weight_hh)
        cell.bias_ih.copy_(bias_ih if bias_ih is not None else torch.zeros(hidden))
        cell.bias_hh.copy_(bias_hh if bias_hh is not None else torch.zeros(hidden))
    return cell


def module_like(cell: nn.RNNCellBase) -> nn.RNNBase:
    """The one-layer nn.RNN / nn.LSTM / nn.GRU that holds a copy of `cell`'s parameters."""
    _refuse_while_deriving()
    kind = _MODULE_OF_CELL.get(type(cell))
    if kind is None:
        raise TypeError(f"需要 nn.RNNCell、nn.LSTMCell 或 nn.GRUCell，收到的是 {type(cell).__name__}。")
    bias = cell.bias_ih is not None
    extra = {"nonlinearity": cell.nonlinearity} if kind is nn.RNN else {}
    module = _fresh(kind, cell.input_size, cell.hidden_size, bias=bias, **extra)
    with torch.no_grad():
        module.weight_ih_l0.copy_(cell.weight_ih)
        module.weight_hh_l0.copy_(cell.weight_hh)
        if bias:
            module.bias_ih_l0.copy_(cell.bias_ih)
            module.bias_hh_l0.copy_(cell.bias_hh)
    return module


def run_cell(cell: nn.RNNCellBase, x: torch.Tensor, state=None):
    """What looping `cell` over x (seq, batch, input) gives, computed by torch in one call.

    `state` is a cell's state: h (batch, hidden), or (h, c) for an LSTMCell; None is zeros.
    Returns (outputs (seq, batch, hidden), final state in the cell's form). No gradients.
    """
    _refuse_while_deriving()
    module = module_like(cell)
    if state is not None:
        state = tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else state.unsqueeze(0)
    with torch.no_grad():
        outputs, last = module(x, state)
    return outputs, (tuple(s[0] for s in last) if isinstance(last, tuple) else last[0])


def param_shapes(kind: str, *args, **kwargs) -> dict[str, tuple[int, ...]]:
    """named_parameters() shapes of nn.<kind>(*args, **kwargs), built on the meta device (no memory)."""
    _refuse_while_deriving()
    module = getattr(nn, kind)(*args, device="meta", **kwargs)
    return {name: tuple(p.shape) for name, p in module.named_parameters()}
