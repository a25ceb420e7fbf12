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
        "2023002": submit(c, "2023002", AID, {"written_concat": "两个 dim 都取 1，W 是 (5, 8)。"}),
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
    from rnnlab.grading.commands.autograde import ensure_gradebook

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
    assert parts[0].startswith(f"{AID}·") and f"{AID}·written_concat（2分）" in parts
    assert f"{AID}·test_rnn_cell_step_visible（1分）" in parts
    assert [r[:2] for r in rows] == [list(s) for s in ROSTER]  # sorted by 学号, compound surname whole
    by_id = {r[0]: dict(zip(header, r)) for r in rows}
    assert by_id["2023001"][header[-1]] == "12" and by_id["2023001"][f"{AID}·written_concat（2分）"] == "待评"
    assert set(by_id["2023003"].values()) == {"2023003", "司马光", "未提交"}
    assert by_id["2023004"][f"{AID}·test_rnn_cell_step_visible（1分）"] == "0"
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


# ----- manual grades without a browser, then autograde again -----------------------------------

def fill(rows, scores: dict[str, tuple[str, str]]):
    """rows of the exported CSV with 得分 and 评语 filled in for the students named."""
    header, *body = rows
    for r in body:
        if r[0] in scores:
            r[6], r[7] = scores[r[0]]
    return [header, *body]


def write_rows(path, rows):
    import csv

    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def manual_grades(course):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        out = {}
        for sid in ("2023001", "2023002", "2023004"):
            g = gb.find_grade("written_concat", AID, AID, sid)
            c = gb.find_comment("written_concat", AID, AID, sid)
            out[sid] = (g.manual_score, c.manual_comment, g.needs_manual_grade)
        return out


OLD_RUN = "20000101-000000.000000000-1"


@pytest.fixture(scope="module")
def manually_graded(graded, tmp_path_factory):
    """The written answers exported, scored in 'Excel', imported back."""
    course = graded[0]
    dest = tmp_path_factory.mktemp("manual") / "简答.csv"
    out = ok(cli(course, "manual-export", AID, str(dest)))
    exported = read_csv(dest)
    filled = write_rows(dest.parent / "填好的.csv", fill([list(r) for r in exported],
                                                      {"2023001": ("2", "说得完整"), "2023002": ("0.5", "没有说出原因")}))
    before = manual_grades(course)
    imported = ok(cli(course, "manual-import", AID, str(filled)))
    return course, out, exported, before, imported, filled


def test_manual_export_has_answer_rubric_and_empty_scores(manually_graded):
    course, out, (header, *rows), before, _, _ = manually_graded
    assert header == ["学号", "姓名", "题目", "答案", "评分标准", "满分", "得分", "评语"]
    assert "3 名学生的 3 道简答题" in out and "manual-import" in out
    assert [(r[0], r[1], r[2]) for r in rows] == [("2023001", "张三", "written_concat"),
                                                  ("2023002", "欧阳娜娜", "written_concat"),
                                                  ("2023004", "李四", "written_concat")]
    by_id = {r[0]: r for r in rows}
    assert by_id["2023002"][3] == "两个 dim 都取 1，W 是 (5, 8)。"
    rubric = by_id["2023001"][4]
    assert "参考答案" in rubric and "BEGIN SOLUTION" not in rubric and "END SOLUTION" not in rubric
    assert all(r[5] == "2" and r[6] == "" and r[7] == "" for r in rows)
    assert all(v == (None, None, True) for v in before.values())


def test_manual_import_stores_scores_and_comments(manually_graded):
    course, _, _, _, imported, _ = manually_graded
    assert "2 道简答题" in imported and "1 道没有填得分" in imported
    grades = manual_grades(course)
    assert grades["2023001"] == (2.0, "说得完整", False)
    assert grades["2023002"] == (0.5, "没有说出原因", False)
    assert grades["2023004"] == (None, None, True)


@pytest.mark.parametrize("bad, words", [
    ({"2023001": ("3", "")}, "不在 0 到满分 2 之间"),
    ({"2023002": ("一分", "")}, "不是数字"),
    ({"2023004": ("-1", "")}, "不在 0 到满分 2 之间"),
    ({"2023004": ("", "只有评语")}, "没有得分"),
])
def test_manual_import_refuses_bad_rows_and_writes_nothing(manually_graded, quick_cli, tmp_path, bad, words):
    course, _, exported, _, _, _ = manually_graded
    before = manual_grades(course)
    rows = fill([list(r) for r in exported], {"2023001": ("1", "改了"), **bad})
    proc = quick_cli(course, "manual-import", AID, str(write_rows(tmp_path / "简答.csv", rows)))
    assert proc.returncode == 2 and words in proc.stderr and "第 " in proc.stderr and "没有任何改动" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert manual_grades(course) == before  # the valid 2023001 row was not written either


