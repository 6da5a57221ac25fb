"""ADQL 2.1 to DuckDB SQL through sqlglot's syntax tree: parse, check every table, column and function, translate. Pure.

:func:`translate` parses the query (sqlglot's T-SQL grammar, which reads ADQL's ``TOP``, delimited
identifiers and string rules), refuses anything but one SELECT (with UNION/INTERSECT/EXCEPT), resolves
every table against the service's :class:`~astrohub_archive.tapschema.TableSet` (and the request's
uploads) and every column with sqlglot's qualifier, allows only the functions /capabilities declares (ADQL's,
:data:`EXTRA_FUNCTIONS`, :data:`UDFS`; any other name is refused by name), seeds ``RAND(x)``, rewrites the
geometry (``POINT``, ``CIRCLE``, ``BOX``, ``POLYGON``, ``CONTAINS``, ``INTERSECTS``, ``DISTANCE``,
``AREA``, of ``s_region`` too, ``COORD1/2``, ``COORDSYS``) into arithmetic on (ra, dec) in degrees (positions given in GALACTIC, FK5
or FK4 converted to ICRS: constants with astropy, column points by astropy's rotation matrix in the query, FK4's
once its E-terms are out), ``IN_UNIT`` into a column times its conversion factor,
``WITH`` queries into DuckDB's under names of their own, and RegTAP's text
functions (:data:`UDFS`: ``ivo_hasword``, ``ivo_nocasematch``, ``ivo_hashlist_has``) into DuckDB's, and returns a
:class:`Plan`: DuckDB SQL naming internal relations (``t0``, ``t1`` ...), and for each relation the
sky regions its rows are known to lie in (HATS partition pruning, and the image index's R-tree for
``ivoa.obscore``). Nothing from the query text reaches the engine except through the syntax tree.

Positional joins (``1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(b.ra, b.dec, r))`` or
``DISTANCE(...) < r`` with a constant r, between two inner-joined tables) are planned for the
crossmatch kernel: the query joins both sides through a relation of candidate pairs
(:class:`PositionalJoin`, filled by :mod:`astrohub_archive.posjoin`) and keeps its own distance
test. The plan also carries the same query as a DuckDB range join (a declination band, ``a.dec
BETWEEN b.dec - r AND b.dec + r``, which DuckDB runs as an IEJoin), which other positional tests use.
Imports sqlglot, numpy, astropy (units and frames, when a query uses them) and ``platform_lib.imageindex``
(regions); never DuckDB.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, TokenError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from astrohub_archive.faults import LimitFault, UsageFault
from astrohub_archive.tapschema import ADQL_RESERVED, ColumnDesc, TableDesc, TableSet

__all__ = ["Plan", "PositionalJoin", "Source", "translate", "MAX_LENGTH", "MAX_DEPTH", "MAX_VERTICES",
           "GEOMETRY_FUNCTIONS", "ADQL_FUNCTIONS", "EXTRA_FUNCTIONS", "UDFS"]

MAX_LENGTH = 20_000  # characters of ADQL
MAX_DEPTH = 60  # nesting of parentheses
MAX_VERTICES = 500  # of one POLYGON
READ_DIALECT = "tsql"
GEOMETRY_FUNCTIONS = {"POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE", "AREA",
                      "COORD1", "COORD2", "COORDSYS", "CENTROID", "REGION"}
_ALLOWED_FUNCS = tuple(c for c in (getattr(exp, n, None) for n in (
    "Abs", "Ceil", "Floor", "Ln", "Log", "Exp", "Mod", "Pi", "Pow", "Rand", "Round", "Trunc", "Sqrt", "Sin", "Cos",
    "Tan", "Cot", "Asin", "Acos", "Atan", "Atan2", "Degrees", "Radians", "Sign", "Lower", "Upper", "Cast", "TryCast",
    "Coalesce", "Count", "Sum", "Avg", "Min", "Max", "Case", "If", "Substring", "Trim", "Length", "Stddev",
    "StddevPop", "StddevSamp", "Variance", "VariancePop", "Nullif", "Greatest", "Least", "Concat", "CountIf",
    "Exists",
)) if c is not None)

#: The function names of ADQL 2.1 (sections 2.3 and 4) this service answers, besides :data:`GEOMETRY_FUNCTIONS`:
#: the mandatory math, trigonometric and aggregate functions, and the optional ones /capabilities declares
#: (``LOWER``, ``UPPER``, ``COALESCE``, ``CAST``, ``IN_UNIT``).
ADQL_FUNCTIONS = frozenset({
    "ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER", "RADIANS", "RAND", "ROUND",
    "SQRT", "TRUNCATE", "ACOS", "ASIN", "ATAN", "ATAN2", "COS", "COT", "SIN", "TAN", "AVG", "COUNT", "MAX", "MIN",
    "SUM", "LOWER", "UPPER", "COALESCE", "CAST", "IN_UNIT",
})

#: The functions beyond ADQL 2.1 that this service answers (DuckDB's, through sqlglot's translation), each declared
#: in /capabilities as a TAPRegExt ``features-udf``: ``{NAME: (form, description)}``, as DaCHS declares its own.
#: Any other name sqlglot knows (``NVL``, ``CEIL``, ``LEN``, ``TRY_CAST`` ...) is refused by name
#: (:func:`_check_function_names`), with the declared function that does the same where there is one: a query
#: that runs here runs on another ADQL service that declares the same functions.
EXTRA_FUNCTIONS = {
    "GREATEST": ("greatest(x DOUBLE, y DOUBLE) -> DOUBLE",
                 "The largest of its two or more arguments (NULLs are skipped)"),
    "LEAST": ("least(x DOUBLE, y DOUBLE) -> DOUBLE", "The smallest of its two or more arguments (NULLs are skipped)"),
    "NULLIF": ("nullif(x DOUBLE, y DOUBLE) -> DOUBLE", "NULL where x equals y, else x (SQL-92's NULLIF)"),
    "IIF": ("iif(condition BOOLEAN, a DOUBLE, b DOUBLE) -> DOUBLE",
            "a where the condition holds, else b (CASE WHEN condition THEN a ELSE b END)"),
    "SIGN": ("sign(x DOUBLE) -> INTEGER", "-1, 0 or 1: the sign of x"),
    "LN": ("ln(x DOUBLE) -> DOUBLE", "The natural logarithm of x (as ADQL's LOG)"),
    "SUBSTRING": ("substring(s VARCHAR, start INTEGER, length INTEGER) -> VARCHAR",
                  "length characters of s from the start-th (the first is 1); without length, the rest of s"),
    "TRIM": ("trim(s VARCHAR) -> VARCHAR", "s without its leading and trailing spaces"),
    "LENGTH": ("length(s VARCHAR) -> INTEGER", "The number of characters of s"),
    "CONCAT": ("concat(a VARCHAR, b VARCHAR) -> VARCHAR",
               "Its two or more arguments as text, one after the other (NULLs are skipped; a || b is NULL for one)"),
    "STDDEV": ("stddev(x DOUBLE) -> DOUBLE", "Aggregate: the sample standard deviation of x (as STDDEV_SAMP)"),
    "STDDEV_SAMP": ("stddev_samp(x DOUBLE) -> DOUBLE", "Aggregate: the sample standard deviation of x"),
    "STDDEV_POP": ("stddev_pop(x DOUBLE) -> DOUBLE", "Aggregate: the population standard deviation of x"),
    "VARIANCE": ("variance(x DOUBLE) -> DOUBLE", "Aggregate: the sample variance of x (as VAR_SAMP)"),
    "VAR_SAMP": ("var_samp(x DOUBLE) -> DOUBLE", "Aggregate: the sample variance of x"),
    "VAR_POP": ("var_pop(x DOUBLE) -> DOUBLE", "Aggregate: the population variance of x"),
    "COUNT_IF": ("count_if(condition BOOLEAN) -> BIGINT", "Aggregate: the number of rows where the condition holds"),
}
def _one_if(cond: exp.Expression) -> exp.Expression:
    """RegTAP's functions are integers: 1 where ``cond`` holds, else 0 (NULL input included)."""
    return exp.case().when(cond, exp.Literal.number(1)).else_(exp.Literal.number(0))


def _word_pattern(needle: exp.Expression) -> exp.Expression:
    r"""``'\b' || regexp_escape(needle) || '\b'``: ``needle`` as a whole word (or words) in RE2."""
    escaped = exp.Anonymous(this="regexp_escape", expressions=[needle])
    return exp.DPipe(this=exp.DPipe(this=exp.Literal.string("\\b"), expression=escaped),
                     expression=exp.Literal.string("\\b"))


#: The user-defined functions of RegTAP 1.1 (section 8) for text, which DaCHS offers on every table too:
#: ``{NAME: (signature as TAPRegExt declares it, description, builder of its DuckDB expression)}``.
#: ``ivo_hasword`` is a case-insensitive whole-word match; DaCHS matches PostgreSQL's stemmed full-text
#: words, so a plural ('galaxies') finds 'galaxy' there and not here.
UDFS = {
    "IVO_HASWORD": ("ivo_hasword(haystack TEXT, needle TEXT) -> INTEGER",
                    "1 if needle is a word (or words) of haystack, case-insensitively, else 0",
                    lambda h, n: _one_if(exp.RegexpLike(this=h, expression=_word_pattern(n),
                                                        flag=exp.Literal.string("i")))),
    "IVO_NOCASEMATCH": ("ivo_nocasematch(value TEXT, pattern TEXT) -> INTEGER",
                        "1 if value matches the LIKE pattern case-insensitively, else 0",
                        lambda v, p: _one_if(exp.ILike(this=v, expression=p))),
    "IVO_HASHLIST_HAS": ("ivo_hashlist_has(hashlist TEXT, item TEXT) -> INTEGER",
                         "1 if item is one of the '#'-separated words of hashlist, case-insensitively, else 0",
                         lambda h, i: _one_if(exp.ArrayContains(
                             this=exp.Split(this=exp.Lower(this=h), expression=exp.Literal.string("#")),
                             expression=exp.Lower(this=i)))),
}


def _udf(node: exp.Anonymous) -> exp.Expression:
    name = _fname(node)
    signature, _, build = UDFS[name]
    if len(node.expressions) != 2:
        raise UsageFault(f"{name.lower()} takes 2 arguments, not {len(node.expressions)}: {signature}")
    return build(*(a.copy() for a in node.expressions))


_FORBIDDEN = tuple(c for c in (getattr(exp, n, None) for n in (
    "Command", "Create", "Drop", "Insert", "Update", "Delete", "Merge", "Set", "Pragma", "Use", "Copy", "Attach",
    "Detach", "Describe", "Into", "Lateral", "Window", "Placeholder", "Parameter", "SessionParameter",
    "Values", "Pivot", "Unnest", "Hint", "Transaction", "Commit", "Rollback", "Alter", "Kill", "LoadData", "Show",
    "Export", "Install", "Declare", "TableSample", "Qualify",
)) if c is not None)


@dataclass
class Source:
    """One relation the query reads: the table, its DuckDB name, and what is known of the rows it needs.

    ``cones`` are ``(ra, dec, radius)`` circles (degrees) one of which every needed row lies in
    (None: anywhere), ``polygons`` constant polygons (ra1, dec1, ra2, dec2, ...) and ``boxes`` constant
    RA/Dec boxes ``(ra_min, ra_max, dec_min, dec_max)`` (RA eastwards, through 0 when ``ra_min > ra_max``)
    every needed row lies in, all of them (AND terms);
    ``obscore_regions``/``obscore_centres`` are the image index's footprint and
    centre constraints (``ivoa.obscore`` only).
    """

    table: TableDesc
    internal: str
    uses: int = 0
    cones: list[tuple[float, float, float]] | None = None
    polygons: list[tuple[float, ...]] | None = None
    boxes: list[tuple[float, float, float, float]] | None = None
    obscore_regions: list = field(default_factory=list)
    obscore_centres: list = field(default_factory=list)


@dataclass
class PositionalJoin:
    """A positional join the crossmatch kernel answers: the pairs relation ``name`` (columns ``ra1, dec1,
    ra2, dec2``) that ``sql`` joins its two sides through.

    ``left_sql``/``right_sql`` select each side's positions (``ra``, ``dec``) after the conditions on
    that side alone; every pair closer than ``radius`` (degrees) is a candidate, and
    the query's own distance test, kept in ``sql``, decides (so the answer is DuckDB's, pair for pair).
    ``left_source``/``right_source``: the internal relation each side reads (``t0``, ``t1`` ...);
    ``left_rows_sql``/``right_rows_sql``: that side's rows, every column, with its positions as
    ``adql_ra``, ``adql_dec`` (what a kept catalogue side is read by, see :mod:`astrohub_archive.posjoin`).
    """

    name: str
    left_sql: str
    right_sql: str
    radius: float
    left_source: str = ""
    right_source: str = ""
    left_rows_sql: str = ""
    right_rows_sql: str = ""


@dataclass
class Plan:
    """A checked query: DuckDB ``sql``, its ``sources``, the output columns' descriptions and ``top``.

    With ``joins``, ``sql`` reads their pairs relations; ``fallback_sql`` is the same query as a
    DuckDB range join, for when the kernel cannot take the inputs (see :mod:`astrohub_archive.posjoin`).
    """

    sql: str
    sources: dict[str, Source]
    columns: dict[str, ColumnDesc] = field(default_factory=dict)
    top: int | None = None
    joins: list[PositionalJoin] = field(default_factory=list)
    fallback_sql: str | None = None


