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


def read_csv(path):
    import csv

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel on Chinese Windows needs the BOM to read UTF-8"
    return list(csv.reader(raw.decode("utf-8-sig").splitlines()))


def test_export_opens_in_excel_one_row_per_student(graded, quick_cli, tmp_path):
    course, _, _ = graded
    dest = tmp_path / "成绩.csv"
    proc = quick_cli(course, "export", str(dest))
    assert proc.returncode == 0 and "4 名学生" in proc.stdout and "1 名学生有作业“未提交”" in proc.stdout
    header, *rows = read_csv(dest)
    assert header[:2] == ["学号", "姓名"] and header[-1] == f"{AID} 总分（14分）"
    parts = header[2:-1]
    # One column per graded cell, in the notebook's order, each with its points.
    assert parts[0].startswith(f"{AID}·") and f"{AID}·written_square（2分）" in parts
    assert f"{AID}·test_rnn_cell_step_visible（2分）" in parts
    assert [r[:2] for r in rows] == [list(s) for s in ROSTER]  # sorted by 学号, compound surname whole
    by_id = {r[0]: dict(zip(header, r)) for r in rows}
    assert by_id["2023001"][header[-1]] == "12" and by_id["2023001"][f"{AID}·written_square（2分）"] == "待评"
    assert set(by_id["2023003"].values()) == {"2023003", "司马光", "未提交"}
    assert by_id["2023004"][f"{AID}·test_rnn_cell_step_visible（2分）"] == "0"
    # The per-part columns add up to the total wherever nothing waits for a human.
    for r in rows:
        scores = r[2:-1]
        if "待评" not in scores and "未提交" not in scores:
            assert sum(map(float, scores)) == float(r[-1])


@pytest.mark.parametrize("where, words", [
    ("没有这个文件夹/成绩.csv", "不存在"),
    (".", "是一个文件夹"),
])
def test_export_to_a_bad_place_says_so_and_keeps_the_old_file(graded, quick_cli, tmp_path, where, words):
    course, _, _ = graded
    proc = quick_cli(course, "export", str(tmp_path / where))
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr


def test_export_while_excel_holds_the_file_keeps_the_old_file(graded, quick_cli, monkeypatch, tmp_path):
    import os

    course, _, _ = graded
    dest = tmp_path / "成绩.csv"
    dest.write_text("上一次的成绩\n", encoding="utf-8")

    def locked(src, dst):  # what Windows says while Excel has the file open
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", locked)
    proc = quick_cli(course, "export", str(dest))
    assert proc.returncode == 2 and "Excel" in proc.stderr and "Traceback" not in proc.stderr
    assert dest.read_text(encoding="utf-8") == "上一次的成绩\n"
    assert list(tmp_path.iterdir()) == [dest]  # no temporary file left behind
