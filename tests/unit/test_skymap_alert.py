"""The public alert map S190814bv (nside 1024, flat NESTED, 3-D) against ligo.skymap, the field's yardstick.

The map is the platform's sample data (``gwemopt==0.4.2``'s copy, extracted by ``make install-test``;
``docs/sample-data.md``). ``read_skymap`` turns the 12.6 million flat pixels into their exact
multi-order form; these tests check that nothing is lost (every flat pixel's values are those of the
multi-order pixel that covers it), that the form is ligo.skymap's own (``read_sky_map(moc=True)``,
which calls ``bayestar.derasterize``), and that ``match_skymap`` answers as
``ligo.skymap.postprocess.crossmatch`` does per candidate: searched probability and area, density,
credible areas; 3-D levels and volumes within the stated tolerance of its voxel grid.
"""

from __future__ import annotations

import gzip
import warnings

import cdshealpix.nested as hp
import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits

from platform_lib.sampledata import packaged_skymaps
from platform_lib.skymap import match_skymap, read_skymap

NAME = "S190814bv_LALInference.v1.fits.gz"


@pytest.fixture(scope="module")
def alert_path():
    found = {image.name: path for image, path in packaged_skymaps()[0]}
    if NAME not in found:
        pytest.fail(f"the sample sky map {NAME} is not installed: run `make install-test` "
                    f"(missing: {dict((i.name, why) for i, why in packaged_skymaps()[1])})")
    return found[NAME]


@pytest.fixture(scope="module")
def alert(alert_path):
    return read_skymap(alert_path)


@pytest.fixture(scope="module")
def candidates(alert):
    """10,000 positions: half around the peak (inside and around the 90 % region), half all-sky,
    with distances from 50 to 600 Mpc (the map's distance is 267 +/- 52 Mpc)."""
    rng = np.random.default_rng(2)
    peak = int(np.argmax(alert.probdensity))
    lon, lat = hp.healpix_to_lonlat(np.array([alert.ipix[peak]], dtype=np.uint64), int(alert.order[peak]))
    ra = np.r_[lon.deg[0] + rng.normal(0, 5, 5000), rng.uniform(0, 360, 5000)] % 360
    dec = np.r_[lat.deg[0] + rng.normal(0, 5, 5000), np.degrees(np.arcsin(rng.uniform(-1, 1, 5000)))]
    return SkyCoord(ra * u.deg, np.clip(dec, -89.9, 89.9) * u.deg, distance=rng.uniform(50, 600, ra.size) * u.Mpc)


def test_the_flat_map_is_read_into_its_exact_multi_order_form(alert_path, alert):
    # astropy's own parse of the inflated file (its .gz reader takes 5 s for these 400 MB)
    with fits.HDUList.fromstring(gzip.decompress(alert_path.read_bytes())) as hdul:
        data = hdul[1].data
        assert hdul[1].header["ORDERING"] == "NESTED" and hdul[1].header["NSIDE"] == 1024
        flat = {c: np.asarray(data[c]) for c in ("PROB", "DISTMU", "DISTSIGMA", "DISTNORM")}
    npix = flat["PROB"].size
    assert npix == 12 * 1024**2
    assert alert.uniq.size < npix // 500  # 16,896 pixels, orders 4 to 10
    assert alert.pixel_area.sum() == pytest.approx(4 * np.pi, rel=1e-12)
    # every flat pixel lies in exactly one multi-order pixel, which carries exactly its values
    start = np.left_shift(alert.ipix, 2 * (10 - alert.order))
    stop = np.left_shift(alert.ipix + 1, 2 * (10 - alert.order))
    srt = np.argsort(start)
    assert start[srt][0] == 0 and np.array_equal(start[srt][1:], stop[srt][:-1]) and stop[srt][-1] == npix
    cover = srt[np.searchsorted(start[srt], np.arange(npix), side="right") - 1]
    np.testing.assert_array_equal(alert.probdensity[cover], flat["PROB"] / (4 * np.pi / npix))
    np.testing.assert_array_equal(alert.distmu[cover], flat["DISTMU"])
    np.testing.assert_array_equal(alert.distsigma[cover], flat["DISTSIGMA"])
    np.testing.assert_array_equal(alert.distnorm[cover], flat["DISTNORM"])
    assert alert.total_probability == pytest.approx(flat["PROB"].sum(), rel=1e-12)
    assert alert.meta["CREATOR"] == "ligo-skymap-from-samples"


