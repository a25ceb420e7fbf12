"""Per-question summary of a class, read from the gradebook (nbgrader has none).

For every graded cell: its points, how many students got full, partial and no marks,
the mean; the tests that failed most come first. Incidents recorded while grading are
counted per student.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from rnnlab.grading import incidents, manual
from rnnlab.grading.nbgrader_cli import CourseError


@dataclass
class Question:
    notebook: str
    grade_id: str
    points: float
    full: int = 0
    partial: int = 0
    zero: int = 0
    ungraded: int = 0
    total: float = 0.0

    @property
    def graded(self) -> int:
        return self.full + self.partial + self.zero

    @property
    def mean(self) -> float:
        return self.total / self.graded if self.graded else 0.0


def summarise(course_dir: Path, assignment: str) -> tuple[list[Question], int, dict[str, int]]:
    """(questions sorted by how often they were failed, number of submissions, incidents per student)."""
    db = course_dir / "gradebook.db"
    if not db.is_file():
        raise CourseError(f"{course_dir} 下没有 gradebook.db：请先生成作业并批改。")
    questions: dict[tuple[str, str], Question] = {}
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"成绩册里没有作业 {assignment}。") from None
        for nb in a.notebooks:
            for cell in nb.grade_cells:
                questions[(nb.name, cell.name)] = Question(nb.name, cell.name, cell.max_score)
        submissions = list(a.submissions)
        for sub in submissions:
            for snb in sub.notebooks:
                for g in snb.grades:
                    q = questions.get((snb.name, g.name))
                    if q is None:
                        continue
                    score = g.score if (g.auto_score is not None or g.manual_score is not None) else None
                    if score is None:
                        q.ungraded += 1
                    elif score >= q.points:
                        q.full += 1
                    elif score > 0:
                        q.partial += 1
                    else:
                        q.zero += 1
                    q.total += score or 0.0
        n = len(submissions)
        last_runs = manual.last_runs(gb, assignment)
    # Each student's latest grading run only: re-running autograde does not pile lines up.
    per_student = {sid: len(es) for sid, es in
                   incidents.latest_per_student(incidents.read(course_dir, assignment), last_runs).items()}
    ordered = sorted(questions.values(), key=lambda q: (-(q.zero + q.partial), q.notebook, q.grade_id))
    return ordered, n, per_student


def format_table(questions: list[Question], n: int, per_student: dict[str, int]) -> str:
    lines = [f"共 {n} 份提交。按失分人数排序：",
             f"{'题目（grade_id）':<40}{'分值':>6}{'满分':>6}{'部分':>6}{'零分':>6}{'待评':>6}{'平均':>8}"]
    for q in questions:
        lines.append(f"{q.grade_id:<40}{q.points:>6g}{q.full:>6}{q.partial:>6}{q.zero:>6}{q.ungraded:>6}{q.mean:>8.2f}")
    if per_student:
        lines.append("最近一次批改时有情况记录的学生（详见 grading_incidents.jsonl）：")
        lines += [f"  {sid}：{count} 条" for sid, count in sorted(per_student.items())]
    return "\n".join(lines)


def write_csv(questions: list[Question], dest: Path) -> None:
    with dest.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["notebook", "grade_id", "points", "full", "partial", "zero", "ungraded", "mean"])
        for q in questions:
            w.writerow([q.notebook, q.grade_id, q.points, q.full, q.partial, q.zero, q.ungraded, round(q.mean, 3)])


# ----- grades for Excel: one row per student, one column per graded part ------------------------

NOT_SUBMITTED = "未提交"
PENDING = "待评"


def _number(x: float) -> str:
    return f"{x:g}"


def _cell_order(course_dir: Path, aid: str, notebook: str, names: list[str]) -> list[str]:
    """grade_ids in the order of the source notebook (names the source lacks come last, sorted)."""
    import nbformat

    path = course_dir / "source" / aid / f"{notebook}.ipynb"
    order: list[str] = []
    if path.is_file():
        nb = nbformat.read(str(path), as_version=4)
        order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    known = [n for n in order if n in names]
    return known + sorted(set(names) - set(known))


def grade_table(course_dir: Path, assignments: list[str] | None = None) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of every student's grades, sorted by 学号, read from the gradebook.

    Columns: 学号, 姓名, then for each assignment one column per graded cell and its total; with
    more than one assignment, an overall total. A student without a submission gets 未提交 in
    that assignment's columns; a written answer nobody has graded yet shows 待评.
    """
    db = course_dir / "gradebook.db"
    if not db.is_file():
        raise CourseError(f"{course_dir} 下没有 gradebook.db：还没有导入名单或批改过作业。")
    with Gradebook(f"sqlite:///{db}") as gb:
        known = {a.name: a for a in gb.assignments}
        if assignments:
            missing = [a for a in assignments if a not in known]
            if missing:
                raise CourseError(f"成绩册里没有作业 {missing}；有的是：{sorted(known)}。")
            chosen = [known[a] for a in assignments]
        else:
            chosen = [known[a] for a in sorted(known) if known[a].submissions]
        if not chosen:
            raise CourseError("成绩册里还没有任何批改过的作业：先运行 autograde。")
        header = ["学号", "姓名"]
        columns: list[tuple[str, list[tuple[str, str]]]] = []  # (aid, [(notebook, grade_id)])
        grand_max = 0.0
        for a in chosen:
            parts = []
            for nb in sorted(a.notebooks, key=lambda n: n.name):
                cells = {c.name: c for c in nb.grade_cells}
                for name in _cell_order(course_dir, a.name, nb.name, list(cells)):
                    label = name if len(a.notebooks) == 1 else f"{nb.name}/{name}"
                    header.append(f"{a.name}·{label}（{_number(cells[name].max_score)}分）")
                    parts.append((nb.name, name))
            header.append(f"{a.name} 总分（{_number(a.max_score)}分）")
            grand_max += a.max_score
            columns.append((a.name, parts))
        if len(chosen) > 1:
            header.append(f"总分（{_number(grand_max)}分）")
        students = {s.id: f"{s.last_name or ''}{s.first_name or ''}" for s in gb.students}
        scores: dict[tuple[str, str], dict] = {}  # (aid, student) -> {(notebook, grade_id): text, "total": x}
        for a in chosen:
            for sub in a.submissions:
                got: dict = {}
                for snb in sub.notebooks:
                    for g in snb.grades:
                        graded = g.auto_score is not None or g.manual_score is not None
                        got[(snb.name, g.name)] = _number(g.score) if graded else PENDING
                got["total"] = sub.score - (sub.late_submission_penalty or 0.0)
                scores[(a.name, sub.student.id)] = got
        rows = []
        for sid in sorted(students):
            row, grand = [sid, students[sid]], 0.0
            for aid, parts in columns:
                got = scores.get((aid, sid))
                if got is None:
                    row += [NOT_SUBMITTED] * (len(parts) + 1)
                    continue
                row += [got.get(p, PENDING) for p in parts] + [_number(got["total"])]
                grand += got["total"]
            if len(chosen) > 1:
                row.append(_number(grand))
            rows.append(row)
    return header, rows


def write_table(header: list[str], rows: list[list[str]], dest: Path) -> None:
    """A CSV that Excel on Chinese Windows and LibreOffice open as written (UTF-8 with BOM).

    Written to a temporary file beside `dest` and renamed: an existing file is replaced whole or
    not at all.
    """
    import os
    import tempfile

    dest = Path(dest)
    if not dest.parent.is_dir():
        raise CourseError(f"文件夹 {dest.parent} 不存在：请先建好它，或换一个保存位置。")
    if dest.is_dir():
        raise CourseError(f"{dest} 是一个文件夹：请给出一个文件名，例如 {dest / '成绩.csv'}。")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".csv", dir=dest.parent)
    except OSError as e:
        raise CourseError(f"不能在 {dest.parent} 里写文件（{e.strerror}）：请换一个保存位置。") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
        os.replace(tmp, dest)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise CourseError(f"不能写入 {dest}（{e.strerror}）：如果它正在 Excel 里打开，请先关掉再试。") from None
