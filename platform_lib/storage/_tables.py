"""Table and image I/O over storage addresses: the methods :class:`~platform_lib.storage.Storage` mixes in.

Reads go through a local path (the file itself in a local space, a temporary copy from object
storage); writes serialise with :mod:`platform_lib.storage._formats` and go through the atomic,
quota-checked ``write_bytes``.
"""

from __future__ import annotations

import os
import posixpath

from platform_lib.storage._errors import PathNotFound, UnknownFormat

__all__ = ["TableIO"]


class TableIO:
    """Table and image reading and writing, mixed into :class:`Storage`."""

    def _local_copy(self, address: str):
        """A context manager yielding a local path holding the file (the file itself when local)."""
        import contextlib
        import tempfile

        @contextlib.contextmanager
        def manager():
            space, full = self._resolve(address)
            if not space.fs.isfile(full):
                raise PathNotFound(f"{address}: no such file", value=address)
            if space.local:
                yield full
                return
            with tempfile.TemporaryDirectory(prefix="astrohub-") as tmp:
                local = os.path.join(tmp, posixpath.basename(full))
                space.fs.get(full, local)
                yield local

        return manager()

    def read_table(self, address: str, *, format: str | None = None):
        """The table at ``address`` as an astropy Table (FITS, VOTable, Parquet, HDF5, ECSV; CSV, TSV and other
        text tables, ``.txt``, ``.dat``, ``.tbl``..., read by their content as catalogue ingest reads them)."""
        from platform_lib.storage._formats import format_for, table_from_file

        self._resolve(address)  # the address's own error (not one of reading its name's ending)
        key = format_for(address, format)
        with self._local_copy(address) as path:
            return table_from_file(path, key)

    def read_dataframe(self, address: str, *, format: str | None = None):
        """The table at ``address`` as a pandas DataFrame."""
        return self.read_table(address, format=format).to_pandas()

    def write_table(self, data, address: str, *, format: str | None = None, overwrite: bool = False) -> str:
        """Write an astropy Table or pandas DataFrame to ``address`` in the format its name says (atomic, quota-checked;
        FITS compressed as its name says: ``.fits.gz``, ``.fits.bz2``, ``.fits.xz``; not ``.fz``, tile compression
        being for images)."""
        from platform_lib.storage._formats import compressed_as_named, format_for, table_to_bytes

        if isinstance(data, str) and not isinstance(address, str):
            raise TypeError(f"write_table(table, address): the table comes first, then where it goes; the address "
                            f"{data!r} was given first")
        self._resolve(address)  # path checks before serialising
        key = format_for(address, format)
        payload = table_to_bytes(data, key)
        if key == "fits":
            payload = compressed_as_named(address, payload)
        return self.write_bytes(address, payload, overwrite=overwrite)

    def read_image(self, address: str, *, hdu: int | str | None = None):
        """``(data, header)`` of one HDU of the FITS file at ``address`` (data read into memory): ``hdu`` an index or
        EXTNAME, by default the first HDU holding an image (the primary, or the first extension of a file whose
        primary HDU is empty, as many archives' files are)."""
        from astropy.io import fits

        from platform_lib.storage._formats import image_hdu

        with self._local_copy(address) as path:
            if hdu is None:
                hdu = image_hdu(path)
                if hdu is None:
                    raise UnknownFormat(f"{address}: no HDU holds an image (not FITS, or only tables: read_table "
                                        "reads a table)", value=address)
            try:
                with fits.open(path, memmap=False) as hdul:
                    return hdul[hdu].data, hdul[hdu].header.copy()
            except (OSError, KeyError, IndexError) as exc:
                raise UnknownFormat(f"{address}: cannot read HDU {hdu!r} as FITS: {exc}", value=address) from exc

    def write_image(self, data, address: str, *, header=None, overwrite: bool = False) -> str:
        """Write an ndarray (with ``header``), a FITS HDU or an HDUList as a FITS file at ``address`` (compressed as
        its name says: ``.fits.gz``, ``.fits.bz2``, ``.fits.xz``; ``.fz`` tile-compressed, as fpack writes it, every
        pixel kept exactly)."""
        from platform_lib.storage._formats import image_as_named

        self._resolve(address)
        return self.write_bytes(address, image_as_named(address, data, header), overwrite=overwrite)

