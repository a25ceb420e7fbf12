"""The training explorer (rnnlab.explorers.training, lecture 6.6), kernel side: driven through its methods
(start, wait, stop, set) as the buttons drive it. It trains in a background thread; its runs are seeded and equal
the lecture's own `train`; the claims of section 6.6 hold; bad input and a broken step function become Chinese
messages, never exceptions. The browser test (tests/test_browser.py -k training) clicks the real buttons."""

from __future__ import annotations

import contextlib
import io
import math
import re
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from conftest import REPO
from nbtools import read
from rnnlab.explorers import training as T
from rnnlab.explorers.training import TrainingExplorer, render_chart

NOTEBOOK = REPO / "notebooks" / "06_training.ipynb"
LN8 = math.log(8)


def train_step(parameters, optimizer, loss, max_norm):
    """The step of lecture 6.6 (the package never holds it)."""
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(parameters, max_norm)
    optimizer.step()


def trained(timeout: float = 60, **settings) -> TrainingExplorer:
    e = TrainingExplorer(step=train_step, **settings)
    assert e.error is None, e.error
    assert e.start()
    assert e.wait(timeout), "训练没有在限时内结束"
    return e


def values(e) -> dict:
    return {k: w.value for k, w in e.controls.items()}


@pytest.fixture(scope="module")
def lecture():
    """The lecture's namespace after the cells that define 6.1's training (`train`, `open_gates`) and 6.6's
    explorer cell ran; torch's thread count and determinism are restored afterwards."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    wanted = ("ch06-setup", "ch06-task", "ch06-fit-code", "ch06-long-code", "ch06-gate-init", "ch06-open-code",
              "ch06-explorer-code")
    cells = {c.id: c for c in read(NOTEBOOK).cells}
    ns: dict = {}
    for cell_id in wanted:
        source = cells[cell_id].source
        if cell_id == "ch06-long-code":   # trains: only its constants (T_LONG = 50)
            source = "\n".join(line for line in source.splitlines() if re.match(r"[A-Z_]+ = ", line))
        if cell_id == "ch06-explorer-code":   # keep the widget the cell's last line shows
            *body, last = source.rstrip().splitlines()
            source = "\n".join(body) + "\n_explorer = " + last
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, cell_id, "exec"), ns)
    yield ns
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


# -- the lecture's cell ----------------------------------------------------------------------------------------------
def test_the_lecture_cell_shows_an_explorer_that_has_not_trained(lecture):
    e = lecture["_explorer"]
    assert isinstance(e, TrainingExplorer) and e.error is None
    assert e.run is None and not e.running and not e.train_button.disabled and e.stop_button.disabled
    assert e.train_step is lecture["train_step"]


def test_the_section_comes_before_the_summary_and_says_what_the_code_does():
    cells = read(NOTEBOOK).cells
    ids = [c.id for c in cells]
    order = [ids.index(i) for i in ("ch06-bi-read", "ch06-explorer", "ch06-explorer-code", "ch06-summary")]
    assert order == sorted(order) and order[-1] - order[0] == 3
    assert cells[ids.index("ch06-explorer")].source.startswith("## 6.6 训练探索器")
    assert cells[ids.index("ch06-summary")].source.startswith("## 小结")
    text = cells[ids.index("ch06-explorer")].source
    assert "一次最多训练 300 步" in text and T.MAX_STEPS == 300
    assert "前两次的曲线（虚线）" in text and T.KEEP_RUNS == 3


def test_the_lectures_step_with_max_norm_inf_leaves_the_gradients_alone(lecture):
    """6.6: without clipping the explorer passes max_norm = inf and clip_grad_norm_ changes nothing, so the
    lecture's `train_step` is then exactly fit's step (zero the gradients, back-propagate, update)."""
    torch.manual_seed(0)
    model = nn.GRU(3, 5)
    (model(torch.randn(4, 2, 3))[0] * 100).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    norm = nn.utils.clip_grad_norm_(model.parameters(), math.inf)
    assert norm > 1 and all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    x = torch.randn(4, 2, 3)
    models = []
    for use_step in (True, False):
        torch.manual_seed(0)
        m = nn.GRU(3, 5)
        optimizer = torch.optim.SGD(m.parameters(), lr=0.5)
        for _ in range(3):
            loss = (m(x)[0] * 100).sum()
            if use_step:
                lecture["train_step"](list(m.parameters()), optimizer, loss, math.inf)
            else:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        models.append(m)
    assert all(torch.equal(p, q) for p, q in zip(models[0].parameters(), models[1].parameters()))


# -- the lecture's run, seeded ---------------------------------------------------------------------------------------
def _per(losses, every):
    return [sum(losses[i:i + every]) / every for i in range(0, len(losses), every)]


def test_the_default_settings_are_the_lectures_gru_at_T_50_and_give_its_result(lecture):
    """6.6: "默认设置就是 6.1 节的 GRU、T = 50，测试准确率和 6.1 节的一样，停在随机猜测附近"."""
    assert (T.K, T.EMBED, T.BATCH) == (lecture["K"], lecture["EMBED"], lecture["BATCH"])
    assert T.OPTIMIZERS["Adam"] == lecture["LR"] and T.MAX_STEPS == lecture["STEPS"]
    s = T.Settings()
    assert (s.cell, s.seq_len, s.hidden_size, s.init, s.optimizer, s.clip, s.steps, s.seed) == \
        ("GRU", lecture["T_LONG"], lecture["HIDDEN"], "默认", "Adam", False, 300, 0)
    _, history = lecture["train"]("GRU", lecture["T_LONG"])
    e = trained()
    assert e.run.state == "done" and e.run.steps_done == 300
    assert e.run.test_accuracy == history["test"] < 0.25
    assert _per(e.run.losses, 25) == pytest.approx(history["loss"], abs=1e-6)


def test_open_gates_is_the_lectures_open_gates(lecture):
    _, history = lecture["train"]("LSTM", 20, prepare=lecture["open_gates"])
    e = trained(cell="LSTM", seq_len=20, init="打开门")
    assert e.run.test_accuracy == history["test"]
    assert _per(e.run.losses, 25) == pytest.approx(history["loss"], abs=1e-6)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_weight_hh_times_4_scales_only_weight_hh(cell):
    plain = T.build(T.Settings(cell=cell, seed=3))[0]
    scaled = T.build(T.Settings(cell=cell, seed=3, init="weight_hh × 4"))[0]
    for (name, p), q in zip(plain.named_parameters(), scaled.parameters()):
        assert torch.equal(q, 4 * p if name == "rnn.weight_hh_l0" else p), name


def test_the_same_settings_give_the_same_curve_and_another_seed_another():
    settings = dict(cell="RNN", seq_len=8, hidden_size=16, steps=60)
    a, b = trained(**settings), trained(**settings)
    assert a.run.losses == b.run.losses and a.run.points == b.run.points and a.run.test_accuracy == b.run.test_accuracy
    c = trained(seed=1, **settings)
    assert c.run.losses != a.run.losses
    # The explorer's own kernel state is left as it was: the global seed and the thread count.
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    threads = torch.get_num_threads()
    trained(**settings)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def test_an_easy_setting_learns_and_its_loss_goes_down():
    e = trained(cell="RNN", seq_len=5)
    losses = [p[1] for p in e.run.points]
    assert all(math.isfinite(v) for v in e.run.losses)
    assert losses[0] > LN8 - 0.3 and sum(losses[-3:]) / 3 < 0.3 and e.run.test_accuracy > 0.9
    assert len(e.run.points) == 300 // T.EVERY and [p[0] for p in e.run.points] == list(range(10, 301, 10))
    assert all(0 <= p[2] <= 1 for p in e.run.points)


@pytest.mark.parametrize("seed", [0, 1])
def test_clipping_rescues_the_exploding_rnn_of_section_6_2(seed):
    """6.6: RNN, T = 10, weight_hh × 4, SGD: without clipping the loss comes down and jumps back to about chance;
    clipped to max_norm = 1 it learns."""
    settings = dict(cell="RNN", seq_len=10, init="weight_hh × 4", optimizer="SGD", seed=seed)
    free = trained(**settings).run
    clipped = trained(clip=True, max_norm=1.0, **settings).run
    losses = [p[1] for p in free.points]
    assert min(losses) < LN8 - 0.4, "不裁剪时损失先降下去"
    assert sum(losses[-5:]) / 5 > LN8 - 0.3 and free.test_accuracy < 0.35, "又跳回随机猜测附近"
    assert clipped.test_accuracy > 0.9 and clipped.points[-1][1] < 0.2


# How long the largest run takes is measured by benchmarks/training_explorer.py, not asserted here.


# -- live, stoppable -------------------------------------------------------------------------------------------------
def _wait_until(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "等待超时"
        time.sleep(0.02)


def test_the_widgets_grow_while_it_trains_and_stop_is_honoured():
    e = TrainingExplorer(step=train_step, cell="GRU", seq_len=60, hidden_size=48)
    progress, charts = [], []
    e.progress.observe(lambda c: progress.append(c["new"]), names="value")
    e.chart.observe(lambda c: charts.append(c["new"]), names="value")
    assert not e.stop() and e.run is None
    assert e.start() and e.running
    # While it runs: the controls are locked, 训练 is off, 停止 is on; a second start and any change are refused.
    assert all(w.disabled for w in e.controls.values()) and e.train_button.disabled and not e.stop_button.disabled
    assert not e.start()
    before = values(e)
    e.set(seq_len=10)
    assert e.error == "正在训练：先点「停止」，或者等这次训练结束，再改设置。" and values(e) == before
    _wait_until(lambda: len(progress) >= 2)   # two redraws while it trains
    assert e.running and e.run.state == "running" and 0 < progress[0] < progress[1] < 300
    assert e.stop()
    assert e.wait(30)
    run = e.run
    assert run.state == "stopped" and run.steps_done < 300 and run.test_accuracy is not None
    assert progress == sorted(set(progress)) and progress[-1] == run.steps_done == e.progress.value, progress
    assert len(charts) >= 3 and sum('data-current="1"' in c for c in charts) == len(charts)
    status = e.status.value
    assert 'data-state="stopped"' in status and f"已停止：在第 {run.steps_done} / 300 步停下" in status
    assert f'data-points="{len(run.points)}"' in e.chart.value and "已停止" in e.chart.value
    # Unlocked again; the message about the refused change is gone; the next run starts from scratch.
    assert not any(w.disabled for w in e.controls.values() if w is not e.controls["max_norm"])
    assert e.controls["max_norm"].disabled and not e.train_button.disabled and e.stop_button.disabled
    assert e.error is None and "rnnlab-error" not in e.output.value
    e.set(cell="RNN", seq_len=5, hidden_size=8, steps=20)
    assert e.start() and e.wait(30) and e.run.state == "done" and e.run.steps_done == 20


def test_the_chart_keeps_the_two_runs_before_dashed():
    e = TrainingExplorer(step=train_step, cell="RNN", seq_len=5, hidden_size=8, steps=20)
    for seed in range(4):
        e.set(seed=seed)
        assert e.start() and e.wait(30)
    html = e.chart.value
    assert len(e.runs) == 3 and [r.settings.seed for r in e.runs] == [1, 2, 3]
    curves = re.findall(r'<g class="rnnlab-curve" data-kind="loss" data-current="(\d)"[^>]*>(.*?)</g>', html)
    assert [c for c, _ in curves] == ["0", "0", "1"]
    assert 'stroke-dasharray="none"' in curves[2][1] and 'stroke-dasharray="none"' not in curves[0][1] + curves[1][1]
    assert html.count("之前：RNN") == 2 and "本次：RNN，T = 5，H = 8，Adam（lr = 0.01），不裁剪，种子 3" in html


def test_a_nan_loss_is_a_gap_in_the_curve():
    run = T.Run(T.Settings(steps=40), points=[(10, 2.0, 0.1), (20, float("nan"), 0.1), (30, 1.0, 0.5), (40, 0.5, 0.6)])
    loss = re.search(r'data-kind="loss"[^>]*>(.*?)</g>', render_chart([run])).group(1)
    assert loss.count("<polyline") == 2 and loss.count("<circle") == 1


# -- bad input: a Chinese message, never an exception ----------------------------------------------------------------
@pytest.mark.parametrize("bad, words", [
    (dict(seq_len=1000), "seq_len 应当是 2 到 60 之间的整数，收到的是 1000。（上限是为了让一次训练在 10 秒内完成。）"),
    (dict(hidden_size="abc"), "hidden_size 必须是整数，收到的是 'abc'。"),
    (dict(steps=2.5), "steps 必须是整数，收到的是 2.5。"),
    (dict(cell="Transformer"), "cell 只能是 RNN, GRU, LSTM 之一，收到的是 'Transformer'。"),
    (dict(max_norm="x"), "max_norm 必须是数，收到的是 'x'。"),
    (dict(clip="yes"), "clip 应当是 True 或 False，收到的是 'yes'。"),
    (dict(cell="RNN", init="打开门"), "RNN 没有门，没有可以打开的门：「打开门」只对 GRU 和 LSTM 有意义（6.1 节）。"),
    (dict(learning_rate=0.1), "不认识的参数：'learning_rate'。可以设置的有：cell, seq_len"),
])
def test_bad_settings_get_a_chinese_message_and_change_nothing(bad, words):
    e = TrainingExplorer(step=train_step)
    before = values(e)
    e.set(**bad)
    assert e.error.startswith(words) and values(e) == before
    assert "rnnlab-error" in e.output.value and "改正后就可以点「训练」" in e.output.value
    e.set(cell="LSTM", seq_len=12)
    assert e.error is None and e.controls["seq_len"].value == 12
    assert TrainingExplorer(step=train_step, **bad).error.startswith(words)


def test_an_rnn_with_open_gates_chosen_in_the_widgets_cannot_train_until_fixed():
    e = TrainingExplorer(step=train_step)
    e.controls["init"].value = "打开门"
    e.controls["cell"].value = "RNN"     # as the dropdowns do it: accepted, then explained
    assert e.error.startswith("RNN 没有门") and e.train_button.disabled
    assert not e.start() and e.run is None
    e.controls["cell"].value = "LSTM"
    assert e.error is None and not e.train_button.disabled and "输入门 i 的设为 −3" in e.output.value


def test_clipping_greys_out_max_norm_unless_on():
    e = TrainingExplorer(step=train_step)
    assert e.controls["max_norm"].disabled and "max_norm = inf" in e.output.value
    e.set(clip=True, max_norm=2.5)
    assert not e.controls["max_norm"].disabled and "max_norm = 2.5" in e.output.value
    assert e.settings().step_max_norm == 2.5 and T.Settings().step_max_norm == math.inf


def test_the_sliders_float_noise_does_not_reach_the_step_function():
    """The browser's slider snaps to min + k·step and sends 1.0000000000000002 back: the step gets max_norm = 1.0."""
    e = TrainingExplorer(step=train_step)
    e.set(clip=True)
    e.controls["max_norm"].value = 1.0000000000000002
    assert e.controls["max_norm"].value != 1.0  # what the browser sends is not 1.0 …
    assert e.settings().step_max_norm == 1.0 and "max_norm = 1，" in e.output.value  # … what the step gets is


