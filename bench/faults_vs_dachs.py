"""Refusals and readers: the archive's TAP, SIA v2 and cone search against DaCHS on the same bad input, and
both services' VOTables read by astropy, pyvo and STILTS.

Usage (as root, as ``bench/adql_vs_dachs.py``, whose data and servers it shares)::

    .venv/bin/python bench/faults_vs_dachs.py [--work DIR] [--keep] [--no-taplint]

The same sample catalogues as ``bench/adql_vs_dachs.py`` (Hipparcos as ``I_311.hip2``, OpenNGC as
``OpenNGC.objects``), and for DaCHS also a cone search service over Hipparcos (``scs/hip2``, an RD of its
own with DaCHS's q3c index) and DaCHS's site-wide SIA v2 service over its ``ivoa.obscore``. Part 1 sends
each request of :data:`BAD` to both services and prints, side by side, the HTTP status, the content type,
the ``QUERY_STATUS`` of the error document and its message; ours must answer every one with a VOTable error
document (``QUERY_STATUS=ERROR``, a message naming the problem) and the HTTP status DALI 1.1 gives (400 for
a usage error; 200 for SCS 1.03), never a 5xx. Part 2 fetches the answers of :data:`READ` from both in
TABLEDATA and BINARY2 and compares, per column, what astropy's VOTable parser, pyvo and STILTS
(``tpipe omode=meta`` and ``omode=stats``) read: name, datatype, arraysize, xtype, unit, UCD and the
number of NULLs; ``stilts votlint`` checks each document; ``stilts taplint`` (report E, W) runs against
both services unless ``--no-taplint``.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from adql_vs_dachs import DACHS_URL, H, N, dachs_and_ours, upload_table  # noqa: E402

DACHS = DACHS_URL.rsplit("/", 1)[0] + "/"
DACHS_SIA = DACHS + "__system__/siap2/sitewide/siap2.xml"
DACHS_SCS = DACHS + "hipscs/q/cone/scs.xml"

#: (id, service, parameters, files): the same bad request to both; ``service`` is tap, sia or scs.
BAD: list[tuple[str, str, dict, dict | None]] = [
    ("adql_syntax", "tap", {"QUERY": f"SELEC * FROM {H}"}, None),
    ("adql_where_empty", "tap", {"QUERY": f"SELECT TOP 1 * FROM {H} WHERE"}, None),
    ("adql_paren", "tap", {"QUERY": f"SELECT (HIP FROM {H}"}, None),
    ("adql_string_open", "tap", {"QUERY": f"SELECT HIP FROM {H} WHERE 'a = 'b'"}, None),
    ("unknown_table", "tap", {"QUERY": "SELECT * FROM nosuch.tab"}, None),
    ("unknown_schema_table", "tap", {"QUERY": "SELECT * FROM I_311.nosuch"}, None),
    ("unknown_column", "tap", {"QUERY": f"SELECT nosuchcol FROM {H}"}, None),
    ("unknown_qualifier", "tap", {"QUERY": f"SELECT x.HIP FROM {H} AS h"}, None),
    ("unknown_function", "tap", {"QUERY": f"SELECT NOSUCHFN(HIP) FROM {H}"}, None),
    ("function_arity", "tap", {"QUERY": f"SELECT DISTANCE(ra) FROM {H}"}, None),
    ("circle_arity", "tap", {"QUERY": f"SELECT HIP FROM {H} WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(1, 2))"},
     None),
    ("text_arith", "tap", {"QUERY": f"SELECT name + 1 FROM {N}"}, None),
    ("top_negative", "tap", {"QUERY": f"SELECT TOP -1 HIP FROM {H}"}, None),
    ("ambiguous_column", "tap", {"QUERY": f"SELECT ra FROM {H} AS a, {N} AS b"}, None),
    ("maxrec_text", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "MAXREC": "abc"}, None),
    ("maxrec_negative", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "MAXREC": "-1"}, None),
    ("format_unknown", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "RESPONSEFORMAT": "nosuch"}, None),
    ("format_old_unknown", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "FORMAT": "xls"}, None),
    ("lang_sql", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "LANG": "SQL"}, None),
    ("lang_pql", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "LANG": "PQL"}, None),
    ("query_missing", "tap", {}, None),
    ("query_empty", "tap", {"QUERY": " "}, None),
    ("request_unknown", "tap", {"QUERY": f"SELECT TOP 1 HIP FROM {H}", "REQUEST": "doNothing"}, None),
    ("upload_unknown_table", "tap", {"QUERY": "SELECT * FROM TAP_UPLOAD.nosuch"}, None),
    ("upload_param_missing", "tap", {"QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:absent"}, None),
    ("upload_param_syntax", "tap", {"QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t"}, None),
    ("upload_not_votable", "tap", {"QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t"},
     {"t": ("t.xml", b"this is not a VOTable", "application/x-votable+xml")}),
    ("upload_bad_name", "tap", {"QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "1t,param:t"}, "upload"),
    ("upload_unknown_column", "tap", {"QUERY": "SELECT nosuch FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t"}, "upload"),
    ("sia_pos_short", "sia", {"POS": "CIRCLE 10 20"}, None),
    ("sia_pos_dec", "sia", {"POS": "CIRCLE 10 200 1"}, None),
    ("sia_pos_text", "sia", {"POS": "CIRCLE a b c"}, None),
    ("sia_pos_shape", "sia", {"POS": "ELLIPSE 10 20 1 2 3"}, None),
    ("sia_pos_range", "sia", {"POS": "RANGE 10 20"}, None),
    ("sia_pos_polygon", "sia", {"POS": "POLYGON 1 2 3 4"}, None),
    ("sia_pos_radius", "sia", {"POS": "CIRCLE 10 20 -1"}, None),
    ("sia_band_text", "sia", {"BAND": "abc"}, None),
    ("sia_band_three", "sia", {"BAND": "1e-7 2e-7 3e-7"}, None),
    ("sia_time_text", "sia", {"TIME": "yesterday"}, None),
    ("sia_time_three", "sia", {"TIME": "50000 50001 50002"}, None),
    ("sia_exptime_text", "sia", {"EXPTIME": "long"}, None),
    ("sia_maxrec_text", "sia", {"POS": "CIRCLE 10 20 1", "MAXREC": "abc"}, None),
    ("sia_maxrec_negative", "sia", {"POS": "CIRCLE 10 20 1", "MAXREC": "-1"}, None),
    ("sia_format_unknown", "sia", {"POS": "CIRCLE 10 20 1", "RESPONSEFORMAT": "nosuch"}, None),
    ("scs_ra_missing", "scs", {"DEC": "10", "SR": "1"}, None),
    ("scs_ra_text", "scs", {"RA": "abc", "DEC": "10", "SR": "1"}, None),
    ("scs_dec_range", "scs", {"RA": "10", "DEC": "100", "SR": "1"}, None),
    ("scs_ra_range", "scs", {"RA": "400", "DEC": "10", "SR": "1"}, None),
    ("scs_sr_negative", "scs", {"RA": "10", "DEC": "10", "SR": "-1"}, None),
    ("scs_sr_text", "scs", {"RA": "10", "DEC": "10", "SR": "wide"}, None),
    ("scs_verb", "scs", {"RA": "10", "DEC": "10", "SR": "1", "VERB": "9"}, None),
    ("scs_nothing", "scs", {}, None),
]

#: (id, ADQL, upload): answers read by every reader from both services.
READ: list[tuple[str, str, bool]] = [
    ("hip2_row", f"SELECT * FROM {H} WHERE HIP < 4", False),
    ("text_nulls", f"SELECT TOP 6 name, type, messier, common_names, hubble, vmag, redshift FROM {N} "
                   "WHERE name LIKE 'NGC022%' ORDER BY name", False),
    ("expressions", f"SELECT TOP 3 name, CAST(vmag AS INTEGER) AS vi, COUNT(*) AS n, AVG(vmag) AS a, "
                    f"ivo_hasword(common_names, 'galaxy') AS w FROM {N} WHERE name LIKE 'NGC022%' "
                    "GROUP BY name, vmag, common_names ORDER BY name", False),
    ("geometry", f"SELECT TOP 2 name, POINT('ICRS', ra, vmag) AS p, CIRCLE('ICRS', ra, dec, 1) AS c, "
                 "DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 0, 0)) AS d, COORD2(POINT('ICRS', ra, vmag)) AS c2 "
                 f"FROM {N} WHERE name LIKE 'NGC022%' ORDER BY name", False),
    ("upload", "SELECT * FROM TAP_UPLOAD.t", True),
]

SCS_RD = """<resource schema="hipscs">
  <meta name="title">Hipparcos cone search (astrohub bench)</meta>
  <meta name="description">The sample Hipparcos table behind a cone search, for bench/faults_vs_dachs.py.</meta>
  <meta name="creationDate">2026-12-06T00:00:00</meta>
  <meta name="subject">astrohub bench</meta>
  <meta name="creator.name">astrohub</meta>
  <table id="hip2" onDisk="True" adql="False">
    <mixin>//scs#q3cindex</mixin>
{columns}  </table>
  <data id="import">
    <sources>data/hip2.vot</sources>
    <voTableGrammar/>
    <make table="hip2">
      <rowmaker idmaps="*"/>
    </make>
  </data>
  <service id="cone" allowed="scs.xml,form">
    <meta name="title">Hipparcos cone</meta>
    <meta name="shortName">hip2 cone</meta>
    <meta name="testQuery.ra">56.75</meta>
    <meta name="testQuery.dec">24.12</meta>
    <meta name="testQuery.sr">0.1</meta>
    <scsCore queriedTable="hip2">
      <FEED source="//scs#coreDescs"/>
    </scsCore>
  </service>
