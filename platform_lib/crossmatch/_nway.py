"""Matching three or more catalogues at once with probabilities: the NWAY approach.

This module owns n-way association: for every source of a primary catalogue it enumerates all
combinations of counterparts within the radius in the other catalogues (each catalogue contributes
one of its nearby sources or none, as NWAY does: Salvato et al. 2018, MNRAS 473, 4937, Appendix B),
scores each combination with the n-way Budavari & Szalay (2008) Bayes factor from ``_bayes``, and
turns the scores into ``p_any`` (the primary source has some counterpart) and ``p_i`` (this
combination is the right one, given there is one). It imports numpy, scipy, astropy, ``_bayes`` and (for
a catalogue's position columns) ``platform_lib.catalogs``; candidate pairs come from the engine's ``_engine.match_pairs`` when it is available.

Public function (re-exported as ``platform_lib.crossmatch.nway_match``)::

    nway_match(primary, *others, radius, errors, area=None, completeness=1.0,
               names=None, lon="ra", lat="dec", max_combinations=20_000_000) -> astropy Table

Model (a generative form of NWAY's priors). Every primary source is a real object. Catalogue ``c``
detects it with probability ``f_c`` (``completeness``), at a position scattered by its Gaussian error;
all its other sources are, seen from that primary source, uniform with the catalogue's sky density
``nu_c``. The posterior weight of a combination relative to "no counterpart anywhere" is then::

    w = B_k * prod_{c present} f_c / (4 pi nu_c) * prod_{c absent} (1 - f_c),   w_0 = prod_c (1 - f_c)

with ``B_k`` the k-way Bayes factor of the members present (BS08, ``4 pi`` normalisation, so
``B_k / (4 pi)^(k-1)`` is the likelihood ratio per unit solid angle). NWAY's outputs follow::

    p_any = 1 - w_0 / (w_0 + sum_i w_i)          (NWAY eq. "post-any")
    p_i   = w_i / sum_i w_i                       (NWAY eq. "post-assoc")
    p_match = p_any * p_i = w_i / (w_0 + sum w)   (posterior that combination i is exactly right)

For two catalogues ``p_match`` reduces to a per-primary normalised BS08 posterior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from astropy import units as u
from astropy.table import Table

from platform_lib.crossmatch._bayes import (
    FOUR_PI,
    MatchConfidenceError,
    PositionalErrors,
    _counts_in_footprint,
    as_errors,
    log_bayes_factor,
    tangent_offsets,
)

__all__ = ["nway_match"]


# --------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------


def _positions(cat: Any, lon: str | None, lat: str | None, name: str) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(ra, dec) in ICRS degrees from a SkyCoord, an astropy Table or a pandas DataFrame, found (``lon``/``lat``
    ``None``) and converted (Galactic, FK4 B1950...) as ingest does (:func:`platform_lib.catalogs.sky_positions`),
    and the RA column when its numbers are the ones matched (not converted from another frame), else None."""
    from platform_lib.catalogs import CatalogError, sky_positions

    try:  # any angle unit, text as ingest reads it; a unit that is not an angle names the column
        found = sky_positions(cat, lon, lat, label=f"catalogue {name!r}")
        lon_deg, lat_deg = found.ra, found.dec
    except CatalogError as exc:
        raise MatchConfidenceError(f"{exc}; pass lon=/lat= with the coordinate columns",
                                   code="missing-column" if exc.code == "missing-column" else "bad-column",
                                   value=exc.value) from exc
    if not (np.all(np.isfinite(lon_deg)) and np.all(np.isfinite(lat_deg))):
        raise MatchConfidenceError(
            f"catalogue {name!r} has NaN coordinates; drop those rows first", code="nan-coordinates"
        )
    return lon_deg, lat_deg, None if found.converted else found.lon_column


def _column_quantity(cat: Any, col: str, name: str) -> u.Quantity:
    cols = list(getattr(cat, "colnames", None) or getattr(cat, "columns", []))
    if col not in cols:
        raise MatchConfidenceError(
            f"catalogue {name!r} has no error column {col!r}", code="missing-column", value=col
        )
    values = cat[col]
    if isinstance(values, u.Quantity):
        return values
    unit = getattr(values, "unit", None)
    if unit is None:
        raise MatchConfidenceError(
            f"error column {col!r} of catalogue {name!r} has no unit; set one "
            f"(table[{col!r}].unit = 'arcsec') or pass the errors as a Quantity",
            code="error-without-units",
            value=col,
        )
    return np.asarray(values, dtype=float) * u.Unit(unit)