def test_match_agrees_with_ligo_skymap_crossmatch(alert_path, alert, candidates):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ligo.skymap's and lalsuite's own import-time warnings
        from ligo.skymap.io import read_sky_map
        from ligo.skymap.postprocess.crossmatch import crossmatch

        reference = read_sky_map(str(alert_path), moc=True)
        ref = crossmatch(reference, candidates, contours=(0.5, 0.9))
    # the same multi-order map, pixel for pixel
    np.testing.assert_array_equal(np.sort(np.asarray(reference["UNIQ"], dtype=np.int64)), alert.uniq)
    ours = match_skymap(candidates, alert)
    dens = np.asarray(ours["probdensity"])
    positive = dens > 0
    assert positive.sum() > 5000 and (~positive).sum() > 100
    # 2-D, per candidate: the same to rounding (no two pixels with probability share a density here)
    np.testing.assert_allclose(dens, ref.probdensity, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.asarray(ours["credible_level"]), ref.searched_prob, rtol=0, atol=1e-12)
    # Searched area: the same where the density is positive. The 1,182 pixels of zero probability tie;
    # ligo.skymap orders them as its sort left them, we count them all (the whole sky, 41,253 deg^2).
    np.testing.assert_allclose(np.asarray(ours["searched_area"])[positive], ref.searched_area[positive], rtol=1e-9)
    assert np.all(np.asarray(ours["searched_area"])[~positive] == pytest.approx(4 * 180**2 / np.pi))
    assert ours.meta["area_50"] == pytest.approx(ref.contour_areas[0], rel=1e-12)
    assert ours.meta["area_90"] == pytest.approx(ref.contour_areas[1], rel=1e-12)
    np.testing.assert_array_equal(np.asarray(ours["in_90"]), ref.searched_prob <= 0.9)
    # 3-D: ligo.skymap reads levels and dP/dV off its (pixel, distance shell) grid; ours is the same
    # kind of grid (SkyMap.volume_grid), with shells placed alike but not identically: levels agree
    # to 0.03 (0.005 for 99 % of the candidates), the 90 % volume membership for 99.9 %.
    level_vol = np.asarray(ours["credible_level_vol"])
    assert np.max(np.abs(level_vol - ref.searched_prob_vol)) < 0.03
    assert np.percentile(np.abs(level_vol - ref.searched_prob_vol), 99) < 0.005
    assert np.mean((level_vol <= 0.9) == (ref.searched_prob_vol <= 0.9)) > 0.999
    assert ours.meta["volume_50"] == pytest.approx(ref.contour_vols[0], rel=2e-3)
    assert ours.meta["volume_90"] == pytest.approx(ref.contour_vols[1], rel=2e-3)
    # dP/dV: ours is the ansatz at the candidate's distance, ligo.skymap's its value at the shell below
    # (the shells are 1/400 of 6x the mean distance apart: a few per cent in the steep parts)
    big = np.asarray(ours["probdensity_vol"]) > 1e-3 * np.max(ours["probdensity_vol"])
    assert big.sum() > 100
    rel = np.abs(np.asarray(ours["probdensity_vol"])[big] / ref.probdensity_vol[big] - 1)
    assert np.median(rel) < 0.02 and rel.max() < 0.25, (np.median(rel), rel.max())


@pytest.mark.parametrize("ordering", ["NESTED", "RING"])
def test_a_flat_map_in_either_ordering_keeps_every_pixel_value(ordering):
    """Merging needs four siblings equal in every layer; a RING file is merged in nested order."""
    import cdshealpix
    from astropy.table import Table

    order, rng = 4, np.random.default_rng(4)
    npix = 12 * 4**order
    prob = np.repeat(rng.random(12 * 4**2), 16)  # order-2 blocks ...
    prob[:16] = rng.random(16)  # ... but base pixel 0's first order-2 pixel at full resolution
    mu = np.repeat(rng.uniform(100, 200, 12 * 4**3), 4)  # distance varies at order 3: blocks of 4 at most
    prob /= prob.sum()
    nested = {"PROB": prob, "DISTMU": mu, "DISTSIGMA": np.full(npix, 20.0), "DISTNORM": np.full(npix, 1e-4)}
    if ordering == "RING":
        ring_of_nested = cdshealpix.to_ring(np.arange(npix, dtype=np.uint64), order).astype(np.int64)
        stored = {k: np.empty_like(v) for k, v in nested.items()}
        for k, v in nested.items():
            stored[k][ring_of_nested] = v
    else:
        stored = nested
    t = Table(stored)
    t.meta.update(ORDERING=ordering, NSIDE=2**order)
    m = read_skymap(t)
    # 16 order-4 pixels in the detailed block, then order-3 pixels (DISTMU changes at order 3)
    assert sorted(np.unique(m.order)) == [3, 4] and m.uniq.size == 16 + (npix - 16) // 4
    start = np.left_shift(m.ipix, 2 * (order - m.order))
    srt = np.argsort(start)
    cover = srt[np.searchsorted(start[srt], np.arange(npix), side="right") - 1]
    np.testing.assert_array_equal(m.probdensity[cover], prob / (4 * np.pi / npix))
    np.testing.assert_array_equal(m.distmu[cover], mu)


