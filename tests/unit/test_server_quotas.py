"""Lab's saves keep to the spaces' quotas (astrohub_server.quotas), on jupyter_server's real contents manager.

team8: a teammate saving from JupyterLab went past the group folder's quota without a word, while every
write through platform_lib.storage was then refused.
"""

from __future__ import annotations

import asyncio
import base64
import json

import nbformat
import pytest
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

from astrohub_server.quotas import enforce_quotas, space_of


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
    return manager, env, tmp_path


def _save(manager, path, model):
    return asyncio.run(manager.save(model, path))


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
    (team / ".astrohub-quota.json").write_text(json.dumps({"bytes": 1000}))
    (team / "old.txt").write_bytes(b"o" * 600)
    _save(manager, "groups/team/ok.txt", _text("k" * 300))  # 900 of 1000
    with pytest.raises(web.HTTPError) as refused:
        _save(manager, "groups/team/big.txt", _text("b" * 200))
    assert refused.value.status_code == 413
    message = refused.value.log_message
    assert "group/team" in message and "1,000" in message and "900 used" in message and "nothing was saved" in message
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


def test_a_chunked_upload_stops_at_the_quota(spaces):
    manager, env, root = spaces
    space = root / "workspaces" / "survey"
    (space / ".astrohub-quota.json").write_text(json.dumps({"bytes": 1500}))
    chunk = base64.b64encode(b"c" * 1000).decode()
    first = {"type": "file", "format": "base64", "content": chunk, "chunk": 1}
    _save(manager, "workspaces/survey/upload.bin", first)
    with pytest.raises(web.HTTPError) as refused:
        _save(manager, "workspaces/survey/upload.bin", {**first, "chunk": -1})
    assert refused.value.status_code == 413 and "workspace/survey" in refused.value.log_message
    assert (space / "upload.bin").stat().st_size == 1000
    with pytest.raises(web.HTTPError):  # a new upload's first chunk alone passes it
        _save(manager, "workspaces/survey/other.bin", first)
