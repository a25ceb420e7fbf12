"""`python -m rnnlab.grading question-bank [--out build/question-bank]`: the course's question bank.

Two sources, both read as text (nothing is executed, torch is not imported):

- every lecture quiz: the `quiz(question, options, answer=..., explanation=..., explanations=[...])`
  calls in the code cells of the lectures the course map lists (rnnlab/chapters.py of the course),
  read with `ast` (literal arguments only), so a new chapter's quizzes arrive with it; their difficulty is
  the instructor's rating in the bank's [lecture_difficulty] table (by lecture and cell id), 中等 if unrated;
- the instructor-only items of teacher/question_bank.toml (never in the student edition): single
  and multiple choice, fill-in-the-shape and short answer, each with a `check` that the tests run
  (tests/test_question_bank.py: a shape's answer is computed by torch, see `run_check`).

Written to the output folder:

- questions.xml: Moodle XML, one category per chapter ($course$/RNN 课程/第 N 章 …);
- questions.xlsx and questions.csv (UTF-8 with BOM): the common Chinese 题库 import layout
  (题型, 题干, 选项A-F, 答案, 解析, 难度, 章节), as 学习通 and 雨课堂 import it.

Items are sorted by chapter: each chapter's lecture quizzes in the lecture's order, then its
instructor-only items in the file's order.
"""

from __future__ import annotations

import ast
import csv
import io
import os
import re
import tempfile
import tomllib
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from rnnlab.grading.course import CourseError
from rnnlab.grading.commands.student_edition import course_map

BANK = Path("teacher") / "question_bank.toml"
DEFAULT_OUT = Path("build") / "question-bank"
ROOT_CATEGORY = "$course$/RNN 课程"
OVERVIEW_LABEL = "课程概览"

SINGLE, MULTIPLE, FILL, SHORT = "单选题", "多选题", "填空题", "简答题"
TYPES = (SINGLE, MULTIPLE, FILL, SHORT)
DIFFICULTIES = ("简单", "中等", "困难")
# A lecture quiz's difficulty is the instructor's rating in the bank's [lecture_difficulty] table (by lecture and
# the quiz's cell id, which stays when quizzes are added or moved); a quiz not rated there is 中等.
LECTURE_DIFFICULTY = "中等"
LETTERS = "ABCDEF"
HEADER = ["题型", "题干", *(f"选项{c}" for c in LETTERS), "答案", "解析", "难度", "章节"]
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SHAPE = re.compile(r"^\((\d+(?:, \d+)*,?)\)$")


@dataclass
class Item:
    id: str
    chapter: int                  # 0: the overview (no chapter number)
    chapter_label: str            # 第 N 章 标题 (plain text)
    type: str                     # one of TYPES
    difficulty: str               # one of DIFFICULTIES
    stem: str                     # Markdown-ish: `code`, **bold**, ``` blocks
    options: list[str] = field(default_factory=list)
    answer: str = ""              # letters for choice items, the text for 填空/简答
    explanation: str = ""
    option_feedback: dict[int, str] = field(default_factory=dict)
    source: str = ""              # "notebooks/03_lstm_shapes.ipynb 第 79 格" or "teacher/question_bank.toml"
    check: str = ""               # instructor-only items: Python asserting the facts

    @property
    def right(self) -> list[int]:
        return [LETTERS.index(c) for c in self.answer] if self.type in (SINGLE, MULTIPLE) else []

    @property
    def from_lecture(self) -> bool:
        return not self.check


# ------------------------------------------------------------------ reading the lectures

def _chapter_labels(course: Path) -> tuple[dict[str, int], dict[int, str]]:
    """(lecture file -> chapter number, chapter number -> 第 N 章 title) from the course map."""
    chapters = course_map(course)
    by_lecture = {chapters.OVERVIEW: 0}
    labels = {0: OVERVIEW_LABEL}
    for c in chapters.CHAPTERS:
        labels[c.number] = f"第 {c.number} 章 {_plain(c.title)}"
        if c.lecture:
            by_lecture[c.lecture] = c.number
    return by_lecture, labels


