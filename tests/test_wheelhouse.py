"""`make wheelhouse` and an install from it on a server with no network (deploy/README.md, 离线安装).

The real make target builds the wheelhouse into a temporary folder (with the extras pyproject.toml
declares besides `test`). Then, in a network namespace with no network at all (`unshare --net`, as
root: CI runs as root; the test checks that the namespace has no route and cannot reach PyPI, which
the same probe reaches from outside), a fresh venv of Debian 12's own Python (3.11.2, the Python an
offline Debian server has; the build used the course's 3.11.x) installs the course with exactly the
command the wheelhouse's README.txt gives, pip reading no configuration (no /opt/wheels, no index).
In that venv: torch 2.13.0 is the CPU build, rnnlab (the wheel's, not this checkout's), nbgrader and
jupyterlab import, `jupyter lab --version` runs, `pip check` passes, every installed distribution is
at its pin in constraints.txt, and the course's Chinese JupyterLab set-up is in place.

The install skips writing .pyc files (--no-compile, about half of its CPU time); that step only
caches compiled files, the documented command keeps it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from conftest import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
# What the Makefile carries by default: every optional extra but the test tools (the hub, once it exists).
EXTRAS = [e for e in PROJECT.get("optional-dependencies", {}) if e != "test"]
TARGET = f"rnnlab[{','.join(EXTRAS)}]" if EXTRAS else "rnnlab"
TORCH = next(r for r in PROJECT["dependencies"] if r.startswith("torch=="))[len("torch=="):]
# The Python of an offline Debian 12 server; elsewhere the one this venv was made from.
SERVER_PYTHON = "/usr/bin/python3.11" if os.access("/usr/bin/python3.11", os.X_OK) else sys._base_executable
PYPI_HOST = "pypi.org"
CUDA = re.compile(r"^(nvidia|triton)|cuda", re.I)
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def constraint_lines() -> list[Requirement]:
    out = []
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(Requirement(line))
    return out


def pin(req: Requirement) -> tuple[str, Version]:
    (spec,) = req.specifier
    assert spec.operator == "==", f"constraints.txt 里 {req} 没有固定版本"
    return canonicalize_name(req.name), Version(spec.version)


def wheels(folder: Path) -> dict[str, tuple[str, Version, frozenset]]:
    """file name -> (project, version, tags) for every wheel in `folder`."""
    out = {}
    for path in folder.glob("*.whl"):
        name, version, _, tags = parse_wheel_filename(path.name)
        out[path.name] = (name, version, tags)
    return out


def glibc_needed(tags: frozenset) -> tuple[int, int] | None:
    """The oldest glibc a wheel installs on (any of its manylinux tags will do); None: pure Python."""
    found = []
    for tag in tags:
        if tag.platform == "any":
            return None
        m = re.match(r"manylinux_(\d+)_(\d+)_", tag.platform)
        found.append((int(m[1]), int(m[2])) if m else LEGACY_MANYLINUX[tag.platform.rsplit("_", 2)[0]])
    return min(found)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory) -> Path:
    """`make wheelhouse` into a temporary folder, with this test run's venv doing the downloads."""
    out = tmp_path_factory.mktemp("wheelhouse") / "wheelhouse"
    done = subprocess.run(["make", "--no-print-directory", "wheelhouse", f"WHEELHOUSE={out}",
                           f"VENV={sys.prefix}", f"WHEEL_EXTRAS={','.join(EXTRAS)}"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, f"make wheelhouse 失败：\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out


def test_the_wheelhouse_holds_the_cpu_torch_the_course_and_every_pin(wheelhouse):
    found = wheels(wheelhouse)
    names = sorted(os.listdir(wheelhouse))
    assert not [n for n in names if CUDA.search(n)], f"wheelhouse 里不能有 CUDA 的轮子：{[n for n in names if CUDA.search(n)]}"
    assert set(names) - set(found) == {"README.txt", "constraints.txt"}, names

    torch = [n for n, (p, _, _) in found.items() if p == "torch"]
    assert [found[n][1] for n in torch] == [Version(f"{TORCH}+cpu")], f"要恰好一个 CPU 版 torch {TORCH}：{torch}"
    rnnlab = [v for p, v, _ in found.values() if p == "rnnlab"]
    assert rnnlab == [Version(PROJECT["version"])], rnnlab

    pins = {pin(r) for r in constraint_lines()}
    stray = sorted(n for n, (p, v, _) in found.items() if p not in ("torch", "rnnlab") and (p, v) not in pins)
    assert not stray, f"这些轮子的版本不是 constraints.txt 固定的（或它没有固定）：{stray}"
    have = {(p, v) for p, v, _ in found.values()}
    for req in constraint_lines():
        if req.marker is not None:  # a pin for another Python (soupsieve for Debian 12's 3.11.2) is there too
            assert pin(req) in have, f"缺少 {req} 的轮子"
    wanted = PROJECT["dependencies"] + [r for e in EXTRAS for r in PROJECT["optional-dependencies"][e]]
    for req in map(Requirement, wanted):
        name, version = pin(req)
        assert any(p == name and v.public == str(version) for p, v in have), f"缺少依赖 {req} 的轮子"

    # The copy of constraints.txt is the repository's; README.txt gives the install command, and it and
    # deploy/README.md the oldest glibc the wheels need (the newest manylinux tag among them).
    assert (wheelhouse / "constraints.txt").read_text() == (REPO / "constraints.txt").read_text()
    readme = (wheelhouse / "README.txt").read_text()
    assert "@RNNLAB@" not in readme and f'"{TARGET}"' in readme and "--no-index --find-links" in readme, readme
    needs = {n: g for n, (_, _, tags) in found.items() if (g := glibc_needed(tags))}
    newest = max(needs.values())
    deploy = (REPO / "deploy/README.md").read_text().split("## 6. 离线安装（没有外网的服务器）")[1]
    for where, text in (("README.txt", readme), ("deploy/README.md", deploy)):
        stated = re.search(r"glibc 要? ?(\d+)\.(\d+)", text)
        assert stated and (int(stated[1]), int(stated[2])) == newest, \
            f"{where} 应写 glibc {newest[0]}.{newest[1]}（{[n for n, g in needs.items() if g == newest]}）"
    assert 'pip install --no-index --find-links /opt/wheelhouse \\\n    -c /opt/wheelhouse/constraints.txt "rnnlab"' in deploy


def test_the_course_wheel_holds_exactly_the_modules_of_src(wheelhouse):
    """Built from a copy of the checkout: nothing an earlier build left in build/lib gets in."""
    (course,) = wheelhouse.glob("rnnlab-*.whl")
    with zipfile.ZipFile(course) as z:
        packed = {n for n in z.namelist() if n.endswith(".py")}
    src = REPO / "src"
    assert packed == {p.relative_to(src).as_posix() for p in src.rglob("*.py") if "__pycache__" not in p.parts}


def offline(*cmd: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`cmd` in a new network namespace: only a loopback interface, and that one down."""
    if shutil.which("unshare") is None:
        pytest.fail("找不到 unshare（Debian 的 util-linux）：离线安装的测试需要它", pytrace=False)
    done = subprocess.run(["unshare", "--net", "--", *cmd], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0 and "unshare:" in done.stderr:
        pytest.fail(f"unshare --net 没能建立没有网络的命名空间（要以 root 运行，CI 就是）：{done.stderr.strip()}",
                    pytrace=False)
    return done


CONNECT = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], 443), timeout=10).close()
    print("connected")
except OSError as e:
    print(f"{type(e).__name__}: {e}")
"""

PROBE = """
import importlib.metadata as md, json, platform, sys, sysconfig
import jupyterlab, nbgrader, rnnlab, torch
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
pins = {}
for line in open(sys.argv[1]).read().splitlines():
    line = line.split("#", 1)[0].strip()
    if line and ((req := Requirement(line)).marker is None or req.marker.evaluate()):
        pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
print(json.dumps({"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
                  "rnnlab": rnnlab.__file__, "jupyterlab": jupyterlab.__version__, "nbgrader": nbgrader.__version__,
                  "dists": {canonicalize_name(d.metadata["Name"]): d.version  # not setuptools' vendored ones
                            for d in md.distributions(path=[sysconfig.get_paths()["purelib"]])},
                  "pins": pins}))
"""


def test_a_server_without_network_installs_the_course_from_it(wheelhouse, tmp_path):
    # The namespace really has no network: no route, and PyPI (reached from here) is unreachable there.
    ip = socket.getaddrinfo(PYPI_HOST, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    outside = subprocess.run([sys.executable, "-c", CONNECT, ip], capture_output=True, text=True, timeout=60)
    assert outside.stdout.strip() == "connected", f"从这里连不上 {PYPI_HOST}（{ip}）：{outside.stdout}{outside.stderr}"
    inside = offline(sys.executable, "-c", CONNECT, ip)
    assert inside.returncode == 0 and inside.stdout.startswith("OSError"), f"命名空间里居然能连上 {PYPI_HOST}：{inside.stdout}"
    if ip_tool := shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin"):
        routes = offline("sh", "-c", f"{ip_tool} route show; {ip_tool} -6 route show")
        assert routes.returncode == 0 and routes.stdout.strip() == "", f"命名空间里还有路由：{routes.stdout}"

    # A server's environment: no pip configuration (no local wheels, no index), a home of its own.
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "TMPDIR": str(tmp_path), "PIP_CONFIG_FILE": os.devnull}
    venv = tmp_path / "rnnlab-env"
    made = offline(SERVER_PYTHON, "-m", "venv", str(venv), env=env)
    assert made.returncode == 0, made.stderr
    # The command of README.txt (and deploy/README.md), word for word but --no-compile.
    readme = (wheelhouse / "README.txt").read_text()
    assert f'pip install --no-index --find-links /opt/wheelhouse \\\n        -c /opt/wheelhouse/constraints.txt "{TARGET}"' in readme
    pip = str(venv / "bin/pip")
    installed = offline(pip, "install", "--no-compile", "--no-index", "--find-links", str(wheelhouse),
                        "-c", str(wheelhouse / "constraints.txt"), TARGET, env=env)
    assert installed.returncode == 0, f"离线安装失败（{SERVER_PYTHON}）：\n{installed.stdout[-3000:]}\n{installed.stderr[-3000:]}"
    used = re.findall(r"^Processing (\S+\.whl)", installed.stdout, re.M)
    assert used and all(Path(p).parent == wheelhouse for p in used), used

    check = offline(pip, "check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    probe = offline(str(venv / "bin/python"), "-c", PROBE, str(wheelhouse / "constraints.txt"), env=env)
    assert probe.returncode == 0, probe.stderr
    got = json.loads(probe.stdout)
    assert got["torch"] == f"{TORCH}+cpu" and got["cuda"] is None, (got["torch"], got["cuda"])
    assert got["rnnlab"].startswith(str(venv)), f"导入的 rnnlab 不是装进新环境的那个：{got['rnnlab']}"
    off_pin = {name: (version, got["pins"].get(name)) for name, version in got["dists"].items()
               if name not in ("pip", "rnnlab", "torch") and got["pins"].get(name) != version}
    assert not off_pin, f"这些包的版本不是 constraints.txt 固定的（已装, 固定）：{off_pin}"
    assert got["dists"]["rnnlab"] == PROJECT["version"] and got["nbgrader"] == got["pins"]["nbgrader"]
    lab = offline(str(venv / "bin/jupyter"), "lab", "--version", env=env)
    assert lab.returncode == 0 and lab.stdout.strip() == got["jupyterlab"] == got["pins"]["jupyterlab"], lab
    # The wheel's data files: JupyterLab opens in Chinese, with the course's extension.
    assert json.loads((venv / "share/jupyter/lab/settings/overrides.d/rnnlab.json").read_text())[
        "@jupyterlab/translation-extension:plugin"] == {"locale": "zh_CN"}
    assert (venv / "share/jupyter/labextensions/rnnlab-lab/package.json").is_file()
