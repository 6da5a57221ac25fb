"""The FITS viewer's server side: what Lab's FITS viewer tab shows of a FITS file in the user's folder.

A new user double-clicked ``image.fits`` in Lab's file browser and got it as garbled text. The FITS viewer of
the prebuilt Lab extension ``astrohub`` (``labextension/astrohub/static/fits.js``) opens ``.fits``, ``.fit`` and
``.fts`` files, whatever the case of their names, plain or compressed as astropy reads them (``.gz``, ``.bz2``,
``.xz``, ``.zip``, Unix compress's ``.Z``, and tile-compressed ``.fz``, whose CompImageHDUs are drawn as the plain
images they hold), in a viewer tab, whose content comes from two routes here, both read-only and behind the
server's own authentication (the contents API's permission, ``contents:read``):

- ``GET astrohub/fits?path=<path>&hdu=<n>&stretch=zscale|asinh`` (:func:`view`): the list of HDUs (name, type,
  size); the chosen HDU's header; for an image, a PNG drawn with astropy.visualization (ZScale, or asinh over
  the 99.5 % percentile range), origin lower, at most :data:`MAX_SIDE` pixels a side (a larger image is drawn
  from every n-th pixel; a cube from its first plane), with the sky positions of its corners and centre when
  the header has a celestial WCS; for a table, its columns with units and its first :data:`MAX_ROWS` rows; for a
  HEALPix map (a table whose header says PIXTYPE = 'HEALPIX', ORDERING or NSIDE: flat NESTED or RING, or
  multi-order NUNIQ as LIGO/Virgo/KAGRA publish them, or partial-sky, INDXSCHM = 'EXPLICIT' with a PIXEL
  column, the sky it does not list blank), an all-sky Mollweide picture (a probability map's 50 % and
  90 % credible regions outlined, ``contours``) and a probability map's 90 % credible area (``astrohub_server.healpixmap``; the rows read :data:`MAP_CHUNK_BYTES` at a time, from a gzip or
  bzip2 or xz stream too), or with ``show=table`` the table it is; a map that cannot be drawn is shown as a table with
  ``skymap_error`` saying why.
- ``GET astrohub/fits/sky?path=<path>&hdu=<n>&x=<x>&y=<y>`` (:func:`sky`): the sky position and the value of
  one pixel (0-based, as numpy counts; of a sky map, a pixel of its picture, counted from the top left), for the
  cursor (the value only from a file that is not compressed).

A file is read only through the server's contents root (:func:`resolve`: the contents manager's own mapping of
an API path, so a path outside the root, a hidden one, or one the user cannot read is refused as the contents
API refuses it), and as the user the server runs as. Every refusal is a :class:`FitsViewError`, answered as
JSON ``{"message": ...}`` with a 4xx naming the problem (no path, no such file, a folder, outside the root, not
FITS, damaged), never a traceback (a 501 where this server cannot view FITS at all: no astropy, or files not on
a disk). Files are memory-mapped where they can be; an HDU inside a compressed stream (gzip, bzip2, zip), which
must be decompressed to be read, is drawn only up to :data:`MAX_STREAM_BYTES`, and a table's first rows are read
from a gzip, bzip2 or xz stream without reading the rest. A ``.Z`` file is read with uncompresspy, astropy's
optional reader of Unix compress (a dependency of the platform); a server without it says so.

Registered by the ``astrohub_server`` extension (:func:`register`); also an extension of its own,
``astrohub_server.fitsview`` (the unit tests run a server with only it). May import the standard library,
tornado, jupyter_server and ``astrohub_server.healpixmap``; numpy, astropy and Pillow (matplotlib's, in every user
image) only when a file is first viewed, in a thread off the server's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import bz2
import errno
import gzip
import io
import lzma
import math
from typing import Any

from tornado import web

__all__ = ["MAP_CHUNK_BYTES", "MAX_ROWS", "MAX_SIDE", "MAX_STREAM_BYTES", "SHOWS", "STRETCHES", "FitsViewError", "register", "resolve",
           "sky", "view"]

#: The longest side of a drawn image, in pixels; a larger image is drawn from every n-th pixel.
MAX_SIDE = 1024
#: The rows of a table shown.
MAX_ROWS = 100
#: The most bytes of one HDU's data read from a gzip or bzip2 stream (which cannot be memory-mapped).
MAX_STREAM_BYTES = 512 * 2**20
#: The stretches an image is drawn with; the first is the default.
STRETCHES = ("zscale", "asinh")
#: How a HEALPix map HDU is shown: drawn on the sky (the default), or as the table of pixels it is.
SHOWS = ("map", "table")


class FitsViewError(Exception):
    """A request the viewer refuses, with the HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- the file -----------------------------------------------------------------------------------------


