"""HiPS builders: catalogue HiPS (level of detail), HEALPix density maps and image HiPS, and their validation.

Pure planning (:func:`plan_catalog_orders`, :func:`density_map`) is separate from writing
(:func:`write_catalog_hips`, :func:`write_density_hips`, :func:`write_image_hips`), so the plan is
unit-testable on arrays. Every writer builds the HiPS in a temporary sibling folder and renames it
into place, so a failure leaves the previous HiPS intact. May import numpy, pandas, pyarrow,
astropy, cdshealpix, reproject (images only), this package's errors and ``platform_lib.atomic``.

The catalogue layout follows HiPS 1.0 (IVOA) as CDS's tools write it and Aladin Lite reads it:
``properties``, ``metadata.xml`` (a VOTable of the columns, with ``pos.eq.ra``/``pos.eq.dec`` UCDs),
``Norder1/Allsky.tsv``, ``Norder2/Allsky.tsv`` and ``Norder<k>/Dir<d>/Npix<p>.tsv`` (tab-separated, a
line of column names, a line of dashes, then rows). At each order ``k`` a tile holds the ``n_per_tile``
most representative sources of its cell not already shown at a lower order (brightest first when a
magnitude is known, else a fixed random sample); the last order holds all the rest, so the tiles of all
orders together hold every source exactly once.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from platform_lib.atomic import replace_folder
from platform_lib.pathlimits import BLANK, NOT_A_PATH, path_problem, shown
from platform_lib.viz._errors import HipsCancelled, HipsError

__all__ = [
    "BUILDING",
    "CatalogHipsSpec",
    "FIRST_PART_ORDER",
    "HipsReport",
    "ALLSKY_MAX_ORDER",
    "HIPS_ORDER_MIN",
    "hips_name",
    "density_map",
    "plan_catalog_orders",
    "read_properties",
    "tile_path",
    "validate_hips",
    "catalog_hips_parts",
    "write_catalog_hips",
    "write_density_hips",
    "write_image_hips",
]

#: The first order of a catalogue HiPS: Aladin Lite reads orders 1 and 2 from ``Allsky.tsv``, tiles from 3.
HIPS_ORDER_MIN = 1
#: The deepest order Aladin Lite reads from ``Allsky.tsv``: both Allsky files are read whole at the first view,
#: whatever its field, so these orders hold ``n_per_tile`` per tile and are never the last order that takes
#: all the rows left (that made Hipparcos's ``Norder2/Allsky.tsv`` all but 9,600 rows: 9.1 MB at first view).
ALLSKY_MAX_ORDER = 2
#: The HEALPix order of the ``_healpix_29`` index HATS catalogues carry.
HEALPIX_29 = 29


@dataclass(frozen=True)
class CatalogHipsSpec:
    """How a catalogue HiPS is cut.

    ``n_per_tile`` sources per tile and order (CDS uses a few hundred); ``max_order`` caps the deepest
    order (its tiles hold every source left); an order where no cell holds more than ``last_factor *
    n_per_tile`` of the sources left takes them all and is the last (from order 3: orders 1 and 2 are
    the ``Allsky.tsv`` files a viewer reads whole); ``title`` and ``creator_did`` go in ``properties``.
    """

    title: str
    creator_did: str = ""
    n_per_tile: int = 200
    max_order: int = 10
    last_factor: int = 8

    def __post_init__(self) -> None:
        if self.n_per_tile < 1:
            raise HipsError(f"n_per_tile must be at least 1, got {self.n_per_tile}", value=self.n_per_tile)
        if not HIPS_ORDER_MIN <= self.max_order <= 13:
            raise HipsError(f"max_order must be between {HIPS_ORDER_MIN} and 13, got {self.max_order}",
                            value=self.max_order)


@dataclass(frozen=True)
class HipsReport:
    """What :func:`validate_hips` found: the kind, the orders, the tile count and, for catalogues, the rows."""

    path: Path
    dataproduct_type: str
    orders: tuple[int, ...]
    tiles: int
    rows: int


def hips_name(table_name: str) -> str:
    """The HiPS folder name of a registry table, as the archive serves it: ``I/311/hip2`` -> ``I_311_hip2``."""
    import re

    if not isinstance(table_name, str):  # re's "expected string or bytes-like object, got 'int'" before
        raise TypeError(f"table_name must be a registry table's name as text, such as 'I/311/hip2', "
                        f"not {type(table_name).__name__} {table_name!r:.60}")
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", table_name).strip("_") or "catalogue"


def tile_path(order: int, pixel: int, ext: str) -> str:
    """The path of a tile inside a HiPS: ``Norder<k>/Dir<d>/Npix<p>.<ext>``, ``d = p // 10000 * 10000``."""
    return f"Norder{order}/Dir{pixel // 10000 * 10000}/Npix{pixel}.{ext}"


# -- planning (pure) -----------------------------------------------------------------------------------


