"""Third-party libraries that reach for the internet, pointed at the platform's copies (``platform_lib.offline``).

pyvo fetches IVOA vocabularies from www.ivoa.net; DataLink's ``bysemantics`` needs ``datalink/core``, so an SIA
record's ``getdataset()`` (pyvo's way to download an image) failed on the platform, which has no internet:
"VocabularyError: No such vocabulary: datalink/core (<urlopen error ...>)". ipyaladin's widget imports Aladin Lite
from esm.sh, so ``from ipyaladin import Aladin; Aladin()`` left an empty output. Each check runs in a fresh
interpreter, the vocabulary ones with astropy's downloads refused and an empty download cache (no copy left by an
earlier run), as on the platform.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

#: What a notebook's pyvo does for ``bysemantics("#this")`` (include_narrower=True, its default), offline.
LOOK_UP = textwrap.dedent(
    """
    from astropy.utils.data import conf
    conf.allow_internet = False
    from pyvo.utils import vocabularies
    voc = vocabularies.get_vocabulary("datalink/core")
    print(sorted(voc["terms"]["calibration"]["narrower"]), voc["terms"]["this"]["narrower"])
    """
)


def _run(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)


def test_offline_pyvo_cannot_load_the_datalink_vocabulary_without_the_fix(tmp_path):
    """The yardstick: plain pyvo, offline, fails as a user's download did."""
    done = _run(LOOK_UP, tmp_path)
    assert done.returncode != 0 and "No such vocabulary: datalink/core" in done.stderr, done.stderr[-2000:]


def _after_kernel_startup(code: str) -> str:
    """``code`` run after every kernel's startup file, as in a notebook that never imports platform_lib."""
    from astrohub_server import kernelstartup

    startup = kernelstartup.__file__.replace("kernelstartup.py", "_kernel_pythonstartup.py")
    return textwrap.dedent(
        f"""
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        ns = {{"get_ipython": lambda: shell}}
        exec(compile(open({startup!r}).read(), {startup!r}, "exec"), ns)
        """
    ) + code


