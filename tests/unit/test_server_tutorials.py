"""The tutorials copied into each home: new ones appear, untouched ones are refreshed, edits are kept."""

from __future__ import annotations

import errno
import json
import os

import pytest

from astrohub_server import tutorials as tutorials_module
from astrohub_server.tutorials import STATE_FILE, Tutorials


def _nb(text: str) -> str:
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": [text]}], "metadata": {},
                       "nbformat": 4, "nbformat_minor": 5})


def test_copy_refresh_and_keep_the_users_edits(tmp_path):
    src, home = tmp_path / "examples", tmp_path / "home"
    src.mkdir()
    (src / "a.ipynb").write_text(_nb("a v1"))
    (src / "b.ipynb").write_text(_nb("b v1"))
    (src / "notes.txt").write_text("not a notebook")
    tutorials = Tutorials(source=str(src))
    assert tutorials.sync(home) == {"a.ipynb": "copied", "b.ipynb": "copied"}
    assert (home / "tutorials" / "a.ipynb").read_text() == _nb("a v1")
    assert not (home / "tutorials" / "notes.txt").exists()
    assert tutorials.sync(home) == {"a.ipynb": "current", "b.ipynb": "current"}

    (home / "tutorials" / "a.ipynb").write_text(_nb("a, my own notes"))  # the user edits a
    (src / "a.ipynb").write_text(_nb("a v2"))  # the platform updates both
    (src / "b.ipynb").write_text(_nb("b v2"))
    (src / "c.ipynb").write_text(_nb("c v1"))  # and adds one
    assert tutorials.sync(home) == {"a.ipynb": "kept", "b.ipynb": "refreshed", "c.ipynb": "copied"}
    assert (home / "tutorials" / "a.ipynb").read_text() == _nb("a, my own notes")
    assert (home / "tutorials" / "b.ipynb").read_text() == _nb("b v2")
    assert tutorials.sync(home)["a.ipynb"] == "kept"  # still the user's, on every later start

    (home / "tutorials" / "b.ipynb").unlink()  # a deleted tutorial comes back
    assert tutorials.sync(home)["b.ipynb"] == "copied"
    assert set(json.loads((home / "tutorials" / STATE_FILE).read_text())) == {"a.ipynb", "b.ipynb", "c.ipynb"}


def test_a_tutorial_only_opened_or_run_is_refreshed_one_whose_cells_were_edited_is_kept(tmp_path):
    """first11: opening a tutorial has Lab add its kernel's metadata (language_info) and autosave it; running it
    adds outputs. Either made the copy "the user's own", so getting-started (which the first sign-in opens) and
    every tutorial she opened never received the platform's next version."""
    src, home = tmp_path / "examples", tmp_path / "home"
    src.mkdir()
    for name in ("opened", "edited"):
        (src / f"{name}.ipynb").write_text(_nb(f"{name} v1"))
    tutorials = Tutorials(source=str(src))
    tutorials.sync(home)
    opened = json.loads((home / "tutorials" / "opened.ipynb").read_text())
    opened["metadata"]["language_info"] = {"name": "python", "version": "3.11.2"}
    opened["cells"][0]["metadata"] = {"tags": []}
    (home / "tutorials" / "opened.ipynb").write_text(json.dumps(opened, indent=1))
    (home / "tutorials" / "edited.ipynb").write_text(_nb("edited v1, with my notes"))
    for name in ("opened", "edited"):
        (src / f"{name}.ipynb").write_text(_nb(f"{name} v2"))
    assert tutorials.sync(home) == {"edited.ipynb": "kept", "opened.ipynb": "refreshed"}
    assert (home / "tutorials" / "opened.ipynb").read_text() == _nb("opened v2")
    assert (home / "tutorials" / "edited.ipynb").read_text() == _nb("edited v1, with my notes")


