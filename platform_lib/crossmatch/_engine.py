"""The in-memory pair-finding kernel: every pair of positions closer than a radius, exactly.

This module owns the numba kernel and nothing else: numpy arrays in, numpy arrays out, no tables,
no Dask (the per-partition algorithm and the Dask driver call it). It may import numpy, numba and
astropy.units only.

The algorithm is the zones algorithm (Gray, Nieto-Santisteban & Szalay 2007) done in two sorted
passes: both sides are bucketed into declination zones at least one radius tall with a parallel
counting sort, each zone is sorted by right ascension, and every left point searches the three
zones around it inside the right-ascension window ``asin(sin r / cos dec)`` (the whole zone near a
pole; two windows across RA = 0/360). Candidates are accepted on the exact haversine distance, so
the pair set equals a brute-force comparison; the first pass counts pairs per left row, the second
writes them in place, already sorted by (left row, separation, right row). The nearest neighbour
(``k=1``) needs one pass only: each left row keeps its best candidate in its own slot.
"""

from __future__ import annotations

import math

import numpy as np
from astropy import units as u
from numba import get_num_threads, njit, prange

__all__ = ["match_pairs", "haversine_arcsec", "plan_zones"]

_HALF_PI = math.pi / 2.0
_TWO_PI = 2.0 * math.pi
_MAX_ZONES = 1 << 23
# Widening of the right-ascension window (relative and absolute, radians): a candidate just inside
# the window is always tested on its exact distance, so a slightly wider window costs nothing.
_WINDOW_REL = 1e-9
_WINDOW_ABS = 1e-12


def plan_zones(radius_rad: float, n_points: int) -> tuple[float, int]:
    """Zone height (radians) and number of zones for a radius: height >= radius, zones capped."""
    cap = max(16, min(int(n_points), _MAX_ZONES))
    nz = int(math.pi / radius_rad) if radius_rad > 0 else cap
    nz = max(1, min(nz, cap))
    return math.pi / nz, nz


@njit(cache=True, inline="always")
def _zone_of(dec: float, h: float, nz: int) -> int:
    z = int((dec + _HALF_PI) / h)
    if z < 0:
        return 0
    if z >= nz:
        return nz - 1
    return z


@njit(cache=True, inline="always")
def _norm_ra(lon_deg):
    a = math.radians(lon_deg)
    if a < 0.0 or a >= _TWO_PI:
        a = a - _TWO_PI * math.floor(a / _TWO_PI)
        if a >= _TWO_PI:
            a = 0.0
    return a


@njit(cache=True)
def _sort_zone_by_ra(ra_s, dec_s, perm, s, e):
    m = e - s
    if m <= 24:
        for a in range(s + 1, e):
            kr = ra_s[a]
            kd = dec_s[a]
            kp = perm[a]
            b = a - 1
            while b >= s and (ra_s[b] > kr or (ra_s[b] == kr and perm[b] > kp)):
                ra_s[b + 1] = ra_s[b]
                dec_s[b + 1] = dec_s[b]
                perm[b + 1] = perm[b]
                b -= 1
            ra_s[b + 1] = kr
            dec_s[b + 1] = kd
            perm[b + 1] = kp
    else:
        seg = ra_s[s:e].copy()
        order = np.argsort(seg, kind="mergesort")
        segd = dec_s[s:e].copy()
        segp = perm[s:e].copy()
        for a in range(m):
            ra_s[s + a] = seg[order[a]]
            dec_s[s + a] = segd[order[a]]
            perm[s + a] = segp[order[a]]


