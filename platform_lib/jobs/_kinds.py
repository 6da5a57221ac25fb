"""The kinds of work a background job can do, and how a kind name finds its function.

A kind is a function ``run(params: dict, ctx: JobContext) -> astropy Table | None`` plus an optional
``validate(params)`` called at submit time in the notebook, so bad parameters fail before anything is
started. Names resolve in this order: the built-in kinds below (``crossmatch``, ``nway``,
``skymap``), the ``astrohub.jobs`` entry-point group (where ``platform_lib.retrieval`` registers
``tap``, an asynchronous TAP query: this package never imports retrieval), then an importable
``"package.module:function"``.
Parameters are JSON: angles and areas are strings astropy parses (``"1 arcsec"``, ``"2 deg2"``),
tables are paths (relative to the user's home, or absolute; ``file#table`` names one table of a
file that holds several, see :func:`read_table`). Imports astropy; the science packages are
imported inside the kinds.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from astropy import units as u
from astropy.table import Table

from platform_lib.jobs._errors import JobError, UnknownJobKindError

__all__ = ["JobContext", "JobKind", "resolve_kind", "BUILTIN_KINDS", "OUTPUT_FORMATS", "quantity_param", "read_table",
           "split_table"]

#: How a job's table result can be written: one Parquet file, or a HATS catalogue (a folder, readable
#: with ``lsdb.open_catalog``; needs ``ra``/``dec``-like columns, see ``output_coords``).
OUTPUT_FORMATS = ("parquet", "hats")


class JobCancelled(BaseException):
    """Raised inside the runner when the job receives SIGTERM (BaseException: kinds should not catch it)."""


@dataclass
class JobContext:
    """What a running kind may use: progress reporting and paths in the user's storage."""

    job_id: str
    home: Path
    job_dir: Path
    report: Callable[[float, str], None]
    #: A new folder's path where the kind may write its result itself as a HATS collection, partition
    #: by partition, and return this path instead of a table (the runner then moves it into place).
    #: None when the job's result is Parquet, or HATS partitioned by columns the job names
    #: (``output_coords``).
    hats_output: Path | None = None
    #: The name of the result's catalogue (the output folder's name without ``.hats``).
    hats_name: str = "result"
    #: Where :meth:`phase` records a step: ``record(name, details)`` (None: nowhere).
    record: Callable[[str, dict[str, Any]], None] | None = None

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] with an optional message (written atomically, throttled)."""
        self.report(min(max(float(fraction), 0.0), 1.0), message)

    def phase(self, name: str, **details: Any) -> None:
        """Record a named step in the job's history (``Job.history()``), e.g. a TAP job's ``EXECUTING``;
        ``details`` (JSON values) are kept in the job's status (``Job.info()``)."""
        if self.record is not None:
            self.record(name, details)

    def resolve(self, path: str | os.PathLike) -> Path:
        """A path from the parameters: a storage address (``"group/survey:mine.fits"``) where its space keeps it,
        an absolute path as given, relative ones inside the user's home."""
        if storage_space(path) is not None:
            from platform_lib.settings import get_settings
            from platform_lib.storage import Storage

            return Path(Storage(get_settings(home=self.home)).local_path(str(path)))
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.home / p


#: A storage address's space (``platform_lib.storage``): ``home:x.fits``, ``group/survey:x.fits``...
_SPACE = re.compile(r"^(home|scratch|datasets|group/[^/:]+|workspace/[^/:]+):(?!//)")


def storage_space(value: Any) -> str | None:
    """The space of ``value`` when it is a storage address (``"group/survey:mine.fits"`` -> ``"group/survey"``),
    else None (a path, a catalogue name)."""
    found = _SPACE.match(value) if isinstance(value, str) else None
    return found.group(1) if found else None


@dataclass(frozen=True)
class JobKind:
    run: Callable[[dict[str, Any], JobContext], Table | None]
    validate: Callable[[dict[str, Any]], None] | None = None


