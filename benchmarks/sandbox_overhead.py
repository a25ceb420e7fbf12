"""What the grading sandbox costs: sandboxed against unsandboxed autograding, as ratios.

    python benchmarks/sandbox_overhead.py [--repeat 5]

Two measures, each the median of `--repeat` runs, the two modes alternating so that a
busy moment of the machine hits both alike:
- kernel: a fresh kernel that starts and runs `import torch`, with nbclient, through
  SandboxedKernelManager (bubblewrap) or jupyter_client's plain AsyncKernelManager;
- submission: `nbgrader autograde AID --student S --force` of one honest submission with
  the course's configuration, c.GuardedExecute.sandbox True or False.
Writes benchmarks/sandbox_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from course import make_course, submit  # noqa: E402  (the tests' real-course helpers)
from rnnlab.grading.plugins import sandbox  # noqa: E402
from rnnlab.grading.course import run_nbgrader  # noqa: E402

AID = "a1_rnncell"


def kernel_seconds(manager, workdir: Path) -> float:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=manager,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return time.perf_counter() - start


def submission_seconds(course: Path, sandboxed: bool) -> float:
    start = time.perf_counter()
    run_nbgrader(course, "autograde", AID, "--student", "solo", "--force",
                 f"--GuardedExecute.sandbox={sandboxed}")
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    sandbox.check_available()

    times = {"kernel": {True: [], False: []}, "submission": {True: [], False: []}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp) / "work"
        workdir.mkdir()
        course = make_course(REPO, Path(tmp) / "course")
        submit(course, "solo", AID)
        run_nbgrader(course, "db", "student", "add", "solo")
        for _ in range(args.repeat):
            for sandboxed in (True, False):
                manager = sandbox.SandboxedKernelManager if sandboxed else AsyncKernelManager
                times["kernel"][sandboxed].append(kernel_seconds(manager, workdir))
                times["submission"][sandboxed].append(submission_seconds(course, sandboxed))

    result = {"repeat": args.repeat}
    for what, by_mode in times.items():
        on, off = statistics.median(by_mode[True]), statistics.median(by_mode[False])
        result[what] = {"sandboxed_seconds": round(on, 2), "unsandboxed_seconds": round(off, 2),
                        "ratio": round(on / off, 2)}
        print(f"{what}: sandboxed {on:.2f} s, unsandboxed {off:.2f} s, ratio {on / off:.2f}")
    (HERE / "sandbox_overhead.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
