"""The TAP capabilities document (``astrohub_archive.vosi``) against what the service answers. Pure.

TOPCAT and pyvo read the output formats and ADQL features a service offers from its capabilities: a format
or feature the service answers but does not declare is one its users do not find.
"""

from __future__ import annotations

import io

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


def test_each_declared_user_defined_function_translates():
    """The RegTAP text functions are declared as TAPRegExt ``features-udf`` (TOPCAT lists them in its ADQL
    help); each declared signature's function is answered with as many arguments as it declares."""
    import re

    (udfs,) = [feats for feats in _tap_capability().languages[0].languagefeaturelists
               if feats.type == "ivo://ivoa.net/std/TAPRegExt#features-udf"]
    names = set()
    for f in udfs:
        m = re.fullmatch(r"(\w+)\((.*)\) -> INTEGER", f.form)
        assert m and f.description, f.form
        names.add(m.group(1))
        args = ", ".join("obs_id" for _ in m.group(2).split(","))
        translate(f"SELECT {m.group(1)}({args}) AS x FROM ivoa.obscore", table_set(None, None))
    assert names == {"ivo_hasword", "ivo_nocasematch", "ivo_hashlist_has"}
