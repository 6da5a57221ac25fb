"""Spawner configuration for Kubernetes: pure builders of KubeSpawner settings (profiles, volumes).

Owns :class:`KubernetesSettings` (the ``kubernetes:`` block of ``custom.astrohub`` in the Helm
values) and :func:`configure_kubernetes`, which ``configure`` calls when ``mode == "kubernetes"``.
No cluster is contacted here: every builder returns plain JSON-able data (Kubernetes API field
names), so the same data is testable offline, rendered by the chart for the Dask worker pods and
the archive service, and handed to KubeSpawner. May import pydantic, this package's ``errors``,
``pins``, ``collaboration`` and ``workspaces`` (its notices' folder name), and (type-only) ``settings``;
KubeSpawner itself is never imported.

Volumes that every user pod gets:

- one read-only volume per archive dataset, mounted at ``<storage.datasets>/<name>``;
- with ``home`` set, the shared NFS home claim mounted at ``storage.home`` with ``subPath:
  {username}`` (otherwise Zero to JupyterHub's per-user claim, ``singleuser.storage``, is used);
- with ``groupStorage`` set, one ``subPath`` of the shared group claim per hub group the user
  belongs to, mounted read-write at ``<storage.groupsRoot>/<group>`` (added at spawn time by
  :func:`group_mounts_hook`, since membership changes while the hub runs), except the groups marked
  ``"astrohub-folder": false`` (a class's and a workspace's groups), which get instead
  (:func:`class_volumes`, on the same claim under ``.classes/`` and ``.workspaces/``, names no group
  folder can take): a class's students its ``materials`` read-only and their own
  ``submissions/<user>`` folder, its instructors the whole class folder, a workspace's members its folder;
  every user the workspaces' deletion notices, read-only. A class's folders are mounted a second time under the home,
  at ``~/classes/<class>`` (:data:`HOME_CLASSES`, as the local spawner links them), when the classes root is not
  that folder already: JupyterLab's file browser shows only the home;
- beside the group and workspace folders, their quotas (``.astrohub-quotas``, the operator's), read-only.

A class's pinned profile and exam window (hub group properties, :mod:`astrohub_hub.pins`) shape
``profile_list``: only the pinned profile is offered, and inside the window requests equal limits.
Real-time collaboration (:mod:`astrohub_hub.collaboration`) is off in every user pod, and on for a
sharer who turned it on in a workspace (:func:`collaboration_hook`, the same arguments as locally).
nbgrader's Validate (its server extension and Lab button), which the user image turns off for everyone, is on
in a class's students' pods (:func:`validate_hook`), as the local spawner does.

The claims of the NFS home and group storage are created by the chart (``templates/storage.yaml``)
under the fixed names :data:`HOME_CLAIM` and :data:`GROUPS_CLAIM`.
"""

from __future__ import annotations

import posixpath
import re
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from astrohub_hub.collaboration import COLLABORATIVE_ENV, collaborative, server_args
from astrohub_hub.errors import HubConfigError
from astrohub_hub.pins import class_pins, group_properties
from astrohub_hub.workspaces import DELETED_NOTICES

if TYPE_CHECKING:  # pragma: no cover - typing only (settings imports this module)
    from astrohub_hub.settings import HubSettings

__all__ = [
    "GROUPS_CLAIM",
    "HOME_CLASSES",
    "HOME_CLAIM",
    "Dataset",
    "GroupStorage",
    "HomeStorage",
    "KubernetesSettings",
    "NfsSource",
    "class_volumes",
    "configure_kubernetes",
    "cull_environment",
    "dataset_volumes",
    "collaboration_hook",
    "validate_hook",
    "group_mounts_hook",
    "group_volumes",
    "home_volumes",
    "profile_list",
    "storage_setup_container",
]

