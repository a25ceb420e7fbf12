"""A student's first hour, as a student goes through it (issue 25).

- `make lab` of both editions (the student edition built here, and this instructor repository)
  serves the course's root and opens the overview; every relative link of every lecture, assignment
  and README resolves through the running server's contents API. The README's conda command does
  the same; the Binder link opens the overview at the root.
- In the student edition's `make lab`, in headless chromium, as a student clicks: the overview
  opens (menus in Chinese, no news prompt, nothing marked modified, none of nbgrader's teacher
  tools), its course map leads to assignment 1, a wrong answer's visible check shows the Chinese
  hint alone, and nbgrader's Validate button shows the same hint. Screenshots of each step are
  kept in $RNNLAB_BROWSER_SHOTS (default: build/test-artifacts/first-hour/).
  Every menu path a notebook or README names (「内核 → …」) is the text of those menus.

The student edition runs in a venv built from this environment's packages (tests/edition_env.py).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import urllib.error
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from browser import Browser, LabServer, MakeLab, Notebook, find_chromium, screenshot, wait_for
from conftest import REPO
from edition_env import make_edition_venv
from machine import require
from rnnlab import chapters
from rnnlab.grading.commands import student_edition as edition

pytestmark = pytest.mark.e2e

SHOTS = Path(os.environ.get("RNNLAB_BROWSER_SHOTS") or REPO / "build" / "test-artifacts") / "first-hour"
CJK = re.compile(r"[\u4e00-\u9fff]")
OVERVIEW = f"notebooks/{chapters.OVERVIEW}"
A1 = "release/a1_rnncell/a1_rnncell.ipynb"
# A mistake and the hint its visible check names (tests/test_checks_a1_rnncell.py tests the hint).
WRONG_STEP = ('def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
              "    return torch.tanh(x_t @ weight_ih.T + h_prev @ weight_hh.T)\n")
WRONG_HINT = "两个偏置 bias_ih、bias_hh 似乎都没有加上"


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> tuple[Path, Path]:
    """(the student edition, its venv)."""
    require("学生版的 make lab", None if __import__("shutil").which("make") else "没有 make")
    tmp = tmp_path_factory.mktemp("first-hour")
    out = tmp / "rnnlab-course"
    edition.build(REPO, out)
    make_edition_venv(out, tmp / "venv")
    return out, tmp / "venv"


@pytest.fixture(scope="module")
def courses(student) -> dict[str, tuple[Path, Path]]:
    return {"student": student, "instructor": (REPO, Path(sys.prefix))}


# ------------------------------------------------------------------ links

LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|(?:href|src)=\"([^\"]+)\"")


def relative_links(text: str) -> list[str]:
    out = []
    for m in LINK.finditer(text):
        target = m.group(1) or m.group(2)
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target, re.I):
            continue  # a URL, an anchor in the page, an absolute path
        out.append(urllib.parse.unquote(target.split("#")[0]))
    return [t for t in out if t]


def links_of(root: Path) -> dict[str, list[str]]:
    """Every relative link of every lecture, released assignment and README: {file: [course path]}."""
    files = [*sorted((root / "notebooks").glob("*.ipynb")), *sorted((root / "release").glob("*/*.ipynb")),
             root / "README.md"]
    found = {}
    for path in files:
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(str(path), 4).cells if c.cell_type == "markdown")
        else:
            text = path.read_text(encoding="utf-8")
        rel_dir = path.parent.relative_to(root)
        found[path.relative_to(root).as_posix()] = [
            os.path.normpath((rel_dir / t).as_posix()) for t in relative_links(text)]
    return found


def unresolved(lab: LabServer, links: dict[str, list[str]]) -> list[str]:
    bad = []
    for source, targets in links.items():
        for target in targets:
            try:
                lab.api("/api/contents/" + urllib.parse.quote(target) + "?content=0")
            except urllib.error.HTTPError as e:
                bad.append(f"{source} → {target}: HTTP {e.code}")
    return bad


def served_root(lab: LabServer) -> set[str]:
    return {item["name"] for item in lab.api("/api/contents/")["content"]}


@pytest.mark.parametrize("which", ["student", "instructor"])
def test_make_lab_serves_the_course_root_and_every_link_resolves(which, courses):
    root, venv = courses[which]
    links = links_of(root)
    assert sum(map(len, links.values())) >= 20, links  # the overview alone links every chapter
    with MakeLab(root, venv) as lab:
        assert {"notebooks", "release", "README.md"} <= served_root(lab), "make lab 的根目录不是课程文件夹"
        opened = wait_for(lab.opened_url, 10, "make lab 要在浏览器里打开的地址")
        assert urllib.parse.urlparse(opened).path == f"/lab/tree/{OVERVIEW}", opened
        assert unresolved(lab, links) == []


class CommandLab(LabServer):
    """A server started by a command a README tells students to type, plus the test options."""

    def __init__(self, root: Path, venv: Path, argv: list[str]):
        super().__init__(root, python=str(venv / "bin" / "python"))
        self.argv = argv

    def command(self) -> list[str]:
        return [*self.argv, f"--port={self.port}", "--allow-root", *self.test_options()]


def test_the_readmes_conda_command_serves_the_course_root(student):
    root, venv = student
    for readme in (REPO / "README.md", root / "README.md"):
        conda = re.search(r"conda activate rnnlab\n(jupyter lab[^\n#]*)", readme.read_text(encoding="utf-8"))
        assert conda, f"{readme} 没有 conda 的启动命令"
        argv = shlex.split(conda.group(1))
        with CommandLab(root, venv, [str(venv / "bin" / argv[0]), *argv[1:]]) as lab:
            assert {"notebooks", "release"} <= served_root(lab), f"{readme.name} 的命令：根目录不是课程文件夹"
            opened = wait_for(lab.opened_url, 10, "要在浏览器里打开的地址")
            assert urllib.parse.urlparse(opened).path == f"/lab/tree/{OVERVIEW}", opened


def test_the_binder_link_opens_the_overview_at_the_root(student):
    root, _ = student
    for readme in (REPO / "README.md", root / "README.md"):
        url = re.search(r"\((https://mybinder\.org/v2/gh/[^)]+)\)", readme.read_text(encoding="utf-8")).group(1)
        assert urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["urlpath"] == [f"lab/tree/{OVERVIEW}"]
        assert (root / OVERVIEW).is_file()  # Binder serves the repository's root


# ------------------------------------------------------------------ in the browser

@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    require("浏览器测试", None if path else "没有找到 chromium（sudo apt-get install chromium fonts-noto-cjk）")
    return path


def shot(page, name: str) -> None:
    screenshot(page, SHOTS, name)


def wait_notebook(page, lab, path: str) -> Notebook:
    nb = Notebook(page, lab, path)
    wait_for(lambda: (s := nb.state())["ready"] and s["kernelStatus"] == "idle" and nb.js("R.listen(path)"),
             90, f"{path} 打开、内核空闲")
    return nb


def menu_texts(page) -> dict[str, list[str]]:
    """Each top menu's label and the labels of its items (opened and closed as a student would)."""
    out = {}
    bar = page.locator("#jp-menu-panel .lm-MenuBar-item")
    for i in range(bar.count()):
        label = bar.nth(i).inner_text().strip()
        bar.nth(i).click()
        page.locator(".lm-Menu").first.wait_for()
        out[label] = [t.strip() for t in page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts() if t.strip()]
        page.keyboard.press("Escape")
    return out


