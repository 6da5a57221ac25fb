"""Star designations as astronomers write them, reduced to the lookup key of the archive's star-name table.

Owns :func:`name_keys` (what a name typed by a person may be: its keys, best first), :func:`bayer_name` and
:func:`flamsteed_name` (how the table writes a designation), the Greek letters (:data:`GREEK`) and the 88 IAU
constellations with their genitives (:data:`CONSTELLATIONS`). A key is the name folded to lower-case letters and
digits (accents and spacing dropped): ``"Barnard's Star"`` -> ``barnardsstar``; a Bayer designation in any common
spelling (``alf Lyr``, ``alpha Lyr``, ``alpha Lyrae``, ``α Lyr``) -> ``alflyr``, with the component's number
(``alf1 Cen``, ``α¹ Cen``) -> ``alf1cen``; a Flamsteed designation (``58 Ori``, ``58 Orionis``) -> ``58ori``.
The table's builder (:mod:`platform_lib.sampledata`) and its reader (:mod:`platform_lib.offline`) both use it, so
the two cannot disagree. Pure, standard library only.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["GREEK", "CONSTELLATIONS", "name_keys", "fold", "constellation", "bayer_name", "flamsteed_name"]

#: The Greek letters: (the three-letter abbreviation of the Bright Star Catalogue and Simbad, the name, the letter).
GREEK: tuple[tuple[str, str, str], ...] = tuple(tuple(row.split()) for row in """
    alf alpha α  bet beta β  gam gamma γ  del delta δ  eps epsilon ε  zet zeta ζ  eta eta η  the theta θ
    iot iota ι  kap kappa κ  lam lambda λ  mu mu μ  nu nu ν  xi xi ξ  omi omicron ο  pi pi π  rho rho ρ
    sig sigma σ  tau tau τ  ups upsilon υ  phi phi φ  chi chi χ  psi psi ψ  ome omega ω
""".replace("  ", "\n").split("\n") if row.strip())

#: The 88 IAU constellations: (abbreviation, name, genitive), as the IAU lists them.
CONSTELLATIONS: tuple[tuple[str, str, str], ...] = tuple(tuple(part.strip() for part in row.split(";"))
                                                         for row in """
