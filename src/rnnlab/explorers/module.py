"""Module explorer: every parameter and tensor shape of a recurrent module, live.

    from rnnlab.explorers.module import ModuleExplorer
    ModuleExplorer(module="LSTM", input_size=50, hidden_size=100, num_layers=2)

All numbers come from rnnlab.shapes; parameter shapes are checked against torch on the
meta device at every change, and the "用 torch 核对" button runs a full meta forward.
"""

from __future__ import annotations

from dataclasses import asdict

import ipywidgets as W

from rnnlab.explorers.html import code, dim_chips, message, shape_text, table
from rnnlab.shapes import MODULES, Config, ConfigError, Report, describe, torch_shapes

_TEXT_FIELDS = ("input_size", "hidden_size", "proj_size", "seq_len", "batch")
_CELL_DISABLES = ("num_layers", "bidirectional", "batch_first", "dropout", "proj_size", "seq_len")


def _parse_int_text(text: str, name: str) -> int:
    """A size typed into a text box: an integer, or a Chinese message saying why not."""
    s = str(text).strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        f = float(s)
    except ValueError:
        raise ConfigError(f"{name} 必须是整数，收到的是 {s!r}。") from None
    raise ConfigError(f"{name} 必须是整数，收到的是 {f:g}。")


def render_report(report: Report) -> str:
    """The explorer's HTML for a valid configuration."""
    cfg = report.config
    rows = []
    for p in report.params:
        why = "；".join(f"第 {k} 维：{d.why}" for k, d in enumerate(p.dims))
        rows.append([code(p.name), f"<b>{shape_text(p.shape)}</b>", f"{p.numel:,}", why])
    params = table(["参数名", "形状", "元素个数", "每一维的由来"], rows, "rnnlab-params")
    trows = [[code(t.name), dim_chips(t.dims), t.note] for t in report.tensors]
    tensors = table(["张量", "形状（每一维的含义）", "说明"], trows, "rnnlab-tensors")
    total = (f'<p class="rnnlab-total">参数总数：<b>{report.total_params:,}</b>'
             f"（{len(report.params)} 个参数张量）</p>")
    warnings = "".join(message(w, "warning") for w in report.warnings)
    call = f"nn.{cfg.module}(" + ", ".join(f"{k}={v!r}" for k, v in cfg.torch_kwargs().items()) + ")"
    return f"<div>{code(call)}</div>{warnings}<h4>参数</h4>{params}{total}<h4>输入与输出</h4>{tensors}"


