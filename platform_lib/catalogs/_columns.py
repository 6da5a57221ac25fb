"""The column dictionary entries and the guesses made on them: coordinates, UCDs, identifiers.

Pure code (no I/O): :class:`ColumnInfo` describes one column as VizieR's META dictionary does, with its
datatype in one vocabulary (:data:`DATATYPES`, see :func:`normalize_datatype`), and
:func:`guess_position_columns` / :func:`infer_ucd` fill in what a source file did not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from platform_lib.arglists import list_of

__all__ = ["ColumnInfo", "DATATYPES", "normalize_datatype", "guess_position_columns", "position_ucd", "infer_ucd",
           "infer_ucds", "looks_like_identifier"]

#: The catalogue dictionary's column datatypes: Apache Arrow's type names (what the HATS Parquet files
#: hold; ``pyarrow.type_for_alias`` reads each), with ``decimal``, ``timestamp`` and ``date`` for the
#: families whose parameters the dictionary does not keep, and ``string`` for all text.
DATATYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
             "float32", "float64", "decimal", "string", "timestamp", "date", "duration")

# Other spellings (VOTable, Arrow, pandas, numpy) of the same types.
_DATATYPE_ALIASES = {
    "boolean": "bool", "bool_": "bool", "bit": "bool", "unsignedbyte": "uint8", "short": "int16",
    "int": "int32", "long": "int64", "halffloat": "float16", "half": "float16", "float": "float32",
    "double": "float64", "single": "float32", "category": "string", "object": "string", "char": "string",
    "unicodechar": "string", "utf8": "string", "large_string": "string", "large_utf8": "string",
    "binary": "string", "large_binary": "string",
}


def normalize_datatype(text: str) -> str:
    """The dictionary's name (one of :data:`DATATYPES`, or ``""`` when unknown) for a column type spelled
    by numpy, pandas, Arrow or VOTable; registries written before the vocabulary are read through it.

    Text of any kind (``str320``, ``object``, ``string[pyarrow]``, ``category``, VOTable ``char``) is
    ``string``; pandas' nullable ``Int32`` is ``int32``; any timestamp (``datetime64[ms]``) is ``timestamp``.

    >>> [normalize_datatype(t) for t in ("str320", "object", "category", "Int32", "datetime64[ms]", ">f8")]
    ['string', 'string', 'string', 'int32', 'timestamp', 'float64']
    >>> normalize_datatype("double"), normalize_datatype("unsignedByte"), normalize_datatype("boolean")
    ('float64', 'uint8', 'bool')
    """
    text = str(text or "").strip()
    if not text:
        return ""
    if re.fullmatch(r"[<>=|]?[biufcUSOMm]\d*(\[\w+\])?", text):  # a numpy type code: '>f8', 'U10', 'u2'
        try:
            import numpy as np

            text = np.dtype(text).name
        except TypeError:
            pass
    low = text.lower()
    if low in DATATYPES:
        return low
    if low in _DATATYPE_ALIASES:
        return _DATATYPE_ALIASES[low]
    if re.fullmatch(r"(u?int|float)\d+", low):  # pandas' Int32, UInt8, Float64 (numpy names are lower case)
        return low if low in DATATYPES else ""
    for prefixes, name in ((("datetime64", "timestamp", "datetime"), "timestamp"), (("date",), "date"),
                           (("timedelta", "duration"), "duration"), (("decimal",), "decimal"),
                           (("str", "bytes", "unicode", "string", "object"), "string")):
        if low.startswith(prefixes):
            return name
    return ""


@dataclass(frozen=True)
class ColumnInfo:
    """One column of a registered table (VizieR META.col: name, description, unit, UCD, datatype, flags)."""

    name: str
    description: str = ""
    unit: str = ""
    ucd: str = ""
    datatype: str = ""
    flags: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        # One vocabulary, whoever wrote the entry (ingest, or a registry written before it existed).
        object.__setattr__(self, "datatype", normalize_datatype(self.datatype))

    @property
    def is_primary_key(self) -> bool:
        """True when the column's values identify the rows (flag ``primary_key``)."""
        return "primary_key" in self.flags


