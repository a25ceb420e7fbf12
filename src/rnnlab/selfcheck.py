"""Self-checks for the lectures: a multiple-choice question with instant feedback.

Lectures are not graded, so the answer may live in the notebook; the point is the
explanation the student sees after choosing.
"""

from __future__ import annotations

import re
from html import escape

import ipywidgets as W

from rnnlab.explorers.html import message


def _inline_code(text: str) -> str:
    """Escape, then show `identifiers` in code font as Markdown would."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


class Quiz(W.VBox):
    def __init__(self, question: str, options: list[str], answer: int, explanation: str):
        if not options or not isinstance(answer, int) or not 0 <= answer < len(options):
            raise ValueError(f"answer 应当是选项的下标（0 到 {len(options) - 1}），收到的是 {answer!r}。")
        self.answer, self.explanation = answer, explanation
        self.choice = W.RadioButtons(options=[str(o) for o in options], value=None, layout=W.Layout(width="auto"))
        self.button = W.Button(description="检查答案")
        self.feedback = W.HTML()
        self.button.on_click(lambda _b: self.check())
        super().__init__([W.HTML(f"<b>自测：</b>{_inline_code(question)}"), self.choice, self.button, self.feedback])
        self.add_class("rnnlab-quiz")

    def check(self) -> bool:
        if self.choice.index is None:
            self.feedback.value = message("先选一个答案。", "warning")
            return False
        right = self.choice.index == self.answer
        text = "正确。" + self.explanation if right else "再想想：回到上面对应的代码，看看它打印出的形状。"
        self.feedback.value = message(text, "ok" if right else "error")
        return right


def quiz(question: str, options: list[str], answer: int, explanation: str) -> Quiz:
    return Quiz(question, options, answer, explanation)