def healpix29(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """The nested HEALPix order-29 index (HATS's ``_healpix_29``) of each position, as int64."""
    import astropy.units as u
    import cdshealpix.nested as hp

    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    return hp.lonlat_to_healpix((ra % 360.0) * u.deg, dec * u.deg, HEALPIX_29).astype(np.int64)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijective 64-bit mix of each value (SplitMix64's finaliser): a fixed pseudo-random key per row."""
    z = np.asarray(x).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def priority_key(magnitude: np.ndarray | None, ipix29: np.ndarray | None) -> np.ndarray:
    """Each row's sort key (smallest shown first, ties by row): the magnitude (brightest first, missing
    values last) or, with none, a fixed pseudo-random mix of the row's ``_healpix_29`` (a representative
    sample that needs no other row, so each HATS partition computes its own)."""
    if magnitude is not None:
        mag = np.asarray(magnitude, dtype=np.float64)
        return np.where(np.isfinite(mag), mag, np.inf)
    return _splitmix64(ipix29)


def priority_rank(magnitude: np.ndarray | None, n: int, seed: int = 0, ipix29: np.ndarray | None = None) -> np.ndarray:
    """Each row's rank (0 = shown first): by ``magnitude`` (brightest first, missing values last,
    ties by row); with no magnitude, by :func:`priority_key` of ``ipix29`` when given, else a fixed
    random permutation (a representative sample)."""
    if magnitude is None and ipix29 is None:
        return np.random.default_rng(seed).permutation(n).astype(np.int64)
    order = np.argsort(priority_key(magnitude, ipix29), kind="stable")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    return rank


def plan_catalog_orders(ipix29: np.ndarray, rank: np.ndarray, n_per_tile: int, max_order: int,
                        last_factor: int | None = None) -> np.ndarray:
    """The HiPS order (``HIPS_ORDER_MIN`` to ``max_order``) each row is shown from.

    At each order, each tile takes the ``n_per_tile`` rows of lowest ``rank`` among those its cell
    still holds; ``max_order`` takes all the rest. Stops as soon as every row is placed. With
    ``last_factor``, an order deeper than ``ALLSKY_MAX_ORDER`` whose fullest cell holds at most
    ``last_factor * n_per_tile`` of the rows left takes them all and is the last (fewer, fuller tiles
    instead of a deep order of sparse ones; the Allsky orders, read whole by a viewer, stay small).

    Examples
    --------
    >>> import numpy as np
    >>> ipix = np.zeros(5, np.int64)                      # five rows in one cell
    >>> plan_catalog_orders(ipix, np.arange(5), 2, 3).tolist()
    [1, 1, 2, 2, 3]
    """
    ipix29 = np.asarray(ipix29, dtype=np.int64)
    n = ipix29.size
    order_of = np.zeros(n, np.int8)
    remaining = np.arange(n, dtype=np.int64)
    for k in range(HIPS_ORDER_MIN, max_order + 1):
        if remaining.size == 0:
            break
        if k == max_order:
            order_of[remaining] = k
            break
        tile = ipix29[remaining] >> (2 * (HEALPIX_29 - k))
        key = tile * np.int64(max(n, 1)) + rank[remaining]
        srt = np.argsort(key)
        t_sorted = tile[srt]
        first = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]])
        counts = np.diff(np.r_[first, t_sorted.size])
        if last_factor is not None and k > ALLSKY_MAX_ORDER and counts.max() <= last_factor * n_per_tile:
            order_of[remaining] = k
            break
        pos = np.arange(t_sorted.size) - np.repeat(first, counts)
        chosen = pos < n_per_tile
        order_of[remaining[srt[chosen]]] = k
        remaining = remaining[srt[~chosen]]
    return order_of


def density_map(ipix29: np.ndarray, order: int) -> np.ndarray:
    """Source counts per nested HEALPix pixel at ``order`` (length ``12 * 4**order``)."""
    if not 0 <= order <= 13:
        raise HipsError(f"density map order must be between 0 and 13, got {order}", value=order)
    cells = np.asarray(ipix29, dtype=np.int64) >> (2 * (HEALPIX_29 - order))
    return np.bincount(cells, minlength=12 * 4**order).astype(np.float64)


# -- writing -------------------------------------------------------------------------------------------


def checkpoint(cancel) -> None:
    """Raise :class:`HipsCancelled` if ``cancel`` (a ``threading.Event``, or None) is set."""
    if cancel is not None and cancel.is_set():
        raise HipsCancelled("HiPS build cancelled before it finished; nothing was written")


def _checked(items, cancel):
    """``items``, with a :func:`checkpoint` before each (reproject's ``progress_bar`` hook)."""
    for item in items:
        checkpoint(cancel)
        yield item


class _AtomicDir:
    """A temporary sibling of ``dest``; :meth:`commit` renames it over ``dest`` (the old one removed after)."""

    def __init__(self, dest: Path) -> None:
        self.dest = Path(dest)
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.", dir=self.dest.parent))

    def commit(self) -> Path:
        os.chmod(self.tmp, 0o755)
        replace_folder(self.tmp, self.dest)
        return self.dest

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "_AtomicDir":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def _write_properties(path: Path, props: dict[str, object]) -> None:
    width = max(len(k) for k in props)
    text = "".join(f"{k:<{width}} = {v}\n" for k, v in props.items())
    path.write_text(text, encoding="utf-8")


def given_hips_path(path, what: str = "path", example: str = "~/hips/mine", noun: str = "a HiPS folder's path") -> Path:
    """``path`` (a str or path-like, ``~`` expanded) as a Path, or the :class:`HipsError` naming the problem
    :func:`~platform_lib.pathlimits.path_problem` finds (not a path, empty: the current folder, or too long)."""
    text, problem = path_problem(path, as_used=os.path.expanduser)
    if problem is NOT_A_PATH:
        raise HipsError(f"{what} must be {noun} (a str or pathlib.Path, e.g. {example!r}), got "
                        f"{type(path).__name__} {path!r:.60}", value=repr(path)[:80])
    if problem is BLANK:
        raise HipsError(f"{what} is empty: give {noun}, e.g. {example!r}", value=text)
    if problem:
        raise HipsError(f"{what} {shown(text)!r} {problem}: give {noun}, e.g. {example!r}", value=shown(text))
    return Path(text).expanduser()


def read_properties(path: str | Path) -> dict[str, str]:
    """The ``key = value`` pairs of a HiPS ``properties`` file (``#`` lines are comments)."""
    out: dict[str, str] = {}
    path = given_hips_path(path, "path", "~/hips/mine/properties", "a HiPS properties file's path")
    if path.is_dir():  # read_properties('') read the current folder: "Is a directory: '.'"
        raise HipsError(f"{str(path)!r} is a folder: give its properties file, {str(path / 'properties')!r}",
                        value=str(path))
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip()
    return out


def _release_date() -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())


