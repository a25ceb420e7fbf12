"""Autograde speed: one submission as a ratio to the floor, and a class of 30 students.

    python benchmarks/autograde_speed.py [--students 30]

Floor: a fresh kernel that starts and runs `import torch` (what any grading must pay).
Per submission: `nbgrader autograde AID --student S` for one honest submission, run the
way an instructor runs it (the nbgrader app starts, the course config with its guards
loads, the notebook executes). Class: one `nbgrader autograde AID` over N students x every
assignment (a mix of honest and wrong answers). Writes benchmarks/autograde_speed.json.
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
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from course import autograde, make_course, submit  # noqa: E402  (the tests' real-course helpers)
from rnnlab.grading.course import assignment_ids, run_nbgrader  # noqa: E402

WRONG_STEP = ('def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
              "    return torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T)\n")


def floor_seconds(repeat: int = 3) -> float:
    def once():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
        start = time.perf_counter()
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        return time.perf_counter() - start
    return statistics.median(once() for _ in range(repeat))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=30)
    args = parser.parse_args(argv)

    floor = floor_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        course = make_course(REPO, Path(tmp) / "course")
        aids = assignment_ids(course)

        singles = []
        for aid in aids:
            submit(course, "solo", aid)
            run_nbgrader(course, "db", "student", "add", "solo")
            times = []
            for _ in range(3):
                start = time.perf_counter()
                run_nbgrader(course, "autograde", aid, "--student", "solo", "--force")
                times.append(time.perf_counter() - start)
            singles.append({"assignment": aid, "seconds": round(statistics.median(times), 2),
                            "ratio_to_floor": round(statistics.median(times) / floor, 2)})

        students = [f"s{i:03d}" for i in range(args.students)]
        for i, sid in enumerate(students):
            for aid in aids:
                wrong = {"rnn_cell_step": WRONG_STEP} if (i % 5 == 4 and aid == "a1_rnncell") else {}
                submit(course, sid, aid, answers=wrong)
        start = time.perf_counter()
        for aid in aids:
            proc = autograde(course, aid, students)
            assert proc.returncode == 0, proc.stderr[-2000:]
        wall = time.perf_counter() - start

    result = {"floor_seconds": round(floor, 2), "single_submission": singles,
              "class": {"students": args.students, "assignments": aids, "wall_seconds": round(wall, 1),
                        "seconds_per_submission": round(wall / (args.students * len(aids)), 2)}}
    print(f"floor (kernel start + import torch): {floor:.2f} s")
    for s in singles:
        print(f"one submission of {s['assignment']}: {s['seconds']} s = {s['ratio_to_floor']}x the floor "
              "(includes nbgrader's own start-up)")
    c = result["class"]
    print(f"class of {c['students']} students x {len(aids)} assignment(s): {c['wall_seconds']} s "
          f"({c['seconds_per_submission']} s per submission)")
    (HERE / "autograde_speed.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
