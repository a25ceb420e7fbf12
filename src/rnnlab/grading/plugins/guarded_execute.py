"""GuardedExecute: nbgrader's Execute, made to survive hostile submissions, one cell at a time.

- Its kernels run in the bubblewrap sandbox of rnnlab.grading.plugins.sandbox (c.GuardedExecute.sandbox);
  without bubblewrap it refuses, with a message saying how to install it.
- A dying kernel (os._exit, a segfault) is restarted and the earlier cells replayed, so the
  later answers are still graded.
- Output is capped while it arrives: a print loop cannot fill the grader's memory.
- Before each test cell, rnnlab.grading.plugins.kernel_guard puts back what tests rely on, so an
  answer that monkey-patches torch.allclose, the checks or showtraceback fools nobody.
  It runs as silent executions: nothing is added to the notebook or printed.
"""

from __future__ import annotations

import ast
import copy
import re
import secrets
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_locked
from traitlets import Bool, Integer

from rnnlab.grading import incidents
from rnnlab.grading.plugins import kernel_guard, sandbox

# A locked cell naming one of these may rely on it: the guard then imports and protects them all.
_HEAVY_NAMES = re.compile(r"\b(?:%s)\b" % "|".join(sorted({m.split(".")[0] for m in kernel_guard.HEAVY})))


