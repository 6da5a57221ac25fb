"""The local platform's errors: each names what was wrong and how to fix it.

Owns :class:`LocalPlatformError` and its subclasses; imports only :mod:`platform_lib.errors`.
"""

from __future__ import annotations

from typing import Any

from platform_lib.errors import PlatformError

__all__ = [
    "LocalPlatformError",
    "ConfigError",
    "ConfigSyntaxError",
    "PortInUseError",
    "DataDirError",
    "AlreadyRunningError",
    "NotRunningError",
    "StartupError",
    "RosterError",
    "HubRequestError",
]


class LocalPlatformError(PlatformError):
    """A failure of ``astrohub up`` / ``down`` / ``status``."""

    code = "local-platform"


class ConfigError(LocalPlatformError):
    """A configuration key or value is invalid.

    ``key`` is the dotted key (``hub.port``); ``suggestion`` the closest valid key, when the key is
    unknown. For an environment variable that no one reads (``PLATFORM_HUB_PORT``) both are
    variable names (``key="PLATFORM_HUB_PORT"``, ``suggestion="PLATFORM_HUB__PORT"``).
    """

    code = "config-invalid"

    def __init__(
        self, message: str, *, key: str, value: Any = None, suggestion: str | None = None, source: str = ""
    ) -> None:
        super().__init__(message, value=value)
        self.key = key
        self.suggestion = suggestion
        self.source = source


class ConfigSyntaxError(ConfigError):
    """The configuration file is not valid TOML: ``path``, the ``line`` and ``column`` (1-based) and ``reason``.

    ``up`` refuses it; ``down`` and ``status`` warn with it and act on the data directory (they need nothing else).
    """

    code = "config-syntax"

    def __init__(self, message: str, *, path: str, line: int | None, column: int | None, reason: str) -> None:
        super().__init__(message, key="config", value=path, source=path)
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason


class PortInUseError(LocalPlatformError):
    """A port the platform needs is already taken."""

    code = "port-in-use"

    def __init__(self, message: str, *, key: str, port: int) -> None:
        super().__init__(message, value=port)
        self.key = key
        self.port = port


class DataDirError(LocalPlatformError):
    """The data directory cannot be created or written."""

    code = "data-dir-unwritable"

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message, value=path)
        self.path = path


class AlreadyRunningError(LocalPlatformError):
    """Another ``astrohub up`` holds the data directory's lock."""

    code = "already-running"

    def __init__(self, message: str, *, path: str, pid: int | None) -> None:
        super().__init__(message, value=path)
        self.path = path
        self.pid = pid


class NotRunningError(LocalPlatformError):
    """``astrohub down`` / ``status`` found no running platform."""

    code = "not-running"


class StartupError(LocalPlatformError):
    """A component failed to start; everything already started was stopped."""

    code = "startup-failed"

    def __init__(self, message: str, *, component: str, log: str = "") -> None:
        super().__init__(message, value=component)
        self.component = component
        self.log = log


class RosterError(LocalPlatformError):
    """A roster file (``astrohub users add --csv``) with bad rows; nothing was changed.

    ``problems``: one line per bad row, each naming the row number and the value.
    """

    code = "bad-roster"

    def __init__(self, message: str, *, problems: list[str], value: Any = None) -> None:
        super().__init__(message + "\n  " + "\n  ".join(problems), value=value)
        self.problems = problems


class HubRequestError(LocalPlatformError):
    """The running hub refused an administrative request (its message is kept)."""

    code = "hub-request"
