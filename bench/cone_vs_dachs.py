"""Answers, not speed: the archive's Simple Cone Search against DaCHS's on the same Hipparcos table, with pyvo.

Usage (as root, as ``bench/adql_vs_dachs.py``, whose data, servers and work folder it shares)::

    .venv/bin/python bench/cone_vs_dachs.py [--work DIR] [--keep]

DaCHS serves the sample Hipparcos table (I/311, 117,955 stars, as :mod:`platform_lib.sampledata` loads it)
through the cone search RD of ``bench/faults_vs_dachs.py`` (``//scs#q3cindex``, ``//scs#coreDescs``); ours is
``/scs/I/311/hip2`` of a real ``astrohub-archive`` over the same table. Each cone of :data:`CONES` goes to both
with ``pyvo.dal.SCSService.search`` (and ``VERB``, ``SR=0`` as given); the answers are compared: the stars
(``HIP``), the columns each service gives (case-blind names; DaCHS's added distance ``_r`` aside), and for the columns both give the datatype, unit,
UCD and every star's value (floats to a relative 1e-9, NULL equal only to NULL). docs/benchmarks.md triages
each difference. SIA v2 is compared by ``bench/sia_vs_dachs.py`` (the sample images imported into DaCHS's ObsCore).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from adql_vs_dachs import _vot_type, dachs_and_ours  # noqa: E402
from faults_vs_dachs import DACHS_SCS, write_scs_rd  # noqa: E402

#: (id, RA, Dec, SR in degrees, extra parameters): cones across RA 0, at both poles, empty, large, and metadata.
CONES: list[tuple[str, float, float, float, dict]] = [
    ("pleiades", 56.75, 24.12, 1.0, {}),
    ("ra_zero", 0.2, 10.0, 2.0, {}),
    ("ra_360", 359.9, -5.0, 1.5, {}),
    ("north_pole", 10.0, 89.5, 1.0, {}),
    ("south_pole", 200.0, -89.8, 0.5, {}),
    ("large", 100.0, -30.0, 8.0, {}),
    ("tiny_empty", 0.0, 0.0, 0.001, {}),
    ("verb1", 56.75, 24.12, 0.5, {"VERB": 1}),
    ("verb3", 56.75, 24.12, 0.5, {"VERB": 3}),
    ("metadata", 56.75, 24.12, 0.0, {}),
]


def cone(url: str, ra: float, dec: float, sr: float, extra: dict) -> dict:
    """``{"error"}`` or ``{"fields": {lower name: (name, type, unit, ucd)}, "rows": {HIP: {lower name: value}}}``."""
    import pyvo

    try:
        res = pyvo.dal.SCSService(url).search((ra, dec), sr, **extra)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {str(exc).strip()[:300]}"}
    fields = {f.name.lower(): (f.name, _vot_type(f), str(f.unit) if f.unit is not None else None, f.ucd)
              for f in res.fielddescs}
    table = res.to_table()
    key = next((n for n in table.colnames if n.lower() == "hip"), None)
    rows = {}
    for i, row in enumerate(table):
        values = {}
        for name in table.colnames:
            v = row[name]
            if v is np.ma.masked:
                v = None
            elif isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, np.generic):
                v = v.item()
            values[name.lower()] = None if isinstance(v, float) and math.isnan(v) else v
        rows[str(values[key.lower()]) if key else i] = values  # (ID_MAIN is text in DaCHS, and here since 25)
    return {"fields": fields, "rows": rows}


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) or isinstance(b, str):
        return str(a).rstrip() == str(b).rstrip()
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def compare(ours: dict, theirs: dict) -> list[str]:
    """The differences between two cone answers, as short sentences (empty: they agree)."""
    if "error" in ours or "error" in theirs:
        if "error" in ours and "error" in theirs:
            return []
        return [f"only {'astrohub' if 'error' in ours else 'DaCHS'} fails: {(ours.get('error') or theirs['error'])}"]
    diffs = []
    fo, ft = ours["fields"], theirs["fields"]
    if set(fo) - set(ft):
        diffs.append(f"columns only here: {sorted(fo[n][0] for n in set(fo) - set(ft))}")
    if set(ft) - set(fo) - {"_r"}:  # (DaCHS adds _r, the distance from the centre: "there may be other FIELDs")
        diffs.append(f"columns only in DaCHS: {sorted(ft[n][0] for n in set(ft) - set(fo))}")
    common = [n for n in fo if n in ft]
    for n in common:
        for i, what in ((1, "type"), (2, "unit"), (3, "ucd")):
            a, b = fo[n][i], ft[n][i]
            if a != b and (what == "type" or (a and b)):
                diffs.append(f"{what} of {fo[n][0]}: astrohub {a} DaCHS {b}")
    ro, rt = ours["rows"], theirs["rows"]
    if set(ro) != set(rt):
        diffs.append(f"stars: {len(ro)} here, {len(rt)} in DaCHS; only here {sorted(set(ro) - set(rt))[:10]}, "
                     f"only there {sorted(set(rt) - set(ro))[:10]}")
    for hip in sorted(set(ro) & set(rt)):
        bad = [n for n in common if not _same(ro[hip][n], rt[hip][n])]
        if bad:
            diffs.append(f"values of HIP {hip}: " + ", ".join(f"{n} {ro[hip][n]!r} vs {rt[hip][n]!r}" for n in bad))
            break
    return diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "astrohub-adql-dachs"))
    ap.add_argument("--keep", action="store_true", help="leave DaCHS and its cluster running")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    differ = 0
    with dachs_and_ours(Path(args.work), args.keep, write_scs_rd) as ours_tap:
        ours = ours_tap[: -len("tap")] + "scs/I/311/hip2"  # the catalogue dictionary's name
        for cid, ra, dec, sr, extra in CONES:
            a, b = cone(ours, ra, dec, sr, extra), cone(DACHS_SCS, ra, dec, sr, extra)
            diffs = compare(a, b)
            differ += bool(diffs)
            n = "" if "error" in a else f" ({len(a['rows'])} stars here, {len(b.get('rows', {}))} in DaCHS)"
            print(f"{cid:12s} {'differ' if diffs else 'agree'}{n}", flush=True)
            for d in diffs:
                print(f"    {d[:400]}")
            if not diffs and "error" in a:
                print(f"    both fail; astrohub: {a['error'][:200]}; DaCHS: {b['error'][:200]}")
    print(f"\n{len(CONES)} cones: {len(CONES) - differ} agree, {differ} differ (DaCHS 2.7; load average "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
