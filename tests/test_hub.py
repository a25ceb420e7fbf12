"""The course hub with a class in it (issue 23): a real JupyterHub (deploy/hub/jupyterhub_config.py) with
configurable-http-proxy, real system users, real JupyterLab servers in their own cgroups, nbgrader's
exchange, and headless Chromium for one student. One hub for the whole module (tests/hub.py).

The loop, in the order a class lives it (the `classroom` fixture plays it once, the tests check it):

- the instructor, as the shared grader account in the course directory, releases a1_rnncell;
- at the hub's login page, PAM (the default a campus runs) refuses a wrong password and a system account outside
  the course's groups;
- student 1, in the browser: logs in at the hub with the account's system password, finds JupyterLab in Chinese,
  opens the Assignments
  panel (Nbgrader → 作业列表: nbgrader's English, put into Chinese by rnnlab-lab), fetches a1, puts the reference answers into the notebook (through
  the contents API), presses Validate, then Submit, then Submit again while the exchange's disk is full;
- students 2–4 through their own servers' REST endpoints (nbgrader's assignment_list handlers, each
  with their own API token): 2 submits an unanswered notebook, then the answered one (the newest is
  collected); 4 submits once; then the instructor sets the due date, and 3 submits after it (late);
- the instructor collects, grades with `python -m rnnlab.grading autograde a1_rnncell --jobs 2`,
  generates and releases feedback; every student fetches it; student 1 opens it from the panel.

Screenshots of the panel, of Validate's result and of the feedback are kept in
$RNNLAB_BROWSER_SHOTS/hub (default build/test-artifacts/hub/). Then: who can read what (as each user,
with runuser), the memory limit (a kernel that allocates past it dies, its server lives), the CPU and
memory limits of every user's processes, the idle culler and Formgrader as hub services; last, the hub
restarted mid-class (every server, kernel and file survives).

The load test (the `crowd` fixture, tests/crowd.py): 36 more students get servers, then all 40 at the
same time fetch a one-question assignment, answer and submit; the instructor collects, grades with
--jobs 2 and releases feedback; all 40 at the same time fetch and read it. Nothing is lost, each is graded
once, each reads only their own feedback, and no one reads the next student's notebook or submission.
Then the exchange's disk (a 64 MiB tmpfs of its own) is filled: a Submit and a release_assignment fail with
one Chinese sentence, leave nothing half-written, and go through once there is space again. Last, the hub is
restarted with NativeAuthenticator: a sign-up waits for an administrator's approval, then gets a system account
and a Lab.

Needs root, Node.js >= 20 (configurable-http-proxy is installed into deploy/hub/node_modules by
`make hub-proxy` when missing), writable cgroups and Debian's chromium: skipped without them, except
under CI, where that is a failure.
"""

from __future__ import annotations

import contextlib
import grp
import html
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

import crowd as crowd_load
from browser import Browser, find_chromium, screenshot, wait_for
from conftest import REPO
from course import reference_answer
from hub import COURSE_ID, CourseHub, missing
from machine import require

from coursehub import homes, limits

pytestmark = pytest.mark.e2e

AID = "a1_rnncell"
NOTEBOOK = f"{AID}/{AID}.ipynb"
SHOTS = Path(os.environ.get("RNNLAB_BROWSER_SHOTS") or REPO / "build" / "test-artifacts") / "hub"
MEMORY = "1200M"
CJK = re.compile(r"[\u4e00-\u9fff]")
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS\n(.*?)^[ \t]*### END HIDDEN TESTS\n?", re.S | re.M)
VALIDATE_OK = "通过了！笔记本里的可见检查全部通过（批改时还有隐藏测试）。"  # rnnlab-lab:nbgrader-zh's Chinese
CROWD = 36  # the load test: the loop's 4 students and 36 more, 40 at once (tests/crowd.py)


# ------------------------------------------------------------------ the hub and the class

@pytest.fixture(scope="module")
def hub():
    require("课程 hub 测试", missing())
    require("浏览器测试", None if find_chromium() else "没有找到 chromium（sudo apt-get install chromium fonts-noto-cjk）")
    began = time.monotonic()
    with CourseHub(students=4, tas=1, memory=MEMORY, crowd=CROWD, exchange_size="64m") as h:
        started = time.monotonic()
        h.start_servers(h.students)
        h.instructor("-m", "nbgrader", "release_assignment", AID)
        print(f"课程 hub：启动 {started - began:.1f} 秒（{h.seconds}），四个服务器和发布作业 {time.monotonic() - started:.1f} 秒")
        try:
            yield h
        finally:  # the hub's log and step times stay with the screenshots: a slow or failed run can be read later
            SHOTS.mkdir(parents=True, exist_ok=True)
            (SHOTS / "hub-seconds.json").write_text(json.dumps(h.seconds, ensure_ascii=False, indent=1))
            with contextlib.suppress(OSError):
                shutil.copyfile(h.log_path, SHOTS / "hub.log")


