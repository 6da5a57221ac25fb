"""``python -m platform_lib.sampledata DATASETS [--registry R] [--images I] [--index X] [--parts P]``.

The same command as ``astrohub sample-data load`` (:mod:`platform_lib.cli.sampledata`), which
``astrohub up`` starts in the background (its output goes to ``<state>/logs/sampledata.log``).
"""

from __future__ import annotations

import sys

from platform_lib.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["sample-data", "load", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
