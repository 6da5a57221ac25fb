"""Third-party libraries that reach for the internet, pointed at the platform's copies instead (it has none).

Two, each installed by :func:`use_offline_copies` as an import hook (nothing is imported ahead of need);
``import platform_lib`` calls it, and ``astrohub_server``'s kernel startup file does in every user kernel, so a
notebook that only imports pyvo or ipyaladin gets them too:

- **pyvo's IVOA vocabularies.** pyvo fetches a vocabulary from ``http://www.ivoa.net/rdf/`` the first time it
  needs one (then keeps it in astropy's download cache). DataLink's ``bysemantics`` (with its default
  ``include_narrower=True``) needs ``datalink/core``, and an SIA v2 record's ``getdataset()`` and
  ``cachedataset()``, pyvo's way to download an image, go through it whenever the answer names a DataLink
  service, as the platform archive's answers do: a user's first download failed with "VocabularyError: No such
  vocabulary: datalink/core (<urlopen error [Errno -2] Name or service not known>)". ``get_vocabulary`` now
  answers the vocabularies of :data:`VOCABULARIES` from the platform's copy (``_ivoa/``, the "desise" JSON that
  www.ivoa.net serves, as pyvo 1.9.1 ships it in its own tests), without a request; any other name goes to
  pyvo as before (the registry's ``messenger`` and ``uat`` still need the internet).
- **ipyaladin's widget.** ``from ipyaladin import Aladin; Aladin()``, as ipyaladin's documentation starts, imports
  Aladin Lite from ``https://esm.sh`` in the browser: on the platform the cell's output stayed empty, with no
  message (the error only in the browser's console). ``ipyaladin.Aladin`` is now :class:`platform_lib.viz.Aladin`,
  ipyaladin's widget with Aladin Lite and its survey served by the archive (same API), resolved when first named
  (``ipyaladin.widget.Aladin`` stays ipyaladin's own).

Standard library only; pyvo and ipyaladin are patched, never imported, here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from platform_lib.onimport import after_import

__all__ = ["VOCABULARIES", "use_offline_copies"]

_FOLDER = Path(__file__).with_name("_ivoa")
#: The vocabularies served from the platform's copy, by the name pyvo asks for: their files in ``_ivoa/``.
VOCABULARIES = {"datalink/core": _FOLDER / "datalink-core.json"}


def _vocabularies(module) -> None:
    original = module.get_vocabulary
    if getattr(original, "_astrohub_offline", False):
        return

    @functools.wraps(original)
    def get_vocabulary(voc_name, force_update=False):
        if voc_name in VOCABULARIES:
            return _load(voc_name)
        return original(voc_name, force_update=force_update)

    get_vocabulary._astrohub_offline = True
    module.get_vocabulary = get_vocabulary


@functools.lru_cache
def _load(voc_name: str) -> dict:
    return json.loads(VOCABULARIES[voc_name].read_text(encoding="utf-8"))


def _aladin(module) -> None:
    if "Aladin" not in vars(module) or getattr(module, "_astrohub_offline", False):
        return
    # named lazily (PEP 562): platform_lib.viz's widget is a subclass of ipyaladin.widget.Aladin, so it is
    # imported on first use, never while ipyaladin itself is being imported
    del module.Aladin
    fallback = vars(module).get("__getattr__")

    def __getattr__(name):
        if name == "Aladin":
            from platform_lib.viz._widget import Aladin

            module.Aladin = Aladin
            return Aladin
        if fallback is not None:
            return fallback(name)
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__
    module.__dir__ = lambda: sorted({*vars(module), "Aladin"})
    module._astrohub_offline = True


def use_offline_copies() -> None:
    """Point pyvo's vocabularies and ipyaladin's widget at the platform's copies, now or when each is imported.

    Idempotent; nothing is imported.
    """
    after_import("pyvo.utils.vocabularies", _vocabularies)
    after_import("ipyaladin", _aladin)
