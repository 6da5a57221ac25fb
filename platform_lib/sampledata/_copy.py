"""Copying a packaged sample file into a platform's datasets: atomically, and a FITS image marked as released.

Owns :func:`copy_sample`. The only code of the loader that shapes the bytes of a copied image (its ``DATE-REL``),
so :data:`~platform_lib.sampledata._versions.IMAGE_CODE` names this module and not the rest of the loader. Imports
astropy and :mod:`platform_lib.atomic`.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from platform_lib.atomic import atomic_path

__all__ = ["copy_sample"]


def _mark_released(fits_file: Path) -> None:
    """Give a sample image without a release date ``DATE-REL`` = today: it is public data.

    The image index keeps an image with neither an observation date nor a release date proprietary
    until an operator sets one (``platform_lib.imageindex``), so users would never see it. The keyword is
    the one the generic instrument mapping reads; the data and every other keyword are untouched.
    """
    from astropy.io import fits

    with fits.open(fits_file, mode="update") as hdul:
        header = hdul[0].header
        if "RELEASE" not in header and "DATE-REL" not in header:
            header["DATE-REL"] = (time.strftime("%Y-%m-%d", time.gmtime()), "public sample data (astrohub sampledata)")


def copy_sample(src: Path, dest: Path, fits_image: bool = True) -> None:
    """Copy ``src`` to ``dest`` atomically (mode 0644); a FITS image (``fits_image``) gets its ``DATE-REL``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, mode=0o644) as tmp:
        shutil.copyfile(src, tmp)
        if fits_image:
            _mark_released(tmp)
