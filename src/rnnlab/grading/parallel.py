"""Grade a class in parallel: one `nbgrader autograde AID --student S --force` per submission, N at a time.

Each (assignment, student) pair is graded by its own nbgrader process, exactly the run an
instructor would type for one student: the course's config, its guards and its sandboxed
kernel, nothing shared with any other student. A worker that dies takes only its own
submission with it; Ctrl-C stops launching, interrupts the workers still running and keeps
every submission already graded.

The gradebook under concurrency. Every worker writes with nbgrader's own code; SQLite lets
one writer at a time hold the file lock and nbgrader's transactions are short (milliseconds).
But Python's sqlite3 waits at most 5 s for a lock (nbgrader sets no busy timeout of its own),
and when a wait runs out nbgrader reports "database is locked" under a message telling the
instructor to run `nbgrader db upgrade` — wrong advice, and that student's grade is lost.
So, here:

- every worker waits up to BUSY_TIMEOUT_S for the lock (a connect hook on every SQLAlchemy
  engine, installed before nbgrader starts: `python -m rnnlab.grading.parallel` is nbgrader's
  own CLI with that hook);
- a worker that still fails on a locked database, or on a row another process inserted
  first, is run again (autograde --force is idempotent), at most RETRIES times;
- the students are created in the gradebook before any worker starts: two workers grading a
  new student in two assignments would otherwise both insert them.

Per-worker gradebooks merged afterwards were not chosen: nbgrader's autograde reads the
assignment, the notebooks and the grade cells from the gradebook, and a merge would have to
copy nbgrader's whole schema by hand; serialised writes keep nbgrader's code the only writer.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

BUSY_TIMEOUT_S = 120
RETRIES = 2
# What a lost race for the gradebook looks like in nbgrader's log.
DB_RACE = ("database is locked", "database table is locked", "UNIQUE constraint failed")
# After Ctrl-C: how long a worker gets to stop by itself before it is killed.
GRACE_S = 5.0
TICK_S = 0.1

_hooked = False


def wait_for_locks(seconds: float = BUSY_TIMEOUT_S) -> None:
    """Every SQLite connection SQLAlchemy opens in this process waits `seconds` for a lock (not 5 s)."""
    global _hooked
    if _hooked:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    event.listen(Engine, "connect", on_connect)
    _hooked = True


def gradebook(course: Path):
    """The course's gradebook, waiting for locks like the workers do."""
    from nbgrader.api import Gradebook

    wait_for_locks()
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def submitted_students(course: Path, aid: str) -> list[str]:
    """Students with a folder submitted/<student>/<aid>/ (what `nbgrader autograde AID` would grade)."""
    folder = course / "submitted"
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir()
                  if not d.name.startswith(".") and (d / aid).is_dir())


def ensure_students(course: Path, students: list[str]) -> set[tuple[str, str]]:
    """Create missing students before the workers start (what each worker would do, but once).

    Returns the (assignment, student) submissions the gradebook held before this run.
    """
    with gradebook(course) as gb:
        for sid in students:
            gb.update_or_create_student(sid)
        return {(sub.assignment.name, sub.student.id) for a in gb.assignments for sub in a.submissions}


def forget_unfinished(course: Path, jobs: list["Job"], before: set[tuple[str, str]]) -> None:
    """A submission that a stopped worker created and never graded would read as 0 points: remove it.

    A submission graded by an earlier run keeps that run's grades (the table and the message
    say it was not regraded).
    """
    stale = [j for j in jobs if j.status in ("killed", "interrupted") and (j.aid, j.student) not in before]
    if not stale:
        return
    from nbgrader.api import MissingEntry

    with gradebook(course) as gb:
        for j in stale:
            try:
                gb.remove_submission(j.aid, j.student)
            except MissingEntry:
                pass


def worker_command(aid: str, student: str) -> list[str]:
    return [sys.executable, "-m", "rnnlab.grading.parallel", "autograde", aid, "--student", student, "--force"]


@dataclass
class Job:
    aid: str
    student: str
    attempts: int = 0
    status: str = "waiting"  # waiting, running, done, error (nbgrader failed), killed, interrupted
    returncode: int | None = None
    seconds: float = 0.0
    output: str = ""
    proc: subprocess.Popen | None = field(default=None, repr=False)
    log: IO | None = field(default=None, repr=False)
    started: float = 0.0
    stopping: bool = False


@dataclass
class Result:
    jobs: list[Job]
    interrupted: bool
    seconds: float

    def having(self, *status: str) -> list[Job]:
        return [j for j in self.jobs if j.status in status]


