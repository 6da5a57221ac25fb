"""Spawner configuration for the local platform: user servers as local processes.

Owns the local spawner (:class:`AstroLocalSpawner`), its settings (:class:`LocalSettings`), the
user server's command (:func:`singleuser_command`) and profile choice. The account rule (which
system user a hub user runs as) is ``accounts.SystemAccounts``; homes, scratch and shared folders
are ``folders`` (the home's links to classes ``_links``); group folder access at spawn is ``groupsync.grant_now``; a class's pinned profile and
exam window are ``pins``; real-time collaboration (off, or on for a sharer who turned it on in a workspace) is
``collaboration``; the TLS keys of a LocalCluster in the user's kernels (servers run as system users) are
``dasktls``. May import JupyterHub (and its tornado), the standard library and those modules; never
``platform_lib``.

When the hub runs as root each hub user ``alice`` gets a dedicated system user ``astro-alice``
(prefix from ``LocalSettings.system_user_prefix``), created with ``useradd`` on first spawn, whose
home is the user's home space expanded from ``storage.home`` (mode 0700, owned by that user), as
The Littlest JupyterHub does; the server then runs as that system user, so homes are isolated by
file permissions. When not root, every server runs as the invoking user (no isolation between hub
users: say so to operators) and only the folders are created.

Start-up latency: the spawner returns from ``start`` only once the server accepts connections
(polling every 50 ms), so the hub's own readiness check, an exponential back-off that can overshoot
by seconds, passes at its first try, and a stop returns once the process has exited (``death_poll_interval``,
every 50 ms too, not that back-off); user servers skip the server extensions nothing uses
(``disabled_server_extensions``: jupyter_lsp, notebook_shim) and the slow import of
``rfc3987_syntax`` (:data:`SKIPPED_SERVER_IMPORTS`, see :func:`singleuser_command`) and JupyterLab's run of
yarn for an npm registry it never uses (:data:`NO_YARN_CONFIG`), and load
``astrohub_server`` (``warm_kernels``), whose warm kernel starts with the server and is ready when
the first notebook asks for one, and which serves the Dask sidebar's routes with dask_labextension
imported on their first request (``lazy_dask_sidebar``).

Grading by hand: the server of a class's instructor (hub group ``<class>-instructors``, :func:`pins.taught_classes`,
the class's folder present in ``classes_root``) loads nbgrader's formgrader on that class's course folder
``<classes_root>/<class>/instructors/nbgrader``, reached through a link in the home, ``~/grading/<class>``
(``grading_folder``; formgrader serves only a course under the server's root), as ``astrohub_server.formgrader``
(nbgrader's formgrader reading configuration only from Jupyter's config folders, never the ``nbgrader_config.py``
another instructor may have put in the shared course folder). The links, one per class taught,
are made by the server's process as the user, before it starts (:func:`link_shared_folders`). One course per server:
the first class by name, or the class named by the spawn option ``grading``. Nobody else's server loads
formgrader (``disabled_server_extensions``), and nobody else's JupyterLab shows nbgrader's instructor tools (its
Nbgrader menu with Formgrader, the Create Assignment panel): their server's environment puts
:data:`LAB_CONFIG_WITHOUT_FORMGRADER` on ``JUPYTER_CONFIG_PATH``, whose ``labconfig/page_config.json`` disables
those Lab plugins (JupyterLab's own page config; :func:`lab_config_path`). nbgrader's assignment list and course
list are off for everyone (their server extensions and the exchange are not used; the classes service fetches
and submits): ``astrohub_server``'s Lab extension disables them. Its Validate (server extension and Lab button)
is a class's students' only (:meth:`AstroLocalSpawner.validates`; :data:`LAB_CONFIG_WITHOUT_VALIDATE` for the
others): it runs her own notebook beside her own server, as her (``astrohub_server.validate``: nbgrader's handlers,
the notebook in a child process, so her server keeps answering meanwhile).

Class folders in Lab: the same process links ``~/classes/<class>`` (``classes_folder``) to the folder of each class
the user teaches or takes (:meth:`AstroLocalSpawner.class_links`), as :func:`link_shared_folders` makes the course links
(the classes service adds the same link, as the user, when they join: ``classes.Teaching.links_folder``):
JupyterLab's file browser shows only the home, and a class's ``materials/`` (and an instructor's ``instructors/``,
where assignments are written) are outside it. Likewise ``~/groups/<group>`` and ``~/workspaces/<name>`` for the
user's group folders and the workspaces they are in (:meth:`AstroLocalSpawner.shared_links`): the roots of the
groups, workspaces and classes are 0711, so no user lists the names of those they are not in.

``configure(c, settings)`` selects this spawner in local mode; nothing here has to be called by hand.
"""

from __future__ import annotations

import asyncio
import html
import importlib.util
import json
import os
import pwd
import shutil
import signal
import sys
import time
from typing import Any, Iterable, Mapping

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from traitlets import Bool, Dict, Float, Integer, List, TraitError, Tuple, Unicode, default, validate
from tornado import web

from astrohub_hub._links import link_shared_folders
from astrohub_hub.accounts import DEFAULT_PREFIX, SystemAccounts, check_prefix, ensure_system_user
from astrohub_hub.dasktls import local_cluster_tls_environment
from astrohub_hub.collaboration import COLLABORATIVE_ENV, collaborative, server_args, state_folder
from astrohub_hub.errors import HubError
from astrohub_hub.folders import GROUP_LINKS, WORKSPACE_LINKS, expand_user_path, home_problem, prepare_user_dirs
from astrohub_hub.pins import (class_pins, group_properties, member_classes, studied_classes,
                               taught_classes)
