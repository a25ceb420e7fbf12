"""`python -m rnnlab.grading autograde AID [...]`: grade every submission, one line per student.

The steps, in the order `run` takes them:

1. one autograde command per course at a time (`one_run_at_a_time`, an flock on .autograde.lock) and, with the
   gradebook on PostgreSQL, one grader per assignment across checkouts (`one_grader_per_assignment`);
2. the (assignment, student) pairs to grade (`_autograde_pairs`), creating a fresh clone's gradebook
   entries from source/ first (`ensure_gradebook`); folders whose names nbgrader would read as
   glob patterns are set aside (`_glob_named`);
3. the sandbox checked once before any student code runs (plugins/sandbox.py `preflight`);
4. the submissions graded by worker processes, one at a time each (autograde_workers.py `grade`),
   every one under one run id for the incidents log;
5. the per-student table, or one Chinese sentence naming what failed and how to grade it again (`_report`).
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from rnnlab.grading import assignment_lock, gradebook, incidents
from rnnlab.grading.commands import autograde_workers
from rnnlab.grading.course import CourseError, assignment_ids, known_assignment, run_nbgrader
from rnnlab.grading.plugins import sandbox

# One autograde command per course at a time (the file is git-ignored).
RUN_LOCK = ".autograde.lock"


def run(course: Path, args) -> str:
    with one_run_at_a_time(course):
        return _autograde(course, args)


@contextmanager
def one_run_at_a_time(course: Path):
    """Hold the course's autograde lock for the whole command, or refuse in Chinese.

    Two autograde commands at once (two assistants, or one forgotten in another terminal)
    would grade the same submissions into the same autograded/ folders, each deleting what the
    other writes. The lock is an flock: it dies with its process, so it is never left stale.
    """
    f = open(course / RUN_LOCK, "a+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "另一个进程"
        f.close()
        raise CourseError(f"这门课正在由另一个 autograde 批改（{holder}）。等它结束再运行："
                          "两个批改同时进行会互相覆盖同一份作业的批改结果。") from None
    f.seek(0)
    f.truncate()
    f.write(f"进程 {os.getpid()}，{time.strftime('%Y-%m-%d %H:%M:%S')} 开始\n")
    f.flush()
    try:
        yield
    finally:
        f.truncate(0)
        fcntl.flock(f, fcntl.LOCK_UN)
        f.close()


@contextmanager
def one_grader_per_assignment(aids: list[str]):
    """With the gradebook on PostgreSQL: hold each assignment's lock for the whole command, or refuse in Chinese
    (assignment_lock.py says why). The workers grade under it: HELD_BY tells their nbgrader so (`_grade`)."""
    url = gradebook.server_url()
    if url is None:
        yield None
        return
    who = assignment_lock.holder_name("rnnlab autograde")
    try:
        with assignment_lock.hold(url, aids, who):
            yield who
    except assignment_lock.Refused as e:
        raise CourseError(str(e)) from None
    except assignment_lock.Unreachable as e:
        raise CourseError(f"连不上成绩册数据库 {gradebook.where(Path())}（环境变量 {gradebook.ENV}）：{e}") from None


def submitted_students(course: Path, aid: str) -> list[str]:
    """Students with a folder submitted/<student>/<aid>/ (what `nbgrader autograde AID` would grade)."""
    folder = course / "submitted"
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir()
                  if not d.name.startswith(".") and (d / aid).is_dir())


def ensure_gradebook(course: Path, aid: str) -> None:
    """On a fresh clone gradebook.db (git-ignored) lacks the assignment: create its entries from source/.

    Runs `nbgrader generate_assignment` as `regenerate` does, but writes the release copy into a
    temporary folder, so the committed release/ is not touched.
    """
    from nbgrader.api import MissingEntry

    if gradebook.exists(course):
        with gradebook.open(course) as gb:
            try:
                if gb.find_assignment(aid).notebooks:
                    return
            except MissingEntry:
                pass
    with tempfile.TemporaryDirectory() as tmp:
        run_nbgrader(course, "generate_assignment", aid, "--force", f"--CourseDirectory.release_directory={tmp}")
    print(f"成绩册里还没有作业 {aid}：已按 source/{aid}/ 建好它的题目和分值（即 nbgrader generate_assignment）。")


def _autograde_pairs(course: Path, args) -> list[tuple[str, str]]:
    """The (assignment, student) pairs to grade: every submission, or the students named."""
    if args.all:
        aids = assignment_ids(course)
    elif args.assignment:
        aids = [known_assignment(course, a) for a in dict.fromkeys(args.assignment)]
    else:
        raise CourseError("请给出要批改的作业编号（如 autograde a1_rnncell），或用 --all 批改全部作业。")
    for aid in aids:
        ensure_gradebook(course, aid)
    if not (course / "submitted").is_dir():
        raise CourseError("submitted/ 下还没有任何提交：先运行 collect。")
    pairs = []
    for aid in aids:
        have = submitted_students(course, aid)
        if args.student:
            if len(aids) == 1:
                lost = [s for s in args.student if s not in have]
                if lost:
                    raise CourseError(f"这些学生没有提交 {aid}（submitted/<学号>/{aid}/ 不存在）：{lost}")
            have = [s for s in dict.fromkeys(args.student) if s in have]
        pairs += [(aid, s) for s in have]
    if args.student and len(aids) > 1:
        nowhere = [s for s in dict.fromkeys(args.student) if all(s != sid for _, sid in pairs)]
        if nowhere:
            raise CourseError(f"这些学生在 {'、'.join(aids)} 里都没有提交（学号写错了？）：{nowhere}")
    if not pairs:
        raise CourseError(f"submitted/ 下没有{'这些学生的' if args.student else ''}提交：{'、'.join(aids)}。")
    return pairs


# nbgrader reads a student id as a glob pattern in some places and literally in others: a
# folder named like this would fail to grade, or be graded with another student's files.
GLOB_CHARS = re.compile(r"[*?\[\]]")


def _glob_named(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], str]:
    """The pairs nbgrader can grade, and a Chinese sentence naming the folders it cannot."""
    odd = sorted({sid for _, sid in pairs if GLOB_CHARS.search(sid)})
    if not odd:
        return pairs, ""
    return ([(aid, sid) for aid, sid in pairs if sid not in odd],
            f"submitted/ 下的文件夹 {'、'.join(odd)} 没有批改：名字里的 * ? [ ] 会被 nbgrader 当成通配符，"
            "可能批改出错或用到别人的文件。把它们改名为学生的真实学号（字母、数字、_ . -）后，"
            "用 --student 学号 单独批改。")


def usable_cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _names(jobs) -> str:
    """'a1_rnncell：s003、s004；a2_rnn：s001' (at most 20 names per assignment)."""
    by_aid: dict[str, list[str]] = {}
    for j in jobs:
        by_aid.setdefault(j.aid, []).append(j.student)
    return "；".join(f"{aid}：{'、'.join(s[:20])}{f' 等 {len(s)} 名' if len(s) > 20 else ''}"
                    for aid, s in by_aid.items())


def _student_arg(sid: str) -> str:
    """--student SID as a shell would need it typed (张三 as is, "a b" quoted, "-x" glued on)."""
    if sid.startswith("-"):
        return shlex.quote(f"--student={sid}")
    return "--student " + (sid if re.fullmatch(r"[\w.@%+=:,/-]+", sid) else shlex.quote(sid))


def _again(jobs) -> str:
    by_aid: dict[str, list[str]] = {}
    for j in jobs:
        by_aid.setdefault(j.aid, []).append(j.student)
    return "；".join(f"python -m rnnlab.grading autograde {aid} "
                    + " ".join(_student_arg(s) for s in students)
                    if len(students) <= 10 else f"python -m rnnlab.grading autograde {aid}"
                    for aid, students in by_aid.items())


# What nbgrader's log shows when a kernel could not be started (no cell ran at all).
KERNEL_START_FAILED = ("NoSuchKernel", "Kernel died before replying to kernel_info", "_async_start_kernel",
                       "Kernel didn't respond in", "SandboxUnavailable")


def _autograde(course: Path, args) -> str:
    gradebook.wait_for_locks()  # this process's gradebook reads wait for the workers' writes
    workers = args.jobs if args.jobs is not None else usable_cores()
    if workers < 1:
        raise CourseError("--jobs 至少是 1（同时批改的份数）。")
    pairs, not_graded = _glob_named(_autograde_pairs(course, args))
    if not pairs:
        raise CourseError(not_graded)
    try:
        sandbox.preflight(course)
    except sandbox.SandboxUnavailable as e:
        raise CourseError(str(e)) from None
    with one_grader_per_assignment(list(dict.fromkeys(aid for aid, _ in pairs))) as holder:
        return _grade(course, pairs, not_graded, workers, holder)


def _grade(course: Path, pairs, not_graded: str, workers: int, holder: str | None) -> str:
    # `workers` worker processes, one submission at a time each; each submission's log is printed
    # when it is graded, then the table below (autograde_workers.py says why the gradebook stays whole).
    # One run id for every worker: the table counts only this run's incident lines. On PostgreSQL the
    # workers' nbgrader grades under this command's assignment locks (`holder`: assignment_lock.HELD_BY).
    run = incidents.new_run_id()
    passed = {incidents.RUN_ENV: run, assignment_lock.HELD_BY: holder}
    before = {name: os.environ.get(name) for name in passed}
    for name, value in passed.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        result = autograde_workers.grade(course, pairs, min(workers, len(pairs)))
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        report = _report(course, pairs, result, run)
    except CourseError as e:
        raise CourseError(f"{e}{not_graded}") from None
    if not_graded:
        print(report, flush=True)
        raise CourseError(not_graded)
    return report


def _report(course: Path, pairs, result, run: str) -> str:
    """The per-student table of a finished run; a CourseError (after printing it) if anything failed."""
    aids = list(dict.fromkeys(aid for aid, _ in pairs))
    no_kernel = [j for j in result.having("error") if any(m in j.output for m in KERNEL_START_FAILED)]
    # The table reads the scores back; what failed is known without the gradebook. A database that went
    # away at the end (PostgreSQL restarting) costs the table, never the list of who to grade again.
    unreachable = ""
    try:
        lines = _table(course, aids, result, run, no_kernel)
    except CourseError as e:
        lines, unreachable = [], f"{e}。所以这里没有列出成绩表。"
    if no_kernel:
        graded = [j for j in result.having("done", "error") if j not in no_kernel]
        print("\n".join(lines), flush=True)
        raise CourseError(
            unreachable + (f"全部 {len(no_kernel)} 份作业" if not graded else f"{len(no_kernel)} 份作业（{_names(no_kernel)}）")
            + "的批改内核都没能启动（见上方日志），这些作业没有得到新成绩，成绩册里它们原有的成绩没有改动。"
            "常见原因：沙箱里看不到课程的 Python 环境，或 nbgrader_config.py 里的内核设置不对；"
            "先用 python -m rnnlab.grading autograde <作业> --student <一个学号> 试一份。"
            + (f"其余 {len(graded)} 份已批改并保存。" if graded else ""))
    failed = [j for j in result.having("error") if j not in no_kernel]
    lost = result.having("killed")
    left = result.having("interrupted", "waiting")
    if not (failed or lost or left):
        if unreachable:
            raise CourseError(f"{unreachable}这一次的 {len(result.having('done'))} 份作业都已批改，成绩已保存在成绩册中。")
        return "\n".join(lines)
    problems = []
    if failed:
        problems.append(f"nbgrader 批改 {len(failed)} 份作业时报错（{_names(failed)}），原因见上方日志；"
                        "成绩册里它们的成绩（若有）不是这一次的。")
    if lost:
        problems.append(f"{len(lost)} 份作业的批改进程意外终止，没有成绩：{_names(lost)}。")
    if left:
        problems.append(f"批改已中断：还有 {len(left)} 份没有批改：{_names(left)}。")
    print("\n".join(lines), flush=True)
    raise CourseError(unreachable + "".join(problems) + f"已批改的 {len(result.having('done'))} 份成绩都已保存在成绩册中。"
                      f"补批这些作业：{_again(failed + lost + left)}")


def _table(course: Path, aids: list[str], result, run: str, no_kernel) -> list[str]:
    """One line per submission of the run: its score (read back from the gradebook), or why it has none."""
    from nbgrader.api import MissingEntry

    lines = []
    with gradebook.open(course, wait=True) as gb:
        for aid in aids:
            if len(aids) > 1:
                lines.append(f"【{aid}】")
            notes = {}
            for e in incidents.read(course, aid, run=run):
                notes.setdefault(e["student"], []).append(e["what"])
            for job in sorted((j for j in result.jobs if j.aid == aid), key=lambda j: j.student):
                sid = job.student
                who = sid + " " * max(0, 16 - autograde_workers.display_width(sid))  # 16 columns, 张三 included
                if job in no_kernel:
                    lines.append(f"{who} 未批改（批改内核没能启动）")
                    continue
                if job.status == "error":  # nbgrader removed its autograded folder; a score would be stale or empty
                    lines.append(f"{who} 未批改（nbgrader 报错，见上方日志）")
                    continue
                if job.status in ("killed", "interrupted", "waiting"):
                    if job.status != "waiting":
                        lines.append(f"{who} 未批改（{autograde_workers.STATUS_TEXT[job.status]}）")
                    continue
                try:
                    sub = gb.find_submission(aid, sid)
                    line = (f"{who} {sub.score:>6.2f} / {sub.max_score:<6g}"
                            + ("（简答题待人工评分）" if sub.needs_manual_grade else ""))
                except MissingEntry:
                    continue
                if sid in notes:
                    line += f"  ← {len(notes[sid])} 条情况记录，见上方 [rnnlab] 日志"
                lines.append(line)
    return lines