def _clean_frame(frame, ra: str, dec: str):
    """The columns as an Arrow table that writes as plain TSV: strings without tabs, line breaks or quotes.

    Column by column (Arrow's own conversion of each, as ``pa.Table.from_pandas`` makes it), never through a new
    DataFrame, which copied every column of a 10^6-row table into one block first."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            text = pa.Array.from_pandas(col.astype("string"))
            out[str(name)] = pc.replace_substring_regex(text, pattern=r'[\t\r\n"]', replacement=" ")
        else:
            out[str(name)] = pa.Array.from_pandas(col)
    return pa.table(out)


def _tsv_lines(table) -> list[bytes]:
    """Every row of an Arrow table as one TSV line (no header), by Arrow's C++ CSV writer."""
    import pyarrow.csv as pacsv

    if table.num_rows == 0:
        return []
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"))
    data = buf.getvalue()
    if data.endswith(b"\n"):
        data = data[:-1]
    return data.split(b"\n")


def _metadata_votable(path: Path, frame, ra: str, dec: str, units: dict[str, str], ucds: dict[str, str]) -> None:
    """``metadata.xml``: an empty VOTable with the tile columns; Aladin Lite finds positions by their UCD."""
    from astropy.io.votable.tree import Field, Resource, TableElement, VOTableFile

    vot = VOTableFile()
    res = Resource()
    vot.resources.append(res)
    table = TableElement(vot)
    res.tables.append(table)
    for name in frame.columns:
        kind = frame[name].dtype.kind
        datatype, arraysize = {"f": ("double", None), "i": ("long", None), "u": ("long", None),
                               "b": ("boolean", None)}.get(kind, ("char", "*"))
        ucd = ucds.get(name) or ("pos.eq.ra;meta.main" if name == ra else "pos.eq.dec;meta.main" if name == dec else None)
        table.fields.append(Field(vot, name=str(name), ID=None, datatype=datatype, arraysize=arraysize,
                                  unit=units.get(name) or None, ucd=ucd))
    table.create_arrays(0)
    vot.to_xml(str(path))


def write_catalog_hips(
    frame,
    dest: str | Path,
    spec: CatalogHipsSpec,
    *,
    ra: str,
    dec: str,
    magnitude: str | None = None,
    units: dict[str, str] | None = None,
    ucds: dict[str, str] | None = None,
    ipix29: np.ndarray | None = None,
    density_order: int | None = 7,
    cancel=None,
) -> Path:
    """Write the HiPS catalogue of ``frame`` (a pandas DataFrame) at ``dest``; return ``dest``.

    ``ra``/``dec`` name the position columns (degrees, ICRS); ``magnitude`` orders the sources
    (brightest first) when given; ``ipix29`` is the HATS ``_healpix_29`` index when it is at hand.
    Rows without a finite position are left out (counted in ``properties`` as ``astrohub_rows_skipped``).
    A density map (HEALPix counts at ``density_order``, as FITS in ``density.fits``) is written beside
    the tiles unless ``density_order`` is None. ``cancel`` (a ``threading.Event``), when set, stops the
    build before its next order with :class:`HipsCancelled`, leaving ``dest`` as it was.
    """
    parts = catalog_hips_parts(frame, dest, spec, ra=ra, dec=dec, magnitude=magnitude, units=units, ucds=ucds,
                               ipix29=ipix29, density_order=density_order, cancel=cancel, split=None)
    try:
        return next(parts)
    finally:
        parts.close()


#: The deepest order of the first part of a HiPS built in two (:func:`catalog_hips_parts`): the all-sky
#: orders and the first order of tiles, what a viewer of the whole sky reads (about 20,000 rows of 200 per tile).
FIRST_PART_ORDER = 3
#: The ``properties`` key of a HiPS's first part: the first order still to come (:func:`catalog_hips_parts`).
BUILDING = "astrohub_building"


