"""ReportIncidents: one line for the instructor per noteworthy error in a graded notebook.

Runs after execution (nbgrader_config.py) and only reads outputs: time limits, sys.exit(),
interrupts, memory refused, and what the sandbox stopped (writes outside the folder,
network). Other errors are ordinary failed tests and say nothing.
"""

from __future__ import annotations

import errno
import re

from nbgrader.preprocessors import NbGraderPreprocessor

from rnnlab.grading import incidents

BY_NAME = {
    "CellTimeoutError": "超过时间限制，已被中断（死循环？）",
    "SystemExit": "调用了 sys.exit() 或 exit()",
    "KeyboardInterrupt": "被中断（KeyboardInterrupt）",
    "MemoryError": "申请的内存超过了上限，已被拒绝",
}
# The kernel only sends the error's text: an OSError's errno is read back from "[Errno N]".
BY_ERRNO = {
    errno.EROFS: "试图写入作业文件夹以外的位置，已被沙箱阻止",
    errno.ENETUNREACH: "试图联网，已被沙箱阻止",
}
_ERRNO = re.compile(r"\[Errno (-?\d+)\]")
# torch's allocator raises a RuntimeError with no errno: its message is all there is.
TORCH_NO_MEMORY = ("can't allocate memory", "申请的内存超过了上限，已被拒绝")


def noteworthy(output) -> str | None:
    """Why an output deserves a line in the log (Chinese), or None."""
    if output.get("output_type") != "error":
        return None
    if output.get("ename") in BY_NAME:
        return BY_NAME[output["ename"]]
    text = str(output.get("evalue", ""))
    codes = {int(n) for n in _ERRNO.findall(text)}
    why = next((w for code, w in BY_ERRNO.items() if code in codes), None)
    if why:
        return why
    return TORCH_NO_MEMORY[1] if TORCH_NO_MEMORY[0] in text else None


class ReportIncidents(NbGraderPreprocessor):
    """Report each noteworthy error output (see the module docstring)."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            why = noteworthy(output)
            if why:
                incidents.report(self.log, resources, f"第 {index} 个单元格{why}")
        return cell, resources