# ---------------------------------------------------------------- parsing and checks


def _depth(text: str) -> int:
    depth = best = 0
    in_str = in_id = False
    for ch in text:
        if ch == "'" and not in_id:
            in_str = not in_str
        elif ch == '"' and not in_str:
            in_id = not in_id
        elif not in_str and not in_id:
            if ch == "(":
                depth += 1
                best = max(best, depth)
            elif ch == ")":
                depth -= 1
    return best


def _parse(adql: str) -> exp.Expression:
    if not isinstance(adql, str) or not adql.strip():
        raise UsageFault("QUERY is empty; send an ADQL SELECT statement")
    if len(adql) > MAX_LENGTH:
        raise LimitFault(f"QUERY is {len(adql)} characters long; this service takes at most {MAX_LENGTH}")
    if "\x00" in adql:
        raise UsageFault("QUERY contains a NUL character")
    depth = _depth(adql)
    if depth > MAX_DEPTH:
        raise LimitFault(f"QUERY nests parentheses {depth} deep; this service takes at most {MAX_DEPTH}")
    try:
        trees = [t for t in sqlglot.parse(adql, read=READ_DIALECT) if t is not None]
    except ParseError as exc:
        first = re.match(r"(?:\s+|--[^\n]*|\()*(\w*)", adql).group(1)
        if first.upper() != "SELECT":  # SELEC * FROM t: sqlglot reads on and fails later, in its own words
            raise UsageFault(f"ADQL syntax error: a query begins with SELECT, not {first or adql.strip()[:20]!r}"
                             ) from None
        err = exc.errors[0] if exc.errors else {}
        near = (err.get("highlight") or "").strip()
        what = _syntax_message(re.sub(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>", r"'\1'",
                                      str(err.get("description", exc))))
        raise UsageFault(f"ADQL syntax error at line {err.get('line', '?')}, column {err.get('col', '?')}"
                         + (f" near {near!r}" if near else "") + f": {what}") from None
    except TokenError as exc:
        raise UsageFault(f"ADQL syntax error: {exc}") from None
    except RecursionError:
        raise LimitFault("QUERY is nested too deeply for this service; simplify the expression") from None
    if len(trees) != 1:
        raise UsageFault(f"QUERY must be one SELECT statement, not {len(trees)}")
    tree = trees[0]
    if not isinstance(tree, (exp.Select, exp.Union, exp.Intersect, exp.Except)):
        raise UsageFault(f"QUERY must be a SELECT statement (ADQL is read-only), not {tree.key.upper()}")
    _check_complete(tree, adql)
    return tree


#: What a clause sqlglot found incomplete needs (its node class -> the words of the message).
_INCOMPLETE = {"Where": "WHERE needs a condition", "Having": "HAVING needs a condition",
               "And": "AND needs a condition on each side", "Or": "OR needs a condition on each side",
               "Order": "ORDER BY needs a column or expression", "Limit": "TOP needs a number of rows",
               "Between": "BETWEEN needs AND and an upper bound", "Not": "NOT needs a condition"}


def _syntax_message(text: str) -> str:
    """sqlglot's parse error ``text`` in ADQL's words: "Required keyword: 'this' missing for <class
    'sqlglot.expressions.query.Where'>" is "WHERE needs a condition"; its end-of-query token is "the end"."""
    m = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]+\.(\w+)'>", text)
    if m:
        return _INCOMPLETE.get(m.group(2), f"an incomplete {m.group(2).upper()} (its {m.group(1)} is missing)")
    return text.replace("'SENTINEL'", "the end of the query")


def _check_complete(tree: exp.Expression, adql: str) -> None:
    """Refuse the incomplete clauses sqlglot reads without an error (each ran as another query: ``JOIN t
    ON`` with no condition as a cross join, ``IN ()`` as false), naming the clause."""
    from sqlglot.tokens import TokenType

    for select in tree.find_all(exp.Select):
        if not select.expressions:
            raise UsageFault("SELECT needs a select list: columns, expressions or *")
        if not (select.args.get("from_") or select.args.get("from")):  # 'SELECT 1' ran, as SQL (not ADQL) runs it
            said = select.sql(dialect=READ_DIALECT)
            raise UsageFault(f"ADQL syntax error: {said if len(said) <= 60 else said[:57] + '...'!r} has no FROM "
                             f"clause, which ADQL requires: write SELECT ... FROM schema.table; {_LIST_TABLES}")
        group = select.args.get("group")
        if group is not None and not group.expressions:
            raise UsageFault("GROUP BY needs a column or expression")
    for node in tree.find_all(exp.In):
        if not node.expressions and node.args.get("query") is None and node.args.get("unnest") is None:
            raise UsageFault("IN needs a value or a subquery in its parentheses")
    joins = list(tree.find_all(exp.Join))
    try:
        tokens = sqlglot.Dialect.get_or_raise(READ_DIALECT).tokenize(adql)
    except TokenError:  # parsed above, so tokenized before: nothing to add
        return
    for kind, arg, words in ((TokenType.ON, "on", "ON"), (TokenType.USING, "using", "USING")):
        if sum(t.token_type == kind for t in tokens) > sum(j.args.get(arg) not in (None, []) for j in joins):
            raise UsageFault(f"JOIN ... {words} needs {'a condition' if words == 'ON' else 'a list of columns'}")
    for comma, after in zip(tokens, tokens[1:]):  # "SELECT ra, FROM t": sqlglot dropped the comma and ran it
        if comma.token_type == TokenType.COMMA and after.token_type == TokenType.FROM:
            raise UsageFault(f"ADQL syntax error at line {comma.line}, column {comma.col}: the select list ends with a "
                             "comma before FROM (a column left out after it?)")


def _normalise(tree: exp.Expression) -> exp.Expression:
    """sqlglot reads ``CONTAINS(a, b)`` as its own string function: make it the ADQL geometry call; and
    T-SQL's ``0x1F`` as a binary string: ADQL 2.1's hexadecimal literal is an integer (31). NULLs sort as
    PostgreSQL (so DaCHS and most TAP services) sorts them, after every value: last in ``ORDER BY x``,
    first in ``ORDER BY x DESC`` (T-SQL's order put them first, so ``TOP 3 ... ORDER BY vmag``, the
    three brightest, gave three objects with no magnitude). SQL-92 leaves it to the implementation."""
    def fix(node):
        if isinstance(node, exp.Contains):
            return exp.Anonymous(this="CONTAINS", expressions=[node.this, node.expression])
        if isinstance(node, exp.HexString):
            return exp.Literal.number(int(str(node.this), 16))
        if isinstance(node, exp.Ordered):
            node.set("nulls_first", bool(node.args.get("desc")))
        return node

    return tree.transform(fix, copy=False)


def _declared() -> frozenset[str]:
    """Every function name a query may call here: ADQL's, the geometry, :data:`EXTRA_FUNCTIONS` and :data:`UDFS`."""
    return ADQL_FUNCTIONS | GEOMETRY_FUNCTIONS | set(EXTRA_FUNCTIONS) | set(UDFS)


def _call(name: str) -> exp.Expression | None:
    """The syntax tree of a call of ``name`` (with the fewest of one, two or three arguments it takes), None where
    no such call parses."""
    for args in ("x", "x, y", "x, y, z"):
        try:
            return sqlglot.parse_one(f"SELECT {name}({args})", read=READ_DIALECT).expressions[0]
        except (ParseError, TokenError, ValueError):
            continue
    return None


@lru_cache(maxsize=1)
def _declared_by_type() -> dict[type, str]:
    """``{sqlglot class: declared name}``: which declared function an undeclared name (``CEIL``, ``NVL``) reads as."""
    out: dict[type, str] = {}
    for name in sorted(ADQL_FUNCTIONS | set(EXTRA_FUNCTIONS)):
        node = _call(name)
        if node is not None and not isinstance(node, exp.Anonymous):
            out.setdefault(type(node), name)
    return out


@lru_cache(maxsize=256)
def _undeclared_message(name: str) -> str:
    """What a call of the undeclared function ``name`` is told: the declared function it is a synonym of (``NVL``:
    ``COALESCE``), else the declared one of its kind (``SQUARE``: ``POWER``) or the declared name closest to it."""
    node = _call(name)
    same = _declared_by_type().get(type(node)) if node is not None else None
    where = " (the service's /capabilities lists every function it takes)"
    if same is not None:
        args = ", ".join(a.sql() for a in node.iter_expressions() if isinstance(a, exp.Column))
        try:
            twin = sqlglot.parse_one(f"SELECT {same}({args})", read=READ_DIALECT).expressions[0]
        except (ParseError, TokenError, ValueError):
            twin = None
        if twin is not None and twin.sql() == node.sql():
            return f"function {name} is not declared by this service; call {same}, which does the same" + where
        return f"function {name} is not declared by this service; the nearest declared function is {same}" + where
    close = difflib.get_close_matches(name, sorted(_declared()), 1)
    return f"function {name} is not declared by this service" + (f"; did you mean {close[0]}?" if close else "") + where


#: The words sqlglot also knows as functions that stand before a parenthesis as operators: ``AND (...)``.
_KEYWORDS_BEFORE_PARENS = frozenset({"AND", "OR", "XOR", "NOT", "CASE", "LIKE", "GLOB", "EXISTS", "FILTER", "APPLY",
                                     "COLLATE", "IN"})


def _check_function_names(adql: str) -> None:
    """Refuse a call of a function name sqlglot knows (and would translate) that this service does not declare
    (:func:`_declared`), by name: ``NVL(a, b)`` read as COALESCE and ran, but it is no ADQL and /capabilities did
    not say so. Names sqlglot does not know are refused with the syntax tree (:func:`_check_nodes`)."""
    from sqlglot.tokens import TokenType

    dialect = sqlglot.Dialect.get_or_raise(READ_DIALECT)
    known = dialect.parser_class.FUNCTIONS.keys() | dialect.parser_class.FUNCTION_PARSERS.keys()
    try:
        tokens = dialect.tokenize(adql)
    except TokenError:  # parsed already
        return
    declared = _declared()
    for i, tok in enumerate(tokens[:-1]):
        name = tok.text.upper()
        if tokens[i + 1].token_type != TokenType.L_PAREN or name in _KEYWORDS_BEFORE_PARENS or not (
                tok.token_type == TokenType.VAR or tok.token_type.name == name):  # a name or a keyword (ISNULL)
            continue
        if i and tokens[i - 1].token_type in (TokenType.DOT, TokenType.ALIAS, TokenType.FROM, TokenType.JOIN) \
                or _names_a_query(tokens, i):
            continue  # a qualified name, a type (CAST(x AS CHAR(8))), a table function (refused as one), a WITH
            # query's name with its columns
        if name in known and name not in declared:
            raise UsageFault(_undeclared_message(name))


def _names_a_query(tokens, i: int) -> bool:
    """Is token ``i`` (followed by ``(``) the name of a ``WITH`` query with its columns, ``WITH a (x) AS (...)``?"""
    from sqlglot.tokens import TokenType

    depth = 0
    for j in range(i + 1, len(tokens)):
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[j].token_type, 0)
        if depth == 0:
            return (j + 2 < len(tokens) and tokens[j + 1].token_type == TokenType.ALIAS
                    and tokens[j + 2].token_type == TokenType.L_PAREN)
    return False


def _seed_rand(tree: exp.Expression) -> exp.Expression:
    """ADQL 2.1's ``RAND(x)``, "a random value with x as seed", as a value of the seed alone: the top 53 bits of
    DuckDB's hash of ``x`` (as a double) over 2**53, in [0, 1); NULL for a NULL seed. The same seed gives the same
    value wherever it is used, in one query and across queries (as T-SQL's ``RAND(seed)``, whose grammar reads
    ADQL here); a column as the seed gives each row a repeatable value of its own (``WHERE RAND(source_id) <
    0.01``: the same 1 % sample each time). ``RAND()`` stays DuckDB's ``random()``, new for each row. DuckDB's
    ``setseed`` would seed the connection, not the call, and its sequence depends on the order threads read rows."""
    def fix(node):
        if not (isinstance(node, exp.Rand) and node.this is not None):
            return node
        seed = exp.cast(node.this.copy(), to=exp.DataType.build("DOUBLE"))
        bits = exp.BitwiseRightShift(this=_f("hash", seed), expression=exp.Literal.number(11))
        value = exp.Mul(this=exp.cast(bits, to=exp.DataType.build("DOUBLE")), expression=_num(2.0 ** -53))
        out = exp.Case(ifs=[exp.If(this=exp.Is(this=seed.copy(), expression=exp.Null()), true=exp.Null())],
                       default=value)
        # selected as it is: its column is named as RAND()'s is (not "case"): :func:`_generated_name`
        return exp.alias_(out, _GENERATED + "rand") if isinstance(node.parent, exp.Select) \
            and node.arg_key == "expressions" else out

    return tree.transform(fix, copy=False)


