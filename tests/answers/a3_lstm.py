"""Answer sets for a3_lstm (see tests/answers/__init__.py for the format).

Most mistakes are one-line edits of a correct answer (SHAPES, COUNT, SPLIT, STEP): `_edit(base, old, new)`
shows the line a student gets wrong, and fails loudly if the base no longer contains it.
"""

TESTS_OF = {
    # Each contract item has its own visible and hidden cells (issue 21, point 4): one layer / several
    # layers / proj_size; one layer / several layers / bias=False; 2-D weight / 1-D bias; values / gradients.
    "lstm_param_shapes": ("test_lstm_param_shapes_visible", "test_lstm_param_shapes_layers_visible",
                          "test_lstm_param_shapes_proj_visible", "test_lstm_param_shapes_hidden",
                          "test_lstm_param_shapes_layers_hidden", "test_lstm_param_shapes_proj_hidden"),
    "lstm_num_params": ("test_lstm_num_params_visible", "test_lstm_num_params_layers_visible",
                        "test_lstm_num_params_no_bias_visible", "test_lstm_num_params_hidden",
                        "test_lstm_num_params_layers_hidden", "test_lstm_num_params_no_bias_hidden"),
    "split_lstm_gates": ("test_split_lstm_gates_visible", "test_split_lstm_gates_bias_visible",
                         "test_split_lstm_gates_hidden", "test_split_lstm_gates_bias_hidden"),
    "lstm_cell_step": ("test_lstm_cell_step_visible", "test_lstm_cell_step_grad_visible",
                       "test_lstm_cell_step_hidden_sizes", "test_lstm_cell_step_hidden_grad"),
}

# Partial credit (tests/test_assignments.py): a mistake loses exactly these cells and keeps the rest of its
# question. A net with several layers AND a projection (or bias=False) belongs to the projection's (bias=False's)
# item, so a mistake about layer k >= 1 costs that item's cells too; Keras' one bias keeps only bias=False's.
ITEM_CELLS = {
    "shapes_proj_size_ignored": ("test_lstm_param_shapes_proj_visible", "test_lstm_param_shapes_proj_hidden"),
    "shapes_no_weight_hr": ("test_lstm_param_shapes_proj_visible", "test_lstm_param_shapes_proj_hidden"),
    "shapes_upper_layers_ignore_the_projection": ("test_lstm_param_shapes_proj_visible",
                                                  "test_lstm_param_shapes_proj_hidden"),
    "shapes_layer_k_takes_input_size": ("test_lstm_param_shapes_layers_visible", "test_lstm_param_shapes_layers_hidden",
                                        "test_lstm_param_shapes_proj_visible", "test_lstm_param_shapes_proj_hidden"),
    "count_bias_flag_ignored": ("test_lstm_num_params_no_bias_visible", "test_lstm_num_params_no_bias_hidden"),
    "count_bias_flag_ignored_above_layer_0": ("test_lstm_num_params_no_bias_visible",
                                              "test_lstm_num_params_no_bias_hidden"),
    "count_layer_k_takes_input_size": ("test_lstm_num_params_layers_visible", "test_lstm_num_params_layers_hidden",
                                       "test_lstm_num_params_no_bias_visible", "test_lstm_num_params_no_bias_hidden"),
    "count_one_bias_per_layer_keras": ("test_lstm_num_params_visible", "test_lstm_num_params_layers_visible",
                                       "test_lstm_num_params_hidden", "test_lstm_num_params_layers_hidden"),
    "split_assumes_a_matrix": ("test_split_lstm_gates_bias_visible", "test_split_lstm_gates_bias_hidden"),
    "split_bias_kept_2d": ("test_split_lstm_gates_bias_visible", "test_split_lstm_gates_bias_hidden"),
    "step_detached": ("test_lstm_cell_step_grad_visible", "test_lstm_cell_step_hidden_grad"),
    "step_h_prev_detached": ("test_lstm_cell_step_grad_visible", "test_lstm_cell_step_hidden_grad"),
}


