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
writes them in place, already sorted by (left row, separation, right row).
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


@njit(cache=True, parallel=True)
def _zone_sort(ra, dec, h, nz, nthreads):
    """Counting sort by zone (parallel, stable), then each zone sorted by RA.

    Returns the permutation, the sorted ra/dec, and ``zone_start`` (``nz + 1`` offsets).
    """
    n = ra.shape[0]
    nchunk = max(1, min(nthreads * 2, n // 65536 + 1))
    step = (n + nchunk - 1) // nchunk
    counts = np.zeros((nchunk, nz), dtype=np.int64)
    for c in prange(nchunk):
        lo = c * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            counts[c, _zone_of(dec[i], h, nz)] += 1
    zone_start = np.empty(nz + 1, dtype=np.int64)
    run = 0
    for z in range(nz):
        zone_start[z] = run
        for c in range(nchunk):
            cnt = counts[c, z]
            counts[c, z] = run
            run += cnt
    zone_start[nz] = run
    perm = np.empty(n, dtype=np.int64)
    ra_s = np.empty(n, dtype=np.float64)
    dec_s = np.empty(n, dtype=np.float64)
    for c in prange(nchunk):
        lo = c * step
        hi = min(n, lo + step)
        for i in range(lo, hi):
            z = _zone_of(dec[i], h, nz)
            p = counts[c, z]
            counts[c, z] = p + 1
            perm[p] = i
            ra_s[p] = ra[i]
            dec_s[p] = dec[i]
    for z in prange(nz):
        s = zone_start[z]
        e = zone_start[z + 1]
        m = e - s
        if m < 2:
            continue
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
def _search_one(ra1, dec1, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs, fill, base, cap, o_i2, o_hav):
    cd1 = math.cos(dec1)
    z = _zone_of(dec1, h, nz)
    full = True
    dalpha = math.pi
    if abs(dec1) + r < _HALF_PI:
        q = sin_r / cd1
        if q < 1.0:
            dalpha = math.asin(q) * (1.0 + _WINDOW_REL) + _WINDOW_ABS
            full = dalpha >= math.pi
    found = 0
    z0 = z - 1 if z > 0 else 0
    z1 = z + 2 if z + 2 <= nz else nz
    for zz in range(z0, z1):
        s = rzs[zz]
        e = rzs[zz + 1]
        if s == e:
            continue
        if full:
            found = _scan(s, e, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
            continue
        lo = ra1 - dalpha
        hi = ra1 + dalpha
        if lo < 0.0:
            a = _lower_bound(rra, s, e, lo + _TWO_PI)
            found = _scan(a, e, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
            b = _upper_bound(rra, s, e, hi)
            found = _scan(s, b, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
        elif hi >= _TWO_PI:
            a = _lower_bound(rra, s, e, lo)
            found = _scan(a, e, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
            b = _upper_bound(rra, s, e, hi - _TWO_PI)
            found = _scan(s, b, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
        else:
            a = _lower_bound(rra, s, e, lo)
            b = _upper_bound(rra, a, e, hi)
            found = _scan(a, b, ra1, dec1, cd1, r, hav_r, rra, rdec, rperm, fill, found, base, cap, o_i2, o_hav)
    return found


@njit(cache=True, parallel=True)
def _count(lra, ldec, lperm, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs, k):
    n = lra.shape[0]
    counts = np.zeros(n, dtype=np.int64)
    dummy_i = np.empty(0, dtype=np.int64)
    dummy_h = np.empty(0, dtype=np.float64)
    nblock = max(1, min(n // 1024 + 1, 4096))
    step = (n + nblock - 1) // nblock
    for blk in prange(nblock):
        lo = blk * step
        hi = min(n, lo + step)
        for j in range(lo, hi):
            c = _search_one(
                lra[j], ldec[j], r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs, False, 0, 0, dummy_i, dummy_h
            )
            if k > 0 and c > k:
                c = k
            counts[lperm[j]] = c
    return counts


@njit(cache=True, parallel=True)
def _fill(lra, ldec, lperm, r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs, offsets, o_i1, o_i2, o_hav):
    n = lra.shape[0]
    nblock = max(1, min(n // 1024 + 1, 4096))
    step = (n + nblock - 1) // nblock
    for blk in prange(nblock):
        lo = blk * step
        hi = min(n, lo + step)
        for j in range(lo, hi):
            i1 = lperm[j]
            base = offsets[i1]
            cap = offsets[i1 + 1] - base
            if cap == 0:
                continue
            _search_one(
                lra[j], ldec[j], r, sin_r, hav_r, h, nz, rra, rdec, rperm, rzs, True, base, cap, o_i2, o_hav
            )
            for q in range(base, base + cap):
                o_i1[q] = i1
                # hav -> separation in arcsec, in place.
                o_hav[q] = 2.0 * math.asin(min(1.0, math.sqrt(o_hav[q]))) * (180.0 / math.pi * 3600.0)


@njit(cache=True, parallel=True)
def _to_radians(lon, lat):
    n = lon.shape[0]
    ra = np.empty(n, dtype=np.float64)
    dec = np.empty(n, dtype=np.float64)
    for i in prange(n):
        a = math.radians(lon[i]) % _TWO_PI
        if a >= _TWO_PI:
            a = 0.0
        ra[i] = a
        dec[i] = math.radians(lat[i])
    return ra, dec


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
    return _to_radians(lon, lat)


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
    lra, ldec = _coords(lon1, lat1, "left")
    rra, rdec = _coords(lon2, lat2, "right")
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))
    if lra.size == 0 or rra.size == 0:
        return empty
    h, nz = plan_zones(r, lra.size + rra.size)
    rperm, rra_s, rdec_s, rzs = _zone_sort(rra, rdec, h, nz, get_num_threads())
    del rra, rdec
    lperm, lra_s, ldec_s, _ = _zone_sort(lra, ldec, h, nz, get_num_threads())
    del lra, ldec
    sin_r = math.sin(r)
    hav_r = math.sin(0.5 * r) ** 2
    kk = int(k) if k is not None else 0
    counts = _count(lra_s, ldec_s, lperm, r, sin_r, hav_r, h, nz, rra_s, rdec_s, rperm, rzs, kk)
    offsets = np.empty(counts.size + 1, dtype=np.int64)
    offsets[0] = 0
    np.cumsum(counts, out=offsets[1:])
    del counts
    total = int(offsets[-1])
    i1 = np.empty(total, dtype=np.int64)
    i2 = np.empty(total, dtype=np.int64)
    sep = np.empty(total, dtype=np.float64)
    if total:
        _fill(lra_s, ldec_s, lperm, r, sin_r, hav_r, h, nz, rra_s, rdec_s, rperm, rzs, offsets, i1, i2, sep)
    return i1, i2, sep


def haversine_arcsec(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Separation in arcsec between positions in degrees, by the haversine formula the kernel uses."""
    ra1, dec1 = np.radians(lon1), np.radians(lat1)
    ra2, dec2 = np.radians(lon2), np.radians(lat2)
    sd = np.sin(0.5 * (dec2 - dec1))
    sa = np.sin(0.5 * (ra2 - ra1))
    hav = sd * sd + np.cos(dec1) * np.cos(dec2) * sa * sa
    return np.degrees(2.0 * np.arcsin(np.minimum(1.0, np.sqrt(hav)))) * 3600.0
