"""Region columns (an ObsCore ``s_region``, uploaded or ivoa.obscore's) in CONTAINS and INTERSECTS with each other and
with a CIRCLE or POLYGON, as DaCHS answers them (pgsphere), where they were refused. On real footprints
(tests/support/real_s_regions.py: pyvo's, CASDA's, ALMA's and MAST's recorded answers), checked against shapely in the
gnomonic projection about one footprint: a great circle is a straight line there, so a polygon with great-circle edges
is exactly a plane polygon, an answer independent of the service's spherical code.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from astropy.table import Table
from real_s_regions import real_answers  # tests/support/, on the path by tests/conftest.py
from shapely.geometry import Polygon as PlanePolygon

from astrohub_archive.adql import translate
from astrohub_archive.engine import run_plan
from astrohub_archive.tapschema import table_set
from astrohub_archive.uploads import read_uploads
from platform_lib.imageindex import Viewer
from platform_lib.imageindex.sregion import read_s_region

TABLES = table_set(None, None)


def _footprints() -> list[tuple[str, np.ndarray]]:
    """Each recorded footprint of one polygon (no union, no hole): its text as the service answered it and its
    vertices in ICRS degrees."""
    out = []
    for table in real_answers().values():
        for text in table["s_region"]:
            region = read_s_region(str(text))
            if len(region.shapes) == 1 and region.shapes[0].kind == "polygon" and not region.holes:
                out.append((str(text), region.shapes[0].vertices()))
    return out


def _unit(ra, dec) -> np.ndarray:
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _plane(vertices: np.ndarray, centre: np.ndarray) -> PlanePolygon:
    """The polygon in the gnomonic projection about ``centre`` (a unit vector)."""
    east = np.cross([0.0, 0.0, 1.0], centre)
    east /= np.linalg.norm(east)
    north = np.cross(centre, east)
    xyz = _unit(vertices[:, 0], vertices[:, 1])
    depth = xyz @ centre
    assert (depth > 0.5).all()  # within 60 degrees: the projection is defined and tame
    return PlanePolygon(np.column_stack([xyz @ east / depth, xyz @ north / depth]))


def _centre(vertices: np.ndarray) -> np.ndarray:
    c = _unit(vertices[:, 0], vertices[:, 1]).sum(axis=0)
    return c / np.linalg.norm(c)


def _edge_points(vertices: np.ndarray, per_edge: int = 200) -> np.ndarray:
    """Points along each great-circle edge (unit vectors), densely: for distances to a circle's centre."""
    xyz = _unit(vertices[:, 0], vertices[:, 1])
    out = []
    for a, b in zip(xyz, np.roll(xyz, -1, axis=0)):
        t = np.linspace(0, 1, per_edge)[:, None]
        p = a * (1 - t) + b * t
        out.append(p / np.linalg.norm(p, axis=1)[:, None])
    return np.concatenate(out)


def _upload(**tables) -> tuple[dict, dict]:
    files = {}
    for name, table in tables.items():
        buf = io.BytesIO()
        table.write(buf, format="votable")
        files[name] = buf.getvalue()
    return read_uploads(files)


def _run(adql: str, uploads) -> Table:
    descs, data = uploads
    table, overflow = run_plan(translate(adql, TABLES, descs), tables=TABLES, state=None, viewer=Viewer(),
                               access_base="", maxrec=100_000, uploads=data)
    assert not overflow
    return table


@pytest.fixture(scope="module")
def footprints():
    found = _footprints()
    assert len(found) >= 30  # MAST's 19, pyvo's 10, CASDA's, ALMA's single polygons
    table = Table({"id": np.arange(len(found)), "s_region": [t for t, _ in found]})
    return found, _upload(mine=table, other=table)


def _truth(found, test) -> set[tuple[int, int]]:
    pairs = set()
    for i, (_, a) in enumerate(found):
        for j, (_, b) in enumerate(found):
            centre = _centre(a)
            if float(_centre(b) @ centre) < math.cos(math.radians(40)):
                continue  # footprints of a few degrees, 40 degrees apart: disjoint
            if test(_plane(a, centre), _plane(b, centre)):
                pairs.add((i, j))
    return pairs


