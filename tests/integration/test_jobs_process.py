"""Background jobs as real detached processes: progress, results, cancel, failures, and a job
submitted by one Python process and collected by another (the kernel-independent case)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
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

    def stage(params, ctx):
        # A HATS result written part by part, then a long wait: the test kills the runner here.
        ctx.hats_output.mkdir()
        (ctx.hats_output / "partial.parquet").write_bytes(b"x" * 2**20)
        ctx.progress(0.5, "half written")
        time.sleep(600)

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


def test_job_runs_detached_reports_progress_and_writes_parquet(env):
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:count", {"steps": 8, "dt": 0.05}, settings=settings,
                      sys_path=[str(kinds)], output="results/count.parquet")
    assert job.dir.parent == Path(settings.home).resolve() / ".astrohub" / "jobs"
    assert read_json(job.dir / "spec.json")["kind"] == "astrohub_test_kinds:count"
    assert job.wait(timeout=120) == "succeeded", job.log()
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


def _running(env, poll):
    """A long job (2000 steps of 0.05 s) once its process runs and reports progress; and its ``info()``."""
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:count", {"steps": 2000, "dt": 0.05}, settings=settings,
                      sys_path=[str(kinds)])
    poll(lambda: job.progress > 0, 120, "the job to report progress")
    return job, job.info()


def test_cancel_stops_the_process_group(env, poll):
    job, info = _running(env, poll)
    assert info["state"] == "running" and process_alive(info["pid"], info["start_ticks"])
    assert job.cancel() == "cancelled"
    assert not process_alive(info["pid"], info["start_ticks"])
    assert job.status() == "cancelled"
    with pytest.raises(jobs.JobFailedError) as exc:
        job.result()
    assert exc.value.state == "cancelled"
    assert job.cancel() == "cancelled"  # idempotent


def test_a_job_stopped_with_the_platform_says_so_not_cancelled(env, poll):
    """``astrohub down`` ends a running job with SIGTERM (the supervisor stops every process left): the job
    reads ``failed``, with an error that names the platform stopping, not ``cancelled`` as by its owner."""
    job, info = _running(env, poll)
    os.kill(info["pid"], signal.SIGTERM)  # what the supervisor's stop_process_tree sends each process
    poll(lambda: job.status() in ("succeeded", "failed", "cancelled"), 60, "the job to record its end")
    state = job.wait(timeout=10)
    assert state == "failed", job.info()
    assert "platform was stopped" in state.error and "astrohub down" in state.error, state.error
    assert job.info()["message"] == "stopped with the platform"
    with pytest.raises(jobs.JobFailedError, match="platform was stopped"):
        job.result()


def test_failure_is_recorded_with_the_error(env, capsys):
    settings, kinds = env
    # issue 16: paths and quantities are accepted as parameters (stored as strings)
    job = jobs.submit("astrohub_test_kinds:boom", {"where": Path(settings.home) / "cat.hats", "r": 2 * u.arcsec},
                      settings=settings, sys_path=[str(kinds)])
    assert read_json(job.dir / "spec.json")["params"] == {"where": str(Path(settings.home) / "cat.hats"),
                                                         "r": "2.0 arcsec"}
    state = job.wait(timeout=120, progress=True)
    # issue 16: the failed job says why, in wait()'s value and on its progress bar; log() works
    assert state == "failed" and "no rows" in state.error and "no rows" in repr(state)
    bar = capsys.readouterr().err
    assert f"job {job.id} failed" in bar and "ValueError: the input catalogue has no rows" in bar
    assert "Traceback" in job.log() and "no rows" in job.log(tail=3)
    with pytest.raises(jobs.JobFailedError, match="no rows") as exc:
        job.result()
    assert "ValueError" in exc.value.error
    assert "Traceback" in job.info()["traceback"]


def test_killed_process_is_reported_failed(env, poll):
    job, info = _running(env, poll)
    os.killpg(info["pgid"], signal.SIGKILL)
    poll(lambda: not process_alive(info["pid"], info["start_ticks"]), 30, "the process to die")
    assert job.status() == "failed"
    assert "ended without recording" in job.info()["error"]


def test_a_killed_runners_staging_is_removed_by_the_next_job(env, poll):
    """SIGKILL leaves no chance to clean up; the next job writing there removes what is left (issue 22)."""
    settings, kinds = env
    job = jobs.submit("astrohub_test_kinds:stage", {}, settings=settings, sys_path=[str(kinds)],
                      output="out/r.hats", output_format="hats")
    poll(lambda: job.progress > 0, 120, "the job to write half its result")
    info = job.info()
    out = Path(settings.home).resolve() / "out"
    assert [p.name for p in out.iterdir()] == [f".r.hats.{info['pid']}.tmp"]
    os.killpg(info["pgid"], signal.SIGKILL)
    poll(lambda: not process_alive(info["pid"], info["start_ticks"]), 30, "the process to die")
    assert job.status() == "failed"
    nxt = jobs.submit("astrohub_test_kinds:boom", {}, settings=settings, sys_path=[str(kinds)],
                      output="out/r.hats", output_format="hats")
    assert nxt.wait(timeout=120) == "failed"
    assert [p.name for p in out.iterdir()] == [], "the killed job's staging is left in the user's storage"


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


# lsdb 0.11 calls NestedFrame methods with inplace=True, deprecated by pandas 3.1: theirs, not ours.
_LSDB_INPLACE = pytest.mark.filterwarnings("ignore:The inplace keyword in NestedFrame:pandas.errors.Pandas4Warning")


def _xmatch_inputs(home: Path, n: int = 300, seed: int = 4):
    rng = np.random.default_rng(seed)
    left = Table({"ra": rng.uniform(10, 10.2, n), "dec": rng.uniform(-1, -0.8, n), "id": np.arange(n)})
    right = Table({"ra": left["ra"] + rng.normal(0, 1e-4, n), "dec": left["dec"] + rng.normal(0, 1e-4, n)})
    left["a"] = rng.uniform(0.3, 0.6, n) * u.arcsec
    left["b"] = left["a"] * rng.uniform(0.3, 1, n)
    left["pa"] = rng.uniform(0, 180, n) * u.deg
    (home / "in").mkdir(exist_ok=True)
    left.write(home / "in" / "left.parquet", format="parquet", overwrite=True)
    right.write(home / "in" / "right.parquet", format="parquet", overwrite=True)
    return left, right


@_LSDB_INPLACE
def test_crossmatch_job_with_elliptical_error_columns_and_hats_output(env, capfd):
    lsdb = pytest.importorskip("lsdb")
    from platform_lib.crossmatch import crossmatch

    settings, _ = env
    home = Path(settings.home)
    left, right = _xmatch_inputs(home)
    options = {"mode": "all", "probability": True, "left_errors": ["a", "b", "pa"],
               "right_errors": ["0.3 arcsec", "0.2 arcsec", "40 deg"], "area": "0.04 deg2"}
    job = jobs.submit("crossmatch", {"left": "in/left.parquet", "right": "in/right.parquet", "radius": "2 arcsec",
                                     "options": options},
                      settings=settings, output="out/xm.hats", output_format="hats")
    assert job.wait(timeout=300) == "succeeded", job.info().get("traceback")
    info = job.info()
    assert info["format"] == "hats" and info["rows"] > len(left) // 2
    expected = crossmatch(left, right, 2 * u.arcsec, mode="all", probability=True,
                          left_errors=(left["a"].quantity, left["b"].quantity, left["pa"].quantity),
                          right_errors=(0.3 * u.arcsec, 0.2 * u.arcsec, 40 * u.deg), area=0.04 * u.deg**2)
    # The result is a HATS catalogue lsdb reads back.
    cat = lsdb.open_catalog(home / "out" / "xm.hats")
    frame = cat.compute(progress_bar=False)
    assert len(frame) == len(expected) == info["rows"]
    # pairs keyed by (left id, right ra): float64 survives Parquet exactly
    got = dict(zip(zip(np.asarray(frame["id"], dtype=np.int64).tolist(), np.asarray(frame["ra_2"], dtype=float).tolist()),
                   np.asarray(frame["match_probability"], dtype=float).tolist()))
    want = dict(zip(zip(np.asarray(expected["id"]).tolist(), np.asarray(expected["ra_2"], dtype=float).tolist()),
                    np.asarray(expected["match_probability"]).tolist()))
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in sorted(got)], [want[k] for k in sorted(want)], rtol=1e-9)
    capfd.readouterr()
    assert len(job.result()) == len(expected)
    # xmatch17: reading the HATS result printed lsdb's "Building task graph..." and its bar (red in a notebook),
    # and writing it put "Writing Catalog" bars into the job's log
    assert capfd.readouterr().err == ""
    assert "Building task graph" not in job.log() and "Writing" not in job.log(), job.log()
    assert not list((home / "out").glob(".*")), "the HATS folder was written aside and renamed"


@pytest.fixture(scope="module")
def hats_catalogues(tmp_path_factory) -> Path:
    """Two small HATS catalogues (many partitions; the right one with a margin, which is all a crossmatch reads of
    margins here: building the left one's was half of this fixture's time), written once for the module's tests."""
    lsdb = pytest.importorskip("lsdb")
    import pandas as pd

    folder = tmp_path_factory.mktemp("hats")
    rng = np.random.default_rng(12)
    n = 3000
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    left = pd.DataFrame({"ra": ra, "dec": dec, "id": np.arange(n)})
    right = pd.DataFrame({"ra": (ra + 1e-4) % 360, "dec": dec, "rid": np.arange(n)})
    for name, df, margin in (("left", left, None), ("right", right, 5.0)):
        lsdb.from_dataframe(df, ra_column="ra", dec_column="dec", margin_threshold=margin, partition_rows=150,
                            catalog_name=name).write_catalog(folder / name)
    return folder


