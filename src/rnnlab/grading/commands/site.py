"""`python -m rnnlab.grading site [--out build/site]`: the course as a static website, offline.

    build/site/index.html            course map (from the manifest), downloads, search box
    build/site/<lecture>.html        one page per lecture, executed (rnnlab.grading.lectures_export):
                                     outputs, figures with their Chinese alt text, each explorer as its
                                     static default view; 上一讲 / 课程地图 / 下一讲 at top and bottom
    build/site/search.html           full-text search (assets/search-index.js + assets/kit.js)
    build/site/downloads/            each lecture notebook (as students get it) and
                                     rnnlab-student-edition.zip (the `student-edition` command's output)
    build/site/assets/               KaTeX, kit.css, kit.js: nothing is loaded from the web

Why our own search and not a site builder's: Sphinx's search splits text into words, and Chinese has
no spaces (it needs jieba for that) while `weight_hh_l0` should match as one name; mystmd / Jupyter
Book 2 download their theme at build time. A substring search over a small index (the text of every
section of every page, about 270 kB for the course) finds both, needs no build tool and runs from any static
web server or from the disk (the index is a script, not a fetched JSON file).
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from rnnlab.grading import kit
from rnnlab.grading.course import writable_out
from rnnlab.grading.lectures_export import chapter_of, executed_lectures, lecture_title

EDITION_ZIP = "rnnlab-student-edition.zip"


def page_name(lecture: str) -> str:
    return Path(lecture).stem + ".html"


def nav(pages: list[tuple[str, str]], k: int | None, where: str) -> str:
    """上一讲 / 课程地图 / 下一讲 and the search box; `k` is the page's index in `pages` (None: index)."""
    links = ['<a href="index.html" class="rnnlab-nav-map">课程地图</a>']
    if k is not None:
        if k > 0:
            links.insert(0, f'<a href="{pages[k - 1][0]}" class="rnnlab-nav-prev" rel="prev">← 上一讲：{html_lib.escape(pages[k - 1][1])}</a>')
        if k + 1 < len(pages):
            links.append(f'<a href="{pages[k + 1][0]}" class="rnnlab-nav-next" rel="next">下一讲：{html_lib.escape(pages[k + 1][1])} →</a>')
    links.append('<form action="search.html" method="get" class="rnnlab-search" role="search">'
                 '<input name="q" type="search" aria-label="搜索课程" placeholder="搜索，例如 隐状态、weight_hh_l0">'
                 '<button type="submit">搜索</button></form>')
    return f'<nav class="rnnlab-nav {where}" aria-label="课程导航">' + "".join(links) + "</nav>"


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def search_sections(page_html: str) -> list[dict]:
    """The text of a page cut at its headings: [{heading, anchor, text}] (anchors as nbconvert makes them)."""
    main = re.search(r"<main>(.*)</main>", page_html, re.S)
    body = main.group(1) if main else page_html
    body = re.sub(r'<img [^>]*>', " ", body)
    parts = re.split(r"(<h[1-4][^>]*>.*?</h[1-4]>)", body, flags=re.S)
    sections = [{"heading": "", "anchor": "", "text": _text(parts[0])}]
    for k in range(1, len(parts), 2):
        m = re.search(r'id="([^"]+)"', parts[k])
        heading = _text(parts[k]).replace("¶", "").strip()
        sections.append({"heading": heading, "anchor": m.group(1) if m else "", "text": heading + " " + _text(parts[k + 1])})
    return [s for s in sections if s["text"]]


