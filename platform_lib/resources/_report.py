"""The usage report: storage from :class:`platform_lib.storage.Storage`, Dask from the gateway adapter.

May import ``platform_lib.settings``, ``platform_lib.storage`` and ``platform_lib.resources._dask``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from platform_lib.settings import PlatformSettings, get_settings
from platform_lib.storage import Storage, Usage, size_text

__all__ = ["DaskUsage", "UsageReport", "usage"]


@dataclass(frozen=True)
class DaskUsage:
    """One running (or pending) Dask gateway cluster: ``workers``, ``cores`` (threads) and ``memory`` (bytes)."""

    name: str
    status: str
    workers: int
    cores: int
    memory: int


@dataclass(frozen=True)
class UsageReport:
    """What ``user`` uses: ``storage`` by space name, ``dask`` clusters, and ``problems`` met while asking."""

    user: str
    storage: dict[str, Usage]
    dask: list[DaskUsage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        """Bytes stored, clusters, workers, cores and memory (bytes) in use, summed."""
        return {"bytes": sum(u.used for u in self.storage.values()), "clusters": len(self.dask),
                "workers": sum(c.workers for c in self.dask), "cores": sum(c.cores for c in self.dask),
                "memory": sum(c.memory for c in self.dask)}

    def to_dict(self) -> dict[str, Any]:
        return {"user": self.user, "problems": list(self.problems), "totals": self.totals(),
                "storage": {n: {"used": u.used, "files": u.files, "quota": u.quota, "free": u.free}
                            for n, u in self.storage.items()},
                "dask": [vars(c) for c in self.dask]}

    def __str__(self) -> str:
        lines = [f"usage of {self.user or '(this user)'}:"]
        for name, u in self.storage.items():
            quota = "no quota" if u.quota is None else f"of {size_text(u.quota)} ({size_text(u.free)} free)"
            lines.append(f"  {name:<24} {size_text(u.used):>11} in {u.files} files, {quota}")
        t = self.totals()
        lines.append(f"  dask: {t['clusters']} cluster(s), {t['workers']} worker(s), {t['cores']} core(s), "
                     f"{t['memory'] / 2**30:.1f} GiB")
        lines += [f"  ({p})" for p in self.problems]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """A notebook cell ending in ``platform_lib.usage()`` shows the report as ``print`` does, not the dataclass."""
        printer.text(str(self))


def usage(settings: PlatformSettings | None = None, *, dask: bool = True) -> UsageReport:
    """Storage used against each quota in the user's spaces, and their Dask clusters' resources.

    Parameters
    ----------
    settings
        The platform settings (default: :func:`platform_lib.get_settings`, from the server's environment).
    dask
        Also ask the Dask gateway for the user's clusters (connects to each running one to count workers).

    Returns
    -------
    UsageReport
        ``storage`` holds home, scratch and the workspaces of the user's groups (not the read-only datasets);
        when the gateway cannot be asked, ``dask`` is empty and ``problems`` says why.

    Examples
    --------
    >>> print(usage(dask=False))                     # doctest: +SKIP
    usage of ann:
      home                          1.2 MB in 14 files, of 5.0 GB (5.0 GB free)
    """
    settings = settings or get_settings()
    store = Storage(settings)
    spaces = [name for name in store.spaces() if name != "datasets" and store.space(name).local]
    report = UsageReport(settings.user, {name: store.usage(name) for name in spaces})
    if dask and settings.dask_gateway_url:
        from platform_lib.resources._dask import gateway_clusters

        clusters, problems = gateway_clusters(settings.dask_gateway_url)
        report.dask.extend(clusters)
        report.problems.extend(problems)
    return report
