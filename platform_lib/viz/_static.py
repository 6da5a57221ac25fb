"""Static sky figures with matplotlib, for papers and for users without a browser: all-sky (Mollweide or
Aitoff) and zoomed (a gnomonic WCS view around a centre) pictures of positions, footprints, MOCs, HEALPix
sky maps with credible contours, and crossmatch diagnostics.

Every ``plot_*`` returns a :class:`matplotlib.figure.Figure` (drawn with the object-oriented API, no
pyplot state, so it works with the Agg backend on a server). Large tables are drawn as a density image,
never point by point. May import numpy, matplotlib, astropy, cdshealpix and this package's inputs.
"""

from __future__ import annotations

import numpy as np

from platform_lib.viz._errors import VizError
from platform_lib.viz._inputs import footprints as _footprints
from platform_lib.viz._inputs import (color_values, field_of_view, healpix_map, is_job, is_magnitude, job_result,
                                      numeric_column, positions, result_table, scaled, text_column, warn_left_out)
from platform_lib.viz._inputs import sky_position as _center

__all__ = ["plot", "plot_table", "plot_footprints", "plot_moc", "plot_skymap", "plot_crossmatch", "plot_healpix", "credible_region",
           "PROJECTIONS", "SCATTER_LIMIT"]

PROJECTIONS = ("mollweide", "aitoff")
#: Above this many points, tables are drawn as a density image.
SCATTER_LIMIT = 50_000
FIGSIZE = (10, 5.6)


def _figure(figsize=FIGSIZE):
    from matplotlib.figure import Figure

    class SkyFigure(Figure):
        """A matplotlib Figure that shows itself as a PNG in a notebook, with or without pyplot."""

        def _repr_png_(self) -> bytes:
            import io

            buf = io.BytesIO()
            self.savefig(buf, format="png")
            return buf.getvalue()

    return SkyFigure(figsize=figsize, dpi=100, layout="constrained")


def _allsky_axes(fig, projection: str):
    if projection not in PROJECTIONS:
        raise VizError(f"projection must be one of {PROJECTIONS}, got {projection!r}", value=projection)
    ax = fig.add_subplot(1, 1, 1, projection=projection)
    ax.grid(True, alpha=0.4)
    # astronomers' convention: RA grows to the left, 0h..24h labels
    degrees = np.arange(-150, 180, 30)  # whole degrees: the labels from radians read 29.999... as 1h
    ax.set_xticks(np.radians(degrees))
    # the RA labels sit inside the map, over the data: dark text with a white halo reads on any colour map
    from matplotlib import patheffects

    ax.set_xticklabels([f"{int(-d) % 360 // 15}h" for d in degrees], fontsize=8, color="black",
                       path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])
    ax.set_xlabel("RA (ICRS)")
    ax.set_ylabel("Dec (ICRS)")
    return ax


def _xy(ra, dec):
    """Matplotlib's all-sky axes coordinates (radians, RA to the left)."""
    lon = -((np.asarray(ra) + 180.0) % 360.0 - 180.0)
    return np.radians(lon), np.radians(np.asarray(dec))


def _zoom_axes(fig, center, radius):
    """A gnomonic (TAN) WCS axes of half-width ``radius`` around ``center`` (:func:`_center`)."""
    import astropy.units as u
    from astropy.wcs import WCS

    r = field_of_view(radius, "radius")
    if not 0 < r < 80:
        raise VizError(f"a zoomed view needs 0 < radius < 80 deg, got {radius}", value=radius)
    icrs = _center(center).icrs
    npx = 600
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [icrs.ra.deg, icrs.dec.deg]
    wcs.wcs.crpix = [npx / 2 + 0.5, npx / 2 + 0.5]
    wcs.wcs.cdelt = [-2 * r / npx, 2 * r / npx]
    ax = fig.add_subplot(1, 1, 1, projection=wcs)
    ax.set_xlim(-0.5, npx - 0.5)
    ax.set_ylim(-0.5, npx - 0.5)
    # the view is the square asked for: with the default datalim adjustment the figure's width showed more RA
    # than the radius (sources beyond it drawn, and counted in no title)
    ax.set_aspect("equal", adjustable="box")
    ax.coords.grid(True, color="gray", alpha=0.5, ls=":")
    # named on the coordinates, not the axes: near a pole ax.set_ylabel did not reach Dec's (it read "pos.eq.dec")
    ax.coords[0].set_axislabel("RA (ICRS)")
    ax.coords[1].set_axislabel("Dec (ICRS)")
    _readable_ticks(ax)
    return ax, wcs