def test_two_region_columns_intersect_and_contain_as_the_plane_polygons_do(footprints):
    """tap24: ``INTERSECTS(a.s_region, b.s_region)`` and ``CONTAINS(a.s_region, b.s_region)`` were refused ("two
    region columns cannot be compared"); DaCHS answers them. Every pair of real footprints, against shapely: overlap
    (MAST's exposures of one field, pyvo's neighbouring plates) and containment (MAST's repeated footprints are each
    other's, a WFPC2 chip is inside the camera's footprint, whose edge it shares to 1e-8 deg)."""
    found, uploads = footprints
    def within(a, b):  # a point within 1e-9 rad of the boundary counts as on it, as the service's (and pgsphere's)
        return a.within(b.buffer(1e-9))

    for test, plane in (("INTERSECTS", PlanePolygon.intersects), ("CONTAINS", within)):
        got = _run(f"SELECT a.id AS i, b.id AS j FROM TAP_UPLOAD.mine AS a JOIN TAP_UPLOAD.other AS b "
                   f"ON 1 = {test}(a.s_region, b.s_region)", uploads)
        want = _truth(found, plane)
        assert set(zip(got["i"].tolist(), got["j"].tolist())) == want, test
        assert len(want) > len(found)  # more than each footprint with itself: the test is not trivial
    outside = _run("SELECT a.id AS i, b.id AS j FROM TAP_UPLOAD.mine AS a JOIN TAP_UPLOAD.other AS b "
                   "ON 0 = CONTAINS(a.s_region, b.s_region) AND 1 = INTERSECTS(a.s_region, b.s_region)", uploads)
    assert len(outside) > 0  # overlapping footprints, neither inside the other


def test_a_region_column_inside_a_circle_or_holding_one(footprints):
    """tap24: ``CONTAINS(s_region, CIRCLE(...))`` (footprints wholly inside a circle) and ``CONTAINS(CIRCLE(...),
    s_region)`` (footprints holding a circle) were refused. Each real footprint against a circle about its centre, a
    per-row CIRCLE of columns: just larger than its farthest vertex (a great-circle edge between two points of a cap
    stays in it: inside) and just smaller (not); half and twice the nearest approach of its edges (holding it, not)."""
    found, _ = footprints
    rows = {"id": [], "s_region": [], "ra": [], "dec": [], "r_out": [], "r_in": []}
    for i, (text, v) in enumerate(found):
        c = _centre(v)
        far = np.degrees(np.arccos(np.clip(_unit(v[:, 0], v[:, 1]) @ c, -1, 1))).max()
        near = np.degrees(np.arccos(np.clip(_edge_points(v) @ c, -1, 1))).min()
        rows["id"].append(i)
        rows["s_region"].append(text)
        rows["ra"].append(math.degrees(math.atan2(c[1], c[0])) % 360)
        rows["dec"].append(math.degrees(math.asin(c[2])))
        rows["r_out"].append(far)
        rows["r_in"].append(near)
    uploads = _upload(mine=Table(rows))
    every = list(range(len(found)))
    for test, ids in (("CONTAINS(s_region, CIRCLE(ra, dec, r_out * 1.001))", every),
                      ("CONTAINS(s_region, CIRCLE(ra, dec, r_out * 0.999))", []),
                      ("CONTAINS(CIRCLE(ra, dec, r_in * 0.5), s_region)", every),
                      ("CONTAINS(CIRCLE(ra, dec, r_in * 2), s_region)", []),
                      ("INTERSECTS(CIRCLE(ra, dec, r_in * 2), s_region)", every)):
        got = _run(f"SELECT id FROM TAP_UPLOAD.mine WHERE 1 = {test} ORDER BY id", uploads)
        assert got["id"].tolist() == ids, test


