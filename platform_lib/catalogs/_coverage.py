"""Sky coverage as HEALPix ranges: the per-table MOC, its index cells, and overlap tests.

A MOC is kept as sorted, disjoint ``[start, stop)`` ranges of order-29 NESTED cells (the form
mocpy and cdshealpix share); the registry stores those ranges and, for fast lookup, the cells of
order :data:`INDEX_ORDER` that each MOC touches, flagged when the MOC covers the cell fully.
Imports numpy, cdshealpix and mocpy; no I/O.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "INDEX_ORDER",
    "moc_ranges_from_points",
    "index_cells",
    "cone_ranges",
    "cone_cells",
    "box_cells",
    "ranges_overlap",
    "to_mocpy",
    "sky_fraction",
]

#: The HEALPix order of the registry's cell index (order 6: 49,152 cells of about 0.92 deg).
INDEX_ORDER = 6
_MAX = 29


def _shift(order: int) -> np.uint64:
    return np.uint64(2 * (_MAX - order))


def cells_to_ranges(cells: np.ndarray, order: int) -> np.ndarray:
    """Order-``order`` cells as merged order-29 ranges, shape (n, 2), uint64."""
    cells = np.unique(np.asarray(cells, dtype=np.uint64))
    if cells.size == 0:
        return np.empty((0, 2), dtype=np.uint64)
    shift = _shift(order)
    starts, stops = cells << shift, (cells + np.uint64(1)) << shift
    return merge_ranges(np.column_stack([starts, stops]))


def merge_ranges(ranges: np.ndarray) -> np.ndarray:
    """Sort and merge touching or overlapping ``[start, stop)`` ranges."""
    if len(ranges) == 0:
        return np.empty((0, 2), dtype=np.uint64)
    ranges = ranges[np.argsort(ranges[:, 0], kind="stable")]
    starts, stops = ranges[:, 0], np.maximum.accumulate(ranges[:, 1])
    new = np.ones(len(ranges), dtype=bool)
    new[1:] = starts[1:] > stops[:-1]
    group = np.cumsum(new) - 1
    out_stops = np.zeros(new.sum(), dtype=np.uint64)
    np.maximum.at(out_stops, group, stops)
    return np.column_stack([starts[new], out_stops]).astype(np.uint64)


def moc_ranges_from_points(ra_deg: np.ndarray, dec_deg: np.ndarray, order: int) -> np.ndarray:
    """The MOC (order-29 ranges) of the order-``order`` cells holding the given positions."""
    from cdshealpix.nested import lonlat_to_healpix
    import astropy.units as u

    ra = np.asarray(ra_deg, dtype=float)
    dec = np.asarray(dec_deg, dtype=float)
    good = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    if not good.any():
        return np.empty((0, 2), dtype=np.uint64)
    cells = lonlat_to_healpix(ra[good] % 360 * u.deg, dec[good] * u.deg, order)
    return cells_to_ranges(cells, order)


def index_cells(ranges: np.ndarray, order: int = INDEX_ORDER) -> tuple[np.ndarray, np.ndarray]:
    """The order-``order`` cells a MOC touches, and for each whether the MOC covers it entirely."""
    if len(ranges) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)
    shift = _shift(order)
    one = np.uint64(1)
    first = ranges[:, 0] >> shift
    last = (ranges[:, 1] - one) >> shift
    counts = (last - first + one).astype(np.int64)
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    cells = np.repeat(first, counts) + (np.arange(counts.sum()) - offsets).astype(np.uint64)
    # A cell is full when one range holds it from start to stop.
    starts = np.repeat(ranges[:, 0], counts)
    stops = np.repeat(ranges[:, 1], counts)
    full = (starts <= cells << shift) & (stops >= (cells + one) << shift)
    order_idx = np.lexsort((~full, cells))
    cells, full = cells[order_idx], full[order_idx]
    keep = np.ones(len(cells), dtype=bool)
    keep[1:] = cells[1:] != cells[:-1]
    return cells[keep].astype(np.int64), full[keep]


def cone_cells(ra_deg: float, dec_deg: float, radius_deg: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """The order-``order`` cells a cone may touch, and whether each lies entirely inside it."""
    from cdshealpix.nested import cone_search
    import astropy.units as u

    if radius_deg > 90:
        # cdshealpix drops cells of cones this wide (179 deg: a third of the sky missed); take every cell but
        # those lying entirely inside the antipodal cone, shrunk by 1e-6 deg so its rim stays selected.
        cells = np.arange(12 * 4**order, dtype=np.uint64)
        if radius_deg >= 180 - 1e-6:
            return cells, np.ones(cells.size, dtype=bool)
        ipix, _depth, full = cone_search(
            ((ra_deg + 180) % 360) * u.deg, -dec_deg * u.deg, (180 - radius_deg - 1e-6) * u.deg, order, flat=True
        )
        outside = np.asarray(ipix, dtype=np.uint64)[np.asarray(full, dtype=bool)]
        keep = ~np.isin(cells, outside)
        touched = np.isin(cells, np.asarray(ipix, dtype=np.uint64))
        return cells[keep], ~touched[keep]
    ipix, _depth, full = cone_search(
        ra_deg * u.deg, dec_deg * u.deg, max(radius_deg, 1e-9) * u.deg, order, flat=True
    )
    return ipix.astype(np.uint64), np.asarray(full, dtype=bool)


def box_cells(ra_min: float, ra_max: float, dec_min: float, dec_max: float, order: int) -> np.ndarray:
    """The order-``order`` cells that may hold a point of the RA/Dec box (a superset, never missing one).

    RA runs from ``ra_min`` to ``ra_max`` eastwards (through RA 0 when ``ra_min > ra_max``; ``[0, 360]``
    is the full circle); Dec from ``dec_min`` to ``dec_max``. The cells are found top-down from the 12
    base cells: a cell is kept when the cap around its centre that holds the whole cell (1.5 times its
    farthest vertex) reaches the box, i.e. when the centre lies in the box grown by that radius (in Dec
    by the radius, in RA by the cap's RA half-width ``asin(sin r / cos dec)``, all RA near a pole).
    cdshealpix's ``zone_search`` is not used: it drops cells of boxes that reach a pole.
    """
    from cdshealpix.nested import healpix_to_lonlat, vertices
    import astropy.units as u

    full = (ra_max - ra_min) >= 360 or (ra_min == 0 and ra_max == 360)
    extent = 360.0 if full else (ra_max - ra_min) % 360
    cells = np.arange(12, dtype=np.uint64)
    for depth in range(order + 1):
        if depth > 0:
            cells = (cells[:, None] * np.uint64(4) + np.arange(4, dtype=np.uint64)[None, :]).ravel()
        lon, lat = healpix_to_lonlat(cells, depth)
        lon, lat = lon.to_value(u.rad), lat.to_value(u.rad)
        vlon, vlat = vertices(cells, depth)
        vlon, vlat = vlon.to_value(u.rad), vlat.to_value(u.rad)
        hav = (np.sin((vlat - lat[:, None]) / 2) ** 2
               + np.cos(lat)[:, None] * np.cos(vlat) * np.sin((vlon - lon[:, None]) / 2) ** 2)
        radius = 1.5 * 2 * np.arcsin(np.sqrt(np.clip(hav, 0.0, 1.0))).max(axis=1) + 1e-9
        dec_c = np.degrees(lat)
        r_deg = np.degrees(radius)
        keep = (dec_c >= dec_min - r_deg) & (dec_c <= dec_max + r_deg)
        if not full:
            near_pole = np.abs(dec_c) + r_deg >= 90.0
            with np.errstate(invalid="ignore"):
                half = np.degrees(np.arcsin(np.clip(np.sin(radius) / np.cos(lat), 0.0, 1.0)))
            offset = (np.degrees(lon) - ra_min) % 360.0  # east of the box's west edge
            in_ra = (offset <= extent + half) | (offset >= 360.0 - half)
            keep &= near_pole | (half >= 90.0) | in_ra
        cells = cells[keep]
    return cells


def cone_ranges(ra_deg: float, dec_deg: float, radius_deg: float, order: int) -> np.ndarray:
    """The cone as merged order-29 ranges of order-``order`` cells (a superset of the cone)."""
    if radius_deg > 90:  # the sky less the cells entirely inside the antipodal cone (see cone_cells)
        whole = np.array([[0, 12 * 4**_MAX]], dtype=np.uint64)
        if radius_deg >= 180 - 1e-6:
            return whole
        from cdshealpix.nested import cone_search
        import astropy.units as u

        ipix, _depth, full = cone_search(
            ((ra_deg + 180) % 360) * u.deg, -dec_deg * u.deg, (180 - radius_deg - 1e-6) * u.deg, order, flat=True
        )
        hole = cells_to_ranges(np.asarray(ipix, dtype=np.uint64)[np.asarray(full, dtype=bool)], order)
        edges = np.concatenate([[np.uint64(0)], hole.ravel(), [np.uint64(12 * 4**_MAX)]]).reshape(-1, 2)
        return edges[edges[:, 1] > edges[:, 0]]
    cells, _ = cone_cells(ra_deg, dec_deg, radius_deg, order)
    return cells_to_ranges(cells, order)


def ranges_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two sorted, disjoint range sets share at least one order-29 cell."""
    if len(a) == 0 or len(b) == 0:
        return False
    if len(a) > len(b):
        a, b = b, a
    idx = np.searchsorted(b[:, 0], a[:, 1], side="left")  # ranges of b starting before a's stop
    prev = idx - 1
    ok = prev >= 0
    return bool(np.any(b[prev[ok], 1] > a[ok, 0]))


def to_mocpy(ranges: np.ndarray, order: int):
    """The ranges as a :class:`mocpy.MOC` of maximum order ``order``."""
    from mocpy import MOC

    return MOC.from_depth29_ranges(order, np.asarray(ranges, dtype=np.uint64))


def sky_fraction(ranges: np.ndarray) -> float:
    """The fraction of the sky the ranges cover."""
    if len(ranges) == 0:
        return 0.0
    total = 12 * 4**_MAX
    return float((ranges[:, 1] - ranges[:, 0]).astype(np.float64).sum() / total)