_RA_NAMES = [
    "ra", "raj2000", "_raj2000", "ra_icrs", "radeg", "ra_deg", "ra_degrees", "ra2000", "alpha",
    "ra_j2000", "raicrs", "right_ascension", "_ra", "ra_d", "ramean",
    "alpha_j2000", "alphawin_j2000", "alpha_sky",  # SExtractor's world positions
    "s_ra",  # IVOA ObsCore
]
_DEC_NAMES = [
    "dec", "dej2000", "_dej2000", "de_icrs", "dedeg", "dec_deg", "dec_degrees", "de2000", "delta",
    "dec_j2000", "deicrs", "declination", "_de", "decl", "de", "dec_d", "demean", "dej2000",
    "delta_j2000", "deltawin_j2000", "delta_sky",
    "decdeg", "s_dec",
]

# UCD1 (VizieR's and IRSA's older VOTables) position words in UCD1+ spelling.
_UCD1_POSITIONS = {"pos_eq_ra_main": "pos.eq.ra;meta.main", "pos_eq_dec_main": "pos.eq.dec;meta.main",
                   "pos_eq_ra": "pos.eq.ra", "pos_eq_dec": "pos.eq.dec", "pos_eq_ra_other": "pos.eq.ra",
                   "pos_eq_dec_other": "pos.eq.dec"}


def position_ucd(ucd: str) -> str:
    """A column's UCD in lower case, with UCD1's position words (``POS_EQ_RA_MAIN``) spelled as UCD1+
    (``pos.eq.ra;meta.main``), so that both choose position columns alike.

    >>> position_ucd("POS_EQ_DEC_MAIN"), position_ucd("pos.eq.ra;meta.main"), position_ucd("PHOT_MAG")
    ('pos.eq.dec;meta.main', 'pos.eq.ra;meta.main', 'phot_mag')
    """
    low = str(ucd or "").strip().lower()
    return _UCD1_POSITIONS.get(low, low)


# Names in a table that has no usual position name: a usual name with one tag, the same on both, when
# the tag says whose position it is (``RAdeg_HI``/``Decdeg_HI``: ALFALFA's HI detections, beside
# ``RAdeg_OC``/``DECdeg_OC``, their optical counterparts; ``in_ra``/``in_dec``: IRSA IBE's input
# position). A list of such tags, not a list of the others: a tag may make the column an error, an
# offset, a motion, a bound, a sexagesimal part or a precision code (``e_RAdeg``, ``RA_offset``,
# ``pm_ra``, ``ra_min``, ``RA_h``, SIMBAD's ``RA_PREC``), and no list of those is ever complete.
_POSITION_TAGS = frozenset("""
    hi oc opt optical ir nir radio xray uv cen center centre obj object src source target targ
    in input pnt pointing nom nominal icrs j2000 fk5 gaia 2mass wise sdss
    1 2 left right
""".split())  # the last: the sides of a crossmatch's pairs (``ra_1``/``dec_1``; ``ra_left``), the first in column order
_BOUND_PAIRS = {"hi": "lo"}  # ``hi`` is neutral hydrogen unless a ``lo`` bound is there too
_TAG = r"[a-z0-9]+"


def _tagged_pairs(names: list[str]) -> list[tuple[str, str]]:
    """(RA, Dec) name pairs that are usual names with the same tag (one of ``_POSITION_TAGS``), in column order."""
    ra_core = {n for n in _RA_NAMES if not n.startswith("_")}
    dec_core = {n for n in _DEC_NAMES if not n.startswith("_")}

    def split(name: str, cores: set[str]):
        low = name.lower()
        for pattern, side in ((rf"^({_TAG})_(.+)$", "prefix"), (rf"^(.+)_({_TAG})$", "suffix")):
            match = re.match(pattern, low)
            if match:
                tag, core = match.groups() if side == "prefix" else match.groups()[::-1]
                if core in cores:
                    return side, tag
        return None

    ras = [(n, split(n, ra_core)) for n in names]
    decs = {split(n, dec_core): n for n in reversed(names) if split(n, dec_core)}
    tags = {key[1] for key in decs}
    pairs = []
    for name, key in ras:
        if key is None or key not in decs or key[1] not in _POSITION_TAGS:
            continue
        if _BOUND_PAIRS.get(key[1]) in tags:
            continue
        pairs.append((name, decs[key]))
    return pairs


