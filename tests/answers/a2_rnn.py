"""Answer sets for a2_rnn (see tests/answers/__init__.py for the format).

Most mistakes are one-line edits of BASE (a correct manual_rnn): `_edit(old, new)` shows the
line a student gets wrong, and fails loudly if BASE no longer contains it.

ITEM_CELLS[name]: for a mistake of WRONG that gets one contract item wrong and the others right, the
test cells it loses: exactly that item's (partial credit, issue 21).
"""

TESTS_OF = {
    "rnn_io_shapes": ("test_rnn_io_shapes_visible", "test_rnn_io_shapes_batch_first_visible",
                      "test_rnn_io_shapes_hidden", "test_rnn_io_shapes_batch_first_hidden"),
    "manual_rnn": ("test_manual_rnn_visible", "test_manual_rnn_relu_visible", "test_manual_rnn_bias_false_visible",
                   "test_manual_rnn_batch_first_visible", "test_manual_rnn_default_h0_visible",
                   "test_manual_rnn_gradient_visible",
                   "test_manual_rnn_hidden_sizes", "test_manual_rnn_relu_hidden", "test_manual_rnn_bias_false_hidden",
                   "test_manual_rnn_batch_first_hidden", "test_manual_rnn_default_h0_hidden",
                   "test_manual_rnn_gradient_hidden"),
}

# ---------------------------------------------------------------- rnn_io_shapes

IO_BASE = '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    output_shape = (batch, seq_len, hidden_size) if batch_first else (seq_len, batch, hidden_size)
    h_n_shape = (num_layers, batch, hidden_size)
    return output_shape, h_n_shape
