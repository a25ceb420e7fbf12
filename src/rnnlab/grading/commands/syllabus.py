"""`python -m rnnlab.grading syllabus [--out build/syllabus]`: the course's syllabus (课程大纲).

Writes syllabus.md, syllabus.html (print CSS, A4) and syllabus.pdf (that page printed by Chromium,
rnnlab.grading.printing) into `--out` (relative to the course directory). Nothing in here names a
chapter: every line comes from the course being built,

- the chapter manifest (src/rnnlab/chapters.py of that course: titles, objectives, what each builds
  on, minutes for lecture and assignment), so a new chapter gets its lines, week and weight for free;
- the overview notebook (the course's own description and its 「学这门课之前」 section);
- each assignment's nbgrader source notebook (points per grade cell: autograded tests vs written
  answers graded by hand);
- nbgrader_config.py (the per-cell time limit, the sandbox, the late-submission rule as configured);
- pyproject.toml (the torch version).

Hours: lecture minutes become 课堂学时 and assignment minutes 课后学时, at PERIOD minutes a 学时,
rounded up to whole 学时 (a timetable has no third of a period). Weights: each assignment counts
with its points (WEIGHT_RULE says why), shown to 0.1 % and rounded so that they add to exactly 100 %.
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import math
import re
import runpy
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from rnnlab.grading.course import CourseError, writable_out

PERIOD = 45  # minutes in one 学时 (one class period)
FILES = ("syllabus.md", "syllabus.html", "syllabus.pdf")
WEIGHT_RULE = ("每份作业按它的分值计入总评：总评 = 各次作业得分之和 ÷ 各次作业满分之和 × 100。"
               "分值按作业的内容定（每一项要求单独给分），内容多的作业分值高，所以不再另加权重；"
               "`python -m rnnlab.grading export` 导出的成绩表里，最后的“总分”一列就是各次作业得分之和，"
               "除以满分即得总评，不需要再换算。")


@dataclass(frozen=True)
class Points:
    """An assignment's points, read from its nbgrader source notebook."""
    aid: str
    tests: float        # autograded test cells
    written: float      # answers graded by hand (written questions)
    n_tests: int
    n_written: int

    @property
    def total(self) -> float:
        return self.tests + self.written


def hours(minutes: int) -> int:
    """Minutes as whole 学时 of PERIOD minutes, rounded up."""
    return math.ceil(minutes / PERIOD)


def _num(x: float) -> str:
    return f"{x:g}"


# ------------------------------------------------------------------ reading the course

def load_chapters(course: Path):
    """(the chapter manifest module of the course in `course`, its chapters that have a lecture)."""
    from rnnlab.grading.commands.student_edition import course_map

    manifest = course / "src" / "rnnlab" / "chapters.py"
    if not manifest.is_file():
        raise CourseError(f"课程目录 {course} 里没有章节清单 src/rnnlab/chapters.py，无法生成课程大纲。")
    try:
        module = course_map(course)
    except Exception as e:  # a broken manifest: say where, not a traceback
        raise CourseError(f"读不了章节清单 {manifest}：{type(e).__name__}: {e}") from None
    chapters = [c for c in getattr(module, "CHAPTERS", ()) if c.lecture]
    if not chapters:
        raise CourseError(f"章节清单 {manifest} 里没有任何一章有讲义，无法生成课程大纲。")
    return module, chapters


def assignment_points(course: Path, aid: str) -> Points:
    """Points of source/<aid>/<aid>.ipynb by nbgrader's own rules: a grade cell that is neither a
    solution nor a task is an autograded test; the others are graded by hand."""
    import nbformat
    from nbgrader.utils import is_grade, is_solution, is_task

    path = course / "source" / aid / f"{aid}.ipynb"
    if not path.is_file():
        raise CourseError(f"章节清单里的作业 {aid} 没有源文件 {path.relative_to(course)}。")
    nb = nbformat.read(str(path), as_version=4)
    tests = written = 0.0
    n_tests = n_written = 0
    for cell in nb.cells:
        if not is_grade(cell):
            continue
        points = float(cell.metadata["nbgrader"].get("points", 0) or 0)
        if cell.cell_type == "code" and not is_solution(cell) and not is_task(cell):
            tests, n_tests = tests + points, n_tests + 1
        else:
            written, n_written = written + points, n_written + 1
    if tests + written <= 0:
        raise CourseError(f"作业 {aid} 的源文件里没有带分值的评分单元格。")
    return Points(aid, tests, written, n_tests, n_written)


