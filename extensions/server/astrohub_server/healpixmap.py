"""HEALPix sky maps for the FITS viewer: which table HDU is a map, its all-sky Mollweide picture, its 90 % area.

A HEALPix map (a gravitational-wave localisation as LIGO/Virgo/KAGRA publish it, flat or multi-order, a
Planck-like all-sky map) is a FITS binary table whose rows are pixels. :func:`layout` reads what the header and
columns say (``PIXTYPE = 'HEALPIX'``, ``ORDERING`` NESTED, RING or NUNIQ, ``NSIDE``; a partial-sky map's
``INDXSCHM = 'EXPLICIT'`` and its PIXEL column, whose unlisted pixels are blank) and refuses a map it cannot
draw with a :class:`MapError` naming the problem (an NSIDE that is not a power of 2, a row count that is not
12 NSIDE², no UNIQ column). A :class:`Canvas` takes the map's rows chunk by chunk (bounded memory whatever the
map's size) and keeps two things: the drawn column averaged over the pixels of a display order
(:data:`DISPLAY_ORDER`), from which :meth:`Canvas.picture` draws a Mollweide PNG (longitude increasing to the
left, centred on RA 180° as ligo.skymap's "astro mollweide" figures, or on l = 0 for a galactic map as Planck's
are: :attr:`MapLayout.centre`), and, for a probability map (``PROB`` per pixel, Fermi GBM's ``PROBABILITY``,
or ``PROBDENSITY`` per steradian of a multi-order map), the probability per pixel at most at
:data:`AREA_ORDER`, from which :meth:`Canvas.credible_area` finds the area of the smallest region holding 90 %
(pixels densest first, interpolated within the last pixel, as ligo.skymap's ``crossmatch`` does). On a
probability map's picture the 50 % and 90 % credible regions (:data:`CONTOURS`) are outlined, as
``ligo-skymap-plot --contour 50 90`` draws them: the greedy credible level of each pixel of the display order.
:func:`mollweide_lonlat` is the projection's inverse, for the picture and for the cursor.

Pure: no file I/O (``astrohub_server.fitsview`` reads the rows). May import the standard library, numpy,
cdshealpix (platform_lib's dependency, in every user image), Pillow and matplotlib's colour maps.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["AREA_ORDER", "CONTOURS", "DISPLAY_ORDER", "HEIGHT", "PER_PIXEL", "PROBABILITY", "TOLERANCE", "WIDTH", "Canvas",
           "MapError", "MapLayout", "credible_levels", "is_map", "layout", "mollweide_lonlat", "outline", "pixel_at", "whole"]

#: The order (nside = 2**order) a map is drawn at: finer pixels are averaged into it (nside 256: 0.05 deg²,
#: finer than the picture's pixels, about 0.16 deg² at the centre).
DISPLAY_ORDER = 8
#: The finest order the credible area is worked out at (nside 1024, 12.6 million pixels, 100 MB): a finer flat
#: map's probabilities are summed into it; a multi-order map's area is exact.
AREA_ORDER = 10
#: The picture's size in pixels (Mollweide's ellipse is twice as wide as high).
WIDTH, HEIGHT = 800, 400
#: The probability columns of gravitational-wave maps: per pixel (flat maps), per steradian (multi-order), and
#: Fermi GBM's name for the per-pixel one (its HEALPix localisations; ligo.skymap's ``read_sky_map`` and
#: platform_lib.skymap's ``read_skymap`` read it as ``PROB``).
PROBABILITY = ("PROB", "PROBDENSITY", "PROBABILITY")
#: Of those, the columns that hold a probability per pixel.
PER_PIXEL = ("PROB", "PROBABILITY")
#: The credible regions outlined on a probability map's picture, and the colour (RGB) of each outline: light on
#: the colour map's dark low end (ligo-skymap-plot's black would vanish there), told apart by the legend.
CONTOURS = ((0.5, (0, 255, 255)), (0.9, (255, 255, 255)))
#: How far from 1 a probability map's total may be and still be read as normalised (platform_lib.skymap's
#: ``read_skymap`` tolerance): its credible regions then hold ``level`` of probability 1, as ligo.skymap and
#: ``read_skymap`` find them (a multi-order map's float32 densities sum to 0.999 or so); a map further from 1 is
#: taken as a fraction of its own total (``read_skymap(..., normalize=True)``).
TOLERANCE = 1e-3
#: healpy's value of a pixel without data.
UNSEEN = -1.6375e30
_ORDERINGS = ("NESTED", "RING", "NUNIQ")
_DEG2_PER_SR = (180 / math.pi) ** 2


class MapError(ValueError):
    """A HEALPix map the viewer cannot draw, with a message naming the problem."""


@dataclass(frozen=True)
class MapLayout:
    """What a map HDU's header and columns say: how its rows are pixels, and which column is drawn."""

    ordering: str  #: NESTED, RING or NUNIQ
    order: int | None  #: log2(NSIDE) of a flat map; None for a multi-order one
    column: str  #: the column drawn
    repeat: int  #: pixels per row (healpy writes 1024 a row)
    rows: int
    unit: str  #: the drawn column's unit
    frame: str  #: C (equatorial), G (galactic) or E (ecliptic), from COORDSYS
    explicit: bool = False  #: a partial-sky flat map (INDXSCHM = 'EXPLICIT'): each row names its pixel (PIXEL)

    @property
    def index_column(self) -> str | None:
        """The column that names each row's pixel: UNIQ (multi-order), PIXEL (partial-sky), or None (implicit)."""
        return "UNIQ" if self.order is None else "PIXEL" if self.explicit else None

    @property
    def probability(self) -> bool:
        """Whether the drawn column is a probability: PROB per pixel of a flat map, PROBDENSITY per steradian."""
        return self.column == "PROBDENSITY" or (self.column in PER_PIXEL and self.order is not None)

    @property
    def centre(self) -> float:
        """The longitude at the picture's centre: 0 for a galactic map (the Galactic centre), else 180°."""
        return 0.0 if self.frame == "G" else 180.0

    @property
    def nside(self) -> int | None:
        return None if self.order is None else 2**self.order

    def describe(self) -> str:
        if self.order is None:
            return f"HEALPix multi-order map (NUNIQ), {self.rows:,} pixels"
        if self.explicit:
            return (f"HEALPix partial-sky map, nside {self.nside} ({self.ordering}), {self.rows:,} of "
                    f"{12 * 4**self.order:,} pixels")
        return f"HEALPix map, nside {self.nside} ({self.ordering}), {12 * 4**self.order:,} pixels"


