"""Sky-map matching on the public LVK BAYESTAR map of G495305 (gwcelery 3.0.0 test data).

The map (``gwcelery/tests/data/rrt_small_area.fits`` in the ``gwcelery==3.0.0`` wheel) is a
multi-order (NUNIQ) 3-D map, orders 4-11. The test install takes it from the wheel (pinned, SHA-256
checked) into ``.cache/test-data`` of the checkout (``tests/fetch_data.py``); no test downloads it. Flat forms are made from it with ``SkyMap.flatten`` and written
in NESTED and RING ordering; mocpy's independent credible-region MOC is the reference for areas.
"""

from __future__ import annotations

from pathlib import Path

import cdshealpix.nested as hp
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table

from platform_lib.skymap import (
    SkyMap,
    SkymapError,
    SkymapFormatError,
    SkymapNotNormalizedError,
    match_skymap,
    read_skymap,
)

#: gwcelery's ``gwcelery/tests/data/rrt_small_area.fits``, where tests/fetch_data.py puts it at install time.
MAP = Path(__file__).resolve().parents[2] / ".cache" / "test-data" / "gwcelery" / "tests" / "data" / "rrt_small_area.fits"


@pytest.fixture(scope="module")
def map_path() -> Path:
    if not MAP.is_file():  # never downloaded here: the test install fetches it
        pytest.skip(f"the G495305 map is not at {MAP}: run `make install-test` (or .venv/bin/python tests/fetch_data.py)")
    return MAP


@pytest.fixture(scope="module")
def skymap(map_path) -> SkyMap:
    return read_skymap(map_path)


def _pixel_centre(m: SkyMap, i: int) -> tuple[float, float]:
    lon, lat = hp.healpix_to_lonlat(np.array([m.ipix[i]], dtype=np.uint64), int(m.order[i]))
    return float(lon.deg[0]), float(lat.deg[0])


def test_real_map_is_multi_order_3d_and_normalised(map_path, skymap):
    with fits.open(map_path) as hdul:
        assert hdul[1].header["ORDERING"] == "NUNIQ"
    assert skymap.has_distance
    assert skymap.meta["OBJECT"] == "G495305"
    assert sorted(np.unique(skymap.order)) == list(range(4, 12))
    assert skymap.total_probability == pytest.approx(1.0, abs=1e-9)
    assert skymap.pixel_area.sum() == pytest.approx(4 * np.pi, rel=1e-12)


def test_credible_areas_agree_with_mocpy(map_path, skymap):
    from mocpy import MOC

    full_sky_deg2 = 4 * 180**2 / np.pi
    for level in (0.5, 0.9):
        ref = MOC.from_multiordermap_fits_file(str(map_path), cumul_from=0, cumul_to=level)
        assert skymap.credible_area(level).to_value(u.deg**2) == pytest.approx(
            ref.sky_fraction * full_sky_deg2, rel=5e-3
        )
    assert skymap.credible_moc(0.9).sky_fraction * full_sky_deg2 == pytest.approx(
        skymap.credible_area(0.9).value, rel=0.02
    )


def test_sources_in_and_out_of_the_credible_regions(skymap):
    densest = int(np.argmax(skymap.probdensity))
    lon0, lat0 = _pixel_centre(skymap, densest)
    levels = skymap.credible_levels()
    # a pixel just outside the 90 % region, and a point on the other side of the sky
    outside = int(np.flatnonzero(levels > 0.95)[np.argmin(levels[levels > 0.95])])
    lon1, lat1 = _pixel_centre(skymap, outside)
    cat = Table({"ra": [lon0, lon1, (lon0 + 180) % 360], "dec": [lat0, lat1, -lat0]})
    t = match_skymap(cat, skymap)
    assert list(t["in_50"]) == [True, False, False]
    assert list(t["in_90"]) == [True, False, False]
    assert t["probdensity"][0] == pytest.approx(skymap.probdensity.max())
    assert t["credible_level"][0] == pytest.approx(skymap.probability[densest])
    assert t["credible_level"][1] == pytest.approx(levels[outside])
    assert t["probdensity_deg2"].unit == u.deg**-2
    assert t["probdensity_deg2"][0] == pytest.approx(skymap.probdensity.max() * (np.pi / 180) ** 2)
    assert t.meta["area_90"] == pytest.approx(skymap.credible_area(0.9).value)
    assert t.meta["OBJECT"] == "G495305"


