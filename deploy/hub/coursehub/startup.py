"""What the hub checks and prepares before it starts (jupyterhub_config.py calls `prepare` once).

Each check that fails is one Chinese sentence (StartupError) and the hub does not start:
root, per-user limits (unless switched off), the student edition, the grader account and its course
directory, the proxy (configurable-http-proxy from deploy/hub/node_modules on Node.js >= 20), and a
course Python that an unprivileged user can run. Prepared on the way:

- <state>/hub (0700): the hub's database and cookie secret; <state>/users (0755): what users' processes
  read — the Python (user_python.py), the Jupyter configuration folders for students and for the
  grader account (copies of deploy/hub/student and deploy/hub/grader), the student edition;
- the exchange root, 1777 (every user can create in it, as nbgrader requires; nbgrader itself makes
  each course's inbound folder writable but not listable, so no student sees another's submission).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from coursehub import limits, user_python
from coursehub.settings import HUB_DIR, REPO, Settings

PROXY = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
EDITION_STAMP = ".rnnlab-student-edition"   # written by `python -m rnnlab.grading student-edition`
MIN_NODE = 20


class StartupError(Exception):
    """The hub cannot start; the message is one Chinese sentence."""


@dataclass
class Prepared:
    python: Path               # what users' servers run
    cgroups: object            # limits.Cgroups or None
    student_config: Path       # JUPYTER_CONFIG_PATH of students' servers
    grader_config: Path        # JUPYTER_CONFIG_PATH of the grader account's Formgrader
    edition: Path              # the hub's copy of the student edition
    course_dir: Path | None    # the grader account's course directory (None: no Formgrader)


def node_major(node: str = "node") -> int | None:
    exe = shutil.which(node)
    if exe is None:
        return None
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    m = re.match(r"v(\d+)", out.strip())
    return int(m.group(1)) if m else None


def check_proxy() -> Path:
    if not os.access(PROXY, os.X_OK):
        raise StartupError(f"没有找到 configurable-http-proxy（{PROXY}）：先在课程目录里运行 make hub-proxy。")
    major = node_major()
    if major is None or major < MIN_NODE:
        found = "没有安装 Node.js" if major is None else f"本机的 Node.js 是 {major} 版"
        raise StartupError(f"configurable-http-proxy 5.3 需要 Node.js {MIN_NODE} 或更新的版本，{found}。")
    return PROXY


def _dir(path: Path, mode: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    return path


def _replace_copy(src: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for dirpath, dirnames, filenames in os.walk(dest):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return dest


def ensure_exchange(root: Path) -> Path:
    """The exchange root, 1777, its parents enterable by all."""
    for parent in reversed(root.parents):
        if not parent.exists():
            parent.mkdir()
            parent.chmod(0o755)
    root.mkdir(exist_ok=True)
    root.chmod(0o1777)
    return root


def course_dir(settings: Settings) -> Path | None:
    if not settings.formgrader:
        return None
    try:
        pw = pwd.getpwnam(settings.grader_account)
    except KeyError:
        raise StartupError(f"系统里没有批改账户 {settings.grader_account}：按 deploy/README.md 建好它，"
                           "或设置 RNNLAB_HUB_GRADER_ACCOUNT= （空）不启动 Formgrader。") from None
    path = settings.course_dir or Path(pw.pw_dir) / "rnnlab-course"
    if not (path / "nbgrader_config.py").is_file():
        raise StartupError(f"批改账户的课程目录 {path} 里没有 nbgrader_config.py：以 {settings.grader_account} "
                           "的身份把课程仓库 clone 到那里，或用 RNNLAB_HUB_COURSE_DIR 指向它。")
    if path.stat().st_uid != pw.pw_uid:
        raise StartupError(f"课程目录 {path} 不属于批改账户 {settings.grader_account}：Formgrader 以这个账户运行，"
                           f"需要能写它（sudo chown -R {settings.grader_account} {path}）。")
    return path


def prepare(settings: Settings) -> Prepared:
    if os.geteuid() != 0:
        raise StartupError("hub 必须以 root 运行：它以每个学生自己的系统账户启动服务器（sudo make hub）。")
    cgroups = None
    if settings.limits:
        try:
            cgroups = limits.detect(settings.cgroup, settings.cgroup_root)
        except limits.LimitsUnavailable as e:
            raise StartupError(f"无法限制每个用户的内存和 CPU：{e}；确实不需要限制时设置 RNNLAB_HUB_LIMITS=off。") from None
    if not (settings.edition / EDITION_STAMP).is_file():
        raise StartupError(f"学生版 {settings.edition} 不存在：先运行 make student-edition OUT={settings.edition}。")
    grader_course = course_dir(settings)
    check_proxy()

    _dir(settings.state, 0o755)
    _dir(settings.private_dir, 0o700)
    shared = _dir(settings.shared_dir, 0o755)
    jupyter = _dir(shared / "jupyter", 0o755)
    student_config = _replace_copy(HUB_DIR / "student", jupyter / "student")
    grader_config = _replace_copy(HUB_DIR / "grader", jupyter / "grader")
    edition = _replace_copy(settings.edition, shared / "student-edition")
    ensure_exchange(settings.exchange)

    try:
        python = user_python.build(settings.python, REPO / "src", shared / "python")
        user_python.check(python)
    except user_python.UserPythonError as e:
        raise StartupError(str(e)) from None
    return Prepared(python, cgroups, student_config, grader_config, edition, grader_course)