def signature(user: str) -> str:
    return f"（{user} 的答案）"


def put_answers(hub: CourseHub, user: str) -> dict:
    """The fetched notebook with every solution cell set to the reference answer, the written answer
    signed with the student's name (so each feedback page is that student's), written back through the
    user's contents API; the notebook written."""
    nb = hub.server(user, f"api/contents/{NOTEBOOK}")["content"]
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = reference_answer(hub.course, AID, meta["grade_id"])
            if cell["cell_type"] == "markdown":
                cell["source"] += "\n\n" + signature(user)
    hub.server(user, f"api/contents/{NOTEBOOK}", "PUT", {"type": "notebook", "format": "json", "content": nb})
    return nb


def rest(hub: CourseHub, user: str, action: str) -> dict:
    return hub.assignment_action(user, action, AID)


def submissions(listing: dict) -> list[dict]:
    return [s for a in listing["value"] if a["status"] == "submitted" for s in a["submissions"]]


@dataclass
class Classroom:
    hub: CourseHub
    menus: list[str] = field(default_factory=list)
    nbgrader_menu: list[str] = field(default_factory=list)
    panel_text: str = ""
    panel_tab: str = ""
    validate_text: str = ""
    disk_full_dialog: str = ""
    refusals: list[str] = field(default_factory=list)  # the login page's errors: wrong password, outsider
    feedback_text: str = ""
    shots: dict[str, Path] = field(default_factory=dict)
    timestamps: dict[str, list[str]] = field(default_factory=dict)  # student -> submission timestamps, in order
    duedate: str = ""
    autograde_out: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each part of the loop (shown with -s)

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.seconds[name] = round(now - getattr(self, "_last", now), 1)
        self._last = now


class StudentInBrowser:
    """Student 1's page: the hub's login form, then JupyterLab and nbgrader's Assignments panel."""

    def __init__(self, page, hub: CourseHub, user: str):
        self.page, self.hub, self.user = page, hub, user

    def shot(self, room: Classroom, name: str) -> None:
        path = screenshot(self.page, SHOTS, name)
        if path is not None:
            room.shots[name] = path

    def refused(self, user: str, password: str) -> str:
        """The login page's error after a login PAM must refuse."""
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", password)
        page.click("form [type=submit]")
        return page.locator(".login_error").inner_text(timeout=60_000)

    def log_in(self) -> None:
        page = self.page
        page.goto(f"{self.hub.url}/hub/login")
        page.fill("input[name=username]", self.user)
        page.fill("input[name=password]", self.hub.password)  # the student's own system password (PAM)
        page.click("form [type=submit]")
        page.wait_for_url(f"**/user/{self.user}/lab**", timeout=120_000)
        page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=120_000)
        # The home folder in the file browser, with the course copied into it.
        page.locator(".jp-DirListing-item", has_text="rnn-course").wait_for(timeout=60_000)

    def open_assignments(self) -> list[str]:
        page = self.page
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        items = [t for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()]
        page.locator(".lm-Menu-itemLabel", has_text="作业列表").click()
        page.locator("#released_assignments_list .list_item", has_text=AID).wait_for(timeout=60_000)
        self.panel_tab = page.locator('.lm-TabBar-tab[data-id="nbgrader-assignment-list"]').inner_text()
        return items

    def fetch(self) -> None:
        self.page.locator("#released_assignments_list .list_item", has_text=AID).locator("button", has_text="取回").click()
        self.page.locator("#fetched_assignments_list .list_item", has_text=AID).first.wait_for(timeout=60_000)

    def validate(self) -> str:
        page = self.page
        page.locator("#fetched_assignments_list a.assignment-notebooks-link", has_text=AID).click()
        page.locator("#fetched_assignments_list button", has_text="验证").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=180_000)
        return dialog.inner_text()

    def close_dialog(self) -> None:
        self.page.locator(".jp-Dialog .jp-mod-accept").click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")

    def submit(self) -> None:
        self.page.locator("#fetched_assignments_list button", has_text="提交").first.click()
        self.page.locator("#submitted_assignments_list .list_item", has_text=AID).first.wait_for(timeout=60_000)

    def submit_refused(self) -> str:
        self.page.locator("#fetched_assignments_list button", has_text="提交").first.click()
        dialog = self.page.locator(".jp-Dialog", has_text="没有提交成功")
        dialog.wait_for(timeout=60_000)
        return dialog.inner_text()

    def open_feedback(self) -> str:
        page = self.page
        page.locator("#refresh_assignments_list").click()
        page.locator("#submitted_assignments_list button", has_text="取回反馈").first.click()
        page.locator("#submitted_assignments_list a", has_text="查看反馈").first.click()  # the file browser goes there
        page.locator(".jp-DirListing-item", has_text=f"{AID}.html").first.dblclick()
        body = page.frame_locator(".jp-MainAreaWidget iframe").locator("body")
        wait_for(lambda: "得分" in body.inner_text(), 60, "反馈页面显示出来")
        return body.inner_text()


