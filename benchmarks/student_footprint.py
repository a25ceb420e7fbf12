"""What one active student costs on a server: a real JupyterLab, a real browser, a kernel that runs a notebook.

    python benchmarks/student_footprint.py [--settle 5] [--assignment a6_training]

Each scenario gets a fresh JupyterLab server from the course venv (tests/browser.py `LabServer`: 127.0.0.1,
a random token, throw-away settings/runtime/config folders, the server's root a temporary copy of
notebooks/, release/ and solutions/), configured as a student's server on the course hub (STUDENT_SERVER_CONFIG),
opened in headless Chromium as a student opens it (tests/browser.py `Notebook`). The scenarios:

- idle (floor of the server): JupyterLab open in the browser, no notebook, no kernel;
- torch (floor of the kernel): a notebook whose one cell is `import torch`, run;
- lecture 01 and lecture 06 (it trains three cell types twice), "run all" top to bottom;
- a blank assignment (the release version, nothing filled in): "run all" stops at the first visible check
  that fails, as it does for a student who has not started;
- the same assignment answered: its solutions/ notebook (the reference answers and the hidden tests, so a
  little more than a student's finished notebook runs);
- lecture 06 and the answered assignment open at once (two kernels): a student who keeps the lecture open;
- where node is installed, idle once more with JupyterLab's default build check (not a floor: what node adds).

Measured from /proc, every 0.1 s, summed over a process tree: the server (the `jupyter lab` process and
every descendant except kernels) and the kernel (the ipykernel process and its descendants), separately:
resident memory (VmRSS; also its anonymous part, RssAnon: what no other process on the node can share),
peak over the scenario and settled (`--settle` seconds after the run, the notebook still open, the kernel
alive, as a student leaves it); CPU seconds (utime + stime) and wall time. A child between fork and exec
(the server starting a kernel) shares its parent's pages and is not counted twice. The browser is not counted
(it runs on the student's computer) but shares this machine's cores, so wall times are a little slower
than a server's.

Kernels get OMP_NUM_THREADS=1, as on the course hub (deploy/hub: threads = the per-user CPU limit, 1 core).
Writes benchmarks/student_footprint.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

import nbformat  # noqa: E402

from browser import Browser, LabServer, Notebook, find_chromium  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
MIB = 2**20
FLOOR_NOTEBOOK = "_bench/import_torch.ipynb"


# ------------------------------------------------------------------ /proc

def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds user+system) of a live process, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _memory(pid: int) -> tuple[int, int]:
    """(VmRSS, RssAnon) in bytes; (0, 0) for a process that is gone."""
    rss = anon = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, anon


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def trees(server_pid: int) -> tuple[list[int], list[int], set[int]]:
    """(server processes, kernel processes, forks): the server and its descendants, kernels' subtrees
    apart; forks are children with their parent's command line, between fork and exec (the server
    starting a kernel or a subprocess): their pages are the parent's, shared, so their memory is not added."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st:
                children.setdefault(st[0], []).append(int(d))
    server, kernel, forks = [], [], set()
    stack = [(server_pid, False, None)]
    while stack:
        pid, in_kernel, parent_cmdline = stack.pop()
        cmdline = _cmdline(pid)
        if cmdline == parent_cmdline:
            forks.add(pid)
        in_kernel = in_kernel or "ipykernel_launcher" in cmdline
        (kernel if in_kernel else server).append(pid)
        stack += [(c, in_kernel, cmdline) for c in children.get(pid, [])]
    return server, kernel, forks


class Sampler:
    """Samples both trees every `interval` s in a thread: peaks, the last sample, CPU seconds seen per pid."""

    def __init__(self, server_pid: int, interval: float = 0.1):
        self.server_pid, self.interval = server_pid, interval
        self.peak = {"server": 0, "kernel": 0}
        self.most_processes = {"server": 0, "kernel": 0}
        self.last: dict = {}
        self.cpu: dict[str, dict[int, float]] = {"server": {}, "kernel": {}}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> dict:
        with self._lock:
            return self._sample()

    def _sample(self) -> dict:
        server, kernel, forks = trees(self.server_pid)
        out = {}
        for name, pids in (("server", server), ("kernel", kernel)):
            rss = anon = 0
            for pid in pids:
                r, a = _memory(pid) if pid not in forks else (0, 0)
                rss, anon = rss + r, anon + a
                st = _stat(pid)
                if st:  # CPU seconds only grow: the last value seen is the process's total so far
                    self.cpu[name][pid] = st[1]
            out[name] = {"rss": rss, "anon": anon, "processes": len(pids)}
            self.peak[name] = max(self.peak[name], rss)
            self.most_processes[name] = max(self.most_processes[name], len(pids))
        self.last = out
        return out

    def cpu_seconds(self, name: str) -> float:
        with self._lock:
            return sum(self.cpu[name].values())

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


# ------------------------------------------------------------------ scenarios