@pytest.fixture
def inflated(monkeypatch):
    """The byte counts each ``zlib.decompressobj`` (``gzip.decompress``'s too) gives out while the test runs: what a
    read inflated, in all."""
    import zlib

    made, counts = zlib.decompressobj, []

    class Counted:
        def __init__(self, *args, **kwargs):
            self._inflate = made(*args, **kwargs)

        def decompress(self, *args):
            out = self._inflate.decompress(*args)
            counts.append(len(out))
            return out

        def __getattr__(self, name):  # eof, unused_data, unconsumed_tail
            return getattr(self._inflate, name)

    monkeypatch.setattr(zlib, "decompressobj", Counted)
    return counts


def test_a_broken_gzip_file_is_a_format_error_naming_the_file(tmp_path, alert_path, inflated):
    """A download cut short, or bytes that are no gzip stream, are a format error naming the file. polish26: the cut
    file is inflated once (its header and table were inflated, then the whole again to find it cut)."""
    import zlib

    from platform_lib.skymap import SkymapFormatError

    cut = tmp_path / "cut.fits.gz"
    cut.write_bytes(alert_path.read_bytes()[:4000])  # a download cut short
    garbage = tmp_path / "garbage.fits.gz"
    garbage.write_bytes(b"\x1f\x8b" + bytes(range(256)) * 4)
    there = len(zlib.decompressobj(wbits=31).decompress(cut.read_bytes()))  # all the cut file holds
    for path, inflates in ((cut, there), (garbage, 0)):
        inflated.clear()
        with pytest.raises(SkymapFormatError, match="not a FITS file") as info:
            read_skymap(path)
        assert str(path) in str(info.value)
        assert sum(inflated) == inflates, (path.name, inflated)


@pytest.mark.parametrize("layout", ["gzip", "gzip, primary with data", "gzip in two members", "plain", "long header",
                                    "gzip in two members, the first within the header",
                                    "gzip in two members, the first ending at a block's end", "gzip, zero padded"])
def test_a_gzipped_map_is_read_alike_whatever_its_primary_hdu_and_gzip_members(tmp_path, layout, inflated):
    """polish25: a gzip file whose primary HDU is a header alone (an alert map's) is inflated as that header and the
    table's bytes apart, so that astropy parses the table where it lies instead of copying it (0.4 s of a 1.4 s read
    of the alert map: bench/skymap_read.py). Any other layout is read whole, as before; each reads the same map.
    polish26: and each is inflated once; a primary HDU with data, or several gzip members, was inflated again,
    whole, after the header (and for several members the whole table) had been."""
    order = 2
    npix = 12 * 4**order
    prob = np.arange(1, npix + 1, dtype=float)
    prob /= prob.sum()
    table = fits.BinTableHDU.from_columns([fits.Column("PROB", "D", array=prob)],
                                          header=fits.Header({"PIXTYPE": "HEALPIX", "ORDERING": "NESTED",
                                                              "NSIDE": 2**order, "OBJECT": "S000000x"}))
    primary = fits.PrimaryHDU(np.zeros((3, 3), dtype=np.int16) if "with data" in layout else None)
    if layout == "long header":
        for i in range(80):  # the primary header runs over three 2880-byte blocks
            primary.header[f"HIST{i}"] = i
    path = tmp_path / "map.fits.gz"
    fits.HDUList([primary, table]).writeto(tmp_path / "map.fits")
    whole = (tmp_path / "map.fits").read_bytes()
    cut = 1000 if "within" in layout else 2880 if "block's end" in layout else 5000
    path.write_bytes(whole if layout == "plain" else
                     gzip.compress(whole[:cut]) + gzip.compress(whole[cut:]) if "two" in layout else
                     gzip.compress(whole) + bytes(16) if "padded" in layout else
                     gzip.compress(whole))
    inflated.clear()
    m = read_skymap(path)
    assert m.meta["OBJECT"] == "S000000x"
    np.testing.assert_allclose(np.sort(m.probdensity * 4 * np.pi / npix), np.sort(prob))
    assert sum(inflated) == (0 if layout == "plain" else len(whole)), inflated  # each byte inflated once
