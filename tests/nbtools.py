"""Notebook helpers for the tests: read a notebook, find a cell by its nbgrader id."""

from __future__ import annotations

from pathlib import Path

import nbformat


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def cell_by_id(nb, grade_id: str):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)

