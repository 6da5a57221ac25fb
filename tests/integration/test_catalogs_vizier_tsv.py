"""A VizieR ASU-TSV download is ingested with numeric columns, units, descriptions and positions (task c1-data).

The file is VizieR's tab- (or ``;``-) separated download of J/A+A/511/A56, written in VizieR's layout
from astropy's bundled copy of that catalogue (``tests/support/vizier_tsv.py``); the known answers
are astropy's CDS reading of the same rows. Before, ``.tsv`` went to astropy's ``ascii.tab``: the
units row (``"h:m:s"``) and the dashes row became rows, every column text, and the sexagesimal
positions could not be read.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from vizier_tsv import sample_tables, write_vizier_tsv

from platform_lib.catalogs import NoPositionWarning, Registry, cone_search, ingest


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "catalogs" / "registry.sqlite")


def _stars():
    t1, _ = sample_tables()
    ra = [f"{h:02d} {m:02d} {s:04.1f}" for h, m, s in zip(t1["RAh"], t1["RAm"], t1["RAs"])]
    dec = [f"{g}{d:02d} {m:02d} {s:04.1f}" for g, d, m, s in zip(t1["DE-"], t1["DEd"], t1["DEm"], t1["DEs"])]
    return t1, SkyCoord(ra, dec, unit=("hourangle", "deg"))


def test_vizier_tsv_with_sexagesimal_positions_and_a_second_table(registry, tmp_path):
    path = write_vizier_tsv(tmp_path / "J_A+A_511_A56.tsv", decimal_positions=False, table5_rows=30)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ingest(path, registry, name="J/A+A/511/A56", margin_arcsec=None)
    no_position = [str(w.message) for w in caught if issubclass(w.category, NoPositionWarning)]
    assert len(no_position) == 1 and "table5" in no_position[0]  # the atomic data have no positions
    table1 = registry.get("J/A+A/511/A56/J_A_A_511_A56_table1")
    table5 = registry.get("J/A+A/511/A56/J_A_A_511_A56_table5")
    assert (table1.ra_column, table1.dec_column) == ("RAJ2000_deg", "DEJ2000_deg")
    assert table1.nrows == 15 and table5.nrows == 30
    assert table1.description == "Observing logs and programme stars information"
    assert table1.column("Bmag").unit == "mag" and table1.column("Bmag").datatype.startswith("float")
    assert table1.column("Bmag").description == "B magnitude"
    assert table1.column("RAJ2000").unit == '"h:m:s"'  # VizieR's unit, unknown to astropy, kept as text
    assert table1.column("Star").ucd == "meta.id;meta.main"
    assert table5.column("Wave").unit == "0.1 nm"
    t1, stars = _stars()
    for row, star in zip(t1, stars):
        found = cone_search("J/A+A/511/A56/J_A_A_511_A56_table1", star, 1 * u.arcsec, registry=registry)
        assert list(found["Star"]) == [row["Star"]]
        assert found["Bmag"][0] == pytest.approx(row["Bmag"])


def test_vizier_semicolon_download_with_computed_positions(registry, tmp_path):
    path = write_vizier_tsv(tmp_path / "pancino.tsv", sep=";")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = ingest(path, registry, margin_arcsec=None)
    [name] = registry.tables(info.name)
    table = registry.get(name)
    assert (table.ra_column, table.dec_column) == ("_RAJ2000", "_DEJ2000")
    assert table.equinox == "J2000"
    _, stars = _stars()
    found = cone_search(name, stars[3], 1 * u.arcsec, registry=registry)
    assert len(found) == 1 and found["_RAJ2000"][0] == pytest.approx(stars[3].ra.deg, abs=1e-6)
