"""The guides that say their examples run as they are, run: every ```python block of docs/catalogs.md and
docs/storage.md, in order, in one namespace (as a reader pastes them into one notebook), and each result a line's
comment shows is the result that line gives.

A comment shows a result when it starts with a Python literal (``# ['a.txt']  (Entry: ...)``), with an exception's
name and a colon (``# CatalogNotFound: ...``: the line must raise it), or sits on a ``print`` line (what it prints).
Any other comment is prose. catalogs.md's ``reg.close_names("Hiparcos")  # ['I/311']`` described the platform's
registry, not the one the guide builds (it answers ``[]``), and nothing ran the guides to see it.

The other guides' examples need a running platform or a reader's own data (``crossmatch(gaia, sdss, ...)``); the
integration tier walks those journeys.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import tempfile
import tokenize
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
RAISES = re.compile(r"([A-Z][A-Za-z]+):")


def _blocks(guide: str) -> list[tuple[int, str]]:
    """Each ```python block of the guide, with the line of the guide it starts on."""
    text = (DOCS / guide).read_text()
    return [(text[:m.start()].count("\n") + 2, m.group(1)) for m in BLOCK.finditer(text)]


def _comments(source: str) -> dict[int, str]:
    """The comment on each line of ``source`` (its text after ``#``), by line number."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {tok.start[0]: tok.string[1:].strip() for tok in tokens if tok.type == tokenize.COMMENT}


def _literal(comment: str):
    """The longest Python literal the comment starts with, ended by its end, a space, ``:`` or ``(``; or a
    ``LookupError`` when it starts with none (``...``, "and more", is prose)."""
    for end in range(len(comment), 0, -1):
        if end < len(comment) and comment[end] not in " :(":
            continue
        try:
            value = ast.literal_eval(comment[:end])
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if value is not Ellipsis:
            return value
    raise LookupError(comment)


def _run(statement: ast.stmt, source: str, namespace: dict, where: str, comments: dict[int, str]) -> None:
    comment = comments.get(statement.lineno, "")
    expected_error = RAISES.match(comment)
    code = ast.get_source_segment(source, statement)
    is_expression = isinstance(statement, ast.Expr)
    compiled = compile(ast.Expression(statement.value) if is_expression else ast.Module([statement], []),
                       where, "eval" if is_expression else "exec")
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            value = eval(compiled, namespace) if is_expression else exec(compiled, namespace)
    except Exception as exc:
        if expected_error and type(exc).__name__ == expected_error.group(1):
            return
        raise AssertionError(f"{where}: {code!r} raised {type(exc).__name__}: {exc}") from exc
    assert not expected_error, f"{where}: {code!r} did not raise the {expected_error.group(1)} its comment shows"
    prints = [comments[n] for n in range(statement.lineno, statement.end_lineno + 1)
              if n in comments and re.match(r"\s*print\(", source.splitlines()[n - 1])]
    if prints:
        assert printed.getvalue().strip() == "\n".join(prints), (where, code, printed.getvalue())
    if is_expression:
        try:
            claimed = _literal(comment)
        except LookupError:
            return
        assert value == claimed, f"{where}: {code!r} gives {value!r}, its comment shows {claimed!r}"


@pytest.mark.parametrize("guide", ["catalogs.md", "storage.md"])
def test_a_guides_examples_run_as_written_and_give_what_their_comments_show(guide, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the guides' tempfile.mkdtemp() folders
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    blocks = _blocks(guide)
    assert blocks, f"no python examples in docs/{guide}"
    for first_line, source in blocks:
        comments = _comments(source)
        for statement in ast.parse(source).body:
            where = f"docs/{guide}:{first_line + statement.lineno - 1}"
            _run(statement, source, namespace, where, comments)


def test_a_comment_shows_a_result_only_when_it_starts_with_one():
    assert _literal("['a.txt']  (Entry: address, name, type, size)") == ["a.txt"]
    assert _literal("('RAJ2000', 'J2000', 15)") == ("RAJ2000", "J2000", 15)
    assert _literal("['I/311']: what an unknown name suggests") == ["I/311"]
    for prose in ("deg", "rank by 3-D probability", "atomic: a temporary file renamed into place", "... more", ""):
        with pytest.raises(LookupError):
            _literal(prose)
