"""Query execution: a checked :class:`~astrohub_archive.adql.Plan` run on DuckDB over the service's tables.

Each query thread keeps one in-memory DuckDB database (file access disabled but for the catalogues'
Parquet folders, configuration locked) and each query gets its own connection to it (a cursor), so a
query can read only the relations registered for it: catalogue tables as temporary views over just
the HATS partitions the query's regions touch (DuckDB's own Parquet reader), ``ivoa.obscore`` as the image
index's rows visible to the caller (the proprietary filter is applied before DuckDB sees a row, so it
holds through joins, subqueries, unions and uploads), ``TAP_SCHEMA`` generated from the table set,
and the request's uploads; a positional join's candidate pairs come from the crossmatch kernel
(:mod:`astrohub_archive.posjoin`, which keeps a catalogue side prepared between queries, and gives a
catalogue read only through the join as its rows with pairs). Bounded by :class:`Limits` (wall time,
memory, threads, rows). Imports DuckDB, pyarrow, numpy, astropy and ``platform_lib``; no Tornado.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from astrohub_archive.adql import DOMAIN_ERROR, Plan, Source
from astrohub_archive.faults import LimitFault, ServiceFault, UsageFault
from astrohub_archive.posjoin import candidate_pairs
from astrohub_archive.timestamps import text_as_times, times_as_text

__all__ = ["Limits", "run_plan", "arrow_to_table", "table_to_arrow"]

OBSCORE_MAX_ROWS = 1_000_000


#: DuckDB join-planning settings. Under its thresholds (an estimate of 5 rows for a nested loop, 1000
#: for a merge join) DuckDB runs a positional join's declination band as a nested loop; when the
#: catalogues were Arrow datasets, which it estimated at ~1 row, an upload of 10^4 rows against 10^6
#: took 133 s instead of 1.5 s, and a selective filter can still bring an estimate that low. At 0, a
#: range condition always gets an IEJoin and an equality a hash join; joins with neither still use a
#: nested loop, the only choice.
JOIN_PLANNING = {"nested_loop_join_threshold": 0, "merge_join_threshold": 0}

#: DuckDB's arithmetic as PostgreSQL's (DaCHS's): a float division by zero, ``COT(0)`` and a square root or logarithm
#: out of its domain are errors, not an infinity or a NaN in the answer (``ieee_floating_point_ops``, on by
#: default, answered ``1.0/0`` with ``inf`` and ``SQRT(-1)`` with ``nan``). The translator checks the ADQL math
#: functions' arguments first, to name the value (:func:`astrohub_archive.adql._guard_domains`).
ARITHMETIC = {"ieee_floating_point_ops": False}


@dataclass(frozen=True)
class Limits:
    """Per-query bounds: seconds of wall time, DuckDB memory, threads, the most rows returned, and the most
    cells (rows x columns): a query selecting thousands of columns gets fewer rows (OVERFLOW), rather than an
    answer that cannot be written within the time limit, which covers writing too (3000 columns x 1000 rows
    took 3 minutes to write: :func:`astrohub_archive.tap.run_query`). ``job``: the
    seconds are an async job's EXECUTIONDURATION (its owner chose them), not the service's sync limit."""

    seconds: float = 60.0
    memory: str = "1GB"
    threads: int = 2
    max_rows: int = 1_000_000
    max_cells: int = 2_000_000  # the largest ordinary answer: MAXREC 100 000 rows of 20 columns
    job: bool = False

    def overrun(self) -> str:
        """What a query that ran past :attr:`seconds` is told, and what to do about it."""
        if self.job:
            return (f"the job ran past its EXECUTIONDURATION of {self.seconds:g} s; give it a longer one (the "
                    "service's most is in /capabilities) or constrain the query (a smaller region, TOP, fewer joins)")
        return (f"the query ran longer than this service's limit of {self.seconds:g} s; constrain it (a smaller "
                "region, TOP, fewer joins) or run it with /async")


_MACROS = (
    # NULL when a coordinate is NULL (a point with a NULL in it is NULL): least() skips NULLs, so the
    # haversine alone gave 180 degrees
    "CREATE MACRO adql_dist(ra1, dec1, ra2, dec2) AS CASE WHEN ra1 IS NULL OR dec1 IS NULL OR ra2 IS NULL "
    "OR dec2 IS NULL THEN NULL ELSE degrees(2 * asin(least(1.0, sqrt(greatest(0.0, "
    "pow(sin(radians(dec2 - dec1) / 2), 2) + cos(radians(dec1)) * cos(radians(dec2)) * "
    "pow(sin(radians(ra2 - ra1) / 2), 2)))))) END",
    "CREATE MACRO adql_in_box(ra, dec, cra, cdec, w, h) AS (dec BETWEEN cdec - h / 2 AND cdec + h / 2) "
    "AND abs(((ra - cra + 540) % 360) - 180) <= w / 2",
    # the area adql_in_box keeps: RA at most all 360 degrees, Dec clipped at the poles (no fold-over)
    "CREATE MACRO adql_box_area(cdec, w, h) AS least(w, 360) * (sin(radians(least(90, cdec + h / 2))) "
    "- sin(radians(greatest(-90, cdec - h / 2)))) * 180 / pi()",
    # geometry values (DALI 1.1 point, circle, polygon), NULL when a value in them is NULL, longitudes in
    # [0, 360) as DALI asks; a BOX is the polygon of its corners, counter-clockwise in (RA, Dec). Each is a
    # one-field struct whose field names its kind, so that the result's column is told from a catalogue's
    # list column (which stays text).
    # (% on doubles is exact, fmod; only a negative remainder is moved, so a longitude in range is unchanged)
    "CREATE MACRO adql_lon(x) AS CASE WHEN x::DOUBLE % 360 < 0 THEN x::DOUBLE % 360 + 360 ELSE x::DOUBLE % 360 END",
    "CREATE MACRO adql_point(x, y) AS CASE WHEN x IS NULL OR y IS NULL THEN NULL "
    "ELSE struct_pack(adql_point := [adql_lon(x), y::DOUBLE]::DOUBLE[2]) END",
    "CREATE MACRO adql_circle(x, y, r) AS CASE WHEN x IS NULL OR y IS NULL OR r IS NULL THEN NULL "
    "ELSE struct_pack(adql_circle := [adql_lon(x), y::DOUBLE, r::DOUBLE]::DOUBLE[3]) END",
    # the ICRS longitude and latitude of (lon, lat) in another frame (astrohub_archive.adql._rotated): adql_vec is the
    # position's unit vector; adql_no_eterms takes FK4's E-terms of aberration, the vector (e0 e1 e2), out of it as
    # astropy's FK4 to FK4NoETerms does (v - e + (e.v) v, not renormalised: the angles below need no unit vector);
    # adql_rot_lon/lat rotate it by the matrix whose rows are (a0 a1 a2), (b0 b1 b2), (c0 c1 c2). NULL where lon
    # or lat is.
    "CREATE MACRO adql_vec(lon, lat) AS [cos(radians(lat)) * cos(radians(lon)), cos(radians(lat)) * sin(radians(lon)), "
    "sin(radians(lat))]",
    "CREATE MACRO adql_no_eterms(v, e0, e1, e2) AS [v[1] - e0 + (e0 * v[1] + e1 * v[2] + e2 * v[3]) * v[1], "
    "v[2] - e1 + (e0 * v[1] + e1 * v[2] + e2 * v[3]) * v[2], v[3] - e2 + (e0 * v[1] + e1 * v[2] + e2 * v[3]) * v[3]]",
    "CREATE MACRO adql_rot_lon(v, a0, a1, a2, b0, b1, b2) AS adql_lon(degrees(atan2("
    "b0 * v[1] + b1 * v[2] + b2 * v[3], a0 * v[1] + a1 * v[2] + a2 * v[3])))",
    "CREATE MACRO adql_rot_lat(v, c0, c1, c2) AS degrees(asin(greatest(-1.0, least(1.0, "
    "(c0 * v[1] + c1 * v[2] + c2 * v[3]) / sqrt(v[1] * v[1] + v[2] * v[2] + v[3] * v[3])))))",
    "CREATE MACRO adql_polygon(v) AS struct_pack(adql_polygon := v::DOUBLE[])",
    "CREATE MACRO adql_box(x, y, w, h) AS CASE WHEN x IS NULL OR y IS NULL OR w IS NULL OR h IS NULL THEN NULL "
    # the polygon of its corners is the box only narrower than 180 deg of RA and clear of the poles (adql._box_value)
    "WHEN w < 0 OR h < 0 OR w >= 180 OR abs(y) + h / 2 > 90 THEN NULL "
    "ELSE adql_polygon([adql_lon(x - w / 2), y - h / 2, adql_lon(x + w / 2), y - h / 2, adql_lon(x + w / 2), "
    "y + h / 2, adql_lon(x - w / 2), y + h / 2]) END",
)


@lru_cache(maxsize=256)
def _sky_polygon(spec: str):
    """The polygon ``spec`` ('ra1 dec1 ra2 dec2 ...') as the catalogue service's polygon (great-circle edges)."""
    from platform_lib.catalogs import SkyPolygon

    vals = [float(v) for v in spec.split()]
    return SkyPolygon(vals[0::2], vals[1::2])


