"""Answers, not speed: the archive's SIA v2 against DaCHS's on the platform's sample images, with pyvo.

Usage (as root, as ``bench/adql_vs_dachs.py``, whose servers and setup it shares; its own work folder)::

    WEBPORT=18080 .venv/bin/python bench/sia_vs_dachs.py [--work DIR] [--keep] [--json FILE]

Both services serve the 8 sample images exactly as the platform loads them (:mod:`platform_lib.sampledata`,
copied into the archive's image tree and indexed). DaCHS 2.7 imports the same FITS files through a generated
resource descriptor (:func:`write_sia_rd`): a ``//siap#pgs`` table (DaCHS computes each image's centre, footprint,
field of view, pixel scale and size itself from the header's WCS with ``//siap#computePGS``) published to its
``ivoa.obscore`` with ``//obscore#publishSIAP``, and served by DaCHS's site-wide SIA v2 service
(``__system__/siap2/sitewide/siap2.xml``). What DaCHS has no generic way to read from a header (the dataset
identifier, collection, target, times, exposure, band, facility, instrument, calibration level) is given to it
as our index has it, so that those queries compare the services' query rules, not two header readings.

Each query of :data:`QUERIES` goes to both with pyvo (``pyvo.dal.sia2.SIA2Query``, the parameters as sent on
the wire); the answers are compared: which images (by ``obs_publisher_did``), the ObsCore columns each gives
(name, datatype, unit, UCD, utype, xtype) and, for the images both return, the values of the columns whose
values both derive the same way (floats to a relative 1e-6) and the footprints (largest vertex distance). The
images a positional query should return are also worked out with astropy alone (:func:`truth`: each image's
WCS, its pixel grid sampled edge to edge, in ICRS) and each service's answer checked against it. Bad values go
to both with ``requests`` too: HTTP status and the error document's ``QUERY_STATUS``. docs/benchmarks.md
triages each difference (ours wrong, DaCHS wrong, both defensible) against SIA 2.0, ObsCore 1.1 and DALI 1.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile
import warnings
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from adql_vs_dachs import DACHS_URL, _vot_type, dachs_and_ours  # noqa: E402

DACHS_SIA = DACHS_URL.rsplit("/", 1)[0] + "/__system__/siap2/sitewide/siap2.xml"

#: The ObsCore columns DaCHS is given as our index has them (DaCHS has no generic reading of these from a header: an
#: operator writes it per collection in the RD); compared value for value in every answer.
GIVEN = ["obs_publisher_did", "obs_id", "obs_collection", "calib_level", "target_name", "t_min", "t_max",
         "t_exptime", "em_min", "em_max", "em_res_power", "pol_states", "o_ucd", "facility_name",
         "instrument_name", "dataproduct_type"]
M1 = "ivo://astrohub/archive?sample/m1_dss"
WFCAM = "ivo://astrohub/archive?sample/m1_ukidss_wfcam"

#: (id, parameters as sent): every SIA 2.0 parameter, repeated values (OR), combinations, MAXREC, bad values.
QUERIES: list[tuple[str, dict]] = [
    # POS
    ("circle_crab", {"POS": "CIRCLE 83.633 22.014 0.05"}),
    ("circle_m13", {"POS": "CIRCLE 250.42 36.46 0.01"}),
    ("circle_m13_edge", {"POS": "CIRCLE 250.42 36.52 0.03"}),  # reaches the top edge from outside
    ("circle_sa110", {"POS": "CIRCLE 280.7 0.25 0.3"}),
    ("circle_fornax", {"POS": "CIRCLE 50.674 -37.208 0.1"}),
    ("circle_fornax_east", {"POS": "CIRCLE 51.1 -37.2 0.05"}),  # inside the image (its WCS is FK4 B1950)
    ("circle_fornax_b1950", {"POS": "CIRCLE 49.9 -37.4 0.05"}),  # outside: where its B1950 corners would be
    ("circle_magpis", {"POS": "CIRCLE 272.2 -19.85 0.05"}),  # G10.5+0.0 in ICRS
    ("circle_magpis_galactic", {"POS": "CIRCLE 10.5 0.0 0.1"}),  # (l, b) read as (ra, dec): nothing there
    ("circle_m51", {"POS": "CIRCLE 202.47 47.2 1"}),
    ("circle_empty", {"POS": "CIRCLE 0 -60 1"}),
    ("circle_allsky", {"POS": "CIRCLE 0 0 180"}),
    ("circle_two", {"POS": ["CIRCLE 83.633 22.014 0.05", "CIRCLE 250.42 36.46 0.01"]}),
    ("range_crab", {"POS": "RANGE 83.5 83.7 21.9 22.1"}),
    ("range_ra_open", {"POS": "RANGE -Inf +Inf 30 40"}),
    ("range_south", {"POS": "RANGE 0 360 -90 -30"}),
    ("range_sa110", {"POS": "RANGE 280 281 0 1"}),
    ("polygon_crab", {"POS": "POLYGON 83.5 21.9 83.8 21.9 83.8 22.1 83.5 22.1"}),
    ("polygon_cw", {"POS": "POLYGON 83.5 22.1 83.8 22.1 83.8 21.9 83.5 21.9"}),  # same, clockwise
    ("polygon_m51", {"POS": "POLYGON 200 45 205 45 205 49 200 49"}),
    # BAND (metres), TIME (MJD), POL
    ("band_k", {"BAND": "2.0e-6 2.4e-6"}),
    ("band_point", {"BAND": "5e-7"}),
    ("band_open_low", {"BAND": "-Inf 4.0e-7"}),
    ("band_radio", {"BAND": "0.1 0.2"}),
    ("band_two", {"BAND": ["2.0e-6 2.4e-6", "4.0e-7 5.0e-7"]}),
    ("time_2007", {"TIME": "54384 54385"}),
    ("time_point", {"TIME": "53582.41333"}),
    ("time_two", {"TIME": ["54384 54385", "53582 53583"]}),
    ("time_open", {"TIME": "55000 +Inf"}),
    ("time_before", {"TIME": "-Inf 40000"}),
    ("pol_i", {"POL": "I"}),
    # FOV (deg), SPATRES (arcsec), EXPTIME (s), SPECRP, TIMERES (s)
    ("fov_small", {"FOV": "0 0.02"}),
    ("fov_large", {"FOV": "1 10"}),
    ("spatres_fine", {"SPATRES": "0 0.5"}),
    ("spatres_coarse", {"SPATRES": "5 100"}),
    ("exptime_long", {"EXPTIME": "100 +Inf"}),
    ("exptime_range", {"EXPTIME": "1 20"}),
    ("specrp", {"SPECRP": "3 7"}),
    ("timeres", {"TIMERES": "-Inf +Inf"}),
    # text and code parameters
    ("id", {"ID": WFCAM}),
    ("id_two", {"ID": [M1, WFCAM]}),
    ("id_case", {"ID": WFCAM.upper()}),
    ("collection", {"COLLECTION": "UKIDSS"}),
    ("collection_case", {"COLLECTION": "ukidss"}),
    ("facility", {"FACILITY": "UKIRT"}),
    ("instrument", {"INSTRUMENT": "MegaPrime"}),
    ("dptype_image", {"DPTYPE": "image"}),
    ("dptype_cube", {"DPTYPE": "cube"}),
    ("calib_1", {"CALIB": "1"}),
    ("calib_2", {"CALIB": "2"}),
    ("target", {"TARGET": "SA 110"}),
    ("target_case", {"TARGET": "sa 110"}),
    ("format_fits", {"FORMAT": "application/fits"}),
    ("format_image_fits", {"FORMAT": "image/fits"}),
    # combinations (AND across parameters, OR within one)
    ("crab_k", {"POS": "CIRCLE 83.633 22.014 0.1", "BAND": "2e-6 2.5e-6"}),
    ("crab_time", {"POS": "CIRCLE 83.633 22.014 0.1", "TIME": "30000 40000"}),
    ("sa110_calib", {"POS": "RANGE 280 281 0 1", "CALIB": ["1", "2"], "EXPTIME": "1 10"}),
    ("collection_band", {"COLLECTION": ["DSS", "UKIDSS"], "BAND": "3e-7 6e-7"}),
    # MAXREC and the request as a whole
    ("maxrec_2", {"POS": "RANGE 0 360 -90 90", "MAXREC": "2"}),
    ("maxrec_0", {"POS": "CIRCLE 83.633 22.014 0.05", "MAXREC": "0"}),
    ("no_params", {}),
    ("lower_case", {"pos": "CIRCLE 83.633 22.014 0.05"}),
    # bad values
    ("bad_circle_short", {"POS": "CIRCLE 10 20"}),
    ("bad_circle_text", {"POS": "CIRCLE a b c"}),
    ("bad_dec", {"POS": "CIRCLE 10 95 1"}),
    ("bad_radius", {"POS": "CIRCLE 10 20 -1"}),
    ("bad_shape", {"POS": "BOX 10 20 1 1"}),
    ("bad_range_short", {"POS": "RANGE 10 20 30"}),
    ("bad_range_order", {"POS": "RANGE 10 20 40 30"}),
    ("bad_polygon_two", {"POS": "POLYGON 10 20 11 20"}),
    ("bad_band_order", {"BAND": "3e-7 1e-7"}),
    ("bad_band_text", {"BAND": "visible"}),
    ("bad_time_text", {"TIME": "2007-10-10"}),
    ("bad_pol", {"POL": "Z"}),
    ("bad_calib", {"CALIB": "high"}),
    ("bad_calib_range", {"CALIB": "7"}),
    ("bad_dptype", {"DPTYPE": "spectrum"}),
    ("bad_fov_text", {"FOV": "wide"}),
    ("bad_exptime_three", {"EXPTIME": "1 2 3"}),
    ("bad_maxrec", {"POS": "CIRCLE 10 20 1", "MAXREC": "many"}),
    ("bad_format", {"POS": "CIRCLE 10 20 1", "RESPONSEFORMAT": "nosuch"}),
]

#: Each difference's verdict against SIA 2.0, ObsCore 1.1 and DALI 1.1 (docs/benchmarks.md says why):
#: (kind, what, query ids); kinds: "ours wrong (fixed)", "DaCHS wrong", "both defensible".
TRIAGE: list[tuple[str, str, list[str]]] = [
    ("DaCHS wrong", "footprint and centre in the WCS's own frame (Galactic, FK4 B1950) served as ICRS",
     ["circle_magpis", "circle_magpis_galactic", "circle_fornax_east", "circle_fornax_b1950"]),
    ("DaCHS wrong", "a circle wider than 90 deg refused (pgsphere's scircle)", ["circle_allsky"]),
    ("DaCHS wrong", "RANGE with -Inf/+Inf longitudes: a PostgreSQL syntax error", ["range_ra_open"]),
    ("DaCHS wrong", "a single BAND or TIME value refused", ["band_point", "time_point"]),
    ("DaCHS wrong", "s_fov the first axis's extent, smaller than the field", ["fov_small", "fov_large"]),
    ("DaCHS wrong", "ID compared case-sensitively", ["id_case"]),
    ("DaCHS wrong", "Dec outside [-90, 90] answered as a query", ["bad_dec"]),
    ("both defensible", "access_format application/fits here, image/fits there", ["format_fits", "format_image_fits"]),
    ("both defensible", "a value no record can have (lower bound above upper, an unknown POL, DPTYPE or CALIB "
                        "level): refused here, no rows there", ["bad_band_order", "bad_pol", "bad_calib_range",
                                                               "bad_dptype"]),
]
KIND_OF = {qid: kind for kind, _, ids in TRIAGE for qid in ids}

# --- DaCHS's side: the sample images in an obscore-published //siap#pgs table -------------------------------

RD = """<resource schema="siaimg">
  <meta name="title">astrohub sample images (bench/sia_vs_dachs.py)</meta>
  <meta name="description">The 8 FITS images the platform's sample data loads, for comparing SIA v2.</meta>
  <meta name="creationDate">2026-12-08T00:00:00</meta>
  <meta name="subject">astrohub bench</meta>
  <meta name="creator.name">astrohub</meta>
  <table id="images" onDisk="True" adql="True">
    <mixin>//siap#pgs</mixin>
    <mixin
      did="ours_did" obsId="ours_obs_id" collectionName="ours_collection" calibLevel="ours_calib"
      targetName="ours_target" expTime="ours_exptime" emResPower="ours_res_power" polStates="ours_pol"
      oUCD="ours_o_ucd" facilityName="ours_facility" productType="ours_dptype"
      tMin="ours_t_min" tMax="ours_t_max">//obscore#publishSIAP</mixin>
{columns}  </table>
{datas}</resource>
"""

DATA = """  <data id="import{hdu}" updating="{updating}">
    <sources>{sources}</sources>
    <fitsProdGrammar qnd="False" hdu="{hdu}">
      <rowfilter procDef="//products#define">
        <bind key="table">"siaimg.images"</bind>
      </rowfilter>
    </fitsProdGrammar>
    <make table="images">
      <rowmaker>
        <apply name="ours">
          <setup>
            <code>
              import json, os
              OURS = json.loads({meta})
            </code>
          </setup>
          <code>
            m = OURS[os.path.basename(vars["prodtblPath"])]
            vars["_ours"] = m
            for key in {keys}:
              result["ours_" + key] = m[key]
          </code>
        </apply>
        <apply procDef="//siap#setMeta">
          <bind key="title">vars["_ours"]["obs_id"]</bind>
          <bind key="instrument">vars["_ours"]["instrument_name"]</bind>
          <bind key="dateObs">vars["_ours"]["t_min"]</bind>
          <bind key="bandpassLo">vars["_ours"]["em_min"]</bind>
          <bind key="bandpassHi">vars["_ours"]["em_max"]</bind>
        </apply>
        <apply procDef="//siap#computePGS">
          <bind key="missingIsError">False</bind>
        </apply>
      </rowmaker>
    </make>
  </data>
