"""Parallel autograde: a class graded sequentially vs with --jobs 2, through the instructor's CLI.

    python benchmarks/parallel_autograde.py [--students 30] [--jobs 2]

A class of N submissions of a1_rnncell (correct, wrong and broken answers, fixed pattern),
graded twice in two copies of one course: `python -m rnnlab.grading autograde a1_rnncell
--jobs 1`, then `--jobs J`. Floor: a fresh sandboxed kernel (SandboxedKernelManager, killed
at the end, as grading does) that starts and runs `import torch`, what any grading pays per
submission; measured alone, and J at once (the same floor when J kernels share the machine, as J workers do).
Reports the speed-up, the per-submission cost as a ratio to both floors, and a projection for
300 students x 5 assignments on this machine. Writes benchmarks/parallel_autograde.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from autograde_speed import WRONG_STEP  # noqa: E402
from course import make_course, submit  # noqa: E402
from rnnlab.grading.course import course_env  # noqa: E402

# One sandboxed kernel that starts and imports torch, timed inside its own process.
FLOOR = """
import sys, tempfile, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from rnnlab.grading.plugins.sandbox import SandboxedKernelManager
with tempfile.TemporaryDirectory() as work:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=SandboxedKernelManager,
                   shutdown_kernel="immediate", resources={"metadata": {"path": work}}).execute()
    print(time.perf_counter() - start)
"""


def floor_seconds(at_once: int, repeat: int = 3) -> float:
    """Median time of a sandboxed kernel that starts and imports torch, `at_once` of them running together."""
    times = []
    for _ in range(repeat):
        procs = [subprocess.Popen([sys.executable, "-c", FLOOR], env=course_env(), stdout=subprocess.PIPE, text=True)
                 for _ in range(at_once)]
        times += [float(p.communicate()[0]) for p in procs]
    return statistics.median(times)

AID = "a1_rnncell"
BROKEN = "def rnn_cell_step(x_t, h_prev, *args, **kwargs):\n    raise NotImplementedError()\n"


# The CLI's line for each graded submission, with the seconds its worker spent on it.
GRADED = re.compile(r"^── \[\d+/\d+\] " + AID + r" · \S+：批改完成（([\d.]+) s）$", re.M)


def grade(course: Path, jobs: int) -> tuple[float, list[float]]:
    """Wall time of the whole command, and each submission's own time (worker start-up excluded)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rnnlab.grading", "autograde", AID, "--jobs", str(jobs)],
                          cwd=course, env=course_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return wall, [float(t) for t in GRADED.findall(proc.stdout)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    floor = floor_seconds(1)
    floor_loaded = floor_seconds(args.jobs)
    with tempfile.TemporaryDirectory() as tmp:
        template = make_course(REPO, Path(tmp) / "template")
        for i in range(args.students):
            answers = {0: {}, 1: {}, 2: {}, 3: {"rnn_cell_step": WRONG_STEP}, 4: {"rnn_cell_step": BROKEN}}[i % 5]
            submit(template, f"s{i:03d}", AID, answers=answers)
        seq_course = Path(shutil.copytree(template, Path(tmp) / "sequential"))
        par_course = Path(shutil.copytree(template, Path(tmp) / "parallel"))
        sequential, seq_each = grade(seq_course, 1)
        parallel, par_each = grade(par_course, args.jobs)

    n, jobs = args.students, args.jobs
    assert len(seq_each) == len(par_each) == n
    each_seq, each_par = statistics.mean(seq_each), statistics.mean(par_each)
    fixed = parallel - sum(par_each) / jobs  # start-up and the final table: once per command
    projection = fixed + 300 * 5 * each_par / jobs
    result = {
        "cores": os.cpu_count(), "students": n, "jobs": jobs,
        "floor_seconds": round(floor, 2), f"floor_seconds_{jobs}_at_once": round(floor_loaded, 2),
        "sequential_seconds": round(sequential, 1), "parallel_seconds": round(parallel, 1),
        "speedup": round(sequential / parallel, 2),
        "seconds_per_submission": {"sequential": round(each_seq, 2), f"parallel_{jobs}_at_once": round(each_par, 2)},
        "ratio_to_floor": {"sequential": round(each_seq / floor, 2), "parallel": round(each_par / floor, 2),
                           f"parallel_to_floor_{jobs}_at_once": round(each_par / floor_loaded, 2)},
        "fixed_seconds_per_command": round(fixed, 1),
        "projection_300_students_x_5_assignments_minutes": round(projection / 60, 1),
    }
    print(f"floor (sandboxed kernel start + import torch): {floor:.2f} s alone, {floor_loaded:.2f} s "
          f"with {jobs} at once; {os.cpu_count()} cores")
    print(f"{n} submissions of {AID}: sequential {sequential:.1f} s, --jobs {jobs} {parallel:.1f} s "
          f"-> {result['speedup']}x (target at least 1.7x on 2 cores)")
    print(f"per submission (as the CLI reports it, worker start-up excluded): sequential {each_seq:.2f} s = "
          f"{each_seq / floor:.2f}x the floor; with {jobs} at once {each_par:.2f} s = {each_par / floor:.2f}x "
          f"the floor alone, {each_par / floor_loaded:.2f}x the floor with {jobs} kernels at once (target 1.2x)")
    print(f"once per command (start-up, workers' imports, the table): {fixed:.1f} s")
    print(f"projection, 300 students x 5 assignments with --jobs {jobs}: {projection / 60:.0f} min")
    (HERE / "parallel_autograde.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