def _in_polygon(ra, dec, spec):
    """DuckDB vectorised UDF: is (ra, dec) inside the spherical polygon ``spec``.

    The inside test is ``platform_lib.catalogs``' (even-odd rule in the gnomonic projection about the
    cap holding the vertices, where great-circle edges are straight), so ADQL and ``polygon_search``
    answer alike; the translator has already refused polygons beyond its hemisphere limit.
    """
    import pyarrow as pa

    ra_np = ra.to_numpy(zero_copy_only=False).astype(float)
    dec_np = dec.to_numpy(zero_copy_only=False).astype(float)
    specs = spec.to_pylist()
    out = np.zeros(len(ra_np), dtype=bool)
    if len(ra_np) == 0:
        return pa.array(out)
    for s in set(specs):
        if s is None:
            continue
        rows = np.array([x == s for x in specs])
        r, d = np.radians(ra_np[rows]), np.radians(dec_np[rows])
        xyz = np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], axis=1)
        out[rows] = _sky_polygon(s).contains(xyz) & np.isfinite(xyz).all(axis=1)
    nulls = np.asarray(ra.is_null()) | np.asarray(dec.is_null())
    return pa.array(out, mask=nulls)


def _circle_polygon(ra, dec, radius, spec, inside: bool):
    """DuckDB vectorised UDF: does the circle (ra, dec, radius) lie inside the spherical polygon ``spec``
    (``inside``: its centre inside, the outline at least ``radius`` away) or meet it (its centre inside, or
    the outline within ``radius``); NULL where a value is NULL. The polygon is :func:`_in_polygon`'s."""
    import pyarrow as pa

    ra_np, dec_np, r_np = (np.asarray(a.to_numpy(zero_copy_only=False), dtype=float) for a in (ra, dec, radius))
    specs = spec.to_pylist()
    out = np.zeros(len(ra_np), dtype=bool)
    for s in set(specs) - {None}:
        rows = np.array([x == s for x in specs])
        r, d = np.radians(ra_np[rows]), np.radians(dec_np[rows])
        xyz = np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], axis=1)
        ok = np.isfinite(xyz).all(axis=1) & np.isfinite(r_np[rows])
        poly = _sky_polygon(s)
        centre_in = np.zeros(len(xyz), dtype=bool)
        edge = np.full(len(xyz), np.nan)
        if ok.any():
            centre_in[ok] = poly.contains(xyz[ok])
            edge[ok] = np.degrees(poly.edge_distance(xyz[ok]))
        with np.errstate(invalid="ignore"):
            hit = centre_in & (edge >= r_np[rows]) if inside else centre_in | (edge <= r_np[rows])
        out[rows] = hit & ok
    nulls = np.asarray(ra.is_null()) | np.asarray(dec.is_null()) | np.asarray(radius.is_null())
    return pa.array(out, mask=nulls | np.array([x is None for x in specs], dtype=bool))


