"""The course's JupyterHub: `jupyterhub -f deploy/hub/jupyterhub_config.py`, run as root (`make hub` for a trial).

Everything is set by environment variables RNNLAB_HUB_* (coursehub/settings.py; deploy/README.md lists
them). The parts, one module each under coursehub/:

- settings.py        the settings, checked;
- startup.py         what must hold before the hub starts, and the folders it prepares;
- user_python.py     the course's Python as every user can run it;
- authenticators.py  PAM (the default, also in tests/test_hub.py) or NativeAuthenticator;
- accounts.py        who may have a server (the students' and graders' system groups);
- homes.py           a private home with the student edition in it;
- limits.py          one cgroup per user with a memory and a CPU limit;
- spawner.py         LocalProcessSpawner with all of the above;
- services.py        the idle culler, Formgrader as the shared grader account, their roles.

A setting or a check that fails stops the hub with one Chinese sentence.
"""

import signal
import sys
from pathlib import Path

# Started where SIGINT is ignored (a shell's background job, nohup), the hub would pass that on to the
# services it starts, and stopping each would wait for SIGTERM instead: make SIGINT stop them again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from coursehub import accounts, authenticators, services, settings as hub_settings, startup  # noqa: E402
from coursehub.spawner import CourseSpawner  # noqa: E402

c = get_config()  # noqa: F821

try:
    s = hub_settings.from_env()
    ready = startup.prepare(s)
except (hub_settings.SettingError, startup.StartupError) as e:
    raise SystemExit(f"课程 hub 没有启动：{e}") from None

# -- network: students reach the proxy; the hub and the proxy's API stay on loopback
c.JupyterHub.bind_url = f"http://{s.ip}:{s.port}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{s.hub_port}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [str(startup.PROXY)]
c.ConfigurableHTTPProxy.pid_file = str(s.private_dir / "jupyterhub-proxy.pid")

# A hub restart (an update, a crash, a new setting) leaves the class's servers and kernels running: the
# hub finds them again from its database (LocalProcessSpawner keeps each server's pid) and puts their
# routes back into the proxy it starts anew. Stopping the class's servers is the culler's job.
c.JupyterHub.cleanup_servers = False

# -- the hub's own files, readable by root alone
c.JupyterHub.db_url = f"sqlite:///{s.private_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(s.private_dir / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(s.private_dir / "jupyterhub.pid")

# -- who logs in
login = authenticators.configure(c, s)

# -- each user's server: JupyterLab (zh_CN through the course venv's settings), as the user, limited
c.JupyterHub.spawner_class = CourseSpawner
c.Spawner.cmd = [str(ready.python), "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.env_keep = ["LC_ALL", "TZ"]
c.Spawner.environment = services.user_environment(s, ready.python, ready.student_config)
c.Spawner.http_timeout = 120   # 40 students starting at once on a small server
c.Spawner.start_timeout = 180
c.CourseSpawner.course_groups = (s.students_group, s.graders_group)
c.CourseSpawner.create_students_in = s.students_group if s.authenticator == "native" else ""
c.CourseSpawner.edition = str(ready.edition)
c.CourseSpawner.course_folder = s.course_folder
c.CourseSpawner.user_python = str(ready.python)
c.CourseSpawner.cgroups = ready.cgroups
c.CourseSpawner.memory_bytes = s.memory
c.CourseSpawner.cpu_cores = s.cpu

# -- services: the idle culler, Formgrader as the shared grader account, (tests) an API client
culler, culler_role = services.idle_culler(s)
hub_services, roles, groups = [culler], [culler_role], {}
if ready.course_dir is not None:
    graders = accounts.members(s.graders_group) - {s.grader_account}
    service, grader_roles, groups = services.formgrader(s, ready.python, ready.grader_config, ready.course_dir, graders)
    hub_services.append(service)
    roles += grader_roles
if s.test_api_token:
    client, client_role = services.test_client(s)
    hub_services.append(client)
    roles.append(client_role)
c.JupyterHub.services = hub_services
c.JupyterHub.load_roles = roles
c.JupyterHub.load_groups = groups

limits_line = (f"每个用户 {s.memory / 2**30:.2g} GiB 内存、{s.cpu:g} 个 CPU（cgroup v{ready.cgroups.version}）"
               if ready.cgroups is not None else "不限制内存和 CPU（RNNLAB_HUB_LIMITS=off）")
print(f"课程 hub：http://{s.ip}:{s.port}；{login}；{limits_line}；exchange {s.exchange}；"
      f"Formgrader：{'/services/' + s.course_id + '/' if ready.course_dir else '未启用'}；"
      f"空闲 {s.cull_timeout} 秒的服务器自动停止。", file=sys.stderr)