async def resolve(manager: Any, path: str | None) -> str:
    """The file system path of the FITS file at API ``path``, through the contents ``manager``'s root.

    Raises :class:`FitsViewError` as the contents API would refuse the path (outside the root, hidden, not
    readable, no such file) or when it is a folder.
    """
    from jupyter_core.utils import ensure_async

    if not path or not path.strip("/"):
        raise FitsViewError(400, "which file? give the path of a FITS file in your folder, e.g. ?path=images/m13.fits")
    if "\x00" in path:
        raise FitsViewError(400, f"the path {path!r} holds a NUL character")
    path = path.strip("/")
    get_os_path = getattr(manager, "_get_os_path", None)
    if get_os_path is None:
        raise FitsViewError(501, f"this server keeps files in {type(manager).__name__}, not on a disk the FITS "
                                 "viewer can read; open the file in a notebook with astropy.io.fits")
    try:
        os_path = get_os_path(path)
        if not manager.allow_hidden and await ensure_async(manager.is_hidden(path)):
            raise FitsViewError(404, f"no such file: {path!r} (hidden files are not shown)")
        found = await ensure_async(manager.file_exists(path))
        folder = not found and await ensure_async(manager.dir_exists(path))
    except web.HTTPError as exc:  # outside the root, not a valid path, or (astrohub_server.contents) not readable
        if exc.status_code == 404 and "outside root" in (exc.log_message or ""):
            raise FitsViewError(404, f"{path!r} is outside your server's folder: the viewer opens only files "
                                     "in it") from exc
        raise FitsViewError(exc.status_code, exc.log_message or f"cannot open {path!r}") from exc
    except PermissionError as exc:
        raise FitsViewError(403, f"permission denied: you may not read {path!r} ({exc.strerror})") from exc
    except OSError as exc:  # a name over 255 bytes or a path over 4096: the file system's error, a 500 before
        shown = path if len(path) <= 80 else f"{path[:60]}...({len(path)} characters)"
        if exc.errno == errno.ENAMETOOLONG:
            raise FitsViewError(400, f"the path {shown!r} is longer than the file system takes (a name of at most "
                                     "255 bytes, a path of 4096): give the path of a FITS file in your folder") from exc
        raise FitsViewError(400, f"cannot open {shown!r}: {exc.strerror}") from exc
    if folder:
        raise FitsViewError(400, f"{path!r} is a folder, not a FITS file")
    if not found:
        raise FitsViewError(404, f"no such file: {path!r}")
    return os_path


#: The first bytes of the compressed streams astropy reads FITS from (gzip, bzip2, xz, zip, Unix compress).
_STREAMS = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip",
            b"\x1f\x9d": "compress"}


def _stream(os_path: str) -> str | None:
    """The compression of the file at ``os_path`` (``"gzip"``, ...), or None for a plain (memory-mappable) file."""
    with open(os_path, "rb") as handle:
        start = handle.read(6)
    return next((kind for magic, kind in _STREAMS.items() if start.startswith(magic)), None)


class _Opened:
    """An open FITS file (``with``): :attr:`hdul`, and :attr:`stream`, its compression (None: memory-mapped).

    astropy's warnings about a file (a header it repairs) go to the server's log: ``warnings.catch_warnings``
    would change the whole process's filters from this thread, and catch the other threads' warnings too.
    """

    def __init__(self, os_path: str, name: str, *, lazy: bool = False) -> None:
        self.os_path = os_path
        self.name = name
        self.lazy = lazy  # read the headers only up to the HDU asked for (a compressed stream is read in order)

    def __enter__(self) -> _Opened:
        from astropy.io import fits

        self.stream = _stream(self.os_path)
        try:
            self.hdul = fits.open(self.os_path, lazy_load_hdus=self.lazy)  # memory-mapped where it can be
        except ModuleNotFoundError as exc:  # astropy reads Unix compress (.Z) only with uncompresspy
            if self.stream != "compress":
                raise
            raise FitsViewError(501, f"{self.name!r} is compressed with Unix compress (.Z), which astropy reads only "
                                     "with the package uncompresspy, missing from this server's environment: "
                                     f"decompress it first (gzip -d reads .Z files), or install uncompresspy "
                                     f"({exc})") from exc
        return self

    def __exit__(self, *exc: Any) -> None:
        self.hdul.close()


