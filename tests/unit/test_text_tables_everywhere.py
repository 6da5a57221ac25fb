"""One reader for text tables: job inputs and storage read a text table as catalogue ingest reads it (task c1-data2).

The files are VizieR's ASU-TSV download of J/A+A/511/A56 (written in VizieR's layout from astropy's copy
of that catalogue, ``tests/support/vizier_tsv.py``) and the same stars as a European spreadsheet saves
them (``;`` between fields, decimal commas). Before, the jobs' ``read_table`` read ``.csv`` with astropy's
``ascii.csv`` (the ``;`` file became one column of text) and other text by astropy's guess (the TSV's
units and dashes rows became rows, every column text); storage read ``.csv`` the same way and refused
``.tsv``, ``.txt`` and ``.tbl`` by their names.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table
from vizier_tsv import sample_tables, write_vizier_tsv

from platform_lib import get_settings, jobs
from platform_lib.catalogs import UnsupportedSource, read_source, read_text_table
from platform_lib.storage import Storage, UnknownFormat


def _semicolon_csv(path):
    """The stars of table1 as ``;``-separated text with decimal commas (what a spreadsheet in Europe saves)."""
    reference, _ = sample_tables()
    rows = ["Cluster;Star;Bmag;Vmag"]
    rows += [f"{r['Cluster']};{r['Star']};{r['Bmag']:.2f};{r['Vmag']:.2f}".replace(".", ",") for r in reference]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def text_files(tmp_path):
    return [write_vizier_tsv(tmp_path / "pancino.tsv"), write_vizier_tsv(tmp_path / "pancino_sc.csv", sep=";"),
            _semicolon_csv(tmp_path / "stars.csv")]


def _same_table(ours: Table, ingest: Table) -> None:
    assert ours.colnames == ingest.colnames
    for name in ingest.colnames:
        a, b = ours[name], ingest[name]
        assert a.dtype == b.dtype, name
        assert str(a.unit) == str(b.unit), name
        assert list(np.ma.getmaskarray(a)) == list(np.ma.getmaskarray(b)), name
        assert list(np.ma.filled(a, 0)) == list(np.ma.filled(b, 0)), name
        assert (a.meta or {}).get("ucd") == (b.meta or {}).get("ucd"), name


def _check_numbers(table: Table) -> None:
    """What the old readers got wrong: magnitudes are numbers (the units/dashes rows are no rows; a
    decimal comma is a decimal point), with VizieR's unit where the file gives one."""
    reference, _ = sample_tables()
    assert len(table) == len(reference)
    assert table["Bmag"].dtype.kind == "f" and np.ma.allclose(table["Bmag"], reference["Bmag"])
    assert list(table["Star"]) == list(reference["Star"])


def test_job_inputs_read_as_ingest_reads_them(text_files):
    for path in text_files:
        table = jobs.read_table(path)
        _same_table(table, read_source(path).tables[0].table)
        _check_numbers(table)
    assert str(jobs.read_table(text_files[0])["Bmag"].unit) == "mag"


@pytest.mark.parametrize("space", ["home", "bucket"])
def test_storage_reads_text_tables_as_ingest_reads_them(tmp_path, text_files, space):
    settings = get_settings(user="alice", home=tmp_path / "home")
    (tmp_path / "home").mkdir()
    storage = Storage(settings, object_spaces={"bucket": f"memory://astrohub-text-{tmp_path.name}"})
    for path in text_files:
        storage.write_bytes(f"{space}:in/{path.name}", path.read_bytes())
        table = storage.read_table(f"{space}:in/{path.name}")
        _same_table(table, read_source(path).tables[0].table)
        _check_numbers(table)
    # an IPAC table, or any text table under .txt/.dat/.tbl (plain or gzipped), reads by its content too
    storage.write_bytes(f"{space}:in/pancino.tbl", text_files[0].read_bytes())
    _check_numbers(storage.read_table(f"{space}:in/pancino.tbl"))


