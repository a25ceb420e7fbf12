"""Manual grades that survive re-grading.

nbgrader's SaveAutoGrades marks every grade that has a manual score as needing review again on
each autograde run, so re-running autograde turned every hand-graded written answer back into
"待人工评分". KeepManualGrades (in nbgrader_config.py's autograde list, in SaveAutoGrades'
place) keeps such a grade graded when the student's answer is the one the grader saw: the
answer text of the run before has the same checksum. A changed answer still asks for review,
as nbgrader intends.

The answer checksums and the run that last graded each submission live in the gradebook
itself (table rnnlab_graded_answer, beside nbgrader's tables): they travel with gradebook.db,
which holds the student data anyway, and SQLite serialises the parallel workers' writes.
"""

from __future__ import annotations

import hashlib

from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import text

from rnnlab.grading import incidents

TABLE = "rnnlab_graded_answer"
_CREATE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (assignment TEXT NOT NULL, student TEXT NOT NULL, "
           "notebook TEXT NOT NULL, grade_id TEXT NOT NULL, checksum TEXT NOT NULL, run TEXT NOT NULL, "
           "PRIMARY KEY (assignment, student, notebook, grade_id))")


def answer_checksum(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def last_runs(gb, assignment: str) -> dict[str, str]:
    """{student: the run that last autograded them} (students graded before this table existed are absent)."""
    gb.db.execute(text(_CREATE))
    rows = gb.db.execute(text(f"SELECT student, MAX(run) FROM {TABLE} WHERE assignment = :a GROUP BY student"),
                         {"a": assignment})
    return {sid: run for sid, run in rows}


class KeepManualGrades(SaveAutoGrades):
    """SaveAutoGrades, except that a manual grade of an unchanged answer stays graded."""

    def preprocess(self, nb, resources):
        self._seen = None
        return super().preprocess(nb, resources)

    def _previous(self) -> dict[str, str]:
        if self._seen is None:
            self.gradebook.db.execute(text(_CREATE))
            rows = self.gradebook.db.execute(
                text(f"SELECT grade_id, checksum FROM {TABLE} WHERE assignment = :a AND student = :s "
                     "AND notebook = :n"),
                {"a": self.assignment_id, "s": self.student_id, "n": self.notebook_id})
            self._seen = dict(rows.all())
        return self._seen

    def _add_score(self, cell, resources) -> None:
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        before = self._previous().get(grade_id)
        super()._add_score(cell, resources)
        now = answer_checksum(cell.source)
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        if grade.manual_score is not None and grade.needs_manual_grade and before == now:
            grade.needs_manual_grade = False
        self.gradebook.db.execute(
            text(f"INSERT OR REPLACE INTO {TABLE} VALUES (:a, :s, :n, :g, :c, :r)"),
            {"a": self.assignment_id, "s": self.student_id, "n": self.notebook_id, "g": grade_id, "c": now,
             "r": incidents.current_run()})
        self.gradebook.db.commit()


# ----- manual grades without a browser: one CSV row per (student, written answer) --------------

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

    from rnnlab.grading.nbgrader_cli import CourseError

    try:
        a = gb.find_assignment(aid)
    except MissingEntry:
        raise CourseError(f"成绩册里没有作业 {aid}：先运行 autograde {aid}。") from None
    return [(nb.name, c.name, c.max_score) for nb in sorted(a.notebooks, key=lambda n: n.name)
            for c in nb.grade_cells if c.cell_type == "markdown"]


def _number(x) -> str:
    return "" if x is None else f"{x:g}"


def export_rows(course, aid: str) -> list[list[str]]:
    from rnnlab.grading.parallel import gradebook

    rows = []
    with gradebook(course) as gb:
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


def cmd_export(course, args) -> str:
    from pathlib import Path

    from rnnlab.grading.nbgrader_cli import CourseError
    from rnnlab.grading.summary import write_table

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
    import csv
    import io

    from rnnlab.grading.nbgrader_cli import CourseError
    from rnnlab.grading.parallel import gradebook

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
    with gradebook(course) as gb:
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


def cmd_import(course, args) -> str:
    from pathlib import Path

    from rnnlab.grading.parallel import gradebook

    path = Path(args.csv)
    path = path if path.is_absolute() else Path.cwd() / path
    rows = read_import(course, args.assignment, path)
    graded = [r for r in rows if r[3] is not None]
    with gradebook(course) as gb:  # one transaction: every row or none
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
