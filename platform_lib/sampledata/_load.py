"""Loading the sample data into a platform's datasets: catalogues into the registry, images into the archive.

Owns :func:`load` and :class:`SampleReport`. Each part is skipped when it is already there (a
catalogue of that name in the registry, an image file of that name), so a later start costs a few
file checks; when everything is in place a small JSON record, :data:`MARKER`, is written atomically
in the datasets folder, and :func:`is_loaded` reads it. Imports the platform's catalogue ingest and
image index, :mod:`platform_lib.atomic` and :mod:`platform_lib.sampledata._sources`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from platform_lib.atomic import atomic_path, write_atomic
from platform_lib.sampledata._sources import (hipparcos_table, openngc_table, packaged_images, packaged_skymaps,
                                              star_names_table)

__all__ = ["load", "is_loaded", "SampleReport", "SampleCatalog", "MARKER", "CATALOGS", "IMAGE_FOLDER",
           "SKYMAP_FOLDER", "PARTS"]

#: The record written in the datasets folder once everything is loaded.
MARKER = "sample-data.json"
#: The sub-folder of the image tree that holds the sample images.
IMAGE_FOLDER = "sample"
#: The folder of ``<datasets>`` holding the sample sky maps (users read them there).
SKYMAP_FOLDER = "skymaps"
#: The parts :func:`load` can load; the :data:`MARKER` is written only after a load of all of them.
PARTS = ("catalogs", "images", "skymaps")

@dataclass(frozen=True)
class SampleCatalog:
    """One sample catalogue: its registry name, its table's name, its reader and how it is stored."""

    name: str
    table: str
    reader: Callable
    partition_rows: int
    margin_arcsec: float


#: The sample catalogues. Hipparcos gets a wide margin cache (5 arcmin) so that a Dask crossmatch that
#: moves its stars from J1991.25 to another epoch stays inside the margin for all but the fastest stars.
#: StarNames (the names of Hipparcos stars) is what ``SkyCoord.from_name`` reads on the platform.
CATALOGS: tuple[SampleCatalog, ...] = (
    SampleCatalog("I/311", "hip2", hipparcos_table, 20_000, 300.0),
    SampleCatalog("OpenNGC", "objects", openngc_table, 5_000, 60.0),
    SampleCatalog("StarNames", "names", star_names_table, 10_000, 60.0),
)


@dataclass
class SampleReport:
    """What :func:`load` did: names loaded now, names already there, and what could not be loaded."""

    catalogs_loaded: list[str] = field(default_factory=list)
    catalogs_present: list[str] = field(default_factory=list)
    images_loaded: list[str] = field(default_factory=list)
    images_present: list[str] = field(default_factory=list)
    skymaps_loaded: list[str] = field(default_factory=list)
    skymaps_present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"catalogues {len(self.catalogs_loaded)} loaded, {len(self.catalogs_present)} present",
                 f"images {len(self.images_loaded)} loaded, {len(self.images_present)} present",
                 f"sky maps {len(self.skymaps_loaded)} loaded, {len(self.skymaps_present)} present"]
        if self.missing:
            parts.append(f"{len(self.missing)} not available")
        return "; ".join(parts) + f" ({self.seconds:.1f} s)"


def is_loaded(datasets: str | os.PathLike) -> bool:
    """True once :func:`load` has finished on this datasets folder with every catalogue of :data:`CATALOGS` in it
    (its :data:`MARKER` names them): a platform loaded before a catalogue was added (StarNames) loads it at its next
    start."""
    try:
        record = json.loads((Path(datasets) / MARKER).read_text())
    except (OSError, ValueError):
        return False
    there = {*record.get("catalogs_loaded", ()), *record.get("catalogs_present", ())}
    return {cat.name for cat in CATALOGS} <= there


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


def _atomic_copy(src: Path, dest: Path, fits_image: bool = True) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, mode=0o644) as tmp:
        shutil.copyfile(src, tmp)
        if fits_image:
            _mark_released(tmp)


