"""A VizieR ASU-TSV download of a real catalogue, written in VizieR's layout, for the text-table tests.

Owns :func:`write_vizier_tsv`: the file VizieR's "Tab-Separated-Values" (or ";-Separated-Values")
download of J/A+A/511/A56 (Pancino+ 2010, astropy's bundled CDS sample ``io/ascii/tests/data/vizier``)
gives, built from that sample's own rows. The layout is VizieR's asu-tsv: ``#`` lines (server banner,
``#INFO``, query parameters, then per table ``#RESOURCE``/``#Name:``/``#Title:``/``#Table``/``#Column``
lines with the Fortran format, explanation and ``[ucd=...]``), a header row, a units row (sexagesimal
positions in ``"h:m:s"``/``"d:m:s"``, which astropy does not know as units), a row of dashes as wide
as each column, then the rows, values padded to the column's width, missing values blank. The rows
come from astropy's CDS reader of the same files, which is also the tests' reference.

May import the standard library, numpy and astropy.
"""

from __future__ import annotations

from pathlib import Path

import astropy
import numpy as np

__all__ = ["SAMPLE", "write_vizier_tsv", "sample_tables"]

#: astropy's copy of the VizieR catalogue J/A+A/511/A56 (ReadMe, table1.dat, table5.dat.gz).
SAMPLE = Path(astropy.__file__).parent / "io" / "ascii" / "tests" / "data" / "vizier"

_BANNER = """#
#   VizieR Astronomical Server vizier.cds.unistra.fr
#    Date: 2026-12-05T10:12:31 [V7.4.6]
#   In case of problem, please report to:	cds-question@unistra.fr
#
#
#Coosys	J2000:	eq_FK5 J2000
#INFO	votable-version=1.99+ (14-Oct-2013)	
#INFO	-ref=VIZ6932b4ff1e0b7d	
#INFO	-out.max=unlimited	
#INFO	queryParameters=4	
#-oc.form=dec
#-out.max=unlimited
#-source=J/A+A/511/A56
#-out.all
"""

_RESOURCE = """
#RESOURCE=yCat_35110056
#Name: J/A+A/511/A56
#Title: Abundances of five open clusters (Pancino+, 2010)
#Coosys	J2000:	eq_FK5 J2000
"""


def sample_tables():
    """astropy's reading of the sample's ``table1.dat`` and ``table5.dat.gz`` (the tests' reference)."""
    from astropy.io import ascii

    readme = str(SAMPLE / "ReadMe")
    return (ascii.read(str(SAMPLE / "table1.dat"), readme=readme, format="cds"),
            ascii.read(str(SAMPLE / "table5.dat.gz"), readme=readme, format="cds"))


def _cell(value, fmt: str) -> str:
    kind, width = fmt[0], int(fmt[1:].split(".")[0])
    if value is np.ma.masked:
        return " " * width
    if kind == "F":
        return f"{float(value):{width}.{int(fmt.split('.')[1])}f}"
    if kind == "I":
        return f"{int(value):{width}d}"
    return f"{str(value):<{width}}"


def _block(table_id: str, name: str, title: str, columns: list[tuple], nrows: int, sep: str) -> str:
    """One table: its ``#`` lines, header, units, dashes and rows. ``columns``: (label, format, unit,
    explanation, ucd, values)."""
    lines = [f"#Table\t{table_id}:", f"#Name: {name}", f"#Title: {title}"]
    lines += [f"#Column\t{label}\t({fmt})\t{expl}\t[ucd={ucd}]" for label, fmt, _, expl, ucd, _ in columns]
    widths = [int(fmt[1:].split(".")[0]) for _, fmt, *_ in columns]
    lines.append(sep.join(c[0] for c in columns))
    lines.append(sep.join(c[2] for c in columns))
    lines.append(sep.join("-" * w for w in widths))
    for i in range(nrows):
        lines.append(sep.join(_cell(values[i], fmt) for _, fmt, _, _, _, values in columns))
    return "\n".join(lines) + "\n"


