"""SIA v2.0 and Simple Cone Search parameters: parsing and validation, pure (no Tornado, no I/O).

Parameter names are case-insensitive (DALI 1.1); repeated values of one parameter are alternatives
(OR). Every malformed value raises :class:`UsageFault`, which the handlers turn into a VOTable whose
``QUERY_STATUS=ERROR`` text starts ``UsageFault:``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from astrohub_archive.faults import UsageFault
from astrohub_archive.writers import RESPONSE_FORMATS as _ALL_FORMATS
from platform_lib.imageindex import Circle, ImageQuery, Polygon, Range
from platform_lib.imageindex.sphere import polygon_is_simple

__all__ = ["UsageFault", "SiaRequest", "parse_sia", "parse_scs", "ScsRequest", "RESPONSE_FORMATS",
           "DEFAULT_MAXREC", "MAX_MAXREC", "TAP_DEFAULT_MAXREC", "whole_number", "parse_maxrec", "response_format",
           "FORMAT_ALIASES"]

DEFAULT_MAXREC = 1000  # SIA and SCS
#: TAP's default MAXREC, sync and async alike (one ``outputLimit/default`` in /capabilities, as TAPRegExt has): DaCHS's
#: (``[async]defaultMAXREC``, 20000). Was 1000, so that an async job without MAXREC over a whole catalogue came back
#: with 1000 rows (and OVERFLOW).
TAP_DEFAULT_MAXREC = 20_000
#: The hard limit (``outputLimit/hard``): a larger MAXREC is lowered to it and the answer says so (an ``INFO
#: name="MAXREC"``), with OVERFLOW when more rows matched. DaCHS's is 20 000 000; ours is lower because an answer is
#: held in memory (and bounded in cells too, :class:`astrohub_archive.engine.Limits`).
MAX_MAXREC = 100_000
MAX_VALUES = 100  # repeated values of one SIA parameter (each becomes an OR term)
MAX_VERTICES = 500  # of one POS=POLYGON
MAX_MAGNITUDE = 1e15  # finite numbers beyond this are refused (no parameter needs them)

#: RESPONSEFORMAT values (lower case) -> our short format name (SIA and SCS; TAP checks its own list).
RESPONSE_FORMATS = dict(_ALL_FORMATS)
POL_STATES = {"I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX", "POLI", "POLA"}
DPTYPES = {"image", "cube"}


@dataclass
class SiaRequest:
    query: ImageQuery
    maxrec: int
    fmt: str
    overflow_cap: bool = False  # MAXREC above the service limit was lowered to it


def _num(text: str, name: str) -> float:
    t = text.strip()
    low = t.lower()
    if low in ("+inf", "inf", "infinity", "+infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    try:
        v = float(t)
    except ValueError:
        raise UsageFault(f"{name}: {text[:40]!r} is not a number") from None
    if math.isnan(v):
        raise UsageFault(f"{name}: NaN is not allowed")
    if math.isinf(v):
        raise UsageFault(f"{name}: {text[:40]!r} is out of range; write +Inf or -Inf for an open end")
    if abs(v) > MAX_MAGNITUDE:
        raise UsageFault(f"{name}: {text[:40]!r} is out of range (|value| <= {MAX_MAGNITUDE:g})")
    return v


def _interval(value: str, name: str, *, allow_single: bool = True, nonneg: bool = False):
    parts = value.split()
    if len(parts) == 1 and allow_single:
        v = _num(parts[0], name)
        lo = hi = v
    elif len(parts) == 2:
        lo, hi = _num(parts[0], name), _num(parts[1], name)
    else:
        raise UsageFault(f"{name}={value!r}: expected two numbers 'low high' (use -Inf/+Inf for open ends)")
    if lo > hi:
        raise UsageFault(f"{name}={value!r}: the upper bound {hi} is below the lower bound {lo}")
    if nonneg and hi < 0:
        raise UsageFault(f"{name}={value!r}: values must be non-negative")
    return (None if math.isinf(lo) else lo, None if math.isinf(hi) else hi)


def _dec(v: float, name: str, value: str) -> float:
    if not -90.0 <= v <= 90.0:
        raise UsageFault(f"{name}={value!r}: declination {v} is outside [-90, 90]")
    return v


def _ra(v: float, name: str, value: str) -> float:
    if not (math.isfinite(v) and 0.0 <= v <= 360.0):
        raise UsageFault(f"{name}={value!r}: right ascension {v} is outside [0, 360]")
    return v


def parse_pos(value: str) -> Circle | Polygon | Range:
    """One POS value: ``CIRCLE ra dec r``, ``RANGE ra1 ra2 dec1 dec2`` or ``POLYGON ra1 dec1 ...``."""
    parts = value.split()
    if not parts:
        raise UsageFault("POS is empty; expected CIRCLE, RANGE or POLYGON followed by numbers")
    shape = parts[0].upper()
    nums = [_num(p, "POS") for p in parts[1:]]
    if shape == "CIRCLE":
        if len(nums) != 3:
            raise UsageFault(f"POS={value!r}: CIRCLE takes 3 numbers (ra dec radius), got {len(nums)}")
        ra, dec, r = nums
        _ra(ra, "POS", value)
        _dec(dec, "POS", value)
        if not (math.isfinite(r) and 0.0 < r <= 180.0):
            raise UsageFault(f"POS={value!r}: the radius {r} must be in (0, 180] degrees")
        return Circle(ra % 360.0, dec, r)
    if shape == "RANGE":
        if len(nums) != 4:
            raise UsageFault(f"POS={value!r}: RANGE takes 4 numbers (ra1 ra2 dec1 dec2), got {len(nums)}")
        ra1, ra2, d1, d2 = nums
        ra1 = 0.0 if ra1 == -math.inf else ra1
        ra2 = 360.0 if ra2 == math.inf else ra2
        d1 = -90.0 if d1 == -math.inf else d1
        d2 = 90.0 if d2 == math.inf else d2
        _ra(ra1, "POS", value)
        _ra(ra2, "POS", value)
        _dec(d1, "POS", value)
        _dec(d2, "POS", value)
        if d1 > d2:
            raise UsageFault(f"POS={value!r}: dec1 {d1} is above dec2 {d2}")
        return Range(ra1, ra2, d1, d2)
    if shape == "POLYGON":
        if len(nums) > 2 * MAX_VERTICES:
            raise UsageFault(f"POS: a POLYGON of {len(nums) // 2} vertices; this service takes at most {MAX_VERTICES}")
        if len(nums) < 6 or len(nums) % 2:
            raise UsageFault(f"POS={value!r}: POLYGON takes at least 3 (ra, dec) pairs, got {len(nums)} numbers")
        if not all(math.isfinite(v) for v in nums):
            raise UsageFault(f"POS={value!r}: POLYGON vertices must be finite")
        ras, decs = nums[0::2], nums[1::2]
        for r, d in zip(ras, decs):
            _ra(r, "POS", value)
            _dec(d, "POS", value)
        return region_polygon(ras, decs, f"POS={value!r}")
    raise UsageFault(f"POS={value!r}: unknown shape {parts[0]!r}; use CIRCLE, RANGE or POLYGON")


def region_polygon(ras, decs, what: str) -> Polygon:
    """A query polygon (SIA ``POS``, ADQL on ``s_region``) as the image index tests it, checked.

    The hemisphere limit and the bounding cap are ``platform_lib.catalogs``' (the smallest cap holding
    the vertices, not the cap round their mean, which exceeds a hemisphere for a lopsided polygon
    that fits in one); the cap's centre is also the polygon's inside reference (its antipode is
    outside). Raises :class:`UsageFault` naming ``what`` for self-intersecting or too large polygons.
    """
    from platform_lib.catalogs import MAX_POLYGON_CAP_DEG, SkyPolygon

    poly = Polygon(ras, decs)
    if not polygon_is_simple(poly.xyz):
        raise UsageFault(f"{what}: the polygon's edges cross each other (self-intersecting); list the vertices "
                         "in order")
    try:
        sky = SkyPolygon(ras, decs)
    except ValueError as exc:
        raise UsageFault(f"{what}: the polygon is too large: every vertex must lie within {MAX_POLYGON_CAP_DEG} deg "
                         f"of one point (less than a hemisphere); {exc}") from None
    poly.center = sky.centre
    poly.radius = math.radians(sky.radius_deg)
    return poly


def whole_number(name: str, text: str, hint: str = "") -> int:
    """The value ``text`` of parameter ``name`` as a whole number, 0 or more; :class:`UsageFault` naming
    both otherwise (``hint`` follows what is wrong with a negative one)."""
    text = text.strip()
    try:
        n = int(text)
    except ValueError:
        raise UsageFault(f"{name}={text!r} is not a whole number") from None
    if n < 0:
        raise UsageFault(f"{name}={n} is negative{hint}")
    return n


def parse_maxrec(values: list[str], default: int = DEFAULT_MAXREC) -> tuple[int, bool]:
    """The MAXREC of a request (its last value; ``default`` without one) and whether it was capped
    at :data:`MAX_MAXREC`; :class:`UsageFault` when it is not a whole number, 0 or more (DALI: 0 asks for
    metadata only). Shared by SIA, SCS and TAP (:mod:`astrohub_archive.tap`)."""
    if not values:
        return default, False
    n = whole_number("MAXREC", values[-1], "; use 0 for metadata only or a positive limit")
    if n > MAX_MAXREC:
        return MAX_MAXREC, True
    return n, False


#: Each format by the RESPONSEFORMAT value a refusal names it with, in the order refusals list them.
FORMAT_ALIASES = {"votable": "votable", "votable-b2": "votable/b2", "fits": "fits", "csv": "csv", "tsv": "tsv",
                  "json": "json", "ipac": "ipac"}


def response_format(values: list[str], default: str = "votable", offered: tuple[str, ...] = tuple(FORMAT_ALIASES)
                    ) -> str:
    """The format name of a request's RESPONSEFORMAT (its last value; ``default`` without one). One the service
    does not offer (``offered``: TAP has no ``ipac``), or no format at all, is a :class:`UsageFault` naming those
    the service offers."""
    if not values:
        return default
    fmt = RESPONSE_FORMATS.get(values[-1].strip().lower().replace(" ", ""))
    if fmt not in offered:
        names = ", ".join(alias for name, alias in FORMAT_ALIASES.items() if name in offered)
        raise UsageFault(f"RESPONSEFORMAT={values[-1][:100]!r} is not supported; use one of {names} (or their MIME "
                         "types)")
    return fmt


def parse_sia(args: dict[str, list[str]]) -> SiaRequest:
    """Parse SIA v2 query parameters (``{name: [values]}``, names in any case)."""
    p = {k.upper(): v for k, v in _merge_case(args).items()}
    for name, vals in p.items():
        if len(vals) > MAX_VALUES:
            raise UsageFault(f"{name} is given {len(vals)} times; this service takes at most {MAX_VALUES} values of "
                             "one parameter (make several requests)")
    q = ImageQuery()
    q.pos = [parse_pos(v) for v in p.get("POS", [])]
    q.band = [_interval(v, "BAND", nonneg=True) for v in p.get("BAND", [])]
    q.time = [_interval(v, "TIME") for v in p.get("TIME", [])]
    for name, attr in (("FOV", "fov"), ("SPATRES", "spatres"), ("EXPTIME", "exptime"),
                       ("TIMERES", "timeres"), ("SPECRP", "specrp")):
        setattr(q, attr, [_interval(v, name, nonneg=True) for v in p.get(name, [])])
    for v in p.get("POL", []):
        if v.strip().upper() not in POL_STATES:
            raise UsageFault(f"POL={v!r} is not a polarization state; use one of {sorted(POL_STATES)}")
    q.pol = [v.strip().upper() for v in p.get("POL", [])]
    for v in p.get("DPTYPE", []):
        if v.strip().lower() not in DPTYPES:
            raise UsageFault(f"DPTYPE={v!r}: use image or cube")
    q.dptype = [v.strip().lower() for v in p.get("DPTYPE", [])]
    calib = []
    for v in p.get("CALIB", []):
        try:
            level = int(v.strip())
        except ValueError:
            raise UsageFault(f"CALIB={v!r} is not an integer calibration level (0-4)") from None
        if not 0 <= level <= 4:
            raise UsageFault(f"CALIB={v!r}: calibration levels are 0 to 4")
        calib.append(level)
    q.calib = calib
    for name, attr in (("ID", "id"), ("COLLECTION", "collection"), ("FACILITY", "facility"),
                       ("INSTRUMENT", "instrument"), ("TARGET", "target"), ("FORMAT", "format")):
        vals = p.get(name, [])
        for v in vals:
            if len(v) > 1000:
                raise UsageFault(f"{name}: value longer than 1000 characters")
        setattr(q, attr, list(vals))
    maxrec, capped = parse_maxrec(p.get("MAXREC", []))
    fmt = response_format(p.get("RESPONSEFORMAT", []))
    return SiaRequest(q, maxrec, fmt, capped)


def _merge_case(args: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in args.items():
        out.setdefault(k.upper(), []).extend(v)
    return out


@dataclass
class ScsRequest:
    ra: float
    dec: float
    sr: float
    verb: int
    maxrec: int


def parse_scs(args: dict[str, list[str]]) -> ScsRequest:
    """Parse Simple Cone Search 1.03 parameters RA, DEC, SR (degrees), VERB (1-3), MAXREC."""
    p = _merge_case(args)
    values = {}
    for name in ("RA", "DEC", "SR"):
        if not p.get(name):
            raise UsageFault(f"{name} is required (RA, DEC and SR in decimal degrees)")
        values[name] = _num(p[name][-1], name)
    ra, dec, sr = values["RA"], values["DEC"], values["SR"]
    if not math.isfinite(ra) or not 0.0 <= ra <= 360.0:
        raise UsageFault(f"RA={ra} is outside [0, 360]")
    if not -90.0 <= dec <= 90.0:
        raise UsageFault(f"DEC={dec} is outside [-90, 90]")
    if not math.isfinite(sr) or sr < 0 or sr > 180:
        raise UsageFault(f"SR={sr} must be in [0, 180] degrees")
    verb = 2
    if p.get("VERB"):
        try:
            verb = int(p["VERB"][-1])
        except ValueError:
            raise UsageFault(f"VERB={p['VERB'][-1]!r} must be 1, 2 or 3") from None
        if verb not in (1, 2, 3):
            raise UsageFault(f"VERB={verb} must be 1, 2 or 3")
    maxrec, _ = parse_maxrec(p.get("MAXREC", []))
    return ScsRequest(ra % 360.0, dec, sr, verb, maxrec)
