"""rnnlab: the course's companion package (shapes, explorers, figures, checks).

Kept import-light on purpose: `import rnnlab` must not pull in torch, widgets or
matplotlib; import the submodule you need (`from rnnlab.checks import ...`).
It never holds a reference solution of a graded exercise: students have it installed.
"""

__version__ = "0.1.0"
