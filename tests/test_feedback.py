"""Feedback holds no hidden test, no reference solution and no path of the grader's machine (issue 12).

One small class per assignment, autograded once through nbgrader and given feedback through the
course's CLI (`python -m rnnlab.grading feedback AID`): the reference solution, the blank
release, two mistakes from tests/answers/<aid>.py WRONG that hidden tests catch, and for a1 an
answer that prints its working folder and whose hidden test dies of a plain torch error raised
inside torch (a traceback through site-packages and through the hidden test's own lines).
Every file under feedback/ is then read as a student would receive it.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from course import autograde, formgrader, grades, make_course, max_points, submit
from nbtools import read

# Tests that grade for real (start kernels); the filter's own unit tests at the end run in-process.
e2e = pytest.mark.e2e

AIDS = ("a1_rnncell", "a2_rnn")
# Mistakes the hidden tests catch: one the visible check cannot see, one it sees too.
WRONG = {
    "a1_rnncell": ("hardcoded_visible_sizes", "ignores_nonlinearity"),
    "a2_rnn": ("io_hard_coded_visible_cases", "squeeze_breaks_batch_one"),
}
# Passes the visible check (hidden 5); for hidden_size 4 (the hidden gradient test) it changes in place
# a step that tanh's backward needs, and torch raises from inside torch (backward(), called by the
# hidden test itself). It prints the folder it runs in. (A shape function may not build a module:
# issue 21, point 2, so the torch error comes from the loop.)
TORCH_ERROR_STUDENT = "torch-error"
TORCH_ERROR_CELL = "test_run_rnn_cell_gradient_hidden"
TORCH_ERROR = {"run_rnn_cell": '''\
def run_rnn_cell(cell, x, h0=None):
    import os
    print("当前目录：", os.getcwd())
    h = x.new_zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    hs = []
    for x_t in x:
        h = cell(x_t, h)
        hs.append(h)
    outputs = torch.stack(hs)
    if cell.hidden_size == 4:
        hs[0].mul_(1.0)
    return outputs, h
'''}

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n(.*?)^[ \t]*### END HIDDEN TESTS\n?", re.S | re.M)
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M)
CJK = re.compile(r"[\u4e00-\u9fff]")


def student_of(mistake: str) -> str:
    return "w-" + mistake.replace("_", "-")


def students(aid: str) -> list[str]:
    extra = [TORCH_ERROR_STUDENT] if aid == "a1_rnncell" else []
    return ["reference", "blank", *map(student_of, WRONG[aid]), *extra]


def wrong_students(aid: str) -> list[str]:
    return [s for s in students(aid) if s not in ("reference", "blank")]


@pytest.fixture(scope="module")
def course(tmp_path_factory, repo):
    c = make_course(repo, tmp_path_factory.mktemp("feedback"))
    for aid in AIDS:
        answers = importlib.import_module(f"answers.{aid}")
        submit(c, "reference", aid)
        blank = c / "submitted" / "blank" / aid
        blank.mkdir(parents=True)
        shutil.copy(c / "release" / aid / f"{aid}.ipynb", blank)
        for mistake in WRONG[aid]:
            grade_id, code, _ = answers.WRONG[mistake]
            submit(c, student_of(mistake), aid, {grade_id: code})
        if aid == "a1_rnncell":
            submit(c, TORCH_ERROR_STUDENT, aid, TORCH_ERROR)
        autograde(c, aid, students(aid))
        proc = subprocess.run([sys.executable, "-m", "rnnlab.grading", "feedback", aid], cwd=c,
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert f"已为 {len(students(aid))} 名学生生成中文反馈" in proc.stdout
    return c


# ------------------------------------------------------------------------------ helpers

class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def page_text(html: str) -> str:
    """What the page shows: the text with tags removed and entities decoded (code keeps its lines)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


def feedback_files(course: Path, aid: str) -> list[Path]:
    files = sorted(p for p in (course / "feedback").glob(f"*/{aid}/**/*") if p.is_file())
    assert {p.relative_to(course / "feedback").parts[0] for p in files} == set(students(aid))
    return files


