"""The TAP capabilities document (``astrohub_archive.vosi``) against what the service answers. Pure.

TOPCAT and pyvo read the output formats and ADQL features a service offers from its capabilities: a format
or feature the service answers but does not declare is one its users do not find.
"""

from __future__ import annotations

import io
import math

import pytest

from astrohub_archive import vosi
from astrohub_archive.adql import translate
from astrohub_archive.faults import UsageFault
from astrohub_archive.tap import TapRequest
from astrohub_archive.tapschema import table_set
from astrohub_archive.writers import RESPONSE_FORMATS


def _tap_capability():
    from pyvo.io.vosi import parse_capabilities

    doc = vosi.capabilities("http://archive.test/tap/", max_rows=100_000, default_rows=1000, retention_s=86400,
                            execution_s=600, upload_bytes=2**25)
    (tap,) = [c for c in parse_capabilities(io.BytesIO(doc)) if c.standardid == "ivo://ivoa.net/std/TAP"]
    return tap


def _answered(fmt: str) -> str | None:
    """The format name a sync query with ``RESPONSEFORMAT=fmt`` is answered in, None when refused."""
    try:
        return TapRequest({"QUERY": "SELECT 1", "RESPONSEFORMAT": fmt}).fmt
    except UsageFault:
        return None


def test_every_output_format_the_service_answers_is_declared_and_the_refusal_names_them():
    """JSON results were answered (``RESPONSEFORMAT=json``) but neither declared nor named by the refusal of
    an unknown format, so TOPCAT's and pyvo's format lists lacked it."""
    tap = _tap_capability()
    declared = {_answered(alias) for of in tap.outputformats for alias in [of.mime, *of.aliases]}
    answered = {_answered(fmt) for fmt in RESPONSE_FORMATS} - {None}
    assert None not in declared and declared == answered, (declared, answered)
    assert "application/json" in [of.mime for of in tap.outputformats]
    with pytest.raises(UsageFault) as info:
        TapRequest({"QUERY": "SELECT 1", "RESPONSEFORMAT": "text/html"})
    for of in tap.outputformats:
        assert of.aliases[0] in str(info.value), str(info.value)


@pytest.mark.parametrize("form, adql", [
    ("CAST", "SELECT CAST(s_ra AS INTEGER) AS r FROM ivoa.obscore"),
    ("OFFSET", "SELECT obs_id FROM ivoa.obscore ORDER BY obs_id OFFSET 2"),
    ("ILIKE", "SELECT obs_id FROM ivoa.obscore WHERE obs_id ILIKE 'a%'"),
    ("DISTANCE", "SELECT DISTANCE(POINT(s_ra, s_dec), POINT(1, 2)) AS d FROM ivoa.obscore"),
    # ADQL 2.1's optional WITH and IN_UNIT, answered since they were measured against DaCHS (tap12)
    ("WITH", "WITH x AS (SELECT obs_id FROM ivoa.obscore) SELECT obs_id FROM x"),
    ("IN_UNIT", "SELECT IN_UNIT(s_ra, 'arcsec') AS a FROM ivoa.obscore"),
    # ADQL 2.1's features-adql-string has UPPER beside LOWER and ILIKE, features-adql-conditional COALESCE (vo18)
    ("UPPER", "SELECT UPPER(obs_id) AS u FROM ivoa.obscore"),
    ("COALESCE", "SELECT COALESCE(target_name, obs_id) AS n FROM ivoa.obscore"),
])
def test_the_adql_features_used_in_practice_are_declared_and_answered(form, adql):
    """``CAST`` (ADQL 2.1's optional type feature) was answered but not declared; each declared feature here
    is translated. ``UPPER`` and ``COALESCE`` were answered but not declared: ADQL 2.1 makes both optional
    (``features-adql-string``, ``features-adql-conditional``)."""
    forms = {f.form for feats in _tap_capability().languages[0].languagefeaturelists for f in feats}
    assert form in forms, sorted(forms)
    translate(adql, table_set(None, None))


def _udf_forms() -> dict[str, str]:
    """``{NAME: form}`` of every TAPRegExt ``features-udf`` the capabilities declare, each with a description."""
    import re

    (udfs,) = [feats for feats in _tap_capability().languages[0].languagefeaturelists
               if feats.type == "ivo://ivoa.net/std/TAPRegExt#features-udf"]
    out = {}
    for f in udfs:
        m = re.fullmatch(r"(\w+)\((.*)\) -> [A-Z]+", f.form)
        assert m and f.description, f.form
        out[m.group(1).upper()] = f.form
    return out