def dirty(nb: Notebook) -> bool:
    return nb.js("R.panel(path).context.model.dirty")


def cell_index(nb: Notebook, grade_id: str) -> int:
    return nb.js("R.panel(path).content.widgets.findIndex(c => ((c.model.getMetadata('nbgrader') || {}).grade_id) === args[0])",
                 grade_id)


def output_text(nb: Notebook, index: int) -> str:
    return nb.js("R.panel(path).content.widgets[args[0]].outputArea.node.innerText", index)


def test_a_students_first_hour_in_jupyterlab(chromium, student):
    root, venv = student
    with MakeLab(root, venv) as lab, Browser(chromium) as browser:
        page = browser.new_page()
        try:
            # make lab opens the overview.
            page.goto(wait_for(lab.opened_url, 10, "make lab 打开的地址"), wait_until="domcontentloaded")
            page.wait_for_function("() => !!window.jupyterapp", timeout=60_000)
            overview = wait_notebook(page, lab, OVERVIEW)
            page.wait_for_timeout(1500)  # a news toast or a late metadata change would show by now
            shot(page, "1-overview")
            menus = menu_texts(page)
            assert list(menus)[:5] == ["文件", "编辑", "查看", "运行", "内核"], list(menus)
            # Every 「menu → item」 a notebook or README names is on the student's screen.
            named = menu_paths()
            assert sum(map(len, named.values())) >= 6, named  # every assignment names Run All, at least
            wrong = [f"{f}: 「{m} → {item}」" for f, ps in named.items() for m, item in ps if item not in menus.get(m, [])]
            assert wrong == [], f"菜单里没有这些项（学生看到的菜单：{menus}）"
            assert "Nbgrader" not in menus, "学生不该看到 nbgrader 的教师菜单（Formgrader、Create assignment）"
            sidebar = page.locator(".jp-SideBar .lm-TabBar-tab").all_inner_texts() + \
                [t or "" for t in page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all("els => els.map(e => e.title)")]
            assert not any("Create Assignment" in t or "Formgrader" in t for t in sidebar), sidebar
            toasts = page.locator(".Toastify__toast").all_inner_texts()
            assert toasts == [], f"打开时弹出了提示：{toasts}"
            assert not dirty(overview), "什么都没改，总览却被标成已修改"

            # Its course map leads to assignment 1.
            link = page.locator(".jp-MarkdownOutput a", has_text="a1_rnncell").first
            link.scroll_into_view_if_needed()
            link.click()
            a1 = wait_notebook(page, lab, A1)
            page.wait_for_timeout(1500)
            shot(page, "2-assignment")
            assert not dirty(a1), "刚打开的作业被标成已修改"

            # A wrong answer; Run All stops at its visible check, which shows the hint alone.
            step, check = cell_index(a1, "rnn_cell_step"), cell_index(a1, "test_rnn_cell_step_visible")
            assert 0 <= step < check
            a1.js("R.panel(path).content.widgets[args[0]].model.sharedModel.setSource(args[1])", step, WRONG_STEP)
            assert dirty(a1), "改了答案，标签页却没有显示已修改"
            page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
            wait_for(lambda: "没有通过检查" in output_text(a1, check), 60, "可见检查的结果")
            page.wait_for_timeout(500)
            a1.js("R.panel(path).content.widgets[args[0]].node.scrollIntoView({block: 'center'})", check)
            shot(page, "3-hint")
            shown = output_text(a1, check)
            assert WRONG_HINT in shown, shown
            for noise in ("Traceback", "File ", "rnnlab/", "site-packages", "CheckFailed", "skipping hidden"):
                assert noise not in shown, f"检查的输出里有 {noise!r}：\n{shown}"
            assert all(CJK.search(line) for line in shown.splitlines() if line.strip()), shown

            # nbgrader's Validate button (the student's tool), in Chinese (rnnlab-lab:nbgrader-zh), says the same.
            page.locator(".jp-NotebookPanel:visible .jp-NotebookPanel-toolbar").get_by_text("验证", exact=True).click()
            dialog = page.locator(".jp-Dialog")
            dialog.wait_for(timeout=120_000)
            wait_for(lambda: WRONG_HINT in dialog.inner_text() or "通过了" in dialog.inner_text()
                     or "没有通过" in dialog.inner_text(), 120, "验证的结果")
            shot(page, "4-validate")
            text = dialog.inner_text()
            assert WRONG_HINT in text and "验证结果" in text and "下面这个单元格没有通过" in text, text
            assert not re.search(r"Validation|The following cell|Success", text), text
            assert "Traceback" not in text and "rnnlab/" not in text, text
            assert not dirty(a1), "Validate 先保存了笔记本，标签页应当不再显示已修改"
            assert page.console_errors == [], page.console_errors
        except BaseException:
            shot(page, "failure")
            raise


# ------------------------------------------------------------------ menu paths

MENU_PATH = re.compile(r"「([^」]*?) → ([^」]*?)」")


def menu_paths() -> dict[str, list[tuple[str, str]]]:
    """Every 「menu → item」 a notebook or README names: {file: [(menu, item)]}."""
    files = [*sorted((REPO / "notebooks").glob("*.ipynb")), *sorted((REPO / "source").glob("*/*.ipynb")),
             REPO / "README.md", REPO / "src/rnnlab/grading/commands/student_edition_template/README.md"]
    found = {}
    for path in files:
        text = path.read_text(encoding="utf-8") if path.suffix != ".ipynb" else \
            "\n".join(c.source for c in nbformat.read(str(path), 4).cells)
        if paths := MENU_PATH.findall(text):
            found[path.relative_to(REPO).as_posix()] = paths
    return found