def source_cells(course: Path, aid: str):
    return read(course / "source" / aid / f"{aid}.ipynb").cells


def secret_lines(course: Path, aid: str, region: re.Pattern) -> set[str]:
    """Lines of `region` in source/ (longer than 12 characters) that source/ shows nowhere else, not
    even as part of a longer line ("batch_first=True)" closes a hidden call and a lecture line too)."""
    cells = source_cells(course, aid)
    public = "\n".join(SOLUTION.sub("", HIDDEN.sub("", c.source)) for c in cells)
    return {line.strip() for c in cells for m in region.finditer(c.source) for line in m.group(1).splitlines()
            if len(line.strip()) > 12 and line.strip() not in public}


def hidden_test_ids(course: Path, aid: str) -> list[str]:
    return [c.metadata.nbgrader["grade_id"] for c in source_cells(course, aid) if HIDDEN.search(c.source)]


def cell_section(html: str, grade_id: str) -> str:
    """The text of one graded cell's panel on the page: from its anchor to the next cell's."""
    start = html.index(f'<a name="{grade_id}"></a>')
    end = html.find('<a name="', start + 1)
    return page_text(html[start:end if end > 0 else len(html)])


def error_of(course: Path, aid: str, student: str, grade_id: str) -> dict:
    nb = read(course / "autograded" / student / aid / f"{aid}.ipynb")
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, (student, grade_id, cell.outputs)
    return errors[0]


def forbidden_paths(course: Path, repo: Path) -> list[str]:
    paths = {str(course), str(course.resolve()), str(repo), sys.prefix, str(Path(sys.prefix).resolve()),
             str(Path.home()) + "/", "/tmp/", "/root/", "site-packages", "dist-packages"}
    return sorted(paths)


# -------------------------------------------------------------------------------- tests

@e2e
@pytest.mark.parametrize("aid", AIDS)
def test_no_line_of_a_hidden_test_in_any_feedback_file(course, aid):
    hidden = secret_lines(course, aid, HIDDEN)
    assert hidden, "source/ has hidden tests"
    for path in feedback_files(course, aid):
        raw = path.read_text(encoding="utf-8")
        text = page_text(raw)
        assert "### BEGIN" not in raw and "HIDDEN TESTS" not in text, path
        assert "隐藏测试（代码不公开）" in text
        for line in hidden:
            assert line not in text and line not in raw, f"{path.relative_to(course)} 泄露了隐藏测试：{line}"


@e2e
@pytest.mark.parametrize("aid", AIDS)
def test_no_absolute_path_and_no_traceback_frames(course, repo, aid):
    for path in feedback_files(course, aid):
        raw = path.read_text(encoding="utf-8")
        for bad in forbidden_paths(course, repo):
            assert bad not in raw, f"{path.relative_to(course)} 含有绝对路径 {bad}"
        for frame in ("rnnlab/checks", "checks/core.py", "Traceback (most recent call last)", "skipping hidden",
                      "__tracebackhide__", "torch/nn/modules"):
            assert frame not in raw, f"{path.relative_to(course)} 含有回溯：{frame}"


@e2e
def test_a_torch_error_keeps_its_name_and_first_line_only(course):
    """The torch error's traceback ran through the hidden test and site-packages: only its line stays."""
    aid = "a1_rnncell"
    error = error_of(course, aid, TORCH_ERROR_STUDENT, TORCH_ERROR_CELL)
    assert error.ename == "RuntimeError" and "site-packages" in "".join(error.traceback)
    html = (course / "feedback" / TORCH_ERROR_STUDENT / aid / f"{aid}.html").read_text(encoding="utf-8")
    section = cell_section(html, TORCH_ERROR_CELL)
    assert f"RuntimeError: {error.evalue.splitlines()[0]}" in section
    assert "得分：0.0 / 0.5" in section
    # What the answer printed stays, without the folder's path.
    text = page_text(html)
    assert "当前目录：" in text and "当前目录： …/" in text
    assert str(course) not in text