"""

#: our key in the JSON -> the DaCHS column holding it
_OURS_COLUMNS = {"did": "text", "obs_id": "text", "collection": "text", "calib": "smallint", "target": "text",
                 "exptime": "double precision", "res_power": "double precision", "pol": "text", "o_ucd": "text",
                 "facility": "text", "dptype": "text", "t_min": "double precision", "t_max": "double precision"}
_OURS_FROM = {"did": "obs_publisher_did", "collection": "obs_collection", "calib": "calib_level",
              "target": "target_name", "exptime": "t_exptime", "res_power": "em_res_power", "pol": "pol_states",
              "facility": "facility_name", "dptype": "dataproduct_type"}


def our_records(ours: Path) -> list[dict]:
    """The sample images loaded into our archive's tree under ``ours`` (as :func:`adql_vs_dachs.start_ours`
    serves it) and indexed; their index records."""
    from platform_lib.sampledata import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(ours / "datasets", images_root=ours / "images", index=ours / "index.sqlite", parts=("images",),
             log=lambda s: None)
    conn = sqlite3.connect(ours / "index.sqlite")
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM obscore ORDER BY obs_id")]
    conn.close()
    for r in rows:
        r.pop("vertices")
    return rows


def write_sia_rd(rd_root: Path) -> None:
    """``rd_root/siaimg/q.rd`` and its FITS files: the images our archive serves (loaded into
    ``rd_root/../astrohub`` first), each imported from the HDU our index read."""
    from astropy.io import fits

    ours = rd_root.parent / "astrohub"
    records = our_records(ours)
    folder = rd_root / "siaimg"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    meta, by_hdu = {}, {}
    for r in records:
        src = ours / "images" / r["file_path"]
        name = Path(r["file_path"]).name
        with fits.open(src) as hdus:  # the first HDU with an image; DaCHS finds a compressed one after HDU 0
            hdu = next(i for i, h in enumerate(hdus) if h.header.get("NAXIS", 0) >= 2)
            if "CTYPE1" not in hdus[hdu].header:  # the DSS plate: DaCHS's WCS of it is NaN, its import fails
                continue
            hdu = 0 if isinstance(hdus[hdu], fits.CompImageHDU) else hdu
        shutil.copy(src, folder / "data" / name)
        by_hdu.setdefault(hdu, []).append(f"data/{name}")
        meta[name] = {key: r[_OURS_FROM.get(key, key)] for key in _OURS_COLUMNS}
        meta[name].update({k: r[k] for k in ("obs_id", "instrument_name", "t_min", "em_min", "em_max")})
    columns = "".join(f'    <column name="ours_{k}" type="{t}"/>\n' for k, t in _OURS_COLUMNS.items())
    datas = "".join(DATA.format(hdu=hdu, updating="False" if i == 0 else "True", meta=escape(repr(json.dumps(meta))),
                                keys=escape(repr(list(_OURS_COLUMNS))),
                                sources="".join(f"<pattern>{f}</pattern>" for f in files))
                    for i, (hdu, files) in enumerate(sorted(by_hdu.items())))
    (folder / "q.rd.tmp").write_text(RD.format(columns=columns, datas=datas))
    os.replace(folder / "q.rd.tmp", folder / "q.rd")


# --- asking and comparing ----------------------------------------------------------------------------------


def ask(url: str, params: dict) -> dict:
    """One SIA v2 query through pyvo: ``{"error"}`` or ``{"fields": {name: (type, unit, ucd, utype, xtype)},
    "rows": {did: {column: value}}, "overflow": bool}``."""
    from pyvo.dal.sia2 import SIA2Query

    q = SIA2Query(url)
    q.update(params)
    try:
        res = q.execute()
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
    fields = {f.name: (_vot_type(f), str(f.unit) if f.unit is not None else None, f.ucd, f.utype, f.xtype)
              for f in res.fielddescs}
    table = res.to_table()
    rows = {}
    for row in table:
        values = {}
        for name in table.colnames:
            v = row[name]
            if v is np.ma.masked:
                v = None
            elif isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, np.ndarray):
                v = [float(x) for x in np.ma.filled(v, np.nan).ravel()]
            elif isinstance(v, np.generic):
                v = v.item()
            values[name] = None if isinstance(v, float) and math.isnan(v) else v
        rows[values.get("obs_publisher_did") or len(rows)] = values
    overflow = any(getattr(i, "name", "") == "QUERY_STATUS" and i.value == "OVERFLOW" for i in res.votable.infos)
    return {"fields": fields, "rows": rows, "overflow": overflow}


def status(url: str, params: dict) -> str:
    """The HTTP status and the error document's QUERY_STATUS of the same request, for bad values."""
    import re

    import requests

    r = requests.get(url, params=params, timeout=60)
    m = re.search(rb'name="QUERY_STATUS"\s+value="(\w+)"', r.content)
    return f"HTTP {r.status_code} {m.group(1).decode() if m else 'no QUERY_STATUS'}"


