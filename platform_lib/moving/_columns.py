"""The columns of the moving-object answers: unit, UCD and description of each, in one place.

:func:`describe` gives the tables of :func:`~platform_lib.moving.find_images` and
:func:`~platform_lib.moving.bodies_in_images` their units, UCDs (UCD1+, as the archive's VOTable and
JSON writers pass them on) and descriptions. Imports astropy only.
"""

from __future__ import annotations

__all__ = ["COLUMNS", "describe"]

#: name -> (unit, UCD, description)
COLUMNS: dict[str, tuple[str | None, str, str]] = {
    "obs_id": (None, "meta.id", "the image's identifier in the archive (ObsCore obs_id)"),
    "hit": (None, "meta.code", "true: the body is inside the footprint; false: a near miss within the tolerance"),
    "inside": (None, "meta.code", "true: the body is inside the footprint; false: a near miss within the tolerance"),
    "body": (None, "meta.id;src", "the body's full name in the orbit catalogue, or a DE421 body's (jupiter, moon, ...)"),
    "row": (None, "meta.record", "the body's row in the orbit catalogue; -1 for the Sun, the Moon and the planets"),
    "t_mid": ("d", "time.epoch", "mid-exposure, MJD (UTC), where the body is placed"),
    "ra": ("deg", "pos.eq.ra", "the body's predicted astrometric right ascension (ICRS) at mid-exposure"),
    "dec": ("deg", "pos.eq.dec", "the body's predicted astrometric declination (ICRS) at mid-exposure"),
    "edge_sep": ("arcsec", "pos.angDistance", "distance from the footprint's edge, inside or outside"),
    "centre_sep": ("arcsec", "pos.angDistance", "distance from the footprint's centre"),
    "mag": ("mag", "phot.mag;em.opt.V", "predicted V magnitude (H-G; comets M1, K1); NaN for the planets"),
    "rate": ("arcsec / h", "pos.pm", "apparent rate of motion"),
    "delta": ("AU", "pos.distance", "distance from the observer"),
    "r": ("AU", "pos.distance", "distance from the Sun"),
    "facility_name": (None, "meta.id;instr.tel", "the telescope"),
    "instrument_name": (None, "meta.id;instr", "the instrument"),
    "dataproduct_type": (None, "meta.code.class", "image or spectrum (a spectrum is a cone around its pointing)"),
    "t_min": ("d", "time.start;obs.exposure", "start of the exposure, MJD (UTC)"),
    "t_max": ("d", "time.end;obs.exposure", "end of the exposure, MJD (UTC)"),
    "file_path": (None, "meta.ref;meta.file", "the image file (a folder index's, platform_lib.imageindex.index_folder)"),
}


def describe(table):
    """Set the unit, UCD and description of each known column of ``table`` (in place); returns it."""
    for name in table.colnames:
        if name in COLUMNS:
            unit, ucd, text = COLUMNS[name]
            col = table[name]
            col.unit = unit
            col.description = text
            col.meta["ucd"] = ucd
    return table
