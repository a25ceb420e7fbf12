"""Chinese feedback: where nbgrader finds the course's feedback template (templates/feedback).

nbgrader_config.py puts these folders in HTMLExporter.extra_template_basedirs, so feedback
made from the CLI or from formgrader reads the same. The labels live in the template: the
student's own code and answers are rendered as written, never translated.
What the pages may show (no hidden tests, reference solutions, tracebacks or absolute paths)
is decided before rendering, by rnnlab.grading.plugins.feedback_filter.FeedbackFilter in
GenerateFeedback.preprocessors; the template loads nothing from the network.
"""

from __future__ import annotations

from pathlib import Path

import nbgrader

TEMPLATES = Path(__file__).resolve().parent / "templates"
# nbgrader's own templates (formgrader's "formgrade" among them) stay findable after ours.
NBGRADER_TEMPLATES = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader" / "templates"


def template_basedirs() -> list[str]:
    """Ours first, so that the template named "feedback" is the Chinese one."""
    return [str(TEMPLATES), str(NBGRADER_TEMPLATES)]
