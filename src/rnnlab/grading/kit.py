"""What the site, the handouts and the slides share: local assets, the lecture page, folded answers.

Assets: KaTeX (formulas) and reveal.js (slides) come from the npm registry, pinned in
deploy/kit/package.json + package-lock.json and installed by `make kit-assets` into
deploy/kit/node_modules; every output gets its own copy (assets/), so a page never loads anything
from a CDN and works from any static web server or from the disk. kit.css and kit.js (the
kit's styles, the math rendering call and the site's search) live in kit_templates/.

A lecture page is nbconvert's HTMLExporter with the lab template, extended by
kit_templates/rnnlab_page.html.j2: no script from the web, figures with their Chinese alt text.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
import textwrap
from pathlib import Path

from rnnlab.grading.course import CourseError

TEMPLATES = Path(__file__).with_name("kit_templates")
NODE_MODULES = Path("deploy/kit/node_modules")  # relative to the course directory
ASSETS_HINT = "make kit-assets"


def node_modules(course: Path) -> Path:
    """deploy/kit/node_modules of the course, checked: CourseError (what to run) when not installed."""
    root = course / NODE_MODULES
    needed = [root / "katex" / "dist" / "katex.min.js", root / "reveal.js" / "dist" / "reveal.js"]
    if not all(p.is_file() for p in needed):
        raise CourseError(f"公式和幻灯片要用的 KaTeX、reveal.js 还没有安装（{root} 里没有）：请先在课程目录运行 {ASSETS_HINT}。")
    return root


def nbconvert_template(name: str) -> Path:
    """A file of nbconvert's installed templates (e.g. lab/static/index.css)."""
    from jupyter_core.paths import jupyter_path

    for root in jupyter_path("nbconvert", "templates"):
        if (Path(root) / name).is_file():
            return Path(root) / name
    raise CourseError(f"找不到 nbconvert 的模板文件 {name}：请重新安装课程环境（make env）。")


def copy_assets(course: Path, dest: Path, reveal: bool = False) -> Path:
    """KaTeX (and reveal.js) with kit.css and kit.js into dest/assets; return that folder."""
    root = node_modules(course)
    assets = dest / "assets"
    if assets.exists():
        shutil.rmtree(assets)
    katex = root / "katex" / "dist"
    (assets / "katex" / "contrib").mkdir(parents=True)
    for name in ("katex.min.css", "katex.min.js"):
        shutil.copy(katex / name, assets / "katex" / name)
    shutil.copy(katex / "contrib" / "auto-render.min.js", assets / "katex" / "contrib" / "auto-render.min.js")
    shutil.copytree(katex / "fonts", assets / "katex" / "fonts", ignore=shutil.ignore_patterns("*.ttf", "*.woff"))
    for name in ("kit.css", "kit.js"):
        shutil.copy(TEMPLATES / name, assets / name)
    (assets / "jupyterlab").mkdir()
    for name in ("lab/static/index.css", "lab/static/theme-light.css", "reveal/static/custom_reveal.css"):
        shutil.copy(nbconvert_template(name), assets / "jupyterlab" / Path(name).name)
    if reveal:
        rv = root / "reveal.js"
        shutil.copytree(rv / "dist", assets / "reveal.js" / "dist", ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
        shutil.copytree(rv / "plugin" / "notes", assets / "reveal.js" / "plugin" / "notes",
                        ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
        shutil.copy(rv / "LICENSE", assets / "reveal.js" / "LICENSE")
    shutil.copy(root / "katex" / "LICENSE", assets / "katex" / "LICENSE")
    return assets


def _trusted(html):
    """nbconvert's `clean_html` filter in place of bleach: the kit converts the course's own executed lectures,
    whose HTML (explorers' static views, tables) is ours; bleach took a third of the conversion time."""
    return html.decode("utf-8") if isinstance(html, bytes) else html


def exporter(template: str = "rnnlab_page.html.j2", cls=None, **traits):
    """nbconvert's HTML exporter (or `cls`, e.g. SlidesExporter) with the kit's template, in Chinese."""
    from nbconvert import HTMLExporter

    cls = cls or HTMLExporter
    if cls is HTMLExporter:
        traits.setdefault("template_name", "lab")
    e = cls(extra_template_paths=[str(TEMPLATES)], template_file=template, exclude_input_prompt=True,
            exclude_output_prompt=True, language_code="zh", **traits)
    e.register_filter("clean_html", _trusted)
    return e


def titled(nb):
    """`nb` with its first heading as the page title (nbconvert's <title>), in place; returns it."""
    from rnnlab.grading.lectures_export import lecture_title

    title = lecture_title(nb)
    if title:
        nb.metadata["title"] = title
    return nb


def lecture_html(nb, kit: dict, name: str) -> str:
    """The whole page of notebook `nb`; `kit` fills the template's slots (assets, top, bottom, ...)."""
    body, _ = exporter().from_notebook_node(titled(nb), resources={"kit": kit, "metadata": {"name": name}})
    return body


# ------------------------------------------------------------------ folded answers

DETAILS = re.compile(r"[ \t]*<details>\s*<summary>(.*?)</summary>(.*?)</details>[ \t]*", re.S)


def fold_out_answers(nb, keep: bool) -> list[tuple[str, str]]:
    """Take every <details> (a folded answer) out of the Markdown cells of `nb`, in place.

    Returns [(where, answer Markdown)]: `where` is the heading of the section it was in. When `keep`,
    each is replaced by a pointer to its number at the end of the chapter; otherwise it is dropped."""
    answers: list[tuple[str, str]] = []
    heading = ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue

        def take(m: re.Match) -> str:
            answers.append((heading, textwrap.dedent(m.group(2)).strip()))
            indent = re.match(r"[ \t]*", m.group(0)).group(0)
            return f"{indent}*（{html_lib.unescape(m.group(1)).strip()}见本章末“答案”第 {len(answers)} 条）*" if keep else ""

        parts = re.split(r"(?m)^(#{1,3} .*)$", cell.source)
        out = []
        for part in parts:
            if re.match(r"#{1,3} ", part):
                heading = re.sub(r"^#+\s*", "", part).strip()
                out.append(part)
            else:
                out.append(DETAILS.sub(take, part))
        cell.source = "".join(out)
    return answers


def answers_cell(answers: list[tuple[str, str]]):
    """One Markdown cell with every folded answer, numbered, under the heading 答案."""
    import nbformat

    lines = ['<div class="rnnlab-answers">\n', "## 答案\n", "正文里折叠起来的答案都集中在这里，编号与正文中的提示对应。\n"]
    for k, (where, text) in enumerate(answers, 1):
        lines.append(f"**第 {k} 条**（{where}）\n\n{text}\n")
    lines.append("</div>")
    return nbformat.v4.new_markdown_cell("\n".join(lines))
