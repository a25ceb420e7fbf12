"""Who may have a server on the course hub: system accounts in the students' or the graders' group.

Students are system users (`LocalProcessSpawner` starts each server as its owner). Whatever the
authenticator, a server is started only for a member of the students' or graders' system group, so no
other account of the machine (root, postgres, ...) can get one. With NativeAuthenticator (self sign-up),
the hub creates the system account of an approved user the first time their server starts.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess

NATIVE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class AccountError(Exception):
    """The user may not have a server; the message is in Chinese and is shown on the hub's page."""


def members(group: str) -> set[str]:
    """A system group's members: its member list and the accounts whose primary group it is."""
    try:
        g = grp.getgrnam(group)
    except KeyError:
        return set()
    return set(g.gr_mem) | {p.pw_name for p in pwd.getpwall() if p.pw_gid == g.gr_gid}


def in_group(user: str, group: str) -> bool:
    try:
        pw = pwd.getpwnam(user)
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        return False
    return gid in os.getgrouplist(user, pw.pw_gid)


def check_course_user(user: str, groups: tuple[str, ...]) -> pwd.struct_passwd:
    """The system account of a course user; AccountError if there is none or it is in none of `groups`."""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise AccountError(f"系统里没有用户 {user}：请管理员先建立这个账户（见 deploy/README.md）。") from None
    if not any(in_group(user, g) for g in groups):
        raise AccountError(f"用户 {user} 不在课程的组（{'、'.join(groups)}）里，不能在这个 hub 上启动服务器。")
    return pw


def create_student(user: str, group: str) -> None:
    """The system account of a user approved in NativeAuthenticator (home 0700, in the students' group)."""
    if not NATIVE_NAME.match(user):
        raise AccountError(f"用户名 {user!r} 不能用作系统账户名（小写字母开头，只含小写字母、数字和 -）。")
    try:
        pwd.getpwnam(user)
        return  # exists: check_course_user decides
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run([useradd, "--create-home", "--shell", "/bin/bash", "--gid", group, user],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise AccountError(f"无法为 {user} 建立系统账户：{proc.stderr.strip()}")
