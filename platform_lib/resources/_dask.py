"""The dask-gateway adapter: the user's clusters and, for each running one, its workers' cores and memory.

May import dask_gateway (and its errors) and ``platform_lib.resources._report``'s types.
"""

from __future__ import annotations

__all__ = ["gateway_clusters"]


def gateway_clusters(address: str) -> tuple[list, list[str]]:
    """``([DaskUsage], problems)`` for the current user's gateway clusters; never raises."""
    from platform_lib.resources._report import DaskUsage

    try:
        from dask_gateway import Gateway
    except ImportError:
        return [], ["dask_gateway is not installed: no Dask figures"]
    # (the Gateways closed here print no traceback when collected: platform_lib.gateway's import hook)
    found, problems = [], []
    try:
        with Gateway(address) as gateway:
            reports = gateway.list_clusters()
            for report in reports:
                status = getattr(report.status, "name", str(report.status)).lower()
                workers = cores = memory = 0
                if status == "running":
                    try:
                        with gateway.connect(report.name) as cluster:
                            info = cluster.scheduler_info.get("workers", {})
                    except Exception as exc:  # noqa: BLE001 - stopping meanwhile: listed without figures
                        problems.append(f"cluster {report.name}: {exc}")
                        info = {}
                    workers = len(info)
                    cores = sum(int(w.get("nthreads", 0)) for w in info.values())
                    memory = sum(int(w.get("memory_limit", 0) or 0) for w in info.values())
                found.append(DaskUsage(report.name, status, workers, cores, memory))
    except Exception as exc:  # noqa: BLE001 - the storage figures still count
        problems.append(f"the Dask gateway at {address} could not be asked: {exc}")
    return found, problems
