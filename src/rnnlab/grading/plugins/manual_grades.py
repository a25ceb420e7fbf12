"""Manual grades that survive re-grading (the part of manual grading nbgrader loads while it autogrades).

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

from nbgrader.preprocessors import SaveAutoGrades
from sqlalchemy import text

from rnnlab.grading import incidents

TABLE = "rnnlab_graded_answer"
CREATE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (assignment TEXT NOT NULL, student TEXT NOT NULL, "
           "notebook TEXT NOT NULL, grade_id TEXT NOT NULL, checksum TEXT NOT NULL, run TEXT NOT NULL, "
           "PRIMARY KEY (assignment, student, notebook, grade_id))")


def answer_checksum(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def last_runs(gb, assignment: str) -> dict[str, str]:
    """{student: the run that last autograded them} (students graded before this table existed are absent)."""
    gb.db.execute(text(CREATE))
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
            self.gradebook.db.execute(text(CREATE))
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
            # An upsert both SQLite (3.24+) and PostgreSQL understand (INSERT OR REPLACE is SQLite's alone).
            text(f"INSERT INTO {TABLE} VALUES (:a, :s, :n, :g, :c, :r) "
                 "ON CONFLICT (assignment, student, notebook, grade_id) "
                 "DO UPDATE SET checksum = excluded.checksum, run = excluded.run"),
            {"a": self.assignment_id, "s": self.student_id, "n": self.notebook_id, "g": grade_id, "c": now,
             "r": incidents.current_run()})
        self.gradebook.db.commit()
