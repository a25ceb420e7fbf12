"""Seeded synthetic sequence tasks for chapter 6 (training), small enough to train in seconds on a CPU.

Every function draws from the ``torch.Generator`` it is given (never from the global seed), so a lecture
cell gets the same batch on every run; nothing is downloaded. Tokens are int64 in ``[0, num_classes)``.

- :func:`recall_first`: the label is the FIRST token; every later token is a distractor drawn from the same
  vocabulary, so the answer sits ``seq_len - 1`` steps before the end.
- :func:`last_token`: sequences of different lengths (a Python list, as tokenised sentences arrive); the label is
  each sequence's OWN last token.
- :func:`echo_stream`: a long stream per batch row whose per-step target is the token ``delay`` steps earlier.

:class:`FinalStateClassifier` is the tiny model of section 6.1: Embedding -> one recurrent layer -> Linear on
the final hidden state of equal-length sequences (no padding, no packing).

This module only makes data and that one model. The training loop, padding and packing, masking, detaching
and clipping are written in the lecture's own cells: that is where students should see them, and the
package (installed for students) must not hold what an assignment asks them to write.
"""

from __future__ import annotations

import torch
from torch import nn

CELLS = ("RNN", "GRU", "LSTM")
IGNORE_INDEX = -100   # F.cross_entropy's default ignore_index: targets that carry no information


def _check_int(name: str, value, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        bound = f"{lo} 到 {hi} 之间" if hi is not None else f"不小于 {lo} "
        raise ValueError(f"{name} 应当是{bound}的整数，收到的是 {value!r}。")
    return value


def _check_generator(generator) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise ValueError("generator 应当是 torch.Generator（例如 torch.Generator().manual_seed(0)），"
                         f"收到的是 {type(generator).__name__}。")
    return generator


def recall_first(batch_size: int, seq_len: int, num_classes: int = 8, *, generator: torch.Generator):
    """A batch of "recall the first token": returns ``x`` (batch_size, seq_len) int64 and ``y`` (batch_size,).

    Every token is uniform over ``num_classes``; ``y == x[:, 0]``. Chance accuracy is ``1 / num_classes``.
    """
    _check_int("batch_size", batch_size, 1)
    _check_int("seq_len", seq_len, 1)
    _check_int("num_classes", num_classes, 2)
    g = _check_generator(generator)
    x = torch.randint(0, num_classes, (batch_size, seq_len), generator=g)
    return x, x[:, 0].clone()


def last_token(batch_size: int, min_len: int, max_len: int, num_classes: int = 8, *, generator: torch.Generator):
    """Sequences of different lengths and the label "each sequence's own last token".

    Returns ``(seqs, y)``: ``seqs`` is a list of ``batch_size`` 1-D int64 tensors whose lengths are uniform in
    ``[min_len, max_len]``; ``y`` (batch_size,) int64 with ``y[b] == seqs[b][-1]``.
    """
    _check_int("batch_size", batch_size, 1)
    _check_int("min_len", min_len, 1)
    _check_int("max_len", max_len, min_len)
    _check_int("num_classes", num_classes, 2)
    g = _check_generator(generator)
    lengths = torch.randint(min_len, max_len + 1, (batch_size,), generator=g)
    seqs = [torch.randint(0, num_classes, (int(n),), generator=g) for n in lengths]
    return seqs, torch.stack([s[-1] for s in seqs])


def echo_stream(batch_size: int, length: int, delay: int, num_classes: int = 8, *, generator: torch.Generator):
    """``batch_size`` parallel token streams of ``length`` steps; the target at step t is the token at t - delay.

    Returns ``x`` and ``y``, both (batch_size, length) int64; ``y[:, :delay]`` is ``IGNORE_INDEX`` (nothing to
    echo yet). To predict ``y[:, t]`` a model must remember the last ``delay`` tokens, also across the cut
    between two segments of the stream.
    """
    _check_int("batch_size", batch_size, 1)
    _check_int("length", length, 1)
    _check_int("delay", delay, 0, length - 1)
    _check_int("num_classes", num_classes, 2)
    g = _check_generator(generator)
    x = torch.randint(0, num_classes, (batch_size, length), generator=g)
    y = torch.full_like(x, IGNORE_INDEX)
    y[:, delay:] = x[:, :length - delay]
    return x, y


class FinalStateClassifier(nn.Module):
    """Embedding -> ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (one layer, ``batch_first=True``) -> Linear on ``h_n[-1]``.

    For batches of equal-length sequences (B, T) of token ids; returns logits (B, num_classes). The recurrent
    layer is ``self.rnn``, so its gate biases can be inspected and changed.
    """

    def __init__(self, cell: str, num_tokens: int, embed_size: int, hidden_size: int, num_classes: int):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell 应当是 {'、'.join(repr(c) for c in CELLS)} 之一，收到的是 {cell!r}。")
        for name, value in (("num_tokens", num_tokens), ("embed_size", embed_size), ("hidden_size", hidden_size),
                            ("num_classes", num_classes)):
            _check_int(name, value, 1)
        self.cell = cell
        self.embedding = nn.Embedding(num_tokens, embed_size)
        self.rnn = getattr(nn, cell)(embed_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, state = self.rnn(self.embedding(x))
        h_n = state[0] if isinstance(state, tuple) else state   # nn.LSTM returns (h_n, c_n)
        return self.head(h_n[-1])