def _check_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, exp.With) and node.args.get("recursive"):
            raise UsageFault("WITH RECURSIVE is not part of ADQL 2.1; write each common table expression from "
                             "tables and the ones before it")
        if isinstance(node, _FORBIDDEN):
            raise UsageFault(f"{node.key.upper()} is not part of ADQL; this service answers SELECT queries")
        if isinstance(node, exp.Anonymous):
            name = str(node.this).upper()
            if name not in GEOMETRY_FUNCTIONS and name != "IN_UNIT" and name not in UDFS:
                close = difflib.get_close_matches(name, sorted(_declared()), 1)
                raise UsageFault(f"unknown function {name}" + (f"; did you mean {close[0]}?" if close else
                                                               "; see the service's /capabilities for ADQL functions"))
        elif (isinstance(node, exp.Func) and not isinstance(node, _ALLOWED_FUNCS)
              and not isinstance(node, (exp.Connector, exp.Binary))):
            raise UsageFault(f"function {node.sql_name()} is not supported by this service's ADQL")
        elif isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            raise UsageFault("only tables can follow FROM (no table functions)")


# ---------------------------------------------------------------- tables


#: What a common table expression (``WITH name AS (...)``, ADQL 2.1) is called in DuckDB's SQL: its own prefix,
#: so that no name the user chooses can stand for one of the query's relations (``t0``, ``adql_pairs0``).
CTE_PREFIX = "adql_cte_"


def _rename_ctes(tree) -> set[str]:
    """Rename each ``WITH`` name to :data:`CTE_PREFIX` + its name (lower-case) and return the names; a
    second definition of one name in one ``WITH`` is a :class:`UsageFault` naming it."""
    names: set[str] = set()
    for with_ in tree.find_all(exp.With):
        seen = set()
        for cte in with_.expressions:
            name = cte.alias_or_name.lower()
            if name in seen:
                raise UsageFault(f"WITH defines {cte.alias_or_name!r} twice; give each query its own name")
            seen.add(name)
            names.add(name)
            columns = cte.args["alias"].columns if cte.args.get("alias") else []
            cte.set("alias", exp.TableAlias(this=exp.to_identifier(CTE_PREFIX + name), columns=columns))
    return names


def _resolve_tables(tree, tables: TableSet, uploads: dict[str, TableDesc]) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    by_name: dict[str, Source] = {}
    ctes = _rename_ctes(tree)
    for node in list(tree.find_all(exp.Table)):
        if not node.db and not node.args.get("catalog") and node.name.lower() in ctes:
            # a common table expression's name (it shadows a table of that name, as in SQL): read as written
            node.replace(exp.Table(this=exp.to_identifier(CTE_PREFIX + node.name.lower()),
                                   alias=exp.TableAlias(this=exp.to_identifier(node.alias or node.name))))
            continue
        if node.args.get("catalog"):
            raise UsageFault(f"unknown table {node.sql(dialect=READ_DIALECT)!r}: names have at most two parts")
        schema = node.db
        short = node.name
        full = f"{schema}.{short}" if schema else short
        desc = None
        if schema.lower() == "tap_upload":
            desc = uploads.get(short.lower())
        elif schema:
            desc = tables.get(full)
        else:
            hits = [t for t in tables.tables.values() if t.short_name.lower() == short.lower()]
            desc = hits[0] if len(hits) == 1 else None
        if desc is None and schema.lower() == "tap_upload":
            sent = ", ".join(sorted(uploads)) or "none"
            raise UsageFault(f"no upload {short!r} in this request (its uploads: {sent}); send it with "
                             f"UPLOAD={short},param:<part> and the table as that part")
        if desc is None and "/" in full:
            raise UsageFault(f"unknown table {full!r}; {_registry_name_hint(full, tables)}")
        if desc is None:
            raise UsageFault(f"unknown table {full!r}; " + _tables_like(full, tables.names() + [
                f"TAP_UPLOAD.{u}" for u in uploads], tables))
        src = by_name.get(desc.name.lower())
        if src is None:
            src = Source(desc, f"t{len(sources)}")
            sources[src.internal] = src
            by_name[desc.name.lower()] = src
        src.uses += 1
        alias = node.alias or short
        node.replace(exp.Table(this=exp.to_identifier(src.internal),
                               alias=exp.TableAlias(this=exp.to_identifier(alias))))
    # Columns written schema.table.column: drop the schema (the table part names the alias).
    for col in tree.find_all(exp.Column):
        if col.args.get("db"):
            col.set("db", None)
        if col.args.get("catalog"):
            col.set("catalog", None)
    return sources


_LIST_TABLES = "list this service's tables with SELECT table_name FROM TAP_SCHEMA.tables"
#: A catalogue dictionary's name (``I/311/hip2``, as platform_lib.catalogs and VizieR write it) where ADQL's
#: ``schema.table`` goes: unquoted, it reads as a division and fails as a syntax error.
_REGISTRY_NAME = re.compile(r"\b(?:FROM|JOIN)\s+\"?([A-Za-z][\w.+-]*/[\w.+/-]*\w)", re.I)


def _tables_like(written: str, names: list[str], tables: TableSet | None = None) -> str:
    """A hint for an unknown table ``written``: the names close to it (schema-qualified, or the table part alone
    when that is what was written; case aside), else the tables whose description names it (``hipparcos``),
    else how to list the service's tables."""
    if "." in written:
        by_key = {n.lower(): n for n in names}
    else:
        by_key = {n.rsplit(".", 1)[-1].lower(): n for n in names}
    close = [by_key[k] for k in difflib.get_close_matches(written.lower(), list(by_key), 3, 0.8)]
    if close:
        return f"did you mean {', '.join(close)}?"
    word = written.rsplit(".", 1)[-1].lower()
    described = sorted(t.name for t in (tables.tables.values() if tables else ()) if len(word) >= 4
                       and t.kind == "catalog" and re.search(rf"\b{re.escape(word)}", t.description, re.I))
    if described:
        return f"the tables described as {written!r}: {', '.join(described[:5])}; or {_LIST_TABLES}"
    return _LIST_TABLES


def _registry_name_hint(written: str, tables: TableSet) -> str:
    """The ADQL name of the catalogue table a dictionary name ``written`` (``I/311/hip2``, or its catalogue
    ``I/311``) stands for, or how ADQL names tables."""
    key = written.lower()
    hits = sorted(t.name for t in tables.tables.values() if t.registry_name and (
        t.registry_name.lower() == key or t.registry_name.lower().startswith(key + "/")))
    if hits:
        return f"{written!r} is the catalogue dictionary's name; in ADQL write {' or '.join(hits[:5])}"
    return f"{written!r} names no table here, and ADQL names a table schema.table; {_LIST_TABLES}"


def _schema_of(sources: dict[str, Source]) -> dict:
    out = {}
    for internal, src in sources.items():
        out[internal] = {c.name.lower(): _sql_type(c) for c in src.table.columns}
    return out


def _sql_type(c: ColumnDesc) -> str:
    return {"double": "DOUBLE", "float": "FLOAT", "long": "BIGINT", "int": "INT", "short": "SMALLINT",
            "unsignedByte": "UTINYINT", "boolean": "BOOLEAN"}.get(c.datatype, "VARCHAR")


def _qualify(tree, sources: dict[str, Source]):
    # the names as the query spells them (qualify lower-cases them): messages quote what the user wrote
    spelt: dict[str, str] = {}
    for ident in tree.find_all(exp.Identifier):
        spelt.setdefault(ident.name.lower(), ident.name)
    try:
        return qualify(tree, schema=_schema_of(sources), dialect=READ_DIALECT, validate_qualify_columns=True,
                       quote_identifiers=True, identify=True)
    except OptimizeError as exc:
        msg = str(exc)
        # an unqualified name no table has, or a qualified one (``o.nme``) its table lacks
        m = re.search(r"Column '([^']+)' could not be resolved", msg) or re.search(r"Unknown column: (\S+)", msg)
        if m:
            name = spelt.get(m.group(1).lower(), m.group(1))
            # the query's tables by alias, for naming: "h (I_311.hip2)", or the table's name alone
            by_alias = {t.alias_or_name.lower(): sources[t.name].table for t in tree.find_all(exp.Table)
                        if t.name in sources}
            label = {a: (d.name if a == d.name.lower() else f"{spelt.get(a, a)} ({d.name})")
                     for a, d in by_alias.items()}
            q = re.search(r"for table: '([^']+)'", msg)
            if q and q.group(1).lower() not in by_alias and q.group(1).lower() not in {
                    n.alias.lower() for n in tree.find_all(exp.Subquery) if n.alias}:
                qualifier = spelt.get(q.group(1).lower(), q.group(1))
                raise UsageFault(f"unknown table or alias {qualifier!r} in {qualifier}.{name}; the query's "
                                 f"tables are {', '.join(label.values())}") from None
            having = [label[a] for a, d in by_alias.items() if any(c.name.lower() == name.lower() for c in d.columns)]
            if not q and len(having) > 1:
                raise UsageFault(f"column {name!r} is ambiguous: {', '.join(having)} {'both' if len(having) == 2 else 'all'} have "
                                 "it; qualify it "
                                 "with a table name or alias") from None
            known = {c.name.lower(): c.name for s in sources.values() for c in s.table.columns}
            close = [known[k] for k in difflib.get_close_matches(name.lower(), sorted(known), 3)]
            where = ", ".join(s.table.name for s in sources.values())
            raise UsageFault(f"unknown column {name!r} in {where}"
                             + (f"; did you mean {', '.join(close)}?" if close else "")) from None
        raise UsageFault(f"cannot resolve the query: {msg.splitlines()[0]}") from None
    except RecursionError:
        raise LimitFault("QUERY is nested too deeply for this service; simplify the expression") from None


# ---------------------------------------------------------------- geometry


def _fname(node) -> str | None:
    return str(node.this).upper() if isinstance(node, exp.Anonymous) else None


def _args(node) -> list:
    args = list(node.expressions)
    if args and isinstance(args[0], exp.Literal) and args[0].is_string:
        args = args[1:]  # the coordinate system: ICRS is the only one served, others are read as ICRS
    return args


def _const(node) -> float | None:
    """The numeric value of a constant expression (numbers, signs, parentheses), else None."""
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    if isinstance(node, exp.Neg):
        v = _const(node.this)
        return None if v is None else -v
    if isinstance(node, exp.Paren):
        return _const(node.this)
    if isinstance(node, (exp.Add, exp.Sub, exp.Mul, exp.Div)):  # 2.0 / 3600 and the like
        a, b = _const(node.this), _const(node.expression)
        if a is None or b is None:
            return None
        if isinstance(node, exp.Div):
            return a / b if b else None
        return a + b if isinstance(node, exp.Add) else a - b if isinstance(node, exp.Sub) else a * b
    return None


@dataclass
class _Shape:
    kind: str  # point, circle, box, polygon
    args: list  # sqlglot expressions (point: x, y; circle: x, y, r; box: x, y, w, h); polygon: floats


#: The coordinate systems (the first word of a geometry's deprecated first argument, STC-S's frame) a constant
#: position is converted from, to ICRS, every table's frame here (astropy's frame for each); ICRS and an empty
#: or UNKNOWNFrame one are taken as ICRS, as before.
_FRAMES = {"FK5": ("fk5", "J2000"), "J2000": ("fk5", "J2000"), "FK4": ("fk4", "B1950"), "B1950": ("fk4", "B1950"),
           "GALACTIC": ("galactic", None), "GALACTIC_II": ("galactic", None)}


def _frame(node) -> str | None:
    """The frame a geometry's coordinate system names (a key of :data:`_FRAMES`), None for ICRS; a UsageFault for
    a system this service does not convert from (ECLIPTIC, GEO_D, ...)."""
    args = list(node.expressions)
    if not (args and isinstance(args[0], exp.Literal) and args[0].is_string):
        return None
    words = args[0].this.split()
    word = words[0].upper() if words else ""
    if word in ("", "ICRS", "UNKNOWNFRAME"):
        return None
    if word not in _FRAMES:
        raise UsageFault(f"coordinate system {args[0].this!r} is not supported; this service's positions are ICRS "
                         f"(it converts constant positions from {', '.join(sorted(_FRAMES))})")
    return word


@lru_cache(maxsize=8)
def _rotation(frame: str) -> tuple[tuple[float, ...], ...]:
    """The matrix taking a unit vector in ``frame`` (a key of :data:`_FRAMES`) to ICRS, from astropy's transform of
    the frame's axes. GALACTIC and FK5 are rotations of ICRS in astropy too; FK4 is one once its E-terms of
    aberration are out (:func:`_eterms`): this is the rotation of FK4NoETerms (equinox and obstime B1950)."""
    from astropy.coordinates import FK4NoETerms, SkyCoord

    name, equinox = _FRAMES[frame]
    frame_kw = {"frame": FK4NoETerms(equinox=equinox, obstime=equinox)} if name == "fk4" else {
        "frame": name, **({"equinox": equinox} if equinox else {})}
    axes = SkyCoord([0.0, 90.0, 0.0], [0.0, 0.0, 90.0], unit="deg", **frame_kw)  # the frame's x, y and z axes
    xyz = axes.icrs.cartesian.xyz.value  # column k: axis k of the frame, in ICRS
    return tuple(tuple(float(v) for v in row) for row in xyz)


@lru_cache(maxsize=2)
def _eterms(equinox: str) -> tuple[float, float, float]:
    """FK4's E-terms of aberration at ``equinox`` (a vector of ~1.6e-6: up to 0.34 arcsec), astropy's: what its
    FK4 to FK4NoETerms transform takes out of a position before FK4's rotation to ICRS."""
    from astropy.coordinates.builtin_frames.fk4 import fk4_e_terms
    from astropy.time import Time

    return tuple(float(v) for v in fk4_e_terms(Time(equinox)))


