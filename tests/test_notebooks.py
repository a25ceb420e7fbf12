"""Every lecture and every solution notebook runs top to bottom in a fresh kernel, twice."""

from __future__ import annotations

import pytest

from conftest import REPO
from nbtools import errors_in, execute, read

LECTURES = sorted((REPO / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((REPO / "solutions").glob("*/*.ipynb"))


def test_there_is_something_to_run():
    assert LECTURES and SOLUTIONS


@pytest.mark.parametrize("path", LECTURES + SOLUTIONS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_runs_twice_in_a_fresh_kernel(path):
    nb = execute(path, runs=2)
    assert errors_in(nb) == []


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lectures_are_committed_without_outputs(path):
    nb = read(path)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: 请清除输出后再提交"


@pytest.mark.parametrize("path", LECTURES + [REPO / "source" / "a1_rnncell" / "a1_rnncell.ipynb"], ids=lambda p: p.name)
def test_no_obsolete_api_and_no_external_images(path):
    text = path.read_text(encoding="utf-8")
    assert "Variable(" not in text
    assert "](http" not in text and "<img" not in text


ALL_COMMITTED = sorted(p for d in ("notebooks", "source", "release", "solutions") for p in (REPO / d).rglob("*.ipynb"))


@pytest.mark.parametrize("path", ALL_COMMITTED, ids=lambda p: str(p.relative_to(REPO)))
def test_widget_metadata_renders_without_a_kernel(path):
    """GitHub and nbviewer refuse a notebook whose metadata.widgets lacks a 'state' key."""
    widgets = read(path).metadata.get("widgets")
    if widgets is not None:
        for mime, blob in widgets.items():
            assert "state" in blob, f"{path.name}: metadata.widgets[{mime!r}] 缺少 state"
