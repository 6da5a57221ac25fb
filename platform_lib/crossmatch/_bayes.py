"""Match confidence: Budavari & Szalay (2008) Bayes factors and posterior match probabilities.

This module owns the statistics of cross-identification, not the search for candidate pairs: it takes
pairs (or n-tuples) already found by the engine (``_engine.match_pairs``) together with per-source
positional errors, and returns Bayes factors and posterior probabilities. It imports numpy, scipy,
astropy, cdshealpix and the package's ``_errors`` only; no Dask, no I/O.

Reference: T. Budavari & A. S. Szalay (2008), ApJ 679, 301, "Probabilistic cross-identification of
astronomical sources" (BS08 below).

Model and conventions
---------------------
* Positional errors are Gaussian. A circular error ``sigma`` is the 1-sigma error *per coordinate*
  (so the radial offset of a true counterpart follows a Rayleigh distribution of scale
  ``sqrt(sigma1**2 + sigma2**2)``). An elliptical error is ``(a, b, pa)``: 1-sigma semi-major and
  semi-minor axes and the position angle of the major axis, east of north. Both become a 2x2
  covariance in the tangent plane (east, north), in rad^2; see :class:`PositionalErrors`.
* Bayes factors are returned as natural logarithms (``ln B``); ``B`` itself overflows in float64 for
  sub-arcsecond errors (``2 / sigma^2`` is ~1e11 for 1 arcsec).
* The general Gaussian (n-way, arbitrary covariance) Bayes factor, BS08 §3 and its Appendix B, with
  ``W_i = C_i^-1`` the inverse covariances, ``W = sum W_i`` and tangent-plane positions ``x_i``::

      ln B = (n - 1) ln 2 + 1/2 sum ln|W_i| - 1/2 ln|W| - Q / 2,
      Q    = sum x_i^T W_i x_i - (sum W_i x_i)^T W^-1 (sum W_i x_i).

  For circular errors (``W_i = w_i I``, ``w_i = sigma_i^-2``) this is BS08's n-way form
  ``B = 2^(n-1) prod(w_i) / sum(w_i) * exp(-sum_{i<j} w_i w_j psi_ij^2 / (2 sum w_i))`` and for two
  catalogues BS08 eq. (16), ``B = 2 / (s1^2 + s2^2) * exp(-psi^2 / (2 (s1^2 + s2^2)))``.
* The posterior (BS08 §5): ``P(H|D) = [1 + (1 - P0) / (B P0)]^-1`` with the prior BS08 eq. (25),
  ``P0 = N_* / prod N_i``. BS08's ``B`` compares against sources spread over the whole sphere (4 pi),
  so with sky densities ``nu_i`` (per steradian) measured on the overlap area the prior is
  ``P0 = nu_* / ((4 pi)^(n-1) prod nu_i)``, ``nu_* = N_* / area`` the density of true n-way
  associations (:func:`prior_from_densities`).

Signatures the engine calls (``crossmatch(..., probability=...)``)::

    match_probability(lon1, lat1, lon2, lat2, i1, i2, errors1, errors2,
                      *, area=None, densities=None, n_true=None, completeness=None) -> MatchProbability

``lon*/lat*`` are full-catalogue numpy arrays in degrees, ``i1, i2`` the pair indices from
``match_pairs``, ``errors*`` a Quantity (circular sigma, scalar or per source), an ``(a, b, pa)``
tuple of Quantities, or :class:`PositionalErrors`. The result holds one probability per pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy import units as u
from scipy.special import expit

from platform_lib.crossmatch._errors import CrossmatchInputError

__all__ = [
    "MatchConfidenceError",
    "MatchProbability",
    "PositionalErrors",
    "estimate_area",
    "log_bayes_factor",
    "log_bayes_factor_pairs",
    "match_probability",
    "posterior_from_log_bayes_factors",
    "posterior_probability",
    "prior_from_densities",
    "tangent_offsets",
    "transport_angle",
]

FOUR_PI = 4.0 * np.pi


class MatchConfidenceError(CrossmatchInputError):
    """Bad input to the match-confidence statistics (errors, densities, priors); a
    ``CrossmatchInputError`` (so a ``PlatformError`` and a ``ValueError``) with a ``code``."""

    code = "bad-match-confidence-input"


# --------------------------------------------------------------------------------------------------
# Positional errors
# --------------------------------------------------------------------------------------------------


def _angle_array(value: Any, name: str) -> np.ndarray:
    """A Quantity angle (scalar or array) as float64 radians, with clear errors."""
    if not isinstance(value, u.Quantity):
        raise MatchConfidenceError(
            f"{name} must be an astropy Quantity with angular units (e.g. 0.5 * u.arcsec), "
            f"got {type(value).__name__} {value!r:.80}",
            code="error-without-units",
            value=value,
        )
    try:
        rad = np.asarray(value.to_value(u.rad), dtype=float)
    except u.UnitConversionError as exc:
        raise MatchConfidenceError(
            f"{name} must have angular units (arcsec, deg, ...), got {value.unit}",
            code="error-wrong-units",
            value=value,
        ) from exc
    return rad


def _check_positive(rad: np.ndarray, name: str, *, allow_zero: bool = False) -> None:
    bad_nan = ~np.isfinite(rad)
    if bad_nan.any():
        idx = np.flatnonzero(bad_nan)
        raise MatchConfidenceError(
            f"{name} has {idx.size} NaN or infinite value(s) (first at index {idx[0]}); "
            "give every source a finite positional error or drop those rows",
            code="error-not-finite",
            value=idx[:10].tolist(),
        )
    bad = rad < 0 if allow_zero else rad <= 0
    if bad.any():
        idx = np.flatnonzero(bad)
        raise MatchConfidenceError(
            f"{name} has {idx.size} {'negative' if allow_zero else 'zero or negative'} value(s) "
            f"(first at index {idx[0]}: {np.ravel(rad)[idx[0]]:.3g} rad); positional errors must be > 0",
            code="error-not-positive",
            value=idx[:10].tolist(),
        )


@dataclass(frozen=True)
class PositionalErrors:
    """Per-source Gaussian positional errors as tangent-plane covariances (rad^2).

    ``cov_ee``, ``cov_en``, ``cov_nn`` are the (east, east), (east, north) and (north, north)
    elements; arrays of one length (one per source) or 0-d (the same error for every source).
    Build one with :meth:`circular` or :meth:`ellipse`; :func:`as_errors` coerces user input.
    """

    cov_ee: np.ndarray
    cov_en: np.ndarray
    cov_nn: np.ndarray

    @classmethod
    def circular(cls, sigma: u.Quantity) -> PositionalErrors:
        """Circular errors: ``sigma`` is the 1-sigma error per coordinate (Quantity angle)."""
        s = _angle_array(sigma, "sigma")
        _check_positive(s, "sigma")
        var = s * s
        return cls(var, np.zeros_like(var), var.copy())

    @classmethod
    def ellipse(cls, a: u.Quantity, b: u.Quantity, pa: u.Quantity) -> PositionalErrors:
        """Elliptical errors: 1-sigma semi-axes ``a >= b`` and major-axis position angle ``pa``
        (east of north). The covariance is ``a^2 u u^T + b^2 v v^T`` with ``u = (sin pa, cos pa)``
        and ``v = (cos pa, -sin pa)`` in (east, north)."""
        ar = _angle_array(a, "a (semi-major error)")
        br = _angle_array(b, "b (semi-minor error)")
        par = _angle_array(pa, "pa (position angle)")
        _check_positive(ar, "a (semi-major error)")
        _check_positive(br, "b (semi-minor error)")
        if not np.all(np.isfinite(par)):
            raise MatchConfidenceError("pa (position angle) has NaN values", code="error-not-finite")
        ar, br, par = np.broadcast_arrays(ar, br, par)
        s, c = np.sin(par), np.cos(par)
        a2, b2 = ar * ar, br * br
        return cls(a2 * s * s + b2 * c * c, (a2 - b2) * s * c, a2 * c * c + b2 * s * s)

    def __len__(self) -> int:
        return int(np.size(self.cov_ee)) if np.ndim(self.cov_ee) else 0

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The covariance elements of the sources at ``index`` (broadcast if 0-d)."""
        index = np.asarray(index)
        out = []
        for arr in (self.cov_ee, self.cov_en, self.cov_nn):
            out.append(np.broadcast_to(arr, index.shape) if np.ndim(arr) == 0 else arr[index])
        return out[0], out[1], out[2]


