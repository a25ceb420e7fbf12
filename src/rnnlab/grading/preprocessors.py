"""nbgrader preprocessors that make `nbgrader autograde` survive real submissions.

Enabled in nbgrader_config.py, so they apply to the CLI and to formgrader alike:

- RestoreCells (sanitising step): rebuilds the notebook in the source's cell order.
  Every locked, test and task cell comes from the gradebook whatever the student did
  to it (deleted, moved, duplicated, edited, turned into markdown, unlocked), the
  student's answers and extra cells are kept. nbgrader's own add_missing_cells crashes
  when an answer cell was deleted together with its test (KeyError) and never restores
  a deleted locked set-up cell; this does both.
- GuardedExecute (autograding step): a dying kernel (os._exit, a segfault) is restarted
  and the notebook goes on (earlier cells replayed), so the other answers are still
  graded; output is capped while it arrives (a print loop cannot fill the grader's
  memory); and before each test cell the objects tests rely on (torch, torch.Tensor,
  nn's recurrent classes, rnnlab.checks, builtins, IPython's error display, sys
  streams) are put back as they were before the first answer cell ran, so an answer
  cell that monkey-patches torch.allclose, torch.equal, showtraceback... fools nobody.
  Its kernels run in the bubblewrap sandbox of rnnlab.grading.sandbox (c.GuardedExecute.sandbox).

Every incident is logged as one clear line and recorded by rnnlab.grading.incidents.
"""

from __future__ import annotations

import copy
import secrets
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute, OverwriteCells
from traitlets import Bool, Integer

from rnnlab.grading import incidents, sandbox

RESTORED_NOTE = "这个单元格在提交中缺失，批改时已按原样恢复。"


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _grade_id(cell) -> str | None:
    return _meta(cell).get("grade_id")


def _source_order(resources, source_nb) -> list[str]:
    """grade_ids of the source notebook in order (from source/ on disk, else the gradebook)."""
    nbg = resources["nbgrader"]
    import nbformat

    for folder in ("source", "release"):
        path = Path.cwd() / folder / nbg["assignment"] / f"{nbg['notebook']}.ipynb"
        if path.is_file():
            nb = nbformat.read(str(path), as_version=4)
            return [g for g in (_grade_id(c) for c in nb.cells) if g]
    return [c.name for c in source_nb.source_cells]


def _release_cells(resources) -> dict[str, dict]:
    """The cells as the student received them (release/), to tell edits from hidden tests."""
    import nbformat

    nbg = resources["nbgrader"]
    path = Path.cwd() / "release" / nbg["assignment"] / f"{nbg['notebook']}.ipynb"
    if not path.is_file():
        return {}
    cells = {}
    for c in nbformat.read(str(path), as_version=4).cells:
        if _grade_id(c):
            cells[_grade_id(c)] = {"solution": bool(_meta(c).get("solution")),
                                   "state": (c.cell_type, c.source, bool(_meta(c).get("locked")))}
    return cells


