"""Catalogues whose RA/Dec are sexagesimal text are ingested with decimal positions (s4 task cat5, item 1).

Rows in real layouts, written here: an OpenNGC-like CSV (``RA`` ``05:34:31.94``, ``Dec`` ``+22:00:52.2``,
empty cells for objects without a position), a VizieR-style VOTable (``RAJ2000`` ``"05 34 31.94"``
with unit ``"h:m:s"`` and UCD ``pos.eq.ra;meta.main``) and an ECSV whose RA text is in degrees (unit
``deg``). The decimal positions must equal astropy's ``SkyCoord`` reading of the same strings, every
object must be found by a 1" cone, and the text columns must stay. A value that does not parse is
refused naming the column, the row and the value, with nothing registered.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io.votable.tree import Field, Resource, TableElement, VOTableFile
from astropy.table import Table

from platform_lib.catalogs import NoPositionWarning, Registry, UnsupportedSource, cone_search, ingest

_NGC = [  # OpenNGC rows (Name, Type, RA, Dec, V-Mag)
    ("NGC1952", "SNR", "05:34:31.94", "+22:00:52.2", 8.4),
    ("NGC0224", "G", "00:42:44.35", "+41:16:08.6", 3.44),
    ("NGC0055", "G", "00:14:53.60", "-39:11:47.9", 7.87),
    ("NGC7000", "HII", "20:59:17.14", "+44:31:43.6", 4.0),
    ("IC0001", "**", "00:08:27.05", "+27:43:03.6", np.nan),
    ("NGC6822", "G", "19:44:56.20", "-14:47:51.3", 8.7),
]


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "catalogs" / "registry.sqlite")


def _ingest(path, registry, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lsdb/pandas chatter; the NoPositionWarning is checked below
        warnings.simplefilter("error", category=NoPositionWarning)  # what these files got before
        return ingest(path, registry, **kw)


def _check(registry, name, ra_text, dec_text, ra_unit):
    info = registry.get(name)
    expected = SkyCoord(ra_text, dec_text, unit=(ra_unit, u.deg))
    assert (info.ra_column, info.dec_column) != (None, None)
    for star, ra_s, dec_s in zip(expected, ra_text, dec_text):
        found = cone_search(name, star, 1 * u.arcsec, registry=registry)
        assert len(found) == 1, (ra_s, dec_s)
        assert found[info.ra_column][0] == pytest.approx(star.ra.deg, abs=1e-9)
        assert found[info.dec_column][0] == pytest.approx(star.dec.deg, abs=1e-9)
    return info


def test_openngc_csv_with_colon_sexagesimal_text(registry, tmp_path):
    rows = _NGC + [("M0040", "Other", "", "", np.nan)]  # OpenNGC leaves RA/Dec empty for a few objects
    Table(rows=rows, names=["Name", "Type", "RA", "Dec", "V-Mag"]).write(tmp_path / "NGC.csv")
    _ingest(tmp_path / "NGC.csv", registry, name="OpenNGC")
    info = _check(registry, "OpenNGC", [r[2] for r in _NGC], [r[3] for r in _NGC], u.hourangle)
    names = [c.name for c in info.columns]
    assert "RA" in names and "Dec" in names  # the text stays
    assert info.nrows == len(_NGC)  # the row without a position left out
    text = cone_search("OpenNGC", SkyCoord("05h34m31.94s +22d00m52.2s"), 1 * u.arcsec, registry=registry)
    assert text["RA"][0] == "05:34:31.94" and text["Dec"][0] == "+22:00:52.2"


def test_vizier_votable_with_space_separated_hours(registry, tmp_path):
    ra = [r[2].replace(":", " ") for r in _NGC]
    dec = [r[3].replace(":", " ") for r in _NGC]
    vot = VOTableFile()
    resource = Resource()
    vot.resources.append(resource)
    table = TableElement(vot)
    resource.tables.append(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W50: astropy does not know VizieR's unit "h:m:s" (nor do we need it to)
        table.fields.extend([
            Field(vot, name="Name", datatype="char", arraysize="*", ucd="meta.id;meta.main"),
            Field(vot, name="RAJ2000", datatype="char", arraysize="*", unit='"h:m:s"', ucd="pos.eq.ra;meta.main"),
            Field(vot, name="DEJ2000", datatype="char", arraysize="*", unit='"d:m:s"', ucd="pos.eq.dec;meta.main"),
        ])
    table.create_arrays(len(_NGC))
    for i, r in enumerate(_NGC):
        table.array[i] = (r[0], ra[i], dec[i])
    vot.to_xml(str(tmp_path / "vizier.vot"))
    _ingest(tmp_path / "vizier.vot", registry, name="viz")
    info = _check(registry, "viz", ra, dec, u.hourangle)
    ucds = {c.name: c.ucd for c in info.columns}
    assert ucds[info.ra_column] == "pos.eq.ra;meta.main" and ucds["RAJ2000"] == "pos.eq.ra"  # one main position


def test_ecsv_text_in_degrees_by_unit(registry, tmp_path):
    coords = SkyCoord([r[2] for r in _NGC], [r[3] for r in _NGC], unit=(u.hourangle, u.deg))
    ra = [c.ra.to_string(unit=u.deg, sep=" ", precision=4) for c in coords]
    dec = [c.dec.to_string(unit=u.deg, sep=" ", precision=4, alwayssign=True) for c in coords]
    t = Table({"name": [r[0] for r in _NGC], "ra": ra, "dec": dec})
    t["ra"].unit = u.deg
    t.write(tmp_path / "deg.ecsv")
    _ingest(tmp_path / "deg.ecsv", registry, name="deg")
    _check(registry, "deg", ra, dec, u.deg)


@pytest.mark.parametrize("bad", ["05:34:3x.9", "25:00:00", "12 61 00"])
def test_unparseable_value_names_column_row_and_value(registry, tmp_path, bad):
    rows = [list(r[:4]) for r in _NGC]
    rows[3][2] = bad
    Table(rows=rows, names=["Name", "Type", "RA", "Dec"]).write(tmp_path / "bad.csv")
    with pytest.raises(UnsupportedSource) as err:
        _ingest(tmp_path / "bad.csv", registry, name="bad")
    assert "'RA'" in str(err.value) and "row 4" in str(err.value) and repr(bad) in str(err.value)
    assert registry.catalogs() == []


def test_declination_out_of_range_names_the_row(registry, tmp_path):
    rows = [list(r[:4]) for r in _NGC]
    rows[1][3] = "+95:00:00"
    Table(rows=rows, names=["Name", "Type", "RA", "Dec"]).write(tmp_path / "bad.csv")
    with pytest.raises(UnsupportedSource, match=r"'Dec', row 2: cannot read '\+95:00:00'"):
        _ingest(tmp_path / "bad.csv", registry, name="bad")
