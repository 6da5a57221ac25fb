"""Loading the sample data into a platform's datasets: catalogues into the registry, images into the archive.

Owns :func:`load`, :func:`stale` and :class:`SampleReport`. Each item (a catalogue, the images, the sky maps) is
skipped when it is already there (a catalogue of that name in the registry, an image file of that name) and was
built from what the platform would build it from now: the record :data:`MARKER`, written atomically in the datasets
folder once everything is in place, keeps each item's version (:mod:`platform_lib.sampledata._versions`), and an
item whose version changed since (an upgrade of astrohub or of a data package) is rebuilt: a catalogue is ingested
again with ``replace`` (atomic: readers see the old catalogue or the new one), the images are copied again and
re-indexed. A catalogue in the registry that the record does not name as the sample data's (an operator's own of
that name) is never touched. :func:`stale` says what is out of date, cheaply (file digests), so a later start costs
a few file reads. Imports the platform's catalogue ingest and image index, :mod:`platform_lib.atomic` and
:mod:`platform_lib.sampledata._sources` and ``._copy`` (the copy that marks an image released), and
:mod:`platform_lib.firstload` (the record's and the first load's files in the datasets folder).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from platform_lib.atomic import write_atomic
from platform_lib.firstload import LOADING, MARKER, first_load, loading_since, still_loading
from platform_lib.sampledata._copy import copy_sample
from platform_lib.sampledata._sources import (hipparcos_inputs, hipparcos_table, openngc_inputs, openngc_table,
                                              packaged_images, packaged_skymaps, star_names_inputs, star_names_table)
from platform_lib.sampledata._versions import CATALOG_CODE, IMAGE_CODE, SKYMAP_CODE, image_params, version

__all__ = ["load", "is_loaded", "stale", "loading_since", "still_loading", "LOADING", "current_versions",
           "SampleReport", "SampleCatalog", "MARKER", "CATALOGS", "IMAGE_FOLDER", "SKYMAP_FOLDER", "PARTS", "FOREIGN"]

#: The sub-folder of the image tree that holds the sample images.
IMAGE_FOLDER = "sample"
#: The folder of ``<datasets>`` holding the sample sky maps (users read them there).
SKYMAP_FOLDER = "skymaps"
#: The parts :func:`load` can load; the :data:`MARKER` is written only after a load of all of them.
PARTS = ("catalogs", "images", "skymaps")
#: The version :data:`MARKER` gives a catalogue of that name that is not the sample data's (never rebuilt).
FOREIGN = "not the sample data's"

@dataclass(frozen=True)
class SampleCatalog:
    """One sample catalogue: its registry name, its table's name, its reader, the files it reads and how it is
    stored."""

    name: str
    table: str
    reader: Callable
    inputs: Callable
    partition_rows: int
    margin_arcsec: float

    @property
    def key(self) -> str:
        """Its key in :data:`MARKER`'s versions."""
        return f"catalog:{self.name}"


#: The sample catalogues. Hipparcos gets a wide margin cache (5 arcmin) so that a Dask crossmatch that
#: moves its stars from J1991.25 to another epoch stays inside the margin for all but the fastest stars.
#: StarNames (the names of Hipparcos stars) is what ``SkyCoord.from_name`` reads on the platform.
CATALOGS: tuple[SampleCatalog, ...] = (
    SampleCatalog("I/311", "hip2", hipparcos_table, hipparcos_inputs, 20_000, 300.0),
    SampleCatalog("OpenNGC", "objects", openngc_table, openngc_inputs, 5_000, 60.0),
    SampleCatalog("StarNames", "names", star_names_table, star_names_inputs, 10_000, 60.0),
)


def current_versions(mapping_dirs: list[Path] | tuple = ()) -> dict[str, str | None]:
    """What each item of the sample data would be built from now: ``{"catalog:<name>": version, "images": ...,
    "skymaps": ...}`` (:func:`platform_lib.sampledata._versions.version`; None where a source is not installed).
    ``mapping_dirs``: the operator's own instrument mappings, which the images are indexed with."""
    out = {cat.key: version(cat.inputs, CATALOG_CODE, params=repr((cat.table, cat.partition_rows, cat.margin_arcsec)))
           for cat in CATALOGS}
    out["images"] = version(lambda: [path for _, path in packaged_images()[0]], IMAGE_CODE,
                            params=image_params(mapping_dirs))
    out["skymaps"] = version(lambda: [path for _, path in packaged_skymaps()[0]], SKYMAP_CODE)
    return out