def _circle_in_polygon(ra, dec, radius, spec):
    return _circle_polygon(ra, dec, radius, spec, True)


def _circle_meets_polygon(ra, dec, radius, spec):
    return _circle_polygon(ra, dec, radius, spec, False)


def _haversine(ra1, dec1, ra2, dec2):
    """Angular distances in degrees (arrays of degrees in), as ``adql_dist`` computes them."""
    r1, d1, r2, d2 = (np.radians(x) for x in (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.minimum(1.0, np.sqrt(h))))


def _box_edge_distance(ra, dec, cra, cdec, w, h):
    """``(inside, distance)``: whether each point (ra, dec) is in the box ``adql_in_box`` tests (RA within ``w / 2``
    of ``cra``, wrapping RA 0; Dec within ``h / 2`` of ``cdec``, clipped at the poles) and its angular
    distance in degrees to the box's outline: its two Dec parallels and two RA meridians (a box of 360° or
    more in RA has no meridians; a parallel beyond a pole is none). All arrays of degrees; an empty box
    (``w < 0``, or no Dec left) holds no point and is infinitely far."""
    ra, dec, cra, cdec, w, h = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (ra, dec, cra, cdec, w, h)))
    half = w / 2
    full = half >= 180
    dlo, dhi = np.maximum(-90.0, cdec - h / 2), np.minimum(90.0, cdec + h / 2)
    empty = (w < 0) | (dlo > dhi)
    off = np.mod(ra - cra + 540, 360) - 180  # the point's RA from the centre's, in [-180, 180)
    in_ra = full | (np.abs(off) <= half)
    inside = ~empty & in_ra & (dec >= dlo) & (dec <= dhi)
    best = np.full(ra.shape, np.inf)
    with np.errstate(invalid="ignore"):
        for edge, real in ((dlo, cdec - h / 2 > -90), (dhi, cdec + h / 2 < 90)):  # the parallels
            along = np.where(in_ra, np.abs(dec - edge), np.inf)  # straight along the meridian to it
            best = np.where(real, np.minimum(best, along), best)
            for side in (-1, 1):  # else its nearer end, a corner
                corner = _haversine(ra, dec, cra + side * half, edge)
                best = np.where(~full, np.minimum(best, corner), best)
        for side in (-1, 1):  # the meridians: the foot of the perpendicular, where it falls on the edge
            lon = np.radians(ra - (cra + side * half))
            d = np.radians(dec)
            foot = np.degrees(np.arctan2(np.sin(d), np.cos(d) * np.cos(lon)))
            across = np.degrees(np.arcsin(np.minimum(1.0, np.abs(np.cos(d) * np.sin(lon)))))
            on_edge = ~full & (foot >= dlo) & (foot <= dhi)
            best = np.where(on_edge, np.minimum(best, across), best)
    best = np.where(empty, np.inf, best)
    return inside, best