#: How each stream :func:`_data_at` reads an HDU's data from is opened (None: a plain file).
_OPENERS = {None: open, "gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}


def _data_at(opened: _Opened, index: int):
    """HDU ``index``'s data of the file, opened (plain, gzip, bzip2 or xz) and positioned at its first byte (in the
    decompressed bytes), to read from in order without astropy holding the HDU (``with``)."""
    handle = _OPENERS[opened.stream](opened.os_path, "rb")
    try:
        handle.seek(opened.hdul.fileinfo(index)["datLoc"])
    except BaseException:
        handle.close()
        raise
    return handle


def _failure(exc: BaseException, name: str) -> FitsViewError:
    """The refusal for an error reading the file called ``name``."""
    if isinstance(exc, PermissionError):
        return FitsViewError(403, f"permission denied: you may not read {name!r} ({exc.strerror})")
    if isinstance(exc, (FileNotFoundError, IsADirectoryError)):  # moved or deleted meanwhile
        return FitsViewError(404, f"no such file: {name!r}")
    if isinstance(exc, MemoryError):
        return FitsViewError(413, f"{name!r} is too large to read here; open it in a notebook with astropy.io.fits")
    text = str(exc).strip() or type(exc).__name__
    if "SIMPLE card" in text or "Empty or corrupt" in text:
        return FitsViewError(422, f"{name!r} is not a FITS file: it does not begin with a FITS header (SIMPLE = T)")
    return FitsViewError(422, f"{name!r} could not be read as FITS: it may be damaged or cut short ({text})")


def _kind(hdu) -> str:
    from astropy.io import fits

    if isinstance(hdu, fits.GroupsHDU):
        return "groups"
    if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
        return "table"
    if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)) and hdu.header.get("NAXIS", 0) > 0:
        return "image"
    return "empty"


def _summary(index: int, hdu) -> dict[str, Any]:
    kind = _kind(hdu)
    header = hdu.header
    entry: dict[str, Any] = {"index": index, "name": hdu.name or ("PRIMARY" if index == 0 else ""),
                             "type": type(hdu).__name__, "kind": kind}
    if kind == "image":
        naxes = [int(header.get(f"NAXIS{i}", 0)) for i in range(1, int(header["NAXIS"]) + 1)]
        entry["shape"] = naxes  # FITS order: NAXIS1 (x, columns) first
        entry["size"] = " × ".join(map(str, naxes)) + f" ({hdu.header.get('BITPIX')}-bit)"
    elif kind == "table":
        rows, columns = int(header.get("NAXIS2", 0)), int(header.get("TFIELDS", 0))
        entry.update(rows=rows, columns=columns, size=f"{rows:,} rows × {columns} columns")
        if _is_map(hdu):
            entry.update(skymap=True, size=entry["size"] + ", a HEALPix map")
    elif kind == "groups":
        entry["size"] = f"{int(header.get('GCOUNT', 0)):,} random groups"
    else:
        entry["size"] = "no data"
    return entry


def _pick(hdul, hdu: int | None) -> int:
    if hdu is None:
        return next((i for i, h in enumerate(hdul) if _kind(h) in ("image", "table")), 0)
    if not 0 <= hdu < len(hdul):
        raise FitsViewError(400, f"no HDU {hdu}: the file has {len(hdul)} (0 to {len(hdul) - 1})")
    return hdu


