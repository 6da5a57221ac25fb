"""Bad input to the public functions the tutorials call first: each answers with an error naming the argument and
what to give, raised before any file, service or computation is touched, not a traceback from deep inside
numpy, pathlib, astropy or a service call (honest22 tried 20 such functions with None, wrong types, NaN, negative,
empty and huge values; these are the ones that answered from inside a library, or not at all: ``index_folder("")``
indexed the current folder, ``tap_query("")`` and ``image_search(time="garbage")`` went to the service).

badinput23 tried 30 more calls of the functions the tutorials use (crossmatch, both cone searches, tap_query,
viz.plot, ephemeris) with NaN, text, empty tables and huge values: ``crossmatch(mode="k", k="x")`` answered
Python's "invalid literal for int()", ``catalogs.cone_search(table, ...)`` an error whose text was the whole
table's repr, and a SkyCoord of NaN coordinates went to the cone search service as ``RA=nan``.

badinput23b tried sky maps, storage paths and the static views: ``SkyMap.credible_moc(2)`` answered the whole map
(and ``(nan)`` the densest pixel, with a warning), ``credible_area('x')`` Python's "'<' not supported", a SkyMap whose
layers differ in length a wrong area; ``write_bytes('home:a\\nb')`` made a file with a newline in its name,
``'home: '`` one named by a blank, ``'home:a/'`` a file ``a``, and a write under a file "File exists (retry; ...
tell an operator)"; ``viz.Aladin(projection="AIT")`` opened in SIN, ``target=5`` and ``height='x'`` answered
with ipyaladin's TraitError; ``viz.plot(table, radius=...)`` without a center ignored the radius, and with one a
radius of metres or text answered from astropy; ``plot_skymap(levels=('x',))`` answered from numpy, ``levels=(2,)``
drew.

badinput24 tried 30 more public functions with None, '', NaN, numbers, bytes, 300-character names and lists:
``crossmatch('')`` read the current folder as a HATS catalogue, a name or folder over the file system's 255 bytes
answered its "File name too long" (crossmatch, index_folder, get_job), ``get_job(5)`` "argument of type 'int' is not
iterable", ``hips_name(5)`` re's TypeError."""

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


def _under_a_file(tmp_path):
    """A write to ``home:a/b`` where ``home:a`` is a file."""
    storage = _storage(tmp_path)
    storage.write_bytes("home:a", b"x")
    return storage.write_bytes("home:a/b", b"y")


def _get_job_in(tmp_path, job_id):
    """``jobs.get_job(job_id)`` for a user whose job folder exists (where the file system checks the name)."""
    from platform_lib import get_settings, jobs
    from platform_lib.jobs._store import jobs_root

    settings = get_settings(user="alice", home=tmp_path)
    jobs_root(tmp_path).mkdir(parents=True)
    return jobs.get_job(job_id, settings=settings)


def _skymap(**layers):
    from platform_lib.skymap import SkyMap

    return SkyMap(**{"uniq": np.arange(12) + 4, "probdensity": np.full(12, 1 / (4 * np.pi)), **layers})