@njit(cache=True, parallel=True)
def _zone_sort(lon, lat, h, nz, nthreads):
    """Positions in degrees -> radians sorted by (zone, RA), with the permutation and zone offsets.

    Two-level counting sort (coarse buckets of zones first, so the scattered writes stay
    cache-friendly, then zones inside each bucket), then each zone sorted by RA.
    """
    n = lon.shape[0]
    nchunk = max(1, min(nthreads * 2, n // 65536 + 1))
    step = (n + nchunk - 1) // nchunk
    ncb = min(nz, 512)
    zpc = (nz + ncb - 1) // ncb
    ncb = (nz + zpc - 1) // zpc
    counts = np.zeros((nchunk, ncb), dtype=np.int64)
    for c in prange(nchunk):
        lo = c * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            counts[c, _zone_of(math.radians(lat[i]), h, nz) // zpc] += 1
    cb_start = np.empty(ncb + 1, dtype=np.int64)
    run = 0
    for b in range(ncb):
        cb_start[b] = run
        for c in range(nchunk):
            cnt = counts[c, b]
            counts[c, b] = run
            run += cnt
    cb_start[ncb] = run
    perm = np.empty(n, dtype=np.int64)
    ra_s = np.empty(n, dtype=np.float64)
    dec_s = np.empty(n, dtype=np.float64)
    for c in prange(nchunk):
        lo = c * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            d = math.radians(lat[i])
            b = _zone_of(d, h, nz) // zpc
            p = counts[c, b]
            counts[c, b] = p + 1
            perm[p] = i
            ra_s[p] = _norm_ra(lon[i])
            dec_s[p] = d
    zone_start = np.empty(nz + 1, dtype=np.int64)
    zone_start[nz] = n
    for b in prange(ncb):
        s = cb_start[b]
        e = cb_start[b + 1]
        z0 = b * zpc
        z1 = min(nz, z0 + zpc)
        zc = np.zeros(z1 - z0 + 1, dtype=np.int64)
        for i in range(s, e):
            zc[_zone_of(dec_s[i], h, nz) - z0 + 1] += 1
        for z in range(z1 - z0):
            zc[z + 1] += zc[z]
        for z in range(z0, z1):
            zone_start[z] = s + zc[z - z0]
        if e - s > 1 and z1 - z0 > 1:
            tr = ra_s[s:e].copy()
            td = dec_s[s:e].copy()
            tp = perm[s:e].copy()
            for i in range(e - s):
                q = _zone_of(td[i], h, nz) - z0
                p = s + zc[q]
                zc[q] += 1
                ra_s[p] = tr[i]
                dec_s[p] = td[i]
                perm[p] = tp[i]
        for z in range(z0, z1):
            zs = zone_start[z]
            ze = zone_start[z + 1] if z + 1 < z1 else e
            if ze - zs > 1:
                _sort_zone_by_ra(ra_s, dec_s, perm, zs, ze)
    return perm, ra_s, dec_s, zone_start


@njit(cache=True, inline="always")
def _lower_bound(arr, s, e, x):
    while s < e:
        mid = (s + e) >> 1
        if arr[mid] < x:
            s = mid + 1
        else:
            e = mid
    return s


@njit(cache=True, inline="always")
def _upper_bound(arr, s, e, x):
    while s < e:
        mid = (s + e) >> 1
        if arr[mid] <= x:
            s = mid + 1
        else:
            e = mid
    return s


@njit(cache=True, inline="always")
def _scan(a, b, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav):
    for m in range(a, b):
        d2 = rdec[m]
        ddec = d2 - dec1
        if ddec > r or ddec < -r:
            continue
        sd = math.sin(0.5 * ddec)
        sa = math.sin(0.5 * (rra[m] - ra1))
        hav = sd * sd + cd1 * math.cos(d2) * sa * sa
        if hav <= hav_r:
            if fill:
                j2 = rperm[m]
                # Keep the block sorted by (hav, right row), at most ``cap`` entries.
                n_in = found if found < cap else cap
                if n_in == cap:
                    last = base + cap - 1
                    if hav > o_hav[last] or (hav == o_hav[last] and j2 > o_i2[last]):
                        found += 1
                        continue
                    pos = last
                else:
                    pos = base + n_in
                while pos > base and (
                    o_hav[pos - 1] > hav or (o_hav[pos - 1] == hav and o_i2[pos - 1] > j2)
                ):
                    o_hav[pos] = o_hav[pos - 1]
                    o_i2[pos] = o_i2[pos - 1]
                    pos -= 1
                o_hav[pos] = hav
                o_i2[pos] = j2
            found += 1
    return found


@njit(cache=True)
def _zone_window(z, h, r, sin_r):
    """The RA half-width covering every left point of zone ``z`` (``pi``: scan the whole zone)."""
    lo = -_HALF_PI + z * h
    top = max(abs(lo), abs(lo + h))
    if top + r >= _HALF_PI:
        return math.pi
    q = sin_r / math.cos(top)
    if q >= 1.0:
        return math.pi
    return min(math.pi, math.asin(q) * (1.0 + _WINDOW_REL) + _WINDOW_ABS)


@njit(cache=True)
def _sweep(zb0, zb1, lra, ldec, lperm, lzs, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs,
           fill, k, counts, offsets, o_i1, o_i2, o_hav):
    """Left zones [zb0, zb1): count (``fill`` False) or write (``fill`` True) their pairs."""
    ptr = np.zeros(3, dtype=np.int64)
    for z in range(zb0, zb1):
        ls = lzs[z]
        le = lzs[z + 1]
        if ls == le:
            continue
        dalpha = _zone_window(z, h, r, sin_r)
        full = dalpha >= math.pi
        zz0 = z - 1 if z > 0 else 0
        zz1 = z + 2 if z + 2 <= nz else nz
        for zz in range(zz0, zz1):
            ptr[zz - zz0] = rzs[zz]
        for j in range(ls, le):
            ra1 = lra[j]
            dec1 = ldec[j]
            cd1 = math.cos(dec1)
            base = 0
            cap = 0
            if fill:
                if k == 1:  # nearest only, one pass: the left row's own slot, in input order
                    cap = 1
                    base = lperm[j]
                    o_i2[base] = -1
                else:
                    cap = counts[j]
                    if cap == 0:
                        continue
                    base = offsets[j]
            found = 0
            lo = ra1 - dalpha
            hi = ra1 + dalpha
            for zz in range(zz0, zz1):
                s = rzs[zz]
                e = rzs[zz + 1]
                if s == e:
                    continue
                if full:
                    found = _scan(s, e, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
                    continue
                a = ptr[zz - zz0]
                while a < e and rra[a] < lo:
                    a += 1
                ptr[zz - zz0] = a
                b = a
                while b < e and rra[b] <= hi:
                    b += 1
                found = _scan(a, b, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
                if lo < 0.0:
                    w = _lower_bound(rra, b, e, lo + _TWO_PI)
                    found = _scan(w, e, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
                elif hi >= _TWO_PI:
                    w = _upper_bound(rra, s, a, hi - _TWO_PI)
                    found = _scan(s, w, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
            if not fill:
                counts[j] = found


@njit(cache=True, parallel=True)
def _sweep_all(blocks, lra, ldec, lperm, lzs, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs,
               fill, k, counts, offsets, o_i1, o_i2, o_hav):
    for bi in prange(blocks.shape[0] - 1):
        _sweep(blocks[bi], blocks[bi + 1], lra, ldec, lperm, lzs, r, sin_r, hav_r, h, nz, rra, rdec,
               rperm, rzs, fill, k, counts, offsets, o_i1, o_i2, o_hav)


@njit(cache=True, parallel=True)
def _scatter_counts(counts, lperm, k, offsets):
    """counts (left sorted order, capped at k in place) -> offsets[1:] (left input order)."""
    n = counts.shape[0]
    for j in prange(n):
        c = counts[j]
        if k > 0 and c > k:
            c = k
            counts[j] = c
        offsets[lperm[j] + 1] = c


@njit(cache=True, parallel=True)
def _gather_bases(offsets, lperm):
    """Where each left row's pairs start, in left sorted order."""
    n = lperm.shape[0]
    base = np.empty(n, dtype=np.int64)
    for j in prange(n):
        base[j] = offsets[lperm[j]]
    return base


@njit(cache=True, inline="always")
def _hav_arcsec(hav):
    """Haversine of an angle -> the angle in arcsec."""
    return 2.0 * math.asin(min(1.0, math.sqrt(hav))) * (180.0 / math.pi * 3600.0)


@njit(cache=True, parallel=True)
def _finish(offsets, o_i1, o_i2, o_hav):
    """Fill the left rows, haversine -> arcsec, and order each row's pairs by (separation, right row).

    The sweep orders them by (haversine, right row); two different haversines can round to one
    separation, and those are put in right-row order here (an insertion sort, almost always no move).
    """
    n = offsets.shape[0] - 1
    for i in prange(n):
        s = offsets[i]
        e = offsets[i + 1]
        for q in range(s, e):
            o_i1[q] = i
            o_hav[q] = _hav_arcsec(o_hav[q])
        for q in range(s + 1, e):
            if o_hav[q] == o_hav[q - 1] and o_i2[q] < o_i2[q - 1]:
                kd = o_hav[q]
                kj = o_i2[q]
                b = q - 1
                while b >= s and o_hav[b] == kd and o_i2[b] > kj:
                    o_i2[b + 1] = o_i2[b]
                    b -= 1
                o_i2[b + 1] = kj


@njit(cache=True, parallel=True)
def _nearest_pairs(in_i2, in_hav, nthreads):
    """The one-pass nearest result (a slot per left row in input order, -1: none) -> (i1, i2, sep in arcsec)."""
    n = in_i2.shape[0]
    nchunk = max(1, min(nthreads * 4, n // 65536 + 1))
    step = (n + nchunk - 1) // nchunk
    starts = np.zeros(nchunk + 1, dtype=np.int64)
    for c in prange(nchunk):
        found = 0
        for i in range(c * step, min(n, (c + 1) * step)):
            if in_i2[i] >= 0:
                found += 1
        starts[c + 1] = found
    for c in range(nchunk):
        starts[c + 1] += starts[c]
    total = starts[nchunk]
    i1 = np.empty(total, dtype=np.int64)
    i2 = np.empty(total, dtype=np.int64)
    sep = np.empty(total, dtype=np.float64)
    for c in prange(nchunk):
        q = starts[c]
        for i in range(c * step, min(n, (c + 1) * step)):
            if in_i2[i] >= 0:
                i1[q] = i
                i2[q] = in_i2[i]
                sep[q] = _hav_arcsec(in_hav[i])
                q += 1
    return i1, i2, sep


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


def _coords(lon, lat, side: str) -> tuple[np.ndarray, np.ndarray]:
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    if lon.ndim != 1 or lon.shape != lat.shape:
        raise ValueError(f"{side} longitude and latitude must be 1-D arrays of one length")
    if lon.size and not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise ValueError(f"{side} coordinates contain NaN or infinite values; drop them first")
    if lat.size and (lat.min() < -90.0 or lat.max() > 90.0):
        raise ValueError(f"{side} latitudes must lie in [-90, 90] deg")
    return lon, lat


def match_pairs(lon1, lat1, lon2, lat2, radius, *, k: int | None = None):
    """Every pair of positions closer than ``radius`` (or the ``k`` nearest per left row).

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        1-D arrays of longitude and latitude in degrees (same frame on both sides), finite.
    radius
        The match radius, an astropy Quantity angle (``1 * u.arcsec``).
    k
        Keep only the ``k`` nearest right rows of each left row (``None``: all pairs).

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
    r = _radius_rad(radius)
    if k is not None and (int(k) != k or k < 1):
        raise ValueError(f"k must be a positive integer, got {k!r}")
    lon1, lat1 = _coords(lon1, lat1, "left")
    lon2, lat2 = _coords(lon2, lat2, "right")
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))
    if lon1.size == 0 or lon2.size == 0:
        return empty
    h, nz = plan_zones(r, lon1.size + lon2.size)
    nthreads = get_num_threads()
    rperm, rra, rdec, rzs = _zone_sort(lon2, lat2, h, nz, nthreads)
    lperm, lra, ldec, lzs = _zone_sort(lon1, lat1, h, nz, nthreads)
    # Work blocks: contiguous left zones holding about equal numbers of left points.
    nblock = max(1, min(nz, 8 * nthreads * 16))
    targets = np.linspace(0, lon1.size, nblock + 1)[1:-1]
    blocks = np.unique(np.concatenate(([0], np.searchsorted(lzs, targets, side="right"), [nz])))
    sin_r = math.sin(r)
    hav_r = math.sin(0.5 * r) ** 2
    kk = int(k) if k is not None else 0
    no_i = np.empty(0, dtype=np.int64)
    no_f = np.empty(0, dtype=np.float64)
    if kk == 1:
        # Nearest neighbour: one writing pass into a slot per left row (no counting pass).
        o_i2 = np.empty(lon1.size, dtype=np.int64)  # -1 (no match) written by the sweep
        o_hav = np.empty(lon1.size, dtype=np.float64)
        _sweep_all(blocks, lra, ldec, lperm, lzs, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs,
                   True, kk, no_i, no_i, no_i, o_i2, o_hav)
        return _nearest_pairs(o_i2, o_hav, nthreads)
    counts = np.zeros(lon1.size, dtype=np.int64)
    offsets = np.zeros(lon1.size + 1, dtype=np.int64)
    _sweep_all(blocks, lra, ldec, lperm, lzs, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs,
               False, kk, counts, offsets, no_i, no_i, no_f)
    _scatter_counts(counts, lperm, kk, offsets)
    np.cumsum(offsets, out=offsets)
    total = int(offsets[-1])
    i1 = np.empty(total, dtype=np.int64)
    i2 = np.empty(total, dtype=np.int64)
    sep = np.empty(total, dtype=np.float64)
    if total:
        bases = _gather_bases(offsets, lperm)
        _sweep_all(blocks, lra, ldec, lperm, lzs, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs,
                   True, kk, counts, bases, i1, i2, sep)
        del bases
        _finish(offsets, i1, i2, sep)
    return i1, i2, sep


def haversine_arcsec(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Separation in arcsec between positions in degrees, by the haversine formula the kernel uses."""
    ra1, dec1 = np.radians(lon1), np.radians(lat1)
    ra2, dec2 = np.radians(lon2), np.radians(lat2)
    sd = np.sin(0.5 * (dec2 - dec1))
    sa = np.sin(0.5 * (ra2 - ra1))
    hav = sd * sd + np.cos(dec1) * np.cos(dec2) * sa * sa
    return np.degrees(2.0 * np.arcsin(np.minimum(1.0, np.sqrt(hav)))) * 3600.0
