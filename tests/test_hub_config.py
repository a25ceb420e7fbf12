"""The course hub's settings and start-up checks, without starting a hub (seconds; tests/test_hub.py runs one).

- A bad setting stops `jupyterhub -f deploy/hub/jupyterhub_config.py` with one Chinese sentence and
  exit status 1; so does a machine without writable cgroups while limits are on (RNNLAB_HUB_LIMITS=off
  lets the start-up go on to its next check). The test-only API token is refused unless the hub
  listens on loopback.
- The cgroup layout the hub writes, for cgroup v2 and v1, on a folder laid out like /sys/fs/cgroup
  (the kernel's own enforcement of v1 is tested in test_hub.py; neither this machine nor CI has v2
  controllers to test for real).
- With NativeAuthenticator, an approved user gets a system account in the students' group; an account
  outside the course's groups (or none) gets no server; a sign-up name that is no valid account name
  is refused.
- deploy/README.md documents every setting coursehub/settings.py reads.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

HUB_DIR = REPO / "deploy" / "hub"
sys.path.insert(0, str(HUB_DIR))

from coursehub import accounts, limits  # noqa: E402
from coursehub.settings import SettingError, from_env, parse_size  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")


def start_hub(tmp_path, **settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_HUB_")}
    env.update({"RNNLAB_HUB_STATE": str(tmp_path / "state"), "PYTHONPATH": str(REPO / "src"), **settings})
    return subprocess.run([sys.executable, "-m", "jupyterhub", "-f", str(HUB_DIR / "jupyterhub_config.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def one_chinese_sentence(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("课程 hub 没有启动："), proc.stderr
    assert "Traceback" not in proc.stderr and CJK.search(lines[0])
    return lines[0]


@pytest.mark.parametrize("var, value, says", [
    ("RNNLAB_HUB_MEM", "2X", "不是内存大小"),
    ("RNNLAB_HUB_MEM", "10M", "太小"),
    ("RNNLAB_HUB_CPU", "lots", "不是 CPU 核数"),
    ("RNNLAB_HUB_PORT", "80000", "不是端口号"),
    ("RNNLAB_HUB_AUTH", "ldap", "只能是 pam"),
    ("RNNLAB_HUB_LIMITS", "maybe", "只能是 on 或 off"),
    ("RNNLAB_HUB_GRADER_ACCOUNT", "Grader Account", "不是合法的系统用户名"),
    ("RNNLAB_HUB_COURSE_FOLDER", "../elsewhere", "文件夹名"),
    ("RNNLAB_HUB_CULL_TIMEOUT", "10", "至少 60"),
])
def test_a_bad_setting_is_one_chinese_sentence_naming_it(var, value, says):
    with pytest.raises(SettingError) as e:
        from_env({var: value})
    assert var in str(e.value) and says in str(e.value)


def test_the_defaults_are_a_campus_server():
    s = from_env({})
    assert (s.ip, s.port, s.authenticator, s.exchange.as_posix()) == ("127.0.0.1", 8000, "pam", "/srv/nbgrader/exchange")
    assert (s.memory, s.cpu, s.limits, s.cull_timeout) == (2 * 2**30, 1.0, True, 3600)
    assert (s.students_group, s.graders_group, s.grader_account) == ("students", "graders", "grader-rnnlab")
    assert not s.test_api_token
    assert parse_size("1.5G", "X") == 1536 * 2**20 and parse_size("512M", "X") == 512 * 2**20


def test_the_test_api_token_only_on_loopback():
    assert from_env({"RNNLAB_HUB_TEST_API_TOKEN": "a" * 32}).test_api_token
    with pytest.raises(SettingError, match="只允许在 127.0.0.1 上使用"):
        from_env({"RNNLAB_HUB_TEST_API_TOKEN": "a" * 32, "RNNLAB_HUB_IP": "0.0.0.0"})


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        pytest.skip("hub 的启动检查要以 root 运行")


def test_the_hub_refuses_to_start_with_a_bad_setting(tmp_path, as_root):
    line = one_chinese_sentence(start_hub(tmp_path, RNNLAB_HUB_MEM="2X"))
    assert "RNNLAB_HUB_MEM" in line


def test_without_writable_cgroups_the_hub_refuses_unless_limits_are_off(tmp_path, as_root):
    no_cgroups = tmp_path / "sys-fs-cgroup"
    no_cgroups.mkdir()
    settings = {"RNNLAB_HUB_CGROUP_ROOT": str(no_cgroups), "RNNLAB_HUB_EDITION": str(tmp_path / "no-edition")}
    line = one_chinese_sentence(start_hub(tmp_path, **settings))
    assert "无法限制每个用户的内存和 CPU" in line and "RNNLAB_HUB_LIMITS=off" in line
    # Limits off: that check passes, and the next one (the student edition) speaks.
    line = one_chinese_sentence(start_hub(tmp_path, RNNLAB_HUB_LIMITS="off", **settings))
    assert "学生版" in line and "make student-edition" in line


def test_cgroup_v2_layout(tmp_path):
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
    (root / "cgroup.subtree_control").write_text("cpuset\n")
    (root / "hub").mkdir()
    (root / "hub" / "cgroup.subtree_control").write_text("")
    groups = limits.detect("hub", root)
    assert isinstance(groups, limits.CgroupV2)
    # The controllers are handed down: root -> hub (a write of "+memory +cpu" to each).
    assert (root / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (root / "hub" / "cgroup.subtree_control").read_text() == "+memory +cpu"
    (d,) = groups.create("alice", 3 * 2**30, 1.5)
    assert d == root / "hub" / "alice"
    assert (d / "memory.max").read_text() == str(3 * 2**30)
    assert (d / "cpu.max").read_text() == "150000 100000"
    assert groups.limits("alice") == {"memory": 3 * 2**30, "cpu": 1.5}
    assert groups.join_paths("alice") == [str(d / "cgroup.procs")]


def test_cgroup_v1_layout(tmp_path):
    root = tmp_path / "cgroup"
    for controller in ("memory", "cpu"):
        (root / controller).mkdir(parents=True)
    groups = limits.detect("hub", root)
    assert isinstance(groups, limits.CgroupV1)
    mem, cpu = groups.create("bob", 2**30, 0.5)
    assert (mem, cpu) == (root / "memory" / "hub" / "bob", root / "cpu" / "hub" / "bob")
    assert (mem / "memory.limit_in_bytes").read_text() == str(2**30)
    assert (cpu / "cpu.cfs_quota_us").read_text() == "50000" and (cpu / "cpu.cfs_period_us").read_text() == "100000"
    assert groups.join_paths("bob") == [str(mem / "cgroup.procs"), str(cpu / "cgroup.procs")]


def test_no_cgroups_is_explained(tmp_path):
    with pytest.raises(limits.LimitsUnavailable, match="cgroup v1"):
        limits.detect("hub", tmp_path)


def test_the_readme_documents_every_setting():
    read = set(re.findall(r'"(RNNLAB_HUB_[A-Z_]+)"', (HUB_DIR / "coursehub" / "settings.py").read_text()))
    assert len(read) > 20
    readme = (REPO / "deploy" / "README.md").read_text(encoding="utf-8")
    assert sorted(v for v in read if v not in readme) == []


def test_a_native_sign_up_becomes_a_student_account_and_nobody_else_gets_a_server(as_root):
    group, name = f"rnnt-{os.getpid()}-cfg", f"rnnt-{os.getpid()}-new"
    sbin = lambda tool: shutil.which(tool) or f"/usr/sbin/{tool}"  # noqa: E731
    subprocess.run([sbin("groupadd"), group], check=True, capture_output=True)
    try:
        accounts.create_student(name, group)
        pw = pwd.getpwnam(name)
        assert grp.getgrgid(pw.pw_gid).gr_name == group and os.path.isdir(pw.pw_dir)
        assert accounts.check_course_user(name, (group,)).pw_name == name
        accounts.create_student(name, group)  # an existing account is left as it is
        with pytest.raises(accounts.AccountError, match="不在课程的组"):
            accounts.check_course_user("nobody", (group,))
        with pytest.raises(accounts.AccountError, match="系统里没有用户"):
            accounts.check_course_user(f"rnnt-{os.getpid()}-none", (group,))
        with pytest.raises(accounts.AccountError, match="不能用作系统账户名"):
            accounts.create_student("Root;x", group)
    finally:
        subprocess.run([sbin("userdel"), "--remove", name], capture_output=True)
        subprocess.run([sbin("groupdel"), group], capture_output=True)
