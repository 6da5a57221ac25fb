"""Pictures of a moving-object search: the track with its space-time boxes and the matched footprints,
all-sky (Mollweide) and zoomed on one match, like KOA's MOSS figures (matplotlib, :func:`plot_search`),
and the same as plain sky geometry (:func:`sky_layers`) that ``platform_lib.viz`` draws in the Aladin
widget.

Imports matplotlib (only when called), numpy and this package.
"""

from __future__ import annotations

import numpy as np

from platform_lib.imageindex.sphere import xyz_to_radec
from platform_lib.moving.search import mjd_utc_to_jd_tdb

__all__ = ["plot_search", "sky_layers"]

_MJD = 2400000.5


def _wrap(ra_deg):
    """RA in degrees to Mollweide longitude in radians (RA increasing to the left, 0 in the middle)."""
    return -np.deg2rad(((np.asarray(ra_deg) + 180.0) % 360.0) - 180.0)


def _lon_spans(ra0: float, ra1: float) -> list[tuple[float, float]]:
    """The RA interval ``ra0``..``ra1`` (degrees, ``ra1 >= ra0``) as Mollweide longitude intervals (lo, hi) in
    radians: two where it crosses RA = 12h, the map's edge (one rectangle from one edge would be drawn off the
    map, and the box is lost)."""
    lo = ((ra0 + 180.0) % 360.0) - 180.0  # the map's centred longitude of ra0, east positive
    hi = lo + min(ra1 - ra0, 360.0)
    spans = [(lo, min(hi, 180.0))] + ([(-180.0, hi - 360.0)] if hi > 180.0 else [])
    return [(-np.deg2rad(b), -np.deg2rad(a)) for a, b in spans]  # RA increases to the left


def _box_extents(search):
    """Per box: (ra_min, ra_max, dec_min, dec_max) of the track points it holds, padded by the tolerance."""
    track = search.track
    mjd = track.jd - _MJD
    pad = search.table.meta.get("tolerance_arcsec", 0.0) / 3600.0
    ra, dec = track.ra, track.dec
    out = []
    for b in search.boxes:
        sel = (mjd >= b[6] - 1e-6) & (mjd <= b[7] + 1e-6)
        if not sel.any():
            continue
        r = ra[sel]
        if r.max() - r.min() > 180:  # across RA = 0
            r = np.where(r > 180, r - 360, r)
        out.append((r.min() - pad, r.max() + pad, dec[sel].min() - pad, dec[sel].max() + pad))
    return out


def _track_pieces(ra: np.ndarray, dec: np.ndarray, max_points: int) -> list[np.ndarray]:
    """The track as (n, 2) [ra, dec] pieces, cut where it crosses RA = 0 (a viewer would otherwise draw a
    line across the sky), every ``k``-th point kept so at most ``max_points`` in all (the last kept too)."""
    step = max(1, int(np.ceil(len(ra) / max_points)))
    keep = np.unique(np.append(np.arange(0, len(ra), step), len(ra) - 1)) if len(ra) else np.arange(0)
    ra, dec = ra[keep], dec[keep]
    cuts = np.flatnonzero(np.abs(np.diff(ra)) > 180.0) + 1
    return [np.column_stack([r, d]) for r, d in zip(np.split(ra, cuts), np.split(dec, cuts)) if len(r) > 1]


def sky_layers(search, *, max_points: int = 10_000) -> dict:
    """The search as sky geometry in degrees (ICRS), for a viewer to draw.

    Returns
    -------
    dict
        ``body``; ``track``: a list of (n, 2) [ra, dec] polylines (the geocentric track, cut at RA = 0,
        at most ``max_points`` points); ``boxes``: one (4, 2) corner list per space-time box (the RA/Dec
        range of the track points it holds, padded by the tolerance, as :func:`plot_search` draws
        them); ``hits`` and ``near_misses``: ``{obs_id: (k, 2) footprint vertices}``; ``table``: the
        search's table; ``focus``: ``(ra, dec, fov)`` in degrees around the first hit (else the first
        near miss), or, when nothing matched, framing the track (at most 180 degrees wide, on its middle point
        when it goes round the sky).
    """
    track = search.track
    boxes = []
    for ra0, ra1, d0, d1 in _box_extents(search):
        d0, d1 = max(d0, -90.0), min(d1, 90.0)
        boxes.append(np.array([[ra0 % 360.0, d0], [ra1 % 360.0, d0], [ra1 % 360.0, d1], [ra0 % 360.0, d1]]))
    t = search.table
    hit_ids = set(t["obs_id"][t["hit"]]) if len(t) else set()
    hits, near = {}, {}
    for oid, verts in search.footprints.items():
        vra, vdec = xyz_to_radec(np.asarray(verts))
        (hits if oid in hit_ids else near)[str(oid)] = np.column_stack([vra, vdec])
    focus = None
    if len(t):
        order = np.flatnonzero(t["hit"])
        row = t[int(order[0]) if len(order) else 0]
        ra0, dec0 = float(row["ra"]), float(row["dec"])
        fov = 0.05
        poly = hits.get(str(row["obs_id"]), near.get(str(row["obs_id"])))
        if poly is not None:  # three times the footprint's size, at least 3 arcmin
            c = np.asarray(search.footprints[row["obs_id"]])
            centre = c.sum(axis=0) / np.linalg.norm(c.sum(axis=0))
            size = np.rad2deg(np.max(np.arccos(np.clip(c @ centre, -1.0, 1.0)))) * 2.0
            fov = max(fov, 3.0 * size)
        focus = (ra0, dec0, float(fov))
    elif len(track.jd):  # nothing matched: frame the track (a viewer left at its default showed empty sky)
        focus = _track_frame(np.asarray(track.xyz))
    return {"body": track.body, "track": _track_pieces(track.ra, track.dec, max_points), "boxes": boxes,
            "hits": hits, "near_misses": near, "table": t, "focus": focus}


