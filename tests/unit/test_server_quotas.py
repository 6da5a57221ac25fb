"""Lab's saves keep to the spaces' quotas (astrohub_server.quotas), on jupyter_server's real contents manager.

team8: a teammate saving from JupyterLab went past the group folder's quota without a word, while every
write through platform_lib.storage was then refused.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

import nbformat
import pytest
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

from astrohub_server.quotas import check, enforce_quotas, space_of
from astrohub_server.uploads import ABANDONED_AFTER, atomic_uploads, remove_abandoned_under


@pytest.fixture()
def spaces(tmp_path):
    home, groups, workspaces, scratch = (tmp_path / n for n in ("home", "groups", "workspaces", "scratch"))
    for folder in (home, groups / "team", workspaces / "survey", scratch):
        folder.mkdir(parents=True)
    (home / "groups").symlink_to(groups)  # as astrohub_server.folders links it
    (home / "workspaces").symlink_to(workspaces)
    env = {"PLATFORM_HOME": str(home), "PLATFORM_GROUPS_ROOT": str(groups),
           "PLATFORM_WORKSPACES_ROOT": str(workspaces), "PLATFORM_SCRATCH": str(scratch)}
    manager = AsyncLargeFileManager(root_dir=str(home))
    enforce_quotas(manager, env)
    atomic_uploads(manager, lambda os_path, new, replaced: check(os_path, new, replaced, env))
    return manager, env, tmp_path


def _save(manager, path, model):
    return asyncio.run(manager.save(model, path))


def _set_quota(folder, nbytes):
    """The operator's quota of ``folder``: beside it, in ``.astrohub-quotas`` (``astrohub quotas set``)."""
    (folder.parent / ".astrohub-quotas").mkdir(exist_ok=True)
    (folder.parent / ".astrohub-quotas" / f"{folder.name}.json").write_text(json.dumps({"bytes": nbytes}))


def _text(content):
    return {"type": "file", "format": "text", "content": content}


def test_the_space_of_a_path_is_found_after_links(spaces):
    manager, env, root = spaces
    assert space_of(str(root / "home" / "groups" / "team" / "a.txt"), env).name == "group/team"
    assert space_of(str(root / "home" / "workspaces" / "survey" / "x" / "a.txt"), env).name == "workspace/survey"
    assert space_of(str(root / "home" / "notes.txt"), env).name == "home"
    assert space_of("/etc/hostname", env) is None


def test_a_save_past_a_group_folders_quota_is_refused_and_writes_nothing(spaces):
    manager, env, root = spaces
    team = root / "groups" / "team"
    _set_quota(team, 1000)
    # a quota file inside the folder, which any member can write, is not the quota (it was read: this lifted it)
    (team / ".astrohub-quota.json").write_text(json.dumps({"bytes": 10**15}))
    (team / "old.txt").write_bytes(b"o" * 600)
    _save(manager, "groups/team/ok.txt", _text("k" * 300))  # 900 of 1000
    with pytest.raises(web.HTTPError) as refused:
        _save(manager, "groups/team/big.txt", _text("b" * 200))
    assert refused.value.status_code == 413
    message = refused.value.log_message
    # classscore23: sizes as the hub's pages write them (it said "quota of 1,000 bytes (900 used)")
    assert message == ("group/team: saving big.txt (200 bytes) would exceed the space's quota of 1.0 kB (900 bytes "
                       "used). Free space or ask for a larger quota; nothing was saved."), message
    assert not (team / "big.txt").exists()
    # replacing a file counts only the difference, and the other spaces have no quota
    _save(manager, "groups/team/ok.txt", _text("k" * 400))
    _save(manager, "workspaces/survey/big.txt", _text("b" * 5000))
    _save(manager, "big.txt", _text("b" * 5000))
    with pytest.raises(web.HTTPError):  # an upload (base64) and a notebook are counted too
        _save(manager, "groups/team/up.bin", {"type": "file", "format": "base64",
                                              "content": base64.b64encode(b"u" * 200).decode()})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1\n" * 100)])
    with pytest.raises(web.HTTPError):
        _save(manager, "groups/team/analysis.ipynb", {"type": "notebook", "content": nb})
    assert sorted(p.name for p in team.iterdir()) == [".astrohub-quota.json", "ok.txt", "old.txt"]
    # in megabytes, as the class page and platform_lib.usage() say them (a sparse file: nothing written to disk)
    _set_quota(team, 3_000_000)
    with open(team / "old.txt", "r+b") as grown:
        grown.truncate(2_400_000 - 400)  # beside ok.txt's 400
    with pytest.raises(web.HTTPError) as refused:
        _save(manager, "groups/team/big.txt", _text("b" * 700_000))
    assert "saving big.txt (700.0 kB) would exceed the space's quota of 3.0 MB (2.4 MB used)" in \
        refused.value.log_message, refused.value.log_message


