"""The catalogue service: a VizieR-style metadata registry over HATS-partitioned catalogues.

Public API (stable; other packages and services use exactly these names):

``Registry(path)`` / ``Registry.from_settings()``
    The SQLite dictionary (default ``<datasets>/catalogs/registry.sqlite``):
    ``.get(name) -> TableInfo`` (``name`` is ``catalogue/table``, a one-table catalogue's name, or a
    unique table name; ``TableInfo.hats_path``, ``.ra_column``, ``.dec_column``, ``.columns`` with
    unit/UCD/description), ``.catalogs()``, ``.tables()``, ``.catalog(name)``,
    ``.search(text, ucd=...)`` and ``.dictionary(kind)`` as astropy Tables, ``.links()``,
    ``.moc(name)`` (a mocpy MOC), ``.covering(SkyCoord, radius) -> list of table names`` and
    ``.close_names(text)`` (the registry names an everyday or misspelt name may mean: ``"Hipparcos"`` -> ``I/311``,
    which a name the registry does not know suggests).
``ingest(source, registry, name=None, replace=False, progress=False) -> CatalogInfo``
    FITS, VOTable, Parquet, ECSV, HDF5, text tables (VizieR TSV, IPAC, CSV and other delimited text,
    told apart by their content) or a CDS ReadMe (+ data files) into HATS Parquet,
    with column metadata, a MOC, links and a margin cache (``margin_arcsec=``, default
    :data:`DEFAULT_MARGIN_ARCSEC`), unattended.
``read_source(path, name=None) -> Source``
    What ingest reads from a source, without ingesting it: the catalogue's metadata (``Source``) and its
    tables (``SourceTable``: name, description, astropy Table, equinox, epoch); text tables are read by
    their content (VizieR ASU-TSV, IPAC, delimited text), and a file that is no table is refused.
``read_text_table(path, table=None) -> astropy Table``, :data:`TEXT_SUFFIXES`
    One table of a text file read as ingest reads it (by its content), for the other packages that read
    users' text tables (job inputs, storage): one file reads the same everywhere. ``TEXT_SUFFIXES``: the
    file name endings read so (``.csv``, ``.tsv``, ``.txt``, ``.dat``, ``.tbl``..., each also ``.gz``).
``add_margin_cache(collection, name, client, threshold_arcsec=5.0)``
    Give a HATS catalogue on disk a margin cache, built on a Dask client's workers (hats-import).
``cache_hats_kernels()``
    Let hats' numba functions (``align_trees``) load from numba's disk cache instead of compiling in each process.
``cone_search(name_or_path, SkyCoord, radius, columns=None) -> astropy Table``
``box_search(name_or_path, ra_range, dec_range, columns=None)``, ``polygon_search(name_or_path, vertices, ...)``
    Read only the HATS partitions the region touches; repeated queries hit an in-memory cache.
    ``name_or_path`` is a registry name (looked up in ``registry=`` or the settings' registry) or
    a HATS catalogue folder.
``covering(SkyCoord, radius, registry=None) -> list of table names``
    Which tables have sources within ``radius``, answered from the MOC cell index only.
``ColumnInfo``, :data:`DATATYPES`, ``normalize_datatype(text)``
    A column's dictionary entry; its ``datatype`` is always one of :data:`DATATYPES` (Arrow's type names:
    ``int32``, ``float64``, ``string``, ``timestamp``...) or ``""``, whatever spelled it (numpy, pandas,
    VOTable, a registry written before the vocabulary).
``guess_position_columns(columns) -> (ra, dec) or None``
    The position columns ingest indexes (UCDs first, then the usual names), for the packages that find
    a table's positions the same way (crossmatch).
``guess_galactic_columns(columns)``, ``with_cds_decimal_positions(table, frame=None)``, ``position_frame(descriptions)``
    The other positions ingest reads, for the same packages: Galactic l/b columns (a table with no equatorial
    ones), CDS sexagesimal parts (``RAh RAm RAs DE- DEd DEm DEs``) as added decimal columns, and the equinox
    and epoch a CDS table's column explanations state.
``source_frame(equinox, label) -> SourceFrame``
    The frame such an equinox names (ICRS, FK5 ``J...``, FK4 ``B...``; FK5 J2000 counts as ICRS), as ingest
    converts from it: ``.is_icrs``, ``.astropy()``, ``.said``.
``position_degrees(column, name, is_ra=...) -> float64 degrees``
    One RA or Dec column of a user's table in decimal degrees, whatever its form (numbers in any angle
    unit, a Quantity, masked values, sexagesimal or decimal text read as ingest reads it), NaN where null;
    a unit that is not an angle is a :class:`PositionColumnError` naming the column and the unit. The one
    reading for every package that takes positions from a table (viz, crossmatch, skymap).
``position_columns(table, lon, lat, label=...) -> (lon, lat) float64 degrees``
    Both position columns of a Table or DataFrame by name (a missing one is a ``PositionColumnError`` with code
    ``missing-column`` naming the columns there), or a SkyCoord's ICRS positions (crossmatch's NWAY, skymap).
``sky_positions(table, lon=None, lat=None) -> SkyPositions``, ``table_frame(table, columns) -> SourceFrame``
    Where a user's table has its positions, found as ingest finds them (UCDs, usual names in any angle unit,
    sexagesimal text, CDS parts, Galactic l/b) and converted to ICRS from the frame the table states (``meta``'s
    ``equinox``/``frame``, its position columns' explanations): ``.ra``, ``.dec`` (ICRS degrees, NaN where
    none), ``.lon_column``, ``.lat_column``, ``.frame``. The one answer for the packages that draw or match
    users' tables (viz, skymap, crossmatch).
``votable_tables(parsed VOTable) -> list of astropy Tables``, ``result_table(pyvo result) -> Table``
    Every TABLE of a VOTable (or a pyvo result's table) with columns named by FIELD name and its COOSYS kept in
    ``meta`` (``equinox``, ``frame``, ``epoch``), for the readers of users' VOTables (jobs, storage, retrieval's
    results, pyvo results shown by viz).
``resolve(name_or_path, registry=None) -> (HATS folder, TableInfo or None)``
    The HATS folder behind a registry name or a path.
``native_text(values) -> numpy array``
    Text held as Python objects (Arrow's strings, pandas' string columns through ``Table.from_pandas``) as a
    numpy ``str`` column with its nulls masked, as a search returns it, for the packages that turn frames into
    Tables (crossmatch's pairs): an object column is written by no table format.
``read_layout(path) -> HatsLayout``, ``partition_file(root, order, pixel)``, ``write_hats(df, path, ...)``,
``HEALPIX_COLUMN``, ``arrow_to_pandas(table)``, ``pinned(path)``
    The HATS on-disk layout, for the packages and services that read or write HATS partitions themselves
    (crossmatch, viz, the archive's TAP engine); ``arrow_to_pandas`` reads partitions into DataFrames whose
    integer and boolean columns with nulls stay integer and boolean (pandas' nullable types). ``pinned``
    is the catalogue version a path names now: a reader that lists partitions opens them under it (as
    ``read_layout``'s root is), and reads that version throughout, even if ``ingest(replace=True)`` switches
    the catalogue meanwhile (the replaced version stays ``KEEP_REPLACED_S``; ``remove_replaced(registry)``
    removes those older).
``SkyPolygon(ra_deg, dec_deg)``, :data:`MAX_POLYGON_CAP_DEG`
    The spherical polygon ``polygon_search`` uses (great-circle edges, the hemisphere limit as a
    ``ValueError``, ``.contains(unit vectors)``, ``.cells(order)``, ``.centre``, ``.radius_deg``), for
    services that test the same geometry (the archive's ADQL ``POLYGON``).
``box_cells(ra_min, ra_max, dec_min, dec_max, order)``
    The HEALPix cells of one order that may hold a point of an RA/Dec box (a superset; RA through 0 when
    ``ra_min > ra_max``), as ``box_search`` selects them: for the archive's ADQL ``BOX``.

Errors are :class:`CatalogError` subclasses with a ``code``: ``catalog-not-found``,
``duplicate-catalog``, ``bad-readme``, ``unsupported-source``, ``bad-position-column``. A table without position
columns is ingested without a MOC and raises a :class:`NoPositionWarning`.

Examples
--------
>>> from platform_lib.catalogs import Registry, ingest, cone_search          # doctest: +SKIP
>>> reg = Registry("/tmp/registry.sqlite")                                    # doctest: +SKIP
>>> ingest("J_A+A_511_A56/ReadMe", reg)                                       # doctest: +SKIP
>>> cone_search("J/A+A/511/A56/table1", SkyCoord(99.7, 2.03, unit="deg"), 5 * u.arcmin, registry=reg)  # doctest: +SKIP
"""

