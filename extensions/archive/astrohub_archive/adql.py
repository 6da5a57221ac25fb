"""A strict ADQL subset for the archive's TAP service: parse, check and translate to SQLite. Pure.

Accepted (keywords in any case)::

    SELECT [TOP n] * | column [[AS] alias], ...
    FROM ivoa.obscore | TAP_SCHEMA.<table> [[AS] alias]
    [WHERE condition]
    [ORDER BY column [ASC | DESC], ...]

A condition combines, with ``AND``, ``OR``, ``NOT`` and parentheses:

- ``column op literal`` and ``literal op column``, ``op`` one of ``= <> != < <= > >=``;
- ``column [NOT] BETWEEN a AND b``, ``column [NOT] IN (a, b, ...)``, ``column IS [NOT] NULL``;
- ``column [NOT] LIKE 'pattern'`` (case-sensitive, as ADQL says) and ``ILIKE`` (case-insensitive);
- on ``ivoa.obscore`` only, and only as a top-level ``AND`` term, one of each of
  ``1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', ra, dec, radius))`` (the record's
  centre in the circle) and ``1 = INTERSECTS(s_region, CIRCLE(...) | POLYGON(...))`` (the footprint
  meets the region), answered with the image index's R-tree and exact spherical tests.

Anything else (joins, functions, arithmetic, DISTINCT, GROUP BY, sub-queries, comments) raises
:class:`AdqlError` naming what was not understood; nothing the caller wrote is pasted into SQL
except through ``?`` parameters, and column names are checked against the table's list.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from platform_lib.imageindex import Circle, Polygon
from platform_lib.imageindex.sphere import polygon_is_simple

__all__ = ["AdqlError", "TableDef", "Translation", "translate"]


class AdqlError(ValueError):
    """The query is outside the supported ADQL subset or refers to unknown tables or columns."""


@dataclass(frozen=True)
class TableDef:
    """A table TAP can query: its ADQL name, columns in order, and the SQL expression of each.

    Columns missing from ``sql`` can be selected (computed by the service) but not constrained.
    """

    name: str
    columns: tuple[str, ...]
    sql: dict[str, str]
    spatial: bool = False


@dataclass
class Translation:
    """What to run: the table, output columns ``(column, name)``, SQL ``where``/``order_by`` with
    ``params``, the row limit ``top``, and the spatial constraints for the image index."""

    table: TableDef
    columns: list[tuple[str, str]]
    where: str = ""
    params: list = field(default_factory=list)
    order_by: str = ""
    top: int | None = None
    intersects: Circle | Polygon | None = None
    centre_in: Circle | None = None


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    |(?P<str>'(?:[^']|'')*')
    |(?P<qid>"(?:[^"]|"")+")
    |(?P<id>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><>|!=|<=|>=|[=<>(),.*;+-])
    )""",
    re.X,
)
_KEYWORDS = {"SELECT", "TOP", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "ASC", "DESC", "AS", "BETWEEN",
             "LIKE", "ILIKE", "IN", "IS", "NULL", "DISTINCT", "ALL", "GROUP", "HAVING", "JOIN", "UNION", "OFFSET"}
_UNSUPPORTED = {"DISTINCT", "GROUP", "HAVING", "JOIN", "UNION", "OFFSET"}
MAX_LENGTH = 20_000


@dataclass
class _Tok:
    kind: str  # num, str, id, kw, op, eof
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    i = 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            snippet = text[i:].lstrip()[:20]
            raise AdqlError(f"cannot read the query at {snippet!r} (position {i}); comments and this "
                            "syntax are not supported")
        kind = m.lastgroup
        value = m.group(kind)
        start = m.start(kind)
        if kind == "id" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        elif kind == "qid":
            kind, value = "id", value[1:-1].replace('""', '"')
        out.append(_Tok(kind, value, start))
        i = m.end()
    out.append(_Tok("eof", "", len(text)))
    return out


# Parse tree: ("or", [..]) ("and", [..]) ("not", x) ("pred", sql, params) ("spatial", kind, region)


