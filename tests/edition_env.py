"""A virtual environment for a built student edition, made without downloading anything.

The student's `make env` would download ~1.5 GB; this builds the environment that command leaves,
from this one's packages:

- a fresh venv whose only path to third-party packages is a plain .pth line to this environment's
  site-packages (torch, jupyter, nbgrader are the pinned ones; this repository's editable rnnlab,
  itself a .pth file there, is not processed), and an editable install of the edition's own
  package, made by pip from the edition's pyproject.toml;
- the data files those packages installed under {prefix}/share/jupyter and {prefix}/etc/jupyter
  (JupyterLab's app, the widget and nbgrader extensions, server-extension configs), copied into
  the venv as pip would have put them there, except the course's own, which come from the
  edition's `make jupyter-files` (the target `make env` runs);
- the console scripts `jupyter` and `jupyter-lab`, which pip would have written;
- the Makefile's stamp, so that `make lab` and `make test` use the venv as it is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

SCRIPTS = {"jupyter": "jupyter_core.command", "jupyter-lab": "jupyterlab.labapp"}


def _link_data_files(venv: Path, edition: Path) -> None:
    prefix = Path(sys.prefix)
    own = {p.relative_to(edition).as_posix() for top in ("share", "etc") for p in (edition / top).rglob("*")
           if p.is_file()}
    own_extensions = tuple(f"share/jupyter/labextensions/{p.name}/" for p in (edition / "share/jupyter/labextensions").iterdir())
    for top in ("share/jupyter", "etc/jupyter"):
        for src in (prefix / top).rglob("*"):
            rel = src.relative_to(prefix).as_posix()
            if src.is_dir() or rel in own or rel.startswith(own_extensions):
                continue
            dest = venv / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():  # a copy: the server refuses static files that are links out of its folders
                try:
                    os.link(src, dest)
                except OSError:
                    shutil.copy2(src, dest)


def make_edition_venv(edition: Path, venv: Path) -> Path:
    """The venv `make env` would make for `edition`, at `venv`; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    site = Path(subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "_parent_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "-e", str(edition)], check=True, capture_output=True)
    _link_data_files(venv, edition)
    subprocess.run(["make", "--no-print-directory", "-C", str(edition), "jupyter-files", f"VENV={venv}"],
                   check=True, capture_output=True)
    for name, module in SCRIPTS.items():
        script = venv / "bin" / name
        script.write_text(f"#!{vpy}\nimport sys\nfrom {module} import main\nsys.exit(main())\n")
        os.chmod(script, 0o755)
    (venv / ".rnnlab-installed").touch()  # the Makefile's stamp: the venv is ready
    return vpy
