"""A save into a folder that is gone is a 404 saying so (astrohub_server.contents), on jupyter_server's real
contents manager.

team8: a teammate moved or deleted a folder of the group's (or a workspace) while alice had a notebook of it
open; her save was a 500 "Unexpected error while saving file ... No such file or directory".
"""

from __future__ import annotations

import asyncio
import shutil

import nbformat
import pytest
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado import web

from astrohub_server.contents import refuse_gone_links, refuse_missing_folder


def test_a_save_into_a_folder_a_teammate_removed_is_a_404_that_says_so(tmp_path):
    manager = AsyncLargeFileManager(root_dir=str(tmp_path))
    refuse_missing_folder(manager)
    (tmp_path / "results").mkdir()
    notebook = {"type": "notebook", "content": nbformat.v4.new_notebook()}
    asyncio.run(manager.save(notebook, "results/analysis.ipynb"))
    shutil.rmtree(tmp_path / "results")  # the teammate's move (checkpoints and all)
    for model in (notebook, {"type": "file", "format": "text", "content": "x"},
                  {"type": "file", "format": "base64", "content": "eA==", "chunk": 1}):
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(manager.save(model, "/results/analysis.ipynb"))
        assert refused.value.status_code == 404
        assert "folder 'results' no longer exists" in refused.value.log_message
        assert "Save As" in refused.value.log_message
    assert not (tmp_path / "results").exists()
    asyncio.run(manager.save({"type": "directory"}, "results"))  # making the folder again is not refused
    asyncio.run(manager.save(notebook, "results/analysis.ipynb"))
    assert (tmp_path / "results" / "analysis.ipynb").is_file()


def test_a_path_in_a_shared_folder_that_no_longer_lets_you_in_says_you_left_it():
    """team12: a member removed from a group (or workspace) with a notebook of it open in Lab saved it and read
    "leads where you may not read ...; it may be a link into another user's folder"."""
    from astrohub_server.contents import _refusal

    denied = PermissionError(13, "Permission denied")
    for path, shared in (("/groups/lensing/team.ipynb", "the group 'lensing'"),
                         ("workspaces/survey/a/b.csv", "the workspace 'survey'"),
                         ("classes/w101/materials/x.ipynb", "the class 'w101'")):  # walk17c: a student who left
        refusal = _refusal(path, denied)
        assert refusal.status_code == 403 and f"no longer, a member of {shared}" in refusal.log_message
        assert "Save As" in refusal.log_message
    assert "another user's folder" in _refusal("/elsewhere/x", denied).log_message
    assert "another user's folder" in _refusal("/groups", denied).log_message


def test_a_deleted_groups_link_left_in_the_home_is_a_410_that_says_so(tmp_path):
    """qa14: ben, removed from a group later deleted, kept ``~/groups/<group>`` (the group sync removes the links of
    a deleted group's members, not a former member's): Lab's file browser listed it, and opening it answered 400
    "Cannot read non-file ..."."""
    (tmp_path / "home" / "groups").mkdir(parents=True)
    manager = AsyncLargeFileManager(root_dir=str(tmp_path / "home"))
    refuse_gone_links(manager)
    (tmp_path / "home" / "groups" / "lensing").symlink_to(tmp_path / "groups" / "lensing")  # moved aside: nowhere
    for path in ("groups/lensing", "/groups/lensing/notes.ipynb"):
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(manager.get(path))
        assert refused.value.status_code == 410  # Gone (the contents handler rewords a 404's message)
        assert "the group 'lensing', which no longer exists" in refused.value.log_message
    assert [c["name"] for c in asyncio.run(manager.get("groups"))["content"]] == ["lensing"]  # still listed
    (tmp_path / "groups" / "lensing").mkdir(parents=True)  # a link that leads somewhere is answered as before
    assert asyncio.run(manager.get("groups/lensing"))["type"] == "directory"
    assert [c["name"] for c in asyncio.run(manager.get("groups"))["content"]] == ["lensing"]


@pytest.mark.parametrize("path", ["a" * 300, "b" * 250 + ".ipynb", "/".join(["c" * 200] * 25)])
def test_a_path_longer_than_the_file_system_takes_is_a_400_saying_so(tmp_path, path):
    """errpages25: ``GET api/contents/<a 300-character name>`` was a 500 "Unhandled error" (``is_hidden``'s ``stat``
    raised "File name too long"); a 400 now, naming the path and the limits."""
    from astrohub_server.contents import refuse_unreadable

    manager = AsyncLargeFileManager(root_dir=str(tmp_path))
    refuse_unreadable(manager)
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(manager.is_hidden(path))
    assert refused.value.status_code == 400, refused.value
    assert f"the path {path[:60]!r}... ({len(path)} characters) is longer than the file system takes" \
        in refused.value.log_message
    assert not asyncio.run(manager.is_hidden("short.ipynb"))  # a name the file system takes: as before