#: Name of the PersistentVolumeClaim (ReadWriteMany, NFS) holding every user's home (one subPath each).
HOME_CLAIM = "astrohub-home"
#: Name of the PersistentVolumeClaim (ReadWriteMany, NFS) holding every group's folder (one subPath each).
GROUPS_CLAIM = "astrohub-groups"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$")
_GROUP_SUBPATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class NfsSource(_Strict):
    """An NFS export: ``server`` (host name or IP) and the exported ``path``."""

    server: str = Field(min_length=1)
    path: str = Field(pattern=r"^/")


class PvcSource(_Strict):
    """An existing PersistentVolumeClaim in the release namespace."""

    claim_name: str = Field(min_length=1)


class Dataset(_Strict):
    """One read-only archive dataset: a name (DNS label) and exactly one volume source."""

    name: str
    description: str = ""
    nfs: NfsSource | None = None
    persistent_volume_claim: PvcSource | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError(f"dataset name {value!r} must be a DNS label of at most 50 characters ([a-z0-9-])")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> "Dataset":
        sources = [s for s in (self.nfs, self.persistent_volume_claim) if s is not None]
        if len(sources) != 1:
            raise ValueError(
                f"dataset {self.name!r} needs exactly one volume source: 'nfs' or 'persistentVolumeClaim'"
            )
        return self

    def volume_source(self) -> dict[str, Any]:
        """The Kubernetes volume source of this dataset, always read-only."""
        if self.nfs is not None:
            return {"nfs": {"server": self.nfs.server, "path": self.nfs.path, "readOnly": True}}
        assert self.persistent_volume_claim is not None
        return {"persistentVolumeClaim": {"claimName": self.persistent_volume_claim.claim_name, "readOnly": True}}


class HomeStorage(_Strict):
    """Homes on one NFS export; the chart creates the claim :data:`HOME_CLAIM` bound to it."""

    nfs: NfsSource


class GroupStorage(_Strict):
    """Group folders on one NFS export; the chart creates the claim :data:`GROUPS_CLAIM` bound to it."""

    nfs: NfsSource


class KubernetesSettings(_Strict):
    """Settings of the Kubernetes mode: archive datasets, NFS home and group storage.

    This is the single source of the dataset list: the chart renders the same list into the Dask
    worker pods and the archive service (see ``helm/astrohub/values.yaml``).
    """

    datasets: list[Dataset] = Field(default_factory=list)
    home: HomeStorage | None = None
    group_storage: GroupStorage | None = None

    @field_validator("datasets")
    @classmethod
    def _unique(cls, value: list[Dataset]) -> list[Dataset]:
        seen: set[str] = set()
        for dataset in value:
            if dataset.name in seen:
                raise ValueError(f"dataset name {dataset.name!r} appears twice")
            seen.add(dataset.name)
        return value


def _volume_name(prefix: str, name: str) -> str:
    return f"{prefix}-{name}"[:63].rstrip("-")


def dataset_volumes(kube: KubernetesSettings, datasets_root: str) -> tuple[list[dict], list[dict]]:
    """Volumes and read-only mounts of the archive datasets.

    Parameters
    ----------
    kube
        The Kubernetes settings holding the dataset list.
    datasets_root
        Where datasets appear in every pod (``storage.datasets``); dataset ``x`` is mounted at
        ``<datasets_root>/x``.

    Returns
    -------
    (volumes, volume_mounts)
        Kubernetes ``Volume`` and ``VolumeMount`` objects as dicts.

    Examples
    --------
    >>> kube = KubernetesSettings(datasets=[{"name": "gaia", "nfs": {"server": "nfs", "path": "/gaia"}}])
    >>> dataset_volumes(kube, "/datasets")[1]
    [{'name': 'dataset-gaia', 'mountPath': '/datasets/gaia', 'readOnly': True}]
    """
    root = datasets_root.rstrip("/")
    volumes, mounts = [], []
    for dataset in kube.datasets:
        name = _volume_name("dataset", dataset.name)
        volumes.append({"name": name, **dataset.volume_source()})
        mounts.append({"name": name, "mountPath": f"{root}/{dataset.name}", "readOnly": True})
    return volumes, mounts


