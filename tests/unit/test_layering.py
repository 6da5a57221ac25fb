"""Package boundaries, read from the source with ``ast``: no package imports another package's ``_private``
module, and platform_lib's packages import each other without a cycle (STYLE.md: "Public API = what a package's
``__init__.py`` re-exports"; "No import cycles")."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "platform_lib", *sorted((ROOT / "extensions").glob("*/astrohub_*"))]


def _module_name(path: Path) -> str:
    for src in SOURCES:
        if path.is_relative_to(src):
            parts = [src.name, *path.relative_to(src).with_suffix("").parts]
            return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    raise AssertionError(path)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name ``path`` imports (top level and inside functions), with its line."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _files() -> list[Path]:
    return [p for src in SOURCES for p in sorted(src.rglob("*.py")) if "__pycache__" not in p.parts]


def _private_owner(name: str) -> str | None:
    """The package that owns ``name`` if ``name`` is (inside) a private module, else None."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _package(module: str) -> str:
    """The package a module belongs to: ``platform_lib.<pkg>`` or the extension's top-level package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "platform_lib" else parts[0]


def test_no_package_imports_another_packages_private_module():
    offenders = []
    for path in _files():
        module = _module_name(path)
        for line, name in _imports(path):
            owner = _private_owner(name)
            if owner is None or not owner.startswith(("platform_lib", "astrohub_")):
                continue
            if _package(owner) != _package(module):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not offenders, "import the owning package's public name instead:\n" + "\n".join(offenders)


def test_no_module_imports_a_private_name_of_another_public_module():
    """A name that another module imports is that module's public API (STYLE.md: "A module another package
    imports is public"): ``from astrohub_archive.params import _maxrec`` in tap.py was one. A private module's
    names (``_hats.py``), shared inside its package, and private modules themselves are not counted here."""
    offenders = []
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if _private_owner(node.module) is not None or not node.module.startswith(("platform_lib", "astrohub_")):
                continue
            for alias in node.names:
                name = alias.name
                if not name.startswith("_") or name.startswith("__"):
                    continue
                owner = ROOT.joinpath(*_source_path(node.module))
                if (owner / f"{name}.py").is_file() or (owner / name).is_dir():  # a private module: the rule above
                    continue
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{name}")
    assert not offenders, "make the name public in its module (and list it in __all__):\n" + "\n".join(offenders)


def _source_path(module: str) -> list[str]:
    """The folder parts, under the repository, of package ``module`` (a module's gives a folder that is not there)."""
    parts = module.split(".")
    if parts[0] == "platform_lib":
        return parts
    src = next(s for s in SOURCES if s.name == parts[0])
    return [*src.relative_to(ROOT).parts, *parts[1:]]


#: bench/ scripts allowed to import private names (listed so that no NEW one can come in; remove an entry when
#: its file is fixed, the test below says so). ``archive_vs_dachs.py`` seeds its numba cache with
#: ``crossmatch.seed_cache`` and ``moving_search.py`` tabulates with ``moving.search.Body``; ``viz_table_show.py``'s
#: peer is viz's code before viz14, which it puts back in the same process by replacing the private steps it
#: changed (packing the upload, the table's frame, the Arrow table, the archive's tile check);
#: ``crossmatch_one_thread.py``'s peer is the engine before ci20 (every call on all threads), which it gets by
#: setting the engine's private one-thread limit to 0 in the same process.
KNOWN_BENCH_PRIVATE: dict[str, set[str]] = {
    "bench/crossmatch_one_thread.py": {"platform_lib.crossmatch._engine"},
    "bench/viz_table_show.py": {"platform_lib.viz._build", "platform_lib.viz._publish"},
    # its "before" is the archive's code before viz16, which unpacked with the archive's own _unpack
    "bench/crossmatch_hours.py": {"platform_lib.crossmatch._api", "platform_lib.crossmatch._touched"},  # the check off
    "bench/viz_hips_rest.py": {"platform_lib.viz._build", "platform_lib.viz._build.table_hips_parts",
                               "astrohub_archive.userhips._unpack"},
}


def test_benchmarks_import_only_public_names():
    """bench/ measures what users and services call: no private module or name of platform_lib or a service
    (STYLE.md: "Public API = what a package's ``__init__.py`` re-exports"); a benchmark that needs an
    internal has it exported, or times the public call."""
    offenders, seen = [], {}
    for path in sorted((ROOT / "bench").glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            for name in names:
                owner = _private_owner(name)
                if owner is None or not owner.startswith(("platform_lib", "astrohub_")):
                    continue
                if name in KNOWN_BENCH_PRIVATE.get(rel, ()):
                    seen.setdefault(rel, set()).add(name)
                else:
                    offenders.append(f"{rel}:{node.lineno} imports {name}")
    assert not offenders, "use (or export) the owning package's public name:\n" + "\n".join(offenders)
    for rel, names in KNOWN_BENCH_PRIVATE.items():
        gone = names - seen.get(rel, set())
        assert not gone, f"{rel} no longer imports {sorted(gone)}: drop them from KNOWN_BENCH_PRIVATE"


def test_the_scan_sees_private_imports():
    """The scanner itself: a cross-package private import in a snippet is found."""
    assert _private_owner("platform_lib.catalogs._hats.read_layout") == "platform_lib.catalogs"
    assert _private_owner("platform_lib.catalogs.read_layout") is None
    assert _private_owner("platform_lib.__main__") is None


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "platform_lib").rglob("*.py"):
        if "__pycache__" in path.parts or path.name == "__main__.py":
            continue  # a __main__ is a program run with -m, never imported: not an edge between packages
        source = _package(_module_name(path))
        for _line, name in _imports(path):
            if name.startswith("platform_lib."):
                target = _package(name)
                if target != source and (ROOT / target.replace(".", "/")).is_dir():
                    graph.setdefault(source, set()).add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


#: Known upward edges, each closing a cycle that is still to be split (listed here so that no NEW cycle can
#: come in; remove an entry when its cycle is gone, the test below says so). None now: the last one,
#: retrieval <-> jobs, went when the ``tap`` kind moved to ``retrieval.tapjobs`` (an ``astrohub.jobs`` entry point).
KNOWN_UPWARD: set[tuple[str, str]] = set()


def test_platform_lib_packages_import_each_other_without_a_cycle():
    graph = _package_graph()
    for source, target in KNOWN_UPWARD:
        assert target in graph.get(source, ()), f"{source} -> {target} is gone: drop it from KNOWN_UPWARD"
        graph[source].discard(target)
    cycle = _cycle(graph)
    assert cycle is None, "package import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_jobs_never_imports_retrieval_and_finds_the_tap_kind_by_entry_point():
    """The retrieval <-> jobs cycle stays split: retrieval submits jobs, jobs finds ``tap`` (and the archive's
    TAP jobs in its list) through entry points, never by importing retrieval."""
    assert "platform_lib.retrieval" not in _package_graph().get("platform_lib.jobs", set())
    from platform_lib.jobs import JobSource
    from platform_lib.jobs._kinds import BUILTIN_KINDS, resolve_kind
    from platform_lib.jobs._sources import job_sources
    from platform_lib.retrieval import tapjobs

    assert "tap" not in BUILTIN_KINDS and resolve_kind("tap") is tapjobs.TAP_KIND
    assert [s for s in job_sources() if isinstance(s, JobSource)] == [tapjobs.ARCHIVE_JOBS]


def test_import_platform_lib_offers_its_sub_packages_by_name_and_to_tab_completion():
    """first11: after ``import platform_lib``, ``platform_lib.storage`` was an AttributeError and tab completion
    of ``platform_lib.`` listed none of the sub-packages (they are imported lazily); now they are imported on
    first use, and ``import platform_lib`` itself still imports none of them."""
    import subprocess
    import sys

    code = (
        "import sys, platform_lib\n"
        "assert not [m for m in sys.modules if m.startswith(('platform_lib.storage', 'platform_lib.crossmatch'))]\n"
        "assert {'catalogs', 'crossmatch', 'storage', 'viz'} <= set(dir(platform_lib)), dir(platform_lib)\n"
        "print(platform_lib.storage.Storage.__name__, platform_lib.crossmatch.crossmatch.__name__)\n"
        "try:\n    platform_lib.strage\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["Storage crossmatch", "module 'platform_lib' has no attribute 'strage'"]


def test_every_sub_package_offers_its_whole_public_api_to_tab_completion():
    """firsthour25: ``viz.pl<Tab>`` in a notebook offered only ``place_labels``: ``plot``, ``plot_table``,
    ``credible_region`` and ``Aladin`` (loaded on first use by the module's ``__getattr__``) were missing from
    ``dir(viz)``, which IPython's completers (Jedi's and its own) list. Every sub-package's ``__all__`` is now in
    its ``dir()``."""
    import importlib

    from IPython.core.completer import IPCompleter, provisionalcompleter

    import platform_lib

    missing = {}
    for name in platform_lib.SUBPACKAGES:
        module = importlib.import_module(f"platform_lib.{name}")
        left_out = set(getattr(module, "__all__", ())) - set(dir(module))
        if left_out:
            missing[name] = sorted(left_out)
    assert not missing, missing
    from platform_lib import viz

    for jedi in (True, False):
        completer = IPCompleter(namespace={"viz": viz}, global_namespace={}, use_jedi=jedi)
        with provisionalcompleter():
            offered = {c.text.lstrip(".") for c in completer.completions("viz.pl", 6)}
        assert {"plot", "plot_table", "plot_skymap", "place_labels"} <= offered, (jedi, offered)
