"""``imageindex.query.plan_sql``'s interval constraints (SIA v2's FOV, SPATRES, EXPTIME, TIMERES, SPECRP: a value
within the interval; BAND and TIME: the record's range overlapping it), run by SQLite over a small ``obscore`` table
and compared with the rule worked out here, row by row (dedup25: "within" became "overlaps" of ``[v, v]``)."""

from __future__ import annotations

import math
import sqlite3

import pytest

from platform_lib.imageindex.query import ImageQuery, Viewer, plan_sql

#: (obs_id, s_fov, t_exptime, em_min, em_max); None is a record that does not say.
ROWS = [("a", 0.1, 30.0, 4e-7, 5e-7), ("b", 0.5, 300.0, 5e-7, 7e-7), ("c", 1.0, None, 1e-6, 2e-6),
        ("d", None, 60.0, None, None), ("e", 2.0, 0.0, 6e-7, 6e-7)]
INF = math.inf


def _selected(query: ImageQuery) -> list[str]:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE obscore (obs_id, s_fov, s_resolution, t_exptime, t_resolution, em_res_power, em_min, "
               "em_max, t_min, t_max)")
    db.executemany("INSERT INTO obscore (obs_id, s_fov, t_exptime, em_min, em_max) VALUES (?, ?, ?, ?, ?)", ROWS)
    sql, params = plan_sql(query, Viewer(admin=True), 60000.0, columns="o.obs_id")
    return sorted(r[0] for r in db.execute(sql, params))


def _within(value, intervals) -> bool:
    return value is not None and any((lo is None or value >= lo) and (hi is None or value <= hi)
                                     for lo, hi in intervals)


@pytest.mark.parametrize("field, at", [("fov", 1), ("exptime", 2)])
@pytest.mark.parametrize("intervals", [[(0.5, 60.0)], [(None, 0.5)], [(1.0, INF)], [(-INF, None)], [(0.2, 0.3)],
                                       [(0.1, 0.1), (2.0, 30.0)], [(None, None)], [(0.0, 0.0)]])
def test_a_value_constraint_keeps_the_records_whose_value_lies_within_one_of_its_intervals(field, at, intervals):
    wanted = sorted(r[0] for r in ROWS if _within(r[at], intervals))
    assert _selected(ImageQuery(**{field: intervals})) == wanted


@pytest.mark.parametrize("interval, wanted", [((5e-7, 5e-7), ["a", "b"]), ((5.5e-7, 6.5e-7), ["b", "e"]),
                                              ((None, 4.5e-7), ["a"]), ((1.5e-6, INF), ["c"]), ((3e-6, 4e-6), [])])
def test_a_band_keeps_the_records_whose_range_overlaps_it(interval, wanted):
    assert _selected(ImageQuery(band=[interval])) == wanted


def test_id_matches_an_ivoid_in_any_case_and_the_other_text_parameters_exactly():
    """SIA 2.0 2.1.10: IVOIDs (the ID parameter, against ``obs_publisher_did``) compare case-insensitively; every other
    text parameter is an exact, case-sensitive match (2.1). Found by bench/sia_vs_dachs.py (sia26)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE obscore (obs_id, obs_publisher_did, obs_collection, target_name)")
    db.executemany("INSERT INTO obscore VALUES (?, ?, ?, ?)",
                   [("a", "ivo://astrohub/archive?sample/m1_dss", "DSS", "M 1"),
                    ("b", "ivo://astrohub/archive?sample/m13_dss", "astrohub", "M 13")])

    def selected(query):
        sql, params = plan_sql(query, Viewer(admin=True), 60000.0, columns="o.obs_id")
        return sorted(r[0] for r in db.execute(sql, params))

    assert selected(ImageQuery(id=["IVO://ASTROHUB/ARCHIVE?SAMPLE/M1_DSS"])) == ["a"]
    assert selected(ImageQuery(id=["ivo://astrohub/archive?sample/m13_dss", "ivo://Astrohub/archive?sample/M1_dss"])
                    ) == ["a", "b"]
    assert selected(ImageQuery(id=["ivo://astrohub/archive?sample/m1"])) == []
    assert selected(ImageQuery(collection=["dss"])) == []
    assert selected(ImageQuery(target=["m 13"])) == []
    assert selected(ImageQuery(collection=["DSS"], target=["M 1"])) == ["a"]
