"""Property tests of the public crossmatch() (tables in, rows out) against a brute-force reference.

Positions cluster at the places where the algorithm has edges (both poles, RA = 0/360, the equator),
with exact duplicates on both sides, NaN rows, and empty inputs; every mode, Tables and DataFrames.
The kernel alone is tested in test_crossmatch_engine.py; this checks what the API adds around it
(row numbering after dropped rows, assembling rows, suffixes, the output order).
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
from astropy.table import Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brute_force import ANCHORS, check_k_nearest, reference  # tests/support/, on the path by tests/conftest.py
from platform_lib.crossmatch import DroppedRowsWarning, crossmatch


@st.composite
def _catalogues(draw):
    """(left, right, radius in arcsec) as Tables with ``id`` columns; some coordinates NaN."""
    radius = draw(st.sampled_from([0.5, 5.0, 90.0]))
    spread = radius * draw(st.sampled_from([0.5, 3.0])) / 3600.0

    def points(n):
        ra, dec = [], []
        for _ in range(n):
            a, d = draw(ANCHORS)
            ra.append((a + draw(st.floats(-1, 1)) * spread) % 360.0)
            dec.append(float(np.clip(d + draw(st.floats(-1, 1)) * spread, -90, 90)))
        return np.array(ra, dtype=float), np.array(dec, dtype=float)

    (ra1, dec1), (ra2, dec2) = points(draw(st.integers(0, 12))), points(draw(st.integers(0, 12)))
    if ra1.size and draw(st.booleans()):  # exact duplicates across and within the catalogues
        ra2, dec2 = np.concatenate([ra2, ra1[:2]]), np.concatenate([dec2, dec1[:2]])
        ra1, dec1 = np.concatenate([ra1, ra1[:1]]), np.concatenate([dec1, dec1[:1]])
    for ra in (ra1, ra2):
        if ra.size and draw(st.booleans()):
            ra[draw(st.integers(0, ra.size - 1))] = np.nan
    left = Table({"ra": ra1, "dec": dec1, "id": np.arange(ra1.size)})
    right = Table({"ra": ra2, "dec": dec2, "id": np.arange(ra2.size) + 1000})
    return left, right, radius


def _run(left, right, radius, as_pandas, **kw):
    """crossmatch() with the DroppedRowsWarnings it raises checked against the NaN rows."""
    lin, rin = (left.to_pandas(), right.to_pandas()) if as_pandas else (left, right)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always", DroppedRowsWarning)
        out = crossmatch(lin, rin, radius * u.arcsec, **kw)
    expected = sorted(f"{int(np.isnan(t['ra']).sum())} {side} rows" for t, side in ((left, "left"), (right, "right"))
                      if np.isnan(t["ra"]).any())
    assert sorted(" ".join(str(w.message).split()[:3]) for w in rec) == expected
    return out


def _reference(left, right, radius):
    """The brute-force :func:`~brute_force.reference` of two Tables' ``ra`` and ``dec``."""
    return reference(left["ra"], left["dec"], right["ra"], right["dec"], radius)


def _ids(out):
    return np.asarray(out["id_1"], dtype=np.int64), np.asarray(out["id_2"], dtype=np.int64) - 1000


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_catalogues(), st.booleans())
def test_all_pairs_equal_brute_force(case, as_pandas):
    left, right, radius = case
    out = _run(left, right, radius, as_pandas, mode="all")
    ref = _reference(left, right, radius)
    i1, i2 = _ids(out)
    got = set(zip(i1.tolist(), i2.tolist()))
    assert len(got) == len(out) and ref.strict <= got <= ref.loose
    if len(out):
        s = np.asarray(out["separation_arcsec"], dtype=float)
        assert np.allclose(s, ref.sep[i1, i2], rtol=0, atol=1e-6)
        assert np.all(np.diff(i1) >= 0)  # ordered by left row, then separation
        assert all(np.all(np.diff(s[i1 == r]) >= 0) for r in np.unique(i1))
        # the output rows are the input rows: the coordinates carried over match the ids
        assert np.array_equal(np.asarray(out["ra_1"]), np.asarray(left["ra"])[i1])
        assert np.array_equal(np.asarray(out["dec_2"]), np.asarray(right["dec"])[i2])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_catalogues(), st.sampled_from([("nearest", None), ("k", 1), ("k", 2), ("k", 3)]), st.booleans())
def test_nearest_and_k_nearest_equal_brute_force(case, mode_k, as_pandas):
    left, right, radius = case
    mode, k = mode_k
    out = _run(left, right, radius, as_pandas, mode=mode, k=k)
    i1, _ = _ids(out)
    check_k_nearest(_reference(left, right, radius), radius, k or 1, i1,
                    np.asarray(out["separation_arcsec"], dtype=float))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_catalogues(), st.booleans())
def test_best_equals_brute_force_mutual_nearest(case, as_pandas):
    """mode='best': each pair's rows are each other's nearest; every such pair without ties is found."""
    left, right, radius = case
    out = _run(left, right, radius, as_pandas, mode="best")
    ref = _reference(left, right, radius)
    sep, tol = ref.sep, ref.tol
    i1, i2 = _ids(out)
    assert len(set(i1.tolist())) == len(out) and len(set(i2.tolist())) == len(out)  # each row at most once
    s = np.asarray(out["separation_arcsec"], dtype=float)
    for a, b, d in zip(i1, i2, s):
        assert d <= radius + tol
        assert d <= sep[a].min() + 1e-6 and d <= sep[:, b].min() + 1e-6  # nearest both ways
    got = set(zip(i1.tolist(), i2.tolist()))
    for a in range(len(left)):
        if not np.isfinite(sep[a]).any() or sep[a].min() >= radius - tol:
            continue
        b = int(np.argmin(sep[a]))
        unique_row = np.sum(np.abs(sep[a] - sep[a, b]) <= 1e-6) == 1
        unique_col = np.sum(np.abs(sep[:, b] - sep[a, b]) <= 1e-6) == 1
        if unique_row and unique_col and int(np.argmin(sep[:, b])) == a:
            assert (a, b) in got  # a strict mutual nearest pair, no ties: always kept


def test_empty_inputs_give_empty_outputs_with_all_columns():
    empty = Table({"ra": np.zeros(0), "dec": np.zeros(0), "id": np.zeros(0, dtype=int)})
    full = Table({"ra": [10.0], "dec": [0.0], "id": [1]})
    for left, right in ((empty, full), (full, empty), (empty, empty)):
        for as_pandas in (False, True):
            for mode in ("nearest", "all"):
                out = _run(left, right, 1.0, as_pandas, mode=mode)
                cols = list(out.columns) if as_pandas else out.colnames
                assert len(out) == 0
                assert cols == ["ra_1", "dec_1", "id_1", "ra_2", "dec_2", "id_2", "separation_arcsec"]