@e2e
@pytest.mark.parametrize("aid", AIDS)
def test_each_wrong_student_sees_the_hidden_outcome_and_the_chinese_message(course, aid):
    hidden_ids = hidden_test_ids(course, aid)
    full = max_points(course, aid)
    for student in wrong_students(aid):
        got = grades(course, aid, student)
        failed = [g for g in hidden_ids if got[g] < full[g]]
        assert failed, f"{student} 没有在隐藏测试中失分"
        html = (course / "feedback" / student / aid / f"{aid}.html").read_text(encoding="utf-8")
        for grade_id in failed:
            section = cell_section(html, grade_id)
            assert f"得分：{round(float(got[grade_id]), 2)} / {round(float(full[grade_id]), 2)}" in section
            error = error_of(course, aid, student, grade_id)
            if error.ename == "CheckFailed":  # the hint alone, as the notebook shows it
                assert CJK.search(error.evalue), error.evalue
                assert "没有通过检查：" in section and "CheckFailed" not in section, (student, grade_id)
                assert all(line.strip() in section for line in error.evalue.splitlines()), (student, grade_id)
            elif error.ename == "AssertionError":
                assert CJK.search(error.evalue), error.evalue
                assert f"{error.ename}: {error.evalue.strip()}" in section, (student, grade_id)
            else:
                assert f"{error.ename}: {error.evalue.splitlines()[0].strip()}" in section, (student, grade_id)


@e2e
@pytest.mark.parametrize("aid", AIDS)
def test_the_reference_solution_is_nowhere_a_student_did_not_write_it(course, aid):
    """The blank student wrote nothing: no line of the reference solution in their graded notebook or feedback."""
    solution = secret_lines(course, aid, SOLUTION)
    assert solution
    graded_text = "\n".join(c.source for c in read(course / "autograded" / "blank" / aid / f"{aid}.ipynb").cells)
    shown = page_text((course / "feedback" / "blank" / aid / f"{aid}.html").read_text(encoding="utf-8"))
    for line in solution:
        assert line not in graded_text, f"autograded/blank/{aid} 含有参考答案：{line}"
        assert line not in shown, f"feedback/blank/{aid} 含有参考答案：{line}"
    for student in students(aid):
        graded = (course / "autograded" / student / aid / f"{aid}.ipynb").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in graded, student


@e2e
@pytest.mark.parametrize("aid", AIDS)
def test_visible_tests_stay_visible_with_their_scores(course, aid):
    visible = [c for c in source_cells(course, aid) if c.metadata.get("nbgrader", {}).get("grade")
               and c.cell_type == "code" and not c.metadata.nbgrader.get("solution") and not HIDDEN.search(c.source)]
    assert visible
    html = (course / "feedback" / "reference" / aid / f"{aid}.html").read_text(encoding="utf-8")
    for cell in visible:
        section = cell_section(html, cell.metadata.nbgrader["grade_id"])
        points = float(cell.metadata.nbgrader["points"])
        assert f"得分：{points} / {points}" in section
        for line in cell.source.splitlines():
            assert line.strip() in section, line


