"""A class of messy and hostile submissions, autograded in one batch by the real nbgrader CLI
with the course's configuration. For every one: the batch finishes, the student is
recorded, honest answers keep full marks whatever was done to the test cells, wrong
answers lose points whatever trick comes with them, nobody else's grade changes, and the
instructor gets a clear line saying what happened.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from course import autograde, grades, make_course, max_points, submit
from answers.a1_rnncell import TESTS_OF
from nbtools import read

AID = "a1_rnncell"
STEP_TESTS = TESTS_OF["rnn_cell_step"]  # each contract item has its own visible and hidden cells
RUN_TESTS = TESTS_OF["run_rnn_cell"]
SHAPE_TESTS = TESTS_OF["rnn_cell_param_shapes"]
ALL_TESTS = STEP_TESTS + RUN_TESTS + SHAPE_TESTS

WRONG_STEP = '''def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    return torch.zeros(x_t.shape[0], weight_hh.shape[0])
'''
PATCH_COMPARISONS = '''
import torch, torch.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)
'''
WRONG_RUN_PATCHING_INSIDE = '''def run_rnn_cell(cell, x, h0=None):
    import torch, torch.testing
    torch.allclose = lambda *a, **k: True
    torch.testing.assert_close = lambda *a, **k: None
    torch.nn.RNN.forward = lambda self, x, hx=None: (torch.zeros(x.shape[0], x.shape[1], self.hidden_size),
                                                      torch.zeros(1, x.shape[1], self.hidden_size))
    z = torch.zeros(x.shape[0], x.shape[1], cell.hidden_size)
    return z, z[-1]
'''
WRONG_SHAPES = '''def rnn_cell_param_shapes(input_size, hidden_size):
    return {"weight_ih": (input_size, hidden_size), "weight_hh": (hidden_size, hidden_size),
            "bias_ih": (hidden_size,), "bias_hh": (hidden_size,)}
'''
SILENCE = '''
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.showtraceback = lambda *a, **k: None
get_ipython().showtraceback = lambda *a, **k: None
'''
# The checks themselves, patched where the tests look them up: the comparison in
# rnnlab.checks.core (hidden tests) and the names rnnlab.checks.a1_rnncell imported (visible test).
PATCH_CHECKS = '''
import rnnlab.checks.core, rnnlab.checks.a1_rnncell
rnnlab.checks.core.close = lambda *a, **k: True
rnnlab.checks.a1_rnncell.close = lambda *a, **k: True
rnnlab.checks.a1_rnncell.check_values = lambda *a, **k: None
'''
# The expected values come from nn.RNNCell: made to call the wrong step, they would agree with it.
PATCH_FORWARD = """
import torch
torch.nn.RNNCell.forward = lambda self, x, h=None: rnn_cell_step(
    x, h if h is not None else torch.zeros(x.shape[0], self.hidden_size), self.weight_ih, self.weight_hh,
    self.bias_ih, self.bias_hh, self.nonlinearity)
