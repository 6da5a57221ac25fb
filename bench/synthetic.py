"""Made-up skies for the benchmarks: uniform positions, a small catalogue, matched pairs, square footprints.

One home for the synthetic data more than one bench script makes, so that peers compared in different
scripts read the same kind of sky. The scripts import it from beside themselves (``python bench/x.py``
puts ``bench/`` first on ``sys.path``). Imports numpy, and pandas or ``platform_lib.imageindex.sphere``
inside the function that needs it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["catalogue", "matched_pairs", "squares", "uniform_sky"]


def uniform_sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` positions (ra, dec in degrees) uniform on the sphere."""
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return ra, dec


def catalogue(n: int, seed: int = 0):
    """A pandas DataFrame of ``n`` sources uniform on the sky: ``id``, ``ra``, ``dec`` (deg), ``mag`` (float32)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    ra, dec = uniform_sky(rng, n)
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "ra": ra,
        "dec": dec,
        "mag": rng.normal(18, 2, n).astype(np.float32),
    })


def matched_pairs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two catalogues of ``n`` positions each (ra1, dec1, ra2, dec2 in degrees): the first half of the
    second is the first half of the first moved by 0.5 arcsec (Gaussian, per axis), the rest is unrelated."""
    ra1, dec1 = uniform_sky(rng, n)
    m = n // 2
    off = rng.normal(0, 0.5, (2, m)) / 3600
    ra2 = np.concatenate([(ra1[:m] + off[0] / np.cos(np.radians(dec1[:m]))) % 360, rng.uniform(0, 360, n - m)])
    dec2 = np.concatenate([np.clip(dec1[:m] + off[1], -90, 90), np.degrees(np.arcsin(rng.uniform(-1, 1, n - m)))])
    return ra1, dec1, ra2, dec2


def squares(ra, dec, size_deg, pa) -> np.ndarray:
    """Square footprints ``size_deg`` wide centred on (ra, dec), turned by ``pa`` (radians): their (n, 4, 3)
    unit-vector corners."""
    from platform_lib.imageindex.sphere import radec_to_xyz

    n = len(ra)
    c = radec_to_xyz(ra, dec)
    # the local east/north basis at each centre
    east = np.stack([-np.sin(np.radians(ra)), np.cos(np.radians(ra)), np.zeros(n)], axis=1)
    north = np.cross(c, east)
    half = np.radians(np.asarray(size_deg) / 2)
    verts = np.empty((n, 4, 3))
    for k, (sx, sy) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1))):
        ang = pa + np.arctan2(sy, sx)
        r = np.tan(half) * np.sqrt(2)
        v = c + r[:, None] * (np.cos(ang)[:, None] * east + np.sin(ang)[:, None] * north)
        verts[:, k] = v / np.linalg.norm(v, axis=1)[:, None]
    return verts