def is_map(header: Any) -> bool:
    """Whether a binary table's header says it is a HEALPix map (PIXTYPE, ORDERING or NSIDE)."""
    return (str(header.get("PIXTYPE", "")).strip().upper() == "HEALPIX"
            or str(header.get("ORDERING", "")).strip().upper() in _ORDERINGS or "NSIDE" in header)


def layout(header: Any, columns: list[tuple[str, int, str, bool]]) -> MapLayout:
    """The :class:`MapLayout` of a map HDU from its ``header`` and ``columns`` (name, values per row, unit,
    numeric); raises :class:`MapError` for a map that cannot be drawn, naming what is wrong."""
    ordering = str(header.get("ORDERING", "")).strip().upper()
    scheme = str(header.get("INDXSCHM", "IMPLICIT")).strip().upper()
    rows = int(header.get("NAXIS2", 0))
    by_name = {name.upper(): (name, repeat, unit, numeric) for name, repeat, unit, numeric in columns}
    frame = str(header.get("COORDSYS", "C")).strip().upper()[:1] or "C"
    if ordering not in _ORDERINGS:
        raise MapError(f"ORDERING = {header.get('ORDERING')!r}: a HEALPix map's ORDERING is NESTED, RING or NUNIQ")
    if ordering == "NUNIQ":
        if "UNIQ" not in by_name:
            raise MapError("a multi-order map (ORDERING = 'NUNIQ') needs a UNIQ column; this one has "
                           f"{', '.join(c[0] for c in columns) or 'none'}")
        order = None
    else:
        if scheme == "EXPLICIT" and "PIXEL" not in by_name:
            raise MapError("a partial-sky map (INDXSCHM = 'EXPLICIT') needs a PIXEL column naming each row's pixel; "
                           f"this one has {', '.join(c[0] for c in columns) or 'none'}")
        nside = header.get("NSIDE")
        try:
            nside = int(nside)
        except (TypeError, ValueError):
            raise MapError(f"NSIDE = {nside!r}: a flat HEALPix map needs NSIDE, a power of 2") from None
        if nside < 1 or nside & (nside - 1) or nside > 2**29:
            raise MapError(f"NSIDE = {nside} is not a power of 2 (1, 2, 4, ... 2**29): not a HEALPix map")
        order = nside.bit_length() - 1
    skip = {"UNIQ", "PIXEL"}
    chosen = next((by_name[p] for p in (("PROBDENSITY",) if order is None else PROBABILITY) if p in by_name), None)
    if chosen is None:
        chosen = next((c for c in columns if c[0].upper() not in skip and c[3]), None)
    if chosen is None or not chosen[3]:
        raise MapError("the map has no numeric column to draw")
    name, repeat, unit, _ = chosen
    explicit = order is not None and scheme == "EXPLICIT"
    if order is None:
        repeat = 1
    elif explicit:
        if repeat != 1 or by_name["PIXEL"][1] != 1:
            raise MapError(f"a partial-sky map's rows are one pixel each (PIXEL and {name}); this one has "
                           f"{max(repeat, by_name['PIXEL'][1])} values a row")
        if rows > 12 * 4**order:
            raise MapError(f"{rows:,} rows, but a map of NSIDE = {2**order} has 12 × {2**order}² = {12 * 4**order:,} "
                           "pixels: its NSIDE is wrong")
    elif rows * repeat != 12 * 4**order:
        raise MapError(f"{rows:,} rows × {repeat} pixels a row make {rows * repeat:,} pixels, but a map of NSIDE = "
                       f"{2**order} has 12 × {2**order}² = {12 * 4**order:,}: the map is cut short or its NSIDE "
                       "is wrong")
    canonical = name.upper() if name.upper() in PROBABILITY else name
    return MapLayout(ordering=ordering, order=order, column=canonical if canonical in PROBABILITY else name,
                     repeat=repeat, rows=rows, unit=unit, frame=frame, explicit=explicit)


