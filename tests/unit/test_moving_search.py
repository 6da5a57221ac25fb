"""Moving-object searches on a real image index: FITS files with WCS placed on Ceres' real track, indexed by
``build_index``; the space-time R-tree kept in step by updates; the reverse search with and without the cache."""

from __future__ import annotations

import io
import shutil
import sqlite3
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from label_pixels import label_contrast  # tests/support/, on the path by tests/conftest.py

from platform_lib.imageindex import Viewer, build_index, update_index
from platform_lib.imageindex.index import bulk_load, create_schema
from platform_lib.imageindex.ingest import COLUMNS
from platform_lib.imageindex.sphere import radec_to_xyz
from platform_lib.imageindex.spacetime import spacetime_boxes
from platform_lib.moving import (KSTARS_ASTEROIDS, MovingObjectError, SpacetimeIndex, bodies_in_image,
                                 bodies_in_images, build_cache, ephemeris, find_images, read_sbdb_json)
from platform_lib.moving.reverse import cone_image
from platform_lib.moving.search import Track, track_boxes

DATES = Time(["2023-03-01T10:00", "2023-06-15T08:00", "2024-02-10T12:00"])
PIX = 64
SCALE = 0.05 / PIX  # a 3 arcmin field


@pytest.fixture(scope="module")
def asteroids():
    if not KSTARS_ASTEROIDS.exists():
        pytest.fail(f"{KSTARS_ASTEROIDS} is missing: `make system-packages` installs Debian's kstars-data")
    return read_sbdb_json(KSTARS_ASTEROIDS)


def write_image(root: Path, name: str, ra: float, dec: float, t: Time | None, owner: str | None = None) -> None:
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec, CRPIX1=(PIX + 1) / 2, CRPIX2=(PIX + 1) / 2,
             CDELT1=-SCALE, CDELT2=SCALE, CUNIT1="deg", CUNIT2="deg", RADESYS="ICRS", EXPTIME=60.0,
             TELESCOP="Keck I", INSTRUME="TEST", OBJECT=name)
    if t is not None:
        h["DATE-OBS"] = t.isot
    if owner is not None:
        h["OWNER"] = owner
    fits.PrimaryHDU(np.zeros((PIX, PIX), np.float32), header=h).writeto(root / f"{name}.fits")


@pytest.fixture(scope="module")
def archive(tmp_path_factory, asteroids):
    """hit<k> centred on Ceres (seen from Keck), near<k> 0.03 deg east (Ceres 5 arcsec outside its edge),
    late<k> the hit's field 3 days later (Ceres gone), and one image without a time."""
    root = tmp_path_factory.mktemp("moving")
    data = root / "data"
    data.mkdir()
    eph = ephemeris("Ceres", DATES, site="keck", orbits=asteroids)
    for k, row in enumerate(eph):
        ra, dec = float(row["ra"]), float(row["dec"])
        write_image(data, f"hit{k}", ra, dec, DATES[k])
        write_image(data, f"near{k}", ra + 0.03 / np.cos(np.radians(dec)), dec, DATES[k])
        write_image(data, f"late{k}", ra, dec, DATES[k] + 3 * u.day)
    # no time: the index keeps it proprietary (no release date), so it belongs to alice
    write_image(data, "timeless", float(eph["ra"][0]), float(eph["dec"][0]), None, owner="alice")
    report = build_index(root / "index.sqlite", data, workers=1)
    assert report.indexed == 10 and not report.skipped
    return root


def test_find_images_returns_hits_and_near_misses(archive, asteroids):
    res = find_images("1 Ceres", Time("2005-01-01"), Time("2025-01-01"), index=archive / "index.sqlite",
                      site="keck", orbits=asteroids, tolerance=30 * u.arcsec)
    t = res.table
    hits = sorted(t["obs_id"][t["hit"]])
    near = sorted(t["obs_id"][~t["hit"]])
    assert hits == ["hit0", "hit1", "hit2"]
    assert near == ["near0", "near1", "near2"]
    # a 3 arcmin field centred on the body: the edge is 90 arcsec away; the near misses ~18 arcsec outside
    assert np.allclose(t["centre_sep"][t["hit"]], 0.0, atol=1.0)
    assert np.all(np.abs(t["edge_sep"][~t["hit"]] - 18.0) < 3.0)
    assert res.stats["candidates"] < 10  # the late and timeless images never leave the R-tree
    # a tighter tolerance drops the near misses
    tight = find_images("Ceres", Time("2023-01-01"), Time("2024-06-01"), index=archive / "index.sqlite",
                        site="keck", orbits=asteroids, tolerance=5 * u.arcsec).table
    assert sorted(tight["obs_id"]) == ["hit0", "hit1", "hit2"]
    as_text = find_images("Ceres", "2023-01-01", "2024-06-01", index=archive / "index.sqlite",  # first19: ISO text
                          site="keck", orbits=asteroids, tolerance=5 * u.arcsec).table
    assert sorted(as_text["obs_id"]) == ["hit0", "hit1", "hit2"]


def test_other_bodies_and_ranges_find_nothing(archive, asteroids):
    assert len(find_images("Pallas", Time("2023-01-01"), Time("2025-01-01"), index=archive / "index.sqlite",
                           orbits=asteroids).table) == 0
    assert len(find_images("Ceres", Time("2010-01-01"), Time("2020-01-01"), index=archive / "index.sqlite",
                           orbits=asteroids).table) == 0