def _circle_box(ra, dec, radius, cra, cdec, w, h, inside: bool):
    """DuckDB vectorised UDF: does the circle (ra, dec, radius) lie inside the box (cra, cdec, w, h)
    (``inside``: its centre inside, the outline at least ``radius`` away) or meet it (its centre inside,
    or the outline within ``radius``); NULL where a value is NULL. The box is ``adql_in_box``'s."""
    import pyarrow as pa

    cols = [a.to_numpy(zero_copy_only=False) for a in (ra, dec, radius, cra, cdec, w, h)]
    vals = [np.asarray(c, dtype=float) for c in cols]
    centre_in, edge = _box_edge_distance(vals[0], vals[1], *vals[3:])
    r = vals[2]
    with np.errstate(invalid="ignore"):
        hit = centre_in & (edge >= r) if inside else centre_in | (edge <= r)
    nulls = np.zeros(len(r), dtype=bool)
    for a in (ra, dec, radius, cra, cdec, w, h):
        nulls |= np.asarray(a.is_null())
    nulls |= ~np.isfinite(np.stack(vals)).all(axis=0)
    return pa.array(hit & ~nulls, mask=nulls)


def _circle_in_box(ra, dec, radius, cra, cdec, w, h):
    return _circle_box(ra, dec, radius, cra, cdec, w, h, inside=True)


def _circle_meets_box(ra, dec, radius, cra, cdec, w, h):
    return _circle_box(ra, dec, radius, cra, cdec, w, h, inside=False)


def _catalog_files(src: Source) -> tuple[list[str], object]:
    """The Parquet files of the partitions ``src``'s cones, polygons and boxes touch (all when unbounded), and
    the schema. Every polygon and box is an AND term: a partition is read when it may hold a row of all of them."""
    import pyarrow.parquet as pq

    from platform_lib.catalogs import box_cells, partition_file, read_layout

    t = src.table
    if t.hats_path is None:
        return [str(t.data_path)], pq.read_schema(t.data_path)
    layout = read_layout(t.hats_path)
    pixels = list(layout.pixels)
    if src.cones:
        import astropy.units as u
        from cdshealpix.nested import cone_search

        ra, dec, r = src.cones[0]
        if r < 30:
            keep = set()
            for order in sorted({o for o, _ in pixels}):
                ipix, _, _ = cone_search(ra * u.deg, dec * u.deg, max(r, 1e-9) * u.deg, depth=order)
                keep.update((order, int(p)) for p in np.asarray(ipix).tolist())
            pixels = [p for p in pixels if p in keep]
    for vals in src.polygons or ():  # the catalogue service's own cell selection (cdshealpix loses cells of large polygons)
        poly = _sky_polygon(" ".join(repr(float(v)) for v in vals))
        keep = set()
        for order in sorted({o for o, _ in pixels}):
            keep.update((order, int(p)) for p in poly.cells(order).tolist())
        pixels = [p for p in pixels if p in keep]
    for ra_min, ra_max, dec_min, dec_max in src.boxes or ():  # box_search's cells (a superset, poles included)
        keep = set()
        for order in sorted({o for o, _ in pixels}):
            keep.update((order, int(p)) for p in box_cells(ra_min, ra_max, dec_min, dec_max, order).tolist())
        pixels = [p for p in pixels if p in keep]
    files = [str(partition_file(layout.root, o, p)) for o, p in pixels]
    meta = Path(layout.root) / "dataset" / "_common_metadata"
    schema = pq.read_schema(meta) if meta.exists() else (pq.read_schema(files[0]) if files else None)
    return files, schema


