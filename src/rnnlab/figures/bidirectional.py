"""Figures of the bidirectional recurrent network (chapter 5)."""

from __future__ import annotations

from matplotlib.patches import FancyBboxPatch

from rnnlab.figures.drawing import ROLE, check_int, box, arrow, path_arrow, new_axes, fit, described
from rnnlab.palette import DIRECTION

FWD, BWD, WRONG = DIRECTION["forward"], DIRECTION["backward"], DIRECTION["wrong"]


def _halves(ax, x, y, w, h, left_edge=None, right_edge=None):
    """A node of 2H features: the forward half [:H] on the left, the backward half [H:] on the right.

    `left_edge` / `right_edge` = (colour, linestyle) outline one half (a state worth pointing at).
    Returns the centres of the two halves.
    """
    xl, xr = x - w / 4, x + w / 4
    for xc, face, text, mark in ((xl, FWD, ":H", left_edge), (xr, BWD, "H:", right_edge)):
        ax.add_patch(FancyBboxPatch((xc - w / 4, y - h / 2), w / 2, h, boxstyle="square,pad=0",
                                    facecolor=face, edgecolor="white", linewidth=1.0))
        ax.text(xc, y, text, ha="center", va="center", fontsize=10, color="white", family="monospace")
        if mark:
            colour, ls = mark
            ax.add_patch(FancyBboxPatch((xc - w / 4 - 0.06, y - h / 2 - 0.06), w / 2 + 0.12, h + 0.12,
                                        boxstyle="square,pad=0", facecolor="none", edgecolor=colour,
                                        linewidth=2.4, linestyle=ls))
    return xl, xr


