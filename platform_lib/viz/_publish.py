"""A user's own HiPS on the archive: built in the notebook (on the user's Dask cluster) from a job's
output or any catalogue, sent to the archive with the user's token, shown from the archive's URL.

The archive keeps it at ``hips/~/<name>/`` (``<name>`` ends in a random key: the URL is the credential,
as for the archive's anonymous UWS jobs, since Aladin Lite fetches tiles without a token), lists it
only to its owner and lets only its owner delete it (:mod:`astrohub_archive.userhips`). The HiPS goes as
one tar (gzipped past :data:`PLAIN_TAR_MAX`), written to a hidden file beside the HiPS folder and streamed from there (never whole in
memory; the archive streams it to disk too, up to its ``--hips-upload-max``, 2 GiB by default). A user's
HiPS on the archive hold at most their budget between them (the archive's ``--hips-owner-max``, 4 GiB by
default, unpacked): an upload past it is refused naming it, and :func:`my_hips` says the bytes used and the
budget. May import
``platform_lib.retrieval`` (the HTTP session carrying the user's token), ``platform_lib.settings`` and
this package's modules.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import stat
import tarfile
import tempfile
import threading
import warnings
from pathlib import Path
from urllib.parse import quote

from platform_lib.viz._errors import HipsError
from platform_lib.viz._hips import given_hips_path

__all__ = ["TableHips", "delete_hips", "job_hips", "my_hips", "share_hips", "start_table_hips", "table_hips", "unshare_hips",
           "upload_hips", "upload_rest"]

#: Seconds an upload may take (a large HiPS over a slow link).
UPLOAD_TIMEOUT = 600.0


def _service(settings) -> tuple[str, object]:
    from platform_lib.retrieval import make_session
    from platform_lib.settings import get_settings

    settings = settings or get_settings()
    if not settings.archive_url:
        raise HipsError("this platform has no archive service (settings.archive_url is empty): nowhere to "
                        "serve the HiPS from", value="archive_url")
    if not settings.api_token:
        raise HipsError("no API token (settings.api_token, PLATFORM_API_TOKEN): the archive keeps your own "
                        "HiPS only for a signed-in user", value="api_token")
    base = settings.archive_url.rstrip("/") + "/hips/~/"
    return base, make_session(settings, retries=1, timeout=UPLOAD_TIMEOUT)


def _answer(response, what: str):
    if response.status_code >= 400:
        raise HipsError(f"the archive refused {what}: HTTP {response.status_code}: {response.text.strip()[:1000]}",
                        value=response.status_code)
    return response


def upload_hips(path: str | Path, *, title: str = "", settings=None) -> dict:
    """Send the HiPS folder ``path`` to the archive as the user's own; its record (``name``, ``title``,
    ``rows``, ``url``: the path the archive serves it at, ``hips/~/<name>/``).

    Examples
    --------
    >>> from platform_lib import viz                                           # doctest: +SKIP
    >>> viz.upload_hips(viz.build_catalog_hips(my_table, "~/hips/mine"))["url"]  # doctest: +SKIP
    '/services/archive/hips/~/mine-Q2xk.../'
    """
    root = given_hips_path(path)
    if not (root / "properties").is_file():
        raise HipsError(f"{root} is not a HiPS folder (no properties file)", value=str(root))
    base, session = _service(settings)
    return _send(session, base, root, {"title": title or root.name}, f"the HiPS {root}")


def upload_rest(name: str, path: str | Path, *, settings=None) -> dict:
    """Send the deeper orders of the user's HiPS ``name`` (whose first part the archive keeps, marked
    ``astrohub_building``: :func:`platform_lib.viz._hips.catalog_hips_parts`) from the folder ``path``, or the
    tar file ``path`` of its files (``rest_tar``); the archive puts them beside the first part's tiles and
    answers the HiPS's record, complete."""
    root = Path(path).expanduser()
    base, session = _service(settings)
    url, what = f"{base}{quote(name, safe='')}/rest", f"the rest of the HiPS {name!r}"
    if not root.is_file():
        return _send(session, url, root, {}, what)
    with contextlib.ExitStack() as stack:
        body = stack.enter_context(open(root, "rb"))
        if root.stat().st_size > PLAIN_TAR_MAX:  # gzipped, as _pack sends a folder this big
            gz = stack.enter_context(_tar_file(root))
            with gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=1) as out:
                shutil.copyfileobj(body, out, 1 << 20)
            body = gz
            body.seek(0)
        return _post(session, url, {}, body, what)


