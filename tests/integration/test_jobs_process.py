"""Background jobs as real detached processes: progress, results, cancel, failures, and a job
submitted by one Python process and collected by another (the kernel-independent case)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.table import Table

from platform_lib import get_settings, jobs
from platform_lib.jobs._store import process_alive, read_json

KIND_SOURCE = textwrap.dedent(
    """
    import time
    from astropy.table import Table

    def count(params, ctx):
        n = params.get("steps", 10)
        for i in range(n):
            ctx.progress(i / n, f"step {i}")
            time.sleep(params.get("dt", 0.02))
        return Table({"i": list(range(n)), "square": [i * i for i in range(n)]})

    def boom(params, ctx):
        ctx.progress(0.5, "about to fail")
        raise ValueError("the input catalogue has no rows")
    """
)


@pytest.fixture()
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    kinds = tmp_path / "kinds"
    kinds.mkdir()
    (kinds / "astrohub_test_kinds.py").write_text(KIND_SOURCE)
    return get_settings(home=home), kinds


def _poll(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_job_runs_detached_reports_progress_and_writes_parquet(env):
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:count", {"steps": 8, "dt": 0.05}, settings=settings,
                      sys_path=[str(kinds)], output="results/count.parquet")
    assert job.dir.parent == Path(settings.home).resolve() / ".astrohub" / "jobs"
    assert read_json(job.dir / "spec.json")["kind"] == "astrohub_test_kinds:count"
    assert job.wait(timeout=120) == "succeeded", job.log
    info = job.info()
    assert info["progress"] == 1.0 and info["rows"] == 8
    out = Path(settings.home).resolve() / "results" / "count.parquet"
    assert Path(info["result"]) == out and out.is_file()
    table = job.result()
    assert list(table["square"]) == [i * i for i in range(8)]
    # the runner had its own session (not this process's)
    assert info["pgid"] == info["pid"] and info["pgid"] != os.getpgid(0)
    assert [j.id for j in jobs.list_jobs(settings=settings)] == [job.id]
    assert jobs.get_job(job.id, settings=settings).status() == "succeeded"
    assert not list(job.dir.glob(".*.tmp")), "atomic writes leave no temporary files"


def test_cancel_stops_the_process_group(env):
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:count", {"steps": 2000, "dt": 0.05}, settings=settings,
                      sys_path=[str(kinds)])
    _poll(lambda: job.progress > 0, 120, "the job to report progress")
    info = job.info()
    assert info["state"] == "running" and process_alive(info["pid"], info["start_ticks"])
    assert job.cancel() == "cancelled"
    assert not process_alive(info["pid"], info["start_ticks"])
    assert job.status() == "cancelled"
    with pytest.raises(jobs.JobFailedError) as exc:
        job.result()
    assert exc.value.state == "cancelled"
    assert job.cancel() == "cancelled"  # idempotent


def test_failure_is_recorded_with_the_error(env):
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:boom", {}, settings=settings, sys_path=[str(kinds)])
    assert job.wait(timeout=120) == "failed"
    with pytest.raises(jobs.JobFailedError, match="no rows") as exc:
        job.result()
    assert "ValueError" in exc.value.error
    assert "Traceback" in job.info()["traceback"]


def test_killed_process_is_reported_failed(env):
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:count", {"steps": 2000, "dt": 0.05}, settings=settings,
                      sys_path=[str(kinds)])
    _poll(lambda: job.progress > 0, 120, "the job to start")
    info = job.info()
    os.killpg(info["pgid"], signal.SIGKILL)
    _poll(lambda: not process_alive(info["pid"], info["start_ticks"]), 30, "the process to die")
    assert job.status() == "failed"
    assert "ended without recording" in job.info()["error"]


def test_job_outlives_the_submitting_process_and_is_read_from_another(env):
    settings, kinds = env
    home = str(settings.home)
    submit_code = textwrap.dedent(
        f"""
        from platform_lib import get_settings, jobs
        job = jobs.submit("astrohub_test_kinds:count", {{"steps": 30, "dt": 0.1}},
                          settings=get_settings(home={home!r}), sys_path=[{str(kinds)!r}])
        print(job.id)
        """
    )
    done = subprocess.run([sys.executable, "-c", submit_code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip().splitlines()[-1]
    # The submitting "kernel" has exited; the job is still there and not finished yet.
    job = jobs.get_job(job_id, settings=settings)
    assert job.status() in ("queued", "running")
    read_code = textwrap.dedent(
        f"""
        import os
        from platform_lib import get_settings, jobs
        job = jobs.get_job({job_id!r})
        print(job.wait(timeout=240))
        print(len(job.result()))
        """
    )
    env_b = dict(os.environ, PLATFORM_HOME=home)  # the second process finds the home from settings
    read = subprocess.run([sys.executable, "-c", read_code], capture_output=True, text=True, timeout=300, env=env_b)
    assert read.returncode == 0, read.stderr
    assert read.stdout.split() == ["succeeded", "30"]


def test_builtin_nway_and_skymap_kinds(env, tmp_path):
    settings, _ = env
    home = Path(settings.home)
    rng = np.random.default_rng(1)
    ra = rng.uniform(10, 10.1, 50)
    dec = rng.uniform(-5, -4.9, 50)
    Table({"ra": ra, "dec": dec}).write(home / "x.parquet", format="parquet")
    t2 = Table({"ra": ra + 1e-5, "dec": dec, "err": np.full(50, 0.3)})
    t2["err"].unit = u.arcsec
    t2.write(home / "o.parquet", format="parquet")
    job = jobs.submit("nway", {"catalogs": ["x.parquet", "o.parquet"], "radius": "5 arcsec",
                               "errors": ["0.5 arcsec", "err"], "area": "0.01 deg2", "completeness": 0.9},
                      settings=settings)
    assert job.wait(timeout=180) == "succeeded", job.info().get("traceback")
    t = job.result()
    best = t[t["match_flag"]]
    assert len(best) == 50 and np.all(best["idx_cat1"] == best["idx_primary"])
    assert np.all(best["p_match"] > 0.9)

    # skymap kind: a small flat map (order 2) peaked around (10.05, -4.95), written as RING
    from platform_lib.skymap import SkyMap
    import cdshealpix.nested as hp

    order = 2
    ipix = np.arange(12 * 4**order, dtype=np.uint64)
    lon, lat = hp.healpix_to_lonlat(ipix, order)
    cosd = np.sin(lat.rad) * np.sin(np.radians(-4.95)) + np.cos(lat.rad) * np.cos(np.radians(-4.95)) * np.cos(
        lon.rad - np.radians(10.05))
    dens = np.exp(5 * cosd)
    dens /= dens.sum() * 4 * np.pi / ipix.size
    SkyMap(uniq=4 * 4**order + ipix.astype(np.int64), probdensity=dens).write(home / "map.fits", flat=True,
                                                                             ordering="RING")
    job = jobs.submit("skymap", {"catalog": "x.parquet", "skymap": "map.fits"}, settings=settings)
    assert job.wait(timeout=180) == "succeeded", job.info().get("traceback")
    t = job.result()
    assert len(t) == 50 and np.all(t["in_90"]) and t.meta["area_90"] > 0


def test_builtin_crossmatch_kind_matches_in_process_result(env):
    from platform_lib.crossmatch import crossmatch

    settings, _ = env
    home = Path(settings.home)
    rng = np.random.default_rng(2)
    n = 300
    left = Table({"ra": rng.uniform(359.9, 360.1, n) % 360, "dec": rng.uniform(-1, 1, n), "id": np.arange(n)})
    right = Table({"ra": (left["ra"] + rng.normal(0, 1e-4, n)) % 360, "dec": left["dec"] + rng.normal(0, 1e-4, n)})
    (home / "in").mkdir()
    left.write(home / "in" / "left.parquet", format="parquet")
    right.write(home / "in" / "right.parquet", format="parquet")
    left["err"] = np.full(n, 0.3) * u.arcsec
    left.write(home / "in" / "left.parquet", format="parquet", overwrite=True)
    job = jobs.submit("crossmatch", {"left": "in/left.parquet", "right": "in/right.parquet", "radius": "1 arcsec",
                                     "options": {"mode": "all", "probability": True, "left_errors": "err",
                                                 "right_errors": "0.2 arcsec"}},
                      settings=settings, output="out/xmatch.parquet")
    assert job.wait(timeout=240) == "succeeded", job.info().get("traceback")
    got = job.result()
    expected = crossmatch(left, right, 1 * u.arcsec, mode="all", probability=True,
                          left_errors=left["err"].quantity, right_errors=0.2 * u.arcsec)
    np.testing.assert_allclose(np.sort(np.asarray(got["match_probability"])),
                               np.sort(np.asarray(expected["match_probability"])), rtol=1e-9)
    assert len(got) == len(expected) > 0
    np.testing.assert_allclose(np.sort(np.asarray(got["separation_arcsec"])),
                               np.sort(np.asarray(expected["separation_arcsec"])), rtol=1e-12)
    assert (home / "out" / "xmatch.parquet").is_file()


def test_submitting_with_an_unknown_id_or_bad_spec_starts_nothing(env):
    settings, _ = env
    with pytest.raises(jobs.UnknownJobError):
        jobs.get_job("20990101T000000-deadbeef", settings=settings)
    with pytest.raises(jobs.JobError, match="units"):
        jobs.submit("crossmatch", {"left": "a.parquet", "right": "b.parquet", "radius": 1}, settings=settings)
    assert jobs.list_jobs(settings=settings) == []
