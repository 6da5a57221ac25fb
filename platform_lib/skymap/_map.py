"""A HEALPix probability sky map, flat or multi-order, as LIGO/Virgo/KAGRA alerts publish them.

This module owns reading sky maps (FITS, with astropy), holding them in one multi-order form, looking
up the pixel under a position (cdshealpix), credible levels and areas, and writing them back (flat or
multi-order). It imports numpy, astropy, cdshealpix (and mocpy for :meth:`SkyMap.credible_moc`).

Conventions follow ligo.skymap (Singer et al. 2016, ApJS 226, 10; the LVK user guide):

* multi-order (``ORDERING = NUNIQ``): columns ``UNIQ`` (``4 * 4**order + ipix``, nested),
  ``PROBDENSITY`` (per steradian) and, for 3-D maps, ``DISTMU``, ``DISTSIGMA`` (Mpc) and
  ``DISTNORM`` (Mpc^-2);
* flat (``ORDERING = NESTED`` or ``RING``, ``NSIDE``): column ``PROB`` (probability per pixel) and the
  same distance columns, one row per pixel (or healpy's 1024-element rows).

Whatever the input, a :class:`SkyMap` holds ``uniq``/``order``/``ipix``, ``probdensity`` (sr^-1) and
the optional distance layers, one entry per pixel. A flat map is read into its exact multi-order form
(as ligo.skymap's ``bayestar.derasterize``): four sibling pixels whose values are all bit-identical are
one pixel of the parent order, recursively. Public alert maps are flattened from multi-order maps, so
this is lossless and small: the 12.6-million-pixel nside-1024 map of S190814bv is 16,896 pixels.
The map caches what depends only on it (the order of its pixels by density, credible levels, the
pixel lookup), so repeated questions to one map object cost no new sort.
"""

from __future__ import annotations

import gzip
import io
import os
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table

from platform_lib.atomic import atomic_path, write_atomic
from platform_lib.fitsfiles import compress_as_named, fits_media_type
from platform_lib.skymap._errors import SkymapError, SkymapFormatError, SkymapNotNormalizedError, SkymapWarning

__all__ = ["SkyMap", "VolumeGrid", "credible_level", "read_skymap", "uniq_to_order_ipix"]

DISTANCE_COLUMNS = ("DISTMU", "DISTSIGMA", "DISTNORM")
DISTANCE_COLUMNS_ATTRS = tuple(c.lower() for c in DISTANCE_COLUMNS)
MAX_ORDER = 29
#: Allowed ``|sum of probabilities - 1|`` of a map before it counts as not normalised.
NORMALIZATION_TOLERANCE = 1e-3


def credible_level(value: Any, name: str = "level") -> float:
    """``value`` as a credible level, a number in (0, 1]; anything else (text, None, NaN, 2, a list) is a
    :class:`SkymapError` naming the argument ``name``, not an error from a comparison deep inside numpy."""
    number = value if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)) else None
    if number is None or not 0 < number <= 1:
        raise SkymapError(f"{name} must be a credible level, a number in (0, 1] such as 0.9, got {value!r}",
                          code="bad-level", value=value)
    return float(number)