def guess_position_columns(columns: list[ColumnInfo]) -> tuple[str, str] | None:
    """The (RA, Dec) column names in degrees: by the UCDs the source gave first, then by usual names.

    In order: UCD ``pos.eq.ra;meta.main`` / ``pos.eq.dec;meta.main`` (or UCD1's ``POS_EQ_RA_MAIN``),
    plain ``pos.eq.ra`` / ``pos.eq.dec``, then a list of usual names (``ra``, ``RAJ2000``,
    ``RA_ICRS``, ``RAdeg``, ``ra_degrees``...), then such a name with the same tag on both, a tag
    that says whose position it is (``RAdeg_HI``/``Decdeg_HI``, ``in_ra``/``in_dec``; the first pair
    in column order): never an error, offset, motion or bound (``e_RAdeg``, ``RA_offset``, ``pmRA``,
    ``ra_min``). A name is not taken when the column's UCD says it is something else. Columns whose
    unit is not an angle in degrees (e.g. ``h`` for sexagesimal parts) are skipped.

    >>> guess_position_columns([ColumnInfo("RAdeg", unit="deg"), ColumnInfo("DEdeg", unit="deg")])
    ('RAdeg', 'DEdeg')
    >>> guess_position_columns([ColumnInfo(n) for n in ("e_RAdeg", "RAdeg_HI", "Decdeg_HI", "RAdeg_OC", "DECdeg_OC")])
    ('RAdeg_HI', 'Decdeg_HI')
    """
    columns = list_of(columns, ColumnInfo, "columns", "a ColumnInfo, in a list such as [ColumnInfo('ra', unit='deg'), "
                      "ColumnInfo('dec', unit='deg')] (for a table's names: [ColumnInfo(n) for n in table.colnames])")
    usable = [c for c in columns if c.unit in ("", "deg", "degree", "degrees") and _numeric(c)]
    ucds = {c.name: position_ucd(c.ucd) for c in usable}

    def by_ucd(prefix: str) -> str | None:
        main = [n for n, ucd in ucds.items() if ucd.startswith(prefix) and "meta.main" in ucd]
        plain = [n for n, ucd in ucds.items() if ucd.split(";")[0] == prefix]
        return (main or plain or [None])[0]

    ra, dec = by_ucd("pos.eq.ra"), by_ucd("pos.eq.dec")
    if ra and dec:
        return ra, dec
    # A name is a guess: not for a column whose UCD says what else it is (``stat.error``, ``pos.pm``...).
    named = [c.name for c in usable if not ucds[c.name] or ucds[c.name].split(";")[0] in ("pos.eq.ra", "pos.eq.dec",
                                                                                            "pos.eq", "pos")]
    lowered = {n.lower(): n for n in named}
    ra = next((lowered[n] for n in _RA_NAMES if n in lowered), None)
    dec = next((lowered[n] for n in _DEC_NAMES if n in lowered), None)
    if ra and dec:
        return ra, dec
    pairs = _tagged_pairs(named)
    return pairs[0] if pairs else None


#: Usual names of Galactic longitude and latitude columns, in pairs.
_GALACTIC = (("glon", "glat"), ("_glon", "_glat"), ("lii", "bii"), ("gal_l", "gal_b"), ("gal_lon", "gal_lat"))