def _sql_strings(values) -> str:
    """``values`` as SQL string literals, comma-separated (paths the service chose, never query text)."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def table_to_arrow(table):
    """An astropy Table as a pyarrow Table, masked values as nulls."""
    import pyarrow as pa

    arrays, names = [], []
    for name in table.colnames:
        col = table[name]
        mask = np.ma.getmaskarray(col) if hasattr(col, "mask") else None
        data = np.ma.getdata(col) if hasattr(col, "mask") else np.asarray(col)
        if data.dtype.kind == "S":
            data = np.char.decode(data, "utf-8", "replace")
        if data.dtype.kind == "O":
            data = np.array(["" if v is None else (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
                             for v in data], dtype=str) if len(data) else np.array([], dtype=str)
        if data.ndim > 1:
            raise UsageFault(f"column {name!r} holds arrays; this service takes scalar columns only")
        if mask is not None and not mask.any():
            mask = None
        arrays.append(pa.array(data, mask=mask) if data.dtype.kind != "U" else
                      pa.array(data.tolist(), type=pa.string(), mask=mask))
        names.append(name)
    return pa.table(arrays, names=names)


def arrow_to_table(arrow, columns: dict):
    """A pyarrow Table (a DuckDB result) as an astropy Table with masked nulls and column metadata."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from astropy.table import MaskedColumn, Table

    out = Table()
    for name, col in zip(arrow.column_names, arrow.columns):
        typ = col.type
        geometry = _geometry_column(name, col)
        if geometry is not None:
            out.add_column(geometry)
            continue
        if pa.types.is_decimal(typ) and typ.scale == 0 and typ.precision == 38:
            # DuckDB's SUM of integers (HUGEINT, as decimal(38, 0)): exact numbers stay exact (SQL-92 6.5);
            # other decimals (the literal 5., CEILING(-1.5)) stay doubles, as before
            try:
                col, typ = col.cast(pa.int64()), pa.int64()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # beyond 64 bits: a double, as before
                col, typ = _decimal_as_double(col), pa.float64()
        elif pa.types.is_decimal(typ):
            col, typ = _decimal_as_double(col), pa.float64()
        elif pa.types.is_timestamp(typ):  # DALI's timestamp text
            col, typ = times_as_text(col), pa.string()
        elif pa.types.is_date(typ) or pa.types.is_time(typ):
            col = pc.cast(col, pa.string())
            typ = pa.string()
        elif pa.types.is_dictionary(typ):
            col = col.cast(typ.value_type)
            typ = typ.value_type
        elif pa.types.is_null(typ):
            col, typ = col.cast(pa.string()), pa.string()
        elif not (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ)
                  or pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            try:
                col = pc.cast(col, pa.string())
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # lists, structs, maps: their text
                col = pa.array([None if v is None else str(v) for v in col.to_pylist()], type=pa.string())
            typ = pa.string()
        mask = np.asarray(col.is_null()) if col.null_count else np.zeros(len(col), bool)
        if pa.types.is_string(typ) or pa.types.is_large_string(typ):
            vals = col.to_pylist()
            data = np.array(["" if v is None else v for v in vals], dtype=str) if vals else np.array([], dtype="U1")
        elif pa.types.is_integer(typ) or pa.types.is_boolean(typ):
            fill = False if pa.types.is_boolean(typ) else 0
            data = col.fill_null(fill).to_numpy() if col.null_count else col.to_numpy()
        else:
            data = col.to_numpy()
            if col.null_count:
                data = np.where(mask, np.nan, data)
        desc = columns.get(name)
        mc = MaskedColumn(np.asarray(data), name=name, mask=mask)
        if desc is not None:
            mc.unit = desc.unit or None
            mc.description = desc.description or None
            if desc.ucd:
                mc.meta["ucd"] = desc.ucd
            if desc.utype:
                mc.meta["utype"] = desc.utype
            if desc.xtype:
                mc.meta["xtype"] = desc.xtype
            if desc.datatype == "unicodeChar" and mc.dtype.kind == "U":  # an upload's, as declared (ASCII or not)
                mc.meta["datatype"] = "unicodeChar"
            if desc.frame:  # its COOSYS or TIMESYS (ivoa.obscore's positions and times, as SIA declares them)
                key, frame = desc.frame
                mc.meta[key] = frame if isinstance(frame, str) else dict(frame)
        try:
            out.add_column(mc)
        except ValueError:  # a unit astropy cannot read: keep the column, drop the unit
            mc.unit = None
            out.add_column(mc)
    return out


