"""Calibration of the match probabilities on simulated catalogues with known truth.

A moderate simulation (a few thousand sources, per-source errors 0.3-1.5 arcsec, densities chosen so
that many pairs are ambiguous) from ``bench/xprob_simulation.py``. In bins of predicted probability
the observed fraction of true matches must agree with the mean prediction: this fails if the Bayes
factor, its normalisation or the prior is wrong (e.g. a missing 4 pi, sigma instead of the summed
variance, or densities off by a factor of two all move several bins by > 0.1).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table

from platform_lib.crossmatch._bayes import match_probability
from platform_lib.crossmatch._nway import _pairs, nway_match

SIM_PATH = Path(__file__).resolve().parents[2] / "bench" / "xprob_simulation.py"


def _sim():
    spec = importlib.util.spec_from_file_location("xprob_simulation", SIM_PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _assert_calibrated(pred: np.ndarray, truth: np.ndarray, *, tol: float = 0.05, ece_tol: float = 0.02):
    """Binned reliability: every bin within tol + 3 binomial sigma; expected calibration error < ece_tol."""
    bins = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(pred, bins) - 1, 0, 9)
    ece = 0.0
    used = 0
    for k in range(10):
        m = idx == k
        n = int(m.sum())
        if n < 20:
            continue
        used += 1
        p_mean, obs = pred[m].mean(), truth[m].mean()
        sigma = np.sqrt(max(p_mean * (1 - p_mean), 1e-4) / n)
        assert abs(obs - p_mean) < tol + 3 * sigma, f"bin {k}: predicted {p_mean:.3f}, observed {obs:.3f} (n={n})"
        ece += n * abs(obs - p_mean)
    assert used >= 6, "the simulation should populate most probability bins"
    assert ece / pred.size < ece_tol
    # the probabilities carry information: true pairs get high, false pairs low probabilities
    assert pred[truth].mean() > 0.75 and pred[~truth].mean() < 0.15


@pytest.mark.parametrize("elliptical", [False, True])
def test_two_catalogue_posteriors_are_calibrated(elliptical):
    cats, area = _sim().simulate(4000, [(0.7, 6000)], seed=11, elliptical=elliptical)
    p, s = cats
    i1, i2 = _pairs(p.lon, p.lat, s.lon, s.lat, 8 * u.arcsec)
    r = match_probability(p.lon, p.lat, s.lon, s.lat, i1, i2, p.errors, s.errors, area=area)
    truth = s.truth[i2] == i1
    _assert_calibrated(r.probability, truth)
    # the self-consistent number of true associations is close to the simulated one
    assert r.n_true == pytest.approx((s.truth >= 0).sum(), rel=0.05)


def test_wrong_prior_is_detected_by_the_same_check():
    """The check has teeth: a prior 20x too high (densities 20x too low) is not calibrated."""
    cats, area = _sim().simulate(4000, [(0.7, 6000)], seed=11)
    p, s = cats
    i1, i2 = _pairs(p.lon, p.lat, s.lon, s.lat, 8 * u.arcsec)
    r = match_probability(p.lon, p.lat, s.lon, s.lat, i1, i2, p.errors, s.errors,
                          area=area * 20, n_true=(s.truth >= 0).sum())
    with pytest.raises(AssertionError):
        _assert_calibrated(r.probability, s.truth[i2] == i1)


def test_three_catalogue_nway_probabilities_are_calibrated():
    cats, area = _sim().simulate(3000, [(0.7, 4000), (0.5, 3000)], seed=5)
    tabs = [Table({"ra": c.lon, "dec": c.lat}) for c in cats]
    t = nway_match(*tabs, radius=8 * u.arcsec, errors=[c.errors for c in cats], area=area,
                   completeness=[0.7, 0.5], names=["x", "o", "ir"])
    prim = np.asarray(t["idx_x"])
    # A row is right when every member is the true counterpart and every absence is real (the true
    # counterpart is not among the candidates).
    right = np.ones(len(t), bool)
    for cat, name in ((cats[1], "o"), (cats[2], "ir")):
        j = np.asarray(t[f"idx_{name}"])
        chosen = j >= 0
        true_member = np.zeros(len(t), bool)
        true_member[chosen] = cat.truth[j[chosen]] == prim[chosen]
        has_true = np.zeros(len(cats[0]), bool)
        has_true[prim[true_member]] = True
        right &= np.where(chosen, true_member, ~has_true[prim])
    _assert_calibrated(np.asarray(t["p_match"]), right)
    # p_any per primary source against "some true counterpart is among the candidates"
    first = np.r_[True, prim[1:] != prim[:-1]]
    has_any = np.zeros(len(cats[0]), bool)
    has_any[prim[right & (np.asarray(t["ncat"]) > 1)]] = True
    p_any = np.asarray(t["p_any"])[first]
    assert p_any.mean() == pytest.approx(has_any[prim[first]].mean(), abs=0.02)
    # p_i sums to one per primary source
    sums = np.add.reduceat(np.asarray(t["p_i"]), np.flatnonzero(first))
    np.testing.assert_allclose(sums, 1.0, rtol=1e-9)