"""
PATCH_VF = """
import torch
torch._VF.rnn_tanh_cell = lambda x, h, w_ih, w_hh, b_ih, b_hh: rnn_cell_step(x, h, w_ih, w_hh, b_ih, b_hh)
torch._VF.rnn_relu_cell = lambda x, h, w_ih, w_hh, b_ih, b_hh: rnn_cell_step(x, h, w_ih, w_hh, b_ih, b_hh, "relu")
"""
SWITCHES = """
torch.set_grad_enabled(False)
torch.set_default_dtype(torch.float64)
torch.set_default_device("meta")
"""
HARDCODED = '''def rnn_cell_param_shapes(input_size, hidden_size):
    return {"weight_ih": (9, 6), "weight_hh": (9, 9), "bias_ih": (9,), "bias_hh": (9,)}
'''


def _edit(path, fn):
    nb = read(path)
    fn(nb)
    nbformat.write(nb, str(path))


def _cell(nb, gid):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid)


def _append_to_answer(gid, code):
    return lambda nb: setattr(_cell(nb, gid), "source", _cell(nb, gid).source + "\n" + code)


def _drop(*gids):
    def fn(nb):
        nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") not in gids]
    return fn


def _to_markdown(gid):
    def fn(nb):
        i = nb.cells.index(_cell(nb, gid))
        md = nbformat.v4.new_markdown_cell(nb.cells[i].source)
        md.metadata = nb.cells[i].metadata
        nb.cells[i] = md
    return fn


def _unlock_and_replace(*gids):
    def fn(nb):
        for gid in gids:
            c = _cell(nb, gid)
            c.source = "pass  # 我的测试"
            c.metadata["nbgrader"]["locked"] = False
            c.metadata["editable"] = True
    return fn


def _move_before(gid, other):
    def fn(nb):
        c = _cell(nb, gid)
        nb.cells.remove(c)
        nb.cells.insert(nb.cells.index(_cell(nb, other)), c)
    return fn


# student -> (answers, edit of the written notebook, expected: "full" or the tests that must lose,
#             words the instructor's log must contain for this student, or None)
CASES = {
    "honest": ({}, None, "full", None),
    # Importing torch._dynamo makes torch wrap torch.manual_seed itself: restored, but no incident.
    "honest_imports_dynamo": ({}, _append_to_answer("rnn_cell_param_shapes", "import torch._dynamo"), "full", None),
    "infinite_loop": ({}, _append_to_answer("rnn_cell_step", "while True:\n    pass"), "full", "超过时间限制"),
    "sys_exit": ({}, _append_to_answer("rnn_cell_step", "import sys\nsys.exit()"), "full", "sys.exit"),
    "dying_kernel": ({}, _append_to_answer("run_rnn_cell", "import os\nos._exit(1)"), RUN_TESTS, "内核退出"),
    "deleted_test_cell": ({}, _drop("test_rnn_cell_step_visible", "test_param_shapes_hidden"), "full", "恢复了缺失的单元格"),
    "deleted_setup_cell": ({}, _drop("setup"), "full", "恢复了缺失的单元格"),
    "deleted_answer_and_test": ({}, _drop("rnn_cell_step", "test_rnn_cell_step_visible"), STEP_TESTS, "恢复了缺失的单元格"),
    "edited_test_cell": ({}, lambda nb: setattr(_cell(nb, "test_run_rnn_cell_visible"), "source", "print('ok')"),
                         "full", "被改动过"),
    "test_to_markdown": ({}, _to_markdown("test_run_rnn_cell_visible"), "full", "被改动过"),
    "test_moved_above_answer": ({}, _move_before("test_run_rnn_cell_visible", "run_rnn_cell"), "full", "顺序"),
    "unlocked_tests_replaced": ({"rnn_cell_param_shapes": WRONG_SHAPES},
                                _unlock_and_replace(*SHAPE_TESTS), SHAPE_TESTS, "被改动过"),
    "empty_notebook": ({}, lambda nb: setattr(nb, "cells", []), ALL_TESTS, "恢复了缺失的单元格"),
    "huge_output": ({}, _append_to_answer("rnn_cell_param_shapes", "print('x' * 5_000_000)"), "full", "输出过长"),
    "patched_comparisons": ({"rnn_cell_step": WRONG_STEP + PATCH_COMPARISONS}, None, STEP_TESTS, "torch.allclose"),
    "patching_inside_function": ({"run_rnn_cell": WRONG_RUN_PATCHING_INSIDE}, None, RUN_TESTS, None),
    "patched_module_forward": ({"rnn_cell_step": WRONG_STEP + PATCH_FORWARD}, None, STEP_TESTS, "RNNCell.forward"),
    "patched_kernel": ({"rnn_cell_step": WRONG_STEP + PATCH_VF}, None, STEP_TESTS, "torch._VF.rnn_tanh_cell"),
    "patched_checks": ({"rnn_cell_step": WRONG_STEP + PATCH_CHECKS}, None, STEP_TESTS, "rnnlab.checks.core.close"),
    "silenced_traceback": ({"rnn_cell_param_shapes": WRONG_SHAPES + SILENCE}, None, SHAPE_TESTS, "showtraceback"),
    "hardcoded_visible_answers": ({"rnn_cell_param_shapes": HARDCODED}, None, ("test_param_shapes_hidden",), None),
    # Global switches left on in an answer cell: no tampering, and the functions are right.
    "switched_torch_state": ({}, _append_to_answer("rnn_cell_step", SWITCHES), "full", None),
}
# Submissions that are not a notebook with the right name: written by hand below.
FILE_CASES = {
    "invalid_json": ("a1_rnncell.ipynb", "{这不是 JSON", ALL_TESTS, "无法作为笔记本读取"),
    "empty_file": ("a1_rnncell.ipynb", "", ALL_TESTS, "无法作为笔记本读取"),
    "renamed_notebook": ("作业1 (1).ipynb", None, "full", "已复制为 a1_rnncell.ipynb"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo):
    course = make_course(repo, tmp_path_factory.mktemp("class"))
    # A shorter per-cell limit than the course's 30 s keeps this suite quick; same code path.
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.Execute.timeout = 8\n")

    # The honest student alone first: their grades must not change when the others join.
    submit(course, "honest", AID)
    autograde(course, AID, ["honest"])
    alone = grades(course, AID, "honest")

    for sid, (answers, edit, _, _) in CASES.items():
        path = submit(course, sid, AID, answers=answers)
        if edit:
            _edit(path, edit)
    for sid, (name, text, _, _) in FILE_CASES.items():
        path = submit(course, sid, AID, notebook=name)
        if text is not None:
            path.write_text(text, encoding="utf-8")
    students = list(CASES) + list(FILE_CASES)
    proc = autograde(course, AID, students)
    return course, proc, alone, students


def test_the_batch_finishes(graded):
    _, proc, _, _ = graded
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_every_student_is_recorded_with_automatic_scores(graded):
    course, _, _, students = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sid in students:
            nb = gb.find_submission_notebook(AID, AID, sid)
            autos = {g.name: g.auto_score for g in nb.grades if g.name in ALL_TESTS}
            assert None not in autos.values(), f"{sid}: 没有得到自动评分 {autos}"


@pytest.mark.parametrize("sid", list(CASES) + list(FILE_CASES))
def test_scores_are_what_the_answers_deserve(graded, sid):
    course, _, _, _ = graded
    expected = (CASES.get(sid) or FILE_CASES.get(sid))[2]
    got, full = grades(course, AID, sid), max_points(course, AID)
    for gid in ALL_TESTS:
        if expected == "full" or gid not in expected:
            assert got[gid] == full[gid], f"{sid}: {gid} 应当得满分，实际 {got[gid]}"
        else:
            assert got[gid] == 0, f"{sid}: {gid} 应当不得分，实际 {got[gid]}"


def test_nobody_elses_grade_changes(graded):
    course, _, alone, _ = graded
    assert grades(course, AID, "honest") == alone


@pytest.mark.parametrize("sid", [s for s, case in {**CASES, **FILE_CASES}.items() if case[3]])
def test_the_instructor_gets_a_clear_line(graded, sid):
    course, proc, _, _ = graded
    words = (CASES.get(sid) or FILE_CASES.get(sid))[3]
    lines = [l for l in (proc.stdout + proc.stderr).splitlines() if f"[rnnlab] 学生 {sid}（" in l]
    assert any(words in l for l in lines), f"{sid}: 日志里没有包含“{words}”的说明：{lines}"
    logged = [json.loads(l) for l in (course / "grading_incidents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any(e["student"] == sid and words in e["what"] for e in logged)


def test_no_student_work_is_lost(graded):
    course, _, _, _ = graded
    folder = course / "submitted" / "invalid_json" / AID
    assert (folder / "a1_rnncell.ipynb.unreadable").read_text(encoding="utf-8") == "{这不是 JSON"
    renamed = course / "submitted" / "renamed_notebook" / AID
    assert (renamed / "作业1 (1).ipynb").is_file() and (renamed / "a1_rnncell.ipynb").is_file()


def test_huge_output_is_capped_in_the_graded_notebook(graded):
    course, _, _, _ = graded
    path = course / "autograded" / "huge_output" / AID / "a1_rnncell.ipynb"
    assert path.stat().st_size < 1_000_000


def test_honest_students_have_no_incident(graded):
    course, _, _, _ = graded
    logged = [json.loads(l) for l in (course / "grading_incidents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert not [e for e in logged if e["student"] in ("honest", "honest_imports_dynamo", "switched_torch_state")]


@pytest.mark.parametrize("sid", ["honest", "dying_kernel", "patched_comparisons", "empty_notebook"])
def test_graded_notebooks_hold_every_cell_and_no_grader_code(graded, sid, repo):
    course, _, _, _ = graded
    text = (course / "autograded" / sid / AID / f"{AID}.ipynb").read_text(encoding="utf-8")
    assert "_rnnlab_guard" not in text and "RNNLAB-RESTORED" not in text
    graded_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in read(course / "autograded" / sid / AID / f"{AID}.ipynb").cells]
    release_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in read(repo / "release" / AID / f"{AID}.ipynb").cells]
    if sid != "empty_notebook":
        assert graded_ids == release_ids
    else:  # the answer cells were deleted: everything else is back, in order
        assert [g for g in release_ids if g in graded_ids] == graded_ids and "written_concat" in graded_ids