class RestoreCells(OverwriteCells):
    """OverwriteCells, then rebuild the cell order from the source (see module docstring)."""

    def preprocess(self, nb, resources):
        received = _release_cells(resources)
        before = {_grade_id(c): (c.cell_type, c.source, bool(_meta(c).get("locked"))) for c in nb.cells if _grade_id(c)}
        nb, resources = super().preprocess(nb, resources)  # overwrites the cells that are present
        edited = sorted(g for g, state in before.items()
                        if g in received and not received[g]["solution"] and state != received[g]["state"])
        if edited:
            incidents.report(self.log, resources, f"不可修改的单元格被改动过（内容、类型或锁定），已按原样恢复：{edited}")
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            source_nb = gb.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            order = _source_order(resources, source_nb)
            source_cells = {c.name: c for c in source_nb.source_cells}
            grade_cells = {c.name: c for c in source_nb.grade_cells}
            solution_ids = {c.name for c in source_nb.solution_cells}
            task_ids = {c.name for c in source_nb.task_cells}

            anchor = None
            kept: dict[str, NotebookNode] = {}
            extras: dict[str | None, list] = {None: []}
            for cell in nb.cells:
                gid = _grade_id(cell)
                if gid in source_cells and gid not in kept:
                    kept[gid] = cell
                    anchor = gid
                    extras.setdefault(gid, [])
                else:
                    extras.setdefault(anchor, []).append(cell)

            cells, restored = list(extras[None]), []
            for gid in order:
                if gid in kept:
                    cells.append(kept[gid])
                elif gid in source_cells and (gid in grade_cells or gid in task_ids or source_cells[gid].locked):
                    max_score = grade_cells[gid].max_score if gid in grade_cells else 0
                    cells.append(self._restored(source_cells[gid], max_score, gid in solution_ids, gid in task_ids))
                    restored.append(gid)
                cells.extend(extras.get(gid, []))
        moved = [g for g in order if g in kept] != [g for g in (_grade_id(c) for c in nb.cells) if g in kept and g in order]
        nb.cells = cells
        if restored:
            incidents.report(self.log, resources, f"恢复了缺失的单元格 {restored}")
        if moved:
            incidents.report(self.log, resources, "单元格顺序被改动过，已按原作业的顺序排列")
        return nb, resources

    # nbgrader's own add-missing logic is replaced by the rebuild above.
    def add_missing_grade_cells(self, nb, resources):
        return nb, resources

    def add_missing_task_cells(self, nb, resources):
        return nb, resources

    def _restored(self, source_cell, max_score, is_solution, is_task) -> NotebookNode:
        meta = {"grade": max_score > 0 and not is_task, "grade_id": source_cell.name, "locked": source_cell.locked,
                "checksum": source_cell.checksum, "schema_version": 3, "solution": is_solution, "task": is_task}
        if meta["grade"]:
            meta["points"] = max_score
        cell = {"cell_type": source_cell.cell_type, "metadata": {"nbgrader": meta}, "source": source_cell.source}
        if source_cell.cell_type == "code":
            cell.update(execution_count=None, outputs=[])
            cell["source"] = f"# {RESTORED_NOTE}\n" + source_cell.source
        else:
            cell["source"] = f"*{RESTORED_NOTE}*\n\n" + source_cell.source
        if not is_solution:
            cell["metadata"].update(deletable=False, editable=False)
        return NotebookNode(cell)


# ---------------------------------------------------------------- execution