def test_a_chunked_upload_stops_at_the_quota_and_leaves_nothing_of_itself(spaces):
    manager, env, root = spaces
    space = root / "workspaces" / "survey"
    _set_quota(space, 1500)
    chunk = base64.b64encode(b"c" * 1000).decode()
    first = {"type": "file", "format": "base64", "content": chunk, "chunk": 1}
    _save(manager, "workspaces/survey/upload.bin", first)
    with pytest.raises(web.HTTPError) as refused:
        _save(manager, "workspaces/survey/upload.bin", {**first, "chunk": -1})
    assert refused.value.status_code == 413 and "workspace/survey" in refused.value.log_message
    # rel9: the first chunk was left behind as a partial upload.bin
    assert sorted(p.name for p in space.iterdir()) == []
    with pytest.raises(web.HTTPError) as gone:  # a later chunk of the refused upload: said, not appended
        _save(manager, "workspaces/survey/upload.bin", {**first, "chunk": 2})
    assert gone.value.status_code == 400 and "upload the file again" in gone.value.log_message
    with pytest.raises(web.HTTPError):  # a new upload's first chunk alone passes it
        _save(manager, "workspaces/survey/other.bin", {**first, "content": base64.b64encode(b"c" * 1600).decode()})


def test_a_chunked_upload_replaces_a_file_only_at_its_last_chunk(spaces):
    """rel9: chunk 1 wrote over the old file at once, so a refused or abandoned upload lost its content."""
    manager, env, root = spaces
    team = root / "groups" / "team"
    _set_quota(team, 2000)
    (team / "data.bin").write_bytes(b"o" * 1000)
    (team / "data.bin").chmod(0o640)
    part = {"type": "file", "format": "base64", "content": base64.b64encode(b"n" * 700).decode()}
    # refused at its third chunk (2,100 bytes in place of the 1,000 there: past the quota of 2,000)
    _save(manager, "groups/team/data.bin", {**part, "chunk": 1})
    listing = asyncio.run(manager.get("groups/team"))
    assert [c["name"] for c in listing["content"]] == ["data.bin"]  # the upload in progress is not listed
    assert _save(manager, "groups/team/data.bin", {**part, "chunk": 2})["size"] == 1400
    assert (team / "data.bin").read_bytes() == b"o" * 1000
    with pytest.raises(web.HTTPError) as refused:
        _save(manager, "groups/team/data.bin", {**part, "chunk": 3})
    assert refused.value.status_code == 413
    assert (team / "data.bin").read_bytes() == b"o" * 1000
    assert sorted(p.name for p in team.iterdir()) == ["data.bin"]
    # abandoned after two chunks (the tab closed), then uploaded whole: the file changes at the last chunk only
    _save(manager, "groups/team/data.bin", {**part, "chunk": 1})
    _save(manager, "groups/team/data.bin", {**part, "chunk": 2})
    assert (team / "data.bin").read_bytes() == b"o" * 1000
    _save(manager, "groups/team/data.bin", {**part, "chunk": 1})
    model = _save(manager, "groups/team/data.bin", {**part, "chunk": -1})
    assert model["size"] == 1400 and (team / "data.bin").read_bytes() == b"n" * 1400
    assert (team / "data.bin").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in team.iterdir()) == ["data.bin"]


def test_an_abandoned_upload_is_removed_at_a_later_upload_into_its_folder(spaces):
    manager, env, root = spaces
    part = {"type": "file", "format": "text", "content": "x" * 10}
    _save(manager, "left.txt", {**part, "chunk": 1})
    (sidecar,) = (root / "home").glob(".astrohub-upload-*")
    _save(manager, "fresh.txt", {**part, "chunk": 1})
    assert sidecar.exists()  # one still being uploaded is kept
    old = sidecar.stat().st_mtime - ABANDONED_AFTER - 1
    os.utime(sidecar, (old, old))
    _save(manager, "fresh.txt", {**part, "chunk": 1})
    assert not sidecar.exists() and not (root / "home" / "left.txt").exists()
    assert _save(manager, "fresh.txt", {**part, "chunk": -1})["size"] == 20


def test_abandoned_uploads_anywhere_in_the_home_are_removed_when_the_server_starts(tmp_path):
    """An upload abandoned in a folder nobody uploads to again would stay, hidden and not counted in a quota."""
    home, elsewhere = tmp_path / "home", tmp_path / "group"
    (home / "deep" / "er").mkdir(parents=True)
    elsewhere.mkdir()
    (home / "linked").symlink_to(elsewhere)  # links are not followed
    old, fresh = home / "deep" / "er" / ".astrohub-upload-big.fits", home / ".astrohub-upload-now.fits"
    other, mine = elsewhere / ".astrohub-upload-theirs.fits", home / "deep" / "data.fits"
    for path in (old, fresh, other, mine):
        path.write_bytes(b"x")
    stale = old.stat().st_mtime - ABANDONED_AFTER - 1
    for path in (old, other, mine):
        os.utime(path, (stale, stale))
    assert remove_abandoned_under(str(home)) == 1
    assert not old.exists() and fresh.exists() and other.exists() and mine.exists()
