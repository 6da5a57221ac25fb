"""astrohub's platform library: storage, VO retrieval, catalogues, crossmatch, sky maps, moving objects and the
sky viewer, for notebooks.

Its sub-packages, each imported on first use (``platform_lib.storage.Storage()`` after ``import platform_lib``,
or ``from platform_lib.storage import Storage``), so ``import platform_lib`` stays cheap:

``storage``     your home, group, datasets, scratch and object-storage spaces; quotas; tables and images by format
``catalogs``    the platform's catalogue dictionary, ingest to HATS, cone/box/polygon search
``retrieval``   one VO client (cone search, SIA v2, TAP, registry) for our archive and external services
``crossmatch``  your table against a platform catalogue, in memory or on Dask, with match probabilities
``skymap``      catalogues against LIGO/Virgo/KAGRA sky maps
``moving``      ephemerides offline; which images contain a planet, asteroid or comet, and which bodies an image
``jobs``        background jobs that outlive the notebook
``viz``         any result in Aladin Lite (offline) or as a static figure; HiPS
``imageindex``  your own FITS images: ``index_folder("~/myimages")``, then search them by position, cone, time
``resources``   what you use (also ``platform_lib.usage()``); ``sampledata``: the sample data; ``gateway``: your
                Dask cluster (``gateway.cluster()``, the same one when run again) and sharing it

``get_settings()`` says where your spaces are. The tutorials are in ``tutorials/`` in your home, and the
guides in Lab's Help menu ("astrohub Guides", also ``tutorials/guides/``); ``help(platform_lib.crossmatch)``
and so on give the details. The ``local`` sub-package runs the platform on one machine and ``cli`` is the
``astrohub`` command.
"""

from platform_lib.errors import PlatformError
from platform_lib.gateway import use_gateway_client_fixes
from platform_lib.offline import use_offline_copies
from platform_lib.settings import PlatformSettings, get_settings
from platform_lib.votable import use_python_tabledata_writer

# astropy 8.0.2's C TABLEDATA writer writes past its buffer (platform_lib.votable): every process that uses
# the library writes VOTables with astropy's Python writer instead; pyvo's DataLink vocabulary and ipyaladin's
# widget come from the platform, not the internet (platform_lib.offline); a member's shutdown() of a Dask cluster
# shared with them is refused aloud, not logged, and a closed dask-gateway Gateway is collected without a traceback
# (platform_lib.gateway). Import hooks: nothing imported here.
use_python_tabledata_writer()
use_offline_copies()
use_gateway_client_fixes()

__version__ = "0.1.0"

__all__ = ["PlatformError", "PlatformSettings", "get_settings", "usage", "__version__"]

#: The sub-packages a notebook uses, imported when first named as ``platform_lib.<name>`` and listed by ``dir()``
#: (so tab completion offers them).
SUBPACKAGES = ("catalogs", "crossmatch", "gateway", "imageindex", "jobs", "moving", "resources", "retrieval",
               "sampledata", "skymap", "storage", "viz")


def __getattr__(name: str):
    if name in SUBPACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBPACKAGES))


def usage(settings: PlatformSettings | None = None, *, dask: bool = True):
    """Storage used against each quota, and Dask resources in use, of the current user.

    See :func:`platform_lib.resources.usage` (imported on first call, so ``import platform_lib`` stays cheap).

    Examples
    --------
    >>> import platform_lib
    >>> print(platform_lib.usage())          # doctest: +SKIP
    """
    from platform_lib.resources import usage as _usage

    return _usage(settings, dask=dask)
