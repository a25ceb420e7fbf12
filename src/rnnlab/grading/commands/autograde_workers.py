"""Grade a class in parallel: N long-lived worker processes, one submission at a time each.

A worker (`python -m rnnlab.grading.commands.autograde_workers worker`) runs nbgrader's own CLI in-process, once
per (assignment, student) it is handed: `nbgrader autograde AID --student S --force` with the
course's config, its guards and a sandboxed kernel of its own, on a fresh nbgrader app that
is reset afterwards (as nbgrader's own tests run it). Starting Python and importing nbgrader
costs about as much as the sandboxed kernel itself, so a worker pays it once, not once per
student. Everything a submission prints goes to its own log file, printed in one piece when
it is graded. A worker that dies takes only the submission it was grading with it (a new
worker takes over the queue); Ctrl-C stops handing out work, interrupts the workers still
grading and keeps every submission already graded.

The gradebook under concurrency. Every worker writes with nbgrader's own code; SQLite lets
one writer at a time hold the file lock and nbgrader's transactions are short (milliseconds).
But Python's sqlite3 waits at most 5 s for a lock (nbgrader sets no busy timeout of its own),
and when a wait runs out nbgrader reports "database is locked" under a message telling the
instructor to run `nbgrader db upgrade` — wrong advice, and that student's grade is lost.
So, here:

- every worker waits up to gradebook.BUSY_TIMEOUT_S for the lock (a connect hook on every SQLAlchemy
  engine, installed in the worker before nbgrader starts);
- a submission that still fails on a locked database, or on a row another process inserted
  first, is graded again (autograde --force is idempotent), at most RETRIES times;
- the students are created in the gradebook before any worker starts: two workers grading a
  new student in two assignments would otherwise both insert them.

Per-worker gradebooks merged afterwards were not chosen: nbgrader's autograde reads the
assignment, the notebooks and the grade cells from the gradebook, and a merge would have to
copy nbgrader's whole schema by hand; serialised writes keep nbgrader's code the only writer.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rnnlab.grading import gradebook
from rnnlab.grading.course import course_env

RETRIES = 2
# What a lost race for the gradebook looks like in nbgrader's log.
DB_RACE = ("database is locked", "database table is locked", "UNIQUE constraint failed")
# After Ctrl-C: how long a worker gets to stop by itself before it is killed.
GRACE_S = 5.0
TICK_S = 0.1
# A worker is replaced after this many submissions, so its memory stays bounded whatever leaks.
WORKER_JOBS = 50
# At most this many bytes of one submission's log are printed (its beginning and its end).
LOG_SHOWN = 64 * 1024


def ensure_students(course: Path, students: list[str]) -> set[tuple[str, str]]:
    """Create missing students before the workers start (what each worker would do, but once).

    Returns the (assignment, student) submissions the gradebook held before this run.
    """
    with gradebook.open(course, wait=True) as gb:
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

    with gradebook.open(course, wait=True) as gb:
        for j in stale:
            try:
                gb.remove_submission(j.aid, j.student)
            except MissingEntry:
                pass


@dataclass
class Job:
    aid: str
    student: str
    attempts: int = 0
    status: str = "waiting"  # waiting, running, done, error (nbgrader failed), killed, interrupted
    returncode: int | None = None
    seconds: float = 0.0
    output: str = ""
    log_path: Path | None = None
    started: float = 0.0
    stopping: bool = False
    worker: int | None = None  # pid of the worker process that graded it (last attempt)


@dataclass
class Result:
    jobs: list[Job]
    interrupted: bool
    seconds: float

    def having(self, *status: str) -> list[Job]:
        return [j for j in self.jobs if j.status in status]


@dataclass
class Worker:
    proc: subprocess.Popen
    errors: IO  # what the worker prints outside any submission (a failure to start, say)
    job: Job | None = None
    served: int = 0
    received: bytes = b""
    closed: bool = False  # no more work: its stdin is closed and it exits by itself

    def hand(self, job: Job, folder: Path) -> bool:
        """Give the worker `job`; False if it has died meanwhile (the job stays waiting)."""
        job.attempts += 1
        job.log_path = folder / f"{job.aid}.{job.student}.{job.attempts}.log"
        order = {"aid": job.aid, "student": job.student, "log": str(job.log_path)}
        try:
            self.proc.stdin.write((json.dumps(order, ensure_ascii=False) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            job.attempts -= 1
            return False
        job.status, job.started, job.worker, self.job = "running", time.monotonic(), self.proc.pid, job
        self.served += 1
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _spawn(course: Path) -> Worker:
    errors = tempfile.TemporaryFile()
    # A session of its own: the terminal's Ctrl-C reaches the parent only, which then
    # stops the workers itself (and never half-kills a worker that was about to finish).
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab.grading.commands.autograde_workers", "worker"], cwd=course,
                            env=course_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                            start_new_session=True)
    return Worker(proc, errors)


def read_log(path: Path, shown: int = LOG_SHOWN) -> str:
    """A submission's log, read and removed; a longer one keeps its beginning and its end.

    A kernel writing to its own stderr (os.write(2, ...)) writes into this log: a student's
    10 MB of junk must not scroll the instructor's terminal away.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size <= shown:
                data = f.read()
            else:
                head = f.read(shown // 2)
                f.seek(size - shown // 2)
                cut = f"\n……（这份提交的日志太长，中间 {size - shown} 字节没有显示）……\n"
                data = head + cut.encode("utf-8") + f.read()
        path.unlink()
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def _finish(course: Path, job: Job, returncode: int, worker_died: bool, worker_errors: str = "") -> None:
    """A submission is over: read its log and decide what became of it."""
    job.returncode = returncode
    job.seconds = time.monotonic() - job.started
    job.output = read_log(job.log_path)
    if worker_died and worker_errors.strip():
        job.output += "\n" + worker_errors
    if returncode == 0 and not worker_died:
        job.status = "done"
    elif job.stopping:
        job.status = "interrupted"
    elif worker_died:
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


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal; East Asian ambiguous characters counted wide, as a CJK terminal may."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def progress_line(done: int, total: int, elapsed: float, running: list[Job], now: float, columns: int = 80,
                  name_assignment: bool = True) -> str:
    """One line, at most `columns - 1` wide: a longer one would wrap, and "\r" redraws only its last row."""
    width = 20
    filled = width * done // max(total, 1)
    eta = _clock(elapsed / done * (total - done)) if done else "估算中"
    line = f"批改 {done}/{total} [{'#' * filled}{'.' * (width - filled)}] 已用 {_clock(elapsed)}，预计还需 {eta}"
    if running:
        slow = min(running, key=lambda j: j.started)
        which = f"（{slow.aid}）" if name_assignment else " "
        line += f"；最慢：{slow.student}{which}{now - slow.started:.0f} s"
    if display_width(line) <= columns - 1:
        return line
    while line and display_width(line) > columns - 3:  # room for "…", counted wide
        line = line[:-1]
    return line + "…"


def _columns(out: IO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80


STATUS_TEXT = {"done": "批改完成", "error": "nbgrader 报告了错误", "killed": "批改进程被终止，没有成绩",
               "interrupted": "已中断，没有成绩"}


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def grade(course: Path, pairs: list[tuple[str, str]], workers: int, out: IO | None = None,
          progress: bool | None = None, worker_jobs: int = WORKER_JOBS) -> Result:
    """Grade every (assignment, student) pair with at most `workers` worker processes at once.

    Each submission's log is printed in one piece when it is graded, headed by a line naming
    the student (so logs never interleave). A progress line with an ETA is drawn when `out`
    is a terminal. Ctrl-C (SIGINT) or SIGTERM stops the run: see the module docstring.
    """
    out = out or sys.stdout
    if progress is None:
        progress = out.isatty()
    before = ensure_students(course, sorted({s for _, s in pairs}))
    jobs = [Job(aid, sid) for aid, sid in pairs]
    queue = deque(jobs)
    pool: list[Worker] = []
    asked = [0]  # Ctrl-C presses
    stop_deadline = None

    def on_stop(_signum, _frame):
        asked[0] += 1

    # `kill PID` or `timeout` (SIGTERM) stops like Ctrl-C: finished grades kept, the rest named.
    old = {sig: signal.signal(sig, on_stop) for sig in STOP_SIGNALS} if _main_thread() else {}
    t0 = time.monotonic()
    finished = 0
    drawn = False
    logs = Path(tempfile.mkdtemp(prefix="rnnlab-grading-"))

    def report(job: Job) -> None:
        nonlocal finished, drawn
        if drawn:
            out.write("\r\x1b[K")
            drawn = False
        if job.status == "retry":
            out.write(f"── {job.aid} · {job.student}：成绩册正被其他进程占用，重新批改（第 {job.attempts + 1} 次）\n")
            job.status = "waiting"
            queue.appendleft(job)
            return
        finished += 1
        extra = ""
        if job.status == "killed":
            extra = f"（信号 {-job.returncode}）" if job.returncode < 0 else f"（退出码 {job.returncode}）"
        out.write(f"── [{finished}/{len(jobs)}] {job.aid} · {job.student}：{STATUS_TEXT[job.status]}{extra}"
                  f"（{job.seconds:.1f} s）\n")
        if job.output.strip():
            out.write(job.output.rstrip() + "\n")
        out.flush()

    try:
        while (queue and not asked[0]) or any(w.job for w in pool):
            if not asked[0]:
                for w in pool:
                    if w.job is None and not w.closed and w.served < worker_jobs and queue:
                        if w.hand(queue[0], logs):
                            queue.popleft()
                        else:
                            w.close()  # it died while idle: a new worker takes its place below
                live = [w for w in pool if not w.closed]
                while queue and len(live) < workers:
                    w = _spawn(course)
                    pool.append(w)
                    live.append(w)
                    if not w.hand(queue[0], logs):
                        w.close()
                        break
                    queue.popleft()
                for w in pool:
                    if w.job is None and (not queue or w.served >= worker_jobs):
                        w.close()  # idle with nothing left, or due for a fresh process: it exits
            readable = {w.proc.stdout.fileno(): w for w in pool if w.proc.stdout and not w.proc.stdout.closed}
            if readable:
                ready, _, _ = select.select(list(readable), [], [], TICK_S)
            else:
                ready = []
                time.sleep(TICK_S)
            for fd in ready:
                w = readable[fd]
                data = os.read(fd, 65536)
                if not data:
                    w.proc.stdout.close()
                    continue
                w.received += data
                while b"\n" in w.received and w.job is not None:
                    line, w.received = w.received.split(b"\n", 1)
                    answer = json.loads(line)
                    if "rc" not in answer:  # {"started": true}: its clock starts now, not at the worker's start-up
                        w.job.started = time.monotonic()
                        continue
                    job, w.job = w.job, None
                    _finish(course, job, int(answer["rc"]), worker_died=False)
                    report(job)
            for w in [w for w in pool if w.proc.poll() is not None and (w.proc.stdout is None or w.proc.stdout.closed
                                                                          or w.job is None)]:
                pool.remove(w)
                w.close()
                if w.proc.stdout and not w.proc.stdout.closed:
                    w.proc.stdout.close()
                w.errors.seek(0)
                errors = w.errors.read().decode("utf-8", errors="replace")
                w.errors.close()
                if w.job is not None:
                    job, w.job = w.job, None
                    _finish(course, job, w.proc.returncode, worker_died=True, worker_errors=errors)
                    report(job)
            now = time.monotonic()
            if asked[0]:
                if stop_deadline is None:
                    stop_deadline = now + GRACE_S
                    for w in pool:
                        if w.job is not None:
                            w.job.stopping = True
                            w.signal(signal.SIGINT)
                        w.close()
                elif asked[0] > 1 or now > stop_deadline:
                    for w in pool:
                        w.signal(signal.SIGKILL)
            if progress and (queue or any(w.job for w in pool)) and not asked[0]:
                running = [w.job for w in pool if w.job is not None]
                out.write("\r" + progress_line(finished, len(jobs), now - t0, running, now, _columns(out),
                                               name_assignment=len({j.aid for j in jobs}) > 1) + "\x1b[K")
                out.flush()
                drawn = True
    finally:
        for w in pool:  # idle workers exit on the closed stdin; anything still running is stopped
            w.close()
            try:
                w.proc.wait(timeout=GRACE_S if w.job is None else 0)
            except subprocess.TimeoutExpired:
                w.signal(signal.SIGKILL)
                w.proc.wait()
        if drawn:
            out.write("\r\x1b[K")
            out.flush()
        for sig, handler in old.items():
            signal.signal(sig, handler)
        shutil.rmtree(logs, ignore_errors=True)
    forget_unfinished(course, jobs, before)
    return Result(jobs, bool(asked[0]), time.monotonic() - t0)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# ---- the worker process --------------------------------------------------------------------

def _grade_one(order: dict, quiet: int, stderr: int) -> int:
    """`nbgrader autograde AID --student S --force` in this process; its output into order["log"]."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    with open(order["log"], "ab", buffering=0) as log:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        app = NbGraderApp.instance()
        try:
            # One argument (an id may start with "-"); ids with glob characters never come here (autograde.py).
            app.initialize(["autograde", order["aid"], f"--student={order['student']}", "--force"])
            app.start()
            return 0
        except NoStart:  # how a Jupyter app says its sub-command (autograde) ran to the end
            return 0
        except SystemExit as e:
            return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Exception:
            traceback.print_exc()
            return 1
        finally:
            try:
                app.reset()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(quiet, 1)
                os.dup2(stderr, 2)


def serve() -> int:
    """A worker: grade each order read from stdin (one JSON line); say {"started": true}, then {"rc": N}."""
    gradebook.wait_for_locks()
    import nbgrader.apps.nbgraderapp  # noqa: F401  (imported once, before the first order)

    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # between submissions nothing but answers reaches the parent
    stderr = os.dup(2)
    try:
        for line in sys.stdin.buffer:
            answers.write(json.dumps({"started": True}) + "\n")
            rc = _grade_one(json.loads(line), quiet, stderr)
            answers.write(json.dumps({"rc": rc}) + "\n")
    except KeyboardInterrupt:  # the parent's Ctrl-C: this submission is not graded
        return 130
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["worker"]:
        sys.exit("用法：python -m rnnlab.grading.commands.autograde_workers worker（由 python -m rnnlab.grading autograde 启动）")
    sys.exit(serve())