def _source_for_ast(source: str) -> str:
    """A code cell's text with IPython magics and shell lines blanked (kept as lines, for line numbers)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _is_quiz_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    f = node.func
    return (isinstance(f, ast.Name) and f.id == "quiz") or (isinstance(f, ast.Attribute) and f.attr == "quiz")


QUIZ_PARAMS = ("question", "options", "answer", "explanation", "explanations")


def quiz_calls(notebook: Path) -> list[tuple[int, str, dict]]:
    """(cell index, cell id, arguments) of every quiz(...) call in the notebook's code cells, in order."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook), as_version=4)
    except Exception as e:  # noqa: BLE001 -- a broken notebook file, whatever nbformat raises
        raise CourseError(f"讲义 {notebook.name} 读不出来（{e}）。") from None
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "quiz" not in cell.source:
            continue
        where = f"讲义 {notebook.name} 的第 {index} 个单元格（id {cell.get('id', '?')}）"
        try:
            tree = ast.parse(_source_for_ast(cell.source))
        except SyntaxError as e:
            raise CourseError(f"{where}有语法错误（第 {e.lineno} 行），读不出其中的自测题。") from None
        calls = sorted((n for n in ast.walk(tree) if _is_quiz_call(n)), key=lambda n: (n.lineno, n.col_offset))
        for node in calls:
            try:
                if (any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords)
                        or len(node.args) > len(QUIZ_PARAMS)):
                    raise ValueError
                args = dict(zip(QUIZ_PARAMS, (ast.literal_eval(a) for a in node.args)))
                if any(k.arg in args for k in node.keywords):
                    raise ValueError
                args.update({k.arg: ast.literal_eval(k.value) for k in node.keywords})
            except (ValueError, TypeError, SyntaxError, RecursionError):
                raise CourseError(f"{where}第 {node.lineno} 行的 quiz(...) 用了变量或表达式作参数："
                                  f"题库只能读字面量（直接写出的字符串、列表和数字），请改成字面量。") from None
            found.append((index, cell.get("id", ""), args, where, node.lineno))
    return [(i, cid, _checked_quiz(args, f"{where}第 {line} 行的 quiz(...)")) for i, cid, args, where, line in found]


def _checked_quiz(args: dict, where: str) -> dict:
    unknown = set(args) - set(QUIZ_PARAMS)
    if unknown or not {"question", "options", "answer"} <= set(args):
        raise CourseError(f"{where}参数不对：需要 question、options、answer，"
                          f"可选 explanation、explanations（收到 {sorted(args)}）。")
    q, options, answer = args["question"], args["options"], args["answer"]
    if not isinstance(q, str) or not isinstance(options, (list, tuple)) or not all(isinstance(o, str) for o in options):
        raise CourseError(f"{where}的题干应当是字符串，选项应当是字符串的列表。")
    if not 2 <= len(options) <= len(LETTERS):
        raise CourseError(f"{where}有 {len(options)} 个选项：题库的表格最多放 {len(LETTERS)} 个，至少要 2 个。")
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options):
        raise CourseError(f"{where}的 answer 应当是选项的下标（0 到 {len(options) - 1}），收到的是 {answer!r}。")
    per = args.get("explanations")
    if per is None:
        per = {}
    elif isinstance(per, dict):
        if not all(isinstance(k, int) and 0 <= k < len(options) for k in per):
            raise CourseError(f"{where}的 explanations 的键应当是选项的下标。")
    elif isinstance(per, (list, tuple)) and len(per) == len(options):
        per = dict(enumerate(per))
    else:
        raise CourseError(f"{where}的 explanations 应当每个选项一条（共 {len(options)} 条）或是一个字典。")
    explanation = args.get("explanation", "") or per.get(answer, "")
    if not isinstance(explanation, str) or not explanation:
        raise CourseError(f"{where}没有正确答案的解释（explanation，或 explanations 里正确选项的那一条）。")
    return {"question": q, "options": list(options), "answer": answer, "explanation": explanation,
            "feedback": {k: str(v) for k, v in per.items() if v}}


