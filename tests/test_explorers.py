"""Explorers (kernel side): shown shapes equal torch's, bad input becomes a Chinese message
inside the widget and never an exception, and the explorer recovers once the input is fixed.
What an explorer shows for a fixed set of configurations is compared, byte for byte, with
the snapshots in tests/golden/ (RNNLAB_UPDATE_GOLDEN=1 rewrites them, and says so)."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest
import torch
from torch import nn

from rnnlab.explorers.bidirectional import BidirectionalMap, truths
from rnnlab.explorers.gates import GateBlocks, gate_rows, render_blocks
from rnnlab.explorers.module import ModuleExplorer
from rnnlab.shapes import torch_shapes


def shown_params(explorer) -> dict[str, tuple]:
    """Parameter table as displayed: name -> shape parsed back from the HTML."""
    html = explorer.output.value
    table = html.split('class="rnnlab-params"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td[^>]*><code>([^<]+)</code></td><td[^>]*><b>\(([^)]*)\)</b>", table)
    return {name: tuple(int(x) for x in dims.split(",") if x.strip()) for name, dims in rows}


def shown_tensors(explorer) -> dict[str, tuple]:
    html = explorer.output.value
    table = html.split('class="rnnlab-tensors"')[1].split("</table>")[0]
    out = {}
    for row in table.split("<tr>")[2:]:
        name = unescape(re.search(r"<code>([^<]+)</code>", row).group(1))
        out[name] = tuple(int(b) for b in re.findall(r'class="rnnlab-dim"[^>]*><b>(\d+)</b>', row))
    return out


@pytest.mark.parametrize("settings", [
    dict(module="LSTM", input_size="50", hidden_size="100", num_layers=2),
    dict(module="GRU", input_size="10", hidden_size="20", bidirectional=True, batch_first=True, batch="32", seq_len="3"),
    dict(module="RNN", input_size="100", hidden_size="15", num_layers=2, bidirectional=True, nonlinearity="relu"),
    dict(module="LSTM", input_size="7", hidden_size="11", proj_size="5", num_layers=3, bidirectional=True, batched=False),
    dict(module="LSTMCell", input_size="10", hidden_size="20", bias=False),
    dict(module="RNNCell", input_size="100", hidden_size="200", batched=False),
])
def test_displayed_shapes_equal_torch(settings):
    e = ModuleExplorer()
    e.set(**settings)
    assert e.error is None, e.error
    params, tensors = torch_shapes(e.config())
    assert shown_params(e) == params
    assert shown_tensors(e) == tensors
    assert "与 torch（meta 设备）逐一核对：一致" in e.output.value
    assert "完全一致" in e.run_torch_check()


def test_batch_first_moves_batch_in_output_but_not_in_h_n():
    e = ModuleExplorer(module="GRU", input_size=10, hidden_size=20, seq_len=3, batch=32)
    def labels(name):
        row = [r for r in e.output.value.split('class="rnnlab-tensors"')[1].split("<tr>") if f"<code>{name}</code>" in r][0]
        return re.findall(r'data-label="([^"]+)"', row)
    before = {n: labels(n) for n in ("input", "output", "h_n")}
    e.set(batch_first=True)
    after = {n: labels(n) for n in ("input", "output", "h_n")}
    assert before["output"] == ["时间步", "批量", "特征"] and after["output"] == ["批量", "时间步", "特征"]
    assert after["input"][0] == "批量"
    assert before["h_n"] == after["h_n"] == ["层数×方向数", "批量", "隐藏单元"]


def test_state_chips_say_layers_times_directions_and_hidden_units_or_projection():
    e = ModuleExplorer(module="LSTM", input_size=7, hidden_size=11, proj_size=5, num_layers=2)
    chips = {n: re.findall(r'data-label="([^"]+)"[^>]*><b>(\d+)</b>', row)
             for n, row in zip(("h_n", "c_n"), e.output.value.split("<code>h_n</code>")[1].split("<code>c_n</code>"))}
    assert chips["h_n"] == [("层数×方向数", "2"), ("批量", "3"), ("投影维", "5")]
    assert chips["c_n"] == [("层数×方向数", "2"), ("批量", "3"), ("隐藏单元", "11")]


def test_each_dimensions_origin_is_text_in_its_row_not_only_a_hover_title():
    """A keyboard or screen-reader user, a tablet and the printed handout see no `title` tooltip."""
    e = ModuleExplorer(module="LSTM", input_size=7, hidden_size=11, num_layers=3, bidirectional=True)
    rows = re.findall(r"<tr><td[^>]*><code>(\w+)</code></td>(.*?)</tr>", e.output.value.split("rnnlab-tensors")[1])
    assert [name for name, _ in rows] == ["input", "output", "h_n", "c_n"]
    for name, row in rows:
        titles = [unescape(t) for t in re.findall(r'class="rnnlab-dim"[^>]*title="([^"]*)"', row)]
        visible = unescape(re.sub(r"<[^>]+>", "", row.split("</span>)")[-1]))
        assert titles and visible.startswith("；".join(f"第 {k} 维：{t}" for k, t in enumerate(titles))), (name, visible)
    assert "第 0 维：num_layers 3 × 方向数 2" in unescape(rows[2][1])


@pytest.mark.parametrize("module", ["GRU", "GRUCell", "LSTM", "LSTMCell"])
def test_nonlinearity_is_refused_where_torch_refuses_it(module):
    e = ModuleExplorer(module=module, nonlinearity="relu")
    assert e.error.startswith(f"nonlinearity 只有 nn.RNN 和 nn.RNNCell 有：nn.{module} 没有这个参数") and e.report is None
    e.set(module="RNN", nonlinearity="relu")
    assert e.error is None and "nonlinearity='relu'" in unescape(e.output.value)


def test_a_greyed_out_nonlinearity_does_not_block_other_modules():
    e = ModuleExplorer(module="RNN", nonlinearity="relu")
    e.set(module="GRU")
    assert e.error is None and e.controls["nonlinearity"].disabled
    e.set(module="RNN")  # the choice was kept, greyed out
    assert e.error is None and "nonlinearity='relu'" in unescape(e.output.value)


@pytest.mark.parametrize("settings, words", [
    (dict(hidden_size=10**12), "尺寸太大：weight_hh_l0 的形状会是 (4000000000000, 1000000000000)"),
    (dict(input_size=10**18), "尺寸太大：weight_ih_l0 的形状会是 (400, 1000000000000000000)"),
    (dict(input_size=2**64), "尺寸太大：weight_ih_l0"),
    (dict(seq_len=10**12, batch=10**12), "尺寸太大：input 的形状会是 (1000000000000, 1000000000000, 50)"),
])
def test_sizes_torch_cannot_hold_get_a_message_not_an_internal_error(settings, words):
    e = ModuleExplorer(**settings)
    assert e.error.startswith(words) and "内部错误" not in e.output.value
    e = ModuleExplorer()
    for name, value in settings.items():
        e.controls[name].value = str(value)  # typed into its box
    assert e.error.startswith(words) and "内部错误" not in e.output.value


def test_parameters_beyond_a_few_gb_are_named_in_gb_inside_the_widget():
    e = ModuleExplorer(module="LSTM", input_size=20000, hidden_size=20000)
    assert e.error is None and "参数共 3,200,160,000 个，按 float32 要占约 12.8 GB 内存" in e.output.value
    assert "rnnlab-warning" in e.output.value


@pytest.mark.parametrize("bad, words", [
    (dict(module="LSTM", hidden_size="20", proj_size="20"), "proj_size"),
    (dict(hidden_size="0"), "大于等于 1"),
    (dict(input_size="-5"), "大于等于 1"),
    (dict(hidden_size="2.5"), "必须是整数"),
    (dict(hidden_size="abc"), "必须是整数"),
    (dict(batch=""), "必须是整数"),
    (dict(nosuch=3), "不认识的参数"),
])
def test_bad_input_shows_a_message_and_recovers(bad, words):
    e = ModuleExplorer(module="LSTM", input_size=50, hidden_size=100)
    e.set(**bad)  # must not raise
    assert e.error and words in e.error
    assert "rnnlab-error" in e.output.value and "Traceback" not in e.output.value
    e.set(module="LSTM", input_size="50", hidden_size="100", proj_size="0", batch="3")
    assert e.error is None and shown_params(e)["weight_hh_l0"] == (400, 100)


def test_constructor_reports_values_the_widgets_would_clip():
    assert "proj_size" in ModuleExplorer(module="GRU", proj_size=5).error
    assert "1 到 8 之间" in ModuleExplorer(num_layers=0).error
    assert "形状的规律也一样" in ModuleExplorer(num_layers=12).error  # not silently 8 layers
    assert "dropout" in ModuleExplorer(dropout=3).error
    assert "只能是" in ModuleExplorer(module="Transformer").error


def test_dropout_with_one_layer_warns_inside_the_widget():
    e = ModuleExplorer(module="RNN", dropout=0.5, num_layers=1)
    assert e.error is None and "rnnlab-warning" in e.output.value and "num_layers=1" in e.output.value


def test_cell_modules_grey_out_what_they_do_not_have():
    e = ModuleExplorer(module="GRUCell", input_size=10, hidden_size=20)
    assert e.controls["num_layers"].disabled and e.controls["bidirectional"].disabled
    e.set(module="GRU")
    assert not e.controls["num_layers"].disabled


def test_greyed_out_proj_size_does_not_block_other_modules():
    e = ModuleExplorer(module="LSTM", input_size=10, hidden_size=20, proj_size=5)
    e.set(module="GRU")
    assert e.error is None and e.controls["proj_size"].disabled


def test_huge_module_needs_no_memory():
    """49 GB of parameters: shown and checked against torch, never allocated (meta device)."""
    e = ModuleExplorer(module="LSTM", input_size=8192, hidden_size=8192, num_layers=8, bidirectional=True)
    assert e.error is None and e.report.total_params > 4 * 10**9 and "约 49.4 GB" in e.output.value
    assert "逐一核对：一致" in e.output.value and "完全一致" in e.run_torch_check()


# ------------------------------------------------------------------ gate blocks
def test_gate_blocks_follow_their_controls():
    g = GateBlocks(module="LSTM", input_size=50, hidden_size=100)
    assert [r[0] for r in gate_rows("LSTM", 100)] == ["i", "f", "g", "o"]
    g.set(module="GRU", input_size=10, hidden_size=20)
    assert [r[0] for r in gate_rows("GRU", 20)] == ["r", "z", "n"]
    assert g.output.value == GateBlocks(module="GRU", input_size=10, hidden_size=20).output.value
    assert_golden("gates_gru_10_20", g.output.value)


def _block_heights(html: str) -> list[int]:
    return [int(h) for h in re.findall(r'class="rnnlab-gate"[^>]*;height:(\d+)px', html)]


def test_gate_blocks_of_more_rows_are_taller():
    heights = {h: set(_block_heights(render_blocks("GRU", 10, h))) for h in (1, 20, 100, 300, 512)}
    assert all(len(v) == 1 for v in heights.values()), "equal blocks, equal heights"
    tall = [v.pop() for v in heights.values()]
    assert tall == sorted(set(tall)), f"块高应随 hidden_size 增加：{tall}"
    assert tall[0] >= 44 and tall[-1] <= 160, "within sane bounds"
    assert set(_block_heights(render_blocks("RNN", 10, 100))) == {tall[2]}, "one block of 100 rows, any module"


def test_the_rnn_block_is_a_weight_block_not_a_hidden_state():
    html = render_blocks("RNN", 8, 8)
    assert "<b>W</b> 权重（不分门块）" in html and "隐状态" not in html
    assert "不分门块" in html.split("<p>")[1] and "每行对应一个隐藏单元" in html
    assert "把 4 个门块按行叠在一起" in render_blocks("LSTM", 5, 6) and "每个门块 hidden_size = 6 行" in render_blocks("LSTM", 5, 6)


def test_gate_order_is_torch_chunk_order():
    """The i, f, g, o blocks are the rows torch's LSTM uses for those gates."""
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    x, h = torch.randn(1, 1, 3), torch.zeros(1, 1, 4)
    with torch.no_grad():
        _, (h1, c1) = lstm(x, (h, torch.zeros(1, 1, 4)))
        z = x[0] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
        blocks = dict(zip([r[0] for r in gate_rows("LSTM", 4)], z.chunk(4, dim=1)))
        c = torch.sigmoid(blocks["i"]) * torch.tanh(blocks["g"])
        assert torch.allclose(c, c1[0], atol=1e-6)
        assert torch.allclose(torch.sigmoid(blocks["o"]) * torch.tanh(c), h1[0], atol=1e-6)


