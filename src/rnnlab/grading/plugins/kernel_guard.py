"""Runs inside the grading kernel: put back what tests rely on, before each test cell.

GuardedExecute evaluates `install(name)` once, before the first cell a student could have
written, then `name()` before every test cell (both as silent user expressions): it
restores every change since the snapshot and returns the names of what it restored,
space-separated ("" when nothing changed). The name is drawn at random per run.

Imported by the kernel, so it must import nothing heavy at module level; the restore
function keeps everything it uses in its closure, so patching this module afterwards
changes nothing.
"""

# Modules snapshotted besides every loaded rnnlab.checks*. The light ones are always imported; the
# heavy ones are imported when the notebook's own cells use them (GuardedExecute decides, see
# install), and snapshotted whenever they are already loaded. A notebook that never names torch
# has no test that torch.allclose could fool, and grading it need not pay torch's import.
LIGHT = ("builtins", "math", "operator")
HEAVY = ("torch", "torch.nn", "torch.nn.functional", "torch.testing", "numpy", "rnnlab", "rnnlab.checks")
MODULES = LIGHT + HEAVY
# IPython's entry points a cell could replace to hide or fake a failing test.
SHELL_ATTRS = ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_cell_async",
               "run_ast_nodes", "run_code", "should_run_async")
# ipykernel itself rebinds these around every execution: not ours to restore.
VOLATILE = {"builtins": frozenset({"input", "raw_input", "getpass"})}


def install(name: str, heavy: bool = True) -> None:
    """Snapshot now and bind the restore function as builtins.<name>; heavy=False: import no HEAVY module."""
    import builtins

    builtins.__dict__[name] = _make_guard(heavy)


def _make_guard(heavy: bool = True):
    import builtins
    import importlib
    import sys

    modules = {}
    for n in MODULES:
        if n in sys.modules or heavy or n in LIGHT:
            try:
                modules[n] = importlib.import_module(n)
            except Exception:
                pass
    # Every assignment's checks module is protected, whatever its name (rnnlab.checks.a2_rnn...).
    for n, m in list(sys.modules.items()):
        if m is not None and (n == "rnnlab.checks" or n.startswith("rnnlab.checks.")):
            modules[n] = m
    classes = []
    torch = modules.get("torch")
    reset_state = _torch_state_reset(torch)
    if torch is not None:
        import torch.nn.modules.rnn as rnn_mod

        classes += [torch.Tensor, torch.nn.Module, torch.nn.Parameter, torch.Generator]
        # nn.RNN and its cells call the kernels through torch._VF: a name set on it would shadow
        # the real kernel (and the tests' expected values with it). Treated like a class: names
        # added since the snapshot are removed.
        classes.append(torch._VF)
        classes += [v for v in vars(rnn_mod).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)]
    from IPython.core.getipython import get_ipython
    from IPython.core.interactiveshell import InteractiveShell

    classes.append(InteractiveShell)
    shell = get_ipython()
    main = sys.modules["__main__"].__dict__
    snap_modules = {m: {k: v for k, v in vars(m).items() if k not in VOLATILE.get(m.__name__, ())}
                    for m in modules.values()}
    snap_classes = {c: dict(vars(c)) for c in classes}
    snap_sys = {k: getattr(sys, k) for k in ("stdout", "stderr", "displayhook")}
    snap_sys_modules = dict(modules)
    snap_main = {k: v for k, v in main.items() if not k.startswith("_")}
    shell_attrs = SHELL_ATTRS
    snap_shell = {k: shell.__dict__[k] for k in shell_attrs if k in shell.__dict__}
    # Bound now: a student may have replaced the builtins by the time restore() runs.
    _setattr, _delattr, _getattr, _items, _sorted, _set, _vars = (
        setattr, delattr, getattr, dict.items, sorted, set, vars)
    _errors = (AttributeError, TypeError)

    _str, _startswith = str, str.startswith

    def torch_rewrapped(now, old) -> bool:
        """torch wrapping its own function (importing torch._dynamo wraps torch.manual_seed): no student did it.

        Restored all the same; only the instructor's log line is left out.
        """
        module = _getattr(now, "__module__", None)
        return (_getattr(now, "__wrapped__", None) is old and module.__class__ is _str
                and _startswith(module, "torch"))

    def restore() -> str:
        reset_state()  # first: set_default_dtype also rebinds torch.Storage, which is then no incident
        changed = []
        for n, m in _items(snap_sys_modules):
            if sys.modules.get(n) is not m:
                sys.modules[n] = m
                changed.append(f"sys.modules[{n!r}]")
        for m, saved in _items(snap_modules):
            d = _vars(m)
            for k, v in _items(saved):
                if d.get(k, saved) is not v:
                    now = d.get(k, saved)
                    d[k] = v
                    if not torch_rewrapped(now, v):
                        changed.append(f"{m.__name__}.{k}")
        for c, saved in _items(snap_classes):
            d = _vars(c)
            for k in [k for k in d if k not in saved]:
                try:
                    _delattr(c, k)
                    changed.append(f"{c.__name__}.{k}")
                except _errors:
                    pass
            for k, v in _items(saved):
                if d.get(k, None) is not v:
                    try:
                        _setattr(c, k, v)
                        changed.append(f"{c.__name__}.{k}")
                    except _errors:
                        pass
        for k, v in _items(snap_sys):
            if _getattr(sys, k) is not v:
                _setattr(sys, k, v)
                changed.append(f"sys.{k}")
        for k in shell_attrs:
            if k in shell.__dict__ and shell.__dict__.get(k) is not snap_shell.get(k, None):
                if k in snap_shell:
                    shell.__dict__[k] = snap_shell[k]
                else:
                    del shell.__dict__[k]
                changed.append(f"shell.{k}")
        for k, v in _items(snap_main):
            if main.get(k) is not v:
                main[k] = v
                changed.append(k)
        return " ".join(_sorted(_set(changed)))

    return restore


def _torch_state_reset(torch):
    """Put torch's global switches back as they were at the snapshot, silently.

    torch.set_grad_enabled(False), torch.set_default_dtype(...) or torch.set_default_device("meta")
    in an answer cell is no tampering, but would fail the tests' own reference computations
    (a later question's hidden tests, with torch's English error): a test cell runs in the
    state a fresh kernel has, and the student's function is judged by what it computes.
    """
    if torch is None:
        return lambda: None
    set_grad, set_dtype, set_device = torch.set_grad_enabled, torch.set_default_dtype, torch.set_default_device
    dtype = torch.get_default_dtype()
    device = torch.get_default_device()
    device = None if device.type == "cpu" else device

    def reset() -> None:
        set_grad(True)
        set_dtype(dtype)
        set_device(device)

    return reset
