"""Sandboxed autograding, for real: `nbgrader autograde` with the course's configuration runs
every student's kernel in bubblewrap. Hostile submissions (honest answers plus an attack) are
graded in one batch; each attack must be stopped, the student recorded with the grade the
answers deserve, and nothing else changed: not the gradebook, not other students' files, not
the world outside. Without bwrap these tests are skipped (CI=true makes that a failure).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course import autograde, grades, make_course, max_points, sandbox_missing, submit
from machine import require
from nbtools import read
from rnnlab.grading.plugins import sandbox
from rnnlab.grading.course import run_nbgrader

AID = "a1_rnncell"
MARKER = "rnnlab-sandbox-test-background"


@pytest.fixture(scope="module")
def bwrap():
    require("沙箱测试", sandbox_missing())
    return sandbox.check_available()


class Listener:
    """A TCP server on the host's loopback that counts the connections it gets."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def attacks(course: Path, outside: Path, port: int) -> dict[str, str]:
    """student -> code appended to their (correct) rnn_cell_step answer cell."""
    gradebook = course / "gradebook.db"
    other = course / "submitted" / "honest" / AID / f"{AID}.ipynb"
    return {
        "writes_outside": f'''
for target in [{str(outside / "pwned.txt")!r}, {str(course / "pwned.txt")!r}, "/pwned.txt"]:
    try:
        open(target, "w").write("pwned")
        print("WROTE", target)
    except OSError as e:
        print("blocked:", e)
''',
        "rewrites_gradebook": f'''
from pathlib import Path
here = Path.cwd()
for folder in [here, *here.parents]:
    if (folder / "gradebook.db").exists():
        (folder / "gradebook.db").write_bytes(b"all grades gone")
        print("OVERWROTE", folder)
try:
    open({str(gradebook)!r}, "wb").write(b"all grades gone")
    print("OVERWROTE", {str(gradebook)!r})
except OSError as e:
    print("blocked:", e)
''',
        "reads_other_student": f'''
import glob
found = glob.glob("../../*/{AID}/*.ipynb") + glob.glob({str(course / "submitted" / "*" / AID / "*.ipynb")!r})
for path in [p for p in found if "reads_other_student" not in p] + [{str(other)!r}]:  # not its own
    try:
        text = open(path).read()
        print("LEAKED", path, len(text))
    except OSError as e:
        print("blocked:", e)
''',
        "opens_socket": f'''
import socket
for host in ["127.0.0.1", "localhost"]:
    try:
        socket.create_connection((host, {port}), timeout=2).close()
        print("CONNECTED", host)
    except OSError as e:
        print("blocked:", e)
''',
        "memory_hog": '''
import torch
try:
    hog = torch.ones(3 * 1024 ** 3, dtype=torch.uint8)
    print("ALLOCATED", hog.numel())
except (RuntimeError, MemoryError) as e:
    print("blocked:", str(e)[:80])
''',
        "memory_hog_uncaught": '''
hog = bytearray(3 * 1024 ** 3)
''',
        "background_process": f'''
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{MARKER}"], start_new_session=True)
print("STARTED", child.pid, child.poll())
if os.fork() == 0:  # a double-forked daemon
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)", "{MARKER}"])
    os._exit(0)
''',
        "unmounts_to_uncover": f'''
import subprocess
for cmd in (["umount", "-l", {str(course)!r}], ["mount", "-o", "remount,rw", "/"]):
    print(cmd, subprocess.run(cmd, capture_output=True, text=True).returncode)
try:
    print("LEAKED", len(open({str(gradebook)!r}, "rb").read()))
except OSError as e:
    print("blocked:", e)
''',
        "plants_symlink": f'''
import os
os.symlink({str(gradebook)!r}, "grades_link.db")
os.symlink("/etc", "etc_link")
''',
    }