def _readable_ticks(ax) -> None:
    """Tick labels that never run into each other, at any zoom and position (near a pole the meridians
    converge at the top edge, where WCSAxes put the RA labels: they overlapped each other and the title).

    RA is labelled along the bottom edge and Dec along the left one (every north-up gnomonic view has
    meridians crossing its bottom edge and parallels crossing its left one, the pole in view or not); the
    spacing is WCSAxes' own, chosen from each coordinate's span in the view (1h, 2m, 5s, 30', 15" ...) and
    written in the units that spacing needs; a label that would still touch one already drawn (say two
    crowded meridians, or the corner where RA's and Dec's labels meet) is left out."""
    for coord, side in zip(ax.coords, "bl"):
        coord.set_ticklabel_position(side)
        coord.set_axislabel_position(side)
        coord.set_ticklabel(exclude_overlapping=True)


def _grid(width: int = 720):
    """Cell-centre lon/lat (deg) of an all-sky grid, and their matplotlib all-sky edges."""
    height = width // 2
    lon_e = np.linspace(180, -180, width + 1)
    lat_e = np.linspace(-90, 90, height + 1)
    lon_c = 0.5 * (lon_e[1:] + lon_e[:-1])
    lat_c = 0.5 * (lat_e[1:] + lat_e[:-1])
    LON, LAT = np.meshgrid(lon_c % 360, lat_c)
    return LON, LAT, np.radians(-lon_e), np.radians(lat_e)  # x edges run -pi..+pi as RA runs 180..-180


