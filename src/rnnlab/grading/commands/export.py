"""`python -m rnnlab.grading export [grades.csv] [--assignment AID ...]`: grades for Excel, one row per student,
one column per graded part, read from the gradebook."""

from __future__ import annotations

from pathlib import Path

from rnnlab.grading import gradebook
from rnnlab.grading.course import CourseError
from rnnlab.grading.spreadsheet import write_table

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
    if not gradebook.exists(course_dir):
        raise CourseError(f"{course_dir} 下没有 gradebook.db：还没有导入名单或批改过作业。")
    with gradebook.open(course_dir) as gb:
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


def run(course: Path, args) -> str:
    dest = Path(args.to)
    dest = (dest if dest.is_absolute() else Path.cwd() / dest).resolve()
    header, rows = grade_table(course, args.assignment or None)
    write_table(header, rows, dest)
    missing = sum(NOT_SUBMITTED in r for r in rows)
    pending = sum(PENDING in r for r in rows)
    lines = [f"成绩已导出到 {dest}：{len(rows)} 名学生，{len(header) - 2} 列成绩"
             f"（UTF-8 带 BOM，Excel 可直接打开）。"]
    if missing:
        lines.append(f"{missing} 名学生有作业“{NOT_SUBMITTED}”。")
    if pending:
        lines.append(f"{pending} 名学生有简答题“{PENDING}”（人工评分后再导出一次）。")
    return "\n".join(lines)
