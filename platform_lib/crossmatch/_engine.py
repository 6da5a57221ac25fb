"""The in-memory pair-finding kernel: every pair of positions closer than a radius, exactly.

This module owns the numba kernel and nothing else: numpy arrays in, numpy arrays out, no tables,
no Dask (the per-partition algorithm and the Dask driver call it). It may import numpy, numba and
astropy.units only.

The algorithm is a grid form of the zones algorithm (Gray, Nieto-Santisteban & Szalay 2007):

1. **Plan.** One pass over each side finds the declination band and, from a coarse histogram, the
   right-ascension span the positions cover (it may cross RA = 0/360). The band is cut into
   declination zones at least one radius tall, and each zone into right-ascension cells of about
   equal area, about four right-hand points per cell where the points are uniform. Where the right
   points crowd (they see more than 4x the mean density: a cluster, the Galactic plane), the grid is
   planned again with cells sized for the density they see.
2. **Sort.** Both sides are bucketed by cell with a two-level parallel counting sort (coarse buckets
   first, so that the scattered writes stay cache friendly), and each cell is sorted by right
   ascension, so that each zone of either side is in right-ascension order.
3. **Sweep.** Each left point, in cell order, looks at the zones within one radius in declination
   and, in each, the right-ascension window ``asin(sin r / cos dec)`` (all of a zone near a pole; two
   pieces across the ends of the span). In its own zone a finger into the right rows, moving forward
   with the left points' RA, finds the window; elsewhere the cells it touches are looked up and
   narrowed by binary search where a cell range is long. Candidates are accepted on the exact
   haversine distance, so the pair set equals a brute-force comparison; the distances use each
   position's own RA, not its offset on the grid, so they do not depend on the grid (nor on the
   partition a pair is found in). All pairs
   take a counting sweep and a writing sweep (each left row's pairs in (separation, right row)
   order); the nearest neighbour (``k=1``) one sweep, with the best candidate kept in registers.
4. **Order.** The pairs come out in the left side's cell order; a partitioned counting sort (buckets of
   8192 left rows, then rows inside each bucket) puts them in left-row order with no random writes
   across the whole output.

Large arrays are allocated by numpy and passed in, not allocated inside the kernels: numpy asks the
kernel for transparent huge pages and numba's allocator does not, and with huge pages the scattered
writes of the sort cost fewer page faults and TLB misses. Inner loops call no function whose
compiled code counts references to the arrays it is given (``NRT_incref`` in ``inspect_asm()``):
numba then counts them on every call, with atomic instructions that the threads contend for. The
sweep's scan was such a call, once per left row, and took more than half of the sweep's time; it is
now written out in the sweep.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np
from astropy import units as u
from numba import get_num_threads, njit, prange, set_num_threads

__all__ = ["match_pairs", "prepare", "PreparedSide"]

_HALF_PI = math.pi / 2.0
_TWO_PI = 2.0 * math.pi
_PER_CELL = 4  # right-hand points per cell where the points are uniform
_RA_BINS = 4096  # histogram bins that find the right-ascension span
_RA_PAD = 1e-9  # the span's ends sit this far (radians) inside the empty bins around it
_BUCKET_SHIFT = 13  # pairs are ordered by left row in buckets of 2**13 rows
_MAX_ROWS = 2**31 - 1  # rows per side of one in-memory match: rows are numbered in int32 inside
_RECROWD = 4.0  # the grid is made again when the points see this many times the mean density
_LONG_RANGE = 16  # a cell range longer than this is narrowed to the window by binary search
# Widening of the right-ascension window (relative and absolute, radians): a candidate just inside
# the window is always tested on its exact distance, so a slightly wider window costs nothing.
_WINDOW_REL = 1e-9
_WINDOW_ABS = 1e-12
# What a sweep does for each left row.
_COUNT, _FILL, _NEAREST = 0, 1, 2
# A call that sorts fewer rows than this (both sides; the left side alone against a PreparedSide; the side
# prepare() sorts) runs its kernels on one thread (:func:`_threads_for`). bench/crossmatch_one_thread.py.
_ONE_THREAD_ROWS = 100_000


class _Grid(NamedTuple):
    """Zones and cells over the sky both sides cover, and the radius (all angles in radians)."""

    r: float
    sin_r: float
    hav_r: float  # haversine of the radius: the acceptance threshold
    dec0: float  # bottom of zone 0
    h: float  # zone height
    inv_h: float  # 1 / h (0 when the band has no height)
    nz: int
    ra0: float  # where cell 0 of every zone starts; cells are laid out in (ra - ra0) mod 2 pi
    span: float  # the right-ascension span of the cells from ra0
    zoff: np.ndarray  # first cell of each zone (nz + 1 entries)
    invw: np.ndarray  # cells per radian of right ascension, per zone


class _Side(NamedTuple):
    """One side sorted by cell: input row (int32), RA in [0, 2 pi) and declination (radians), cell starts.

    The RA stays as given (normalised), not shifted by ``ra0``: the distances then do not depend on
    the grid, so a pair's separation is the same whichever partition or call finds it.
    """

    perm: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    cell_start: np.ndarray  # the right side only (empty on the left)


@njit(cache=True, inline="always")
def _norm_ra(lon_deg):
    a = math.radians(lon_deg)
    if a < 0.0 or a >= _TWO_PI:
        a = a - _TWO_PI * math.floor(a / _TWO_PI)
        if a >= _TWO_PI:
            a = 0.0
    return a


@njit(cache=True, parallel=True)
def _extent(lon, lat, nthreads):
    """(rows not finite, lowest and highest latitude, occupied RA bins) of positions in degrees."""
    n = lon.shape[0]
    nchunk = max(1, min(nthreads * 2, n // 65536 + 1))
    step = (n + nchunk - 1) // nchunk
    occ = np.zeros((nchunk, _RA_BINS), dtype=np.bool_)
    lo = np.full(nchunk, np.inf)
    hi = np.full(nchunk, -np.inf)
    bad = np.zeros(nchunk, dtype=np.int64)
    scale = _RA_BINS / 360.0
    for c in prange(nchunk):
        lo_c = np.inf
        hi_c = -np.inf
        bad_c = 0
        for i in range(c * step, min(n, c * step + step)):
            a = lon[i]
            d = lat[i]
            if not (math.isfinite(a) and math.isfinite(d)):
                bad_c += 1
                continue
            lo_c = min(lo_c, d)
            hi_c = max(hi_c, d)
            if not 0.0 <= a < 360.0:
                a = math.degrees(_norm_ra(a))
            b = int(a * scale)
            occ[c, b if b < _RA_BINS else _RA_BINS - 1] = True
        lo[c] = lo_c
        hi[c] = hi_c
        bad[c] = bad_c
    occupied = np.zeros(_RA_BINS, dtype=np.bool_)
    for c in range(nchunk):
        for b in range(_RA_BINS):
            if occ[c, b]:
                occupied[b] = True
    return bad.sum(), lo.min(), hi.max(), occupied


def _ra_span(occupied: np.ndarray) -> tuple[float, float]:
    """(start, width) in radians of the shortest RA interval that holds every occupied bin."""
    nbins = occupied.size
    width = _TWO_PI / nbins
    idx = np.flatnonzero(occupied)
    if idx.size == 0 or idx.size == nbins:
        return 0.0, _TWO_PI
    gaps = np.diff(np.append(idx, idx[0] + nbins)) - 1  # empty bins after each occupied one
    widest = int(np.argmax(gaps))
    if gaps[widest] == 0:
        return 0.0, _TWO_PI
    first = idx[(widest + 1) % idx.size]
    start = (first * width - _RA_PAD) % _TWO_PI
    return start, (nbins - int(gaps[widest])) * width + 2 * _RA_PAD


def _plan_grid(r: float, dec_lo: float, dec_hi: float, occupied: np.ndarray, n_right: int,
               density: float = 0.0) -> _Grid:
    """The zones and cells for a radius over a declination band and RA histogram (radians).

    The cells are about as wide as :data:`_PER_CELL` right points take up: at the mean density over
    the band, or at ``density`` (points per steradian) where that is given and higher.
    """
    ra0, span = _ra_span(occupied)
    band = dec_hi - dec_lo
    area = span * (math.sin(dec_hi) - math.sin(dec_lo))
    cells = max(1, n_right // _PER_CELL)
    side = math.sqrt(area / cells) if area > 0 else 0.0
    if density > 0.0:
        side = min(side, math.sqrt(_PER_CELL / density))
    nz = max(1, min(int(band / max(r, side)), cells))
    h = band / nz
    bottoms = dec_lo + h * np.arange(nz)
    tops = np.append(bottoms[1:], dec_hi)
    if area > 0:
        per_zone = np.maximum(1, (span * (np.sin(tops) - np.sin(bottoms)) / area * cells).astype(np.int64))
    else:
        per_zone = np.ones(nz, dtype=np.int64)
    zoff = np.zeros(nz + 1, dtype=np.int64)
    np.cumsum(per_zone, out=zoff[1:])
    return _Grid(r, math.sin(r), math.sin(0.5 * r) ** 2, dec_lo, h, 1.0 / h if h > 0 else 0.0, nz,
                 ra0, span, zoff, per_zone / span)


@njit(cache=True, inline="always")
def _zone_of(dec, g):
    z = int((dec - g.dec0) * g.inv_h)
    if z < 0:
        return 0
    if z >= g.nz:
        return g.nz - 1
    return z


@njit(cache=True, inline="always")
def _cell_of(rel, dec, g):
    z = _zone_of(dec, g)
    first = g.zoff[z]
    c = int(rel * g.invw[z])
    last = g.zoff[z + 1] - first - 1
    return first + (c if c < last else last)


@njit(cache=True, inline="always")
def _rel(ra, ra0):
    """RA in [0, 2 pi) -> its offset from ``ra0`` in [0, 2 pi): the key of the cells and their order."""
    a = ra - ra0
    return a + _TWO_PI if a < 0.0 else a


@njit(cache=True)
def _merge_sort_by_ra(ra_s, dec_s, perm, s, e, ra0):
    """Sort rows [s, e) by (RA from ``ra0``, input row) with a stable merge sort (a crowded cell)."""
    m = e - s
    seg = ra_s[s:e].copy()
    key = np.empty(m)
    for a in range(m):
        key[a] = _rel(seg[a], ra0)
    order = np.argsort(key, kind="mergesort")
    segd = dec_s[s:e].copy()
    segp = perm[s:e].copy()
    for a in range(m):
        ra_s[s + a] = seg[order[a]]
        dec_s[s + a] = segd[order[a]]
        perm[s + a] = segp[order[a]]


@njit(cache=True, parallel=True)
def _grid_sort(lon, lat, g, nthreads, out, cell, cell_s):
    """Positions in degrees -> ``out`` (a _Side) sorted by cell and, inside each cell, by RA from ra0.

    Two-level counting sort: coarse buckets of cells first, so that the scattered writes stay
    cache friendly, then cells inside each bucket. The coarse bucket of a cell is a shift of it (an
    integer division per point cost more than the rest of its pass). ``out.cell_start`` (empty for
    the left side) gets the cell starts. ``cell`` and ``cell_s`` (int32, one per point) keep each
    point's cell, in input and in bucket order, so that it is computed once.
    """
    perm, ra_s, dec_s, cell_start = out
    index = cell_start.shape[0] > 0
    n = lon.shape[0]
    ncell = g.zoff[g.nz]
    nchunk = max(1, min(nthreads * 2, n // 65536 + 1))
    step = (n + nchunk - 1) // nchunk
    shift = 0
    while (ncell - 1) >> shift >= 512:
        shift += 1
    ncb = ((ncell - 1) >> shift) + 1
    counts = np.zeros((nchunk, ncb), dtype=np.int64)
    for c in prange(nchunk):
        for i in range(c * step, min(n, c * step + step)):
            q = _cell_of(_rel(_norm_ra(lon[i]), g.ra0), math.radians(lat[i]), g)
            cell[i] = q
            counts[c, q >> shift] += 1
    cb_start = np.empty(ncb + 1, dtype=np.int64)
    run = 0
    for b in range(ncb):
        cb_start[b] = run
        for c in range(nchunk):
            cnt = counts[c, b]
            counts[c, b] = run
            run += cnt
    cb_start[ncb] = run
    for c in prange(nchunk):
        for i in range(c * step, min(n, c * step + step)):
            q = cell[i]
            b = q >> shift
            p = counts[c, b]
            counts[c, b] = p + 1
            perm[p] = i
            ra_s[p] = _norm_ra(lon[i])
            dec_s[p] = math.radians(lat[i])
            cell_s[p] = q
    if index:
        cell_start[ncell] = n
    for b in prange(ncb):
        s = cb_start[b]
        e = cb_start[b + 1]
        c0 = b << shift
        nc = min(ncell, c0 + (1 << shift)) - c0
        cc = np.zeros(nc + 1, dtype=np.int64)  # cell q's rows: [s + cc[q], s + cc[q + 1])
        for i in range(s, e):
            cc[cell_s[i] - c0 + 1] += 1
        for q in range(nc):
            cc[q + 1] += cc[q]
        if index:
            for q in range(nc):
                cell_start[c0 + q] = s + cc[q]
        if e - s > 1 and nc > 1:
            tr = ra_s[s:e].copy()
            td = dec_s[s:e].copy()
            tp = perm[s:e].copy()
            nxt = cc[:nc].copy()
            for i in range(e - s):
                q = cell_s[s + i] - c0
                p = s + nxt[q]
                nxt[q] += 1
                ra_s[p] = tr[i]
                dec_s[p] = td[i]
                perm[p] = tp[i]
        # Each cell by (RA from ra0, input row): an insertion sort, written out here (a call per
        # cell would cost more than the sort); a crowded cell takes a merge sort.
        for q in range(nc):
            cs = s + cc[q]
            ce = s + cc[q + 1]
            if ce - cs > 24:
                _merge_sort_by_ra(ra_s, dec_s, perm, cs, ce, g.ra0)
                continue
            for a in range(cs + 1, ce):
                kr = ra_s[a]
                kk = _rel(kr, g.ra0)
                kp = perm[a]
                bb = a - 1
                kb = _rel(ra_s[bb], g.ra0)
                if kb < kk or (kb == kk and perm[bb] <= kp):
                    continue
                kd = dec_s[a]
                while True:
                    ra_s[bb + 1] = ra_s[bb]
                    dec_s[bb + 1] = dec_s[bb]
                    perm[bb + 1] = perm[bb]
                    bb -= 1
                    if bb < cs:
                        break
                    kb = _rel(ra_s[bb], g.ra0)
                    if kb < kk or (kb == kk and perm[bb] <= kp):
                        break
                ra_s[bb + 1] = kr
                dec_s[bb + 1] = kd
                perm[bb + 1] = kp


@njit(cache=True, parallel=True)
def _crowding(g, right):
    """The density (points per steradian) the right points see around themselves, weighted by points.

    A cell of ``c`` points counts ``c / area``; a crowded cell (more than 16 x :data:`_PER_CELL`) the
    density of the box that holds its middle 80 % in RA and in declination, so that a cluster much
    smaller than its cell is seen at its own density.
    """
    ra0 = g.ra0
    floor = (0.1 * g.r) ** 2  # no cell or box counts as smaller than this (steradians)
    total = 0.0
    for zz in prange(g.nz):
        lo = g.dec0 + zz * g.h
        strip = math.sin(min(lo + g.h, _HALF_PI)) - math.sin(max(lo, -_HALF_PI))
        for q in range(g.zoff[zz], g.zoff[zz + 1]):
            s = right.cell_start[q]
            c = right.cell_start[q + 1] - s
            if c == 0:
                continue
            dens = c / max(strip / g.invw[zz], floor)
            if c > 16 * _PER_CELL:
                lo_i = s + c // 10
                hi_i = s + c - 1 - c // 10
                dra = _rel(right.ra[hi_i], ra0) - _rel(right.ra[lo_i], ra0)
                dd = np.sort(right.dec[s:s + c])
                ddec = dd[c - 1 - c // 10] - dd[c // 10]
                box = dra * math.cos(dd[c // 2]) * ddec
                dens = max(dens, 0.64 * c / max(box, floor))
            total += c * dens
    return total / right.cell_start[-1]


def _sort_side(lon, lat, g: _Grid, index: bool, nthreads: int, scratch: tuple | None = None) -> _Side:
    """One side sorted on the grid; ``scratch``: two int32 arrays at least as long, for the cells."""
    n = lon.shape[0]
    if scratch is None:
        scratch = (np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32))
    out = _Side(np.empty(n, dtype=np.int32), np.empty(n), np.empty(n),
                np.empty(int(g.zoff[-1]) + 1 if index else 0, dtype=np.int64))
    # Cells are numbered in int32: a grid has at most one cell per two right points.
    if g.zoff[-1] >= 2**31:
        raise ValueError(f"too many right-hand rows for one in-memory match ({int(g.zoff[-1])} cells)")
    _grid_sort(lon, lat, g, nthreads, out, scratch[0][:n], scratch[1][:n])
    return out


def _grid_and_right(r: float, ext1: tuple, ext2: tuple, lon2, lat2, nthreads: int,
                    scratch: tuple | None = None) -> tuple[_Grid, _Side]:
    """The grid over both sides' extents, and the right side sorted on it.

    Clustered right points (a galaxy cluster, the Galactic plane) crowd a few cells of a grid made for
    the mean density: where they see more than :data:`_RECROWD` times it, the grid is planned again for
    the density they see, at the cost of one more sort of the right side. A band with no area has one
    cell per zone whatever the density, so it is never planned again. ``scratch``: as for
    :func:`_sort_side` (new arrays if None).
    """
    dec_lo, dec_hi = min(ext1[0], ext2[0]), max(ext1[1], ext2[1])
    plan = (r, dec_lo, dec_hi, ext1[2] | ext2[2], lon2.size)
    grid = _plan_grid(*plan)
    right = _sort_side(lon2, lat2, grid, True, nthreads, scratch)
    area = grid.span * (math.sin(dec_hi) - math.sin(dec_lo))
    if area > 0:
        crowding = _crowding(grid, right)
        if crowding > _RECROWD * lon2.size / area:
            grid = _plan_grid(*plan, density=crowding)
            right = _sort_side(lon2, lat2, grid, True, nthreads, scratch)
    return grid, right


@njit(cache=True)
def _zone_window(z, g):
    """The RA half-width covering every left point of zone ``z`` (``pi``: the whole zone)."""
    lo = g.dec0 + z * g.h
    top = max(abs(lo), abs(lo + g.h))
    if top + g.r >= _HALF_PI:
        return math.pi
    q = g.sin_r / math.cos(top)
    if q >= 1.0:
        return math.pi
    return min(math.pi, math.asin(q) * (1.0 + _WINDOW_REL) + _WINDOW_ABS)


@njit(cache=True)
def _narrow(ra, a, b, x_lo, x_hi, ra0, always):
    """Rows [a, b) (in order of RA from ``ra0``) cut to that key in [x_lo, x_hi] when the range is long.

    The binary searches are written out here, not called: numba then takes no reference count of
    ``ra`` per call (see :func:`_pieces`).
    """
    if always or b - a > _LONG_RANGE:
        e = b
        while a < e:  # first row with key >= x_lo
            mid = (a + e) >> 1
            if _rel(ra[mid], ra0) < x_lo:
                a = mid + 1
            else:
                e = mid
        s = a
        while s < b:  # first row with key > x_hi
            mid = (s + b) >> 1
            if _rel(ra[mid], ra0) <= x_hi:
                s = mid + 1
            else:
                b = mid
    return a, b


@njit(cache=True, inline="always")
def _wraps_low(lo, span):
    """Whether a window starting at ``lo`` (RA from ra0) also reaches the span's far end."""
    return lo < 0.0 and lo + _TWO_PI < span