def test_the_guides_are_copied_beside_the_tutorials_and_the_users_edits_kept(tmp_path):
    """first11: the guides the tutorials and help() point to (docs/*.md) were nowhere in a user's Lab, which has
    no internet: a newcomer had no way to read them. Their pages and pictures now come into tutorials/guides/."""
    src, docs, home = tmp_path / "examples", tmp_path / "docs", tmp_path / "home"
    src.mkdir()
    docs.mkdir()
    (src / "a.ipynb").write_text(_nb("a v1"))
    (docs / "storage.md").write_text("# Storage\n")
    (docs / "figure.png").write_bytes(b"\x89PNG")
    (docs / "build.py").write_text("not a guide")
    tutorials = Tutorials(source=str(src), guides=str(docs))
    assert tutorials.sync(home) == {"a.ipynb": "copied", "guides/figure.png": "copied", "guides/storage.md": "copied"}
    guides = home / "tutorials" / "guides"
    assert sorted(p.name for p in guides.iterdir()) == ["figure.png", "storage.md"]
    (guides / "storage.md").write_text("# Storage, with my notes\n")
    (docs / "storage.md").write_text("# Storage v2\n")
    (docs / "figure.png").write_bytes(b"\x89PNG v2")
    assert tutorials.sync(home) == {"a.ipynb": "current", "guides/figure.png": "refreshed", "guides/storage.md": "kept"}
    assert (guides / "storage.md").read_text() == "# Storage, with my notes\n"
    assert Tutorials(guides=str(docs)).sync(tmp_path / "other")["guides/storage.md"] == "copied"  # no notebooks


def test_a_full_home_leaves_no_temporary_file_at_a_server_start(tmp_path, monkeypatch):
    """rel9: the record of copied tutorials, written at every server start, left a hidden temporary file in
    ~/tutorials each time its write failed (a home at its quota)."""
    src, home = tmp_path / "examples", tmp_path / "home"
    src.mkdir()
    (src / "a.ipynb").write_text(_nb("a v1"))
    tutorials = Tutorials(source=str(src))
    tutorials.sync(home)
    replace = os.replace

    def full(tmp, dest):
        if os.path.basename(dest) == STATE_FILE:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        return replace(tmp, dest)

    monkeypatch.setattr(tutorials_module.os, "replace", full)
    (src / "b.ipynb").write_text(_nb("b v1"))
    with pytest.raises(OSError):
        tutorials.sync(home)
    assert sorted(p.name for p in (home / "tutorials").iterdir()) == [STATE_FILE, "a.ipynb", "b.ipynb"]
    assert set(json.loads((home / "tutorials" / STATE_FILE).read_text())) == {"a.ipynb"}


def test_no_source_copies_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("ASTROHUB_TUTORIALS", raising=False)
    monkeypatch.delenv("ASTROHUB_GUIDES", raising=False)
    assert Tutorials().sync(tmp_path) == {}
    assert Tutorials(source=str(tmp_path / "missing")).sync(tmp_path) == {}
    assert not (tmp_path / "tutorials").exists()


class _Lab:
    def __init__(self, workspaces_dir):
        self.workspaces_dir = str(workspaces_dir)


class _Server:
    """The parts of a jupyter_server ServerApp that Tutorials.start reads."""

    def __init__(self, root_dir, workspaces_dir):
        import logging
        import types

        self.root_dir = str(root_dir)
        self.log = logging.getLogger("test")
        self.extension_manager = types.SimpleNamespace(extension_apps={"jupyterlab": {_Lab(workspaces_dir)}})


def test_first_sign_in_opens_getting_started_and_later_ones_keep_the_users_layout(tmp_path):
    from astrohub_server.workspace import WORKSPACE_FILE

    src, home, spaces = tmp_path / "examples", tmp_path / "home", tmp_path / "lab-workspaces"
    src.mkdir()
    (src / "getting-started.ipynb").write_text(_nb("start here"))
    (src / "catalogues.ipynb").write_text(_nb("catalogues"))
    server = _Server(home, spaces)
    Tutorials(source=str(src)).start(server)
    layout = json.loads((spaces / WORKSPACE_FILE).read_text())
    assert layout["metadata"]["id"] == "default"
    main = layout["data"]["layout-restorer:data"]["main"]
    assert main["current"] == "notebook:tutorials/getting-started.ipynb" == main["dock"]["widgets"][0]
    assert layout["data"][main["current"]]["data"] == {"path": "tutorials/getting-started.ipynb", "factory": "Notebook"}

    mine = json.dumps({"data": {"my": "layout"}, "metadata": {"id": "default"}})
    (spaces / WORKSPACE_FILE).write_text(mine)  # Lab saved the user's own layout
    Tutorials(source=str(src)).start(server)  # the next sign-in
    assert (spaces / WORKSPACE_FILE).read_text() == mine
    (spaces / WORKSPACE_FILE).unlink()  # even with no saved layout, a returning user gets no first layout
    Tutorials(source=str(src)).start(server)
    assert not (spaces / WORKSPACE_FILE).exists()

    other = tmp_path / "other"  # a new user whose Lab already saved a layout: kept
    (spaces2 := tmp_path / "spaces2").mkdir()
    (spaces2 / WORKSPACE_FILE).write_text(mine)
    Tutorials(source=str(src)).start(_Server(other, spaces2))
    assert (spaces2 / WORKSPACE_FILE).read_text() == mine
    assert (other / "tutorials" / "getting-started.ipynb").exists()


