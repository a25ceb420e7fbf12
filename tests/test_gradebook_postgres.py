"""The gradebook on a real PostgreSQL server (issue 23): with RNNLAB_DB_URL set, the instructor's
commands read and write PostgreSQL instead of gradebook.db; parallel autograde writes from several
processes; two graders on two checkouts of the course, sharing only the database, grade different
assignments at once and export one table; an SQLite gradebook moves into PostgreSQL with one
command that loses nothing; pg_dump / pg_restore bring back the same grades.

One server for the module (tests/postgres.py), one database per test.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from nbgrader.api import Gradebook

import postgres
from course import formgrader, make_course, submit
from machine import require
from rnnlab.grading.course import course_env

pytestmark = pytest.mark.e2e

AID = "a1_rnncell"
AID2 = "a2_rnn"
ROSTER = [("2024001", "张三"), ("2024002", "欧阳娜娜")]
WRONG_STEP = ('def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
              "    return torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T)\n")
CLASS = {"2024001": {}, "2024002": {"rnn_cell_step": WRONG_STEP, "written_concat": "两个都用 dim=1。"}}


@pytest.fixture(scope="module")
def pg():
    require("PostgreSQL 成绩册的测试", postgres.missing())
    with postgres.Postgres() as server:
        yield server


def cli(course, *args, url: str | None = None, wait: bool = True):
    env = {k: v for k, v in os.environ.items() if k != "RNNLAB_DB_URL"}
    if url:
        env["RNNLAB_DB_URL"] = url
    cmd = [sys.executable, "-m", "rnnlab.grading", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=600)


def ok(proc) -> str:
    # nbgrader's own error lines first (a failed student's log may be far above the tail), then the tail.
    errors = "\n".join(l for l in (proc.stdout + proc.stderr).splitlines() if "ERROR" in l or "Error" in l)
    assert proc.returncode == 0, errors[-4000:] + "\n……\n" + proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def new_course(repo, tmp_path_factory, name: str, url: str | None):
    """A checkout of the course with the class's roster imported and its notebooks submitted."""
    course = make_course(repo, tmp_path_factory.mktemp(name))
    (course / "gradebook.db").unlink()  # git-ignored: a fresh checkout has none
    (course / "名单.csv").write_text("学号,姓名\n" + "".join(f"{i},{n}\n" for i, n in ROSTER), encoding="utf-8")
    ok(cli(course, "roster", "名单.csv", url=url))
    for sid, answers in CLASS.items():
        submit(course, sid, AID, answers=answers)
    return course


def scores(url: str, aid: str = AID) -> dict[str, dict[str, tuple]]:
    """student -> grade_id -> (auto, manual, needs manual grade), straight from the database."""
    with Gradebook(url) as gb:
        out = {}
        for sid, _ in ROSTER:
            try:
                nb = gb.find_submission_notebook(aid, aid, sid)
            except Exception:
                continue
            out[sid] = {g.name: (g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades}
        return out


def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every table of the database, its rows sorted: what must survive a move or a restore."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        rows = {t.name: sorted((tuple(map(str, r)) for r in conn.execute(t.select())))
                for t in meta.sorted_tables if t.name != "alembic_version"}
    engine.dispose()
    return rows


def read_csv(path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))


# ------------------------------------------------------------------ one grader on PostgreSQL

@pytest.fixture(scope="module")
def on_sqlite(repo, tmp_path_factory):
    """The class graded the default way (gradebook.db), for comparison and to be moved later."""
    course = new_course(repo, tmp_path_factory, "sqlite", None)
    ok(cli(course, "autograde", AID, "--jobs", "1"))
    return course


@pytest.fixture(scope="module")
def on_pg(pg, repo, tmp_path_factory):
    url = pg.create_database("one_grader")
    course = new_course(repo, tmp_path_factory, "pg", url)
    out = ok(cli(course, "autograde", AID, "--jobs", "2", url=url))
    return course, url, out