def home_volumes(kube: KubernetesSettings, home_path: str) -> tuple[list[dict], list[dict]]:
    """The shared NFS home claim, mounted at ``home_path`` with ``subPath: {username}``.

    Empty when ``kube.home`` is unset (Zero to JupyterHub's per-user claims are used instead).
    ``{username}`` is expanded by KubeSpawner at spawn time.
    """
    if kube.home is None:
        return [], []
    volume = {"name": "home", "persistentVolumeClaim": {"claimName": HOME_CLAIM}}
    mount = {"name": "home", "mountPath": home_path, "subPath": "{username}"}
    return [volume], [mount]


def group_volumes(kube: KubernetesSettings, groups_root: str, groups: Iterable[str]) -> tuple[list[dict], list[dict]]:
    """The group claim and one read-write ``subPath`` mount per group in ``groups``.

    Names that are not safe folder names are skipped (the hub settings already forbid them for
    configured groups; groups created later through the API are checked here).
    """
    if kube.group_storage is None:
        return [], []
    names = sorted({g for g in groups if _GROUP_SUBPATH.match(g)})
    if not names:
        return [], []
    root = groups_root.rstrip("/")
    volume = {"name": "groups", "persistentVolumeClaim": {"claimName": GROUPS_CLAIM}}
    mounts = [{"name": "groups", "mountPath": f"{root}/{g}", "subPath": g} for g in names]
    # the groups' quotas, the operator's: beside the folders, read-only (in the group folder a member could change it)
    mounts.append({"name": "groups", "mountPath": f"{root}/{QUOTAS}", "subPath": QUOTAS, "readOnly": True})
    return [volume], mounts


def _user_groups(spawner: Any) -> list[str]:
    return [group.name for group in getattr(spawner.user, "groups", [])]


def _folder_groups(spawner: Any) -> list[str]:
    """The user's groups that have a group folder (not a class's or a workspace's: ``astrohub-folder: false``)."""
    return [name for name, props in group_properties(spawner.user) if props.get("astrohub-folder") is not False]


