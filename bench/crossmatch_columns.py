"""What carrying all of a catalogue's columns through an in-memory crossmatch costs, against astropy.

Matches the sample Hipparcos catalogue (117,955 rows, 17 masked columns with units, from
:func:`platform_lib.sampledata.hipparcos_table`) against itself and against a copy whose positions are
moved by 0.3 arcsec (Gaussian, per coordinate) at 1 arcsec, modes ``all`` / ``nearest`` / ``best``, with
3 columns (HIP, ra, dec) and with all 17. The peer, in the same run, on the same columns: astropy's
``search_around_sky`` (``all``) or ``match_coordinates_sky`` (``nearest``; both ways and kept when mutual
for ``best``) followed by ``hstack`` of the matched rows and a separation column. The 3- and 17-column
calls are interleaved and each figure is the median of ``--repeat`` runs; the load average is printed.
Then the output assembly (``crossmatch()`` less ``match_pairs()`` on the same positions, both public)
against its floor, ``numpy.take`` of each column's data and mask.

The first call of each mode in a process is timed apart (``first``): with no compiled kernel in the
numba cache it is the kernel's compilation (25 to 65 s, see ``_warm``), whatever the columns.
``--cold`` also times, in a fresh Python with an empty numba cache, an all-column call followed by a
3-column call: the order a user (or a benchmark) who tries the wide table first meets them in.

    .venv/bin/python bench/crossmatch_columns.py [--repeat 5] [--modes all,nearest,best] [--cold]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODES = ("all", "nearest", "best")
NARROW = ["HIP", "ra", "dec"]


def tables():
    import numpy as np

    from platform_lib.sampledata import hipparcos_table

    full = hipparcos_table()
    moved = full.copy()
    rng = np.random.default_rng(1)
    shift = 0.3 / 3600.0
    dec = np.clip(np.asarray(moved["dec"]) + rng.normal(0, shift, len(moved)), -90, 90)
    ra = (np.asarray(moved["ra"]) + rng.normal(0, shift, len(moved)) / np.cos(np.radians(dec))) % 360
    moved["ra"][:] = ra
    moved["dec"][:] = dec
    return full, moved


def ours(left, right, mode):
    import astropy.units as u

    from platform_lib.crossmatch import crossmatch

    return crossmatch(left, right, 1 * u.arcsec, mode=mode)


def astropy_peer(left, right, mode):
    """The same output with astropy alone: SkyCoord matching, then ``hstack`` of the matched rows."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord, match_coordinates_sky, search_around_sky
    from astropy.table import Column, hstack

    c1 = SkyCoord(np.asarray(left["ra"]) * u.deg, np.asarray(left["dec"]) * u.deg)
    c2 = SkyCoord(np.asarray(right["ra"]) * u.deg, np.asarray(right["dec"]) * u.deg)
    r = 1 * u.arcsec
    if mode == "all":
        i1, i2, sep, _ = search_around_sky(c1, c2, r)
    else:
        i2, sep, _ = match_coordinates_sky(c1, c2)
        i1 = np.arange(len(c1))
        keep = sep < r
        if mode == "best":
            back, _, _ = match_coordinates_sky(c2, c1)
            keep &= back[i2] == i1
        i1, i2, sep = i1[keep], i2[keep], sep[keep]
    out = hstack([left[i1], right[i2]], table_names=["1", "2"])
    out["separation_arcsec"] = Column(sep.to_value(u.arcsec), unit=u.arcsec)
    return out


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, len(out)


