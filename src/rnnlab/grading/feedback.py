"""Chinese feedback: nbgrader's feedback HTML with its labels in Chinese.

Installed as GenerateFeedback's post-convert hook in nbgrader_config.py, so feedback made
from the CLI or from formgrader reads the same.
"""

from __future__ import annotations

from pathlib import Path

# nbgrader's feedback template labels, longest first so that no label eats another.
LABELS = [
    ("Late submission penalty", "迟交扣分"),
    ("Coding free-response", "编程简答"),
    ("Written response", "简答题"),
    ("Student's answer", "你的答案"),
    ("Student's task", "你的任务"),
    ("Test cell", "测试单元格"),
    ("Comments:", "评语："),
    ("(Score: ", "（得分："),
    ("Score: ", "得分："),
    ("(Top)", "（回到顶部）"),
    (">Comment<", ">评语<"),
    (">Task<", ">任务<"),
]


def translate(html: str) -> str:
    html = html.replace("<html>", '<html lang="zh-CN">', 1)
    for en, zh in LABELS:
        html = html.replace(en, zh)
    # "(得分：3 / 5)" -> "（得分：3 / 5）"
    return html.replace(")</h4>", "）</h4>").replace(")</li>", "）</li>")


def post_convert_hook(assignment=None, student=None, notebooks=None, **_):
    """Translate the feedback HTML written for one student's submission."""
    for nb in notebooks or []:
        folder = Path(nb).parent
        feedback = Path.cwd() / "feedback" / folder.parent.name / folder.name
        for html in feedback.glob("*.html"):
            html.chmod(0o644)
            html.write_text(translate(html.read_text(encoding="utf-8")), encoding="utf-8")