def catalog_hips_parts(frame, dest: str | Path, spec: CatalogHipsSpec, *, ra: str, dec: str,
                       magnitude: str | None = None, units: dict[str, str] | None = None,
                       ucds: dict[str, str] | None = None, ipix29: np.ndarray | None = None,
                       density_order: int | None = 7, cancel=None, split: int | None = FIRST_PART_ORDER,
                       rest_tar: bool = False):
    """:func:`write_catalog_hips` in two parts, so that a viewer shows the whole sky while the deep orders are
    still built: yields ``dest`` holding the orders up to ``split`` (its ``properties`` those of the whole
    HiPS, ``hips_order`` the deepest to come, plus ``astrohub_building = <split + 1>``: the orders from there
    are to come), then, when the generator is asked again, ``<dest>.rest``: the deeper orders and the final
    ``properties`` (no ``astrohub_building``), to be put beside the first part's files. A HiPS no deeper than
    ``split`` (or ``split`` None) is yielded whole, once. Each folder is written atomically. ``rest_tar``: the
    rest is yielded as ``<dest>.rest.tar``, a tar of those files (what :func:`platform_lib.viz.upload_rest`
    sends), its tiles written straight into it: no tile file is made, read back and packed (the deep orders
    hold most of a large table's tiles)."""
    for col in (ra, dec) + ((magnitude,) if magnitude else ()):
        if col not in frame.columns:
            raise HipsError(f"column {col!r} is not in the table (columns: {list(frame.columns)[:12]})", value=col)
    ra_v = np.asarray(frame[ra], dtype=np.float64)
    dec_v = np.asarray(frame[dec], dtype=np.float64)
    good = np.isfinite(ra_v) & np.isfinite(dec_v) & (np.abs(dec_v) <= 90)
    skipped = int((~good).sum())
    if skipped:
        frame = frame[good]
        ra_v, dec_v = ra_v[good], dec_v[good]
        ipix29 = None if ipix29 is None else np.asarray(ipix29)[good]
    n = len(frame)
    if n == 0:
        raise HipsError("the catalogue has no rows with a finite position: nothing to build a HiPS from", value=0)
    if ipix29 is None:
        ipix29 = healpix29(ra_v, dec_v)
    ipix29 = np.asarray(ipix29, dtype=np.int64)
    mag = None if magnitude is None else np.asarray(frame[magnitude], dtype=np.float64)
    rank = priority_rank(mag, n, ipix29=ipix29)
    order_of = plan_catalog_orders(ipix29, rank, spec.n_per_tile, spec.max_order, spec.last_factor)
    max_order = int(order_of.max())
    arrow = _clean_frame(frame.reset_index(drop=True), ra, dec)
    header = tile_header(arrow.column_names)
    counts = {str(k): int((order_of == k).sum()) for k in range(HIPS_ORDER_MIN, max_order + 1)}
    split = max_order if split is None or split >= max_order else split

    def finish(root: Path, building: int | None, allsky: bool = True) -> None:
        finish_catalog_hips(root, header, spec, n=n, max_order=max_order, counts=counts, skipped=skipped,
                            magnitude=magnitude, initial=(float(np.median(ra_v)), float(np.median(dec_v))),
                            building=building, allsky=allsky)

    def order_lines(orders: range):
        """Each order's ``(k, tile, lines)``: its rows' TSV lines in tile order, and each line's tile."""
        for k in orders:
            checkpoint(cancel)
            rows = np.flatnonzero(order_of == k)
            if rows.size == 0:
                continue
            tile = ipix29[rows] >> (2 * (HEALPIX_29 - k))
            srt = np.lexsort((rank[rows], tile))
            rows, tile = rows[srt], tile[srt]
            yield k, tile, _tsv_lines(arrow.take(rows))

    def write_orders(root: Path, orders: range, pool) -> None:
        for k, tile, lines in order_lines(orders):
            write_order_tiles(root, k, tile, lines, header, pool)
            if k <= 2:
                write_allsky(root, k, header, lines)

    def tar_orders(dest: Path, orders: range) -> Path:
        """The rest as one tar file ``dest`` (written beside it, then renamed)."""
        import tarfile

        with tempfile.NamedTemporaryFile(prefix=f".{dest.name}.", dir=dest.parent, delete=False) as fh:
            try:
                with tarfile.open(fileobj=fh, mode="w", format=tarfile.GNU_FORMAT) as tar:
                    for k, tile, lines in order_lines(orders):
                        tar_order_tiles(tar, k, tile, lines, header)
                        if k <= 2:
                            _tar_add(tar, f"Norder{k}/Allsky.tsv", header + b"".join(line + b"\n" for line in lines))
                    with tempfile.TemporaryDirectory(dir=dest.parent) as props:
                        finish(Path(props), None, allsky=False)
                        _tar_add(tar, "properties", (Path(props) / "properties").read_bytes())
                    checkpoint(cancel)
            except BaseException:
                os.unlink(fh.name)
                raise
        os.replace(fh.name, dest)
        return dest

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="hips-tiles") as pool:
        with _AtomicDir(Path(dest)) as out:
            root = out.tmp
            _metadata_votable(root / "metadata.xml", frame, ra, dec, units or {}, ucds or {})
            write_orders(root, range(HIPS_ORDER_MIN, split + 1), pool)
            finish(root, split + 1 if split < max_order else None)
            if density_order is not None:
                _write_density_fits(root / "density.fits", density_map(ipix29, density_order), spec.title)
            checkpoint(cancel)
            first = out.commit()
        yield first
        if split < max_order and rest_tar:
            yield tar_orders(Path(f"{dest}.rest.tar"), range(split + 1, max_order + 1))
        elif split < max_order:
            with _AtomicDir(Path(f"{dest}.rest")) as out:
                write_orders(out.tmp, range(split + 1, max_order + 1), pool)
                finish(out.tmp, None, allsky=False)
                checkpoint(cancel)
                yield out.commit()


def tile_header(names: list[str]) -> bytes:
    """The first two lines of a TSV tile: the column names, then dashes."""
    return ("\t".join(names) + "\n" + "\t".join("-" * max(len(c), 3) for c in names) + "\n").encode()