def _rotated(frame: str, x, y) -> tuple[exp.Expression, exp.Expression]:
    """The ICRS (ra, dec) of the position (``x``, ``y``) in ``frame`` (expressions of columns), as the engine's
    macros compute it: its unit vector (``adql_vec``), less FK4's E-terms (``adql_no_eterms``, :func:`_eterms`),
    rotated by :func:`_rotation` (``adql_rot_lon``/``adql_rot_lat``); NULL where ``x`` or ``y`` is. The same
    position as astropy's, to ~1e-9 degrees."""
    m = _rotation(frame)
    name, equinox = _FRAMES[frame]
    v = _f("adql_vec", x.copy(), y.copy())
    if name == "fk4":
        v = _f("adql_no_eterms", v, *[_num(e) for e in _eterms(equinox)])
    ra = _f("adql_rot_lon", v.copy(), *[_num(c) for c in m[0] + m[1]])
    dec = _f("adql_rot_lat", v.copy(), *[_num(c) for c in m[2]])
    return ra, dec


def _to_icrs(node, frame: str, pairs: list[tuple]) -> list[tuple]:
    """``(lon, lat)`` expression pairs of a geometry in ``frame`` as ICRS: constants as (ra, dec) degrees, from
    astropy's transform; others (columns, expressions of them) as the expressions of their rotation to ICRS
    (:func:`_rotated`), which a BOX or a POLYGON does not take."""
    from astropy.coordinates import SkyCoord

    vals = [(_const(x), _const(y)) for x, y in pairs]
    if any(v is None for pair in vals for v in pair):
        if _fname(node) not in ("POINT", "CIRCLE"):
            raise UsageFault(f"{_fname(node)} in {frame}: this service converts column positions to ICRS in POINT and "
                             "CIRCLE only; give the region's vertices as numbers")
        return [_rotated(frame, x, y) for x, y in pairs]
    name, equinox = _FRAMES[frame]
    kw = {"equinox": equinox} if equinox else {}
    lon, lat = zip(*vals)
    sky = SkyCoord(list(lon), list(lat), unit="deg", frame=name, **kw).icrs
    return list(zip(sky.ra.deg.tolist(), sky.dec.deg.tolist()))


def _shape(node) -> _Shape:
    """The region ``node`` (POINT, CIRCLE, BOX, POLYGON) in ICRS: constant positions given in another system
    (``CIRCLE('GALACTIC', l, b, r)``, ``CIRCLE(POINT('GALACTIC', l, b), r)``) are converted to ICRS, which
    is exact for points, circles and polygons (a rotation keeps great circles); DaCHS converts them too,
    where reading them as ICRS answered for another part of the sky."""
    if _fname(node) == "REGION":
        return _region_literal(node)
    shape = _shape_as_written(node)
    frames = {_frame(node)} | {_frame(x) for x in node.expressions if _fname(x) == "POINT"}
    frames.discard(None)
    if len(frames) > 1:
        raise UsageFault(f"{_fname(node)} mixes coordinate systems ({', '.join(sorted(frames))}); give one")
    frame = frames.pop() if frames else None
    if shape.kind == "polygon":
        if frame is not None:
            v = shape.args
            return _Shape("polygon", [c for p in _to_icrs(node, frame, list(zip(map(_num, v[0::2]), map(_num, v[1::2]))))
                                      for c in p])
        return shape
    if frame is None:
        return shape
    if shape.kind == "box":
        raise UsageFault(f"BOX in {frame}: its sides follow that system's coordinates, not ICRS RA and Dec; give the "
                         "box in ICRS, or its corners as a POLYGON")
    (ra, dec), = _to_icrs(node, frame, [tuple(shape.args[:2])])
    if isinstance(ra, exp.Expression):  # a column position, rotated to ICRS in the query
        return _Shape(shape.kind, [ra, dec] + shape.args[2:])
    return _Shape(shape.kind, [_num(ra), _num(dec)] + shape.args[2:])


def _shape_as_written(node) -> _Shape:
    name = _fname(node)
    if name == "POINT":
        a = _args(node)
        if len(a) != 2:
            raise UsageFault(f"POINT takes (ra, dec) (and optionally a coordinate system first), got {len(a)} values")
        return _Shape("point", a)
    if name == "CIRCLE":
        a = _args(node)
        if len(a) == 2 and _fname(a[0]) == "POINT":
            a = _args(a[0]) + [a[1]]
        if len(a) != 3:
            raise UsageFault("CIRCLE takes (ra, dec, radius) or (POINT, radius), in degrees")
        r = _const(a[2])
        if r is not None and not (0 <= r <= 180 and math.isfinite(r)):
            raise UsageFault(f"CIRCLE radius {r} must be in [0, 180] degrees")
        return _Shape("circle", a)
    if name == "BOX":
        a = _args(node)
        if len(a) == 3 and _fname(a[0]) == "POINT":
            a = _args(a[0]) + a[1:]
        if len(a) != 4:
            raise UsageFault("BOX takes (ra, dec, width, height) in degrees")
        return _Shape("box", a)
    if name == "POLYGON":
        a = _args(node)
        flat = []
        for x in a:
            if _fname(x) == "POINT":
                flat.extend(_args(x))
            else:
                flat.append(x)
        vals = [_const(x) for x in flat]
        if any(v is None for v in vals):
            raise UsageFault("a POLYGON with column vertices is answered in the select list only (each row's "
                             "polygon); in CONTAINS, INTERSECTS and AREA its vertices must be numbers (for a region "
                             "per row use CIRCLE with a column centre and radius, or a region column such as an "
                             "upload's s_region)")
        return _polygon_shape(vals)
    if name == "CENTROID":
        raise UsageFault(f"{name} is not supported by this service")
    if isinstance(node, exp.Column):  # DISTANCE(s_region, ...) said: expected a geometry, found '"obscore"."s_region"'
        raise UsageFault(f"the column {node.name} is not a region this service can take here: a region column "
                         "(ivoa.obscore's s_region, an uploaded table's STC-S s_region) is tested only in "
                         "CONTAINS and INTERSECTS (with a POINT, a CIRCLE, a POLYGON or another region column) and in "
                         "AREA (DISTANCE of it is not supported); elsewhere give a POINT, CIRCLE, BOX or POLYGON")
    raise UsageFault(f"expected a geometry (POINT, CIRCLE, BOX or POLYGON), found {node.sql(dialect='duckdb')[:60]!r}")


def _polygon_shape(vals: list[float]) -> _Shape:
    """A constant POLYGON of the vertices ``vals`` (ra1, dec1, ...), checked: at least 3, at most
    :data:`MAX_VERTICES`, finite, declinations in [-90, 90], within a hemisphere (:func:`_sky_polygon`)."""
    if len(vals) < 6 or len(vals) % 2:
        raise UsageFault(f"POLYGON takes at least 3 (ra, dec) pairs, got {len(vals)} numbers")
    if len(vals) > 2 * MAX_VERTICES:
        raise LimitFault(f"POLYGON has {len(vals) // 2} vertices; this service takes at most {MAX_VERTICES}")
    if not all(math.isfinite(v) for v in vals) or not all(-90 <= d <= 90 for d in vals[1::2]):
        raise UsageFault("POLYGON vertices must be finite with declinations in [-90, 90]")
    _sky_polygon(tuple(vals))  # the hemisphere limit, as a UsageFault
    return _Shape("polygon", vals)


def _region_literal(node) -> _Shape:
    """``REGION('<STC-S>')`` (ADQL 2.0's, which DaCHS answers; not in ADQL 2.1): one ``Circle``, ``Polygon`` or
    ``Box`` (STC-S's: the polygon of its corners, as an ``s_region`` is read), in ICRS (another frame converted, as
    :func:`platform_lib.imageindex.sregion.read_s_region` reads it)."""
    from platform_lib.imageindex.sregion import read_s_region

    args = node.expressions
    if len(args) != 1 or not (isinstance(args[0], exp.Literal) and args[0].is_string):
        raise UsageFault("REGION takes one STC-S string, e.g. REGION('Circle ICRS 10 20 1')")
    try:
        region = read_s_region(args[0].this)
    except ValueError as exc:
        raise UsageFault(f"REGION: {exc}") from None
    if len(region.shapes) != 1 or region.holes:
        raise UsageFault(f"REGION({args[0].this[:60]!r}): a union or a region with holes is not supported here; give "
                         "one Circle, Polygon or Box (or test each shape, joined with OR)")
    shape = region.shapes[0]
    if shape.kind == "circle":
        return _Shape("circle", [_num(v) for v in shape.values])
    return _polygon_shape([float(v) for v in shape.vertices().ravel()])


@lru_cache(maxsize=256)
def _sky_polygon(vals: tuple):
    """``vals`` (ra1, dec1, ra2, dec2, ...) as the catalogue service's polygon: great-circle edges, the
    same inside test and hemisphere limit as ``platform_lib.catalogs.polygon_search``."""
    from platform_lib.catalogs import MAX_POLYGON_CAP_DEG, SkyPolygon

    try:
        return SkyPolygon(vals[0::2], vals[1::2])
    except ValueError as exc:
        raise UsageFault(f"POLYGON is too large: every vertex must lie within {MAX_POLYGON_CAP_DEG} deg of one "
                         f"point (less than a hemisphere); {exc}") from None


def _f(name: str, *args) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _num(v: float) -> exp.Expression:
    return exp.Literal.number(repr(float(v)))


def _dist(x1, y1, x2, y2) -> exp.Expression:
    return _f("adql_dist", x1.copy(), y1.copy(), x2.copy(), y2.copy())


def _band(y, cy, r) -> exp.Expression:
    return exp.Between(this=y.copy(), low=exp.Sub(this=cy.copy(), expression=exp.Paren(this=r.copy())),
                       high=exp.Add(this=cy.copy(), expression=exp.Paren(this=r.copy())))


def _polygon_spec(vals: list[float]) -> exp.Expression:
    return exp.Literal.string(" ".join(repr(v) for v in vals))


def _contains(a: _Shape, b: _Shape) -> exp.Expression:
    """The condition ``a`` inside ``b`` (a point in a circle, box or polygon; a circle in a circle)."""
    if a.kind == "point":
        x, y = a.args
        if b.kind == "circle":
            cx, cy, r = b.args
            return exp.and_(_band(y, cy, r), exp.LTE(this=_dist(x, y, cx, cy), expression=r.copy()))
        if b.kind == "box":
            cx, cy, w, h = b.args
            return _f("adql_in_box", x.copy(), y.copy(), cx.copy(), cy.copy(), w.copy(), h.copy())
        if b.kind == "polygon":
            return _cap_filter(x, y, _sky_polygon(tuple(b.args)), 0.0,
                               _f("adql_in_polygon", x.copy(), y.copy(), _polygon_spec(b.args)))
        raise UsageFault("CONTAINS(POINT, POINT) is not defined; use DISTANCE(...) = 0")
    if a.kind == "circle" and b.kind == "circle":
        x, y, r = a.args
        cx, cy, rr = b.args
        return exp.LTE(this=exp.Add(this=_dist(x, y, cx, cy), expression=r.copy()), expression=rr.copy())
    if a.kind == "circle" and b.kind == "polygon":
        return _circle_polygon(a, b, "adql_circle_in_polygon")
    if a.kind == "circle" and b.kind == "box":
        return _circle_box(a, b, "adql_circle_in_box")
    if b.kind == "point":  # the arguments swapped, as astronomers write it now and then
        raise UsageFault(f"CONTAINS({a.kind.upper()}, POINT) asks whether the {a.kind} lies inside the point; for the "
                         f"rows inside a {a.kind}, write CONTAINS(POINT(ra, dec), {a.kind.upper()}(...)) = 1")
    raise UsageFault(f"CONTAINS({a.kind.upper()}, {b.kind.upper()}) is not supported; the first argument must be "
                     "a POINT (or a CIRCLE inside a CIRCLE, a BOX or a POLYGON)")


def _cap_filter(x, y, poly, pad: float, test: exp.Expression) -> exp.Expression:
    """``test`` (a Python UDF on the polygon ``poly``) behind cheap conditions every point (``x``, ``y``) within ``pad``
    degrees of the polygon meets: the declination band (an AND term, which DuckDB may push into a Parquet scan) and,
    where the band clears both poles, the RA range (``CASE WHEN NOT <in it> THEN FALSE ELSE test END``, so that
    DuckDB, which orders AND terms by its own cost guess and took the UDF first, runs it on those rows only;
    NULL where a coordinate is NULL, as the test is) of a cap
    holding the vertices, widened by ``pad`` (edges are great circles, which bulge poleward of their vertices, but
    stay inside a cap under a hemisphere). The cap is the tighter of the polygon's own (a linear programme's, which
    leans towards a corner of the unit cube: 34 degrees for a 1-degree triangle) and the one about the vertices'
    mean. Before, the band of the polygon's cap alone: a 1-degree polygon at Dec 20 sent the inside test every
    row from Dec 1 to 70, all round the sky."""
    import numpy as np

    centre, radius = np.asarray(poly.centre, float), float(poly.radius_deg)
    mean = poly.vertices.sum(axis=0)
    if np.linalg.norm(mean) > 0:
        mean = mean / np.linalg.norm(mean)
        around = float(np.degrees(np.arccos(np.clip((poly.vertices @ mean).min(), -1.0, 1.0))))
        if around < min(radius, 89.0):
            centre, radius = mean, around
    cx, cy, cz = (float(v) for v in centre)
    cdec = math.degrees(math.asin(max(-1.0, min(1.0, cz))))
    r = radius + pad
    lo, hi = max(-90.0, cdec - r), min(90.0, cdec + r)
    band = exp.Between(this=y.copy(), low=_num(lo - 1e-9), high=_num(hi + 1e-9))
    if -90.0 < cdec - r and cdec + r < 90.0 and r < 90.0:
        # the cap's widest RA offset from its centre: asin(sin r / cos dec0), reached off the centre's parallel
        half = math.degrees(math.asin(min(1.0, math.sin(math.radians(r)) / math.cos(math.radians(cdec)))))
        ra0 = math.degrees(math.atan2(cy, cx)) % 360
        off = exp.Sub(this=_f("adql_lon", exp.Sub(this=x.copy(), expression=_num(ra0 - 180))), expression=_num(180.0))
        near = exp.LTE(this=exp.Abs(this=off), expression=_num(half + 1e-9))  # |RA - ra0| wrapped to [-180, 180)
        test = exp.Case(ifs=[exp.If(this=exp.Not(this=exp.Paren(this=near)), true=exp.false())], default=test)
    return exp.and_(band, test)


