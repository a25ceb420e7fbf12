"""nbgrader configuration: the course repository is the nbgrader course directory."""

c = get_config()  # noqa: F821  (injected by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "rnnlab-zh"
# Executed solution notebooks are committed under solutions/ (nbgrader's default is "solution").
c.CourseDirectory.solution_directory = "solutions"

# What a student sees in place of the reference solution.
c.ClearSolutions.code_stub = {"python": "# 在此处编写你的代码\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "在此处写下你的回答。"

# Per-cell time limit while autograding. The slowest legitimate cell (the set-up cell that
# imports torch) takes ~2 s and every test cell well under 1 s; 30 s leaves room for a loaded
# machine while an infinite loop costs at most 30 s before the next cell runs.
c.Execute.timeout = 30

# A test cell the student deleted is put back at autograde (from the gradebook), so it is
# graded instead of leaving the question "needs manual grade" forever.
c.OverwriteCells.add_missing_cells = True
