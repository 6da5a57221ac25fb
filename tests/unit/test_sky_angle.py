"""A radius or a field of view as a person types it (firsthour23): ``cone_search('I/311', 'M 31', '2 arcmin')``,
``crossmatch(t, 'I/311', '1 arcmin')`` and ``viz.show(t, fov='2 deg')`` were refused ("radius must be an angular
astropy Quantity (e.g. 1 * u.arcmin), not '2 arcmin'", and for the view ipyaladin's bare ``TraitError: The '_fov'
trait of an Aladin instance expected a float, not the str '2 deg'``), though a job took ``{'radius': '2 arcsec'}``
and a plot ``radius='1 deg'``. Text with an angular unit now reads everywhere (:mod:`platform_lib.skyangle`); a
number with no unit is still refused (degrees or arcminutes?), naming both ways to write it. A catalogue's cone
search is in ``tests/unit/test_catalogs_search_columns.py`` (its small HATS catalogue), the archive's searches in
``tests/integration/test_archive_retrieval.py`` (a recording HTTP server).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle
from astropy.table import Table

from platform_lib.skyangle import AngleError, sky_angle

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "degrees"), [("2 arcmin", 2 / 60), ("1deg", 1.0), (" 30 arcsec ", 30 / 3600),
                                               ("2'", 2 / 60), ('30"', 30 / 3600), ("1d30m", 1.5),
                                               ("0.5 degree", 0.5), ("15 mas", 15 / 3.6e6)])
def test_text_with_an_angular_unit_reads_as_astropy_reads_it(text, degrees):
    assert sky_angle(text).to_value(u.deg) == pytest.approx(degrees)


@pytest.mark.parametrize(("text", "degrees"), [("30 arcminutes", 0.5), ("30 arcmins", 0.5), ("30arcmins", 0.5),
                                               ("36 arcseconds", 0.01), ("36 arcsecs", 0.01), ("0.5 degrees", 0.5),
                                               ("0.5 degs", 0.5), ("3600 milliarcseconds", 0.001)])
def test_a_units_plural_reads_as_its_singular(text, degrees):
    """firsthour24: ``'0.5 degrees'`` read (astropy's Angle knows that plural) but ``'30 arcminutes'`` and
    ``'30 arcmins'`` were refused ("Did you mean arcminute?"): every angular unit's plural now reads alike."""
    assert sky_angle(text).to_value(u.deg) == pytest.approx(degrees)


def test_a_quantity_is_returned_as_it_is():
    q = 3 * u.arcsec
    assert sky_angle(q) is q
    assert sky_angle(Angle(2, u.deg)) == 2 * u.deg


@pytest.mark.parametrize(("value", "error", "said"), [
    ("2", AngleError, r"^fov='2' has no unit: give an angle Quantity, 2 \* u.arcmin \(or u.deg, u.arcsec\), or "
                      r"text with its unit, '2 arcmin'$"),
    (2, TypeError, r"^fov=2 has no unit: give an angle Quantity, 2 \* u.arcmin \(or u.deg, u.arcsec\), or text "
                   r"with its unit, '2 arcmin'$"),
    (np.float64(0.5), TypeError, r"^fov=0.5 has no unit"),
    # A unit typo keeps astropy's guess. This was '2 arcmins' until leftovers24: a plural is no typo, and now reads
    # as '0.5 degrees' did (test_a_units_plural_reads_as_its_singular); a real typo shows the guess.
    ("2 arcmni", AngleError, r"^fov='2 arcmni' is not an angle \(.*Did you mean arcmin\?\): write an angle "
                              r"Quantity, 2 \* u.arcmin, "
                              r"or text with its unit such as '2 arcmin', '1.5 deg' or '30 arcsec'$"),
    ("2 km", AngleError, r"^fov='2 km' is in km, not an angle: write"),
    ("2 m", AngleError, r"^fov='2 m' is in m, not an angle"),  # metres, not Angle's minutes of arc
    ("wide", AngleError, r"^fov='wide' is not an angle"),
    # hours24: '2 hours' read as 30 deg (astropy's Angle takes hours as an hour angle), '2 hourangle' and
    # 2 * u.hourangle too; '2h30m' was refused as 'in h30 m'. A radius in time units is almost surely a mistake.
    ("2 hours", AngleError, r"^fov='2 hours' is in hours, which astropy reads as an hour angle \(30 deg\): a fov in "
                            r"time units is almost surely a mistake; write it in degrees, arcminutes or arcseconds: "
                            r"an angle Quantity, 2 \* u.arcmin, or text with its unit such as '2 arcmin', '1.5 deg' "
                            r"or '30 arcsec'$"),
    ("0h30m", AngleError, r"^fov='0h30m' is in hours, which astropy reads as an hour angle \(7.5 deg\)"),
    ("2 hourangle", AngleError, r"^fov='2 hourangle' is in hours"),
    (2 * u.hourangle, AngleError, r"^fov=2.0 hourangle is in hours, which astropy reads as an hour angle \(30 deg\)"),
    ("2 hour", AngleError, r"^fov='2 hour' is in h, not an angle: write"),  # a time: refused before hours24 too
    ((1, 2), TypeError, r"^fov must be an angle: an angle Quantity, 2 \* u.arcmin, or text .*; not tuple \(1, 2\)$"),
    (None, TypeError, r"^fov must be an angle"),
])
def test_anything_else_names_the_argument_and_how_to_write_an_angle(value, error, said):
    with pytest.raises(error, match=said) as info:
        sky_angle(value, "fov")
    if error is AngleError:
        assert isinstance(info.value, ValueError) and info.value.code == "bad-angle"


def test_a_crossmatch_takes_its_radius_as_text():
    from platform_lib.crossmatch import crossmatch

    a = Table({"ra": [10.0, 20.0], "dec": [0.0, 5.0]})
    b = Table({"ra": [10.0 + 20 / 3600, 50.0], "dec": [0.0, 5.0]})
    assert len(crossmatch(a, b, "30 arcsec")) == 1 and len(crossmatch(a, b, "10 arcsec")) == 0
    with pytest.raises(TypeError, match=r"^radius=60 has no unit: give an angle Quantity, 60 \* u.arcmin"):
        crossmatch(a, b, 60)
    with pytest.raises(ValueError, match=r"^radius='2 hours' is in hours, which astropy reads as an hour angle"):
        crossmatch(a, b, "2 hours")  # hours24: matched within 30 deg


def test_a_view_takes_its_field_as_text_a_quantity_or_degrees():
    from platform_lib import viz

    w = viz.Aladin(fov="2 deg", archive_url="/services/archive/")
    assert w.fov.to_value(u.deg) == pytest.approx(2)
    w.fov = "30 arcmin"
    assert w.fov.to_value(u.deg) == pytest.approx(0.5)
    w.fov = 3 * u.deg
    assert w.fov.to_value(u.deg) == pytest.approx(3)
    w.fov = 4  # ipyaladin's own form: degrees
    assert w.fov.to_value(u.deg) == pytest.approx(4)
    with pytest.raises(viz.VizError, match=r"^fov='2 arcmni' is not an angle \(.*Did you mean arcmin\?\)"):
        viz.Aladin(fov="2 arcmni", archive_url="/services/archive/")
    for bad, said in (("2 km", r"^fov='2 km' is in km, not an angle"), (-1, r"^fov=-1 must be an angle more than 0"),
                      (5 * u.m, r"^fov=<Quantity 5. m> is not an angle")):
        with pytest.raises(viz.VizError, match=said):
            w.fov = bad
    assert w.fov.to_value(u.deg) == pytest.approx(4)  # a refused width leaves the view as it was
