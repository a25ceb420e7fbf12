"""A real PostgreSQL server for the tests: Debian's binaries, a throw-away cluster on 127.0.0.1.

PostgreSQL refuses to run as root (CI runs as root): the cluster then belongs to the `postgres`
system user that Debian's package creates, in a folder of its own under /tmp (the run's TMPDIR
is private to root, and the server must be able to enter its data folder).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "rnnlab"  # the database role the tests (and the course's graders) connect as


def binaries() -> Path | None:
    """Debian keeps pg_ctl and initdb out of PATH, in /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().parent.joinpath("initdb").exists():
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def missing() -> str | None:
    """Why no server can start here (None: it can)."""
    if binaries() is None:
        return "没有 PostgreSQL（Debian 包 postgresql）"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "以 root 运行，却没有 postgres 系统用户（PostgreSQL 不能以 root 运行）"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """initdb + pg_ctl start on a free port of 127.0.0.1; trust authentication for USER on loopback only."""

    def __init__(self):
        self.bin = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="rnnlab-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.owner = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        if self.owner:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)
        self.root.chmod(0o755)

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """A PostgreSQL program, as the cluster's owner."""
        cmd = [str(self.bin / tool), *args]
        if self.owner:  # util-linux's runuser, in /usr/sbin (not always on PATH)
            cmd = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} 失败：\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        return proc

    def start(self) -> "Postgres":
        self.run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-locale")
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                 "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c full_page_writes=off", "start")
        return self

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def restart(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60",
                 "-l", str(self.root / "server.log"), "restart")

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL (the form RNNLAB_DB_URL takes)."""
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> "Postgres":
        try:
            return self.start()
        except BaseException:
            self.remove()
            raise

    def __exit__(self, *exc) -> None:
        self.remove()
