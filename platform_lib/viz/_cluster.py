"""The HiPS catalogue and density map of a HATS catalogue, computed per partition on a Dask cluster.

HATS partitions are HEALPix cells, so every HiPS tile at an order at least a partition's own lies
inside that partition: its workers plan and write those tiles. Tiles at shallower orders span several
partitions; the client merges them from each partition's best candidates (a partition of order ``p``
can give at most ``n_per_tile`` rows to each of its ``p - 1`` shallower orders, so its ``(p - 1) *
n_per_tile`` first rows by rank are all the candidates it has). Three passes over the partitions,
each a Dask task per partition (on the ``distributed`` client given or current, else Dask's threaded
scheduler in this process):

1. *summary*: row counts, the candidates, the density counts and the position ranges;
2. *plan*: with the shallow choices known, each partition plans its own orders (kept on its worker)
   and sends the fullest tile it holds at each (the HiPS stops at the first order where no tile holds
   more than ``last_factor * n_per_tile`` of the rows left), and histograms for the median position;
3. *write*: each partition's plan cut at that last order, its tiles written by the worker when it
   can write in the HiPS's temporary folder (else sent back and written here), and back to the
   client only the rows of the shallow tiles and of the ``Allsky`` orders.

The client holds the candidates, those shallow rows and the density counts, never the catalogue. The
result is the one :func:`platform_lib.viz._hips.write_catalog_hips` writes from the whole table in
one process (same tiles, same rows in the same order). May import numpy, dask, lsdb (and
``distributed`` when a client is used) and this package's ``_hips`` and ``_errors``.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from platform_lib.viz._errors import HipsError
from platform_lib.viz._hips import (
    ALLSKY_MAX_ORDER,
    HEALPIX_29,
    HIPS_ORDER_MIN,
    CatalogHipsSpec,
    _AtomicDir,
    _clean_frame,
    _metadata_votable,
    _tsv_lines,
    _write_density_fits,
    checkpoint,
    finish_catalog_hips,
    priority_key,
    tile_header,
    write_allsky,
    write_order_tiles,
)

__all__ = ["current_client", "cluster_catalog_hips", "cluster_density_counts"]

#: Bins of the position histograms that locate the median position (pass 2).
_MEDIAN_BINS = 4096


def current_client(client=None):
    """``client``, else the current ``distributed`` client (say the user's dask-gateway cluster), else None."""
    if client is not None:
        return client
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client made in this process
        return None


# -- per-partition work (on the workers; pure functions of a partition's arrays) ----------------------


@dataclass
class _Part:
    """One partition's positions with a finite place, in its row order (the order ``compute()`` keeps)."""

    order: int
    pixel: int
    ipix: np.ndarray      # _healpix_29 of the good rows
    key: np.ndarray       # priority_key of the good rows
    ra: np.ndarray
    dec: np.ndarray
    good: np.ndarray      # mask over the partition's rows
    rank: np.ndarray      # local rank (0 = first), consistent with (key, row) over the whole catalogue


def _positions(frame, ra: str, dec: str):
    ra_v = np.asarray(frame[ra], dtype=np.float64)
    dec_v = np.asarray(frame[dec], dtype=np.float64)
    return ra_v, dec_v, np.isfinite(ra_v) & np.isfinite(dec_v) & (np.abs(dec_v) <= 90)


def _ipix_of(frame) -> np.ndarray | None:
    if frame.index.name == "_healpix_29":
        return frame.index.to_numpy().astype(np.int64)
    if "_healpix_29" in frame.columns:
        return frame["_healpix_29"].to_numpy().astype(np.int64)
    return None


def _prepare(frame, order: int, pixel: int, ra: str, dec: str, magnitude: str | None) -> _Part:
    from platform_lib.viz._hips import healpix29

    ra_v, dec_v, good = _positions(frame, ra, dec)
    ipix = _ipix_of(frame)
    ipix = healpix29(ra_v[good], dec_v[good]) if ipix is None else ipix[good]
    mag = None if magnitude is None else np.asarray(frame[magnitude], dtype=np.float64)[good]
    key = priority_key(mag, ipix)
    srt = np.argsort(key, kind="stable")
    rank = np.empty(srt.size, np.int64)
    rank[srt] = np.arange(srt.size, dtype=np.int64)
    if ipix.size and np.any(ipix >> (2 * (HEALPIX_29 - order)) != pixel):
        raise HipsError(f"HATS partition Norder={order}/Npix={pixel} holds rows outside its cell: the "
                        "catalogue's partitions are not HEALPix cells", value=f"{order}/{pixel}")
    return _Part(order, pixel, ipix, key, ra_v[good], dec_v[good], good, rank)


def _choose(ipix: np.ndarray, rank: np.ndarray, remaining: np.ndarray, k: int, n_per_tile: int):
    """At order ``k``: ``(chosen, left, fullest)``: the ``n_per_tile`` best rows of each tile among
    ``remaining``, the others, and the most rows any tile held (as :func:`plan_catalog_orders`)."""
    tile = ipix[remaining] >> (2 * (HEALPIX_29 - k))
    key = tile * np.int64(max(int(rank.size), 1)) + rank[remaining]
    srt = np.argsort(key)
    t_sorted = tile[srt]
    first = np.flatnonzero(np.r_[True, t_sorted[1:] != t_sorted[:-1]])
    counts = np.diff(np.r_[first, t_sorted.size])
    pos = np.arange(t_sorted.size) - np.repeat(first, counts)
    chosen = pos < n_per_tile
    return remaining[srt[chosen]], remaining[srt[~chosen]], int(counts.max())


def _summary(part: _Part, spec: CatalogHipsSpec, density_order: int | None) -> dict:
    """Pass 1: counts, the candidates for the shallow orders, density counts, position ranges."""
    shallow = max(0, min(part.order, spec.max_order) - HIPS_ORDER_MIN)
    cand = np.argsort(part.rank)[: shallow * spec.n_per_tile]
    out = {"order": part.order, "pixel": part.pixel, "n": int(part.ipix.size),
           "skipped": int((~part.good).sum()), "cand_local": cand, "cand_key": part.key[cand],
           "cand_ipix": part.ipix[cand], "density": None, "range": None}
    if density_order is not None and part.ipix.size:
        cells, counts = np.unique(part.ipix >> (2 * (HEALPIX_29 - density_order)), return_counts=True)
        out["density"] = (cells, counts)
    if part.ipix.size:
        out["range"] = (part.ra.min(), part.ra.max(), part.dec.min(), part.dec.max())
    return out


def _plan(part: _Part, spec: CatalogHipsSpec, shallow: dict[int, int], edges) -> dict:
    """Pass 2: the order of each row as if the HiPS had no last order: ``shallow`` (local row -> order)
    for the rows the client placed; from the partition's own order on, ``n_per_tile`` per tile and
    order, until its fullest tile is under the stopping threshold (deeper orders only hold fewer; the
    rows left wait in ``remaining`` and the order in ``resume``). Also the fullest tile at each order
    (``profile``) and the position histograms (for the median). Kept on the worker for pass 3."""
    order_of = np.zeros(part.ipix.size, np.int8)
    if shallow:
        idx = np.fromiter(shallow.keys(), np.int64, len(shallow))
        order_of[idx] = np.fromiter(shallow.values(), np.int8, len(shallow))
    remaining = np.flatnonzero(order_of == 0)
    threshold = None if spec.last_factor is None else spec.last_factor * spec.n_per_tile
    profile = np.zeros(spec.max_order + 2, np.int64)
    resume = None
    for k in range(max(part.order, HIPS_ORDER_MIN), spec.max_order + 1):
        if remaining.size == 0:
            break
        if k == spec.max_order:
            order_of[remaining] = k
            remaining = remaining[:0]
            break
        chosen, left, fullest = _choose(part.ipix, part.rank, remaining, k, spec.n_per_tile)
        profile[k] = fullest
        if threshold is not None and k > ALLSKY_MAX_ORDER and fullest <= threshold:
            profile[k + 1:] = threshold  # an upper bound: each deeper tile holds at most this many
            resume = k
            break
        order_of[chosen] = k
        remaining = left
    return {"order_of": order_of, "remaining": remaining, "resume": resume, "profile": profile,
            "hist": (np.bincount(_bins(part.ra, edges[0]), minlength=_MEDIAN_BINS),
                     np.bincount(_bins(part.dec, edges[1]), minlength=_MEDIAN_BINS))}


def _plan_summary(plan: dict) -> dict:
    """What the client needs of pass 2: the profile and the histograms."""
    return {"profile": plan["profile"], "hist": plan["hist"]}


def _final_orders(part: _Part, spec: CatalogHipsSpec, plan: dict, stop: int) -> np.ndarray:
    """Each row's order once the HiPS stops at ``stop`` (which takes all the rows left): the plan's
    orders below it, the plan carried on from ``resume`` when the partition stopped planning earlier."""
    order_of = plan["order_of"].copy()
    resume = plan["resume"]
    if resume is None or stop <= resume:
        order_of[(order_of == 0) | (order_of >= stop)] = stop
        return order_of
    remaining = plan["remaining"]
    for k in range(resume, stop + 1):
        if remaining.size == 0:
            break
        if k == stop:
            order_of[remaining] = k
            break
        chosen, remaining, _ = _choose(part.ipix, part.rank, remaining, k, spec.n_per_tile)
        order_of[chosen] = k
    return order_of


def _bins(values: np.ndarray, edges: tuple[float, float]) -> np.ndarray:
    """Each value's bin of ``_MEDIAN_BINS`` equal ones from ``edges[0]`` to ``edges[1]`` (passes 2 and
    3 use this same function, so a value is counted in the bin it is later picked from)."""
    lo, hi = edges
    scale = _MEDIAN_BINS / (hi - lo) if hi > lo else 0.0
    return np.clip(((values - lo) * scale).astype(np.int64), 0, _MEDIAN_BINS - 1)


def _write_part(frame, part: _Part, spec: CatalogHipsSpec, plan: dict, stop: int,
                index: int, root: str, header: bytes, median_bins) -> dict:
    """Pass 3: the rows' orders (:func:`_final_orders`), the partition's own tiles written (here when
    ``root`` is visible, else returned), and the rows of the tiles it shares with other partitions
    and of orders 1-2 returned."""
    order_of = _final_orders(part, spec, plan, stop)
    arrow = _clean_frame(frame[part.good].reset_index(drop=True), "", "")
    own = max(part.order, HIPS_ORDER_MIN)
    middle = []
    for values, edges, (b0, b1) in ((part.ra, median_bins[0], median_bins[1]), (part.dec, median_bins[2], median_bins[3])):
        b = _bins(values, edges)
        middle.append(values[(b0 <= b) & (b <= b1)])
    out = {"counts": np.bincount(order_of, minlength=spec.max_order + 1), "files": None, "shared": [],
           "median": tuple(middle)}
    # a worker that cannot write there (another machine, or another account: dask-gateway workers run as
    # the user, the folder may be someone else's) sends its tiles back instead
    visible = os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK)  # (Path.is_dir raises EACCES)
    files_root = Path(root) if visible else None
    files: dict[str, bytes] = {}
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="hips-tiles") as pool:
        for k in range(HIPS_ORDER_MIN, int(order_of.max(initial=0)) + 1):
            rows = np.flatnonzero(order_of == k)
            if rows.size == 0:
                continue
            tile = part.ipix[rows] >> (2 * (HEALPIX_29 - k))
            srt = np.lexsort((part.rank[rows], tile))
            rows, tile = rows[srt], tile[srt]
            lines = _tsv_lines(arrow.take(rows))
            if k >= own and k <= spec.max_order:
                if visible:
                    write_order_tiles(files_root, k, tile, lines, header, pool)
                else:
                    first = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
                    stops = np.r_[first[1:], tile.size]
                    for a, b in zip(first.tolist(), stops.tolist()):
                        p = int(tile[a])
                        files[f"Norder{k}/Dir{p // 10000 * 10000}/Npix{p}.tsv"] = header + b"\n".join(lines[a:b]) + b"\n"
            if k < own or k <= 2:
                out["shared"].append({"order": k, "tile": tile, "key": part.key[rows], "local": rows,
                                      "index": index, "lines": lines, "own": k >= own})
    if not visible:
        out["files"] = files
    return out


