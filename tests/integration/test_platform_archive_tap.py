"""TAP of the archive as the platform runs it: behind the hub's proxy, with hub tokens and their scopes.

A user's own token (which carries ``access:services!service=archive`` through the user role) reaches
TAP through the proxy; a token restricted to other scopes is refused with an ``AuthenticationFault``
(issue 22: the archive checks the token's scope, not only who owns it).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import requests

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def _status(body: bytes) -> tuple[str, str]:
    for info in ET.fromstring(body).iter(VO + "INFO"):
        if info.get("name") == "QUERY_STATUS":
            return info.get("value"), (info.text or "").strip()
    raise AssertionError("no QUERY_STATUS")


def test_user_tokens_reach_tap_and_other_scopes_are_refused(platform):
    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user = platform.unique("tapper")
    platform.create_user(user)
    tap = f"{platform.url}services/archive/tap/sync"
    query = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"}
    ok = requests.post(tap, data=query, headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=60)
    assert ok.status_code == 200, ok.text[:500]
    assert _status(ok.content)[0] == "OK"
    narrow = platform.api("POST", f"/users/{user}/tokens", json={"note": "no archive", "scopes": [f"read:users:name!user={user}"]})
    narrow.raise_for_status()
    refused = requests.post(tap, data=query, headers={"Authorization": f"token {narrow.json()['token']}"}, timeout=60)
    assert refused.status_code == 403
    status, text = _status(refused.content)
    assert status == "ERROR" and text.startswith("AuthenticationFault:") and "access:services" in text


def test_async_tap_jobs_are_in_the_users_job_list_with_history_and_results_in_storage(platform, tmp_path,
                                                                                   monkeypatch):
    """Issue 21 item 4: a hub user's async TAP query is a platform job (listed beside a crossmatch job,
    UWS phases in its history), its result written into the user's storage; a bad query's job fails with
    the service's message; the UWS job is another user's 404; a UWS job made by another client is adopted."""
    import numpy as np
    from astropy.table import Table

    from platform_lib import get_settings, jobs
    from platform_lib.retrieval import TapJob, make_session, tap_query
    from platform_lib.storage import Storage

    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    user, other = platform.unique("tapjobs"), platform.unique("tapother")
    for name in (user, other):
        platform.create_user(name)
    # What the user's server gives the kernel (and so the detached job process): the token, the archive, the home.
    monkeypatch.setenv("PLATFORM_API_TOKEN", platform.user_token(user))
    monkeypatch.setenv("PLATFORM_ARCHIVE_URL", f"{platform.url}services/archive")
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    settings = get_settings()
    storage = Storage(settings)
    rng = np.random.default_rng(4)
    mine = Table({"ra": rng.uniform(0, 360, 40), "dec": rng.uniform(-60, 60, 40)})
    storage.write_table(mine, "home:lists/mine.vot")
    storage.write_table(mine, "home:lists/mine.parquet")
    xmatch = jobs.submit("crossmatch", {"left": "lists/mine.parquet", "right": "lists/mine.parquet",
                                        "radius": "1 arcsec"})
    job = tap_query("SELECT COUNT(*) AS n, MAX(dec) AS top FROM TAP_UPLOAD.mine", async_=True,
                    uploads={"mine": "lists/mine.vot"}, save_to="home:results/count.parquet")
    bad = tap_query("SELECT nope FROM TAP_SCHEMA.tables", async_=True, save_to="home:results/bad.parquet")
    assert job.wait(timeout=120) == "succeeded", job.log()
    assert xmatch.wait(timeout=180) == "succeeded", xmatch.log()
    listed = {j.id: j.info()["kind"] for j in jobs.list_jobs()}
    assert listed == {job.id: "tap", bad.id: "tap", xmatch.id: "crossmatch"}
    result = storage.read_table("home:results/count.parquet")
    assert result["n"][0] == 40 and abs(result["top"][0] - mine["dec"].max()) < 1e-9
    assert len(job.result()) == 1
    steps = [h.get("phase") or h["state"] for h in job.history()]
    assert steps[:2] == ["queued", "running"] and steps[-2:] == ["COMPLETED", "succeeded"], steps
    assert "EXECUTING" in steps or "QUEUED" in steps, steps
    state = bad.wait(timeout=120)
    assert state == "failed" and "ERROR" in state.error and "nope" in state.error, state.error
    assert not (tmp_path / "results" / "bad.parquet").exists()
    url = job.info()["tap_job"]
    mine_answer = requests.get(url, headers={"Authorization": f"token {platform.user_token(user)}"}, timeout=30)
    theirs = requests.get(url, headers={"Authorization": f"token {platform.user_token(other)}"}, timeout=30)
    assert mine_answer.status_code == 200 and theirs.status_code == 404
    # A job another client made (here plain HTTP, as TOPCAT would; left PENDING) is adopted by its URL.
    made = requests.post(f"{platform.url}services/archive/tap/async", allow_redirects=False, timeout=30,
                         headers={"Authorization": f"token {platform.user_token(user)}"},
                         data={"REQUEST": "doQuery", "LANG": "ADQL",
                               "QUERY": "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"})
    assert made.status_code == 303, made.text[:300]
    adopted = TapJob.from_url(made.headers["Location"], session=make_session(settings)).save("results/adopted.parquet")
    assert adopted.wait(timeout=120) == "succeeded", adopted.log()
    assert storage.read_table("home:results/adopted.parquet")["n"][0] > 0
    assert [h.get("phase") for h in adopted.history()][-2] == "COMPLETED"
    assert adopted.id in {j.id for j in jobs.list_jobs()}