def _send(session, url: str, root: Path, params: dict, what: str) -> dict:
    """POST the tar of the folder ``root`` to ``url``; the archive's answer (JSON)."""
    with _tar_file(root) as body:
        _pack(root, body)
        body.seek(0)
        return _post(session, url, params, body, what)


def _post(session, url: str, params: dict, body, what: str) -> dict:
    """POST the tar file ``body`` (open, at its start) to ``url``; the archive's answer (JSON). A file:
    requests sends its size as Content-Length (the archive refuses one too big before it is sent) and streams
    it in blocks."""
    response = session.post(url, params=params, data=body, headers={"Content-Type": "application/x-tar"})
    return _answer(response, what).json()


#: A HiPS of at most this many bytes goes as a plain tar; a bigger one gzipped (level 1), so that it stays
#: under the archive's upload limit (``--hips-upload-max``, 2 GiB by default) as it did.
PLAIN_TAR_MAX = 512 * 2**20


def _pack(root: Path, body) -> None:
    """Write the tar of the files under ``root`` (paths relative to it) into ``body``: plain up to
    :data:`PLAIN_TAR_MAX` bytes (gzip took as long as building the HiPS of a 10^6-row table: a third of
    ``viz.show(table)``), with GNU headers made from one ``stat`` each (``tarfile.add``'s owner look-ups and
    PAX headers took as long again for the thousands of small tiles)."""
    files = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            st = os.stat(path)
            if stat.S_ISREG(st.st_mode):
                files.append((os.path.relpath(path, root), path, st))
    files.sort()
    mode = "w" if sum(st.st_size for _, _, st in files) <= PLAIN_TAR_MAX else "w:gz"
    with tarfile.open(fileobj=body, mode=mode, format=tarfile.GNU_FORMAT,
                      **({"compresslevel": 1} if mode == "w:gz" else {})) as tar:
        for arcname, path, st in files:
            info = tarfile.TarInfo(arcname)
            info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o644
            with open(path, "rb") as fh:
                tar.addfile(info, fh)


def _tar_file(root: Path):
    """A temporary file for the tar of ``root``: hidden beside it (the same disk as the HiPS, which fits),
    else in the temporary directory; removed when closed."""
    try:
        return tempfile.NamedTemporaryFile(prefix=f".{root.name}.", suffix=".tar.gz", dir=root.parent)
    except OSError:  # the folder above the HiPS is not writable
        return tempfile.NamedTemporaryFile(prefix=f"{root.name}.", suffix=".tar.gz")


class MyHips(list):
    """The user's own HiPS on the archive: a list of their records; ``used`` and ``budget``: the bytes they
    take on the archive between them and the most they may; ``total_used`` and ``total_budget``: the same
    for all users' HiPS together; ``room_left``: the most a new upload may unpack to now (both budgets,
    less what uploads under way hold). Each None where the archive does not say. ``shared``: other users'
    HiPS shared with a group of yours (``name``, ``title``, ``owner``, ``groups``, ``url``); ``shared_left_out``:
    why they are left out (the hub could not be asked for your groups: ``shared`` is then empty), else None.
    ``expired``: yours
    that the archive removed in the last day (``name``, ``title``, ``created``, ``expired``, ``reason``): a large
    table's HiPS whose deeper orders never came, its kernel stopped while sending them."""

    def __init__(self, records=(), used: int | None = None, budget: int | None = None,
                 total_used: int | None = None, total_budget: int | None = None,
                 room_left: int | None = None, shared=(), expired=(), shared_left_out: str | None = None) -> None:
        super().__init__(records)
        self.shared = list(shared)
        self.shared_left_out = shared_left_out
        self.expired = list(expired)
        self.used = used
        self.budget = budget
        self.total_used = total_used
        self.total_budget = total_budget
        self.room_left = room_left