def test_bodies_in_image_with_and_without_cache_agree(archive, asteroids):
    brute = bodies_in_images(["hit0", "near0", "late0", "hit1"], index=archive / "index.sqlite", orbits=asteroids,
                             site="keck")
    assert [(r["obs_id"], r["body"]) for r in brute] == [("hit0", "1 Ceres (A801 AA)"), ("hit1", "1 Ceres (A801 AA)")]
    assert brute["mag"][0] == pytest.approx(7.2, abs=0.3)
    cache = build_cache(asteroids, DATES[0] - 1 * u.day, 5)
    cached = bodies_in_images(["hit0", "near0", "late0"], index=archive / "index.sqlite", orbits=asteroids,
                              site="keck", cache=cache)
    assert list(cached["body"]) == ["1 Ceres (A801 AA)"]
    assert cached.meta["candidates"] < len(asteroids) // 10  # the cache narrowed 7,098 orbits down
    # many random cones: the cache's answer is the brute-force answer
    rng = np.random.default_rng(3)
    cones = [cone_image(SkyCoord(ra * u.deg, dec * u.deg), 2 * u.deg, DATES[0] + dt * u.hour, obs_id=f"c{k}")
             for k, (ra, dec, dt) in enumerate(zip(rng.uniform(0, 360, 40), np.degrees(np.arcsin(rng.uniform(-1, 1, 40))),
                                                   rng.uniform(-20, 20, 40)))]
    a = bodies_in_images(cones, orbits=asteroids, cache=cache)
    b = bodies_in_images(cones, orbits=asteroids)
    assert len(b) > 0
    assert sorted(zip(a["obs_id"], a["row"])) == sorted(zip(b["obs_id"], b["row"]))


def test_the_cache_round_trips_and_refuses_other_orbits(tmp_path, asteroids):
    from platform_lib.moving import EphemerisCache

    cache = build_cache(asteroids[:500], DATES[0], 2)
    cache.save(tmp_path / "c")
    again = EphemerisCache.load(tmp_path / "c", asteroids[:500])
    assert np.array_equal(np.asarray(again.ids), cache.ids)
    with pytest.raises(MovingObjectError, match="other orbits") as exc:
        EphemerisCache.load(tmp_path / "c", asteroids[:400])
    assert exc.value.code == "stale-cache"


def test_space_time_index_follows_updates(tmp_path, archive):
    root = tmp_path / "copy"
    shutil.copytree(archive, root)
    idx = SpacetimeIndex(root / "index.sqlite")
    every = np.array([[-1, 1, -1, 1, -1, 1, 50000, 70000]], float)
    before = {r["obs_id"] for r in idx.records(idx.candidates(every))}
    assert "hit0" in before and "timeless" not in before  # no time, no space-time box
    (root / "data" / "hit0.fits").unlink()
    write_image(root / "data", "new", 10.0, 10.0, Time("2024-05-05T05:05"))
    update_index(root / "index.sqlite", root / "data", workers=1)
    after = {r["obs_id"] for r in idx.records(idx.candidates(every))}
    assert after == (before - {"hit0"}) | {"new"}
    # a file replaced by another exposure (same name, another night): its box moves with it, in time
    (root / "data" / "late1.fits").unlink()
    write_image(root / "data", "late1", 10.0, 10.0, Time("2024-04-04T04:04"))  # released (18 months) as "new" is
    update_index(root / "index.sqlite", root / "data", workers=1)
    then = np.array([[-1, 1, -1, 1, -1, 1, 60112.0, 60114.5]], float)  # 2023-06-17..19: late1's old night
    now = np.array([[-1, 1, -1, 1, -1, 1, 60403.5, 60404.5]], float)  # 2024-04-03T12..04T12
    assert {r["obs_id"] for r in idx.records(idx.candidates(now))} == {"late1"}
    assert "late1" not in {r["obs_id"] for r in idx.records(idx.candidates(then))}
    assert {r["obs_id"] for r in idx.records(idx.candidates(every))} == after
    conn = sqlite3.connect(root / "index.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM spacetime_rtree").fetchone()[0] == len(after)
    # an index written before the space-time R-tree existed gains it at its next update
    conn.execute("DROP TABLE spacetime_rtree")
    conn.commit()
    conn.close()
    update_index(root / "index.sqlite", root / "data", workers=1)
    assert {r["obs_id"] for r in idx.records(idx.candidates(every))} == after


def test_spectra_are_cones_around_their_pointing(tmp_path):
    rec = {c: None for c in COLUMNS}
    rec.update(obs_id="spec", dataproduct_type="spectrum", s_ra=359.9999, s_dec=0.0, s_fov=2 / 3600, t_min=60000.0,
               t_max=60000.01, file_path="spec.fits", release_date=0.0)
    verts = radec_to_xyz(np.array([359, 1, 1, 359.0]), np.array([-1, -1, 1, 1.0]))  # a large box: not used
    conn = sqlite3.connect(tmp_path / "i.sqlite")
    create_schema(conn)
    bulk_load(conn, [rec], verts[None])
    conn.commit()
    keep, boxes = spacetime_boxes([rec], np.array([[-1, 1, -1, 1, -1, 1.0]]))
    assert keep.all() and boxes[0, 1] <= 1 and boxes[0, 2] == pytest.approx(np.sin(np.deg2rad(-0.0001 - 1 / 3600)), rel=1e-3)
    idx = SpacetimeIndex(tmp_path / "i.sqlite")
    found = idx.candidates(np.array([[0.999, 1.0, -1e-5, 1e-5, -1e-5, 1e-5, 60000.0, 60000.005]]))
    assert list(found) == [1]
    assert len(idx.candidates(np.array([[0.999, 1.0, 0.01, 0.02, -1e-5, 1e-5, 60000.0, 60000.005]]))) == 0