def _vertices(value) -> np.ndarray | None:
    """A footprint as (n, 2) degrees: STC-S ``Polygon ICRS ...`` text or a DALI polygon (a float array)."""
    if value is None:
        return None
    if isinstance(value, str):
        nums = [float(t) for t in value.split() if t[0].isdigit() or t[0] in "+-."]
    else:
        nums = list(value)
    return np.array(nums).reshape(-1, 2)


def _sep(a, b) -> float:
    """The largest distance in arcsec from a vertex of one footprint to the nearest vertex of the other."""
    from astropy.coordinates import SkyCoord

    ca, cb = SkyCoord(a[:, 0], a[:, 1], unit="deg"), SkyCoord(b[:, 0], b[:, 1], unit="deg")
    d = ca[:, None].separation(cb[None, :]).arcsec
    return float(max(d.min(axis=1).max(), d.min(axis=0).max()))


#: Columns whose values both derive from the header's WCS, each its own way (compared, reported, not equal by
#: construction); the others both hold as our index gives them (``GIVEN``) or are each service's own
#: (``access_url``, ``obs_release_date``, ``access_estsize``, ``access_format``).
DERIVED = ["s_ra", "s_dec", "s_fov", "s_resolution", "s_xel1", "s_xel2"]


def compare(ours: dict, theirs: dict, params: dict) -> list[str]:
    """The differences between two SIA answers, as short sentences (empty: they agree)."""
    if "error" in ours or "error" in theirs:
        if "error" in ours and "error" in theirs:
            return []
        return [f"only {'astrohub' if 'error' in ours else 'DaCHS'} refuses: "
                f"{(ours.get('error') or theirs['error'])[:300]}"]
    diffs = []
    ro, rt = {k: v for k, v in ours["rows"].items() if k != M1}, theirs["rows"]  # (DaCHS cannot import M1's plate)
    if params.get("MAXREC") not in (None, "0"):  # which of the matches come back is the service's choice
        if len(ours["rows"]) != len(rt):
            diffs.append(f"images: {len(ours['rows'])} here, {len(rt)} in DaCHS")
    elif set(ro) != set(rt):
        short = lambda ids: sorted(str(i).rsplit("/", 1)[-1] for i in ids)  # noqa: E731
        diffs.append(f"images: only here {short(set(ro) - set(rt))}, only in DaCHS {short(set(rt) - set(ro))}")
    if ours["overflow"] != theirs["overflow"]:
        diffs.append(f"OVERFLOW: astrohub {ours['overflow']}, DaCHS {theirs['overflow']}")
    for did in sorted(set(ro) & set(rt), key=str):
        a, b = ro[did], rt[did]
        bad = []
        for n in GIVEN:
            if n in a and n in b and not _same(a[n], b[n]):
                bad.append(f"{n} {a[n]!r} vs {b[n]!r}")
        if bad:
            diffs.append(f"{str(did).rsplit('/', 1)[-1]}: " + "; ".join(bad))
    return diffs


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return str(a).strip() == str(b).strip()
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12)