def my_hips(*, settings=None) -> MyHips:
    """The user's own HiPS on the archive (``name``, ``title``, ``rows``, ``created``, ``bytes``, ``url``),
    a list whose ``used`` and ``budget`` say the bytes they take between them and the most they may
    (the archive's ``--hips-owner-max``; :func:`delete_hips` frees room), ``total_used`` and
    ``total_budget`` the same for all users' HiPS (``--hips-total-max``), and ``room_left`` the most a new
    upload may unpack to now.

    Examples
    --------
    >>> mine = viz.my_hips()                                   # doctest: +SKIP
    >>> f"{mine.used / 2**20:.0f} of {mine.budget / 2**20:.0f} MiB"  # doctest: +SKIP
    '312 of 4096 MiB'
    >>> f"{mine.room_left / 2**20:.0f} MiB left for the next"     # doctest: +SKIP
    '3784 MiB left for the next'
    """
    base, session = _service(settings)
    answer = _answer(session.get(base), "the list of your HiPS").json()
    left_out = answer.get("shared_with_me_left_out")
    if left_out:  # the hub could not say her groups: her own are listed, those shared with her not known
        warnings.warn(f"my_hips(): {left_out}", stacklevel=2)
    return MyHips(answer["hips"], answer.get("used"), answer.get("budget"), answer.get("total_used"),
                  answer.get("total_budget"), answer.get("room_left"), answer.get("shared_with_me", ()),
                  answer.get("expired", ()), left_out)


def delete_hips(name: str, *, settings=None) -> None:
    """Remove the user's own HiPS ``name`` from the archive."""
    base, session = _service(settings)
    _answer(session.delete(base + name), f"deleting HiPS {name!r}")


def _group_of(group: str | None, workspace: str | None) -> str:
    """The hub group a HiPS is shared with: ``group``, or the group ``ws-<workspace>`` that holds a shared
    workspace's read-write members (``astrohub workspaces``)."""
    if (group is None) == (workspace is None):
        raise HipsError("name one of group= (a hub group of yours) or workspace= (a shared workspace of yours)",
                        value=(group, workspace))
    name = group if group is not None else f"ws-{workspace}"
    if not isinstance(name, str) or not name or "/" in name:
        raise HipsError(f"{name!r} is not a group or workspace name", value=name)
    return name


def share_hips(name: str, *, group: str | None = None, workspace: str | None = None, settings=None) -> dict:
    """Share your HiPS ``name`` with a hub group you belong to, or a shared workspace of yours (its
    read-write members: the hub group ``ws-<workspace>``): its members see it in ``viz.my_hips().shared``
    and read it with their own token; anyone else's token is answered 404. The HiPS's record (``name``,
    ``groups``, ``url``).

    Examples
    --------
    >>> viz.share_hips(name, workspace="pleiades")["groups"]   # doctest: +SKIP
    ['ws-pleiades']
    """
    target = _group_of(group, workspace)
    base, session = _service(settings)
    return _answer(session.put(f"{base}{name}/shares/{quote(target, safe='')}"), f"sharing HiPS {name!r} with {target!r}").json()


def unshare_hips(name: str, *, group: str | None = None, workspace: str | None = None, settings=None) -> dict:
    """Stop sharing your HiPS ``name`` with a group (or workspace). Its members may have kept its URL, the key
    to its tiles, so the HiPS gets a new name: the returned record's ``url`` (the old one answers 404;
    :func:`job_hips` finds the new one by the record's ``id``)."""
    target = _group_of(group, workspace)
    base, session = _service(settings)
    return _answer(session.delete(f"{base}{name}/shares/{quote(target, safe='')}"),
                   f"unsharing HiPS {name!r} with {target!r}").json()


