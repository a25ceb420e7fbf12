"""A real course hub for the tests: deploy/hub/jupyterhub_config.py, run as root, with real system users.

    with CourseHub(students=4, tas=1) as hub:
        hub.start_servers(hub.students)
        token = hub.token(hub.students[0])
        hub.server(hub.students[0], "assignments?course_id=rnnlab-zh", token=token)

Everything lives in one temporary folder under /tmp (users' processes must be able to enter it; the
test run's own TMPDIR is private to root): the hub's state, the exchange, the users' homes, the student
edition and the grader account's course directory (a copy of the session's regenerated course,
tests/course.py). The hub listens on 127.0.0.1 at a free port, with free ports for its API, the proxy's
API and Formgrader, and its own parent cgroup. The users are real system users, named
rnnt-<pid>-s01 ... (students), rnnt-<pid>-ta1 ... (graders) and rnnt-<pid>-grader (the shared grader
account), in the groups rnnt-<pid>-students and rnnt-<pid>-graders; they are created in one go
(`newusers`), so forty cost what four do, and their servers are started together through the hub's API.
Stopping (also after a failure): the hub, then any process left of those users, their cgroups, the
users, their groups and the folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import REPO
from service import Service

HUB_DIR = REPO / "deploy" / "hub"
sys.path.insert(0, str(HUB_DIR))  # coursehub: the hub's own modules (limits, services, startup)

from coursehub import limits, services, startup  # noqa: E402
from coursehub.settings import from_env  # noqa: E402

PREFIX = f"rnnt-{os.getpid()}"
COURSE_ID = "rnnlab-zh"  # the course's nbgrader_config.py


def _sbin(tool: str) -> str:
    return shutil.which(tool) or f"/usr/sbin/{tool}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_pids(uids: set[int]) -> list[int]:
    """Processes running as one of `uids`, zombies left out (they run nothing and wait for their parent)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{d}").st_uid in uids and Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(int(d))
    return out


def missing() -> str | None:
    """Why a hub cannot run here (None: it can)."""
    if os.geteuid() != 0:
        return "hub 测试需要 root（以学生的系统账户启动服务器、建立系统用户）"
    for tool in ("useradd", "newusers", "userdel", "groupadd", "groupdel", "runuser"):
        if not os.access(_sbin(tool), os.X_OK):
            return f"没有 {tool}（Debian 包 passwd / util-linux）"
    major = startup.node_major()
    if major is None or major < startup.MIN_NODE:
        return f"configurable-http-proxy 需要 Node.js {startup.MIN_NODE}+（本机：{major or '没有 node'}）"
    if not os.access(startup.PROXY, os.X_OK) and shutil.which("npm") is None:
        return "没有 npm，无法安装 configurable-http-proxy（make hub-proxy）"
    try:
        probe = limits.detect(f"{PREFIX}-probe")
        probe.remove_parent()
    except limits.LimitsUnavailable as e:
        return f"没有可写的 cgroup：{e}"
    return None


def ensure_proxy() -> None:
    """configurable-http-proxy in deploy/hub/node_modules, installed the way `make hub` does."""
    if not os.access(startup.PROXY, os.X_OK):
        subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "hub-proxy"], check=True,
                       capture_output=True, timeout=600)


class Accounts:
    """System groups and users for one hub, created together and removed together."""

    def __init__(self, homes: Path):
        self.homes = homes
        self.groups: list[str] = []
        self.users: list[str] = []

    def add_group(self, name: str) -> str:
        subprocess.run([_sbin("groupadd"), name], check=True, capture_output=True)
        self.groups.append(name)
        return name

    def add_users(self, names: list[str], group: str | None, password: str | None = None) -> list[str]:
        """All `names` in one `newusers` call: primary group `group` (None: a group of the user's name), system
        password `password` (None: a random one nobody knows)."""
        if not names:  # a hub with no TA (tas=0): newusers refuses empty input
            return []
        lines = [f"{n}:{password or secrets.token_hex(12)}::{group or ''}:rnnlab hub test:{self.homes / n}:/bin/bash"
                 for n in names]
        self.users += names  # before creating: a half-done batch is removed too
        subprocess.run([_sbin("newusers")], input="\n".join(lines) + "\n", text=True, check=True, capture_output=True)
        if group is None:
            self.groups += [n for n in names]
        return names

    def uids(self) -> set[int]:
        out = set()
        for n in self.users:
            with contextlib.suppress(KeyError):
                out.add(pwd.getpwnam(n).pw_uid)
        return out

    def kill_processes(self) -> None:
        """Every process that still runs as one of these users (by pid)."""
        uids = self.uids()
        for _ in range(20):
            left = live_pids(uids)
            if not left:
                return
            for pid in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def remove(self) -> None:
        self.kill_processes()
        for n in self.users:
            subprocess.run([_sbin("userdel"), n], capture_output=True)
        for g in self.groups:
            subprocess.run([_sbin("groupdel"), g], capture_output=True)


