"""Module explorer: every parameter and tensor shape of a recurrent module, live.

    from rnnlab.explorers.module import ModuleExplorer
    ModuleExplorer(module="LSTM", input_size=50, hidden_size=100, num_layers=2)

All numbers come from rnnlab.shapes; parameter shapes are checked against torch on the
meta device at every change, and the "用 torch 核对" button runs a full forward (rnnlab.shapes.torch_shapes:
on the CPU for small sizes, on meta for huge ones).
"""

from __future__ import annotations

from dataclasses import asdict
from html import escape

import ipywidgets as W

from rnnlab.explorers.html import code, dim_chips, message, shape_text, table
from rnnlab.explorers.view import HTMLView, parse_int
from rnnlab.shapes import MODULES, Config, Report, describe, torch_shapes

_TEXT_FIELDS = ("input_size", "hidden_size", "proj_size", "seq_len", "batch")
_CELL_DISABLES = ("num_layers", "bidirectional", "batch_first", "dropout", "proj_size", "seq_len")
# Controls only some modules take: (does `module` take it?, the value that means "not given").
# Greyed out otherwise, and what they hold then does not apply (nn.GRU(proj_size=5) and
# nn.GRU(nonlinearity="relu") are errors only when given explicitly).
_ONLY_FOR = {"proj_size": (lambda m: m == "LSTM", "0"), "nonlinearity": (lambda m: m.startswith("RNN"), "tanh")}


def origins(dims) -> str:
    """第 0 维：seq_len；第 1 维：batch …: where each dimension's size comes from."""
    return escape("；".join(f"第 {k} 维：{d.why}" for k, d in enumerate(dims)))


def render_report(report: Report) -> str:
    """The explorer's HTML for a valid configuration."""
    cfg = report.config
    rows = []
    for p in report.params:
        rows.append([code(p.name), f"<b>{shape_text(p.shape)}</b>", f"{p.numel:,}", origins(p.dims)])
    params = table(["参数名", "形状", "元素个数", "每一维的由来"], rows, "rnnlab-params")
    # The origins are text in the table too, not only the chips' hover titles: read from the
    # keyboard, by a screen reader, on a tablet and in the printed handouts alike.
    trows = [[code(t.name), dim_chips(t.dims), origins(t.dims), t.note] for t in report.tensors]
    tensors = table(["张量", "形状（每一维的含义）", "每一维的由来", "说明"], trows, "rnnlab-tensors")
    total = (f'<p class="rnnlab-total">参数总数：<b>{report.total_params:,}</b>'
             f"（{len(report.params)} 个参数张量）</p>")
    warnings = "".join(message(w, "warning") for w in report.warnings)
    call = f"nn.{cfg.module}(" + ", ".join(f"{k}={v!r}" for k, v in cfg.torch_kwargs().items()) + ")"
    return f"<div>{code(call)}</div>{warnings}<h4>参数</h4>{params}{total}<h4>输入与输出</h4>{tensors}"


class ModuleExplorer(HTMLView):
    """A VBox of controls above the shapes they produce; updates on every change."""

    recover_hint = "改正后这里会自动更新。"
    range_notes = {"num_layers": "（滑块到 8 层为止：层数再多，形状的规律也一样。）"}

    def __init__(self, **initial):
        self.report: Report | None = None
        self.torch_check: str = ""
        c = asdict(Config())
        style = {"description_width": "110px"}
        controls = {
            "module": W.Dropdown(options=MODULES, value=c["module"], description="模块", style=style),
            "input_size": W.Text(str(c["input_size"]), description="input_size", style=style, continuous_update=False),
            "hidden_size": W.Text(str(c["hidden_size"]), description="hidden_size", style=style, continuous_update=False),
            "num_layers": W.IntSlider(value=c["num_layers"], min=1, max=8, description="num_layers", style=style),
            "bidirectional": W.Checkbox(value=c["bidirectional"], description="bidirectional", indent=False),
            "batch_first": W.Checkbox(value=c["batch_first"], description="batch_first", indent=False),
            "bias": W.Checkbox(value=c["bias"], description="bias", indent=False),
            "proj_size": W.Text(str(c["proj_size"]), description="proj_size", style=style, continuous_update=False),
            "nonlinearity": W.Dropdown(options=["tanh", "relu"], value=c["nonlinearity"], description="nonlinearity",
                                       style=style),
            "dropout": W.FloatSlider(value=c["dropout"], min=0.0, max=0.9, step=0.1, description="dropout", style=style),
            "seq_len": W.Text(str(c["seq_len"]), description="seq_len 时间步", style=style, continuous_update=False),
            "batch": W.Text(str(c["batch"]), description="batch 批量", style=style, continuous_update=False),
            "batched": W.Checkbox(value=c["batched"], description="批量输入（取消：不带批量维的输入）", indent=False),
        }
        self.check_button = W.Button(description="用 torch 核对", tooltip="让 torch 真的构建模块并前向计算一次（小尺寸在 CPU 上，大尺寸在 meta 设备上）")
        self.check_button.on_click(lambda _: self.run_torch_check())
        self.check_result = W.HTML()
        output = W.HTML()
        cols = list(controls.values())
        grid = W.HBox([W.VBox(cols[:4] + [cols[7]]), W.VBox(cols[4:7] + cols[8:10]), W.VBox(cols[10:])])
        super().__init__([grid, W.HBox([self.check_button, self.check_result]), output])
        self.add_class("rnnlab-module-explorer")  # found by the browser tests
        output.add_class("rnnlab-module-output")
        self.watch(controls, output)
        self.set(**initial)  # the values as given are checked: a slider would clip them silently

    # -- reading the controls -------------------------------------------------------
    @staticmethod
    def _config_of(values: dict, given=()) -> Config:
        """The Config of the controls' `values`; a greyed-out control counts only if in `given`."""
        v = dict(values)
        for name, (takes, unset) in _ONLY_FOR.items():
            if not takes(v["module"]) and name not in given:
                v[name] = unset
        for name in _TEXT_FIELDS:
            v[name] = parse_int(v[name], name)
        return Config(**v)

    def config(self) -> Config:
        """The configuration the controls describe (may raise ConfigError)."""
        return self._config_of({k: w.value for k, w in self.controls.items()})

    def check_values(self, values: dict) -> None:
        """The configuration after `set(**values)` must be valid; a proj_size or nonlinearity
        given explicitly counts even for a module without one."""
        current = {k: w.value for k, w in self.controls.items()}
        describe(self._config_of({**current, **values}, given=values))

    # -- updating -------------------------------------------------------------------
    def render(self) -> str:
        """The HTML for the controls' configuration (raises ConfigError when it is invalid)."""
        self.report, self.torch_check = None, ""
        self.check_result.value = ""
        cfg = self.config()
        is_cell = cfg.module.endswith("Cell")
        for name in _CELL_DISABLES:
            self.controls[name].disabled = is_cell
        for name, (takes, _) in _ONLY_FOR.items():
            self.controls[name].disabled = not takes(cfg.module)
        report = describe(cfg)
        html = render_report(report) + self._param_check(report)
        self.report = report
        return html

    def show_error(self, text: str) -> None:
        self.report = None
        super().show_error(text)

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
