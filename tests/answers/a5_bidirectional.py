"""Answer sets for a5_bidirectional (see tests/answers/__init__.py for the format).

Most mistakes are one-line edits of a correct function (SHAPES, COUNT, STATES, MANUAL):
`_edit(base, old, new)` shows the line a student gets wrong, and fails loudly if the base
no longer contains it.
"""

TESTS_OF = {
    # The ValueError for proj_size is a contract item with its own points (visible and hidden).
    "recurrent_param_shapes": ("test_recurrent_param_shapes_visible", "test_recurrent_param_shapes_refuses_proj_size_visible",
                               "test_recurrent_param_shapes_hidden", "test_recurrent_param_shapes_refuses_proj_size_hidden"),
    "recurrent_num_params": ("test_recurrent_num_params_visible", "test_recurrent_num_params_refuses_proj_size_visible",
                             "test_recurrent_num_params_hidden", "test_recurrent_num_params_refuses_proj_size_hidden"),
    "final_states_from_output": ("test_final_states_from_output_visible", "test_final_states_from_output_hidden"),
    "manual_bidirectional_rnn": ("test_manual_bidirectional_rnn_visible", "test_manual_bidirectional_rnn_hidden_sizes",
                                 "test_manual_bidirectional_rnn_hidden_grad"),
}