def metadata(ours: dict, theirs: dict) -> list[str]:
    """The ObsCore columns: those only one service gives, and for the others the declared type, unit, UCD,
    utype and xtype where they differ."""
    fo, ft = ours["fields"], theirs["fields"]
    out = [f"columns only here: {sorted(set(fo) - set(ft))}", f"columns only in DaCHS: {sorted(set(ft) - set(fo))}"]
    for n in [n for n in fo if n in ft]:
        for i, what in enumerate(("type", "unit", "ucd", "utype", "xtype")):
            a, b = fo[n][i], ft[n][i]
            if (a or None) != (b or None) and not (what == "utype" and a and b and a.lower() == b.lower()):
                out.append(f"{n} {what}: astrohub {a} DaCHS {b}")
    return out


def values(ours: dict, theirs: dict) -> list[str]:
    """Per image, the WCS-derived columns and the footprint where the two services differ."""
    out = []
    for did in sorted(set(ours["rows"]) & set(theirs["rows"]), key=str):
        a, b = ours["rows"][did], theirs["rows"][did]
        name = str(did).rsplit("?", 1)[-1]
        bad = [f"{n} {a.get(n)!r} vs {b.get(n)!r}" for n in DERIVED if not _same(a.get(n), b.get(n))]
        va, vb = _vertices(a.get("s_region")), _vertices(b.get("s_region"))
        if va is None or vb is None:
            bad.append(f"s_region {'none here' if va is None else 'none in DaCHS'}")
        else:
            sep = _sep(va, vb)
            if sep > 0.01:
                bad.append(f"footprint vertices up to {sep:.1f} arcsec apart ({len(va)} vs {len(vb)} vertices)")
        if _download(a.get("access_url")) != _download(b.get("access_url")):
            bad.append("access_url: the two downloads differ")
        for n in ("access_format", "access_estsize", "obs_release_date"):
            if not _same(a.get(n), b.get(n)):
                bad.append(f"{n} {a.get(n)!r} vs {b.get(n)!r}")
        if bad:
            out.append(f"{name}: " + "; ".join(bad))
    return out


