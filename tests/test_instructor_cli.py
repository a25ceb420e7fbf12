"""The instructor's loop through `python -m rnnlab.grading`, for real, in a temporary course:
roster -> collect (zip and folder) -> autograde -> feedback -> export -> summary,
and bad input to every command gets one Chinese sentence, never a traceback."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile

import pytest

from course import make_course, reference_answer
from nbtools import read

AID = "a1_rnncell"
# A line of s001's code that reads like the feedback page's labels: it must appear as written.
STUDENT_NOTE = "# Score: 2 / 2 (Top) Comments: looks right"


def cli(course, *args):
    return subprocess.run([sys.executable, "-m", "rnnlab.grading", *args], cwd=course,
                          capture_output=True, text=True)


class InProcess:
    """`python -m rnnlab.grading ARGS` called in this process (its result looks like a finished process).

    For commands that fail before any nbgrader run, a subprocess would prove nothing more; the
    entry point itself is run as a real subprocess in test_outside_a_course_directory.
    """

    def __init__(self, capsys, monkeypatch):
        self.capsys, self.monkeypatch = capsys, monkeypatch

    def __call__(self, course, *args) -> subprocess.CompletedProcess:
        from rnnlab.grading.cli import main

        self.monkeypatch.chdir(course)
        self.capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as e:  # argparse's own usage errors
            code = e.code
        out = self.capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.fixture
def quick_cli(capsys, monkeypatch):
    return InProcess(capsys, monkeypatch)


def ok(proc):
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def honest_notebook(course, dest, note=""):
    """The release notebook with the reference answers filled in, as a student hands it in."""
    import nbformat

    nb = read(course / "release" / AID / f"{AID}.ipynb")
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = reference_answer(course, AID, meta["grade_id"])
            if note and cell.cell_type == "code":
                cell.source += "\n" + note
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))


@pytest.fixture(scope="module")
def course(tmp_path_factory, repo):
    c = make_course(repo, tmp_path_factory.mktemp("cli"))
    (c / "名单.csv").write_bytes("学号,姓名,邮箱\ns001,张三,zs@example.com\ns002,李四,\ns003,王五,\n".encode("gb18030"))
    ok(cli(c, "roster", "名单.csv"))
    # An LMS download: one folder per student, file names as the students chose them.
    lms = tmp_path_factory.mktemp("lms")
    honest_notebook(c, lms / "s001" / "a1_rnncell.ipynb", note=STUDENT_NOTE)
    (lms / "s002").mkdir()
    shutil.copy(c / "release" / AID / f"{AID}.ipynb", lms / "s002" / "作业1.ipynb")  # blank, renamed
    with zipfile.ZipFile(lms / "download.zip", "w") as z:
        for p in sorted(lms.rglob("*.ipynb")):
            z.write(p, p.relative_to(lms).as_posix())
    out = ok(cli(c, "collect", AID, str(lms / "download.zip")))
    assert "已收集 2 名学生" in out
    # A flat folder "<学号>_<name>.ipynb" collected later for the third student.
    flat = tmp_path_factory.mktemp("flat")
    honest_notebook(c, flat / "s003_a1_rnncell.ipynb")
    ok(cli(c, "collect", AID, str(flat)))
    return c


def test_roster_imports_chinese_names(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        s = gb.find_student("s001")
        assert (s.last_name, s.first_name, s.email) == ("张", "三", "zs@example.com")
        assert sorted(x.id for x in gb.students) == ["s001", "s002", "s003"]


def test_collect_puts_each_student_in_place(course):
    assert (course / "submitted" / "s001" / AID / "a1_rnncell.ipynb").is_file()
    assert list((course / "submitted" / "s002" / AID).glob("*.ipynb"))
    assert (course / "submitted" / "s003" / AID / "a1_rnncell.ipynb").is_file()


@pytest.fixture(scope="module")
def graded(course):
    out = ok(cli(course, "autograde", AID))
    return course, out


def test_autograde_prints_one_line_per_student(graded):
    _, out = graded
    tail = out.strip().splitlines()[-3:]
    assert tail[0].startswith("s001") and "12.00 / 14" in tail[0]
    assert tail[1].startswith("s002") and " 0.00 / 14" in tail[1]
    assert "已复制为 a1_rnncell.ipynb" in out  # s002's renamed file, said in the log


def test_feedback_is_chinese_html(graded):
    course, _ = graded
    out = ok(cli(course, "feedback", AID))
    assert "3 名学生" in out
    html = (course / "feedback" / "s001" / AID / "a1_rnncell.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in html and "得分：" in html and "测试单元格" in html and "回到顶部" in html
    # The labels are Chinese; the student's code is shown as written, never translated.
    assert STUDENT_NOTE in html
    assert "Score:" not in html.replace(STUDENT_NOTE, "") and "Comments:" not in html.replace(STUDENT_NOTE, "")


def test_export_writes_every_student(graded, tmp_path):
    course, _ = graded
    dest = tmp_path / "成绩.csv"
    ok(cli(course, "export", str(dest)))
    # One row per student (UTF-8 with BOM, Chinese headers), this assignment's total last.
    rows = {r["学号"]: r for r in csv.DictReader(dest.open(encoding="utf-8-sig"))}
    assert set(rows) == {"s001", "s002", "s003"} and rows["s001"]["姓名"] == "张三"
    total = f"{AID} 总分（14分）"
    assert float(rows["s001"][total]) == 12.0 and float(rows["s002"][total]) == 0.0


def test_summary_counts_each_question(graded, tmp_path):
    course, _ = graded
    out = ok(cli(course, "summary", AID, "--csv", str(tmp_path / "s.csv")))
    assert "共 3 份提交" in out
    rows = {r["grade_id"]: r for r in csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8-sig"))}
    step = rows["test_rnn_cell_step_visible"]
    assert (step["full"], step["zero"], float(step["mean"])) == ("2", "1", round(2 / 3, 3))  # 1 point each
    assert rows["written_concat"]["ungraded"] == "2"  # two answers wait for a human; the blank one is 0


@pytest.mark.parametrize("args, words", [
    (("summary", "a9"), "没有作业"),
    (("autograde", "a9"), "没有作业"),
    (("autograde", AID, "--jobs", "0"), "至少是 1"),
    (("autograde", AID, "--jobs", "两个"), "--jobs"),
    (("collect", AID, "/no/such/place"), "找不到"),
    (("roster", "nope.csv"), "找不到名单文件"),
    (("regenerate", "a9"), "没有作业"),
])
def test_bad_input_is_one_chinese_sentence(course, quick_cli, args, words):
    proc = quick_cli(course, *args)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, words", [
    ("姓名\n张三\n", "学号"),
    ("学号,姓名\ns1,张三\ns1,李四\n", "重复"),
    ("学号,姓名\ns/1,张三\n", "不能作文件夹名"),
    ("学号,姓名\n,张三\n", "没有学号"),
])
def test_bad_rosters_import_nobody(course, quick_cli, tmp_path, content, words):
    path = tmp_path / "r.csv"
    path.write_text(content, encoding="utf-8")
    proc = quick_cli(course, "roster", str(path))
    assert proc.returncode == 2 and words in proc.stderr


def test_collect_rejects_a_file_that_is_not_a_zip(course, quick_cli, tmp_path):
    f = tmp_path / "x.ipynb"
    f.write_text("{}")
    proc = quick_cli(course, "collect", AID, str(f))
    assert proc.returncode == 2 and "不是 zip" in proc.stderr


def test_outside_a_course_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rnnlab.grading", "summary", AID], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "找不到课程目录" in proc.stderr