class GuardedExecute(Execute):
    """nbgrader's Execute, hardened (see the module docstring)."""

    max_output_chars = Integer(100_000, help="Characters of output kept per cell; the rest is dropped.").tag(config=True)
    max_kernel_restarts = Integer(3, help="Kernel deaths tolerated per notebook before giving up.").tag(config=True)
    sandbox = Bool(True, help="Run each student's kernel in bubblewrap (rnnlab.grading.plugins.sandbox). "
                              "False runs student code with the grader's rights.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        if self.sandbox:
            try:
                sandbox.check_available(sandbox.SandboxedKernelManager(config=self.config).bwrap)
            except sandbox.SandboxUnavailable as e:
                self.log.error("[rnnlab] %s", e)  # then nbgrader records the failure and goes on
                raise
            self.kernel_manager_class = sandbox.SandboxedKernelManager
        else:
            self.kernel_manager_class = AsyncKernelManager
            if not getattr(GuardedExecute, "_warned_unsandboxed", False):
                self.log.warning("[rnnlab] 沙箱已关闭（c.GuardedExecute.sandbox = False）：学生代码以你的权限运行。")
                GuardedExecute._warned_unsandboxed = True
        self._guard_name = f"_rnnlab_guard_{secrets.token_hex(8)}"
        # The locked cells are the instructor's (restored before this preprocessor runs).
        self._heavy_guard = any(_HEAVY_NAMES.search(c.source) for c in nb.cells
                                if c.cell_type == "code" and is_locked(c))
        self._guarded = False
        self._restarts = 0
        self._out_chars: dict[int, int] = {}
        self._truncated: set[int] = set()
        return super().preprocess(nb, resources, km)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, sandbox.SandboxedKernelManager):
            km.hidden_paths = [*km.hidden_paths, *self._hidden_paths()]
        return km

    def _hidden_paths(self) -> list[str]:
        """What a student's kernel must not see: the course, the gradebook, the exchange."""
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange.default.exchange import Exchange

        paths = [CourseDirectory(config=self.config).root, Exchange(config=self.config).root]
        db_url = self.resources.get("nbgrader", {}).get("db_url", "")
        if db_url.startswith("sqlite:///"):
            paths.append(db_url[len("sqlite:///"):])
        return [str(Path(p).resolve()) for p in paths if p and Path(p).exists()]

    # -- one cell ---------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._restarts > self.max_kernel_restarts:
            cell.outputs = [self._error("KernelDied", "内核反复退出，这个单元格没有运行。")]
            return cell, resources
        if not is_locked(cell) and not self._guarded:
            # The first cell a student could have written: everything before it is ours.
            self._install_guard()
        if is_grade(cell) and self._guarded:
            self._run_guard()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._restarts += 1
            cell.outputs.append(self._error(
                "KernelDied", "运行这个单元格时内核退出了（例如调用了 os._exit 或崩溃）。批改已重启内核并继续。"))
            incidents.report(self.log, self.resources, f"第 {index} 个单元格运行时内核退出，已重启内核并继续批改")
            self._restart_and_replay(index)
        if index in self._truncated:
            cell.outputs.append(NotebookNode(output_type="stream", name="stderr",
                                             text=f"\n……输出过长，只保留了前 {self.max_output_chars} 个字符。\n"))
            incidents.report(self.log, self.resources, f"第 {index} 个单元格输出过长，已截断")
        return cell, resources

    # -- the guard, run as silent executions ---------------------------------------------
    # Both the snapshot and each restore are user expressions, evaluated outside IPython's
    # run_cell: inside it, IPython swaps sys.displayhook and adds get_ipython/exit/quit to
    # builtins, and a snapshot taken there would "restore" those every time.
    def _install_guard(self) -> None:
        # __import__ binds no name in the student's namespace.
        self._silent("", expression=f"__import__('rnnlab.grading.plugins.kernel_guard', fromlist=['install'])"
                                    f".install({self._guard_name!r}, {self._heavy_guard!r})")
        self._guarded = True

    def _run_guard(self) -> None:
        value = self._silent("", expression=f"{self._guard_name}()")
        try:
            what = ast.literal_eval(value).split() if value else []
        except (ValueError, SyntaxError, AttributeError):
            what = value.split()
        if what:
            incidents.report(self.log, self.resources,
                             f"测试前发现被改动的对象并已还原：{', '.join(what[:8])}{' 等' if len(what) > 8 else ''}")

    def _silent(self, code: str, expression: str | None = None) -> str | None:
        """Run grader code that leaves no trace (no history, no output, no cell); return the
        expression's value as text/plain, or None."""
        expressions = {"value": expression} if expression else {}
        try:
            msg_id = self.kc.execute(code, silent=True, store_history=False, user_expressions=expressions)
            reply = self.wait_for_reply(msg_id)
        except DeadKernelError:
            return None  # the next cell meets the dead kernel and restarts it
        if reply is None:  # timed out (and interrupted)
            return None
        content = reply["content"]
        result = content.get("user_expressions", {}).get("value", content)
        if content.get("status") == "error" or result.get("status") == "error":
            failed = content if content.get("status") == "error" else result
            incidents.report(self.log, self.resources,
                             f"批改保护代码出错：{failed.get('ename')}: {failed.get('evalue')}")
            return None
        return result.get("data", {}).get("text/plain") if expression else None

    # -- kernel deaths --------------------------------------------------------------------
    def _restart_and_replay(self, died_at: int) -> None:
        """Restart the kernel and re-run the code cells before `died_at` into scratch copies."""
        run_sync(self.km.restart_kernel)(now=True)
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self._guarded = False
        for i, earlier in enumerate(self.nb.cells[:died_at]):
            if earlier.cell_type != "code" or any(o.get("ename") == "KernelDied" for o in earlier.get("outputs", [])):
                continue
            if not is_locked(earlier) and not self._guarded:
                self._install_guard()
            try:
                self.execute_cell(copy.deepcopy(earlier), i, store_history=False)
                self.nb.cells[i] = earlier  # the replay ran in a copy: keep the original outputs
            except DeadKernelError:
                self.nb.cells[i] = earlier
                self._restarts += 1
                run_sync(self.km.restart_kernel)(now=True)
                run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
                self._guarded = False

    @staticmethod
    def _error(ename: str, evalue: str) -> NotebookNode:
        return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])

    # -- output cap, applied as messages arrive -----------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self._out_chars.get(cell_index, 0) + size
        self._out_chars[cell_index] = used
        if used > self.max_output_chars and msg.get("msg_type") != "error":
            self._truncated.add(cell_index)
            return None
        return super().output(outs, msg, display_id, cell_index)