@contextlib.contextmanager
def hub_page(browser, hub: CourseHub, failure_shot: str):
    """A page of `browser`; a failure inside adds a screenshot and the hub log's tail to the error."""
    page = browser.new_page()
    try:
        yield page
    except BaseException as e:
        path = screenshot(page, SHOTS, failure_shot)
        if hasattr(e, "add_note"):
            e.add_note(f"截图：{path}\nhub 日志：\n{hub.log_tail(40)}")
        raise
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def classroom(hub) -> Classroom:
    room = Classroom(hub)
    room.lap("start")
    s1, s2, s3, s4 = hub.students
    with Browser() as browser, hub_page(browser, hub, "failure") as page:
        student = StudentInBrowser(page, hub, s1)
        # PAM, the default login: a wrong password and an account outside the course's groups get nothing.
        room.refusals = [student.refused(s1, "not-" + hub.password), student.refused(hub.outsider, hub.password)]
        # Student 1, in the browser: Chinese Lab, the panel, fetch, answers, Validate, Submit.
        student.log_in()
        room.menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        room.nbgrader_menu = student.open_assignments()
        room.panel_tab = student.panel_tab
        student.shot(room, "01-assignments-panel")
        student.fetch()
        put_answers(hub, s1)
        room.validate_text = student.validate()
        student.shot(room, "02-validate")
        student.close_dialog()
        student.submit()
        student.shot(room, "03-submitted")
        room.panel_text = page.locator("#assignments").inner_text()
        # The exchange's disk is full at a second Submit: nbgrader's dialog, with the course's sentence only.
        filler = fill(hub.exchange)
        try:
            room.disk_full_dialog = student.submit_refused()
            student.shot(room, "03b-disk-full")
            student.close_dialog()
        finally:
            filler.unlink()
        room.lap("browser: log in, fetch, validate, submit")

        # Students 2-4 through their servers' REST endpoints.
        for s in (s2, s3, s4):
            rest(hub, s, "fetch")
        room.timestamps[s2] = [submissions(rest(hub, s2, "submit"))[-1]["timestamp"]]  # unanswered
        put_answers(hub, s2)
        room.timestamps[s2].append(submissions(rest(hub, s2, "submit"))[-1]["timestamp"])
        put_answers(hub, s4)
        room.timestamps[s4] = [submissions(rest(hub, s4, "submit"))[-1]["timestamp"]]
        put_answers(hub, s3)

        # The due date passes; student 3 submits after it.
        room.duedate = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        hub.instructor("-m", "nbgrader", "db", "assignment", "add", AID, f"--duedate={room.duedate}")
        time.sleep(0.05)
        room.timestamps[s3] = [submissions(rest(hub, s3, "submit"))[-1]["timestamp"]]
        room.lap("REST: fetch, submit")

        # The instructor: collect, grade, feedback.
        hub.instructor("-m", "nbgrader", "collect", AID)
        room.lap("collect")
        room.autograde_out = hub.instructor("-m", "rnnlab.grading", "autograde", AID, "--jobs", "2").stdout
        room.lap("autograde --jobs 2")
        hub.instructor("-m", "nbgrader", "generate_feedback", AID)
        hub.instructor("-m", "nbgrader", "release_feedback", AID)
        room.lap("generate and release feedback")

        for s in (s2, s3, s4):
            rest(hub, s, "fetch_feedback")
        room.feedback_text = student.open_feedback()
        student.shot(room, "04-feedback")
        room.lap("feedback fetched and read")
    print("课程 hub 测试各步用时（秒）：", room.seconds)
    return room


# ------------------------------------------------------------------ helpers for the checks

def local_feedback(hub: CourseHub, user: str) -> list[Path]:
    return sorted((hub.homes / user / AID / "feedback").glob(f"*/{AID}.html"))


def hidden_lines() -> set[str]:
    """Lines of a1's hidden tests (longer than 12 characters) that no visible part of the source shows."""
    import nbformat

    nb = nbformat.read(str(REPO / "source" / AID / f"{AID}.ipynb"), 4)
    visible = {line.strip() for c in nb.cells for line in HIDDEN.sub("", c.source).splitlines()}
    return {line.strip() for c in nb.cells for m in HIDDEN.finditer(c.source) for line in m.group(1).splitlines()
            if len(line.strip()) > 12 and line.strip() not in visible}


