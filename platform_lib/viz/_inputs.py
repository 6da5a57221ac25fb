"""What the ``show_*``/``plot_*`` calls accept, turned into plain arrays: positions from tables, footprints
from ``s_region``, HEALPix maps, MOCs; each bad input becomes a :class:`VizError` that says what to pass.

Pure: may import numpy, astropy, this package's errors (and their root, ``platform_lib.errors``), for rows left out
crossmatch's warning of them (``platform_lib.crossmatch.warn_dropped``, on first use), for
position columns ``platform_lib.catalogs``' readers of them (``position_degrees``, on first use), and for one
position (a target, a centre) :mod:`platform_lib.skyposition`, which looks a name up in the archive, and for a
field of view :mod:`platform_lib.skyangle`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from platform_lib.skyangle import sky_angle
from platform_lib.skyposition import PositionError
from platform_lib.skyposition import sky_position as _read_position
from platform_lib.viz._errors import VizError

__all__ = ["Positions", "color_values", "find_coordinates", "table_positions", "positions", "parse_s_region", "footprints", "healpix_map", "is_job",
           "job_result", "numeric_column", "result_table", "scaled", "sky_position", "field_of_view", "warn_left_out"]

@dataclass(frozen=True)
class Positions:
    """Positions in degrees (ICRS) and the row of each in the source table."""

    ra: np.ndarray
    dec: np.ndarray
    rows: np.ndarray
    ra_column: str
    dec_column: str


def is_job(obj) -> bool:
    """Whether ``obj`` is a background job (:class:`platform_lib.jobs.Job`: ``status()`` and ``result()``)."""
    return hasattr(obj, "result") and hasattr(obj, "status") and callable(getattr(obj, "result"))


def job_result(job):
    """A finished job's result table; a job still running, failed or cancelled is a :class:`VizError`
    carrying the job's own message (its state, progress or error)."""
    from platform_lib.errors import PlatformError

    try:
        result = job.result()
    except PlatformError as exc:
        raise VizError(f"nothing to show yet: {exc}" if getattr(exc, "state", "") not in ("failed", "cancelled")
                       else f"nothing to show: {exc}", value=getattr(exc, "state", None)) from exc
    # An own copy of the columns, not the views into the Parquet reader's Arrow buffers: drawing the latter
    # in the widget, after lsdb and a HiPS build had run in the same process, crashed the interpreter
    # (a segmentation fault in a later garbage collection; cause not found, see the i18 report).
    return result.copy(copy_data=True) if hasattr(result, "copy") and hasattr(result, "colnames") else result


def result_table(result):
    """A pyvo result as an astropy Table with its COOSYS kept in ``meta``
    (:func:`platform_lib.catalogs.result_table`), so that a result in FK4 B1950 is drawn where its sources are."""
    from platform_lib.catalogs import result_table as table_of

    return table_of(result)


def _names(table) -> list[str]:
    if hasattr(table, "colnames"):
        return list(table.colnames)
    if hasattr(table, "columns"):
        return [str(c) for c in table.columns]
    raise VizError(f"expected a table (astropy Table or pandas DataFrame), got {type(table).__name__}",
                   value=type(table).__name__)


def table_positions(table, ra: str | None = None, dec: str | None = None):
    """:func:`platform_lib.catalogs.sky_positions` of ``table``, its errors as :class:`VizError`."""
    from platform_lib.catalogs import CatalogError, sky_positions

    from astropy.coordinates import SkyCoord

    if not isinstance(table, SkyCoord):
        _names(table)  # a VizError for what is no table
    try:
        return sky_positions(table, ra, dec, label="the table's positions")
    except CatalogError as exc:
        if getattr(exc, "code", "") == "missing-column" and ra is None and dec is None:
            raise VizError(f"no sky coordinates found in the table: {exc} with ra='...', dec='...'",
                           value=exc.value) from exc
        raise VizError(f"{exc}; or pass other columns with ra=, dec=", value=getattr(exc, "value", None)) from exc


