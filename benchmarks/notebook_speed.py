"""Time of each notebook, as a ratio to the floor: a fresh kernel that only imports torch.

    python benchmarks/notebook_speed.py [--repeat 3]

Each measurement starts a new kernel and runs every cell (as a student's "Restart and Run
All"); the median of --repeat runs is reported. Target: every ratio at most 3 (at most 2 for the lectures of chapter 2 on),
except the lectures that train (TRAINING_SECONDS): they are held to an absolute budget on this 2-core machine.
Writes benchmarks/notebook_speed.json next to this file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from rnnlab import chapters

REPO = Path(__file__).resolve().parents[1]
# Lectures that train models: a budget in seconds instead of a ratio (issue 22: at most 30 s).
TRAINING_SECONDS = {"notebooks/06_training.ipynb": 30.0}


def within_target(row: dict) -> bool:
    budget = TRAINING_SECONDS.get(row["notebook"])
    return row["seconds"] <= budget if budget else row["ratio"] <= 3


def run_once(nb: nbformat.NotebookNode, cwd: Path) -> float:
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # fresh copy: outputs of one run don't carry over
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return time.perf_counter() - start


def median_time(nb, cwd, repeat):
    return statistics.median(run_once(nb, cwd) for _ in range(repeat))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    floor_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
    floor = median_time(floor_nb, REPO, args.repeat)
    rows = []
    lectures = [REPO / "notebooks" / name for name in chapters.lectures()]
    solutions = [REPO / "solutions" / aid / f"{aid}.ipynb" for aid in chapters.assignments()]
    for path in lectures + solutions:
        t = median_time(nbformat.read(str(path), as_version=4), path.parent, args.repeat)
        rows.append({"notebook": str(path.relative_to(REPO)), "seconds": round(t, 2), "ratio": round(t / floor, 2)})

    print(f"floor (fresh kernel + import torch): {floor:.2f} s")
    for r in rows:
        budget = TRAINING_SECONDS.get(r["notebook"])
        target = f"the {budget:.0f} s budget" if budget else "the 3x target"
        flag = "" if within_target(r) else f"   <-- over {target}"
        print(f"{r['notebook']:<45} {r['seconds']:6.2f} s  {r['ratio']:4.2f}x{flag}")
    out = {"floor_seconds": round(floor, 2), "repeat": args.repeat, "notebooks": rows}
    (Path(__file__).parent / "notebook_speed.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0 if all(map(within_target, rows)) else 1


if __name__ == "__main__":
    sys.exit(main())
