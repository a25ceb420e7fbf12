"""Figure of chapter 4: the GRU cell exactly as PyTorch computes it.

    from rnnlab.figures.gru import draw_gru_cell
    draw_gru_cell()                  # the whole cell
    draw_gru_cell(highlight="r")     # one part marked: "r", "z", "n" or "h" (the update rule)

What the figure must get right is where the reset gate acts: PyTorch multiplies r with
hₜ₋₁Wₕₙᵀ + bₕₙ, AFTER the matmul and with the bias inside, so the figure draws that box first
and the ⊙ node below it. The paper and d2l-zh apply r to hₜ₋₁ before the matmul; the note at
the bottom says so. Gate names are the code's (r, z, n) with d2l-zh's Chinese terms, and each
gate's colour is its block's colour in the gate explorer (rnnlab.palette.GATE). The columns run r, n, z
(the candidate sits between the gates, so r reaches it without crossing z); the labels of the stacked
blocks ("r：第 0 块", …) therefore form one row below the cell that reads r, z, n from left to right,
PyTorch's storage order, rather than sitting under their columns.

Artists carry a gid (matplotlib's id) so tests can find them: "box-r", "box-z", "box-hn",
"box-in", "box-tanh", "node-reset", "node-n-sum", "node-zh", "node-one-minus", "node-n-update",
"node-h-sum", "arrow-r" (r into the reset product), "arrow-hn" (the hₜ₋₁Wₕₙᵀ + bₕₙ box into it).
"""

from __future__ import annotations

from matplotlib.patches import Circle, FancyBboxPatch

from rnnlab.figures.drawing import ROLE, arrow, box, described, fit, new_axes, path_arrow, state_box
from rnnlab.palette import GATE

# The parts `highlight` can mark: r, z, n as the code names them, and h for the update rule.
PARTS = {"r": "重置门 r", "z": "更新门 z", "n": "候选隐状态 n", "h": "更新规则 hₜ"}


def _check_highlight(highlight) -> None:
    if highlight is not None and (not isinstance(highlight, str) or highlight not in PARTS):
        choices = "、".join(f"{k!r}（{v}）" for k, v in PARTS.items())
        raise ValueError(f"highlight 应当是 None 或 {choices} 之一，收到的是 {highlight!r}。")


def _last_patch(ax, gid: str) -> None:
    ax.patches[-1].set_gid(gid)


def _node(ax, x, y, text, gid, marked=False, size=13):
    """A small circle holding an operator (⊙, +, 1−)."""
    ax.add_patch(Circle((x, y), 0.25, facecolor="white", zorder=3,
                        edgecolor=ROLE["highlight"] if marked else ROLE["edge"], linewidth=2.4 if marked else 1.3))
    _last_patch(ax, gid)
    ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=4)


def _box(ax, x, y, w, h, text, face, gid, marked=False, color="black", size=11):
    box(ax, x, y, w, h, text, face, edge=ROLE["highlight"] if marked else ROLE["edge"], color=color, size=size,
        lw=2.6 if marked else 1.2)
    _last_patch(ax, gid)