class _MultiOrderValues:
    """Values per pixel of a multi-order sky map (``platform_lib.skymap.SkyMap``), sampled at the drawn
    points through the map's own pixel lookup: no flattening to its finest order (12.6 million pixels
    at nside 1024, 2.6 s) for a picture of a few hundred thousand points."""

    def __init__(self, skymap, values: np.ndarray, outside: float) -> None:
        self.skymap, self.values, self.outside = skymap, np.asarray(values, dtype=np.float64), outside

    def sample(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        import astropy.units as u

        idx = self.skymap.pixel_index(lon.ravel() % 360 * u.deg, np.clip(lat.ravel(), -90, 90) * u.deg)
        return np.where(idx >= 0, self.values[np.maximum(idx, 0)], self.outside).reshape(lon.shape)


def _sample_healpix(values, order: int, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    import astropy.units as u
    import cdshealpix.nested as hp

    if isinstance(values, _MultiOrderValues):
        return values.sample(lon, lat)

    cell = hp.lonlat_to_healpix((lon.ravel() % 360) * u.deg, np.clip(lat.ravel(), -90, 90) * u.deg, order)
    return values[cell.astype(np.int64)].reshape(lon.shape)


def _draw_healpix_allsky(ax, values, order, cmap="viridis", log=False, label=None):
    LON, LAT, xe, ye = _grid()
    img = _sample_healpix(values, order, LON, LAT)
    if log:
        img = np.log10(1 + img)
    mesh = ax.pcolormesh(xe, ye, img, cmap=cmap, shading="flat", rasterized=True)
    cbar = ax.figure.colorbar(mesh, ax=ax, orientation="horizontal", shrink=0.6, pad=0.05)
    if label:
        cbar.set_label(label)
    return img


def _draw_healpix_zoom(ax, wcs, values, order, cmap="viridis", log=False, label=None):
    ny, nx = 600, 600
    y, x = np.mgrid[0:ny, 0:nx]
    lon, lat = wcs.pixel_to_world_values(x.ravel(), y.ravel())
    img = _sample_healpix(values, order, np.asarray(lon).reshape(ny, nx), np.asarray(lat).reshape(ny, nx))
    if log:
        img = np.log10(1 + img)
    im = ax.imshow(img, origin="lower", cmap=cmap)
    cbar = ax.figure.colorbar(im, ax=ax, shrink=0.7)
    if label:
        cbar.set_label(label)
    return img


def plot_table(table, *, projection: str = "mollweide", center=None, radius=None, ra: str | None = None,
               dec: str | None = None, title: str | None = None, color: str = "tab:orange", size: str | None = None,
               cmap: str = "viridis", label: str | None = None, fig=None):
    """Positions of a table (or ``SkyCoord``): all-sky (``projection``) or zoomed (``center`` and ``radius``).

    Up to :data:`SCATTER_LIMIT` points are drawn as points; more as a density image (sources per
    HEALPix cell, log scale), so any size of table is fine. ``color``: a colour, or a column to colour the
    points by (``cmap``, between its 2nd and 98th percentiles, with a colour bar; above the limit, its mean
    per cell); ``size``: a column to size the points by (a magnitude: the brightest largest); ``label``: a
    column naming each point (at most :data:`LABEL_LIMIT` points), written beside it where it overlaps no other
    text (points too near to tell apart share one label; one with no room is left out, with a warning naming it).

    Examples
    --------
    >>> from astropy.table import Table
    >>> from platform_lib import viz
    >>> stars = Table({"name": ["Alcyone", "Vega", "Betelgeuse"], "ra": [56.871, 279.235, 88.793],
    ...                "dec": [24.105, 38.784, 7.407], "Vmag": [2.87, 0.03, 0.42]})
    >>> fig = viz.plot_table(stars, label="name", size="Vmag", title="three stars")   # all-sky
    >>> fig = viz.plot_table(stars, center="56.75 24.12", radius="2 deg", color="Vmag")  # zoomed, coloured
    >>> fig.savefig("stars.png")                                       # doctest: +SKIP
    """
    if hasattr(table, "to_table") and not hasattr(table, "colnames") and not hasattr(table, "frame"):
        table = result_table(table)  # a pyvo result, once (a SkyCoord has a to_table of its own frame)
    pos = positions(table, ra, dec)
    warn_left_out(_row_count(table), pos.rows, (pos.ra_column, pos.dec_column), "the figure")
    by_color = color_values(table, color)
    by_color = None if by_color is None else by_color[pos.rows]
    by_size = None if size is None else numeric_column(table, size, "size")[pos.rows]
    names = None if label is None else text_column(table, label, "label")[pos.rows]
    fig = fig or _figure()
    ra_v, dec_v = pos.ra, pos.dec
    if center is not None:
        import astropy.units as u
        from astropy.coordinates import SkyCoord

        r = (field_of_view(radius, "radius") if radius is not None else 1.0) * u.deg
        center = _center(center)
        ax, wcs = _zoom_axes(fig, center, r)
        near = center.icrs.separation(SkyCoord(pos.ra, pos.dec, unit="deg")) < r * 1.5  # the view and its corners
        px, py = wcs.world_to_pixel_values(pos.ra[near], pos.dec[near])
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()  # the view _zoom_axes made
        in_view = int(((px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)).sum())
        ra_v, dec_v = pos.ra[near], pos.dec[near]
        by_color = None if by_color is None else by_color[near]
        by_size = None if by_size is None else by_size[near]
        names = None if names is None else names[near]
    else:
        ax = _allsky_axes(fig, projection)
    n = ra_v.size
    shown = f"{n} sources" if center is None else f"{in_view} sources in this {_angle(2 * r)} field"
    drawn = ""
    if n > SCATTER_LIMIT:
        from platform_lib.viz._hips import density_map, healpix29

        # cells about 1/150 of the view across; all-sky: order 6
        order = 6 if center is None else int(np.clip(np.floor(np.log2(58.6 / (2 * r.to_value(u.deg) / 150))), 3, 13))
        cell = f"HEALPix order-{order} cell ({_angle(58.6 / 2**order)})"
        label = f"log10(1 + sources per {cell})" if by_color is None else f"mean {color} per {cell}"
        # the title says the points were binned: a density image is not every source drawn
        drawn = f": over {SCATTER_LIMIT:,} points, drawn as a density of sources per {cell}"
        ipix = healpix29(ra_v, dec_v)
        values = density_map(ipix, order)
        if by_color is not None:  # the column's mean per cell (NaN where no source has a value)
            good = np.isfinite(by_color)
            sums = np.bincount(ipix[good] >> (2 * (29 - order)), weights=by_color[good], minlength=values.size)
            had = density_map(ipix[good], order)
            values = np.where(had > 0, sums / np.maximum(had, 1), np.nan)
        draw = _draw_healpix_allsky if center is None else lambda *a, **k: _draw_healpix_zoom(ax, wcs, *a[1:], **k)
        draw(ax, values, order, cmap="magma" if by_color is None else cmap, log=by_color is None, label=label)
    else:
        x, y = _xy(ra_v, dec_v) if center is None else (ra_v, dec_v)
        points = {"s": (np.nan_to_num(scaled(by_size, 1.0, 40.0, is_magnitude(table, size)), nan=1.0)
                        if by_size is not None else max(0.5, min(8, 2e4 / max(n, 1))) if center is None
                        else max(1.0, min(12, 3e3 / max(n, 1))))}
        if by_color is not None:
            lo, hi = (np.nanpercentile(by_color, [2, 98]) if np.isfinite(by_color).any() else (0.0, 1.0))
            from matplotlib import colormaps

            points.update(c=by_color, cmap=colormaps[cmap].with_extremes(bad="#9e9e9e"), vmin=lo, vmax=hi,
                          plotnonfinite=True)
        else:
            points["color"] = color
        if center is not None:
            points["transform"] = ax.get_transform("world")
        else:
            points.update(alpha=0.8, linewidths=0)
        dots = ax.scatter(x, y, **points)
        if by_color is not None:
            fig.colorbar(dots, ax=ax, orientation="horizontal" if center is None else "vertical", shrink=0.6,
                         pad=0.05, label=color)
    left_out = _row_count(table) - pos.rows.size
    left_out = f"; {left_out} without a position left out" if left_out > 0 else ""
    ax.set_title(title or f"{shown} ({pos.ra_column}, {pos.dec_column}){drawn}{left_out}", wrap=True)
    if names is not None:
        _label_points(ax, ra_v, dec_v, names, center is None)
    return fig


#: The most points ``plot_table(..., label=...)`` names (more are a crowd no label can be read in).
LABEL_LIMIT = 500


def _label_points(ax, ra, dec, names, allsky: bool) -> None:
    """``names`` beside the points (:func:`~platform_lib.viz._labels.place_labels`); a warning names those left out."""
    import warnings

    from platform_lib.errors import stacklevel_outside
    from platform_lib.viz._labels import place_labels

    if len(names) > LABEL_LIMIT:
        raise VizError(f"label= names each point, and there are {len(names)} here: at most {LABEL_LIMIT} are "
                       "labelled (select the rows to name first, or zoom with center= and radius=)", value=len(names))
    x, y = _xy(ra, dec) if allsky else (ra, dec)
    left_out = place_labels(ax, x, y, names, transform=None if allsky else ax.get_transform("world"))
    if left_out:
        warnings.warn(f"{len(left_out)} labels left out where they would overlap other text: "
                      f"{', '.join(left_out[:10])}{' ...' if len(left_out) > 10 else ''}",
                      stacklevel=stacklevel_outside(__file__))


def _angle(value) -> str:
    """An angle for a figure's text, in the unit that reads best (1.5°, 12′, 30″)."""
    import astropy.units as u

    deg = u.Quantity(value, u.deg).to_value(u.deg)  # a number: degrees
    if deg >= 1:
        return f"{deg:.3g}°"
    if deg * 60 >= 1:
        return f"{deg * 60:.3g}′"
    return f"{deg * 3600:.3g}″"


def _row_count(table) -> int:
    """The rows of a table, DataFrame or ``SkyCoord`` (a scalar one: 1)."""
    try:
        return len(table)
    except TypeError:
        return 1


def _allsky_pieces(poly: np.ndarray) -> list[np.ndarray]:
    """A polygon in all-sky axes coordinates (radians), repeated across the RA = 180 deg edge if it
    crosses it (the map's boundary clips each copy)."""
    ra, dec = poly[:, 0], poly[:, 1]
    un = ra[0] + ((ra - ra[0] + 180.0) % 360.0 - 180.0)  # continuous around the polygon
    un = un - 360.0 * np.floor((un.mean() + 180.0) / 360.0)
    pieces = [un]
    if un.max() > 180:
        pieces.append(un - 360.0)
    if un.min() < -180:
        pieces.append(un + 360.0)
    return [np.column_stack([np.radians(-p), np.radians(dec)]) for p in pieces]


def plot_footprints(result, *, projection: str = "mollweide", center=None, radius=None, column: str = "s_region",
                    title: str | None = None, auto_zoom: bool = True, fig=None):
    """The footprints (``s_region``) of an SIA v2 / ObsCore result: all-sky, or zoomed on ``center``
    (with ``auto_zoom``, the default, footprints spanning less than 30 degrees are framed in a zoomed view)."""
    from matplotlib.patches import Polygon

    polys, rows = _footprints(result, column)
    warn_left_out(_row_count(result), np.unique(rows), (column,), "the figure", trouble="no footprint (a blank or null value)")
    fig = fig or _figure()
    allv = np.vstack(polys)
    if center is None and auto_zoom:
        from astropy.coordinates import SkyCoord

        mid = SkyCoord(ra=np.degrees(np.arctan2(np.sin(np.radians(allv[:, 0])).mean(),
                                                np.cos(np.radians(allv[:, 0])).mean())) % 360,
                       dec=allv[:, 1].mean(), unit="deg")
        sep = mid.separation(SkyCoord(ra=allv[:, 0], dec=allv[:, 1], unit="deg")).deg.max()
        if sep < 30 and radius is None:
            center, radius = mid, max(sep * 1.2, 0.05)
    if center is not None:
        ax, wcs = _zoom_axes(fig, center, radius if radius is not None else 1.0)
        for i, poly in enumerate(polys):
            ax.add_patch(Polygon(poly, closed=True, fill=True, alpha=0.25, edgecolor=f"C{i % 10}",
                                 facecolor=f"C{i % 10}", lw=1.5, transform=ax.get_transform("world")))
    else:
        ax = _allsky_axes(fig, projection)
        for i, poly in enumerate(polys):
            for piece in _allsky_pieces(poly):
                ax.add_patch(Polygon(piece, closed=True, alpha=0.4, edgecolor=f"C{i % 10}",
                                     facecolor=f"C{i % 10}", lw=1.2))
    ax.set_title(title or f"{len(np.unique(rows))} image footprints")
    return fig


def plot_healpix(values, *, projection: str = "mollweide", center=None, radius=None, title: str | None = None,
                 cmap: str = "viridis", log: bool = False, label: str | None = None, nest: bool = True, fig=None):
    """A flat HEALPix map (``12 * 4**order`` values, nested unless ``nest=False``)."""
    arr, order = healpix_map(values, nest=nest)
    fig = fig or _figure()
    if center is not None:
        ax, wcs = _zoom_axes(fig, center, radius if radius is not None else 5.0)
        _draw_healpix_zoom(ax, wcs, arr, order, cmap=cmap, log=log, label=label)
    else:
        ax = _allsky_axes(fig, projection)
        _draw_healpix_allsky(ax, arr, order, cmap=cmap, log=log, label=label)
    ax.set_title(title or f"HEALPix map, order {order}")
    return fig


def _moc_map(moc, order: int | None = None) -> tuple[np.ndarray, int]:
    """A MOC as a 0/1 nested HEALPix map at ``order`` (its own order, at most 8)."""
    if not hasattr(moc, "max_order") or not hasattr(moc, "flatten"):
        raise VizError(f"expected a mocpy MOC, got {type(moc).__name__} (a catalogue's coverage: Registry.moc(name))",
                       value=type(moc).__name__)
    order = min(int(moc.max_order), 8) if order is None else order
    cells = np.asarray(moc.degrade_to_order(order).flatten(), dtype=np.int64) if moc.max_order > order \
        else np.asarray(moc.flatten(), dtype=np.int64)
    if moc.max_order < order:
        shift = 2 * (order - moc.max_order)
        cells = (cells[:, None] << shift) + np.arange(1 << shift)[None, :]
        cells = cells.ravel()
    values = np.zeros(12 * 4**order)
    values[cells] = 1.0
    return values, order


def plot_moc(moc, *, projection: str = "mollweide", center=None, radius=None, title: str | None = None, fig=None):
    """A MOC (say a catalogue's coverage, ``Registry.moc(name)``), all-sky or zoomed."""
    values, order = _moc_map(moc)
    if not values.any():
        raise VizError("the MOC is empty: it covers no sky", value=0)
    sky = float(moc.sky_fraction) if hasattr(moc, "sky_fraction") else values.mean()
    return plot_healpix(values, projection=projection, center=center, radius=radius, cmap="Blues",
                        title=title or f"coverage: {100 * sky:.3g} % of the sky", fig=fig)


#: A sky map's credible-region contours, innermost first, drawn on viridis; its legend box is viridis's darkest colour.
_CONTOUR_COLORS = ("white", "orange", "red")
_LEGEND_FACE = "#440154"


def plot_skymap(skymap, *, projection: str = "mollweide", levels=(0.5, 0.9), center=None, radius=None,
                candidates=None, title: str | None = None, fig=None):
    """A probability sky map (``platform_lib.skymap.SkyMap`` or a flat nested HEALPix array) with its
    credible-region contours (50 % and 90 % by default); ``candidates`` (a table or SkyCoord) are
    overplotted. ``center``/``radius`` zoom; ``center="peak"`` zooms on the most probable pixel."""
    full_sky = 4 * 180**2 / np.pi  # deg^2
    # one level, or several (as match_skymap takes them)
    many = np.iterable(levels) and not isinstance(levels, (str, bytes))
    levels = tuple(_credible_level(lv, "each of levels" if many else "levels") for lv in (levels if many else [levels]))
    if hasattr(skymap, "uniq") and hasattr(skymap, "credible_levels"):
        # a SkyMap: drawn in its own (multi-order) pixels, with its cached credible levels
        total = skymap.total_probability
        if not np.isfinite(total) or total <= 0:
            raise VizError(f"the sky map's probabilities sum to {total}: not a probability map", value=float(total))
        pixel_deg2 = skymap.pixel_area * (180 / np.pi) ** 2
        levels_px = skymap.credible_levels() / total
        peak = int(np.argmax(skymap.probdensity))
        peak_cell, peak_order = np.array([skymap.ipix[peak]]), int(skymap.order[peak])
        dens = _MultiOrderValues(skymap, skymap.probdensity / total * (np.pi / 180) ** 2, 0.0)  # per deg^2
        cum = _MultiOrderValues(skymap, levels_px, 1.0)
        area = {lv: float(pixel_deg2[levels_px <= lv].sum()) for lv in (*levels, 0.9)}
        order = skymap.max_order
    else:
        prob, order = healpix_map(skymap)
        total = prob.sum()
        if not np.isfinite(total) or total <= 0:
            raise VizError(f"the sky map's probabilities sum to {total}: not a probability map", value=float(total))
        prob = prob / total
        # credible level per pixel: cumulative probability of all pixels at least as probable (pixels of
        # equal probability enter together, as in platform_lib.skymap: a flat map and its multi-order
        # form, whose merged pixels were equal siblings, get the same contours)
        srt = np.argsort(-prob, kind="stable")
        ordered = prob[srt]
        change = ordered[1:] != ordered[:-1]
        run_end = np.r_[np.flatnonzero(change), ordered.size - 1]
        cum = np.empty_like(prob)
        cum[srt] = np.cumsum(ordered)[run_end[np.r_[0, np.cumsum(change)]]]
        peak_cell, peak_order = np.array([int(np.argmax(prob))]), order
        area = {lv: (cum <= lv).sum() * full_sky / prob.size for lv in (*levels, 0.9)}
        dens = prob * prob.size / full_sky  # per square degree
    fig = fig or _figure()
    if isinstance(center, str) and center == "peak":
        import astropy.units as u
        import cdshealpix.nested as hp
        from astropy.coordinates import SkyCoord

        lon, lat = hp.healpix_to_lonlat(peak_cell, peak_order)
        center = SkyCoord(lon.to_value(u.deg)[0], lat.to_value(u.deg)[0], unit="deg")
        if radius is None:
            radius = float(np.clip(np.sqrt(max(area[0.9], 1)) * 1.2, 2, 60)) * u.deg
    if center is not None:
        ax, wcs = _zoom_axes(fig, center, radius if radius is not None else 20.0)
        img = _draw_healpix_zoom(ax, wcs, dens, order, cmap="viridis", label="probability per deg²")
        ny, nx = img.shape
        y, x = np.mgrid[0:ny, 0:nx]
        lon, lat = wcs.pixel_to_world_values(x.ravel(), y.ravel())
        lev = _sample_healpix(cum, order, np.asarray(lon).reshape(ny, nx), np.asarray(lat).reshape(ny, nx))
        cs = ax.contour(lev, levels=sorted(levels), colors=list(_CONTOUR_COLORS[: len(levels)]), linewidths=1.2)
        transform = ax.get_transform("world")
    else:
        ax = _allsky_axes(fig, projection)
        _draw_healpix_allsky(ax, dens, order, label="probability per deg²")
        LON, LAT, xe, ye = _grid()
        lev = _sample_healpix(cum, order, LON, LAT)
        xc, yc = 0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1])
        cs = ax.contour(xc, yc, lev, levels=sorted(levels), colors=list(_CONTOUR_COLORS[: len(levels)]), linewidths=1.2)
        transform = None
    from matplotlib.lines import Line2D

    del cs
    # the legend's lines are the contours' own colours, on the map's darkest colour (a white 50 % line on Matplotlib's
    # white legend box was invisible), and name the candidates' crosses too
    handles = [Line2D([], [], color=c) for c in _CONTOUR_COLORS[: len(levels)]]
    labels = [f"{int(round(100 * lv))} % credible region" for lv in sorted(levels)]
    if candidates is not None:
        pos = positions(candidates)
        warn_left_out(_row_count(candidates), pos.rows, (pos.ra_column, pos.dec_column), "the figure's candidates")
        size = float(np.clip(3000 / pos.ra.size, 1, 14))
        if transform is not None:
            ax.scatter(pos.ra, pos.dec, s=size, c="red", marker="x", linewidths=0.8, transform=transform)
        else:
            x, y = _xy(pos.ra, pos.dec)
            ax.scatter(x, y, s=size, c="red", marker="x", linewidths=0.8)
        handles.append(Line2D([], [], color="red", marker="x", linestyle="none"))
        labels.append(f"candidates ({pos.ra.size:,d})")
    legend = ax.legend(handles, labels, loc="lower right", fontsize=8, facecolor=_LEGEND_FACE, framealpha=0.85,
                       labelcolor="white")
    legend.get_frame().set_edgecolor("white")
    ax.set_title(title or "sky map: " + ", ".join(f"{int(100 * lv)} % in {a:.0f} deg²" for lv, a in ((lv, area[lv]) for lv in levels)))
    return fig


