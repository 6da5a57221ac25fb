"""What the current user is using: storage per space against its quota, and Dask resources in use.

Public API (also as ``platform_lib.usage()``): :func:`usage` returns a :class:`UsageReport` (``storage``: one
:class:`platform_lib.storage.Usage` per space the user may use: home, scratch and their groups'
workspaces, never another user's or another group's; ``dask``: a :class:`DaskUsage` per running gateway
cluster with its workers, cores and memory; ``totals``). The hub's classes page shows the same storage
figures (``/services/astrohub-classes/``, and its ``api/usage``). ``_report`` owns the report types,
``_dask`` the dask-gateway adapter. Importing this package imports neither dask nor dask_gateway.

Examples
--------
>>> from platform_lib.resources import usage
>>> report = usage()                                   # doctest: +SKIP
>>> report.storage["home"].used, report.storage["home"].quota   # doctest: +SKIP
(123456, 5000000000)
>>> report.totals()["workers"]                         # doctest: +SKIP
2
"""

from platform_lib.resources._report import DaskUsage, UsageReport, usage

__all__ = ["DaskUsage", "UsageReport", "usage"]
