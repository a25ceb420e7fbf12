"""The environment files agree with each other and with the README's commands."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

def _pins(requirements):
    out = {}
    for req in requirements:
        name, _, version = req.partition("==")
        assert version, f"{req}: 依赖必须固定版本（==）"
        out[name.strip().lower()] = version.strip()
    return out


def _pyproject(repo):
    return tomllib.loads((repo / "pyproject.toml").read_text())["project"]


def test_environment_yml_takes_its_pins_from_constraints(repo):
    """One list of pins: conda-forge gives python and the CPU torch of pyproject.toml, nothing else;
    pip installs the course package with constraints.txt, the same file `make` uses."""
    runtime = _pins(_pyproject(repo)["dependencies"])
    env = yaml.safe_load((repo / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda, pip_section = {}, None
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section = dep["pip"]
            continue
        name, _, rest = dep.partition("=")
        conda[name] = rest
    assert conda["python"] == "3.11"
    assert conda["pytorch"] == f"{runtime['torch']}=cpu*", "Binder 上必须是 pyproject 固定版本的 CPU 版 torch"
    assert set(conda) == {"python", "pytorch", "pip"}, \
        f"除了 python 和 torch，其余依赖都应通过 pip 安装（conda-forge 可能跟不上 PyPI）：{sorted(conda)}"
    assert pip_section == ["-c constraints.txt", "."], \
        "environment.yml 的 pip 部分应当是 `-c constraints.txt` 和 `.`（非 editable，才会装上中文界面的设置）"


def test_jupyterlab_opens_in_chinese_on_every_route(repo):
    """The zh_CN language pack is a pinned dependency and is selected by a settings override that
    every route installs: pip's data-files (Binder, conda) and the Makefile (editable venv)."""
    runtime = _pins(_pyproject(repo)["dependencies"])
    assert runtime["jupyterlab-language-pack-zh-cn"].startswith("4."), "语言包要和 JupyterLab 4 配套"
    rel = "share/jupyter/lab/settings/overrides.d/rnnlab.json"
    assert json.loads((repo / rel).read_text()) == {"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}
    data_files = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    assert data_files == {str(Path(rel).parent): [rel]}
    makefile = (repo / "Makefile").read_text()
    assert f"LOCALE_SETTINGS := {rel}" in makefile
    assert "cp $(LOCALE_SETTINGS) $(VENV)/$(LOCALE_SETTINGS)" in makefile


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
