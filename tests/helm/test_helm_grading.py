"""nbgrader on Kubernetes: the grading Jobs the classes service creates, from the chart's values, really grade.

Issue 19 items 2 and 7. The classes service's environment is the rendered ConfigMap ``astrohub-classes`` (its
claim mounts moved under a temporary folder). From it :mod:`astrohub_hub.grading_jobs` builds one Job per
nbgrader step; the Jobs are validated with kubernetes-validate and checked for their security settings.

``FakeKubernetes`` below is a FAKE Kubernetes API server: no API server can run here. It is a small HTTP
server on 127.0.0.1 that answers the three calls the service makes (create, read and delete a Job in
``batch/v1``), validates each Job it is given, and, to prove that the Job's command really grades, runs the
Job's container command locally with this virtual environment's ``python3`` (which has nbgrader, as the user
image does) in the Job's ``workingDir`` with its ``env``, after checking that every path it is given lies on
the volume the Job mounts there. It enforces ``activeDeadlineSeconds`` (killing the command: reason
``DeadlineExceeded``) and reports the Job complete or failed as the API server does.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import kubernetes_validate
import pytest

from astrohub_hub.errors import HubError

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)
from stand_in_http import StandInHandler  # tests/support/, on the path by tests/conftest.py
from tornado_thread import serving

#: The teaching overlay, with NFS homes (released assignments and feedback reach the students' homes).
VALUES = {**hs.overlay("teaching-class")}
VALUES["jupyterhub"] = {**VALUES["jupyterhub"], "custom": {"astrohub": {
    **VALUES["jupyterhub"]["custom"]["astrohub"],
    "kubernetes": {**VALUES["jupyterhub"]["custom"]["astrohub"]["kubernetes"],
                   "home": {"nfs": {"server": "nfs.example.org", "path": "/export/home"}}}}}}
VALUES["jupyterhub"]["singleuser"] = {"storage": {"type": "none"}}


@pytest.fixture(scope="module")
def objects(chart) -> list[dict[str, Any]]:
    return hs.manifests(hs.render(chart, VALUES))


class FakeKubernetes(ThreadingHTTPServer):
    """A FAKE Kubernetes API server (no real one can run here): Jobs of ``batch/v1``, run locally (module doc)."""

    daemon_threads = True

    def __init__(self, claims: dict[str, Path]) -> None:
        super().__init__(("127.0.0.1", 0), _FakeApiHandler)
        self.claims = claims  # claim name -> the folder standing for it here
        self.jobs: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.refuse_with: int | None = None
        #: When set, each Job's pod fails without running, as a kubelet reports an evicted or OOM-killed pod
        #: (with ``backoffLimit: 0`` the API server then marks the Job Failed, reason BackoffLimitExceeded).
        self.pods_fail = False
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def kubeconfig(self, path: Path) -> Path:
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{self.server_address[1]}"}}],
            "users": [{"name": "fake", "user": {"token": "fake"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}]}))
        return path

    def run_job(self, job: dict[str, Any]) -> None:
        """What the kubelet would do with the Job's one pod, here: run its container command, then set the status.

        A Job this fake cannot run as given (a path off its volumes) fails, and the reason is kept in ``errors``."""
        try:
            if self.pods_fail:
                status = {"failed": 1, "conditions": [_condition("Failed", "BackoffLimitExceeded")]}
            else:
                status = self._run_pod(job)
        except AssertionError as exc:
            self.errors.append(f"{job['metadata']['name']}: {exc}")
            status = {"failed": 1, "conditions": [_condition("Failed", "FakeCannotRun")]}
        with self.lock:
            job["status"] = status

    def _run_pod(self, job: dict[str, Any]) -> dict[str, Any]:
        pod = job["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        for mount in container["volumeMounts"]:
            claim = volumes[mount["name"]].get("persistentVolumeClaim")
            if claim:  # the claim's subPath is what the Job sees at mountPath: here the same folder
                assert self.claims[claim["claimName"]] / mount["subPath"] == Path(mount["mountPath"]), mount
        mounted = [m["mountPath"] for m in container["volumeMounts"]]
        for arg in [*container["command"], container["workingDir"], *(e["value"] for e in container["env"])]:
            for path in re.findall(r"(?<![\w.])/[\w./-]+", arg):  # every absolute path is on a mounted volume
                path = "/" + path.lstrip("/")  # sqlite:////abs/path
                assert any(path == m or path.startswith(m.rstrip("/") + "/") for m in mounted), (path, mounted)
        env = {e["name"]: e["value"] for e in container["env"]}
        env["PATH"] = f"{os.path.dirname(sys.executable)}:/usr/bin:/bin"  # python3: this venv, as in the user image
        deadline = job["spec"]["activeDeadlineSeconds"]
        try:
            code = subprocess.run(container["command"], cwd=container["workingDir"], env=env, timeout=deadline,
                                  check=False).returncode
            status = ({"succeeded": 1, "conditions": [_condition("Complete", "")]} if code == 0 else
                      {"failed": 1, "conditions": [_condition("Failed", "BackoffLimitExceeded")]})
        except subprocess.TimeoutExpired:
            status = {"failed": 1, "conditions": [_condition("Failed", "DeadlineExceeded")]}
        return status


def _condition(kind: str, reason: str) -> dict[str, str]:
    return {"type": kind, "status": "True", "reason": reason, "lastTransitionTime": "2026-01-01T00:00:00Z"}


class _FakeApiHandler(StandInHandler):
    server: FakeKubernetes
    path_re = re.compile(r"^/apis/batch/v1/namespaces/([^/]+)/jobs(?:/([^/?]+))?(?:\?.*)?$")

    def _status(self, code: int, message: str) -> None:
        self.answer(code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                            "code": code})

    def do_POST(self) -> None:
        match = self.path_re.match(self.path)
        if not match or match.group(2):
            return self._status(404, f"no route {self.path}")
        if self.server.refuse_with:
            return self._status(self.server.refuse_with, 'jobs.batch is forbidden: User "system:serviceaccount:'
                                'astro:astrohub-classes" cannot create resource "jobs"')
        job = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for version in hs.KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(job, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                return self._status(422, f"Job is invalid: {exc}")
        job["metadata"]["namespace"] = match.group(1)
        with self.server.lock:
            self.server.jobs[job["metadata"]["name"]] = job
            self.server.created.append(json.loads(json.dumps(job)))
        threading.Thread(target=self.server.run_job, args=(job,), daemon=True).start()
        self.answer(201, job)

    def do_GET(self) -> None:
        match = self.path_re.match(self.path)
        job = self.server.jobs.get(match.group(2) or "") if match else None
        if job is None:
            return self._status(404, "not found")
        with self.server.lock:
            self.answer(200, json.loads(json.dumps(job)))

    def do_DELETE(self) -> None:
        match = self.path_re.match(self.path)
        name = match.group(2) if match else None
        if name not in self.server.jobs:
            return self._status(404, "not found")
        self.server.deleted.append(name)
        self.answer(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})


@pytest.fixture
def service(objects, tmp_path: Path) -> Iterator[tuple[Any, FakeKubernetes]]:
    """The classes service as the chart configures it, its Jobs sent to a fake API server."""
    from astrohub_hub.classes_service import from_environ

    env = hs.service_environment(objects, tmp_path)
    fake = FakeKubernetes({"astrohub-groups": tmp_path / "groups"})
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    env.update(KUBECONFIG=str(fake.kubeconfig(tmp_path / "kubeconfig")), ASTROHUB_CLASSES_GRADING_POLL="0.2")
    teaching, directory, _ = from_environ(env)
    directory._call = hs.HubGroups()
    try:
        yield teaching, fake
    finally:
        fake.shutdown()
        fake.server_close()


def _nbgrader_assignment(folder: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    def meta(grade_id: str, **kw: Any) -> dict[str, Any]:
        return {"nbgrader": {"schema_version": 3, "grade_id": grade_id, **kw}}

    nb = new_notebook(cells=[
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                      metadata=meta("answer", grade=False, solution=True, locked=False)),
        new_code_cell("assert square(3) == 9", metadata=meta("test", grade=True, solution=False, locked=True,
                                                             points=1))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "square.ipynb")


def _answer(notebook: Path, body: str, instead_of: str = "raise NotImplementedError()") -> None:
    """The student writes ``body`` in place of ``instead_of`` (which must be there: a test whose answer silently
    stayed the same would test nothing)."""
    nb = json.loads(notebook.read_text())
    source = "".join(nb["cells"][0]["source"])
    assert instead_of in source, source
    nb["cells"][0]["source"] = source.replace(instead_of, body)
    notebook.write_text(json.dumps(nb))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_grading_jobs_carry_the_charts_settings_and_no_credentials(objects, tmp_path) -> None:
    """The Job of each step: valid on 1.30 and 1.33, the user image, only the course folder, no token, no root."""
    from astrohub_hub.grading import steps_from_environ
    from astrohub_hub.grading_jobs import JobSteps, job_manifest, job_name

    env = hs.service_environment(objects, tmp_path)
    steps = steps_from_environ(env)
    assert isinstance(steps, JobSteps)
    settings = steps.settings
    merged_user = {"image": {"name": "ghcr.io/astrohub/user", "tag": "0.1.0"}}  # values.yaml's singleuser image
    assert settings.image == f"{merged_user['image']['name']}:{merged_user['image']['tag']}"
    assert (settings.namespace, settings.run_as_user, settings.run_as_group) == (hs.NAMESPACE, 1000, 100)
    assert settings.resources == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    course = Path(settings.mount_path) / ".classes" / "Astro_101" / "instructors" / "nbgrader"
    for cls in ("Astro_101", "a" * 80, "--x.y--"):
        name = job_name("generate_assignment", cls, "hw1")
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", name), name
    job = job_manifest(settings, job_name("autograde", "Astro_101", "hw1"), ["-m", "nbgrader", "autograde", "hw1"],
                       course, cls="Astro_101", assignment="hw1", step="autograde")
    for version in hs.KUBE_VERSIONS:
        kubernetes_validate.validate(job, version, strict=True)
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert "serviceAccountName" not in pod and "hostNetwork" not in pod
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                            "readOnlyRootFilesystem": True, "runAsNonRoot": True}
    assert container["image"] == settings.image and container["resources"] == settings.resources
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["activeDeadlineSeconds"] == 900
    # nbgrader runs from /tmp with python -I, not in the course folder, which every instructor of the class can write:
    # nothing there is on sys.path, and nbgrader reads no configuration from it (astrohub_server.gradingconfig)
    assert container["workingDir"] == "/tmp" and container["command"][4:7] == ["python3", "-I", "-B"]
    # The course folder alone (not the other classes, the workspaces or the registry) at the service's path.
    claims = {v["name"]: v for v in pod["volumes"]}
    assert claims["course"]["persistentVolumeClaim"]["claimName"] == "astrohub-groups"
    assert {m["mountPath"]: m.get("subPath") for m in container["volumeMounts"]} == {
        str(course): ".classes/Astro_101/instructors/nbgrader", "/tmp": None}
    assert not {"secretRef", "configMapRef"} & {k for e in container.get("envFrom", []) for k in e}
    assert not any("valueFrom" in e or "TOKEN" in e["name"] for e in container["env"])
    # The chart's NetworkPolicy for grading pods selects these pods and lets nothing in or out.
    policy = hs.find(objects, "NetworkPolicy", "astrohub-classes-grading")
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= job["spec"]["template"]["metadata"]["labels"].items()
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]


def test_grading_jobs_pull_with_the_releases_image_pull_secrets(chart, objects, tmp_path) -> None:
    """A registry that needs credentials (helm/examples/offline.yaml): the Jobs name the same Secrets as every pod."""
    from astrohub_hub.grading import steps_from_environ
    from astrohub_hub.grading_jobs import job_manifest, job_name

    course = Path("/srv/groups/.classes/Astro_101/instructors/nbgrader")
    values = {**VALUES, "jupyterhub": {**VALUES.get("jupyterhub", {}), "imagePullSecrets": ["registry-internal"]}}
    for rendered, expected in ((objects, None), (hs.manifests(hs.render(chart, values)), [{"name": "registry-internal"}])):
        settings = steps_from_environ(hs.service_environment(rendered, tmp_path)).settings
        job = job_manifest(settings, job_name("autograde", "Astro_101", "hw1"), ["-m", "nbgrader", "autograde", "hw1"],
                           Path(str(course).replace("/srv/groups", settings.mount_path)), cls="Astro_101",
                           assignment="hw1", step="autograde")
        assert job["spec"]["template"]["spec"].get("imagePullSecrets") == expected
        for version in hs.KUBE_VERSIONS:
            kubernetes_validate.validate(job, version, strict=True)


def test_the_service_may_only_create_read_and_delete_jobs(objects) -> None:
    """Least privilege: a ServiceAccount whose token the service pod mounts, bound to a Role on Jobs only."""
    for kind, name in [("ServiceAccount", "astrohub-classes"), ("Role", "astrohub-classes-grading"),
                       ("RoleBinding", "astrohub-classes-grading"), ("NetworkPolicy", "astrohub-classes-grading")]:
        for version in hs.KUBE_VERSIONS:
            kubernetes_validate.validate(hs.find(objects, kind, name), version, strict=True)
    role = hs.find(objects, "Role", "astrohub-classes-grading")
    assert role["rules"] == [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "delete"]}]
    binding = hs.find(objects, "RoleBinding", "astrohub-classes-grading")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "astrohub-classes-grading"}
    pod = hs.find(objects, "Deployment", "astrohub-classes")["spec"]["template"]["spec"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": pod["serviceAccountName"],
                                    "namespace": hs.NAMESPACE}]
    assert pod["automountServiceAccountToken"] is True
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")
                and "classes" in o["metadata"]["name"]]


def test_without_grading_no_role_no_token_and_a_clear_refusal(chart, tmp_path) -> None:
    from astrohub_hub.grading import Grader, steps_from_environ

    values = {**VALUES, "classes": {"enabled": True, "grading": {"enabled": False}}}
    objects = hs.manifests(hs.render(chart, values))
    assert not [o for o in objects if o["kind"] in ("Role", "RoleBinding")]
    pod = hs.find(objects, "Deployment", "astrohub-classes")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    steps = steps_from_environ(hs.service_environment(objects, tmp_path))
    with pytest.raises(HubError, match="classes.grading.enabled"):
        Grader(tmp_path / "course", None, tmp_path, steps)._run("autograde", "hw1")


def test_grading_jobs_grade_release_and_give_feedback(service) -> None:
    """The whole nbgrader cycle through Jobs: the students' version, autograde 1 and 0, feedback pages; then a
    step past its deadline is stopped with a clear error and the submissions are left as they were."""
    from astrohub_hub.classes import Actor

    teaching, fake = service
    admin, tina = Actor("admin", admin=True), Actor("tina")
    teaching.create_class(admin, "stars", instructors=["tina"], students=["sam", "ann"])
    root = teaching.classes_root / "stars"
    _nbgrader_assignment(root / "instructors" / "nbhw")
    teaching.release(tina, "stars", "nbhw")
    copies = {s: teaching.people.home(s) / "stars" / "nbhw" / "square.ipynb" for s in ("sam", "ann")}
    assert "return x * x" not in copies["sam"].read_text() and "NotImplementedError" in copies["sam"].read_text()
    _answer(copies["sam"], "return x * x")
    for student in ("sam", "ann"):  # ann hands in the untouched notebook
        teaching.submit(Actor(student), "stars", "nbhw")
    graded = teaching.collect(tina, "stars", "nbhw", grade=True)["grades"]
    assert (graded["sam"]["score"], graded["ann"]["score"], graded["sam"]["max_score"]) == (1.0, 0.0, 1.0), graded
    assert teaching.return_feedback(tina, "stars", "nbhw")["returned"]["ann"] == ["square.html", "timestamp.txt"]
    assert not fake.errors
    steps = [j["metadata"]["annotations"]["astrohub.org/step"] for j in fake.created]
    # scores are read from nbgrader's gradebook in the service (no Job); returning feedback generates it again
    # from the grades of now (an instructor may have changed some in formgrader)
    assert steps == ["generate_assignment", "autograde", "generate_feedback", "generate_feedback"]
    assert sorted(fake.deleted) == sorted(j["metadata"]["name"] for j in fake.created)
    assert not list((root / "instructors" / "nbgrader" / ".runtime").glob("nbgrader-*"))  # outputs read, removed

    # A step past its deadline: the Job is stopped, the instructor is told why, the submissions are unchanged.
    _answer(copies["sam"], "import time; time.sleep(60); return x * x", instead_of="return x * x")
    teaching.submit(Actor("sam"), "stars", "nbhw")
    before = _tree(root / "submissions")
    teaching.grading = type(teaching.grading)(dataclasses.replace(teaching.grading.settings, deadline_seconds=3))
    with pytest.raises(HubError, match=r"took longer than 3 s and was stopped.*deadlineSeconds.*unchanged") as err:
        teaching.collect(tina, "stars", "nbhw", grade=True)
    # the Job carried the 3 s (the stand-in stops its command there; sam's answer needs 60 s): no clock read here
    assert err.value.code == "grading-failed" and fake.created[-1]["spec"]["activeDeadlineSeconds"] == 3
    assert _tree(root / "submissions") == before
    assert fake.created[-1]["metadata"]["name"] in fake.deleted


def test_a_refused_job_names_the_role(service) -> None:
    from astrohub_hub.grading import Grader

    teaching, fake = service
    fake.refuse_with = 403
    course = teaching.classes_root / "stars" / "instructors" / "nbgrader"
    with pytest.raises(HubError, match=r"refused grading Job nbgrader-autograde-stars-\w+ .*HTTP 403.*cannot create "
                       r"resource \"jobs\".*Role") as err:
        Grader(course, None, course.parent, teaching.grading)._run("autograde", "hw1")
    assert err.value.code == "grading-failed" and not fake.created


def test_a_failed_step_says_why_with_what_it_printed(service) -> None:
    """A step whose command fails (here the gradebook read, given a program that fails as nbgrader would): the
    error names the step, the Job and the reason, with the last lines the command printed."""
    from astrohub_hub.grading import Grader

    teaching, fake = service
    course = teaching.classes_root / "stars" / "instructors" / "nbgrader"
    failing = "import sys; print('reading the gradebook', file=sys.stderr); sys.exit('no such table: assignment')"
    with pytest.raises(HubError, match=r"nbgrader gradebook of stars/hw1 failed in Job nbgrader-scores-stars-\w+ "
                       r"\(BackoffLimitExceeded\): reading the gradebook \| no such table: assignment\. The "
                       r"submissions are unchanged"):
        gradebook = f"sqlite:///{course}/gradebook.db"
        Grader(course, None, course.parent, teaching.grading).steps.run("gradebook", ["-c", failing, gradebook, "hw1"],
                                                                        course, None)
    assert not fake.errors and [j["metadata"]["name"] for j in fake.created] == fake.deleted


def test_the_service_answers_a_failed_job_502_naming_it_and_bad_input_400(service) -> None:
    """A grading Job that fails is a failure of the service's backend, not of the caller's request: the classes
    service's HTTP API answers 502 with the Job's name and the reason (it answered 400 before), as JSON, never a
    traceback; bad input is still 400. The Jobs go to the FAKE Kubernetes API above (no API server runs here),
    whose pods fail; the service is the real tornado application (``make_app``) in a thread of this process,
    with its hub token check replaced by a header naming the caller (the hub is not part of this test)."""
    import requests

    from astrohub_hub import classes_service
    from astrohub_hub.classes import Actor

    teaching, fake = service
    teaching.create_class(Actor("admin", admin=True), "stars", instructors=["tina"], students=["sam"])
    _nbgrader_assignment(teaching.classes_root / "stars" / "instructors" / "nbhw")

    class SignedIn:  # stands in for the hub's token check (HubAuth): the caller is X-Test-User, not an admin
        access_scopes: set[str] = set()

        def get_token(self, handler, in_cookie=False):
            return handler.request.headers.get("X-Test-User")

        async def user_for_token(self, token, sync=True):
            return {"name": token, "admin": False, "scopes": []}

        def check_scopes(self, scopes, model):
            return True

    tina = {"X-Test-User": "tina"}
    with serving(lambda: classes_service.make_app(teaching, SignedIn(), "/services/astrohub-classes/")) as url:
        base = f"{url}/services/astrohub-classes/api/"
        fake.pods_fail = True
        failed = requests.post(f"{base}classes/stars/assignments/nbhw/release", headers=tina, timeout=60)
        answer = failed.json()
        assert failed.status_code == 502 and answer["status"] == 502 and answer["code"] == "grading-failed", answer
        [job] = [j["metadata"]["name"] for j in fake.created]
        assert job.startswith("nbgrader-release-stars-")
        assert re.fullmatch(rf"nbgrader generate_assignment of stars/nbhw failed in Job {job} "
                            r"\(BackoffLimitExceeded\): it printed nothing\. The submissions are unchanged\.",
                            answer["message"]), answer
        assert "Traceback" not in failed.text and job in fake.deleted
        # the caller's bad input: still 4xx, with the reason
        missing = requests.post(f"{base}classes/stars/assignments/nohw/release", headers=tina, timeout=60)
        assert missing.status_code == 404 and "no folder" in missing.json()["message"]
        bad = requests.post(f"{base}classes/stars/students", data="not json", headers=tina, timeout=60)
        assert bad.status_code == 400 and bad.json()["message"].startswith("the request body is not JSON")
        assert len(fake.created) == 1