def class_volumes(kube: KubernetesSettings, classes_root: str, workspaces_root: str, user: str,
                  groups: Iterable[tuple[str, Any]], home: str = "") -> tuple[list[dict], list[dict]]:
    """The class and workspace folders of a user in ``groups`` (``(name, properties)`` pairs), on the group claim.

    ``<class>-students`` (property ``class``): ``materials`` read-only and ``submissions/<user>`` read-write;
    ``<class>-instructors``: the whole class folder; ``ws-<name>`` (property ``workspace``): the workspace
    folder; and for every user (with ``workspaces_root``) the workspaces' deletion notices read-only
    (:data:`NOTICES_SUBPATH` at ``<workspaces_root>/.astrohub-deleted``, where ``platform_lib.storage`` looks:
    a pod mounts a workspace by ``subPath``, so without it a former member was told only "no such space").
    With ``home`` (the pod's home, expanded), each class mount again under ``<home>/classes`` (:data:`HOME_CLASSES`)
    unless that is ``classes_root`` itself: Lab's file browser reaches only the home.
    Empty without ``groupStorage``.

    Examples
    --------
    >>> kube = KubernetesSettings.model_validate({"groupStorage": {"nfs": {"server": "n", "path": "/g"}}})
    >>> [(m["mountPath"], m["subPath"], m["readOnly"]) for m in class_volumes(kube, "/classes", "/ws", "sam",
    ...     [("astro-students", {"class": "astro"})], home="/home/jovyan")[1]]  # doctest: +NORMALIZE_WHITESPACE
    [('/classes/astro/materials', '.classes/astro/materials', True),
     ('/classes/astro/submissions/sam', '.classes/astro/submissions/sam', False),
     ('/home/jovyan/classes/astro/materials', '.classes/astro/materials', True),
     ('/home/jovyan/classes/astro/submissions/sam', '.classes/astro/submissions/sam', False),
     ('/ws/.astrohub-deleted', '.workspaces/.astrohub-deleted', True)]
    """
    if kube.group_storage is None:
        return [], []
    mounts: list[dict] = []
    croot, wroot = classes_root.rstrip("/"), workspaces_root.rstrip("/")
    in_home = f"{home.rstrip('/')}/{HOME_CLASSES}" if home else ""
    roots = [croot] + ([in_home] if in_home and in_home != croot else [])
    for name, props in sorted(groups, key=lambda item: item[0]):
        cls, space = props.get("class"), props.get("workspace")
        if isinstance(cls, str) and _GROUP_SUBPATH.match(cls):
            if name == f"{cls}-students" and _GROUP_SUBPATH.match(user):
                folders = [("materials", True), (f"submissions/{user}", False)]
            elif name == f"{cls}-instructors":
                folders = [("", False)]
            else:
                folders = []
            mounts.extend({"name": "groups", "mountPath": posixpath.join(root, cls, folder).rstrip("/"),
                           "subPath": posixpath.join(".classes", cls, folder).rstrip("/"), "readOnly": read_only}
                          for root in roots for folder, read_only in folders)
        elif isinstance(space, str) and _GROUP_SUBPATH.match(space) and name == f"ws-{space}":
            mounts.append({"name": "groups", "mountPath": f"{wroot}/{space}", "subPath": f".workspaces/{space}",
                           "readOnly": False})
    if any(m["subPath"].startswith(".workspaces/") for m in mounts):  # a workspace's quota, the operator's
        mounts.append({"name": "groups", "mountPath": f"{wroot}/{QUOTAS}", "subPath": WORKSPACE_QUOTAS_SUBPATH,
                       "readOnly": True})
    if wroot:  # every user: a former member's kernel reads there who deleted her workspace, and when
        mounts.append({"name": "groups", "mountPath": f"{wroot}/{DELETED_NOTICES}", "subPath": NOTICES_SUBPATH,
                       "readOnly": True})
    if not mounts:
        return [], []
    return [{"name": "groups", "persistentVolumeClaim": {"claimName": GROUPS_CLAIM}}], mounts


#: The folder of the home where a pod mounts each class again, ``~/classes/<class>`` (the local spawner's
#: ``AstroLocalSpawner.classes_folder``, which links them there), when the classes root is elsewhere.
HOME_CLASSES = "classes"
#: Where the storage set-up init container sees the roots of the home and group claims.
SETUP_ROOT = "/mnt/astrohub"
#: The workspaces' deletion notices on the group claim (``astrohub_hub.workspaces``): written by the classes
#: service, read-only in every user pod, created by the set-up container with mode 0755 (not 2770).
NOTICES_SUBPATH = f".workspaces/{DELETED_NOTICES}"
#: The operator's quotas of the group folders and of the workspaces, beside them on the group claim
#: (``platform_lib.storage.quota_path``): read-only in every user pod that mounts such a folder, made 0755.
QUOTAS = ".astrohub-quotas"
WORKSPACE_QUOTAS_SUBPATH = f".workspaces/{QUOTAS}"
_READ_ONLY_SUBPATHS = (NOTICES_SUBPATH, QUOTAS, WORKSPACE_QUOTAS_SUBPATH)


