"""A real nbgrader course in a temporary folder: copy, regenerate, submit, autograde, read grades."""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from rnnlab.grading.plugins import sandbox
from rnnlab.grading.course import course_env, run_nbgrader
from rnnlab.grading.commands.regenerate import regenerate

from nbtools import cell_by_id, read

SOLUTION_RE = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M)


def sandbox_missing() -> str | None:
    """Why grading kernels cannot be sandboxed on this machine (None: they can)."""
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailable as e:
        return str(e)
    return None


_TEMPLATES: dict[Path, Path] = {}


def regenerated_course(repo: Path) -> Path:
    """The course's inputs (config and source/) copied and regenerated once per test run.

    Every test that needs a course gets a copy of it (make_course). Regenerating runs every
    solution notebook (about a minute), so it happens once for the whole run, not once per xdist
    worker: the first worker to ask builds it in the run's temporary folder (conftest.py gives each
    run its own), under a lock; the others wait for it and use the same folder.
    """
    if repo not in _TEMPLATES:
        key = hashlib.sha256(str(Path(repo).resolve()).encode()).hexdigest()[:12]
        shared = Path(tempfile.gettempdir()) / f"rnnlab-course-{key}"
        with open(f"{shared}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
            if not (shared / ".regenerated").is_file():
                shutil.rmtree(shared, ignore_errors=True)  # a half-built one, from a worker that died
                shared.mkdir()
                shutil.copy(repo / "nbgrader_config.py", shared)
                if sandbox_missing():
                    with open(shared / "nbgrader_config.py", "a", encoding="utf-8") as f:
                        f.write("\nc.GuardedExecute.sandbox = False  # tests on a machine without bubblewrap\n")
                shutil.copytree(repo / "source", shared / "source")
                regenerate(shared)
                (shared / ".regenerated").touch()
        _TEMPLATES[repo] = shared
    return _TEMPLATES[repo]


def make_course(repo: Path, dest: Path) -> Path:
    """A fresh, regenerated course in `dest`: a copy of the session's regenerated course.

    Grading there is sandboxed as in the repo; on a machine without bubblewrap the copy
    opts out (conftest.py says so in the report) and only test_grading_sandbox.py skips.
    """
    shutil.copytree(regenerated_course(repo), dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".regenerated"))
    return dest


def reference_answer(course: Path, aid: str, grade_id: str) -> str:
    """The source's full solution cell with its delimiters removed (the reference answer)."""
    src = read(course / "source" / aid / f"{aid}.ipynb")
    text = cell_by_id(src, grade_id).source
    return SOLUTION_RE.sub(lambda m: m.group(1), text)


def submit(course: Path, student: str, aid: str, answers: dict[str, str] | None = None,
           notebook: str | None = None) -> Path:
    """Write a submission: the release notebook with every solution cell (code or written) filled in.

    `answers` maps a solution cell's grade_id to the code the student wrote there;
    cells not named get the reference answer; a value of None leaves the stub.
    """
    answers = answers or {}
    nb = read(course / "release" / aid / f"{aid}.ipynb")
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution"):
            continue
        gid = meta["grade_id"]
        code = answers.get(gid, reference_answer(course, aid, gid))
        if code is not None:
            cell.source = code
    out = course / "submitted" / student / aid / (notebook or f"{aid}.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(out))
    return out


def autograde(course: Path, aid: str, students: list[str]):
    """`nbgrader autograde AID --force` over every submission of `students` (autograde adds unknown students)."""
    missing = [s for s in students if not (course / "submitted" / s / aid).is_dir()]
    assert not missing, f"没有这些学生的提交：{missing}"
    return run_nbgrader(course, "autograde", aid, "--force")


def grades(course: Path, aid: str, student: str) -> dict[str, float | None]:
    """grade_id -> auto score (None: needs a manual grade) for one student's notebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(aid, aid, student)
        return {g.name: g.auto_score for g in nb.grades}


def max_points(course: Path, aid: str) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {g.name: g.max_score for g in gb.find_notebook(aid, aid).grade_cells}


# A Formgrader button in a process of its own: nbgrader's API built as formgrader builds it
# (server_extensions/formgrader: formgrader.py and base.py), with the course's nbgrader_config.py.
_FORMGRADER = """
import json, os, sys
from nbgrader.apps.api import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

fg = FormgradeExtension()
fg.root_dir = os.getcwd()
fg.initialize([])
fg.coursedir.parent.load_config_file()
api = NbGraderAPI(fg.coursedir, Authenticator(parent=fg), parent=fg)
print(json.dumps(getattr(api, sys.argv[1])(*sys.argv[2:])))
"""


def formgrader(course: Path, method: str, *args: str, env: dict | None = None) -> dict:
    """What Formgrader's button for NbGraderAPI.`method`(*args) returns (success, log, error), run in `course`."""
    proc = subprocess.run([sys.executable, "-c", _FORMGRADER, method, *args], cwd=course, env=env or course_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout.splitlines()[-1])
