"""``astrohub archive``: build and update the image index, and run the archive service.

``astrohub archive index DATA_ROOT --index PATH [--mappings DIR] [--workers N]``
    builds the index from scratch, atomically; prints counts and the skipped files with reasons.
``astrohub archive update DATA_ROOT --index PATH``
    the daily incremental update (new, changed by mtime/size, deleted files), atomically.
``astrohub archive publish DATA_ROOT --index PATH --to PUBLIC [--watch SECONDS]``
    brings PUBLIC (users' ``datasets/images``) to the released part of the archive (released files,
    an index without proprietary rows); with ``--watch``, again whenever the index changes or the
    next proprietary period ends, checking every SECONDS (the Helm chart's ``release`` container).
``astrohub archive serve ...``
    runs ``astrohub-archive`` (the service) with the remaining arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register"]


def _report(report, verbose: bool) -> None:
    print(f"indexed {report.indexed} images (added {report.added}, updated {report.updated}, "
          f"removed {report.removed}, unchanged {report.unchanged}) in {report.seconds:.1f} s")
    if report.rederived:
        print("the index was derived otherwise (an upgrade, or a change of the instrument mappings): every file "
              "was read again")
    if report.skipped:
        print(f"skipped {len(report.skipped)} files:", file=sys.stderr)
        for s in report.skipped[: None if verbose else 20]:
            print(f"  {s.path}: {s.reason}", file=sys.stderr)


def _progress():
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return None, None
    bar = tqdm(unit="file", desc="reading headers", disable=not sys.stderr.isatty())

    def update(done):
        bar.n = done
        bar.refresh()

    return update, bar


def _index(args) -> int:
    from platform_lib.imageindex import build_index, update_index

    fn = build_index if args.action == "index" else update_index
    progress, bar = _progress()
    try:
        report = fn(args.index, args.data_root, mapping_dirs=args.mappings, workers=args.workers, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    _report(report, args.verbose)
    return 0


def _publish(args) -> int:
    import time

    from platform_lib.imageindex import publish_released
    from platform_lib.imageindex.index import now_mjd

    seen, due = None, None
    while True:
        try:
            stat = args.index.stat()
            mark = (stat.st_mtime_ns, stat.st_ino)
        except OSError:
            mark = None
        if mark is not None and (mark != seen or (due is not None and now_mjd() >= due)):
            report = publish_released(args.index, args.data_root, args.to)
            seen, due = mark, report.next_release
            print(f"published {report.linked} files, withdrew {report.removed}; {report.released_records} records "
                  f"released, {report.withheld_records} proprietary", flush=True)
        elif mark is None and not args.watch:
            print(f"no index at {args.index}; build it with `astrohub archive index`", file=sys.stderr)
            return 1
        if not args.watch:
            return 0
        time.sleep(args.watch)


def _serve(args) -> int:
    from astrohub_archive.app import main

    return main(args.rest)


def register(subparsers) -> None:
    parser = subparsers.add_parser("archive", help="the image index and the archive service (SIA v2, cone search)")
    sub = parser.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    for action, help_text in (("index", "build the image index from scratch (atomic)"),
                              ("update", "incremental update of the image index (atomic)")):
        p = sub.add_parser(action, help=help_text)
        p.add_argument("data_root", type=Path, help="the directory tree of FITS images")
        p.add_argument("--index", type=Path, required=True, help="the index SQLite file to write")
        p.add_argument("--mappings", type=Path, action="append", default=[],
                       help="a directory of extra instrument mapping JSON files (repeatable)")
        p.add_argument("--workers", type=int, default=None, help="header-reading processes (default: CPUs)")
        p.add_argument("-v", "--verbose", action="store_true", help="list every skipped file")
        p.set_defaults(func=_index, action=action)
    p = sub.add_parser("publish", help="publish the released part of the archive into users' datasets")
    p.add_argument("data_root", type=Path, help="the archive's full image tree (proprietary files too)")
    p.add_argument("--index", type=Path, required=True, help="the archive's index SQLite file")
    p.add_argument("--to", type=Path, required=True, help="users' view, e.g. /datasets/archive/images")
    p.add_argument("--watch", type=float, default=None, metavar="SECONDS",
                   help="keep running, checking for changes and releases every SECONDS")
    p.set_defaults(func=_publish)
    # Every argument, flags first (`serve --index ...`), belongs to astrohub-archive (its --help too): no
    # prefix characters here, so argparse takes none of them for an option of its own.
    p = sub.add_parser("serve", help="run the archive service (arguments as for astrohub-archive)",
                       prefix_chars="\0", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=_serve)
