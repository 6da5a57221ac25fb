"""Unit tests of astrohub_server.activity: what counts as work in progress, and the cull warning."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime, timezone
from types import SimpleNamespace

from astrohub_server.activity import WARNING_CHARS, Activity, busy_kernels, running_jobs


def _job(home, job_id, **status):
    folder = home / ".astrohub" / "jobs" / job_id
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps(status))


#: The wall-clock time the activity tests hold still (``time.time`` as astrohub_server.activity reads it): a
#: loaded machine's pauses between two lines then change no idle time or countdown they check.
NOW = 2_000_000_000.0


def _clock_held(monkeypatch) -> None:
    import astrohub_server.activity as activity_module

    monkeypatch.setattr(activity_module, "time", SimpleNamespace(time=lambda: NOW, monotonic=time.monotonic))


def test_running_jobs_are_queued_ones_and_running_ones_whose_process_lives(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        _job(tmp_path, "a-running", state="running", pid=live.pid)
        _job(tmp_path, "b-crashed", state="running", pid=dead.pid)
        _job(tmp_path, "c-queued", state="queued")
        _job(tmp_path, "d-done", state="succeeded", pid=live.pid)
        (tmp_path / ".astrohub" / "jobs" / "e-half-written").mkdir()
        assert running_jobs(tmp_path) == ["a-running", "c-queued"]
        assert running_jobs(tmp_path / "nowhere") == [] and running_jobs(None) == []
    finally:
        live.kill()
        live.wait()


def test_busy_kernels_are_those_whose_last_status_was_busy():
    kernels = {"k1": SimpleNamespace(execution_state="busy"), "k2": SimpleNamespace(execution_state="idle")}
    manager = SimpleNamespace(list_kernel_ids=lambda: list(kernels), get_kernel=kernels.__getitem__)
    assert busy_kernels(manager) == ["k1"]


def test_warning_comes_inside_the_window_before_the_cull_once_and_clears_on_work(tmp_path, monkeypatch):
    _clock_held(monkeypatch)
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("DASK_GATEWAY__ADDRESS", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    activity = Activity(cull_timeout=100, cull_warning=30, interval=5)
    emitted = []
    kernels = {"k": SimpleNamespace(execution_state="idle")}
    last = {"t": 0.0}
    activity.serverapp = SimpleNamespace(
        kernel_manager=SimpleNamespace(list_kernel_ids=lambda: list(kernels), get_kernel=kernels.__getitem__),
        web_app=SimpleNamespace(settings={}, last_activity=lambda: datetime.fromtimestamp(last["t"], timezone.utc)),
        event_logger=SimpleNamespace(emit=lambda schema_id, data: emitted.append(data)))
    last["t"] = NOW - 60  # idle 60 s: 40 s before the cull, not yet in the 30 s window
    asyncio.run(activity.check())
    assert activity.warning is None and not emitted
    last["t"] = NOW - 80  # idle 80 s: 20 s left
    asyncio.run(activity.check())
    asyncio.run(activity.check())
    assert len(emitted) == 1 and emitted[0]["cull_in_seconds"] == 20, emitted  # once
    message = activity.state()["warning"]["message"]
    assert message.startswith("This server has been idle for 80 s and will be stopped in about 20 s"), message
    assert len(message) <= WARNING_CHARS  # JupyterLab's notifications cut longer text
    kernels["k"].execution_state = "busy"  # work starts: activity, and the warning is gone
    reasons = asyncio.run(activity.check())
    assert reasons["kernels"] == ["k"] and activity.warning is None
    assert "api_last_activity" in activity.serverapp.web_app.settings
    assert activity.idle_seconds() == 0  # busy now


def test_a_running_dask_cluster_or_a_running_job_is_activity_and_the_gateway_is_asked_sparingly(tmp_path, monkeypatch):
    import astrohub_server.activity as activity_module

    asked = []

    async def clusters():
        asked.append(1)
        return ["gw.abc"]

    monkeypatch.setattr(activity_module, "running_clusters", clusters)
    _clock_held(monkeypatch)
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    activity = Activity(cull_timeout=100, cull_warning=30, interval=1)
    reasons = asyncio.run(activity.check())
    assert reasons["clusters"] == ["gw.abc"] and activity.idle_seconds() == 0
    asyncio.run(activity.check())
    assert len(asked) == 1  # the second round reuses the answer (CLUSTER_CHECK_SECONDS)
    _job(tmp_path, "j", state="queued")
    assert asyncio.run(activity.check())["jobs"] == ["j"]


def test_a_running_validate_is_activity(tmp_path, monkeypatch):
    """nbgrader's Validate runs the student's notebook in a child process (astrohub_server.validate) while her
    browser waits without traffic: it did not count as activity, so the culler could stop her server
    mid-Validate. The child here stands in for nbgrader's (it waits until the test lets it go)."""
    import astrohub_server.validate as validate_module

    spawn, started, go = asyncio.create_subprocess_exec, tmp_path / "started", tmp_path / "go"

    async def nbgrader_stand_in(*args, **kwargs):
        code = (f"import json, os, time\nopen({str(started)!r}, 'w').close()\n"
                f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\nprint(json.dumps({{'success': True}}))")
        return await spawn(sys.executable, "-c", code, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", nbgrader_stand_in)
    monkeypatch.setenv("PLATFORM_HOME", str(tmp_path))
    monkeypatch.delenv("DASK_GATEWAY__ADDRESS", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    activity = Activity(cull_timeout=100, cull_warning=30, interval=5)

    async def validate_while_checking():
        running = asyncio.create_task(validate_module.run_validate(str(tmp_path), "hw1/task.ipynb"))
        try:
            deadline = time.monotonic() + 30
            while not started.exists():
                assert not running.done() and time.monotonic() < deadline, "the Validate child never started"
                await asyncio.sleep(0.02)
            during = await activity.check()
        finally:
            go.touch()  # the child ends whatever happened
        return during, await running, await activity.check()

    during, answer, after = asyncio.run(validate_while_checking())
    assert during.get("validate") == ["hw1/task.ipynb"] and activity.last_busy > 0 and activity.warning is None
    assert answer == {"success": True} and after["validate"] == [] and validate_module.validating() == []
