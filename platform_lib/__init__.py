"""astrohub's platform library: storage, VO retrieval, catalogues and crossmatch for notebooks.

This package owns what a user's kernel imports. Sub-packages own one area each (``storage``,
``catalogs``, ``imageindex``, ``retrieval``, ``crossmatch``); the ``local`` sub-package runs the
platform on one machine and ``cli`` is the ``astrohub`` command. Import cost is kept low: nothing
here imports a sub-package eagerly.
"""

from platform_lib.errors import PlatformError
from platform_lib.settings import PlatformSettings, get_settings

__version__ = "0.1.0"

__all__ = ["PlatformError", "PlatformSettings", "get_settings", "__version__"]
