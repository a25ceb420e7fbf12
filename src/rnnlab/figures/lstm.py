"""Figures of the long short-term memory network (chapter 3): one LSTM cell with its gates."""

from __future__ import annotations

from matplotlib.patches import Circle, FancyBboxPatch

from rnnlab.figures.drawing import ROLE, arrow, box, described, new_axes, fit, path_arrow, state_box
from rnnlab.palette import GATE

# The gate blocks in the order torch stacks them in weight_ih / weight_hh (W.chunk(4, 0) gives
# them in this order): letter as in torch's docs, d2l-zh name, activation, columns of the
# (批量, 4H) pre-activation.
LSTM_GATES = (
    ("i", "输入门", "σ", "0:H"),
    ("f", "遗忘门", "σ", "H:2H"),
    ("g", "候选记忆元", "tanh", "2H:3H"),
    ("o", "输出门", "σ", "3H:4H"),
)


def _check_proj(proj) -> bool:
    if not isinstance(proj, bool):
        raise ValueError(f"proj 应当是 True 或 False（是否画出 proj_size 的投影），收到的是 {proj!r}。")
    return proj


def _node(ax, x, y, symbol, colour=ROLE["edge"], r=0.2):
    """A point-wise operation (⊙ or +) on a line."""
    ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=colour, linewidth=1.5, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=13, color=colour, zorder=4)


