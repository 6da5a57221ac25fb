"""Image queries as data: :class:`ImageQuery` (the SIA v2 constraints) planned into SQL plus exact filters.

Pure: builds SQL text with ``?`` parameters (never string-interpolated values) and the list of
regions for the exact footprint test after the R-tree prefilter. Owns the release rule (who may see a
record before its release date) and how an ID is compared with ``obs_publisher_did`` for every reader of the
index. Within one constraint the values are OR-ed; different constraints are AND-ed (SIA v2.0 section 2.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from platform_lib.imageindex.sphere import Circle, Polygon, Range

__all__ = ["ImageQuery", "Viewer", "Interval", "IVOID_COLLATION", "plan_sql", "released_sql", "is_released",
           "visibility_sql", "group_decides_sql"]

#: How ``obs_publisher_did`` (an IVOID) is compared with the IDs a caller gives (SIA ``ID``, DataLink and SODA ``ID``):
#: SIA 2.0 2.1.10 "IVOIDs MUST be compared case-insensitively" (every other text parameter is an exact, case-sensitive
#: match, 2.1). An IVOID is an ASCII URI, which SQLite's NOCASE folds.
IVOID_COLLATION = "COLLATE NOCASE"

#: A closed numeric interval; ``None`` (or an infinity) is an open end.
Interval = tuple[float | None, float | None]


@dataclass(frozen=True)
class Viewer:
    """Who is asking: proprietary records are visible to their owner, owning group, or an admin."""

    user: str | None = None
    groups: tuple[str, ...] = ()
    admin: bool = False


@dataclass
class ImageQuery:
    """SIA v2 constraints in physical units: angles in degrees, wavelengths in metres, times in MJD,
    durations in seconds. Each list holds alternatives (OR); different fields combine with AND."""

    pos: list[Circle | Polygon | Range] = field(default_factory=list)
    band: list[Interval] = field(default_factory=list)
    time: list[Interval] = field(default_factory=list)
    pol: list[str] = field(default_factory=list)
    fov: list[Interval] = field(default_factory=list)
    spatres: list[Interval] = field(default_factory=list)
    exptime: list[Interval] = field(default_factory=list)
    timeres: list[Interval] = field(default_factory=list)
    specrp: list[Interval] = field(default_factory=list)
    id: list[str] = field(default_factory=list)
    collection: list[str] = field(default_factory=list)
    facility: list[str] = field(default_factory=list)
    instrument: list[str] = field(default_factory=list)
    dptype: list[str] = field(default_factory=list)
    calib: list[int] = field(default_factory=list)
    target: list[str] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    #: Circles that must contain the record's centre (``s_ra``, ``s_dec``): ADQL
    #: ``CONTAINS(POINT(s_ra, s_dec), CIRCLE(...))``. Alternatives (OR), AND-ed with ``pos``.
    centre_in: list[Circle] = field(default_factory=list)


def _finite(v):
    return v is not None and not (isinstance(v, float) and math.isinf(v))


def _overlaps(col_min: str, col_max: str, iv: Interval, params: list) -> str:
    """SQL true where ``[col_min, col_max]`` overlaps ``iv`` (a value within it: ``col_min`` and ``col_max`` one
    column, the interval ``[v, v]``); open ends (None, infinite) are not tested."""
    lo, hi = iv
    parts = [f"{col_min} IS NOT NULL"]
    if _finite(hi):
        parts.append(f"{col_min} <= ?")
        params.append(float(hi))
    if _finite(lo):
        parts.append(f"{col_max} >= ?")
        params.append(float(lo))
    return "(" + " AND ".join(parts) + ")"


def released_sql(column: str = "o.release_date") -> str:
    """The release rule as SQL over ``column``, with one ``?`` (now, MJD): true once the release date has
    passed. A record without a release date stays proprietary until an operator sets one (docs/archive.md).
    Never NULL, so ``NOT`` of it selects exactly the withheld rows. With :func:`is_released` and
    :func:`visibility_sql`, the one place that decides whether an image is released for a caller."""
    return f"({column} IS NOT NULL AND {column} <= ?)"


def is_released(release_date: float | None, now_mjd: float) -> bool:
    """:func:`released_sql` in Python: ``release_date`` (MJD, or None for none) has passed at ``now_mjd``."""
    return release_date is not None and release_date <= now_mjd


def visibility_sql(viewer: Viewer, now_mjd: float) -> tuple[str, list]:
    """``(sql, params)`` selecting the ``obscore o`` rows ``viewer`` may see: released ones, their own and
    their groups' (``("", [])`` for an admin, who sees every row)."""
    if viewer.admin:
        return "", []
    access, params = [released_sql()], [now_mjd]
    if viewer.user:
        access.append("o.owner = ?")
        params.append(viewer.user)
    if viewer.groups:
        access.append("o.owner_group IN (" + ",".join("?" * len(viewer.groups)) + ")")
        params.extend(viewer.groups)
    return "(" + " OR ".join(access) + ")", params