def _circle_box(c: _Shape, b: _Shape, udf: str) -> exp.Expression:
    """A circle inside (``adql_circle_in_box``) or meeting (``adql_circle_meets_box``) a box, the region
    ``adql_in_box`` tests (exact: the centre's distance to the box's parallels and meridians); behind the
    box's declination band, widened by the radius, when both are constants."""
    test = _f(udf, *[x.copy() for x in c.args + b.args])
    vals = [_const(x) for x in (b.args[1], b.args[3], c.args[2])]
    if any(v is None for v in vals):
        return test
    cdec, h, r = vals
    pad = r if udf == "adql_circle_meets_box" else 0.0
    lo, hi = max(-90.0, cdec - h / 2 - pad), min(90.0, cdec + h / 2 + pad)
    return exp.and_(exp.Between(this=c.args[1].copy(), low=_num(lo - 1e-9), high=_num(hi + 1e-9)), test)


def _circle_polygon(c: _Shape, p: _Shape, udf: str) -> exp.Expression:
    """A circle inside (``adql_circle_in_polygon``) or meeting (``adql_circle_meets_polygon``) a constant
    polygon, behind the declination band and RA range of the cap holding the polygon (:func:`_cap_filter`), widened
    by a constant radius."""
    x, y, r = c.args
    test = _f(udf, x.copy(), y.copy(), r.copy(), _polygon_spec(p.args))
    pad = _const(r) if udf == "adql_circle_meets_polygon" else 0.0
    if pad is None:
        return test
    return _cap_filter(x, y, _sky_polygon(tuple(p.args)), pad, test)


def _intersects(a: _Shape, b: _Shape) -> exp.Expression:
    if a.kind == "point":
        return _contains(a, b)
    if b.kind == "point":
        return _contains(b, a)
    if a.kind == "circle" and b.kind == "circle":
        x, y, r = a.args
        cx, cy, rr = b.args
        return exp.LTE(this=_dist(x, y, cx, cy), expression=exp.Add(this=r.copy(), expression=rr.copy()))
    if {a.kind, b.kind} == {"circle", "polygon"}:
        return _circle_polygon(*((a, b) if a.kind == "circle" else (b, a)), "adql_circle_meets_polygon")
    if {a.kind, b.kind} == {"circle", "box"}:
        return _circle_box(*((a, b) if a.kind == "circle" else (b, a)), "adql_circle_meets_box")
    raise UsageFault(f"INTERSECTS({a.kind.upper()}, {b.kind.upper()}) is only supported with a POINT, two CIRCLEs, "
                     "a CIRCLE and a BOX or a POLYGON, or ivoa.obscore's s_region against a constant region")


def _area(s: _Shape) -> exp.Expression:
    sq = (180 / math.pi) ** 2
    if s.kind == "circle":
        r = s.args[2]
        return exp.Mul(this=_num(2 * math.pi * sq), expression=exp.Paren(this=exp.Sub(
            this=exp.Literal.number(1), expression=exp.Cos(this=exp.Radians(this=r.copy())))))
    if s.kind == "polygon":
        from platform_lib.imageindex import Polygon

        return _num(Polygon(s.args[0::2], s.args[1::2]).area() * sq)
    if s.kind == "box":
        return _f("adql_box_area", *[x.copy() for x in s.args[1:]])
    return exp.Literal.number(0)


def _geometry_value(node) -> exp.Expression:
    """A geometry function used as a value (not inside CONTAINS/INTERSECTS)."""
    name = _fname(node)
    if name == "DISTANCE":
        a = _args(node)
        if len(a) == 4:
            return _dist(*a)
        if len(a) == 2:
            p, q = _shape(a[0]), _shape(a[1])
            if p.kind == q.kind == "point":
                return _dist(*p.args, *q.args)
        raise UsageFault("DISTANCE takes two POINTs (or ra1, dec1, ra2, dec2)")
    if name in ("COORD1", "COORD2"):
        a = node.expressions
        if len(a) != 1:
            raise UsageFault(f"{name} takes one POINT")
        s = _shape(a[0])
        if s.kind != "point":
            raise UsageFault(f"{name} takes a POINT")
        # a point's coordinates are doubles (DALI's point is double[2]): COORD1(POINT(10, 20)) is 10.0, not 10;
        # a point with a NULL coordinate is NULL, so both its coordinates are
        this, other = s.args if name == "COORD1" else s.args[::-1]
        return exp.Case(ifs=[exp.If(this=exp.Is(this=other.copy(), expression=exp.Null()), true=exp.Null())],
                        default=exp.cast(this.copy(), to=exp.DataType.build("DOUBLE")))
    if name == "COORDSYS":
        return exp.Literal.string("ICRS")
    if name == "AREA":
        if len(node.expressions) != 1:
            raise UsageFault("AREA takes one region")
        arg = node.expressions[0]
        if isinstance(arg, exp.Column) and arg.name.lower() == "s_region":  # each row's footprint, in square degrees
            return exp.Mul(this=_f("adql_region_area", node.expressions[0].copy()), expression=_num((180 / math.pi) ** 2))
        return _area(_shape(node.expressions[0]))
    if name == "POLYGON" and _frame(node) is None and not any(_frame(x) for x in node.expressions):
        vertices = [v for x in _args(node) for v in (_args(x) if _fname(x) == "POINT" else [x])]
        if any(_const(v) is None for v in vertices):
            return _polygon_value(vertices)
    if name in ("POINT", "CIRCLE", "BOX", "POLYGON", "CENTROID", "REGION"):
        return _geometry_array(_shape(node))  # CENTROID and REGION: "not supported" (they said to use them
        # inside CONTAINS or AREA, which then refused them as not supported)
    raise UsageFault(f"{name} values cannot be selected or compared here; use them inside CONTAINS, INTERSECTS, "
                     "DISTANCE, AREA or COORD1/COORD2")


def _polygon_value(vertices: list) -> exp.Expression:
    """A selected ``POLYGON`` whose vertices are expressions (``POLYGON(ra - 1, dec, ra + 1, dec, ra, dec + 1)``,
    which DaCHS answers): the DALI polygon of them, longitudes in [0, 360); NULL where a value is NULL."""
    if len(vertices) < 6 or len(vertices) % 2:
        raise UsageFault(f"POLYGON takes at least 3 (ra, dec) pairs, got {len(vertices)} values")
    if len(vertices) > 2 * MAX_VERTICES:
        raise LimitFault(f"POLYGON has {len(vertices) // 2} vertices; this service takes at most {MAX_VERTICES}")
    values = [_f("adql_lon", v.copy()) if i % 2 == 0 else exp.cast(v.copy(), to=exp.DataType.build("DOUBLE"))
              for i, v in enumerate(vertices)]
    null = exp.or_(*[exp.Is(this=v.copy(), expression=exp.Null()) for v in vertices])
    return exp.Case(ifs=[exp.If(this=null, true=exp.Null())],
                    default=_f("adql_polygon", _f("list_value", *values)))


def _box_value(args) -> None:
    """Refuse a constant ``BOX`` given as a value whose DALI polygon of corners is not the box: one 180° of RA wide or
    more (the great circle between two corners 180° apart or more runs the other way round the sky), one whose Dec
    range passes a pole (a corner past it is no position) or of a negative size; with columns such a row's value is
    NULL (the engine's ``adql_box``). In CONTAINS/INTERSECTS and AREA the box is the RA/Dec range, any size."""
    vals = [_const(x) for x in args]
    if any(v is None for v in vals):
        return
    ra, dec, w, h = vals
    text = f"BOX({ra:g}, {dec:g}, {w:g}, {h:g})"
    if w < 0 or h < 0:
        raise UsageFault(f"{text}: a box's width and height are not negative")
    if w >= 180 or abs(dec) + h / 2 > 90:
        why = "is 180° of RA wide or more" if w >= 180 else "reaches past a pole"
        raise UsageFault(f"{text} as a value is the polygon of its corners, and this box {why}, so no polygon of its "
                         "corners is it; use it in CONTAINS/INTERSECTS or AREA (where it is the RA/Dec range, any "
                         "size), or select a smaller box, a CIRCLE or a POLYGON")


def _geometry_array(s: _Shape) -> exp.Expression:
    """A region as a DALI 1.1 value (section 3.3.5-3.3.7), an array of doubles in degrees (longitudes in
    [0, 360)): a point
    ``DOUBLE[2]`` (ra, dec), a circle ``DOUBLE[3]`` (ra, dec, radius), a polygon ``DOUBLE[]`` (ra1, dec1,
    ra2, dec2, ...); a BOX is the polygon of its corners (the RA/Dec range ``adql_in_box`` tests). NULL
    when a value in it is NULL. Each is a one-field struct (the engine's ``adql_*`` macros) whose field
    names its kind, from which the engine gives the result's column its DALI xtype."""
    if s.kind == "polygon":
        vals = [v % 360 if i % 2 == 0 else v for i, v in enumerate(s.args)]  # DALI longitudes: [0, 360)
        return _f("adql_polygon", _f("list_value", *[_num(v) for v in vals]))
    if s.kind == "box":
        _box_value(s.args)
    return _f(f"adql_{s.kind}", *[x.copy() for x in s.args])


def _predicate(node) -> exp.Expression:
    name = _fname(node)
    if len(node.expressions) != 2:
        raise UsageFault(f"{name} takes two regions")
    first, second = (_polygon_text(x) or x for x in node.expressions)
    if _region_valued(first) or _region_valued(second):
        return _region_column_test(name, first, second)
    a, b = _shape(first), _shape(second)
    return _contains(a, b) if name == "CONTAINS" else _intersects(a, b)


def _polygon_text(node) -> exp.Expression | None:
    """A POLYGON with column vertices (``POLYGON(n.ra - 1, n.dec - 1, ...)``) as each row's STC-S text, built in the
    query (NULL where a vertex is), to be tested as a region column is; None for anything else. Its vertices are
    ICRS (another system is refused: a column position is not converted here)."""
    if _fname(node) != "POLYGON":
        return None
    flat = [y for x in _args(node) for y in (_args(x) if _fname(x) == "POINT" else [x])]
    if all(_const(x) is not None for x in flat):
        return None
    if _frame(node) is not None:
        raise UsageFault("a POLYGON with column vertices is taken in ICRS only; give its vertices in ICRS")
    if len(flat) < 6 or len(flat) % 2:
        raise UsageFault(f"POLYGON takes at least 3 (ra, dec) pairs, got {len(flat)} values")
    if len(flat) > 2 * MAX_VERTICES:
        raise LimitFault(f"POLYGON has {len(flat) // 2} vertices; this service takes at most {MAX_VERTICES}")
    out = exp.Literal.string("Polygon ICRS")
    for x in flat:
        out = exp.DPipe(this=exp.DPipe(this=out, expression=exp.Literal.string(" ")),
                        expression=exp.cast(exp.Paren(this=x.copy()), to=exp.DataType.build("VARCHAR")))
    out.meta["adql_region"] = True
    return out


def _region_valued(node) -> bool:
    """Whether ``node`` is each row's region as STC-S text: a column (``s_region``) or :func:`_polygon_text`'s."""
    return isinstance(node, exp.Column) or bool(node.meta.get("adql_region"))


