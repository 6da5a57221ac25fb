"""The archive pod's writable HiPS folder (issue 18): every overlay gives the archive service a volume of
its own for the HiPS it builds, mounted where the archive command looks (``ASTROHUB_ARCHIVE_HIPS``), the
pod's only writable mount besides its state folder (TAP jobs) and the release container's, never inside the read-only datasets or the
proprietary /archive; a claim keeps the HiPS across restarts; a path that overlaps a read-only mount
fails the render."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest

_spec = importlib.util.spec_from_file_location("_helm_support", Path(__file__).with_name("_helm_support.py"))
hs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hs)


def _archive(objects: list[dict[str, Any]]) -> tuple[dict, dict, dict]:
    pod = hs.archive(objects)["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    return pod, containers["archive"], hs.find(objects, "ConfigMap", "astrohub-archive")["data"]


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_the_archive_builds_hips_in_a_writable_volume_of_its_own(chart, name: str, monkeypatch) -> None:
    from astrohub_archive.app import ArchiveState, build_parser
    from astrohub_archive.hips import hips_root

    values = hs.overlay(name)
    objects = hs.manifests(hs.render(chart, values))
    pod, archive, config = _archive(objects)
    path = config["ASTROHUB_ARCHIVE_HIPS"]
    writable = [m for m in archive["volumeMounts"] if not m.get("readOnly")]
    assert writable == [{"name": "hips", "mountPath": path}, {"name": "state", "mountPath": "/var/lib/astrohub-archive"}]
    volume = next(v for v in pod["volumes"] if v["name"] == "hips")
    claim = values.get("archive", {}).get("hips", {}).get("persistentVolumeClaim")  # several replicas share one
    assert volume == ({"name": "hips", "persistentVolumeClaim": claim} if claim else
                      {"name": "hips", "emptyDir": {"sizeLimit": "20Gi"}})
    for mount in archive["volumeMounts"]:  # apart from the datasets and /archive (read-only, proprietary)
        if mount["name"] not in ("hips", "state"):
            assert mount.get("readOnly") and not path.startswith(mount["mountPath"].rstrip("/") + "/")
    # nothing else mounts it: user pods, Dask workers and the hub never see the archive's build folder
    others = [o for o in objects if o["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}
              and o["metadata"]["name"] != "astrohub-archive"]
    assert all(v["name"] != "hips" for o in others for v in o["spec"]["template"]["spec"].get("volumes", []))
    kubernetes_validate.validate(hs.archive(objects), hs.KUBE_VERSIONS[-1], strict=True)
    # and the archive command, given the ConfigMap's environment, builds its HiPS there
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    args = build_parser().parse_args([])
    assert str(args.hips) == path
    assert "ASTROHUB_ARCHIVE_HIPS_UPLOAD_MAX" not in config  # the archive's own default holds
    assert "ASTROHUB_ARCHIVE_HIPS_OWNER_MAX" not in config
    assert "ASTROHUB_ARCHIVE_HIPS_TOTAL_MAX" not in config
    monkeypatch.setenv("ASTROHUB_ARCHIVE_HIPS", "/elsewhere")  # the parsed flag, not a later environment, decides
    assert hips_root(ArchiveState(args.index, args.data_root, hips_dir=args.hips)) == Path(path)


def test_a_claim_keeps_the_hips(chart) -> None:
    values = hs.overlay("production")
    values.setdefault("archive", {})["hips"] = {"path": "/srv/hips", "persistentVolumeClaim": {"claimName": "archive-hips"}}
    pod, archive, config = _archive(hs.manifests(hs.render(chart, values)))
    assert config["ASTROHUB_ARCHIVE_HIPS"] == "/srv/hips"
    assert {"name": "hips", "persistentVolumeClaim": {"claimName": "archive-hips"}} in pod["volumes"]
    assert {"name": "hips", "mountPath": "/srv/hips"} in archive["volumeMounts"]


@pytest.mark.parametrize("key,flag,default", [("uploadMaxMiB", "hips_upload_max", 2048),
                                              ("ownerMaxMiB", "hips_owner_max", 4096),
                                              ("totalMaxMiB", "hips_total_max", 12288)])
def test_the_users_hips_limits_reach_the_archive(chart, monkeypatch, key: str, flag: str, default: int) -> None:
    """Each limit on users' HiPS, ``archive.hips.<key>`` (MiB), reaches the archive's ``--<flag>`` through the
    ConfigMap's environment (without it the archive's own default holds: the test above); a value that is not a
    whole number of MiB fails the render naming the key."""
    from astrohub_archive.app import ArchiveState, build_parser

    values = hs.overlay("production")
    values.setdefault("archive", {}).setdefault("hips", {}).update({"path": "/srv/hips", key: 2 * default})
    _, _, config = _archive(hs.manifests(hs.render(chart, values)))
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    assert getattr(build_parser().parse_args([]), flag) == 2 * default
    assert getattr(ArchiveState, flag) == default * 2**20  # not the default
    for bad in (0, 1.5, "1Gi"):
        values["archive"]["hips"][key] = bad
        with pytest.raises(Exception, match=key):
            hs.render(chart, values)


def test_the_rest_expiry_reaches_the_archive(chart, monkeypatch) -> None:
    """``archive.hips.restExpirySeconds`` reaches the archive's ``--hips-rest-expiry`` through the ConfigMap's
    environment (null: the archive's default, no variable); below 20 or not whole seconds fails the render naming
    the key. Before, the chart had no such key (its schema refused it)."""
    from astrohub_archive.app import build_parser

    values = hs.overlay("production")
    values.setdefault("archive", {}).setdefault("hips", {}).update({"path": "/srv/hips"})
    _, _, config = _archive(hs.manifests(hs.render(chart, values)))
    assert "ASTROHUB_ARCHIVE_HIPS_REST_EXPIRY" not in config
    values["archive"]["hips"]["restExpirySeconds"] = 1800
    _, _, config = _archive(hs.manifests(hs.render(chart, values)))
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    assert build_parser().parse_args([]).hips_rest_expiry == 1800
    for bad in (5, 60.5, "1h"):
        values["archive"]["hips"]["restExpirySeconds"] = bad
        with pytest.raises(Exception, match="restExpirySeconds"):
            hs.render(chart, values)


def test_the_group_recheck_reaches_the_archive(chart, monkeypatch) -> None:
    """``archive.groupRecheckSeconds`` reaches the archive's ``--group-recheck-seconds`` through the ConfigMap's
    environment (how soon a revoked token or a member removed from a group that shares a HiPS is refused; null: the
    archive's default, no variable; 0, asked at every request, is passed on); negative or not a number fails the
    render naming the key. Before, the chart had no such key (its schema refused it)."""
    from astrohub_archive.app import build_parser

    values = hs.overlay("production")
    _, _, config = _archive(hs.manifests(hs.render(chart, values)))
    assert "ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS" not in config
    for seconds in (0, 2.5, 30):
        values.setdefault("archive", {})["groupRecheckSeconds"] = seconds
        _, _, config = _archive(hs.manifests(hs.render(chart, values)))
        monkeypatch.setenv("ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS", config["ASTROHUB_ARCHIVE_GROUP_RECHECK_SECONDS"])
        assert build_parser().parse_args([]).group_recheck_seconds == seconds
    for bad in (-1, "5s"):
        values["archive"]["groupRecheckSeconds"] = bad
        with pytest.raises(Exception, match="groupRecheckSeconds"):
            hs.render(chart, values)


def test_the_hub_down_grace_reaches_the_archive(chart, monkeypatch) -> None:
    """archive26: ``archive.hubDownGraceSeconds`` reaches the archive's ``--hub-down-grace-seconds`` through the
    ConfigMap's environment (how long the hub's last answer about a token stands while the hub cannot be asked: a
    hub pod rescheduled takes longer than the archive's 60 s; null: the archive's default, no variable; 0, no
    grace, is passed on); negative or not a number fails the render naming the key. Before, the chart had no such
    key (its schema refused it)."""
    from astrohub_archive.app import build_parser

    values = hs.overlay("production")
    _, _, config = _archive(hs.manifests(hs.render(chart, values)))
    assert "ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS" not in config
    for seconds in (0, 2.5, 300):
        values.setdefault("archive", {})["hubDownGraceSeconds"] = seconds
        _, _, config = _archive(hs.manifests(hs.render(chart, values)))
        monkeypatch.setenv("ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS", config["ASTROHUB_ARCHIVE_HUB_DOWN_GRACE_SECONDS"])
        assert build_parser().parse_args([]).hub_down_grace_seconds == seconds
    for bad in (-1, "60s"):
        values["archive"]["hubDownGraceSeconds"] = bad
        with pytest.raises(Exception, match="hubDownGraceSeconds"):
            hs.render(chart, values)


@pytest.mark.parametrize("path,overlaps", [("/datasets/hips", "/datasets"), ("/archive/hips/", "/archive"),
                                           ("/datasets", "/datasets")])
def test_a_hips_folder_inside_a_read_only_mount_fails_the_render(chart, path, overlaps) -> None:
    values = hs.overlay("production")
    values.setdefault("archive", {}).setdefault("hips", {}).update({"path": path})
    with pytest.raises(Exception, match=rf"archive\.hips\.path: \"{path}\" overlaps {overlaps}"):
        hs.render(chart, values)


def test_the_archive_gets_a_writable_numba_cache_seeded_from_its_image(chart) -> None:
    """Positional joins call the crossmatch kernel: the archive seeds ``NUMBA_CACHE_DIR`` from the image's
    compiled kernel (the user image runs ``astrohub kernels compile``) instead of compiling it at each start."""
    objects = hs.manifests(hs.render(chart, hs.overlay("default")))
    _pod, archive, _config = _archive(objects)
    env = {e["name"]: e.get("value") for e in archive["env"]}
    cache = env["NUMBA_CACHE_DIR"]
    assert cache.startswith("/tmp/")
    assert not any(cache.startswith(m["mountPath"]) for m in archive["volumeMounts"] if m.get("readOnly"))
    dockerfile = (Path(__file__).parents[2] / "images" / "user" / "Dockerfile").read_text()
    assert "astrohub kernels compile" in dockerfile
    assert archive["image"].split(":")[0].endswith("/user")


def test_the_networks_tap_uploads_may_come_from_reach_the_archive(chart, monkeypatch) -> None:
    """Not HiPS, but the archive's other network setting of this kind: ``archive.uploadFrom`` is its
    ``--upload-from`` (TAP uploads by URL from an observatory's closed network); none by default."""
    from astrohub_archive.app import build_parser

    _, _, config = _archive(hs.manifests(hs.render(chart, hs.overlay("production"))))
    assert "ASTROHUB_ARCHIVE_UPLOAD_FROM" not in config  # public hosts only
    values = hs.overlay("production")
    values.setdefault("archive", {})["uploadFrom"] = ["10.1.0.0/16", "192.0.2.7"]
    _, _, config = _archive(hs.manifests(hs.render(chart, values)))
    monkeypatch.setenv("ASTROHUB_ARCHIVE_UPLOAD_FROM", config["ASTROHUB_ARCHIVE_UPLOAD_FROM"])
    assert build_parser().parse_args([]).upload_from == ["10.1.0.0/16", "192.0.2.7"]
    values["archive"]["uploadFrom"] = ["intranet"]
    with pytest.raises(Exception, match="uploadFrom|pattern"):
        hs.render(chart, values)


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_the_archive_keeps_its_tap_jobs_in_a_writable_volume(chart, name: str, monkeypatch) -> None:
    """The archive opens its async TAP jobs' SQLite file at start (beside the index unless told): on the
    read-only index mount that raised EROFS and the pod never started. The file must be in a writable mount
    of the archive container, never in the HiPS folder users read, nor in another pod's volumes."""
    from astrohub_archive.app import build_parser, jobs_path

    objects = hs.manifests(hs.render(chart, hs.overlay(name)))
    pod, archive, config = _archive(objects)
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    jobs = jobs_path(build_parser().parse_args([]))
    holding = [m for m in archive["volumeMounts"] if jobs.is_relative_to(m["mountPath"])]
    assert holding, f"{jobs} is in no mount of the archive container: the image's file system"
    assert all(not m.get("readOnly") for m in holding), f"{jobs} is under a read-only mount: {holding}"
    assert [m["name"] for m in holding] == ["state"]
    assert {"name": "state", "emptyDir": {}} in pod["volumes"]


def test_hips_cannot_share_the_archives_state_folder(chart) -> None:
    values = hs.overlay("production")
    values.setdefault("archive", {}).setdefault("hips", {}).update({"path": "/var/lib"})
    with pytest.raises(helm_python.HelmRenderError, match=r"archive\.hips\.path: \"/var/lib\" overlaps "
                       r"/var/lib/astrohub-archive, the archive's own state"):
        hs.render(chart, values)


@pytest.mark.parametrize("name", list(hs.OVERLAYS))
def test_the_archive_does_not_update_its_read_only_index(chart, name: str, monkeypatch) -> None:
    """The index is read-only in the archive pod: a periodic update there (the archive's default: daily, and at
    start) only logged an EROFS traceback each time. The pod keeps none; the index is maintained elsewhere."""
    from astrohub_archive.app import build_parser

    pod, archive, config = _archive(hs.manifests(hs.render(chart, hs.overlay(name))))
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    args = build_parser().parse_args([])
    holding = [m for m in archive["volumeMounts"] if Path(args.index).is_relative_to(m["mountPath"])]
    assert all(m.get("readOnly") for m in holding)
    assert float(args.update_every) == 0
