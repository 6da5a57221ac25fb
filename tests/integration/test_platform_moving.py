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
