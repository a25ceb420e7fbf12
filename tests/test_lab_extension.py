"""Real browser: a notebook that a student only opened is not shown as modified.

When its kernel connects, JupyterLab writes the kernel's language_info (with this machine's
Python patch version) and kernelspec into the notebook and marks it dirty: the tab gets its
● and closing asks to save. The course's JupyterLab extension rnnlab-lab (source in
labextension/, build in share/jupyter/labextensions/rnnlab-lab/, copied into the
environment's share/jupyter/labextensions/) undoes exactly that and nothing else.

    .venv/bin/python -m pytest tests/test_lab_extension.py -v -rs

Without chromium these tests are skipped, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from browser import Browser, LabServer, Notebook, find_chromium, wait_for
from machine import require

from rnnlab import chapters

pytestmark = pytest.mark.e2e

PLUGIN = "rnnlab-lab:clean-open"
INSTALLED = Path(sys.prefix) / "share/jupyter/labextensions/rnnlab-lab"
# One lecture and one assignment, as a student gets them.
NOTEBOOKS = [f"notebooks/{chapters.lectures()[1]}",
             f"release/{chapters.assignments()[0]}/{chapters.assignments()[0]}.ipynb"]


# ------------------------------------------------------------------ fixtures (as in test_browser.py)

@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium and Python's playwright, or skip (fail under CI=true)."""
    reason = None
    path = find_chromium()
    if path is None:
        reason = "没有找到 chromium（Debian 包 chromium）。不要运行 playwright install，用的是系统的 chromium。"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "没有安装 Python 包 playwright（pip install -e '.[test]'）。"
    require("浏览器测试", reason)
    return path


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    """JupyterLab on a temporary copy of notebooks/ and release/: saving writes nothing into the repository."""
    root = tmp_path_factory.mktemp("lab-ext-root")
    for folder in ("notebooks", "release"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    with LabServer(root) as server:
        yield server
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(chromium, lab):
    with Browser(chromium) as b:
        yield b


@pytest.fixture
def page(browser, lab):
    page = browser.new_page()
    page.ext_errors = []  # console errors that name the extension
    page.on("console", lambda m: page.ext_errors.append(m.text)
            if m.type == "error" and "rnnlab-lab" in m.text else None)
    yield page
    page.context.close()
    with contextlib.suppress(Exception):  # one kernel at a time
        for k in lab.api("/api/kernels"):
            lab.api(f"/api/kernels/{k['id']}", method="DELETE", timeout=10)


# ------------------------------------------------------------------ helpers

_STATE = """(() => {
  const p = R.panel(path), m = p.context.model;
  return {dirty: m.dirty, tab: p.title.className.includes('jp-mod-dirty'),
          version: (m.getMetadata('language_info') || {}).version || null};
})()"""


def state(nb: Notebook) -> dict:
    return nb.js(_STATE)


def settle(nb: Notebook, seconds: float = 1.5) -> dict:
    """The state once the kernel's metadata has arrived and `seconds` more have passed (the
    kernelspec is written after a second request to the server)."""
    wait_for(lambda: state(nb)["version"], 30, f"{nb.path} 收到内核的 language_info")
    time.sleep(seconds)
    return state(nb)


def clean(s: dict) -> bool:
    return not s["dirty"] and not s["tab"]


def run_first_code_cell(nb: Notebook) -> None:
    """Run it unchanged; the committed notebooks have no execution counts (tests/test_notebooks.py),
    so a count shows it ran."""
    i = nb.js("""(() => { const p = R.panel(path);
      window.jupyterapp.shell.activateById(p.id);
      return p.content.activeCellIndex = p.content.widgets.findIndex(c => c.model.type === 'code'); })()""")
    nb.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-cell'); }")
    wait_for(lambda: nb.js(f"R.panel(path).content.widgets[{i}].model.executionCount") is not None
             and nb.state()["kernelStatus"] == "idle", 60, f"{nb.path} 的第一个代码单元格运行完毕")


# ------------------------------------------------------------------ the test

@pytest.mark.parametrize("rel", NOTEBOOKS, ids=lambda p: Path(p).stem)
def test_opening_a_notebook_does_not_mark_it_modified(rel, lab, page):
    nb = Notebook.open(page, lab, rel)
    assert nb.js(f"window.jupyterapp.isPluginActivated({json.dumps(PLUGIN)})"), (
        f"JupyterLab 没有加载扩展 {PLUGIN}（应当在 {INSTALLED}：make env 会把 "
        "share/jupyter/labextensions/rnnlab-lab 复制进虚拟环境）")

    s = settle(nb)
    assert clean(s), f"只是打开 {rel}，标签页就显示为已修改：{s}"

    # Real changes still count, and saving clears them as usual.
    nb.js("R.panel(path).content.activeCell.model.sharedModel.setSource('x = 1')")
    assert state(nb)["dirty"] and state(nb)["tab"], f"改了单元格，{rel} 却没有显示为已修改"
    nb.page.evaluate("async (path) => { await window.__rnnlab.panel(path).context.save(); }", rel)
    assert clean(state(nb)), f"保存之后 {rel} 仍显示为已修改：{state(nb)}"
    saved = json.loads((lab.root / rel).read_text(encoding="utf-8"))
    assert "".join(saved["cells"][nb.js("R.panel(path).content.activeCellIndex")]["source"]) == "x = 1"

    run_first_code_cell(nb)
    assert state(nb)["dirty"], f"运行了单元格，{rel} 却没有显示为已修改"

    assert page.console_errors == [], f"页面里有未捕获的 JavaScript 错误：{page.console_errors}"
    assert page.ext_errors == [], f"控制台里有扩展的错误：{page.ext_errors}"
