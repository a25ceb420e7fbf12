"""Real browser: every lecture runs in a real JupyterLab (headless Debian chromium) without
errors and with every widget rendered; the module explorer, driven with the mouse and
keyboard as a student would, shows exactly the shapes torch computes; every explorer works
from the keyboard alone (names a screen reader announces, Tab order, keys that change the view).

The server's root is a temporary copy of notebooks/ (plus throw-away notebooks with the
explorers), so nothing is ever written into the repository.

    .venv/bin/python -m pytest tests/test_browser.py -v -rs

Without chromium these tests are skipped, except under CI (CI=true), where they fail.
Screenshots of failures go to $RNNLAB_BROWSER_SHOTS (default: <tmp>/rnnlab-browser-shots);
with RNNLAB_BROWSER_SHOTS set, the explorer is also photographed when the test passes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
import executed
from browser import Browser, LabServer, Notebook, find_chromium, screenshot, wait_for
from machine import require

from rnnlab import chapters
from rnnlab.shapes import Config, torch_shapes


def code_of(path: Path) -> str:
    """The code cells' source (the whole file if it is not a readable notebook: the test says why)."""
    try:
        return "\n".join(c.source for c in nbformat.read(str(path), 4).cells if c.cell_type == "code")
    except Exception:
        return path.read_text(encoding="utf-8", errors="replace")


# Each lecture is opened and run in JupyterLab, then run a second time in the same kernel (the only
# place the suite runs every lecture twice); the module explorers it embeds are checked there
# against torch. The explorer is driven with mouse and keyboard once, in a throw-away notebook.
LECTURES = [REPO / "notebooks" / name for name in chapters.lectures()]
TEMP_EXPLORER = "_browser_test/module_explorer.ipynb"  # written into the temporary server root
TEMP_TRAINING = "_browser_test/training_explorer.ipynb"
TEMP_ONLY_ONCE = "_browser_test/only_once.ipynb"
TEMP_KEYBOARD = "_browser_test/keyboard.ipynb"
# A notebook that cannot be run twice: the second "run all" finds the name its first run made.
ONLY_ONCE = 'assert "made" not in globals(), "已经运行过一遍"\nmade = 1'

# The lecture's step function (6.6) and a run of a few seconds: long enough to be stopped half-way.
TRAINING_CODE = """from torch import nn
from rnnlab.explorers.training import TrainingExplorer


def train_step(parameters, optimizer, loss, max_norm):
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()


TrainingExplorer(step=train_step, cell="GRU", seq_len=60, hidden_size=48)"""

# One of each explorer with its default settings, named so that the kernel can be asked what it holds.
KEYBOARD_CELLS = ["""import torch
from torch import nn

from rnnlab.explorers.bidirectional import BidirectionalMap
from rnnlab.explorers.gates import GateBlocks
from rnnlab.explorers.module import ModuleExplorer
from rnnlab.explorers.stepper import show_stepper
from rnnlab.explorers.training import TrainingExplorer


def train_step(parameters, optimizer, loss, max_norm):
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()""",
                  "module = ModuleExplorer()\nmodule",
                  "gates = GateBlocks()\ngates",
                  "bi = BidirectionalMap()\nbi",
                  "torch.manual_seed(0)\nstepper = show_stepper(nn.RNNCell(4, 6), torch.randn(5, 3, 4))\nstepper",
                  "training = TrainingExplorer(step=train_step)\ntraining"]

SHOTS = Path(os.environ.get("RNNLAB_BROWSER_SHOTS") or Path(tempfile.gettempdir()) / "rnnlab-browser-shots")
CJK = re.compile(r"[\u4e00-\u9fff]")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium and Python's playwright, or skip (fail under CI=true)."""
    reason = None
    path = find_chromium()
    if path is None:
        reason = ("没有找到 chromium（Debian 包 chromium；安装：sudo apt-get install chromium fonts-noto-cjk）。"
                  "不要运行 playwright install，用的是系统的 chromium。")
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "没有安装 Python 包 playwright（pip install -e '.[test]'）。"
    require("浏览器测试", reason)
    return path


@pytest.fixture(scope="module")
def lab_root(tmp_path_factory):
    """A temporary server root: a copy of notebooks/ and a throw-away explorer notebook."""
    root = tmp_path_factory.mktemp("lab-root")
    for folder in ("notebooks", "release"):  # saving (the extension's test) writes into the copy only
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("浏览器测试用的临时 notebook（测试结束后删除）。"),
        nbformat.v4.new_code_cell("from rnnlab.explorers.module import ModuleExplorer\n"
                                  "ModuleExplorer(module=\"LSTM\", input_size=50, hidden_size=100)"),
    ]
    (root / TEMP_EXPLORER).parent.mkdir(parents=True)
    nbformat.write(nb, str(root / TEMP_EXPLORER))
    training = nbformat.v4.new_notebook(metadata=nb.metadata)
    training.cells = [nbformat.v4.new_code_cell(TRAINING_CODE)]
    nbformat.write(training, str(root / TEMP_TRAINING))
    once = nbformat.v4.new_notebook(metadata=nb.metadata)
    once.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(ONLY_ONCE)]
    nbformat.write(once, str(root / TEMP_ONLY_ONCE))
    keyboard = nbformat.v4.new_notebook(metadata=nb.metadata)
    keyboard.cells = [nbformat.v4.new_code_cell(c) for c in KEYBOARD_CELLS]
    nbformat.write(keyboard, str(root / TEMP_KEYBOARD))
    yield root
    shutil.rmtree(root, ignore_errors=True)


# Module scope: another test file in the same worker starts Playwright's sync API again, which
# refuses to run while this module's browser (and its event loop) is still open.
@pytest.fixture(scope="module")
def lab(chromium, lab_root):
    with LabServer(lab_root) as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium, lab):
    with Browser(chromium) as b:
        yield b