def _region_column_test(name: str, first, second) -> exp.Expression:
    """A test of a region column (each row's region as STC-S: ivoa.obscore's ``s_region`` where its test is not pushed
    down to the image index, an uploaded table's): ``CONTAINS(POINT, column)`` and ``INTERSECTS`` of it and a POINT,
    CIRCLE or POLYGON (either order) by the engine's ``adql_region_meets``; ``INTERSECTS`` of two region columns,
    ``CONTAINS`` of a region column in a CIRCLE, a POLYGON or another region column and of a CIRCLE or POLYGON in a
    region column by ``adql_region_relation`` (a shape as STC-S, :func:`_stcs`). Row by row, exactly on the sphere;
    NULL (so no match) for a row whose text is no region, as ``AREA`` of it answers."""
    column, other = (first, second) if _region_valued(first) else (second, first)
    supported = ("tested in CONTAINS(POINT(...), column), in INTERSECTS of the column and a POINT, a CIRCLE, a POLYGON "
                 "or another region column, and in CONTAINS of the column and a CIRCLE, a POLYGON or another region "
                 "column (either way round)")
    if _region_valued(other):
        return _region_relation(first, second, "meets" if name == "INTERSECTS" else "within")
    shape = _shape(other)
    if shape.kind == "box":
        raise UsageFault(f"{name} of a region column and a BOX is not supported; give the region as a CIRCLE or a "
                         "POLYGON (a POLYGON of the box's corners has great-circle sides, not the BOX's RA/Dec range)")
    if name == "CONTAINS" and shape.kind == "point" and column is first:
        raise UsageFault(f"CONTAINS({first.sql()}, {second.sql()}) asks whether a region column lies inside a point; "
                         f"a region column is {supported}")
    if name == "CONTAINS" and shape.kind != "point":
        return _region_relation(first if first is column else _stcs(shape), second if second is column else
                                _stcs(shape), "within")
    none = exp.cast(exp.Null(), to=exp.DataType.build("DOUBLE"))
    if shape.kind == "polygon":
        args = [none, none.copy(), none.copy(), _polygon_spec(shape.args)]
    else:
        args = [x.copy() for x in shape.args] + ([none] if shape.kind == "point" else []) + [exp.Literal.string("")]
    return _f("adql_region_meets", _as_text(column), exp.Literal.string(shape.kind), *args)


def _as_text(column) -> exp.Expression:
    return exp.cast(column.copy(), to=exp.DataType.build("VARCHAR"))


def _region_relation(first, second, relation: str) -> exp.Expression:
    """The engine's ``adql_region_relation`` of two regions as STC-S text (columns, or :func:`_stcs` of a shape)."""
    first, second = (_as_text(x) if _region_valued(x) else x for x in (first, second))
    return _f("adql_region_relation", first, second, exp.Literal.string(relation))


def _stcs(shape: _Shape) -> exp.Expression:
    """A CIRCLE or POLYGON (in ICRS) as STC-S text: a constant polygon's as a literal, a circle's built row by row
    from its (column) centre and radius, NULL where one of them is."""
    if shape.kind == "polygon":
        return exp.Literal.string("Polygon ICRS " + " ".join(repr(v) for v in shape.args))
    out = exp.Literal.string("Circle ICRS")
    for x in shape.args:
        out = exp.DPipe(this=exp.DPipe(this=out, expression=exp.Literal.string(" ")),
                        expression=exp.cast(x.copy(), to=exp.DataType.build("VARCHAR")))
    return out


def _flag(node) -> tuple[exp.Expression, bool] | None:
    """``(CONTAINS/INTERSECTS node, wanted truth)`` when ``node`` is ``1 = f(...)``, ``f(...) = 0`` and so on."""
    if not isinstance(node, (exp.EQ, exp.NEQ)):
        return None
    for fn, lit in ((node.this, node.expression), (node.expression, node.this)):
        if _fname(fn) in ("CONTAINS", "INTERSECTS") and _const(lit) in (0.0, 1.0):
            truth = _const(lit) == 1.0
            return fn, truth if isinstance(node, exp.EQ) else not truth
    return None


# ---------------------------------------------------------------- pruning


def _conjuncts(node) -> list:
    if node is None:
        return []
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    return [node]


def _col_is(node, alias: str, column: str | None) -> bool:
    return (column is not None and isinstance(node, exp.Column) and node.table.lower() == alias.lower()
            and node.name.lower() == column.lower())


def _push_down(tree, sources: dict[str, Source]) -> None:
    """Record the regions the WHERE clauses confine each catalogue / obscore relation to; replace the
    obscore footprint tests (answered by the image index) with TRUE."""
    from platform_lib.imageindex import Circle

    for select in tree.find_all(exp.Select):
        direct: dict[str, Source] = {}
        for tnode in [select.args.get("from_") or select.args.get("from")] + list(select.args.get("joins") or []):
            if tnode is None:
                continue
            t = tnode.this
            if isinstance(t, exp.Table) and t.name in sources:
                direct[t.alias_or_name.lower()] = sources[t.name]
        where = select.args.get("where")
        if not direct or where is None:
            continue
        for term in _conjuncts(where.this):
            flag = _flag(term)
            if flag is None or not flag[1]:
                continue
            fn, _ = flag
            name = _fname(fn)
            args = fn.expressions
            if len(args) != 2:
                continue
            first, second = args
            if name == "INTERSECTS" and _fname(first) in ("CIRCLE", "POLYGON", "BOX", "POINT") and isinstance(
                    second, exp.Column):
                first, second = second, first
            # a footprint inside a region, or holding one, meets it: the index gives those meeting it, and the
            # term stays, for the engine's exact test of each (adql_region_relation)
            exact = name == "CONTAINS" and (_fname(first) in ("CIRCLE", "POLYGON") or _fname(second) in (
                "CIRCLE", "POLYGON"))
            swapped = name == "CONTAINS" and _fname(first) in ("POINT", "CIRCLE", "POLYGON") and isinstance(
                second, exp.Column)
            if swapped:
                first, second = second, first  # CONTAINS(POINT(...), s_region): the ObsCore spec's "images here"
            for alias, src in direct.items():
                t = src.table
                if t.kind == "obscore" and _col_is(first, alias, "s_region"):
                    if isinstance(second, exp.Column) or (name == "CONTAINS" and (
                            _fname(second) not in ("POINT", "CIRCLE", "POLYGON") or (_fname(second) == "POINT"
                                                                                     and not swapped))):
                        break  # another region column: tested row by row (_region_column_test), as it refuses
                    shape = _shape(second)
                    if shape.kind != "polygon" and any(_const(x) is None for x in shape.args):
                        break  # a point or circle of columns: tested row by row
                    if src.uses != 1 or src.obscore_regions:
                        raise UsageFault("this service answers one INTERSECTS/CONTAINS test on s_region per query, "
                                         "as an AND term of a query reading ivoa.obscore once")
                    if shape.kind == "circle" and all(_const(x) is not None for x in shape.args):
                        ra, dec, r = (_const(x) for x in shape.args)
                        _check_pos(ra, dec, r)
                        src.obscore_regions.append(Circle(ra % 360, dec, r))
                    elif shape.kind == "polygon":
                        src.obscore_regions.append(_polygon(shape.args))
                    elif shape.kind == "point" and all(_const(x) is not None for x in shape.args):
                        ra, dec = (_const(x) for x in shape.args)  # a footprint holding the point: a 0 circle
                        _check_pos(ra, dec, 0.0)
                        src.obscore_regions.append(Circle(ra % 360, dec, 0.0))
                    else:
                        raise UsageFault("s_region can be tested against a constant POINT, CIRCLE or POLYGON only")
                    if not exact:
                        term.replace(exp.true())
                    break
                if _fname(first) != "POINT":
                    continue
                p = _shape(first)
                if not (_col_is(p.args[0], alias, t.ra_column if t.kind != "obscore" else "s_ra")
                        and _col_is(p.args[1], alias, t.dec_column if t.kind != "obscore" else "s_dec")):
                    continue
                if _polygon_text(second) is not None:
                    continue  # a polygon of column vertices: tested row by row (_region_column_test)
                c = _shape(second)
                if c.kind == "polygon" and t.kind == "catalog" and src.uses == 1:
                    src.polygons = (src.polygons or []) + [tuple(c.args)]  # AND: every one bounds the rows
                    continue
                if c.kind == "box" and t.kind == "catalog" and src.uses == 1:
                    box = _box_bounds(c.args)
                    if box is not None:
                        src.boxes = (src.boxes or []) + [box]  # AND: every one bounds the rows
                    continue
                if c.kind != "circle" or any(_const(x) is None for x in c.args):
                    continue
                ra, dec, r = (_const(x) for x in c.args)
                _check_pos(ra, dec, r)
                if t.kind == "obscore" and src.uses == 1 and name == "CONTAINS" and not src.obscore_centres:
                    src.obscore_centres.append(Circle(ra % 360, dec, max(r, 1e-12)))
                elif t.kind == "catalog" and src.uses == 1:
                    src.cones = (src.cones or []) + [(ra % 360, dec, r)]
                    if len(src.cones) > 1:  # AND of cones: keep the smallest (all must hold)
                        src.cones = [min(src.cones, key=lambda c: c[2])]


def _box_bounds(args) -> tuple[float, float, float, float] | None:
    """A constant ``BOX(ra, dec, width, height)`` as ``(ra_min, ra_max, dec_min, dec_max)``, the rows
    ``adql_in_box`` keeps (RA within ``width / 2`` of the centre's, wrapping RA 0; Dec within ``height / 2``,
    clipped at the poles); None when a value is not a constant or the box holds nothing to bound by."""
    vals = [_const(x) for x in args]
    if any(v is None or not math.isfinite(v) for v in vals):
        return None
    ra, dec, w, h = vals
    dec_min, dec_max = max(-90.0, dec - h / 2), min(90.0, dec + h / 2)
    if w < 0 or dec_min > dec_max:
        return None  # an empty box: the query answers nothing, whatever is read
    if w >= 360:
        return 0.0, 360.0, dec_min, dec_max
    return (ra - w / 2) % 360, (ra + w / 2) % 360, dec_min, dec_max


def _check_pos(ra, dec, r) -> None:
    if not (math.isfinite(ra) and -90 <= dec <= 90 and math.isfinite(r) and 0 <= r <= 180):
        raise UsageFault(f"CIRCLE({ra}, {dec}, {r}): need a finite RA, a declination in [-90, 90] and a radius in "
                         "[0, 180] degrees")


def _polygon(vals):
    from astrohub_archive.params import region_polygon

    return region_polygon([v % 360 for v in vals[0::2]], vals[1::2], "POLYGON")


# ---------------------------------------------------------------- positional joins

_NUMERIC = {"double", "float", "long", "int", "short", "unsignedByte"}


def _point_of(node, aliases: dict[str, Source]) -> tuple[str, exp.Column, exp.Column] | None:
    """``(alias, ra column, dec column)`` when ``node`` is ``POINT(x.c1, x.c2)`` of numeric columns of one alias (in
    ICRS: a point in another system is rotated to ICRS in the query, which the crossmatch kernel does not take)."""
    if _fname(node) != "POINT" or _frame(node) is not None:
        return None
    a = _args(node)
    if len(a) != 2 or not all(isinstance(c, exp.Column) for c in a):
        return None
    alias = a[0].table.lower()
    if alias != a[1].table.lower() or alias not in aliases:
        return None
    table = aliases[alias].table
    if any((table.column(c.name) is None or table.column(c.name).datatype not in _NUMERIC) for c in a):
        return None
    return alias, a[0], a[1]


def _join_term(term, aliases: dict[str, Source]):
    """``(point 1, point 2, radius in degrees)`` when ``term`` asks two aliases' positions to lie within a
    constant radius: ``1 = CONTAINS(POINT, CIRCLE)``, ``INTERSECTS`` of those, ``DISTANCE(...) < r``."""
    flag = _flag(term)
    if flag is not None:
        fn, truth = flag
        if not truth or len(fn.expressions) != 2:
            return None
        first, second = fn.expressions
        if _fname(fn) == "INTERSECTS" and _fname(first) == "CIRCLE":
            first, second = second, first
        if _fname(second) != "CIRCLE":
            return None
        circle = _shape(second)
        p1 = _point_of(first, aliases)
        p2 = _point_of(exp.Anonymous(this="POINT", expressions=circle.args[:2]), aliases)
        r = _const(circle.args[2])
    else:
        if isinstance(term, (exp.LT, exp.LTE)):
            dist, bound = term.this, term.expression
        elif isinstance(term, (exp.GT, exp.GTE)):
            dist, bound = term.expression, term.this
        else:
            return None
        if _fname(dist) != "DISTANCE":
            return None
        a = _args(dist)
        if len(a) == 4:
            a = [exp.Anonymous(this="POINT", expressions=a[:2]), exp.Anonymous(this="POINT", expressions=a[2:])]
        if len(a) != 2:
            return None
        p1, p2 = _point_of(a[0], aliases), _point_of(a[1], aliases)
        r = _const(bound)
    if p1 is None or p2 is None or p1[0] == p2[0] or r is None or not (0 < r < 180):
        return None
    return p1, p2, r


def _side_query(alias: str, point, src: Source, terms: list, rows: bool = False) -> exp.Select:
    """``SELECT ra, dec FROM <src> AS alias WHERE <terms on alias alone>`` (``rows``: ``SELECT alias.*,
    ra AS adql_ra, dec AS adql_dec ...``)."""
    _, ra, dec = point
    if rows:
        q = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(alias, quoted=True)),
                       exp.alias_(ra.copy(), "adql_ra", quoted=True), exp.alias_(dec.copy(), "adql_dec", quoted=True))
    else:
        q = exp.select(exp.alias_(ra.copy(), "ra", quoted=True), exp.alias_(dec.copy(), "dec", quoted=True))
    q = q.from_(exp.Table(this=exp.to_identifier(src.internal), alias=exp.TableAlias(
        this=exp.to_identifier(alias, quoted=True))))
    for t in terms:
        q = q.where(t.copy(), copy=False)
    return q


def _one_alias(term, alias: str) -> bool:
    """Does ``term`` read only ``alias``'s columns (and nothing random, no subquery)?"""
    cols = list(term.find_all(exp.Column))
    return (bool(cols) and all(c.table.lower() == alias for c in cols)
            and not any(isinstance(n, (exp.Select, exp.Subquery, exp.Rand, exp.AggFunc)) for n in term.walk()))


