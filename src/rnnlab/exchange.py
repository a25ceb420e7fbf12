"""nbgrader's exchange on the course hub: a full disk is said in Chinese, and no half-written file stays.

The course hub's nbgrader configuration (deploy/hub/student/ and deploy/hub/grader/nbgrader_config.py)
makes nbgrader use these in place of its default exchange classes for the three steps that write into
the exchange folder: a student's submission (the Assignments panel's Submit, 「提交」 in the course's Chinese UI), the instructor's
release_assignment and release_feedback. When that folder's disk is full (or the user's quota on it),
nbgrader's own classes fail in the middle of a copy with an English OSError and leave what they had
copied so far: half a submission the instructor would collect, a truncated feedback page a student
would fetch. Here, everything the step had written is removed again and the step fails with one Chinese
sentence saying what happened and that nothing was lost (the student's notebook stays in their folder,
the instructor's files in the course directory), and what to do.
"""

from __future__ import annotations

import errno
import os
import shutil

from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def _tree(root: str) -> dict[str, tuple[int, int] | None]:
    """Every path under `root`: a file's (size, mtime in ns), None for a folder."""
    found: dict[str, tuple[int, int] | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        found.update((os.path.join(dirpath, n), None) for n in dirnames)
        for n in filenames:
            path = os.path.join(dirpath, n)
            try:
                st = os.lstat(path)
                found[path] = (st.st_size, st.st_mtime_ns)
            except OSError:
                pass
    return found


def _disk_full(e: OSError) -> bool:
    """ENOSPC or EDQUOT, also inside shutil.copytree's shutil.Error (a list of (src, dst, reason) texts)."""
    if e.errno in DISK_FULL:
        return True
    if isinstance(e, shutil.Error) and e.args and isinstance(e.args[0], list):
        reasons = [str(entry[-1]) for entry in e.args[0] if isinstance(entry, tuple) and entry]
        return any(f"[Errno {n}]" in r for r in reasons for n in DISK_FULL)
    return False


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        try:
            os.remove(path)
        except OSError:
            pass


class _NothingHalfWritten:
    """copy_files that, on a full disk, removes every path it created and fails with a Chinese sentence."""

    def disk_full_message(self) -> str:
        raise NotImplementedError

    def before_copy(self):
        """What is there before the copy (the instructor can list the course's whole exchange folder)."""
        return _tree(os.path.join(self.root, self.coursedir.course_id))

    def written_since(self, before) -> list[str]:
        """New paths, and files rewritten since (a copy over an existing page truncates it first)."""
        now = _tree(os.path.join(self.root, self.coursedir.course_id))
        return sorted((p for p, sig in now.items() if p not in before or before[p] != sig), key=len, reverse=True)

    def copy_files(self):
        before = self.before_copy()
        try:
            super().copy_files()
            return
        except OSError as e:
            if not _disk_full(e):
                raise
        for path in self.written_since(before):  # longest first: files before their folders
            _remove(path)
        # Outside the except block: the panel shows the traceback of what is raised, and the OSError's
        # would come with it ("During handling of the above exception...").
        self.fail(self.disk_full_message())


class Submit(_NothingHalfWritten, ExchangeSubmit):
    # A student cannot list inbound/ (nbgrader makes it write-only for them): what this submission wrote is
    # its own folder there and its copy in the student's cache, both named by init_dest before the copy.
    def before_copy(self):
        return None

    def written_since(self, before) -> list[str]:
        cache_name = self.assignment_filename.rsplit("+", 1)[0] if self.add_random_string else self.assignment_filename
        return [os.path.join(self.inbound_path, self.assignment_filename), os.path.join(self.cache_path, cache_name)]

    def disk_full_message(self) -> str:
        return (f"交作业没有成功：课程交换目录所在的磁盘已满，这不是你的作业的问题。你的作业 "
                f"{self.coursedir.assignment_id} 还在你自己的文件夹里，一个字也没有丢；请告诉老师，"
                "等老师腾出空间后再按一次「提交」。")


def _release_failed(step, what: str, removed: str, kept: str, command: str) -> str:
    """The instructor's sentence: what failed, what was removed, what is safe, what to run again."""
    aid = step.coursedir.assignment_id
    return (f"{what} {aid} 没有成功：交换目录 {step.root} 所在的磁盘已满，{removed}，课程目录 {kept} 里的文件都还在。"
            f"腾出空间（看 df -h {step.root}）后再运行一次 nbgrader {command} {aid}。")


class ReleaseAssignment(_NothingHalfWritten, ExchangeReleaseAssignment):
    def disk_full_message(self) -> str:
        return _release_failed(self, "发布作业", "写了一半的文件已删除", f"release/{self.coursedir.assignment_id}/",
                               "release_assignment")


class ReleaseFeedback(_NothingHalfWritten, ExchangeReleaseFeedback):
    def disk_full_message(self) -> str:
        return _release_failed(self, "发布反馈", "这次写进去的反馈已全部删除（学生不会取到写了一半的页面）", "feedback/",
                               "release_feedback")