def _decimal_as_double(col):
    """A pyarrow decimal column as the doubles nearest its values, as PostgreSQL's ``numeric::float8`` (DaCHS's):
    through their exact text. Arrow's own cast scales an integer by a power of ten, a rounding off:
    ``TRUNCATE(-1.99, 1)`` (DuckDB's ``DECIMAL`` -1.9) came back as ``-1.9000000000000001``, ``ROUND(-4.55, 1)``
    as ``-4.6000000000000005``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(pc.cast(col, pa.string()), pa.float64())


#: The struct field of each geometry value ADQL selects (:func:`astrohub_archive.adql._geometry_array`,
#: the ``adql_*`` macros) -> its DALI 1.1 xtype: a point is DOUBLE[2], a circle DOUBLE[3], a polygon DOUBLE[].
_XTYPES = {"adql_point": "point", "adql_circle": "circle", "adql_polygon": "polygon"}


def _geometry_column(name: str, col):
    """A geometry value column (a one-field struct named for its kind) as a masked astropy column with
    its DALI xtype and unit deg: ``(rows, 2)`` / ``(rows, 3)`` doubles, or an object column of double
    arrays for polygons; None for any other column."""
    import pyarrow as pa
    from astropy.table import MaskedColumn

    typ = col.type
    if not (pa.types.is_struct(typ) and typ.num_fields == 1 and typ.field(0).name in _XTYPES):
        return None
    field = typ.field(0).name
    values = [None if v is None else v[field] for v in col.to_pylist()]
    mask = np.array([v is None for v in values], dtype=bool)
    if field != "adql_polygon":
        k = 2 if field == "adql_point" else 3
        data = np.array([[np.nan] * k if v is None else v for v in values], dtype=np.float64).reshape(len(values), k)
        mc = MaskedColumn(data, name=name, mask=np.repeat(mask[:, None], k, axis=1), unit="deg")
    else:
        data = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            data[i] = np.array([] if v is None else v, dtype=np.float64)
        mc = MaskedColumn(data, name=name, mask=mask, unit="deg")
    mc.meta["xtype"] = _XTYPES[field]
    return mc


def _tap_schema_arrow(table_desc, tables):
    import pyarrow as pa

    rows = tables.tap_schema_rows()[table_desc.short_name]
    cols = list(zip(*rows)) if rows else [[] for _ in table_desc.columns]
    arrays = [pa.array(list(v), type=pa.int32() if c.datatype == "int" else pa.string())
              for c, v in zip(table_desc.columns, cols)]
    return pa.table(arrays, names=[c.name for c in table_desc.columns])


def _obscore_arrow(src: Source, state, viewer, access_base: str):
    from astrohub_archive.responses import obscore_table
    from platform_lib.imageindex import ImageQuery

    q = ImageQuery(pos=list(src.obscore_regions[:1]), centre_in=list(src.obscore_centres[:1]))
    records, overflow = state.index().query(q, viewer, maxrec=OBSCORE_MAX_ROWS)
    if overflow:
        raise LimitFault(f"the query reads more than {OBSCORE_MAX_ROWS} ivoa.obscore rows; constrain it with "
                         "1 = INTERSECTS(s_region, CIRCLE(...)) or CONTAINS(POINT(s_ra, s_dec), CIRCLE(...))")
    # obs_release_date (ObsCore 1.1's timestamp) as times, as DaCHS's: as text, '2020-01-01T00:00:00Z' equalled no
    # '2020-01-01T00:00:00' and a time written with a space sorted before every time of its day
    return text_as_times(table_to_arrow(obscore_table(records, access_base)),
                         [c.name for c in src.table.columns if c.xtype == "timestamp"], "ivoa.obscore")


def _catalog_roots(table) -> set[str]:
    """The folders (ending in ``/``) and files a catalogue table's rows are read from."""
    out = set()
    for path in (table.hats_path, table.data_path):
        if path is not None:
            suffix = "/" if Path(path).is_dir() else ""
            out.update({str(path) + suffix, str(Path(path).resolve()) + suffix})
    return out


def _region_area(regions):
    """``AREA(s_region)``: each STC-S region's solid angle in steradians (the query makes it square degrees), NULL
    for a NULL region or one that is no polygon, circle or box (:func:`platform_lib.imageindex.sregion.region_area`)."""
    import pyarrow as pa

    from platform_lib.imageindex.sregion import region_area

    return pa.array([None if r is None else region_area(r) for r in regions.to_pylist()], pa.float64())


def _region_meets(regions, kinds, a, b, c, specs):
    """``CONTAINS``/``INTERSECTS`` of a region column (an uploaded ``s_region``) and a point (``a``, ``b``: ra, dec),
    a circle (``a``, ``b``, ``c``: ra, dec, radius) or a polygon (``specs``: its vertices as text), by ``kinds``
    (:func:`platform_lib.imageindex.sregion.region_meets`); NULL where a value is NULL or a region's text is no
    region (as ``AREA`` answers it)."""
    import pyarrow as pa

    from platform_lib.imageindex.sregion import region_meets

    out = []
    for region, kind, x, y, r, spec in zip(*(v.to_pylist() for v in (regions, kinds, a, b, c, specs))):
        if kind == "polygon":
            values = tuple(float(v) for v in spec.split()) if spec else None
        else:
            values = (x, y) if kind == "point" else (x, y, r)
            if any(v is None or not math.isfinite(v) for v in values):
                values = None
        out.append(None if region is None or values is None else region_meets(region, kind, values))
    return pa.array(out, pa.bool_())