class Pages:
    """One page for the module's tests, JupyterLab loaded once in it: each test opens its notebook in the
    loaded application (Notebook.open) and closes it after (loading Lab costs seconds of CPU a time).
    After a failed test, or when closing fails, the next test gets a new page."""

    def __init__(self, browser):
        self.browser, self.current = browser, None

    def get(self):
        if self.current is None:
            page = self.current = self.browser.new_page()
            page.console_messages = []  # console errors over the page's life, to find the extension's
            page.on("console", lambda m: page.console_messages.append(m.text) if m.type == "error" else None)
        self.current.console_errors.clear()
        return self.current

    def discard(self):
        if self.current is not None:
            with contextlib.suppress(Exception):
                self.current.context.close()
            self.current = None


@pytest.fixture(scope="module")
def pages(browser):
    p = Pages(browser)
    yield p
    p.discard()


@pytest.fixture
def page(request, pages, lab):
    page = pages.get()
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed != failed_before or not Notebook.close_all(page):
        pages.discard()
    with contextlib.suppress(Exception):  # one kernel at a time
        for k in lab.api("/api/kernels"):
            lab.api(f"/api/kernels/{k['id']}", method="DELETE", timeout=10)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)


@contextlib.contextmanager
def shot_on_failure(page, name: str):
    try:
        yield
    except BaseException as e:
        path = screenshot(page, SHOTS, _safe(name))
        if path is not None and hasattr(e, "add_note"):
            e.add_note(f"截图：{path}")
        raise


def keep_shot(locator, name: str) -> None:
    """Photograph an element when RNNLAB_BROWSER_SHOTS is set (to look at the explorer)."""
    if os.environ.get("RNNLAB_BROWSER_SHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        locator.screenshot(path=str(SHOTS / (_safe(name) + ".png")))


def _clean(problems: list[str]) -> list[str]:
    return [ANSI.sub("", p) for p in problems]


# ------------------------------------------------------------------ 1. every lecture

@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.name)
def test_lecture_runs_in_jupyterlab(path, lab, page):
    rel = f"notebooks/{path.name}"
    with shot_on_failure(page, f"lecture-{path.stem}"):
        nb = Notebook.open(page, lab, rel)
        kernel = nb.kernel_prefix()
        assert Path(kernel["prefix"]).resolve() == Path(sys.prefix).resolve(), f"内核不是课程环境的 Python：{kernel}"
        assert clean(settle(nb)), f"只是打开 {rel}，标签页就显示为已修改（rnnlab-lab 扩展没有加载？）"

        state = nb.run_all()
        assert _clean(nb.problems()) == [], f"{rel} 在 JupyterLab 中出错"
        assert all(c is not None for c in state["counts"]), f"有单元格没有运行：{state}"

        widgets = nb.widgets()
        uses_widgets = widgets["outputs"] > 0 or re.search(r"ipywidgets|rnnlab\.explorers|Explorer\(", code_of(path))
        if uses_widgets:
            assert widgets["outputs"] >= 1, f"{rel} 用到了 widget，却没有显示任何 widget"
            assert widgets["pending"] == [], f"有 widget 没有渲染出来：{widgets['pending']}"
            assert widgets["jupyterWidgets"] >= 1
        explorers = page.locator(".rnnlab-module-explorer")
        assert explorers.count() == code_of(path).count("ModuleExplorer("), "有模块探索器没有显示出来"
        for i in range(explorers.count()):
            explorers.nth(i).scroll_into_view_if_needed()
            wait_until_consistent(explorers.nth(i), what=f"{rel} 的第 {i + 1} 个模块探索器")
        assert page.console_errors == [], f"页面里有未捕获的 JavaScript 错误：{page.console_errors}"
        executed.share(path.name, nb.model())  # the teacher's kit is built from this run (tests/executed.py)

        # "Run all" a second time in the same kernel: what the first run left (names, files, seeds
        # already drawn, widgets) must not break it. The kernel counted every cell of both runs.
        again = nb.run_again()
        assert again["error"] is None, f"{rel} 在同一个内核里第二遍运行时出错：{again['error']}"
        assert again["count"] == 2 * again["cells"], f"{rel} 没有完整运行两遍：{again}"


def test_a_notebook_that_cannot_run_twice_is_caught(lab, page):
    nb = Notebook.open(page, lab, TEMP_ONLY_ONCE)
    state = nb.run_all()
    assert _clean(nb.problems()) == [] and all(c is not None for c in state["counts"])
    again = nb.run_again()
    assert again["cells"] == 2 and again["count"] == 4
    assert again["error"] == "第 2 个代码单元格：AssertionError: 已经运行过一遍", again


# ------------------------------------------------------------------ 1a. opening is not modifying

PLUGIN = "rnnlab-lab:clean-open"
INSTALLED = Path(sys.prefix) / "share/jupyter/labextensions/rnnlab-lab"
ASSIGNMENT = f"release/{chapters.assignments()[0]}/{chapters.assignments()[0]}.ipynb"

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


def test_opening_an_assignment_does_not_mark_it_modified_and_real_changes_do(lab, page):
    """rnnlab-lab (labextension/): JupyterLab writes the kernel's language_info (with this machine's
    Python patch version) into a notebook when its kernel connects, which marked every notebook
    modified on opening. Only that is undone: an edit or a run still marks it, saving clears it.
    (The lectures above are checked clean after opening too.)"""
    rel = ASSIGNMENT
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
    assert [e for e in page.console_messages if "rnnlab-lab" in e] == [], "控制台里有扩展的错误"


# ------------------------------------------------------------------ 1b. JupyterLab speaks Chinese