def _positional_joins(tree, sources: dict[str, Source]) -> list[tuple]:
    """Rewrite each SELECT whose tables are inner-joined through a positional term to join through a
    pairs relation (``adql_pairs0``, ``adql_pairs1``...) instead; return ``(name, left query, right query,
    radius, left relation, right relation, left rows query, right rows query)``.

    The term itself stays (after the pairs' equalities), so the kernel only proposes candidates.
    """
    found = []
    for select in list(tree.find_all(exp.Select)):
        frm = select.args.get("from_") or select.args.get("from")
        joins = list(select.args.get("joins") or [])
        if frm is None or not isinstance(frm.this, exp.Table) or not joins:
            continue
        if any(not isinstance(j.this, exp.Table) or j.args.get("using") or (j.args.get("side") or "")
               or (j.args.get("kind") or "").upper() not in ("", "INNER", "CROSS") or j.args.get("method")
               for j in joins):
            continue  # outer, natural, USING or derived-table joins keep DuckDB's range join
        aliases = {}
        for t in [frm.this] + [j.this for j in joins]:
            if t.name in sources:
                aliases[t.alias_or_name.lower()] = sources[t.name]
        if len(aliases) != 1 + len(joins):
            continue
        where = select.args.get("where")
        terms = _conjuncts(where.this) if where is not None else []
        for j in joins:
            terms += _conjuncts(j.args.get("on"))
        for term in terms:
            hit = _join_term(term, aliases)
            if hit is None:
                continue
            p1, p2, r = hit
            name = f"adql_pairs{len(found)}"
            others = [t for t in terms if t is not term]
            queries = [_side_query(p[0], p, aliases[p[0]], [t for t in others if _one_alias(t, p[0])], rows)
                       for rows in (False, True) for p in (p1, p2)]
            links = [exp.EQ(this=c.copy(), expression=exp.column(k, name, quoted=True))
                     for c, k in zip((p1[1], p1[2], p2[1], p2[2]), ("ra1", "dec1", "ra2", "dec2"))]
            condition = exp.and_(*links, term.copy())
            term.replace(exp.true())
            select.append("joins", exp.Join(this=exp.Table(this=exp.to_identifier(name),
                                                           alias=exp.TableAlias(this=exp.to_identifier(name)))))
            select.where(condition, copy=False)
            found.append((name, queries[0], queries[1], r, aliases[p1[0]].internal, aliases[p2[0]].internal,
                          queries[2], queries[3]))
            break
    return found


# ---------------------------------------------------------------- the translation


def _rewrite_geometry(tree):
    def fix(node):
        flag = _flag(node)
        if flag is not None:
            cond = _predicate(flag[0])
            return exp.Paren(this=cond) if flag[1] else exp.Not(this=exp.Paren(this=cond))
        if isinstance(node, (exp.LT, exp.LTE)) and _fname(node.this) == "DISTANCE":
            a = _args(node.this)
            pts = a if len(a) == 4 else [x for p in a for x in _shape(p).args] if len(a) == 2 else []
            if len(pts) == 4:  # a positional join or cone: a declination band first (a range join)
                cls = type(node)
                return exp.Paren(this=exp.and_(_band(pts[1], pts[3], node.expression),
                                               cls(this=_dist(*pts), expression=node.expression.copy())))
        name = _fname(node)
        if name in ("CONTAINS", "INTERSECTS"):
            return exp.Cast(this=exp.Paren(this=_predicate(node)), to=exp.DataType.build("INT"))
        if name in GEOMETRY_FUNCTIONS or name == "IN_UNIT":
            return _geometry_value(node)
        if name in UDFS:
            return _udf(node)
        return node

    return tree.transform(fix, copy=False)


#: The start of the message of a numeric domain error raised in DuckDB by :func:`_guard_domains`' ``error(...)``;
#: the engine answers what follows it as the query's UsageFault.
DOMAIN_ERROR = "adql_domain: "

#: ``EXP(x)`` of an ``x`` above this (ln of the largest double) overflows to infinity.
_EXP_MAX = math.log(1.7976931348623157e308)


def _text(*parts) -> exp.Expression:
    """``parts`` (strings, or expressions written as their DuckDB text) concatenated into one string."""
    out = None
    for p in parts:
        e = exp.Literal.string(p) if isinstance(p, str) else exp.cast(p.copy(), to=exp.DataType.build("VARCHAR"))
        out = e if out is None else exp.DPipe(this=out, expression=e)
    return out


def _domain_guard(node) -> exp.Expression | None:
    """``node`` (an ADQL math function) behind a check of its arguments, when it has a domain: ``CASE WHEN <outside
    it> THEN error('SQRT(-1.0): ...') ELSE node END``, so that ``SQRT(-1)``, ``LOG(0)``, ``ACOS(2)``, ``POWER(0,
    -1)``, ``COT(0)`` and ``EXP(1000)`` are a query error naming the function and the value, as in PostgreSQL (DaCHS), not a
    NaN, an infinity or a NULL in the answer. None for any other node."""
    zero = exp.Literal.number(0)
    if isinstance(node, exp.Sqrt):
        x, name, bad = node.this, "SQRT", exp.LT(this=node.this.copy(), expression=zero)
        why = "the square root of a negative number is not a real number; exclude those rows, e.g. WHERE x >= 0"
        args = [x]
    elif isinstance(node, (exp.Ln, exp.Log)):
        x = node.this if isinstance(node, exp.Ln) or node.expression is None else node.expression
        base = node.this if isinstance(node, exp.Log) and node.expression is not None else None
        name = "LOG" if base is None else ("LOG10" if _const(base) == 10.0 else "LOG")
        bad = exp.LTE(this=x.copy(), expression=zero)
        why = "the logarithm of zero or of a negative number is not defined; exclude those rows, e.g. WHERE x > 0"
        args = [x]
    elif isinstance(node, (exp.Asin, exp.Acos)):
        x, name = node.this, "ASIN" if isinstance(node, exp.Asin) else "ACOS"
        bad = exp.GT(this=exp.Abs(this=x.copy()), expression=exp.Literal.number(1))
        why = "its argument must lie in [-1, 1]"
        args = [x]
    elif isinstance(node, exp.Pow):
        x, y, name = node.this, node.expression, "POWER"
        bad = exp.or_(exp.and_(exp.EQ(this=x.copy(), expression=zero), exp.LT(this=y.copy(), expression=zero)),
                      exp.and_(exp.LT(this=x.copy(), expression=zero),
                               exp.NEQ(this=y.copy(), expression=exp.Floor(this=y.copy()))))
        why = "zero to a negative power, or a negative number to a fractional power, is not a real number"
        args = [x, y]
    elif isinstance(node, exp.Cot):
        x, name = node.this, "COT"
        bad = exp.EQ(this=x.copy(), expression=zero)
        why = "the cotangent of 0 is infinite"
        args = [x]
    elif isinstance(node, exp.Exp):
        x, name = node.this, "EXP"
        bad = exp.GT(this=x.copy(), expression=_num(_EXP_MAX))
        why = f"the value overflows a double (EXP takes at most {_EXP_MAX:.4f})"
        args = [x]
    else:
        return None
    parts: list = [DOMAIN_ERROR + name + "("]
    for i, a in enumerate(args):
        parts += ([", "] if i else []) + [a]
    message = _text(*parts, f"): {why}")
    return exp.Case(ifs=[exp.If(this=bad, true=exp.Anonymous(this="error", expressions=[message]))], default=node)


def _guard_domains(tree):
    """Every ADQL math function with a domain in ``tree`` behind its check (:func:`_domain_guard`)."""
    def fix(node):
        guarded = _domain_guard(node)
        return node if guarded is None else guarded

    return tree.transform(fix, copy=True)


#: ADQL math functions whose return datatype is double whatever their arguments (ADQL 2.1 2.3, table 1), which
#: DuckDB answers in the arguments' integer type. (``CEILING`` and ``FLOOR`` are doubles there already.)
_DOUBLE_RESULT = (exp.Abs, exp.Mod, exp.Round, exp.Trunc)


def _doubles(tree):
    """``ABS``, ``MOD``, ``ROUND``, ``TRUNCATE`` of integers in ``tree`` (its types annotated) cast to DOUBLE, as ADQL
    2.1 2.3 declares them (``MOD(7, 3)`` was an int column, ``MOD(HIP, 10)`` a long; DaCHS answers doubles). The
    integer result is computed exactly first, then cast; exact decimal literals are left to the engine's own
    conversion to the nearest double."""
    def integral(arg) -> bool:
        return arg is not None and arg.type is not None and arg.type.is_type(*exp.DataType.INTEGER_TYPES)

    def fix(node):
        if isinstance(node, _DOUBLE_RESULT) and integral(node.this) and (
                not isinstance(node, exp.Mod) or integral(node.expression)):
            return exp.Cast(this=node, to=exp.DataType.build("DOUBLE"))
        return node

    return tree.transform(fix, copy=True)


def _unit_factor(col: exp.Column, desc: ColumnDesc | None, unit: str) -> tuple[float, str]:
    """``(factor, unit)``: what the values of ``col`` (described by ``desc``) are multiplied by to be in
    ``unit`` (VOUnit), and that unit as the result declares it."""
    import astropy.units as u

    written = col.name
    if desc is None or not desc.unit:
        raise UsageFault(f"IN_UNIT: {written} has no unit to convert from")
    try:
        target = u.Unit(unit, format="vounit")
    except ValueError:
        try:
            target = u.Unit(unit)
        except ValueError:
            raise UsageFault(f"IN_UNIT: {unit!r} is not a unit (write it in VOUnit, e.g. 'arcsec', 'km/s')") from None
    try:
        source = u.Unit(desc.unit, format="vounit")
    except ValueError:
        source = u.Unit(desc.unit, parse_strict="silent")
    try:
        factor = source.to(target)
    except u.UnitsError:
        raise UsageFault(f"IN_UNIT: {written} is in {desc.unit}, which cannot be converted to {unit}") from None
    return float(factor), unit


def _rewrite_in_units(tree, sources: dict[str, Source]) -> dict[int, ColumnDesc]:
    """Rewrite each ``IN_UNIT(column, 'unit')`` (ADQL 2.1, 2.4.4) as the column times its conversion factor;
    return ``{position: description}`` of the outermost SELECT's columns that are one (in the new unit)."""
    first = _outermost_select(tree)
    selected = {id(p.this if isinstance(p, exp.Alias) else p): i for i, p in enumerate(
        first.expressions if first is not None else ())}
    out = {}
    for node in list(tree.find_all(exp.Anonymous)):
        if _fname(node) != "IN_UNIT":
            continue
        args = node.expressions
        if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].is_string):
            raise UsageFault("IN_UNIT takes a column and a unit as a string: IN_UNIT(parallax, 'arcsec')")
        col, unit = args[0], args[1].this
        if not isinstance(col, exp.Column):
            raise UsageFault("IN_UNIT converts a column of a table with a unit (IN_UNIT(parallax, 'arcsec')); "
                             "this service does not know the unit of an expression")
        desc = _describe_column(col, sources)
        factor, unit = _unit_factor(col, desc, unit)
        i = selected.get(id(node))
        if i is not None:
            out[i] = dataclasses.replace(desc, unit=unit, xtype=None, datatype="double")
        node.replace(exp.Mul(this=exp.Cast(this=col.copy(), to=exp.DataType.build("DOUBLE")),
                             expression=_num(factor)))
    return out


def _outermost_select(tree) -> exp.Select | None:
    first = tree
    while isinstance(first, (exp.Union, exp.Intersect, exp.Except)):
        first = first.this
    if isinstance(first, exp.Subquery):
        first = first.this
    return first if isinstance(first, exp.Select) else None


def _delimited_aliases(tree) -> dict[str, str]:
    """``{lower-case name: name}`` of the outermost SELECT's delimited aliases (``AS "MagHp"``), read
    before qualifying: the T-SQL dialect folds every identifier's case, but a delimited identifier is
    case-sensitive (ADQL 2.1 section 2.1.3), so the column it names keeps the case the user wrote."""
    first = _outermost_select(tree)
    if first is None:
        return {}
    out = {}
    for proj in first.expressions:
        ident = proj.args.get("alias") if isinstance(proj, exp.Alias) else None
        if isinstance(ident, exp.Identifier) and ident.quoted:
            out[ident.name.lower()] = ident.name
    return out


#: What a selected ``DISTANCE(...)`` is: an angle in degrees (ADQL 2.1, 4.2.4), with DaCHS's unit and UCD for it,
#: so that a result's separations say what they are measured in.
DISTANCE_COLUMN = ColumnDesc("distance", "double", unit="deg", ucd="pos.angDistance",
                             description="Angular distance between the two points (ADQL DISTANCE)")


#: What a selected ``COORD1``/``COORD2`` is: a coordinate of a point, in degrees (DALI's point), as DaCHS declares it.
COORD_COLUMN = ColumnDesc("coord", "double", unit="deg", description="A coordinate of a point (ADQL COORD1/COORD2)")


def _function_names(tree) -> dict[int, str]:
    """``{position: name}`` of the outermost SELECT's ADQL function calls (geometry, :data:`UDFS`), read
    before they are rewritten into DuckDB's expressions: an unnamed ``DISTANCE(...)``'s column is
    ``distance``, ``ivo_hasword(...)``'s ``ivo_hasword`` (they were ``col`` and ``case``); a ``COORD1``'s is
    in degrees."""
    first = _outermost_select(tree)
    names = {}
    for i, proj in enumerate(first.expressions if first is not None else ()):
        name = _fname(proj.this) if isinstance(proj, exp.Alias) else None
        if name in GEOMETRY_FUNCTIONS or name in UDFS or name == "IN_UNIT":
            names[i] = name.lower()
    return names


