"""The shape model of PyTorch's recurrent modules: the single source of every number the
explorers show.

Pure Python (no torch, no widgets) so that an explorer update is a few dictionary
look-ups. `torch_shapes` asks torch itself (a CPU forward for small sizes, the meta device for
huge ones: true shapes, no memory) so tests and the explorers can cross-check the model.

Symbols as in the lectures: I = input_size, H = hidden_size, L = num_layers,
D = 2 if bidirectional else 1, G = 门块 (gate blocks) stacked per weight (RNN 1, GRU 3,
LSTM 4), P = proj_size (LSTM only, 0 = off).
"""

from __future__ import annotations

import math
import sys
import numbers
from dataclasses import dataclass, field, replace

MODULES = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
# Row blocks (门块) of weight_ih / weight_hh, in PyTorch's order. nn.RNN has no gates: its
# single block is the whole weight, one row per hidden unit.
GATE_NAMES = {
    "RNN": (("W", "权重（不分门块）"),),
    "LSTM": (("i", "输入门"), ("f", "遗忘门"), ("g", "候选记忆元"), ("o", "输出门")),
    "GRU": (("r", "重置门"), ("z", "更新门"), ("n", "候选隐状态")),
}
GATE_TERMS = {1: "", 3: "3 个门块", 4: "4 个门块"}
# What GRU and LSTM use instead of a `nonlinearity` argument (they take none).
FIXED_ACTIVATIONS = {
    "GRU": "GRU 的重置门和更新门固定用 sigmoid，候选隐状态固定用 tanh。",
    "LSTM": "LSTM 的输入门、遗忘门和输出门固定用 sigmoid，候选记忆元和 h = o ⊙ tanh(c) 固定用 tanh。",
}
# torch refuses a tensor of 2**63 bytes or more ("Storage size calculation overflowed").
MAX_TENSOR_BYTES = 2**63 - 1
FLOAT32_BYTES = 4
# Parameters beyond this would not fit in a usual computer's memory: the model says how many GB.
MEMORY_WARNING_BYTES = 4 * 10**9


class ConfigError(ValueError):
    """An invalid configuration; the message is Chinese and meant for the student."""


@dataclass(frozen=True)
class Config:
    """One configuration of a recurrent module and of the input fed to it."""

    module: str = "LSTM"
    input_size: int = 50
    hidden_size: int = 100
    num_layers: int = 1
    bias: bool = True
    batch_first: bool = False
    dropout: float = 0.0
    bidirectional: bool = False
    proj_size: int = 0
    nonlinearity: str = "tanh"  # for GRU/LSTM (no such argument) only the default, "not given", is valid
    seq_len: int = 5
    batch: int = 3
    batched: bool = True

    @property
    def base(self) -> str:
        """RNN, LSTM or GRU (the family, with or without Cell)."""
        return self.module.removesuffix("Cell")

    @property
    def is_cell(self) -> bool:
        return self.module.endswith("Cell")

    @property
    def gates(self) -> int:
        return GATES[self.base]

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional and not self.is_cell else 1

    @property
    def layers(self) -> int:
        return 1 if self.is_cell else self.num_layers

    @property
    def h_out(self) -> int:
        """Size of h (and of output's features per direction): P if P > 0 else H."""
        return self.proj_size if self.proj_size > 0 else self.hidden_size

    def torch_kwargs(self) -> dict:
        """Constructor keyword arguments, as this module's class accepts them."""
        kw = {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias}
        if self.base == "RNN":
            kw["nonlinearity"] = self.nonlinearity
        if not self.is_cell:
            kw.update(num_layers=self.num_layers, batch_first=self.batch_first,
                      dropout=self.dropout, bidirectional=self.bidirectional)
            if self.base == "LSTM":
                kw["proj_size"] = self.proj_size
        return kw


@dataclass(frozen=True)
class Dim:
    """One dimension of a tensor: its size, its label (时间步, 批量...) and why it is that size."""

    size: int
    label: str
    why: str = ""


@dataclass(frozen=True)
class ParamShape:
    name: str
    dims: tuple[Dim, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dims)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class TensorShape:
    name: str
    dims: tuple[Dim, ...]
    note: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(d.size for d in self.dims)


