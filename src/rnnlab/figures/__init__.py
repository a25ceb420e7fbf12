"""The course's diagrams, drawn with matplotlib: one function per figure, colours from
rnnlab.palette, Chinese labels.

One notation in every figure, never matplotlib's $mathtext$ (its fonts have no Chinese glyphs):

- a generic time step t is written in math with Unicode subscripts: xₜ, hₜ₋₁, hₜ, cₜ, Wᵢₕ, Wₕₕᵀ;
- a concrete tensor is written as the code names it: x[t], out[t], output[t], h_0, h_n, h_n[1],
  weight_ih_l0.

The cell drawn in a box is a parameter (``cell="RNNCell" | "GRUCell" | "LSTMCell"``): it sets the
box's label, the number of stacked gate blocks in the weight shapes, and the states carried from
step to step (h, plus c for an LSTM). Gate internals are drawn by the LSTM and GRU chapters.

Every figure carries a text description in Chinese for readers who cannot see it: ``alt_text(fig)``,
and in a notebook the "alt" metadata of the figure's image/png output.

Each chapter's figures live in their own module (rnn.py for chapters 1-2, lstm.py, gru.py,
bidirectional.py for chapters 3-5, training.py for chapter 6); the shared drawing
helpers in drawing.py. Import the figure functions from here:

    from rnnlab.figures import draw_unrolled_rnn
"""

from rnnlab.figures.bidirectional import draw_bidirectional_rnn
from rnnlab.figures.gru import draw_gru_cell
from rnnlab.figures.lstm import draw_lstm_cell
from rnnlab.figures.rnn import draw_rnn_cell, draw_stacked_rnn, draw_unrolled_rnn
from rnnlab.figures.training import draw_gradient_norms, draw_padded_batch, draw_training_curves, draw_truncated_bptt
from rnnlab.figures.drawing import alt_text  # every figure's text description (also the "alt" of its notebook output)

__all__ = ["alt_text", "draw_bidirectional_rnn", "draw_gradient_norms", "draw_gru_cell", "draw_lstm_cell", "draw_padded_batch",
           "draw_rnn_cell", "draw_stacked_rnn", "draw_training_curves", "draw_truncated_bptt", "draw_unrolled_rnn"]