class ModuleExplorer(W.VBox):
    """A VBox of controls above the shapes they produce; updates on every change."""

    def __init__(self, **initial):
        base = Config()
        unknown = set(initial) - set(asdict(base))
        self.error: str | None = None
        self.report: Report | None = None
        self.torch_check: str = ""
        c = {**asdict(base), **{k: v for k, v in initial.items() if k not in unknown}}
        style = {"description_width": "110px"}
        self.controls = {
            "module": W.Dropdown(options=MODULES, value=c["module"] if c["module"] in MODULES else "LSTM",
                                 description="模块", style=style),
            "input_size": W.Text(str(c["input_size"]), description="input_size", style=style, continuous_update=False),
            "hidden_size": W.Text(str(c["hidden_size"]), description="hidden_size", style=style, continuous_update=False),
            "num_layers": W.IntSlider(value=_clip(c["num_layers"], 1, 8), min=1, max=8, description="num_layers", style=style),
            "bidirectional": W.Checkbox(value=bool(c["bidirectional"]), description="bidirectional", indent=False),
            "batch_first": W.Checkbox(value=bool(c["batch_first"]), description="batch_first", indent=False),
            "bias": W.Checkbox(value=bool(c["bias"]), description="bias", indent=False),
            "proj_size": W.Text(str(c["proj_size"]), description="proj_size", style=style, continuous_update=False),
            "nonlinearity": W.Dropdown(options=["tanh", "relu"], value=c["nonlinearity"] if c["nonlinearity"] in ("tanh", "relu") else "tanh",
                                       description="nonlinearity", style=style),
            "dropout": W.FloatSlider(value=_clip(c["dropout"], 0.0, 0.9), min=0.0, max=0.9, step=0.1,
                                     description="dropout", style=style),
            "seq_len": W.Text(str(c["seq_len"]), description="seq_len 时间步", style=style, continuous_update=False),
            "batch": W.Text(str(c["batch"]), description="batch 批量", style=style, continuous_update=False),
            "batched": W.Checkbox(value=bool(c["batched"]), description="批量输入（取消：不带批量维的输入）", indent=False),
        }
        self.output = W.HTML()
        self.check_button = W.Button(description="用 torch 核对", tooltip="在 meta 设备上真的构建模块并前向计算一次")
        self.check_button.on_click(lambda _: self.run_torch_check())
        self.check_result = W.HTML()
        for w in self.controls.values():
            w.observe(lambda _change: self.update(), names="value")
        cols = list(self.controls.values())
        grid = W.HBox([W.VBox(cols[:4] + [cols[7]]), W.VBox(cols[4:7] + cols[8:10]), W.VBox(cols[10:])])
        super().__init__([grid, W.HBox([self.check_button, self.check_result]), self.output])
        self.add_class("rnnlab-module-explorer")  # found by the browser tests
        self.output.add_class("rnnlab-module-output")
        self.update()
        # The sliders clip what they are given: check the values as typed, and say so.
        if unknown:
            self._show_error(f"不认识的参数：{sorted(unknown)}。")
        else:
            try:
                typed = {k: (_parse_int_text(v, k) if k in _TEXT_FIELDS and isinstance(v, str) else v)
                         for k, v in c.items()}
                describe(Config(**typed))
            except ConfigError as e:
                self._show_error(str(e))

    # -- reading the controls -------------------------------------------------------
    def config(self) -> Config:
        """The configuration the controls describe (may raise ConfigError)."""
        v = {k: w.value for k, w in self.controls.items()}
        if v["module"] != "LSTM":
            v["proj_size"] = "0"  # the box is greyed out for other modules: what it holds does not apply
        for name in _TEXT_FIELDS:
            v[name] = _parse_int_text(v[name], name)
        return Config(**v)

    def set(self, **values) -> None:
        """Set controls programmatically (tests, notebooks); one update at the end."""
        with self.hold_trait_notifications():
            for k, val in values.items():
                if k not in self.controls:
                    self._show_error(f"不认识的参数：{k!r}。")
                    return
                w = self.controls[k]
                w.value = str(val) if isinstance(w, W.Text) else val
        self.update()

    # -- updating -------------------------------------------------------------------
    def update(self) -> None:
        """Recompute and redraw. Never raises: a bad value becomes a Chinese message."""
        self.torch_check = ""
        self.check_result.value = ""
        try:
            cfg = self.config()
            is_cell = cfg.module.endswith("Cell")
            for name in _CELL_DISABLES:
                self.controls[name].disabled = is_cell
            self.controls["nonlinearity"].disabled = not cfg.module.startswith("RNN")
            self.controls["proj_size"].disabled = cfg.module != "LSTM"
            report = describe(cfg)
        except ConfigError as e:
            self._show_error(str(e))
            return
        except Exception as e:  # a bug of ours must still not reach the notebook as a traceback
            self._show_error(f"内部错误：{type(e).__name__}: {e}")
            return
        self.error, self.report = None, report
        self.output.value = render_report(report) + self._param_check(report)

    def _param_check(self, report: Report) -> str:
        """Parameter shapes asked of torch (meta device, ~ms even for huge modules)."""
        import warnings

        import torch.nn as nn

        cfg = report.config
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = getattr(nn, cfg.module)(**cfg.torch_kwargs(), device="meta")
        got = {n: tuple(p.shape) for n, p in module.named_parameters()}
        if got == report.param_dict():
            return message("参数形状已与 torch（meta 设备）逐一核对：一致。", "ok")
        return message("参数形状与 torch 不一致：这是本工具的错误，请报告给课程。", "error")

    def run_torch_check(self) -> str:
        """Full check: build on meta and run one forward; compare every shape shown."""
        ok = False
        if self.report is None:
            self.torch_check = "当前配置无效，先修正上面的错误。"
        else:
            try:
                params, tensors = torch_shapes(self.report.config)
            except Exception as e:
                self.torch_check = f"torch 报错：{type(e).__name__}: {e}"
            else:
                ok = params == self.report.param_dict() and tensors == self.report.tensor_dict()
                self.torch_check = ("torch 的前向计算给出的形状与上表完全一致。" if ok
                                    else "torch 给出的形状与上表不一致：这是本工具的错误，请报告给课程。")
        self.check_result.value = message(self.torch_check, "ok" if ok else "error")
        return self.torch_check

    def _show_error(self, text: str) -> None:
        self.error, self.report = text, None
        self.output.value = message(text, "error") + message("改正后这里会自动更新。", "warning")


def _clip(value, lo, hi):
    try:
        return min(max(type(lo)(value), lo), hi)
    except (TypeError, ValueError):
        return lo