def _pair_columns(pairs) -> tuple[str, str, str, str]:
    names = list(pairs.colnames) if hasattr(pairs, "colnames") else [str(c) for c in pairs.columns]
    lower = {n.lower(): n for n in names}
    for a, b in (("ra_1", "ra_2"), ("ra_left", "ra_right"), ("ra", "ra_2"), ("ra1", "ra2")):
        da, db = a.replace("ra", "dec"), b.replace("ra", "dec")
        if all(x in lower for x in (a, b, da, db)):
            return lower[a], lower[da], lower[b], lower[db]
    raise VizError(f"no left/right positions in the crossmatch pairs (columns {names[:20]}); expected "
                   "ra_1/dec_1 and ra_2/dec_2 (crossmatch's default suffixes)", value=names[:20])


def plot_crossmatch(pairs, *, radius=None, title: str | None = None, fig=None):
    """Crossmatch pairs: the separation histogram against the distribution expected for true matches with
    Gaussian errors (Rayleigh, fitted), and the offsets (ΔRA cos Dec, ΔDec) of each pair in arcsec."""
    names = list(pairs.colnames) if hasattr(pairs, "colnames") else [str(c) for c in pairs.columns]
    if "separation_arcsec" not in names:
        raise VizError(f"no separation_arcsec column (columns {names[:20]}): pass the table crossmatch() returned",
                       value=names[:20])
    if len(pairs) == 0:
        raise VizError("no pairs: the crossmatch found no match (try a larger radius)", value=0)
    sep = np.asarray(pairs["separation_arcsec"], dtype=np.float64)
    fig = fig or _figure((11, 4.6))
    ax1 = fig.add_subplot(1, 2, 1)
    rmax = float(radius.to_value("arcsec")) if hasattr(radius, "to_value") else float(np.nanmax(sep)) or 1.0
    bins = np.linspace(0, rmax, 40)
    ax1.hist(sep, bins=bins, color="tab:blue", alpha=0.7, label=f"{sep.size} pairs")
    sigma = np.sqrt(np.nanmean(sep**2) / 2) if sep.size else 1.0
    r = np.linspace(0, rmax, 200)
    ax1.plot(r, sep.size * (bins[1] - bins[0]) * r / sigma**2 * np.exp(-r**2 / (2 * sigma**2)), "k--",
             label=f"Rayleigh σ = {sigma:.2f}\"")
    ax1.set_xlabel("separation (arcsec)")
    ax1.set_ylabel("pairs")
    ax1.legend()
    ax2 = fig.add_subplot(1, 2, 2)
    try:
        ra1, de1, ra2, de2 = _pair_columns(pairs)
        a1 = np.asarray(pairs[ra1], dtype=float)
        d1 = np.asarray(pairs[de1], dtype=float)
        a2 = np.asarray(pairs[ra2], dtype=float)
        d2 = np.asarray(pairs[de2], dtype=float)
        dra = ((a2 - a1 + 180) % 360 - 180) * np.cos(np.radians(d1)) * 3600
        ddec = (d2 - d1) * 3600
        if dra.size > SCATTER_LIMIT:
            ax2.hexbin(dra, ddec, gridsize=60, bins="log", cmap="viridis")
        else:
            ax2.scatter(dra, ddec, s=3, alpha=0.5)
        ax2.set_xlabel("ΔRA cos Dec (arcsec)")
        ax2.set_ylabel("ΔDec (arcsec)")
        ax2.set_aspect("equal", adjustable="datalim")
        ax2.set_title(f"mean offset ({np.nanmean(dra):.3f}\", {np.nanmean(ddec):.3f}\")")
    except VizError as exc:
        ax2.text(0.5, 0.5, str(exc)[:80], ha="center", va="center", wrap=True)
        ax2.set_axis_off()
    fig.suptitle(title or "crossmatch diagnostic")
    return fig


