"""An optional adapter to JPL Horizons: osculating elements of any body, where the network reaches JPL.

The platform runs offline, so nothing else in this package calls it: use it from a notebook when the
network is there, to fetch elements at an epoch near your observations (two-body drifts with the
distance from the epoch, see ``docs/moving-objects.md``), then search offline with the returned
:class:`~platform_lib.moving.orbits.Orbits`. Requires ``astroquery`` (an adapter module: the only one
here that imports it), whose exceptions are translated to :class:`MovingObjectError`.
"""

from __future__ import annotations

import numpy as np

from platform_lib.moving.errors import MovingObjectError
from platform_lib.moving.orbits import Orbits

__all__ = ["horizons_orbits"]


def horizons_orbits(ids, epoch) -> Orbits:
    """Heliocentric ecliptic J2000 osculating elements from JPL Horizons for ``ids`` at ``epoch``.

    Parameters
    ----------
    ids
        One Horizons designation or a list (``"Ceres"``, ``"2P"``, ``"433"``).
    epoch
        An astropy ``Time``: the elements' epoch (TDB).

    Examples
    --------
    >>> from astropy.time import Time
    >>> orbits = horizons_orbits(["Ceres", "Pallas"], Time("2024-06-01"))  # doctest: +SKIP
    """
    try:
        from astroquery.jplhorizons import Horizons
    except ImportError as exc:
        raise MovingObjectError("the Horizons adapter needs astroquery (pip install astroquery)",
                                code="no-horizons", value=None) from exc
    jd = float(epoch.tdb.jd)
    names, rows = [], []
    for body in [ids] if isinstance(ids, str) else list(ids):
        try:
            table = Horizons(id=body, location="500@10", epochs=jd).elements(refplane="ecliptic")
        except ValueError as exc:  # Horizons' own answer: unknown or ambiguous body
            raise MovingObjectError(f"JPL Horizons does not know {body!r} as one body: {exc}",
                                    code="unknown-body", value=body) from exc
        except Exception as exc:  # network, timeouts, service errors
            raise MovingObjectError(f"JPL Horizons could not be reached for {body!r} ({exc}); this platform "
                                    "runs offline: use the shipped orbits (default_orbits())",
                                    code="horizons-unreachable", value=body) from exc
        row = table[0]
        names.append(str(row["targetname"]))
        rows.append([float(row[c]) for c in ("a", "e", "incl", "Omega", "w", "M", "datetime_jd")])
        h = row["H"] if "H" in table.colnames else np.nan
        g = row["G"] if "G" in table.colnames else 0.15
        rows[-1] += [float(h) if not np.ma.is_masked(h) else np.nan, float(g) if not np.ma.is_masked(g) else 0.15]
    arr = np.array(rows, dtype=np.float64)
    return Orbits.from_elements(names, a=arr[:, 0], e=arr[:, 1], inc=arr[:, 2], node=arr[:, 3], peri=arr[:, 4],
                                mean_anomaly=arr[:, 5], epoch_jd=arr[:, 6], h=arr[:, 7], g=arr[:, 8])
