"""The teacher's kit, looked at as a person would: the offline site, the PDF handouts, the slides.

Everything is made from the executed lectures (rnnlab.grading.lectures_export), built ONCE here by a
module fixture into a temporary folder and shared by every test of this file: the lectures that
test_browser.py already ran in JupyterLab are taken from that run (tests/executed.py), the others
(always the overview) are executed here in fresh kernels (~38 CPU-s if all 7 are). The three commands then run as an instructor runs them (the CLI, with
--executed pointing at that folder, so nothing runs twice). One http.server bound to 127.0.0.1 serves
the site and the decks; one headless Chromium (Debian's, Playwright) looks at them, every request that
does not go to 127.0.0.1 recorded and refused (the tests assert there were none). Two handouts are
printed (one with the answers, one with --no-answers); pdffonts looks at both, pdftoppm renders one page.
Screenshots of every deck: $RNNLAB_BROWSER_SHOTS/kit (default build/test-artifacts/kit/).

Expectations come from the lectures themselves (notebooks/ and their slide metadata), not from the
kit's code: the pages a search must find, the number of slides, the folded answers, the explorers.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import threading
import urllib.request
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

import executed as shared
from machine import require
from rnnlab import chapters
from rnnlab.grading import printing
from rnnlab.grading.course import CourseError

REPO = Path(__file__).resolve().parents[1]
LECTURES = chapters.lectures()
SHOTS = Path(os.environ.get("RNNLAB_BROWSER_SHOTS") or REPO / "build" / "test-artifacts") / "kit"
WIDE = re.compile(r"[\u4e00-\u9fff]")
STATIC = "rnnlab-static-view"
# Lecture cells that display an explorer or a quiz (each must print as its static view).
WIDGET_CALLS = re.compile(r"^(?:\w+\s*=\s*)?(ModuleExplorer|GateBlocks|BidirectionalMap|show_stepper|TrainingExplorer|quiz)\(", re.M)
WITH_ANSWERS, WITHOUT_ANSWERS = "01_rnncell_loop.ipynb", "04_gru.ipynb"


def lecture(name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(REPO / "notebooks" / name), as_version=4)


def lecture_title_of(name: str) -> str:
    """The lecture's first heading, as a reader sees it (Markdown marks removed)."""
    for cell in lecture(name).cells:
        m = re.search(r"^#\s+(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
        if m:
            return re.sub(r"[`*]", "", m.group(1)).replace("\u3000", " ").strip()
    return ""


def cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m rnnlab.grading ARGS` as the instructor runs it, in this process (one Python start-up and one
    nbconvert import for the whole file, not one per command): exit code, stdout and stderr."""
    from rnnlab.grading.cli import main

    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse
                code = e.code
    finally:
        os.chdir(cwd)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def one_chinese_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    err = proc.stderr.strip()
    assert err.startswith("错误：") and "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


# ------------------------------------------------------------------ fixtures: built once

def tools_or_fail() -> None:
    missing = [t for t in ("pdffonts", "pdftotext", "pdftoppm") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"检查 PDF 要用 {'、'.join(missing)}：请安装 poppler-utils（sudo apt-get install poppler-utils）",
                    pytrace=False)
    require("教师套件的测试", None if printing.find_chromium() else
            "没有找到 chromium（sudo apt-get install chromium fonts-noto-cjk）")
    if not (REPO / "deploy/kit/node_modules/katex/dist/katex.min.js").is_file():
        require("教师套件的测试", None if shutil.which("npm") else "没有 npm，无法安装 KaTeX 和 reveal.js（make kit-assets）")
        subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "kit-assets"], check=True,
                       capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def kit_root(tmp_path_factory) -> Path:
    tools_or_fail()
    return tmp_path_factory.mktemp("kit")


@pytest.fixture(scope="module")
def executed(kit_root) -> Path:
    """Every lecture executed once (the expensive part, shared by the whole file)."""
    from rnnlab.grading.lectures_export import executed_lectures

    out = kit_root / "executed"
    # The lectures test_browser.py ran in JupyterLab, if it ran them already (tests/executed.py); the
    # overview is always run here, so that the kit's own execution is tested in every run.
    shared.take(out, leave=(LECTURES[0],))
    paths = executed_lectures(REPO, out)
    assert [p.name for p in paths] == LECTURES
    return out


def built(kit_root: Path, executed: Path, command: str, said: str) -> Path:
    """`python -m rnnlab.grading COMMAND --out www/COMMAND --executed ...`: its folder, after it said `said`
    and ran no lecture (the fixture `executed` ran them all)."""
    out = kit_root / "www" / command
    proc = cli(command, "--out", str(out), "--executed", str(executed))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert said in proc.stdout and "运行中" not in proc.stdout, proc.stdout
    return out


@pytest.fixture(scope="module")
def site(kit_root, executed) -> Path:
    return built(kit_root, executed, "site", "离线课程网站已写入")


@pytest.fixture(scope="module")
def slides(kit_root, executed) -> Path:
    return built(kit_root, executed, "slides", f"已生成 {len(LECTURES)} 套幻灯片")


@pytest.fixture(scope="module")
def handouts(kit_root, executed) -> dict[str, Path]:
    """One lecture printed with its answers, another with --no-answers (the student version)."""
    pdfs = {}
    for name, flags in ((WITH_ANSWERS, ()), (WITHOUT_ANSWERS, ("--no-answers",))):
        out = kit_root / ("handouts" + "".join(flags).replace("--", "-"))
        proc = cli("handouts", "--out", str(out), "--executed", str(executed), "--lecture", name, *flags)
        assert proc.returncode == 0, proc.stderr[-2000:]
        pdfs[name] = out / f"{Path(name).stem}.pdf"
        assert pdfs[name].read_bytes().startswith(b"%PDF-")
    return pdfs


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(kit_root, site, slides):
    """One static web server for the site and the decks, as any campus server would serve them."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(kit_root / "www")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(server):
    from browser import Browser

    with Browser() as b:
        yield b


@pytest.fixture
def page(browser):
    """A page whose every request that does not go to 127.0.0.1 is recorded and refused."""
    page = browser.new_page()
    page.outside = []  # type: ignore[attr-defined]

    def gate(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            page.outside.append(url)
            route.abort()

    page.context.route("**/*", gate)
    yield page
    assert page.outside == [], f"页面向本机以外发出了请求：{page.outside}"
    assert page.console_errors == [], f"页面的脚本出错：{page.console_errors}"
    page.context.close()


# ------------------------------------------------------------------ step 1: executed lectures

def test_every_explorer_and_quiz_is_a_static_view_with_no_widget_state(executed):
    for name in LECTURES:
        nb = nbformat.read(str(executed / name), as_version=4)
        assert "widgets" not in nb.metadata, f"{name}：导出的讲义里还留着小部件状态"
        calls = views = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            n = len(WIDGET_CALLS.findall(cell.source))
            calls += n
            shown = [o for o in cell.outputs if STATIC in o.get("data", {}).get("text/html", "")]
            assert len(shown) == n, f"{name}：单元格 {cell.source[:60]!r} 显示了 {len(shown)} 个静态视图，应为 {n} 个"
            for o in cell.outputs:
                assert "application/vnd.jupyter.widget-view+json" not in o.get("data", {}), f"{name}：导出的讲义里还留着小部件视图"
            for o in shown:
                text = re.sub(r"<[^>]+>", "", o.data["text/html"])
                assert len(text) > 40 and WIDE.search(text), f"{name}：静态视图几乎是空的：{text[:200]}"
            views += len(shown)
        assert views == calls, f"{name}：{calls} 个探索器或自测题，只有 {views} 个静态视图"
    assert sum(len(WIDGET_CALLS.findall(c.source)) for n in LECTURES for c in lecture(n).cells if c.cell_type == "code") > 10


def test_figures_keep_their_chinese_description(executed):
    count = 0
    for name in LECTURES:
        for cell in nbformat.read(str(executed / name), as_version=4).cells:
            for o in cell.get("outputs", []):
                if "image/png" in o.get("data", {}):
                    md = o.get("metadata", {})
                    alt = md.get("alt") or md.get("image/png", {}).get("alt")
                    assert alt and WIDE.search(alt), f"{name}：{cell.source[:60]!r} 的图没有中文说明"
                    count += 1
    assert count >= 6


def test_the_live_widget_is_still_offered_next_to_the_static_view():
    from rnnlab.explorers.gates import GateBlocks
    from rnnlab.selfcheck import quiz

    bundle = GateBlocks(module="GRU", input_size=10, hidden_size=20)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # JupyterLab ranks it first: the live widget
    assert STATIC in bundle["text/html"] and "weight_hh_l0" in bundle["text/html"] and "(60, 20)" in bundle["text/html"]
    q = quiz("`weight_ih` 的形状？", ["(8, 30)", "(30, 8)"], answer=1, explanation="行是隐藏单元，列是输入特征",
             explanations={0: "把行和列看反了"})._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in q and "(8, 30)" in q["text/html"] and "(30, 8)" in q["text/html"]
    # The static quiz never gives the answer away: no verdict, no explanation, no option marked chosen.
    assert not any(w in q["text/html"] for w in ("正确", "行是隐藏单元", "看反了", "◉")), q["text/html"]


def test_the_cache_follows_the_lecture_and_the_package_but_not_the_instructor_tools(tmp_path, executed):
    from rnnlab.grading import lectures_export as le

    course = tmp_path / "course"
    shutil.copytree(REPO / "notebooks", course / "notebooks")
    shutil.copytree(REPO / "src" / "rnnlab", course / "src" / "rnnlab", ignore=shutil.ignore_patterns("__pycache__"))
    name = LECTURES[1]
    assert le.source_hash(course, name) == le.source_hash(REPO, name)
    assert le._cached(executed / name, le.source_hash(REPO, name))  # what the fixture built is current
    (course / "src/rnnlab/grading/cli.py").write_text("# changed\n", encoding="utf-8")
    assert le.source_hash(course, name) == le.source_hash(REPO, name)
    with open(course / "src/rnnlab/explorers/static.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    changed = le.source_hash(course, name)
    assert changed != le.source_hash(REPO, name)
    assert not le._cached(executed / name, changed)
    nb = lecture(name)
    nb.cells[0].source += "\n改了一句。"
    nbformat.write(nb, str(course / "notebooks" / name))
    assert le.source_hash(course, name) != changed
    # A second call re-runs nothing: every lecture is current.
    said = []
    le.executed_lectures(REPO, executed, log=said.append)
    assert said == [f"{n}：未改动，沿用已运行的版本" for n in LECTURES]


# ------------------------------------------------------------------ step 2: the site

def expected_pages(term: str) -> set[str]:
    """The lectures whose own text (Markdown and code) contains `term`: search must find at least these."""
    return {Path(n).stem + ".html" for n in LECTURES
            if any(term.lower() in c.source.lower() for c in lecture(n).cells)}


def test_every_page_has_previous_next_and_map(site):
    stems = [Path(n).stem for n in LECTURES]
    for k, stem in enumerate(stems):
        text = (site / f"{stem}.html").read_text(encoding="utf-8")
        navs = re.findall(r'<nav\b[^>]*class="rnnlab-nav (top|bottom)"[^>]*>.*?</nav>', text, re.S)
        assert navs == ["top", "bottom"], f"{stem}.html 的页首和页尾应各有一组导航，实际是 {navs}"
        for block in re.findall(r'<nav\b[^>]*class="rnnlab-nav.*?</nav>', text, re.S):
            assert 'href="index.html"' in block and "课程地图" in block
            links = [dict(re.findall(r'(\w+)="([^"]*)"', a)) for a in re.findall(r"<a\b[^>]*>", block)]
            before = [a["href"] for a in links if a.get("rel") == "prev"]
            after = [a["href"] for a in links if a.get("rel") == "next"]
            assert before == ([f"{stems[k - 1]}.html"] if k > 0 else []), f"{stem}.html 的“上一讲”链接不对：{before}"
            assert after == ([f"{stems[k + 1]}.html"] if k + 1 < len(stems) else []), f"{stem}.html 的“下一讲”链接不对：{after}"
        assert f'href="downloads/{stem}.ipynb"' in text, f"{stem}.html 没有下载这一讲笔记本的链接"
        assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', text), f"{stem}.html 从外网加载文件"
        assert "application/vnd.jupyter.widget" not in text and "require.js" not in text, f"{stem}.html 还要加载小部件管理器"
        for alt in re.findall(r"<img\b[^>]*>", text):
            m = re.search(r'alt="([^"]*)"', alt)
            assert m and WIDE.search(m.group(1)), f"{stem}：图片没有中文说明：{alt[:120]}"
        assert text.count(f'class="{STATIC}"') == sum(len(WIDGET_CALLS.findall(c.source))
                                                      for c in lecture(LECTURES[k]).cells if c.cell_type == "code"), \
            f"{stem}.html 里静态视图的个数和讲义里探索器、自测题的个数不一样"


def test_the_downloads_are_the_lectures_and_the_student_edition(site, server):
    for name in LECTURES:
        with urllib.request.urlopen(f"{server}/site/downloads/{name}", timeout=10) as r:
            assert r.read() == (REPO / "notebooks" / name).read_bytes(), f"下载的 {name} 不是讲义本身"
    with zipfile.ZipFile(site / "downloads" / "rnnlab-student-edition.zip") as z:
        names = z.namelist()
    for name in LECTURES:
        assert f"rnnlab-course/notebooks/{name}" in names, f"学生版 zip 里没有讲义 {name}"
    for aid in chapters.assignments():
        assert f"rnnlab-course/release/{aid}/{aid}.ipynb" in names, f"学生版 zip 里没有作业 {aid}"
    leaked = [n for n in names if re.search(r"/(source|solutions|teacher)/|rnnlab/grading/|question_bank", n)]
    assert leaked == [], f"学生版 zip 里有只给教师的文件：{leaked}"


def test_the_index_shows_the_course_map_and_formulas_render(page, server):
    page.goto(f"{server}/site/index.html")
    links = page.eval_on_selector_all("table.rnnlab-map a[href$='.html']", "els => els.map(e => e.getAttribute('href'))")
    assert links == [Path(c.lecture).stem + ".html" for c in chapters.CHAPTERS if c.lecture]
    with page.expect_navigation():
        page.click("table.rnnlab-map a[href='03_lstm_shapes.html']")
    page.wait_for_selector("html[data-math=done]")
    assert page.url.endswith("/site/03_lstm_shapes.html") and "LSTM" in page.inner_text("h1")
    assert page.locator(".katex").count() > 20, "公式没有被 KaTeX 画出来"
    assert page.locator(".katex-error").count() == 0
    main = page.inner_text("main")
    assert "$\\mathbf" not in main and "\\odot" not in main
    boxes = page.locator(f".{STATIC}")
    assert boxes.count() == sum(len(WIDGET_CALLS.findall(c.source)) for c in lecture("03_lstm_shapes.ipynb").cells
                                if c.cell_type == "code")
    explorers = 0
    for k in range(boxes.count()):
        box, text = boxes.nth(k).bounding_box(), boxes.nth(k).inner_text()
        assert box and box["height"] > 60 and len(text) > 30, f"第 {k + 1} 个静态视图是个空框：{text!r}"
        explorers += "weight_hh_l0" in text and box["height"] > 250
    assert explorers >= 2, "门块和模块探索器的默认视图都应列出 weight_hh_l0"
    alts = page.eval_on_selector_all("img", "els => els.map(e => e.alt)")
    assert alts and all(WIDE.search(a) for a in alts), alts
    assert page.locator(".rnnlab-nav.top a[rel=next]").get_attribute("href") == "04_gru.html"


def found_pages(page) -> list[str]:
    page.wait_for_selector(".rnnlab-search-hit, #rnnlab-search-results p")
    return page.eval_on_selector_all(".rnnlab-search-hit", "els => els.map(e => e.dataset.page)")


def test_the_search_box_finds_a_chinese_word_and_leads_to_it(page, server):
    term = "隐状态"
    expected = expected_pages(term)
    assert len(expected) >= 5
    page.goto(f"{server}/site/index.html")
    page.fill(".rnnlab-nav.top input[name=q]", term)
    with page.expect_navigation():
        page.press(".rnnlab-nav.top input[name=q]", "Enter")
    found = found_pages(page)
    assert expected <= set(found), f"搜索“{term}”没有找到 {sorted(expected - set(found))}"
    assert page.eval_on_selector_all(".rnnlab-search-hit mark", "els => els.map(e => e.textContent)") == [term] * len(found)
    with page.expect_navigation():
        page.click(".rnnlab-search-hit a >> nth=0")
    page.wait_for_selector("html[data-math=done]")
    assert page.url.split("#")[0].endswith("/site/" + found[0]) and term in page.inner_text("main")


@pytest.mark.parametrize("term", ["weight_hh_l0", "pack_padded_sequence"])
def test_search_finds_pytorch_names(page, server, executed, term):
    expected = expected_pages(term)
    assert expected, term
    page.goto(f"{server}/site/search.html?q={term}")
    found = found_pages(page)
    assert expected <= set(found), f"搜索“{term}”没有找到 {sorted(expected - set(found))}"
    assert page.eval_on_selector_all(".rnnlab-search-hit mark", "els => els.map(e => e.textContent)") == [term] * len(found)
    # No page that lacks the name: every hit is a lecture whose own text (cells and outputs) has it.
    for url in found:
        name = url.replace(".html", ".ipynb")
        assert term in (REPO / "notebooks" / name).read_text(encoding="utf-8") or term in \
            (executed / name).read_text(encoding="utf-8"), url


def test_search_says_so_when_nothing_is_found(page, server):
    page.goto(f"{server}/site/search.html?q=" + urllib.request.quote("循环神经网络不存在的词"))
    assert "没有找到" in page.inner_text("#rnnlab-search-results")


# ------------------------------------------------------------------ step 3: handouts

def pdf_text(pdf: Path, first: int | None = None, last: int | None = None) -> str:
    pages = ["-f", str(first), "-l", str(last)] if first else []
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *pages, str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def signature(answer: str) -> str:
    """The longest stretch of an answer's text without a formula, as pdftotext prints it (no spaces)."""
    parts = [re.sub(r"[\s`*]", "", p) for p in re.split(r"\$[^$]*\$", answer)]
    return max(parts, key=len)


