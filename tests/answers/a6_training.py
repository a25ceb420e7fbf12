"""Answer sets for a6_training (see tests/answers/__init__.py for the format).

Most mistakes are one-line edits of a correct function (LOSS, DETACH, LAST, ENCODE, STEP):
`_edit(base, old, new)` shows the line a student gets wrong, and fails loudly if the base no
longer contains it. ITEM_CELLS: mistakes in one contract item with points of its own, and
exactly the cells they lose.
"""

TESTS_OF = {
    "masked_mean_loss": ("test_masked_mean_loss_visible", "test_masked_mean_loss_hidden"),
    # The tensor, the (h, c) tuple and None are contract items with their own points.
    "detach_state": ("test_detach_state_visible", "test_detach_state_tuple_visible", "test_detach_state_none_visible",
                     "test_detach_state_hidden", "test_detach_state_tuple_hidden", "test_detach_state_none_hidden"),
    # batch_first=False has its own points.
    "last_valid_output": ("test_last_valid_output_visible", "test_last_valid_output_time_major_visible",
                          "test_last_valid_output_hidden", "test_last_valid_output_time_major_hidden"),
    # Two directions have their own points.
    "encode": ("test_encode_visible", "test_encode_bidirectional_visible",
               "test_encode_hidden", "test_encode_bidirectional_hidden"),
    # The update and the norm returned have their own points.
    "clipped_step": ("test_clipped_step_visible", "test_clipped_step_norm_visible",
                     "test_clipped_step_hidden", "test_clipped_step_norm_hidden"),
}


def _edit(base: str, old: str, new: str) -> str:
    assert old in base, old
    return base.replace(old, new)


# ---------------------------------------------------------------- correct bases

LOSS = '''\
def masked_mean_loss(logits, targets, lengths):
    B, T, C = logits.shape
    lengths = torch.as_tensor(lengths)
    mask = torch.arange(T) < lengths[:, None]
    per_position = F.cross_entropy(logits.reshape(B * T, C), targets.reshape(B * T), reduction="none")
    return (per_position.view(B, T) * mask).sum() / mask.sum()
'''

DETACH = '''\
def detach_state(state):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()
'''

LAST = '''\
def last_valid_output(output, lengths, batch_first=True):
    if not batch_first:
        output = output.transpose(0, 1)
    lengths = torch.as_tensor(lengths)
    return output[torch.arange(output.shape[0]), lengths - 1]
'''

ENCODE = '''\
def encode(rnn, embedded, lengths):
    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    _, state = rnn(packed)
    h_n = state[0] if isinstance(state, tuple) else state
    if rnn.bidirectional:
        return torch.cat((h_n[-2], h_n[-1]), dim=1)
    return h_n[-1]
'''

STEP = '''\
def clipped_step(parameters, optimizer, loss, max_norm):
    optimizer.zero_grad()
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()
    return float(norm)
'''