# -- the client's side ----------------------------------------------------------------------------------


class _Runner:
    """Runs a list of Dask delayed objects: on a ``distributed`` client (results as they finish, so the
    client holds one at a time when ``each`` is given), or on the threaded scheduler here."""

    def __init__(self, client, cancel) -> None:
        self.client = client
        self.cancel = cancel

    def persist(self, items: list) -> list:
        import dask

        if self.client is not None:
            return self.client.persist(items)
        return list(dask.persist(*items, scheduler="threads"))

    def run(self, items: list, each=None) -> list:
        import dask

        checkpoint(self.cancel)
        if self.client is None:
            from dask.callbacks import Callback

            cancel = self.cancel
            with Callback(pretask=lambda *_: checkpoint(cancel)):
                results = list(dask.compute(*items, scheduler="threads"))
            if each is not None:
                for i, r in enumerate(results):
                    results[i] = each(r)
            return results
        from distributed import as_completed

        futures = self.client.compute(items)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * len(futures)
        try:
            with self.client.as_current():  # as_completed asks for the current client
                for fut in as_completed(futures):
                    checkpoint(self.cancel)
                    r = fut.result()
                    results[index[fut.key]] = each(r) if each is not None else r
                    fut.release()
        except BaseException:
            self.client.cancel(futures)
            raise
        return results


