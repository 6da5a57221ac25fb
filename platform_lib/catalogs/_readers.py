"""Reading ingest sources into astropy Tables plus the catalogue metadata they carry.

One function per source kind: FITS, VOTable, Parquet, ECSV/HDF5 through astropy's unified I/O, text
tables (``.csv``, ``.tsv``, ``.txt``, ``.dat``, ``.tbl``, plain or gzipped: VizieR ASU-TSV, IPAC, ECSV or
delimited text, told apart by their content in ``_texttables``), and CDS (a ``ReadMe`` describing
fixed-width data files, VizieR's own format), whose ReadMe also gives the catalogue's title, authors,
reference, keywords and abstract. VizieR's layouts are all read: data split into numbered parts
(``table1.dat.00``, ``.01``), glob names in the ReadMe (``*refs.dat``), a ReadMe under another name
(``ReadMe1``), and single files carrying their own byte-by-byte header (AAS MRT files, CDS tables with
the ReadMe on top). FITS files are told by :mod:`platform_lib.fitsfiles` (``.fits``, ``.fit``, ``.fts`` plain or
compressed, ``.fz``). Imports astropy, ``platform_lib.fitsfiles`` and the package's ``_columns``, ``_errors`` and
``_texttables``; no writes.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from platform_lib.catalogs._columns import position_ucd
from platform_lib.catalogs._errors import BadReadme, UnknownTable, UnsupportedSource
from platform_lib.catalogs._texttables import TEXT_SUFFIXES, read_text
from platform_lib.fitsfiles import FITS_SUFFIXES
from platform_lib.pathlimits import NOT_A_PATH, path_problem, shown

__all__ = ["SourceTable", "Source", "read_source", "read_text_table", "read_mrt", "parse_readme", "position_frame",
           "votable_tables", "result_table", "normalize_epoch"]


@dataclass
class SourceTable:
    """One table read from a source: its name, description and rows."""

    name: str
    description: str
    table: object  # an astropy Table, or a pandas DataFrame for plain Parquet
    equinox: str = ""
    epoch: str = ""


@dataclass
class Source:
    """What a source file told about its catalogue, and its tables."""

    name: str
    title: str = ""
    authors: str = ""
    reference: str = ""
    description: str = ""
    keywords: list[str] = field(default_factory=list)
    tables: list[SourceTable] = field(default_factory=list)


_FORMATS = {
    **{suffix: "fits" for suffix in FITS_SUFFIXES},  # plain or compressed, any case (platform_lib.fitsfiles)
    ".vot": "votable", ".votable": "votable", ".xml": "votable", ".vot.gz": "votable",
    ".parquet": "parquet", ".pq": "parquet",
    ".ecsv": "ascii.ecsv",
    ".h5": "hdf5", ".hdf5": "hdf5",
    **{suffix: "text" for suffix in TEXT_SUFFIXES},  # the content decides (VizieR TSV, IPAC, delimited)
}


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def read_source(path: str | Path, *, name: str | None = None) -> Source:
    """Read an ingest source: a table file, a CDS ``ReadMe``, or a folder holding a ``ReadMe``."""
    path = Path(path)
    if not path.exists():
        raise UnsupportedSource(f"ingest source {str(path)!r} does not exist", value=str(path))
    if path.is_dir():
        readme = next((p for p in (path / "ReadMe", path / "README", path / "readme") if p.exists()), None)
        if readme is None:  # a ReadMe under another name (ReadMe1, ReadMe.txt, README.J_A+A_511_A56)
            readme = next((p for p in sorted(path.iterdir())
                           if p.is_file() and p.name.lower().startswith("readme") and _has_byte_description(p)),
                          None)
        if readme is None:
            raise UnsupportedSource(
                f"{str(path)!r} is a folder without a CDS ReadMe: give a table file or a ReadMe", value=str(path)
            )
        return read_cds(readme, name=name)
    if path.name.lower() in ("readme", "readme.txt") or (
            path.name.lower().startswith("readme") and _has_byte_description(path)):
        return read_cds(path, name=name)
    suffix = _suffix(path)
    fmt = _FORMATS.get(suffix)
    if fmt is None and _has_byte_description(path):  # an AAS MRT or a CDS table with its own header
        return read_mrt(path, name=name)
    if fmt is None:
        raise UnsupportedSource(
            f"cannot tell the format of {path.name!r}: use FITS (.fits, .fit, .fts, plain or compressed, or .fz), "
            f"one of {sorted(s for s, f in _FORMATS.items() if f != 'fits')} or a CDS ReadMe",
            value=str(path),
        )
    base = path.name[: -len(suffix)] if suffix else path.stem
    if fmt == "text":
        if _has_byte_description(path):  # an AAS MRT or a CDS table with its own header (.txt, .dat)
            return read_mrt(path, name=name)
        _refuse_cds_data_file(path)
        return _read_text_source(path, base, name)
    found = _read_votables(path) if fmt == "votable" else [(t, label, None) for t, label in _read_tables(path, fmt)]
    tables, empty = [], []
    for table, label, frame in found:
        if len(table.columns) == 0 or len(table) == 0:
            if len(found) == 1:
                raise UnsupportedSource(f"{path.name!r} holds no rows or no columns", value=str(path))
            empty.append(label)
            continue
        meta = _lower_meta(table)
        if fmt == "fits":  # FITS: EQUINOX (or the deprecated EPOCH, its old synonym), else the RADESYS frame
            equinox = (normalize_epoch(meta.get("equinox")) or normalize_epoch(meta.get("epoch"))
                       or _frame_name(meta.get("radesys")))
            epoch = ""
        else:  # ECSV/HDF5/Parquet metadata written by astropy: the keys mean what they say
            equinox = normalize_epoch(meta.get("equinox")) or _frame_name(meta.get("frame"))
            epoch = normalize_epoch(meta.get("epoch"))
        if frame is not None:  # a VOTable's COOSYS, the one its own position fields refer to
            equinox, epoch = frame[0] or equinox, frame[1] or epoch
        tables.append(SourceTable(name=label or str(meta.get("extname", "")).strip() or base,
                                  description=str(meta.get("description", "")), table=table,
                                  equinox=equinox, epoch=epoch))
    if not tables:
        raise UnsupportedSource(f"{path.name!r}: none of its {len(found)} tables holds rows", value=str(path))
    if empty:  # one warning (a VizieR answer may hold hundreds of empty tables)
        shown = ", ".join(map(repr, empty[:10])) + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
        said = f"table {shown} holds" if len(empty) == 1 else f"{len(empty)} tables ({shown}) hold"
        warnings.warn(f"{path.name}: {said} no rows or no columns; skipped", stacklevel=2)
    meta = _lower_meta(found[0][0])
    return Source(
        name=name or str(meta.get("name") or base),
        title=str(meta.get("title", "")),
        authors=str(meta.get("authors", meta.get("author", ""))),
        reference=str(meta.get("reference", meta.get("bibcode", ""))),
        description=str(meta.get("description", "")) if len(found) == 1 else "",
        keywords=_keywords(meta.get("keywords", "")),
        tables=tables,
    )


def read_text_table(path: str | Path, *, table: str | None = None):
    """One table of a text file, read as ingest reads it: by its content, not its suffix.

    VizieR ASU-TSV (tab or ``;``, units and ``#Column`` metadata), IPAC, ECSV, SExtractor, DAOPHOT,
    delimited text with a sniffed delimiter (decimal commas in ``;`` files read as numbers), and files
    carrying their own CDS byte-by-byte header (AAS MRT). A CDS data file (``table1.dat``, plain or ``.gz``)
    with its ReadMe beside it is read with that ReadMe's byte-by-byte description, as astropy's CDS reader reads
    it (a :class:`BadReadme` when the two disagree); a file that is no table is refused
    (:class:`UnsupportedSource`, naming the file). A VizieR
    download holding several tables needs ``table=`` (one of the names the error, an
    :class:`UnknownTable`, lists in its message and its ``tables``). Unlike ingest,
    a ``.csv`` or ``.tsv`` of one column (a list of names under a header) is read, as astropy reads it.

    Returns an astropy Table. For other packages that read users' text tables (the jobs' inputs,
    storage), so that one file reads the same everywhere.

    >>> read_text_table("vizier.tsv")        # doctest: +SKIP
    <Table length=...>
    """
    text, problem = path_problem(path, blank_ok=True)  # a blank one is "'.' is not a file" below
    if problem is NOT_A_PATH:  # pathlib's "expected str, bytes or os.PathLike object" before
        raise TypeError(f"path must be a text table file's path (a str or pathlib.Path, e.g. 'vizier.tsv'), got "
                        f"{type(path).__name__} {path!r:.60}")
    if problem:  # the file system's "File name too long" before
        raise UnsupportedSource(f"{shown(text)!r} {problem}: give a text table file's path", value=shown(text))
    path = Path(path)
    if not path.is_file():
        raise UnsupportedSource(f"{str(path)!r} is not a file", value=str(path))
    readme = None if _has_byte_description(path) else _readme_describing(path)
    if _has_byte_description(path):
        found = [(t.name, t.table) for t in read_mrt(path).tables]
    elif readme is not None:
        found = [(path.name, _read_cds_data(path, readme))]
    else:
        found = [(t.name or path.name, t.table) for t in read_text(path, one_column=True).tables]
    if table is None and len(found) == 1:
        return found[0][1]  # with no rows when the file has none (a CSV header: an empty result)
    names = [label for label, _ in found]
    if table in names:
        return found[names.index(table)][1]
    said = "" if table is None else f"has no table {table!r}: it "
    raise UnknownTable(f"{path.name!r} {said}holds {len(found)} tables ({', '.join(map(repr, names))}): "
                       "name one with table=, or save the one you need as a file of its own", value=str(path),
                       tables=names)


def _readme_describing(path: Path) -> Path | None:
    """The CDS ReadMe beside ``path`` whose byte-by-byte descriptions include it (``table1.dat``, or
    ``table1.dat.gz`` for the ReadMe's ``table1.dat``), else ``None``."""
    plain = path.name[:-3] if path.name.lower().endswith(".gz") else path.name
    for readme in sorted(path.parent.iterdir()):
        if readme == path or not readme.is_file() or not readme.name.lower().startswith("readme"):
            continue
        try:
            described = parse_readme(readme.read_text(encoding="latin-1"))["files"]
        except (BadReadme, OSError):
            continue
        if plain in described:
            return readme
    return None


def _refuse_cds_data_file(path: Path) -> None:
    """A data file of a CDS catalogue (no header of its own) is ingested through its ReadMe, not as text."""
    readme = _readme_describing(path)
    if readme is not None:
        raise UnsupportedSource(
            f"{path.name!r} is a data file of a CDS catalogue: its columns are described in the ReadMe beside "
            f"it ({readme.name!r}), not in the file; ingest {str(readme)!r} or its folder", value=str(path))


def _read_cds_data(path: Path, readme: Path):
    """One CDS data file read with the ReadMe that describes it (astropy's CDS reader)."""
    from astropy.io import ascii

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ascii.read(str(path), readme=str(readme), format="cds")
    except Exception as exc:  # astropy's CDS reader raises ValueError, IndexError, ...
        raise BadReadme(f"cannot read {path.name!r} with the description in {readme.name!r}: {exc}",
                        value=path.name) from exc


def _read_text_source(path: Path, base: str, name: str | None) -> Source:
    """A text table file: one table, or one per table of a VizieR TSV download."""
    found = read_text(path)
    tables = []
    for tt in found.tables:
        if len(tt.table.columns) == 0 or len(tt.table) == 0:
            raise UnsupportedSource(f"{path.name!r} holds no rows or no columns", value=str(path))
        meta = {**found.meta, **_lower_meta(tt.table)}
        if found.layout == "vizier-tsv":  # the position columns' descriptions say the frame, as in a ReadMe
            equinox, epoch = position_frame({c.info.name: str(c.description or "") for c in tt.table.itercols()})
        else:
            equinox = normalize_epoch(meta.get("equinox")) or _frame_name(meta.get("frame"))
            epoch = normalize_epoch(meta.get("epoch"))
        tables.append(SourceTable(name=tt.name or base, description=tt.description, table=tt.table,
                                  equinox=equinox, epoch=epoch))
    meta = {**found.meta, **_lower_meta(found.tables[0].table)}
    return Source(name=name or str(meta.get("name") or base), title=found.title or str(meta.get("title", "")),
                  authors=str(meta.get("authors", meta.get("author", ""))),
                  reference=str(meta.get("reference", meta.get("bibcode", ""))),
                  description=str(meta.get("description", "")) if len(tables) == 1 else "",
                  keywords=_keywords(meta.get("keywords", "")) if found.layout == "ecsv" else [], tables=tables)


def _lower_meta(table) -> dict:
    return {k.lower(): v for k, v in getattr(table, "meta", {}).items() if isinstance(k, str)}


def normalize_epoch(value, *, besselian_before: float = 1984.0) -> str:
    """An epoch or equinox as ``J2000``/``B1950``/``J1991.25`` from a number or a string, or ``""``.

    A bare year is Besselian before ``besselian_before`` (the FITS ``EQUINOX`` rule: 1950 -> ``B1950``)
    and Julian after (1991.25 -> ``J1991.25``, 2016 -> ``J2016``).

    >>> normalize_epoch(2000.0), normalize_epoch("J2015.5"), normalize_epoch("1950"), normalize_epoch(None)
    ('J2000', 'J2015.5', 'B1950', '')
    """
    if value is None:
        return ""
    text = str(value).strip()
    match = re.fullmatch(r"([JB]?)\s*(\d{4}(?:\.\d*)?)", text, flags=re.IGNORECASE)
    if not match:
        return ""
    year = float(match.group(2))
    prefix = match.group(1).upper() or ("B" if year < besselian_before else "J")
    return f"{prefix}{year:g}"


def _frame_name(value) -> str:
    """``ICRS`` / ``J2000`` / ``B1950`` for a reference frame name (FITS ``RADESYS``, VOTable ``system``).

    Galactic says nothing about equatorial columns (``""``); any other name is passed on as it is,
    so that ingest can refuse a frame it cannot tell (``GAPPT``, ``FK4-NO-E``...) by name.
    """
    text = str(value or "").strip().upper()
    known = {"ICRS": "ICRS", "FK5": "J2000", "FK4": "B1950", "EQ_FK5": "J2000", "EQ_FK4": "B1950",
             "GALACTIC": "", "GALACTIC_II": "", "": ""}
    return known.get(text, text)


def _votable_frame(element, systems: dict, resource_systems: list) -> tuple[str, str]:
    """Equinox and epoch of one VOTable TABLE: the COOSYS its position fields refer to (the main position's
    first), else the first COOSYS of the RESOURCE holding it (or of those around it), else ``("", "")``.
    Per table: a VizieR answer holds hundreds of tables, each in its own catalogue's frame (B1950, J2000...)."""
    referred = []  # (not the main position, order, COOSYS) of the position fields that name one
    for k, field in enumerate(element.iter_fields_and_params()):
        ucd = position_ucd(str(getattr(field, "ucd", "") or ""))
        if ucd.startswith(("pos.eq.ra", "pos.eq.dec")) and getattr(field, "ref", None) in systems:
            referred.append(("meta.main" not in ucd, k, field.ref))
    chosen = systems[min(referred)[2]] if referred else next(iter(resource_systems), None)
    if chosen is None:
        return "", ""
    return normalize_epoch(chosen.equinox) or _frame_name(chosen.system), normalize_epoch(chosen.epoch)


def _votable_elements(vot) -> list[tuple[object, tuple[str, str]]]:
    """Every TABLE element of a parsed VOTable with the (equinox, epoch) of its positions (:func:`_votable_frame`)."""
    systems = {c.ID: c for c in vot.iter_coosys()}
    found = []  # (TableElement, the COOSYS of the resources holding it, innermost first)

    def walk(resource, around):
        here = list(resource.coordinate_systems) + around
        for element in resource.tables:
            found.append((element, here))
        for inner in resource.resources:
            walk(inner, here)

    for resource in vot.resources:
        walk(resource, list(vot.coordinate_systems))
    if len(found) == 1:  # one table: any COOSYS of the file is its own
        found = [(found[0][0], found[0][1] + list(systems.values()))]
    return [(element, _votable_frame(element, systems, around)) for element, around in found]


def votable_tables(vot, only=None) -> list:
    """Every TABLE of a parsed VOTable (astropy's ``parse``, a pyvo result's ``.votable``) as an astropy Table
    whose columns are named by their FIELD ``name`` and whose ``meta`` keeps the COOSYS its positions refer to,
    as ingest reads it: ``meta["equinox"]`` (``B1950``, ``J2000``) or ``meta["frame"]`` (``ICRS``), and
    ``meta["epoch"]``. astropy's own reading drops the COOSYS, so a FK4 B1950 VOTable read so was taken as ICRS
    by whatever drew or matched it; :func:`platform_lib.catalogs.table_frame` reads these keys back. ``only``:
    one TABLE element of ``vot`` (a pyvo result's ``resultstable``), whose table alone is returned.

    Examples
    --------
    >>> import io
    >>> from astropy.io.votable import parse
    >>> xml = (b'<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>'
    ...        b'<COOSYS ID="b" system="eq_FK4" equinox="B1950"/><TABLE><FIELD name="ra" datatype="double" '
    ...        b'ucd="pos.eq.ra" ref="b"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE>'
    ...        b'</RESOURCE></VOTABLE>')
    >>> votable_tables(parse(io.BytesIO(xml)))[0].meta["equinox"]
    'B1950'
    """
    out = []
    for element, (equinox, epoch) in _votable_elements(vot):
        if only is not None and element is not only:
            continue
        table = element.to_table(use_names_over_ids=True)
        _keep_frame(table, equinox, epoch)
        out.append(table)
    return out


def result_table(result):
    """A pyvo result (``DALResults``: ``.votable``, ``.resultstable``) as its ``to_table()`` gives it, with the
    COOSYS its positions refer to kept in ``meta`` (:func:`votable_tables`); anything else through its own
    ``to_table()``."""
    votable, element = getattr(result, "votable", None), getattr(result, "resultstable", None)
    if votable is not None and element is not None:
        found = votable_tables(votable, only=element)
        if found:
            return found[0]
    return result.to_table()


def _keep_frame(table, equinox: str, epoch: str) -> None:
    """``table.meta`` given the equinox (or ICRS) and epoch a VOTable's COOSYS states, unless it says one."""
    if equinox == "ICRS":
        table.meta.setdefault("frame", "ICRS")
    elif equinox:
        table.meta.setdefault("equinox", equinox)
    if epoch:
        table.meta.setdefault("epoch", epoch)


def _read_votables(path: Path) -> list[tuple[object, str, tuple[str, str]]]:
    """Every TABLE of a VOTable, parsed once: ``(astropy Table, label, (equinox, epoch))``, the label ``""``
    for a file of one table, else the TABLE's ``name`` (``ID``, ``table<N>``). Columns are named by their
    FIELD ``name``, as pyvo, TOPCAT and the archive's TAP uploads name them (astropy's reader takes the
    ``ID``, which services may set to ``col1``...; repeated names get astropy's ``_1``... suffixes)."""
    from astropy.io.votable import parse

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # VOTable-spec and unit chatter from third-party files
            vot = parse(str(path))
            found = _votable_elements(vot)
            out = [(element.to_table(use_names_over_ids=True),
                    "" if len(found) == 1 else str(element.name or element.ID or f"table{k}"), frame)
                   for k, (element, frame) in enumerate(found)]
    except Exception as exc:  # astropy raises many kinds; all mean "unreadable"
        raise UnsupportedSource(f"cannot read {path.name!r} as votable: {exc}", value=str(path)) from exc
    if not out:
        raise UnsupportedSource(f"cannot read {path.name!r} as votable: No table found", value=str(path))
    if len(out[0][0].colnames) == 0 and len(out) == 1:
        raise UnsupportedSource(f"{path.name!r} holds no columns", value=str(path))
    return out


_EQUINOX_IN_TEXT = re.compile(r"\b(?:equinox|eq\.?)\s*[=:]?\s*([JB]?\s*\d{4}(?:\.\d+)?)", re.IGNORECASE)
_BARE_EQUINOX = re.compile(r"\(([JB]\d{4}(?:\.\d+)?)\b", re.IGNORECASE)
_EPOCH_IN_TEXT = re.compile(r"\b(?:epoch|ep)\s*[=:]?\s*([JB]?\s*\d{4}(?:\.\d+)?)", re.IGNORECASE)
_POSITION_LABEL = re.compile(r"^(_?RA|_?DE|RAh|RAm|RAs|DE-|DEd|DEm|DEs|GLON|GLAT|ELON|ELAT)", re.IGNORECASE)


def position_frame(descriptions: dict[str, str], readme: str = "") -> tuple[str, str]:
    """The (equinox, epoch) a CDS table's positions are given in, from what its ReadMe says, or ``""``.

    Looks at the explanations of the position columns first (``Right ascension (J2000)``,
    ``Declination (ICRS) at Epoch=J1991.25``), then at ReadMe sentences that speak of positions or
    coordinates together with an equinox or an epoch. Nothing is guessed: a table whose ReadMe
    does not say keeps an empty field.

    >>> position_frame({"RAh": "Right ascension (J2000)", "DEd": "Declination (J2000)"})
    ('J2000', '')
    >>> position_frame({"RAdeg": "Right ascension (ICRS) at Epoch=J1991.25"})
    ('ICRS', 'J1991.25')
    """
    equinox = epoch = ""
    texts = [d for label, d in descriptions.items()
             if _POSITION_LABEL.match(label) or re.search(r"right ascension|declination", d, re.IGNORECASE)]
    for text in texts:
        if not equinox:
            match = _EQUINOX_IN_TEXT.search(text) or _BARE_EQUINOX.search(text)
            if match:
                equinox = normalize_epoch(match.group(1).replace(" ", ""))
            elif re.search(r"\bICRS\b", text):
                equinox = "ICRS"
        if not epoch:
            match = _EPOCH_IN_TEXT.search(text)
            if match:
                epoch = normalize_epoch(match.group(1).replace(" ", ""))
    if texts and readme and not (equinox and epoch):
        for sentence in re.split(r"(?<=[.;])\s+|\n\s*\n", readme):
            flat = " ".join(sentence.split())
            if not re.search(r"\b(positions?|coordinates?)\b", flat, re.IGNORECASE):
                continue
            if not equinox and (match := _EQUINOX_IN_TEXT.search(flat)):
                equinox = normalize_epoch(match.group(1).replace(" ", ""))
            if not epoch and (match := _EPOCH_IN_TEXT.search(flat)):
                epoch = normalize_epoch(match.group(1).replace(" ", ""))
    return equinox, epoch


def _keywords(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [k.strip() for k in re.split(r";| - ", str(value)) if k.strip()]


def _read_tables(path: Path, fmt: str) -> list[tuple[object, str]]:
    """Every table of a file but a VOTable (:func:`_read_votables`), with its name (``""`` when the file holds
    one table): a FITS file's table HDUs (named by ``EXTNAME``, else ``hdu<N>``). astropy's reader alone
    takes the first table and drops the others with a warning."""
    labels: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fmt == "fits":
                from astropy.io import fits

                with fits.open(path) as hdus:
                    indices = [i for i, h in enumerate(hdus) if isinstance(h, (fits.BinTableHDU, fits.TableHDU))]
                    labels = [str(hdus[i].name or "").strip() or f"hdu{i}" for i in indices]
                    if len({label.lower() for label in labels}) < len(labels):  # EXTNAMEs repeated: by position
                        labels = [f"{label}_{i}" for label, i in zip(labels, indices)]
    except Exception as exc:  # astropy raises many kinds; all mean "unreadable"
        raise UnsupportedSource(f"cannot read {path.name!r} as {fmt}: {exc}", value=str(path)) from exc
    if len(labels) <= 1:
        return [(_read_table(path, fmt), "")]
    return [(_read_table(path, fmt, hdu=i), label) for i, label in zip(indices, labels)]


def _read_table(path: Path, fmt: str, **which):
    from astropy.table import Table

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unit-parsing and VOTable-spec chatter from third-party files
            if fmt == "parquet":
                import pyarrow.parquet as pq

                arrow = pq.read_table(path)
                meta = arrow.schema.metadata or {}
                if b"table_meta_yaml" in meta:  # written by astropy: keep units and descriptions
                    table = Table.read(path, format="parquet")
                else:
                    # Plain Parquet: stay in pandas (an astropy round trip of 10^6 string rows costs seconds).
                    from platform_lib.catalogs._hats import arrow_to_pandas

                    drop = [n for n in arrow.column_names if n.startswith("__index_level_")]
                    return arrow_to_pandas(arrow.drop_columns(drop))
            elif fmt == "hdf5":
                table = Table.read(path, format="hdf5", path=None)
            else:
                table = Table.read(path, format=fmt, **which)
    except Exception as exc:  # astropy raises many kinds; all mean "unreadable"
        raise UnsupportedSource(f"cannot read {path.name!r} as {fmt}: {exc}", value=str(path)) from exc
    if len(table.colnames) == 0:  # an astropy Table here
        raise UnsupportedSource(f"{path.name!r} holds no columns", value=str(path))
    return table


# -- CDS ---------------------------------------------------------------------------------------
_RULE = re.compile(r"^={20,}\s*$")
_DASH = re.compile(r"^-{20,}\s*$")
_BYTES = re.compile(r"^Byte-by-byte Description of file:\s*(.+?)\s*$", re.IGNORECASE)


def parse_readme(text: str) -> dict:
    """The catalogue metadata and file list of a CDS ReadMe; raises :class:`BadReadme` when it is not one.

    Returns a dict with ``name``, ``title``, ``authors``, ``reference``, ``bibcode``, ``keywords``,
    ``description`` and ``files`` (file name -> explanation) for the files that have a
    byte-by-byte description.
    """
    lines = text.splitlines()
    if len(lines) < 3 or not lines[0].strip():
        raise BadReadme("the ReadMe is empty or has no title line", value=text[:80])
    first = re.split(r"\s{2,}", lines[0].strip())
    name = first[0]
    if "/" not in name:
        raise BadReadme(
            f"the ReadMe's first line should start with the catalogue designation (e.g. J/A+A/511/A56), "
            f"found {lines[0].strip()[:60]!r}",
            value=lines[0][:80],
        )
    title = first[1] if len(first) > 2 else (first[1] if len(first) == 2 and not first[1].startswith("(") else "")
    rules = [i for i, line in enumerate(lines) if _RULE.match(line)]
    header = lines[rules[0] + 1: rules[1]] if len(rules) >= 2 else []
    ref_idx = next((i for i, line in enumerate(header) if line.strip().startswith("<")), None)
    reference = header[ref_idx].strip().strip("<>") if ref_idx is not None else ""
    authors = header[ref_idx - 1].strip() if ref_idx else ""
    if ref_idx and ref_idx > 1:
        title = " ".join(line.strip() for line in header[: ref_idx - 1]) or title
    bibcode = next((line.strip()[1:] for line in header if line.strip().startswith("=")), "")
    blocks = _blocks(lines)
    keywords = _keywords(blocks.get("keywords", "")) + _keywords(blocks.get("adc_keywords", ""))
    description = "\n\n".join(blocks[k] for k in ("abstract", "description") if blocks.get(k))
    explanations = _file_summary(lines)
    files: dict[str, str] = {}
    for line in lines:
        match = _BYTES.match(line.strip())
        if match:
            for fname in match.group(1).split():
                files[fname] = explanations.get(fname, "")
    if not files:
        raise BadReadme(
            "the ReadMe has no 'Byte-by-byte Description of file:' section, so its data files cannot be read",
            value=name,
        )
    return {"name": name, "title": title, "authors": authors, "reference": reference, "bibcode": bibcode,
            "keywords": keywords, "description": description, "files": files, "explanations": explanations}


def _blocks(lines: list[str]) -> dict[str, str]:
    """Top-level ``Label: text`` blocks (with their indented continuation lines), by lower-case label."""
    out: dict[str, str] = {}
    current = None
    for line in lines:
        match = re.match(r"^([A-Za-z_][A-Za-z_ ]*?):\s*(.*)$", line)
        if match and not line.startswith(" "):
            current = match.group(1).strip().lower().replace(" ", "_")
            out[current] = match.group(2).strip()
        elif current and line.startswith(" ") and line.strip():
            out[current] = (out[current] + " " + line.strip()).strip()
        elif not line.strip() and current in ("keywords", "adc_keywords"):
            current = None
        elif line.strip() and not line.startswith(" "):
            current = None
    return out


def _file_summary(lines: list[str]) -> dict[str, str]:
    out = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().lower().startswith("file summary"))
    except StopIteration:
        return out
    dashes = [i for i in range(start, min(len(lines), start + 200)) if _DASH.match(lines[i])]
    if len(dashes) < 3:
        return out
    for line in lines[dashes[1] + 1: dashes[2]]:
        parts = line.split(None, 3)
        if len(parts) == 4:
            out[parts[0]] = parts[3].strip()
    return out


def _has_byte_description(path: Path) -> bool:
    """True when the file's first 64 kB hold a CDS ``Byte-by-byte Description of file:`` section."""
    import gzip

    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as f:
            head = f.read(65536)
    except OSError:
        return False
    return b"Byte-by-byte Description of file" in head


def _header_field(text: str, label: str) -> str:
    """An MRT header field (``Title:``, ``Authors:``, ``Table:``) with its indented continuation lines."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip("\ufeff").startswith(label + ":"):
            parts = [line.lstrip("\ufeff")[len(label) + 1:].strip()]
            for more in lines[i + 1:]:
                if not more.startswith((" ", "\t")) or not more.strip():
                    break
                parts.append(more.strip())
            return " ".join(p for p in parts if p)
    return ""


def read_mrt(path: Path, *, name: str | None = None) -> Source:
    """Read a table file that carries its own CDS header: an AAS MRT file, or a CDS table with its ReadMe on top."""
    from astropy.io import ascii

    try:
        text = path.read_text(encoding="latin-1")
    except OSError as exc:
        raise UnsupportedSource(f"cannot read {str(path)!r}: {exc}", value=str(path)) from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = ascii.read(str(path), format="cds")
    except Exception as exc:  # astropy's CDS reader raises ValueError, IndexError, InconsistentTableError...
        raise BadReadme(
            f"{path.name}: the byte-by-byte description in its header does not fit its data: {exc}",
            value=path.name) from exc
    if len(table) == 0 or len(table.colnames) == 0:
        raise UnsupportedSource(f"{path.name!r} holds no rows or no columns", value=str(path))
    first = text.lstrip("\ufeff").splitlines()[0].strip() if text.strip() else ""
    designation = re.split(r"\s{2,}", first)[0] if "/" in first.split(" ")[0] else ""
    meta = {}
    if designation:  # a CDS table with the catalogue's ReadMe on top
        try:
            meta = parse_readme(text)
        except BadReadme:
            meta = {}
    base = path.name.split(".")[0]
    equinox, epoch = position_frame({c.info.name: str(c.description or "") for c in table.itercols()}, text)
    return Source(
        name=name or meta.get("name") or base,
        title=meta.get("title") or _header_field(text, "Title"),
        authors=meta.get("authors") or _header_field(text, "Authors"),
        reference=meta.get("bibcode") or meta.get("reference") or "",
        description=meta.get("description", ""),
        keywords=meta.get("keywords", []),
        tables=[SourceTable(name=base, description=_header_field(text, "Table"), table=table,
                            equinox=equinox, epoch=epoch)],
    )


def _explained(meta: dict, data: Path) -> str:
    """The File Summary's explanation of a data file found through a glob pattern."""
    plain = data.name[:-3] if data.name.endswith(".gz") else data.name
    return meta.get("explanations", {}).get(plain, "")


def _data_files(folder: Path, fname: str) -> list[tuple[Path, str]]:
    """The data files a ReadMe entry names, with their table names: the file itself (plain or ``.gz``),
    the files a glob pattern matches (``*refs.dat``), or a file split into numbered parts
    (``table1.dat.00``, ``.01``... plain or gzipped), handed to astropy as the unsplit name it joins."""
    if any(ch in fname for ch in "*?["):
        found = {}
        for p in sorted(folder.glob(fname)) + sorted(folder.glob(fname + ".gz")):
            plain = p.name[:-3] if p.name.endswith(".gz") else p.name
            found.setdefault(plain, p)
        return [(p, plain.split(".")[0]) for plain, p in sorted(found.items())]
    for p in (folder / fname, folder / (fname + ".gz")):
        if p.exists():
            return [(p, fname.split(".")[0])]
    parts = [p for p in folder.glob(glob_escape(fname) + ".*") if re.fullmatch(r"\d+(\.gz)?", p.name[len(fname) + 1:])]
    if parts:
        return [(folder / fname, fname.split(".")[0])]
    return []


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters escaped."""
    import glob

    return glob.escape(text)


def read_cds(readme: Path, *, name: str | None = None) -> Source:
    """Read a CDS catalogue: the ReadMe's metadata and each described data file found beside it."""
    from astropy.io import ascii

    try:
        text = readme.read_text(encoding="latin-1")
    except OSError as exc:
        raise BadReadme(f"cannot read {str(readme)!r}: {exc}", value=str(readme)) from exc
    meta = parse_readme(text)
    source = Source(name=name or meta["name"], title=meta["title"], authors=meta["authors"],
                    reference=meta["bibcode"] or meta["reference"], description=meta["description"],
                    keywords=meta["keywords"])
    for fname, explanation in meta["files"].items():
        found = _data_files(readme.parent, fname)
        if not found:
            warnings.warn(f"{meta['name']}: data file {fname!r} described in the ReadMe is missing; skipped",
                          stacklevel=3)
            continue
        for data, table_name in found:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    table = ascii.read(str(data), readme=str(readme), format="cds")
            except Exception as exc:  # astropy's CDS reader raises ValueError, IndexError, ...
                raise BadReadme(
                    f"{meta['name']}: cannot read {data.name!r} with its ReadMe description: {exc}", value=data.name
                ) from exc
            equinox, epoch = position_frame({c.info.name: str(c.description or "") for c in table.itercols()},
                                            text)
            source.tables.append(SourceTable(name=table_name, description=explanation or _explained(meta, data),
                                             table=table, equinox=equinox, epoch=epoch))
    if not source.tables:
        raise BadReadme(f"{meta['name']}: none of the data files the ReadMe describes is present beside it",
                        value=str(readme))
    return source