def draw_gru_cell(ax=None, highlight: str | None = None):
    """One step of nn.GRUCell / nn.GRU in PyTorch's formulation, with d2l-zh's names:

        r = σ(xₜWᵢᵣᵀ + bᵢᵣ + hₜ₋₁Wₕᵣᵀ + bₕᵣ)           重置门
        z = σ(… the same with the z block …)          更新门
        n = tanh(xₜWᵢₙᵀ + bᵢₙ + r ⊙ (hₜ₋₁Wₕₙᵀ + bₕₙ))   候选隐状态
        hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁                     更新规则

    `highlight` marks one part: "r", "z", "n" or "h" (the update rule). Returns the Figure.
    """
    _check_highlight(highlight)
    fig, ax = new_axes(ax)
    mark = {p: highlight == p for p in PARTS}

    x_r, x_n, x_tanh, x_z = 2.85, 5.3, 6.85, 8.45        # columns: reset gate, candidate, tanh, update gate
    x_zh, x_1m, x_b, x_out = 9.75, 10.55, 11.4, 13.35   # update rule: z ⊙ h, 1 − z, + and (1 − z) ⊙ n, hₜ
    y_x, y_in, y_sum, y_g, y_hn, y_h = 0.5, 1.5, 2.45, 3.6, 4.85, 6.15
    left, right, bottom, top = 1.7, 11.95, 0.05, 6.95
    gw, gh = 1.5, 0.8                                     # gate boxes

    ax.add_patch(FancyBboxPatch((left, bottom), right - left, top - bottom, boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=ROLE["cell"], edgecolor=ROLE["edge"], linewidth=1.4))
    ax.text(left + 0.15, top - 0.12, "GRUCell", ha="left", va="top", fontsize=12, fontweight="bold",
            family="monospace")

    # The two inputs: hₜ₋₁ runs along the top, xₜ along the bottom; every gate reads both.
    state_box(ax, 0.8, y_h, "hₜ₋₁", "(批量, H)", ROLE["hidden"])
    state_box(ax, 0.8, y_x, "xₜ", "(批量, I)", ROLE["input"])
    hidden, inp = ROLE["hidden"], ROLE["input"]
    ax.plot([1.4, x_zh - 0.25], [y_h, y_h], color=hidden, lw=2.0, solid_capstyle="butt")
    ax.plot([1.4, x_z], [y_x, y_x], color=inp, lw=2.0, solid_capstyle="butt")

    # Reset gate r and update gate z: σ of both inputs' affine maps.
    for x, g, name in ((x_r, "r", "重置门"), (x_z, "z", "更新门")):
        _box(ax, x, y_g, gw, gh, f"{name} {g}\nσ(…)", GATE[g], f"box-{g}", mark[g], color="white", size=11)
        arrow(ax, (x, y_h), (x, y_g + gh / 2), color=hidden)
    arrow(ax, (x_r, y_x), (x_r, y_g - gh / 2), color=inp)
    # z's input from xₜ passes under the candidate's line: a gap where they cross.
    ax.plot([x_z, x_z], [y_x, y_sum - 0.2], color=inp, lw=1.4)
    arrow(ax, (x_z, y_sum + 0.2), (x_z, y_g - gh / 2), color=inp)

    # Candidate hidden state n: r multiplies hₜ₋₁Wₕₙᵀ + bₕₙ, the matmul's result WITH its bias.
    _box(ax, x_n, y_hn, 2.3, 0.62, "hₜ₋₁Wₕₙᵀ + bₕₙ", "white", "box-hn", mark["n"], size=11)
    arrow(ax, (x_n, y_h), (x_n, y_hn + 0.31), color=hidden)
    arrow(ax, (x_n, y_hn - 0.31), (x_n, y_g + 0.25))
    _last_patch(ax, "arrow-hn")
    _node(ax, x_n, y_g, "⊙", "node-reset", mark["n"] or mark["r"])
    reset_colour = ROLE["highlight"] if mark["r"] else GATE["r"]
    arrow(ax, (x_r + gw / 2, y_g), (x_n - 0.25, y_g), color=reset_colour, lw=2.2 if mark["r"] else 1.8)
    _last_patch(ax, "arrow-r")
    ax.text((x_r + gw / 2 + x_n - 0.25) / 2, y_g + 0.08, "r", ha="center", va="bottom", fontsize=12,
            color=GATE["r"], fontweight="bold")
    ax.text(x_n + 0.4, y_g + 0.05, "r 乘在矩阵乘法\n（连同 bₕₙ）之后", ha="left", va="center", fontsize=9.5,
            color=ROLE["highlight"])
    _box(ax, x_n, y_in, 1.9, 0.62, "xₜWᵢₙᵀ + bᵢₙ", "white", "box-in", mark["n"], size=11)
    arrow(ax, (x_n, y_x), (x_n, y_in - 0.31), color=inp)
    arrow(ax, (x_n, y_in + 0.31), (x_n, y_sum - 0.25))
    arrow(ax, (x_n, y_g - 0.25), (x_n, y_sum + 0.25))
    _node(ax, x_n, y_sum, "+", "node-n-sum", mark["n"])
    _box(ax, x_tanh, y_sum, 0.95, 0.55, "tanh", GATE["n"], "box-tanh", mark["n"], color="white", size=11)
    arrow(ax, (x_n + 0.25, y_sum), (x_tanh - 0.475, y_sum))
    n_colour = ROLE["highlight"] if mark["n"] else GATE["n"]
    path_arrow(ax, [(x_tanh + 0.475, y_sum), (x_b, y_sum), (x_b, y_g - 0.25)], color=n_colour, lw=1.8)
    ax.text(x_z + 0.25, y_sum - 0.08, "n（候选隐状态）", ha="left", va="top", fontsize=10, color=GATE["n"],
            fontweight="bold")

    # The update rule on the hₜ₋₁ line: hₜ = z ⊙ hₜ₋₁ + (1 − z) ⊙ n.
    z_colour = ROLE["highlight"] if mark["z"] else GATE["z"]
    ax.plot([x_z + gw / 2, x_zh], [y_g, y_g], color=z_colour, lw=1.8)
    arrow(ax, (x_zh, y_g), (x_zh, y_h - 0.25), color=z_colour, lw=1.8)
    arrow(ax, (x_zh, y_g), (x_1m - 0.25, y_g), color=z_colour, lw=1.8)
    ax.text((x_z + gw / 2 + x_zh) / 2, y_g + 0.08, "z", ha="center", va="bottom", fontsize=12, color=GATE["z"],
            fontweight="bold")
    _node(ax, x_1m, y_g, "1−", "node-one-minus", mark["z"], size=10)
    arrow(ax, (x_1m + 0.25, y_g), (x_b - 0.25, y_g), color=z_colour, lw=1.8)
    _node(ax, x_b, y_g, "⊙", "node-n-update", mark["h"])
    arrow(ax, (x_b, y_g + 0.25), (x_b, y_h - 0.25), color=hidden)
    _node(ax, x_zh, y_h, "⊙", "node-zh", mark["h"])
    arrow(ax, (x_zh + 0.25, y_h), (x_b - 0.25, y_h), color=hidden, lw=2.0)
    _node(ax, x_b, y_h, "+", "node-h-sum", mark["h"])
    state_box(ax, x_out, y_h, "hₜ", "(批量, H)", hidden)
    arrow(ax, (x_b + 0.25, y_h), (x_out - 0.6, y_h), color=hidden, lw=2.0)
    ax.text(x_zh, y_h + 0.32, "z ⊙ hₜ₋₁", ha="center", va="bottom", fontsize=10, color=ROLE["edge"])
    ax.text(x_b - 0.15, (y_g + y_h) / 2, "(1 − z) ⊙ n", ha="right", va="center", fontsize=10, color=ROLE["edge"])
    ax.text(x_out, y_h - 0.55, "hₜ = (1 − z) ⊙ n\n+ z ⊙ hₜ₋₁", ha="center", va="top", fontsize=10.5,
            multialignment="right", color=ROLE["highlight"] if mark["h"] else hidden)

    # Where each gate's weights live: the blocks of the stacked weights. The columns above run r, n, z
    # (n sits between the gates so that r can reach it), so the labels do not go under their columns:
    # they form one row that reads left to right in storage order r, z, n, each in its gate's colour.
    ax.text(x_r - 0.5, bottom - 0.15, "门块的存放顺序：", ha="right", va="top", fontsize=10, color=ROLE["note"])
    for k, g in enumerate("rzn"):
        ax.text(x_r + 1.9 * k, bottom - 0.15, f"{g}：第 {k} 块", ha="center", va="top", fontsize=10,
                color=GATE[g], fontweight="bold")
    ax.text((left + right) / 2, bottom - 0.6,
            "weight_ih (3H, I)、weight_hh (3H, H)、bias_ih 和 bias_hh (3H,) 都按 r、z、n 的顺序每 H 行一块",
            ha="center", va="top", fontsize=10, color=ROLE["note"])
    ax.text((left + right) / 2, bottom - 1.05,
            "论文和《动手学深度学习》先算 r ⊙ hₜ₋₁ 再乘权重，偏置也不经过 r：和 nn.GRUCell 的结果不同",
            ha="center", va="top", fontsize=10, color=ROLE["note"])
    fit(ax, (-0.05, x_out + 0.9), (bottom - 1.55, top + 0.15), inches_per_unit=0.74)
    alt = ("示意图：nn.GRUCell 的一个时间步，按 PyTorch 的算法。xₜ 和 hₜ₋₁ 各自乘权重，经过 σ 得到重置门 r 和更新门 z；"
           "候选隐状态 n = tanh(xₜWᵢₙᵀ + bᵢₙ + r ⊙ (hₜ₋₁Wₕₙᵀ + bₕₙ))，r 乘在 hₜ₋₁ 乘过权重、加过偏置之后；"
           "新的隐状态 hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁。底部注明 weight_ih (3H, I)、weight_hh (3H, H) 和两个偏置 (3H,) "
           "都按 r、z、n 的顺序每 H 行一块，并指出论文和《动手学深度学习》先算 r ⊙ hₜ₋₁ 再乘权重、偏置也不经过 r，"
           "结果和 nn.GRUCell 不同。")
    if highlight is not None:
        alt += f"图中突出显示的是{PARTS[highlight]}。"
    return described(fig, alt)


__all__ = ["draw_gru_cell", "PARTS"]
