"""The hub's settings: environment variables RNNLAB_HUB_*, with defaults for one campus server.

Every value is read and checked once, when the hub loads jupyterhub_config.py; a bad value is one
Chinese sentence (SettingError) and the hub does not start. deploy/README.md lists them all.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
HUB_DIR = HERE.parent                 # deploy/hub
REPO = HUB_DIR.parents[1]             # the course repository

AUTHENTICATORS = ("pam", "native")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.I)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
# System group and account names useradd accepts (Debian's default NAME_REGEX, without capitals).
_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class SettingError(Exception):
    """A setting the hub cannot start with; the message is one Chinese sentence for the administrator."""


def parse_size(text: str, var: str) -> int:
    """'2G', '512M', '1.5G', '1073741824' -> bytes."""
    m = _SIZE.match(text)
    if not m:
        raise SettingError(f"{var}={text!r} 不是内存大小：请写成 2G、512M 这样的形式。")
    value = int(float(m.group(1)) * _UNITS[m.group(2).upper()])
    if value < 64 * 2**20:
        raise SettingError(f"{var}={text!r} 太小：一个 JupyterLab 服务器本身就要 100 MB 以上，至少写 256M。")
    return value


def _port(env, var: str, default: int) -> int:
    text = env.get(var, str(default))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SettingError(f"{var}={text!r} 不是端口号（1–65535）。")
    return int(text)


def _switch(env, var: str, default: bool) -> bool:
    text = env.get(var, "on" if default else "off").strip().lower()
    if text in ("1", "on", "yes", "true"):
        return True
    if text in ("0", "off", "no", "false"):
        return False
    raise SettingError(f"{var}={text!r} 只能是 on 或 off。")


def _name(env, var: str, default: str, empty_ok: bool = False) -> str:
    text = env.get(var, default).strip()
    if empty_ok and not text:
        return ""
    if not _NAME.match(text):
        raise SettingError(f"{var}={text!r} 不是合法的系统用户名或组名（小写字母、数字、-、_，最多 32 个字符）。")
    return text


@dataclass(frozen=True)
class Settings:
    ip: str                    # where students reach the hub (the proxy's public side)
    port: int
    hub_port: int              # the hub's own API, on 127.0.0.1
    proxy_api_port: int        # configurable-http-proxy's REST API, on 127.0.0.1
    state: Path                # the hub's database, cookie secret, and what users' servers run from
    authenticator: str         # pam | native
    test_api_token: str        # tests only: an API token with admin rights over users and servers
    admins: tuple[str, ...]
    students_group: str
    graders_group: str
    grader_account: str        # the shared grader account that runs Formgrader ("" = no Formgrader service)
    course_dir: Path | None    # the instructor's course directory, owned by grader_account
    course_id: str
    exchange: Path
    edition: Path              # the student edition built by `python -m rnnlab.grading student-edition`
    course_folder: str         # its name in every student's home
    limits: bool
    memory: int                # bytes per user (server and kernels together)
    cpu: float                 # cores per user
    cgroup: str                # the parent cgroup of every user's cgroup
    cgroup_root: Path          # where the cgroup file system is mounted
    cull_timeout: int          # seconds without activity before a server is stopped
    formgrader_port: int
    python: Path               # the course environment's python (the venv the hub runs in)

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.ip).is_loopback
        except ValueError:
            return self.ip == "localhost"

    @property
    def formgrader(self) -> bool:
        return bool(self.grader_account)

    # What users' processes may read: the Python they run, their Jupyter config folders, the edition.
    @property
    def shared_dir(self) -> Path:
        return self.state / "users"

    # What only the hub may read: its database, cookie secret, logs.
    @property
    def private_dir(self) -> Path:
        return self.state / "hub"


def from_env(env=None) -> Settings:
    env = os.environ if env is None else env
    ip = env.get("RNNLAB_HUB_IP", "127.0.0.1").strip()
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        if ip not in ("localhost", ""):
            raise SettingError(f"RNNLAB_HUB_IP={ip!r} 不是 IP 地址（本机试用写 127.0.0.1，对外服务写 0.0.0.0）。") from None

    authenticator = env.get("RNNLAB_HUB_AUTH", "pam").strip().lower()
    if authenticator not in AUTHENTICATORS:
        raise SettingError(f"RNNLAB_HUB_AUTH={authenticator!r} 只能是 pam（校园系统账户）或 native（自助注册、管理员批准）。")

    test_api_token = env.get("RNNLAB_HUB_TEST_API_TOKEN", "")
    if test_api_token and len(test_api_token) < 16:
        raise SettingError("RNNLAB_HUB_TEST_API_TOKEN 至少要 16 个字符。")

    memory = parse_size(env.get("RNNLAB_HUB_MEM", "2G"), "RNNLAB_HUB_MEM")
    cpu_text = env.get("RNNLAB_HUB_CPU", "1.0")
    try:
        cpu = float(cpu_text)
    except ValueError:
        cpu = 0.0
    if not 0.05 <= cpu <= 256:
        raise SettingError(f"RNNLAB_HUB_CPU={cpu_text!r} 不是 CPU 核数（例如 1.0、0.5、2）。")

    cull_text = env.get("RNNLAB_HUB_CULL_TIMEOUT", "3600")
    if not cull_text.isdigit() or int(cull_text) < 60:
        raise SettingError(f"RNNLAB_HUB_CULL_TIMEOUT={cull_text!r} 应是秒数，至少 60。")

    grader_account = _name(env, "RNNLAB_HUB_GRADER_ACCOUNT", "grader-rnnlab", empty_ok=True)
    course_dir_text = env.get("RNNLAB_HUB_COURSE_DIR", "").strip()
    course_id = env.get("RNNLAB_HUB_COURSE_ID", "rnnlab-zh").strip()
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", course_id):
        raise SettingError(f"RNNLAB_HUB_COURSE_ID={course_id!r} 只能含字母、数字、- 和 _（它也是 Formgrader 服务的名字）。")
    folder = env.get("RNNLAB_HUB_COURSE_FOLDER", "rnn-course").strip()
    if not folder or "/" in folder or folder.startswith("."):
        raise SettingError(f"RNNLAB_HUB_COURSE_FOLDER={folder!r} 应是学生主目录下的一个文件夹名（不含 /，不以 . 开头）。")

    cgroup = env.get("RNNLAB_HUB_CGROUP", "rnnlab-hub").strip()
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", cgroup):
        raise SettingError(f"RNNLAB_HUB_CGROUP={cgroup!r} 应是一个 cgroup 目录名（字母、数字、-、_、.）。")

    admins = tuple(a.strip() for a in env.get("RNNLAB_HUB_ADMINS", "").split(",") if a.strip())

    settings = Settings(
        ip=ip or "0.0.0.0",
        port=_port(env, "RNNLAB_HUB_PORT", 8000),
        hub_port=_port(env, "RNNLAB_HUB_API_PORT", 8081),
        proxy_api_port=_port(env, "RNNLAB_HUB_PROXY_API_PORT", 8001),
        state=Path(env.get("RNNLAB_HUB_STATE", "/srv/rnnlab-hub")).absolute(),
        authenticator=authenticator,
        test_api_token=test_api_token,
        admins=admins,
        students_group=_name(env, "RNNLAB_HUB_STUDENTS_GROUP", "students"),
        graders_group=_name(env, "RNNLAB_HUB_GRADERS_GROUP", "graders"),
        grader_account=grader_account,
        course_dir=Path(course_dir_text).absolute() if course_dir_text else None,
        course_id=course_id,
        exchange=Path(env.get("RNNLAB_HUB_EXCHANGE", "/srv/nbgrader/exchange")).absolute(),
        edition=Path(env.get("RNNLAB_HUB_EDITION", str(REPO / "build" / "student-edition"))).absolute(),
        course_folder=folder,
        limits=_switch(env, "RNNLAB_HUB_LIMITS", True),
        memory=memory,
        cpu=cpu,
        cgroup=cgroup,
        cgroup_root=Path(env.get("RNNLAB_HUB_CGROUP_ROOT", "/sys/fs/cgroup")).absolute(),
        cull_timeout=int(cull_text),
        formgrader_port=_port(env, "RNNLAB_HUB_FORMGRADER_PORT", 8082),
        python=Path(env.get("RNNLAB_HUB_PYTHON", sys.executable)).absolute(),
    )
    if settings.test_api_token and not settings.loopback:
        raise SettingError("测试用的 API 令牌（RNNLAB_HUB_TEST_API_TOKEN）只允许在 127.0.0.1 上使用，"
                           f"这个 hub 却监听 {settings.ip}。")
    ports = [settings.port, settings.hub_port, settings.proxy_api_port] + ([settings.formgrader_port] if grader_account else [])
    if len(set(ports)) != len(ports):
        raise SettingError(f"hub 的几个端口不能相同：{ports}（RNNLAB_HUB_PORT、_API_PORT、_PROXY_API_PORT、_FORMGRADER_PORT）。")
    return settings
