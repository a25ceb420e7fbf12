"""Who can log in, chosen by RNNLAB_HUB_AUTH:

- pam (default): the campus's system accounts and passwords (JupyterHub's PAMAuthenticator), allowed
  when the account is in the students' or the graders' system group;
- native: NativeAuthenticator — students sign up on the hub's page, an administrator
  (RNNLAB_HUB_ADMINS) approves them at /hub/authorize; the hub then creates their system account;
tests/test_hub.py runs the default, PAM, with real system accounts and passwords.
LTI (a learning platform logging students in) is jupyterhub-ltiauthenticator: see deploy/README.md.
"""

from __future__ import annotations

from pathlib import Path

from coursehub.settings import Settings


def configure(c, settings: Settings) -> str:
    """Set the authenticator on the config `c`; returns a Chinese line for the log."""
    groups = (settings.students_group, settings.graders_group)
    c.Authenticator.admin_users = set(settings.admins)
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
