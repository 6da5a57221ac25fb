"""``python -m platform_lib.sampledata DATASETS [--registry R] [--images I] [--index X]``: load the sample data.

What ``astrohub up`` starts in the background (its output goes to ``<state>/logs/sampledata.log``).
"""

from __future__ import annotations

import argparse
import signal
import sys

from platform_lib.sampledata import load


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m platform_lib.sampledata", description=__doc__)
    parser.add_argument("datasets", help="the platform's datasets folder")
    parser.add_argument("--registry", help="the catalogue registry (default <datasets>/catalogs/registry.sqlite)")
    parser.add_argument("--images", help="the archive's image tree (default <datasets>/images)")
    parser.add_argument("--index", help="the archive's image index (default <images>/index.sqlite)")
    args = parser.parse_args(argv)
    # `astrohub down` may stop a load half-way: exit through Python so the temporary folders are removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    load(args.datasets, registry=args.registry, images_root=args.images, index=args.index,
         log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