And;Andromeda;Andromedae|Ant;Antlia;Antliae|Aps;Apus;Apodis|Aqr;Aquarius;Aquarii|Aql;Aquila;Aquilae|Ara;Ara;Arae
Ari;Aries;Arietis|Aur;Auriga;Aurigae|Boo;Bootes;Bootis|Cae;Caelum;Caeli|Cam;Camelopardalis;Camelopardalis
Cnc;Cancer;Cancri|CVn;Canes Venatici;Canum Venaticorum|CMa;Canis Major;Canis Majoris|CMi;Canis Minor;Canis Minoris
Cap;Capricornus;Capricorni|Car;Carina;Carinae|Cas;Cassiopeia;Cassiopeiae|Cen;Centaurus;Centauri|Cep;Cepheus;Cephei
Cet;Cetus;Ceti|Cha;Chamaeleon;Chamaeleontis|Cir;Circinus;Circini|Col;Columba;Columbae
Com;Coma Berenices;Comae Berenices|CrA;Corona Australis;Coronae Australis|CrB;Corona Borealis;Coronae Borealis
Crv;Corvus;Corvi|Crt;Crater;Crateris|Cru;Crux;Crucis|Cyg;Cygnus;Cygni|Del;Delphinus;Delphini|Dor;Dorado;Doradus
Dra;Draco;Draconis|Equ;Equuleus;Equulei|Eri;Eridanus;Eridani|For;Fornax;Fornacis|Gem;Gemini;Geminorum
Gru;Grus;Gruis|Her;Hercules;Herculis|Hor;Horologium;Horologii|Hya;Hydra;Hydrae|Hyi;Hydrus;Hydri|Ind;Indus;Indi
Lac;Lacerta;Lacertae|Leo;Leo;Leonis|LMi;Leo Minor;Leonis Minoris|Lep;Lepus;Leporis|Lib;Libra;Librae
Lup;Lupus;Lupi|Lyn;Lynx;Lyncis|Lyr;Lyra;Lyrae|Men;Mensa;Mensae|Mic;Microscopium;Microscopii
Mon;Monoceros;Monocerotis|Mus;Musca;Muscae|Nor;Norma;Normae|Oct;Octans;Octantis|Oph;Ophiuchus;Ophiuchi
Ori;Orion;Orionis|Pav;Pavo;Pavonis|Peg;Pegasus;Pegasi|Per;Perseus;Persei|Phe;Phoenix;Phoenicis|Pic;Pictor;Pictoris
Psc;Pisces;Piscium|PsA;Piscis Austrinus;Piscis Austrini|Pup;Puppis;Puppis|Pyx;Pyxis;Pyxidis|Ret;Reticulum;Reticuli
Sge;Sagitta;Sagittae|Sgr;Sagittarius;Sagittarii|Sco;Scorpius;Scorpii|Scl;Sculptor;Sculptoris|Sct;Scutum;Scuti
Ser;Serpens;Serpentis|Sex;Sextans;Sextantis|Tau;Taurus;Tauri|Tel;Telescopium;Telescopii|Tri;Triangulum;Trianguli
TrA;Triangulum Australe;Trianguli Australis|Tuc;Tucana;Tucanae|UMa;Ursa Major;Ursae Majoris
UMi;Ursa Minor;Ursae Minoris|Vel;Vela;Velorum|Vir;Virgo;Virginis|Vol;Volans;Volantis|Vul;Vulpecula;Vulpeculae
""".replace("\n", "|").split("|") if row.strip())

_LETTER = {}
for _abbr, _name, _char in GREEK:
    _LETTER.update({_abbr: _abbr, _name: _abbr, _char: _abbr})
_LETTER["alp"] = "alf"  # KStars' and some lists' spelling
_CONSTELLATION = {}
for _abbr, _name, _genitive in CONSTELLATIONS:
    for _form in (_abbr, _name, _genitive):
        _CONSTELLATION[re.sub(r"[^a-z]", "", _form.lower())] = _abbr
_LETTERS = "|".join(sorted((re.escape(k) for k in _LETTER), key=len, reverse=True))
_BAYER = re.compile(rf"({_LETTERS})\.?\s*-?\s*0*(\d?)\s*(\D+)")
_FLAMSTEED = re.compile(r"0*(\d{1,3})\s*(\D+)")


def fold(text: str) -> str:
    """``text`` in lower case, accents dropped, superscript digits made digits (``"Boötes κ¹"`` ->
    ``"bootes κ1"``); Greek letters stay."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text)


def constellation(text: str) -> str | None:
    """The IAU abbreviation of a constellation written as its abbreviation, name or genitive (any case,
    spacing or accents), else ``None``.

    >>> constellation("Canis Majoris"), constellation("cma"), constellation("Boötes"), constellation("Lyrae")
    ('CMa', 'CMa', 'Boo', 'Lyr')
    """
    return _CONSTELLATION.get(_key(fold(text)))


def bayer_name(letter: str, number: int | str | None, const: str) -> str:
    """A Bayer designation as Simbad writes it: ``bayer_name("α", None, "Lyr")`` -> ``'alf Lyr'``,
    ``bayer_name("kap", 1, "Scl")`` -> ``'kap1 Scl'``."""
    abbr = _LETTER[fold(letter)]
    return f"{abbr}{number or ''} {const}"


def flamsteed_name(number: int, const: str) -> str:
    """A Flamsteed designation: ``flamsteed_name(58, "Ori")`` -> ``'58 Ori'``."""
    return f"{int(number)} {const}"


def name_keys(name: str) -> list[str]:
    """The keys ``name`` may have in the star-name table, best first (empty: nothing to look up).

    A designation (Bayer's Greek letter or Flamsteed's number, then a constellation) gives its key; any other
    name, the name folded to letters and digits (a proper name).

    >>> name_keys("alpha Lyrae"), name_keys("58 Orionis"), name_keys("Barnard's Star")
    (['alflyr'], ['58ori'], ['barnardsstar'])
    """
    text = " ".join(fold(name).split())
    keys = []
    bayer = _BAYER.fullmatch(text)
    if bayer and constellation(bayer[3]):
        keys.append(f"{_LETTER[bayer[1]]}{bayer[2]}{constellation(bayer[3]).lower()}")
    flamsteed = _FLAMSTEED.fullmatch(text)
    if flamsteed and constellation(flamsteed[2]):
        keys.append(f"{int(flamsteed[1])}{constellation(flamsteed[2]).lower()}")
    if not keys and _key(text):
        keys.append(_key(text))
    return keys