@njit(cache=True)
def _pieces(rel1, dalpha, z0, nc, iw, span, ra0, cs, ra):
    """The right rows of a zone inside a window around RA ``rel1``: two ranges (the second may be empty).

    The zone's cells are ``z0 .. z0 + nc - 1``, ``iw`` cells per radian; ``cs`` holds the cell starts
    and ``ra`` the right side's RA. The branches only choose cells and keys, and both ranges are then
    cut unconditionally: numba takes an (atomic) reference count of every array passed to a call
    inside a branch, which in this inner loop cost more than the search itself.
    """
    ca = 0
    cb = nc - 1
    lo = -1.0  # keys lie in [0, 2 pi)
    hi = 7.0
    wa = 0  # the second range's cells, [wa, wb]: empty unless the window wraps
    wb = -1
    w_lo = 0.0
    w_hi = 0.0
    overlap = False
    if dalpha < math.pi:
        lo = rel1 - dalpha
        hi = rel1 + dalpha
        ca = min(int(max(lo, 0.0) * iw), nc - 1)
        cb = min(int(min(hi, span) * iw), nc - 1)
        # The window may also reach the other end of the span (RA from ra0 wraps at 2 pi): cells
        # [wa, nc) when it starts below 0, [0, wb] when it ends above 2 pi. Where those cells overlap
        # the main ones, both ranges are cut by binary search, so that no row is scanned twice.
        if _wraps_low(lo, span):
            w_lo = lo + _TWO_PI
            w_hi = _TWO_PI
            wa = min(int(w_lo * iw), nc - 1)
            wb = nc - 1
            overlap = wa <= cb
        elif hi >= _TWO_PI:
            w_lo = -1.0
            w_hi = hi - _TWO_PI
            wb = min(int(w_hi * iw), nc - 1)
            overlap = wb >= ca
    a, b = _narrow(ra, cs[z0 + ca], cs[z0 + cb + 1], lo, hi, ra0, overlap)
    a1, b1 = _narrow(ra, cs[z0 + wa], cs[z0 + wb + 1], w_lo, w_hi, ra0, overlap)
    return a, b, a1, b1


