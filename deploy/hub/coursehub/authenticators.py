"""Who can log in, chosen by RNNLAB_HUB_AUTH:

- pam (default): the campus's system accounts and passwords (JupyterHub's PAMAuthenticator), allowed
  when the account is in the students' or the graders' system group;
- native: NativeAuthenticator — students sign up on the hub's page, an administrator
  (RNNLAB_HUB_ADMINS) approves them at /hub/authorize; the hub then creates their system account;
tests/test_hub.py runs the default, PAM, with real system accounts and passwords, and at its end restarts the
hub with NativeAuthenticator for a sign-up, an approval and a login.
LTI (a learning platform logging students in) is jupyterhub-ltiauthenticator: see deploy/README.md.
"""

from __future__ import annotations

from pathlib import Path

from coursehub.settings import Settings


def native_authenticator_class():
    """NativeAuthenticator with its login page mended for JupyterHub 5 and later.

    NativeAuthenticator 1.3.0 (the newest) times each login with the handler's `statsd`, which JupyterHub 5
    removed: every login form sent ends in a 500. Its `_render` also refuses the `sync` argument JupyterHub
    passes when it shows an error on the login page. tests/test_hub.py signs up, approves and logs in through it.
    """
    from nativeauthenticator import NativeAuthenticator, handlers
    from tornado.escape import url_escape
    from tornado.httputil import url_concat

    class NoTimer:
        def timer(self, *args, **kwargs):
            return self

        def start(self):
            return self

        def stop(self, *args, **kwargs):
            pass

    class LoginHandler(handlers.LoginHandler):
        statsd = NoTimer()

        def _render(self, login_error=None, username=None, sync=False, **kwargs):
            # NativeAuthenticator's own page and context (handlers.LoginHandler._render), passing `sync` on.
            return self.render_template(
                "native-login.html", sync=sync,
                next=url_escape(self.get_argument("next", default="")),
                username=username, login_error=login_error,
                custom_html=self.authenticator.custom_html, login_url=self.settings["login_url"],
                enable_signup=self.authenticator.enable_signup, two_factor_auth=self.authenticator.allow_2fa,
                authenticator_login_url=url_concat(self.authenticator.login_url(self.hub.base_url),
                                                   {"next": self.get_argument("next", "")}),
            )

    class CourseNativeAuthenticator(NativeAuthenticator):
        def get_handlers(self, app):
            return [(path, LoginHandler if handler is handlers.LoginHandler else handler)
                    for path, handler in super().get_handlers(app)]

    return CourseNativeAuthenticator


def configure(c, settings: Settings) -> str:
    """Set the authenticator on the config `c`; returns a Chinese line for the log."""
    groups = (settings.students_group, settings.graders_group)
    c.Authenticator.admin_users = set(settings.admins)
    if settings.authenticator == "native":
        import nativeauthenticator

        c.JupyterHub.authenticator_class = native_authenticator_class()
        c.JupyterHub.template_paths = [str(Path(nativeauthenticator.__file__).parent / "templates")]
        c.NativeAuthenticator.open_signup = False          # every sign-up waits for an administrator
        c.NativeAuthenticator.check_common_password = True
        c.NativeAuthenticator.minimum_password_length = 8
        c.Authenticator.allow_all = True                    # NativeAuthenticator's approval decides
        return "登录：NativeAuthenticator（自助注册，管理员在 /hub/authorize 批准）"
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.allowed_groups = set(groups)
    return f"登录：PAM（系统账户，{'、'.join(groups)} 组的成员）"
