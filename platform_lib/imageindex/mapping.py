"""Instrument mappings: one JSON file per instrument turns FITS header keywords into ObsCore columns.

A mapping is configuration, not code. Its keys:

``name``
    The mapping's name (``"dss"``, ``"generic"``).
``match``
    ``{KEYWORD: regex}``; a header uses the first mapping whose regexes all match (most keys first,
    the ``generic`` mapping, with no keys, last).
``columns``
    ``{obscore_column: rule}``; a rule is ``{"value": v}`` (a constant), ``{"keyword": K}`` or
    ``{"keyword": [K1, K2]}`` (first present), with optional ``"default"``, ``"scale"`` (multiply
    numbers), ``"lookup"`` (map the keyword's value to the column value), ``"format"`` (``"time"``
    parses dates to MJD; ``"time_keyword"`` names a separate time-of-day keyword), ``"upper"``.
``band``
    ``{"keyword": "FILTER", "lookup": {"B": [em_min_m, em_max_m]}, "default": [lo, hi]}``.
``pointing``
    ``{"ra": [K...], "dec": [K...], "ra_hours": bool, "fov_deg": [w, h], "pad_deg": p}``: the
    fallback footprint when the header has no celestial WCS. Each ``K`` is a keyword (a number or
    a sexagesimal string) or a list of keywords holding the parts, e.g. DSS plates'
    ``["PLTRAH", "PLTRAM", "PLTRAS"]``; ``"dec_sign": "PLTDECSN"`` names the keyword holding the
    sign of a declination given in parts.
``proprietary_months``
    The default proprietary period after the observation when no release-date rule matches (18).
``hdu``
    The index of the HDU describing the image (its header, merged over the primary's, gives the
    columns and the footprint). Without it, the first image HDU gives the columns and the footprint
    is the convex hull of every image HDU with a celestial WCS (a mosaic's detectors).

Derived values: ``t_max = t_min + t_exptime`` when not mapped; ``s_ra``, ``s_dec``, ``s_fov`` and
``s_region`` come from the footprint; ``s_resolution`` defaults to the WCS pixel scale;
``release_date`` (MJD) to ``t_min`` plus the proprietary period.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from platform_lib.imageindex.errors import ImageIndexError

__all__ = ["InstrumentMapping", "load_mappings", "select_mapping", "parse_time_mjd"]

_DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class InstrumentMapping:
    """One instrument's header-to-ObsCore rules (see the module docstring for the JSON keys)."""

    name: str
    match: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict] = field(default_factory=dict)
    band: dict | None = None
    pointing: dict | None = None
    proprietary_months: float = 18.0
    hdu: int | None = None

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> "InstrumentMapping":
        known = {"name", "match", "columns", "band", "pointing", "proprietary_months", "hdu", "description"}
        unknown = set(data) - known
        if unknown or "name" not in data:
            raise ImageIndexError(
                f"instrument mapping {source}: unknown keys {sorted(unknown)} or missing 'name'; "
                f"allowed keys are {sorted(known)}",
                code="bad-mapping",
                value=source,
            )
        data = {k: v for k, v in data.items() if k != "description"}
        return cls(**data)

    def matches(self, header) -> bool:
        for key, pattern in self.match.items():
            value = header.get(key)
            if value is None or not re.search(pattern, str(value), flags=re.IGNORECASE):
                return False
        return True

    def value(self, header, rule: dict) -> Any:
        """Apply one column rule to a header."""
        if "value" in rule:
            return rule["value"]
        keys = rule.get("keyword", [])
        keys = [keys] if isinstance(keys, str) else keys
        raw = None
        for key in keys:
            if header.get(key) not in (None, ""):
                raw = header.get(key)
                break
        if raw is None:
            return rule.get("default")
        if isinstance(raw, str):
            raw = raw.strip()
        if "lookup" in rule:
            return rule["lookup"].get(str(raw), rule.get("default"))
        if rule.get("format") == "time":
            tod = header.get(rule["time_keyword"]) if rule.get("time_keyword") else None
            return parse_time_mjd(raw, tod)
        if "scale" in rule:
            try:
                return float(raw) * float(rule["scale"])
            except (TypeError, ValueError):
                return rule.get("default")
        if rule.get("upper") and isinstance(raw, str):
            return raw.upper()
        return raw

    def band_range(self, header) -> tuple[float | None, float | None]:
        if not self.band:
            return None, None
        keys = self.band.get("keyword", [])
        keys = [keys] if isinstance(keys, str) else keys
        for key in keys:
            raw = header.get(key)
            if raw is not None and str(raw).strip() in self.band.get("lookup", {}):
                lo, hi = self.band["lookup"][str(raw).strip()]
                return float(lo), float(hi)
        default = self.band.get("default")
        return (float(default[0]), float(default[1])) if default else (None, None)


def parse_time_mjd(value, time_of_day=None) -> float | None:
    """MJD from a FITS date: ISO (``2011-09-01T02:09:05``), legacy ``dd/mm/yy``, ``YYYYMMDD``, or MJD."""
    from astropy.time import Time

    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        v = float(value)
        return v if v < 100000 else None
    text = str(value).strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2,4})", text)
    if m:  # FITS legacy dd/mm/yy: years 19yy
        day, month, year = (int(g) for g in m.groups())
        year = year + 1900 if year < 100 else year
        text = f"{year:04d}-{month:02d}-{day:02d}"
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if m:
        text = "-".join(m.groups())
    if time_of_day and "T" not in text and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d*)?)?", str(time_of_day).strip()):
        text = f"{text}T{str(time_of_day).strip()}"
    try:
        return float(Time(text, format="isot" if "T" in text else "iso", scale="utc").mjd)
    except ValueError:
        try:
            return float(Time(text, scale="utc").mjd)
        except ValueError:
            return None


def load_mappings(extra_dirs: list[Path] | None = None) -> list[InstrumentMapping]:
    """The packaged mappings plus ``*.json`` in ``extra_dirs`` (which override by name), in match order."""
    found: dict[str, InstrumentMapping] = {}
    pkg = resources.files("platform_lib.imageindex") / "mappings"
    sources = [(p.name, p.read_text()) for p in pkg.iterdir() if p.name.endswith(".json")]
    for d in extra_dirs or []:
        sources += [(str(p), p.read_text()) for p in sorted(Path(d).glob("*.json"))]
    for source, text in sources:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImageIndexError(f"instrument mapping {source} is not valid JSON: {exc}", code="bad-mapping", value=source) from exc
        mapping = InstrumentMapping.from_dict(data, source)
        found[mapping.name] = mapping
    return sorted(found.values(), key=lambda m: (-len(m.match), m.name))


def select_mapping(header, mappings: list[InstrumentMapping]) -> InstrumentMapping:
    """The first mapping (most specific first) whose ``match`` rules all hold for ``header``."""
    for mapping in mappings:
        if mapping.matches(header):
            return mapping
    raise ImageIndexError("no instrument mapping matches this header and no 'generic' mapping is loaded", code="no-mapping")


def months_to_days(months: float) -> float:
    return float(months) * _DAYS_PER_MONTH if math.isfinite(months) else 0.0
