"""The environment files agree with each other and with the README's commands."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import yaml

def _pins(requirements):
    out = {}
    for req in requirements:
        name, _, version = req.partition("==")
        assert version, f"{req}: 依赖必须固定版本（==）"
        out[name.strip().lower().split("[")[0]] = version.strip()  # psycopg[binary] is pinned as psycopg
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


def wheel_data_files(project: Path, tmp_path: Path) -> set[str]:
    """The data files (relative to sys.prefix) that `pip install <project>` installs: pip builds its
    wheel, as Binder's and conda's `pip install .` do."""
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(project)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        return {m.split(".data/data/", 1)[1] for m in z.namelist() if ".data/data/" in m}


def test_every_route_installs_the_course_jupyter_set_up(repo, tmp_path):
    """share/ (Chinese UI, no news prompt, the rnnlab-lab extension) reaches the environment on every
    route: pip's data-files (Binder, conda) hold every file of it, and `make env` copies it."""
    runtime = _pins(_pyproject(repo)["dependencies"])
    assert runtime["jupyterlab-language-pack-zh-cn"].split(".post")[0] == ".".join(runtime["jupyterlab"].split(".")[:2]), \
        "语言包要和 JupyterLab 同一个小版本，否则新加的界面文字是英文"
    overrides = json.loads((repo / "share/jupyter/lab/settings/overrides.d/rnnlab.json").read_text())
    assert overrides["@jupyterlab/translation-extension:plugin"] == {"locale": "zh_CN"}
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false", "不要弹出新闻提示"
    shipped = {p.relative_to(repo).as_posix() for p in (repo / "share").rglob("*") if p.is_file()}
    assert "share/jupyter/labextensions/rnnlab-lab/package.json" in shipped
    assert wheel_data_files(repo, tmp_path) == shipped
    makefile = (repo / "Makefile").read_text()
    assert "JUPYTER_FILES := $(shell find share -type f)" in makefile
    assert re.search(r"^jupyter-files:\n\trm -rf \$\(VENV\)/share/jupyter/labextensions/rnnlab-lab\n\tcp -R share \$\(VENV\)/$", makefile, re.M)


def test_constraints_agree_with_pyproject(repo):
    project = _pyproject(repo)
    extras = project["optional-dependencies"]
    assert set(extras) == {"test", "hub", "teacher"}
    pinned = _pins(project["dependencies"] + extras["test"] + extras["hub"] + extras["teacher"])
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


def test_every_string_the_lab_extension_translates_is_still_nbgraders(repo):
    """labextension/src/nbgrader_zh.js replaces nbgrader's exact English strings: a new nbgrader that rewords
    one would leave it English without a sound. Each must still be a string in nbgrader's installed bundle,
    and the built extension (share/, what JupyterLab loads) must carry the same table."""
    source = (repo / "labextension" / "src" / "nbgrader_zh.js").read_text(encoding="utf-8")
    pairs = re.findall(r"^  \['(.+?)', '(.+?)'\],?$", source, re.M)
    assert len(pairs) >= 30 and len({en for en, _ in pairs}) == len(pairs)
    bundle = "".join(p.read_text(encoding="utf-8", errors="replace") for p in
                     (Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader/static").glob("*.js"))
    missing = [en for en, _ in pairs if en not in bundle]
    assert missing == [], f"nbgrader 的界面里已经没有这些英文了（升级了 nbgrader？）：{missing}"
    built = "".join(p.read_text(encoding="utf-8") for p in
                    (repo / "share/jupyter/labextensions/rnnlab-lab/static").glob("*.js"))
    stale = [zh for _, zh in pairs if zh not in built]
    assert stale == [], f"share/ 里的扩展不是用现在的 src 构建的（cd labextension && npm run build）：{stale}"
