"""Notebook helpers for the tests: execute in a fresh kernel, read cells by nbgrader id."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def execute(path: Path, runs: int = 1, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell of the notebook `runs` times in one fresh kernel (cwd = its folder).

    Raises nbclient's CellExecutionError on the first cell that fails.
    Returns the notebook with the outputs of the last run.
    """
    nb = read(path)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for _ in range(runs):
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
    return nb


def cell_by_id(nb, grade_id: str):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def errors_in(nb) -> list[str]:
    """Every error output of an executed notebook, as 'ename: evalue'."""
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]