class CourseHub(Service):
    def __init__(self, students: int = 4, tas: int = 1, memory: str = "1200M", cpu: float = 1.0,
                 cull_timeout: int = 3600, crowd: int = 0, exchange_size: str | None = None):
        self.n_students, self.n_tas = students, tas
        # A disk of its own for the exchange (a tmpfs of this size, e.g. "64m"): the full-disk test fills it.
        self.exchange_size = exchange_size
        self.memory, self.cpu, self.cull_timeout = memory, cpu, cull_timeout
        self.base = Path(tempfile.mkdtemp(prefix="rnnlab-hub-", dir="/tmp"))
        self.base.chmod(0o755)
        self.homes = self.base / "homes"
        self.exchange = self.base / "exchange"
        self.state = self.base / "state"
        self.edition = self.base / "student-edition"
        self.accounts = Accounts(self.homes)
        self.students_group = f"{PREFIX}-students"
        self.graders_group = f"{PREFIX}-graders"
        self.grader = f"{PREFIX}-grader"
        self.students = [f"{PREFIX}-s{i:02d}" for i in range(1, students + 1)]
        # More students of the same group, for the load test (tests/crowd.py): no server until asked for.
        self.crowd = [f"{PREFIX}-c{i:02d}" for i in range(1, crowd + 1)]
        self.tas = [f"{PREFIX}-ta{i}" for i in range(1, tas + 1)]
        # A system account of the machine outside the course's groups (with the same password): PAM refuses it.
        self.outsider = f"{PREFIX}-outsider"
        self.course = self.homes / self.grader / "course"
        self.cgroup = PREFIX
        self.port, self.hub_port, self.proxy_api_port, self.formgrader_port = (free_port() for _ in range(4))
        # Every student's and TA's system password: they log in through PAM, as on a campus server.
        self.password = secrets.token_hex(12)
        self.api_token = secrets.token_hex(24)
        self.proc: subprocess.Popen | None = None
        self.changed_settings: dict[str, str] = {}  # by restart(**settings)
        self.log_path = self.base / "hub.log"
        self._tokens: dict[str, str] = {}
        self.seconds: dict[str, float] = {}  # wall time of each step of start()

    # ------------------------------------------------------------------ set-up
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings_env(self) -> dict:
        return {
            "RNNLAB_HUB_IP": "127.0.0.1", "RNNLAB_HUB_PORT": str(self.port),
            "RNNLAB_HUB_API_PORT": str(self.hub_port), "RNNLAB_HUB_PROXY_API_PORT": str(self.proxy_api_port),
            "RNNLAB_HUB_FORMGRADER_PORT": str(self.formgrader_port),
            "RNNLAB_HUB_STATE": str(self.state), "RNNLAB_HUB_EXCHANGE": str(self.exchange),
            "RNNLAB_HUB_EDITION": str(self.edition), "RNNLAB_HUB_COURSE_ID": COURSE_ID,
            "RNNLAB_HUB_STUDENTS_GROUP": self.students_group, "RNNLAB_HUB_GRADERS_GROUP": self.graders_group,
            "RNNLAB_HUB_GRADER_ACCOUNT": self.grader, "RNNLAB_HUB_COURSE_DIR": str(self.course),
            "RNNLAB_HUB_MEM": self.memory, "RNNLAB_HUB_CPU": str(self.cpu), "RNNLAB_HUB_CGROUP": self.cgroup,
            "RNNLAB_HUB_CULL_TIMEOUT": str(self.cull_timeout),
            "RNNLAB_HUB_TEST_API_TOKEN": self.api_token,  # logins: PAM, the default (RNNLAB_HUB_AUTH unset)
        }

    def _make_course(self) -> None:
        from course import make_course
        from rnnlab.grading.commands import student_edition

        student_edition.build(REPO, self.edition)
        make_course(REPO, self.course)
        grader = pwd.getpwnam(self.grader)
        for dirpath, dirnames, filenames in os.walk(self.homes / self.grader):
            os.chown(dirpath, grader.pw_uid, grader.pw_gid)
            for name in filenames:
                os.lchown(os.path.join(dirpath, name), grader.pw_uid, grader.pw_gid)
        (self.homes / self.grader).chmod(0o700)

    def _lap(self, name: str, began: float) -> float:
        now = time.monotonic()
        self.seconds[name] = round(now - began, 1)
        return now

    def start(self, timeout: float = 120) -> "CourseHub":
        t = time.monotonic()
        ensure_proxy()
        self.homes.mkdir()
        self.homes.chmod(0o755)
        if self.exchange_size:
            self.exchange.mkdir()
            mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.exchange_size},mode=1777", "tmpfs",
                                      str(self.exchange)], capture_output=True, text=True)
            if mounted.returncode != 0:
                raise RuntimeError(f"无法为 exchange 挂载 {self.exchange_size} 的 tmpfs（需要 root 和挂载权限）："
                                   f"{mounted.stderr.strip()}")
        self.accounts.add_group(self.students_group)
        self.accounts.add_group(self.graders_group)
        self.accounts.add_users(self.students + self.crowd, self.students_group, self.password)
        self.accounts.add_users(self.tas, self.graders_group, self.password)
        self.accounts.add_users([self.grader], None)
        self.accounts.add_users([self.outsider], None, self.password)
        t = self._lap("system users", t)
        self._make_course()
        t = self._lap("student edition and course directory", t)
        (self.state).mkdir()
        self._launch(t, timeout)
        return self

    def _launch(self, t: float, timeout: float) -> None:
        """Start the hub process and wait until it answers with its services running."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_HUB_")}
        env.update(self.settings_env())
        env.update(self.changed_settings)
        env["PYTHONPATH"] = str(REPO / "src")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(HUB_DIR / "jupyterhub_config.py")],
                                         cwd=self.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub 退出了（{self.proc.returncode}）：\n{self.log_tail()}")
            try:
                if self.api("/services").get(COURSE_ID, {}).get("pid"):
                    self._lap("hub up", t)
                    return
            except (urllib.error.URLError, ConnectionError, OSError, ValueError, AttributeError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"hub 在 {timeout:g} 秒内没有就绪：\n{self.log_tail()}")
            time.sleep(0.25)

    def restart(self, timeout: float = 120, **settings: str) -> None:
        """Stop the hub as an administrator would (SIGTERM to the hub alone), then start it again; `settings`:
        RNNLAB_HUB_* variables changed from then on (e.g. RNNLAB_HUB_AUTH="native")."""
        self.changed_settings.update(settings)
        t = time.monotonic()
        self.proc.terminate()
        # The hub stops its services one after the other, each given up to 20 s (SIGINT, SIGTERM, SIGKILL):
        # on a loaded machine that has taken over a minute once.
        try:
            self.proc.wait(timeout=150)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"hub 收到 SIGTERM 后 150 秒还没有退出：\n{self.log_tail(120)}") from None
        self._lap("hub stopped", t)
        self._launch(t, timeout)

    def login_line(self) -> str:
        """What the hub said, at its latest start, about how people log in (authenticators.configure: 登录：…)."""
        lines = [line for line in self.log_path.read_text(errors="replace").splitlines() if "登录：" in line]
        return lines[-1] if lines else ""

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ HTTP
    def request(self, url: str, method: str = "GET", body=None, token: str | None = None, timeout: float = 60,
                raw: bool = False):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if token:
            headers["Authorization"] = f"token {token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as r:
            payload = r.read()
        if raw:
            return payload
        return json.loads(payload) if payload else None

    def status(self, url: str, token: str | None = None) -> int:
        """The HTTP status of a GET (without following the hub's login redirects)."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        opener = urllib.request.build_opener(NoRedirect)
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
        try:
            with opener.open(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def api(self, path: str, method: str = "GET", body=None, timeout: float = 60):
        """The hub's REST API as the test client (admin over users and servers)."""
        return self.request(f"{self.url}/hub/api{path}", method, body, token=self.api_token, timeout=timeout)

    def token(self, user: str) -> str:
        """An API token of `user` (made once by the test client)."""
        if user not in self._tokens:
            self._tokens[user] = self.api(f"/users/{user}/tokens", "POST", {"note": "rnnlab hub test"})["token"]
        return self._tokens[user]

    def server(self, user: str, path: str, method: str = "GET", body=None, timeout: float = 120, raw: bool = False):
        """`user`'s own server, with `user`'s token."""
        return self.request(f"{self.url}/user/{user}/{path}", method, body, token=self.token(user),
                            timeout=timeout, raw=raw)

    def assignment_action(self, user: str, action: str, aid: str, timeout: float = 120) -> dict:
        """nbgrader's assignment_list action (fetch, submit, fetch_feedback) on `user`'s own server."""
        out = self.server(user, f"assignments/{action}", "POST", {"course_id": COURSE_ID, "assignment_id": aid},
                          timeout=timeout)
        if not out.get("success"):
            raise RuntimeError(f"{user}：{action} {aid} 没有成功：{out}")
        return out

    def start_servers(self, users: list[str], timeout: float = 180) -> None:
        """Ask for every server at once (the hub spawns them concurrently), then wait for all."""
        known = {u["name"] for u in self.api("/users")}
        if set(users) - known:  # hub users are made on first login; the test client makes them in one call
            self.api("/users", "POST", {"usernames": sorted(set(users) - known)})
        def ask(user):
            try:  # the hub answers when the server is up or after 10 s ("pending"): ask for all at once
                self.api(f"/users/{user}/server", "POST", {}, timeout=timeout)
            except urllib.error.HTTPError as e:
                if e.code != 400:  # 400: already running
                    raise

        with ThreadPoolExecutor(max_workers=min(len(users), 50) or 1) as pool:
            list(pool.map(ask, users))
        deadline = time.monotonic() + timeout
        pending = set(users)
        while pending:
            for user in list(pending):
                model = self.api(f"/users/{user}")
                server = model.get("servers", {}).get("")
                if server and server.get("ready"):
                    pending.discard(user)
                elif not server and not model.get("pending"):
                    raise RuntimeError(f"{user} 的服务器没有启动：\n{self.log_tail()}")
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"{timeout:g} 秒内这些服务器没有就绪：{sorted(pending)}\n{self.log_tail()}")
            time.sleep(0.3)

    # ------------------------------------------------------------------ as a system user
    def uid(self, user: str) -> int:
        return pwd.getpwnam(user).pw_uid

    def pids_of(self, user: str) -> list[int]:
        """The processes running as `user`."""
        return live_pids({self.uid(user)})

    def user_env(self, user: str) -> dict:
        """The environment of `user`'s processes on the hub (the grader account's for instructor commands)."""
        prepared = self.state / "users"
        python = prepared / "python" / "bin" / "python"
        config = prepared / "jupyter" / ("grader" if user == self.grader else "student")
        env = services.user_environment(from_env(self.settings_env()), python, config)
        pw = pwd.getpwnam(user)
        env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
        return env

    @property
    def python(self) -> str:
        """The python users' processes run (deploy/hub/coursehub/user_python.py)."""
        return str(self.state / "users" / "python" / "bin" / "python")

    def run_as(self, user: str, *cmd: str, cwd: Path | None = None, check: bool = True, timeout: float = 300):
        """`cmd` as `user` (runuser), in `user`'s hub environment."""
        proc = subprocess.run([_sbin("runuser"), "-u", user, "--", *cmd], cwd=cwd or "/", env=self.user_env(user),
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{user}: {' '.join(cmd)} 失败（{proc.returncode}）：\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        return proc

    def instructor(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """A command of the instructor, as the grader account in the course directory: `python ARGS`."""
        return self.run_as(self.grader, self.python, *args, cwd=self.course, timeout=timeout)

    # ------------------------------------------------------------------ tear-down
    def stop(self) -> None:
        proc, self.proc = self.proc, None
        # Users' processes first: the hub would give each server 30 s to stop on its own (a test ends now).
        self.accounts.kill_processes()
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)  # the hub stops the servers, services and proxy it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        self._kill_leftovers()
        self.accounts.kill_processes()
        for group in (limits.CgroupV2(self.cgroup), limits.CgroupV1(self.cgroup)):
            for parent in group.parent_dirs():
                if parent.is_dir():
                    for child in parent.iterdir():
                        if child.is_dir():
                            group.remove(child.name)
            group.remove_parent()

    def _kill_leftovers(self) -> None:
        """The proxy and the idle culler run as root in sessions of their own: found by this hub's ports."""
        marks = [f"127.0.0.1:{self.hub_port}/hub/".encode(), str(self.base).encode()]
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                seen = Path(f"/proc/{d}/cmdline").read_bytes() + Path(f"/proc/{d}/environ").read_bytes()
            except OSError:
                continue
            if any(m in seen for m in marks):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(d), signal.SIGKILL)

    def cleanup(self) -> None:
        try:
            self.accounts.remove()
        finally:
            if self.exchange_size and os.path.ismount(self.exchange):
                subprocess.run(["umount", "--lazy", str(self.exchange)], capture_output=True)
            shutil.rmtree(self.base, ignore_errors=True)