@e2e
@pytest.mark.parametrize("aid", AIDS)
def test_feedback_pages_load_nothing_from_the_network(course, aid):
    remote = re.compile(r"""(?:<script[^>]*\ssrc|<link[^>]*\shref|<img[^>]*\ssrc|<iframe[^>]*\ssrc)\s*=\s*["']?\s*"""
                        r"""(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.I)
    for path in feedback_files(course, aid):
        raw = path.read_text(encoding="utf-8")
        assert not remote.findall(raw), f"{path.relative_to(course)} 从网络加载：{remote.findall(raw)}"
        assert "mathjax" not in raw.lower() and "require.js" not in raw and "cdn" not in raw.lower()




@e2e
def test_formgrader_writes_the_same_feedback_as_the_cli(course):
    aid, student = "a1_rnncell", TORCH_ERROR_STUDENT
    page = course / "feedback" / student / aid / f"{aid}.html"
    from_cli = page.read_bytes()
    page.unlink()
    result = formgrader(course, "generate_feedback", aid, student)
    assert result["success"], result
    assert page.read_bytes() == from_cli


# ------------------------------------------------------------------ the filter, in-process

def test_strip_paths_cuts_absolute_paths_only():
    from rnnlab.grading.plugins.feedback_filter import strip_paths

    assert strip_paths("File /work/x/.venv/lib/python3.11/site-packages/torch/nn/modules/rnn.py:1, in f") \
        == "File …/rnn.py:1, in f"
    assert strip_paths("[Errno 2] No such file: '/tmp/rnnlab-course-1/autograded/s1/a1/数据.csv'") \
        == "[Errno 2] No such file: '…/数据.csv'"
    assert strip_paths("当前目录： /root/course/autograded/s1") == "当前目录： …/s1"
    assert strip_paths(r"C:\Users\t\a.py") == r"…\a.py"
    for kept in ("see https://pytorch.org/docs/stable/nn.html", "src/rnnlab/x.py", "形状 (3, 4)，输入/输出", "1/2/3"):
        assert strip_paths(kept) == kept


def test_filter_on_a_notebook_without_gradebook():
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from rnnlab.grading.plugins.feedback_filter import FeedbackFilter

    hidden = new_code_cell("# 隐藏测试（1 分）\n### BEGIN HIDDEN TESTS\n_secret_helper(12345, sizes=(7, 11))\n"
                           "### END HIDDEN TESTS", outputs=[
        new_output("error", ename="CheckFailed", evalue="f（relu）：数值不一致\n提示：看 /home/t/x.py",
                   traceback=["Traceback", "File /work/src/rnnlab/checks/core.py:46", "_secret_helper(12345, sizes=(7, 11))"]),
        new_output("stream", name="stderr", text="/opt/venv/lib/site-packages/torch/w.py:3: UserWarning: w\n"
                                                 "  _secret_helper(12345, sizes=(7, 11))\n"),
    ])
    hidden.metadata["nbgrader"] = {"grade": True, "grade_id": "t_hidden", "points": 1, "score": 0}
    visible = new_code_cell("print(checks.check_f(f))", outputs=[
        new_output("error", ename="RuntimeError", evalue="mat1 and mat2 shapes cannot be multiplied\nmore torch text",
                   traceback=["frame 1", "frame 2"])])
    visible.metadata["nbgrader"] = {"grade": True, "grade_id": "t_visible", "points": 1, "score": 0}
    answer = new_markdown_cell("=== BEGIN MARK SCHEME ===\n### BEGIN SOLUTION\n参考答案的一句话\n### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "grade_id": "w", "points": 1,
                                   "comment": "No response."}
    nb = new_notebook(cells=[hidden, visible, answer])
    nb, _ = FeedbackFilter().preprocess(nb, {"nbgrader": {}})

    assert nb.cells[0].source == "# 隐藏测试（1 分）\n# 隐藏测试（代码不公开）"
    error, stream = nb.cells[0].outputs
    assert error.evalue == "f（relu）：数值不一致\n提示：看 …/x.py"
    assert error.traceback == ["\x1b[1;31m没有通过检查：\x1b[0m", "f（relu）：数值不一致", "提示：看 …/x.py"], \
        "a failed check reads in feedback as in the notebook: the hint alone"
    assert stream.text == "…/w.py:3: UserWarning: w\n"
    assert nb.cells[0].metadata.nbgrader["score"] == 0
    assert nb.cells[1].source == "print(checks.check_f(f))"
    assert nb.cells[1].outputs[0].traceback == ["RuntimeError: mat1 and mat2 shapes cannot be multiplied"]
    assert "参考答案" not in nb.cells[2].source.replace("参考答案不公开", "")
    assert nb.cells[2].metadata.nbgrader["comment"] == "未作答。"
    nbformat.validate(nb)
