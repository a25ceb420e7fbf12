"""`python -m rnnlab.grading summary AID [--csv F]`: per-question summary of a class, read from the gradebook
(nbgrader has none).

For every graded cell: its points, how many students got full, partial and no marks,
the mean; the tests that failed most come first. Incidents recorded while grading are
counted per student.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import MissingEntry

from rnnlab.grading import gradebook, incidents
from rnnlab.grading.course import CourseError, known_assignment
from rnnlab.grading.plugins import manual_grades


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
    if not gradebook.exists(course_dir):
        raise CourseError(f"{course_dir} 下没有 gradebook.db：请先生成作业并批改。")
    questions: dict[tuple[str, str], Question] = {}
    with gradebook.open(course_dir) as gb:
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
        last_runs = manual_grades.last_runs(gb, assignment)
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


def run(course: Path, args) -> str:
    aid = known_assignment(course, args.assignment)
    questions, n, per_student = summarise(course, aid)
    if args.csv:
        write_csv(questions, Path(args.csv))
    return format_table(questions, n, per_student)