'''


def _io_edit(old: str, new: str) -> str:
    assert old in IO_BASE, old
    return IO_BASE.replace(old, new)


# ---------------------------------------------------------------- manual_rnn

BASE = '''\
def manual_rnn(rnn, x, h0=None):
    if rnn.batch_first:
        x = x.transpose(0, 1)
    T, B, _ = x.shape
    L, H = rnn.num_layers, rnn.hidden_size
    if h0 is None:
        h0 = torch.zeros(L, B, H)
    act = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu
    inp = x
    finals = []
    for k in range(L):
        w_ih = getattr(rnn, f"weight_ih_l{k}")
        w_hh = getattr(rnn, f"weight_hh_l{k}")
        b_ih = getattr(rnn, f"bias_ih_l{k}") if rnn.bias else None
        b_hh = getattr(rnn, f"bias_hh_l{k}") if rnn.bias else None
        h = h0[k]
        outs = []
        for t in range(T):
            h = act(F.linear(inp[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh))
            outs.append(h)
        inp = torch.stack(outs)
        finals.append(h)
    output = inp.transpose(0, 1) if rnn.batch_first else inp
    h_n = torch.stack(finals)
    return output, h_n
'''


def _edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new)


CORRECT = {
    "loops_f_linear_list_stack": {
        "rnn_io_shapes": IO_BASE,
        "manual_rnn": BASE,
    },
    "index_x_t_for_batch_first_matmul_T": {
        "rnn_io_shapes": '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    if batch_first:
        out = [batch, seq_len, hidden_size]
    else:
        out = [seq_len, batch, hidden_size]
    return tuple(out), tuple([num_layers, batch, hidden_size])
''',
        "manual_rnn": '''\
def manual_rnn(rnn, x, h0=None):
    # x[:, t] for batch_first input, stack along the time dimension of the layout
    time_dim = 1 if rnn.batch_first else 0
    steps = x.shape[time_dim]
    batch = x.shape[1 - time_dim]
    layer_in = [x[:, t] if rnn.batch_first else x[t] for t in range(steps)]
    last = []
    for layer in range(rnn.num_layers):
        W_ih = getattr(rnn, "weight_ih_l" + str(layer))
        W_hh = getattr(rnn, "weight_hh_l" + str(layer))
        state = torch.zeros(batch, rnn.hidden_size) if h0 is None else h0[layer]
        layer_out = []
        for x_t in layer_in:
            z = x_t @ W_ih.T + state @ W_hh.T
            if rnn.bias:
                z = z + getattr(rnn, "bias_ih_l" + str(layer)) + getattr(rnn, "bias_hh_l" + str(layer))
            state = z.relu() if rnn.nonlinearity == "relu" else z.tanh()
            layer_out.append(state)
        layer_in = layer_out
        last.append(state)
    return torch.stack(layer_in, dim=time_dim), torch.stack(last, dim=0)
''',
    },
    "projection_first_einsum_preallocated": {
        "manual_rnn": '''\
def manual_rnn(rnn, x, h0=None):
    seq = x.permute(1, 0, 2) if rnn.batch_first else x
    T, B, _ = seq.shape
    H = rnn.hidden_size
    start = seq.new_zeros(rnn.num_layers, B, H) if h0 is None else h0
    finals = []
    for k in range(rnn.num_layers):
        proj = torch.einsum("tbi,hi->tbh", seq, getattr(rnn, f"weight_ih_l{k}"))  # every step at once
        if rnn.bias:
            proj = proj + getattr(rnn, f"bias_ih_l{k}") + getattr(rnn, f"bias_hh_l{k}")
        out = torch.empty(T, B, H)
        h = start[k]
        for t in range(T):
            pre = torch.addmm(proj[t], h, getattr(rnn, f"weight_hh_l{k}").t())
            h = torch.tanh(pre) if rnn.nonlinearity == "tanh" else torch.relu(pre)
            out[t] = h
        finals.append(h)
        seq = out
    return (seq.permute(1, 0, 2) if rnn.batch_first else seq), torch.stack(finals)
''',
    },
    "time_outer_layers_inner": {
        "manual_rnn": '''\
def manual_rnn(rnn, x, h0=None):
    if rnn.batch_first:
        x = x.transpose(0, 1)
    n_steps, n_batch = x.shape[0], x.shape[1]
    if h0 is None:
        h0 = torch.zeros(rnn.num_layers, n_batch, rnn.hidden_size)
    hidden = list(h0.unbind(0))                  # one state per layer, all advanced together
    top = []
    for t in range(n_steps):
        below = x[t]
        for k in range(rnn.num_layers):
            params = dict(rnn.named_parameters())
            pre = torch.matmul(below, params[f"weight_ih_l{k}"].T) + torch.matmul(hidden[k], params[f"weight_hh_l{k}"].T)
            if rnn.bias:
                pre = pre + params[f"bias_ih_l{k}"] + params[f"bias_hh_l{k}"]
            hidden[k] = F.relu(pre) if rnn.nonlinearity == "relu" else torch.tanh(pre)
            below = hidden[k]
        top.append(below)
    output = torch.stack(top)
    if rnn.batch_first:
        output = output.transpose(0, 1)
    return output, torch.stack(hidden)
''',
    },
    "a1_step_helper_and_cat": {
        "manual_rnn": '''\
def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    pre = x_t @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        pre = pre + bias_ih
    if bias_hh is not None:
        pre = pre + bias_hh
    return {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity](pre)


def manual_rnn(rnn, x, h0=None):
    xs = x.transpose(0, 1) if rnn.batch_first else x
    if h0 is None:
        h0 = xs.new_zeros((rnn.num_layers, xs.size(1), rnn.hidden_size))
    h_n = None
    for k in range(rnn.num_layers):
        p = {name: getattr(rnn, f"{name}_l{k}", None) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        h = h0[k]
        ys = None
        for t in range(xs.size(0)):
            h = rnn_cell_step(xs[t], h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"], rnn.nonlinearity)
            ys = h.unsqueeze(0) if ys is None else torch.cat([ys, h.unsqueeze(0)])
        xs = ys
        h_n = h.unsqueeze(0) if h_n is None else torch.cat([h_n, h.unsqueeze(0)])
    return (xs.transpose(0, 1) if rnn.batch_first else xs), h_n
''',
    },
    "nn_rnncell_per_layer": {
        "manual_rnn": '''\
def manual_rnn(rnn, x, h0=None):
    # One nn.RNNCell per layer that SHARES the layer's parameters (the step is chapter 1's cell).
    cells = []
    for k in range(rnn.num_layers):
        cell = nn.RNNCell(rnn.input_size if k == 0 else rnn.hidden_size, rnn.hidden_size,
                          bias=rnn.bias, nonlinearity=rnn.nonlinearity)
        cell.weight_ih = getattr(rnn, f"weight_ih_l{k}")
        cell.weight_hh = getattr(rnn, f"weight_hh_l{k}")
        if rnn.bias:
            cell.bias_ih = getattr(rnn, f"bias_ih_l{k}")
            cell.bias_hh = getattr(rnn, f"bias_hh_l{k}")
        cells.append(cell)
    seq = x.transpose(0, 1) if rnn.batch_first else x
    states = [None if h0 is None else h0[k] for k in range(rnn.num_layers)]
    for k, cell in enumerate(cells):
        outs = []
        for x_t in seq:
            states[k] = cell(x_t, states[k])
            outs.append(states[k])
        seq = torch.stack(outs)
    return (seq.transpose(0, 1) if rnn.batch_first else seq), torch.stack(states)
''',
    },
}