from astrohub_hub.serverports import SERVER_PORTS, give_back, take_port, taken_by_another

__all__ = [
    "AstroLocalSpawner",
    "LocalSettings",
    "OFFLINE_LAB_ARGS",
    "NO_YARN_CONFIG",
    "SKIPPED_SERVER_IMPORTS",
    "link_shared_folders",
    "singleuser_command",
    "user_path",
    "visible_profiles",
]

#: Modules a user server's process does without. jsonschema imports ``rfc3987_syntax`` (when
#: installed, as jupyter-events' ``jsonschema[format-nongpl]`` makes it) only to check the ``iri``
#: formats, which no Jupyter schema uses, and it compiles ~35 Earley grammars at import: 1 to 5 s of
#: every server start here. Hidden in the server process only (kernels are separate processes).
SKIPPED_SERVER_IMPORTS = ("rfc3987_syntax",)
#: JupyterLab runs ``node yarn.js config --json`` as it is imported (``jupyterlab.labapp``'s ``app_version``, through
#: ``AppOptions.registry``), and again for each ``AppOptions`` it asks the registry of: only to learn the npm
#: registry it would build or install extensions from, which a user server never does (the image's business).
#: Where node is on the PATH (the platform's proxy needs it) that was 0.5 to 1 s of every server start here. The user
#: server's process answers with an empty yarn configuration instead (the registry is then yarn's default).
NO_YARN_CONFIG = [
    "try:",
    "    import jupyterlab.commands",
    "except ImportError:",
    "    pass",
    "else:",
    "    jupyterlab.commands._yarn_config = lambda logger: {'yarn config': {}, 'npm config': {}}",
]
#: JupyterLab reaches for nothing on the internet: no news feed, no update check, and an extension
#: manager that lists what is installed instead of searching PyPI (installs are the image's business).
OFFLINE_LAB_ARGS = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
)


#: A Jupyter config folder whose ``labconfig/page_config.json`` disables nbgrader's instructor-only Lab plugins
#: (``@jupyter/nbgrader:menu``, ``:formgrader``, ``:create-assignment``): on ``JUPYTER_CONFIG_PATH`` of every
#: server that does not load formgrader (:func:`lab_config_path`). The user image disables the same plugins
#: for everyone (images/user/Dockerfile).
LAB_CONFIG_WITHOUT_FORMGRADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_config",
                                             "without_formgrader")


#: A Jupyter config folder whose page config disables (and locks) nbgrader's Validate button
#: (``@jupyter/nbgrader:validate-assignment``): on ``JUPYTER_CONFIG_PATH`` of every server that does not load
#: nbgrader's validate server extension, which only a class's students load (:meth:`AstroLocalSpawner.validates`).
LAB_CONFIG_WITHOUT_VALIDATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyter_config",
                                           "without_validate")


#: A formgrader server's tornado settings: its pages may be framed by pages of the same origin (Lab's Formgrader
#: tab), where JupyterHub's single-user default forbids any framing (``frame-ancestors 'none'``).
FORMGRADER_TORNADO_SETTINGS = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}


def lab_config_path(current: str, formgrader: bool, validate: bool = True) -> str:
    """``JUPYTER_CONFIG_PATH`` for a user server: ``current`` as it is for a server with formgrader and
    validate, else with :data:`LAB_CONFIG_WITHOUT_FORMGRADER` and/or :data:`LAB_CONFIG_WITHOUT_VALIDATE` first
    (a folder already on it is not added twice).

    >>> lab_config_path("", True)
    ''
    >>> lab_config_path("/etc/x", False) == os.pathsep.join([LAB_CONFIG_WITHOUT_FORMGRADER, "/etc/x"])
    True
    >>> lab_config_path("", True, False) == LAB_CONFIG_WITHOUT_VALIDATE
    True
    """
    parts = [part for part in current.split(os.pathsep) if part]
    wanted = [folder for folder, off in ((LAB_CONFIG_WITHOUT_FORMGRADER, not formgrader),
                                         (LAB_CONFIG_WITHOUT_VALIDATE, not validate)) if off and folder not in parts]
    return os.pathsep.join([*wanted, *parts]) if wanted else current


def server_labextensions() -> str | None:
    """The folder of ``astrohub_server``'s prebuilt JupyterLab extension ``astrohub`` (the Help menu, the pre-cull
    warning, the FITS viewer...), or None.

    A wheel install puts it in ``share/jupyter/labextensions`` (data-files), where Lab finds it; an
    editable install (``make install``) does not, so the spawner points ``LabApp.extra_labextensions_path``
    at the package's copy. Found without importing the package.
    """
    try:
        spec = importlib.util.find_spec("astrohub_server")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = os.path.join(location, "labextension")
        if os.path.isdir(folder):
            return folder
    return None


