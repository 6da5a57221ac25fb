"""Third-party libraries that reach for the internet, pointed at the platform's copies instead (it has none).

Three, each installed by :func:`use_offline_copies` as an import hook (nothing is imported ahead of need);
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
- **astropy's name resolver.** ``SkyCoord.from_name("M31")`` asks CDS's Sesame on the internet: on the platform it
  failed ("All Sesame queries failed ... Name or service not known"). Names the platform's sample catalogues hold
  are now answered by the archive's TAP service first (:func:`platform_position`): Messier numbers
  (``M31``, ``Messier 31``), NGC and IC numbers (``NGC 224``, ``IC434``) and common names (``Andromeda Galaxy``)
  from OpenNGC, ``HIP 32349`` from Hipparcos (I/311); any other name goes to Sesame as before, and when that fails
  too its error says what the platform answers.

Standard library only; pyvo, ipyaladin and astropy are patched, never imported, here.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from platform_lib.onimport import after_import

__all__ = ["VOCABULARIES", "platform_adql", "platform_position", "use_offline_copies"]

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
            from platform_lib.viz import Aladin

            module.Aladin = Aladin
            return Aladin
        if fallback is not None:
            return fallback(name)
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__
    module.__dir__ = lambda: sorted({*vars(module), "Aladin"})
    module._astrohub_offline = True


#: What :func:`platform_position` reads, by the form of the name: the table and the ADQL condition.
_NAMED = [
    (re.compile(r"(?:M|Messier)\s*0*(\d{1,3})", re.I), "OpenNGC.objects", lambda m: f"messier = '{int(m[1]):03d}'"),
    (re.compile(r"(NGC|IC)\s*0*(\d{1,4})\s*([A-Z]?)", re.I), "OpenNGC.objects",
     lambda m: f"name = '{m[1].upper()}{int(m[2]):04d}{m[3].upper()}'"),
    (re.compile(r"HIP\s*(\d{1,6})", re.I), "I_311.hip2", lambda m: f"HIP = {int(m[1])}"),
]
_COMMON_NAME = re.compile(r"[A-Za-z][A-Za-z0-9 .'-]{2,60}")
_OFFLINE_HINT = ("On the platform, SkyCoord.from_name answers Messier, NGC and IC numbers and common names from "
                 "OpenNGC and 'HIP <n>' from Hipparcos (the archive's catalogues); otherwise give the position, "
                 "e.g. SkyCoord('00h42m44.3s +41d16m09s') or SkyCoord(10.6847, 41.2687, unit='deg').")


def platform_adql(name: str) -> str | None:
    """The ADQL query that looks ``name`` up in the platform's catalogues (``None``: not a name they hold).

    >>> platform_adql("M 31")
    "SELECT TOP 1 ra, dec FROM OpenNGC.objects WHERE messier = '031'"
    >>> platform_adql("hip 32349")
    'SELECT TOP 1 ra, dec FROM I_311.hip2 WHERE HIP = 32349'
    """
    text = " ".join(str(name).split())
    for pattern, table, condition in _NAMED:
        match = pattern.fullmatch(text)
        if match:
            return f"SELECT TOP 1 ra, dec FROM {table} WHERE {condition(match)}"
    if _COMMON_NAME.fullmatch(text):
        words = text.lower().replace("'", "''")
        return ("SELECT ra, dec, common_names FROM OpenNGC.objects "
                f"WHERE LOWER(common_names) LIKE '%{words}%'")
    return None


def platform_position(name: str):
    """``name``'s ICRS position from the platform's catalogues (an astropy ``SkyCoord``), or ``None``."""
    query = platform_adql(name)
    if query is None:
        return None
    try:
        from astropy.coordinates import SkyCoord

        from platform_lib.retrieval import tap_query

        rows = tap_query(query)
    except Exception:  # no archive, or not these catalogues: Sesame's turn
        return None
    wanted = " ".join(str(name).split()).lower()
    for row in rows:
        names = str(row["common_names"]).split(",") if "common_names" in rows.colnames else [wanted]
        if wanted not in (n.strip().lower() for n in names):
            continue
        return SkyCoord(float(row["ra"]), float(row["dec"]), unit="deg", frame="icrs")
    return None


def _names(module) -> None:
    original = module.get_icrs_coordinates
    if getattr(original, "_astrohub_offline", False):
        return

    @functools.wraps(original)
    def get_icrs_coordinates(name, parse=False, cache=False):
        found = platform_position(name)
        if found is not None:
            return found
        try:
            return original(name, parse, cache=cache)
        except module.NameResolveError as exc:
            raise module.NameResolveError(f"{exc}\n{_OFFLINE_HINT}") from None

    get_icrs_coordinates._astrohub_offline = True
    module.get_icrs_coordinates = get_icrs_coordinates


def use_offline_copies() -> None:
    """Point pyvo's vocabularies, ipyaladin's widget and astropy's name resolver at the platform, now or when each
    is imported.

    Idempotent; nothing is imported.
    """
    after_import("pyvo.utils.vocabularies", _vocabularies)
    after_import("ipyaladin", _aladin)
    after_import("astropy.coordinates.name_resolve", _names)