@dataclass(frozen=True)
class Report:
    """Everything an explorer shows for one configuration."""

    config: Config
    params: tuple[ParamShape, ...]
    tensors: tuple[TensorShape, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def total_params(self) -> int:
        return sum(p.numel for p in self.params)

    def param_dict(self) -> dict[str, tuple[int, ...]]:
        return {p.name: p.shape for p in self.params}

    def tensor_dict(self) -> dict[str, tuple[int, ...]]:
        return {t.name: t.shape for t in self.tensors}


# ------------------------------------------------------------------ validation

def _as_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{name} 必须是整数，收到的是 {value!r}。")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{name} 必须是整数，收到的是 {value!r}。")
    value = int(value)
    if value < minimum:
        raise ConfigError(f"{name} 必须大于等于 {minimum}，收到的是 {value}。")
    return value


def validate(cfg: Config) -> tuple[Config, tuple[str, ...]]:
    """Check a configuration the way torch would; return it normalised plus warnings.

    Raises ConfigError (Chinese message) where torch would raise; returns a warning
    where torch only warns (dropout with a single layer).
    """
    if cfg.module not in MODULES:
        raise ConfigError(f"不认识的模块 {cfg.module!r}；可选：{', '.join(MODULES)}。")
    norm = replace(
        cfg,
        input_size=_as_int(cfg.input_size, "input_size", 1),
        hidden_size=_as_int(cfg.hidden_size, "hidden_size", 1),
        num_layers=_as_int(cfg.num_layers, "num_layers", 1),
        proj_size=_as_int(cfg.proj_size, "proj_size", 0),
        seq_len=_as_int(cfg.seq_len, "seq_len（时间步数）", 1),
        batch=_as_int(cfg.batch, "batch（批量大小）", 1),
    )
    warnings: list[str] = []
    if norm.base == "RNN" and norm.nonlinearity not in ("tanh", "relu"):
        raise ConfigError(f"nonlinearity 只能是 \"tanh\" 或 \"relu\"，收到的是 {norm.nonlinearity!r}。")
    if norm.base != "RNN" and norm.nonlinearity != "tanh":  # torch: TypeError, unexpected keyword argument
        raise ConfigError(f"nonlinearity 只有 nn.RNN 和 nn.RNNCell 有：nn.{norm.module} 没有这个参数，"
                          f"传入它 torch 会报 TypeError。{FIXED_ACTIVATIONS[norm.base]}")
    if norm.proj_size:
        if norm.base != "LSTM" or norm.is_cell:
            raise ConfigError(f"proj_size 只有 nn.LSTM 支持，{norm.module} 没有这个参数。")
        if norm.proj_size >= norm.hidden_size:
            raise ConfigError(
                f"proj_size（{norm.proj_size}）必须小于 hidden_size（{norm.hidden_size}）：投影是把隐状态压缩到更小的维数。")
    try:
        dropout = float(norm.dropout)
    except (TypeError, ValueError):
        raise ConfigError(f"dropout 必须是 0 到 1 之间的数，收到的是 {norm.dropout!r}。") from None
    if isinstance(norm.dropout, bool) or not 0 <= dropout <= 1:
        raise ConfigError(f"dropout 必须是 0 到 1 之间的数，收到的是 {norm.dropout!r}。")
    if dropout > 0 and not norm.is_cell and norm.num_layers == 1:
        warnings.append(
            "dropout 只作用在相邻两层之间、不作用在最后一层之后；num_layers=1 时它不起作用，PyTorch 只会给出警告。")
    return replace(norm, dropout=dropout), tuple(warnings)


# ------------------------------------------------------------------ the model

def _gate_rows(cfg: Config) -> Dim:
    g, h = cfg.gates, cfg.hidden_size
    if g == 1:
        return Dim(h, "hidden_size", f"hidden_size = {h} 行")
    return Dim(g * h, f"{g}×hidden_size", f"{GATE_TERMS[g]} × hidden_size {h} = {g * h} 行")


def _layer_input(cfg: Config, layer: int) -> Dim:
    if layer == 0:
        return Dim(cfg.input_size, "input_size", f"输入特征数 input_size = {cfg.input_size} 列")
    per_dir = cfg.h_out
    what = "proj_size" if cfg.proj_size else "hidden_size"
    if cfg.directions == 2:
        return Dim(2 * per_dir, f"2×{what}",
                   f"上一层两个方向的输出连结：2 × {what} {per_dir} = {2 * per_dir} 列")
    return Dim(per_dir, what, f"上一层的输出：{what} = {per_dir} 列")