def _start(course: Path, job: Job) -> None:
    from rnnlab.grading.nbgrader_cli import course_env

    job.attempts += 1
    job.log = tempfile.TemporaryFile()
    job.started = time.monotonic()
    job.status = "running"
    # A session of its own: the terminal's Ctrl-C reaches this process only, which then
    # stops the workers itself (and never half-kills a worker that was about to finish).
    job.proc = subprocess.Popen(worker_command(job.aid, job.student), cwd=course, env=course_env(),
                                stdin=subprocess.DEVNULL, stdout=job.log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _signal_group(job: Job, sig: int) -> None:
    try:
        os.killpg(job.proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _collect(course: Path, job: Job) -> None:
    """A worker has exited: read its log and decide what became of its submission."""
    job.returncode = job.proc.returncode
    job.seconds = time.monotonic() - job.started
    job.log.seek(0)
    job.output = job.log.read().decode("utf-8", errors="replace")
    job.log.close()
    job.proc = job.log = None
    rc = job.returncode
    if rc == 0:
        job.status = "done"
    elif job.stopping:
        job.status = "interrupted"
    elif rc < 0:
        job.status = "killed"
    elif any(m in job.output for m in DB_RACE) and job.attempts <= RETRIES:
        job.status = "retry"
    else:
        job.status = "error"  # nbgrader ran and reported an error, as a sequential run would
    if job.status in ("interrupted", "killed"):
        # What nbgrader itself does for a submission it could not finish: no half-graded folder.
        shutil.rmtree(course / "autograded" / job.student / job.aid, ignore_errors=True)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def progress_line(done: int, total: int, elapsed: float, running: list[Job], now: float) -> str:
    width = 24
    filled = width * done // max(total, 1)
    eta = _clock(elapsed / done * (total - done)) if done else "估算中"
    line = f"批改 {done}/{total} [{'█' * filled}{'░' * (width - filled)}] 已用 {_clock(elapsed)}，预计还需 {eta}"
    if running:
        slow = min(running, key=lambda j: j.started)
        line += f"；最慢：{slow.student}（{slow.aid}）{now - slow.started:.0f} s"
    return line


STATUS_TEXT = {"done": "批改完成", "error": "nbgrader 报告了错误", "killed": "批改进程被终止，没有成绩",
               "interrupted": "已中断，没有成绩"}


def grade(course: Path, pairs: list[tuple[str, str]], workers: int, out: IO | None = None,
          progress: bool | None = None) -> Result:
    """Grade every (assignment, student) pair with at most `workers` nbgrader processes at once.

    Each worker's log is printed in one piece when it exits, headed by a line naming the
    student (so logs never interleave). A progress line with an ETA is drawn when `out` is a
    terminal. Ctrl-C (SIGINT) stops the run: see the module docstring.
    """
    out = out or sys.stdout
    if progress is None:
        progress = out.isatty()
    before = ensure_students(course, sorted({s for _, s in pairs}))
    jobs = [Job(aid, sid) for aid, sid in pairs]
    queue = deque(jobs)
    running: list[Job] = []
    asked = [0]  # Ctrl-C presses
    stop_deadline = None

    def on_sigint(_signum, _frame):
        asked[0] += 1

    old = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
    t0 = time.monotonic()
    finished = 0
    drawn = False
    try:
        while (queue and not asked[0]) or running:
            while queue and not asked[0] and len(running) < workers:
                job = queue.popleft()
                _start(course, job)
                running.append(job)
            time.sleep(TICK_S)
            now = time.monotonic()
            if asked[0]:
                if stop_deadline is None:
                    stop_deadline = now + GRACE_S
                    for job in running:
                        job.stopping = True
                        _signal_group(job, signal.SIGINT)
                elif asked[0] > 1 or now > stop_deadline:
                    for job in running:
                        _signal_group(job, signal.SIGKILL)
            for job in [j for j in running if j.proc.poll() is not None]:
                running.remove(job)
                _collect(course, job)
                if drawn:
                    out.write("\r\x1b[K")
                    drawn = False
                if job.status == "retry":
                    out.write(f"── {job.aid} · {job.student}：成绩册正被其他进程占用，重新批改"
                              f"（第 {job.attempts + 1} 次）\n")
                    queue.appendleft(job)
                    continue
                finished += 1
                extra = f"（信号 {-job.returncode}）" if job.status == "killed" else ""
                out.write(f"── [{finished}/{len(jobs)}] {job.aid} · {job.student}：{STATUS_TEXT[job.status]}{extra}"
                          f"（{job.seconds:.1f} s）\n")
                if job.output.strip():
                    out.write(job.output.rstrip() + "\n")
                out.flush()
            if progress and (running or queue) and not asked[0]:
                out.write("\r" + progress_line(finished, len(jobs), now - t0, running, now) + "\x1b[K")
                out.flush()
                drawn = True
    finally:
        for job in running:  # only when something above raised: leave no worker behind
            _signal_group(job, signal.SIGKILL)
            job.proc.wait()
        if drawn:
            out.write("\r\x1b[K")
            out.flush()
        if old is not None:
            signal.signal(signal.SIGINT, old)
    forget_unfinished(course, jobs, before)
    return Result(jobs, bool(asked[0]), time.monotonic() - t0)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    # A worker: nbgrader's own CLI, with gradebook connections that wait for the lock.
    wait_for_locks()
    from nbgrader.apps.nbgraderapp import main

    sys.argv[0] = "nbgrader"
    sys.exit(main())
