"""Times a user gives, as the moving-objects API and its archive routes read them: :func:`as_time`,
:func:`as_jd_tdb` and :func:`read_time` are :class:`platform_lib.times.DateReader`'s (the one reader of "a date a user
gave", which the image index's searches read by too), refusing with a
:class:`~platform_lib.moving.errors.MovingObjectError` (``bad-time``) that names the parameter and the value as
given; :data:`TEXT_FORMS` and :func:`quiet_dubious_years` are that module's. Imports ``platform_lib.times`` and this
package's errors only.
"""

from __future__ import annotations

from platform_lib.moving.errors import MovingObjectError
from platform_lib.times import TEXT_FORMS, DateReader, quiet_dubious_years

__all__ = ["TEXT_FORMS", "as_time", "as_jd_tdb", "read_time", "quiet_dubious_years"]

#: The moving-objects package's reader of dates: its refusals are MovingObjectErrors.
DATES = DateReader(MovingObjectError)
as_time = DATES.as_time
as_jd_tdb = DATES.as_jd_tdb
read_time = DATES.read_time
