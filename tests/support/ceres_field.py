"""An image of one's own that holds Ceres: the sample CFHT image (``sa110_cfht_megaprime.fits``) given a WCS centred
on Ceres on 2023-05-26 10:00 UTC (from the geocentre), a 60 s exposure, and no release keyword (so the archive's
rule would hide it).

Owns :func:`ceres_image`, which the unit tests call and the platform tests run in a user's kernel
(:func:`kernel_code`: its own source, then the call); the two kept a copy each. Test files import it as
``from ceres_field import ceres_image`` (tests/conftest.py puts tests/support/ on the path). May import the standard
library at module level; the function imports astropy and ``platform_lib.moving`` itself, so that its source runs
alone in a kernel.
"""

from __future__ import annotations

import inspect

__all__ = ["ceres_image", "kernel_code"]


def ceres_image(sample, out, orbits):
    """Write ``out``: the FITS image ``sample`` centred on Ceres on 2023-05-26 10:00 UTC, a 60 s exposure with no
    release keyword; ``(at, header, data)``, Ceres's ephemeris row and the image's header and data as written."""
    from astropy.io import fits
    from astropy.time import Time

    from platform_lib.moving import ephemeris

    when = Time("2023-05-26T10:00:00")
    at = ephemeris("Ceres", when, site="geocenter", orbits=orbits)
    with fits.open(sample) as hdul:
        header, data = hdul[0].header.copy(), hdul[0].data
    header.update(CRVAL1=float(at["ra"][0]), CRVAL2=float(at["dec"][0]), CRPIX1=data.shape[1] / 2 + 0.5,
                  CRPIX2=data.shape[0] / 2 + 0.5, EXPTIME=60.0)
    header["DATE-OBS"] = when.isot
    header.pop("MJD-OBS", None)
    fits.PrimaryHDU(data, header=header).writeto(out)
    return at, header, data


def kernel_code(sample: str, out: str, orbits: str) -> str:
    """Kernel source defining :func:`ceres_image` and calling it with the kernel's expressions ``sample``, ``out``
    and ``orbits``; it leaves ``at``, ``header`` and ``data`` in the kernel.

    >>> "at, header, data = ceres_image(s, o, orbits)" in kernel_code("s", "o", "orbits")
    True
    """
    return f"{inspect.getsource(ceres_image)}\nat, header, data = ceres_image({sample}, {out}, {orbits})\n"
