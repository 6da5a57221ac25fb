"""Catalogues of osculating orbits (:class:`Orbits`) and the reader of JPL small-body database extracts.

:func:`read_sbdb_json` reads the JSON extracts of JPL's Small-Body Database (SBDB query API) that
Debian's ``kstars-data`` ships as ``/usr/share/kstars/asteroids.dat`` and ``comets.dat``. Orbits
are checked when built: a hyperbolic or parabolic orbit (e >= 1), a negative or missing semi-major
axis or perihelion distance, or non-finite angles raise :class:`MovingObjectError` naming the body
and the value. Imports numpy, this package's errors and (for epochs given as ``Time``) astropy.
"""

from __future__ import annotations

import gzip
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from platform_lib.errors import stacklevel_outside
from platform_lib.moving._kepler import GAUSS_K
from platform_lib.moving.errors import MovingObjectError

__all__ = ["Orbits", "read_sbdb_json", "KSTARS_ASTEROIDS", "KSTARS_COMETS", "default_orbits", "known_orbits",
           "name_key", "is_designation", "COMET_COMMON_NAMES"]

#: Where Debian's ``kstars-data`` puts its SBDB extracts.
KSTARS_ASTEROIDS = Path("/usr/share/kstars/asteroids.dat")
KSTARS_COMETS = Path("/usr/share/kstars/comets.dat")
_MJD_TO_JD = 2400000.5


