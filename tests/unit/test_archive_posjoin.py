"""Positional joins' prepared catalogue sides (``astrohub_archive.posjoin.SIDES``): kept between queries,
never across a re-ingest or another query's WHERE terms, and always the range join's rows."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from astrohub_archive import posjoin
from astrohub_archive.adql import translate
from astrohub_archive.engine import run_plan
from astrohub_archive.posjoin import Kernel, SideCache
from astrohub_archive.tapschema import ColumnDesc, TableDesc, TableSet
from astrohub_archive.uploads import read_uploads
from platform_lib.imageindex import Viewer

N, M = 20_000, 600


@pytest.fixture(scope="module", autouse=True)
def warm_kernel():
    """The crossmatch kernel compiled (or loaded) before any query, as the service does at start
    (``posjoin.Kernel.warm``): a first call compiles it for 25 to 65 s, inside the query's time limit, and this
    module's joins failed on a loaded machine when one of them met the kernel first in its process."""
    Kernel().warm()


@pytest.fixture
def sides(monkeypatch):
    cache = SideCache()
    monkeypatch.setattr(posjoin, "SIDES", cache)
    return cache


def _write_catalogue(path, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A catalogue of N positions in a 10-degree patch (id, ra, dec, mag), written as a re-ingest does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ra, dec = rng.uniform(100, 110, N), rng.uniform(-5, 5, N)
    pq.write_table(pa.table({"id": np.arange(N), "ra": ra, "dec": dec, "mag": rng.uniform(10, 20, N)}),
                   str(path) + ".tmp")
    os.replace(str(path) + ".tmp", path)
    return ra, dec


def _setup(tmp_path):
    from astropy.table import Table

    ra, dec = _write_catalogue(tmp_path / "cat.parquet", 1)
    cols = tuple(ColumnDesc(c, t) for c, t in (("id", "long"), ("ra", "double"), ("dec", "double"),
                                                 ("mag", "double")))
    cat = TableDesc("bench.cat", "bench", cols, "catalog", data_path=tmp_path / "cat.parquet", ra_column="ra",
                    dec_column="dec", nrows=N)
    rng = np.random.default_rng(2)
    pick = rng.choice(N, M, replace=False)
    buf = io.BytesIO()
    Table({"uid": np.arange(M), "ra": ra[pick], "dec": dec[pick] + 0.2 / 3600}).write(buf, format="votable")
    descs, data = read_uploads({"mine": buf.getvalue()})
    return TableSet({"bench.cat": cat}), descs, data, pick


def _run(adql, tables, descs, data, kernel=True):
    plan = translate(adql, tables, descs)
    assert plan.joins
    out, _ = run_plan(plan, tables=tables, state=None, viewer=Viewer(), access_base="", maxrec=10**6,
                      uploads=data, kernel=kernel)
    return sorted(zip(np.asarray(out["uid"]).tolist(), np.asarray(out["id"]).tolist()))


XMATCH = ("SELECT u.uid, c.id FROM TAP_UPLOAD.mine AS u JOIN bench.cat AS c ON "
          "1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', u.ra, u.dec, 1.0 / 3600)){where}")


def test_a_catalogue_side_is_prepared_once_and_answers_as_the_range_join(tmp_path, sides):
    tables, descs, data, pick = _setup(tmp_path)
    want = _run(XMATCH.format(where=""), tables, descs, data, kernel=False)
    assert want == sorted(zip(range(M), pick.tolist()))
    for rep in range(3):
        assert _run(XMATCH.format(where=""), tables, descs, data) == want
        assert (sides.misses, sides.hits, len(sides)) == (1, rep, 1)
    assert sides.nbytes >= 20 * N
    # The same join written the other way round (the catalogue first) finds the same pairs.
    other = ("SELECT u.uid, c.id FROM bench.cat AS c JOIN TAP_UPLOAD.mine AS u ON "
             "DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', c.ra, c.dec)) < 1.0 / 3600")
    assert _run(other, tables, descs, data) == want
    # Every column of the catalogue, read from its kept rows, as from its files; and a query that reads the
    # catalogue twice (not only through the join), which reads its files.
    for adql in ("SELECT u.uid, c.* FROM TAP_UPLOAD.mine AS u JOIN bench.cat AS c ON "
                 "1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', u.ra, u.dec, 1.0 / 3600))",
                 XMATCH.format(where=" WHERE c.id IN (SELECT d.id FROM bench.cat AS d WHERE d.mag < 15)")):
        plan = translate(adql, tables, descs)
        rows = [run_plan(plan, tables=tables, state=None, viewer=Viewer(), access_base="", maxrec=10**6,
                         uploads=data, kernel=kernel)[0] for kernel in (True, False)]
        assert rows[0].colnames == rows[1].colnames
        assert sorted(map(tuple, rows[0].as_array().tolist())) == sorted(map(tuple, rows[1].as_array().tolist()))
        assert 0 < len(rows[0]) <= M
    # The kept rows the query reads instead of the files: those with a pair, every column.
    import duckdb

    plan = translate(XMATCH.format(where=""), tables, descs)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t1 AS SELECT * FROM read_parquet('{tmp_path / 'cat.parquet'}')")
    con.register("t0", data["mine"])
    restrict = {"t1": None}
    pairs = posjoin.candidate_pairs(con, plan.joins[0], {"t1": [str(tmp_path / "cat.parquet")]}, restrict)
    assert len(pairs) == M and sorted(restrict["t1"]["id"].to_pylist()) == sorted(pick.tolist())
    assert restrict["t1"].column_names == ["id", "ra", "dec", "mag"]
    # Uploads are never kept: a join of two uploads leaves the cache as it was.
    self_join = ("SELECT a.uid, b.uid AS id FROM TAP_UPLOAD.mine AS a JOIN TAP_UPLOAD.mine AS b ON "
                 "1 = CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', b.ra, b.dec, 1.0 / 3600))")
    size = len(sides)
    assert _run(self_join, tables, descs, data) == [(i, i) for i in range(M)]
    assert len(sides) == size


def test_the_catalogue_sides_where_terms_are_part_of_the_key(tmp_path, sides):
    """A side prepared for ``c.id < N/2`` must not answer ``c.id >= N/2`` (its pairs would be missing)."""
    tables, descs, data, pick = _setup(tmp_path)
    half = N // 2
    low = _run(XMATCH.format(where=f" WHERE c.id < {half}"), tables, descs, data)
    high = _run(XMATCH.format(where=f" WHERE c.id >= {half}"), tables, descs, data)
    everything = sorted(zip(range(M), pick.tolist()))
    assert low == [p for p in everything if p[1] < half] and high == [p for p in everything if p[1] >= half]
    assert low and high and len(sides) == 2


def test_a_reingested_catalogue_is_read_again(tmp_path, sides):
    tables, descs, data, pick = _setup(tmp_path)
    before = _run(XMATCH.format(where=""), tables, descs, data)
    assert before == sorted(zip(range(M), pick.tolist()))
    _write_catalogue(tmp_path / "cat.parquet", 7)  # the same rows moved: the upload no longer matches them
    after = _run(XMATCH.format(where=""), tables, descs, data)
    assert after == _run(XMATCH.format(where=""), tables, descs, data, kernel=False)
    assert after != before and sides.misses == 2


def test_the_cache_keeps_the_most_recent_within_its_bound():
    cache = SideCache(max_bytes=100)
    cache.put("a", 1, 40)
    cache.put("b", 2, 40)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3, 40)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    cache.put("d", 4, 101)  # over the bound alone: not kept, nothing dropped
    assert cache.get("d") is None and len(cache) == 2 and cache.nbytes == 80
    off = SideCache(max_bytes=0)
    off.put("a", 1, 1)
    assert len(off) == 0