def lecture_items(course: Path) -> list[Item]:
    """Every quiz of every lecture of the course map, in chapter and lecture order."""
    by_lecture, labels = _chapter_labels(course)
    ratings = _lecture_ratings(course, by_lecture)
    items = []
    for lecture, number in by_lecture.items():
        path = course / "notebooks" / lecture
        if not path.is_file():
            raise CourseError(f"课程地图列出了讲义 notebooks/{lecture}，课程目录里却没有它。")
        rated = dict(ratings.get(lecture, {}))
        for k, (index, cell_id, q) in enumerate(quiz_calls(path), start=1):
            stem = Path(lecture).stem.split("_")[0]
            items.append(Item(id=f"lecture-{stem}-{k:02d}", chapter=number, chapter_label=labels[number],
                              type=SINGLE, difficulty=rated.pop(cell_id, LECTURE_DIFFICULTY), stem=q["question"],
                              options=q["options"], answer=LETTERS[q["answer"]], explanation=q["explanation"],
                              option_feedback=q["feedback"], source=f"notebooks/{lecture} 第 {index} 个单元格"))
        if rated:  # a rating whose quiz is gone or moved to a new cell would otherwise be dropped without a word
            raise CourseError(f"{BANK} 的 [lecture_difficulty.\"{lecture}\"] 给单元格 {sorted(rated)} 评了难度，"
                              f"但 notebooks/{lecture} 里没有 id 是它的自测题单元格：请改成自测题所在单元格的 id，或删掉这一行。")
    return items


def _read_bank(course: Path) -> dict:
    path = course / BANK
    if not path.is_file():
        raise CourseError(f"找不到 {BANK}（教师专用的题目）：它应当在课程目录 {course} 里。")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise CourseError(f"{BANK} 不是 UTF-8 编码的文本，请用 UTF-8 保存。") from None
    except tomllib.TOMLDecodeError as e:
        raise CourseError(f"{BANK} 不是合法的 TOML（{e}），请改正后再运行。") from None


def _lecture_ratings(course: Path, by_lecture: dict) -> dict[str, dict[str, str]]:
    """lecture file name -> {quiz cell id: difficulty}, from the bank's [lecture_difficulty] table (none without a bank)."""
    if not (course / BANK).is_file():
        return {}
    table = _read_bank(course).get("lecture_difficulty", {})
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise CourseError(f"{BANK} 的 lecture_difficulty 应当按讲义分表，例如 "
                          f"[lecture_difficulty.\"01_rnncell_loop.ipynb\"] 下面写 单元格id = \"简单\"。")
    for lecture, rated in table.items():
        if lecture not in by_lecture:
            raise CourseError(f"{BANK} 给讲义 {lecture} 的自测题评了难度，课程地图里却没有这个讲义"
                              f"（有的是 {'、'.join(by_lecture)}）。")
        for cell_id, difficulty in rated.items():
            if difficulty not in DIFFICULTIES:
                raise CourseError(f"{BANK} 里 {lecture} 的单元格 {cell_id} 的难度应当是 {'、'.join(DIFFICULTIES)} 之一，"
                                  f"收到的是 {difficulty!r}。")
    return table


# ------------------------------------------------------------------ the instructor-only items

FIELDS = {"id": str, "chapter": int, "type": str, "difficulty": str, "stem": str, "answer": str,
          "explanation": str, "check": str}


