"""Parallel autograde: a class graded sequentially vs with --jobs 2, through the instructor's CLI.

    python benchmarks/parallel_autograde.py [--students 30] [--jobs 2]

A class of N submissions of a1_rnncell (correct, wrong and broken answers, fixed pattern),
graded twice in two copies of one course: `python -m rnnlab.grading autograde a1_rnncell
--jobs 1`, then `--jobs J`. Floor: a sandboxed-like fresh kernel that starts and imports torch
(what any grading pays per submission). Reports the speed-up, the per-submission cost as a
ratio to the floor, and a projection for 300 students x 5 assignments on this machine.
Writes benchmarks/parallel_autograde.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

from autograde_speed import WRONG_STEP, floor_seconds  # noqa: E402
from course import make_course, submit  # noqa: E402
from rnnlab.grading.nbgrader_cli import course_env  # noqa: E402

AID = "a1_rnncell"
BROKEN = "def rnn_cell_step(x_t, h_prev, *args, **kwargs):\n    raise NotImplementedError()\n"


def grade(course: Path, jobs: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rnnlab.grading", "autograde", AID, "--jobs", str(jobs)],
                          cwd=course, env=course_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    floor = floor_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        template = make_course(REPO, Path(tmp) / "template")
        for i in range(args.students):
            answers = {0: {}, 1: {}, 2: {}, 3: {"rnn_cell_step": WRONG_STEP}, 4: {"rnn_cell_step": BROKEN}}[i % 5]
            submit(template, f"s{i:03d}", AID, answers=answers)
        seq_course = Path(shutil.copytree(template, Path(tmp) / "sequential"))
        par_course = Path(shutil.copytree(template, Path(tmp) / "parallel"))
        sequential = grade(seq_course, 1)
        parallel = grade(par_course, args.jobs)

    n = args.students
    per_sub_par = parallel * args.jobs / n  # core-seconds per submission when running in parallel
    projection = 300 * 5 * parallel / n
    result = {
        "cores": os.cpu_count(), "floor_seconds": round(floor, 2), "students": n, "jobs": args.jobs,
        "sequential_seconds": round(sequential, 1), "parallel_seconds": round(parallel, 1),
        "speedup": round(sequential / parallel, 2),
        "seconds_per_submission": {"sequential": round(sequential / n, 2), "parallel_wall": round(parallel / n, 2),
                                   "parallel_per_worker": round(per_sub_par, 2)},
        "ratio_to_floor": {"sequential": round(sequential / n / floor, 2), "parallel_per_worker": round(per_sub_par / floor, 2)},
        "projection_300_students_x_5_assignments_minutes": round(projection / 60, 1),
    }
    print(f"floor (kernel start + import torch): {floor:.2f} s; {os.cpu_count()} cores")
    print(f"{n} submissions of {AID}: sequential {sequential:.1f} s, --jobs {args.jobs} {parallel:.1f} s "
          f"-> {result['speedup']}x (target at least 1.7x on 2 cores)")
    print(f"per submission: sequential {sequential / n:.2f} s = {result['ratio_to_floor']['sequential']}x the floor; "
          f"in parallel {per_sub_par:.2f} s per worker = {result['ratio_to_floor']['parallel_per_worker']}x")
    print(f"projection, 300 students x 5 assignments with --jobs {args.jobs}: {projection / 60:.0f} min "
          f"(sequential: {300 * 5 * sequential / n / 60:.0f} min)")
    (HERE / "parallel_autograde.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
