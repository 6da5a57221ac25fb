"""A crossmatch job's HATS output shown in Aladin through the archive, on the running platform, as hub users.

``viz.show(job)`` builds the output's HiPS catalogue (per HATS partition, with Dask), sends it to the
archive with the owner's token and adds the archive's ``hips/~/<name>`` URL to the widget: no table goes
to the browser. The archive serves it by that unguessable name, lists it to its owner only, answers 404
to another user's token (as for TAP jobs), and lets only the owner delete it. Shared with a workspace
(``viz.share_hips``), its members list it and read it with their own tokens, an outsider gets 404, and
unsharing gives it a new key.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
from astropy.table import Table

# lsdb 0.11 calls NestedFrame.set_index(inplace=True) and sets pandas' mode.chained_assignment on import,
# both deprecated by pandas 3.1: theirs, not ours.
pytestmark = [pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning"),
              pytest.mark.filterwarnings("ignore:The 'mode.chained_assignment' option:pandas.errors.Pandas4Warning")]


def _inputs(home):
    rng = np.random.default_rng(17)
    n = 1_500
    left = Table({"ra": rng.uniform(0, 360, n), "dec": np.degrees(np.arcsin(rng.uniform(-1, 1, n))), "id": np.arange(n)})
    right = Table({"ra": left["ra"] + rng.normal(0, 1e-4, n), "dec": left["dec"] + rng.normal(0, 1e-4, n),
                   "gmag": rng.uniform(12, 20, n)})
    (home / "in").mkdir(parents=True)
    left.write(home / "in" / "left.parquet", format="parquet")
    right.write(home / "in" / "right.parquet", format="parquet")


def test_a_jobs_hips_is_served_by_the_archive_to_its_owner_only(platform, tmp_path, monkeypatch, poll):
    from platform_lib import get_settings, jobs, viz

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user, other, outsider = platform.unique("hipsowner"), platform.unique("hipsother"), platform.unique("hipsout")
    for name in (user, other, outsider):
        platform.create_user(name)
    # a shared workspace of the owner's, with the other user as a member
    ws = platform.unique("hipsteam")
    made = platform.classes_api(user, "POST", "workspaces", {"name": ws, "members": [other]})
    assert made.status_code == 200, made.text
    archive = f"{platform.url}services/archive/"
    monkeypatch.setenv("PLATFORM_API_TOKEN", platform.user_token(user))
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", archive)
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    settings = get_settings()
    _inputs(tmp_path)
    job = jobs.submit("crossmatch", {"left": "in/left.parquet", "right": "in/right.parquet", "radius": "2 arcsec"},
                      settings=settings, output="out/xm.hats", output_format="hats")
    assert job.wait(timeout=300) == "succeeded", job.log()
    rows = job.info()["rows"]
    assert rows > 1_450

    w = viz.Aladin(archive_url=archive)
    w.sent = []
    w.send = lambda content, buffers=None: w.sent.append((content, buffers))  # the comm to the browser
    w._is_loaded = True
    w.show(job)
    assert w.astrohub_message == ""
    [layer] = w.layers
    assert layer["kind"] == "catalog_hips" and layer["url"].startswith("/services/archive/hips/~/")
    assert [c["event_name"] for c, _ in w.sent] == ["astrohub_catalog_hips"]  # a URL, no table
    name = layer["url"].rsplit("/", 1)[-1]

    # the archive serves it, through the proxy, to the browser (no token) by its name ...
    props = requests.get(f"{archive}hips/~/{name}/properties", timeout=30)
    assert props.status_code == 200, props.text
    values = {k.strip(): v.strip() for k, _, v in (line.partition("=") for line in props.text.splitlines())}
    assert int(values["hips_cat_nrows"]) == rows and values["obs_title"].startswith(f"job {job.id}")
    assert requests.get(f"{archive}hips/~/{name}/Norder1/Allsky.tsv", timeout=30).text.count("\n") > 2
    # ... and to its owner's token; another user's token gets 404 as if it did not exist
    mine = {"Authorization": f"token {platform.user_token(user)}"}
    theirs = {"Authorization": f"token {platform.user_token(other)}"}
    assert requests.get(f"{archive}hips/~/{name}/properties", headers=mine, timeout=30).status_code == 200
    assert requests.get(f"{archive}hips/~/{name}/properties", headers=theirs, timeout=30).status_code == 404
    prefix = name.rsplit("-", 1)[0]  # the name without its key
    assert requests.get(f"{archive}hips/~/{prefix}/properties", timeout=30).status_code == 404
    # listed to its owner only
    assert [h["name"] for h in requests.get(f"{archive}hips/~/", headers=mine, timeout=30).json()["hips"]] == [name]
    assert requests.get(f"{archive}hips/~/", headers=theirs, timeout=30).json()["hips"] == []
    assert requests.get(f"{archive}hips/~/", timeout=30).status_code == 401
    assert name not in requests.get(f"{archive}hips/index.json", timeout=30).text
    # shown again: the same HiPS, not a second upload
    assert viz.job_hips(job) == f"/services/archive/hips/~/{name}/"
    assert len(viz.my_hips()) == 1

    # shared with the workspace: its member lists it and reads it with their own token; an outsider cannot
    outs = {"Authorization": f"token {platform.user_token(outsider)}"}
    refused = requests.put(f"{archive}hips/~/{name}/shares/students", headers=mine, timeout=30)
    assert refused.status_code == 403 and "not a member of the group 'students'" in refused.text
    assert requests.put(f"{archive}hips/~/{name}/shares/ws-{ws}", headers=theirs, timeout=30).status_code == 404
    assert viz.share_hips(name, workspace=ws)["groups"] == [f"ws-{ws}"]
    assert requests.get(f"{archive}hips/~/{name}/properties", headers=theirs, timeout=30).status_code == 200
    [seen] = requests.get(f"{archive}hips/~/", headers=theirs, timeout=30).json()["shared_with_me"]
    assert (seen["name"], seen["owner"], seen["url"]) == (name, user, f"/services/archive/hips/~/{name}/")
    assert requests.get(f"{archive}hips/~/{name}/properties", headers=outs, timeout=30).status_code == 404
    assert requests.get(f"{archive}hips/~/", headers=outs, timeout=30).json()["shared_with_me"] == []
    # removed from the workspace: refused within the archive's group recheck (5 s; it read her groups a minute
    # ago and kept them, teams24), not a minute later; added again: let in at once (a refusal asks the hub again)
    members = f"workspaces/{ws}/members"
    platform.classes_api(user, "POST", members, {"remove": [other]}).raise_for_status()
    poll(lambda: requests.get(f"{archive}hips/~/{name}/properties", headers=theirs, timeout=30).status_code == 404,
         20, "the archive refusing a member removed from the workspace the HiPS is shared with")
    platform.classes_api(user, "POST", members, {"add": [other]}).raise_for_status()
    assert requests.get(f"{archive}hips/~/{name}/properties", headers=theirs, timeout=30).status_code == 200
    assert requests.delete(f"{archive}hips/~/{name}/shares/ws-{ws}", headers=theirs, timeout=30).status_code == 404
    assert requests.delete(f"{archive}hips/~/{name}", headers=theirs, timeout=30).status_code == 404  # owner's only
    # unshared: a new key, so the URL the member saw reads nothing; the owner's job finds it again
    moved = viz.unshare_hips(name, workspace=ws)
    new = moved["name"]
    assert new != name and moved["groups"] == []
    assert requests.get(f"{archive}hips/~/{name}/properties", timeout=30).status_code == 404
    assert requests.get(f"{archive}hips/~/{new}/properties", headers=theirs, timeout=30).status_code == 404
    assert requests.get(f"{archive}hips/~/", headers=theirs, timeout=30).json()["shared_with_me"] == []
    assert viz.job_hips(job) == f"/services/archive/hips/~/{new}/" and len(viz.my_hips()) == 1
    viz.delete_hips(new)
    assert requests.get(f"{archive}hips/~/{new}/properties", timeout=30).status_code == 404
    assert viz.my_hips() == []

    # a large table's HiPS goes in two parts, its deeper orders as the tar the kernel writes them into
    rng = np.random.default_rng(5)
    field = Table({"ra": rng.uniform(10, 12, 20_000), "dec": rng.uniform(-1, 1, 20_000)})
    url = viz.table_hips(field, title="field")  # returns once the whole HiPS is kept
    props = requests.get(f"{platform.url.rstrip('/')}{url}properties", timeout=30).text
    assert "astrohub_building" not in props and "hips_cat_nrows" in props and "= 20000" in props
    [kept] = mine_now = viz.my_hips()
    assert kept["rows"] == 20_000 and "building" not in kept and mine_now.expired == []
    # its deeper orders, kept packed in one file by the archive (viz16), are served through the proxy as files are
    pixel = int(np.unique(viz._hips.healpix29(field["ra"], field["dec"]) >> (2 * (29 - 4)))[0])
    deep = requests.get(f"{archive}hips/~/{kept['name']}/Norder4/Dir0/Npix{pixel}.tsv", timeout=30)
    assert deep.status_code == 200 and deep.text.count("\n") > 2, deep.text
    # the kernel's word that it still builds them (PUT .../rest) reaches the archive: a whole HiPS waits for none
    alive = requests.put(f"{archive}hips/~/{kept['name']}/rest", headers=mine, timeout=30)
    assert alive.status_code == 409 and "is whole" in alive.text, alive.text
    viz.delete_hips(kept["name"])


def _post_once_the_hub_answers(url: str, data: bytes, headers: dict, tries: int = 4) -> requests.Response:
    """POST; a 503 with Retry-After (the hub did not check a new token in time, as on a loaded 2-core CI
    machine) is tried again after a few seconds, as a client would; any other answer is returned."""
    import time

    for _ in range(tries - 1):
        answer = requests.post(url, data=data, headers=headers, timeout=30)
        if answer.status_code != 503 or "Retry-After" not in answer.headers:
            return answer
        time.sleep(5)
    return requests.post(url, data=data, headers=headers, timeout=30)


def test_uploads_that_are_not_a_hips_are_refused_with_a_reason(platform, tmp_path):
    from tar_bytes import tar_of  # tests/support/, on the path by tests/conftest.py

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user = platform.unique("hipsbad")
    platform.create_user(user)
    url = f"{platform.url}services/archive/hips/~/"
    headers = {"Authorization": f"token {platform.user_token(user)}"}
    assert requests.post(url, data=b"not a tar", timeout=30).status_code == 401  # no token
    bad = _post_once_the_hub_answers(url, b"not a tar", headers)
    assert bad.status_code == 400 and "not a tar archive" in bad.text, (bad.status_code, bad.text)
    escape = requests.post(url, data=tar_of({"../escape": b"x"}), headers=headers, timeout=30)
    assert escape.status_code == 400 and "outside its folder" in escape.text
    notahips = requests.post(url, data=tar_of({"properties": b"x=1\n"}), headers=headers, timeout=30)
    assert notahips.status_code == 400 and "not a valid HiPS" in notahips.text
    assert requests.get(url, headers=headers, timeout=30).json()["hips"] == []