# --- the projection -----------------------------------------------------------------------------------


def mollweide_lonlat(x: Any, y: Any, centre: float = 180.0, width: int = WIDTH, height: int = HEIGHT):
    """The longitude and latitude (degrees) at the centres of the picture's pixels (``x`` from the left, ``y``
    from the top, 0-based); NaN outside the ellipse. Longitude ``centre`` at the centre, increasing to the left."""
    import numpy as np

    u = (np.asarray(x, dtype=np.float64) + 0.5) / width * 2 - 1
    v = 1 - (np.asarray(y, dtype=np.float64) + 0.5) / height * 2
    inside = u**2 + v**2 <= 1
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.arcsin(np.where(inside, v, 0.0))
        lat = np.degrees(np.arcsin(np.clip((2 * theta + np.sin(2 * theta)) / np.pi, -1, 1)))
        lon = (centre - 180 * u / np.cos(theta)) % 360
    return np.where(inside, lon, np.nan), np.where(inside, lat, np.nan)


def _nested(lon, lat, order: int):
    import cdshealpix.nested as hp
    import numpy as np
    from astropy import units as u

    return hp.lonlat_to_healpix(np.asarray(lon) * u.deg, np.asarray(lat) * u.deg, order).astype(np.int64)


def pixel_at(layout_: MapLayout, lon: float, lat: float, index: Any = None) -> int | None:
    """The row (times ``repeat``, plus the place in the row) of the pixel at (lon, lat), for the cursor; a
    multi-order or partial-sky map needs its ``index`` column (UNIQ, PIXEL), and has no row there when the map
    does not cover the point."""
    import cdshealpix
    import numpy as np

    if layout_.order is not None:
        pixel = int(_nested([lon], [lat], layout_.order)[0])
        if layout_.ordering == "RING":
            pixel = int(cdshealpix.to_ring(np.array([pixel], dtype=np.uint64), layout_.order)[0])
        if not layout_.explicit:
            return pixel
        found = np.flatnonzero(np.asarray(index) == pixel)
        return int(found[0]) if found.size else None
    uniq = np.asarray(index, dtype=np.int64)
    orders = _orders(uniq)
    for order in np.unique(orders):
        found = np.flatnonzero(uniq == 4 * 4 ** int(order) + int(_nested([lon], [lat], int(order))[0]))
        if found.size:
            return int(found[0])
    return None


