"""A widget's current view as static HTML, for everything that cannot run a widget.

A lecture's explorer or quiz is an ipywidgets box: JupyterLab draws it live, but a printed handout,
a slide, the offline site or GitHub's notebook viewer has no kernel and would show an empty box.
So the box's display (`_repr_mimebundle_` of view.HTMLView and of selfcheck.Quiz) carries, next to
the widget view, a `text/html` picture of what it shows now: every control with its label and value,
every HTML output as it is, buttons and progress bars drawn, a figure the view draws (the stepper's
`_figure()`) as an inline PNG with its Chinese description as alt text. JupyterLab ranks the widget
view first and shows the live widget; every static export (rnnlab.grading.lectures_export drops the
widget view and the widget state) shows this picture.

Inline styles only (a handout or a slide has none of JupyterLab's CSS); nothing is fetched.
"""

from __future__ import annotations

import base64
import io
import re
from html import escape, unescape

import ipywidgets as W

STATIC_CLASS = "rnnlab-static-view"  # the outer <div>: found by the kit's tests and styled by the site

_BOX = "border:1px solid #ccc;border-radius:4px;padding:8px 10px;margin:4px 0;max-width:100%;overflow-wrap:anywhere"
_CONTROL = "display:inline-block;margin:2px 14px 2px 0;white-space:nowrap"
_VALUE = "display:inline-block;border:1px solid #aaa;border-radius:3px;padding:0 6px;margin-left:4px;background:#f7f7f7"


def _label(w) -> str:
    text = getattr(w, "description", "") or ""
    return f"<span>{escape(text)}</span>" if text else ""


def _option_label(w, value) -> str:
    for o in w.options:
        if isinstance(o, tuple) and o[1] == value:
            return str(o[0])
    return str(value)


def _plain_text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


def _figure_png(fig, owner=None) -> str:
    """An <img> of the matplotlib figure `fig`; its alt text is the figure's Chinese description, else
    the text the view shows next to it (the stepper: which time step, which shapes)."""
    from rnnlab.figures.drawing import alt_text

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    shown = getattr(getattr(owner, "output", None), "value", "")
    alt = alt_text(fig) or ("交互演示当前状态的图：" + _plain_text(shown) if shown else "交互演示当前状态的图")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}" style="max-width:100%">'


def control_html(w) -> str | None:
    """One control as `label [value]`, or None when `w` is not a control."""
    if isinstance(w, W.Checkbox):
        mark = "☑" if w.value else "☐"
        return f'<span style="{_CONTROL}">{mark} {escape(w.description or "")}</span>'
    if isinstance(w, (W.Dropdown, W.Select)):
        return f'<span style="{_CONTROL}">{_label(w)}<span style="{_VALUE}">{escape(_option_label(w, w.value))} ▾</span></span>'
    if isinstance(w, W.RadioButtons):
        items = "".join(f'<li style="list-style:none">{"◉" if o == w.value else "○"} {escape(str(o))}</li>'
                        for o in w.options)
        return f'<ul style="margin:4px 0;padding-left:8px">{items}</ul>'
    if isinstance(w, (W.IntSlider, W.FloatSlider)):
        value = f"{w.value:g}" if isinstance(w.value, float) else str(w.value)
        return (f'<span style="{_CONTROL}">{_label(w)}<span style="{_VALUE}">{escape(value)}</span>'
                f'<span style="color:#666">（{w.min:g} 到 {w.max:g}）</span></span>')
    if isinstance(w, (W.Text, W.IntText, W.FloatText)):
        return f'<span style="{_CONTROL}">{_label(w)}<span style="{_VALUE}">{escape(str(w.value))}</span></span>'
    if isinstance(w, W.Button):
        return (f'<span style="{_CONTROL};border:1px solid #999;border-radius:3px;padding:0 8px;'
                f'background:#eee">{escape(w.description or "")}</span>')
    if isinstance(w, (W.IntProgress, W.FloatProgress)):
        share = 0 if w.max == w.min else (w.value - w.min) / (w.max - w.min)
        return (f'<span style="{_CONTROL}">{_label(w)} <span style="display:inline-block;width:120px;height:10px;'
                f'border:1px solid #999;vertical-align:middle"><span style="display:block;height:100%;'
                f'width:{100 * share:.0f}%;background:#888"></span></span> {w.value}/{w.max}</span>')
    return None


def widget_html(w, owner=None) -> str:
    """The static HTML of widget `w` (a box is walked); `owner` is the view it belongs to."""
    owner = owner if owner is not None else w
    if w.layout.display == "none":  # hidden (the keyboard script's Output): not part of the view
        return ""
    if isinstance(w, W.Box):
        inner = "".join(widget_html(c, owner) for c in w.children)
        if isinstance(w, W.HBox):
            return f'<div style="display:flex;flex-wrap:wrap;align-items:center;gap:4px">{inner}</div>'
        return f"<div>{inner}</div>"
    if isinstance(w, W.HTML):
        return f"<div>{w.value}</div>" if w.value else ""
    if isinstance(w, W.Output):
        # The kernel does not see what the frontend captured: a view that draws into an Output
        # (the stepper) redraws its figure for the picture.
        draw = getattr(owner, "_figure", None)
        if callable(draw):
            import matplotlib.pyplot as plt

            fig = draw()
            try:
                return f"<div>{_figure_png(fig, owner)}</div>"
            finally:
                plt.close(fig)
        return ""
    html = control_html(w)
    return html if html is not None else ""


NOTE = "交互演示的默认视图：在 JupyterLab 里运行讲义，就可以改动上面的控件"


def static_html(view, note: str = NOTE) -> str:
    """The whole view, in one bordered <div> marked as a static picture of the live widget."""
    try:
        body = widget_html(view)
    except Exception as e:  # the picture must never break the live widget's display
        body = f"<p>（无法生成静态视图：{escape(type(e).__name__)}: {escape(str(e))}）</p>"
    foot = f'<p style="color:#666;font-size:85%;margin:6px 0 0">（{escape(note)}）</p>'
    return f'<div class="{STATIC_CLASS}" style="{_BOX}">{body}{foot}</div>'


def with_static_view(bundle: dict, view, note: str = NOTE) -> dict:
    """`bundle` (a widget's display data) with the view's static HTML added as text/html."""
    data = dict(bundle or {})
    data["text/html"] = static_html(view, note)
    return data