class LocalSettings(BaseModel):
    """Settings of the local spawner.

    ``system_user_prefix``: system users are ``<prefix><hub name>`` (when the hub runs as root).
    ``create_system_users``: create missing system users with ``useradd`` (else they must exist).
    ``shell``: the login shell of created users (what JupyterLab's terminal runs).
    ``warm_kernels``: kernels each user server keeps started (``AstroLocalSpawner.warm_kernels``).
    """

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    system_user_prefix: str = DEFAULT_PREFIX
    create_system_users: bool = True
    shell: str = "/bin/bash"
    warm_kernels: int = Field(1, ge=0, description="Idle kernels each user server keeps started (0: none).")
    run_as_system_users: bool | None = Field(
        None, description="Force (true/false) the per-user system accounts; default: when root."
    )

    @field_validator("system_user_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_prefix(value)

    @property
    def accounts(self) -> SystemAccounts:
        """The account rule these settings declare."""
        return SystemAccounts(self.system_user_prefix, self.run_as_system_users)


def singleuser_command(
    python: str = sys.executable,
    skipped: Iterable[str] = SKIPPED_SERVER_IMPORTS,
    entry: str = "jupyterhub.singleuser:main",
    prelaunch_kernel: bool = False,
    kernel_encryption: str = "disabled",
) -> list[str]:
    """The user server's command: ``jupyterhub-singleuser``'s ``main`` with ``skipped`` modules hidden.

    A hidden module raises ``ImportError`` on import, which jsonschema's optional format checkers
    expect. ``prelaunch_kernel``: first start the server's first warm kernel
    (``astrohub_server.kernels.prelaunch``, skipped if not installed), so it starts while the server does,
    with the server's ``kernel_encryption`` (``KernelManager.transport_encryption``).

    Examples
    --------
    >>> singleuser_command("/venv/bin/python", ["slow_mod"])[:2]
    ['/venv/bin/python', '-c']
    """
    module, _, func = entry.partition(":")
    lines = ["import sys"]
    lines += [f"sys.modules[{name!r}] = None" for name in skipped]
    if prelaunch_kernel:
        lines += [
            "try:",
            "    from astrohub_server.kernels import prelaunch",
            "except ImportError:",
            "    pass",
            "else:",
            f"    prelaunch(transport_encryption={kernel_encryption!r})",
        ]
    lines += NO_YARN_CONFIG
    lines += [
        f"from {module} import {func}",
        "sys.argv[0] = 'jupyterhub-singleuser'",
        f"sys.exit({func}())",
    ]
    return [python, "-c", "\n".join(lines)]


def user_path(path: str, layer: str | None = None, python: str = sys.executable) -> str:
    """``PATH`` for a user server: the user's package layer's ``bin``, then the platform Python's, then ``path``.

    So the kernel, the JupyterLab terminal and ``!`` commands find the same ``python``, ``pip`` and
    ``astrohub`` as the server, whether or not the hub was started from an activated virtualenv. (The server
    itself puts the folder of the terminal's ``pip`` first: ``astrohub_server.pipmagic.use_terminal_pip``.)

    Examples
    --------
    >>> user_path("/usr/bin:/bin", "/h/ann/.astrohub/packages", "/opt/venv/bin/python")
    '/h/ann/.astrohub/packages/bin:/opt/venv/bin:/usr/bin:/bin'
    """
    first = ([f"{layer}/bin"] if layer else []) + [os.path.dirname(python)]
    rest = [entry for entry in path.split(os.pathsep) if entry and entry not in first]
    return os.pathsep.join(first + rest)


def visible_profiles(profiles: Iterable[Mapping[str, Any]], groups: Iterable[str]) -> list[dict[str, Any]]:
    """The profiles a user in ``groups`` may choose: open profiles plus those of their groups.

    Each profile is a mapping with at least ``slug`` and ``groups`` (as ``Profile.model_dump()``).
    """
    mine = set(groups)
    return [dict(p) for p in profiles if not p.get("groups") or mine.intersection(p["groups"])]


class ServerExited(RuntimeError):
    """A user server's process exited while starting (:meth:`AstroLocalSpawner.wait_listening`), with ``status``
    (negative: killed by that signal)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class AstroLocalSpawner(LocalProcessSpawner):
    """A LocalProcessSpawner that runs each hub user as their own system user when root.

    Also prepares home and scratch folders and offers the resource profiles the user's groups
    allow (a profile sets ``mem_limit`` / ``cpu_limit`` and the guarantees, exported to the server as
    ``MEM_LIMIT`` / ``CPU_LIMIT`` / ``MEM_GUARANTEE`` / ``CPU_GUARANTEE``, and its ``environment``; local
    processes are not otherwise confined). A class's pinned profile (:func:`class_pins`) replaces the
    choice; inside the class's exam window the guarantees are raised to the limits.
    """

    system_user_prefix = Unicode(DEFAULT_PREFIX, help="System users are <prefix><hub name>.").tag(config=True)
    create_system_users = Bool(True, help="Create missing system users with useradd.").tag(config=True)
    user_shell = Unicode("/bin/bash", help="Login shell of created system users.").tag(config=True)
    run_as_system_users = Bool(help="Run servers as per-user system users (default: when root).").tag(
        config=True
    )
    home_template = Unicode("", help="The user's home; '{username}' is the hub name.").tag(config=True)
    scratch_template = Unicode("", help="The user's scratch folder; '{username}' is the hub name.").tag(
        config=True
    )
    groups_root = Unicode("", help="The group folders; members get access at spawn (root).").tag(config=True)
    profiles = List(Dict(), help="Profile dicts (Profile.model_dump()); 'groups' restricts one.").tag(
        config=True
    )
    disabled_server_extensions = List(
        Unicode(),
        ["jupyter_lsp", "notebook_shim", "notebook", "nbgrader.server_extensions.formgrader",
         "nbgrader.server_extensions.validate_assignment", "nbgrader.server_extensions.assignment_list",
         "nbgrader.server_extensions.course_list"],
        help="Jupyter server extensions user servers do not load, to start sooner: jupyter_lsp (no "
        "language server is installed), notebook_shim and notebook (the Notebook 7 UI nbgrader brings; JupyterLab is the interface) and nbgrader's "
        "(grading is the classes service's, through nbgrader's command line; its exchange is not used). "
        "formgrader is loaded for a class's instructors all the same, as astrohub_server.formgrader (see grading_course), and for a class's students "
        "Validate, as astrohub_server.validate (nbgrader's handlers, the notebook run off the server's event loop; "
        "see validates).",
    ).tag(config=True)
    classes_root = Unicode(
        "", help="The classes' folders (the classes service's classes_root); empty: no formgrader for anyone."
    ).tag(config=True)
    workspaces_root = Unicode(
        "", help="The shared workspaces' folders; each one the user is in is linked in the home (~/workspaces)."
    ).tag(config=True)
    grading_folder = Unicode(
        "grading", help="Folder of the home holding a link per class taught, to its nbgrader course folder."
    ).tag(config=True)
    classes_folder = Unicode(
        "classes", help="Folder of the home holding a link per class the user teaches or takes, to the class's "
        "folder (materials/, and for its instructors instructors/ and submissions/), so JupyterLab's file browser, "
        "which shows only the home, reaches them; the folders' own permissions still decide what opens. The classes "
        "service makes the same link as someone joins a class (with this setting's default: ASTROHUB_CLASSES_LINKS)."
    ).tag(config=True)
    #: The running server's collaboration state folder (``collaboration.state_folder``), removed by :meth:`stop`;
    #: None when the server is not collaborative. Not configuration: the hub's state keeps it across restarts.
    collaboration_folder = Unicode(None, allow_none=True)
    collaborative_stop_timeout = Float(
        10.0,
        help="Seconds a collaborative server gets to stop after SIGINT (astrohub_server.collaboration makes it "
        "shut its kernels down and close its documents' rooms, at most 3 s of them) before it is killed. "
        "One that had a document open can hang after that (jupyter-collaboration issue 161: the rooms' AnyIO "
        "worker threads outlive the event loop, seen here with a client still connected), and the hub's SIGINT "
        "and SIGTERM timeouts, 30 s each, made its users wait a minute before the kill.",
    ).tag(config=True)
    warm_kernels = Integer(
        1,
        min=0,
        help="Kernels each user server keeps started and idle (the astrohub_server extension), so "
        "a notebook's kernel is ready at once; the first starts with the server. Each costs one "
        "idle Python process (~50 MB resident). 0: no warm kernels, the extension is not loaded.",
    ).tag(config=True)
    lazy_dask_sidebar = Bool(
        True,
        help="Serve the Dask sidebar's routes from the astrohub_server extension, which imports "
        "dask_labextension (and distributed, ~1 s) after the server is up instead of before.",
    ).tag(config=True)
    ready_poll_interval = Float(
        0.05,
        help="Seconds between checks that a starting server accepts connections. start() returns "
        "once it does, so the hub's own readiness check (exponential back-off up to 5 s) passes at "
        "its first try instead of up to seconds late.",
    ).tag(config=True)

    death_poll_interval = Float(
        0.05,
        help="Seconds between checks that a stopping server's process has exited. A stop returns once it has, "
        "instead of after JupyterHub's exponential back-off with random jitter (0.1 s doubling to 5 s between "
        "checks), which kept the hub's stop and the user waiting up to seconds after the process was gone.",
    ).tag(config=True)

    server_ports = Tuple(
        Integer(),
        Integer(),
        default_value=SERVER_PORTS,
        help="The ports user servers listen on, lowest and highest (inclusive): each start takes a free one this hub "
        "gave to no running server (astrohub_hub.serverports says why not JupyterHub's random port). Spawner.port "
        "is not used.",
    ).tag(config=True)
    start_tries = Integer(
        3,
        min=1,
        help="Starts of a server, each on a new port, while it exits as it starts because another program took its "
        "port meanwhile, or is killed by a signal before it listens (a crash of the process the hub forks, before "
        "the server runs: seen with a many-threaded parent); any other exit fails the start at once.",
    ).tag(config=True)

    @validate("server_ports")
    def _check_server_ports(self, proposal):
        low, high = proposal["value"]
        if not 1024 <= low <= high <= 65535:
            raise TraitError(f"AstroLocalSpawner.server_ports {(low, high)!r}: give (lowest, highest) with "
                             "1024 <= lowest <= highest <= 65535")
        return (low, high)

    skipped_server_imports = List(
        Unicode(),
        list(SKIPPED_SERVER_IMPORTS),
        help="Modules hidden from the user server's process (not from kernels) to start sooner; "
        "see SKIPPED_SERVER_IMPORTS. Used by the default cmd.",
    ).tag(config=True)

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        # The same Python as the hub (its venv's jupyterhub-singleuser), minus slow unused imports.
        return singleuser_command(sys.executable, self.skipped_server_imports, prelaunch_kernel=self.warm_kernels > 0,
                                  kernel_encryption=self.kernel_encryption)

    @property
    def kernel_encryption(self) -> str:
        """The kernels' ``KernelManager.transport_encryption``: ``required`` when servers run as system users.

        A kernel's ZeroMQ ports are TCP ports on this machine, and its iopub port is a PUB socket any local
        account can subscribe to: the code and output of every cell, readable (the connection key only signs).
        CurveZMQ, with the keys in the connection file in the user's 0700 home, closes them to everyone else.
        """
        return "required" if self.run_as_system_users else "disabled"

    @default("run_as_system_users")
    def _default_run_as(self) -> bool:
        return SystemAccounts(self.system_user_prefix).enabled

    @property
    def accounts(self) -> SystemAccounts:
        """The account rule this spawner applies."""
        return SystemAccounts(self.system_user_prefix, self.run_as_system_users)

    @default("options_form")
    def _default_options_form(self):
        return _profile_form

    @default("apply_user_options")
    def _default_apply_user_options(self):
        # JupyterHub >= 5.3 calls this before start and answers a ValueError with HTTP 400.
        return _apply_profile

    # -- who and where ------------------------------------------------------------------------

    @property
    def system_user(self) -> str:
        """The system user this server runs as."""
        if self.run_as_system_users:
            return self.accounts.name(self.user.name)
        return pwd.getpwuid(os.getuid()).pw_name

    @property
    def user_home(self) -> str:
        """The user's home space."""
        if self.home_template:
            return expand_user_path(self.home_template, self.user.name)
        return pwd.getpwnam(self.system_user).pw_dir

    @property
    def user_scratch(self) -> str | None:
        """The user's scratch folder, if configured."""
        return expand_user_path(self.scratch_template, self.user.name) if self.scratch_template else None

    def user_groups(self) -> list[str]:
        """The hub groups of this spawner's user, now."""
        return sorted(g.name for g in getattr(self.user, "groups", []))

    def folder_groups(self) -> list[str]:
        """The user's groups that have a group folder (not those marked ``"astrohub-folder": false``)."""
        return sorted(g.name for g in getattr(self.user, "groups", [])
                      if (getattr(g, "properties", None) or {}).get("astrohub-folder") is not False)

    def make_preexec_fn(self, name: str):
        home = self.user_home
        # the course links formgrader serves, made as the user in their home (computed here, not in the child)
        links, classes_root, folder = self.taught_courses(), self.classes_root, os.path.join(home, self.grading_folder)
        member, member_folder = self.class_links(), os.path.join(home, self.classes_folder)
        shared = self.shared_links(home)
        become = set_user_setuid(self.system_user) if self.run_as_system_users else (lambda: os.chdir(home))

        def preexec() -> None:
            become()
            if classes_root:
                link_shared_folders(folder, links, classes_root)
                link_shared_folders(member_folder, member, classes_root)
            for links_folder, (root, candidates) in shared.items():
                # as the user: the workspaces whose folder lets them in (the root lists every one, as root)
                link_shared_folders(links_folder,
                                    {n: t for n, t in candidates.items() if os.access(t, os.R_OK | os.X_OK)},
                                    root, make=True)  # there, empty, for someone in none yet: where they will be

        return preexec

    def shared_links(self, home: str) -> dict[str, tuple[str, dict[str, str]]]:
        """``{links folder: (root, {name: folder})}``: the group folders of the user's groups (``~/groups/<group>``)
        and every workspace (``~/workspaces/<name>``; the server's process keeps those that let the user in),
        linked in the home before the server starts (:func:`link_shared_folders`, which also prunes those left). The
        roots are 0711 (``folders.make_root``): not listable by users, so these links are how they find their
        folders."""
        found: dict[str, tuple[str, dict[str, str]]] = {}
        if self.groups_root:
            found[os.path.join(home, GROUP_LINKS)] = (
                self.groups_root, {g: os.path.join(self.groups_root, g) for g in self.folder_groups()
                                   if os.path.isdir(os.path.join(self.groups_root, g))})
        if self.workspaces_root:
            try:
                names = [n for n in os.listdir(self.workspaces_root) if not n.startswith(".")]
            except OSError:
                names = []
            found[os.path.join(home, WORKSPACE_LINKS)] = (
                self.workspaces_root, {n: os.path.join(self.workspaces_root, n) for n in sorted(names)})
        return found

    # -- grading by hand (formgrader) -------------------------------------------------------------

    #: :meth:`taught_courses` as :meth:`start` read it, while it starts the server (None otherwise).
    _taught: dict[str, str] | None = None

    def taught_courses(self) -> dict[str, str]:
        """``{class: its nbgrader course folder}`` for the classes this user teaches now (their group
        ``<class>-instructors``, the class's folder present). Read once per spawn: while :meth:`start` runs,
        the course links (``make_preexec_fn``), Lab's instructor tools (``user_env``) and formgrader
        (``get_args``) all get the answer it read first, so they agree even if a class changes meanwhile."""
        if self._taught is not None:
            return dict(self._taught)
        if not self.classes_root:
            return {}
        root = self.classes_root
        return {cls: os.path.join(root, cls, "instructors", "nbgrader") for cls in taught_classes(self.user_groups())
                if os.path.isdir(os.path.join(root, cls, "instructors"))}

    def class_links(self) -> dict[str, str]:
        """``{class: its folder}`` for the classes this user teaches or takes now (their group
        ``<class>-instructors`` or ``<class>-students``, the class's folder present): linked in the home as
        ``~/<classes_folder>/<class>`` (``make_preexec_fn``), where Lab's file browser reaches the class's
        materials (and an instructor's ``instructors/`` folder, where assignments are written)."""
        if not self.classes_root:
            return {}
        return {cls: os.path.join(self.classes_root, cls) for cls in member_classes(self.user_groups())
                if os.path.isdir(os.path.join(self.classes_root, cls, "materials"))}

    def grading_course(self) -> str | None:
        """The class whose course this server's formgrader serves: the spawn option ``grading``, else the first
        class taught by name; ``None`` for a user who teaches none. ValueError for a class they do not teach."""
        taught = self.taught_courses()
        wanted = (self.user_options or {}).get("grading") or ""
        if wanted and wanted not in taught:
            raise ValueError(f"grading: {self.user.name!r} does not teach a class {wanted!r}; "
                             f"choose one of {sorted(taught)}")
        return wanted or next(iter(sorted(taught)), None)

    #: :meth:`validates` as :meth:`start` read it, while it starts the server (None otherwise).
    _validating: bool | None = None

    def validates(self) -> bool:
        """Whether this server loads nbgrader's Validate (its server extension and Lab button): a class's students
        only, to check their own notebooks in their own server (it runs them as they would; it reads nothing
        they cannot). Everyone else's server starts without its imports. Read once per spawn, as
        :meth:`taught_courses`: the Lab button (``user_env``) and the server extension (``get_args``) agree."""
        if self._validating is not None:
            return self._validating
        root = self.classes_root
        studied = studied_classes(self.user_groups())
        return bool(root) and any(os.path.isdir(os.path.join(root, cls)) for cls in studied)

    def collaborative(self) -> bool:
        """Whether this server starts with real-time collaboration on (``collaboration.collaborative``)."""
        return collaborative(self.user.name, group_properties(self.user))

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env["USER"] = self.system_user
        env["HOME"] = self.user_home
        env["SHELL"] = self.user_shell
        env["PATH"] = user_path(env.get("PATH", ""), env.get("ASTROHUB_PACKAGE_LAYER"))
        # nbgrader's instructor tools in Lab only where formgrader runs (the same decision as get_args)
        config_path = lab_config_path(env.get("JUPYTER_CONFIG_PATH", ""), self.grading_course() is not None,
                                      self.validates())
        if config_path:
            env["JUPYTER_CONFIG_PATH"] = config_path
        if self.collaborative():
            env[COLLABORATIVE_ENV] = "1"
        if self.run_as_system_users:
            # A LocalCluster in the user's kernel: TLS with a key only the user's processes hold, not a TCP port
            # any local account can connect to and run code through (astrohub_hub.dasktls).
            env.update(local_cluster_tls_environment())
        return env

    # -- profiles -----------------------------------------------------------------------------

    def visible_profiles(self) -> list[dict[str, Any]]:
        """The profiles this user may choose now (only the pinned one for a class's member)."""
        pinned = self.pinned_profile()
        return [pinned] if pinned is not None else visible_profiles(self.profiles, self.user_groups())

    def class_pins(self) -> tuple[str | None, bool]:
        """The pinned profile's slug and whether an exam window is open, from the user's groups now."""
        return class_pins(group_properties(self.user), time.time())

    def pinned_profile(self) -> dict[str, Any] | None:
        """The profile a class pins for this user (an unknown slug is logged and ignored)."""
        slug, _exam = self.class_pins()
        if slug is None:
            return None
        for profile in self.profiles:
            if profile.get("slug") == slug:
                return dict(profile)
        self.log.warning("a class of %s pins profile %r, which is not configured; profiles: %s", self.user.name,
                         slug, [p.get("slug") for p in self.profiles])
        return None

    def options_from_form(self, formdata: Mapping[str, list[str]]) -> dict[str, Any]:
        options = {"profile": (formdata.get("profile") or [""])[0]}
        if (formdata.get("grading") or [""])[0]:
            options["grading"] = formdata["grading"][0]
        return options

    def selected_profile(self) -> dict[str, Any] | None:
        """A class's pinned profile, else the one in ``user_options`` (or the default one), checked against
        the user's groups."""
        pinned = self.pinned_profile()
        if pinned is not None:
            return pinned
        visible = self.visible_profiles()
        if not visible:
            return None
        slug = (self.user_options or {}).get("profile") or ""
        if not slug:
            return next((p for p in visible if p.get("default")), visible[0])
        for profile in visible:
            if profile["slug"] == slug:
                return profile
        raise ValueError(
            f"profile {slug!r} is not available to {self.user.name!r}; choose one of "
            f"{[p['slug'] for p in visible]}"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the system user (when root) and the home and scratch folders."""
        owner = None
        if self.run_as_system_users:
            owner = ensure_system_user(
                self.system_user, self.user_home, shell=self.user_shell, create=self.create_system_users
            )
        prepare_user_dirs(self.user_home, self.user_scratch, owner)
        if owner is not None:
            self.check_home(owner)
        if owner is not None and self.groups_root:
            # imported here: ``python -m astrohub_hub.groupsync`` (the service) imports the package first, and a
            # groupsync already imported by it would run twice (runpy's RuntimeWarning at every platform start)
            from astrohub_hub.groupsync import grant_now

            grant_now(self.groups_root, self.folder_groups(), self.system_user, prefix=self.system_user_prefix)

    def apply_profile(self) -> None:
        """Set limits, guarantees and environment from the selected profile (ValueError if not allowed);
        in a class's exam window, guarantees equal to the limits."""
        profile = self.selected_profile()
        if profile is not None:
            if profile.get("mem_limit"):
                self.mem_limit = profile["mem_limit"]
            if profile.get("cpu_limit"):
                self.cpu_limit = float(profile["cpu_limit"])
            if profile.get("mem_guarantee"):
                self.mem_guarantee = profile["mem_guarantee"]
            if profile.get("cpu_guarantee"):
                self.cpu_guarantee = float(profile["cpu_guarantee"])
            if profile.get("environment"):
                self.environment = {**self.environment, **profile["environment"], "ASTROHUB_PROFILE": profile["slug"]}
            else:
                self.environment = {**self.environment, "ASTROHUB_PROFILE": profile["slug"]}
        if self.class_pins()[1]:  # an exam: what the limits allow is guaranteed
            if self.mem_limit:
                self.mem_guarantee = self.mem_limit
            if self.cpu_limit:
                self.cpu_guarantee = self.cpu_limit
            self.environment = {**self.environment, "ASTROHUB_EXAM": "1"}

    def get_args(self) -> list[str]:
        # A copy: Spawner.get_args returns the ``args`` trait itself, which the appends below would grow at
        # every start of this (long-lived) spawner object.
        args = list(super().get_args())
        if not self.run_as_system_users and os.geteuid() == 0:
            # Everything runs as the invoking user, and that user is root: say so explicitly.
            args.append("--ServerApp.allow_root=True")
        if not self.notebook_dir:
            # The server's files are the user's home, named, not its working folder: when the home cannot
            # be entered, JupyterHub's setuid step falls back to a parent folder (or a temporary one) and
            # the server would show and save there; with the home named it refuses to start instead.
            args.append(f"--ServerApp.root_dir={self.user_home}")
        # An explicit jpserver_extensions entry wins over the enabling files in jupyter_server_config.d.
        extensions = {name: False for name in self.disabled_server_extensions}
        course = self.grading_course()
        if course is not None:  # a class's instructor: formgrader on that class's course, through the link
            # nbgrader's formgrader, reading no configuration from the course folder, which every instructor of the
            # class can write (astrohub_server.formgrader); nbgrader's own entry stays off
            extensions["astrohub_server.formgrader"] = True
            args.append(f"--CourseDirectory.root={os.path.join(self.user_home, self.grading_folder, course)}")
            # the class's other instructors share the course: what its pages' nbgrader steps (autograde, feedback)
            # write is group-writable, which with the class folder's ACLs is writable by each of them (grading.py)
            args.append("--CourseDirectory.groupshared=True")
            # Lab's Formgrader tab is an iframe of this server's /formgrader: JupyterHub's default policy
            # (frame-ancestors 'none') blocks it; allow framing by the same origin on this server only
            args.append(f"--ServerApp.tornado_settings={json.dumps(FORMGRADER_TORNADO_SETTINGS)}")
        if self.validates():  # a class's student: nbgrader's Validate checks her notebook before she submits,
            # its notebook run beside the server, not on its event loop (nbgrader's own extension stays off)
            extensions["astrohub_server.validate"] = True
        if self.warm_kernels or self.lazy_dask_sidebar:
            extensions["astrohub_server"] = True
        if self.lazy_dask_sidebar:
            # astrohub_server serves the sidebar's routes and imports dask_labextension once the server is up
            extensions["dask_labextension"] = False
        args += [f"--ServerApp.jpserver_extensions={name}={on}" for name, on in extensions.items()]
        if extensions.get("astrohub_server"):
            args.append(f"--WarmKernels.count={self.warm_kernels}")
            labextensions = server_labextensions()
            if labextensions:  # the platform's Lab plugins; an editable install skips the data-files
                args.append(f"--LabApp.extra_labextensions_path={labextensions}")
        args.append(f"--KernelManager.transport_encryption={self.kernel_encryption}")  # see kernel_encryption
        # JupyterLab's terminal: an interactive, non-login shell. A login shell (the default when the
        # server has no tty) reads /etc/profile, which resets PATH and loses the platform's Python.
        args.append(f"--ServerApp.terminado_settings=shell_command={self.user_shell}")
        args += OFFLINE_LAB_ARGS
        # jupyter-collaboration is installed everywhere and off unless the owner turned it on for a share
        collaboration = server_args(self.collaborative())
        self.collaboration_folder = state_folder(collaboration)  # removed by stop(), kept in the hub's state
        return args + collaboration

    async def stop(self, now: bool = False) -> None:
        if self.collaboration_folder and not now:
            await self.stop_collaborative()
        await super().stop(now=now)
        self.give_port_back()
        await asyncio.to_thread(self.remove_collaboration_state)

    async def stop_collaborative(self) -> None:
        """SIGINT (a clean stop: see ``collaborative_stop_timeout``), then SIGKILL if it is still running."""
        if await self.poll() is not None:
            return
        await self._signal(signal.SIGINT)
        await self.wait_for_death(self.collaborative_stop_timeout)
        if await self.poll() is None:
            self.log.info("%s's collaborative server stopped its kernels and rooms but not its process "
                          "(jupyter-collaboration issue 161): killing it", self.user.name)
            await self._signal(signal.SIGKILL)
            await self.wait_for_death(self.kill_timeout)

    def remove_collaboration_state(self) -> None:
        """Remove the stopped server's collaboration state folder (``collaboration.state_folder``): the server
        removes it as it exits (``astrohub_server.collaboration``), not when it was killed first. ``rmtree``
        refuses a link put in its place."""
        folder, self.collaboration_folder = self.collaboration_folder, None
        if folder:
            try:
                shutil.rmtree(folder)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.log.warning("could not remove %s's collaboration state %s: %s", self.user.name, folder, exc)

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.collaboration_folder:
            state["collaboration_folder"] = self.collaboration_folder
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.collaboration_folder = state.get("collaboration_folder")

    def check_home(self, owner: pwd.struct_passwd) -> None:
        """The system user must be able to enter and write their home, or their server would serve another
        folder (JupyterHub's setuid step falls back to a parent). Once more after setting owner and mode again
        (what another process creating the same account may have undone); then a :class:`HubError` naming
        the folder and the reason, so the spawn fails saying why."""
        problem = home_problem(self.user_home, owner)
        if problem is None:
            return
        self.log.warning("%s cannot enter or write the home %s (%s): setting its owner and mode again",
                         self.system_user, self.user_home, problem)
        prepare_user_dirs(self.user_home, None, owner)
        problem = home_problem(self.user_home, owner)
        if problem is not None:
            raise HubError(f"the server of {self.user.name!r} cannot start: its system user {owner.pw_name} "
                           f"cannot enter or write its home {self.user_home} ({problem}); check the owner and "
                           "mode of that folder and of every folder above it", code="home-unusable",
                           value=self.user_home)

    async def start(self):
        self.apply_profile()
        self._taught = self._validating = None
        self._taught, self._validating = self.taught_courses(), self.validates()
        try:
            await asyncio.to_thread(self.prepare)
            for attempt in range(1, self.start_tries + 1):
                self.take_port()
                try:
                    ip, port = await super().start()
                    await self.wait_listening(ip, port)
                    return ip, port
                except ServerExited as exc:
                    if exc.status < 0:
                        why = f"was killed by signal {-exc.status} before it listened"
                    elif taken_by_another(self.ip, self.port):
                        why = f"could not listen on port {self.port}, which another program took meanwhile"
                    else:
                        raise
                    if attempt == self.start_tries:
                        raise
                    self.log.warning("the server of %s %s: starting it again (try %d of %d)", self.user.name, why,
                                     attempt + 1, self.start_tries)
        except BaseException:
            self.give_port_back()
            raise
        finally:
            self._taught = self._validating = None

    def take_port(self) -> None:
        """Set :attr:`port` to a free port of :attr:`server_ports` (giving back the one it had); a
        :class:`HubError` when there is none."""
        self.give_port_back()
        port = take_port(self.ip, self.server_ports)
        if port is None:
            low, high = self.server_ports
            raise HubError(f"the server of {self.user.name!r} cannot start: every port from {low} to {high} "
                           "(AstroLocalSpawner.server_ports) is in use; stop some servers or widen the range",
                           code="no-free-port", value=f"{low}-{high}")
        self.port = port

    def give_port_back(self) -> None:
        """Let the hub give this server's port to another one (it stopped, or did not start)."""
        if self.port:
            give_back(self.port)
            self.port = 0

    async def wait_for_death(self, timeout: float = 10) -> bool:
        """Poll every ``death_poll_interval`` until the server's process has exited (True); False after ``timeout``.

        What each of the hub's stop steps (SIGINT, SIGTERM, SIGKILL) waits on."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.poll() is None:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(self.death_poll_interval)
        return True

    async def wait_listening(self, ip: str, port: int) -> bool:
        """Poll every ``ready_poll_interval`` until the server accepts connections on ``ip:port``.

        The Jupyter server binds its port once its event loop runs, after every extension has
        loaded, so a connection means it answers. Returns ``False`` after ``http_timeout`` (the
        hub's own check then decides), and raises when the process exits first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(self.http_timeout, self.start_timeout)
        while loop.time() < deadline:
            status = self.proc.poll() if self.proc is not None else None
            if status is not None:
                raise ServerExited(
                    f"the server of {self.user.name!r} exited with status {status} while starting; "
                    "see the hub's log for its output", status
                )
            try:
                _reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout=1.0)
            except (OSError, asyncio.TimeoutError):
                await asyncio.sleep(self.ready_poll_interval)
                continue
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
            return True
        return False


def _apply_profile(spawner: AstroLocalSpawner, user_options: Mapping[str, Any]) -> None:
    """``apply_user_options`` hook: only the ``profile`` key, checked against the user's groups (a class's
    pinned profile wins).

    A refusal is an HTTP 400 carrying the reason: JupyterHub answers any other exception from this hook
    with a bare "Invalid user options", which names neither the option nor the choices.
    """
    try:
        unknown = set(user_options or {}) - {"profile", "grading"}
        if unknown:
            raise ValueError(f"unknown server options {sorted(unknown)}; only 'profile' and 'grading' are accepted")
        spawner.apply_profile()
        spawner.grading_course()
    except ValueError as exc:
        raise web.HTTPError(400, str(exc).replace("%", "%%")) from exc


def _profile_form(spawner: AstroLocalSpawner) -> str:
    """The spawn form: one radio button per visible profile, and for an instructor of several classes the class
    whose course formgrader serves (option ``grading``); no form when there is no choice."""
    visible = spawner.visible_profiles()
    rows = []
    default_slug = next((p["slug"] for p in visible if p.get("default")), visible[0]["slug"]) if visible else ""
    for p in visible if len(visible) > 1 else ():
        checked = " checked" if p["slug"] == default_slug else ""
        slug = html.escape(p["slug"], quote=True)
        rows.append(
            f'<label><input type="radio" name="profile" value="{slug}"{checked}> '
            f"<strong>{html.escape(p['display_name'])}</strong> {html.escape(p.get('description', ''))}</label><br>"
        )
    taught = sorted(spawner.taught_courses())
    if len(taught) > 1:
        choices = "".join(f'<option value="{html.escape(c, quote=True)}">{html.escape(c)}</option>' for c in taught)
        rows.append(f'<label>Grade in formgrader: <select name="grading">{choices}</select></label><br>')
    return "\n".join(rows)
