"""ObsCore 1.1 columns of image index records: their units, UCDs, utypes, frames and xtypes, and the records as
an astropy Table.

Owns :data:`OBSCORE_FIELDS` (what each column is), :data:`OBSCORE_FRAMES` and :data:`OBSCORE_XTYPES`, the release
date as ObsCore's ISO text (:func:`release_dates`) and :func:`obscore_table`: the one Table the archive's SIA and TAP
answers are made of and that a user's own folder index answers with
(:class:`~platform_lib.imageindex.folder.FolderIndex`). Imports numpy and astropy.
"""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np

__all__ = ["OBSCORE_FIELDS", "OBSCORE_FRAMES", "OBSCORE_XTYPES", "obscore_table", "release_dates"]

# name, kind (f: float, i: int, s: text), unit, UCD, utype
OBSCORE_FIELDS = [
    ("dataproduct_type", "s", None, "meta.code.class", "obscore:ObsDataset.dataProductType"),
    ("calib_level", "i", None, "meta.code;obs.calib", "obscore:ObsDataset.calibLevel"),
    ("obs_collection", "s", None, "meta.id", "obscore:DataID.Collection"),
    ("obs_id", "s", None, "meta.id", "obscore:DataID.observationID"),
    ("obs_publisher_did", "s", None, "meta.ref.ivoid", "obscore:Curation.PublisherDID"),
    ("obs_release_date", "s", None, "time.release", "obscore:Curation.releaseDate"),
    ("access_url", "s", None, "meta.ref.url", "obscore:Access.Reference"),
    ("access_format", "s", None, "meta.code.mime", "obscore:Access.Format"),
    ("access_estsize", "i", "kbyte", "phys.size;meta.file", "obscore:Access.Size"),
    ("target_name", "s", None, "meta.id;src", "obscore:Target.Name"),
    ("s_ra", "f", "deg", "pos.eq.ra", "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"),
    ("s_dec", "f", "deg", "pos.eq.dec", "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2"),
    ("s_fov", "f", "deg", "phys.angSize;instr.fov", "obscore:Char.SpatialAxis.Coverage.Bounds.Extent.diameter"),
    ("s_region", "s", None, "pos.outline;obs.field", "obscore:Char.SpatialAxis.Coverage.Support.Area"),
    ("s_resolution", "f", "arcsec", "pos.angResolution", "obscore:Char.SpatialAxis.Resolution.Refval.value"),
    ("s_xel1", "i", None, "meta.number", "obscore:Char.SpatialAxis.numBins1"),
    ("s_xel2", "i", None, "meta.number", "obscore:Char.SpatialAxis.numBins2"),
    ("t_min", "f", "d", "time.start;obs.exposure", "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StartTime"),
    ("t_max", "f", "d", "time.end;obs.exposure", "obscore:Char.TimeAxis.Coverage.Bounds.Limits.StopTime"),
    ("t_exptime", "f", "s", "time.duration;obs.exposure", "obscore:Char.TimeAxis.Coverage.Support.Extent"),
    ("t_resolution", "f", "s", "time.resolution", "obscore:Char.TimeAxis.Resolution.Refval.value"),
    ("em_min", "f", "m", "em.wl;stat.min", "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit"),
    ("em_max", "f", "m", "em.wl;stat.max", "obscore:Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit"),
    ("em_res_power", "f", None, "spect.resolution", "obscore:Char.SpectralAxis.Resolution.ResolPower.refVal"),
    ("pol_states", "s", None, "meta.code;phys.polarization", "obscore:Char.PolarizationAxis.stateList"),
    ("facility_name", "s", None, "meta.id;instr.tel", "obscore:Provenance.ObsConfig.Facility.name"),
    ("instrument_name", "s", None, "meta.id;instr", "obscore:Provenance.ObsConfig.Instrument.name"),
    # What the pixels measure, from the file's BUNIT (platform_lib.imageindex.ingest.observable_ucd); null if unknown.
    ("o_ucd", "s", None, "meta.ucd", "obscore:Char.ObservableAxis.ucd"),
    # Mandatory in ObsCore 1.1, not kept by the image index: null.
    ("t_xel", "i", None, "meta.number", "obscore:Char.TimeAxis.numBins"),
    ("em_xel", "i", None, "meta.number", "obscore:Char.SpectralAxis.numBins"),
    ("pol_xel", "i", None, "meta.number", "obscore:Char.PolarizationAxis.numBins"),
]