def guess_galactic_columns(columns: list[ColumnInfo]) -> tuple[str, str] | None:
    """The (l, b) column names in degrees of a table whose positions are Galactic: by UCD
    (``pos.galactic.lon`` / ``pos.galactic.lat``), then by usual names (``GLON``/``GLAT``, ``LII``/``BII``...).

    >>> guess_galactic_columns([ColumnInfo("GLON", unit="deg"), ColumnInfo("GLAT", unit="deg")])
    ('GLON', 'GLAT')
    """
    usable = [c for c in columns if c.unit in ("", "deg", "degree", "degrees")
              and (c.datatype == "" or c.datatype.lower().startswith(("float", "int", "uint", "double")))]
    lon = next((c.name for c in usable if c.ucd.lower().startswith("pos.galactic.lon")), None)
    lat = next((c.name for c in usable if c.ucd.lower().startswith("pos.galactic.lat")), None)
    if lon and lat:
        return lon, lat
    lowered = {c.name.lower(): c.name for c in usable}
    for a, b in _GALACTIC:
        if a in lowered and b in lowered:
            return lowered[a], lowered[b]
    return None


def _numeric(column: ColumnInfo) -> bool:
    return column.datatype == "" or column.datatype.startswith(("float", "int", "uint"))


_UCD_BY_NAME: list[tuple[str, str]] = [
    (r"^(source_?id|objid|id|seq)$", "meta.id;meta.main"),
    (r"^recno$", "meta.record"),  # VizieR's record number
    (r"^(hip|hipparcos)$", "meta.id.cross"),
    (r"^(tyc|tyc_id|tycho)$", "meta.id.cross"),
    (r"^(name|sname|simbad|main_id)$", "meta.id"),
    (r"^(pmra|pmr?a_?cosdec|ra_mas_per_year|pmra_masyr)$", "pos.pm;pos.eq.ra"),
    (r"^(pmde|pmdec|dec_mas_per_year|pmde_masyr)$", "pos.pm;pos.eq.dec"),
    (r"^(plx|parallax|parallax_mas)$", "pos.parallax.trig"),  # as VizieR and the Gaia archive label them
    (r"^(b-v|bv|b_v)$", "phot.color;em.opt.B;em.opt.V"),
    (r"^(epoch|epoch_year)$", "time.epoch"),
    (r"^(z|redshift)$", "src.redshift"),
]


# Columns in magnitudes that are not magnitudes: colours, distance moduli, extinctions and reddenings
# (errors are found by name first, see ``_ERROR_NAMES``). Checked before the magnitude rule, and only for
# a column in magnitudes or without a unit; an unrecognised ``mag`` column gets no UCD rather than a wrong
# one (a wrong phot.mag misleads a crossmatch or a photometry query; an empty UCD does not).
_NOT_A_MAGNITUDE: list[tuple[str, str]] = [
    (r"^(e|err)[a-z]{0,2}mag$", "stat.error;phot.mag"),
    (r"dist(ance)?_?mod|^dm$|^mu$|^mu0$|^m-m$|^\(m-m\)", "phot.mag.distMod"),
    (r"^(a_?v|a_?0|ext(inction)?(_?[a-z]{1,2})?)$|extinct", "phys.absorption;em.opt"),
    (r"^e_?\(?b-v\)?$|^ebv$|^e_bv$|redden|^e\([a-z]-[a-z]\)$", "phot.color.excess"),
    (r"^[a-z]{1,2}_?-_?[a-z]{1,2}$|^[a-z]{1,2}-[a-z]{1,2}mag$|colou?r|^[ubvrijhkg]{1,2}_[ubvrijhkg]{1,2}$",
     "phot.color"),
]
# Names of errors, and of what each is the error of: VizieR's ``e_X``/``E_X`` (the error, or the upper
# one, on column ``X``), ``err_X``, ``sigma_X``, and Gaia's and the others' ``X_error``, ``X_err``,
# ``X_sigma``, ``X_unc``. Not ``u_X`` (VizieR's uncertainty flag) nor ``s_X`` (ObsCore's ``s_ra``).
_ERROR_NAMES = (re.compile(r"^(?:e|E)_(?P<of>.+)$"), re.compile(r"^(?:err|sig|sigma)_?(?P<of>.+)$", re.I),
                re.compile(r"^(?P<of>.+?)(?:_?err|_?error|_sigma|_sig|_unc)$", re.I))
# VizieR's bounds of an interval on column ``X`` (``b_X``, ``B_X``): its UCD for them is ``stat.error``.
_BOUND_NAME = re.compile(r"^[bB]_(?P<of>.+)$")


