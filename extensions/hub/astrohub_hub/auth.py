"""Sign-in: each person signs in as themselves only, with their own password.

Owns :class:`RosterAuthenticator`, the default authenticator of the local platform (settings
``auth.kind = "roster"``), its registration page ``/hub/register`` (:class:`RegisterHandler`) and
the login page's text (``templates/login.html``: who may sign in and how an admin adds people).

* Who may sign in: people on the roster, i.e. hub users an admin or instructor created (``astrohub
  users add --csv roster.csv``, the hub's admin page or API, a group's members) plus
  ``auth.allowedUsers``.
* The first time, a person registers at ``/hub/register``: their name, the **class code** (the old
  shared class password) and a password of their own. The class code only lets a name *on the roster*
  that has *no password yet* set one; it never signs anybody in. From then on only their own password
  works (stored scrypt-hashed by :class:`~astrohub_hub.credentials.PasswordStore`).
* Names are stripped and lower-cased before anything else (JupyterHub's ``normalize_username``), so
  ``SECBOB`` and ``"secbob "`` are the account ``secbob``, which needs ``secbob``'s password.
* Failed attempts are limited per name and per client address (``max_failures`` within
  ``failure_window`` seconds; then HTTP 429 until the window passes, even with the right password).
* Admins in ``admin_users`` sign in with ``admin_password`` (or a password they registered).

May import JupyterHub, tornado, the standard library and ``credentials``.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from pathlib import Path

from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler
from tornado import web
from traitlets import Float, Integer, Unicode, default

from astrohub_hub.credentials import AttemptLimiter, PasswordStore

__all__ = ["RegisterHandler", "RosterAuthenticator", "TEMPLATES"]

#: The folder with this module's page templates (put first in ``JupyterHub.template_paths``).
TEMPLATES = str(Path(__file__).with_name("templates"))


class RosterAuthenticator(Authenticator):
    """Per-user passwords, set once by people on the roster with the class code (see the module)."""

    password_file = Unicode(
        "astrohub-passwords.sqlite",
        help="The SQLite file of users' password hashes (relative: to the hub's working folder).",
    ).tag(config=True)
    class_code = Unicode(
        "", help="The class code: lets a name on the roster without a password register one. Empty: no registration."
    ).tag(config=True)
    admin_password = Unicode("", help="The password of the users in admin_users (32+ characters).").tag(config=True)
    min_password_length = Integer(8, min=8, help="The shortest password a person may choose.").tag(config=True)
    max_failures = Integer(5, min=1, help="Failed attempts per user name within failure_window.").tag(config=True)
    max_failures_per_address = Integer(
        30, min=1, help="Failed attempts per client address within failure_window (a class may share one NAT)."
    ).tag(config=True)
    failure_window = Float(60.0, help="Seconds over which failed attempts are counted.").tag(config=True)

    @default("allow_existing_users")
    def _default_allow_existing(self) -> bool:
        return True  # the roster is the hub's users: whoever an admin or instructor added

    _store: PasswordStore | None = None
    _limiters: dict[str, AttemptLimiter] | None = None

    @property
    def store(self) -> PasswordStore:
        if self._store is None:
            self._store = PasswordStore(os.path.abspath(self.password_file))
        return self._store

    @property
    def limiters(self) -> dict[str, AttemptLimiter]:
        """Failed attempts counted per user name (``user``) and per client address (``ip``)."""
        if self._limiters is None:
            self._limiters = {
                "user": AttemptLimiter(self.max_failures, self.failure_window),
                "ip": AttemptLimiter(self.max_failures_per_address, self.failure_window),
            }
        return self._limiters

    def attempt_keys(self, handler: web.RequestHandler, name: str, kind: str = "login") -> dict[str, list[str]]:
        return {"user": [f"user:{kind}:{name}"], "ip": [f"ip:{kind}:{handler.request.remote_ip}"]}

    def failed(self, keys: dict[str, list[str]]) -> None:
        for which, limiter in self.limiters.items():
            limiter.fail(keys[which])

    def succeeded(self, keys: dict[str, list[str]]) -> None:
        self.limiters["user"].succeed(keys["user"])

    def check_rate(self, keys: dict[str, list[str]]) -> None:
        """Raise HTTP 429 while the name or the address is over its limit of failed attempts."""
        wait = max(limiter.blocked(keys[which]) for which, limiter in self.limiters.items())
        if wait > 0:
            self.log.warning("refused an attempt for %s: too many failures", keys)
            raise web.HTTPError(
                429, f"Too many failed attempts for this name or from this address; try again in {int(wait) + 1} s."
            )

    async def authenticate(self, handler: web.RequestHandler, data: dict) -> str | None:
        name = self.normalize_username(str(data.get("username", "")).strip())
        password = str(data.get("password", ""))
        if not name or not password:
            return None
        keys = self.attempt_keys(handler, name)
        self.check_rate(keys)
        ok = False
        if name in self.admin_users and self.admin_password:
            ok = hmac.compare_digest(password.encode(), self.admin_password.encode())
        if not ok:
            ok = await asyncio.to_thread(self.store.check, name, password)
        if ok:
            self.succeeded(keys)
            return name
        self.failed(keys)
        self.log.warning("failed sign-in for %r from %s", name, handler.request.remote_ip)
        return None

    def delete_user(self, user) -> None:
        """A deleted user's password goes too: a new account of that name registers afresh."""
        self.store.forget(user.name)

    def on_roster(self, handler: BaseHandler, name: str) -> bool:
        """Whether ``name`` is a hub user (an admin or instructor added them) or in ``allowed_users``."""
        return name in self.allowed_users or handler.find_user(name) is not None

    def get_handlers(self, app) -> list[tuple[str, type]]:
        return [(r"/register", RegisterHandler)]


