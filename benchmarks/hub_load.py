"""The course hub under a class: response times with 40 students at once, and what each student costs.

    python benchmarks/hub_load.py [--students 40]      # as root, like tests/test_hub.py (real system users)

A real course hub on 127.0.0.1 (tests/hub.py `CourseHub`: deploy/hub/jupyterhub_config.py, real users,
per-user cgroups, the exchange, Formgrader), with `--students` + 1 students, every one with a running server.
The scenario is the load test's (tests/crowd.py): the instructor releases a one-question assignment; every
student at the same time fetches it, opens it, saves an answer and submits through their own server behind
the hub's proxy (the requests of the Assignments panel); the instructor collects, autogrades with --jobs 2,
generates and releases feedback; every student at the same time fetches the feedback and reads it.

Floor: the same scenario for one student alone (the extra student), on the same hub just before.
Reported per request kind: median, 95th percentile and maximum wall time, with the load's p95 as a ratio
to the floor's; the phases' wall times; memory from /proc once the class has finished (resident memory of
each student's processes, i.e. their idle server; of the hub with its proxy and services) and the machine's
CPU seconds over the load phase. Writes benchmarks/hub_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "deploy" / "hub"))


def rss_mib(pids) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def machine_cpu_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(fields) if i not in (3, 4))  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=40)
    args = parser.parse_args(argv)

    import crowd as load
    from hub import CourseHub, missing

    why = missing()
    if why:
        print(f"无法运行：{why}")
        return 2
    out: dict = {"students": args.students, "cores": len(os.sched_getaffinity(0))}
    with CourseHub(students=0, tas=1, crowd=args.students + 1) as hub:
        alone, class_ = hub.crowd[-1], hub.crowd[:-1]
        t = time.monotonic()
        for i in range(0, len(hub.crowd), 12):
            hub.start_servers(hub.crowd[i:i + 12])
        out["seconds_to_start_servers"] = round(time.monotonic() - t, 1)
        floor = load.class_at_once(hub, [alone], aid="warmup_alone")
        cpu0, t0 = machine_cpu_seconds(), time.monotonic()
        crowd = load.class_at_once(hub, class_, aid="warmup")
        out["load_cpu_seconds"] = round(machine_cpu_seconds() - cpu0, 1)
        out["load_wall_seconds"] = round(time.monotonic() - t0, 1)
        out["phases_alone"], out["phases_class"] = floor.seconds, crowd.seconds
        f, c = floor.summary(), crowd.summary()
        out["requests"] = {a: {"alone": f[a], "class": c[a], "p95_ratio": round(c[a]["p95"] / max(f[a]["p95"], 1e-3), 2)}
                           for a in c}
        servers = [rss_mib(hub.pids_of(s)) for s in class_]
        students = {pid for s in hub.crowd for pid in hub.pids_of(s)}  # their servers are the hub's children too
        hub_pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                    and int(p.name) not in students and _ancestor(int(p.name), hub.proc.pid)]
        out["memory_mib"] = {"student_median": round(statistics.median(servers), 1), "student_max": round(max(servers), 1),
                             "hub_proxy_services": round(rss_mib(hub_pids), 1)}
    (HERE / "hub_load.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


def _ancestor(pid: int, root: int) -> bool:
    """Is `root` `pid` itself or one of its ancestors (the hub's own tree, not the users' servers)?"""
    while pid > 1:
        if pid == root:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


if __name__ == "__main__":
    sys.exit(main())