@njit(cache=True, inline="always")
def _half_sin(x):
    """sin(x / 2): a short series where x is small (exact to the last bit there), the library otherwise."""
    y = 0.5 * x
    if -1e-3 < y < 1e-3:
        y2 = y * y
        return y * (1.0 - y2 * (1.0 / 6.0) * (1.0 - y2 * (1.0 / 20.0)))
    return math.sin(y)


@njit(cache=True)
def _sweep(bi, j0, j1, mode, k, g, left, right, counts, offsets, bcount, o_i1, o_i2, o_hav):
    """Left rows [j0, j1) (block ``bi``), in cell order: count, write or keep the nearest of their pairs.

    _COUNT: ``counts[j]`` (at most ``k`` when k > 0). _FILL: each row's pairs at ``offsets[j]``.
    _NEAREST: matched rows packed from ``j0`` on; returns how many. Written pairs are tallied per
    bucket of left rows in ``bcount[bi]``.

    In its own zone a left row's window is found by a finger into the zone's right rows (in RA
    order): the left rows come in RA order too, so the finger only moves forward, a row or two per
    left row. (It also moves back, so any order of left rows is correct, only slower.) The other
    zones within one radius, a window across the ends of the span and a zone at a pole take the
    cells (:func:`_pieces`). Arrays are bound to names here, once, and the scan is written out,
    not called: numba counts references (atomic operations) where an inner loop binds arrays or
    calls a function that does.
    """
    cs = right.cell_start
    ra2 = right.ra
    dec2 = right.dec
    perm2 = right.perm
    ra0 = g.ra0
    r = g.r
    hav_r = g.hav_r
    lastz = -1
    dalpha = 0.0
    zs = 0  # the current zone's right rows [zs, ze), and the finger into them
    ze = 0
    p = 0
    w = j0
    for j in range(j0, j1):
        ra1 = left.ra[j]
        rel1 = _rel(ra1, ra0)
        dec1 = left.dec[j]
        z = _zone_of(dec1, g)
        if z != lastz:
            dalpha = _zone_window(z, g)
            lastz = z
            zs = cs[g.zoff[z]]
            ze = cs[g.zoff[z + 1]]
            p = zs
        base = 0
        cap = 0
        if mode == _FILL:
            cap = counts[j]
            if cap == 0:
                continue
            base = offsets[j]
        found = 0
        cd1 = -1.0
        best = -1
        bh = 0.0
        lo = rel1 - dalpha
        hi = rel1 + dalpha
        for zz in range(_zone_of(dec1 - r, g), _zone_of(dec1 + r, g) + 1):
            if zz == z and dalpha < math.pi and hi < _TWO_PI and not _wraps_low(lo, g.span):
                # The window does not wrap: the rows from the first with RA >= lo up to RA > hi.
                while p > zs and _rel(ra2[p - 1], ra0) >= lo:
                    p -= 1
                while p < ze and _rel(ra2[p], ra0) < lo:
                    p += 1
                a0, b0, a1, b1 = p, ze, 0, 0
                stop = hi
            else:
                z0 = g.zoff[zz]
                a0, b0, a1, b1 = _pieces(rel1, dalpha, z0, g.zoff[zz + 1] - z0, g.invw[zz], g.span, ra0, cs, ra2)
                stop = _TWO_PI
            # The scan, written out (a call would count references to its arrays, atomically, per left
            # row): rows [a0, b0) then [a1, b1), up to the first with RA from ra0 above ``stop``.
            for m in range(a0, b0 + b1 - a1):
                if m >= b0:
                    m = m - b0 + a1
                ra_m = ra2[m]
                if _rel(ra_m, ra0) > stop:
                    break
                d2 = dec2[m]
                ddec = d2 - dec1
                dra = ra_m - ra1
                adra = abs(dra)
                # One branch for both cheap tests (``|`` and ``&`` do not short-circuit): it almost
                # always fails, so it is predicted well; two branches cost more than loading the RA.
                if (abs(ddec) > r) | ((adra > dalpha) & (_TWO_PI - adra > dalpha)):
                    continue
                if cd1 < 0.0:
                    cd1 = math.cos(dec1)
                sd = _half_sin(ddec)
                sa = _half_sin(dra)
                hav = sd * sd + cd1 * math.cos(d2) * sa * sa
                if hav > hav_r:
                    continue
                j2 = perm2[m]
                if mode == _NEAREST:
                    if best < 0 or hav < bh or (hav == bh and j2 < best):
                        best = j2
                        bh = hav
                elif mode == _FILL:
                    # The row's block stays sorted by (haversine, right row), at most ``cap`` entries.
                    n_in = found if found < cap else cap
                    if n_in == cap:
                        last = base + cap - 1
                        if hav > o_hav[last] or (hav == o_hav[last] and j2 > o_i2[last]):
                            found += 1
                            continue
                        pos = last
                    else:
                        pos = base + n_in
                    while pos > base and (o_hav[pos - 1] > hav or (o_hav[pos - 1] == hav and o_i2[pos - 1] > j2)):
                        o_hav[pos] = o_hav[pos - 1]
                        o_i2[pos] = o_i2[pos - 1]
                        pos -= 1
                    o_hav[pos] = hav
                    o_i2[pos] = j2
                found += 1
        i = left.perm[j]
        if mode == _COUNT:
            counts[j] = found if k == 0 or found < k else k
        elif mode == _FILL:
            for q in range(base, base + cap):
                o_i1[q] = i
            bcount[bi, i >> _BUCKET_SHIFT] += cap
        elif best >= 0:
            o_i1[w] = i
            o_i2[w] = best
            o_hav[w] = bh
            w += 1
            bcount[bi, i >> _BUCKET_SHIFT] += 1
    return w - j0