def _unit_kind(unit: str) -> str:
    """``"none"``, ``"mag"``, ``"angle"`` or ``"other"``: what a column's unit allows its UCD to be."""
    text = str(unit or "").strip()
    if text in ("", "---", "-"):
        return "none"
    if text.lower() in ("mag", "mags", "magnitude", "magnitudes") or re.fullmatch(r"(AB|ST|Vega)?mag(\(AB\))?", text):
        return "mag"
    try:
        import astropy.units as u

        parsed = u.Unit(text, parse_strict="silent")
        if not isinstance(parsed, u.UnrecognizedUnit) and parsed.physical_type == "angle":
            return "angle"
    except (ValueError, TypeError):
        pass
    return "other"


def _error_of(name: str) -> str | None:
    """The name of what column ``name`` is the error of (``e_RAdeg`` -> ``RAdeg``), or None."""
    for pattern in _ERROR_NAMES:
        match = pattern.match(name)
        if match and match.group("of").strip("_"):
            return match.group("of").strip("_")
    return None


def _about(ucd: str) -> str:
    """The UCD of a column with ``meta.main`` left out: what an error on it is about (UCD1's position
    words in UCD1+ spelling; ``""`` for other UCD1 words, which do not combine with ``stat.error``)."""
    ucd = _UCD1_POSITIONS.get(ucd.strip().lower(), ucd.strip())
    if re.fullmatch(r"[A-Z0-9_]+", ucd):
        return ""
    return ";".join(w for w in ucd.split(";") if w and w.lower() != "meta.main")


def infer_ucd(name: str, unit: str = "", table: dict[str, str] | None = None) -> str:
    """A UCD for a column that came without one, from its name and unit, or ``""``.

    The unit has the last word: a column in an angle or any other unit that is not ``mag`` is never a
    magnitude, a colour or an extinction. An error column (``e_RAdeg``, ``ra_error``, ``sigma_V``) is
    ``stat.error;`` followed by the UCD of what it is the error of (``meta.main`` left out), as VizieR
    labels them: that column's UCD from ``table`` (a mapping of the table's other column names to their
    UCDs, given or inferred; see :func:`infer_ucds`) when it is there, else what its name and this unit
    say, else ``stat.error;phot.mag`` in magnitudes and plain ``stat.error`` otherwise.

    >>> infer_ucd("Vmag", "mag"), infer_ucd("Gmag", "mag"), infer_ucd("gmag", "mag"), infer_ucd("Plx", "mas")
    ('phot.mag;em.opt.V', 'phot.mag;em.opt', 'phot.mag;em.opt.B', 'pos.parallax.trig')
    >>> infer_ucd("ra_degrees", "deg")
    'pos.eq.ra'
    >>> infer_ucd("e_RAdeg", "deg", {"RAdeg": "pos.eq.ra;meta.main"}), infer_ucd("e_RAdeg", "arcsec")
    ('stat.error;pos.eq.ra', 'stat.error;pos.eq.ra')
    >>> infer_ucd("e_Vmag", "mag"), infer_ucd("e_pm", "mas/yr"), infer_ucd("B-V", "mag"), infer_ucd("E(B-V)", "mag")
    ('stat.error;phot.mag;em.opt.V', 'stat.error', 'phot.color;em.opt.B;em.opt.V', 'phot.color.excess')
    """
    lower = name.lower()
    kind = _unit_kind(unit)
    others = {str(k).lower(): v for k, v in (table or {}).items()}
    if kind != "mag" and lower in _RA_NAMES:
        return "pos.eq.ra"
    if kind != "mag" and lower in _DEC_NAMES:
        return "pos.eq.dec"
    for pattern, ucd in _UCD_BY_NAME:
        if re.match(pattern, lower) and (kind in ("none", "mag") or not ucd.startswith("phot.")):
            return ucd
    of = _error_of(name)
    if of is not None and not re.fullmatch(r"e_?\(?b-v\)?|e_bv", lower):
        about = _about(others.get(of.lower(), ""))
        if not about and of.lower() not in others:
            about = _about(infer_ucd(of, unit))
        if about.startswith("stat.error"):
            about = ""
        if about:
            return "stat.error;" + about
        return "stat.error;phot.mag" if kind == "mag" else "stat.error"
    bound = _BOUND_NAME.match(name)
    if bound and bound.group("of").lower() in others:
        return "stat.error"
    if kind not in ("none", "mag"):
        return ""
    if kind == "mag" and re.fullmatch(r"a_?[a-z]{1,2}", lower):  # A_B, AK: an extinction (Gaia's ``And`` is a flag)
        return "phys.absorption;em.opt"
    for pattern, ucd in _NOT_A_MAGNITUDE:
        if re.search(pattern, lower):
            return ucd
    match = re.match(r"^([a-z]{1,2})_?mag$", name, flags=re.IGNORECASE)
    if match or kind == "mag" or lower in ("mag", "magnitude"):
        band = match.group(1) if match else ""
        return "phot.mag" + (f";{_BANDS[band]}" if band in _BANDS else "")
    return ""


