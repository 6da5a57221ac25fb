"""Bad input to the public functions the tutorials call first: each answers with an error naming the argument and
what to give, raised before any file, service or computation is touched, not a traceback from deep inside
numpy, pathlib, astropy or a service call (honest22 tried 20 such functions with None, wrong types, NaN, negative,
empty and huge values; these are the ones that answered from inside a library, or not at all: ``index_folder("")``
indexed the current folder, ``tap_query("")`` and ``image_search(time="garbage")`` went to the service).

badinput23 tried 30 more calls of the functions the tutorials use (crossmatch, both cone searches, tap_query,
viz.plot, ephemeris) with NaN, text, empty tables and huge values: ``crossmatch(mode="k", k="x")`` answered
Python's "invalid literal for int()", ``catalogs.cone_search(table, ...)`` an error whose text was the whole
table's repr, and a SkyCoord of NaN coordinates went to the cone search service as ``RA=nan``."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

#: No service listens here: a call that reached it would fail with a RetrievalError, not the errors below.
NOWHERE = "http://127.0.0.1:1/"


def _storage(tmp_path):
    from platform_lib import get_settings
    from platform_lib.storage import Storage

    for space in ("home", "scratch"):
        (tmp_path / space).mkdir()
    return Storage(get_settings(user="alice", home=tmp_path / "home", scratch=tmp_path / "scratch"))


def _cases():
    from platform_lib import jobs, viz
    from platform_lib.imageindex import ImageIndexInputError, build_index, index_folder
    from platform_lib.moving import MovingObjectError, bodies_in_images, ephemeris, find_images
    from platform_lib.retrieval import image_search, tap_query
    from platform_lib.skymap import match_skymap, read_skymap

    from astropy.table import Table

    from platform_lib.catalogs import cone_search as catalogue_cone
    from platform_lib.crossmatch import CrossmatchInputError, crossmatch
    from platform_lib.retrieval import cone_search
    from platform_lib.skyposition import PositionError

    here = SkyCoord([10, 20], [-5, 5], unit="deg")
    stars = Table({"ra": [10.0, 20.0], "dec": [-5.0, 5.0]})
    nowhere = SkyCoord(np.nan, 5, unit="deg")
    return {
        "crossmatch(k='x')": (lambda tmp: crossmatch(stars, stars, 1 * u.arcsec, mode="k", k="x"), CrossmatchInputError,
                              r"^mode='k' needs a positive integer k, got 'x'"),
        "catalogs.cone_search(Table)": (lambda tmp: catalogue_cone(stars, here[0], 1 * u.deg), TypeError,
                                        r"^name_or_path must be a catalogue's registry name .* not Table: a table in "
                                        r"memory is searched by selecting its rows"),
        "catalogs.cone_search(center=NaN)": (lambda tmp: catalogue_cone("I/311", nowhere, 1 * u.deg), PositionError,
                                             r"^center is a SkyCoord of NaN or infinite coordinates"),
        "retrieval.cone_search(NaN)": (lambda tmp: cone_search(nowhere, 1 * u.deg, service=NOWHERE), PositionError,
                                       r"^position is a SkyCoord of NaN or infinite coordinates \(nan 5: a table's "
                                       r"empty cell\?\), which is no position"),
        "read_skymap(None)": (lambda tmp: read_skymap(None), TypeError, r"^source must be a sky map's FITS file"),
        "read_skymap(tolerance=-1)": (lambda tmp: read_skymap(tmp / "map.fits", tolerance=-1), ValueError,
                                      r"^tolerance must be a number from 0"),
        "match_skymap(skymap=None)": (lambda tmp: match_skymap(here, None), TypeError, r"^skymap must be a SkyMap"),
        "image_search(band=-1 m)": (lambda tmp: image_search(band=-1 * u.m, service=NOWHERE), TypeError,
                                    r"^band must be a pair of wavelengths"),
        "image_search(band=(-1, 2) nm)": (lambda tmp: image_search(band=(-1, 2) * u.nm, service=NOWHERE), ValueError,
                                          r"^band must be two positive"),
        "image_search(time='garbage')": (lambda tmp: image_search(time="garbage", service=NOWHERE),
                                         ValueError, r"^time='garbage' is not a date"),
        "image_search(time=stop first)": (
            lambda tmp: image_search(time=("2021-01-01", "2020-01-01"), service=NOWHERE), ValueError,
            r"ends before it starts"),
        "tap_query('  ')": (lambda tmp: tap_query("  ", service=NOWHERE), ValueError, r"^query is empty"),
        "tap_query(None)": (lambda tmp: tap_query(None, service=NOWHERE), TypeError, r"^query must be ADQL text"),
        "index_folder('')": (lambda tmp: index_folder(""), ImageIndexInputError, r"^folder is empty"),
        "build_index(None, ...)": (lambda tmp: build_index(None, tmp), ImageIndexInputError,
                                   r"^index_path must be a file's path .* got None"),
        "jobs.submit(None)": (lambda tmp: jobs.submit(None), TypeError, r"^kind must be a job kind's name"),
        "jobs.submit(params=[1])": (lambda tmp: jobs.submit("crossmatch", [1]), TypeError,
                                    r"^params must be a dict"),
        "ephemeris(times=[])": (lambda tmp: ephemeris("mars", []), MovingObjectError, r"holds no time"),
        "ephemeris(body=None)": (lambda tmp: ephemeris(None, "2025-01-01"), TypeError,
                                 r"^body must be a name or number"),
        "find_images(index=None)": (lambda tmp: find_images("Ceres", "2020-01-01", "2021-01-01", index=None),
                                    TypeError, r"^index must be the image index's path"),
        "bodies_in_images(None)": (lambda tmp: bodies_in_images(None), TypeError, r"^images must be an obs_id"),
        "viz.credible_region(level='x')": (lambda tmp: viz.credible_region(np.full(12, 1 / 12), "x"), ValueError,
                                           r"credible level is a number in \(0, 1\]"),
        "Storage.read_table(None)": (lambda tmp: _storage(tmp).read_table(None), TypeError,
                                     r"an address is a string"),
        "Storage.write_bytes(data=None)": (lambda tmp: _storage(tmp).write_bytes("home:a.bin", None), TypeError,
                                           r"^data must be bytes"),
    }


CASES = sorted(_cases())


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_an_error_naming_the_argument(name, tmp_path):
    call, error, message = _cases()[name]
    with pytest.raises(error, match=message):
        call(tmp_path)
