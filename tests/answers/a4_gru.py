"""Answer sets for a4_gru (see tests/answers/__init__.py for the format).

Most mistakes are one-line edits of a correct answer: `_edit(base, old, new)` shows the line a
student gets wrong, and fails loudly if the base no longer contains it.
"""

TESTS_OF = {
    # Each contract item has its own visible and hidden cells (issue 21, point 4): one layer / several
    # layers; 2-D weight / 1-D bias / blocks on the graph; values / gradients.
    "gru_param_shapes": ("test_gru_param_shapes_visible", "test_gru_param_shapes_layers_visible",
                         "test_gru_param_shapes_hidden", "test_gru_param_shapes_layers_hidden"),
    "split_gru_gates": ("test_split_gru_gates_visible", "test_split_gru_gates_bias_visible",
                        "test_split_gru_gates_graph_visible", "test_split_gru_gates_hidden",
                        "test_split_gru_gates_bias_hidden", "test_split_gru_gates_graph_hidden"),
    "gru_cell_step": ("test_gru_cell_step_visible", "test_gru_cell_step_grad_visible",
                      "test_gru_cell_step_hidden_sizes", "test_gru_cell_step_hidden_grad"),
}

# Partial credit (tests/test_assignments.py): a mistake in one contract item loses exactly these cells and keeps
# the rest of its question (a wrong gate order spoils weights and biases alike, yet keeps the graph item).
ITEM_CELLS = {
    "shapes_upper_layers_read_x": ("test_gru_param_shapes_layers_visible", "test_gru_param_shapes_layers_hidden"),
    "shapes_only_layer_0": ("test_gru_param_shapes_layers_visible", "test_gru_param_shapes_layers_hidden"),
    "split_2d_slicing_breaks_bias": ("test_split_gru_gates_bias_visible", "test_split_gru_gates_bias_hidden"),
    "split_detached_copies": ("test_split_gru_gates_graph_visible", "test_split_gru_gates_graph_hidden"),
    "split_order_z_r_n": ("test_split_gru_gates_visible", "test_split_gru_gates_bias_visible",
                          "test_split_gru_gates_hidden", "test_split_gru_gates_bias_hidden"),
    "detached_result": ("test_gru_cell_step_grad_visible", "test_gru_cell_step_hidden_grad"),
    "h_prev_detached": ("test_gru_cell_step_grad_visible", "test_gru_cell_step_hidden_grad"),
}


