"""Training explorer (chapter 6): train the tiny model of section 6.1 on "recall the first token" and watch the
loss and accuracy curves grow while it trains.

    from rnnlab.explorers.training import TrainingExplorer
    TrainingExplorer(step=train_step)

The controls pick the recurrent layer (RNN, GRU, LSTM), T, hidden_size, the initialisation (PyTorch's default,
the open gates of section 6.1, or weight_hh × 4 of section 6.2), the optimizer (Adam with lr 0.01 as in 6.1, or
SGD with lr 1 as in 6.2), clipping and its max_norm, the number of steps and the seed. 「训练」 starts a run in a
background thread, so the kernel stays free to handle 「停止」 and the widgets are updated while it trains.

The explorer builds the model, the data and the optimizer and computes the loss; ONE training step on that loss is
the caller's function ``step(parameters, optimizer, loss, max_norm)`` (the lecture writes it in its own cell):
this package is installed for students and never back-propagates, clips or steps an optimizer itself.
``max_norm`` is ``math.inf`` when clipping is off (then clipping never changes anything).

Everything is seeded as in the lecture's ``train(cell, seq_len, seed)``: the same settings give the same curve,
and the default settings give the lecture's own run. The sizes are capped so that a run takes a few seconds on two
cores (at most 10 s).
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from dataclasses import dataclass, field
from html import escape

import ipywidgets as W
import torch
import torch.nn.functional as F

from rnnlab.explorers.html import code, message
from rnnlab.explorers.view import HTMLView
from rnnlab.palette import GATE, ROLE
from rnnlab.shapes import ConfigError
from rnnlab.tasks import FinalStateClassifier, recall_first

CELLS = ("RNN", "GRU", "LSTM")
INITS = ("默认", "打开门", "weight_hh × 4")
OPTIMIZERS = {"Adam": 0.01, "SGD": 1.0}        # optimizer -> learning rate (sections 6.1 and 6.2)
K, EMBED, BATCH = 8, 8, 64                      # classes (= tokens), embedding size, batch size: as in 6.1
TEST_SIZE, TEST_SEED = 1000, 2024               # the held-out set of 6.1
EVERY = 10                                      # steps per point of the curves
MAX_SEQ_LEN, MAX_HIDDEN, MAX_STEPS = 60, 48, 300
REDRAW_SECONDS = 0.25                           # at most about four redraws a second while training
KEEP_RUNS = 3                                   # runs drawn together: this one and the two before
CELL_COLOUR = {"RNN": GATE["h"], "GRU": GATE["z"], "LSTM": GATE["f"]}   # as rnnlab.figures.training draws them
_LIMIT = "（上限是为了让一次训练在 10 秒内完成。）"
_STEP_SIGNATURE = "step(parameters, optimizer, loss, max_norm)"


@dataclass(frozen=True)
class Settings:
    """One run's settings, as the controls hold them."""

    cell: str = "GRU"
    seq_len: int = 50
    hidden_size: int = 32
    init: str = "默认"
    optimizer: str = "Adam"
    clip: bool = False
    max_norm: float = 1.0
    steps: int = 300
    seed: int = 0

    @property
    def lr(self) -> float:
        return OPTIMIZERS[self.optimizer]

    @property
    def step_max_norm(self) -> float:
        """What the step function gets: the max_norm, or inf when clipping is off."""
        return self.max_norm if self.clip else math.inf

    def label(self) -> str:
        init = "" if self.init == "默认" else f"，{self.init}"
        clip = f"裁剪到 {self.max_norm:g}" if self.clip else "不裁剪"
        return (f"{self.cell}，T = {self.seq_len}，H = {self.hidden_size}{init}，"
                f"{self.optimizer}（lr = {self.lr:g}），{clip}，种子 {self.seed}")


@dataclass
class Run:
    """What one run recorded: per step the loss and the number right (before the update, on a new batch);
    per EVERY steps a point of the curves (mean loss, accuracy)."""

    settings: Settings
    losses: list = field(default_factory=list)
    correct: list = field(default_factory=list)
    points: list = field(default_factory=list)      # (step, mean loss, accuracy)
    state: str = "running"                          # running, done, stopped, failed
    problem: str | None = None                      # why it failed (Chinese)
    test_accuracy: float | None = None
    seconds: float = 0.0                            # wall-clock time of the training
    cpu_seconds: float = 0.0                        # CPU time of the training thread

    @property
    def steps_done(self) -> int:
        return len(self.losses)