def group_decides_sql(viewer: Viewer, now_mjd: float) -> tuple[str, list] | None:
    """``(sql, params)`` selecting the ``obscore o`` rows that ``viewer`` sees or not depending on their groups: not
    released, not their own, and belonging to a group (:func:`visibility_sql`'s ``owner_group`` term is all that
    decides them). ``None`` when no row can depend on groups: an admin (who sees every row) or nobody signed in.
    Where it selects nothing, a caller's groups need not be known (a service need not ask for them)."""
    if viewer.admin or not viewer.user:
        return None
    return (f"(o.owner_group IS NOT NULL AND NOT {released_sql()} AND o.owner IS NOT ?)",
            [now_mjd, viewer.user])


def plan_sql(q: ImageQuery, viewer: Viewer, now_mjd: float, columns: str = "o.*",
             extra_where: tuple[str, list] | None = None, order_by: str | None = None) -> tuple[str, list]:
    """``(sql, params)`` selecting candidate rows; footprints still need the exact test of ``q.pos``.

    Several regions are OR-ed inside one WHERE: SQLite plans that as a ``MULTI-INDEX OR`` with one
    R-tree search per region (checked by a unit test with ``EXPLAIN QUERY PLAN``), so no UNION is
    needed. ``extra_where`` is a trusted SQL fragment over ``o.<column>`` with ``?`` parameters
    (the TAP service's translated ADQL); ``order_by`` a trusted ``ORDER BY`` list.
    """
    params: list = []
    where: list[str] = []
    if q.pos or q.centre_in:
        sql = f"SELECT {columns} FROM footprint_rtree r JOIN obscore o ON o.rowid = r.id"
        for regions in (q.pos, q.centre_in):
            if not regions:
                continue
            boxes = []
            for region in regions:
                x0, x1, y0, y1, z0, z1 = region.box()
                boxes.append("(r.x1 >= ? AND r.x0 <= ? AND r.y1 >= ? AND r.y0 <= ? AND r.z1 >= ? AND r.z0 <= ?)")
                params.extend([x0, x1, y0, y1, z0, z1])
            where.append("(" + " OR ".join(boxes) + ")")
    else:
        sql = f"SELECT {columns} FROM obscore o"

    def any_of(items, builder):
        if items:
            where.append("(" + " OR ".join(builder(x) for x in items) + ")")

    any_of(q.band, lambda iv: _overlaps("o.em_min", "o.em_max", iv, params))
    any_of(q.time, lambda iv: _overlaps("o.t_min", "o.t_max", iv, params))
    any_of(q.fov, lambda iv: _overlaps("o.s_fov", "o.s_fov", iv, params))
    any_of(q.spatres, lambda iv: _overlaps("o.s_resolution", "o.s_resolution", iv, params))
    any_of(q.exptime, lambda iv: _overlaps("o.t_exptime", "o.t_exptime", iv, params))
    any_of(q.timeres, lambda iv: _overlaps("o.t_resolution", "o.t_resolution", iv, params))
    any_of(q.specrp, lambda iv: _overlaps("o.em_res_power", "o.em_res_power", iv, params))

    def eq(column, collate=""):
        def build(value):
            params.append(value)
            return f"{column} = ?{collate}"

        return build

    def pol(state):
        params.append(f"%/{state}/%")
        return "o.pol_states LIKE ?"

    any_of(q.pol, pol)
    any_of(q.id, eq("o.obs_publisher_did", " " + IVOID_COLLATION))
    any_of(q.collection, eq("o.obs_collection"))
    any_of(q.facility, eq("o.facility_name"))
    any_of(q.instrument, eq("o.instrument_name"))
    any_of(q.dptype, eq("o.dataproduct_type"))
    any_of(q.calib, eq("o.calib_level"))
    any_of(q.target, eq("o.target_name"))
    any_of(q.format, eq("o.access_format"))
    access, access_params = visibility_sql(viewer, now_mjd)
    if access:
        where.append(access)
        params.extend(access_params)
    if extra_where is not None and extra_where[0]:
        where.append("(" + extra_where[0] + ")")
        params.extend(extra_where[1])
    if where:
        sql += " WHERE " + " AND ".join(where)
    if order_by:
        sql += " ORDER BY " + order_by
    return sql, params
