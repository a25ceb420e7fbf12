"""How a failed check looks to the student, without torch.

rnnlab.checks raises it in the kernel and the feedback filter redraws it in nbgrader's process.
It lives outside rnnlab.checks (whose package imports torch) so that every nbgrader command,
which loads the course's plug-ins, starts without importing torch (about 1 s each).
"""

from __future__ import annotations


def shown_lines(hint: str) -> list[str]:
    """A failed check as the student sees it (the feedback pages show it the same way)."""
    return ["\x1b[1;31m没有通过检查：\x1b[0m", *hint.splitlines()]
