"""CourseSpawner: JupyterHub's LocalProcessSpawner with the course's rules.

- only members of the students' or graders' system group get a server (accounts.py); with
  NativeAuthenticator the hub first creates the system account of an approved user;
- before the server starts: a private home with the course files in it (homes.py);
- the server and every kernel it starts run in the user's own cgroup, with the memory and CPU limit
  of the settings (limits.py): the server process joins it between fork and exec, as root, just before
  it becomes the user; when the server stops, whatever is left in the cgroup is killed and the cgroup
  removed, so no kernel outlives its server.
"""

from __future__ import annotations

import asyncio
import os

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Any, Bool, Float, Integer, Tuple, Unicode

from coursehub import accounts, homes


class CourseSpawner(LocalProcessSpawner):
    course_groups = Tuple(help="System groups whose members may have a server.").tag(config=True)
    create_students_in = Unicode("", help="NativeAuthenticator: create missing accounts in this group.").tag(config=True)
    edition = Unicode(help="The student edition to copy into new homes.").tag(config=True)
    course_folder = Unicode("rnn-course").tag(config=True)
    user_python = Unicode(help="The python users' servers run (user_python.py).").tag(config=True)
    cgroups = Any(None, help="limits.Cgroups, or None when limits are off.").tag(config=True)
    memory_bytes = Integer(0).tag(config=True)
    cpu_cores = Float(0.0).tag(config=True)
    copy_course = Bool(True).tag(config=True)

    async def start(self):
        # Blocking steps (useradd, the copy, cgroup files) run in a thread: the hub serves everyone else meanwhile.
        await asyncio.to_thread(self._prepare, self.user.name)
        return await super().start()

    def _prepare(self, name: str) -> None:
        if self.create_students_in:
            accounts.create_student(name, self.create_students_in)
        accounts.check_course_user(name, tuple(self.course_groups))
        if self.copy_course:
            if homes.copy_course(name, self.edition, self.course_folder, self.user_python):
                self.log.info("课程文件已复制到 %s 的主目录（%s）", name, self.course_folder)
        else:
            homes.ensure_private_home(name)
        if self.cgroups is not None:
            self.cgroups.remove(name)  # a cgroup left by a server the hub lost track of
            self.cgroups.create(name, self.memory_bytes, self.cpu_cores)

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        if self.cgroups is None:
            return become_user
        procs = [os.fsencode(p) for p in self.cgroups.join_paths(name)]

        def preexec():
            pid = str(os.getpid()).encode()
            for path in procs:  # as root, before the uid changes
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, pid)
                finally:
                    os.close(fd)
            become_user()

        return preexec

    async def stop(self, now=False):
        try:
            await super().stop(now=now)
        finally:
            if self.cgroups is not None:
                await asyncio.to_thread(self.cgroups.remove, self.user.name)
