"""The tutorials copied into each home: new ones appear, untouched ones are refreshed, edits are kept."""

from __future__ import annotations

import json

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


def test_no_source_copies_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("ASTROHUB_TUTORIALS", raising=False)
    assert Tutorials().sync(tmp_path) == {}
    assert Tutorials(source=str(tmp_path / "missing")).sync(tmp_path) == {}
    assert not (tmp_path / "tutorials").exists()