def _cases():
    from platform_lib import jobs, viz
    from platform_lib.imageindex import ImageIndexInputError, build_index, index_folder
    from platform_lib.moving import MovingObjectError, bodies_in_images, ephemeris, find_images
    from platform_lib.retrieval import RetrievalInputError, image_search, tap_query
    from platform_lib.skymap import match_skymap, read_skymap

    from astropy.table import Table

    from platform_lib.catalogs import UnsupportedSource, guess_position_columns, read_text_table
    from platform_lib.catalogs import cone_search as catalogue_cone
    from platform_lib.crossmatch import CrossmatchInputError, crossmatch
    from platform_lib.retrieval import cone_search
    from platform_lib.skyposition import PositionError

    from platform_lib.skymap import SkymapError
    from platform_lib.storage import StorageError

    here = SkyCoord([10, 20], [-5, 5], unit="deg")
    stars = Table({"ra": [10.0, 20.0], "dec": [-5.0, 5.0]})
    nowhere = SkyCoord(np.nan, 5, unit="deg")
    flat_map = np.full(12, 1 / 12)
    return {
        "SkyMap.credible_area('x')": (lambda tmp: _skymap().credible_area("x"), SkymapError,
                                      r"^level must be a credible level, a number in \(0, 1\] such as 0.9, got 'x'"),
        "SkyMap.credible_moc(2)": (lambda tmp: _skymap().credible_moc(2), SkymapError,
                                   r"^level must be a credible level.*got 2$"),
        "SkyMap.credible_moc(NaN)": (lambda tmp: _skymap().credible_moc(np.nan), SkymapError,
                                     r"^level must be a credible level.*got nan$"),
        "SkyMap.flatten(1.5)": (lambda tmp: _skymap().flatten(1.5), SkymapError,
                                r"^order must be a whole number in \[0, 29\], got 1.5"),
        "SkyMap(probdensity shorter)": (
            lambda tmp: _skymap(probdensity=[1.0]), SkymapError,
            r"one length, one entry per pixel, got shapes uniq \(12,\), probdensity \(1,\)"),
        "SkyMap(uniq='x')": (lambda tmp: _skymap(uniq="x"), SkymapError, r"^uniq must be an array of numbers"),
        "Storage.write_bytes(newline in name)": (lambda tmp: _storage(tmp).write_bytes("home:a\nb", b"x"), StorageError,
                                                 r"a name may not hold control characters \('\\n'\)"),
        "Storage.mkdir(tab in name)": (lambda tmp: _storage(tmp).mkdir("home:a\tb"), StorageError,
                                       r"control characters \('\\t'\)"),
        "Storage.write_bytes(blank name)": (lambda tmp: _storage(tmp).write_bytes("home:dir/ ", b"x"), StorageError,
                                            r"a name of blanks only is no name"),
        "Storage.write_bytes('home:a/')": (lambda tmp: _storage(tmp).write_bytes("home:a/", b"x"), StorageError,
                                           r"^home:a/: ends with '/', which names a folder"),
        "Storage.write_bytes(under a file)": (_under_a_file, StorageError,
                                              r"^home:a/b: home:a is a file, not a folder"),
        "Storage.usage(5)": (lambda tmp: _storage(tmp).usage(5), TypeError, r"^space must be a space's name"),
        "viz.plot(radius, no center)": (lambda tmp: viz.plot(stars, radius=1 * u.deg), viz.VizError,
                                        r"^radius=.* no center was given: pass center= too"),
        "viz.plot(radius='x')": (lambda tmp: viz.plot(stars, center=here[0], radius="x"), viz.VizError,
                                 r"^radius='x' is not an angle"),
        "viz.plot(radius=5 m)": (lambda tmp: viz.plot(stars, center=here[0], radius=5 * u.m), viz.VizError,
                                 r"^radius=.* is not an angle"),
        "viz.plot_healpix(all NaN)": (lambda tmp: viz.plot_healpix(np.full(12, np.nan)), viz.VizError,
                                      r"^the HEALPix map's 12 values are all NaN"),
        "viz.plot_healpix(text)": (lambda tmp: viz.plot_healpix(["a"] * 12), viz.VizError,
                                   r"^a HEALPix map is an array of numbers"),
        "viz.plot_skymap(levels=('x',))": (lambda tmp: viz.plot_skymap(flat_map, levels=("x",)), viz.VizError,
                                           r"^each of levels: a credible level is a number in \(0, 1\]"),
        "viz.plot_skymap(levels=(2,))": (lambda tmp: viz.plot_skymap(flat_map, levels=(2,)), viz.VizError,
                                         r"^each of levels: .* got 2$"),
        "image_search(pos=polygon with NaN)": (
            lambda tmp: image_search(pos=(1, 2, np.nan, 4, 5, 6), service=NOWHERE), RetrievalInputError,
            r"^pos=\(1.0, 2.0, nan, 4.0, 5.0, 6.0\) holds NaN or infinite values"),
        "image_search(pos=box, Dec 95)": (lambda tmp: image_search(pos=(10, 20, -5, 95), service=NOWHERE),
                                          RetrievalInputError, r"Dec within \[-90, 90\] deg"),
        "image_search(pos=5 numbers)": (lambda tmp: image_search(pos=(1, 2, 3, 4, 5), service=NOWHERE),
                                        RetrievalInputError, r"^pos must be a circle .* got 5 numbers"),
        "image_search(position and pos)": (
            lambda tmp: image_search(here[0], 1 * u.deg, pos=(10, 20, -5, 5), service=NOWHERE), RetrievalInputError,
            r"^give either position and radius \(a circle\) or pos="),
        "find_images(index='')": (lambda tmp: find_images("Ceres", "2020-01-01", "2020-02-01", index=""),
                                  MovingObjectError, r"^index is empty"),
        "find_images(max_points='x')": (
            lambda tmp: find_images("Ceres", "2020-01-01", "2020-02-01", index=tmp / "i.sqlite", max_points="x"),
            MovingObjectError, r"^max_points must be a whole number"),
        "bodies_in_images('')": (lambda tmp: bodies_in_images("", index=tmp / "i.sqlite"), MovingObjectError,
                                 r"^images is an empty obs_id"),
        "viz.Aladin(target=5)": (lambda tmp: viz.Aladin(target=5), viz.VizError,
                                 r"^target must be a SkyCoord, a position as text or an object's name, not int 5"),
        "viz.Aladin(height='x')": (lambda tmp: viz.Aladin(height="x"), viz.VizError,
                                   r"^height='x' must be the view's height in pixels"),
        "viz.Aladin(height=-5)": (lambda tmp: viz.Aladin(height=-5), viz.VizError, r"^height=-5 must be"),
        "viz.Aladin(projection='bogus')": (lambda tmp: viz.Aladin(projection="bogus"), viz.VizError,
                                           r"^projection='bogus' is not one of Aladin Lite's: .*AIT, MOL"),
        "viz.Aladin(survey=5)": (lambda tmp: viz.Aladin(survey=5), viz.VizError,
                                 r"^survey=5 must be a HiPS survey's URL"),
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
        # badinput24: crossmatch('') read the current folder as a HATS catalogue ("Failed to read HATS at
        # location <cwd>"), a name over the file system's limits answered its OSError "File name too long", bytes
        # pathlib's TypeError; get_job(5) "argument of type 'int' is not iterable", an id over 255 characters in
        # an existing job folder "File name too long"; hips_name(5) re's "expected string or bytes-like object";
        # index_folder(a name over 255 bytes) "File name too long"; ephemeris(times=b'\xff') Python's UnicodeDecodeError;
        # validate_hips(None) and upload_hips(5) pathlib's TypeError, read_hips_properties('') "Is a directory: '.'";
        # catalogs.read_text_table(None) pathlib's TypeError, a 300-character name "File name too long"
        "crossmatch(left='')": (lambda tmp: crossmatch("", stars, 1 * u.arcsec), CrossmatchInputError,
                                r"^left is an empty name: give a catalogue's registry name"),
        "crossmatch(right=' ')": (lambda tmp: crossmatch(stars, " ", 1 * u.arcsec), CrossmatchInputError,
                                  r"^right is an empty name"),
        "crossmatch(right=long name)": (lambda tmp: crossmatch(stars, "x" * 300, 1 * u.arcsec),
                                        CrossmatchInputError, r"^right catalogue 'x+\.\.\.\(300 characters\)' is longer "
                                                              r"than the file system takes \(a name of at most 255 bytes"),
        "crossmatch(left=bytes)": (lambda tmp: crossmatch(b"I/311", stars, 1 * u.arcsec), TypeError,
                                   r"^left must be a table, .* not bytes \(b'I/311'\): decode it"),
        "index_folder(long name)": (lambda tmp: index_folder(tmp / ("x" * 300)), ImageIndexInputError,
                                    r"^folder '.*\.\.\.\(\d+ characters\)' is longer than the file system takes"),
        "ephemeris(times=b'\\xff')": (lambda tmp: ephemeris("mars", b"\xff"), MovingObjectError,
                                     r"^times=b'\\xff' is bytes that are not UTF-8 text: give the date as text"),
        "viz.validate_hips(None)": (lambda tmp: viz.validate_hips(None), viz.HipsError,
                                    r"^path must be a HiPS folder's path \(a str or pathlib.Path, e.g. '~/hips/mine'\), "
                                    r"got NoneType None"),
        "viz.validate_hips(long name)": (lambda tmp: viz.validate_hips("y" * 300), viz.HipsError,
                                         r"^path 'y+\.\.\.\(300 characters\)' is longer than the file system takes"),
        "viz.upload_hips(5)": (lambda tmp: viz.upload_hips(5), viz.HipsError, r"^path must be a HiPS folder's path"),
        "viz.read_hips_properties('')": (lambda tmp: viz.read_hips_properties(""), viz.HipsError,
                                         r"^path is empty: give a HiPS properties file's path"),
        "catalogs.read_text_table(None)": (lambda tmp: read_text_table(None), TypeError,
                                           r"^path must be a text table file's path \(a str or pathlib.Path"),
        "catalogs.read_text_table(long name)": (lambda tmp: read_text_table("z" * 300), UnsupportedSource,
                                                r"^'z+\.\.\.\(300 characters\)' is longer than the file system "),
        "jobs.get_job(5)": (lambda tmp: jobs.get_job(5), TypeError, r"^job_id must be a job's id as text"),
        "jobs.get_job(long id)": (lambda tmp: _get_job_in(tmp, "x" * 300), jobs.UnknownJobError,
                                  r"^no job 'x+\.\.\.\(300 characters\)' in .*; list_jobs\(\) shows the jobs there"),
        "viz.hips_name(5)": (lambda tmp: viz.hips_name(5), TypeError,
                             r"^table_name must be a registry table's name as text, such as 'I/311/hip2', not int 5"),
        # leftovers24: both read their text (bytes) argument an item at a time and answered AttributeError
        "catalogs.guess_position_columns(text)": (
            lambda tmp: guess_position_columns("x" * 300), TypeError,
            r"^columns must be a ColumnInfo, in a list such as \[ColumnInfo\('ra', unit='deg'\), .* not str 'x+\.\.\.\(300 characters\)'$"),
        "catalogs.guess_position_columns([names])": (
            lambda tmp: guess_position_columns(["ra", "dec"]), TypeError,
            r"^each of columns must be a ColumnInfo, .*\[ColumnInfo\(n\) for n in table.colnames\]\), not str 'ra'$"),
        "viz.pick_magnitude(b'\\xff')": (lambda tmp: viz.pick_magnitude(b"\xff"), TypeError,
                                        r"^columns must be a column's name as text, in a list such as table.colnames, "
                                        r"not bytes b'\\xff'$"),
        "viz.pick_magnitude([5])": (lambda tmp: viz.pick_magnitude([5]), TypeError,
                                    r"^each of columns must be a column's name as text, .* not int 5$"),
        "viz.pick_magnitude(ucds=[...])": (lambda tmp: viz.pick_magnitude(["gmag"], ["phot.mag"]), TypeError,
                                           r"^ucds must be a dict of column name to UCD"),
    }


