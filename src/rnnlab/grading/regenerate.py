"""Regenerate release/ (student versions) and solutions/ (executed) from source/.

    python -m rnnlab.grading.regenerate            # every assignment
    python -m rnnlab.grading.regenerate a1_rnncell # just one
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnnlab.grading.nbgrader_cli import CourseError, assignment_ids, find_course_dir, run_nbgrader


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="从 source/ 重新生成 release/ 与 solutions/")
    parser.add_argument("assignments", nargs="*", help="作业编号（默认：全部）")
    parser.add_argument("--course-dir", type=Path, default=None, help="课程目录（默认：向上查找）")
    args = parser.parse_args(argv)
    try:
        course = find_course_dir(args.course_dir)
        done = regenerate(course, args.assignments)
    except CourseError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    for aid in done:
        print(f"已生成 release/{aid}/ 与 solutions/{aid}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