# Runs once, before the first answer cell: snapshots what tests rely on and defines a
# restore function under a name drawn at random for this run.
_GUARD_SNAPSHOT = r'''
def _rnnlab_make_guard():
    import builtins, importlib, sys
    names = ["builtins", "math", "operator", "torch", "torch.nn", "torch.nn.functional", "torch.testing",
             "numpy", "rnnlab", "rnnlab.checks"]
    modules = {}
    for n in names:
        try:
            modules[n] = importlib.import_module(n)
        except Exception:
            pass
    classes = []
    torch = modules.get("torch")
    if torch is not None:
        import torch.nn.modules.rnn as rnn_mod
        classes += [torch.Tensor, torch.nn.Module, torch.nn.Parameter, torch.Generator]
        classes += [v for v in vars(rnn_mod).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    from IPython.core.interactiveshell import InteractiveShell
    classes.append(InteractiveShell)
    shell = get_ipython()
    main = sys.modules["__main__"].__dict__
    # ipykernel itself rebinds these around every execution: not ours to restore.
    volatile = {"builtins": {"input", "raw_input", "getpass"}}
    snap_modules = {m: {k: v for k, v in vars(m).items() if k not in volatile.get(m.__name__, ())}
                    for m in modules.values()}
    snap_classes = {c: dict(vars(c)) for c in classes}
    snap_sys = {k: getattr(sys, k) for k in ("stdout", "stderr", "displayhook")}
    snap_sys_modules = dict((n, sys.modules[n]) for n in modules)
    snap_main = {k: v for k, v in main.items() if not k.startswith("_")}
    shell_attrs = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
                   "run_ast_nodes", "run_code", "should_run_async")
    snap_shell = {k: shell.__dict__[k] for k in shell_attrs if k in shell.__dict__}
    _setattr, _delattr, _items = setattr, delattr, dict.items

    _print, _sorted = print, sorted

    def restore():
        changed = []
        for n, m in _items(snap_sys_modules):
            if sys.modules.get(n) is not m:
                sys.modules[n] = m
                changed.append(f"sys.modules[{n!r}]")
        for m, saved in _items(snap_modules):
            d = vars(m)
            for k, v in _items(saved):
                if d.get(k, saved) is not v:
                    d[k] = v
                    changed.append(f"{m.__name__}.{k}")
        for c, saved in _items(snap_classes):
            d = vars(c)
            for k in [k for k in d if k not in saved]:
                try:
                    _delattr(c, k)
                    changed.append(f"{c.__name__}.{k}")
                except (AttributeError, TypeError):
                    pass
            for k, v in _items(saved):
                if d.get(k, None) is not v:
                    try:
                        _setattr(c, k, v)
                        changed.append(f"{c.__name__}.{k}")
                    except (AttributeError, TypeError):
                        pass
        for k, v in _items(snap_sys):
            if getattr(sys, k) is not v:
                _setattr(sys, k, v)
                changed.append(f"sys.{k}")
        for k in shell_attrs:
            if k in shell.__dict__ and shell.__dict__.get(k) is not snap_shell.get(k, None):
                if k in snap_shell:
                    shell.__dict__[k] = snap_shell[k]
                else:
                    del shell.__dict__[k]
                changed.append(f"shell.{k}")
        for k, v in _items(snap_main):
            if main.get(k) is not v:
                main[k] = v
                changed.append(k)
        if changed:
            _print("RNNLAB-RESTORED " + " ".join(_sorted(set(changed))))
    return restore

import builtins as _rnnlab_builtins
_rnnlab_builtins.__dict__["{name}"] = _rnnlab_make_guard()
del _rnnlab_make_guard, _rnnlab_builtins
'''


# Errors worth a line in the instructor's log (others are ordinary failed tests).
_NOTEWORTHY = {
    "CellTimeoutError": "超过时间限制，已被中断（死循环？）",
    "SystemExit": "调用了 sys.exit() 或 exit()",
    "KeyboardInterrupt": "被中断（KeyboardInterrupt）",
    "MemoryError": "申请的内存超过了上限，已被拒绝",
}
# ...and what the sandbox stopped, told by the error's text.
_NOTEWORTHY_TEXT = {
    "[Errno 30]": "试图写入作业文件夹以外的位置，已被沙箱阻止",
    "[Errno 101]": "试图联网，已被沙箱阻止",
    "can't allocate memory": "申请的内存超过了上限，已被拒绝",
}


def _noteworthy(out) -> str | None:
    if out.get("output_type") != "error":
        return None
    why = _NOTEWORTHY.get(out.get("ename"))
    text = str(out.get("evalue", ""))
    return why or next((w for key, w in _NOTEWORTHY_TEXT.items() if key in text), None)