def _record(datasets: Path) -> dict | None:
    """:data:`MARKER`'s content, None when there is none (no load has finished there). A record written before
    versions existed gives each item it names the version ``"legacy"``: out of date."""
    try:
        record = json.loads((Path(datasets) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    if "versions" not in record:
        named = {*record.get("catalogs_loaded", ()), *record.get("catalogs_present", ())}
        record["versions"] = {**{f"catalog:{name}": "legacy" for name in named}, "images": "legacy",
                              "skymaps": "legacy"}
    return record


@dataclass
class SampleReport:
    """What :func:`load` did: names loaded now, names already there, and what could not be loaded."""

    catalogs_loaded: list[str] = field(default_factory=list)
    #: The items (catalogue names, ``images``, ``skymaps``) built again because what builds them changed.
    rebuilt: list[str] = field(default_factory=list)
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
        if self.rebuilt:
            parts.append(f"rebuilt as out of date: {', '.join(self.rebuilt)}")
        if self.missing:
            parts.append(f"{len(self.missing)} not available")
        return "; ".join(parts) + f" ({self.seconds:.1f} s)"


def stale(datasets: str | os.PathLike, current: dict[str, str | None] | None = None, *,
          mapping_dirs: list[Path] | tuple = ()) -> list[str]:
    """The items of :func:`current_versions` (with ``mapping_dirs``) that :func:`load` would build on this datasets
    folder: all of them before a load has finished there, then those whose recorded version differs from the
    current one (an upgrade changed their sources or the code that builds them; a catalogue added since,
    StarNames; a catalogue whose package is missing; the operator's instrument mappings changed: the images)."""
    record = _record(Path(datasets))
    current = current_versions(mapping_dirs) if current is None else current
    if record is None:
        return list(current)
    recorded = record["versions"]
    return [key for key, now in current.items() if recorded.get(key) not in (now, FOREIGN)]


def is_loaded(datasets: str | os.PathLike, *, mapping_dirs: list[Path] | tuple = ()) -> bool:
    """True once :func:`load` has finished on this datasets folder and nothing is out of date (:func:`stale`)."""
    return not stale(datasets, mapping_dirs=mapping_dirs)


def load(datasets: str | os.PathLike, *, registry: str | os.PathLike | None = None,
         images_root: str | os.PathLike | None = None, index: str | os.PathLike | None = None,
         log: Callable[[str], None] = print, parts: tuple[str, ...] | list[str] = PARTS,
         keep_replaced_s: float | None = None, mapping_dirs: list[Path] | tuple = ()) -> SampleReport:
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
    keep_replaced_s
        With ``catalogs``: how long a catalogue version a replace superseded stays in the registry for the queries
        reading it (default :data:`platform_lib.catalogs.KEEP_REPLACED_S`; the operator's setting); the versions
        replaced longer ago are removed first (:func:`platform_lib.catalogs.remove_replaced`).
    mapping_dirs
        The operator's own instrument mappings (folders of ``*.json``, as the archive's ``--mappings``): the images
        are indexed with them, and indexed again when they change.

    Returns
    -------
    SampleReport

    Examples
    --------
    >>> load("/srv/astrohub/datasets").summary()         # doctest: +SKIP
    'catalogues 2 loaded, 0 present; images 8 loaded, 0 present (41.2 s)'
    """
    from platform_lib.catalogs import KEEP_REPLACED_S, Registry
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
    previous = _record(datasets)
    mapping_dirs = [Path(d) for d in mapping_dirs]
    current = current_versions(mapping_dirs)
    # without a record (a first load, or one that never finished) what is there is taken as it is, as before
    recorded = current if previous is None else previous["versions"]
    versions = dict(recorded)
    out_of_date = stale(datasets, current) if previous is not None else []
    if out_of_date:
        log(f"sample data: out of date (built from older sources or code): {', '.join(out_of_date)}")

    datasets.mkdir(parents=True, exist_ok=True)
    with first_load(datasets, first=previous is None and set(parts) >= set(PARTS)):
        if "catalogs" in parts:
            registry_path.parent.mkdir(parents=True, exist_ok=True)
            keep = KEEP_REPLACED_S if keep_replaced_s is None else keep_replaced_s
            versions.update(_load_catalogs(Registry(registry_path), keep, report, log, recorded, current))
        if "images" in parts:
            _load_images(images_root, index_path, update_index, report, log, "images" in out_of_date, mapping_dirs)
            versions["images"] = current["images"]
        if "skymaps" in parts:
            _load_skymaps(datasets, report, "skymaps" in out_of_date)
            versions["skymaps"] = current["skymaps"]

        report.seconds = time.monotonic() - t0
        if set(parts) >= set(PARTS) or previous is not None:
            record = {"version": 2, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                      "registry": str(registry_path), "index": str(index_path), **asdict(report),
                      "versions": {key: value for key, value in versions.items() if value is not None}}
            write_atomic(datasets / MARKER, json.dumps(record, indent=2), mode=0o644)
    log(f"sample data: {report.summary()}")
    return report


def _load_catalogs(reg, keep_replaced_s: float, report: SampleReport, log: Callable[[str], None], recorded: dict,
                   current: dict) -> dict[str, str | None]:
    """Remove the catalogue versions replaced over ``keep_replaced_s`` ago, then ingest each of :data:`CATALOGS`
    not yet in the registry ``reg``, and again each whose ``recorded`` version is not its ``current`` one; returns
    the versions to record."""
    from platform_lib.catalogs import ingest, remove_replaced

    removed = remove_replaced(reg, keep_replaced_s)
    if removed:
        log(f"sample data: removed {len(removed)} replaced catalogue version(s) no query reads any more")
    present = {c.name for c in reg.catalogs()}
    versions = {}
    for cat in CATALOGS:
        was = recorded.get(cat.key)
        rebuild = cat.name in present and was not in (current[cat.key], FOREIGN, None)
        if cat.name in present and not rebuild:
            report.catalogs_present.append(cat.name)
            versions[cat.key] = FOREIGN if was in (FOREIGN, None) else was
            continue
        try:
            table = cat.reader()
        except Exception as exc:  # a missing package: say so, load the rest
            report.missing.append(f"catalogue {cat.name}: {exc}")
            log(f"sample data: cannot read {cat.name}: {exc}")
            continue
        log(f"sample data: {'rebuilding' if rebuild else 'ingesting'} {cat.name} ({len(table)} rows)"
            + (" (its sources or the code that builds it changed; readers keep the old one until it is done)"
               if rebuild else ""))
        with tempfile.TemporaryDirectory(dir=Path(reg.path).parent, prefix=".sample-") as tmp:
            source = Path(tmp) / f"{cat.table}.parquet"  # astropy's Parquet keeps units, UCDs, descriptions
            table.write(source, format="parquet")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ingest(source, reg, name=cat.name, partition_rows=cat.partition_rows,
                       margin_arcsec=cat.margin_arcsec, replace=rebuild, keep_replaced_s=keep_replaced_s)
        (report.rebuilt if rebuild else report.catalogs_loaded).append(cat.name)
        versions[cat.key] = current[cat.key]
    return versions


def _load_images(images_root: Path, index_path: Path, update_index, report: SampleReport,
                 log: Callable[[str], None], rebuild: bool = False, mapping_dirs: list[Path] = ()) -> None:
    """Copy the packaged images not yet in ``<images_root>/sample/`` (all of them again when ``rebuild``: the
    index then reads each anew) and update the archive's index, with the operator's ``mapping_dirs``."""
    found, missing = packaged_images()
    report.missing += [f"image {image.name}: {why}" for image, why in missing]
    if rebuild:
        report.rebuilt.append("images")
    for image, path in found:
        dest = images_root / IMAGE_FOLDER / f"{image.name}.fits"
        if dest.exists() and not rebuild:
            report.images_present.append(image.name)
            continue
        copy_sample(path, dest)
        report.images_loaded.append(image.name)
    if report.images_loaded or not index_path.exists():
        what = "image(s) copied again" if rebuild else "new image(s)"
        log(f"sample data: indexing {len(report.images_loaded)} {what} into {index_path}")
        done = update_index(index_path, images_root, mapping_dirs=list(mapping_dirs), workers=1, lock_timeout=300)
        if done.rederived:
            log(f"sample data: the index was made by older code: its {done.indexed} images read again "
                f"({done.seconds:.1f} s)")


def _load_skymaps(datasets: Path, report: SampleReport, rebuild: bool = False) -> None:
    """Copy the packaged sky maps not yet in ``<datasets>/skymaps/`` (all of them again when ``rebuild``)."""
    found, missing = packaged_skymaps()
    report.missing += [f"sky map {skymap.name}: {why}" for skymap, why in missing]
    if rebuild:
        report.rebuilt.append("skymaps")
    for skymap, path in found:
        dest = datasets / SKYMAP_FOLDER / skymap.name
        if dest.exists() and not rebuild:
            report.skymaps_present.append(skymap.name)
            continue
        copy_sample(path, dest, fits_image=False)
        report.skymaps_loaded.append(skymap.name)