def draw_lstm_cell(ax=None, proj: bool = False):
    """One time step of nn.LSTMCell (and of every layer of nn.LSTM) as PyTorch computes it.

    From the bottom up: the two matmuls give one (批量, 4H) pre-activation; its four column blocks,
    in torch's order i, f, g, o, go through σ or tanh and become the input gate, forget gate,
    candidate memory cell and output gate; on top runs the memory cell line cₜ₋₁ -> cₜ
    (cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ) and on the right the hidden state hₜ = oₜ ⊙ tanh(cₜ).
    ``proj=True`` draws nn.LSTM's proj_size: hₜ is then multiplied by Wₕᵣᵀ and has P features,
    so hₜ₋₁ and weight_hh have P columns, while cₜ keeps H. Returns the Figure.
    """
    _check_proj(proj)
    fig, ax = new_axes(ax)
    h_size = "P" if proj else "H"
    xs = [2.75, 4.2, 5.65, 7.1]                      # gate columns, in torch's order i, f, g, o
    x_mm, y_mm, y_x = 4.925, 0.65, -0.75             # the matmul box, xₜ below it
    y_bar, y_gate, y_n, y_c = 1.75, 3.0, 4.1, 5.0    # pre-activation bar, gates, i ⊙ g, c line
    x_tanh, x_proj, left, right = 8.55, 9.65, 0.6, 11.35
    body = (1.6, 0.1, 10.35, 5.75)                   # the cell's box: x0, y0, x1, y1
    gw, gh = 1.3, 0.95

    ax.add_patch(FancyBboxPatch((body[0], body[1]), body[2] - body[0], body[3] - body[1],
                                boxstyle="round,pad=0.02,rounding_size=0.12", facecolor=ROLE["cell"],
                                edgecolor=ROLE["edge"], linewidth=1.4))
    # nn.LSTMCell has no proj_size: with a projection, the box is one layer of nn.LSTM.
    if proj:
        ax.text(body[0] + 0.15, body[3] - 0.1, "nn.LSTM 的一层（proj_size = P）", ha="left", va="top", fontsize=12,
                fontweight="bold")
    else:
        ax.text(body[0] + 0.15, body[3] - 0.1, "LSTMCell", ha="left", va="top", fontsize=12, fontweight="bold",
                family="monospace")

    # Inputs: hₜ₋₁ from the left, xₜ from below, into one matmul that gives all four blocks.
    state_box(ax, left, y_mm, "hₜ₋₁", f"(批量, {h_size})", ROLE["hidden"])
    ax.text(left, y_mm + 0.45, "隐状态", ha="center", va="bottom", fontsize=10, color=ROLE["hidden"])
    arrow(ax, (left + 0.62, y_mm), (x_mm - 3.05, y_mm), color=ROLE["hidden"], lw=1.8)
    state_box(ax, x_mm, y_x, "xₜ", "(批量, I)", ROLE["input"])
    ax.text(x_mm + 0.7, y_x, "输入", ha="left", va="center", fontsize=10, color=ROLE["input"])
    arrow(ax, (x_mm, y_x + 0.36), (x_mm, y_mm - 0.3), color=ROLE["input"], lw=1.8)
    box(ax, x_mm, y_mm, 6.1, 0.6, "xₜWᵢₕᵀ + bᵢₕ + hₜ₋₁Wₕₕᵀ + bₕₕ", "white", size=12)
    arrow(ax, (x_mm, y_mm + 0.3), (x_mm, y_bar - 0.23), lw=1.6)
    ax.text(x_mm + 0.1, (y_mm + y_bar) / 2 + 0.02, "(批量, 4H)，按列拆成四块：chunk(4, 1)", ha="left",
            va="center", fontsize=9.5, color=ROLE["note"])

    # The pre-activation's four column blocks, then the gates.
    for x, (g, name, act, cols) in zip(xs, LSTM_GATES):
        ax.add_patch(FancyBboxPatch((x - 0.725, y_bar - 0.22), 1.45, 0.44, boxstyle="square,pad=0",
                                    facecolor=GATE[g], edgecolor="white", linewidth=1.5, alpha=0.55))
        ax.text(x, y_bar, f"{g}  [:, {cols}]", ha="center", va="center", fontsize=9.5, color=ROLE["edge"])
        arrow(ax, (x, y_bar + 0.22), (x, y_gate - gh / 2), color=GATE[g], lw=1.5)
        box(ax, x, y_gate, gw, gh, "", GATE[g], edge=GATE[g])
        ax.text(x, y_gate + 0.2, f"{g}  {act}", ha="center", va="center", fontsize=13, color="white",
                fontweight="bold")
        ax.text(x, y_gate - 0.2, name, ha="center", va="center", fontsize=10, color="white")
    x_i, x_f, x_g, x_o = xs
    top = y_gate + gh / 2

    # The memory cell line: cₜ₋₁ -> ⊙ fₜ -> + iₜ ⊙ gₜ -> cₜ.
    state_box(ax, left, y_c, "cₜ₋₁", "(批量, H)", ROLE["memory"])
    ax.text(left, y_c - 0.45, "记忆元", ha="center", va="top", fontsize=10, color=ROLE["memory"])
    state_box(ax, right, y_c, "cₜ", "(批量, H)", ROLE["memory"])
    ax.text(right, y_c - 0.45, "记忆元", ha="center", va="top", fontsize=10, color=ROLE["memory"])
    arrow(ax, (left + 0.62, y_c), (x_f - 0.2, y_c), color=ROLE["memory"], lw=2.0, style="-")
    arrow(ax, (x_f + 0.2, y_c), (x_g - 0.2, y_c), color=ROLE["memory"], lw=2.0, style="-")
    arrow(ax, (x_g + 0.2, y_c), (right - 0.62, y_c), color=ROLE["memory"], lw=2.0)
    _node(ax, x_f, y_c, "⊙")
    _node(ax, x_g, y_c, "+")
    ax.text((x_g + x_tanh) / 2 + 0.05, y_c + 0.12, "cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ", ha="center", va="bottom",
            fontsize=11, color=ROLE["memory"])
    # fₜ up to the c line; the line hops over iₜ's path (a gap where they cross).
    arrow(ax, (x_f, top), (x_f, y_n - 0.13), color=GATE["f"], lw=1.5, style="-")
    arrow(ax, (x_f, y_n + 0.13), (x_f, y_c - 0.2), color=GATE["f"], lw=1.5)
    # iₜ and gₜ meet in ⊙, which adds to the c line.
    path_arrow(ax, [(x_i, top), (x_i, y_n), (x_g - 0.2, y_n)], color=GATE["i"], lw=1.5)
    arrow(ax, (x_g, top), (x_g, y_n - 0.2), color=GATE["g"], lw=1.5)
    _node(ax, x_g, y_n, "⊙")
    arrow(ax, (x_g, y_n + 0.2), (x_g, y_c - 0.2), lw=1.5)

    # The hidden state: tanh(cₜ) gated by oₜ.
    arrow(ax, (x_tanh, y_c), (x_tanh, y_n + 0.22), color=ROLE["memory"], lw=1.5)
    box(ax, x_tanh, y_n, 0.8, 0.44, "tanh", "white", edge=ROLE["memory"], size=10.5)
    arrow(ax, (x_tanh, y_n - 0.22), (x_tanh, y_gate + 0.2), color=ROLE["memory"], lw=1.5)
    arrow(ax, (x_o + gw / 2, y_gate), (x_tanh - 0.2, y_gate), color=GATE["o"], lw=1.5)
    _node(ax, x_tanh, y_gate, "⊙")
    ax.text(x_tanh, y_gate - 0.3, "oₜ ⊙ tanh(cₜ)", ha="center", va="top", fontsize=10.5, color=ROLE["hidden"])
    if proj:
        arrow(ax, (x_tanh + 0.2, y_gate), (x_proj - 0.45, y_gate), color=ROLE["hidden"], lw=1.8)
        box(ax, x_proj, y_gate, 0.9, 0.55, "· Wₕᵣᵀ", "white", edge=ROLE["hidden"], size=11)
        ax.text(x_proj, y_gate + 0.35, "H → P", ha="center", va="bottom", fontsize=9.5, color=ROLE["hidden"])
        arrow(ax, (x_proj + 0.45, y_gate), (right - 0.62, y_gate), color=ROLE["hidden"], lw=1.8)
    else:
        arrow(ax, (x_tanh + 0.2, y_gate), (right - 0.62, y_gate), color=ROLE["hidden"], lw=1.8)
    state_box(ax, right, y_gate, "hₜ", f"(批量, {h_size})", ROLE["hidden"])
    ax.text(right, y_gate - 0.45, "隐状态，\n也是这一步的输出", ha="center", va="top", fontsize=10,
            color=ROLE["hidden"])

    # What the figure means for the parameters' shapes.
    if proj:
        shapes = ("Wᵢₕ 即 weight_ih：(4H, I)，Wₕₕ 即 weight_hh：(4H, P)，Wₕᵣ 即 weight_hr：(P, H)；"
                  "hₜ 有 P 个数，cₜ 仍有 H 个数")
    else:
        shapes = "Wᵢₕ 即 weight_ih：(4H, I)，Wₕₕ 即 weight_hh：(4H, H)，bᵢₕ、bₕₕ：(4H,)"
    ax.text((body[0] + body[2]) / 2, y_x - 0.55,
            f"{shapes}\n四个门块按 i、f、g、o 的顺序叠放，各占 H 行；cₜ 和 hₜ 都传给下一个时间步",
            ha="center", va="top", fontsize=10, color=ROLE["note"], linespacing=1.5)
    fit(ax, (-0.2, right + 0.8), (y_x - 1.2, body[3] + 0.15))
    alt = ("示意图：nn.LSTMCell 的一个时间步（nn.LSTM 的每一层都一样）。自下而上：xₜ @ Wᵢₕᵀ 与 hₜ₋₁ @ Wₕₕᵀ 相加，"
           "得到 (批量, 4H) 的预激活，按 PyTorch 的次序 i、f、g、o 分成四个门块，分别经过 σ、σ、tanh、σ，成为输入门、"
           "遗忘门、候选记忆元和输出门；上方是记忆元的一行，cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ；右边是隐状态 hₜ = oₜ ⊙ tanh(cₜ)。")
    if proj:
        alt += ("图中还画了 proj_size：hₜ 再乘 Wₕᵣᵀ，只剩 P 个特征，所以 hₜ₋₁ 和 weight_hh 都是 P 列，"
                "而记忆元 cₜ 仍有 H 个特征。")
    return described(fig, alt)