def storage_setup_container(
    kube: KubernetesSettings, *, image: str, home_subpath: str | None, groups: Iterable[str], uid: int, gid: int,
    more_subpaths: Iterable[str] = (),
) -> dict[str, Any] | None:
    """An init container creating the user's NFS home and group folders on first use.

    Kubernetes creates a missing ``subPath`` as ``root`` (mode 0755), which the notebook user could
    not write to; this container (root, only the CHOWN/DAC_OVERRIDE/FOWNER capabilities) creates
    each folder that does not exist yet, owned by ``uid:gid``: the home with mode 0700, group folders
    (and ``more_subpaths`` of the group claim: class and workspace folders) with mode 2770, the workspaces'
    deletion notices (:data:`NOTICES_SUBPATH`, which only the classes service writes) and the quotas
    (:data:`QUOTAS`, :data:`WORKSPACE_QUOTAS_SUBPATH`, which only the operator writes) 0755, mounted read-only. Existing folders are
    left untouched. ``None`` when there is nothing to set up.
    The NFS exports must allow root to chown (``no_root_squash``), or pre-create the folders.
    """
    import shlex

    steps, mounts = [], []
    if kube.home is not None and home_subpath:
        mounts.append({"name": "home", "mountPath": f"{SETUP_ROOT}/home"})
        steps.append((f"{SETUP_ROOT}/home/{home_subpath}", "0700"))
    names = [m["subPath"] for m in group_volumes(kube, "/", groups)[1]]
    names += [p for p in more_subpaths if p not in names] if kube.group_storage is not None else []
    if names:
        mounts.append({"name": "groups", "mountPath": f"{SETUP_ROOT}/groups"})
        steps.extend((f"{SETUP_ROOT}/groups/{name}", "0755" if name in _READ_ONLY_SUBPATHS else "2770")
                     for name in names)
    if not steps:
        return None
    script = " && ".join(
        f"{{ [ -d {shlex.quote(path)} ] || {{ mkdir -p {shlex.quote(path)} && chown {uid}:{gid} {shlex.quote(path)}"
        f" && chmod {mode} {shlex.quote(path)}; }}; }}"
        for path, mode in steps
    )
    return {
        "name": "astrohub-storage-setup",
        "image": image,
        "command": ["sh", "-c", script],
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]},
        },
        "volumeMounts": mounts,
    }


def group_mounts_hook(kube: KubernetesSettings, groups_root: str, classes_root: str = "",
                      workspaces_root: str = "", home: str = "") -> Callable[[Any, Any], Any]:
    """A ``KubeSpawner.modify_pod_hook``: the spawning user's group folders and the storage set-up.

    Appends the group claim and one mount per group of ``spawner.user.groups`` to the pod KubeSpawner
    built (the class folders also under ``<home>/classes``: :func:`class_volumes`; ``{username}`` in ``home``
    expanded as KubeSpawner expands its own mounts), and the :func:`storage_setup_container` init container when
    NFS home or group storage is configured. Pure apart from reading the spawner's user, image, uid and fs_gid.
    """

    def add_group_mounts(spawner: Any, pod: Any) -> Any:
        from kubernetes_asyncio.client.models import V1Container, V1Volume, V1VolumeMount
        from kubespawner.utils import get_k8s_model  # KubeSpawner's own dict -> model conversion

        groups = _folder_groups(spawner)
        volumes, mounts = group_volumes(kube, groups_root, groups)
        more_mounts: list[dict] = []
        if classes_root or workspaces_root:
            expand = getattr(spawner, "_expand_user_properties", None)  # KubeSpawner's, for its volume_mounts
            pod_home = expand(home) if expand is not None and "{" in home else home
            more_volumes, more_mounts = class_volumes(kube, classes_root, workspaces_root, spawner.user.name,
                                                      group_properties(spawner.user), home=pod_home)
            volumes = volumes or more_volumes
            mounts = mounts + more_mounts
        container = pod.spec.containers[0]
        pod.spec.volumes = list(pod.spec.volumes or []) + [get_k8s_model(V1Volume, v) for v in volumes]
        container.volume_mounts = list(container.volume_mounts or []) + [
            get_k8s_model(V1VolumeMount, m) for m in mounts
        ]
        home_subpath = next((m.sub_path for m in container.volume_mounts if m.name == "home"), None)
        setup = storage_setup_container(
            kube,
            image=container.image,
            home_subpath=home_subpath,
            groups=groups,
            uid=spawner.uid if spawner.uid is not None else 1000,
            gid=spawner.fs_gid if spawner.fs_gid is not None else 100,
            more_subpaths=list(dict.fromkeys(m["subPath"] for m in more_mounts)),
        )
        if setup is not None:
            pod.spec.init_containers = list(pod.spec.init_containers or []) + [get_k8s_model(V1Container, setup)]
        return pod

    return add_group_mounts


