"""Which file names are FITS files: the one list of endings that storage, catalogue ingest and the image index use.

A FITS file is named ``.fits``, ``.fit`` or ``.fts``, in any case, plain or compressed as astropy reads it
(gzip ``.gz``, bzip2 ``.bz2``, xz ``.xz``, ``.zip``, Unix compress's ``.Z``), or ``.fz`` (tile-compressed, as
fpack writes it). ``Storage().read_table('t.fit.gz')``, catalogue ingest of ``t.fits.bz2`` and the archive's
image index of ``a.fits.Z`` all tell FITS by :func:`fits_suffix`. The FITS viewer's Lab extension
(``astrohub_server``'s ``astrohub-fits``, which never imports platform_lib) keeps its own copy of the list;
``tests/unit/test_fits_names.py`` keeps the two the same. Imports only the standard library.
"""

from __future__ import annotations

__all__ = ["FITS_SUFFIXES", "fits_suffix", "fits_stem"]

#: The endings of FITS file names, in lower case (names are compared in lower case), ``.fits`` first.
#: ``.fits.fz`` and its kin are listed beside ``.fz`` so that the stem of ``a.fits.fz`` is ``a``.
FITS_SUFFIXES = (
    *(base + compression for base in (".fits", ".fit", ".fts")
      for compression in ("", ".gz", ".bz2", ".xz", ".zip", ".z")),
    ".fits.fz", ".fit.fz", ".fts.fz", ".fz",
)


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