@pytest.fixture(scope="module")
def graded(bwrap, tmp_path_factory, repo):
    course = make_course(repo, tmp_path_factory.mktemp("sandboxed"))
    outside = tmp_path_factory.mktemp("outside")
    with open(course / "nbgrader_config.py", "a") as f:
        f.write("\nc.Execute.timeout = 8\n"
                "# Small caps: the memory test must never put the machine at risk.\n"
                "c.SandboxedKernelManager.memory_limit_mb = 1024\n"
                "c.GuardedExecute.sandbox = True\n")
    # This run's kernel sockets go to a temp folder of its own (sandbox.socket_base reads
    # TMPDIR), so other grading runs on the machine cannot make the clean-up test fail.
    sockets = tmp_path_factory.mktemp("sockets")
    assert len(str(sockets)) <= sandbox.MAX_SOCKET_BASE, f"套接字目录路径太长：{sockets}"
    tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(sockets)
    listener = Listener()
    try:
        submit(course, "honest", AID)
        autograde(course, AID, ["honest"])
        alone = grades(course, AID, "honest")
        gradebook_before = (course / "gradebook.db").stat().st_size
        honest_file = (course / "submitted" / "honest" / AID / f"{AID}.ipynb").read_bytes()

        cases = attacks(course, outside, listener.port)
        for sid, code in cases.items():
            step = submit(course, sid, AID)  # reference answers everywhere...
            nb = read(step)
            cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "rnn_cell_step")
            cell.source += "\n" + code  # ...plus the attack, after the function is defined
            nbformat.write(nb, str(step))
        proc = autograde(course, AID, list(cases))
        time.sleep(0.5)
    finally:
        listener.close()
        if tmpdir is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = tmpdir
    return dict(course=course, outside=outside, proc=proc, alone=alone, cases=cases, listener=listener,
                gradebook_before=gradebook_before, honest_file=honest_file,
                sockets=sockets, kernel_dirs_left=list(sockets.glob("rnnlab-kernel-*")))


def _output(g, sid) -> str:
    nb = read(g["course"] / "autograded" / sid / AID / f"{AID}.ipynb")
    return "\n".join(o.get("text", "") + o.get("ename", "") + str(o.get("evalue", "")) for c in nb.cells
                     if c.cell_type == "code"
                     for o in c.get("outputs", []))


def test_the_batch_finishes_and_everyone_is_recorded(graded):
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gb:
        for sid in graded["cases"]:
            nb = gb.find_submission_notebook(AID, AID, sid)
            assert all(g.auto_score is not None for g in nb.grades if g.name != "written_concat"), sid


@pytest.mark.parametrize("sid", ["honest", "writes_outside", "rewrites_gradebook", "reads_other_student",
                                 "opens_socket", "memory_hog", "memory_hog_uncaught", "background_process",
                                 "unmounts_to_uncover", "plants_symlink"])
def test_answers_get_the_grade_they_deserve(graded, sid):
    got, full = grades(graded["course"], AID, sid), max_points(graded["course"], AID)
    assert {k: got[k] for k in full if k != "written_concat"} == {k: v for k, v in full.items() if k != "written_concat"}


def test_honest_answers_get_full_marks_inside_the_sandbox(graded):
    full = max_points(graded["course"], AID)
    assert graded["alone"] == {k: (None if k == "written_concat" else v) for k, v in full.items()}
    assert "blocked" not in _output(graded, "honest")


def test_nothing_is_written_outside_the_submission_folder(graded):
    out = _output(graded, "writes_outside")
    assert "WROTE" not in out and "Read-only file system" in out
    assert not (graded["outside"] / "pwned.txt").exists()
    assert not (graded["course"] / "pwned.txt").exists() and not Path("/pwned.txt").exists()


def test_the_gradebook_cannot_be_rewritten_and_no_grade_changes(graded):
    out = _output(graded, "rewrites_gradebook")
    assert "OVERWROTE" not in out and "blocked" in out
    assert (graded["course"] / "gradebook.db").read_bytes()[:15] == b"SQLite format 3"
    assert (graded["course"] / "gradebook.db").stat().st_size >= graded["gradebook_before"]
    assert grades(graded["course"], AID, "honest") == graded["alone"]


