"""`python -m rnnlab.grading handouts [--out build/handouts] [--no-answers]`: one PDF per lecture.

Each executed lecture (rnnlab.grading.lectures_export) becomes an HTML page (the site's lecture
template, print CSS: A4, code wrapped at the margin, never cut) printed by Chromium through
rnnlab.grading.printing (Noto CJK embedded). Explorers and quizzes print as their static default
views. The folded answers (<details> in the lecture's Markdown) are taken out of the text and printed
together at the end of the chapter, each where it was pointing to its number; with --no-answers (a
student version) they are left out entirely. Formulas are drawn by the local KaTeX before printing.

    build/handouts/<lecture>.pdf     (and <lecture>.html, the page that was printed, with assets/)
"""

from __future__ import annotations

from pathlib import Path

from rnnlab.grading import kit, printing
from rnnlab.grading.course import CourseError, writable_out
from rnnlab.grading.lectures_export import executed_lectures

# The print page names its fonts, so that the printer embeds them (rnnlab.grading.printing): the
# JupyterLab styles would otherwise fall back to whatever CJK font fontconfig offers, as Type 3 glyphs.
PRINT_CSS = """
:root { --jp-content-font-family: "Noto Sans CJK SC", sans-serif; --jp-ui-font-family: "Noto Sans CJK SC", sans-serif;
        --jp-code-font-family: "DejaVu Sans Mono", "Noto Sans CJK SC", monospace; --jp-code-font-size: 9pt;
        --jp-content-font-size1: 10.5pt; }
body.rnnlab-handout { font-family: "Noto Sans CJK SC", sans-serif; }
body.rnnlab-handout .jp-Cell { padding: 2px 0; }
"""


def handout_html(nb, name: str, answers: bool) -> str:
    folded = kit.fold_out_answers(nb, keep=answers)
    if answers and folded:
        nb.cells.append(kit.answers_cell(folded))
    head = f"<style>\n{(kit.TEMPLATES / 'kit.css').read_text(encoding='utf-8')}\n{PRINT_CSS}</style>"
    return kit.lecture_html(nb, {"assets": "assets/", "head": head, "body_class": "rnnlab-handout"}, name)


def build(course: Path, out: Path, executed: Path | None = None, answers: bool = True,
          only: list[str] | None = None, log=None) -> list[Path]:
    import nbformat

    course = Path(course).resolve()
    kit.node_modules(course)
    if printing.find_chromium() is None:
        raise CourseError(f"找不到 Chromium，无法生成 PDF 讲义：请安装 Debian 的 chromium 和中文字体（{printing.INSTALL_HINT}）。")
    out = writable_out(course, out)
    paths = executed_lectures(course, executed, only=only, log=log)
    kit.copy_assets(course, out)
    pages = {}
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        pages[path] = out / f"{path.stem}.html"
        pages[path].write_text(handout_html(nb, path.stem, answers), encoding="utf-8")
    if len(pages) > 1:  # each CJK font read once for all the handouts, not once per handout
        printing.prepare_fonts([page.read_text(encoding="utf-8") for page in pages.values()])
    pdfs = []
    for path, page in pages.items():
        if log:
            log(f"{path.stem}.pdf：打印中……")
        pdfs.append(printing.html_to_pdf(page, out / f"{path.stem}.pdf", timeout=180))
    return pdfs


def run(course: Path, args) -> str:
    pdfs = build(course, args.out, args.executed, answers=not args.no_answers, only=args.lecture,
                 log=lambda s: print(s, flush=True))
    which = "不含答案（学生版）" if args.no_answers else "折叠的答案印在每章末尾"
    return f"已生成 {len(pdfs)} 份 PDF 讲义（{which}）：{pdfs[0].parent}"
