"""Every figure carries a Chinese text description (issue 24, accessibility): what it shows, with the
numbers of this drawing, true of torch; in a notebook it is the "alt" metadata of the figure's image."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402

import nbclient  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

import rnnlab.figures as F  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")

CALLS = {
    "rnn_cell": lambda: F.draw_rnn_cell(),
    "lstm_cell_as_rnn_cell": lambda: F.draw_rnn_cell(cell="LSTMCell"),
    "unrolled": lambda: F.draw_unrolled_rnn(steps=6, highlight=2),
    "stacked": lambda: F.draw_stacked_rnn(num_layers=3, steps=2, cell="GRUCell"),
    "lstm": lambda: F.draw_lstm_cell(),
    "lstm_proj": lambda: F.draw_lstm_cell(proj=True),
    "gru": lambda: F.draw_gru_cell(highlight="r"),
    "bidirectional": lambda: F.draw_bidirectional_rnn(num_layers=1, steps=4),
    "curves": lambda: F.draw_training_curves({"GRU": {"step": [0, 10], "loss": [2.1, 0.4], "accuracy": [0.12, 0.93]}},
                                             chance=1 / 8, title="T = 5"),
    "norms": lambda: F.draw_gradient_norms({"RNN": [2e-9, 1e-4, 3e-2]}),
    "padded": lambda: F.draw_padded_batch([4, 2, 3]),
    "bptt": lambda: F.draw_truncated_bptt(num_segments=2, segment_len=5),
}


def test_every_figure_function_is_described_below():
    drawn = {n for n in F.__all__ if n.startswith("draw_")}
    covered = {n for c in CALLS.values() for n in c.__code__.co_names if n.startswith("draw_")}
    assert covered == drawn, drawn - covered


@pytest.mark.parametrize("name", CALLS)
def test_each_description_is_chinese_and_long_enough_to_stand_for_the_picture(name):
    text = F.alt_text(CALLS[name]())
    assert text and len(CJK.findall(text)) >= 40 and text.endswith("。"), text


def test_the_numbers_in_the_descriptions_are_this_drawings():
    unrolled = F.alt_text(CALLS["unrolled"]())
    assert "6 个时间步" in unrolled and "out[5]" in unrolled and "第 2 步" in unrolled
    assert "第 2 步" not in F.alt_text(F.draw_unrolled_rnn(steps=6))
    stacked = F.alt_text(CALLS["stacked"]())
    assert "3 层" in stacked and "2 个时间步" in stacked and "第 2 层" in stacked and "GRUCell" in stacked
    bi = F.alt_text(CALLS["bidirectional"]())
    assert "x[3]" in bi and "output[3, :, H:] 不是 h_n[-1]" in bi and "weight_ih_l1" not in bi
    assert "weight_ih_l1 是 (H, 2H)" in F.alt_text(F.draw_bidirectional_rnn(num_layers=2, steps=4))
    assert "proj_size" in F.alt_text(CALLS["lstm_proj"]()) and "proj_size" not in F.alt_text(CALLS["lstm"]())
    assert F.alt_text(CALLS["gru"]()).endswith("突出显示的是重置门 r。")
    assert "一条 10 步的数据流切成 2 段，每段 5 步" in F.alt_text(CALLS["bptt"]())
    curves = F.alt_text(CALLS["curves"]())
    assert "T = 5" in curves and f"≈ {math.log(8):.2f}" in curves and "GRU 损失 0.4、准确率 0.93" in curves
    norms = F.alt_text(CALLS["norms"]())
    assert "最后一步 3.0e-02" in norms and "t = 0 处 2.0e-09" in norms and f"{2e-9 / 3e-2:.0e} 倍" in norms


def test_the_shapes_and_batch_sizes_in_the_descriptions_are_torchs():
    H, I = 5, 3
    for cell, module in (("RNNCell", nn.RNNCell), ("GRUCell", nn.GRUCell), ("LSTMCell", nn.LSTMCell)):
        m = module(I, H)
        blocks = m.weight_ih.shape[0] // H
        G = "H" if blocks == 1 else f"{blocks}H"
        text = F.alt_text(F.draw_rnn_cell(cell=cell))
        assert f"weight_ih 是 ({G}, I)、weight_hh 是 ({G}, H)" in text, text
        assert tuple(m.weight_ih.shape) == (blocks * H, I) and tuple(m.weight_hh.shape) == (blocks * H, H)
    lengths = [4, 2, 3]
    packed = pack_padded_sequence(torch.zeros(3, 4, 1), lengths, batch_first=True, enforce_sorted=False)
    sizes = "、".join(str(int(n)) for n in packed.batch_sizes)
    assert f"batch_sizes：{sizes}。" in F.alt_text(CALLS["padded"]())


@pytest.mark.e2e
def test_in_a_notebook_the_description_is_the_alt_of_the_figures_image():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from rnnlab.figures import draw_unrolled_rnn\nfig = draw_unrolled_rnn(steps=3)"),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.figure()\nplt.plot([1, 2]);")]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    (ours,), (plain,) = ([o for o in c.outputs if "image/png" in o.get("data", {})] for c in nb.cells)
    assert ours.metadata["image/png"]["alt"] == F.alt_text(F.draw_unrolled_rnn(steps=3))
    assert "alt" not in plain.get("metadata", {}).get("image/png", {})  # a figure we did not draw says nothing
