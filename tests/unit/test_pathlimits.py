"""``platform_lib.pathlimits.path_problem``: the one check of a path a user gives (its type, a blank one, its length
against the file system's limits), answered as a problem for the caller to raise in its own class and words; and the
four functions that check their path with it, whose errors it must keep to the letter (dedup25: each wrote the
check out: ``imageindex``'s ``given_path``, ``viz``'s ``given_hips_path``, crossmatch's named side and
``catalogs.read_text_table``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from platform_lib.pathlimits import BLANK, NOT_A_PATH, path_problem, too_long

LONG = too_long("x" * 300)


class _PathLike(os.PathLike):
    def __init__(self, value):
        self.value = value

    def __fspath__(self):
        return self.value


@pytest.mark.parametrize("value, answer", [
    ("images/m13.fits", ("images/m13.fits", None)),
    (Path("images/m13.fits"), ("images/m13.fits", None)),
    (_PathLike("a"), ("a", None)),
    (None, (None, NOT_A_PATH)),
    (5, (None, NOT_A_PATH)),
    (b"m13.fits", (b"m13.fits", NOT_A_PATH)),
    (_PathLike(b"m13.fits"), (b"m13.fits", NOT_A_PATH)),
    ("", ("", BLANK)),
    (" \t\n", (" \t\n", BLANK)),
    (_PathLike(""), ("", BLANK)),
    ("x" * 256, ("x" * 256, LONG)),
    ("a/" * 2049, ("a/" * 2049, LONG)),
    ("x" * 255, ("x" * 255, None)),
])
def test_a_path_is_text_neither_blank_nor_longer_than_the_file_system_takes(value, answer):
    assert path_problem(value) == answer


def test_a_blank_path_may_be_the_callers_to_judge_and_its_length_is_still_checked():
    assert path_problem(" ", blank_ok=True) == (" ", None)
    assert path_problem(" " * 300, blank_ok=True) == (" " * 300, LONG)
    assert path_problem(" " * 300) == (" " * 300, BLANK)


def test_the_length_checked_is_that_of_the_path_as_the_caller_will_use_it():
    relative = "a/" * 1000  # 2,000 bytes here, over 4,096 once put under a folder of 2,100
    assert path_problem(relative) == (relative, None)
    assert path_problem(relative, as_used=lambda text: "/" + "b/" * 1050 + text) == (relative, LONG)


def _shown(text):
    return f"{text[:60]}...({len(text)} characters)"


def _index_folder(path):
    from platform_lib.imageindex import index_folder

    return index_folder(path)


def _read_hips_properties(path):
    from platform_lib.viz import read_hips_properties

    return read_hips_properties(path)


def _crossmatch_left(path):
    import astropy.units as u
    from astropy.table import Table

    from platform_lib.crossmatch import crossmatch

    return crossmatch(path, Table({"ra": [10.0], "dec": [-5.0]}), 1 * u.arcsec)


def _read_text_table(path):
    from platform_lib.catalogs import read_text_table

    return read_text_table(path)


FOLDER = "give a folder's path, e.g. '~/myimages'"
PROPS = "give a HiPS properties file's path, e.g. '~/hips/mine/properties'"
CATALOGUE = "give a catalogue's registry name (e.g. 'I/311') or a HATS folder's path"
Y300 = "y" * 300


@pytest.mark.parametrize("call, path, error, said, code, value", [
    (_index_folder, 5, "ImageIndexInputError",
     "folder must be a folder's path (a str or pathlib.Path, e.g. '~/myimages'), got 5", "bad-path", "5"),
    (_index_folder, " ", "ImageIndexInputError", "folder is empty: give a path, e.g. '~/myimages'", "bad-path", "' '"),
    (_index_folder, Y300, "ImageIndexInputError", f"folder '{_shown(Y300)}' is longer than the file system takes (a "
     f"name of at most 255 bytes, a path of 4096): {FOLDER}", "bad-path", _shown(Y300)),
    (_read_hips_properties, b"\xff", "HipsError", "path must be a HiPS properties file's path (a str or pathlib.Path, "
     "e.g. '~/hips/mine/properties'), got bytes b'\\xff'", "bad-hips", "b'\\xff'"),
    (_read_hips_properties, " ", "HipsError", f"path is empty: {PROPS}", "bad-hips", " "),
    (_read_hips_properties, Y300, "HipsError", f"path '{_shown(Y300)}' is longer than the file system takes (a name "
     f"of at most 255 bytes, a path of 4096): {PROPS}", "bad-hips", _shown(Y300)),
    (_crossmatch_left, " ", "CrossmatchInputError", "left is an empty name: give a catalogue's registry name (e.g. "
     "'I/311'), a HATS folder's path, a table or a DataFrame", "empty-name", " "),
    (_crossmatch_left, Y300, "CrossmatchInputError", f"left catalogue '{_shown(Y300)}' is longer than the file system "
     f"takes (a name of at most 255 bytes, a path of 4096): {CATALOGUE}", "not-found", _shown(Y300)),
    (_crossmatch_left, b"I/311", "TypeError", "left must be a table, a DataFrame, a catalogue's registry name or a "
     "HATS folder's path as text, not bytes (b'I/311'): decode it, e.g. left.decode()", None, None),
    (_read_text_table, 5, "TypeError", "path must be a text table file's path (a str or pathlib.Path, e.g. "
     "'vizier.tsv'), got int 5", None, None),
    (_read_text_table, " ", "UnsupportedSource", "' ' is not a file", "unsupported-source", " "),
    (_read_text_table, " " * 300, "UnsupportedSource", f"'{_shown(' ' * 300)}' is longer than the file system takes "
     "(a name of at most 255 bytes, a path of 4096): give a text table file's path", "unsupported-source",
     _shown(" " * 300)),
])
def test_the_callers_errors_are_the_ones_they_raised_before_the_helper(tmp_path, monkeypatch, call, path, error, said,
                                                                      code, value):
    """Each class, text, code and value is what the function raised before dedup25 (its own copy of the check)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(Exception) as raised:
        call(path)
    assert (type(raised.value).__name__, str(raised.value)) == (error, said)
    assert (getattr(raised.value, "code", None), getattr(raised.value, "value", None)) == (code, value)