def test_each_declared_user_defined_function_translates():
    """The RegTAP text functions are declared as TAPRegExt ``features-udf`` (TOPCAT lists them in its ADQL
    help); each declared signature's function is answered with as many arguments as it declares."""
    forms = _udf_forms()
    for name in ("IVO_HASWORD", "IVO_NOCASEMATCH", "IVO_HASHLIST_HAS"):
        args = ", ".join("obs_id" for _ in forms[name].split(","))
        translate(f"SELECT {name}({args}) AS x FROM ivoa.obscore", table_set(None, None))


#: A call of each function beyond ADQL the service declares, on the upload of :func:`_mine`, and its answer
#: (rows in ``id`` order; one row for an aggregate).
BEYOND_ADQL = {
    "GREATEST": ("GREATEST(x, 2)", [2.0, 4.0]),
    "LEAST": ("LEAST(x, 2)", [1.0, 2.0]),
    "NULLIF": ("NULLIF(x, 4)", [1.0, None]),
    "IIF": ("IIF(x > 2, 10, 20)", [20, 10]),
    "SIGN": ("SIGN(x - 2)", [-1, 1]),
    "LN": ("LN(x)", [0.0, math.log(4)]),
    "SUBSTRING": ("SUBSTRING(s, 2, 2)", ["b", "de"]),
    "TRIM": ("TRIM('  ' || s || ' ')", ["ab", "Cdef"]),
    "LENGTH": ("LENGTH(s)", [2, 4]),
    "CONCAT": ("CONCAT(s, '!')", ["ab!", "Cdef!"]),
    "STDDEV": ("STDDEV(x)", [math.sqrt(4.5)]),
    "STDDEV_SAMP": ("STDDEV_SAMP(x)", [math.sqrt(4.5)]),
    "STDDEV_POP": ("STDDEV_POP(x)", [1.5]),
    "VARIANCE": ("VARIANCE(x)", [4.5]),
    "VAR_SAMP": ("VAR_SAMP(x)", [4.5]),
    "VAR_POP": ("VAR_POP(x)", [2.25]),
    "COUNT_IF": ("COUNT_IF(x > 2)", [1]),
}


def _mine():
    from astropy.table import Table

    from astrohub_archive.uploads import read_uploads

    buf = io.BytesIO()
    Table({"id": [1, 2], "x": [1.0, 4.0], "s": ["ab", "Cdef"]}).write(buf, format="votable")
    return read_uploads({"mine": buf.getvalue()})


def _values(adql: str, uploads) -> list:
    import numpy as np

    from astrohub_archive.engine import run_plan
    from platform_lib.imageindex import Viewer

    tables = table_set(None, None)
    table, _ = run_plan(translate(adql, tables, uploads[0]), tables=tables, state=None, viewer=Viewer(),
                        access_base="", maxrec=100, uploads=uploads[1])
    col = table.columns[0]
    return [None if v is np.ma.masked else (v.item() if hasattr(v, "item") else v) for v in col]


def test_every_function_beyond_adql_the_service_answers_is_declared_and_gives_its_answer():
    """GREATEST, LEAST, NULLIF, IIF, SUBSTRING, TRIM, LENGTH, CONCAT, STDDEV, VARIANCE, COUNT_IF, LN ... were answered
    (sqlglot passed them to DuckDB) but not declared: a user could not find them in /capabilities, and a query
    using them failed on the next service. Each is now a TAPRegExt ``features-udf`` with its form and description,
    and each declared one gives the answer its description says."""
    forms = _udf_forms()
    beyond = set(forms) - {"IVO_HASWORD", "IVO_NOCASEMATCH", "IVO_HASHLIST_HAS"}
    assert beyond == set(BEYOND_ADQL), sorted(beyond ^ set(BEYOND_ADQL))
    uploads = _mine()
    for name, (call, want) in BEYOND_ADQL.items():
        got = _values(f"SELECT {call} AS v FROM TAP_UPLOAD.mine" + ("" if len(want) == 1 else " ORDER BY id"),
                      uploads)
        assert got == pytest.approx(want) if None not in want else got == want, (name, got)
    # the refusal by name reads the words before a parenthesis: operators (AND (, NOT (, EXISTS (), types
    # (CAST(x AS CHAR(3))) and a WITH query named as a function (log (y) AS (...)) are no calls
    translate("WITH a (x) AS (SELECT s_ra FROM ivoa.obscore), log (y) AS (SELECT x FROM a) SELECT y FROM log "
              "WHERE y > 1 AND (y < 2 OR (y > 3)) AND NOT (y = 1) AND EXISTS (SELECT 1 FROM a)", table_set(None, None))
    translate("SELECT CAST(obs_id AS CHAR(3)) AS c FROM ivoa.obscore", table_set(None, None))