def _region_relation(firsts, seconds, relations):
    """``INTERSECTS`` (``relations`` ``"meets"``) or ``CONTAINS`` (``"within"``: the first inside the second) of two
    regions as STC-S text, row by row: region columns, or a circle or polygon of the query written as STC-S
    (:func:`platform_lib.imageindex.sregion.region_relation`); NULL where a text is NULL or no region."""
    import pyarrow as pa

    from platform_lib.imageindex.sregion import region_relation

    return pa.array([region_relation(a, b, rel) for a, b, rel in
                     zip(firsts.to_pylist(), seconds.to_pylist(), relations.to_pylist())], pa.bool_())


class _Databases(threading.local):
    """Each query thread's DuckDB database, opened once rather than per query (opening, defining the
    macros and closing cost 40-100 ms a query on a loaded machine, more than a cone's scan).

    It is created with file access off except for the catalogues' folders (each a set of public
    Parquet files, read through per-query views), its macros defined and its configuration locked; a
    query gets a cursor (its own connection: its temporary views, registered relations and interrupt)
    and closes it. A query over a catalogue the database was not opened for (ingested since, or
    outside the folders seen so far) reopens it with that catalogue's folder added. ``files`` are those the
    query listed, allowed too where no catalogue folder holds them: the catalogue version ``read_layout``
    pinned, when a replace switched the catalogue's folder between the listing and this call.
    """

    def __init__(self) -> None:
        self.db = None
        self.key: tuple | None = None
        self.roots: frozenset = frozenset()

    def get(self, limits: Limits, catalog_tables: list, files=()):
        import duckdb

        roots = set().union(*(_catalog_roots(t) for t in catalog_tables)) if catalog_tables else set()
        dirs = [r for r in roots if r.endswith("/")]
        roots |= {f for f in files if f not in roots and not any(f.startswith(d) for d in dirs)}
        key = (limits.threads, limits.memory)
        if self.db is not None and self.key == key and roots <= self.roots:
            return self.db
        if self.db is not None:
            if self.key == key:
                roots |= self.roots
            self.db.close()
            self.db = None
        db = duckdb.connect(":memory:", config={"threads": limits.threads, "memory_limit": limits.memory,
                                                "autoinstall_known_extensions": False,
                                                "autoload_known_extensions": False, **JOIN_PLANNING, **ARITHMETIC})
        for m in _MACROS:
            db.execute(m)
        db.create_function("adql_in_polygon", _in_polygon, ["DOUBLE", "DOUBLE", "VARCHAR"], "BOOLEAN",
                           type="arrow", null_handling="special", side_effects=False)
        for name, udf in (("adql_circle_in_polygon", _circle_in_polygon),
                          ("adql_circle_meets_polygon", _circle_meets_polygon)):
            db.create_function(name, udf, ["DOUBLE", "DOUBLE", "DOUBLE", "VARCHAR"], "BOOLEAN", type="arrow",
                               null_handling="special", side_effects=False)
        db.create_function("adql_region_area", _region_area, ["VARCHAR"], "DOUBLE", type="arrow",
                           null_handling="special", side_effects=False)
        db.create_function("adql_region_meets", _region_meets, ["VARCHAR", "VARCHAR"] + ["DOUBLE"] * 3 + ["VARCHAR"],
                           "BOOLEAN", type="arrow", null_handling="special", side_effects=False)
        db.create_function("adql_region_relation", _region_relation, ["VARCHAR"] * 3, "BOOLEAN", type="arrow",
                           null_handling="special", side_effects=False)
        for name, udf in (("adql_circle_in_box", _circle_in_box), ("adql_circle_meets_box", _circle_meets_box)):
            db.create_function(name, udf, ["DOUBLE"] * 7, "BOOLEAN", type="arrow", null_handling="special",
                               side_effects=False)
        dirs = sorted(r for r in roots if r.endswith("/"))
        files = sorted(r for r in roots if not r.endswith("/"))
        if dirs:
            db.execute(f"SET allowed_directories = [{_sql_strings(dirs)}]")
        if files:
            db.execute(f"SET allowed_paths = [{_sql_strings(files)}]")
        db.execute("SET enable_external_access = false")
        db.execute("SET lock_configuration = true")
        self.db, self.key, self.roots = db, key, frozenset(roots)
        return db


_THREAD_DATABASES = _Databases()


