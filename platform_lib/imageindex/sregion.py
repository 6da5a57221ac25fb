"""The one reader of ObsCore ``s_region`` text: :func:`read_s_region`, and the two answers the platform asks of it,
:func:`s_region_vertices` (an outline to draw or cover), :func:`region_area` (the TAP service's ``AREA()``) and
:func:`region_meets` (the TAP service's ``CONTAINS``/``INTERSECTS`` of a region column, an uploaded table's say,
and a point, circle or polygon) and :func:`region_relation` (of two regions, each a column's or a shape's text).

``s_region`` comes as STC-S (``Polygon ICRS ra1 dec1 ...``, ``Circle ICRS ra dec r``, ``Box ICRS ra dec w h``, a
``Union ICRS ( Polygon ... Polygon ... )`` of them, as ALMA answers for a mosaic; a shape may be followed by holes,
``Not (Polygon ...)``, as ALMA's are), words in any case, the frame
followed perhaps by a reference position (``BARYCENTER``...) and the flavour ``SPHERICAL2`` and the shape by
``unit deg``; or as a DALI polygon (a flat list of numbers, ICRS). A ``Box`` is STC's (a polygon: the corners at the
centre's RA +- width/2 and Dec +- height/2, joined by great circles), as DaCHS reads it (docs/benchmarks.md), not the
TAP service's ADQL ``BOX`` (an RA/Dec range). Every shape is returned in ICRS: the frames are

- ``ICRS``, none, ``UNKNOWNFrame`` (ObsCore's ``s_region`` is ICRS), ``FK5`` and ``J2000`` at equinox J2000 and
  MAST's ``GSC1``/``GSC2`` (guide-star catalogue frames tied to FK5 J2000 / ICRS): taken as ICRS (within 0.03", as
  the image index takes an FK5 J2000 WCS);
- ``FK4``/``B1950`` (equinox B1950 unless another follows: ``FK4 B1900``), ``FK5 J1975``, ``GALACTIC``
  (``GALACTIC_II``: the same IAU 1958 system), ``SUPER_GALACTIC``, ``ECLIPTIC`` (the mean ecliptic and equinox of
  J2000): converted with astropy (a circle's centre; a polygon's vertices; a box in another frame becomes the
  polygon of its corners);
- anything else (``GEO_C``/``GEO_D``, points on the Earth; a word no STC-S frame is): refused.

Refused, with an :class:`~platform_lib.imageindex.errors.ImageIndexInputError` (``code="bad-s-region"``, a
``ValueError``) naming the text: shapes that are not footprints (``Position``, ``Intersection``, ``Not``),
Cartesian flavours, units other than degrees, wrong counts of numbers, latitudes past +-90, radii outside 0-180.
Pure numpy; astropy only to convert another frame. Imports :mod:`~platform_lib.imageindex.sphere` and the
package's errors.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np

from platform_lib.imageindex.errors import ImageIndexInputError
from platform_lib.imageindex.sphere import Circle, Polygon, angular_separation, outline_inside, radec_to_xyz

__all__ = ["SRegion", "Shape", "read_s_region", "region_area", "region_meets", "region_relation", "s_region_vertices"]

#: STC-S frames, as written (upper case), to (the frame read, its equinox); None: taken as ICRS.
_FRAMES = {
    "ICRS": None, "UNKNOWNFRAME": None, "GSC1": None, "GSC2": None, "J2000": None, "FK5": ("FK5", "J2000"),
    "FK4": ("FK4", "B1950"), "B1950": ("FK4", "B1950"), "GALACTIC": ("GALACTIC", None),
    "GALACTIC_II": ("GALACTIC", None), "SUPER_GALACTIC": ("SUPER_GALACTIC", None), "ECLIPTIC": ("ECLIPTIC", "J2000"),
}
#: STC-S frames that are no sky (places on the Earth): refused.
_NOT_SKY = {"GEO_C", "GEO_D"}
#: STC-S reference positions (they do not move a direction on the sky at this precision).
_REFPOS = {"BARYCENTER", "GEOCENTER", "HELIOCENTER", "TOPOCENTER", "LSR", "LSRK", "LSRD", "GALACTIC_CENTER",
           "LOCAL_GROUP_CENTER", "EMBARYCENTER", "RELOCATABLE", "UNKNOWNREFPOS", "MOON", "MERCURY", "VENUS", "MARS",
           "JUPITER", "SATURN", "URANUS", "NEPTUNE", "PLUTO"}
#: The shapes read, and those refused (with why).
_SHAPES = ("polygon", "circle", "box")
_NOT_FOOTPRINTS = {"position": "a point", "intersection": "an intersection", "not": "a complement",
                   "difference": "a difference", "convex": "a convex of half-spaces"}  # "Not" after a shape: a hole
_EPOCH = re.compile(r"^[JB]\d{4}(\.\d*)?$", re.IGNORECASE)
_TOKENS = re.compile(r"[()]|[^\s(),'\"]+")
_EXPECTED = ("expected STC-S as ObsCore holds it: 'Polygon ICRS ra1 dec1 ra2 dec2 ra3 dec3 ...', 'Circle ICRS ra dec "
             "radius', 'Box ICRS ra dec width height' (degrees), or a Union of them")


@dataclass(frozen=True)
class Shape:
    """One shape of an ``s_region``, in ICRS degrees: ``kind`` ``"polygon"`` (``values`` ra1, dec1, ra2, dec2 ...),
    ``"circle"`` (ra, dec, radius) or ``"box"`` (ra, dec, width, height: full sizes along RA and Dec, in their
    degrees: STC-S's Box, the polygon of its corners, as DaCHS reads it; not ADQL's BOX of the TAP service, an RA/Dec
    range)."""

    kind: str
    values: tuple[float, ...]

    def vertices(self) -> np.ndarray:
        """The outline as an (N, 2) array of RA, Dec degrees (a circle as 36 points, a box as its corners, the
        centre's RA +- half the width and Dec +- half the height: the sides are great circles through them)."""
        v = np.asarray(self.values, dtype=float)
        if self.kind == "circle":
            ra0, dec0, r = v
            t = np.linspace(0, 2 * np.pi, 36, endpoint=False)
            dec = dec0 + r * np.sin(t)
            ra = ra0 + r * np.cos(t) / max(np.cos(np.radians(dec0)), 1e-6)
            return np.column_stack([ra % 360, np.clip(dec, -90, 90)])
        if self.kind == "box":  # DaCHS's reading: the corners (ra +- w/2, dec +- h/2), joined by great circles
            ra0, dec0, w, h = v
            return np.array([[ra0 - w / 2, dec0 - h / 2], [ra0 + w / 2, dec0 - h / 2],
                             [ra0 + w / 2, dec0 + h / 2], [ra0 - w / 2, dec0 + h / 2]])
        return v.reshape(-1, 2)

    def area(self) -> float:
        """The solid angle in steradians (a box's: of the polygon of its corners)."""
        if self.kind == "circle":
            return 2 * math.pi * (1 - math.cos(math.radians(self.values[2])))
        v = self.vertices()
        return Polygon(v[:, 0], v[:, 1]).area()


@dataclass(frozen=True)
class SRegion:
    """An ``s_region`` read: its ``shapes`` (in ICRS; more than one for a ``Union``), the ``frame`` it was written
    in (upper case; ``""`` when none was named), its ``text``, and the ``holes`` cut out of its shapes (``Not
    (...)``, in ICRS)."""

    shapes: tuple[Shape, ...]
    frame: str
    text: str
    holes: tuple[Shape, ...] = ()

    def vertices(self) -> np.ndarray:
        """The outline of a region of one shape (:meth:`Shape.vertices`); a union is refused, naming its shapes."""
        if len(self.shapes) != 1:
            raise _bad(self.text, f"it is a union of {len(self.shapes)} shapes, not one outline (read_s_region(text)"
                                  ".shapes gives each)")
        return self.shapes[0].vertices()


def _bad(text, why: str) -> ImageIndexInputError:
    """The error for ``text``; ``reason`` says what is wrong with it (for a caller's message of its own)."""
    error = ImageIndexInputError(f"the s_region {str(text)[:80]!r} is not a footprint: {why}; {_EXPECTED}",
                                 code="bad-s-region", value=str(text)[:80])
    error.reason = f"{why}; {_EXPECTED}"
    return error


def _number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class _Reader:
    """The tokens of one ``s_region`` and where reading has got to."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _TOKENS.findall(text)
        self.at = 0
        self.frame = ""
        self.equinox: str | None = None
        self.holes: list[Shape] = []

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def prefix(self) -> None:
        """The frame, its equinox, a reference position and the flavour after a shape's name (all optional)."""
        while (word := self.peek()) is not None and word not in "()" and _number(word) is None:
            upper = word.upper()
            if upper.lower() in _SHAPES or upper.lower() == "union":
                return
            if upper in _FRAMES or upper in _NOT_SKY:
                if self.frame and self.frame != upper:
                    raise _bad(self.text, f"it names two frames, {self.frame} and {upper}")
                if upper in _NOT_SKY:
                    raise _bad(self.text, f"frame {upper} is a place on the Earth, not the sky")
                self.frame = upper
            elif _EPOCH.match(word) and self.frame in ("FK4", "FK5", "B1950", "J2000"):
                self.equinox = upper
            elif upper in _REFPOS or upper == "SPHERICAL2":
                pass
            elif upper.startswith(("CARTESIAN", "UNITSPHERE", "SPHERICAL3")):
                raise _bad(self.text, f"flavour {word} is not spherical coordinates on the sky")
            else:
                raise _bad(self.text, f"{word!r} is no STC-S frame, reference position or flavour the platform "
                                      f"reads (frames: {', '.join(sorted(_FRAMES))})")
            self.take()

    def numbers(self) -> list[float]:
        out = []
        while (word := self.peek()) is not None and (value := _number(word)) is not None:
            out.append(value)
            self.take()
        if (word := self.peek()) is not None and word.lower() == "unit":
            self.take()
            unit = self.take() if self.peek() is not None else ""
            if unit.lower() not in ("deg", "degree", "degrees"):
                raise _bad(self.text, f"unit {unit!r}: only degrees are read")
        return out

    def shapes(self) -> list[Shape]:
        """The shapes of the region at the reading point (one, or a union's)."""
        word = self.peek()
        if word is None:
            raise _bad(self.text, "it is empty")
        kind = word.lower()
        if _number(word) is not None:  # DALI: a bare list of numbers is a polygon
            return [_shape(self.text, "polygon", self.numbers())]
        if kind in _NOT_FOOTPRINTS:
            raise _bad(self.text, f"{word} is {_NOT_FOOTPRINTS[kind]}, not a footprint")
        if kind not in _SHAPES and kind != "union":
            raise _bad(self.text, f"{word!r} is no shape")
        self.take()
        self.prefix()
        if kind != "union":
            shape = _shape(self.text, kind, self.numbers())
            while (word := self.peek()) is not None and word.lower() == "not":  # holes in it
                self.take()
                self.holes.extend(self.group("Not"))
            return [shape]
        return self.group("Union")

    def group(self, what: str) -> list[Shape]:
        """The shapes of a Union or a Not, in parentheses."""
        if self.peek() != "(":
            raise _bad(self.text, f"a {what}'s shapes are in parentheses")
        self.take()
        out = []
        while self.peek() not in (")", None):
            out.extend(self.shapes())
        if self.peek() is None or not out:
            raise _bad(self.text, f"its {what} is not closed with ')'" if out else f"its {what} has no shapes")
        self.take()
        return out


def _shape(text, kind: str, values: list[float]) -> Shape:
    counts = {"circle": (3, "ra dec radius"), "box": (4, "ra dec width height")}
    if kind == "polygon" and (len(values) < 6 or len(values) % 2):
        raise _bad(text, f"a polygon needs 3 or more vertices (pairs of numbers), it has {len(values)} numbers")
    if kind in counts and len(values) != counts[kind][0]:
        raise _bad(text, f"a {kind} needs {counts[kind][0]} numbers ({counts[kind][1]}), it has {len(values)}")
    lats = values[1::2] if kind == "polygon" else values[1:2]
    if any(abs(lat) > 90 for lat in lats):
        raise _bad(text, f"latitude {max(lats, key=abs):g} is past +-90 degrees (is the order ra, dec?)")
    if kind == "circle" and not 0 <= values[2] <= 180:
        raise _bad(text, f"the radius {values[2]:g} is not from 0 to 180 degrees")
    if kind == "box" and not (values[2] >= 0 and values[3] >= 0):
        raise _bad(text, "a box's width and height are not negative")
    if kind == "box" and (values[2] >= 180 or abs(values[1]) + values[3] / 2 > 90):
        # STC's box is the polygon of its corners (great-circle sides): past a pole a corner is no position, and
        # corners 180 deg apart or more are joined the other way round the sky
        why = "is 180 degrees wide or more" if values[2] >= 180 else "reaches past a pole"
        raise _bad(text, f"the box {why}, so the polygon of its corners (STC's box) is not it; give the region as "
                         "a Polygon or a Circle")
    return Shape(kind, tuple(values))


def _astropy_frame(frame: str, equinox: str | None):
    """The astropy frame of an STC-S frame other than ICRS (None: ICRS, or FK5 J2000 taken as ICRS)."""
    named = _FRAMES.get(frame)
    if named is None:
        return None
    kind, default = named
    equinox = (equinox or default or "").upper()
    if kind == "FK5" and equinox == "J2000":
        return None
    from astropy.coordinates import FK4, FK5, BarycentricMeanEcliptic, Galactic, Supergalactic

    return {"FK4": lambda: FK4(equinox=equinox), "FK5": lambda: FK5(equinox=equinox), "GALACTIC": Galactic,
            "SUPER_GALACTIC": Supergalactic, "ECLIPTIC": lambda: BarycentricMeanEcliptic(equinox=equinox)}[kind]()


def _to_icrs(shape: Shape, frame) -> Shape:
    """The shape in ICRS from ``frame`` (an astropy frame): a circle's centre moved, a polygon's vertices, a box
    as the polygon of its corners (its sides run along the other frame's lines)."""
    import warnings

    import astropy.units as u
    from astropy.coordinates import SkyCoord

    lonlat = shape.vertices() if shape.kind != "circle" else np.array([shape.values[:2]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA's dubious year for B1950
        icrs = SkyCoord(lonlat[:, 0] * u.deg, lonlat[:, 1] * u.deg, frame=frame).icrs
    if shape.kind == "circle":
        return Shape("circle", (float(icrs.ra.deg[0]), float(icrs.dec.deg[0]), shape.values[2]))
    return Shape("polygon", tuple(float(v) for pair in zip(icrs.ra.deg, icrs.dec.deg) for v in pair))


def read_s_region(text) -> SRegion:
    """Read an ObsCore ``s_region`` (STC-S text, or a DALI polygon: a list of numbers or text of them) into its
    shapes in ICRS (see the module's text for the frames converted and what is refused).

    Raises
    ------
    ImageIndexInputError
        ``code="bad-s-region"``, naming the text and what is wrong with it.

    Examples
    --------
    >>> read_s_region("CIRCLE ICRS  23.49019638  60.66013142 0.625").shapes[0].values
    (23.49019638, 60.66013142, 0.625)
    >>> len(read_s_region("Union ICRS ( Polygon 1 1 2 1 2 2 Circle 10 10 1 )").shapes)
    2
    """
    if isinstance(text, bytes):
        text = text.decode()
    if isinstance(text, (list, tuple, np.ndarray)):
        text = " ".join(str(float(v)) for v in np.asarray(text, dtype=np.float64).ravel())
    if not isinstance(text, str):
        raise _bad(text, f"it is a {type(text).__name__}, not text")
    reader = _Reader(text)
    shapes = reader.shapes()
    if reader.peek() is not None:
        raise _bad(text, f"{reader.peek()!r} follows the region")
    frame = _astropy_frame(reader.frame, reader.equinox)
    holes = reader.holes
    if frame is not None:
        shapes, holes = [_to_icrs(s, frame) for s in shapes], [_to_icrs(s, frame) for s in holes]
    return SRegion(tuple(shapes), reader.frame, text, tuple(holes))


def s_region_vertices(text) -> np.ndarray:
    """The outline (N x 2 array of ICRS ra, dec degrees) of an ObsCore ``s_region`` of one shape
    (:func:`read_s_region`; a circle as 36 points): the viewer's outlines, the sky-map coverage of footprints.

    Examples
    --------
    >>> s_region_vertices("Polygon ICRS 10 20 11 20 11 21").shape
    (3, 2)
    """
    return read_s_region(text).vertices()


def region_area(stcs) -> float | None:
    """The solid angle (steradians) of an ``s_region`` of one shape (:func:`read_s_region`), less its holes (each
    taken to lie inside it): the TAP service's ``AREA()``; None for text that is no such region (SQL's NULL) or a
    union of several shapes (which may overlap). A ``Box`` is STC-S's: the polygon of its corners
    (:meth:`Shape.vertices`), not ADQL's ``BOX`` of this service (an RA/Dec range, whose area is its own)."""
    try:
        region = read_s_region(stcs)
    except ValueError:
        return None
    if len(region.shapes) != 1:
        return None
    return region.shapes[0].area() - sum(hole.area() for hole in region.holes)


@functools.lru_cache(maxsize=4096)
def _outlines(text: str) -> tuple[tuple, tuple] | None:
    """The shapes and holes of ``text`` as sphere objects (a circle as a :class:`Circle`, a polygon or an STC-S box
    as a :class:`Polygon`), None for text that is no region; cached, as one upload row's region is tested against
    every row it is joined with."""
    try:
        region = read_s_region(text)
    except ValueError:
        return None

    def outline(shape: Shape):
        if shape.kind == "circle":
            return Circle(*shape.values)
        v = shape.vertices()
        return Polygon(v[:, 0], v[:, 1])

    return tuple(map(outline, region.shapes)), tuple(map(outline, region.holes))


def _holds(outline, xyz: np.ndarray) -> bool:
    if isinstance(outline, Circle):
        return bool(outline.contains(xyz))
    return outline.contains_point(xyz)


def _meet(outline, other) -> bool:
    """Whether two outlines (each a :class:`Circle` or a :class:`Polygon`) share a point."""
    if isinstance(outline, Circle) and isinstance(other, Circle):
        sep = float(angular_separation(outline.center_xyz, other.center_xyz))
        return sep <= math.radians(outline.radius + other.radius) + 1e-12
    if isinstance(outline, Circle):
        return outline.intersects_polygon(other)
    if isinstance(other, Circle):
        return other.intersects_polygon(outline)
    return outline.intersects_polygon(other)


def region_meets(text, kind: str, values: tuple[float, ...]) -> bool | None:
    """Whether the ``s_region`` ``text`` (:func:`read_s_region`) meets a region given in ICRS degrees: ``kind``
    ``"point"`` (``values`` ra, dec: the point lies in one of its shapes and in none of its holes), ``"circle"``
    (ra, dec, radius) or ``"polygon"`` (ra1, dec1, ...; great-circle edges) sharing a point with one of its shapes
    (holes are not taken out: a circle wholly inside a hole still meets the region). None for text that is no
    region (SQL's NULL, as :func:`region_area` answers); a union meets what any of its shapes meets.

    Examples
    --------
    >>> region_meets("Polygon ICRS 10 -1 12 -1 12 1 10 1", "point", (11.0, 0.0))
    True
    >>> region_meets("Circle ICRS 200 30 2", "circle", (200.0, 33.0, 0.5))
    False
    """
    outlines = _outlines(str(text)) if text is not None else None
    if outlines is None:
        return None
    shapes, holes = outlines
    if kind == "point":
        xyz = radec_to_xyz(values[0], values[1])
        return any(_holds(s, xyz) for s in shapes) and not any(_holds(h, xyz) for h in holes)
    other = Circle(*values) if kind == "circle" else Polygon(values[0::2], values[1::2])
    return any(_meet(s, other) for s in shapes)


def region_relation(first, second, relation: str) -> bool | None:
    """Whether the region ``first`` meets (``relation="meets"``: ADQL's ``INTERSECTS``) or lies inside (``"within"``:
    ADQL's ``CONTAINS(first, second)``) the region ``second``, each STC-S text (:func:`read_s_region`: a column's
    ``s_region``, or a circle or polygon of the query written as STC-S), exactly on the sphere (great-circle edges,
    :func:`~platform_lib.imageindex.sphere.outline_inside`). A union meets what any of its shapes meets and lies inside
    ``second`` when each of its shapes lies inside one of ``second``'s shapes and meets none of its holes (``first``'s
    own holes are not taken out). None for text that is no region (SQL's NULL, as :func:`region_area` answers).

    Examples
    --------
    >>> region_relation("Polygon ICRS 10 0 11 0 11 1", "Circle ICRS 10.5 0.5 1", "within")
    True
    >>> region_relation("Circle ICRS 10.5 0.5 1", "Polygon ICRS 10 0 11 0 11 1", "meets")
    True
    """
    a = _outlines(str(first)) if first is not None else None
    b = _outlines(str(second)) if second is not None else None
    if a is None or b is None:
        return None
    if relation == "meets":
        return any(_meet(s, t) for s in a[0] for t in b[0])
    if relation != "within":
        raise ValueError(f"relation must be 'meets' or 'within', got {relation!r}")
    return all(any(outline_inside(s, t) for t in b[0]) and not any(_meet(s, h) for h in b[1]) for s in a[0])