def find_coordinates(table, ra: str | None = None, dec: str | None = None) -> tuple[str, str]:
    """The (ra, dec) column names of ``table``: those given, else found as catalogue ingest finds them
    (:func:`platform_lib.catalogs.sky_positions`: UCDs ``pos.eq.ra``/``pos.eq.dec``, the usual names ``ra``/``dec``,
    ``RAJ2000``/``DEJ2000``..., sexagesimal text, CDS's ``RAh``... parts, Galactic ``GLON``/``GLAT``).

    Examples
    --------
    >>> from astropy.table import Table
    >>> find_coordinates(Table({"RAJ2000": [1.0], "DEJ2000": [2.0], "Vmag": [3.0]}))
    ('RAJ2000', 'DEJ2000')
    """
    found = table_positions(table, ra, dec)
    return found.lon_column, found.lat_column


def positions(source, ra: str | None = None, dec: str | None = None) -> Positions:
    """Positions of ``source`` in ICRS: a ``SkyCoord``, an astropy ``Table``, a pandas ``DataFrame`` or a pyvo
    result, found, read and converted (Galactic, FK4 B1950...) as catalogue ingest does
    (:func:`platform_lib.catalogs.sky_positions`).

    Rows without a finite position are left out (``rows`` keeps the original row numbers).
    Raises :class:`VizError` for an empty input or one without recognisable coordinates.
    """
    from astropy.coordinates import SkyCoord

    if hasattr(source, "to_table") and not hasattr(source, "colnames") and not isinstance(source, SkyCoord):
        source = result_table(source)  # pyvo DALResults (a SkyCoord has to_table too: its own frame's columns)
    found = table_positions(source, ra, dec)
    ra_v, dec_v, ra_name, dec_name = found.ra, found.dec, found.lon_column, found.lat_column
    if ra_v.size == 0:
        raise VizError("the result is empty: there is nothing to show (check the query's region and filters)", value=0)
    good = np.isfinite(ra_v) & np.isfinite(dec_v) & (np.abs(dec_v) <= 90)
    if not good.any():
        raise VizError(f"none of the {ra_v.size} rows has a finite position in {ra_name}/{dec_name}", value=ra_v.size)
    rows = np.flatnonzero(good)
    return Positions(ra_v[good] % 360.0, dec_v[good], rows, ra_name, dec_name)


def warn_left_out(total: int, kept: np.ndarray, columns, shown_in: str,
                  trouble: str = "no position (NaN, missing or infinite coordinates, or a declination beyond ±90°)"):
    """Warn that the rows of a table of ``total`` rows not in ``kept`` (the row numbers drawn) were left out of
    ``shown_in`` ("the figure"), naming how many, the ``columns`` they lack and which rows: crossmatch's
    :class:`~platform_lib.crossmatch.DroppedRowsWarning`, in its words. They were left out in silence."""
    if kept.size >= total:
        return
    from platform_lib.crossmatch import warn_dropped
    from platform_lib.errors import stacklevel_outside

    missing = np.setdiff1d(np.arange(total), kept)
    warn_dropped(int(missing.size), "", tuple(columns), missing, stacklevel_outside(__file__) + 1,
                 left_out_of=shown_in, trouble=trouble)


def sky_position(center, what: str = "center"):
    """``center`` as a ``SkyCoord``, read as every search of platform_lib reads a position
    (:func:`platform_lib.skyposition.sky_position`: a SkyCoord, text such as ``"05h35m17s -05d23m28s"`` or
    ``"83.82 -5.39"``, or a name the platform resolves offline: ``"M45"``, ``"Andromeda"``, ``"Sirius"``;
    never Sesame); :class:`VizError` for anything else, naming the option (``what``) and the forms that work.

    Examples
    --------
    >>> float(round(sky_position("03h47m +24d07m").ra.deg, 6))
    56.75
    """
    try:
        return _read_position(center, what)
    except (PositionError, TypeError) as exc:
        raise VizError(str(exc), value=str(center)) from None


#: The widest a view (or a zoomed figure's half-width) may be, in degrees: the whole sky.
MOST_DEGREES = 360.0