def _plan_shallow(summaries: list[dict], spec: CatalogHipsSpec):
    """The client's merge: the rows each partition gives to the tiles shared with others (its local row
    -> order), and the fullest shared tile at each order (as if the HiPS did not stop before it)."""
    n_parts = len(summaries)
    orders = np.array([s["order"] for s in summaries], np.int64)
    pixels = np.array([s["pixel"] for s in summaries], np.int64)
    sizes = np.array([s["n"] for s in summaries], np.int64)
    part = np.concatenate([np.full(s["cand_local"].size, i, np.int64) for i, s in enumerate(summaries)] or [np.zeros(0, np.int64)])
    local = np.concatenate([s["cand_local"] for s in summaries] or [np.zeros(0, np.int64)]).astype(np.int64)
    key = np.concatenate([s["cand_key"] for s in summaries] or [np.zeros(0)])
    ipix = np.concatenate([s["cand_ipix"] for s in summaries] or [np.zeros(0, np.int64)]).astype(np.int64)
    rank = np.empty(part.size, np.int64)
    rank[np.lexsort((local, part, key))] = np.arange(part.size, dtype=np.int64)
    order_of = np.zeros(part.size, np.int8)
    taken = np.zeros(n_parts, np.int64)  # rows each partition gave to shallower orders so far
    fullest = np.zeros(spec.max_order + 2, np.int64)
    for k in range(HIPS_ORDER_MIN, spec.max_order):
        deeper = orders > k
        if not deeper.any():
            break
        tiles = pixels[deeper] >> (2 * (orders[deeper] - k))
        left = sizes[deeper] - taken[deeper]
        _, inv = np.unique(tiles, return_inverse=True)
        fullest[k] = int(np.bincount(inv, weights=left).max(initial=0))
        remaining = np.flatnonzero((order_of == 0) & (orders[part] > k))
        if remaining.size == 0:
            continue
        chosen, _, _ = _choose(ipix, rank, remaining, k, spec.n_per_tile)
        order_of[chosen] = k
        taken += np.bincount(part[chosen], minlength=n_parts)
    shallow: list[dict[int, int]] = [{} for _ in range(n_parts)]
    for i in np.flatnonzero(order_of).tolist():
        shallow[int(part[i])][int(local[i])] = int(order_of[i])
    return shallow, fullest


