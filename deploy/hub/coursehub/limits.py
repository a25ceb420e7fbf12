"""Per-user memory and CPU limits: one cgroup per user, holding the user's server and every kernel it starts.

cgroup v2 when /sys/fs/cgroup is the unified hierarchy with the memory and cpu controllers; otherwise
cgroup v1, with the memory and cpu hierarchies mounted at /sys/fs/cgroup/memory and /sys/fs/cgroup/cpu.
The hub (root) creates <root>/<parent>/<user> when the user's server starts, writes the limits, and the
server process joins it between fork and exec (`join_paths`, used by the spawner's preexec function),
so everything the server starts (kernels, terminals, `nbgrader validate`) is counted against the same
limit. Memory beyond the limit: the kernel's out-of-memory killer kills the largest process in the
cgroup, which is the kernel that allocated it, and the server lives on. CPU: a quota of `cpu` cores per
100 ms period (the processes are slowed, never killed).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


class LimitsUnavailable(Exception):
    """No writable cgroup hierarchy with memory and CPU controllers; the message is in Chinese."""


class Cgroups:
    """The user cgroups under one parent, in one cgroup version."""

    version = 0

    def __init__(self, parent: str, root: Path = ROOT):
        self.parent = parent
        self.root = Path(root)

    # -- layout, per version
    def dirs(self, user: str) -> list[Path]:
        """The cgroup folders a user's processes join (one per hierarchy)."""
        raise NotImplementedError

    def parent_dirs(self) -> list[Path]:
        raise NotImplementedError

    def _write_limits(self, user: str, memory: int, cpu: float) -> None:
        raise NotImplementedError

    # -- the same for both versions
    def prepare(self) -> None:
        """Create the parent cgroup(s); LimitsUnavailable if that is not allowed."""
        try:
            for d in self.parent_dirs():
                d.mkdir(exist_ok=True)
            self._prepare_parent()
        except OSError as e:
            raise LimitsUnavailable(f"无法在 {e.filename or self.parent_dirs()[0]} 建立 cgroup（{e.strerror or e}）") from None

    def _prepare_parent(self) -> None:
        pass

    def create(self, user: str, memory: int, cpu: float) -> list[Path]:
        """The user's cgroup with its limits (an existing one gets the limits again)."""
        for d in self.dirs(user):
            d.mkdir(exist_ok=True)
        self._write_limits(user, memory, cpu)
        return self.dirs(user)

    def join_paths(self, user: str) -> list[str]:
        """The files a process writes its pid into to join the user's cgroup."""
        return [str(d / "cgroup.procs") for d in self.dirs(user)]

    def pids(self, user: str) -> list[int]:
        out: set[int] = set()
        for d in self.dirs(user):
            try:
                out |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return sorted(out)

    def remove(self, user: str, timeout: float = 10) -> None:
        """Kill whatever is left in the user's cgroup (kernels that outlived the server), then remove it."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids(user)
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            gone = True
            for d in self.dirs(user):
                try:
                    d.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    gone = False  # busy: a process is still exiting
            if gone or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def remove_parent(self) -> None:
        for d in self.parent_dirs():
            try:
                d.rmdir()
            except OSError:
                pass


class CgroupV1(Cgroups):
    version = 1

    def parent_dirs(self) -> list[Path]:
        return [self.root / "memory" / self.parent, self.root / "cpu" / self.parent]

    def dirs(self, user: str) -> list[Path]:
        return [d / user for d in self.parent_dirs()]

    def _write_limits(self, user: str, memory: int, cpu: float) -> None:
        mem, cpu_dir = self.dirs(user)
        (mem / "memory.limit_in_bytes").write_text(str(memory))
        memsw = mem / "memory.memsw.limit_in_bytes"  # memory + swap: no escaping the limit into swap
        if memsw.exists():
            memsw.write_text(str(memory))
        (cpu_dir / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (cpu_dir / "cpu.cfs_quota_us").write_text(str(int(cpu * PERIOD_US)))

    def limits(self, user: str) -> dict:
        mem, cpu_dir = self.dirs(user)
        quota = int((cpu_dir / "cpu.cfs_quota_us").read_text())
        period = int((cpu_dir / "cpu.cfs_period_us").read_text())
        return {"memory": int((mem / "memory.limit_in_bytes").read_text()), "cpu": quota / period}

    def oom_kills(self, user: str) -> int:
        """How many processes the out-of-memory killer has killed in the user's cgroup."""
        for line in (self.dirs(user)[0] / "memory.oom_control").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0


class CgroupV2(Cgroups):
    version = 2

    def parent_dirs(self) -> list[Path]:
        return [self.root / self.parent]

    def dirs(self, user: str) -> list[Path]:
        return [self.root / self.parent / user]

    def _prepare_parent(self) -> None:
        # The controllers must be handed down level by level: root -> parent -> users.
        for d in (self.root, self.root / self.parent):
            control = d / "cgroup.subtree_control"
            enabled = control.read_text().split()
            missing = [c for c in ("memory", "cpu") if c not in enabled]
            if missing:
                control.write_text(" ".join(f"+{c}" for c in missing))

    def _write_limits(self, user: str, memory: int, cpu: float) -> None:
        (d,) = self.dirs(user)
        (d / "memory.max").write_text(str(memory))
        swap = d / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        (d / "cpu.max").write_text(f"{int(cpu * PERIOD_US)} {PERIOD_US}")

    def limits(self, user: str) -> dict:
        (d,) = self.dirs(user)
        quota, period = (d / "cpu.max").read_text().split()
        return {"memory": int((d / "memory.max").read_text()), "cpu": int(quota) / int(period)}

    def oom_kills(self, user: str) -> int:
        (d,) = self.dirs(user)
        for line in (d / "memory.events").read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def detect(parent: str, root: Path = ROOT) -> Cgroups:
    """The cgroup version this machine offers for per-user limits, prepared; LimitsUnavailable if none."""
    root = Path(root)
    controllers = root / "cgroup.controllers"
    tried = []
    if controllers.is_file():
        if {"memory", "cpu"} <= set(controllers.read_text().split()) and _writable(root):
            groups: Cgroups = CgroupV2(parent, root)
            groups.prepare()
            return groups
        tried.append(f"{root}（cgroup v2）没有可写的 memory 和 cpu 控制器")
    if _writable(root / "memory") and _writable(root / "cpu"):
        groups = CgroupV1(parent, root)
        groups.prepare()
        return groups
    tried.append(f"{root}/memory 和 {root}/cpu（cgroup v1）不存在或不可写")
    raise LimitsUnavailable("；".join(tried))
