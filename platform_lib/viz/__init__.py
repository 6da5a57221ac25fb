"""See the sky: one call to show anything the platform returns, in Aladin Lite (served by the platform,
no internet) or as a static matplotlib figure, and the HiPS builders behind level-of-detail views.

Public API:

``Aladin(**options)``
    ipyaladin's widget loading Aladin Lite and its default survey (the archive's ``hips/sky`` star
    density) from the platform; ``.show(obj)``, ``.add_catalog_hips(url)``, ``.selection()``; a ``survey`` or
    ``overlay_survey`` the archive does not serve is a :class:`VizError` naming the ones it does.
``show(obj, **options) -> Aladin``
    a new widget showing ``obj``: a registry catalogue name (its HiPS catalogue, more sources as you
    zoom), a table of positions (large ones as a HiPS catalogue of their own; ``color=``/``size=`` a column), an SIA result (``s_region``
    footprints), a MOC, a sky map (50 % and 90 % regions), crossmatch pairs, a finished job, or a
    moving-object search (``moving.find_images``: the track, its space-time boxes, the matched
    footprints and the hits).
``plot(obj, projection="mollweide" | "aitoff", center=None, radius=None) -> Figure``
    the same as a static figure; ``plot_table``, ``plot_footprints``, ``plot_moc``, ``plot_skymap``,
    ``plot_crossmatch``, ``plot_healpix`` for each kind; ``credible_region(skymap, 0.9)`` is a sky map's
    90 % region as a MOC. ``place_labels(ax, x, y, names)`` writes names beside points of any matplotlib axes where
    they overlap no other text (what ``plot_table(label=...)`` and ``moving``'s search figures use).
``build_catalog_hips(source, dest, client=None)``, ``build_density_hips(source, dest)``, ``write_image_hips(images, dest)``
    HiPS catalogues (brightest first per tile and order), density maps and image HiPS; a HATS
    catalogue is computed per partition on the user's Dask cluster (the client given or current);
    ``validate_hips(path)`` checks one (``HipsTiles``: the same checks tile by tile, as a tar is read);
    ``HIPS_BUILDING``: the ``properties`` key of the first part of a HiPS
    sent in two (the first order still to come), which the archive reads.
``job_hips(job)``, ``table_hips(table, title=...)``, ``upload_hips(path)``, ``my_hips()``, ``delete_hips(name)``
    the user's own HiPS on the archive (a job output's: ``viz.show(job)`` uses it; a table's: ``viz.show(table)``
    of more than 5,000 rows uses it), at an unguessable
    ``hips/~/<name>/`` URL listed only to its owner; ``my_hips()`` is a :class:`MyHips` list whose ``used``
    and ``budget`` say the bytes they take on the archive and the most they may.
``share_hips(name, group=... | workspace=...)``, ``unshare_hips(name, group=... | workspace=...)``
    share one with a hub group (or a shared workspace) of the owner's: its members list it
    (``my_hips().shared``) and read it with their own token; unsharing gives it a new key.

Errors are :class:`VizError` (bad input to show/plot) and :class:`HipsError`; a builder given a set
``cancel`` event raises :class:`HipsCancelled`. Importing this package
imports neither matplotlib nor ipyaladin; they load on first use.

Examples
--------
>>> from platform_lib import viz                                             # doctest: +SKIP
>>> from platform_lib.catalogs import cone_search                             # doctest: +SKIP
>>> table = cone_search("I/311", "Pleiades", "2 deg")                         # doctest: +SKIP
>>> viz.plot(table, projection="aitoff").savefig("sky.png")                   # doctest: +SKIP
>>> viz.show("I/311/hip2")                                                    # doctest: +SKIP
"""

from __future__ import annotations

from platform_lib.viz._build import build_catalog_hips, build_density_hips, pick_magnitude
from platform_lib.viz._errors import HipsCancelled, HipsError, VizError
from platform_lib.viz._hips import (
    CatalogHipsSpec,
    HipsReport,
    HipsTiles,
    density_map,
    hips_name,
    validate_hips,
    write_catalog_hips,
    write_density_hips,
    write_image_hips,
)
from platform_lib.viz._hips import BUILDING as HIPS_BUILDING
from platform_lib.viz._hips import read_properties as read_hips_properties
from platform_lib.viz._inputs import find_coordinates, parse_s_region
from platform_lib.viz._labels import place_labels
from platform_lib.viz._publish import (MyHips, delete_hips, job_hips, my_hips, share_hips, table_hips, unshare_hips,
                                      upload_hips)

__all__ = [
    "Aladin",
    "CatalogHipsSpec",
    "HIPS_BUILDING",
    "HipsCancelled",
    "HipsError",
    "HipsReport",
    "HipsTiles",
    "MyHips",
    "VizError",
    "build_catalog_hips",
    "build_density_hips",
    "credible_region",
    "delete_hips",
    "density_map",
    "find_coordinates",
    "hips_name",
    "job_hips",
    "my_hips",
    "parse_s_region",
    "pick_magnitude",
    "place_labels",
    "plot",
    "plot_crossmatch",
    "plot_footprints",
    "plot_healpix",
    "plot_moc",
    "plot_skymap",
    "plot_table",
    "read_hips_properties",
    "share_hips",
    "show",
    "table_hips",
    "unshare_hips",
    "upload_hips",
    "validate_hips",
    "write_catalog_hips",
    "write_density_hips",
    "write_image_hips",
]

_STATIC = {"credible_region", "plot", "plot_crossmatch", "plot_footprints", "plot_healpix", "plot_moc", "plot_skymap",
           "plot_table"}


def __getattr__(name: str):
    if name in _STATIC:
        from platform_lib.viz import _static

        return getattr(_static, name)
    if name == "Aladin":
        from platform_lib.viz._widget import Aladin

        return Aladin
    raise AttributeError(f"module 'platform_lib.viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the names loaded on first use (plot, plot_table, credible_region, Aladin...) too: tab completion after
    # ``viz.`` lists what dir() does, and offered none of them
    return sorted(set(globals()) | set(__all__))


def show(obj, **options):
    """A new :class:`Aladin` widget showing ``obj`` (see the module docstring for what it accepts).

    Widget options (``target``, ``fov``, ``height``, ``projection``...) are passed to the widget, the others to
    what is shown (a table's ``color``, ``size``...); an option neither takes is a :class:`VizError` naming the
    ones there are. Bad input appears as a message in the widget rather than a blank view.

    Examples
    --------
    >>> from platform_lib import viz
    >>> from platform_lib.catalogs import cone_search
    >>> from platform_lib.retrieval import image_search
    >>> viz.show("I/311", target="Pleiades", fov=5)          # Hipparcos: more stars as you zoom  # doctest: +SKIP
    >>> viz.show(image_search("M1", "0.2 deg"))              # the images' footprints  # doctest: +SKIP
    >>> stars = cone_search("I/311", "Pleiades", "2 deg")    # doctest: +SKIP
    >>> viz.show(stars, color="B_V", fov=3)                  # its rows, coloured by a column  # doctest: +SKIP
    """
    from platform_lib.viz._widget import VIEW_OPTIONS, Aladin

    widget = Aladin(**{k: options.pop(k) for k in list(options) if k in VIEW_OPTIONS})
    return widget.show(obj, **options)
