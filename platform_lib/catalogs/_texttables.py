"""Text tables read by what they hold, not by their suffix: VizieR's ASU-TSV, IPAC tables, delimited text.

A ``.csv``, ``.tsv``, ``.txt``, ``.dat``, ``.tbl`` (plain or gzipped) is looked at before it is read:

* **VizieR ASU-TSV** (what VizieR's "tab-separated" and ";-separated" downloads give): ``#`` comment
  lines (``#Column`` lines give each column's name, Fortran format, description and UCD), then a
  header row, a units row and a row of dashes, then the rows; blank cells are missing values. One
  file may hold several tables, one such block each. Columns get their type from the ``#Column``
  format (``A`` text, ``I`` integer, ``F``/``E`` float: an ``A`` column of digits stays text), their
  unit from the units row (a unit astropy does not know is kept as text), their description and UCD
  from the ``#Column`` line.
* **IPAC tables** (IRSA, the NASA Exoplanet Archive): ``\\keyword`` lines then ``|``-framed header
  rows; read by astropy's ``ascii.ipac``.
* **ECSV** under another suffix (a ``# %ECSV`` first line).
* **Delimited text**: the delimiter is sniffed on the first lines (tab, comma, semicolon, bar, or
  runs of blanks): the one that splits every line into the same number (two or more) of fields.
  The header is the first row, or the last ``#`` comment line when the first row is numbers (a
  commented header), or missing (columns ``col1``...). Semicolon-separated files may write decimal
  commas (European spreadsheets, ``12,5``, ``1.234,5``) or thousands separators (``1,234,567``): a text
  column whose every value is such a number is read as one, when some value says which the comma is;
  a column of ``1,234``-like numbers only reads both ways: it is read as the file's other columns say,
  or kept as text with a warning.
  Fields may be quoted with ``"``, or with ``'`` where ``"`` does not make the lines even (astropy's
  guess too). A CSV may have short rows under its header (fewer fields: the missing ones are missing
  values, as astropy's CSV reader has them) when at least half of its rows are whole and none is longer.
  A row of units under the header (``,deg,deg,mag``, as ESASky, Aladin and many archive exports write) gives
  the columns their units when each of its fields is empty or a unit astropy reads, none is a number, and
  the next row has a number under one of the units; it is not read as a row (which made every column text).

Nothing fits: :class:`UnsupportedSource` names the file and what was tried; a file is never read as a
silent one-column table. Pure parsing apart from reading the file; imports numpy, pandas, astropy and ``_errors``.
"""

from __future__ import annotations

import csv
import functools
import gzip
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from platform_lib.catalogs._errors import AmbiguousNumberWarning, UnsupportedSource

__all__ = ["TEXT_SUFFIXES", "TextTable", "TextSource", "read_text", "sniff_delimiter", "parse_vizier_tsv"]

#: The suffixes whose content decides how the file is read (each also gzipped).
TEXT_SUFFIXES = tuple(s + gz for s in (".csv", ".tsv", ".tab", ".txt", ".dat", ".tbl", ".ipac", ".asc")
                      for gz in ("", ".gz"))

#: The delimiters tried, in the order tried for each suffix (``" "``: runs of blanks).
_DELIMITERS = {".csv": (",", ";", "\t", "|", " "), ".tsv": ("\t", ";", ",", "|", " "),
               ".tab": ("\t", ";", ",", "|", " ")}
_DEFAULT_DELIMITERS = ("\t", ",", ";", "|", " ")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar", " ": "blanks"}
_SAMPLE = 50  # lines looked at to sniff a delimiter
#: What a unit in a units row looks like (``deg``, ``mas/yr``, ``erg/s/cm2``, ``0.1nm``, ``%``): a letter or ``%``,
#: no comma or blank (``1,234.5`` and ``M 31`` are values).
_UNIT_TEXT = re.compile(r"^(?=.*[A-Za-z%])[A-Za-z0-9%.\[\]()/*^+\-]+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$")
# A ``;`` file's numbers with a comma: a decimal comma (``12,5``; ``1.234,5`` with dots between thousands, as
# in much of Europe) or a thousands separator (``1,234,567``; ``1,234.5``). ``1,234`` is either: a column
# is read one way only when some value in it rules the other out.
# Each pattern is a whole value's (pandas' ``str.fullmatch``), a plain integer being both.
_DECIMAL_COMMA = r"[+-]?(?:\d+|(?:\d{1,3}(?:\.\d{3})+|\d*),\d+(?:[eE][+-]?\d+)?)"
_THOUSANDS_COMMA = r"[+-]?(?:\d+|[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?)"
_DASHES = re.compile(r"^-+$")