@pytest.mark.parametrize("bad", [dict(hidden_size=0), dict(hidden_size="x"), dict(module="Transformer"), dict(foo=1)])
def test_gate_blocks_bad_input(bad):
    g = GateBlocks()
    g.set(**bad)
    assert g.error and "rnnlab-error" in g.output.value
    g.set(module="LSTM", hidden_size=100)
    assert g.error is None


def _css(style: str) -> dict[str, str]:
    return dict(d.split(":", 1) for d in style.split(";") if d)


def _px(value: str) -> float:
    return float(value.split()[0].removesuffix("px"))


def _text_px(text: str, font: float) -> float:
    """A generous width of one line of text: a CJK character 1 em, any other character 0.7 em."""
    return sum(font * (1.0 if ord(ch) >= 0x2E80 else 0.7) for ch in text)


@pytest.mark.parametrize("module", ["LSTM", "GRU", "RNN"])
def test_gate_labels_fit_their_blocks(module):
    """Both label lines ("g 候选记忆元", "行 1024–1535") fit their block for any sizes the sliders
    allow: the line height is the block's own (JupyterLab's HTML widget sets 28 px, which cut
    off the row range), nothing wraps or is hidden, and the blocks' grid is wide enough for the
    longest label (and grows with it, for all blocks alike, if a font is wider)."""
    sizes = (1, 2, 9, 10, 99, 100, 101, 511, 512)
    for input_size in sizes:
        for hidden_size in sizes:
            html = render_blocks(module, input_size, hidden_size)
            grids = re.findall(r'<div style="(display:grid;[^"]*)">((?:<div class="rnnlab-gate".*?</div>)+)</div>', html)
            assert len(grids) == 2, (input_size, hidden_size)
            for grid_style, inner in grids:
                grid = _css(grid_style)
                assert grid["width"] == "max-content"
                blocks = re.findall(r'<div class="rnnlab-gate" data-gate="\w" style="([^"]*)">(.*?)</div>', inner)
                assert len(blocks) == len(gate_rows(module, hidden_size))
                assert len({_css(style)["height"] for style, _ in blocks}) == 1, "equal blocks, equal heights"
                for style, label in blocks:
                    css = _css(style)
                    lines = [unescape(re.sub(r"<[^>]+>", "", line)) for line in label.split("<br>")]
                    font, line_height = _px(css["font-size"]), _px(css["line-height"])
                    pad_v, pad_h = (_px(v) for v in css["padding"].split())
                    where = (module, input_size, hidden_size, lines)
                    assert css["box-sizing"] == "border-box" and css["white-space"] == "nowrap", where
                    assert "overflow" not in css, where
                    assert line_height >= 1.2 * font, where
                    assert len(lines) * line_height + 2 * pad_v + _px(css["border-bottom"]) <= _px(css["height"]), where
                    assert max(_text_px(t, font) for t in lines) + 2 * pad_h <= _px(grid["min-width"]), where


