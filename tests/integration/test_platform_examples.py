"""The tutorials in examples/ run, cell after cell in one kernel, on the real platform."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def code_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_getting_started_notebook(platform):
    user, group = platform.unique("eve"), platform.unique("club")
    platform.create_user(user)
    platform.create_group(group, [user])
    platform.start_server(user)
    try:
        out = platform.execute(user, code_of(EXAMPLES / "getting-started.ipynb"), timeout=300)
    finally:
        platform.stop_server(user)
    assert f"user:     {user}" in out
    assert "my first astrohub file" in out
    assert f"{group} ->" in out
    assert "mean of 4 million normal draws" in out
    assert (platform.data_dir / "home" / user / "getting-started.txt").read_text() == "my first astrohub file\n"
