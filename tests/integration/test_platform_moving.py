"""Moving objects as a planetary scientist meets them on the running platform: in a kernel on their own server,
the archive's moving-object routes through the hub's proxy with the token the server gives the kernel (platform_lib's session), on the
sample images (a 1951 DSS plate of M1 near the ecliptic, an image without a time), read with pyvo."""

from __future__ import annotations

import json

import pytest

KERNEL = r"""
import io, json, warnings
from astropy.io.votable import parse
from pyvo.dal import DALResults

from platform_lib import get_settings
from platform_lib.retrieval import make_session

warnings.simplefilter("error")  # a VOTable that astropy or pyvo warns about fails here
settings = get_settings()  # what the server gives the kernel: the archive's URL and the user's token
session = make_session(settings)  # the session pyvo is given: the token goes to the archive only
base = settings.archive_url.rstrip("/") + "/"

def get(route, **params):
    return session.get(base + "moving/" + route, params=params, timeout=120)

out = {}
r = get("bodies", obs_id="sample/m1_dss", tolerance="60")
results = DALResults(parse(io.BytesIO(r.content)), url=r.url)  # pyvo checks QUERY_STATUS
out["plate"] = [r.status_code, {f.name: f.ucd for f in results.fielddescs}, str(results.to_table()["ra"].unit)]
r = get("bodies", obs_id="sample/m13_dss")
out["timeless"] = [r.status_code, r.text]
r = get("images", body="1P/Halley", start="1980-01-01", stop="1990-01-01", format="json")
out["comet"] = [r.status_code, r.json().get("meta", {}).get("body") if r.ok else r.text]
r = get("images", body="Cerez", start="1980-01-01", stop="1990-01-01")
out["typo"] = [r.status_code, r.text]
r = get("images", body="Hale-Bopp", start="1996-01-01", stop="1998-01-01", format="json")
out["hale_bopp"] = [r.status_code, r.json().get("meta", {}).get("body") if r.ok else r.text]
r = get("images", body="C/2017 K2", start="2020-01-01", stop="2021-01-01")
out["hyperbolic"] = [r.status_code, r.text]
from platform_lib.moving import ephemeris
jup = ephemeris("jupiter", "2025-01-10T08:00", site="keck")[0]  # a cone on Jupiter that night, as Keck sees it
r = get("bodies", ra=str(jup["ra"]), dec=str(jup["dec"]), radius="0.05", time="2025-01-10T08:00", site="keck")
found = DALResults(parse(io.BytesIO(r.content)), url=r.url).to_table()
out["planet"] = [r.status_code, [str(b) for b in found["body"]]]
r = get("images", body="Io", start="2020-01-01", stop="2021-01-01")
out["io"] = [r.status_code, r.text]
print(json.dumps(out))
"""


def test_a_planetary_scientist_in_a_kernel_asks_the_archive(platform, poll):
    from platform_lib.sampledata import MARKER

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    poll((platform.data_dir / "datasets" / MARKER).exists, 300, "the sample data load")
    with platform.user_with_server("planetary") as user:
        out = json.loads(platform.execute(user, KERNEL).strip().splitlines()[-1])
    status, ucds, unit = out["plate"]
    assert status == 200 and unit == "deg"
    assert ucds["ra"] == "pos.eq.ra" and ucds["mag"] == "phot.mag;em.opt.V" and ucds["t_mid"] == "time.epoch"
    status, text = out["timeless"]
    assert status == 400 and "UsageFault" in text and "'sample/m13_dss' has no time" in text
    assert out["comet"] == [200, "1P/Halley"]  # was 400: the route read only the asteroids
    status, text = out["typo"]
    assert status == 400 and "did you mean '1 Ceres (A801 AA)'" in text
    assert out["hale_bopp"] == [200, "C/1995 O1 (Hale-Bopp)"]  # was 400 'unknown body': a comet without a number
    status, text = out["hyperbolic"]  # in kstars-data on a hyperbolic orbit: was 'unknown body ... nor among'
    assert status == 400 and "'C/2017 K2 (PANSTARRS)' was left out" in text and "hyperbolic" in text
    assert out["planet"][0] == 200 and "jupiter" in out["planet"][1]  # was no DE421 body: only orbits were searched
    status, text = out["io"]  # was 200: the asteroid 85 Io's images, unannounced
    assert status == 400 and "the asteroid '85 Io (A865 SA)' and Jupiter's moon Io" in text