@pytest.mark.parametrize("path", ["ra0", "pole"])
def test_track_boxes_cover_the_track_across_ra_0_and_the_pole(path):
    t = np.linspace(0, 40, 801)
    ang = np.deg2rad(-10 + t * 0.5)  # 20 degrees at 0.5 deg/day
    if path == "ra0":
        xyz = np.stack([np.cos(ang), np.sin(ang), np.zeros_like(ang)], axis=1)  # through RA = 0 on the equator
    else:
        xyz = np.stack([np.sin(ang), np.zeros_like(ang), np.cos(ang)], axis=1)  # over the north pole
    coarse = slice(None, None, 20)  # daily points; the fine ones lie between them
    track = Track("test", 2460000.5 + t[coarse], xyz[coarse], np.full(41, 0.5), np.zeros(41), np.full(41, 2.0))
    boxes = track_boxes(track, pad_deg=1 / 3600, topocentric=True)
    mjd = t + 2460000.5 - 2400000.5
    inside = ((xyz[:, None, 0] >= boxes[None, :, 0]) & (xyz[:, None, 0] <= boxes[None, :, 1])
              & (xyz[:, None, 1] >= boxes[None, :, 2]) & (xyz[:, None, 1] <= boxes[None, :, 3])
              & (xyz[:, None, 2] >= boxes[None, :, 4]) & (xyz[:, None, 2] <= boxes[None, :, 5])
              & (mjd[:, None] >= boxes[None, :, 6]) & (mjd[:, None] <= boxes[None, :, 7]))
    assert inside.any(axis=1).all()
    assert len(boxes) < 41



def test_a_near_earth_flyby_between_two_daily_points_is_tabulated_finely():
    """A near-Earth object passing 38,000 km from the geocentre (as Apophis will in 2029), half a day from the daily
    grid: the steps were chosen from the rates at the daily points only, which understate the motion, and one step
    moved it 50 degrees (the boxes there spanned the whole sky for hours; every image of those hours became a
    candidate). Steps that still move it more than max_step are now split again by their motion: none moves it more
    than about 1 degree, and the boxes still hold its position seen from Keck at every moment."""
    from platform_lib.moving import Orbits, SolarSystem, observatory
    from platform_lib.moving._kepler import state_to_elements
    from platform_lib.moving.search import Body, tabulate

    ss = SolarSystem.default()
    t0 = 2460400.0  # closest approach, TDB; the grid below starts 5.5 days before it
    earth, earth_v = ss.observer(np.array([t0]))
    sun, sun_v = ss._chain(((0, 10),), np.array([t0]))
    miss, speed = 38000 / 149597870.7, 7.4 * 86400 / 149597870.7  # au, au/day
    a, e, i, node, peri, m = state_to_elements(earth[0] - sun[0] + miss * np.array([0.0, 0.6, 0.8]),
                                               earth_v[0] - sun_v[0] + speed * np.array([1.0, 0.0, 0.0]))
    orbit = Orbits.from_elements(["flyby"], a=a, e=e, inc=np.rad2deg(i), node=np.rad2deg(node),
                                 peri=np.rad2deg(peri), mean_anomaly=np.rad2deg(m), epoch_jd=t0, h=19.7)
    keck = observatory("keck")
    body = Body("flyby", orbit, ss, keck)
    track = tabulate(body, t0 - 5.5, t0 + 5.5, max_step_deg=1.0)
    step = np.rad2deg(np.arccos(np.clip(np.sum(track.xyz[1:] * track.xyz[:-1], axis=1), -1, 1)))
    assert step.max() < 1.05, step.max()  # was 50 degrees
    assert len(track.jd) < 2000
    boxes = track_boxes(track, pad_deg=10 / 3600, topocentric=True)
    fine = np.linspace(t0 - 0.5, t0 + 0.5, 4001)
    xyz = body.positions(fine, keck)[0]
    mjd = fine - 2400000.5
    inside = ((xyz[:, None, 0] >= boxes[None, :, 0]) & (xyz[:, None, 0] <= boxes[None, :, 1])
              & (xyz[:, None, 1] >= boxes[None, :, 2]) & (xyz[:, None, 1] <= boxes[None, :, 3])
              & (xyz[:, None, 2] >= boxes[None, :, 4]) & (xyz[:, None, 2] <= boxes[None, :, 5])
              & (mjd[:, None] >= boxes[None, :, 6]) & (mjd[:, None] <= boxes[None, :, 7]))
    assert inside.any(axis=1).all()
    assert ((boxes[:, 1:6:2] - boxes[:, 0:6:2]).max(axis=1) < 1.0).all()  # no box spans the sky (was 2.0)

