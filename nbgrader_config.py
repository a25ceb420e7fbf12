"""nbgrader configuration: the course repository is the nbgrader course directory.

The course's own plug-ins live in rnnlab.grading.plugins (src/rnnlab/grading/plugins/); the
instructor commands (python -m rnnlab.grading ...) in rnnlab.grading.commands.

Everything here applies to `nbgrader autograde` run from the CLI and from formgrader.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearMarkScheme, ClearOutput, DeduplicateIds, GetGrades, IgnorePattern,
    IncludeHeaderFooter, LimitOutput, LockCells, OverwriteKernelspec,
)

from rnnlab.grading import assignment_lock, gradebook
from rnnlab.grading.plugins import feedback_templates
from rnnlab.grading.plugins.escape_links import RemoveEscapeLinks
from rnnlab.grading.plugins.execute_solution import ExecuteSolution
from rnnlab.grading.plugins.feedback_filter import FeedbackFilter
from rnnlab.grading.plugins.guarded_execute import GuardedExecute
from rnnlab.grading.plugins.manual_grades import KeepManualGrades
from rnnlab.grading.plugins.pre_convert_hook import pre_convert_hook
from rnnlab.grading.plugins.report_incidents import ReportIncidents
from rnnlab.grading.plugins.restore_cells import RestoreCells

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "rnnlab-zh"
# The gradebook: gradebook.db in this folder (nbgrader's default), or, for a class with several graders,
# the PostgreSQL database the environment variable RNNLAB_DB_URL names (rnnlab/grading/gradebook.py).
if gradebook.server_url():
    c.CourseDirectory.db_url = gradebook.server_url()
# There, nbgrader's own autograde (the CLI, Formgrader's button) takes the assignment's lock as
# `python -m rnnlab.grading autograde` does: one grader per assignment at a time (rnnlab/grading/assignment_lock.py).
assignment_lock.guard_nbgrader_autograde()
# Executed solution notebooks are committed under solutions/ (nbgrader's default is "solution").
c.CourseDirectory.solution_directory = "solutions"

# What a student sees in place of the reference solution.
c.ClearSolutions.code_stub = {"python": "# 在此处编写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "在此处写下你的回答。"

# Per-cell time limit while autograding. The slowest legitimate cell (the set-up cell that
# imports torch) takes ~2 s and every test cell well under 1 s; 30 s leaves room for a loaded
# machine while an infinite loop costs at most 30 s before the next cell runs.
c.Execute.timeout = 30
# No per-cell execution timestamps in solutions/ (generate_solution runs Execute): it is
# committed, and regenerating unchanged sources must change no file. Autograded notebooks
# (GuardedExecute) keep theirs.
c.Execute.record_timing = False
c.GuardedExecute.record_timing = True
# One stream output per cell in solutions/, however the kernel split a print (plugins/execute_solution.py).
c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme, ExecuteSolution]
# A graded kernel is killed when its last cell has run, not asked to shut down and waited for
# (about 0.4 s per submission): every output is in by then, and the sandbox dies with it.
c.GuardedExecute.shutdown_kernel = "immediate"

# Submissions as they really arrive: renamed or unreadable notebooks (plugins/pre_convert_hook.py); deleted,
# moved, edited or re-typed test cells restored from the gradebook (RestoreCells, which
# replaces nbgrader's OverwriteCells.add_missing_cells: that one crashes when an answer
# cell was deleted too); dying kernels, floods of output, monkey-patched comparisons
# (GuardedExecute); a log line for what the sandbox stopped (ReportIncidents); symlinks
# planted out of the submission folder (RemoveEscapeLinks); a manual grade of an answer
# that has not changed stays graded on a re-run (KeepManualGrades, nbgrader's SaveAutoGrades
# otherwise asks for every manual grade to be reviewed again).
c.Autograde.pre_convert_hook = pre_convert_hook
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCells, CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    GuardedExecute, ReportIncidents, RemoveEscapeLinks, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, KeepManualGrades, AssignLatePenalties, CheckCellMetadata,
]

# Student code runs in a bubblewrap sandbox (rnnlab/grading/plugins/sandbox.py): it cannot see the
# gradebook or other students' work, write outside its own folder, or reach the network.
# Without bubblewrap, grading refuses; False runs student code with your rights.
c.GuardedExecute.sandbox = True
c.SandboxedKernelManager.memory_limit_mb = 2048   # address space per kernel process; a kernel with torch uses ~650 MiB
c.SandboxedKernelManager.cpu_limit_seconds = 600

# Feedback HTML with Chinese labels (rnnlab/grading/plugins/templates/feedback), from the CLI and
# from formgrader alike: formgrader always asks for the template named "feedback", so ours
# carries that name and its folder comes first.
c.HTMLExporter.extra_template_basedirs = feedback_templates.template_basedirs()
# What feedback may show (rnnlab/grading/plugins/feedback_filter.py): hidden tests and any reference
# solution replaced by a placeholder, errors cut to their name and (Chinese) message, no
# traceback frames, no absolute paths. Between nbgrader's own two steps: after GetGrades has
# read the scores, before the page's CSS is gathered. The template loads nothing from the network.
c.GenerateFeedback.preprocessors = [GetGrades, FeedbackFilter, CSSHTMLHeaderPreprocessor]
