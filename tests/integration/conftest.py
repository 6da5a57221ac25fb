"""The integration tier's shared fixture: ``platform``, the real local platform, started once per session.

``platform`` runs ``astrohub up --detach`` (JupyterHub, configurable-http-proxy, dask-gateway and,
when installed, the archive service, as real processes) on free ports in a fresh data directory, and
yields a :class:`RunningPlatform`. At the end of the session it runs ``astrohub down``, checks that no
process of the platform is left, removes the system users the hub created for the session's users
(when run as root) and deletes the data directory. The platform's owner (``--owner``) is pytest's
process: if it is killed before that teardown runs, the platform stops by itself.

What a test gets (all synchronous; URLs end with ``/``)::

    platform.url                 # "http://127.0.0.1:PORT/" (the proxy, what a browser opens)
    platform.hub_api             # "http://127.0.0.1:PORT/hub/api"
    platform.admin_token         # a hub API token with admin scopes (service "astrohub-cli")
    platform.data_dir            # pathlib.Path: home/, groups/, datasets/, scratch/, state/
    platform.config              # the platform_lib.local.LocalConfig it runs with
    platform.admin_user, platform.admin_password   # the admin's login
    platform.user_password       # the class code: lets a name on the roster set its own password once
    platform.password("ann")     # ann's own password: registered at /hub/register on first use (cached)
    platform.login("ann")        # a requests.Session signed in through the login form, as a browser
    platform.api("GET", "/users")                    # requests.Response, admin token by default
    platform.create_user("ann")                      # hub user (name is made unique: see unique())
    platform.unique("ann")                           # "ann-<session tag>"; another module's name raises
    platform.create_group("astro101", ["ann", "bob"])  # or add_group_users(...)
    platform.user_token("ann")                       # an API token of that user (cached)
    platform.astrohub("classes", "show", "astro101")  # the astrohub command on this platform's data dir
    platform.create_class("astro101", ["prof"], ["ann", "bob"])  # hub users, then astrohub classes create
    platform.classes_api("ann", "GET", "classes")    # the classes service's API as ann -> requests.Response
    platform.start_server("ann")                     # waits until ready; returns the server URL
    platform.stop_server("ann")
    with platform.user_with_server("ann") as ann:    # a new user unique("ann") with their server ready;
        ...                                          # stopped when the block ends
    platform.execute("ann", "print(1 + 1)")          # runs in a kernel of ann's server -> "2\n"
    with platform.kernel("ann", notebook="a.ipynb") as run:  # run(code) -> stdout; run.kernel_id (notebook: optional)
                                                     # raises KernelError (ename, evalue, traceback)
    platform.run_notebook("ann", "tutorials/x.ipynb")  # each code cell in turn, in a session of ann's
                                                     # server -> [CellResult]; raises CellError
    platform.server_get("ann", "api/contents", token=platform.user_token("bob"))  # requests.Response
    platform.gateway("ann")                          # dask_gateway.Gateway as ann (her hub token)
    platform.system_user("ann")                      # the system user name when isolated, else None
    poll(lambda: path.exists(), 30, "the file")      # fixture: wait for a condition with a deadline
    platform.isolated            # True when each user runs as their own system user (root, and
                                 # this Python reachable by other users); else all run as us

The fixture's configuration: groups ``students`` and ``instructors`` exist from the start, with
``instructors.instructors_of = ["students"]``; user servers report busy work every 2 s and warn of a
12 s cull (``ASTROHUB_*`` environment; only test_platform_culling.py runs a culler that short); a server
profile ``lab`` (3G / 1.5 CPU limits, a 1G guarantee, ``LAB_TOOLS=on``) exists for classes to pin. Other helpers' tests should create their own users
with ``platform.unique(...)``, use their own groups, and stop the servers they start. A name is one test module's:
``unique`` raises, naming both modules, when another module (of either tier) asked for it already.

``tests/browser/conftest.py`` loads this file by path and shares the same running platform (one
platform per pytest session, whichever tier asks first). ``make test`` runs both tiers on two pytest-xdist
workers, a test file at a time (``--dist loadfile``): each worker is a session of its own, with a platform of its
own, so a module's fixtures, users and servers are on one platform. A name is tagged per platform, so modules on
the two never meet, and ``unique`` still finds a clash between two modules that ran on different workers: the
workers record the names they gave out in one file the xdist controller makes (tests/conftest.py).

The pytest process and what it starts load numba's compiled kernels from the run's own cache (tests/conftest.py,
tests/support/numba_cache.py), hats' functions included; the platform never gets that cache: ``astrohub up``
runs in the environment pytest was started with (``platform_environment``), as an operator's would.
"""