#: The frames of ObsCore's positions and times (VOTable 1.4 COOSYS and TIMESYS, which the FIELDs name in ``ref``):
#: positions and footprints in ICRS; ``t_min``/``t_max`` MJD in UTC as the observatory's clock gave them
#: (the index reads DATE-OBS/MJD-OBS as UTC). Set as column meta, which :mod:`astrohub_archive.writers` declares.
ICRS = "ICRS"
MJD_UTC = {"timeorigin": "MJD-origin", "timescale": "UTC", "refposition": "TOPOCENTER"}
OBSCORE_FRAMES = {"s_ra": ("coosys", ICRS), "s_dec": ("coosys", ICRS), "s_region": ("coosys", ICRS),
                  "t_min": ("timesys", MJD_UTC), "t_max": ("timesys", MJD_UTC)}
#: ObsCore 1.1's xtypes: ``s_region`` an ADQL region (STC-S text, ``Polygon ICRS ...``), the release date a DALI
#: timestamp.
OBSCORE_XTYPES = {"s_region": "adql:REGION", "obs_release_date": "timestamp"}


_ISO_CACHE: dict[float, str] = {}
_ISO_CACHE_MAX = 100_000
_ISO_LOCK = threading.Lock()


def release_dates(values) -> list[str | None]:
    """``obs_release_date`` text (ISO, UTC, to the second) of release MJDs; None for none or far future.

    astropy's UTC conversion (leap seconds included) costs ~0.5 ms a call, so values are cached
    (release dates repeat: a night's images share one) and the misses converted in one call.
    """
    out: list[str | None] = []
    missing = []
    for v in values:
        if v is None or not math.isfinite(v) or v > 2_000_000:
            out.append(None)
            continue
        v = float(v)
        iso = _ISO_CACHE.get(v)
        if iso is None:
            missing.append((len(out), v))
        out.append(iso)
    if missing:
        from astropy.time import Time
        from erfa import ErfaWarning

        todo = sorted({v for _, v in missing})
        with warnings.catch_warnings():
            # A release MJD outside ERFA's leap-second table: an old plate public from its observation (before
            # 1960), or a proprietary period ending years ahead. It still names that calendar day; ERFA's
            # "dubious year" is only that no leap seconds are known there.
            warnings.filterwarnings("ignore", r'ERFA function "d2dtf" yielded .* "dubious year', ErfaWarning)
            isots = Time(todo, format="mjd", scale="utc").isot
        fresh = {v: str(t)[:19] + "Z" for v, t in zip(todo, isots)}
        with _ISO_LOCK:
            if len(_ISO_CACHE) + len(fresh) > _ISO_CACHE_MAX:
                _ISO_CACHE.clear()
            _ISO_CACHE.update(fresh)
        for i, v in missing:
            out[i] = fresh[v]
    return out


def obscore_table(records: list[dict], access_urls: list[str]):
    """An astropy Table of the ObsCore columns of index ``records`` (masked where a record has no value), with
    each column's unit, UCD, utype, frame and xtype; ``access_url`` is ``access_urls`` (one per record)."""
    from astropy.table import MaskedColumn, Table

    t = Table()
    for name, kind, unit, ucd, utype in OBSCORE_FIELDS:
        if name == "access_url":
            vals = list(access_urls)
        elif name == "obs_release_date":
            vals = release_dates([r.get("release_date") for r in records])
        else:
            vals = [r.get(name) for r in records]
        mask = np.array([v is None for v in vals], dtype=bool)
        if kind == "f":
            data = np.array([np.nan if v is None else float(v) for v in vals], dtype=float)
        elif kind == "i":
            data = np.array([0 if v is None else int(v) for v in vals], dtype=np.int64)
        else:
            data = np.array(["" if v is None else str(v) for v in vals], dtype=object).astype(str) if vals else np.array([], dtype="U1")
        col = MaskedColumn(data, name=name, mask=mask, unit=unit)
        col.meta["ucd"] = ucd
        col.meta["utype"] = utype
        if name in OBSCORE_XTYPES:
            col.meta["xtype"] = OBSCORE_XTYPES[name]
        if name in OBSCORE_FRAMES:
            key, frame = OBSCORE_FRAMES[name]
            col.meta[key] = frame
        t.add_column(col)
    return t