# The band of a magnitude named ``<band>mag`` or ``<band>_mag``, case and all: upper case is Johnson-Cousins,
# 2MASS and Gaia (``Gmag``: Gaia's broad G, ``em.opt``); lower case ugriz is SDSS-like (SDSS, Pan-STARRS,
# APASS, URAT1's ``gmag``), which UCD1+ has no words for: VizieR labels g as ``em.opt.B``, r ``em.opt.R``,
# i and z ``em.opt.I``, u ``em.opt.U`` (``em.opt.g`` is not a UCD). Lower-case b, v and y are left without
# a band: they are Strömgren's (uvby) as often as Johnson's or Pan-STARRS's. Lower-case j, h, k and ks are
# the near-infrared bands whoever writes them (OpenNGC's ``jmag``/``hmag``/``kmag`` are 2MASS's; no system
# has a lower-case j, h or k of its own), so they get VizieR's ``em.IR.J``/``H``/``K`` as upper case does.
_BANDS = {"U": "em.opt.U", "B": "em.opt.B", "V": "em.opt.V", "R": "em.opt.R", "I": "em.opt.I", "Ic": "em.opt.I",
          "J": "em.IR.J", "H": "em.IR.H", "K": "em.IR.K", "Ks": "em.IR.K", "G": "em.opt",
          "u": "em.opt.U", "g": "em.opt.B", "r": "em.opt.R", "i": "em.opt.I", "z": "em.opt.I",
          "j": "em.IR.J", "h": "em.IR.H", "k": "em.IR.K", "ks": "em.IR.K"}


def infer_ucds(columns: list[ColumnInfo]) -> list[ColumnInfo]:
    """The columns, each without a UCD given one by :func:`infer_ucd` with the table's other columns
    known: an error column takes the UCD of what it is the error of, given or inferred.

    >>> [c.ucd for c in infer_ucds([ColumnInfo("RA_ICRS", unit="deg", ucd="pos.eq.ra;meta.main"),
    ...                             ColumnInfo("e_RA_ICRS", unit="mas"), ColumnInfo("pmRA", unit="mas / yr"),
    ...                             ColumnInfo("e_pmRA", unit="mas / yr")])]
    ['pos.eq.ra;meta.main', 'stat.error;pos.eq.ra', 'pos.pm;pos.eq.ra', 'stat.error;pos.pm;pos.eq.ra']
    """
    from dataclasses import replace

    first = {c.name: c.ucd or ("" if _error_of(c.name) else infer_ucd(c.name, c.unit)) for c in columns}
    return [c if c.ucd else replace(c, ucd=infer_ucd(c.name, c.unit, {k: v for k, v in first.items() if k != c.name}))
            for c in columns]


_ID_NAME = re.compile(r"(^id$|_id$|^id_|^source_?id$|^objid$|^name$|^sname$|^star$|^cluster$|^hip$|^tyc|^recno$|^seq$)",
                      re.IGNORECASE)


def looks_like_identifier(column: ColumnInfo) -> bool:
    """True for columns that name or number sources (a ``meta.id`` UCD or an id-like name)."""
    return column.ucd.startswith("meta.id") or bool(_ID_NAME.search(column.name))
