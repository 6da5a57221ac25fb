"""``platform_lib.arglists.list_of``: an argument that is a list of one kind of thing, or the one TypeError naming the
argument and what to give; and the two public functions that check their list with it, whose messages it must keep
to the letter (dedup25: ``catalogs.guess_position_columns`` and ``viz.pick_magnitude`` each wrote the check out)."""

from __future__ import annotations

import pytest

from platform_lib.arglists import list_of

NAMES = "a column's name as text, in a list such as table.colnames"


def test_a_list_of_the_kind_comes_back_as_a_list_whatever_iterable_held_it():
    assert list_of(("ra", "dec"), str, "columns", NAMES) == ["ra", "dec"]
    assert list_of((n for n in ["gmag"]), str, "columns", NAMES) == ["gmag"]
    assert list_of([], str, "columns", NAMES) == []
    assert list_of([1, 2.5], (int, float), "levels", "a number") == [1, 2.5]


@pytest.mark.parametrize("value, said", [
    ("ra", "columns must be {}, not str 'ra'"),
    (b"\xff", "columns must be {}, not bytes b'\\xff'"),
    (5, "columns must be {}, not int 5"),
    (None, "columns must be {}, not NoneType None"),
    ("x" * 300, "columns must be {}, not str '" + "x" * 60 + "...(300 characters)'"),
    (["ra", 5, b"x"], "each of columns must be {}, not int 5"),
    (["ra", None], "each of columns must be {}, not NoneType None"),  # passed as a list of names before
    (["ra", "y" * 90], None),
    ([range(10 ** 70)], "each of columns must be {}, not range " + repr(range(10 ** 70))[:60]),
])
def test_a_text_a_non_list_or_a_wrong_item_is_the_typeerror_naming_it(value, said):
    if said is None:  # a long name of the right kind is no problem
        assert list_of(value, str, "columns", NAMES) == value
        return
    with pytest.raises(TypeError) as raised:
        list_of(value, str, "columns", NAMES)
    assert str(raised.value) == said.format(NAMES)


COLUMN_INFOS = ("a ColumnInfo, in a list such as [ColumnInfo('ra', unit='deg'), ColumnInfo('dec', unit='deg')] (for "
                "a table's names: [ColumnInfo(n) for n in table.colnames])")


def _guess(columns):
    from platform_lib.catalogs import guess_position_columns

    return guess_position_columns(columns)


def _pick(columns):
    from platform_lib.viz import pick_magnitude

    return pick_magnitude(columns)


@pytest.mark.parametrize("call, columns, said", [
    (_guess, 5, f"columns must be {COLUMN_INFOS}, not int 5"),
    (_guess, "x" * 300, f"columns must be {COLUMN_INFOS}, not str '{'x' * 60}...(300 characters)'"),
    (_guess, ["ra", "dec"], f"each of columns must be {COLUMN_INFOS}, not str 'ra'"),
    (_pick, b"\xff", f"columns must be {NAMES}, not bytes b'\\xff'"),
    (_pick, ["gmag", 5], f"each of columns must be {NAMES}, not int 5"),
])
def test_the_callers_messages_are_the_ones_they_wrote_before_the_helper(call, columns, said):
    """Each text is the one the function answered before dedup25 (its own copy of the check), to the letter."""
    with pytest.raises(TypeError) as raised:
        call(columns)
    assert str(raised.value) == said


@pytest.mark.parametrize("call, first, wanted", [(_guess, "ColumnInfo", COLUMN_INFOS), (_pick, "str", NAMES)])
def test_a_none_in_the_list_is_named_too(call, first, wanted):
    """A None item was taken for "no wrong item" and the list passed: AttributeError ``'NoneType' object has no
    attribute 'unit'`` (``'lower'``) from inside the function."""
    from platform_lib.catalogs import ColumnInfo

    with pytest.raises(TypeError) as raised:
        call([ColumnInfo("ra") if first == "ColumnInfo" else "ra", None])
    assert str(raised.value) == f"each of columns must be {wanted}, not NoneType None"
