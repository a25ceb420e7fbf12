"""Assignment a1_rnncell through the real nbgrader CLI in a temporary course directory.

One class is autograded in one batch: the reference solution, the blank release, correct
answers written in other styles (all must get full marks) and plausible mistakes (each must
lose points in the question it belongs to).
"""

from __future__ import annotations

import json

import pytest

from course import autograde, grades, make_course, max_points, submit
from nbtools import read

AID = "a1_rnncell"

STEP = "rnn_cell_step"
RUN = "run_rnn_cell"
SHAPES = "rnn_cell_param_shapes"
STEP_TESTS = ("test_rnn_cell_step_visible", "test_rnn_cell_step_hidden_sizes", "test_rnn_cell_step_hidden_args")
RUN_TESTS = ("test_run_rnn_cell_visible", "test_run_rnn_cell_hidden_sizes", "test_run_rnn_cell_hidden_args")
SHAPE_TESTS = ("test_param_shapes_visible", "test_param_shapes_hidden")
AUTO_TESTS = STEP_TESTS + RUN_TESTS + SHAPE_TESTS

STEP_SIG = 'def rnn_cell_step(x_t, h_prev, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):\n'
RUN_SIG = "def run_rnn_cell(cell, x, h0=None):\n"
SHAPES_SIG = "def rnn_cell_param_shapes(input_size, hidden_size):\n"

# ------------------------------------------------------------ correct, in other styles
CORRECT = {
    "style_flinear": {STEP: STEP_SIG + """
    z = F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
    return F.relu(z) if nonlinearity == "relu" else torch.tanh(z)
"""},
    "style_einsum": {STEP: STEP_SIG + """
    z = torch.einsum("bi,hi->bh", x_t, weight_ih) + torch.einsum("bk,hk->bh", h_prev, weight_hh)
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    act = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
    return act(z)
"""},
    "style_addmm_rowloop": {STEP: STEP_SIG + """
    H = weight_hh.shape[0]
    b1 = bias_ih if bias_ih is not None else torch.zeros(H)
    b2 = bias_hh if bias_hh is not None else torch.zeros(H)
    rows = []
    for i in range(x_t.shape[0]):
        r = torch.addmv(b1, weight_ih, x_t[i]) + torch.addmv(b2, weight_hh, h_prev[i])
        rows.append(r)
    z = torch.stack(rows)
    return torch.clamp(z, min=0) if nonlinearity == "relu" else z.tanh()
""", RUN: RUN_SIG + """
    T, B, _ = x.shape
    out = x.new_empty(T, B, cell.hidden_size)
    h = torch.zeros(B, cell.hidden_size) if h0 is None else h0
    t = 0
    while t < T:
        h = rnn_cell_step(x[t], h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh,
                          nonlinearity=cell.nonlinearity)
        out[t] = h
        t += 1
    return out, out[-1]
"""},
    "style_library": {RUN: RUN_SIG + """
    rnn = nn.RNN(cell.input_size, cell.hidden_size, bias=cell.bias_ih is not None,
                 nonlinearity=cell.nonlinearity)
    rnn.weight_ih_l0 = cell.weight_ih
    rnn.weight_hh_l0 = cell.weight_hh
    if cell.bias_ih is not None:
        rnn.bias_ih_l0 = cell.bias_ih
        rnn.bias_hh_l0 = cell.bias_hh
    out, hn = rnn(x, None if h0 is None else h0[None])
    return out, hn[0]
""", SHAPES: SHAPES_SIG + """
    return {name: p.shape for name, p in nn.RNNCell(input_size, hidden_size).named_parameters()}
"""},
    "style_unbind": {RUN: RUN_SIG + """
    hs = []
    h = h0
    for xt in x.unbind(0):
        h = cell(xt) if h is None else cell(xt, h)
        hs += [h]
    return torch.stack(hs, dim=0), hs[-1]
""", SHAPES: SHAPES_SIG + """
    H, I = hidden_size, input_size
    shapes = dict(weight_ih=(H, I), weight_hh=(H, H))
    shapes.update(bias_ih=(H,), bias_hh=(H,))
    return shapes
"""},
}

# ------------------------------------------------------------ plausible mistakes
WRONG = {
    "no_bias_hh": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    if bias_ih is not None:
        z = z + bias_ih
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
"""),
    "no_transpose_hh": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
"""),
    "no_transpose_at_all": (STEP, STEP_SIG + """
    z = x_t @ weight_ih + h_prev @ weight_hh + bias_ih + bias_hh
    return torch.tanh(z)
"""),
    "bias_none_crashes": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    return torch.relu(z) if nonlinearity == "relu" else torch.tanh(z)
"""),
    "ignores_nonlinearity": (STEP, STEP_SIG + """
    z = x_t @ weight_ih.T + h_prev @ weight_hh.T
    for b in (bias_ih, bias_hh):
        if b is not None:
            z = z + b
    return torch.tanh(z)
"""),
    "sigmoid": (STEP, STEP_SIG + """
    z = F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
    return torch.sigmoid(z)
"""),
    "no_activation": (STEP, STEP_SIG + """
    return F.linear(x_t, weight_ih, bias_ih) + F.linear(h_prev, weight_hh, bias_hh)
"""),
    "outputs_include_h0": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size) if h0 is None else h0
    outs = [h]
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs[:-1]), h
"""),
    "random_default_h0": (RUN, RUN_SIG + """
    h = torch.randn(x.shape[1], cell.hidden_size) if h0 is None else h0
    outs = []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h
"""),
    "ignores_h0": (RUN, RUN_SIG + """
    h = torch.zeros(x.shape[1], cell.hidden_size)
    outs = []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), h
"""),
    "returns_list": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return outs, h