def edition_zip(course: Path, dest: Path) -> Path:
    """The student edition (the student-edition command's builder) zipped into `dest`."""
    from rnnlab.grading.commands import student_edition

    with tempfile.TemporaryDirectory(prefix="rnnlab-edition-") as tmp:
        folder = Path(tmp) / "rnnlab-course"
        student_edition.build(course, folder)
        partial = dest.with_name(dest.name + ".part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    z.write(path, Path("rnnlab-course") / path.relative_to(folder))
        partial.replace(dest)
    return dest


def course_map_html(course: Path, pages: dict[str, tuple[str, str]]) -> str:
    from rnnlab.grading.commands.student_edition import course_map

    rows = []
    for c in course_map(course).CHAPTERS:
        title = html_lib.escape(c.title.replace("`", ""))
        link = f'<a href="{pages[c.lecture][0]}">{title}</a>' if c.lecture in pages else f"{title}（即将推出）"
        download = (f'<a href="downloads/{c.lecture}" download>{c.lecture}</a>' if c.lecture in pages else "")
        learns = html_lib.escape(c.learns.replace("`", ""))
        rows.append(f"<tr><td>{c.number}</td><td>{link}</td><td>{learns}</td><td>{download}</td></tr>")
    return ('<table class="rnnlab-map"><tr><th>章</th><th>讲义</th><th>你会弄清楚</th><th>下载讲义</th></tr>'
            + "".join(rows) + "</table>")


def shell(title: str, body: str, top: str, bottom: str = "", head: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1.0"><title>{html_lib.escape(title)}</title>'
            f'<link rel="stylesheet" href="assets/katex/katex.min.css"><link rel="stylesheet" href="assets/kit.css">{head}'
            f'<script defer src="assets/katex/katex.min.js"></script>'
            f'<script defer src="assets/katex/contrib/auto-render.min.js"></script>'
            f'<script defer src="assets/kit.js"></script></head>'
            f'<body class="rnnlab-kit">{top}<main>{body}</main>{bottom}</body></html>')


def build(course: Path, out: Path, executed: Path | None = None, edition: bool = True, log=None) -> list[Path]:
    import nbformat

    course = Path(course).resolve()
    kit.node_modules(course)  # before the long part: say what to install first
    out = writable_out(course, out)
    paths = executed_lectures(course, executed, log=log)
    kit.copy_assets(course, out)
    downloads = out / "downloads"
    if downloads.exists():
        shutil.rmtree(downloads)
    downloads.mkdir()
    notebooks = [nbformat.read(str(p), as_version=4) for p in paths]
    pages = [(page_name(p.name), lecture_title(nb) or p.stem) for p, nb in zip(paths, notebooks)]
    written, index = [], []
    for k, (path, nb) in enumerate(zip(paths, notebooks)):
        chapter = chapter_of(course, path.name)
        ipynb = f'<a href="downloads/{path.name}" download>{path.name}</a>'
        note = (f'<p class="rnnlab-download">下载这一讲的笔记本：{ipynb}（在 JupyterLab 里运行，探索器就能交互）。'
                + (f"配套作业：<code>{chapter.assignment}</code>（在学生版里）。" if chapter and chapter.assignment else "")
                + "</p>")
        page = kit.lecture_html(nb, {"assets": "assets/", "top": nav(pages, k, "top") + note,
                                     "bottom": nav(pages, k, "bottom"), "body_class": "rnnlab-site"}, path.stem)
        target = out / pages[k][0]
        target.write_text(page, encoding="utf-8")
        written.append(target)
        shutil.copy(course / "notebooks" / path.name, downloads / path.name)
        index.append({"url": pages[k][0], "title": pages[k][1], "sections": search_sections(page)})
    (out / "assets" / "search-index.js").write_text(
        "window.RNNLAB_SEARCH = " + json.dumps(index, ensure_ascii=False) + ";\n", encoding="utf-8")
    if edition:
        edition_zip(course, downloads / EDITION_ZIP)
    by_lecture = {p.name: pg for p, pg in zip(paths, pages)}
    from rnnlab.grading.commands.syllabus import course_title

    title = course_title(course)
    body = (f"<h1>{html_lib.escape(title)}</h1><p>离线版课程网站：讲义已经运行过，输出、图和探索器的默认视图都在页面里。"
            "想动手改代码、拖动探索器，请下载笔记本或学生版，在 JupyterLab 里运行。</p>"
            f'<h2 id="map">课程地图</h2><p>先读 <a href="{pages[0][0]}">{html_lib.escape(pages[0][1])}</a>，再按章学习。</p>'
            f"{course_map_html(course, by_lecture)}"
            '<h2 id="downloads">下载</h2><ul>'
            + (f'<li><a href="downloads/{EDITION_ZIP}" download>学生版（{EDITION_ZIP}）</a>：讲义、作业和课程软件包，'
               "解压后按其中 README 的说明运行 make lab。</li>" if edition else "")
            + "".join(f'<li><a href="downloads/{p.name}" download>{p.name}</a>：{html_lib.escape(t)}</li>'
                      for p, (_, t) in zip(paths, pages))
            + '</ul><h2 id="search">搜索</h2><p>页面顶部的搜索框能找中文词（如“隐状态”）和 PyTorch 的名字（如 '
              "<code>weight_hh_l0</code>、<code>pack_padded_sequence</code>）。</p>")
    first = f'<a href="{pages[0][0]}" class="rnnlab-nav-next" rel="next">开始：{html_lib.escape(pages[0][1])} →</a>'
    top = nav(pages, None, "top").replace('<form', first + '<form', 1)
    (out / "index.html").write_text(shell(title, body, top), encoding="utf-8")
    search = ('<h1>搜索</h1><div id="rnnlab-search-results" class="rnnlab-search" aria-live="polite"></div>')
    (out / "search.html").write_text(
        shell(f"搜索 · {title}", search, nav(pages, None, "top").replace('name="q"', 'name="q" id="rnnlab-search-input"'),
              head='<script defer src="assets/search-index.js"></script>'), encoding="utf-8")
    return [out / "index.html", out / "search.html", *written]


def run(course: Path, args) -> str:
    pages = build(course, args.out, args.executed, edition=not args.no_edition,
                  log=lambda s: print(s, flush=True))
    out = pages[0].parent
    return (f"离线课程网站已写入 {out}：{len(pages) - 2} 个讲义页面、首页和搜索页。"
            f"本机预览：cd {out} && python3 -m http.server --bind 127.0.0.1 8000，再打开 http://127.0.0.1:8000/")
