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

from rnnlab.grading import incidents
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
    per_student: dict[str, int] = {}
    for e in incidents.read(course_dir, assignment):
        per_student[e["student"]] = per_student.get(e["student"], 0) + 1
    ordered = sorted(questions.values(), key=lambda q: (-(q.zero + q.partial), q.notebook, q.grade_id))
    return ordered, n, per_student


def format_table(questions: list[Question], n: int, per_student: dict[str, int]) -> str:
    lines = [f"共 {n} 份提交。按失分人数排序：",
             f"{'题目（grade_id）':<40}{'分值':>6}{'满分':>6}{'部分':>6}{'零分':>6}{'待评':>6}{'平均':>8}"]
    for q in questions:
        lines.append(f"{q.grade_id:<40}{q.points:>6g}{q.full:>6}{q.partial:>6}{q.zero:>6}{q.ungraded:>6}{q.mean:>8.2f}")
    if per_student:
        lines.append("批改时有情况记录的学生（详见 grading_incidents.jsonl）：")
        lines += [f"  {sid}：{count} 条" for sid, count in sorted(per_student.items())]
    return "\n".join(lines)


def write_csv(questions: list[Question], dest: Path) -> None:
    with dest.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["notebook", "grade_id", "points", "full", "partial", "zero", "ungraded", "mean"])
        for q in questions:
            w.writerow([q.notebook, q.grade_id, q.points, q.full, q.partial, q.zero, q.ungraded, round(q.mean, 3)])