def draw_bidirectional_rnn(num_layers: int = 2, steps: int = 3, ax=None):
    """A bidirectional nn.RNN with `num_layers` layers unrolled over `steps` time steps, named as in code.

    Each layer has a forward row (reads x[0] … x[T-1], parameters ``*_l{k}``) and a backward row (reads
    x[T-1] … x[0], parameters ``*_l{k}_reverse``). At every time step the two rows' states are concatenated,
    forward half [:H] then backward half [H:], into the 2H features that BOTH directions of the next layer
    read (so weight_ih_l1 is (H, 2H)); the last layer's concatenation is output[t]. h_0 / h_n rows are
    ordered (layer, direction): h_n[2k] leaves layer k's forward row after x[T-1] (on the right), h_n[2k+1]
    leaves its backward row after x[0] (on the left). The figure marks h_n[-2] = output[T-1, :, :H],
    h_n[-1] = output[0, :, H:], and output[T-1, :, H:] as NOT h_n[-1]. Returns the Figure.
    """
    check_int("num_layers", num_layers, 1, 4)
    check_int("steps", steps, 1, 6)
    fig, ax = new_axes(ax)
    T, L = steps, num_layers
    dx, x0 = 2.6, 1.9
    xs = [x0 + dx * t for t in range(T)]
    last = xs[-1]
    off, cw, ch = 0.45, 0.78, 0.5          # cells sit left (forward) / right (backward) of the column
    nw, nh = 1.7, 0.46                     # a node of 2H features
    band = 2.9                             # height of one layer: node below, forward row, backward row
    x_left, x_right = x0 - 1.55, last + 1.55
    y_x = 0.0

    def rows(k):
        base = y_x + band * k
        return base + 1.05, base + 1.9     # forward row, backward row

    y_out = y_x + band * L

    # Bottom row: the input, read by both directions of layer 0.
    for t, x in enumerate(xs):
        box(ax, x, y_x, 0.95, nh, f"x[{t}]", ROLE["input"], color="white", size=11)
        ax.text(x, y_x - 0.42, f"时间步 {t}", ha="center", va="top", fontsize=10, color=ROLE["note"])

    for k in range(L):
        y_f, y_b = rows(k)
        below_top = y_x + band * k + nh / 2
        for t, x in enumerate(xs):
            xf, xb = x - off, x + off
            # Both cells read the WHOLE node below (x[t], or the previous layer's 2H features): the two
            # arrows fork from the node's middle, not from one half each.
            feed = ROLE["input"] if k == 0 else ROLE["edge"]
            fork = below_top + 0.14
            for xc, y_cell in ((xf, y_f), (xb, y_b)):
                path_arrow(ax, [(x, below_top), (x, fork), (xc, fork + 0.22), (xc, y_cell - ch / 2)], color=feed,
                           lw=1.3)
            box(ax, xf, y_f, cw, ch, "前向", "white", edge=FWD, color=FWD, size=10, lw=1.6)
            box(ax, xb, y_b, cw, ch, "反向", "white", edge=BWD, color=BWD, size=10, lw=1.6)
            # Each direction's state goes up into its own half of the node above.
            y_up = y_out if k == L - 1 else y_x + band * (k + 1)
            arrow(ax, (xf, y_f + ch / 2), (xf, y_up - nh / 2), color=FWD, lw=1.5)
            arrow(ax, (xb, y_b + ch / 2), (xb, y_up - nh / 2), color=BWD, lw=1.5)
            if t < T - 1:   # forward: left to right; backward: right to left
                arrow(ax, (xf + cw / 2, y_f), (xs[t + 1] - off - cw / 2, y_f), color=FWD, lw=1.8)
                arrow(ax, (xs[t + 1] + off - cw / 2, y_b), (xb + cw / 2, y_b), color=BWD, lw=1.8)
        # Where each direction starts (h_0) and ends (h_n): rows ordered (layer, direction).
        f, b = 2 * k, 2 * k + 1
        box(ax, x_left, y_f, 0.92, 0.38, f"h_0[{f}]", "white", edge=FWD, size=9.5)
        arrow(ax, (x_left + 0.46, y_f), (x0 - off - cw / 2, y_f), color=FWD, lw=1.4, ls="--")
        box(ax, x_right, y_b, 0.92, 0.38, f"h_0[{b}]", "white", edge=BWD, size=9.5)
        arrow(ax, (x_right - 0.46, y_b), (last + off + cw / 2, y_b), color=BWD, lw=1.4, ls="--")
        top = k == L - 1
        box(ax, x_right, y_f, 0.92, 0.4, f"h_n[{f}]", FWD if top else "white", edge=FWD,
            color="white" if top else "black", size=9.5, lw=2.0 if top else 1.2)
        arrow(ax, (last - off + cw / 2, y_f), (x_right - 0.46, y_f), color=FWD, lw=1.8)
        box(ax, x_left, y_b, 0.92, 0.4, f"h_n[{b}]", BWD if top else "white", edge=BWD,
            color="white" if top else "black", size=9.5, lw=2.0 if top else 1.2)
        arrow(ax, (x0 + off - cw / 2, y_b), (x_left + 0.46, y_b), color=BWD, lw=1.8)
        # Row labels: layer, direction, and the parameters' suffix.
        ax.text(x_left - 2.25, (y_f + y_b) / 2, f"第 {k} 层", ha="right", va="center", fontsize=11,
                fontweight="bold")
        ax.text(x_left - 0.58, y_f, f"前向 _l{k}", ha="right", va="center", fontsize=9.5, color=FWD)
        ax.text(x_left - 0.58, y_b, f"反向 _l{k}_reverse", ha="right", va="center", fontsize=9.5, color=BWD)
        if k < L - 1:   # the concatenated features the next layer reads
            y_node = y_x + band * (k + 1)
            for x in xs:
                _halves(ax, x, y_node, nw, nh)
            ax.text(last + nw / 2 + 0.12, y_node, f"第 {k} 层两个方向连结：2H", ha="left", va="center",
                    fontsize=9, color=ROLE["note"])

    # Top row: output[t] holds the LAST layer only, forward half [:H], backward half [H:].
    for t, x in enumerate(xs):
        left = (FWD, "-") if t == T - 1 else None
        right = (BWD, "-") if t == 0 else ((WRONG, "--") if t == T - 1 else None)
        _halves(ax, x, y_out, nw, nh, left, right)
        ax.text(x, y_out + nh / 2 + 0.14, f"output[{t}]", ha="center", va="bottom", fontsize=10.5,
                family="monospace")
    y_f, y_b = rows(L - 1)
    ax.text(x_right + 0.55, y_f, f"h_n[-2]：最后一层前向，读完 x[{T - 1}]\n= output[{T - 1}, :, :H]", ha="left",
            va="center", fontsize=9.5, color=FWD)
    ax.text(x0 - nw / 2 - 0.25, y_out, "h_n[-1]：最后一层反向，读完 x[0]\n= output[0, :, H:]", ha="right",
            va="center", fontsize=9.5, color=BWD)
    ax.plot([x_left, x_left], [y_b + 0.2, y_out - 0.32], color=BWD, lw=1.2, ls=":")
    if T > 1:
        ax.text(last + nw / 2 + 0.3, y_out, f"✗ output[{T - 1}, :, H:] 不是 h_n[-1]：\n  反向此时才走了第一步",
                ha="left", va="center", fontsize=9.5, color=WRONG)
    else:
        ax.text(last + nw / 2 + 0.3, y_out, "只有一个时间步时，\n两个方向都只读了 x[0]", ha="left", va="center",
                fontsize=9.5, color=ROLE["note"])

    wrap = "\n" if T == 1 else ""   # a one-step figure is too narrow for the long notes
    notes = [f"前向从 x[0] 读到 x[{T - 1}]，反向从 x[{T - 1}] 读到 x[0]；{wrap}两个方向各有一套参数（名字带 _reverse 的属于反向）"]
    if L > 1:
        notes.append(f"每层在时间步 t 的输出是 [前向 :H | 反向 H:] 连结成的 2H 个特征，{wrap}"
                     "下一层的两个方向都读它：weight_ih_l1 是 (H, 2H)")
    notes.append(f"h_0、h_n 按 (层, 方向) 排列：{wrap}h_n[2k] 是第 k 层前向、h_n[2k+1] 是第 k 层反向，共 {2 * L} 行")
    text = "\n".join(notes)
    ax.text(x_left - 3.0, y_x - 0.95, text, ha="left", va="top", fontsize=10, linespacing=1.6)
    lines = text.count("\n") + 1
    fit(ax, (x_left - 3.15, x_right + 3.75), (y_x - 1.15 - 0.3 * lines, y_out + 0.8))
    T = steps
    alt = (f"示意图：{num_layers} 层的双向 nn.RNN 按时间展开成 {T} 个时间步。每层有前向一行（从 x[0] 读到 x[{T - 1}]，"
           "参数名 *_l0、*_l1 …）和反向一行（从 x[" + str(T - 1) + "] 读到 x[0]，参数名带 _reverse）。每个时间步两行的隐状态"
           "拼接在一起，前向在前 [:H]、反向在后 [H:]，成为 2H 个特征；")
    if num_layers > 1:
        alt += "下一层的两个方向都读这 2H 个特征（所以 weight_ih_l1 是 (H, 2H)）；"
    alt += ("最后一层的拼接就是 output[t]。h_n 的行按（层, 方向）排列：h_n[2k] 从第 k 层前向一行的右端出来（读完 "
            f"x[{T - 1}] 之后），h_n[2k+1] 从反向一行的左端出来（读完 x[0] 之后）。图中标出 h_n[-2] = output[{T - 1}, :, :H]、"
            f"h_n[-1] = output[0, :, H:]，并用朱红色标出 output[{T - 1}, :, H:] 不是 h_n[-1]。")
    return described(fig, alt)