def _refuse_while_deriving() -> None:
    """The shape model answers the assignments' shape questions too: while a graded function that
    must derive them runs (rnnlab.checks.core.deriving), it refuses like the torch-backed oracles.
    Looked up without importing rnnlab.oracles (this module stays free of torch)."""
    oracles = sys.modules.get("rnnlab.oracles")
    if oracles is not None and oracles._refusal is not None:
        oracles._refusal()


def parameter_shapes(cfg: Config) -> tuple[ParamShape, ...]:
    """Every parameter, named and ordered as `named_parameters()` gives them."""
    _refuse_while_deriving()
    rows = _gate_rows(cfg)
    params: list[ParamShape] = []
    for layer in range(cfg.layers):
        for direction in range(cfg.directions):
            suffix = "" if cfg.is_cell else f"_l{layer}" + ("_reverse" if direction else "")
            hh_cols = (Dim(cfg.proj_size, "proj_size", f"投影后的隐状态 proj_size = {cfg.proj_size} 列")
                       if cfg.proj_size else
                       Dim(cfg.hidden_size, "hidden_size", f"上一时间步的隐状态 hidden_size = {cfg.hidden_size} 列"))
            params.append(ParamShape("weight_ih" + suffix, (rows, _layer_input(cfg, layer))))
            params.append(ParamShape("weight_hh" + suffix, (rows, hh_cols)))
            if cfg.bias:
                params.append(ParamShape("bias_ih" + suffix, (rows,)))
                params.append(ParamShape("bias_hh" + suffix, (rows,)))
            if cfg.proj_size:
                params.append(ParamShape("weight_hr" + suffix, (
                    Dim(cfg.proj_size, "proj_size", f"投影到 proj_size = {cfg.proj_size} 行"),
                    Dim(cfg.hidden_size, "hidden_size", f"从 hidden_size = {cfg.hidden_size} 列"))))
    return tuple(params)


def _seq_batch(cfg: Config, features: Dim) -> tuple[Dim, ...]:
    seq = Dim(cfg.seq_len, "时间步", "seq_len")
    batch = Dim(cfg.batch, "批量", "batch")
    if not cfg.batched:
        return (seq, features)
    return (batch, seq, features) if cfg.batch_first else (seq, batch, features)


def tensor_shapes(cfg: Config) -> tuple[TensorShape, ...]:
    """Shapes of the input and of what the module returns (output, h_n, c_n)."""
    _refuse_while_deriving()
    inp = Dim(cfg.input_size, "特征", "input_size")
    batch = (Dim(cfg.batch, "批量", "batch"),) if cfg.batched else ()
    if cfg.is_cell:
        x = TensorShape("input", batch + (inp,), "单元一次只读一个时间步")
        units = Dim(cfg.hidden_size, "隐藏单元", "hidden_size")
        out = [x, TensorShape("h'", batch + (units,), "下一时间步的隐状态")]
        if cfg.base == "LSTM":
            out.append(TensorShape("c'", batch + (units,), "下一时间步的记忆元"))
        return tuple(out)

    d, what = cfg.directions, ("proj_size" if cfg.proj_size else "hidden_size")
    feat_out = Dim(d * cfg.h_out, "特征", f"{d} 个方向 × {what} {cfg.h_out}" if d == 2 else what)
    state_rows = Dim(d * cfg.num_layers, "层数×方向数", f"num_layers {cfg.num_layers} × 方向数 {d}")
    # With proj_size, h holds the projection of the hidden units, c the hidden units themselves.
    h_units = Dim(cfg.h_out, "投影维" if cfg.proj_size else "隐藏单元", what)
    note_bf = "batch_first 不影响它" if cfg.batch_first else ""
    tensors = [
        TensorShape("input", _seq_batch(cfg, inp)),
        TensorShape("output", _seq_batch(cfg, feat_out), "最后一层在每个时间步的隐状态"),
        TensorShape("h_n", (state_rows,) + batch + (h_units,),
                    "每一层、每个方向最后一个时间步的隐状态" + ("；" + note_bf if note_bf else "")),
    ]
    if cfg.base == "LSTM":
        tensors.append(TensorShape("c_n", (state_rows,) + batch + (Dim(cfg.hidden_size, "隐藏单元", "hidden_size"),),
                                   "每一层、每个方向最后的记忆元" + ("；" + note_bf if note_bf else "")))
    return tuple(tensors)


