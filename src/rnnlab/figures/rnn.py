"""Figures of the plain recurrent network (chapters 1 and 2): one cell, unrolled over time, stacked layers."""

from __future__ import annotations

from matplotlib.patches import FancyBboxPatch

from rnnlab.figures.drawing import (
    ROLE, STATE_COLOUR, CHAPTER_OF, check_int, check_cell, gates, box, state_box, arrow, path_arrow, new_axes, fit,
    described,
)


def draw_rnn_cell(ax=None, cell: str = "RNNCell"):
    """One time step in PyTorch's layout, with the matmul shapes and the loop that feeds hₜ back
    as the next step's hₜ₋₁. ``cell="LSTMCell"`` adds the memory cell cₜ₋₁ -> cₜ. Returns the Figure.
    """
    states, g = check_cell(cell)
    lstm = "c" in states
    fig, ax = new_axes(ax)
    G = gates(g)
    left, right, cx, cw = 0.9, 10.4, 5.65, 6.3          # state columns; the cell box's centre and width
    y_h, y_x, y_c = 2.05, 0.55, 3.35
    top = 3.85 if lstm else 2.75
    ax.add_patch(FancyBboxPatch((cx - cw / 2, 0.05), cw, top - 0.05, boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=ROLE["cell"], edgecolor=ROLE["edge"], linewidth=1.4))
    ax.text(cx - cw / 2 + 0.15, top - 0.12, cell, ha="left", va="top", fontsize=12, fontweight="bold",
            family="monospace")

    # Inputs on the left, the two matmuls inside the cell, hₜ on the right.
    state_box(ax, left, y_h, "hₜ₋₁", "(批量, H)", ROLE["hidden"])
    state_box(ax, left, y_x, "xₜ", "(批量, I)", ROLE["input"])
    arrow(ax, (left + 0.62, y_h), (cx - cw / 2, y_h), color=ROLE["hidden"], lw=1.8)
    arrow(ax, (left + 0.62, y_x), (cx - cw / 2, y_x), color=ROLE["input"], lw=1.8)
    ax.text(cx, y_h, f"hₜ₋₁ @ Wₕₕᵀ ：(批量, H) @ (H, {G}) → (批量, {G})", ha="center", va="center", fontsize=12)
    ax.text(cx, y_x, f"xₜ @ Wᵢₕᵀ ：(批量, I) @ (I, {G}) → (批量, {G})", ha="center", va="center", fontsize=12)
    if cell == "RNNCell":
        middle = "hₜ = tanh(xₜWᵢₕᵀ + bᵢₕ + hₜ₋₁Wₕₕᵀ + bₕₕ)"
    else:
        middle = f"{g} 个门块各占 H 行，门的计算见{CHAPTER_OF[cell]}"
    ax.text(cx, (y_h + y_x) / 2, middle, ha="center", va="center", fontsize=12.5, color=ROLE["edge"])
    y_out = (y_h + y_x) / 2
    state_box(ax, right, y_out, "hₜ", "(批量, H)", ROLE["hidden"])
    arrow(ax, (cx + cw / 2, y_out), (right - 0.62, y_out), color=ROLE["hidden"], lw=1.8)

    # The recurrence: hₜ goes round, under the figure, and comes back in as the next hₜ₋₁.
    y_loop, x_loop = -0.55, left - 0.85
    path_arrow(ax, [(right, y_out - 0.35), (right, y_loop), (x_loop, y_loop), (x_loop, y_h), (left - 0.6, y_h)],
                color=ROLE["hidden"], lw=1.6, ls="--")
    ax.text(cx, y_loop - 0.12, "循环：这一步的 hₜ 就是下一个时间步的 hₜ₋₁", ha="center", va="top", fontsize=10.5,
            color=ROLE["hidden"])
    if lstm:
        state_box(ax, left, y_c, "cₜ₋₁", "(批量, H)", ROLE["memory"])
        state_box(ax, right, y_c, "cₜ", "(批量, H)", ROLE["memory"])
        arrow(ax, (left + 0.62, y_c), (right - 0.62, y_c), color=ROLE["memory"], lw=2.0)
        ax.text(cx + 0.8, y_c + 0.1, "记忆元 c：只在时间步之间传递，不是输出", ha="center", va="bottom", fontsize=10,
                color=ROLE["memory"])
        y_top = top + 0.45
        path_arrow(ax, [(right, y_c + 0.35), (right, y_top), (x_loop, y_top), (x_loop, y_c), (left - 0.6, y_c)],
                    color=ROLE["memory"], lw=1.6, ls="--")
        ax.text(cx, y_top + 0.1, "循环：cₜ 就是下一个时间步的 cₜ₋₁", ha="center", va="bottom", fontsize=10.5,
                color=ROLE["memory"])
    ax.text(cx, y_loop - 0.65,
            f"Wᵢₕ 即 weight_ih：({G}, I)，Wₕₕ 即 weight_hh：({G}, H)，bᵢₕ、bₕₕ：({G},)。"
            "PyTorch 按 (输出, 输入) 存放权重，所以乘的是转置",
            ha="center", va="top", fontsize=10, color=ROLE["note"])
    fit(ax, (x_loop - 0.25, right + 0.75), (y_loop - 1.05, (top + 0.95) if lstm else top + 0.25))
    alt = (f"示意图：{cell} 的一个时间步。左边是输入 xₜ（批量, I）和上一步的隐状态 hₜ₋₁（批量, H）；单元里算 "
           f"xₜ @ Wᵢₕᵀ 和 hₜ₋₁ @ Wₕₕᵀ，各得到 (批量, {G})，")
    alt += ("两者相加、加上两个偏置，经过 tanh，右边得到 hₜ（批量, H）。" if cell == "RNNCell"
            else f"{g} 个门块各占 H 行，由它们算出右边的 hₜ（批量, H）。")
    alt += "虚线表示循环：这一步的 hₜ 就是下一个时间步的 hₜ₋₁。"
    if lstm:
        alt += "上方的记忆元从 cₜ₋₁ 传到 cₜ，同样循环到下一步，它不是输出。"
    alt += f"底部注明 weight_ih 是 ({G}, I)、weight_hh 是 ({G}, H)：PyTorch 按 (输出, 输入) 存放权重，所以乘的是转置。"
    return described(fig, alt)


