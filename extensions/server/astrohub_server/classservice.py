"""The classes service as an instructor's server asks it: what the class page did to the class it grades.

Owns :class:`ClassService`: the ``astrohub-classes`` hub service's API (``ASTROHUB_CLASSES_URL``, set by the spawner
on the local platform) called with the server's own token (``JUPYTERHUB_API_TOKEN``), so the service answers as it
answers the instructor: the class (:meth:`ClassService.show`: its roster too), which assignments were released and
their due dates (:meth:`ClassService.released_in`) and returning an assignment's feedback to the class's students
(:meth:`ClassService.return_feedback`). Formgrader
(:mod:`astrohub_server.formgrader`) shows and does through it what is true of the class, rather than what nbgrader's
exchange (not used on this platform) would say. A refusal or an unreachable service is :class:`ClassServiceError`,
with the service's own message. May import the standard library only.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["ClassService", "ClassServiceError"]

#: Seconds to wait for a listing: formgrader's page asks it while drawing (in the server's event loop), so a
#: service that does not answer costs the page this long, then the status is left empty.
LIST_TIMEOUT = 10
#: Seconds to wait for feedback returned: it generates nbgrader's pages again (asked from a worker thread).
FEEDBACK_TIMEOUT = 600


class ClassServiceError(Exception):
    """The classes service refused a call (its ``message``, naming the problem) or could not be reached."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ClassService:
    """The classes service's API at ``url`` (ending in ``/``), called with ``token``."""

    url: str
    token: str

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ClassService | None:
        """The service the spawner named (``ASTROHUB_CLASSES_URL``) with the server's token; None where either is
        missing (a server started without the classes service)."""
        url, token = env.get("ASTROHUB_CLASSES_URL", ""), env.get("JUPYTERHUB_API_TOKEN", "")
        return cls(url if url.endswith("/") else url + "/", token) if url and token else None

    def call(self, method: str, path: str, body: Any = None, timeout: float = LIST_TIMEOUT) -> dict:
        """The JSON answer of ``method path`` within ``timeout`` seconds; :class:`ClassServiceError` with the
        service's message on a refusal."""
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("message") or exc.reason
            except ValueError:
                message = exc.reason
            raise ClassServiceError(f"the classes service refused {method} {path} ({exc.code}): {message}") from None
        except (OSError, ValueError) as exc:
            raise ClassServiceError(f"the classes service at {self.url} did not answer {method} {path}: {exc}") \
                from None

    @staticmethod
    def _segment(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def show(self, cls: str) -> dict:
        """Class ``cls`` as the service shows it to its instructor: ``assignments`` (released), ``deadlines``,
        ``students`` (the roster), ``instructors``..."""
        return self.call("GET", f"classes/{self._segment(cls)}")

    @staticmethod
    def released_in(info: dict) -> dict[str, dict]:
        """``{assignment: its deadline}`` of the assignments released so far in a class's ``info`` (:meth:`show`),
        each deadline as the service gives it (``due``: ISO 8601 or None, ``refuse_late``,
        ``late_penalty_per_hour``)."""
        deadlines = info.get("deadlines") or {}
        return {name: deadlines.get(name, {}) for name in info.get("assignments", [])}

    def return_feedback(self, cls: str, assignment: str) -> dict:
        """Return ``assignment``'s feedback to class ``cls``'s students, as the class page's *Return feedback* does:
        the service's answer (``returned``: ``{student: files}``)."""
        return self.call("POST", f"classes/{self._segment(cls)}/assignments/{self._segment(assignment)}/feedback",
                         timeout=FEEDBACK_TIMEOUT)
