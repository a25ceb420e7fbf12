"""Who can log in, chosen by RNNLAB_HUB_AUTH:

- pam (default): the campus's system accounts and passwords (JupyterHub's PAMAuthenticator), allowed
  when the account is in the students' or the graders' system group;
- native: NativeAuthenticator — students sign up on the hub's page, an administrator
  (RNNLAB_HUB_ADMINS) approves them at /hub/authorize; the hub then creates their system account;
- tests only, when RNNLAB_HUB_TEST_PASSWORD is set (and the hub listens on 127.0.0.1 alone):
  JupyterHub's SharedPasswordAuthenticator, the successor of DummyAuthenticator's password, with that
  password, again only for members of the course's groups.
LTI (a learning platform logging students in) is jupyterhub-ltiauthenticator: see deploy/README.md.
"""

from __future__ import annotations

from pathlib import Path

from jupyterhub.authenticators.shared import SharedPasswordAuthenticator

from coursehub import accounts
from coursehub.settings import Settings


class CourseTestAuthenticator(SharedPasswordAuthenticator):
    """One password for every test user; only members of the course's groups get in."""

    course_groups: tuple[str, ...] = ()

    def check_allowed(self, username, authentication=None):
        return any(accounts.in_group(username, g) for g in self.course_groups)


def configure(c, settings: Settings) -> str:
    """Set the authenticator on the config `c`; returns a Chinese line for the log."""
    groups = (settings.students_group, settings.graders_group)
    c.Authenticator.admin_users = set(settings.admins)
    if settings.test_password:
        CourseTestAuthenticator.course_groups = groups
        c.JupyterHub.authenticator_class = CourseTestAuthenticator
        c.SharedPasswordAuthenticator.user_password = settings.test_password
        c.Authenticator.allow_all = False
        c.Authenticator.any_allow_config = True  # check_allowed above is the allow configuration
        return "登录：测试用的共享密码（只在 127.0.0.1 上）"
    if settings.authenticator == "native":
        import nativeauthenticator

        c.JupyterHub.authenticator_class = "native"
        c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
        c.NativeAuthenticator.open_signup = False          # every sign-up waits for an administrator
        c.NativeAuthenticator.check_common_password = True
        c.NativeAuthenticator.minimum_password_length = 8
        c.Authenticator.allow_all = True                    # NativeAuthenticator's approval decides
        return "登录：NativeAuthenticator（自助注册，管理员在 /hub/authorize 批准）"
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = set(groups)
    return f"登录：PAM（系统账户，{'、'.join(groups)} 组的成员）"