# ------------------------------------------------------------------ bidirectional
@pytest.mark.parametrize("module", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("layers", [1, 2, 3])
def test_bidirectional_claims_are_true_in_torch(module, layers):
    t = truths(module, layers, seq_len=5)
    assert t == {"output[-1, :, :H] == h_n[-2]": True, "output[0, :, H:] == h_n[-1]": True,
                 "output[-1, :, H:] == h_n[-1]": False}


def test_bidirectional_view_follows_its_controls():
    b = BidirectionalMap(module="GRU", num_layers=2, seq_len=4, hidden_size=3)
    b.set(num_layers=9)
    assert b.error == "num_layers 应当是 1 到 4 之间的整数，收到的是 9。"
    b.set(num_layers=1)
    assert b.error is None and b.output.value == BidirectionalMap("GRU", 1, 4, 3).output.value
    assert "第 0 层 · 反向" in b.output.value and "第 1 层" not in b.output.value


# ------------------------------------------------------------------ one way to set and check values
EXPLORERS = {"ModuleExplorer": ModuleExplorer, "GateBlocks": GateBlocks, "BidirectionalMap": BidirectionalMap}


def _values(explorer) -> dict:
    return {k: w.value for k, w in explorer.controls.items()}


@pytest.mark.parametrize("kind", EXPLORERS)
@pytest.mark.parametrize("value, words", [
    ("1e3", "hidden_size 必须是整数：1e3 不是整数的写法，请写 1000。"),
    ("3.0", "hidden_size 必须是整数：3.0 不是整数的写法，请写 3。"),
    ("2.5", "hidden_size 必须是整数，收到的是 '2.5'。"),
    (2.5, "hidden_size 必须是整数，收到的是 2.5。"),
    (True, "hidden_size 必须是整数，收到的是 True。"),
    ("abc", "hidden_size 必须是整数，收到的是 'abc'。"),
])
def test_every_explorer_checks_a_size_the_same_way(kind, value, words):
    e = EXPLORERS[kind]()
    before, html = _values(e), e.output.value
    e.set(hidden_size=value)  # must not raise
    assert e.error == words
    assert _values(e) == before, "a refused value changes no control"
    assert "rnnlab-error" in e.output.value and e.output.value != html
    e.set(hidden_size="3")  # text, as a box holds it, is fine everywhere
    assert e.error is None


@pytest.mark.parametrize("kind, slider, top", [("ModuleExplorer", "num_layers", 8), ("GateBlocks", "hidden_size", 512),
                                               ("BidirectionalMap", "num_layers", 4)])
def test_every_explorer_refuses_what_a_control_would_clip_or_not_offer(kind, slider, top):
    e = EXPLORERS[kind]()
    before = _values(e)
    e.set(**{slider: 1000})
    assert e.error.startswith(f"{slider} 应当是 1 到 {top} 之间的整数，收到的是 1000。") and _values(e) == before
    e.set(module="Transformer")
    assert "只能是" in e.error and "'Transformer'" in e.error and _values(e) == before
    e.set(nosuch=1)
    assert "不认识的参数：'nosuch'" in e.error and "hidden_size" in e.error
    e.set(module="LSTM", hidden_size=4)
    assert e.error is None and e.controls["hidden_size"].value in (4, "4")


def test_a_size_typed_as_1e3_in_a_box_gets_the_same_message():
    e = ModuleExplorer()
    e.controls["hidden_size"].value = "1e3"  # what typing "1e3" + Enter does
    assert e.error == "hidden_size 必须是整数：1e3 不是整数的写法，请写 1000。" and e.report is None
    e.controls["hidden_size"].value = "1000"
    assert e.error is None and shown_params(e)["weight_hh_l0"] == (4000, 1000)


@pytest.mark.parametrize("kind, values", [
    ("ModuleExplorer", dict(module="GRU", input_size=3, hidden_size=4, num_layers=3, bidirectional=True)),
    ("GateBlocks", dict(module="GRU", input_size=3, hidden_size=4)),
    ("BidirectionalMap", dict(module="LSTM", num_layers=3, seq_len=5, hidden_size=2)),
])
def test_set_redraws_once(kind, values):
    e = EXPLORERS[kind]()
    redraws = []
    e.output.observe(redraws.append, names="value")
    e.set(**values)
    assert e.error is None and len(redraws) == 1


def test_sizes_may_be_given_as_text_like_the_boxes_hold():
    e = ModuleExplorer(module="LSTM", input_size="50", hidden_size="100")
    assert e.error is None and shown_params(e)["weight_hh_l0"] == (400, 100)
    assert "必须是整数" in ModuleExplorer(hidden_size="2.5").error


def test_importing_the_package_or_an_html_explorer_does_not_import_matplotlib():
    code = ("import sys, rnnlab.explorers as p; assert p.__doc__ and 'torch' not in sys.modules; "
            "import rnnlab.explorers.module, rnnlab.explorers.gates, rnnlab.explorers.bidirectional; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ golden snapshots
GOLDEN = Path(__file__).resolve().parent / "golden"
# Where a snapshot file breaks lines (for a readable diff); the breaks are not part of the HTML.
_BREAK_BEFORE = re.compile(r"(?=<(?:div|table|tr|h4|p|ul|li)[ >])")


def _set(explorer, **values):
    explorer.set(**values)
    return explorer


# name -> the explorer in that state. The HTML stored for each is what the student sees.
GOLDEN_CASES = {
    "module_rnncell_100_200": lambda: ModuleExplorer(module="RNNCell", input_size=100, hidden_size=200),
    "module_rnn_2layers_batch_first": lambda: ModuleExplorer(module="RNN", input_size=10, hidden_size=20,
                                                             num_layers=2, batch_first=True),
    "module_lstm_50_100_2layers": lambda: ModuleExplorer(module="LSTM", input_size=50, hidden_size=100, num_layers=2),
    "module_lstm_proj_size": lambda: ModuleExplorer(module="LSTM", input_size=7, hidden_size=11, proj_size=5,
                                                    num_layers=2),
    "module_gru_bidirectional": lambda: ModuleExplorer(module="GRU", input_size=10, hidden_size=20, bidirectional=True),
    "module_dropout_one_layer_warning": lambda: ModuleExplorer(module="RNN", dropout=0.5, num_layers=1),
    "module_error_1e3": lambda: _set(ModuleExplorer(), hidden_size="1e3"),
    "module_error_proj_size": lambda: ModuleExplorer(module="LSTM", hidden_size=20, proj_size=20),
    "module_error_gru_nonlinearity": lambda: ModuleExplorer(module="GRU", nonlinearity="relu"),
    "module_error_too_big": lambda: ModuleExplorer(hidden_size=10**12),
    "module_memory_warning": lambda: ModuleExplorer(module="LSTM", input_size=20000, hidden_size=20000),
    "gates_lstm_50_100": lambda: GateBlocks(module="LSTM", input_size=50, hidden_size=100),
    "gates_gru_10_20": lambda: GateBlocks(module="GRU", input_size=10, hidden_size=20),
    "gates_rnn_8_8": lambda: GateBlocks(module="RNN", input_size=8, hidden_size=8),
    "gates_error_too_big": lambda: GateBlocks(hidden_size=600),
    "bidirectional_gru_2_4_3": lambda: BidirectionalMap(module="GRU", num_layers=2, seq_len=4, hidden_size=3),
    "bidirectional_lstm_1_3_2": lambda: BidirectionalMap(module="LSTM", num_layers=1, seq_len=3, hidden_size=2),
}


def _snapshot(html: str) -> str:
    assert "\n" not in html, "explorer HTML has no line breaks: the snapshot's breaks are ours"
    return _BREAK_BEFORE.sub("\n", html).lstrip("\n") + "\n"


def assert_golden(name: str, html: str, directory: Path = GOLDEN) -> None:
    """`html` must equal tests/golden/<name>.html exactly (its line breaks removed).

    With RNNLAB_UPDATE_GOLDEN=1 a differing or missing snapshot is rewritten and the test
    FAILS saying so: a regeneration is never silent; look at `git diff tests/golden`,
    then rerun without the variable.
    """
    path = directory / f"{name}.html"
    stored = path.read_text(encoding="utf-8") if path.exists() else None
    if stored is not None and stored.replace("\n", "") == html:
        return
    if os.environ.get("RNNLAB_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_snapshot(html), encoding="utf-8")
        pytest.fail(f"RNNLAB_UPDATE_GOLDEN=1：已重写快照 {path.name}。看过 git diff tests/golden 后再提交，"
                    "然后不设这个变量重跑测试。", pytrace=False)
    if stored is None:
        pytest.fail(f"没有快照 {path}：用 RNNLAB_UPDATE_GOLDEN=1 运行本测试生成它。", pytrace=False)
    diff = list(difflib.unified_diff(stored.splitlines(), _snapshot(html).splitlines(),
                                     f"golden/{path.name}", "now", lineterm="", n=1))
    shown = "\n".join(diff[:80]) + ("\n..." if len(diff) > 80 else "")
    pytest.fail(f"探索器的 HTML 与快照 {path.name} 不同（有意的改动：RNNLAB_UPDATE_GOLDEN=1 重写）：\n{shown}",
                pytrace=False)


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_explorer_html_equals_its_golden_snapshot(name):
    assert_golden(name, GOLDEN_CASES[name]().output.value)


def test_every_golden_snapshot_has_a_case():
    stored = {p.stem for p in GOLDEN.glob("*.html")}
    assert stored == set(GOLDEN_CASES), f"多余或缺少的快照：{stored ^ set(GOLDEN_CASES)}"


def test_golden_regeneration_is_never_silent(tmp_path, monkeypatch):
    html = '<div class="x"><p>一</p><table><tr><td>1</td></tr></table></div>'
    monkeypatch.setenv("RNNLAB_UPDATE_GOLDEN", "1")
    with pytest.raises(pytest.fail.Exception, match="已重写快照 case.html"):
        assert_golden("case", html, tmp_path)
    assert (tmp_path / "case.html").read_text(encoding="utf-8").count("\n") == 4
    assert_golden("case", html, tmp_path)  # unchanged: nothing rewritten, nothing to say
    monkeypatch.delenv("RNNLAB_UPDATE_GOLDEN")
    assert_golden("case", html, tmp_path)
    with pytest.raises(pytest.fail.Exception, match=r"不同[\s\S]*-<p>一</p>\n\+<p>二</p>"):
        assert_golden("case", html.replace("一", "二"), tmp_path)
