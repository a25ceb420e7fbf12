"""What every explorer shares: named controls, one way to set and check them, and an HTML
output that never shows a traceback.

An explorer subclasses HTMLView, builds its widgets, calls `watch(controls, output)` and
defines `render()`. Then:

* a change of any control redraws once (`update`); a `ConfigError` from `render` becomes
  its Chinese message, any other exception an "内部错误" message, never a traceback;
* `set(name=value, ...)` (tests, notebooks, the constructors) checks every value with
  `check_value` first: if one is wrong nothing changes and the output says why; otherwise
  all values are assigned and the output is redrawn once.

A value typed into a text box goes through the same `parse_int` as a value passed to `set`.

Every explorer also works from the keyboard alone (KEYBOARD_JS, below).
"""

from __future__ import annotations

import contextlib
import math
import numbers

import ipywidgets as W

from rnnlab.explorers.html import message
from rnnlab.shapes import ConfigError


def parse_int(value, name: str) -> int:
    """An integer as typed in a text box or passed in code; ConfigError (Chinese) if it is not one.

    Text must be an integer literal ("1000", " 50 "): "1e3" or "20.0" name an integer but are
    not written as one, and the message says how to write it. A number passed in code is
    taken by its value, as rnnlab.shapes does (20.0 is 20, 2.5 is refused).
    """
    if isinstance(value, str):
        s = value.strip()
        try:
            return int(s)
        except ValueError:
            pass
        try:
            f = float(s)
        except ValueError:
            raise ConfigError(f"{name} 必须是整数，收到的是 {s!r}。") from None
        if math.isfinite(f) and f.is_integer() and abs(f) < 1e15:
            raise ConfigError(f"{name} 必须是整数：{s} 不是整数的写法，请写 {int(f)}。")
        raise ConfigError(f"{name} 必须是整数，收到的是 {s!r}。")
    if isinstance(value, bool):
        raise ConfigError(f"{name} 必须是整数，收到的是 {value!r}。")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise ConfigError(f"{name} 必须是整数，收到的是 {value!r}。")


def _parse_float(value, name: str) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise ConfigError(f"{name} 必须是数，收到的是 {value.strip()!r}。") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{name} 必须是数，收到的是 {value!r}。")
    return float(value)


def check_value(widget: W.Widget, name: str, value, note: str = ""):
    """`value` as `widget` should hold it, or ConfigError with a Chinese message.

    Sliders refuse what they would silently clip; dropdowns what they do not offer;
    text boxes (sizes) hold the integer as text. `note` is added when a value is beyond a
    slider's range (why this view stops there).
    """
    if isinstance(widget, W.Dropdown):
        options = [o if isinstance(o, str) else o[1] for o in widget.options]
        if value not in options:
            raise ConfigError(f"{name} 只能是 {', '.join(map(str, options))} 之一，收到的是 {value!r}。")
        return value
    if isinstance(widget, W.Checkbox):
        if isinstance(value, bool) or (isinstance(value, numbers.Integral) and value in (0, 1)):
            return bool(value)
        raise ConfigError(f"{name} 应当是 True 或 False，收到的是 {value!r}。")
    if isinstance(widget, W.IntSlider):
        v = parse_int(value, name)
        if not widget.min <= v <= widget.max:
            raise ConfigError(f"{name} 应当是 {widget.min} 到 {widget.max} 之间的整数，收到的是 {v}。"
                              + (note if v > widget.max else ""))
        return v
    if isinstance(widget, W.FloatSlider):
        v = _parse_float(value, name)
        if not widget.min <= v <= widget.max:
            raise ConfigError(f"{name} 应当是 {widget.min:g} 到 {widget.max:g} 之间的数，收到的是 {v:g}。"
                              + (note if v > widget.max else ""))
        return v
    if isinstance(widget, W.Text):  # a size typed as text: the box keeps the text
        return str(parse_int(value, name))
    return value  # pragma: no cover - every control of the explorers is one of the above


