"""Who is calling: a :class:`~platform_lib.imageindex.Viewer` from the request's token.

Three sources, in order: the static admin token (``--token``), a tokens file for standalone use
(``--tokens``: JSON ``{token: {"name": ..., "groups": [...], "admin": false}}``), and, when the
service runs under JupyterHub (``JUPYTERHUB_API_TOKEN`` and ``JUPYTERHUB_API_URL`` set), the hub
itself through :class:`jupyterhub.services.auth.HubAuth`, which must show the token's
``access:services!service=<this service>`` scope (HubAuth's ``access_scopes``). Tokens come from
``Authorization: token ...`` / ``Bearer ...`` or a ``token`` query parameter. No token means the
anonymous viewer (public records only); a token nobody recognises is refused.

The hub's answers are kept :attr:`Authenticator.group_recheck_seconds` (5 s, ``--group-recheck-seconds``) and asked
again once older: who a token is (``GET user`` with that token; HubAuth's own cache is not used), so
a token deleted at the hub, or one of a user deleted, stops working at the archive within that time; and a hub
user's groups, which unlock a group's proprietary images and the HiPS shared with a group or workspace (``GET
users/<name>`` with the service's ``read:users:groups``; never the token's model), so a member removed from a group
or workspace loses its data within that time. Concurrent requests that need the same answer share one question to
the hub (a burst of requests with one token costs one token check, and one groups question when a group decides).

A user's groups are asked only where a group decides (:meth:`Authenticator.viewer`'s ``group_decides``;
:meth:`Authenticator.identity` asks none): her own HiPS and images are hers by her name, from the token check
alone. A HiPS refused on kept groups is asked again (``fresh_groups=True``), so a grant works at once. While the
hub cannot be asked (down, restarting under the supervisor, or slower than ``hub_timeout`` seconds), the hub's last
answer that a token is someone's stands for :attr:`Authenticator.hub_down_grace` (a minute,
``--hub-down-grace-seconds``; nobody revokes a token through a hub that is down), so people keep their own and public
data through a hub restart; a token not checked in that time, or a user whose groups decide and are due to be
asked again, is answered 503 with ``Retry-After`` (:class:`~astrohub_archive.faults.HubUnavailableFault`): a lost
hub denies, never a hang, a 500, stale groups or a silent downgrade to anonymous; requests without a token are
answered as usual.

A hub that hangs (accepts the connection, never answers) is noticed once: every question to the hub ends after
``hub_timeout`` seconds, and once one has gone unanswered the hub counts as not answering until it answers again
(a hub that answers at once that it is down, or refuses the connection, costs no wait and is asked as usual).
Meanwhile at most one question is in flight to it: a request whose token the hub said was someone's within the
grace is answered at once from that answer (asking the hub in the background when no question is in flight, so its
answer, a revocation too, is taken as soon as it comes), and one that would need another question (a token not
known in the grace, a user's groups due) is answered 503 at once instead of waiting for the hub too. An answer given
without the hub says so in the header :data:`HUB_UNASKED_HEADER`. Nothing is granted that the hub's own last answer
within the grace did not grant.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

from astrohub_archive.faults import ArchiveFault, AuthFault, HubUnavailableFault
from platform_lib.imageindex import Viewer

__all__ = ["Authenticator", "AuthFault", "HUB_DOWN_GRACE", "HUB_UNASKED_HEADER", "HubUser"]

log = logging.getLogger("astrohub_archive")
#: Kept answers past which expired ones are dropped (each request with a new token adds one).
_KEEP_AT_MOST = 10_000
#: The header of an answer given while the hub could not be asked about the caller's token (its last answer, kept
#: :attr:`Authenticator.hub_down_grace`, was used), or about the groups that decide part of it (the listing of one's
#: HiPS, without those shared with one's groups): what was not asked and why, in one line.
HUB_UNASKED_HEADER = "X-Astrohub-Hub-Unasked"
#: Seconds the hub's last answer that a token is someone's stands while the hub cannot be asked: the default of
#: :attr:`Authenticator.hub_down_grace` (``--hub-down-grace-seconds``).
HUB_DOWN_GRACE = 60.0


@dataclass(frozen=True)
class HubUser(Viewer):
    """A hub user known from the token check alone: name and admin flag, groups not asked yet (empty here;
    :meth:`Authenticator.with_groups` asks them)."""


@dataclass
class Authenticator:
    static_token: str | None = None
    tokens: dict[str, dict] = field(default_factory=dict)
    hub_auth: object | None = None  # jupyterhub.services.auth.HubAuth
    #: Seconds a token check may wait for the hub before the caller gets a 503 (HubAuth's own is 300).
    hub_timeout: float = 10.0
    #: Seconds the hub's answers are kept, about a token (who it is) and a user's groups: how soon a revoked token
    #: stops working and a member removed from a group or workspace loses its proprietary images and shared HiPS
    #: (0: asked at every request). The one owner of this setting (``--group-recheck-seconds``).
    group_recheck_seconds: float = 5.0
    #: Seconds the hub's last answer that a token is someone's still stands while the hub cannot be asked (down,
    #: restarting, hanging): their own data and public data stay served through a restart; a user's groups never
    #: do (0: never: a 503 once the kept answer is due). The one owner of this setting
    #: (``--hub-down-grace-seconds``).
    hub_down_grace: float = HUB_DOWN_GRACE
    _token_cache: dict[str, tuple[float, dict | None]] = field(default_factory=dict, repr=False)
    _group_cache: dict[str, tuple[float, list[str]]] = field(default_factory=dict, repr=False)
    _asking: dict[tuple, asyncio.Task] = field(default_factory=dict, repr=False)
    #: When (``time.monotonic``) the first question to the hub that went unanswered (past ``hub_timeout``) was
    #: asked; None once it answers (if only that it is down).
    _unanswered_since: float | None = field(default=None, repr=False)
    #: The last question asked of the hub (while it does not answer, no other is asked until this one is done).
    _last_question: asyncio.Task | None = field(default=None, repr=False)

    @classmethod
    def create(cls, static_token: str | None, tokens_file: Path | None, use_hub: bool,
               group_recheck_seconds: float | None = None,
               hub_down_grace: float | None = None) -> "Authenticator":
        tokens = json.loads(Path(tokens_file).read_text()) if tokens_file else {}
        hub_auth = None
        if use_hub:
            from jupyterhub.services.auth import HubAuth

            hub_auth = HubAuth()  # its cache is not used: Authenticator keeps the answers (group_recheck_seconds)
        auth = cls(static_token or None, tokens, hub_auth)
        if group_recheck_seconds is not None:
            if not 0 <= group_recheck_seconds < float("inf"):
                raise ValueError(f"--group-recheck-seconds {group_recheck_seconds!r}: give seconds, 0 or more "
                                 "(how long the hub's answers about a token and a user's groups are kept; 5 by "
                                 "default)")
            auth.group_recheck_seconds = float(group_recheck_seconds)
        if hub_down_grace is not None:
            if not 0 <= hub_down_grace < float("inf"):
                raise ValueError(f"--hub-down-grace-seconds {hub_down_grace!r}: give seconds, 0 or more (how long the "
                                 "hub's last answer that a token is someone's stands while the hub cannot be asked; "
                                 f"{HUB_DOWN_GRACE:g} by default)")
            auth.hub_down_grace = float(hub_down_grace)
        return auth

    @staticmethod
    def token_of(handler) -> str | None:
        header = handler.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return handler.get_query_argument("token", None) or None

    async def viewer(self, handler, fresh_groups: bool = False,
                     group_decides: Callable[[Viewer], bool] | None = None) -> Viewer:
        """Who ``handler``'s request is, with a hub user's groups (:meth:`with_groups`) where ``group_decides(who)``
        (``who`` known from the token alone: a :class:`HubUser`; ``None``: always) and without them, unasked, where
        it does not (a lost hub then costs nothing more than the token check). ``fresh_groups``: asked of the hub
        now, not kept (a refusal on a kept answer asks again, so one just added to a group is let in at once)."""
        who = await self.identity(handler)
        if not isinstance(who, HubUser) or (group_decides is not None and not group_decides(who)):
            return who
        return await self.with_groups(who, fresh=fresh_groups)

    async def identity(self, handler) -> Viewer:
        """Who ``handler``'s request is from its token alone: a hub user is a :class:`HubUser`, whose groups are not
        asked (the tokens file's and the static token's viewers are whole)."""
        token = self.token_of(handler)
        if not token:
            return Viewer()
        if self.static_token and token == self.static_token:
            return Viewer(user="admin", admin=True)
        if token in self.tokens:
            t = self.tokens[token]
            return Viewer(user=t.get("name"), groups=tuple(t.get("groups", ())), admin=bool(t.get("admin")))
        if self.hub_auth is not None:
            model, unasked = await self._token_model(token)
            if unasked:
                handler.set_header(HUB_UNASKED_HEADER, unasked)
            if model and "scopes" in model and self.hub_auth.access_scopes and not self.hub_auth.check_scopes(
                    self.hub_auth.access_scopes, model):
                # A hub token for something else (a server's own API, another service) is not a key to the archive.
                raise AuthFault("this token does not carry the scope to use the archive "
                                f"({' or '.join(sorted(self.hub_auth.access_scopes))}); use a token of your "
                                "user or server (JUPYTERHUB_API_TOKEN), or request one with that scope")
            if model and model.get("kind", "user") == "user" and model.get("name"):
                # Not the model's groups: the token's answer is kept, and a removed member would keep them.
                return HubUser(user=model["name"], admin=bool(model.get("admin")))
            if model and model.get("kind") == "service":
                # A hub service's token (the operator's `astrohub` commands' astrohub-cli, the gateway's): the archive
                # serves users, whose names and groups decide which proprietary images they see; no command of
                # the platform calls it with a service's token.
                raise AuthFault(f"this is the token of the hub service {model.get('name')!r}, not of a user: the "
                                "archive answers users' tokens (an admin user's sees every image); use "
                                "JUPYTERHUB_API_TOKEN in a server, or a token from the hub's Token page (/hub/token)")
        raise AuthFault("the token is not valid for this service")

    async def with_groups(self, who: Viewer, fresh: bool = False) -> Viewer:
        """``who`` with their hub groups when a :class:`HubUser` (else ``who`` as it is): asked of the hub with the
        service's own token (needs read:users:groups), kept ``group_recheck_seconds`` (``fresh``: asked again
        anyway). A hub that cannot answer raises :class:`HubUnavailableFault` (503): an answer older than that is
        never used."""
        if not isinstance(who, HubUser):
            return who
        cached = self._group_cache.get(who.user)
        if not fresh and cached and self._recent(cached[0]):
            groups = cached[1]
        else:
            groups = await self._ask(("groups", who.user), self._group_cache, who.user,
                                     lambda: self._ask_groups(who.user), f"the question of the groups of {who.user!r}")
        return Viewer(user=who.user, groups=tuple(groups), admin=who.admin)

    async def _token_model(self, token: str) -> tuple[dict | None, str | None]:
        """The hub's answer about ``token`` (its user's or service's model; None: no such token), kept
        ``group_recheck_seconds``; concurrent requests with one token share one check. While the hub cannot be
        asked (down, restarting, hanging), its last answer that the token is someone's stands for
        :attr:`hub_down_grace` seconds: nobody revokes a token through a hub that is down. The second item says
        why the hub was not asked when that answer was used (for :data:`HUB_UNASKED_HEADER`), else None.

        A hub already found not answering is not waited for again: a token with such an answer is answered at
        once (the hub asked in the background, unless a question is in flight), one without is a 503 at once
        while a question is in flight (:meth:`_ask`)."""
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        cached = self._token_cache.get(key)
        if cached and self._recent(cached[0]):
            return cached[1], None

        def ask():
            return self._ask_token(token)

        if self._not_answering() and self._graced(cached):
            if not self._in_flight():  # the hub asked again, for this token: its answer is taken when it comes
                self._question(("token", key), self._token_cache, key, ask, "the check of a token").add_done_callback(
                    _seen)
            return cached[1], self._unasked(cached)
        try:
            return await self._ask(("token", key), self._token_cache, key, ask, "the check of this token"), None
        except HubUnavailableFault:
            cached = self._token_cache.get(key)  # (an answer kept meanwhile by a question that got through)
            if self._graced(cached):
                return cached[1], self._unasked(cached)
            raise

    def _graced(self, cached: tuple | None) -> bool:
        """Whether the kept answer ``cached`` says the token is someone's and is recent enough to stand while the
        hub cannot be asked (:attr:`hub_down_grace`)."""
        return bool(cached and cached[1] and time.monotonic() - cached[0] < self.hub_down_grace)

    def _unasked(self, cached: tuple) -> str:
        """The :data:`HUB_UNASKED_HEADER` of an answer from the hub's kept answer ``cached``."""
        now = time.monotonic()
        why = "unavailable" if self._unanswered_since is None else \
            f"not answering for {now - self._unanswered_since:.0f} s"
        return (f"the hub could not be asked about this token ({why}); its answer of {now - cached[0]:.0f} s ago "
                f"was used, as it is for up to {self.hub_down_grace:g} s while the hub cannot be asked")

    async def _ask_token(self, token: str) -> dict | None:
        """The hub's answer about ``token`` now, its failures as faults: refused (a 4xx) :class:`AuthFault`, down,
        restarting or unreachable :class:`HubUnavailableFault`."""
        try:
            return await self.hub_auth.user_for_token(token, use_cache=False, sync=False)
        except Exception as exc:  # the hub is down or refuses: say so, never a traceback
            log.warning("hub token check failed: %s", exc)
            if getattr(exc, "status_code", 500) < 500:
                raise AuthFault("the hub could not check this token") from exc
            # Down or restarting (HubAuth's 500 "Failed to connect", 502 upstream): not the caller's fault.
            raise HubUnavailableFault(
                f"the hub is unavailable, so this token cannot be checked now ({_reason(exc)}); retry "
                f"in a minute ({self._still_working()})"
            ) from exc

    def _not_answering(self) -> bool:
        """Whether the hub's last question went unanswered (past ``hub_timeout``; a hub that answers at once that
        it is down or unreachable costs no wait, so it is asked as usual)."""
        return self._unanswered_since is not None

    def _in_flight(self) -> bool:
        """Whether a question to the hub is in flight (in this loop)."""
        last = self._last_question
        return last is not None and not last.done() and last.get_loop() is asyncio.get_running_loop()

    def _still_working(self) -> str:
        return (f"tokens it checked in the last {self.hub_down_grace:g} s and requests without a token still "
                "work")

    def _recent(self, asked: float) -> bool:
        """Whether an answer the hub gave at ``asked`` (``time.monotonic``) may still be used."""
        return time.monotonic() - asked < self.group_recheck_seconds

    def _keep(self, cache: dict, key, entry: tuple) -> None:
        """``cache[key] = entry``, the answers too old for any use (past the recheck and the hub-down grace)
        dropped once the cache holds many."""
        cache[key] = entry
        if len(cache) > _KEEP_AT_MOST:
            oldest = time.monotonic() - max(self.group_recheck_seconds, self.hub_down_grace)
            for old in [k for k, (asked, _) in cache.items() if asked < oldest]:
                del cache[old]

    async def _ask(self, key: tuple, cache: dict, entry, ask: Callable[[], Awaitable], what: str):
        """``await ask()`` (:meth:`_question`), once for every caller that asks ``key`` while it runs (its answer or
        its exception is theirs). A caller that gives up (its own time limit, a client gone) leaves it running for
        the others. While the hub does not answer and another question is in flight, a
        :class:`HubUnavailableFault` at once: the hub is asked one question at a time until it answers."""
        pending = self._asking.get(key)
        if (pending is None or pending.get_loop() is not asyncio.get_running_loop()) and self._not_answering() \
                and self._in_flight():
            since = time.monotonic() - self._unanswered_since
            raise HubUnavailableFault(f"the hub is unavailable: it has not answered for {since:.0f} s, and is asked "
                                      f"one question at a time until it does, so {what} must wait; retry in a "
                                      f"minute ({self._still_working()})")
        return await asyncio.shield(self._question(key, cache, entry, ask, what))

    def _question(self, key: tuple, cache: dict, entry, ask: Callable[[], Awaitable], what: str) -> asyncio.Task:
        """The question ``ask()`` to the hub, asked once for every caller of ``key`` while it runs: ended after
        ``hub_timeout`` seconds (a :class:`HubUnavailableFault`), its answer kept in ``cache[entry]`` before
        anyone else can ask (so a request that comes as the answer does finds it). A question that goes unanswered
        marks the hub as not answering; any answer (a fault too: refused, down, unreachable) as answering again."""
        pending = self._asking.get(key)
        if pending is not None and pending.get_loop() is asyncio.get_running_loop():
            return pending

        async def run():
            try:
                asked = time.monotonic()
                try:
                    answer = await asyncio.wait_for(ask(), self.hub_timeout)
                except asyncio.TimeoutError as exc:  # a hub that hangs (stopped, overloaded): not a hang here
                    if self._unanswered_since is None:  # not answered since this question was asked
                        self._unanswered_since = asked
                    log.warning("the hub did not answer %s within %g s", what, self.hub_timeout)
                    raise HubUnavailableFault(
                        f"the hub did not answer {what} within {self.hub_timeout:g} s; retry in a minute "
                        f"({self._still_working()})") from exc
                except ArchiveFault:  # an answer, if only that it is down (at once: nothing to wait for)
                    self._unanswered_since = None
                    raise
                self._unanswered_since = None
                self._keep(cache, entry, (asked, answer))
                return answer
            finally:
                if self._asking.get(key) is pending:
                    del self._asking[key]

        pending = asyncio.ensure_future(run())
        self._asking[key] = self._last_question = pending
        return pending

    async def _ask_groups(self, name: str) -> list[str]:
        from urllib.parse import quote

        from tornado.httpclient import AsyncHTTPClient, HTTPRequest

        hub = self.hub_auth
        req = HTTPRequest(f"{hub.api_url.rstrip('/')}/users/{quote(name)}",
                          headers={"Authorization": f"token {hub.api_token}"},
                          request_timeout=2 * self.hub_timeout + 1)  # the bound is hub_timeout (_question)
        try:
            resp = await AsyncHTTPClient().fetch(req, raise_error=False)
        except Exception as exc:
            log.warning("could not read the groups of %s from the hub: %s", name, exc)
            raise HubUnavailableFault(f"the hub is unavailable, so the groups of {name!r} cannot be read now "
                                      f"({_reason(exc)}); retry in a minute") from exc
        if resp.code == 200:
            return list(json.loads(resp.body).get("groups") or [])
        if resp.code >= 500 or resp.code == 599:
            raise HubUnavailableFault(f"the hub answered HTTP {resp.code} when asked for the groups of {name!r}; "
                                      "retry in a minute")
        log.warning("could not read the groups of %s from the hub: HTTP %s", name, resp.code)
        return []


def _seen(question: asyncio.Future) -> None:
    """A question asked in the background, done: its failure (already logged, its answer kept) is not raised."""
    if not question.cancelled():
        question.exception()


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, for a fault text (no traceback, no URL soup)."""
    text = getattr(exc, "log_message", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
