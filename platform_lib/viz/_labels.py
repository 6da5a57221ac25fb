"""Names beside points on a static figure, placed so that no label overlaps another, a tick label, an axis label
or the title.

:func:`place_labels` draws the figure once (its layout settles), gathers the boxes of the text already there,
joins points too near to tell apart into one label (``m1_dss`` and ``m1_ukidss_wfcam``, a survey's images of one
field: ``m1_dss, m1_ukidss_wfcam`` on two lines), and tries each label at a few places around its point, keeping
the first where it touches nothing (text, the legend) and stays inside the figure (or the axes, for a zoomed
view). A label with no such place is left out and named in the answer. Public as ``platform_lib.viz.place_labels``
(``platform_lib.moving``'s search figures name their footprints with it). Imports numpy and matplotlib.
"""

from __future__ import annotations

import numpy as np

__all__ = ["place_labels"]

#: Where a label may sit around its point, tried in turn: offset in points, and the text's alignment.
SPOTS = ((5, 0, "left", "center"), (-5, 0, "right", "center"), (0, 6, "center", "bottom"),
         (0, -6, "center", "top"), (5, 5, "left", "bottom"), (-5, 5, "right", "bottom"), (5, -5, "left", "top"),
         (-5, -5, "right", "top"))
#: Points nearer than this on the figure (pixels at the figure's dpi) share one label.
NEAR_PX = 8.0
#: The most names one shared label lists before ``+N more``.
MOST_NAMES = 3


def _renderer(fig):
    """A renderer of ``fig`` after one draw (constrained layout has placed the axes)."""
    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):  # a Figure made without pyplot: draw it with Agg, as savefig does
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _taken(ax, renderer) -> list:
    """The boxes of the text ``ax`` shows already: tick labels (of ticks in view), axis labels, title, the
    legend, earlier labels."""
    texts = [*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label]
    if not hasattr(ax, "coords"):  # WCSAxes draws its own tick labels, outside the axes (see place_labels)
        for along, axis in enumerate((ax.xaxis, ax.yaxis)):
            lo, hi = sorted(axis.get_view_interval())
            texts += [t for t in axis.get_ticklabels() if lo <= t.get_position()[along] <= hi]
    boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
    legend = ax.get_legend()
    return boxes + ([legend.get_window_extent(renderer)] if legend is not None and legend.get_visible() else [])


def _groups(pixels: np.ndarray) -> list[list[int]]:
    """Indices of the points, joined where one lies within :data:`NEAR_PX` of a group's first point."""
    groups: list[list[int]] = []
    anchors: list[np.ndarray] = []
    for i, p in enumerate(pixels):
        for group, anchor in zip(groups, anchors):
            if np.hypot(*(p - anchor)) <= NEAR_PX:
                group.append(i)
                break
        else:
            groups.append([i])
            anchors.append(p)
    return groups


def _text(names: list[str]) -> str:
    shown = sorted(set(names))
    more = len(shown) - MOST_NAMES
    return "\n".join(shown[:MOST_NAMES] + ([f"+{more} more"] if more > 0 else []))


def place_labels(ax, x, y, names, *, transform=None, fontsize: float = 7, colors=None,
                 inside_axes: bool | None = None) -> list[str]:
    """Write ``names[i]`` beside the point ``(x[i], y[i])`` of ``ax`` (in ``transform``'s coordinates, the
    axes' data by default), each label where it overlaps no other text of the axes (nor its legend), and inside
    the figure, or inside the axes with ``inside_axes`` (by default for a zoomed WCS view, whose tick labels lie
    outside them). ``colors[i]``: the colour of ``names[i]``'s label (a shared label takes its first point's).
    Returns the names left out for want of room.

    Examples
    --------
    >>> left_out = place_labels(ax, ra, dec, table["name"])                     # doctest: +SKIP
    """
    from matplotlib import patheffects

    fig = ax.figure
    renderer = _renderer(fig)
    transform = transform or ax.transData
    x, y = np.asarray(x, float), np.asarray(y, float)
    pixels = transform.transform(np.column_stack([x, y])) if x.size else np.empty((0, 2))
    taken = _taken(ax, renderer)
    inside_axes = hasattr(ax, "coords") if inside_axes is None else inside_axes
    room = (ax if inside_axes else fig).get_window_extent(renderer)
    halo = [patheffects.withStroke(linewidth=2, foreground="white")]  # reads over grid lines and points
    left_out: list[str] = []
    for group in _groups(pixels):
        i = group[0]
        text = _text([str(names[k]) for k in group])
        for dx, dy, ha, va in SPOTS:
            label = ax.annotate(text, (x[i], y[i]), xycoords=transform, xytext=(dx, dy), textcoords="offset points",
                                ha=ha, va=va, fontsize=fontsize, path_effects=halo, annotation_clip=False,
                                color=None if colors is None else colors[i])
            label.set_in_layout(False)  # the layout is settled: a label must not move the axes under the others
            box = label.get_window_extent(renderer)
            inside = room.x0 <= box.x0 and box.x1 <= room.x1 and room.y0 <= box.y0 and box.y1 <= room.y1
            if inside and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                break
            label.remove()
        else:
            left_out += [str(names[k]) for k in group]
    return left_out