def open_gates(rnn, keep: float = 5.0, write: float = -3.0) -> None:
    """Section 6.1's initialisation: the keep gate (GRU z, LSTM f; block 1) sums its two biases to `keep`, LSTM's
    input gate i (block 0) to `write`."""
    G = rnn.weight_ih_l0.shape[0] // rnn.hidden_size
    targets = {1: keep} if G == 3 else {1: keep, 0: write}
    with torch.no_grad():
        for block, value in targets.items():
            rnn.bias_ih_l0.chunk(G)[block].fill_(value)
            rnn.bias_hh_l0.chunk(G)[block].zero_()


def scale_weight_hh(rnn, factor: float = 4.0) -> None:
    """Section 6.2's exploding case: weight_hh_l0 multiplied by `factor`."""
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(factor)


def build(s: Settings):
    """Model, optimizer, training-data generator and test set of a run, seeded as the lecture's `train`.

    The model's initial values come from `torch.manual_seed(seed)` inside `fork_rng`, so the notebook's own
    random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        model = FinalStateClassifier(s.cell, K, EMBED, s.hidden_size, K)
    if s.init == "打开门":
        open_gates(model.rnn)
    elif s.init == "weight_hh × 4":
        scale_weight_hh(model.rnn)
    optimizer = getattr(torch.optim, s.optimizer)(model.parameters(), lr=s.lr)
    data = torch.Generator().manual_seed(s.seed + 1)
    test = recall_first(TEST_SIZE, s.seq_len, K, generator=torch.Generator().manual_seed(TEST_SEED))
    return model, optimizer, data, test


def check_step(step) -> None:
    """ConfigError (Chinese) unless `step` can be called as step(parameters, optimizer, loss, max_norm)."""
    if step is None:
        raise ConfigError(f"还没有给出训练一步的函数：写 TrainingExplorer(step=train_step)，其中 "
                          f"train_step 是形如 {_STEP_SIGNATURE} 的函数，它对 loss 做一步训练"
                          "（清零梯度、反向传播、裁剪、更新参数）。")
    if not callable(step):
        raise ConfigError(f"step 应当是一个函数 {_STEP_SIGNATURE}，收到的是 {type(step).__name__}。")
    try:
        signature = inspect.signature(step)
    except (TypeError, ValueError):  # a builtin without a signature: it will be called and any error reported
        return
    try:
        signature.bind(None, None, None, None)
    except TypeError:
        name = getattr(step, "__name__", type(step).__name__)
        raise ConfigError(f"step 函数应当能这样调用：{_STEP_SIGNATURE}，即 4 个参数；"
                          f"收到的函数是 {name}{signature}。") from None


# ---------------------------------------------------------------------------------------------- the chart (SVG)
PANEL_W, PANEL_H = 370, 230
YMAX = 8.0                                      # the loss axis goes at most this high
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 26, 38


def _nice_step(span: float, most: int = 7) -> float:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if span / step <= most:
            return step
    return span


def _segments(points):
    """Runs of consecutive finite points (a NaN or inf loss is a gap, as the course's figures draw it)."""
    out, current = [], []
    for x, y in points:
        if math.isfinite(y):
            current.append((x, y))
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def _panel(title: str, ymax: float, yticks, series, guess: float, guess_label: str, xmax: int, kind: str) -> str:
    """One panel: axes, grid, the level of guessing and a polyline per run."""
    w, h = PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM

    def X(v):
        return LEFT + w * v / xmax

    def Y(v):
        return TOP + h * (1 - min(max(v, 0.0), ymax) / ymax)

    parts = [f'<text x="{LEFT}" y="16" font-size="12" fill="{ROLE["edge"]}">{escape(title)}</text>']
    for t in yticks:
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + w}" y1="{Y(t):.1f}" y2="{Y(t):.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{LEFT - 5}" y="{Y(t) + 4:.1f}" font-size="10" text-anchor="end" '
                     f'fill="{ROLE["note"]}">{t:g}</text>')
    xstep = _nice_step(xmax)
    x = 0
    while x <= xmax:
        parts.append(f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{TOP + h}" y2="{TOP + h + 4}" '
                     f'stroke="{ROLE["note"]}"/>'
                     f'<text x="{X(x):.1f}" y="{TOP + h + 15}" font-size="10" text-anchor="middle" '
                     f'fill="{ROLE["note"]}">{x:g}</text>')
        x += xstep
    parts.append(f'<text x="{LEFT + w / 2}" y="{PANEL_H - 4}" font-size="11" text-anchor="middle" '
                 f'fill="{ROLE["edge"]}">训练步数</text>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="{ROLE["rule"]}"/>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT + w}" y1="{Y(guess):.1f}" y2="{Y(guess):.1f}" stroke="{ROLE["note"]}" '
                 f'stroke-dasharray="3 3"/><text x="{LEFT + w - 3}" y="{Y(guess) - 4:.1f}" font-size="10" '
                 f'text-anchor="end" fill="{ROLE["note"]}">{escape(guess_label)}</text>')
    for points, colour, dash, width, current in series:
        lines = ""
        for seg in _segments(points):
            xy = " ".join(f"{X(px):.1f},{Y(py):.1f}" for px, py in seg)
            lines += (f'<polyline fill="none" stroke="{colour}" stroke-width="{width}" stroke-dasharray="{dash}" '
                      f'stroke-linejoin="round" points="{xy}"/>')
            if len(seg) == 1:   # a lone point between two gaps
                lines += f'<circle cx="{X(seg[0][0]):.1f}" cy="{Y(seg[0][1]):.1f}" r="2" fill="{colour}"/>'
        parts.append(f'<g class="rnnlab-curve" data-kind="{kind}" data-current="{int(current)}" '
                     f'data-points="{len(points)}">{lines}</g>')
    return (f'<svg width="{PANEL_W}" height="{PANEL_H}" viewBox="0 0 {PANEL_W} {PANEL_H}" '
            f'style="font-family:inherit">{"".join(parts)}</svg>')


