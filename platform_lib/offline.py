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
  from OpenNGC, with the other names Stellarium gives its objects (``LMC``, ``SMC``, ``Nubecula Minor``: the
  column ``other_names``, from Debian's stellarium-data); stars by their IAU proper names (``Vega``,
  ``Barnard's Star``), Bayer designations (``alf Lyr``, ``alpha Lyrae``, ``α Lyr``), Flamsteed designations
  (``58 Ori``), HD numbers (``HD 209458``, of the stars to V ~ 8 that Debian's kstars-data numbers) and Bright
  Star numbers (``HR 7001``, Stellarium's cross-identifications) from the archive's ``StarNames.names``
  (:mod:`platform_lib.designations` folds the name to its key), and ``HIP 32349``, from Hipparcos (I/311). A star's
  position is Hipparcos' moved by its proper motion from the catalogue's epoch J1991.25 to J2000, as Sesame (Simbad)
  gives it (``SkyCoord.apply_space_motion``: Barnard's star moves 10"/yr). Before the catalogues, the famous objects
  they do not hold by name (:mod:`platform_lib.famous`: ``Sgr A*``, ``3C 273``, ``Cyg A``, ``Cas A``, ``Crab Pulsar``,
  ``SN 1987A``; ``Taurus A`` is looked up as ``M1``) are answered from the platform library itself: "Sgr A*" and
  "3C 273" went to Sesame and failed. Any other name goes to Sesame as before,
  and when that fails too its error's first line says that the platform has no internet (or that Sesame does not
  know the name), the names it may be a misspelling or the first words of (``Betelguese``: did you mean
  'Betelgeuse'?; ``Proxima``: 'Proxima Centauri'?, from the
  archive's proper names, designations and common names, read once, and :mod:`platform_lib.famous`'s:
  :func:`close_names`, :func:`did_you_mean`, which :func:`platform_lib.skyposition.sky_position` says too) and
  what the platform answers, in one line (:func:`unresolved_message`; Sesame's own message only when Sesame
  answered, not the network errors of each mirror); while the sample data's first load runs, its first line says
  that the catalogues are still loading.

Standard library and the platform library only at import; pyvo, ipyaladin and astropy are patched, never imported,
here (astropy is imported when a name is looked up).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path

from platform_lib.designations import CONSTELLATIONS, constellation, fold, name_keys
from platform_lib.famous import FAMOUS, famous_object
from platform_lib.firstload import still_loading
from platform_lib.onimport import after_import

__all__ = ["VOCABULARIES", "NAME_FORMS", "platform_adql", "star_keys", "star_adql", "platform_position", "designation",
           "close_names", "did_you_mean", "unresolved_message", "use_offline_copies"]

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
#: The columns a star's position at J2000 is made from (Hipparcos' positions are at its epoch, J1991.25).
_MOTION = ("ra", "dec", "pmra", "pmdec", "parallax")
#: A common name: letters (Greek too), digits, spaces and . ' ’ & # ( ) -, with a run of three letters (not a
#: position: "05h35m -05d23m"); OpenNGC's own names include '47 Tuc', 'η Car Nebula' and 'm & m Double Cluster'.
_COMMON_NAME = re.compile(r"(?=.*[^\W\d_]{3})[^\W_](?:[^\W_]|[ .'’&#()-]){2,60}")
#: How astropy's error begins when no Sesame mirror could be reached (no internet), not when Sesame knows no such name.
_NO_SESAME = "All Sesame queries failed"
#: The names the platform resolves offline, for messages about one it does not (here and
#: :func:`platform_lib.skyposition.sky_position`'s).
NAME_FORMS = ("Messier, NGC and IC numbers (M 31, NGC 224, IC 434) and common names from OpenNGC and Stellarium "
              "(Andromeda Galaxy, Crab Nebula, Pleiades, LMC); stars by their IAU names (Vega), Bayer or Flamsteed "
              "designations (alf Lyr, alpha Lyrae, 58 Ori), HD or HR numbers (HD 209458, HR 7001) or 'HIP <n>' from "
              "Hipparcos; famous radio sources, quasars and pulsars and names Simbad knows that the catalogues "
              "lack (Sgr A*, 3C 273, Cyg A, Crab Pulsar, Andromeda, Whirlpool, Virgo Cluster, TRAPPIST-1: "
              "platform_lib.famous.FAMOUS)")
_OFFLINE_HINT = (f"On the platform, SkyCoord.from_name answers {NAME_FORMS} (the archive's catalogues); "
                 "otherwise give the position, e.g. SkyCoord('00h42m44.3s +41d16m09s') or SkyCoord(10.6847, 41.2687, unit='deg').")


def platform_adql(name: str) -> str | None:
    """The ADQL query that looks ``name`` up in the platform's catalogues (``None``: not a name they hold).

    >>> platform_adql("M 31")
    "SELECT TOP 1 ra, dec FROM OpenNGC.objects WHERE messier = '031'"
    >>> platform_adql("hip 32349")
    'SELECT TOP 1 ra, dec, pmra, pmdec, parallax FROM I_311.hip2 WHERE HIP = 32349'
    """
    text = " ".join(str(name).split())
    for pattern, table, condition in _NAMED:
        match = pattern.fullmatch(text)
        if match:
            columns = ", ".join(_MOTION) if table == "I_311.hip2" else "ra, dec"
            return f"SELECT TOP 1 {columns} FROM {table} WHERE {condition(match)}"
    if _COMMON_NAME.fullmatch(text):
        words = text.lower().replace("'", "''")
        return ("SELECT ra, dec, messier, common_names, other_names FROM OpenNGC.objects "
                f"WHERE LOWER(common_names) LIKE '%{words}%' OR LOWER(other_names) LIKE '%{words}%'")
    return None


_GENITIVE = {abbr: genitive for abbr, _, genitive in CONSTELLATIONS}


def star_keys(name: str) -> list[str]:
    """The keys of the star-name table ``name`` may have, best first: :func:`platform_lib.designations.name_keys`',
    then, for a name that ends in a constellation written otherwise than the genitive a proper name takes
    (``Proxima Cen``, as Simbad and papers write it), the key of that name with the genitive (``Proxima Centauri``,
    the IAU's name).

    >>> star_keys("Proxima Cen"), star_keys("alf Cen"), star_keys("Vega")
    (['proximacen', 'proximacentauri'], ['alfcen'], ['vega'])
    """
    if len(str(name)) > 80:
        return []
    keys = name_keys(name)
    words = fold(name).split()
    for last in (2, 1):
        if len(words) > last and constellation(" ".join(words[-last:])):
            genitive = _GENITIVE[constellation(" ".join(words[-last:]))]
            for key in name_keys(" ".join(words[:-last] + [genitive])):
                if key not in keys:
                    keys.append(key)
            break
    return keys


def star_adql(name: str) -> str | None:
    """The ADQL query that looks ``name`` up among the names of Hipparcos stars (``None``: it cannot be one).

    The keys are :func:`platform_lib.designations.name_keys`' (letters and digits only); a designation two stars
    share (``alf Cen``: both components) answers the brighter, as Simbad does.

    >>> star_adql("alpha Lyrae")  # doctest: +NORMALIZE_WHITESPACE
    "SELECT n.name_key, h.ra, h.dec, h.pmra, h.pmdec, h.parallax FROM StarNames.names AS n
     JOIN I_311.hip2 AS h ON h.HIP = n.HIP WHERE n.name_key IN ('alflyr') ORDER BY h.Hpmag"
    """
    keys = star_keys(name)
    if not keys:
        return None
    wanted = ", ".join(f"'{key}'" for key in keys)
    return (f"SELECT n.name_key, {', '.join('h.' + c for c in _MOTION)} FROM StarNames.names AS n "
            f"JOIN I_311.hip2 AS h ON h.HIP = n.HIP WHERE n.name_key IN ({wanted}) ORDER BY h.Hpmag")


def _at_j2000(row):
    """A Hipparcos row's position moved from the catalogue's epoch to J2000 (ICRS), as Simbad gives it."""
    import warnings

    import astropy.units as u
    from astropy.coordinates import Distance, SkyCoord
    from astropy.time import Time
    from erfa import ErfaWarning

    from platform_lib.sampledata import HIPPARCOS_EPOCH

    ra, dec, pmra, pmdec, parallax = (float(row[c]) for c in _MOTION)
    # no distance for a null or negative parallax: ERFA then takes a star far away (and says so)
    distance = Distance(parallax=parallax * u.mas) if parallax > 0 else None
    star = SkyCoord(ra * u.deg, dec * u.deg, pm_ra_cosdec=pmra * u.mas / u.yr, pm_dec=pmdec * u.mas / u.yr,
                    distance=distance, obstime=Time(HIPPARCOS_EPOCH))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ERFA function \"pmsafe\" yielded .*distance overridden", ErfaWarning)
        moved = star.apply_space_motion(new_obstime=Time("J2000"))
    return SkyCoord(moved.ra, moved.dec, frame="icrs")


def _rank(row, wanted: str) -> tuple[bool, bool] | None:
    """How well an OpenNGC row answers the name ``wanted`` (lower case), lowest first; ``None``: not its name.

    OpenNGC's own names before Stellarium's (``other_names``), then Messier objects: "Southern Pinwheel Galaxy"
    is OpenNGC's M83, not the NGC 300 of Stellarium's list; "Eagle Nebula" is M16, not IC 4703 (OpenNGC names both).
    """
    import numpy as np

    def names(column):
        return {n.strip().lower() for n in str(row[column]).split(",")}

    own = wanted in names("common_names")
    if not own and wanted not in names("other_names"):
        return None
    messier = row["messier"]
    return (not own, bool(np.ma.is_masked(messier) or not str(messier).strip()))


def platform_position(name: str):
    """``name``'s ICRS position from the platform's own names (:mod:`platform_lib.famous`: ``Sgr A*``, ``3C 273``)
    or catalogues (an astropy ``SkyCoord``), or ``None``.

    A star's (a name of ``StarNames.names`` or ``HIP <n>``) is at epoch J2000, as Sesame gives it. A famous
    object that a catalogue holds by another name (``Taurus A``: ``M1``) is looked up by that name.
    """
    famous = famous_object(name)
    if famous is not None:
        if not famous.same_as:
            return famous.position()
        name = famous.same_as
    wanted = " ".join(str(name).split()).lower()
    for query in (platform_adql(name), star_adql(name)):
        if query is None:
            continue
        try:
            from astropy.coordinates import SkyCoord

            from platform_lib.retrieval import tap_query

            rows = tap_query(query)
        except Exception:  # no archive, or not these catalogues: the next query's, or Sesame's turn
            continue
        if "name_key" in rows.colnames:  # the best key that a star has
            keys = star_keys(name)
            rows = sorted(rows, key=lambda row: keys.index(str(row["name_key"])))
        elif "common_names" in rows.colnames:  # the objects called so, as Simbad chooses among them
            rows = sorted((row for row in rows if _rank(row, wanted) is not None), key=lambda row: _rank(row, wanted))
        for row in rows:
            if "pmra" in row.colnames:
                return _at_j2000(row)
            return SkyCoord(float(row["ra"]), float(row["dec"]), unit="deg", frame="icrs")
    return None


#: The ADQL whose answers are the names :func:`close_names` suggests: stars' proper names, and the deep-sky objects'
#: names with their designations (``NGC0224``, Messier ``031``), which a message gives beside them.
_NAME_LISTS = ("SELECT name FROM StarNames.names WHERE kind = 'proper'",
               "SELECT name, messier, common_names, other_names FROM OpenNGC.objects "
               "WHERE common_names IS NOT NULL OR other_names IS NOT NULL")
#: A catalogue designation as a person types it, mistypings included: the catalogue, then the number, whose
#: letters that look like digits (``O`` for 0, ``l`` and ``I`` for 1: ``NGC 22O``) are read as those digits.
_TYPED_DESIGNATION = re.compile(r"(M|Messier|NGC|IC)\s*(?=[OoIl]*\d)([\dOoIl]{1,5})", re.I)
_LOOKALIKE_DIGITS = str.maketrans("OoIl", "0011")


def designation(text: str) -> str | None:
    """``text`` as a Messier, NGC or IC designation written the usual way, its lookalike letters read as digits,
    or ``None`` when it is not one.

    >>> designation("NGC0224"), designation("ngc 22O"), designation("Messier 031"), designation("Andromeda")
    ('NGC 224', 'NGC 220', 'M 31', None)
    """
    match = _TYPED_DESIGNATION.fullmatch(" ".join(str(text).split()))
    if not match:
        return None
    catalogue = "M" if match[1].lower() in ("m", "messier") else match[1].upper()
    return f"{catalogue} {int(match[2].translate(_LOOKALIKE_DIGITS))}"


def _key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


@functools.lru_cache(maxsize=1)
def _offline_names() -> dict[str, tuple[str, str]]:
    """The names :func:`close_names` suggests, by their case-folded form: each as written, with the designation of
    the object it names (``'Andromeda Galaxy'``: ``'M 31'``) or ``''``; :mod:`platform_lib.famous`'s, and those read
    from the archive once a process.

    A catalogue the archive lacks gives no names; an archive that answers neither query raises (nothing is kept:
    the next unresolved name asks again).
    """
    import numpy as np

    from platform_lib.retrieval import tap_query

    answers, trouble = [], None
    for query in _NAME_LISTS:
        try:
            answers.append(tap_query(query))
        except Exception as exc:  # not this catalogue (or no archive: then neither)
            trouble = exc
    if not answers:
        raise trouble
    names = _famous_names()
    for answer in answers:
        text = {c: [str(v).strip() for v in np.ma.filled(answer[c].astype(str), "")] for c in answer.colnames}
        if "messier" not in text:  # the stars' proper names
            names.update({_key(n): (n, "") for n in text["name"] if n and _key(n) not in names})
            continue
        for own, messier, *called in zip(*(text[c] for c in ("name", "messier", "common_names", "other_names"))):
            shown = f"M {int(messier)}" if messier.isdigit() else designation(own)
            for one in ",".join(called).split(","):
                if one.strip():
                    names.setdefault(_key(one), (one.strip(), shown or ""))
    return names


def _famous_names() -> dict[str, tuple[str, str]]:
    """:mod:`platform_lib.famous`'s names, with the catalogue name of what each is (``'Andromeda'``: ``'M 31'``)."""
    return {_key(name): (name, designation(famous.same_as) or famous.same_as)
            for famous in FAMOUS for name in famous.names}


def _close(name: str, index, known) -> list[tuple[str, str]]:
    """:func:`close_names`' answer for ``name``: (name, designation) pairs from ``index``; a designation with
    lookalike letters is the one designation it reads as (not its neighbours' numbers: NGC 221, NGC 229), when
    ``known(that designation)`` says it exists."""
    wanted = designation(name)
    if wanted is not None:
        return [(wanted, "")] if _key(wanted) != _key(name) and known(wanted) else []
    typed = _key(name)
    keys = difflib.get_close_matches(typed, index, n=3, cutoff=0.8)
    keys += [key for key in _beginning_with(typed, index) if key not in keys]
    return [index[key] for key in keys[:3]]


def _beginning_with(typed: str, index) -> list[str]:
    """The keys of ``index`` whose first words are all of ``typed``'s (``proxima`` -> ``proxima centauri``, which
    difflib finds too unlike it), shortest first; none for fewer than 4 letters typed (``m`` begins too many).
    One pass of ``str.startswith`` over the index, cheaper than difflib's pass before it."""
    if len(typed) < 4:
        return []
    start = typed + " "
    return sorted((key for key in index if key.startswith(start)), key=lambda key: (len(key), key))


def close_names(name: str, known=None) -> list[str]:
    """The names the platform resolves offline that ``name`` may be a misspelling or the first words of (difflib,
    case-insensitive, then the names beginning with its words: ``Proxima``, ``Proxima Centauri``; at most 3); a
    Messier, NGC or IC number with letters for digits, ``NGC 22O``, is read as that number and looked up).

    ``known``: the names to choose from; by default the stars' proper names and the deep-sky objects' common names
    in the archive's catalogues (read once a process), and :mod:`platform_lib.famous`'s.

    >>> close_names("Betelguese", ["Betelgeuse", "Bellatrix", "Rigel"])
    ['Betelgeuse']
    >>> close_names("NGC 22O", ["NGC 220", "NGC 221", "NGC 229"])
    ['NGC 220']
    >>> close_names("proxima", ["Proxima Centauri", "Procyon"])
    ['Proxima Centauri']
    """
    if known is None:
        index, exists = _offline_names(), lambda wanted: platform_position(wanted) is not None
    else:
        index = {_key(n): (n, "") for n in known}
        exists = lambda wanted: _key(wanted) in index  # noqa: E731
    return [found for found, _ in _close(name, index, exists)]


def did_you_mean(name: str) -> str:
    """What ``name`` may be a misspelling of, as a message says it: ``" (did you mean 'Andromeda' (M 31)?)"``, or
    ``""``. From the archive's catalogues and :mod:`platform_lib.famous` (only the latter when the archive cannot
    answer); asked only once a name is not found, so a name that resolves costs nothing more.

    >>> did_you_mean("Andromedia")  # doctest: +SKIP
    " (did you mean 'Andromeda' (M 31)?)"
    """
    try:
        index = _offline_names() if designation(name) is None else {}
    except Exception:  # no archive, or not its catalogues: the names the library holds itself
        index = _famous_names()
    close = _close(name, index, lambda wanted: platform_position(wanted) is not None)
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(n) + (f' ({also})' if also else '') for n, also in close)}?)"