from __future__ import annotations

import contextlib
import gc
import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil
import pytest
import requests
import websocket
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from platform_lib.local.config import LocalConfig, load_config
from platform_lib.local.ports import free_ports
from platform_lib.local.supervisor import unreachable_by_others
from numba_cache import platform_environment  # tests/support/, on the path by tests/conftest.py
from unique_names import WORKER_REGISTRY, UniqueNames

START_TIMEOUT = 120.0
SERVER_TIMEOUT = 90.0
_CONFIG_ATTR = "_astrohub_running_platform"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: Set ASTROHUB_TEST_KEEP=1 to keep the data directory (logs in state/logs) after the session.
_KEEP = os.environ.get("ASTROHUB_TEST_KEEP") == "1"


class KernelError(AssertionError):
    """Code executed in a user's kernel raised; carries the kernel's ``ename``, ``evalue``, ``traceback``."""

    def __init__(self, ename: str, evalue: str, traceback: list[str]) -> None:
        plain = [_ANSI.sub("", line) for line in traceback]
        super().__init__(f"{ename}: {evalue}\n" + "\n".join(plain))
        self.ename = ename
        self.evalue = evalue
        self.traceback = traceback


def _poll(condition, timeout: float, what: str, interval: float = 0.1):
    """Return ``condition()``'s first truthy value, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _pooled_session() -> requests.Session:
    """The harness's HTTP session. It keeps connections open between calls, and the proxy closes an idle one after
    a few seconds: a call that reuses it just as it closes gets "connection reset by peer" without the server ever
    seeing it (a DELETE after a long notebook run did, in CI). So an idempotent call is sent once more on a new
    connection after a reset, as a browser does; a status the server answers is never retried."""
    session = requests.Session()
    retry = Retry(total=1, connect=1, read=1, status=0, other=0, redirect=False, raise_on_status=False,
                  allowed_methods=Retry.DEFAULT_ALLOWED_METHODS)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    return session


@dataclass
class RunningPlatform:
    """A running local platform; see the module docstring for the API."""

    config: LocalConfig
    admin_token: str
    admin_user: str
    admin_password: str
    user_password: str
    tag: str
    isolated: bool = False
    users: set[str] = field(default_factory=set)
    _tokens: dict[str, str] = field(default_factory=dict)
    _passwords: dict[str, str] = field(default_factory=dict)
    session: requests.Session = field(default_factory=lambda: _pooled_session())
    _names: UniqueNames = field(init=False)

    def __post_init__(self) -> None:
        self._names = UniqueNames(self.tag)

    @property
    def url(self) -> str:
        return f"http://{self.config.hub.ip}:{self.config.hub.port}/"

    @property
    def hub_api(self) -> str:
        return f"{self.url}hub/api"

    @property
    def data_dir(self) -> Path:
        return self.config.data_dir

    # --- hub REST API ----------------------------------------------------------------------------
    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        """A hub API request (``path`` relative to ``/hub/api``), with the admin token by default."""
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return self.session.request(method, f"{self.hub_api}{path}", headers=headers, timeout=30, **kwargs)

    def unique(self, name: str) -> str:
        """``name`` with this session's tag, so repeated runs never collide; a name that another test module asked
        for raises ``NameClash`` naming both modules, so two modules never share one (tests/support/unique_names.py)."""
        return self._names(name)

    def create_user(self, name: str) -> dict[str, Any]:
        response = self.api("POST", f"/users/{name}")
        if response.status_code == 409:
            return self.api("GET", f"/users/{name}").json()
        response.raise_for_status()
        self.users.add(name)
        return response.json()

    def create_group(self, name: str, users: list[str] = ()) -> dict[str, Any]:
        response = self.api("POST", f"/groups/{name}", json={"users": list(users)})
        if response.status_code == 409:
            self.add_group_users(name, list(users))
            return self.api("GET", f"/groups/{name}").json()
        response.raise_for_status()
        return response.json()

    def add_group_users(self, name: str, users: list[str]) -> None:
        self.api("POST", f"/groups/{name}/users", json={"users": list(users)}).raise_for_status()

    def user_token(self, user: str) -> str:
        """An API token owned by ``user`` (created by the admin token, cached)."""
        if user not in self._tokens:
            response = self.api("POST", f"/users/{user}/tokens", json={"note": "integration test"})
            response.raise_for_status()
            self._tokens[user] = response.json()["token"]
        return self._tokens[user]

    # --- the astrohub command and the classes service -------------------------------------------------
    #: The classes service's API, under :attr:`url`.
    CLASSES_API = "services/astrohub-classes/api"

    def astrohub(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """``astrohub <args> --data-dir <this platform's>`` (the admin's command), its output captured."""
        return _astrohub(*args, "--data-dir", str(self.data_dir), timeout=timeout)

    def create_class(self, name: str, instructors: list[str], students: list[str]) -> str:
        """Create the hub users (:meth:`create_user`), then the class ``name`` with ``astrohub classes create``
        (``--instructors``, ``--students``); the test fails with the command's output if it fails. Returns ``name``."""
        for user in (*instructors, *students):
            self.create_user(user)
        created = self.astrohub("classes", "create", name, "--instructors", ",".join(instructors),
                                "--students", ",".join(students))
        assert created.returncode == 0, created.stdout + created.stderr
        return name

    def classes_api(self, user: str, method: str, path: str, body: Any = None) -> requests.Response:
        """A request to the classes service (``path`` under :attr:`CLASSES_API`) with ``user``'s token."""
        return self.session.request(method, f"{self.url}{self.CLASSES_API}/{path}", json=body, timeout=120,
                                    headers={"Authorization": f"token {self.user_token(user)}"})

    # --- sign-in ---------------------------------------------------------------------------------
    def register(self, user: str, password: str, code: str | None = None) -> requests.Response:
        """POST the registration form (class code + own password) as a browser would; the response."""
        session = requests.Session()
        session.get(f"{self.url}hub/register", timeout=30).raise_for_status()
        return session.post(f"{self.url}hub/register", timeout=30, allow_redirects=False, data={
            "username": user, "class_code": self.user_password if code is None else code,
            "password": password, "password2": password, "_xsrf": session.cookies.get("_xsrf", "")})

    def password(self, user: str) -> str:
        """``user``'s own password, registered with the class code on first use (the user must exist)."""
        if user not in self._passwords:
            password = f"pw-{uuid.uuid4().hex[:12]}"
            response = self.register(user, password)
            assert response.status_code == 302, f"registering {user}: {response.status_code} {response.text[:300]}"
            self._passwords[user] = password
        return self._passwords[user]

    def login_form(self, user: str, password: str) -> tuple[requests.Session, requests.Response]:
        """POST the login form; the session and the (unfollowed) response."""
        session = requests.Session()
        session.get(f"{self.url}hub/login", timeout=30).raise_for_status()
        response = session.post(f"{self.url}hub/login", timeout=30, allow_redirects=False, data={
            "username": user, "password": password, "_xsrf": session.cookies.get("_xsrf", "")})
        return session, response

    def login(self, user: str) -> requests.Session:
        """A cookie session signed in as ``user`` with their own password (see :meth:`password`)."""
        session, response = self.login_form(user, self.password(user))
        assert response.status_code == 302, f"login of {user}: {response.status_code} {response.text[:300]}"
        return session

    def system_user(self, user: str) -> str | None:
        return f"{self.config.users.system_user_prefix}{user}" if self.isolated else None

    # --- servers ---------------------------------------------------------------------------------
    def server_url(self, user: str) -> str:
        return f"{self.url}user/{user}/"

    def start_server(self, user: str, timeout: float = SERVER_TIMEOUT) -> str:
        """Start ``user``'s default server through the hub API and wait until it is ready."""
        response = self.api("POST", f"/users/{user}/server")
        if response.status_code not in (201, 202, 400):  # 400: already running
            raise AssertionError(f"the hub answered {response.status_code} to the start of {user}'s server: "
                                 f"{response.text[:300]}\n{self.hub_log_about(user)}")

        def ready() -> bool:
            model = self.api("GET", f"/users/{user}").json()
            server = model.get("servers", {}).get("")
            if server is None and not model.get("pending"):
                raise AssertionError(f"server of {user} stopped while starting\n{self.hub_log_about(user)}")
            return bool(server and server.get("ready"))

        _poll(ready, timeout, f"the server of {user}")
        return self.server_url(user)

    def hub_log_about(self, user: str, lines: int = 40) -> str:
        """The last ``lines`` lines of the hub's log that name ``user`` (what a failed start says in CI, where the
        log is gone with the machine)."""
        log = self.data_dir / "state" / "logs" / "hub.log"
        try:
            named = [line for line in log.read_text(errors="replace").splitlines() if user in line]
        except OSError as exc:
            return f"(the hub's log {log} cannot be read: {exc})"
        return f"the hub's log {log} about {user}, last {lines} lines:\n" + "\n".join(named[-lines:])

    def stop_server(self, user: str, timeout: float = 60.0) -> None:
        response = self.api("DELETE", f"/users/{user}/server")
        if response.status_code not in (202, 204, 400):
            response.raise_for_status()
        _poll(lambda: "" not in self.api("GET", f"/users/{user}").json().get("servers", {}), timeout,
              f"the server of {user} to stop")

    @contextlib.contextmanager
    def user_with_server(self, name: str) -> Iterator[str]:
        """A new hub user ``unique(name)`` whose server is started and ready; stopped when the block ends.

        Yields the user's name. Used as a module fixture's body::

            @pytest.fixture(scope="module")
            def dasker(platform):
                with platform.user_with_server("dasker") as user:
                    yield user
        """
        user = self.unique(name)
        self.create_user(user)
        self.start_server(user)
        try:
            yield user
        finally:
            self.stop_server(user)

    def gateway(self, user: str):
        """dask-gateway's client as ``user``, with their hub token (as in their notebook); a ``Gateway``."""
        from dask_gateway import Gateway  # only the Dask tests pay for the import
        from dask_gateway.auth import JupyterHubAuth

        return Gateway(
            address=f"{self.url}services/dask-gateway",
            proxy_address=f"gateway://{self.config.hub.ip}:{self.config.gateway.port}",
            auth=JupyterHubAuth(api_token=self.user_token(user)),
        )

    def server_get(self, user: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        """GET ``/user/<user>/<path>`` with ``token`` (default: the user's own)."""
        token = token or self.user_token(user)
        return self.session.get(
            f"{self.server_url(user)}{path}", headers={"Authorization": f"token {token}"},
            timeout=30, allow_redirects=False, **kwargs,
        )

    # --- kernels -----------------------------------------------------------------------------------
    def execute(self, user: str, code: str, *, timeout: float = 120.0, token: str | None = None) -> str:
        """Run ``code`` in a new kernel of ``user``'s (running) server; return its stdout.

        Raises :class:`KernelError` when the code raises.
        """
        with self.kernel(user, token=token) as run:
            return run(code, timeout)

    @contextlib.contextmanager
    def kernel(self, user: str, *, token: str | None = None,
               notebook: str | None = None) -> Iterator[Callable[..., str]]:
        """A new kernel of ``user``'s (running) server for the ``with`` block, deleted after it; yields
        ``run(code, timeout=120.0)``, which runs ``code`` in it and returns its stdout (cells share the kernel).
        With ``notebook`` (a path in the home) the kernel is that notebook's, started by a session as JupyterLab
        starts it (its ``JPY_SESSION_NAME``); ``run.kernel_id`` is the kernel's id (``api/kernels/<id>/restart``).

        Uses the Jupyter server REST API (create/delete the kernel or session) and the kernel websocket
        (execute_request); ``run`` raises :class:`KernelError` when the code raises.
        """
        headers = {"Authorization": f"token {token or self.user_token(user)}"}
        base = self.server_url(user)
        if notebook is None:
            response = self.session.post(f"{base}api/kernels", headers=headers, json={"name": "python3"}, timeout=60)
            response.raise_for_status()
            kernel_id, ended = response.json()["id"], f"{base}api/kernels/{response.json()['id']}"
        else:
            response = self.session.post(f"{base}api/sessions", headers=headers, timeout=60, json={
                "path": notebook, "name": notebook.rsplit("/", 1)[-1], "type": "notebook", "kernel": {"name": "python3"}})
            response.raise_for_status()
            kernel_id, ended = response.json()["kernel"]["id"], f"{base}api/sessions/{response.json()['id']}"
        channels = f"{base.replace('http', 'ws', 1)}api/kernels/{kernel_id}/channels"

        def run(code: str, timeout: float = 120.0) -> str:
            return _run_in_kernel(channels, headers, code, timeout)

        run.kernel_id = kernel_id
        try:
            yield run
        finally:
            self.session.delete(ended, headers=headers, timeout=30)


    # A cell's limit only guards against a hang (no timing is asserted): the crossmatch tutorial's Dask cells
    # took 110-125 s on a 2-core machine at load ~9, and once passed 180 s.
    def run_notebook(self, user: str, path: str, *, cell_timeout: float = 300.0,
                     setup: str | None = None) -> list[CellResult]:
        """Run the notebook at ``path`` (in ``user``'s home, read through their server) cell by cell.

        A session of the user's own server starts the kernel (in the notebook's folder, as
        JupyterLab does); ``setup`` (if given) runs there first, then each code cell in turn over
        the kernel's websocket. Returns one :class:`CellResult` per code cell; raises
        :class:`CellError` naming the notebook, the cell number and its source at the first cell
        that raises (cell 0: the setup).
        """
        token = self.user_token(user)
        headers = {"Authorization": f"token {token}"}
        base = self.server_url(user)
        response = self.session.get(f"{base}api/contents/{path}", headers=headers, timeout=30)
        response.raise_for_status()
        cells = [c for c in response.json()["content"]["cells"] if c["cell_type"] == "code"]
        response = self.session.post(f"{base}api/sessions", headers=headers, timeout=60, json={
            "path": path, "name": path.rsplit("/", 1)[-1], "type": "notebook", "kernel": {"name": "python3"}})
        response.raise_for_status()
        session_id, kernel_id = response.json()["id"], response.json()["kernel"]["id"]
        ws_url = f"{base.replace('http', 'ws', 1)}api/kernels/{kernel_id}/channels"
        results: list[CellResult] = []
        try:
            if setup is not None:
                try:
                    _run_in_kernel(ws_url, headers, setup, cell_timeout)
                except (KernelError, TimeoutError) as exc:
                    raise CellError(path, 0, setup, exc) from exc
            for number, cell in enumerate(cells, 1):
                source = "".join(cell["source"])
                outputs: list[str] = []
                stderr: list[str] = []
                t0 = time.monotonic()
                try:
                    stdout = _run_in_kernel(ws_url, headers, source, cell_timeout, outputs=outputs, stderr=stderr)
                except (KernelError, TimeoutError) as exc:
                    raise CellError(path, number, source, exc) from exc
                results.append(CellResult(number, source, stdout, outputs, time.monotonic() - t0, "".join(stderr)))
        finally:
            self.session.delete(f"{base}api/sessions/{session_id}", headers=headers, timeout=30)
        return results


@dataclass
class CellResult:
    """One code cell's run: its number among the code cells, source, stdout, display MIME types, seconds, stderr."""

    number: int
    source: str
    stdout: str
    outputs: list[str]
    seconds: float
    stderr: str = ""


class CellError(AssertionError):
    """A notebook cell failed: names the notebook, the cell and the error."""

    def __init__(self, notebook: str, number: int, source: str, error: Exception) -> None:
        detail = (f"{error.ename}: {error.evalue}\n" + _ANSI.sub("", "\n".join(error.traceback))
                  if isinstance(error, KernelError) else str(error))
        super().__init__(f"{notebook}, code cell {number} failed:\n{source}\n---\n{detail}")
        self.notebook, self.number, self.error = notebook, number, error


def _kernel_message(frame: str | bytes) -> dict:
    """A kernel message from a websocket frame: JSON text, or Jupyter Server's binary frame for a message with
    buffers (a widget's comm data, e.g. a table an Aladin view is sent at once): its JSON part, the buffers left.
    The frame is 4 bytes of the parts' count n, n offsets of 4 bytes each (from the frame's start), then the parts,
    the message's JSON first (``jupyter_server.services.kernels.connection.base.serialize_binary_message``)."""
    if isinstance(frame, str):
        return json.loads(frame)
    parts = int.from_bytes(frame[:4], "big")
    offsets = [int.from_bytes(frame[4 + 4 * i:8 + 4 * i], "big") for i in range(parts)] + [len(frame)]
    return json.loads(frame[offsets[0]:offsets[1]])


def _run_in_kernel(ws_url: str, headers: dict[str, str], code: str, timeout: float,
                   outputs: list[str] | None = None, stderr: list[str] | None = None) -> str:
    conn = websocket.create_connection(ws_url, header=[f"{k}: {v}" for k, v in headers.items()], timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        conn.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        stdout: list[str] = []
        error: KernelError | None = None
        replied = idle = False
        deadline = time.monotonic() + timeout
        while not (replied and idle):
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel did not finish within {timeout:.0f} s; output so far: {''.join(stdout)}")
            msg = _kernel_message(conn.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content.get("name") == "stdout":
                stdout.append(content["text"])
            elif kind == "stream" and content.get("name") == "stderr" and stderr is not None:
                stderr.append(content["text"])
            elif kind in ("display_data", "execute_result") and outputs is not None:
                outputs.extend(content.get("data", {}))
            elif kind == "error":
                error = KernelError(content["ename"], content["evalue"], content.get("traceback", []))
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
        if error is not None:
            raise error
        return "".join(stdout)
    finally:
        conn.close()


def _astrohub(*args: str, timeout: float = START_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """The admin's ``astrohub`` command, in an operator's environment: without the test run's numba cache."""
    return subprocess.run(
        [sys.executable, "-m", "platform_lib", *args], capture_output=True, text=True, timeout=timeout,
        env=platform_environment(),
    )


def _remove_system_users(prefix: str, users: set[str]) -> None:
    for user in users:
        name = f"{prefix}{user}"
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        subprocess.run(["userdel", name], check=False, capture_output=True)
    for account in pwd.getpwall():  # the classes' grading identities and their kernels' (astrohub_hub.accounts)
        if account.pw_name.startswith((f"{prefix}_grade-", f"{prefix}_kernl-")):
            subprocess.run(["userdel", account.pw_name], check=False, capture_output=True)
    for group in grp.getgrall():
        if group.gr_name.startswith(prefix):
            subprocess.run(["groupdel", group.gr_name], check=False, capture_output=True)


def start_platform() -> tuple[RunningPlatform, list[str]]:
    """Start a platform for tests (used by the session fixture and by the benchmarks)."""
    data_dir = Path(tempfile.mkdtemp(prefix="astrohub-it-"))
    data_dir.chmod(0o755)  # when root, system users must traverse it
    tag = uuid.uuid4().hex[:6]
    hub_port, hub_api_port, proxy_api_port, gateway_port, archive_port, classes_port = free_ports(6)
    args = [
        "--data-dir", str(data_dir / "data"),
        "--set", f"hub.port={hub_port}", "--set", f"hub.hub_port={hub_api_port}",
        "--set", f"hub.proxy_api_port={proxy_api_port}", "--set", f"gateway.port={gateway_port}",
        "--set", f"archive.port={archive_port}", "--set", f"classes.port={classes_port}", "--set", f"users.system_user_prefix=\"t{tag[:3]}-\"",
        "--set", 'groups.students={}', "--set", 'groups.instructors={instructors_of=["students"]}',
        "--set", f"hub.start_timeout={START_TIMEOUT / 2}",
        # Servers report busy work every 2 s and warn 5 s before a 12 s cull, after 7 s idle (test_platform_culling.py
        # runs its own culler for its users; the platform's culler keeps its one-hour timeout).
        "--set", 'environment.ASTROHUB_ACTIVITY_INTERVAL="2"', "--set", 'environment.ASTROHUB_CULL_TIMEOUT="12"',
        "--set", 'environment.ASTROHUB_CULL_WARNING="5"',
        # Three workspaces per owner: test_platform_classes.py meets the limit with a fourth (the default is 20).
        "--set", "classes.max_workspaces_per_user=3",
        # A server profile a class can pin (test_platform_classes.py).
        "--set", 'profiles.lab={mem_limit="3G", cpu_limit=1.5, mem_guarantee="1G", environment={LAB_TOOLS="on"}}',
    ]
    isolated = os.geteuid() == 0 and unreachable_by_others(sys.executable) is None
    if not isolated:
        # Not root, or root with a Python that system users cannot run (e.g. pyenv under /root):
        # everything runs as the invoking user, as documented.
        args += ["--set", "users.run_as_system_users=false"]
    # --owner: if this process dies before its teardown (a crash, SIGKILL), the platform stops by itself.
    result = _astrohub("up", "--detach", "--owner", str(os.getpid()), *args)
    if result.returncode != 0:
        if not _KEEP:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise RuntimeError(f"astrohub up failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    config = load_config(overrides=[], environ={}).model_validate_json(
        (data_dir / "data" / "state" / "up-config.json").read_text()
    )
    state = config.data_dir / "state"
    tokens = json.loads((state / "tokens.json").read_text())
    creds = {**json.loads((state / "credentials.json").read_text()),  # the admin's password
             **json.loads((state / "class-code.json").read_text())}  # the class code, kept apart
    platform = RunningPlatform(
        config=config, admin_token=tokens["cli"], admin_user=creds["admin_user"],
        admin_password=creds["admin_password"], user_password=creds["user_password"], tag=tag,
        isolated=isolated,
    )
    return platform, args


def stop_platform(platform: RunningPlatform, args: list[str]) -> None:
    """``astrohub down``, then assert nothing of the platform is left, then clean up users and files."""
    supervisor_pid = json.loads((platform.data_dir / "state" / "status.json").read_text())["pid"]
    try:
        tree = [supervisor_pid] + [p.pid for p in psutil.Process(supervisor_pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    result = _astrohub("down", *args[:2])
    leftovers = [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert not leftovers, f"processes left after astrohub down: {leftovers}"
    finally:
        if os.geteuid() == 0:
            _remove_system_users(platform.config.users.system_user_prefix, platform.users)
        if not _KEEP:
            shutil.rmtree(platform.data_dir.parent, ignore_errors=True)


#: Lines of each service's log a failed test's report carries: the platform's files go when the session
#: ends, so a CI failure is explained by its report or not at all.
LOG_LINES_ON_FAILURE = 30


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used the running platform reports, from the hub's log (the servers' output too)
    and the archive's, the lines that name a user the test made and the last lines."""
    outcome = yield
    report = outcome.get_result()
    platform = getattr(item.config, _CONFIG_ATTR, None)
    if report.when != "call" or not report.failed or platform is None:
        return
    names = [u for u in platform.users if u in report.longreprtext]
    for component in ("hub", "archive"):
        try:
            lines = (platform.data_dir / "state" / "logs" / f"{component}.log").read_text(errors="replace").splitlines()
        except OSError:
            continue
        named = [line for line in lines if any(n in line for n in names)][-LOG_LINES_ON_FAILURE:]
        if named:
            report.sections.append((f"{component} log: lines naming {', '.join(names)}", "\n".join(named)))
        report.sections.append((f"{component} log: the end", "\n".join(lines[-LOG_LINES_ON_FAILURE:])))


@contextlib.contextmanager
def shared_platform(config: pytest.Config) -> Iterator[RunningPlatform]:
    """The session's platform: started by the first tier's fixture that asks, stopped by that fixture."""
    running = getattr(config, _CONFIG_ATTR, None)
    if running is not None:
        yield running
        return
    platform, args = start_platform()
    registry = getattr(config, "workerinput", {}).get(WORKER_REGISTRY)  # an xdist worker: the run's shared names
    platform._names.registry = Path(registry) if registry else None
    setattr(config, _CONFIG_ATTR, platform)
    try:
        yield platform
    finally:
        setattr(config, _CONFIG_ATTR, None)
        stop_platform(platform, args)


@pytest.fixture(scope="session", autouse=True)
def _hats_kernels_from_the_cache():
    """hats' numba functions (``align_trees``, the MOC filter) saved to and loaded from the run's numba cache
    (tests/conftest.py), as the platform's own processes have them (``cache_hats_kernels``): a test that calls
    lsdb or hats directly (``lsdb.from_dataframe`` with a margin) compiled them again first (5 s of CPU)."""
    from platform_lib.catalogs import cache_hats_kernels

    cache_hats_kernels()


@pytest.fixture(scope="session")
def poll():
    """``poll(condition, timeout, what)``: the first truthy ``condition()``, or TimeoutError naming ``what``."""
    return _poll


@pytest.fixture(scope="module")
def collect_dask_clients():
    """A garbage collection when the module's tests are done: the gateway clients' objects are finalized
    there, not inside a later ``ast.parse``. A module of Dask tests asks for it with
    ``pytestmark = pytest.mark.usefixtures("collect_dask_clients")``.

    CPython 3.11 before 3.11.5 (gh-106905) raises ``SystemError: AST constructor recursion depth
    mismatch`` when a garbage collection runs finalizers during ``ast.parse``, as pytest's
    assertion rewriting of a plugin imported at the end of the session does.
    """
    yield
    gc.collect()


@pytest.fixture(scope="session")
def run_in_kernel():
    """``run_in_kernel(ws_url, headers, code, timeout)``: run ``code`` over a kernel's websocket; its stdout."""
    return _run_in_kernel


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest) -> Iterator[RunningPlatform]:
    """The real local platform, running for the whole session (see the module docstring)."""
    with shared_platform(request.config) as running:
        yield running