from platform_lib.catalogs._columns import (
    DATATYPES,
    ColumnInfo,
    guess_galactic_columns,
    guess_position_columns,
    normalize_datatype,
)
from platform_lib.catalogs._coverage import box_cells
from platform_lib.catalogs._degrees import position_columns, position_degrees
from platform_lib.catalogs._errors import (
    AmbiguousNumberWarning,
    BadReadme,
    CatalogError,
    CatalogNotFound,
    DuplicateCatalog,
    NoPositionWarning,
    PositionColumnError,
    UnknownColumn,
    UnknownTable,
    UnsupportedSource,
)
from platform_lib.catalogs._hats import (
    HEALPIX_COLUMN,
    HatsLayout,
    add_margin_cache,
    arrow_to_pandas,
    cache_hats_kernels,
    partition_file,
    pinned,
    read_layout,
    write_hats,
)
from platform_lib.catalogs._ingest import (DEFAULT_MARGIN_ARCSEC, KEEP_REPLACED_S, SourceFrame, ingest, remove_replaced,
                                           source_frame)
from platform_lib.catalogs._polygon import MAX_CAP_DEG as MAX_POLYGON_CAP_DEG
from platform_lib.catalogs._polygon import Polygon as SkyPolygon
from platform_lib.catalogs._readers import (
    Source,
    SourceTable,
    position_frame,
    read_source,
    read_text_table,
    result_table,
    votable_tables,
)
from platform_lib.catalogs._registry import CatalogInfo, Link, Registry, TableInfo
from platform_lib.catalogs._search import box_search, cone_search, native_text, polygon_search, reader_for, resolve
from platform_lib.catalogs._sky import SkyPositions, sky_positions, table_frame
from platform_lib.catalogs._sexagesimal import (POSITION_FORMS, angle_trouble, decimal_degrees,
                                                sexagesimal_position_columns, with_cds_decimal_positions)