def _data_bytes(hdu) -> int:
    header = hdu.header
    if _kind(hdu) == "table":
        return int(header.get("NAXIS1", 0)) * int(header.get("NAXIS2", 0)) + int(header.get("PCOUNT", 0))
    return math.prod(int(header.get(f"NAXIS{i}", 0)) for i in range(1, int(header.get("NAXIS", 0)) + 1)) * (
        abs(int(header.get("BITPIX", 8))) // 8)


def _readable(opened: _Opened, hdu) -> None:
    if opened.stream and _data_bytes(hdu) > MAX_STREAM_BYTES:
        raise FitsViewError(413, f"this HDU holds {_data_bytes(hdu) / 2**20:,.0f} MB inside a compressed file "
                                 f"({opened.name!r}), more than the viewer decompresses "
                                 f"({MAX_STREAM_BYTES // 2**20} MB); open it in a notebook, or decompress it")


# --- images -------------------------------------------------------------------------------------------


def _plane(hdu, sky_axes: tuple[int, int] = (0, 1)) -> tuple[tuple, int, int]:
    """The numpy index of the first 2-D plane of an image HDU (a tuple with ``slice(None)`` on the plane's two
    axes and 0 on the others), and its width and height.

    The plane is the one spanned by ``sky_axes``, the 0-based FITS axes (NAXIS1 is 0) of the sky
    (:func:`_celestial`) wherever they are in the header (a radio cube's ``CTYPE1 = FREQ``, ``CTYPE2 = RA---SIN``,
    ``CTYPE3 = DEC--SIN``): the first across, the second up; without a celestial WCS NAXIS1 and NAXIS2."""
    shape = hdu.shape
    if len(shape) < 2:
        raise FitsViewError(422, f"HDU {hdu.name or 'PRIMARY'} is a 1-D array of {shape[0] if shape else 0} "
                                 "values, not an image: read it in a notebook with astropy.io.fits")
    across, up = sky_axes
    index: list = [0] * len(shape)
    index[len(shape) - 1 - across] = index[len(shape) - 1 - up] = slice(None)
    return tuple(index), int(shape[len(shape) - 1 - across]), int(shape[len(shape) - 1 - up])


def _at(index: tuple, x: Any, y: Any) -> tuple:
    """``index`` (from :func:`_plane`) with the plane's column ``x`` and row ``y`` put in its two slices."""
    out, slots = list(index), [i for i, v in enumerate(index) if isinstance(v, slice)]
    out[slots[0]], out[slots[1]] = y, x
    return tuple(out)


def _celestial(hdu, hdul):
    """The celestial WCS of an image HDU and the 0-based FITS axes of its longitude and latitude in header order
    (a cube's sky axes need not be the first two), or None."""
    from astropy.wcs import WCS

    try:
        wcs = WCS(hdu.header, fobj=hdul)
    except Exception:  # noqa: BLE001 - a header whose WCS astropy cannot parse is shown without sky positions
        return None
    if not wcs.has_celestial:
        return None
    # a FITS world axis goes with the pixel axis of its number (wcs.celestial keeps those two, in header order)
    axes = tuple(sorted((int(wcs.wcs.lng), int(wcs.wcs.lat))))
    if axes[1] >= len(hdu.shape):  # WCSAXES more than NAXIS, the sky on an axis the data does not have
        return None
    return (wcs if wcs.naxis == 2 else wcs.celestial), axes


def _ra_dec(ra: float, dec: float, precision: int) -> str:
    """``RA hh:mm:ss.s Dec +dd:mm:ss`` (degrees in): RA's seconds to ``precision`` decimals, Dec's to one fewer."""
    from astropy.coordinates import Angle

    ra_text = Angle(ra, "deg").to_string(unit="hourangle", sep=":", precision=precision, pad=True)
    dec_text = Angle(dec, "deg").to_string(unit="deg", sep=":", precision=precision - 1, alwayssign=True, pad=True)
    return f"RA {ra_text} Dec {dec_text}"


def _position(wcs, x: float, y: float) -> dict[str, Any] | None:
    """The sky position of 0-based pixel (x, y) as degrees and as text, or None where it is off the sky."""
    try:
        world = [float(v) for v in wcs.pixel_to_world_values(x, y)]
    except Exception:  # noqa: BLE001 - outside a projection's domain, or a distortion that does not converge
        return None
    lng, lat_axis = wcs.wcs.lng, wcs.wcs.lat  # the axes' order is the header's (DEC--TAN may come first)
    lon, lat = world[lng] % 360.0, world[lat_axis]
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    ctype = [wcs.wcs.ctype[i].split("-")[0].upper() for i in (lng, lat_axis)]
    frame = _frame(wcs)
    if ctype[0] == "RA":
        text = f"{_ra_dec(lon, lat, 2)} ({frame})"
    else:
        names = _SKY_AXIS_NAMES.get(ctype[0], (ctype[0] or "lon", ctype[1] or "lat"))
        text = f"{names[0]} {lon:.5f}° {names[1]} {lat:+.5f}°" + (f" ({frame})" if frame else "")
    return {"lon": lon, "lat": lat, "text": text, "frame": frame}


#: What the readout calls the longitude and latitude of a sky that is not RA/Dec, by CTYPE (FITS WCS paper II).
_SKY_AXIS_NAMES = {"GLON": ("l", "b"), "ELON": ("λ", "β"), "HLON": ("λ", "β"), "SLON": ("SGL", "SGB")}
_SKY_FRAMES = {"GLON": "Galactic", "ELON": "ecliptic", "HLON": "helioecliptic", "SLON": "supergalactic"}


def _frame(wcs) -> str:
    """The frame a celestial WCS's positions are in, as the readout names it: ``ICRS``, ``FK5 J2000``,
    ``FK4 B1950``, ``Galactic``, ``ecliptic J2000`` ... ('' for a sky astropy does not name).

    The frame is astropy's reading (``wcs_to_celestial_frame``: RADESYS and EQUINOX as wcslib completes them;
    FITS WCS paper II: no RADESYS is FK4 before EQUINOX 1984, FK5 from it, ICRS without an EQUINOX; FK4 counts
    equinoxes in Besselian years, the others in Julian years), named here; except that the longitude axis's CTYPE
    comes first for the skies astropy reads past (an ecliptic WCS, which wcslib gives a RADESYS, is no RA/Dec; its
    equinox is EQUINOX's, J2000 without one). The image index reads the frame by the same rule
    (``platform_lib.imageindex.footprint.celestial_frame``, which this package does not import);
    ``tests/unit/test_fits_sky_axes.py`` checks that the two agree.
    """
    from astropy.wcs.utils import wcs_to_celestial_frame

    lon_type = str(wcs.wcs.ctype[wcs.wcs.lng]).split("-")[0].upper()
    if lon_type in ("ELON", "HLON"):  # ecliptic coordinates are of an equinox; Galactic and supergalactic are not
        equinox = float(wcs.wcs.equinox)
        return f"{_SKY_FRAMES[lon_type]} J{equinox if math.isfinite(equinox) else 2000.0:g}"
    if lon_type in _SKY_FRAMES:
        return _SKY_FRAMES[lon_type]
    if lon_type != "RA":
        return ""
    try:
        frame = wcs_to_celestial_frame(wcs)
    except ValueError:  # GAPPT: a system astropy has no frame for, named as the header names it
        return str(wcs.wcs.radesys or "").strip().upper()
    name = {"FK4NoETerms": "FK4-NO-E"}.get(type(frame).__name__, type(frame).__name__)
    if name.startswith("FK4"):
        return f"{name} B{frame.equinox.byear:g}"
    return f"{name} J{frame.equinox.jyear:g}" if name == "FK5" else name


def _scaling(stretch: str):
    """The value interval and the curve of one of :data:`STRETCHES` (astropy.visualization's): ZScale, linear; or
    asinh over the 99.5 % percentile range. An image and a sky map that is not of probability are drawn so."""
    from astropy.visualization import AsinhStretch, LinearStretch, PercentileInterval, ZScaleInterval

    if stretch == "asinh":
        return PercentileInterval(99.5), AsinhStretch()
    return ZScaleInterval(), LinearStretch()


def _draw(data, stretch: str) -> tuple[bytes, list[float]]:
    """A PNG of a 2-D array (grey, blank pixels transparent), row 0 at the bottom, and its value range."""
    import numpy as np
    from astropy.visualization import ImageNormalize
    from PIL import Image

    data = np.asarray(data, dtype=np.float64)
    finite = np.isfinite(data)
    grey = np.zeros(data.shape, dtype=np.uint8)
    low = high = float("nan")
    if finite.any():
        values = data[finite]
        interval, curve = _scaling(stretch)
        low, high = (float(v) for v in interval.get_limits(values))
        if high > low:
            norm = ImageNormalize(vmin=low, vmax=high, stretch=curve, clip=True)
            scaled = np.asarray(norm(np.where(finite, data, low)), dtype=np.float64)
            grey = np.round(np.nan_to_num(scaled) * 255).astype(np.uint8)
        else:
            grey[:] = 128
    alpha = np.where(finite, 255, 0).astype(np.uint8)
    picture = Image.fromarray(np.flipud(np.stack([grey, alpha], axis=-1)), mode="LA")
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=False)
    return out.getvalue(), [low, high]