def test_bad_inputs_name_the_problem(archive, asteroids):
    index = archive / "index.sqlite"
    for tol in (0 * u.arcsec, -1 * u.arcsec, 3.0):
        with pytest.raises(MovingObjectError, match="tolerance") as exc:
            find_images("Ceres", Time("2023-01-01"), Time("2024-01-01"), index=index, orbits=asteroids, tolerance=tol)
        assert exc.value.code == "bad-tolerance"
    # the search's other angles: a zero or negative max_step left the track daily, whatever the body's speed, a
    # negative box_size was taken as positive, a number without a unit was astropy's UnitConversionError
    for name, value in (("max_step", 0 * u.deg), ("max_step", -1 * u.deg), ("max_step", 1.0),
                        ("box_size", -4 * u.deg), ("box_size", np.nan * u.deg)):
        with pytest.raises(MovingObjectError, match=f"^{name} ") as exc:
            find_images("Ceres", Time("2023-01-01"), Time("2024-01-01"), index=index, orbits=asteroids,
                        **{name: value})
        assert exc.value.code == "bad-tolerance" and "e.g." in str(exc.value)
    with pytest.raises(MovingObjectError, match="unknown body 'Nibiru'"):
        find_images("Nibiru", Time("2023-01-01"), Time("2024-01-01"), index=index, orbits=asteroids)
    with pytest.raises(MovingObjectError, match="outside the ephemeris") as exc:
        find_images("Ceres", Time("1850-01-01", scale="tdb"), Time("1860-01-01", scale="tdb"), index=index,
                    orbits=asteroids)
    assert exc.value.code == "outside-ephemeris"
    with pytest.raises(MovingObjectError, match="not before stop .*; swap them"):
        find_images("Ceres", Time("2024-01-01"), Time("2023-01-01"), index=index, orbits=asteroids)
    with pytest.raises(MovingObjectError, match="stop='next year' is not a date: give ISO 8601") as exc:
        find_images("Ceres", "2023-01-01", "next year", index=index, orbits=asteroids)  # first19
    assert exc.value.code == "bad-time"
    with pytest.raises(MovingObjectError, match="start must be one time, got 2") as exc:  # was its first, silently
        find_images("Ceres", Time(["2023-01-01", "2023-06-01"]), Time("2024-01-01"), index=index, orbits=asteroids)
    assert exc.value.code == "bad-time"
    with pytest.raises(MovingObjectError, match="Jupiter's moon Callisto is not in DE421"):
        find_images("Callisto", Time("2023-01-01"), Time("2024-01-01"), index=index, orbits=asteroids)
    with pytest.raises(MovingObjectError, match="'timeless' has no time") as exc:
        bodies_in_image("timeless", index=index, orbits=asteroids, viewer=Viewer(user="alice"))
    assert exc.value.code == "no-time"
    with pytest.raises(MovingObjectError, match="not in the index"):
        bodies_in_image("nosuch", index=index, orbits=asteroids)
    with pytest.raises(MovingObjectError, match="image 'nosuch' is not in the index"):  # was 'n', its first letter
        bodies_in_images("nosuch", index=index, orbits=asteroids)


@pytest.mark.parametrize("position, radius, when, code", [
    # first19: "2024-01-01" and datetime(2024, 1, 1) are dates now (tests/unit/test_moving_ephemeris.py)
    (SkyCoord(10 * u.deg, 0 * u.deg), 1 * u.deg, "2024-01-45", "bad-time"),  # was AttributeError
    (SkyCoord(10 * u.deg, 0 * u.deg), 1 * u.deg, ["2024-01-01", "2024-01-02"], "bad-time"),
    (SkyCoord(10 * u.deg, 0 * u.deg), 1 * u.deg, Time(["2024-01-01", "2024-01-02"]), "bad-time"),  # was TypeError
    (SkyCoord(10 * u.deg, 0 * u.deg), 1.0, Time("2024-01-01"), "bad-tolerance"),  # was UnitConversionError
    ((10.0, 0.0), 1 * u.deg, Time("2024-01-01"), "bad-position"),  # was AttributeError
])
def test_a_cone_names_what_users_really_send(position, radius, when, code):
    with pytest.raises(MovingObjectError) as exc:
        cone_image(position, radius, when)
    assert exc.value.code == code and ("e.g." in str(exc.value))


def test_plot_of_a_search_has_the_sky_and_a_zoom(archive, asteroids):
    import matplotlib

    matplotlib.use("Agg")
    res = find_images("Ceres", Time("2023-01-01"), Time("2024-06-01"), index=archive / "index.sqlite", site="keck",
                      orbits=asteroids, tolerance=30 * u.arcsec)
    fig = res.plot(obs_id="near1")
    sky, zoom = fig.axes
    # one rectangle per box, two for a box across RA 12h (the map's edge; Ceres crossed it in May 2023)
    assert sky.name == "mollweide" and len(sky.patches) == len(res.boxes) + 2
    assert all(-np.pi - 1e-9 <= p.get_x() <= p.get_x() + p.get_width() <= np.pi + 1e-9 for p in sky.patches)
    assert "near1" in zoom.get_title() and len(zoom.patches) >= 2  # near1 and hit1 side by side
    # the zoom coloured the zoomed image red and the others orange: near1 (a near miss) red, hit1 orange, the
    # reverse of the sky panel's legend and the Aladin view (hits red, near misses orange)
    colours = {text.get_text(): text.get_color() for text in zoom.texts}
    assert colours["near1"] == "tab:orange" and colours["hit1"] == "tab:red", colours
    labels = {h.get_label() for h in zoom.get_legend().legend_handles}
    assert {"footprint containing it", "near miss footprint"} <= labels


