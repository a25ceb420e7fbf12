"""Forty students at once on the course hub: the load test of tests/test_hub.py and benchmarks/hub_load.py.

    crowd = class_at_once(hub, hub.students + hub.crowd)         # the assignment "warmup"

The instructor releases a one-question warm-up assignment (`warmup`, written into the course's
source/ here: what is loaded is the hub, the exchange and the instructor's commands, so the
question needs no torch; grading the course's own assignments at scale is test_parallel_autograde's
and benchmarks/autograde_speed's). Then every student at the same time, each through their own
server behind the hub's proxy (nbgrader's assignment_list handlers and the contents API, the calls
the Assignments panel makes): fetch, write an answer signed with their name, submit. The instructor
collects, grades with `rnnlab.grading autograde --jobs 2`, generates and releases feedback; every
student at the same time fetches their feedback and reads it. Each request's wall time is kept, per
action, for the response-time benchmark.
"""

from __future__ import annotations

import json
import os
import pwd
import statistics
import time
import urllib.error
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import nbformat

from hub import CourseHub

AID = "warmup"
NOTEBOOK = f"{AID}/{AID}.ipynb"
ANSWER_ID = "author"


def source_notebook() -> nbformat.NotebookNode:
    """The warm-up: write a function that returns your name (1 point)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

    def meta(**kw):
        return {"nbgrader": {"schema_version": 3, "locked": False, "solution": False, "grade": False, **kw}}

    nb.cells = [
        nbformat.v4.new_markdown_cell("# 热身：交一次作业\n\n写一个函数 `author()`，返回你的名字（字符串）。",
                                      metadata=meta(locked=True, grade_id="intro")),
        nbformat.v4.new_code_cell("def author():\n    ### BEGIN SOLUTION\n    return \"参考答案\"\n    ### END SOLUTION",
                                  metadata=meta(solution=True, grade_id=ANSWER_ID)),
        nbformat.v4.new_code_cell("name = author()\nassert isinstance(name, str) and name.strip(), \"author() 要返回你的名字\"\n"
                                  "print(\"作者：\", name)",
                                  metadata=meta(locked=True, grade=True, grade_id="check_author", points=1)),
    ]
    return nb


def signature(user: str) -> str:
    return f"{user} 的名字"


def write_source(hub: CourseHub, aid: str = AID) -> None:
    """source/<aid>/<aid>.ipynb in the instructor's course, owned by the grader account as the rest."""
    folder = hub.course / "source" / aid
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), str(folder / f"{aid}.ipynb"))
    grader = pwd.getpwnam(hub.grader)
    for path in (folder, folder / f"{aid}.ipynb"):
        os.chown(path, grader.pw_uid, grader.pw_gid)


def release(hub: CourseHub, aid: str = AID) -> None:
    """Write the assignment's source, generate it and release it to the exchange."""
    write_source(hub, aid)
    hub.instructor("-m", "nbgrader", "generate_assignment", aid, "--force")
    hub.instructor("-m", "nbgrader", "release_assignment", aid, "--force")


@dataclass
class Crowd:
    students: list[str]
    seconds: dict[str, float] = field(default_factory=dict)       # wall time of each phase
    latency: dict[str, list[float]] = field(default_factory=dict)  # action -> seconds of each request
    submitted: dict[str, str] = field(default_factory=dict)        # student -> timestamp of their submission
    feedback: dict[str, str] = field(default_factory=dict)         # student -> the feedback page they read
    autograde_out: str = ""

    def timed(self, action: str, fn, *args, **kwargs):
        t = time.monotonic()
        out = fn(*args, **kwargs)
        self.latency.setdefault(action, []).append(time.monotonic() - t)
        return out

    def summary(self) -> dict[str, dict[str, float]]:
        """action -> count, median, 95th percentile and maximum of its requests' wall time (seconds)."""
        out = {}
        for action, values in self.latency.items():
            v = sorted(values)
            out[action] = {"n": len(v), "median": round(statistics.median(v), 3),
                           "p95": round(v[min(len(v) - 1, int(0.95 * len(v)))], 3), "max": round(v[-1], 3)}
        return out


def _answer(crowd: Crowd, hub: CourseHub, user: str, aid: str) -> None:
    crowd.timed("fetch", hub.assignment_action, user, "fetch", aid)
    nb = crowd.timed("open notebook", hub.server, user, f"api/contents/{aid}/{aid}.ipynb")["content"]
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == ANSWER_ID)
    cell["source"] = f"def author():\n    return {json.dumps(signature(user), ensure_ascii=False)}\n"
    crowd.timed("save notebook", hub.server, user, f"api/contents/{aid}/{aid}.ipynb", "PUT",
                {"type": "notebook", "format": "json", "content": nb})
    out = crowd.timed("submit", hub.assignment_action, user, "submit", aid)
    crowd.submitted[user] = [s for a in out["value"] if a["status"] == "submitted" for s in a["submissions"]][-1]["timestamp"]


def _read_feedback(crowd: Crowd, hub: CourseHub, user: str, aid: str) -> None:
    crowd.timed("fetch feedback", hub.assignment_action, user, "fetch_feedback", aid)
    listing = crowd.timed("list feedback", hub.server, user, f"api/contents/{aid}/feedback")["content"]
    (folder,) = [item["path"] for item in listing if item["type"] == "directory"]
    page = crowd.timed("read feedback", hub.server, user,
                       f"api/contents/{urllib.parse.quote(folder)}/{aid}.html?type=file&format=text")
    crowd.feedback[user] = page["content"]


def _all_at_once(hub: CourseHub, students: list[str], fn) -> None:
    """fn(student) for every student at the same time. After all finished, a failure is raised with how many
    failed, the first one's HTTP answer and the hub's log (the students' servers log there too): a rare
    refusal under load must say where it came from."""
    with ThreadPoolExecutor(max_workers=len(students)) as pool:
        futures = {s: pool.submit(fn, s) for s in students}
    failed = {s: f.exception() for s, f in futures.items() if f.exception() is not None}
    if failed:
        student, error = next(iter(failed.items()))
        answer = error.read().decode(errors="replace")[:2000] if isinstance(error, urllib.error.HTTPError) else ""
        raise AssertionError(f"{len(failed)} of {len(students)} students failed, first {student}: {error!r} {answer}\n"
                             f"hub log:\n{hub.log_tail(150)}") from error


def class_at_once(hub: CourseHub, students: list[str], aid: str = AID) -> Crowd:
    crowd = Crowd(students)
    t = time.monotonic()

    def lap(name):
        nonlocal t
        now = time.monotonic()
        crowd.seconds[name] = round(now - t, 1)
        t = now

    release(hub, aid)
    lap("release")
    _all_at_once(hub, students, lambda s: _answer(crowd, hub, s, aid))
    lap("fetch, answer, submit")
    hub.instructor("-m", "nbgrader", "collect", aid)
    lap("collect")
    crowd.autograde_out = hub.instructor("-m", "rnnlab.grading", "autograde", aid, "--jobs", "2").stdout
    lap("autograde --jobs 2")
    hub.instructor("-m", "nbgrader", "generate_feedback", aid)
    hub.instructor("-m", "nbgrader", "release_feedback", aid)
    lap("generate and release feedback")
    _all_at_once(hub, students, lambda s: _read_feedback(crowd, hub, s, aid))
    lap("fetch and read feedback")
    return crowd
