"""The local platform: ``astrohub up`` runs the whole platform on one machine as real processes.

Sub-modules: ``config`` (the strict settings model and its loaders), ``layout`` (the data
directory), ``state`` (secrets, lock, pid, status), ``ports`` (pre-start port checks), ``plan`` (pure
builders of the hub settings, generated config files and process specs), ``supervisor`` (start,
watch, stop), ``owner`` (the process whose exit stops it, ``up --owner``) and ``control``
(``up``/``down``/``status`` as functions). Importing this package starts nothing.
"""

from platform_lib.local.config import LocalConfig, load_config
from platform_lib.local.errors import (
    AlreadyRunningError,
    ConfigError,
    ConfigSyntaxError,
    DataDirError,
    LocalPlatformError,
    NotRunningError,
    PortInUseError,
    StartupError,
)
from platform_lib.local.layout import DataLayout

__all__ = [
    "LocalConfig",
    "load_config",
    "DataLayout",
    "LocalPlatformError",
    "ConfigError",
    "ConfigSyntaxError",
    "PortInUseError",
    "DataDirError",
    "AlreadyRunningError",
    "NotRunningError",
    "StartupError",
]
