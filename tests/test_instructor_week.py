"""A new instructor's first week (issue 17), as the README's 教师：快速指南 orders it, on a fresh clone:
no gradebook.db, a GB18030 roster from Excel, a platform zip with GBK names and junk, one
autograde run, grades for Excel, manual grades without a browser. One course copy for the
module and as few nbgrader autograde runs as possible; commands that fail before nbgrader runs
are called in-process."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

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


class GBKInfo(zipfile.ZipInfo):
    """A member name stored as Windows zip tools store it: GBK bytes, no UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def gbk_zip(dest, members: dict[str, bytes]):
    with zipfile.ZipFile(dest, "w") as z:
        for name, data in members.items():
            z.writestr(GBKInfo(name), data)
    with zipfile.ZipFile(dest) as z:  # what the platform's zip really holds
        assert all(not (i.flag_bits & 0x800) for i in z.infolist())
        assert "作业1/欧阳娜娜_2023002_作业1.ipynb" not in z.namelist()  # read naively, the names are garbled
    return dest


# The platform's download: a class folder; a folder per student or 姓名_学号 / 学号-姓名 files; junk.
LAYOUT = {
    "2023001": "作业1/2023001_张三/作业1.ipynb",
    "2023002": "作业1/欧阳娜娜_2023002_作业1.ipynb",
    "2023004": "作业1/2023004-李四.ipynb",
}
JUNK = ["__MACOSX/作业1/._2023004-李四.ipynb", "作业1/.DS_Store", "作业1/2023001_张三/说明.txt"]
NOBODY = "作业1/不知道是谁的.ipynb"
TWO = "作业1/2023001_2023004_合作.ipynb"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, repo):
    """A fresh clone (the committed release/ is there, the git-ignored gradebook.db is not):
    roster from Excel (GB18030), then collect the platform's zip."""
    c = make_course(repo, tmp_path_factory.mktemp("week"))
    (c / "gradebook.db").unlink()
    (c / "名单.csv").write_bytes(("学号,姓名\n" + "".join(f"{i},{n}\n" for i, n in ROSTER)).encode("gb18030"))
    ok(cli(c, "roster", "名单.csv"))
    notebooks = {
        "2023001": submit(c, "2023001", AID),                                   # every answer right
        "2023002": submit(c, "2023002", AID, {"written_square": "形状都一样，看不出错误。"}),
        "2023004": submit(c, "2023004", AID, {"rnn_cell_step": None}),           # one answer left as the stub
    }
    members = {LAYOUT[sid]: p.read_bytes() for sid, p in notebooks.items()}
    shutil.rmtree(c / "submitted")
    members.update({j: b"junk" for j in JUNK})
    members[NOBODY] = members[TWO] = members[LAYOUT["2023001"]]
    archive = gbk_zip(tmp_path_factory.mktemp("platform") / "作业1_全部提交.zip", members)
    out = ok(cli(c, "collect", AID, str(archive)))
    return c, out, members


@pytest.fixture(scope="module")
def graded(fresh):
    """The one autograde run of the class: straight after roster and collect, no regenerate."""
    fresh = fresh[0]
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


def test_roster_keeps_compound_surnames_whole(fresh):
    from nbgrader.api import Gradebook

    course, _, _ = fresh
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        names = {s.id: (s.last_name, s.first_name) for s in gb.students}
    assert names == {"2023001": ("张", "三"), "2023002": ("欧阳", "娜娜"), "2023003": ("司马", "光"),
                     "2023004": ("李", "四")}


def test_collect_reads_the_platform_zip(fresh):
    course, out, members = fresh
    assert "已收集 3 名学生" in out
    for sid, name in LAYOUT.items():  # each notebook in place under its GBK name decoded, byte for byte
        dest = course / "submitted" / sid / AID / name.rsplit("/", 1)[1].replace(f"{sid}-", "")
        assert dest.read_bytes() == members[name], sid
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["2023001", "2023002", "2023004"]
    # Junk ignored and named; the notebook that names nobody and the one that names two are named.
    assert "已忽略 3 个" in out and all(j in out for j in JUNK)
    assert f"跳过 1 个认不出学号的笔记本：{NOBODY}" in out
    assert TWO in out and "多个学号" in out


def test_collect_of_nothing_fails_and_keeps_what_was_collected(fresh, quick_cli, tmp_path):
    course, _, members = fresh
    before = {p: p.read_bytes() for p in (course / "submitted").rglob("*") if p.is_file()}
    archive = gbk_zip(tmp_path / "错的.zip", {"__MACOSX/._a.ipynb": b"x", "作业/说明.docx": b"x",
                                             NOBODY: members[NOBODY]})
    proc = quick_cli(course, "collect", AID, str(archive))
    assert proc.returncode == 2 and "没有收集到任何作业" in proc.stderr and NOBODY in proc.stderr
    assert {p: p.read_bytes() for p in (course / "submitted").rglob("*") if p.is_file()} == before


def test_collect_with_a_pattern(fresh, quick_cli, tmp_path):
    course, _, members = fresh
    folder = tmp_path / "下载"
    (folder / "第3组").mkdir(parents=True)
    (folder / "第3组" / "作业_2023003.ipynb").write_bytes(members[NOBODY])
    (folder / "第3组" / "作业_9999.ipynb").write_bytes(members[NOBODY])
    proc = quick_cli(course, "collect", AID, str(folder), "--pattern", r"作业_(?P<student_id>\d{7})\.ipynb$")
    assert proc.returncode == 0 and "已收集 1 名学生" in proc.stdout and "作业_9999.ipynb" in proc.stdout
    assert (course / "submitted" / "2023003" / AID / "作业_2023003.ipynb").is_file()
    shutil.rmtree(course / "submitted" / "2023003")


@pytest.mark.parametrize("pattern, words", [("(?P<student_id>[0-9+", "不是合法的正则表达式"),
                                            (r"(\d+)\.ipynb", "student_id")])
def test_collect_with_a_bad_pattern_says_so(fresh, quick_cli, tmp_path, pattern, words):
    course, _, _ = fresh
    proc = quick_cli(course, "collect", AID, str(tmp_path), "--pattern", pattern)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr


def test_help_and_usage_errors_are_chinese(fresh, quick_cli):
    course, _, _ = fresh
    proc = quick_cli(course, "collect", "-h")
    assert proc.returncode == 0 and proc.stdout.startswith("用法：") and "显示这段说明并退出" in proc.stdout
    assert "show this help" not in proc.stdout and "options:" not in proc.stdout and "--pattern" in proc.stdout
    proc = quick_cli(course, "export", "--no-such-option")
    assert proc.returncode == 2 and "错误：命令行参数不对" in proc.stderr
