"""Reading the public alert map S190814bv: ``read_skymap`` against ligo.skymap, healpy and astropy in the same run.

The map is the platform's sample data (1.5 MB gzipped, 400 MB inflated: nside 1024, flat NESTED, PROB and the
three distance layers, 12.6 million rows). Each reader is timed on the same file, best of ``--repeat``, wall and
process CPU (the machine is shared: read the CPU column when the load is high), with the ratio of each peer's wall
time to ours. Ours reads the same map written in two gzip members too (bgzip's layout, or files joined by ``cat``):
a layout it reads whole, which it inflated twice before polish26 (the first member, then the whole file again). Then
where our time goes: the inflate, astropy's parse of the table's bytes, and the rest (the
flat map turned into its exact multi-order form); and, for comparison, astropy's parse of the whole inflated file,
which copies the table (what read_skymap did before polish25). Figures go to docs/benchmarks.md with the load average.

    .venv/bin/python bench/skymap_read.py [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
import warnings
import zlib
from pathlib import Path


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(fewest wall seconds, fewest process-CPU seconds) of ``repeat`` calls of ``fn()``."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        del out
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import healpy
    import ligo.skymap
    from astropy.io import fits
    from astropy.table import Table

    from platform_lib.sampledata import packaged_skymaps
    from platform_lib.skymap import read_skymap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ligo.skymap.io import read_sky_map

    path = str({i.name: p for i, p in packaged_skymaps()[0]}["S190814bv_LALInference.v1.fits.gz"])
    tmp = tempfile.TemporaryDirectory()
    members = os.path.join(tmp.name, "two-members.fits.gz")
    whole = gzip.decompress(Path(path).read_bytes())
    with open(members, "wb") as f:  # the same bytes, cut in the middle of the table, each half its own member
        f.write(gzip.compress(whole[:len(whole) // 2]) + gzip.compress(whole[len(whole) // 2:]))
    del whole
    readers = [
        ("platform_lib.skymap.read_skymap (multi-order)", lambda: read_skymap(path)),
        ("platform_lib.skymap.read_skymap, the map in two gzip members", lambda: read_skymap(members)),
        (f"ligo.skymap {ligo.skymap.__version__} read_sky_map(moc=True)", lambda: read_sky_map(path, moc=True)),
        (f"ligo.skymap {ligo.skymap.__version__} read_sky_map (flat, 4 layers)",
         lambda: read_sky_map(path, distances=True)),
        (f"healpy {healpy.__version__} read_map(field=None) (flat, 4 layers)",
         lambda: healpy.read_map(path, field=None, nest=True)),
        ("astropy Table.read (the table, no HEALPix work)", lambda: Table.read(path)),
    ]
    rows = []
    print(f"load average {os.getloadavg()[0]:.1f}; best of {args.repeat}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in readers:
            wall, cpu = _timed(fn, args.repeat)
            rows.append({"reader": name, "wall_s": wall, "cpu_s": cpu})
        tmp.cleanup()
        ours = rows[0]["wall_s"]
        for row in rows:
            row["ratio_to_ours"] = row["wall_s"] / ours
            print(f"{row['reader']:60s} {row['wall_s']:6.2f} s  cpu {row['cpu_s']:5.2f} s  x{row['ratio_to_ours']:4.1f}")

        raw = Path(path).read_bytes()  # whole, as read_skymap reads it
        inflate_s, _ = _timed(lambda: zlib.decompressobj(wbits=31).decompress(raw), args.repeat)
        inflated = zlib.decompressobj(wbits=31).decompress(raw)
        whole_s, _ = _timed(lambda: fits.HDUList.fromstring(inflated)[1].data, args.repeat)
        rest = inflated[len(fits.HDUList.fromstring(inflated)[0].header.tostring()):]  # the primary is a header
        table_s, _ = _timed(lambda: fits.HDUList.fromstring(rest)[0].data, args.repeat)
        parts = {"inflate (zlib, 1.5 MB -> 400 MB)": inflate_s,
                 "astropy parses the table's bytes alone (read_skymap)": table_s,
                 "the rest (multi-order form, checks)": max(ours - inflate_s - table_s, 0.0),
                 "(astropy parses the whole file: copies the table)": whole_s}
    print("where read_skymap's time goes:")
    for name, seconds in parts.items():
        print(f"  {name:54s} {seconds:6.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": os.getloadavg()[0], "readers": rows, "ours_parts_s": parts}, f, indent=1)


if __name__ == "__main__":
    main()
