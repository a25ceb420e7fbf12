"""Autograde throughput with the gradebook in SQLite (gradebook.db) vs in a real PostgreSQL server.

    python benchmarks/gradebook_throughput.py [--students 12] [--jobs 2] [--repeat 2]

The same class of N submissions of a1_rnncell (correct, wrong and broken answers, the pattern of
parallel_autograde.py), graded with `python -m rnnlab.grading autograde a1_rnncell --jobs J` in a fresh
checkout of the course each time: the roster imported, then the submissions graded, once with the
default gradebook.db, once with RNNLAB_DB_URL naming an empty database on a PostgreSQL server
(tests/postgres.py: Debian's binaries, a throw-away cluster on 127.0.0.1, run as the postgres user).
Runs alternate (SQLite, PostgreSQL, SQLite, ...) so that both see the same machine.

The server here keeps PostgreSQL's default durability (fsync on; the tests' fixture turns it off for
speed): SQLite's default also syncs every commit, so the two pay the same for a safe write.

Floor: SQLite, the default for one instructor. Reports submissions per minute for each, the ratio
PostgreSQL / SQLite, and the graders' per-submission times as the CLI prints them.
Writes benchmarks/gradebook_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

import postgres  # noqa: E402
from autograde_speed import WRONG_STEP  # noqa: E402
from course import make_course, submit  # noqa: E402
from rnnlab.grading.course import course_env  # noqa: E402

AID = "a1_rnncell"
BROKEN = "def rnn_cell_step(x_t, h_prev, *args, **kwargs):\n    raise NotImplementedError()\n"
GRADED = re.compile(r"^── \[\d+/\d+\] " + AID + r" · \S+：批改完成（([\d.]+) s）$", re.M)


class DurablePostgres(postgres.Postgres):
    """tests/postgres.py's server with PostgreSQL's default durability (no fsync=off)."""

    def start(self) -> "DurablePostgres":
        self.run("initdb", "-D", str(self.data), "-U", postgres.USER, "--auth=trust", "-E", "UTF8", "--no-locale")
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                 "-o", f"-h 127.0.0.1 -p {self.port} -k {self.root}", "start")
        return self


def cli(course: Path, url: str | None, *args: str) -> tuple[float, str]:
    env = {k: v for k, v in course_env().items() if k != "RNNLAB_DB_URL"}
    if url:
        env["RNNLAB_DB_URL"] = url
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "rnnlab.grading", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return wall, proc.stdout


def grade_class(template: Path, dest: Path, url: str | None, students: int, jobs: int) -> dict:
    """A fresh checkout: roster, submissions, then the timed autograde."""
    course = Path(shutil.copytree(template, dest))
    (course / "gradebook.db").unlink(missing_ok=True)  # git-ignored: a fresh checkout has none
    ids = [f"2026{i:03d}" for i in range(students)]
    (course / "名单.csv").write_text("学号,姓名\n" + "".join(f"{s},学生{s[-3:]}\n" for s in ids), encoding="utf-8")
    cli(course, url, "roster", "名单.csv")
    for i, sid in enumerate(ids):
        answers = {0: {}, 1: {}, 2: {}, 3: {"rnn_cell_step": WRONG_STEP}, 4: {"rnn_cell_step": BROKEN}}[i % 5]
        submit(course, sid, AID, answers=answers)
    wall, out = cli(course, url, "autograde", AID, "--jobs", str(jobs))
    each = [float(t) for t in GRADED.findall(out)]
    assert len(each) == students, out[-3000:]
    assert "database is locked" not in out
    if url is None:
        assert (course / "gradebook.db").is_file()
    else:
        assert not (course / "gradebook.db").exists(), "RNNLAB_DB_URL was set, yet gradebook.db was written"
    shutil.rmtree(course, ignore_errors=True)
    return {"seconds": round(wall, 2), "per_minute": round(students / wall * 60, 2),
            "seconds_per_submission_in_worker": round(statistics.mean(each), 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    why = postgres.missing()
    if why:
        raise SystemExit(why)

    runs: dict[str, list[dict]] = {"sqlite": [], "postgresql": []}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="rnnlab-gradebook-bench-") as tmp, DurablePostgres() as pg:
        # Everything temporary (the regenerated course make_course keeps, kernels' folders) inside tmp.
        os.environ["TMPDIR"] = tempfile.tempdir = tmp
        template = make_course(REPO, Path(tmp) / "template")
        for r in range(args.repeat):
            runs["sqlite"].append(grade_class(template, Path(tmp) / f"sqlite{r}", None, args.students, args.jobs))
            print(f"SQLite     #{r + 1}: {runs['sqlite'][-1]}", flush=True)
            url = pg.create_database(f"bench{r}")
            runs["postgresql"].append(grade_class(template, Path(tmp) / f"pg{r}", url, args.students, args.jobs))
            print(f"PostgreSQL #{r + 1}: {runs['postgresql'][-1]}", flush=True)
        version = pg.run("postgres", "--version").stdout.strip()

    median = {db: {key: round(statistics.median(run[key] for run in rs), 2) for key in rs[0]} for db, rs in runs.items()}
    sqlite, pgsql = median["sqlite"], median["postgresql"]
    ratio = round(pgsql["per_minute"] / sqlite["per_minute"], 2)
    result = {
        "cores": os.cpu_count(), "load_average_1min_at_start": round(load, 2), "students": args.students,
        "jobs": args.jobs, "assignment": AID, "repeat": args.repeat, "postgresql": version,
        "postgresql_durability": "default (fsync on)",
        "median": median, "ratio_postgresql_to_sqlite_per_minute": ratio, "runs": runs,
    }
    print(f"{args.students} submissions of {AID}, --jobs {args.jobs}, median of {args.repeat}: "
          f"SQLite {sqlite['per_minute']:.1f}/min ({sqlite['seconds']:.1f} s), PostgreSQL {pgsql['per_minute']:.1f}/min "
          f"({pgsql['seconds']:.1f} s): PostgreSQL / SQLite = {ratio}x; per submission in a worker "
          f"{sqlite['seconds_per_submission_in_worker']:.2f} s vs {pgsql['seconds_per_submission_in_worker']:.2f} s")
    (HERE / "gradebook_throughput.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
