"""Benchmark: the archive's ``moving/bodies`` route with its per-day ephemeris cache against placing every orbit.

A night of single 10 arcmin images (half on the ecliptic) at random times of one UTC night, as
``bodies_in_image`` answers the route: the peer places every orbit of ``known_orbits()`` (kstars-data's
asteroids and comets; what the route did before), the route's own ``DayCaches`` (``astrohub_archive.moving``)
tabulates the day once and then places only the bodies near each image. The two interleaved image by image,
so load on a shared machine hits both alike; medians of per-image wall times, the day's first image (which
builds the day) shown apart. The answers are asserted equal.

Usage: ``.venv/bin/python bench/moving_bodies_route.py [--images N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from moving_comets import image_centre  # bench/, beside this file


def main() -> None:
    import astropy.units as u
    from astropy.time import Time

    from astrohub_archive.moving import DayCaches
    from platform_lib.moving import bodies_in_image, known_orbits
    from platform_lib.moving.reverse import cone_image

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    a = ap.parse_args()
    orbits = known_orbits()
    night = Time("2024-03-01T20:00")
    rng = np.random.default_rng(8)
    images = []
    for k in range(a.images):
        images.append(cone_image(image_centre(k, rng), 5 * u.arcmin, night + rng.uniform(0, 8) * u.hour))
    bodies_in_image(images[0], orbits=orbits)  # warm up (imports, the ephemeris file)
    days = DayCaches(orbits)
    s = time.perf_counter()
    bodies_in_image(images[0], orbits=orbits, cache=days)
    first_s = time.perf_counter() - s
    times = {"every orbit": [], "day cache": []}
    for im in images:
        got = {}
        for mode, cache in (("every orbit", None), ("day cache", days)):
            s = time.perf_counter()
            got[mode] = sorted(bodies_in_image(im, orbits=orbits, cache=cache)["body"])
            times[mode].append(time.perf_counter() - s)
        assert got["every orbit"] == got["day cache"], got
    every, cached = (statistics.median(times[m]) * 1e3 for m in ("every orbit", "day cache"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {len(orbits)} orbits, {a.images} "
          f"images of one night")
    print(f"every orbit {every:.2f} ms an image; day cache {cached:.2f} ms (ratio {every / cached:.1f}); "
          f"the day's first image, which builds it: {first_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