def render_chart(runs: list[Run]) -> str:
    """Loss (left) and accuracy (right) against the step for `runs`, the last one current (solid, thick)."""
    if not runs:
        return ('<div class="rnnlab-training-chart"><p style="color:%s">点「训练」开始；曲线会边训练边画出来。</p></div>'
                % ROLE["note"])
    xmax = max(r.settings.steps for r in runs)
    finite = [p[1] for r in runs for p in r.points if math.isfinite(p[1])]
    # Room for the level of guessing; a spike above YMAX is drawn at the top edge rather than squash the rest.
    ymax = math.ceil(min(max([math.log(K) * 1.2] + finite), YMAX) * 2) / 2
    ystep = 0.5 if ymax <= 4 else _nice_step(ymax, 6)
    yticks = [i * ystep for i in range(int(ymax / ystep + 1e-9) + 1)]
    loss_series, acc_series, legend = [], [], []
    for i, run in enumerate(runs):
        current = i == len(runs) - 1
        colour = CELL_COLOUR[run.settings.cell]
        dash = "none" if current else ("6 4" if i == len(runs) - 2 else "2 3")
        width = 2.2 if current else 1.4
        loss_series.append(([(s, loss) for s, loss, _ in run.points], colour, dash, width, current))
        acc_series.append(([(s, a) for s, _, a in run.points], colour, dash, width, current))
        outcome = {"running": "训练中", "stopped": "已停止", "failed": "出错停止"}.get(run.state, "")
        if run.test_accuracy is not None:
            outcome += ("，" if outcome else "") + f"测试准确率 {run.test_accuracy:.3f}"
        sample = (f'<svg width="28" height="10"><line x1="0" x2="28" y1="5" y2="5" stroke="{colour}" '
                  f'stroke-width="{width}" stroke-dasharray="{dash}"/></svg>')
        text = escape(f"{'本次' if current else '之前'}：{run.settings.label()}" + (f"（{outcome}）" if outcome else ""))
        legend.append(f'<div style="font-size:12px{";font-weight:bold" if current else ""}">{sample} {text}</div>')
    guess = math.log(K)
    loss = _panel("损失（交叉熵）", ymax, yticks, loss_series, guess, f"随机猜测 ln {K} ≈ {guess:.2f}", xmax, "loss")
    acc = _panel("准确率（每批更新之前，在新数据上）", 1.0, (0, 0.25, 0.5, 0.75, 1.0), acc_series, 1 / K,
                 f"随机猜测 1/{K}", xmax, "accuracy")
    return (f'<div class="rnnlab-training-chart"><div style="display:flex;gap:12px;flex-wrap:wrap">{loss}{acc}</div>'
            f'{"".join(legend)}</div>')


