"""``python -m platform_lib`` is the ``astrohub`` command."""

import sys

from platform_lib.cli import main

sys.exit(main())
