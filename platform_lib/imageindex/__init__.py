"""The FITS image index: ObsCore metadata for a directory tree of images, with an SQLite R-tree over footprints.

Owns header ingestion (``ingest``), instrument mappings (``mapping`` and the JSON files in
``mappings/``), footprints (``footprint``), spherical geometry (``sphere``), the one reader of ``s_region`` text
(``sregion``), the Hilbert key that packs
R-trees (``hilbert``), the query specification and the release rule (``query``), the SQLite store (``index``), the released
view users see (``release``: released files and an index without proprietary rows), the ObsCore columns of records as a
Table (``obscore``) and a user's own folder of images with its index (``folder``: :func:`index_folder`). May import
astropy, numpy and sqlite3; never a web framework.
"""

from platform_lib.imageindex.errors import ImageIndexError, ImageIndexInputError
from platform_lib.imageindex.folder import FolderIndex, index_folder
from platform_lib.imageindex.index import BuildReport, ImageIndex, build_index, update_index
from platform_lib.imageindex.mapping import InstrumentMapping, load_mappings
from platform_lib.imageindex.query import ImageQuery, Viewer, is_released, released_sql
from platform_lib.imageindex.release import ReleaseReport, publish_released
from platform_lib.imageindex.sphere import Circle, Polygon, Range

__all__ = [
    "BuildReport",
    "Circle",
    "FolderIndex",
    "ImageIndex",
    "ImageIndexError",
    "ImageIndexInputError",
    "ImageQuery",
    "InstrumentMapping",
    "Polygon",
    "Range",
    "ReleaseReport",
    "Viewer",
    "build_index",
    "index_folder",
    "is_released",
    "released_sql",
    "load_mappings",
    "publish_released",
    "update_index",
]
