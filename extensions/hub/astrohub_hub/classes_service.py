"""The ``astrohub-classes`` hub service: an HTTP API over classes, assignments and workspaces.

Owns the web layer only (the rules are :class:`astrohub_hub.classes.Teaching` and :class:`astrohub_hub.workspaces.Workspaces`): a tornado app the hub
starts as a managed service (``python -m astrohub_hub.classes_service``, registered by ``configure``
when ``classes.enabled``), reached at ``/services/astrohub-classes/api/...`` with a hub token
(``Authorization: token ...``: a user's, a user server's ``JUPYTERHUB_API_TOKEN``, or the
``astrohub`` command's). Identity comes from the hub (``HubAuth``), and the token must hold
``access:services!service=astrohub-classes``; admin rights are the ``admin:users`` scope.

==========================================================  =============================================
``GET  api/classes``                                        my classes (all, for admins)
``POST api/classes`` ``{name, instructors, students}``      create a class (admins)
``GET  api/classes/<c>[?student=<s>]``                     the class: roster, assignments, submissions (as
                                                            the student ``s`` sees it: their own due dates,
                                                            returned feedback and its scores)
``POST api/classes/<c>/students|instructors`` ``{users}``   add to the roster
``DELETE api/classes/<c>/students|instructors`` ``{users}`` take off the roster (a student who leaves)
``POST api/classes/<c>/archive``                            freeze the class (admins)
``DELETE api/classes/<c>``                                  delete the class (admins): its folders and registry
                                                            rows kept in ``<classes>/.deleted/``
``POST api/classes/<kept>/restore`` ``[{as}]``               restore a deleted class (admins) from its kept
                                                            folder ``<classes>/.deleted/<kept>/`` (``as``: under
                                                            another name)
``POST api/classes/<c>/exam`` ``{start, end[, assignments]}`` exam mode for a window (epoch seconds)
``GET  api/classes/<c>/log``                                the class's action log (instructors)
``GET  api/classes/<c>/grades[?format=csv]``                who submitted what, and scores (instructors)
``POST api/classes/<c>/assignments/<a>/<action>``           ``release`` / ``submit`` / ``collect`` / ``feedback``
                                                            (``release`` takes ``{due, refuse_late,
                                                            late_penalty_per_hour}``, optional)
``POST api/classes/<c>/assignments/<a>/due``                set ``{due}`` (ISO 8601 with its time zone; null:
                                                            none), ``{refuse_late}`` and/or
                                                            ``{late_penalty_per_hour}`` (points; instructors)
``POST api/classes/<c>/assignments/<a>/extension``          a student's extension: ``{student, until}`` (ISO
                                                            8601; null: take it back) or ``{student, by}``
                                                            (``2d``, ``36h``; instructors)
``POST api/people/<old>/rename`` ``{to}``                   an admin renamed hub user ``old`` to ``to``: the same
                                                            in every class (roster, work, grades, feedback, log)
                                                            and workspace (owner, members, readers, access)
``GET  api/usage``                                          what I use: storage (home, groups, workspaces), Dask
``PUT  api/quotas/<group|workspace|home>/<name>``            an admin sets ``{bytes}`` (null: none), the
                                                            operator's quota, beside the folder
``GET  api/workspaces``, ``POST api/workspaces``            mine; create ``{name, members, readers[, owner]}``
``GET|DELETE api/workspaces/<w>``                           the workspace / the owner deletes it (files kept)
``POST api/workspaces/<w>/members`` ``{add, readers, remove}``  the owner changes the members
``POST|DELETE api/workspaces/<w>/share``                    share my running server with the members / stop
``POST|DELETE api/workspaces/<w>/collaboration``            real-time collaboration on my shared server, from
                                                            its next start / off
==========================================================  =============================================

The page ``/services/astrohub-classes/`` (signed in through the hub, listed in the hub's Services menu)
shows a person their classes with each assignment's due date (a student: their own extension, their submissions,
which came late and by how much, and once feedback is returned their score as it gave it), workspaces, storage used and Dask clusters (workers, cores, memory), and an
instructor each class's roster with every student's server state and number of submissions (in all, and per
assignment with the autograded score and whether the latest came late), with a button for each step of the term
(``POST instruct``: release, add students, collect and autograde, return feedback, an extension, and a team workspace for some of
the class's students, owned by the instructor, as ``POST workspaces`` makes one) and the gradebook's CSV
(``GET grades.csv?class=<c>``), signed in through the hub as the page is. Anybody makes a workspace there too
(``POST workspace``: a team's lead makes the team's, and owns it) and its owner adds and removes its people.
Sizes are in the unit each reaches (:func:`astrohub_hub.sizes.size_text`).

Errors are JSON ``{"status", "code", "message"}`` with 400/403/404/409 for the caller's input (bad input never
gets a 5xx; a body key the route does not take is a 400, ``unknown-key``, naming it and the route's keys, rather
than ignored, and so is a body sent to a route that takes none (``no-body`` where it is not a JSON object): every
route's keys are its handler's ``BODIES``, checked before it runs; nbgrader's gradebook.db that cannot be read is a 409, ``gradebook-unreadable``, or the gradebook's
``warning``; one another instructor owns and the acting one cannot write is a 409, ``gradebook-read-only``, and
so is another file of the course or feedback folder, ``course-file-read-only``), and 502 when a system the service
relies on failed (:class:`astrohub_hub.errors.BackendError`: a
grading Job that failed or ran out of time, named with its reason; the Kubernetes API; the hub refusing a
change); never a traceback.
Environment: ``ASTROHUB_CLASSES_ROOT``, ``ASTROHUB_WORKSPACES_ROOT``, ``ASTROHUB_CLASSES_REGISTRY``,
``ASTROHUB_CLASSES_HOME`` (the home template), ``ASTROHUB_CLASSES_LINKS`` (locally: the home's folder of
links to classes, made as a member joins), ``ASTROHUB_CLASSES_COURSE_LINKS`` (locally: the home's folder of links
to the courses an instructor grades, removed as the class is deleted and made again as it is restored), ``ASTROHUB_GROUPS_ROOT``,
``ASTROHUB_CLASSES_GATEWAY`` (the gateway's API, asked for the signed-in user's Dask clusters with the service's token),
``ASTROHUB_CLASSES_MAX_WORKSPACES`` (how many workspaces one person may own, 0: no limit; unset: the default of the
hub setting ``classes.maxWorkspacesPerUser``, :class:`astrohub_hub.settings.ClassesSettings`),
``ASTROHUB_CLASSES_GRADING`` (``local`` or ``kubernetes``: where nbgrader runs, with ``ASTROHUB_CLASSES_GRADING_*``,
:mod:`astrohub_hub.grading_jobs`),
``ASTROHUB_CLASSES_PREFIX`` / ``ASTROHUB_CLASSES_SYSTEM_USERS`` (``accounts.SystemAccounts``), and JupyterHub's
service variables. The hub starts it locally (``configure``); on Kubernetes the chart's ``classes.enabled`` runs
it as the Deployment ``astrohub-classes`` with this environment in a ConfigMap (``helm/astrohub/templates/classes.yaml``).
May import tornado, JupyterHub's service auth, the standard library and this package.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import csv
import difflib
import html
import io
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping

from jupyterhub.services.auth import HubAuth, HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import ioloop, web

from astrohub_hub import folders
from astrohub_hub.accounts import SystemAccounts
from astrohub_hub.classes import Actor, ClassError, Teaching
from astrohub_hub.collaboration import COLLABORATIVE_PROPERTY
from astrohub_hub.due_dates import iso, lateness
from astrohub_hub.errors import BackendError, HubConfigError, HubError
from astrohub_hub.grading import steps_from_environ
from astrohub_hub.settings import ClassesSettings
from astrohub_hub.sizes import size_text
from astrohub_hub.urlpath import not_utf8

__all__ = ["SERVICE_NAME", "SERVICE_SCOPES", "GatewayUsage", "HubDirectory", "from_environ", "make_app", "main",
           "max_workspaces"]

log = logging.getLogger("astrohub.classes")

#: The service's hub name, and the scopes its token needs: who exists, and the class groups.
SERVICE_NAME = "astrohub-classes"
SERVICE_SCOPES = ["list:users", "read:users", "read:users:name", "read:servers", "admin:groups", "list:groups",
                  "read:groups", "shares"]


class HubDirectory:
    """The hub's users and groups, through its REST API with the service's token."""

    def __init__(self, api_url: str, token: str, groups_root: str = "") -> None:
        self.api_url, self.token, self.groups_root = api_url.rstrip("/"), token, groups_root

    def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.api_url}{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as exc:  # the hub's own error answer, {"status", "message"}, when it sent one
            try:
                return exc.code, json.loads(exc.read() or b"null")
            except ValueError:
                return exc.code, None

    def user_exists(self, name: str) -> bool:
        """Whether the hub knows the user ``name`` (its 404: no). Any other refusal, or a hub that cannot be
        reached, is a ClassError 502 ``hub-refused``: the hub failed, which is not "unknown user"."""
        with self._reaching(name, f"look up the user {name!r}"):
            status, answer = self._call("GET", f"/users/{urllib.parse.quote(name)}")
        if status == 404:
            return False
        if status != 200:
            raise self._said(f"the hub refused to look up the user {name!r}", status, answer, "nothing was changed",
                             name)
        return True

    def server_state(self, name: str) -> str:
        """``running``, ``starting`` or ``stopped``: the user's default server, now (``unknown`` when the hub
        does not say: the page still shows the rest)."""
        try:
            status, model = self._call("GET", f"/users/{urllib.parse.quote(name)}")
        except OSError:
            return "unknown"
        if status != 200 or not model:
            return "unknown"
        server = (model.get("servers") or {}).get("")
        if server and server.get("ready"):
            return "running"
        return "starting" if model.get("pending") or server else "stopped"

    # Every change below checks the hub's answer: a refusal (4xx/5xx) or a hub that cannot be reached is a
    # ClassError 502 ``hub-refused`` naming the group (or user) and the hub's answer, and saying what the hub
    # had already taken in the same call. The callers (``Teaching``, ``Workspaces``) ask the hub before they
    # change anything here, so a refusal leaves the registry and the folders as they were.

    def mirror_workspace(self, name: str, added: list[str], removed: list[str]) -> None:
        """Keep the hub group ``ws-<name>`` (no group folder) in step with a workspace's members.

        ``added`` join first, then ``removed`` leave; when the hub refuses the removal, the 502 says who it
        had added (adding and removing again is harmless: the caller changed nothing and the owner retries).
        """
        group = f"ws-{name}"
        with self._reaching(group, f"add {sorted(added)} to the group {group!r}"):
            self._mirror(group, {"workspace": name}, added, own="workspace")
        if removed:
            outcome = f"{sorted(added)} were added to it" if added else "nothing was changed"
            with self._reaching(group, f"remove {sorted(removed)} from the group {group!r}", outcome):
                status, answer = self._call("DELETE", f"/groups/{group}/users", {"users": sorted(removed)})
            if status != 200:
                raise self._refused(group, f"remove {sorted(removed)} from", status, answer, outcome)

    def share(self, sharer: str, grant: list[str], revoke: list[str]) -> None:
        """Grant (revoke) access to ``sharer``'s default server to (from) each user, as JupyterHub shares.

        A refused grant takes back the grants this call made (best effort), so nothing was shared; a refused
        revocation (not a 404: a server that no longer exists is shared with nobody) says for whom it was
        revoked and for whom not, so the caller keeps the share on its books and the person runs it again.
        """
        path = f"/shares/{urllib.parse.quote(sharer)}/"
        granted: list[str] = []
        try:
            for user in grant:
                status, answer = self._call("POST", path, {"user": user})
                if status == 404:
                    raise ClassError(f"{sharer!r} has no server to share yet: start it first, then share",
                                     status=409, code="no-server", value=sharer)
                if status != 200:
                    raise self._said(f"the hub refused to share {sharer!r}'s server with {user!r}", status, answer,
                                     "nothing was shared", user)
                granted.append(user)
        except (ClassError, OSError) as exc:
            for user in granted:
                try:
                    self._call("PATCH", path, {"user": user})
                except OSError:
                    log.warning("%s's server stays shared with %s: the hub could not be reached", sharer, user)
            if isinstance(exc, OSError):
                raise ClassError(f"the hub could not be reached to share {sharer!r}'s server ({exc}): nothing was "
                                 "shared; try again when the hub answers", status=502, code="hub-refused",
                                 value=sharer) from None
            raise
        revoked: list[str] = []
        for user in revoke:
            outcome = (f"revoked for {revoked}, still shared with {[u for u in revoke if u not in revoked]}; "
                       "run it again")
            try:
                status, answer = self._call("PATCH", path, {"user": user})
            except OSError as exc:
                raise ClassError(f"the hub could not be reached to stop sharing {sharer!r}'s server with {user!r} "
                                 f"({exc}): {outcome}", status=502, code="hub-refused", value=user) from None
            if status not in (200, 404):
                raise self._said(f"the hub refused to stop sharing {sharer!r}'s server with {user!r}", status,
                                 answer, outcome, user)
            revoked.append(user)

    def workspace_collaborators(self, name: str, sharers: list[str]) -> None:
        """Publish the sharers with real-time collaboration on as the group ``ws-<name>``'s property
        (``collaboration.COLLABORATIVE_PROPERTY``), which the spawner reads at each start.

        The group's other properties (``astrohub-folder``, ``workspace``) are kept: when the hub refuses to
        read them (or to update them, or cannot be reached), nothing is written and :class:`ClassError` 502
        ``hub-refused`` names the group and the hub's answer; the caller (``Workspaces.collaborate``) then
        keeps its registry as it was.
        """
        group = f"ws-{name}"
        with self._reaching(group, f"update the group {group!r}"):
            self._mirror(group, {"workspace": name}, [], own="workspace")
            status, body = self._call("GET", f"/groups/{group}")
            if status != 200 or not isinstance(body, dict):  # never overwrite properties we could not read
                raise self._refused(group, "read", status, body)
            current = body.get("properties") or {}
            status, answer = self._call("PUT", f"/groups/{group}/properties",
                                        {**current, COLLABORATIVE_PROPERTY: sorted(sharers)})
            if status != 200:
                raise self._refused(group, "update", status, answer)

    def class_properties(self, cls: str, properties: dict) -> None:
        """Merge ``properties`` into the hub groups ``<class>-students`` and ``<class>-instructors``.

        Each answer of the hub is checked: when it refuses (4xx/5xx) or cannot be reached, a group already
        changed gets its previous properties back (best effort) and :class:`ClassError` 502 ``hub-refused``
        names the group and the hub's answer, so the caller (:meth:`Teaching.exam`, ``create_class``) keeps
        nothing the hub does not have.
        """
        done: list[tuple[str, dict]] = []  # (group, its properties before) of the groups changed
        try:
            for role in ("students", "instructors"):
                group = f"{cls}-{role}"
                self._mirror(group, {"class": cls}, [])
                status, body = self._call("GET", f"/groups/{group}")
                if status != 200 or not isinstance(body, dict):  # never overwrite properties we could not read
                    raise self._refused(group, "read", status, body)
                current = body.get("properties") or {}
                status, answer = self._call("PUT", f"/groups/{group}/properties", {**current, **properties})
                if status != 200:
                    raise self._refused(group, "update", status, answer)
                done.append((group, current))
        except OSError as exc:  # URLError, a timeout: the hub is down or unreachable
            self._restore(done)
            raise ClassError(f"the hub could not be reached to update the group {cls}-* ({exc}): nothing was "
                             "changed; try again when the hub answers", status=502, code="hub-refused",
                             value=cls) from None
        except ClassError:
            self._restore(done)
            raise

    def _restore(self, done: list[tuple[str, dict]]) -> None:
        """Put back the properties of groups :meth:`class_properties` had changed before a refusal."""
        for group, before in done:
            try:
                self._call("PUT", f"/groups/{group}/properties", before)
            except OSError:
                log.warning("the hub group %s keeps its new properties: the hub could not be reached", group)

    @staticmethod
    def _said(what: str, status: int, answer: Any, outcome: str, value: Any) -> ClassError:
        """ClassError 502 ``hub-refused``: ``what`` failed, with the hub's answer, and the ``outcome`` so far."""
        message = answer.get("message") if isinstance(answer, dict) else None
        said = f"HTTP {status}" + (f": {message}" if message else "")
        return ClassError(f"{what} ({said}): {outcome}", status=502, code="hub-refused", value=value)

    @classmethod
    def _refused(cls, group: str, what: str, status: int, answer: Any,
                 outcome: str = "nothing was changed") -> ClassError:
        return cls._said(f"the hub refused to {what} the group {group!r}", status, answer, outcome, group)

    @contextlib.contextmanager
    def _reaching(self, value: str, what: str, outcome: str = "nothing was changed") -> Iterator[None]:
        """Turn a hub that cannot be reached (URLError, a timeout) into ClassError 502 ``hub-refused``."""
        try:
            yield
        except OSError as exc:
            raise ClassError(f"the hub could not be reached to {what} ({exc}): {outcome}; try again when the hub "
                             "answers", status=502, code="hub-refused", value=value) from None

    def delete_class_groups(self, cls: str) -> None:
        """Delete the hub groups ``<class>-students`` and ``<class>-instructors`` (one already gone is fine);
        ClassError 502 when the hub refuses or cannot be reached, naming what was deleted so far."""
        done: list[str] = []
        for role in ("students", "instructors"):
            group = f"{cls}-{role}"
            outcome = f"deleted {done}, nothing else was changed; run it again" if done else "nothing was changed"
            with self._reaching(group, f"delete the group {group!r}", outcome):
                status, answer = self._call("DELETE", f"/groups/{group}")
            if status not in (200, 204, 404):
                raise self._refused(group, "delete", status, answer, outcome)
            done.append(group)

    def unmirror(self, cls: str, role: str, users: list[str]) -> None:
        """Take ``users`` out of the hub group ``<class>-<role>`` (ClassError 502 when the hub refuses)."""
        group = f"{cls}-{role}"
        if users:
            with self._reaching(group, f"remove {sorted(users)} from the group {group!r}"):
                status, answer = self._call("DELETE", f"/groups/{group}/users", {"users": sorted(users)})
            if status != 200:
                raise self._refused(group, f"remove {sorted(users)} from", status, answer)

    def mirror(self, cls: str, role: str, users: list[str]) -> None:
        """Add ``users`` to the hub group ``<class>-<role>`` (created, marked as having no group folder);
        ClassError 502 when the hub refuses."""
        group = f"{cls}-{role}"
        with self._reaching(group, f"add {sorted(users)} to the group {group!r}"):
            self._mirror(group, {"class": cls}, users)

    def _mirror(self, group: str, properties: dict, users: list[str], own: str = "") -> None:
        """Make ``group`` if it is missing (no group folder, ``properties``) and add ``users``, checking each
        answer (ClassError 502 ``hub-refused``; OSError when the hub cannot be reached: the caller words it).

        ``own``: the property that says whose the group is (``workspace``): a group of that name that exists
        without it, or with another value (a class's ``<class>-students`` for a class named ``ws``, an operator's
        group with a folder), is not taken over: ClassError 409 ``group-taken``, nobody is added. A workspace's
        name chosen by any user would otherwise have made its owner and members members of that group (the class's
        folders and pins, the group folder).
        """
        status, body = self._call("GET", f"/groups/{group}")
        if own and status == 200:
            found = ((body or {}).get("properties") or {}) if isinstance(body, dict) else {}
            if found.get(own) != properties[own]:
                whose = f"class {found['class']!r}'s" if "class" in found else "another of the platform's groups"
                raise ClassError(f"{own} {properties[own]!r} needs the hub group {group!r}, which exists already "
                                 f"as {whose}: choose another name for the {own}", status=409, code="group-taken",
                                 value=properties[own])
        if status == 404:
            status, answer = self._call("POST", f"/groups/{group}")
            if status not in (200, 201):
                raise self._refused(group, "create", status, answer)
            status, answer = self._call("PUT", f"/groups/{group}/properties", {"astrohub-folder": False, **properties})
            if status != 200:  # a group without its properties would get a group folder: take it back
                try:
                    self._call("DELETE", f"/groups/{group}")
                except OSError:
                    log.warning("the hub group %s stays, without its properties: the hub could not be reached",
                                group)
                raise self._refused(group, "set the properties of", status, answer)
            if self.groups_root:  # the group sync may have made its (empty) folder in between
                try:
                    os.rmdir(os.path.join(self.groups_root, group))
                except OSError:
                    pass
        elif status != 200:
            raise self._refused(group, "read", status, body)
        if users:
            status, answer = self._call("POST", f"/groups/{group}/users", {"users": sorted(users)})
            if status != 200:
                raise self._refused(group, f"add {sorted(users)} to", status, answer)


