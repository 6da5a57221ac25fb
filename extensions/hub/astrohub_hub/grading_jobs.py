"""nbgrader's steps as Kubernetes Jobs: the Job manifest (pure) and the backend that runs it and waits.

Owns :class:`JobSettings` (the chart's ``classes.grading`` values, read from the classes service's
environment: one owner, the ConfigMap ``astrohub-classes``), :func:`job_manifest` (the pure builder of one
step's Job) and :class:`JobSteps` (the :class:`astrohub_hub.grading.Steps` backend: create the Job, wait for
it, read what it printed, delete it). Autograding executes students' code, so it never runs in the classes
service's pod (which holds the hub token); each step is a Job of the user image (which has nbgrader), with:

- only the class's course directory (``instructors/nbgrader`` on the group claim) mounted, at the same path
  as in the service's pod, so nbgrader's paths and the gradebook's are the same on both sides; the step runs in
  ``/tmp``, not there, with ``python3 -I`` (nothing of the course on ``sys.path``);
- no service account token (``automountServiceAccountToken: false``), no service links, a read-only root
  file system (``/tmp`` is an ``emptyDir``), no privilege escalation, every capability dropped, the chart's
  user uid and gid (there are no system users on Kubernetes);
- the chart's resources, ``activeDeadlineSeconds`` and ``backoffLimit: 0`` (a step is not retried);
- autograde's kernels as nbgrader's children, the same uid, which writes the mounted course directory: a student's
  code can change the class's gradebook and other submissions there (nothing else: no other class is mounted, no
  token). The local platform's split (kernels as another identity, :mod:`astrohub_hub.grading_kernels`) needs a
  second uid in the pod, e.g. a container of its own without the course mount serving the kernels; not done;
- a name made only of ``[a-z0-9-]`` from the step, the class and a random suffix (at most 63 characters);
  the class and assignment as they are go in annotations.

The step's standard output and error go to files beside the course (``.runtime/<job>.out|.err``), which the
service reads from the same claim: it needs no access to pods or their logs, only to create, get and delete
Jobs in its namespace (the chart's Role). A failed or timed-out Job is a :class:`BackendError` (``grading-failed``:
not the caller's input, so the classes service answers 502) naming the Job, the reason and the last lines it
printed; so is an API server that refuses the Job or cannot be reached. May import the standard library, ``errors`` and
(inside :class:`JobSteps` only) ``kubernetes_asyncio``, which KubeSpawner brings into the hub image.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from astrohub_hub.errors import BackendError, HubConfigError

__all__ = ["JobSettings", "JobSteps", "job_manifest", "job_name"]

log = logging.getLogger("astrohub.grading")

#: nbgrader's step -> the short word in a Job's name.
_STEP_WORDS = {"generate_assignment": "release", "autograde": "autograde", "generate_feedback": "feedback",
               "gradebook": "scores"}


@dataclass(frozen=True)
class JobSettings:
    """How grading Jobs are made (the chart's ``classes.grading``; see :meth:`from_environ`)."""

    namespace: str
    image: str
    #: The claim holding the class folders, and where the classes service mounts it (Jobs mount the course
    #: directory from it at the same path).
    claim: str
    mount_path: str
    run_as_user: int = 1000
    run_as_group: int = 100
    pull_policy: str = "IfNotPresent"
    #: Names of the Secrets the Job's pod pulls its image with (the chart's jupyterhub.imagePullSecrets).
    pull_secrets: tuple[str, ...] = ()
    resources: dict[str, Any] = field(default_factory=dict)
    deadline_seconds: int = 900
    #: Seconds between two reads of a Job's status.
    poll_seconds: float = 1.0
    #: Read the API server's address and token from the pod (``load_incluster_config``); else from KUBECONFIG.
    in_cluster: bool = True
    kubeconfig: str | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> "JobSettings":
        """From ``ASTROHUB_CLASSES_GRADING_*`` (the chart's ConfigMap ``astrohub-classes`` sets them)."""
        prefix = "ASTROHUB_CLASSES_GRADING_"

        def need(key: str) -> str:
            value = env.get(prefix + key, "")
            if not value:
                raise HubConfigError("is not set: grading on Kubernetes needs it (the chart's classes.grading "
                                     "values set it in the ConfigMap astrohub-classes)", key=prefix + key)
            return value

        def number(key: str, default: str, kind=int):
            text = env.get(prefix + key, default)
            try:
                return kind(text)
            except ValueError:
                raise HubConfigError(f"{text!r} is not a number", key=prefix + key, value=text) from None

        try:
            resources = json.loads(env.get(prefix + "RESOURCES", "") or "{}")
        except ValueError:
            raise HubConfigError("is not JSON ({requests: {...}, limits: {...}})", key=prefix + "RESOURCES",
                                 value=env.get(prefix + "RESOURCES")) from None
        if not isinstance(resources, dict):
            raise HubConfigError("must be a JSON object", key=prefix + "RESOURCES", value=resources)
        return cls(namespace=need("NAMESPACE"), image=need("IMAGE"), claim=need("CLAIM"),
                   mount_path=need("MOUNT"), run_as_user=number("UID", "1000"), run_as_group=number("GID", "100"),
                   pull_policy=env.get(prefix + "PULL_POLICY", "") or "IfNotPresent",
                   pull_secrets=tuple(n.strip() for n in env.get(prefix + "PULL_SECRETS", "").split(",") if n.strip()),
                   resources=resources,
                   deadline_seconds=number("DEADLINE", "900"), poll_seconds=number("POLL", "1", float),
                   in_cluster="KUBERNETES_SERVICE_HOST" in env, kubeconfig=env.get("KUBECONFIG") or None)


def _slug(text: str, length: int) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", text.lower())).strip("-")[:length].strip("-") or "x"


def job_name(step: str, cls: str, assignment: str, salt: str | None = None) -> str:
    """A Job name for one step: ``nbgrader-<step>-<class>-<10 hex>``, only ``[a-z0-9-]``, at most 63 characters.

    Examples
    --------
    >>> job_name("autograde", "Astro_101 (Spring)", "hw1", salt="s")
    'nbgrader-autograde-astro-101-spring-7857a71dff'
    """
    salt = secrets.token_hex(8) if salt is None else salt
    digest = hashlib.sha256(f"{cls}\0{assignment}\0{step}\0{salt}".encode()).hexdigest()[:10]
    word = _STEP_WORDS.get(step, _slug(step, 12))
    return f"nbgrader-{word}-{_slug(cls, 63 - len('nbgrader--') - len(word) - 11)}-{digest}"


def job_manifest(settings: JobSettings, name: str, argv: list[str], course: Path, *, cls: str,
                 assignment: str, step: str) -> dict[str, Any]:
    """The Job that runs ``python3 <argv>`` in ``course`` (see the module docstring for what it allows)."""
    course_path, mount = PurePosixPath(course), PurePosixPath(settings.mount_path)
    try:
        sub_path = course_path.relative_to(mount)
    except ValueError:
        raise HubConfigError(f"the course directory {course} is not on the class claim mounted at {mount}",
                             key="ASTROHUB_CLASSES_GRADING_MOUNT", value=str(mount)) from None
    if ".." in sub_path.parts or not sub_path.parts:
        raise HubConfigError(f"{course} is not a folder below {mount}", key="ASTROHUB_CLASSES_GRADING_MOUNT",
                             value=str(course))
    output = course_path / ".runtime" / name
    labels = {"app.kubernetes.io/name": "astrohub", "app.kubernetes.io/component": "grading",
              "astrohub.org/grading-step": _STEP_WORDS.get(step, _slug(step, 12)),
              "astrohub.org/class": _slug(cls, 63)}
    container: dict[str, Any] = {
        "name": "nbgrader",
        "image": settings.image,
        "imagePullPolicy": settings.pull_policy,
        # stdout and stderr to files on the claim: the service reads them there (no pods/log access)
        # isolated (-I: no working folder nor PYTHONPATH on sys.path), outside the course, which every instructor
        # of the class can write (astrohub_hub.grading); -B: the root file system is read-only
        "command": ["sh", "-c", 'exec "$@" >"$ASTROHUB_GRADING_OUTPUT.out" 2>"$ASTROHUB_GRADING_OUTPUT.err"',
                    "nbgrader-step", "python3", "-I", "-B", *argv],
        "workingDir": "/tmp",
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "LANG", "value": "C.UTF-8"},
                {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
                {"name": "JUPYTER_RUNTIME_DIR", "value": str(course_path / ".runtime")},
                {"name": "ASTROHUB_GRADING_OUTPUT", "value": str(output)}],
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True, "runAsNonRoot": True},
        "volumeMounts": [{"name": "course", "mountPath": str(course_path), "subPath": str(sub_path)},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    if settings.resources:
        container["resources"] = settings.resources
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": settings.run_as_user,
                            "runAsGroup": settings.run_as_group, "fsGroup": settings.run_as_group,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "course", "persistentVolumeClaim": {"claimName": settings.claim}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
    }
    if settings.pull_secrets:
        pod["imagePullSecrets"] = [{"name": name} for name in settings.pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels,
                     "annotations": {"astrohub.org/class": cls, "astrohub.org/assignment": assignment,
                                     "astrohub.org/step": step}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": settings.deadline_seconds,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels},
                "spec": pod,
            },
        },
    }


