"""A real JupyterLab in a real browser, for the browser tests (tests/test_browser.py).

    with LabServer(root) as lab, Browser() as browser:
        page = browser.new_page()
        nb = Notebook.open(page, lab, "notebooks/00_overview.ipynb")
        nb.run_all()
        assert nb.problems() == []

The server runs from this Python environment (its default `python3` kernel is this
environment's Python: `Notebook.kernel_prefix()` asks the kernel to check), in a
temporary root, with throw-away settings, runtime, config, data and workspace folders,
so that nothing a test does is saved into the repository and nothing of the user's
Jupyter set-up leaks in. Recipe: REFERENCE.md section 7.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright's Python API; Playwright's
own browser downloads are never used.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

# Debian's chromium and the flags every headless run uses: one finder for the tests and the course's PDF printer.
from rnnlab.grading.printing import CHROMIUM_ARGS, find_chromium  # noqa: F401  (find_chromium: for the tests)
from service import Service


# JupyterLab user settings for the test server.
LAB_SETTINGS = {
    # Lab >= 4.2 virtualises cells: off-screen cells would be missing from the DOM.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # Never write executed notebooks back to disk (the root is a copy anyway).
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # No "get Jupyter news?" toast over the page, no network calls.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{timeout:g} 秒内没有等到：{what}")
        time.sleep(interval)


# ------------------------------------------------------------------ the server

class LabServer(Service):
    """`python -m jupyter lab` on a free port of 127.0.0.1 with a random token; stopped on exit, always."""

    def __init__(self, root: Path, python: str = sys.executable, start_timeout: float = 60):
        self.root = Path(root)
        self.python = python
        self.start_timeout = start_timeout
        self.token = secrets.token_hex(16)
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="rnnlab-lab-"))
        self.log_path = self._tmp / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict:
        settings = self._tmp / "settings"
        for rel, value in LAB_SETTINGS.items():
            f = settings / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value), encoding="utf-8")
        env = dict(os.environ)
        for var, sub in [("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                         ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"), ("JUPYTER_CONFIG_DIR", "config"),
                         ("JUPYTER_DATA_DIR", "data")]:
            (self._tmp / sub).mkdir(exist_ok=True)
            env[var] = str(self._tmp / sub)
        # Kernels and their subprocesses find this environment's python first.
        env["PATH"] = str(Path(self.python).parent) + os.pathsep + env.get("PATH", "")
        env.pop("JUPYTER_PATH", None)
        return env

    # Options every test server needs: loopback only, our token, no browser, the app exposed to the tests' JS.
    def test_options(self) -> list[str]:
        return ["--no-browser", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
                "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True"]

    def command(self) -> list[str]:
        return [self.python, "-m", "jupyter", "lab", f"--port={self.port}", "--allow-root",
                *self.test_options(), f"--ServerApp.root_dir={self.root}"]

    def opened_url(self) -> str | None:
        """The page the server would open in the student's browser (its jpserver-*-open.html)."""
        runtime = self._tmp / "runtime"
        # With a file to open, the server opens jpserver-file-to-run-*-open.html, else jpserver-*-open.html.
        for f in [*runtime.glob("jpserver-file-to-run-*-open.html"), *runtime.glob("jpserver-*-open.html")]:
            m = re.search(r'url=(http[^"]+)"', f.read_text(encoding="utf-8"))
            if m:
                return html.unescape(m.group(1))
        return None

    def api(self, path: str, method: str = "GET", timeout: float = 5):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def start(self) -> "LabServer":
        env = self._env()
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = _free_port()
            cmd = self.command()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(cmd, env=env, cwd=self.root, stdout=log,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True)
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    self.api("/api/status", timeout=2)
                    return self
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.25)
            if self.proc.poll() is None:  # alive but never answered
                self.stop()
                raise RuntimeError(f"JupyterLab 在 {self.start_timeout:g} 秒内没有就绪：\n{self.log_tail()}")
            self.proc = None  # exited (most likely: port taken); try another port
        raise RuntimeError(f"JupyterLab 启动失败：\n{self.log_tail()}")

    def _ours(self) -> list[int]:
        """Live processes this server started: kernels run in their own process groups, and
        their command line names a connection file in our temporary runtime folder."""
        out = []
        for d in os.listdir("/proc") if os.path.isdir("/proc") else []:
            if d.isdigit() and int(d) != os.getpid():
                try:
                    cmdline = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if str(self._tmp) in cmdline:
                    out.append(int(d))
        return out

    def stop(self) -> None:
        """Shut down kernels and server; then terminate, then kill, whatever is left."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:  # kernels first, politely
                for k in self.api("/api/kernels"):
                    self.api(f"/api/kernels/{k['id']}", method="DELETE", timeout=10)
            except Exception:
                pass
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        try:  # anything left in the server's own process group
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in self._ours():  # a kernel that outlived its server
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def cleanup(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


class MakeLab(LabServer):
    """The server a student gets from `make lab` in the course folder `root` (the real Makefile
    target, with the test options in LAB_ARGS; `-o` keeps make from reinstalling the venv)."""

    def __init__(self, root: Path, venv: Path, **kwargs):
        super().__init__(root, python=str(Path(venv) / "bin" / "python"), **kwargs)
        self.venv = Path(venv)

    def command(self) -> list[str]:
        return ["make", "--no-print-directory", "-C", str(self.root), "-o", f"{self.venv}/.rnnlab-installed",
                "lab", f"VENV={self.venv}", f"PORT={self.port}", "LAB_ARGS=" + " ".join(self.test_options())]


# ------------------------------------------------------------------ the browser

class Browser:
    """Debian's chromium, headless, through Playwright's sync API."""

    def __init__(self, executable: str | None = None):
        self.executable = executable or find_chromium()
        self._pw = None
        self.browser = None

    def __enter__(self) -> "Browser":
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(executable_path=self.executable, headless=True,
                                                    args=CHROMIUM_ARGS)
        except BaseException:
            self._pw.stop()
            raise
        return self

    def new_page(self):
        context = self.browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.console_errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        return page

    def __exit__(self, *exc) -> None:
        try:
            if self.browser is not None:
                self.browser.close()
        finally:
            self._pw.stop()


# ------------------------------------------------------------------ a notebook in the page

# JavaScript helpers, defined once per page; `window.jupyterapp` exists thanks to
# --LabApp.expose_app_in_browser=True.
_JS_HELPERS = r"""
() => {
  if (window.__rnnlab) return true;
  const R = window.__rnnlab = {iopub: {}};
  R.panel = (path) => {
    const app = window.jupyterapp;
    if (!app) return null;
    for (const w of app.shell.widgets('main')) {
      if (w.context && w.context.path === path && w.content && w.sessionContext) return w;
    }
    return null;
  };
  R.kernel = (path) => {
    const p = R.panel(path);
    return p && p.sessionContext.session ? p.sessionContext.session.kernel : null;
  };
  // Everything the kernel says on IOPub, including output of widget callbacks (which
  // JupyterLab shows in no cell): keep errors and tracebacks.
  R.listen = (path) => {
    const k = R.kernel(path);
    if (!k || R.iopub[path + '|' + k.id]) return !!k;
    const log = R.iopub[path + '|' + k.id] = [];
    R.iopub[path] = log;
    k.iopubMessage.connect((_, msg) => {
      const t = msg.header.msg_type, c = msg.content;
      if (t === 'error') log.push(`${c.ename}: ${c.evalue}\n` + (c.traceback || []).join('\n'));
      // A lecture may print an error it caught on purpose (stdout); stderr or a traceback is a problem.
      else if (t === 'stream' && (c.name === 'stderr' ? /Traceback|Error:/ : /Traceback \(most recent call last\)/).test(c.text)) log.push(c.text);
    });
    return true;
  };
  R.state = (path) => {
    const p = R.panel(path);
    if (!p) return {ready: false, why: 'notebook panel not open'};
    const ctx = p.sessionContext, k = R.kernel(path);
    const cells = p.content.widgets.filter(c => c.model.type === 'code');
    const toRun = cells.filter(c => c.model.sharedModel.getSource().trim() !== '');
    const counts = toRun.map(c => c.model.executionCount);
    let errors = 0;
    for (const c of cells) {
      for (let i = 0; i < c.model.outputs.length; i++) if (c.model.outputs.get(i).type === 'error') errors++;
    }
    return {
      ready: !!(p.context.isReady && ctx.isReady && k),
      kernelStatus: k ? k.status : null,
      kernelName: k ? k.name : null,
      nCode: cells.length,
      counts,
      errors,
      dialog: (document.querySelector('.jp-Dialog') || {}).innerText || null,
    };
  };
  R.problems = (path) => {
    const p = R.panel(path);
    const out = [];
    if (!p) return ['notebook panel not open'];
    const node = p.content.node;
    p.content.widgets.forEach((c, index) => {
      if (c.model.type !== 'code') return;
      for (let i = 0; i < c.model.outputs.length; i++) {
        const o = c.model.outputs.get(i);
        if (o.type === 'error') {
          const j = o.toJSON();
          out.push(`cell ${index}: error output ${j.ename}: ${j.evalue}`);
        }
      }
      for (const el of c.node.querySelectorAll('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')) {
        if (el.innerText.includes('Traceback')) out.push(`cell ${index}: Traceback on stderr:\n` + el.innerText.slice(0, 2000));
      }
      for (const el of c.node.querySelectorAll('.jp-OutputArea-output')) {
        if (el.innerText.includes('Traceback') && !el.matches('[data-mime-type="application/vnd.jupyter.stderr"]'))
          out.push(`cell ${index}: Traceback in output:\n` + el.innerText.slice(0, 2000));
        if (el.innerText.includes('Error displaying widget')) out.push(`cell ${index}: ${el.innerText.slice(0, 300)}`);
      }
    });
    for (const t of (R.iopub[path] || [])) out.push('kernel IOPub: ' + t.slice(0, 2000));
    return out;
  };
  // Widget outputs (model outputs with a widget-view bundle): how many, which are not rendered.
  R.widgets = (path) => {
    const p = R.panel(path);
    const res = {outputs: 0, pending: [], jupyterWidgets: 0};
    if (!p) return res;
    p.content.widgets.forEach((c, index) => {
      if (c.model.type !== 'code') return;
      const children = c.outputArea.node.querySelectorAll(':scope > .jp-OutputArea-child');
      for (let i = 0; i < c.model.outputs.length; i++) {
        const o = c.model.outputs.get(i);
        if (!o.data || !o.data['application/vnd.jupyter.widget-view+json']) continue;
        res.outputs++;
        const el = children[i] && children[i].querySelector('.jp-OutputArea-output');
        const text = el ? (el.textContent || '') : '';
        const view = el && el.querySelector(':scope > .jupyter-widgets');
        if (!view || text.startsWith('Loading widget') || text.startsWith('Error displaying widget'))
          res.pending.push(`cell ${index}, output ${i}: ${el ? (text.slice(0, 120) || '(empty)') : '(no output element)'}`);
      }
    });
    res.jupyterWidgets = p.content.node.querySelectorAll('.jupyter-widgets').length;
    return res;
  };
  return true;
}
"""


class Notebook:
    """One notebook open in JupyterLab in a Playwright page."""

    def __init__(self, page, lab: LabServer, path: str):
        self.page, self.lab, self.path = page, lab, path

    # -- JS plumbing
    def js(self, expr: str, *args):
        """Evaluate `(R, path, ...args) => expr` in the page, with the helpers installed."""
        self.page.evaluate(_JS_HELPERS)
        return self.page.evaluate(f"([path, args]) => {{ const R = window.__rnnlab; return ({expr}); }}",
                                  [self.path, list(args)])

    def state(self) -> dict:
        return self.js("R.state(path)")

    @classmethod
    def open(cls, page, lab: LabServer, path: str, timeout: float = 90) -> "Notebook":
        """Load /lab/tree/<path> and wait until its kernel is up and idle."""
        nb = cls(page, lab, path)
        if page.url.startswith(f"{lab.url}/lab") and page.evaluate("() => !!window.jupyterapp"):
            # JupyterLab is already loaded in this page (an earlier notebook was closed with close()): open
            # the notebook in it as a student opens a second one, without loading the whole application again.
            page.evaluate("async (path) => { await window.jupyterapp.commands.execute("
                          "'docmanager:open', {path, factory: 'Notebook'}); }", path)
        else:
            # A fresh workspace: the server would otherwise restore every notebook an earlier page
            # opened (the default workspace is saved on the server).
            workspace = "t" + secrets.token_hex(6)
            page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{path}?reset&token={lab.token}",
                      wait_until="domcontentloaded")
            page.wait_for_function("() => !!window.jupyterapp", timeout=timeout * 1000)

        last: dict = {}

        def ready():
            nonlocal last
            s = last = nb.state()
            if s.get("dialog") and ("Select Kernel" in s["dialog"] or "选择内核" in s["dialog"]):
                # A notebook without kernel metadata: take the default (python3).
                page.locator(".jp-Dialog .jp-mod-accept").click()
                return False
            return s["ready"] and s["kernelStatus"] == "idle" and nb.js("R.listen(path)")

        try:
            wait_for(ready, timeout, f"{path} 的内核启动并空闲")
        except TimeoutError as e:
            raise TimeoutError(f"{e}（最后状态：{last}）") from None
        return nb

    @staticmethod
    def close_all(page, timeout: float = 30) -> bool:
        """Close every open document of the page without saving and shut its kernel down, leaving
        JupyterLab loaded for the next open(). False when the page is not in a state to reuse."""
        try:
            return page.evaluate("""async () => {
              const app = window.jupyterapp;
              if (!app || document.querySelector('.jp-Dialog')) return false;
              for (const w of Array.from(app.shell.widgets('main'))) {
                if (w.context) {
                  if (w.sessionContext && w.sessionContext.session) await w.sessionContext.shutdown();
                  w.context.model.dirty = false;
                }
                w.dispose();
              }
              return Array.from(app.shell.widgets('main')).length === 0;
            }""")
        except Exception:
            return False

    def kernel_exec(self, code: str, timeout: float = 30) -> str:
        """Run `code` in this notebook's kernel, outside any cell; return its stdout."""
        return self.page.evaluate(
            """async ([path, code, timeout]) => {
                const k = window.__rnnlab.kernel(path);
                const future = k.requestExecute({code, silent: false, store_history: false});
                let text = '', err = null;
                future.onIOPub = (msg) => {
                  if (msg.header.msg_type === 'stream') text += msg.content.text;
                  if (msg.header.msg_type === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
                };
                const timer = new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), timeout));
                await Promise.race([future.done, timer]);
                if (err) throw new Error(err);
                return text;
            }""", [self.path, code, timeout * 1000])

    def model(self) -> dict:
        """The notebook as JupyterLab holds it now (nbformat JSON: cells, outputs, metadata)."""
        return self.js("R.panel(path).context.model.toJSON()")

    def kernel_prefix(self) -> dict:
        """sys.prefix and sys.executable of the kernel (to check it is the course's Python)."""
        return json.loads(self.kernel_exec(
            "import json as _j, sys as _s; print(_j.dumps({'prefix': _s.prefix, 'executable': _s.executable}))"))

    def run_all(self, timeout: float = 120) -> dict:
        """Clear outputs, run every cell; wait until the kernel is idle and every non-empty code
        cell has an execution count (or a cell failed, which stops the run), then until every
        widget output has rendered (or failed to)."""
        self.js("window.jupyterapp.shell.activateById(R.panel(path).id)")
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
        # Cleared cells have no execution count, so a count below is proof this run reached them.
        wait_for(lambda: all(c is None for c in self.state()["counts"]), 10, "清除输出")
        # Not awaited: the command's promise lasts as long as the run; the polling below is bounded.
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        last = {}

        def done():
            nonlocal last
            s = last = self.state()
            if s["kernelStatus"] != "idle":
                return False
            return all(c is not None for c in s["counts"]) or s["errors"] > 0

        try:
            wait_for(done, timeout, "全部单元格运行完毕", interval=0.25)
        except TimeoutError as e:
            raise TimeoutError(f"{e}（{self.path}；最后状态：{last}；问题：{self.problems()}）") from None
        if last["errors"]:
            time.sleep(0.5)  # let the error's rendering settle before it is reported
            return last
        try:
            wait_for(lambda: not self.widgets()["pending"], 30, "所有 widget 输出渲染完毕")
        except TimeoutError:
            pass  # reported by widgets()["pending"] in the test
        return last

    def run_again(self, timeout: float = 300) -> dict:
        """Every non-empty code cell of the notebook file, once more, in the same kernel (after run_all).

        A student who presses "run all" a second time meets what the first run left behind. The
        second run goes to the kernel directly (jupyter_client, the kernel's connection file in our
        runtime folder), not through the page: the page's rendering is what run_all checked.
        Returns the number of cells sent, the kernel's last execution count and the first error.
        """
        from jupyter_client import BlockingKernelClient

        kernel_id = self.js("R.kernel(path).id")
        client = BlockingKernelClient(connection_file=str(self.lab._tmp / "runtime" / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        sources = [c.source for c in nbformat.read(str(self.lab.root / self.path), as_version=4).cells
                   if c.cell_type == "code" and c.source.strip()]
        count, error = None, None
        try:
            client.wait_for_ready(timeout=30)
            deadline = time.monotonic() + timeout
            for i, source in enumerate(sources):
                reply = client.execute_interactive(source, timeout=max(1.0, deadline - time.monotonic()),
                                                   output_hook=lambda msg: None)
                count = reply["content"].get("execution_count")
                if reply["content"]["status"] != "ok":
                    error = f"第 {i + 1} 个代码单元格：{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
                    break
        finally:
            client.stop_channels()
        return {"cells": len(sources), "count": count, "error": error}

    def problems(self) -> list[str]:
        """Error outputs, tracebacks (cells and kernel IOPub), 'Error displaying widget'."""
        return self.js("R.problems(path)")

    def widgets(self) -> dict:
        return self.js("R.widgets(path)")

    def shutdown_kernel(self) -> None:
        try:
            self.page.evaluate("async (path) => { const p = window.__rnnlab.panel(path); "
                               "if (p) await p.sessionContext.shutdown(); }", self.path)
        except Exception:
            pass


def screenshot(page, directory: Path, name: str) -> Path | None:
    """A full-page screenshot, or None when the page cannot take one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
        return path
    except Exception:
        return None
