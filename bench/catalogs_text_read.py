"""Benchmark: reading text tables by their content (``read_source``) against astropy's readers of the same rows.

Usage: ``.venv/bin/python bench/catalogs_text_read.py [--rows N] [--repeats R]`` (default 200,000 rows,
best of 3). The rows are J/A+A/511/A56's table1 (astropy's bundled VizieR sample, 15 stars, 15 columns)
repeated to N rows, written three ways in one temporary folder:

* a VizieR ASU-TSV download (``tests/support/vizier_tsv.py``'s layout: ``#Column`` lines, header,
  units and dashes rows, padded cells, blank missing values): ours is ``read_source``; the peer is
  astropy's ``ascii.tab`` on the same rows without VizieR's three header lines (which it cannot skip;
  it also reads the blank-padded missing values as text, so it does less than ours);
* a CSV: ours is ``read_source`` (sniffs the delimiter, then astropy's fast reader); the peer is
  ``Table.read(format="ascii.csv")`` told the format;
* a ``;``-separated CSV with decimal commas: ours is ``read_source``; the peer is the comma CSV's
  ``ascii.csv`` read (no astropy reader takes decimal commas).

Each side runs once untimed first (imports). The ratio is ours / peer (1.0x: the content sniffing costs
nothing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

from harness import best_of

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from astropy.io import ascii
    from astropy.table import Table
    from vizier_tsv import write_vizier_tsv

    from platform_lib.catalogs import read_source
    
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lines = write_vizier_tsv(tmp / "one.tsv").read_text().splitlines()
        k = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
        data = lines[k + 3:k + 18]
        copies = -(-args.rows // len(data))
        rows = (data * copies)[:args.rows]
        (tmp / "viz.tsv").write_text("\n".join(lines[:k + 3] + rows) + "\n")
        (tmp / "plain.tab").write_text("\n".join([lines[k]] + rows) + "\n")
        table = read_source(tmp / "viz.tsv").tables[0].table
        table.write(tmp / "stars.csv", format="ascii.csv")
        text = (tmp / "stars.csv").read_text()
        (tmp / "stars_eu.csv").write_text(
            "\n".join(";".join(f.replace(".", ",") if f.replace(".", "").replace("-", "").isdigit() else f
                               for f in line.split(",")) for line in text.splitlines()) + "\n")
        cases = [
            ("VizieR TSV", lambda: read_source(tmp / "viz.tsv"),
             "astropy ascii.tab, same rows", lambda: ascii.read(str(tmp / "plain.tab"), format="tab", guess=False)),
            ("CSV, delimiter sniffed", lambda: read_source(tmp / "stars.csv"),
             "Table.read(format='ascii.csv')", lambda: Table.read(tmp / "stars.csv", format="ascii.csv")),
            ("';' CSV, decimal commas", lambda: read_source(tmp / "stars_eu.csv"),
             "Table.read(format='ascii.csv') of the ',' CSV", lambda: Table.read(tmp / "stars.csv", format="ascii.csv")),
        ]
        print(f"rows: {args.rows}, best of {args.repeats}")
        print("| file | ours (s) | peer | peer (s) | ours / peer |")
        print("| --- | ---: | --- | ---: | ---: |")
        for name, ours, peer_name, peer in cases:
            ours(), peer()  # imports and first calls, not timed
            a, b = best_of(ours, args.repeats)[0], best_of(peer, args.repeats)[0]
            print(f"| {name} | {a:.2f} | {peer_name} | {b:.2f} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
