"""Image footprints under a probability sky map: how much of the event each image covers, and all of them together.

This module owns the footprint answers of :func:`platform_lib.skymap.match_skymap` for ObsCore rows (an SIA v2 or
TAP ``ivoa.obscore`` result, an :class:`platform_lib.imageindex.ImageIndex` query's records): the probability
inside each row's ``s_region`` (STC-S polygons, circles, boxes; a ``Union`` of them, as ALMA's mosaics; holes,
``Not (...)``), whether the footprint meets each credible region, and the probability covered by the union of all
footprints. It imports numpy, astropy, cdshealpix, mocpy, ``_map`` and
``platform_lib.imageindex.sregion.read_s_region`` (the one reader of ``s_region`` text, which converts a footprint
in another frame to ICRS).

Every footprint is covered with HEALPix cells as ``cdshealpix`` covers a polygon or a cone (mocpy's MOCs are
made the same way): large cells inside, cells of one fine order ``D`` along the edge (about
:data:`CELLS_PER_RADIUS` across the smallest footprint's radius; coarser when the largest would have more than
about :data:`MAX_EDGE_CELLS` along its edge), each flagged as fully inside or cut by the edge. The map is
integrated over each cell exactly (cells and map pixels as ranges of order-29 indices; the density is constant
within a pixel, so a cell coarser or finer than the map's pixels is no matter). A fully covered cell counts whole,
a cut one half: the probability is exact up to half the probability in the edge cells, which is given
(``prob_in_footprint_err``). A footprint of several shapes, or with holes, is each shape covered so, joined, less
its holes (mocpy's MOC union and difference: inside is inside a shape and clear of every hole's cells; its edge is a
shape's edge cells, and a hole's edge cells inside a shape, that no other shape or hole covers fully). A footprint meets the ``p`` credible region when one of its cells (cut ones
included, as mocpy's polygon MOC includes them) meets a map pixel of credible level <= ``p``. The union counts
each piece of sky once: the fully covered cells of all footprints, then half of each edge cell that no
footprint covers fully.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import Table

from platform_lib.skymap._errors import SkymapError
from platform_lib.skymap._map import SkyMap

__all__ = ["FootprintCover", "cover_footprints", "obscore_rows", "read_footprints"]

#: About the most edge cells along the largest footprint (bounds memory and time on huge footprints).
MAX_EDGE_CELLS = 200_000
#: The finest cover order (cells of 0.2").
MAX_ORDER = 20
#: Edge cells across the smallest footprint's radius.
CELLS_PER_RADIUS = 64


@dataclass(frozen=True)
class Piece:
    """One shape of a footprint: polygon vertices (``lon``/``lat`` degrees, ICRS) or a circle (``radius`` deg)."""

    lon: np.ndarray
    lat: np.ndarray
    radius: float | None = None

    @property
    def size_deg(self) -> float:
        """About the shape's radius (degrees)."""
        if self.radius is not None:
            return self.radius
        from astropy.coordinates import SkyCoord

        c = SkyCoord(self.lon, self.lat, unit="deg")
        centre = SkyCoord(*_mean_direction(self.lon, self.lat), unit="deg")
        return float(c.separation(centre).deg.max())


@dataclass(frozen=True)
class Footprint:
    """One row's footprint: the union of its ``shapes`` (one, or a mosaic's pointings) less its ``holes``."""

    shapes: tuple[Piece, ...]
    holes: tuple[Piece, ...] = ()


def _mean_direction(lon: np.ndarray, lat: np.ndarray) -> tuple[float, float]:
    lo, la = np.radians(lon), np.radians(lat)
    v = np.array([np.sum(np.cos(la) * np.cos(lo)), np.sum(np.cos(la) * np.sin(lo)), np.sum(np.sin(la))])
    return float(np.degrees(np.arctan2(v[1], v[0])) % 360), float(np.degrees(np.arcsin(v[2] / np.linalg.norm(v))))