# ---------------------------------------------------------------------------------------------- the explorer
class TrainingExplorer(HTMLView):
    """Controls, 「训练」 and 「停止」, a progress bar, and the curves drawn while the model trains.

    In code: `set(...)` changes settings, `start()` starts a run (False if it cannot), `stop()` asks it to stop
    after the current step, `wait()` waits for it to end; `run` is the current or last run."""

    recover_hint = "改正后就可以点「训练」。"
    range_notes = {"seq_len": _LIMIT, "hidden_size": _LIMIT, "steps": _LIMIT}

    def __init__(self, step=None, **initial):
        self.train_step = step
        self.run: Run | None = None
        self.runs: list[Run] = []             # finished runs, oldest first (the chart draws the last ones)
        self._thread: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._running = False
        self._started = self._last_draw = 0.0
        d = Settings()
        style = {"description_width": "90px"}
        controls = {
            "cell": W.Dropdown(options=CELLS, value=d.cell, description="循环层", style=style),
            "seq_len": W.IntSlider(value=d.seq_len, min=2, max=MAX_SEQ_LEN, description="T（时间步）", style=style),
            "hidden_size": W.IntSlider(value=d.hidden_size, min=4, max=MAX_HIDDEN, description="hidden_size",
                                       style=style),
            "init": W.Dropdown(options=INITS, value=d.init, description="初始化", style=style),
            "optimizer": W.Dropdown(options=[("Adam，lr = 0.01", "Adam"), ("SGD，lr = 1", "SGD")], value=d.optimizer,
                                    description="优化器", style=style),
            "seed": W.IntSlider(value=d.seed, min=0, max=99, description="随机种子", style=style),
            "clip": W.Checkbox(value=d.clip, description="梯度裁剪", indent=False),
            "max_norm": W.FloatSlider(value=d.max_norm, min=0.1, max=10.0, step=0.1, description="max_norm",
                                      style=style),
            "steps": W.IntSlider(value=d.steps, min=10, max=MAX_STEPS, step=10, description="训练步数", style=style),
        }
        self.train_button = W.Button(description="训练", button_style="primary", tooltip="用上面的设置从头训练一次")
        self.stop_button = W.Button(description="停止", disabled=True, tooltip="做完当前这一步就停下")
        self.train_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.progress = W.IntProgress(value=0, min=0, max=d.steps, description="进度", style=style)
        self.status = W.HTML()
        self.chart = W.HTML(render_chart([]))
        output = W.HTML()
        c = controls
        super().__init__([
            W.HBox([c["cell"], c["seq_len"], c["hidden_size"]]),
            W.HBox([c["init"], c["optimizer"], c["seed"]]),
            W.HBox([c["clip"], c["max_norm"], c["steps"]]),
            W.HBox([self.train_button, self.stop_button, self.progress]),
            self.status, output, self.chart,
        ])
        self.add_class("rnnlab-training-explorer")
        output.add_class("rnnlab-training-output")
        self.watch(controls, output)
        self.set(**initial)

    # -- settings -------------------------------------------------------------------------------------------------
    def settings(self, values: dict | None = None) -> Settings:
        """The settings the controls (or `values` over them) describe; ConfigError if they do not go together."""
        v = {k: w.value for k, w in self.controls.items()}
        v.update(values or {})
        if isinstance(v.get("max_norm"), float):
            # The slider's browser side snaps to min + k·step in floating point: 1.0 comes back as 1.0000000000000002.
            v["max_norm"] = round(v["max_norm"], 6)
        s = Settings(**v)
        if s.init == "打开门" and s.cell == "RNN":
            raise ConfigError("RNN 没有门，没有可以打开的门：「打开门」只对 GRU 和 LSTM 有意义（6.1 节）。"
                              "请换成 GRU 或 LSTM，或者把初始化改回「默认」。")
        return s

    def check_values(self, values: dict) -> None:
        if self._running:
            raise ConfigError("正在训练：先点「停止」，或者等这次训练结束，再改设置。")
        self.settings(values)

    @property
    def running(self) -> bool:
        return self._running

    # -- rendering --------------------------------------------------------------------------------------------------
    def render(self) -> str:
        check_step(self.train_step)
        s = self.settings()
        H, T = s.hidden_size, s.seq_len
        init = {
            "默认": "参数用 PyTorch 的默认初始化。",
            "打开门": ("初始化后打开门（6.1 节）：" + ("更新门 z 的两个偏置之和设为 5。" if s.cell == "GRU"
                                              else "遗忘门 f 的两个偏置之和设为 5，输入门 i 的设为 −3。")),
            "weight_hh × 4": f"初始化后把 {code('weight_hh_l0')} 乘以 4（6.2 节的梯度爆炸）。",
        }[s.init]
        clip = (f"裁剪：交给 step 的 max_norm = {s.max_norm:g}，梯度的总范数超过它时按比例缩小到它。" if s.clip
                else "不裁剪：交给 step 的 max_norm = inf，梯度不会被改变。")
        return (f"<div>模型：嵌入（{EMBED} 维）→ {code(f'nn.{s.cell}({EMBED}, {H}, batch_first=True)')} → "
                f"全连接层读 {code('h_n[-1]')}，{K} 类。任务：记住第一个词元，T = {T}（答案在最后一步之前 {T - 1} 步），"
                f"每一步一个新批量（{BATCH} 条）。{init}"
                f"优化器 {code(f'torch.optim.{s.optimizer}(lr={s.lr:g})')}；{clip}"
                f"共 {s.steps} 步，每 {EVERY} 步画一个点；训练结束后在 {TEST_SIZE} 条新序列上量一次准确率。</div>")

    def update(self) -> None:
        super().update()
        if not self._running:
            self.train_button.disabled = self.error is not None
            self.controls["max_norm"].disabled = not self.controls["clip"].value

    # -- training ---------------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start a run in a background thread; False (and a message) if it cannot start."""
        if self._running:
            return False
        self.update()
        if self.error is not None:
            return False
        s = self.settings()
        try:
            model, optimizer, data, test = build(s)
        except Exception as e:  # pragma: no cover - a bug of ours, shown and not raised
            self.show_error(f"内部错误：{type(e).__name__}: {e}")
            return False
        self.run = Run(s)
        self._stop_requested.clear()
        self._running = True
        for w in self.controls.values():
            w.disabled = True
        self.train_button.disabled, self.stop_button.disabled = True, False
        self.progress.max, self.progress.value = s.steps, 0
        self._started = time.perf_counter()
        self._draw(self.run)
        self._thread = threading.Thread(target=self._train, args=(self.run, model, optimizer, data, test),
                                        name="rnnlab-training", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> bool:
        """Ask the run to stop after its current step; False if nothing is running."""
        if not self._running:
            return False
        self._stop_requested.set()
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self._running

    def _train(self, run: Run, model, optimizer, data, test) -> None:
        """The training loop, in the background thread. Never raises: a problem ends the run with a message."""
        s = run.settings
        threads = torch.get_num_threads()
        torch.set_num_threads(1)   # a small model is fastest on one thread, and its sums come out the same every run
        start, cpu_start = time.perf_counter(), time.thread_time()
        parameters = list(model.parameters())
        try:
            loss_sum, right, seen, window = 0.0, 0, 0, 0
            for k in range(1, s.steps + 1):
                if self._stop_requested.is_set():
                    run.state = "stopped"
                    break
                x, y = recall_first(BATCH, s.seq_len, K, generator=data)
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                value = loss.item()
                n_right = int((logits.argmax(dim=1) == y).sum())
                finite = math.isfinite(value)
                if finite:
                    if k == 1:
                        with torch.no_grad():
                            before = [p.clone() for p in parameters]
                    try:
                        self.train_step(parameters, optimizer, loss, s.step_max_norm)
                    except Exception as e:
                        run.state, run.problem = "failed", f"step 函数在第 {k} 步出错：{type(e).__name__}: {e}"
                        break
                run.losses.append(value)
                run.correct.append(n_right)
                loss_sum, right, seen, window = loss_sum + value, right + n_right, seen + len(y), window + 1
                if k % EVERY == 0 or k == s.steps or not finite:
                    run.points.append((k, loss_sum / window, right / seen))
                    loss_sum, right, seen, window = 0.0, 0, 0, 0
                if not finite:   # nothing more to learn: every gradient would be nan too
                    run.state = "failed"
                    run.problem = f"第 {k} 步的损失是 {value}，训练停止：参数里已经有了 inf 或 nan（6.2 节）。"
                    break
                if k == 1 and all(torch.equal(b, p) for b, p in zip(before, parameters)):
                    run.state = "failed"
                    run.problem = ("第 1 步之后参数一点也没有变：检查 step 函数是否按“清零梯度、反向传播、裁剪、更新参数”"
                                   "的顺序做完了这一步。")
                    break
                if time.perf_counter() - self._last_draw > REDRAW_SECONDS:
                    self._draw(run)
            else:
                run.state = "done"
            if run.state != "failed":
                with torch.no_grad():
                    run.test_accuracy = (model(test[0]).argmax(dim=1) == test[1]).float().mean().item()
        except Exception as e:  # a bug of ours must not become a traceback in the notebook
            run.state, run.problem = "failed", f"内部错误：{type(e).__name__}: {e}"
        finally:
            run.seconds = time.perf_counter() - start
            run.cpu_seconds = time.thread_time() - cpu_start
            torch.set_num_threads(threads)
            try:
                self._finish(run)
            except Exception as e:  # pragma: no cover - a bug of ours: said in the status, never a traceback
                self._running = False
                self.status.value = message(f"内部错误：{type(e).__name__}: {e}")

    def _finish(self, run: Run) -> None:
        """Unlock the controls, then show the result: once the status says the run ended, 训练 works again."""
        self.runs = (self.runs + [run])[-KEEP_RUNS:]
        self._running = False
        for w in self.controls.values():
            w.disabled = False
        self.stop_button.disabled = True
        self.update()
        self._draw(run)

    # -- drawing ----------------------------------------------------------------------------------------------------
    def _status(self, run: Run) -> str:
        s, k = run.settings, run.steps_done
        if run.state == "running":
            text, kind = f"训练中：第 {k} / {s.steps} 步（{time.perf_counter() - self._started:.1f} 秒）", None
        elif run.state == "done":
            text, kind = f"训练完成：{k} 步，用时 {run.seconds:.1f} 秒。", "ok"
        elif run.state == "stopped":
            text, kind = f"已停止：在第 {k} / {s.steps} 步停下，用时 {run.seconds:.1f} 秒。", "warning"
        else:
            text, kind = run.problem or "出错停止。", "error"
        if run.test_accuracy is not None:
            text += f"测试准确率 {run.test_accuracy:.3f}（随机猜测 {1 / K:.3f}）。"
        body = message(text, kind) if kind else f'<span style="color:{ROLE["note"]}">{escape(text)}</span>'
        return (f'<div class="rnnlab-train-status" data-state="{run.state}" data-step="{k}" data-total="{s.steps}">'
                f"{body}</div>")

    def _draw(self, run: Run) -> None:
        self._last_draw = time.perf_counter()
        shown = self.runs[-KEEP_RUNS:] if run in self.runs else self.runs[-(KEEP_RUNS - 1):] + [run]
        self.progress.value = run.steps_done
        self.status.value = self._status(run)
        self.chart.value = render_chart(shown)