def folded_answers(name: str) -> list[str]:
    return [m for c in lecture(name).cells if c.cell_type == "markdown"
            for m in re.findall(r"<details><summary>.*?</summary>(.*?)</details>", c.source, re.S)]


def test_handouts_embed_their_fonts(handouts):
    for pdf in handouts.values():
        out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        fonts = [line.split() for line in out.splitlines()[2:] if line.strip()]
        assert fonts and all(f[-5] == "yes" for f in fonts), out
        assert any("NotoSansCJKsc" in f[0] for f in fonts), out
        assert not any("Type" in f and "3" in f for f in fonts), f"{pdf.name} 有无名的 Type 3 字形（某个字体没有嵌入成 TrueType）：\n{out}"


def test_handout_figures_carry_their_chinese_description(handouts):
    """A tagged PDF: every picture of the printed page is a figure with its alt text (/Alt), as on the site."""
    for name, pdf in handouts.items():
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Tagged:\s+yes", info, re.M), f"{pdf.name} 不是带结构标记的 PDF，图的说明文字读屏软件读不到"
        images = re.findall(r"<img\b[^>]*>", pdf.with_suffix(".html").read_text(encoding="utf-8"))
        assert images and all(WIDE.search(re.search(r'alt="([^"]*)"', i).group(1)) for i in images), name
        assert pdf.read_bytes().count(b"/Alt") == len(images), f"{pdf.name}：{len(images)} 张图，PDF 里的说明文字个数不同"