def _stop_order(spec: CatalogHipsSpec, fullest_shared: np.ndarray, profiles: list[np.ndarray],
                orders: list[int]) -> int:
    """The order that takes all the rows left: the first where no tile holds more than
    ``last_factor * n_per_tile`` of them, or ``max_order``."""
    threshold = None if spec.last_factor is None else spec.last_factor * spec.n_per_tile
    for k in range(HIPS_ORDER_MIN, spec.max_order + 1):
        local = [p[k] for p, o in zip(profiles, orders) if o <= k]
        fullest = max([int(fullest_shared[k])] + [int(v) for v in local])
        if fullest == 0:  # every row already placed
            return k
        if k == spec.max_order or (threshold is not None and k > ALLSKY_MAX_ORDER and fullest <= threshold):
            return k
    return spec.max_order


def _median_bins(hist: np.ndarray, n: int) -> tuple[int, int, int]:
    """The bins of the two middle values of ``n`` (one when ``n`` is odd), and the count before them."""
    cum = np.cumsum(hist)
    lo, hi = (n - 1) // 2, n // 2
    b0 = int(np.searchsorted(cum, lo, side="right"))
    b1 = int(np.searchsorted(cum, hi, side="right"))
    return b0, b1, int(cum[b0 - 1]) if b0 > 0 else 0