def test_a_side_whose_rows_do_not_fit_keeps_its_positions_only(tmp_path, sides):
    """Where the catalogue's files are large against the bound, only the positions are read and kept; the
    query reads the files, with the same rows."""
    tables, descs, data, pick = _setup(tmp_path)
    sides.max_bytes = 4 * (tmp_path / "cat.parquet").stat().st_size - 1
    plan = translate(XMATCH.format(where=""), tables, descs)
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW t1 AS SELECT * FROM read_parquet('{tmp_path / 'cat.parquet'}')")
    con.register("t0", data["mine"])
    restrict = {"t1": None}
    assert len(posjoin.candidate_pairs(con, plan.joins[0], {"t1": [str(tmp_path / "cat.parquet")]}, restrict)) == M
    assert restrict["t1"] is None and len(sides) == 1
    assert _run(XMATCH.format(where=""), tables, descs, data) == sorted(zip(range(M), pick.tolist()))
    assert sides.hits == 1


def test_a_join_after_the_warm_up_compiles_nothing(tmp_path, sides):
    """``Kernel.warm`` (the service's, at start) runs every compiled path of the kernel (``warm_calls``, what
    ``astrohub kernels compile`` caches): before, it matched 200 points on the equator, a band with no area,
    which never counts the crowding of the right side (``_crowding``), so the first join after a start compiled
    it inside its time limit. The numba functions' compiled signatures are the same before and after a join."""
    from platform_lib.crossmatch import _engine

    def compiled() -> dict[str, int]:
        return {name: len(f.signatures) for name, f in vars(_engine).items() if hasattr(f, "signatures")}

    Kernel().warm()
    before = compiled()
    tables, descs, data, pick = _setup(tmp_path)
    assert _run(XMATCH.format(where=""), tables, descs, data) == sorted(zip(range(M), pick.tolist()))
    assert compiled() == before and before["_crowding"] == 1, before
