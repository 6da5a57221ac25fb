"""Table and image formats: astropy Table / pandas DataFrame / FITS HDUs to and from file bytes.

Pure conversion with a temporary local file (astropy's writers want a path for some formats); the
:class:`~platform_lib.storage.Storage` methods move the bytes in and out of spaces. Formats: FITS,
VOTable, Parquet, HDF5, CSV, TSV, ECSV, and other text tables (read only), told from the file name
unless given. FITS names are :mod:`platform_lib.fitsfiles`'s (``.fits``, ``.fit``, ``.fts`` plain or
compressed, ``.fz``), and FITS is written compressed as its name says (:func:`compressed_as_named`; images as
``.fz`` tile-compressed, :func:`image_as_named`). Text
tables (CSV, TSV, ``.txt``, ``.dat``, ``.tbl``...) are read by their content as catalogue ingest reads them
(:func:`platform_lib.catalogs.read_text_table`: a VizieR TSV with its units, a ``;`` file with decimal
commas), imported when such a file is read.
"""

from __future__ import annotations

import os
import tempfile
import warnings

from platform_lib.fitsfiles import FITS_SUFFIXES, compress_as_named, fits_suffix
from platform_lib.storage._errors import FormatCannotHold, UnknownFormat

__all__ = ["format_for", "table_to_bytes", "table_from_file", "as_table", "image_to_bytes", "image_as_named",
           "compressed_as_named",
           "FORMATS", "TEXT_FORMATS"]

#: Format name -> (astropy format written, file name endings). ``text`` is read only (by content).
FORMATS = {
    "fits": ("fits", FITS_SUFFIXES),  # .fits, .fit, .fts plain or compressed, .fz (platform_lib.fitsfiles)
    "votable": ("votable", (".vot", ".votable", ".xml", ".vot.xml")),
    "parquet": ("parquet", (".parquet", ".pq")),
    "hdf5": ("hdf5", (".h5", ".hdf5", ".hdf")),
    "csv": ("ascii.csv", (".csv",)),
    "tsv": ("ascii.tab", (".tsv", ".tab")),
    "ecsv": ("ascii.ecsv", (".ecsv",)),
    "text": ("", (".txt", ".dat", ".tbl", ".ipac", ".asc", ".csv.gz", ".tsv.gz", ".tab.gz", ".txt.gz", ".dat.gz",
                  ".tbl.gz", ".ipac.gz", ".asc.gz")),
}

#: The formats read by their content (catalogue ingest's reader), whatever the suffix says.
TEXT_FORMATS = ("csv", "tsv", "text")


def format_for(name: str, format: str | None = None) -> str:
    """The format key (``fits``, ``votable``, ``parquet``, ``hdf5``, ``csv``, ``tsv``, ``ecsv``, ``text``) of a
    file name."""
    if format is not None:
        key = format.lower()
        if key not in FORMATS:
            raise UnknownFormat(f"unknown format {format!r}; use one of {', '.join(FORMATS)}", value=format)
        return key
    lower = name.lower()
    best = None
    for key, (_, endings) in FORMATS.items():
        for ending in endings:
            if lower.endswith(ending) and (best is None or len(ending) > best[1]):
                best = (key, len(ending))
    if best is None:
        raise UnknownFormat(
            f"cannot tell the format of {name!r} from its name: pass format= one of {', '.join(FORMATS)}", value=name
        )
    return best[0]


def compressed_as_named(name: str, data: bytes) -> bytes:
    """FITS bytes compressed as the file ``name`` says (``.gz``, ``.bz2``, ``.xz``; plain or no FITS name: as they
    are), so that a file called ``t.fits.gz`` is gzip, as every reader expects. Raises :class:`UnknownFormat` for
    ``.zip`` and ``.Z``, which astropy reads but cannot write, and for ``.fz``: tile compression is for images
    (:func:`image_as_named`), and astropy does not write tile-compressed tables."""
    if (fits_suffix(name) or "").endswith(".fz"):
        raise UnknownFormat(f"cannot write a table as {name!r}: .fz is tile compression (fpack's), which is for "
                            "images, and astropy does not write tile-compressed tables; name it .fits, .fits.gz, "
                            ".fits.bz2 or .fits.xz (or write an image with write_image)", value=name)
    try:
        return compress_as_named(name, data)
    except ValueError as exc:  # .zip, .Z
        raise UnknownFormat(str(exc), value=name) from None