class _Parser:
    def __init__(self, text: str, tables: dict[str, TableDef]) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.tables = tables
        self.table: TableDef | None = None
        self.alias: str | None = None

    # -- token helpers
    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> _Tok:
        t = self.peek()
        self.i += 1
        return t

    def at(self, kind: str, text: str | None = None, k: int = 0) -> bool:
        t = self.peek(k)
        return t.kind == kind and (text is None or t.text == text)

    def accept(self, kind: str, text: str | None = None) -> _Tok | None:
        return self.take() if self.at(kind, text) else None

    def expect(self, kind: str, text: str | None = None, what: str = "") -> _Tok:
        if not self.at(kind, text):
            t = self.peek()
            got = t.text or "the end of the query"
            raise AdqlError(f"expected {what or text or kind} but found {got!r} at position {t.pos}")
        return self.take()

    # -- grammar
    def query(self) -> Translation:
        self.expect("kw", "SELECT")
        if self.at("kw") and self.peek().text in _UNSUPPORTED:
            raise AdqlError(f"{self.peek().text} is not supported by this TAP service")
        self.accept("kw", "ALL")
        top = None
        if self.accept("kw", "TOP"):
            t = self.expect("num", what="a row count after TOP")
            if not re.fullmatch(r"\d+", t.text):
                raise AdqlError(f"TOP takes a whole number, not {t.text!r}")
            top = int(t.text)
        select_start = self.i
        # Skip the select list until FROM; it is resolved once the table is known.
        depth = 0
        while not (depth == 0 and self.at("kw", "FROM")):
            if self.at("eof"):
                raise AdqlError("no FROM clause: name the table, e.g. FROM ivoa.obscore")
            t = self.take()
            depth += t.text == "(" and t.kind == "op"
            depth -= t.text == ")" and t.kind == "op"
        select_end = self.i
        self.expect("kw", "FROM")
        self.table_ref()
        after_from = self.i
        self.i = select_start
        columns = self.select_list(select_end)
        self.i = after_from
        tr = Translation(self.table, columns, top=top)
        if self.accept("kw", "WHERE"):
            tree = self.condition()
            self.place(tree, tr)
        if self.accept("kw", "ORDER"):
            self.expect("kw", "BY")
            parts = []
            while True:
                col = self.column()
                if col not in self.table.sql:
                    raise AdqlError(f"cannot order by {col!r}: it is computed by the service")
                direction = "ASC"
                if self.at("kw", "ASC") or self.at("kw", "DESC"):
                    direction = self.take().text
                parts.append(f"{self.table.sql[col]} {direction}")
                if not self.accept("op", ","):
                    break
            tr.order_by = ", ".join(parts)
        self.accept("op", ";")
        if not self.at("eof"):
            t = self.peek()
            raise AdqlError(f"unexpected {t.text!r} at position {t.pos}; this service supports SELECT ... FROM "
                            "... WHERE ... ORDER BY ... only")
        return tr

    def table_ref(self) -> None:
        parts = [self.expect("id", what="a table name").text]
        while self.accept("op", "."):
            parts.append(self.expect("id", what="a table name").text)
        name = ".".join(parts)
        table = self.tables.get(name.lower())
        if table is None:
            raise AdqlError(f"unknown table {name!r}; this service has {', '.join(t.name for t in self.tables.values())}")
        self.table = table
        if self.accept("kw", "AS"):
            self.alias = self.expect("id", what="a table alias").text
        elif self.at("id"):
            self.alias = self.take().text
        if self.at("op", ",") or self.at("kw", "JOIN"):
            raise AdqlError("joins are not supported by this TAP service: query one table")

    def column(self) -> str:
        parts = [self.expect("id", what="a column name").text]
        while self.accept("op", "."):
            parts.append(self.expect("id", what="a column name").text)
        name = parts[-1]
        qualifier = ".".join(parts[:-1])
        allowed = {"", self.table.name.lower(), self.table.name.split(".")[-1].lower()}
        if self.alias:
            allowed.add(self.alias.lower())
        if qualifier.lower() not in allowed:
            raise AdqlError(f"unknown table or alias {qualifier!r} in {'.'.join(parts)!r}")
        for c in self.table.columns:
            if c.lower() == name.lower():
                return c
        raise AdqlError(f"unknown column {name!r} in {self.table.name}")

    def select_list(self, end: int) -> list[tuple[str, str]]:
        if self.accept("op", "*"):
            if self.i != end:
                raise AdqlError("SELECT * cannot be combined with other items")
            return [(c, c) for c in self.table.columns]
        out = []
        while True:
            if self.at("id") and self.at("op", "(", 1):
                raise AdqlError(f"functions in the select list ({self.peek().text}) are not supported; "
                                "select plain columns")
            if self.at("id") and self.at("op", ".", 1) and self.at("op", "*", 2):
                self.i += 3
                out.extend((c, c) for c in self.table.columns)
            else:
                col = self.column()
                alias = col
                if self.accept("kw", "AS"):
                    alias = self.expect("id", what="a column alias").text
                elif self.at("id"):
                    alias = self.take().text
                out.append((col, alias))
            if self.i == end:
                break
            self.expect("op", ",", what="',' or FROM")
        names = [a.lower() for _, a in out]
        if len(set(names)) != len(names):
            raise AdqlError("two output columns have the same name; use AS to rename one")
        return out

    def condition(self):
        terms = [self.conjunction()]
        while self.accept("kw", "OR"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else ("or", terms)

    def conjunction(self):
        terms = [self.negation()]
        while self.accept("kw", "AND"):
            terms.append(self.negation())
        return terms[0] if len(terms) == 1 else ("and", terms)

    def negation(self):
        if self.accept("kw", "NOT"):
            return ("not", self.negation())
        return self.primary()

    def primary(self):
        if self.at("op", "("):
            self.take()
            inner = self.condition()
            self.expect("op", ")")
            return inner
        if self.at("num") and self.at("op", "=", 1) and self.at("id", None, 2) and self.at("op", "(", 3):
            one = self.take().text
            self.take()
            node = self.spatial()
            if float(one) != 1:
                raise AdqlError("compare CONTAINS/INTERSECTS with 1 (true); other values are not supported")
            return node
        if self.at("id") and self.at("op", "(", 1):
            node = self.spatial()
            self.expect("op", "=", what="'= 1' after the geometry function")
            one = self.expect("num", what="1")
            if float(one.text) != 1:
                raise AdqlError("compare CONTAINS/INTERSECTS with 1 (true); other values are not supported")
            return node
        if self.at("num") or self.at("str") or self.at("op", "-") or self.at("op", "+"):
            value = self.literal()
            op = self.comparison()
            col = self.sql_column()
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return ("pred", f"{col} {flipped} ?", [value])
        col = self.sql_column()
        negate = bool(self.accept("kw", "NOT"))
        if self.accept("kw", "BETWEEN"):
            lo = self.literal()
            self.expect("kw", "AND")
            hi = self.literal()
            return ("pred", f"{col} {'NOT ' if negate else ''}BETWEEN ? AND ?", [lo, hi])
        if self.accept("kw", "IN"):
            self.expect("op", "(")
            values = [self.literal()]
            while self.accept("op", ","):
                values.append(self.literal())
            self.expect("op", ")")
            return ("pred", f"{col} {'NOT ' if negate else ''}IN ({', '.join('?' * len(values))})", values)
        if self.at("kw", "LIKE") or self.at("kw", "ILIKE"):
            kind = self.take().text
            pattern = self.literal()
            if not isinstance(pattern, str):
                raise AdqlError(f"{kind} takes a string pattern")
            if kind == "LIKE":  # case-sensitive: SQLite GLOB with the wildcards translated
                glob = "".join("*" if ch == "%" else "?" if ch == "_" else f"[{ch}]" if ch in "*?[]" else ch
                               for ch in pattern)
                return ("pred", f"{col} {'NOT ' if negate else ''}GLOB ?", [glob])
            return ("pred", f"{col} {'NOT ' if negate else ''}LIKE ?", [pattern])
        if negate:
            raise AdqlError("NOT after a column must be followed by BETWEEN, IN, LIKE or ILIKE")
        if self.accept("kw", "IS"):
            neg = bool(self.accept("kw", "NOT"))
            self.expect("kw", "NULL")
            return ("pred", f"{col} IS {'NOT ' if neg else ''}NULL", [])
        op = self.comparison()
        return ("pred", f"{col} {op} ?", [self.literal()])

    def comparison(self) -> str:
        t = self.peek()
        if t.kind == "op" and t.text in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.take()
            return "<>" if t.text == "!=" else t.text
        raise AdqlError(f"expected a comparison (=, <>, <, <=, >, >=, BETWEEN, IN, LIKE, IS NULL) but found "
                        f"{t.text or 'the end of the query'!r} at position {t.pos}")

    def sql_column(self) -> str:
        col = self.column()
        if col not in self.table.sql:
            raise AdqlError(f"cannot constrain {col!r}: it is computed by the service; use "
                            + ", ".join(sorted(self.table.sql)))
        return self.table.sql[col]

    def literal(self):
        sign = 1.0
        if self.at("op", "-") or self.at("op", "+"):
            sign = -1.0 if self.take().text == "-" else 1.0
            t = self.expect("num", what="a number")
        else:
            t = self.take()
        if t.kind == "num":
            if re.fullmatch(r"\d+", t.text):
                return int(sign) * int(t.text)
            return sign * float(t.text)
        if t.kind == "str" and sign == 1.0:
            return t.text[1:-1].replace("''", "'")
        raise AdqlError(f"expected a number or a 'string' but found {t.text or 'the end of the query'!r} "
                        f"at position {t.pos}")

    def numbers(self, func: str) -> list[float]:
        """The numeric arguments of a geometry constructor, after an optional coordinate system."""
        self.expect("op", "(", what=f"'(' after {func}")
        if self.at("str"):
            system = self.take().text[1:-1].strip().upper()
            if system not in ("", "ICRS", "J2000"):
                raise AdqlError(f"{func}: coordinate system {system!r} is not supported; use 'ICRS'")
            self.expect("op", ",")
        out = [self.literal()]
        while self.accept("op", ","):
            out.append(self.literal())
        self.expect("op", ")")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in out):
            raise AdqlError(f"{func} takes numbers in degrees")
        return [float(v) for v in out]

    def region(self):
        name = self.expect("id", what="CIRCLE or POLYGON").text.upper()
        if name == "CIRCLE":
            nums = self.numbers("CIRCLE")
            if len(nums) != 3:
                raise AdqlError(f"CIRCLE takes ra, dec, radius; got {len(nums)} numbers")
            ra, dec, r = nums
            if not (0 <= ra <= 360 and -90 <= dec <= 90 and 0 < r <= 180):
                raise AdqlError(f"CIRCLE({ra}, {dec}, {r}): need 0 <= ra <= 360, |dec| <= 90, 0 < radius <= 180")
            return Circle(ra % 360.0, dec, r)
        if name == "POLYGON":
            nums = self.numbers("POLYGON")
            if len(nums) < 6 or len(nums) % 2:
                raise AdqlError(f"POLYGON takes at least 3 (ra, dec) pairs; got {len(nums)} numbers")
            ras, decs = nums[0::2], nums[1::2]
            if not all(0 <= r <= 360 for r in ras) or not all(-90 <= d <= 90 for d in decs):
                raise AdqlError("POLYGON vertices need 0 <= ra <= 360 and |dec| <= 90")
            poly = Polygon(ras, decs)
            if not polygon_is_simple(poly.xyz) or poly.radius > math.pi / 2:
                raise AdqlError("POLYGON must be simple (no crossing edges) and smaller than a hemisphere")
            return poly
        raise AdqlError(f"{name} is not supported here; use CIRCLE or POLYGON")

    def spatial(self):
        func = self.expect("id").text.upper()
        if not self.table.spatial:
            raise AdqlError(f"{func} is only supported on ivoa.obscore")
        self.expect("op", "(")
        if func == "CONTAINS":
            if not (self.at("id") and self.peek().text.upper() == "POINT"):
                raise AdqlError("CONTAINS is supported as CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE(...))")
            self.take()
            self.expect("op", "(")
            if self.at("str"):
                system = self.take().text[1:-1].strip().upper()
                if system not in ("", "ICRS", "J2000"):
                    raise AdqlError(f"POINT: coordinate system {system!r} is not supported; use 'ICRS'")
                self.expect("op", ",")
            a = self.column()
            self.expect("op", ",")
            b = self.column()
            self.expect("op", ")")
            if (a, b) != ("s_ra", "s_dec"):
                raise AdqlError(f"CONTAINS(POINT({a}, {b}), ...): only POINT(s_ra, s_dec) is indexed")
            self.expect("op", ",")
            region = self.region()
            if not isinstance(region, Circle):
                raise AdqlError("CONTAINS(POINT(...), ...) supports CIRCLE only; use INTERSECTS(s_region, POLYGON(...))")
            self.expect("op", ")")
            return ("spatial", "contains", region)
        if func == "INTERSECTS":
            if self.at("id") and self.peek().text.upper() in ("CIRCLE", "POLYGON"):
                region = self.region()
                self.expect("op", ",")
                col = self.column()
            else:
                col = self.column()
                self.expect("op", ",")
                region = self.region()
            if col != "s_region":
                raise AdqlError(f"INTERSECTS needs s_region and a CIRCLE or POLYGON, not {col!r}")
            self.expect("op", ")")
            return ("spatial", "intersects", region)
        raise AdqlError(f"function {func} is not supported; CONTAINS and INTERSECTS are")

    # -- placing the tree into SQL
    def place(self, tree, tr: Translation) -> None:
        terms = tree[1] if tree[0] == "and" else [tree]
        sql, params = [], []
        for term in terms:
            if term[0] == "spatial":
                _, kind, region = term
                if kind == "contains":
                    if tr.centre_in is not None:
                        raise AdqlError("at most one CONTAINS predicate is supported")
                    tr.centre_in = region
                else:
                    if tr.intersects is not None:
                        raise AdqlError("at most one INTERSECTS predicate is supported")
                    tr.intersects = region
                continue
            s, p = self.render(term)
            sql.append(s)
            params.extend(p)
        tr.where = " AND ".join(sql)
        tr.params = params

    def render(self, node) -> tuple[str, list]:
        kind = node[0]
        if kind == "pred":
            return node[1], list(node[2])
        if kind == "spatial":
            raise AdqlError("CONTAINS/INTERSECTS must be a top-level AND term (not under OR or NOT)")
        if kind == "not":
            s, p = self.render(node[1])
            return f"NOT ({s})", p
        parts = [self.render(x) for x in node[1]]
        joiner = " OR " if kind == "or" else " AND "
        return "(" + joiner.join(f"({s})" for s, _ in parts) + ")", [v for _, p in parts for v in p]


def translate(adql: str, tables: dict[str, TableDef]) -> Translation:
    """Parse ``adql`` against ``tables`` (keys: lower-case ADQL names) into a :class:`Translation`.

    Raises
    ------
    AdqlError
        For anything outside the subset described in the module docstring.

    Examples
    --------
    >>> t = TableDef("ivoa.obscore", ("obs_id", "s_ra"), {"obs_id": "o.obs_id", "s_ra": "o.s_ra"})
    >>> tr = translate("SELECT TOP 5 obs_id FROM ivoa.obscore WHERE s_ra > 10", {"ivoa.obscore": t})
    >>> tr.where, tr.params, tr.top
    ('o.s_ra > ?', [10], 5)
    """
    if not isinstance(adql, str) or not adql.strip():
        raise AdqlError("QUERY is empty; send an ADQL SELECT statement")
    if len(adql) > MAX_LENGTH:
        raise AdqlError(f"QUERY is longer than {MAX_LENGTH} characters")
    return _Parser(adql, tables).query()