</resource>
"""


def write_scs_rd(rd_root: Path) -> None:
    """A cone search over Hipparcos for DaCHS: ``rd_root/hipscs/q.rd`` (its data: the i_311 VOTable)."""
    folder = rd_root / "hipscs"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copy(rd_root / "i_311" / "data" / "hip2.vot", folder / "data" / "hip2.vot")
    rd = SCS_RD.replace("{columns}", _columns(rd_root))
    (folder / "q.rd.tmp").write_text(rd)
    os.replace(folder / "q.rd.tmp", folder / "q.rd")


def _columns(rd_root: Path) -> str:
    """The Hipparcos columns of the TAP RD, the id and position at DaCHS's verbLevel 1 (its answer to VERB=1 is
    the columns up to level 10; at the default 20 it refused VERB=1, missing the three SCS requires)."""
    text = (rd_root / "i_311" / "q.rd").read_text()
    lines = [line for line in text.splitlines() if line.strip().startswith("<column ")]
    main = ('name="HIP"', 'name="ra"', 'name="dec"')
    return "".join((line.replace("<column ", '<column verbLevel="1" ') if any(m in line for m in main) else line)
                   + "\n" for line in lines)


# --- part 1: refusals ----------------------------------------------------------------------------------------


def ask(url: str, params: dict, files) -> dict:
    """One request: ``{"status", "type", "query_status", "message"}`` (message: the error INFO's text)."""
    import requests

    if files == "upload":
        from astropy.io.votable import from_table

        buf = io.BytesIO()
        from_table(upload_table()).to_xml(buf)
        name = params["UPLOAD"].split(",")[0]
        files = {"t": (f"{name}.xml", buf.getvalue(), "application/x-votable+xml")}
    try:
        if files:
            resp = requests.post(url, data=params, files=files, timeout=120)
        else:
            resp = requests.get(url, params=params, timeout=120)
    except requests.RequestException as exc:
        return {"status": None, "type": None, "query_status": None, "scs_error": False,
                "message": f"{type(exc).__name__}: {exc}"}
    text = resp.text
    status = re.search(r'<INFO[^>]*name="QUERY_STATUS"[^>]*value="([^"]*)"', text) or re.search(
        r'<INFO[^>]*value="([^"]*)"[^>]*name="QUERY_STATUS"', text)
    message = re.search(r'<INFO[^>]*name="QUERY_STATUS"[^>]*>(.*?)</INFO>', text, re.S)
    scs_error = re.search(r'<INFO[^>]*name="Error"[^>]*value="([^"]*)"', text)  # SCS 1.03's error form
    return {"status": resp.status_code, "type": resp.headers.get("Content-Type", "").split(";")[0],
            "query_status": status.group(1) if status else None, "scs_error": bool(scs_error),
            "message": " ".join((message.group(1) if message and message.group(1).strip() else
                                 scs_error.group(1) if scs_error else text[:200]).split())}


def check_ours(service: str, answer: dict) -> list[str]:
    """What is wrong with our answer to bad input (empty: a clear refusal as DALI asks)."""
    problems = []
    want = 200 if service == "scs" else 400
    if answer["status"] is None or answer["status"] >= 500:
        problems.append(f"HTTP {answer['status']}")
    elif answer["status"] != want:
        problems.append(f"HTTP {answer['status']}, not {want}")
    if answer["query_status"] != "ERROR":
        problems.append(f"QUERY_STATUS {answer['query_status']}")
    if service == "scs" and not answer["scs_error"]:
        problems.append("no INFO name=Error (SCS 1.03)")
    if "votable" not in (answer["type"] or ""):
        problems.append(f"content type {answer['type']}")
    if len(answer["message"]) < 15 or "Traceback" in answer["message"]:
        problems.append("no clear message")
    return problems


def refusals(ours_base: str) -> int:
    urls = {"tap": (ours_base + "tap/sync", DACHS_URL + "/sync"), "sia": (ours_base + "sia/query", DACHS_SIA),
            "scs": (ours_base + "scs/I/311/hip2", DACHS_SCS)}
    bad = 0
    for qid, service, params, files in BAD:
        if service == "tap":
            params = {"REQUEST": "doQuery", "LANG": "ADQL", **params}
        ours = ask(urls[service][0], params, files)
        theirs = ask(urls[service][1], params, files)
        problems = check_ours(service, ours)
        bad += bool(problems)
        print(f"{qid:24s} {'OURS: ' + '; '.join(problems) if problems else 'ok'}")
        for name, a in (("astrohub", ours), ("DaCHS", theirs)):
            print(f"    {name:8s} {a['status']} {a['type']} {a['query_status'] or ('Error' if a['scs_error'] else None)}:"
                  f" {a['message'][:260]}")
    return bad


# --- part 2: readers -----------------------------------------------------------------------------------------


def fetch(url: str, adql: str, fmt: str, upload: bool) -> bytes:
    import requests

    data = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": fmt}
    files = None
    if upload:
        from astropy.io.votable import from_table

        buf = io.BytesIO()
        from_table(upload_table()).to_xml(buf)
        data["UPLOAD"] = "t,param:t"
        files = {"t": ("t.xml", buf.getvalue(), "application/x-votable+xml")}
    resp = requests.post(url + "/sync", data=data, files=files, timeout=300)
    resp.raise_for_status()
    return resp.content


def astropy_view(path: Path) -> list[tuple]:
    from astropy.io.votable import parse

    table = parse(str(path)).get_first_table()
    arr = table.array
    out = []
    for f in table.fields:
        col = arr[f.ID or f.name] if (f.ID or f.name) in arr.dtype.names else arr[f.name]
        mask = getattr(col, "mask", None)
        nulls = 0 if mask is None else int(mask.reshape(len(col), -1).all(axis=1).sum()) if len(col) else 0
        out.append((f.name, f.datatype, f.arraysize, f.xtype, str(f.unit) if f.unit else None, f.ucd, nulls))
    return out


def pyvo_view(path: Path) -> list[tuple]:
    from astropy.io.votable import parse
    from pyvo.dal import DALResults

    res = DALResults(parse(str(path)))
    table = res.to_table()
    out = []
    for f in res.fielddescs:
        col = table[f.name]
        mask = getattr(col, "mask", None)
        nulls = 0 if mask is None or not len(col) else int(mask.reshape(len(col), -1).all(axis=1).sum())
        out.append((f.name, f.datatype, f.arraysize, f.xtype, str(f.unit) if f.unit else None, f.ucd, nulls))
    return out


def stilts_view(path: Path) -> list[tuple]:
    """STILTS's reading: ``tpipe cmd=meta`` (name, class, shape, units, UCD, xtype) and ``cmd=stats`` (NULLs:
    rows less the good values)."""
    import csv

    def tpipe(cmd: str) -> list[dict]:
        run = subprocess.run(["stilts", "tpipe", f"in={path}", "ifmt=votable", f"cmd={cmd}", "ofmt=csv"],
                             capture_output=True, text=True, timeout=120)
        if run.returncode:
            raise RuntimeError(run.stderr.strip()[-300:])
        return list(csv.DictReader(io.StringIO(run.stdout)))

    try:
        meta = tpipe("meta Name Class Shape Units UCD Xtype")
        good = {r["Name"]: r["NGood"] for r in tpipe("stats Name NGood")}
        rows = len(tpipe("keepcols 1"))
    except RuntimeError as exc:
        return [("STILTS FAILED", str(exc))]
    return [(c["Name"], c["Class"], c["Shape"] or None, c["Xtype"] or None, c["Units"] or None, c["UCD"] or None,
             rows - int(good[c["Name"]]) if good.get(c["Name"]) else None) for c in meta]


def votlint(path: Path) -> str:
    run = subprocess.run(["stilts", "votlint", f"votable={path}"], capture_output=True, text=True, timeout=120)
    lines = [ln for ln in (run.stdout + run.stderr).splitlines() if ln.strip()]
    return "clean" if not lines else f"{len(lines)} messages: " + " | ".join(lines[:4])[:400]


def readers(ours_base: str, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    diffs = 0
    for qid, adql, upload in READ:
        for fmt in ("votable", "votable/b2"):
            views = {}
            for name, url in (("astrohub", ours_base + "tap"), ("DaCHS", DACHS_URL)):
                path = folder / f"{qid}-{fmt.replace('/', '_')}-{name}.vot"
                path.write_bytes(fetch(url, adql, fmt, upload))
                views[name] = {"astropy": astropy_view(path), "pyvo": pyvo_view(path), "stilts": stilts_view(path),
                               "votlint": votlint(path)}
            print(f"{qid} ({fmt})")
            for reader in ("astropy", "pyvo", "stilts"):
                a, b = views["astrohub"][reader], views["DaCHS"][reader]
                for x, y in zip(a, b):
                    if [str(v).lower() for v in x] != [str(v).lower() for v in y]:
                        diffs += 1
                        print(f"    {reader:7s} astrohub {x}\n    {'':7s} DaCHS    {y}")
                if len(a) != len(b):
                    diffs += 1
                    print(f"    {reader}: {len(a)} columns here, {len(b)} in DaCHS")
            for name in views:
                print(f"    votlint {name}: {views[name]['votlint']}")
    return diffs


def taplint(url: str, label: str, out: Path) -> None:
    run = subprocess.run(["stilts", "taplint", f"tapurl={url}", "report=EW", "maxtable=10"],
                         capture_output=True, text=True, timeout=900)
    out.write_text(run.stdout + run.stderr)
    summary = [ln for ln in run.stdout.splitlines() if "Totals" in ln or ln.startswith(("E-", "W-"))]
    print(f"taplint {label}: " + (summary[-1] if summary else "no totals"))
    for ln in summary[:-1][:40]:
        print(f"    {ln[:300]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "astrohub-adql-dachs"))
    ap.add_argument("--keep", action="store_true", help="leave DaCHS and its cluster running")
    ap.add_argument("--no-taplint", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    work = Path(args.work)
    with dachs_and_ours(work, args.keep, write_scs_rd) as ours_tap:
        if not (work / "imported-obscore").exists():  # the (empty) ivoa.obscore DaCHS's SIA v2 service queries
            subprocess.run(["runuser", "-u", "postgres", "--", "env", f"GAVOSETTINGS={work / 'gavo.rc'}",
                            "GAVOCUSTOM=/nonexistent", "gavo", "imp", "//obscore"], check=True, cwd=work)
            (work / "imported-obscore").touch()
        ours_base = ours_tap[: -len("tap")]
        print("--- 1. the same bad input to both ---")
        bad = refusals(ours_base)
        print("--- 2. the same answers through astropy, pyvo, STILTS ---")
        diffs = readers(ours_base, work / "readers")
        if not args.no_taplint:
            print("--- 3. taplint ---")
            taplint(ours_tap, "astrohub", work / "taplint-astrohub.txt")
            taplint(DACHS_URL, "DaCHS", work / "taplint-dachs.txt")
    print(f"\n{len(BAD)} bad requests: {bad} answered unclearly by astrohub; {len(READ) * 2} answers read: "
          f"{diffs} column descriptions differ between the services")


if __name__ == "__main__":
    main()
