"""platform_lib.viz: HiPS builders and validation, static figures, the widget's model state, bad input."""

from __future__ import annotations

import io
import json
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table
from label_pixels import label_contrast  # tests/support/, on the path by tests/conftest.py

from platform_lib import viz
from platform_lib.viz._hips import healpix29, plan_catalog_orders, priority_rank, read_properties


def _catalogue(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "ra": rng.uniform(0, 360, n),
        "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
        "gmag": rng.uniform(8, 20, n),
        "name": [f"src {i}" for i in range(n)],
    })


# -- level of detail ----------------------------------------------------------------------------------


def test_plan_places_every_row_once_brightest_first_per_tile():
    df = _catalogue(20_000)
    ipix = healpix29(df.ra, df.dec)
    rank = priority_rank(df.gmag.to_numpy(), len(df))
    order = plan_catalog_orders(ipix, rank, 20, 8)
    assert (order >= 1).all() and order.max() <= 8
    # every order-1 tile holds its 20 brightest sources (brute force per tile)
    tile1 = ipix >> (2 * 28)
    for t in np.unique(tile1):
        members = np.flatnonzero(tile1 == t)
        brightest = members[np.argsort(df.gmag.to_numpy()[members])[:20]]
        assert set(np.flatnonzero((order == 1) & (tile1 == t))) == set(brightest)
    # no tile at any order below the last holds more than n_per_tile
    for k in range(1, int(order.max())):
        tiles = ipix[order == k] >> (2 * (29 - k))
        assert np.bincount(tiles - tiles.min()).max() <= 20
    # with last_factor, the order where every cell holds at most 8 x 20 of the rows left takes them all
    short = plan_catalog_orders(ipix, rank, 20, 8, last_factor=8)
    assert short.max() < order.max() and (short[order == 1] == 1).all()
    left = ipix[short >= short.max()] >> (2 * (29 - int(short.max())))
    assert np.bincount(left - left.min()).max() <= 160


def test_the_allsky_orders_never_take_the_whole_catalogue():
    """Aladin Lite reads ``Norder1/Allsky.tsv`` and ``Norder2/Allsky.tsv`` whole at its first view: with the
    defaults (200 per tile, last_factor 8), a catalogue of Hipparcos's size made order 2 the last order,
    so its Allsky held every row left (108,355 of 117,955 stars, 8.4 MB, before any zoom)."""
    df = _catalogue(120_000, seed=4)
    ipix = healpix29(df.ra, df.dec)
    rank = priority_rank(df.gmag.to_numpy(), len(df))
    order = plan_catalog_orders(ipix, rank, 200, 10, last_factor=8)
    assert (order == 1).sum() <= 48 * 200 and (order == 2).sum() <= 192 * 200, np.bincount(order)
    assert order.max() == 3  # the rows left go to order-3 tiles, which a viewer reads as it zooms
    left = ipix[order == 3] >> (2 * (29 - 3))
    assert np.bincount(left).max() <= 8 * 200
    # a small catalogue is still whole in the Allsky files (n_per_tile per tile takes it)
    small = _catalogue(2_000, seed=5)
    assert plan_catalog_orders(healpix29(small.ra, small.dec), np.arange(2_000), 200, 10, last_factor=8).max() <= 2


def test_catalog_hips_validates_and_counts_add_up(tmp_path):
    df = _catalogue(30_000)
    df.loc[5, "ra"] = np.nan  # one row without a position is left out and counted
    dest = viz.write_catalog_hips(df, tmp_path / "cat", viz.CatalogHipsSpec("test cat", n_per_tile=50),
                                  ra="ra", dec="dec", magnitude="gmag")
    report = viz.validate_hips(dest)
    props = read_properties(dest / "properties")
    assert props["creator_did"] == "ivo://astrohub/hips/test_cat"  # an IVOID has no spaces (it had)
    assert report.dataproduct_type == "catalog"
    assert report.rows == 29_999 == int(props["hips_cat_nrows"])
    assert props["astrohub_rows_skipped"] == "1"  # row 5 (it took "0" too: a count never made)
    assert sum(json.loads(props["astrohub_rows_per_order"]).values()) == 29_999
    # Aladin Lite's entry points: both Allsky files and a VOTable of the columns with position UCDs
    allsky1 = (dest / "Norder1" / "Allsky.tsv").read_text().splitlines()
    assert allsky1[0].split("\t") == ["ra", "dec", "gmag", "name"]
    assert len(allsky1) - 2 == json.loads(props["astrohub_rows_per_order"])["1"]
    meta = (dest / "metadata.xml").read_text()
    assert 'ucd="pos.eq.ra;meta.main"' in meta and 'ucd="pos.eq.dec;meta.main"' in meta
    # each tile lists its rows brightest first
    deepest = max(report.orders)
    assert deepest >= 2
    tile = next((dest / f"Norder{deepest}").glob("Dir*/Npix*.tsv"))
    mags = [float(line.split("\t")[2]) for line in tile.read_text().splitlines()[2:]]
    assert mags == sorted(mags)
    # the density map beside it counts every source
    from astropy.io import fits

    with fits.open(dest / "density.fits") as hdul:
        assert hdul[1].data["COUNT"].sum() == 29_999


def test_rebuild_is_atomic_and_validator_catches_a_broken_tile(tmp_path, monkeypatch):
    from platform_lib.viz import _hips

    df = _catalogue(5_000)
    spec = viz.CatalogHipsSpec("t", n_per_tile=10)
    dest = viz.write_catalog_hips(df, tmp_path / "c", spec, ra="ra", dec="dec")
    calls = []

    def failing(table):  # the second order's tiles fail to format, after the first order was written
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(table)

    real = _hips._tsv_lines
    monkeypatch.setattr(_hips, "_tsv_lines", failing)
    with pytest.raises(OSError, match="disk full"):
        viz.write_catalog_hips(df.iloc[:4000], tmp_path / "c", spec, ra="ra", dec="dec")
    monkeypatch.undo()
    assert viz.validate_hips(dest).rows == 5_000  # the failed rebuild left the old HiPS intact
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # and no temporary folder behind
    tile = next(dest.rglob("Npix*.tsv"))
    tile.write_text(tile.read_text() + "1.0\n")
    with pytest.raises(viz.HipsError, match="fields"):
        viz.validate_hips(dest)


def test_a_cancelled_build_writes_nothing_and_keeps_the_old_hips(tmp_path):
    import threading

    df = _catalogue(5_000)
    spec = viz.CatalogHipsSpec("t", n_per_tile=10)
    dest = viz.write_catalog_hips(df, tmp_path / "c", spec, ra="ra", dec="dec")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(viz.HipsCancelled, match="nothing was written"):
        viz.write_catalog_hips(df.iloc[:4000], tmp_path / "c", spec, ra="ra", dec="dec", cancel=cancel)
    counts = viz.density_map(healpix29(df.ra, df.dec), 3)
    seen = []

    class StopAfterTwoTiles:  # set once the image writer has asked twice (reproject's per-tile hook)
        def is_set(self):
            seen.append(1)
            return len(seen) > 2

    with pytest.raises(viz.HipsCancelled):
        viz.write_density_hips(counts, tmp_path / "d", title="d", level=0, cancel=StopAfterTwoTiles())
    assert viz.validate_hips(dest).rows == 5_000
    assert [p.name for p in tmp_path.iterdir()] == ["c"]  # no temporary folder, no half-written HiPS


def test_density_image_hips_validates(tmp_path):
    df = _catalogue(5_000)
    dest = viz.write_density_hips(viz.density_map(healpix29(df.ra, df.dec), 5), tmp_path / "d",
                                  title="I/311/hip2 star density", level=0)
    report = viz.validate_hips(dest)
    assert report.dataproduct_type == "image" and report.tiles == 12
    assert read_properties(dest / "properties")["creator_did"] == "ivo://astrohub/hips/I/311/hip2_star_density"
    assert not (dest / "index.html").exists()  # reproject's preview loads Aladin Lite from a CDN


def test_a_density_hips_is_16_bit_with_bscale_and_keeps_its_values(tmp_path):
    """viz15: the sky's ``Allsky.fits`` (read whole at each first view) was 12.8 MB of float32. The density HiPS
    is now 16-bit with ``BSCALE``/``BZERO`` (HiPS 1.0; ``hips_pixel_bitpix = 16``), tiles and Allsky alike: half
    the bytes, each value within one step (1/65,000 of the range) of the float32 one (drawn the same by the
    archive's Aladin Lite: max 1 grey level of 255 apart, checked by hand)."""
    from astropy.io import fits

    from platform_lib.viz._hips import _healpix_to_car, write_image_hips

    df = _catalogue(5_000)
    counts = viz.density_map(healpix29(df.ra, df.dec), 5)
    dest = viz.write_density_hips(counts, tmp_path / "d", title="density", level=0)
    image, wcs = _healpix_to_car(np.log10(1.0 + counts), width=2048)
    float32 = write_image_hips([(image.astype(np.float32), wcs)], tmp_path / "f", title="density", level=0)
    assert read_properties(dest / "properties")["hips_pixel_bitpix"] == "16"
    assert viz.validate_hips(dest).tiles == 12
    for rel in ["Norder3/Allsky.fits"] + [f"Norder0/Dir0/Npix{p}.fits" for p in range(12)]:
        header = fits.getheader(dest / rel)
        assert header["BITPIX"] == 16 and "BSCALE" in header and "BZERO" in header, rel
        assert (dest / rel).stat().st_size < 0.55 * (float32 / rel).stat().st_size, rel
        got, want = fits.getdata(dest / rel), fits.getdata(float32 / rel)
        finite = np.isfinite(want)
        assert np.abs(got[finite] - want[finite]).max() <= header["BSCALE"], rel