class GatewayUsage:
    """The Dask clusters of one user, from the gateway's ``/usage`` route, asked with the service's own token.

    The gateway lets this service (``service:astrohub-classes``, in its ``usage_readers``) read any user's
    figures; the service asks only for the signed-in caller's (:mod:`astrohub_hub.gateway_usage`).
    """

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url, self.token = api_url.rstrip("/"), token

    def clusters(self, user: str) -> dict[str, Any]:
        """``{"clusters": [{"name", "status", "workers", "cores", "memory"}], "problem": str | None}``."""
        if not self.api_url:
            return {"clusters": [], "problem": "no Dask gateway on this hub"}
        request = urllib.request.Request(f"{self.api_url}/usage?{urllib.parse.urlencode({'user': user})}",
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
        except (OSError, ValueError) as exc:  # HTTPError is an OSError
            log.warning("the Dask gateway's usage for %s could not be read: %s", user, exc)
            return {"clusters": [], "problem": f"the Dask gateway could not be asked ({exc})"}
        if answer.get("user") != user:
            return {"clusters": [], "problem": "the Dask gateway answered for another user"}
        return {"clusters": list(answer.get("clusters", [])), "problem": None}


def _no_constant(name: str) -> None:
    """``json.loads``' hook for ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON (RFC 8259)."""
    raise ValueError(f"{name} is not a JSON value")


class ApiHandler(web.RequestHandler):
    """Authenticates the caller with the hub, checks the request body against the route's keys, and turns errors
    into JSON.

    Each route says, per method, the keys its JSON body may hold (:attr:`BODIES`); :meth:`prepare` refuses any
    other key, and any body at all where the method takes none, before the handler runs, and leaves the body
    in :attr:`body`.
    """

    #: The keys each method's JSON body may hold (a key left out means "no change", unless the route says
    #: otherwise); ``()``: the method takes no body. Every method a route answers is named here.
    BODIES: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    teaching: Teaching
    hub_auth: HubAuth
    body: dict[str, Any]

    def initialize(self, teaching: Teaching, hub_auth: HubAuth) -> None:
        self.teaching, self.hub_auth = teaching, hub_auth

    def check_xsrf_cookie(self) -> None:  # token-authenticated API, no cookies
        return None

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A path part (or parameter) as text; one that is not UTF-8 is a 400 naming the byte and where it is
        (tornado's own HTTPError said ``Invalid unicode in %s: %r``, its format unfilled)."""
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            if name is None:
                raise ClassError(not_utf8(self.request.path) or "the path is not valid UTF-8; percent-encode its "
                                 "text as UTF-8", code="not-utf8") from None
            raise ClassError(f"parameter {name!r} is not valid UTF-8; percent-encode its text as UTF-8",
                             code="not-utf8") from None

    async def prepare(self) -> None:
        token = self.hub_auth.get_token(self, in_cookie=False)
        model = await self.hub_auth.user_for_token(token, sync=False) if token else None
        if not model:
            raise ClassError("sign in: send a hub token (Authorization: token ...)", status=403, code="no-token")
        if not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            raise ClassError(f"this token may not use {SERVICE_NAME}: it lacks access:services!service="
                             f"{SERVICE_NAME}", status=403, code="scope")
        scopes = set(model.get("scopes", []))
        self.model = model
        self.actor = Actor(model["name"], admin=bool(model.get("admin")) or "admin:users" in scopes)
        self.body = self.checked_body(self.body_keys())

    def body_keys(self) -> tuple[str, ...]:
        """The keys this request's body may hold: its method's in :attr:`BODIES` (none when not named)."""
        return self.BODIES.get(self.request.method, ())

    def checked_body(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """The request's JSON object ({} when there is none); a key other than ``keys`` is refused, naming it and the
        request's keys, and where ``keys`` is empty any body but ``{}`` is refused, saying the request takes none.

        A misspelt key (``"user"`` for ``"users"``, ``"late_penalty"`` for ``"late_penalty_per_hour"``) was
        ignored, and the request answered 200 having done nothing it asked for; so was any body sent to a route
        that takes none (``archive``, ``collect``, ``DELETE``)."""
        if not self.request.body:
            return {}
        where = f"{self.request.method} {self.request.path}"
        try:
            value = json.loads(self.request.body, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            if not keys:
                raise ClassError(f"{where} takes no body; send none", code="no-body") from None
            raise ClassError("the request body is not JSON (or nests deeper than any request needs)") from None
        if not isinstance(value, dict):
            if not keys:
                raise ClassError(f"{where} takes no body; send none", code="no-body")
            raise ClassError("the request body must be a JSON object")
        unknown = sorted(set(value) - set(keys))
        if unknown:
            close = difflib.get_close_matches(unknown[0], keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = ", ".join(repr(k) for k in keys) if keys else "no body"
            raise ClassError(f"unknown key {unknown[0]!r} in the request body{hint}: {where} takes {takes}",
                             code="unknown-key", value=unknown[0])
        return value

    @staticmethod
    def text(body: dict[str, Any], key: str) -> str:
        """``body[key]`` as a string ('' when absent or null); another type is refused, not turned into its repr."""
        value = body.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ClassError(f"{key!r} must be a string, got {value!r}")
        return value

    @staticmethod
    def names(body: dict[str, Any], key: str) -> list[str]:
        value = body.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ClassError(f"{key!r} must be a list of user names, got {value!r}")
        return value

    async def run(self, func, *args, **kwargs) -> None:
        result = await asyncio.to_thread(func, self.actor, *args, **kwargs)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result, indent=1, sort_keys=True))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, (ClassError, BackendError)):  # BackendError: not the caller's input (502)
            status, code, message = exc.status, exc.code, exc.message
        elif isinstance(exc, HubError):
            status, code, message = 400, exc.code, exc.message
        elif isinstance(exc, web.HTTPError):
            status, code, message = exc.status_code, "http", exc.log_message or self._reason
        else:
            status, code, message = 500, "internal", "internal error; see the hub's log"
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status, "code": code, "message": message}))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, BackendError):  # ours to look into, but its message says it all
            log.error("%s %s failed: %s", self.request.method, self.request.path, value)
        elif isinstance(value, HubError):
            log.warning("%s %s refused: %s", self.request.method, self.request.path, value)
        else:
            super().log_exception(typ, value, tb)