def test_the_folded_answers_are_at_the_end_or_absent(handouts):
    answers = folded_answers(WITH_ANSWERS)
    assert len(answers) >= 3
    text = pdf_text(handouts[WITH_ANSWERS])
    flat = re.sub(r"\s", "", text)
    end = flat.rfind("答案正文里折叠起来的答案都集中在这里")
    assert end > 0.6 * len(flat), "答案没有印在本章末尾"
    for k in range(1, len(answers) + 1):
        assert f"答案见本章末“答案”第{k}条" in flat[:end] and f"第{k}条" in flat[end:]
    for answer in answers:
        words = signature(answer)
        assert len(words) >= 12 and words in flat[end:], words
        assert words not in flat[:end], f"答案“{words}”还留在正文里"
    student = re.sub(r"\s", "", pdf_text(handouts[WITHOUT_ANSWERS]))
    hidden = folded_answers(WITHOUT_ANSWERS)
    assert hidden and "答案见本章末" not in student and "正文里折叠起来的答案" not in student
    for answer in hidden:
        words = signature(answer)
        assert len(words) >= 12 and words not in student, f"学生版里印出了答案：{words}"


def test_a_sample_page_shows_the_explorer_and_nothing_runs_past_the_margin(handouts, tmp_path):
    from PIL import Image

    pdf = handouts[WITH_ANSWERS]
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout).group(1))
    sample = next(k for k in range(1, pages + 1) if "交互演示的默认视图" in pdf_text(pdf, k, k))
    text = pdf_text(pdf, max(1, sample - 1), sample)  # the box may begin on the page before
    assert "weight_ih" in text and "参数总数" in text, "探索器印成了空框"
    subprocess.run(["pdftoppm", "-r", "60", "-f", str(sample), "-l", str(sample), "-png", str(pdf), str(tmp_path / "p")],
                   check=True, capture_output=True)
    (png,) = tmp_path.glob("p*.png")
    image = Image.open(png).convert("L")
    width, height = image.size
    margin = int(width * 10 / 210)  # the right 10 mm of an A4 page (the CSS margin is 14 mm)
    strip = image.crop((width - margin, 0, width, height))
    assert strip.getextrema()[0] > 200, f"第 {sample} 页有东西伸进了右边距（被截断的行）"
    body = image.crop((0, 0, width - margin, height))
    assert sum(body.histogram()[:128]) > 0.02 * body.size[0] * body.size[1], "样页几乎是空白的"
    # The longest code line of the lecture is printed whole (wrapped, not cut): its last token is there.
    code = max((line for c in lecture(WITH_ANSWERS).cells if c.cell_type == "code" for line in c.source.splitlines()), key=len)
    assert len(code) > 90
    assert re.sub(r"\s", "", code)[-12:] in re.sub(r"\s", "", pdf_text(pdf)), code


