"""nbgrader's pre-convert hook: make a messy submission folder gradable without losing anything.

- A notebook under another name (my_homework.ipynb, a1_rnncell (1).ipynb): copied to the
  expected name; the student's file stays as it was.
- A file that is not a readable notebook (broken JSON, empty, binary): moved aside as
  NAME.ipynb.unreadable (kept byte for byte) and replaced by an empty notebook, so the
  student is recorded with the marks an empty notebook gets instead of breaking the run.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from rnnlab.grading import incidents

UNREADABLE_NOTE = "提交的文件无法作为笔记本读取（{why}），原文件已保存为 {kept}。本次按空白作业批改。"


def _source_folder(coursedir, assignment: str) -> Path:
    return Path(coursedir.format_path(coursedir.source_directory, ".", assignment))


def _readable(path: Path) -> str | None:
    """None if `path` is a readable notebook, else why not (in Chinese)."""
    try:
        nbformat.read(str(path), as_version=4)
    except UnicodeDecodeError:
        return "不是 UTF-8 文本"
    except Exception as e:  # JSON errors, nbformat errors, missing keys...
        return f"{type(e).__name__}"
    return None


def _grade_ids(path: Path) -> set[str]:
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return set()
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells} - {None}


def pre_convert_hook(assignment=None, student=None, notebooks=None, **_):
    """Called by nbgrader for each submission folder, before its notebooks are converted."""
    if not notebooks:
        return
    folder = Path(notebooks[0]).parent
    aid, sid = folder.name, folder.parent.name
    coursedir = _coursedir()
    course, source = Path(coursedir.root), _source_folder(coursedir, aid)
    expected = sorted(p.stem for p in source.glob("*.ipynb"))

    present = {Path(p).stem: Path(p) for p in notebooks}
    strangers = [p for stem, p in present.items() if stem not in expected]
    for name in expected:
        if name in present or not strangers:
            continue
        source_ids = _grade_ids(source / f"{name}.ipynb")
        best = max(strangers, key=lambda p: len(_grade_ids(p) & source_ids))
        target = folder / f"{name}.ipynb"
        shutil.copy2(best, target)
        strangers.remove(best)
        notebooks.append(str(target))
        incidents.record(aid, sid, f"提交的文件名是 {best.name}，已复制为 {target.name} 进行批改（原文件保留）",
                         log=_log(), course_dir=course)

    for path in [Path(p) for p in notebooks if Path(p).stem in expected]:
        why = _readable(path)
        if why is None:
            continue
        kept = path.with_name(path.name + ".unreadable")
        if kept.exists():
            kept = path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.unreadable")
        path.rename(kept)
        nb = new_notebook(cells=[new_markdown_cell(UNREADABLE_NOTE.format(why=why, kept=kept.name))])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(path))
        incidents.record(aid, sid, UNREADABLE_NOTE.format(why=why, kept=kept.name), log=_log(), course_dir=course)


def _app():
    from traitlets.config import Application

    return Application.instance() if Application.initialized() else None


def _log():
    """nbgrader's application log, so the line shows where the instructor is looking."""
    app = _app()
    return app.log if app is not None else None


def _coursedir():
    """The running nbgrader app's CourseDirectory (folder names and root as configured).

    nbgrader calls the hook with ids and paths only; elsewhere (formgrader) one is built
    from the application's config.
    """
    from nbgrader.coursedir import CourseDirectory

    app = _app()
    coursedir = getattr(app, "coursedir", None)
    return coursedir if isinstance(coursedir, CourseDirectory) else CourseDirectory(config=getattr(app, "config", None))