def test_a_tutorial_is_copied_with_the_metadata_its_kernel_gives_so_opening_it_changes_nothing(tmp_path):
    """hour13: getting-started, opened by the first sign-in, showed as modified at once: Lab writes the kernel's
    ``kernelspec`` ("Python 3 (ipykernel)", the examples said "Python 3") and ``language_info`` (the examples had
    none) into a notebook when its kernel starts. Now the copy holds what a real kernel of the server's default
    kernelspec answers, which Lab leaves alone (it sets only values that differ)."""
    import types

    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import start_new_kernel

    src, home = tmp_path / "examples", tmp_path / "home"
    src.mkdir()
    example = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["start"]}], "nbformat": 4,
               "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}}}
    (src / "getting-started.ipynb").write_text(json.dumps(example))
    (src / "broken.ipynb").write_text("{not json")
    server = _Server(home, tmp_path / "spaces")
    server.kernel_spec_manager = KernelSpecManager()
    server.kernel_manager = types.SimpleNamespace(default_kernel_name="python3")
    Tutorials(source=str(src)).start(server)
    copied = json.loads((home / "tutorials" / "getting-started.ipynb").read_text())
    assert copied["cells"] == example["cells"]
    assert (home / "tutorials" / "broken.ipynb").read_text() == "{not json"  # copied as it is

    manager, client = start_new_kernel(kernel_name="python3")  # what Lab reads from the kernel it starts
    try:
        info = client.kernel_info(reply=True, timeout=60)["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert copied["metadata"]["language_info"] == info["language_info"]
    assert copied["metadata"]["kernelspec"] == {"name": "python3", "display_name": spec.display_name,
                                                "language": spec.language}


def test_a_tutorial_is_copied_as_nbformat_writes_it_so_a_save_in_lab_changes_no_byte(tmp_path):
    """polish24: a tutorial opened in Lab and saved untouched (Ctrl-S, or Lab's autosave) came back with other bytes:
    the copy's metadata keys were in our order (``kernelspec``'s name first, ``language_info`` as ipykernel lists
    it) and Lab's save, through jupyter_server, writes what nbformat writes (keys sorted). Every real example,
    copied with the metadata of the server's default kernel, is now byte for byte what nbformat writes for it,
    valid and at nbformat's current version."""
    import types
    from pathlib import Path

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager

    examples = Path(__file__).resolve().parents[2] / "examples"
    home = tmp_path / "home"
    server = _Server(home, tmp_path / "spaces")
    server.kernel_spec_manager = KernelSpecManager()
    server.kernel_manager = types.SimpleNamespace(default_kernel_name="python3")
    Tutorials(source=str(examples), guides="").start(server)
    copied = sorted((home / "tutorials").glob("*.ipynb"))
    assert [p.name for p in copied] == sorted(p.name for p in examples.glob("*.ipynb")) and len(copied) >= 9
    for path in copied:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        nbformat.validate(nb)
        assert (nb.nbformat, nb.nbformat_minor) == (nbformat.current_nbformat, nbformat.current_nbformat_minor)
        assert "language_info" in nb.metadata, path.name  # (the metadata was written: the case this is about)
        saved = tmp_path / "saved.ipynb"
        nbformat.write(nb, saved, version=nbformat.NO_CONVERT)  # what jupyter_server's save writes
        assert saved.read_text(encoding="utf-8") == text, path.name