def uniq_to_order_ipix(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split NUNIQ indices into (order, nested ipix): ``uniq = 4 * 4**order + ipix``."""
    uniq = np.asarray(uniq, dtype=np.int64)
    if uniq.size and (uniq.min() < 4):
        raise SkymapFormatError(
            f"UNIQ values must be >= 4 (uniq = 4 * 4**order + ipix), got {uniq.min()}", code="bad-uniq"
        )
    with np.errstate(divide="ignore"):
        order = ((np.floor(np.log2(uniq.astype(np.float64))).astype(np.int64) - 2) // 2).clip(0, MAX_ORDER)
    # float log2 can round up just below a power of two: correct by one either way, exactly.
    base = np.left_shift(np.int64(1), 2 * order + 2)
    order = np.where(base > uniq, order - 1, order)
    base = np.left_shift(np.int64(1), 2 * order + 2)
    nxt = np.left_shift(np.int64(1), np.minimum(2 * order + 4, 62))
    order = np.where((uniq >= nxt) & (order < MAX_ORDER), order + 1, order)
    base = np.left_shift(np.int64(1), 2 * order + 2)
    return order, uniq - base


@dataclass
class VolumeGrid:
    """3-D credible levels of a sky map on a (pixel, distance shell) grid (:meth:`SkyMap.volume_grid`)."""

    pixels: np.ndarray
    r_edges: np.ndarray
    level: np.ndarray
    cum_p: np.ndarray
    cum_v: np.ndarray
    n_map: int

    def levels_at(self, pixel_index: np.ndarray, distance_mpc: np.ndarray) -> np.ndarray:
        """The 3-D credible level at each (map pixel index, distance); 1 outside the grid."""
        slot = np.full(self.n_map, -1, dtype=np.intp)
        slot[self.pixels] = np.arange(self.pixels.size)
        row = np.where(pixel_index >= 0, slot[np.maximum(pixel_index, 0)], -1)
        col = np.searchsorted(self.r_edges, distance_mpc, side="right") - 1
        inside = (row >= 0) & (col >= 0) & (col < self.level.shape[1])
        return np.where(inside, self.level[np.maximum(row, 0), np.clip(col, 0, self.level.shape[1] - 1)], 1.0)

    def volume(self, level: float) -> u.Quantity:
        """The volume of the ``level`` credible region (Mpc^3), interpolated like ligo.skymap."""
        return float(np.interp(level, self.cum_p, self.cum_v, left=0, right=np.inf)) * u.Mpc**3


@dataclass
class SkyMap:
    """A probability sky map in multi-order form (one entry per pixel, any mix of orders).

    Attributes
    ----------
    uniq
        NUNIQ pixel indices (int64).
    probdensity
        Probability per steradian in each pixel.
    distmu, distsigma, distnorm
        ligo.skymap distance layers (Mpc, Mpc, Mpc^-2) or ``None`` for a 2-D map. Pixels without
        distance information carry ``DISTMU = inf, DISTNORM = 0``.
    meta
        The FITS header cards of the map (``OBJECT``, ``DATE-OBS``, ...).
    """

    uniq: np.ndarray
    probdensity: np.ndarray
    distmu: np.ndarray | None = None
    distsigma: np.ndarray | None = None
    distnorm: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        layers = {"uniq": np.int64, "probdensity": np.float64}
        layers.update({name: np.float64 for name in DISTANCE_COLUMNS_ATTRS if getattr(self, name) is not None})
        for name, dtype in layers.items():
            try:
                setattr(self, name, np.asarray(getattr(self, name), dtype=dtype))
            except (TypeError, ValueError) as exc:
                raise SkymapError(f"{name} must be an array of numbers, one per pixel, got "
                                  f"{type(getattr(self, name)).__name__}: {exc}", code="bad-layer") from exc
        shapes = {name: getattr(self, name).shape for name in layers}
        if len(set(shapes.values())) != 1 or self.uniq.ndim != 1:
            raise SkymapError("uniq, probdensity (and the distance layers) must be 1-D arrays of one length, "
                              "one entry per pixel, got shapes " + ", ".join(f"{k} {v}" for k, v in shapes.items()),
                              code="bad-layer", value=shapes)
        self.order, self.ipix = uniq_to_order_ipix(self.uniq)
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._reset_caches()

    def _reset_caches(self) -> None:
        """Forget what was worked out from ``probdensity`` (after it is replaced, as by normalising)."""
        self._by_density: tuple[np.ndarray, np.ndarray] | None = None
        self._levels: np.ndarray | None = None
        self._searched: np.ndarray | None = None
        self._volume: tuple[tuple, tuple, VolumeGrid] | None = None

    # -- basic properties -----------------------------------------------------------------------

    @property
    def has_distance(self) -> bool:
        """Whether the map carries the 3-D distance layers."""
        return self.distmu is not None

    @property
    def max_order(self) -> int:
        return int(self.order.max()) if self.order.size else 0

    @property
    def pixel_area(self) -> np.ndarray:
        """Area of each pixel in steradian."""
        return 4 * np.pi / (12.0 * 4.0 ** self.order.astype(np.float64))

    @property
    def probability(self) -> np.ndarray:
        """Probability contained in each pixel."""
        return self.probdensity * self.pixel_area

    @property
    def total_probability(self) -> float:
        return float(self.probability.sum())

    # -- lookups --------------------------------------------------------------------------------

    def pixel_index(self, lon: u.Quantity, lat: u.Quantity) -> np.ndarray:
        """Index (into this map's arrays) of the pixel containing each position; -1 outside the map."""
        import cdshealpix.nested as hp

        if self._sorted is None:
            shift = 2 * (self.max_order - self.order)
            start = np.left_shift(self.ipix, shift)
            stop = np.left_shift(self.ipix + 1, shift)
            srt = np.argsort(start, kind="stable")
            self._sorted = (start[srt], stop[srt], srt)
        start, stop, srt = self._sorted
        lon = u.Quantity(lon, u.deg).ravel()
        lat = u.Quantity(lat, u.deg).ravel()
        if lon.size == 0:
            return np.empty(0, np.intp)
        cell = hp.lonlat_to_healpix(lon.to(u.deg) % (360 * u.deg), lat, self.max_order)
        k = np.searchsorted(start, cell, side="right") - 1
        inside = (k >= 0) & (cell < stop[np.maximum(k, 0)])
        return np.where(inside, srt[np.maximum(k, 0)], -1)

    # -- credible regions -----------------------------------------------------------------------

    def _density_order(self) -> tuple[np.ndarray, np.ndarray]:
        """The pixels densest first (a stable sort, done once per map) and, in that order, the index
        of the last pixel of each one's run of equal densities."""
        if self._by_density is None:
            order = np.argsort(-self.probdensity, kind="stable")
            dens = self.probdensity[order]
            change = dens[1:] != dens[:-1]
            run_end = np.r_[np.flatnonzero(change), dens.size - 1]
            run_id = np.r_[0, np.cumsum(change)]
            self._by_density = (order, run_end[run_id])
        return self._by_density

    def _cumulative_by_density(self, values: np.ndarray) -> np.ndarray:
        """Per pixel, the sum of ``values`` over every pixel at least as dense (ties count together,
        so the answer does not depend on the order the pixels are stored in)."""
        order, last_of_run = self._density_order()
        cum = np.cumsum(values[order])
        out = np.empty_like(cum)
        out[order] = cum[last_of_run]
        return out

    def credible_levels(self) -> np.ndarray:
        """Per pixel, the probability of the smallest region (highest density first) that includes it.

        A position is inside the ``p`` credible region when its pixel's level is <= ``p``
        (ligo.skymap's ``searched_prob``; pixels of equal density enter together).
        """
        if self._levels is None:
            self._levels = self._cumulative_by_density(self.probability)
        return self._levels

    def searched_area(self) -> np.ndarray:
        """Per pixel, the area (deg^2) of the smallest region (highest density first) that includes it."""
        if self._searched is None:
            self._searched = self._cumulative_by_density(self.pixel_area) * (180 / np.pi) ** 2
        return self._searched

    def credible_area(self, level: float) -> u.Quantity:
        """Area of the smallest region holding probability ``level`` (deg^2), interpolated as
        ligo.skymap's ``contour_areas``.

        Pixels enter densest first; within a pixel the density is constant, so the area grows
        linearly with the probability taken from it. A level below the densest pixel's probability
        is thus ``level / density`` (a part of that pixel), not 0.
        """
        level = credible_level(level)
        order = self._density_order()[0]
        prob = np.r_[0.0, np.cumsum(self.probability[order])]
        area = np.r_[0.0, np.cumsum(self.pixel_area[order])] * (180 / np.pi) ** 2
        return float(np.interp(level, prob, area, right=4 * 180**2 / np.pi)) * u.deg**2

    def volume_grid(
        self,
        *,
        n_r: int = 400,
        max_r: float | None = None,
        reach: float = 0.0,
        coverage: float = 0.9999,
        max_voxels: int = 5_000_000,
    ) -> VolumeGrid:
        """3-D credible levels on a (pixel, distance) grid, as ligo.skymap's ``crossmatch`` does.

        Voxels are the pixels holding the densest ``coverage`` of the 2-D probability times ``n_r``
        distance shells up to ``max_r`` Mpc (default 6x the posterior mean distance, extended to
        ``reach`` when that is farther, as ligo.skymap does for its targets). Each voxel's
        level is the probability of all voxels with a higher ``dP/dV``. Maps with many pixels get
        fewer shells (at most ``max_voxels`` voxels, at least 20 shells). Needs the distance layers.

        The last grid is kept on the map and given again while the grid's settings and the map's
        layers (the same arrays: replace them rather than change them in place) stay the same:
        building it is most of a 3-D :func:`match_skymap` (a second on a LIGO alert map), done once
        for a notebook's repeated matches against one map.
        """
        if not self.has_distance:
            raise SkymapError("the sky map has no DISTMU/DISTSIGMA/DISTNORM layers", code="no-distance-layers")
        keep = np.flatnonzero(self.credible_levels() <= coverage)
        if keep.size == 0:
            keep = np.array([int(np.argmax(self.probdensity))])
        mu, sigma, norm = self.distmu[keep], self.distsigma[keep], self.distnorm[keep]
        ok = np.isfinite(mu) & (norm > 0) & (sigma > 0)
        prob = self.probability[keep]
        if max_r is None:
            mean = float(np.sum(np.where(ok, prob * mu, 0.0)) / max(np.sum(np.where(ok, prob, 0.0)), 1e-300))
            max_r = 6 * max(mean, 1e-3) if "DISTMEAN" not in self.meta else 6 * float(self.meta["DISTMEAN"])
            max_r = max(max_r, reach)
        # bound memory (about 60 bytes per voxel): fewer distance shells for maps with many pixels
        n_r = int(np.clip(max_voxels // max(keep.size, 1), 20, n_r))
        key = (n_r, float(max_r), float(coverage))
        layers = (self.uniq, self.probdensity, self.distmu, self.distsigma, self.distnorm)
        if self._volume is not None and self._volume[0] == key and all(
                a is b for a, b in zip(self._volume[1], layers)):
            return self._volume[2]
        dr = max_r / n_r
        r = dr * (np.arange(n_r) + 0.5)
        area = self.pixel_area[keep]
        mu_, sig_, norm_ = (np.where(ok, x, v) for x, v in ((mu, 0.0), (sigma, 1.0), (norm, 0.0)))
        dens = (self.probdensity[keep] * norm_ / (np.sqrt(2 * np.pi) * sig_))[:, None] * np.exp(
            -0.5 * ((r[None, :] - mu_[:, None]) / sig_[:, None]) ** 2
        )
        dv = area[:, None] * (r[None, :] ** 2 + dr**2 / 12) * dr
        dp = dens * dv
        flat = np.argsort(-dens.ravel(), kind="stable")
        cum_p = np.cumsum(dp.ravel()[flat])
        cum_v = np.cumsum(dv.ravel()[flat])
        level = np.empty_like(cum_p)
        level[flat] = cum_p
        grid = VolumeGrid(pixels=keep, r_edges=dr * np.arange(n_r + 1), level=level.reshape(dens.shape),
                          cum_p=cum_p, cum_v=cum_v, n_map=self.uniq.size)
        self._volume = (key, layers, grid)
        return grid

    def credible_moc(self, level: float):
        """The ``level`` credible region as a :class:`mocpy.MOC` (pixels with level <= ``level``)."""
        from mocpy import MOC

        level = credible_level(level)
        sel = self.credible_levels() <= level
        if not sel.any():  # the densest pixel alone already holds more than `level`
            sel = self.credible_levels() == self.credible_levels().min()
            warnings.warn(
                f"no pixel of the sky map lies within the {level:g} credible region: the densest pixel alone holds "
                f"{float(self.credible_levels().min()):.3g}; the MOC is that pixel (use a higher level or a finer map)",
                SkymapWarning, stacklevel=2)
        return MOC.from_healpix_cells(self.ipix[sel], self.order[sel].astype(np.uint8), self.max_order)

    # -- conversions ----------------------------------------------------------------------------

    def to_table(self) -> Table:
        """The map as a multi-order astropy Table (``UNIQ``, ``PROBDENSITY`` [, distance layers])."""
        t = Table()
        t["UNIQ"] = self.uniq
        t["PROBDENSITY"] = self.probdensity * u.sr**-1
        if self.has_distance:
            t["DISTMU"] = self.distmu * u.Mpc
            t["DISTSIGMA"] = self.distsigma * u.Mpc
            t["DISTNORM"] = self.distnorm * u.Mpc**-2
        t.meta.update({k: v for k, v in self.meta.items() if k not in ("ORDERING", "NSIDE", "INDXSCHM")})
        t.meta["MOC"] = True
        t.meta["ORDERING"] = "NUNIQ"
        return t

    def flatten(self, order: int) -> SkyMap:
        """A single-order map at ``order``: finer pixels are averaged (probability is conserved,
        distance layers are probability-weighted averages of their moments' parameters), coarser
        pixels are split."""
        if not isinstance(order, (int, np.integer)) or isinstance(order, bool) or not 0 <= order <= MAX_ORDER:
            raise SkymapError(f"order must be a whole number in [0, {MAX_ORDER}], got {order!r}", code="bad-order",
                              value=order)
        npix = 12 * 4**order
        prob = np.zeros(npix)
        coarse = self.order <= order
        # Coarser (or equal) pixels: split into 4**d children carrying the same density.
        d = (order - self.order[coarse]).astype(np.int64)
        counts = np.left_shift(np.int64(1), 2 * d)
        parent = np.repeat(np.flatnonzero(coarse), counts)
        first = np.repeat(np.left_shift(self.ipix[coarse], 2 * d), counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        child = first + offs
        child_area = 4 * np.pi / npix
        prob_child = self.probdensity[parent] * child_area
        np.add.at(prob, child, prob_child)
        # Finer pixels: add their probability to the parent at `order`.
        fine = ~coarse
        fparent = np.right_shift(self.ipix[fine], 2 * (self.order[fine] - order))
        np.add.at(prob, fparent, self.probability[fine])
        out = SkyMap(
            uniq=4 * 4**order + np.arange(npix, dtype=np.int64),
            probdensity=prob / child_area,
            meta=dict(self.meta),
        )
        if self.has_distance:
            layers = []
            wsum = np.zeros(npix)
            np.add.at(wsum, child, prob_child)
            np.add.at(wsum, fparent, self.probability[fine])
            for arr in (self.distmu, self.distsigma, self.distnorm):
                acc = np.zeros(npix)
                vals_c = np.where(np.isfinite(arr[parent]), arr[parent], 0.0)
                vals_f = np.where(np.isfinite(arr[fine]), arr[fine], 0.0)
                np.add.at(acc, child, vals_c * prob_child)
                np.add.at(acc, fparent, vals_f * self.probability[fine])
                with np.errstate(invalid="ignore", divide="ignore"):
                    layers.append(np.where(wsum > 0, acc / wsum, np.nan))
            mu, sigma, norm = layers
            missing = ~np.isfinite(mu) | (norm <= 0)
            out.distmu = np.where(missing, np.inf, mu)
            out.distsigma = np.where(missing, 1.0, sigma)
            out.distnorm = np.where(missing, 0.0, norm)
        return out

    def write(self, path: str | os.PathLike, *, flat: bool = False, ordering: str = "NESTED") -> None:
        """Write the map as FITS: multi-order (default) or, with ``flat=True``, single-order with a
        ``PROB`` column in ``NESTED`` or ``RING`` ordering (the map must already be single-order:
        see :meth:`flatten`), compressed as the name says (``.fits.gz``, ``.fits.bz2``, ``.fits.xz``). The write is
        atomic (temporary file, then rename)."""
        path = os.fspath(path)
        if flat:
            orders = np.unique(self.order)
            if orders.size != 1 or self.uniq.size != 12 * 4 ** int(orders[0]):
                raise SkymapError("a flat map needs every pixel at one order: call flatten(order) first",
                                  code="not-single-order")
            order = int(orders[0])
            srt = np.argsort(self.ipix)
            cols = {"PROB": self.probability[srt]}
            if self.has_distance:
                cols.update(DISTMU=self.distmu[srt], DISTSIGMA=self.distsigma[srt], DISTNORM=self.distnorm[srt])
            if ordering.upper() == "RING":
                import cdshealpix

                ring = cdshealpix.to_ring(self.ipix[srt].astype(np.uint64), order)
                inv = np.argsort(ring)
                cols = {k: v[inv] for k, v in cols.items()}
            elif ordering.upper() != "NESTED":
                raise SkymapError(f"ordering must be NESTED or RING, got {ordering!r}", code="bad-ordering")
            t = Table(cols)
            t["PROB"].unit = u.pix**-1
            if self.has_distance:
                t["DISTMU"].unit, t["DISTSIGMA"].unit, t["DISTNORM"].unit = u.Mpc, u.Mpc, u.Mpc**-2
            hdu = fits.table_to_hdu(t)
            hdu.header["PIXTYPE"] = "HEALPIX"
            hdu.header["ORDERING"] = ordering.upper()
            hdu.header["NSIDE"] = 2**order
            hdu.header["INDXSCHM"] = "IMPLICIT"
            hdu.header["COORDSYS"] = "C"
        else:
            hdu = fits.table_to_hdu(self.to_table())
            hdu.header["PIXTYPE"] = "HEALPIX"
            hdu.header["INDXSCHM"] = "EXPLICIT"
            hdu.header["COORDSYS"] = "C"
            hdu.header["MOCORDER"] = self.max_order
        for key in ("OBJECT", "DATE-OBS", "MJD-OBS", "INSTRUME", "CREATOR", "DISTMEAN", "DISTSTD"):
            if key in self.meta:
                hdu.header[key] = self.meta[key]
        hdul = fits.HDUList([fits.PrimaryHDU(), hdu])
        if fits_media_type(path) in (None, "application/fits"):  # plain FITS (or another name): straight to disk
            with atomic_path(path) as tmp:
                hdul.writeto(tmp)
            return
        buf = io.BytesIO()  # map.fits.gz: gzip, as its readers expect (it was plain FITS under a .gz name)
        hdul.writeto(buf)
        try:
            data = compress_as_named(path, buf.getvalue())
        except ValueError as exc:  # .zip, .Z
            raise SkymapError(str(exc), code="bad-output") from None
        write_atomic(path, data)


_STRUCTURAL = ("XTENSION", "BITPIX", "PCOUNT", "GCOUNT", "TFIELDS", "HISTORY", "COMMENT", "EXTNAME", "EXTEND")
_STRUCTURAL_PREFIX = ("NAXIS", "TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDIM", "TDISP")


def _structural(key: str) -> bool:
    """FITS keywords that describe the table layout rather than the map (dropped from ``meta``)."""
    return key in _STRUCTURAL or key.startswith(_STRUCTURAL_PREFIX)


def _column(data: Any, names: list[str], name: str) -> np.ndarray:
    col = np.asarray(data[name], dtype=np.float64).ravel()
    return col


def _bit_columns(data: Any, names: list[str], records: np.ndarray | None = None) -> list[np.ndarray]:
    """The columns ``names`` as flat uint64 arrays of their values' bit patterns (as stored, whatever
    the byte order: only equality is asked of them); 8-byte float columns are viewed, not copied.

    When the FITS rows (``records``) hold nothing but 8-byte floats, one (rows, columns) view of them
    is returned instead: comparing whole contiguous rows is three times faster than strided columns.
    """
    if records is not None and records.dtype.names and records.flags.c_contiguous:
        fields = [records.dtype.fields[n][0] for n in records.dtype.names]
        if all(f.kind == "f" and f.itemsize == 8 and f.shape == () for f in fields) and \
                records.dtype.itemsize == 8 * len(fields) and records.ndim == 1:
            return [records.view(np.uint64).reshape(records.size, len(fields))]
    out = []
    for name in names:
        col = np.asarray(data[name])
        if col.dtype.kind != "f" or col.dtype.itemsize != 8:
            col = col.astype(np.float64)
        out.append(col.reshape(-1).view(np.uint64))
    return out


def read_skymap(
    source: str | os.PathLike | fits.HDUList | Table,
    *,
    normalize: bool = False,
    tolerance: float = NORMALIZATION_TOLERANCE,
) -> SkyMap:
    """Read a HEALPix probability sky map, flat or multi-order (LVK alert format).

    Parameters
    ----------
    source
        A FITS file path (``.fits`` or ``.fits.gz``), an open HDUList, or a Table in either layout.
    normalize
        When the probabilities do not sum to one within ``tolerance``: ``False`` (default) raises
        :class:`SkymapNotNormalizedError` saying what they sum to; ``True`` rescales them.
    tolerance
        Allowed ``|sum - 1|``.

    Examples
    --------
    >>> from pathlib import Path
    >>> from platform_lib import get_settings
    >>> from platform_lib.skymap import read_skymap
    >>> sample = Path(get_settings().datasets) / "skymaps" / "S190814bv_LALInference.v1.fits.gz"  # doctest: +SKIP
    >>> m = read_skymap(sample)                           # doctest: +SKIP
    >>> m.credible_area(0.9)                              # doctest: +SKIP
    <Quantity 23.08429631 deg2>
    """
    if not isinstance(source, (str, os.PathLike, fits.HDUList, Table)):
        raise TypeError(f"source must be a sky map's FITS file (a path: str or pathlib.Path), an HDUList or a "
                        f"Table, got {source!r} ({type(source).__name__})")
    if not (isinstance(tolerance, (int, float, np.floating, np.integer)) and 0 <= tolerance < 1):
        raise ValueError(f"tolerance must be a number from 0 to below 1 (the allowed |sum - 1| of the "
                         f"probabilities), got {tolerance!r}")
    header: dict[str, Any] = {}
    records = None
    if isinstance(source, Table):
        table = source
        header = dict(source.meta)
    else:
        close = False
        if isinstance(source, fits.HDUList):
            hdul = source
        else:
            hdul = _open_fits(source)
            close = True
        try:
            tables = [h for h in hdul if isinstance(h, fits.BinTableHDU)]
            if not tables:
                raise SkymapFormatError("the FITS file has no binary table extension: not a HEALPix sky map")
            hdu = tables[0]
            header = {k: hdu.header[k] for k in hdu.header if k and not _structural(k)}
            # the FITS columns themselves (Table(hdu.data) copied all 400 MB of a 12.6-million-pixel map)
            table = {name.upper(): hdu.data[name] for name in hdu.columns.names}
            records = np.asarray(hdu.data) if not any(
                c.bscale not in (None, 1) or c.bzero not in (None, 0) for c in hdu.columns) else None
        finally:
            if close:
                hdul.close()
    if isinstance(table, Table):
        table = {name.upper(): table[name] for name in table.colnames}
    names = list(table)
    ordering = str(header.get("ORDERING", "")).upper()

    if "UNIQ" in names or ordering == "NUNIQ":
        missing = [c for c in ("UNIQ", "PROBDENSITY") if c not in names]
        if missing:
            raise SkymapFormatError(
                f"multi-order sky map without column(s) {', '.join(missing)} (columns: {', '.join(names)})",
                code="missing-column",
                value=missing,
            )
        uniq = np.asarray(table["UNIQ"], dtype=np.int64).ravel()
        dens = _column(table, names, "PROBDENSITY")
        m = SkyMap(uniq=uniq, probdensity=dens, meta=header)
    else:
        prob_col = next((c for c in ("PROB", "PROBABILITY", "PROBDENSITY") if c in names), None)
        if prob_col is None:
            raise SkymapFormatError(
                f"sky map has neither UNIQ/PROBDENSITY (multi-order) nor PROB (flat) columns "
                f"(columns: {', '.join(names)})",
                code="missing-column",
                value=names,
            )
        npix = int(np.size(table[prob_col]))
        order = int(round(np.log2(npix / 12) / 2)) if npix >= 12 else -1
        if order < 0 or 12 * 4**order != npix:
            raise SkymapFormatError(f"a flat HEALPix map has 12 * 4**k pixels, this one has {npix}",
                                    code="bad-npix", value=npix)
        if "NSIDE" in header and int(header["NSIDE"]) != 2**order:
            raise SkymapFormatError(f"NSIDE = {header['NSIDE']} does not match {npix} pixels", code="bad-npix")
        if ordering not in ("NESTED", "RING"):
            raise SkymapFormatError(
                f"flat sky map with ORDERING = {ordering or '(missing)'}; expected NESTED or RING",
                code="bad-ordering",
                value=ordering,
            )
        _check_distance_columns(names)
        layers = [prob_col] + [c for c in DISTANCE_COLUMNS if c in names]
        keys = _bit_columns(table, layers, records)
        ring_rows = None
        if ordering == "RING":
            import cdshealpix

            ring_rows = cdshealpix.to_ring(np.arange(npix, dtype=np.uint64), order).astype(np.int64)
            keys = [k[ring_rows] for k in keys]  # in nested order
        uniq, rows = _flat_to_multiorder(order, keys)
        del keys
        if ring_rows is not None:
            rows = ring_rows[rows]
        area = 4 * np.pi / npix
        picked = {c: np.asarray(table[c]).reshape(-1)[rows].astype(np.float64) for c in layers}
        dens = picked[prob_col] / area if prob_col != "PROBDENSITY" else picked[prob_col]
        m = SkyMap(uniq=uniq, probdensity=dens, meta=header)
        if len(layers) > 1:
            m.distmu, m.distsigma, m.distnorm = (picked[c] for c in DISTANCE_COLUMNS)
        _validate(m, normalize=normalize, tolerance=tolerance)
        return m

    _check_distance_columns(names)
    if all(c in names for c in DISTANCE_COLUMNS):
        m.distmu, m.distsigma, m.distnorm = (_column(table, names, c) for c in DISTANCE_COLUMNS)

    _validate(m, normalize=normalize, tolerance=tolerance)
    return m


def _check_distance_columns(names: list[str]) -> None:
    present = [c for c in DISTANCE_COLUMNS if c in names]
    if present and len(present) != 3:
        raise SkymapFormatError(
            f"3-D sky map needs all of {', '.join(DISTANCE_COLUMNS)}; missing "
            f"{', '.join(c for c in DISTANCE_COLUMNS if c not in names)}",
            code="missing-column",
        )


def _open_fits(source: str | os.PathLike) -> fits.HDUList:
    """Open a FITS file (gzip-compressed or not) held whole in memory.

    A gzip file is inflated once, here (:func:`_inflate`), and parsed from the buffer: astropy's own reading of a
    ``.fits.gz`` inflates it in small pieces and took 5 s for the 400 MB of a nside-1024 map, this
    takes 1.5 s. Other compressions (bzip2, zip) are left to astropy.
    """
    path = os.fspath(source)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError as exc:
        raise SkymapError(f"no sky map file at {path!r}", code="not-found", value=path) from exc
    except OSError as exc:
        raise SkymapFormatError(f"{path!r} cannot be read: {exc}", value=path) from exc
    try:
        if raw[:2] == b"\x1f\x8b":
            header, rest = _inflate(raw)
            if header is not None:
                return fits.HDUList([fits.PrimaryHDU(header=header), *fits.HDUList.fromstring(rest)])
            return fits.HDUList.fromstring(rest)
        if raw[:6] == b"SIMPLE":
            return fits.HDUList.fromstring(raw)
        return fits.open(path, memmap=False)
    except (OSError, ValueError, EOFError, zlib.error) as exc:
        raise SkymapFormatError(f"{path!r} is not a FITS file: {exc}", value=path) from exc


def _inflate(raw: bytes) -> tuple[fits.Header | None, bytes]:
    """A gzip file inflated once: (its primary header, the bytes of the HDUs after it) where the primary HDU is a
    header alone (a sky map's), else (None, all its bytes). Further gzip members (bgzip's blocks, files joined by
    ``cat``) are inflated after the first; a file cut short is gzip's ``EOFError``.

    astropy's ``HDUList.fromstring`` keeps what follows each HDU it parses as a slice of the bytes, a copy: parsed
    with the primary header, the table of a nside-1024 map was copied (400 MB, 0.45 s of a 1.4 s read; twice the
    memory). Inflated apart, the table's bytes are parsed where they lie. Any other layout was inflated a second
    time, whole, once this had inflated it (all of it for a file of several members or cut short).
    """
    inflate = zlib.decompressobj(wbits=31)  # gzip, its CRC checked as it inflates
    blocks, data = [], raw
    while len(blocks) < 100 and not inflate.eof:  # a primary header of 100 blocks (3,600 cards) is no sky map's
        block = inflate.decompress(data, 2880)
        data = inflate.unconsumed_tail
        blocks.append(block)
        if len(block) < 2880 or not blocks[0].startswith(b"SIMPLE"):
            break
        if any(block[i:i + 80].rstrip() == b"END" for i in range(0, 2880, 80)):
            header = fits.Header.fromstring(b"".join(blocks))
            if header.get("NAXIS", 0) == 0:
                return header, _inflate_rest(inflate, data)
            break
    return None, b"".join((*blocks, _inflate_rest(inflate, data)))


def _inflate_rest(inflate, data: bytes) -> bytes:
    """What is left of a gzip file, ``inflate`` (a ``zlib.decompressobj``) having inflated its start and ``data``
    its bytes not yet read: the rest of its first member and any members after it (``gzip.decompress``'s rules)."""
    # once the first member has ended, zlib keeps what follows it in unused_data (and may leave it in
    # unconsumed_tail too: inflating that again would add it to unused_data a second time)
    rest = b"" if inflate.eof else inflate.decompress(data)
    if not inflate.eof:
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")  # gzip.decompress's words
    after = inflate.unused_data.lstrip(b"\x00")  # gzip's padding between members
    return b"".join((rest, gzip.decompress(after))) if after else rest


def _flat_to_multiorder(order: int, keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The exact multi-order form of a flat NESTED map (ligo.skymap's ``bayestar.derasterize``).

    ``keys`` are the map's columns (probability and distance layers) in nested order, as the bit
    patterns of their values (one per column, or one 2-D array of whole rows; any views: nothing is
    copied). Four siblings whose values are all
    identical, and which each cover their whole pixel, become their parent, level by level. Returns
    the NUNIQ index of each resulting pixel, in increasing order, and the flat pixel whose values it
    carries (its first: all those it stands for are equal).
    """
    whole = None  # per pixel of the current order: does it stand for all its flat pixels?
    uniq, first = [], []
    o = order
    while o > 0:
        groups = [k.reshape(-1, 4, *k.shape[1:]) for k in keys]
        merge = np.ones(groups[0].shape[0], dtype=bool)
        for g in groups:
            merge &= np.all(g[:, 1:] == g[:, :1], axis=tuple(range(1, g.ndim)))
        if whole is not None:
            merge &= whole.reshape(-1, 4).all(axis=1)
        keep = np.repeat(~merge, 4)
        if whole is not None:
            keep &= whole
        ipix = np.flatnonzero(keep)
        uniq.append(4 * 4**o + ipix)
        first.append(np.left_shift(ipix, 2 * (order - o)))
        if not merge.any():
            break
        keys, whole, o = [g[:, 0] for g in groups], merge, o - 1
    else:
        ipix = np.flatnonzero(whole) if whole is not None else np.arange(keys[0].size)
        uniq.append(4 + ipix)
        first.append(np.left_shift(ipix, 2 * order))
    uniq_all, first_all = np.concatenate(uniq).astype(np.int64), np.concatenate(first).astype(np.int64)
    srt = np.argsort(uniq_all)
    return uniq_all[srt], first_all[srt]


def _has_duplicates(uniq: np.ndarray) -> bool:
    """Whether a UNIQ value repeats: an O(n) pass when the pixels are in increasing order (a flat map, a
    multi-order map written sorted), else a sort (``np.unique`` took 13 s on a 12.6-million-pixel map)."""
    if uniq.size < 2 or bool(np.all(uniq[1:] > uniq[:-1])):
        return False
    ordered = np.sort(uniq)
    return bool(np.any(ordered[1:] == ordered[:-1]))


def _validate(m: SkyMap, *, normalize: bool, tolerance: float) -> None:
    dens = m.probdensity
    bad = ~np.isfinite(dens) | (dens < 0)
    if bad.any():
        raise SkymapError(
            f"{int(bad.sum())} pixel(s) have a NaN, infinite or negative probability "
            f"(first UNIQ {int(m.uniq[np.flatnonzero(bad)[0]])})",
            code="bad-probability",
            value=int(bad.sum()),
        )
    if _has_duplicates(m.uniq):
        raise SkymapFormatError("duplicate UNIQ pixels in the sky map", code="bad-uniq")
    total = m.total_probability
    if total <= 0:
        raise SkymapNotNormalizedError("the sky map holds no probability (all pixels are zero)", total=total)
    if abs(total - 1) > tolerance:
        if not normalize:
            raise SkymapNotNormalizedError(
                f"the sky map's probabilities sum to {total:.6g}, not 1 (tolerance {tolerance:g}); "
                "pass normalize=True to rescale them, or check the file (is PROB per pixel, "
                "PROBDENSITY per steradian?)",
                total=total,
            )
        m.probdensity = dens / total
        m._reset_caches()
