"""What happened while grading a submission: one clear line for the instructor.

Each incident is logged through nbgrader's own log (so it shows in the CLI and in
formgrader's output) and appended to grading_incidents.jsonl at the course root,
which `python -m rnnlab.grading summary` reads.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

LOG_NAME = "grading_incidents.jsonl"


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
    entry = {"time": time.strftime("%Y-%m-%d %H:%M:%S"), "assignment": assignment, "student": student,
             "notebook": notebook, "what": text}
    path = (course_dir or Path.cwd()) / LOG_NAME
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry, ensure_ascii=False) + "\n")


def read(course_dir: Path, assignment: str | None = None) -> list[dict]:
    path = course_dir / LOG_NAME
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if assignment is None or e.get("assignment") == assignment:
            entries.append(e)
    return entries