def test_text_tables_storage_writes_read_back(tmp_path):
    settings = get_settings(user="alice", home=tmp_path)
    storage = Storage(settings)
    t = Table({"ra": [10.5, 20.25], "dec": [-1.0, 0.5], "name": ["a b", "c"]})
    storage.write_table(t, "home:t.tsv")
    back = storage.read_table("home:t.tsv")
    assert back.colnames == ["ra", "dec", "name"] and list(back["name"]) == ["a b", "c"]
    assert back["ra"].dtype.kind == "f"
    with pytest.raises(UnknownFormat, match="read only.*csv"):
        storage.write_table(t, "home:t.txt")  # a .txt is read by its content: which layout to write is unsaid


def test_several_tables_are_named_not_guessed(tmp_path):
    path = write_vizier_tsv(tmp_path / "pancino.tsv", table5_rows=5)
    with pytest.raises(UnsupportedSource, match=r"holds 2 tables \('J_A_A_511_A56_table1', 'J_A_A_511_A56_table5'\)"):
        read_text_table(path)
    assert len(read_text_table(path, table="J_A_A_511_A56_table5")) == 5
    with pytest.raises(jobs.JobError, match="pancino.tsv.*holds 2 tables") as caught:
        jobs.read_table(path)
    assert caught.value.code == "unreadable-input"


def test_a_one_column_csv_reads_in_storage_and_jobs_as_before(tmp_path):
    """A list of names is a table for storage and jobs (astropy's CSV reader reads it); ingest refuses it."""
    (tmp_path / "targets.csv").write_text("name\nM31\nM 33\n")
    (tmp_path / "ids.tsv").write_text("id\n3\n5\n")
    assert list(jobs.read_table(tmp_path / "targets.csv")["name"]) == ["M31", "M 33"]
    assert list(read_text_table(tmp_path / "ids.tsv")["id"]) == [3, 5]
    storage = Storage(get_settings(user="alice", home=tmp_path))
    assert list(storage.read_table("home:targets.csv")["name"]) == ["M31", "M 33"]
    with pytest.raises(UnsupportedSource, match="'targets.csv'"):
        read_source(tmp_path / "targets.csv")


def test_a_csv_without_rows_is_an_empty_table(tmp_path):
    """A result with no rows written as CSV reads back empty (ingest refuses it: nothing to catalogue)."""
    storage = Storage(get_settings(user="alice", home=tmp_path))
    storage.write_table(Table({"ra": [1.5], "name": ["a"]})[:0], "home:none.csv")
    back = storage.read_table("home:none.csv")
    assert back.colnames == ["ra", "name"] and len(back) == 0
    assert len(jobs.read_table(tmp_path / "none.csv")) == 0


def test_a_job_input_names_one_table_of_a_vizier_download(tmp_path):
    """``file#table`` (or ``table=``) picks one table of a multi-table VizieR download for a job; a
    missing or unknown name is an error that lists the names the file holds (task c1-data3). Before, a
    job could not read such a file at all."""
    path = write_vizier_tsv(tmp_path / "pancino.tsv", table5_rows=5)
    assert jobs.split_table(f"{path}#J_A_A_511_A56_table5") == (str(path), "J_A_A_511_A56_table5")
    table5 = jobs.read_table(f"{path}#J_A_A_511_A56_table5")
    assert len(table5) == 5 and "EW" in table5.colnames
    assert len(jobs.read_table(path, table="J_A_A_511_A56_table1")) == 15
    with pytest.raises(jobs.JobError, match=r"has no table 'table9': it holds 2 tables \('J_A_A_511_A56_table1', "
                                            r"'J_A_A_511_A56_table5'\).*pancino.tsv#J_A_A_511_A56_table1") as caught:
        jobs.read_table(f"{path}#table9")
    assert caught.value.code == "unknown-table"
    with pytest.raises(jobs.JobError, match=r"holds 2 tables .*name one after '#'"):
        jobs.read_table(path)
    with pytest.raises(jobs.JobError, match="does not exist") as missing:
        jobs.read_table(tmp_path / "nothing.tsv#J_A_A_511_A56_table5")
    assert missing.value.code == "missing-input"
    Table({"a": [1]}).write(tmp_path / "one.parquet")
    with pytest.raises(jobs.JobError, match="only a text table .* or a VOTable") as parquet:
        jobs.read_table(f"{tmp_path / 'one.parquet'}#t")
    assert parquet.value.code == "bad-param"


