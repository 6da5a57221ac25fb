"""Warm kernels: a notebook's kernel is a Python process started before anyone asked for it.

A Python kernel takes ~1.5 s to start here (its imports), and a user who has just started their
server opens a notebook at once, so that wait is most of "start my server -> my code runs".
:class:`WarmKernels` keeps ``count`` kernels of the default kernelspec running in the background,
launched when the server starts and replaced as they are used; :class:`WarmProvisioner`, the kernel
provisioner this extension makes the default (a ``jupyter_client.kernel_provisioners`` entry
point), hands a warm kernel to the next kernel the server starts instead of launching a process.

Adopting a warm kernel makes it the kernel that would have started: it moves to the requested
working directory (and ``sys.path`` entry) and gets the notebook's ``JPY_SESSION_NAME`` /
``__session__`` through one silent execute request, which neither counts nor stores history; its
connection (ports, key) becomes the kernel manager's own, so restarts, interrupts and shutdown are
the local provisioner's, unchanged. A restart launches a fresh process, as always. Warm kernels are
not listed in ``/api/kernels`` and are not culled; they end with the server (``atexit``, and each
kernel's own parent-process check). A warm kernel that died or does not answer is dropped and the
kernel starts the usual way, with a warning in the server's log.

Not warmed: kernelspecs other than the default one, kernelspecs that name their own provisioner,
servers that configure another default provisioner (logged). With CurveZMQ transport encryption
(``KernelManager.transport_encryption``, on for every server that runs as its user's system account) a warm
kernel is launched with its own keys, which become the adopting manager's with the rest of its connection.
May import jupyter_client, jupyter_server, traitlets and this package's ``packages``, ``numbacache`` and
``kernelstartup`` only.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import sys
import uuid
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner
from jupyter_client.provisioning.provisioner_base import KernelProvisionerBase
from traitlets import Float, Integer
from traitlets.config import SingletonConfigurable

__all__ = ["PROVISIONER_NAME", "WarmKernels", "WarmProvisioner", "prelaunch", "settle_code"]

#: This provisioner's entry-point name (``jupyter_client.kernel_provisioners``).
PROVISIONER_NAME = "astrohub-warm"
_LOCAL = "local-provisioner"
#: Kernels started by :func:`prelaunch`, before the server existed; :meth:`WarmKernels.start` takes them.
_PRELAUNCHED: list[Any] = []


def prelaunch(kernel_name: str = "python3", transport_encryption: str = "disabled") -> None:
    """Start the first warm kernel now, in the server's process before its own imports (~2 s here).

    The user server's command calls this first (``astrohub_hub``'s spawner does), so the kernel
    starts while the server does; :meth:`WarmKernels.start` adopts it, or ends it if the server's
    settings do not allow warm kernels or name another ``transport_encryption`` (the spawner passes the
    server's ``KernelManager.transport_encryption``: a kernel without the server's CurveZMQ keys would be one
    any local user can listen to). Never raises: a kernel that cannot start is reported on
    stderr and the server starts as usual.
    """
    from astrohub_server.dask_sockets import use_private_dashboards
    from astrohub_server.kernelstartup import use_kernel_startup
    from astrohub_server.numbacache import seed_numba_cache
    from astrohub_server.packages import prepare_layer

    use_kernel_startup()  # the kernels' startup file (astrohub_server.kernelstartup)
    use_private_dashboards()  # their Dask dashboards on private sockets (astrohub_server.dask_sockets)
    prepare_layer()  # before the kernel, so its import system sees the layer's folder
    seed_numba_cache()  # and its first crossmatch finds the compiled kernel
    try:
        from jupyter_client.manager import KernelManager

        km = KernelManager(kernel_name=kernel_name, transport_encryption=transport_encryption)
        km.start_kernel(cwd=os.getcwd())
    except Exception as exc:  # noqa: BLE001 - the server must start regardless
        print(f"astrohub_server: no early warm kernel ({exc})", file=sys.stderr)
        return
    _PRELAUNCHED.append(km)
    atexit.register(_end_prelaunched)


def _end_prelaunched() -> None:
    while _PRELAUNCHED:
        _end(_PRELAUNCHED.pop())


def settle_code(cwd: str, session: str | None) -> str:
    """The silent code that makes a warm kernel the one requested: its folder and session name.

    Examples
    --------
    >>> "_astrohub_settle('/home/ann/work', None)" in settle_code("/home/ann/work", None)
    True
    """
    return "\n".join([
        "def _astrohub_settle(cwd, session):",
        "    import os, sys",
        "    old = os.getcwd()",
        "    os.chdir(cwd)",
        "    sys.path[:] = [cwd if entry == old else entry for entry in sys.path]",
        "    shell = get_ipython()",
        "    dh = shell.user_ns.get('_dh')",
        "    if isinstance(dh, list):",
        "        dh[:] = [type(dh[0])(cwd) if dh else cwd]",
        "    if session:",
        "        os.environ['JPY_SESSION_NAME'] = session",
        "        shell.user_ns['__session__'] = session",
        f"_astrohub_settle({cwd!r}, {session!r})",
        "del _astrohub_settle",
    ])


class WarmKernels(SingletonConfigurable):
    """The server's warm kernels: started with the server, taken by :class:`WarmProvisioner`."""

    count = Integer(
        1,
        min=0,
        help="Kernels of the default kernelspec kept started and idle, so a new notebook's kernel is "
        "ready at once. Each costs one idle Python process (~50 MB resident). 0 turns warm kernels off.",
    ).tag(config=True)
    settle_timeout = Float(
        60.0,
        help="Seconds a warm kernel has to answer when it is taken (it may still be starting); "
        "after that it is dropped and the kernel starts the usual way.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kernel_manager = None  # the server's MappingKernelManager, once started
        self._ready: list[Any] = []  # started kernel managers, oldest first
        self._starting = 0
        self._tasks: set[asyncio.Task] = set()

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, serverapp) -> None:
        """Make :class:`WarmProvisioner` the default provisioner and launch the warm kernels."""
        manager = serverapp.kernel_manager
        why_not = self._cannot_warm(manager)
        if why_not:
            self.log.info("astrohub_server | no warm kernels: %s", why_not)
            _end_prelaunched()
            return
        KernelProvisionerFactory.instance(parent=manager).default_provisioner_name = PROVISIONER_NAME
        self._kernel_manager = manager
        atexit.register(self.stop)
        while _PRELAUNCHED:
            km = _PRELAUNCHED.pop(0)
            if (km.kernel_name == manager.default_kernel_name and len(self._ready) < self.count
                    and km.transport_encryption == _transport_encryption(serverapp.config)):
                self._ready.append(km)
            else:
                _end(km)
        serverapp.io_loop.add_callback(self.fill)

    def _cannot_warm(self, manager) -> str | None:
        if self.count == 0:
            return "WarmKernels.count = 0"
        factory = KernelProvisionerFactory.instance(parent=manager)
        if factory.default_provisioner_name not in (_LOCAL, PROVISIONER_NAME):
            return f"another default provisioner is configured ({factory.default_provisioner_name!r})"
        try:
            spec = manager.kernel_spec_manager.get_kernel_spec(manager.default_kernel_name)
        except Exception as exc:  # noqa: BLE001 - any kernelspec problem: start kernels the usual way
            return f"the default kernelspec {manager.default_kernel_name!r} cannot be read ({exc})"
        if spec.metadata.get("kernel_provisioner"):
            return f"the kernelspec {manager.default_kernel_name!r} names its own provisioner"
        return None

    async def fill(self) -> None:
        """Launch kernels until ``count`` are ready or starting."""
        while self._kernel_manager is not None and len(self._ready) + self._starting < self.count:
            self._starting += 1
            try:
                self._ready.append(await self._launch())
            except Exception as exc:  # noqa: BLE001 - a failed warm kernel must not break the server
                self.log.warning("astrohub_server | could not start a warm kernel (%s); kernels start the usual way", exc)
                return
            finally:
                self._starting -= 1

    async def _launch(self):
        manager = self._kernel_manager
        kernel_id = str(uuid.uuid4())
        # No restarter: a warm kernel is watched by the kernel manager that adopts it. A restarter left
        # on this manager would see the adopted process as gone (see _release) and "restart" it on the
        # ports the adopted kernel holds: ZMQError "Address already in use", "restart failed", and,
        # once the adopted kernel ends and frees them, an orphan kernel nobody owns (~50 MB each).
        km = manager.kernel_manager_factory(
            connection_file=os.path.join(manager.connection_dir, f"kernel-{kernel_id}.json"),
            parent=manager, log=self.log, kernel_name=manager.default_kernel_name, autorestart=False,
        )
        km.provisioner = LocalProvisioner(kernel_id=kernel_id, kernel_spec=km.kernel_spec, parent=km)
        await km.start_kernel(kernel_id=kernel_id, cwd=manager.root_dir, env=dict(os.environ))
        self.log.debug("astrohub_server | warm kernel %s started (pid %s)", kernel_id, km.provisioner.pid)
        return km

    def stop(self) -> None:
        """End the warm kernels (at server exit)."""
        self._kernel_manager = None
        while self._ready:
            _end(self._ready.pop())

    # -- taking one ----------------------------------------------------------------------------------

    def take(self, kernel_name: str):
        """A started warm kernel manager of ``kernel_name``, or None; a replacement is launched."""
        if self._kernel_manager is None or kernel_name != self._kernel_manager.default_kernel_name:
            return None
        taken = None
        while self._ready and taken is None:
            km = self._ready.pop(0)
            if km.provisioner.process is not None and km.provisioner.process.poll() is None:
                taken = km
            else:
                self.log.warning("astrohub_server | warm kernel %s had exited; dropped", km.kernel_id)
                _end(km)
        task = asyncio.get_running_loop().create_task(self.fill())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return taken

    async def settle(self, km, cwd: str, session: str | None) -> None:
        """Move the warm kernel ``km`` to ``cwd`` and ``session``; raise if it does not answer."""
        # An async client whatever the manager (a prelaunched kernel's is the blocking one).
        # load_connection_info, not the constructor: the info's CurveZMQ keys (transport encryption) are text there,
        # and the client's traits take bytes.
        client = AsyncKernelClient(connection_file=km.connection_file, parent=km, session=km.session)
        client.load_connection_info(km.get_connection_info())
        client.start_channels()
        try:
            msg_id = client.execute(settle_code(cwd, session), silent=True, store_history=False)
            deadline = asyncio.get_running_loop().time() + self.settle_timeout
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    raise TimeoutError(f"no answer within {self.settle_timeout:.0f} s")
                reply = await client.get_shell_msg(timeout=remaining)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            if reply["content"].get("status") != "ok":
                raise RuntimeError(f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}")
        finally:
            client.stop_channels()