def test_other_students_work_is_invisible(graded):
    out = _output(graded, "reads_other_student")
    assert "LEAKED" not in out and "blocked" in out
    honest = graded["course"] / "submitted" / "honest" / AID / f"{AID}.ipynb"
    assert honest.read_bytes() == graded["honest_file"]


def test_no_network_not_even_loopback(graded):
    out = _output(graded, "opens_socket")
    assert "CONNECTED" not in out and "blocked" in out
    assert graded["listener"].connections == 0


def test_memory_beyond_the_cap_is_refused_and_the_kernel_lives_on(graded):
    assert "ALLOCATED" not in _output(graded, "memory_hog")
    assert "blocked" in _output(graded, "memory_hog")
    assert "MemoryError" in _output(graded, "memory_hog_uncaught")
    lines = [l for l in (graded["proc"].stdout + graded["proc"].stderr).splitlines()
             if "[rnnlab] 学生 memory_hog_uncaught（" in l]
    assert any("内存超过了上限" in l for l in lines), lines


def test_no_process_outlives_grading(graded):
    assert "STARTED" in _output(graded, "background_process")  # the attack did run
    alive = []
    for proc in Path("/proc").iterdir():
        try:
            if MARKER in (proc / "cmdline").read_bytes().decode(errors="replace"):
                alive.append(proc.name)
        except OSError:
            continue
    assert not alive, f"后台进程还在运行：{alive}"


def test_hidden_folders_cannot_be_uncovered(graded):
    out = _output(graded, "unmounts_to_uncover")
    assert "LEAKED" not in out and "blocked" in out


def test_planted_symlinks_are_removed_and_reported(graded):
    folder = graded["course"] / "autograded" / "plants_symlink" / AID
    assert not (folder / "grades_link.db").is_symlink() and not (folder / "etc_link").is_symlink()
    lines = [l for l in (graded["proc"].stdout + graded["proc"].stderr).splitlines()
             if "[rnnlab] 学生 plants_symlink（" in l]
    assert any("符号链接" in l and "grades_link.db" in l for l in lines), lines