def obscore_rows(catalog: Any) -> Table | None:
    """The catalogue as a Table when it is ObsCore rows (a ``s_region`` column), else ``None``.

    Takes an astropy Table, a pyvo result (``to_table()``), a pandas DataFrame, or the records of an
    :meth:`ImageIndex.query <platform_lib.imageindex.ImageIndex.query>` (a list of dicts, or its
    ``(records, overflow)`` answer)."""
    if isinstance(catalog, tuple) and len(catalog) == 2 and isinstance(catalog[1], bool):
        catalog = catalog[0]  # ImageIndex.query's (records, overflow)
    if isinstance(catalog, list) and catalog and all(isinstance(r, dict) for r in catalog):
        catalog = Table(rows=catalog, names=list(catalog[0]))
    if hasattr(catalog, "to_table") and not hasattr(catalog, "colnames"):
        catalog = catalog.to_table()
    if hasattr(catalog, "columns") and not isinstance(catalog, Table) and "s_region" in list(catalog.columns):
        catalog = Table.from_pandas(catalog)
    if isinstance(catalog, Table) and "s_region" in catalog.colnames:
        return catalog
    return None


def _blank(value: Any) -> bool:
    return value is None or np.ma.is_masked(value) or (isinstance(value, float) and np.isnan(value)) or \
        str(value.decode() if isinstance(value, bytes) else value).strip() == ""


def read_footprints(rows: Table) -> tuple[list[Footprint], list[str]]:
    """Each row's footprint and how it was found: ``"s_region"``, or ``"s_fov"`` (no ``s_region``: a circle of
    diameter ``s_fov`` around ``s_ra``/``s_dec``, ObsCore's field of view). An ``s_region`` is read by
    :func:`~platform_lib.imageindex.sregion.read_s_region` (STC-S polygons, circles and boxes, in ICRS or a frame it
    converts; a ``Union`` of them, as ALMA's mosaics; holes, ``Not (...)``). A row with neither, or an ``s_region``
    that is no footprint, is a :class:`SkymapError` naming the row."""
    from platform_lib.imageindex.errors import ImageIndexInputError
    from platform_lib.imageindex.sregion import read_s_region

    out, how = [], []
    names = rows.colnames
    for i, row in enumerate(rows):
        text = row["s_region"]
        if _blank(text):
            fov = row["s_fov"] if "s_fov" in names else None
            centre = [row[c] if c in names else None for c in ("s_ra", "s_dec")]
            if _blank(fov) or any(_blank(c) for c in centre) or not float(fov) > 0:
                raise SkymapError(
                    f"row {i} has no footprint: its s_region is empty and it has no s_ra/s_dec/s_fov to make a "
                    "circle of; drop it, or give it an s_region", code="no-footprint", value=i)
            out.append(Footprint((Piece(np.array([float(centre[0])]), np.array([float(centre[1])]), float(fov) / 2),)))
            how.append("s_fov")
            continue
        try:
            region = read_s_region(text)
        except ImageIndexInputError as exc:
            raise _refused(i, text, f"is not a footprint: {exc.reason}") from exc
        out.append(Footprint(tuple(_piece(i, text, s) for s in region.shapes),
                             tuple(_piece(i, text, s) for s in region.holes)))
        how.append("s_region")
    return out, how


def _piece(i: int, text, shape) -> Piece:
    """One shape of row ``i``'s ``s_region`` (``text``) as a :class:`Piece`; a circle of radius 0 is refused."""
    if shape.kind == "circle":
        ra, dec, radius = shape.values
        if not radius > 0:
            raise _refused(i, text, "is a circle of radius 0: no footprint")
        return Piece(np.array([ra % 360]), np.array([dec]), radius)
    vertices = shape.vertices()
    return Piece(vertices[:, 0] % 360, vertices[:, 1])


def _refused(i: int, text, why: str) -> SkymapError:
    """The error for row ``i``'s ``s_region`` (``text``, named by its first 80 characters), which ``why``."""
    shown = str(text)[:80]
    return SkymapError(f"row {i}'s s_region {shown!r} {why}", code="bad-s-region", value=shown)


def _order_for(footprints: list[Footprint]) -> int:
    """The cover's finest order: cells of 1/:data:`CELLS_PER_RADIUS` of the smallest shape's radius (a hole's too),
    but at most about :data:`MAX_EDGE_CELLS` cells along the largest one's edge, and at most :data:`MAX_ORDER`."""
    sizes = np.array([max(p.size_deg, 1e-6) for f in footprints for p in f.shapes + f.holes])
    cell = np.degrees(np.sqrt(4 * np.pi / 12))  # order 0 cell side (deg)
    want = int(np.ceil(np.log2(cell * CELLS_PER_RADIUS / sizes.min())))
    most = int(np.floor(np.log2(cell * MAX_EDGE_CELLS / (2 * np.pi * sizes.max()))))
    return int(np.clip(min(want, most), 0, MAX_ORDER))