def test_the_zoomed_track_passes_through_the_body_seen_from_the_site(tmp_path):
    """The zoom drew the geocentric track: for the Moon seen from Keck it ran 14 arcmin from the body at
    mid-exposure here (the Moon's parallax, up to a degree), as if the image missed its track. It is now the
    track from the search's site around the match, which passes through the body."""
    import matplotlib

    matplotlib.use("Agg")
    when = Time("2025-01-10T08:00")
    moon = ephemeris("moon", when, site="keck")[0]
    (tmp_path / "images").mkdir()
    write_image(tmp_path / "images", "moonshot", moon["ra"], moon["dec"], when)
    build_index(tmp_path / "index.sqlite", tmp_path / "images", workers=1)
    res = find_images("Moon", Time("2025-01-09"), Time("2025-01-11"), index=tmp_path / "index.sqlite", site="keck")
    assert list(res.table["obs_id"][res.table["hit"]]) == ["moonshot"]
    zoom = res.plot().axes[1]
    (line,) = [ln for ln in zoom.get_lines() if ln.get_label().startswith("track")]
    assert "Keck" in line.get_label()
    x, y = line.get_data()  # arcmin from the body at mid-exposure, points 6 minutes (~3 arcmin) apart
    assert np.min(np.hypot(x, y)) < 2.0