def draw_unrolled_rnn(steps: int = 4, ax=None, highlight: int | None = None, cell: str = "RNNCell"):
    """A recurrent layer unrolled over `steps` time steps; `highlight` marks one step. Returns the Figure.

    Boxes are named as in the lectures' code: x[t], out[t], h_0 and h_n (nn.RNN's names), and the
    figure says that h_n holds out[T-1]. ``cell="LSTMCell"`` adds the c line (c_0 ... c_n).
    """
    check_int("steps", steps, 1, 12)
    if highlight is not None and (isinstance(highlight, bool) or not isinstance(highlight, int)
                                  or not 0 <= highlight < steps):
        raise ValueError(f"highlight 应当是 0 到 {steps - 1} 之间的整数或 None，收到的是 {highlight!r}。")
    states, _ = check_cell(cell)
    lstm = "c" in states
    dx, x0 = 1.9, 1.6
    xs = [x0 + dx * t for t in range(steps)]
    last = xs[-1]
    y_cell, y_out, y_x = 1.35, 2.9, 0.0
    # Where each state's line runs through the cells.
    rows = {"h": y_cell + 0.18, "c": y_cell - 0.18} if lstm else {"h": y_cell}
    fig, ax = new_axes(ax)
    for t, x in enumerate(xs):
        edge = ROLE["highlight"] if t == highlight else ROLE["edge"]
        lw = 2.6 if t == highlight else 1.2
        box(ax, x, y_x, 0.9, 0.55, f"x[{t}]", ROLE["input"], color="white", size=11)
        box(ax, x, y_cell, 1.24, 0.8 if lstm else 0.75, cell, ROLE["cell"], edge=edge, lw=lw,
             size=9.5 if lstm or cell == "GRUCell" else 11)
        box(ax, x, y_out, 0.96, 0.55, f"out[{t}]", ROLE["hidden"], color="white", size=11)
        arrow(ax, (x, y_x + 0.3), (x, y_cell - 0.42))
        arrow(ax, (x, y_cell + 0.42), (x, y_out - 0.3), color=ROLE["hidden"])
        ax.text(x, y_x - 0.55, f"时间步 {t}", ha="center", fontsize=10, color=ROLE["note"])
        if t < steps - 1:
            for s, y in rows.items():
                arrow(ax, (x + 0.64, y), (x + dx - 0.64, y), color=STATE_COLOUR[s], lw=1.8)
    # Initial states on the left, final states on the right.
    for s, y in rows.items():
        off = (y - y_cell) * 2.0 if lstm else 0.0
        box(ax, 0.1, y_cell + off, 0.72, 0.42, f"{s}_0", "white", edge=STATE_COLOUR[s], size=10.5)
        arrow(ax, (0.48, y_cell + off), (x0 - 0.64, y), color=STATE_COLOUR[s], lw=1.8)
        box(ax, last + 1.5, y_cell + off, 0.72, 0.42, f"{s}_n", "white", edge=STATE_COLOUR[s], size=10.5)
        arrow(ax, (last + 0.64, y), (last + 1.12, y_cell + off), color=STATE_COLOUR[s], lw=1.8)
    ax.text(0.1, y_cell - (0.7 if lstm else 0.45), "初始隐状态\n（默认全零）", ha="center", va="top", fontsize=9,
            color=ROLE["note"])
    # h_n is not new information: it is the last column of out.
    y_hn = y_cell + ((rows["h"] - y_cell) * 2.0 if lstm else 0.0)
    path_arrow(ax, [(last + 0.5, y_out), (last + 1.5, y_out), (last + 1.5, y_hn + 0.24)], color=ROLE["highlight"],
                lw=1.5, ls="--")
    ax.text(last + 1.6, (y_out + y_hn) / 2 + 0.15, f"h_n 的内容\n= out[{steps - 1}]", ha="left", va="center",
            fontsize=10, color=ROLE["highlight"])
    narrow = "\n" if steps <= 3 else ""  # long notes take two lines over few time steps
    ax.text(x0 - 0.5, y_out + 0.45, f"out[t]：读入 x[t] 之后的隐状态{narrow}（按时间步叠起来就是 nn.RNN 返回的 output）",
            ha="left", va="bottom", fontsize=10, color=ROLE["hidden"])
    ax.text(last + 0.6, y_x, "x 的形状：\n(时间步, 批量, I)", ha="left", va="center", fontsize=10,
            color=ROLE["input"])
    params = "weight_ih、weight_hh、bias_ih、bias_hh"
    narrow = "\n" if steps <= 2 else ""
    ax.text((x0 + last) / 2, y_x - 1.0, f"所有时间步共享同一组参数{narrow}（{params}）", ha="center", va="top",
            fontsize=10.5)
    fit(ax, (-0.45, max(last + 2.75, x0 + 3.6)), (y_x - (1.8 if narrow else 1.5), y_out + (1.2 if steps <= 3 else 0.95)))
    mark = "" if highlight is None else f"第 {highlight} 步用粗框标出。"
    alt = (f"示意图：把循环层按时间展开成 {steps} 个时间步。每一步的 {cell} 读入 x[t]，输出 out[t]，并把隐状态传给下一步；"
           f"最左边的 h_0 是初始隐状态（默认全零），最右边的 h_n 的内容等于 out[{steps - 1}]。" + mark +
           "所有时间步共享同一组参数；x 的形状是 (时间步, 批量, I)，把各步的 out[t] 叠起来就是 nn.RNN 返回的 output。")
    if lstm:
        alt += "上方还有记忆元的一行，从 c_0 传到 c_n。"
    return described(fig, alt)