def _image(opened: _Opened, hdu, stretch: str) -> dict[str, Any]:
    import numpy as np

    _readable(opened, hdu)
    found = _celestial(hdu, opened.hdul)
    wcs, sky_axes = found if found is not None else (None, (0, 1))
    index, width, height = _plane(hdu, sky_axes)
    step = max(1, math.ceil(max(width, height) / MAX_SIDE))
    if step > 1:  # the rows drawn, each read whole (astropy reads a strided section value by value: 500x slower)
        data = np.stack([hdu.section[_at(index, slice(None), row)][::step] for row in range(0, height, step)])
    else:
        data = hdu.section[index]
    png, limits = _draw(data, stretch)
    corners = []
    if wcs is not None:
        for name, x, y in (("bottom left", 0, 0), ("bottom right", width - 1, 0), ("top right", width - 1, height - 1),
                           ("top left", 0, height - 1), ("centre", (width - 1) / 2, (height - 1) / 2)):
            corners.append({"name": name, "x": x, "y": y, "sky": _position(wcs, x, y)})
    shape = hdu.shape
    plane = None
    if len(shape) > 2:  # the other axes, FITS-numbered: a radio cube's FREQ may be NAXIS1
        others = [k for k in range(len(shape)) if k not in sky_axes]
        plane = (f"the first plane of {' × '.join(str(shape[len(shape) - 1 - k]) for k in others)} "
                 f"({', '.join(f'NAXIS{k + 1}' for k in others)})")
    return {"png": base64.b64encode(png).decode("ascii"), "width": width, "height": height, "step": step,
            "shown": [math.ceil(width / step), math.ceil(height / step)], "stretch": stretch, "limits": limits,
            "unit": str(hdu.header.get("BUNIT", "")).strip(), "plane": plane, "wcs": wcs is not None,
            "corners": corners}


# --- tables -------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    import numpy as np

    if isinstance(value, bytes):
        return value.decode("ascii", "replace").rstrip()
    if isinstance(value, np.ndarray):
        return np.array2string(value, threshold=8, edgeitems=3, max_line_width=10**6)
    return str(value).rstrip()


