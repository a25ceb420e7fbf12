"""What happened while grading a submission: one clear line for the instructor.

Each incident is logged through nbgrader's own log (so it shows in the CLI and in
formgrader's output) and appended to grading_incidents.jsonl at the course root,
which `python -m rnnlab.grading summary` reads.

Every entry carries the run that recorded it: `RNNLAB_RUN_ID` when the course CLI started the
run (all its workers share one), otherwise one id per nbgrader process. The autograde table
counts only the current run's entries, the summary each student's latest run: re-running
autograde does not pile up old lines.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

LOG_NAME = "grading_incidents.jsonl"
RUN_ENV = "RNNLAB_RUN_ID"


def new_run_id() -> str:
    """A run id that sorts by start time (one per autograde command)."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}.{time.time_ns() % 10**9:09d}-{os.getpid()}"


_PROCESS_RUN = new_run_id()


def current_run() -> str:
    return os.environ.get(RUN_ENV) or _PROCESS_RUN


def report(log, resources: dict, text: str, course_dir: Path | None = None) -> None:
    nbg = resources.get("nbgrader", {}) if resources else {}
    record(nbg.get("assignment", "?"), nbg.get("student", "?"), text, log=log,
           notebook=nbg.get("notebook"), course_dir=course_dir)


def record(assignment: str, student: str, text: str, log=None, notebook: str | None = None,
           course_dir: Path | None = None) -> None:
    where = f"{assignment}/{notebook}" if notebook else assignment
    line = f"[rnnlab] 学生 {student}（{where}）：{text}"
    if log is not None:
        log.warning(line)
    entry = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "run": current_run(), "assignment": assignment, "student": student,
             "notebook": notebook, "what": text}
    path = (course_dir or Path.cwd()) / LOG_NAME
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def read(course_dir: Path, assignment: str | None = None, run: str | None = None) -> list[dict]:
    """The entries recorded (for `assignment`; by the run `run` only, when given)."""
    path = course_dir / LOG_NAME
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if (assignment is None or e.get("assignment") == assignment) and (run is None or e.get("run") == run):
            entries.append(e)
    return entries


def latest_per_student(entries: list[dict], last_run: dict[str, str] | None = None) -> dict[str, list[dict]]:
    """Each student's entries of one run: `last_run[student]` when known (the run that last graded
    them, possibly with no entry at all), else the latest run among their entries."""
    known = dict(last_run or {})
    latest: dict[str, str] = {}
    for e in entries:
        sid, run = e.get("student"), e.get("run") or ""
        latest[sid] = max(latest.get(sid, ""), run)
    latest.update(known)
    out: dict[str, list[dict]] = {}
    for e in entries:
        if (e.get("run") or "") == latest.get(e.get("student")):
            out.setdefault(e["student"], []).append(e)
    return out
