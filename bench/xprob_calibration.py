"""Calibration of the crossmatch match probabilities on simulated catalogues with known truth.

Run ``.venv/bin/python bench/xprob_calibration.py`` (quick sizes) or ``--full`` (larger catalogues).
Prints, for each scenario, the reliability table (bins of predicted probability: number of candidate
associations, mean prediction, observed fraction of true ones) and the expected calibration error
(ECE, the count-weighted mean |observed - predicted|), then the cost of the probabilities relative to
finding the pairs in the same run. Writes the reliability diagram to docs/crossmatch-reliability.png
(``--no-plot`` to skip).

Scenarios (bench/xprob_simulation.py): a primary catalogue and a secondary that detects 70 % of the
primary objects plus unrelated field sources, per-source errors log-uniform in 0.3-1.5 arcsec,
radius 8 arcsec, in a 0.4 x 0.4 deg field across RA = 0/360:

* ``BS08 circular, N* known``: Budavari & Szalay posterior with the true number of associations;
* ``BS08 circular, N* self-consistent``: N* estimated by iterating N* = sum of posteriors;
* ``BS08 circular, area estimated``: as above with the overlap area from HEALPix occupancy;
* ``BS08 elliptical``: error ellipses (axis ratio 0.3-1, random position angles);
* ``NWAY 3 catalogues``: a third catalogue (50 % detected), ``p_match`` of every combination.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import time
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.table import Table

from platform_lib.crossmatch import match_pairs, match_probability, nway_match

HERE = Path(__file__).resolve().parent
FIGURE = HERE.parent / "docs" / "crossmatch-reliability.png"
BINS = np.linspace(0, 1, 11)


def _sim():
    spec = importlib.util.spec_from_file_location("xprob_simulation", HERE / "xprob_simulation.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def reliability(pred: np.ndarray, truth: np.ndarray) -> tuple[list[tuple[int, float, float]], float]:
    idx = np.clip(np.digitize(pred, BINS) - 1, 0, len(BINS) - 2)
    rows, ece = [], 0.0
    for k in range(len(BINS) - 1):
        m = idx == k
        n = int(m.sum())
        rows.append((n, float(pred[m].mean()) if n else np.nan, float(truth[m].mean()) if n else np.nan))
        if n:
            ece += n * abs(truth[m].mean() - pred[m].mean())
    return rows, ece / max(pred.size, 1)


def two_way(sim, n: int, *, elliptical: bool, mode: str, seed: int):
    cats, area = sim.simulate(n, [(0.7, int(1.5 * n))], seed=seed, elliptical=elliptical)
    p, s = cats
    i1, i2, _ = match_pairs(p.lon, p.lat, s.lon, s.lat, 8 * u.arcsec)
    kw = {"known": {"area": area, "n_true": int((s.truth >= 0).sum())}, "auto": {"area": area}, "area": {}}[mode]
    r = match_probability(p.lon, p.lat, s.lon, s.lat, i1, i2, p.errors, s.errors, **kw)
    return r.probability, s.truth[i2] == i1


def three_way(sim, n: int, seed: int):
    cats, area = sim.simulate(n, [(0.7, n), (0.5, n)], seed=seed)
    tabs = [Table({"ra": c.lon, "dec": c.lat}) for c in cats]
    t = nway_match(*tabs, radius=8 * u.arcsec, errors=[c.errors for c in cats], area=area, completeness=[0.7, 0.5])
    prim = np.asarray(t["idx_primary"])
    right = np.ones(len(t), bool)
    for cat, name in ((cats[1], "cat1"), (cats[2], "cat2")):
        j = np.asarray(t[f"idx_{name}"])
        chosen = j >= 0
        member = np.zeros(len(t), bool)
        member[chosen] = cat.truth[j[chosen]] == prim[chosen]
        has = np.zeros(n, bool)
        has[prim[member]] = True
        right &= np.where(chosen, member, ~has[prim])
    return np.asarray(t["p_match"]), right


def timing(sim, n: int, seed: int) -> tuple[float, float, int]:
    cats, area = sim.simulate(n, [(0.7, int(1.5 * n))], seed=seed, box=(10.0, -1.0, 2.0, 2.0))
    p, s = cats
    t0 = time.perf_counter()
    i1, i2, _ = match_pairs(p.lon, p.lat, s.lon, s.lat, 8 * u.arcsec)
    t1 = time.perf_counter()
    match_probability(p.lon, p.lat, s.lon, s.lat, i1, i2, p.errors, s.errors, area=area)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, i1.size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="larger catalogues (20k primary sources; 10^6 timing)")
    ap.add_argument("--no-plot", action="store_true", help="do not write docs/crossmatch-reliability.png")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)
    n = 20_000 if args.full else 5_000
    n_time = 1_000_000 if args.full else 100_000
    sim = _sim()
    match_pairs(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 1 * u.arcsec)  # compile the kernel first

    scenarios = {
        "BS08 circular, N* known": lambda: two_way(sim, n, elliptical=False, mode="known", seed=args.seed),
        "BS08 circular, N* self-consistent": lambda: two_way(sim, n, elliptical=False, mode="auto", seed=args.seed),
        "BS08 circular, area estimated": lambda: two_way(sim, n, elliptical=False, mode="area", seed=args.seed),
        "BS08 elliptical, N* self-consistent": lambda: two_way(sim, n, elliptical=True, mode="auto", seed=args.seed),
        "NWAY 3 catalogues, p_match": lambda: three_way(sim, n, seed=args.seed),
    }
    print(f"# match-probability calibration, {n} primary sources per scenario; {platform.processor() or platform.machine()}")
    results = {}
    for name, fn in scenarios.items():
        pred, truth = fn()
        rows, ece = reliability(pred, truth)
        results[name] = (rows, ece, pred.size)
        print(f"\n## {name}: {pred.size} candidates, {int(truth.sum())} true, ECE = {ece:.4f}")
        print("| predicted bin | n | mean predicted | observed fraction |")
        print("| --- | ---: | ---: | ---: |")
        for k, (cnt, mp, obs) in enumerate(rows):
            if cnt:
                print(f"| {BINS[k]:.1f}-{BINS[k + 1]:.1f} | {cnt} | {mp:.3f} | {obs:.3f} |")

    t_pairs, t_prob, npairs = timing(sim, n_time, args.seed)
    print(f"\n## cost of the probabilities ({n_time} x {int(1.7 * n_time)} sources, {npairs} candidate pairs, 8 arcsec)")
    print("| step | seconds | ratio to pair finding |")
    print("| --- | ---: | ---: |")
    print(f"| match_pairs (engine) | {t_pairs:.3f} | 1.00 |")
    print(f"| match_probability (BS08, self-consistent N*, given area) | {t_prob:.3f} | {t_prob / t_pairs:.2f} |")

    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax, axh) = plt.subplots(2, 1, figsize=(6.4, 7.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
        markers = "osD^v"
        for (name, (rows, ece, size)), mk in zip(results.items(), markers):
            mp = [r[1] for r in rows if r[0] >= 10]
            ob = [r[2] for r in rows if r[0] >= 10]
            ax.plot(mp, ob, marker=mk, ms=5, lw=1, label=f"{name} (ECE {ece:.3f})")
            axh.plot(0.5 * (BINS[1:] + BINS[:-1]), [r[0] for r in rows], marker=mk, ms=3, lw=1)
        ax.set_ylabel("observed fraction of true associations")
        ax.set_title(f"Match-probability reliability ({n} simulated primary sources)")
        ax.legend(fontsize=7, loc="upper left")
        axh.set_yscale("log")
        axh.set_xlabel("predicted probability")
        axh.set_ylabel("candidates per bin")
        fig.tight_layout()
        FIGURE.parent.mkdir(exist_ok=True)
        tmp = FIGURE.with_suffix(".tmp.png")
        fig.savefig(tmp, dpi=110)
        tmp.replace(FIGURE)
        print(f"\nwrote {FIGURE.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
