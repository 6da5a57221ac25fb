"""The GW tutorial's sky-map steps on the public alert map S190814bv, against ligo.skymap in the same run.

The map is the platform's sample data (nside 1024, flat NESTED, 3-D: 12.6 million pixels; the same
file ``examples/gw-skymap.ipynb`` reads). The catalogue is the tutorial's: the OpenNGC galaxies and
the Hipparcos stars (all sky, about 130,000 rows), then the galaxies with a redshift at their
Planck 2018 luminosity distance for the 3-D match. Each step is timed for ``platform_lib.skymap``
and, where ligo.skymap has the same step, for ligo.skymap (``io.read_sky_map(moc=True)``,
``postprocess.crossmatch``): best of ``--repeat`` runs (a read is timed once per repeat too), and
the ratio. Figures go to docs/benchmarks.md, with the machine's load.

    .venv/bin/python bench/skymap_alert.py [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings

import numpy as np

from harness import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.cosmology import Planck18

    from platform_lib import viz
    from platform_lib.sampledata import hipparcos_table, openngc_table, packaged_skymaps
    from platform_lib.skymap import match_skymap, read_skymap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ligo.skymap.io import read_sky_map
        from ligo.skymap.postprocess.crossmatch import crossmatch

    path = str({i.name: p for i, p in packaged_skymaps()[0]}["S190814bv_LALInference.v1.fits.gz"])
    galaxies = openngc_table()
    galaxies = galaxies[galaxies["type"] == "G"]
    stars = hipparcos_table()
    z = np.ma.filled(galaxies["redshift"], np.nan).astype(float)
    with_z = galaxies[np.isfinite(z) & (z > 0)]
    dist = Planck18.luminosity_distance(np.asarray(with_z["redshift"], dtype=float)).to(u.Mpc)
    sky = SkyCoord(np.r_[np.asarray(galaxies["ra"], float), np.asarray(stars["ra"], float)] * u.deg,
                   np.r_[np.asarray(galaxies["dec"], float), np.asarray(stars["dec"], float)] * u.deg)
    sky3 = SkyCoord(np.asarray(with_z["ra"], float) * u.deg, np.asarray(with_z["dec"], float) * u.deg, distance=dist)

    rows = []

    def step(name, ours, theirs=None):
        t_ours, out = best_of(ours, args.repeat)
        t_ref = best_of(theirs, args.repeat)[0] if theirs is not None else None
        rows.append({"step": name, "ours_s": t_ours, "ligo_skymap_s": t_ref,
                     "ratio": (t_ref / t_ours) if t_ref else None})
        ref = f"{t_ref:8.3f} s  x{t_ref / t_ours:7.1f}" if t_ref else ""
        print(f"{name:44s} {t_ours:8.3f} s  {ref}", flush=True)
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skymap = step("read the map", lambda: read_skymap(path), lambda: read_sky_map(path, moc=True))
        moc_table = read_sky_map(path, moc=True)
        step("50 % and 90 % credible areas (new map object)", lambda: _areas(_fresh(skymap)))
        step(f"match {len(sky)} galaxies + stars (2-D, in 50/90 %)",
             lambda: match_skymap(sky, skymap), lambda: crossmatch(moc_table, sky, contours=(0.5, 0.9)))
        step(f"match {len(sky3)} galaxies with distances (3-D, new map object)",
             lambda: match_skymap(sky3, _fresh(skymap)), lambda: crossmatch(moc_table, sky3, contours=(0.5, 0.9)))
        step("  the same 3-D match again (the map keeps its voxel grid)", lambda: match_skymap(sky3, skymap))
        step("plot: all sky with contours and candidates",
             lambda: viz.plot(skymap, candidates=galaxies[:200]).savefig(os.devnull, format="png"))
        step("plot: zoom on the peak with contours",
             lambda: viz.plot(skymap, center="peak", radius=6 * u.deg).savefig(os.devnull, format="png"))
        step("widget layer: 50 % and 90 % credible MOCs", lambda: [viz.credible_region(skymap, lv) for lv in (0.5, 0.9)])
    total = sum(r["ours_s"] for r in rows)
    print(f"{'all steps (ours)':44s} {total:8.3f} s")
    print("load average:", " ".join(f"{x:.1f}" for x in os.getloadavg()), "on", os.cpu_count(), "CPUs")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "total_s": total, "load": os.getloadavg()}, f, indent=1)


def _areas(m):
    return m.credible_area(0.5), m.credible_area(0.9)


def _fresh(m):
    """A new map object with the same pixels (nothing cached): what a fresh read gives."""
    from platform_lib.skymap import SkyMap

    return SkyMap(uniq=m.uniq, probdensity=m.probdensity, distmu=m.distmu, distsigma=m.distsigma,
                  distnorm=m.distnorm, meta=m.meta)


if __name__ == "__main__":
    main()