def write_order_tiles(root: Path, k: int, tile: np.ndarray, lines: list[bytes], header: bytes, pool=None) -> int:
    """Write the tiles of order ``k`` under ``root``: ``tile`` (sorted) is each line's tile; return how many.

    ``pool`` (a thread pool) overlaps the file creations, which wait on the disk rather than the CPU."""
    if tile.size == 0:
        return 0
    first = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
    stops = np.r_[first[1:], tile.size]
    odir = root / f"Norder{k}"
    pixels = tile[first].tolist()
    for d in sorted({p // 10000 * 10000 for p in pixels}):
        (odir / f"Dir{d}").mkdir(parents=True, exist_ok=True)

    def write(i: int) -> None:
        pixel = pixels[i]
        with open(odir / f"Dir{pixel // 10000 * 10000}" / f"Npix{pixel}.tsv", "wb") as fh:
            fh.write(header + b"\n".join(lines[first[i]:stops[i]]) + b"\n")

    if pool is None:
        for i in range(len(pixels)):
            write(i)
    else:
        list(pool.map(write, range(len(pixels)), chunksize=256))
    return len(pixels)


def tar_order_tiles(tar, k: int, tile: np.ndarray, lines: list[bytes], header: bytes) -> int:
    """:func:`write_order_tiles` into the open tar ``tar`` (its members ``Norder<k>/Dir<d>/Npix<p>.tsv``, the
    same bytes as those files); return how many."""
    if tile.size == 0:
        return 0
    first = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
    stops = np.r_[first[1:], tile.size]
    for pixel, a, b in zip(tile[first].tolist(), first.tolist(), stops.tolist()):
        _tar_add(tar, f"Norder{k}/Dir{pixel // 10000 * 10000}/Npix{pixel}.tsv",
                 header + b"\n".join(lines[a:b]) + b"\n")
    return len(first)


def _tar_add(tar, name: str, data: bytes) -> None:
    """Add the file ``name`` holding ``data`` to the open tar ``tar`` (a plain file, mode 644, now)."""
    import tarfile

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(data))


def write_allsky(root: Path, k: int, header: bytes, lines: list[bytes]) -> None:
    """``Norder<k>/Allsky.tsv``: every line of order ``k``, in tile order (Aladin Lite reads orders 1 and 2)."""
    odir = root / f"Norder{k}"
    odir.mkdir(parents=True, exist_ok=True)
    with open(odir / "Allsky.tsv", "wb") as fh:
        fh.write(header)
        if lines:
            fh.write(b"\n".join(lines))
            fh.write(b"\n")


def finish_catalog_hips(root: Path, header: bytes, spec: CatalogHipsSpec, *, n: int, max_order: int,
                        counts: dict[str, int], skipped: int, magnitude: str | None,
                        initial: tuple[float, float], building: int | None = None, allsky: bool = True) -> None:
    """The empty ``Allsky.tsv`` files a catalogue lacks (unless ``allsky`` is false: the deeper part of a HiPS
    built in two, :func:`catalog_hips_parts`) and its ``properties`` (``initial``: the median position;
    ``building``: the first order still to come)."""
    for k in (1, 2) if allsky else ():  # Aladin Lite reads both; an empty one keeps it from waiting forever
        allsky = root / f"Norder{k}" / "Allsky.tsv"
        if not allsky.exists():
            allsky.parent.mkdir(parents=True, exist_ok=True)
            allsky.write_bytes(header)
    props: dict[str, object] = {
        "creator_did": spec.creator_did or _default_did(spec.title),
        "obs_title": spec.title,
        "dataproduct_type": "catalog",
        "hips_version": "1.4",
        "hips_builder": "astrohub platform_lib.viz",
        "hips_release_date": _release_date(),
        "hips_status": "public master unclonable",
        "hips_frame": "equatorial",
        "hips_order": max(max_order, 2),  # Aladin Lite reads Norder1 and Norder2 Allsky files
        "hips_order_min": HIPS_ORDER_MIN,
        "hips_tile_format": "tsv",
        "hips_cat_nrows": n,
        "hips_initial_ra": f"{initial[0]:.6f}",
        "hips_initial_dec": f"{initial[1]:.6f}",
        "hips_initial_fov": 180,
        "astrohub_n_per_tile": spec.n_per_tile,
        "astrohub_rows_per_order": json.dumps(counts, separators=(",", ":")),
        "astrohub_rows_skipped": skipped,
        "astrohub_magnitude": magnitude or "",
    }
    if building is not None:
        props[BUILDING] = building
    _write_properties(root / "properties", props)


def _write_density_fits(path: Path, counts: np.ndarray, title: str) -> None:
    """A HEALPix map FITS file (nested, one ``COUNT`` column), as healpy and ligo.skymap read them."""
    from astropy.io import fits

    order = int(round(np.log(counts.size / 12) / np.log(4)))
    hdu = fits.BinTableHDU.from_columns([fits.Column(name="COUNT", format="E", array=counts.astype(np.float32))])
    h = hdu.header
    h["PIXTYPE"] = "HEALPIX"
    h["ORDERING"] = "NESTED"
    h["COORDSYS"] = "C"
    h["NSIDE"] = 2**order
    h["INDXSCHM"] = "IMPLICIT"
    h["OBJECT"] = title[:60]
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)


def _healpix_to_car(values: np.ndarray, width: int) -> tuple[np.ndarray, object]:
    """A nested HEALPix map resampled onto an all-sky plate carrée image ``width x width/2`` (nearest pixel)."""
    import astropy.units as u
    import cdshealpix.nested as hp
    from astropy.wcs import WCS

    order = int(round(np.log(values.size / 12) / np.log(4)))
    height = width // 2
    step = 360.0 / width
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---CAR", "DEC--CAR"]
    wcs.wcs.crval = [0.0, 0.0]
    wcs.wcs.crpix = [(width + 1) / 2, (height + 1) / 2]
    wcs.wcs.cdelt = [-step, step]
    wcs.wcs.cunit = ["deg", "deg"]
    y, x = np.mgrid[0:height, 0:width]
    lon, lat = wcs.pixel_to_world_values(x.ravel(), y.ravel())
    cell = hp.lonlat_to_healpix((np.asarray(lon) % 360) * u.deg, np.clip(lat, -90, 90) * u.deg, order)
    return values[cell.astype(np.int64)].reshape(height, width), wcs


def _default_did(title: str) -> str:
    """A HiPS's ``creator_did`` from its title: an IVOID (a URI), so characters a URI cannot hold (the spaces
    of "I/311/hip2 star density") become ``_``."""
    return "ivo://astrohub/hips/" + re.sub(r"[^A-Za-z0-9._~/+-]+", "_", title.strip()).strip("_/")


def write_density_hips(counts: np.ndarray, dest: str | Path, *, title: str, creator_did: str = "",
                       level: int = 1, cancel=None) -> Path:
    """Write an image HiPS (FITS tiles) of a nested HEALPix map (say :func:`density_map`'s counts).

    Shown with a logarithmic stretch (``log10(1 + count)``), so sparse and dense regions both show.
    ``level`` is reproject's HiPS level: tiles of 512 pixels at orders 0 to ``level``.
    """
    counts = np.asarray(counts, dtype=np.float64)
    npix = counts.size
    order = np.log(max(npix, 1) / 12) / np.log(4)
    if npix < 12 or order != int(order):
        raise HipsError(f"a HEALPix map has 12 * 4**order values; got {npix}", value=npix)
    image, wcs = _healpix_to_car(np.log10(1.0 + counts), width=2048 * 2 ** max(level - 1, 0))
    return write_image_hips([(image.astype(np.float32), wcs)], dest, title=title, creator_did=creator_did,
                            level=level, extra={"astrohub_content": "log10(1 + sources per HEALPix cell)",
                                                "astrohub_density_order": int(order)}, cancel=cancel, bitpix=16)