def _first_rows(opened: _Opened, index: int, hdu, count: int):
    """The first ``count`` rows of a table HDU as a FITS_rec, reading no more of a compressed stream than needed."""
    from astropy.io import fits

    if not opened.stream:  # memory-mapped
        return hdu.data[:count]
    # variable-length arrays (in a heap after the rows), or a stream read whole: at most MAX_STREAM_BYTES
    if int(hdu.header.get("PCOUNT", 0)) or opened.stream not in ("gzip", "bzip2", "xz"):
        _readable(opened, hdu)
        return hdu.data[:count]
    with _data_at(opened, index) as handle:
        raw = handle.read(int(hdu.header["NAXIS1"]) * count)
    header = hdu.header.copy()
    header["NAXIS2"] = count
    kind, fill = (fits.BinTableHDU, b"\0") if isinstance(hdu, fits.BinTableHDU) else (fits.TableHDU, b" ")
    return kind.fromstring(header.tostring().encode("ascii") + raw + fill * ((-len(raw)) % 2880)).data


def _table(opened: _Opened, index: int, hdu) -> dict[str, Any]:
    total = int(hdu.header.get("NAXIS2", 0))
    count = min(MAX_ROWS, total)
    columns = [{"name": c.name, "unit": str(c.unit or ""), "format": str(c.format)} for c in hdu.columns]
    rows = []
    if count:
        data = _first_rows(opened, index, hdu, count)
        names = data.names
        rows = [[_cell(row[name]) for name in names] for row in data[:count]]
    return {"columns": columns, "rows": rows, "total": total, "shown": len(rows)}


# --- HEALPix sky maps ---------------------------------------------------------------------------------

#: The rows of a sky map read at a time (bounded memory: MBs whatever the map's size).
MAP_CHUNK_BYTES = 8 * 2**20


def _is_map(hdu) -> bool:
    from astropy.io import fits

    from astrohub_server import healpixmap

    return isinstance(hdu, fits.BinTableHDU) and healpixmap.is_map(hdu.header)


def _layout(hdu):
    from astrohub_server import healpixmap

    columns = [(c.name, int(c.format.repeat or 1), str(c.unit or "").strip(), c.format.format in "BIJKED")
               for c in hdu.columns]
    try:
        return healpixmap.layout(hdu.header, columns)
    except healpixmap.MapError as exc:
        raise FitsViewError(422, f"HDU {hdu.name or ''} is not drawn as a HEALPix map: {exc}") from exc