def _download(url: str | None) -> str | None:
    """The SHA-256 of what ``url`` serves (None for no URL or an error)."""
    import hashlib

    import requests

    if not url:
        return None
    r = requests.get(url, timeout=60)
    return hashlib.sha256(r.content).hexdigest() if r.ok else f"HTTP {r.status_code}"


# --- ground truth: astropy alone ---------------------------------------------------------------------------


def footprints(ours: Path) -> dict[str, np.ndarray | None]:
    """Each image's pixel grid (edges included, 41 x 41 samples) in ICRS degrees, from astropy's WCS of the
    HDU holding the image; None where astropy finds no celestial WCS (the DSS plate solution)."""
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.wcs import WCS
    from astropy.wcs.utils import pixel_to_skycoord

    out = {}
    conn = sqlite3.connect(ours / "index.sqlite")
    for did, path in conn.execute("SELECT obs_publisher_did, file_path FROM obscore"):
        with fits.open(ours / "images" / path) as hdus, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            h = next(h for h in hdus if h.header.get("NAXIS", 0) >= 2)
            wcs = WCS(h.header).celestial
            if not wcs.has_celestial or "AMDX1" in h.header and not h.header.get("CTYPE1"):
                out[did] = None
                continue
            nx, ny = h.header["NAXIS1"], h.header["NAXIS2"]
            x, y = np.meshgrid(np.linspace(-0.5, nx - 0.5, 41), np.linspace(-0.5, ny - 0.5, 41))
            c: SkyCoord = pixel_to_skycoord(x.ravel(), y.ravel(), wcs).icrs
            out[did] = np.column_stack([c.ra.deg, c.dec.deg])
    conn.close()
    return out