def test_manual_import_refuses_unknown_students_and_cells(manually_graded, quick_cli, tmp_path):
    course, _, exported, _, _, _ = manually_graded
    before = manual_grades(course)
    header, *rows = [list(r) for r in exported]
    rows[0][6] = "1"
    rows.append(["2099999", "谁", "written_concat", "", "", "2", "1", ""])
    rows.append(["2023004", "李四", "no_such_cell", "", "", "2", "1", ""])
    proc = quick_cli(course, "manual-import", AID, str(write_rows(tmp_path / "简答.csv", [header, *rows])))
    assert proc.returncode == 2 and "2 行不对" in proc.stderr
    assert "第 5 行（学号 2099999" in proc.stderr and "第 6 行（学号 2023004，题目 no_such_cell）" in proc.stderr
    assert manual_grades(course) == before


@pytest.fixture(scope="module")
def regraded(manually_graded):
    """The class graded again after the manual grades (the module's second and last autograde run),
    with lines of an older run already in the incident log."""
    import json

    course = manually_graded[0]
    with (course / "grading_incidents.jsonl").open("a", encoding="utf-8") as f:
        for _ in range(3):
            f.write(json.dumps({"run": OLD_RUN, "assignment": AID, "student": "2023001", "notebook": AID,
                                "what": "上一次批改的记录"}, ensure_ascii=False) + "\n")
    return course, cli(course, "autograde", AID)


def test_autograde_again_keeps_manual_grades_graded(regraded):
    from nbgrader.api import Gradebook

    course, proc = regraded
    out = ok(proc)
    table = {line.split()[0]: line for line in out.splitlines() if line.startswith("2023")}
    assert "待人工评分" not in table["2023001"] and "14.00" in table["2023001"]
    assert "待人工评分" not in table["2023002"]
    assert "待人工评分" in table["2023004"]  # nobody graded it yet
    grades = manual_grades(course)
    assert grades["2023001"] == (2.0, "说得完整", False) and grades["2023002"][:2] == (0.5, "没有说出原因")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert gb.find_submission(AID, "2023001").score == 14.0


def test_incident_counts_are_per_run(regraded, quick_cli):
    course, proc = regraded
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("2023001"))
    assert "情况记录" not in line  # the older run's three lines are not this run's
    summary = quick_cli(course, "summary", AID)
    assert summary.returncode == 0 and "2023001：3 条" not in summary.stdout
    assert "written_concat" in summary.stdout


def test_the_graded_answer_text_is_remembered(regraded):
    """KeepManualGrades remembers the answer it graded: a changed one asks for review again."""
    from nbgrader.api import Gradebook

    from rnnlab.grading.plugins.manual_grades import TABLE, answer_checksum

    course, _ = regraded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        from sqlalchemy import text

        rows = dict(gb.db.execute(text(f"SELECT student, checksum FROM {TABLE} WHERE grade_id = 'written_concat'")).all())
    assert rows["2023002"] == answer_checksum("两个 dim 都取 1，W 是 (5, 8)。")


def test_autograde_for_an_unknown_student_fails(regraded, quick_cli):
    course, _ = regraded
    proc = quick_cli(course, "autograde", AID, "--student", "2099999")
    assert proc.returncode == 2 and "2099999" in proc.stderr and "没有提交" in proc.stderr
    assert "已保存" not in proc.stdout + proc.stderr


def test_autograde_when_no_kernel_starts_fails_and_keeps_grades(regraded, tmp_path):
    """A throw-away copy whose kernels cannot start (no such kernel): nothing is graded, exit 2."""
    course, _ = regraded
    broken = tmp_path / "course"
    shutil.copytree(course, broken, ignore=shutil.ignore_patterns("autograded", "feedback"))
    with (broken / "nbgrader_config.py").open("a", encoding="utf-8") as f:
        f.write('\nc.GuardedExecute.kernel_name = "no-such-kernel"\n')
    before = manual_grades(broken)
    proc = cli(broken, "autograde", AID, "--student", "2023001", "--student", "2023002")
    assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "全部 2 份作业的批改内核都没能启动" in proc.stderr and "已批改的成绩已保存" not in proc.stdout
    assert "0.00" not in proc.stdout and "未批改（批改内核没能启动）" in proc.stdout
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{broken / 'gradebook.db'}") as gb:
        assert gb.find_submission(AID, "2023001").score == 14.0
    assert manual_grades(broken) == before