def _track_frame(xyz: np.ndarray) -> tuple[float, float, float]:
    """``(ra, dec, fov)`` in degrees that frame a track of unit vectors: its mean direction, and 5 times its reach
    from there (0.5 to 180 degrees), as ``viz`` frames a region (a notebook's view is 2-3 times wider than high); a
    track round the whole sky (no mean direction) is framed 180 degrees wide on its middle point."""
    mean = xyz.sum(axis=0)
    norm = float(np.linalg.norm(mean))
    if norm > 1e-6 * len(xyz):
        centre = mean / norm
        reach = float(np.rad2deg(np.max(np.arccos(np.clip(xyz @ centre, -1.0, 1.0)))))
    else:
        centre, reach = xyz[len(xyz) // 2], 90.0
    ra, dec = xyz_to_radec(centre[None, :])
    return float(ra[0]), float(dec[0]), float(np.clip(5.0 * reach, 0.5, 180.0))


def plot_search(search, *, obs_id: str | None = None, figsize=(12, 4.8)):
    """Two panels: the whole track on the sky with boxes and matched images, and a zoom on one match.

    Parameters
    ----------
    search
        An :class:`~platform_lib.moving.search.ImageSearch`.
    obs_id
        The match to zoom on (default: the first hit, else the first near miss).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon as MplPolygon
    from matplotlib.patches import Rectangle

    fig = plt.figure(figsize=figsize)
    sky = fig.add_subplot(1, 2, 1, projection="mollweide")
    track = search.track
    sky.plot(_wrap(track.ra), np.deg2rad(track.dec), ".", ms=1, color="0.4", label=f"{track.body} (daily)")
    for ra0, ra1, d0, d1 in _box_extents(search):
        for x0, x1 in _lon_spans(ra0, ra1):
            sky.add_patch(Rectangle((x0, np.deg2rad(d0)), x1 - x0, np.deg2rad(d1 - d0), fill=False, lw=0.6,
                                    color="tab:blue", zorder=3))
    t = search.table
    if len(t):
        sky.plot(_wrap(t["ra"][t["hit"]]), np.deg2rad(t["dec"][t["hit"]]), "o", color="tab:red", ms=5, label="hits")
        sky.plot(_wrap(t["ra"][~t["hit"]]), np.deg2rad(t["dec"][~t["hit"]]), "x", color="tab:orange", ms=5,
                 label="near misses")
    sky.set_xticks(np.deg2rad(np.arange(-150, 151, 30)))
    # the RA labels sit on the equator, inside the map, where a track near the ecliptic runs: a white halo keeps
    # them readable over it (as viz's all-sky maps write them)
    from matplotlib import patheffects

    sky.set_xticklabels([f"{int(h)}h" for h in (10, 8, 6, 4, 2, 0, 22, 20, 18, 16, 14)], fontsize=7,
                        path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])
    # every 30 deg of Dec: matplotlib's 15 put 75 deg's label beside the map's top, under the title
    sky.set_yticks(np.deg2rad(np.arange(-60, 61, 30)))
    sky.tick_params(axis="y", labelsize=7)
    sky.grid(True, lw=0.3)
    sky.set_title(f"{track.body}: track, {len(search.boxes)} space-time boxes, {len(t)} matches", fontsize=9)
    sky.legend(loc="lower right", fontsize=7)

    zoom = fig.add_subplot(1, 2, 2)
    pick = None
    if len(t):
        if obs_id is not None:
            found = np.flatnonzero(t["obs_id"] == obs_id)
            if not len(found):
                raise ValueError(f"obs_id {obs_id!r} is not among this search's matches {list(t['obs_id'])}")
            pick = int(found[0])
        else:
            hits = np.flatnonzero(t["hit"])
            pick = int(hits[0]) if len(hits) else 0
    if pick is None:
        zoom.text(0.5, 0.5, "no image contains the body", ha="center", va="center", transform=zoom.transAxes)
        zoom.set_axis_off()
        return fig
    row = t[pick]
    ra0, dec0 = float(row["ra"]), float(row["dec"])
    cosd = np.cos(np.deg2rad(dec0))

    def local(ra, dec):
        dra = ((np.asarray(ra) - ra0 + 180.0) % 360.0) - 180.0
        return dra * cosd * 60.0, (np.asarray(dec) - dec0) * 60.0  # arcmin, east to the left

    if search.body is not None:  # the track seen from the search's site, every 6 minutes: the geocentric track
        # ran up to a degree from the Moon seen from Keck (its parallax)
        body = search.body
        mid = float(mjd_utc_to_jd_tdb(np.array([float(row["t_mid"])]))[0])
        jd = np.clip(mid + np.linspace(-3.0, 3.0, 1441), body.ss.jd_min, body.ss.jd_max)
        tra, tdec = xyz_to_radec(body.positions(jd)[0])
        x, y = local(tra, tdec)
        zoom.plot(x, y, "-", color="0.5", lw=0.8, label=f"track from {body.site.name} (±3 days)")
    else:
        near = np.abs(track.jd - (float(row["t_mid"]) + _MJD)) <= 3.0
        x, y = local(track.ra[near], track.dec[near])
        zoom.plot(x, y, "-", color="0.5", lw=0.8, label="track (±3 days, daily points)")
    hit_of = dict(zip(t["obs_id"].tolist(), t["hit"].tolist()))
    kinds = set()
    outlines = []  # (obs_id, its outline in arcmin, colour): named once the view's limits are set
    for oid, verts in search.footprints.items():
        vra, vdec = xyz_to_radec(np.asarray(verts))
        fx, fy = local(vra, vdec)
        if np.max(np.abs(fx)) > 600 or np.max(np.abs(fy)) > 600:
            continue
        # as on the sky panel and in the Aladin view: hits red, near misses orange; the zoomed image thicker
        colour = "tab:red" if hit_of.get(oid, False) else "tab:orange"
        kinds.add(colour)
        zoom.add_patch(MplPolygon(np.column_stack([fx, fy]), closed=True, fill=False, color=colour,
                                  lw=2.0 if oid == row["obs_id"] else 1.0))
        outlines.append((oid, np.column_stack([fx, fy]), colour))
    for colour, label in (("tab:red", "footprint containing it"), ("tab:orange", "near miss footprint")):
        if colour in kinds:
            zoom.plot([], [], "-", color=colour, label=label)
    zoom.plot([0], [0], "o", color="black", ms=4, label=f"{track.body} at mid-exposure")
    zoom.set_xlabel("ΔRA cos Dec (arcmin)")
    zoom.set_ylabel("ΔDec (arcmin)")
    zoom.invert_xaxis()
    zoom.set_aspect("equal", adjustable="box")
    # the zoomed image whole, with a margin (a 6' image centred on the body had its edges on the frame, a larger
    # one none in view), and at least 3' or three times the body's distance from its centre
    lim = max(3.0, float(row["centre_sep"]) / 60.0 * 3)
    verts = search.footprints.get(row["obs_id"])
    if verts is not None:
        fx, fy = local(*xyz_to_radec(np.asarray(verts)))
        lim = max(lim, min(600.0, 1.2 * float(np.max(np.abs(np.concatenate([fx, fy]))))))
    zoom.set_xlim(lim, -lim)
    zoom.set_ylim(-lim, lim)
    zoom.legend(fontsize=7, loc="upper left")
    zoom.set_title(f"{row['obs_id']} (MJD {float(row['t_mid']):.4f}): "
                   f"{'inside' if row['hit'] else 'near miss'}, {float(row['edge_sep']):.1f}\" from the edge",
                   fontsize=9)
    fig.tight_layout()
    _name_footprints(zoom, outlines, lim)
    return fig


def _name_footprints(zoom, outlines, lim: float) -> None:
    """Each footprint of the zoomed panel in view named at the middle of its highest edge in view, placed by
    :func:`platform_lib.viz.place_labels` (no name over another, a tick label, the legend or the title; points too
    near share one label; a name with no room is left out, with a warning). Named at a corner of each outline,
    the images of one field at other dates wrote their names over each other, and an image whose corner was out
    of view went unnamed."""
    import warnings

    from platform_lib.errors import stacklevel_outside
    from platform_lib.viz import place_labels

    anchors, names, colours = [], [], []
    for oid, outline, colour in outlines:
        ends = np.vstack([outline, outline[:1]])
        steps = np.linspace(0.0, 1.0, 65)[:, None, None]  # each edge at 64 steps
        edge = (ends[:-1] + steps * (ends[1:] - ends[:-1])).reshape(-1, 2)
        seen = edge[(np.abs(edge) <= lim).all(axis=1)]
        if not len(seen):
            continue
        top = seen[seen[:, 1] >= seen[:, 1].max() - 1e-6 * lim]
        anchors.append(((top[:, 0].min() + top[:, 0].max()) / 2, top[0, 1]))
        names.append(str(oid))
        colours.append(colour)
    if not anchors:
        return
    x, y = np.array(anchors).T
    left_out = place_labels(zoom, x, y, names, colors=colours, inside_axes=True)
    if left_out:
        warnings.warn(f"{len(left_out)} footprint names left out where they would overlap other text: "
                      f"{', '.join(left_out)}", stacklevel=stacklevel_outside(__file__))
