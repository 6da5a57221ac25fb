"""Kernels of a user's server on the running platform: warm kernels hand over cleanly and leave nothing behind.

Issue 16: every warm kernel after the first triggered failed restarts in the server log (``ZMQError:
Address already in use``, ``restart failed``), and each kernel a user started left an idle kernel
process behind once it ended (the warm kernel's own manager "restarted" it on the freed ports).
The kernels are counted as processes: ``ipykernel_launcher`` processes whose environment names the user.
"""

from __future__ import annotations

import psutil


def _kernel_pids(user: str) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "ipykernel_launcher" in " ".join(proc.info["cmdline"] or []) and proc.environ().get("JUPYTERHUB_USER") == user:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_kernels_hand_over_without_restarts_and_leave_no_process(platform, poll):
    with platform.user_with_server("kernels") as user:
        poll(lambda: len(_kernel_pids(user)) == 1, 60, "the server's one warm kernel")
        for n in range(3):
            assert platform.execute(user, f"print({n} * 2)") == f"{n * 2}\n"
        # each kernel ended with its notebook; only the replacement warm kernel is left
        poll(lambda: len(_kernel_pids(user)) == 1, 60, "one kernel process (the warm one) after three kernels ended")
        log = (platform.data_dir / "state" / "logs" / "hub.log").read_text(errors="replace")
        assert "Address already in use" not in log and "restart failed" not in log.lower()
