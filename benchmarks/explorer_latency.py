"""Module explorer: update latency and peak memory, against building the module for real.

    python benchmarks/explorer_latency.py

Latency: one `ModuleExplorer.set(...)` (shape model + HTML + parameter check on the
meta device), over a grid of modules up to hidden_size 8192, num_layers 8,
bidirectional. Targets: median < 15 ms, p95 < 50 ms.
Memory: peak RSS growth of one update, in a fresh process per configuration, next to the
growth from building the same module on the CPU (the explorer's must stay flat).
Writes benchmarks/explorer_latency.json.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

GRID = [
    dict(module=m, input_size=str(i), hidden_size=str(h), num_layers=layers, bidirectional=bi)
    for m, i, h, layers, bi in itertools.product(
        ["RNN", "LSTM", "GRU", "LSTMCell"], [64, 1024], [16, 256, 2048, 8192], [1, 4, 8], [False, True])
]

MEMORY_PROBE = r"""
import json, resource, sys, warnings
mode, module, hidden, layers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import torch
from rnnlab.explorers.module import ModuleExplorer
e = ModuleExplorer(module="RNN", input_size=8, hidden_size=8)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if mode == "explorer":
    e.set(module=module, input_size=str(hidden), hidden_size=str(hidden), num_layers=layers, bidirectional=True)
    assert e.error is None, e.error
else:
    warnings.simplefilter("ignore")
    m = getattr(torch.nn, module)(hidden, hidden, num_layers=layers, bidirectional=True)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_growth_mib": round((after - before) / 1024, 1)}))
"""


def latency() -> dict:
    from rnnlab.explorers.module import ModuleExplorer

    e = ModuleExplorer()
    e.set(**GRID[0])  # warm-up: first meta construction pays one-off dispatch costs
    times = []
    for _ in range(3):
        for cfg in GRID:
            start = time.perf_counter()
            e.set(**cfg)
            times.append((time.perf_counter() - start) * 1000)
            assert e.error is None, (cfg, e.error)
    times.sort()
    return {"updates": len(times), "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2), "max_ms": round(times[-1], 2)}


def memory() -> list[dict]:
    rows = []
    for module, hidden, layers in [("LSTM", 256, 2), ("LSTM", 1024, 2), ("LSTM", 2048, 2), ("LSTM", 8192, 8)]:
        row = {"module": f"{module}({hidden}, {hidden}, num_layers={layers}, bidirectional=True)"}
        for mode in ("explorer", "real_cpu"):
            if mode == "real_cpu" and hidden * hidden * layers > 2048 * 2048 * 2:
                row[mode] = "not built (would need > 2 GiB)"
                continue
            out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, mode, module, str(hidden), str(layers)],
                                 capture_output=True, text=True, check=True)
            row[mode] = json.loads(out.stdout.strip().splitlines()[-1])["peak_growth_mib"]
        rows.append(row)
    return rows


def main() -> int:
    result = {"latency": latency(), "memory_mib": memory()}
    lat = result["latency"]
    print(f"update latency over {lat['updates']} updates: median {lat['median_ms']} ms, "
          f"p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms (targets: 15 / 50 ms)")
    print("peak RSS growth of one update (MiB): explorer vs building the module on the CPU")
    for row in result["memory_mib"]:
        print(f"  {row['module']:<55} explorer {row['explorer']!s:>6}   real {row['real_cpu']}")
    (HERE / "explorer_latency.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0 if lat["median_ms"] < 15 and lat["p95_ms"] < 50 else 1


if __name__ == "__main__":
    sys.exit(main())
