"""What every explorer shares: an HTML output that never shows a traceback."""

from __future__ import annotations

import ipywidgets as W

from rnnlab.explorers.html import message


class HTMLView(W.VBox):
    """A VBox whose `output` HTML is redrawn by `render()`; errors become Chinese messages."""

    error: str | None = None

    def render(self) -> str:  # pragma: no cover - each explorer defines it
        raise NotImplementedError

    def show_error(self, text: str) -> None:
        self.error = text
        self.output.value = message(text, "error")

    def update(self) -> None:
        try:
            self.output.value = self.render()
            self.error = None
        except Exception as e:  # a bug of ours must still not reach the notebook as a traceback
            self.show_error(f"内部错误：{type(e).__name__}: {e}")
