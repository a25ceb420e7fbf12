"""Regenerate release/ (student versions) and solutions/ (executed) from source/.

Used by `python -m rnnlab.grading regenerate [AID ...]` (make assignments). The solutions
carry no execution timestamps (c.Execute.record_timing = False in nbgrader_config.py), so
regenerating unchanged sources changes no file, and ExecuteSolution (plugins/execute_solution.py) writes each cell's
printed text as one output, however the kernel happened to split it.
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.grading.course import CourseError, assignment_ids, run_nbgrader


def regenerate(course_dir: Path, ids: list[str] | None = None) -> list[str]:
    """Run nbgrader generate_assignment and generate_solution for each assignment id."""
    known = assignment_ids(course_dir)
    ids = ids or known
    unknown = [a for a in ids if a not in known]
    if unknown:
        raise CourseError(f"source/ 下没有作业 {unknown}；现有的作业：{known}")
    # Every assignment at once is nbgrader's glob "*": two nbgrader processes instead of two per
    # assignment (each start costs about two seconds). The files written are the same.
    for pattern in ["*"] if sorted(ids) == known else ids:
        run_nbgrader(course_dir, "generate_assignment", pattern, "--force")
        run_nbgrader(course_dir, "generate_solution", pattern, "--force")
    return ids


def run(course: Path, args) -> str:
    done = regenerate(course, args.assignments)
    return "\n".join(f"已生成 release/{a}/ 与 solutions/{a}/" for a in done)