def _edit(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


SHAPES = '''\
def lstm_param_shapes(input_size, hidden_size, num_layers=1, proj_size=0):
    h_out = proj_size if proj_size else hidden_size
    shapes = {}
    for k in range(num_layers):
        shapes[f"weight_ih_l{k}"] = (4 * hidden_size, input_size if k == 0 else h_out)
        shapes[f"weight_hh_l{k}"] = (4 * hidden_size, h_out)
        shapes[f"bias_ih_l{k}"] = (4 * hidden_size,)
        shapes[f"bias_hh_l{k}"] = (4 * hidden_size,)
        if proj_size:
            shapes[f"weight_hr_l{k}"] = (proj_size, hidden_size)
    return shapes
'''

COUNT = '''\
def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    total = 0
    for k in range(num_layers):
        n_in = input_size if k == 0 else hidden_size
        total += 4 * hidden_size * n_in + 4 * hidden_size * hidden_size
        if bias:
            total += 2 * 4 * hidden_size
    return total
'''

SPLIT = '''\
def split_lstm_gates(weight):
    w_i, w_f, w_g, w_o = weight.chunk(4, dim=0)
    return w_i, w_f, w_g, w_o
'''

STEP = '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    gates = F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h_t = torch.sigmoid(o) * torch.tanh(c_t)
    return h_t, c_t
'''

CORRECT = {
    "loops_chunk_f_linear": {
        "lstm_param_shapes": SHAPES, "lstm_num_params": COUNT, "split_lstm_gates": SPLIT, "lstm_cell_step": STEP,
    },
    "torch_size_and_meta_tensors_and_torch_split": {
        "lstm_param_shapes": '''\
def lstm_param_shapes(input_size, hidden_size, num_layers=1, proj_size=0):
    # Derived shapes held as torch.Size (plain tensors on the meta device: no module is built).
    out = proj_size or hidden_size
    shapes = {}
    for k in range(num_layers):
        shapes[f"weight_ih_l{k}"] = torch.empty(4 * hidden_size, input_size if k == 0 else out, device="meta").shape
        shapes[f"weight_hh_l{k}"] = torch.Size([4 * hidden_size, out])
        shapes[f"bias_ih_l{k}"] = torch.Size([4 * hidden_size])
        shapes[f"bias_hh_l{k}"] = torch.Size([4 * hidden_size])
        if proj_size:
            shapes[f"weight_hr_l{k}"] = torch.Size([proj_size, hidden_size])
    return shapes
''',
        "lstm_num_params": '''\
def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    # numel of plain meta tensors of the derived shapes
    total = 0
    for k in range(num_layers):
        n_in = input_size if k == 0 else hidden_size
        shapes = [(4 * hidden_size, n_in), (4 * hidden_size, hidden_size)] + [(4 * hidden_size,)] * (2 if bias else 0)
        total += sum(torch.empty(s, device="meta").numel() for s in shapes)
    return total
''',
        "split_lstm_gates": '''\
def split_lstm_gates(weight):
    return torch.split(weight, weight.shape[0] // 4)
''',
        "lstm_cell_step": '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h_prev.shape[1]
    z = torch.addmm(bias_ih + bias_hh, x_t, weight_ih.t()) + h_prev.matmul(weight_hh.t())
    i, f, g, o = torch.split(z, H, dim=-1)
    c = torch.addcmul(f.sigmoid() * c_prev, i.sigmoid(), g.tanh())
    return o.sigmoid() * c.tanh(), c
''',
    },
    "slicing_and_closed_form": {
        "lstm_param_shapes": '''\
def lstm_param_shapes(input_size, hidden_size, num_layers=1, proj_size=0):
    G = 4 * hidden_size
    out = hidden_size if proj_size == 0 else proj_size
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] + (["weight_hr"] if proj_size > 0 else [])
    result = {}
    for layer in range(num_layers):
        dims = {"weight_ih": [G, out if layer else input_size], "weight_hh": [G, out], "bias_ih": [G],
                "bias_hh": [G], "weight_hr": [proj_size, hidden_size]}
        for n in names:
            result[n + "_l" + str(layer)] = tuple(dims[n])
    return result
''',
        "lstm_num_params": '''\
def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    H, b = hidden_size, 2 if bias else 0
    first = 4 * H * (input_size + H + b)
    others = 4 * H * (H + H + b)
    return first + (num_layers - 1) * others
''',
        "split_lstm_gates": '''\
def split_lstm_gates(weight):
    H = len(weight) // 4
    return weight[:H], weight[H:2 * H], weight[2 * H:3 * H], weight[3 * H:]
''',
        "lstm_cell_step": '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h_prev.shape[-1]
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T + bias_ih + bias_hh
    i = torch.sigmoid(z[:, :H])
    f = torch.sigmoid(z[:, H:2 * H])
    g = torch.tanh(z[:, 2 * H:3 * H])
    o = torch.sigmoid(z[:, 3 * H:])
    c_t = f * c_prev + i * g
    return o * torch.tanh(c_t), c_t
''',
    },
    "view_and_einsum": {
        "split_lstm_gates": '''\
def split_lstm_gates(weight):
    blocks = weight.view(4, weight.shape[0] // 4, *weight.shape[1:])
    return tuple(blocks.unbind(0))
''',
        "lstm_cell_step": '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    B, H = h_prev.shape
    W_ih = weight_ih.view(4, H, -1)              # gate, unit, input
    W_hh = weight_hh.view(4, H, H)
    z = torch.einsum("bi,ghi->gbh", x_t, W_ih) + torch.einsum("bj,ghj->gbh", h_prev, W_hh)
    z = z + (bias_ih + bias_hh).view(4, 1, H)
    i, f, g, o = z.unbind(0)
    c_t = f.sigmoid() * c_prev + i.sigmoid() * g.tanh()
    h_t = o.sigmoid() * c_t.tanh()
    return h_t, c_t
''',
    },
    "per_gate_with_own_split": {
        "split_lstm_gates": SPLIT,
        "lstm_cell_step": '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    # One gate at a time, from the blocks of question 3.
    Wi, Wh, bi, bh = (split_lstm_gates(p) for p in (weight_ih, weight_hh, bias_ih, bias_hh))
    pre = [F.linear(x_t, Wi[k], bi[k]) + F.linear(h_prev, Wh[k], bh[k]) for k in range(4)]
    input_gate, forget_gate, output_gate = torch.sigmoid(pre[0]), torch.sigmoid(pre[1]), torch.sigmoid(pre[3])
    candidate = torch.tanh(pre[2])
    memory = forget_gate * c_prev + input_gate * candidate
    hidden = output_gate * torch.tanh(memory)
    return (hidden, memory)
''',
    },
    "shapes_from_own_function_and_list_returns": {
        "lstm_param_shapes": SHAPES,
        "lstm_num_params": '''\
import math

def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    # Every shape of question 1, multiplied out; the biases left out when bias=False.
    shapes = lstm_param_shapes(input_size, hidden_size, num_layers)
    return sum(math.prod(s) for name, s in shapes.items() if bias or not name.startswith("bias"))
''',
        "split_lstm_gates": '''\
def split_lstm_gates(weight):
    n = weight.size(0) // 4
    return [weight.narrow(0, k * n, n) for k in range(4)]
''',
        "lstm_cell_step": '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    both = torch.cat([x_t, h_prev], dim=1) @ torch.cat([weight_ih, weight_hh], dim=1).T + bias_ih + bias_hh
    i, f, g, o = both.chunk(4, 1)
    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return [torch.sigmoid(o) * torch.tanh(c_t), c_t]
''',
    },
}

WRONG = {
    # lstm_param_shapes
    "shapes_transposed": ("lstm_param_shapes", _edit(
        SHAPES, "(4 * hidden_size, input_size if k == 0 else h_out)", "(input_size if k == 0 else h_out, 4 * hidden_size)"),
        True),
    "shapes_layer_k_takes_input_size": ("lstm_param_shapes", _edit(
        SHAPES, "(4 * hidden_size, input_size if k == 0 else h_out)", "(4 * hidden_size, input_size)"), True),
    "shapes_proj_size_ignored": ("lstm_param_shapes", _edit(
        SHAPES, "    h_out = proj_size if proj_size else hidden_size\n", "    h_out = hidden_size\n"), True),
    "shapes_no_weight_hr": ("lstm_param_shapes", _edit(
        SHAPES, '''        if proj_size:
            shapes[f"weight_hr_l{k}"] = (proj_size, hidden_size)
''', ""), True),
    "shapes_one_bias_per_layer": ("lstm_param_shapes", _edit(
        SHAPES, '        shapes[f"bias_hh_l{k}"] = (4 * hidden_size,)\n', ""), True),
    "shapes_one_gate_rows": ("lstm_param_shapes", SHAPES.replace("4 * hidden_size", "hidden_size"), True),
    "shapes_upper_layers_ignore_the_projection": ("lstm_param_shapes", _edit(
        SHAPES, "(4 * hidden_size, input_size if k == 0 else h_out)", "(4 * hidden_size, input_size if k == 0 else hidden_size)"),
        True),
    "shapes_cell_names_for_one_layer": ("lstm_param_shapes", _edit(
        SHAPES, "    return shapes\n",
        "    if num_layers == 1:\n        shapes = {k[:-3]: v for k, v in shapes.items()}\n    return shapes\n"), True),
    "shapes_hard_coded_visible_cases": ("lstm_param_shapes", _edit(
        SHAPES, "    return shapes\n",
        "    if (input_size, hidden_size) not in [(6, 5), (7, 4), (3, 8)]:\n"
        "        shapes = {k: (hidden_size, 4 * hidden_size) if k.startswith('weight_hh') else v for k, v in shapes.items()}\n"
        "    return shapes\n"), False),

    # lstm_param_shapes: derive, don't ask (issue 21, point 2)
    "shapes_read_from_a_meta_module": ("lstm_param_shapes", '''\
def lstm_param_shapes(input_size, hidden_size, num_layers=1, proj_size=0):
    lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, proj_size=proj_size, device="meta")
    return {name: tuple(p.shape) for name, p in lstm.named_parameters()}
''', True),
    "shapes_read_from_a_real_module": ("lstm_param_shapes", '''\
def lstm_param_shapes(input_size, hidden_size, num_layers=1, proj_size=0):
    lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, proj_size=proj_size)
    return {name: tuple(p.shape) for name, p in lstm.named_parameters()}
''', True),
    "shapes_from_the_course_oracle": ("lstm_param_shapes", '''\
def lstm_param_shapes(input_size, hidden_size, num_layers=1, proj_size=0):
    return checks.shapes_by_torch(input_size, hidden_size, num_layers, proj_size)
''', True),

    # lstm_num_params
    "count_one_bias_per_layer_keras": ("lstm_num_params", _edit(
        COUNT, "total += 2 * 4 * hidden_size", "total += 4 * hidden_size"), True),
    "count_layer_k_takes_input_size": ("lstm_num_params", _edit(
        COUNT, "n_in = input_size if k == 0 else hidden_size", "n_in = input_size"), True),
    "count_bias_flag_ignored": ("lstm_num_params", _edit(COUNT, "        if bias:\n", "        if True:\n"), True),
    "count_bias_flag_ignored_above_layer_0": ("lstm_num_params", _edit(
        COUNT, "        if bias:\n", "        if bias or k > 0:\n"), True),
    "count_three_gates": ("lstm_num_params", COUNT.replace("4 * hidden_size", "3 * hidden_size"), True),
    "count_returns_float": ("lstm_num_params", _edit(
        COUNT, "    return total\n", "    return total * 1.0\n"), True),
    "count_at_most_three_layers": ("lstm_num_params", _edit(
        COUNT, "    for k in range(num_layers):\n", "    for k in range(min(num_layers, 3)):\n"), False),
    # lstm_num_params: derive, don't ask
    "count_from_a_meta_module": ("lstm_num_params", '''\
def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    lstm = nn.LSTM(input_size, hidden_size, num_layers=num_layers, bias=bias, device="meta")
    return sum(p.numel() for p in lstm.parameters())
''', True),
    "count_from_a_real_module": ("lstm_num_params", '''\
def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    return sum(p.numel() for p in nn.LSTM(input_size, hidden_size, num_layers=num_layers, bias=bias).parameters())
''', True),
    "count_from_the_course_oracle": ("lstm_num_params", '''\
def lstm_num_params(input_size, hidden_size, num_layers=1, bias=True):
    return checks.count_by_torch(input_size, hidden_size, num_layers, bias)
''', True),

    # split_lstm_gates
    "split_order_i_f_o_g": ("split_lstm_gates", _edit(
        SPLIT, "w_i, w_f, w_g, w_o = weight.chunk(4, dim=0)", "w_i, w_f, w_o, w_g = weight.chunk(4, dim=0)"), True),
    "split_along_columns": ("split_lstm_gates", _edit(SPLIT, "chunk(4, dim=0)", "chunk(4, dim=-1)"), True),
    "split_assumes_a_matrix": ("split_lstm_gates", '''\
def split_lstm_gates(weight):
    H = weight.shape[0] // 4
    return tuple(weight[k * H:(k + 1) * H, :] for k in range(4))
''', True),
    "split_interleaved_view": ("split_lstm_gates", '''\
def split_lstm_gates(weight):
    H = weight.shape[0] // 4
    return tuple(weight.view(H, 4, *weight.shape[1:]).transpose(0, 1))
''', True),
    "split_bias_kept_2d": ("split_lstm_gates", '''\
def split_lstm_gates(weight):
    H = weight.shape[0] // 4
    return tuple(weight.reshape(4, H, -1))
''', True),
    "split_squeezes_blocks": ("split_lstm_gates", _edit(
        SPLIT, "    return w_i, w_f, w_g, w_o\n", "    return tuple(w.squeeze() for w in (w_i, w_f, w_g, w_o))\n"), False),

    # lstm_cell_step
    "step_gate_order_i_f_o_g": ("lstm_cell_step", _edit(
        STEP, "i, f, g, o = gates.chunk(4, dim=1)", "i, f, o, g = gates.chunk(4, dim=1)"), True),
    "step_no_tanh_on_the_cell": ("lstm_cell_step", _edit(
        STEP, "h_t = torch.sigmoid(o) * torch.tanh(c_t)", "h_t = torch.sigmoid(o) * c_t"), True),
    "step_returns_c_then_h": ("lstm_cell_step", _edit(STEP, "    return h_t, c_t\n", "    return c_t, h_t\n"), True),
    "step_bias_hh_forgotten": ("lstm_cell_step", _edit(
        STEP, "F.linear(h_prev, weight_hh, bias_hh)", "F.linear(h_prev, weight_hh)"), True),
    "step_sigmoid_on_every_gate": ("lstm_cell_step", _edit(
        STEP, "torch.sigmoid(i) * torch.tanh(g)", "torch.sigmoid(i) * torch.sigmoid(g)"), True),
    "step_chunks_the_batch": ("lstm_cell_step", _edit(STEP, "gates.chunk(4, dim=1)", "gates.chunk(4, dim=0)"), True),
    "step_in_place_on_c_prev": ("lstm_cell_step", _edit(
        STEP, "    c_t = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)\n",
        "    c_prev *= torch.sigmoid(f)\n    c_t = c_prev + torch.sigmoid(i) * torch.tanh(g)\n"), True),
    "step_detached": ("lstm_cell_step", _edit(
        STEP, "    return h_t, c_t\n", "    return h_t.detach(), c_t.detach()\n"), True),
    "step_h_prev_detached": ("lstm_cell_step", _edit(
        STEP, "F.linear(h_prev, weight_hh, bias_hh)", "F.linear(h_prev.detach(), weight_hh, bias_hh)"), True),
    "step_calls_lstm_cell": ("lstm_cell_step", '''\
def lstm_cell_step(x_t, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return torch.lstm_cell(x_t, (h_prev, c_prev), weight_ih, weight_hh, bias_ih, bias_hh)
''', True),
    "step_squeezes_the_batch": ("lstm_cell_step", _edit(
        STEP, "    return h_t, c_t\n", "    return h_t.squeeze(), c_t.squeeze()\n"), False),
}