def test_kernel_sockets_leave_no_trace(graded):
    folder = graded["course"] / "autograded" / "honest" / AID
    assert sorted(p.name for p in folder.iterdir()) == [f"{AID}.ipynb"]
    assert not graded["kernel_dirs_left"]
    # ...and that folder is where nbgrader's kernels put them (TMPDIR, as set for the run).
    env = {**os.environ, "TMPDIR": str(graded["sockets"])}
    where = subprocess.run([sys.executable, "-c", "from rnnlab.grading.plugins import sandbox; print(sandbox.socket_base())"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(graded["sockets"])


# ------------------------------------------------------------ no sandbox available

def test_grading_refuses_without_bubblewrap_unless_the_instructor_opts_out(tmp_path, repo):
    course = make_course(repo, tmp_path / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8")
                      + "\nc.GuardedExecute.sandbox = True\nc.SandboxedKernelManager.bwrap = 'bwrap-not-installed'\n",
                      encoding="utf-8")
    submitted = submit(course, "honest", AID)
    before = submitted.read_bytes()

    run_nbgrader(course, "db", "student", "add", "honest")
    refused = run_nbgrader(course, "autograde", AID, "--force", check=False)
    log = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "apt-get install bubblewrap" in log and "c.GuardedExecute.sandbox = False" in log
    assert not (course / "autograded" / "honest" / AID / f"{AID}.ipynb").exists()  # nothing ran unsandboxed
    assert submitted.read_bytes() == before  # the student's work is untouched

    cli = subprocess.run([sys.executable, "-m", "rnnlab.grading", "autograde", AID], cwd=course,
                         capture_output=True, text=True)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr
    assert cli.stderr.count("apt-get install bubblewrap") == 1  # said once, before any student

    config.write_text(config.read_text(encoding="utf-8") + "c.GuardedExecute.sandbox = False\n", encoding="utf-8")
    graded = run_nbgrader(course, "autograde", AID, "--force")
    assert "沙箱已关闭" in graded.stdout + graded.stderr
    full = max_points(course, AID)
    assert grades(course, AID, "honest") == {k: (None if k == "written_concat" else v) for k, v in full.items()}


# ------------------------------------------------------------ the command itself

def _run_inside(bwrap, probe: str, workdir: Path, hidden: list[Path], runtime: Path) -> subprocess.CompletedProcess:
    cmd = sandbox.sandbox_command([sys.executable, "-c", probe], bwrap=bwrap, workdir=workdir, hidden=hidden,
                                  runtime_dir=runtime, memory_bytes=2 << 30, cpu_seconds=60, file_bytes=1 << 20)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_hiding_a_folder_keeps_the_code_the_kernel_imports(bwrap, repo, tmp_path):
    """The repo itself hidden (its .venv and src/ hold the interpreter's packages): torch and
    rnnlab still import, while the repo's other files are gone and its stand-in takes no writes."""
    work, runtime = tmp_path / "work", tmp_path / "runtime"
    work.mkdir(), runtime.mkdir()
    probe = ("import os, torch, rnnlab, rnnlab.checks; "
             f"print('README' if os.path.exists({str(repo / 'README.md')!r}) else 'hidden'); "
             "open('mine.txt', 'w').write('ok'); "
             f"open({str(repo / 'new.txt')!r}, 'w')")
    proc = _run_inside(bwrap, probe, work, [repo], runtime)
    assert proc.stdout.strip() == "hidden", proc.stderr
    assert "Read-only file system" in proc.stderr and not (repo / "new.txt").exists()
    assert (work / "mine.txt").read_text() == "ok"


def test_code_under_tmp_stays_importable_but_a_course_on_sys_path_stays_hidden(bwrap, tmp_path, monkeypatch):
    """A checkout under /tmp (its venv, its src/) must import inside the private /tmp; a sys.path
    entry that holds the course (nbgrader run as `python -m` in the course) must not uncover it."""
    code, course = tmp_path / "checkout" / "src", tmp_path / "course"
    code.mkdir(parents=True)
    (code / "course_tool.py").write_text("ANSWER = 42\n")
    (tmp_path / "checkout" / "notes.txt").write_text("not code")
    work = course / "autograded" / "s1" / AID
    work.mkdir(parents=True)
    (course / "gradebook.db").write_text("grades")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.syspath_prepend(str(course))
    monkeypatch.syspath_prepend(str(tmp_path))  # an ancestor of the course, too
    probe = (f"import os, sys; sys.path.insert(0, {str(code)!r}); import course_tool; print(course_tool.ANSWER); "
             f"print(os.path.exists({str(tmp_path / 'checkout' / 'notes.txt')!r}), "
             f"os.path.exists({str(course / 'gradebook.db')!r}), os.getcwd() == {str(work)!r})")
    proc = _run_inside(bwrap, probe, work, [course], runtime)
    assert proc.stdout.split() == ["42", "False", "False", "True"], proc.stderr


def test_the_kernel_never_sees_the_gradebooks_address(bwrap, tmp_path, monkeypatch):
    """RNNLAB_DB_URL (and PGPASSWORD) are the grader's: a submission that printed them would hand the
    database's address and password to its author in the feedback (deploy/README.md)."""
    work, runtime = tmp_path / "work", tmp_path / "runtime"
    work.mkdir(), runtime.mkdir()
    monkeypatch.setenv("RNNLAB_DB_URL", "postgresql+psycopg://grader:secret@127.0.0.1:5432/course")
    monkeypatch.setenv("PGPASSWORD", "secret")
    monkeypatch.setenv("RNNLAB_OTHER", "kept")  # the variables around them still reach the kernel
    probe = "import os; print(os.environ.get('RNNLAB_DB_URL'), os.environ.get('PGPASSWORD'), os.environ.get('RNNLAB_OTHER'))"
    proc = _run_inside(bwrap, probe, work, [], runtime)
    assert proc.stdout.split() == ["None", "None", "kept"], proc.stderr
