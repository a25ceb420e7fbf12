"""The lectures' interactive explorers (ipywidgets), one module each:

* module.ModuleExplorer   every parameter and tensor shape of nn.RNN/LSTM/GRU and their cells
* gates.GateBlocks        the gate blocks stacked in weight_ih / weight_hh (LSTM i f g o, GRU r z n)
* bidirectional.BidirectionalMap   which slices of `output` are which rows of `h_n`
* stepper.show_stepper    step through an nn.RNNCell / LSTMCell / GRUCell over a sequence
* training.TrainingExplorer   train chapter 6's small classifier and watch its loss curve grow (one
  training step is the caller's function: the package never back-propagates, clips or steps)

They share view.HTMLView (named controls, one `set` that checks values, Chinese messages
instead of tracebacks, the keyboard and screen-reader support of view.KEYBOARD_JS) and html
(tables, shape chips, message boxes).

Import the module you need (`from rnnlab.explorers.module import ModuleExplorer`): this
package imports nothing itself, so that loading one explorer never pulls in matplotlib.
"""