def gradebook(hub: CourseHub) -> Gradebook:
    return Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}")


# ------------------------------------------------------------------ the loop

def test_the_students_lab_is_chinese_with_the_assignments_panel_and_no_teacher_tools(classroom):
    hub = classroom.hub
    assert classroom.menus[:5] == ["文件", "编辑", "查看", "运行", "内核"], classroom.menus
    assert "设置" in classroom.menus and "帮助" in classroom.menus
    # nbgrader's menu holds the Assignments panel alone: Formgrader, Create Assignment, Courses are off.
    assert classroom.nbgrader_menu == ["作业列表"], classroom.nbgrader_menu
    # nbgrader's panel itself has no translation: rnnlab-lab:nbgrader-zh (labextension/) gives it one.
    assert classroom.panel_tab.strip() == "作业", classroom.panel_tab
    for heading in ("已发布的作业", "已下载的作业", "已提交的作业", "提交", "取回反馈"):  # 「验证」: clicked above
        assert heading in classroom.panel_text, classroom.panel_text
    assert not re.search(r"assignments|Fetch|Submit|Validate", classroom.panel_text), classroom.panel_text
    student = hub.students[0]
    page = hub.server(student, "lab", raw=True).decode()
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(config["disabledExtensions"])
    assert "@jupyter/nbgrader:assignment-list" not in config["disabledExtensions"]
    assert config["extensionManager"]["can_install"] is False  # no extension installs by students
    # No "build JupyterLab?" check: students cannot rebuild the shared environment, and on a server with
    # Node.js (the proxy needs it) the check would start node and yarn at every page load.
    assert config["buildCheck"] is False and config["buildAvailable"] is False
    assert hub.status(f"{hub.url}/user/{student}/formgrader", token=hub.token(student)) == 404
    assert hub.status(f"{hub.url}/user/{student}/assignments?course_id={COURSE_ID}", token=hub.token(student)) == 200
    for name in ("01-assignments-panel", "02-validate", "03-submitted", "04-feedback"):
        assert classroom.shots[name].stat().st_size > 10_000, name


def test_students_log_in_through_pam_and_only_the_courses_accounts_get_in(classroom):
    """The hub runs as a campus installs it (RNNLAB_HUB_AUTH unset: PAM): student 1 logged in above with the system
    password of the account; a wrong password, and the right password of a system account outside the students' and
    graders' groups, stay on the login page with nothing started."""
    hub = classroom.hub
    assert "登录：PAM" in hub.login_line(), hub.log_tail(40)
    assert classroom.refusals == ["Invalid username or password"] * 2, classroom.refusals
    assert hub.status(f"{hub.url}/hub/api/users/{hub.outsider}", token=hub.api_token) == 404  # never a hub user
    assert hub.pids_of(hub.outsider) == []


def test_a_submission_refused_for_a_full_disk_says_only_the_chinese_sentence(classroom):
    """The student reads why and what to do, not the traceback nbgrader's reply carries (rnnlab-lab:nbgrader-zh)."""
    text = classroom.disk_full_dialog
    assert "没有提交成功" in text and "作业没有提交：" in text, text
    assert "磁盘已满" in text and "一个字也没有丢" in text and "「提交」" in text, text
    assert not re.search(r"Traceback|File \"|Error|nbgrader", text), text
    assert classroom.shots["03b-disk-full"].stat().st_size > 10_000


def test_validate_in_the_panel_passes_the_reference_answers(classroom):
    assert "验证结果" in classroom.validate_text and VALIDATE_OK in classroom.validate_text, classroom.validate_text


def test_the_newest_of_two_submissions_is_collected_and_graded_once(classroom):
    hub = classroom.hub
    s2 = hub.students[1]
    first, second = classroom.timestamps[s2]
    assert first < second
    collected = hub.course / "submitted" / s2 / AID
    assert (collected / "timestamp.txt").read_text().strip() == second
    with gradebook(hub) as gb:
        assert sorted(s.student_id for s in gb.assignment_submissions(AID)) == sorted(hub.students)
        max_auto = gb.find_assignment(AID).max_code_score
        for student in hub.students:  # every answered submission gets every automatic point
            assert gb.find_submission(AID, student).code_score == pytest.approx(max_auto), student
    table = [line.split()[0] for line in classroom.autograde_out.splitlines() if line.startswith(hub.students[0][:-2])]
    assert sorted(table) == sorted(hub.students), classroom.autograde_out


def test_a_submission_after_the_due_date_is_recorded_late(classroom):
    hub = classroom.hub
    late = hub.students[2]
    assert classroom.timestamps[late][0] > classroom.duedate
    with gradebook(hub) as gb:
        for student in hub.students:
            seconds_late = gb.find_submission(AID, student).total_seconds_late
            assert (seconds_late > 0) == (student == late), (student, seconds_late)