@njit(cache=True, parallel=True)
def _sweep_all(step, mode, k, g, left, right, counts, offsets, bcount, o_i1, o_i2, o_hav):
    """Run :func:`_sweep` on blocks of ``step`` left rows in parallel; returns each block's _NEAREST count."""
    n = left.perm.shape[0]
    nblock = bcount.shape[0]
    packed = np.zeros(nblock, dtype=np.int64)
    for bi in prange(nblock):
        j0 = min(n, bi * step)
        packed[bi] = _sweep(bi, j0, min(n, j0 + step), mode, k, g, left, right, counts, offsets, bcount,
                            o_i1, o_i2, o_hav)
    return packed


@njit(cache=True, parallel=True)
def _to_buckets(bstart, blen, dest, o_i1, o_i2, o_hav, t1, t2, th):
    """Each block's pairs -> their bucket of left rows (``dest``: next free slot per block and bucket)."""
    for bi in prange(bstart.shape[0]):
        for q in range(bstart[bi], bstart[bi] + blen[bi]):
            b = o_i1[q] >> _BUCKET_SHIFT
            p = dest[bi, b]
            dest[bi, b] = p + 1
            t1[p] = o_i1[q]
            t2[p] = o_i2[q]
            th[p] = o_hav[q]


@njit(cache=True, inline="always")
def _hav_arcsec(hav):
    """Haversine of an angle -> the angle in arcsec."""
    return 2.0 * math.asin(min(1.0, math.sqrt(hav))) * (180.0 / math.pi * 3600.0)


