"""An administrator's client of the running local platform's hub REST API.

Owns :class:`HubAdmin`: the hub's API URL and the ``astrohub-cli`` service token, found in the data
directory of a platform started by ``astrohub up`` (``state/up-config.json`` and ``state/tokens.json``),
and a few calls (users, groups) that raise :class:`~platform_lib.local.errors.HubRequestError` with
the hub's own message. Used by the ``astrohub users`` command. May import requests and this package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

import requests

from platform_lib.local.config import LocalConfig
from platform_lib.local.errors import HubRequestError, NotRunningError
from platform_lib.local.layout import DataLayout

__all__ = ["HubAdmin"]


@dataclass
class HubAdmin:
    """Administer a running hub: ``api_url`` (``http://host:port/hub/api``) with an admin ``token``."""

    api_url: str
    token: str
    timeout: float = 30.0
    config: LocalConfig | None = None  # the running platform's configuration, when known

    @classmethod
    def for_config(cls, config: LocalConfig) -> "HubAdmin":
        """The admin client of the platform running on ``config.data_dir``."""
        layout = DataLayout(config.data_dir)
        running = layout.running_config
        if not running.exists() or not layout.tokens_file.exists():
            raise NotRunningError(
                f"no platform was started on {config.data_dir}: run `astrohub up` first, or pass the "
                "same --data-dir / --config as `astrohub up`",
                value=str(config.data_dir),
            )
        config = LocalConfig.model_validate_json(running.read_text())
        token = json.loads(layout.tokens_file.read_text())["cli"]
        return cls(f"http://{config.hub.ip}:{config.hub.port}/hub/api", token, config=config)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.request(method, f"{self.api_url}{path}", timeout=self.timeout,
                                        headers={"Authorization": f"token {self.token}"}, **kwargs)
        except requests.ConnectionError as exc:
            raise NotRunningError(f"the hub at {self.api_url} does not answer: is the platform running "
                                  "(`astrohub status`)?", value=self.api_url) from exc
        return response

    def _check(self, response: requests.Response, what: str) -> requests.Response:
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise HubRequestError(f"{what}: the hub answered {response.status_code}: {message}", value=what)
        return response

    def service(self, method: str, path: str, body: Any = None, *, name: str = "astrohub-classes") -> Any:
        """Call a hub service's API (``/services/<name>/api/<path>``) with the admin token; its JSON answer.

        A refusal raises :class:`HubRequestError` with the service's own message.
        """
        base = self.api_url.rsplit("/hub/api", 1)[0]
        try:
            response = requests.request(method, f"{base}/services/{name}/api/{path.lstrip('/')}", json=body,
                                        headers={"Authorization": f"token {self.token}"}, timeout=300)
        except requests.ConnectionError as exc:
            raise NotRunningError(f"the service {name} does not answer at {base}: is the platform running?",
                                  value=base) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {"message": response.text[:300]}
        if response.status_code >= 400:
            message = answer.get("message", answer) if isinstance(answer, dict) else answer
            raise HubRequestError(f"{name} refused {method} {path} ({response.status_code}): {message}", value=path)
        return answer

    def users(self) -> set[str]:
        """Every hub user name."""
        names: set[str] = set()
        offset = 0
        while True:
            response = self._check(self.request("GET", f"/users?offset={offset}&limit=200"), "listing users")
            page = response.json()
            names.update(u["name"] for u in page)
            if len(page) < 200:
                return names
            offset += len(page)

    def groups(self) -> dict[str, list[str]]:
        """Every hub group and its members."""
        found: dict[str, list[str]] = {}
        offset = 0
        while True:
            response = self._check(self.request("GET", f"/groups?offset={offset}&limit=200"), "listing groups")
            page = response.json()
            found.update({g["name"]: list(g.get("users", [])) for g in page})
            if len(page) < 200:
                return found
            offset += len(page)

    def create_users(self, names: Iterable[str]) -> None:
        names = sorted(names)
        if names:
            self._check(self.request("POST", "/users", json={"usernames": names}), f"creating users {names}")

    def create_group(self, name: str) -> None:
        self._check(self.request("POST", f"/groups/{name}"), f"creating group {name!r}")

    def add_to_group(self, group: str, users: Iterable[str]) -> None:
        users = sorted(users)
        if users:
            self._check(self.request("POST", f"/groups/{group}/users", json={"users": users}),
                        f"adding {users} to group {group!r}")

    def remove_from_group(self, group: str, users: Iterable[str]) -> None:
        users = sorted(users)
        if users:
            self._check(self.request("DELETE", f"/groups/{group}/users", json={"users": users}),
                        f"removing {users} from group {group!r}")