def load(datasets: str | os.PathLike, *, registry: str | os.PathLike | None = None,
         images_root: str | os.PathLike | None = None, index: str | os.PathLike | None = None,
         log: Callable[[str], None] = print, parts: tuple[str, ...] | list[str] = PARTS) -> SampleReport:
    """Load the sample catalogues and images into a platform's datasets, skipping what is there.

    Parameters
    ----------
    datasets
        The platform's datasets folder (``<data>/datasets``).
    registry
        The catalogue registry (default ``<datasets>/catalogs/registry.sqlite``).
    images_root
        The archive's image tree (default ``<datasets>/images``); the images go in its ``sample/``.
    index
        The archive's image index (default ``<images_root>/index.sqlite``), updated incrementally.
    log
        Where progress lines go.
    parts
        Which of :data:`PARTS` to load (default all); the record :data:`MARKER` is written only when
        all of them were loaded.

    Returns
    -------
    SampleReport

    Examples
    --------
    >>> load("/srv/astrohub/datasets").summary()         # doctest: +SKIP
    'catalogues 2 loaded, 0 present; images 8 loaded, 0 present (41.2 s)'
    """
    from platform_lib.catalogs import Registry, ingest
    from platform_lib.imageindex import update_index

    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown sample data part(s) {unknown}; choose from {list(PARTS)}")
    t0 = time.monotonic()
    datasets = Path(datasets)
    registry_path = Path(registry) if registry else datasets / "catalogs" / "registry.sqlite"
    images_root = Path(images_root) if images_root else datasets / "images"
    index_path = Path(index) if index else images_root / "index.sqlite"
    report = SampleReport()

    datasets.mkdir(parents=True, exist_ok=True)
    if "catalogs" in parts:
        registry_path.parent.mkdir(parents=True, exist_ok=True)
        _load_catalogs(Registry(registry_path), ingest, report, log)
    if "images" in parts:
        _load_images(images_root, index_path, update_index, report, log)
    if "skymaps" in parts:
        _load_skymaps(datasets, report)

    report.seconds = time.monotonic() - t0
    if set(parts) >= set(PARTS):
        record = {"version": 1, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "registry": str(registry_path), "index": str(index_path), **asdict(report)}
        write_atomic(datasets / MARKER, json.dumps(record, indent=2), mode=0o644)
    log(f"sample data: {report.summary()}")
    return report


def _load_catalogs(reg, ingest, report: SampleReport, log: Callable[[str], None]) -> None:
    """Ingest each of :data:`CATALOGS` not yet in the registry ``reg``."""
    present = {c.name for c in reg.catalogs()}
    for cat in CATALOGS:
        if cat.name in present:
            report.catalogs_present.append(cat.name)
            continue
        try:
            table = cat.reader()
        except Exception as exc:  # a missing package: say so, load the rest
            report.missing.append(f"catalogue {cat.name}: {exc}")
            log(f"sample data: cannot read {cat.name}: {exc}")
            continue
        log(f"sample data: ingesting {cat.name} ({len(table)} rows)")
        with tempfile.TemporaryDirectory(dir=Path(reg.path).parent, prefix=".sample-") as tmp:
            source = Path(tmp) / f"{cat.table}.parquet"  # astropy's Parquet keeps units, UCDs, descriptions
            table.write(source, format="parquet")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ingest(source, reg, name=cat.name, partition_rows=cat.partition_rows,
                       margin_arcsec=cat.margin_arcsec)
        report.catalogs_loaded.append(cat.name)


def _load_images(images_root: Path, index_path: Path, update_index, report: SampleReport,
                 log: Callable[[str], None]) -> None:
    """Copy the packaged images not yet in ``<images_root>/sample/`` and update the archive's index."""
    found, missing = packaged_images()
    report.missing += [f"image {image.name}: {why}" for image, why in missing]
    for image, path in found:
        dest = images_root / IMAGE_FOLDER / f"{image.name}.fits"
        if dest.exists():
            report.images_present.append(image.name)
            continue
        _atomic_copy(path, dest)
        report.images_loaded.append(image.name)
    if report.images_loaded or not index_path.exists():
        log(f"sample data: indexing {len(report.images_loaded)} new image(s) into {index_path}")
        update_index(index_path, images_root, workers=1, lock_timeout=300)


def _load_skymaps(datasets: Path, report: SampleReport) -> None:
    """Copy the packaged sky maps not yet in ``<datasets>/skymaps/``."""
    found, missing = packaged_skymaps()
    report.missing += [f"sky map {skymap.name}: {why}" for skymap, why in missing]
    for skymap, path in found:
        dest = datasets / SKYMAP_FOLDER / skymap.name
        if dest.exists():
            report.skymaps_present.append(skymap.name)
            continue
        _atomic_copy(path, dest, fits_image=False)
        report.skymaps_loaded.append(skymap.name)