def unresolved_message(name: str, detail: str, close: str = "") -> str:
    """What ``SkyCoord.from_name(name)`` says when neither the platform nor Sesame answered: first (one line) why
    (the platform could not reach the internet resolver, or Sesame does not know the name), the names it may be a
    misspelling of (``close``: :func:`did_you_mean`'s words) and what the platform answers offline; then, when
    Sesame answered, its message (``detail``). The network errors of each Sesame mirror tried are left out: on a
    platform without internet they are noise.

    >>> print(unresolved_message("Betelguese", "All Sesame queries failed. ...", " (did you mean 'Betelgeuse'?)"))
    ... # doctest: +ELLIPSIS
    'Betelguese' is not a name the platform resolves offline (did you mean 'Betelgeuse'?), and the internet resolver ...
    """
    loading = still_loading(configured=True)  # its catalogues not there yet: say so first
    first = f"{name!r} is not a name the platform resolves offline" + (f" yet: {loading}" if loading else "") + close
    if detail.startswith(_NO_SESAME):
        return f"{first}, and the internet resolver (CDS's Sesame) could not be reached. {_OFFLINE_HINT}"
    return f"{first}, and CDS's Sesame does not know it either. {_OFFLINE_HINT}\nSesame: {detail}"


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
            raise module.NameResolveError(unresolved_message(name, str(exc), did_you_mean(name))) from None

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
