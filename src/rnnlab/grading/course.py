"""The course directory (the repo, or a copy of it in tests), its assignments, and nbgrader's own CLI run in it.

Shared by the instructor commands (commands/) and, for CourseError, by nothing nbgrader loads.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path


class CourseError(Exception):
    """An instructor command could not run; the message is for the instructor, in Chinese."""


def course_env() -> dict:
    """The environment for nbgrader: this interpreter's bin/ first on PATH.

    nbgrader runs `alembic` (database migrations) and starts kernels by name, both of
    which must come from the course's environment, not whatever else is on PATH.
    """
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONIOENCODING", "utf-8")
    return env


def run_nbgrader(course_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`nbgrader ARGS` in `course_dir`; output captured. Raises CourseError on failure if `check`."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course_dir, env=course_env(), capture_output=True, text=True)
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise CourseError(f"nbgrader {' '.join(args)} 失败（退出码 {proc.returncode}）：\n{tail}")
    return proc


def find_course_dir(start: Path | None = None) -> Path:
    """The nearest folder at or above `start` that holds nbgrader_config.py and source/."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "nbgrader_config.py").is_file() and (d / "source").is_dir():
            return d
    raise CourseError(f"在 {here} 及其上级目录中找不到课程目录（需要 nbgrader_config.py 和 source/）。")


def assignment_ids(course_dir: Path) -> list[str]:
    """Assignment ids: the folders of source/ that hold at least one notebook."""
    src = course_dir / "source"
    return sorted(d.name for d in src.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))


def known_assignment(course: Path, aid: str) -> str:
    """`aid` if source/ has it, else a CourseError naming the assignments there are."""
    if aid not in assignment_ids(course):
        raise CourseError(f"没有作业 {aid!r}；现有的作业：{assignment_ids(course)}")
    return aid


_WRITE_ERRORS = {errno.EACCES: "没有写权限", errno.EPERM: "没有写权限", errno.EROFS: "是只读的文件系统",
                 errno.ENOTDIR: "路径中有一段是文件，不是文件夹", errno.EEXIST: "已有同名文件，不是文件夹",
                 errno.ENOSPC: "磁盘已满", errno.EDQUOT: "超出了磁盘配额", errno.EISDIR: "是一个文件夹",
                 errno.ENOENT: "这个位置不能新建文件夹"}


def write_error(e: OSError) -> str:
    """Why a folder or file could not be written, in Chinese (the system's words when there is no translation)."""
    return _WRITE_ERRORS.get(e.errno, e.strerror or str(e))


def writable_out(course: Path, out: Path) -> Path:
    """The output folder `out` (relative to the course) created and proven writable, or CourseError in Chinese."""
    out = out if out.is_absolute() else course / out
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".rnnlab-write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as e:
        raise CourseError(f"无法写入输出文件夹 {out}：{write_error(e)}。请换一个 --out。") from None
    return out