def weights(points: list[Points]) -> list[Fraction]:
    """Each assignment's share of the final grade (exact): its points over all points."""
    grand = sum(Fraction(p.total) for p in points)
    return [Fraction(p.total) / grand for p in points]


def percents(shares: list[Fraction], places: int = 1) -> list[Fraction]:
    """`shares` as percentages to `places` decimals that add up to exactly 100 (largest remainder)."""
    unit = Fraction(1, 10 ** places)
    exact = [s * 100 / unit for s in shares]
    floors = [math.floor(x) for x in exact]
    left = round(100 / unit) - sum(floors)
    for i in sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))[:left]:
        floors[i] += 1
    return [f * unit for f in floors]


def _pct(x: Fraction, places: int = 1) -> str:
    return f"{float(x):.{places}f}%"


@dataclass(frozen=True)
class Rules:
    """What nbgrader_config.py sets for grading."""
    timeout: float | None          # seconds per cell while autograding
    sandbox: bool
    late_preprocessor: bool        # AssignLatePenalties among the autograde preprocessors
    late_method: str               # LateSubmissionPlugin.penalty_method
    late_plugin: str | None        # a plugin class of the course's own, if configured


def grading_rules(course: Path) -> Rules:
    """Read nbgrader_config.py the way nbgrader does (a traitlets Config handed to the file)."""
    from nbgrader.plugins import LateSubmissionPlugin
    from traitlets.config import Config

    path = course / "nbgrader_config.py"
    cfg = Config()
    try:
        runpy.run_path(str(path), init_globals={"get_config": lambda: cfg})
    except Exception as e:
        raise CourseError(f"读不了 {path}：{type(e).__name__}: {e}") from None
    pre = cfg.Autograde.get("autograde_preprocessors", [])
    names = {getattr(p, "__name__", str(p)) for p in pre}
    method = cfg.LateSubmissionPlugin.get("penalty_method",
                                          LateSubmissionPlugin.class_traits()["penalty_method"].default_value)
    plugin = cfg.AssignLatePenalties.get("plugin_class")
    plugin_name = None if plugin is None else getattr(plugin, "__name__", str(plugin))
    timeout = cfg.Execute.get("timeout")
    return Rules(timeout=timeout, sandbox=bool(cfg.GuardedExecute.get("sandbox", False)),
                 late_preprocessor="AssignLatePenalties" in names, late_method=method,
                 late_plugin=None if plugin_name == "LateSubmissionPlugin" else plugin_name)


def _cells(path: Path) -> list:
    import nbformat

    return nbformat.read(str(path), as_version=4).cells if path.is_file() else []


def overview_sections(course: Path, overview: str) -> tuple[str, str]:
    """(the overview's description: its first cell without the title, its 「学这门课之前」 section body)."""
    cells = [c.source for c in _cells(course / "notebooks" / overview) if c.cell_type == "markdown"]
    description = ""
    if cells:
        description = re.sub(r"\A#\s[^\n]*\n+", "", cells[0]).strip()
    before = next((c for c in cells if re.match(r"##\s*学这门课之前", c)), "")
    return description, re.sub(r"\A##[^\n]*\n+", "", before).strip()


def has_quizzes(course: Path, lecture: str) -> bool:
    return any(c.cell_type == "code" and re.search(r"(?<![\w.])quiz\(", c.source)
               for c in _cells(course / "notebooks" / lecture))


def course_title(course: Path) -> str:
    readme = course / "README.md"
    if readme.is_file():
        m = re.search(r"^#\s+(.+)$", readme.read_text(encoding="utf-8"), re.M)
        if m:
            return m.group(1).strip()
    return "本课程"


def torch_version(course: Path) -> str | None:
    from rnnlab.grading.commands.student_edition import torch_version as pinned

    try:
        return pinned(course)
    except Exception:
        return None


# ------------------------------------------------------------------ the Markdown

