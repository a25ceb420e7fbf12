"""Every assignment of the course map, graded by its own visible and hidden tests.

For each assignment, one kernel grades: the reference solution (full marks), the blank
release (every test fails, the kernel lives), every correct style in tests/answers/<aid>.py
(full marks) and every classic mistake there (loses points in its own question, in a hidden
test, and in the visible check when the mistake is one the visible check can see).
"""

from __future__ import annotations

import importlib
import re

import pytest

from conftest import REPO
from matrix import Grader, assignment_cells
from rnnlab import chapters

ASSIGNMENTS = chapters.assignments()
CJK = re.compile(r"[\u4e00-\u9fff]")


def answers_of(aid: str):
    return importlib.import_module(f"answers.{aid}")


def _cases(kind: str) -> list:
    cases = []
    for aid in ASSIGNMENTS:
        try:
            names = sorted(getattr(answers_of(aid), kind))
        except ModuleNotFoundError:
            names = []  # test_every_assignment_has_an_answer_matrix says so
        cases += [pytest.param(aid, n, id=f"{aid}-{n}") for n in names]
    return cases


_RESULTS: dict[str, dict[str, dict[str, str | None]]] = {}


def results(aid: str) -> dict[str, dict[str, str | None]]:
    """name -> {test grade_id: error or None} for every answer set of `aid`, graded once per session."""
    if aid not in _RESULTS:
        module = answers_of(aid)
        sets = {"reference": {}, "blank": {gid: None for gid in module.TESTS_OF}}
        sets.update(module.CORRECT)
        sets.update({name: {gid: code} for name, (gid, code, _) in module.WRONG.items()})
        grader = Grader(REPO, aid)
        try:
            reference = grader.grade(sets.pop("reference"))
            _RESULTS[aid] = {"reference": reference,
                             **{name: grader.grade(answers, reference) for name, answers in sets.items()}}
        finally:
            grader.close()
    return _RESULTS[aid]


def failed(result: dict[str, str | None]) -> set[str]:
    return {gid for gid, error in result.items() if error is not None}


def visible_of(tests) -> list[str]:
    """A question's visible checks (they come first in TESTS_OF; a contract item may have its own)."""
    return [t for t in tests if "visible" in t]


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_every_assignment_has_an_answer_matrix(aid):
    module = answers_of(aid)
    cells = assignment_cells(REPO, aid)
    solutions = {c.grade_id for c in cells if c.role == "solution"}
    tests = {c.grade_id for c in cells if c.role == "test"}
    assert set(module.TESTS_OF) == solutions, "TESTS_OF 要列出每个代码答案单元格"
    listed = [t for ts in module.TESTS_OF.values() for t in ts]
    assert sorted(listed) == sorted(tests), "每个自动评分的测试单元格恰好属于一道题"
    for gid, ts in module.TESTS_OF.items():
        kinds = ["visible" in t for t in ts]
        assert kinds[0] and not all(kinds) and kinds == sorted(kinds, reverse=True), f"{gid}：先是可见检查，再是隐藏测试"
        assert any(w[0] == gid for w in module.WRONG.values()), f"{gid} 没有一个典型错误"
    assert len(module.CORRECT) >= 3


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_reference_solution_passes_every_test(aid):
    assert failed(results(aid)["reference"]) == set(), results(aid)["reference"]


@pytest.mark.parametrize("aid", ASSIGNMENTS)
def test_blank_release_fails_every_test_with_a_message(aid):
    got = results(aid)["blank"]
    assert failed(got) == set(got), got
    visible = [got[t] for ts in answers_of(aid).TESTS_OF.values() for t in visible_of(ts)]
    assert all("还没有实现" in v for v in visible), visible


@pytest.mark.parametrize("aid, name", _cases("CORRECT"))
def test_every_correct_style_gets_full_marks(aid, name):
    got = results(aid)[name]
    assert failed(got) == set(), f"{name} 是正确的写法却没通过：{ {k: v for k, v in got.items() if v} }"


@pytest.mark.parametrize("aid, name", _cases("WRONG"))
def test_each_mistake_loses_points_in_its_question(aid, name):
    module = answers_of(aid)
    gid, _, caught_by_visible = module.WRONG[name]
    own = module.TESTS_OF[gid]
    got = results(aid)[name]
    lost = failed(got)
    assert lost, f"{name} 没有丢分"
    assert lost <= set(own), f"{name} 只错在 {gid}，却在别的题丢了分：{lost - set(own)}"
    assert lost - set(visible_of(own)), f"{name}：隐藏测试没有发现这个错误"
    caught = lost & set(visible_of(own))
    if caught_by_visible:
        assert caught, f"{name}：可见检查应当在提交前就发现这个错误"
        assert all(CJK.search(got[t]) for t in caught), f"{name}：可见检查的提示应当是中文：{[got[t] for t in caught]}"
    else:
        assert not caught, f"{name}：可见检查发现了它，应标为 caught_by_visible=True"


@pytest.mark.parametrize("name", ["shapes_no_value_error", "count_no_value_error"])
def test_a_missing_value_error_costs_only_its_own_points(name):
    """Partial credit: every shape (or count) right, no ValueError for proj_size: only the
    refusal's cells are lost, visible and hidden (issue 21, point 4)."""
    gid, _, _ = answers_of("a5_bidirectional").WRONG[name]
    lost = failed(results("a5_bidirectional")[name])
    assert lost == {f"test_{gid}_refuses_proj_size_visible", f"test_{gid}_refuses_proj_size_hidden"}, lost


def _item_cases() -> list:
    """(aid, mistake) of every ITEM_CELLS entry in the answer matrices (each matrix may list its own)."""
    return [pytest.param(aid, name, id=f"{aid}-{name}") for aid in ASSIGNMENTS
            for name in sorted(getattr(answers_of(aid), "ITEM_CELLS", {}))]


@pytest.mark.parametrize("aid, name", _item_cases())
def test_a_mistake_in_one_contract_item_costs_exactly_that_items_cells(aid, name):
    """Partial credit (issue 21, point 4): each contract item has its own visible and hidden cells, so a
    function right but for one item keeps the points of the others (ITEM_CELLS: what it loses, exactly)."""
    module = answers_of(aid)
    gid, _, _ = module.WRONG[name]
    want = set(module.ITEM_CELLS[name])
    assert want < set(module.TESTS_OF[gid]), f"{name}：应当只丢 {gid} 的一部分分数"
    assert set(visible_of(want)) and want - set(visible_of(want)), f"{name}：这一项的可见检查和隐藏测试都要丢分"
    lost = failed(results(aid)[name])
    assert lost == want, f"{name} 应当只丢 {sorted(want)}，实际丢了 {sorted(lost)}"


@pytest.mark.parametrize("aid, name", [("a5_bidirectional", "manual_h_read_back_from_output")])
def test_a_hidden_gradient_test_explains_an_in_place_error_in_chinese(aid, name):
    """Hidden feedback too: torch's in-place error inside backward() comes with its Chinese hint."""
    error = results(aid)[name]["test_manual_bidirectional_rnn_hidden_grad"]
    assert error is not None and "原地操作" in error and "inplace operation" in error