# What ipywidgets 8 leaves to do in the browser for a keyboard-only or screen-reader user; Python cannot set
# attributes inside a widget's DOM, so a script does it, run by the front end each time the explorer is drawn
# (`element` is the output node it runs in: JupyterLab and Notebook 7; a jQuery object in the classic notebook):
# * a slider is drawn by noUiSlider: its handle (role="slider") and the number box beside it (contenteditable)
#   are not <input>s, so the description's <label> names neither ("slider, 2", no name). Both are named by
#   that label (aria-labelledby), the box is a textbox; a disabled slider's handle leaves the Tab order;
# * a progress bar (「进度」) is two bare <div>s: it gets role="progressbar", its label as name and, kept up to date,
#   the percentage done as its value (the bar's width is the only place the front end writes it);
# * JupyterLab's command-mode shortcuts take keys from a focused dropdown: ↓ moved to the next cell, and
#   typing "r" (for RNN) turned the explorer's cell into a raw cell. Keys a control uses stop at the
#   explorer (stopPropagation: the control still gets them); Ctrl/Meta shortcuts go on to JupyterLab;
# * a focused button that turns disabled (「训练」 once a run starts, 「停止」 once it ends) dropped the focus
#   to <body>: it goes to the button of the same row that is, or next becomes, enabled.
KEYBOARD_JS = r"""
(function (node) {
  if (node && node.jquery) node = node[0];
  var NAV = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown'];
  function ownKey(t, e) {
    if (e.ctrlKey || e.metaKey) return false;
    if (t.matches('select')) return NAV.indexOf(e.key) >= 0 || e.key.length === 1 || (e.key === 'Enter' && !e.shiftKey);
    if (t.matches('button')) return !e.shiftKey && !e.altKey && (e.key === 'Enter' || e.key === ' ');
    if (t.matches('input[type=checkbox]')) return !e.shiftKey && !e.altKey && e.key === ' ';
    if (t.matches('.noUi-handle')) return NAV.indexOf(e.key) >= 0;
    return false;
  }
  function set(el, name, value) {
    if (value === null) { if (el.hasAttribute(name)) el.removeAttribute(name); }
    else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
  }
  function nameSliders(root) {
    root.querySelectorAll('.widget-slider').forEach(function (box) {
      var label = box.querySelector(':scope > label.widget-label');
      if (!label || !label.textContent.trim()) return;
      if (!label.id) label.id = 'rnnlab-label-' + (window.__rnnlabLabels = (window.__rnnlabLabels || 0) + 1);
      var off = !!box.querySelector('.noUi-target[disabled]');
      box.querySelectorAll('.noUi-handle').forEach(function (h) {
        set(h, 'aria-labelledby', label.id);
        set(h, 'tabindex', off ? '-1' : '0');
        set(h, 'aria-disabled', off ? 'true' : null);
      });
      var readout = box.querySelector(':scope > .widget-readout');
      if (readout) {
        set(readout, 'role', 'textbox');
        set(readout, 'aria-labelledby', label.id);
        set(readout, 'aria-disabled', off ? 'true' : null);
      }
    });
  }
  function nameProgress(root) {
    root.querySelectorAll('.widget-hprogress').forEach(function (box) {
      var label = box.querySelector(':scope > label.widget-label'), bar = box.querySelector('.progress');
      if (!label || !bar || !label.textContent.trim()) return;
      if (!label.id) label.id = 'rnnlab-label-' + (window.__rnnlabLabels = (window.__rnnlabLabels || 0) + 1);
      var fill = bar.querySelector('.progress-bar'), done = Math.round(parseFloat(fill && fill.style.width) || 0);
      set(bar, 'role', 'progressbar');
      set(bar, 'aria-labelledby', label.id);
      set(bar, 'aria-valuemin', '0');
      set(bar, 'aria-valuemax', '100');
      set(bar, 'aria-valuenow', String(Math.max(0, Math.min(100, done))));
    });
  }
  function setUp(root) {
    if (root.__rnnlabKeyboard) return;
    root.__rnnlabKeyboard = true;
    var last = null, lost = null;
    root.addEventListener('keydown', function (e) { if (ownKey(e.target, e)) e.stopPropagation(); });
    root.addEventListener('focusin', function (e) { last = e.target; });
    nameSliders(root);
    nameProgress(root);
    new MutationObserver(function (records) {
      nameSliders(root);
      nameProgress(root);
      var now = document.activeElement, idle = !now || now === document.body;
      records.forEach(function (m) {
        var b = m.target;
        if (m.type === 'attributes' && m.attributeName === 'disabled' && b.matches('button') && b.disabled &&
            b === last && (idle || now === b))
          lost = b.parentElement;
      });
      if (!lost) return;
      if (!idle && !lost.contains(now)) { lost = null; return; }
      var next = Array.prototype.find.call(lost.querySelectorAll(':scope > button'), function (x) { return !x.disabled; });
      if (next) { lost = null; next.focus(); }
    }).observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['disabled', 'style']});
  }
  var tries = 0;
  (function look() {
    document.querySelectorAll('.rnnlab-explorer').forEach(setUp);
    var mine = node && node.closest ? node.closest('.rnnlab-explorer') : null;
    if (!(mine && mine.__rnnlabKeyboard) && ++tries < 100) setTimeout(look, 100);
  })();
})(typeof element === 'undefined' ? null : element);
"""