def _late_text(rules: Rules) -> str:
    if not rules.late_preprocessor:
        return "**迟交**：`nbgrader_config.py` 批改时不计算迟交扣分，迟交的作业照常批改，是否接受由老师决定。"
    if rules.late_plugin:
        return (f"**迟交**：`nbgrader_config.py` 让 nbgrader 按课程自己的规则 `{rules.late_plugin}` 计算迟交扣分；"
                "截止时间由 `nbgrader db assignment add <作业> --duedate=…` 设定。")
    where = ("成绩册会记下每份提交迟了多久；从教学平台下载的压缩包收上来的作业"
             "（`python -m rnnlab.grading collect`）不带提交时间，迟交与否以教学平台的记录为准。")
    if rules.late_method == "zero":
        return ("**迟交**：`nbgrader_config.py` 设置了迟交记零分（`LateSubmissionPlugin.penalty_method = 'zero'`）："
                "用课程 hub 的 exchange 收作业、并用 `nbgrader db assignment add <作业> --duedate=…` 设了截止时间时，"
                "截止之后提交的作业整份记 0 分；" + where)
    return ("**迟交**：`nbgrader_config.py` 没有设置迟交扣分（nbgrader 的 `LateSubmissionPlugin.penalty_method` "
            f"保持默认值 `{rules.late_method}`），迟交的作业照常批改、不扣分。用课程 hub 的 exchange 收作业、"
            "并用 `nbgrader db assignment add <作业> --duedate=…` 设了截止时间时，" + where
            + "如何处理迟交由老师决定，并在第一次课上说明。")