def as_table(data):
    """An astropy Table from a Table or a pandas DataFrame."""
    from astropy.table import Table

    if isinstance(data, Table):
        return data
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return Table.from_pandas(data, index=False)
    raise TypeError(f"expected an astropy Table or a pandas DataFrame, not {type(data).__name__}")


def table_to_bytes(data, key: str) -> bytes:
    """The table serialised in format ``key``."""
    table = as_table(data)
    astropy_format = FORMATS[key][0]
    if not astropy_format:
        raise UnknownFormat(f"format {key!r} is read only (text tables are read by their content): write the "
                            "table as .csv, .tsv, .ecsv, .fits, .vot or .parquet, or pass format=", value=key)
    with tempfile.TemporaryDirectory(prefix="astrohub-") as tmp:
        path = os.path.join(tmp, "table" + FORMATS[key][1][0])
        kwargs = {"path": "data", "serialize_meta": True} if key == "hdf5" else {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not supported by.*")
            # a TAP result's meta (QUERY_STATUS) goes in as a HIERARCH card, which astropy reads back: no warning
            warnings.filterwarnings("ignore", message="Keyword name .* is greater than 8 characters")
            try:
                table.write(path, format=astropy_format, **kwargs)
            except UnicodeEncodeError:
                if key != "fits":
                    raise
                raise _not_ascii(table) from None
        if key == "fits":
            _add_fits_column_cards(path, table)
        with open(path, "rb") as fh:
            return fh.read()


def _not_ascii(table) -> FormatCannotHold:
    """The error for a table whose text FITS cannot hold, naming the first cell that is not ASCII (astropy's
    writer said only "'ascii' codec can't encode character '\\u03bf' in position 0")."""
    for name in table.colnames:
        for row, value in enumerate(table[name]):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            text = str(text) if isinstance(text, str) else text  # numpy's str_ shown as the text
            if isinstance(text, str) and not text.isascii():
                char = next(c for c in text if not c.isascii())
                return FormatCannotHold(
                    f"a FITS table holds ASCII text only, and column {name!r} has {text!r} (row {row}: "
                    f"{char!r}): write the table as .parquet, .ecsv, .vot or .hdf5, which keep any text, or "
                    "replace those characters first", column=name, row=row, value=text)
    return FormatCannotHold("a FITS table holds ASCII text only, and this table's text is not: write it as "
                            ".parquet, .ecsv, .vot or .hdf5", column="", row=-1, value=None)


def _add_fits_column_cards(path: str, table) -> None:
    """UCDs and descriptions as ``TUCDn``/``TCOMMn`` cards too, where TOPCAT and STILTS read them
    (:mod:`platform_lib.fitscolumns`; astropy's own copy is in a comment block only astropy reads)."""
    from astropy.io import fits

    from platform_lib.fitscolumns import add_column_cards

    with fits.open(path, mode="update") as hdul:
        for hdu in hdul[1:]:
            if isinstance(hdu, fits.BinTableHDU):
                add_column_cards(hdu.header, table)
                break


def table_from_file(path: str, key: str):
    """Read the table file at the local ``path`` in format ``key``."""
    from astropy.table import Table

    kwargs = {"path": "data"} if key == "hdf5" else {}
    try:
        if key in TEXT_FORMATS:
            from platform_lib.catalogs import read_text_table

            return read_text_table(path)
        if key == "hdf5":
            import h5py

            with h5py.File(path, "r") as f:
                if "data" not in f:
                    kwargs = {"path": next(iter(f.keys()))}
        if key == "parquet":
            return _parquet_table(path)
        if key == "votable":
            return _votable_table(path)
        table = Table.read(path, format=FORMATS[key][0], **kwargs)
        if key == "fits":
            from platform_lib.fitscolumns import take_column_cards

            take_column_cards(table)
        return table
    except UnknownFormat:
        raise
    except Exception as exc:  # astropy raises many kinds for bad content
        if key == "fits" and image_hdu(path) is not None:  # an image, as an SIA download is
            raise UnknownFormat("the file holds an image, not a table: read it with Storage().read_image(address) "
                                "(its data and header)", value=key) from exc
        raise UnknownFormat(f"the file is not readable as {key}: {exc}", value=key) from exc


def image_hdu(path: str) -> int | None:
    """The index of the first HDU of the FITS file at ``path`` holding image data (``None``: none, or no FITS)."""
    from astropy.io import fits

    try:
        with fits.open(path, memmap=False) as hdul:
            return next((i for i, h in enumerate(hdul) if h.is_image and h.header.get("NAXIS", 0) > 0), None)
    except Exception:  # not FITS: the caller's message stands
        return None


def _votable_table(path: str):
    """A VOTable of one table, its columns by FIELD name and its COOSYS (FK4 B1950...) kept in ``meta`` as the
    catalogue package reads it (:func:`platform_lib.catalogs.votable_tables`): astropy's ``Table.read`` drops it,
    and what drew or matched the table then took B1950 positions as ICRS."""
    from astropy.io.votable import parse

    from platform_lib.catalogs import votable_tables

    tables = votable_tables(parse(path))
    if len(tables) != 1:
        raise ValueError("No table found" if not tables else f"it holds {len(tables)} tables, not one")
    return tables[0]


def _parquet_table(path: str):
    """A Parquet file as a Table: astropy's reader for astropy's own files (units and descriptions), else through
    pyarrow and pandas, as catalogue ingest reads them. astropy's reader fails on a null in a string column
    ("object of type 'NoneType' has no len()": Big Sky's CCDM codes) and reads other nulls as values; here they are
    masked."""
    import pyarrow.parquet as pq
    from astropy.table import Table

    arrow = pq.read_table(path)
    if b"table_meta_yaml" in (arrow.schema.metadata or {}):
        return Table.read(path, format="parquet")
    from platform_lib.catalogs import arrow_to_pandas

    index = [n for n in arrow.column_names if n.startswith("__index_level_")]
    return Table.from_pandas(arrow_to_pandas(arrow.drop_columns(index)))


def image_as_named(name: str, data, header=None) -> bytes:
    """The FITS bytes of an image (as :func:`image_to_bytes` takes it) as the file ``name`` says: ``.fz``
    tile-compressed as fpack writes it (:func:`tile_compressed`), else compressed as :func:`compressed_as_named`."""
    if (fits_suffix(name) or "").endswith(".fz"):
        return image_to_bytes(data, header, tile_compress=True)
    return compressed_as_named(name, image_to_bytes(data, header))


def tile_compressed(hdul):
    """``hdul`` as fpack writes it: every image HDU holding data becomes a ``CompImageHDU`` (a primary image
    moves to the first extension, behind an empty primary HDU that keeps no data), tables and empty HDUs stay
    as they are (as fpack leaves tables). Integers up to 32 bits are ``RICE_1`` (fpack's default); other data
    ``GZIP_2`` with no quantisation, so that every pixel reads back exactly (fpack's default quantises floats,
    losing precision a library must not lose unasked). A ``CompImageHDU`` given keeps its own settings."""
    from astropy.io import fits

    out = [fits.PrimaryHDU()]
    for hdu in hdul:
        if isinstance(hdu, fits.CompImageHDU) or not hdu.is_image or hdu.data is None:
            if not isinstance(hdu, fits.PrimaryHDU):
                out.append(hdu)
            continue
        header = hdu.header.copy()
        for key in ("SIMPLE", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT"):
            header.remove(key, ignore_missing=True, remove_all=True)
        lossless_rice = hdu.data.dtype.kind in "iu" and hdu.data.dtype.itemsize <= 4
        out.append(fits.CompImageHDU(hdu.data, header=header, compression_type="RICE_1" if lossless_rice else "GZIP_2",
                                     **({} if lossless_rice else {"quantize_level": 0.0})))
    return fits.HDUList(out)


def image_to_bytes(data, header=None, *, tile_compress: bool = False) -> bytes:
    """FITS bytes from an ndarray (with an optional header), an HDU or an HDUList (``tile_compress``: its images
    tile-compressed, :func:`tile_compressed`)."""
    import io

    import numpy as np
    from astropy.io import fits

    if isinstance(data, fits.HDUList):
        hdul = data
    elif isinstance(data, (fits.PrimaryHDU, fits.ImageHDU, fits.BinTableHDU, fits.CompImageHDU)):
        hdul = fits.HDUList([data if isinstance(data, fits.PrimaryHDU) else fits.PrimaryHDU(), *(
            [] if isinstance(data, fits.PrimaryHDU) else [data])])
    elif isinstance(data, np.ndarray):
        hdul = fits.HDUList([fits.PrimaryHDU(data=data, header=header)])
    else:
        raise TypeError(f"write_image takes an ndarray, a FITS HDU or an HDUList, not {type(data).__name__}")
    if tile_compress:
        hdul = tile_compressed(hdul)
    buf = io.BytesIO()
    hdul.writeto(buf, output_verify="exception")
    return buf.getvalue()