"""),
    "h_last_is_first": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs), outs[0]
"""),
    "batch_first_outputs": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h)
        outs.append(h)
    return torch.stack(outs, dim=1), h
"""),
    "detached_state": (RUN, RUN_SIG + """
    h, outs = h0, []
    for t in range(x.shape[0]):
        h = cell(x[t], h).detach()
        outs.append(h)
    return torch.stack(outs), h
"""),
    "transposed_weight_ih": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (input_size, hidden_size), "weight_hh": (hidden_size, hidden_size),
            "bias_ih": (hidden_size,), "bias_hh": (hidden_size,)}
"""),
    "hardcoded_visible_sizes": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (9, 6), "weight_hh": (9, 9), "bias_ih": (9,), "bias_hh": (9,)}
"""),
    "bias_column": (SHAPES, SHAPES_SIG + """
    return {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size),
            "bias_ih": (hidden_size, 1), "bias_hh": (hidden_size, 1)}
"""),
}
TESTS_OF = {STEP: STEP_TESTS, RUN: RUN_TESTS, SHAPES: SHAPE_TESTS}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, repo):
    course = make_course(repo, tmp_path_factory.mktemp("course"))
    students = ["reference", "blank"]
    submit(course, "reference", AID)
    submit(course, "blank", AID, answers={STEP: None, RUN: None, SHAPES: None, "written_square": None})
    for sid, answers in CORRECT.items():
        submit(course, sid, AID, answers=answers)
        students.append(sid)
    for sid, (func, code) in WRONG.items():
        submit(course, sid, AID, answers={func: code})
        students.append(sid)
    autograde(course, AID, students)
    return course


def test_regeneration_reproduces_committed_release_and_solutions(tmp_path, repo):
    course = make_course(repo, tmp_path / "course")
    for folder in ("release", "solutions"):
        for committed in sorted((repo / folder).glob("*/*.ipynb")):
            fresh = read(course / folder / committed.relative_to(repo / folder))
            old = read(committed)
            assert len(fresh.cells) == len(old.cells), committed
            for a, b in zip(fresh.cells, old.cells):
                assert a.source == b.source, f"{committed}: 单元格内容与重新生成的不一致，请运行 make assignments"
                assert a.metadata.get("nbgrader") == b.metadata.get("nbgrader"), committed
            # Byte for byte, too: regenerating unchanged sources leaves no diff to commit.
            assert (course / folder / committed.relative_to(repo / folder)).read_bytes() == committed.read_bytes(), \
                f"{committed}: 与重新生成的文件不完全相同，请运行 make assignments"
        assert sorted(p.relative_to(course / folder) for p in (course / folder).glob("*/*.ipynb")) == \
            sorted(p.relative_to(repo / folder) for p in (repo / folder).glob("*/*.ipynb"))


def test_release_holds_no_solution_and_no_hidden_test(repo):
    src = read(repo / "source" / AID / f"{AID}.ipynb")
    rel_text = (repo / "release" / AID / f"{AID}.ipynb").read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in rel_text
    # No line of a solution region or of a hidden-test region survives in the release.
    for cell in src.cells:
        for region in ("SOLUTION", "HIDDEN TESTS"):
            parts = cell.source.split(f"### BEGIN {region}")
            for part in parts[1:]:
                body = part.split(f"### END {region}")[0]
                for line in body.strip().splitlines():
                    if len(line.strip()) > 12:
                        assert line.strip() not in rel_text, f"release/ 泄露了：{line.strip()}"


def test_release_is_clean_and_stubbed(repo):
    nb = read(repo / "release" / AID / f"{AID}.ipynb")
    stubs = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(stubs) == 4
    for c in stubs:
        assert "在此处" in c.source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_reference_solution_gets_full_marks(graded_class):
    got = grades(graded_class, AID, "reference")
    full = max_points(graded_class, AID)
    for gid in AUTO_TESTS:
        assert got[gid] == full[gid], gid
    assert got["written_square"] is None  # the written answer waits for a human


def test_blank_release_scores_zero_without_crashing(graded_class):
    got = grades(graded_class, AID, "blank")
    assert all(score == 0 for score in got.values()), got


@pytest.mark.parametrize("student", sorted(CORRECT))
def test_every_correct_style_gets_full_marks(graded_class, student):
    got = grades(graded_class, AID, student)
    full = max_points(graded_class, AID)
    lost = {gid: got[gid] for gid in AUTO_TESTS if got[gid] != full[gid]}
    assert not lost, f"{student} 是正确的写法却丢了分：{lost}"


@pytest.mark.parametrize("student", sorted(WRONG))
def test_each_mistake_loses_points_in_its_question(graded_class, student):
    func, _ = WRONG[student]
    got = grades(graded_class, AID, student)
    full = max_points(graded_class, AID)
    own = TESTS_OF[func]
    assert sum(got[g] for g in own) < sum(full[g] for g in own), f"{student} 没有丢分"
    # Its other answers are the reference ones: they keep their points.
    for gid in AUTO_TESTS:
        if gid not in own:
            assert got[gid] == full[gid], (student, gid)


def test_mistakes_also_fail_a_hidden_test(graded_class):
    """Hidden tests catch each mistake on their own, not only the visible check."""
    for student, (func, _) in WRONG.items():
        got = grades(graded_class, AID, student)
        hidden = [g for g in TESTS_OF[func] if "hidden" in g]
        assert any(got[g] == 0 for g in hidden), f"{student}: 隐藏测试没有发现这个错误"


def test_autograded_notebooks_record_the_chinese_hint(graded_class):
    nb = json.loads((graded_class / "autograded" / "no_bias_hh" / AID / f"{AID}.ipynb").read_text())
    texts = [o.get("evalue", "") for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert any("bias_hh 似乎没有加上" in t for t in texts), texts