def job_hips(job, *, client=None, settings=None, n_per_tile: int = 200) -> str:
    """The archive's URL path (``.../hips/~/<name>/``) of a finished job's HiPS catalogue, built on
    ``client`` (default: the current ``distributed`` client, the user's dask-gateway cluster, else
    Dask here) from its output (a HATS catalogue: per partition, never whole in this process), sent
    to the archive once and remembered in the job's folder (``hips.json``).

    Examples
    --------
    >>> viz.show(job)                   # uses job_hips(job) for a HATS output   # doctest: +SKIP
    >>> viz.Aladin().add_catalog_hips(viz.job_hips(job))                          # doctest: +SKIP
    """
    from platform_lib.viz._build import build_catalog_hips
    from platform_lib.viz._inputs import job_result

    info = job.info()
    if info.get("state") != "succeeded":
        job_result(job)  # a VizError carrying the job's own state, progress or error
    record_path = Path(job.dir) / "hips.json"
    _service(settings)  # no archive or no token: say so before building
    if record_path.is_file():
        record = json.loads(record_path.read_text())
        if record.get("result") == info.get("result"):
            # the same HiPS, under a new name if unsharing gave it one (its id is the first name)
            for kept in my_hips(settings=settings):
                if record["name"] in (kept["name"], kept.get("id")):
                    return kept["url"]
    result = info.get("result")
    source = Path(result) if info.get("format") == "hats" else job_result(job)
    dest = Path(job.dir) / "hips"
    title = f"job {job.id} ({info.get('kind', 'result')})"
    build_catalog_hips(source, dest, title=title, n_per_tile=n_per_tile, client=client)
    record = upload_hips(dest, title=title, settings=settings)
    tmp = record_path.with_name(".hips.json.tmp")
    tmp.write_text(json.dumps({"name": record["name"], "url": record["url"], "result": result}))
    tmp.replace(record_path)
    return record["url"]


class TableHips:
    """A table's HiPS on the archive (:func:`start_table_hips`): ``url``, served from the moment the first part
    (the whole-sky orders) is kept; the deeper orders follow from a thread of this process (``done`` is set once
    they are kept, or failed: ``error``). :meth:`wait` waits for them."""

    def __init__(self, url: str, pending: bool = False) -> None:
        self.url = url
        self.error: HipsError | None = None
        self.done = threading.Event()
        if not pending:
            self.done.set()

    def wait(self, timeout: float | None = None) -> str:
        """The HiPS's URL path once it is whole on the archive; the :class:`HipsError` of its deeper orders when
        they could not be sent."""
        if not self.done.wait(timeout):
            raise HipsError(f"the deeper orders of {self.url} are still being sent after {timeout} s", value=timeout)
        if self.error is not None:
            raise self.error
        return self.url


def table_hips(table, *, title: str, magnitude: str | None = None, columns: list[str] | None = None,
               settings=None) -> str:
    """The archive's URL path of the HiPS catalogue of an in-memory ``table`` (astropy ``Table``): built here,
    in a temporary folder, and sent to the archive as the user's own HiPS, titled ``title`` and the table's
    fingerprint (a hash of all its columns, positions included), so the same table shown again reuses it
    (whichever kernel shows it) instead of sending it again. ``magnitude`` and ``columns`` as in
    :func:`~platform_lib.viz.build_catalog_hips`. A :class:`HipsError` when the platform has no archive or
    no token (said before anything is built), or the archive refuses it (the user's HiPS budget). Returns once
    the whole HiPS is on the archive; :func:`start_table_hips` returns as soon as its whole-sky orders are."""
    return start_table_hips(table, title=title, magnitude=magnitude, columns=columns, settings=settings).wait()