def _credible_level(level, what: str = "level") -> float:
    """``level`` as a credible level, a number in (0, 1]; a :class:`VizError` naming ``what`` otherwise."""
    if not isinstance(level, (int, float, np.integer, np.floating)) or isinstance(level, bool) or not 0 < level <= 1:
        raise VizError(f"{what}: a credible level is a number in (0, 1], e.g. 0.9, got {level!r}", value=level)
    return float(level)


def credible_region(skymap, level: float):
    """The ``level`` credible region of a sky map (``SkyMap`` or flat nested array) as a mocpy MOC.

    Examples
    --------
    >>> import numpy as np
    >>> from platform_lib import viz
    >>> prob = np.zeros(12 * 4**3)                      # a nested HEALPix map of order 3
    >>> prob[[100, 101, 102]] = [0.7, 0.2, 0.1]
    >>> moc = viz.credible_region(prob, 0.9)            # the fewest cells holding 90 %: two of them
    >>> round(moc.sky_fraction * 768)
    2
    >>> from pathlib import Path
    >>> from platform_lib import get_settings
    >>> from platform_lib.skymap import read_skymap
    >>> sample = Path(get_settings().datasets) / "skymaps" / "S190814bv_LALInference.v1.fits.gz"  # doctest: +SKIP
    >>> round(viz.credible_region(read_skymap(sample), 0.5).sky_fraction * 41253, 1)   # square degrees  # doctest: +SKIP
    4.8
    """
    from mocpy import MOC

    level = _credible_level(level)
    if hasattr(skymap, "credible_moc"):
        return skymap.credible_moc(level)
    prob, order = healpix_map(skymap)
    total = prob.sum()
    if not np.isfinite(total) or total <= 0:
        raise VizError(f"the sky map's probabilities sum to {total}: not a probability map", value=float(total))
    srt = np.argsort(-prob, kind="stable")
    cum = np.cumsum(prob[srt]) / total
    n = int(np.searchsorted(cum, level) + 1)
    cells = np.sort(srt[:n]).astype(np.uint64)
    return MOC.from_healpix_cells(cells, np.full(cells.size, order, dtype=np.uint8), max_depth=order)