class ClassesHandler(ApiHandler):
    BODIES = {"GET": (), "POST": ("name", "instructors", "students", "profile")}

    async def get(self) -> None:
        await self.run(self.teaching.classes_of)

    async def post(self) -> None:
        body = self.body
        await self.run(self.teaching.create_class, self.text(body, "name"),
                       instructors=self.names(body, "instructors"), students=self.names(body, "students"),
                       profile=self.text(body, "profile"))


class ClassHandler(ApiHandler):
    BODIES = {"GET": (), "DELETE": ()}

    async def get(self, cls: str) -> None:
        await self.run(self.teaching.show, cls, self.get_argument("student", None))

    async def delete(self, cls: str) -> None:
        await self.run(self.teaching.delete_class, cls,
                       force=self.get_argument("force", "") in ("1", "true", "yes"))


class RestoreHandler(ApiHandler):
    BODIES = {"POST": ("as",)}

    async def post(self, kept: str) -> None:
        await self.run(self.teaching.restore_class, kept, self.text(self.body, "as"))


class RenameHandler(ApiHandler):
    BODIES = {"POST": ("to",)}

    async def post(self, old: str) -> None:
        await self.run(self.teaching.rename_member, old, self.text(self.body, "to"))


class RosterHandler(ApiHandler):
    BODIES = {"POST": ("users",), "DELETE": ("users",)}

    async def post(self, cls: str, role: str) -> None:
        await self.run(self.teaching.add_members, cls, role[:-1], self.users(role))

    async def delete(self, cls: str, role: str) -> None:
        await self.run(self.teaching.remove_members, cls, role[:-1], self.users(role))

    def users(self, role: str) -> list[str]:
        users = self.names(self.body, "users")
        if not users:
            raise ClassError(f"name the {role} to {'add' if self.request.method == 'POST' else 'remove'}: "
                             "{\"users\": [\"ann\", ...]}", code="no-users")
        return users


