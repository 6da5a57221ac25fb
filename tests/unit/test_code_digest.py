"""``platform_lib.codedigest.code_digest``: the one digest of the platform's own source that the image index's
``derivation`` and the sample data's versions are made of (code16: each had its own copy)."""

from __future__ import annotations

from pathlib import Path

from platform_lib.codedigest import PLATFORM, code_digest


def test_the_digest_follows_the_named_files_and_no_other(tmp_path) -> None:
    (tmp_path / "maps").mkdir()
    for name in ("reader.py", "search.py", "maps/a.json"):
        (tmp_path / name).write_text(f"# {name}\n")
    patterns = ("reader.py", "maps/*.json")
    before = code_digest(patterns, tmp_path)

    (tmp_path / "search.py").write_text("# an edit of a module no pattern names\n")
    assert code_digest(patterns, tmp_path) == before
    (tmp_path / "reader.py").write_text("# an edit of a named module\n")
    edited = code_digest(patterns, tmp_path)
    assert edited != before
    (tmp_path / "maps" / "b.json").write_text("{}")  # a new file a pattern names
    assert code_digest(patterns, tmp_path) != edited
    # the paths count, not only the bytes: the same content under another name is other code
    (tmp_path / "maps" / "b.json").rename(tmp_path / "maps" / "c.json")
    assert code_digest(patterns, tmp_path) not in (before, edited)


def test_every_pattern_the_platform_hashes_names_a_file() -> None:
    """A pattern that matches nothing (a module renamed) would drop that code from the digest without a word."""
    from platform_lib.imageindex import ingest
    from platform_lib.sampledata import _versions

    for pattern in {*ingest._DERIVATION_CODE, *_versions.CATALOG_CODE, *_versions.IMAGE_CODE, *_versions.SKYMAP_CODE}:
        assert [p for p in PLATFORM.glob(pattern) if p.is_file()], f"{pattern!r} names no file under {PLATFORM}"


def test_the_index_works_out_its_derivation_once_per_process(tmp_path, monkeypatch) -> None:
    """``update_index`` compared the index's derivation with this code's and then wrote it: two digests of the
    index's source per call, and another for every update of a running archive."""
    from astropy.io import fits
    import numpy as np

    from platform_lib.imageindex import build_index, ingest, update_index

    data = tmp_path / "data"
    data.mkdir()
    header = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 10.0, "CRVAL2": 0.0, "CRPIX1": 2.5,
                          "CRPIX2": 2.5, "CDELT1": -0.01, "CDELT2": 0.01, "RELEASE": "2000-01-01"})
    fits.PrimaryHDU(np.zeros((4, 4), np.float32), header=header).writeto(data / "img.fits")
    calls = []

    def counted(patterns, root=None):
        calls.append(tuple(patterns))
        return code_digest(patterns, root)

    monkeypatch.setattr(ingest, "code_digest", counted)
    ingest.derivation.cache_clear()
    try:
        build_index(tmp_path / "index.sqlite", data, workers=1)
        for _ in range(2):
            assert not update_index(tmp_path / "index.sqlite", data, workers=1).rederived
        assert calls == [ingest._DERIVATION_CODE]
    finally:
        ingest.derivation.cache_clear()  # the next caller works it out with the real function