#: The job's LocalCluster as two worker processes even for inputs this small (dask config read from the
#: environment by the job's process): small inputs otherwise run on one thread in the job's process.
_WORKER_PROCESSES = ("DASK_ASTROHUB__LOCAL_CLUSTER__THREADS_BELOW_BYTES", "0")


@pytest.fixture()
def hats_inputs(env, hats_catalogues):
    """The two HATS catalogues, copied into this test's user's home (``hats/left``, ``hats/right``)."""
    settings, _ = env
    home = Path(settings.home)
    shutil.copytree(hats_catalogues, home / "hats")
    return settings, home


@_LSDB_INPLACE
def test_crossmatch_job_on_dask_writes_its_hats_result_partition_by_partition(hats_inputs, poll, monkeypatch):
    """A job's HATS result, written as the crossmatch goes; then a job matching against it, on two worker
    processes, reports its progress per partition and gives its pairs as a table (these two checks were a test
    of their own, which ran the same crossmatch job once more)."""
    lsdb = pytest.importorskip("lsdb")
    settings, home = hats_inputs
    (home / "out").mkdir()
    (home / "out" / "xm.hats").mkdir()  # a previous result at the same place is replaced whole
    (home / "out" / "xm.hats" / "stale.txt").write_text("old")
    job = jobs.submit("crossmatch", {"left": "hats/left", "right": "hats/right", "radius": "1 arcsec"},
                      settings=settings, output="out/xm.hats", output_format="hats")
    assert job.wait(timeout=400) == "succeeded", job.info().get("traceback")
    assert job.info()["rows"] == 3000
    result = lsdb.open_catalog(home / "out" / "xm.hats")
    left = lsdb.open_catalog(home / "hats" / "left")
    # Written by the crossmatch as it went (the left catalogue's partitions), not gathered into one
    # table and re-partitioned afterwards (which would give a handful of pixels for 3000 rows).
    assert set(result.get_healpix_pixels()) <= set(left.get_healpix_pixels())
    assert len(result.get_healpix_pixels()) > 5
    frame = result.compute()
    assert sorted(frame["id"]) == sorted(frame["rid"]) == list(range(3000))
    assert sorted(p.name for p in (home / "out").iterdir()) == ["xm.hats"], "written aside, then renamed"
    assert not (home / "out" / "xm.hats" / "stale.txt").exists()
    # With a margin cache, like in-memory results: it can be the right side of the next crossmatch.
    assert result.margin is not None and result.margin.hc_structure.catalog_info.margin_threshold == 5.0
    monkeypatch.setenv(*_WORKER_PROCESSES)  # one thread in the job's process ends before a poll sees a partition
    again = jobs.submit("crossmatch", {"left": "hats/left", "right": "out/xm.hats", "radius": "1 arcsec"},
                        settings=settings)
    messages = set()

    def seen_partition_progress():
        info = again.info()
        messages.add(info.get("message", ""))
        return info["state"] in ("succeeded", "failed", "cancelled")

    poll(seen_partition_progress, 400, "the Dask crossmatch job to finish")
    assert again.status() == "succeeded", again.info().get("traceback")
    assert any("HEALPix partitions" in m for m in messages), messages
    assert len(again.result()) == 3000