def test_a_region_column_inside_a_constant_polygon_and_a_union(footprints):
    """``CONTAINS(s_region, POLYGON(...))``: MAST's exposures of one field inside a polygon drawn round some of them,
    against shapely; a union (ALMA's mosaic of pointings) is inside a region when each of its shapes is."""
    found, uploads = footprints
    mast = [(i, v) for i, (t, v) in enumerate(found) if t.upper().startswith(("POLYGON GSC1", "POLYGON J2000"))]
    centre = _centre(mast[0][1])
    box = np.array([[23.02, 60.62], [23.125, 60.62], [23.125, 60.68], [23.02, 60.68]])
    want = [i for i, v in mast if _plane(v, centre).within(_plane(box, centre))]
    assert 0 < len(want) < len(mast)  # some inside, some not
    corners = ", ".join(f"{x}, {y}" for x, y in box)
    got = _run(f"SELECT id FROM TAP_UPLOAD.mine WHERE 1 = CONTAINS(s_region, POLYGON({corners})) ORDER BY id",
               uploads)
    assert got["id"].tolist() == want
    alma = next(str(t) for t in real_answers()["alma"]["s_region"] if str(t).startswith("Union"))
    union = _upload(mine=Table({"id": [1], "s_region": [alma]}))
    corners = np.concatenate([shape.vertices() for shape in read_s_region(alma).shapes])  # four pointings, 0.6 deg
    ra, dec = corners.mean(axis=0)
    for radius, ids in ((0.6, [1]), (0.3, [])):  # all four inside; the outer ones out
        got = _run(f"SELECT id FROM TAP_UPLOAD.mine WHERE 1 = CONTAINS(s_region, CIRCLE({ra}, {dec}, {radius}))",
                   union)
        assert got["id"].tolist() == ids, radius


def test_obscore_s_region_inside_a_region_is_the_index_prefilter_and_the_exact_test():
    """On ivoa.obscore, ``CONTAINS(s_region, CIRCLE/POLYGON)`` and ``CONTAINS(CIRCLE/POLYGON, s_region)`` were refused
    ("footprints wholly inside a region, is not answered here"): the image index now gives the footprints meeting the
    region (every footprint inside it, or holding it, meets it) and the engine keeps those the exact test passes;
    a join of s_region with an uploaded region column is tested row by row. CONTAINS(s_region, POINT) is refused."""
    from platform_lib.imageindex import Circle, Polygon

    for test in ("1 = CONTAINS(s_region, CIRCLE(10, 20, 1))", "CONTAINS(CIRCLE('ICRS', 10, 20, 1), o.s_region) = 1",
                 "1 = CONTAINS(s_region, POLYGON(9, 19, 11, 19, 11, 21))"):
        plan = translate(f"SELECT obs_id FROM ivoa.obscore AS o WHERE {test}", TABLES)
        (src,) = plan.sources.values()
        assert len(src.obscore_regions) == 1 and isinstance(src.obscore_regions[0], (Circle, Polygon)), test
        assert "ADQL_REGION_RELATION" in plan.sql.upper(), test
    uploads = _upload(mine=Table({"id": [1], "s_region": ["Circle ICRS 10 20 1"]}))
    plan = translate("SELECT o.obs_id, m.id FROM ivoa.obscore AS o JOIN TAP_UPLOAD.mine AS m "
                     "ON 1 = INTERSECTS(o.s_region, m.s_region)", TABLES, uploads[0])
    assert "ADQL_REGION_RELATION" in plan.sql.upper()
    from astrohub_archive.faults import UsageFault

    with pytest.raises(UsageFault, match="asks whether a region column lies inside a point"):
        translate("SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(s_region, POINT(10, 20))", TABLES)


