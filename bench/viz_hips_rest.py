"""Benchmark: the archive keeping the rest of a 10^6-row table's HiPS (``UserHipsStore.add_rest``), against the
way before (viz16) in the same run.

Usage: ``.venv/bin/python bench/viz_hips_rest.py [--rows N] [--repeat R]`` (default 10^6 rows, best of 3).

The table is :func:`viz_table_show.catalogue` (Hipparcos, then copies moved by ~1 deg and dimmed, to ``N`` rows),
built in two parts as ``viz.show(table)`` builds it (:func:`platform_lib.viz._build.table_hips_parts`: the
whole-sky orders, then a tar of the deeper ones and the final ``properties``). For each repeat a fresh first part
is kept (``UserHipsStore.add``), then the rest is kept from the tar file as the archive's spool holds it after the
upload, alternately:

- ``now``: :meth:`UserHipsStore.add_rest` (each tile checked as the tar is read, then written; nothing read back);
- ``before``: :func:`old_add_rest`, the code before viz16 (unpack every file, link the whole HiPS into a second
  folder, :func:`platform_lib.viz.validate_hips` reading every tile of both parts back).

Timed from the rest's file complete to the HiPS whole (what delays the deep tiles a viewer waits for): wall-clock
and CPU seconds of this process, and the bytes it read and wrote through system calls (``/proc/self/io``'s
``rchar`` and ``wchar``: files, whatever the page cache then does). Prints the best of ``--repeat`` for each, and
the ratios now / before; the figures are in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from viz_table_show import catalogue  # noqa: E402


def io_bytes() -> tuple[int, int]:
    """(bytes read, bytes written) by this process's system calls so far (``/proc/self/io``)."""
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]), int(fields["wchar"])


def old_add_rest(store, owner: str, name: str, archive: Path) -> dict:
    """``UserHipsStore.add_rest`` as it was before viz16 (reservation, budgets and locks as now)."""
    from astrohub_archive.userhips import UserHipsError, _unpack, disk_bytes
    from platform_lib.atomic import write_atomic
    from platform_lib.viz import HIPS_BUILDING as BUILDING
    from platform_lib.viz import HipsError, read_hips_properties, validate_hips

    reservation = store.reserve(owner, count=False)
    try:
        meta = store._own(owner, name)
        first = meta.get("building")
        folder = store.root / name
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.rest.", dir=store.root))
        try:
            _unpack(archive, tmp, grow=lambda n: reservation.grow(n, "the upload unpacks to at least"))
            size = disk_bytes(tmp)
            new = sorted(p.name for p in tmp.iterdir())
            orders = [n for n in new if n.startswith("Norder") and n[6:].isdigit()]
            if "properties" not in new or set(new) - {"properties", *orders} or any(int(n[6:]) < first for n in orders):
                raise UserHipsError("not the rest")
            props = read_hips_properties(tmp / "properties")
            if BUILDING in props:
                raise UserHipsError("not the last part")
            whole = tmp / ".whole"
            shutil.copytree(folder, whole, copy_function=os.link,
                            ignore=lambda d, names: ["properties"] if Path(d) == folder else [])
            for part in [*orders, "properties"]:
                os.link(tmp / part, whole / part) if part == "properties" else \
                    shutil.copytree(tmp / part, whole / part, copy_function=os.link)
            try:
                report = validate_hips(whole)
            except HipsError as exc:
                raise UserHipsError(str(exc)) from None
            with store._kept():
                meta = store._own(owner, name)
                store.check_fits(owner, *store.in_use(owner, but=reservation), size, "the upload unpacks to")
                for part in orders:
                    os.chmod(tmp / part, 0o755)
                    os.rename(tmp / part, folder / part)
                os.replace(tmp / "properties", folder / "properties")
                meta = {k: v for k, v in meta.items() if k not in ("building", "building_since")}
                meta.update(rows=report.rows, bytes=disk_bytes(folder))
                write_atomic(store.owners / f"{name}.json", json.dumps(meta))
                reservation.release()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        reservation.release()
    return meta


def main() -> None:
    from astrohub_archive.userhips import UserHipsStore
    from platform_lib.viz._build import table_hips_parts

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-hips-rest-"))
    try:
        parts = table_hips_parts(catalogue(args.rows), work / "built", title="bench", magnitude="Hpmag")
        first = next(parts)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for item in sorted(first.rglob("*")):
                if item.is_file():
                    tar.add(item, arcname=str(item.relative_to(first)))
        first_tar = buf.getvalue()
        rest = Path(next(parts))
        with tarfile.open(rest) as tar:
            tiles = sum(1 for m in tar if m.isfile() and "/Npix" in m.name)
        print(f"{args.rows} rows: first part {len(first_tar) / 2**20:.1f} MiB, rest {rest.stat().st_size / 2**20:.1f} "
              f"MiB tar of {tiles} tiles", flush=True)
        store = UserHipsStore(work / "hips")
        best: dict[str, list[float]] = {"now": [], "before": []}
        for i in range(args.repeat):
            for way, keep in (("before", lambda n: old_add_rest(store, "ann", n, rest)),
                              ("now", lambda n: store.add_rest("ann", n, rest))):
                name = store.add("ann", f"{way}{i}", first_tar)["name"]
                read0, wrote0 = io_bytes()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                kept = keep(name)
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                read1, wrote1 = io_bytes()
                assert kept["rows"] == args.rows and "building" not in kept
                store.delete("ann", name)
                print(f"  {way:6s} {wall:6.2f} s wall, {cpu:6.2f} s CPU, read {(read1 - read0) / 2**20:7.1f} MiB, "
                      f"wrote {(wrote1 - wrote0) / 2**20:7.1f} MiB", flush=True)
                best[way].append((wall, cpu, read1 - read0, wrote1 - wrote0))
        now = [min(x[j] for x in best["now"]) for j in range(4)]
        before = [min(x[j] for x in best["before"]) for j in range(4)]
        for j, what in enumerate(("wall s", "CPU s", "read MiB", "wrote MiB")):
            scale = 1 if j < 2 else 2**20
            print(f"{what:10s} now {now[j] / scale:8.2f}  before {before[j] / scale:8.2f}  ratio "
                  f"{now[j] / before[j]:.2f}")
        parts.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