@njit(cache=True, parallel=True)
def _in_row_order(bucket_start, t1, t2, th, i1, i2, sep):
    """Inside each bucket: a stable counting sort by left row, haversine -> arcsec.

    A row's pairs arrive in (haversine, right row) order; two different haversines can round to one
    separation, and those are put in right-row order here (an insertion sort, almost always no move).
    """
    for b in prange(bucket_start.shape[0] - 1):
        s = bucket_start[b]
        e = bucket_start[b + 1]
        if s == e:
            continue
        lo = b << _BUCKET_SHIFT
        cnt = np.zeros((1 << _BUCKET_SHIFT) + 1, dtype=np.int64)
        for q in range(s, e):
            cnt[t1[q] - lo + 1] += 1
        for q in range(1 << _BUCKET_SHIFT):
            cnt[q + 1] += cnt[q]
        for q in range(s, e):
            p = s + cnt[t1[q] - lo]
            cnt[t1[q] - lo] += 1
            i1[p] = t1[q]
            i2[p] = t2[q]
            sep[p] = _hav_arcsec(th[q])
        for q in range(s + 1, e):
            if i1[q] == i1[q - 1] and sep[q] == sep[q - 1] and i2[q] < i2[q - 1]:
                kd = sep[q]
                kj = i2[q]
                row = i1[q]
                bb = q - 1
                while bb >= s and i1[bb] == row and sep[bb] == kd and i2[bb] > kj:
                    i2[bb + 1] = i2[bb]
                    bb -= 1
                i2[bb + 1] = kj


