"""Unit tests of the Budavari & Szalay (2008) Bayes factors and posteriors (crossmatch._bayes)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u

from platform_lib.crossmatch._bayes import (
    MatchConfidenceError,
    PositionalErrors,
    estimate_area,
    log_bayes_factor,
    log_bayes_factor_pairs,
    match_probability,
    posterior_probability,
    prior_from_densities,
    tangent_offsets,
)
from platform_lib.errors import PlatformError

ARCSEC = np.pi / 180 / 3600


def _offset(lon0, lat0, east_arcsec, north_arcsec):
    """Position at a small (east, north) offset, exact enough for these tests (inverse gnomonic)."""
    xi, eta = east_arcsec * ARCSEC, north_arcsec * ARCSEC
    a0, d0 = np.radians(lon0), np.radians(lat0)
    rho = np.hypot(xi, eta)
    c = np.arctan(rho)
    ratio = eta * np.sin(c) / np.where(rho > 0, rho, 1.0)
    dec = np.arcsin(np.cos(c) * np.sin(d0) + ratio * np.cos(d0))
    ra = a0 + np.arctan2(xi * np.sin(c), rho * np.cos(d0) * np.cos(c) - eta * np.sin(d0) * np.sin(c))
    return np.degrees(ra) % 360, np.degrees(dec)


@pytest.mark.parametrize("lon0,lat0", [(10.0, 20.0), (359.9999, 0.0), (0.0001, -45.0), (123.0, 89.9999)])
def test_two_way_circular_matches_bs08_eq16(lon0, lat0):
    # BS08 eq. (16): B = 2 / (s1^2 + s2^2) exp(-psi^2 / (2 (s1^2 + s2^2))), radians.
    s1, s2 = 0.4, 0.9
    lon2, lat2 = _offset(lon0, lat0, 0.7, -0.5)
    lnb = log_bayes_factor_pairs(
        np.array([lon0]), np.array([lat0]), np.array([lon2]), np.array([lat2]),
        PositionalErrors.circular(s1 * u.arcsec), PositionalErrors.circular(s2 * u.arcsec),
        np.array([0]), np.array([0]),
    )[0]
    s = (s1**2 + s2**2) * ARCSEC**2
    psi = np.hypot(0.7, 0.5) * ARCSEC
    assert lnb == pytest.approx(np.log(2 / s) - psi**2 / (2 * s), rel=1e-6)


def test_n_way_circular_matches_bs08_closed_form():
    rng = np.random.default_rng(4)
    n = 4
    sig = rng.uniform(0.2, 1.5, n) * ARCSEC
    east, north = rng.normal(0, 0.8, n), rng.normal(0, 0.8, n)
    pts = [_offset(200.0, -30.0, e, nn) for e, nn in zip(east, north)]
    lon = np.array([[p[0] for p in pts]])
    lat = np.array([[p[1] for p in pts]])
    var = (sig**2)[None, :]
    lnb = log_bayes_factor(lon, lat, var, np.zeros_like(var), var)[0]
    w = 1 / sig**2
    q = sum(
        w[i] * w[j] * (np.hypot(east[i] - east[j], north[i] - north[j]) * ARCSEC) ** 2
        for i in range(n)
        for j in range(i + 1, n)
    )
    expected = (n - 1) * np.log(2) + np.log(w).sum() - np.log(w.sum()) - q / (2 * w.sum())
    assert lnb == pytest.approx(expected, rel=1e-7)


def test_general_form_equals_pair_form_for_ellipses():
    rng = np.random.default_rng(7)
    m = 50
    lon1, lat1 = rng.uniform(0, 360, m), rng.uniform(-80, 80, m)
    lon2, lat2 = _offset(lon1, lat1, rng.normal(0, 1, m), rng.normal(0, 1, m))
    a = rng.uniform(0.3, 2, m) * u.arcsec
    e1 = PositionalErrors.ellipse(a, a * rng.uniform(0.2, 1, m), rng.uniform(0, 180, m) * u.deg)
    e2 = PositionalErrors.circular(rng.uniform(0.1, 1, m) * u.arcsec)
    idx = np.arange(m)
    pair = log_bayes_factor_pairs(lon1, lat1, lon2, lat2, e1, e2, idx, idx)
    c1, c2 = e1.take(idx), e2.take(idx)
    general = log_bayes_factor(
        np.column_stack([lon1, lon2]), np.column_stack([lat1, lat2]),
        *(np.column_stack([x, y]) for x, y in zip(c1, c2)),
    )
    np.testing.assert_allclose(general, pair, rtol=1e-9)


def test_ellipse_with_equal_axes_is_circular_and_rotation_is_consistent():
    lon0, lat0 = 45.0, 10.0
    circ = PositionalErrors.circular(0.8 * u.arcsec)
    round_ellipse = PositionalErrors.ellipse(0.8 * u.arcsec, 0.8 * u.arcsec, 33 * u.deg)
    np.testing.assert_allclose([round_ellipse.cov_ee, round_ellipse.cov_en, round_ellipse.cov_nn],
                               [circ.cov_ee, 0, circ.cov_nn], atol=1e-30)
    # An offset along the major axis is more probable than the same offset along the minor axis.
    ell = PositionalErrors.ellipse(2.0 * u.arcsec, 0.3 * u.arcsec, 60 * u.deg)
    tiny = PositionalErrors.circular(1e-3 * u.arcsec)
    pa = np.radians(60)
    along = _offset(lon0, lat0, 1.0 * np.sin(pa), 1.0 * np.cos(pa))
    across = _offset(lon0, lat0, 1.0 * np.cos(pa), -1.0 * np.sin(pa))
    lnb = [
        log_bayes_factor_pairs(np.array([lon0]), np.array([lat0]), np.array([p[0]]), np.array([p[1]]),
                               ell, tiny, np.array([0]), np.array([0]))[0]
        for p in (along, across)
    ]
    det = (2.0 * 0.3 * ARCSEC**2) ** 2
    assert lnb[0] == pytest.approx(np.log(2) - 0.5 * np.log(det) - 0.5 * (1 / 2.0) ** 2, rel=1e-4)
    assert lnb[1] == pytest.approx(np.log(2) - 0.5 * np.log(det) - 0.5 * (1 / 0.3) ** 2, rel=1e-4)


def test_bayes_factor_is_a_normalised_density_over_the_offset():
    # B / (4 pi) is the probability density of the offset under H: it integrates to 1 over the plane.
    ell = PositionalErrors.ellipse(1.2 * u.arcsec, 0.5 * u.arcsec, 20 * u.deg)
    other = PositionalErrors.circular(0.4 * u.arcsec)
    g = np.linspace(-8, 8, 321)
    ee, nn = np.meshgrid(g, g)
    lon2, lat2 = _offset(30.0, 5.0, ee.ravel(), nn.ravel())
    z = np.zeros(lon2.size, dtype=int)
    lnb = log_bayes_factor_pairs(np.array([30.0]), np.array([5.0]), lon2, lat2, ell, other, z, np.arange(z.size))
    integral = np.exp(lnb).sum() / (4 * np.pi) * (g[1] - g[0]) ** 2 * ARCSEC**2
    assert integral == pytest.approx(1.0, rel=1e-3)


def test_tangent_offsets_across_ra_zero_and_pole():
    xi, eta = tangent_offsets(np.array([359.9999]), np.array([0.0]), np.array([0.0001]), np.array([0.0]))
    assert np.degrees(xi[0]) * 3600 == pytest.approx(0.72, rel=1e-6)
    assert abs(eta[0]) < 1e-12
    xi, eta = tangent_offsets(np.array([0.0]), np.array([90.0]), np.array([90.0]), np.array([90 - 1 / 3600]))
    assert np.degrees(np.hypot(xi, eta))[0] * 3600 == pytest.approx(1.0, rel=1e-6)


def test_posterior_formula_and_prior():
    prior = prior_from_densities(1e6, [2e6, 5e6])
    assert prior == pytest.approx(1e6 / (4 * np.pi * 2e6 * 5e6))
    lnb = np.array([-5.0, 0.0, 10.0, 30.0, 2000.0, -2000.0])
    p = posterior_probability(lnb, prior)
    with np.errstate(over="ignore", divide="ignore"):
        expected = 1 / (1 + (1 - prior) / (np.exp(lnb) * prior))
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert p[-2] == 1.0 and p[-1] == 0.0


def test_match_probability_known_pair_and_self_consistent_prior():
    lon1 = np.array([10.0, 10.1])
    lat1 = np.array([0.0, 0.0])
    lon2, lat2 = _offset(lon1, lat1, np.array([0.1, 3.0]), np.array([0.0, 0.0]))
    r = match_probability(lon1, lat1, lon2, lat2, np.array([0, 1]), np.array([0, 1]),
                          0.3 * u.arcsec, 0.3 * u.arcsec, area=0.01 * u.deg**2, n_true=2)
    assert r.probability[0] > 0.999
    assert r.probability[1] < 1e-6  # 3 arcsec with 0.42 arcsec combined error
    assert r.prior == pytest.approx(2 / (4 * np.pi * 2 * 2 / (0.01 * (np.pi / 180) ** 2)), rel=1e-9)
    auto = match_probability(lon1, lat1, lon2, lat2, np.array([0, 1]), np.array([0, 1]),
                             0.3 * u.arcsec, 0.3 * u.arcsec, area=0.01 * u.deg**2)
    assert auto.n_true == pytest.approx(auto.probability.sum(), rel=1e-3)


def test_estimate_area_of_a_uniform_field():
    rng = np.random.default_rng(2)
    n = 20000
    lon = rng.uniform(100, 102, n)
    lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(10)), np.sin(np.radians(12)), n)))
    true = np.radians(2) * (np.sin(np.radians(12)) - np.sin(np.radians(10))) * u.sr
    area = estimate_area([(lon, lat), (lon[: n // 2], lat[: n // 2])])
    # edge cells count by their covered fraction: within 3 %
    assert area.to_value(u.deg**2) == pytest.approx(true.to_value(u.deg**2), rel=0.03)


@pytest.mark.parametrize(
    "errors,code",
    [
        (0.5, "error-without-units"),
        (0.5 * u.m, "error-wrong-units"),
        (np.array([0.5, -0.1]) * u.arcsec, "error-not-positive"),
        (np.array([0.5, 0.0]) * u.arcsec, "error-not-positive"),
        (np.array([0.5, np.nan]) * u.arcsec, "error-not-finite"),
        (np.array([0.5, 0.5, 0.5]) * u.arcsec, "error-wrong-length"),
        ((1 * u.arcsec, -1 * u.arcsec, 0 * u.deg), "error-not-positive"),
        ("0.5 arcsec", "error-wrong-type"),
    ],
)
def test_bad_errors_are_clear(errors, code):
    with pytest.raises(MatchConfidenceError) as info:
        match_probability(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.array([0]), np.array([0]),
                          errors, 0.5 * u.arcsec, area=1 * u.deg**2, n_true=1)
    assert info.value.code == code
    assert isinstance(info.value, PlatformError) and isinstance(info.value, ValueError)
    assert "errors1" in str(info.value)


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"area": 1.0, "n_true": 1}, "area-without-units"),
        ({"area": 1 * u.arcsec, "n_true": 1}, "area-without-units"),
        ({"area": 0 * u.deg**2, "n_true": 1}, "bad-area"),
        ({"area": 1 * u.deg**2, "n_true": 1, "completeness": 0.5}, "bad-prior"),
        ({"area": 1 * u.deg**2, "completeness": 1.5}, "bad-prior"),
        ({"area": 1 * u.deg**2, "n_true": -3}, "bad-prior"),
    ],
)
def test_bad_priors_and_areas_are_clear(kwargs, code):
    with pytest.raises(MatchConfidenceError) as info:
        match_probability(np.zeros(2), np.zeros(2), np.zeros(2), np.zeros(2), np.array([0]), np.array([0]),
                          0.5 * u.arcsec, 0.5 * u.arcsec, **kwargs)
    assert info.value.code == code


def test_public_crossmatch_uses_these_probabilities():
    """Contract with the engine: crossmatch(..., probability=True) returns match_probability's values."""
    from astropy.table import Table

    from platform_lib.crossmatch import crossmatch, match_pairs

    rng = np.random.default_rng(8)
    n = 400
    lon1 = rng.uniform(20, 20.2, n)
    lat1 = rng.uniform(5, 5.2, n)
    lon2, lat2 = _offset(lon1, lat1, rng.normal(0, 0.5, n), rng.normal(0, 0.5, n))
    err1 = rng.uniform(0.2, 0.6, n) * u.arcsec
    err2 = rng.uniform(0.2, 0.6, n) * u.arcsec
    out = crossmatch(Table({"ra": lon1, "dec": lat1}), Table({"ra": lon2, "dec": lat2}), 3 * u.arcsec, mode="all",
                     probability=True, left_errors=err1, right_errors=err2)
    i1, i2, _ = match_pairs(lon1, lat1, lon2, lat2, 3 * u.arcsec)
    direct = match_probability(lon1, lat1, lon2, lat2, i1, i2, err1, err2)
    assert len(out) == i1.size
    np.testing.assert_allclose(np.sort(np.asarray(out["match_probability"])), np.sort(direct.probability), rtol=1e-9)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(0, 360, exclude_max=True),
    lat=st.floats(-89.9, 89.9),
    east=st.floats(-3, 3),
    north=st.floats(-3, 3),
    a=st.floats(0.1, 3),
    ratio=st.floats(0.1, 1),
    pa=st.floats(0, 360),
    sigma=st.floats(0.05, 2),
)
def test_pair_bayes_factor_symmetry_and_rotation(lon, lat, east, north, a, ratio, pa, sigma):
    """ln B does not depend on which catalogue is first, nor on rotating offset and ellipse together."""
    ell = PositionalErrors.ellipse(a * u.arcsec, a * ratio * u.arcsec, pa * u.deg)
    circ = PositionalErrors.circular(sigma * u.arcsec)
    lon2, lat2 = _offset(lon, lat, east, north)
    one = np.array([0])
    args = (np.array([lon]), np.array([lat]), np.array([lon2]), np.array([lat2]))
    forward = log_bayes_factor_pairs(*args, ell, circ, one, one)[0]
    backward = log_bayes_factor_pairs(args[2], args[3], args[0], args[1], circ, ell, one, one)[0]
    assert forward == pytest.approx(backward, rel=1e-6, abs=1e-6)
    # rotate the offset and the position angle by the same angle, at a fixed equatorial point
    rot = np.radians(37.0)
    e2 = east * np.cos(rot) + north * np.sin(rot)
    n2 = -east * np.sin(rot) + north * np.cos(rot)
    ell2 = PositionalErrors.ellipse(a * u.arcsec, a * ratio * u.arcsec, (pa + 37.0) * u.deg)
    l1, b1 = _offset(50.0, 0.0, east, north)
    l2, b2 = _offset(50.0, 0.0, e2, n2)
    base = (np.array([50.0]), np.array([0.0]))
    r1 = log_bayes_factor_pairs(*base, np.array([l1]), np.array([b1]), ell, circ, one, one)[0]
    r2 = log_bayes_factor_pairs(*base, np.array([l2]), np.array([b2]), ell2, circ, one, one)[0]
    assert r1 == pytest.approx(r2, rel=1e-6, abs=1e-6)
