"""The archive service keeps its index current: builds a missing index at start, then updates on a schedule.

The service runs as a subprocess (``archive_process.start_archive``) with ``--update-every 1`` over a data tree
made here (tiny real FITS files with a TAN WCS); the test adds and removes files and polls SIA v2 until the
answer changes, against a deadline.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import requests
from astropy.io import fits

sys.path.insert(0, str(Path(__file__).parent))
from archive_process import start_archive, stop_archive  # noqa: E402


def write_image(root: Path, name: str, ra: float) -> None:
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=0.0, CRPIX1=2.5, CRPIX2=2.5,
             CDELT1=-0.01, CDELT2=0.01, TELESCOP="TEST", RELEASE="2000-01-01")
    fits.PrimaryHDU(np.zeros((4, 4), np.float32), header=h).writeto(root / f"{name}.fits")


def obs_ids(base: str) -> set[str] | None:
    from astropy.io.votable import parse_single_table

    resp = requests.get(base + "sia/query", params={"COLLECTION": "TEST"}, timeout=10)
    if resp.status_code != 200:
        return None
    return {str(x) for x in parse_single_table(io.BytesIO(resp.content)).to_table()["obs_id"]}


def test_service_builds_missing_index_then_updates_on_schedule(tmp_path, poll, monkeypatch):
    data = tmp_path / "images"
    data.mkdir()
    write_image(data, "a", 10.0)
    write_image(data, "b", 20.0)
    index = tmp_path / "index.sqlite"
    log_path = tmp_path / "archive.log"
    monkeypatch.setenv("ASTROHUB_ARCHIVE_UPDATE_EVERY", "1")
    proc, base = start_archive(["--index", str(index), "--data-root", str(data), "--log-level", "INFO"], log_path)

    def answer():
        try:
            return obs_ids(base)
        except requests.ConnectionError:
            assert proc.poll() is None, log_path.read_text()[-2000:]
            return None

    try:
        assert poll(lambda: answer() == {"a", "b"}, 60, "the initial build")
        write_image(data, "c", 30.0)
        (data / "a.fits").unlink()
        poll(lambda: answer() == {"b", "c"}, 60, "the scheduled update to add c and drop a")
    finally:
        log = stop_archive(proc, log_path)
    assert "Traceback" not in log, log[-3000:]
    assert "index updated" in log
