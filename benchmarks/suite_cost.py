"""What `make test` costs, test file by test file: the CPU seconds of every process each file starts.

    python benchmarks/suite_cost.py [--workers N]        # as root, like CI (the hub and PostgreSQL tests)

Runs the suite as `make test` does (pytest -n N --dist loadfile --no-loadscope-reorder, N = --workers) while a
thread here reads /proc five times a second: every process's CPU time, its parent and its command line,
and the machine's busy time. tests/conftest.py writes which test file each xdist worker is in, and when
(RNNLAB_TEST_TIMELINE); a process is charged to the file its worker was running when it appeared
(a kernel, an nbgrader command, Chromium, a student's server under the hub: all descendants of a
worker). The workers' own CPU (in-process tests, fixtures, the Python side of browsers and crowds) is
read as a series and charged to the file each worker ran at that moment. Processes that detach
(PostgreSQL's server) are listed apart.

The floor is the machine's busy CPU seconds divided by the cores: no scheduling gets the suite under
it. Wall time over floor is how busy the run kept the cores. Writes benchmarks/suite_cost.json.
A process shorter than a sampling interval is missed (a few seconds in all); the sampler's own cost
is reported.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HZ = os.sysconf("SC_CLK_TCK")
INTERVAL = 0.2
BUDGET_S = 8 * 60
BUCKET_S = 30
# What a process is, by its command line (first match wins).
KINDS = [
    ("kernel", r"ipykernel"),
    ("chromium", r"chrom"),
    ("student server", r"jupyterhub\.singleuser|jupyterhub-singleuser"),
    ("jupyterhub", r"jupyterhub"),
    ("postgresql", r"postgres"),
    ("pip", r"\bpip\b"),
    ("node", r"\bnode\b|/node "),
    ("grading worker", r"autograde_workers"),
    ("rnnlab.grading", r"rnnlab\.grading"),
    ("nbgrader", r"nbgrader"),
    ("jupyter lab", r"jupyter"),
]


def kind_of(cmd: str) -> str:
    for name, pattern in KINDS:
        if re.search(pattern, cmd):
            return name
    return "other"


def busy_jiffies() -> int:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


class Sampler(threading.Thread):
    """Every INTERVAL: each process's (utime + stime), parent and command line; the machine's busy time."""

    def __init__(self):
        super().__init__(daemon=True)
        self.procs: dict[tuple[int, int], dict] = {}
        self.busy: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.first_scan = True
        self.controller = -1  # pytest's pid: its children are the xdist workers, whose CPU is kept as a series

    def run(self):
        while not self.stop.is_set():
            now = time.time()
            self.busy.append((now, busy_jiffies()))
            for d in os.listdir("/proc"):
                if d.isdigit():
                    self._read(int(d), now)
            self.first_scan = False
            self.stop.wait(INTERVAL)

    def _read(self, pid: int, now: float) -> None:
        try:
            rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            key = (pid, int(rest[19]))
            p = self.procs.get(key)
            if p is None:
                p = self.procs[key] = {"pid": pid, "ppid": int(rest[1]), "first": now, "cmd": "", "cpu0": 0.0}
            cpu = (int(rest[11]) + int(rest[12])) / HZ
            if self.first_scan:  # running before the suite: only what it spends from now on counts
                p["cpu0"] = cpu
            p["cpu"] = cpu - p["cpu0"]
            if p["ppid"] == self.controller:
                p.setdefault("series", []).append((now, p["cpu"]))
            p["last"] = now
            if now - p["first"] < 2:  # a forked child takes its real command line when it execs
                p["cmd"] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:300]
        except (OSError, IndexError, ValueError):
            pass


def attribute(procs: list[dict], timeline: list[dict], me: int):
    """(per file: kind -> CPU s, workers' own CPU s, detached processes' CPU s)."""
    by_worker = collections.defaultdict(list)
    for e in timeline:
        by_worker[e["pid"]].append((e["t"], e["file"]))
    latest = {}
    for p in procs:  # the newest process of each pid is the one a child's ppid names
        if p["pid"] not in latest or p["first"] > latest[p["pid"]]["first"]:
            latest[p["pid"]] = p
    files: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    workers_cpu, detached = 0.0, collections.Counter()
    for p in procs:
        if p["pid"] in by_worker:
            workers_cpu += p["cpu"]
            # The worker's own CPU (in-process tests, fixtures, driving browsers and hubs) to the file it ran then.
            previous = 0.0
            for t, cpu in p.get("series", []):
                running = [f for tt, f in by_worker[p["pid"]] if tt <= t]
                files[running[-1] if running else "(collection)"]["pytest worker"] += cpu - previous
                previous = cpu
            continue
        q, worker = p, None
        for _ in range(64):
            if q is None or q["pid"] in (1, me):
                break
            if q["pid"] in by_worker:
                worker = q["pid"]
                break
            q = latest.get(q["ppid"])
        if worker is None:
            detached["pytest (the controller)" if p["ppid"] == me else kind_of(p["cmd"])] += p["cpu"]
            continue
        running = [f for t, f in by_worker[worker] if t <= p["first"]]
        files[running[-1] if running else "(collection)"][kind_of(p["cmd"])] += p["cpu"]
    return files, workers_cpu, detached


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=max(2, min(4, len(os.sched_getaffinity(0)))),
                        help="xdist workers (default: as make test, one per core, 2 to 4)")
    args, extra = parser.parse_known_args(argv)

    timeline_path = Path(tempfile.mkstemp(prefix="rnnlab-timeline-", suffix=".jsonl")[1])
    sampler = Sampler()
    sampler.start()
    start = time.time()
    cmd = [sys.executable, "-m", "pytest", "-n", str(args.workers), "--dist", "loadfile", "--no-loadscope-reorder",
           "-q", "-p", "no:cacheprovider", *extra]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "RNNLAB_TEST_TIMELINE": str(timeline_path)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler.controller = proc.pid
    out, err = proc.communicate()
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    wall = time.time() - start
    sampler.stop.set()
    sampler.join()
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]

    timeline = [json.loads(line) for line in timeline_path.read_text().splitlines() if line.strip()]
    timeline_path.unlink()
    procs = list(sampler.procs.values())
    files, workers_cpu, detached = attribute(procs, timeline, os.getpid())
    cores = len(os.sched_getaffinity(0))
    machine = (sampler.busy[-1][1] - sampler.busy[0][1]) / HZ
    own = time.process_time()
    per_file = sorted(((f, sum(k.values()), k) for f, k in files.items()), key=lambda r: -r[1])
    kinds = collections.Counter()
    for _, _, k in per_file:
        kinds.update(k)
    t0 = sampler.busy[0][0]
    buckets = collections.defaultdict(float)
    for (t_a, b_a), (t_b, b_b) in zip(sampler.busy, sampler.busy[1:]):
        buckets[int((t_a - t0) // BUCKET_S)] += (b_b - b_a) / HZ

    print(f"{summary}\nwall {wall:.0f} s on {cores} cores; the machine was busy {machine:.0f} CPU s "
          f"(floor {machine / cores:.0f} s, cores {100 * machine / cores / wall:.0f}% busy; budget {BUDGET_S} s)")
    print(f"workers' own CPU {workers_cpu:.0f} s (in the files below as 'pytest worker'); this sampler {own:.0f} s; outside the workers: "
          + ", ".join(f"{name} {v:.0f}" for name, v in detached.most_common(6)))
    for f, total, k in per_file:
        print(f"{total:7.1f}  {f:<32} " + ", ".join(f"{name} {v:.0f}" for name, v in k.most_common(4)))
    print("by kind: " + ", ".join(f"{name} {v:.0f}" for name, v in kinds.most_common()))
    print("cores busy per 30 s: " + " ".join(f"{100 * buckets[i] / BUCKET_S / cores:.0f}%" for i in sorted(buckets)))

    out = {
        "command": " ".join(cmd[1:]), "result": summary, "returncode": done.returncode, "cores": cores,
        "wall_seconds": round(wall), "machine_cpu_seconds": round(machine), "floor_seconds": round(machine / cores),
        "budget_seconds": BUDGET_S, "workers_cpu_seconds": round(workers_cpu), "sampler_cpu_seconds": round(own),
        "detached_cpu_seconds": {k: round(v, 1) for k, v in detached.most_common()},
        "files": [{"file": f, "cpu_seconds": round(t, 1), "by_kind": {n: round(v, 1) for n, v in k.most_common()}}
                  for f, t, k in per_file],
        "by_kind": {n: round(v, 1) for n, v in kinds.most_common()},
        "cores_busy_per_30s": [round(100 * buckets[i] / BUCKET_S / cores) for i in sorted(buckets)],
    }
    (Path(__file__).parent / "suite_cost.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
