"""Lectures executed once in JupyterLab, shared with the teacher's kit (each lecture runs twice per
`make test`, no more: test_notebooks.py says where).

test_browser.py runs every lecture in a real JupyterLab; once a run has passed its checks, the notebook
as JupyterLab holds it (outputs, each explorer's static view next to its widget view) is written here,
in the run's temporary folder, prepared as rnnlab.grading.lectures_export writes its own (widget views
and state dropped, the source hash that marks it current). tests/test_teacher_kit.py copies what is
there into its executed folder, and lectures_export runs only what is missing (the kit's file may run
before or beside the browser's: then it runs the lectures itself, as an instructor's `make site` does).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat

from conftest import REPO


def shared_folder() -> Path:
    return Path(tempfile.gettempdir()) / "rnnlab-executed-lectures"


def share(name: str, model: dict) -> Path:
    """Write the JupyterLab-executed notebook of lecture `name`, as lectures_export would, atomically."""
    from rnnlab.grading import lectures_export as le

    nb = nbformat.from_dict(model)
    for cell in nb.cells:  # JupyterLab writes "attachments": null where nbformat wants none
        if cell.get("attachments", {}) is None:
            del cell["attachments"]
    nbformat.validate(nb)
    le.strip_widgets(nb)
    nb.metadata[le.META_KEY] = {"source_hash": le.source_hash(REPO, name), "lecture": name, "executed_in": "JupyterLab"}
    folder = shared_folder()
    folder.mkdir(exist_ok=True)
    target = folder / name
    partial = folder / f".{name}.{os.getpid()}.part"
    nbformat.write(nb, str(partial))
    os.replace(partial, target)
    return target


def take(out: Path, leave: tuple[str, ...] = ()) -> list[str]:
    """Copy the shared lectures (but those in `leave`) into `out`; their names."""
    out.mkdir(parents=True, exist_ok=True)
    taken = []
    for path in sorted(shared_folder().glob("*.ipynb")) if shared_folder().is_dir() else []:
        if path.name not in leave:
            shutil.copyfile(path, out / path.name)
            taken.append(path.name)
    return taken