from platform_lib.catalogs._texttables import TEXT_SUFFIXES

__all__ = [
    "Registry",
    "CatalogInfo",
    "TableInfo",
    "ColumnInfo",
    "DATATYPES",
    "normalize_datatype",
    "guess_position_columns",
    "guess_galactic_columns",
    "sexagesimal_position_columns",
    "with_cds_decimal_positions",
    "position_frame",
    "source_frame",
    "SourceFrame",
    "decimal_degrees",
    "angle_trouble",
    "POSITION_FORMS",
    "position_columns",
    "position_degrees",
    "sky_positions",
    "SkyPositions",
    "table_frame",
    "votable_tables",
    "result_table",
    "Link",
    "ingest",
    "remove_replaced",
    "KEEP_REPLACED_S",
    "read_source",
    "Source",
    "SourceTable",
    "read_text_table",
    "TEXT_SUFFIXES",
    "add_margin_cache",
    "cache_hats_kernels",
    "DEFAULT_MARGIN_ARCSEC",
    "cone_search",
    "box_search",
    "box_cells",
    "polygon_search",
    "covering",
    "reader_for",
    "resolve",
    "native_text",
    "read_layout",
    "pinned",
    "partition_file",
    "write_hats",
    "HatsLayout",
    "HEALPIX_COLUMN",
    "arrow_to_pandas",
    "SkyPolygon",
    "MAX_POLYGON_CAP_DEG",
    "CatalogError",
    "CatalogNotFound",
    "DuplicateCatalog",
    "BadReadme",
    "UnsupportedSource",
    "UnknownTable",
    "UnknownColumn",
    "PositionColumnError",
    "NoPositionWarning",
    "AmbiguousNumberWarning",
]


def covering(position, radius, registry: Registry | None = None) -> list[str]:
    """The registered tables with sources within ``radius`` of ``position`` (from their MOCs only).

    ``registry`` defaults to the one named by the platform settings. See :meth:`Registry.covering`.

    Examples
    --------
    >>> from platform_lib.catalogs import covering
    >>> covering("Pleiades", "1 deg")                     # doctest: +SKIP
    ['I/311/hip2', 'OpenNGC/objects', 'StarNames/names']
    """
    if registry is None:
        registry = Registry.from_settings(readonly=True)
    return registry.covering(position, radius)