def test_a_job_input_names_one_table_of_a_vizier_votable():
    """VizieR's VOTable of 360 tables (astroquery's viz.xml): a table by its ID or its name; none named,
    or a name it does not hold, lists the first names and how many more (astropy raised a ValueError)."""
    astroquery = pytest.importorskip("astroquery")
    from pathlib import Path

    viz = Path(astroquery.__file__).parent / "vizier" / "tests" / "data" / "viz.xml"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the file's own VOTable warnings
        by_id = jobs.read_table(f"{viz}#I_239_hip_main")
        by_name = jobs.read_table(viz, table="I/239/hip_main")
        assert by_id.colnames == by_name.colnames and len(by_id) == len(by_name) > 0
        with pytest.raises(jobs.JobError, match=r"holds 360 tables \('ReadMeObj', 'I_34_greenw2a', .* and 340 more\)"):
            jobs.read_table(viz)
        with pytest.raises(jobs.JobError, match="has no table 'I/239/nope'") as caught:
            jobs.read_table(f"{viz}#I/239/nope")
    assert caught.value.code == "unknown-table"


def test_a_cds_data_file_reads_with_its_readme_and_crossmatches(tmp_path):
    """real11: a VizieR catalogue saved as its ReadMe and data files could not be a job's input: the data file
    was refused ("ingest the ReadMe", which a user cannot do in the platform's read-only registry) and the ReadMe
    itself failed with astropy's IORegistryError. Now a data file (plain or gzipped) reads with the ReadMe beside
    it, as astropy's CDS reader reads it, and its RAh RAm RAs DE- DEd DEm DEs positions crossmatch; the ReadMe
    alone is refused, naming what to give. Ingest still takes the ReadMe, not a data file alone."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.io import ascii
    from vizier_tsv import SAMPLE

    from platform_lib.crossmatch import crossmatch

    for name in ("ReadMe", "table1.dat", "table5.dat.gz"):
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    for name in ("table1.dat", "table5.dat.gz"):
        ours = jobs.read_table(tmp_path / name)
        astropys = ascii.read(str(SAMPLE / name), readme=str(SAMPLE / "ReadMe"), format="cds")
        assert ours.colnames == astropys.colnames and len(ours) == len(astropys) > 0
        for col in astropys.colnames:
            assert ours[col].unit == astropys[col].unit and list(ours[col]) == list(astropys[col]), col
        assert read_text_table(tmp_path / name).colnames == astropys.colnames
    stars = jobs.read_table(tmp_path / "table1.dat")
    there = SkyCoord([f"{h}h{m}m{s}s {sg}{d}d{dm}m{ds}s" for h, m, s, sg, d, dm, ds in
                      zip(*(stars[c] for c in ("RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs")))])
    pairs = crossmatch(stars, Table({"ra": there.ra.deg, "dec": there.dec.deg, "n": np.arange(len(stars))}),
                       0.1 * u.arcsec)
    assert list(pairs["n"]) == list(range(len(stars))) and (pairs["separation_arcsec"] < 1e-3 * u.arcsec).all()
    with pytest.raises(jobs.JobError, match="is a CDS ReadMe.*give one of the data files") as err:
        jobs.read_table(tmp_path / "ReadMe")
    assert err.value.code == "unreadable-input"
    with pytest.raises(UnsupportedSource, match="is a data file of a CDS catalogue"):
        read_source(tmp_path / "table1.dat")