# ------------------------------------------------------------------ step 4: slides

def test_the_slide_metadata_follows_the_headings():
    """By the rule of `slides --mark`, restated: # and ## start a slide, ### and text after code a subslide, and so does
    a code cell showing an explorer or a quiz."""
    for name in LECTURES:
        previous = None
        for cell in lecture(name).cells:
            kind = cell.metadata.get("slideshow", {}).get("slide_type")
            if previous is None or (cell.cell_type == "markdown" and re.match(r"##? ", cell.source)):
                want = "slide"
            elif cell.cell_type == "markdown" and (cell.source.startswith("### ") or previous.cell_type == "code"):
                want = "subslide"
            elif cell.cell_type == "code" and WIDGET_CALLS.search(cell.source):
                want = "subslide"
            else:
                want = "-"
            assert kind == want, (f"{name}：单元格 {cell.source[:40]!r} 的幻灯片类型是 {kind!r}，按标题应为 {want!r}；"
                                  "运行 python -m rnnlab.grading slides --mark")
            previous = cell


def test_each_deck_has_the_slides_its_metadata_says(page, server, slides):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name in LECTURES:
        expected = sum(c.metadata.get("slideshow", {}).get("slide_type") in ("slide", "subslide") for c in lecture(name).cells)
        stem = Path(name).stem
        page.goto(f"{server}/slides/{stem}.html")
        page.wait_for_selector("html[data-deck=ready]")
        title = lecture_title_of(name)
        assert page.title() == f"{title} · 幻灯片", f"{name} 的幻灯片标题是 {page.title()!r}"
        shown = page.evaluate("Reveal.getTotalSlides()")
        assert shown == expected, f"{name} 的幻灯片有 {shown} 张，按讲义的幻灯片元数据应为 {expected} 张"
        assert WIDE.search(page.inner_text(".reveal .slides section.present")), f"{name} 的第一张幻灯片没有中文"
        page.screenshot(path=str(SHOTS / f"{stem}.png"))
        alts = page.eval_on_selector_all(".reveal img", "els => els.map(e => e.alt)")
        assert all(WIDE.search(a) for a in alts), f"{name} 的幻灯片里有图片没有中文说明：{alts}"
        views = page.locator(f".reveal .{STATIC}")
        want = sum(len(WIDGET_CALLS.findall(c.source)) for c in lecture(name).cells if c.cell_type == "code")
        assert views.count() == want, f"{name} 的幻灯片里有 {views.count()} 个探索器或自测题的静态视图，应为 {want} 个"
    # The last deck looked at in detail: formulas drawn, the explorer's picture not an empty box.
    page.goto(f"{server}/slides/03_lstm_shapes.html")
    page.wait_for_selector("html[data-deck=ready]")
    assert page.locator(".reveal .katex").count() > 20 and page.locator(".reveal .katex-error").count() == 0, \
        "幻灯片里的公式没有被 KaTeX 画出来"
    view = page.locator(f".reveal .{STATIC}").first
    section = view.locator("xpath=ancestor::section[1]")
    indices = page.evaluate("s => Reveal.getIndices(s)", section.element_handle())
    page.evaluate("i => Reveal.slide(i.h, i.v)", indices)
    page.wait_for_timeout(900)
    assert view.is_visible() and view.bounding_box()["height"] > 120 and "weight_hh_l0" in view.inner_text(), \
        "幻灯片里门块探索器的静态视图是空的"
    page.screenshot(path=str(SHOTS / "03_lstm_shapes-explorer.png"))
    # Every slide, shown: it fits, or it was made smaller as far as the deck goes (70 %) and scrolls the rest.
    fits = page.evaluate("""async () => {
      const out = [];
      for (const s of Reveal.getSlides()) {
        const i = Reveal.getIndices(s);
        Reveal.slide(i.h, i.v);
        await new Promise(r => setTimeout(r, 20));
        out.push([s.getAttribute("data-fit"), s.scrollHeight - s.clientHeight]);
      }
      return out;
    }""")
    assert all(zoom == "0.70" or over <= 1 for zoom, over in fits), fits
    assert any(zoom not in ("1.00", "0.70") for zoom, _ in fits), fits  # some fit only once made smaller