def plot(obj, **options):
    """The static figure of anything :func:`platform_lib.viz.show` accepts (all-sky by default; ``center``
    and ``radius`` zoom). Crossmatch pairs give their diagnostic (:func:`plot_crossmatch`, where ``radius``
    is the match radius), or their left positions on the sky when ``center`` or ``projection`` is given.

    Examples
    --------
    >>> from astropy.table import Table
    >>> from platform_lib import viz
    >>> stars = Table({"ra": [56.871, 279.235, 88.793], "dec": [24.105, 38.784, 7.407]})
    >>> fig = viz.plot(stars, projection="aitoff")                     # all-sky
    >>> fig = viz.plot(stars, center="56.75 24.12", radius="2 deg")    # zoomed round the Pleiades
    >>> from pathlib import Path
    >>> from platform_lib import get_settings
    >>> from platform_lib.retrieval import image_search
    >>> from platform_lib.skymap import read_skymap
    >>> fig = viz.plot(image_search("M1", "0.2 deg"))                  # footprints  # doctest: +SKIP
    >>> sample = Path(get_settings().datasets) / "skymaps" / "S190814bv_LALInference.v1.fits.gz"  # doctest: +SKIP
    >>> fig = viz.plot(read_skymap(sample), center="peak")             # a sky map  # doctest: +SKIP
    """
    if is_job(obj):
        obj = job_result(obj)
    if options.get("radius") is not None and options.get("center") is None and not _pairs(obj, options):
        raise VizError(f"radius={options['radius']!r} is the half-width of a view zoomed around center=, and no "
                       "center was given: pass center= too (a SkyCoord, '83.82 -5.39' or a name), or leave radius "
                       "out for the whole sky", value=str(options["radius"]))
    if hasattr(obj, "uniq") and hasattr(obj, "probdensity") or isinstance(obj, np.ndarray):
        return plot_skymap(obj, **options)
    if hasattr(obj, "to_string") and hasattr(obj, "sky_fraction"):
        return plot_moc(obj, **options)
    from astropy.coordinates import SkyCoord

    if isinstance(obj, SkyCoord):  # its own to_table holds its frame's columns (l, b for galactic ones)
        return plot_table(obj, **options)
    if hasattr(obj, "to_table") and not hasattr(obj, "colnames"):
        obj = result_table(obj)
    names = list(obj.colnames) if hasattr(obj, "colnames") else [str(c) for c in getattr(obj, "columns", [])]
    if "s_region" in names:
        return plot_footprints(obj, **options)
    if _pairs(obj, options):
        return plot_crossmatch(obj, **options)  # a sky view asked for (center, projection): the pairs' positions
    return plot_table(obj, **options)


def _pairs(obj, options: dict) -> bool:
    """Whether :func:`plot` draws ``obj`` as crossmatch pairs' diagnostic (where ``radius`` is the match radius):
    a table with ``separation_arcsec``, and no sky view asked for (``center``, ``projection``)."""
    names = list(obj.colnames) if hasattr(obj, "colnames") else [str(c) for c in getattr(obj, "columns", [])]
    return "separation_arcsec" in names and not {"center", "projection"} & set(options)
