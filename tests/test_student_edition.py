"""The student edition (`make student-edition`) holds no answer and works on its own.

- It is built into a temporary folder and every file in it is scanned: no SOLUTION / HIDDEN TESTS
  marker; no name that only the hidden tests define (e.g. `_hidden_io_case`); no instructor-only
  path (source/, solutions/, gradebook.db, nbgrader_config.py, rnnlab/grading); and no line of a
  solution or hidden-test region of source/ (longer than 12 characters, unless the source shows the
  same line outside those regions too). The released notebooks may hold no such line at all. The
  lectures and rnnlab's code teach the same torch idioms the answers use (`with torch.no_grad():`,
  `h = cell(x[t], h)` after `for t in range(x.shape[0]):` in lecture 1), so there a leak is three
  such lines in a row, as a copied answer or hidden test would show, except the runs listed in
  TAUGHT_RUNS (the time-step loop that lecture 1 teaches and a1 asks students to wrap).
- Its own `make test` passes on a clean copy, in a venv that holds only the edition's package
  (see test_the_editions_own_make_test_passes for what that proves).
- `--branch` commits it on a local branch without touching the instructor's working tree, index
  or current branch, with no history shared with the instructor's branches.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from edition_env import make_edition_venv
from machine import require
from rnnlab import chapters
from rnnlab.grading import cli
from rnnlab.grading.commands import student_edition as edition

REGION = re.compile(r"^[ \t]*### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)^[ \t]*### END \1\n?", re.S | re.M)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
DEFINED = re.compile(r"^[ \t]*(?:def|class)\s+(\w+)", re.M)
IDENT = re.compile(r"\b_hidden\w*")


def source_cells():
    for path in sorted((REPO / "source").glob("*/*.ipynb")):
        yield from nbformat.read(str(path), as_version=4).cells


RUN = 3  # consecutive region lines that count as a copied block outside release/
# Runs a lecture teaches on purpose. Lecture 1 builds the time-step loop that a1's run_rnn_cell
# then wraps (with h0=None and the stacked output), and lecture 4 runs nn.GRUCell with the same
# loop: the three lines are the idiom, not the answer. Any other run is a leak.
TAUGHT_RUNS = {("for t in range(x.shape[0]):", "h = cell(x[t], h)", "steps.append(h)")}


def long_lines(lines) -> list[str]:
    return [s for s in (line.strip() for line in lines) if len(s) > 12]


def secrets() -> tuple[set[str], set[str], set[tuple[str, ...]]]:
    """(lines, names, runs) found only inside the SOLUTION / HIDDEN TESTS regions of source/."""
    cells = list(source_cells())
    public_text = "\n".join(REGION.sub("", c.source) for c in cells)
    public_lines = {line.strip() for line in public_text.splitlines()}
    lines, names, runs = set(), set(), set()
    for cell in cells:
        for m in REGION.finditer(cell.source):
            body = m.group(2)
            lines |= {s for s in long_lines(body.splitlines()) if s not in public_lines}
            region = long_lines(body.splitlines())
            runs |= {tuple(region[i:i + RUN]) for i in range(len(region) - RUN + 1)
                     if not set(region[i:i + RUN]) <= public_lines}
            if m.group(1) == "HIDDEN TESTS":
                defined = set(DEFINED.findall(body)) | set(IDENT.findall(body))
                names |= {n for n in defined if len(n) > 3 and not re.search(rf"\b{re.escape(n)}\b", public_text)}
    return lines, names, runs


def texts(path: Path) -> tuple[str, list[str]]:
    """A file's raw text and its lines as a reader sees them (a notebook: cell sources and outputs)."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    if path.suffix != ".ipynb":
        return raw, raw.splitlines()
    nb = nbformat.reads(raw, as_version=4)
    shown = []
    for cell in nb.cells:
        shown += cell.source.splitlines()
        for out in cell.get("outputs", []):
            shown += str(out.get("text", "")).splitlines() + str(out.get("data", "")).splitlines()
    return raw, shown


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("edition") / "student-edition"
    edition.build(REPO, out)
    return out


