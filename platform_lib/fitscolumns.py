"""Column UCDs and descriptions in FITS binary tables, as TOPCAT and STILTS write and read them.

astropy keeps a column's ``description`` and ``meta["ucd"]`` in a FITS file only inside its own YAML comment
block (``--BEGIN-ASTROPY-SERIALIZED-COLUMNS--``), which no other tool reads: a table written with astropy and
opened in TOPCAT or STILTS had its units but not its UCDs nor its descriptions. TOPCAT and STILTS use the
header cards ``TUCDn`` and ``TCOMMn`` (long values with ``CONTINUE`` cards), and astropy reads those cards
back as table-level ``meta`` keys. This module owns both directions:

* :func:`add_column_cards` writes ``TUCDn``/``TCOMMn`` into a BINTABLE header from the table's columns;
* :func:`take_column_cards` moves ``TUCDn``/``TCOMMn`` found in a read table's ``meta`` onto its columns
  (so a FITS file from TOPCAT reads with its UCDs, and one of ours does not carry them twice).

Used by :mod:`platform_lib.storage` (``write_table``/``read_table`` of FITS) and the archive's FITS TAP
results. Imports only the standard library (it is handed astropy's objects).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CARDS", "add_column_cards", "take_column_cards"]

#: Header card prefix -> what it holds of a column.
CARDS = {"TUCD": "ucd", "TCOMM": "description"}

_CARD = re.compile(r"^(TUCD|TCOMM)([1-9][0-9]*)$")
#: The cards of one column that astropy writes, after the last of which ours go.
_COLUMN_CARDS = ("TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDISP", "TDIM")


def _ascii(text: str) -> str:
    """FITS header values are printable ASCII: accents dropped (``é`` -> ``e``), anything else left out."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in text if " " <= c <= "~").strip()


def add_column_cards(header, table) -> None:
    """Add ``TUCDn`` and ``TCOMMn`` to the BINTABLE ``header`` for the columns of ``table`` (in the header's
    column order) that have a UCD (``meta["ucd"]``) or a description, each after that column's own cards.

    Examples
    --------
    >>> from astropy.io import fits
    >>> from astropy.table import Table
    >>> t = Table({"plx": [1.5]}, units={"plx": "mas"}, descriptions={"plx": "Parallax"})
    >>> t["plx"].meta["ucd"] = "pos.parallax.trig"
    >>> hdu = fits.table_to_hdu(t)
    >>> add_column_cards(hdu.header, t)
    >>> hdu.header["TUCD1"], hdu.header["TCOMM1"]
    ('pos.parallax.trig', 'Parallax')
    """
    names = [header.get(f"TTYPE{i}") for i in range(1, int(header.get("TFIELDS", 0)) + 1)]
    for i, name in enumerate(names, 1):
        if name is None or name not in table.colnames:
            continue
        col = table[name]
        values = {"TUCD": (getattr(col, "meta", None) or {}).get("ucd"), "TCOMM": getattr(col.info, "description", None)}
        after = max(header.index(f"{card}{i}") for card in _COLUMN_CARDS if f"{card}{i}" in header)
        for prefix in CARDS:
            value = _ascii(values[prefix]) if values[prefix] else ""
            if value:
                header.insert(after + 1, (f"{prefix}{i}", value))
                after += 1


def take_column_cards(table) -> None:
    """Move the ``TUCDn``/``TCOMMn`` keys that astropy left in ``table.meta`` (a FITS table's header cards)
    onto the n-th column: its ``meta["ucd"]`` and ``description``, where astropy's own metadata did not already
    give one. Keys naming no column are left in ``meta``."""
    columns = list(table.columns.values())
    for key in [k for k in table.meta if isinstance(k, str) and _CARD.match(k)]:
        prefix, number = _CARD.match(key).groups()
        n = int(number)
        if n > len(columns):
            continue
        value = table.meta.pop(key)
        col = columns[n - 1]
        if prefix == "TUCD":
            if not col.meta.get("ucd"):
                col.meta["ucd"] = str(value)
        elif not col.info.description:
            col.info.description = str(value)
