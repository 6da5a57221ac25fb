"""Who is calling: a :class:`~platform_lib.imageindex.Viewer` from the request's token.

Three sources, in order: the static admin token (``--token``), a tokens file for standalone use
(``--tokens``: JSON ``{token: {"name": ..., "groups": [...], "admin": false}}``), and, when the
service runs under JupyterHub (``JUPYTERHUB_API_TOKEN`` and ``JUPYTERHUB_API_URL`` set), the hub
itself through :class:`jupyterhub.services.auth.HubAuth`, which must show the token's
``access:services!service=<this service>`` scope (HubAuth's ``access_scopes``). Tokens come from
``Authorization: token ...`` / ``Bearer ...`` or a ``token`` query parameter. No token means the
anonymous viewer (public records only); a token nobody recognises is refused.

Token checks need the hub; :class:`HubAuth` keeps each answer (who the token is) for a minute. A hub user's
groups, which unlock a group's proprietary images and the HiPS shared with a group or workspace, are not taken
from that answer: they are asked of the hub (``GET users/<name>``, the service's ``read:users:groups``) and kept
``Authenticator.group_recheck_seconds`` (5 s, ``--group-recheck-seconds``), so a member removed from a group or
workspace loses its data within that time, not a minute; a HiPS refused on a kept answer is asked again
(``viewer(..., fresh_groups=True)``), so a grant works at once. While the hub is down (or restarting under the
supervisor), a token not checked in that minute, or a user whose groups are due to be asked again, is answered
503 with ``Retry-After`` (:class:`~astrohub_archive.faults.HubUnavailableFault`; also when the hub takes more
than ``hub_timeout`` seconds): a lost hub denies, never a hang, a 500, a stale group or a silent downgrade to
anonymous; requests without a token are answered as usual.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from astrohub_archive.faults import AuthFault, HubUnavailableFault
from platform_lib.imageindex import Viewer

__all__ = ["Authenticator", "AuthFault"]

log = logging.getLogger("astrohub_archive")


@dataclass
class Authenticator:
    static_token: str | None = None
    tokens: dict[str, dict] = field(default_factory=dict)
    hub_auth: object | None = None  # jupyterhub.services.auth.HubAuth
    #: Seconds a token check may wait for the hub before the caller gets a 503 (HubAuth's own is 300).
    hub_timeout: float = 10.0
    #: Seconds the hub's answer about a user's groups is kept: how soon a member removed from a group or workspace
    #: loses its proprietary images and shared HiPS (0: asked at every request). The one owner of this setting.
    group_recheck_seconds: float = 5.0
    _group_cache: dict[str, tuple[float, list[str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, static_token: str | None, tokens_file: Path | None, use_hub: bool,
               group_recheck_seconds: float | None = None) -> "Authenticator":
        tokens = json.loads(Path(tokens_file).read_text()) if tokens_file else {}
        hub_auth = None
        if use_hub:
            from jupyterhub.services.auth import HubAuth

            hub_auth = HubAuth(cache_max_age=60)
        auth = cls(static_token or None, tokens, hub_auth)
        if group_recheck_seconds is not None:
            if not group_recheck_seconds >= 0:
                raise ValueError(f"--group-recheck-seconds {group_recheck_seconds!r}: give seconds, 0 or more "
                                 "(how long a user's hub groups are kept; 5 by default)")
            auth.group_recheck_seconds = float(group_recheck_seconds)
        return auth

    @staticmethod
    def token_of(handler) -> str | None:
        header = handler.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip():
            return value.strip()
        return handler.get_query_argument("token", None) or None

    async def viewer(self, handler, fresh_groups: bool = False) -> Viewer:
        """Who ``handler``'s request is; ``fresh_groups``: a hub user's groups asked of the hub now, not kept
        (a refusal on a kept answer asks again, so one just added to a group is let in at once)."""
        token = self.token_of(handler)
        if not token:
            return Viewer()
        if self.static_token and token == self.static_token:
            return Viewer(user="admin", admin=True)
        if token in self.tokens:
            t = self.tokens[token]
            return Viewer(user=t.get("name"), groups=tuple(t.get("groups", ())), admin=bool(t.get("admin")))
        if self.hub_auth is not None:
            try:
                model = await asyncio.wait_for(self.hub_auth.user_for_token(token, sync=False), self.hub_timeout)
            except asyncio.TimeoutError as exc:  # a hub that hangs (stopped, overloaded): not a hang here
                log.warning("hub token check took longer than %g s", self.hub_timeout)
                raise HubUnavailableFault(
                    f"the hub did not answer the check of this token within {self.hub_timeout:g} s; retry in a "
                    "minute (tokens checked in the last minute and requests without a token still work)"
                ) from exc
            except Exception as exc:  # the hub is down or refuses: say so, never a traceback
                log.warning("hub token check failed: %s", exc)
                if getattr(exc, "status_code", 500) < 500:
                    raise AuthFault("the hub could not check this token") from exc
                # Down or restarting (HubAuth's 500 "Failed to connect", 502 upstream): not the caller's fault.
                raise HubUnavailableFault(
                    f"the hub is unavailable, so this token cannot be checked now ({_reason(exc)}); retry "
                    "in a minute (tokens checked in the last minute and requests without a token still work)"
                ) from exc
            if model and "scopes" in model and self.hub_auth.access_scopes and not self.hub_auth.check_scopes(
                    self.hub_auth.access_scopes, model):
                # A hub token for something else (a server's own API, another service) is not a key to the archive.
                raise AuthFault("this token does not carry the scope to use the archive "
                                f"({' or '.join(sorted(self.hub_auth.access_scopes))}); use a token of your "
                                "user or server (JUPYTERHUB_API_TOKEN), or request one with that scope")
            if model and model.get("kind", "user") == "user" and model.get("name"):
                # Not the model's groups: HubAuth keeps the model a minute, and a removed member would keep them.
                groups = await self._groups(model["name"], fresh=fresh_groups)
                return Viewer(user=model["name"], groups=tuple(groups), admin=bool(model.get("admin")))
            if model and model.get("kind") == "service":
                # A hub service's token (the operator's `astrohub` commands' astrohub-cli, the gateway's): the archive
                # serves users, whose names and groups decide which proprietary images they see; no command of
                # the platform calls it with a service's token.
                raise AuthFault(f"this is the token of the hub service {model.get('name')!r}, not of a user: the "
                                "archive answers users' tokens (an admin user's sees every image); use "
                                "JUPYTERHUB_API_TOKEN in a server, or a token from the hub's Token page (/hub/token)")
        raise AuthFault("the token is not valid for this service")

    async def _groups(self, name: str, fresh: bool = False) -> list[str]:
        """The user's groups, asked of the hub with the service's own token (needs read:users:groups); kept
        ``group_recheck_seconds`` (``fresh``: asked again anyway). A hub that cannot answer raises
        :class:`HubUnavailableFault` (503): an answer older than that is never used."""
        cached = self._group_cache.get(name)
        if not fresh and cached and time.monotonic() - cached[0] < self.group_recheck_seconds:
            return cached[1]
        groups = await self._ask_groups(name)
        self._group_cache[name] = (time.monotonic(), groups)
        return groups

    async def _ask_groups(self, name: str) -> list[str]:
        from urllib.parse import quote

        from tornado.httpclient import AsyncHTTPClient, HTTPRequest

        hub = self.hub_auth
        req = HTTPRequest(f"{hub.api_url.rstrip('/')}/users/{quote(name)}",
                          headers={"Authorization": f"token {hub.api_token}"}, request_timeout=10)
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


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, for a fault text (no traceback, no URL soup)."""
    text = getattr(exc, "log_message", None) or str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