def quantity_param(params: dict[str, Any], key: str, physical: str = "angle", *, required: bool = True):
    """``params[key]`` as a Quantity of the given physical type, with errors naming the key."""
    if key not in params or params[key] is None:
        if required:
            raise JobError(f"job parameter {key!r} is required (e.g. {key}='1 arcsec')", code="missing-param",
                           value=key)
        return None
    value = params[key]
    if isinstance(value, u.Quantity):
        q = value
    elif isinstance(value, dict) and {"value", "unit"} <= set(value):
        q = u.Quantity(value["value"], value["unit"])
    elif isinstance(value, str):
        try:
            q = u.Quantity(value)
        except (TypeError, ValueError) as exc:
            raise JobError(f"job parameter {key}={value!r} is not a quantity such as '1 arcsec'",
                           code="bad-param", value=value) from exc
    else:
        raise JobError(
            f"job parameter {key}={value!r} has no units: give a string such as '1 arcsec'",
            code="param-without-units",
            value=value,
        )
    if q.unit.physical_type != physical:
        raise JobError(f"job parameter {key}={value!r} is not a {physical}", code="bad-param", value=value)
    return q


#: How many table names an error about a file of several tables lists (VizieR VOTables hold hundreds).
_NAMES_LISTED = 20


def split_table(raw: str | os.PathLike) -> tuple[str, str | None]:
    """An input's file and the table it names: ``"viz.tsv#J_A_A_511_A56_table5"`` is
    ``("viz.tsv", "J_A_A_511_A56_table5")``; an input without ``#`` names no table.

    >>> split_table("downloads/viz.tsv#J_A_A_511_A56_table5"), split_table("stars.csv")
    (('downloads/viz.tsv', 'J_A_A_511_A56_table5'), ('stars.csv', None))
    """
    text = os.fspath(raw)
    if "#" not in text:
        return text, None
    file, _, table = text.rpartition("#")
    return file, table or None


def _several_tables(path: Path, table: str | None, names: list[str]) -> JobError:
    """The error for a file of several tables read without naming one, or naming one it does not hold."""
    shown = ", ".join(map(repr, names[:_NAMES_LISTED]))
    if len(names) > _NAMES_LISTED:
        shown += f" and {len(names) - _NAMES_LISTED} more"
    how = f"name one after '#', as {f'{path}#{names[0]}'!r}"
    if table is None:
        return JobError(f"input table {str(path)!r} holds {len(names)} tables ({shown}): {how}",
                        code="unreadable-input", value=str(path))
    return JobError(f"input table {str(path)!r} has no table {table!r}: it holds {len(names)} tables ({shown}); "
                    f"{how}", code="unknown-table", value=table)


def _read_votable(path: Path, table: str | None) -> Table:
    """One table of a VOTable: the only one, or the one whose ID or name is ``table``; its columns by FIELD name
    and its COOSYS (FK4 B1950...) kept in ``meta`` (:func:`platform_lib.catalogs.votable_tables`), so that a
    crossmatch, NWAY or sky-map job converts its positions to ICRS instead of taking them as ICRS."""
    from astropy.io.votable import parse

    from platform_lib.catalogs import votable_tables

    try:
        vot = parse(str(path))
    except Exception as exc:  # astropy raises many kinds for bad content
        raise JobError(f"input table {str(path)!r}: {exc}", code="unreadable-input", value=str(path)) from exc
    found = list(vot.iter_tables())
    if table is None and len(found) == 1:
        return votable_tables(vot, only=found[0])[0]
    if table is None and not found:
        raise JobError(f"input table {str(path)!r}: No table found", code="unreadable-input", value=str(path))
    for candidate in found:
        if table is not None and table in (candidate.ID, candidate.name):
            return votable_tables(vot, only=candidate)[0]
    raise _several_tables(path, table, [t.ID or t.name or str(i) for i, t in enumerate(found)])


