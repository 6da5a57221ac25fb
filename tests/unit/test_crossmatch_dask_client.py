"""The LocalCluster a crossmatch (or a crossmatch job) starts: one thread in this process for small inputs."""

from __future__ import annotations

import os

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
