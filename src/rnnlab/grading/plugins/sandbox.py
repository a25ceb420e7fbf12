"""Sandboxed grading kernels: student code runs inside bubblewrap while nbgrader autogrades.

GuardedExecute (nbgrader_config.py) starts every grading kernel with the kernel manager
below, so `nbgrader autograde` from the CLI or formgrader is sandboxed without anyone having
to remember a wrapper. Inside the sandbox:

- the whole file system is read-only; /tmp is private and empty;
- the course directory (gradebook.db, source/, everyone's submitted/ and autograded/
  folders), a gradebook kept elsewhere and nbgrader's exchange are hidden behind empty,
  read-only folders; only the submission's own folder is writable, and the course's own
  code on sys.path (an editable install, a venv inside the repo) stays readable;
- no network: a new network namespace, without even the host's loopback;
- new PID, IPC and UTS namespaces: when the kernel stops, every process it started dies;
- no capabilities (nothing can be unmounted to uncover what is hidden), a new session;
- per kernel process: an address-space cap, a CPU-time cap, a file-size cap, no core files.

Grader and kernel talk over IPC sockets in a short private folder bound into the sandbox
(TCP cannot cross the network namespace). Where bubblewrap cannot run, grading refuses
with a message saying how to install it, unless the instructor opts out with
c.GuardedExecute.sandbox = False.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

INSTALL_HINT = (
    "批改需要 bubblewrap 沙箱来隔离学生代码，但{why}。"
    "Debian/Ubuntu 上安装：sudo apt-get install bubblewrap。"
    "如果确实要在没有沙箱的情况下批改（学生代码将以你的权限运行，能改写 gradebook.db、读取其他学生的作业），"
    "在 nbgrader_config.py 中加上 c.GuardedExecute.sandbox = False。"
)

# Runs inside the sandbox just before the kernel: limits for the kernel and all it starts.
# Python ignores SIGXFSZ, so a write past the file-size cap raises OSError instead of killing.
_LIMITS = (
    "import os, resource, sys; "
    "mem, cpu, fsize = (int(a) for a in sys.argv[1:4]); "
    "resource.setrlimit(resource.RLIMIT_AS, (mem, mem)); "
    "resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu)); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize)); "
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0)); "
    "os.execvp(sys.argv[4], sys.argv[4:])"
)


# A Unix socket path longer than 107 bytes cannot be bound; the sockets are
# <base>/rnnlab-kernel-XXXXXXXX/kernel-N, 33 bytes past the base.
MAX_SOCKET_BASE = 70


def socket_base() -> str | None:
    """Where the kernel's socket folder goes: the temp folder (TMPDIR), or /tmp if that is too long."""
    base = tempfile.gettempdir()
    if len(os.fsencode(base)) <= MAX_SOCKET_BASE:
        return base
    return "/tmp" if os.path.isdir("/tmp") else None


class SandboxUnavailable(RuntimeError):
    """Raised (with INSTALL_HINT) when the sandbox cannot be built on this machine."""