def test_region_of_an_stcs_string_is_its_circle_or_polygon(footprints):
    """tap24: ``REGION('Circle ICRS ...')`` (ADQL 2.0's; DaCHS answers it, bench/adql_vs_dachs.py's ``region``) was
    refused as not supported: it is the circle, polygon or STC-S box (the polygon of its corners) the text holds, in
    CONTAINS and INTERSECTS, with a region column too, and as a value; a union is refused naming what is taken."""
    found, uploads = footprints
    text, vertices = found[0]
    stcs = "Polygon ICRS " + " ".join(f"{v:.10f}" for v in vertices.ravel())
    got = _run(f"SELECT a.id FROM TAP_UPLOAD.mine AS a WHERE 1 = CONTAINS(a.s_region, REGION('{stcs}')) ORDER BY a.id",
               uploads)
    same = _run(f"SELECT a.id FROM TAP_UPLOAD.mine AS a JOIN TAP_UPLOAD.other AS b ON 1 = CONTAINS(a.s_region, "
                f"b.s_region) WHERE b.id = 0 ORDER BY a.id", uploads)
    assert got["id"].tolist() == same["id"].tolist() and 0 in got["id"].tolist()
    stars = _upload(pts=Table({"id": [1, 2, 3], "ra": [56.75, 57.5, 56.75], "dec": [24.12, 24.12, 25.5]}))
    for region, ids in (("Circle ICRS 56.75 24.12 1", [1, 2]), ("Box ICRS 56.75 24.12 2 2", [1, 2]),
                        ("Circle GALACTIC 166.57 -23.52 0.1", [1])):  # the Pleiades' centre in galactic
        got = _run(f"SELECT id FROM TAP_UPLOAD.pts WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), REGION('{region}')) "
                   "ORDER BY id", stars)
        assert got["id"].tolist() == ids, region
    value = _run("SELECT REGION('Circle ICRS 10 20 1') AS r FROM TAP_UPLOAD.pts WHERE id = 1", stars)
    assert list(value["r"][0]) == [10.0, 20.0, 1.0]
    from astrohub_archive.faults import UsageFault

    with pytest.raises(UsageFault, match="a union or a region with holes is not supported here"):
        translate("SELECT id FROM TAP_UPLOAD.pts WHERE 1 = CONTAINS(POINT(ra, dec), REGION('Union ICRS ( Circle 1 2 "
                  "1 Circle 5 2 1 )'))", TABLES, stars[0])
    with pytest.raises(UsageFault, match=r"REGION: .*expected STC-S"):
        translate("SELECT id FROM TAP_UPLOAD.pts WHERE 1 = CONTAINS(POINT(ra, dec), REGION('Cercle 1 2 1'))",
                  TABLES, stars[0])


def test_a_polygon_of_column_vertices_is_each_rows_polygon():
    """tap24: ``CONTAINS(POINT(h.ra, h.dec), POLYGON(n.ra - 1, n.dec - 1, ...))`` was refused ("a POLYGON with column
    vertices is answered in the select list only"); DaCHS answers it (bench/adql_vs_dachs.py's
    ``polygon_col_contains``). It is each row's polygon, tested as a region column is: here a triangle about each
    of two centres, and stars inside each (its vertices' plane polygon in the gnomonic projection: shapely)."""
    centres = Table({"cid": [1, 2], "ra": [130.1, 10.0], "dec": [19.67, -30.0]})
    rng = np.random.default_rng(3)
    ra = np.concatenate([130.1 + rng.uniform(-1.5, 1.5, 300), 10.0 + rng.uniform(-1.5, 1.5, 300)])
    dec = np.concatenate([19.67 + rng.uniform(-1.5, 1.5, 300), -30.0 + rng.uniform(-1.5, 1.5, 300)])
    stars = Table({"sid": np.arange(600), "ra": ra, "dec": dec})
    uploads = _upload(c=centres, s=stars)
    got = _run("SELECT c.cid, s.sid FROM TAP_UPLOAD.c AS c JOIN TAP_UPLOAD.s AS s ON 1 = CONTAINS(POINT('ICRS', "
               "s.ra, s.dec), POLYGON('ICRS', c.ra - 1, c.dec - 1, c.ra + 1, c.dec - 1, c.ra, c.dec + 1))", uploads)
    from shapely.geometry import Point

    want = set()
    for cid, cra, cdec in zip(centres["cid"], centres["ra"], centres["dec"]):
        tri = np.array([[cra - 1, cdec - 1], [cra + 1, cdec - 1], [cra, cdec + 1]])
        c = _centre(tri)
        plane = _plane(tri, c)
        for sid, sra, sdec in zip(stars["sid"], stars["ra"], stars["dec"]):
            if float(_unit(sra, sdec) @ c) > 0.9 and plane.contains(Point(*_gnomonic(sra, sdec, c))):
                want.add((int(cid), int(sid)))
    assert set(zip(got["cid"].tolist(), got["sid"].tolist())) == want and len(want) > 50


def _gnomonic(ra, dec, centre):
    east = np.cross([0.0, 0.0, 1.0], centre)
    east /= np.linalg.norm(east)
    north = np.cross(centre, east)
    p = _unit(ra, dec)
    return float(p @ east / (p @ centre)), float(p @ north / (p @ centre))