def start_table_hips(table, *, title: str, magnitude: str | None = None, columns: list[str] | None = None,
                     settings=None, on_error=None) -> TableHips:
    """:func:`table_hips` in two steps, so that a viewer shows the table within seconds: the whole-sky orders
    (:data:`~platform_lib.viz._hips.FIRST_PART_ORDER` and above) are built and sent before this returns, the
    deeper ones (most of the rows of a large table) in a thread of this process; the archive holds a request
    for a deeper tile until they are there. Its :class:`TableHips` (``url``; ``wait()``). ``on_error(message)``
    is told when the deeper orders could not be sent (the view then shows the brightest sources only)."""
    import hashlib

    import numpy as np

    from platform_lib.viz._build import table_hips_parts
    from platform_lib.viz._hips import BUILDING, hips_name, read_properties

    _service(settings)
    digest = hashlib.blake2b(digest_size=8)
    for name in table.colnames:  # all of them: build_catalog_hips finds the positions by its own rule
        col = table[name]
        digest.update(name.encode() + str(col.dtype).encode() + np.ascontiguousarray(col).tobytes())
        if getattr(col, "mask", None) is not None:
            digest.update(np.ascontiguousarray(np.ma.getmaskarray(col)).tobytes())
    titled = f"{title} [{len(table)} rows, {digest.hexdigest()}]"
    for kept in my_hips(settings=settings):
        if kept.get("title") == titled and not kept.get("building"):  # one still being sent may never be whole
            return TableHips(kept["url"])
    tmp = tempfile.mkdtemp(prefix="astrohub-table-hips-")
    parts = table_hips_parts(table, Path(tmp) / hips_name(title), title=titled, magnitude=magnitude, columns=columns)
    try:
        first = next(parts)
        record = upload_hips(first, title=titled, settings=settings)
        rest = BUILDING in read_properties(first / "properties")
    except BaseException:
        _remove(parts, tmp)
        raise
    if not rest:
        _remove(parts, tmp)
        return TableHips(record["url"])
    upload = TableHips(record["url"], pending=True)
    threading.Thread(target=_send_rest, args=(upload, parts, record["name"], tmp, settings, on_error,
                                              record.get("rest_expiry")),
                     name="astrohub-table-hips-rest", daemon=True).start()
    return upload


def _send_rest(upload: TableHips, parts, name: str, tmp: str, settings, on_error,
               expiry: float | None = None) -> None:
    """Build and send the deeper orders of ``upload`` (the thread of :func:`start_table_hips`), saying to the
    archive every quarter of ``expiry`` (its ``rest_expiry``: seconds without word after which it drops the first
    part) that they are still being built or sent (:func:`_keep_alive`)."""
    alive = threading.Event()
    if expiry:
        threading.Thread(target=_keep_alive, args=(name, expiry / 4, settings, alive),
                         name="astrohub-table-hips-alive", daemon=True).start()
    try:
        upload_rest(name, next(parts), settings=settings)
    except Exception as exc:  # said to the caller's on_error and kept for wait()
        upload.error = HipsError(f"the deeper orders of the HiPS {name!r} could not be sent to the archive ({exc}): "
                                 "the view shows the brightest sources of each region only; show the table again "
                                 "to retry", value=name)
        if on_error is not None:
            on_error(str(upload.error))
    finally:
        alive.set()
        upload.done.set()
        _remove(parts, tmp)


def _keep_alive(name: str, every: float, settings, done: threading.Event) -> None:
    """``PUT hips/~/<name>/rest`` every ``every`` seconds until ``done``: this kernel still builds or sends the
    deeper orders, so the archive keeps the first part however long they take. Stops once the archive answers
    that it waits for nothing (404: gone, 409: whole); a failed call is tried again at the next beat."""
    base, session = _service(settings)
    url = f"{base}{quote(name, safe='')}/rest"
    while not done.wait(every):
        try:
            status = session.put(url, timeout=max(every, 1.0)).status_code
        except Exception:  # the archive restarting, say: the next beat tries again
            continue
        if status in (404, 409):
            return


def _remove(parts, tmp: str) -> None:
    """Close the build ``parts`` and remove its folder ``tmp`` in a thread (the thousands of tiles of a 10^6-row
    table: up to seconds)."""
    parts.close()
    threading.Thread(target=shutil.rmtree, args=(tmp,), kwargs={"ignore_errors": True},
                     name="astrohub-table-hips-cleanup").start()