def _derived_column(body, name: str, sources: dict[str, Source], depth: int) -> ColumnDesc | None:
    """The description of the column ``name`` that the derived table ``body`` (a subquery in FROM or a
    ``WITH`` query) selects, when it selects a table's column as it is (renamed or not)."""
    first = _outermost_select(body)
    for proj in first.expressions if first is not None else ():
        if proj.alias_or_name.lower() == name.lower():
            inner = proj.this if isinstance(proj, exp.Alias) else proj
            return _describe_column(inner, sources, depth + 1) if isinstance(inner, exp.Column) else None
    return None


def _describe_column(col: exp.Column, sources: dict[str, Source], depth: int = 0) -> ColumnDesc | None:
    """The description of the (qualified) column ``col``: its table's, looked up in the SELECT it is in
    (then the SELECTs around it, for a correlated subquery), through subqueries in FROM and ``WITH``
    queries that select it as it is; None for anything computed."""
    if depth > MAX_DEPTH or not col.table:
        return None
    select = col.find_ancestor(exp.Select)
    while select is not None:
        frm = select.args.get("from_") or select.args.get("from")
        for node in ([frm.this] if frm is not None else []) + [j.this for j in select.args.get("joins") or []]:
            if node.alias_or_name.lower() != col.table.lower():
                continue
            if isinstance(node, exp.Subquery):
                return _derived_column(node.this, col.name, sources, depth)
            if isinstance(node, exp.Table) and node.name in sources:
                return sources[node.name].table.column(col.name)
            if isinstance(node, exp.Table) and node.name.startswith(CTE_PREFIX):
                for cte in col.root().find_all(exp.CTE):
                    if cte.alias_or_name == node.name:
                        return _derived_column(cte.this, col.name, sources, depth)
            return None
        select = select.find_ancestor(exp.Select)
    return None


#: The prefix of the name sqlglot's qualifier gives an unnamed select item (``_col_0``), and of the one
#: :func:`_seed_rand` gives a selected ``RAND(x)``: a name for :func:`_generated_name` to make.
_GENERATED = "_col_"

#: sqlglot's names of functions ADQL (or /capabilities) names otherwise: an unnamed ``LOG10(x)`` is ``log10_x``, not
#: ``log_x`` (sqlglot's ``Log``), ``LOG(x)`` ``log_x`` (``Ln``).
_ADQL_NAMES = {"ln": "log", "log": "log10", "pow": "power", "ceil": "ceiling", "trunc": "truncate", "if": "iif",
               "countif": "count_if", "stddevsamp": "stddev_samp", "stddevpop": "stddev_pop", "variancepop": "var_pop",
               "variancesamp": "var_samp"}
_REGULAR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _generated_name(proj: exp.Alias, i: int, function: str | None, sources: dict[str, Source]) -> str:
    """The name of the ``i``-th (from 0) select item ``proj``, which the query leaves unnamed (TAP 1.1 section 3.2:
    "generated names must be unique (within the output table) and should be valid ADQL identifiers"): the
    function's name where that is not a reserved word (``ivo_hasword``, ``stddev``, ``sign``), ``col`` for other
    expressions; a reserved word (``COUNT``, ``MAX``, ``DISTANCE``, ``ROUND``: ADQL 2.1 section 2.1.2) followed by
    the one column it reads (``max_Hpmag``, ``count_HIP``), ``count_all`` for ``COUNT(*)``, else by its position in
    the select list (``distance_1``, ``rand_2``). :func:`_output_columns` makes the names unique."""
    inner = proj.this
    word = function
    if word is None and proj.alias == _GENERATED + "rand":
        word = "rand"  # a seeded RAND(x), rewritten into a CASE by _seed_rand
    elif word is None:
        key = inner.key.lower() if isinstance(inner, exp.Func) and not isinstance(inner, exp.Anonymous) else "col"
        word = _ADQL_NAMES.get(key, key)
    if word.upper() not in ADQL_RESERVED:
        return word
    if isinstance(inner, exp.Count) and isinstance(inner.this, exp.Star):
        return "count_all"
    columns = {}
    for col in inner.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        desc = _describe_column(col, sources)
        name = desc.name if desc is not None else col.name
        columns.setdefault(name.lower(), name)
    if len(columns) == 1 and _REGULAR_NAME.match(only := next(iter(columns.values()))):
        return f"{word}_{only}"
    return f"{word}_{i + 1}"


#: The functions whose value is in the unit of their argument (a column's, when it is one): its unit and UCD carry over.
_SAME_UNIT = (exp.Round, exp.Trunc, exp.Abs, exp.Floor, exp.Ceil, exp.Neg)


def _output_columns(tree, sources: dict[str, Source], delimited: dict[str, str] | None = None,
                    functions: dict[int, str] | None = None,
                    in_units: dict[int, ColumnDesc] | None = None) -> dict[str, ColumnDesc]:
    """Name the outermost SELECT's columns (stored case for plain columns, the written case for
    ``delimited`` aliases, :func:`_generated_name`'s for unnamed expressions, which never take a name the query
    gives) and describe the plain ones."""
    first = _outermost_select(tree)
    if first is None:
        return {}
    out: dict[str, ColumnDesc] = {}
    used: set[str] = set()
    # the names the query gives (aliases, columns selected as they are): a generated name never takes one of them
    given = {(delimited or {}).get(p.alias.lower(), p.alias).lower() for p in first.expressions
             if isinstance(p, exp.Alias) and not p.alias.startswith(_GENERATED)}
    for i, proj in enumerate(first.expressions):
        if not isinstance(proj, exp.Alias):
            continue
        inner = proj.this
        name = proj.alias
        desc = None
        if isinstance(inner, exp.Column):
            desc = _describe_column(inner, sources)
            if desc is not None and name.lower() == inner.name.lower() == desc.name.lower():
                name = desc.name
        elif isinstance(inner, exp.Anonymous) and inner.name == "adql_dist":
            desc = DISTANCE_COLUMN  # a selected DISTANCE(...) as it is: degrees (renamed below)
        elif i in (in_units or {}):
            desc = in_units[i]  # the column in the unit IN_UNIT asked for
        elif (functions or {}).get(i) in ("coord1", "coord2"):
            desc = COORD_COLUMN
        elif isinstance(inner, exp.Count):
            desc = ColumnDesc("count", "long", ucd="meta.number", description="Number of rows (ADQL COUNT)")
        elif (isinstance(inner, (exp.Avg, exp.Min, exp.Max, exp.Sum, exp.Stddev, exp.StddevSamp, exp.StddevPop,
                                 exp.Cast, *_SAME_UNIT))
              and isinstance(inner.this, exp.Column)
              and (not isinstance(inner, exp.Cast) or inner.to.this in exp.DataType.NUMERIC_TYPES)):
            # AVG/MIN/MAX/SUM of a column, its CAST to a number, and ROUND, TRUNCATE, ABS, FLOOR, CEILING of it and
            # its negation are in the column's unit, as DaCHS declares them (the UCD says which statistic; a sum
            # keeps the column's, as DaCHS's does; an aggregate is no longer the table's main value)
            col = _describe_column(inner.this, sources)
            word = {exp.Avg: "stat.mean", exp.Min: "stat.min", exp.Max: "stat.max", exp.Stddev: "stat.stdev",
                    exp.StddevSamp: "stat.stdev", exp.StddevPop: "stat.stdev", exp.Sum: ""}.get(type(inner))
            if col is not None and word is not None:
                ucd = ";".join(w for w in col.ucd.split(";") if w.lower() != "meta.main") if col.ucd else ""
                # the earliest or latest of timestamps is a timestamp (DALI's xtype, as DaCHS declares it)
                keep = col.xtype if isinstance(inner, (exp.Min, exp.Max)) and col.xtype == "timestamp" else None
                desc = dataclasses.replace(col, ucd=f"{ucd};{word}" if ucd and word else ucd,
                                           description=f"{word[5:] or 'sum'} of {col.name}", utype="", xtype=keep)
            elif col is not None:
                desc = dataclasses.replace(col, xtype=None)
        if delimited and name.lower() in delimited:
            name = delimited[name.lower()]
        generated = name.startswith(_GENERATED)
        if generated:
            name = _generated_name(proj, i, (functions or {}).get(i), sources)
        while name.lower() in used or (generated and name.lower() in given):
            name = f"{name}_{i + 1}"
        used.add(name.lower())
        proj.set("alias", exp.to_identifier(name, quoted=True))
        if desc is not None and _same_in_every_branch(tree, first, i, desc, sources):
            out[name] = desc if desc.name == name else dataclasses.replace(desc, name=name)
    return out


def _branches(tree) -> list:
    """The SELECTs of a set operation (``UNION``, ``EXCEPT``, ``INTERSECT``, parenthesised or not), in order."""
    if isinstance(tree, (exp.Union, exp.Intersect, exp.Except)):
        return _branches(tree.this) + _branches(tree.expression)
    if isinstance(tree, exp.Subquery):
        return _branches(tree.this)
    return [tree] if isinstance(tree, exp.Select) else []


def _same_in_every_branch(tree, first: exp.Select, i: int, desc: ColumnDesc, sources: dict[str, Source]) -> bool:
    """Whether the ``i``-th column of every SELECT of the set operation ``tree`` is described as ``desc`` of the
    first is (the same unit and UCD: the same column, or the same expression written again): a column that is
    HIP in one branch and Hpmag in another is neither's (it was described as the first's, unit and UCD)."""
    own = first.expressions[i]
    own = own.this if isinstance(own, exp.Alias) else own
    for select in _branches(tree)[1:]:
        if i >= len(select.expressions):
            return False
        other = select.expressions[i]
        other = other.this if isinstance(other, exp.Alias) else other
        if isinstance(other, exp.Column) and isinstance(own, exp.Column):
            theirs = _describe_column(other, sources)
            if theirs is None or (theirs.unit, theirs.ucd) != (desc.unit, desc.ucd):
                return False
        elif other.sql() != own.sql():
            return False
    return True


def translate(adql: str, tables: TableSet, uploads: dict[str, TableDesc] | None = None) -> Plan:
    """Check ``adql`` against ``tables`` (and ``uploads``, keyed by lower-case name) and plan it for DuckDB.

    Raises
    ------
    UsageFault
        For syntax errors (with line and column), unknown tables and columns (with suggestions),
        functions outside ADQL, statements other than SELECT and malformed geometry;
        :class:`LimitFault` for queries over the service's bounds.

    Examples
    --------
    >>> from astrohub_archive.tapschema import table_set
    >>> plan = translate("SELECT TOP 5 obs_id FROM ivoa.obscore WHERE s_ra > 10", table_set(None, None))
    >>> plan.top, list(plan.sources)
    (5, ['t0'])
    """
    try:
        parsed = _parse(adql)
    except UsageFault as exc:  # FROM I/311/hip2 reads as a division
        written = _REGISTRY_NAME.search(adql) if isinstance(adql, str) else None
        if written is None or isinstance(exc, LimitFault):
            raise
        raise UsageFault(f"{exc}; {_registry_name_hint(written.group(1), tables)}") from None
    _check_function_names(adql)
    tree = _normalise(parsed)
    _check_nodes(tree)
    tree = _seed_rand(tree)
    top = None
    limit = tree.args.get("limit")
    if isinstance(tree, exp.Select) and limit is not None:
        v = _const(limit.expression) if isinstance(limit, exp.Limit) else None
        top = int(v) if v is not None else None
    sources = _resolve_tables(tree, tables, uploads or {})
    delimited = _delimited_aliases(tree)
    tree = _qualify(tree, sources)
    schema = _schema_of(sources)

    def duckdb(node) -> str:
        # types first: the division of two exact numbers is exact (integer) in ADQL as in SQL-92 (6.12),
        # which sqlglot writes for DuckDB (whose ``/`` is a float division) only where it knows the types;
        # then ABS, MOD, ROUND, TRUNCATE of integers as doubles, and the math functions behind their domain checks
        return _guard_domains(_doubles(annotate_types(node, schema=schema, dialect=READ_DIALECT))).sql(dialect="duckdb")

    try:
        _push_down(tree, sources)
        functions = _function_names(tree)
        in_units = _rewrite_in_units(tree, sources)
        fallback = tree.copy()
        found = _positional_joins(tree, sources)
        tree = _rewrite_geometry(tree)
        columns = _output_columns(tree, sources, delimited, functions, in_units)
        sql = duckdb(tree)
        joins, fallback_sql = [], None
        if found:
            fallback = _rewrite_geometry(fallback)
            _output_columns(fallback, sources, delimited, functions, in_units)
            fallback_sql = duckdb(fallback)
            joins = [PositionalJoin(name, duckdb(_rewrite_geometry(left)), duckdb(_rewrite_geometry(right)), r,
                                    lsrc, rsrc, duckdb(_rewrite_geometry(lrows)), duckdb(_rewrite_geometry(rrows)))
                     for name, left, right, r, lsrc, rsrc, lrows, rrows in found]
    except RecursionError:
        raise LimitFault("QUERY is nested too deeply for this service; simplify the expression") from None
    return Plan(sql, sources, columns, top, joins, fallback_sql)