def _drawn_texts(fig) -> list[tuple[str, object]]:
    """(text, its box on the figure) of every text matplotlib draws in ``fig``: titles, axis labels, the tick
    labels of ticks in view, legends, and the names in an axes whose point is in view (one out of view is not
    drawn)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        texts = [ax.title, ax.xaxis.label, ax.yaxis.label]
        for along, axis in enumerate((ax.xaxis, ax.yaxis)):
            lo, hi = sorted(axis.get_view_interval())
            texts += [t for t in axis.get_ticklabels() if lo <= t.get_position()[along] <= hi]
        view = ax.get_window_extent(renderer)
        texts += [t for t in ax.texts if view.contains(*ax.transData.transform(t.xy))]
        out += [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
        if ax.get_legend() is not None:
            out.append(("legend", ax.get_legend().get_window_extent(renderer)))
    return out


@pytest.mark.parametrize("obs_id", ["hit1", "near1"])
def test_the_search_figure_names_each_footprint_in_view_with_no_text_over_another(archive, asteroids, obs_id):
    """viz22: zoomed on hit1, its footprint's name was written at its corner, over the names of the other dates'
    images, and near1 (its corner out of view) went unnamed; on the sky panel the title ran into the 75 deg
    label. Every footprint in view is now named inside the zoomed panel, and no text of the figure overlaps
    another (matplotlib's text extents), as plot_table's labels and the pole ticks were fixed. The sky panel's RA
    labels, on the equator over the track, have a white halo (the moving-objects tutorial's Pallas hid them)."""
    import itertools

    import matplotlib

    matplotlib.use("Agg")
    res = find_images("Ceres", Time("2023-01-01"), Time("2024-06-01"), index=archive / "index.sqlite", site="keck",
                      orbits=asteroids, tolerance=30 * u.arcsec)
    fig = res.plot(obs_id=obs_id)
    zoom = fig.axes[1]
    drawn = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    panel = zoom.get_window_extent(renderer)
    names = {text: box for text, box in drawn if text in res.footprints}
    assert set(names) == {"hit1", "near1"}, sorted(names)  # the two images of that night in view
    for text, box in names.items():
        assert panel.x0 <= box.x0 and box.x1 <= panel.x1 and panel.y0 <= box.y0 and box.y1 <= panel.y1, text
    touching = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(drawn, 2) if box_a.overlaps(box_b)]
    assert not touching, touching
    # the sky panel's RA labels lie on the equator, over the track (the tutorial's Pallas): each reads over
    # whatever lies beneath, here the darkest sky (the panel painted black), in the pixels the reader sees
    fig.axes[0].set_facecolor("black")
    labels = [label for label in fig.axes[0].get_xticklabels() if label.get_text()]
    assert len(labels) == 11
    for text, dark, light in label_contrast(fig, labels):
        assert dark > 0.02 and light > 0.35, (text, round(dark, 3), round(light, 3))


def test_the_search_shows_in_the_aladin_widget(archive, asteroids):
    """``viz.show(search)``: the track as lines, the boxes, the matched footprints and the hits, in the widget's
    model state and in the messages to the browser (no browser here: the comm is captured)."""
    from astropy.io.votable import parse_single_table

    from platform_lib import viz
    from platform_lib.imageindex.sphere import radec_to_xyz

    res = find_images("Ceres", Time("2023-01-01"), Time("2024-06-01"), index=archive / "index.sqlite", site="keck",
                      orbits=asteroids, tolerance=30 * u.arcsec)
    sent = []
    widget = viz.Aladin(archive_url="http://hub.example:8000/services/archive/")
    widget.send = lambda content, buffers=None: sent.append((content, buffers))  # the comm to the browser
    widget._is_loaded = True
    assert "astrohub_polylines:function" in widget._esm  # the browser side knows the message
    assert widget.show(res) is widget and widget.astrohub_message == ""
    kinds = [(layer["kind"], layer["name"]) for layer in widget.layers]
    assert kinds == [("polylines", "1 Ceres (A801 AA) track"), ("boxes", "1 Ceres (A801 AA) boxes"),
                     ("footprints", "images containing 1 Ceres (A801 AA)"),
                     ("footprints", "near misses of 1 Ceres (A801 AA)"),
                     ("table", "1 Ceres (A801 AA) hits"), ("table", "1 Ceres (A801 AA) near misses")]
    track, boxes, hit_fp, near_fp, hits, near = widget.layers
    assert track["points"] == len(res.track.jd) and boxes["rows"] == len(res.boxes)
    assert hit_fp["obs_id"] == ["hit0", "hit1", "hit2"] and near_fp["obs_id"] == ["near0", "near1", "near2"]
    assert hits["rows"] == 3 and near["rows"] == 3
    # the track sent is the search's track, point for point (RA, Dec in degrees), in one piece here
    lines = [c for c, _ in sent if c.get("event_name") == "astrohub_polylines"]
    assert len(lines) == 1 and len(lines[0]["polylines"]) == 1
    sent_track = np.asarray(lines[0]["polylines"][0])
    assert np.allclose(radec_to_xyz(sent_track[:, 0], sent_track[:, 1]), res.track.xyz, atol=1e-9)
    # footprints and boxes go as STC-S overlays; the boxes hold the track points they cover
    overlays = [c for c, _ in sent if c.get("event_name") == "add_overlay"]
    assert [len(o["regions_infos"]) for o in overlays] == [len(res.boxes), 3, 3]
    first_box = np.array(overlays[0]["regions_infos"][0]["infos"]["stcs"].split()[2:], float).reshape(-1, 2)
    assert first_box[:, 0].min() <= res.track.ra[0] <= first_box[:, 0].max()
    assert first_box[:, 1].min() <= res.track.dec[0] <= first_box[:, 1].max()
    # the hits are marked at the body's predicted positions
    tables = [b for c, b in sent if c.get("event_name") == "add_table"]
    sent_hits = parse_single_table(io.BytesIO(bytes(tables[0][0]))).to_table()
    t = res.table[res.table["hit"]]
    assert list(sent_hits["obs_id"]) == list(t["obs_id"]) and np.allclose(sent_hits["ra"], t["ra"])
    # the view is zoomed on the first hit, wide enough to show its 3 arcmin footprint
    ra, dec = (float(v) for v in widget._target.split())
    assert (ra, dec) == pytest.approx((float(t["ra"][0]), float(t["dec"][0])))
    assert 0.05 <= widget._fov <= 0.5
    # a widget given a view keeps it; a range without matches says so in the widget
    kept = viz.show(res, target="10 20", fov=30)
    assert kept._target == "10.0 20.0" and kept._fov == 30
    empty = find_images("Ceres", Time("2010-01-01"), Time("2010-06-01"), index=archive / "index.sqlite",
                        orbits=asteroids)
    quiet = viz.show(empty)
    assert [layer["kind"] for layer in quiet.layers] == ["polylines", "boxes"]
    assert "no image contains 1 Ceres" in quiet.astrohub_message
    # moving20: nothing matched, and the view stayed at the widget's default (RA 0, Dec 0, 60 degrees wide), where
    # this track was not, under a message saying the track was shown; it now frames the whole track
    ra, dec = (float(v) for v in quiet._target.split())
    centre = radec_to_xyz(np.array([ra]), np.array([dec]))[0]
    reach = np.rad2deg(np.arccos(np.clip(empty.track.xyz @ centre, -1.0, 1.0))).max()
    assert reach <= quiet._fov / 2 < 90, (ra, dec, quiet._fov, reach)
    named = viz.show(res, name="Ceres 2023")
    assert [layer["name"] for layer in named.layers][:2] == ["Ceres 2023 track", "Ceres 2023 boxes"]


def test_packed_space_time_tree_answers_as_brute_force(tmp_path):
    """A bulk load of the space-time R-tree is packed along the Hilbert curve (more than 1,000 records): SQLite's
    own check passes, and one statement of many boxes returns exactly the records a brute-force test finds."""
    from platform_lib.imageindex import spacetime as st
    from platform_lib.imageindex.hilbert import hilbert_key
    from platform_lib.imageindex.sphere import cap_boxes

    for dims in (2, 3):  # the curve moves to a neighbouring cell at every step
        grid = np.stack(np.meshgrid(*[np.arange(8)] * dims, indexing="ij"), axis=-1).reshape(-1, dims)
        key = hilbert_key(grid, 3)
        assert len(np.unique(key)) == len(grid)
        assert np.abs(np.diff(grid[np.argsort(key)], axis=0)).sum(axis=1).max() == 1
    with pytest.raises(ValueError, match="64-bit"):
        hilbert_key(np.zeros((1, 4), int), 17)

    rng = np.random.default_rng(5)
    n = 3000
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    boxes = cap_boxes(radec_to_xyz(ra, dec), np.deg2rad(rng.uniform(0.05, 1.0, n)))
    t0 = rng.uniform(55000, 58000, n)
    records = [{"t_min": a, "t_max": a + d, "dataproduct_type": "image"} for a, d in zip(t0, rng.uniform(0, 1, n))]
    conn = sqlite3.connect(tmp_path / "i.sqlite")
    create_schema(conn)
    st.write(conn, np.arange(1, n + 1), records, boxes)
    conn.commit()
    assert conn.execute(f"SELECT rtreecheck('{st.TABLE}')").fetchone()[0] == "ok"
    stored = np.array(conn.execute(f"SELECT * FROM {st.TABLE} ORDER BY id").fetchall())
    conn.close()
    assert len(stored) == n
    # the stored boxes hold the exact ones (float32 rounded outward)
    assert np.all(stored[:, 1:7:2] <= boxes[:, 0::2]) and np.all(stored[:, 2:7:2] >= boxes[:, 1::2])
    centres = radec_to_xyz(rng.uniform(0, 360, 1500), np.degrees(np.arcsin(rng.uniform(-1, 1, 1500))))
    query = np.empty((1500, 8))  # more boxes than one statement takes
    query[:, 0:6:2], query[:, 1:6:2] = centres - 0.05, centres + 0.05
    query[:, 6] = rng.uniform(55000, 58000, 1500)
    query[:, 7] = query[:, 6] + 60
    found = SpacetimeIndex(tmp_path / "i.sqlite").candidates(query)
    s = stored[:, 1:].copy()
    s[:, 6:] += st.T_ZERO_MJD
    meet = np.ones((n, len(query)), bool)
    for k in range(4):
        meet &= (s[:, None, 2 * k + 1] >= query[None, :, 2 * k]) & (s[:, None, 2 * k] <= query[None, :, 2 * k + 1])
    expected = stored[meet.any(axis=1), 0].astype(np.int64)
    assert len(expected) > 50 and np.array_equal(found, expected)


def test_photographic_plate_dates_are_quiet(asteroids):
    """A plate of 1951 (the sample image sample/m1_dss): UTC before 1960 made ERFA warn "dubious year" on every
    call, an error under this suite's filterwarnings (a notebook showed it each time)."""
    t = Time(33958.4, format="mjd")
    found = bodies_in_image(cone_image(SkyCoord(83.6 * u.deg, 22.0 * u.deg), 1 * u.deg, t), orbits=asteroids)
    assert len(found) >= 1 and set(found["t_mid"]) == {33958.4}
    assert len(ephemeris("Ceres", t, orbits=asteroids)) == 1


def test_comets_are_known_bodies_too(asteroids):
    """bodies_in_image searched only the asteroids: a comet in the field (2P/Encke, 67P) was never named. The
    default catalogue is now asteroids then comets, and a cache built from it finds the same."""
    from platform_lib.moving import KSTARS_COMETS, known_orbits

    comets = read_sbdb_json(KSTARS_COMETS)
    t = DATES[0]
    cones = []
    for k, name in enumerate(["2P", "67P"]):
        row = ephemeris(name, t, orbits=comets)[0]
        cones.append(cone_image(SkyCoord(row["ra"] * u.deg, row["dec"] * u.deg), 0.05 * u.deg, t, obs_id=f"c{k}"))
    found = bodies_in_images(cones)
    named = {(r["obs_id"], r["body"]) for r in found}
    assert {(c, b) for c, b in named if "P/" in b} == {("c0", "2P/Encke"), ("c1", "67P/Churyumov-Gerasimenko")}
    both = known_orbits()
    assert len(both) == len(asteroids) + len(comets) and list(both.names[:3]) == list(asteroids.names[:3])
    cache = build_cache(both, t - 1 * u.day, 3)
    cached = bodies_in_images(cones, cache=cache)
    assert sorted(zip(cached["obs_id"], cached["row"])) == sorted(zip(found["obs_id"], found["row"]))
    with pytest.raises(MovingObjectError, match="known_orbits") as err:
        bodies_in_images(cones, cache=build_cache(asteroids, t - 1 * u.day, 2))
    assert err.value.code == "stale-cache"


def test_the_planets_and_the_moon_are_named_in_an_image():
    """bodies_in_image searched only the orbit catalogue: a cone centred on Jupiter, the Moon or Mars, as Keck
    sees them, named two faint asteroids and never the planet. DE421's bodies are now named too (row -1, mag
    NaN), inside or as near misses within the tolerance, and at random times and sites the cull (hourly
    geocentric directions) keeps every body the exact position puts in a cone."""
    from platform_lib.moving import Orbits
    from platform_lib.moving.ephemeris import PLANETS

    none = Orbits.from_elements(["far"], a=[40.0], e=[0.1], inc=[80.0], node=[1.0], peri=[1.0], mean_anomaly=[1.0],
                                epoch_jd=[2460000.5])  # no asteroid in the way: only DE421's bodies answer
    t = "2025-01-10T08:00"
    cones = []
    for body in ("jupiter", "moon", "mars"):
        row = ephemeris(body, t, site="keck")[0]
        cones.append(cone_image(SkyCoord(row["ra"] * u.deg, row["dec"] * u.deg), 0.1 * u.deg, t, obs_id=body))
    found = bodies_in_images(cones, orbits=none, site="keck")
    assert [(r["obs_id"], r["body"], r["row"], bool(r["inside"])) for r in found] == [
        ("jupiter", "jupiter", -1, True), ("moon", "moon", -1, True), ("mars", "mars", -1, True)]
    assert np.all(found["centre_sep"] < 0.01) and np.all(np.isnan(found["mag"]))
    assert found["rate"][1] == pytest.approx(1300, rel=0.2) and found["rate"][0] < 30  # the Moon, Jupiter: arcsec/h
    assert found["r"][0] == pytest.approx(5.09, abs=0.01) and found["delta"][0] == pytest.approx(4.27, abs=0.01)
    # a cone 1 deg north of Jupiter, 0.5 deg across: out, and a near miss 0.5 deg from its edge with a tolerance
    row = ephemeris("jupiter", t, site="keck")[0]
    off = cone_image(SkyCoord(row["ra"] * u.deg, (row["dec"] + 1) * u.deg), 0.5 * u.deg, t, obs_id="off")
    assert len(bodies_in_image(off, orbits=none, site="keck")) == 0
    near = bodies_in_image(off, orbits=none, site="keck", tolerance=0.6 * u.deg)
    assert list(near["body"]) == ["jupiter"] and not near["inside"][0]
    assert near["edge_sep"][0] == pytest.approx(1800, abs=1)
    # the cull against the exact positions: every body, random times (the Moon's parallax from Paranal, Keck)
    rng = np.random.default_rng(25)
    for site in ("keck", "paranal"):
        when = Time(rng.uniform(2440000.5, 2470000.5, 12), format="jd", scale="tdb")
        cones = []
        for body in PLANETS:
            pos = ephemeris(body, when, site=site)
            cones += [cone_image(SkyCoord(r["ra"] * u.deg, r["dec"] * u.deg), 1 * u.arcmin, tk, obs_id=f"{body}{k}")
                      for k, (r, tk) in enumerate(zip(pos, when))]
        got = bodies_in_images(cones, orbits=none, site=site)
        assert {(o, b) for o, b in zip(got["obs_id"], got["body"])} >= {
            (c["obs_id"], c["obs_id"].rstrip("0123456789")) for c in cones}


def test_an_image_not_there_while_the_sample_data_first_loads_says_so(archive, asteroids, tmp_path, monkeypatch):
    # first18: in a notebook right after `astrohub up`, bodies_in_image("sample/m1_dss", ...) said only "not in the
    # index" (the archive's route said the sample data was still loading); the library's error says it too now
    import json
    import time

    from platform_lib.sampledata import LOADING

    (tmp_path / LOADING).write_text(json.dumps({"started": time.time() - 12, "pid": 1}))
    monkeypatch.setenv("PLATFORM_DATASETS", str(tmp_path))
    with pytest.raises(MovingObjectError, match="image 'sample/m1_dss' is not in the index .*; the platform's sample "
                       r"data is still loading \(started 1\d s ago\); try again in a minute") as exc:
        bodies_in_image("sample/m1_dss", index=archive / "index.sqlite", orbits=asteroids)
    from platform_lib.moving import UnknownImage

    assert isinstance(exc.value, UnknownImage) and exc.value.code == "unknown-image"
    (tmp_path / LOADING).unlink()
    with pytest.raises(MovingObjectError, match=r"not in the index \(or not visible to you\)$"):
        bodies_in_image("sample/m1_dss", index=archive / "index.sqlite", orbits=asteroids)


def test_one_function_fills_the_file_path_column_of_both_answers():
    """sreg21: ``find_images`` and ``bodies_in_images`` each filled ``file_path`` (a folder index's image files) in
    code of their own; ``search.with_file_paths`` is now the one place, which both call."""
    import ast
    from pathlib import Path

    import platform_lib.moving as moving

    fills = []
    for path in sorted(Path(moving.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant)
                                                    and t.slice.value == "file_path" for t in node.targets):
                fills.append(path.name)
    assert fills == ["search.py"], fills
    from platform_lib.moving import reverse, search

    assert reverse.with_file_paths is search.with_file_paths


def test_a_moons_name_an_asteroid_bears_warns_at_the_callers_line_from_a_search(archive, asteroids):
    """polish26: ``find_images("Io", ...)`` takes the asteroid 85 Io with a warning (the moon is not in DE421), which
    pointed into the library (find_body's stacklevel 3 stopped in find_images, two calls below the user's line);
    now it points at the caller's line, as from ``ephemeris``. ``"(85) Io"`` is the same search, without it."""
    import warnings

    with pytest.warns(UserWarning, match=r"'Io' was taken as the asteroid '85 Io \(A865 SA\)', not Jupiter's moon Io"
                                         r".* give '\(85\) Io' \(or 85\) for the asteroid") as said:
        io = find_images("Io", Time("2023-03-01"), Time("2023-03-08"), index=archive / "index.sqlite",
                         orbits=asteroids)
    assert [w.filename for w in said] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = find_images("(85) Io", Time("2023-03-01"), Time("2023-03-08"), index=archive / "index.sqlite",
                           orbits=asteroids)
    assert io.body.name.strip() == same.body.name.strip() == "85 Io (A865 SA)"