def render_markdown(course: Path) -> str:
    manifest, chapters = load_chapters(course)
    description, prerequisites = overview_sections(course, getattr(manifest, "OVERVIEW", "00_overview.ipynb"))
    rules = grading_rules(course)
    points = [assignment_points(course, c.assignment) for c in chapters if c.assignment]
    by_aid = {p.aid: p for p in points}
    n = len(chapters)
    class_total = sum(hours(c.minutes[0]) for c in chapters)
    self_total = sum(hours(c.minutes[1]) for c in chapters)
    torch = torch_version(course)

    out = [f"# 《{course_title(course)}》课程大纲", ""]

    out += ["## 课程简介", ""]
    if description:
        out += [description, ""]
    out += [f"全课共 {n} 章，每周一章，共 {n} 周：课堂 {class_total} 学时，课后自学 {self_total} 学时"
            f"（每学时 {PERIOD} 分钟）。" + (f"所用软件：Python 3.11、PyTorch {torch}（CPU 版即可）、JupyterLab 和 nbgrader；"
                                          if torch else "")
            + "课程全部内容都可以在普通笔记本电脑上离线运行，不需要 GPU。", ""]

    out += ["## 先修要求", ""]
    if prerequisites:
        out += [prerequisites, ""]
    elif chapters[0].builds_on:  # no such section in the overview: what the first chapter starts from
        out += [f"第 {chapters[0].number} 章的起点：{chapters[0].builds_on}。", ""]

    out += ["## 各章学习目标", ""]
    for c in chapters:
        out += [f"### 第 {c.number} 章 {c.title}", ""]
        if c.builds_on:
            out += [f"基础：{c.builds_on}。学完这一章，学生能：", ""]
        else:
            out += ["学完这一章，学生能：", ""]
        out += [f"{i}. {o}" for i, o in enumerate(c.objectives, 1)] + [""]

    out += ["## 学时安排", "",
            f"按每学时 {PERIOD} 分钟计算。课堂学时来自讲义的阅读和演练时间，课后学时来自作业的完成时间"
            "（章节清单里的估计：每分钟读约 300 字、每个代码单元格约 1 分钟、每个要写的函数约 20 分钟、"
            f"每道简答题约 15 分钟），都向上取整到整学时，多出的时间留给讨论和答疑。", "",
            "| 章 | 内容 | 讲义（分钟） | 课堂学时 | 作业（分钟） | 课后学时 |", "|---|---|---|---|---|---|"]
    for c in chapters:
        lecture, work = c.minutes
        out.append(f"| {c.number} | {c.title} | {lecture} | {hours(lecture)} | {work} | {hours(work)} |")
    out += [f"| 合计 | | {sum(c.minutes[0] for c in chapters)} | {class_total} | "
            f"{sum(c.minutes[1] for c in chapters)} | {self_total} |", "",
            f"合计 {class_total + self_total} 学时：课堂 {class_total} 学时，课后 {self_total} 学时。", ""]

    out += ["## 教学进度", "",
            f"每周一章，共 {n} 周。每周的作业在本周最后一天 23:59 前提交"
            "（截止时间在 nbgrader 里设定，见“批改方式”）。", "",
            "| 周次 | 章 | 课堂 | 课后与提交 |", "|---|---|---|---|"]
    for week, c in enumerate(chapters, 1):
        lecture, work = c.minutes
        doing = [f"讲授讲义 `{c.lecture}`：{c.learns}"]
        if c.explorers:
            doing.append("用讲义里的探索器现场演示")
        if has_quizzes(course, c.lecture):
            doing.append("做讲义里的自测题")
        due = "本周没有作业"
        if c.assignment:
            p = by_aid[c.assignment]
            due = (f"完成作业 `{c.assignment}`（自动批改 {_num(p.tests)} 分，简答题 {_num(p.written)} 分），"
                   f"本周末前提交")
        out.append(f"| 第 {week} 周 | 第 {c.number} 章 {c.title} | {'；'.join(doing)}（{hours(lecture)} 学时） | "
                   f"{due}（约 {hours(work)} 学时） |")
    out.append("")

    out += ["## 考核与成绩", "", WEIGHT_RULE, ""]
    if points:
        shares = weights(points)
        shown = percents(shares)
        grand = sum(p.total for p in points)
        tests_total = sum(p.tests for p in points)
        written_total = sum(p.written for p in points)
        out += ["| 作业 | 章 | 自动批改的测试 | 人工评分的简答题 | 满分 | 占总评 |", "|---|---|---|---|---|---|"]
        chapter_of = {c.assignment: c for c in chapters}
        for p, pct in zip(points, shown):
            c = chapter_of[p.aid]
            out.append(f"| `{p.aid}` | 第 {c.number} 章 | {_num(p.tests)} 分（{p.n_tests} 个测试单元格） | "
                       f"{_num(p.written)} 分（{p.n_written} 道） | {_num(p.total)} 分 | {_pct(pct)} |")
        written_pct = percents([Fraction(written_total) / Fraction(grand), Fraction(tests_total) / Fraction(grand)])
        out += [f"| 合计 | | {_num(tests_total)} 分 | {_num(written_total)} 分 | {_num(grand)} 分 | {_pct(sum(shown))} |",
                "",
                f"其中简答题（人工评分）共 {_num(written_total)} 分，占总评 {_pct(written_pct[0])}；"
                f"自动批改的测试共 {_num(tests_total)} 分，占 {_pct(written_pct[1])}。"
                "各项百分比四舍五入到 0.1%，调整到合计正好 100%。", ""]

    out += ["## 批改方式", "",
            "作业用 nbgrader 批改，分值写在每个评分单元格里，一项要求一份分：",
            "",
            "- **写作业时**：每个要写的函数后面都有可见检查，写完立刻运行，没有通过时给出具体的中文提示"
            "（指出哪一项不对，但不给答案）。提交前先“重启内核并运行所有单元格”，再按 **验证**（Validate）按钮，"
            "它像批改时一样把整份作业运行一遍，列出没有通过的检查。",
            "- **批改时**：老师运行 `python -m rnnlab.grading autograde <作业>`。除了可见检查，还有学生看不到的隐藏测试，"
            "换用别的尺寸和参数（随机数种子固定，每次批改结果相同），只为通过可见检查而写死的答案拿不到这些分；"
            "写法不限（循环或向量化、`@` 或 `F.linear`、变量名随意），算对就得满分。被删掉或改动的测试单元格"
            "批改时按原样恢复。"
            + (f"每个单元格最多运行 {_num(rules.timeout)} 秒，" if rules.timeout else "")
            + ("学生的代码在沙箱里运行，碰不到成绩册和别人的作业。" if rules.sandbox else ""),
            "- **简答题**：由老师或助教按评分标准人工评分。每道题的参考答案和评分标准（含部分得分）写在教师仓库 "
            "`source/` 里该题的答案单元格中；用 `python -m rnnlab.grading manual-export <作业>` 导出成表格"
            "（每个学生每道题一行，附评分标准），填好得分和评语后用 `manual-import` 导回，也可以在 Formgrader 里评。"
            "答案没有改过的简答题，重新批改时得分和评语都保留。",
            "- **反馈**：`python -m rnnlab.grading feedback <作业>` 为每个学生生成中文反馈网页：每道题的得分、"
            "没有通过的检查的中文说明和简答题评语；隐藏测试的内容和参考答案不出现在反馈里。",
            "- **成绩**：`python -m rnnlab.grading export 成绩.csv` 导出全部成绩（每个学生一行，每道题一列，最后是总分），"
            "Excel 可以直接打开。",
            "- " + _late_text(rules),
            ""]
    return "\n".join(line for line in _squeeze(out)) + "\n"


def _squeeze(lines: list[str]) -> list[str]:
    """No two blank lines in a row."""
    out: list[str] = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out


# ------------------------------------------------------------------ the printable page

