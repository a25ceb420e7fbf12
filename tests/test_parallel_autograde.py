"""Parallel autograde (issue 16): `python -m rnnlab.grading autograde AID --jobs N` grades a class
of honest, wrong and hostile submissions with the same scores, incidents and files as nbgrader's
own sequential `nbgrader autograde AID`, while another process holds the gradebook locked for
longer than SQLite's default 5 s wait; Ctrl-C (or kill) keeps every finished grade and names who remains;
a killed worker loses only its own student and the command says so in Chinese; a second
command while one runs is refused and changes nothing; a worker
replaced after its quota grades like the first; folders nbgrader cannot grade are named, not
graded; a submission nbgrader fails on is named with the command that redoes it; on a terminal a progress line is drawn that
never wraps, and into a pipe none."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from course import grades, make_course, submit
from rnnlab.grading.course import course_env

pytestmark = pytest.mark.e2e

AID = "a1_rnncell"
WRONG_STEP = ('def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
              "    return torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T)\n")
PATCHED = WRONG_STEP + "\nimport torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
FLOOD = "import os\nfor _ in range(20):\n    os.write(2, b'x' * 100_000 + b'\\n')"
BLANK = {"rnn_cell_step": None, "run_rnn_cell": None, "rnn_cell_param_shapes": None}
# student -> (answers, code appended to an answer cell: (grade_id, code))
CLASS = {
    "s01": ({}, None),                                            # honest
    "s02": ({"rnn_cell_step": WRONG_STEP}, None),                 # forgot the biases
    # A cell that never ends: the 8 s cell limit. It sleeps, so the 8 s leave the cores to the other tests
    # (the busy loop is tests/test_grading_robustness.py's infinite_loop; the limit is the same).
    "s03": ({}, ("rnn_cell_step", "import time\nwhile True:\n    time.sleep(0.05)")),
    "s04": ({}, ("run_rnn_cell", "import os\nos._exit(1)")),      # kills its own kernel
    "s05": (BLANK, None),                                         # handed in the release notebook
    "s06": ({"rnn_cell_step": PATCHED}, None),                    # wrong, and patches the comparisons
    "s07": ({}, ("rnn_cell_step", FLOOD)),                        # right, and floods the kernel's own stderr
}
DONE_LINE = re.compile(r"^── \[(\d+)/(\d+)\] " + AID + r" · (\S+)：批改完成")


@pytest.fixture(scope="module")
def klass(tmp_path_factory, repo):
    """One class, written once; every run below grades its own copy."""
    course = make_course(repo, tmp_path_factory.mktemp("parallel") / "template")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\nc.Execute.timeout = 8  # the infinite loop costs 8 s, not 30; an honest cell never comes close\n")
    for sid, (answers, extra) in CLASS.items():
        path = submit(course, sid, AID, answers=answers)
        if extra:
            nb = json.loads(path.read_text(encoding="utf-8"))
            cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == extra[0])
            cell["source"] = "".join(cell["source"]) + "\n" + extra[1]
            path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return course


def copy_of(klass, name):
    dest = klass.parent / name
    shutil.copytree(klass, dest)
    return dest


def start_cli(course, *args):
    return subprocess.Popen([sys.executable, "-m", "rnnlab.grading", *args], cwd=course,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_cli(course, *args):
    proc = start_cli(course, *args)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def workers_of(pid: int) -> dict[str, int]:
    """student id -> pid of the worker (a child of this CLI process) grading them right now.

    A worker writes everything of the submission it grades into that submission's log file,
    named <aid>.<student>.<attempt>.log: its stdout shows who it is grading.
    """
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (d / "cmdline").read_bytes().split(b"\0")
            log = os.readlink(d / "fd" / "1")
        except (OSError, IndexError, ValueError):
            continue
        m = re.search(rf"/{AID}\.(.+)\.\d+\.log$", log)
        if ppid == pid and b"rnnlab.grading.commands.autograde_workers" in argv and m:
            found[m.group(1)] = int(d.name)
    return found


def state(course):
    """Per student: the grade of every cell, the incident lines, the autograded files."""
    logged = [json.loads(l) for l in (course / "grading_incidents.jsonl").read_text(encoding="utf-8").splitlines()]
    result = {}
    for sid in CLASS:
        folder = course / "autograded" / sid / AID
        result[sid] = (grades(course, AID, sid),
                       sorted(e["what"] for e in logged if e["student"] == sid),
                       sorted(str(p.relative_to(folder)) for p in folder.rglob("*")))
    return result


def table(out):
    return [l for l in out.splitlines() if re.match(r"^s0\d ", l)]


@pytest.fixture(scope="module")
def both(klass):
    """The class graded twice at the same time, each in its own copy: nbgrader's own CLI (one process, one student
    after another) and --jobs 2 (while another process holds the gradebook locked for 7 s once the workers run).
    At the same time because both spend seconds waiting (s03's cell limit, the lock), not computing."""
    course = copy_of(klass, "sequential")
    # Into files, not pipes: nbgrader prints s07's 2 MB, and a full pipe nobody reads yet would stop it.
    logs = [klass.parent / "sequential.out", klass.parent / "sequential.err"]
    with open(logs[0], "w") as out, open(logs[1], "w") as err:
        seq = subprocess.Popen([sys.executable, "-m", "nbgrader", "autograde", AID, "--force"], cwd=course,
                               env=course_env(), stdout=out, stderr=err, text=True)
        try:
            par = _parallel(klass)
            seq.wait(timeout=300)
        finally:
            if seq.poll() is None:
                seq.kill()
    out, err = (p.read_text() for p in logs)
    assert seq.returncode == 0, out[-3000:] + err[-3000:]
    return (course, subprocess.CompletedProcess(seq.args, 0, out, err)), par


@pytest.fixture(scope="module")
def sequential(both):
    """The class graded as before parallel grading: nbgrader's own CLI, one process, one student after another."""
    return both[0]


@pytest.fixture(scope="module")
def parallel(both):
    """--jobs 2 while another process holds the gradebook locked for 7 s once the workers run."""
    return both[1]


def _parallel(klass):
    course = copy_of(klass, "parallel")
    proc = start_cli(course, "autograde", AID, "--jobs", "2")
    held = {}

    def hold_lock():
        while not workers_of(proc.pid) and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)  # inside nbgrader by now: its first gradebook writes come next
        db = sqlite3.connect(course / "gradebook.db", timeout=60, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        held["workers"] = sorted(workers_of(proc.pid))
        time.sleep(7)
        db.execute("COMMIT")
        db.close()

    locker = threading.Thread(target=hold_lock)
    locker.start()
    out, err = proc.communicate(timeout=300)
    locker.join()
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return course, subprocess.CompletedProcess([], 0, out, err), held


def test_parallel_grades_what_sequential_grades(sequential, parallel):
    (seq, seq_proc), (par, par_proc, held) = sequential, parallel
    assert held["workers"], "the gradebook lock was taken while no worker ran"
    assert state(par) == state(seq)
    rows = table(par_proc.stdout)
    assert [r.split()[0] for r in rows] == sorted(CLASS)
    for row in rows:  # the table says what the gradebook holds
        sid, score = row.split()[:2]
        assert float(score) == sum(v or 0 for v in grades(par, AID, sid).values()), row


def test_the_class_gets_what_it_deserves(sequential):
    course, _ = sequential
    s = state(course)
    full = sum(v for v in s["s01"][0].values() if v is not None)
    assert full > 0 and sum(v or 0 for v in s["s03"][0].values()) == full  # the loop cost 8 s, not points
    assert sum(v or 0 for v in s["s07"][0].values()) == full
    for sid in ("s02", "s04", "s05", "s06"):
        assert sum(v or 0 for v in s[sid][0].values()) < full, sid
    assert s["s01"][1] == [] and any("超过时间限制" in w for w in s["s03"][1])
    assert any("内核退出" in w for w in s["s04"][1]) and any("torch.allclose" in w for w in s["s06"][1])


def test_no_lock_error_reaches_the_instructor(parallel):
    _, proc, _ = parallel
    text = proc.stdout + proc.stderr
    assert "database is locked" not in text and "db upgrade" not in text
    assert "重新批改" not in text  # the workers waited for the lock: no retry was needed
    assert "\x1b[K" not in proc.stdout and "预计还需" not in proc.stdout  # no progress bar into a pipe


def test_a_flooding_kernel_does_not_flood_the_instructor(sequential, parallel):
    """s07 writes 2 MB to its kernel's stderr: nbgrader alone prints all of it, the CLI 64 KiB of it."""
    seq_out = sequential[1].stdout + sequential[1].stderr
    par_out = parallel[1].stdout + parallel[1].stderr
    assert seq_out.count("x" * 1000) > 1500
    block = par_out.split(f"{AID} · s07：")[1].split("\n── ")[0]
    assert "这份提交的日志太长" in block and len(block.encode()) < 70_000
    assert "Setting destination file permissions" in block  # its end, the lines that matter, is kept


def test_workers_wait_longer_than_sqlite_default(tmp_path):
    """Why a plain nbgrader loses a grade under contention, and what a worker does instead."""
    code = ("import sys; from nbgrader.api import Gradebook; from rnnlab.grading import gradebook\n"
            "def timeout():\n"
            f"    gb = Gradebook('sqlite:///{tmp_path / 'gb.db'}'); c = gb.engine.raw_connection().cursor()\n"
            "    c.execute('PRAGMA busy_timeout'); v = c.fetchone()[0]; gb.close(); return v\n"
            "plain = timeout(); gradebook.wait_for_locks(); print(plain, timeout())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=course_env()).stdout.split()
    assert out == ["5000", str(1000 * 120)]


def submission_exists(course, sid):
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            gb.find_submission(AID, sid)
        except MissingEntry:
            return False
        return True


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_keeps_finished_students_and_names_the_rest(klass, sequential, stop):
    course = copy_of(klass, f"interrupted-{stop.name}")
    proc = start_cli(course, "autograde", AID, "--jobs", "1")
    finished = []
    for line in proc.stdout:
        m = DONE_LINE.match(line)
        if m:
            finished.append(m.group(3))
            # Meanwhile a second command is refused (the first holds the course) and changes nothing.
            second = run_cli(course, "autograde", AID, "--student", "s05")
            proc.send_signal(stop)
            break
    out, err = proc.communicate(timeout=120)
    assert finished, out[-2000:] + err[-2000:]
    finished += [m.group(3) for m in map(DONE_LINE.match, out.splitlines()) if m]
    remaining = [s for s in CLASS if s not in finished]
    assert proc.returncode == 2 and remaining
    assert "批改已中断" in err and "Traceback" not in err
    assert second.returncode == 2 and "正在由另一个 autograde 批改" in second.stderr, second.stderr
    assert f"进程 {proc.pid}" in second.stderr and "Traceback" not in second.stderr
    assert all(s in err for s in remaining) and not any(s in err for s in finished)
    seq = state(sequential[0])
    for sid in finished:
        assert grades(course, AID, sid) == seq[sid][0]
    for sid in remaining:
        assert not (course / "autograded" / sid / AID).exists() and not submission_exists(course, sid)


def test_a_killed_worker_loses_only_its_student(klass, sequential):
    course = copy_of(klass, "killed")
    proc = start_cli(course, "autograde", AID, "--jobs", "2", "--student", "s01", "--student", "s02",
                     "--student", "s05")
    deadline = time.monotonic() + 60
    while "s02" not in workers_of(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    os.kill(workers_of(proc.pid)["s02"], signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, out[-2000:] + err[-2000:]
    assert "批改进程意外终止" in err and "s02" in err and "--student s02" in err and "Traceback" not in err
    assert re.search(r"^s02 +未批改", out, re.M)
    seq = state(sequential[0])
    for sid in ("s01", "s05"):
        assert grades(course, AID, sid) == seq[sid][0]
    assert not (course / "autograded" / "s02" / AID).exists() and not submission_exists(course, "s02")


def test_a_replaced_worker_grades_like_the_first(klass, sequential):
    """Every `worker_jobs` submissions a worker is replaced by a fresh process; nothing else changes."""
    from rnnlab.grading.commands import autograde_workers

    course = copy_of(klass, "recycled")
    students = ["s01", "s02", "s05"]
    out = io.StringIO()
    env = os.environ.copy()
    os.environ.update(course_env())
    try:
        result = autograde_workers.grade(course, [(AID, s) for s in students], workers=1, out=out, worker_jobs=2)
    finally:
        os.environ.clear()
        os.environ.update(env)
    assert [j.status for j in result.jobs] == ["done"] * 3, out.getvalue()[-3000:]
    by = [j.worker for j in result.jobs]
    assert by[0] == by[1] != by[2]
    seq = state(sequential[0])
    for sid in students:
        assert grades(course, AID, sid) == seq[sid][0]


def test_folder_names_nbgrader_cannot_grade_and_an_nbgrader_error(klass, sequential):
    """Folders named with glob characters are not graded (nbgrader fails on s*, misses s[1], and
    reads s? as a pattern); ids with a leading "-", a space or Chinese are graded; a submission
    nbgrader fails on (its autograded folder is a file here) is named, with the command to redo it."""
    course = copy_of(klass, "names")
    shutil.rmtree(course / "submitted")
    odd = ["s*", "s?", "s[1]"]
    fine = ["-x", "a b", "张三"]
    for sid in odd + fine:
        submit(course, sid, AID)
    (course / "autograded").mkdir(exist_ok=True)
    (course / "autograded" / "张三").write_text("不是文件夹", encoding="utf-8")
    proc = run_cli(course, "autograde", AID, "--jobs", "2")
    assert proc.returncode == 2, proc.stdout[-3000:] + proc.stderr[-3000:]
    err = proc.stderr
    assert "s*、s?、s[1] 没有批改" in err and "通配符" in err
    assert "nbgrader 批改 1 份作业时报错（a1_rnncell：张三）" in err and "--student 张三" in err
    assert "已批改的 2 份成绩" in err and "Traceback" not in err
    table = [l for l in proc.stdout.splitlines() if re.match(r"^(-x|a b|张三) ", l)]
    from rnnlab.grading.commands.autograde_workers import display_width
    for line, value in zip(table, ["12.00", "12.00", "未批改"]):  # one column of scores, 张三 (4 columns wide) too
        assert display_width(line[:line.index(value) + len(value)]) == 16 + 1 + 6, table
    assert table[2].endswith("未批改（nbgrader 报错，见上方日志）")
    reference = state(sequential[0])["s01"][0]
    for sid in ("-x", "a b"):
        assert grades(course, AID, sid) == reference
    assert not any(submission_exists(course, sid) for sid in odd)
    # Only odd folders asked for: nothing to grade, said in one sentence.
    alone = run_cli(course, "autograde", AID, "--student", "s*")
    assert alone.returncode == 2 and "s* 没有批改" in alone.stderr and "── [" not in alone.stdout
    # The command it printed grades 张三 once the obstacle is gone.
    (course / "autograded" / "张三").unlink()
    again = run_cli(course, "autograde", AID, "--student", "张三")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert grades(course, AID, "张三") == reference


def test_progress_on_a_terminal_fits_its_width(klass):
    """On a real terminal (a pty, 60 columns) a progress line is redrawn in place: it never wraps."""
    course = copy_of(klass, "terminal")
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab.grading", "autograde", AID, "--jobs", "2",
                             "--student", "s01", "--student", "s02", "--student", "s05"],
                            cwd=course, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    text = b"".join(chunks).decode("utf-8", errors="replace").replace("\r\n", "\n")
    bars = [seg.split("\x1b[K")[0] for seg in text.split("\r") if seg.startswith("批改 ")]
    assert bars, text[-2000:]
    assert all(parallel_width(b) <= 59 for b in bars), max(bars, key=parallel_width)
    counts = {b.split()[1] for b in bars}
    assert "0/3" in counts and counts & {"1/3", "2/3"}, counts  # redrawn as students finish
    assert any(b.endswith("…") for b in bars)  # 60 columns are too few for the whole line: it was cut
    # Every log line and the table start on a cleared line: no bar is left behind in them.
    lines = text.split("\n")
    assert [l.split()[0] for l in lines if re.match(r"^s0\d ", l)] == ["s01", "s02", "s05"]
    assert not any("批改 " in l and "[" in l and "预计还需" in l for l in lines if l.startswith(("──", "s0")))


def test_progress_line_says_what_runs_longest_and_fits():
    from rnnlab.grading.commands.autograde_workers import Job, display_width, progress_line

    slow, fast = Job(AID, "s007", started=10.0), Job("a2_rnn", "s008", started=12.0)
    line = progress_line(6, 10, 30.0, [fast, slow], now=14.0, columns=200)
    assert line == f"批改 6/10 [############........] 已用 0:30，预计还需 0:20；最慢：s007（{AID}）4 s"
    assert "（" not in progress_line(6, 10, 30.0, [slow], now=14.0, columns=200, name_assignment=False)
    assert progress_line(0, 10, 3.0, [], now=3.0).endswith("预计还需 估算中")
    for columns in (30, 60, 80):
        cut = progress_line(6, 10, 30.0, [slow], now=14.0, columns=columns)
        assert display_width(cut) <= columns - 1 and cut.endswith("…")
    assert display_width("批改 ab…") == 4 + 1 + 2 + 2  # wide, narrow, and the ambiguous "…" counted wide


def parallel_width(text: str) -> int:
    from rnnlab.grading.commands.autograde_workers import display_width

    return display_width(text)


def test_default_jobs_are_the_cores_this_process_may_use():
    """--jobs defaults to the cores the command may run on: `taskset -c 0` (or a container's cpuset) means 1."""
    code = "from rnnlab.grading.commands.autograde import usable_cores; print(usable_cores())"
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env=course_env())
    free = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=course_env())
    assert pinned.stdout.split() == ["1"]
    assert free.stdout.split() == [str(len(os.sched_getaffinity(0)))]