def check_sizes(cfg: Config, params: tuple[ParamShape, ...], tensors: tuple[TensorShape, ...]) -> None:
    """ConfigError if torch could not even describe one of the tensors of `cfg` (float32).

    Besides the parameters, the input and the outputs, the forward makes, at each time step,
    one tensor holding every 门块, (batch, G × hidden_size): G times h, so torch may refuse it
    when h itself fits.
    """
    batch = (cfg.batch,) if cfg.batched else (1,)
    step = TensorShape("一个时间步的门块", tuple(Dim(n, "") for n in batch + (cfg.gates * cfg.hidden_size,)))
    for t in params + tensors + (step,):
        numel = math.prod(t.shape)
        if numel * FLOAT32_BYTES > MAX_TENSOR_BYTES:
            raise ConfigError(
                f"尺寸太大：{t.name} 的形状会是 ({', '.join(map(str, t.shape))})，共约 {numel:.2g} 个数，"
                f"按 float32 要 {numel * FLOAT32_BYTES:.2g} 字节，超出了 PyTorch 一个张量的上限"
                f"（2^63 − 1 ≈ {MAX_TENSOR_BYTES:.2g} 字节）。请把尺寸改小。")


def memory_warnings(total_params: int) -> tuple[str, ...]:
    """A warning saying how many GB the parameters take, when that is more than a few."""
    size = total_params * FLOAT32_BYTES
    if size <= MEMORY_WARNING_BYTES:
        return ()
    return (f"参数共 {total_params:,} 个，按 float32 要占约 {size / 1e9:.3g} GB 内存："
            "真的创建这个模块多半会内存不足（这里只在 meta 设备上核对形状，不占内存）。",)


def describe(cfg: Config) -> Report:
    """Validate and compute everything an explorer shows. Raises ConfigError when invalid
    or too large for torch; warns (Report.warnings) where torch warns or memory would not do."""
    cfg, warnings = validate(cfg)
    params, tensors = parameter_shapes(cfg), tensor_shapes(cfg)
    check_sizes(cfg, params, tensors)
    return Report(cfg, params, tensors, warnings + memory_warnings(sum(p.numel for p in params)))


# ------------------------------------------------------------------ torch, for cross-checks

# Up to this much work torch runs the forward for real on the CPU, on zeros (about a millisecond): parameters and
# tensors in elements, and parameters times time steps times batch for the arithmetic. Beyond it, the meta device
# (no memory, any size); but a kernel's first meta forward imports torch's decompositions and sympy, about a
# second, which the sizes of the lectures and exercises should not wait for.
CPU_ELEMENTS = 2_000_000
CPU_WORK = 100_000_000


def _small_enough_for_the_cpu(cfg: Config) -> bool:
    params = sum(p.numel for p in parameter_shapes(cfg))
    elements = params + sum(math.prod(t.shape) for t in tensor_shapes(cfg))
    return elements <= CPU_ELEMENTS and params * cfg.seq_len * cfg.batch <= CPU_WORK


def torch_shapes(cfg: Config) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """The same shapes asked of torch: a forward on the CPU for small sizes, on the meta device (no memory) for
    huge ones. The caller's random numbers are left as they were (the module's initialisation draws some)."""
    import warnings as _w

    import torch
    from torch import nn

    cfg, _ = validate(cfg)
    try:
        device = "cpu" if _small_enough_for_the_cpu(cfg) else "meta"
    except ConfigError:
        device = "meta"  # sizes our model refuses: torch (on meta) says what it says
    with _w.catch_warnings(), torch.random.fork_rng(devices=[]), torch.no_grad():
        _w.simplefilter("ignore")  # dropout with one layer; LSTM projections on oneDNN
        module = getattr(nn, cfg.module)(**cfg.torch_kwargs(), device=device)
        params = {n: tuple(p.shape) for n, p in module.named_parameters()}
        x = torch.zeros(tensor_shapes(cfg)[0].shape, device=device)  # the input, as the model lays it out
        result = module(x)
    if cfg.is_cell:
        names = ("input", "h'", "c'")
        values = (x,) + (tuple(result) if isinstance(result, tuple) else (result,))
    else:
        output, state = result
        names = ("input", "output", "h_n", "c_n")
        values = (x, output) + (tuple(state) if isinstance(state, tuple) else (state,))
    return params, {n: tuple(v.shape) for n, v in zip(names, values)}