def teacher_items(course: Path) -> list[Item]:
    """The items of teacher/question_bank.toml, validated; a CourseError names the item and the field."""
    data = _read_bank(course)
    raw = data.get("items")
    if not isinstance(raw, list) or not raw:
        raise CourseError(f"{BANK} 里没有题目：每道题写成一个 [[items]] 表。")
    _, labels = _chapter_labels(course)
    items, seen = [], set()
    for n, entry in enumerate(raw, start=1):
        name = f"{BANK} 的第 {n} 道题（id {entry.get('id', '未写')}）"
        for key, kind in FIELDS.items():
            if not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool) or entry.get(key) == "":
                raise CourseError(f"{name}缺少 {key}，或它不是{'整数' if kind is int else '非空的字符串'}。")
        extra = set(entry) - set(FIELDS) - {"options"}
        if extra:
            raise CourseError(f"{name}有不认识的字段 {sorted(extra)}；可用的字段：{sorted([*FIELDS, 'options'])}。")
        if not ID.match(entry["id"]) or entry["id"].startswith("lecture-"):
            raise CourseError(f"{name}的 id 只能用小写字母、数字和连字符，且不能以 lecture- 开头（那是讲义自测题的编号）。")
        if entry["id"] in seen:
            raise CourseError(f"{name}的 id 和前面的题重复了。")
        seen.add(entry["id"])
        if entry["chapter"] not in labels or entry["chapter"] == 0:
            raise CourseError(f"{name}的 chapter 是 {entry['chapter']}，课程地图里没有这一章。")
        if entry["type"] not in TYPES:
            raise CourseError(f"{name}的 type 应当是 {'、'.join(TYPES)} 之一，收到的是 {entry['type']!r}。")
        if entry["difficulty"] not in DIFFICULTIES:
            raise CourseError(f"{name}的 difficulty 应当是 {'、'.join(DIFFICULTIES)} 之一。")
        options = entry.get("options", [])
        choice = entry["type"] in (SINGLE, MULTIPLE)
        if choice:
            if not isinstance(options, list) or not 2 <= len(options) <= len(LETTERS) \
                    or not all(isinstance(o, str) and o for o in options):
                raise CourseError(f"{name}是选择题，options 应当是 2 到 {len(LETTERS)} 个非空字符串。")
            answer = entry["answer"]
            letters = LETTERS[:len(options)]
            if any(c not in letters for c in answer) or len(set(answer)) != len(answer) or list(answer) != sorted(answer):
                raise CourseError(f"{name}的 answer 应当是选项的字母（{letters[0]} 到 {letters[-1]}），"
                                  f"按字母顺序、不重复，例如 \"B\" 或 \"ACD\"；收到的是 {answer!r}。")
            if entry["type"] == SINGLE and len(answer) != 1:
                raise CourseError(f"{name}是单选题，answer 只能是一个字母。")
            if entry["type"] == MULTIPLE and not 2 <= len(answer) <= len(options) - 1:
                raise CourseError(f"{name}是多选题，answer 应当有 2 个以上的字母，且至少留一个错误选项。")
        elif options:
            raise CourseError(f"{name}是{entry['type']}，不应当有 options。")
        items.append(Item(id=entry["id"], chapter=entry["chapter"], chapter_label=labels[entry["chapter"]],
                          type=entry["type"], difficulty=entry["difficulty"], stem=entry["stem"].strip(),
                          options=list(options), answer=entry["answer"].strip(), explanation=entry["explanation"].strip(),
                          source=str(BANK), check=entry["check"]))
    return items


def all_items(course: Path) -> list[Item]:
    """Lecture quizzes and instructor-only items, sorted by chapter (lecture quizzes first within one)."""
    items = lecture_items(course) + teacher_items(course)
    clash = {i.id for i in items if sum(j.id == i.id for j in items) > 1}
    if clash:
        raise CourseError(f"题目编号重复：{sorted(clash)}。")
    return sorted(items, key=lambda i: i.chapter)  # stable: each source keeps its order


# ------------------------------------------------------------------ checks (used by the tests)