def draw_stacked_rnn(num_layers: int = 2, steps: int = 3, ax=None, cell: str = "RNNCell"):
    """A deep (multi-layer) recurrent network unrolled over time, named as nn.RNN names things.

    Layer 0 reads x[t]; layer k > 0 reads layer k-1's output at the same time step; output[t]
    is the top layer's; h_0[k] enters layer k on the left and h_n[k] (layer k's last time step)
    leaves it on the right. Weights are labelled where they act (weight_ih_lk on the arrow into
    layer k, weight_hh_lk on the arrow along it). ``cell="LSTMCell"`` adds c_0[k] / c_n[k].
    Returns the Figure.
    """
    check_int("num_layers", num_layers, 1, 4)
    check_int("steps", steps, 1, 6)
    states, g = check_cell(cell)
    lstm = "c" in states
    dx, dy, x0 = 2.9, 1.75, 2.3
    xs = [x0 + dx * t for t in range(steps)]
    last = xs[-1]
    y_x = 0.0
    ys = [dy * (k + 1) for k in range(num_layers)]
    y_out = ys[-1] + dy
    cw, ch = 1.3, 0.72
    fig, ax = new_axes(ax)
    rows = {"h": -0.14, "c": 0.2} if lstm else {"h": 0.0}

    for t, x in enumerate(xs):
        box(ax, x, y_x, 0.9, 0.52, f"x[{t}]", ROLE["input"], color="white", size=11)
        box(ax, x, y_out, 1.3, 0.52, f"output[{t}]", ROLE["hidden"], color="white", size=11)
        ax.text(x, y_x - 0.5, f"时间步 {t}", ha="center", va="top", fontsize=10, color=ROLE["note"])
        arrow(ax, (x, ys[-1] + ch / 2), (x, y_out - 0.27), color=ROLE["hidden"])
        for k, y in enumerate(ys):
            box(ax, x, y, cw, ch, cell, ROLE["cell"], size=10 if cell == "RNNCell" else 9)
            below = y_x + 0.27 if k == 0 else ys[k - 1] + ch / 2
            arrow(ax, (x, below), (x, y - ch / 2), color=ROLE["input"] if k == 0 else ROLE["hidden"])
            if t == 0:
                ax.text(x + 0.08, (below + y - ch / 2) / 2, f"weight_ih_l{k}", ha="left", va="center",
                        fontsize=9, color=ROLE["edge"], family="monospace")
            if t < steps - 1:
                for s, r in rows.items():
                    arrow(ax, (x + cw / 2, y + r), (x + dx - cw / 2, y + r), color=STATE_COLOUR[s], lw=1.8)
                if t == 0:
                    ax.text(x + dx / 2, y + max(rows.values()) + 0.06, f"weight_hh_l{k}", ha="center",
                            va="bottom", fontsize=8.5, color=ROLE["edge"], family="monospace")

    for k, y in enumerate(ys):
        ax.text(-0.35, y, f"第 {k} 层", ha="left", va="center", fontsize=11, fontweight="bold")
        for s, r in rows.items():
            yy = y + r * 2.2 if lstm else y
            box(ax, 1.0, yy, 0.86, 0.36 if lstm else 0.44, f"{s}_0[{k}]", "white", edge=STATE_COLOUR[s], size=9.5)
            arrow(ax, (1.43, yy), (x0 - cw / 2, y + r), color=STATE_COLOUR[s], lw=1.6)
            box(ax, last + 1.55, yy, 0.86, 0.36 if lstm else 0.44, f"{s}_n[{k}]", "white", edge=STATE_COLOUR[s],
                 size=9.5)
            arrow(ax, (last + cw / 2, y + r), (last + 1.12, yy), color=STATE_COLOUR[s], lw=1.6)
        ax.text(last + 2.05, y + (r * 2.2 if lstm else 0) - (0.05 if lstm else 0),
                "" if lstm else f"第 {k} 层最后一个时间步", ha="left", va="center", fontsize=9,
                color=ROLE["note"])
    if lstm:
        ax.text(last + 2.05, ys[0], "每层最后一个\n时间步的 h 和 c", ha="left", va="center", fontsize=9,
                color=ROLE["note"])
    ax.text((x0 + last) / 2, y_out + 0.45, f"output 只来自最顶层（第 {num_layers - 1} 层）的每个时间步",
            ha="center", va="bottom", fontsize=10.5, color=ROLE["hidden"])
    if num_layers > 1:
        ax.text((x0 + last) / 2, y_x - 1.0,
                f"第 k 层（k ≥ 1）在同一时间步读入第 k−1 层的输出，{chr(10) if steps <= 2 else ''}所以 weight_ih_l1 是 ({gates(g)}, H)",
                ha="center", va="top", fontsize=10)
    fit(ax, (-0.45, last + 4.0), (y_x - (1.8 if steps <= 2 and num_layers > 1 else 1.55), y_out + 1.0))
    alt = (f"示意图：{num_layers} 层的循环神经网络按时间展开成 {steps} 个时间步（每格是一个 {cell}）。第 0 层读 x[t]，"
           "第 k 层（k > 0）读第 k-1 层在同一时间步的输出；weight_ih_lk 标在进入第 k 层的箭头上，weight_hh_lk 标在第 k 层"
           "沿时间的箭头上。每层左边进入 h_0[k]，右边出来 h_n[k]（该层最后一个时间步的隐状态）；"
           f"output[t] 只来自最顶层（第 {num_layers - 1} 层）。")
    if lstm:
        alt += "每层还有记忆元 c_0[k] 和 c_n[k]。"
    return described(fig, alt)
