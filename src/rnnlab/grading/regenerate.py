"""Regenerate release/ (student versions) and solutions/ (executed) from source/.

Used by `python -m rnnlab.grading regenerate [AID ...]` (make assignments). The solutions
carry no execution timestamps (c.Execute.record_timing = False in nbgrader_config.py), so
regenerating unchanged sources changes no file, and ExecuteSolution writes each cell's
printed text as one output, however the kernel happened to split it.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import Execute
from traitlets import Bool

from rnnlab.grading.nbgrader_cli import CourseError, assignment_ids, run_nbgrader


class ExecuteSolution(Execute):
    """nbgrader's Execute with stream outputs merged, for generate_solution.

    The kernel flushes stdout every 0.2 s, so on a loaded machine print("...") can arrive as
    two messages ("..." and "\\n") and be written as two outputs: a committed solution that
    no longer regenerates byte for byte (this failed CI once). nbclient can merge them, but
    its coalesce_streams is not a configurable trait, hence this class.
    """

    coalesce_streams = Bool(True)


def regenerate(course_dir: Path, ids: list[str] | None = None) -> list[str]:
    """Run nbgrader generate_assignment and generate_solution for each assignment id."""
    known = assignment_ids(course_dir)
    ids = ids or known
    unknown = [a for a in ids if a not in known]
    if unknown:
        raise CourseError(f"source/ 下没有作业 {unknown}；现有的作业：{known}")
    for aid in ids:
        run_nbgrader(course_dir, "generate_assignment", aid, "--force")
        run_nbgrader(course_dir, "generate_solution", aid, "--force")
    return ids
