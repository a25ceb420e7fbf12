"""What nbgrader loads through nbgrader_config.py while it generates, grades or gives feedback.

- pre_convert_hook: renamed or unreadable submitted notebooks made gradable (Autograde.pre_convert_hook).
- restore_cells.RestoreCells: test and locked cells graded as written (sanitising).
- guarded_execute.GuardedExecute: sandboxed kernels (sandbox.SandboxedKernelManager), restarts, output cap,
  and before each test cell the kernel guard (kernel_guard, imported inside the student's kernel).
- report_incidents.ReportIncidents: a log line per noteworthy error.
- escape_links.RemoveEscapeLinks: symlinks out of the submission folder removed.
- manual_grades.KeepManualGrades: a manual grade of an unchanged answer stays graded (SaveAutoGrades' place).
- execute_solution.ExecuteSolution: generate_solution's Execute with stream outputs merged.
- feedback_filter.FeedbackFilter and feedback_templates (templates/feedback): what feedback shows, in Chinese.

This package imports nothing itself: kernel_guard is imported inside sandboxed kernels, which must
not pay for nbgrader. No module here imports from rnnlab.grading.commands.
"""