def read_table(path: str | os.PathLike, table: str | None = None) -> Table:
    """Read an input table file: Parquet, FITS, ECSV and VOTable by their extension; text tables (``.csv``,
    ``.tsv``, ``.txt``, ``.dat``, ``.tbl``..., plain or gzipped) by their content, as catalogue ingest reads
    them (:func:`platform_lib.catalogs.read_text_table`: VizieR TSV, IPAC, ``;`` files with decimal commas...).

    A CDS data file (``table1.dat``) is read with the ReadMe beside it that describes it.
    One table of a file holding several (a VizieR download, TSV or VOTable) is named after ``#``
    (``"viz.tsv#J_A_A_511_A56_table5"``; a VOTable's table by its ID or name) or with ``table=``. A file of
    several tables read without a name, or with a name it does not hold (code ``unknown-table``), is a
    :class:`JobError` that lists the names it holds.
    """
    path = Path(path)
    if table is None and not path.exists():
        file, table = split_table(path)
        path = Path(file)
    if not path.exists():
        raise JobError(f"input table {str(path)!r} does not exist", code="missing-input", value=str(path))
    name = path.name.lower()
    fmt = None
    if name.endswith((".parquet", ".pq")):
        fmt = "parquet"
    elif name.endswith(".ecsv"):
        fmt = "ascii.ecsv"
    elif name.endswith((".vot", ".xml")):
        return _read_votable(path, table)
    else:
        from platform_lib.catalogs import TEXT_SUFFIXES, CatalogError, UnknownTable, read_text_table

        if name.endswith(TEXT_SUFFIXES):
            try:
                return read_text_table(path, table=table)
            except UnknownTable as exc:
                raise _several_tables(path, table, list(exc.tables)) from exc
            except CatalogError as exc:
                raise JobError(f"input table {str(path)!r}: {exc}", code="unreadable-input",
                               value=str(path)) from exc
    if table is not None:
        raise JobError(f"input table {str(path)!r}#{table!r}: only a text table (a VizieR TSV download) or a "
                       "VOTable is read by a table's name; give the file alone", code="bad-param", value=table)
    if name.startswith("readme") and fmt is None:
        raise JobError(f"input table {str(path)!r} is a CDS ReadMe, which describes a catalogue's tables: give one "
                       "of the data files it describes, beside it (e.g. 'table1.dat'), which is read with it",
                       code="unreadable-input", value=str(path))
    return Table.read(path, format=fmt) if fmt else Table.read(path)


def _as_table(result: Any) -> Table:
    if isinstance(result, Table):
        return result
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(result, pd.DataFrame):
        return Table.from_pandas(result)
    if hasattr(result, "compute"):
        return _as_table(result.compute())
    raise JobError(f"the job produced a {type(result).__name__}, not a table", code="bad-result")


# ------------------------------------------------------------------------------------------ kinds


#: A crossmatch job's parameters; every other keyword argument of ``crossmatch`` goes in ``options``.
CROSSMATCH_PARAMS = ("left", "right", "radius", "options")
#: Keyword arguments of ``crossmatch`` that the job sets itself, with what to use instead.
_JOB_SET_OPTIONS = {"progress": "see Job.progress", "client": "the job starts its own Dask cluster when it needs one",
                    "lazy": "a job computes its result", "output": "give submit(..., output=...)"}


def _crossmatch_options() -> list[str]:
    """The keyword arguments of :func:`platform_lib.crossmatch.crossmatch` a job's ``options`` may hold."""
    import inspect

    from platform_lib.crossmatch import crossmatch

    return [name for name, p in inspect.signature(crossmatch).parameters.items()
            if p.kind is p.KEYWORD_ONLY and name not in _JOB_SET_OPTIONS]


def _validate_crossmatch(params: dict[str, Any]) -> None:
    for key in ("left", "right"):
        if not params.get(key):
            raise JobError(f"crossmatch job needs {key!r}: a table path or catalogue name", code="missing-param")
    quantity_param(params, "radius")
    options = params.get("options", {})
    if not isinstance(options, dict):
        raise JobError(f"crossmatch job parameter 'options' must be a dict of crossmatch's keyword arguments, "
                       f"got {options!r}", code="bad-param", value=options)
    for key in _JOB_SET_OPTIONS:
        if key in options:
            raise JobError(f"crossmatch option {key!r} is set by the job ({_JOB_SET_OPTIONS[key]})",
                           code="bad-param", value=key)
    known = _crossmatch_options()
    unknown = [key for key in params if key not in CROSSMATCH_PARAMS]
    if unknown:  # silently ignored before: a left_coords given here did nothing
        moved = {key: params[key] for key in unknown if key in known}
        hint = f"; crossmatch's keyword arguments go in 'options': {{'options': {moved!r}}}" if moved else ""
        raise JobError(f"crossmatch job parameter(s) {', '.join(map(repr, unknown))} not known: a crossmatch job "
                       f"takes {', '.join(map(repr, CROSSMATCH_PARAMS))}{hint}", code="bad-param", value=unknown)
    unknown = [key for key in options if key not in known]
    if unknown:
        raise JobError(f"crossmatch option(s) {', '.join(map(repr, unknown))} not known; the options are "
                       f"crossmatch's keyword arguments: {', '.join(known)}", code="bad-param", value=unknown)


