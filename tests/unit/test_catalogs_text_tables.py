"""Text tables are read by what they hold (``platform_lib.catalogs._texttables`` through ``read_source``).

VizieR's ASU-TSV download of J/A+A/511/A56 is written in VizieR's layout from astropy's bundled copy of
that catalogue (``tests/support/vizier_tsv.py``); the reference is astropy's CDS reader of the same
rows. Before, a ``.tsv`` went to ``ascii.tab`` (the units and dashes rows became rows, every column
text), a ``;``-separated ``.csv`` became one column, and ``.tbl``/``.txt``/``.dat`` without a CDS
header were refused by suffix.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from vizier_tsv import SAMPLE, sample_tables, write_vizier_tsv

from platform_lib.catalogs import UnsupportedSource, read_source
from platform_lib.catalogs._texttables import sniff_delimiter


def _check_table1(table, reference):
    assert len(table) == len(reference) == 15
    for name in ("Bmag", "Vmag", "Icmag", "Rmag", "Ksmag"):
        assert table[name].dtype.kind == "f", name  # not text: the units and dashes rows are not rows
        assert str(table[name].unit) == "mag"
        assert list(np.ma.getmaskarray(table[name])) == list(np.ma.getmaskarray(reference[name])), name
        assert np.ma.allclose(table[name], reference[name])
    assert table["Star"].dtype.kind == "i" and list(table["Star"]) == list(reference["Star"])
    assert list(table["SName"]) == [s.strip() for s in reference["SName"]]
    assert table["Bmag"].description == "B magnitude"
    assert table["Star"].meta["ucd"] == "meta.id;meta.main"
    assert str(table["TExp"].unit) == "s"


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_vizier_tsv_columns_are_typed_with_units_and_descriptions(tmp_path, sep):
    path = write_vizier_tsv(tmp_path / "J_A+A_511_A56.tsv", sep=sep)
    source = read_source(path)
    assert source.title == "Abundances of five open clusters (Pancino+, 2010)"
    [st] = source.tables
    assert st.description == "Observing logs and programme stars information"
    assert st.equinox == "J2000"  # from the position columns' explanations, as for a ReadMe
    reference, _ = sample_tables()
    _check_table1(st.table, reference)
    # VizieR's sexagesimal columns: text, with VizieR's unit kept as text (astropy does not know it)
    assert st.table["RAJ2000"][0] == "06 38 52.5" and st.table["DEJ2000"][0] == "+02 01 58.4"
    assert st.table["RAJ2000"].unit.to_string() == '"h:m:s"'
    expected = SkyCoord(st.table["RAJ2000"], st.table["DEJ2000"], unit=("hourangle", "deg"))
    assert np.allclose(st.table["_RAJ2000"], expected.ra.deg, atol=1e-6)


def test_vizier_tsv_with_two_tables_and_cds_units(tmp_path):
    path = write_vizier_tsv(tmp_path / "pancino.tsv", table5_rows=20)
    source = read_source(path)
    assert [t.name for t in source.tables] == ["J_A_A_511_A56_table1", "J_A_A_511_A56_table5"]
    t5 = source.tables[1].table
    _, reference = sample_tables()
    assert len(t5) == 20
    assert t5["Wave"].unit.to_string() == "0.1 nm"  # a CDS unit with a factor
    assert np.allclose(t5["Wave"], reference["Wave"][:20])
    assert list(np.ma.getmaskarray(t5["EW"])) == list(np.ma.getmaskarray(reference["EW"][:20]))
    assert t5["El"][0] == "Al"


def test_vizier_tsv_text_column_of_digits_stays_text(tmp_path):
    """An ``A`` column of digits (identifiers with leading zeros) is text, as its ``#Column`` format says."""
    text = ("#Column\tTYC1\t(A4)\tTycho zone\n#Column\tRAdeg\t(F9.5)\tRight ascension (ICRS)\n"
            "#Column\tDEdeg\t(F9.5)\tDeclination (ICRS)\n"
            "TYC1\tRAdeg\tDEdeg\n\tdeg\tdeg\n----\t---------\t---------\n0001\t  2.31750\t  2.23184\n")
    (tmp_path / "tyc.tsv").write_text(text)
    [st] = read_source(tmp_path / "tyc.tsv").tables
    assert st.table["TYC1"][0] == "0001" and st.table["RAdeg"][0] == pytest.approx(2.3175)
    assert st.equinox == "ICRS"