def _map_rows(opened: _Opened, index: int, hdu, names: list[str]):
    """The map's rows, chunk by chunk, as a record array with ``names`` (native floats and integers), read from
    the file (plain, gzip, bzip2 or xz) without holding more than :data:`MAP_CHUNK_BYTES` of it."""
    import numpy as np

    columns = hdu.columns
    rows, width = int(hdu.header.get("NAXIS2", 0)), int(hdu.header.get("NAXIS1", 0))
    dtype = columns.dtype.newbyteorder(">")
    chunk = max(1, MAP_CHUNK_BYTES // max(width, 1))
    scaled = [c for c in columns if c.name in names and (c.bscale not in (None, 1) or c.bzero not in (None, 0))]
    if int(hdu.header.get("PCOUNT", 0)) or dtype.itemsize != width or opened.stream not in _OPENERS:
        _readable(opened, hdu)  # read whole, as astropy reads it
        data = hdu.data
        for start in range(0, rows, chunk):
            yield {name: np.asarray(data[name][start:start + chunk]) for name in names}
        return
    with _data_at(opened, index) as handle:
        for start in range(0, rows, chunk):
            count = min(chunk, rows - start)
            raw = handle.read(count * width)
            if len(raw) < count * width:
                raise FitsViewError(422, f"{opened.name!r} is cut short: its map ends at row {start + len(raw) // width:,} "
                                         f"of {rows:,}")
            records = np.frombuffer(raw, dtype=dtype)
            out = {}
            for name in names:
                column = records[name].astype(np.float64 if records[name].dtype.kind == "f" else np.int64)
                found = next((c for c in scaled if c.name == name), None)
                if found is not None:
                    column = column * (found.bscale or 1) + (found.bzero or 0)
                out[name] = column
            yield out


def _skymap(opened: _Opened, index: int, hdu, stretch: str) -> dict[str, Any]:
    """The all-sky picture of a HEALPix map HDU, and a probability map's 90 % credible area."""
    from astrohub_server import healpixmap

    layout = _layout(hdu)
    canvas = healpixmap.Canvas(layout)
    names = [c.name for c in hdu.columns if c.name.upper() in (layout.column.upper(), layout.index_column)]
    column = next(n for n in names if n.upper() == layout.column.upper())
    pixels = next((n for n in names if n.upper() == layout.index_column), None)  # UNIQ, PIXEL or none
    try:
        for rows in _map_rows(opened, index, hdu, names):
            canvas.add(rows[column], rows[pixels] if pixels else None)
        credible = canvas.credible_area(0.9)
        png, limits = canvas.picture(_scaling(stretch))
    except healpixmap.MapError as exc:
        raise FitsViewError(422, f"HDU {index} of {opened.name!r} cannot be drawn as a HEALPix map: {exc}") from exc
    return {"png": base64.b64encode(png).decode("ascii"), "width": healpixmap.WIDTH, "height": healpixmap.HEIGHT,
            "about": layout.describe(), "column": layout.column, "unit": "deg-2" if layout.probability else layout.unit,
            "probability": layout.probability, "nside": layout.nside, "ordering": layout.ordering,
            "display_nside": 2**healpixmap.DISPLAY_ORDER, "frame": layout.frame, "centre": layout.centre,
            "limits": limits,
            "stretch": None if layout.probability else stretch, "credible": credible,
            "contours": [{"level": level, "colour": "#%02x%02x%02x" % colour} for level, colour in healpixmap.CONTOURS]
            if layout.probability else []}


def _map_position(frame: str, lon: float, lat: float) -> dict[str, Any]:
    if frame == "C":
        text = f"{_ra_dec(lon, lat, 1)} ({lon:.3f}°, {lat:+.3f}°)"
    else:
        names = {"G": ("l", "b"), "E": ("ecliptic lon", "lat")}.get(frame, ("lon", "lat"))
        text = f"{names[0]} {lon:.3f}° {names[1]} {lat:+.3f}°"
    return {"lon": lon, "lat": lat, "text": text}


def _map_sky(opened: _Opened, name: str, hdu, x: int, y: int) -> dict[str, Any]:
    """The cursor over a sky map's picture: the sky position of picture pixel (x, y) (from the top) and, from a
    file that is not compressed, the value of the map's pixel there."""
    from astrohub_server import healpixmap

    if not (0 <= x < healpixmap.WIDTH and 0 <= y < healpixmap.HEIGHT):
        raise FitsViewError(400, f"pixel ({x}, {y}) is outside the map's picture ({healpixmap.WIDTH} × "
                                 f"{healpixmap.HEIGHT})")
    layout = _layout(hdu)
    lon, lat = (float(v) for v in healpixmap.mollweide_lonlat(x, y, layout.centre))
    answer: dict[str, Any] = {"x": x, "y": y, "map": True, "column": layout.column, "unit": layout.unit,
                              "sky": None if math.isnan(lon) else _map_position(layout.frame, lon, lat)}
    if answer["sky"] is not None and opened.stream is None:
        data = hdu.data  # memory-mapped
        if layout.index_column:  # multi-order or partial-sky: the row that names the pixel there, if any
            at = healpixmap.pixel_at(layout, lon, lat, data.field(layout.index_column))
            if at is not None:
                answer["value"] = float(data.field(layout.column)[at])
        else:
            at = healpixmap.pixel_at(layout, lon, lat)
            answer["pixel"] = at
            row = data.field(layout.column)[at // layout.repeat]
            answer["value"] = float(row[at % layout.repeat] if layout.repeat > 1 else row)
    return answer


# --- what the routes answer ---------------------------------------------------------------------------


def view(os_path: str, name: str, hdu: int | None = None, stretch: str = STRETCHES[0],
         show: str = SHOWS[0]) -> dict[str, Any]:
    """What the viewer shows of the FITS file at ``os_path`` (called ``name`` in messages): its HDUs, and the
    header and the image or table of HDU ``hdu`` (the first with data when None), drawn with ``stretch``. A
    HEALPix map HDU is drawn as an all-sky map (``show="map"``, with a probability map's 90 % credible area) or
    shown as the table it is (``show="table"``); a map that cannot be drawn is shown as a table with
    ``skymap_error`` saying why."""
    if stretch not in STRETCHES:
        raise FitsViewError(400, f"no stretch {stretch!r}: choose one of {', '.join(STRETCHES)}")
    if show not in SHOWS:
        raise FitsViewError(400, f"no way to show {show!r}: choose one of {', '.join(SHOWS)}")
    with _Opened(os_path, name) as opened:
        hdul = opened.hdul
        hdus = [_summary(i, h) for i, h in enumerate(hdul)]
        chosen = _pick(hdul, hdu)
        selected = hdul[chosen]
        answer: dict[str, Any] = {"path": name, "hdus": hdus, "hdu": chosen, "image": None, "table": None,
                                  "skymap": None, "header": selected.header.tostring(sep="\n", endcard=False,
                                                                                     padding=False)}
        kind = _kind(selected)
        if kind == "image":
            answer["image"] = _image(opened, selected, stretch)
        elif kind == "table" and show == "map" and _is_map(selected):
            try:
                answer["skymap"] = _skymap(opened, chosen, selected, stretch)
            except FitsViewError as exc:
                if exc.status != 422:
                    raise
                answer["skymap_error"] = exc.message
                answer["table"] = _table(opened, chosen, selected)
        elif kind == "table":
            answer["table"] = _table(opened, chosen, selected)
    return answer


def sky(os_path: str, name: str, hdu: int, x: int, y: int) -> dict[str, Any]:
    """The sky position (None without a celestial WCS) and the value of the 0-based pixel (``x``, ``y``) of the
    first plane of image HDU ``hdu``. The file's headers are read up to that HDU only; the value is read from a
    memory-mapped file, not from a compressed stream (which would be decompressed up to it for each pixel)."""
    with _Opened(os_path, name, lazy=True) as opened:
        try:
            if hdu < 0:
                raise IndexError(hdu)
            selected = opened.hdul[hdu]
        except IndexError:
            raise FitsViewError(400, f"no HDU {hdu} in {name!r}") from None
        if _kind(selected) == "table" and _is_map(selected):
            return _map_sky(opened, name, selected, x, y)
        if _kind(selected) != "image":
            raise FitsViewError(400, f"HDU {hdu} of {name!r} is not an image")
        found = _celestial(selected, opened.hdul)
        wcs, sky_axes = found if found is not None else (None, (0, 1))
        index, width, height = _plane(selected, sky_axes)
        if not (0 <= x < width and 0 <= y < height):
            raise FitsViewError(400, f"pixel ({x}, {y}) is outside the image ({width} × {height})")
        answer = {"x": x, "y": y, "unit": str(selected.header.get("BUNIT", "")).strip(),
                  "sky": _position(wcs, x, y) if wcs is not None else None}
        if opened.stream is None:
            answer["value"] = float(selected.section[_at(index, x, y)])
        return answer


# --- the routes ---------------------------------------------------------------------------------------


def _handlers() -> list[tuple[str, type]]:
    from jupyter_server.auth.decorator import authorized
    from jupyter_server.base.handlers import APIHandler

    class _FitsHandler(APIHandler):
        auth_resource = "contents"  # reading a file: the contents API's permission

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            """JSON ``{"message": ...}``, the message as written (APIHandler's reads tornado's ``log_message``,
            which doubles each ``%``, so a file named ``100%.fits`` was shown as ``100%%.fits``)."""
            exc = kwargs.get("exc_info", (None, None, None))[1]
            if not isinstance(exc, web.HTTPError):
                return super().write_error(status_code, **kwargs)
            get_message = getattr(exc, "get_message", None)  # tornado 6.5
            message = get_message() if get_message else exc.log_message
            self.set_header("Content-Type", "application/json")
            self.finish(_json({"message": message or self._reason}))

        def _int(self, name: str, required: bool = True) -> int | None:
            text = self.get_argument(name, "")
            if not text:
                if required:
                    raise FitsViewError(400, f"give {name}=<a whole number>")
                return None
            try:
                return int(text)
            except ValueError:
                raise FitsViewError(400, f"{name}={text!r} is not a whole number") from None

        async def _answer(self, work, *args: Any) -> None:
            try:
                path = self.get_argument("path", "")
                os_path = await resolve(self.contents_manager, path)
                answer = await asyncio.to_thread(_call, work, os_path, path.strip("/"), *[a(self) for a in args])
            except FitsViewError as exc:
                raise web.HTTPError(exc.status, exc.message) from exc
            except ImportError as exc:
                raise web.HTTPError(501, f"the FITS viewer needs numpy, astropy and Pillow in this server's "
                                         f"environment ({exc})") from exc
            self.set_header("Content-Type", "application/json")
            self.set_header("Cache-Control", "no-store")
            self.finish(_json(answer))

    class FitsViewHandler(_FitsHandler):
        @web.authenticated
        @authorized
        async def get(self) -> None:
            await self._answer(view, lambda h: h._int("hdu", False), lambda h: h.get_argument("stretch", STRETCHES[0]),
                               lambda h: h.get_argument("show", SHOWS[0]))

    class FitsSkyHandler(_FitsHandler):
        @web.authenticated
        @authorized
        async def get(self) -> None:
            await self._answer(sky, lambda h: h._int("hdu"), lambda h: h._int("x"), lambda h: h._int("y"))

    return [("astrohub/fits", FitsViewHandler), ("astrohub/fits/sky", FitsSkyHandler)]


def _call(work, *args: Any) -> Any:
    try:
        return work(*args)
    except (FitsViewError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 - anything astropy raises on a strange file is the file's problem
        raise _failure(exc, args[1]) from exc


def _json(answer: dict[str, Any]) -> str:
    import json

    def plain(value: Any) -> Any:  # NaN and infinity are not JSON: null
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(answer))


def register(serverapp) -> None:
    """Add the viewer's routes to the server."""
    from jupyter_server.utils import url_path_join

    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [(url_path_join(base_url, route), handler) for route, handler in _handlers()])


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server.fitsview"}]


def _load_jupyter_server_extension(serverapp) -> None:
    register(serverapp)