CSS = """
@page { size: A4; margin: 18mm 17mm 20mm; }
html { font-family: "Noto Serif CJK SC", serif; font-size: 10.5pt; line-height: 1.65; color: #111; }
body { margin: 0; }
h1, h2, h3, th { font-family: "Noto Sans CJK SC", sans-serif; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 1.2em; }
h2 { font-size: 13.5pt; margin: 1.4em 0 0.5em; padding-bottom: 0.15em; border-bottom: 1px solid #777; }
h3 { font-size: 11pt; margin: 1em 0 0.3em; }
h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
p, li { orphans: 2; widows: 2; }
ul, ol { padding-left: 1.6em; margin: 0.3em 0 0.6em; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 0.8em; font-size: 9.5pt; }
th, td { border: 0.6pt solid #666; padding: 2pt 4pt; vertical-align: top; text-align: left; }
th { background: #eee; }
th:first-child, td:first-child { white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
code { font-family: "DejaVu Sans Mono", "Noto Sans CJK SC", monospace; font-size: 0.9em;
       overflow-wrap: anywhere; word-break: break-word; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; background: #f4f4f4;
      padding: 4pt 6pt; border: 0.6pt solid #ccc; }
pre code { font-size: 8.5pt; }
img.math { display: inline-block; }
""".strip()


def _math_svg(tex: str, size: float = 10.0) -> str:
    """`tex` as an <img> with matplotlib's mathtext drawn as SVG paths (no fonts, no network), or as code
    when mathtext cannot draw it."""
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    buf = io.BytesIO()
    try:
        depth = mathtext.math_to_image(f"${tex}$", buf, prop=FontProperties(size=size), format="svg")
    except ValueError:
        return f"<code>{html_lib.escape(tex)}</code>"
    svg = re.sub(r"<metadata>.*?</metadata>", "", buf.getvalue().decode("utf-8"), flags=re.S)
    m = re.search(r'height="([\d.]+)pt"', svg)
    height = float(m.group(1)) if m else size
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<img class="math" alt="{html_lib.escape(tex)}" src="data:image/svg+xml;base64,{data}" '
            f'style="height: {height / size:.3f}em; vertical-align: {-(depth or 0) / size:.3f}em">')


def _join_lines(text: str) -> str:
    """Soft line breaks of the Markdown source inside a paragraph: none next to a Chinese character
    (a browser would show a space there), a space between two Latin words. Tags around the break
    (`**粗体**` at a line start) are looked through."""
    def join(m: re.Match) -> str:
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        wide = ord(before) > 0x2000 or ord(after) > 0x2000
        return m.group(1) + ("" if wide else " ") + m.group(2)

    return re.sub(r"[ \t]*((?:<[^>\n]+>)*)[ \t]*\n[ \t]*((?:<[^>\n]+>)*)[ \t]*", join, text)


def render_html(markdown: str) -> str:
    import mistune

    body = mistune.create_markdown(plugins=["table", "math"], escape=True)(markdown)
    body = re.sub(r"<(p|li|td|th)>(.*?)</\1>", lambda m: f"<{m.group(1)}>{_join_lines(m.group(2))}</{m.group(1)}>",
                  body, flags=re.S)
    body = re.sub(r'<span class="math">\\\((.*?)\\\)</span>',
                  lambda m: _math_svg(html_lib.unescape(m.group(1))), body, flags=re.S)
    title = re.search(r"^#\s+(.+)$", markdown, re.M)
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html_lib.escape(title.group(1) if title else '课程大纲')}</title>\n"
            f"<style>\n{CSS}\n</style>\n</head>\n<body>\n{body}</body>\n</html>\n")


# ------------------------------------------------------------------ the command

def build(course: Path, out: Path, pdf: bool = True) -> list[Path]:
    """Write the syllabus of the course in `course` into `out`; return the files written."""
    from rnnlab.grading.printing import html_to_pdf

    markdown = render_markdown(course)  # reads everything first: a bad course writes nothing
    out = writable_out(course, Path(out))
    md, page, printed = (out / name for name in FILES)
    md.write_text(markdown, encoding="utf-8")
    page.write_text(render_html(markdown), encoding="utf-8")
    if not pdf:
        return [md, page]
    try:
        html_to_pdf(page, printed)
    except CourseError as e:
        raise CourseError(f"已写出 {md.name} 和 {page.name}，但没有生成 {printed.name}：{e}") from None
    return [md, page, printed]


def run(course: Path, args) -> str:
    files = build(course, args.out)
    return f"课程大纲已写入 {files[0].parent}：" + "、".join(f.name for f in files)
