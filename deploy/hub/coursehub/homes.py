"""Each student's home before their server starts (the spawner's pre-spawn hook).

- The home exists, belongs to its owner and is 0700: no student lists or reads another's files.
- The first time, the student edition (the course without answers: lectures, released assignments,
  the student-side rnnlab) is copied into ~/<course folder>; a file the student already has is never
  overwritten, and once the copy is done (~/.rnnlab-course-copied) it is not made again, so files a
  student deleted on purpose do not come back. The copy runs as the student, so a link the student
  planted in their home cannot make the hub write anywhere else.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

STAMP = ".rnnlab-course-copied"

# Run by the student's own Python, as the student: copy what is missing, never overwrite.
_COPY = r"""
import os, shutil, sys
src, dest, stamp = sys.argv[1:4]
for dirpath, dirnames, filenames in os.walk(src):
    target = os.path.normpath(os.path.join(dest, os.path.relpath(dirpath, src)))
    if os.path.lexists(target) and not os.path.isdir(target):
        dirnames[:] = []
        continue
    os.makedirs(target, exist_ok=True)
    for name in filenames:
        t = os.path.join(target, name)
        if not os.path.lexists(t):
            shutil.copy2(os.path.join(dirpath, name), t)
with open(stamp, "w") as f:
    f.write(src + "\n")
"""


class HomeError(Exception):
    """The student's home could not be prepared; the message is in Chinese."""


def ensure_private_home(user: str) -> Path:
    pw = pwd.getpwnam(user)
    home = Path(pw.pw_dir)
    if not home.is_dir():
        home.mkdir(mode=0o700, parents=True)
        os.chown(home, pw.pw_uid, pw.pw_gid)
    st = home.stat()
    if st.st_uid != pw.pw_uid:
        raise HomeError(f"{user} 的主目录 {home} 不属于 {user}，hub 不在别人的目录里放课程文件。")
    if st.st_mode & 0o777 != 0o700:
        home.chmod(0o700)
    return home


def copy_course(user: str, edition: Path, folder: str, python: Path) -> bool:
    """Copy the edition into ~user/folder the first time; True if a copy was made now."""
    home = ensure_private_home(user)
    if (home / STAMP).exists():
        return False
    pw = pwd.getpwnam(user)

    def as_user():
        os.setgid(pw.pw_gid)
        os.setgroups(os.getgrouplist(user, pw.pw_gid))
        os.setuid(pw.pw_uid)
        os.umask(0o077)

    proc = subprocess.run([str(python), "-I", "-c", _COPY, str(edition), str(home / folder), str(home / STAMP)],
                          preexec_fn=as_user, cwd=home, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(home)})
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        raise HomeError(f"无法把课程文件复制到 {home / folder}：{last}")
    return True