class ExamHandler(ApiHandler):
    BODIES = {"POST": ("start", "end", "assignments")}

    async def post(self, cls: str) -> None:
        body = self.body
        await self.run(self.teaching.exam, cls, body.get("start"), body.get("end"), body.get("assignments"))


class LogHandler(ApiHandler):
    BODIES = {"GET": ()}

    async def get(self, cls: str) -> None:
        await self.run(self.teaching.actions, cls)


class GradesHandler(ApiHandler):
    BODIES = {"GET": ()}

    async def get(self, cls: str) -> None:
        fmt = self.get_argument("format", "json")
        if fmt not in ("json", "csv"):
            raise ClassError(f"format must be 'json' or 'csv', got {fmt!r}", code="bad-format", value=fmt)
        if fmt == "json":
            await self.run(self.teaching.gradebook, cls)
            return
        book = await asyncio.to_thread(self.teaching.gradebook, self.actor, cls, strict=True)
        send_csv(self, cls, book)


def send_csv(handler: web.RequestHandler, cls: str, book: dict) -> None:
    """Answer ``handler``'s request with the gradebook ``book`` (:meth:`Teaching.gradebook`) as a CSV download."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=book["columns"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(book["rows"])
    handler.set_header("Content-Type", "text/csv; charset=utf-8")
    handler.set_header("Content-Disposition", f'attachment; filename="{cls}-grades.csv"')
    handler.finish(out.getvalue())


class ArchiveHandler(ApiHandler):
    BODIES = {"POST": ()}

    async def post(self, cls: str) -> None:
        await self.run(self.teaching.archive, cls)


class ProfileHandler(ApiHandler):
    BODIES = {"POST": ("profile",)}

    async def post(self, cls: str) -> None:
        await self.run(self.teaching.pin_profile, cls, self.text(self.body, "profile"))


class AssignmentHandler(ApiHandler):
    BODIES = {"POST": ("due", "refuse_late", "late_penalty_per_hour")}  # release's; the other actions take none

    def body_keys(self) -> tuple[str, ...]:
        return super().body_keys() if self.path_args[-1] == "release" else ()

    async def post(self, cls: str, assignment: str, action: str) -> None:
        func = {"release": self.teaching.release, "submit": self.teaching.submit,
                "collect": self.teaching.collect, "feedback": self.teaching.return_feedback}[action]
        if action == "collect" and self.get_argument("grade", "") in ("1", "true", "yes"):
            await self.run(func, cls, assignment, grade=True)
            return
        if action == "release":
            body = self.body
            await self.run(func, cls, assignment, due=body.get("due"), refuse_late=body.get("refuse_late"),
                           late_penalty_per_hour=body.get("late_penalty_per_hour"))
            return
        await self.run(func, cls, assignment)


class DueHandler(ApiHandler):
    BODIES = {"POST": ("due", "refuse_late", "late_penalty_per_hour")}  # a key left out: unchanged; "due": null clears

    async def post(self, cls: str, assignment: str) -> None:
        body = self.body
        await self.run(self.teaching.set_due, cls, assignment, body["due"] if "due" in body else ...,
                       body.get("refuse_late"), body.get("late_penalty_per_hour"))


class ExtensionHandler(ApiHandler):
    BODIES = {"POST": ("student", "until", "by")}  # {"student", "until"} ("until": null takes it back) or {"student", "by"}

    async def post(self, cls: str, assignment: str) -> None:
        body = self.body
        await self.run(self.teaching.extend, cls, assignment, body.get("student"),
                       until=body["until"] if "until" in body else ..., by=body["by"] if "by" in body else ...)


class WorkspacesHandler(ApiHandler):
    BODIES = {"GET": (), "POST": ("name", "members", "readers", "owner")}

    async def get(self) -> None:
        await self.run(self.teaching.workspaces.of)

    async def post(self) -> None:
        body = self.body
        await self.run(self.teaching.workspaces.create, self.text(body, "name"),
                       members=self.names(body, "members"), readers=self.names(body, "readers"),
                       owner=self.text(body, "owner"))


class WorkspaceHandler(ApiHandler):
    BODIES = {"GET": (), "DELETE": ()}

    async def get(self, name: str) -> None:
        await self.run(self.teaching.workspaces.show, name)

    async def delete(self, name: str) -> None:
        await self.run(self.teaching.workspaces.delete, name)


class WorkspaceShareHandler(ApiHandler):
    BODIES = {"POST": (), "DELETE": ()}

    async def post(self, name: str) -> None:
        await self.run(self.teaching.workspaces.share, name)

    async def delete(self, name: str) -> None:
        await self.run(self.teaching.workspaces.unshare, name)


class WorkspaceCollaborationHandler(ApiHandler):
    BODIES = {"POST": (), "DELETE": ()}

    async def post(self, name: str) -> None:
        await self.run(self.teaching.workspaces.collaborate, name)

    async def delete(self, name: str) -> None:
        await self.run(self.teaching.workspaces.collaborate, name, on=False)


class WorkspaceMembersHandler(ApiHandler):
    BODIES = {"POST": ("add", "readers", "remove")}

    async def post(self, name: str) -> None:
        body = self.body
        if not any(body.get(key) for key in ("add", "readers", "remove")):
            raise ClassError(f"name the people to change in workspace {name!r}: {{\"add\": [...]}} (read-write), "
                             "{\"readers\": [...]} (read-only) or {\"remove\": [...]}", code="no-users")
        await self.run(self.teaching.workspaces.change, name, add=self.names(body, "add"),
                       add_readers=self.names(body, "readers"), remove=self.names(body, "remove"))


def usage(teaching: Teaching, groups_root: str, actor: Actor, groups: list[str],
          gateway: GatewayUsage | None = None) -> dict:
    """Storage used by ``actor`` and each quota (their home, their groups' folders and their workspaces), and
    their Dask clusters.

    Only the caller's own spaces: another user's home, a group they are not in or a workspace they are not
    in never appears. Each entry is ``{"path", "bytes", "files", "quota"}`` (``quota``: bytes from the
    folder's quota file, ``None`` when there is none). ``dask`` is the caller's own clusters with their
    workers, cores and memory (bytes), as ``platform_lib.usage()`` reports them in a notebook.
    """
    dask = gateway.clusters(actor.name) if gateway is not None else {"clusters": [], "problem": "no Dask gateway"}
    found = {"user": actor.name, "dask": dask,
             "home": folders.folder_usage(teaching.people.home(actor.name)) if teaching.home_template else None,
             "groups": {g: folders.folder_usage(Path(groups_root) / g) for g in sorted(groups)
                        if groups_root and (Path(groups_root) / g).is_dir()},
             "workspaces": {w["name"]: folders.folder_usage(teaching.workspaces.root / w["name"])
                            for w in teaching.workspaces.of(actor)}}
    return found


def set_quota(teaching: Teaching, groups_root: str, actor: Actor, kind: str, name: str, quota: Any) -> dict:
    """An admin sets (``None``: removes) the quota of ``group/<name>``, ``workspace/<name>`` or ``home/<user>``:
    the operator's setting, beside the folder where its members cannot change it (``folders.set_folder_quota``,
    the file ``astrohub quotas set`` writes). Anyone else is refused (403), a folder that is not there is a 404."""
    if not actor.admin:
        raise ClassError(f"{actor.name!r} may not set quotas: they are the operator's (an admin's) setting",
                         status=403, code="forbidden", value=actor.name)
    if quota is not None and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
        raise ClassError(f"'bytes' must be a non-negative number of bytes or null, not {quota!r}",
                         code="bad-quota", value=quota)
    folder = None
    if not name or name.startswith(".") or "/" in name:
        pass
    elif kind == "home":
        folder = teaching.people.home(name) if teaching.home_template else None
    elif kind == "group":
        folder = Path(groups_root) / name if groups_root else None
    elif kind == "workspace":
        folder = teaching.workspaces.root / name
    if folder is None or not folder.is_dir():
        raise ClassError(f"no folder for {kind}/{name} here (a group's is made once it has a member)", status=404,
                         code="unknown-space", value=f"{kind}/{name}")
    folders.set_folder_quota(folder, quota)
    log.info("%s set the quota of %s/%s to %s", actor.name, kind, name, quota)
    return {"space": f"{kind}/{name}", "bytes": quota}


class QuotaHandler(ApiHandler):
    BODIES = {"PUT": ("bytes",)}

    async def put(self, kind: str, name: str) -> None:
        body = self.body
        if "bytes" not in body:
            raise ClassError("send {\"bytes\": N} (null removes the quota)", code="bad-quota")
        groups_root = self.settings.get("groups_root", "")
        await self.run(lambda actor: set_quota(self.teaching, groups_root, actor, kind, name, body["bytes"]))


class UsageHandler(ApiHandler):
    BODIES = {"GET": ()}

    async def get(self) -> None:
        groups = [g for g in self.model.get("groups", []) if isinstance(g, str)]
        result = await asyncio.to_thread(usage, self.teaching, self.settings.get("groups_root", ""), self.actor,
                                         groups, self.settings.get("gateway"))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(result, indent=1, sort_keys=True))


class NotFound(ApiHandler):
    async def prepare(self) -> None:
        bad = not_utf8(self.request.path)
        if bad:  # no route matched because of it: the client's bad byte, not a missing route
            raise ClassError(bad, code="not-utf8")
        raise ClassError(f"no such route {self.request.path}; see GET api/classes", status=404, code="no-route")


class PageHandler(HubOAuthenticated, web.RequestHandler):
    """The service's page: my classes (instructors: the roster and each student's server) and workspaces."""

    def initialize(self, teaching: Teaching, directory: "HubDirectory", prefix: str = "/") -> None:
        self.teaching, self.directory, self.prefix = teaching, directory, prefix.rstrip("/") + "/"

    @web.authenticated
    async def get(self) -> None:
        self.finish(await asyncio.to_thread(self.render_page, self.page_actor()))

    def page_actor(self) -> Actor:
        token = self.xsrf_token  # here, not in render_page's thread: it may set the hub's _xsrf cookie
        self.form_xsrf = token.decode() if isinstance(token, bytes) else str(token)
        model = self.get_current_user()
        self.groups = [g for g in model.get("groups", []) if isinstance(g, str)]
        return Actor(model["name"], admin=bool(model.get("admin")))

    def render_page(self, actor: Actor, message: str = "", error: bool = False) -> str:
        e = html.escape
        hub = self.hub_auth.hub_prefix  # the page is a service's: no hub menu bar, so the way back is here
        parts = [f"<h1>Classes and workspaces of {e(actor.name)}</h1><p class='nav'><a href='{e(hub)}user-redirect/lab'>"
                 f"Your JupyterLab</a> &middot; <a href='{e(hub)}home'>Hub home</a> (start or stop your server)</p>"]
        if message:  # what the last button did (the submit form's answer, or why it was refused)
            parts.append(f"<p class='{'error' if error else 'message'}' role='status'>{e(message)}</p>")
        classes = self.teaching.classes_of(actor)
        for gone in self.teaching.left_classes(actor):  # a student who dropped: not "in no class yet"
            parts.append(f"<p class='left-class'>{e(gone['by'])} removed you from class {e(gone['name'])} on "
                         f"{e(gone['at'])}. Your copies of its assignments stay yours, in <code>~/{e(gone['name'])}/"
                         "</code>; your submissions and grades stay with the class. A mistake? Ask its instructors "
                         f"to add you again (your user name: <code>{e(actor.name)}</code>).</p>")
        if not classes:
            # someone who signs in before being added: what to do, not a dead end
            parts.append(f"<p class='no-class'>You are in no class{'' if 'left-class' in parts[-1] else ' yet'}. Students do not join a class themselves: "
                         f"its instructors add you by your user name, <code>{e(actor.name)}</code> (give them "
                         "exactly that), or an admin does. Once they have, reload this page: the class, its "
                         "assignments and its materials are here, and <code>~/classes/&lt;class&gt;</code> in "
                         "your JupyterLab's file browser (refresh it).</p>")
        for entry in classes:
            info = self.teaching.show(actor, entry["name"])
            closed = ", archived: read-only" if info.get("archived") else ""  # the term ended: nothing changes
            parts.append(f"<h2 class='class'>{e(info['name'])} <small>({e(entry['role'])}{closed})</small></h2>")
            materials = f"classes/{info['name']}/materials"  # the class's link in every member's home
            lab = self.hub_auth.hub_prefix + "user-redirect/lab/tree/" + urllib.parse.quote(materials)
            parts.append(f"<p>Instructors: {e(', '.join(info['instructors']))}. Materials: <a class='materials' "
                         f"href='{e(lab)}'>~/{e(materials)}/</a></p>")
            if "students" in info or not info["assignments"]:
                parts.append("<ul class='assignments'>" + "".join(
                    f"<li>{e(a)}: {e(due_text(info['deadlines'][a]))}</li>" for a in info["assignments"])
                    + "</ul>" if info["assignments"] else "<p>No assignment yet.</p>")
            else:
                parts.append(self.student_assignments(actor, entry["name"], info))
            if "students" in info:
                counts: dict[str, int] = {}
                for sub in info["submissions"]:
                    counts[sub["student"]] = counts.get(sub["student"], 0) + 1
                gradebook = self.teaching.gradebook(actor, entry["name"])
                book = {(r["student"], r["assignment"]): r for r in gradebook["rows"]}
                if gradebook["warning"]:
                    parts.append(f"<p class='warning'>{e(gradebook['warning'])}</p>")

                def cell(student: str, assignment: str) -> str:  # submissions (score) of one assignment
                    row = book.get((student, assignment), {})
                    score = "" if row.get("score") is None else f" ({score_text(row)}" + (
                        # resubmitted since it was graded: the score is not the latest work's
                        f", of the submission at {e(submitted_text(row['graded_submission']))}: the latest is not "
                        "graded yet"
                        if row.get("graded_submission") not in (None, row.get("last_submission")) else "") + ")"
                    late = f" late by {lateness(row['late_seconds'])}" if row.get("late") else ""
                    extended = f" extended to {row['extended_until']}" if row.get("extended_until") else ""
                    return f"<td class='assignment'>{row.get('submissions', 0)}{score}{e(late)}{e(extended)}</td>"

                rows = "".join(
                    f"<tr><td>{e(s)}</td><td class='server'>{e(self.directory.server_state(s))}</td>"
                    f"<td>{counts.get(s, 0)}</td>{''.join(cell(s, a) for a in info['assignments'])}</tr>"
                    for s in info["students"])
                heads = "".join(f"<th>{e(a)}</th>" for a in info["assignments"])
                csv_link = f"{self.prefix}grades.csv?{urllib.parse.urlencode({'class': entry['name']})}"
                parts.append("<table class='roster'><tr><th>student</th><th>server</th><th>submissions</th>"
                             f"{heads}</tr>{rows}</table><p>Per assignment: submissions (the score nbgrader "
                             "holds now, manual grades included, after any late penalty, for the submission "
                             "the last <em>Collect and autograde</em> graded; whether the latest "
                             "came after the due date, or the student's extension). "
                             f"<a class='grades' href='{e(csv_link)}'>Download the gradebook (CSV)</a>.</p>")
                if not info.get("archived"):
                    parts.append(self.instructor_forms(entry["name"], info))
            else:
                mine = [f"{sub['assignment']} at {submitted_text(sub['at'])}"
                        + (f" (late by {lateness(sub['late_seconds'])})" if sub["late"] else "")
                        for sub in info["submissions"]]
                parts.append(f"<p>Your submissions: {e('; '.join(mine) or 'none yet')}</p>")
        parts.append(self.workspaces_section(actor))
        used = usage(self.teaching, self.settings.get("groups_root", ""), actor, self.groups,
                     self.settings.get("gateway"))
        rows = [("home", used["home"])] if used["home"] else []
        rows += [(f"group {g}", u) for g, u in used["groups"].items()]
        rows += [(f"workspace {w}", u) for w, u in used["workspaces"].items()]
        parts.append(  # sizes in the unit each one reaches (3 kB of files showed as 0.0 MB)
            "<h2>Storage</h2><table class='usage'><tr><th>space</th><th>used</th><th>files</th><th>quota</th></tr>"
            + "".join(f"<tr><td>{e(n)}</td><td>{size_text(u['bytes'])}</td><td>{u['files']}</td><td>"
                      f"{'none' if u['quota'] is None else size_text(u['quota'])}"
                      "</td></tr>" for n, u in rows)
            + "</table>")
        dask = used["dask"]
        parts.append(
            "<h2>Dask</h2><table class='dask'><tr><th>cluster</th><th>status</th><th>workers</th><th>cores</th>"
            "<th>memory GiB</th></tr>"
            + "".join(f"<tr><td>{e(c['name'])}</td><td>{e(c['status'])}</td><td>{int(c['workers'])}</td>"
                      f"<td>{int(c['cores'])}</td><td>{int(c['memory']) / 2**30:.1f}</td></tr>"
                      for c in dask["clusters"])
            + "</table>" + (f"<p>{e(dask['problem'])}</p>" if dask["problem"] else "")
            + ("" if dask["clusters"] else "<p>No Dask cluster running.</p>")
            + "<p>The same from a notebook: <code>platform_lib.usage()</code>.</p>")
        return ("<!doctype html><html><head><meta charset='utf-8'><title>Classes</title></head><body>"
                + "".join(parts) + "</body></html>")

    def form(self, cls: str, action: str, label: str, fields: str = "", assignment: str = "", *,
             target: str = "instruct", workspace: str = "") -> str:
        """One of the page's buttons: a form posting ``action`` to ``target`` (``instruct``: on ``cls`` and
        ``assignment``; ``workspace``: on ``workspace``) with the hub's ``_xsrf``, its ``fields`` (HTML inputs)
        before the button."""
        e = html.escape
        hidden = "".join(f"<input type='hidden' name='{k}' value='{e(v)}'>" for k, v in (
            ("_xsrf", self.form_xsrf), ("class", cls), ("action", action), ("assignment", assignment),
            ("workspace", workspace)) if v)
        return (f"<form method='post' action='{e(self.prefix + target)}' class='{e(action)}' style='display:inline'>"
                f"{hidden}{fields}<button type='submit'>{e(label)}</button></form>")

    def workspaces_section(self, actor: Actor) -> str:
        """My workspaces, each with its folder (a link that opens it in my JupyterLab) and its people; for each one
        I own, a form to add and remove people; and a form to make one (:class:`PageWorkspaceHandler`). Anybody
        makes a workspace and owns it: a team's lead makes the team's, as an instructor makes a class's teams."""
        e, quote = html.escape, urllib.parse.quote
        lab = self.hub_auth.hub_prefix + "user-redirect/lab/tree/"
        field = ("<label>{label} <input name='{name}' placeholder='{hint}' size='{size}'></label> ").format
        items = []
        for entry in self.teaching.workspaces.of(actor):
            name = entry["name"]
            info = self.teaching.workspaces.show(actor, name)
            access = "read-write" if entry["access"] == "rw" else "read-only"
            people = f"owner {info['owner']}; read-write: {', '.join(info['members'])}" + (
                f"; read-only: {', '.join(info['readers'])}" if info["readers"] else "")
            item = (f"<li data-workspace='{e(name)}'>{e(name)} ({access}): <a class='folder' "
                    f"href='{e(lab + quote('workspaces/' + name))}'>~/workspaces/{e(name)}/</a>; {e(people)}")
            if actor.admin or actor.name == info["owner"]:
                item += " " + self.form("", "members", f"Change the people of {name}", field(
                    label="add (read-write)", name="add", hint="ann, bo", size=10)
                    + field(label="add read-only", name="readers", hint="cy", size=8)
                    + field(label="remove", name="remove", hint="", size=8), target="workspace", workspace=name)
            items.append(item + "</li>")
        make = self.form("", "create", "Make a workspace", field(
            label="name", name="workspace", hint=f"{actor.name}-team", size=14)
            + field(label="read-write members", name="members", hint="ann, bo", size=12)
            + field(label="read-only", name="readers", hint="", size=8), target="workspace")
        return ("<h2>Workspaces</h2>" + (f"<ul class='workspaces'>{''.join(items)}</ul>" if items else "<p>None.</p>")
                + f"<p class='make-workspace'>{make}<br>A workspace is a folder you share: you own it (add and "
                  "remove its people here) and each person you name finds it in <code>~/workspaces/</code>. Names "
                  "are hub user names, separated by commas or spaces.</p>")

    def instructor_forms(self, cls: str, info: dict) -> str:
        """An instructor's buttons for the class: release an assignment (with its due date and late penalty), add
        late-comers, and per released assignment collect and autograde, return feedback, and give a student an extension
        (:class:`PageInstructHandler`), so that no step of a term needs a notebook or a terminal."""
        e = html.escape
        field = ("<label>{label} <input name='{name}' placeholder='{hint}' size='{size}'></label> ").format
        release = self.form(cls, "release", "Release", field(
            label="assignment (its folder instructors/&lt;name&gt;/)", name="assignment", hint="hw1", size=8)
            + field(label="due", name="due", hint="2026-12-10T17:00Z", size=18)
            + field(label="points off per hour late", name="late_penalty_per_hour", hint="0", size=3)
            + "<label><input type='checkbox' name='refuse_late' value='1'> refuse late work</label> ")
        students = "".join(f"<option>{e(s)}</option>" for s in info["students"])
        items = "".join(
            f"<li data-assignment='{e(a)}'>{e(a)}: "
            + self.form(cls, "collect", f"Collect and autograde {a}", assignment=a) + " "
            + self.form(cls, "feedback", f"Return feedback on {a}", assignment=a) + " "
            + self.form(cls, "extension", f"Give an extension on {a}",
                        f"<select name='student' aria-label='student'>{students}</select> "
                        + field(label="by", name="by", hint="2d", size=4), assignment=a)
            + "</li>" for a in info["assignments"])
        choices = "".join(f"<option>{e(s)}</option>" for s in info["students"])
        team = self.form(cls, "workspace", "Make a team workspace", field(
            label="workspace name", name="workspace", hint=f"{cls}-team1", size=14)
            + f"<label>students <select name='members' multiple aria-label='team members'>{choices}</select></label> ")
        late = self.form(cls, "students", "Add students", field(
            label="students (hub user names)", name="users", hint="dee, eli", size=14))
        return (f"<h3>Teach {e(cls)}</h3><p class='release'>{release}</p>"
                + f"<p class='students'>{late} A student added now gets every assignment released so far.</p>"
                + (f"<ul class='instruct'>{items}</ul>" if items else "")
                + (f"<p class='team'>{team}</p>" if info["students"] else "")
                + "<p>Grade written answers by hand in your Lab: <em>Nbgrader &rarr; Formgrader</em>. Return "
                  "feedback after that: it is made from the grades as they are then.</p>")

    def student_assignments(self, actor: Actor, cls: str, info: dict) -> str:
        """A student's assignments: each one's due date, her folder (a link that opens it in her JupyterLab),
        a Submit button, and her feedback once returned, with her score as it gave it (none before: her
        instructors may still change grades); and how to check her work before she submits."""
        e, quote = html.escape, urllib.parse.quote
        lab = self.hub_auth.hub_prefix + "user-redirect/lab/tree/"
        items = []
        for a in info["assignments"]:
            folder = f"{cls}/{a}"
            link = f"<a class='folder' href='{e(lab + quote(folder))}'>~/{e(folder)}/</a>"
            returned = ("; <a class='feedback' href='" + e(lab + quote(folder + "/feedback")) + "'>your feedback</a>"
                        f" (~/{e(folder)}/feedback/: open the .html page)") if a in info.get("feedback", ()) else ""
            if a in info.get("scores", {}):  # as the feedback returned to her gave it, as her instructors see it
                returned += f", <span class='score'>your score: {e(score_text(info['scores'][a]))}</span>"
            button = (f"<form method='post' action='{e(self.prefix)}submit' style='display:inline'>"
                      f"<input type='hidden' name='_xsrf' value='{e(self.form_xsrf)}'>"
                      f"<input type='hidden' name='class' value='{e(cls)}'>"
                      f"<input type='hidden' name='assignment' value='{e(a)}'>"
                      f"<button type='submit' class='submit'>Submit {e(a)}</button></form>")
            if info.get("archived"):  # closed: nothing more is taken (a page left open says so when clicked)
                button = "<em class='closed'>(class closed: no more submissions)</em>"
            items.append(f"<li data-assignment='{e(a)}'>{e(a)}: {e(due_text(info['deadlines'][a]))}. "
                         f"Your work: {link}{returned} {button}</li>")
        return ("<ul class='assignments'>" + "".join(items) + "</ul><p class='check'>Each assignment is in your home "
                "as it was released. To check your work before submitting, open the notebook and press "
                "<em>Validate</em> in its toolbar (where offered), or run <em>Kernel &rarr; Restart Kernel and Run "
                "All Cells</em>: every cell, the tests included, should run without an error. Submit copies the whole folder (save the notebook first); you may submit "
                "again, and the latest submission is the one graded.</p>")