def test_autograde_writes_postgres_and_grades_like_sqlite(on_pg, on_sqlite):
    course, url, out = on_pg
    assert not (course / "gradebook.db").exists(), "设置了 RNNLAB_DB_URL，却仍然写了 gradebook.db"
    got, want = scores(url), scores(f"sqlite:///{on_sqlite / 'gradebook.db'}")
    assert sorted(got) == [s for s, _ in ROSTER] and got == want
    assert sum(v[0] or 0 for v in got["2024002"].values()) < sum(v[0] or 0 for v in got["2024001"].values())
    assert "database is locked" not in out


def test_export_summary_feedback_and_manual_grades_use_postgres(on_pg, tmp_path):
    course, url, _ = on_pg
    ok(cli(course, "export", str(tmp_path / "成绩.csv"), url=url))
    header, *rows = read_csv(tmp_path / "成绩.csv")
    assert [r[0] for r in rows] == [s for s, _ in ROSTER]
    assert "张三" in rows[0] and AID in ",".join(header)
    summary = ok(cli(course, "summary", AID, url=url))
    assert "rnn_cell_step" in summary and "2" in summary  # per question, over the 2 students in the database
    ok(cli(course, "manual-export", AID, str(tmp_path / "简答.csv"), url=url))
    header, *rows = read_csv(tmp_path / "简答.csv")
    assert sorted(r[0] for r in rows) == [s for s, _ in ROSTER]
    for r in rows:
        r[6], r[7] = ("1.5", "原因说得对") if r[0] == "2024001" else ("0.5", "只答了一半")
    with (tmp_path / "填好的.csv").open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    ok(cli(course, "manual-import", AID, str(tmp_path / "填好的.csv"), url=url))
    with Gradebook(url) as gb:
        assert gb.find_grade("written_concat", AID, AID, "2024001").manual_score == 1.5
        assert gb.find_comment("written_concat", AID, AID, "2024002").manual_comment == "只答了一半"
    ok(cli(course, "feedback", AID, url=url))
    assert all((course / "feedback" / sid / AID / f"{AID}.html").is_file() for sid, _ in ROSTER)
    # Graded again, manual grades kept: test_the_moved_gradebook_keeps_manual_grades_when_graded_again.


# ------------------------------------------------------------------ two graders, one database

def test_two_graders_on_two_checkouts_grade_at_once_and_export_one_table(pg, repo, tmp_path_factory, tmp_path):
    url = pg.create_database("two_graders")
    first = new_course(repo, tmp_path_factory, "grader-a", url)
    shutil.rmtree(first / "submitted" / "2024002")  # grader A grades 2024001's a1, grader B 2024002's a2
    second = make_course(repo, tmp_path_factory.mktemp("grader-b"))  # shares only the database with `first`
    (second / "gradebook.db").unlink()
    submit(second, "2024002", AID2)
    a = cli(first, "autograde", AID, "--jobs", "1", url=url, wait=False)
    b = cli(second, "autograde", AID2, "--jobs", "1", url=url, wait=False)
    for proc in (a, b):
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-3000:] + err[-3000:]
    assert sorted(scores(url, AID)) == ["2024001"] and sorted(scores(url, AID2)) == ["2024002"]
    ok(cli(first, "export", str(tmp_path / "a.csv"), url=url))
    ok(cli(second, "export", str(tmp_path / "b.csv"), url=url))
    assert read_csv(tmp_path / "a.csv") == read_csv(tmp_path / "b.csv")
    header = read_csv(tmp_path / "a.csv")[0]
    assert any(AID in h for h in header) and any(AID2 in h for h in header)