def write_image_hips(images: Iterable[tuple[np.ndarray, object]], dest: str | Path, *, title: str,
                     creator_did: str = "", level: int | None = None, extra: dict | None = None,
                     cancel=None, bitpix: int = -32) -> Path:
    """Write an image HiPS (FITS tiles, equatorial) of ``images`` (``(array, WCS)`` pairs) with reproject.

    Several images are built one by one and their tiles combined (the mean where they overlap;
    ``reproject.hips.coadd_hips`` cannot blend FITS tiles). ``cancel`` (a ``threading.Event``), when
    set, stops the build before its next tile with :class:`HipsCancelled` (as in every writer here).
    ``bitpix`` 16: the tiles and the Allsky file as 16-bit integers with ``BSCALE``/``BZERO`` spanning the
    values (HiPS 1.0 allows it; half the bytes of float32, :func:`_to_int16`), for images without blank pixels.
    """
    from reproject import reproject_interp
    from reproject.hips import reproject_to_hips

    images = list(images)
    if not images:
        raise HipsError("no images to build a HiPS from", value=0)
    props = {"obs_title": title, "creator_did": creator_did or _default_did(title),
             "hips_builder": "astrohub platform_lib.viz (reproject)"}
    with _AtomicDir(Path(dest)) as out:
        target = out.tmp / "hips"
        if len(images) == 1:
            reproject_to_hips(images[0], coord_system_out="equatorial", reproject_function=reproject_interp,
                              output_directory=str(target), level=level, properties=props,
                              progress_bar=lambda items: _checked(items, cancel))
        else:
            parts = []
            for i, img in enumerate(images):
                part = out.tmp / f"part{i}"
                reproject_to_hips(img, coord_system_out="equatorial", reproject_function=reproject_interp,
                                  output_directory=str(part), level=level, properties=props,
                                  progress_bar=lambda items: _checked(items, cancel))
                parts.append(str(part))
            _coadd_fits_hips(parts, target)
        final = out.tmp / "final"
        os.rename(target, final)
        for entry in final.iterdir():
            os.rename(entry, out.tmp / entry.name)
        final.rmdir()
        for other in out.tmp.glob("part*"):
            shutil.rmtree(other)
        # reproject's preview page loads Aladin Lite from a CDN; the archive serves its own viewer instead
        (out.tmp / "index.html").unlink(missing_ok=True)
        props_path = out.tmp / "properties"
        merged = read_properties(props_path)
        merged.update({k: str(v) for k, v in (extra or {}).items()})
        _write_properties(props_path, merged)
        _write_tiles_moc(out.tmp, int(merged["hips_order"]))
        write_allsky_fits(out.tmp, int(merged.get("hips_tile_width", 512)))
        if bitpix == 16:
            _to_int16(out.tmp)
        checkpoint(cancel)
        return out.commit()


def _to_int16(root: Path) -> None:
    """Rewrite the FITS tiles and ``Allsky.fits`` of the image HiPS at ``root`` as 16-bit integers, one
    ``BSCALE``/``BZERO`` for all (spanning their finite values in 65,000 steps; a NaN, the Allsky's padding
    blocks, becomes the lowest value), and say ``hips_pixel_bitpix = 16``. The sky's Allsky file, read whole at the
    first view, went from 12.8 MB (4.9 MB gzipped) to 6.4 MB (2.9 MB); drawn the same by Aladin Lite."""
    from astropy.io import fits

    files = sorted(root.glob("Norder*/Dir*/Npix*.fits")) + sorted(root.glob("Norder*/Allsky.fits"))
    lo, hi = np.inf, -np.inf
    for path in files:
        data = fits.getdata(path)
        if np.isfinite(data).any():
            lo, hi = min(lo, float(np.nanmin(data))), max(hi, float(np.nanmax(data)))
    if not files or lo > hi:
        return
    bscale = (hi - lo) / 65000.0 or 1.0
    bzero = lo + 32500.0 * bscale
    for path in files:
        hdu = fits.PrimaryHDU(np.nan_to_num(fits.getdata(path).astype(np.float64), nan=lo))
        hdu.scale("int16", bscale=bscale, bzero=bzero)
        hdu.writeto(path, overwrite=True)
    props = read_properties(root / "properties")
    props["hips_pixel_bitpix"] = "16"
    _write_properties(root / "properties", props)


#: The blocks per row of an image HiPS's ``Allsky`` mosaic (HiPS 1.0, section 4.3.2; Aladin's layout).
ALLSKY_COLUMNS = 27


def _unmortonize(index: int) -> tuple[int, int]:
    """The (even bits, odd bits) of a nested sub-cell index: its (row, column) block in its tile, as Aladin Lite
    places an Allsky block in a tile (``utils::unmortonize``)."""
    x = y = 0
    for bit in range(16):
        x |= ((index >> (2 * bit)) & 1) << bit
        y |= ((index >> (2 * bit + 1)) & 1) << bit
    return x, y