def test_each_feedback_reaches_its_owner_only(classroom):
    hub = classroom.hub
    generated = {s: (hub.course / "feedback" / s / AID / f"{AID}.html").read_bytes() for s in hub.students}
    for student in hub.students:
        (fetched,) = local_feedback(hub, student)
        page = fetched.read_bytes()
        assert page == generated[student], student
        assert fetched.stat().st_uid == hub.uid(student)
        # The page shows this student's written answer and nobody else's.
        signed = {s for s in hub.students if signature(s).encode() in page}
        assert signed == {student}, (student, signed)
    # The exchange's feedback folder is not listable: a page is found only through its owner's submission.
    assert hub.run_as(hub.students[0], "ls", str(hub.exchange / COURSE_ID / "feedback"), check=False).returncode != 0


def test_the_feedback_read_in_the_browser_is_chinese_and_shows_no_hidden_test(classroom):
    hub = classroom.hub
    text = classroom.feedback_text
    assert AID in text and "得分" in text and "测试单元格" in text and len(CJK.findall(text)) > 200
    secret = hidden_lines()
    assert len(secret) > 5
    for student in hub.students:
        (page,) = local_feedback(hub, student)
        shown = html.unescape(re.sub(r"<[^>]*>", "", page.read_text(encoding="utf-8")))  # the text a reader sees
        assert "HIDDEN TESTS" not in shown and "隐藏测试" in shown
        assert not secret & {line.strip() for line in shown.splitlines()}, student
    assert not secret & {line.strip() for line in text.splitlines()}


def test_no_student_reads_another_students_home_submission_or_feedback(classroom):
    hub = classroom.hub
    s1, s2, s3, _ = hub.students
    inbound = hub.exchange / COURSE_ID / "inbound"

    def ok(user, *cmd):
        return hub.run_as(user, *cmd, check=False).returncode == 0

    # The commands work where they should (so a failure below is a refusal, not a broken command).
    assert ok(s3, "ls", str(hub.homes / s3 / AID))
    assert ok(s3, "ls", str(hub.exchange / COURSE_ID / "outbound" / AID))
    assert ok(hub.grader, "ls", str(inbound))
    for home in hub.students + [hub.grader]:
        assert (hub.homes / home).stat().st_mode & 0o777 == 0o700, home
    # Another student's home, notebook, course files; the instructor's course; the inbound folder and
    # its submissions (found only by listing it); the feedback folder.
    refused = [
        ("ls", str(hub.homes / s2)),
        ("cat", str(hub.homes / s2 / NOTEBOOK)),
        ("cat", str(hub.homes / s2 / "rnn-course" / "README.md")),
        ("ls", str(hub.course)),
        ("cat", str(hub.course / "gradebook.db")),
        ("ls", str(inbound)),
        ("sh", "-c", f"cat '{inbound}'/{s2}+*/{AID}.ipynb"),
        ("ls", str(hub.exchange / COURSE_ID / "feedback")),
        ("ls", str(hub.homes / s1 / ".local" / "share" / "jupyter" / "nbgrader_cache")),
    ]
    allowed = [cmd for cmd in refused if ok(s3, *cmd)]
    assert allowed == [], allowed
    # Through the hub: a student's token opens no other server.
    assert hub.status(f"{hub.url}/user/{s2}/api/contents/{NOTEBOOK}", token=hub.token(s3)) == 403


# ------------------------------------------------------------------ forty students at once

@pytest.fixture(scope="module")
def crowd(classroom) -> crowd_load.Crowd:
    hub = classroom.hub
    began = time.monotonic()
    for i in range(0, len(hub.crowd), 12):  # 12 at a time: 36 servers starting at once would take 2 cores a minute
        hub.start_servers(hub.crowd[i:i + 12])
    started = round(time.monotonic() - began, 1)
    c = crowd_load.class_at_once(hub, hub.students + hub.crowd)
    c.seconds = {f"{len(hub.crowd)} more servers": started, **c.seconds}
    print("40 名学生同时交作业，各步用时（秒）：", c.seconds, "\n每个请求的用时（秒）：", c.summary())
    return c


