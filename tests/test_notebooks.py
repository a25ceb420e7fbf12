"""The lectures on disk agree with the course map, and are committed clean.

Where the lectures run (each is executed twice per `make test`, no more):
- top to bottom in a fresh kernel in JupyterLab, widgets rendered, then every cell once more in the
  same kernel (what a second "run all" meets): test_browser.py; the teacher's kit
  (test_teacher_kit.py) is built from those JupyterLab runs (tests/executed.py) and executes the
  overview itself, and any lecture the browser's file has not run yet when the kit's starts;
- the student edition's own `make test` runs one lecture (twice, RNNLAB_LECTURE_RUNS=2) and every
  blank assignment, to show that the student's command works (test_student_edition.py); a student's
  make test runs every lecture once.
Solution notebooks are executed by nbgrader when the course is regenerated
(test_grading_pipeline.py) and graded again and again in one kernel (test_assignments.py).
"""

from __future__ import annotations

import re

import pytest

from conftest import REPO
from nbtools import read
from rnnlab import chapters

LECTURES = [REPO / "notebooks" / name for name in chapters.lectures()]


def test_every_lecture_is_on_the_course_map():
    on_disk = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert on_disk == sorted(chapters.lectures()), "notebooks/ 与课程地图（rnnlab.chapters）不一致"


def test_readme_and_overview_show_the_current_course_map():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert chapters.with_map(readme, "") == readme, "README 的课程地图过期了：运行 python -m rnnlab.chapters"
    overview = "\n".join(c.source for c in read(REPO / "notebooks" / chapters.OVERVIEW).cells)
    assert chapters.course_map("../") in overview, "总览的课程地图过期了：运行 python -m rnnlab.chapters"


def test_the_overview_shows_the_current_study_path():
    overview = "\n".join(c.source for c in read(REPO / "notebooks" / chapters.OVERVIEW).cells)
    assert chapters.study_path() in overview, "总览的学习路线过期了：运行 python -m rnnlab.chapters"
    assert "| $P$ |" in overview and "学这门课之前" in overview


def estimated_minutes(path, assignment: bool) -> float:
    """Reading at 300 characters a minute plus one minute a code cell (a lecture), or plus 20
    minutes a function to write and 15 a written question (an assignment)."""
    cells = read(path).cells
    reading = sum(len(re.sub(r"\s", "", c.source)) for c in cells if c.cell_type == "markdown") / 300
    if not assignment:
        return reading + sum(c.cell_type == "code" for c in cells)
    answers = [c for c in cells if c.metadata.get("nbgrader", {}).get("solution")]
    return reading + 20 * sum(c.cell_type == "code" for c in answers) + 15 * sum(c.cell_type == "markdown" for c in answers)


@pytest.mark.parametrize("chapter", [c for c in chapters.CHAPTERS if c.lecture], ids=lambda c: str(c.number))
def test_each_chapter_states_its_objectives_and_an_honest_time(chapter):
    assert chapter.builds_on and len(chapter.objectives) >= 2
    lecture, work = chapter.minutes
    for stated, path, assignment in ((lecture, REPO / "notebooks" / chapter.lecture, False),
                                     (work, REPO / "release" / chapter.assignment / f"{chapter.assignment}.ipynb", True)):
        estimate = estimated_minutes(path, assignment)
        assert abs(stated - estimate) <= 0.25 * estimate, f"{path.name}：写的是 {stated} 分钟，估算是 {estimate:.0f} 分钟"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lectures_are_committed_without_outputs(path):
    nb = read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: 请清除输出后再提交"


SOURCES = [REPO / "source" / aid / f"{aid}.ipynb" for aid in chapters.assignments()]


@pytest.mark.parametrize("path", LECTURES + SOURCES, ids=lambda p: p.name)
def test_no_obsolete_api_and_no_external_images(path):
    text = path.read_text(encoding="utf-8")
    assert "Variable(" not in text
    assert "](http" not in text and "<img" not in text


ALL_COMMITTED = sorted(p for d in ("notebooks", "source", "release", "solutions") for p in (REPO / d).rglob("*.ipynb"))


@pytest.mark.parametrize("path", ALL_COMMITTED, ids=lambda p: str(p.relative_to(REPO)))
def test_widget_metadata_renders_without_a_kernel(path):
    """GitHub and nbviewer refuse a notebook whose metadata.widgets lacks a 'state' key."""
    widgets = read(path).metadata.get("widgets")
    if widgets is not None:
        for mime, blob in widgets.items():
            assert "state" in blob, f"{path.name}: metadata.widgets[{mime!r}] 缺少 state"


@pytest.mark.parametrize("chapter", [c for c in chapters.CHAPTERS if c.lecture], ids=lambda c: c.lecture)
def test_each_lecture_embeds_the_explorers_its_course_map_entry_lists(chapter):
    code = "\n".join(c.source for c in read(REPO / "notebooks" / chapter.lecture).cells if c.cell_type == "code")
    for name in chapter.explorers:
        assert f"rnnlab.explorers.{name}" in code, f"{chapter.lecture} 没有用到课程地图里写的探索器 {name}"


def test_every_assignment_loads_its_checks_module_before_any_answer():
    """The grading guard protects the rnnlab.checks modules loaded when the first answer cell runs."""
    assert chapters.checks_modules() == [c.checks_module for c in chapters.CHAPTERS if c.assignment]
    for chapter in chapters.CHAPTERS:
        if not chapter.assignment:
            continue
        cells = read(REPO / "source" / chapter.assignment / f"{chapter.assignment}.ipynb").cells
        first_answer = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("solution"))
        setup = "\n".join(c.source for c in cells[:first_answer] if c.cell_type == "code")
        module = chapter.checks_module.rsplit(".", 1)[1]
        # `from rnnlab import checks` loads a1's module too (rnnlab/checks/__init__.py, for released a1 notebooks).
        pattern = rf"from rnnlab\.checks import {module}\b|import rnnlab\.checks\.{module}\b"
        if module == "a1_rnncell":
            pattern += r"|from rnnlab import checks\b"
        assert re.search(pattern, setup), f"{chapter.assignment} 的设置单元格没有导入 {module}"
