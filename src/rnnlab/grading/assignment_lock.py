"""One grader per assignment when the gradebook is on PostgreSQL: an advisory lock per assignment.

Graders on two checkouts share only the database. Two of them grading the same assignment at once would each
write every student's grades, the later silently replacing the earlier, while each checkout's autograded/ keeps
its own run: which feedback matches the gradebook? The course's flock cannot see the other checkout; the
database can. Its advisory locks belong to a connection, so a command that dies never leaves one behind.
Different assignments take different locks: two graders on two assignments go on at once.

Who takes it:
- `python -m rnnlab.grading autograde`, for the whole command (commands/autograde.py);
- nbgrader's own autograde, from the CLI or Formgrader's 「autograde」 button, for its run
  (`guard_nbgrader_autograde`, called by nbgrader_config.py). nbgrader has no hook early enough: its
  pre-convert hook runs after it has removed the student's old autograded/ folder, so the lock is taken
  around the converter's `convert_notebooks`, before anything is touched;
- not the workers of an rnnlab command: they grade under their parent's lock, whose holder name the parent
  passes them in HELD_BY (checked against the database, so a stale variable exempts no one).
"""

from __future__ import annotations

import os
import re
import zlib
from contextlib import contextmanager

# The namespace of the advisory locks in the gradebook's database (any fixed 32-bit number; the second key is
# the assignment's).
LOCK_SPACE = 0x524E4C42  # "RNLB"
# The holder name of the lock an rnnlab command's workers grade under.
HELD_BY = "RNNLAB_ASSIGNMENT_LOCK_HOLDER"


class Refused(Exception):
    """Another grader holds the assignment's lock; str() is the Chinese sentence for the grader."""

    def __init__(self, aid: str, holder: str):
        self.aid, self.holder = aid, holder
        super().__init__(f"作业 {aid} 正在由另一处批改（{holder}），成绩册是同一个数据库。等它结束再运行："
                         "两处同时批改同一份作业，后批完的会覆盖先批完的成绩。这次什么也没有批改。")


class Unreachable(Exception):
    """The database could not be reached; str() is the driver's first line."""


def key(aid: str) -> int:
    """The second key of `aid`'s advisory lock: a signed 32-bit number from its name (crc32)."""
    value = zlib.crc32(aid.encode("utf-8"))
    return value - (1 << 32) if value >= 1 << 31 else value


def holder_name(program: str) -> str:
    """Who holds a lock, as the refused grader reads it (PostgreSQL keeps 63 printable ASCII characters)."""
    return f"{program}, {os.environ.get('USER') or os.getuid()}@{os.uname().nodename}, pid {os.getpid()}"[:63]


@contextmanager
def hold(url: str, aids: list[str], who: str, held_by: str | None = None):
    """Hold every assignment's lock while the block runs, or raise Refused (holding none of them).

    held_by: a lock already held under that holder name counts as ours (an rnnlab command's workers).
    """
    import sqlalchemy as sa

    from rnnlab.grading.gradebook import first_line

    engine = sa.create_engine(url, connect_args={"application_name": who}, poolclass=sa.pool.NullPool)
    try:
        conn = engine.connect()
    except sa.exc.OperationalError as e:
        engine.dispose()
        raise Unreachable(first_line(e)) from None
    try:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        for aid in aids:
            k = key(aid)
            if conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": LOCK_SPACE, "b": k}).scalar():
                continue
            holder = conn.execute(sa.text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = (:a)::oid AND l.objid = (:b)::oid AND l.granted"),
                {"a": LOCK_SPACE, "b": k & 0xFFFFFFFF}).scalar()
            if held_by and holder == held_by:
                continue
            raise Refused(aid, holder or "另一位助教")
        yield
    finally:
        conn.close()  # the locks end with the connection
        engine.dispose()


def guard_nbgrader_autograde() -> None:
    """Make nbgrader's Autograde converter (CLI and Formgrader) take the locks of the assignments it grades."""
    from nbgrader.converters import Autograde
    from nbgrader.converters.base import NbGraderException

    from rnnlab.grading.gradebook import SERVERS

    if getattr(Autograde.convert_notebooks, "rnnlab_one_grader", False):
        return  # nbgrader_config.py is read once per app; Formgrader reads it again for every request
    convert = Autograde.convert_notebooks

    def convert_notebooks(self) -> None:
        url = self.coursedir.db_url
        if not url.startswith(SERVERS):
            return convert(self)
        # The folders nbgrader found (submitted/<student>/<assignment>), read with nbgrader's own pattern.
        pattern = self._format_source("(?P<assignment_id>.*)", "(?P<student_id>.*)", escape=True)
        aids = sorted({m.group("assignment_id") for folder in self.assignments if (m := re.match(pattern, folder))})
        try:
            with hold(url, aids, holder_name("nbgrader autograde"), held_by=os.environ.get(HELD_BY)):
                return convert(self)
        except Refused as e:
            self.log.error("%s", e)
            raise NbGraderException(str(e)) from None
        except Unreachable as e:
            message = f"连不上成绩册数据库，这次什么也没有批改：{e}"
            self.log.error("%s", message)
            raise NbGraderException(message) from None

    convert_notebooks.rnnlab_one_grader = True
    Autograde.convert_notebooks = convert_notebooks