def write_allsky_fits(root: Path, tile_width: int) -> Path | None:
    """``Norder3/Allsky.fits`` of an image HiPS with FITS tiles (HiPS 1.0, section 4.3.2): the whole sky in one
    file, made of the order-0 tiles, each cut into 64 x 64-pixel blocks (its order-3 cells, in nested order), 27
    blocks a row, rows written bottom up as FITS does. Aladin Lite asks for it first (an HTTP 404 in the
    browser's console on every view when it was missing) and draws the zoomed-out sky from it without asking
    for the 12 order-0 tiles. Blocks of an order-0 tile the HiPS lacks are NaN. Written only for tiles of 512
    pixels (the layout's 27 x 29 blocks); ``None`` otherwise, and for a HiPS without order-0 tiles.

    The blocks are placed as Aladin Lite reads them back (``downloader/request/allsky.rs``): block ``i`` of tile
    ``i // 64`` goes to row ``i // 27``, column ``i % 27`` of the mosaic read top down, and fills the tile, read
    bottom up, at the block row and column of ``_unmortonize(i % 64)``.
    """
    from astropy.io import fits

    if tile_width != 512:
        return None
    block = 64
    per_side = tile_width // block
    per_tile = per_side * per_side
    tiles = {p: root / "Norder0" / "Dir0" / f"Npix{p}.fits" for p in range(12)}
    if not any(path.is_file() for path in tiles.values()):
        return None
    rows = -(-12 * per_tile // ALLSKY_COLUMNS)
    mosaic = None
    for p, path in tiles.items():
        if not path.is_file():
            continue
        data = fits.getdata(path)
        if mosaic is None:
            mosaic = np.full((rows * block, ALLSKY_COLUMNS * block), np.nan, dtype=data.dtype)
        flipped = data[::-1]
        for sub in range(per_tile):
            i = p * per_tile + sub
            bx, by = _unmortonize(sub)
            sy, sx = (i // ALLSKY_COLUMNS) * block, (i % ALLSKY_COLUMNS) * block
            mosaic[sy:sy + block, sx:sx + block] = flipped[bx * block:(bx + 1) * block, by * block:(by + 1) * block]
    out = root / "Norder3" / "Allsky.fits"
    out.parent.mkdir(exist_ok=True)
    fits.PrimaryHDU(mosaic[::-1]).writeto(out, overwrite=True)
    return out


def _write_tiles_moc(root: Path, order: int) -> None:
    """``Moc.fits``: the cells of the tiles at ``order`` (HiPS 1.0 section 4.4.2). Aladin Lite asks for it
    first, then asks for no tile outside it (without it, an image HiPS of a few fields was asked for tiles
    all over the sky: 404s, and one in its console on every view of the platform's background)."""
    from mocpy import MOC

    cells = [int(p.stem[4:]) for p in (root / f"Norder{order}").glob("Dir*/Npix*.fits")]
    if cells:
        MOC.from_healpix_cells(np.asarray(cells, np.uint64), np.full(len(cells), order, np.uint8),
                               max_depth=order).save(str(root / "Moc.fits"), format="fits", overwrite=True)


def _coadd_fits_hips(parts: list[str], target: Path) -> None:
    """Merge FITS-tile HiPS folders: tiles present in several are averaged where both have data."""
    from astropy.io import fits

    target.mkdir()
    props = [read_properties(Path(p) / "properties") for p in parts]
    for part in parts:
        part = Path(part)
        for tile in part.rglob("Npix*.fits"):
            dest = target / tile.relative_to(part)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tile, dest)
                continue
            with fits.open(tile) as new, fits.open(dest) as old:
                a = new[0].data.astype(np.float64)
                b = old[0].data.astype(np.float64)
                header = old[0].header
            merged = np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2))
            fits.PrimaryHDU(merged.astype(np.float32), header).writeto(dest, overwrite=True)
    merged_props = dict(props[0])
    merged_props["hips_order"] = str(max(int(p["hips_order"]) for p in props))
    cuts = [tuple(float(v) for v in p["hips_pixel_cut"].split()) for p in props if "hips_pixel_cut" in p]
    if cuts:
        merged_props["hips_pixel_cut"] = f"{min(c[0] for c in cuts)} {max(c[1] for c in cuts)}"
    _write_properties(target / "properties", merged_props)


# -- validation ----------------------------------------------------------------------------------------


class HipsTiles:
    """The checks of a HiPS's tiles one by one, as they come: from its folder (:func:`validate_hips`) or from a tar
    as it is read (the archive checks the deeper orders of a user's HiPS while it unpacks them, with no second
    read of each tile). ``props``: its ``properties``, whose required keys are checked here; ``where``: how
    messages name it. :meth:`tile` checks one tile and counts its rows; ``tiles``, ``rows`` and ``orders`` hold
    what was counted so far.

    Examples
    --------
    >>> tiles = HipsTiles(read_properties("mine/properties"), "mine")          # doctest: +SKIP
    >>> tiles.tile(5, "Dir0", "Npix12.tsv", data, "Norder5/Dir0/Npix12.tsv")   # doctest: +SKIP
    17
    """

    def __init__(self, props: dict[str, str], where: str | Path) -> None:
        for key in ("dataproduct_type", "hips_order", "hips_tile_format", "hips_frame"):
            if key not in props:
                raise HipsError(f"{where}/properties lacks {key!r}", value=key)
        try:
            self.max_order = int(props["hips_order"])
            self.ext = {"tsv": "tsv", "fits": "fits", "png": "png", "jpeg": "jpg"}[props["hips_tile_format"].split()[0]]
        except (ValueError, KeyError, IndexError):
            raise HipsError(f"{where}/properties: hips_order {props['hips_order']!r} and hips_tile_format "
                            f"{props['hips_tile_format']!r} must be an order and one of tsv, fits, png, jpeg",
                            value=props["hips_order"]) from None
        self.kind = props["dataproduct_type"]
        self.building = _building(props, where) if self.kind == "catalog" else None
        self.tiles = self.rows = 0
        self.orders: set[int] = set()

    def order(self, k: int, where: str | Path) -> None:
        """Check that the order ``k`` may hold tiles: not deeper than ``hips_order``, not one still to come."""
        if k > 29:  # HEALPix's deepest order (its pixel numbers need 64 bits beyond)
            raise HipsError(f"{where} is deeper than order 29, HEALPix's deepest", value=k)
        if k > self.max_order:
            raise HipsError(f"{where} is deeper than hips_order = {self.max_order}", value=k)
        if self.building is not None and k >= self.building[0]:
            raise HipsError(f"{where} is an order still to come ({BUILDING} = {self.building[0]})", value=k)

    def tile(self, k: int, folder: str, name: str, data: bytes, where: str | Path) -> int:
        """Check the tile ``Norder<k>/<folder>/<name>`` (its bytes ``data``): its place and that it parses; its
        rows (0 for an image tile)."""
        self.order(k, where)
        if not folder.startswith("Dir") or not folder[3:].isdigit():
            raise HipsError(f"unexpected {where} in a HiPS order folder (tiles are in Dir<d> folders)", value=folder)
        ext = self.ext
        if not (name.startswith("Npix") and name.endswith("." + ext) and name[4:-len(ext) - 1].isdigit()):
            raise HipsError(f"unexpected {where} (tiles are Npix<p>.{ext})", value=name)
        pixel = int(name[4:-len(ext) - 1])
        if pixel // 10000 * 10000 != int(folder[3:]) or not 0 <= pixel < 12 * 4**k:
            raise HipsError(f"{where} is in the wrong place for pixel {pixel} at order {k}", value=str(where))
        rows = 0
        if ext == "tsv":
            rows = _check_tsv(data, where)
        elif ext == "fits":
            from astropy.io import fits

            try:
                with fits.open(io.BytesIO(data)) as hdul:
                    empty = hdul[0].data is None
            except Exception as exc:  # astropy's errors for a damaged file are of many kinds
                raise HipsError(f"{where} is not a FITS file ({exc})", value=str(where)) from None
            if empty:
                raise HipsError(f"{where} holds no image", value=str(where))
        self.tiles += 1
        self.rows += rows
        self.orders.add(k)
        return rows

    def expect_rows(self, props: dict[str, str], where: str | Path, rows: int | None = None) -> None:
        """For a catalogue, check that ``rows`` (default: those counted) are what ``props`` say it holds:
        ``hips_cat_nrows``, or for a first part the rows of its orders (``astrohub_rows_per_order``)."""
        if self.kind != "catalog":
            return
        rows = self.rows if rows is None else rows
        building = _building(props, where)
        try:
            expected = int(props.get("hips_cat_nrows", -1)) if building is None else building[1]
        except ValueError:
            raise HipsError(f"{where}/properties: hips_cat_nrows {props['hips_cat_nrows']!r} is not a number of "
                            "rows", value=props["hips_cat_nrows"]) from None
        if rows != expected:
            said = "hips_cat_nrows" if building is None else f"astrohub_rows_per_order below order {building[0]}"
            raise HipsError(f"the tiles of {where} hold {rows} rows but {said} = {expected}", value=rows)