@dataclass
class TextTable:
    """One table of a text file: its name (``""`` when the file holds one), description and rows."""

    name: str
    table: object  # an astropy Table
    description: str = ""


@dataclass
class TextSource:
    """What a text file held: its layout (``vizier-tsv``, ``ipac``, ``ecsv``, ``delimited (...)``), tables, title."""

    layout: str
    tables: list[TextTable] = field(default_factory=list)
    title: str = ""
    meta: dict = field(default_factory=dict)  # file-level keywords (IPAC ``\\EQUINOX``...), lower-case keys


def _suffix(path: Path) -> str:
    name = path.name.lower()
    name = name[:-3] if name.endswith(".gz") else name
    return Path(name).suffix


def _text_of(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzipped, whatever the name says (ESO's archive serves .tbl so)
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise UnsupportedSource(f"cannot read {path.name!r}: {exc}", value=str(path)) from exc
    try:
        return raw.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:  # older catalogues write Latin-1
        return raw.decode("latin-1")


def read_text(path: str | Path, *, one_column: bool = False) -> TextSource:
    """Read a text table file, choosing the reader from its content (see the module's docstring).

    ``one_column``: a ``.csv`` or ``.tsv`` in which no line holds the delimiter its suffix names is read
    as one column under its first line (a list of names); catalogue ingest refuses such a file, which
    is more often prose than a catalogue.
    """
    path = Path(path)
    text = _text_of(path)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        raise UnsupportedSource(f"{path.name!r} is empty", value=str(path))
    if first.lstrip()[:1] in ("{", "[", "<"):
        kind = "a JSON" if first.lstrip()[:1] in "{[" else "an XML or HTML"
        raise UnsupportedSource(
            f"{path.name!r} holds {kind} document, not a table: give a VOTable (.xml, .vot), FITS, CSV or "
            "another table file", value=str(path))
    if first.startswith("# %ECSV"):
        return TextSource("ecsv", [TextTable("", _astropy_read(path, lines, "ecsv"))])
    if first.startswith("#K "):  # DAOPHOT's header keywords
        return TextSource("daophot", [TextTable("", _astropy_read(path, lines, "daophot"))])
    if re.match(r"#\s+1\s+[A-Za-z_]", first):  # SExtractor: '#   1 NUMBER  Running object number'
        return TextSource("sextractor", [TextTable("", _astropy_read(path, lines, "sextractor"))])
    if _is_ipac(lines):
        table = _astropy_read(path, lines, "ipac")
        keywords = {str(k).lower(): (v.get("value") if isinstance(v, dict) else v)
                    for k, v in (table.meta.get("keywords") or {}).items()}
        return TextSource("ipac", [TextTable("", table)], meta=keywords)
    vizier = parse_vizier_tsv(lines)
    if vizier is not None:
        if not vizier.tables:
            raise UnsupportedSource(f"{path.name!r} is a VizieR table download without rows", value=str(path))
        return vizier
    return _read_delimited(path, lines, one_column)


def _astropy_read(path: Path, lines: list[str], fmt: str, **kw):
    from astropy.io import ascii

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unit-parsing chatter
            return ascii.read(lines, format=fmt, guess=False, **kw)  # lines: never taken for a file name
    except Exception as exc:  # astropy raises many kinds; all mean "unreadable"
        raise UnsupportedSource(f"cannot read {path.name!r} as {fmt}: {exc}", value=str(path)) from exc


def _is_ipac(lines: list[str]) -> bool:
    """``\\`` keyword/comment lines (or none), then one to four ``|``-framed header rows, then rows that are
    not framed: the IPAC table layout (a table framed by bars on every row is bar-delimited text)."""
    framed = keywords = 0
    for line in lines:
        if not line.strip() or (line.startswith("\\") and not framed):
            keywords += line.startswith("\\")
            continue
        if line.lstrip().startswith("|") and line.rstrip().endswith("|") and line.count("|") >= 2:
            framed += 1
            continue
        return 1 <= framed <= 4
    return 1 <= framed <= 4 and keywords > 0  # no rows: an IPAC table only when it has keywords


# -- VizieR ASU-TSV -----------------------------------------------------------------------------
def parse_vizier_tsv(lines: list[str]) -> TextSource | None:
    """The tables of a VizieR ASU-TSV download (tab- or semicolon-separated), or ``None`` when it is not one.

    The layout: ``#`` lines, a header row, a units row, a row of dashes (one run per column), the
    rows up to a blank line or the next ``#`` block; that again for each further table.
    """
    i, n = 0, len(lines)
    comments: list[str] = []
    tables: list[TextTable] = []
    titles: list[str] = []
    found = False
    while i < n:
        line = lines[i]
        if line.startswith("#") or not line.strip():
            if line.startswith("#"):
                comments.append(line)
            i += 1
            continue
        delimiter = _vizier_delimiter(lines, i, comments)
        if delimiter is None:
            if found:  # doubtful: say what was not read
                warnings.warn(f"VizieR TSV: line {i + 1} and those after it are not a table "
                              f"({line[:40]!r}...); they were not read", stacklevel=4)
                return _vizier_source(tables, titles)
            return None
        found = True
        header = [c.strip() for c in line.split(delimiter)]
        units = lines[i + 1].split(delimiter)
        j = i + 3
        while j < n and lines[j].strip(" ") and not lines[j].startswith("#"):  # a row of blank cells has tabs
            j += 1
        table, label, title = _vizier_table(header, units, _cells(lines[i + 3:j], delimiter, len(header)),
                                            comments)
        if len(table):
            tables.append(TextTable(label, table, title))
        titles.append(_comment_field(comments, "Title:", last=False))
        comments = []
        i = j
    return _vizier_source(tables, titles) if found else None


def _vizier_source(tables: list[TextTable], titles: list[str]) -> TextSource:
    if len(tables) == 1:
        tables[0].name = ""
    return TextSource("vizier-tsv", tables, title=next((t for t in titles if t), ""))


def _vizier_delimiter(lines: list[str], i: int, comments: list[str]) -> str | None:
    """The delimiter (tab or ``;``) when line ``i`` is a header followed by a units row and a dashes row
    (one column only where ``#Column`` lines say so: a lone dashed rule under a title is no table)."""
    if i + 2 >= len(lines):
        return None
    for delimiter in ("\t", ";"):
        header, units, dashes = (lines[i + k].split(delimiter) for k in range(3))
        if (len(header) == len(units) == len(dashes) and all(_DASHES.match(d.strip()) for d in dashes)
                and not any(_DASHES.match(h.strip()) for h in header)
                and (len(header) >= 2 or any(c.startswith("#Column") for c in comments))):
            return delimiter
    return None


def _comment_field(comments: list[str], label: str, *, last: bool = True) -> str:
    """The text after ``#<label>`` in a block's comment lines (``#Name:``, ``#Title:``, ``#Table``)."""
    found = [c[1 + len(label):].strip() for c in comments if c.startswith("#" + label)]
    return (found[-1] if last else found[0]) if found else ""


def _column_notes(comments: list[str]) -> dict[str, tuple[str, str, str]]:
    """``#Column`` lines: name -> (Fortran format, description, UCD)."""
    out = {}
    for line in comments:
        if not line.startswith("#Column"):
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        name = parts[1].strip()
        fmt = parts[2].strip().strip("()") if len(parts) > 2 else ""
        description = parts[3].strip() if len(parts) > 3 else ""
        ucd = ""
        for extra in parts[4:]:
            match = re.match(r"\s*\[ucd=([^\]]*)\]", extra)
            if match:
                ucd = match.group(1).strip()
        out[name] = (fmt, description, ucd)
    return out


def _cells(rows: list[str], delimiter: str, width: int) -> list[np.ndarray]:
    """The rows' cells, column by column, stripped (VizieR pads them to the column's width). pandas' C
    parser splits (no quoting: VizieR quotes nothing); a row with extra fields is cut to the header's width."""
    import io

    import pandas as pd

    if not rows:
        return [np.array([], dtype=str)] * width
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' ParserWarning on a row with extra fields: cut as split is
            frame = pd.read_csv(io.StringIO("\n".join(rows)), sep=delimiter, header=None, names=range(width),
                                dtype=str, na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False,
                                engine="c", index_col=False)
        by_column = [frame[k].to_numpy(dtype=str) for k in range(width)]
    except (ValueError, pd.errors.ParserError):
        split = [(row.split(delimiter) + [""] * width)[:width] for row in rows]
        by_column = [np.array(c, dtype=str) for c in zip(*split)]
    return [np.char.strip(c) for c in by_column]


def _vizier_table(header: list[str], units: list[str], by_column: list[np.ndarray], comments: list[str]):
    from astropy.table import MaskedColumn, Table

    notes = _column_notes(comments)
    columns = []
    for k, name in enumerate(header):
        values = by_column[k]
        fmt, description, ucd = notes.get(name, ("", "", ""))
        column = _typed_column(values, fmt[:1].upper())
        col = MaskedColumn(column, name=name, mask=np.ma.getmaskarray(column), description=description or None)
        unit = _unit(units[k].strip())
        if unit is not None:
            col.unit = unit
        if ucd:
            col.meta["ucd"] = ucd
        columns.append(col)
    table = Table(columns)
    label = _comment_field(comments, "Table").strip().rstrip(":").strip() or _comment_field(comments, "Name:")
    title = _comment_field(comments, "Title:")
    return table, label, title


def _typed_column(values: np.ndarray, kind: str):
    """Text cells as a masked column: of the ``#Column`` format's type when given, else int, float or text."""
    empty = values == ""
    given = values[~empty]
    dtypes = {"A": (), "F": (np.float64,), "E": (np.float64,), "D": (np.float64,)}.get(kind, (np.int64, np.float64))
    for dtype in dtypes:
        try:
            data = np.zeros(len(values), dtype=dtype)
            data[~empty] = given.astype(dtype)
            return np.ma.MaskedArray(data, mask=empty)
        except (ValueError, OverflowError):
            continue
    return np.ma.MaskedArray(values, mask=empty)


@functools.lru_cache(maxsize=256)
def _unit(text: str):
    """An astropy unit from VizieR's (CDS) unit text; a unit astropy does not know is kept as text."""
    if not text or text in ("---", "-"):
        return None
    import astropy.units as u

    if '"' in text:  # VizieR's "h:m:s", "d:m:s", "Y:M:D": formats, not units (and slow to fail parsing)
        return u.UnrecognizedUnit(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("cds", None):
            try:
                return u.Unit(text, format=fmt)
            except (ValueError, TypeError):
                continue
        return u.Unit(text, parse_strict="silent")


# -- delimited text -----------------------------------------------------------------------------
def _fields(line: str, delimiter: str, quotechar: str = '"') -> list[str]:
    if delimiter == " ":  # runs of blanks; "quoted text" is one field
        return (next(csv.reader([" ".join(line.split())], delimiter=" ", quotechar=quotechar)) if quotechar in line
                else line.split())
    if delimiter == "|":
        line = line.strip()
        line = line[1:] if line.startswith("|") else line
        line = line[:-1] if line.endswith("|") else line
    return next(csv.reader([line], delimiter=delimiter, quotechar=quotechar))


@dataclass(frozen=True)
class _Layout:
    """How the rows are split: the delimiter, the quote character, and whether rows may be short (CSV
    rows with fewer fields than the header: the missing ones are missing values, as astropy reads them)."""

    delimiter: str | None
    tried: list[str]
    quotechar: str = '"'
    short_rows: bool = False


def sniff_delimiter(lines: list[str], suffix: str = "") -> tuple[str | None, list[str]]:
    """The delimiter that splits every one of the first lines (not ``#`` comments) into the same number
    (two or more) of fields, with the names tried; ``None`` first when none does. Where several do,
    the one that gives the most numbers (decimal commas counting for ``;``), then the suffix's order.

    >>> sniff_delimiter(["ra;dec;name", "10,5;-2,25;M 31"], ".csv")
    (';', ['comma', 'semicolon'])
    """
    layout = _sniff(lines, suffix)
    return layout.delimiter, layout.tried


def _sniff(lines: list[str], suffix: str) -> _Layout:
    """:func:`sniff_delimiter`, also trying ``'`` as the quote character (``'test 1a' test2``, as astropy
    guesses it) when ``"`` does not fit, and, when no delimiter fits, a CSV whose rows after the header
    have at most its number of fields, half of them or more all of them (short rows)."""
    sample = [line for line in lines if line.strip() and not line.lstrip().startswith("#")][:_SAMPLE]
    tried, fitting = [], []
    for delimiter in _DELIMITERS.get(suffix, _DEFAULT_DELIMITERS):
        tried.append(_NAMES[delimiter])
        if not sample:
            break
        for quotechar in ('"', "'"):
            if quotechar == "'" and not any("'" in line for line in sample):
                continue
            try:
                split = [_fields(line, delimiter, quotechar) for line in sample]
            except csv.Error:
                continue
            counts = {len(fields) for fields in split}
            if len(counts) == 1 and counts.pop() >= 2:
                fitting.append((delimiter, quotechar, split))
                break
    if not fitting:
        return _short_rows_csv(sample, tried)
    # Two may fit ('10,5;-2,25' splits in two on either): the one whose fields are numbers, as a table's are.
    best = max(fitting, key=lambda fit: sum(_is_number(f, fit[0]) for fields in fit[2] for f in fields))
    return _Layout(best[0], tried[:tried.index(_NAMES[best[0]]) + 1], quotechar=best[1])


def _short_rows_csv(sample: list[str], tried: list[str]) -> _Layout:
    """A CSV with short rows (astropy's ``simple_csv_missing.csv``: ``a,b,c`` / ``1`` / ``4,5,6``): a header
    of names, no row longer than it, and at least half of the rows as long; else no layout."""
    try:
        split = [_fields(line, ",") for line in sample]
    except csv.Error:
        return _Layout(None, tried)
    if len(split) < 3 or len(split[0]) < 2 or any(_is_number(f, ",") or not f.strip() for f in split[0]):
        return _Layout(None, tried)
    width = len(split[0])
    rows = split[1:]
    if any(len(fields) > width for fields in rows) or 2 * sum(len(f) == width for f in rows) < len(rows):
        return _Layout(None, tried)
    return _Layout(",", tried, short_rows=True)


def _is_number(field: str, delimiter: str) -> bool:
    text = field.strip()
    return bool(_NUMBER.match(text) or (delimiter == ";" and _NUMBER.match(text.replace(",", "."))))


def _header_kind(lines: list[str], delimiter: str, quotechar: str = '"') -> str:
    """``header`` (the first row names the columns), ``commented`` (the last ``#`` line before the rows
    does: their first row is numbers) or ``none``."""
    first_index = next(k for k, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#"))
    first = [c.strip() for c in _fields(lines[first_index], delimiter, quotechar)]
    if not any(_is_number(c, delimiter) for c in first):  # a header names columns; a row holds a number or more
        return "header"
    before = [line for line in lines[:first_index] if line.strip()]
    if before and before[-1].lstrip().startswith("#"):
        names = _fields(before[-1].lstrip()[1:].strip(), delimiter, quotechar)
        if len(names) == len(first):
            return "commented"
    return "none"


def _units_row(lines: list[str], delimiter: str, quotechar: str = '"'):
    """``(index in lines, units)`` when the row under the header names the columns' units (each field empty or
    a unit astropy reads, none a number, some unit above a number in the next row), else ``None``."""
    rows = [k for k, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if len(rows) < 3:
        return None
    candidate = [c.strip() for c in _fields(lines[rows[1]], delimiter, quotechar)]
    below = [c.strip() for c in _fields(lines[rows[2]], delimiter, quotechar)]
    if len(candidate) != len(below) or not any(candidate) \
            or any(_is_number(c, delimiter) for c in candidate if c):
        return None
    import astropy.units as u

    candidate = ["" if c in ("-", "---") else c for c in candidate]  # VizieR's 'no unit'
    units = [_unit(c) if c and _UNIT_TEXT.match(c) else None for c in candidate]
    if any(c and (unit is None or isinstance(unit, u.UnrecognizedUnit) or unit == u.dimensionless_unscaled)
           for c, unit in zip(candidate, units)):
        return None
    if not any(unit is not None and _is_number(value, delimiter) for unit, value in zip(units, below)):
        return None
    return rows[1], units


def _comment_lines_before_rows(lines: list[str]) -> int:
    """How many ``#`` lines come before the first row (the commented header is the last of them)."""
    count = 0
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            break
        count += line.lstrip().startswith("#")
    return count


def _read_delimited(path: Path, lines: list[str], one_column: bool = False) -> TextSource:
    suffix = _suffix(path)
    layout = _sniff(lines, suffix)
    delimiter, tried = layout.delimiter, layout.tried
    named = {".csv": ",", ".tsv": "\t", ".tab": "\t"}.get(suffix)
    rows = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if delimiter is None and one_column and named and len(rows) >= 2 and not any(named in r for r in rows):
        from astropy.table import MaskedColumn, Table

        cells = [r.strip().strip('"') for r in rows]
        values = _typed_column(np.array(cells[1:], dtype=str), "")
        table = Table([MaskedColumn(values, name=cells[0], mask=np.ma.getmaskarray(values))])
        return TextSource("delimited (one column, header)", [TextTable("", table)])
    if delimiter is None:
        raise UnsupportedSource(
            f"cannot read {path.name!r} as a table: it is not a VizieR TSV, an IPAC table or ECSV, and no "
            f"delimiter ({', '.join(tried)}) splits its first lines into the same number of fields (two or "
            "more); save it as CSV, FITS or VOTable, or remove the lines that are not rows", value=str(path))
    kind = _header_kind(lines, delimiter, layout.quotechar)
    units = None
    if kind == "header":
        found = _units_row(lines, delimiter, layout.quotechar)
        if found is not None:
            index, units = found
            lines = lines[:index] + lines[index + 1:]
    kw: dict = {"fill_values": [("", "0")]}
    if layout.quotechar != '"':
        kw["quotechar"] = layout.quotechar
    if kind == "commented":  # the last comment line above the rows, not the first of the file
        kw["header_start"] = _comment_lines_before_rows(lines) - 1
    if delimiter == "\t":
        fmt = "tab" if kind == "header" else ("commented_header" if kind == "commented" else "no_header")
        if fmt != "tab":
            kw["delimiter"] = "\t"
    else:
        fmt = {"header": "basic", "commented": "commented_header", "none": "no_header"}[kind]
        if delimiter != " ":  # astropy's default: runs of blanks
            kw["delimiter"] = delimiter
    if delimiter == "|":  # bars framing each row are no empty first and last fields
        lines = [line.strip().strip("|") if line.strip() and not line.lstrip().startswith("#") else line
                 for line in lines]
    if layout.short_rows:  # astropy's CSV reader gives the missing fields of a short row as missing values
        fmt, kw = "csv", {"fill_values": [("", "0")]}
        lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    table = _astropy_read(path, lines, fmt, **kw)
    if len(table.colnames) < 2:
        raise UnsupportedSource(f"{path.name!r} read as a single column with {_NAMES[delimiter]} as the "
                                "delimiter: give a file whose rows have several fields", value=str(path))
    _strip_text(table)
    if delimiter == ";":
        _decimal_commas(table, path.name)
    if units is not None and len(units) == len(table.colnames):
        for name, unit in zip(table.colnames, units):
            table[name].unit = unit
        kind += " and units"
    said = f"delimited ({_NAMES[delimiter]}, {'no header' if kind == 'none' else kind + ' header'}"
    said += ", short rows)" if layout.short_rows else ")"
    return TextSource(said.replace("header header", "header"), [TextTable("", table)])


def _strip_text(table) -> None:
    for name in table.colnames:
        col = table[name]
        if col.dtype.kind == "U":
            stripped = np.char.strip(np.ma.getdata(col))
            if not np.array_equal(stripped, np.ma.getdata(col)):
                col[:] = stripped


def _decimal_commas(table, filename: str) -> None:
    """Text columns whose every value is a number with a comma as numbers, when the comma reads one way only.

    A decimal comma (``12,5``, ``1.234,5``) once some value cannot be a thousands separator (other than
    three digits after the comma, a leading ``0,``, an exponent, dots between thousands); a thousands
    separator (``1,234,567``, ``1,234.5``) once some value cannot be a decimal comma. A column whose every
    comma is followed by three digits (``1,234``) reads both ways: it is read as the file's other columns
    say (a file writes numbers one way: decimal commas beside thousands commas would be unreadable), and
    where none does it stays text, with an :class:`AmbiguousNumberWarning` naming it and both readings.
    """
    import pandas as pd

    readings = {}
    for name in table.colnames:
        col = table[name]
        if col.dtype.kind != "U":
            continue
        values = np.ma.getdata(col)[~np.ma.getmaskarray(col)]
        if not values.size or np.char.count(values, ",").max() == 0:
            continue
        cells = pd.Series(values, dtype="str")  # matched by pyarrow, not one by one in Python
        decimal, thousands = (all(bool(c.str.fullmatch(p).all()) for c in (cells[:1000], cells))  # first rows first
                              for p in (_DECIMAL_COMMA, _THOUSANDS_COMMA))
        if decimal or thousands:
            readings[name] = "both" if decimal and thousands else ("decimal" if decimal else "thousands")
    said = set(readings.values()) - {"both"}
    for name, reading in readings.items():
        if reading == "both" and len(said) == 1:
            reading = next(iter(said))
        if reading == "both":
            values = np.ma.getdata(table[name])
            example = next(v for v in values if "," in v)
            warnings.warn(AmbiguousNumberWarning(
                f"{filename!r}: column {name!r} is kept as text: each of its numbers with a comma has three "
                f"digits after it, so {example!r} reads as {float(example.replace(',', '.'))!r} (a decimal "
                f"comma) or as {int(example.replace(',', ''))!r} (a thousands separator) and nothing in the "
                "file tells which; write the file with decimal points and no thousands separators, or "
                "convert the column yourself"), stacklevel=2)
            continue
        _as_numbers(table, name, reading)


def _as_numbers(table, name: str, reading: str) -> None:
    """Column ``name``, text, as the numbers it holds with commas read as ``decimal`` or ``thousands``."""
    from astropy.table import MaskedColumn

    col = table[name]
    mask = np.ma.getmaskarray(col)
    values = np.ma.getdata(col)[~mask]
    if reading == "decimal":
        numbers = np.char.replace(np.char.replace(values, ".", ""), ",", ".").astype(float)
    else:
        numbers = np.char.replace(values, ",", "")
        try:
            numbers = numbers.astype(float) if np.char.count(numbers, ".").any() else numbers.astype(np.int64)
        except OverflowError:  # beyond 64 bits: as floats
            numbers = numbers.astype(float)
    data = np.zeros(len(col), dtype=numbers.dtype)
    data[~mask] = numbers
    table[name] = MaskedColumn(data, name=name, mask=mask, unit=col.unit, description=col.description,
                               meta=dict(col.meta or {}))