def collaboration_hook(spawner: Any, pod: Any) -> Any:
    """A ``KubeSpawner.modify_pod_hook`` step: jupyter-collaboration off, or on for a collaborating sharer.

    The user image has jupyter-collaboration, off by its own configuration
    (``jupyter_server_config.d/astrohub-collaboration.json``: ``disable_rtc``), for KubeSpawner without ``cmd``,
    which passes no arguments (the image's command runs); Zero to JupyterHub 4.4.0 sets
    ``singleuser.cmd: jupyterhub-singleuser``, to which the argument that keeps it off is added. For a sharer
    who turned collaboration on, the notebook container runs ``jupyterhub-singleuser`` (the image's command,
    or the configured one) with :func:`astrohub_hub.collaboration.server_args` and gets
    ``ASTROHUB_COLLABORATIVE=1``; with a configured command, the arguments that keep it off are added too.
    Pure apart from reading the spawner's user.
    """
    from kubernetes_asyncio.client.models import V1EnvVar

    on = collaborative(spawner.user.name, group_properties(spawner.user))
    container = pod.spec.containers[0]
    if on:
        container.args = list(container.args or ["jupyterhub-singleuser"]) + server_args(True)
        container.env = list(container.env or []) + [V1EnvVar(name=COLLABORATIVE_ENV, value="1")]
    elif container.args:
        container.args = list(container.args) + server_args(False)
    return pod


#: The server extension serving nbgrader's Validate for a class's students, as the local spawner loads it:
#: nbgrader's handlers with the notebook run in a child process, off the server's event loop (nbgrader's own
#: ``validate_assignment`` runs it on the loop, and the user image turns that off for everyone).
VALIDATE_EXTENSION = "astrohub_server.validate"

#: A Jupyter config folder of the user image whose page config turns nbgrader's Validate button
#: (``@jupyter/nbgrader:validate-assignment``) back on: images/user/Dockerfile copies
#: ``images/user/jupyter_config/with_validate`` there; first on a student's ``JUPYTER_CONFIG_PATH``, it wins
#: over the image's own page config, which turns the button off.
LAB_CONFIG_WITH_VALIDATE = "/opt/astrohub/jupyter_config/with_validate"


def studied_classes(groups: Iterable[tuple[str, Any]]) -> list[str]:
    """The classes whose students' hub group, ``<class>-students`` with the property ``class`` (recorded by the
    classes service), is among ``groups`` (``(name, properties)`` pairs), by name.

    >>> studied_classes([("stars-students", {"class": "stars"}), ("moon-instructors", {"class": "moon"}),
    ...                  ("old-students", {})])
    ['stars']
    """
    return sorted(cls for name, props in groups
                  if isinstance(cls := props.get("class"), str) and _GROUP_SUBPATH.match(cls)
                  and name == f"{cls}-students")