CASES = sorted(_cases())


def test_a_view_opens_in_the_projection_asked_for():
    """``viz.Aladin(projection="AIT")`` (and ``viz.show(obj, projection=...)``) opened in SIN: ipyaladin reads only
    its private ``_projection`` at the start, and dropped the option without a word."""
    from platform_lib import viz

    assert viz.Aladin(projection="AIT").projection == "AIT"
    assert viz.Aladin(projection="mollweide").projection == "MOL"  # viz.plot's name of it
    assert viz.Aladin().projection == "SIN"


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_an_error_naming_the_argument(name, tmp_path):
    call, error, message = _cases()[name]
    with pytest.raises(error, match=message):
        call(tmp_path)


def test_a_vo_cone_search_takes_the_catalogue_first_as_the_catalogue_cone_search_does():
    """firsthour24: ``retrieval.cone_search('I/311', 'M45', r)``, the argument order of ``catalogs.cone_search``,
    was Python's "cone_search() takes 2 positional arguments but 3 were given"; it is now the cone search of I/311
    (here at an archive that is not there: the error names the search), and a call it cannot read says both forms."""
    import requests

    from platform_lib.retrieval import RetrievalError, cone_search
    from platform_lib.settings import get_settings

    settings = get_settings(archive_url=NOWHERE)
    with pytest.raises(RetrievalError, match=r"^cone search at the archive \(/scs/I/311\) could not be reached"):
        cone_search("I/311", "56.75 24.12", "1 deg", settings=settings, session=requests.Session())  # no retries
    with pytest.raises(TypeError, match=r"\(position, radius, catalog=...\) or \(catalog, position, radius\), not 3 "
                                        r"positional arguments: cone_search\('M45', '30 arcmin', catalog='I/311'\)"):
        cone_search(SkyCoord(56.75, 24.12, unit="deg"), 1 * u.deg, "I/311", settings=settings)
    with pytest.raises(TypeError, match="not 3 positional arguments and catalog= or service="):
        cone_search("I/311", "56.75 24.12", "1 deg", catalog="I/311", settings=settings)
