"""A space's quota file, ``<folder above>/.astrohub-quotas/<space folder>.json``, is worked out in three packages
that may not import each other: ``platform_lib.storage`` (``quota_path``: what notebooks' writes are held to and
``astrohub quotas set`` writes), ``astrohub_hub.folders`` (``quota_file``: the hub's pages and group/workspace
admin) and ``astrohub_server.quotas`` (``SpaceQuota.quota_file``: Lab's saves); ``astrohub_hub.kubernetes``
mounts the folder read-only in user pods. Each gives the same file for the same space, so a change in one
fails here rather than leaving one package reading a quota that another never wrote."""

from __future__ import annotations

from pathlib import Path

import fsspec

from astrohub_hub import folders, kubernetes
from astrohub_server import quotas
from platform_lib.storage import quota_path, read_quota, write_quota


def test_the_three_packages_name_the_same_quota_file(tmp_path):
    for root in (tmp_path / "groups" / "lensing", tmp_path / "workspaces" / "team-a", tmp_path / "home" / "ada.b"):
        expected = Path(quota_path(str(root)))
        assert expected == root.parent / ".astrohub-quotas" / f"{root.name}.json"
        assert quota_path(f"{root}/") == str(expected)
        assert folders.quota_file(root) == expected, root
        assert quotas.SpaceQuota("group/x", root).quota_file == expected, root
    assert folders.QUOTAS == quotas.QUOTAS == kubernetes.QUOTAS == Path(quota_path("/g/x")).parent.name


def test_a_quota_one_package_writes_the_others_read(tmp_path):
    fs, root = fsspec.filesystem("file"), tmp_path / "groups" / "lensing"
    root.mkdir(parents=True)
    write_quota(fs, str(root), 1000)  # astrohub quotas set
    assert folders.folder_quota(root) == 1000 and quotas.SpaceQuota("group/lensing", root).quota() == 1000
    folders.set_folder_quota(root, 2000)  # the hub's group admin
    assert read_quota(fs, str(root)) == 2000 and quotas.SpaceQuota("group/lensing", root).quota() == 2000