class PageActionHandler(PageHandler):
    """One of the page's buttons: a form ``POST`` (with the hub's ``_xsrf``: JupyterHub accepts the login cookie on
    a form only with it). The page comes back with what :meth:`act` did, in words, or what was refused and why
    (the service's own message after :attr:`REFUSED`), in place of a JSON answer or a traceback."""

    #: The words before a refusal's message.
    REFUSED = "Not done"

    @web.authenticated
    async def post(self) -> None:
        actor = self.page_actor()
        try:
            message, error = await asyncio.to_thread(self.act, actor), False
        except HubError as exc:  # ClassError (its status), BackendError (502), other HubErrors (400)
            self.set_status(getattr(exc, "status", 400))
            message, error = f"{self.REFUSED}: {exc.message}", True
        self.finish(await asyncio.to_thread(self.render_page, actor, message, error))

    def act(self, actor: Actor) -> str:
        """Do what the form asks, as ``actor``; what was done, in words."""
        raise NotImplementedError


class PageSubmitHandler(PageActionHandler):
    """The page's Submit button: ``POST submit`` with ``class`` and ``assignment``; the answer's note (when it
    was taken, whether it was late) or why it was refused."""

    REFUSED = "Not submitted"

    def act(self, actor: Actor) -> str:
        cls, assignment = self.get_body_argument("class", ""), self.get_body_argument("assignment", "")
        done = self.teaching.submit(actor, cls, assignment)
        return (f"Submitted {assignment} of {cls} at {submitted_text(done['at'])}: {len(done['files'])} file(s)"
                + (f"; {done['note']}" if done["note"] else "") + ".")


