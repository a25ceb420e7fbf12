"""The course's gradebook: the one place that says where it is and how to open it.

Every instructor command that reads or writes grades opens it here (nbgrader's own plug-ins get
its URL from nbgrader, resources["nbgrader"]["db_url"], which nbgrader_config.py takes from `url`).
By default it is gradebook.db (SQLite, git-ignored) in the course directory: one instructor. With the
environment variable RNNLAB_DB_URL (an SQLAlchemy URL, postgresql+psycopg://user@host:5432/course) it
is that PostgreSQL database: several graders on several checkouts of the course (deploy/README.md).

SQLite under concurrency: Python's sqlite3 waits at most 5 s for a lock (nbgrader sets no busy
timeout of its own); `wait_for_locks` makes every connection in this process wait BUSY_TIMEOUT_S,
as autograde's parallel workers need (commands/autograde_workers.py says why).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from rnnlab.grading.course import CourseError, course_env

BUSY_TIMEOUT_S = 120
FILE = "gradebook.db"
ENV = "RNNLAB_DB_URL"
SERVERS = ("postgresql://", "postgresql+psycopg://")

_hooked = False


def server_url() -> str | None:
    """RNNLAB_DB_URL when set (checked: a PostgreSQL URL), else None."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    check_server_url(value, f"环境变量 {ENV}")
    return value


def check_server_url(value: str, what: str) -> None:
    if not value.startswith(SERVERS):
        raise CourseError(f"{what} 应当是 PostgreSQL 的地址，形如 postgresql+psycopg://用户@主机:5432/数据库，"
                          f"而不是 {value!r}。")


def exists(course: Path) -> bool:
    """Whether the course has a gradebook yet (a fresh clone has none; a database server always has one)."""
    return server_url() is not None or (course / FILE).is_file()


def url(course: Path) -> str:
    """The gradebook's database URL, as nbgrader's Gradebook takes it."""
    return server_url() or f"sqlite:///{course / FILE}"


def where(course: Path) -> str:
    """The gradebook named for the instructor, without a password."""
    server = server_url()
    if server is None:
        return str(course / FILE)
    from sqlalchemy.engine import make_url

    return make_url(server).render_as_string(hide_password=True)


def open(course: Path, *, wait: bool = False):  # noqa: A001  (gradebook.open(course) reads as what it does)
    """nbgrader's Gradebook of the course (a context manager); `wait`: wait for locks like the workers do."""
    from nbgrader.api import Gradebook, InvalidEntry
    from sqlalchemy.exc import OperationalError

    if wait:
        wait_for_locks()
    use_course_path()
    try:
        try:
            return Gradebook(url(course))
        except InvalidEntry:
            # Two graders opening a new database at once both add its course row; the second
            # insert fails (PostgreSQL checks the key at once). The row is there now: open again.
            if server_url() is None:
                raise
            return Gradebook(url(course))
    except OperationalError as e:
        if server_url() is None:
            raise
        raise CourseError(f"连不上成绩册数据库 {where(course)}（环境变量 {ENV}）：{first_line(e)}") from None


def first_line(error) -> str:
    """The driver's own first line of a database error (SQLAlchemy adds a long background paragraph)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def use_course_path() -> None:
    """nbgrader's Gradebook runs `alembic` (by name) when it creates a database: this environment's first."""
    path = course_env()["PATH"]
    if not os.environ.get("PATH", "").startswith(path.split(os.pathsep)[0] + os.pathsep):
        os.environ["PATH"] = path


def wait_for_locks(seconds: float = BUSY_TIMEOUT_S) -> None:
    """Every SQLite connection SQLAlchemy opens in this process waits `seconds` for a lock (not 5 s)."""
    global _hooked
    if _hooked:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    event.listen(Engine, "connect", on_connect)
    _hooked = True
