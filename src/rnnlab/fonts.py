"""Chinese text in matplotlib: find a CJK font once, fall back to it, warn once if there is none.

    from rnnlab.fonts import setup_cjk_fonts
    setup_cjk_fonts()   # idempotent; every figure helper calls it
"""

from __future__ import annotations

import warnings

import matplotlib
from matplotlib import font_manager

# Tried in order; the first one installed is used for every Chinese glyph.
CJK_CANDIDATES = (
    "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
    "Arial Unicode MS",
)
NO_FONT_MESSAGE = (
    "没有找到中文字体，图中的中文会显示成方框（图本身照常绘制）。"
    "Linux：sudo apt-get install fonts-noto-cjk；conda：conda install -c conda-forge font-ttf-noto-cjk；"
    "Windows 和 macOS 自带的中文字体（微软雅黑、苹方）会被自动找到。装好字体后重启内核。"
)

_state: dict = {}


def _installed(candidates) -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((c for c in candidates if c in names), None)


def setup_cjk_fonts(candidates=CJK_CANDIDATES) -> str | None:
    """Configure matplotlib for Chinese labels; return the CJK font used, or None.

    Idempotent: the search runs once per process (per candidate list).
    """
    key = tuple(candidates)
    if key in _state:
        return _state[key]
    found = _installed(candidates)
    if found is None and candidates:
        # Fonts installed after matplotlib first ran are not in its cached list yet.
        font_manager.fontManager = font_manager.FontManager()
        found = _installed(candidates)
    if found:
        matplotlib.rcParams["font.family"] = ["DejaVu Sans", found]
    else:
        warnings.warn(NO_FONT_MESSAGE, UserWarning, stacklevel=2)
        # One clear warning instead of one per missing glyph.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from", category=UserWarning)
    matplotlib.rcParams["axes.unicode_minus"] = False
    _state[key] = found
    return found
