"""The course's nbgrader preprocessors, in the order nbgrader_config.py runs them (one module each).

- RestoreCells (sanitising, rnnlab.grading.restore_cells): test and locked cells graded as written.
- GuardedExecute (rnnlab.grading.guarded_execute): sandboxed kernels, restarts, output cap, guard.
- ReportIncidents (rnnlab.grading.report_incidents): a log line per noteworthy error.
- RemoveEscapeLinks (rnnlab.grading.escape_links): symlinks out of the submission folder removed.
"""

from rnnlab.grading.escape_links import RemoveEscapeLinks
from rnnlab.grading.guarded_execute import GuardedExecute
from rnnlab.grading.report_incidents import ReportIncidents
from rnnlab.grading.restore_cells import RestoreCells

__all__ = ["GuardedExecute", "RemoveEscapeLinks", "ReportIncidents", "RestoreCells"]