def _median(values: list[np.ndarray], before: int, n: int) -> float:
    v = np.sort(np.concatenate(values))
    lo, hi = (n - 1) // 2 - before, n // 2 - before
    return float(np.median(v[[lo, hi]])) if lo != hi else float(v[lo])


def _open(hats_path: Path, columns: list[str]):
    """The catalogue and its partitions (give it a :func:`~platform_lib.catalogs.pinned` path: one version)."""
    import lsdb

    cat = lsdb.open_catalog(hats_path, columns=columns)
    return cat, [(int(p.order), int(p.pixel)) for p in cat.get_healpix_pixels()]


def cluster_catalog_hips(hats_path: Path, dest: Path, spec: CatalogHipsSpec, *, ra: str, dec: str,
                         magnitude: str | None, columns: list[str], units: dict, ucds: dict,
                         density_order: int | None = 7, client=None, cancel=None) -> Path:
    """Write the HiPS catalogue of the HATS catalogue at ``hats_path`` (``columns``: those the tiles
    carry, positions first) at ``dest``, computed per partition on ``client`` (a ``distributed``
    client) or, when None, on Dask's threaded scheduler here. Returns ``dest``."""
    import dask

    from platform_lib.catalogs import pinned

    hats_path = pinned(hats_path)  # both opens and every partition read: one catalogue version
    runner = _Runner(client, cancel)
    narrow_cols = list(dict.fromkeys([ra, dec] + ([magnitude] if magnitude else [])))
    narrow, pixels = _open(hats_path, narrow_cols)
    full, pixels_full = _open(hats_path, columns)
    if pixels != pixels_full:
        raise HipsError(f"{hats_path} changed while it was read; build again", value=str(hats_path))
    prepare = dask.delayed(_prepare, pure=True)
    parts = runner.persist([prepare(d, o, p, ra, dec, magnitude) for d, (o, p) in zip(narrow.to_delayed(), pixels)])
    summaries = runner.run([dask.delayed(_summary)(p, spec, density_order) for p in parts])
    n = sum(s["n"] for s in summaries)
    skipped = sum(s["skipped"] for s in summaries)
    if n == 0:
        raise HipsError("the catalogue has no rows with a finite position: nothing to build a HiPS from", value=0)
    shallow, fullest_shared = _plan_shallow(summaries, spec)
    ranges = np.array([s["range"] for s in summaries if s["range"] is not None])
    edges = ((float(ranges[:, 0].min()), float(ranges[:, 1].max())),
             (float(ranges[:, 2].min()), float(ranges[:, 3].max())))
    density = None
    if density_order is not None:
        density = np.zeros(12 * 4**density_order)
        for s in summaries:
            if s["density"] is not None:
                density[s["density"][0]] += s["density"][1]
    orders = [s["order"] for s in summaries]
    del summaries
    plans = runner.persist([dask.delayed(_plan)(p, spec, sh, edges) for p, sh in zip(parts, shallow)])
    profiles = runner.run([dask.delayed(_plan_summary)(pl) for pl in plans])
    stop = _stop_order(spec, fullest_shared, [p["profile"] for p in profiles], orders)
    hist_ra = sum(p["hist"][0] for p in profiles)
    hist_dec = sum(p["hist"][1] for p in profiles)
    del profiles
    ra_b0, ra_b1, ra_before = _median_bins(hist_ra, n)
    dec_b0, dec_b1, dec_before = _median_bins(hist_dec, n)
    median_bins = (edges[0], (ra_b0, ra_b1), edges[1], (dec_b0, dec_b1))
    del shallow

    meta = full.meta.reset_index(drop=True)
    meta = meta[[c for c in meta.columns if c != "_healpix_29"]]
    header = tile_header([str(c) for c in meta.columns])
    counts = np.zeros(spec.max_order + 1, np.int64)
    shared: list[dict] = []
    medians: tuple[list, list] = ([], [])
    with _AtomicDir(Path(dest)) as out:
        root = out.tmp

        def collect(r: dict) -> None:  # as each partition finishes: write what it sent back, keep the shared rows
            nonlocal counts
            counts += r["counts"]
            for rel, body in (r["files"] or {}).items():
                path = root / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
            shared.extend(r["shared"])
            medians[0].append(r["median"][0])
            medians[1].append(r["median"][1])

        write = dask.delayed(_write_part)
        runner.run([write(f, p, spec, pl, stop, i, str(root), header, median_bins)
                    for i, (f, p, pl) in enumerate(zip(full.to_delayed(), parts, plans))], each=collect)
        del parts, plans
        checkpoint(cancel)
        _metadata_votable(root / "metadata.xml", meta, ra, dec, units or {}, ucds or {})
        max_order = int(np.flatnonzero(counts).max())
        for k in range(HIPS_ORDER_MIN, max_order + 1):
            pieces = [s for s in shared if s["order"] == k]
            if not pieces:
                continue
            tile = np.concatenate([s["tile"] for s in pieces])
            key = np.concatenate([s["key"] for s in pieces])
            idx = np.concatenate([np.full(s["tile"].size, s["index"], np.int64) for s in pieces])
            loc = np.concatenate([s["local"] for s in pieces])
            srt = np.lexsort((loc, idx, key, tile))
            lines = [line for s in pieces for line in s["lines"]]
            lines = [lines[i] for i in srt.tolist()]
            own = np.concatenate([np.full(s["tile"].size, s["own"]) for s in pieces])[srt]
            if (~own).any():  # tiles shared by several partitions: written here
                write_order_tiles(root, k, tile[srt][~own], [l for l, o in zip(lines, own.tolist()) if not o], header)
            if k <= 2:
                write_allsky(root, k, header, lines)
        per_order = {str(k): int(counts[k]) for k in range(HIPS_ORDER_MIN, max_order + 1)}
        initial = (_median(medians[0], ra_before, n), _median(medians[1], dec_before, n))
        finish_catalog_hips(root, header, spec, n=n, max_order=max_order, counts=per_order, skipped=skipped,
                            magnitude=magnitude, initial=initial)
        if density is not None:
            _write_density_fits(root / "density.fits", density, spec.title)
        checkpoint(cancel)
        return out.commit()


def _density_counts(frame, order: int) -> tuple[np.ndarray, np.ndarray]:
    ipix = _ipix_of(frame)
    if ipix is None:
        raise HipsError("a HATS partition without _healpix_29", value="_healpix_29")
    return np.unique(ipix >> (2 * (HEALPIX_29 - order)), return_counts=True)


def cluster_density_counts(hats_path: Path, column: str, order: int, *, client=None, cancel=None) -> np.ndarray:
    """Sources per nested HEALPix cell at ``order`` of a HATS catalogue, counted per partition (on
    ``client`` or the threaded scheduler); only ``column`` and the ``_healpix_29`` index are read."""
    import dask

    if not 0 <= order <= 13:
        raise HipsError(f"density map order must be between 0 and 13, got {order}", value=order)
    from platform_lib.catalogs import pinned

    cat, _ = _open(pinned(hats_path), [column])
    counts = np.zeros(12 * 4**order)

    def add(r):
        counts[r[0]] += r[1]

    _Runner(client, cancel).run([dask.delayed(_density_counts)(d, order) for d in cat.to_delayed()], each=add)
    return counts