class PageWorkspaceHandler(PageActionHandler):
    """The page's workspace buttons: ``POST workspace`` with ``action`` ``create`` (``workspace``, ``members``,
    ``readers``: a workspace the person who asks owns, as ``POST api/workspaces`` makes one) or ``members``
    (``workspace``, ``add``, ``readers``, ``remove``: its owner changes its people, as ``POST
    api/workspaces/<w>/members``); names separated by commas or spaces. The rules, and their refusals, are
    :class:`astrohub_hub.workspaces.Workspaces`'."""

    def listed(self, key: str) -> list[str]:
        """The names typed in the field ``key``: separated by commas or spaces, none when it is empty."""
        return self.get_body_argument(key, "").replace(",", " ").split()

    def act(self, actor: Actor) -> str:
        action, name = self.get_body_argument("action", ""), self.get_body_argument("workspace", "").strip()
        spaces = self.teaching.workspaces
        if action == "create":
            done = spaces.create(actor, name, members=self.listed("members"), readers=self.listed("readers"),
                                 owner=actor.name)
        elif action == "members":
            add, readers, remove = self.listed("add"), self.listed("readers"), self.listed("remove")
            if not (add or readers or remove):
                raise ClassError(f"name the people to change in workspace {name!r}: type names to add (read-write "
                                 "or read-only) or to remove", code="no-users", value=name)
            done = spaces.change(actor, name, add=add, add_readers=readers, remove=remove)
        else:
            raise ClassError(f"no such action {action!r}: create or members", code="bad-action", value=action)
        readers = f"; read-only for {', '.join(done['readers'])}" if done["readers"] else ""
        return (f"{'Made' if action == 'create' else 'Changed'} workspace {done['name']} (owner: {done['owner']}): "
                f"read-write for {', '.join(done['members'])}{readers}. Each finds it in ~/workspaces/{done['name']}/.")