@pytest.mark.parametrize("first", ["import platform_lib", "import pyvo.utils.vocabularies; import platform_lib"])
def test_importing_platform_lib_before_or_after_pyvo_serves_the_vocabulary_offline(first, tmp_path):
    done = _run(first + "\n" + LOOK_UP, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['bias', 'dark', 'flat'] []"


def test_the_kernel_startup_file_serves_the_vocabulary_offline_to_plain_pyvo(tmp_path):
    """A notebook that only imports pyvo (never platform_lib) gets it too: every kernel's startup file."""
    code = _after_kernel_startup(LOOK_UP)
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("['bias', 'dark', 'flat'] []")


def test_other_vocabularies_are_still_asked_of_pyvo(tmp_path):
    """Only the shipped ones are answered from the copy: another name goes to pyvo (here offline: its error)."""
    code = "import platform_lib\n" + LOOK_UP.replace('"datalink/core"', '"messenger"')
    done = _run(code, tmp_path)
    assert done.returncode != 0 and "No such vocabulary: messenger" in done.stderr, done.stderr[-2000:]


#: What a notebook does with ipyaladin as its documentation shows: the widget's JavaScript must import Aladin Lite
#: from the platform's archive, not esm.sh, and its survey be the archive's.
PLAIN_IPYALADIN = textwrap.dedent(
    """
    import ipyaladin
    from ipyaladin import Aladin
    w = Aladin(fov=2)
    assert "esm.sh" not in w._esm, "Aladin Lite from the CDN"
    from platform_lib import viz
    assert Aladin is viz.Aladin and "Aladin" in dir(ipyaladin)
    assert ipyaladin.widget.Aladin is not Aladin and issubclass(Aladin, ipyaladin.widget.Aladin)
    print(w._aladin_lite_url, w.survey)
    """
)


@pytest.mark.parametrize("first", ["import platform_lib", "import ipyaladin; import platform_lib"])
def test_plain_ipyaladin_loads_aladin_lite_from_the_platform_after_import_platform_lib(first, tmp_path):
    done = _run(first + "\n" + PLAIN_IPYALADIN, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["/services/archive/aladin-lite/aladin.js", "/services/archive/hips/sky"]


def test_the_kernel_startup_file_gives_plain_ipyaladin_the_platforms_widget(tmp_path):
    """A notebook that only imports ipyaladin (the empty output users met)."""
    code = _after_kernel_startup(PLAIN_IPYALADIN)
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "/services/archive/hips/sky"


def test_platform_lib_viz_imported_first_still_makes_its_widget(tmp_path):
    """viz's widget subclasses ipyaladin's, which it imports: that import must not hand it a half-made class."""
    code = "from platform_lib.viz._widget import Aladin\nimport ipyaladin\n" + PLAIN_IPYALADIN
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]


def test_names_the_platforms_catalogues_hold_become_their_adql():
    from platform_lib.offline import platform_adql

    assert platform_adql("M 45") == platform_adql("messier45") == (
        "SELECT TOP 1 ra, dec FROM OpenNGC.objects WHERE messier = '045'")
    assert platform_adql(" NGC  224 ") == "SELECT TOP 1 ra, dec FROM OpenNGC.objects WHERE name = 'NGC0224'"
    assert platform_adql("ic434") == "SELECT TOP 1 ra, dec FROM OpenNGC.objects WHERE name = 'IC0434'"
    assert platform_adql("HIP 32349") == ("SELECT TOP 1 ra, dec, pmra, pmdec, parallax FROM I_311.hip2 "
                                          "WHERE HIP = 32349")  # moved to J2000 (tests/unit/test_star_names.py)
    assert platform_adql("Andromeda Galaxy").endswith("WHERE LOWER(common_names) LIKE '%andromeda galaxy%' "
                                                      "OR LOWER(other_names) LIKE '%andromeda galaxy%'")
    assert platform_adql("LMC").endswith("OR LOWER(other_names) LIKE '%lmc%'")  # offline16: Stellarium's names
    assert platform_adql("Barnard's Star").endswith("LIKE '%barnard''s star%'")  # a quote stays text
    assert platform_adql("05h35m -05d23m") is None and platform_adql("x; DROP") is None


def test_openngc_names_with_digits_greek_letters_and_signs_become_adql():
    """first21: OpenNGC's names '47 Tuc Cluster', '30 Dor Cluster', 'η Car Nebula', 'm & m Double Cluster' (33 of
    them) were never looked up, while the error's "did you mean" offered them."""
    from platform_lib.offline import platform_adql

    for name in ("47 Tuc Cluster", "30 Dor Cluster", "η Car Nebula", "m & m Double Cluster", "St. Catherine’s Wheel",
                 "Wolf-Lundmark-Melotte Object (WLM)", "Harrington-Wilson #1"):
        assert platform_adql(name).endswith(f"LIKE '%{name.lower()}%'"), name
    assert platform_adql("05h35m -05d23m") is None and platform_adql("12 29 06.7 +02 03 08") is None
    assert platform_adql("a_b%") is None  # LIKE's wildcards are not name text


def test_a_name_nobody_answers_says_what_the_platform_resolves(tmp_path):
    """Offline (Sesame unreachable) and not in the platform's catalogues (here: no archive at all): astropy's
    error, then what from_name answers on the platform and how to give a position (before: Sesame's error only)."""
    code = textwrap.dedent(
        """
        import platform_lib
        from astropy.coordinates import SkyCoord, name_resolve
        name_resolve.sesame_url.set(["http://127.0.0.1:9/nph-sesame/"])
        try:
            SkyCoord.from_name("Vega")
        except name_resolve.NameResolveError as exc:
            print(exc)
        """
    )
    env_free = {k: v for k, v in os.environ.items() if not k.startswith(("PLATFORM_", "JUPYTERHUB_"))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env_free, "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    # first15: the first line says why (no internet) and what the platform answers; first19: in one line, without
    # astropy's message naming every Sesame mirror and its network error ("Name or service not known"), noise here
    said = done.stdout.strip()
    assert "\n" not in said and "127.0.0.1:9" not in said and "All Sesame queries failed" not in said, said
    assert said.startswith("'Vega' is not a name the platform resolves offline, and the internet resolver (CDS's "
                           "Sesame) could not be reached. On the platform, SkyCoord.from_name answers Messier, "
                           "NGC and IC numbers"), said
    assert "stars by their IAU names (Vega), Bayer or Flamsteed designations" in said
    assert "SkyCoord('00h42m44.3s +41d16m09s')" in said


def test_a_misspelt_name_suggests_the_names_the_platform_knows(monkeypatch):
    """first19: ``SkyCoord.from_name('Betelguese')`` said the name was unknown but not "did you mean 'Betelgeuse'?".
    The names come from the archive's catalogues (read once a process); here no archive runs, so the list it would
    give is put in its place (a fake of the archive's answer only: the resolver, astropy and Sesame's failure are
    real)."""
    from astropy.coordinates import SkyCoord, name_resolve

    from platform_lib import offline

    known = ["Betelgeuse", "Bellatrix", "Rigel", "Andromeda Galaxy", "Pleiades"]
    assert offline.close_names("Betelguese", known) == ["Betelgeuse"]
    assert offline.close_names("andromeda  galaxi", known) == ["Andromeda Galaxy"]
    assert offline.close_names("Sgr A*", known) == []
    # leftovers24: the first words of a name suggest it (difflib finds 'Proxima' too unlike 'Proxima Centauri')
    known += ["Proxima Centauri", "Procyon", "Orion Nebula", "Orion Nebula Cluster", "Cas A"]
    assert offline.close_names("proxima", known) == ["Proxima Centauri"]
    assert offline.close_names("Orion", known) == ["Orion Nebula", "Orion Nebula Cluster"]
    assert offline.close_names("Prox", known) == [] and offline.close_names("Cas", known) == []  # not whole words
    monkeypatch.setattr(offline, "_offline_names", lambda: {n.casefold(): (n, "") for n in known})
    offline.use_offline_copies()
    with name_resolve.sesame_url.set(["http://127.0.0.1:9/nph-sesame/"]):
        with pytest.raises(name_resolve.NameResolveError) as info:
            SkyCoord.from_name("Betelguese")
    assert str(info.value).startswith("'Betelguese' is not a name the platform resolves offline (did you mean "
                                      "'Betelgeuse'?), and the internet resolver (CDS's Sesame) could not be "
                                      "reached."), str(info.value)
    with name_resolve.sesame_url.set(["http://127.0.0.1:9/nph-sesame/"]):
        with pytest.raises(name_resolve.NameResolveError, match=r"^'Proxima' is not a name the platform resolves "
                                                                 r"offline \(did you mean 'Proxima Centauri'\?\)"):
            SkyCoord.from_name("Proxima")


def _archive_names(query, **_):
    """The archive's answers to ``offline._NAME_LISTS``' two queries, cut to a few real rows (OpenNGC's, the IAU's)."""
    from astropy.table import MaskedColumn, Table

    if "StarNames" in query:
        return Table({"name": ["Betelgeuse", "Vega"]})
    if query.startswith("SELECT TOP 1 ra, dec FROM OpenNGC.objects WHERE name = "):  # platform_position's
        return Table({"ra": [10.5], "dec": [36.5]}) if "'NGC0220'" in query else Table(names=["ra", "dec"])
    return Table({"name": ["NGC0224", "NGC0220", "NGC0221", "NGC0229", "NGC1952"],
                  "messier": MaskedColumn(["031", "", "032", "", "001"], mask=[False, True, False, True, False]),
                  "common_names": MaskedColumn(["Andromeda Galaxy", "", "", "", "Crab Nebula"],
                                               mask=[False, True, True, True, False]),
                  "other_names": MaskedColumn(["", "", "", "", "Taurus A"], mask=[True, True, True, True, False])})


@pytest.mark.parametrize("typed, offered", [
    ("Andromedia", "(did you mean 'Andromeda' (M 31)?)"),  # platform_lib.famous's name for M31
    ("Andromeda Galaxi", "(did you mean 'Andromeda Galaxy' (M 31)?)"),  # OpenNGC's, with its Messier number
    ("NGC 22O", "(did you mean 'NGC 220'?)"),  # a letter O for a zero: that number, not NGC 221 or NGC 229
    ("ngc 224", None),  # resolves (here: no archive, so it is not found, and no name is offered for itself)
    ("Betelguese", "(did you mean 'Betelgeuse'?)"),
])
def test_an_unknown_name_in_a_search_suggests_the_names_it_may_mean(typed, offered, monkeypatch):
    """badinput23: ``sky_position('Andromedia')`` (every search and view's reader of a position) said the name was
    unknown, with no "did you mean" (``SkyCoord.from_name`` offered one). The archive's answer is faked (no archive
    runs in a unit test); the names, their designations and the message are the platform library's."""
    from platform_lib import offline, retrieval, skyposition
    from platform_lib.skyposition import PositionError, sky_position

    offline._offline_names.cache_clear()
    monkeypatch.setattr(retrieval, "tap_query", _archive_names)
    monkeypatch.setattr(skyposition, "platform_position", lambda name: None)  # the archive would resolve names
    try:
        with pytest.raises(PositionError) as info:
            sky_position(typed, "target")
    finally:
        offline._offline_names.cache_clear()
    said = str(info.value)
    assert said.startswith(f"target={typed!r} is not a sky position nor a name the platform's catalogues hold "
                           + (f"{offered} " if offered else "") + "(Messier, NGC and IC numbers"), said


def test_without_the_archive_a_misspelt_name_is_offered_from_the_librarys_own_names():
    """No archive (a kernel while the archive restarts, a script off the platform): the names of
    ``platform_lib.famous`` are still offered."""
    from platform_lib.skyposition import PositionError, sky_position

    with pytest.raises(PositionError, match=r"^position='Andromedia' is not .* hold \(did you mean 'Andromeda' "
                                            r"\(M 31\)\?\) \(Messier"):
        sky_position("Andromedia")


def test_a_name_sesame_does_not_know_is_not_blamed_on_the_network():
    from platform_lib.offline import unresolved_message

    said = unresolved_message("Nowhere 1", "Unable to find coordinates for name 'Nowhere 1' using https://x/")
    assert said.startswith("'Nowhere 1' is not a name the platform resolves offline, and CDS's Sesame does not "
                           "know it either. On the platform"), said
    assert "internet" not in said.split("\n")[0]
