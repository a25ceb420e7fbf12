"""The training explorer's largest run: how long a student waits at the sliders' maxima.

    python benchmarks/training_explorer.py

For each cell type, one run at the largest T, hidden_size and step count (clipping on), with the
step function lecture 6.6 passes in. Reports the wall time and the training thread's CPU time.
Target (issue 22): at most 10 s on this 2-core machine. Writes benchmarks/training_explorer.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from torch import nn

from rnnlab.explorers import training as T
from rnnlab.explorers.training import TrainingExplorer

TARGET_SECONDS = 10.0


def train_step(parameters, optimizer, loss, max_norm):
    """The step of lecture 6.6 (the package never holds it)."""
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()


def largest_run(cell: str) -> dict:
    e = TrainingExplorer(step=train_step, cell=cell, seq_len=T.MAX_SEQ_LEN, hidden_size=T.MAX_HIDDEN,
                         steps=T.MAX_STEPS, clip=True)
    assert e.error is None and e.start(), e.error
    assert e.wait(120) and e.run.state == "done", e.run.state
    return {"cell": cell, "seq_len": T.MAX_SEQ_LEN, "hidden_size": T.MAX_HIDDEN, "steps": T.MAX_STEPS,
            "seconds": round(e.run.seconds, 2), "cpu_seconds": round(e.run.cpu_seconds, 2)}


def main() -> int:
    rows = [largest_run(cell) for cell in ("RNN", "GRU", "LSTM")]
    for r in rows:
        flag = "" if r["seconds"] <= TARGET_SECONDS else f"   <-- over the {TARGET_SECONDS:.0f} s target"
        print(f"{r['cell']:4s} T={r['seq_len']} H={r['hidden_size']} {r['steps']} 步: "
              f"{r['seconds']:5.2f} s（训练线程 CPU {r['cpu_seconds']:.2f} s）{flag}")
    out = {"target_seconds": TARGET_SECONDS, "runs": rows}
    (Path(__file__).parent / "training_explorer.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0 if all(r["seconds"] <= TARGET_SECONDS for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