def _last_lines(path: Path, count: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return " | ".join(lines[-count:])


class JobSteps:
    """The :class:`astrohub_hub.grading.Steps` backend of Kubernetes: one Job per step, waited for."""

    def __init__(self, settings: JobSettings) -> None:
        self.settings = settings

    def run(self, step: str, argv: list[str], course: Path, system_user: str | None) -> str:
        course = Path(course)
        cls = course.parents[1].name if len(course.parents) > 1 else course.name
        assignment = argv[3] if len(argv) > 3 else ""  # -m nbgrader <step> <assignment> | -c <code> <db> <assignment>
        name = job_name(step, cls, assignment)
        manifest = job_manifest(self.settings, name, argv, course, cls=cls, assignment=assignment, step=step)
        output = course / ".runtime" / name
        (course / ".runtime").mkdir(parents=True, exist_ok=True)
        try:
            reason = asyncio.run(self._run_job(manifest))
            err = _last_lines(output.with_suffix(".err")) or _last_lines(output.with_suffix(".out"))
            if reason == "DeadlineExceeded":
                raise BackendError(f"nbgrader {step} of {cls}/{assignment} took longer than "
                               f"{self.settings.deadline_seconds} s and was stopped (Job {name}); raise the chart's "
                               "classes.grading.deadlineSeconds if it needs longer. The submissions are unchanged.",
                               code="grading-failed", value=name)
            if reason is not None:
                raise BackendError(f"nbgrader {step} of {cls}/{assignment} failed in Job {name} ({reason}): "
                               f"{err or 'it printed nothing'}. The submissions are unchanged.",
                               code="grading-failed", value=name)
            try:
                return output.with_suffix(".out").read_text()
            except OSError as exc:
                raise BackendError(f"nbgrader {step} in Job {name} left no output at {output}.out ({exc}): is the "
                               "course claim the one the service mounts?", code="grading-failed", value=name) from exc
        finally:
            for suffix in (".out", ".err"):
                try:
                    output.with_suffix(suffix).unlink()
                except OSError:
                    pass

    async def _run_job(self, manifest: dict[str, Any]) -> str | None:
        """Create the Job, wait until it completes or fails, delete it; None when it succeeded, else the reason."""
        from kubernetes_asyncio import client, config
        from kubernetes_asyncio.client.rest import ApiException

        s, name = self.settings, manifest["metadata"]["name"]
        configuration = client.Configuration()
        try:
            if s.in_cluster:
                config.load_incluster_config(client_configuration=configuration)
            else:
                await config.load_kube_config(config_file=s.kubeconfig, client_configuration=configuration)
        except Exception as exc:  # the library raises ConfigException, OSError, ValueError
            raise BackendError(f"no Kubernetes API to run grading Jobs: {exc}", code="grading-failed") from exc
        async with client.ApiClient(configuration) as api_client:
            batch = client.BatchV1Api(api_client)
            try:
                await batch.create_namespaced_job(s.namespace, manifest)
            except ApiException as exc:
                raise BackendError(f"the Kubernetes API refused grading Job {name} in namespace {s.namespace} "
                               f"(HTTP {exc.status} {exc.reason}): {_api_message(exc)}; the classes service's Role "
                               "(chart: classes.grading) must allow creating Jobs", code="grading-failed",
                               value=name) from exc
            except OSError as exc:
                raise BackendError(f"the Kubernetes API could not be reached to run Job {name}: {exc}",
                               code="grading-failed", value=name) from exc
            try:
                return await self._wait(batch, name)
            finally:
                try:
                    await batch.delete_namespaced_job(name, s.namespace, propagation_policy="Background")
                except (ApiException, OSError) as exc:
                    log.warning("grading Job %s was not deleted (its ttlSecondsAfterFinished will): %s", name, exc)

    async def _wait(self, batch, name: str) -> str | None:
        from kubernetes_asyncio.client.rest import ApiException

        s = self.settings
        limit = time.monotonic() + s.deadline_seconds + 60  # the deadline counts from the Job's start
        while True:
            try:
                job = await batch.read_namespaced_job(name, s.namespace)
            except (ApiException, OSError) as exc:
                raise BackendError(f"the status of grading Job {name} could not be read: {exc}", code="grading-failed",
                               value=name) from exc
            status = job.status
            if status is not None:
                conditions = {c.type: c for c in (status.conditions or []) if c.status == "True"}
                if "Complete" in conditions or (status.succeeded or 0) > 0:
                    return None
                if "Failed" in conditions:
                    return conditions["Failed"].reason or "Failed"
                if (status.failed or 0) > 0:
                    return "BackoffLimitExceeded"
            if time.monotonic() > limit:
                return "DeadlineExceeded"
            await asyncio.sleep(s.poll_seconds)


def _api_message(exc: Any) -> str:
    try:
        return json.loads(exc.body).get("message", "") or str(exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(exc.reason)
