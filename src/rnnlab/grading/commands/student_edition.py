"""The student edition: the course as students receive it, without a single answer.

    python -m rnnlab.grading student-edition [--out build/student-edition] [--branch student]

This repository is the instructor's nbgrader course directory: source/ holds every hidden test
and solutions/ every executed answer, so students must never get it. The edition holds what
students use and nothing else:

- notebooks/ (the lectures) and release/ (nbgrader's student versions of the assignments): those
  the course map (rnnlab/chapters.py of the course being built) lists, and no other;
- src/rnnlab/ without rnnlab.grading (the instructor's tools; no lecture or released assignment
  imports them: the student-side suite proves it by running every one of them);
- pyproject.toml with the instructor's pins (nbgrader included: its Validate button runs the
  assignment as the grader will), the same constraints.txt, environment.yml and apt.txt (one list
  of pins), the course's JupyterLab set-up (share/: Chinese UI, no news prompt, the rnnlab-lab
  extension) and the student's side of nbgrader (etc/jupyter: Validate stays; Formgrader, Create
  Assignment and the exchange's panels, which only raise English errors without a course
  exchange, are switched off);
- a Makefile with `make lab` and `make test`, a student-side test suite (tests/test_course.py)
  and a Chinese README whose Binder badge points at the student branch.

Before it returns, the builder checks its own output: no marker of a SOLUTION or HIDDEN TESTS
region and no instructor-only path (tests/test_student_edition.py checks far more, independently).

With `branch`, the edition also becomes a commit on a local branch (default `student`), made with
git plumbing and a temporary index: the instructor's working tree, index and current branch are
never touched. Push it to the public repository with `git push <public> student`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from rnnlab.grading.course import CourseError

TEMPLATES = Path(__file__).with_name("student_edition_template")
LOCALE_SETTINGS = "share/jupyter/lab/settings/overrides.d/rnnlab.json"
# Written into the edition; a folder is only ever replaced when it holds this file (or is empty).
STAMP = ".rnnlab-student-edition"

INSTRUCTOR_ONLY_PACKAGES = ("grading",)  # subpackages of rnnlab
INSTRUCTOR_ONLY_DEPENDENCIES: tuple[str, ...] = ()
STUDENT_TEST_DEPENDENCIES = ("pytest", "nbclient", "nbformat")
COPIED = ("environment.yml", "apt.txt", "constraints.txt", "share")
# The student's JupyterLab set-up (etc/jupyter/…), installed like share/ (data-files, make env).
STUDENT_JUPYTER = "etc"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")

MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
INSTRUCTOR_PATHS = re.compile(r"(^|/)(source|solutions|submitted|autograded|feedback|teacher)(/|$)|gradebook\.db"
                              r"|nbgrader_config\.py|(^|/)rnnlab/grading(/|$)")

DEFAULT_BINDER_REPO = "rnnlab-zh/rnnlab-course"
BINDER_BADGE = re.compile(r"mybinder\.org/v2/gh/([\w.-]+/[\w.-]+)/")


def course_map(repo: Path):
    """The rnnlab.chapters module of the course in `repo` (not necessarily the one running)."""
    spec = importlib.util.spec_from_file_location("_course_chapters", repo / "src" / "rnnlab" / "chapters.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(spec.name, None)
    return module


def _pin_lines(pins: list[str]) -> str:
    return "\n".join(f'    "{p}",' for p in pins)


def _name(requirement: str) -> str:
    return re.split(r"[=<>!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def student_pyproject(repo: Path) -> str:
    """The edition's pyproject.toml: the instructor's exact pins, minus what only instructors use."""
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = [d for d in project["dependencies"] if _name(d) not in INSTRUCTOR_ONLY_DEPENDENCIES]
    test_pins = {_name(d): d for d in project["optional-dependencies"]["test"]}
    missing = [n for n in STUDENT_TEST_DEPENDENCIES if n not in test_pins]
    if missing:
        raise CourseError(f"pyproject.toml 的 test 依赖里没有 {missing}，学生版的自检需要它们。")
    torch = [d for d in deps if _name(d) == "torch"]
    if not torch or "==" not in torch[0]:
        raise CourseError("pyproject.toml 里的 torch 必须固定版本（torch==…）。")
    data_files = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["data-files"]
    data_files = {**data_files, **student_data_files()}
    text = (TEMPLATES / "pyproject.toml").read_text(encoding="utf-8")
    for key, value in {"VERSION": project["version"], "REQUIRES_PYTHON": project["requires-python"],
                       "DEPENDENCIES": _pin_lines(deps),
                       "TEST": _pin_lines([test_pins[n] for n in STUDENT_TEST_DEPENDENCIES]),
                       "DATA_FILES": "\n".join(f'"{d}" = {json.dumps(f)}' for d, f in data_files.items())}.items():
        text = text.replace(f"@{key}@", value)
    return text


def student_data_files() -> dict[str, list[str]]:
    """pyproject data-files for the student's etc/jupyter files: one entry per folder."""
    folders: dict[str, list[str]] = {}
    for path in sorted((TEMPLATES / STUDENT_JUPYTER).rglob("*.json")):
        rel = path.relative_to(TEMPLATES).as_posix()
        folders.setdefault(str(Path(rel).parent.as_posix()), []).append(rel)
    return folders