CORRECT = {
    "mask_index_packed_zero_grad": {
        "masked_mean_loss": LOSS,
        "detach_state": DETACH,
        "last_valid_output": LAST,
        "encode": ENCODE,
        "clipped_step": STEP,
    },
    "packed_data_gather_sorted_by_hand": {
        "masked_mean_loss": '''\
def masked_mean_loss(logits, targets, lengths):
    # the valid positions of every sequence, one after another (pack_padded_sequence drops the padding)
    rows = pack_padded_sequence(logits, lengths, batch_first=True, enforce_sorted=False).data
    wanted = pack_padded_sequence(targets, lengths, batch_first=True, enforce_sorted=False).data
    return F.cross_entropy(rows, wanted)
''',
        "detach_state": '''\
def detach_state(state):
    if isinstance(state, torch.Tensor):
        return state.detach()
    if state is not None:
        h, c = state
        return (h.detach(), c.detach())
    return state
''',
        "last_valid_output": '''\
def last_valid_output(output, lengths, batch_first=True):
    seq = output if batch_first else output.permute(1, 0, 2)
    index = (torch.as_tensor(lengths) - 1).view(-1, 1, 1).expand(-1, 1, seq.shape[2])
    return seq.gather(1, index).squeeze(1)
''',
        "encode": '''\
def encode(rnn, embedded, lengths):
    lengths = torch.as_tensor(lengths)
    sorted_lengths, order = lengths.sort(descending=True)
    packed = pack_padded_sequence(embedded[order], sorted_lengths, batch_first=True)   # already sorted
    _, state = rnn(packed)
    h_n = state[0] if isinstance(state, tuple) else state
    D = 2 if rnn.bidirectional else 1
    top = h_n[-D:]                                  # (D, B, H), the top layer, forward first
    features = top.permute(1, 0, 2).reshape(top.shape[1], -1)
    return features[order.argsort()]                # back to the batch's own order
''',
        "clipped_step": '''\
def clipped_step(parameters, optimizer, loss, max_norm):
    for p in parameters:
        p.grad = None
    loss.backward()
    total = torch.sqrt(sum((p.grad ** 2).sum() for p in parameters))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in parameters:
            p.grad.mul_(scale)
    optimizer.step()
    return total.item()
''',
    },
    "loops_ignore_index_each_sequence_alone": {
        "masked_mean_loss": '''\
def masked_mean_loss(logits, targets, lengths):
    T, C = logits.shape[1], logits.shape[2]
    padding = torch.arange(T)[None, :] >= torch.as_tensor(lengths)[:, None]
    ignored = targets.masked_fill(padding, -100)          # a new tensor: the caller's targets stay
    return F.cross_entropy(logits.reshape(-1, C), ignored.reshape(-1), ignore_index=-100)
''',
        "detach_state": '''\
def detach_state(state):
    if state is None:
        return None
    if type(state) is tuple:
        return tuple(detach_state(s) for s in state)
    return state.data
''',
        "last_valid_output": '''\
def last_valid_output(output, lengths, batch_first=True):
    rows = []
    for b, n in enumerate(lengths):
        rows.append(output[b, n - 1] if batch_first else output[n - 1, b])
    return torch.stack(rows)
''',
        "encode": '''\
def encode(rnn, embedded, lengths):
    features = []
    for b, n in enumerate(lengths):
        _, state = rnn(embedded[b:b + 1, :int(n)])       # this sequence alone, no padding
        h_n = state[0] if isinstance(state, tuple) else state
        if rnn.bidirectional:
            features.append(torch.cat([h_n[-2, 0], h_n[-1, 0]]))
        else:
            features.append(h_n[-1, 0])
    return torch.stack(features)
''',
        "clipped_step": '''\
def clipped_step(parameters, optimizer, loss, max_norm):
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm=max_norm, norm_type=2.0)
    optimizer.step()
    return norm.item()
''',
    },
    "gather_one_hot_packed_output": {
        "masked_mean_loss": '''\
def masked_mean_loss(logits, targets, lengths):
    mask = (torch.arange(logits.shape[1]) < torch.tensor([int(n) for n in lengths]).unsqueeze(1)).to(logits.dtype)
    log_p = F.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -(log_p * mask).sum() / mask.sum()
''',
        "last_valid_output": '''\
def last_valid_output(output, lengths, batch_first=True):
    seq = output if batch_first else output.transpose(0, 1)
    pick = F.one_hot(torch.as_tensor(lengths) - 1, seq.shape[1]).to(seq.dtype)   # (B, T)
    return (seq * pick.unsqueeze(-1)).sum(dim=1)
''',
        "encode": '''\
def encode(rnn, embedded, lengths):
    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    out, lens = pad_packed_sequence(rnn(packed)[0], batch_first=True)
    H = rnn.hidden_size
    forward = out[torch.arange(out.shape[0]), lens - 1, :H]       # after its own last valid step
    if not rnn.bidirectional:
        return forward
    return torch.cat((forward, out[:, 0, H:]), dim=1)          # backward: after reading x[0]
''',
    },
    "loop_sum_typed_ranges_view_hand_norm": {
        "masked_mean_loss": '''\
def masked_mean_loss(logits, targets, lengths):
    total, count = 0.0, 0
    summed = torch.nn.CrossEntropyLoss(reduction="sum")
    for b in range(logits.shape[0]):
        n = int(lengths[b])
        total = total + summed(logits[b, :n], targets[b, :n])
        count += n
    return total / count
''',
        "detach_state": '''\
def detach_state(state):
    if state is None:
        return state
    if isinstance(state, (tuple, list)):
        return type(state)(x.detach() for x in state)
    return state.detach()
''',
        "last_valid_output": '''\
def last_valid_output(output, lengths, batch_first=True):
    last = [int(n) - 1 for n in lengths]
    if batch_first:
        return output[range(output.size(0)), last]
    return output[last, range(output.size(1))]
''',
        "encode": '''\
def encode(rnn, embedded, lengths):
    packed = nn.utils.rnn.pack_padded_sequence(embedded, torch.as_tensor(lengths).cpu(), batch_first=True,
                                               enforce_sorted=False)
    state = rnn(packed)[1]
    h = state[0] if rnn.mode == "LSTM" else state
    D = 2 if rnn.bidirectional else 1
    top = h.view(rnn.num_layers, D, h.shape[1], h.shape[2])[-1]     # (D, B, H): the last layer
    return torch.cat(list(top), dim=1)
''',
        "clipped_step": '''\
def clipped_step(parameters, optimizer, loss, max_norm):
    optimizer.zero_grad()
    loss.backward()
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if total > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    optimizer.step()
    return total.item()
''',
    },
}