# The server as a student gets it on the course hub (deploy/hub/student/): a read-only extension manager,
# no language server, no Formgrader or course list; and no build check: a student server never builds
# JupyterLab, and where node is installed (the one-server hub needs it for the proxy) the check runs
# `node` and `yarn config` at every page load (about 90 MiB for a few seconds, measured here).
STUDENT_SERVER_CONFIG = {
    "jupyter_server_config.json": {
        "LabApp": {"extension_manager": "readonly"},
        "ServerApp": {"jpserver_extensions": {"jupyter_lsp": False, "nbgrader.server_extensions.formgrader": False,
                                              "nbgrader.server_extensions.course_list": False}},
    },
    "labconfig/page_config.json": {"buildCheck": False, "buildAvailable": False},
}


class StudentLab(LabServer):
    """LabServer with the student server's configuration in its throw-away config folder."""

    def _env(self) -> dict:
        env = super()._env()
        for rel, value in STUDENT_SERVER_CONFIG.items():
            f = Path(env["JUPYTER_CONFIG_DIR"]) / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value), encoding="utf-8")
        return env


def lab_root(tmp: Path) -> Path:
    root = tmp / "root"
    for folder in ("notebooks", "release", "solutions"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    (root / FLOOR_NOTEBOOK).parent.mkdir(parents=True)
    nbformat.write(nb, str(root / FLOOR_NOTEBOOK))
    return root


def run_scenario(name: str, root: Path, browser: Browser, notebooks: list[str], settle: float,
                 server_class=StudentLab) -> dict:
    """One fresh server, one page; each notebook opened and run all in turn (an earlier one's kernel stays
    up, as when a student opens another notebook without shutting the first one down); then `settle` s idle.
    No notebook: JupyterLab's start page only."""
    start = time.perf_counter()
    with server_class(root) as lab:
        server_ready = time.perf_counter() - start
        with Sampler(lab.proc.pid) as sampler:
            page = browser.new_page()
            runs = []
            try:
                opened = time.perf_counter()
                if not notebooks:
                    page.goto(f"{lab.url}/lab?token={lab.token}", wait_until="domcontentloaded")
                    page.wait_for_function("() => !!window.jupyterapp", timeout=90_000)
                    page.evaluate("async () => { await window.jupyterapp.restored; return true; }")
                    runs.append({"open_seconds": round(time.perf_counter() - opened, 2)})
                for notebook in notebooks:
                    opened = time.perf_counter()
                    nb = Notebook.open(page, lab, notebook)
                    open_seconds = time.perf_counter() - opened
                    sampler.sample()
                    cpu_before = sampler.cpu_seconds("kernel")
                    ran = time.perf_counter()
                    state = nb.run_all(timeout=300)
                    run_seconds = time.perf_counter() - ran
                    sampler.sample()
                    cells_run = sum(c is not None for c in state["counts"])
                    if not state["errors"]:
                        assert cells_run == len(state["counts"]), f"{notebook}: cells not run: {state}"
                    runs.append({"notebook": notebook, "open_seconds": round(open_seconds, 2),
                                 "run_all_seconds": round(run_seconds, 2),
                                 "kernel_cpu_seconds_run_all": round(sampler.cpu_seconds("kernel") - cpu_before, 2),
                                 "code_cells": state["nCode"], "cells_run": cells_run, "errors": state["errors"]})
                time.sleep(settle)
                settled = sampler.sample()
                kernels = lab.api("/api/kernels")
            finally:
                page.context.close()
    assert len(kernels) == len(notebooks), f"{name}: kernels {kernels}"
    return {
        "scenario": name, "notebooks": notebooks, "kernels": len(kernels),
        "server": {"rss_peak_mib": round(sampler.peak["server"] / MIB, 1),
                   "rss_settled_mib": round(settled["server"]["rss"] / MIB, 1),
                   "anon_settled_mib": round(settled["server"]["anon"] / MIB, 1),
                   "processes": settled["server"]["processes"],
                   "processes_max": sampler.most_processes["server"],
                   "cpu_seconds": round(sampler.cpu_seconds("server"), 2)},
        "kernel": {"rss_peak_mib": round(sampler.peak["kernel"] / MIB, 1),
                   "rss_settled_mib": round(settled["kernel"]["rss"] / MIB, 1),
                   "anon_settled_mib": round(settled["kernel"]["anon"] / MIB, 1),
                   "processes": settled["kernel"]["processes"],
                   "cpu_seconds": round(sampler.cpu_seconds("kernel"), 2)},
        "wall_seconds": {"server_start": round(server_ready, 2), "total": round(time.perf_counter() - start, 2)},
        "runs": runs,
    }


def line(r: dict) -> str:
    s, k = r["server"], r["kernel"]
    text = (f"{r['scenario']:<18} server {s['rss_settled_mib']:4.0f} MiB settled / {s['rss_peak_mib']:4.0f} peak, "
            f"{s['cpu_seconds']:4.1f} CPU s | kernels ({r['kernels']}) {k['rss_settled_mib']:4.0f} MiB settled / "
            f"{k['rss_peak_mib']:4.0f} peak (anon {k['anon_settled_mib']:.0f}), {k['cpu_seconds']:4.1f} CPU s")
    for run in r["runs"]:
        if "notebook" in run:
            text += (f" | {Path(run['notebook']).stem}: open {run['open_seconds']:.1f} s, run {run['run_all_seconds']:.1f} s, "
                     f"{run['kernel_cpu_seconds_run_all']:.1f} CPU s, cells {run['cells_run']}/{run['code_cells']}, "
                     f"errors {run['errors']}")
        else:
            text += f" | open {run['open_seconds']:.1f} s"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle after the run before 'settled'")
    parser.add_argument("--assignment", default="a6_training")
    args = parser.parse_args(argv)
    if find_chromium() is None:
        raise SystemExit("需要 Debian 的 chromium（apt-get install chromium）")
    os.environ["OMP_NUM_THREADS"] = "1"  # as the course hub sets it for a 1-core user (deploy/hub)

    lecture01, lecture06 = "notebooks/01_rnncell_loop.ipynb", "notebooks/06_training.ipynb"
    blank = f"release/{args.assignment}/{args.assignment}.ipynb"
    solved = f"solutions/{args.assignment}/{args.assignment}.ipynb"
    scenarios = [("idle", []), ("torch", [FLOOR_NOTEBOOK]), ("lecture01", [lecture01]), ("lecture06", [lecture06]),
                 (f"blank_{args.assignment}", [blank]), (f"solved_{args.assignment}", [solved]),
                 (f"lecture06+solved_{args.assignment}", [lecture06, solved])]
    load = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="rnnlab-footprint-") as tmp, Browser() as browser:
        root = lab_root(Path(tmp))
        for name, notebooks in scenarios:
            results.append(run_scenario(name, root, browser, notebooks, args.settle))
            print(line(results[-1]), flush=True)
        if shutil.which("node"):  # JupyterLab's defaults (build check on): what node and yarn add at a page load
            results.append(run_scenario("idle_build_check", root, browser, [], args.settle, LabServer))
            print(line(results[-1]), flush=True)

    by = {r["scenario"]: r for r in results}
    idle, torch_ = by["idle"], by["torch"]
    for r in results:
        r["ratio"] = {"server_rss_settled_to_idle": round(r["server"]["rss_settled_mib"] / idle["server"]["rss_settled_mib"], 2)}
        if r["kernels"]:
            r["ratio"]["kernel_rss_settled_to_torch"] = round(r["kernel"]["rss_settled_mib"] / torch_["kernel"]["rss_settled_mib"], 2)
            r["ratio"]["kernel_rss_peak_to_torch"] = round(r["kernel"]["rss_peak_mib"] / torch_["kernel"]["rss_settled_mib"], 2)
            r["ratio"]["kernel_cpu_to_torch"] = round(r["kernel"]["cpu_seconds"] / torch_["kernel"]["cpu_seconds"], 2)
    one = [r for r in results if r["kernels"] == 1 and r is not torch_]
    total = lambda r, what: r["server"][what] + r["kernel"][what]  # noqa: E731
    heaviest = max(one, key=lambda r: total(r, "rss_peak_mib"))
    two = by[f"lecture06+solved_{args.assignment}"]
    summary = {
        "server_rss_settled_mib_max": max(r["server"]["rss_settled_mib"] for r in results if r["scenario"] != "idle_build_check"),
        "one_notebook_peak_mib": round(total(heaviest, "rss_peak_mib"), 1),
        "one_notebook_peak_scenario": heaviest["scenario"],
        "one_notebook_settled_mib_median": round(statistics.median(total(r, "rss_settled_mib") for r in one), 1),
        "two_notebooks_peak_mib": round(total(two, "rss_peak_mib"), 1),
        "two_notebooks_settled_anon_mib": round(total(two, "anon_settled_mib"), 1),
        "kernel_cpu_seconds_max_run_all": max(run["kernel_cpu_seconds_run_all"] for r in results for run in r["runs"]
                                              if "notebook" in run),
    }
    out = {"cores": os.cpu_count(), "load_average_1min_at_start": round(load, 2),
           "omp_num_threads": 1, "settle_seconds": args.settle,
           "floors": {"idle_server_rss_settled_mib": idle["server"]["rss_settled_mib"],
                      "torch_kernel_rss_settled_mib": torch_["kernel"]["rss_settled_mib"],
                      "torch_kernel_cpu_seconds": torch_["kernel"]["cpu_seconds"]},
           "summary": summary, "scenarios": results}
    print(f"one student, one notebook (server + kernel): peak {summary['one_notebook_peak_mib']:.0f} MiB "
          f"({heaviest['scenario']}), settled median {summary['one_notebook_settled_mib_median']:.0f} MiB; "
          f"two notebooks open: peak {summary['two_notebooks_peak_mib']:.0f} MiB; load average at start {load:.2f}")
    (HERE / "student_footprint.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
