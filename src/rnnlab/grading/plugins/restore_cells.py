"""RestoreCells: test cells are always graded as written, whatever the submission did to them.

A sanitising step (nbgrader_config.py): nbgrader's OverwriteCells puts back the content,
type and lock of the cells that are present; then the notebook is rebuilt in the source's
cell order. Every locked, test and task cell the submission lacks (deleted, turned into
something else) comes back from the gradebook; the student's answers and extra cells are
kept, each after the cell it followed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import OverwriteCells
from nbgrader.utils import is_solution

from rnnlab.grading import incidents

RESTORED_NOTE = "这个单元格在提交中缺失，批改时已按原样恢复。"


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _state(cell) -> tuple:
    # The lock flag as written: nbgrader.utils.is_locked says True for every grade cell,
    # which would hide a test cell the student unlocked.
    return cell.cell_type, cell.source, bool(cell.metadata.get("nbgrader", {}).get("locked"))


class RestoreCells(OverwriteCells):
    """OverwriteCells, then rebuild the cell order from the source (see the module docstring)."""

    def _notebook_path(self, directory: str, resources) -> Path:
        course = CourseDirectory(config=self.config)
        nbg = resources["nbgrader"]
        return Path(course.format_path(directory, ".", nbg["assignment"])) / f"{nbg['notebook']}.ipynb"

    def _source_order(self, resources, source_nb) -> list[str]:
        """grade_ids of the source notebook in order (from source/ on disk, else release/, else the gradebook)."""
        course = CourseDirectory(config=self.config)
        for directory in (course.source_directory, course.release_directory):
            path = self._notebook_path(directory, resources)
            if path.is_file():
                return [g for g in map(_grade_id, nbformat.read(str(path), as_version=4).cells) if g]
        return [c.name for c in source_nb.source_cells]

    def _release_cells(self, resources) -> dict[str, dict]:
        """The cells as the student received them, to tell edits from hidden tests."""
        path = self._notebook_path(CourseDirectory(config=self.config).release_directory, resources)
        if not path.is_file():
            return {}
        return {_grade_id(c): {"solution": bool(is_solution(c)), "state": _state(c)}
                for c in nbformat.read(str(path), as_version=4).cells if _grade_id(c)}

    def preprocess(self, nb, resources):
        received = self._release_cells(resources)
        before = {_grade_id(c): _state(c) for c in nb.cells if _grade_id(c)}
        nb, resources = super().preprocess(nb, resources)  # overwrites the cells that are present
        edited = sorted(g for g, state in before.items()
                        if g in received and not received[g]["solution"] and state != received[g]["state"])
        if edited:
            incidents.report(self.log, resources, f"不可修改的单元格被改动过（内容、类型或锁定），已按原样恢复：{edited}")
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            source_nb = gb.find_notebook(resources["nbgrader"]["notebook"], resources["nbgrader"]["assignment"])
            order = self._source_order(resources, source_nb)
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
        moved = [g for g in order if g in kept] != [g for g in map(_grade_id, nb.cells) if g in kept and g in order]
        nb.cells = cells
        if restored:
            incidents.report(self.log, resources, f"恢复了缺失的单元格 {restored}")
        if moved:
            incidents.report(self.log, resources, "单元格顺序被改动过，已按原作业的顺序排列")
        return nb, resources

    # nbgrader's own restoring (OverwriteCells.add_missing_cells) is not used, whatever the
    # config says: it raises KeyError when an answer cell was deleted together with its
    # test, and never restores a deleted locked set-up cell. The rebuild above does both.
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