def test_forty_students_at_once_lose_nothing(crowd, classroom):
    """40 submissions collected (each the student's own), each graded once, each feedback page read by its
    owner and showing that owner's answer only; every request answered within a minute."""
    hub = classroom.hub
    students = hub.students + hub.crowd
    assert len(students) == 40 and sorted(crowd.submitted) == sorted(students)
    for s in students:
        nb = nbformat.read(str(hub.course / "submitted" / s / crowd_load.AID / f"{crowd_load.AID}.ipynb"), 4)
        signed = {o for o in students if crowd_load.signature(o) in "".join(c.source for c in nb.cells)}
        assert signed == {s}, (s, signed)
    with Gradebook(f"sqlite:///{hub.course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        graded = {x.student_id: x.score for x in gb.assignment_submissions(crowd_load.AID)}
    assert sorted(graded) == sorted(students) and set(graded.values()) == {1.0}, graded
    rows = [line.split()[0] for line in crowd.autograde_out.splitlines() if line.startswith(hub.students[0][:-3])]
    assert sorted(rows) == sorted(students), crowd.autograde_out  # one line per student: each graded once
    for s in students:
        page = crowd.feedback[s]
        assert "得分" in page and {o for o in students if crowd_load.signature(o) in page} == {s}, s
    slowest = {action: max(v) for action, v in crowd.latency.items()}
    assert all(len(crowd.latency[a]) == 40 for a in slowest) and max(slowest.values()) < 60, crowd.summary()


def test_in_the_crowd_no_student_reads_the_next_ones_notebook_or_submission(crowd, classroom):
    hub = classroom.hub
    students = hub.students + hub.crowd
    inbound = hub.exchange / COURSE_ID / "inbound"
    own = hub.run_as(students[0], "cat", str(hub.homes / students[0] / crowd_load.NOTEBOOK), check=False)
    assert own.returncode == 0 and crowd_load.signature(students[0]) in own.stdout  # the command works
    for s, other in zip(students, students[1:] + students[:1]):
        for cmd in (("cat", str(hub.homes / other / crowd_load.NOTEBOOK)),
                    ("sh", "-c", f"cat '{inbound}'/{other}+*/{crowd_load.AID}.ipynb")):
            assert hub.run_as(s, *cmd, check=False).returncode != 0, (s, cmd)


# ------------------------------------------------------------------ a full exchange disk

def fill(folder: Path) -> Path:
    """Write a file into `folder` until its disk is full (the exchange's own tmpfs, CourseHub exchange_size)."""
    filler = folder / "filler.bin"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass
    return filler


def test_a_full_exchange_disk_is_said_in_chinese_and_loses_nothing(crowd, classroom):
    hub = classroom.hub
    student, aid = hub.crowd[0], crowd_load.AID
    mine = hub.homes / student / crowd_load.NOTEBOOK
    answer = mine.read_bytes()
    inbound = hub.exchange / COURSE_ID / "inbound"
    cache = hub.homes / student / ".local" / "share" / "jupyter" / "nbgrader_cache" / COURSE_ID

    def theirs() -> list[str]:
        return sorted(p.name for p in inbound.iterdir() if p.name.startswith(student + "+"))

    submitted, cached = theirs(), sorted(p.name for p in cache.iterdir())
    filler = fill(hub.exchange)
    try:
        # The student presses Submit: nbgrader's panel shows the reply's text (its own traceback, short: the
        # last line is the sentence), and the student's notebook and earlier submission are as they were.
        reply = hub.server(student, "assignments/submit", "POST", {"course_id": COURSE_ID, "assignment_id": aid})
        assert reply["success"] is False
        said = reply["value"].strip().splitlines()[-1]
        assert "磁盘已满" in said and "没有丢" in said and "「提交」" in said, reply["value"]
        # nbgrader's handler sends its traceback: only the frames down to the sentence, not the OSError's.
        assert "Errno" not in reply["value"] and "During handling" not in reply["value"], reply["value"]
        assert mine.read_bytes() == answer
        assert theirs() == submitted, "交作业失败时在 inbound/ 里留下了写了一半的提交"
        assert sorted(p.name for p in cache.iterdir()) == cached

        # The instructor releases an assignment: one Chinese sentence, no half-written folder in outbound/.
        crowd_load.write_source(hub, "warmup_full")
        hub.instructor("-m", "nbgrader", "generate_assignment", "warmup_full", "--force")
        release = hub.run_as(hub.grader, hub.python, "-m", "nbgrader", "release_assignment", "warmup_full",
                             cwd=hub.course, check=False)
        assert release.returncode != 0 and "Traceback" not in release.stdout + release.stderr
        assert "发布作业 warmup_full 没有成功" in release.stderr and "磁盘已满" in release.stderr, release.stderr
        assert not (hub.exchange / COURSE_ID / "outbound" / "warmup_full").exists()
    finally:
        filler.unlink()
    # Space again: the same Submit goes through, and the instructor collects it.
    hub.assignment_action(student, "submit", aid)
    assert len(theirs()) == len(submitted) + 1
    hub.instructor("-m", "nbgrader", "collect", aid, "--update")
    assert (hub.course / "submitted" / student / aid / f"{aid}.ipynb").is_file()


# ------------------------------------------------------------------ the hub's own parts

def test_every_process_of_a_user_runs_in_the_users_cgroup_with_its_limits(classroom):
    hub = classroom.hub
    groups = limits.detect(hub.cgroup)
    for student in hub.students:
        assert groups.limits(student) == {"memory": 1200 * 2**20, "cpu": 1.0}
        mine = hub.pids_of(student)
        assert mine, student
        assert set(mine) <= set(groups.pids(student)), (student, mine, groups.pids(student))


def test_a_kernel_past_the_memory_limit_dies_and_its_server_lives(hub):
    import websocket

    student = hub.students[3]
    groups = limits.detect(hub.cgroup)
    kills = groups.oom_kills(student)
    kernel = hub.server(student, "api/kernels", "POST", {"name": "python3"})
    ws = websocket.create_connection(f"ws://127.0.0.1:{hub.port}/user/{student}/api/kernels/{kernel['id']}/channels",
                                     header=[f"Authorization: token {hub.token(student)}"], timeout=120)
    try:
        def execute(code: str) -> str:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": student,
                           "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True}}))
            return msg_id

        def until(pred, what: str, timeout: float = 120):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                found = pred(msg)
                if found:
                    return found
            raise TimeoutError(what)

        ask = execute("import os; print(os.getpid())")
        pid = int(until(lambda m: m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == ask
                        and m["content"]["text"], "内核报告自己的进程号"))
        assert pid in groups.pids(student)
        ask = execute(f"x = b'x' * ({1200 + 400} * 2**20)\nprint('还活着')")
        state = until(lambda m: (m["msg_type"] == "status" and m["content"]["execution_state"] in ("restarting", "dead")
                                 and m["content"]["execution_state"])
                      or (m["msg_type"] == "stream" and "还活着" in m["content"]["text"] and "survived"),
                      "内核因内存超限被杀")
    finally:
        ws.close()
    assert state in ("restarting", "dead")
    assert groups.oom_kills(student) > kills
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 30, "超出内存的内核进程消失")
    assert hub.server(student, "api/status")["started"]  # the server answers
    assert hub.api(f"/users/{student}")["servers"][""]["ready"]