def test_the_same_assignment_from_another_checkout_is_refused_while_it_is_being_graded(pg, repo, tmp_path_factory,
                                                                                     monkeypatch):
    """While one grader's autograde holds a1 (held here by the same function that command holds it with: a
    PostgreSQL advisory lock), an autograde of a1 from another checkout is one Chinese sentence naming who holds it,
    and grades nothing, whether it is our command, nbgrader's own CLI or Formgrader's button (before nbgrader
    removes anything); once the first is done they grade. (Two assignments at once: the test above.)"""
    from rnnlab.grading import assignment_lock
    from rnnlab.grading.commands.autograde import one_grader_per_assignment

    url = pg.create_database("same_assignment")
    course = new_course(repo, tmp_path_factory, "grader-c", url)
    env = {**course_env(), "RNNLAB_DB_URL": url}
    monkeypatch.setenv("RNNLAB_DB_URL", url)
    with one_grader_per_assignment([AID2, AID]) as holder:
        refused = f"作业 a1_rnncell 正在由另一处批改（{holder}）"
        assert holder == f"rnnlab autograde, {os.environ.get('USER') or os.getuid()}@{os.uname().nodename}, pid {os.getpid()}"
        proc = cli(course, "autograde", AID, "--jobs", "1", url=url)
        assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
        assert refused in proc.stderr, proc.stderr
        assert scores(url) == {} and not (course / "autograded").exists()
        # nbgrader's own CLI, also with a worker's variable naming someone else's lock; an old autograded/
        # folder of the student is still there afterwards.
        old = course / "autograded" / "2024001" / AID / "old.txt"
        old.parent.mkdir(parents=True)
        old.write_text("上一次批改", encoding="utf-8")
        nbgrader = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", AID, "--force"], cwd=course,
                                  env={**env, assignment_lock.HELD_BY: "rnnlab autograde, ta@elsewhere, pid 1"},
                                  capture_output=True, text=True, timeout=300)
        assert nbgrader.returncode != 0 and refused in nbgrader.stderr, nbgrader.stderr
        assert "Traceback" not in nbgrader.stderr, nbgrader.stderr
        assert old.read_text(encoding="utf-8") == "上一次批改" and scores(url) == {}
        button = formgrader(course, "autograde", AID, "2024001", env=env)  # Formgrader's 「autograde」
        assert button["success"] is False and refused in button["log"], button
        assert old.read_text(encoding="utf-8") == "上一次批改" and scores(url) == {}
    button = formgrader(course, "autograde", AID, "2024001", env=env)
    assert button["success"] is True, button
    assert sorted(scores(url)) == ["2024001"] and not old.exists()
    ok(cli(course, "autograde", AID, "--jobs", "1", url=url))
    assert sorted(scores(url)) == [s for s, _ in ROSTER]


# ------------------------------------------------------------------ moving, backing up, restoring

@pytest.fixture(scope="module")
def moved(pg, on_sqlite, tmp_path_factory):
    """The SQLite class, with manual grades, moved into an empty PostgreSQL database."""
    course = tmp_path_factory.mktemp("moved") / "course"
    shutil.copytree(on_sqlite, course)
    dest = course / "简答.csv"
    ok(cli(course, "manual-export", AID, str(dest)))
    header, *rows = read_csv(dest)
    for r in rows:
        r[6], r[7] = ("2", "很好") if r[0] == "2024001" else ("0", "")
    with dest.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    ok(cli(course, "manual-import", AID, str(dest)))
    before = table_rows(f"sqlite:///{course / 'gradebook.db'}")
    url = pg.create_database("moved")
    out = ok(cli(course, "migrate-gradebook", url))
    return course, url, before, out


def test_moving_the_sqlite_gradebook_loses_nothing(moved):
    course, url, before, out = moved
    after = table_rows(url)
    assert set(after) == set(before) and after == before
    assert sum(map(len, before.values())) > 50  # a real class, not an empty database
    assert "RNNLAB_DB_URL" in out and "gradebook.db" in out  # says what to set next, and that the file stays
    assert (course / "gradebook.db").is_file()


def test_the_moved_gradebook_keeps_manual_grades_when_graded_again(moved):
    course, url, _, _ = moved
    ok(cli(course, "autograde", AID, url=url))
    assert scores(url)["2024001"]["written_concat"] == (None, 2.0, False)


def test_moving_into_a_database_that_holds_grades_is_refused(moved):
    course, url, _, _ = moved
    before = table_rows(url)
    proc = cli(course, "migrate-gradebook", url)
    assert proc.returncode == 2 and "不是空的" in proc.stderr and "Traceback" not in proc.stderr
    assert table_rows(url) == before


def test_a_bad_database_url_is_one_chinese_sentence(on_sqlite):
    proc = cli(on_sqlite, "export", "x.csv", url="postgresql+psycopg://rnnlab@127.0.0.1:1/none")
    assert proc.returncode == 2 and "RNNLAB_DB_URL" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli(on_sqlite, "migrate-gradebook", "mysql://x")
    assert proc.returncode == 2 and "postgresql" in proc.stderr and "Traceback" not in proc.stderr