def validate_hook(spawner: Any, pod: Any) -> Any:
    """A ``KubeSpawner.modify_pod_hook`` step: nbgrader's Validate in a class's student's pod.

    The notebook container runs ``jupyterhub-singleuser`` (the image's command, or the configured one) with
    :data:`VALIDATE_EXTENSION` on (an explicit ``jpserver_extensions`` entry wins over the image's
    configuration) and :data:`LAB_CONFIG_WITH_VALIDATE` first on ``JUPYTER_CONFIG_PATH`` (the Lab button). It
    checks her own notebook in her own server, as her. Everyone else's pod is left as the image has it (off).
    Pure apart from reading the spawner's user.
    """
    from kubernetes_asyncio.client.models import V1EnvVar

    if not studied_classes(group_properties(spawner.user)):
        return pod
    container = pod.spec.containers[0]
    container.args = list(container.args or ["jupyterhub-singleuser"]) + [
        f"--ServerApp.jpserver_extensions={VALIDATE_EXTENSION}=True"]
    env = list(container.env or [])
    current = next((e for e in env if e.name == "JUPYTER_CONFIG_PATH"), None)
    if current is None:
        env.append(V1EnvVar(name="JUPYTER_CONFIG_PATH", value=LAB_CONFIG_WITH_VALIDATE))
    elif LAB_CONFIG_WITH_VALIDATE not in (current.value or "").split(":"):
        current.value = ":".join(part for part in (LAB_CONFIG_WITH_VALIDATE, current.value) if part)
    container.env = env
    return pod


def _override(profile: Any) -> dict[str, Any]:
    keys = ("cpu_limit", "cpu_guarantee", "mem_limit", "mem_guarantee", "image")
    override = {key: getattr(profile, key) for key in keys if getattr(profile, key) is not None}
    if profile.environment:
        override["environment"] = {**profile.environment, "ASTROHUB_PROFILE": profile.slug}
    return override


def profile_list(settings: "HubSettings", groups: Iterable[str],
                 pins: tuple[str | None, bool] = (None, False)) -> list[dict[str, Any]]:
    """KubeSpawner ``profile_list`` entries offered to a member of ``groups``.

    A profile with ``groups`` is offered only to members of one of them (a class profile); the
    others are offered to everyone. Each profile's resources and environment become its
    ``kubespawner_override``. ``pins`` (:func:`astrohub_hub.pins.class_pins`): a class's pinned profile is the
    only one offered; in its exam window the guarantees (requests) equal the limits.
    """
    member_of = set(groups)
    pinned, exam = pins
    entries = []
    for profile in settings.profiles:
        if pinned is not None and any(p.slug == pinned for p in settings.profiles):
            if profile.slug != pinned:
                continue
        elif profile.groups and not member_of.intersection(profile.groups):
            continue
        entry: dict[str, Any] = {
            "display_name": profile.display_name,
            "slug": profile.slug,
            "description": profile.description,
            "kubespawner_override": _override(profile),
        }
        if exam:
            override = entry["kubespawner_override"]
            for limit, guarantee in (("cpu_limit", "cpu_guarantee"), ("mem_limit", "mem_guarantee")):
                if override.get(limit) is not None:
                    override[guarantee] = override[limit]
        if profile.default or pinned == profile.slug:
            entry["default"] = True
        entries.append(entry)
    return entries


def _check(settings: "HubSettings") -> KubernetesSettings:
    if settings.kubernetes is None:
        raise HubConfigError(
            "mode is 'kubernetes' but the 'kubernetes' block is missing (add at least 'kubernetes: {}')",
            key="kubernetes",
            code="missing-kubernetes",
        )
    known = set(settings.groups)
    for index, profile in enumerate(settings.profiles):
        for group in profile.groups:
            if group not in known:
                raise HubConfigError(
                    f"group {group!r} of profile {profile.slug!r} is not defined in 'groups'",
                    key=f"profiles[{index}].groups",
                    value=group,
                )
    return settings.kubernetes


