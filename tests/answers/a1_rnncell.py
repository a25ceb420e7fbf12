"""Answers to assignment a1_rnncell: correct styles and plausible mistakes (plain data).

Used by tests/test_a1_grading.py (autograded through nbgrader) and tests/test_assignments.py
(test cells executed in one namespace). Each answer replaces one solution cell (by grade_id);
the other solution cells keep the reference answer.

TESTS_OF[grade_id]: the test cells (grade_ids) that grade that solution cell, the visible checks first
(a contract item has its own visible and hidden cells).
CORRECT[name]: {grade_id: code}; every one must get full marks.
WRONG[name]: (grade_id, code, caught_by_visible); each must lose points in TESTS_OF[grade_id] and
keep full marks elsewhere; caught_by_visible means the visible check (TESTS_OF[grade_id][0]) fails
too. Every mistake a visible check can see is caught there; a hard-coded answer sized for the
visible check is the exception.
ITEM_CELLS[name]: for a mistake of WRONG that gets one contract item wrong and the others right, the
test cells it loses: exactly that item's (partial credit, issue 21).
"""

STEP = "rnn_cell_step"
RUN = "run_rnn_cell"
SHAPES = "rnn_cell_param_shapes"

TESTS_OF = {
    STEP: ("test_rnn_cell_step_visible", "test_rnn_cell_step_bias_none_visible", "test_rnn_cell_step_relu_visible",
           "test_rnn_cell_step_hidden_sizes", "test_rnn_cell_step_bias_none_hidden", "test_rnn_cell_step_relu_hidden"),
    RUN: ("test_run_rnn_cell_visible", "test_run_rnn_cell_default_h0_visible", "test_run_rnn_cell_any_cell_visible",
          "test_run_rnn_cell_gradient_visible", "test_run_rnn_cell_hidden_sizes", "test_run_rnn_cell_default_h0_hidden",
          "test_run_rnn_cell_any_cell_hidden", "test_run_rnn_cell_gradient_hidden"),
    SHAPES: ("test_param_shapes_visible", "test_param_shapes_hidden"),
}

STEP_SIG = 'def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
RUN_SIG = "def run_rnn_cell(cell, x, h0=None):\n"
SHAPES_SIG = "def rnn_cell_param_shapes(input_size, hidden_size):\n"

# ------------------------------------------------------------ correct, in other styles
CORRECT = {
    "style_flinear": {STEP: STEP_SIG + """
    z = F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
    return F.relu(z) if nonlinearity == "relu" else torch.tanh(z)
"""},
    "style_einsum": {STEP: STEP_SIG + """
    z = torch.einsum("bi,hi->bh", x_t, weight_ih) + torch.einsum("bk,hk->bh", h_prev, weight_hh)
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    act = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
    return act(z)
"""},
    "style_addmm_rowloop": {STEP: STEP_SIG + """
    H = weight_hh.shape[0]
    b1 = bias_ih if bias_ih is not None else torch.zeros(H)
    b2 = bias_hh if bias_hh is not None else torch.zeros(H)
    rows = []
    for i in range(x_t.shape[0]):
        r = torch.addmv(b1, weight_ih, x_t[i]) + torch.addmv(b2, weight_hh, h_prev[i])
        rows.append(r)
    z = torch.stack(rows)
    return torch.clamp(z, min=0) if nonlinearity == "relu" else z.tanh()
""", RUN: RUN_SIG + """
    T, B, _ = x.shape
    out = x.new_empty(T, B, cell.hidden_size)
    h = torch.zeros(B, cell.hidden_size) if h0 is None else h0
    t = 0
    while t < T:
        h = rnn_cell_step(x[t], h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh,
                          nonlinearity=cell.nonlinearity)
        out[t] = h
        t += 1
    return out, out[-1]
"""},
    "style_library": {RUN: RUN_SIG + """
    rnn = nn.RNN(cell.input_size, cell.hidden_size, bias=cell.bias_ih is not None,
                 nonlinearity=cell.nonlinearity)
    rnn.weight_ih_l0 = cell.weight_ih
    rnn.weight_hh_l0 = cell.weight_hh
    if cell.bias_ih is not None:
        rnn.bias_ih_l0 = cell.bias_ih
        rnn.bias_hh_l0 = cell.bias_hh
    out, hn = rnn(x, None if h0 is None else h0[None])
    return out, hn[0]
""", SHAPES: SHAPES_SIG + """
    # torch.Size values read from plain tensors of the derived shapes (no module is built)
    H, I = hidden_size, input_size
    return {"weight_ih": torch.empty(H, I).shape, "weight_hh": torch.empty(H, H).shape,
            "bias_ih": torch.empty(H).shape, "bias_hh": torch.empty(H).shape}
"""},
    "style_unbind": {RUN: RUN_SIG + """
    hs = []
    h = h0
    for xt in x.unbind(0):
        h = cell(xt) if h is None else cell(xt, h)
        hs += [h]
    return torch.stack(hs, dim=0), hs[-1]
""", SHAPES: SHAPES_SIG + """
    H, I = hidden_size, input_size
    shapes = dict(weight_ih=(H, I), weight_hh=(H, H))
    shapes.update(bias_ih=(H,), bias_hh=(H,))
    return shapes
"""},
}