WRONG = {
    # masked_mean_loss
    "loss_over_every_position": ("masked_mean_loss", '''\
def masked_mean_loss(logits, targets, lengths):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
''', True),
    "loss_divided_by_batch": ("masked_mean_loss", _edit(
        LOSS, "    return (per_position.view(B, T) * mask).sum() / mask.sum()\n",
        "    return (per_position.view(B, T) * mask).sum() / B\n"), True),
    "loss_divided_by_every_position": ("masked_mean_loss", _edit(
        LOSS, "    return (per_position.view(B, T) * mask).sum() / mask.sum()\n",
        "    return (per_position.view(B, T) * mask).sum() / (B * T)\n"), True),
    "loss_mean_of_sequence_means": ("masked_mean_loss", _edit(
        LOSS, "    return (per_position.view(B, T) * mask).sum() / mask.sum()\n",
        "    return ((per_position.view(B, T) * mask).sum(dim=1) / lengths).mean()\n"), True),
    "loss_one_position_too_many": ("masked_mean_loss", _edit(
        LOSS, "mask = torch.arange(T) < lengths[:, None]", "mask = torch.arange(T) <= lengths[:, None]"), True),
    "loss_ignore_index_zero": ("masked_mean_loss", '''\
def masked_mean_loss(logits, targets, lengths):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=0)
''', True),
    "loss_item": ("masked_mean_loss", _edit(
        LOSS, "    return (per_position.view(B, T) * mask).sum() / mask.sum()\n",
        "    return ((per_position.view(B, T) * mask).sum() / mask.sum()).item()\n"), True),
    "loss_lengths_list_not_converted": ("masked_mean_loss", _edit(
        LOSS, "    lengths = torch.as_tensor(lengths)\n", ""), True),
    "loss_targets_changed_in_place": ("masked_mean_loss", '''\
def masked_mean_loss(logits, targets, lengths):
    T, C = logits.shape[1], logits.shape[2]
    padding = torch.arange(T)[None, :] >= torch.as_tensor(lengths)[:, None]
    targets[padding] = -100                                 # the caller's targets changed
    return F.cross_entropy(logits.reshape(-1, C), targets.reshape(-1))
''', True),

    # detach_state
    "detach_returns_state_unchanged": ("detach_state", '''\
def detach_state(state):
    return state
''', True),
    "detach_clone": ("detach_state", _edit(DETACH, "    return state.detach()\n", "    return state.clone()\n"), True),
    "detach_in_place": ("detach_state", _edit(DETACH, "    return state.detach()\n", "    return state.detach_()\n"), True),
    "detach_resets_to_zeros": ("detach_state", _edit(
        DETACH, "    return state.detach()\n", "    return torch.zeros_like(state)\n"), True),
    "detach_only_h": ("detach_state", _edit(
        DETACH, "        return tuple(s.detach() for s in state)\n", "        return (state[0].detach(), state[1])\n"), True),
    "detach_tuple_as_list": ("detach_state", _edit(
        DETACH, "        return tuple(s.detach() for s in state)\n", "        return [s.detach() for s in state]\n"), True),
    "detach_len_two_means_tuple": ("detach_state", _edit(
        DETACH, "    if isinstance(state, tuple):\n", "    if len(state) == 2:\n"), True),
    "detach_none_not_handled": ("detach_state", _edit(
        DETACH, "    if state is None:\n        return None\n", ""), True),

    # last_valid_output
    "last_padded_last_step": ("last_valid_output", _edit(
        LAST, "    return output[torch.arange(output.shape[0]), lengths - 1]\n", "    return output[:, -1]\n"), True),
    "last_index_lengths": ("last_valid_output", _edit(
        LAST, "    return output[torch.arange(output.shape[0]), lengths - 1]\n",
        "    return output[torch.arange(output.shape[0]), lengths]\n"), True),
    "last_longest_length_for_all": ("last_valid_output", _edit(
        LAST, "    return output[torch.arange(output.shape[0]), lengths - 1]\n",
        "    return output[:, lengths.max() - 1]\n"), True),
    "last_batch_first_ignored": ("last_valid_output", _edit(
        LAST, "    if not batch_first:\n        output = output.transpose(0, 1)\n", ""), True),
    "last_detached": ("last_valid_output", _edit(
        LAST, "    return output[torch.arange(output.shape[0]), lengths - 1]\n",
        "    return output[torch.arange(output.shape[0]), lengths - 1].detach()\n"), True),
    # gather(...).squeeze() instead of squeeze(1): wrong only for a batch of 1 or hidden_size 1 (hidden tests)
    "last_squeeze_breaks_batch_one": ("last_valid_output", '''\
def last_valid_output(output, lengths, batch_first=True):
    seq = output if batch_first else output.transpose(0, 1)
    index = (torch.as_tensor(lengths) - 1).view(-1, 1, 1).expand(-1, 1, seq.shape[2])
    return seq.gather(1, index).squeeze()
''', False),

    # encode
    "encode_without_packing": ("encode", _edit(
        ENCODE, "    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)\n"
                "    _, state = rnn(packed)\n", "    _, state = rnn(embedded)\n"), True),
    "encode_output_last_step": ("encode", '''\
def encode(rnn, embedded, lengths):
    output, _ = rnn(embedded)
    return output[:, -1]
''', True),
    "encode_enforce_sorted_left_on": ("encode", _edit(
        ENCODE, "batch_first=True, enforce_sorted=False)", "batch_first=True)"), True),
    "encode_packed_time_major": ("encode", _edit(
        ENCODE, "batch_first=True, enforce_sorted=False)", "enforce_sorted=False)"), True),
    "encode_first_layer": ("encode", _edit(
        ENCODE, "        return torch.cat((h_n[-2], h_n[-1]), dim=1)\n    return h_n[-1]\n",
        "        return torch.cat((h_n[0], h_n[1]), dim=1)\n    return h_n[0]\n"), True),
    "encode_memory_cell": ("encode", _edit(
        ENCODE, "    h_n = state[0] if isinstance(state, tuple) else state\n",
        "    h_n = state[1] if isinstance(state, tuple) else state\n"), True),
    "encode_sorted_rows_not_restored": ("encode", '''\
def encode(rnn, embedded, lengths):
    lengths = torch.as_tensor(lengths)
    sorted_lengths, order = lengths.sort(descending=True)
    _, state = rnn(pack_padded_sequence(embedded[order], sorted_lengths, batch_first=True))
    h_n = state[0] if isinstance(state, tuple) else state
    if rnn.bidirectional:
        return torch.cat((h_n[-2], h_n[-1]), dim=1)
    return h_n[-1]
''', True),
    "encode_bidirectional_last_row_only": ("encode", _edit(
        ENCODE, "        return torch.cat((h_n[-2], h_n[-1]), dim=1)\n", "        return h_n[-1]\n"), True),
    "encode_directions_swapped": ("encode", _edit(
        ENCODE, "torch.cat((h_n[-2], h_n[-1]), dim=1)", "torch.cat((h_n[-1], h_n[-2]), dim=1)"), True),
    "encode_backward_at_last_valid_step": ("encode", '''\
def encode(rnn, embedded, lengths):
    packed = pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
    out, lens = pad_packed_sequence(rnn(packed)[0], batch_first=True)
    return out[torch.arange(out.shape[0]), lens - 1]          # both halves at the last valid step
''', True),
    "encode_no_grad": ("encode", _edit(
        ENCODE, "    _, state = rnn(packed)\n", "    with torch.no_grad():\n        _, state = rnn(packed)\n"), True),

    # clipped_step
    "step_gradients_not_zeroed": ("clipped_step", _edit(STEP, "    optimizer.zero_grad()\n", ""), True),
    "step_clip_after_step": ("clipped_step", _edit(
        STEP, "    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)\n    optimizer.step()\n",
        "    optimizer.step()\n    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)\n"), True),
    "step_clip_before_backward": ("clipped_step", _edit(
        STEP, "    loss.backward()\n    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)\n",
        "    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)\n    loss.backward()\n"), True),
    "step_no_clipping": ("clipped_step", _edit(
        STEP, "clip_grad_norm_(parameters, max_norm)", "clip_grad_norm_(parameters, float(\"inf\"))"), True),
    "step_clip_value": ("clipped_step", _edit(
        STEP, "    norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm)\n",
        "    norm = torch.nn.utils.clip_grad_norm_(parameters, float(\"inf\"))\n"
        "    torch.nn.utils.clip_grad_value_(parameters, max_norm)\n"), True),
    "step_zero_grad_on_none": ("clipped_step", _edit(
        STEP, "    optimizer.zero_grad()\n", "    for p in parameters:\n        p.grad.zero_()\n"), True),
    "step_norm_after_clipping": ("clipped_step", _edit(
        STEP, "    optimizer.step()\n    return float(norm)\n",
        "    optimizer.step()\n    return float(torch.sqrt(sum((p.grad ** 2).sum() for p in parameters)))\n"), True),
    "step_returns_tensor": ("clipped_step", _edit(STEP, "    return float(norm)\n", "    return norm\n"), True),
    "step_infinity_norm": ("clipped_step", _edit(
        STEP, "clip_grad_norm_(parameters, max_norm)", "clip_grad_norm_(parameters, max_norm, norm_type=float(\"inf\"))"),
        True),
    "step_zero_grad_after_backward": ("clipped_step", _edit(
        STEP, "    optimizer.zero_grad()\n    loss.backward()\n", "    loss.backward()\n    optimizer.zero_grad()\n"), True),
}

