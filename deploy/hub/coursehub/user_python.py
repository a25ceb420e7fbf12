"""The Python that users' servers run: the course environment, reachable by every user.

Students' servers, their kernels and the grader account's Formgrader run as unprivileged users, so the
interpreter, its standard library, the course venv's packages and the course's own `rnnlab` must be
readable by them. A venv made from a Python under /root (pyenv, a personal conda) is not: its
interpreter lives in a folder only root may enter. The hub therefore builds, at start-up, a small venv
in <state>/users/python:

- pyvenv.cfg and bin/python point at the course venv's base interpreter where every user can reach it;
  where they cannot, at a copy of that interpreter (its binary, shared library and standard library,
  without its own site-packages) made of hard links (a plain copy across file systems);
- one .pth file puts the course's src/ (the checkout the hub runs from) and the course venv's
  site-packages on sys.path, each used in place when every user can read it, else linked the same way;
- share/ and etc/ lead to the course venv's Jupyter data and configuration (JupyterLab, the zh_CN
  language pack and settings, nbgrader's extensions), and bin/ holds the venv's console scripts
  (jupyter, nbgrader, alembic, ...) rewritten to start this python.

When the copied interpreter has a shared libpython (its RUNPATH still names the unreachable folder),
bin/python is a small wrapper that names the copy's lib/ and runs the interpreter under the venv's own
path, so that nothing else (kernels, console scripts, a grader's shell) needs a special environment.
`check` then runs it as `nobody`: if an unprivileged user cannot import the course, the hub refuses to
start with one sentence saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

_INFO = r"""
import json, sys, sysconfig
print(json.dumps({
    "version": "%d.%d" % sys.version_info[:2],
    "base_prefix": sys.base_prefix,
    "prefix": sys.prefix,
    "purelib": sysconfig.get_paths()["purelib"],
    "stdlib": sysconfig.get_paths()["stdlib"],
    "executable": sys.executable,
    "base_executable": getattr(sys, "_base_executable", sys.executable),
    "libdir": sysconfig.get_config_var("LIBDIR") or "",
    "ldlibrary": sysconfig.get_config_var("LDLIBRARY") or "",
    "shared": bool(sysconfig.get_config_var("Py_ENABLE_SHARED")),
}))
"""

STAMP = "rnnlab-user-python.json"


class UserPythonError(Exception):
    """Users cannot run the course's Python; the message is one Chinese sentence."""


