"""The instructor's loop, one command each, wrapping nbgrader's own CLI in the course directory.

    python -m rnnlab.grading regenerate [AID ...]     # release/ and solutions/ from source/
    python -m rnnlab.grading roster 名单.csv           # import students (学号, 姓名 / id, first_name, ...)
    python -m rnnlab.grading collect AID 提交.zip|文件夹  # LMS download or a folder -> submitted/
    python -m rnnlab.grading autograde AID            # grade everything, one line per student
    python -m rnnlab.grading feedback AID             # Chinese HTML feedback in feedback/
    python -m rnnlab.grading export [grades.csv]      # every grade as CSV
    python -m rnnlab.grading summary AID [--csv F]    # per-question summary of the class
    python -m rnnlab.grading manual-export AID [简答.csv]  # written answers + rubric to fill in Excel
    python -m rnnlab.grading manual-import AID 简答.csv    # the filled scores/comments into the gradebook
    python -m rnnlab.grading student-edition [--out build/student-edition] [--branch student]
                                                      # the course without answers, for students

Every failure is one Chinese sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from rnnlab.grading import incidents, sandbox
from rnnlab.grading.nbgrader_cli import CourseError, assignment_ids, find_course_dir, run_nbgrader
from rnnlab.grading.regenerate import regenerate
from rnnlab.grading.roster import read_roster, write_nbgrader_csv
from rnnlab.grading.summary import format_table, summarise, write_csv

def _known_assignment(course: Path, aid: str) -> str:
    if aid not in assignment_ids(course):
        raise CourseError(f"没有作业 {aid!r}；现有的作业：{assignment_ids(course)}")
    return aid


def _students(course: Path) -> list[str]:
    from nbgrader.api import Gradebook

    db = course / "gradebook.db"
    if not db.is_file():
        return []
    with Gradebook(f"sqlite:///{db}") as gb:
        return sorted(s.id for s in gb.students)


def cmd_regenerate(course: Path, args) -> str:
    done = regenerate(course, args.assignments)
    return "\n".join(f"已生成 release/{a}/ 与 solutions/{a}/" for a in done)


def cmd_roster(course: Path, args) -> str:
    students = read_roster(args.csv)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = write_nbgrader_csv(students, Path(tmp) / "roster.csv")
        run_nbgrader(course, "db", "student", "import", str(csv_path))
    return f"已导入 {len(students)} 名学生。"


def cmd_collect(course: Path, args) -> str:
    from rnnlab.grading.collect import collect, roster_of

    aid = _known_assignment(course, args.assignment)
    return collect(course, aid, Path(args.source), roster_of(course), args.pattern)


def ensure_gradebook(course: Path, aid: str) -> None:
    """On a fresh clone gradebook.db (git-ignored) lacks the assignment: create its entries from source/.

    Runs `nbgrader generate_assignment` as `regenerate` does, but writes the release copy into a
    temporary folder, so the committed release/ is not touched.
    """
    from nbgrader.api import Gradebook, MissingEntry

    db = course / "gradebook.db"
    if db.is_file():
        with Gradebook(f"sqlite:///{db}") as gb:
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
    from rnnlab.grading.parallel import submitted_students

    if args.all:
        aids = assignment_ids(course)
    elif args.assignment:
        aids = [_known_assignment(course, a) for a in dict.fromkeys(args.assignment)]
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


def cmd_autograde(course: Path, args) -> str:
    from rnnlab.grading import parallel

    with parallel.one_run_at_a_time(course):
        return _autograde(course, args)


def _autograde(course: Path, args) -> str:
    from rnnlab.grading import parallel

    parallel.wait_for_locks()  # this process's gradebook reads wait for the workers' writes
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
    # `workers` worker processes, one submission at a time each; each submission's log is printed
    # when it is graded, then the table below (parallel.py says why the gradebook stays whole).
    # One run id for every worker: the table counts only this run's incident lines.
    run = incidents.new_run_id()
    before_env = os.environ.get(incidents.RUN_ENV)
    os.environ[incidents.RUN_ENV] = run
    try:
        result = parallel.grade(course, pairs, min(workers, len(pairs)))
    finally:
        if before_env is None:
            os.environ.pop(incidents.RUN_ENV, None)
        else:
            os.environ[incidents.RUN_ENV] = before_env
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
    from nbgrader.api import MissingEntry

    from rnnlab.grading import parallel

    aids = list(dict.fromkeys(aid for aid, _ in pairs))
    no_kernel = [j for j in result.having("error") if any(m in j.output for m in KERNEL_START_FAILED)]
    lines = []
    with parallel.gradebook(course) as gb:
        for aid in aids:
            if len(aids) > 1:
                lines.append(f"【{aid}】")
            notes = {}
            for e in incidents.read(course, aid, run=run):
                notes.setdefault(e["student"], []).append(e["what"])
            for job in sorted((j for j in result.jobs if j.aid == aid), key=lambda j: j.student):
                sid = job.student
                who = sid + " " * max(0, 16 - parallel.display_width(sid))  # 16 columns, 张三 included
                if job in no_kernel:
                    lines.append(f"{who} 未批改（批改内核没能启动）")
                    continue
                if job.status == "error":  # nbgrader removed its autograded folder; a score would be stale or empty
                    lines.append(f"{who} 未批改（nbgrader 报错，见上方日志）")
                    continue
                if job.status in ("killed", "interrupted", "waiting"):
                    if job.status != "waiting":
                        lines.append(f"{who} 未批改（{parallel.STATUS_TEXT[job.status]}）")
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
    if no_kernel:
        graded = [j for j in result.having("done", "error") if j not in no_kernel]
        print("\n".join(lines), flush=True)
        raise CourseError(
            (f"全部 {len(no_kernel)} 份作业" if not graded else f"{len(no_kernel)} 份作业（{_names(no_kernel)}）")
            + "的批改内核都没能启动（见上方日志），这些作业没有得到新成绩，成绩册里它们原有的成绩没有改动。"
            "常见原因：沙箱里看不到课程的 Python 环境，或 nbgrader_config.py 里的内核设置不对；"
            "先用 python -m rnnlab.grading autograde <作业> --student <一个学号> 试一份。"
            + (f"其余 {len(graded)} 份已批改并保存。" if graded else ""))
    failed = [j for j in result.having("error") if j not in no_kernel]
    lost = result.having("killed")
    left = result.having("interrupted", "waiting")
    if not (failed or lost or left):
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
    raise CourseError("".join(problems) + f"已批改的 {len(result.having('done'))} 份成绩都已保存在成绩册中。"
                      f"补批这些作业：{_again(failed + lost + left)}")


def cmd_feedback(course: Path, args) -> str:
    aid = _known_assignment(course, args.assignment)
    run_nbgrader(course, "generate_feedback", aid, "--force")
    files = sorted((course / "feedback").glob(f"*/{aid}/*.html"))
    return f"已为 {len({f.parent.parent.name for f in files})} 名学生生成中文反馈：feedback/<学号>/{aid}/*.html"


def cmd_export(course: Path, args) -> str:
    from rnnlab.grading.summary import NOT_SUBMITTED, PENDING, grade_table, write_table

    dest = Path(args.to)
    dest = (dest if dest.is_absolute() else Path.cwd() / dest).resolve()
    header, rows = grade_table(course, args.assignment or None)
    write_table(header, rows, dest)
    missing = sum(NOT_SUBMITTED in r for r in rows)
    pending = sum(PENDING in r for r in rows)
    lines = [f"成绩已导出到 {dest}：{len(rows)} 名学生，{len(header) - 2} 列成绩"
             f"（UTF-8 带 BOM，Excel 可直接打开）。"]
    if missing:
        lines.append(f"{missing} 名学生有作业“{NOT_SUBMITTED}”。")
    if pending:
        lines.append(f"{pending} 名学生有简答题“{PENDING}”（人工评分后再导出一次）。")
    return "\n".join(lines)


def cmd_manual_export(course: Path, args) -> str:
    from rnnlab.grading import manual

    _known_assignment(course, args.assignment)
    return manual.cmd_export(course, args)


def cmd_manual_import(course: Path, args) -> str:
    from rnnlab.grading import manual

    _known_assignment(course, args.assignment)
    return manual.cmd_import(course, args)


def cmd_summary(course: Path, args) -> str:
    aid = _known_assignment(course, args.assignment)
    questions, n, per_student = summarise(course, aid)
    if args.csv:
        write_csv(questions, Path(args.csv))
    return format_table(questions, n, per_student)


def cmd_student_edition(course: Path, args) -> str:
    from rnnlab.grading import edition

    out = args.out if args.out.is_absolute() else course / args.out
    files = edition.build(course, out, branch=args.branch or "student", binder_repo=args.binder_repo)
    lines = [f"学生版已生成：{out}（{len(files)} 个文件；make lab、make test 在那里同样可用）。"]
    if args.branch:
        commit, created = edition.commit_to_branch(course, out, args.branch)
        lines.append(f"{'已提交到' if created else '没有变化，仍是'}本地分支 {args.branch}：{commit[:12]}。"
                     f"推送到学生的公开仓库：git push <公开仓库> {args.branch}")
    return "\n".join(lines)


class ChineseFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix="用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    """argparse with Chinese section titles, -h text and usage errors (sub-commands inherit it)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("add_help", False)
        kwargs.setdefault("formatter_class", ChineseFormatter)
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示这段说明并退出")

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：命令行参数不对（{message}）。用 -h 查看说明。\n")