class PageInstructHandler(PageActionHandler):
    """The page's instructor buttons: ``POST instruct`` with ``class``, ``action`` (``release``, ``collect``
    (and autograde), ``feedback``, ``extension``, ``students`` (late-comers), ``workspace``), ``assignment`` and the
    action's fields."""

    def act(self, actor: Actor) -> str:
        """Do ``action`` as ``actor``; what was done, in words."""
        arg = self.get_body_argument
        cls, action, assignment = arg("class", ""), arg("action", ""), arg("assignment", "").strip()
        if action == "release":
            penalty = arg("late_penalty_per_hour", "").strip()
            try:
                points = float(penalty) if penalty else None
            except ValueError:
                raise ClassError(f"points off per hour late is a number, got {penalty!r}", code="bad-late-penalty",
                                 value=penalty) from None
            done = self.teaching.release(actor, cls, assignment, due=arg("due", "").strip() or None,
                                         refuse_late=True if arg("refuse_late", "") else None,
                                         late_penalty_per_hour=points)
            return (f"Released {assignment} to {len(done['released'])} student(s): "
                    f"{due_text({'refuse_late': False, **done})}." + waited_text(done))
        if action == "collect":
            try:
                done = self.teaching.collect(actor, cls, assignment, grade=True)
            except ClassError as exc:
                if exc.code != "not-nbgrader":
                    raise
                return f"Collected {assignment}; not autograded: {exc.message}."
            scores = "; ".join(f"{s} {g['score']:g}/{g['max_score']:g}"
                               + (" (needs manual grading)" if g.get("needs_manual_grade") else "")
                               for s, g in sorted(done.get("grades", {}).items()))
            return (f"Collected and autograded {assignment}: {len(done['collected'])} submission(s)"
                    + (f" ({scores})" if scores else "") + "; handed nothing in: "
                    + (", ".join(done["missing"]) or "nobody") + "." + waited_text(done))
        if action == "feedback":
            done = self.teaching.return_feedback(actor, cls, assignment)
            if not done["returned"]:
                return (f"No feedback on {assignment} to return: collect and autograde it first "
                        "(feedback is made for the work autograded).")
            return f"Returned feedback on {assignment} to {', '.join(sorted(done['returned']))}." + waited_text(done)
        if action == "students":  # late-comers, without an admin: each gets what was released so far
            names = arg("users", "").replace(",", " ").split()
            if not names:
                raise ClassError("name the students to add: their hub user names, separated by commas or spaces",
                                 code="no-users")
            done = self.teaching.add_members(actor, cls, "student", names)
            given = ", ".join(done["assignments"]) or "nothing yet"
            return (f"Added {', '.join(sorted(set(names)))} to {cls}: each finds ~/classes/{cls}/ and every assignment "
                    f"released so far in their home (released: {given}).")
        if action == "workspace":  # a team of the class's students, in a workspace the instructor owns
            return self.team_workspace(actor, cls, arg("workspace", "").strip(), self.get_body_arguments("members"))
        if action == "extension":
            student, by = arg("student", ""), arg("by", "").strip()
            done = self.teaching.extend(actor, cls, assignment, student, by=by or ...)  # empty: "say how long"
            return f"{student} has until {done['extended_until']} for {assignment} (due {done['due']})."
        raise ClassError(f"no such action {action!r}: release, collect, feedback, extension, students or workspace",
                         code="bad-action", value=action)

    def team_workspace(self, actor: Actor, cls: str, name: str, members: list[str]) -> str:
        """Make workspace ``name`` for ``members``, students of class ``cls``, owned by the instructor who asks (as
        ``POST workspaces`` and ``astrohub workspaces create`` make one: :meth:`astrohub_hub.workspaces.Workspaces.create`);
        what was made, in words. Only the class's instructors and admins, for the class's students."""
        info = self.teaching.show(actor, cls)  # refused for a class that is not there or not theirs
        if "students" not in info:  # a student's view
            raise ClassError(f"only the instructors of class {cls!r} make its team workspaces", status=403,
                             code="forbidden", value=actor.name)
        roster = info["students"]
        others = sorted(set(members) - set(roster))
        if not members or others:
            raise ClassError(f"a team workspace of class {cls!r} is for some of its students ({', '.join(roster)}): "
                             + (f"{others} are not" if others else "choose at least one"), code="bad-team",
                             value=others)
        done = self.teaching.workspaces.create(actor, name, members=members, owner=actor.name)
        return (f"Made workspace {done['name']} for {', '.join(members)} (owner: {done['owner']}): each "
                f"finds it in ~/workspaces/{done['name']}/ (add or remove people under Workspaces, below).")


class PageGradesHandler(PageHandler):
    """The page's *Download the gradebook (CSV)* link: ``GET grades.csv?class=<c>``, signed in through the hub
    (the API's ``grades?format=csv`` needs a token, which a browser does not send)."""

    @web.authenticated
    async def get(self) -> None:
        actor, cls = self.page_actor(), self.get_argument("class", "")
        try:
            book = await asyncio.to_thread(self.teaching.gradebook, actor, cls, strict=True)
        except HubError as exc:
            self.set_status(getattr(exc, "status", 400))
            self.finish(await asyncio.to_thread(self.render_page, actor, f"No gradebook: {exc.message}", True))
            return
        send_csv(self, cls, book)


def score_text(row: Mapping) -> str:
    """A score as the class page writes it, the instructor's roster and the student's line alike: ``0.5/2, 0.5
    off for lateness, needs manual grading`` (``score`` after the late penalty, of ``max_score``)."""
    return (f"{row['score']:g}/{row['max_score']:g}"
            + (f", {row['late_penalty']:g} off for lateness" if row.get("late_penalty") else "")
            + (", needs manual grading" if row.get("needs_manual_grade") else ""))


