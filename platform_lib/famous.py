"""Famous objects that the platform's catalogues do not hold by name, so that ``SkyCoord.from_name`` answers them
offline: the Galactic Centre's black hole (``Sgr A*``), the bright radio sources (``Cyg A``, ``Cas A``, ``Taurus A``),
quasars and blazars (``3C 273``, ``Mrk 421``), X-ray binaries and pulsars (``Sco X-1``, ``Crab Pulsar``),
Eta Carinae, SN 1987A, the Galactic Centre and poles, TRAPPIST-1, and the Coma, Virgo, Fornax and Perseus
clusters; and the names a class types for
catalogue objects that the catalogues' name lists lack (``Andromeda``, ``Crab``, ``Whirlpool``: the object itself).

Owns :data:`FAMOUS` and :func:`famous_object`, which :mod:`platform_lib.offline` asks before the archive's
catalogues. Each :class:`Famous` is either a position (ICRS, J2000, as Simbad gives it, with its reference) or
another name for an object the catalogues hold (``Taurus A`` is ``M1``: the position is then OpenNGC's, as for any
Messier object; ``Cyg X-1`` is ``HIP 98298``, moved to J2000 as any star; never a second copy of it). A name is matched with case, spaces and punctuation ignored, except
``*`` (``Sgr A*`` is not ``Sgr A``): ``3C273``, ``3c 273`` and ``3C 273`` are one name.

Every position with a B1950 designation (``1226+023`` for 3C 273) or a Galactic one (``G111.7-2.1`` for Cas A) is
checked against it in ``tests/unit/test_famous_names.py``, so a mistyped digit cannot hide. Standard library only
(astropy is imported when a position is asked for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from platform_lib.designations import fold

__all__ = ["Famous", "FAMOUS", "famous_object", "famous_names", "name_key"]


@dataclass(frozen=True)
class Famous:
    """One famous object: its names (the first is how it is written), and where it is."""

    names: tuple[str, ...]  #: the names a person looks it up by; the first is its usual name
    ra: str = ""  #: ICRS right ascension at J2000, sexagesimal hours (``"12 29 06.700"``); empty: see ``same_as``
    dec: str = ""  #: ICRS declination at J2000, sexagesimal degrees (``"+02 03 08.60"``)
    same_as: str = ""  #: the name of the same object in the platform's catalogues (``"M1"``), when it is there
    #: (for a galaxy cluster no catalogue holds, its central galaxy: the Virgo Cluster is answered as ``"M87"``)
    frame: str = "icrs"  #: ``icrs`` (``ra``/``dec`` sexagesimal), or ``galactic`` (``ra``/``dec`` hold l, b in degrees)
    b1950: str = ""  #: its B1950 designation (``1226+023``: HHMM+DDd), which the tests check the position against
    galactic: str = ""  #: its Galactic designation (``G111.7-2.1``: l and b in degrees), checked likewise
    reference: str = ""  #: where the position comes from

    def position(self):
        """Its position as an ICRS ``SkyCoord`` (``None`` when it is ``same_as`` a catalogue's object)."""
        if not self.ra:
            return None
        from astropy.coordinates import SkyCoord

        if self.frame == "galactic":
            return SkyCoord(l=float(self.ra), b=float(self.dec), unit="deg", frame="galactic").icrs
        return SkyCoord(self.ra, self.dec, unit=("hourangle", "deg"), frame="icrs")


_SIMBAD = "Simbad (CDS), ICRS J2000"
#: The famous objects, brightest radio sources first. Positions: Simbad's ICRS coordinates at J2000 (VLBI for the
#: compact radio sources, so good to milliarcseconds); the others are catalogue objects by another name.
FAMOUS: tuple[Famous, ...] = (
    Famous(("Sgr A*", "Sagittarius A*"), "17 45 40.0360", "-29 00 28.168", galactic="G359.944-0.046",
           reference="Reid & Brunthaler 2004, ApJ 616, 872 (VLBA), via " + _SIMBAD),
    Famous(("Cygnus A", "Cyg A", "3C 405"), "19 59 28.3566", "+40 44 02.097", b1950="1957+405", reference=_SIMBAD),
    Famous(("Cassiopeia A", "Cas A", "3C 461"), "23 23 24.0", "+58 48 54", galactic="G111.7-2.1",
           reference=_SIMBAD + " (the remnant's centre)"),
    Famous(("Taurus A", "Tau A", "3C 144"), same_as="M1"),
    Famous(("Virgo A", "Vir A", "3C 274"), same_as="M87"),
    Famous(("Centaurus A", "Cen A"), same_as="NGC 5128"),
    Famous(("Fornax A", "For A"), same_as="NGC 1316"),
    Famous(("Perseus A", "Per A", "3C 84"), same_as="NGC 1275"),
    Famous(("Hercules A", "Her A", "3C 348"), "16 51 08.147", "+04 59 33.32", b1950="1648+050", reference=_SIMBAD),
    Famous(("Hydra A", "Hya A", "3C 218"), "09 18 05.651", "-12 05 43.99", b1950="0915-119", reference=_SIMBAD),
    Famous(("Pictor A", "Pic A"), "05 19 49.735", "-45 46 43.85", b1950="0518-458", reference=_SIMBAD),
    Famous(("3C 273",), "12 29 06.6997", "+02 03 08.598", b1950="1226+023", reference=_SIMBAD + " (ICRF)"),
    Famous(("3C 279",), "12 56 11.1666", "-05 47 21.525", b1950="1253-055", reference=_SIMBAD + " (ICRF)"),
    Famous(("3C 48",), "01 37 41.2994", "+33 09 35.133", b1950="0134+329", reference=_SIMBAD + " (ICRF)"),
    Famous(("3C 147",), "05 42 36.1379", "+49 51 07.234", b1950="0538+498", reference=_SIMBAD + " (ICRF)"),
    Famous(("3C 286",), "13 31 08.2881", "+30 30 32.959", b1950="1328+307", reference=_SIMBAD + " (ICRF)"),
    Famous(("3C 345",), "16 42 58.8100", "+39 48 36.994", b1950="1641+399", reference=_SIMBAD + " (ICRF)"),
    Famous(("3C 454.3",), "22 53 57.7479", "+16 08 53.561", b1950="2251+158", reference=_SIMBAD + " (ICRF)"),
    Famous(("BL Lac", "BL Lacertae"), "22 02 43.2914", "+42 16 39.980", b1950="2200+420", reference=_SIMBAD),
    Famous(("OJ 287",), "08 54 48.8749", "+20 06 30.641", b1950="0851+202", reference=_SIMBAD),
    Famous(("Mrk 421", "Markarian 421"), "11 04 27.3139", "+38 12 31.799", b1950="1101+384", reference=_SIMBAD),
    Famous(("Mrk 501", "Markarian 501"), "16 53 52.2167", "+39 45 36.609", b1950="1652+398", reference=_SIMBAD),
    Famous(("PKS 2155-304",), "21 58 52.0651", "-30 13 32.118", b1950="2155-304", reference=_SIMBAD),
    Famous(("Crab Pulsar", "PSR B0531+21", "PSR J0534+2200"), "05 34 31.938", "+22 00 52.18", b1950="0531+21",
           reference=_SIMBAD),
    Famous(("Vela Pulsar", "PSR B0833-45", "PSR J0835-4510"), "08 35 20.655", "-45 10 35.15", b1950="0833-45",
           reference=_SIMBAD),
    Famous(("PSR B1919+21", "PSR J1921+2153", "CP 1919"), "19 21 44.815", "+21 53 02.25", b1950="1919+21",
           reference=_SIMBAD + " (the first pulsar found)"),
    Famous(("Cyg X-1", "Cygnus X-1"), same_as="HIP 98298"),
    Famous(("Eta Carinae", "eta Car", "η Car"), "10 45 03.546", "-59 41 03.95", galactic="G287.6-0.6",
           reference=_SIMBAD + " (not in the Hipparcos new reduction)"),
    Famous(("Sco X-1", "Scorpius X-1"), "16 19 55.067", "-15 38 24.78", galactic="G359.1+23.8", reference=_SIMBAD),
    Famous(("SN 1987A", "Supernova 1987A"), "05 35 27.9875", "-69 16 11.107", reference=_SIMBAD),
    Famous(("Galactic Centre", "Galactic Center"), "0", "0", frame="galactic", reference="l = 0, b = 0 (by definition)"),
    Famous(("North Galactic Pole",), "0", "90", frame="galactic", reference="b = +90 (by definition)"),
    Famous(("South Galactic Pole",), "0", "-90", frame="galactic", reference="b = -90 (by definition)"),
    Famous(("47 Tuc", "47 Tucanae"), same_as="NGC 104"),
    Famous(("Omega Centauri", "omega Cen", "ω Cen"), same_as="NGC 5139"),
    # What a person types for a catalogue object that OpenNGC's and Stellarium's names lack (their names are
    # "Crab Nebula", "Whirlpool Galaxy") or give to several objects ("Pinwheel Galaxy": M33, M99 and M101 in
    # Stellarium's list), as Simbad answers it: the catalogue's object, never a copy of its position
    Famous(("Andromeda", "Great Andromeda Nebula", "Great Andromeda Galaxy"), same_as="M31"),
    Famous(("Crab",), same_as="M1"),
    Famous(("Whirlpool",), same_as="M51"),
    Famous(("Sombrero",), same_as="M104"),
    Famous(("Pinwheel Galaxy", "Pinwheel"), same_as="M101"),
    Famous(("Southern Pinwheel",), same_as="M83"),
    Famous(("Great Nebula in Orion",), same_as="M42"),
    Famous(("Great Hercules Cluster", "Great Globular Cluster in Hercules"), same_as="M13"),
    Famous(("Ptolemy Cluster",), same_as="M7"),
    Famous(("Wild Duck",), same_as="M11"),
    Famous(("Little Dumbbell",), same_as="M76"),
    Famous(("Ghost of Jupiter",), same_as="NGC 3242"),
    Famous(("Coalsack",), same_as="Coalsack Nebula"),
    Famous(("Sculptor Dwarf",), same_as="Sculptor Dwarf Galaxy"),
    # A galaxy cluster no catalogue here holds, checked against its two dominant galaxies in OpenNGC (the cluster's
    # centre lies between NGC 4874 and NGC 4889: tests/unit/test_common_names.py). The Virgo, Fornax and Perseus
    # clusters are left out: no package installed here gives a position to check theirs against.
    Famous(("Coma Cluster", "Abell 1656", "ACO 1656"), "12 59 48.7", "+27 58 50",
           reference="NED and Simbad (ACO 1656), ICRS J2000"),
    # The Virgo, Fornax and Perseus clusters (firsthour24): no package here gives the centres Simbad has for them,
    # so each answers its central galaxy, the giant elliptical at the peak of its X-ray light (Virgo A, NGC 1399,
    # Perseus A), from OpenNGC: a cone around the cluster's name searches its core
    Famous(("Virgo Cluster",), same_as="M87"),
    Famous(("Fornax Cluster",), same_as="NGC 1399"),
    Famous(("Perseus Cluster", "Abell 426", "ACO 426"), same_as="NGC 1275"),
    # A star too faint for Hipparcos (V = 18.8), at the position its 2MASS name gives (tests/unit/test_famous_names.py
    # reads it back from the name)
    Famous(("TRAPPIST-1", "2MASS J23062928-0502285"), "23 06 29.28", "-05 02 28.5",
           reference="2MASS Point Source Catalogue (Skrutskie et al. 2006), the position its designation "
                     "J23062928-0502285 writes (truncated), at the epoch 2MASS observed it (about 1999): the star "
                     "moves about 1 arcsec a year, so at J2000 it was within a few arcsec of there"),
)


def name_key(name: str) -> str:
    """``name`` folded for matching: lower case, accents, spaces and punctuation dropped, ``*`` kept.

    >>> name_key("Sgr A*"), name_key(" 3c273 "), name_key("PSR B0531+21")
    ('sgra*', '3c273', 'psrb053121')
    """
    return re.sub(r"[^a-z0-9*α-ω]", "", fold(str(name)))


_BY_KEY = {name_key(n): famous for famous in FAMOUS for n in famous.names}


def famous_object(name: str) -> Famous | None:
    """The famous object called ``name`` (any case and spacing), or ``None``.

    >>> famous_object("cyg a").names[0], famous_object("Taurus A").same_as, famous_object("Vega")
    ('Cygnus A', 'M1', None)
    """
    return _BY_KEY.get(name_key(name))


def famous_names() -> list[str]:
    """Every name of :data:`FAMOUS`, as written (what a misspelt name is compared with)."""
    return [n for famous in FAMOUS for n in famous.names]