def _transport_encryption(config) -> str:
    """The server's ``KernelManager.transport_encryption`` (``disabled`` unless configured), lower case."""
    section = config.get("KernelManager") or {}
    return str(section.get("transport_encryption", "disabled")).lower()


def _end(km) -> None:
    """Stop a warm kernel's process (no state to save) and remove its connection file."""
    process = km.provisioner.process
    if process is not None and process.poll() is None:
        try:
            os.killpg(km.provisioner.pgid, signal.SIGKILL) if km.provisioner.pgid else process.kill()
        except OSError:
            pass
        process.wait(5)
    _release(km)


def _release(km) -> None:
    """Forget a warm kernel that another kernel manager adopted (the process keeps running)."""
    stop = getattr(km, "stop_restarter", None)
    if stop is not None:
        stop()  # never restart a process this manager no longer owns
    km.autorestart = False
    km._close_control_socket()
    km.cleanup_connection_file()
    km.provisioner.process = None


class WarmProvisioner(LocalProvisioner):
    """The local provisioner, except that a kernel's first launch adopts a warm kernel if one is ready."""

    _warm = None
    _launched = False

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is not None and not self._launched and not kwargs.get("extra_arguments") and WarmKernels.initialized():
            pool = WarmKernels.instance()
            warm = pool.take(km.kernel_name)
            if warm is not None:
                env = kwargs.get("env") or {}
                try:
                    await pool.settle(warm, kwargs.get("cwd") or os.getcwd(), env.get("JPY_SESSION_NAME"))
                except Exception as exc:  # noqa: BLE001 - fall back to a fresh kernel
                    self.log.warning("astrohub_server | warm kernel %s dropped (%s); starting a new one", warm.kernel_id, exc)
                    _end(warm)
                else:
                    self._warm = warm
                    kwargs.pop("extra_arguments", None)
                    kwargs.pop("transport_encryption", None)
                    return await KernelProvisionerBase.pre_launch(self, cmd=km.format_kernel_cmd(), **kwargs)
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        warm, self._warm = self._warm, None
        self._launched = True
        if warm is None:
            return await super().launch_kernel(cmd, **kwargs)
        source = warm.provisioner
        self.process, self.pid, self.pgid = source.process, source.pid, source.pgid
        self.ports_cached = source.ports_cached
        self.connection_info = source.connection_info
        self.cwd = kwargs.get("cwd") or source.cwd
        _release(warm)
        self.log.info("astrohub_server | kernel %s is warm kernel %s (pid %s)", self.kernel_id, warm.kernel_id, self.pid)
        return self.connection_info
