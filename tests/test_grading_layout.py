"""rnnlab.grading keeps its two jobs apart: plug-ins nbgrader loads (plugins/) and instructor commands (commands/).

Read with `ast`, nothing imported: no import cycle between rnnlab.grading modules (imports inside
functions included), no plug-in importing a command, and cli.py holding no grading logic.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import rnnlab.grading

PACKAGE = Path(rnnlab.grading.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent.parent).with_suffix("")
        if "student_edition_template" in rel.parts:
            continue
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        names[".".join(parts)] = path
    return names


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The rnnlab.grading modules `path` imports (a package's import of its submodule counted as the submodule)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    names = module_names()
    return {m: imports_of(p, set(names)) - {m} for m, p in names.items()}


def test_the_walk_sees_the_layout():
    g = graph()
    assert "rnnlab.grading.commands.autograde" in g and "rnnlab.grading.plugins.sandbox" in g
    assert "rnnlab.grading.plugins.sandbox" in g["rnnlab.grading.commands.autograde"]
    assert "rnnlab.grading.gradebook" in g["rnnlab.grading.commands.manual"]


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_rnnlab_grading():
    assert find_cycle(graph()) is None, " -> ".join(find_cycle(graph()))


def test_no_plugin_imports_a_command_or_the_cli():
    bad = {m: sorted(n for n in deps if n.startswith("rnnlab.grading.commands") or n == "rnnlab.grading.cli")
           for m, deps in graph().items() if m.startswith("rnnlab.grading.plugins")}
    assert not {m: d for m, d in bad.items() if d}


def test_cli_only_parses_and_dispatches():
    from rnnlab.grading import cli

    assert graph()["rnnlab.grading.cli"] == {"rnnlab.grading.course"}
    for name, (module, function) in cli.COMMANDS.items():
        assert callable(getattr(importlib.import_module(f"rnnlab.grading.commands.{module}"), function)), name
    assert set(cli.COMMANDS) == set(cli.build_parser()._subparsers._group_actions[0].choices)


def test_the_kernel_guard_package_imports_nothing():
    """A sandboxed kernel imports rnnlab.grading.plugins.kernel_guard: its packages must not pull in nbgrader."""
    for pkg in ("rnnlab.grading", "rnnlab.grading.plugins"):
        assert graph()[pkg] == set(), pkg


def test_nbgrader_and_the_instructor_commands_start_without_torch(repo):
    """Every nbgrader command loads nbgrader_config.py and its plug-ins: importing torch there cost
    about 1 s per command (grading kernels import torch themselves, in their own process)."""
    import subprocess
    import sys

    code = ("import runpy, sys; runpy.run_path('nbgrader_config.py', init_globals={'get_config': lambda: "
            "__import__('traitlets.config', fromlist=['Config']).Config()})\n"
            "import rnnlab.grading.cli, rnnlab.grading.commands.autograde_workers\n"
            "import rnnlab.grading.commands.feedback, rnnlab.grading.commands.export\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False"
