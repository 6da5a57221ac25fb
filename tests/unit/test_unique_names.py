"""The integration harness's ``platform.unique`` (tests/support/unique_names.py): a name is one test module's.

Two modules chose ``unique("term")`` and collided on the shared platform in CI (the second one's class was a
409 'exists already'); ``unique`` now refuses a name another module asked for, naming both, and every name the
integration and browser tiers ask for by a literal is checked here to be one module's.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest
from unique_names import NameClash, UniqueNames, current_module

TESTS = Path(__file__).resolve().parents[1]


def test_a_name_is_the_first_asking_module_s_and_another_module_is_told_whose_it_is():
    names = UniqueNames("t1")
    a, b = "tests/integration/test_a.py", "tests/browser/test_b.py"
    assert names("term", a) == "term-t1" and names("term", a) == "term-t1"  # one module asks as often as it likes
    assert names("prof", b) == "prof-t1"
    with pytest.raises(NameClash, match=r"unique\('term'\) was asked for by tests/integration/test_a\.py and now by "
                                        r"tests/browser/test_b\.py: .* term-t1; give one of them a name of its own"):
        names("term", b)
    assert names.owners == {"term": a, "prof": b}


def test_the_asking_module_is_the_test_pytest_runs_now(monkeypatch):
    assert current_module() == "tests/unit/test_unique_names.py"
    names = UniqueNames("t2")
    assert names("ann") == "ann-t2"
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "tests/integration/test_other.py::test_x (setup)")
    with pytest.raises(NameClash, match="asked for by tests/unit/test_unique_names.py and now by "
                                        "tests/integration/test_other.py"):
        names("ann")
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    with pytest.raises(NameClash, match="now by the harness, outside a test"):
        names("ann")


def test_a_name_is_one_module_s_across_the_workers_that_share_a_registry(tmp_path):
    """Under ``-n 2`` each worker has a platform (and a tag) of its own; two modules asking for one name clash
    whichever worker each ran on (split23: a clash was found only when both modules landed on one worker)."""
    registry = tmp_path / "names.tsv"
    first, second = UniqueNames("w1", registry=registry), UniqueNames("w2", registry=registry)
    a, b = "tests/integration/test_a.py", "tests/browser/test_b.py"
    assert first("term", a) == "term-w1" and first("term", a) == "term-w1"
    assert second("prof", b) == "prof-w2"
    with pytest.raises(NameClash, match=r"unique\('term'\) was asked for by tests/integration/test_a\.py and now by "
                                        r"tests/browser/test_b\.py: .*term-w2; give one of them"):
        second("term", b)
    with pytest.raises(NameClash, match="asked for by tests/browser/test_b.py and now by tests/integration/test_a.py"):
        first("prof", a)
    assert registry.read_text().splitlines() == [f"term\t{a}", f"prof\t{b}"]


def _asked(path: Path) -> set[str]:
    """The names a test module passes to ``unique``/``user_with_server`` as literals, or as the loop variable of
    a comprehension over a literal tuple (``platform.unique(n) for n in ("prof", "s1")``)."""
    tree = ast.parse(path.read_text())
    scopes = [(tree, {})]  # (where, loop variable -> the names it takes)
    for node in ast.walk(tree):
        if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
            gen = node.generators[0]
            if isinstance(gen.target, ast.Name) and isinstance(gen.iter, (ast.Tuple, ast.List)):
                scopes.append((node, {gen.target.id: [e.value for e in gen.iter.elts if isinstance(e, ast.Constant)]}))
    names = set()
    for scope, loops in scopes:
        for call in ast.walk(scope):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("unique", "user_with_server") and call.args):
                continue
            arg = call.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in loops:
                names.update(loops[arg.id])
    return names


def test_no_two_modules_of_the_shared_platform_ask_for_one_name():
    """'survey' (a group in test_journeys, a workspace in test_platform_classes), 'newcomer' and 'mallory' (the
    login tests of both tiers, and the browser's tutorial test) were each asked for by two modules."""
    askers = defaultdict(list)
    modules = sorted([*TESTS.glob("integration/test_*.py"), *TESTS.glob("browser/test_*.py")])
    assert len(modules) > 40, modules
    for module in modules:
        for name in _asked(module):
            askers[name].append(str(module.relative_to(TESTS)))
    assert len(askers) > 100, sorted(askers)
    assert {name: who for name, who in askers.items() if len(who) > 1} == {}
