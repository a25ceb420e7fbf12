"""Parallel autograde (issue 16): `python -m rnnlab.grading autograde AID --jobs N` grades a class
of honest, wrong and hostile submissions with the same scores, incidents and files as the
sequential run, while another process holds the gradebook locked for longer than SQLite's
default 5 s wait; Ctrl-C keeps every finished grade and names who remains; a killed worker
loses only its own student and the command says so in Chinese."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from course import grades, make_course, submit
from rnnlab.grading.nbgrader_cli import course_env

pytestmark = pytest.mark.e2e

AID = "a1_rnncell"
WRONG_STEP = ('def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
              "    return torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T)\n")
PATCHED = WRONG_STEP + "\nimport torch\ntorch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
BLANK = {"rnn_cell_step": None, "run_rnn_cell": None, "rnn_cell_param_shapes": None}
# student -> (answers, code appended to an answer cell: (grade_id, code))
CLASS = {
    "s01": ({}, None),                                            # honest
    "s02": ({"rnn_cell_step": WRONG_STEP}, None),                 # forgot the biases
    "s03": ({}, ("rnn_cell_step", "while True:\n    pass")),      # infinite loop: the 5 s cell limit
    "s04": ({}, ("run_rnn_cell", "import os\nos._exit(1)")),      # kills its own kernel
    "s05": (BLANK, None),                                         # handed in the release notebook
    "s06": ({"rnn_cell_step": PATCHED}, None),                    # wrong, and patches the comparisons
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
    """student id -> pid of the grading workers this CLI process started."""
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"rnnlab.grading.parallel" in argv:
            found[argv[argv.index(b"--student") + 1].decode()] = int(d.name)
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
def sequential(klass):
    course = copy_of(klass, "sequential")
    proc = run_cli(course, "autograde", AID, "--jobs", "1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return course, proc


@pytest.fixture(scope="module")
def parallel(klass):
    """--jobs 2 while another process holds the gradebook locked for 7 s once the workers run."""
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
    assert table(par_proc.stdout) == table(seq_proc.stdout) and len(table(seq_proc.stdout)) == len(CLASS)


def test_the_class_gets_what_it_deserves(sequential):
    course, proc = sequential
    s = state(course)
    full = sum(v for v in s["s01"][0].values() if v is not None)
    assert full > 0 and sum(v or 0 for v in s["s03"][0].values()) == full  # the loop cost 5 s, not points
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


def test_workers_wait_longer_than_sqlite_default(tmp_path):
    """Why a plain nbgrader loses a grade under contention, and what a worker does instead."""
    code = ("import sys; from nbgrader.api import Gradebook; from rnnlab.grading import parallel\n"
            "def timeout():\n"
            f"    gb = Gradebook('sqlite:///{tmp_path / 'gb.db'}'); c = gb.engine.raw_connection().cursor()\n"
            "    c.execute('PRAGMA busy_timeout'); v = c.fetchone()[0]; gb.close(); return v\n"
            "plain = timeout(); parallel.wait_for_locks(); print(plain, timeout())\n")
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


def test_ctrl_c_keeps_finished_students_and_names_the_rest(klass, sequential):
    course = copy_of(klass, "interrupted")
    proc = start_cli(course, "autograde", AID, "--jobs", "1")
    finished = []
    for line in proc.stdout:
        m = DONE_LINE.match(line)
        if m:
            finished.append(m.group(3))
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    assert finished, out[-2000:] + err[-2000:]
    finished += [m.group(3) for m in map(DONE_LINE.match, out.splitlines()) if m]
    remaining = [s for s in CLASS if s not in finished]
    assert proc.returncode == 2 and remaining
    assert "批改已中断" in err and "Traceback" not in err
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