@_LSDB_INPLACE
def test_a_wrong_column_fails_the_job_before_any_cluster_and_leaves_nothing(hats_inputs, platform, monkeypatch):
    """A column the HATS catalogue does not have is found in its Parquet schema before the job asks for a Dask
    cluster: the job's process has the platform's dask-gateway as a hub user's kernel has it, and after the
    failure the gateway has no cluster of that user in any state (the job started one, then learned of the
    column). The error names the column and the catalogue's columns; nothing is left in the user's storage."""
    settings, home = hats_inputs
    user = platform.unique("hatsfail")
    platform.create_user(user)
    # What a user's server gives its kernels (astrohub_hub.environment), and so the job's process.
    proxy = f"gateway://{platform.config.hub.ip}:{platform.config.gateway.port}"
    for key, value in (("DASK_GATEWAY__ADDRESS", f"{platform.url}services/dask-gateway"),
                       ("DASK_GATEWAY__PROXY_ADDRESS", proxy),
                       ("DASK_GATEWAY__AUTH__TYPE", "jupyterhub"), ("JUPYTERHUB_API_TOKEN", platform.user_token(user))):
        monkeypatch.setenv(key, value)
    job = jobs.submit("crossmatch", {"left": "hats/left", "right": "hats/right", "radius": "1 arcsec",
                                     "options": {"left_coords": ["ra", "no_such_column"]}},
                      settings=settings, output="out/xm.hats", output_format="hats")
    state = job.wait(timeout=400)
    assert state == "failed"
    assert "no column 'no_such_column' (left_coords); available columns: ra, dec, id" in state.error, state.error
    with platform.gateway(user) as gateway:
        assert gateway.list_clusters(status=["pending", "running", "stopping", "stopped", "failed"]) == []
    assert not [p.name for p in (home / "out").iterdir()], "no partial result, visible or hidden"


