"""The user's package layer: the folder ``%pip install`` writes to, and the platform's pins it is held to.

The hub gives every user server ``ASTROHUB_PACKAGE_LAYER`` (``~/.astrohub/packages``), ``PIP_PREFIX``
(the same folder), ``PYTHONPATH`` (its ``site-packages``) and ``PIP_CONSTRAINT``
(``platform-constraints.txt`` in it); see ``astrohub_hub.environment.package_layer_environment``.
:func:`prepare_layer`, called when the server starts (before its first kernel), creates the layer's
``site-packages`` (so a kernel that started before the first install finds what is installed later,
without a restart) and writes the constraints file: every distribution of the platform's own
environment pinned to its installed version, so pip reuses them and refuses a request that would
replace one. The platform's own folders are never written.

May import the standard library and :mod:`astrohub_server.atomic`.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import site
import sys
from pathlib import Path
from typing import Iterable, Mapping

from astrohub_server.atomic import write_atomic

__all__ = ["CONSTRAINTS_HEADER", "constraints_text", "platform_site_dirs", "prepare_layer"]

CONSTRAINTS_HEADER = (
    "# The platform's own packages, pinned: pip installs into your layer (~/.astrohub/packages) only\n"
    "# what is not among them, and refuses a package that needs another version of one of them.\n"
    "# Written by astrohub_server.packages at every server start; edits are overwritten.\n"
)


def platform_site_dirs() -> list[str]:
    """The platform environment's own ``site-packages`` folders (not the user's layer)."""
    return [d for d in site.getsitepackages() if os.path.isdir(d)]


def constraints_text(dists: Iterable[importlib.metadata.Distribution]) -> str:
    """A pip constraints file pinning ``dists`` (``name==version``, normalised names, sorted, unique)."""
    pins: dict[str, str] = {}
    for dist in dists:
        name = dist.metadata["Name"] if dist.metadata else None
        if not name or not dist.version:
            continue
        pins.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
    return CONSTRAINTS_HEADER + "".join(f"{name}=={version}\n" for name, version in sorted(pins.items()))


def prepare_layer(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Create the user's package layer and write its constraints file; the layer, or ``None`` if unset.

    Never raises: a layer that cannot be prepared (a read-only home) is reported on stderr and the
    server starts without it.
    """
    layer = environ.get("ASTROHUB_PACKAGE_LAYER")
    if not layer:
        return None
    try:
        for entry in environ.get("PYTHONPATH", "").split(os.pathsep):
            if entry.startswith(layer):
                Path(entry).mkdir(parents=True, exist_ok=True)
        Path(layer).mkdir(parents=True, exist_ok=True)
        target = Path(environ.get("PIP_CONSTRAINT") or Path(layer) / "platform-constraints.txt")
        text = constraints_text(importlib.metadata.distributions(path=platform_site_dirs()))
        if not target.exists() or target.read_text() != text:
            write_atomic(target, text)
    except OSError as exc:
        print(f"astrohub_server: the package layer {layer} is not available ({exc})", file=sys.stderr)
        return None
    return Path(layer)