def _by_left_row(bstart, blen, bcount, pairs, out=None, temps=None):
    """Pairs packed per sweep block -> (i1, i2, sep) in (left row, separation, right row) order.

    ``temps`` (left row, right row, haversine; at least as long as the pairs) hold the pairs between
    the two steps; new arrays where not given. ``out``: where the result goes (new arrays if None).
    """
    nblock, nbucket = bcount.shape
    ends = np.cumsum(bcount.T.ravel())  # bucket-major: bucket 0's blocks, then bucket 1's ...
    total = int(ends[-1])
    starts = ends - bcount.T.ravel()
    dest = starts.reshape(nbucket, nblock).T.copy()
    bucket_start = np.append(starts[::nblock], total)
    if temps is None:
        temps = (np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64), np.empty(total))
    t1, t2, th = (t[:total] for t in temps)
    _to_buckets(bstart, blen, dest, *pairs, t1, t2, th)
    if out is None:
        out = (np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64), np.empty(total))
    _in_row_order(bucket_start, t1, t2, th, *out)
    return out


def _radius_rad(radius) -> float:
    if not isinstance(radius, u.Quantity):
        raise TypeError(
            f"radius must be an astropy Quantity angle such as 1 * u.arcsec, got {radius!r} "
            f"({type(radius).__name__})"
        )
    try:
        r = float(radius.to_value(u.rad))
    except u.UnitConversionError as exc:
        raise TypeError(f"radius must be an angle, got unit {radius.unit}") from exc
    if not math.isfinite(r) or r <= 0:
        raise ValueError(f"radius must be positive and finite, got {radius}")
    if r >= math.pi:
        raise ValueError(f"radius must be below 180 deg, got {radius}")
    return r


