"""Column types, nulls and units of real-format files through ingest and region search (the qa2 pass).

The files are written here with astropy in the layouts real catalogues use: FITS binary tables
(big-endian, unsigned integers as ``TZERO`` offsets, integer nulls as ``TNULL``, logical and byte-string
columns) and ECSV (Unicode and masked text). Known answers are the source tables themselves, as astropy
reads them back. On the code before this pass a masked integer column came back from ``cone_search`` as
float64, text as Python objects (so the result could not be written to FITS or HDF5), an empty result
had every column float64, and unsigned 64-bit values of 2**63 and above failed the HATS write with an
``OverflowError``.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import astropy
import astropy.units as u
import numpy as np
import pandas
import pyarrow.parquet as pq
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table

from platform_lib.catalogs import NoPositionWarning, Registry, UnsupportedSource, box_search, cone_search, ingest

CENTRE = SkyCoord(10.5 * u.deg, 0 * u.deg)


def odd_table(n: int = 40) -> Table:
    """Every column kind a real catalogue file brings, with nulls where the format can hold them."""
    rng = np.random.default_rng(7)
    every = np.arange(n)
    t = Table()
    t["ra"] = rng.uniform(10, 11, n) * u.deg
    t["dec"] = rng.uniform(-0.5, 0.5, n) * u.deg
    t["source_id"] = every.astype(np.int64) + 2**40
    t["nobs"] = every.astype(np.uint8)
    t["flags16"] = (every + 60_000).astype(np.uint16)
    t["flags32"] = (every + 4_000_000_000).astype(np.uint32)
    t["hash64"] = every.astype(np.uint64) + np.uint64(2**62)
    t["quality"] = MaskedColumn(every.astype(np.int16), mask=every % 5 == 0)
    t["epoch_n"] = MaskedColumn(every.astype(np.int32), mask=every % 7 == 0)
    t["variable"] = every % 2 == 0
    t["name"] = [f"star {i}" for i in every]
    t["gmag"] = MaskedColumn(rng.uniform(5, 20, n).astype(np.float32), mask=every % 4 == 0, unit="mag")
    t["pmra"] = rng.normal(0, 5, n) * u.mas / u.yr
    t["gmag"].description = "G magnitude"
    return t


def _ingest(path, registry, name):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=pandas.errors.Pandas4Warning)
        return ingest(path, registry, name=name)


@pytest.mark.parametrize("fmt", ["fits", "ecsv"])
def test_types_nulls_and_units_come_back_from_search_as_the_source_has_them(tmp_path, fmt):
    source = odd_table()
    if fmt == "ecsv":  # ECSV carries what FITS cannot: Unicode and null text
        source["label"] = MaskedColumn([f"étoile α{i}" for i in range(len(source))],
                                       mask=np.arange(len(source)) % 3 == 0)
    path = tmp_path / f"odd.{fmt}"
    source.write(path)
    want = Table.read(path)  # what astropy reads from the file: big-endian, TZERO/TNULL applied
    if fmt == "fits":
        assert want["flags16"].dtype.kind == "u" and want["source_id"].dtype.byteorder == ">"
    registry = Registry(tmp_path / "registry.sqlite")
    info = _ingest(path, registry, "odd")
    got = cone_search(info.name, CENTRE, 2 * u.deg, registry=registry)
    got.sort("source_id")
    assert got.colnames == want.colnames
    for name in want.colnames:
        g, w = got[name], want[name]
        text = w.dtype.kind in "SU"
        assert g.dtype.kind == ("U" if text else w.dtype.kind), (name, g.dtype, w.dtype)
        if not text:
            assert g.dtype.itemsize == w.dtype.itemsize, (name, g.dtype, w.dtype)
        assert np.ma.getmaskarray(g).tolist() == np.ma.getmaskarray(w).tolist(), name
        keep = ~np.ma.getmaskarray(w)
        values = np.ma.getdata(w)[keep]
        if w.dtype.kind == "S":
            values = np.char.decode(values, "utf-8")
        assert np.ma.getdata(g)[keep].tolist() == values.tolist(), name
        assert g.unit == w.unit, name
    assert got["gmag"].description == "G magnitude"
    # the dictionary names each type in its one vocabulary (not str320/bytes10/object by file format)
    types = {c.name: c.datatype for c in registry.get(info.name).columns}
    assert types["name"] == "string" and types["flags16"] == "uint16" and types["gmag"] == "float32"
    assert types["variable"] == "bool" and types["source_id"] == "int64"
    # the result is an ordinary table: it can be written where a search result goes
    got.write(tmp_path / "result.h5", path="data", serialize_meta=True)
    if fmt == "fits":
        got.write(tmp_path / "result.fits")
        assert Table.read(tmp_path / "result.fits")["quality"].dtype.kind == "i"
    # nothing found: the same columns and types, not float64 for all
    empty = box_search(info.name, [200, 201] * u.deg, [60, 61] * u.deg, registry=registry)
    assert len(empty) == 0
    assert [empty[n].dtype.kind for n in empty.colnames] == [got[n].dtype.kind for n in got.colnames]


def test_unsigned_64_bit_values_beyond_long_are_refused_naming_the_column(tmp_path):
    t = Table({"ra": [10.0, 10.1], "dec": [0.0, 0.1], "objid": np.array([2**63 + 5, 1], dtype=np.uint64)})
    t.write(tmp_path / "ids.fits")  # a FITS K column with TZERO = 2**63
    registry = Registry(tmp_path / "registry.sqlite")
    with pytest.raises(UnsupportedSource, match=r"'objid'.*9223372036854775813.*as text"):
        _ingest(tmp_path / "ids.fits", registry, "ids")
    assert registry.catalogs() == []


def _pairs(left_ids, right_ids) -> list[tuple[int, int]]:
    return sorted(zip(np.asarray(left_ids, dtype=np.int64).tolist(), np.asarray(right_ids, dtype=np.int64).tolist()))


@pytest.mark.skipif(shutil.which("stilts") is None, reason="STILTS is installed by make install-test")
def test_crossmatch_of_the_files_and_of_their_hats_equals_stilts_and_keeps_integer_nulls(tmp_path):
    """The same two FITS files matched by STILTS ``tmatch2``, in memory as astropy Tables, and as the
    HATS catalogues ingest made of them on Dask: the same pairs; a masked int16 column stays integer
    (on Dask it was float64 with NaN)."""
    distributed = pytest.importorskip("distributed")
    from platform_lib.crossmatch import DroppedRowsWarning, crossmatch

    rng = np.random.default_rng(8)
    left = odd_table(300)
    right = odd_table(300)
    dec = np.asarray(right["dec"])
    right["ra"] = MaskedColumn(np.asarray(right["ra"]) + rng.normal(0, 0.4 / 3600, len(right)) / np.cos(np.radians(dec)),
                               mask=np.arange(len(right)) % 9 == 0, unit="deg")  # rows without a position
    right["dec"] = (dec + rng.normal(0, 0.4 / 3600, len(right))) * u.deg
    left.write(tmp_path / "left.fits")
    right.write(tmp_path / "right.fits")
    out = tmp_path / "stilts.fits"
    subprocess.run(["stilts", "tmatch2", f"in1={tmp_path / 'left.fits'}", f"in2={tmp_path / 'right.fits'}",
                    "matcher=sky", "values1=ra dec", "values2=ra dec", "params=1", "find=all", "join=1and2",
                    f"out={out}"], check=True, capture_output=True, timeout=120)
    stilts = Table.read(out)
    want = _pairs(stilts["source_id_1"], stilts["source_id_2"])
    assert len(want) > 200

    with pytest.warns(DroppedRowsWarning, match="34 right rows"):
        memory = crossmatch(Table.read(tmp_path / "left.fits"), Table.read(tmp_path / "right.fits"),
                            1 * u.arcsec, mode="all")
    assert _pairs(memory["source_id_1"], memory["source_id_2"]) == want
    assert memory["quality_1"].dtype.kind == "i" and np.ma.getmaskarray(memory["quality_1"]).any()

    registry = Registry(tmp_path / "registry.sqlite")
    for name in ("left", "right"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the rows without a position, left out with a warning
            _ingest(tmp_path / f"{name}.fits", registry, name)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as client:
        hats = crossmatch(str(registry.get("left").hats_path), str(registry.get("right").hats_path),
                          1 * u.arcsec, mode="all", client=client, progress=False)
    assert _pairs(hats["source_id_1"], hats["source_id_2"]) == want
    quality = hats.set_index("source_id_1")["quality_1"]
    assert str(quality.dtype) == "Int16", quality.dtype
    expected = {int(i): (None if m else int(q)) for i, q, m in
                zip(left["source_id"], left["quality"].filled(0), np.ma.getmaskarray(left["quality"]))}
    assert {int(i): (None if pandas.isna(q) else int(q)) for i, q in quality.items()} == \
        {i: expected[i] for i in quality.index}


REGRESSION_VOT = Path(astropy.__file__).parent / "io" / "votable" / "tests" / "data" / "regression.xml"


def test_every_table_of_a_multi_extension_fits_file_is_ingested(tmp_path):
    """astropy reads only the first table HDU (with a warning ingest hid): the others were lost."""
    from astropy.io import fits

    stars = odd_table(20)
    spectra = Table({"wavelength": np.linspace(4000, 7000, 5) * u.AA, "flux": np.ones(5)})
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(stars), fits.table_to_hdu(spectra)])
    hdus[1].name, hdus[2].name = "STARS", "SPECTRA"
    hdus.writeto(tmp_path / "multi.fits")
    registry = Registry(tmp_path / "registry.sqlite")
    with pytest.warns(NoPositionWarning, match="SPECTRA"):
        info = _ingest(tmp_path / "multi.fits", registry, "multi")
    assert info.tables == ("STARS", "SPECTRA")
    assert (registry.get("multi/STARS").nrows, registry.get("multi/SPECTRA").nrows) == (20, 5)
    assert registry.get("multi/SPECTRA").column("wavelength").unit == "Angstrom"
    found = cone_search("multi/STARS", CENTRE, 2 * u.deg, registry=registry)
    assert sorted(found["source_id"]) == sorted(stars["source_id"])


def test_a_votable_with_several_tables_arrays_and_complex_columns(tmp_path):
    """astropy's VOTable regression file (three TABLEs, one empty; fixed and variable-length arrays,
    complex numbers, nulls of every type): refused as "Multiple tables found: table id should be set
    via the table_id= argument", an argument ingest has not; with one table, its variable-length array
    columns failed the Parquet write with pyarrow's ArrowInvalid. Now the two tables with rows are
    ingested, every scalar column kept with astropy's values, the others left out with a warning each."""
    from astropy.io.votable import parse

    shutil.copy(REGRESSION_VOT, tmp_path / "regression.xml")
    registry = Registry(tmp_path / "registry.sqlite")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = _ingest(tmp_path / "regression.xml", registry, "regression")
    said = " ".join(str(w.message) for w in caught)
    assert "'last_table' holds no rows" in said
    assert "column 'doublearray' holds variable-length arrays" in said and "'floatComplex' holds complex" in said
    assert info.tables == ("main_table", "table1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main = parse(str(REGRESSION_VOT)).get_first_table().to_table(use_names_over_ids=True)  # as pyvo names them
    stored = pq.read_table(registry.get("regression/main_table").data_path)
    assert stored.num_rows == len(main) == registry.get("regression/main_table").nrows
    for name in ("unsignedByte", "short", "int", "long", "double", "float", "boolean", "string test", "unicode_test"):
        got = stored.column(name).to_pylist()
        want = [None if m else (v.decode() if isinstance(v, bytes) else v)
                for v, m in zip(np.ma.getdata(main[name]).tolist(), np.ma.getmaskarray(main[name]))]
        if main[name].dtype.kind == "f":  # a float null is NaN in both
            got = [None if v is None or v != v else v for v in got]
            want = [None if v is None or v != v else v for v in want]
        assert got == want, name


def test_plain_parquet_keeps_integer_nulls_and_leaves_out_list_and_struct_columns(tmp_path):
    """A Parquet file not written by astropy (pandas, lsdb, an archive's bulk download): nullable int32
    and boolean columns became float64 and object at ingest; list and struct columns were stored and
    then failed every TAP query selecting them."""
    import pyarrow as pa

    n = 6
    pq.write_table(pa.table({
        "ra": np.linspace(10.4, 10.6, n), "dec": np.zeros(n), "oid": pa.array(range(n), pa.int64()),
        "cls": pa.array(["star", "gal", None, "star", "qso", "gal"]).dictionary_encode(),
        "nobs": pa.array([1, None, 3, 4, None, 6], pa.int32()),
        "good": pa.array([True, None, False, True, False, None]),
        "fluxes": pa.array([[1.0, 2.0]] * n), "extra": pa.array([{"a": 1}] * n),
    }), tmp_path / "plain.parquet")
    registry = Registry(tmp_path / "registry.sqlite")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _ingest(tmp_path / "plain.parquet", registry, "plain")
    said = " ".join(str(w.message) for w in caught)
    assert "column 'fluxes' holds" in said and "column 'extra' holds" in said
    info = registry.get("plain")
    assert [c.name for c in info.columns] == ["ra", "dec", "oid", "cls", "nobs", "good"]
    got = cone_search("plain", CENTRE, 1 * u.deg, registry=registry)
    got.sort("oid")
    assert got["nobs"].dtype == np.int32 and got["good"].dtype == bool
    assert np.ma.filled(got["nobs"], -1).tolist() == [1, -1, 3, 4, -1, 6]
    assert np.ma.getmaskarray(got["good"]).tolist() == [False, True, False, False, False, True]
    assert np.ma.getmaskarray(got["cls"]).tolist() == [False, False, True, False, False, False]


def test_the_dictionary_spells_datatypes_one_way_for_parquet_and_for_older_registries(tmp_path):
    """Registry datatypes were pandas' and numpy's spellings (``category``, ``Int32``, ``object``,
    ``datetime64[ms]``); they are the Arrow names of ``DATATYPES``, when written and when read."""
    import datetime
    import decimal
    import sqlite3

    import pyarrow as pa

    from platform_lib.catalogs import DATATYPES

    n = 4
    pq.write_table(pa.table({
        "ra": np.linspace(10.4, 10.6, n), "dec": np.zeros(n),
        "cls": pa.array(["star", "gal", None, "qso"]).dictionary_encode(),
        "nobs": pa.array([1, None, 3, 4], pa.int32()), "good": pa.array([True, None, False, True]),
        "seen": pa.array([datetime.datetime(2020, 1, i + 1) for i in range(n)], pa.timestamp("ms")),
        "price": pa.array([decimal.Decimal("1.25")] * n, pa.decimal128(5, 2)),
        "name": pa.array(["a", "b", None, "d"]), "flags": pa.array(range(n), pa.uint16()),
    }), tmp_path / "plain.parquet")
    registry = Registry(tmp_path / "registry.sqlite")
    _ingest(tmp_path / "plain.parquet", registry, "plain")
    want = {"ra": "float64", "dec": "float64", "cls": "string", "nobs": "int32", "good": "bool",
            "seen": "timestamp", "price": "decimal", "name": "string", "flags": "uint16"}
    assert {c.name: c.datatype for c in registry.get("plain").columns} == want
    assert set(want.values()) <= set(DATATYPES)
    # a registry written before the vocabulary: its spellings are read as the vocabulary's
    with sqlite3.connect(registry.path) as con:
        for name, old in [("cls", "category"), ("nobs", "Int32"), ("seen", "datetime64[ms]"), ("name", "object")]:
            con.execute("UPDATE col SET datatype=? WHERE name=?", (old, name))
    old_registry = Registry(registry.path, readonly=True)
    assert {c.name: c.datatype for c in old_registry.get("plain").columns} == want
    listed = old_registry.dictionary("columns")
    assert dict(zip(listed["column"], listed["datatype"])) == want


def test_fits_text_that_is_not_utf8_is_read_as_latin1_with_a_warning(tmp_path):
    """Older FITS catalogues hold 8-bit Latin-1 text (``Caf\\xe9``): ingest failed with a bare
    UnicodeDecodeError from astropy's bytes-to-str conversion."""
    from astropy.io import fits

    columns = fits.ColDefs([fits.Column("ra", "D", array=np.array([10.5, 10.6])),
                            fits.Column("dec", "D", array=np.array([0.0, 0.1])),
                            fits.Column("name", "10A", array=np.array([b"Caf\xe9", b"M 31"]))])
    fits.BinTableHDU.from_columns(columns).writeto(tmp_path / "latin.fits")
    registry = Registry(tmp_path / "registry.sqlite")
    with pytest.warns(UserWarning, match="'name' is not UTF-8 text; read as Latin-1"):
        _ingest(tmp_path / "latin.fits", registry, "latin")
    got = cone_search("latin", CENTRE, 1 * u.deg, registry=registry)
    assert sorted(got["name"]) == ["Café", "M 31"]