class GuardedExecute(Execute):
    """nbgrader's Execute, hardened (see module docstring)."""

    max_output_chars = Integer(100_000, help="Characters of output kept per cell; the rest is dropped.").tag(config=True)
    max_kernel_restarts = Integer(3, help="Kernel deaths tolerated per notebook before giving up.").tag(config=True)
    sandbox = Bool(True, help="Run each student's kernel in bubblewrap (rnnlab.grading.sandbox). "
                              "False runs student code with the grader's rights.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
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
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._guard_name = f"_rnnlab_guard_{secrets.token_hex(8)}"
        self._guarded = False
        self._restarts = 0
        self._out_chars: dict[int, int] = {}
        self._truncated: set[int] = set()
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            for index, cell in enumerate(self.nb.cells):
                self._run(cell, index)
        self.set_widgets_metadata()
        workdir = (resources or {}).get("metadata", {}).get("path")
        planted = sandbox.remove_escape_links(Path(workdir)) if workdir else []
        if planted:
            incidents.report(self.log, self.resources, f"删除了指向作业文件夹以外的符号链接：{planted}")
        return self.nb, self.resources

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if isinstance(km, sandbox.SandboxedKernelManager):
            km.hidden_paths = self._hidden_paths()
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
    def _run(self, cell, index):
        if cell.cell_type != "code":
            return
        meta = _meta(cell)
        if self._restarts > self.max_kernel_restarts:
            cell.outputs = [self._error("KernelDied", "内核反复退出，这个单元格没有运行。")]
            return
        if not meta.get("locked") and not self._guarded:
            # The first cell a student could have written: everything before it is ours.
            self._hidden(_GUARD_SNAPSHOT.replace("{name}", self._guard_name))
            self._guarded = True
        if meta.get("grade") and self._guarded:
            text = self._hidden(f"{self._guard_name}()")
            if "RNNLAB-RESTORED" in text:
                what = text.split("RNNLAB-RESTORED", 1)[1].split()
                incidents.report(self.log, self.resources,
                                 f"测试前发现被改动的对象并已还原：{', '.join(what[:8])}{' 等' if len(what) > 8 else ''}")
        try:
            self.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            self._restarts += 1
            cell.outputs.append(self._error(
                "KernelDied", "运行这个单元格时内核退出了（例如调用了 os._exit 或崩溃）。批改已重启内核并继续。"))
            incidents.report(self.log, self.resources, f"第 {index} 个单元格运行时内核退出，已重启内核并继续批改")
            self._restart_and_replay(index)
        for out in cell.outputs:
            why = _noteworthy(out)
            if why:
                incidents.report(self.log, self.resources, f"第 {index} 个单元格{why}")
        if index in self._truncated:
            cell.outputs.append(NotebookNode(output_type="stream", name="stderr",
                                             text=f"\n……输出过长，只保留了前 {self.max_output_chars} 个字符。\n"))
            incidents.report(self.log, self.resources, f"第 {index} 个单元格输出过长，已截断")

    def _hidden(self, code: str) -> str:
        """Run grader code that leaves no trace in the notebook; return what it printed."""
        scratch = NotebookNode(cell_type="code", source=code, metadata={}, outputs=[], execution_count=None)
        # nbclient writes the executed cell back at its index: give it a slot of its own.
        self.nb.cells.append(scratch)
        try:
            self.execute_cell(scratch, len(self.nb.cells) - 1, store_history=False)
        except DeadKernelError:
            return ""
        finally:
            self.nb.cells.pop()
        errors = [o for o in scratch.outputs if o.get("output_type") == "error"]
        if errors:
            incidents.report(self.log, self.resources, f"批改保护代码出错：{errors[0].get('ename')}: {errors[0].get('evalue')}")
        return "".join(o.get("text", "") for o in scratch.outputs if o.get("output_type") == "stream")

    def _restart_and_replay(self, died_at: int) -> None:
        """Restart the kernel and re-run the code cells before `died_at` into scratch copies."""
        from jupyter_core.utils import run_sync

        run_sync(self.km.restart_kernel)(now=True)
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        self._guarded = False
        for i, earlier in enumerate(self.nb.cells[:died_at]):
            if earlier.cell_type != "code" or any(o.get("ename") == "KernelDied" for o in earlier.get("outputs", [])):
                continue
            if not _meta(earlier).get("locked") and not self._guarded:
                self._hidden(_GUARD_SNAPSHOT.replace("{name}", self._guard_name))
                self._guarded = True
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