def submitted_text(at: str) -> str:
    """A submission's time for the page, written as due dates are (``2026-12-07T16:08:15Z``), from its folder's name
    ``<UTC time>[-n]`` (``2026-12-07T16-08-15``), which the API's ``at`` keeps: the page said "hw1 at
    2026-12-07T16-08-15", a time with dashes and no zone, beside "due 2026-12-09T16:07:00Z"."""
    try:
        return iso(calendar.timegm(time.strptime(at[:19], "%Y-%m-%dT%H-%M-%S")))
    except ValueError:  # not a folder name of ours: as it is
        return at


def waited_text(done: dict) -> str:
    """`` It waited ...`` when a grading step waited for another instructor's (``done["waited"]``), else ''."""
    return f" It {done['waited']}." if done.get("waited") else ""


def due_text(deadline: dict) -> str:
    """An assignment's due date in words, for the page (``deadline``: an entry of ``show()["deadlines"]``)."""
    if deadline["due"] is None:
        return "no due date"
    late = "late work refused" if deadline["refuse_late"] else "late work taken, marked late"
    if deadline.get("late_penalty_per_hour"):
        points = deadline["late_penalty_per_hour"]
        late += f", {points:g} point{'' if points == 1 else 's'} off per hour late"
    mine = deadline.get("extended_until")  # a student's own extension
    return f"due {deadline['due']} ({late})" + (f"; your extension: due {mine}" if mine else "")


def make_app(teaching: Teaching, hub_auth: HubAuth, prefix: str,
             directory: "HubDirectory | None" = None, groups_root: str = "",
             gateway: GatewayUsage | None = None) -> web.Application:
    """The tornado application under ``prefix`` (``/services/astrohub-classes/``)."""
    args = {"teaching": teaching, "hub_auth": hub_auth}
    handlers = [(r, h, args) for r, h in api_routes(prefix.rstrip("/") + "/api")]
    if directory is not None:  # the browser page, signed in through the hub (OAuth)
        page_args = {"teaching": teaching, "directory": directory, "prefix": prefix}
        handlers += [(rf"{prefix.rstrip('/')}/?", PageHandler, page_args),
                     (rf"{prefix.rstrip('/')}/submit", PageSubmitHandler, page_args),
                     (rf"{prefix.rstrip('/')}/instruct", PageInstructHandler, page_args),
                     (rf"{prefix.rstrip('/')}/workspace", PageWorkspaceHandler, page_args),
                     (rf"{prefix.rstrip('/')}/grades.csv", PageGradesHandler, page_args),
                     (rf"{prefix.rstrip('/')}/oauth_callback", HubOAuthCallbackHandler)]
    return web.Application(handlers, default_handler_class=NotFound, default_handler_args=args,
                           cookie_secret=os.urandom(32), groups_root=groups_root, gateway=gateway)


def api_routes(api: str) -> list[tuple[str, type[ApiHandler]]]:
    """The API's routes under ``api`` (``<prefix>/api``): (pattern, handler); each handler's ``BODIES`` names
    the body keys of every method it answers."""
    seg = r"([^/]+)"
    return [
        (rf"{api}/classes/?", ClassesHandler),
        (rf"{api}/classes/{seg}/?", ClassHandler),
        (rf"{api}/classes/{seg}/(students|instructors)/?", RosterHandler),
        (rf"{api}/classes/{seg}/restore/?", RestoreHandler),
        (rf"{api}/classes/{seg}/archive/?", ArchiveHandler),
        (rf"{api}/classes/{seg}/profile/?", ProfileHandler),
        (rf"{api}/classes/{seg}/exam/?", ExamHandler),
        (rf"{api}/classes/{seg}/log/?", LogHandler),
        (rf"{api}/classes/{seg}/grades/?", GradesHandler),
        (rf"{api}/classes/{seg}/assignments/{seg}/(release|submit|collect|feedback)/?", AssignmentHandler),
        (rf"{api}/classes/{seg}/assignments/{seg}/due/?", DueHandler),
        (rf"{api}/classes/{seg}/assignments/{seg}/extension/?", ExtensionHandler),
        (rf"{api}/people/{seg}/rename/?", RenameHandler),
        (rf"{api}/usage/?", UsageHandler),
        (rf"{api}/quotas/(group|workspace|home)/{seg}/?", QuotaHandler),
        (rf"{api}/workspaces/?", WorkspacesHandler),
        (rf"{api}/workspaces/{seg}/?", WorkspaceHandler),
        (rf"{api}/workspaces/{seg}/members/?", WorkspaceMembersHandler),
        (rf"{api}/workspaces/{seg}/share/?", WorkspaceShareHandler),
        (rf"{api}/workspaces/{seg}/collaboration/?", WorkspaceCollaborationHandler),
    ]


async def _tick(teaching: Teaching) -> None:
    """One exam tick, in a worker thread: it waits while a request changes an exam (``Teaching.exam`` holds
    the exam lock while it tells the hub), which must not stop the event loop; the next tick is scheduled
    once this one is done (tornado's PeriodicCallback awaits it)."""
    try:
        await asyncio.to_thread(teaching.tick)
    except Exception:  # a failing setfacl must not stop the service; retried at the next tick
        log.exception("exam tick failed")


def max_workspaces(env: Mapping[str, str]) -> int:
    """How many workspaces one person may own: ``ASTROHUB_CLASSES_MAX_WORKSPACES`` (0: no limit), else the default
    of its one owner, the hub setting ``classes.maxWorkspacesPerUser``. Not a whole number of at least 0: a
    :class:`HubConfigError` naming the variable and the setting (the service does not start)."""
    text = env.get("ASTROHUB_CLASSES_MAX_WORKSPACES", "").strip()
    if not text:
        return ClassesSettings.model_fields["max_workspaces_per_user"].default
    if not text.isdigit():
        raise HubConfigError(f"{text!r} is not a whole number: how many workspaces one person may own, 0 for no "
                             "limit (set the hub setting classes.maxWorkspacesPerUser)",
                             key="ASTROHUB_CLASSES_MAX_WORKSPACES", value=text)
    return int(text)


def from_environ(env: Mapping[str, str]) -> tuple[Teaching, HubDirectory, GatewayUsage]:
    """The service's rules, hub directory and gateway client from its environment (the module docstring's
    variables: the hub sets them locally, the chart's ConfigMap ``astrohub-classes`` on Kubernetes)."""
    api_url, token = env["JUPYTERHUB_API_URL"], env["JUPYTERHUB_API_TOKEN"]
    directory = HubDirectory(api_url, token, env.get("ASTROHUB_GROUPS_ROOT", ""))
    teaching = Teaching(
        classes_root=Path(env["ASTROHUB_CLASSES_ROOT"]), workspaces_root=Path(env["ASTROHUB_WORKSPACES_ROOT"]),
        registry=Path(env["ASTROHUB_CLASSES_REGISTRY"]),
        accounts=SystemAccounts.from_environ(dict(env), "ASTROHUB_CLASSES"),
        home_template=env.get("ASTROHUB_CLASSES_HOME", ""),
        user_exists=directory.user_exists, on_roster_change=directory.mirror, on_roster_remove=directory.unmirror,
        on_workspace_change=directory.mirror_workspace, on_class_properties=directory.class_properties,
        on_class_delete=directory.delete_class_groups,
        profiles=tuple(p for p in env.get("ASTROHUB_CLASSES_PROFILES", "").split(",") if p),
        grading=steps_from_environ(env),
        links_folder=env.get("ASTROHUB_CLASSES_LINKS", ""),
        course_links_folder=env.get("ASTROHUB_CLASSES_COURSE_LINKS", ""),
    )
    teaching.workspaces.max_per_user = max_workspaces(env)
    teaching.workspaces.on_share = directory.share
    teaching.workspaces.on_collaborators = directory.workspace_collaborators
    return teaching, directory, GatewayUsage(env.get("ASTROHUB_CLASSES_GATEWAY", ""), token)


def main(argv: list[str] | None = None) -> int:
    """Run the service (the hub starts it with its environment; see the module docstring)."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)1.1s %(asctime)s classes] %(message)s")
    env = os.environ
    api_url, token = env["JUPYTERHUB_API_URL"], env["JUPYTERHUB_API_TOKEN"]
    teaching, directory, gateway = from_environ(env)
    hub_auth = HubAuth(api_token=token, api_url=api_url, cache_max_age=60)
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    url = urllib.parse.urlparse(env["JUPYTERHUB_SERVICE_URL"])
    HubOAuth.instance(api_token=token, api_url=api_url)
    app = make_app(teaching, hub_auth, prefix, directory, env.get("ASTROHUB_GROUPS_ROOT", ""), gateway)
    app.listen(url.port, url.hostname)
    ioloop.PeriodicCallback(lambda: _tick(teaching), 5000).start()  # a coroutine: awaited
    log.info("serving classes and workspaces at %s%s (as %s)", url.geturl(), prefix,
             "per-user system accounts" if teaching.accounts.enabled else "the invoking user")
    loop = ioloop.IOLoop.current()

    def stop(signum: int, _frame: Any) -> None:  # the hub stops its services with SIGINT, Kubernetes with SIGTERM
        log.info("stopping on %s", signal.Signals(signum).name)
        loop.add_callback_from_signal(loop.stop)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    loop.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