def build_parser() -> argparse.ArgumentParser:
    p = ChineseParser(prog="python -m rnnlab.grading", description="课程的教师命令（封装 nbgrader）")
    p.add_argument("--course-dir", type=Path, default=None, help="课程目录（默认：从当前目录向上查找）")
    sub = p.add_subparsers(dest="command", required=True, metavar="命令")
    s = sub.add_parser("regenerate", help="从 source/ 重新生成 release/ 与 solutions/")
    s.add_argument("assignments", nargs="*")
    s = sub.add_parser("roster", help="从 CSV 名单导入学生")
    s.add_argument("csv", type=Path)
    s = sub.add_parser("collect", help="从教学平台下载的 zip 或文件夹收作业")
    s.add_argument("assignment", metavar="作业编号")
    s.add_argument("source", metavar="zip或文件夹", help="教学平台下载的 zip，或放着作业的文件夹")
    s.add_argument("--pattern", default=None, metavar="正则",
                   help="认学号的正则表达式，在解压后的相对路径里查找，要有名为 student_id 的组，"
                        r"例如 '^[^/]*/(?P<student_id>\d{10})[^/]*\.ipynb$'（默认：按名单和常见命名自动认）")
    s = sub.add_parser("autograde", help="自动批改（多份同时进行）")
    s.add_argument("assignment", nargs="*", metavar="作业编号", help="要批改的作业（可写多个）")
    s.add_argument("--all", action="store_true", help="批改所有作业的全部提交")
    s.add_argument("--student", action="append", default=None, metavar="学号",
                   help="只批改这个学生（可写多次）")
    s.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="同时批改的份数（默认：CPU 核数）；每份仍在自己的沙箱内核里运行")
    s = sub.add_parser("feedback", help="生成中文反馈（HTML）")
    s.add_argument("assignment")
    s = sub.add_parser("export", help="导出成绩 CSV（Excel 可直接打开：每个学生一行，每道题一列）")
    s.add_argument("to", nargs="?", default="成绩.csv", help="保存到哪个文件（默认 成绩.csv）")
    s.add_argument("--assignment", action="append", default=None, metavar="作业编号",
                   help="只导出这个作业（可写多次；默认导出所有已批改的作业）")
    s = sub.add_parser("manual-export", help="把简答题答案、评分标准导出为 CSV，填好得分和评语后用 manual-import 导回")
    s.add_argument("assignment", metavar="作业编号")
    s.add_argument("to", nargs="?", default="简答.csv", metavar="CSV文件", help="保存到哪个文件（默认 简答.csv）")
    s = sub.add_parser("manual-import", help="把填好得分和评语的 CSV 写入成绩册（先检查每一行，有错就一行也不写）")
    s.add_argument("assignment", metavar="作业编号")
    s.add_argument("csv", metavar="CSV文件", help="manual-export 导出、填好“得分”“评语”两列的文件")
    s = sub.add_parser("summary", help="全班每道题的得分情况")
    s.add_argument("assignment")
    s.add_argument("--csv", default=None)
    s = sub.add_parser("student-edition", help="生成不含答案和隐藏测试的学生版（可同时提交到本地分支）")
    s.add_argument("--out", type=Path, default=Path("build/student-edition"),
                   help="输出文件夹（默认 build/student-edition，相对于课程目录）")
    s.add_argument("--branch", nargs="?", const="student", default=None,
                   help="同时把学生版提交到这个本地分支（默认 student），不动当前分支和工作区")
    s.add_argument("--binder-repo", default=None,
                   help="学生的公开仓库 owner/name，用于 Binder 徽章（默认取 README 徽章里的仓库）")
    return p


COMMANDS = {"regenerate": cmd_regenerate, "roster": cmd_roster, "collect": cmd_collect,
            "autograde": cmd_autograde, "feedback": cmd_feedback, "export": cmd_export, "summary": cmd_summary,
            "student-edition": cmd_student_edition, "manual-export": cmd_manual_export,
            "manual-import": cmd_manual_import}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        course = find_course_dir(args.course_dir)
        print(COMMANDS[args.command](course, args))
    except CourseError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