class RegisterHandler(BaseHandler):
    """``/hub/register``: a person on the roster sets their own password with the class code."""

    async def _render(self, status: int = 200, error: str = "", username: str = "") -> None:
        self.set_status(status)
        self.finish(await self.render_template(
            "register.html", error=error, username=username, min_length=self.authenticator.min_password_length,
        ))

    async def get(self) -> None:
        await self._render()

    async def post(self) -> None:
        auth: RosterAuthenticator = self.authenticator
        raw = self.get_body_argument("username", "").strip()
        name = auth.normalize_username(raw)
        code = self.get_body_argument("class_code", "")
        password = self.get_body_argument("password", "")
        confirm = self.get_body_argument("password2", "")
        keys = auth.attempt_keys(self, name, "register")
        auth.check_rate(keys)
        error = self._problem(auth, name, code, password, confirm)
        if error:
            if error.startswith("!"):  # a guess (wrong code, unknown name): counts as a failed attempt
                auth.failed(keys)
                error = error[1:]
            self.log.warning("registration of %r refused: %s", name, error)
            return await self._render(400, error, raw)
        if not await asyncio.to_thread(auth.store.set_first, name, password):
            return await self._render(400, f"{name!r} already has a password: sign in, or ask an admin to reset it.", raw)
        self.log.info("%r registered their own password", name)
        user = await self.login_user({"username": name, "password": password})
        if user is None:  # pragma: no cover - the password was just stored
            raise web.HTTPError(500, "registered, but signing in failed; try the login page")
        self.redirect(self.get_next_url(user))

    def _problem(self, auth: RosterAuthenticator, name: str, code: str, password: str, confirm: str) -> str:
        """Why this registration is refused ('' if it is not); a leading '!' marks a guess."""
        if not auth.class_code:
            return "Registration is closed on this hub: ask an admin for an account."
        if not name or not auth.validate_username(name):
            return f"{name!r} is not a valid user name: lower-case letters, digits, '-' and '_'."
        if not hmac.compare_digest(code.encode(), auth.class_code.encode()):
            return "!The class code is wrong: ask your instructor for it."
        if name in auth.admin_users:
            return f"{name!r} is an admin account: admins do not register here."
        if not auth.on_roster(self, name):
            return (f"!{name!r} is not on the roster: ask your instructor or an admin to add you "
                    "(astrohub users add --csv roster.csv).")
        if auth.store.has(name):
            return f"{name!r} already has a password: sign in, or ask an admin to reset it."
        if len(password) < auth.min_password_length:
            return f"Choose a password of at least {auth.min_password_length} characters."
        if password != confirm:
            return "The two passwords differ."
        if hmac.compare_digest(password.encode(), auth.class_code.encode()) or password.lower() == name:
            return "Choose a password of your own, not the class code or your name."
        return ""