# ------------------------------------------------------------ plausible mistakes
WRONG = {
    # Right values in a float64 buffer: nn.RNN's outputs are float32, like x.
    "run_float64_buffer": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    outputs = torch.zeros(x.shape[0], x.shape[1], cell.hidden_size, dtype=torch.float64)
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outputs[t] = h
    return outputs, h
""", True),
    # Right values, but the caller's bias_ih is changed in place (b is not a copy).
    "bias_alias_inplace": (STEP, STEP_SIG + """
    b = bias_ih if bias_ih is not None else 0
    if bias_hh is not None:
        b += bias_hh
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T + b
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    "no_bias_hh": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        z = z + bias_ih
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    "no_transpose_hh": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    "no_transpose_at_all": (STEP, STEP_SIG + """
    z = x_t @ weight_ih + h_prev @ weight_hh + bias_ih + bias_hh
    return torch.tanh(z)
""", True),
    "bias_none_crashes": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    "ignores_nonlinearity": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    return torch.tanh(z)
""", True),
    "sigmoid": (STEP, STEP_SIG + """
    z = F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
    return torch.sigmoid(z)
""", True),
    "no_activation": (STEP, STEP_SIG + """
    return F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
""", True),
    # the biases are added only when both are given: a lone bias_ih (or bias_hh) is dropped
    "biases_only_when_both": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None and bias_hh is not None:
        z = z + bias_ih + bias_hh
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    # `if bias_ih:` on a tensor of several values raises
    "if_bias_truthy": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih:
        z = z + bias_ih
    if bias_hh:
        z = z + bias_hh
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    "sign_error": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T - h_prev @ weight_hh.T
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
""", True),
    "outputs_include_h0": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    outs = [h]
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs[:-1]), h
""", True),
    "random_default_h0": (RUN, RUN_SIG + """
    h = torch.randn(x.shape[1], cell.hidden_size) if h0 is None else h0
    outs = []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    "ignores_h0": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size)
    outs = []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    "returns_list": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return outs, h
""", True),
    "h_last_is_first": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), outs[0]
""", True),
    "batch_first_outputs": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs, dim=1), h
""", True),
    "detached_state": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h).detach()
        outs.append(h)
    return torch.stack(outs), h
""", True),
    # calls its own rnn_cell_step without the cell's nonlinearity (a relu cell runs as tanh)
    "run_ignores_nonlinearity": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    outs = []
    for t in range(x.shape[0]):
        h = rnn_cell_step(x[t], h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    # its own step, both biases added unconditionally: a bias=False cell (biases None) crashes
    "run_bias_false_crashes": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    act = torch.relu if cell.nonlinearity == "relu" else torch.tanh
    outs = []
    for t in range(x.shape[0]):
        h = act(x[t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    "no_grad_loop": (RUN, RUN_SIG + """
    h, outs = h0, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = cell(x[t], h)
            outs.append(h)
    return torch.stack(outs), h
""", True),
    # cuts the gradient between time steps (outputs still require grad)
    "detach_between_steps": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], None if h is None else h.detach())
        outs.append(h)
    return torch.stack(outs), h
""", True),
    # loops over the batch dimension as if x were (batch, seq, input)
    "batch_first_loop": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[1]):
        h = cell(x[:, t], h)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    "default_h0_1d": (RUN, RUN_SIG + """
    h = torch.zeros(cell.hidden_size) if h0 is None else h0
    outs = []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    "default_h0_float64": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size, dtype=torch.float64) if h0 is None else h0
    outs = []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h
