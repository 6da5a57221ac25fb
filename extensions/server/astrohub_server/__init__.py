"""astrohub's side of a user's Jupyter server (a Jupyter server extension).

Owns the user's package layer (:mod:`astrohub_server.packages`: the folder ``%pip install`` writes to,
prepared at server start, and the kernels' ``%pip``, which says when pip cannot reach its index:
:mod:`astrohub_server.pipmagic`), the seeding of the user's numba cache (:mod:`astrohub_server.numbacache`), the links that show
datasets, scratch, groups and workspaces in the file browser (:mod:`astrohub_server.folders`)
and the warm kernels (:mod:`astrohub_server.kernels`): when the server starts it keeps
``WarmKernels.count`` kernels of the default kernelspec started in the background, and the next
kernels a notebook asks for adopt them instead of starting a new Python process (~1.5 s each
here). When dask_labextension's own server extension is turned off, it also serves the Dask
sidebar's routes and imports dask_labextension on their first request
(:mod:`astrohub_server.dask_sidebar`), so the server is ready ~1 s sooner. At start it copies the
platform's tutorials into the user's home, keeping the user's edits (:mod:`astrohub_server.tutorials`),
and the first time it does, has Lab open getting-started on that first sign-in (:mod:`astrohub_server.workspace`),
and names the file every kernel runs at start (:mod:`astrohub_server.kernelstartup`). A path the user may
not read is refused by the contents API with a 403, not a 500, a save into a folder that is gone with a 404,
a file saved onto a folder's path with a 400 (:mod:`astrohub_server.contents`), a body that is not UTF-8, not a JSON
object or lacks what the route reads, to any of the server's JSON API routes, with a 400 naming the problem, given
once every extension has added its routes (:mod:`astrohub_server.json_bodies`), and a save that would pass a space's quota with a 413
(:mod:`astrohub_server.quotas`); a large upload is written whole or not at all (:mod:`astrohub_server.uploads`).
It reports busy kernels, running Dask clusters and background jobs to the hub as activity, so the hub's
idle culler spares them, and warns before a cull (:mod:`astrohub_server.activity`). It serves the FITS viewer that
Lab's ``astrohub`` extension (its FITS viewer plugin) opens for a ``.fits`` file: its HDUs, image, table and
header, read and drawn here (:mod:`astrohub_server.fitsview`). jupyter-server-proxy's ``proxy/<port>/`` reaches only
ports of the user's own account, so another user's kernel dashboard is not readable through this server
(:mod:`astrohub_server.proxyports`); and the Dask clusters its kernels start serve their dashboards on Unix
sockets only the user can reach, proxied by this server (:mod:`astrohub_server.dask_sockets`).

May import jupyter_server, jupyter_client, nbformat, tornado and traitlets; never ``platform_lib`` or
JupyterHub, so it runs in any user image. Enabled by ``astrohub_hub``'s local spawner
(``--ServerApp.jpserver_extensions=astrohub_server=True``) or, in the user image, by the
``jupyter_server_config.d`` file its installation writes. Importing it has no side effects.
"""

from __future__ import annotations

__all__ = ["WarmKernels", "WarmProvisioner"]


def __getattr__(name: str):
    if name in __all__:
        from astrohub_server import kernels

        return getattr(kernels, name)
    raise AttributeError(f"module 'astrohub_server' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "astrohub_server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    import importlib.util
    import threading

    from astrohub_server.activity import Activity
    from astrohub_server.contents import (refuse_file_over_folder, refuse_gone_links, refuse_missing_folder,
                                          refuse_unreadable)
    from astrohub_server.dask_sockets import use_private_dashboards
    from astrohub_server.fitsview import register as serve_fits_viewer
    from astrohub_server.folders import link_spaces
    from astrohub_server.kernelstartup import use_kernel_startup
    from astrohub_server.kernels import WarmKernels
    from astrohub_server.numbacache import seed_numba_cache
    from astrohub_server.proxyports import register as proxy_own_ports_only
    from astrohub_server.packages import prepare_layer
    from astrohub_server.pipmagic import use_terminal_pip
    from astrohub_server.quotas import check, enforce_quotas
    from astrohub_server.tutorials import Tutorials
    from astrohub_server.uploads import atomic_uploads, remove_abandoned_under

    proxy_own_ports_only(serverapp)  # no other account's port through proxy/ (astrohub_server.proxyports)
    use_kernel_startup()  # every kernel's startup file, before the first kernel (astrohub_server.kernelstartup)
    # kernels' Dask dashboards on private sockets, not TCP (astrohub_server.dask_sockets)
    use_private_dashboards(base_url=serverapp.base_url)
    prepare_layer()  # the user's %pip layer and the platform's pins (astrohub_server.packages)
    use_terminal_pip()  # a terminal's pip is this server's, with %pip's notes (astrohub_server.pipmagic)
    seed_numba_cache()  # the platform's compiled crossmatch kernel (astrohub_server.numbacache)
    Tutorials.instance(parent=serverapp).start(serverapp)
    link_spaces()  # datasets, scratch, groups and workspaces in the file browser (astrohub_server.folders)
    refuse_unreadable(serverapp.contents_manager)  # a link to what the user may not read: 403, not 500
    enforce_quotas(serverapp.contents_manager)  # Lab's saves keep to the spaces' quotas (astrohub_server.quotas)
    atomic_uploads(serverapp.contents_manager, check)  # a large upload whole or not at all (astrohub_server.uploads)
    threading.Thread(target=remove_abandoned_under, args=(serverapp.root_dir,), daemon=True,
                     name="astrohub-abandoned-uploads").start()
    refuse_missing_folder(serverapp.contents_manager)  # a save into a folder a teammate removed: 404, not 500
    refuse_gone_links(serverapp.contents_manager)  # a deleted group's or workspace's link: 410 saying so, not 400
    refuse_file_over_folder(serverapp.contents_manager)  # a file saved onto a folder's path: 400, not 500
    serve_fits_viewer(serverapp)  # what Lab's FITS viewer tab shows (astrohub_server.fitsview)
    WarmKernels.instance(parent=serverapp).start(serverapp)
    Activity.instance(parent=serverapp).start(serverapp)  # busy work counts as activity (activity-aware culling)
    if serverapp.jpserver_extensions.get("dask_labextension") is False and importlib.util.find_spec("dask_labextension"):
        from astrohub_server import dask_sidebar

        dask_sidebar.register(serverapp)


async def _start_jupyter_server_extension(serverapp) -> None:
    """Once every extension has added its routes: their JSON bodies checked (astrohub_server.json_bodies)."""
    from astrohub_server import json_bodies

    json_bodies.register(serverapp)  # a bad body to any JSON API route: a 400 naming the problem, not a 500
