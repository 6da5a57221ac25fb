"""Reading FITS headers into index records: one ObsCore row per image file, headers only.

:func:`scan_files` lists candidate files (FITS names as :mod:`platform_lib.fitsfiles` tells them:
``*.fits``, ``*.fit``, ``*.fts`` in any case, plain or compressed, and ``*.fz``); :func:`read_records` reads
them in parallel worker processes and returns the records and the files it had to skip with the reason
(unreadable, no image HDU, no position). :func:`derivation` names the code that turns headers into records, so an
index made by other code is read again (:func:`~platform_lib.imageindex.index.update_index`). Nothing here touches
the database.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from platform_lib.codedigest import code_digest
from platform_lib.fitsfiles import fits_media_type, fits_stem, fits_suffix
from platform_lib.imageindex.footprint import footprint_from_pointing, footprint_from_wcs, hull_footprint, parse_angle
from platform_lib.imageindex.mapping import InstrumentMapping, load_mappings, months_to_days, select_mapping

__all__ = ["Skipped", "scan_files", "read_record", "read_records", "record_from_header", "COLUMNS",
           "observable_ucd", "derivation", "index_derivation", "mapping_lines"]

#: The index's metadata columns, in table order (ObsCore names, then the archive's own).
COLUMNS = (
    "obs_id", "obs_publisher_did", "obs_collection", "dataproduct_type", "calib_level", "target_name",
    "s_ra", "s_dec", "s_fov", "s_region", "s_resolution", "s_xel1", "s_xel2",
    "t_min", "t_max", "t_exptime", "t_resolution", "em_min", "em_max", "em_res_power", "pol_states", "o_ucd",
    "facility_name", "instrument_name", "access_format", "access_estsize",
    "release_date", "owner", "owner_group", "file_path", "file_mtime", "file_size", "footprint_method", "mapping",
)


#: Bumped when records change in a way the hashed code does not show.
DERIVATION_SCHEMA = 1
#: The code a record is derived by (modules under ``platform_lib/``) and the packaged instrument mappings.
_DERIVATION_CODE = ("imageindex/ingest.py", "imageindex/mapping.py", "imageindex/footprint.py",
                    "imageindex/sphere.py", "fitsfiles.py", "imageindex/mappings/*.json")


@functools.cache
def derivation() -> str:
    """What this code derives records by: the SHA-256 of :data:`DERIVATION_SCHEMA` and the
    :func:`~platform_lib.codedigest.code_digest` of the modules that turn a file's name and headers into its record
    (the columns, ``access_format`` from the name, the footprint) and of the packaged instrument mappings. Worked
    out once per process (the code does not change under a running process). An index stores
    :func:`index_derivation`, this with the operator's own mappings.
    """
    code = code_digest(_DERIVATION_CODE)
    return hashlib.sha256(f"astrohub image index {DERIVATION_SCHEMA}\n{code}".encode()).hexdigest()


def index_derivation(mapping_dirs: Iterable[Path] | None = None) -> str:
    """What an index's records are derived by: :func:`derivation` and the operator's own mappings in
    ``mapping_dirs`` (:func:`mapping_lines`; none: :func:`derivation` itself). An index stores it; one made
    otherwise (an upgrade, or an operator's mapping changed, added or removed) is read again from the headers."""
    own = mapping_lines(mapping_dirs)
    if not own:
        return derivation()
    return hashlib.sha256("\n".join([derivation(), *own]).encode()).hexdigest()


def mapping_lines(mapping_dirs: Iterable[Path] | None) -> list[str]:
    """One line per folder of the operator's own instrument mappings, in order: the digest of its ``*.json`` (names
    and content, what :func:`~platform_lib.imageindex.mapping.load_mappings` reads). Read on each call: a mapping
    may change under a running archive (a ConfigMap, a file the operator edits)."""
    return [f"mappings={code_digest(['*.json'], Path(d))}" for d in mapping_dirs or ()]


@dataclass(frozen=True)
class Skipped:
    """A file that could not be indexed, and why."""

    path: str
    reason: str


def scan_files(root: Path) -> dict[str, tuple[float, int]]:
    """``{relative path: (mtime, size)}`` for every FITS-looking file under ``root``."""
    root = Path(root)
    out: dict[str, tuple[float, int]] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if fits_suffix(name):
                full = Path(dirpath) / name
                try:
                    st = full.stat()
                except OSError:
                    continue
                out[full.relative_to(root).as_posix()] = (st.st_mtime, st.st_size)
    return out


def _image_header(hdul, forced: int | None):
    """The header of the first HDU holding an image, merged over the primary header's keywords."""
    return next(_image_headers(hdul, forced), None)


def _image_headers(hdul, forced: int | None = None):
    """Every HDU holding an image (NAXIS >= 2), each header merged over the primary's keywords."""
    primary = hdul[0].header
    if forced is not None and not -len(hdul) <= forced < len(hdul):
        raise ValueError(f"the mapping's hdu {forced} is not in this file ({len(hdul)} HDUs)")
    indices = [forced] if forced is not None else range(len(hdul))
    for i in indices:
        hdu = hdul[i]
        h = hdu.header
        if h.get("XTENSION", "IMAGE").strip() not in ("IMAGE",) and not h.get("ZIMAGE"):
            continue
        naxis = h.get("ZNAXIS", h.get("NAXIS", 0))
        if naxis and naxis >= 2:
            if i == 0:
                yield h.copy()
                continue
            merged = primary.copy()
            merged.strip()
            for card in h.cards:
                if card.keyword in ("", "COMMENT", "HISTORY"):
                    continue
                merged[card.keyword] = (card.value, card.comment)
            if h.get("ZIMAGE"):
                for k in range(1, int(h.get("ZNAXIS", 0)) + 1):
                    merged[f"NAXIS{k}"] = h.get(f"ZNAXIS{k}")
            yield merged


def _pointing_angle(header, keys, *, hours: bool = False, sign_key: str | None = None) -> float | None:
    """Degrees from the first usable entry of ``keys``.

    An entry is a keyword (a number, or a sexagesimal string) or a list of keywords holding the
    parts (``["PLTRAH", "PLTRAM", "PLTRAS"]``: hours or degrees, minutes, seconds). For a list,
    ``sign_key`` names a keyword holding the sign (``PLTDECSN = '-'``), as DSS plate headers do.
    """
    for key in keys:
        if isinstance(key, (list, tuple)):
            parts = [header.get(k) for k in key]
            if not parts or parts[0] is None:
                continue
            try:
                nums = [abs(float(x)) for x in parts if x is not None]
            except (TypeError, ValueError):
                continue
            value = nums[0] + (nums[1] if len(nums) > 1 else 0) / 60 + (nums[2] if len(nums) > 2 else 0) / 3600
            sign = str(header.get(sign_key, "+")).strip() if sign_key else ""
            if sign.startswith("-") or (not sign_key and float(parts[0]) < 0):
                value = -value
            value = value * 15.0 if hours else value
        else:
            value = parse_angle(header.get(key), hours=hours)
        if value is not None:
            return value
    return None


#: BUNIT words (lower case, spaces and ``_`` removed) of pixel values that count something: ADUs, detector counts,
#: electrons, photons (ObsCore's ``o_ucd`` ``phot.count``; per second ``phot.count;arith.rate``).
_COUNTS = {"adu", "adus", "count", "counts", "ct", "cts", "dn", "electron", "electrons", "e-", "e", "photon", "photons"}


def observable_ucd(bunit) -> str | None:
    """ObsCore's ``o_ucd`` (what an image's pixels measure) from its FITS ``BUNIT``; None when it says nothing
    this function knows (no BUNIT: a photographic plate's densities, an uncalibrated frame).

    Counts (``adu``, ``counts``, ``electrons``) are ``phot.count`` (per second ``phot.count;arith.rate``); a
    spectral flux density (``Jy``, ``Jy/beam``, ``erg/s/cm2/Angstrom``, ``W m-2 Hz-1``) ``phot.flux.density``, per
    solid angle (``MJy/sr``) ``phot.flux.density.sb``; magnitudes ``phot.mag`` (per square arcsecond
    ``phot.mag.sb``), a colour excess (``mag E(B-V)``) ``phot.color.excess``; a brightness temperature (``K``)
    ``phot.antennaTemp``.

    >>> observable_ucd("ADU"), observable_ucd("JY/BEAM"), observable_ucd("mag E(B-V)"), observable_ucd(None)
    ('phot.count', 'phot.flux.density', 'phot.color.excess', None)
    """
    import astropy.units as u

    if not isinstance(bunit, str) or not bunit.strip():
        return None
    text = bunit.strip()
    low = text.lower().replace(" ", "").replace("_", "")
    if "e(b-v)" in low or low in ("ebv", "e(b-v)"):
        return "phot.color.excess"
    base, _, per = low.partition("/")
    if base in _COUNTS:
        return "phot.count;arith.rate" if per in ("s", "sec", "second") else ("phot.count" if not per else None)
    if low.startswith("mag"):
        return "phot.mag.sb" if "arcsec" in low or "sr" in per else "phot.mag"
    beam = "/beam" in low  # Jy/beam: a flux density in each beam
    bare = re.sub(r"/beam", "", text, flags=re.IGNORECASE)
    unit = None
    for candidate in (bare, bare.lower(), bare.lower().replace("jy", "Jy")):  # FITS headers write JY, MJY/SR
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # astropy's words on FITS style (several slashes)
                unit = u.Unit(candidate, parse_strict="raise")
            break
        except (ValueError, TypeError):
            continue
    if unit is None:
        return None
    for target, ucd in ((u.Jy, "phot.flux.density"), (u.erg / u.s / u.cm**2 / u.AA, "phot.flux.density"),
                        (u.Jy / u.sr, "phot.flux.density.sb"), (u.erg / u.s / u.cm**2 / u.AA / u.sr,
                                                                 "phot.flux.density.sb")):
        if unit.is_equivalent(target):
            return ucd
    if unit.is_equivalent(u.K) and not beam:
        return "phot.antennaTemp"
    return None


def record_from_header(header, mappings: list[InstrumentMapping], others=()) -> tuple[dict, np.ndarray]:
    """One index record (ObsCore columns) and the footprint's xyz vertices from an image header.

    ``others`` are the headers of the file's other image extensions (a mosaic's detectors): when
    they have a celestial WCS too, the footprint is the convex hull of all of them.
    Raises ``ValueError`` when the header has neither a celestial WCS nor pointing keywords.
    """
    mapping = select_mapping(header, mappings)
    rec: dict = {c: None for c in COLUMNS}
    for column, rule in mapping.columns.items():
        rec[column] = mapping.value(header, rule)
    fp = footprint_from_wcs(header)
    if fp is not None and others:
        fps = [fp] + [f for f in (footprint_from_wcs(h) for h in others) if f is not None]
        fp = hull_footprint(fps)
    if fp is None:
        pt = mapping.pointing or {}
        ra = _pointing_angle(header, pt.get("ra", []), hours=bool(pt.get("ra_hours")))
        dec = _pointing_angle(header, pt.get("dec", []), sign_key=pt.get("dec_sign"))
        if ra is None or dec is None or not pt.get("fov_deg") or abs(dec) > 90:
            raise ValueError("no celestial WCS and no pointing keywords for the fallback footprint")
        fp = footprint_from_pointing(ra, dec, pt["fov_deg"], float(pt.get("pad_deg", 0.0)))
    poly = fp.polygon
    c_ra, c_dec = float(np.degrees(np.arctan2(poly.center[1], poly.center[0])) % 360), float(
        np.degrees(np.arcsin(np.clip(poly.center[2], -1, 1)))
    )
    rec["s_ra"], rec["s_dec"] = c_ra, c_dec
    rec["s_fov"] = 2 * math.degrees(poly.radius)
    rec["s_region"] = poly.to_stcs()
    rec["footprint_method"] = fp.method
    rec["mapping"] = mapping.name
    if rec["s_resolution"] is None and fp.pixel_scale_deg:
        rec["s_resolution"] = fp.pixel_scale_deg * 3600.0  # arcsec, as ObsCore
    if rec["o_ucd"] is None:  # what the pixels measure, from BUNIT (a mapping may say it instead)
        rec["o_ucd"] = observable_ucd(header.get("BUNIT"))
    # pixels along the sky axes (ObsCore's s_xel1/2), which a cube's header need not number 1 and 2
    rec["s_xel1"], rec["s_xel2"] = fp.sky_pixels or (header.get("NAXIS1"), header.get("NAXIS2"))
    lo, hi = mapping.band_range(header)
    if rec["em_min"] is None and lo is not None:
        rec["em_min"], rec["em_max"] = lo, hi
    if rec["em_min"] is not None and rec["em_max"] and rec["em_max"] > rec["em_min"] and rec["em_res_power"] is None:
        rec["em_res_power"] = 0.5 * (rec["em_min"] + rec["em_max"]) / (rec["em_max"] - rec["em_min"])
    for numeric in ("t_min", "t_max", "t_exptime", "t_resolution", "s_resolution", "em_min", "em_max", "release_date"):
        if rec[numeric] is not None:
            try:
                rec[numeric] = float(rec[numeric])
            except (TypeError, ValueError):
                rec[numeric] = None
    if rec["calib_level"] is not None:
        try:
            rec["calib_level"] = int(rec["calib_level"])
        except (TypeError, ValueError):
            rec["calib_level"] = None
    if rec["t_max"] is None and rec["t_min"] is not None:
        rec["t_max"] = rec["t_min"] + (rec["t_exptime"] or 0.0) / 86400.0
    if rec["release_date"] is None:
        base = rec["t_min"]
        # Unknown observation date: proprietary until an operator sets a release date.
        rec["release_date"] = (base + months_to_days(mapping.proprietary_months)) if base is not None else 1e9
    for text in ("obs_collection", "facility_name", "instrument_name", "target_name", "owner", "owner_group",
                 "obs_publisher_did", "pol_states", "dataproduct_type"):
        if rec[text] is not None:
            rec[text] = str(rec[text]).strip()
    rec["access_format"] = "application/fits"
    return rec, poly.xyz


def read_record(path: Path, rel: str, mappings: list[InstrumentMapping]) -> tuple[dict, np.ndarray]:
    """Read one file's headers and build its record (``obs_id`` is the path without its suffix)."""
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
            headers = list(_image_headers(hdul))
            if not headers:
                raise ValueError("no image HDU with NAXIS >= 2")
            mapping = select_mapping(headers[0], mappings)
            if mapping.hdu is not None:  # the mapping names the HDU that describes the image
                headers = list(_image_headers(hdul, mapping.hdu))
                if not headers:
                    raise ValueError(f"mapping {mapping.name!r}: HDU {mapping.hdu} holds no image")
            rec, xyz = record_from_header(headers[0], mappings, others=headers[1:])
    st = Path(path).stat()
    stem = fits_stem(rel)
    rec["obs_id"] = stem
    if rec["obs_publisher_did"] is None:
        rec["obs_publisher_did"] = f"ivo://astrohub/archive?{stem}"
    rec["file_path"] = rel
    rec["access_format"] = fits_media_type(rel) or rec["access_format"]  # a.fits.gz: gzip, as it is downloaded
    rec["file_mtime"] = st.st_mtime
    rec["file_size"] = st.st_size
    rec["access_estsize"] = max(1, st.st_size // 1024)
    return rec, xyz


def _read_chunk(args):
    root, rels, extra_dirs = args
    mappings = load_mappings([Path(d) for d in extra_dirs])
    good, bad = [], []
    for rel in rels:
        try:
            rec, xyz = read_record(Path(root) / rel, rel, mappings)
            good.append((rec, xyz))
        except Exception as exc:  # any unreadable file is reported, never fatal
            bad.append(Skipped(rel, f"{type(exc).__name__}: {exc}"))
    return good, bad


def read_records(
    root: Path,
    rels: list[str],
    *,
    mapping_dirs: list[Path] | None = None,
    workers: int | None = None,
    chunk: int = 256,
    progress=None,
) -> tuple[list[tuple[dict, np.ndarray]], list[Skipped]]:
    """Read many files' headers, in ``workers`` processes (1: in this process).

    Returns ``(records, skipped)``; ``progress(n_done)`` is called after each chunk.
    """
    extra = [str(d) for d in mapping_dirs or []]
    chunks = [(str(root), rels[i : i + chunk], extra) for i in range(0, len(rels), chunk)]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    good: list = []
    bad: list[Skipped] = []
    if workers <= 1 or len(chunks) <= 1:
        results = map(_read_chunk, chunks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_read_chunk, chunks)
    try:
        done = 0
        for g, b in results:
            good.extend(g)
            bad.extend(b)
            done += len(g) + len(b)
            if progress is not None:
                progress(done)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return good, bad


