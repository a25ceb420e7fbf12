"""The syllabus (`python -m rnnlab.grading syllabus`, `make syllabus`) and the PDF printer it shares
with the handouts (rnnlab.grading.printing).

Every number is recomputed here from its source, independently of the command: objectives and minutes
from the chapter manifest, points from the source notebooks' JSON, the late rule from a changed
nbgrader_config.py. A copy of the course with a seventh chapter in its manifest gets its lines without
any code change. The PDF is looked at with poppler's tools (pdffonts, pdftotext, pdftoppm).
"""

from __future__ import annotations

import http.server
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import nbformat
import pytest

from machine import require
from rnnlab.chapters import CHAPTERS
from rnnlab.grading.commands import syllabus
from rnnlab.grading.course import CourseError
from rnnlab.grading import printing

REPO = Path(__file__).resolve().parents[1]
POPPLER = ("pdffonts", "pdftotext", "pdftoppm")


# ------------------------------------------------------------------ helpers

def section(md: str, heading: str) -> str:
    """The text of the `## heading` section."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", md, re.M | re.S)
    assert m, f"课程大纲里没有“{heading}”一节"
    return m.group(1)


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in `text`, cells stripped."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


def points_from_json(course: Path, aid: str) -> tuple[float, float]:
    """(autograded, written) points of source/<aid>/<aid>.ipynb, read as plain JSON: a grade cell is
    graded by hand when it is a solution (an answer cell) or not code; otherwise it is a test."""
    nb = json.loads((course / "source" / aid / f"{aid}.ipynb").read_text(encoding="utf-8"))
    auto = written = 0.0
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        if cell["cell_type"] == "code" and not meta.get("solution") and not meta.get("task"):
            auto += float(meta["points"])
        else:
            written += float(meta["points"])
    return auto, written


def plain(title: str) -> str:
    """A manifest title as printed: no Markdown backticks, no spaces (pdftotext breaks lines in cells)."""
    return re.sub(r"\s", "", title.replace("`", ""))


def copy_course(dest: Path) -> Path:
    """What the syllabus reads of the course: manifest, overview and lectures, sources, config, README."""
    (dest / "src" / "rnnlab").mkdir(parents=True)
    shutil.copy(REPO / "src" / "rnnlab" / "chapters.py", dest / "src" / "rnnlab" / "chapters.py")
    for name in ("nbgrader_config.py", "README.md", "pyproject.toml"):
        shutil.copy(REPO / name, dest / name)
    shutil.copytree(REPO / "notebooks", dest / "notebooks")
    shutil.copytree(REPO / "source", dest / "source", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "rnnlab.grading", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def md() -> str:
    return syllabus.render_markdown(REPO)


# ------------------------------------------------------------------ the Markdown

def test_every_chapter_title_and_objective_is_in_the_syllabus(md):
    goals = section(md, "各章学习目标")
    for c in CHAPTERS:
        assert f"### 第 {c.number} 章 {c.title}" in goals
        for o in c.objectives:
            assert o in goals, o
    numbered = re.findall(r"^\d+\. ", goals, re.M)
    assert len(numbered) == sum(len(c.objectives) for c in CHAPTERS) > 0


def test_the_prerequisites_say_what_students_must_know(md):
    text = section(md, "先修要求")
    for needed in ("Python", "张量", "自动求导", "矩阵乘法"):
        assert needed in text, needed


def test_hours_per_chapter_are_the_manifests_minutes_in_45_minute_periods(md):
    text = section(md, "学时安排")
    assert "每学时 45 分钟" in text and "向上取整" in text
    rows = table_rows(text)
    assert len(rows) == len(CHAPTERS) + 1
    for c, row in zip(CHAPTERS, rows):
        lecture, work = c.minutes
        assert row == [str(c.number), c.title, str(lecture), str(math.ceil(lecture / 45)),
                       str(work), str(math.ceil(work / 45))]
    total = rows[-1]
    class_hours = sum(math.ceil(c.minutes[0] / 45) for c in CHAPTERS)
    self_hours = sum(math.ceil(c.minutes[1] / 45) for c in CHAPTERS)
    assert total == ["合计", "", str(sum(c.minutes[0] for c in CHAPTERS)), str(class_hours),
                     str(sum(c.minutes[1] for c in CHAPTERS)), str(self_hours)]
    assert sum(int(r[3]) for r in rows[:-1]) == class_hours and sum(int(r[5]) for r in rows[:-1]) == self_hours
    assert f"合计 {class_hours + self_hours} 学时：课堂 {class_hours} 学时，课后 {self_hours} 学时" in text
    assert f"课堂 {class_hours} 学时，课后自学 {self_hours} 学时" in section(md, "课程简介")


def test_the_schedule_has_one_chapter_a_week_and_its_assignment_due(md):
    text = section(md, "教学进度")
    rows = table_rows(text)
    assert [r[0] for r in rows] == [f"第 {k} 周" for k in range(1, len(CHAPTERS) + 1)]
    for c, row in zip(CHAPTERS, rows):
        assert row[1] == f"第 {c.number} 章 {c.title}"
        assert f"`{c.lecture}`" in row[2] and f"`{c.assignment}`" in row[3]
    assert f"共 {len(CHAPTERS)} 周" in text


def test_each_assignments_points_are_its_source_notebooks_and_the_weights_add_to_100(md):
    text = section(md, "考核与成绩")
    rows = table_rows(text)
    aids = [c.assignment for c in CHAPTERS if c.assignment]
    assert [r[0] for r in rows[:-1]] == [f"`{a}`" for a in aids]
    expected = {aid: points_from_json(REPO, aid) for aid in aids}
    grand = sum(a + w for a, w in expected.values())
    shown = []
    for row in rows[:-1]:
        auto, written = expected[row[0].strip("`")]
        assert row[2].startswith(f"{auto:g} 分（") and row[3].startswith(f"{written:g} 分（"), row
        assert row[4] == f"{auto + written:g} 分"
        pct = Fraction(row[5].rstrip("%"))
        assert abs(pct - Fraction(auto + written) / Fraction(grand) * 100) <= Fraction(1, 10), row
        shown.append(pct)
    assert sum(shown) == 100
    written_total = sum(w for _, w in expected.values())
    auto_total = sum(a for a, _ in expected.values())
    assert rows[-1] == ["合计", "", f"{auto_total:g} 分", f"{written_total:g} 分", f"{grand:g} 分", "100.0%"]
    m = re.search(r"简答题（人工评分）共 ([\d.]+) 分，占总评 ([\d.]+)%；自动批改的测试共 ([\d.]+) 分，占 ([\d.]+)%", text)
    assert m and float(m.group(1)) == written_total and float(m.group(3)) == auto_total
    assert Fraction(m.group(2)) + Fraction(m.group(4)) == 100
    assert abs(float(m.group(2)) - written_total / grand * 100) <= 0.1
    assert written_total > 0


def test_percentages_add_to_exactly_100_however_they_round():
    shares = [Fraction(1, 3)] * 3
    assert syllabus.percents(shares) == [Fraction("33.4"), Fraction("33.3"), Fraction("33.3")]
    assert sum(syllabus.percents([Fraction(13, 98), Fraction(85, 98)])) == 100


def test_grading_section_says_how_grading_works(md):
    text = section(md, "批改方式")
    for fact in ("可见检查", "Validate", "隐藏测试", "中文反馈", "评分标准", "manual-export", "迟交"):
        assert fact in text, fact
    assert "每个单元格最多运行 30 秒" in text  # c.Execute.timeout in nbgrader_config.py
    # The repo's config sets no penalty method: nbgrader's default 'none', so nothing is deducted.
    assert "不扣分" in text and "penalty_method" in text


def test_the_late_rule_is_read_from_nbgrader_config(tmp_path):
    course = copy_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as f:
        f.write("\nc.LateSubmissionPlugin.penalty_method = 'zero'\nc.Execute.timeout = 45\n")
    text = section(syllabus.render_markdown(course), "批改方式")
    assert "整份记 0 分" in text and "不扣分" not in text
    assert "每个单元格最多运行 45 秒" in text


def test_a_seventh_chapter_in_the_manifest_gets_its_lines_without_code_changes(tmp_path):
    course = copy_course(tmp_path / "course")
    with open(course / "src" / "rnnlab" / "chapters.py", "a", encoding="utf-8") as f:
        f.write('\nCHAPTERS = CHAPTERS + (Chapter(7, "注意力与循环层", "07_attention.ipynb", "a7_attention",\n'
                '    "把注意力接到 `nn.GRU` 的 `output` 上", ("module",), builds_on="第 5 章的 `output`",\n'
                '    objectives=("算出注意力权重的形状", "说出 `output` 和 `h_n` 哪个该进注意力"), minutes=(50, 100)),)\n')
    lecture = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 注意力"),
                                              nbformat.v4.new_code_cell('quiz("?", ["a", "b"], answer=0)')])
    nbformat.write(lecture, str(course / "notebooks" / "07_attention.ipynb"))
    test = nbformat.v4.new_code_cell("assert True")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 2.5,
                                 "grade_id": "test_attention", "schema_version": 3}
    answer = nbformat.v4.new_markdown_cell("在此处写下你的回答。")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": 1.5,
                                   "grade_id": "written_attention", "schema_version": 3}
    (course / "source" / "a7_attention").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[test, answer]), str(course / "source" / "a7_attention" / "a7_attention.ipynb"))

    md = syllabus.render_markdown(course)
    assert "### 第 7 章 注意力与循环层" in md
    assert "1. 算出注意力权重的形状" in section(md, "各章学习目标")
    assert table_rows(section(md, "学时安排"))[6] == ["7", "注意力与循环层", "50", "2", "100", "3"]
    total = table_rows(section(md, "学时安排"))[-1]
    assert total[3] == str(sum(math.ceil(c.minutes[0] / 45) for c in CHAPTERS) + 2)
    week = table_rows(section(md, "教学进度"))[6]
    assert week[0] == "第 7 周" and "`a7_attention`（自动批改 2.5 分，简答题 1.5 分）" in week[3]
    assert "共 7 周" in section(md, "教学进度")
    rows = table_rows(section(md, "考核与成绩"))
    assert rows[6][:5] == ["`a7_attention`", "第 7 章", "2.5 分（1 个测试单元格）", "1.5 分（1 道）", "4 分"]
    assert sum(Fraction(r[5].rstrip("%")) for r in rows[:-1]) == 100


def test_the_page_prints_offline_on_a4_with_wrapping_code_and_drawn_formulas(md):
    page = syllabus.render_html(md)
    assert "size: A4" in page and "white-space: pre-wrap" in page and "overflow-wrap: anywhere" in page
    # Nothing to fetch: every image is inline, no stylesheet or script from anywhere.
    assert not re.findall(r'(?:src|href)="(?!data:|#)', page)
    assert "<script" not in page
    # The manifest's formula (chapter 1) is drawn by matplotlib's mathtext, not left as TeX.
    assert r"$\mathbf" not in page and 'class="math"' in page
    # No soft line break of the Markdown source shows as a space between Chinese characters (the
    # overview's paragraphs are wrapped), tags around the break included.
    wide = r"[\u3000-\u9fff\uff00-\uffef]"
    assert re.search(rf"{wide}\s*\n\s*{wide}", md), "the test needs a wrapped Chinese paragraph"
    assert not re.search(rf"{wide}(?:<[^>]+>)*\s*\n\s*(?:<(?:strong|em|code)>)*{wide}", page)


# ------------------------------------------------------------------ bad input: one Chinese line

def test_an_unwritable_out_is_one_chinese_line(tmp_path):
    blocker = tmp_path / "一个文件"
    blocker.write_text("x", encoding="utf-8")
    proc = cli("syllabus", "--out", str(blocker / "大纲"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("错误：无法写入输出文件夹") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_course_without_chapters_is_one_chinese_line(tmp_path):
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    proc = cli("--course-dir", str(course), "syllabus", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "没有章节清单" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    (course / "src" / "rnnlab").mkdir(parents=True)
    (course / "src" / "rnnlab" / "chapters.py").write_text("CHAPTERS = ()\n", encoding="utf-8")
    proc = cli("--course-dir", str(course), "syllabus", "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "没有任何一章" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ the printer

def fake_chromium(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "chromium"
    exe.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    exe.chmod(0o755)
    return str(exe)


def page_file(tmp_path: Path) -> Path:
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>课程</body></html>", encoding="utf-8")
    return page


def test_the_printer_says_in_chinese_when_chromium_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(printing, "find_chromium", lambda: None)
    with pytest.raises(CourseError, match=r"找不到 Chromium.*apt-get install chromium"):
        printing.html_to_pdf(page_file(tmp_path), tmp_path / "out.pdf")


def test_the_printer_stops_a_chromium_that_hangs(tmp_path):
    exe = fake_chromium(tmp_path, "sleep 30")
    with pytest.raises(CourseError, match="1 秒内没有"):
        printing.html_to_pdf(page_file(tmp_path), tmp_path / "out.pdf", timeout=1, chromium=exe)
    assert not (tmp_path / "out.pdf").exists()


def test_the_printer_reports_a_chromium_that_fails(tmp_path):
    exe = fake_chromium(tmp_path, "echo 'cannot open display' >&2; exit 3")
    with pytest.raises(CourseError, match=r"退出码 3[\s\S]*cannot open display"):
        printing.html_to_pdf(page_file(tmp_path), tmp_path / "out.pdf", chromium=exe)


# ------------------------------------------------------------------ the PDF, looked at

def tools_or_fail() -> None:
    missing = [t for t in POPPLER if shutil.which(t) is None]
    if missing:
        pytest.fail(f"检查 PDF 要用 {'、'.join(missing)}：请安装 Debian 的 poppler-utils"
                    "（sudo apt-get install poppler-utils）", pytrace=False)
    require("课程大纲的 PDF 测试", None if printing.find_chromium() else
            "没有找到 chromium（sudo apt-get install chromium fonts-noto-cjk）")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tools_or_fail()
    out = tmp_path_factory.mktemp("syllabus") / "大纲"
    proc = cli("syllabus", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "课程大纲已写入" in proc.stdout
    return out


@pytest.mark.e2e
def test_the_command_writes_markdown_html_and_pdf(built, md):
    assert sorted(p.name for p in built.iterdir()) == ["syllabus.html", "syllabus.md", "syllabus.pdf"]
    assert (built / "syllabus.md").read_text(encoding="utf-8") == md
    assert (built / "syllabus.pdf").read_bytes().startswith(b"%PDF-")


@pytest.mark.e2e
def test_the_pdf_embeds_its_chinese_fonts(built):
    out = subprocess.run(["pdffonts", str(built / "syllabus.pdf")], capture_output=True, text=True, check=True).stdout
    fonts = [line.split() for line in out.splitlines()[2:] if line.strip()]
    assert fonts
    # name, type (one or two words), encoding, emb, sub, uni, object, generation: emb is 5th from the end.
    assert all(f[-5] == "yes" for f in fonts), out
    cjk = [f[0] for f in fonts if re.search(r"Noto(Sans|Serif)CJK", f[0])]
    assert any("NotoSerifCJK" in n for n in cjk) and any("NotoSansCJK" in n for n in cjk), out


def test_fonts_read_once_for_several_pages_give_each_page_the_same_glyphs():
    """make handouts cuts each CJK font once for all its pages (printing.prepare_fonts), then each page's subset
    from that: every page gets the same characters, names, advance widths and outlines as when cut directly."""
    import io

    from fontTools.ttLib import TTFont

    found = printing.font_file("Noto Sans CJK SC", 400)
    require("中文字体的测试", None if found else f"没有找到 Noto Sans CJK SC（{printing.FONT_HINT}）")
    pages = ["隐状态 h_n 与 weight_hh_l0 的形状", "遗忘门、输入门：(400, 100)"]
    direct = [TTFont(io.BytesIO(printing.subset_truetype(*found, p))) for p in pages]
    printing._PREPARED.clear()
    try:
        printing.prepare_fonts([f'<p style="font-family: Noto Sans CJK SC">{p}</p>' for p in pages])
        assert (str(found[0]), found[1]) in printing._PREPARED
        via = [TTFont(io.BytesIO(printing.subset_truetype(*found, p))) for p in pages]
        outside = TTFont(io.BytesIO(printing.subset_truetype(*found, "梯度")))  # not on those pages: the installed font
    finally:
        printing._PREPARED.clear()
    for d, v in zip(direct, via):
        dmap, vmap = d.getBestCmap(), v.getBestCmap()
        assert dmap.keys() == vmap.keys() and d["name"].getDebugName(6) == v["name"].getDebugName(6)
        for cp, glyph in dmap.items():
            assert d["hmtx"][glyph] == v["hmtx"][vmap[cp]], chr(cp)
            assert list(d["glyf"][glyph].getCoordinates(d["glyf"])[0]) == \
                list(v["glyf"][vmap[cp]].getCoordinates(v["glyf"])[0]), chr(cp)
    assert {ord("梯"), ord("度")} <= outside.getBestCmap().keys()


@pytest.mark.e2e
def test_the_pdf_has_the_chapter_titles_and_the_headings(built):
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(built / "syllabus.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s", "", text)
    for c in CHAPTERS:
        assert plain(c.title) in flat, c.title
        for o in c.objectives:
            if "$" not in o:
                assert plain(o) in flat, o
    for heading in ("课程简介", "先修要求", "各章学习目标", "学时安排", "教学进度", "考核与成绩", "批改方式"):
        assert heading in text, heading


@pytest.mark.e2e
def test_the_first_page_is_not_blank(built, tmp_path):
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(built / "syllabus.pdf"),
                    str(tmp_path / "page")], check=True, capture_output=True)
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("L")
    assert image.size[0] < image.size[1]  # portrait (A4)
    dark = sum(image.histogram()[:128])
    assert dark > 0.01 * image.size[0] * image.size[1], "第 1 页几乎是空白的"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.e2e
def test_printing_fetches_nothing(tmp_path):
    tools_or_fail()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        page = tmp_path / "page.html"
        page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'>"
                        f"<link rel='stylesheet' href='http://127.0.0.1:{port}/style.css'>"
                        f"<style>body {{ font-family: 'Noto Sans CJK SC'; }}</style></head><body>"
                        f"<p>隐状态</p><img src='http://127.0.0.1:{port}/figure.png'>"
                        f"<img src='https://example.org/figure.png'></body></html>", encoding="utf-8")
        printing.html_to_pdf(page, tmp_path / "page.pdf", timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.seen == []
    fonts = subprocess.run(["pdffonts", str(tmp_path / "page.pdf")], capture_output=True, text=True, check=True).stdout
    assert "NotoSansCJKsc-Regular" in fonts