def test_the_idle_culler_runs_as_a_hub_service_with_its_role(hub):
    service = hub.api("/services")["idle-culler"]
    assert service["roles"] == ["idle-culler"]
    assert f"--timeout={hub.cull_timeout}" in service["command"]
    cmdline = Path(f"/proc/{service['pid']}/cmdline").read_bytes().split(b"\0")
    assert b"jupyterhub_idle_culler" in cmdline
    # Its first pass, at start-up: it listed the users and their activity through the hub's API with that role.
    assert re.search(r"200 GET /hub/api/users\S* \(idle-culler@", hub.log_path.read_text(errors="replace"))


def test_graders_reach_formgrader_as_the_grader_account_and_students_do_not(classroom):
    hub = classroom.hub
    ta, student = hub.tas[0], hub.students[0]
    url = f"{hub.url}/services/{COURSE_ID}/formgrader/api/assignments"
    assignments = {a["name"]: a for a in hub.request(url, token=hub.token(ta))}
    assert assignments[AID]["num_submissions"] == len(hub.students) and assignments[AID]["status"] == "released"
    assert hub.status(url, token=hub.token(student)) == 403
    service = hub.api("/services")[COURSE_ID]
    assert Path(f"/proc/{service['pid']}").stat().st_uid == hub.uid(hub.grader)


