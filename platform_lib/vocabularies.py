"""pyvo's IVOA vocabularies offline: the platform ships the one pyvo needs to read an archive's DataLink.

pyvo fetches an IVOA vocabulary from ``http://www.ivoa.net/rdf/`` the first time it needs one (then keeps it in
astropy's download cache). DataLink's ``bysemantics`` (with its default ``include_narrower=True``) needs
``datalink/core``, and an SIA v2 record's ``getdataset()`` and ``cachedataset()``, pyvo's way to download an image,
go through it whenever the answer names a DataLink service, as the platform archive's answers do. The platform has
no internet, so a user's first download failed with "VocabularyError: No such vocabulary: datalink/core
(<urlopen error [Errno -2] Name or service not known>)".

:func:`use_offline_vocabularies` makes ``pyvo.utils.vocabularies.get_vocabulary`` answer the vocabularies of
:data:`OFFLINE` from the platform's copy (``_ivoa/``, the "desise" JSON that www.ivoa.net serves, as pyvo 1.9.1
ships it in its own tests), without a request; any other name goes to pyvo as before. ``import platform_lib``
calls it, and ``astrohub_server``'s kernel startup file does in every user kernel (so plain ``import pyvo`` works
too). Standard library only; pyvo is patched, never imported, here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from platform_lib.onimport import after_import

__all__ = ["OFFLINE", "use_offline_vocabularies"]

_FOLDER = Path(__file__).with_name("_ivoa")
#: The vocabularies served from the platform's copy, by the name pyvo asks for: their files in ``_ivoa/``.
OFFLINE = {"datalink/core": _FOLDER / "datalink-core.json"}
_MODULE = "pyvo.utils.vocabularies"


def _fix(module) -> None:
    original = module.get_vocabulary
    if getattr(original, "_astrohub_offline", False):
        return

    @functools.wraps(original)
    def get_vocabulary(voc_name, force_update=False):
        if voc_name in OFFLINE:
            return _load(voc_name)
        return original(voc_name, force_update=force_update)

    get_vocabulary._astrohub_offline = True
    module.get_vocabulary = get_vocabulary


@functools.lru_cache
def _load(voc_name: str) -> dict:
    return json.loads(OFFLINE[voc_name].read_text(encoding="utf-8"))


def use_offline_vocabularies() -> None:
    """Make pyvo read the vocabularies of :data:`OFFLINE` from the platform's copy, now or when it is imported.

    Idempotent; nothing is imported.
    """
    after_import(_MODULE, _fix)