def test_positions_in_hours_as_text_or_masked_read_as_every_package_reads_them(skymap):
    """A catalogue of sexagesimal text (VizieR's RAJ2000/DEJ2000) was 'not numeric' here while viz, crossmatch
    and ingest read it; a masked position was matched at the value under the mask. Positions are read by
    ``platform_lib.catalogs.position_degrees`` now, as everywhere."""
    from astropy.coordinates import Angle
    from astropy.table import MaskedColumn

    lon0, lat0 = _pixel_centre(skymap, int(np.argmax(skymap.probdensity)))
    text = Table({"RAJ2000": [Angle(lon0, u.deg).to_string(u.hourangle, sep=" ", precision=4)],
                  "DEJ2000": [Angle(lat0, u.deg).to_string(sep=" ", precision=3, alwayssign=True)]})
    got = match_skymap(text, skymap, lon="RAJ2000", lat="DEJ2000")
    assert list(got["in_50"]) == [True]
    assert got["probdensity"][0] == pytest.approx(skymap.probdensity.max())
    masked = Table({"ra": MaskedColumn([lon0, 0.0], mask=[False, True]), "dec": [lat0, 0.0]})
    with pytest.raises(SkymapError, match="NaN"):
        match_skymap(masked, skymap)
    with pytest.raises(SkymapError, match="column 'ra' has unit m, not an angle") as info:
        match_skymap(Table({"ra": [lon0] * u.m, "dec": [lat0] * u.deg}), skymap)
    assert info.value.code == "bad-column"


def test_membership_matches_mocpy_region(map_path, skymap):
    from mocpy import MOC

    rng = np.random.default_rng(3)
    densest = int(np.argmax(skymap.probdensity))
    lon0, lat0 = _pixel_centre(skymap, densest)
    lon = lon0 + rng.normal(0, 4, 4000)
    lat = np.clip(lat0 + rng.normal(0, 4, 4000), -89, 89)
    t = match_skymap(SkyCoord(lon * u.deg, lat * u.deg), skymap)
    ref = MOC.from_multiordermap_fits_file(str(map_path), cumul_from=0, cumul_to=0.9)
    inside_ref = ref.contains_lonlat(lon % 360 * u.deg, lat * u.deg)
    agree = np.mean(np.asarray(t["in_90"]) == inside_ref)
    assert agree > 0.995  # disagreements only on the boundary pixel where the cumulative sum crosses 0.9
    assert 0.05 < np.mean(inside_ref) < 0.95


def test_flat_and_multi_order_forms_give_the_same_answers(tmp_path, skymap):
    flat = skymap.flatten(8)
    assert flat.total_probability == pytest.approx(1.0, abs=1e-9)
    paths = {name: tmp_path / f"{name}.fits" for name in ("nested", "ring", "moc")}
    flat.write(paths["nested"], flat=True, ordering="NESTED")
    flat.write(paths["ring"], flat=True, ordering="RING")
    flat.write(paths["moc"])
    with fits.open(paths["ring"]) as hdul:
        assert hdul[1].header["ORDERING"] == "RING" and "UNIQ" not in hdul[1].columns.names
    maps = {name: read_skymap(p) for name, p in paths.items()}
    rng = np.random.default_rng(5)
    densest = int(np.argmax(skymap.probdensity))
    lon0, lat0 = _pixel_centre(skymap, densest)
    cat = SkyCoord((lon0 + rng.normal(0, 5, 2000)) * u.deg, np.clip(lat0 + rng.normal(0, 5, 2000), -89, 89) * u.deg,
                   distance=rng.uniform(500, 2000, 2000) * u.Mpc)
    results = {name: match_skymap(cat, m) for name, m in maps.items()}
    for name in ("ring", "moc"):
        for col in ("probdensity", "credible_level", "in_50", "in_90", "probdensity_vol"):
            np.testing.assert_allclose(np.asarray(results[name][col], float),
                                       np.asarray(results["nested"][col], float), rtol=1e-12)
    # Where the original pixel is at order <= 8 the flattened density is the original one.
    orig = match_skymap(cat, skymap)
    coarse = skymap.order[skymap.pixel_index(cat.ra, cat.dec)] <= 8
    assert coarse.sum() > 100
    np.testing.assert_allclose(np.asarray(results["nested"]["probdensity"])[coarse],
                               np.asarray(orig["probdensity"])[coarse], rtol=1e-12)
    # Credible areas survive the downgrade to a few per cent.
    assert maps["ring"].credible_area(0.9).value == pytest.approx(skymap.credible_area(0.9).value, rel=0.05)