def test_pg_dump_and_pg_restore_bring_back_the_same_grades(pg, moved):
    _, url, _, _ = moved
    dump = pg.root / "course.dump"
    pg.run("pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", postgres.USER, "-Fc", "-f", str(dump), "moved")
    restored = pg.create_database("restored")
    pg.run("pg_restore", "-h", "127.0.0.1", "-p", str(pg.port), "-U", postgres.USER, "-d", "restored", str(dump))
    assert table_rows(restored) == table_rows(url)


def test_a_database_nbgrader_only_created_counts_as_empty(pg, moved, monkeypatch):
    """What creating a gradebook writes (nbgrader's schema and course row) is no grade: a move that stopped
    half-way, or a database a grader opened once by mistake, can still take the class."""
    course, _, before, _ = moved
    url = pg.create_database("created_only")
    monkeypatch.setenv("PATH", course_env()["PATH"])  # nbgrader runs `alembic` when it creates a gradebook
    Gradebook(url).close()
    ok(cli(course, "migrate-gradebook", url))
    assert table_rows(url) == before


# ------------------------------------------------------------------ a fault: the server restarts mid-grading

def test_postgres_restarting_during_autograde_half_writes_no_grade(pg, repo, tmp_path_factory, on_sqlite):
    """PostgreSQL restarts (an update, a failover) while a grader's autograde runs: whatever was being graded
    either finishes or is named, in Chinese, with the command that redoes it; no student is left with part
    of a grade; the command it names grades them like SQLite does."""
    url = pg.create_database("restarted")
    course = new_course(repo, tmp_path_factory, "restarted", url)
    proc = cli(course, "autograde", AID, "--jobs", "1", url=url, wait=False)
    first = None
    for line in proc.stdout:
        if "：批改完成" in line and line.startswith("── ["):
            first = line
            pg.restart()  # the next student is being graded now
            break
    out, err = proc.communicate(timeout=600)
    assert first, out[-3000:] + err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    want = scores(f"sqlite:///{on_sqlite / 'gradebook.db'}")
    got = scores(url)
    failed = [sid for sid, _ in ROSTER if got.get(sid) != want[sid]]
    if proc.returncode == 0:
        assert not failed, (got, want)
    else:
        assert proc.returncode == 2 and failed, (proc.returncode, got)
        assert "nbgrader 批改" in err and all(f"--student {sid}" in err for sid in failed), err[-3000:]
        for sid in failed:  # not graded at all, never half: no automatic score was written for them
            assert all(auto is None for auto, _, _ in got.get(sid, {}).values()), (sid, got[sid])
        redo = ok(cli(course, "autograde", AID, *[a for sid in failed for a in ("--student", sid)], url=url))
        assert all(sid in redo for sid in failed)
    assert scores(url) == want


def test_a_database_gone_when_the_table_is_read_still_names_who_to_grade_again(monkeypatch, tmp_path):
    """The race the restart test above can meet: every worker has finished, the database is not back yet
    when the command reads the scores for its table. The table is lost; the list of who to grade again and
    the command that does it are not (the driver's real "connection refused", on a port nobody listens on)."""
    import socket

    from rnnlab.grading.commands import autograde as command
    from rnnlab.grading.commands.autograde_workers import Job, Result
    from rnnlab.grading.course import CourseError

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("RNNLAB_DB_URL", f"postgresql+psycopg://rnnlab@127.0.0.1:{port}/gone")
    jobs = [Job(AID, "2024001", status="done"), Job(AID, "2024002", status="error")]
    with pytest.raises(CourseError) as failed:
        command._report(tmp_path, [(j.aid, j.student) for j in jobs], Result(jobs, False, 1.0), "run")
    said = str(failed.value)
    assert "连不上成绩册数据库" in said and "没有列出成绩表" in said, said
    assert f"nbgrader 批改 1 份作业时报错（{AID}：2024002）" in said and "--student 2024002" in said, said
    assert "已批改的 1 份成绩都已保存在成绩册中" in said and "2024001" not in said.split("补批")[-1], said
