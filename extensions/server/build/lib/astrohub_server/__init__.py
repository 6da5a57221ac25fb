"""astrohub's side of a user's Jupyter server (a Jupyter server extension).

Owns the warm kernels (:mod:`astrohub_server.kernels`): when the server starts it launches
``WarmKernels.count`` kernels of the default kernelspec in the background, and the first
kernels a notebook asks for adopt them instead of starting a new Python process (~1.5 s
each here). May import jupyter_server, jupyter_client and traitlets; never ``platform_lib``
or JupyterHub, so it runs in any user image. Enabled by the spawner
(``--ServerApp.jpserver_extensions=astrohub_server=True``); loading it has no effect
until the server calls :func:`_load_jupyter_server_extension`.
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
    from astrohub_server.kernels import WarmKernels

    WarmKernels.instance(parent=serverapp).start(serverapp)