# Right but for one contract item with points of its own: exactly these cells are lost.
ITEM_CELLS = {
    "detach_only_h": ("test_detach_state_tuple_visible", "test_detach_state_tuple_hidden"),
    "detach_tuple_as_list": ("test_detach_state_tuple_visible", "test_detach_state_tuple_hidden"),
    "detach_none_not_handled": ("test_detach_state_none_visible", "test_detach_state_none_hidden"),
    "last_batch_first_ignored": ("test_last_valid_output_time_major_visible", "test_last_valid_output_time_major_hidden"),
    "encode_bidirectional_last_row_only": ("test_encode_bidirectional_visible", "test_encode_bidirectional_hidden"),
    "encode_directions_swapped": ("test_encode_bidirectional_visible", "test_encode_bidirectional_hidden"),
    "encode_backward_at_last_valid_step": ("test_encode_bidirectional_visible", "test_encode_bidirectional_hidden"),
    "step_norm_after_clipping": ("test_clipped_step_norm_visible", "test_clipped_step_norm_hidden"),
    "step_returns_tensor": ("test_clipped_step_norm_visible", "test_clipped_step_norm_hidden"),
    "step_clip_after_step": ("test_clipped_step_visible", "test_clipped_step_hidden"),
    "step_no_clipping": ("test_clipped_step_visible", "test_clipped_step_hidden"),
}