def _edit(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


# ---------------------------------------------------------------- correct bases

SHAPES = '''\
def recurrent_param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    rows = {"RNN": 1, "GRU": 3, "LSTM": 4}[mode] * hidden_size
    h_out = proj_size if proj_size > 0 else hidden_size
    directions = 2 if bidirectional else 1
    shapes = {}
    for k in range(num_layers):
        layer_in = input_size if k == 0 else directions * h_out
        for suffix in [f"_l{k}", f"_l{k}_reverse"][:directions]:
            shapes["weight_ih" + suffix] = (rows, layer_in)
            shapes["weight_hh" + suffix] = (rows, h_out)
            shapes["bias_ih" + suffix] = (rows,)
            shapes["bias_hh" + suffix] = (rows,)
            if proj_size > 0:
                shapes["weight_hr" + suffix] = (proj_size, hidden_size)
    return shapes
'''

COUNT = '''\
def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    rows = {"RNN": 1, "GRU": 3, "LSTM": 4}[mode] * hidden_size
    h_out = proj_size if proj_size > 0 else hidden_size
    directions = 2 if bidirectional else 1
    total = 0
    for k in range(num_layers):
        layer_in = input_size if k == 0 else directions * h_out
        per_direction = rows * layer_in + rows * h_out
        if bias:
            per_direction += 2 * rows
        if proj_size > 0:
            per_direction += proj_size * hidden_size
        total += directions * per_direction
    return total
'''

STATES = '''\
def final_states_from_output(output, hidden_size, batch_first=False):
    if batch_first:
        output = output.transpose(0, 1)
    forward_last = output[-1, :, :hidden_size]
    backward_last = output[0, :, hidden_size:]
    return forward_last, backward_last
'''

MANUAL = '''\
def manual_bidirectional_rnn(rnn, x):
    T, B, _ = x.shape
    H = rnn.hidden_size
    layer_input = x
    h_n = []
    for k in range(rnn.num_layers):
        halves = []
        for suffix, order in ((f"_l{k}", range(T)), (f"_l{k}_reverse", range(T - 1, -1, -1))):
            w_ih = getattr(rnn, "weight_ih" + suffix)
            w_hh = getattr(rnn, "weight_hh" + suffix)
            b_ih = getattr(rnn, "bias_ih" + suffix)
            b_hh = getattr(rnn, "bias_hh" + suffix)
            h = torch.zeros(B, H)
            by_time = [None] * T
            for t in order:
                h = torch.tanh(F.linear(layer_input[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh))
                by_time[t] = h
            halves.append(torch.stack(by_time))
            h_n.append(h)
        layer_input = torch.cat(halves, dim=-1)
    return layer_input, torch.stack(h_n)
'''

CORRECT = {
    "loops_dicts_f_linear": {
        "recurrent_param_shapes": SHAPES,
        "recurrent_num_params": COUNT,
        "final_states_from_output": STATES,
        "manual_bidirectional_rnn": MANUAL,
    },
    "count_from_own_shapes_view_flip_input": {
        "recurrent_param_shapes": SHAPES,
        "recurrent_num_params": SHAPES + '''

def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    shapes = recurrent_param_shapes(mode, input_size, hidden_size, num_layers, bidirectional, proj_size)
    return sum(math.prod(s) for name, s in shapes.items() if bias or not name.startswith("bias"))
''',
        "final_states_from_output": '''\
def final_states_from_output(output, hidden_size, batch_first=False):
    if batch_first:
        B, T = output.shape[:2]
        per_dir = output.view(B, T, 2, hidden_size)
        return per_dir[:, -1, 0], per_dir[:, 0, 1]
    T, B = output.shape[:2]
    per_dir = output.view(T, B, 2, hidden_size)   # direction 0 forward, 1 backward
    return per_dir[-1, :, 0], per_dir[0, :, 1]
''',
        "manual_bidirectional_rnn": '''\
def _run_direction(seq, w_ih, w_hh, b_ih, b_hh):
    h = seq.new_zeros(seq.shape[1], w_hh.shape[1])
    outs = []
    for x_t in seq:
        h = torch.tanh(x_t @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        outs.append(h)
    return torch.stack(outs), h


def manual_bidirectional_rnn(rnn, x):
    seq = x
    finals = []
    for k in range(rnn.num_layers):
        p = lambda n: getattr(rnn, f"{n}_l{k}")
        q = lambda n: getattr(rnn, f"{n}_l{k}_reverse")
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        out_f, h_f = _run_direction(seq, *[p(n) for n in names])
        out_b, h_b = _run_direction(torch.flip(seq, dims=[0]), *[q(n) for n in names])
        seq = torch.cat([out_f, torch.flip(out_b, dims=[0])], dim=2)
        finals += [h_f, h_b]
    return seq, torch.stack(finals)
''',
    },
    "torch_size_values_formula_index_and_einsum": {
        "recurrent_param_shapes": '''\
def recurrent_param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    if mode != "LSTM" and proj_size:
        raise ValueError(f"{mode} 没有 proj_size 这个参数，只有 LSTM 可以做投影。")
    G = dict(RNN=1, GRU=3, LSTM=4)[mode]
    out = {}
    for layer in range(num_layers):
        for direction in ([0, 1] if bidirectional else [0]):
            tag = "_l%d%s" % (layer, "_reverse" if direction else "")
            cols = input_size if layer == 0 else (proj_size or hidden_size) * (2 if bidirectional else 1)
            out["weight_ih" + tag] = torch.Size([G * hidden_size, cols])
            out["weight_hh" + tag] = torch.Size([G * hidden_size, proj_size or hidden_size])
            out["bias_ih" + tag] = torch.Size([G * hidden_size])
            out["bias_hh" + tag] = torch.Size([G * hidden_size])
            if proj_size:
                out["weight_hr" + tag] = torch.Size([proj_size, hidden_size])
    return out
''',
        "recurrent_num_params": '''\
def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    if mode != "LSTM" and proj_size:
        raise ValueError(f"{mode} 没有 proj_size 这个参数，只有 LSTM 可以做投影。")
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[mode]
    D = 2 if bidirectional else 1
    P = proj_size
    H_out = P if P else hidden_size
    first = G * hidden_size * (input_size + H_out + 2 * bias) + P * hidden_size
    upper = G * hidden_size * (D * H_out + H_out + 2 * bias) + P * hidden_size
    return int(D * (first + (num_layers - 1) * upper))
''',
        "final_states_from_output": '''\
def final_states_from_output(output, hidden_size, batch_first=False):
    H = hidden_size
    if batch_first:
        return output[:, -1, :H], output[:, 0, H:]
    return output[-1, :, :H], output[0, :, H:]
''',
        "manual_bidirectional_rnn": '''\
def manual_bidirectional_rnn(rnn, x):
    T, B = x.shape[0], x.shape[1]
    H = rnn.hidden_size
    inp = x
    h_n = torch.empty(2 * rnn.num_layers, B, H)
    for k in range(rnn.num_layers):
        out = torch.empty(T, B, 2 * H)
        for d, tag in enumerate(["", "_reverse"]):
            W_ih = getattr(rnn, f"weight_ih_l{k}{tag}")
            W_hh = getattr(rnn, f"weight_hh_l{k}{tag}")
            proj = torch.einsum("tbi,hi->tbh", inp, W_ih) + getattr(rnn, f"bias_ih_l{k}{tag}") \\
                + getattr(rnn, f"bias_hh_l{k}{tag}")
            h = torch.zeros(B, H)
            steps = range(T) if d == 0 else reversed(range(T))
            for t in steps:
                h = torch.tanh(torch.addmm(proj[t], h, W_hh.t()))
                out[t, :, d * H:(d + 1) * H] = h
            h_n[2 * k + d] = h
        inp = out
    return inp, h_n
''',
    },
    "chunk_split_named_parameters": {
        "recurrent_param_shapes": '''\
def recurrent_param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}
    if proj_size != 0 and mode in ("RNN", "GRU"):
        raise ValueError("只有 LSTM 支持 proj_size：" + mode + " 收到了 proj_size=" + str(proj_size))
    g_h = gates[mode] * hidden_size
    state = proj_size if proj_size else hidden_size
    suffixes = ["", "_reverse"] if bidirectional else [""]
    return {
        f"{kind}_l{k}{s}": shape
        for k in range(num_layers)
        for s in suffixes
        for kind, shape in [
            ("weight_ih", (g_h, input_size if k == 0 else len(suffixes) * state)),
            ("weight_hh", (g_h, state)),
            ("bias_ih", (g_h,)),
            ("bias_hh", (g_h,)),
        ] + ([("weight_hr", (proj_size, hidden_size))] if proj_size else [])
    }
''',
        "final_states_from_output": '''\
def final_states_from_output(output, hidden_size, batch_first=False):
    time_dim = 1 if batch_first else 0
    fwd, bwd = output.split(hidden_size, dim=-1)
    return fwd.select(time_dim, -1), bwd.select(time_dim, 0)
''',
        "manual_bidirectional_rnn": '''\
def manual_bidirectional_rnn(rnn, x):
    params = dict(rnn.named_parameters())
    T = x.shape[0]
    h_n = []
    for k in range(rnn.num_layers):
        fwd, bwd = [], []
        for name, states, times in (("_l%d" % k, fwd, list(range(T))), ("_l%d_reverse" % k, bwd, list(range(T))[::-1])):
            h = x.new_zeros(x.shape[1], rnn.hidden_size)
            for t in times:
                h = torch.tanh(torch.matmul(x[t], params["weight_ih" + name].T) + params["bias_ih" + name]
                               + torch.matmul(h, params["weight_hh" + name].T) + params["bias_hh" + name])
                states.append(h)
            h_n.append(h)
        bwd.reverse()
        x = torch.stack([torch.cat((f, b), dim=1) for f, b in zip(fwd, bwd)])
    return x, torch.stack(h_n, dim=0)
''',
    },
    "one_loop_both_directions_narrow": {
        "final_states_from_output": '''\
def final_states_from_output(output, hidden_size, batch_first=False):
    seq = output.permute(1, 0, 2) if batch_first else output
    last, first = seq[seq.shape[0] - 1], seq[0]
    return last.narrow(-1, 0, hidden_size), first.narrow(-1, hidden_size, hidden_size)
''',
        "manual_bidirectional_rnn": '''\
def manual_bidirectional_rnn(rnn, x):
    T, B, _ = x.shape
    H = rnn.hidden_size
    finals = []
    for k in range(rnn.num_layers):
        P = {n: getattr(rnn, f"{n}_l{k}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        R = {n: getattr(rnn, f"{n}_l{k}_reverse") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        hf = hb = torch.zeros(B, H)
        fs, bs = [], []
        for step in range(T):          # forward reads x[step], backward reads x[T-1-step] at the same time
            hf = torch.tanh(x[step] @ P["weight_ih"].T + P["bias_ih"] + hf @ P["weight_hh"].T + P["bias_hh"])
            hb = torch.tanh(x[T - 1 - step] @ R["weight_ih"].T + R["bias_ih"] + hb @ R["weight_hh"].T + R["bias_hh"])
            fs.append(hf)
            bs.insert(0, hb)
        x = torch.cat([torch.stack(fs), torch.stack(bs)], dim=-1)
        finals.extend([hf, hb])
    return x, torch.stack(finals)
''',
    },
    "rnncells_sharing_parameters": {
        "recurrent_num_params": '''\
def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    if proj_size and mode != "LSTM":
        raise ValueError("proj_size>0 只对 LSTM 有意义")
    n_gates = 4 if mode == "LSTM" else 3 if mode == "GRU" else 1
    n_dirs = 1 + int(bidirectional)
    h = proj_size or hidden_size
    count = 0
    for layer in range(num_layers):
        i = input_size if layer == 0 else n_dirs * h
        weights = n_gates * hidden_size * i + n_gates * hidden_size * h
        biases = 2 * n_gates * hidden_size if bias else 0
        projection = proj_size * hidden_size
        count += n_dirs * (weights + biases + projection)
    return count
''',
        "manual_bidirectional_rnn": '''\
def manual_bidirectional_rnn(rnn, x):
    # one nn.RNNCell per layer and direction that SHARES the module's parameters
    finals = []
    seq = x
    for k in range(rnn.num_layers):
        halves = []
        for tag, flip in (("", False), ("_reverse", True)):
            cell = nn.RNNCell(seq.shape[-1], rnn.hidden_size)
            cell.weight_ih = getattr(rnn, f"weight_ih_l{k}{tag}")
            cell.weight_hh = getattr(rnn, f"weight_hh_l{k}{tag}")
            cell.bias_ih = getattr(rnn, f"bias_ih_l{k}{tag}")
            cell.bias_hh = getattr(rnn, f"bias_hh_l{k}{tag}")
            inputs = seq.flip(0) if flip else seq
            h, outs = None, []
            for x_t in inputs:
                h = cell(x_t, h)
                outs.append(h)
            out = torch.stack(outs)
            halves.append(out.flip(0) if flip else out)
            finals.append(h)
        seq = torch.cat(halves, dim=-1)
    return seq, torch.stack(finals)
''',
    },
}

WRONG = {
    # Right values, but h is read back from the slice it was written into: backward fails (in place).
    "manual_h_read_back_from_output": ("manual_bidirectional_rnn", _edit(
        MANUAL,
        "            by_time = [None] * T\n            for t in order:\n"
        "                h = torch.tanh(F.linear(layer_input[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh))\n"
        "                by_time[t] = h\n            halves.append(torch.stack(by_time))\n",
        "            by_time = torch.zeros(T, B, H)\n            for t in order:\n"
        "                by_time[t] = torch.tanh(F.linear(layer_input[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh))\n"
        "                h = by_time[t]\n            halves.append(by_time)\n"), True),
    # recurrent_param_shapes: derive, don't ask (issue 21, point 2): a module, meta or real, or the oracle
    "shapes_read_from_a_meta_module": ("recurrent_param_shapes", '''\
def recurrent_param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    kw = {"proj_size": proj_size} if proj_size else {}
    m = getattr(nn, mode)(input_size, hidden_size, num_layers, bidirectional=bidirectional, device="meta", **kw)
    return {n: tuple(p.shape) for n, p in m.named_parameters()}
''', True),
    "shapes_read_from_a_real_module": ("recurrent_param_shapes", '''\
def recurrent_param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    kw = {"proj_size": proj_size} if proj_size else {}
    m = getattr(nn, mode)(input_size, hidden_size, num_layers, bidirectional=bidirectional, **kw)
    return {n: tuple(p.shape) for n, p in m.named_parameters()}
''', True),
    "shapes_from_the_course_oracle": ("recurrent_param_shapes", '''\
def recurrent_param_shapes(mode, input_size, hidden_size, num_layers=1, bidirectional=False, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    return checks.param_shapes_by_torch(mode, input_size, hidden_size, num_layers, bidirectional, proj_size)
''', True),
    # recurrent_param_shapes
    "shapes_no_reverse_params": ("recurrent_param_shapes", _edit(
        SHAPES, 'for suffix in [f"_l{k}", f"_l{k}_reverse"][:directions]:', 'for suffix in [f"_l{k}"]:'), True),
    "shapes_upper_layers_one_direction_input": ("recurrent_param_shapes", _edit(
        SHAPES, "layer_in = input_size if k == 0 else directions * h_out", "layer_in = input_size if k == 0 else h_out"),
        True),
    "shapes_gru_two_blocks": ("recurrent_param_shapes", _edit(SHAPES, '"GRU": 3', '"GRU": 2'), True),
    "shapes_one_bias": ("recurrent_param_shapes", _edit(
        SHAPES, '            shapes["bias_hh" + suffix] = (rows,)\n', ""), True),
    "shapes_weight_hh_ignores_proj": ("recurrent_param_shapes", _edit(
        SHAPES, 'shapes["weight_hh" + suffix] = (rows, h_out)', 'shapes["weight_hh" + suffix] = (rows, hidden_size)'),
        True),
    "shapes_weights_stored_in_out": ("recurrent_param_shapes", _edit(
        SHAPES, 'shapes["weight_ih" + suffix] = (rows, layer_in)', 'shapes["weight_ih" + suffix] = (layer_in, rows)'),
        True),
    "shapes_no_value_error": ("recurrent_param_shapes", _edit(
        SHAPES, '    if proj_size > 0 and mode != "LSTM":\n        raise ValueError("proj_size 只有 LSTM 支持")\n', ""),
        True),
    "shapes_assert_instead_of_value_error": ("recurrent_param_shapes", _edit(
        SHAPES, '    if proj_size > 0 and mode != "LSTM":\n        raise ValueError("proj_size 只有 LSTM 支持")\n',
        '    assert proj_size == 0 or mode == "LSTM", "proj_size 只有 LSTM 支持"\n'), True),
    "shapes_at_most_three_layers": ("recurrent_param_shapes", _edit(
        SHAPES, "    for k in range(num_layers):\n", "    for k in range(min(num_layers, 3)):\n"), False),

    # recurrent_num_params: derive, don't ask
    "count_from_a_meta_module": ("recurrent_num_params", '''\
def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    kw = {"proj_size": proj_size} if proj_size else {}
    m = getattr(nn, mode)(input_size, hidden_size, num_layers, bias=bias, bidirectional=bidirectional,
                          device="meta", **kw)
    return sum(p.numel() for p in m.parameters())
''', True),
    "count_from_a_real_module": ("recurrent_num_params", '''\
def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    kw = {"proj_size": proj_size} if proj_size else {}
    m = getattr(nn, mode)(input_size, hidden_size, num_layers, bias=bias, bidirectional=bidirectional, **kw)
    return sum(p.numel() for p in m.parameters())
''', True),
    "count_from_the_course_oracle": ("recurrent_num_params", '''\
def recurrent_num_params(mode, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, proj_size=0):
    if proj_size > 0 and mode != "LSTM":
        raise ValueError("proj_size 只有 LSTM 支持")
    return checks.num_params_by_torch(mode, input_size, hidden_size, num_layers, bidirectional, bias, proj_size)
''', True),
    # recurrent_num_params
    "count_gru_two_blocks": ("recurrent_num_params", _edit(COUNT, '"GRU": 3', '"GRU": 2'), True),
    "count_one_bias": ("recurrent_num_params", _edit(COUNT, "per_direction += 2 * rows", "per_direction += rows"), True),
    "count_ignores_bias_flag": ("recurrent_num_params", _edit(
        COUNT, "        if bias:\n            per_direction += 2 * rows\n", "        per_direction += 2 * rows\n"), True),
    "count_upper_layers_one_direction_input": ("recurrent_num_params", _edit(
        COUNT, "layer_in = input_size if k == 0 else directions * h_out", "layer_in = input_size if k == 0 else h_out"),
        True),
    "count_no_reverse_direction": ("recurrent_num_params", _edit(
        COUNT, "        total += directions * per_direction\n", "        total += per_direction\n"), True),
    "count_float_division": ("recurrent_num_params", _edit(
        COUNT, "    return total\n", "    return total / 1\n"), True),
    "count_no_value_error": ("recurrent_num_params", _edit(
        COUNT, '    if proj_size > 0 and mode != "LSTM":\n        raise ValueError("proj_size 只有 LSTM 支持")\n', ""),
        True),
    "count_at_most_three_layers": ("recurrent_num_params", _edit(
        COUNT, "    for k in range(num_layers):\n", "    for k in range(min(num_layers, 3)):\n"), False),

    # final_states_from_output
    "states_both_halves_from_last_step": ("final_states_from_output", _edit(
        STATES, "backward_last = output[0, :, hidden_size:]", "backward_last = output[-1, :, hidden_size:]"), True),
    "states_batch_first_ignored": ("final_states_from_output", _edit(
        STATES, "    if batch_first:\n        output = output.transpose(0, 1)\n", ""), True),
    "states_halves_swapped": ("final_states_from_output", _edit(
        STATES, "forward_last = output[-1, :, :hidden_size]\n    backward_last = output[0, :, hidden_size:]",
        "forward_last = output[-1, :, hidden_size:]\n    backward_last = output[0, :, :hidden_size]"), True),
    "states_pair_swapped": ("final_states_from_output", _edit(
        STATES, "    return forward_last, backward_last\n", "    return backward_last, forward_last\n"), True),
    "states_whole_steps": ("final_states_from_output", _edit(
        STATES, "forward_last = output[-1, :, :hidden_size]\n    backward_last = output[0, :, hidden_size:]",
        "forward_last = output[-1]\n    backward_last = output[0]"), True),
    # (B, T, 2H) -> (T, B, 2H) by reshape: the elements regrouped, not the two dimensions swapped.
    "states_reshape_instead_of_transpose": ("final_states_from_output", _edit(
        STATES, "output = output.transpose(0, 1)", "output = output.reshape(output.shape[1], output.shape[0], -1)"),
        True),
    # The same with view: torch's batch_first output is not contiguous, so view raises.
    "states_view_instead_of_transpose": ("final_states_from_output", _edit(
        STATES, "output = output.transpose(0, 1)", "output = output.view(output.shape[1], output.shape[0], -1)"),
        True),
    "states_squeeze_breaks_batch_one": ("final_states_from_output", _edit(
        STATES, "    return forward_last, backward_last\n", "    return forward_last.squeeze(), backward_last.squeeze()\n"),
        False),

    # manual_bidirectional_rnn
    "manual_backward_outputs_in_reversed_order": ("manual_bidirectional_rnn", _edit(
        MANUAL, "        for suffix, order in ((f\"_l{k}\", range(T)), (f\"_l{k}_reverse\", range(T - 1, -1, -1))):\n",
        "        for suffix, order in ((f\"_l{k}\", range(T)), (f\"_l{k}_reverse\", range(T - 1, -1, -1))):\n"
        "            reverse = suffix.endswith(\"_reverse\")\n").replace(
        "                by_time[t] = h\n", "                by_time[T - 1 - t if reverse else t] = h\n"), True),
    # Every output written at T-1-t: the backward half left in its processing order, the forward half reversed.
    "manual_both_directions_outputs_reversed": ("manual_bidirectional_rnn", _edit(
        MANUAL, "                by_time[t] = h\n", "                by_time[T - 1 - t] = h\n"), True),
    "manual_h_n_by_direction": ("manual_bidirectional_rnn", _edit(
        MANUAL, "    return layer_input, torch.stack(h_n)\n", "    return layer_input, torch.stack(h_n[0::2] + h_n[1::2])\n"),
        True),
    "manual_no_reverse_direction": ("manual_bidirectional_rnn", _edit(
        MANUAL, '(f"_l{k}", range(T)), (f"_l{k}_reverse", range(T - 1, -1, -1))', '(f"_l{k}", range(T)),'), True),
    "manual_upper_layers_forward_only": ("manual_bidirectional_rnn", _edit(
        MANUAL, "        layer_input = torch.cat(halves, dim=-1)\n", "        layer_input = halves[0]\n").replace(
        "    return layer_input, torch.stack(h_n)\n", "    return torch.cat(halves, dim=-1), torch.stack(h_n)\n"), True),
    "manual_reverse_not_flipped": ("manual_bidirectional_rnn", _edit(
        MANUAL, '(f"_l{k}_reverse", range(T - 1, -1, -1))', '(f"_l{k}_reverse", range(T))'), True),
    "manual_reverse_uses_forward_weights": ("manual_bidirectional_rnn", _edit(
        MANUAL, "        for suffix, order in", "        for _, order in").replace(
        "            w_ih = getattr", '            suffix = f"_l{k}"\n            w_ih = getattr'), True),
    "manual_upper_input_backward_first": ("manual_bidirectional_rnn", _edit(
        MANUAL, "        layer_input = torch.cat(halves, dim=-1)\n",
        "        layer_input = torch.cat(halves, dim=-1) if k == rnn.num_layers - 1 else torch.cat(halves[::-1], dim=-1)\n"),
        True),
    "manual_h_n_backward_after_one_step": ("manual_bidirectional_rnn", _edit(
        MANUAL, "            h_n.append(h)\n", "            h_n.append(by_time[-1])\n"), True),
    "manual_stack_instead_of_cat": ("manual_bidirectional_rnn", _edit(
        MANUAL, "    return layer_input, torch.stack(h_n)\n",
        "    return torch.stack(halves, dim=2), torch.stack(h_n)\n"), True),
    # torch's kernel through torch.ops.aten (refused like torch.rnn_tanh)
    "manual_aten_rnn_kernel": ("manual_bidirectional_rnn", '''\
def manual_bidirectional_rnn(rnn, x):
    h0 = torch.zeros(2 * rnn.num_layers, x.shape[1], rnn.hidden_size)
    output, h_n = torch.ops.aten.rnn_tanh.input(x, h0, list(rnn.parameters()), True, rnn.num_layers, 0.0, False,
                                                True, False)
    return output, h_n
''', True),
    "manual_calls_the_module": ("manual_bidirectional_rnn", '''\
def manual_bidirectional_rnn(rnn, x):
    return rnn(x)
''', True),
    "manual_detached": ("manual_bidirectional_rnn", _edit(
        MANUAL, "    return layer_input, torch.stack(h_n)\n", "    return layer_input.detach(), torch.stack(h_n).detach()\n"),
        True),
    "manual_squeeze_breaks_batch_one": ("manual_bidirectional_rnn", _edit(
        MANUAL, "                by_time[t] = h\n", "                by_time[t] = h.squeeze()\n"), False),
    "manual_at_most_three_layers": ("manual_bidirectional_rnn", _edit(
        MANUAL, "    for k in range(rnn.num_layers):\n", "    for k in range(min(rnn.num_layers, 3)):\n"), False),
}
