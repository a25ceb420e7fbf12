"""Student-facing checks: `rnnlab.checks.core` holds the tamper-resistant comparisons,
`rnnlab.checks.<assignment id>` the visible checks of one assignment (1:1 with source/<aid>).

    from rnnlab.checks import a2_rnn as checks   # an assignment's own module

The names below keep `from rnnlab import checks; checks.check_rnn_cell_step(...)` working
in notebooks already released to students (a1_rnncell and its hidden tests use them).
"""

from rnnlab.checks.a1_rnncell import (
    check_rnn_cell_param_shapes, check_rnn_cell_step, check_rnn_cell_step_bias_none, check_rnn_cell_step_relu,
    check_run_rnn_cell, check_run_rnn_cell_any_cell, check_run_rnn_cell_default_h0, check_run_rnn_cell_gradient,
)
from rnnlab.checks.core import (
    ATOL, RTOL, CheckFailed, call, check_is_tensor, check_shape, check_values, close, derive, describe, expect_close,
    fail,
    is_plain_tensor, max_abs_diff, shape_of, unpack_pair,
)

__all__ = [
    "ATOL", "RTOL", "CheckFailed", "call", "check_is_tensor", "check_rnn_cell_param_shapes", "check_rnn_cell_step",
    "check_rnn_cell_step_bias_none", "check_rnn_cell_step_relu", "check_run_rnn_cell", "check_run_rnn_cell_any_cell",
    "check_run_rnn_cell_default_h0", "check_run_rnn_cell_gradient", "check_shape", "check_values", "close", "derive",
    "describe", "expect_close", "fail", "is_plain_tensor", "max_abs_diff", "shape_of", "unpack_pair",
]


def __getattr__(name: str):
    """`checks.check_manual_rnn` after a cell rebound `checks` to this package: say where it lives."""
    if name.startswith("check_"):
        import importlib

        from rnnlab import chapters

        for module in chapters.checks_modules():
            if hasattr(importlib.import_module(module), name):
                raise AttributeError(
                    f"rnnlab.checks 里没有 {name}：它在 {module}。是不是某个单元格里写了 `from rnnlab import checks`，"
                    f"把作业开头的 `from {module.rsplit('.', 1)[0]} import {module.rsplit('.', 1)[1]} as checks` 覆盖了？"
                    "删掉那一行，再重新运行最上面的设置单元格。")
    raise AttributeError(f"module 'rnnlab.checks' has no attribute {name!r}")
