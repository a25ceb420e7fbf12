"""The question bank (`python -m rnnlab.grading question-bank`, issue 24).

- Every instructor-only item of teacher/question_bank.toml: its `check` passes, and the same check
  fails on a copy of the item with a wrong answer (every other single-choice letter, every
  multiple-choice answer with one option flipped, a fill-in shape with other numbers, a short
  answer whose numbers are all changed): the checks can fail.
- The items themselves: at least 30, at least 5 of each type, every chapter 1-6; ids unique;
  choice answers point at existing options; no stem repeats 16+ prose characters of a lecture
  (the guard of test_written_questions.py).
- The outputs, built once into a temporary folder: the Moodle XML parses and holds one question
  per item plus a category per chapter, with the right types and fractions; the lecture quizzes
  in it are as many as `quiz(` calls in the lectures (counted here with a regular expression, not
  with the command's ast reader); the xlsx (openpyxl) and the CSV (csv, BOM) hold the same rows.
- The command as a subprocess on a copy of the course, and its one-line Chinese errors.
The student edition holds neither teacher/ nor an instructor-only stem: tests/test_student_edition.py.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from rnnlab import chapters
from rnnlab.grading import cli
from rnnlab.grading.commands import question_bank as qb
from rnnlab.grading.course import CourseError
from test_written_questions import Lecture, prose_pieces
from nbtools import read

TEACHER = qb.teacher_items(REPO)
LECTURE_NOTEBOOKS = sorted((REPO / "notebooks").glob("0[0-9]_*.ipynb"))


def _bump(text: str) -> str:
    """Every integer in `text` plus one: "(400, 100)" -> "(401, 101)"."""
    return re.sub(r"\d+", lambda m: str(int(m.group()) + 1), text)


def wrong_answers(item: qb.Item) -> list[str]:
    if item.type == qb.SINGLE:
        return [c for c in qb.LETTERS[:len(item.options)] if c != item.answer]
    if item.type == qb.MULTIPLE:
        flips = []
        for k in range(len(item.options)):
            flags = [qb.LETTERS[j] in item.answer for j in range(len(item.options))]
            flags[k] = not flags[k]
            flips.append(qb.letters(flags))
        return flips
    return [_bump(item.answer)]


# ------------------------------------------------------------------ the checks

@pytest.mark.parametrize("item", TEACHER, ids=lambda i: i.id)
def test_the_items_check_passes(item):
    qb.run_check(item)


@pytest.mark.parametrize("item", TEACHER, ids=lambda i: i.id)
def test_the_items_check_fails_on_a_wrong_answer(item):
    wrong = wrong_answers(item)
    assert wrong and item.answer not in wrong
    for answer in wrong:
        with pytest.raises(AssertionError):
            qb.run_check(dataclasses.replace(item, answer=answer))


def test_a_shape_items_check_computes_the_shape_with_torch():
    """Fill-in items compare `shape(answer)` with a shape torch computed, never with a written number."""
    fills = [i for i in TEACHER if i.type == qb.FILL]
    for item in fills:
        assert "shape(answer)" in item.check and ".shape" in item.check, item.id
        assert qb.parse_shape(item.answer)  # a shape, as students type it


# ------------------------------------------------------------------ the items

def test_enough_items_of_every_type_and_every_chapter():
    assert len(TEACHER) >= 30
    for kind in qb.TYPES:
        assert sum(i.type == kind for i in TEACHER) >= 5, kind
    assert {i.chapter for i in TEACHER} >= {1, 2, 3, 4, 5, 6}
    assert len({i.id for i in TEACHER}) == len(TEACHER)
    assert {i.difficulty for i in TEACHER} == set(qb.DIFFICULTIES)


def test_choice_answers_point_at_existing_options():
    for item in TEACHER:
        if item.type in (qb.SINGLE, qb.MULTIPLE):
            assert item.right and all(0 <= k < len(item.options) for k in item.right), item.id
            assert len(item.right) == 1 if item.type == qb.SINGLE else 2 <= len(item.right) < len(item.options)
        else:
            assert not item.options and item.answer, item.id


@pytest.fixture(scope="module")
def lectures() -> dict[str, Lecture]:
    return {path.stem: Lecture([p for cell in read(path).cells for p in prose_pieces(cell.source)])
            for path in LECTURE_NOTEBOOKS}


@pytest.mark.parametrize("item", TEACHER, ids=lambda i: i.id)
def test_no_stem_repeats_a_lecture(lectures, item):
    pieces = prose_pieces(item.stem) + [p for o in item.options for p in prose_pieces(o)]
    copied = {stem: run for stem, lecture in lectures.items() if (run := lecture.longest_shared(pieces))}
    assert not copied, f"{item.id} 的题干或选项照搬了讲义：{copied}"


def test_no_instructor_only_item_is_a_lecture_quiz():
    quizzes = {qb._plain(i.stem) for i in qb.lecture_items(REPO)}
    assert not quizzes & {qb._plain(i.stem) for i in TEACHER}


# ------------------------------------------------------------------ reading the lectures

def count_quiz_calls() -> int:
    """quiz( calls in the lectures' code cells, counted with a regular expression."""
    n = 0
    for path in LECTURE_NOTEBOOKS:
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "code":
                n += len(re.findall(r"(?<![\w.])quiz\(", cell.source))
    return n


def test_every_lecture_quiz_is_read():
    items = qb.lecture_items(REPO)
    assert len(items) == count_quiz_calls() > 20
    assert {i.chapter for i in items} == {c.number for c in chapters.CHAPTERS if c.lecture}
    for item in items:
        assert item.type == qb.SINGLE and item.difficulty in qb.DIFFICULTIES and item.explanation, item.id
        assert len(item.answer) == 1 and item.answer in qb.LETTERS[:len(item.options)]


def test_every_lecture_quiz_is_rated_by_the_instructor_and_the_ratings_differ():
    """teacher/question_bank.toml rates each quiz by its cell id: none left to the default, all three levels used."""
    rated = tomllib.loads((REPO / qb.BANK).read_text(encoding="utf-8"))["lecture_difficulty"]
    for path in LECTURE_NOTEBOOKS:
        assert sorted(rated.get(path.name, {})) == sorted(cell_id for _, cell_id, _ in qb.quiz_calls(path)), path.name
    items = {i.id: i.difficulty for i in qb.lecture_items(REPO)}
    assert set(items.values()) == set(qb.DIFFICULTIES)
    assert items["lecture-03-01"] == "简单" and items["lecture-01-04"] == "困难"  # (400, 100); d2l's weights in RNNCell


def _rate(course: Path, text: str) -> None:
    """The course's bank: the repository's, with lecture 1's first rating replaced by `text`."""
    bank = (REPO / qb.BANK).read_text(encoding="utf-8")
    assert '52ae86a3 = "简单"' in bank
    (course / qb.BANK).write_text(bank.replace('52ae86a3 = "简单"', text), encoding="utf-8")


def test_a_quiz_nobody_rated_is_medium_and_a_rating_without_its_quiz_is_named(tmp_path):
    course = _course_copy(tmp_path)
    _rate(course, "")
    assert next(i for i in qb.lecture_items(course) if i.id == "lecture-01-01").difficulty == "中等"
    _rate(course, 'ch01-quiz-gone = "简单"')
    with pytest.raises(CourseError, match=r"01_rnncell_loop\.ipynb.*ch01-quiz-gone.*没有 id 是它的自测题单元格"):
        qb.lecture_items(course)


@pytest.mark.parametrize("text, words", [
    ('52ae86a3 = "容易"', r"单元格 52ae86a3 的难度应当是 简单、中等、困难 之一，收到的是 '容易'"),
    ('52ae86a3 = "简单"\n[lecture_difficulty."07_attention.ipynb"]\nx = "简单"', r"讲义 07_attention\.ipynb.*课程地图里却没有"),
])
def test_a_bad_rating_is_one_chinese_sentence(tmp_path, text, words):
    course = _course_copy(tmp_path)
    _rate(course, text)
    with pytest.raises(CourseError, match=words):
        qb.lecture_items(course)


def test_the_overview_has_no_quiz():
    """The overview has no chapter number: the bank would file its quizzes under 课程概览."""
    assert not [i for i in qb.lecture_items(REPO) if i.chapter == 0]


def test_a_lecture_quiz_reads_as_in_the_notebook():
    """lecture-03-02: the gate-order quiz of lecture 3; its bank explanation is the right option's."""
    item = next(i for i in qb.lecture_items(REPO) if i.id == "lecture-03-02")
    assert "chunk(4, 0)" in item.stem and item.options[item.right[0]] == "候选记忆元 g"
    assert item.explanation.startswith("PyTorch 的顺序是 i、f、g、o")
    assert item.chapter_label == "第 3 章 LSTM 的形状"


def _course_copy(tmp_path: Path) -> Path:
    """The parts of the course the command reads: config, source/ (marks the course), notebooks/, teacher/, the map."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    (course / "source").mkdir()
    shutil.copytree(REPO / "notebooks", course / "notebooks")
    shutil.copytree(REPO / "teacher", course / "teacher")
    (course / "src" / "rnnlab").mkdir(parents=True)
    shutil.copy(REPO / "src" / "rnnlab" / "chapters.py", course / "src" / "rnnlab")
    return course


def test_a_quiz_with_a_variable_argument_is_named(tmp_path):
    course = _course_copy(tmp_path)
    path = course / "notebooks" / "04_gru.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    index = next(k for k, c in enumerate(nb.cells) if c.cell_type == "code" and "quiz(" in c.source)
    nb.cells[index].source += "\nOPTIONS = ['a', 'b']\nquiz('变量作选项', OPTIONS, answer=0, explanation='x')\n"
    nbformat.write(nb, str(path))
    with pytest.raises(CourseError, match=rf"04_gru\.ipynb 的第 {index} 个单元格.*字面量"):
        qb.lecture_items(course)


# ------------------------------------------------------------------ the outputs

@pytest.fixture(scope="module")
def bank(tmp_path_factory) -> tuple[Path, list[qb.Item]]:
    out = tmp_path_factory.mktemp("bank")
    return out, qb.build(REPO, out)


def test_moodle_xml(bank):
    out, items = bank
    root = ET.parse(out / "questions.xml").getroot()
    assert root.tag == "quiz"
    questions = root.findall("question")
    categories = [q.find("category/text").text for q in questions if q.get("type") == "category"]
    numbers = sorted({i.chapter for i in items})
    assert categories == [f"$course$/RNN 课程/第 {n} 章 {qb._plain(chapters.CHAPTERS[n - 1].title)}" for n in numbers]
    real = [q for q in questions if q.get("type") != "category"]
    assert len(real) == len(items) == count_quiz_calls() + len(TEACHER)
    kinds = {qb.SINGLE: "multichoice", qb.MULTIPLE: "multichoice", qb.FILL: "shortanswer", qb.SHORT: "essay"}
    for q, item in zip(real, items):
        assert q.get("type") == kinds[item.type]
        assert q.find("name/text").text.startswith(item.id + " ")
        assert "<code>" in q.find("questiontext/text").text or "`" not in item.stem
        assert "`" not in q.find("questiontext/text").text, item.id
        answers = q.findall("answer")
        fractions = [float(a.get("fraction")) for a in answers]
        if item.type == qb.SINGLE:
            assert q.find("single").text == "true"
            assert fractions == [100.0 if k in item.right else 0.0 for k in range(len(item.options))]
        elif item.type == qb.MULTIPLE:
            assert q.find("single").text == "false"
            assert sum(f for f in fractions if f > 0) == pytest.approx(100, abs=0.01)
            assert all((f > 0) == (k in item.right) for k, f in enumerate(fractions))
            assert sum(f for f in fractions if f < 0) == pytest.approx(-100, abs=0.01)
        elif item.type == qb.FILL:
            spellings = [a.find("text").text for a in answers]
            dims = qb.parse_shape(item.answer)
            spaced, tight = ", ".join(map(str, dims)), ",".join(map(str, dims))
            assert {f"torch.Size([{spaced}])", spaced, tight} <= set(spellings)
            if len(dims) > 1:
                assert {f"({spaced})", f"({tight})"} <= set(spellings)
            assert set(fractions) == {100.0}
        else:
            assert not answers
            info = html.unescape(re.sub(r"<[^>]+>|\n", "", q.find("graderinfo/text").text))
            assert qb._plain(item.answer).replace("\n", "") in info and qb._plain(item.explanation).replace("\n", "") in info
    # The lecture quizzes keep each option's own explanation as that option's feedback.
    first = real[0]
    feedback = [a.find("feedback/text").text for a in first.findall("answer")]
    assert "W_xh" in feedback[0] and "(输出, 输入)" in feedback[1]


def test_the_fill_in_spellings_students_type():
    forms = set(qb.shape_spellings("(400, 100)"))
    assert {"(400, 100)", "(400,100)", "400, 100", "torch.Size([400, 100])"} <= forms
    assert {"(9,)", "9", "torch.Size([9])"} <= set(qb.shape_spellings("(9,)"))
    with pytest.raises(ValueError):
        qb.parse_shape("400 x 100")


def test_html_rendering():
    html = qb.to_html("看 `h_n[-1]` 和 **反向**：\n\n```python\nx < y\n```\n1. 一\n2. 二")
    assert "<code>h_n[-1]</code>" in html and "<strong>反向</strong>" in html
    assert "<pre><code>x &lt; y</code></pre>" in html and "1. 一<br>\n2. 二" in html
    assert qb._cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
    # Lines wrapped for the TOML's sake are joined (no space beside Chinese), list items are not.
    assert qb._reflow("第一行\n接着\n1. 甲\n   续\n2. 乙") == "第一行接着\n1. 甲续\n2. 乙"


def test_spreadsheets_hold_the_same_rows(bank):
    from openpyxl import load_workbook

    out, items = bank
    raw = (out / "questions.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out / "questions.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    sheet = load_workbook(out / "questions.xlsx").active
    cells = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    expected_header = ["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "答案", "解析", "难度", "章节"]
    assert rows[0] == cells[0] == expected_header
    assert rows == cells and len(rows) == len(items) + 1
    for row, item in zip(rows[1:], items):
        kind, stem, options, answer, explanation, difficulty, chapter = row[0], row[1], row[2:8], row[8], row[9], row[10], row[11]
        assert kind == item.type and difficulty in ("简单", "中等", "困难") and chapter == item.chapter_label
        assert "`" not in stem and stem and explanation
        if item.type in (qb.SINGLE, qb.MULTIPLE):
            assert re.fullmatch("[A-F]+", answer) and answer == item.answer
            assert all(options[k] for k in range(len(item.options))) and not any(options[len(item.options):])
        else:
            assert not any(options) and answer
    # Sorted by chapter, lecture quizzes first within a chapter.
    order = [(i.chapter, not i.from_lecture) for i in items]
    assert order == sorted(order)


# ------------------------------------------------------------------ the command

def run_cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnlab.grading", *args], cwd=course,
                          capture_output=True, text=True)


def test_the_command_builds_the_bank_in_a_copy_of_the_course(tmp_path):
    course = _course_copy(tmp_path)
    proc = run_cli(course, "question-bank", "--out", "tmp")
    assert proc.returncode == 0, proc.stderr
    assert "讲义自测" in proc.stdout and f"教师专用 {len(TEACHER)} 道" in proc.stdout
    assert sorted(p.name for p in (course / "tmp").iterdir()) == ["questions.csv", "questions.xlsx", "questions.xml"]
    root = ET.parse(course / "tmp" / "questions.xml").getroot()
    assert len([q for q in root if q.get("type") != "category"]) == count_quiz_calls() + len(TEACHER)


@pytest.mark.parametrize("breakage, message", [
    ("append", "不是合法的 TOML"),
    ("answer", "answer 应当是选项的字母"),
    ("missing", "找不到 teacher/question_bank.toml"),
])
def test_a_broken_bank_is_one_chinese_line(tmp_path, breakage, message):
    course = _course_copy(tmp_path)
    toml = course / "teacher" / "question_bank.toml"
    text = toml.read_text(encoding="utf-8")
    if breakage == "append":
        toml.write_text(text + "\n[[items]\nid = \n", encoding="utf-8")
    elif breakage == "answer":
        toml.write_text(text.replace('answer = "ABD"', 'answer = "ABZ"', 1), encoding="utf-8")
    else:
        toml.unlink()
    proc = run_cli(course, "question-bank", "--out", "tmp")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("错误：") and message in proc.stderr and "Traceback" not in proc.stderr
    assert not (course / "tmp").exists()


def test_an_unwritable_out_is_one_chinese_line(tmp_path, capsys, monkeypatch):
    course = _course_copy(tmp_path)
    (course / "occupied").write_text("不是文件夹")
    monkeypatch.chdir(course)
    assert cli.main(["question-bank", "--out", "occupied"]) == 2
    assert "不是文件夹" in capsys.readouterr().err
    (course / "occupied").unlink()
    (course / "dir-under-a-file").write_text("")
    assert cli.main(["question-bank", "--out", "dir-under-a-file/bank"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "--out" in err
