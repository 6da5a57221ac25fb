"""The LocalCluster a crossmatch (or a crossmatch job) starts: one thread in this process for small inputs; and
when LSDB's path reads the right partitions around the left rows instead of a margin too narrow."""

from __future__ import annotations

import os

import pytest

from astropy.table import Table

from platform_lib.crossmatch import _dask, dask_client, input_bytes


def test_a_small_input_is_matched_on_one_thread_in_this_process():
    # Two worker processes each imported astropy, lsdb and hats-import again: 10-20 s of a 3,000-row job.
    with dask_client(nbytes=10_000) as client:
        assert set(client.run(os.getpid).values()) == {os.getpid()}
        assert sum(client.nthreads().values()) == 1  # numba's parallel kernels never run two at a time


def test_input_bytes_counts_the_folders_and_stops_past_the_threshold(tmp_path, monkeypatch):
    for name, size in (("a/x.parquet", 300), ("a/d/y.parquet", 200), ("b/z.parquet", 100)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * size)
    assert input_bytes(tmp_path / "a", str(tmp_path / "b")) == 600
    monkeypatch.setattr(_dask, "THREADS_BELOW_BYTES", 250)
    assert input_bytes(tmp_path / "a", tmp_path / "b") > 250


def test_input_bytes_counts_the_folder_named_but_no_link_inside_it(tmp_path):
    """A link inside an input folder was followed (``rglob`` then ``is_file``), so a link to a large file elsewhere
    made a small input look large; the folder the user names is read even through a link."""
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "part.parquet").write_bytes(b"x" * 100)
    (tmp_path / "elsewhere.bin").write_bytes(b"y" * 1000)
    (tmp_path / "cat" / "link.bin").symlink_to(tmp_path / "elsewhere.bin")
    (tmp_path / "linked-cat").symlink_to(tmp_path / "cat")
    assert input_bytes(tmp_path / "cat") == 100
    assert input_bytes(tmp_path / "linked-cat") == 100


def test_input_bytes_is_unknown_for_what_is_not_a_folder(tmp_path):
    assert input_bytes(tmp_path, "gaia_dr3") is None  # a registry name
    assert input_bytes(tmp_path, Table({"ra": [1.0]})) is None


# lsdb 0.11 calls NestedFrame.drop(inplace=True), deprecated by pandas 3.1: theirs, not ours.
@pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")
def test_a_margin_too_narrow_is_read_around_for_a_whole_catalogue_on_disk_only(tmp_path):
    """lsdb18: LSDB's path refused a right margin narrower than the radius; now a whole HATS catalogue on disk
    (a path, or an LSDB catalogue opened from one) is read around the left rows instead, and only a filtered one
    (whose files hold more than it does) is refused, saying what to do."""
    import lsdb
    import numpy as np
    import pandas as pd

    from platform_lib.catalogs import write_hats
    from platform_lib.crossmatch import CrossmatchInputError

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"ra": rng.uniform(0, 10, 2_000), "dec": rng.uniform(-5, 5, 2_000)})
    write_hats(df, tmp_path / "c", name="c", ra_column="ra", dec_column="dec", partition_rows=300,
               margin_arcsec=2.0)
    cat = lsdb.open_catalog(tmp_path / "c")
    assert _dask._around(cat, 2.0, "c", 2.0, 0.0) is None  # wide enough: LSDB's partition and margin
    layout = _dask._around(cat, 10.0, "c", 10.0, 0.0)
    assert sorted(layout.pixels) == sorted((p.order, p.pixel) for p in cat.get_healpix_pixels())
    assert _dask._around(lsdb.open_catalog(tmp_path / "c" / "c"), 1.0, "c", 1.0, 0.0) is not None  # no margin
    for filtered, code in ((cat.query("dec > 0"), "margin-too-small"),
                           (lsdb.open_catalog(tmp_path / "c" / "c").cone_search(5, 0, 3600), "no-margin")):
        with pytest.raises(CrossmatchInputError, match="filtered LSDB catalogue.*compute") as err:
            _dask._around(filtered, 10.0, "c", 10.0, 0.0)
        assert err.value.code == code