@dataclass
class Orbits:
    """Heliocentric osculating elements of N bodies (ecliptic J2000; angles in degrees; epoch as TDB JD).

    ``h``/``g`` are the H, G magnitude parameters (asteroids) or, for comets (``kind == "comet"``),
    the total magnitude M1 with ``g`` holding the slope K1 (default 10). Build with
    :meth:`from_elements` (checks every row) or :func:`read_sbdb_json`.
    """

    names: np.ndarray
    a: np.ndarray
    e: np.ndarray
    inc: np.ndarray
    node: np.ndarray
    peri: np.ndarray
    mean_anomaly: np.ndarray
    epoch_jd: np.ndarray
    h: np.ndarray
    g: np.ndarray
    kind: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_elements(cls, names, *, a=None, q=None, e, inc, node, peri, mean_anomaly=None, tp_jd=None,
                      epoch_jd, h=np.nan, g=0.15, kind="asteroid", on_bad: str = "raise") -> "Orbits":
        """Check and store elements: ``a`` or perihelion ``q``; ``mean_anomaly`` at ``epoch_jd`` or ``tp_jd``.

        ``epoch_jd`` and ``tp_jd`` are TDB Julian dates or astropy ``Time``\\s; an MJD given as one (below JD
        1,000,000, the year 1975 BC) is refused (``bad-orbit``) naming its Julian date, as is an element that is
        not a number or an inclination outside 0-180 degrees.

        ``on_bad="raise"`` (default) raises :class:`MovingObjectError` at the first bad row;
        ``"skip"`` leaves bad rows out and lists them in :attr:`skipped` as ``(name, reason)``.

        Examples
        --------
        >>> from astropy.time import Time
        >>> ceres = Orbits.from_elements(["Ceres"], a=2.7666, e=0.0786, inc=10.588, node=80.27, peri=73.64,
        ...                              mean_anomaly=205.55, epoch_jd=Time("2024-06-01").jd, h=3.34)
        >>> print(len(ceres), ceres.names[0])
        1 Ceres
        """
        names = np.atleast_1d(np.asarray(names, dtype=str))
        n = len(names)

        def arr(x, label, default=np.nan):
            x = default if x is None else x
            if _is_time(x):  # an astropy Time: its TDB Julian dates
                x = x.tdb.jd
            try:
                return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()
            except (TypeError, ValueError) as exc:
                raise MovingObjectError(f"orbital element {label}={x!r} is not a number (or one per body, {n} here): "
                                        f"{exc}", code="bad-orbit", value=str(x)) from None

        e, inc, node, peri = arr(e, "e"), arr(inc, "inc"), arr(node, "node"), arr(peri, "peri")
        epoch, a_in, q_in = arr(epoch_jd, "epoch_jd"), arr(a, "a"), arr(q, "q")
        tp = arr(tp_jd, "tp_jd") if mean_anomaly is None else np.full(n, 2451545.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            a_ = np.where(np.isfinite(a_in), a_in, q_in / (1.0 - e))
            if mean_anomaly is not None:
                M = arr(mean_anomaly, "mean_anomaly")
            else:
                n_deg = np.rad2deg(GAUSS_K / np.abs(a_) ** 1.5)
                M = n_deg * (epoch - tp)
        reasons = np.full(n, "", dtype=object)
        checks = (
            (~np.isfinite(e) | (e < 0), "eccentricity {e} is missing or negative"),
            (np.isfinite(e) & (e >= 1), "eccentricity {e} >= 1: a parabolic or hyperbolic orbit, which two-body "
                                        "elliptic propagation cannot follow; use an N-body or Horizons ephemeris"),
            (~np.isfinite(a_) | (a_ <= 0), "semi-major axis {a} au (or perihelion distance) is missing or not positive"),
            (~np.isfinite(inc) | ~np.isfinite(node) | ~np.isfinite(peri) | ~np.isfinite(M),
             "an angle (i, node, peri, M) is missing or not finite"),
            ((inc < 0) | (inc > 180), "inclination {inc} deg is outside 0-180 (degrees, to the ecliptic J2000)"),
            (~np.isfinite(epoch), "the epoch is missing"),
            (epoch < _JD_LOOKS_MJD, "epoch_jd {epoch:g} is a Julian date in {epoch_year} BC (TDB): it looks like an "
                                    "MJD; give the Julian date {epoch_mjd:.5f} or an astropy Time"),
            (tp < _JD_LOOKS_MJD, "tp_jd {tp:g} (perihelion time) is a Julian date in {tp_year} BC (TDB): it looks "
                                 "like an MJD; give the Julian date {tp_mjd:.5f} or an astropy Time"),
        )
        for bad, text in checks:
            for k in np.flatnonzero(bad & (reasons == "")):
                reasons[k] = text.format(e=e[k], a=a_[k], inc=inc[k], epoch=epoch[k], tp=tp[k],
                                         epoch_year=_bc_year(epoch[k]), tp_year=_bc_year(tp[k]),
                                         epoch_mjd=epoch[k] + _MJD_TO_JD, tp_mjd=tp[k] + _MJD_TO_JD)
        bad = reasons != ""
        if bad.any() and on_bad == "raise":
            k = int(np.flatnonzero(bad)[0])
            code = "hyperbolic-orbit" if np.isfinite(e[k]) and e[k] >= 1 else "bad-orbit"
            raise MovingObjectError(f"orbit of {str(names[k])!r}: {reasons[k]}", code=code, value=str(names[k]))
        keep = ~bad
        kinds = np.broadcast_to(np.asarray(kind, dtype=str), (n,))
        return cls(names[keep], a_[keep], e[keep], inc[keep], node[keep], peri[keep],
                   np.remainder(M[keep], 360.0), epoch[keep], arr(h, "h")[keep], arr(g, "g", 0.15)[keep],
                   kinds[keep].copy(),
                   skipped=[(str(names[k]), str(reasons[k])) for k in np.flatnonzero(bad)])

    def __getitem__(self, sel) -> "Orbits":
        if isinstance(sel, (int, np.integer)):
            sel = [int(sel)]
        return Orbits(self.names[sel], self.a[sel], self.e[sel], self.inc[sel], self.node[sel], self.peri[sel],
                      self.mean_anomaly[sel], self.epoch_jd[sel], self.h[sel], self.g[sel], self.kind[sel])

    @classmethod
    def concat(cls, *parts: "Orbits") -> "Orbits":
        """One catalogue of ``parts`` in order (rows of the first keep their numbers), e.g. asteroids and comets.

        >>> both = Orbits.concat(read_sbdb_json(KSTARS_ASTEROIDS), read_sbdb_json(KSTARS_COMETS))  # doctest: +SKIP
        """
        if not parts:
            raise ValueError("Orbits.concat needs at least one catalogue")
        arrays = [np.concatenate([getattr(p, f) for p in parts]) for f in
                  ("names", "a", "e", "inc", "node", "peri", "mean_anomaly", "epoch_jd", "h", "g", "kind")]
        return cls(*arrays, skipped=[s for p in parts for s in p.skipped])

    def find(self, name: str) -> int:
        """The row of body ``name``: a number (``"2"``), a name (``"Pallas"``), both (``"2 Pallas"``), or JPL's
        SPK-ID of a numbered asteroid (``"2000002"``).

        A name several bodies share takes the first of :meth:`ranked` and warns, naming the others.
        Raises :class:`MovingObjectError` (``unknown-body``) naming the body when no row matches.
        """
        rows = self.matches(name)
        left_out = self.left_out(name)
        # 'Olbers': 13P/Olbers, and C/1796 F1 (Olbers) left out (hyperbolic); several kept ones warn below
        if len(rows) == 1 and left_out is not None:
            warnings.warn(f"{name!r} was taken as {str(self.names[rows[0]]).strip()!r}; it also names {left_out[0]!r}, "
                          f"left out of this catalogue when it was read: {left_out[1]}", UserWarning,
                          stacklevel=stacklevel_outside(__file__))
        if len(rows) > 1:
            rows, rule = self.ranked(name, rows)
            names = [str(self.names[r]).strip() for r in rows]
            if rule is not None:  # 'Halley': the comet 1P/Halley, not the asteroid 2688 Halley
                others = names[1:]
                more = f" and {len(others) - 3} more" if len(others) > 3 else ""
                warnings.warn(f"{name!r} was taken as {names[0]!r} ({rule}); it also names "
                              f"{', '.join(map(repr, others[:3]))}{more}: give that one's number or designation "
                              "for it", UserWarning, stacklevel=stacklevel_outside(__file__))
            else:
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                warnings.warn(f"{name!r} names {len(names)} bodies of this catalogue: "
                              f"{', '.join(map(repr, names[:3]))}{more}; {names[0]!r} was taken: give the one you "
                              f"mean by its number or designation (e.g. {names[1]!r})", UserWarning,
                              stacklevel=stacklevel_outside(__file__))
        if rows:
            return rows[0]
        if left_out is not None:  # in the file, but not an orbit this package can follow: say so, not 'unknown'
            full, reason = left_out
            code = "hyperbolic-orbit" if "hyperbolic" in reason else "bad-orbit"
            raise MovingObjectError(f"{full!r} was left out of this catalogue when it was read: {reason}", code=code,
                                    value=name)
        close = self.close_names(name)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        if is_designation(name):  # '2004 MN4' (Apophis): not a typo of '(2004 MN10)', another asteroid
            hint += (f" ({str(name).strip()!r} is a designation this catalogue does not hold: give its elements, "
                     f"orbits=Orbits.from_elements([{str(name).strip()!r}], a=..., e=..., inc=..., node=..., "
                     "peri=..., mean_anomaly=..., epoch_jd=...), or an SBDB extract with read_sbdb_json)")
        looks_comet = re.match(r"^(\d*[PCDXI](?:-[A-Z])?/|\d+[PD]$)", str(name).strip(), re.I) or \
            _COMET_PHRASE.fullmatch(name_key(name))  # "Halley's comet"
        if looks_comet and not np.any(self.kind == "comet"):
            hint += (f" (it looks like a comet: comets are in {KSTARS_COMETS}, "
                     "pass orbits=read_sbdb_json(KSTARS_COMETS))")
        raise MovingObjectError(
            f"unknown body {name!r}: not a planet or the Moon, and not among the {len(self)} orbits of this "
            f"catalogue{hint}; give an asteroid's number or name (e.g. '2 Pallas'), or pass orbits that contain it "
            "(kstars-data holds the orbits of 7,098 asteroids, 3,808 of them numbered, and of some 1,500 comets on "
            "elliptic orbits: for another body read an SBDB extract with read_sbdb_json, or fetch its elements "
            "with horizons_orbits where the network reaches JPL)", code="unknown-body", value=name)

    def matches(self, name: str) -> list[int]:
        """Every row that ``name`` names, first match first (``[]`` when none): more than one where bodies share a
        name (``"Halley"`` in asteroids and comets: 2688 Halley and 1P/Halley; ``"LINEAR"``)."""
        key = name_key(name)
        if not key:
            raise MovingObjectError(f"body name {name!r} is empty; give a name or number such as 'Ceres' or '1'",
                                    code="unknown-body", value=name)
        table = self._lookup()
        if key not in table and re.fullmatch(r"2\d{6}", key):  # JPL's SPK-ID of a numbered asteroid: 2000433 is (433)
            key = str(int(key) - 2_000_000)
        if key in table:
            return [table[key], *self._shared.get(key, [])]
        m = _COMET_PHRASE.fullmatch(key)  # "Halley's comet", "Comet Hale-Bopp": the comets of that name
        return [r for r in self.matches(m.group(1) or m.group(2)) if self.kind[r] == "comet"] if m else []

    def ranked(self, name: str, rows: list[int]) -> tuple[list[int], str | None]:
        """The rows ``name`` names (:meth:`matches`), those that matter first, and the rule that makes the first the
        body meant, or None where two are equally plausible (then the caller warns or refuses, naming them).

        The rules, in order: a comet's common name (:data:`COMET_COMMON_NAMES`: ``"NEOWISE"`` is C/2020 F3, the
        comet of 2020, among 19 comets discovered by NEOWISE); a name that one numbered periodic comet and only
        asteroids bear is the comet's (``"Halley"``: 1P/Halley, over the asteroid 2688 Halley named after the same
        man; a comet seen at one return, ``C/1937 P1 (Hubble)``, is known by its designation: ``"Hubble"`` stays
        open between it and the asteroid 2069 Hubble). The order
        otherwise: numbered periodic comets, numbered asteroids, other comets, other asteroids (catalogue order
        within each: ``"Borrelly"`` lists 19P/Borrelly before 1539 Borrelly and C/1873 Q1)."""
        def tier(r: int) -> int:
            full = str(self.names[r]).strip()
            if self.kind[r] == "comet":
                return 0 if re.match(r"^\d+[PD](?:-[A-Z]+)?/", full) else 2
            return 1 if re.match(r"^\d+\s", full) else 3

        rows = sorted(rows, key=tier)
        key = name_key(name)
        phrase = _COMET_PHRASE.fullmatch(key)  # 'comet NEOWISE' is 'NEOWISE' among the comets
        common = COMET_COMMON_NAMES.get(phrase.group(1) or phrase.group(2) if phrase else key)
        if common is not None:
            for r in rows:
                if common in _aliases(str(self.names[r])):
                    return [r] + [x for x in rows if x != r], "the comet commonly called so"
        comets = [r for r in rows if self.kind[r] == "comet"]
        if len(comets) == 1 and len(rows) > 1 and tier(comets[0]) == 0:  # sorted first
            return rows, "a periodic comet's name over an asteroid's that only equals it"
        return rows, None

    def left_out(self, name: str) -> tuple[str, str] | None:
        """``(full name, reason)`` of the row ``name`` names among those left out of this catalogue (:attr:`skipped`:
        a hyperbolic comet such as C/2017 K2, a malformed orbit), else None."""
        table = getattr(self, "_left_out", None)
        if table is None:  # built once, as _lookup (each alias's first row)
            table = {}
            for full, reason in self.skipped:
                for key in _aliases(full):
                    table.setdefault(key, (full, reason))
            self._left_out = table
        return table.get(name_key(name))

    def close_names(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` catalogue names close to ``name`` (a typo such as ``"Cerez"``), best first: names only, none
        for a designation (``"2004 MN4"``, Apophis, is not a typo of ``"(2004 MN10)"``, another asteroid)."""
        import difflib

        key = name_key(name)
        if is_designation(key):  # a designation close to another is another body, not a typo ('2004 MN4')
            return []
        table = self._lookup()
        words = [k for k in table if not k.isdigit() and not is_designation(k)]
        rows = []
        for k in difflib.get_close_matches(key, words, n=4 * n, cutoff=0.75):
            if table[k] not in rows:
                rows.append(table[k])
        return [str(self.names[r]).strip() for r in rows[:n]]

    def _lookup(self) -> dict[str, int]:
        """Each alias's first row; :attr:`_shared` holds the other rows of an alias several bodies share
        ('halley': the asteroid 2688 Halley and the comet 1P/Halley)."""
        table = getattr(self, "_table", None)
        if table is None:
            table, shared = {}, {}
            for k, full in enumerate(self.names):
                for key in dict.fromkeys(_aliases(str(full))):
                    if table.setdefault(key, k) != k:
                        shared.setdefault(key, []).append(k)
            self._table, self._shared = table, shared
        return table


#: A Julian date below this (the year 1975 BC) is no osculating epoch anyone uses: it is an MJD given as a JD.
_JD_LOOKS_MJD = 1_000_000.0


def _bc_year(jd: float) -> int:
    """The (astronomical, roughly) year BC of a Julian date before year 1, for messages (0 when not finite)."""
    return int(round(4713 - jd / 365.25)) if np.isfinite(jd) else 0


def _is_time(x) -> bool:
    from astropy.time import Time

    return isinstance(x, Time)


def name_key(name) -> str:
    """The key a body's name is looked up by, here and wherever a name is compared with one (the Earth's, a
    moon's): lower case, runs of white space as one space, the brackets of ``"(2) Pallas"`` and ``"(1927 LA)"``
    dropped (``name_key("  (2)   Pallas ") == "2 pallas"``)."""
    s = re.sub(r"^\((\d+)\)", r"\1", str(name).strip())  # "(2) Pallas" -> "2 Pallas"
    return re.sub(r"\s+", " ", s.strip("()").strip().lower())


#: A comet's common name that its catalogue name shares with other comets: the one the name means (an alias of it).
#: ``"NEOWISE"`` names 19 comets of kstars-data (the survey found them); alone it means the comet of 2020.
COMET_COMMON_NAMES = {"neowise": "c/2020 f3"}

#: "Halley's comet", "comet Halley", "Hale-Bopp comet": the comets named so (a name key, lower case).
_COMET_PHRASE = re.compile(r"comet (.+)|(.+?)(?:'s|\u2019s)? comet")

#: A designation rather than a name (name keys): an asteroid's provisional one ('2004 mn4', 'a801 aa', '4007 p-l'),
#: a comet's ('c/2020 f3', 'd/1993 f2-a', '67p').
_DESIGNATION = re.compile(r"\d{4} ?[a-z]{2}\d*|[a-z]\d{3} [a-z]{2}\d*|\d{4} (?:p-l|t-[123])"
                          r"|\d*[pcdxia]/-?\d+ [a-z]{1,2}\d*(?:-[a-z]+)?|\d+[pd](?:-[a-z]+)?")


def is_designation(name) -> bool:
    """Whether ``name`` is a designation (``"2004 MN4"``, ``"(1982 HG1)"``, ``"C/2020 F3"``, ``"67P"``), not a name."""
    return _DESIGNATION.fullmatch(name_key(name)) is not None


def _aliases(full: str) -> list[str]:
    """'     1 Ceres (A801 AA)' -> ['1 ceres (a801 aa)', '1 ceres', '1', 'ceres', 'ceres (1)', 'a801 aa']; comets '1P/Halley' too."""
    s = full.strip()
    out = [name_key(s)]
    m = re.match(r"^(\d+)\s+([^()]+?)\s*(?:\(([^)]*)\))?$", s)
    if m:
        num, nm, prov = m.group(1), m.group(2), m.group(3)
        out += [name_key(f"{num} {nm}"), num, name_key(nm), name_key(f"{nm} ({num})")]
        out += [name_key(prov)] if prov else []
    m = re.match(r"^\(([^)]+)\)$", s)
    if m:
        out.append(name_key(m.group(1)))
    m = re.match(r"^(\d+[PCDXI](?:-[A-Z])?)/(.+)$", s)  # a numbered comet: '1P/Halley' -> '1p', 'halley'
    if m:
        out += [name_key(m.group(1)), name_key(m.group(2))]
    # Any other comet by its designation and its name: 'C/1995 O1 (Hale-Bopp)' -> 'c/1995 o1', 'hale-bopp'
    # (before, only the whole string: 'C/2020 F3' and 'Hale-Bopp' were unknown bodies, and 'C' named C/1680 V1)
    m = re.match(r"^([PCDXIA]/-?\d+ [A-Z]{1,2}\d*(?:-[A-Z]+)?)(?:\s*\((.+)\))?$", s)
    if m:
        out += [name_key(m.group(1))] + ([name_key(m.group(2))] if m.group(2) else [])
    return out


def _float(col):
    return np.array([np.nan if v in (None, "") else float(v) for v in col], dtype=np.float64)


def read_sbdb_json(path: Path, *, on_bad: str = "skip") -> Orbits:
    """Read a JSON extract of JPL's Small-Body Database (``{"fields": [...], "data": [[...], ...]}``).

    Asteroid files carry ``a, e, i, om, w, ma, epoch_mjd, H, G``; comet files ``q, e, i, w, om, tp,
    epoch.mjd, M1``. Rows with a bad orbit (hyperbolic comets, missing elements) are skipped and
    listed in ``Orbits.skipped`` (``on_bad="raise"`` raises instead).

    Examples
    --------
    >>> orbits = read_sbdb_json(KSTARS_ASTEROIDS)  # doctest: +SKIP
    >>> orbits.names[orbits.find("Pallas")]  # doctest: +SKIP
    '     2 Pallas (A802 FA)'
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        fields, rows = doc["fields"], doc["data"]
    except FileNotFoundError as exc:
        raise MovingObjectError(f"orbit file {path} does not exist (Debian's kstars-data installs "
                                f"{KSTARS_ASTEROIDS})", code="no-orbits", value=str(path)) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MovingObjectError(f"orbit file {path} is not an SBDB JSON extract: {exc}", code="bad-orbit",
                                value=str(path)) from exc
    cols = {name: [r[k] for r in rows] for k, name in enumerate(fields)}
    names = [str(v).strip() for v in cols["full_name"]]
    if "ma" in cols:  # asteroids
        return Orbits.from_elements(
            names, a=_float(cols["a"]), e=_float(cols["e"]), inc=_float(cols["i"]), node=_float(cols["om"]),
            peri=_float(cols["w"]), mean_anomaly=_float(cols["ma"]), epoch_jd=_float(cols["epoch_mjd"]) + _MJD_TO_JD,
            h=_float(cols["H"]), g=np.where(np.isfinite(_float(cols["G"])), _float(cols["G"]), 0.15),
            kind="asteroid", on_bad=on_bad)
    epoch = _float(cols.get("epoch.mjd", cols.get("epoch_mjd"))) + _MJD_TO_JD
    return Orbits.from_elements(
        names, q=_float(cols["q"]), e=_float(cols["e"]), inc=_float(cols["i"]), node=_float(cols["om"]),
        peri=_float(cols["w"]), tp_jd=_float(cols["tp"]), epoch_jd=epoch, h=_float(cols.get("M1", [None] * len(rows))),
        g=10.0, kind="comet", on_bad=on_bad)


def default_orbits() -> Orbits:
    """The asteroids of Debian's ``kstars-data`` (JPL's SBDB, epoch MJD 59800): 7,098 orbits, 3,808 of them of
    numbered asteroids; its 7,099th row, ``(2002 PD153)``, lacks an angle and is left out (:attr:`Orbits.skipped`).

    Examples
    --------
    >>> orbits = default_orbits()                      # doctest: +SKIP
    >>> print(len(orbits), orbits.names[orbits.find("Pallas")])   # doctest: +SKIP
    7098 2 Pallas (A802 FA)
    """
    return read_sbdb_json(KSTARS_ASTEROIDS)


def known_orbits() -> Orbits:
    """Every body of Debian's ``kstars-data`` that two-body propagation can follow: its asteroids, then its
    comets (1,566 periodic and elliptic ones; hyperbolic and parabolic comets are left out, see ``skipped``).

    What :func:`~platform_lib.moving.bodies_in_images` searches by default; a name several bodies share is
    resolved by :meth:`Orbits.ranked` (``"Halley"`` is the comet 1P/Halley, with a warning naming the asteroid
    2688 Halley).
    """
    return Orbits.concat(read_sbdb_json(KSTARS_ASTEROIDS), read_sbdb_json(KSTARS_COMETS))