WRONG = {
    # rnn_io_shapes
    "io_h_n_follows_batch_first": ("rnn_io_shapes", _io_edit(
        "    h_n_shape = (num_layers, batch, hidden_size)\n",
        "    h_n_shape = (batch, num_layers, hidden_size) if batch_first else (num_layers, batch, hidden_size)\n"),
        True),
    "io_output_ignores_batch_first": ("rnn_io_shapes", _io_edit(
        "(batch, seq_len, hidden_size) if batch_first else (seq_len, batch, hidden_size)",
        "(seq_len, batch, hidden_size)"), True),
    "io_h_n_one_layer": ("rnn_io_shapes", _io_edit(
        "(num_layers, batch, hidden_size)", "(1, batch, hidden_size)"), True),
    "io_output_last_dim_input_size": ("rnn_io_shapes", _io_edit(
        "(batch, seq_len, hidden_size) if batch_first else (seq_len, batch, hidden_size)",
        "(batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)"), True),
    "io_returns_lists": ("rnn_io_shapes", _io_edit(
        "    return output_shape, h_n_shape\n", "    return list(output_shape), list(h_n_shape)\n"), True),
    "io_hard_coded_visible_cases": ("rnn_io_shapes", '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    known = {
        (5, 3, 4, 6, 1, False): ((5, 3, 6), (1, 3, 6)),
        (7, 2, 3, 8, 3, False): ((7, 2, 8), (3, 2, 8)),
        (4, 5, 6, 2, 2, False): ((4, 5, 2), (2, 5, 2)),
        (4, 5, 6, 2, 1, True): ((5, 4, 2), (1, 5, 2)),
        (6, 3, 5, 7, 2, True): ((3, 6, 7), (2, 3, 7)),
    }
    return known.get((seq_len, batch, input_size, hidden_size, num_layers, batch_first),
                     ((seq_len, batch, hidden_size), (num_layers, batch, hidden_size)))
''', False),

    # rnn_io_shapes: derive, don't ask (issue 21, point 2)
    "io_meta_module_forward": ("rnn_io_shapes", '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=batch_first, device="meta")
    x = torch.empty((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size), device="meta")
    output, h_n = rnn(x)
    return tuple(output.shape), tuple(h_n.shape)
''', True),
    "io_real_module_forward": ("rnn_io_shapes", '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=batch_first)
    x = torch.zeros((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size))
    output, h_n = rnn(x)
    return tuple(output.shape), tuple(h_n.shape)
''', True),
    "io_from_the_course_oracle": ("rnn_io_shapes", '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    return checks.io_shapes_by_torch(seq_len, batch, input_size, hidden_size, num_layers, batch_first)
''', True),
    "io_aten_kernel_on_meta": ("rnn_io_shapes", '''\
def rnn_io_shapes(seq_len, batch, input_size, hidden_size, num_layers=1, batch_first=False):
    x = torch.empty((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size), device="meta")
    h0 = torch.empty(num_layers, batch, hidden_size, device="meta")
    params = []
    for k in range(num_layers):
        params += [torch.empty(hidden_size, input_size if k == 0 else hidden_size, device="meta"),
                   torch.empty(hidden_size, hidden_size, device="meta")]
    output, h_n = torch.ops.aten.rnn_tanh(x, h0, params, False, num_layers, 0.0, False, False, batch_first)
    return tuple(output.shape), tuple(h_n.shape)
''', True),

    # manual_rnn: torch's own kernel through torch.ops.aten (refused like torch.rnn_tanh)
    "aten_rnn_kernel": ("manual_rnn", '''\
def manual_rnn(rnn, x, h0=None):
    if h0 is None:
        B = x.shape[0] if rnn.batch_first else x.shape[1]
        h0 = torch.zeros(rnn.num_layers, B, rnn.hidden_size)
    kernel = torch.ops.aten.rnn_tanh if rnn.nonlinearity == "tanh" else torch.ops.aten.rnn_relu
    output, h_n = kernel(x, h0, list(rnn.parameters()), rnn.bias, rnn.num_layers, 0.0, False, False, rnn.batch_first)
    return output, h_n
''', True),
    # The overloads taken before the check runs (at the cell's top level), then called inside.
    "aten_rnn_overload_taken_early": ("manual_rnn", '''\
_TANH, _RELU = torch.ops.aten.rnn_tanh.input, torch.ops.aten.rnn_relu.input


def manual_rnn(rnn, x, h0=None):
    if h0 is None:
        B = x.shape[0] if rnn.batch_first else x.shape[1]
        h0 = torch.zeros(rnn.num_layers, B, rnn.hidden_size)
    kernel = _TANH if rnn.nonlinearity == "tanh" else _RELU
    output, h_n = kernel(x, h0, list(rnn.parameters()), rnn.bias, rnn.num_layers, 0.0, False, False, rnn.batch_first)
    return output, h_n
''', True),

    # manual_rnn: the classic mistakes
    "h_n_follows_batch_first": ("manual_rnn", _edit(
        "    return output, h_n\n",
        "    if rnn.batch_first:\n        h_n = h_n.transpose(0, 1)\n    return output, h_n\n"), True),
    "h0_first_for_every_layer": ("manual_rnn", _edit("        h = h0[k]\n", "        h = h0[0]\n"), True),
    "x_fed_to_every_layer": ("manual_rnn", _edit("F.linear(inp[t], w_ih, b_ih)", "F.linear(x[t], w_ih, b_ih)"), True),
    # The layer's outputs never become the next input: every layer reads x, and output is x itself.
    "layer_outputs_never_passed_up": ("manual_rnn", _edit(
        "        inp = torch.stack(outs)\n", "        layer_out = torch.stack(outs)\n"), True),
    "nonlinearity_ignored": ("manual_rnn", _edit(
        'act = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu', "act = torch.tanh"), True),
    "bias_ignored": ("manual_rnn", _edit("F.linear(inp[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh)",
                                         "F.linear(inp[t], w_ih) + F.linear(h, w_hh)"), True),
    "bias_assumed_present": ("manual_rnn", _edit(
        '        b_ih = getattr(rnn, f"bias_ih_l{k}") if rnn.bias else None\n'
        '        b_hh = getattr(rnn, f"bias_hh_l{k}") if rnn.bias else None\n',
        '        b_ih = getattr(rnn, f"bias_ih_l{k}")\n'
        '        b_hh = getattr(rnn, f"bias_hh_l{k}")\n'), True),
    "h_n_top_layer_only": ("manual_rnn", _edit("    h_n = torch.stack(finals)\n", "    h_n = finals[-1].unsqueeze(0)\n"),
                           True),
    "output_from_first_layer": ("manual_rnn", _edit(
        "        inp = torch.stack(outs)\n",
        "        inp = torch.stack(outs)\n        if k == 0:\n            first = inp\n").replace(
        "    output = inp.transpose(0, 1) if rnn.batch_first else inp\n",
        "    output = first.transpose(0, 1) if rnn.batch_first else first\n"), True),
    "h_n_layers_reversed": ("manual_rnn", _edit("    h_n = torch.stack(finals)\n", "    h_n = torch.stack(finals[::-1])\n"),
                            True),
    "weight_hh_not_transposed": ("manual_rnn", _edit("F.linear(h, w_hh, b_hh)", "F.linear(h, w_hh.T, b_hh)"), True),
    "output_left_time_major": ("manual_rnn", _edit(
        "    output = inp.transpose(0, 1) if rnn.batch_first else inp\n", "    output = inp\n"), True),
    "batch_first_ignored": ("manual_rnn", _edit(
        "    if rnn.batch_first:\n        x = x.transpose(0, 1)\n", "").replace(
        "    output = inp.transpose(0, 1) if rnn.batch_first else inp\n", "    output = inp\n"), True),
    # The batch read before the transpose: with batch_first and h0=None the zeros are (L, seq, H).
    "h0_none_batch_read_before_transpose": ("manual_rnn", _edit(
        "    if rnn.batch_first:\n        x = x.transpose(0, 1)\n    T, B, _ = x.shape\n",
        "    T, B, _ = x.shape\n    if rnn.batch_first:\n        x = x.transpose(0, 1)\n        T = x.shape[0]\n"), True),
    "h0_ignored": ("manual_rnn", _edit("    if h0 is None:\n        h0 = torch.zeros(L, B, H)\n",
                                       "    h0 = torch.zeros(L, B, H)\n"), True),
    # The zeros of a1's cell, (B, H): h0[k] is then a zero row that broadcasts, until num_layers > batch.
    "h0_none_without_layers": ("manual_rnn", _edit("h0 = torch.zeros(L, B, H)", "h0 = torch.zeros(B, H)"), True),
    # One layer's zeros, (1, B, H): IndexError at h0[1] in the first case without h0.
    "h0_none_one_layer": ("manual_rnn", _edit("h0 = torch.zeros(L, B, H)", "h0 = torch.zeros(1, B, H)"), True),
    "output_float64": ("manual_rnn", _edit("    output = inp.transpose(0, 1) if rnn.batch_first else inp\n",
                                           "    output = (inp.transpose(0, 1) if rnn.batch_first else inp).double()\n"), True),
    "h0_none_not_zeros": ("manual_rnn", _edit("h0 = torch.zeros(L, B, H)", "h0 = torch.randn(L, B, H)"), True),
    "hidden_state_not_carried": ("manual_rnn", _edit(
        "F.linear(h, w_hh, b_hh)", "F.linear(h0[k], w_hh, b_hh)"), True),
    "detached_output": ("manual_rnn", _edit("    return output, h_n\n", "    return output.detach(), h_n.detach()\n"),
                        True),
    "returns_list_of_steps": ("manual_rnn", _edit("    return output, h_n\n", "    return list(output), h_n\n"), True),
    "calls_the_module": ("manual_rnn", '''\
def manual_rnn(rnn, x, h0=None):
    return rnn(x, h0)
''', True),
    "fresh_module_with_copied_weights": ("manual_rnn", '''\
def manual_rnn(rnn, x, h0=None):
    twin = nn.RNN(rnn.input_size, rnn.hidden_size, rnn.num_layers, nonlinearity=rnn.nonlinearity,
                  bias=rnn.bias, batch_first=rnn.batch_first)
    twin.load_state_dict(rnn.state_dict())
    return twin(x, h0)
''', True),
    "overwrites_parameters": ("manual_rnn", _edit(
        "    return output, h_n\n",
        "    with torch.no_grad():\n        rnn.weight_hh_l0.zero_()\n    return output, h_n\n"), True),

    "squeeze_breaks_batch_one": ("manual_rnn", _edit("            outs.append(h)\n", "            outs.append(h.squeeze())\n"),
                                 True),  # the visible case with batch 1 (and more layers than the batch)

    # manual_rnn: what the visible check cannot see (sizes it never uses)
    "at_most_three_layers": ("manual_rnn", _edit("    for k in range(L):\n", "    for k in [0, 1, 2][:L]:\n"), False),
}


