"""The environment files agree with each other and with the README's commands."""

from __future__ import annotations

import re
import tomllib

import yaml

# conda-forge names of the runtime dependencies whose PyPI names differ.
CONDA_NAME = {"torch": "pytorch", "matplotlib": "matplotlib-base"}


def _pins(requirements):
    out = {}
    for req in requirements:
        name, _, version = req.partition("==")
        assert version, f"{req}: 依赖必须固定版本（==）"
        out[name.strip().lower()] = version.strip()
    return out


def _pyproject(repo):
    return tomllib.loads((repo / "pyproject.toml").read_text())["project"]


def test_environment_yml_matches_pyproject(repo):
    runtime = _pins(_pyproject(repo)["dependencies"])
    env = yaml.safe_load((repo / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = {}
    pip_section = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section += dep.get("pip", [])
            continue
        name, _, rest = dep.partition("=")
        conda[name] = rest
    for name, version in runtime.items():
        cname = CONDA_NAME.get(name, name)
        assert cname in conda, f"environment.yml 缺少 {cname}"
        assert conda[cname].split("=")[0] == version, f"{cname}: environment.yml {conda[cname]} ≠ pyproject {version}"
    assert re.fullmatch(r"2\.13\.0=cpu\*", conda["pytorch"]), "Binder 上必须是 CPU 版 torch"
    assert conda["python"] == "3.11"
    assert "-e ." in pip_section or "." in pip_section, "environment.yml 应通过 pip 安装课程包"


def test_constraints_agree_with_pyproject(repo):
    project = _pyproject(repo)
    pinned = _pins(project["dependencies"] + project["optional-dependencies"]["test"])
    constraints = {}
    for line in (repo / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition(";")[0].partition("==")  # drop an environment marker
            constraints[name.lower().replace("_", "-")] = version.strip()
    for name, version in pinned.items():
        if name == "torch":
            assert "torch" not in constraints  # installed first, from a CPU-only source
            continue
        key = name.replace("_", "-")
        assert constraints.get(key) == version, f"constraints.txt 中 {name} 为 {constraints.get(key)}，pyproject 为 {version}"


def test_apt_txt_has_a_cjk_font(repo):
    assert "fonts-noto-cjk" in (repo / "apt.txt").read_text().split()


def test_ci_runs_the_readme_test_command(repo):
    readme = (repo / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = (repo / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_nbgrader_config_settings(repo):
    from traitlets.config import Config
    c = Config()
    exec(compile((repo / "nbgrader_config.py").read_text(), "nbgrader_config.py", "exec"), {"get_config": lambda: c})
    assert c.CourseDirectory.solution_directory == "solutions"
    assert "add_missing_cells" not in c.OverwriteCells  # RestoreCells does it, nbgrader's is never used
    assert c.Execute.record_timing is False  # solutions/ regenerate byte for byte
    from pathlib import Path
    assert (Path(c.HTMLExporter.extra_template_basedirs[0]) / "feedback" / "index.html.j2").is_file()
    assert 10 <= c.Execute.timeout <= 120
    assert "NotImplementedError" in c.ClearSolutions.code_stub["python"]
    assert re.search(r"[\u4e00-\u9fff]", c.ClearSolutions.code_stub["python"])
