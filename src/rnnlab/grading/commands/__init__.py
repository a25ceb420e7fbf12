"""The instructor's commands, one module each (`python -m rnnlab.grading COMMAND`, dispatched by cli.py).

Each module's `run(course, args)` (manual: `run_export`, `run_import`) holds that command's steps and
returns the text to print; a failure is a CourseError with one Chinese sentence. Commands may use
the plug-ins (plugins/) and the shared helpers (course, gradebook, incidents, spreadsheet); no
plug-in imports a command.
"""