def parse_shape(text: str) -> tuple[int, ...]:
    """"(400, 100)" -> (400, 100); "(9,)" -> (9,). Anything else: ValueError."""
    m = SHAPE.match(text.strip())
    if not m:
        raise ValueError(f"不是形状的写法：{text!r}（应当像 (400, 100) 或 (9,)）")
    return tuple(int(n) for n in m.group(1).rstrip(",").split(", "))


def letters(flags) -> str:
    """The letters of the true options: [False, True, True] -> "BC"."""
    return "".join(LETTERS[i] for i, f in enumerate(flags) if f)


def raises(fn, exception: type[BaseException] = Exception) -> bool:
    """True if calling fn() raises `exception`."""
    try:
        fn()
    except exception:
        return True
    return False


def run_check(item: Item) -> None:
    """Run the item's check with torch, nn, F, the item's `answer` and `options`, and the helpers
    `shape` (parse_shape), `letters` and `raises`; an AssertionError means a fact does not hold."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    torch.manual_seed(0)
    namespace = {"torch": torch, "nn": nn, "F": F, "answer": item.answer, "options": list(item.options),
                 "shape": parse_shape, "letters": letters, "raises": raises, "__name__": f"check_{item.id}"}
    exec(compile(item.check, f"<{BANK} {item.id}>", "exec"), namespace)


# ------------------------------------------------------------------ rendering

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"\*\*([^*\n]+)\*\*")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$\n?", re.S | re.M)


_LIST_ITEM = re.compile(r"^(\d+\.|[-*])\s")


def _segments(text: str) -> list[tuple[str, str]]:
    """("text", prose) and ("code", block) pieces of Markdown-ish text, in order."""
    parts, last = [], 0
    for m in _FENCE.finditer(text):
        parts.append(("text", text[last:m.start()]))
        parts.append(("code", m.group(1).rstrip()))
        last = m.end()
    parts.append(("text", text[last:]))
    return [(kind, body) for kind, body in parts if body.strip()]


def _reflow(prose: str) -> str:
    """Lines wrapped only for the source's sake are joined, as Markdown does: paragraphs (blank lines)
    and list items ("1. ", "- ") keep their own lines. No space is added next to Chinese text."""
    paragraphs = []
    for para in re.split(r"\n\s*\n", prose.strip()):
        merged: list[str] = []
        for line in (line.strip() for line in para.splitlines()):
            if not line:
                continue
            if merged and not _LIST_ITEM.match(line):
                prev = merged[-1]
                merged[-1] = prev + (" " if prev[-1].isascii() and line[0].isascii() else "") + line
            else:
                merged.append(line)
        paragraphs.append("\n".join(merged))
    return "\n\n".join(paragraphs)


def _plain(text: str) -> str:
    """Text for a spreadsheet cell: code spans and bold lose their marks, code blocks keep their lines."""
    pieces = [body if kind == "code" else _BOLD.sub(r"\1", _CODE_SPAN.sub(r"\1", _reflow(body)))
              for kind, body in _segments(text)]
    return "\n\n".join(pieces).strip()


def _inline_html(text: str) -> str:
    html = escape(text, quote=False)
    html = _CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return html.replace("\n", "<br>\n")


def to_html(text: str) -> str:
    """Markdown-ish text as HTML: ``` blocks as <pre><code>, `code` as <code>, **bold**, paragraphs as <p>."""
    parts = []
    for kind, body in _segments(text):
        if kind == "code":
            parts.append(f"<pre><code>{escape(body, quote=False)}</code></pre>")
        else:
            parts += [f"<p>{_inline_html(para)}</p>" for para in _reflow(body).split("\n\n")]
    return "\n".join(parts)


def shape_spellings(answer: str) -> list[str]:
    """The spellings a student may type for a shape: (400, 100), (400,100), 400, 100, torch.Size([400, 100]) …"""
    try:
        dims = parse_shape(answer)
    except ValueError:
        return [answer]
    spaced, tight = ", ".join(map(str, dims)), ",".join(map(str, dims))
    one = len(dims) == 1
    forms = [f"({spaced},)" if one else f"({spaced})", f"({tight},)" if one else f"({tight})",
             f"({spaced})", spaced, tight, f"[{spaced}]", f"[{tight}]",
             f"torch.Size([{spaced}])", f"torch.Size([{tight}])", f"Size([{spaced}])"]
    return list(dict.fromkeys(forms))


def _fraction(n: int) -> str:
    """100/n as Moodle writes its grade fractions (100, 50, 33.33333, 25, 20, 16.66667)."""
    return f"{100 / n:.5f}".rstrip("0").rstrip(".")


def _cdata(html: str) -> str:
    return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _text(html: str, indent: str) -> str:
    return f"{indent}<text>{_cdata(html)}</text>"


def _plain_xml(text: str) -> str:
    return escape(text, quote=False)


def category_path(item: Item) -> str:
    return f"{ROOT_CATEGORY}/{item.chapter_label}"


def moodle_xml(items: list[Item]) -> str:
    """Moodle XML: a category entry before each chapter's questions, then one <question> per item."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    category = None
    for item in items:
        if category_path(item) != category:
            category = category_path(item)
            out += ['  <question type="category">', "    <category>", f"      <text>{_plain_xml(category)}</text>",
                    "    </category>", "  </question>"]
        kind = {SINGLE: "multichoice", MULTIPLE: "multichoice", FILL: "shortanswer", SHORT: "essay"}[item.type]
        name = f"{item.id} {_plain(item.stem).splitlines()[0][:40]}"
        out += [f'  <question type="{kind}">',
                f"    <name><text>{_plain_xml(name)}</text></name>",
                '    <questiontext format="html">', _text(to_html(item.stem), "      "), "    </questiontext>",
                '    <generalfeedback format="html">',
                # An essay's reference answer is for the grader only (graderinfo).
                _text(to_html(item.explanation) if item.type != SHORT else "", "      "),
                "    </generalfeedback>",
                "    <defaultgrade>1</defaultgrade>", "    <hidden>0</hidden>"]
        if kind == "multichoice":
            right = item.right
            wrong = [k for k in range(len(item.options)) if k not in right]
            out += ["    <penalty>0.3333333</penalty>",
                    f"    <single>{'true' if item.type == SINGLE else 'false'}</single>",
                    # Options such as “都不相等” refer to the others: keep the author's order.
                    "    <shuffleanswers>false</shuffleanswers>", "    <answernumbering>ABCD</answernumbering>",
                    '    <correctfeedback format="html"><text>回答正确。</text></correctfeedback>',
                    '    <partiallycorrectfeedback format="html"><text>部分正确。</text></partiallycorrectfeedback>',
                    '    <incorrectfeedback format="html"><text>回答错误。</text></incorrectfeedback>']
            for k, option in enumerate(item.options):
                if k in right:
                    fraction = "100" if item.type == SINGLE else _fraction(len(right))
                else:
                    fraction = "0" if item.type == SINGLE else "-" + _fraction(len(wrong))
                out += [f'    <answer fraction="{fraction}" format="html">', _text(to_html(option), "      "),
                        '      <feedback format="html">', _text(to_html(item.option_feedback.get(k, "")), "        "),
                        "      </feedback>", "    </answer>"]
        elif kind == "shortanswer":
            out += ["    <penalty>0.3333333</penalty>", "    <usecase>0</usecase>"]
            for spelling in shape_spellings(item.answer):
                out += ['    <answer fraction="100" format="moodle_auto_format">',
                        f"      <text>{_plain_xml(spelling)}</text>",
                        '      <feedback format="html"><text></text></feedback>', "    </answer>"]
        else:
            out += ["    <penalty>0</penalty>", "    <responseformat>editor</responseformat>",
                    "    <responserequired>1</responserequired>", "    <responsefieldlines>12</responsefieldlines>",
                    "    <attachments>0</attachments>", "    <attachmentsrequired>0</attachmentsrequired>",
                    '    <graderinfo format="html">',
                    _text(to_html(f"参考答案：\n{item.answer}\n\n评分说明：\n{item.explanation}"), "      "),
                    "    </graderinfo>",
                    '    <responsetemplate format="html"><text></text></responsetemplate>']
        tag = "讲义自测" if item.from_lecture else "教师专用"
        out += ["    <tags>", f"      <tag><text>{tag}</text></tag>",
                f"      <tag><text>{_plain_xml(item.difficulty)}</text></tag>", "    </tags>", "  </question>"]
    out.append("</quiz>")
    return "\n".join(out) + "\n"


def table_rows(items: list[Item]) -> list[list[str]]:
    """One row per item in the 题库 layout (HEADER)."""
    rows = []
    for item in items:
        options = [_plain(o) for o in item.options] + [""] * (len(LETTERS) - len(item.options))
        explanation = item.explanation
        rows.append([item.type, _plain(item.stem), *options, _plain(item.answer) if item.type == SHORT else item.answer,
                     _plain(explanation), item.difficulty, item.chapter_label])
    return rows


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font
    except ImportError:
        raise CourseError("写 questions.xlsx 需要 openpyxl：请运行 make env（它会安装教师用的 teacher 依赖），"
                          "或 pip install -c constraints.txt -e \".[teacher]\"。") from None
    wb = Workbook()
    ws = wb.active
    ws.title = "题库"
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = {"A": 8, "B": 60, "I": 10, "J": 60, "K": 8, "L": 28}
    for col in "CDEFGH":
        widths[col] = 24
    for col, width in widths.items():
        ws.column_dimensions[col].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = wrap
    ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# ------------------------------------------------------------------ the command

def _write_all(out: Path, files: dict[str, bytes]) -> None:
    """Every file written beside its destination first, then renamed: no half-written bank."""
    if out.exists() and not out.is_dir():
        raise CourseError(f"{out} 已存在，而且不是文件夹：请用 --out 换一个输出文件夹。")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CourseError(f"不能建立输出文件夹 {out}（{e.strerror}）：请用 --out 换一个可写的位置。") from None
    temps = []
    umask = os.umask(0)
    os.umask(umask)
    try:
        for name, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}-", dir=out)
            temps.append((tmp, out / name))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the bank is an ordinary file
        for tmp, dest in temps:
            os.replace(tmp, dest)
    except OSError as e:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        raise CourseError(f"不能在 {out} 里写文件（{e.strerror}）：请用 --out 换一个可写的位置；"
                          f"如果题库正在 Excel 里打开，请先关掉。") from None


def build(course: Path, out: Path) -> list[Item]:
    """Write questions.xml, questions.xlsx and questions.csv for the course to `out`; return the items."""
    items = all_items(course)
    rows = table_rows(items)
    _write_all(out, {"questions.xml": moodle_xml(items).encode("utf-8"),
                     "questions.xlsx": xlsx_bytes(rows), "questions.csv": csv_bytes(rows)})
    return items


def run(course: Path, args) -> str:
    out = args.out if args.out.is_absolute() else course / args.out
    items = build(course, out)
    lectures = sum(i.from_lecture for i in items)
    by_type = "，".join(f"{t} {sum(i.type == t for i in items)} 道" for t in TYPES)
    return (f"题库已写到 {out}：共 {len(items)} 道题（讲义自测 {lectures} 道，教师专用 {len(items) - lectures} 道；{by_type}）。\n"
            f"questions.xml 导入 Moodle（题库 → 导入 → Moodle XML 格式）；questions.xlsx / questions.csv"
            f"（UTF-8 带 BOM）按常见的题库模板排列，可导入学习通、雨课堂等平台。")