def validate_hips(path: str | Path) -> HipsReport:
    """Check a HiPS folder: ``properties`` with the required keys, the ``Norder/Dir/Npix`` layout, every
    tile parses (TSV with the header's columns, or FITS), and for catalogues that the rows of all tiles add
    up to ``hips_cat_nrows``. Raises :class:`HipsError` naming the first problem; returns a :class:`HipsReport`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from astropy.table import Table
    >>> from platform_lib import viz
    >>> stars = Table({"ra": [56.871, 279.235, 88.793], "dec": [24.105, 38.784, 7.407]})
    >>> hips = viz.build_catalog_hips(stars, Path(tempfile.mkdtemp()) / "three-stars")
    >>> report = viz.validate_hips(hips)
    >>> report.rows
    3
    """
    root = given_hips_path(path)
    if not (root / "properties").is_file():
        raise HipsError(f"{root} has no properties file: not a HiPS", value=str(root))
    props = read_properties(root / "properties")
    check = HipsTiles(props, root)
    for odir in sorted(root.glob("Norder*")):
        k = int(odir.name[len("Norder"):])
        if k > check.max_order and not any(not f.name.startswith("Allsky") for f in odir.iterdir()):
            continue  # Norder3/Allsky of an image HiPS of fewer orders (HiPS 1.0, section 4.3.2)
        check.order(k, odir)
        check.orders.add(k)
        for ddir in odir.iterdir():
            if ddir.name.startswith("Allsky"):
                continue
            if not ddir.name.startswith("Dir") or not ddir.is_dir():
                raise HipsError(f"unexpected {ddir} in a HiPS order folder", value=ddir.name)
            for tile in ddir.iterdir():
                check.tile(k, ddir.name, tile.name, tile.read_bytes(), tile)
    check.expect_rows(props, root)
    if check.tiles == 0:
        raise HipsError(f"{root} has no tiles", value=str(root))
    return HipsReport(root, check.kind, tuple(sorted(check.orders)), check.tiles, check.rows)


def _building(props: dict[str, str], root: str | Path) -> tuple[int, int] | None:
    """For the first part of a catalogue HiPS built in two (:func:`catalog_hips_parts`): the first order to come
    and the rows of the orders before it (``astrohub_rows_per_order``); None for a whole HiPS."""
    if BUILDING not in props:
        return None
    try:
        first = int(props[BUILDING])
        counts = json.loads(props["astrohub_rows_per_order"])
        return first, sum(int(rows) for k, rows in counts.items() if int(k) < first)
    except (KeyError, ValueError, TypeError, AttributeError):
        raise HipsError(f"{root}/properties: {BUILDING} needs an order and astrohub_rows_per_order the rows of "
                        "each order (a JSON object)", value=props.get(BUILDING)) from None


def _check_tsv(data: bytes, tile: str | Path) -> int:
    """The rows of the TSV tile ``data`` (named ``tile`` in messages), checked line by line: the column names,
    dashes, then rows of as many fields (counted with numpy over the whole tile: splitting its lines in Python
    took a second a 10^6-row HiPS)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HipsError(f"{tile} is not UTF-8 text ({exc.reason} at byte {exc.start})", value=str(tile)) from None
    if b"\r" in data:  # line ends as Python reads text: \r\n and \r are \n
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    body = data[:-1] if data.endswith(b"\n") else data
    raw = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(raw == ord("\n"))
    if ends.size < 2 or body[ends[0] + 1:ends[1]].replace(b"\t", b"").strip(b"-"):
        raise HipsError(f"{tile} is not a HiPS TSV tile (names, dashes, then rows)", value=str(tile))
    width = body[:ends[0]].count(b"\t") + 1
    tabs = np.searchsorted(np.flatnonzero(raw == ord("\t")), np.r_[ends, raw.size])  # tabs before each line's end
    fields = np.diff(tabs, prepend=0) + 1
    wrong = np.flatnonzero(fields[2:] != width)
    if wrong.size:
        i = int(wrong[0]) + 2
        raise HipsError(f"{tile} line {i + 1} has {fields[i]} fields, the header {width}", value=str(tile))
    return fields.size - 2