def test_three_d_density_follows_ligo_skymap_conventions(skymap):
    densest = int(np.argmax(skymap.probdensity))
    lon0, lat0 = _pixel_centre(skymap, densest)
    mu, sigma, norm = skymap.distmu[densest], skymap.distsigma[densest], skymap.distnorm[densest]
    r = np.linspace(1, mu + 10 * sigma, 20001)
    t = match_skymap(Table({"ra": np.full(r.size, lon0), "dec": np.full(r.size, lat0), "d": r},
                           units={"d": u.Mpc}), skymap, distance="d")
    pdf = np.asarray(t["distance_pdf"])
    # p(r | n) = DISTNORM r^2 N(r; DISTMU, DISTSIGMA) is normalised along the line of sight
    assert np.trapezoid(pdf, r) == pytest.approx(1.0, rel=1e-3)
    k = 12345
    expected = skymap.probdensity[densest] * norm * np.exp(-0.5 * ((r[k] - mu) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    assert t["probdensity_vol"][k] == pytest.approx(expected, rel=1e-12)
    assert t["probdensity_vol"].unit == u.Mpc**-3


def test_pixels_without_distance_give_zero_volume_density(skymap):
    no_dist = np.flatnonzero(~np.isfinite(skymap.distmu))
    assert no_dist.size > 0  # the real map has them (DISTMU = inf, DISTNORM = 0)
    lon, lat = _pixel_centre(skymap, int(no_dist[0]))
    t = match_skymap(SkyCoord([lon] * u.deg, [lat] * u.deg, distance=[100] * u.Mpc), skymap)
    assert t["probdensity_vol"][0] == 0 and np.isfinite(t["probdensity"][0])


def test_the_volume_grid_is_built_once_per_map_layers_and_settings(skymap):
    """A 3-D match's voxel grid (most of its time) is kept on the map: the same grid for the same map,
    settings and layers; other settings, a farther reach or a replaced layer build one anew."""
    def copy(**layers):
        return SkyMap(**{"uniq": skymap.uniq, "probdensity": skymap.probdensity, "distmu": skymap.distmu,
                         "distsigma": skymap.distsigma, "distnorm": skymap.distnorm, **layers})

    m = copy()
    grid = m.volume_grid(n_r=20)
    assert m.volume_grid(n_r=20) is grid and m.volume_grid(n_r=20, reach=1.0) is grid  # a reach inside: no change
    assert m.volume_grid(n_r=30) is not grid
    far = m.volume_grid(n_r=20, reach=10 * grid.r_edges[-1])
    assert far is not grid and far.r_edges[-1] == pytest.approx(10 * grid.r_edges[-1])
    m.distmu = skymap.distmu.copy()  # a replaced layer (equal values): built anew, the same grid
    replaced = m.volume_grid(n_r=20)
    assert replaced is not grid and np.array_equal(replaced.level, grid.level)


def test_ra_wrap_and_poles(skymap):
    t = match_skymap(Table({"ra": [0.0, 360.0, -0.0, 10.0, 200.0], "dec": [10.0, 10.0, 10.0, 90.0, -90.0]}), skymap)
    assert t["probdensity"][0] == t["probdensity"][1] == t["probdensity"][2]
    assert np.all(np.isfinite(t["credible_level"]))


# -------------------------------------------------------------------------------------- bad input


def _scaled_copy(skymap: SkyMap, path: Path, factor: float) -> Path:
    t = skymap.to_table()
    t["PROBDENSITY"] *= factor
    hdu = fits.table_to_hdu(t)
    hdu.header["ORDERING"] = "NUNIQ"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path


def test_not_normalised_map_is_a_clear_error_unless_asked(tmp_path, skymap):
    path = _scaled_copy(skymap, tmp_path / "x2.fits", 2.0)
    with pytest.raises(SkymapNotNormalizedError) as info:
        read_skymap(path)
    assert info.value.total == pytest.approx(2.0)
    assert "normalize=True" in str(info.value) and "2" in str(info.value)
    with pytest.raises(SkymapNotNormalizedError):
        match_skymap(SkyCoord([1] * u.deg, [1] * u.deg), str(path))
    fixed = read_skymap(path, normalize=True)
    assert fixed.total_probability == pytest.approx(1.0)
    assert fixed.credible_area(0.9).value == pytest.approx(skymap.credible_area(0.9).value)


@pytest.mark.parametrize(
    "drop,code", [(["PROBDENSITY"], "missing-column"), (["DISTSIGMA"], "missing-column"),
                  (["UNIQ", "PROBDENSITY"], "missing-column")],
)
def test_missing_columns_are_named(tmp_path, skymap, drop, code):
    t = skymap.to_table()
    t.remove_columns(drop)
    if "UNIQ" in drop:
        t.meta.pop("ORDERING")
    with pytest.raises(SkymapFormatError) as info:
        read_skymap(t)
    assert info.value.code == code
    assert drop[-1] in str(info.value) or "PROB" in str(info.value)


def test_other_bad_maps_and_catalogues(tmp_path, skymap):
    t = skymap.to_table()
    t["PROBDENSITY"][0] = -1.0
    with pytest.raises(SkymapError, match="negative"):
        read_skymap(t)
    flat = Table({"PROB": np.full(100, 0.01)})
    flat.meta["ORDERING"] = "NESTED"
    with pytest.raises(SkymapFormatError, match="12 \\* 4\\*\\*k"):
        read_skymap(flat)
    not_fits = tmp_path / "x.fits"
    not_fits.write_text("hello")
    with pytest.raises(SkymapFormatError):
        read_skymap(not_fits)
    with pytest.raises(SkymapError, match="no sky map file"):
        read_skymap(tmp_path / "missing.fits")
    with pytest.raises(SkymapError, match="NaN"):
        match_skymap(Table({"ra": [1.0, np.nan], "dec": [0.0, 0.0]}), skymap)
    with pytest.raises(SkymapError, match="no column 'RA'"):
        match_skymap(Table({"ra": [1.0], "dec": [0.0]}), skymap, lon="RA")
    with pytest.raises(SkymapError, match="no unit"):
        match_skymap(Table({"ra": [1.0], "dec": [0.0], "d": [100.0]}), skymap, distance="d")
    two_d = SkyMap(uniq=skymap.uniq, probdensity=skymap.probdensity)
    with pytest.raises(SkymapError, match="no DISTMU"):
        match_skymap(SkyCoord([1] * u.deg, [1] * u.deg, distance=[10] * u.Mpc), two_d)
    with pytest.raises(SkymapError, match="credible level"):
        match_skymap(SkyCoord([1] * u.deg, [1] * u.deg), skymap, levels=(0.9, 90))
    # levels that are no numbers are named (a float() error from inside before), one level is a list of one
    with pytest.raises(SkymapError, match=r"levels must be credible levels in \(0, 1\], e.g. \(0.5, 0.9\), got"):
        match_skymap(SkyCoord([1] * u.deg, [1] * u.deg), skymap, levels=("half", 0.9))
    one = match_skymap(SkyCoord([1] * u.deg, [1] * u.deg), skymap, levels=0.9)
    assert "in_90" in one.colnames and "in_50" not in one.colnames


def _sample_posterior(skymap: SkyMap, n: int, rng) -> SkyCoord:
    """Draw n positions (and distances) from the map's own 3-D posterior."""
    pix = rng.choice(skymap.uniq.size, size=4 * n, p=skymap.probability / skymap.probability.sum())
    pix = pix[np.isfinite(skymap.distmu[pix])][:n]
    depth = skymap.max_order
    d = (depth - skymap.order[pix]).astype(np.int64)
    child = np.left_shift(skymap.ipix[pix], 2 * d) + (rng.random(pix.size) * np.left_shift(1, 2 * d)).astype(np.int64)
    lon, lat = hp.healpix_to_lonlat(child.astype(np.uint64), depth)
    mu, sigma = skymap.distmu[pix], skymap.distsigma[pix]
    r = np.full(pix.size, np.nan)
    todo = np.arange(pix.size)
    while todo.size:  # p(r | n) ~ r^2 N(r; mu, sigma): propose N(mu, sigma), accept with (r / r_max)^2
        prop = rng.normal(mu[todo], sigma[todo])
        rmax = mu[todo] + 6 * sigma[todo]
        ok = (prop > 0) & (prop < rmax) & (rng.random(todo.size) < (prop / rmax) ** 2)
        r[todo[ok]] = prop[ok]
        todo = todo[~ok]
    return SkyCoord(lon, lat, distance=r * u.Mpc)


def test_credible_levels_of_posterior_samples_are_uniform(skymap):
    """P-P check: positions drawn from the map fall in its p credible region (2-D and 3-D) with
    probability p. Fails if the level ordering, the pixel lookup or the 3-D density is wrong."""
    sample = _sample_posterior(skymap, 2000, np.random.default_rng(11))
    t = match_skymap(sample, skymap, levels=(0.5, 0.9))
    for col in ("credible_level", "credible_level_vol"):
        levels = np.asarray(t[col])
        for p in (0.1, 0.3, 0.5, 0.7, 0.9):
            assert np.mean(levels <= p) == pytest.approx(p, abs=0.04), (col, p)
    assert np.mean(t["in_vol_90"]) == pytest.approx(0.9, abs=0.03)
    assert 0 < t.meta["volume_50"] < t.meta["volume_90"]


def test_a_skymap_built_in_code_is_validated_like_a_file(skymap):
    """A SkyMap constructed directly (not read from a file) gets the same checks in match_skymap."""
    src = SkyCoord([1] * u.deg, [1] * u.deg)
    doubled = SkyMap(uniq=skymap.uniq, probdensity=2 * skymap.probdensity)
    with pytest.raises(SkymapNotNormalizedError, match="normalize=True") as info:
        match_skymap(src, doubled)
    assert info.value.total == pytest.approx(2.0) and info.value.code == "skymap-not-normalized"
    # normalize=True uses a rescaled copy and leaves the caller's map as it was
    fixed = match_skymap(src, doubled, normalize=True)
    plain = match_skymap(src, SkyMap(uniq=skymap.uniq, probdensity=skymap.probdensity))
    assert fixed["probdensity"][0] == pytest.approx(plain["probdensity"][0])
    assert doubled.total_probability == pytest.approx(2.0)
    negative = SkyMap(uniq=skymap.uniq, probdensity=np.where(np.arange(skymap.uniq.size) == 3, -1.0,
                                                             skymap.probdensity))
    with pytest.raises(SkymapError, match="negative") as info:
        match_skymap(src, negative)
    assert info.value.code == "bad-probability"
    dup = SkyMap(uniq=np.concatenate([skymap.uniq, skymap.uniq[:1]]),
                 probdensity=np.concatenate([skymap.probdensity, [0.0]]))
    with pytest.raises(SkymapFormatError, match="duplicate"):
        match_skymap(src, dup)


def test_bad_latitudes_are_an_error(skymap):
    with pytest.raises(SkymapError, match="latitude") as info:
        match_skymap(Table({"ra": [1.0, 2.0], "dec": [0.0, 91.0]}), skymap)
    assert info.value.code == "bad-latitude" and info.value.value == 91.0 and "1 source(s)" in str(info.value)