def _aladin_reads_allsky_fits(data: np.ndarray, tile_size: int = 512) -> list[np.ndarray]:
    """Aladin Lite 3's reading of an image HiPS's ``Norder3/Allsky.fits`` (``downloader/request/allsky.rs``:
    ``handle_allsky_fits``, ``handle_allsky_file`` and ``ImageBuffer::tex_sub``, line by line), the 12 order-0
    tiles it draws from it, each in the order of a FITS tile's data as Aladin Lite gets one."""
    block = min(tile_size, 64)
    width = 27 * block
    flat = data.reshape(-1)
    rows = [flat[k:k + width] for k in range(0, flat.size, width)][::-1]  # "the fits image layout stores rows
    allsky = np.concatenate(rows).reshape(-1, width)                       # in reverse"
    tiles, src = [], 0
    for _ in range(12):
        base = np.zeros((tile_size, tile_size), data.dtype)
        for idx in range((tile_size // block) ** 2):
            x = sum(((idx >> (2 * b)) & 1) << b for b in range(8))       # unmortonize: even bits
            y = sum(((idx >> (2 * b + 1)) & 1) << b for b in range(8))   # odd bits
            sx, sy, dx, dy = (src % 27) * block, (src // 27) * block, x * block, y * block
            # tex_sub: for ix (outer) and iy (inner) of the source block, s_idx = iy * src_width + ix goes to
            # d_idx = di * width + dj, di counting from dx with iy and dj from dy with ix: row dx + (iy - sy),
            # column dy + (ix - sx)
            base[dx:dx + block, dy:dy + block] = allsky[sy:sy + block, sx:sx + block]
            src += 1
        tiles.append(base[::-1])  # "we must revert this to be compatible with this GPU transformation"
    return tiles


def test_image_hips_have_the_moc_and_the_allsky_of_their_tiles(tmp_path):
    """Aladin Lite asks an image HiPS for ``Moc.fits`` first (a 404 in the console of every view of the
    platform's background), then for tiles only inside it: a HiPS of one field has the MOC of its tiles.
    viz12: it asks for ``Norder3/Allsky.fits`` too, which the HiPS had not (a 404 on every view, seen in the
    browser test): it is built with the HiPS, and read back as Aladin Lite reads it, it gives each order-0 tile
    exactly, NaN where there is none."""
    from astropy.io import fits
    from astropy.wcs import WCS
    from mocpy import MOC

    wcs = WCS(naxis=2)
    wcs.wcs.ctype, wcs.wcs.crval, wcs.wcs.crpix = ["RA---TAN", "DEC--TAN"], [10.0, 20.0], [50.5, 50.5]
    wcs.wcs.cdelt = [-0.02, 0.02]
    dest = viz.write_image_hips([(np.ones((100, 100), np.float32), wcs)], tmp_path / "field", title="a field", level=4)
    moc = MOC.load(str(dest / "Moc.fits"), format="fits")
    tiles = sorted(int(p.stem[4:]) for p in (dest / "Norder4").rglob("Npix*.fits"))
    assert moc.max_order == 4 and 0 < moc.sky_fraction < 0.001
    assert sorted(int(c) for c in moc.flatten()) == tiles
    assert moc.contains_lonlat(10 * u.deg, 20 * u.deg)[0] and not moc.contains_lonlat(190 * u.deg, -20 * u.deg)[0]
    viz.validate_hips(dest)
    # an all-sky density map: the whole sky
    df = _catalogue(5_000)
    sky = viz.write_density_hips(viz.density_map(healpix29(df.ra, df.dec), 5), tmp_path / "d", title="d", level=0)
    assert MOC.load(str(sky / "Moc.fits"), format="fits").sky_fraction == 1.0
    allsky = fits.getdata(sky / "Norder3" / "Allsky.fits")
    assert allsky.shape == (29 * 64, 27 * 64)
    for p, tile in enumerate(_aladin_reads_allsky_fits(allsky)):
        np.testing.assert_array_equal(tile, fits.getdata(sky / "Norder0" / "Dir0" / f"Npix{p}.fits"), err_msg=str(p))
    assert viz.validate_hips(sky).orders == (0,)  # Norder3 holds the Allsky only: no order of tiles
    tiles = _aladin_reads_allsky_fits(fits.getdata(dest / "Norder3" / "Allsky.fits"))
    present = {int(p.stem[4:]) for p in (dest / "Norder0").rglob("Npix*.fits")}
    assert 0 < len(present) < 12 and all(np.isnan(tiles[p]).all() for p in set(range(12)) - present)
    assert not np.isnan(tiles[min(present)]).all()


# -- static figures ----------------------------------------------------------------------------------


def _png(fig) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _assert_picture(fig, size=(1000, 560)):
    img = _png(fig)
    assert img.shape[1::-1] == size
    # not blank: many distinct colours, and a good share of pixels away from the background
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50
    assert (np.abs(img.astype(int) - img[0, 0]).sum(axis=2) > 30).mean() > 0.02


def _skymap(order: int = 5) -> np.ndarray:
    import cdshealpix.nested as hp

    lon, lat = hp.healpix_to_lonlat(np.arange(12 * 4**order), order)
    d = SkyCoord(lon, lat).separation(SkyCoord(60 * u.deg, -30 * u.deg)).deg
    p = np.exp(-(d**2) / (2 * 8**2))
    return p / p.sum()


def test_every_static_figure_renders(projection="mollweide"):
    t = Table.from_pandas(_catalogue(3_000))
    big = Table.from_pandas(_catalogue(60_000))
    sia = Table({"s_region": ["Polygon ICRS 10 10 14 10 14 13 10 13", "Circle ICRS 200 -20 3"]})
    from mocpy import MOC

    moc = MOC.from_cone(lon=30 * u.deg, lat=20 * u.deg, radius=10 * u.deg, max_depth=8)
    rng = np.random.default_rng(0)
    pairs = Table({"ra_1": t["ra"], "dec_1": t["dec"], "ra_2": t["ra"] + rng.normal(0, 3e-4, len(t)),
                   "dec_2": t["dec"] + rng.normal(0, 3e-4, len(t))})
    pairs["separation_arcsec"] = SkyCoord(pairs["ra_1"], pairs["dec_1"], unit="deg").separation(
        SkyCoord(pairs["ra_2"], pairs["dec_2"], unit="deg")).arcsec
    _assert_picture(viz.plot_table(t, projection=projection))
    _assert_picture(viz.plot_table(big, projection=projection))  # density image, not points
    _assert_picture(viz.plot_footprints(sia, projection=projection, auto_zoom=False))
    _assert_picture(viz.plot_moc(moc, projection=projection))
    _assert_picture(viz.plot_skymap(_skymap(), projection=projection, candidates=t[:20]))
    _assert_picture(viz.plot(pairs), size=(1100, 460))
    _assert_picture(viz.plot_table(t, projection="aitoff"))


@pytest.mark.parametrize("projection", ["mollweide", "aitoff"])
def test_allsky_ra_labels_read_over_a_dark_density_map(projection):
    """tut19: the see-the-sky tutorial's star map drew its RA labels (0h..22h), which sit inside the map on the
    equator, in thin dark text over the dark density image: hard to read. Each label now has a white halo, so the
    pixels around its letters are light whatever the map beneath."""
    fig = viz.plot_table(Table.from_pandas(_catalogue(60_000)), projection=projection)  # density image
    labels = [t for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(labels) == 11
    for text, dark, light in label_contrast(fig, labels):
        assert dark > 0.02 and light > 0.35, (text, round(dark, 3), round(light, 3))  # letters, and around them


def test_zoomed_views_render():
    t = Table.from_pandas(_catalogue(3_000))
    sia = Table({"s_region": ["Polygon ICRS 10 10 11 10 11 11 10 11", "Polygon ICRS 10.5 10.5 11.5 10.5 11.5 11.5"]})
    _assert_picture(viz.plot_table(t, center=SkyCoord(10, 0, unit="deg"), radius=20 * u.deg))
    _assert_picture(viz.plot_footprints(sia))  # auto-zoom on the footprints
    _assert_picture(viz.plot_skymap(_skymap(), center="peak"))


def _tan_in_square(ra, dec, center: SkyCoord, half_width_deg: float) -> np.ndarray:
    """Which positions fall in the square of half-width ``half_width_deg`` of a gnomonic view around ``center``:
    the standard coordinates (xi, eta) worked out by hand, independent of astropy.wcs."""
    a, d = np.radians(ra), np.radians(dec)
    a0, d0 = center.ra.rad, center.dec.rad
    cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    xi = np.degrees(np.cos(d) * np.sin(a - a0) / cosc)
    eta = np.degrees((np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc)
    return (cosc > 0) & (np.abs(xi) <= half_width_deg) & (np.abs(eta) <= half_width_deg)


def test_a_figure_says_what_it_drew_binned_sources_the_fields_count_and_rows_left_out():
    """viz20: a 10^6-row scatter became a density image under a title that read "1000000 sources (ra, dec)", with a
    colour bar of "sources per cell" (which cells?); a zoomed view showed more RA than the radius asked (the figure's
    width) and its title counted the sources within 1.5 radii (a 10-degree view at RA 0 with one source in it said
    "2 sources"); rows without a position were left out silently. Now the title says the points were binned and in
    which cells, a zoomed view is the square asked for and counts the sources in it (checked against a gnomonic
    projection worked out by hand), and rows without a position are counted as left out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.default_rng(20)
    n = 1_000_000
    big = Table({"ra": rng.uniform(0, 360, n), "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n)))})
    fig = viz.plot_table(big)
    title = fig.axes[0].get_title()
    assert title.startswith(f"{n} sources (ra, dec)") and "density of sources per HEALPix order-6 cell (54.9′)" in title
    assert fig.axes[-1].get_xlabel() == "log10(1 + sources per HEALPix order-6 cell (54.9′))"

    for center, radius, rows in ((SkyCoord(10, 20, unit="deg"), 2.0, big), (SkyCoord(0, 0, unit="deg"), 5.0, big[:1000]),
                                 (SkyCoord(0, 88, unit="deg"), 3.0, big[:200_000])):  # across RA 0, by the pole
        fig = viz.plot_table(rows, center=center, radius=radius * u.deg)
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[0]
        assert (ax.get_xlim(), ax.get_ylim()) == ((-0.5, 599.5), (-0.5, 599.5))  # the square asked for, no wider
        bbox = ax.get_window_extent()
        assert abs(bbox.width - bbox.height) < 2, (bbox.width, bbox.height)
        expected = int(_tan_in_square(np.asarray(rows["ra"]), np.asarray(rows["dec"]), center, radius).sum())
        assert ax.get_title().startswith(f"{expected} sources in this {2 * radius:g}° field"), (ax.get_title(), expected)
        assert [c.get_axislabel() for c in ax.coords] == ["RA (ICRS)", "Dec (ICRS)"]

    holes = Table({"ra": np.ma.MaskedArray([10.0, 20.0, 30.0, np.nan], mask=[False, True, False, False]),
                   "dec": [1.0, 2.0, 3.0, 4.0]})
    with pytest.warns(UserWarning, match="2 rows have no position"):
        assert viz.plot_table(holes).axes[0].get_title() == "2 sources (ra, dec); 2 without a position left out"


@pytest.mark.parametrize("center", [None, "peak"])
def test_a_skymaps_legend_shows_each_contour_and_names_the_candidates(center):
    """walk19: the gw-skymap tutorial's zoomed map had a legend whose "50 % credible region" line was light grey on
    the legend's white box (nothing to see), and its red crosses (the candidate galaxies) were in no legend. Each
    legend line is now the colour its contour is drawn in, standing out from the legend's box, and the crosses are
    named with their count."""
    from matplotlib.colors import to_rgb

    def luminance(colour) -> float:
        return float(np.dot(to_rgb(colour), (0.2126, 0.7152, 0.0722)))

    t = Table.from_pandas(_catalogue(20))
    fig = viz.plot_skymap(_skymap(), center=center, candidates=t)
    ax = fig.axes[0]
    legend = ax.get_legend()
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == ["50 % credible region", "90 % credible region", "candidates (20)"], labels
    face = legend.get_frame().get_facecolor()
    contours = [c for c in ax.collections if type(c).__name__ == "QuadContourSet"]
    drawn = [to_rgb(colour) for contour in contours for colour in contour.get_edgecolor()]
    contour_lines, crosses = legend.get_lines()[:2], legend.get_lines()[2]
    for line, label in zip(contour_lines, labels):
        assert abs(luminance(line.get_color()) - luminance(face)) > 0.4, (label, line.get_color(), face)
    assert [to_rgb(line.get_color()) for line in contour_lines] == drawn, drawn
    scattered = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
    assert crosses.get_marker() == "x" and to_rgb(crosses.get_color()) == tuple(scattered[0].get_facecolor()[0][:3])
    for text in legend.get_texts():
        assert abs(luminance(text.get_color()) - luminance(face)) > 0.4, (text.get_text(), text.get_color(), face)


def test_skymap_contours_enclose_the_right_probability():
    p = _skymap(6)
    from platform_lib.viz._static import credible_region

    moc50 = credible_region(p, 0.5)
    cells = np.asarray(moc50.flatten(), dtype=np.int64)
    assert abs(p[cells].sum() - 0.5) < 0.01


# -- bad input ---------------------------------------------------------------------------------------


def test_bad_input_gives_clear_messages():
    with pytest.raises(viz.VizError, match="no sky coordinates found.*ra='...'"):
        viz.plot_table(Table({"flux": [1.0, 2.0]}))
    with pytest.raises(viz.VizError, match="empty"):
        viz.plot_table(Table({"ra": np.array([], float), "dec": np.array([], float)}))
    with pytest.raises(viz.VizError, match=r"12 \* 4\*\*order values.*got 100"):
        viz.plot_skymap(np.ones(100))
    with pytest.raises(viz.VizError, match="one-dimensional"):
        viz.plot_skymap(np.ones((12, 4)))
    with pytest.raises(viz.VizError, match="no 's_region' column"):
        viz.plot_footprints(Table({"ra": [1.0], "dec": [2.0]}))
    with pytest.raises(viz.VizError, match="is not a footprint: a polygon needs 3 or more vertices"):
        viz.parse_s_region("Polygon ICRS 1 2 3")
    with pytest.raises(viz.VizError, match="no pairs"):
        viz.plot_crossmatch(Table({"separation_arcsec": np.array([], float)}))
    with pytest.raises(viz.HipsError, match="no rows with a finite position"):
        viz.write_catalog_hips(pd.DataFrame({"ra": [np.nan], "dec": [0.0]}), "/nonexistent/x",
                               viz.CatalogHipsSpec("x"), ra="ra", dec="dec")


# -- the widget ----------------------------------------------------------------------------------------


@pytest.fixture
def widget():
    w = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))  # the comm to the browser
    w._is_loaded = True
    w.sent = sent
    return w


def test_each_widget_sends_its_own_layers_at_once_and_once():
    """viz20: ipyaladin keeps the calls made before a view is drawn (a catalogue, a table) in one store of the
    class, shared by every widget of the kernel and never emptied. In see-the-sky (Run All: three viewers) each
    viewer's first draw ran every earlier call again: the first viewer got its catalogue layer once more per later
    viewer, and a later viewer's calls went to it before its view could take them.

    viz25: and the calls it kept waited for the view to say it was drawn (``_is_loaded``), a message the kernel
    reads only once it is free: ``viz.show(table)`` then a long cell in the same run drew the view without its
    table until that cell ended. A layer now goes to the browser at once (which keeps it for each view of its
    widget, ``__astrohubReplay``), to its own widget only, and not again when the view is drawn."""
    from astropy.table import Table

    first = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    second = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    sent = {id(first): [], id(second): []}
    for w in (first, second):
        w.send = lambda content, buffers=None, w=w: sent[id(w)].append(content["event_name"])
    first.add_catalog_hips("/services/archive/hips/I_311_hip2", name="hip2")  # not drawn yet: sent all the same
    second.add_catalog_hips("/services/archive/hips/OpenNGC_objects", name="ngc")
    second.show(Table({"ra": [10.0, 11.0], "dec": [20.0, 21.0]}))  # ipyaladin's add_table underneath
    assert sent == {id(first): ["astrohub_catalog_hips"], id(second): ["astrohub_catalog_hips", "add_table"]}
    first._is_loaded = True  # the browser drew the first view
    second._is_loaded = True
    assert sent == {id(first): ["astrohub_catalog_hips"], id(second): ["astrohub_catalog_hips", "add_table"]}
    assert first._astrohub_id != second._astrohub_id  # the browser keeps each one's layers apart
    third = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    third.send = lambda content, buffers=None: None
    third._is_loaded = True
    assert sent == {id(first): ["astrohub_catalog_hips"], id(second): ["astrohub_catalog_hips", "add_table"]}
    # ipyaladin's own FITS image and colour map, before the view is drawn, go at once too
    from astropy.io import fits

    fourth = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    fourth.send = lambda content, buffers=None: sent.setdefault("fourth", []).append(content["event_name"])
    fourth.add_fits(fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4)))]))
    fourth.set_color_map("viridis")
    assert sent["fourth"] == ["add_fits", "change_colormap"]


def test_the_view_draws_the_layers_its_widget_was_sent_when_it_is_made():
    """viz25: the view's JavaScript keeps every layer message of its widget from the model's start (anywidget hands
    a model no message before its initialize is done) and draws them in each view as it is made, before telling
    the kernel it is loaded; requests of the moment (an image of the view, a selection) are not kept."""
    from platform_lib.viz._widget import local_esm

    source = local_esm()
    assert source.count('__astrohubReplay(o,e),o.set("_is_loaded",!0)') == 1
    assert "function __astrohubInit(ctx){\n  const model=ctx.model;\n  __astrohubKeep(model);" in source
    assert '"save_view_as_image","get_JPG_thumbnail","trigger_selection"' in source
    # viz25: a survey set later (w.survey = 'hips/images') is the archive's URL, not a path Aladin Lite took for a
    # HiPS ID and looked up at CDS's MocServer, outside the platform (the view drew nothing)
    assert "this.aladin.setImageSurvey(__astrohubAbs(e))" in source
    assert "this.aladin.setOverlayImageLayer(__astrohubAbs(e))" in source


def test_a_target_set_after_panning_by_hand_is_not_dropped(widget):
    """viz20, in headless Chromium on the platform: after the user dragged the view, ``w.target = SkyCoord(0, 85)``
    from the notebook left the view where the drag had put it (read back: (6.67, 2.96)). ipyaladin's view locks
    out the echo of each position Aladin Lite reports, and the last report of a drag repeats the position, so no
    echo came and the lock swallowed the notebook's next target. The view now locks only for a new position (the
    walk, rerun: (0, 87.96), the target and then the drag)."""
    handler = widget._esm.split('positionChanged",e=>{', 1)[1].split("})", 1)[0]
    assert 'if(this.model.get("_target")!==`${i[0]} ${i[1]}`)t.lock()' in handler
    assert not handler.split("let i=", 1)[0].rstrip(";").endswith("t.lock()")  # never before the comparison


def test_widget_loads_everything_from_the_platform(widget):
    assert "esm.sh" not in widget._esm and "https://" not in widget._esm.split("function __astrohubAbs")[1]
    assert widget._aladin_lite_url == "/services/archive/aladin-lite/aladin.js"
    assert widget.survey == "/services/archive/hips/sky"
    assert widget._init_options["log"] is False
    assert widget._init_options["hips_list"] == ["/services/archive/hips/sky"]


def test_widget_state_carries_the_table_and_large_tables_are_cut(widget):
    t = Table.from_pandas(_catalogue(20_000))
    widget.show_table(t[:100], name="small")
    widget.show_table(t, name="big", limit=1000)
    small, big = widget.layers
    assert small == {"kind": "table", "name": "small", "rows": 100, "total": 100,
                     "ra": [float(v) for v in t["ra"][:3]], "dec": [float(v) for v in t["dec"][:3]]}
    assert big["rows"] == 1000 and big["total"] == 20_000
    assert "showing 1000 of 20000" in widget.astrohub_message
    # what went to the browser: a VOTable of at most `limit` rows, with each row's number
    from astropy.io.votable import parse_single_table

    contents = [c for c, b in widget.sent if c.get("event_name") == "add_table"]
    buffers = [b for c, b in widget.sent if c.get("event_name") == "add_table"]
    sent_big = parse_single_table(io.BytesIO(bytes(buffers[1][0]))).to_table()
    assert len(sent_big) == 1000 and "_row" in sent_big.colnames
    assert contents[1]["options"]["name"] == "big"
    # the brightest sources of the catalogue are among those sent
    brightest = np.argsort(np.asarray(t["gmag"]))[:20]
    assert set(brightest) <= set(sent_big["_row"])


def test_selection_comes_back_as_rows(widget):
    t = Table.from_pandas(_catalogue(50))
    widget.show_table(t, name="cat")
    widget._selected_objects = [[{"ra": float(t["ra"][i]), "dec": float(t["dec"][i]), "x": 0, "y": 0,
                                  "data": {"_row": i, "name": t["name"][i]}} for i in (3, 7)]]
    rows = widget.selection()
    assert list(rows["name"]) == ["src 3", "src 7"] and rows.colnames == t.colnames


def test_widget_shows_each_kind(widget):
    from mocpy import MOC

    widget.show("I/311/hip2")
    widget.show(Table({"s_region": ["Polygon ICRS 10 10 11 10 11 11"], "s_ra": [10.5], "s_dec": [10.3]}))
    widget.show(MOC.from_cone(lon=30 * u.deg, lat=20 * u.deg, radius=10 * u.deg, max_depth=8))
    widget.show(_skymap())
    pairs = Table({"ra_1": [10.0, 11.0], "dec_1": [1.0, 2.0], "ra_2": [10.0001, 11.0001], "dec_2": [1.0, 2.0],
                   "separation_arcsec": [0.36, 0.36]})
    widget.show(pairs)
    kinds = [(layer["kind"], layer["name"]) for layer in widget.layers]
    assert kinds == [("catalog_hips", "I/311/hip2"), ("footprints", "footprints"), ("table", "images"),
                     ("moc", "coverage"), ("skymap", "skymap 50 %"), ("skymap", "skymap 90 %"),
                     ("table", "crossmatch left"), ("table", "crossmatch right")]
    assert widget.layers[-1]["ra"] == [10.0001, 11.0001]
    # the 90 % region is larger than the 50 % one
    assert widget.layers[5]["sky_fraction"] > widget.layers[4]["sky_fraction"]
    hips = [c for c, _ in widget.sent if c.get("event_name") == "astrohub_catalog_hips"][0]
    assert hips["url"] == "/services/archive/hips/I_311_hip2"
    assert widget.astrohub_message == ""


def test_a_catalogue_name_is_looked_up_in_the_registry(widget, tmp_path, monkeypatch):
    """A name the registry knows shows its table's HiPS ('I/311' -> I_311_hip2); an unknown one is a message, not
    a layer of a HiPS that does not exist (the view stayed blank, with no word)."""
    from platform_lib.catalogs import CatalogInfo, Registry, TableInfo

    registry = Registry(tmp_path / "registry.sqlite")
    registry.add_catalog(CatalogInfo("I/311", tables=("hip2",)),
                         [(TableInfo("hip2", "I/311", ra_column="ra", dec_column="dec"), None)])
    registry.close()
    monkeypatch.setenv("PLATFORM_CATALOG_REGISTRY", str(tmp_path / "registry.sqlite"))
    widget.show("I/311")
    hips = [c for c, _ in widget.sent if c.get("event_name") == "astrohub_catalog_hips"]
    assert [h["url"] for h in hips] == ["/services/archive/hips/I_311_hip2"] and widget.astrohub_message == ""
    with pytest.warns(UserWarning, match="cannot show 'M45'"):
        widget.show("M45")
    assert "cannot show 'M45'" in widget.astrohub_message and len(widget.layers) == 1


def test_a_source_of_a_hips_catalogue_shows_its_row_when_clicked(widget):
    """viz25, in headless Chromium on the platform: clicking a star of ``viz.show("I/311/hip2")`` (or of a large
    table's HiPS) did nothing, where a star of a small table (ipyaladin's ``add_table``) showed its row under the
    view: Aladin Lite's HiPS catalogue has no click action unless given one. It is now given the table's."""
    widget.add_catalog_hips("/services/archive/hips/I_311_hip2", name="hip2")
    widget.add_catalog_hips("/services/archive/hips/mine", name="mine", on_click="showPopup")  # the user's choice
    hips = [c["options"] for c, _ in widget.sent if c.get("event_name") == "astrohub_catalog_hips"]
    assert [h["on_click"] for h in hips] == ["showTable", "showPopup"]


def test_widget_bad_input_is_a_message_not_a_blank_view(widget):
    with pytest.warns(UserWarning, match="no sky coordinates"):
        widget.show(Table({"flux": [1.0]}))
    assert "no sky coordinates" in widget.astrohub_message
    with pytest.warns(UserWarning, match="12 \\* 4\\*\\*order"):
        widget.show(np.ones(10))
    assert widget.layers == []


def test_a_bad_input_warning_points_at_the_users_call(widget):
    """The warning named platform_lib/viz/__init__.py (viz.show's own line), not the notebook's cell."""
    for show in (widget.show, lambda obj: viz.show(obj, archive_url="http://hub.example:8000/services/archive/")):
        with pytest.warns(UserWarning, match="no sky coordinates") as caught:
            show(Table({"flux": [1.0]}))
        assert [w.filename for w in caught] == [__file__]


def test_null_positions_are_not_drawn_and_pairs_can_be_shown_on_the_sky():
    """A masked (null) position was drawn at the value under its mask; ``plot(pairs, center=, radius=)``
    (the documented sky view) raised TypeError from plot_crossmatch."""
    from astropy.table import MaskedColumn

    from platform_lib.viz._inputs import positions

    t = Table({"ra": MaskedColumn(np.array([10.0, 20.0, 30.0], dtype=">f8"), mask=[False, True, False], unit="deg"),
               "dec": MaskedColumn([0.0, 1.0, 2.0], mask=[False, False, True])})
    got = positions(t)
    assert got.rows.tolist() == [0] and got.ra.tolist() == [10.0]
    pairs = Table({"ra_1": [10.0, 10.001], "dec_1": [0.0, 0.001], "ra_2": [10.0001, 10.0011],
                   "dec_2": [0.0, 0.0011], "separation_arcsec": [0.36, 0.5]})
    _assert_picture(viz.plot(pairs, center=SkyCoord(10, 0, unit="deg"), radius=0.1 * u.deg))
    _assert_picture(viz.plot(pairs, projection="aitoff"))
    _assert_picture(viz.plot(pairs), size=(1100, 460))  # the diagnostic, as before


def test_a_table_hips_is_titled_after_its_folder_or_the_tables_name(tmp_path):
    """Every HiPS built from a Table or DataFrame was titled "table" (in the viewer's layer list and the
    archive's list of a user's HiPS)."""
    from platform_lib.viz import build_catalog_hips, build_density_hips
    from platform_lib.viz._hips import read_properties

    rng = np.random.default_rng(5)
    stars = Table({"ra": rng.uniform(0, 360, 300), "dec": rng.uniform(-60, 60, 300), "mag": rng.uniform(5, 9, 300)})
    assert read_properties(build_catalog_hips(stars, tmp_path / "my-stars") / "properties")["obs_title"] == "my-stars"
    assert read_properties(build_density_hips(stars.to_pandas(), tmp_path / "dens") / "properties")["obs_title"] == "dens density"
    stars.meta["name"] = "Pleiades members"
    assert read_properties(build_catalog_hips(stars, tmp_path / "named") / "properties")["obs_title"] == "Pleiades members"


def test_vizier_sexagesimal_positions_and_other_column_names_are_read():
    """VizieR's RAJ2000/DEJ2000 as text ('05 35 17.3', hours for RA) raised numpy's ValueError (a traceback
    in the user's cell); a table with ``ra``/``decl`` (Rubin, SDSS) found no coordinates."""
    from platform_lib.viz._inputs import positions

    # M42 and the Pleiades as SIMBAD gives them; one row with no position, one typed by hand with colons
    t = Table({"Name": ["M42", "M45", "blank", "M1"],
               "RAJ2000": ["05 35 17.3", "03 47 24", "", "05:34:31.94"],
               "DEJ2000": ["-05 23 28", "+24 07 00", "", "+22:00:52.2"]})
    got = positions(t)
    assert got.rows.tolist() == [0, 1, 3]
    np.testing.assert_allclose(got.ra, [83.8220833, 56.85, 83.6330833], atol=1e-6)
    np.testing.assert_allclose(got.dec, [-5.3911111, 24.1166667, 22.0145], atol=1e-6)
    bytes_table = Table({"_RAJ2000": np.array([b"05 35 17.3"]), "_DEJ2000": np.array([b"-05 23 28"])})
    np.testing.assert_allclose(positions(bytes_table).dec, [-5.3911111], atol=1e-6)
    with pytest.warns(UserWarning, match=r"1 rows have no position .*\(RAJ2000/DEJ2000\).* rows 2 \(from 0\)"):
        _assert_picture(viz.plot(t, center=SkyCoord("05h35m -05d23m"), radius=30 * u.deg))
    with pytest.raises(viz.VizError, match="column 'DEJ2000', row 1: cannot read 'north' as a sexagesimal"):
        positions(Table({"RAJ2000": ["05 35 17.3"], "DEJ2000": ["north"]}))
    assert positions(Table({"ra": [83.82], "decl": [-5.39]})).dec_column == "decl"


def test_a_position_column_that_is_not_an_angle_is_refused_not_drawn_as_degrees(tmp_path):
    """A table whose 'ra' is in metres was drawn (and built into a HiPS) as if in degrees; crossmatch refused the
    same table. Both read positions with ``platform_lib.catalogs.position_degrees`` now: a VizError naming the
    column and its unit; other angle units are converted."""
    from platform_lib.viz._inputs import positions

    metres = Table({"ra": [83.82, 56.85] * u.m, "dec": [-5.39, 24.12] * u.deg})
    with pytest.raises(viz.VizError, match="column 'ra' has unit m, not an angle"):
        positions(metres)
    with pytest.raises(viz.VizError, match="column 'ra' has unit m, not an angle"):
        viz.plot(metres)
    with pytest.raises(viz.VizError, match="column 'ra' has unit m, not an angle"):
        viz.build_catalog_hips(metres, tmp_path / "metres")
    assert not (tmp_path / "metres").exists()
    hours = Table({"ra": [5.5] * u.hourangle, "dec": [-5.39] * u.deg})
    assert positions(hours).ra.tolist() == pytest.approx([82.5])


def test_a_zoom_centre_may_be_text_and_every_zoomed_colourbar_is_labelled():
    """``center="05h35m17s -05d23m28s"`` raised AttributeError ('str' has no 'icrs'); the zoomed density image
    (more than 50 000 sources) and the zoomed sky map had a colourbar without a label."""
    rng = np.random.default_rng(3)
    dense = Table({"ra": rng.normal(83.82, 0.3, 60_000), "dec": rng.normal(-5.39, 0.3, 60_000)})
    for center in ("05h35m17.3s -05d23m28s", "83.822 -5.391", SkyCoord(83.822, -5.391, unit="deg")):
        fig = viz.plot(dense, center=center, radius=1 * u.deg)
        assert fig.axes[0].wcs.wcs.crval[0] == pytest.approx(83.822, abs=1e-3)
        assert fig.axes[0].wcs.wcs.cdelt[0] < 0  # RA grows to the left
        assert fig.axes[1].get_ylabel() == "log10(1 + sources per HEALPix order-12 cell (51.5″))"
    zoomed = viz.plot_skymap(_skymap(), center="peak")
    assert "probability per deg²" in [a.get_ylabel() for a in zoomed.axes]
    with pytest.raises(viz.VizError, match="center='Orion' is not a sky position"):
        viz.plot(dense, center="Orion", radius=1 * u.deg)


def test_the_widget_sends_positions_aladin_can_read_and_ranks_null_magnitudes_last(widget):
    """Positions went to Aladin Lite as the table held them, and it reads numbers in degrees whatever their
    unit (a table in radians was drawn near 0h 0d) and text only as '05 35 17.3' ('5h35m17.3s' became 5 deg);
    a large table's masked magnitudes were ranked by the value under the mask (0: the 'brightest')."""
    from astropy.io.votable import parse_single_table
    from astropy.table import MaskedColumn

    radians = Table({"ra": [1.4629729, 0.9922196] * u.rad, "dec": [-0.0940934, 0.4209160] * u.rad})
    widget.show_table(radians, name="radians")
    content, buffers = widget.sent[-1]
    sent = parse_single_table(io.BytesIO(bytes(buffers[0]))).to_table()
    np.testing.assert_allclose(np.asarray(sent[content["options"]["ra_field"]], float), [83.822, 56.850], atol=1e-3)
    np.testing.assert_allclose(np.asarray(sent[content["options"]["dec_field"]], float), [-5.391, 24.117], atol=1e-3)
    widget.sent.clear()

    t = Table({"Name": ["M42", "M45"], "RAJ2000": ["5h35m17.3s", "03 47 24"], "DEJ2000": ["-05 23 28", "+24 07 00"]})
    widget.show_table(t, name="vizier")
    [(content, buffers)] = [(c, b) for c, b in widget.sent if c.get("event_name") == "add_table"]
    sent = parse_single_table(io.BytesIO(bytes(buffers[0]))).to_table()
    ra_field, dec_field = content["options"]["ra_field"], content["options"]["dec_field"]
    np.testing.assert_allclose(np.asarray(sent[ra_field], float), [83.8220833, 56.85], atol=1e-6)
    np.testing.assert_allclose(np.asarray(sent[dec_field], float), [-5.3911111, 24.1166667], atol=1e-6)
    assert list(sent["RAJ2000"]) == ["5h35m17.3s", "03 47 24"]  # the table's own text is still shown
    plain = Table.from_pandas(_catalogue(30))
    widget.show_table(plain, name="plain")
    assert widget.sent[-1][0]["options"]["ra_field"] == "ra"  # degrees already: sent as they are

    big = Table.from_pandas(_catalogue(3_000))
    null = np.arange(len(big)) < 500
    # under the mask lies 0.0, as a null magnitude read from a file may hold
    big["gmag"] = MaskedColumn(np.where(null, 0.0, np.asarray(big["gmag"])), mask=null)
    assert big["gmag"].mask.sum() == 500
    widget.show_table(big, name="masked", limit=300)
    sent = parse_single_table(io.BytesIO(bytes(widget.sent[-1][1][0]))).to_table()
    assert not set(range(500)) & set(sent["_row"])  # the null magnitudes are not the 'brightest'


def test_a_skycoord_in_any_frame_is_drawn_at_its_icrs_position():
    """A galactic SkyCoord went through its own ``to_table`` (columns l, b): 'no sky coordinates found'."""
    from platform_lib.viz._inputs import positions

    centre = SkyCoord(l=0 * u.deg, b=0 * u.deg, frame="galactic")  # the Galactic centre: 266.40, -28.94 (ICRS)
    got = positions(centre)
    np.testing.assert_allclose([got.ra[0], got.dec[0]], [266.405, -28.936], atol=1e-3)
    fig = viz.plot(SkyCoord(l=[0, 10, 20] * u.deg, b=[0, 5, -5] * u.deg, frame="galactic"))
    _assert_picture(fig)
    # all-sky axes say what they are (they had tick labels only), RA growing to the left, each tick labelled
    # with its own hour (the labels read 10h 7h 6h 3h 1h 0h: 29.999... deg was 1h)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("RA (ICRS)", "Dec (ICRS)")
    labels = [(t.get_text(), round(float(np.degrees(x)))) for t, x in zip(ax.get_xticklabels(), ax.get_xticks())]
    assert labels == [(f"{(-d) % 360 // 15}h", d) for d in range(-150, 180, 30)]
    assert labels[:6] == [("10h", -150), ("8h", -120), ("6h", -90), ("4h", -60), ("2h", -30), ("0h", 0)]


def test_a_vizier_table_with_text_positions_becomes_a_hips(tmp_path):
    """``build_catalog_hips``/``build_density_hips`` of a table with sexagesimal RAJ2000 text raised numpy's
    ValueError ('could not convert string to float')."""
    t = Table({"Name": ["M42", "M45", "M1", "none"], "RAJ2000": ["05 35 17.3", "03 47 24", "05 34 31.94", ""],
               "DEJ2000": ["-05 23 28", "+24 07 00", "+22 00 52.2", ""], "Vmag": [4.0, 1.6, 8.4, 9.0]})
    report = viz.validate_hips(viz.build_catalog_hips(t, tmp_path / "cat"))
    assert report.rows == 3  # the row with no position is left out
    lines = (tmp_path / "cat" / "Norder1" / "Allsky.tsv").read_text().splitlines()[2:]
    got = {row.split("\t")[3]: [float(v) for v in row.split("\t")[:2]] for row in lines}
    np.testing.assert_allclose(got["M42"], [83.8220833, -5.3911111], atol=1e-6)
    np.testing.assert_allclose(got["M45"], [56.85, 24.1166667], atol=1e-6)
    assert viz.validate_hips(viz.build_density_hips(t, tmp_path / "density")).dataproduct_type == "image"


def test_a_text_target_is_read_in_python_never_sent_to_sesame():
    """Aladin Lite sent a target it could not read as coordinates ('03h47m +24d07m') to CDS's Sesame: a
    request leaving the platform, refused offline, and the view failed to draw (a TypeError in the widget)."""
    for text in ("03h47m +24d07m", "03 47 00 +24 07 00", "03:47:00 +24:07:00", "56.75 24.116667"):
        w = viz.Aladin(target=text, archive_url="/services/archive/")
        ra, dec = (float(v) for v in w._init_options["_target"].split())
        assert (ra, dec) == pytest.approx((56.75, 24.116667), abs=1e-5), text
    with pytest.warns(UserWarning, match="target='M45' is not a sky position nor a name the platform's catalogues hold"):
        w = viz.Aladin(target="M45", fov=3, archive_url="/services/archive/")  # no archive here: nobody answers
    assert "_target" not in w._init_options and "target='M45'" in w.astrohub_message


@pytest.fixture
def name_archive(monkeypatch):
    """A TAP service on a free port (the platform's archive, PLATFORM_ARCHIVE_URL) that holds one name: the
    Pleiades, M45, at OpenNGC's position. It answers the ADQL platform_lib.offline sends, and records it."""
    import http.server
    import threading
    from urllib.parse import parse_qs

    from astropy.io.votable import from_table

    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            query = parse_qs(body).get("QUERY", [""])[-1]
            asked.append(query)
            rows = Table({"ra": [56.85], "dec": [24.1167]})[: 1 if "messier = '045'" in query else 0]
            out = io.BytesIO()
            from_table(rows).to_xml(out)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-votable+xml")
            self.send_header("Content-Length", str(len(out.getvalue())))
            self.end_headers()
            self.wfile.write(out.getvalue())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", f"http://127.0.0.1:{server.server_port}/services/archive/")
    yield asked
    server.shutdown()
    server.server_close()


def test_a_name_the_platforms_catalogues_hold_is_a_target_and_a_centre(name_archive):
    """hour13: viz.show(..., target='M45') and viz.plot(..., center='M45') did not look the name up (a message
    naming SkyCoord.from_name instead), though the platform answers it offline from its catalogues."""
    w = viz.Aladin(target="M45", fov=3, archive_url="/services/archive/")
    ra, dec = (float(v) for v in w._init_options["_target"].split())
    assert (ra, dec) == pytest.approx((56.85, 24.1167)) and not w.astrohub_message
    near = Table({"ra": [56.7, 56.9, 57.0], "dec": [24.0, 24.1, 24.2]})
    fig = viz.plot(near, center="M45", radius=1 * u.deg)
    assert fig.axes[0].wcs.wcs.crval == pytest.approx([56.85, 24.1167])
    assert any("messier = '045'" in q for q in name_archive)
    with pytest.raises(viz.VizError, match=r"center='M46' is not a sky position nor a name the platform's "
                                           r"catalogues hold \(Messier, NGC and IC numbers"):
        viz.plot(near, center="M46", radius=1 * u.deg)


def test_the_viewer_colours_and_sizes_sources_by_a_column(widget):
    from astropy.io.votable import parse_single_table

    t = Table.from_pandas(_catalogue(300))
    t["gmag"][5] = np.nan
    widget.show_table(t, name="cat", color="gmag", size="gmag", cmap="plasma")
    content, buffers = [(c, b) for c, b in widget.sent if c.get("event_name") == "add_table"][-1]
    sent = parse_single_table(io.BytesIO(bytes(buffers[0]))).to_table()
    assert content["options"]["color_column"] == "_color" and content["options"]["size_column"] == "_size"
    assert "color" not in content["options"]
    colours = np.asarray(sent["_color"]).astype(str)
    assert all(c.startswith("#") and len(c) == 7 for c in colours) and colours[5] == "#9e9e9e"
    assert len(set(colours)) > 50  # a colour scale, not one colour
    # a magnitude: the brightest source is the largest
    sizes, mags = np.asarray(sent["_size"], float), np.asarray(t["gmag"], float)
    assert sizes[np.nanargmin(mags)] == 15.0 and sizes[np.nanargmax(mags)] == 3.0
    # the viewer's JavaScript reads them per source (Aladin Lite's color and sourceSize functions)
    assert "g.color=s=>s.data[k]" in widget._esm and "g.source_size=s=>+s.data[k]" in widget._esm
    # a plain colour is still a colour
    widget.show_table(t, name="plain", color="yellow")
    assert [c for c, b in widget.sent if c.get("event_name") == "add_table"][-1]["options"]["color"] == "yellow"


def test_colouring_by_text_or_a_missing_column_and_a_bad_magnitude_are_clear_errors(widget, tmp_path):
    t = Table.from_pandas(_catalogue(50))
    t["band"] = ["G"] * 50
    with pytest.warns(UserWarning, match=r"size='band' holds .* \(text\), not numbers.*'gmag'"):
        widget.show(t, size="band")
    with pytest.warns(UserWarning, match=r"magnitude='nope' is not a column of the table"):
        widget.show(t, magnitude="nope")
    assert not [c for c, b in widget.sent if c.get("event_name") == "add_table"]
    with pytest.raises(viz.VizError, match=r"color='band' holds .* \(text\), not numbers"):
        viz.plot_table(t, color="band")
    with pytest.raises(viz.VizError, match="color='nope' is neither a colour nor a column"):
        viz.plot_table(t, color="nope")
    with pytest.raises(viz.HipsError, match="the column 'band' holds .* values, not numbers"):
        viz.build_catalog_hips(t, tmp_path / "h", magnitude="band")
    # a text column named like a magnitude is not taken as one: the table builds, ranked without it
    t2 = Table({"ra": t["ra"], "dec": t["dec"], "mag_band": ["G"] * 50})
    assert viz.validate_hips(viz.build_catalog_hips(t2, tmp_path / "h2")).rows == 50


def test_figures_colour_and_size_points_by_a_column():
    t = Table.from_pandas(_catalogue(2000))
    for options in ({"color": "gmag"}, {"color": "gmag", "size": "gmag", "center": "83.8 -5.4", "radius": 20 * u.deg},
                    {"size": "gmag"}):
        fig = viz.plot_table(t, **options)
        fig.savefig(io.BytesIO(), format="png")
        if "color" in options:
            assert fig.axes[-1].get_xlabel() == "gmag" or fig.axes[-1].get_ylabel() == "gmag"
    big = Table.from_pandas(_catalogue(60_000))  # a density image: the column's mean per cell
    fig = viz.plot_table(big, color="gmag")
    assert "mean gmag per HEALPix order-6 cell (54.9′)" in (fig.axes[-1].get_xlabel(), fig.axes[-1].get_ylabel())


def test_a_hips_goes_to_the_archive_as_a_plain_tar_of_its_files(tmp_path, monkeypatch):
    """viz14: ``upload_hips`` gzipped the tar and let ``tarfile.add`` look up each tile's owner and write PAX
    headers: for a 10^6-row table's HiPS (89 MB, 4,085 files) that took as long as building it. The body is now
    a plain tar with a GNU header per file, the files' bytes as they are; gzipped only past ``PLAIN_TAR_MAX``
    (the archive's upload limit counts the bytes sent)."""
    import tarfile

    from platform_lib.viz import _publish

    root = viz.write_catalog_hips(_catalogue(3_000), tmp_path / "mine", viz.CatalogHipsSpec("mine", n_per_tile=50),
                                  ra="ra", dec="dec", magnitude="gmag")
    sent = []

    class Session:
        def post(self, url, params=None, data=None, headers=None):
            sent.append(data.read())
            return type("Answer", (), {"status_code": 201, "json": lambda self: {"name": "mine-1"}})()

    monkeypatch.setattr(_publish, "_service", lambda settings=None: ("http://archive/hips/~/", Session()))
    viz.upload_hips(root)
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with tarfile.open(fileobj=io.BytesIO(sent[0]), mode="r:") as tar:  # "r:": uncompressed, else a ReadError
        members = tar.getmembers()
        assert {m.name: tar.extractfile(m).read() for m in members} == files and len(files) > 20
    assert all(m.isfile() and not m.pax_headers and m.uname == "" for m in members)
    monkeypatch.setattr(_publish, "PLAIN_TAR_MAX", 1000)  # a HiPS bigger than that: gzipped
    viz.upload_hips(root)
    with tarfile.open(fileobj=io.BytesIO(sent[1]), mode="r:gz") as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar.getmembers()} == files


@pytest.mark.filterwarnings("ignore:1 rows have no position")  # row 7, checked at the first show
def test_a_large_table_becomes_a_hips_on_the_archive_so_zooming_in_shows_every_source(widget, monkeypatch):
    """A table above the limit sent its 5,000 most representative rows: zoomed in on a field, most of its
    sources were missing. Now it is built into a HiPS catalogue and sent to the archive (here a stand-in
    that records the upload: the archive's side is tests/integration/test_viz_publish.py's), once per table."""
    from platform_lib.viz import _publish

    uploads, kept = [], []

    def upload(path, *, title="", settings=None):
        report = viz.validate_hips(path)
        header = next(p for p in sorted(path.rglob("Npix*.tsv"))).read_text().split("\n")[0].split("\t")
        uploads.append((report.rows, header, read_properties(path / "properties")))
        record = {"name": f"big-{len(uploads)}", "title": title, "url": f"/services/archive/hips/~/big-{len(uploads)}/"}
        kept.append(record)
        return record

    monkeypatch.setattr(_publish, "_service", lambda settings=None: ("http://archive/hips/~/", None))
    monkeypatch.setattr(_publish, "upload_hips", upload)
    monkeypatch.setattr(_publish, "my_hips", lambda settings=None: list(kept))
    t = Table.from_pandas(_catalogue(20_000))
    t["ra"][7] = np.nan  # left out, and the rows keep their numbers
    with pytest.warns(UserWarning, match="1 rows have no position .* left out of the view's layer 'big': rows 7"):
        widget.show_table(t, name="big", limit=1000, color="gmag")
    [(rows, header, props)] = uploads
    assert rows == 19_999 and {"_row", "_color", "gmag", "name"} <= set(header)
    assert props["astrohub_magnitude"] == "gmag"
    [hips] = [c for c, b in widget.sent if c.get("event_name") == "astrohub_catalog_hips"]
    # viz20: the archive's URL ends in a slash, to which Aladin Lite added "/properties": ".../big-1//properties"
    assert hips["url"] == "/services/archive/hips/~/big-1" and hips["options"]["color_column"] == "_color"
    assert widget.layers[-1]["url"] == hips["url"]
    assert not [c for c, b in widget.sent if c.get("event_name") == "add_table"] and widget.astrohub_message == ""
    assert widget.layers[-1]["kind"] == "catalog_hips" and widget.layers[-1]["total"] == 19_999
    # a selection in the view comes back as rows of the table (the tiles carry each row's number)
    widget._selected_objects = [[{"ra": 0, "dec": 0, "x": 0, "y": 0, "data": {"_row": "12", "name": "src 12"}}]]
    assert list(widget.selection()["name"]) == ["src 12"]
    # the same table again: the HiPS already on the archive, not a second upload
    widget.show_table(t, name="big", limit=1000, color="gmag")
    assert len(uploads) == 1
    # the same rows with their positions moved (e.g. to another epoch) are another HiPS: the fingerprint took
    # only the first two columns and the carried ones, so with an id first a moved Dec reused the old view
    ids_first = t["name", "ra", "dec", "gmag"]
    widget.show_table(ids_first, name="big", limit=1000, color="gmag")
    ids_first["dec"] = np.clip(ids_first["dec"] + 0.5, -90, 90)
    widget.show_table(ids_first, name="big", limit=1000, color="gmag")
    assert len(uploads) == 3
    # no archive (or no room there): the most representative rows, and why
    monkeypatch.setattr(_publish, "_service", lambda settings=None: (_ for _ in ()).throw(viz.HipsError("no API token")))
    widget.show_table(t, name="cut", limit=1000)
    assert "showing 1000 of 19999" in widget.astrohub_message and "no API token" in widget.astrohub_message


def test_a_sky_map_or_small_moc_turns_the_view_to_it_unless_the_user_chose_one():
    """viz.show(skymap) drew the 50 % and 90 % regions where they are, and left the view at (0, 0): for a map of a
    few tens of deg² the viewer was blank."""
    from astropy_healpix import HEALPix

    hp = HEALPix(nside=2**6, order="nested")
    lon, lat = hp.healpix_to_lonlat(np.arange(hp.npix))
    sep = SkyCoord(lon, lat).separation(SkyCoord(40, -30, unit="deg")).deg
    prob = np.exp(-0.5 * (sep / 3) ** 2)
    w = viz.show(prob / prob.sum(), archive_url="/services/archive/")
    assert w.target.separation(SkyCoord(40, -30, unit="deg")).deg < 1 and 5 < w.fov.deg < 60
    # viz21: a field alone (the see-the-sky tutorial's viz.show(skymap, fov=60)) kept the view at (0, 0), the
    # regions off screen: it is the field of a view turned to them; a target given keeps the view there
    mine = viz.show(prob / prob.sum(), fov=60, archive_url="/services/archive/")
    assert mine.fov.deg == 60 and mine.target.separation(SkyCoord(40, -30, unit="deg")).deg < 1
    there = viz.show(prob / prob.sum(), target="10 10", archive_url="/services/archive/")
    assert there.target.separation(SkyCoord(10, 10, unit="deg")).deg < 1e-6
    from mocpy import MOC

    everywhere = viz.show(MOC.from_string("0/0-11"), archive_url="/services/archive/")
    assert everywhere.target.separation(SkyCoord(0, 0, unit="deg")).deg < 1e-6


def test_positions_in_every_form_ingest_reads_are_drawn_and_matched_where_astropy_puts_them(widget, tmp_path):
    """viz12: viz (figure, viewer, HiPS), the sky-map match and NWAY did not find positions as ingest and
    crossmatch do: a table with only Galactic GLON/GLAT, CDS's RAh RAm RAs DE- DEd DEm DEs parts, or positions its
    explanations or ``meta`` state in FK4 B1950 were refused ('no sky coordinates found') or drawn as ICRS, 0.7 deg
    off. Real stars: astropy's VizieR sample J/A+A/511/A56 (Pancino+ 2010, 15 stars) and the first 300 Hipparcos
    stars (I/311), each form checked against astropy's own positions to 1 mas."""
    import astropy
    from astropy.coordinates import FK4
    from astropy.io import ascii

    from platform_lib.crossmatch import nway_match
    from platform_lib.sampledata._sources import hipparcos_table
    from platform_lib.skymap import match_skymap
    from platform_lib.viz._inputs import positions

    vizier = Path(astropy.__file__).parent / "io" / "ascii" / "tests" / "data" / "vizier"
    cds = ascii.read(str(vizier / "table1.dat"), readme=str(vizier / "ReadMe"), format="cds")
    parts = ("RAh", "RAm", "RAs", "DE-", "DEd", "DEm", "DEs")
    text = [f"{h}h{m}m{s}s {sg}{d}d{dm}m{ds}s" for h, m, s, sg, d, dm, ds in zip(*(cds[c] for c in parts))]
    b1950 = cds.copy()
    for name in parts:
        b1950[name].description = b1950[name].description.replace("J2000", "B1950")
    hip = hipparcos_table()[:300]
    stars = SkyCoord(np.asarray(hip["ra"]) * u.deg, np.asarray(hip["dec"]) * u.deg)
    fk4 = stars.transform_to(FK4(equinox="B1950"))
    forms = {
        "CDS parts": (cds, SkyCoord(text)),
        "CDS parts, B1950": (b1950, SkyCoord(text, frame=FK4(equinox="B1950")).icrs),
        "GLON/GLAT": (Table({"HIP": hip["HIP"], "GLON": stars.galactic.l.deg * u.deg,
                             "GLAT": stars.galactic.b.deg * u.deg}), stars),
        "radians": (Table({"HIP": hip["HIP"], "RA": stars.ra.rad * u.rad, "DEC": stars.dec.rad * u.rad}), stars),
        "meta B1950": (Table({"HIP": hip["HIP"], "RAB1950": fk4.ra.deg, "DEB1950": fk4.dec.deg, "ra": fk4.ra.deg,
                              "dec": fk4.dec.deg}, meta={"equinox": "B1950"}), stars),
        "DataFrame attrs B1950": (pd.DataFrame({"ra": fk4.ra.deg, "dec": fk4.dec.deg}), stars),
    }
    forms["DataFrame attrs B1950"][0].attrs["equinox"] = "B1950"
    for form, (table, truth) in forms.items():
        got = positions(table)
        assert truth.separation(SkyCoord(got.ra * u.deg, got.dec * u.deg)).max() < 1 * u.mas, form
        from astropy.io.votable import parse_single_table

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the sample's column 'S/N' gets the VOTable ID 'S_N' (astropy's W03)
            widget.show_table(table, name=form)  # what the viewer gets: degrees in ICRS
            content, buffers = [(c, b) for c, b in widget.sent if c.get("event_name") == "add_table"][-1]
            sent = parse_single_table(io.BytesIO(bytes(buffers[0]))).to_table()
        drawn = SkyCoord(np.asarray(sent[content["options"]["ra_field"]]) * u.deg,
                         np.asarray(sent[content["options"]["dec_field"]]) * u.deg)
        assert truth.separation(drawn).max() < 1 * u.mas, form
        _assert_picture(viz.plot(table))
    # the HiPS of a Galactic table (the viewer's level of detail for a large one) holds ICRS positions
    galactic = forms["GLON/GLAT"][0]
    viz.build_catalog_hips(galactic, tmp_path / "gal", columns=["HIP"])
    rows = (tmp_path / "gal" / "Norder1" / "Allsky.tsv").read_text().splitlines()
    header, body = rows[0].split("\t"), [r.split("\t") for r in rows[2:]]  # names, dashes, rows
    at = {int(r[header.index("HIP")]): (float(r[header.index("RA_ICRS")]), float(r[header.index("DE_ICRS")]))
          for r in body}
    index = {int(h): k for k, h in enumerate(hip["HIP"])}
    hips = SkyCoord([v[0] for v in at.values()] * u.deg, [v[1] for v in at.values()] * u.deg)
    assert stars[[index[h] for h in at]].separation(hips).max() < 1 * u.mas and len(at) > 10
    # a sky map's probabilities and NWAY's matches are those of the same stars in ICRS
    from platform_lib.skymap import SkyMap

    prob = np.linspace(1.0, 2.0, 768)  # order 3, nested; a density that changes from cell to cell
    m = SkyMap(uniq=4 * 4**3 + np.arange(768), probdensity=prob / prob.sum() / (4 * np.pi / 768))
    icrs = match_skymap(Table({"ra": stars.ra.deg, "dec": stars.dec.deg}), m)
    for form in ("GLON/GLAT", "meta B1950", "radians"):
        np.testing.assert_allclose(match_skymap(forms[form][0], m)["probdensity"], icrs["probdensity"], err_msg=form)
    other = Table({"ra": stars.ra.deg, "dec": stars.dec.deg})
    for form in ("GLON/GLAT", "meta B1950"):
        pairs = nway_match(forms[form][0], other, radius=2 * u.arcsec, errors=[0.1 * u.arcsec, 0.1 * u.arcsec],
                           area=1000 * u.deg**2)
        best = pairs[pairs["match_flag"]]
        assert len(best) == 300 and list(best["idx_primary"]) == list(best["idx_cat1"]), form


def _text_boxes(fig) -> list[tuple[str, object]]:
    """Every piece of text a drawn zoomed figure shows, with its bounding box in pixels: each tick label
    WCSAxes drew (one Text artist it moves from label to label: the boxes of the labels it drew, as its draw
    leaves them; it later merges them into one box per side for the axis labels), the axis labels and the
    title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    ax = fig.axes[0]
    drawn: dict[str, list] = {}
    for name, coord in zip(("ra", "dec"), ax.coords):
        ticklabels = coord._ticklabels

        def record(renderer, *args, _labels=ticklabels, _draw=ticklabels.draw, _name=name, **kwargs):
            _draw(renderer, *args, **kwargs)
            drawn[_name] = list(_labels._all_bboxes)

        ticklabels.draw = record
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [(f"{name} tick label", bb) for name, bbs in drawn.items() for bb in bbs]
    for name, coord in zip(("ra", "dec"), ax.coords):
        if coord._axislabels.get_visible() and coord._axislabels.get_text():
            boxes.append((f"{name} axis label", coord._axislabels.get_window_extent(renderer)))
    boxes.append(("title", ax.title.get_window_extent(renderer)))
    return boxes


@pytest.mark.parametrize(("ra", "dec", "radius"), [
    (0.0, 89.5, 0.25 * u.deg),     # near the north pole: a 0.5 deg square (the report)
    (180.0, 89.9, 0.25 * u.deg),   # the pole in view: every RA at once
    (0.0, -89.8, 0.5 * u.deg),     # the south pole
    (359.95, 10.0, 0.25 * u.deg),  # RA wrapping at 0/360
    (56.75, 24.1, 0.5 * u.arcmin), # 1 arcmin across
    (120.0, -30.0, 15 * u.deg),    # 30 deg across
    (200.0, 75.0, 30 * u.deg),     # 60 deg across, far north
])
def test_zoomed_axes_text_never_overlaps(ra, dec, radius):
    """viz21: a zoom near a celestial pole (Dec +89.5, 0.5 deg) crowded its axes: the RA labels where the
    meridians converge ran into each other, and into the title above them. Wherever and however far the view
    is zoomed, no tick label, axis label or title overlaps another, and each axis still has labels."""
    fig = viz.plot(Table({"ra": [ra], "dec": [dec]}), center=SkyCoord(ra, dec, unit="deg"), radius=radius)
    boxes = _text_boxes(fig)
    clashes = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]
    assert not clashes, clashes
    for name in ("ra", "dec"):
        assert any(label.startswith(f"{name} tick label") for label, _ in boxes), (name, boxes)


@pytest.mark.parametrize(("text", "why"), [
    ("05h35m71s -05d23m28s", "the right ascension '05h35m71s': its seconds (71) must be below 60"),
    ("05:35:17 -05:23:61", "the declination '-05:23:61': its seconds (61) must be below 60"),
    ("25h00m00s +10d00m00s", "the right ascension '25h00m00s': its hours (25) must be below 24"),
    ("12h30m +95d", "the declination '+95d' must be between -90 and +90 deg, not 95.0 deg"),
    ("05h35m17s", "it is not a right ascension followed by a declination")])
def test_a_badly_formed_sexagesimal_target_gets_our_error_naming_the_text_and_a_form_that_works(text, why):
    """polish21: a sexagesimal target with a slip in it set on the widget (``w.target = ...``) was astropy's own
    ``IllegalSecondError: An invalid value for 'second' was found ('71')...`` or ``syntax error parsing angle ''``
    (and a text ipyaladin could not read went to Sesame); given to ``viz.Aladin(target=...)`` or as a ``center``,
    it was 'is not a sky position nor a name', saying nothing of what was wrong."""
    from platform_lib.viz._inputs import sky_position

    said = (rf"target={re.escape(repr(text))} cannot be read as a sky position: {re.escape(why)}; write it as "
            r"'05h35m17.3s -05d23m28s', '05:35:17.3 -05:23:28' \(hours, then degrees\) or '83.822 -5.391' \(degrees\)")
    w = viz.Aladin(target="56.75 24.116667", archive_url="/services/archive/")
    with pytest.raises(viz.VizError, match=said):
        w.target = text
    with pytest.raises(viz.VizError, match=said):
        sky_position(text, "target")
    w.target = "05h35m17s -05d23m28s"  # one that reads still moves the view
    assert w.target.ra.deg == pytest.approx(83.820833, abs=1e-5)


@pytest.mark.parametrize("zoom", [False, True], ids=["all-sky", "zoomed"])
def test_point_labels_never_overlap_other_text(zoom):
    """polish21: names beside points (``plot_table(..., label=)``, the images tutorial's all-sky map) were drawn
    where they fell, over each other, the RA labels and the title. Crowded and clustered points here: every
    label placed overlaps no other text, and each name is on the figure or named in the warning."""
    rng = np.random.default_rng(21)
    ra = np.concatenate([rng.uniform(0, 360, 30), 83.63 + rng.normal(0, 0.01, 5), 280.6 + rng.normal(0, 1.5, 8)])
    dec = np.concatenate([rng.uniform(-80, 80, 30), 22.01 + rng.normal(0, 0.01, 5), 0.2 + rng.normal(0, 1.5, 8)])
    names = [f"image_{i}_{'x' * (i % 9)}" for i in range(ra.size)]
    options = dict(center=SkyCoord(280.6, 0.2, unit="deg"), radius=4 * u.deg) if zoom else {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = viz.plot_table(Table({"ra": ra, "dec": dec, "name": names}), label="name", **options)
    left_out = " ".join(str(w.message) for w in caught)
    ax = fig.axes[0]
    if zoom:
        boxes = _text_boxes(fig)
    else:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        texts = [*ax.get_xticklabels(), *ax.get_yticklabels(), ax.title, ax.xaxis.label, ax.yaxis.label]
        boxes = [(t.get_text(), t.get_window_extent(canvas.get_renderer())) for t in texts if t.get_text()]
    renderer = fig.canvas.get_renderer()
    boxes += [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]
    clashes = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]
    assert not clashes, clashes
    if not zoom:  # the five at M1 share one label: three names and "+2 more"
        (m1,) = [t.get_text() for t in ax.texts if "image_30_" in t.get_text()]
        assert m1.splitlines()[-1] == "+2 more", m1
    lines = [line for t in ax.texts for line in t.get_text().splitlines()]
    more = sum(int(line.split()[0][1:]) for line in lines if line.endswith(" more"))
    named = [line for line in lines if not line.endswith(" more")]
    assert len(named) == len(set(named)) and set(named) <= set(names)  # each name once at most
    in_view = range(35, 43) if zoom else range(ra.size)
    assert len(named) + more + sum(names[i] in left_out for i in in_view) == len(in_view)  # and every one counted
    with pytest.raises(viz.VizError, match=r"label='title' is not a column of the table: label by one of "
                                           r"\['ra', 'dec', 'name'\]"):
        viz.plot_table(Table({"ra": ra, "dec": dec, "name": names}), label="title")


def test_rows_left_out_of_a_figure_or_a_view_are_warned_of_naming_how_many_which_and_their_columns(widget):
    """viz24: ``viz.plot`` (and ``viz.show``) left rows with a NaN, masked or infinite position, or a declination
    beyond 90 deg, out of the picture in silence (a figure's title counted them, the viewer said nothing), and
    footprints without an ``s_region``. Each now warns as crossmatch does of the rows it leaves out
    (:class:`~platform_lib.crossmatch.DroppedRowsWarning`: how many, which columns, which rows), at the user's line."""
    from platform_lib.crossmatch import DroppedRowsWarning

    t = Table({"ra": np.ma.MaskedArray([10.0, 20.0, np.nan, 40.0, 50.0], mask=[False, True, False, False, False]),
               "dec": [1.0, 2.0, 3.0, 95.0, np.inf], "g": [1.0, 2.0, 3.0, 4.0, 5.0]})
    t.add_row((60.0, 6.0, 6.0))
    images = Table({"s_region": ["Polygon ICRS 82 -7 85 -7 85 -4 82 -4", "", "Circle ICRS 86 -3 1.5"]})
    cases = [(lambda: viz.plot(t), "the figure", ("ra", "dec"), [1, 2, 3, 4]),
             (lambda: viz.plot(t, center="30 3", radius=40), "the figure", ("ra", "dec"), [1, 2, 3, 4]),
             (lambda: widget.show(t, name="mine"), "the view's layer 'mine'", ("ra", "dec"), [1, 2, 3, 4]),
             (lambda: viz.plot(images), "the figure", ("s_region",), [1]),
             (lambda: widget.show(images), "the view's layer 'footprints'", ("s_region",), [1])]
    for call, where, columns, rows in cases:
        with pytest.warns(DroppedRowsWarning) as caught:
            call()
        assert len(caught) == 1 and caught[0].filename == __file__, [str(c.message) for c in caught]
        warning = caught[0].message
        assert (warning.count, warning.columns, warning.rows) == (len(rows), columns, rows)
        assert str(warning).startswith(f"{len(rows)} rows have ") and f"({'/'.join(columns)}) and were left out of " \
            f"{where}: rows {', '.join(map(str, rows))} (from 0)" in str(warning), str(warning)
    assert [layer["rows"] for layer in widget.layers if layer["kind"] in ("table", "footprints")] == [2, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a table whose every row has a position: no warning
        viz.plot(t[[0, 5]])
        widget.show(t[[0, 5]])


def test_show_refuses_an_option_it_does_not_take_naming_the_ones_it_does(widget):
    """viz24: ``viz.show(table, colour="red")`` passed the typo on to Aladin Lite, which ignored it (no error, no
    colour); options that did not fit what was shown were a TypeError from deep inside (crossmatch pairs with a
    colour; an SIA result with its own ``name=``, given twice). Now an option that ``show`` does not take for what
    it shows is a VizError (raised: a wrong call, not bad data) naming it, what it may be a misspelling of and the
    options there are; nothing is drawn."""
    t = Table({"ra": [10.0, 20.0], "dec": [1.0, 2.0], "g": [1.0, 2.0]})
    pairs = Table({"ra_1": [10.0], "dec_1": [0.0], "ra_2": [10.0001], "dec_2": [0.0], "separation_arcsec": [0.36]})
    images = Table({"s_region": ["Polygon ICRS 82 -7 85 -7 85 -4 82 -4"], "s_ra": [83.5], "s_dec": [-5.5]})
    for call, said in ((lambda: widget.show(t, colour="red"), r"a table takes no option 'colour' \(did you mean 'color'\?\)"),
                       (lambda: widget.show(t, sise="g"), r"'sise' \(did you mean 'size'\?\)"),
                       (lambda: widget.show(t, fov=3), r"'fov' \(the view's own: give it to viz.show or viz.Aladin"),
                       (lambda: widget.show(pairs, color="red"), r"crossmatch pairs takes no option 'color': its options are name;"),
                       (lambda: widget.show(images, column="s_region", shape="circle"), r"footprints takes no option 'shape'"),
                       (lambda: widget.show(SkyCoord(1, 2, unit="deg"), colr="red"), "'colr' \\(did you mean 'color'"),
                       (lambda: viz.show(t, fvo=3, archive_url="/services/archive/"), r"'fvo' \(did you mean 'fov'\?\)")):
        with pytest.raises(viz.VizError, match=said) as caught:
            call()
        assert "its options are " in str(caught.value) and "the view's (viz.show, viz.Aladin) archive_url, " \
            "coo_frame, fov, height" in str(caught.value)
    assert widget.layers == [] and widget.astrohub_message == ""
    widget.show(t, name="mine", color="g", shape="circle", source_size=6)  # Aladin Lite's own options pass on
    widget.show(images, name="my images", color="red", line_width=3)  # name= twice was a TypeError
    widget.show(pairs, name="pairs")
    assert [layer["name"] for layer in widget.layers] == ["mine", "my images", "images", "pairs left", "pairs right"]


@pytest.mark.parametrize("fov", [1e300, 360.5, 0, -2, float("inf"), float("nan"), "400 deg", -1 * u.arcmin])
def test_a_field_of_view_outside_0_to_360_degrees_is_refused(fov):
    """viz24: ``fov=1e300`` (and 400 deg, inf) was taken and the view drew nothing one could read; now a field of
    view outside (0, 360] degrees is a VizError naming it, in the constructor and when set later."""
    with pytest.raises(viz.VizError, match=r"must be an angle more than 0 and at most 360 deg \(the width of the "
                                           r"view\), 360 being the whole sky"):
        viz.Aladin(fov=fov, archive_url="/services/archive/")
    w = viz.Aladin(fov=360, projection="MOL", archive_url="/services/archive/")
    with pytest.raises(viz.VizError, match="at most 360 deg"):
        w.fov = fov
    assert w.fov.to_value(u.deg) == pytest.approx(360)


def test_a_survey_or_target_the_platform_cannot_serve_is_refused():
    """viz24: ``survey="P/DSS2/color"`` (a HiPS ID Aladin Lite looks up at CDS), a URL of another host, or the
    relative ``"hips/sky"`` (read by Aladin Lite as such an ID) went to the browser, which asked outside the
    platform (no internet: the layer stayed blank); a target ``"1e300 0"`` was RA 0 (the float's remainder by 360).
    Now a survey is a HiPS under the archive (``hips/<name>`` is made one) or a VizError naming the archive's, and a
    right ascension in degrees beyond 360 is refused naming it."""
    base = "/services/archive/"
    for bad in ("P/DSS2/color", "CDS/P/2MASS/color", "https://alasky.cds.unistra.fr/DSS/DSSColor", "sky",
                "http://hub.example/elsewhere/hips/sky"):
        with pytest.raises(viz.VizError, match=f"survey={re.escape(repr(bad))} is not a HiPS the platform serves: "
                                               f".*'{base}hips/sky' \\(the default"):
            viz.Aladin(survey=bad, archive_url=base)
        with pytest.raises(viz.VizError, match="overlay_survey=.* is not a HiPS the platform serves"):
            viz.Aladin(overlay_survey=bad, archive_url=base)
    w = viz.Aladin(survey="hips/images", archive_url=base)
    assert w.survey == w._init_options["survey"] == "/services/archive/hips/images"
    with pytest.raises(viz.VizError, match="survey='P/DSS2/color' is not a HiPS the platform serves"):
        w.survey = "P/DSS2/color"
    w.survey = "http://hub.example:8000/services/archive/hips/sky"  # the absolute URL the browser makes of the path
    assert w.survey == "http://hub.example:8000/services/archive/hips/sky"
    from platform_lib.viz._inputs import sky_position

    for bad in ("1e300 0", "400 10", "nan 5"):
        with pytest.raises(viz.VizError, match=f"center='{bad}' cannot be read as a sky position: a right "
                                               "ascension in degrees is between 0 and 360, not"):
            sky_position(bad, "center")
        with pytest.warns(UserWarning, match=f"target='{bad}' cannot be read as a sky position: a right ascension"):
            w = viz.Aladin(target=bad, archive_url=base)
        assert w.astrohub_message.startswith(f"target='{bad}' cannot be read")
    assert sky_position("-10 5").ra.deg == pytest.approx(350)


@pytest.fixture(scope="module")
def survey_archive(tmp_path_factory):
    """The archive service in-process (tests/support/tornado_thread.py) at ``/services/archive/``, serving the
    image HiPS ``sky`` and ``stars-density`` and the HiPS catalogue ``stars`` (no registry: nothing to build), and
    ann's own image HiPS ``hips/~/<name>`` (:data:`SURVEY_USERS`: the tokens it knows, as the hub's would be)."""
    import shutil

    from tar_bytes import tar_of
    from tornado_thread import serving

    from astrohub_archive.app import ArchiveState, make_app
    from astrohub_archive.auth import Authenticator
    from astrohub_archive.userhips import UserHipsStore

    root = tmp_path_factory.mktemp("survey-archive")
    counts = np.arange(12 * 4**3, dtype=float)
    dense = viz.write_density_hips(counts, root / "hips" / "stars-density", title="stars density", level=0)
    shutil.copytree(dense, root / "hips" / "sky")  # as the archive makes its sky of the largest catalogue's
    stars = Table({"ra": [10.0, 20.0, 30.0], "dec": [1.0, 2.0, 3.0], "gmag": [5.0, 6.0, 7.0]})
    viz.build_catalog_hips(stars, root / "hips" / "stars", title="stars")
    mine = UserHipsStore(root / "hips").add("ann", "my field", tar_of(
        {str(f.relative_to(dense)): f.read_bytes() for f in dense.rglob("*") if f.is_file()}))["name"]
    state = ArchiveState(index_path=root / "index.sqlite", data_root=root / "data", hips_dir=root / "hips",
                         prefix="/services/archive/", auth=Authenticator(tokens=SURVEY_USERS))
    with serving(lambda: make_app(state)) as url:
        yield SimpleNamespace(url=f"{url}/services/archive/", mine=mine, state=state)


#: The users' tokens the survey archive knows (its tokens file's form): ann owns a HiPS, bob none.
SURVEY_USERS = {"ann-token": {"name": "ann"}, "bob-token": {"name": "bob"}}


def test_a_survey_the_archive_does_not_serve_is_refused_naming_the_ones_it_does(survey_archive, monkeypatch):
    """survey25: ``survey="hips/skyy"`` (or ``hips/images`` before the archive has an image HiPS, or a HiPS no
    longer shared with you) went to the browser, where the archive answered 404 and Aladin Lite threw in the page
    and drew nothing, with no word. Now the kernel looks for the survey's properties on the archive (the constructor,
    ``viz.show`` and ``w.survey`` / ``w.overlay_survey`` set later) and refuses one it does not serve, naming it,
    the archive's answer, a did-you-mean and the image HiPS there are; a HiPS catalogue is not a survey."""
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", survey_archive.url)
    base = "/services/archive/"
    with pytest.raises(viz.VizError, match=r"survey='/services/archive/hips/skyy' is not a HiPS the archive serves "
                                           r"\(the archive answered 404: no HiPS called 'skyy'; the list is at "
                                           r"/services/archive/hips/\); the view would be blank\. Did you mean "
                                           r"'hips/sky'\? The archive serves: hips/sky, hips/stars-density\.$"):
        viz.Aladin(survey="hips/skyy", archive_url=base)
    with pytest.raises(viz.VizError, match="survey='/services/archive/hips/images' is not a HiPS the archive "
                                           "serves .*no HiPS called 'images'"):
        viz.show(Table({"ra": [10.0], "dec": [1.0]}), survey="hips/images", archive_url=base)
    with pytest.raises(viz.VizError, match="overlay_survey='/services/archive/hips/images' is not a HiPS"):
        viz.Aladin(overlay_survey="hips/images", archive_url=base)
    w = viz.Aladin(survey="hips/stars-density", archive_url=base)  # served: let through
    assert w.survey == "/services/archive/hips/stars-density"
    with pytest.raises(viz.VizError, match="survey='/services/archive/hips/stars-dens' is not a HiPS .*Did you mean "
                                           "'hips/stars-density'"):
        w.survey = "hips/stars-dens"
    with pytest.raises(viz.VizError, match="survey='/services/archive/hips/stars' is a HiPS catalogue"):
        w.survey = "hips/stars"
    assert w.survey == "/services/archive/hips/stars-density"  # the view keeps the survey it had
    w.overlay_survey = "hips/sky"
    w.survey = survey_archive.url + "hips/sky"  # the browser's absolute URL of a survey: not refused
    assert w.overlay_survey == "/services/archive/hips/sky"


def test_a_mistyped_hips_of_your_own_is_refused_naming_yours(survey_archive, monkeypatch):
    """polish26: the survey check asked the archive without the user's token (its session was made from no
    settings, though the token is in them), so the list of the user's own HiPS (``hips/~/``, which needs it) was
    refused 401 and a mistyped ``hips/~/<name>`` named none ("The archive lists none you may read"). Now the
    session carries the token: the refusal says which of hers it may be; another user is named none of hers."""
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", survey_archive.url)
    monkeypatch.setenv("PLATFORM_API_TOKEN", "ann-token")
    base, mine = "/services/archive/", survey_archive.mine
    w = viz.Aladin(survey=f"hips/~/{mine}", archive_url=base)  # hers: let through
    assert w.survey == f"/services/archive/hips/~/{mine}"
    typo = re.escape(f"hips/~/{mine[:-1]}")
    with pytest.raises(viz.VizError, match=rf"survey='/services/archive/{typo}' is not a HiPS the archive serves "
                                           rf".* Did you mean 'hips/~/{re.escape(mine)}'\? The archive serves: "
                                           rf"hips/~/{re.escape(mine)} \(yours and those shared with you: "
                                           r"viz\.my_hips\(\)\)\.$"):
        w.survey = f"hips/~/{mine[:-1]}"
    assert w.survey == f"/services/archive/hips/~/{mine}"
    monkeypatch.setenv("PLATFORM_API_TOKEN", "bob-token")
    with pytest.raises(viz.VizError, match=r"The archive lists none you may read \(yours and those shared") as err:
        viz.Aladin(survey=f"hips/~/{mine[:-1]}", archive_url=base)
    assert mine not in str(err.value)


def test_a_survey_the_archive_holds_or_cannot_be_asked_about_warns_at_the_users_line(survey_archive, monkeypatch):
    """polish26: the survey check's warnings (untested) pointed into traitlets, which calls the view's validator,
    not at the user's line (a notebook showed traitlets.py:1263). Each path now warns at the caller's line, the
    constructor's, ``viz.show``'s and ``w.survey = ...``'s, and lets the survey through (the view says more):
    the archive holds the request of a HiPS it is still building (a registry catalogue's: the archive's own hold,
    its build kept from finishing until the test ends); it answers neither 200 nor 404 (403: a token it does not
    know); nothing listens at the archive's address (refused, the port held by a socket that does not listen)."""
    import socket

    from astrohub_archive.hips import HipsLibrary
    from platform_lib.viz import _surveys

    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", survey_archive.url)
    base, library = "/services/archive/", survey_archive.state.hips
    release = __import__("threading").Event()
    catalogue = SimpleNamespace(full_name="cat/held", nrows=3, hats_path=None)
    with monkeypatch.context() as held:
        held.setattr(HipsLibrary, "_tables", lambda self: {"held": catalogue})  # the registry holds cat/held
        held.setattr(HipsLibrary, "_build", lambda self, name: (release.wait(60), self.root / name)[1])
        held.setattr(_surveys, "CHECK_TIMEOUT", 0.5)  # the build never ends while the check waits
        try:
            with pytest.warns(UserWarning, match=r"survey='/services/archive/hips/held-density': the archive did "
                                                 r"not answer within 0\.5 s \(still building it\?\); the view "
                                                 "shows it once the archive serves it") as said:
                w = viz.Aladin(survey="hips/held-density", archive_url=base)
            assert w.survey == "/services/archive/hips/held-density"
            with pytest.warns(UserWarning, match="survey='/services/archive/hips/held': the archive did not") as set_:
                w.survey = "hips/held"
            assert w.survey == "/services/archive/hips/held"
        finally:
            release.set()
            for name in ("held-density", "held"):
                library.ensure(name).result(60)  # ended, before the library is itself again
    assert [x.filename for x in [*said, *set_]] == [__file__, __file__]
    monkeypatch.setenv("PLATFORM_API_TOKEN", "revoked-token")
    with pytest.warns(UserWarning, match=rf"survey='/services/archive/hips/~/{re.escape(survey_archive.mine)}' "
                                         r"could not be looked for on the archive \(it answered HTTP 403\); the "
                                         "view says so if it cannot load it") as said:
        viz.show(Table({"ra": [10.0], "dec": [1.0]}), survey=f"hips/~/{survey_archive.mine}", archive_url=base)
    assert [x.filename for x in said] == [__file__]
    with socket.socket() as nobody:
        nobody.bind(("127.0.0.1", 0))  # bound, never listening: a connection to it is refused
        monkeypatch.setenv("PLATFORM_ARCHIVE_URL", f"http://127.0.0.1:{nobody.getsockname()[1]}/services/archive/")
        with pytest.warns(UserWarning, match=r"survey='/services/archive/hips/images' could not be looked for on the "
                                             r"archive \(.*Connection refused.*\); the view says so") as said:
            w = viz.Aladin(survey="hips/images", archive_url=base)
        with pytest.warns(UserWarning, match="overlay_survey='/services/archive/hips/skyy' could not be") as set_:
            w.overlay_survey = "hips/skyy"
    assert w.survey == "/services/archive/hips/images" and w.overlay_survey == "/services/archive/hips/skyy"
    assert [x.filename for x in [*said, *set_]] == [__file__, __file__]


def test_a_limit_of_rows_that_is_not_a_whole_number_of_1_or_more_is_said_above_the_view(widget):
    """viz24: ``limit=0`` sent an empty layer, ``limit=-5`` or ``limit="x"`` failed deep inside (a TypeError
    comparing text with a number); now each is the view's message naming it."""
    t = Table({"ra": [10.0, 20.0], "dec": [1.0, 2.0]})
    for bad in (0, -5, "x", 2.5, True):
        with pytest.warns(UserWarning, match=f"limit={re.escape(repr(bad))} must be the most rows sent to the viewer"):
            widget.show(t, limit=bad)
    assert widget.layers == []
    widget.show(t, limit=1, hips=False)
    assert widget.layers[-1]["rows"] == 1


def test_a_field_wider_than_the_projection_shows_is_the_widest_it_shows():
    """viz24's walk: ``viz.show(catalogue, fov=360)`` in the default SIN projection showed 180 deg while the kernel's
    ``w.fov`` said 360 (and the view once failed to start, "The sky viewer failed: TypeError: undefined is not
    iterable"). A field wider than Aladin Lite shows in the projection (SIN 180 deg, TAN 150, measured with the
    archive's Aladin Lite) is now set to the widest it shows, at the start and later; AIT and MOL show all 360."""
    for options, shown in (({"fov": 360}, 180), ({"fov": 200, "projection": "TAN"}, 150),
                           ({"fov": 360, "projection": "MOL"}, 360), ({"fov": 360, "projection": "aitoff"}, 360),
                           ({"fov": 120}, 120)):
        w = viz.Aladin(archive_url="/services/archive/", **options)
        assert w.fov.to_value(u.deg) == pytest.approx(shown), options
        assert w._fov == pytest.approx(shown)  # the state the browser starts from
    w = viz.Aladin(archive_url="/services/archive/")
    w.fov = "300 deg"
    assert w.fov.to_value(u.deg) == pytest.approx(180)
