"""The shape model agrees with torch itself over a broad randomised grid (a CPU forward) and on huge modules
(the meta device)."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from checktools import in_a_fresh_interpreter
from rnnlab.shapes import Config, ConfigError, _small_enough_for_the_cpu, describe, torch_shapes


@st.composite
def configs(draw):
    module = draw(st.sampled_from(["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]))
    hidden = draw(st.integers(1, 48))
    proj = draw(st.integers(0, hidden - 1)) if module == "LSTM" and hidden > 1 and draw(st.booleans()) else 0
    layers = draw(st.integers(1, 4))
    return Config(
        module=module, input_size=draw(st.integers(1, 48)), hidden_size=hidden, num_layers=layers,
        bias=draw(st.booleans()), batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()),
        proj_size=proj, nonlinearity=draw(st.sampled_from(["tanh", "relu"])) if module.startswith("RNN") else "tanh",
        dropout=draw(st.sampled_from([0.0, 0.3])) if layers > 1 else 0.0,
        seq_len=draw(st.integers(1, 9)), batch=draw(st.integers(1, 7)), batched=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(configs())
def test_model_matches_torch(cfg):
    report = describe(cfg)
    params, tensors = torch_shapes(cfg)
    assert list(report.param_dict().items()) == list(params.items())  # same names, same order
    assert report.tensor_dict() == tensors
    assert report.total_params == sum(torch.Size(s).numel() for s in params.values())


@pytest.mark.parametrize("cfg", [
    Config("LSTM", 4096, 8192, num_layers=8, bidirectional=True, proj_size=1024, seq_len=100, batch=64),
    Config("GRU", 8192, 8192, num_layers=8, bidirectional=True, batch_first=True),
    Config("RNN", 1, 8192, num_layers=8, batched=False),
])
def test_huge_modules_on_meta(cfg):
    report = describe(cfg)
    params, tensors = torch_shapes(cfg)
    assert report.param_dict() == params and report.tensor_dict() == tensors
    assert report.total_params > 10**8


def test_huge_modules_go_to_meta_and_the_lectures_sizes_to_the_cpu():
    assert not any(_small_enough_for_the_cpu(c) for c in (
        Config("LSTM", 4096, 8192, num_layers=8), Config("GRU", 100, 100, seq_len=10**4, batch=10**3)))
    assert _small_enough_for_the_cpu(Config()) and _small_enough_for_the_cpu(Config("GRU", 64, 128, num_layers=2,
                                                                                   bidirectional=True, seq_len=20,
                                                                                   batch=8))


def test_asking_torch_draws_no_random_number_and_imports_no_sympy():
    """The module explorer's 「用 torch 核对」 runs in the student's kernel: it must not advance their generator,
    and at the lectures' sizes not pay the meta device's first forward (it imports sympy: a second)."""
    value, untouched, sympy = in_a_fresh_interpreter(
        "from rnnlab.shapes import Config, torch_shapes",
        "[d[k] for d, k in zip(torch_shapes(Config('LSTM', 50, 100, num_layers=2, dropout=0.5, bidirectional=True)),"
        " ('weight_hh_l0', 'h_n'))]")
    assert (value, untouched, sympy) == ("[(400, 100), (4, 3, 100)]", True, False)


def test_real_module_on_cpu_agrees():
    """The meta device is not the only witness: a real CPU forward gives the same shapes."""
    cfg = Config("LSTM", 7, 11, num_layers=2, bidirectional=True, proj_size=5, batch_first=True, seq_len=4, batch=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = nn.LSTM(**cfg.torch_kwargs())
        out, (h, c) = m(torch.randn(3, 4, 7))
    assert describe(cfg).tensor_dict() == {"input": (3, 4, 7), "output": tuple(out.shape),
                                           "h_n": tuple(h.shape), "c_n": tuple(c.shape)}


@pytest.mark.parametrize("cfg, count", [
    (Config("RNN", 10, 20), 640), (Config("GRU", 10, 20), 1920), (Config("LSTM", 10, 20), 2560),
    (Config("LSTM", 50, 100, num_layers=2), 141_600),
])
def test_reference_parameter_counts(cfg, count):
    assert describe(cfg).total_params == count


def test_derivations_explain_the_400_rows():
    p = {q.name: q for q in describe(Config("LSTM", 50, 100, num_layers=2)).params}
    assert p["weight_hh_l0"].shape == (400, 100)
    assert "4 个门块 × hidden_size 100 = 400 行" in p["weight_hh_l0"].dims[0].why
    assert p["weight_ih_l0"].dims[1].why.endswith("input_size = 50 列")
    bi = {q.name: q for q in describe(Config("GRU", 10, 20, num_layers=2, bidirectional=True)).params}
    assert bi["weight_ih_l1"].shape == (60, 40) and "2 × hidden_size 20 = 40 列" in bi["weight_ih_l1"].dims[1].why


def test_batch_first_moves_batch_in_output_but_not_in_h_n():
    a = describe(Config("GRU", 10, 20, seq_len=3, batch=32)).tensor_dict()
    b = describe(Config("GRU", 10, 20, seq_len=3, batch=32, batch_first=True)).tensor_dict()
    assert a["output"] == (3, 32, 20) and b["output"] == (32, 3, 20)
    assert a["h_n"] == b["h_n"] == (1, 32, 20)


@pytest.mark.parametrize("kwargs, words", [
    (dict(module="LSTM", hidden_size=20, proj_size=20), "proj_size"),
    (dict(module="GRU", proj_size=5), "只有 nn.LSTM"),
    (dict(module="LSTMCell", proj_size=5), "只有 nn.LSTM"),
    (dict(hidden_size=0), "hidden_size 必须大于等于 1"),
    (dict(input_size=-3), "input_size"),
    (dict(num_layers=2.5), "必须是整数"),
    (dict(hidden_size="abc"), "必须是整数"),
    (dict(hidden_size=True), "必须是整数"),
    (dict(module="Transformer"), "不认识的模块"),
    (dict(module="RNN", nonlinearity="sigmoid"), "nonlinearity"),
    (dict(dropout=1.5, num_layers=2), "dropout"),
])
def test_invalid_configs_get_chinese_messages(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        describe(Config(**kwargs))


@pytest.mark.parametrize("module", ["GRU", "GRUCell", "LSTM", "LSTMCell"])
def test_nonlinearity_is_refused_where_torch_has_no_such_argument(module):
    with pytest.raises(TypeError, match="unexpected keyword argument 'nonlinearity'"):
        getattr(nn, module)(3, 4, nonlinearity="relu")
    with pytest.raises(ConfigError, match=f"nonlinearity 只有 nn.RNN 和 nn.RNNCell 有：nn.{module} 没有这个参数"):
        describe(Config(module, 3, 4, nonlinearity="relu"))
    describe(Config(module, 3, 4))  # "tanh", the default, stands for "not given"


@pytest.mark.parametrize("cfg, culprit", [
    (Config("LSTM", 50, 10**12), "weight_hh_l0"),
    (Config("LSTM", 10**18, 100), "weight_ih_l0"),
    (Config("GRU", 2**64, 10), "weight_ih_l0"),  # more than torch can even take as one size
    (Config("LSTM", 50, 100, seq_len=10**12, batch=10**12), "input"),
    (Config("LSTMCell", 1, 2**29, batch=2**31 - 1), "一个时间步的门块"),  # h' fits, the 4 门块 inside do not
])
def test_sizes_torch_cannot_hold_are_refused_before_torch_is_asked(cfg, culprit):
    with pytest.raises(ConfigError, match=f"尺寸太大：{culprit} 的形状"):
        describe(cfg)
    with pytest.raises((RuntimeError, TypeError)):  # torch agrees, on the meta device
        torch_shapes(cfg)


def test_the_size_limit_is_torchs_own():
    """A tensor of 2**63 bytes or more is where torch stops ("Storage size calculation overflowed")."""
    top = 1518500249  # the largest H with H × H float32 numbers under 2**63 bytes
    assert describe(Config("RNN", 1, top, seq_len=1, batch=1)).param_dict()["weight_hh_l0"] == (top, top)
    assert torch_shapes(Config("RNN", 1, top, seq_len=1, batch=1))[0]["weight_hh_l0"] == (top, top)
    with pytest.raises(ConfigError, match="尺寸太大：weight_hh_l0"):
        describe(Config("RNN", 1, top + 1))
    with pytest.raises(RuntimeError, match="overflow"):
        nn.RNN(1, top + 1, device="meta")


def test_parameters_beyond_a_few_gb_are_named_in_gb():
    report = describe(Config("LSTM", 20000, 20000))
    assert report.total_params == 3_200_160_000
    assert report.warnings == ("参数共 3,200,160,000 个，按 float32 要占约 12.8 GB 内存："
                               "真的创建这个模块多半会内存不足（这里只在 meta 设备上核对形状，不占内存）。",)
    assert describe(Config("LSTM", 50, 100)).warnings == ()


def test_state_dims_are_layers_times_directions_and_hidden_units():
    labels = lambda t: [d.label for d in t.dims]
    t = {x.name: x for x in describe(Config("LSTM", 7, 11, num_layers=2, bidirectional=True)).tensors}
    assert labels(t["h_n"]) == labels(t["c_n"]) == ["层数×方向数", "批量", "隐藏单元"]
    assert labels(t["output"]) == ["时间步", "批量", "特征"]
    p = {x.name: x for x in describe(Config("LSTM", 7, 11, proj_size=5, batched=False)).tensors}
    assert labels(p["h_n"]) == ["层数×方向数", "投影维"] and p["h_n"].shape == (1, 5)
    assert labels(p["c_n"]) == ["层数×方向数", "隐藏单元"] and p["c_n"].shape == (1, 11)
    c = {x.name: x for x in describe(Config("LSTMCell", 7, 11)).tensors}
    assert labels(c["h'"]) == labels(c["c'"]) == ["批量", "隐藏单元"]


def test_torch_also_rejects_what_the_model_rejects():
    for kwargs in (dict(proj_size=20), dict(hidden_size=0)):
        cfg = Config("LSTM", 10, 20)
        with pytest.raises((ValueError, RuntimeError)):
            nn.LSTM(**{**cfg.torch_kwargs(), **kwargs}, device="meta")


def test_dropout_with_one_layer_is_a_warning_like_torch():
    report = describe(Config("RNN", 10, 20, dropout=0.5))
    assert report.warnings and "num_layers=1" in report.warnings[0]
    with pytest.warns(UserWarning):
        nn.RNN(10, 20, dropout=0.5, device="meta")


def test_integral_floats_are_accepted():
    assert describe(Config("RNN", 10.0, 20)).config.input_size == 10