ZH_MENUS = ["文件", "编辑", "查看", "运行", "内核", "标签页", "设置", "帮助"]


def test_jupyterlab_menus_are_in_chinese(lab, page):
    """The zh_CN language pack is selected the way `make lab` selects it: the settings override in
    {sys.prefix}/share/jupyter/lab/settings/overrides.d/ (copied there by the Makefile, installed by
    pip on Binder and conda), which this environment's server reads. The lectures above ran under it."""
    override = Path(sys.prefix) / "share/jupyter/lab/settings/overrides.d/rnnlab.json"
    assert override.is_file(), f"没有 {override}：运行 make env（它会把中文界面的设置复制进虚拟环境）"
    with shot_on_failure(page, "menus-zh"):
        page.goto(f"{lab.url}/lab?reset&token={lab.token}", wait_until="domcontentloaded")
        labels = page.locator("#jp-menu-panel .lm-MenuBar-itemLabel")
        labels.first.wait_for()
        wait_for(lambda: labels.first.inner_text() != "File", 10, "菜单栏换成中文")
        got = labels.all_inner_texts()
        assert [m for m in got if m in ZH_MENUS] == ZH_MENUS, f"菜单栏不是中文：{got}"


def test_nbgraders_student_tools_speak_chinese(lab, page):
    """nbgrader's Validate button, its result dialog and the Assignments panel have no translation of their own
    (their English is written into the page): rnnlab-lab:nbgrader-zh (labextension/src/nbgrader_zh.js) replaces
    nbgrader's exact strings where nbgrader puts them, and nothing else. The dialog is checked in
    test_student_first_hour.py and, on the hub, in test_hub.py."""
    with shot_on_failure(page, "nbgrader-zh"):
        nb = Notebook.open(page, lab, ASSIGNMENT)
        assert nb.js("window.jupyterapp.isPluginActivated('rnnlab-lab:nbgrader-zh')"), "rnnlab-lab:nbgrader-zh 没有加载"
        button = page.locator(".jp-NotebookPanel:visible .validate-button")
        wait_for(lambda: button.inner_text().strip() == "验证", 10, "工具栏上的 Validate 换成中文")
        assert button.get_attribute("title").startswith("验证作业") and button.get_attribute("aria-label") == "验证"
        # A student's own text that is one of nbgrader's strings stays as written.
        nb.js("R.panel(path).content.activeCell.model.sharedModel.setSource('Submit')")
        editor = page.locator(".jp-NotebookPanel:visible .jp-Cell.jp-mod-active .cm-content")
        page.wait_for_timeout(300)
        assert editor.inner_text().strip() == "Submit", editor.inner_text()

        page.evaluate("() => window.jupyterapp.commands.execute('nbgrader:open-assignment-list')")
        panel = page.locator("#assignments")
        panel.wait_for()
        wait_for(lambda: "已发布的作业" in panel.inner_text(), 10, "Assignments 面板换成中文")
        text = panel.inner_text()
        for heading in ("这门课已发布、已下载和已提交的作业：", "已发布的作业", "已下载的作业", "已提交的作业"):
            assert heading in text, text
        assert not re.search(r"(Released|Downloaded|Submitted) assignments|for course:|please wait", text), text
        assert page.locator("#refresh_assignments_list").get_attribute("title") == "刷新作业列表"
        tab = page.locator('.lm-TabBar-tab[data-id="nbgrader-assignment-list"]')
        assert tab.inner_text().strip() == "作业", tab.inner_text()
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        items = [t.strip() for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
        page.keyboard.press("Escape")
        assert "作业列表" in items and "Assignment List" not in items, items
        assert page.console_errors == [], page.console_errors


# ------------------------------------------------------------------ 2. the module explorer

_READ_EXPLORER = r"""
(ex) => {
  const controls = {};
  for (const box of ex.querySelectorAll('.widget-inline-hbox')) {
    if (box.closest('.rnnlab-module-output')) continue;
    const label = box.querySelector(':scope > label.widget-label');
    let name = label && label.style.display !== 'none' ? label.textContent.trim() : '';
    const cb = box.querySelector('input[type=checkbox]');
    const sel = box.querySelector(':scope > select');
    const inp = box.querySelector(':scope > input');
    const readout = box.querySelector('.widget-readout');
    if (cb) controls[box.querySelector('.widget-label-basic span').textContent.trim()] = {value: cb.checked, disabled: cb.disabled};
    else if (sel) controls[name] = {value: sel.value, disabled: sel.disabled};
    else if (inp) controls[name] = {value: inp.value, disabled: inp.disabled};
    else if (readout) controls[name] = {value: readout.textContent.trim(),
                                        disabled: box.querySelector('.noUi-target').hasAttribute('disabled')};
  }
  const out = ex.querySelector('.rnnlab-module-output');
  const rows = (sel) => { const t = out.querySelector(sel); return t ? [...t.rows].slice(1) : null; };
  const params = rows('table.rnnlab-params'), tensors = rows('table.rnnlab-tensors');
  const chip = (s) => { const b = s.querySelector('b').textContent.trim();
                        return [b, s.textContent.trim().slice(b.length).trim()]; };
  const total = out.querySelector('.rnnlab-total b');
  return {
    controls,
    call: (out.querySelector('code') || {textContent: ''}).textContent,
    params: params && params.map(r => [r.cells[0].innerText.trim(), r.cells[1].innerText.trim()]),
    tensors: tensors && tensors.map(r => [r.cells[0].innerText.trim(),
                                          [...r.cells[1].querySelectorAll('span.rnnlab-dim')].map(chip)]),
    total: total ? total.textContent.trim() : null,
    errors: [...out.querySelectorAll('.rnnlab-error')].map(e => e.innerText.trim()),
    text: out.innerText,
  };
}
"""


def read_explorer(explorer) -> dict:
    return explorer.evaluate(_READ_EXPLORER)


def config_from_controls(controls: dict) -> Config:
    """The configuration the controls on screen describe (a greyed-out box does not apply)."""
    v: dict = {}
    for label, c in controls.items():
        key = "module" if label == "模块" else "batched" if label.startswith("批量输入") else label.split()[0]
        v[key] = c["value"]
    for key in ("input_size", "hidden_size", "seq_len", "batch"):
        v[key] = int(v[key])
    v["proj_size"] = 0 if controls["proj_size"]["disabled"] else int(v["proj_size"])
    v["nonlinearity"] = "tanh" if controls["nonlinearity"]["disabled"] else v["nonlinearity"]  # greyed out: not passed
    v["num_layers"] = int(v["num_layers"])
    v["dropout"] = float(v["dropout"])
    return Config(**v)


def shown_shapes(state: dict) -> tuple[dict, dict]:
    params = {name: tuple(int(x) for x in re.findall(r"\d+", shape)) for name, shape in state["params"]}
    tensors = {name: tuple(int(size) for size, _label in chips) for name, chips in state["tensors"]}
    assert len(params) == len(state["params"]) and len(tensors) == len(state["tensors"]), "表中有重复的行"
    return params, tensors


def expected_labels(cfg: Config) -> dict[str, list[str]]:
    """What each dimension means, from PyTorch's documentation (independent of rnnlab)."""
    batch = ["批量"] if cfg.batched else []
    if cfg.module.endswith("Cell"):
        out = {"input": batch + ["特征"], "h'": batch + ["隐藏单元"]}
        if cfg.module == "LSTMCell":
            out["c'"] = batch + ["隐藏单元"]
        return out
    seq = (["批量", "时间步"] if cfg.batch_first else ["时间步", "批量"]) if cfg.batched else ["时间步"]
    out = {"input": seq + ["特征"], "output": seq + ["特征"],
           "h_n": ["层数×方向数"] + batch + ["投影维" if cfg.proj_size else "隐藏单元"]}
    if cfg.module == "LSTM":
        out["c_n"] = ["层数×方向数"] + batch + ["隐藏单元"]
    return out


def mismatches(state: dict) -> list[str]:
    """Everything on screen that disagrees with torch for the configuration on screen."""
    if state["params"] is None or state["tensors"] is None:
        return [f"表格没有显示：{state['errors'] or state['text'][:200]}"]
    cfg = config_from_controls(state["controls"])
    params, tensors = torch_shapes(cfg)
    shown_p, shown_t = shown_shapes(state)
    bad = []
    if shown_p != params:
        bad.append(f"参数表 {shown_p} != torch {params}")
    if shown_t != tensors:
        bad.append(f"张量表 {shown_t} != torch {tensors}")
    labels = {name: [label for _size, label in chips] for name, chips in state["tensors"]}
    if labels != expected_labels(cfg):
        bad.append(f"维度含义 {labels} != {expected_labels(cfg)}")
    total = sum(math.prod(s) for s in params.values())
    if state["total"] is None or int(state["total"].replace(",", "")) != total:
        bad.append(f"参数总数 {state['total']} != {total}")
    if not state["call"].startswith(f"nn.{cfg.module}("):
        bad.append(f"调用 {state['call']!r} 与所选模块 {cfg.module} 不符")
    if state["errors"]:
        bad.append(f"有错误信息：{state['errors']}")
    return bad


def wait_until_consistent(explorer, condition=lambda s: True, what="", timeout: float = 20) -> dict:
    """Wait until the kernel's answer is on screen: tables equal torch's and `condition` holds."""
    last: dict = {}

    def ok():
        nonlocal last
        last = read_explorer(explorer)
        return condition(last) and not mismatches(last)

    try:
        wait_for(ok, timeout, what or "探索器更新", interval=0.2)
    except TimeoutError:
        pass
    assert condition(last), f"{what}：界面没有变成预期的样子：{last['controls']}"
    assert mismatches(last) == [], f"{what}：{mismatches(last)}"
    return last


def control(explorer, kind: str, label: str):
    return explorer.locator(f".{kind}:has(> label.widget-label:text-is('{label}'))").first


def test_module_explorer_shows_torch_shapes(lab, page):
    rel = TEMP_EXPLORER
    with shot_on_failure(page, f"explorer-{Path(rel).stem}"):
        nb = Notebook.open(page, lab, rel)
        assert Path(nb.kernel_prefix()["prefix"]).resolve() == Path(sys.prefix).resolve()
        nb.run_all()
        assert _clean(nb.problems()) == []
        explorer = page.locator(".rnnlab-module-explorer").first
        explorer.wait_for(state="attached", timeout=30_000)
        explorer.scroll_into_view_if_needed()
        start = wait_until_consistent(explorer, what="初始状态")

        # The 模块 dropdown.
        module = "GRU" if start["controls"]["模块"]["value"] != "GRU" else "LSTM"
        control(explorer, "widget-dropdown", "模块").locator("select").select_option(module)
        s = wait_until_consistent(explorer, lambda s: s["controls"]["模块"]["value"] == module
                                  and s["call"].startswith(f"nn.{module}("), f"选择模块 {module}")

        # The num_layers slider (noUiSlider): focus the handle and use the arrow keys.
        layers = int(s["controls"]["num_layers"]["value"])
        target, key = (layers + 1, "ArrowRight") if layers < 8 else (layers - 1, "ArrowLeft")
        handle = control(explorer, "widget-slider", "num_layers").locator(".noUi-handle")
        handle.focus()
        handle.press(key)
        s = wait_until_consistent(explorer, lambda s: int(s["controls"]["num_layers"]["value"]) == target
                                  and f"num_layers={target}" in s["call"], f"num_layers 滑块移到 {target}")
        assert any(name == f"weight_ih_l{target - 1}" for name, _ in s["params"])

        # The explorer's own full check (a meta-device forward in the kernel).
        explorer.locator("button:text-is('用 torch 核对')").click()
        check = explorer.locator(".widget-hbox:has(> button) .widget-html-content")
        wait_for(lambda: "完全一致" in check.inner_text(), 20, "用 torch 核对 的结果")

        # A wrong value: a Chinese message inside the explorer, no traceback anywhere.
        hidden = control(explorer, "widget-text", "hidden_size").locator("input")
        good = hidden.input_value()
        hidden.fill("abc")
        hidden.press("Enter")
        error = explorer.locator(".rnnlab-module-output .rnnlab-error").first
        error.wait_for(state="visible", timeout=20_000)
        message = error.inner_text()
        assert CJK.search(message) and "hidden_size" in message, message
        state = read_explorer(explorer)
        assert state["params"] is None and state["tensors"] is None, "输入无效时不应再显示旧的表格"
        time.sleep(0.5)  # a traceback from the callback, if any, would arrive right after the update
        assert _clean(nb.problems()) == [], "无效输入引发了 traceback"
        keep_shot(explorer, f"explorer-{Path(rel).stem}-error")

        # Fixed again: the tables come back, equal to torch's.
        hidden.fill(good)
        hidden.press("Enter")
        wait_until_consistent(explorer, lambda s: s["controls"]["hidden_size"]["value"] == good, "改正 hidden_size 之后")
        assert _clean(nb.problems()) == []
        assert page.console_errors == [], f"页面里有未捕获的 JavaScript 错误：{page.console_errors}"
        assert nb.state()["nCode"] == len([c for c in nbformat.read(str(lab.root / rel), 4).cells
                                           if c.cell_type == "code"]), "按键被当成了 notebook 快捷键"
        keep_shot(explorer, f"explorer-{Path(rel).stem}")


# ------------------------------------------------------------------ 3. the training explorer

_READ_TRAINING = r"""
(ex) => {
  const status = ex.querySelector('.rnnlab-train-status');
  const curve = ex.querySelector('.rnnlab-curve[data-kind="loss"][data-current="1"]');
  const bar = ex.querySelector('.widget-hprogress .progress-bar');
  const button = (text) => [...ex.querySelectorAll('button')].find(b => b.textContent.trim() === text);
  return {
    state: status ? status.dataset.state : null,
    step: status ? +status.dataset.step : 0,
    total: status ? +status.dataset.total : 0,
    text: status ? status.innerText : '',
    points: curve ? +curve.dataset.points : 0,
    bar: bar ? parseFloat(bar.style.width) || 0 : 0,
    train: button('训练').disabled, stop: button('停止').disabled,
    errors: [...ex.querySelectorAll('.rnnlab-training-output .rnnlab-error')].map(e => e.innerText.trim()),
  };
}
"""


def test_training_explorer_draws_live_and_stops_on_click(lab, page):
    """The run trains in a thread: its curve and progress grow on screen while the kernel still takes the
    click on 停止, which ends the run early. A setting that does not go together gets a Chinese message."""
    rel = TEMP_TRAINING
    with shot_on_failure(page, "explorer-training"):
        nb = Notebook.open(page, lab, rel)
        nb.run_all()
        assert _clean(nb.problems()) == []
        explorer = page.locator(".rnnlab-training-explorer").first
        explorer.wait_for(state="visible", timeout=30_000)
        explorer.scroll_into_view_if_needed()

        last: dict = {}

        def read():
            last.update(explorer.evaluate(_READ_TRAINING))
            return dict(last)

        def until(condition, what):
            def check():
                s = read()
                return s if condition(s) else None
            try:
                return wait_for(check, 20, what)
            except TimeoutError as e:
                raise TimeoutError(f"{e}；界面上：{last}") from None

        assert read()["state"] is None and not read()["train"], "执行单元格时不应当开始训练"
        explorer.locator("button:text-is('训练')").click()
        first = until(lambda s: s["state"] == "running" and s["points"] >= 1 and s["bar"] > 0, "训练开始，曲线和进度条出现")
        assert first["train"] and not first["stop"], first
        grown = until(lambda s: s["points"] > first["points"] and s["step"] > first["step"], "曲线和进度在训练中继续增长")
        assert grown["state"] == "running" and grown["bar"] > first["bar"], grown

        explorer.locator("button:text-is('停止')").click()
        stopped = until(lambda s: s["state"] != "running", "点「停止」之后训练停下")
        assert stopped["state"] == "stopped" and stopped["step"] < stopped["total"], stopped
        assert "已停止" in stopped["text"] and not stopped["train"] and stopped["stop"], stopped
        time.sleep(1.0)
        assert read()["step"] == stopped["step"], "停止之后还在训练"
        keep_shot(explorer, "explorer-training-stopped")

        # RNN has no gate to open: a Chinese message, and nothing to train until it is fixed.
        control(explorer, "widget-dropdown", "初始化").locator("select").select_option("打开门")
        control(explorer, "widget-dropdown", "循环层").locator("select").select_option("RNN")
        s = until(lambda s: s["errors"] and s["train"], "RNN 配「打开门」的提示，「训练」变灰")
        assert CJK.search(s["errors"][0]) and "RNN 没有门" in s["errors"][0], s
        time.sleep(0.5)
        assert _clean(nb.problems()) == [], "训练或无效输入引发了 traceback"
        assert page.console_errors == [], f"页面里有未捕获的 JavaScript 错误：{page.console_errors}"


# ------------------------------------------------------------------ 4. every explorer from the keyboard alone

# What Tab should visit inside an explorer, in DOM order: focusable (natively or by a tabindex >= 0), enabled (nor
# inside a disabled slider), drawn. Each is tagged data-kb for the test; `style` is how it looks without focus.
_TABBABLE = r"""
(ex) => {
  const look = (el) => { const s = getComputedStyle(el);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor, s.backgroundColor].join('|'); };
  const prefix = 'kb' + (window.__kbWalk = (window.__kbWalk || 0) + 1) + '-';
  if (document.activeElement) document.activeElement.blur();
  ex.querySelectorAll('[data-kb]').forEach((el) => { delete el.dataset.kb; });  // an earlier walk's
  const expected = [], positive = [];
  const all = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [contenteditable], [tabindex]';
  for (const el of ex.querySelectorAll(all)) {
    const t = el.getAttribute('tabindex');
    if (t !== null && +t > 0) positive.push(el.outerHTML.slice(0, 120));
    const focusable = t !== null ? +t >= 0 : (el.matches('[contenteditable]') ? el.isContentEditable : true);
    const r = el.getBoundingClientRect();
    const drawn = r.width > 0 && r.height > 0 && el.checkVisibility({opacityProperty: true, visibilityProperty: true});
    if (!focusable || !drawn || el.closest('[disabled], [inert]')) continue;
    el.dataset.kb = prefix + expected.length;
    expected.push({kb: el.dataset.kb, style: look(el)});
  }
  return {expected, positive};
}
"""

_FOCUSED = r"""
(ex) => {
  const a = document.activeElement, s = getComputedStyle(a);
  return {kb: a.dataset ? a.dataset.kb || null : null, inside: ex.contains(a),
          what: a.tagName.toLowerCase() + ' ' + String(a.className).slice(0, 40) + ' ' + (a.textContent || '').trim().slice(0, 20),
          style: [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor, s.backgroundColor].join('|')};
}
"""

# The roles of a control; a focusable element with another role (e.g. "generic") is not announced as one.
CONTROL_ROLES = {"button", "checkbox", "combobox", "listbox", "slider", "spinbutton", "textbox", "searchbox", "link"}
# An accessible name in Chinese or the PyTorch identifier the control sets.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")


def accessible(cdp, kb: str) -> tuple[str, str]:
    """Role and name of the element tagged `kb`, as Chromium's accessibility tree gives them to a screen reader."""
    handle = cdp.send("Runtime.evaluate", {"expression": f'document.querySelector(\'[data-kb="{kb}"]\')'})["result"]
    try:
        node = cdp.send("Accessibility.getPartialAXTree", {"objectId": handle["objectId"], "fetchRelatives": False})
    finally:
        cdp.send("Runtime.releaseObject", {"objectId": handle["objectId"]})
    node = node["nodes"][0]
    return (node.get("role") or {}).get("value", ""), str((node.get("name") or {}).get("value", "")).strip()


def check_tab_and_names(page, cdp, explorer, what: str) -> None:
    """Every control Tab reaches has a role and a name; Tab from the first visits them all in DOM order, each with a
    visible change of look, then leaves the explorer."""
    found = explorer.evaluate(_TABBABLE)
    assert found["positive"] == [], f"{what}：有正数的 tabindex，会打乱 Tab 的顺序：{found['positive']}"
    expected = found["expected"]
    assert expected, f"{what}：没有一个控件能用 Tab 到达"
    unnamed = []
    for e in expected:
        role, name = accessible(cdp, e["kb"])
        if role not in CONTROL_ROLES or not (CJK.search(name) or IDENTIFIER.search(name)):
            unnamed.append(f"{role or '（无角色）'} {name!r}")
    assert unnamed == [], f"{what}：这些控件读屏软件念不出名字（角色 名字）：{unnamed}"

    explorer.locator(f'[data-kb="{expected[0]["kb"]}"]').focus()
    visited = [explorer.evaluate(_FOCUSED)]
    for _ in expected:
        page.keyboard.press("Tab")
        visited.append(explorer.evaluate(_FOCUSED))
    *inside, after = visited
    assert [v["kb"] for v in inside] == [e["kb"] for e in expected], (
        f"{what}：Tab 没有按页面顺序经过全部控件（或经过了隐藏的、禁用的元素）："
        f"{[v['kb'] or v['what'] for v in inside]} != {[e['kb'] for e in expected]}")
    assert not after["inside"], f"{what}：最后一个控件之后按 Tab 没有离开探索器（键盘陷阱）：{after['what']}"
    unseen = [v["what"] for v, e in zip(inside, expected) if v["style"] == e["style"]]
    assert unseen == [], f"{what}：这些控件得到焦点时样子没有变化，看不出焦点在哪里：{unseen}"


_NOTEBOOK = """(() => { const c = R.panel(path).content;
  return {cells: c.widgets.map(w => w.model.type).join(','), active: c.activeCellIndex, mode: c.mode}; })()"""


def by_key(page, nb: Notebook, target, key: str, done, what: str):
    """Focus `target`, press `key` and wait for `done()` (the view's change). The key was the control's: the focus
    is still on it and no JupyterLab shortcut took it (cells, their types and the active cell are as before)."""
    target.focus()
    before = nb.js(_NOTEBOOK)
    page.keyboard.press(key)
    try:
        result = wait_for(done, 20, f"{what}之后界面更新", interval=0.2)
    except TimeoutError as e:
        raise AssertionError(f"{e}；notebook：{before} → {nb.js(_NOTEBOOK)}") from None
    assert nb.js(_NOTEBOOK) == before, f"{what}：按键被 JupyterLab 当成了 notebook 的快捷键：{before} → {nb.js(_NOTEBOOK)}"
    assert target.evaluate("el => el === document.activeElement"), f"{what}：按键之后焦点离开了控件"
    return result


def kernel_value(nb: Notebook, expr: str) -> str:
    return nb.kernel_exec(f"print({expr})").strip()


def slider(explorer, label: str):
    return control(explorer, "widget-slider", label).locator(".noUi-handle")


def dropdown(explorer, label: str):
    return control(explorer, "widget-dropdown", label).locator("select")


def checkbox(explorer, label: str):
    return explorer.locator(f"label.widget-label-basic:has(> span:text-is('{label}')) > input")


def _operate_module(page, nb, ex, cdp, what):
    """As test_module_explorer_shows_torch_shapes expects: the tables equal torch's for what the controls show."""
    wait_until_consistent(ex, what=f"{what}：初始状态")

    def consistent(condition):
        def ok():
            s = read_explorer(ex)
            return condition(s) and not mismatches(s)
        return ok

    by_key(page, nb, slider(ex, "num_layers"), "ArrowRight",
           consistent(lambda s: s["controls"]["num_layers"]["value"] == "2" and "num_layers=2" in s["call"]),
           f"{what}：num_layers 滑块按 →")
    by_key(page, nb, checkbox(ex, "bidirectional"), "Space",
           consistent(lambda s: s["controls"]["bidirectional"]["value"] and "bidirectional=True" in s["call"]),
           f"{what}：bidirectional 复选框按空格")
    check = ex.locator(".widget-hbox:has(> button) .widget-html-content")
    by_key(page, nb, ex.locator("button:text-is('用 torch 核对')"), "Enter", lambda: "完全一致" in check.inner_text(),
           f"{what}：「用 torch 核对」按回车")
    by_key(page, nb, dropdown(ex, "模块"), "ArrowDown",
           consistent(lambda s: s["controls"]["模块"]["value"] == "GRU" and s["call"].startswith("nn.GRU(")),
           f"{what}：模块下拉框按 ↓")
    # Typing a letter picks an option; "r" is also JupyterLab's shortcut for "make this a raw cell".
    by_key(page, nb, dropdown(ex, "模块"), "r",
           consistent(lambda s: s["controls"]["模块"]["value"] == "RNNCell" and s["call"].startswith("nn.RNNCell(")),
           f"{what}：模块下拉框输入 r")
    assert kernel_value(nb, "module.config().module") == "RNNCell"
    # A cell has no layers: num_layers and dropout are greyed out, and Tab now passes them by.
    check_tab_and_names(page, cdp, ex, f"{what}（RNNCell）")
    assert ex.locator(".widget-slider .noUi-handle[tabindex='0']").count() == 0, f"{what}：灰掉的滑块仍能用 Tab 到达"


def _gate_letters(ex) -> list[str]:
    return ex.locator(".rnnlab-gate").evaluate_all("els => els.map(e => e.dataset.gate)")


def _operate_gates(page, nb, ex, cdp, what):
    """As test_gate_blocks_follow_their_controls expects: the blocks and their rows follow the controls."""
    weight = ex.locator(".rnnlab-gates > div").first
    by_key(page, nb, slider(ex, "hidden_size"), "ArrowRight",
           lambda: _gate_letters(ex)[:4] == ["i", "f", "g", "o"] and "行 0–100" in weight.inner_text()
           and "(404, 50)" in weight.inner_text(), f"{what}：hidden_size 滑块按 →")
    assert kernel_value(nb, "gates.controls['hidden_size'].value") == "101"
    by_key(page, nb, dropdown(ex, "模块"), "ArrowDown", lambda: _gate_letters(ex) == ["r", "z", "n"] * 2,
           f"{what}：模块下拉框按 ↓")
    assert kernel_value(nb, "gates.controls['module'].value") == "GRU"


def _operate_bidirectional(page, nb, ex, cdp, what):
    """As test_bidirectional_view_follows_its_controls expects: the map and the claims checked in torch follow."""
    rows = ex.locator("table.rnnlab-bi-output tr")
    by_key(page, nb, slider(ex, "seq_len"), "ArrowRight",
           lambda: rows.count() == 6 and rows.last.locator("th").inner_text().strip() == "t = 4", f"{what}：seq_len 滑块按 →")
    truth = ex.locator(".rnnlab-truth")
    by_key(page, nb, dropdown(ex, "模块"), "ArrowDown",
           lambda: "nn.LSTM(4, 3, num_layers=2, bidirectional=True)" in ex.locator(".rnnlab-bidirectional").inner_text()
           and truth.all_inner_texts() == ["True", "True", "False"], f"{what}：模块下拉框按 ↓")
    assert kernel_value(nb, "(bi.controls['module'].value, bi.controls['seq_len'].value)") == "('LSTM', 5)"


def _operate_stepper(page, nb, ex, cdp, what):
    """As test_stepper_shows_the_states_a_real_loop_computes expects: the text names step t; the figure is redrawn."""
    figure = ex.locator(".jp-OutputArea-output img").first
    figure.wait_for(timeout=20_000)
    first = figure.get_attribute("src")
    by_key(page, nb, slider(ex, "时间步 t"), "ArrowRight",
           lambda: "第 1 步读入 x[1]" in ex.inner_text() and figure.get_attribute("src") not in (None, first),
           f"{what}：时间步 t 滑块按 →")
    second = figure.get_attribute("src")
    by_key(page, nb, slider(ex, "样本"), "ArrowRight", lambda: figure.get_attribute("src") not in (None, second),
           f"{what}：样本滑块按 →")
    assert kernel_value(nb, "(stepper.t, stepper.sample.value)") == "(1, 1)"


def _operate_training(page, nb, ex, cdp, what):
    """As test_training_explorer_draws_live_and_stops_on_click expects, with 「训练」 and 「停止」 pressed from the
    keyboard: the focus goes from each to the other as the one pressed is greyed out."""
    output = ex.locator(".rnnlab-training-output")
    by_key(page, nb, dropdown(ex, "循环层"), "ArrowDown", lambda: "nn.LSTM(8, 32, batch_first=True)" in output.inner_text(),
           f"{what}：循环层下拉框按 ↓")
    by_key(page, nb, slider(ex, "T（时间步）"), "ArrowLeft", lambda: "T = 49" in output.inner_text(), f"{what}：T 滑块按 ←")
    max_norm = slider(ex, "max_norm")
    assert max_norm.get_attribute("tabindex") == "-1", f"{what}：不裁剪时灰掉的 max_norm 滑块仍能用 Tab 到达"
    by_key(page, nb, checkbox(ex, "梯度裁剪"), "Space",
           lambda: "max_norm = 1，梯度的总范数超过它时" in output.inner_text() and max_norm.get_attribute("tabindex") == "0",
           f"{what}：梯度裁剪复选框按空格")
    assert kernel_value(nb, "(lambda s: (s.cell, s.seq_len, s.clip))(training.settings())") == "('LSTM', 49, True)"

    def read():
        return ex.evaluate(_READ_TRAINING)

    def focused() -> str:
        return page.evaluate("() => document.activeElement.textContent.trim()")

    def focus_goes_to(text: str, why: str) -> None:
        try:
            wait_for(lambda: focused() == text, 20, f"{what}：{why}，焦点移到「{text}」")
        except TimeoutError as e:
            raise AssertionError(f"{e}（焦点在 {focused()!r}：键盘用户得从页面开头重新按 Tab）") from None

    ex.locator("button:text-is('训练')").focus()
    before = nb.js(_NOTEBOOK)
    page.keyboard.press("Enter")
    focus_goes_to("停止", "按回车开始训练、「训练」变灰之后")
    first = wait_for(lambda: (lambda s: s if s["state"] == "running" and s["points"] >= 1 and s["bar"] > 0 else None)(read()),
                     20, f"{what}：训练开始，曲线和进度条出现")
    assert first["train"] and not first["stop"], first
    page.keyboard.press("Space")
    stopped = wait_for(lambda: (lambda s: s if s["state"] != "running" else None)(read()), 20, f"{what}：按空格停止训练")
    assert stopped["state"] == "stopped" and stopped["step"] < stopped["total"], stopped
    assert "已停止" in stopped["text"] and not stopped["train"] and stopped["stop"], stopped
    # The 进度 bar, to a screen reader: a progress bar named by its label, the share of steps done as its value.
    bar = ex.locator(".widget-hprogress .progress")
    bar.evaluate("el => el.setAttribute('data-kb', 'progress')")
    assert accessible(cdp, "progress") == ("progressbar", "进度"), f"{what}：读屏软件不知道这是进度条"
    share = round(100 * stopped["step"] / stopped["total"])
    assert 0 < share < 100 and abs(int(bar.get_attribute("aria-valuenow") or -9) - share) <= 1, (
        f"{what}：进度条念出的进度 {bar.get_attribute('aria-valuenow')!r} 不是已完成的 {share}%")
    focus_goes_to("训练", "训练停下、「停止」变灰之后")
    assert nb.js(_NOTEBOOK) == before, f"{what}：按键被 JupyterLab 当成了 notebook 的快捷键"
    assert kernel_value(nb, "training.running") == "False"


# explorer class -> (its CSS class, its name in messages, what the keyboard does to it)
KEYBOARD = {
    "ModuleExplorer": ("rnnlab-module-explorer", "模块探索器", _operate_module),
    "GateBlocks": ("rnnlab-gate-explorer", "门块探索器", _operate_gates),
    "BidirectionalMap": ("rnnlab-bidirectional-explorer", "双向对照图", _operate_bidirectional),
    "CellStepper": ("rnnlab-stepper", "单元步进器", _operate_stepper),
    "TrainingExplorer": ("rnnlab-training-explorer", "训练探索器", _operate_training),
}


def test_every_explorer_works_from_the_keyboard_alone(lab, page, subtests):
    """Issue 24: in one notebook with one of each explorer (default settings), each explorer's controls have a name
    a screen reader announces, Tab visits them in order and leaves, and keys alone change the view as the mouse does."""
    from rnnlab.explorers import bidirectional, gates, module, stepper, training  # noqa: F401  (their HTMLViews)
    from rnnlab.explorers.view import HTMLView

    assert {c.__name__ for c in HTMLView.__subclasses__()} == set(KEYBOARD), "有探索器没有键盘测试"
    with shot_on_failure(page, "explorers-keyboard"):
        nb = Notebook.open(page, lab, TEMP_KEYBOARD)
        state = nb.run_all()
        assert _clean(nb.problems()) == [] and all(c is not None for c in state["counts"]), nb.problems()
        assert nb.widgets()["pending"] == []
        cdp = page.context.new_cdp_session(page)
        try:
            for css, what, operate in KEYBOARD.values():
                with subtests.test(msg=what):
                    explorer = page.locator(f".{css}")
                    assert explorer.count() == 1, f"{what}没有显示出来"
                    explorer.scroll_into_view_if_needed()
                    check_tab_and_names(page, cdp, explorer, what)
                    operate(page, nb, explorer, cdp, what)
                    keep_shot(explorer, f"keyboard-{css}")
        finally:
            cdp.detach()
        time.sleep(0.5)  # a traceback from a callback, if any, arrives right after the update
        assert _clean(nb.problems()) == [], "键盘操作引发了 traceback"
        assert page.console_errors == [], f"页面里有未捕获的 JavaScript 错误：{page.console_errors}"