def assembly_only(full, repeat: int) -> None:
    """The output assembly on the pairs of mode ``all``, through the public calls, against its floor.

    The assembly is the whole ``crossmatch(mode="all")`` less ``match_pairs`` on the same positions
    (the pairs alone; both public), each the median of ``repeat`` runs. The floor is ``numpy.take`` of
    each column's data and mask for both sides, with no Table built: what copying the matched rows costs
    at the least.
    """
    import astropy.units as u
    import numpy as np

    from platform_lib.crossmatch import crossmatch, match_pairs

    lon, lat = np.asarray(full["ra"]), np.asarray(full["dec"])
    i1, i2, sep = match_pairs(lon, lat, lon, lat, 1 * u.arcsec)

    def floor(t):
        return [np.take(a, i) for i in (i1, i2) for c in t.colnames
                for a in (np.asarray(t[c].data), np.ma.getmaskarray(t[c]))]

    crossmatch(full[NARROW], full[NARROW], 1 * u.arcsec, mode="all")  # warm: imports, the kernel
    print(f"\nassembly, {len(i1)} pairs (load {os.getloadavg()[0]:.1f}), medians of {repeat} "
          "(each run times crossmatch and match_pairs back to back, and takes the difference):")
    for label, cols in (("3 cols", NARROW), ("17 cols", full.colnames)):
        t = full[cols]
        assembly = []
        for _ in range(repeat):
            whole = timed(lambda: crossmatch(t, t, 1 * u.arcsec, mode="all"))[0]
            assembly.append(whole - timed(lambda: [match_pairs(lon, lat, lon, lat, 1 * u.arcsec)])[0])
        bare = statistics.median(timed(lambda: floor(t))[0] for _ in range(repeat))
        print(f"  {label}: assembly {statistics.median(assembly):.3f} s (crossmatch less match_pairs), "
              f"numpy.take floor {bare:.3f} s")


def cold_order() -> dict:
    """All columns then 3 columns, in a fresh Python whose numba cache is empty (what the report saw)."""
    code = (
        "import sys, json, time; sys.path.insert(0, %r); from bench.crossmatch_columns import tables, ours, NARROW\n"
        "full, _ = tables(); out = {}\n"
        "for name, t in (('all columns, first call', full), ('3 columns, second call', full[NARROW])):\n"
        "    t0 = time.perf_counter(); ours(t, t, 'all'); out[name] = time.perf_counter() - t0\n"
        "print('RESULT', json.dumps(out))\n" % str(REPO))
    with tempfile.TemporaryDirectory() as cache:
        res = subprocess.run([sys.executable, "-c", code], env={**os.environ, "NUMBA_CACHE_DIR": cache},
                             capture_output=True, text=True, check=True)
    line = next(l for l in res.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated; empty for none")
    parser.add_argument("--cold", action="store_true", help="also time the all-then-3-columns order cold")
    parser.add_argument("--no-peer", action="store_true", help="leave out astropy (slow for mode all)")
    args = parser.parse_args()
    full, moved = tables()
    print(f"Hipparcos {len(full)} rows, {len(full.colnames)} columns; load average at start "
          f"{os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    for mode in filter(None, args.modes.split(",")):
        first, n = timed(ours, full[NARROW], full[NARROW], mode)
        print(f"\nmode={mode}: first call in this process (3 columns) {first:.2f} s")
        for rname, right in (("self", full), ("moved 0.3\"", moved)):
            runs: dict[str, list[float]] = {}
            pairs = {}
            for _ in range(args.repeat):
                for label, cols in (("3 cols", NARROW), ("17 cols", full.colnames)):
                    lt, rt = full[cols], right[cols]
                    t, pairs[label] = timed(ours, lt, rt, mode)
                    runs.setdefault(f"ours {label}", []).append(t)
                    if not args.no_peer:
                        t, pairs[f"astropy {label}"] = timed(astropy_peer, lt, rt, mode)
                        runs.setdefault(f"astropy {label}", []).append(t)
            med = {k: statistics.median(v) for k, v in runs.items()}
            print(f"  vs {rname}: {pairs['3 cols']} pairs, load {os.getloadavg()[0]:.1f}")
            for k, v in med.items():
                print(f"    {k:18s} median {v:7.3f} s  (min {min(runs[k]):.3f}, max {max(runs[k]):.3f})")
            print(f"    ours 17/3 cols: {med['ours 17 cols'] / med['ours 3 cols']:.2f}x", end="")
            if not args.no_peer:
                print(f"   astropy 17/3 cols: {med['astropy 17 cols'] / med['astropy 3 cols']:.2f}x"
                      f"   astropy/ours at 17 cols: {med['astropy 17 cols'] / med['ours 17 cols']:.1f}x", end="")
            print()
    assembly_only(full, max(args.repeat, 7))
    if args.cold:
        res = cold_order()
        print(f"\ncold numba cache, fresh Python (load {os.getloadavg()[0]:.1f}): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in res.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