def as_errors(value: Any, n: int | None = None, *, name: str = "errors") -> PositionalErrors:
    """Coerce ``value`` (Quantity sigma, ``(a, b, pa)`` tuple or :class:`PositionalErrors`).

    ``n`` is the catalogue length, checked against per-source arrays.
    """
    if isinstance(value, PositionalErrors):
        errs = value
    elif isinstance(value, u.Quantity):
        try:
            errs = PositionalErrors.circular(value)
        except MatchConfidenceError as exc:
            raise MatchConfidenceError(f"{name}: {exc.message}", code=exc.code, value=exc.value) from exc
    elif isinstance(value, tuple) and len(value) == 3:
        try:
            errs = PositionalErrors.ellipse(*value)
        except MatchConfidenceError as exc:
            raise MatchConfidenceError(f"{name}: {exc.message}", code=exc.code, value=exc.value) from exc
    elif isinstance(value, (int, float, np.number, np.ndarray, list)):
        raise MatchConfidenceError(
            f"{name} must carry angular units: give e.g. {name}=0.5 * u.arcsec (circular 1-sigma per "
            f"coordinate) or an (a, b, pa) tuple of Quantities, got the bare number(s) {value!r:.60}",
            code="error-without-units",
            value=value,
        )
    else:
        raise MatchConfidenceError(
            f"{name} must be a Quantity (circular 1-sigma error), an (a, b, pa) tuple of Quantities "
            f"or PositionalErrors, got {type(value).__name__}",
            code="error-wrong-type",
            value=value,
        )
    if n is not None and np.ndim(errs.cov_ee) and np.size(errs.cov_ee) != n:
        raise MatchConfidenceError(
            f"{name} has {np.size(errs.cov_ee)} values but the catalogue has {n} rows",
            code="error-wrong-length",
            value=np.size(errs.cov_ee),
        )
    return errs