def run_plan(plan: Plan, *, tables, state, viewer, access_base: str, maxrec: int, uploads: dict | None = None,
             limits: Limits = Limits(), kernel: bool = True, deadline: float | None = None):
    """Run ``plan``: ``(astropy Table, overflow)``; at most ``maxrec`` rows (``overflow`` when more matched).

    ``deadline`` (:func:`time.monotonic` seconds) ends the query there rather than ``limits.seconds`` from now:
    the request's limit, of which reading its uploads and writing its answer take their share too.

    Positional joins run on the crossmatch kernel when ``kernel`` (else, and when the kernel declines,
    as DuckDB range joins: the same rows).

    Raises :class:`LimitFault` when the query runs past ``limits.seconds`` or out of memory, and
    :class:`UsageFault` for what DuckDB refuses at run time (types, division by zero...).
    """
    import duckdb

    catalogs = {i: _catalog_files(s) for i, s in plan.sources.items() if s.table.kind == "catalog"}
    listed = {f for files, _ in catalogs.values() for f in files}
    con = _THREAD_DATABASES.get(limits, [src.table for i, src in plan.sources.items() if i in catalogs],
                                listed).cursor()
    timer = None
    timed_out = threading.Event()
    try:
        for internal, src in plan.sources.items():
            kind = src.table.kind
            if kind == "catalog":
                files, schema = catalogs[internal]
                if files:
                    con.execute(f'CREATE TEMP VIEW "{internal}" AS SELECT * FROM read_parquet([{_sql_strings(files)}], '
                                "hive_partitioning = false)")
                    continue
                rel = schema.empty_table()
            elif kind == "obscore":
                rel = _obscore_arrow(src, state, viewer, access_base)
            elif kind == "tap_schema":
                rel = _tap_schema_arrow(src.table, tables)
            elif kind == "upload":
                rel = (uploads or {})[src.table.short_name.lower()]
            else:  # pragma: no cover - a TableDesc kind this engine does not know
                raise ServiceFault(f"table kind {kind!r} has no reader")
            con.register(internal, rel)
        cap = min(maxrec, limits.max_rows, max(1, limits.max_cells // max(1, len(plan.columns))))

        def stop() -> None:
            timed_out.set()
            con.interrupt()

        timer = threading.Timer(limits.seconds if deadline is None else max(0.0, deadline - time.monotonic()), stop)
        timer.daemon = True
        timer.start()
        try:
            sql = plan.sql if kernel or not plan.joins else plan.fallback_sql
            files = {i: f for i, (f, _) in catalogs.items() if f}
            # A catalogue the query reads once, through a positional join, may be read as its rows
            # that have pairs (posjoin), not from its files.
            restrict = {i: None for i in files if plan.sources[i].uses == 1}
            for join in plan.joins if kernel else ():
                pairs = candidate_pairs(con, join, files, restrict)
                if timed_out.is_set():
                    raise duckdb.InterruptException("time limit")
                if pairs is None:
                    sql = plan.fallback_sql
                    break
                con.register(join.name, pairs)
            else:
                for internal, rows in restrict.items():
                    if rows is not None:
                        con.execute(f'DROP VIEW "{internal}"')
                        con.register(internal, rows)
            result = con.sql(f"SELECT * FROM ({sql}) AS adql_query LIMIT {int(cap) + 1}").to_arrow_table()
        except duckdb.InterruptException:
            raise LimitFault(limits.overrun()) from None
        except duckdb.OutOfMemoryException:
            raise LimitFault(f"the query needs more than this service's {limits.memory} of working memory; "
                             "constrain it or select fewer columns") from None
        except duckdb.Error as exc:
            if timed_out.is_set():
                raise LimitFault(limits.overrun()) from None
            text = str(exc).split("\n")[0]
            if DOMAIN_ERROR in text:  # a math function's argument outside its domain: the translator's words
                raise UsageFault(text.split(DOMAIN_ERROR, 1)[1]) from None
            if "division by zero" in text.lower() or re.search(r"value -?(inf|nan) can't be cast", text):
                # MOD(5, 0) and 1/0 (an integer division, computed as a double then cast): DuckDB's words
                # told the user to wrap it in TRY(...) or change a setting, neither of them ADQL
                raise UsageFault("the query divides by zero (a division or MOD with a zero divisor); "
                                 "exclude those rows, e.g. WHERE x <> 0") from None
            for internal, src in plan.sources.items():
                text = text.replace(f'"{internal}"', src.table.name).replace(f"{internal}.", f"{src.table.name}.")
            raise UsageFault(f"the query failed: {text}") from None
    finally:
        if timer is not None:
            timer.cancel()
        con.close()
    overflow = result.num_rows > cap
    if overflow:
        result = result.slice(0, cap)
    if plan.top is not None and plan.top <= cap and result.num_rows <= plan.top:
        overflow = False
    return arrow_to_table(result, plan.columns), overflow