def test_semicolon_csv_with_decimal_commas(tmp_path):
    """What a European spreadsheet saves as CSV: ``;`` between fields, ``,`` in numbers."""
    reference, _ = sample_tables()
    rows = ["Cluster;Star;RAdeg;DEdeg;Bmag"]
    coords = SkyCoord([f"{h}h{m}m{s}s" for h, m, s in zip(reference["RAh"], reference["RAm"], reference["RAs"])],
                      [f"{g}{d}d{m}m{s}s" for g, d, m, s in
                       zip(reference["DE-"], reference["DEd"], reference["DEm"], reference["DEs"])])
    for row, c in zip(reference, coords):
        rows.append(f"{row['Cluster']};{row['Star']};{c.ra.deg:.6f};{c.dec.deg:.6f};{row['Bmag']:.2f}"
                    .replace(".", ","))
    (tmp_path / "stars.csv").write_text("\n".join(rows) + "\n")
    [st] = read_source(tmp_path / "stars.csv").tables
    assert st.table.colnames == ["Cluster", "Star", "RAdeg", "DEdeg", "Bmag"]
    assert st.table["RAdeg"].dtype.kind == "f"
    assert np.allclose(st.table["RAdeg"], coords.ra.deg, atol=1e-6)
    assert np.allclose(st.table["Bmag"], reference["Bmag"])


# --- a comma in a ;-separated file: decimal comma or thousands separator (task c1-data5) ---

