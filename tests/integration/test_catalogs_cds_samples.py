"""Every CDS/MRT sample of astropy's test data that astropy can read ingests, and gives astropy's rows (issue 17, item 4).

The samples are astropy's own (``astropy/io/ascii/tests/data``): VizieR ReadMes with their data
files, data split into numbered parts (plain and gzipped), a glob name (``*refs.dat``), a ReadMe
named ``ReadMe1``, single files carrying their own header (AAS MRT, CDS tables with the ReadMe on
top). The reference is ``astropy.io.ascii`` reading the same file; the two samples astropy cannot
read (a layout that contradicts its data, a split file with a part missing) must be refused with a
clear error naming the file, and leave nothing registered.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import astropy
import numpy as np
import pyarrow.parquet as pq
import pytest
from astropy.io import ascii

from platform_lib.catalogs import BadReadme, Registry, ingest

DATA = Path(astropy.__file__).parent / "io" / "ascii" / "tests" / "data"

# (what to ingest, {table: (data file given to astropy, readme or None)})
READABLE = {
    "cds.dat": {"cds": ("cds.dat", None)},
    "cds2.dat": {"cds2": ("cds2.dat", None)},
    "cdsFunctional.dat": {"cdsFunctional": ("cdsFunctional.dat", None)},
    "cdsFunctional2.dat": {"cdsFunctional2": ("cdsFunctional2.dat", None)},
    "cds_mrt_dashes.txt": {"cds_mrt_dashes": ("cds_mrt_dashes.txt", None)},
    "cds/datasplitcomplete": {"table1": ("table1.dat", "ReadMe")},
    "cds/datasplitcompletegz": {"table1": ("table1.dat", "ReadMe")},
    "cds/description": {"table": ("table.dat", "ReadMe")},
    "cds/glob": {"lmxbrefs": ("lmxbrefs.dat", "ReadMe")},
    "cds/multi": {"lhs2065": ("lhs2065.dat", "ReadMe"), "lp944-20": ("lp944-20.dat", "ReadMe")},
    "cds/null/ReadMe": {"table": ("table.dat", "ReadMe")},
    "cds/null/ReadMe1": {"table1": ("table1.dat", "ReadMe1")},
    "vizier": {"table1": ("table1.dat", "ReadMe"), "table5": ("table5.dat.gz", "ReadMe")},
}


@pytest.fixture
def registry(tmp_path) -> Registry:
    return Registry(tmp_path / "catalogs" / "registry.sqlite")


def _copy(sample: str, tmp_path: Path) -> Path:
    src = DATA / sample
    if src.is_file() and src.name.startswith("ReadMe"):
        shutil.copytree(src.parent, tmp_path / src.parent.name)
        return tmp_path / src.parent.name / src.name
    if src.is_dir():
        shutil.copytree(src, tmp_path / src.name)
        return tmp_path / src.name
    shutil.copy(src, tmp_path / src.name)
    return tmp_path / src.name


def _stored(info) -> "pyarrow.Table":
    if info.data_path is not None:
        return pq.read_table(info.data_path)
    from platform_lib.catalogs._hats import read_layout

    return pq.read_table(read_layout(info.hats_path).root / "dataset")  # the catalogue of the HATS collection


@pytest.mark.parametrize("sample", sorted(READABLE))
def test_sample_ingests_with_astropys_rows(sample, registry, tmp_path):
    source = _copy(sample, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing data files of a ReadMe, lsdb chatter
        cat = ingest(source, registry)
    assert set(cat.tables) == set(READABLE[sample])
    folder = (DATA / sample).parent if (DATA / sample).is_file() else DATA / sample
    for table, (data, readme) in READABLE[sample].items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ascii.read(str(folder / data), format="cds", **({"readme": str(folder / readme)} if readme else {}))
        info = registry.get(f"{cat.name}/{table}")
        stored = _stored(info)
        assert info.nrows == len(ref) == stored.num_rows
        assert set(ref.colnames) <= set(stored.column_names)
        for name in ref.colnames:
            col = ref[name]
            if col.dtype.kind in "fi":
                want = np.sort(np.ma.filled(np.ma.asarray(col, dtype=float), np.nan))
                got = np.sort(stored[name].to_numpy(zero_copy_only=False).astype(float))
                np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True, err_msg=f"{table}.{name}")
            if col.unit is not None:
                assert info.column(name).unit, f"{table}.{name} lost its unit"


@pytest.mark.parametrize("sample, match", [
    ("cds_malformed.dat", r"cds_malformed\.dat: the byte-by-byte description .* does not fit its data"),
    ("cds/datasplitincomplete", r"J/A\+A/603/A43: cannot read 'table1\.dat'.*not consecutive"),
])
def test_samples_astropy_cannot_read_are_refused_clearly(sample, match, registry, tmp_path):
    source = _copy(sample, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(BadReadme, match=match):
            ingest(source, registry)
    assert registry.catalogs() == []