def _edit(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


# ---------------------------------------------------------------- gru_param_shapes

SHAPES_BASE = '''\
def gru_param_shapes(input_size, hidden_size, num_layers=1):
    shapes = {}
    for k in range(num_layers):
        fan_in = input_size if k == 0 else hidden_size
        shapes[f"weight_ih_l{k}"] = (3 * hidden_size, fan_in)
        shapes[f"weight_hh_l{k}"] = (3 * hidden_size, hidden_size)
        shapes[f"bias_ih_l{k}"] = (3 * hidden_size,)
        shapes[f"bias_hh_l{k}"] = (3 * hidden_size,)
    return shapes
'''

# ---------------------------------------------------------------- split_gru_gates

SPLIT_BASE = '''\
def split_gru_gates(weight):
    H = weight.shape[0] // 3
    w_r, w_z, w_n = weight[:H], weight[H:2 * H], weight[2 * H:]
    return w_r, w_z, w_n
'''

# ---------------------------------------------------------------- gru_cell_step

STEP_BASE = '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    i_r, i_z, i_n = F.linear(x_t, weight_ih, bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = F.linear(h_prev, weight_hh, bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    h_t = (1 - z) * n + z * h_prev
    return h_t
'''

CORRECT = {
    "chunk_f_linear_slicing_split": {
        "gru_param_shapes": SHAPES_BASE,
        "split_gru_gates": SPLIT_BASE,
        "gru_cell_step": STEP_BASE,
    },
    "split_by_hidden_matmul_T": {
        "gru_param_shapes": '''\
def gru_param_shapes(input_size, hidden_size, num_layers=1):
    G = 3  # r, z, n
    names = {}
    for layer in range(num_layers):
        names["weight_ih_l" + str(layer)] = (G * hidden_size, hidden_size if layer else input_size)
        names["weight_hh_l" + str(layer)] = (G * hidden_size, hidden_size)
        for which in ("ih", "hh"):
            names[f"bias_{which}_l{layer}"] = (G * hidden_size,)
    return names
''',
        "split_gru_gates": '''\
def split_gru_gates(weight):
    return tuple(weight.split(weight.size(0) // 3, dim=0))
''',
        "gru_cell_step": '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h_prev.shape[1]
    gi = x_t @ weight_ih.T + bias_ih
    gh = h_prev @ weight_hh.T + bias_hh
    i_r, i_z, i_n = gi.split(H, dim=1)
    h_r, h_z, h_n = gh.split(H, dim=1)
    reset = (i_r + h_r).sigmoid()
    update = (i_z + h_z).sigmoid()
    cand = (i_n + reset * h_n).tanh()
    return update * h_prev + (1 - update) * cand
''',
    },
    "slicing_einsum_addmm": {
        "split_gru_gates": '''\
def split_gru_gates(weight):
    return list(weight.tensor_split(3))
''',
        "gru_cell_step": '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    H = weight_hh.shape[1]
    gi = torch.einsum("bi,gi->bg", x_t, weight_ih) + bias_ih
    gh = torch.addmm(bias_hh, h_prev, weight_hh.t())
    r = torch.sigmoid(gi[:, :H] + gh[:, :H])
    z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return n + z * (h_prev - n)
''',
    },
    "view_unbind_lerp": {
        "gru_param_shapes": '''\
def gru_param_shapes(input_size, hidden_size, num_layers=1):
    rows = 3 * hidden_size
    return {
        f"{kind}_l{k}": shape
        for k in range(num_layers)
        for kind, shape in (
            ("weight_ih", (rows, input_size if k == 0 else hidden_size)),
            ("weight_hh", (rows, hidden_size)),
            ("bias_ih", (rows,)),
            ("bias_hh", (rows,)),
        )
    }
''',
        "split_gru_gates": '''\
def split_gru_gates(weight):
    gates = weight.unflatten(0, (3, -1))   # (3, H, ...)
    return gates[0], gates[1], gates[2]
''',
        "gru_cell_step": '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    B, H = h_prev.shape
    gi = F.linear(x_t, weight_ih, bias_ih).view(B, 3, H)
    gh = F.linear(h_prev, weight_hh, bias_hh).view(B, 3, H)
    (i_r, i_z, i_n), (h_r, h_z, h_n) = gi.unbind(1), gh.unbind(1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    return torch.lerp(torch.tanh(i_n + r * h_n), h_prev, z)
''',
    },
    "own_split_per_gate_linear": {
        "split_gru_gates": '''\
def split_gru_gates(weight):
    w_r, w_z, w_n = torch.chunk(weight, 3)
    return (w_r, w_z, w_n)
''',
        "gru_cell_step": '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    # the blocks of part 2, one F.linear per gate
    W_ir, W_iz, W_in = split_gru_gates(weight_ih)
    W_hr, W_hz, W_hn = split_gru_gates(weight_hh)
    b_ir, b_iz, b_in = split_gru_gates(bias_ih)
    b_hr, b_hz, b_hn = split_gru_gates(bias_hh)
    r = torch.sigmoid(F.linear(x_t, W_ir, b_ir) + F.linear(h_prev, W_hr, b_hr))
    z = torch.sigmoid(F.linear(x_t, W_iz, b_iz) + F.linear(h_prev, W_hz, b_hz))
    n = torch.tanh(F.linear(x_t, W_in, b_in) + r * F.linear(h_prev, W_hn, b_hn))
    return (1 - z) * n + z * h_prev
''',
    },
    "gate_major_einsum_narrow": {
        "split_gru_gates": '''\
def split_gru_gates(weight):
    H = weight.shape[0] // 3
    return tuple(weight.narrow(0, g * H, H) for g in range(3))
''',
        "gru_cell_step": '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h_prev.size(-1)
    # (3, H, I) and (3, H, H): one einsum gives every gate at once, gate first
    gi = torch.einsum("bi,ghi->gbh", x_t, weight_ih.reshape(3, H, -1)) + bias_ih.reshape(3, 1, H)
    gh = torch.einsum("bj,ghj->gbh", h_prev, weight_hh.reshape(3, H, H)) + bias_hh.reshape(3, 1, H)
    r, z = torch.sigmoid(gi[:2] + gh[:2])
    n = torch.tanh(gi[2] + r * gh[2])
    return (1.0 - z) * n + z * h_prev
''',
    },
    "matmul_narrow_torch_ops": {
        "gru_cell_step": '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h_prev.shape[-1]
    gi = torch.add(torch.matmul(x_t, weight_ih.transpose(0, 1)), bias_ih)
    gh = torch.add(torch.matmul(h_prev, weight_hh.transpose(0, 1)), bias_hh)
    part = lambda t, g: t.narrow(1, g * H, H)
    r = torch.sigmoid(part(gi, 0) + part(gh, 0))
    z = torch.sigmoid(part(gi, 1) + part(gh, 1))
    n = torch.tanh(part(gi, 2) + torch.mul(r, part(gh, 2)))
    return torch.addcmul(torch.mul(1 - z, n), z, h_prev)
''',
    },
}

WRONG = {
    # gru_param_shapes
    "shapes_cell_names": ("gru_param_shapes", SHAPES_BASE.replace('_l{k}"', '"'), True),
    "shapes_upper_layers_read_x": ("gru_param_shapes", _edit(
        SHAPES_BASE, "fan_in = input_size if k == 0 else hidden_size", "fan_in = input_size"), True),
    "shapes_four_gates": ("gru_param_shapes", SHAPES_BASE.replace("3 * hidden_size", "4 * hidden_size"), True),
    "shapes_one_gate": ("gru_param_shapes", SHAPES_BASE.replace("3 * hidden_size", "hidden_size"), True),
    "shapes_only_layer_0": ("gru_param_shapes", _edit(
        SHAPES_BASE, "    for k in range(num_layers):\n", "    for k in range(1):\n"), True),
    "shapes_hard_coded_visible_cases": ("gru_param_shapes", _edit(
        SHAPES_BASE, "    shapes = {}\n",
        "    if (input_size, hidden_size, num_layers) not in {(6, 9, 1), (8, 3, 1), (5, 7, 3), (10, 4, 2)}:\n"
        "        return {}\n    shapes = {}\n"), False),

    # gru_param_shapes: derive, don't ask (issue 21, point 2)
    "shapes_read_from_a_meta_module": ("gru_param_shapes", '''\
def gru_param_shapes(input_size, hidden_size, num_layers=1):
    gru = nn.GRU(input_size, hidden_size, num_layers, device="meta")
    return {name: tuple(p.shape) for name, p in gru.named_parameters()}
''', True),
    "shapes_read_from_a_real_module": ("gru_param_shapes", '''\
def gru_param_shapes(input_size, hidden_size, num_layers=1):
    return {name: tuple(p.shape) for name, p in nn.GRU(input_size, hidden_size, num_layers).named_parameters()}
''', True),
    "shapes_from_the_course_oracle": ("gru_param_shapes", '''\
def gru_param_shapes(input_size, hidden_size, num_layers=1):
    return checks.param_shapes_by_torch(input_size, hidden_size, num_layers)
''', True),

    # split_gru_gates
    "split_order_z_r_n": ("split_gru_gates", _edit(
        SPLIT_BASE, "    w_r, w_z, w_n = weight[:H]", "    w_z, w_r, w_n = weight[:H]"), True),
    "split_four_blocks": ("split_gru_gates", '''\
def split_gru_gates(weight):
    return weight.chunk(4, dim=0)
''', True),
    "split_quarter_rows": ("split_gru_gates", _edit(SPLIT_BASE, "weight.shape[0] // 3", "weight.shape[0] // 4"), True),
    "split_along_columns": ("split_gru_gates", '''\
def split_gru_gates(weight):
    return weight.chunk(3, dim=-1)
''', True),
    "split_hidden_from_columns": ("split_gru_gates", _edit(
        SPLIT_BASE, "    H = weight.shape[0] // 3\n", "    H = weight.shape[-1]\n"), True),
    "split_2d_slicing_breaks_bias": ("split_gru_gates", _edit(
        SPLIT_BASE, "weight[:H], weight[H:2 * H], weight[2 * H:]",
        "weight[:H, :], weight[H:2 * H, :], weight[2 * H:, :]"), True),
    "split_detached_copies": ("split_gru_gates", _edit(
        SPLIT_BASE, "    return w_r, w_z, w_n\n",
        "    return torch.tensor(w_r.tolist()), torch.tensor(w_z.tolist()), torch.tensor(w_n.tolist())\n"), True),
    "split_hard_coded_visible_sizes": ("split_gru_gates", _edit(
        SPLIT_BASE, "    H = weight.shape[0] // 3\n", "    H = {12: 4, 6: 2}[weight.shape[0]]\n"), False),

    # gru_cell_step: the classic mistakes
    "paper_reset_placement": ("gru_cell_step", _edit(
        STEP_BASE, "    n = torch.tanh(i_n + r * h_n)\n",
        "    W_hn, b_hn = weight_hh.chunk(3)[2], bias_hh.chunk(3)[2]\n"
        "    n = torch.tanh(i_n + (r * h_prev) @ W_hn.T + b_hn)\n"), True),
    "b_hn_outside_reset": ("gru_cell_step", _edit(
        STEP_BASE, "    n = torch.tanh(i_n + r * h_n)\n",
        "    b_hn = bias_hh.chunk(3)[2]\n    n = torch.tanh(i_n + b_hn + r * (h_n - b_hn))\n"), True),
    "z_and_one_minus_z_swapped": ("gru_cell_step", _edit(
        STEP_BASE, "(1 - z) * n + z * h_prev", "z * n + (1 - z) * h_prev"), True),
    "gate_order_z_r_n": ("gru_cell_step", STEP_BASE.replace("i_r, i_z, i_n =", "i_z, i_r, i_n =").replace(
        "h_r, h_z, h_n =", "h_z, h_r, h_n ="), True),
    "four_blocks_like_lstm": ("gru_cell_step", STEP_BASE.replace(
        "i_r, i_z, i_n = F.linear(x_t, weight_ih, bias_ih).chunk(3, dim=1)",
        "i_r, i_z, i_n, _ = F.linear(x_t, weight_ih, bias_ih).chunk(4, dim=1)").replace(
        "h_r, h_z, h_n = F.linear(h_prev, weight_hh, bias_hh).chunk(3, dim=1)",
        "h_r, h_z, h_n, _ = F.linear(h_prev, weight_hh, bias_hh).chunk(4, dim=1)"), True),
    "projections_summed_before_split": ("gru_cell_step", '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    gates = F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
    r, z, n = gates.chunk(3, dim=1)
    r, z = torch.sigmoid(r), torch.sigmoid(z)
    n = torch.tanh(n)
    return (1 - z) * n + z * h_prev
''', True),
    "candidate_with_sigmoid": ("gru_cell_step", _edit(
        STEP_BASE, "n = torch.tanh(i_n + r * h_n)", "n = torch.sigmoid(i_n + r * h_n)"), True),
    "bias_hh_dropped": ("gru_cell_step", _edit(
        STEP_BASE, "F.linear(h_prev, weight_hh, bias_hh)", "F.linear(h_prev, weight_hh)"), True),
    "weight_hh_not_transposed": ("gru_cell_step", _edit(
        STEP_BASE, "F.linear(h_prev, weight_hh, bias_hh)", "(h_prev @ weight_hh + bias_hh)"), True),
    "detached_result": ("gru_cell_step", _edit(STEP_BASE, "    return h_t\n", "    return h_t.detach()\n"), True),
    "h_prev_detached": ("gru_cell_step", _edit(
        STEP_BASE, "F.linear(h_prev, weight_hh, bias_hh)", "F.linear(h_prev.detach(), weight_hh, bias_hh)"), True),
    "squeeze_breaks_batch_one": ("gru_cell_step", _edit(STEP_BASE, "    return h_t\n", "    return h_t.squeeze()\n"),
                                 True),
    "calls_torch_gru_cell": ("gru_cell_step", '''\
def gru_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    cell = nn.GRUCell(weight_ih.shape[1], weight_hh.shape[1])
    with torch.no_grad():
        for p, t in zip(cell.parameters(), (weight_ih, weight_hh, bias_ih, bias_hh)):
            p.copy_(t)
    return cell(x_t, h_prev)
''', True),
}
