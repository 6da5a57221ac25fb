"""``astrohub catalogs ingest --keep-replaced``: an operator's ingest with ``--replace`` kept the versions it replaced
for the library's fixed hour, whatever the platform's setting (astrohub.toml's ``archive.keep_replaced``, the chart's
``archive.keepReplacedSeconds``) said; the flag gives that time, and a bad one is a usage error naming it."""

from __future__ import annotations

import pytest

from platform_lib.catalogs import Registry
from platform_lib.cli import main


def _versions(registry: Registry) -> set[str]:
    """The catalogue ``t``'s versions on disk (``t_=<id>`` folders; ``t`` is the link to the current one)."""
    return {p.name for p in registry.data_root.iterdir() if p.name.startswith("t_=")}


def test_ingest_removes_the_versions_replaced_longer_ago_than_it_is_told(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("ra,dec,mag\n10.0,20.0,5.1\n10.1,20.1,6.2\n")
    reg = tmp_path / "registry.sqlite"
    ingest = ["catalogs", "ingest", str(table), "--registry", str(reg), "--no-progress"]
    assert main(ingest) == 0
    first = _versions(Registry(reg))
    assert main([*ingest, "--replace"]) == 0
    assert main([*ingest, "--replace"]) == 0  # the default, an hour: both replaced versions stay
    assert len(_versions(Registry(reg))) == 3 and first < _versions(Registry(reg))
    assert main([*ingest, "--replace", "--keep-replaced", "0"]) == 0
    kept = _versions(Registry(reg))
    assert len(kept) == 2 and not first & kept  # the two replaced before this ingest are gone; the one it replaced stays
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main([*ingest, "--replace", "--keep-replaced", "an hour"])
    assert stopped.value.code == 2
    assert "--keep-replaced: 'an hour': give 0 or more seconds" in capsys.readouterr().err