def _run_crossmatch(params: dict[str, Any], ctx: JobContext) -> Table | Path:
    from platform_lib import crossmatch as xm

    ctx.progress(0.02, "reading inputs")
    inputs = []
    for key in ("left", "right"):
        raw = params[key]
        p = ctx.resolve(raw)
        if p.is_dir():
            inputs.append(str(p))  # a HATS catalogue
        elif p.exists() or Path(split_table(raw)[0]).suffix:  # a file, or one table of it ('viz.tsv#table1')
            inputs.append(read_table(p))
        else:
            inputs.append(raw)  # a catalogue registry name
    options = dict(params.get("options", {}))
    for key, table in (("left_errors", inputs[0]), ("right_errors", inputs[1])):
        if key in options:
            options[key] = _errors_option(key, options[key], table)
    for key, physical in (("area", "solid angle"),):
        if key in options:
            options[key] = quantity_param(options, key, physical)
    if "density" in options:
        options["density"] = tuple(_density_param(d) for d in options["density"])
    # The columns the options name, read from the inputs (a HATS catalogue's Parquet schema): a wrong name fails
    # here, before a Dask cluster is started for the match (it failed after, the user waiting for the cluster).
    xm.check_columns(inputs[0], inputs[1], **options)
    ctx.progress(0.05, "matching")
    # The crossmatch reports its own progress (per HEALPix partition on Dask) into 5% .. 95%.
    options["progress"] = lambda fraction, message: ctx.progress(0.05 + 0.9 * fraction, message)
    if ctx.hats_output is not None and any(isinstance(side, str) for side in inputs):
        return _crossmatch_to_hats(inputs, quantity_param(params, "radius"), options, ctx)
    result = xm.crossmatch(inputs[0], inputs[1], quantity_param(params, "radius"), **options)
    ctx.progress(0.96, "writing result")
    return _as_table(result)


def _crossmatch_to_hats(inputs: list[Any], radius: u.Quantity, options: dict[str, Any],
                        ctx: JobContext) -> Path:
    """Catalogues on Dask into a HATS result at ``ctx.hats_output``, never whole in memory: the pairs
    are written partition by partition as they are matched (partitioned by the left row's position,
    the default of ``output_coords``), then given a 5 arcsec margin cache like the in-memory results."""
    from platform_lib import crossmatch as xm
    from platform_lib.catalogs import add_margin_cache
    from platform_lib.crossmatch import dask_client, input_bytes

    ctx.hats_output.mkdir()
    with dask_client(nbytes=input_bytes(*inputs)) as client:
        xm.crossmatch(inputs[0], inputs[1], radius, output=ctx.hats_output / ctx.hats_name, client=client,
                      **options)
        ctx.progress(0.96, "writing the margin cache")
        add_margin_cache(ctx.hats_output, ctx.hats_name, client)
    return ctx.hats_output


def _errors_option(key: str, value: Any, table: Any) -> Any:
    """``left_errors`` / ``right_errors`` from JSON: a quantity string, an error column (with a unit),
    or a list of three of those (an ellipse: semi-major, semi-minor, position angle)."""
    if not isinstance(value, (str, list, tuple)):
        raise JobError(f"crossmatch option {key}={value!r}: give a quantity such as '0.5 arcsec', a column "
                       "name, or a list of three (a, b, pa)", code="bad-param", value=value)
    if isinstance(value, (list, tuple)) and len(value) != 3:
        raise JobError(f"crossmatch option {key}={value!r}: an error ellipse is three values (a, b, pa)",
                       code="bad-param", value=value)
    spec = _errors_param(value)
    parts = spec if isinstance(spec, tuple) else (spec,)
    resolved = []
    for part in parts:
        if isinstance(part, str):
            if not isinstance(table, Table) or part not in table.colnames or table[part].unit is None:
                raise JobError(f"crossmatch option {key}: {part!r} is not a quantity nor a column with a unit "
                               "of the input table", code="bad-param", value=part)
            part = table[part].quantity
        resolved.append(part)
    return tuple(resolved) if isinstance(spec, tuple) else resolved[0]