def write_vizier_tsv(path: Path, *, sep: str = "\t", decimal_positions: bool = True, table5_rows: int = 0) -> Path:
    """Write the VizieR download of J/A+A/511/A56 to ``path``: table1 (15 stars) with the sexagesimal
    ``RAJ2000``/``DEJ2000`` VizieR shows for ``RAh``... columns, VizieR's computed ``_RAJ2000``/``_DEJ2000``
    (degrees) when ``decimal_positions``, and the first ``table5_rows`` rows of table5 (no positions) as
    a second table when asked. ``sep``: tab (TSV) or ``;`` (VizieR's ";-Separated-Values")."""
    t1, t5 = sample_tables()
    from astropy.coordinates import SkyCoord

    ra_text = [f"{h:02d} {m:02d} {s:04.1f}" for h, m, s in zip(t1["RAh"], t1["RAm"], t1["RAs"])]
    de_text = [f"{sg}{d:02d} {m:02d} {s:04.1f}" for sg, d, m, s in zip(t1["DE-"], t1["DEd"], t1["DEm"], t1["DEs"])]
    coords = SkyCoord(ra_text, de_text, unit=("hourangle", "deg"))
    computed = ("(computed by VizieR, not part of the original data. The format may include more digits than "
                "the original data because of internal accuracy requirements in VizieR and across other CDS "
                "services)")
    columns = []
    if decimal_positions:
        columns += [("_RAJ2000", "F10.6", "deg", f"Right ascension (FK5, Equinox=J2000.0) {computed}", "pos.eq.ra",
                     list(coords.ra.deg)),
                    ("_DEJ2000", "F10.6", "deg", f"Declination (FK5, Equinox=J2000.0) {computed}", "pos.eq.dec",
                     list(coords.dec.deg))]
    columns += [("Cluster", "A7", "", "Cluster name", "meta.id.parent", list(t1["Cluster"])),
                ("Star", "I4", "", "Star number within the cluster", "meta.id;meta.main", list(t1["Star"])),
                ("RAJ2000", "A10", '"h:m:s"', "Right ascension (J2000)", "pos.eq.ra;meta.main", ra_text),
                ("DEJ2000", "A11", '"d:m:s"', "Declination (J2000)", "pos.eq.dec;meta.main", de_text)]
    for label, ucd in (("Bmag", "phot.mag;em.opt.B"), ("Vmag", "phot.mag;em.opt.V"), ("Icmag", "phot.mag;em.opt.I"),
                       ("Rmag", "phot.mag;em.opt.R"), ("Ksmag", "phot.mag;em.IR.K")):
        columns.append((label, "F5.2", "mag", t1[label].description, ucd, list(t1[label])))
    columns += [("NExp", "I1", "", "Number of exposures", "meta.number", list(t1["NExp"])),
                ("TExp", "I5", "s", "Total exposure time", "time.duration;obs.exposure", list(t1["TExp"])),
                ("S/N", "I3", "", "Signal-to-nois ratio", "stat.snr", list(t1["S/N"])),
                ("SName", "A25", "", "Simbad name", "meta.id", list(t1["SName"]))]
    text = _BANNER + _RESOURCE + _block("J_A_A_511_A56_table1", "J/A+A/511/A56/table1",
                                        "Observing logs and programme stars information", columns, len(t1), sep)
    if table5_rows:
        part = t5[:table5_rows]
        columns5 = [("Cluster", "A7", "", "Cluster name", "meta.id.parent", list(part["Cluster"])),
                    ("Star", "I4", "", "Star number within the cluster", "meta.id", list(part["Star"])),
                    ("Wave", "F7.2", "0.1nm", "Wavelength in Angstroms", "em.wl", list(part["Wave"])),
                    ("El", "A2", "", "Element name", "phys.atmol.element", list(part["El"])),
                    ("ion", "I1", "", "Ionization stage (1 for neutral element)", "phys.atmol.ionStage",
                     list(part["ion"])),
                    ("chiEx", "F5.2", "eV", "Excitation potential", "phys.energy;phys.atmol.excitation",
                     list(part["chiEx"])),
                    ("loggf", "F6.2", "", "Logarithm of the oscillator strength", "phys.atmol.oscStrength",
                     list(part["loggf"])),
                    ("EW", "F5.1", "0.1pm", "Equivalent width (in mA)", "spect.line.eqWidth", list(part["EW"]))]
        text += "\n" + _block("J_A_A_511_A56_table5", "J/A+A/511/A56/table5", "Atomic data and equivalent widths",
                              columns5, len(part), sep)
    path.write_text(text + "\n", encoding="utf-8")
    return path