def test_the_scan_finds_what_it_looks_for():
    lines, names, runs = secrets()
    assert len(lines) > 20 and len(runs) > 20 and any("_hidden" in n for n in names), (len(lines), names)


def test_no_answer_and_no_hidden_test_anywhere_in_the_edition(built):
    lines, names, runs = secrets()
    files = sorted(p for p in built.rglob("*") if p.is_file())
    assert len(files) > 20
    leaks = []
    for path in files:
        rel = path.relative_to(built).as_posix()
        raw, shown = texts(path)
        leaks += [f"{rel}: {m}" for m in MARKERS if m in raw]
        if rel.startswith("release/"):
            leaks += [f"{rel}: {line.strip()}" for line in shown if line.strip() in lines]
        found = long_lines(shown)
        leaks += [f"{rel}: {' / '.join(found[i:i + RUN])}" for i in range(len(found) - RUN + 1)
                  if tuple(found[i:i + RUN]) in runs - TAUGHT_RUNS]
        leaks += [f"{rel}: 名字 {n}" for n in names if re.search(rf"\b{re.escape(n)}\b", raw)]
    assert leaks == [], "学生版泄露了答案或隐藏测试：\n" + "\n".join(leaks[:30])


def test_no_instructor_only_path(built):
    rels = [p.relative_to(built).as_posix() for p in built.rglob("*")]
    bad = [r for r in rels if {"source", "solutions", "submitted", "autograded", "feedback"} & set(r.split("/"))
           or r.endswith(("gradebook.db", "nbgrader_config.py")) or "rnnlab/grading" in r]
    assert bad == []
    # rnnlab/exchange.py is the one module that imports nbgrader: nbgrader's exchange loads it in a student's
    # server on the course hub (deploy/hub/student/nbgrader_config.py); no lecture, check or kernel imports it.
    files = [p for p in (built / "src").rglob("*.py") if p.relative_to(built).as_posix() != "src/rnnlab/exchange.py"]
    py = "\n".join(p.read_text(encoding="utf-8") for p in files)
    assert not re.search(r"^\s*(from|import)\s+(rnnlab\.grading|nbgrader)\b", py, re.M)
    exchange = (built / "src" / "rnnlab" / "exchange.py").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(from|import)\s+rnnlab\.grading\b", exchange, re.M)
    assert not re.search(r"^\s*(from|import)\s+rnnlab\.exchange\b|rnnlab\.exchange", py, re.M)


def test_no_teachers_kit_and_no_instructor_only_item(built):
    """The question bank's instructor-only items (teacher/question_bank.toml) stay with the teacher:
    no teacher/ folder, none of their stems in any file, and the edition does not install the
    teacher extra (openpyxl)."""
    from rnnlab.grading.commands import question_bank

    assert not (built / "teacher").exists()
    assert edition.INSTRUCTOR_PATHS.search("teacher/question_bank.toml")
    items = question_bank.teacher_items(REPO)
    # Each stem as plain text (code marks dropped, as in the spreadsheet), whitespace removed: its first 30 characters.
    marks = {i.id: re.sub(r"\s+", "", question_bank._plain(i.stem))[:30] for i in items}
    assert all(len(m) == 30 for m in marks.values()), marks
    leaks = []
    for path in sorted(p for p in built.rglob("*") if p.is_file()):
        raw, shown = texts(path)
        flat = re.sub(r"[\s`*]+", "", raw + "".join(shown))  # a copy in Markdown: code marks dropped too
        leaks += [f"{path.relative_to(built)}: {item_id}" for item_id, mark in marks.items() if mark in flat]
    assert leaks == []
    pyproject = tomllib.loads((built / "pyproject.toml").read_text())["project"]
    assert "teacher" not in pyproject.get("optional-dependencies", {})
    assert "openpyxl" not in (built / "pyproject.toml").read_text()
    assert "openpyxl" not in edition.student_pyproject(REPO)


