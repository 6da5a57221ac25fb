"""Simple Cone Search 1.03 over the registered catalogues: results with the UCD1 columns SCS requires.

Pure shaping of an astropy Table (from :func:`platform_lib.catalogs.cone_search`) into an SCS
result: exactly one field with UCD ``ID_MAIN`` (text: a numeric identifier is written as its digits), one
``POS_EQ_RA_MAIN`` and one ``POS_EQ_DEC_MAIN`` (SCS 1.03 section 2), VERB=1 trimming to those three, ``SR=0``
metadata (fields, no rows), and the positions' COOSYS.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["scs_table", "id_column", "coosys"]


def id_column(info) -> str | None:
    """The catalogue's identifier column: the primary key, else the first ``meta.id`` column."""
    for c in info.columns:
        try:
            if c.is_primary_key:
                return c.name
        except Exception:
            pass
    for c in info.columns:
        if c.ucd.lower().startswith("meta.id") and c.name not in (info.ra_column, info.dec_column):
            return c.name
    return None


def scs_table(table, info, verb: int):
    """The cone-search answer table with the SCS UCDs set; adds ``scs_id`` when no id column exists."""
    from astropy.table import Column, Table

    ra_col, dec_col = info.ra_column, info.dec_column
    idc = id_column(info)
    t = Table(table, copy=False)
    if idc is None or idc not in t.colnames:
        idc = "scs_id"
        ids = [f"{ra:.6f}{dec:+.6f}" for ra, dec in zip(np.asarray(t[ra_col], float), np.asarray(t[dec_col], float))]
        t.add_column(Column(np.array(ids, dtype=str) if ids else np.array([], dtype="U1"), name=idc), index=0)
    elif t[idc].dtype.kind not in "US":  # SCS 1.03 section 2: ID_MAIN has "an array character type" (HIP "17401")
        old = t[idc]
        text = Column(np.array([str(v) for v in np.asarray(old)], dtype=str) if len(old) else np.array([], dtype="U1"),
                      name=idc, description=old.description, meta=dict(old.meta))
        t.replace_column(idc, text)
    if verb == 1:
        t = t[[idc, ra_col, dec_col]]
    described = {c.name: c for c in info.columns}
    for name in t.colnames:
        col = t[name]
        col.meta = dict(col.meta)
        c = described.get(name)
        if c is not None:
            if c.ucd:
                col.meta["ucd"] = c.ucd
            if c.description and not col.description:
                col.description = c.description
        for key in ("ucd",):
            col.meta.pop(key, None) if name in (idc, ra_col, dec_col) else None
    t[idc].meta["ucd"] = "ID_MAIN"
    t[ra_col].meta["ucd"] = "POS_EQ_RA_MAIN"
    t[dec_col].meta["ucd"] = "POS_EQ_DEC_MAIN"
    t[ra_col].unit = "deg"
    t[dec_col].unit = "deg"
    t[ra_col].meta["coosys"] = t[dec_col].meta["coosys"] = coosys(info)
    return t


def coosys(info) -> dict[str, str]:
    """The COOSYS of a catalogue's positions (SCS 1.03 results are ICRS): ``eq_FK5`` J2000 where the registry
    says the source was FK5 J2000 (indexed unconverted: within 0.03" of ICRS), else ICRS; with the source's
    epoch when it is one VOTable can write (``J1991.25``, ``B1950``, ``2016.0``).

    >>> from types import SimpleNamespace as NS
    >>> coosys(NS(equinox="ICRS", epoch="J1991.25")), coosys(NS(equinox="J2000", epoch="sometime"))
    ({'system': 'ICRS', 'epoch': 'J1991.25'}, {'system': 'eq_FK5', 'equinox': 'J2000'})
    """
    out = {"system": "eq_FK5", "equinox": "J2000"} if (info.equinox or "").strip() == "J2000" else {"system": "ICRS"}
    epoch = (info.epoch or "").strip()
    if re.fullmatch(r"[JB]?[0-9]+([.][0-9]*)?", epoch):
        out["epoch"] = epoch
    return out