#: The nested order whose cell indices measure everything (HEALPix's finest): a cell of order ``d`` is the range
#: ``[ipix << 2 (29 - d), (ipix + 1) << 2 (29 - d))`` of these.
_FINEST = 29


def _ranges(ipix: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shift = 2 * (_FINEST - np.asarray(depth, dtype=np.int64))
    ipix = np.asarray(ipix, dtype=np.int64)
    return np.left_shift(ipix, shift), np.left_shift(ipix + 1, shift)


@dataclass(frozen=True)
class _Ranges:
    """The map's pixels as sorted order-29 ranges, with the probability before each (to integrate the map over any
    range of cells exactly: the density is constant within a pixel) and each one's credible level."""

    start: np.ndarray
    stop: np.ndarray
    prob: np.ndarray
    before: np.ndarray
    level: np.ndarray

    @classmethod
    def of(cls, m: SkyMap) -> "_Ranges":
        start, stop = _ranges(m.ipix, m.order)
        srt = np.argsort(start, kind="stable")
        prob = m.probability[srt]
        return cls(start[srt], stop[srt], prob, np.r_[0.0, np.cumsum(prob)], m.credible_levels()[srt])

    def below(self, x: np.ndarray) -> np.ndarray:
        """The map's probability in cells ``[0, x)`` (order-29 indices)."""
        k = np.searchsorted(self.start, x, side="right") - 1
        kk = np.maximum(k, 0)
        frac = np.clip((x - self.start[kk]) / (self.stop[kk] - self.start[kk]).astype(np.float64), 0.0, 1.0)
        return np.where(k >= 0, self.before[kk] + self.prob[kk] * frac, 0.0)

    def within(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The map's probability in each range ``[a, b)``."""
        return self.below(b) - self.below(a)

    def lowest_level(self, a: np.ndarray, b: np.ndarray) -> float:
        """The smallest credible level of the map's pixels that meet any of the ranges ``[a, b)`` (1 if none)."""
        first = np.searchsorted(self.stop, a, side="right")
        end = np.searchsorted(self.start, b, side="left")
        hit = end > first
        marks = np.zeros(self.start.size + 1, dtype=np.int64)
        np.add.at(marks, first[hit], 1)
        np.add.at(marks, end[hit], -1)
        met = np.cumsum(marks)[:-1] > 0
        return float(self.level[met].min()) if met.any() else 1.0


def _outer(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The union of ranges ``[a, b)`` of order-29 cells, as sorted disjoint ranges."""
    if a.size == 0:
        return a, b
    srt = np.argsort(a, kind="stable")
    a, b = a[srt], b[srt]
    reach = np.maximum.accumulate(b)
    first = np.r_[True, a[1:] > reach[:-1]]  # each run of overlapping ranges starts here ...
    return a[first], reach[np.r_[first[1:], True]]  # ... and ends where the reach of its last range does


def _cells(piece: Piece, order: int, k: int) -> tuple[np.ndarray, ...]:
    """``(inside a, inside b, edge a, edge b)``: the order-29 ranges of the cells cdshealpix gives wholly inside one
    shape of row ``k``'s footprint, and of its edge cells (of order ``order``)."""
    import cdshealpix.nested as hp
    from astropy.coordinates import Latitude, Longitude

    try:
        if piece.radius is not None:
            ipix, depth, full = hp.cone_search(Longitude(piece.lon[0] * u.deg), Latitude(piece.lat[0] * u.deg),
                                               piece.radius * u.deg, order)
        else:
            ipix, depth, full = hp.polygon_search(Longitude(piece.lon * u.deg), Latitude(piece.lat * u.deg), order)
    except ValueError as exc:  # cdshealpix: fewer than 3 distinct vertices
        raise SkymapError(f"row {k}'s footprint cannot be covered: {exc}", code="bad-s-region", value=k) from exc
    a, b = _ranges(ipix, depth)
    full = np.asarray(full, dtype=bool)
    return a[full], b[full], a[~full], b[~full]


def _footprint_cells(f: Footprint, order: int, k: int) -> tuple[np.ndarray, ...]:
    """:func:`_cells` of row ``k``'s whole footprint: its shapes' MOCs joined, its holes' taken out (mocpy's union
    and difference). Inside: inside a shape, and neither inside nor on the edge of a hole; edge: on a shape's edge
    or inside a shape on a hole's edge, and inside no other shape or hole. Edge cells come back one a range."""
    if len(f.shapes) == 1 and not f.holes:
        return _cells(f.shapes[0], order, k)
    from mocpy import MOC

    def moc(parts: list[tuple[np.ndarray, ...]], which: int) -> MOC:
        out = MOC.new_empty(order)
        for part in parts:
            a, b = part[which], part[which + 1]
            if a.size:
                srt = np.argsort(a)
                out = out.union(MOC.from_depth29_ranges(order, np.column_stack([a[srt], b[srt]]).astype(np.uint64)))
        return out

    shapes = [_cells(p, order, k) for p in f.shapes]
    holes = [_cells(p, order, k) for p in f.holes]
    inside, hole_inside = moc(shapes, 0), moc(holes, 0)
    edge, hole_edge = moc(shapes, 2).difference(inside), moc(holes, 2).difference(hole_inside)
    kept = inside.difference(hole_inside).difference(hole_edge).to_depth29_ranges.astype(np.int64)
    cut = edge.union(inside.intersection(hole_edge)).difference(hole_inside).to_depth29_ranges.astype(np.int64)
    step = np.int64(1) << np.int64(2 * (_FINEST - order))
    n = (cut[:, 1] - cut[:, 0]) // step  # each edge range as its cells of the edge's order
    ea = np.repeat(cut[:, 0], n) + step * (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n))
    return kept[:, 0], kept[:, 1], ea, ea + step


@dataclass(frozen=True)
class FootprintCover:
    """The footprint answers: per row ``prob`` (probability inside), ``prob_err`` (half the edge cells'),
    ``area`` (deg^2), ``level`` (the smallest credible level the footprint meets); and the union's ``prob_union``,
    ``area_union`` (deg^2); ``order``: the cover's finest HEALPix order (its edge cells')."""

    prob: np.ndarray
    prob_err: np.ndarray
    area: np.ndarray
    level: np.ndarray
    prob_union: float
    area_union: float
    order: int


def cover_footprints(footprints: list[Footprint], m: SkyMap) -> FootprintCover:
    """Cover each footprint with HEALPix cells and integrate the map over them (see the module's text)."""
    order = _order_for(footprints)
    pixels = _Ranges.of(m)
    unit = 4 * np.pi / (12 * 4.0**_FINEST)  # sr per order-29 cell
    prob, err, area, level = (np.zeros(len(footprints)) for _ in range(4))
    full_a, full_b, edge_a = [], [], []
    for k, f in enumerate(footprints):
        fa, fb, ea, eb = _footprint_cells(f, order, k)
        inside, edge = pixels.within(fa, fb), pixels.within(ea, eb)
        prob[k] = float(inside.sum() + edge.sum() / 2)
        err[k] = float(edge.sum() / 2)
        area[k] = float(np.sum(fb - fa) + np.sum(eb - ea) / 2) * unit
        level[k] = pixels.lowest_level(np.r_[fa, ea], np.r_[fb, eb])
        full_a.append(fa), full_b.append(fb), edge_a.append(ea)
    # the union: every fully covered cell once, then half of each edge cell that no footprint covers fully
    fa, fb = _outer(np.concatenate(full_a), np.concatenate(full_b))
    ea = np.unique(np.concatenate(edge_a))
    eb = ea + (np.int64(1) << np.int64(2 * (_FINEST - order)))
    k = np.searchsorted(fa, ea, side="right") - 1
    covered = (k >= 0) & (eb <= fb[np.maximum(k, 0)]) if fa.size else np.zeros(ea.size, dtype=bool)
    ea, eb = ea[~covered], eb[~covered]
    union_prob = float(pixels.within(fa, fb).sum() + pixels.within(ea, eb).sum() / 2)
    union_area = float(np.sum(fb - fa) + np.sum(eb - ea) / 2) * unit
    sr_to_deg2 = (180 / np.pi) ** 2
    return FootprintCover(prob=prob, prob_err=err, area=area * sr_to_deg2, level=level, prob_union=union_prob,
                          area_union=union_area * sr_to_deg2, order=order)