# --------------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------------


def tangent_offsets(
    lon0: np.ndarray, lat0: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gnomonic (tangent-plane) offsets (east, north) in radians of ``(lon, lat)`` about ``(lon0, lat0)``.

    All inputs in degrees and broadcastable. Exact at the poles and across lon = 0/360 (it works on
    differences of longitudes through sin/cos).
    """
    a0, d0 = np.radians(lon0), np.radians(lat0)
    a, d = np.radians(lon), np.radians(lat)
    da = a - a0
    cd, sd, cd0, sd0, cda = np.cos(d), np.sin(d), np.cos(d0), np.sin(d0), np.cos(da)
    den = sd0 * sd + cd0 * cd * cda
    xi = cd * np.sin(da) / den
    eta = (cd0 * sd - sd0 * cd * cda) / den
    return xi, eta


def transport_angle(lon0, lat0, lon, lat) -> np.ndarray:
    """Rotation (radians) of position angles carried from ``(lon, lat)`` to ``(lon0, lat0)`` along
    the great circle joining them: a direction with position angle ``p`` at the second point has
    ``p + angle`` in the tangent frame of the first (meridians converge; large near the poles)."""
    a0, d0 = np.radians(lon0), np.radians(lat0)
    a, d = np.radians(lon), np.radians(lat)
    da = a - a0
    fwd = np.arctan2(np.sin(da) * np.cos(d), np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(da))
    back = np.arctan2(-np.sin(da) * np.cos(d0), np.cos(d) * np.sin(d0) - np.sin(d) * np.cos(d0) * np.cos(da))
    return fwd - back - np.pi


def _rotate_cov(cee, cen, cnn, angle):
    """``R C R^T`` for a position-angle rotation by ``angle`` (east of north)."""
    c, s = np.cos(angle), np.sin(angle)
    return (
        c * c * cee + 2 * c * s * cen + s * s * cnn,
        -c * s * cee + (c * c - s * s) * cen + c * s * cnn,
        s * s * cee - 2 * c * s * cen + c * c * cnn,
    )


# --------------------------------------------------------------------------------------------------
# Bayes factors
# --------------------------------------------------------------------------------------------------


def log_bayes_factor(
    lon: np.ndarray,
    lat: np.ndarray,
    cov_ee: np.ndarray,
    cov_en: np.ndarray,
    cov_nn: np.ndarray,
    present: np.ndarray | None = None,
) -> np.ndarray:
    """Natural log of the n-way Bayes factor, general Gaussian errors (BS08 §3 and Appendix B).

    Parameters
    ----------
    lon, lat
        Positions in degrees, shape ``(M, n)``: row ``m`` is one candidate association of ``n``
        sources. Column 0 must be present (it is the tangent point).
    cov_ee, cov_en, cov_nn
        Covariance elements in rad^2, shape ``(M, n)``.
    present
        Optional boolean ``(M, n)`` mask of the members that take part (NWAY's associations with
        missing catalogues). Absent members drop out of every sum and product; a row with ``k``
        present members gets the ``k``-way Bayes factor (``ln B = 0`` for ``k = 1``).

    Returns
    -------
    numpy.ndarray
        ``ln B`` of shape ``(M,)``: ``(k-1) ln 2 + 1/2 sum ln|W_i| - 1/2 ln|W| - Q/2`` with
        ``W_i = C_i^-1``, ``W = sum W_i``, ``Q = sum x_i^T W_i x_i - b^T W^-1 b``, ``b = sum W_i x_i``.
    """
    lon = np.atleast_2d(np.asarray(lon, dtype=float))
    lat = np.atleast_2d(np.asarray(lat, dtype=float))
    cee, cen, cnn = (np.atleast_2d(np.asarray(c, dtype=float)) for c in (cov_ee, cov_en, cov_nn))
    if present is None:
        present = np.ones(lon.shape, dtype=bool)
    present = np.atleast_2d(np.asarray(present, dtype=bool))
    if not present[:, 0].all():
        raise MatchConfidenceError("column 0 of every association must be present", code="bad-mask")
    x, y = tangent_offsets(lon[:, :1], lat[:, :1], lon, lat)
    # error ellipses are oriented to their own source's north: carry them to the tangent frame
    cee, cen, cnn = _rotate_cov(cee, cen, cnn, transport_angle(lon[:, :1], lat[:, :1], lon, lat))
    det = cee * cnn - cen * cen
    if np.any(det[present] <= 0) or not np.all(np.isfinite(det[present])):
        raise MatchConfidenceError(
            "a positional-error covariance is singular or not finite (zero or NaN errors?)",
            code="error-not-positive",
        )
    det = np.where(present, det, 1.0)
    # W_i = C_i^-1 for a 2x2 symmetric matrix.
    wee = np.where(present, cnn / det, 0.0)
    wnn = np.where(present, cee / det, 0.0)
    wen = np.where(present, -cen / det, 0.0)
    x = np.where(present, x, 0.0)
    y = np.where(present, y, 0.0)
    k = present.sum(axis=1)
    half_log_det_wi = np.where(present, -0.5 * np.log(det), 0.0).sum(axis=1)
    see, sen, snn = wee.sum(axis=1), wen.sum(axis=1), wnn.sum(axis=1)
    det_w = see * snn - sen * sen
    bx = (wee * x + wen * y).sum(axis=1)
    by = (wen * x + wnn * y).sum(axis=1)
    quad_i = (wee * x * x + 2 * wen * x * y + wnn * y * y).sum(axis=1)
    # b^T W^-1 b with W^-1 = [[snn, -sen], [-sen, see]] / det_w
    quad_b = (snn * bx * bx - 2 * sen * bx * by + see * by * by) / det_w
    q = np.maximum(quad_i - quad_b, 0.0)
    return (k - 1) * np.log(2.0) + half_log_det_wi - 0.5 * np.log(det_w) - 0.5 * q


def log_bayes_factor_pairs(
    lon1: np.ndarray,
    lat1: np.ndarray,
    lon2: np.ndarray,
    lat2: np.ndarray,
    errors1: PositionalErrors,
    errors2: PositionalErrors,
    i1: np.ndarray,
    i2: np.ndarray,
) -> np.ndarray:
    """``ln B`` of the two-way association of ``(i1[k], i2[k])`` for every pair ``k``.

    With circular errors this is BS08 eq. (16),
    ``ln B = ln 2 - ln(s1^2 + s2^2) - psi^2 / (2 (s1^2 + s2^2))`` (radians); with elliptical errors
    the general form with ``C = C_1 + C_2``: ``ln B = ln 2 - 1/2 ln|C| - d^T C^-1 d / 2``.
    """
    i1 = np.asarray(i1, dtype=np.intp)
    i2 = np.asarray(i2, dtype=np.intp)
    e1 = errors1.take(i1)
    e2 = errors2.take(i2)
    lo1, la1, lo2, la2 = np.asarray(lon1)[i1], np.asarray(lat1)[i1], np.asarray(lon2)[i2], np.asarray(lat2)[i2]
    xi, eta = tangent_offsets(lo1, la1, lo2, la2)
    if np.any(e2[1] != 0) or np.any(e2[0] != e2[2]):  # elliptical: orient to the first source's north
        e2 = _rotate_cov(e2[0], e2[1], e2[2], transport_angle(lo1, la1, lo2, la2))
    cee, cen, cnn = e1[0] + e2[0], e1[1] + e2[1], e1[2] + e2[2]
    det = cee * cnn - cen * cen
    q = (cnn * xi * xi - 2 * cen * xi * eta + cee * eta * eta) / det
    return np.log(2.0) - 0.5 * np.log(det) - 0.5 * q


# --------------------------------------------------------------------------------------------------
# Priors and posteriors
# --------------------------------------------------------------------------------------------------


def prior_from_densities(n_true_density: float, densities: list[float] | np.ndarray) -> float:
    """BS08 eq. (25) prior ``P0 = N_* / prod N_i`` written with sky densities (per steradian).

    ``P0 = nu_* / ((4 pi)^(n-1) prod nu_i)``: the ``4 pi`` matches the whole-sphere normalisation of
    BS08's Bayes factor. ``n_true_density`` is the density of true associations ``nu_*``.
    """
    dens = np.asarray(densities, dtype=float)
    if dens.size < 2 or not np.all(np.isfinite(dens)) or np.any(dens <= 0):
        raise MatchConfidenceError(
            f"densities must be >= 2 finite positive values per steradian, got {dens.tolist()}",
            code="bad-density",
            value=dens.tolist(),
        )
    if not np.isfinite(n_true_density) or n_true_density <= 0:
        raise MatchConfidenceError(
            f"the density of true associations must be > 0, got {n_true_density}",
            code="bad-density",
            value=n_true_density,
        )
    p0 = n_true_density / (FOUR_PI ** (dens.size - 1) * np.prod(dens))
    if p0 >= 1:
        raise MatchConfidenceError(
            f"prior P0 = {p0:.3g} >= 1: the densities are too low for the number of true matches "
            "(is the area in steradian?)",
            code="bad-density",
            value=p0,
        )
    return float(p0)


def posterior_probability(log_bf: np.ndarray, prior: float) -> np.ndarray:
    """BS08 §5: ``P(H|D) = [1 + (1 - P0) / (B P0)]^-1``, computed stably from ``ln B``."""
    if not 0 < prior < 1:
        raise MatchConfidenceError(f"the prior must be in (0, 1), got {prior}", code="bad-prior", value=prior)
    return expit(np.asarray(log_bf, dtype=float) + np.log(prior) - np.log1p(-prior))


#: The finest HEALPix order the occupancy footprint goes to (in memory: sources are binned once at this
#: order and coarser orders are got by shifting the nested cell numbers).
FOOTPRINT_DEPTH = 20


def cell_counts(lon: np.ndarray, lat: np.ndarray, depth: int = FOOTPRINT_DEPTH) -> tuple[np.ndarray, np.ndarray]:
    """(nested cells, source counts) of the HEALPix cells at ``depth`` that hold sources (degrees in)."""
    import cdshealpix.nested as hp  # adapter import, only needed here

    lon = np.asarray(lon, dtype=float)
    if lon.size == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    cells = hp.lonlat_to_healpix(u.Quantity(lon, u.deg), u.Quantity(np.asarray(lat, dtype=float), u.deg), depth)
    cells, counts = np.unique(cells.astype(np.uint64), return_counts=True)
    return cells, counts.astype(np.int64)


def footprint_from_cell_counts(
    counts: list[tuple[np.ndarray, np.ndarray]], depth: int, per_cell: float = 8.0
) -> tuple[int, np.ndarray, float, list[int]]:
    """(order, common cells, effective number of cells, sources inside) from per-catalogue cell counts.

    ``counts`` holds one ``(cells, n)`` pair per catalogue, nested cells at ``depth`` (merged: each
    cell once). The footprint order is the deepest (up to ``depth``) where the *sparsest* catalogue
    still has about ``per_cell`` sources per occupied cell; the footprint is the intersection of the
    catalogues' occupied cells there. The effective number counts interior cells whole and each edge
    cell (one with a neighbour outside the footprint) by the fraction it is covered, estimated from
    its source count against the mean count of the interior cells (sparsest catalogue). The Dask
    path (``_dask``) sums these counts over HEALPix partitions and calls this too.
    """
    import cdshealpix.nested as hp  # adapter import, only needed here

    sizes = [int(np.sum(n)) for _, n in counts]
    if min(sizes) == 0:
        raise MatchConfidenceError("cannot estimate an overlap area from an empty catalogue", code="empty")
    cells = [np.asarray(c, dtype=np.uint64) for c, _ in counts]
    sparse = int(np.argmin(sizes))
    order = 0
    for d in range(0, depth + 1):
        n_cells = np.unique(cells[sparse] >> np.uint64(2 * (depth - d))).size
        if sizes[sparse] / n_cells < per_cell:
            break
        order = d
    shift = np.uint64(2 * (depth - order))
    common = None
    for c in cells:
        at = np.unique(c >> shift)
        common = at if common is None else np.intersect1d(common, at, assume_unique=True)
    inside = [int(np.asarray(n)[np.isin(c >> shift, common)].sum()) for c, (_, n) in zip(cells, counts)]
    effective = float(common.size)
    if common.size >= 9:
        nbr = hp.neighbours(common.astype(np.uint64), order)
        nbr = np.where(nbr >= 0, nbr, common[:, None].astype(nbr.dtype))  # missing neighbours (corners)
        edge = ~np.isin(nbr, common).all(axis=1)
        if edge.any() and (~edge).sum() >= 3:
            cell_of = cells[sparse] >> shift
            pos = np.clip(np.searchsorted(common, cell_of), 0, common.size - 1)
            hit = common[pos] == cell_of
            per = np.bincount(pos[hit], weights=np.asarray(counts[sparse][1])[hit], minlength=common.size)
            full = per[~edge].mean()
            effective = float((~edge).sum() + np.minimum(per[edge] / full, 1.0).sum())
    return order, common, effective, inside


def area_of_cells(effective: float, order: int) -> u.Quantity:
    """The area of ``effective`` HEALPix cells of ``order``, in deg^2."""
    return (effective * FOUR_PI / (12 * 4**order) * u.sr).to(u.deg**2)


def _footprint(lon_lat: list[tuple[np.ndarray, np.ndarray]], per_cell: float) -> tuple[int, np.ndarray, float]:
    """(order, nested cells, effective number of cells) of the catalogues' common HEALPix footprint."""
    if min(np.size(lon) for lon, _ in lon_lat) == 0:
        raise MatchConfidenceError("cannot estimate an overlap area from an empty catalogue", code="empty")
    order, common, effective, _ = footprint_from_cell_counts(
        [cell_counts(lon, lat) for lon, lat in lon_lat], FOOTPRINT_DEPTH, per_cell)
    return order, common, effective


def estimate_area(lon_lat: list[tuple[np.ndarray, np.ndarray]], *, per_cell: float = 8.0) -> u.Quantity:
    """The sky area covered by *all* the given catalogues (``[(lon_deg, lat_deg), ...]``).

    Each catalogue's footprint is the set of HEALPix cells (nested) it occupies at the deepest order
    where the *sparsest* catalogue still has about ``per_cell`` sources per occupied cell (so empty
    cells inside the footprint are rare: Poisson ``exp(-per_cell)``). The overlap is the
    intersection of the footprints. Cells on the footprint's edge count by the fraction they are
    covered, estimated from their source counts against the mean of the interior cells. Give
    ``area=`` when it is known.
    """
    order, _, effective = _footprint(lon_lat, per_cell)
    return area_of_cells(effective, order)


def _counts_in_footprint(lon_lat: list[tuple[np.ndarray, np.ndarray]], per_cell: float = 8.0) -> tuple[u.Quantity, list[int]]:
    """The common footprint's area and each catalogue's source count inside it."""
    if min(np.size(lon) for lon, _ in lon_lat) == 0:
        raise MatchConfidenceError("cannot estimate an overlap area from an empty catalogue", code="empty")
    order, _, effective, inside = footprint_from_cell_counts(
        [cell_counts(lon, lat) for lon, lat in lon_lat], FOOTPRINT_DEPTH, per_cell)
    return area_of_cells(effective, order), inside


@dataclass(frozen=True)
class MatchProbability:
    """Per-pair results of :func:`match_probability`.

    Attributes
    ----------
    probability
        Posterior probability ``P(H|D)`` of each pair (BS08 §5).
    log_bayes_factor
        ``ln B`` of each pair.
    prior
        The prior ``P0`` used.
    n_true
        The number of true associations the prior assumed (given, or estimated self-consistently).
    area
        The overlap area used for the densities.
    """

    probability: np.ndarray
    log_bayes_factor: np.ndarray
    prior: float
    n_true: float
    area: u.Quantity


def _check_area(area: Any) -> u.Quantity:
    if not isinstance(area, u.Quantity) or not area.unit.is_equivalent(u.sr):
        raise MatchConfidenceError(
            f"area must be a solid-angle Quantity (e.g. 2.5 * u.deg**2), got {area!r}",
            code="area-without-units",
            value=area,
        )
    if not area.to_value(u.sr) > 0 or not np.isfinite(area.to_value(u.sr)):
        raise MatchConfidenceError(f"area must be finite and > 0, got {area}", code="bad-area", value=area)
    return area.to(u.deg**2)


def _check_densities(densities: Any) -> tuple[float, float]:
    """Two sky densities (Quantities per solid angle) as floats per steradian."""
    if not isinstance(densities, (tuple, list)) or len(densities) != 2:
        raise MatchConfidenceError(
            f"density must be a pair (left, right) of Quantities per solid angle (e.g. 1e4 / u.deg**2), "
            f"got {densities!r:.80}", code="density-without-units", value=densities)
    out = []
    for side, d in zip(("left", "right"), densities):
        if not isinstance(d, u.Quantity) or not d.unit.is_equivalent(u.sr**-1):
            raise MatchConfidenceError(
                f"the {side} density must be a Quantity per solid angle (e.g. 1e4 / u.deg**2), got {d!r}",
                code="density-without-units", value=d)
        v = float(d.to_value(u.sr**-1))
        if not (np.isfinite(v) and v > 0):
            raise MatchConfidenceError(f"the {side} density must be finite and > 0, got {d}", code="bad-density",
                                       value=d)
        out.append(v)
    return out[0], out[1]


def match_probability(
    lon1: np.ndarray,
    lat1: np.ndarray,
    lon2: np.ndarray,
    lat2: np.ndarray,
    i1: np.ndarray,
    i2: np.ndarray,
    errors1: Any,
    errors2: Any,
    *,
    area: u.Quantity | None = None,
    densities: tuple[u.Quantity, u.Quantity] | None = None,
    n_true: float | None = None,
    completeness: float | None = None,
    max_iter: int = 100,
) -> MatchProbability:
    """Posterior match probability of candidate pairs between two catalogues (BS08).

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        Full catalogue positions in degrees (numpy arrays).
    i1, i2
        Row indices of the candidate pairs (from ``_engine.match_pairs``); the search radius should
        be several times the combined error so true counterparts are not cut.
    errors1, errors2
        Positional errors: a Quantity (circular 1-sigma per coordinate; scalar or one per row), an
        ``(a, b, pa)`` tuple of Quantities (ellipses), or :class:`PositionalErrors`.
    area
        The overlap area of the two catalogues (Quantity, e.g. ``u.deg**2``). Estimated from HEALPix
        occupancy (:func:`estimate_area`) when omitted; sources outside the overlap do not count
        towards the densities.
    densities
        The two catalogues' sky densities, ``(left, right)`` Quantities per solid angle (e.g.
        ``1e4 / u.deg**2``), when known (from the full surveys rather than the matched cut-outs).
        They replace the counted ones; the area (given or estimated) then only converts ``N_*`` to
        a density.
    n_true
        Expected number of true associations in the area (``N_*`` of BS08 eq. 25).
    completeness
        Alternatively, the fraction of the smaller catalogue expected to have a counterpart:
        ``N_* = completeness * min(N1, N2)``. With neither given, ``N_*`` is estimated
        self-consistently: the ``N_*`` for which the pair posteriors sum to ``N_*`` (BS08 §5.1's
        iteration, solved by a safeguarded Newton method).

    Returns
    -------
    MatchProbability

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from platform_lib.crossmatch._bayes import match_probability
    >>> r = match_probability(np.array([10.0]), np.array([0.0]), np.array([10.0001]), np.array([0.0]),
    ...                       np.array([0]), np.array([0]), 0.3 * u.arcsec, 0.3 * u.arcsec,
    ...                       area=1 * u.deg**2, n_true=1)
    >>> bool(r.probability[0] > 0.99)
    True
    """
    lon1, lat1, lon2, lat2 = (np.asarray(a, dtype=float) for a in (lon1, lat1, lon2, lat2))
    e1 = as_errors(errors1, lon1.size, name="errors1")
    e2 = as_errors(errors2, lon2.size, name="errors2")
    nu = _check_densities(densities) if densities is not None else None
    if area is None:
        area_q, (n1, n2) = _counts_in_footprint([(lon1, lat1), (lon2, lat2)])
    else:
        area_q = _check_area(area)
        n1, n2 = lon1.size, lon2.size
    log_bf = log_bayes_factor_pairs(lon1, lat1, lon2, lat2, e1, e2, i1, i2)
    return posterior_from_log_bayes_factors(log_bf, n1, n2, area_q, densities=nu, n_true=n_true,
                                            completeness=completeness, max_iter=max_iter)


def posterior_from_log_bayes_factors(
    log_bf: np.ndarray,
    n1: float,
    n2: float,
    area: u.Quantity,
    *,
    densities: tuple[float, float] | None = None,
    n_true: float | None = None,
    completeness: float | None = None,
    max_iter: int = 100,
) -> MatchProbability:
    """The posteriors of pairs whose ``ln B`` is known, for catalogues of ``n1``, ``n2`` sources in ``area``.

    The second half of :func:`match_probability`, for callers that computed the Bayes factors
    elsewhere (per HEALPix partition on Dask). ``densities`` are per steradian (floats) and replace
    ``n / area``; then ``n1, n2`` become ``density * area``. See :func:`match_probability` for
    ``n_true`` and ``completeness``.
    """
    log_bf = np.asarray(log_bf, dtype=float)
    area_q = area.to(u.deg**2)
    omega = area_q.to_value(u.sr)
    if densities is not None:
        nu1, nu2 = densities
        n1, n2 = nu1 * omega, nu2 * omega
    if n1 == 0 or n2 == 0:
        raise MatchConfidenceError("a catalogue has no sources in the overlap area", code="empty")
    if densities is None:
        nu1, nu2 = n1 / omega, n2 / omega

    def prob_for(nt: float) -> tuple[np.ndarray, float]:
        p0 = prior_from_densities(nt / omega, [nu1, nu2])
        return posterior_probability(log_bf, p0), p0

    if n_true is not None and completeness is not None:
        raise MatchConfidenceError("give n_true or completeness, not both", code="bad-prior")
    if completeness is not None:
        if not 0 < completeness <= 1:
            raise MatchConfidenceError(
                f"completeness must be in (0, 1], got {completeness}", code="bad-prior", value=completeness
            )
        n_true = completeness * min(n1, n2)
    if n_true is not None:
        if not n_true > 0:
            raise MatchConfidenceError(f"n_true must be > 0, got {n_true}", code="bad-prior", value=n_true)
        prob, p0 = prob_for(float(n_true))
        return MatchProbability(prob, log_bf, p0, float(n_true), area_q)
    # Self-consistent N_*: the expected number of true pairs is the sum of the posteriors. Solve
    # g(y) = ln(sum P(e^y)) - y = 0 for y = ln N_* in (ln 1e-3, ln min(N1, N2)] by Newton's method
    # safeguarded by bisection: g is strictly decreasing (dg/dy = sum p(1-p) / sum p / (1 - P0) - 1
    # < 0), so the root is unique; about five evaluations.
    lo, hi = np.log(min(1e-3, min(n1, n2))), np.log(float(min(n1, n2)))

    def g_and_slope(y: float) -> tuple[float, float]:
        prob, p0 = prob_for(float(np.exp(y)))
        total = float(prob.sum())
        if total <= 0:
            return -np.inf, -1.0
        return np.log(total) - y, float((prob * (1 - prob)).sum()) / total / (1 - p0) - 1

    g_hi, _ = g_and_slope(hi)
    if g_hi >= 0:
        y = hi
    else:
        a, b = lo, hi
        y = np.log(0.5) + hi
        for _ in range(max_iter):
            g, slope = g_and_slope(y)
            if g > 0:
                a = y
            else:
                b = y
            step = -g / slope if np.isfinite(g) and slope < 0 else np.nan
            y_new = y + step if np.isfinite(step) else 0.5 * (a + b)
            if not a < y_new < b:
                y_new = 0.5 * (a + b)
            if abs(y_new - y) < 1e-7 or b - a < 1e-9:
                y = y_new
                break
            y = y_new
    nt = float(np.exp(y))
    prob, p0 = prob_for(nt)
    return MatchProbability(prob, log_bf, p0, nt, area_q)
