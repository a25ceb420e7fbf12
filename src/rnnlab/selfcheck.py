"""Self-checks for the lectures: a multiple-choice question with instant feedback.

Lectures are not graded, so the answer may live in the notebook; the point is the
explanation the student sees after choosing. Each option may carry its own explanation,
so a wrong choice is told what exactly is wrong with it:

    quiz("`weight_ih` 的形状？", ["(8, 30)", "(30, 8)"], answer=0,
         explanations=["按 (输出, 输入) 存放。", "这是《动手学深度学习》里 W_xh 的形状。"])

`explanations` is a list with one text per option, or a dict {option index: text} for some
of them. An option without its own text falls back to `explanation` (right answer) or to a
generic hint (wrong answer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape

import ipywidgets as W

from rnnlab.explorers.html import message

GENERIC_HINT = "再想想：回到上面对应的代码，看看它打印出的形状。"


def _code_spans(html: str) -> str:
    """Show `identifiers` of already escaped HTML in code font, as Markdown would."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html)


def _inline_code(text: str) -> str:
    """Escape, then show `identifiers` in code font."""
    return _code_spans(escape(text))


def _plain(text: str) -> str:
    """An option's label: a radio button shows plain text, so `identifiers` lose their backticks."""
    return re.sub(r"`([^`]+)`", r"\1", str(text))


def _per_option(explanations, n: int) -> dict[int, str]:
    """Normalise `explanations` (None, a list of n texts, or {index: text}) to a dict."""
    if explanations is None:
        return {}
    if isinstance(explanations, Mapping):
        bad = [k for k in explanations if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n]
        if bad:
            raise ValueError(f"explanations 的键应当是选项的下标（0 到 {n - 1}），收到了 {bad!r}。")
        return {k: str(v) for k, v in explanations.items() if v}
    if isinstance(explanations, Sequence) and not isinstance(explanations, str):
        if len(explanations) != n:
            raise ValueError(f"explanations 应当每个选项一条，共 {n} 条，收到的是 {len(explanations)} 条。")
        return {k: str(v) for k, v in enumerate(explanations) if v}
    raise ValueError(f"explanations 应当是列表（每个选项一条）或字典（选项下标 → 解释），收到的是 {type(explanations).__name__}。")


class Quiz(W.VBox):
    def __init__(self, question: str, options: list[str], answer: int, explanation: str = "",
                 explanations: Sequence[str] | Mapping[int, str] | None = None):
        if (not options or isinstance(answer, bool) or not isinstance(answer, int)
                or not 0 <= answer < len(options)):
            raise ValueError(f"answer 应当是选项的下标（0 到 {len(options) - 1}），收到的是 {answer!r}。")
        self.answer, self.explanation = answer, explanation
        self.explanations = _per_option(explanations, len(options))
        labels = [_plain(o) for o in options]
        if len(set(labels)) != len(labels):
            raise ValueError(f"选项不能重复：{labels}")
        self.choice = W.RadioButtons(options=labels, value=None, layout=W.Layout(width="auto"))
        self.button = W.Button(description="检查答案")
        self.feedback = W.HTML()
        self.button.on_click(lambda _b: self.check())
        super().__init__([W.HTML(f"<b>自测：</b>{_inline_code(question)}"), self.choice, self.button, self.feedback])
        self.add_class("rnnlab-quiz")

    def _repr_mimebundle_(self, **kwargs):
        """The live quiz, and a static picture of it (question and options, no answer) for exports."""
        from rnnlab.explorers.static import with_static_view

        return with_static_view(super()._repr_mimebundle_(**kwargs), self,
                                "自测题：在 JupyterLab 里运行讲义，选一个答案再点“检查答案”")

    def check(self) -> bool:
        """Show the feedback for the chosen option; True when it is the answer."""
        index = self.choice.index
        if index is None:
            self.feedback.value = message("先选一个答案。", "warning")
            return False
        right = index == self.answer
        if right:
            text = "正确。" + self.explanations.get(index, self.explanation)
        elif index in self.explanations:
            text = "再想想：" + self.explanations[index]
        else:
            text = GENERIC_HINT
        self.feedback.value = _code_spans(message(text, "ok" if right else "error"))
        return right


def quiz(question: str, options: list[str], answer: int, explanation: str = "",
         explanations: Sequence[str] | Mapping[int, str] | None = None) -> Quiz:
    """A multiple-choice self-check; `explanations` gives each option its own feedback."""
    return Quiz(question, options, answer, explanation, explanations)
