"""Which file names are FITS files: the one list of endings that storage, catalogue ingest and the image index use.

A FITS file is named ``.fits``, ``.fit`` or ``.fts``, in any case, plain or compressed as astropy reads it
(gzip ``.gz``, bzip2 ``.bz2``, xz ``.xz``, ``.zip``, Unix compress's ``.Z``), or ``.fz`` (tile-compressed, as
fpack writes it). ``Storage().read_table('t.fit.gz')``, catalogue ingest of ``t.fits.bz2`` and the archive's
image index of ``a.fits.Z`` all tell FITS by :func:`fits_suffix`. The FITS viewer's Lab extension
(``astrohub_server``'s ``astrohub`` extension, which never imports platform_lib) keeps its own copy of the list;
``tests/unit/test_fits_names.py`` keeps the two the same. :func:`fits_media_type` is the media type a FITS file's
bytes are served as (the archive's downloads, DataLink and ObsCore ``access_format``); :func:`compress_as_named`
compresses FITS bytes as a name says (storage's tables and images, sky maps). Imports only the standard library.
"""

from __future__ import annotations

__all__ = ["FITS_SUFFIXES", "fits_suffix", "fits_stem", "fits_media_type", "compress_as_named"]

#: The endings of FITS file names, in lower case (names are compared in lower case), ``.fits`` first.
#: ``.fits.fz`` and its kin are listed beside ``.fz`` so that the stem of ``a.fits.fz`` is ``a``.
FITS_SUFFIXES = (
    *(base + compression for base in (".fits", ".fit", ".fts")
      for compression in ("", ".gz", ".bz2", ".xz", ".zip", ".z")),
    ".fits.fz", ".fit.fz", ".fts.fz", ".fz",
)

#: The media type of a compressed FITS file, by the compression's ending: the bytes are the compressor's, so
#: a browser saves ``a.fits.gz`` as it is and ``HDUList.fromstring`` is not handed gzip as FITS (RFC 6713 for
#: gzip and zip; the others as Debian's ``/etc/mime.types`` and browsers name them). No ``Content-Encoding``:
#: with one a browser would unpack the file and keep the ``.gz`` name, and only gzip has a coding for it.
_COMPRESSED_TYPES = {".gz": "application/gzip", ".bz2": "application/x-bzip2", ".xz": "application/x-xz",
                     ".zip": "application/zip", ".z": "application/x-compress"}


def fits_suffix(name: str) -> str | None:
    """The FITS ending of the file name ``name`` (the longest, in lower case), or ``None`` when it is not FITS.

    Examples
    --------
    >>> fits_suffix("M13.FITS.Z"), fits_suffix("m13.fits.fz"), fits_suffix("table.csv")
    ('.fits.z', '.fits.fz', None)
    """
    lower = name.lower()
    return max((s for s in FITS_SUFFIXES if lower.endswith(s)), key=len, default=None)


def fits_stem(name: str) -> str:
    """``name`` without its FITS ending (``name`` itself when it has none).

    Examples
    --------
    >>> fits_stem("obs/a.FIT.GZ"), fits_stem("b.fits.fz")
    ('obs/a', 'b')
    """
    suffix = fits_suffix(name)
    return name[: -len(suffix)] if suffix else name


def fits_media_type(name: str) -> str | None:
    """The media type of the bytes of the FITS file ``name``: ``application/fits`` for plain FITS and ``.fz``
    (a tile-compressed file is FITS, read as such), the compressor's type for ``.gz``, ``.bz2``, ``.xz``,
    ``.zip`` and ``.Z``; ``None`` when ``name`` is not a FITS name.

    Examples
    --------
    >>> fits_media_type("m13.fits"), fits_media_type("m13.fits.fz"), fits_media_type("M13.FIT.GZ")
    ('application/fits', 'application/fits', 'application/gzip')
    """
    suffix = fits_suffix(name)
    if suffix is None:
        return None
    return _COMPRESSED_TYPES.get(suffix[suffix.rindex("."):], "application/fits")


def compress_as_named(name: str, data: bytes) -> bytes:
    """The FITS bytes ``data`` compressed as the file name ``name`` says (``.gz``, ``.bz2``, ``.xz``), so that a
    file called ``map.fits.gz`` is gzip, as every reader expects; plain FITS, ``.fz`` (tile compression is inside
    the FITS file) and names that are not FITS: as they are. Raises ``ValueError`` for ``.zip`` and ``.Z``, which
    astropy reads but cannot write.

    Examples
    --------
    >>> compress_as_named("m.fits.gz", b"SIMPLE  =")[:2], compress_as_named("m.fits", b"SIMPLE  =")[:6]
    (b'\\x1f\\x8b', b'SIMPLE')
    """
    import bz2
    import gzip
    import lzma

    compression = (fits_suffix(name) or "").rpartition(".")[2]
    if compression in ("zip", "z"):
        raise ValueError(f"cannot write FITS as {name!r}: astropy reads .zip and .Z files but does not write them; "
                         "name it .fits, .fits.gz, .fits.bz2 or .fits.xz")
    compress = {"gz": lambda b: gzip.compress(b, mtime=0), "bz2": bz2.compress, "xz": lzma.compress}
    return compress[compression](data) if compression in compress else data