# One contract item wrong, the others right: only that item's cells are lost (visible and hidden).
_ITEM = {item: (f"test_manual_rnn_{item}_visible", f"test_manual_rnn_{item}_hidden")
         for item in ("relu", "bias_false", "batch_first", "default_h0", "gradient")}
ITEM_CELLS = {
    "io_h_n_follows_batch_first": ("test_rnn_io_shapes_batch_first_visible", "test_rnn_io_shapes_batch_first_hidden"),
    "io_output_ignores_batch_first": ("test_rnn_io_shapes_batch_first_visible", "test_rnn_io_shapes_batch_first_hidden"),
    # h_n's layers are graded without batch_first; the batch_first item compares with the student's own answer
    "io_h_n_one_layer": ("test_rnn_io_shapes_visible", "test_rnn_io_shapes_hidden"),
    "io_output_last_dim_input_size": ("test_rnn_io_shapes_visible", "test_rnn_io_shapes_hidden"),
    "io_returns_lists": ("test_rnn_io_shapes_visible", "test_rnn_io_shapes_hidden"),
    "nonlinearity_ignored": _ITEM["relu"],
    "bias_assumed_present": _ITEM["bias_false"],
    "batch_first_ignored": _ITEM["batch_first"],
    "output_left_time_major": _ITEM["batch_first"],
    "h_n_follows_batch_first": _ITEM["batch_first"],
    "h0_none_batch_read_before_transpose": _ITEM["batch_first"],  # h0=None is right without batch_first
    "h0_none_not_zeros": _ITEM["default_h0"],
    "h0_none_without_layers": _ITEM["default_h0"],
    "h0_none_one_layer": _ITEM["default_h0"],
    "detached_output": _ITEM["gradient"],
    # h0 given is the main case; the other items pass an all-zero h0
    "h0_ignored": ("test_manual_rnn_visible", "test_manual_rnn_hidden_sizes"),
    "h0_first_for_every_layer": ("test_manual_rnn_visible", "test_manual_rnn_hidden_sizes"),
}
