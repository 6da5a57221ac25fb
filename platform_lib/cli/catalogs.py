"""The ``astrohub catalogs`` command group: ingest, list, show and search the catalogue registry.

Thin: parses arguments, calls :mod:`platform_lib.catalogs`, prints tables. The registry is
``--registry`` or the one the platform settings name (``PLATFORM_CATALOG_REGISTRY`` /
``PLATFORM_DATASETS``).
"""

from __future__ import annotations

import sys
import warnings

from platform_lib.cli import seconds

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``catalogs ingest|list|show|search`` to the ``astrohub`` parser."""
    parser = subparsers.add_parser("catalogs", help="the catalogue registry (VizieR-style dictionary over HATS)")
    sub = parser.add_subparsers(dest="catalogs_command", required=True, metavar="ACTION")

    def common(p):
        p.add_argument("--registry", help="the registry SQLite file (default: from the platform settings)")
        return p

    p = common(sub.add_parser("ingest", help="ingest a FITS/VOTable/Parquet/ECSV/HDF5 file, a text table (CSV, VizieR TSV, IPAC...) or a CDS ReadMe"))
    p.add_argument("path", help="the source file, a CDS ReadMe, or a folder holding a ReadMe")
    p.add_argument("--name", help="the catalogue name (default: the ReadMe designation or the file name)")
    p.add_argument("--replace", action="store_true", help="replace a registered catalogue of the same name")
    p.add_argument("--keep-replaced", type=seconds, metavar="SECONDS",
                   help="how long a version that a replace supersedes stays for the queries still reading it; "
                        "versions replaced longer ago are removed first (default: an hour, the library's "
                        "KEEP_REPLACED_S; give the platform's setting, astrohub.toml's archive.keep_replaced or the "
                        "chart's archive.keepReplacedSeconds)")
    p.add_argument("--partition-rows", type=int, default=100_000, help="most rows per HATS partition")
    p.add_argument("--margin-arcsec", type=float, default=None,
                   help="width of the margin cache written beside each table (default 10; 0: none), the "
                        "largest crossmatch radius on Dask with this table on the right")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (by default one on stderr advances per partition written)")
    p.set_defaults(func=_ingest)

    p = common(sub.add_parser("list", help="list the registered catalogues and their tables"))
    p.set_defaults(func=_list)

    p = common(sub.add_parser("show", help="show a catalogue or table with its columns"))
    p.add_argument("name", help="a catalogue name or a table name (catalogue/table)")
    p.set_defaults(func=_show)

    p = common(sub.add_parser("search", help="find catalogues by their titles and descriptions, and columns by "
                                             "their names, descriptions or UCD"))
    p.add_argument("text", nargs="?", help="text to find in catalogue titles and descriptions (every word) and in "
                                           "column names and descriptions")
    p.add_argument("--ucd", help="a UCD word to match, e.g. phot.mag or pos.parallax")
    p.set_defaults(func=_search)


def _registry(args, *, readonly: bool):
    from platform_lib.catalogs import Registry

    if args.registry:
        return Registry(args.registry, readonly=readonly)
    return Registry.from_settings(readonly=readonly)


def _ingest(args) -> int:
    from platform_lib.catalogs import ingest

    registry = _registry(args, readonly=False)
    margin = {} if args.margin_arcsec is None else {"margin_arcsec": args.margin_arcsec or None}
    if args.keep_replaced is not None:
        margin["keep_replaced_s"] = args.keep_replaced
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = ingest(args.path, registry, name=args.name, replace=args.replace,
                      partition_rows=args.partition_rows, progress=not args.no_progress, **margin)
    for w in caught:
        if issubclass(w.category, UserWarning):
            print(f"astrohub: warning: {w.message}", file=sys.stderr)
    print(f"ingested {info.name}: {len(info.tables)} table(s)")
    for name in registry.tables(info.name):
        t = registry.get(name)
        where = t.hats_path or t.data_path
        pos = f"{t.ra_column},{t.dec_column}" if t.ra_column else "no positions"
        print(f"  {name}  rows={t.nrows}  {pos}  sky={t.sky_fraction:.3g}  {where}")
    return 0


def _list(args) -> int:
    registry = _registry(args, readonly=True)
    table = registry.dictionary("tables")
    if len(table) == 0:
        print("no catalogues registered")
        return 0
    table["table", "nrows", "ra_column", "dec_column", "sky_fraction"].pprint_all()
    return 0


def _show(args) -> int:
    from platform_lib.catalogs import CatalogNotFound

    registry = _registry(args, readonly=True)
    try:
        cat = registry.catalog(args.name)
        print(f"{cat.name}: {cat.title}\n  authors: {cat.authors}\n  reference: {cat.reference}")
        print(f"  keywords: {'; '.join(cat.keywords)}\n  tables: {', '.join(cat.tables)}")
        names = registry.tables(cat.name)
    except CatalogNotFound:
        names = [registry.get(args.name).full_name]
    for name in names:
        t = registry.get(name)
        frame = "".join(f"  {k}={v}" for k, v in (("equinox", t.equinox), ("epoch", t.epoch)) if v)
        print(f"\n{t.full_name}: {t.description}  rows={t.nrows}  ra/dec={t.ra_column}/{t.dec_column}{frame}")
        for c in t.columns:
            flags = f" [{','.join(c.flags)}]" if c.flags else ""
            print(f"  {c.name:<16} {c.unit:<10} {c.ucd:<28} {c.description}{flags}")
    links = registry.links(names[0]) if len(names) == 1 else [x for n in names for x in registry.links(n)]
    for link in dict.fromkeys(links):
        print(f"  link: {link.from_table}.{link.from_column} -> {link.to_table}.{link.to_column} ({link.kind})")
    return 0


def _search(args) -> int:
    if not args.text and not args.ucd:
        print("astrohub: error: give TEXT, --ucd or both", file=sys.stderr)
        return 2
    registry = _registry(args, readonly=True)
    catalogs = registry.find_catalogs(args.text) if args.text and not args.ucd else None
    table = registry.search(args.text, ucd=args.ucd)
    if catalogs is not None and len(catalogs):
        print(f"catalogues about {args.text!r}:")
        catalogs.pprint_all()
        print()
    if len(table) == 0:
        print("no matching columns")
        return 0 if catalogs is not None and len(catalogs) else 1
    print("columns:")
    table.pprint_all()
    return 0


