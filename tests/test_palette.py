"""The palette keeps meanings apart for readers with a colour-vision deficiency (issue 24, accessibility).

Every pair of colours that name different things in one picture is compared as a reader with normal
vision, protanopia, deuteranopia and tritanopia sees it: the colours are simulated with the matrices of
Machado, Oliveira and Fernandes (2009, severity 1, on linear sRGB: those of Chrome's and Firefox's
developer tools) and compared in CIELAB (CIE76 distance). At least 17 apart: the old palette's forward
green and "wrong" red, which a deuteranope confuses, were 15.8 apart for them.
"""

from __future__ import annotations

import itertools

import pytest

from rnnlab import palette as P
from rnnlab.figures.training import CELL_COLOUR

MACHADO = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}
VISIONS = (None, *MACHADO)
APART = 17.0

# What shares a picture: (where, {meaning: colour}).
GROUPS = {
    "双向的方向与“错误”": P.DIRECTION,
    "形状片的维度": P.DIM,
    "LSTM 图：四个门块和记忆元": {**{g: P.GATE[g] for g in "ifgo"}, "memory": P.ROLE["memory"]},
    "GRU 的三个门块": {g: P.GATE[g] for g in "rzn"},
    "示意图的角色": {k: P.ROLE[k] for k in ("input", "hidden", "memory", "highlight")},
    "第 6 章训练曲线的三种单元": CELL_COLOUR,
    "提示框的文字": {k: v[0] for k, v in P.MESSAGE.items()},
}


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _rgb(colour: str) -> list[float]:
    h = colour.lstrip("#")
    h = "".join(ch * 2 for ch in h) if len(h) == 3 else h
    return [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]


def lab(colour: str, vision: str | None = None) -> tuple[float, float, float]:
    """CIELAB (D65) of `colour` as a reader with `vision` sees it (None: normal vision)."""
    r, g, b = (_linear(c) for c in _rgb(colour))
    if vision:
        m = MACHADO[vision]
        r, g, b = (min(1.0, max(0.0, m[i][0] * r + m[i][1] * g + m[i][2] * b)) for i in range(3))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def distance(a: str, b: str, vision: str | None = None) -> float:
    return sum((p - q) ** 2 for p, q in zip(lab(a, vision), lab(b, vision))) ** 0.5


@pytest.mark.parametrize("where", GROUPS)
def test_colours_that_share_a_picture_stay_apart_under_every_colour_vision(where):
    close = [(m1, m2, vision or "正常", round(distance(c1, c2, vision), 1))
             for (m1, c1), (m2, c2) in itertools.combinations(GROUPS[where].items(), 2)
             for vision in VISIONS if distance(c1, c2, vision) < APART]
    assert close == [], f"{where}：这些颜色在模拟的色觉下分不开（CIE76 距离 < {APART}）：{close}"


def test_the_check_tells_the_old_red_and_green_apart_only_for_normal_vision():
    """The old palette's forward green and "wrong" red: far apart for normal vision, too close for a deuteranope."""
    green, red = "#2e7d32", "#c62828"
    assert distance(green, red) > 50
    assert distance(green, red, "deuteranopia") < APART


def test_the_simulation_keeps_grey_grey_and_is_the_published_one():
    """A grey is the same grey to every reader; pure red as a protanope sees it is dark olive (Machado's row sums)."""
    for vision in MACHADO:
        assert distance("#808080", "#808080", vision) < 1.0
        assert all(abs(sum(row) - 1.0) < 0.01 for row in MACHADO[vision])
    L, a, b = lab("#ff0000", "protanopia")
    assert L < 50 and b > 30 and abs(a) < 15