@_LSDB_INPLACE
def test_cancelling_a_running_dask_crossmatch_job(hats_inputs, poll, monkeypatch):
    psutil = pytest.importorskip("psutil")
    settings, home = hats_inputs
    monkeypatch.setenv(*_WORKER_PROCESSES)  # the LocalCluster's processes are what must not outlive the job
    # a HATS output keeps two catalogues on Dask (with none, two that fit are matched in the job's process)
    job = jobs.submit("crossmatch", {"left": "hats/left", "right": "hats/right", "radius": "1 arcsec"},
                      settings=settings, output="out/cancelled.hats", output_format="hats")
    poll(lambda: job.progress >= 0.05 or job.done, 300, "the crossmatch to start matching")
    info = job.info()
    assert info["state"] == "running", info
    pgid = info["pgid"]
    assert job.cancel(grace=20) == "cancelled"
    assert job.status() == "cancelled"
    # Nothing of the job is left: not the runner, not its LocalCluster's scheduler or workers.
    poll(lambda: not [p for p in psutil.process_iter() if _pgid(p) == pgid], 30, "the job's processes to end")
    assert not (home / ".astrohub" / "jobs" / job.id / "result.parquet").exists()


def _pgid(proc) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except (ProcessLookupError, PermissionError):
        return None


def test_a_crossmatch_job_reads_one_table_of_a_vizier_download(env):
    """``left: "in/pancino.tsv#J_A_A_511_A56_table1"``: one table of a two-table VizieR TSV download as a
    job input (task c1-data3); the crossmatch kind took such an input for a catalogue name before. (The
    errors for a missing or unknown table: tests/unit/test_text_tables_everywhere.py.)"""
    from vizier_tsv import write_vizier_tsv  # tests/support, on the path by tests/conftest.py

    settings, _ = env
    home = Path(settings.home)
    (home / "in").mkdir()
    path = write_vizier_tsv(home / "in" / "pancino.tsv", table5_rows=5)
    table1 = jobs.read_table(path, table="J_A_A_511_A56_table1")
    Table({"ra": table1["_RAJ2000"], "dec": table1["_DEJ2000"]}).write(home / "in" / "right.parquet")
    job = jobs.submit("crossmatch", {"left": "in/pancino.tsv#J_A_A_511_A56_table1", "right": "in/right.parquet",
                                     "radius": "1 arcsec", "options": {"left_coords": ["_RAJ2000", "_DEJ2000"]}},
                      settings=settings)
    assert job.wait(timeout=240) == "succeeded", job.info().get("traceback")
    assert len(job.result()) == len(table1) == 15
