"""`python -m rnnlab.grading slides [--out build/slides]`: one reveal.js deck per lecture.

    build/slides/<lecture>.html     a deck: the executed lecture (rnnlab.grading.lectures_export),
                                    figures with their Chinese alt text, explorers and quizzes as their
                                    static default views, formulas drawn by the local KaTeX
    build/slides/assets/            reveal.js and KaTeX (pinned in deploy/kit/package-lock.json,
                                    `make kit-assets`): nothing is loaded from the web

Slide boundaries are the lectures' own slide metadata (cell.metadata.slideshow.slide_type, which
JupyterLab's property inspector shows and nbconvert's SlidesExporter reads). They follow the headings,
by one rule (SLIDE_RULE), written into notebooks/ by `python -m rnnlab.grading slides --mark`;
tests/test_teacher_kit.py fails when a lecture's metadata and its headings disagree. A slide whose cells run past
the bottom edge is shown smaller when it is shown (down to 70 %), and scrolls what still does not fit
(kit_templates/rnnlab_slides.html.j2).
"""

from __future__ import annotations

import re
from pathlib import Path

from rnnlab.grading import kit
from rnnlab.grading.course import CourseError, writable_out
from rnnlab.grading.lectures_export import course_lectures, executed_lectures

SLIDE_RULE = ("一个以 # 或 ## 标题开头的 Markdown 单元格开始一张新幻灯片（slide）；以 ### 标题开头的、"
              "紧跟在代码单元格后面的 Markdown 单元格，以及显示探索器或自测题的代码单元格，开始一张下翻的子幻灯片（subslide）；"
              "其余单元格接在前一张上（-）。第一个单元格总是开始一张幻灯片。")
# A code cell that shows an explorer or a quiz (its call on a line of its own): it gets a slide to itself, with its
# static view, so that the view is not pushed below the slide's bottom edge by the text before it.
WIDGET_CALL = re.compile(r"^(?:\w+\s*=\s*)?(?:ModuleExplorer|GateBlocks|BidirectionalMap|show_stepper|TrainingExplorer|quiz)\(",
                         re.M)


def slide_type(cell, previous) -> str:
    """The slide type SLIDE_RULE gives `cell` (`previous`: the cell before it, None for the first)."""
    if previous is None:
        return "slide"
    if cell.cell_type == "markdown":
        if re.match(r"#{1,2} ", cell.source):
            return "slide"
        if re.match(r"### ", cell.source) or previous.cell_type == "code":
            return "subslide"
    elif cell.cell_type == "code" and WIDGET_CALL.search(cell.source):
        return "subslide"
    return "-"


def mark(nb) -> bool:
    """Set every cell's slide type by SLIDE_RULE, in place; True when anything changed."""
    changed, previous = False, None
    for cell in nb.cells:
        kind = slide_type(cell, previous)
        if cell.metadata.get("slideshow", {}).get("slide_type") != kind:
            cell.metadata["slideshow"] = {"slide_type": kind}
            changed = True
        previous = cell
    return changed


def mark_lectures(course: Path) -> list[Path]:
    """Rewrite the slide metadata of every lecture in notebooks/ that disagrees with SLIDE_RULE."""
    import nbformat

    changed = []
    for name in course_lectures(course):
        path = course / "notebooks" / name
        nb = nbformat.read(str(path), as_version=4)
        if mark(nb):
            nbformat.write(nb, str(path))
            changed.append(path)
    return changed


def expected_slides(nb) -> int:
    """How many slides (horizontal and vertical) the deck of `nb` has by its metadata."""
    return sum(c.metadata.get("slideshow", {}).get("slide_type") in ("slide", "subslide") for c in nb.cells)


def deck_html(nb, name: str) -> str:
    from nbconvert import SlidesExporter

    exporter = kit.exporter("rnnlab_slides.html.j2", SlidesExporter, reveal_url_prefix="assets/reveal.js",
                            reveal_theme="white")  # nbconvert's default theme, "simple", loads Google Fonts
    body, _ = exporter.from_notebook_node(kit.titled(nb), resources={"kit": {"assets": "assets/"}, "metadata": {"name": name}})
    # nbconvert's reveal template writes "<title>… slides</title>" (inside a block that holds others too).
    return re.sub(r"<title>(.*?) slides</title>", r"<title>\1 · 幻灯片</title>", body, count=1)


def build(course: Path, out: Path, executed: Path | None = None, only: list[str] | None = None,
          log=None) -> list[Path]:
    import nbformat

    course = Path(course).resolve()
    kit.node_modules(course)
    out = writable_out(course, out)
    paths = executed_lectures(course, executed, only=only, log=log)
    kit.copy_assets(course, out, reveal=True)
    decks = []
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        if not any(c.metadata.get("slideshow") for c in nb.cells):
            raise CourseError(f"讲义 {path.name} 没有幻灯片的分页信息：请先运行 python -m rnnlab.grading slides --mark。")
        deck = out / f"{path.stem}.html"
        deck.write_text(deck_html(nb, path.stem), encoding="utf-8")
        decks.append(deck)
    return decks


def run(course: Path, args) -> str:
    if getattr(args, "mark", False):
        changed = mark_lectures(course)
        return (f"已按标题重新设置 {len(changed)} 份讲义的幻灯片分页：" + "、".join(p.name for p in changed)
                if changed else "每份讲义的幻灯片分页都已和标题一致，没有改动。")
    decks = build(course, args.out, args.executed, only=args.lecture, log=lambda s: print(s, flush=True))
    return f"已生成 {len(decks)} 套幻灯片：{decks[0].parent}（用浏览器打开，或 python3 -m http.server 后访问）"