def test_the_edition_holds_the_course_and_the_two_commands(built):
    assert sorted(p.name for p in (built / "notebooks").glob("*.ipynb")) == sorted(chapters.lectures())
    for aid in chapters.assignments():
        rel = f"release/{aid}/{aid}.ipynb"
        assert (built / rel).read_bytes() == (REPO / rel).read_bytes(), rel
    shared = ["environment.yml", "apt.txt", "constraints.txt",
              *(p.relative_to(REPO).as_posix() for p in (REPO / "share").rglob("*") if p.is_file())]
    for rel in shared:
        assert (built / rel).read_bytes() == (REPO / rel).read_bytes(), f"{rel} 应与教师仓库相同（同一份固定版本和设置）"
    makefile = (built / "Makefile").read_text()
    assert re.search(r"^lab: env$", makefile, re.M) and re.search(r"^test: env$", makefile, re.M)
    assert "torch==2.13.0" in makefile and re.search(r"^jupyter-files:\n\trm -rf \$\(VENV\)/share/jupyter/labextensions/rnnlab-lab\n\tcp -R share etc \$\(VENV\)/$", makefile, re.M)
    readme = (built / "README.md").read_text()
    assert "mybinder.org/v2/gh/" in readme and "/student?urlpath=lab/tree/notebooks/00_overview.ipynb" in readme
    assert "make lab" in readme and "make test" in readme and "提交" in readme
    assert chapters.course_map("") in readme
    assert (built / "tests" / "test_course.py").is_file()


def test_pins_are_the_instructors(built):
    """nbgrader included: its Validate button is the student's (the teacher's tools are switched off)."""
    mine = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    theirs = tomllib.loads((built / "pyproject.toml").read_text())
    assert theirs["project"]["dependencies"] == mine["dependencies"]
    assert set(theirs["project"]["optional-dependencies"]["test"]) <= set(mine["optional-dependencies"]["test"])


def test_pip_install_puts_the_students_jupyter_set_up_in_place(built, tmp_path):
    """Binder and conda run `pip install .`: its data files are every file of share/ and etc/."""
    from test_packaging import wheel_data_files

    shipped = {p.relative_to(built).as_posix() for top in ("share", "etc") for p in (built / top).rglob("*") if p.is_file()}
    assert {"etc/jupyter/labconfig/page_config.json", "etc/jupyter/jupyter_server_config.d/rnnlab_student.json",
            "share/jupyter/labextensions/rnnlab-lab/package.json"} <= shipped
    assert wheel_data_files(built, tmp_path) == shipped