# ------------------------------------------------------------------ bad input: one Chinese sentence

def test_a_missing_lecture_is_one_chinese_sentence(executed, tmp_path):
    proc = cli("handouts", "--out", str(tmp_path / "h"), "--executed", str(executed), "--lecture", "07_attention.ipynb")
    one_chinese_line(proc, "没有讲义 07_attention.ipynb", "可选的讲义有")


def test_missing_npm_assets_say_what_to_run(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(REPO / "notebooks", course / "notebooks")
    (course / "src" / "rnnlab").mkdir(parents=True)
    (course / "source").mkdir()
    shutil.copy(REPO / "src" / "rnnlab" / "chapters.py", course / "src" / "rnnlab" / "chapters.py")
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    proc = cli("--course-dir", str(course), "slides", "--out", str(tmp_path / "s"))
    one_chinese_line(proc, "KaTeX", "make kit-assets")
    assert not (tmp_path / "s").exists()


def test_no_chromium_says_what_to_install(monkeypatch, tmp_path):
    from rnnlab.grading.commands import handouts

    monkeypatch.setattr(printing, "find_chromium", lambda: None)
    with pytest.raises(CourseError, match=r"^找不到 Chromium，无法生成 PDF 讲义：请安装.*apt-get install chromium"):
        handouts.build(REPO, tmp_path / "h")
    assert not (tmp_path / "h").exists()