def _errors(cat: Any, spec: Any, n: int, name: str) -> PositionalErrors:
    if isinstance(spec, str):
        spec = _column_quantity(cat, spec, name)
    elif isinstance(spec, tuple) and len(spec) == 3 and all(isinstance(s, str) for s in spec):
        spec = tuple(_column_quantity(cat, s, name) for s in spec)
    return as_errors(spec, n, name=f"errors of {name!r}")


def _pairs(lon1, lat1, lon2, lat2, radius: u.Quantity) -> tuple[np.ndarray, np.ndarray]:
    """All pairs within ``radius``: the engine's ``match_pairs`` when present, else a KD-tree."""
    try:
        from platform_lib.crossmatch._engine import match_pairs
    except ImportError:
        match_pairs = None
    if match_pairs is not None:
        i1, i2, _ = match_pairs(lon1, lat1, lon2, lat2, radius)
        return np.asarray(i1, dtype=np.intp), np.asarray(i2, dtype=np.intp)
    from scipy.spatial import cKDTree

    def xyz(lon, lat):
        lo, la = np.radians(lon), np.radians(lat)
        return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])

    if lon1.size == 0 or lon2.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp)
    chord = 2 * np.sin(radius.to_value(u.rad) / 2)
    lists = cKDTree(xyz(lon2, lat2)).query_ball_point(xyz(lon1, lat1), chord)
    counts = np.fromiter((len(x) for x in lists), dtype=np.intp, count=len(lists))
    i1 = np.repeat(np.arange(lon1.size, dtype=np.intp), counts)
    i2 = np.fromiter((j for x in lists for j in x), dtype=np.intp, count=int(counts.sum()))
    return i1, i2


def _warn_if_hours(pos, cand, radii, ra_columns, names) -> None:
    """The crossmatch's RA-in-hours check (``_hours``) on each pair of the primary and another catalogue, both
    with equatorial positions as given: one warning at most (a primary in hours would warn once per catalogue)."""
    try:
        from platform_lib.crossmatch._hours import warn_if_hours
    except ImportError:  # no kernel (``_pairs``' KD-tree): no check
        return
    for c, (ip, js) in enumerate(cand):
        if ra_columns[0] is None or ra_columns[c + 1] is None:
            continue
        if warn_if_hours(pos[0][0], pos[0][1], pos[c + 1][0], pos[c + 1][1], ip, js, radii[c],
                         names=(ra_columns[0], ra_columns[c + 1]), sides=(names[0], names[c + 1])):
            return


def _radius_list(radius: Any, k: int) -> list[u.Quantity]:
    radii = list(radius) if isinstance(radius, (list, tuple)) else [radius] * k
    if len(radii) != k:
        raise MatchConfidenceError(
            f"radius must be one Quantity or one per secondary catalogue ({k}), got {len(radii)}",
            code="bad-radius",
        )
    out = []
    for r in radii:
        if not isinstance(r, u.Quantity) or not r.unit.is_equivalent(u.deg):
            raise MatchConfidenceError(
                f"radius must be an angle Quantity (e.g. 5 * u.arcsec), got {r!r}",
                code="radius-without-units",
                value=r,
            )
        if not (r.isscalar and np.isfinite(r.value) and r.value > 0):
            raise MatchConfidenceError(f"radius must be a positive scalar, got {r}", code="bad-radius", value=r)
        out.append(r)
    return out


# --------------------------------------------------------------------------------------------------
# The enumeration
# --------------------------------------------------------------------------------------------------


def _enumerate(n_primary: int, cand: list[tuple[np.ndarray, np.ndarray]], limit: int):
    """All combinations per primary source: returns (primary index (M,), choice (M, k), -1 = none).

    ``cand[c]`` is (primary index, secondary index) of the candidate pairs of catalogue ``c``, sorted
    by primary index. Combinations are built catalogue by catalogue: every row is repeated
    ``n_candidates + 1`` times, option 0 meaning "no counterpart in this catalogue".
    """
    prim = np.arange(n_primary, dtype=np.intp)
    choice = np.empty((n_primary, 0), dtype=np.intp)
    for ip, js in cand:
        counts = np.bincount(ip, minlength=n_primary)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        reps = counts[prim] + 1
        total = int(reps.sum())
        if total > limit:
            raise MatchConfidenceError(
                f"{total} candidate combinations exceed max_combinations={limit}; use a smaller radius "
                "or fewer/denser-cut catalogues",
                code="too-many-combinations",
                value=total,
            )
        row = np.repeat(np.arange(prim.size), reps)
        opt = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
        p = prim[row]
        col = np.where(opt > 0, js[np.minimum(starts[p] + opt - 1, max(js.size - 1, 0))] if js.size else -1, -1)
        prim = p
        choice = np.column_stack([choice[row], col])
    keep = (choice >= 0).any(axis=1)
    return prim[keep], choice[keep]