def field_of_view(fov, what: str = "fov") -> float:
    """A view's width in degrees from ``fov``: degrees as a number (ipyaladin's own form), an angle Quantity
    (``2 * u.arcmin``) or text with its unit (``"2 deg"``: :func:`platform_lib.skyangle.sky_angle`); a
    :class:`VizError` naming ``what`` for anything else, or for a width outside (0, 360] degrees (``fov=1e300``
    was taken, and the view drew nothing one could read).

    >>> field_of_view("30 arcmin")
    0.5
    """
    import astropy.units as u

    if isinstance(fov, (int, float, np.number)) and not isinstance(fov, bool):
        deg = float(fov)
    else:
        try:
            deg = float(sky_angle(fov, what).to_value(u.deg))
        except u.UnitConversionError:  # a Quantity of another kind (metres)
            raise VizError(f"{what}={fov!r} is not an angle: give degrees (2), 2 * u.arcmin or '2 arcmin'",
                           value=str(fov)) from None
        except (TypeError, ValueError) as exc:  # sky_angle's own message: the text, and the forms that work
            raise VizError(str(exc), value=str(fov)) from None
    if not np.isfinite(deg) or not 0 < deg <= MOST_DEGREES:
        role = " (the width of the view)" if what == "fov" else ""
        raise VizError(f"{what}={fov!r} must be an angle more than 0 and at most {MOST_DEGREES:g} deg{role}, "
                       f"{MOST_DEGREES:g} being the whole sky: say 60 (degrees), '2 deg' or '30 arcmin'", value=str(fov))
    return deg


def numeric_column(table, name: str, what: str) -> np.ndarray:
    """The column ``name`` of ``table`` as floats (null values NaN), for colouring or sizing by it (``what``:
    the option, ``"color"`` or ``"size"``). A missing column, or one of text, is a :class:`VizError` naming the
    numeric columns there are."""
    names = _names(table)
    col = table[name] if name in names else None
    kind = getattr(getattr(col, "dtype", None), "kind", "O")
    if col is None or kind not in "iufb":
        numeric = [n for n in names if getattr(getattr(table[n], "dtype", None), "kind", "O") in "iuf"]
        problem = "is not a column of the table" if col is None else f"holds {col.dtype} values (text), not numbers"
        raise VizError(f"{what}={name!r} {problem}: {what} by one of its numeric columns {numeric[:20]}", value=name)
    values = np.asarray(col, dtype=np.float64)
    mask = getattr(col, "mask", None)
    if mask is not None and np.ndim(mask) == 1:
        values = np.where(np.asarray(mask, dtype=bool), np.nan, values)
    return values


def text_column(table, name: str, what: str) -> np.ndarray:
    """The column ``name`` of ``table`` as text (``""`` where null), for naming points by it (``what``: the option,
    ``"label"``). A missing column is a :class:`VizError` naming the columns there are."""
    names = _names(table) if hasattr(table, "colnames") or hasattr(table, "columns") else []
    if name not in names:
        raise VizError(f"{what}={name!r} is not a column of the table: {what} by one of {names[:20]}", value=name)
    col = table[name]
    mask = np.ma.getmaskarray(col) if np.ma.isMaskedArray(col) else np.zeros(len(col), bool)
    return np.array(["" if bad else str(v) for v, bad in zip(np.ma.getdata(col) if np.ma.isMaskedArray(col) else
                                                             list(col), mask)], dtype=object)


def color_values(table, color: str | None, *, css: bool = False) -> np.ndarray | None:
    """The values to colour ``table``'s sources by when ``color`` names one of its columns (floats, as
    :func:`numeric_column` reads them), ``None`` when ``color`` is a colour (or ``None``): a matplotlib colour,
    and with ``css`` the viewer's ``rgb(...)``/``hsl(...)`` too. Anything else is a :class:`VizError` naming the
    table's columns; a column of text is one naming its numeric columns."""
    if color is None:
        return None
    names = _names(table) if hasattr(table, "colnames") or hasattr(table, "columns") else []
    if color in names:
        return numeric_column(table, color, "color")
    from matplotlib.colors import is_color_like

    if is_color_like(color) or (css and str(color).startswith(("rgb", "hsl"))):
        return None
    raise VizError(f"color={color!r} is neither a colour nor a column of the table: pass a colour "
                   f"('yellow', '#ff8800') or one of its columns {names[:20]}", value=color)


