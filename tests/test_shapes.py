"""The shape model agrees with torch itself (meta device) over a broad randomised grid."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from rnnlab.shapes import Config, ConfigError, describe, torch_shapes


@st.composite
def configs(draw):
    module = draw(st.sampled_from(["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]))
    hidden = draw(st.integers(1, 48))
    proj = draw(st.integers(0, hidden - 1)) if module == "LSTM" and hidden > 1 and draw(st.booleans()) else 0
    layers = draw(st.integers(1, 4))
    return Config(
        module=module, input_size=draw(st.integers(1, 48)), hidden_size=hidden, num_layers=layers,
        bias=draw(st.booleans()), batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()),
        proj_size=proj, nonlinearity=draw(st.sampled_from(["tanh", "relu"])),
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
    assert "4 个门 × hidden_size 100 = 400 行" in p["weight_hh_l0"].dims[0].why
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