""", True),
    "transposed_weight_ih": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (input_size, hidden_size), "weight_hh": (hidden_size, hidden_size),
            "bias_ih": (hidden_size,), "bias_hh": (hidden_size,)}
""", True),
    "hardcoded_visible_sizes": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (9, 6), "weight_hh": (9, 9), "bias_ih": (9,), "bias_hh": (9,)}
""", False),
    "bias_column": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size),
            "bias_ih": (hidden_size, 1), "bias_hh": (hidden_size, 1)}
""", True),
    # (hidden_size) is an int: the one-element tuple needs its comma
    "bias_shape_int": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size),
            "bias_ih": (hidden_size), "bias_hh": (hidden_size)}
""", True),
    # Derive, don't ask (issue 21, point 2): asking torch is refused while the function runs.
    "shapes_read_from_a_meta_module": (SHAPES, SHAPES_SIG + """
    cell = nn.RNNCell(input_size, hidden_size, device="meta")
    return {name: tuple(p.shape) for name, p in cell.named_parameters()}
""", True),
    "shapes_read_from_a_real_module": (SHAPES, SHAPES_SIG + """
    return {name: tuple(p.shape) for name, p in nn.RNNCell(input_size, hidden_size).named_parameters()}
""", True),
    "shapes_from_the_course_oracle": (SHAPES, SHAPES_SIG + """
    from rnnlab import oracles
    return oracles.param_shapes("RNNCell", input_size, hidden_size)
""", True),
    # The refusal caught, a formula as the fallback: the attempt is still recorded.
    "shapes_meta_module_refusal_caught": (SHAPES, SHAPES_SIG + """
    try:
        cell = nn.RNNCell(input_size, hidden_size, device="meta")
        return {name: tuple(p.shape) for name, p in cell.named_parameters()}
    except Exception:
        return {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size),
                "bias_ih": (hidden_size,), "bias_hh": (hidden_size,)}
""", True),
}

# One contract item wrong, the others right: only that item's cells are lost (visible and hidden).
_ITEM = {
    "bias_none": ("test_rnn_cell_step_bias_none_visible", "test_rnn_cell_step_bias_none_hidden"),
    "relu": ("test_rnn_cell_step_relu_visible", "test_rnn_cell_step_relu_hidden"),
    "default_h0": ("test_run_rnn_cell_default_h0_visible", "test_run_rnn_cell_default_h0_hidden"),
    "any_cell": ("test_run_rnn_cell_any_cell_visible", "test_run_rnn_cell_any_cell_hidden"),
    "gradient": ("test_run_rnn_cell_gradient_visible", "test_run_rnn_cell_gradient_hidden"),
    "run_main": ("test_run_rnn_cell_visible", "test_run_rnn_cell_hidden_sizes"),
}
ITEM_CELLS = {
    "bias_none_crashes": _ITEM["bias_none"],
    "biases_only_when_both": _ITEM["bias_none"],
    "ignores_nonlinearity": _ITEM["relu"],
    "random_default_h0": _ITEM["default_h0"],
    "default_h0_1d": _ITEM["default_h0"],
    "default_h0_float64": _ITEM["default_h0"],
    "run_ignores_nonlinearity": _ITEM["any_cell"],
    "run_bias_false_crashes": _ITEM["any_cell"],
    "detached_state": _ITEM["gradient"],
    "no_grad_loop": _ITEM["gradient"],
    "detach_between_steps": _ITEM["gradient"],
    "ignores_h0": _ITEM["run_main"],  # h0 given is the main case; the other items pass an all-zero h0
}