def everyone_can_read(path: Path) -> bool:
    """Every folder on the way is enterable by others and the path itself is readable by others
    (mode bits only: the hub's check runs the result as `nobody` anyway)."""
    path = Path(os.path.realpath(path))
    try:
        st = path.stat()
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(st.st_mode) else 0)
    if st.st_mode & need != need:
        return False
    for parent in path.parents:
        if not parent.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def _link_tree(src: Path, dest: Path, skip=()) -> None:
    """A copy of `src` at `dest` made of hard links (real copies where linking is refused)."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        dirnames[:] = [d for d in dirnames if (rel / d).as_posix() not in skip]
        (dest / rel).mkdir(parents=True, exist_ok=True)
        os.chmod(dest / rel, 0o755)
        for name in filenames:
            _link_file(Path(dirpath) / name, dest / rel / name)


def _link_file(src: Path, dest: Path) -> None:
    """A hard link (a copy where linking is refused); a symbolic link stays one."""
    if src.is_symlink():
        dest.symlink_to(os.readlink(src))
        return
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def course_python_info(python: Path) -> dict:
    out = subprocess.run([str(python), "-I", "-c", _INFO], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def build(python: Path, src: Path, dest: Path) -> Path:
    """The venv at `dest` (rebuilt when the course environment changed); its python."""
    info = course_python_info(python)
    info["src"] = str(src)
    stamp = dest / STAMP
    if stamp.is_file() and json.loads(stamp.read_text())["course"] == info and (dest / "bin" / "python").exists():
        return dest / "bin" / "python"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    os.chmod(dest, 0o755)
    version = info["version"]
    real_exe = Path(os.path.realpath(info["base_executable"]))

    # The interpreter and its standard library.
    base_needed = [real_exe, Path(info["stdlib"])]
    if info["shared"] and info["libdir"]:
        base_needed.append(Path(info["libdir"]) / info["ldlibrary"])
    if all(everyone_can_read(p) for p in base_needed):
        home = real_exe.parent
        ld_library_path = ""
    else:
        copy = dest / "base"
        for d in (copy, copy / "bin", copy / "lib"):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        _link_file(real_exe, copy / "bin" / real_exe.name)
        stdlib = Path(info["stdlib"])
        _link_tree(stdlib, copy / "lib" / stdlib.name, skip={"site-packages", "test", "idlelib", "tkinter", "turtledemo"})
        if info["shared"] and info["libdir"]:
            for lib in Path(info["libdir"]).glob("libpython*"):
                _link_file(lib, copy / "lib" / lib.name)
        home = copy / "bin"
        ld_library_path = str(copy / "lib") if info["shared"] else ""
    # The venv.
    (dest / "bin").mkdir()
    os.chmod(dest / "bin", 0o755)
    exe_name = real_exe.name
    if ld_library_path:
        # The copied interpreter looks for its shared library where its RUNPATH says (a folder users
        # cannot enter): a wrapper names the copy's lib/ and runs it under this venv's path, so that
        # sys.executable and the venv stay this one (kernels, console scripts, a grader's shell).
        wrapper = dest / "bin" / exe_name
        wrapper.write_text("#!/bin/bash\n"
                           f'export LD_LIBRARY_PATH="{ld_library_path}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"\n'
                           f'exec -a "$0" "{home / exe_name}" "$@"\n')
        os.chmod(wrapper, 0o755)
    else:
        (dest / "bin" / exe_name).symlink_to(home / exe_name)
    for alias in ("python", "python3", f"python{version}"):
        if alias != exe_name:
            (dest / "bin" / alias).symlink_to(exe_name)
    (dest / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\nversion = {version}\n")
    site = dest / "lib" / f"python{version}" / "site-packages"
    site.mkdir(parents=True)
    for d in (dest / "lib", site.parent, site):
        os.chmod(d, 0o755)
    paths = []
    for name, path in (("src", src), ("site-packages", Path(info["purelib"]))):
        if everyone_can_read(path):
            paths.append(str(path))
        else:
            _link_tree(path, dest / "linked" / name, skip={"__pycache__"} if name == "src" else ())
            paths.append(str(dest / "linked" / name))
    (site / "rnnlab-course.pth").write_text("\n".join(paths) + "\n")
    # Jupyter's data and configuration of the course venv (sys.prefix/share/jupyter, sys.prefix/etc/jupyter).
    for top in ("share", "etc"):
        origin = Path(info["prefix"]) / top
        if not origin.is_dir():
            continue
        if everyone_can_read(origin):
            (dest / top).symlink_to(origin)
        else:
            _link_tree(origin, dest / top)
    # Console scripts, started by this python.
    venv_bin = Path(info["prefix"]) / "bin"
    for script in sorted(venv_bin.iterdir()) if venv_bin.is_dir() else []:
        target = dest / "bin" / script.name
        if target.exists() or target.is_symlink() or not script.is_file():
            continue
        try:
            head, _, rest = script.read_text(encoding="utf-8").partition("\n")
        except (UnicodeDecodeError, OSError):
            continue
        if head.startswith("#!") and "python" in head and str(venv_bin) in head:
            target.write_text(f"#!{dest / 'bin' / 'python'}\n{rest}", encoding="utf-8")
            os.chmod(target, 0o755)
    stamp.write_text(json.dumps({"course": info, "interpreter": str(home / exe_name)}, indent=1))
    return dest / "bin" / "python"


def check(python: Path, user: str = "nobody", modules=("jupyterhub.singleuser", "jupyterlab", "nbgrader", "rnnlab")) -> None:
    """Import the course as an unprivileged user; UserPythonError (Chinese) when that fails."""
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    code = "import " + ", ".join(modules)
    full_env = {"PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/"}
    try:
        proc = subprocess.run([runuser, "-u", user, "--", str(python), "-c", code], env=full_env,
                              capture_output=True, text=True, timeout=120, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserPythonError(f"无法以 {user} 身份运行课程的 Python（{python}）：{e}。") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["（没有输出）"])[-1]
        raise UserPythonError(f"普通用户（{user}）运行课程的 Python {python} 时无法导入课程（{last}）："
                              "课程环境必须放在每个用户都能读取的位置，例如 /opt 下。")
