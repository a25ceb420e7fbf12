"""Manual grades without a browser: one CSV row per (student, written answer), filled in Excel.

    python -m rnnlab.grading manual-export AID [简答.csv]   # written answers + rubric -> CSV
    python -m rnnlab.grading manual-import AID 简答.csv     # the filled scores/comments -> gradebook

An import checks every row first and writes nothing if one is wrong. Grades written here survive
the next autograde run through plugins/manual_grades.py (KeepManualGrades).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rnnlab.grading import gradebook
from rnnlab.grading.course import CourseError, known_assignment
from rnnlab.grading.spreadsheet import write_table

HEADER = ["学号", "姓名", "题目", "答案", "评分标准", "满分", "得分", "评语"]


def _cells_by_id(path) -> dict:
    import nbformat

    if not path.is_file():
        return {}
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # an unreadable submission: its answer shows as empty
        return {}
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def _rubric(source: str) -> str:
    lines = [ln for ln in source.splitlines() if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
    return "\n".join(lines).strip()


def _written_cells(gb, aid: str) -> list[tuple[str, str, float]]:
    """(notebook, grade_id, max_score) of every written (markdown) grade cell, in notebook order."""
    from nbgrader.api import MissingEntry

    try:
        a = gb.find_assignment(aid)
    except MissingEntry:
        raise CourseError(f"成绩册里没有作业 {aid}：先运行 autograde {aid}。") from None
    return [(nb.name, c.name, c.max_score) for nb in sorted(a.notebooks, key=lambda n: n.name)
            for c in nb.grade_cells if c.cell_type == "markdown"]


def _number(x) -> str:
    return "" if x is None else f"{x:g}"


def export_rows(course, aid: str) -> list[list[str]]:
    rows = []
    with gradebook.open(course, wait=True) as gb:
        cells = _written_cells(gb, aid)
        subs = sorted(gb.find_assignment(aid).submissions, key=lambda s: s.student.id)
        for nb_name in dict.fromkeys(n for n, _, _ in cells):
            source = _cells_by_id(course / "source" / aid / f"{nb_name}.ipynb")
            for sub in subs:
                sid = sub.student.id
                name = f"{sub.student.last_name or ''}{sub.student.first_name or ''}"
                answers = (_cells_by_id(course / "autograded" / sid / aid / f"{nb_name}.ipynb")
                           or _cells_by_id(course / "submitted" / sid / aid / f"{nb_name}.ipynb"))
                for nb, grade_id, points in cells:
                    if nb != nb_name:
                        continue
                    grade = gb.find_grade(grade_id, nb, aid, sid)
                    comment = gb.find_comment(grade_id, nb, aid, sid)
                    answer = answers.get(grade_id)
                    rubric = source.get(grade_id)
                    rows.append([sid, name, grade_id, answer.source if answer is not None else "",
                                 _rubric(rubric.source) if rubric is not None else "", _number(points),
                                 _number(grade.manual_score), comment.manual_comment or ""])
    return rows


def run_export(course: Path, args) -> str:
    """manual-export AID [简答.csv]."""
    known_assignment(course, args.assignment)
    rows = export_rows(course, args.assignment)
    if not rows:
        raise CourseError(f"{args.assignment} 还没有需要人工评分的简答题答案：先运行 autograde {args.assignment}。")
    dest = Path(args.to)
    dest = (dest if dest.is_absolute() else Path.cwd() / dest).resolve()
    write_table(HEADER, rows, dest)
    return (f"已把 {len({r[0] for r in rows})} 名学生的 {len(rows)} 道简答题写入 {dest}（UTF-8 带 BOM，Excel 可直接打开）。"
            f"在“得分”“评语”两列填好后运行：python -m rnnlab.grading manual-import {args.assignment} {args.to}")


def read_import(course, aid: str, path) -> list[tuple[str, str, str, float | None, str]]:
    """Every row checked first: [(student, notebook, grade_id, score or None, comment)], or CourseError
    naming each bad row (nothing is written then)."""
    if not path.is_file():
        raise CourseError(f"找不到文件 {path}。")
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel on Chinese Windows may save it as GBK
        try:
            text_ = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CourseError(f"读不懂 {path} 的编码：请另存为“CSV UTF-8”。")
    table = list(csv.reader(io.StringIO(text_)))
    if not table or [h.strip() for h in table[0][:len(HEADER)]] != HEADER:
        raise CourseError(f"{path} 的第一行应是表头：{','.join(HEADER)}（用 manual-export 生成的文件）。")
    with gradebook.open(course, wait=True) as gb:
        cells = {g: (nb, points) for nb, g, points in _written_cells(gb, aid)}
        submitted = {s.student.id for s in gb.find_assignment(aid).submissions}
    errors, out, seen = [], [], {}
    for i, row in enumerate(table[1:], start=2):
        if not any(x.strip() for x in row):
            continue
        row = row + [""] * (len(HEADER) - len(row))
        sid, grade_id, score_text, comment = row[0].strip(), row[2].strip(), row[6].strip(), row[7].strip()
        where = f"第 {i} 行（学号 {sid or '空'}，题目 {grade_id or '空'}）"
        if sid not in submitted:
            errors.append(f"{where}：{aid} 没有这个学生的提交。")
            continue
        if grade_id not in cells:
            errors.append(f"{where}：{aid} 没有这道简答题；有的是 {'、'.join(cells) or '（无）'}。")
            continue
        nb, points = cells[grade_id]
        if (sid, grade_id) in seen:
            errors.append(f"{where}：和第 {seen[(sid, grade_id)]} 行重复。")
            continue
        seen[(sid, grade_id)] = i
        score = None
        if score_text:
            try:
                score = float(score_text)
            except ValueError:
                errors.append(f"{where}：得分 {score_text!r} 不是数字。")
                continue
            if not 0 <= score <= points:
                errors.append(f"{where}：得分 {score_text} 不在 0 到满分 {points:g} 之间。")
                continue
        elif comment:
            errors.append(f"{where}：写了评语却没有得分。")
            continue
        out.append((sid, nb, grade_id, score, comment))
    if errors:
        shown = errors[:20] + ([f"……还有 {len(errors) - 20} 行有问题。"] if len(errors) > 20 else [])
        raise CourseError(f"{path} 有 {len(errors)} 行不对，成绩册没有任何改动：\n" + "\n".join(shown))
    return out


def run_import(course: Path, args) -> str:
    """manual-import AID 简答.csv."""
    known_assignment(course, args.assignment)
    path = Path(args.csv)
    path = path if path.is_absolute() else Path.cwd() / path
    rows = read_import(course, args.assignment, path)
    graded = [r for r in rows if r[3] is not None]
    with gradebook.open(course, wait=True) as gb:  # one transaction: every row or none
        try:
            for sid, nb, grade_id, score, comment in graded:
                grade = gb.find_grade(grade_id, nb, args.assignment, sid)
                grade.manual_score = score
                grade.needs_manual_grade = False
                gb.find_comment(grade_id, nb, args.assignment, sid).manual_comment = comment or None
            gb.db.commit()
        except Exception:
            gb.db.rollback()
            raise
    left = len(rows) - len(graded)
    return (f"已把 {len(graded)} 道简答题的得分和评语写入成绩册（formgrader 里看到的也是这些）。"
            + (f"还有 {left} 道没有填得分，仍是“待评”。" if left else ""))