def torch_version(repo: Path) -> str:
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return next(d.split("==")[1].strip() for d in project["dependencies"] if _name(d) == "torch")


def binder_url(repo: Path, branch: str, binder_repo: str | None = None) -> str:
    """Binder link to the overview on `branch` of the public repository (default: the one the
    instructor README's badge names)."""
    if binder_repo is None:
        m = BINDER_BADGE.search((repo / "README.md").read_text(encoding="utf-8"))
        binder_repo = m.group(1) if m else DEFAULT_BINDER_REPO
    return f"https://mybinder.org/v2/gh/{binder_repo}/{branch}?urlpath=lab/tree/notebooks/{course_map(repo).OVERVIEW}"


def _prepare(out: Path, repo: Path) -> None:
    """Empty `out`, refusing anything that is not an earlier edition or an empty folder."""
    out_r, repo_r = out.resolve(), repo.resolve()
    if out_r == repo_r or out_r in repo_r.parents:
        raise CourseError(f"{out} 包含课程目录本身，不能作为学生版的输出文件夹。")
    if out_r.exists():
        if not out_r.is_dir():
            raise CourseError(f"{out} 已存在，而且不是文件夹。")
        if any(out_r.iterdir()) and not (out_r / STAMP).is_file():
            raise CourseError(f"{out} 里已有别的文件（不是以前生成的学生版），为安全起见不覆盖；请换一个 --out。")
        shutil.rmtree(out_r)
    out_r.mkdir(parents=True)


def problems(edition: Path) -> list[str]:
    """Instructor-only paths and region markers anywhere in `edition` (empty when clean)."""
    found = []
    for path in sorted(p for p in edition.rglob("*") if p.is_file()):
        rel = path.relative_to(edition).as_posix()
        if INSTRUCTOR_PATHS.search(rel):
            found.append(f"{rel}：只属于教师的文件")
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{rel}：含有 {m}" for m in MARKERS if m in text]
    return found


def build(repo: Path, out: Path, branch: str = "student", binder_repo: str | None = None) -> list[Path]:
    """Write the student edition of the course in `repo` to `out`; return its files (relative)."""
    repo = Path(repo).resolve()
    out = Path(out)
    if not out.is_absolute():
        out = repo / out
    chapters = course_map(repo)
    lectures = [f"notebooks/{name}" for name in chapters.lectures()]
    assignments = [f"release/{aid}" for aid in chapters.assignments()]
    for needed in (*lectures, *assignments, "src/rnnlab", "pyproject.toml", *COPIED):
        if not (repo / needed).exists():
            raise CourseError(f"课程目录里没有 {needed}，无法生成学生版（assignments 未生成时先运行 make assignments）。")
    pyproject = student_pyproject(repo)  # fails before anything is deleted
    _prepare(out, repo)

    (out / "notebooks").mkdir()
    for rel in lectures:
        shutil.copy2(repo / rel, out / rel)
    for rel in assignments:
        shutil.copytree(repo / rel, out / rel, ignore=IGNORED)
    shutil.copytree(repo / "src" / "rnnlab", out / "src" / "rnnlab",
                    ignore=lambda d, names: {*IGNORED(d, names),
                                             *(n for n in names if Path(d) == repo / "src" / "rnnlab"
                                               and n in INSTRUCTOR_ONLY_PACKAGES)})
    for rel in COPIED:
        if (repo / rel).is_dir():
            shutil.copytree(repo / rel, out / rel, ignore=IGNORED)
        else:
            shutil.copy2(repo / rel, out / rel)
    shutil.copytree(TEMPLATES / STUDENT_JUPYTER, out / STUDENT_JUPYTER, ignore=IGNORED)
    (out / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (out / "Makefile").write_text((TEMPLATES / "Makefile").read_text(encoding="utf-8")
                                  .replace("@TORCH@", torch_version(repo)), encoding="utf-8")
    readme = (TEMPLATES / "README.md").read_text(encoding="utf-8")
    readme = chapters.with_map(readme.replace("@BINDER_URL@", binder_url(repo, branch, binder_repo)), "")
    (out / "README.md").write_text(readme, encoding="utf-8")
    (out / ".gitignore").write_text((TEMPLATES / "gitignore").read_text(encoding="utf-8"), encoding="utf-8")
    (out / "tests").mkdir()
    for test in sorted((TEMPLATES / "tests").glob("*.py")):
        shutil.copy2(test, out / "tests" / test.name)
    (out / STAMP).write_text("由教师仓库的 `python -m rnnlab.grading student-edition` 生成；"
                             "重新生成时整个文件夹会被替换，请不要在这里修改。\n", encoding="utf-8")

    found = problems(out)
    if found:
        shutil.rmtree(out)
        raise CourseError("学生版里出现了不该给学生的内容，已删除输出文件夹：\n" + "\n".join(found[:20]))
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())