def _density_param(value: Any) -> u.Quantity:
    try:
        q = u.Quantity(value)
    except (TypeError, ValueError) as exc:
        raise JobError(f"crossmatch option density: {value!r} is not a quantity such as '1e4 deg-2'",
                       code="bad-param", value=value) from exc
    if not q.unit.is_equivalent(u.sr**-1):
        raise JobError(f"crossmatch option density: {value!r} is not per solid angle", code="bad-param", value=value)
    return q


def _errors_param(spec: Any) -> Any:
    """Error spec from JSON: a column name, a quantity string, or three of either (an ellipse)."""
    if isinstance(spec, (list, tuple)) and len(spec) == 3:
        return tuple(_errors_param(s) for s in spec)
    if isinstance(spec, str):
        try:
            q = u.Quantity(spec)
        except (TypeError, ValueError):
            return spec  # a column name
        return q
    return spec


def _validate_nway(params: dict[str, Any]) -> None:
    cats = params.get("catalogs")
    if not isinstance(cats, list) or len(cats) < 2:
        raise JobError("nway job needs 'catalogs': a list of two or more table paths", code="missing-param")
    if not isinstance(params.get("errors"), list) or len(params["errors"]) != len(cats):
        raise JobError("nway job needs 'errors': one entry per catalogue", code="missing-param")
    quantity_param(params, "radius")
    quantity_param(params, "area", "solid angle", required=False)


def _run_nway(params: dict[str, Any], ctx: JobContext) -> Table:
    from platform_lib.crossmatch import nway_match

    ctx.progress(0.02, "reading inputs")
    cats = [read_table(ctx.resolve(p)) for p in params["catalogs"]]
    ctx.progress(0.3, "matching")
    return nway_match(
        *cats,
        radius=quantity_param(params, "radius"),
        errors=[_errors_param(e) for e in params["errors"]],
        area=quantity_param(params, "area", "solid angle", required=False),
        completeness=params.get("completeness", 1.0),
        names=params.get("names"),
        lon=params.get("lon"),
        lat=params.get("lat"),
    )


def _validate_skymap(params: dict[str, Any]) -> None:
    for key in ("catalog", "skymap"):
        if not params.get(key):
            raise JobError(f"skymap job needs {key!r} (a path)", code="missing-param")


def _run_skymap(params: dict[str, Any], ctx: JobContext) -> Table:
    from platform_lib.skymap import match_skymap, read_skymap

    ctx.progress(0.02, "reading sky map")
    m = read_skymap(ctx.resolve(params["skymap"]), normalize=bool(params.get("normalize", False)))
    ctx.progress(0.3, "reading catalogue")
    cat = read_table(ctx.resolve(params["catalog"]))
    ctx.progress(0.6, "matching")
    out = match_skymap(cat, m, levels=params.get("levels", (0.5, 0.9)), lon=params.get("lon"),
                       lat=params.get("lat"), distance=params.get("distance"))
    keep = params.get("keep_columns", [])
    for col in keep:
        out[col] = cat[col]
    return out


BUILTIN_KINDS: dict[str, JobKind] = {
    "crossmatch": JobKind(_run_crossmatch, _validate_crossmatch),
    "nway": JobKind(_run_nway, _validate_nway),
    "skymap": JobKind(_run_skymap, _validate_skymap),
}


def resolve_kind(name: str) -> JobKind:
    """The :class:`JobKind` for ``name`` (built-in, entry point ``astrohub.jobs``, or ``module:function``)."""
    if name in BUILTIN_KINDS:
        return BUILTIN_KINDS[name]
    for ep in entry_points(group="astrohub.jobs"):
        if ep.name == name:
            obj = ep.load()
            return obj if isinstance(obj, JobKind) else JobKind(obj)
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownJobKindError(f"job kind {name!r}: cannot import {attr!r} from {module!r} ({exc})",
                                      value=name) from exc
        return obj if isinstance(obj, JobKind) else JobKind(obj)
    registered = sorted(ep.name for ep in entry_points(group="astrohub.jobs"))
    raise UnknownJobKindError(
        f"unknown job kind {name!r}; built-in kinds are {', '.join(sorted(BUILTIN_KINDS))}"
        + (f", registered kinds (entry points 'astrohub.jobs') {', '.join(registered)}" if registered else
           " (no kinds registered as 'astrohub.jobs' entry points: is the astrohub package installed?)")
        + ", or give 'package.module:function'",
        value=name,
    )