@pytest.mark.parametrize("call, words", [
    ("NVL(s_ra, 0)", "function NVL is not declared by this service; call COALESCE, which does the same"),
    ("ISNULL(s_ra, 0)", "function ISNULL is not declared by this service; call COALESCE"),
    ("IFNULL(s_ra, 0)", "function IFNULL is not declared by this service; call COALESCE"),
    ("CEIL(s_ra)", "function CEIL is not declared by this service; call CEILING"),
    ("POW(s_ra, 2)", "function POW is not declared by this service; call POWER"),
    ("SQUARE(s_ra)", "function SQUARE is not declared by this service; the nearest declared function is POWER"),
    ("LOG2(s_ra)", "function LOG2 is not declared by this service; the nearest declared function is LOG10"),
    ("LEN(obs_id)", "function LEN is not declared by this service; the nearest declared function is LENGTH"),
    ("SUBSTR(obs_id, 1, 2)", "function SUBSTR is not declared by this service; call SUBSTRING"),
    ("LCASE(obs_id)", "function LCASE is not declared by this service; call LOWER"),
    ("TRUNC(s_ra)", "function TRUNC is not declared by this service; call TRUNCATE"),
    ("RANDOM()", "function RANDOM is not declared by this service; call RAND"),
    ("STDEV(s_ra)", "function STDEV is not declared by this service; call STDDEV"),
    ("TRY_CAST(s_ra AS INTEGER)", "function TRY_CAST is not declared by this service; did you mean CAST?"),
    ("CONCAT_WS('-', obs_id, obs_id)", "function CONCAT_WS is not declared by this service; did you mean CONCAT?"),
    ("REPLACE(obs_id, 'a', 'b')", "function REPLACE is not declared by this service"),
    ("LEFT(obs_id, 2)", "function LEFT is not declared by this service"),
    ("GREATST(s_ra, 1)", "unknown function GREATST; did you mean GREATEST?"),
])
def test_a_function_the_service_does_not_declare_is_refused_naming_it(call, words):
    """sqlglot reads many dialects' function names (NVL, CEIL, LEN, TRY_CAST, CONCAT_WS ...) into functions DuckDB
    runs, and they ran though nothing declared them. A name not declared is now refused by name, with the declared
    function that does the same (or the nearest) and where the declared ones are listed."""
    with pytest.raises(UsageFault) as info:
        translate(f"SELECT {call} AS v FROM ivoa.obscore", table_set(None, None))
    assert str(info.value).startswith(words), str(info.value)


def test_a_seeded_rand_is_repeatable_in_a_query_and_across_queries():
    """ADQL 2.1: ``RAND(x)`` is a random value with ``x`` as its seed; the seed was ignored (DuckDB's random(), new
    each time). The same seed now gives the same value within a query and in the next one; a column seed gives
    each row its own repeatable value (a repeatable sample); ``RAND()`` is still new for each row."""
    uploads = _mine()
    q = "SELECT RAND(42) AS a, RAND(42) AS b, RAND(7) AS c, RAND(x) AS d, RAND(NULL) AS e FROM TAP_UPLOAD.mine ORDER BY id"
    import numpy as np

    from astrohub_archive.engine import run_plan
    from platform_lib.imageindex import Viewer

    tables = table_set(None, None)

    def rows():
        table, _ = run_plan(translate(q, tables, uploads[0]), tables=tables, state=None, viewer=Viewer(),
                            access_base="", maxrec=100, uploads=uploads[1])
        return [tuple(None if v is np.ma.masked else float(v) for v in row) for row in table]

    first, again = rows(), rows()
    assert first == again
    (a1, b1, c1, d1, e1), (a2, b2, c2, d2, e2) = first
    assert a1 == b1 == a2 == b2 and c1 == c2 and a1 != c1 and d1 != d2
    assert all(0 <= v < 1 for v in (a1, c1, d1, d2)) and e1 is None and e2 is None
    assert _values("SELECT RAND(4) AS v FROM TAP_UPLOAD.mine", uploads) == [d2, d2]  # the seed, not the row
    unseeded = _values("SELECT RAND() AS v FROM TAP_UPLOAD.mine", uploads)
    assert unseeded[0] != unseeded[1]
    table, _ = run_plan(translate("SELECT RAND(1), RAND(2), RAND() FROM TAP_UPLOAD.mine", tables, uploads[0]),
                        tables=tables, state=None, viewer=Viewer(), access_base="", maxrec=100, uploads=uploads[1])
    assert table.colnames == ["rand_1", "rand_2", "rand_3"]  # named as RAND() is, not "case" (RAND is reserved)
