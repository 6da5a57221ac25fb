"""One VO client facade for notebooks: cone search, image search, TAP and the registry, built on pyvo.

The same calls work against the platform's own archive service (the default when ``service`` is
not given: ``settings.archive_url``) and any external VO service (pass its URL). Results are
astropy Tables. Inside the platform the user's token is injected into requests to the platform's
hosts (never to others); every call has a timeout and retries transient failures (urllib3
``Retry``); failures raise :class:`RetrievalError` with ``url``, ``reason`` and ``http_code``. A result
the service cut at its row limit (``QUERY_STATUS=OVERFLOW``) warns with
:class:`TruncatedResultWarning`, naming ``maxrec``, and says so in ``table.meta["QUERY_STATUS"]``. A position is
a SkyCoord, text or an object's name, read as every search of platform_lib reads one
(:func:`platform_lib.skyposition.sky_position`: names offline, never CDS's Sesame).

Examples
--------
>>> from astropy.coordinates import SkyCoord; import astropy.units as u    # doctest: +SKIP
>>> from platform_lib.retrieval import image_search, cone_search             # doctest: +SKIP
>>> image_search(SkyCoord(83.633 * u.deg, 22.0145 * u.deg), 0.1 * u.deg)    # doctest: +SKIP
>>> cone_search(SkyCoord(56.75, 24.12, unit="deg"), 10 * u.arcmin, catalog="I/311")  # doctest: +SKIP
>>> cone_search("Pleiades", 1 * u.deg, catalog="I/311")                    # doctest: +SKIP
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from platform_lib import jobs
from platform_lib.retrieval.client import (TapJob, WholeBodies, plain_strings, result_table, save_path, shown,
                                           translate_errors)
from platform_lib.retrieval.errors import RetrievalError, RetrievalInputError, TruncatedResultWarning
from platform_lib.retrieval.session import make_session
from platform_lib.retrieval.tapjobs import ArchiveJobsWarning, ArchiveTapJob
from platform_lib.skyangle import sky_angle
from platform_lib.skyposition import sky_position

__all__ = [
    "ArchiveJobsWarning",
    "ArchiveTapJob",
    "RetrievalError",
    "RetrievalInputError",
    "TapJob",
    "TruncatedResultWarning",
    "cone_search",
    "find_services",
    "image_search",
    "make_session",
    "tap_query",
]


def _context(settings, session):
    if settings is None:
        from platform_lib.settings import get_settings

        settings = get_settings()
    return settings, session if session is not None else make_session(settings)


def _archive(settings, path: str, what: str) -> str:
    if not settings.archive_url:
        raise RetrievalError(
            f"no {what} service given and the platform's archive_url is not set (PLATFORM_ARCHIVE_URL); "
            "pass service='https://...'", code="no-service")
    return settings.archive_url.rstrip("/") + "/" + path


def _deg(q, name):
    q = sky_angle(q, name)  # a Quantity, or text such as '2 arcmin'
    try:
        return q.to_value(u.deg)
    except (AttributeError, u.UnitsError):
        raise TypeError(f"{name} must be an angle Quantity (e.g. 2 * u.arcmin), got {q!r}") from None


def _radius(q, most: float, hint: str = "") -> float:
    """``q`` in degrees; a ValueError naming the allowed range (more than 0, at most ``most`` deg) otherwise."""
    deg = _deg(q, "radius")
    if not 0 < deg <= most:  # NaN too
        raise ValueError(f"radius must be more than 0 and at most {most:g} deg, got {q}{hint}")
    return deg


def _maxrec(maxrec):
    """``maxrec`` checked: None or a whole number >= 0 (0 asks for the columns only)."""
    if maxrec is None:
        return None
    if isinstance(maxrec, bool) or not isinstance(maxrec, (int, np.integer)):
        raise TypeError(f"maxrec must be a whole number of rows (e.g. maxrec=10000), got {maxrec!r}")
    if maxrec < 0:
        raise ValueError(f"maxrec must be 0 or more (the most rows wanted), got {maxrec}")
    return int(maxrec)


def _icrs(position):
    """``position`` in ICRS: a SkyCoord (any frame), a position as text or an object's name
    (:func:`platform_lib.skyposition.sky_position`, whose errors say which forms work)."""
    return sky_position(position).icrs


def _band(band) -> tuple:
    """``band`` as (shortest, longest) wavelength in metres; a TypeError or ValueError naming what to pass."""
    try:
        lo, hi = band
        pair = sorted(q.to(u.m, equivalencies=u.spectral()) for q in (lo, hi))
    except (TypeError, ValueError, AttributeError, u.UnitsError):
        raise TypeError(f"band must be a pair of wavelengths, frequencies or energies, e.g. (400, 700) * u.nm, "
                        f"got {band!r}") from None
    if not all(np.isfinite(q.value) and q.value > 0 for q in pair):
        raise ValueError(f"band must be two positive, finite wavelengths, frequencies or energies, got {band!r}")
    return tuple(pair)


def _region(pos) -> list[tuple[float, ...]]:
    """``pos`` (SIA v2's ``POS``: a circle ``(ra, dec, radius)``, a box ``(ra_min, ra_max, dec_min, dec_max)`` or a
    polygon ``(ra1, dec1, ra2, dec2, ra3, dec3, ...)``, in degrees or as angle Quantities; or a list of them) as
    tuples of degrees; a :class:`RetrievalInputError` naming ``pos`` for anything else, before a service is asked
    (pyvo sent a NaN on as ``POLYGON 1.0 2.0 nan ...``)."""
    forms = ("pos must be a circle (ra, dec, radius), a box (ra_min, ra_max, dec_min, dec_max) or a polygon "
             "(ra1, dec1, ra2, dec2, ra3, dec3, ...), in degrees or angle Quantities, or a list of them")
    try:
        shapes = [pos] if np.ndim(pos[0]) == 0 else pos  # one region, or a list of them
        regions = [tuple(float(u.Quantity(v, u.deg).to_value(u.deg)) for v in shape) for shape in shapes]
    except (TypeError, ValueError, IndexError, KeyError, u.UnitsError):
        raise RetrievalInputError(f"{forms}; got {pos!r}", code="bad-pos", value=str(pos)) from None
    for region in regions:
        n = len(region)
        if not (n in (3, 4) or (n >= 6 and n % 2 == 0)):
            raise RetrievalInputError(f"{forms}; got {n} numbers ({region})", code="bad-pos", value=str(pos))
        if not np.all(np.isfinite(region)):
            raise RetrievalInputError(f"pos={region} holds NaN or infinite values (a table's empty cell?): a region "
                                      "needs finite coordinates", code="bad-pos", value=str(pos))
        ras, decs = (region[:1], region[1:2]) if n == 3 else (region[:2], region[2:]) if n == 4 else (
            region[0::2], region[1::2])
        if any(abs(d) > 90 for d in decs) or any(not 0 <= a <= 360 for a in ras):
            raise RetrievalInputError(f"pos={region}: RA is within [0, 360] deg and Dec within [-90, 90] deg (is "
                                      "RA/Dec swapped?)", code="bad-pos", value=str(pos))
        if n == 3 and not 0 < region[2] <= 90:
            raise RetrievalInputError(f"pos={region}: a circle's radius is more than 0 and at most 90 deg",
                                      code="bad-pos", value=str(pos))
    return regions


def _time_range(time) -> tuple:
    """``time`` as a (start, stop) pair of astropy ``Time``; a :class:`RetrievalInputError` naming it otherwise."""
    from astropy.time import Time

    from platform_lib.times import DateReader

    pair = DateReader(error=RetrievalInputError).as_time(time, "time")
    if not isinstance(pair, Time) or pair.shape != (2,):
        raise RetrievalInputError(f"time must be a pair of dates (start, stop), e.g. ('2020-01-01', '2021-01-01') "
                                  f"or Time(['2020-01-01', '2021-01-01']), got {time!r}", code="bad-time",
                                  value=str(time))
    if not pair[0] <= pair[1]:
        raise RetrievalInputError(f"time=({pair[0].iso}, {pair[1].iso}) ends before it starts: give (start, stop)",
                                  code="bad-time", value=str(time))
    return pair[0], pair[1]


def _adql(query) -> str:
    """``query`` checked: text that is not blank."""
    if not isinstance(query, str):
        raise TypeError(f"query must be ADQL text, e.g. 'SELECT TOP 10 * FROM ivoa.obscore', got {query!r} "
                        f"({type(query).__name__})")
    if not query.strip():
        raise ValueError("query is empty: give ADQL text, e.g. 'SELECT TOP 10 * FROM ivoa.obscore'")
    return query


def cone_search(position, radius, *catalog_first, catalog: str | None = None, service: str | None = None,
                verbosity: int = 2, maxrec: int | None = None, settings=None, session=None):
    """Sources within ``radius`` of ``position`` from a Simple Cone Search service.

    A platform catalogue may also come first, as :func:`platform_lib.catalogs.cone_search` takes it:
    ``cone_search('I/311', 'M45', '30 arcmin')`` is ``cone_search('M45', '30 arcmin', catalog='I/311')``.

    Parameters
    ----------
    position : `~astropy.coordinates.SkyCoord` or str
        A position, as a SkyCoord or as text (``"03h47m24s +24d07m00s"``, ``"56.85 24.12"`` in degrees), or the
        name of an object the platform resolves offline (``"M45"``, ``"Pleiades"``, ``"Vega"``:
        :func:`platform_lib.skyposition.sky_position`; never CDS's Sesame).
    radius : `~astropy.units.Quantity` (angle) or str
        ``2 * u.arcmin``, or text with its unit: ``"2 arcmin"`` (:func:`platform_lib.skyangle.sky_angle`).
    catalog : str, optional
        A catalogue registered on the platform (``"I/311"``, ``"OpenNGC"``: ``Registry.tables()`` lists them);
        served by the archive's cone search.
    service : str, optional
        Any SCS URL (external or ours); overrides ``catalog``.

    maxrec : int, optional
        The most rows wanted; the service's own limit applies when not given (1000 for the
        platform's archive). A result cut at a limit warns with :class:`TruncatedResultWarning`.

    Returns
    -------
    `~astropy.table.Table`
        ``meta["QUERY_STATUS"]`` is ``"OVERFLOW"`` when the service stopped at its row limit.

    Examples
    --------
    >>> from platform_lib.retrieval import cone_search
    >>> stars = cone_search("Pleiades", "30 arcmin", catalog="I/311")       # doctest: +SKIP
    >>> len(stars)                                                          # doctest: +SKIP
    >>> cone_search("M31", 2 * u.deg, catalog="OpenNGC")["name", "type"]    # doctest: +SKIP
    """
    import pyvo

    if catalog_first:  # (catalog, position, radius): what catalogs.cone_search takes; "3 were given" before
        if len(catalog_first) > 1 or catalog is not None or service is not None or not isinstance(position, str):
            raise TypeError(f"cone_search takes (position, radius, catalog=...) or (catalog, position, radius), "
                            f"not {2 + len(catalog_first)} positional arguments"
                            + (" and catalog= or service=" if catalog is not None or service is not None else "")
                            + ": cone_search('M45', '30 arcmin', catalog='I/311')")
        catalog, position, radius = position, radius, catalog_first[0]
    settings, session = _context(settings, session)
    if service is None:
        if not catalog:
            raise ValueError("give catalog= (a platform catalogue, cone_search('M45', '30 arcmin', catalog='I/311')) "
                             "or service= (an SCS URL)")
        service = _archive(settings, f"scs/{catalog}", "cone search")
    radius_deg = _radius(radius, 180)
    maxrec = _maxrec(maxrec)
    icrs = _icrs(position)
    with translate_errors(service, "cone search", settings.archive_url):
        return result_table(lambda: pyvo.dal.SCSService(service, session=session).search(
            pos=(icrs.ra.deg, icrs.dec.deg), radius=radius_deg, verbosity=verbosity,
            **({"maxrec": maxrec} if maxrec else {})),
            f"cone search of {catalog or shown(service, settings.archive_url)}", maxrec)


def image_search(position=None, radius=None, *, service: str | None = None, band=None, time=None,
                 maxrec: int | None = None, settings=None, session=None, **constraints):
    """Images (ObsCore records) from an SIA v2 service overlapping a circle, as an astropy Table.

    Instead of ``position`` and ``radius``, ``pos=`` gives SIA v2's other regions in degrees: a box
    ``(ra_min, ra_max, dec_min, dec_max)`` or a polygon ``(ra1, dec1, ra2, dec2, ra3, dec3, ...)`` (or a list of
    regions, any of which an image may overlap). ``band`` is a pair of wavelength Quantities, ``time`` a pair of
    `~astropy.time.Time`; other SIA v2 constraints (``instrument``, ``collection``, ``facility``, ``calib_level``,
    ``exptime``, ``target_name``, ...) are passed to :meth:`pyvo.dal.SIA2Service.search`. Without ``service``
    the platform's archive is searched, with the user's token (proprietary images they own).

    Examples
    --------
    >>> from platform_lib.retrieval import image_search
    >>> found = image_search("M1", "0.2 deg")             # the images meeting 0.2 deg round the Crab  # doctest: +SKIP
    >>> found["obs_id", "obs_collection", "s_fov"]         # doctest: +SKIP
    >>> len(image_search())                                # every image of the archive  # doctest: +SKIP
    >>> image_search(collection="DSS")["obs_id"]           # doctest: +SKIP
    >>> image_search(pos=(83, 84.5, 21, 23))               # a box: RA from 83 to 84.5 deg, Dec from 21 to 23  # doctest: +SKIP
    """
    import pyvo

    settings, session = _context(settings, session)
    service = service or _archive(settings, "sia", "image search")
    pos = None
    if position is not None:
        if radius is None:
            where = repr(position) if isinstance(position, str) else "position"
            raise RetrievalInputError(f"image_search with a position needs a radius, the circle to search: "
                                      f"image_search({where}, 2 * u.arcmin) or image_search({where}, '2 arcmin') "
                                      "(the images holding the point itself: 1 * u.arcsec); with neither, every "
                                      "image", code="missing-radius", value=None)
        icrs = _icrs(position)
        # pyvo's SIA v2 client takes circles up to 90 deg (a bare "Invalid circle radius" otherwise)
        pos = (icrs.ra.deg, icrs.dec.deg,
               _radius(radius, 90, " (pyvo's SIA v2 limit; for more of the sky leave position out)"))
    maxrec = _maxrec(maxrec)
    kwargs = dict(constraints)
    if kwargs.get("pos") is not None:  # a box or polygon (or circles) as SIA v2 takes them
        if pos is not None:
            raise RetrievalInputError("give either position and radius (a circle) or pos= (a box or polygon), not "
                                      "both", code="bad-pos", value=str(kwargs["pos"]))
        pos = _region(kwargs.pop("pos"))
    kwargs.pop("pos", None)
    if band is not None:
        kwargs["band"] = _band(band)
    if time is not None:
        kwargs["time"] = _time_range(time)
    if maxrec is not None:
        kwargs["maxrec"] = maxrec
    with translate_errors(service, "image search", settings.archive_url):
        svc = pyvo.dal.SIA2Service(service, session=session)
        return plain_strings(svc.search(pos=pos, **kwargs).to_table())


def tap_query(query: str, *, service: str | None = None, async_: bool = False, maxrec: int | None = None,
              uploads=None, save_to: str | None = None, run_id: str | None = None, settings=None, session=None):
    """Run ADQL on a TAP service: a Table (sync), a :class:`TapJob` handle (``async_=True``), or a
    background job in the user's job list (``save_to``).

    Without ``service`` the platform's archive (``<archive_url>/tap``) is queried, with the user's
    token. A synchronous result cut at ``maxrec`` (or the service's limit) warns with
    :class:`TruncatedResultWarning`.

    With ``save_to`` (a file in the user's home: ``"home:results/x.parquet"`` or ``"results/x.parquet"``;
    Parquet), the query runs as an asynchronous TAP job followed by a :mod:`platform_lib.jobs` job
    (kind ``tap``) that outlives the kernel: it is listed by ``jobs.list_jobs()`` beside crossmatch jobs,
    keeps the UWS phases in ``job.history()``, and writes the result there atomically; the return
    value is that :class:`platform_lib.jobs.Job`. ``uploads`` are then table files in the home
    (``{"mine": "lists/targets.fits"}``). The job authenticates with the environment's platform token.

    An async job on the platform's archive is in ``jobs.list_jobs()`` even without ``save_to`` (as a
    read-only :class:`ArchiveTapJob`), as are the user's jobs made with TOPCAT, STILTS
    or pyvo itself; ``run_id`` sets the UWS job's ``RUNID`` (async only).

    Examples
    --------
    >>> from platform_lib.retrieval import tap_query
    >>> job = tap_query("SELECT TOP 5 * FROM ivoa.obscore", async_=True)              # doctest: +SKIP
    >>> job.wait(); table = job.fetch()                                                 # doctest: +SKIP
    >>> job = tap_query("SELECT * FROM I_311.hip2 WHERE parallax > 100", save_to="home:results/near.parquet")  # doctest: +SKIP
    >>> job.wait(timeout=3600); job.history()                                          # doctest: +SKIP
    """
    import pyvo

    query = _adql(query)
    settings, session = _context(settings, session)
    service = service or _archive(settings, "tap", "TAP")
    maxrec = _maxrec(maxrec)
    if save_to is not None:
        return _tap_job(query, service, maxrec, uploads, save_to, settings)
    with translate_errors(service, "TAP query", settings.archive_url):
        svc = pyvo.dal.TAPService(service, session=WholeBodies(session) if async_ else session)
        if async_:
            job = svc.submit_job(query, maxrec=maxrec, uploads=uploads, **({"runid": run_id} if run_id else {}))
            job.run()
            return TapJob(job, service, settings.archive_url)
        return result_table(lambda: svc.run_sync(query, maxrec=maxrec, uploads=uploads), "TAP query", maxrec,
                            _ALL_ROWS)


#: How to get every row when a sync TAP answer was cut (the end of its TruncatedResultWarning).
_ALL_ROWS = (
    "To get them all: pass a larger maxrec=, and if the rows stop at the same number that is the service's "
    "cap on a sync query: ask asynchronously, where services allow more (tap_query(adql, async_=True, "
    "maxrec=...), then job.wait() and job.fetch(); or save_to='home:results/x.parquet' for a long one). "
    "The platform's archive caps sync and async queries alike: there, take the sky in "
    "parts (cone_search(position, radius, catalog=...), or CONTAINS(POINT(ra, dec), CIRCLE(...)) = 1 "
    "in WHERE) or ranges of a column, and join the parts with astropy.table.vstack.")


def _tap_job(query: str, service: str, maxrec, uploads, save_to, settings):
    """``tap_query(..., save_to=...)``: submit a ``tap`` job writing to ``save_to`` in the home."""
    path = save_path(save_to)
    if uploads is not None and not (isinstance(uploads, dict) and all(isinstance(v, str) for v in uploads.values())):
        raise TypeError("with save_to, uploads are table files in the home: {'mine': 'lists/targets.fits'}")
    params = {"query": query, "service": service, "maxrec": maxrec, "uploads": uploads or {}}
    return jobs.submit("tap", params, output=path, settings=settings)


def find_services(keywords=None, *, servicetype: str | None = None, waveband: str | None = None,
                  registry_url: str | None = None, maxrec: int | None = None, settings=None, session=None):
    """Search an IVOA registry (RegTAP) for services.

    The query is pyvo's own RegTAP ADQL (:func:`pyvo.registry.regtap.get_RegTAP_query`), run on a
    :class:`pyvo.dal.TAPService` built with the platform session, so the registry call has the same
    timeout, retries and error translation as every other retrieval call (and no platform token
    unless the registry is one of the platform's hosts).

    Parameters
    ----------
    keywords : str or list of str, optional
        Free-text words matched in titles, descriptions and subjects (all must match).
    servicetype : str, optional
        pyvo's service type (``"sia2"``, ``"scs"``, ``"tap"``, ``"ssa"``, or a standard ivoid).
    waveband : str, optional
        A term of the IVOA messenger vocabulary (``"optical"``, ``"radio"``); pyvo needs to fetch
        that vocabulary once, so this fails offline with ``code="vocabulary-unavailable"``.
    registry_url : str, optional
        The RegTAP endpoint (default: pyvo's, ``IVOA_REGISTRY`` or ``http://reg.g-vo.org/tap``).
    maxrec : int, optional
        Limit on the rows the registry returns.

    Returns
    -------
    `~astropy.table.Table`
        Columns ``ivoid``, ``title``, ``access_url`` (of the ``servicetype`` interface when one was
        asked for, else the first standard one) and ``types`` (comma-separated access modes).

    Raises
    ------
    ValueError
        When no constraint is given.
    RetrievalError
        When the registry cannot be reached or refuses the query.

    Examples
    --------
    >>> find_services("gaia", servicetype="tap")  # doctest: +SKIP
    """
    from astropy.table import Table

    from platform_lib.retrieval.client import registry_search

    if not (keywords or servicetype or waveband):
        raise ValueError("find_services needs at least one of keywords, servicetype or waveband")
    settings, session = _context(settings, session)
    words = [keywords] if isinstance(keywords, str) else list(keywords or [])
    rows = registry_search(words, servicetype=servicetype, waveband=waveband, registry_url=registry_url,
                           maxrec=maxrec, session=session)
    return Table(rows=rows or None, names=("ivoid", "title", "access_url", "types"),
                 dtype=(str, str, str, str))
