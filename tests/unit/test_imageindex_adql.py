"""The archive TAP service's ADQL subset (``astrohub_archive.adql``) and the R-tree query plan. Pure.

Named for the image index because the translation targets its SQL; it needs no server.
"""

from __future__ import annotations

import sqlite3

import pytest

from astrohub_archive.adql import AdqlError, translate
from astrohub_archive.tap import TABLES
from platform_lib.imageindex import Circle, ImageQuery, Polygon, Viewer
from platform_lib.imageindex.index import create_schema
from platform_lib.imageindex.query import plan_sql


def test_columns_predicates_order_and_top():
    tr = translate("SELECT TOP 5 obs_id, s_ra AS ra FROM ivoa.obscore AS o WHERE o.s_dec >= -10.5 AND "
                   "(obs_collection = 'FIR''ST' OR calib_level IN (2, 3)) AND t_min BETWEEN 1 AND 2 AND "
                   "target_name IS NOT NULL AND 5 < t_exptime ORDER BY obs_id DESC, s_ra", TABLES)
    assert tr.columns == [("obs_id", "obs_id"), ("s_ra", "ra")] and tr.top == 5
    assert tr.where == ("o.s_dec >= ? AND ((o.obs_collection = ?) OR (o.calib_level IN (?, ?))) AND "
                        "o.t_min BETWEEN ? AND ? AND o.target_name IS NOT NULL AND o.t_exptime > ?")
    assert tr.params == [-10.5, "FIR'ST", 2, 3, 1, 2, 5]
    assert tr.order_by == "o.obs_id DESC, o.s_ra ASC"


def test_like_is_case_sensitive_glob_and_ilike_is_not():
    tr = translate("SELECT obs_id FROM ivoa.obscore WHERE obs_id LIKE 'a_b%[*' AND target_name ILIKE 'm%'", TABLES)
    assert tr.where == "o.obs_id GLOB ? AND o.target_name LIKE ?"
    assert tr.params == ["a?b*[[][*]", "m%"]


def test_spatial_predicates_become_index_regions():
    tr = translate("SELECT * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
                   "CIRCLE('ICRS', 10, 20, 0.5)) AND INTERSECTS(s_region, POLYGON('ICRS', 1, 1, 2, 1, 2, 2)) = 1",
                   TABLES)
    assert tr.centre_in == Circle(10.0, 20.0, 0.5) and isinstance(tr.intersects, Polygon)
    assert tr.where == "" and len(tr.columns) == len(TABLES["ivoa.obscore"].columns)


def test_tap_schema_tables():
    tr = translate("SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = 'ivoa'", TABLES)
    assert tr.table.name == "TAP_SCHEMA.tables" and tr.where == '"schema_name" = ?'


@pytest.mark.parametrize(
    ("adql", "words"),
    [
        ("", "empty"),
        ("DELETE FROM ivoa.obscore", "expected SELECT"),
        ("SELECT obs_id FROM ivoa.obscore; DROP TABLE obscore", "unexpected 'DROP'"),
        ("SELECT obs_id FROM ivoa.obscore -- comment", "unexpected '-'"),
        ("SELECT COUNT(*) FROM ivoa.obscore", "functions in the select list"),
        ("SELECT DISTINCT obs_id FROM ivoa.obscore", "DISTINCT is not supported"),
        ("SELECT obs_id FROM ivoa.obscore o JOIN ivoa.obscore p ON o.obs_id = p.obs_id", "joins"),
        ("SELECT obs_id FROM ivoa.obscore, TAP_SCHEMA.tables", "joins"),
        ("SELECT obs_id FROM secret.table", "unknown table"),
        ("SELECT nosuch FROM ivoa.obscore", "unknown column 'nosuch'"),
        ("SELECT x.obs_id FROM ivoa.obscore o", "unknown table or alias 'x'"),
        ("SELECT obs_id FROM ivoa.obscore WHERE access_url = 'x'", "computed by the service"),
        ("SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'a' OR 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(1, 2, 3))",
         "top-level AND"),
        ("SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(1, 95, 1))", "|dec| <= 90"),
        ("SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT(s_dec, s_ra), CIRCLE(1, 2, 1))",
         "only POINT(s_ra, s_dec)"),
        ("SELECT obs_id FROM ivoa.obscore WHERE 0 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(1, 2, 1))", "compare"),
        ("SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, POLYGON(0, 0, 1, 1, 1, 0, 0, 1)) = 1", "simple"),
        ("SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('GALACTIC', s_ra, s_dec), CIRCLE(1, 2, 1))",
         "'GALACTIC' is not supported"),
        ("SELECT table_name FROM TAP_SCHEMA.tables WHERE 1 = INTERSECTS(s_region, CIRCLE(1, 2, 1))", "only supported"),
        ("SELECT TOP 1.5 obs_id FROM ivoa.obscore", "whole number"),
        ("SELECT obs_id, obs_id FROM ivoa.obscore", "same name"),
        ("SELECT obs_id FROM ivoa.obscore WHERE s_ra + 1 > 2", "comparison"),
        ("SELECT obs_id FROM ivoa.obscore WHERE obs_id = (SELECT 1)", "number or a 'string'"),
        ("SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'x' UNION SELECT obs_id FROM ivoa.obscore", "unexpected"),
    ],
)
def test_everything_else_is_refused_with_a_reason(adql, words):
    with pytest.raises(AdqlError) as info:
        translate(adql, TABLES)
    assert words in str(info.value), str(info.value)


def test_several_regions_each_use_the_rtree():
    """POS values are OR-ed in one WHERE; SQLite must still search the R-tree once per region."""
    conn = sqlite3.connect(":memory:")
    create_schema(conn)
    for regions in ([Circle(10, 0, 0.1)], [Circle(10, 0, 0.1), Circle(200, -30, 0.1), Circle(0, 90, 1)]):
        sql, params = plan_sql(ImageQuery(pos=regions), Viewer(admin=True), 60000.0)
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        rtree_scans = [p for p in plan if p.startswith("SCAN r VIRTUAL TABLE INDEX 2:")]
        assert len(rtree_scans) == len(regions), plan
        assert not any(p.startswith("SCAN o") for p in plan), plan  # obscore only by rowid