def _orders(uniq):
    import numpy as np

    return (np.floor(np.log2(uniq.astype(np.float64) / 4)) // 2).astype(np.int64)


# --- the canvas ---------------------------------------------------------------------------------------


class Canvas:
    """The map's rows, added chunk by chunk (:meth:`add`), averaged at :data:`DISPLAY_ORDER` for the picture and,
    for a probability map, its probability per pixel for the credible area."""

    def __init__(self, layout_: MapLayout) -> None:
        import numpy as np

        self.layout = layout_
        self.sums = np.zeros(12 * 4**DISPLAY_ORDER)
        self.weights = np.zeros(12 * 4**DISPLAY_ORDER)
        self.seen = 0
        self.area_order = None if layout_.order is None else min(layout_.order, AREA_ORDER)
        self.prob = None  # flat: probability per pixel at area_order; multi-order: [(probability, area), ...]
        if layout_.probability:
            self.prob = np.zeros(12 * 4**self.area_order) if self.area_order is not None else []

    def add(self, values: Any, index: Any = None) -> None:
        """The next rows' values of the drawn column (rows × repeat, implicit flat maps in pixel order), and the
        rows' ``index`` column (:attr:`MapLayout.index_column`: UNIQ of a multi-order map, PIXEL of a partial one)."""
        import cdshealpix
        import numpy as np

        values = np.asarray(values, dtype=np.float64).ravel()
        values = np.where(np.abs(values - UNSEEN) < 1e24, np.nan, values)
        lay = self.layout
        if lay.order is None:
            uniq = np.asarray(index, dtype=np.int64).ravel()
            if uniq.size and uniq.min() < 4:
                raise MapError(f"UNIQ = {int(uniq.min())}: a multi-order pixel's UNIQ is 4 × 4**order + pixel, at "
                               "least 4")
            orders = _orders(uniq)
            for order in np.unique(orders):
                at = orders == order
                pixels = uniq[at] - 4 * 4 ** int(order)
                self._draw(int(order), pixels, values[at])
                if self.prob is not None:  # PROBDENSITY per steradian: probability and area of each pixel
                    area = 4 * math.pi / (12 * 4 ** int(order))
                    self.prob.append((values[at], np.full(pixels.size, area)))
            self.seen += values.size
            return
        if lay.explicit:
            pixels = np.asarray(index, dtype=np.int64).ravel()
            bad = (pixels < 0) | (pixels >= 12 * 4**lay.order)
            if bad.any():
                raise MapError(f"PIXEL = {int(pixels[bad][0])}: a pixel of a map of NSIDE = {2**lay.order} is 0 to "
                               f"{12 * 4**lay.order - 1:,}")
        else:
            pixels = np.arange(self.seen, self.seen + values.size, dtype=np.int64)
        self.seen += values.size
        if lay.ordering == "RING":
            pixels = cdshealpix.from_ring(pixels.astype(np.uint64), lay.order).astype(np.int64)
        density = values
        if lay.column in PER_PIXEL:  # per pixel: per steradian, so that averaging keeps its meaning
            density = values / (4 * math.pi / (12 * 4**lay.order))
        self._draw(lay.order, pixels, density)
        if self.prob is not None:
            finite = np.isfinite(values)
            prob = values if lay.column in PER_PIXEL else values * (4 * math.pi / (12 * 4**lay.order))
            _add(self.prob, pixels[finite] >> (2 * (lay.order - self.area_order)), prob[finite])

    def _draw(self, order: int, pixels: Any, values: Any) -> None:
        import numpy as np

        finite = np.isfinite(values)
        pixels, values = pixels[finite], values[finite]
        if order >= DISPLAY_ORDER:
            weight = 4.0 ** (DISPLAY_ORDER - order)
            parents = pixels >> (2 * (order - DISPLAY_ORDER))
            _add(self.sums, parents, values * weight)
            _add(self.weights, parents, np.full(values.size, weight))
        else:  # a coarse pixel covers 4**d display pixels
            d = 2 * (DISPLAY_ORDER - order)
            children = ((pixels << d)[:, None] + np.arange(1 << d)[None, :]).ravel()
            _add(self.sums, children, np.repeat(values, 1 << d))
            _add(self.weights, children, np.ones(children.size))

    def values(self):
        """The drawn column averaged at :data:`DISPLAY_ORDER` (NaN where the map has no value); a probability
        map's per square degree."""
        import numpy as np

        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(self.weights > 0, self.sums / self.weights, np.nan)
        return mean / _DEG2_PER_SR if self.layout.probability else mean

    def credible_area(self, level: float = 0.9) -> dict[str, Any] | None:
        """The area (deg²) of the smallest region holding probability ``level`` (None for a map that is not of
        probability), with the map's total probability and the nside it was worked out at (None: exact). Once:
        a flat map's probabilities are sorted in place."""
        import numpy as np

        if self.prob is None:
            return None
        if self.area_order is None:
            if not self.prob:
                return None
            prob = np.concatenate([p for p, _ in self.prob])
            area = np.concatenate([a for _, a in self.prob])
            finite = np.isfinite(prob)
            prob, area = prob[finite], area[finite]
            order = np.argsort(-prob, kind="stable")  # PROBDENSITY: densest first
            cum_p = np.r_[0.0, np.cumsum((prob * area)[order])]
            cum_a = np.r_[0.0, np.cumsum(area[order])]
            total = self._total(float(cum_p[-1]))
            area = float(np.interp(level * whole(total), cum_p, cum_a))
        else:  # pixels of one size: the most probable are the densest. In place: the array is the map's largest
            prob = self.prob
            prob *= -1
            prob.sort()  # most probable first (negated)
            np.cumsum(prob, out=prob)
            total = self._total(-float(prob[-1]))
            held = level * whole(total)
            taken = int(np.count_nonzero(prob > -held))  # whole pixels inside the region
            before = -float(prob[taken - 1]) if taken else 0.0
            last = -float(prob[taken]) - before if taken < prob.size else 0.0
            area = (taken + ((held - before) / last if last > 0 else 0.0)) * (4 * math.pi / prob.size)
            self.prob = None  # spent
        return {"level": level, "area": area * _DEG2_PER_SR, "total": total,
                "nside": None if self.area_order is None else 2**self.area_order}

    def _total(self, total: float) -> float:
        if not total > 0:
            raise MapError(f"the map's {self.layout.column} column sums to {total:g}: no credible region")
        return total

    def picture(self, scaling) -> tuple[bytes, list[float]]:
        """The Mollweide PNG (RGBA; off the sphere transparent, pixels without a value grey) and the values its
        colours run between: a probability map linear from 0 to its densest pixel, with the outlines of its
        :data:`CONTOURS` credible regions (a region's pixels that touch a pixel outside it or the sphere's edge),
        another with ``scaling`` (the FITS viewer's stretch: an astropy.visualization interval and curve)."""
        import numpy as np
        from matplotlib import colormaps
        from PIL import Image

        values = self.values()
        ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
        lon, lat = mollweide_lonlat(xs, ys, self.layout.centre)
        sphere = np.isfinite(lon)
        drawn = np.full(lon.shape, np.nan)
        at = _nested(lon[sphere], lat[sphere], DISPLAY_ORDER)
        drawn[sphere] = values[at]
        finite = np.isfinite(drawn)
        low = high = float("nan")
        scaled = np.zeros(drawn.shape)
        if finite.any():
            if self.layout.probability:
                low, high = 0.0, float(np.nanmax(values))
                curve = None
            else:
                interval, curve = scaling
                low, high = (float(v) for v in interval.get_limits(values[np.isfinite(values)]))
            if high > low:
                scaled = np.clip((np.where(finite, drawn, low) - low) / (high - low), 0, 1)
                if curve is not None:
                    scaled = np.asarray(curve(scaled), dtype=np.float64)
        rgba = np.round(colormaps["inferno"](scaled) * 255).astype(np.uint8)
        rgba[~finite] = (128, 128, 128, 255)
        if self.layout.probability and finite.any():
            levels = np.full(lon.shape, np.inf)
            levels[sphere] = credible_levels(values * (_DEG2_PER_SR * 4 * math.pi / values.size))[at]
            for level, colour in reversed(CONTOURS):  # the wider first: a narrower one's outline is never broken
                rgba[outline(levels <= level)] = (*colour, 255)
        rgba[~sphere] = (0, 0, 0, 0)
        out = io.BytesIO()
        Image.fromarray(rgba, mode="RGBA").save(out, format="PNG")
        return out.getvalue(), [low, high]


def whole(total: float) -> float:
    """The probability a credible level is a fraction of, for a map whose probabilities sum to ``total``: 1 when
    ``total`` is 1 within :data:`TOLERANCE` (as ligo.skymap and platform_lib.skymap read a map), else ``total``."""
    return 1.0 if abs(total - 1.0) <= TOLERANCE else total


def credible_levels(probability: Any):
    """Each pixel's greedy credible level (as ligo.skymap's ``find_greedy_credible_levels``): the probability in
    the pixels at least as probable, of :func:`whole` of the map's total, for pixels of one size
    (``probability`` per pixel: NaN where none)."""
    import numpy as np

    probability = np.nan_to_num(np.asarray(probability, dtype=np.float64), nan=0.0)
    order = np.argsort(-probability, kind="stable")
    cumulative = np.cumsum(probability[order])
    levels = np.empty(probability.size)
    levels[order] = cumulative / whole(float(cumulative[-1])) if cumulative[-1] > 0 else 1.0
    return levels


def outline(inside: Any):
    """The pixels of a region (boolean picture) that touch one outside it (left, right, up, down) or the edge."""
    import numpy as np

    padded = np.pad(inside, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return inside & ~interior


def _add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` with repeats counted, over the span the indices cover (a chunk of a NESTED map's
    rows is one run of pixels, so its span is small)."""
    import numpy as np

    if index.size == 0:
        return
    low, high = int(index.min()), int(index.max())
    target[low:high + 1] += np.bincount(index - low, weights=values, minlength=high - low + 1)
