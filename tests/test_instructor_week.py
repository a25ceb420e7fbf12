"""A new instructor's first week (issue 17), as the README's 教师：快速指南 orders it, on a fresh clone:
no gradebook.db, a GB18030 roster from Excel, a platform zip with GBK names and junk, one
autograde run, grades for Excel, manual grades without a browser. One course copy for the
module and as few nbgrader autograde runs as possible; commands that fail before nbgrader runs
are called in-process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course import make_course, submit
from test_instructor_cli import InProcess

pytestmark = pytest.mark.e2e

AID = "a1_rnncell"
ROSTER = [("2023001", "张三"), ("2023002", "欧阳娜娜"), ("2023003", "司马光"), ("2023004", "李四")]


def cli(course, *args):
    return subprocess.run([sys.executable, "-m", "rnnlab.grading", *args], cwd=course,
                          capture_output=True, text=True)


def ok(proc):
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture
def quick_cli(capsys, monkeypatch):
    return InProcess(capsys, monkeypatch)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, repo):
    """A fresh clone: the committed release/ is there, the git-ignored gradebook.db is not."""
    c = make_course(repo, tmp_path_factory.mktemp("week"))
    (c / "gradebook.db").unlink()
    (c / "名单.csv").write_bytes(("学号,姓名\n" + "".join(f"{i},{n}\n" for i, n in ROSTER)).encode("gb18030"))
    ok(cli(c, "roster", "名单.csv"))
    submit(c, "2023001", AID)                                        # every answer right
    submit(c, "2023002", AID, {"written_square": "形状都一样，看不出错误。"}, notebook="作业1.ipynb")
    submit(c, "2023004", AID, {"rnn_cell_step": None})                 # one answer left as the stub
    return c


@pytest.fixture(scope="module")
def graded(fresh):
    """The one autograde run of the class: straight after roster and collect, no regenerate."""
    release = (fresh / "release" / AID / f"{AID}.ipynb").read_bytes()
    proc = cli(fresh, "autograde", AID)
    return fresh, proc, release


def test_autograde_on_a_fresh_clone_creates_the_gradebook_entries(graded):
    course, proc, release = graded
    out = ok(proc)
    assert "MissingEntry" not in out + proc.stderr and "Traceback" not in out + proc.stderr
    assert out.count(f"成绩册里还没有作业 {AID}：已按 source/{AID}/ 建好") == 1
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        a = gb.find_assignment(AID)
        assert {s.student.id for s in a.submissions} == {"2023001", "2023002", "2023004"}
        assert gb.find_submission(AID, "2023001").score == 12.0
        assert gb.find_student("2023003")  # the roster is still there
    # The committed release/ was not rewritten.
    assert (course / "release" / AID / f"{AID}.ipynb").read_bytes() == release


def test_gradebook_entries_are_created_once(graded):
    from rnnlab.grading.cli import ensure_gradebook

    course, _, _ = graded
    before = (course / "gradebook.db").stat().st_mtime_ns
    ensure_gradebook(course, AID)  # already there: nothing run, nothing written
    assert (course / "gradebook.db").stat().st_mtime_ns == before