def _coords(lon, lat, side: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Writable float64 arrays and their extent (lowest, highest latitude in radians; occupied RA bins)."""
    try:
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{side} longitude and latitude must be numbers in degrees ({exc})") from None
    # numba compiles a read-only array (a column of pandas' copy-on-write frames, of Arrow, of a catalogue's
    # partitions) as another type: the compiled kernels (``_warm``) are for writable ones, so copy.
    lon = lon if lon.flags.writeable else lon.copy()
    lat = lat if lat.flags.writeable else lat.copy()
    if lon.ndim != 1 or lon.shape != lat.shape:
        raise ValueError(f"{side} longitude and latitude must be 1-D arrays of one length")
    if not lon.size:
        return lon, lat, None
    bad, lat_lo, lat_hi, occupied = _extent(lon, lat, get_num_threads())
    if bad:
        raise ValueError(f"{side} coordinates contain NaN or infinite values ({bad} rows); drop them first")
    if lat_lo < -90.0 or lat_hi > 90.0:
        raise ValueError(f"{side} latitudes must lie in [-90, 90] deg, got {lat_lo if lat_lo < -90.0 else lat_hi}")
    return lon, lat, (math.radians(lat_lo), math.radians(lat_hi), occupied)


class PreparedSide:
    """A right-hand side sorted once on a grid of its own (:func:`prepare`), for many matches against it.

    Attributes: ``size`` (rows), ``radius`` (the largest radius it serves, a Quantity) and ``nbytes``
    (the memory it holds). Read-only once made: matches in several threads may share it.
    """

    __slots__ = ("size", "radius", "nbytes", "_r", "_grid", "_side")

    def __init__(self, size: int, r: float, grid: _Grid | None, side: _Side | None) -> None:
        self.size = size
        self._r = r
        self.radius = (r * u.rad).to(u.arcsec)
        self._grid = grid
        self._side = side
        held = [] if side is None else [*side, grid.zoff, grid.invw]
        self.nbytes = int(sum(a.nbytes for a in held))

    def __repr__(self) -> str:
        return f"PreparedSide(size={self.size}, radius={self.radius:.3g}, nbytes={self.nbytes})"


@contextmanager
def _threads_for(rows: int):
    """The kernels of a call that sorts ``rows`` rows run on one thread when that is fewer than
    :data:`_ONE_THREAD_ROWS`: the call takes a few ms, and each of its parallel steps would wake the other
    threads and wait for them (OpenMP's threads then spin; on a busy machine each waits for a time slice:
    ms per step where the work takes us). numba's thread count is the calling thread's own, so other
    threads' calls are not affected; it is restored on the way out."""
    threads = get_num_threads()
    if threads == 1 or rows >= _ONE_THREAD_ROWS:
        yield
        return
    set_num_threads(1)
    try:
        yield
    finally:
        set_num_threads(threads)


def _dilate(occupied: np.ndarray, bins: int) -> np.ndarray:
    """The occupied RA bins widened by ``bins`` on each side (around the circle)."""
    n = occupied.size
    if 2 * bins + 1 >= n:
        return np.ones(n, dtype=np.bool_)
    run = np.concatenate([[0], np.cumsum(np.tile(occupied.astype(np.int64), 3))])
    i = np.arange(n) + n
    return run[i + bins + 1] - run[i - bins] > 0


def prepare(lon, lat, radius) -> PreparedSide:
    """Sort the right-hand side of :func:`match_pairs` once, for matches within ``radius`` (or less).

    The grid is planned from this side alone: its declination band widened by the radius and its
    right-ascension span widened by the widest window of the radius there, so that every left position
    that has a pair lies on it (the others find none). ``match_pairs(lon1, lat1, prepared, None, r)``
    then gives the same ``(i1, i2, sep)`` as ``match_pairs(lon1, lat1, lon, lat, r)``, without sorting
    this side again: worth it when one side (a catalogue) is matched against many small ones.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> side = prepare(np.array([10.0, 10.0002]), np.array([0.0, 0.0]), 1 * u.arcsec)
    >>> i1, i2, sep = match_pairs(np.array([10.0]), np.array([0.0]), side, None, 1 * u.arcsec)
    >>> i1.tolist(), i2.tolist(), sep.round(3).tolist()
    ([0, 0], [0, 1], [0.0, 0.72])
    """
    with _threads_for(np.size(lon)):
        return _prepare(lon, lat, radius)


def _prepare(lon, lat, radius) -> PreparedSide:
    """:func:`prepare`, on the threads it was given."""
    r = _radius_rad(radius)
    lon, lat, ext = _coords(lon, lat, "right")
    if ext is None:
        return PreparedSide(0, r, None, None)
    if lon.size > _MAX_ROWS:
        raise ValueError(f"{lon.size} rows: more than one in-memory match takes ({_MAX_ROWS})")
    top = max(abs(ext[0]), abs(ext[1]))
    if top + r >= _HALF_PI:
        occupied = np.ones(_RA_BINS, dtype=np.bool_)
    else:
        # Every pair is within this RA window of its right position (the circle about it): a left
        # position outside the widened span has no pair.
        window = math.asin(min(1.0, math.sin(r) / math.cos(top))) * (1.0 + _WINDOW_REL) + _WINDOW_ABS
        occupied = _dilate(ext[2], int(math.ceil(window / (_TWO_PI / _RA_BINS))) + 1)
    band = (max(-_HALF_PI, ext[0] - r), min(_HALF_PI, ext[1] + r), occupied)
    grid, side = _grid_and_right(r, band, ext, lon, lat, get_num_threads())
    return PreparedSide(lon.size, r, grid, side)


def _pairs_on(grid: _Grid, sides: list, n: int, kk: int, max_pairs):
    """The sweeps and the ordering of :func:`match_pairs`, once both sides are sorted on ``grid``.

    ``sides``: ``[left, right, scratch]``, emptied here, so that the arrays are freed as soon as this
    function is done with them (the caller keeps no reference).
    """
    left, right, scratch = sides
    sides.clear()
    nthreads = get_num_threads()
    nblock = max(1, min(n, 16 * nthreads))
    step = -(-n // nblock)
    bcount = np.zeros((nblock, (n >> _BUCKET_SHIFT) + 1), dtype=np.int64)
    block_first = np.minimum(np.arange(nblock) * step, n)
    none = np.empty(0, dtype=np.int64)
    if kk == 1:
        # The nearest pairs go to the cell buffers (the sorts are done with them), and are ordered
        # through the left side's arrays once the sweep is done with those.
        pairs = (scratch[0][:n], scratch[1][:n], np.empty(n))
        packed = _sweep_all(step, _NEAREST, 1, grid, left, right, none, none, bcount, *pairs)
        del right, scratch
        temps = (left.perm, np.empty(n, dtype=np.int32), left.ra)
        return _by_left_row(block_first, packed, bcount, pairs, temps=temps)
    del scratch
    counts = np.empty(n, dtype=np.int64)
    _sweep_all(step, _COUNT, kk, grid, left, right, counts, none, bcount, none, none, np.empty(0))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    total = int(offsets[-1])
    if max_pairs is not None and total > max_pairs:
        from platform_lib.crossmatch._errors import CrossmatchInputError

        raise CrossmatchInputError(f"the match has {total} pairs, more than max_pairs={max_pairs}; use a smaller "
                                   "radius or fewer rows", code="too-many-pairs", value=total)
    pairs = (np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64), np.empty(total))
    _sweep_all(step, _FILL, kk, grid, left, right, counts, offsets, bcount, *pairs)
    del left, right, counts
    bstart = offsets[block_first]
    return _by_left_row(bstart, offsets[np.minimum(block_first + step, n)] - bstart, bcount, pairs, out=pairs)


def match_pairs(lon1, lat1, lon2, lat2, radius, *, k: int | None = None, max_pairs: int | None = None):
    """Every pair of positions closer than ``radius`` (or the ``k`` nearest per left row).

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        1-D arrays of longitude and latitude in degrees (same frame on both sides), finite. The right
        side may instead be a :class:`PreparedSide` (``lon2``, with ``lat2`` None) made by
        :func:`prepare` for a radius at least ``radius``: the same pairs, without sorting it again.
    radius
        The match radius, an astropy Quantity angle (``1 * u.arcsec``).
    k
        Keep only the ``k`` nearest right rows of each left row (``None``: all pairs).
    max_pairs
        Refuse (``CrossmatchInputError``, before the pairs' arrays are allocated) a match with more
        pairs than this; ``None``: no bound. Services use it to keep one request's memory bounded.

    Returns
    -------
    i1, i2, sep
        ``int64`` row indices into the left and right arrays and the separation in arcsec
        (``float64``), sorted by ``(i1, sep, i2)``.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> i1, i2, sep = match_pairs(np.array([10.0]), np.array([0.0]),
    ...                           np.array([10.0, 10.0002]), np.array([0.0, 0.0]), 1 * u.arcsec)
    >>> i1.tolist(), i2.tolist(), sep.round(3).tolist()
    ([0, 0], [0, 1], [0.0, 0.72])
    """
    with _threads_for(np.size(lon1) + (0 if isinstance(lon2, PreparedSide) else np.size(lon2))):
        return _match_pairs(lon1, lat1, lon2, lat2, radius, k, max_pairs)


def _match_pairs(lon1, lat1, lon2, lat2, radius, k, max_pairs):
    """:func:`match_pairs`, on the threads it was given."""
    r = _radius_rad(radius)
    if k is not None and (int(k) != k or k < 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    kk = int(k) if k is not None else 0
    empty = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    if isinstance(lon2, PreparedSide):
        if lat2 is not None:
            raise TypeError("with a PreparedSide as the right side, pass None as its latitude")
        if r > lon2._r * (1.0 + 1e-12):
            raise ValueError(f"radius {radius} is larger than the prepared side's {lon2.radius:.6g}; prepare it "
                             "for the largest radius it serves")
        lon1, lat1, ext1 = _coords(lon1, lat1, "left")
        if ext1 is None or lon2.size == 0:
            return empty
        if lon1.size > _MAX_ROWS:
            raise ValueError(f"{lon1.size} rows on one side: more than one in-memory match takes ({_MAX_ROWS}); "
                             "give crossmatch() a Dask DataFrame or a HATS catalogue instead")
        grid = lon2._grid
        if r != lon2._r:  # the zones stay (at least one prepared radius tall), the windows and test shrink
            grid = grid._replace(r=r, sin_r=math.sin(r), hav_r=math.sin(0.5 * r) ** 2)
        n = lon1.size
        scratch = (np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32))
        left = _sort_side(lon1, lat1, grid, False, get_num_threads(), scratch)
        return _pairs_on(grid, [left, lon2._side, scratch], n, kk, max_pairs)
    lon1, lat1, ext1 = _coords(lon1, lat1, "left")
    lon2, lat2, ext2 = _coords(lon2, lat2, "right")
    if ext1 is None or ext2 is None:
        return empty
    most = max(lon1.size, lon2.size)
    if most > _MAX_ROWS:
        raise ValueError(f"{most} rows on one side: more than one in-memory match takes ({_MAX_ROWS}); "
                         "give crossmatch() a Dask DataFrame or a HATS catalogue instead")
    nthreads = get_num_threads()
    # Each point's cell, in input and in sorted order: one pair of int32 buffers serves both sides.
    # Every fresh page costs a fault (and on a VM a fault in the host), so buffers are reused.
    scratch = (np.empty(most, dtype=np.int32), np.empty(most, dtype=np.int32))
    grid, right = _grid_and_right(r, ext1, ext2, lon2, lat2, nthreads, scratch)
    sides = [_sort_side(lon1, lat1, grid, False, nthreads, scratch), right, scratch]
    del right, scratch
    return _pairs_on(grid, sides, lon1.size, kk, max_pairs)