def keyboard_support() -> W.Output:
    """A hidden Output whose only output is KEYBOARD_JS: the front end runs it wherever the explorer is drawn
    (an Output widget's outputs are trusted in JupyterLab)."""
    out = W.Output(layout=W.Layout(display="none"))
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {"application/javascript": KEYBOARD_JS, "text/plain": ""}},)
    return out


class HTMLView(W.VBox):
    """A VBox of named controls whose `output` HTML is redrawn by `render()`.

    Its children are those given, then the hidden keyboard_support(); its class `rnnlab-explorer` is what
    KEYBOARD_JS looks for."""

    error: str | None = None
    controls: dict[str, W.Widget]
    output: W.HTML
    # Shown under an error message (e.g. "改正后这里会自动更新。"); None: nothing.
    recover_hint: str | None = None
    # Per control: a sentence added when a value is beyond its slider (why the view stops there).
    range_notes: dict[str, str] = {}
    _muted = False

    def __init__(self, children=(), **kwargs):
        super().__init__([*children, keyboard_support()], **kwargs)
        self.add_class("rnnlab-explorer")

    def _repr_mimebundle_(self, **kwargs):
        """The live widget for JupyterLab, and next to it a static HTML picture of the current view
        for every export that cannot run widgets (handouts, slides, the offline site): explorers/static.py."""
        from rnnlab.explorers.static import with_static_view

        return with_static_view(super()._repr_mimebundle_(**kwargs), self)

    def watch(self, controls: dict[str, W.Widget], output: W.HTML) -> None:
        """Register the named controls and the output; any change of a control redraws once."""
        self.controls, self.output = controls, output
        for w in controls.values():
            w.observe(self._changed, names="value")

    def _changed(self, _change) -> None:
        if not self._muted:
            self.update()

    @contextlib.contextmanager
    def muted(self):
        """Change several controls without a redraw after each."""
        self._muted = True
        try:
            yield
        finally:
            self._muted = False

    # -- rendering ------------------------------------------------------------------
    def render(self) -> str:  # pragma: no cover - each explorer defines it
        raise NotImplementedError

    def show_error(self, text: str) -> None:
        self.error = text
        hint = message(self.recover_hint, "warning") if self.recover_hint else ""
        self.output.value = message(text, "error") + hint

    def update(self) -> None:
        """Redraw. Never raises: a bad value becomes a Chinese message."""
        try:
            html = self.render()
        except ConfigError as e:
            self.show_error(str(e))
            return
        except Exception as e:  # a bug of ours must still not reach the notebook as a traceback
            self.show_error(f"内部错误：{type(e).__name__}: {e}")
            return
        self.error = None
        self.output.value = html

    # -- setting --------------------------------------------------------------------
    def check_values(self, values: dict) -> None:
        """Checks across controls, on the checked `values` about to be set (ConfigError). None here."""

    def set(self, **values) -> None:
        """Set controls by name; one redraw at the end. A wrong value changes nothing and
        becomes a Chinese message in the output (never an exception)."""
        try:
            checked = {}
            for k, v in values.items():
                if k not in self.controls:
                    raise ConfigError(f"不认识的参数：{k!r}。可以设置的有：{', '.join(self.controls)}。")
                checked[k] = check_value(self.controls[k], k, v, self.range_notes.get(k, ""))
            self.check_values(checked)
        except ConfigError as e:
            self.show_error(str(e))
            return
        with self.muted():
            for k, v in checked.items():
                self.controls[k].value = v
        self.update()
