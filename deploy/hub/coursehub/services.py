"""The hub-managed services, their roles, and the environment users' processes get.

- idle-culler: `jupyterhub-idle-culler` stops a server with no activity for `cull_timeout` seconds
  (its role: list users, read their activity and servers, delete servers — nothing else);
- <course_id>: Formgrader, nbgrader's documented multi-grader set-up — one Jupyter server running as the
  shared grader account in the instructor's course directory, reached at /services/<course_id>/ by the
  members of the hub group formgrade-<course_id> (the graders' system group); the service is named after
  the course, as nbgrader's course list expects;
- tests only: an API client with admin rights over users and servers (RNNLAB_HUB_TEST_API_TOKEN).
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from coursehub.settings import Settings

CULLER = "idle-culler"
TEST_CLIENT = "rnnlab-test"


def user_environment(settings: Settings, python: Path, config: Path) -> dict:
    """What a user's server (or the grader account's Formgrader) runs with."""
    return {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(config),
        "RNNLAB_EXCHANGE_ROOT": str(settings.exchange),
        "RNNLAB_COURSE_ID": settings.course_id,
        # torch's threads match the CPU limit instead of the machine's cores (throttled spinning otherwise).
        "OMP_NUM_THREADS": str(max(1, math.ceil(settings.cpu))),
        "LANG": os.environ.get("LANG") or "C.UTF-8",
    }


def formgrader_group(settings: Settings) -> str:
    return f"formgrade-{settings.course_id}"


def idle_culler(settings: Settings) -> tuple[dict, dict]:
    every = max(30, min(300, settings.cull_timeout // 4))
    service = {
        "name": CULLER,
        "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                    f"--timeout={settings.cull_timeout}", f"--cull-every={every}"],
    }
    role = {"name": CULLER, "services": [CULLER],
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]}
    return service, role


def formgrader(settings: Settings, python: Path, config: Path, course_dir: Path,
               graders: set[str]) -> tuple[dict, list[dict], dict]:
    """(service, roles, groups) of the Formgrader service."""
    env = user_environment(settings, python, config)
    env["JUPYTERHUB_DEFAULT_URL"] = "/lab"
    for var in ("RNNLAB_DB_URL", "PGPASSWORD"):  # the gradebook on PostgreSQL (deploy/README.md)
        if os.environ.get(var):
            env[var] = os.environ[var]
    name = settings.course_id
    service = {
        "name": name,
        "url": f"http://127.0.0.1:{settings.formgrader_port}",
        "command": [str(python), "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={course_dir}"],
        "user": settings.grader_account,
        "cwd": str(course_dir),
        "environment": env,
        "oauth_no_confirm": True,
        "display": True,
        "info": {"说明": "Formgrader：批改、查看成绩（批改者组可用）"},
    }
    group = formgrader_group(settings)
    roles = [{"name": group, "groups": [group],
              "scopes": [f"access:services!service={name}", "list:services", f"read:services!service={name}"]}]
    return service, roles, {group: {"users": sorted(graders)}}


def test_client(settings: Settings) -> tuple[dict, dict]:
    service = {"name": TEST_CLIENT, "api_token": settings.test_api_token}
    role = {"name": TEST_CLIENT, "services": [TEST_CLIENT],
            "scopes": ["admin:users", "admin:servers", "tokens", "list:services", "read:services", "read:groups", "read:roles"]}
    return service, role
