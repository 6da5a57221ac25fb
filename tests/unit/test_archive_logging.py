"""The archive's log (``astrohub_archive.app.configure_logging``): no tqdm progress bars from lsdb's HiPS reads."""

from __future__ import annotations

import io
import logging
import sys
import warnings

import numpy as np
import pandas as pd


def test_the_archive_log_has_no_progress_bars_but_keeps_the_rest(monkeypatch, tmp_path):
    """lsdb's ``compute()`` (what a HiPS build reads partitions with) draws "Computing Catalog" bars on
    stderr by default; in the archive they are dropped, while other stderr output and log records stay."""
    from astrohub_archive.app import configure_logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' deprecation of an option lsdb sets on import
        import lsdb

        from platform_lib.catalogs import write_hats
    rng = np.random.default_rng(3)
    stars = pd.DataFrame({"id": np.arange(200), "ra": rng.uniform(0, 360, 200), "dec": rng.uniform(-80, 80, 200)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lsdb/pandas deprecation chatter
        write_hats(stars, tmp_path / "stars", name="stars", ra_column="ra", dec_column="dec", partition_rows=50)
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lsdb.open_catalog(tmp_path / "stars").compute()
    assert "Computing Catalog" in stderr.getvalue()  # what the log held before

    stderr.truncate(0)
    stderr.seek(0)
    configure_logging("info")
    configure_logging("info")  # idempotent: one wrapper
    assert getattr(sys.stderr, "_stream", None) is stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = lsdb.open_catalog(tmp_path / "stars").compute()
    assert len(frame) == 200
    print("astrohub-archive: error: something to say", file=sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger("astrohub_archive.test").addHandler(handler)
    try:
        logging.getLogger("astrohub_archive.test").warning("a log record")
    finally:
        logging.getLogger("astrohub_archive.test").removeHandler(handler)
    text = stderr.getvalue()
    assert "Computing Catalog" not in text and "Building task graph" not in text
    assert "something to say" in text and "a log record" in text