# ------------------------------------------------------------------ the local branch

def _git(repo: Path, *args: str, env: dict | None = None, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise CourseError(f"git {' '.join(args)} 失败：{(proc.stderr or proc.stdout).strip()}")
    return proc.stdout.strip()


def commit_to_branch(repo: Path, edition: Path, branch: str = "student") -> tuple[str, bool]:
    """Commit the files of `edition` as the whole tree of local branch `branch` of `repo`.

    Git plumbing with a temporary index: the instructor's working tree, index and HEAD stay as
    they were. Returns (commit, created); created is False when the tree was already the branch's.
    """
    repo, edition = Path(repo).resolve(), Path(edition).resolve()
    if _git(repo, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise CourseError(f"{repo} 不是 git 仓库，无法提交到分支 {branch}。")
    if _git(repo, "check-ref-format", "--branch", branch, check=False) != branch:
        raise CourseError(f"{branch!r} 不是合法的分支名。")
    ref = f"refs/heads/{branch}"
    if _git(repo, "symbolic-ref", "-q", "HEAD", check=False) == ref:
        raise CourseError(f"当前检出的就是分支 {branch}：学生版只能提交到另一个分支。")
    git_dir = _git(repo, "rev-parse", "--absolute-git-dir")
    with tempfile.TemporaryDirectory(prefix="rnnlab-edition-index-") as tmp:
        env = {**os.environ, "GIT_DIR": git_dir, "GIT_WORK_TREE": str(edition),
               "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        if not _git(repo, "config", "user.name", check=False):
            env.setdefault("GIT_AUTHOR_NAME", "rnnlab student-edition")
            env.setdefault("GIT_COMMITTER_NAME", "rnnlab student-edition")
        if not _git(repo, "config", "user.email", check=False):
            env.setdefault("GIT_AUTHOR_EMAIL", "rnnlab@localhost")
            env.setdefault("GIT_COMMITTER_EMAIL", "rnnlab@localhost")
        _git(edition, "add", "--all", "--force", ".", env=env)
        tree = _git(edition, "write-tree", env=env)
        parent = _git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}", check=False)
        if parent and _git(repo, "rev-parse", f"{parent}^{{tree}}") == tree:
            return parent, False
        head = _git(repo, "rev-parse", "--short", "HEAD", check=False) or "（尚无提交）"
        dirty = "（工作区有未提交的改动）" if _git(repo, "status", "--porcelain", check=False) else ""
        message = f"学生版：由教师仓库 {head}{dirty} 生成\n\npython -m rnnlab.grading student-edition --branch {branch}"
        commit = _git(edition, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, env=env)
        _git(repo, "update-ref", "-m", "rnnlab student-edition", ref, commit, parent or "")
    return commit, True


def run(course: Path, args) -> str:
    out = args.out if args.out.is_absolute() else course / args.out
    files = build(course, out, branch=args.branch or "student", binder_repo=args.binder_repo)
    lines = [f"学生版已生成：{out}（{len(files)} 个文件；make lab、make test 在那里同样可用）。"]
    if args.branch:
        commit, created = commit_to_branch(course, out, args.branch)
        lines.append(f"{'已提交到' if created else '没有变化，仍是'}本地分支 {args.branch}：{commit[:12]}。"
                     f"推送到学生的公开仓库：git push <公开仓库> {args.branch}")
    return "\n".join(lines)