def nway_match(
    primary: Any,
    *others: Any,
    radius: u.Quantity | Sequence[u.Quantity],
    errors: Sequence[Any],
    area: u.Quantity | None = None,
    completeness: float | Sequence[float] = 1.0,
    names: Sequence[str] | None = None,
    lon: str | None = None,
    lat: str | None = None,
    max_combinations: int = 20_000_000,
) -> Table:
    """Match a primary catalogue against one or more others at once, with NWAY probabilities.

    Parameters
    ----------
    primary, *others
        Catalogues: astropy Tables, pandas DataFrames or SkyCoord arrays. A table's positions are found as
        catalogue ingest finds them unless ``lon``/``lat`` name the columns (any angle unit), and converted to
        ICRS from the frame it states (Galactic l/b, FK4 B1950; :func:`platform_lib.catalogs.sky_positions`).
    radius
        Search radius around each primary source (Quantity), one for all or one per other catalogue.
        Choose it several times the largest combined 1-sigma error.
    errors
        One per catalogue (primary first): a Quantity (circular 1-sigma error per coordinate, scalar
        or per row), a column name (with a unit), a tuple of three column names or Quantities
        ``(a, b, pa)`` for error ellipses, or :class:`~platform_lib.crossmatch._bayes.PositionalErrors`.
    area
        The common sky area (Quantity). Estimated from HEALPix occupancy when omitted.
    completeness
        ``f_c``: the fraction of primary sources expected to have a counterpart in each other
        catalogue (one value or one per other catalogue), NWAY's "prior completeness".
    names
        Catalogue names for the output columns (default ``primary, cat1, cat2, ...``).

    Returns
    -------
    astropy.table.Table
        One row per candidate association (every combination with at least one counterpart):
        ``idx_<name>`` (row in each catalogue, -1 when absent), ``sep_<name>`` (arcsec from the primary
        source, NaN when absent), ``ncat``, ``log_bf`` (ln of the Bayes factor), ``p_any``, ``p_i``,
        ``p_match`` and ``match_flag`` (True for the most probable association of each primary
        source). Primary sources with no candidate within the radius do not appear (``p_any = 0``).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.table import Table
    >>> from platform_lib.crossmatch._nway import nway_match
    >>> x = Table({"ra": [10.0], "dec": [20.0]})
    >>> o = Table({"ra": [10.0, 10.0003], "dec": [20.0, 20.0]})
    >>> t = nway_match(x, o, radius=5 * u.arcsec, errors=[1 * u.arcsec, 0.2 * u.arcsec],
    ...                area=1 * u.deg**2, completeness=0.9)
    >>> int(t["idx_cat1"][t["match_flag"]][0])
    0
    """
    cats = [primary, *others]
    if len(cats) < 2:
        raise MatchConfidenceError("nway_match needs a primary catalogue and at least one other", code="too-few")
    k = len(others)
    names = list(names) if names is not None else ["primary"] + [f"cat{i}" for i in range(1, k + 1)]
    if len(names) != len(cats) or len(set(names)) != len(names):
        raise MatchConfidenceError(f"names must be {len(cats)} distinct strings, got {names}", code="bad-names")
    if len(errors) != len(cats):
        raise MatchConfidenceError(
            f"errors must have one entry per catalogue ({len(cats)}), got {len(errors)}", code="bad-errors"
        )
    radii = _radius_list(radius, k)
    fs = np.broadcast_to(np.asarray(completeness, dtype=float), (k,)).copy()
    if not np.all((fs > 0) & (fs <= 1)):
        raise MatchConfidenceError(f"completeness must be in (0, 1], got {fs.tolist()}", code="bad-prior")

    found = [_positions(c, lon, lat, nm) for c, nm in zip(cats, names)]
    pos, ra_columns = [f[:2] for f in found], [f[2] for f in found]
    errs = [_errors(c, e, p[0].size, nm) for c, e, p, nm in zip(cats, errors, pos, names)]

    if area is None:
        area_q, counts = _counts_in_footprint(pos)
    else:
        if not isinstance(area, u.Quantity) or not area.unit.is_equivalent(u.sr) or not area.value > 0:
            raise MatchConfidenceError(
                f"area must be a positive solid-angle Quantity (e.g. 2 * u.deg**2), got {area!r}",
                code="area-without-units",
                value=area,
            )
        area_q, counts = area.to(u.deg**2), [p[0].size for p in pos]
    omega = area_q.to_value(u.sr)
    if min(counts) == 0:
        raise MatchConfidenceError("a catalogue has no sources in the common area", code="empty")
    dens = np.asarray(counts[1:], dtype=float) / omega

    n1 = pos[0][0].size
    cand = []
    for c in range(k):
        ip, js = _pairs(pos[0][0], pos[0][1], pos[c + 1][0], pos[c + 1][1], radii[c])
        order = np.lexsort((js, ip))
        cand.append((ip[order], js[order]))
    _warn_if_hours(pos, cand, radii, ra_columns, names)
    prim, choice = _enumerate(n1, cand, max_combinations)
    m = prim.size

    # Gather (M, n) positions and covariances; absent members get the primary's values (masked).
    present = np.column_stack([np.ones(m, bool), choice >= 0])
    lon_a = np.empty((m, k + 1))
    lat_a = np.empty((m, k + 1))
    cov = [np.empty((m, k + 1)) for _ in range(3)]
    for c in range(k + 1):
        idx = prim if c == 0 else np.where(choice[:, c - 1] >= 0, choice[:, c - 1], 0)
        src = pos[c]
        lon_a[:, c], lat_a[:, c] = src[0][idx], src[1][idx]
        for t, arr in zip(cov, errs[c].take(idx)):
            t[:, c] = arr
    log_bf = log_bayes_factor(lon_a, lat_a, cov[0], cov[1], cov[2], present)

    with np.errstate(divide="ignore"):
        log_absent = np.log1p(-fs)  # -inf when f_c = 1: "no counterpart in c" is impossible
    log_present = np.log(fs) - np.log(FOUR_PI * dens)
    pres = present[:, 1:]
    log_w = log_bf + np.where(pres, log_present, log_absent).sum(axis=1)
    log_w0 = float(log_absent.sum())

    # Group by primary source (prim is sorted) and normalise with a log-sum-exp per group.
    starts = np.flatnonzero(np.r_[True, prim[1:] != prim[:-1]]) if m else np.empty(0, np.intp)
    gmax = np.maximum.reduceat(log_w, starts) if m else np.empty(0)
    gid = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, m]))
    with np.errstate(under="ignore"):
        rel = np.exp(log_w - gmax[gid])
        gsum = np.add.reduceat(rel, starts) if m else np.empty(0)
        p_i = rel / gsum[gid]
        log_total = gmax + np.log(gsum)  # log sum_i w_i per group
        p_any_g = 1.0 / (1.0 + np.exp(log_w0 - log_total)) if np.isfinite(log_w0) else np.ones(starts.size)
    p_any = p_any_g[gid]
    best = np.zeros(m, bool)
    if m:
        order = np.lexsort((-p_i, gid))
        first = order[np.r_[True, gid[order][1:] != gid[order][:-1]]]
        best[first] = True

    out = Table()
    out[f"idx_{names[0]}"] = prim
    for c in range(k):
        out[f"idx_{names[c + 1]}"] = choice[:, c]
    x0, y0 = pos[0][0][prim], pos[0][1][prim]
    for c in range(k):
        xi, eta = tangent_offsets(x0, y0, lon_a[:, c + 1], lat_a[:, c + 1])
        sep = np.degrees(np.arctan(np.hypot(xi, eta))) * 3600.0
        out[f"sep_{names[c + 1]}"] = np.where(pres[:, c], sep, np.nan) * u.arcsec
    out["ncat"] = present.sum(axis=1)
    out["log_bf"] = log_bf
    out["p_any"] = p_any
    out["p_i"] = p_i
    out["p_match"] = p_any * p_i
    out["match_flag"] = best
    out.meta["area_deg2"] = float(area_q.value)
    out.meta["completeness"] = fs.tolist()
    out.meta["densities_per_sr"] = dens.tolist()
    return out
