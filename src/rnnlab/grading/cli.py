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
    python -m rnnlab.grading migrate-gradebook URL    # gradebook.db into an empty PostgreSQL database
    python -m rnnlab.grading syllabus [--out build/syllabus]   # the syllabus: Markdown, HTML and PDF
    python -m rnnlab.grading question-bank [--out build/question-bank]
                                                      # lecture quizzes + teacher/question_bank.toml as
                                                      # Moodle XML, xlsx and CSV (题库 layout)
    python -m rnnlab.grading site [--out build/site]  # the offline course website (executed lectures,
                                                      # course map, search, downloads)
    python -m rnnlab.grading handouts [--no-answers]  # one PDF per lecture (build/handouts)
    python -m rnnlab.grading slides [--mark]          # one reveal.js deck per lecture (build/slides);
                                                      # --mark: set the lectures' slide metadata from their headings
    (the three share the executed lectures in build/kit/executed: rnnlab/grading/lectures_export.py)

With the environment variable RNNLAB_DB_URL (postgresql+psycopg://...) every command reads and writes
that database instead of gradebook.db (rnnlab/grading/gradebook.py).

Every failure is one Chinese sentence on stderr and exit code 2, never a traceback.

`cli.py` only parses the arguments and hands them to the command's module in commands/ (COMMANDS),
imported when that command runs; each module's `run(course, args)` holds the command's steps.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from rnnlab.grading.course import CourseError, find_course_dir


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
    s = sub.add_parser("question-bank", help="导出题库：讲义自测题和 teacher/question_bank.toml 的教师专用题（Moodle XML、xlsx、CSV）")
    s.add_argument("--out", type=Path, default=Path("build/question-bank"),
                   help="输出文件夹（默认 build/question-bank，相对于课程目录）")
    s = sub.add_parser("migrate-gradebook", help="把 gradebook.db（SQLite）整个搬进一个空的 PostgreSQL 数据库（多位批改者共用）")
    s.add_argument("url", metavar="数据库地址", help="形如 postgresql+psycopg://用户@主机:5432/数据库")
    s = sub.add_parser("syllabus", help="生成课程大纲（Markdown、可打印的 HTML 和 PDF）")
    s.add_argument("--out", type=Path, default=Path("build/syllabus"),
                   help="输出文件夹（默认 build/syllabus，相对于课程目录）")
    executed_help = "已运行讲义的缓存文件夹（默认 build/kit/executed；讲义或 src/rnnlab 改动后才重新运行）"
    s = sub.add_parser("site", help="生成离线课程网站（运行过的讲义、课程地图、全文搜索、下载）")
    s.add_argument("--out", type=Path, default=Path("build/site"), help="输出文件夹（默认 build/site，相对于课程目录）")
    s.add_argument("--executed", type=Path, default=None, metavar="文件夹", help=executed_help)
    s.add_argument("--no-edition", action="store_true", help="不打包学生版 zip（只生成页面和讲义下载）")
    s = sub.add_parser("handouts", help="生成每一讲的 PDF 讲义（运行过的输出、探索器的静态视图、章末答案）")
    s.add_argument("--out", type=Path, default=Path("build/handouts"), help="输出文件夹（默认 build/handouts，相对于课程目录）")
    s.add_argument("--executed", type=Path, default=None, metavar="文件夹", help=executed_help)
    s.add_argument("--no-answers", action="store_true", help="学生版：不印折叠的答案")
    s.add_argument("--lecture", action="append", default=None, metavar="讲义", help="只生成这一讲（文件名，可写多次）")
    s = sub.add_parser("slides", help="生成每一讲的幻灯片（reveal.js，本地副本）")
    s.add_argument("--out", type=Path, default=Path("build/slides"), help="输出文件夹（默认 build/slides，相对于课程目录）")
    s.add_argument("--executed", type=Path, default=None, metavar="文件夹", help=executed_help)
    s.add_argument("--lecture", action="append", default=None, metavar="讲义", help="只生成这一讲（文件名，可写多次）")
    s.add_argument("--mark", action="store_true",
                   help="不生成幻灯片，而是按标题重新设置 notebooks/ 里每份讲义的分页（单元格的 slideshow 元数据）")
    return p


# command -> (module in rnnlab.grading.commands, its function taking (course, args), returning the text to print)
COMMANDS = {"regenerate": ("regenerate", "run"), "roster": ("roster", "run"), "collect": ("collect", "run"),
            "autograde": ("autograde", "run"), "feedback": ("feedback", "run"), "export": ("export", "run"),
            "summary": ("summary", "run"), "student-edition": ("student_edition", "run"),
            "manual-export": ("manual", "run_export"), "manual-import": ("manual", "run_import"),
            "migrate-gradebook": ("migrate_gradebook", "run"), "syllabus": ("syllabus", "run"),
            "question-bank": ("question_bank", "run"), "site": ("site", "run"), "handouts": ("handouts", "run"),
            "slides": ("slides", "run")}


def command(name: str):
    module, function = COMMANDS[name]
    return getattr(importlib.import_module(f"rnnlab.grading.commands.{module}"), function)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        course = find_course_dir(args.course_dir)
        print(command(args.command)(course, args))
    except CourseError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