def test_the_course_files_are_copied_once_and_never_overwrite_a_students_file(classroom):
    hub = classroom.hub
    student = hub.students[0]
    folder = hub.homes / student / "rnn-course"
    edition = hub.state / "users" / "student-edition"
    wanted = {p.relative_to(edition) for p in edition.rglob("*") if p.is_file()}
    assert wanted and wanted <= {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
    assert not (folder / "source").exists() and not (folder / "solutions").exists()
    readme, lecture = folder / "README.md", next((folder / "notebooks").glob("*.ipynb"))
    hub.run_as(student, "sh", "-c", f"echo 我的笔记 > '{readme}' && rm '{lecture}'")
    python = Path(hub.python)
    # Once: the stamp stops a second copy (a deleted lecture stays deleted).
    assert homes.copy_course(student, edition, "rnn-course", python) is False
    assert not lecture.exists()
    # Never overwriting: even a new copy (stamp removed) brings back what is missing and keeps the student's file.
    (hub.homes / student / homes.STAMP).unlink()
    assert homes.copy_course(student, edition, "rnn-course", python) is True
    assert readme.read_text(encoding="utf-8") == "我的笔记\n"
    assert lecture.is_file() and lecture.stat().st_uid == hub.uid(student)


def test_a_hub_restart_keeps_every_students_server_kernel_and_work(classroom):
    """Mid-class the administrator restarts the hub: no student's server, kernel or file is lost, and each
    student reaches their own server again through the new proxy with the same token. (Last in the module:
    everything before it ran on the first hub process.)"""
    hub = classroom.hub
    student = hub.students[0]
    kernel = hub.server(student, "api/kernels", "POST", {"name": "python3"})["id"]
    note = {"type": "file", "format": "text", "content": "重启前写的笔记\n"}
    hub.server(student, "api/contents/restart-note.txt", "PUT", note)
    before = {s: sorted(hub.pids_of(s)) for s in hub.students}
    assert all(before.values()), before

    hub.restart()
    after = {s: sorted(hub.pids_of(s)) for s in hub.students}
    assert after == before, "hub 重启后，学生的进程变了（服务器或内核被停掉重启了）"
    for s in hub.students:
        model = hub.api(f"/users/{s}")
        assert model["servers"][""]["ready"], (s, model, hub.log_tail())
        assert hub.server(s, "api/status")["kernels"] >= 0  # through the new proxy, with the old token
    assert kernel in {k["id"] for k in hub.server(student, "api/kernels")}
    assert hub.server(student, "api/contents/restart-note.txt")["content"] == "重启前写的笔记\n"


def test_with_nativeauthenticator_a_sign_up_waits_for_approval_then_gets_an_account_and_a_server(classroom):
    """The hub restarted with RNNLAB_HUB_AUTH=native (self sign-up, a TA as administrator): a new student signs up
    and cannot log in until the administrator approves them at /hub/authorize; then they log in, the hub creates
    their system account in the students' group, with a private home holding the course, and starts their Lab.
    (After the restart test: this one changes how the hub logs people in.)"""
    hub = classroom.hub
    admin, newcomer = hub.tas[0], f"{hub.students_group.rsplit('-', 1)[0]}-n1"
    password = secrets.token_hex(12)
    hub.accounts.users.append(newcomer)  # killed and removed with the test's other accounts
    home = Path("/home") / newcomer      # useradd's default: where the hub creates a signed-up student's home
    hub.restart(RNNLAB_HUB_AUTH="native", RNNLAB_HUB_ADMINS=admin)
    assert "登录：NativeAuthenticator" in hub.login_line(), hub.log_tail(40)
    try:
        with Browser() as browser, hub_page(browser, hub, "native-failure") as page:
            for user in (admin, newcomer):
                page.goto(f"{hub.url}/hub/signup")
                page.fill("input[name=username]", user)
                page.fill("input[name=signup_password]", password)
                page.fill("input[name=signup_password_confirmation]", password)
                page.click("form [type=submit]")
                page.locator(".alert").wait_for(timeout=60_000)
            with pytest.raises(KeyError):
                pwd.getpwnam(newcomer)  # signing up makes no system account
            # Not approved yet: the login page again, nothing started.
            said = StudentInBrowser(page, hub, newcomer).refused(newcomer, password)
            assert "has not been authorized" in said, said
            assert hub.status(f"{hub.url}/hub/api/users/{newcomer}", token=hub.api_token) == 404
            # The administrator approves the sign-up.
            page.goto(f"{hub.url}/hub/login?next=/hub/authorize")
            page.fill("input[name=username]", admin)
            page.fill("input[name=password]", password)
            page.click("form [type=submit]")
            page.wait_for_url("**/hub/authorize**", timeout=60_000)
            page.goto(f"{hub.url}/hub/authorize/{newcomer}")
            page.wait_for_url("**/hub/authorize**", timeout=60_000)
            page.goto(f"{hub.url}/hub/logout")
            # The student logs in: an account, a home with the course, a Lab.
            page.goto(f"{hub.url}/hub/login")
            page.fill("input[name=username]", newcomer)
            page.fill("input[name=password]", password)
            page.click("form [type=submit]")
            page.wait_for_url(f"**/user/{newcomer}/lab**", timeout=120_000)
            page.locator(".jp-DirListing-item", has_text="rnn-course").wait_for(timeout=60_000)
        account = pwd.getpwnam(newcomer)
        assert grp.getgrgid(account.pw_gid).gr_name == hub.students_group
        assert Path(account.pw_dir) == home and (home.stat().st_mode & 0o777) == 0o700 and home.stat().st_uid == account.pw_uid
        assert hub.pids_of(newcomer) and hub.api(f"/users/{newcomer}")["servers"][""]["ready"]
    finally:
        with contextlib.suppress(Exception):
            hub.api(f"/users/{newcomer}/server", "DELETE")
        with contextlib.suppress(KeyError):
            for pid in hub.pids_of(newcomer):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)
