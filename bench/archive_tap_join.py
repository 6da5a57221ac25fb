"""Benchmark: TAP's positional join (upload crossmatch) on DuckDB against the platform's crossmatch kernel.

Usage: ``.venv/bin/python bench/archive_tap_join.py [--rows N] [--upload M] [--repeat R]``
(default 10^6 catalogue rows, 10^4 uploaded positions, 1 arcsec). The same ADQL the archive serves
(``DISTANCE(...) < r`` and ``1 = CONTAINS(POINT, CIRCLE)``) is translated and run by
``astrohub_archive`` on in-memory Arrow tables both ways: as served (candidate pairs from the
crossmatch kernel, joined back in DuckDB) and as the plan's fallback, a DuckDB range join on the
declination band; the floor in the same process is ``platform_lib.crossmatch.match_pairs`` alone on
the same arrays, first call (numba compilation included, what a fresh service process pays) and warm. Also
``COUNT(*)`` and a ``GROUP BY`` over the catalogue. Prints seconds and ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from harness import best_of


def main() -> None:
    import astropy.units as u
    import pyarrow as pa

    from astrohub_archive.adql import translate
    from astrohub_archive.engine import run_plan
    from astrohub_archive.tapschema import ColumnDesc, TableDesc, table_set
    from platform_lib.crossmatch import match_pairs

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--upload", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    ra = rng.uniform(0, 360, args.rows)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, args.rows)))
    big = pa.table({"id": np.arange(args.rows), "ra": ra, "dec": dec})
    pick = rng.choice(args.rows, args.upload, replace=False)
    mine = pa.table({"id": np.arange(args.upload), "ra": ra[pick] + 1e-5, "dec": dec[pick]})
    cols = tuple(ColumnDesc(n, t) for n, t in (("id", "long"), ("ra", "double"), ("dec", "double")))
    descs = {k: TableDesc(f"TAP_UPLOAD.{k}", "TAP_UPLOAD", cols, "upload") for k in ("big", "mine")}
    tables = table_set(None, None)

    def run(adql: str, range_join: bool = False) -> tuple[float, int]:
        def once() -> int:
            plan = translate(adql, tables, descs)
            if range_join:
                plan.sql = plan.fallback_sql
            out, _ = run_plan(plan, tables=tables, state=None, viewer=None, access_base="", maxrec=10**7,
                              uploads={"big": big, "mine": mine})
            return len(out)

        return best_of(once, args.repeat)

    results = {}
    for label, adql in (
        ("join DISTANCE < r", "SELECT u.id, b.id AS bid FROM TAP_UPLOAD.mine AS u JOIN TAP_UPLOAD.big AS b ON "
                              "DISTANCE(POINT(u.ra, u.dec), POINT(b.ra, b.dec)) < 1.0 / 3600"),
        ("join CONTAINS", "SELECT u.id, b.id AS bid FROM TAP_UPLOAD.mine AS u JOIN TAP_UPLOAD.big AS b ON "
                          "1 = CONTAINS(POINT(u.ra, u.dec), CIRCLE(b.ra, b.dec, 1.0 / 3600))"),
        ("COUNT(*)", "SELECT COUNT(*) AS n FROM TAP_UPLOAD.big"),
        ("GROUP BY", "SELECT c, COUNT(*) AS n FROM (SELECT FLOOR(ra) AS c FROM TAP_UPLOAD.big) AS t GROUP BY c"),
    ):
        results[label] = run(adql)
        print(f"{label:20s} {results[label][0]:8.3f} s  {results[label][1]} rows")
        if label.startswith("join"):
            results[label + " (range join)"] = run(adql, range_join=True)
            print(f"{'  as a range join':20s} {results[label + ' (range join)'][0]:8.3f} s  "
                  f"{results[label + ' (range join)'][1]} rows")
    t0 = time.perf_counter()
    i1, _, _ = match_pairs(mine["ra"].to_numpy(), mine["dec"].to_numpy(), ra, dec, 1 * u.arcsec)
    first = time.perf_counter() - t0
    warm = best_of(lambda: match_pairs(mine["ra"].to_numpy(), mine["dec"].to_numpy(), ra, dec, 1 * u.arcsec),
                   args.repeat)[0]
    print(f"{'match_pairs first':20s} {first:8.3f} s  {len(i1)} pairs (numba compilation included)")
    print(f"{'match_pairs warm':20s} {warm:8.3f} s")
    join, rj = results["join DISTANCE < r"][0], results["join DISTANCE < r (range join)"][0]
    print(f"ratio range join / TAP join on the kernel: {rj / join:.2f}; TAP join on the kernel / bare kernel warm: "
          f"{join / warm:.2f}")


if __name__ == "__main__":
    main()