def truth(params: dict, grid: dict) -> set | None:
    """The images a POS-only query should return by astropy's sampled footprints (a sample inside the region,
    or the region's centre inside the image's sampled box); None where the query is not POS alone."""
    from astropy.coordinates import SkyCoord
    from matplotlib.path import Path as MPath

    if set(params) != {"POS"}:
        return None
    out = set()
    for value in (params["POS"] if isinstance(params["POS"], list) else [params["POS"]]):
        shape, *nums = value.split()
        nums = [float(n) for n in nums]
        for did, pts in grid.items():
            if pts is None:
                continue
            c = SkyCoord(pts[:, 0], pts[:, 1], unit="deg")
            if shape == "CIRCLE":
                centre = SkyCoord(nums[0], nums[1], unit="deg")
                hit = bool((c.separation(centre).deg <= nums[2]).any())
                if not hit:  # the circle inside the image: its centre within the grid's outline
                    off = centre.spherical_offsets_to(c)
                    hull = MPath(np.column_stack([off[0].deg, off[1].deg]).reshape(41, 41, 2)[
                        [0, -1, -1, 0], [0, 0, -1, -1]])
                    hit = hull.contains_point((0, 0))
            elif shape == "RANGE":
                ra1, ra2, d1, d2 = [max(-1e9, min(1e9, n)) for n in nums]
                ra1, ra2 = max(ra1, 0), min(ra2, 360)
                hit = bool(((pts[:, 0] >= ra1) & (pts[:, 0] <= ra2) & (pts[:, 1] >= d1) & (pts[:, 1] <= d2)).any())
            else:  # POLYGON, small: a tangent plane at its first vertex
                v = np.array(nums).reshape(-1, 2)
                ref = SkyCoord(v[0, 0], v[0, 1], unit="deg")
                pv = ref.spherical_offsets_to(SkyCoord(v[:, 0], v[:, 1], unit="deg"))
                pc = ref.spherical_offsets_to(c)
                hit = bool(MPath(np.column_stack([pv[0].deg, pv[1].deg])).contains_points(
                    np.column_stack([pc[0].deg, pc[1].deg])).any())
            if hit:
                out.add(did)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "astrohub-sia-dachs"))
    ap.add_argument("--keep", action="store_true", help="leave DaCHS and its cluster running")
    ap.add_argument("--json", help="also write every answer pair to this file")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    work = Path(args.work)
    report, differ = [], 0
    with dachs_and_ours(work, args.keep, write_sia_rd, catalogs=False) as ours_tap:
        ours_url = ours_tap[: -len("tap")] + "sia/query"
        grid = footprints(work / "astrohub")
        for qid, params in QUERIES:
            a, b = ask(ours_url, params), ask(DACHS_SIA, params)
            diffs = compare(a, b, params)
            expected = None if qid.startswith("bad_") else truth(params, grid)
            if expected is not None:
                for name, ans in (("astrohub", a), ("DaCHS", b)):
                    got = set(ans.get("rows", {}))
                    if "error" not in ans and got - {M1} != expected:
                        diffs.append(f"{name} differs from astropy's footprints: missing "
                                     f"{sorted(str(d).rsplit('?', 1)[-1] for d in expected - got)}, extra "
                                     f"{sorted(str(d).rsplit('?', 1)[-1] for d in got - expected - {M1})}")
            if qid.startswith("bad_") or qid in ("no_params", "maxrec_0"):
                diffs.append(f"astrohub {status(ours_url, params)}; DaCHS {status(DACHS_SIA, params)}")
            differs = any(not d.startswith("astrohub HTTP") for d in diffs)
            differ += differs
            n = " ".join(f"{k} {len(v['rows'])}" if "rows" in v else f"{k} refuses"
                         for k, v in (("astrohub", a), ("DaCHS", b)))
            print(f"{qid:24s} {n}", flush=True)
            for d in diffs:
                print(f"    {d[:500]}")
            for name, ans in (("astrohub", a), ("DaCHS", b)):
                if "error" in ans and not any(d.startswith("only") for d in diffs):
                    print(f"    {name}: {ans['error'][:200]}")
            report.append({"id": qid, "params": params, "diffs": diffs, "differ": differs, "astrohub": a, "DaCHS": b})
        whole = ask(ours_url, {}), ask(DACHS_SIA, {})
        print("\nObsCore columns (all images):")
        for d in metadata(*whole):
            print(f"    {d}")
        print("WCS-derived values and footprints, per image:")
        for d in values(*whole):
            print(f"    {d}")
    print(f"\n{len(QUERIES)} queries: {len(QUERIES) - differ} agree, {differ} differ (DaCHS 2.7; load average "
          f"{os.getloadavg()[0]:.1f})")
    kinds: dict[str, list[str]] = {}
    for r in report:
        if r["differ"]:
            kinds.setdefault(KIND_OF.get(r["id"], "untriaged"), []).append(r["id"])
    for kind, ids in sorted(kinds.items()):
        print(f"  {kind}: {len(ids)} ({' '.join(ids)})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