@pytest.mark.parametrize("step, words", [
    (None, "还没有给出训练一步的函数：写 TrainingExplorer(step=train_step)"),
    (42, "step 应当是一个函数 step(parameters, optimizer, loss, max_norm)，收到的是 int。"),
    (lambda parameters, optimizer, loss: None, "step 函数应当能这样调用：step(parameters, optimizer, loss, max_norm)，即 4 个参数"),
])
def test_a_missing_or_wrong_step_function_is_explained(step, words):
    e = TrainingExplorer(step=step)
    assert e.error.startswith(words) and e.train_button.disabled and not e.start() and e.run is None


def _broken(kind):
    def step(parameters, optimizer, loss, max_norm):
        if kind == "raises":
            raise ValueError("boom")
        if kind == "no update":      # back-propagates and nothing else
            loss.backward()
            return
        train_step(parameters, optimizer, loss, max_norm)
        with torch.no_grad():        # "nan": the parameters blow up after the first step
            for p in parameters:
                p.fill_(float("nan"))
    return step


@pytest.mark.parametrize("kind, words, steps", [
    ("raises", "step 函数在第 1 步出错：ValueError: boom", 0),
    ("no update", "第 1 步之后参数一点也没有变：检查 step 函数是否按“清零梯度、反向传播、裁剪、更新参数”的顺序做完了这一步。", 1),
    ("nan", "第 2 步的损失是 nan，训练停止：参数里已经有了 inf 或 nan（6.2 节）。", 2),
])
def test_a_step_function_that_fails_ends_the_run_with_a_message(kind, words, steps):
    e = TrainingExplorer(step=_broken(kind), cell="RNN", seq_len=5, hidden_size=8)
    assert e.start() and e.wait(30)
    assert e.run.state == "failed" and e.run.problem == words and e.run.steps_done == steps
    assert 'data-state="failed"' in e.status.value and "rnnlab-error" in e.status.value
    assert not e.running and not e.train_button.disabled
    assert not any(w.disabled for name, w in e.controls.items() if name != "max_norm")
    render_chart(e.runs)   # draws (a NaN point is a gap)


def test_importing_the_training_explorer_does_not_import_matplotlib():
    code = "import sys, rnnlab.explorers.training; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
