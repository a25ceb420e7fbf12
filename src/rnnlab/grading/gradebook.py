"""The course's gradebook: the one place that says where it is and how to open it.

Every instructor command that reads or writes grades opens it here (nbgrader's own plug-ins get
its URL from nbgrader, resources["nbgrader"]["db_url"]). Today it is gradebook.db (SQLite, git-ignored)
in the course directory.

SQLite under concurrency: Python's sqlite3 waits at most 5 s for a lock (nbgrader sets no busy
timeout of its own); `wait_for_locks` makes every connection in this process wait BUSY_TIMEOUT_S,
as autograde's parallel workers need (commands/autograde_workers.py says why).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_S = 120
FILE = "gradebook.db"

_hooked = False


def exists(course: Path) -> bool:
    """Whether the course has a gradebook yet (a fresh clone has none)."""
    return (course / FILE).is_file()


def url(course: Path) -> str:
    """The gradebook's database URL, as nbgrader's Gradebook takes it."""
    return f"sqlite:///{course / FILE}"


def open(course: Path, *, wait: bool = False):  # noqa: A001  (gradebook.open(course) reads as what it does)
    """nbgrader's Gradebook of the course (a context manager); `wait`: wait for locks like the workers do."""
    from nbgrader.api import Gradebook

    if wait:
        wait_for_locks()
    return Gradebook(url(course))


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