@pytest.mark.parametrize("cells, expected", [
    (["1,234", "12,5", "7"], [1.234, 12.5, 7.0]),  # 12,5: decimal commas, so 1,234 is 1.234
    (["0,125", "2,500"], [0.125, 2.5]),  # no thousands separator follows a lone 0
    (["1.234,5", "2.000.000,25", "3,75"], [1234.5, 2000000.25, 3.75]),  # European: dots between thousands
    (["1,234", "1,234,567", "12"], [1234, 1234567, 12]),  # two groups: thousands, so 1,234 is 1234
    (["1,234.5", "2,000"], [1234.5, 2000.0]),  # a decimal point after the comma: thousands
])
def test_semicolon_comma_read_the_one_way_its_column_allows(tmp_path, cells, expected):
    """The old reader took every single comma for a decimal comma: ``1,234`` beside ``1,234,567`` was
    1.234 (and ``1,234,567`` left the column text); ``1.234,5`` left it text."""
    rows = ["name;flux"] + [f"s{i};{c}" for i, c in enumerate(cells)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    [st] = read_source(tmp_path / "t.csv").tables
    assert st.table["flux"].dtype.kind in "fi" and list(st.table["flux"]) == pytest.approx(expected)


def test_semicolon_column_of_thousands_or_decimals_stays_text_with_a_warning(tmp_path):
    """Every comma followed by three digits: 1.234 or 1234? The old reader said 1.234 without a word."""
    from platform_lib.catalogs import AmbiguousNumberWarning

    (tmp_path / "t.csv").write_text("name;count;mag\nM31;1,234;3.5\nM33;-12,000;\nM81;25;5.25\n")
    with pytest.warns(AmbiguousNumberWarning) as record:
        [st] = read_source(tmp_path / "t.csv").tables
    assert list(st.table["count"]) == ["1,234", "-12,000", "25"]  # kept as written
    assert list(np.ma.filled(st.table["mag"], np.nan))[::2] == [3.5, 5.25]  # the others read as before
    [warning] = record
    message = str(warning.message)
    assert "'t.csv'" in message and "'count'" in message and "1.234" in message and "1234" in message


@pytest.mark.parametrize("other, expected", [("3,5", [1.234, 2.5]), ("1,234,567", [1234, 2500])])
def test_semicolon_column_read_as_the_file_other_columns_say(tmp_path, other, expected):
    """A spreadsheet writes its numbers one way: ``12,345`` magnitudes beside ``3,5`` are decimals."""
    (tmp_path / "t.csv").write_text(f"name;a;b\nM31;1,234;{other}\nM33;2,500;7\n")
    [st] = read_source(tmp_path / "t.csv").tables
    assert list(st.table["a"]) == pytest.approx(expected)


def test_semicolon_file_with_both_readings_keeps_the_doubtful_column_as_text(tmp_path):
    from platform_lib.catalogs import AmbiguousNumberWarning

    (tmp_path / "t.csv").write_text("name;a;b;c\nM31;1,234;3,5;1,234,567\nM33;2,500;7;12\n")
    with pytest.warns(AmbiguousNumberWarning, match="'a'"):
        [st] = read_source(tmp_path / "t.csv").tables
    assert list(st.table["a"]) == ["1,234", "2,500"]
    assert list(st.table["b"]) == [3.5, 7.0] and list(st.table["c"]) == [1234567, 12]


@pytest.mark.parametrize("sep,suffix", [("\t", ".txt"), (" ", ".dat"), ("|", ".txt"), (",", ".tsv"), (";", ".csv")])
def test_delimiter_sniffed_whatever_the_suffix(tmp_path, sep, suffix):
    lines = [sep.join(["ra", "dec", "name"]), sep.join(["10.5", "-2.25", "M31"]), sep.join(["11.0", "3.5", "M33"])]
    (tmp_path / f"t{suffix}").write_text("# made by hand\n" + "\n".join(lines) + "\n")
    [st] = read_source(tmp_path / f"t{suffix}").tables
    assert st.table.colnames == ["ra", "dec", "name"] and list(st.table["dec"]) == [-2.25, 3.5]


def test_semicolon_rows_without_header(tmp_path):
    (tmp_path / "t.csv").write_text("10,5;-2,25;M31\n11,0;3,5;M33\n")
    [st] = read_source(tmp_path / "t.csv").tables
    assert st.table.colnames == ["col1", "col2", "col3"] and list(st.table["col2"]) == [-2.25, 3.5]


def test_commented_header_and_gzip(tmp_path):
    text = "# Table of things\n#  ra   dec   mag\n 10.5 -2.25  3.1\n 11.0  3.5  4.2\n# computed in 0.1 s\n"
    (tmp_path / "t.dat.gz").write_bytes(gzip.compress(text.encode()))
    [st] = read_source(tmp_path / "t.dat.gz").tables
    assert st.table.colnames == ["ra", "dec", "mag"] and len(st.table) == 2


def test_sniffing_names_what_was_tried():
    assert sniff_delimiter(["a;b;c", "1,5;2;x"], ".csv") == (";", ["comma", "semicolon"])
    assert sniff_delimiter(["one two", "a b c"], ".txt")[0] is None


def test_files_that_are_no_table_are_refused_by_name(tmp_path):
    (tmp_path / "prose.txt").write_text("This is a note.\nIt has, sometimes, commas; and words.\n")
    with pytest.raises(UnsupportedSource, match=r"'prose.txt'.*no delimiter \(tab, comma, semicolon, bar, blanks\)"):
        read_source(tmp_path / "prose.txt")
    (tmp_path / "answer.dat").write_text(json.dumps({"object": "ceres", "orbit": [1, 2, 3]}))
    with pytest.raises(UnsupportedSource, match="'answer.dat' holds a JSON document"):
        read_source(tmp_path / "answer.dat")
    (tmp_path / "list.csv").write_text("name\nM31\nM33\n")  # never a silent one-column table
    with pytest.raises(UnsupportedSource, match="'list.csv'"):
        read_source(tmp_path / "list.csv")


def test_a_cds_data_file_is_sent_to_its_readme(tmp_path):
    for name in ("ReadMe", "table1.dat"):
        (tmp_path / name).write_bytes((SAMPLE / name).read_bytes())
    with pytest.raises(UnsupportedSource, match="'table1.dat' is a data file of a CDS catalogue: its columns are described in the ReadMe beside it"):
        read_source(tmp_path / "table1.dat")


@pytest.mark.parametrize("name, how", [("simple.txt", {}), ("simple_csv_missing.csv", {"format": "csv"})])
def test_quoted_header_and_short_rows_read_as_astropy_reads_them(name, how):
    """astropy's own samples: a header name quoted with ``'`` (``'test 1a' test2``) and an indented ``#``
    line; a CSV whose row ``1`` is short (its missing fields are missing values). Both were refused."""
    from astropy.io import ascii

    path = SAMPLE.parent / name
    reference = ascii.read(str(path), **how)  # astropy's guess (quotechar '); its CSV reader (short rows padded)
    [st] = read_source(path).tables
    assert st.table.colnames == reference.colnames
    for col in reference.colnames:
        assert list(np.ma.getmaskarray(st.table[col])) == list(np.ma.getmaskarray(reference[col])), col
        assert list(np.ma.filled(st.table[col].astype(str), "")) == list(np.ma.filled(reference[col].astype(str), ""))


def test_short_rows_only_under_a_header_and_never_longer(tmp_path):
    (tmp_path / "a.csv").write_text("ra,dec,name\n10.5,-2.25,M31\n11.0\n12.0,3.5,M33\n")  # half or more full: read
    t = read_source(tmp_path / "a.csv").tables[0].table
    assert list(np.ma.getmaskarray(t["dec"])) == [False, True, False] and t["ra"][2] == 12.0
    for text in ("ra,dec,name\n10.5\n11.0\n12.0,3.5,M33\n",  # most rows short: not a table with gaps
                 "1,2,3\n4\n5,6,7\n",  # no header of names
                 "ra,dec\n1,2\n3,4,5\n"):  # a row longer than the header
        (tmp_path / "b.csv").write_text(text)
        with pytest.raises(UnsupportedSource, match="'b.csv'"):
            read_source(tmp_path / "b.csv")
    (tmp_path / "c.txt").write_text("name mag\nBarnard's 9.5\nO'Brien 10.1\n")  # apostrophes are no quotes
    assert list(read_source(tmp_path / "c.txt").tables[0].table["name"]) == ["Barnard's", "O'Brien"]


def test_a_units_row_under_the_header_gives_the_columns_units(tmp_path):
    """real11: a CSV with a row of units under its header (``Star,RAJ2000,DEJ2000,Vmag`` then ``,deg,deg,mag``,
    as ESASky, Aladin and many archive exports write) was read with that row as data, so every column was text
    and a crossmatch refused 'deg' as a right ascension. Now the row gives the columns their units and the
    values are numbers, as astropy reads the same file without that row. Real stars: the VizieR sample's
    table1 (J/A+A/511/A56), positions from astropy."""
    import astropy.units as u
    from astropy.io import ascii
    from astropy.table import Table

    from platform_lib.catalogs import read_text_table
    from platform_lib.crossmatch import crossmatch

    stars, _ = sample_tables()
    where = SkyCoord([f"{h}h{m}m{s}s {sg}{d}d{dm}m{ds}s" for h, m, s, sg, d, dm, ds in
                      zip(*(stars[c] for c in ("RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs")))])
    rows = [f"{n},{a:.7f},{b:.7f},{v}" for n, a, b, v in zip(stars["Star"], where.ra.deg, where.dec.deg, stars["Vmag"])]
    body = "\n".join(rows) + "\n"
    (tmp_path / "plain.csv").write_text("Star,RAJ2000,DEJ2000,Vmag\n" + body)
    (tmp_path / "units.csv").write_text("Star,RAJ2000,DEJ2000,Vmag\n,deg,deg,mag\n" + body)
    reference = ascii.read(str(tmp_path / "plain.csv"), format="csv")
    ours = read_text_table(tmp_path / "units.csv")
    assert ours.colnames == reference.colnames and len(ours) == len(reference) == 15
    for name in reference.colnames:
        assert ours[name].dtype.kind == reference[name].dtype.kind and list(ours[name]) == list(reference[name])
    assert [ours[n].unit for n in ours.colnames] == [None, u.deg, u.deg, u.mag]
    pairs = crossmatch(ours, Table({"ra": where.ra.deg, "dec": where.dec.deg}), 0.1 * u.arcsec)
    assert list(pairs["Star"]) == list(stars["Star"])
    # a first row of words is a row, not units: no unit, nor a number under one
    (tmp_path / "words.csv").write_text("name,kind\nM31,galaxy\nM42,nebula\nM45,cluster\n")
    assert list(read_text_table(tmp_path / "words.csv")["name"]) == ["M31", "M42", "M45"]
