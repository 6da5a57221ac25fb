"""Benchmark: what searching kstars-data's comets as well as its asteroids costs ``bodies_in_images``.

The real catalogues: 7,098 asteroids (``default_orbits``, the peer) and those plus 1,566 comets
(``known_orbits``, the default since mo7b), for single 10 arcmin images (half on the ecliptic) at random
times of 2024: every orbit placed (what the archive's ``moving/bodies`` route did before its day cache), and
from an ephemeris cache of each catalogue over 30 days. Medians of per-image wall times, the two catalogues
interleaved image by image so load on a shared machine hits both alike. Budget: 10 ms an image.

Usage: ``.venv/bin/python bench/moving_comets.py [--images N] [--days D]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def image_centre(k: int, rng):
    """A random image centre: odd ``k`` near the ecliptic (|beta| < 3 deg), even ``k`` uniform on the sky."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    if k % 2:
        return SkyCoord(rng.uniform(0, 360) * u.deg, rng.uniform(-3, 3) * u.deg, frame="barycentrictrueecliptic").icrs
    return SkyCoord(rng.uniform(0, 360) * u.deg, np.degrees(np.arcsin(rng.uniform(-1, 1))) * u.deg)


def main() -> None:
    import astropy.units as u
    from astropy.time import Time

    from platform_lib.moving import bodies_in_images, build_cache, default_orbits, known_orbits
    from platform_lib.moving.reverse import cone_image

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    a = ap.parse_args()
    catalogues = {"asteroids": default_orbits(), "asteroids+comets": known_orbits()}
    t0 = Time("2024-01-01")
    caches = {k: build_cache(o, t0, a.days) for k, o in catalogues.items()}
    rng = np.random.default_rng(5)
    images = []
    for k in range(a.images):
        images.append(cone_image(image_centre(k, rng), 5 * u.arcmin, t0 + rng.uniform(0.5, a.days - 1) * u.day,
                                 obs_id=f"img{k}"))
    times = {(k, mode): [] for k in catalogues for mode in ("every orbit", "cache")}
    for name, orbits in catalogues.items():  # warm up
        bodies_in_images(images[:1], orbits=orbits)
    for im in images:
        for name, orbits in catalogues.items():
            for mode, cache in (("every orbit", None), ("cache", caches[name])):
                s = time.perf_counter()
                bodies_in_images([im], orbits=orbits, cache=cache)
                times[name, mode].append(time.perf_counter() - s)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {a.images} images")
    for mode in ("every orbit", "cache"):
        ast = statistics.median(times["asteroids", mode]) * 1e3
        both = statistics.median(times["asteroids+comets", mode]) * 1e3
        print(f"{mode}: asteroids {ast:.2f} ms, asteroids+comets {both:.2f} ms an image (ratio {both / ast:.2f})")


if __name__ == "__main__":
    main()
