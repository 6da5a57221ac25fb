"""The one reader of ``s_region`` text (``platform_lib.imageindex.sregion``) on real answers of real services: pyvo's
recorded ObsCore answer (its tests' ``obscore-image.xml``), CASDA's, ALMA's (circles, polygons, and ``Union`` of
mosaic pointings), MAST's CAOM (``CIRCLE ICRS`` with two spaces, ``POLYGON J2000``, HST's ``POLYGON GSC1``), all as
astroquery's and pyvo's tests keep them, and on our own archive's footprints (the sample images' index). Each is read
as shapes holding the row's own ``s_ra``/``s_dec``, and the platform's three readers (the viewer's outlines, the sky-map
match's footprints, the TAP service's ``AREA()``) agree on each. A footprint in another frame is converted to ICRS as
astropy converts it.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from platform_lib.imageindex import ImageIndexError
from platform_lib.imageindex.sphere import Polygon, angular_separation, polygon_caps, radec_to_xyz
from platform_lib.imageindex.sregion import read_s_region, region_area, s_region_vertices
from real_s_regions import real_answers  # tests/support/, on the path by tests/conftest.py


def _holds(shape, ra: float, dec: float) -> bool:
    p = radec_to_xyz(ra, dec)
    if shape.kind == "circle":
        return SkyCoord(ra, dec, unit="deg").separation(SkyCoord(*shape.values[:2], unit="deg")).deg <= shape.values[2]
    v = shape.vertices()
    return Polygon(v[:, 0], v[:, 1]).contains_point(p)


def test_every_real_answer_is_read_and_holds_its_rows_centre():
    seen = set()
    for service, table in real_answers().items():
        for row in table:
            region = read_s_region(str(row["s_region"]))
            ra, dec = float(row["s_ra"]), float(row["s_dec"])
            if len(region.shapes) == 1:
                assert _holds(region.shapes[0], ra, dec), (service, str(row["s_region"])[:60])
            else:  # a mosaic's centre may fall between its pointings: it lies within the cap round them all
                every = np.vstack([s.vertices() for s in region.shapes])
                (cap,), (radius,) = polygon_caps(radec_to_xyz(every[:, 0], every[:, 1])[None])
                assert angular_separation(cap, radec_to_xyz(ra, dec)) < radius, (service, str(row["s_region"])[:60])
            seen.add((service, region.frame, tuple(sorted({s.kind for s in region.shapes})), len(region.shapes) > 1))
    assert {("mast", "J2000", ("polygon",), False), ("mast", "GSC1", ("polygon",), False),
            ("mast", "ICRS", ("circle",), False), ("alma", "ICRS", ("polygon",), True),
            ("alma", "ICRS", ("circle",), False), ("pyvo", "ICRS", ("polygon",), False)} <= seen, seen


def test_the_three_readers_agree_on_every_real_footprint():
    """sreg20: the viewer (``viz``), the sky-map match and ``AREA()`` each read ``s_region`` their own way (the
    sky-map match's circles by the last three words, the viewer's by any numbers, AREA's by the second word); they
    now share one reader, so a row's outline, its sky-map footprint and its area are of the same shape."""
    from platform_lib import viz
    from platform_lib.skymap._footprints import read_footprints

    for service, table in real_answers().items():
        for row in table:
            text = str(row["s_region"])
            region = read_s_region(text)
            shapes = region.shapes
            if len(shapes) > 1:
                continue  # a union: see test_a_union_of_pointings_is_each_of_its_shapes
            outline = s_region_vertices(text)
            assert np.array_equal(viz.parse_s_region(text), outline)
            if region.holes:  # ALMA's 'Polygon ICRS ... Not (Polygon ...)': its area less the hole's
                assert region_area(text) == pytest.approx(shapes[0].area() - sum(h.area() for h in region.holes))
                (foot,), _ = read_footprints(Table(rows=[(text,)], names=("s_region",)))  # was refused: sreg21
                assert len(foot.shapes) == 1 and len(foot.holes) == len(region.holes)
                continue
            (footprint,), _ = read_footprints(Table(rows=[(text,)], names=("s_region",)))
            (foot,) = footprint.shapes
            assert footprint.holes == ()
            if shapes[0].kind == "circle":
                assert (foot.lon[0], foot.lat[0], foot.radius) == shapes[0].values
                assert region_area(text) == pytest.approx(2 * math.pi * (1 - math.cos(math.radians(foot.radius))))
            else:
                assert np.allclose(foot.lon, outline[:, 0] % 360) and np.array_equal(foot.lat, outline[:, 1])
                assert region_area(text) == pytest.approx(Polygon(outline[:, 0], outline[:, 1]).area())


def test_a_union_of_pointings_is_each_of_its_shapes():
    """ALMA's mosaic footprints are ``Union ICRS ( Polygon ... Polygon ... )``: the viewer read every number of one
    as one polygon (the pointings joined into one self-crossing outline); now it draws each pointing, and the
    readers that need one outline refuse it, naming it."""
    from platform_lib import viz
    from platform_lib.viz import VizError
    from platform_lib.viz._inputs import footprints

    alma = real_answers()["alma"]
    unions = [str(t) for t in alma["s_region"] if str(t).startswith("Union")]
    assert len(unions) == 2
    for text in unions:
        region = read_s_region(text)
        holes = text.count("Not (")
        assert len(region.shapes) == text.count("Polygon") - holes and len(region.holes) == holes
        assert all(s.kind == "polygon" for s in region.shapes + region.holes)
        with pytest.raises(ImageIndexError, match="union of .* shapes, not one outline") as own:
            s_region_vertices(text)
        with pytest.raises(VizError) as viewer:  # sreg21: the viewer refused it in words of its own
            viz.parse_s_region(text)
        assert str(viewer.value) == str(own.value) and viewer.value.value == text[:80]
        assert region_area(text) is None  # its pointings overlap: no sum of theirs
    polys, rows = footprints(alma)
    shapes = sum(t.count("Polygon") - t.count("Not (") for t in unions)
    assert len(polys) == 3 + shapes and sorted(set(rows)) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("text", "frame"), [
    ("Polygon GALACTIC 10 20 11 20 11 21", "galactic"),
    ("Polygon GALACTIC_II 10 20 11 20 11 21", "galactic"),
    ("Polygon FK4 10 20 11 20 11 21", "fk4"),
    ("Polygon B1950 10 20 11 20 11 21", "fk4"),
    ("Polygon SUPER_GALACTIC 10 20 11 20 11 21", "supergalactic"),
    ("Polygon ECLIPTIC 10 20 11 20 11 21", "barycentricmeanecliptic"),
    ("Polygon FK5 J1975 10 20 11 20 11 21", "fk5"),
])
def test_a_footprint_in_another_frame_is_drawn_where_astropy_puts_it(text, frame):
    """The viewer drew a ``Polygon GALACTIC`` footprint at its l, b numbers as if RA, Dec (the sky-map match refused
    it, AREA took it): now every reader has it in ICRS, as astropy converts it."""
    from astropy.coordinates import FK4, FK5

    from platform_lib import viz

    frames = {"fk4": FK4(equinox="B1950"), "fk5": FK5(equinox="J1975")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's dubious year for B1950
        want = SkyCoord([10, 11, 11], [20, 20, 21], unit="deg", frame=frames.get(frame, frame)).icrs
    got = viz.parse_s_region(text)
    assert np.allclose(got[:, 0], want.ra.deg, atol=1e-9) and np.allclose(got[:, 1], want.dec.deg, atol=1e-9)


def test_icrs_and_its_stand_ins_are_taken_as_they_are():
    plain = s_region_vertices("Polygon ICRS 10 20 11 20 11 21")
    for text in ("Polygon J2000 10 20 11 20 11 21", "POLYGON GSC1 10 20 11 20 11 21", "polygon fk5 10 20 11 20 11 21",
                 "Polygon UNKNOWNFrame 10 20 11 20 11 21", "Polygon ICRS BARYCENTER SPHERICAL2 10 20 11 20 11 21",
                 "Polygon 10 20 11 20 11 21", "10 20 11 20 11 21", "Polygon ICRS 10 20 11 20 11 21 unit deg"):
        assert np.array_equal(s_region_vertices(text), plain), text
    assert np.array_equal(s_region_vertices([10, 20, 11, 20, 11, 21]), plain)  # a DALI polygon as numbers
    circle = read_s_region("Circle FK4 100 10 1").shapes[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        centre = SkyCoord(100, 10, unit="deg", frame="fk4").icrs
    assert circle.values == pytest.approx((centre.ra.deg, centre.dec.deg, 1.0))
    assert s_region_vertices("Box ICRS 10 20 1 2").shape == (4, 2)
    # sreg21: STC-S's Box as DaCHS reads it, the corners (ra +- w/2, dec +- h/2), for every reader (the viewer's
    # outline, the sky-map cover, AREA()); the width was taken as an angle at the centre's Dec (w / cos(dec) in RA)
    assert np.array_equal(s_region_vertices("Box ICRS 10 60 2 1"), [[9, 59.5], [11, 59.5], [11, 60.5], [9, 60.5]])


@pytest.mark.parametrize(("text", "words"), [
    ("Polygon ICRS 1 2 3", "a polygon needs 3 or more vertices"),
    ("Circle ICRS 10 20", "a circle needs 3 numbers"),
    ("Circle ICRS 10 95 1", "latitude 95 is past"),
    ("Circle ICRS 10 20 200", "radius 200 is not from 0 to 180"),
    ("Position ICRS 10 20", "Position is a point, not a footprint"),
    ("Intersection ICRS ( Circle 1 1 1 Circle 1 1 1 )", "an intersection, not a footprint"),
    ("Circle GEO_D 1 2 3", "GEO_D is a place on the Earth"),
    ("Polygon ICRS CARTESIAN2 1 1 2 2 3 3", "not spherical coordinates"),
    ("Polygon XYZ 1 1 2 2 3 3", "'XYZ' is no STC-S frame"),
    ("Circle ICRS 1 1 1 unit arcsec", "only degrees"),
    ("Union ICRS ( Polygon 1 1 2 1 2 2", "not closed"),
    ("banana", "'banana' is no shape"),
    # STC's box is the polygon of its corners: a corner past the pole was read as a point beyond it (AREA 0.0005 sr for
    # a 10 x 10 deg box at Dec 89), and corners 200 deg apart as the polygon the other way round the sky
    ("Box ICRS 0 89 10 10", "the box reaches past a pole"),
    ("Box ICRS 0 -85 10 12", "the box reaches past a pole"),
    ("Box ICRS 0 0 200 10", "the box is 180 degrees wide or more"),
    ("", "it is empty"),
])
def test_text_that_is_no_footprint_is_refused_naming_what_is_wrong(text, words):
    with pytest.raises(ImageIndexError, match=words) as info:
        read_s_region(text)
    assert info.value.code == "bad-s-region" and isinstance(info.value, ValueError)
    assert region_area(text) is None  # AREA(): NULL


def test_our_archives_footprints_read_back(tmp_path):
    """The index's own ``s_region`` (``Polygon ICRS ...``, :meth:`Polygon.to_stcs`) of the sample images: each
    holds its row's centre and has the area of the index's polygon."""
    import shutil

    from platform_lib.imageindex import index_folder
    from platform_lib.sampledata import packaged_images

    found, missing = packaged_images()
    if missing:
        pytest.skip(f"sample images not installed: {missing}")
    for img, path in found:
        shutil.copy(path, tmp_path / f"{img.name}.fits")
    table = index_folder(tmp_path).search()
    assert len(table) == 8
    for row in table:
        (shape,) = read_s_region(row["s_region"]).shapes
        assert shape.kind == "polygon" and _holds(shape, row["s_ra"], row["s_dec"]), row["obs_id"]
        assert region_area(row["s_region"]) == pytest.approx(Polygon(*shape.vertices().T).area())
