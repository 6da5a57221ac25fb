"""Matching a catalogue against a probability sky map: per-source densities and credible regions.

This module owns the per-source answers of a multi-messenger crossmatch: the 2-D probability density
at each source, the credible level of its pixel (membership of the 50 % / 90 % regions), the searched
area, and with distance layers and source distances the 3-D probability density per Mpc^3. It imports
numpy, scipy, astropy, ``_map`` and (for a catalogue's position columns) ``platform_lib.catalogs``.

3-D density (ligo.skymap ``postprocess.crossmatch``'s ``probdensity_vol``; Singer et al. 2016)::

    dP/dV (n, r) = PROBDENSITY(n) * DISTNORM(n) * exp(-(r - DISTMU)^2 / (2 DISTSIGMA^2)) / (sqrt(2 pi) DISTSIGMA)

and the conditional distance density along the line of sight ``p(r | n) = r^2 * dP/dV / PROBDENSITY``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from copy import copy as shallow_copy
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib.skymap._errors import SkymapError
from platform_lib.skymap._footprints import cover_footprints, obscore_rows, read_footprints
from platform_lib.skymap._map import NORMALIZATION_TOLERANCE, SkyMap, _validate, credible_level, read_skymap

__all__ = ["match_skymap"]


def _coordinates(catalog: Any, lon: str | None, lat: str | None, distance: str | u.Quantity | None):
    """(ra, dec, distance or None) Quantities in ICRS from a SkyCoord, Table or DataFrame, and the RA column when its
    numbers are those read (not converted from another frame; None else); a table's positions
    found (``lon``/``lat`` ``None``) and converted (Galactic, FK4 B1950...) as ingest does
    (:func:`platform_lib.catalogs.sky_positions`)."""
    if isinstance(catalog, SkyCoord):
        c = catalog.icrs
        sph = c.spherical
        dist = None
        if distance is not None:
            dist = distance
        elif sph.distance.unit.physical_type == "length":
            dist = sph.distance
        return sph.lon.to(u.deg).ravel(), sph.lat.to(u.deg).ravel(), dist, "ra"
    from platform_lib.catalogs import CatalogError, sky_positions

    try:  # any angle unit, text as ingest reads it; a unit that is not an angle names the column
        found = sky_positions(catalog, lon, lat, label="catalogue")
        out = [found.ra * u.deg, found.dec * u.deg]
    except CatalogError as exc:
        if exc.code == "missing-column":
            raise SkymapError(f"{exc}; pass lon=/lat= with the coordinate column names", code="missing-column",
                              value=exc.value) from exc
        raise SkymapError(str(exc), code="bad-column", value=exc.value) from exc
    cols = list(getattr(catalog, "colnames", None) or getattr(catalog, "columns", []))
    dist = None
    if isinstance(distance, str):
        if distance not in cols:
            raise SkymapError(f"catalogue has no distance column {distance!r}", code="missing-column",
                              value=distance)
        unit = getattr(catalog[distance], "unit", None)
        if unit is None:
            raise SkymapError(
                f"distance column {distance!r} has no unit; set one (e.g. table[{distance!r}].unit = 'Mpc') "
                "or pass distance= as a Quantity",
                code="distance-without-units",
                value=distance,
            )
        dist = u.Quantity(np.asarray(catalog[distance], dtype=float), unit)
    elif distance is not None:
        dist = distance
    return out[0], out[1], dist, None if found.converted else found.lon_column


#: The credible region a catalogue's sources are "in" for the RA-in-hours check (``crossmatch``'s, on a sky map).
HOURS_LEVEL = 0.9
#: ... checked on maps whose region covers at most this share of the sky.
HOURS_SKY_SHARE = 0.1


def _warn_if_hours(m: SkyMap, ra, dec, level, ra_column: str) -> bool:
    """The crossmatch's RA-in-hours check (:func:`platform_lib.crossmatch.warn_ra_in_hours`) on a sky map: a source
    "matches" when it lies in the map's 90% credible region. When at most a tenth of the sources do, their RA all in
    [0, 24], and at least half would with their RA times 15, the RA looks like hours. Only for a map whose 90% region
    covers at most a tenth of the sky (:data:`HOURS_SKY_SHARE`), where sources strewn at random land in it rarely (a
    map of half the sky would take in half of a real field spread 15 times wider in RA)."""
    from platform_lib.crossmatch import warn_ra_in_hours

    def count_as_hours() -> int | None:  # called only when few lie in the region and the RA is all in [0, 24]
        if m.credible_area(HOURS_LEVEL).to_value(u.deg**2) > HOURS_SKY_SHARE * 4 * np.pi * (180 / np.pi) ** 2:
            return None
        idx = m.pixel_index(np.asarray(ra) * 15.0 * u.deg, dec)
        levels = np.where(idx >= 0, m.credible_levels()[np.where(idx >= 0, idx, 0)], 1.0)
        return int(np.count_nonzero(levels <= HOURS_LEVEL))

    return warn_ra_in_hours(ra, int(np.count_nonzero(level <= HOURS_LEVEL)), count_as_hours, side="catalogue",
                            column=ra_column,
                            matched_words=(f"lie in the map's {HOURS_LEVEL:.0%} credible region", "lie in it"))


def _checked(m: SkyMap, *, normalize: bool) -> SkyMap:
    """A :class:`SkyMap` built in code passes the same checks as one read from a file.

    Negative or NaN densities and duplicate pixels are errors; a map whose probabilities do not sum
    to one is a :class:`SkymapNotNormalizedError` unless ``normalize`` (then a rescaled copy is used
    and the caller's map is left as it is).
    """
    # a shallow copy keeps the map's pixel indices and caches (``replace`` re-derived every pixel's
    # order on each call); only a rescaled copy forgets the density-dependent ones
    copy = shallow_copy(m)
    copy.meta = dict(m.meta)
    _validate(copy, normalize=normalize, tolerance=NORMALIZATION_TOLERANCE)
    return m if copy.probdensity is m.probdensity else copy


def match_skymap(
    catalog: Any,
    skymap: SkyMap | str,
    *,
    levels: Sequence[float] = (0.5, 0.9),
    lon: str | None = None,
    lat: str | None = None,
    distance: str | u.Quantity | None = None,
    normalize: bool = False,
) -> Table:
    """Probability of each catalogue source under a HEALPix sky map (flat or multi-order).

    Parameters
    ----------
    catalog
        A SkyCoord (with a distance for 3-D densities), an astropy Table or a pandas DataFrame: its
        positions found as catalogue ingest finds them (``ra``/``dec``, ``RAJ2000``, UCDs, sexagesimal text,
        CDS parts, Galactic ``GLON``/``GLAT``; any angle unit) unless ``lon``/``lat`` name the columns, and
        converted to ICRS from the frame the table states (``meta["equinox"]``, a VOTable's COOSYS, the
        columns' explanations; :func:`platform_lib.catalogs.sky_positions`).
    skymap
        A :class:`SkyMap` or a path to a FITS sky map (read with :func:`read_skymap`).
    levels
        Credible levels to test membership of: a column ``in_<100*level>`` each (``in_50``, ``in_90``).
    distance
        Source distances (column name with a unit, or a length Quantity); optional for SkyCoord input.
    normalize
        When the map's probabilities do not sum to one: ``False`` (default) raises
        :class:`SkymapNotNormalizedError`, ``True`` rescales them (for a path, as
        :func:`read_skymap` does; a :class:`SkyMap` passed in is checked the same way and left
        unchanged, a rescaled copy is used).

    Returns
    -------
    astropy.table.Table
        One row per source: ``probdensity`` (sr^-1), ``probdensity_deg2`` (deg^-2),
        ``credible_level`` (probability of the smallest credible region containing the source),
        ``searched_area`` (deg^2), ``in_50`` / ``in_90`` ..., and with distances on a 3-D map
        ``probdensity_vol`` (Mpc^-3), ``distance_pdf`` (Mpc^-1, ``p(r | direction)``),
        ``credible_level_vol`` (3-D credible level on ligo.skymap's voxel grid, see
        :meth:`SkyMap.volume_grid`) and ``in_vol_50`` / ``in_vol_90`` ... Sources outside a
        partial map get density 0 and level 1. ``meta`` holds ``area_50`` ... (deg^2), with distances
        ``volume_50`` ... (Mpc^3), and the map's ``OBJECT``.

        For ObsCore rows (an ``s_region`` column: an SIA v2 / TAP ``ivoa.obscore`` result, or the records of an
        :meth:`ImageIndex.query <platform_lib.imageindex.ImageIndex.query>`), the columns above are of each
        image's centre (``s_ra``, ``s_dec``) and these are of its footprint: ``prob_in_footprint`` (the
        probability inside it), ``prob_in_footprint_err`` (its bound, half the probability in the cells its
        edge cuts), ``footprint_area`` (deg^2), ``footprint_credible_level`` (the smallest credible region it
        meets), ``overlaps_50`` / ``overlaps_90`` ... (whether it meets each credible region) and
        ``footprint_from`` (``s_region``, or ``s_fov`` for a row without one: a circle of that diameter around
        its centre). ``meta["prob_covered"]`` is the probability covered by all footprints together (the union,
        overlaps counted once), ``meta["area_covered"]`` their area (deg^2). A row with neither ``s_region`` nor
        ``s_ra``/``s_dec``/``s_fov``, or an ``s_region`` that is not a polygon or circle, is a
        :class:`SkymapError` naming the row.

    Examples
    --------
    >>> from astropy.coordinates import SkyCoord
    >>> from platform_lib.skymap import match_skymap
    >>> from pathlib import Path
    >>> from platform_lib import get_settings
    >>> sample = Path(get_settings().datasets) / "skymaps" / "S190814bv_LALInference.v1.fits.gz"  # doctest: +SKIP
    >>> t = match_skymap(SkyCoord([12.8, 20], [-25.0, 5], unit="deg"), sample)  # doctest: +SKIP
    >>> t["in_90"]                                                              # doctest: +SKIP
    """
    if isinstance(skymap, SkyMap):
        m = _checked(skymap, normalize=normalize)
    elif isinstance(skymap, (str, os.PathLike)):
        m = read_skymap(skymap, normalize=normalize)
    else:
        raise TypeError(f"skymap must be a SkyMap (from read_skymap) or a sky map's FITS file (a path), got "
                        f"{skymap!r} ({type(skymap).__name__})")
    try:
        levels = [float(lv) for lv in ([levels] if np.ndim(levels) == 0 else levels)]
    except (TypeError, ValueError) as exc:
        raise SkymapError(f"levels must be credible levels in (0, 1], e.g. (0.5, 0.9), got {levels!r}",
                          code="bad-level", value=levels) from exc
    levels = [credible_level(lv, "each of levels") for lv in levels]
    rows = obscore_rows(catalog)
    if rows is not None:
        catalog = rows
        footprints, found_from = read_footprints(rows)
    lon_q, lat_q, dist, ra_column = _coordinates(catalog, lon, lat, distance)
    if not (np.all(np.isfinite(lon_q.value)) and np.all(np.isfinite(lat_q.value))):
        n_bad = int((~np.isfinite(lon_q.value) | ~np.isfinite(lat_q.value)).sum())
        raise SkymapError(f"{n_bad} source(s) have NaN coordinates; drop them first", code="nan-coordinates",
                          value=n_bad)
    lat_deg = lat_q.to_value(u.deg)
    if np.any(np.abs(lat_deg) > 90):
        bad = np.abs(lat_deg) > 90
        raise SkymapError(
            f"latitudes must be within [-90, 90] deg: {int(bad.sum())} source(s) are not (first: "
            f"{float(lat_deg[bad][0])} deg); check lon=/lat= and the columns' units",
            code="bad-latitude", value=float(lat_deg[bad][0]))
    idx = m.pixel_index(lon_q, lat_q)
    inside = idx >= 0
    safe = np.where(inside, idx, 0)
    dens = np.where(inside, m.probdensity[safe], 0.0)
    level = np.where(inside, m.credible_levels()[safe], 1.0)
    if ra_column is not None and rows is None:
        _warn_if_hours(m, lon_q.to_value(u.deg), lat_q, level, ra_column)
    searched = np.where(inside, m.searched_area()[safe], np.nan)

    out = Table()
    out["probdensity"] = dens * u.sr**-1
    out["probdensity_deg2"] = (dens * u.sr**-1).to(u.deg**-2)
    out["credible_level"] = level
    out["searched_area"] = searched * u.deg**2
    for lv in levels:
        out[f"in_{round(100 * lv):d}"] = level <= lv
        out.meta[f"area_{round(100 * lv):d}"] = float(m.credible_area(lv).to_value(u.deg**2))
    if dist is not None:
        if not m.has_distance:
            raise SkymapError("distances were given but the sky map has no DISTMU/DISTSIGMA/DISTNORM layers",
                              code="no-distance-layers")
        if not isinstance(dist, u.Quantity) or not dist.unit.is_equivalent(u.Mpc):
            raise SkymapError(f"distance must be a length Quantity (e.g. Mpc), got {dist!r:.60}",
                              code="distance-without-units", value=dist)
        r = np.broadcast_to(dist.to_value(u.Mpc), lon_q.shape)
        if np.any(~np.isfinite(r) | (r < 0)):
            raise SkymapError("distances must be finite and >= 0", code="bad-distance")
        mu = m.distmu[safe]
        sigma = m.distsigma[safe]
        norm = m.distnorm[safe]
        ok = inside & np.isfinite(mu) & (norm > 0) & (sigma > 0)
        with np.errstate(invalid="ignore", over="ignore"):
            gauss = np.exp(-0.5 * ((r - mu) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
            vol = np.where(ok, dens * norm * gauss, 0.0)
            cond = np.where(ok, norm * r**2 * gauss, 0.0)
        out["distance"] = r * u.Mpc
        out["probdensity_vol"] = vol * u.Mpc**-3
        out["distance_pdf"] = cond * u.Mpc**-1
        grid = m.volume_grid(reach=float(r.max()) if r.size else 0.0)
        level_vol = grid.levels_at(idx, r)
        out["credible_level_vol"] = level_vol
        for lv in levels:
            out[f"in_vol_{round(100 * lv):d}"] = level_vol <= lv
            out.meta[f"volume_{round(100 * lv):d}"] = float(grid.volume(lv).to_value(u.Mpc**3))
    if rows is not None:
        cover = cover_footprints(footprints, m)
        out["prob_in_footprint"] = cover.prob
        out["prob_in_footprint_err"] = cover.prob_err
        out["footprint_area"] = cover.area * u.deg**2
        out["footprint_credible_level"] = cover.level
        for lv in levels:
            out[f"overlaps_{round(100 * lv):d}"] = cover.level <= lv
        out["footprint_from"] = found_from
        out.meta["prob_covered"] = cover.prob_union
        out.meta["area_covered"] = cover.area_union
    for key in ("OBJECT", "DATE-OBS", "INSTRUME"):
        if key in m.meta:
            out.meta[key] = m.meta[key]
    return out
