"""astrohub's platform library: storage, VO retrieval, catalogues and crossmatch for notebooks.

This package owns what a user's kernel imports. Sub-packages own one area each (``storage``,
``catalogs``, ``imageindex``, ``retrieval``, ``crossmatch``); the ``local`` sub-package runs the
platform on one machine and ``cli`` is the ``astrohub`` command. Import cost is kept low: nothing
here imports a sub-package eagerly.
"""

from platform_lib.errors import PlatformError
from platform_lib.settings import PlatformSettings, get_settings
from platform_lib.votable import use_python_tabledata_writer

# astropy 8.0.2's C TABLEDATA writer writes past its buffer (platform_lib.votable): every process that uses
# the library writes VOTables with astropy's Python writer instead (an import hook; nothing imported here).
use_python_tabledata_writer()

__version__ = "0.1.0"

__all__ = ["PlatformError", "PlatformSettings", "get_settings", "usage", "__version__"]


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