def scaled(values: np.ndarray, low: float, high: float, reverse: bool = False) -> np.ndarray:
    """``values`` mapped linearly onto ``low``..``high`` between their 2nd and 98th percentiles (clipped;
    ``reverse``: the smallest value gets ``high``, as the brightest magnitude); NaN stays NaN."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full(values.shape, np.nan)
    lo, hi = np.percentile(finite, [2, 98])
    t = np.clip((values - lo) / (hi - lo), 0, 1) if hi > lo else np.where(np.isfinite(values), 0.5, np.nan)
    return low + (1 - t if reverse else t) * (high - low)


def is_magnitude(table, name: str) -> bool:
    """Whether the column ``name`` is a magnitude (unit ``mag``, or named like one): smaller is brighter."""
    unit = str(getattr(table[name], "unit", None) or "")
    low = name.lower()
    return unit.startswith("mag") or ("mag" in low and not any(bad in low for bad in ("err", "sig", "flag", "e_")))


def parse_s_region(text) -> np.ndarray:
    """The outline (N x 2 array of ICRS ra, dec degrees) of an ObsCore ``s_region`` of one shape
    (:func:`platform_lib.imageindex.sregion.s_region_vertices`); raises :class:`VizError` for anything else (a
    union is refused by the reader's own rule, :meth:`~platform_lib.imageindex.sregion.SRegion.vertices`).

    Examples
    --------
    >>> parse_s_region("Polygon ICRS 10 20 11 20 11 21").shape
    (3, 2)
    """
    from platform_lib.imageindex.sregion import read_s_region

    with _as_viz_error(text):
        return read_s_region(text).vertices()


@contextlib.contextmanager
def _as_viz_error(text):
    """The reader's refusal of the ``s_region`` ``text`` (a ``ValueError``, naming it) as a :class:`VizError`."""
    try:
        yield
    except ValueError as exc:
        raise VizError(str(exc), value=str(text)[:80]) from None


def _read_s_region(text):
    """The ``s_region`` read (:func:`platform_lib.imageindex.sregion.read_s_region`: its shapes in ICRS); raises
    :class:`VizError` for text that is no footprint."""
    from platform_lib.imageindex.sregion import read_s_region

    with _as_viz_error(text):
        return read_s_region(text)


def footprints(result, column: str = "s_region") -> tuple[list[np.ndarray], np.ndarray]:
    """Each footprint polygon of an SIA/ObsCore result (``s_region``; a row's union gives one polygon a shape, a
    circle is drawn as a polygon), and the row number of each."""
    if hasattr(result, "to_table") and not hasattr(result, "colnames"):
        result = result.to_table()
    names = _names(result)
    if column not in names:
        raise VizError(f"the result has no {column!r} column (its columns: {names[:20]}): footprints come from "
                       "an SIA v2 / ObsCore result's s_region", value=column)
    if len(result) == 0:
        raise VizError("the result is empty: no images to draw (widen the search region or time range)", value=0)
    polys, rows = [], []
    for i, value in enumerate(result[column]):
        if value is None or (isinstance(value, float) and np.isnan(value)) or np.ma.is_masked(value) or str(value).strip() == "":
            continue
        for shape in _read_s_region(value).shapes:
            polys.append(shape.vertices())
            rows.append(i)
    if not polys:
        raise VizError(f"no row of the result has a {column}", value=column)
    return polys, np.asarray(rows)


def healpix_map(values, *, nest: bool = True) -> tuple[np.ndarray, int]:
    """A flat HEALPix map as a nested array and its order; ``values`` of length ``12 * 4**order``.
    A ``platform_lib.skymap.SkyMap`` is flattened to its finest order. Raises :class:`VizError` otherwise."""
    if hasattr(values, "uniq") and hasattr(values, "probdensity"):
        flat = values.flatten(values.max_order)
        order = flat.max_order
        prob = np.empty(12 * 4**order)
        prob[flat.ipix] = flat.probability
        return prob, order
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise VizError(f"a HEALPix map is an array of numbers, one per pixel; got {type(values).__name__} "
                       f"that is not ({exc})", value=type(values).__name__) from None
    if arr.ndim != 1:
        raise VizError(f"a HEALPix map is one-dimensional; got shape {arr.shape}", value=arr.shape)
    npix = arr.size
    order = np.log(npix / 12) / np.log(4) if npix >= 12 else -1
    if order < 0 or order != int(order):
        raise VizError(f"a HEALPix map has 12 * 4**order values (12, 48, 192, ...); got {npix}. "
                       "Pass the map's probability per pixel (for a multi-order map, the SkyMap itself)", value=npix)
    order = int(order)
    if not np.isfinite(arr).any():
        raise VizError(f"the HEALPix map's {npix} values are all NaN or infinite: there is nothing to draw "
                       "(blank pixels are NaN; a map needs some values)", value=npix)
    if not nest:
        from astropy_healpix import HEALPix

        hp = HEALPix(nside=2**order, order="nested")
        ring_index = hp.nested_to_ring(np.arange(npix))
        arr = arr[ring_index]
    return arr, order
