"""ExecuteSolution: nbgrader's Execute for generate_solution (nbgrader_config.py, GenerateSolution.preprocessors)."""

from __future__ import annotations

from nbgrader.preprocessors import Execute
from traitlets import Bool


class ExecuteSolution(Execute):
    """nbgrader's Execute with stream outputs merged, for generate_solution.

    The kernel flushes stdout every 0.2 s, so on a loaded machine print("...") can arrive as
    two messages ("..." and "\\n") and be written as two outputs: a committed solution that
    no longer regenerates byte for byte (this failed CI once). nbclient can merge them, but
    its coalesce_streams is not a configurable trait, hence this class.
    """

    coalesce_streams = Bool(True)
