"""Run by every IPython kernel of the user's server when it starts (``PYTHONSTARTUP``; see ``kernelstartup``).

It runs in the user's namespace and leaves nothing there. It makes ``%pip``
:mod:`astrohub_server.pipmagic`'s (a clear message when pip cannot reach its package index). It also
installs platform_lib's import hook that makes astropy write VOTable TABLEDATA with its Python writer
(:func:`platform_lib.votable.use_python_tabledata_writer`: astropy 8.0.2's C writer writes past its buffer
and the kernel later crashes) and those that point pyvo's DataLink vocabulary and ipyaladin's widget at the
platform's copies (:func:`platform_lib.offline.use_offline_copies`: both reach for the internet, so an SIA
record's ``getdataset()`` failed and ``ipyaladin.Aladin()`` stayed blank), which import platform_lib's package
(~0.1 s) but not astropy, pyvo or ipyaladin. Importing platform_lib's package also installs its fixes of
dask-gateway's client (:func:`platform_lib.gateway.use_gateway_client_fixes`, an import hook: a closed Gateway
collected without "Exception ignored in: <function Gateway.__del__ ...>", a member's ``shutdown()`` of a shared
cluster refused aloud), whenever the user imports dask_gateway. A kernel without platform_lib (another user image) or a plain
``python`` (no IPython) is left as it is. Imported as a module it does nothing.
"""


def _astrohub_kernel_startup(namespace):
    get_ipython = namespace.get("get_ipython")
    if get_ipython is None or get_ipython() is None:
        return
    shell = get_ipython()

    try:  # %pip says so when pip cannot reach its package index (no internet), not only "no matching distribution"
        from astrohub_server.pipmagic import register
    except ImportError:
        pass
    else:
        register(shell)

    try:  # astropy 8.0.2's C TABLEDATA writer writes past its buffer: platform_lib.votable (an import hook);
        # pyvo's DataLink vocabulary and ipyaladin's Aladin Lite come from the internet: platform_lib.offline (hooks);
        # importing platform_lib installs platform_lib.gateway's fixes of dask-gateway's client too (a hook)
        from platform_lib.offline import use_offline_copies
        from platform_lib.votable import use_python_tabledata_writer
    except ImportError:
        return
    use_python_tabledata_writer()
    use_offline_copies()


_astrohub_kernel_startup(globals())
del _astrohub_kernel_startup
