"""The executed lectures every part of the teacher's kit is made from (site, handouts, slides).

    from rnnlab.grading.lectures_export import executed_lectures
    paths = executed_lectures(course)            # build/kit/executed/<lecture>.ipynb, one per lecture

Each lecture of the course's manifest (`rnnlab.chapters.lectures()` of the course being built) runs
top to bottom with nbclient in a fresh kernel, in notebooks/ (as a student runs it), with
OMP_NUM_THREADS=1 (the lectures seed themselves; one thread keeps the numbers and the CPU bill
steady) and the course's own src/ first on PYTHONPATH. The result is written with a hash of the
lecture file and of every file under src/rnnlab (but rnnlab.grading) in its metadata (`rnnlab_kit.source_hash`): a later
call re-runs only the lectures whose hash changed.

Exports cannot run widgets, so the widget view of every output is dropped, and the notebook's
widget state with it (no widget manager to fetch from a CDN): what remains of an explorer or a quiz
is the static text/html picture of its default view that it displays next to the widget
(rnnlab.explorers.static). A figure keeps its Chinese description in the output's metadata ("alt").

Every failure is a CourseError with one Chinese sentence (which lecture, which cell, what to do).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from rnnlab.grading.course import CourseError, write_error

EXECUTED = Path("build/kit/executed")  # relative to the course directory
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
META_KEY = "rnnlab_kit"
TIMEOUT = 600  # seconds a cell may run (chapter 6 trains small models)


def course_lectures(course: Path) -> list[str]:
    """The lecture file names of the course in `course`, from its own manifest, the overview first."""
    from rnnlab.grading.commands.student_edition import course_map

    manifest = course / "src" / "rnnlab" / "chapters.py"
    if not manifest.is_file():
        raise CourseError(f"课程目录 {course} 里没有章节清单 src/rnnlab/chapters.py，无法导出讲义。")
    try:
        module = course_map(course)
        names = list(module.lectures())
    except Exception as e:
        raise CourseError(f"读不了章节清单 {manifest}：{type(e).__name__}: {e}") from None
    missing = [n for n in names if not (course / "notebooks" / n).is_file()]
    if missing:
        raise CourseError(f"章节清单列出的讲义 {'、'.join(missing)} 在 notebooks/ 里不存在：请补上讲义，"
                          "或从 src/rnnlab/chapters.py 里去掉这一章。")
    return names


def chapter_of(course: Path, lecture: str):
    """The manifest's Chapter of `lecture`, or None for the overview."""
    from rnnlab.grading.commands.student_edition import course_map

    return next((c for c in course_map(course).CHAPTERS if c.lecture == lecture), None)


def source_hash(course: Path, lecture: str) -> str:
    """sha256 of the lecture file and of every file under src/rnnlab but rnnlab.grading (names and contents, sorted)."""
    h = hashlib.sha256()
    h.update((course / "notebooks" / lecture).read_bytes())
    package = course / "src" / "rnnlab"
    # rnnlab.grading is left out: the instructor's tools, which no lecture imports (the student
    # edition, which has no rnnlab.grading, runs every lecture).
    files = (p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
             and p.relative_to(package).parts[0] != "grading")
    for path in sorted(files):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def strip_widgets(nb) -> None:
    """Drop every widget view and the widget state: exports show the static views instead."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                output.get("metadata", {}).pop(WIDGET_VIEW, None)


def _cached(path: Path, digest: str) -> bool:
    import nbformat

    if not path.is_file():
        return False
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return False
    return nb.metadata.get(META_KEY, {}).get("source_hash") == digest


def execute(course: Path, lecture: str, out: Path, timeout: int = TIMEOUT) -> Path:
    """Run one lecture in a fresh kernel and write it, widgets stripped, to out/<lecture>."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    src = course / "notebooks" / lecture
    nb = nbformat.read(str(src), as_version=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(course / "src"), os.environ.get("PYTHONPATH")]))}
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(course / "notebooks")}})
    try:
        client.execute(env=env)
    except CellTimeoutError:
        raise CourseError(f"讲义 {lecture} 有一个单元格运行超过 {timeout} 秒，已停止：请在 JupyterLab 里运行它，看是哪一格卡住了。") from None
    except CellExecutionError as e:
        last = [line for line in str(e).strip().splitlines() if line.strip()][-1:]
        raise CourseError(f"讲义 {lecture} 运行出错（{' '.join(last)[:300]}）：请先在 JupyterLab 里把它从头到尾运行通过。") from None
    except Exception as e:  # no kernel, a dead kernel
        raise CourseError(f"无法运行讲义 {lecture}（{type(e).__name__}: {e}）：请确认课程环境已安装（make env）。") from None
    strip_widgets(nb)
    nb.metadata[META_KEY] = {"source_hash": source_hash(course, lecture), "lecture": lecture}
    out.mkdir(parents=True, exist_ok=True)
    target = out / lecture
    partial = target.with_name(target.name + ".part")
    nbformat.write(nb, str(partial))
    os.replace(partial, target)
    return target


def executed_lectures(course: Path, out: Path | None = None, only: list[str] | None = None,
                      log=None) -> list[Path]:
    """Every lecture (or those in `only`) executed into `out` (default build/kit/executed), re-running
    only those whose lecture file or src/rnnlab changed since; their paths, in course order."""
    course = Path(course).resolve()
    out = (course / (out or EXECUTED)).resolve()
    names = course_lectures(course)
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise CourseError(f"没有讲义 {'、'.join(unknown)}：可选的讲义有 {'、'.join(names)}。")
        names = [n for n in names if n in only]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CourseError(f"无法写入文件夹 {out}：{write_error(e)}。") from None
    paths = []
    for name in names:
        target = out / name
        if _cached(target, source_hash(course, name)):
            if log:
                log(f"{name}：未改动，沿用已运行的版本")
        else:
            if log:
                log(f"{name}：运行中……")
            execute(course, name, out)
        paths.append(target)
    return paths


def lecture_title(nb) -> str:
    """The first Markdown heading of a notebook, without Markdown marks."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return re.sub(r"[`*]", "", m.group(1)).replace("\u3000", " ").strip()
    return ""