def test_students_get_validate_and_not_the_teachers_tools(built):
    """Without a course exchange, nbgrader's teacher tools and exchange panels only raise English
    errors; the student keeps Validate (the browser test shows what the student then sees)."""
    import json

    disabled = json.loads((built / "etc/jupyter/labconfig/page_config.json").read_text())["disabledExtensions"]
    assert {k for k, v in disabled.items() if v} == {f"@jupyter/nbgrader:{p}" for p in
                                                     ("menu", "assignment-list", "course-list", "formgrader", "create-assignment")}
    server = json.loads((built / "etc/jupyter/jupyter_server_config.d/rnnlab_student.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {
        "nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.assignment_list": False,
        "nbgrader.server_extensions.course_list": False, "nbgrader.server_extensions.validate_assignment": True}


def test_the_builder_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "notes.txt").write_text("别删我")
    with pytest.raises(cli.CourseError, match="不覆盖"):
        edition.build(REPO, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "别删我"
    with pytest.raises(cli.CourseError, match="课程目录本身"):
        edition.build(REPO, REPO)


def test_the_builders_own_guard_sees_a_planted_leak(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    assert edition.problems(copy) == []
    (copy / "release" / "x.py").write_text("### BEGIN HIDDEN TESTS\n")
    (copy / "source").mkdir()
    (copy / "source" / "a.ipynb").write_text("{}")
    assert len(edition.problems(copy)) == 2


@pytest.mark.e2e  # starts kernels for a lecture and every assignment
def test_the_editions_own_make_test_passes(built, tmp_path):
    """On a clean copy of the edition (no .venv, no build files), the student's `make test` passes.

    Its venv is made here rather than by `make` (which would download ~1.5 GB): tests/edition_env.py
    builds what `make env` leaves, from this environment's packages and an editable install of the
    edition's own package made by pip from the edition's pyproject.toml. So this proves: the edition's pyproject installs; its
    Makefile's `test` target runs its suite; a lecture (run twice, as RNNLAB_LECTURE_RUNS=2 asks) and every
    released assignment run top to bottom with only the edition's rnnlab, without rnnlab.grading (nbgrader is installed for its Validate button,
    but no notebook imports it: test_no_instructor_only_path); the visible checks
    fail with Chinese messages on the blank release and the kernel survives.
    """
    require("学生版的 make test", None if shutil.which("make") else "没有 make")
    copy = tmp_path / "clean"
    shutil.copytree(built, copy)
    venv = tmp_path / "venv"
    vpy = make_edition_venv(copy, venv)
    where = subprocess.run([str(vpy), "-c", "import importlib.util as u, rnnlab; print(rnnlab.__file__); "
                            "print(u.find_spec('rnnlab.grading'))"],
                           check=True, capture_output=True, text=True).stdout.split("\n")
    assert Path(where[0]).is_relative_to(copy), f"内核用的不是学生版的 rnnlab：{where[0]}"
    assert where[1] == "None", "学生版的环境里不该有 rnnlab.grading"

    # One lecture, twice in one kernel (RNNLAB_LECTURE_RUNS=2; a student's make test runs every lecture
    # once): every lecture already runs twice in test_browser.py, so here it is the command that is tested.
    lecture = chapters.lectures()[1]
    # Not the outer make's variables: `make test PYTEST_ADDOPTS=...` would pass its own down through MAKEFLAGS.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    proc = subprocess.run(["make", "--no-print-directory", "-C", str(copy), "test", f"VENV={venv}"], capture_output=True, text=True,
                          timeout=900, env={**env, "RNNLAB_LECTURE_RUNS": "2",
                                            "PYTEST_ADDOPTS": f"-k 'not test_lecture_runs_top_to_bottom or {lecture}'"})
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    summary = [line for line in proc.stdout.splitlines() if re.match(r"=+ .* in [\d.]+s", line)][-1]
    assert re.search(r"\d+ passed", summary) and not re.search(r"failed|skipped|error", summary), tail
    n = 1 + len(chapters.assignments()) + 1
    assert f"{n} passed, {len(chapters.lectures()) - 1} deselected" in summary, tail


# ------------------------------------------------------------------ --branch

def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


def test_branch_mode_commits_the_edition_without_touching_the_working_tree(tmp_path, capsys):
    clone = tmp_path / "course"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    before = (git(clone, "rev-parse", "HEAD"), git(clone, "symbolic-ref", "HEAD"), git(clone, "status", "--porcelain"),
              (clone / ".git" / "index").read_bytes())

    assert cli.main(["--course-dir", str(clone), "student-edition", "--branch", "student"]) == 0
    assert "student" in capsys.readouterr().out
    after = (git(clone, "rev-parse", "HEAD"), git(clone, "symbolic-ref", "HEAD"), git(clone, "status", "--porcelain"),
             (clone / ".git" / "index").read_bytes())
    assert after == before, "生成学生版分支改动了教师的工作区、暂存区或当前分支"

    out = clone / "build" / "student-edition"
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert git(clone, "ls-tree", "-r", "--name-only", "student").splitlines() == files
    first = git(clone, "rev-parse", "student")
    assert git(clone, "rev-list", "student").splitlines() == [first], "学生分支不能带上教师仓库的历史"
    assert subprocess.run(["git", "-C", str(clone), "merge-base", "HEAD", "student"]).returncode != 0

    # Again without changes: no new commit. After a change: a new commit on top of the first.
    assert cli.main(["--course-dir", str(clone), "student-edition", "--branch", "student"]) == 0
    assert git(clone, "rev-parse", "student") == first
    readme = clone / "README.md"
    readme.write_text(readme.read_text().replace("rnnlab-zh/rnnlab-course", "someone/course-2026"))
    assert cli.main(["--course-dir", str(clone), "student-edition", "--branch", "student"]) == 0
    assert git(clone, "rev-list", "student").splitlines()[1:] == [first]
    assert "someone/course-2026/student?" in git(clone, "show", "student:README.md")