def check_available(bwrap: str = "bwrap") -> str:
    """The path of a working bwrap, or SandboxUnavailable with a Chinese explanation."""
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable(INSTALL_HINT.format(why="它只能在 Linux 上运行"))
    path = shutil.which(bwrap)
    if path is None:
        raise SandboxUnavailable(INSTALL_HINT.format(why=f"本机没有找到 {bwrap}"))
    # Installed is not enough: some containers forbid the namespaces it needs.
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--cap-drop", "ALL",
                            "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(INSTALL_HINT.format(
            why=f"{path} 在本机无法创建沙箱（{probe.stderr.strip()[:200] or probe.returncode}）"))
    return path


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def sandbox_command(cmd: list[str], *, bwrap: str, workdir: Path, hidden: list[Path], runtime_dir: Path,
                    memory_bytes: int, cpu_seconds: int, file_bytes: int) -> list[str]:
    """bwrap around a kernel command (see the module docstring for what it allows)."""
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    covered: list[Path] = []
    for path in sorted(hidden, key=lambda p: not p.is_dir()):  # folders first
        if any(_inside(path, c) for c in covered):
            continue
        if path.is_dir():
            argv += ["--tmpfs", str(path)]
            covered.append(path)
        elif path.exists():
            argv += ["--ro-bind", "/dev/null", str(path)]
    # Code the kernel imports may live in a folder replaced above (a venv or an editable
    # install inside the course repo, or a checkout under /tmp): show it again, read-only,
    # unless that would uncover a hidden folder or the submission itself (`python -m` puts
    # the cwd, the course, on sys.path).
    replaced = [Path("/tmp").resolve(), *covered]
    code = {Path(p).resolve() for p in [*sys.path, sys.prefix, sys.base_prefix, sys.exec_prefix] if p}
    code.add(Path(sys.executable).resolve().parent)
    for entry in sorted(code):
        if (entry.exists() and any(_inside(entry, r) and entry != r for r in replaced)
                and not any(_inside(h, entry) for h in [*covered, workdir])):
            argv += ["--ro-bind", str(entry), str(entry)]
    argv += ["--bind", str(workdir), str(workdir), "--bind", str(runtime_dir), str(runtime_dir)]
    for path in covered:  # the empty stand-ins themselves take no writes
        argv += ["--remount-ro", str(path)]
    argv += [
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--cap-drop", "ALL", "--new-session", "--die-with-parent",
        "--chdir", str(workdir),
        "--setenv", "HOME", "/tmp", "--setenv", "IPYTHONDIR", "/tmp/ipython",
        "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib", "--setenv", "TMPDIR", "/tmp",
        # One compute thread and few malloc arenas: the address-space cap then means the same
        # on a 2-core laptop and a 64-core server (each thread reserves address space).
        "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "MKL_NUM_THREADS", "1", "--setenv", "MALLOC_ARENA_MAX", "2",
        # ipykernel's parent poller would see PID 1 (the namespace's init) and quit.
        "--unsetenv", "JPY_PARENT_PID",
        # The gradebook's address (with its password, if any) is the grader's: a submission could print
        # it into the feedback its author reads. (With no network it could not use it here anyway.)
        "--unsetenv", "RNNLAB_DB_URL", "--unsetenv", "PGPASSWORD",
        sys.executable, "-c", _LIMITS, str(memory_bytes), str(cpu_seconds), str(file_bytes),
    ]
    return argv + list(cmd)


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel runs in bubblewrap, talking over IPC sockets."""

    bwrap = Unicode("bwrap", help="The bubblewrap executable (a name on PATH or a path).").tag(config=True)
    memory_limit_mb = Integer(2048, help="Address-space cap per kernel process, in MiB.").tag(config=True)
    cpu_limit_seconds = Integer(600, help="CPU-time cap per kernel process, in seconds.").tag(config=True)
    file_size_limit_mb = Integer(256, help="Largest file the kernel may write, in MiB.").tag(config=True)
    hidden_paths = List(Unicode(), help="More folders (or files) the kernel must not see. GuardedExecute "
                                        "adds the course directory, the gradebook and the exchange to "
                                        "these; it never replaces them.").tag(config=True)

    _runtime_dir: str | None = None

    async def _async_pre_start_kernel(self, **kw):
        workdir = Path(kw.get("cwd") or os.getcwd()).resolve()
        bwrap = check_available(self.bwrap)
        if self._runtime_dir is None:  # first start; a restart keeps its sockets
            self._runtime_dir = tempfile.mkdtemp(prefix="rnnlab-kernel-", dir=socket_base())
            self.transport = "ipc"
            self.ip = os.path.join(self._runtime_dir, "kernel")
            self.connection_file = os.path.join(self._runtime_dir, "connection.json")
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        # A signal from outside does not reach the kernel inside its PID namespace: interrupt
        # through the control channel instead (ipykernel then signals itself).
        self.kernel_spec.interrupt_mode = "message"
        hidden = [Path(p).resolve() for p in self.hidden_paths if p]
        cmd = sandbox_command(cmd, bwrap=bwrap, workdir=workdir, hidden=hidden,
                              runtime_dir=Path(self._runtime_dir).resolve(),
                              memory_bytes=self.memory_limit_mb * 1024 * 1024, cpu_seconds=self.cpu_limit_seconds,
                              file_bytes=self.file_size_limit_mb * 1024 * 1024)
        # The kernel's banner (no parent process to report to) would only clutter the grading log.
        kw["stdout"] = subprocess.DEVNULL
        return cmd, kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._runtime_dir:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
            self._runtime_dir = None


def remove_escape_links(folder: Path) -> list[str]:
    """Delete symlinks under `folder` that point outside it; return their relative paths.

    A kernel could plant one (say, to gradebook.db) for a later step that copies the
    folder (feedback) to follow.
    """
    folder = folder.resolve()
    removed = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink() and not _inside(path.resolve(), folder):
                path.unlink()
                removed.append(str(path.relative_to(folder)))
    return sorted(removed)


def preflight(course_dir: Path) -> None:
    """Refuse once, before any student, when the course's config wants a sandbox that cannot run.

    nbgrader itself would refuse too, but once per student; the instructor's CLI says it once.
    """
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    if config.GuardedExecute.get("sandbox", True):
        check_available(config.SandboxedKernelManager.get("bwrap", "bwrap"))
