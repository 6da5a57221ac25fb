"""The classes service stops cleanly: the hub stops its services with SIGINT (``astrohub down``), Kubernetes
with SIGTERM; either ends the process with status 0 and no traceback in the hub's log."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import requests

from platform_lib.local.ports import free_ports


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_classes_service_stops_on_a_signal_without_a_traceback(tmp_path, poll, signum) -> None:
    (port,) = free_ports(1)
    env = {"PATH": "/usr/bin:/bin", "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api", "JUPYTERHUB_API_TOKEN": "t",
           "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}", "ASTROHUB_CLASSES_ROOT": str(tmp_path / "classes"),
           "ASTROHUB_WORKSPACES_ROOT": str(tmp_path / "workspaces"), "ASTROHUB_GROUPS_ROOT": str(tmp_path / "groups"),
           "ASTROHUB_CLASSES_REGISTRY": str(tmp_path / "registry.sqlite"), "ASTROHUB_CLASSES_SYSTEM_USERS": "0"}
    service = subprocess.Popen([sys.executable, "-m", "astrohub_hub.classes_service"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/services/astrohub-classes/api/", timeout=2) is not None
            except requests.ConnectionError:
                assert service.poll() is None, service.communicate()[0]
                return False

        poll(answers, 60, "the classes service answers")
        service.send_signal(signum)
        output, _ = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert service.returncode == 0, output
    assert "Traceback" not in output and f"stopping on {signum.name}" in output
