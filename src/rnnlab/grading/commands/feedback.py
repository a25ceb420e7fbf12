"""`python -m rnnlab.grading feedback AID`: Chinese HTML feedback in feedback/<学号>/AID/.

`nbgrader generate_feedback` does the work; what the pages show and how they read is decided by the
plug-ins nbgrader_config.py loads (plugins/feedback_filter.py, plugins/feedback_templates.py).
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.grading.course import known_assignment, run_nbgrader


def run(course: Path, args) -> str:
    aid = known_assignment(course, args.assignment)
    run_nbgrader(course, "generate_feedback", aid, "--force")
    files = sorted((course / "feedback").glob(f"*/{aid}/*.html"))
    return f"已为 {len({f.parent.parent.name for f in files})} 名学生生成中文反馈：feedback/<学号>/{aid}/*.html"