def cull_environment(c: Any, settings: "HubSettings") -> dict[str, str]:
    """What user pods need for activity-aware culling, from Zero to JupyterHub's culler (``jupyterhub.cull``).

    The chart's ``cull`` values own the timeout: it is read back from the ``jupyterhub-idle-culler``
    service's ``--timeout=`` that Zero to JupyterHub registered; the server extension then reports busy work
    every ``min(cull.activityIntervalSeconds, timeout / 4)`` seconds and warns ``min(cull.warningSeconds,
    timeout / 2)`` seconds before. ``{}`` without that culler.

    Examples
    --------
    >>> from traitlets.config import Config
    >>> from astrohub_hub.settings import HubSettings
    >>> c = Config(); c.JupyterHub.services = [{"name": "jupyterhub-idle-culler",
    ...     "command": ["python3", "-m", "jupyterhub_idle_culler", "--timeout=1800"]}]
    >>> s = HubSettings.model_validate({"mode": "kubernetes", "kubernetes": {}, "storage": {"home": "/h",
    ...     "groupsRoot": "/g", "datasets": "/d", "scratch": "/s"}})
    >>> cull_environment(c, s)["ASTROHUB_CULL_TIMEOUT"]
    '1800'
    """
    services = c.JupyterHub.services if "services" in c.JupyterHub else []
    culler = next((s for s in services if s.get("name") == "jupyterhub-idle-culler"), None)
    flags = [a for a in (culler or {}).get("command", []) if isinstance(a, str) and a.startswith("--timeout=")]
    if not flags:
        return {}
    timeout = int(flags[-1].split("=", 1)[1])
    return {"ASTROHUB_CULL_TIMEOUT": str(timeout),
            "ASTROHUB_CULL_WARNING": str(min(settings.cull.warning_seconds, timeout // 2)),
            "ASTROHUB_ACTIVITY_INTERVAL": str(min(settings.cull.activity_interval_seconds, timeout / 4))}


def configure_kubernetes(c: Any, settings: "HubSettings") -> None:
    """Set the KubeSpawner traitlets for ``settings`` on the config object ``c``.

    Extends (never replaces) ``KubeSpawner.volumes`` / ``volume_mounts``, so the volumes Zero to
    JupyterHub configures from ``singleuser.storage`` are kept; merges ``Spawner.environment`` (set
    by ``configure``) beneath ``KubeSpawner.environment`` (set by Zero to JupyterHub from
    ``singleuser.extraEnv``, which wins on a clash); sets ``profile_list`` to a callable
    filtering class profiles by the spawning user's groups, and ``modify_pod_hook`` to
    :func:`group_mounts_hook`, :func:`validate_hook`, then :func:`collaboration_hook`.

    Raises
    ------
    HubConfigError
        ``kubernetes`` missing, or a profile naming a group that is not configured.
    """
    kube = _check(settings)
    volumes, mounts = dataset_volumes(kube, settings.storage.datasets)
    home_v, home_m = home_volumes(kube, settings.storage.home)
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    # Zero to JupyterHub sets KubeSpawner.environment from singleuser.extraEnv (``{}`` by default),
    # which would shadow the Spawner.environment that configure() fills: merge ours beneath it.
    if "environment" in c.Spawner:
        explicit = dict(c.KubeSpawner.environment) if "environment" in c.KubeSpawner else {}
        c.KubeSpawner.environment = {**dict(c.Spawner.environment), **explicit}
    c.KubeSpawner.environment = {**cull_environment(c, settings), **dict(c.KubeSpawner.environment)}
    c.KubeSpawner.volumes.extend(volumes + home_v)
    c.KubeSpawner.volume_mounts.extend(mounts + home_m)
    if settings.profiles:

        def offered_profiles(spawner: Any) -> list[dict[str, Any]]:
            return profile_list(settings, _user_groups(spawner), class_pins(group_properties(spawner.user), time.time()))

        c.KubeSpawner.profile_list = offered_profiles
    mounts_hook = group_mounts_hook(kube, settings.storage.groups_root, *settings.class_folders(),
                                    home=settings.storage.home)

    def modify_pod(spawner: Any, pod: Any) -> Any:
        return collaboration_hook(spawner, validate_hook(spawner, mounts_hook(spawner, pod)))

    c.KubeSpawner.modify_pod_hook = modify_pod