PLOTS = r"""
import json, tempfile
import matplotlib
matplotlib.use("agg")
import numpy as np, astropy.units as u
from pathlib import Path
from astropy.io import fits
from astropy.time import Time
from matplotlib.patches import Rectangle
from platform_lib.imageindex import build_index
from platform_lib.imageindex.sphere import xyz_to_radec
from platform_lib.moving import default_orbits, ephemeris, find_images

orbits = default_orbits()
scratch = tempfile.TemporaryDirectory(prefix="plots-")  # in the user's scratch (TMPDIR), removed at the end
work = Path(scratch.name)
(work / "images").mkdir()

def write_image(name, ra, dec, t, size_deg):
    h = fits.Header()
    h.update(CTYPE1="RA---TAN", CTYPE2="DEC--TAN", CRVAL1=ra, CRVAL2=dec, CRPIX1=16.5, CRPIX2=16.5,
             CDELT1=-size_deg / 32, CDELT2=size_deg / 32, RADESYS="ICRS", EXPTIME=120.0)
    h["DATE-OBS"] = t.isot
    fits.PrimaryHDU(np.zeros((32, 32), np.float32), header=h).writeto(work / "images" / f"{name}.fits")

# Ceres crossed RA 12h (the all-sky map's edge) in May 2023: a 6' image centred on it then, and a 30' image
# 0.1 deg east of it in February 2024
when = Time(["2023-05-26T10:00", "2024-02-01T10:00"])
track = ephemeris("Ceres", when, site="keck", orbits=orbits)
write_image("at12h", track["ra"][0], track["dec"][0], when[0], 0.1)
write_image("wide", track["ra"][1] + 0.1, track["dec"][1], when[1], 0.5)
build_index(work / "index.sqlite", work / "images", workers=1)
res = find_images("Ceres", Time("2023-01-01"), Time("2024-06-01"), index=work / "index.sqlite", site="keck",
                  orbits=orbits, tolerance=1 * u.arcmin)
out = {"hits": sorted(res.table["obs_id"][res.table["hit"]].tolist()), "boxes": len(res.boxes)}
sky = res.plot().axes[0]
spans = [(r.get_x(), r.get_x() + r.get_width()) for r in sky.patches if isinstance(r, Rectangle)]
out["rectangles"] = len(spans)
out["off_the_map"] = [s for s in spans if min(s) < -np.pi - 1e-9 or max(s) > np.pi + 1e-9]
out["at_the_edge"] = sum(1 for s in spans if abs(abs(s[0]) - np.pi) < 1e-9 or abs(abs(s[1]) - np.pi) < 1e-9)
out["zoom"] = {}
for obs_id in ("at12h", "wide"):
    zoom = res.plot(obs_id=obs_id).axes[1]
    row = res.table[res.table["obs_id"] == obs_id][0]
    ra, dec = xyz_to_radec(np.asarray(res.footprints[obs_id]))
    dx = (((ra - row["ra"] + 180) % 360) - 180) * np.cos(np.radians(row["dec"])) * 60
    dy = (dec - row["dec"]) * 60
    out["zoom"][obs_id] = [float(np.max(np.abs(dx)) / abs(zoom.get_xlim()[0])),
                           float(np.max(np.abs(dy)) / zoom.get_ylim()[1])]
scratch.cleanup()
print(json.dumps(out))
"""


def test_the_search_plot_draws_every_box_and_frames_the_matched_image(platform):
    """A planetary scientist's ``res.plot()``: a space-time box across RA 12h (the all-sky map's edge) was drawn as
    one rectangle starting at the edge and running off the map (the track there had no boxes), and the zoom on a
    match spanned 3' or three times the body's distance from the image's centre, whatever the image's size: a 6'
    image centred on the body had its edges on the frame, a 30' one was cut. In a kernel on the user's server."""
    with platform.user_with_server("plotter") as user:
        out = json.loads(platform.execute(user, PLOTS, timeout=300).strip().splitlines()[-1])
    assert out["hits"] == ["at12h", "wide"]
    assert out["off_the_map"] == [] and out["rectangles"] > out["boxes"]  # a box across 12h is drawn in two
    assert out["at_the_edge"] >= 2
    for obs_id, (x, y) in out["zoom"].items():  # the image's corners, as fractions of the frame's half-width
        assert x < 0.95 and y < 0.95, (obs_id, x, y)
