"""astrohub_archive.userhips: users' own HiPS kept by the archive (checked uploads, owners, names)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from astrohub_archive.userhips import MAX_PER_OWNER, UserHipsError, UserHipsStore, _unpack
from platform_lib import viz
from tar_bytes import tar_of  # tests/support/, on the path by tests/conftest.py


def _hips_tar(tmp_path) -> bytes:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"ra": rng.uniform(0, 360, 500), "dec": rng.uniform(-60, 60, 500), "gmag": rng.uniform(10, 20, 500)})
    root = viz.write_catalog_hips(df, tmp_path / "built", viz.CatalogHipsSpec("mine", n_per_tile=20),
                                  ra="ra", dec="dec", magnitude="gmag")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for item in sorted(root.rglob("*")):
            if item.is_file():
                tar.add(item, arcname=str(item.relative_to(root)))
    return buf.getvalue()


def test_an_upload_is_kept_under_a_random_name_for_its_owner_only(tmp_path):
    store = UserHipsStore(tmp_path / "hips")
    body = _hips_tar(tmp_path)
    a = store.add("ann", "my job", body)
    b = store.add("ann", "my job", body)
    assert a["name"] != b["name"] and a["name"].startswith("my-job-") and len(a["name"]) > len("my-job-") + 20
    assert a["rows"] == 500 and viz.validate_hips(store.root / a["name"]).rows == 500
    assert {h["name"] for h in store.listing("ann")} == {a["name"], b["name"]}
    assert store.listing("bob") == [] and store.owner_of(a["name"]) == "ann"
    with pytest.raises(UserHipsError) as err:
        store.delete("bob", a["name"])
    assert err.value.status == 404 and (store.root / a["name"] / "properties").exists()
    store.delete("ann", a["name"])
    assert [h["name"] for h in store.listing("ann")] == [b["name"]]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_a_hips_shared_with_a_group_is_read_by_its_members_until_unshared_under_a_new_key(tmp_path):
    from platform_lib.imageindex import Viewer

    store = UserHipsStore(tmp_path / "hips")
    ann, bob, cat = Viewer("ann", ("team", "other")), Viewer("bob", ("team",)), Viewer("cat", ("solo",))
    name = store.add("ann", "results", _hips_tar(tmp_path))["name"]
    assert store.readable(name, ann) and not store.readable(name, bob)
    for viewer, group, status in ((ann, "solo", 403), (bob, "team", 404), (ann, "../x", 400)):
        with pytest.raises(UserHipsError) as err:  # not a group of hers; not his HiPS; not a group name
            store.share(viewer, name, group)
        assert err.value.status == status
    assert store.share(ann, name, "team")["groups"] == ["team"]
    assert store.readable(name, bob) and not store.readable(name, cat)
    assert [(h["name"], h["owner"], h["groups"]) for h in store.shared_with(bob)] == [(name, "ann", ["team"])]
    assert store.shared_with(cat) == [] and store.shared_with(ann) == []
    assert store.listing("ann")[0]["groups"] == ["team"]
    with pytest.raises(UserHipsError) as err:  # only the owner unshares
        store.unshare("bob", name, "team")
    assert err.value.status == 404
    moved = store.unshare("ann", name, "team")
    # the members may have kept the URL, the key to its tiles: the HiPS has a new one, the same id
    assert moved["name"] != name and moved["name"].startswith("results-") and moved["groups"] == []
    assert not (store.root / name).exists() and store.record(name) is None
    assert [(h["name"], h["id"]) for h in store.listing("ann")] == [(moved["name"], name)]
    assert not store.readable(moved["name"], bob) and store.shared_with(bob) == []
    assert viz.validate_hips(store.root / moved["name"]).rows == 500
    with pytest.raises(UserHipsError) as err:
        store.unshare("ann", moved["name"], "team")
    assert err.value.status == 404 and "not shared with the group 'team'" in str(err.value)


def _with_tile(tmp_path, tile: bytes) -> bytes:
    """The tar of :func:`_hips_tar`'s HiPS with one more tile, ``Norder2/Dir0/Npix7.tsv``, holding ``tile``."""
    with tarfile.open(fileobj=io.BytesIO(_hips_tar(tmp_path))) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    return tar_of({**files, "Norder2/Dir0/Npix7.tsv": tile})


def test_bad_uploads_are_refused_and_leave_nothing(tmp_path):
    store = UserHipsStore(tmp_path / "hips")
    for body, message in ((b"no tar", "not a tar archive"), (tar_of({"../up": b"x"}), "outside its folder"),
                          (tar_of({"/etc/x": b"x"}), "outside its folder"),
                          (tar_of({"properties": b"dataproduct_type = catalog\n"}), "not a valid HiPS"),
                          # viz14: a tile not UTF-8 was a UnicodeDecodeError out of the check (an HTTP 500)
                          (_with_tile(tmp_path, b"ra\tdec\n--\t---\n1\t\xff\n"),
                           r"not a valid HiPS: Norder2/Dir0/Npix7.tsv is not UTF-8 text")):
        with pytest.raises(UserHipsError, match=message) as err:
            store.add("ann", "t", body)
        assert str(tmp_path) not in str(err.value)  # the answer never shows the server's folders
    link = io.BytesIO()
    with tarfile.open(fileobj=link, mode="w") as tar:
        info = tarfile.TarInfo("properties")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(UserHipsError, match="not a file or a folder"):
        _unpack(link.getvalue(), tmp_path / "x")
    assert store.listing("ann") == [] and not list(store.root.iterdir())


def test_each_owner_keeps_a_bounded_number(tmp_path, monkeypatch):
    import astrohub_archive.userhips as userhips

    monkeypatch.setattr(userhips, "MAX_PER_OWNER", 2)
    store = UserHipsStore(tmp_path / "hips")
    body = _hips_tar(tmp_path)
    store.add("ann", "a", body)
    store.add("ann", "b", body)
    with pytest.raises(UserHipsError) as err:
        store.add("ann", "c", body)
    assert err.value.status == 429 and "delete one" in str(err.value)
    store.add("bob", "c", body)  # another owner's own count
    assert MAX_PER_OWNER == 20


def test_leftovers_of_a_killed_archive_go_at_start_and_uploads_under_way_stay(tmp_path):
    """Spool files and unpacking folders (hidden, in ``~users``) that a killed archive left are removed by age;
    a recent one (an upload being written by another replica sharing the folder) and the HiPS stay."""
    import os
    import time

    store = UserHipsStore(tmp_path / "hips")
    kept = store.add("ann", "kept", _hips_tar(tmp_path))["name"]
    with store.spool() as old_spool, store.spool() as new_spool:
        old_spool.write(b"x")
    old_dir = store.root / ".job-abc.unpacking"
    (old_dir / "Norder1").mkdir(parents=True)
    hour_ago = time.time() - 2 * 3600
    for item in (Path(old_spool.name), old_dir):
        os.utime(item, (hour_ago, hour_ago))
    store.remove_leftovers(3600)
    assert sorted(p.name for p in store.root.iterdir()) == sorted([kept, Path(new_spool.name).name])
    assert Path(new_spool.name).name.startswith(".upload-")


def test_a_damaged_or_cut_short_tar_is_refused_400_not_an_internal_error(tmp_path):
    store = UserHipsStore(tmp_path / "hips")
    body = _hips_tar(tmp_path)
    half = len(body) // 2
    for damaged in (body[:half], body[:half] + bytes(b ^ 0xFF for b in body[half:half + 50]) + body[half + 50:]):
        with pytest.raises(UserHipsError, match="not a whole tar archive|not a valid HiPS") as err:
            store.add("ann", "t", damaged)
        assert err.value.status == 400
    assert store.listing("ann") == [] and not list(store.root.iterdir())


def _du(folder: Path) -> int:
    """The bytes ``folder`` takes on disk, as ``du`` counts them (the store's own count is checked against it)."""
    import subprocess

    return int(subprocess.run(["du", "-s", "-B1", str(folder)], check=True, capture_output=True, text=True)
               .stdout.split()[0])


def _file_bytes(body: bytes) -> int:
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as tar:
        return sum(m.size for m in tar if m.isfile())


def test_each_owner_keeps_a_bounded_number_of_bytes_on_disk(tmp_path):
    """One owner's HiPS hold at most their budget between them (unpacked bytes on disk, recorded at upload);
    an upload that does not fit is refused 413 saying the budget, the use and how to free room, and leaves
    nothing; another owner has a budget of their own; a removal frees room."""
    body = _hips_tar(tmp_path)
    probe = UserHipsStore(tmp_path / "probe")
    size = probe.add("ann", "probe", body)["bytes"]
    assert size == _du(probe.root / probe.listing("ann")[0]["name"]) and size >= _file_bytes(body)
    store = UserHipsStore(tmp_path / "hips", owner_max=size + size // 2)
    first = store.add("ann", "first", body)
    assert first["bytes"] == size and [h["bytes"] for h in store.listing("ann")] == [size]
    with pytest.raises(UserHipsError) as err:  # it unpacks to more than the room left: found while unpacking
        store.add("ann", "second", body)
    assert err.value.status == 413
    message = str(err.value)
    for said in ("the upload unpacks to at least", f"more than the {(size // 2) / 2**20:.1f} MiB left",
                 f"may hold {(size + size // 2) / 2**20:.1f} MiB between them and hold {size / 2**20:.1f} MiB",
                 "--hips-owner-max", "viz.delete_hips(name)"):
        assert said in message, message
    assert [h["name"] for h in store.listing("ann")] == [first["name"]]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]  # nothing kept of the refused one
    assert len(list(store.owners.glob("*.json"))) == 1
    store.add("bob", "his", body)  # another owner's own budget
    store.delete("ann", first["name"])
    assert store.add("ann", "again", body)["bytes"] == size


def test_an_upload_whose_files_fit_but_whose_blocks_do_not_is_refused_after_unpacking(tmp_path):
    """The files' sizes fit the room left, the blocks they take on disk do not: the check on the unpacked
    folder, made under the store's lock just before keeping it, refuses it."""
    body = _hips_tar(tmp_path)
    files = _file_bytes(body)
    store = UserHipsStore(tmp_path / "hips", owner_max=files + 1)
    with pytest.raises(UserHipsError, match=r"the upload unpacks to [\d.]+ MiB, more than the") as err:
        store.add("ann", "t", body)
    assert err.value.status == 413 and store.listing("ann") == [] and not list(store.root.iterdir())


def test_a_spent_budget_refuses_before_unpacking_and_an_old_record_is_counted_from_disk_once(tmp_path, monkeypatch):
    import json

    import astrohub_archive.userhips as userhips

    body = _hips_tar(tmp_path)
    store = UserHipsStore(tmp_path / "hips")
    kept = store.add("ann", "old", body)
    record = store.owners / f"{kept['name']}.json"
    old = {k: v for k, v in json.loads(record.read_text()).items() if k != "bytes"}  # as written before budgets
    record.write_text(json.dumps(old))
    assert store.used("ann") == _du(store.root / kept["name"]) == kept["bytes"]
    assert json.loads(record.read_text())["bytes"] == kept["bytes"]  # written back: counted once
    monkeypatch.setattr(userhips, "disk_bytes", lambda folder: pytest.fail("counted from disk again"))
    assert store.listing("ann")[0]["bytes"] == kept["bytes"]
    store.owner_max = kept["bytes"]  # spent exactly
    with pytest.raises(UserHipsError, match=r"you \(ann\) have no room left for another HiPS: .*delete_hips") as err:
        store.add("ann", "more", body)
    assert err.value.status == 413 and len(store.listing("ann")) == 1


def test_all_users_hips_are_bounded_by_the_archives_total_budget(tmp_path, monkeypatch):
    """All users' HiPS together hold at most the archive's budget for them (``--hips-total-max``; each owner's
    own budget could not stop many users filling the disk): an upload past it is refused 507 naming the limit
    and how the operator raises it, leaves nothing, and a spent budget refuses before unpacking."""
    import astrohub_archive.userhips as userhips

    body = _hips_tar(tmp_path)
    size = UserHipsStore(tmp_path / "probe").add("ann", "probe", body)["bytes"]
    store = UserHipsStore(tmp_path / "hips", total_max=size + size // 2)
    assert store.owner_max == userhips.OWNER_MAX > store.total_max  # the owners' budgets are not what refuses
    first = store.add("ann", "first", body)
    with pytest.raises(UserHipsError) as err:  # bob's own budget is untouched: all users' is not
        store.add("bob", "his", body)
    assert err.value.status == 507
    message = str(err.value)
    for said in ("the upload unpacks to at least", f"the {(size // 2) / 2**20:.1f} MiB the archive has left",
                 f"may hold {(size + size // 2) / 2**20:.1f} MiB between them and hold {size / 2**20:.1f} MiB",
                 "operator raises", "--hips-total-max", "ASTROHUB_ARCHIVE_HIPS_TOTAL_MAX", "archive.hips.totalMaxMiB"):
        assert said in message, message
    assert store.listing("bob") == [] and [h["name"] for h in store.listing("ann")] == [first["name"]]
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]
    assert len(list(store.owners.glob("*.json"))) == 1
    assert store.total_used() == size
    store.total_max = size  # spent exactly: refused before a byte is unpacked
    monkeypatch.setattr(userhips, "_unpack", lambda *a, **k: pytest.fail("unpacked past a spent total budget"))
    with pytest.raises(UserHipsError, match=r"the archive has no room left for users' HiPS: .*--hips-total-max") as err:
        store.add("bob", "his", body)
    assert err.value.status == 507
    store.delete("ann", first["name"])  # frees room for everybody
    monkeypatch.undo()
    assert store.add("bob", "his", body)["bytes"] == size


@pytest.mark.parametrize("replicas", [1, 2])
def test_concurrent_uploads_of_several_users_together_stay_within_the_total_budget(tmp_path, monkeypatch, replicas):
    """Four users' uploads at once, each fitting what all users' HiPS have left, two at most together: an
    upload under way holds the bytes it has unpacked against the budget, so no more than the budget is ever
    unpacked at once, and what is kept stays within it; also when they reach two archive replicas sharing the
    folder (two stores: their thread locks are two, the file lock and the reservations are shared). Where
    only kept HiPS counted, all four were unpacked side by side (twice the room left), and only the check
    just before keeping refused two."""
    import os
    import threading

    import platform_lib.viz

    body = _hips_tar(tmp_path)
    size = UserHipsStore(tmp_path / "probe").add("ann", "probe", body)["bytes"]
    stores = [UserHipsStore(tmp_path / "hips", total_max=2 * size + size // 2) for _ in range(replicas)]
    store = stores[0]
    owners = ("ann", "bob", "cy", "di")
    arrived, count, peak = threading.Condition(), [0], [0]
    validate = platform_lib.viz.validate_hips

    def unpacked_bytes() -> int:  # the files' sizes under ~users: kept HiPS and uploads being unpacked
        return sum(os.path.getsize(os.path.join(top, f)) for top, _, files in os.walk(store.root) for f in files)

    def arrive() -> None:  # the last to arrive measures, while every other upload waits or has ended
        with arrived:
            count[0] += 1
            if count[0] == len(owners):
                peak[0] = unpacked_bytes()
            arrived.notify_all()

    def validate_once_all_unpacked_or_refused(folder):
        arrive()
        with arrived:
            arrived.wait_for(lambda: count[0] == len(owners), timeout=30)
        return validate(folder)

    monkeypatch.setattr(platform_lib.viz, "validate_hips", validate_once_all_unpacked_or_refused)
    results: dict[str, object] = {}

    def upload(owner: str, replica: UserHipsStore) -> None:
        try:
            results[owner] = replica.add(owner, owner, body)
        except UserHipsError as exc:
            results[owner] = exc
            arrive()

    threads = [threading.Thread(target=upload, args=(owner, stores[n % replicas])) for n, owner in enumerate(owners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    refused = [r for r in results.values() if isinstance(r, UserHipsError)]
    kept = [r for r in results.values() if isinstance(r, dict)]
    assert len(results) == 4 and 1 <= len(kept) <= 2, results
    assert all(r.status == 507 and "--hips-total-max" in str(r) for r in refused), refused
    assert 0 < peak[0] <= store.total_max, (peak[0], store.total_max)
    assert store.total_used() == len(kept) * size <= store.total_max
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]
    assert not list((store.owners / ".uploads").iterdir())  # every reservation released


@pytest.mark.parametrize("replicas", [1, 2])
def test_an_upload_under_way_holds_its_bytes_against_both_budgets_until_it_ends(tmp_path, replicas):
    """An upload whose body is still coming holds its declared length against its owner's budget and all
    users' (:meth:`UserHipsStore.reserve`, the handler's first step), in this archive and in a replica that
    shares the folder: another upload that would have fit is refused (413 by the owner's, 507 by all users'),
    before and while unpacking; kept, the upload counts as its HiPS (once); released, it counts no more."""
    body = _hips_tar(tmp_path)
    size = UserHipsStore(tmp_path / "probe").add("ann", "probe", body)["bytes"]
    here, there = (UserHipsStore(tmp_path / "hips", owner_max=size + size // 2, total_max=2 * size + size // 2)
                   for _ in range(2))
    there = there if replicas == 2 else here
    coming = here.reserve("ann", size)  # ann's body is arriving
    assert there.in_use("ann") == (size, size) and there.in_use("bob") == (0, size)
    assert there.room("ann")["room_left"] == size // 2 and there.room("ann")["used"] == 0
    with pytest.raises(UserHipsError, match=r"more than the [\d.]+ MiB left: .*uploads under way included") as err:
        there.reserve("ann", size)  # her second upload's declared length: her budget holds the first one's
    assert err.value.status == 413
    with pytest.raises(UserHipsError) as err:  # hers, unpacked: the same
        there.add("ann", "second", body)
    assert err.value.status == 413 and "the upload unpacks to at least" in str(err.value)
    bob = there.reserve("bob", size)  # all users' budget: room for bob's, then nobody's
    with pytest.raises(UserHipsError, match="counting the uploads under way") as err:
        there.add("cy", "hers", body)
    assert err.value.status == 507
    bob.release()
    bob.release()  # again: nothing
    kept = here.add("ann", "first", body, coming)
    assert there.in_use("ann") == (kept["bytes"], kept["bytes"]) and coming.bytes == 0  # counted once: as kept
    assert there.room("bob") == {"used": 0, "budget": here.owner_max, "total_used": size,
                                 "total_budget": here.total_max, "room_left": size + size // 2}
    assert there.add("cy", "hers", body)["bytes"] == size
    assert not list((here.owners / ".uploads").iterdir())


@contextlib.contextmanager
def _reserved_in_another_process(hips, owner: str, size: int, posix_locks: bool = False):
    """Another archive process (a replica on the same folder) holding ``owner``'s reservation of ``size``
    bytes for the ``with`` block, then killed (as an archive can be mid-upload); ``posix_locks``: its
    store's ``flock`` is ``lockf``, as on an NFS claim."""
    lockf = ("userhips.fcntl = type('P', (), {'flock': staticmethod(fcntl.lockf), 'LOCK_EX': fcntl.LOCK_EX, "
             "'LOCK_NB': fcntl.LOCK_NB, 'LOCK_UN': fcntl.LOCK_UN})()\n") if posix_locks else ""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, fcntl\nfrom astrohub_archive import userhips\n" + lockf
         + f"r = userhips.UserHipsStore({str(hips)!r}).reserve({owner!r}, {size})\n"
         "print('held', flush=True)\ntime.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait(30)
        holder.stdout.close()


def test_a_reservation_left_by_a_killed_archive_counts_for_nothing(tmp_path):
    """A reservation's file is held with a ``flock`` by the process of its upload: once that process is gone
    (an archive killed mid-upload), the file counts for nothing and the next check removes it."""
    store = UserHipsStore(tmp_path / "hips", total_max=10 * 2**20)
    with _reserved_in_another_process(tmp_path / "hips", "ann", 6 * 2**20):
        assert store.in_use("bob") == (0, 6 * 2**20)
        with pytest.raises(UserHipsError) as err:
            store.reserve("bob", 5 * 2**20)
        assert err.value.status == 507
    assert len(list((store.owners / ".uploads").iterdir())) == 1  # left behind, and
    assert store.in_use("bob") == (0, 0)  # counted for nothing: removed
    assert not list((store.owners / ".uploads").iterdir())
    store.reserve("bob", 5 * 2**20).release()


def test_an_upload_unpacked_after_its_client_went_away_is_still_checked(tmp_path):
    """The handler releases an upload's reservation when its client goes away, while the archive may still be
    unpacking it: from then on it holds nothing, but what it unpacks is still checked against the budgets."""
    body = _hips_tar(tmp_path)
    size = UserHipsStore(tmp_path / "probe").add("ann", "probe", body)["bytes"]
    store = UserHipsStore(tmp_path / "hips", total_max=size // 2)
    gone = store.reserve("ann", 1)
    gone.release()
    with pytest.raises(UserHipsError) as err:
        store.add("ann", "cut off", body, gone)
    assert err.value.status == 507 and "the upload unpacks to at least" in str(err.value)
    assert gone.bytes == 0 and not list((store.owners / ".uploads").iterdir())
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]


class _PosixFlock:
    """``fcntl`` as :mod:`astrohub_archive.userhips` sees it on an NFS claim (the chart's shared HiPS folder of
    several replicas, ReadWriteMany): Linux's NFS client does ``flock(2)`` with POSIX record locks (nfs(5),
    ``local_lock``), which belong to the process, not to the open file (a second open of a file this process
    locked gets the lock too, and closing it drops the first one's), and whose exclusive lock needs a file
    open for writing (else EBADF). ``fcntl.lockf`` is those locks."""

    def __init__(self):
        import fcntl

        self._fcntl = fcntl
        self.LOCK_EX, self.LOCK_NB, self.LOCK_UN, self.LOCK_SH = (fcntl.LOCK_EX, fcntl.LOCK_NB, fcntl.LOCK_UN,
                                                                  fcntl.LOCK_SH)

    def flock(self, fd, operation):
        self._fcntl.lockf(fd, operation)


@pytest.mark.parametrize("replicas", [1, 2])
def test_reservations_hold_with_posix_locks_as_on_an_nfs_claim(tmp_path, monkeypatch, replicas):
    """On a shared NFS claim, an upload under way still holds its bytes against the budgets: in this archive
    (its own reservation is not taken for one a killed archive left, nor its lock dropped by looking at it)
    and in another archive process, until that process is gone."""
    from astrohub_archive import userhips

    monkeypatch.setattr(userhips, "fcntl", _PosixFlock())
    here, there = (UserHipsStore(tmp_path / "hips", owner_max=10 * 2**20, total_max=10 * 2**20) for _ in range(2))
    there = there if replicas == 2 else here
    coming = here.reserve("ann", 6 * 2**20)
    assert there.in_use("bob") == (0, 6 * 2**20)
    assert there.in_use("bob") == (0, 6 * 2**20)  # looked at twice: still held
    with pytest.raises(UserHipsError) as err:
        there.reserve("bob", 5 * 2**20)
    assert err.value.status == 507
    coming.release()
    assert there.in_use("bob") == (0, 0) and not list((here.owners / ".uploads").iterdir())

    # another replica, on the same claim, with the same locks
    with _reserved_in_another_process(tmp_path / "hips", "cy", 6 * 2**20, posix_locks=True):
        assert here.in_use("bob") == (0, 6 * 2**20)
        with pytest.raises(UserHipsError) as err:
            here.reserve("bob", 5 * 2**20)
        assert err.value.status == 507
    assert here.in_use("bob") == (0, 0)  # its lock went with it: counted for nothing, removed
    assert not list((here.owners / ".uploads").iterdir())


def test_a_reservation_that_cannot_be_written_is_a_507_and_leaves_no_file_or_descriptor(tmp_path, monkeypatch):
    """The HiPS folder's disk full as an upload begins (or grows): the caller gets 507 naming the cause (not an
    OSError, which the handler answers 500), and no reservation file stays held by a descriptor left open
    (the process's descriptors that point into the reservations' folder: other tests' threads may open and
    close their own meanwhile, so a count of all of them would not say)."""
    import errno
    import os

    store = UserHipsStore(tmp_path / "hips")
    store.reserve("ann", 1).release()  # the folders exist
    uploads = store.owners / ".uploads"

    def held() -> list[str]:
        return _descriptors_into(uploads)

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(os, "pwrite", full)
        with pytest.raises(UserHipsError, match="No space left on device") as err:
            store.reserve("ann", 2**20)
    assert err.value.status == 507
    assert not list(uploads.iterdir()) and held() == []
    growing = store.reserve("ann", 1)
    assert len(held()) == 1  # the check sees a reservation's descriptor while it is held
    with monkeypatch.context() as m:
        m.setattr(os, "pwrite", full)
        with pytest.raises(UserHipsError) as err:
            growing.grow(2**20)
    assert err.value.status == 507
    growing.release()
    assert not list(uploads.iterdir()) and held() == []


def test_deleting_a_hips_already_gone_is_a_404_not_an_internal_error(tmp_path):
    """Two DELETEs of one HiPS at once (two tabs, two replicas), or a record whose folder an archive killed
    mid-delete had moved away: the one that finds the folder gone is answered 404 (UserHipsError), not with
    the FileNotFoundError the handler answers 500, and the record it finds goes too."""
    body = _hips_tar(tmp_path)
    store, other = UserHipsStore(tmp_path / "hips"), UserHipsStore(tmp_path / "hips")
    name = store.add("ann", "mine", body)["name"]
    (store.root / name).rename(store.root / f".{name}.deleted-1")  # the first delete is under way elsewhere
    with pytest.raises(UserHipsError) as err:
        other.delete("ann", name)
    assert err.value.status == 404
    assert other.owner_of(name) is None and store.listing("ann") == []


def _descriptors_into(folder: Path) -> list[str]:
    """The paths of this process's open descriptors that point into ``folder`` (a count of all of them would
    not say: other tests' threads may open and close their own meanwhile)."""
    import os

    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)):
            out.append(target)
    return out


def _blocked_on(lock_file, timeout: float = 30.0) -> None:
    """Return once some process or thread waits for a ``flock`` on ``lock_file`` (a ``->`` line of the
    kernel's /proc/locks names its inode), so a test acts while the wait is under way, however loaded the
    machine is."""
    import os
    import time

    inode = os.stat(lock_file).st_ino
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/locks") as locks:
            if any("->" in line and f":{inode} " in line for line in locks):
                return
        time.sleep(0.01)
    raise AssertionError(f"nothing waited for the lock on {lock_file} within {timeout} s")


def _released_on_a_loop_while(reservation, grower) -> list[float]:
    """Release ``reservation`` on an event loop (as the upload handler does when its client goes away) while
    ``grower`` (a thread growing it) is held up; return when the loop's other task ran meanwhile (it must
    keep answering: release returns at once, with ``grower`` still held up)."""
    import asyncio

    async def scenario():
        loop = asyncio.get_running_loop()
        ticks: list[float] = []

        async def other_request():
            while True:
                ticks.append(loop.time())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(other_request())
        await asyncio.sleep(0.05)
        reservation.release()
        before = len(ticks)
        await asyncio.sleep(0.1)
        task.cancel()
        assert grower.is_alive(), "the release waited for the grow"
        assert len(ticks) > before
        return ticks

    return asyncio.run(scenario())


def test_a_release_on_the_loop_never_waits_for_another_replicas_lock(tmp_path):
    """Another archive replica holds the store's lock (keeping an upload, say) while a grow of this upload
    waits for it in a worker thread: releasing this upload from the server's loop does not wait, its file
    is gone at once (the client's next upload no longer counts it), and once the grow ends, so is its
    descriptor."""
    import subprocess
    import sys
    import threading

    store = UserHipsStore(tmp_path / "hips")
    coming = store.reserve("ann", 1)
    assert len(_descriptors_into(store.owners / ".uploads")) == 1  # the check sees one held
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, time\n"
         f"fd = os.open({str(store.owners / '.lock')!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        grower = threading.Thread(target=coming.grow, args=(2**20,))
        grower.start()
        _blocked_on(store.owners / ".lock")  # the grow waits for the other replica's lock now, not later
        _released_on_a_loop_while(coming, grower)
        assert holder.poll() is None and not list((store.owners / ".uploads").iterdir())
    finally:
        holder.kill()
        holder.wait(30)
        holder.stdout.close()
    grower.join(30)
    assert not grower.is_alive() and coming.bytes == 0 and _descriptors_into(store.owners / ".uploads") == []
    assert store.room("bob")["room_left"] == store.owner_max


def test_a_release_on_the_loop_never_waits_for_a_grow_counting_the_folder(tmp_path, monkeypatch):
    """A grow holds the reservation while it counts the folder under the store's lock (every record and upload
    under way, on a shared claim that may be slow): releasing it from the server's loop returns at once; the
    grow closes its descriptor when it ends."""
    import threading

    store = UserHipsStore(tmp_path / "hips")
    coming = store.reserve("ann", 1)
    assert len(_descriptors_into(store.owners / ".uploads")) == 1  # the check sees one held
    counting, may_end = threading.Event(), threading.Event()
    in_use = store.in_use

    def slow_in_use(*args, **kwargs):
        counting.set()
        may_end.wait(10)  # on the old code, the release (and the loop) waited for this
        return in_use(*args, **kwargs)

    monkeypatch.setattr(store, "in_use", slow_in_use)
    grower = threading.Thread(target=coming.grow, args=(2**20,))
    grower.start()
    try:
        assert counting.wait(10)
        _released_on_a_loop_while(coming, grower)
        assert not may_end.is_set() and not list((store.owners / ".uploads").iterdir())
    finally:
        may_end.set()
    grower.join(30)
    assert not grower.is_alive() and coming.bytes == 0 and _descriptors_into(store.owners / ".uploads") == []


def _parts(tmp_path, rows: int = 20_000, rest_tar: bool = False) -> list[Path]:
    """A catalogue HiPS built in two parts (:func:`platform_lib.viz._hips.catalog_hips_parts`): the whole-sky
    orders, then the deeper ones (``rest_tar``: as a tar file)."""
    from platform_lib.viz._hips import catalog_hips_parts

    rng = np.random.default_rng(3)
    df = pd.DataFrame({"ra": rng.uniform(0, 360, rows), "dec": rng.uniform(-60, 60, rows),
                       "gmag": rng.uniform(10, 20, rows)})
    df.loc[: rows // 2, ["ra", "dec"]] = rng.uniform(10, 14, (rows // 2 + 1, 2))  # a dense field: deeper orders
    return list(catalog_hips_parts(df, tmp_path / "built", viz.CatalogHipsSpec("mine", n_per_tile=20),
                                   ra="ra", dec="dec", magnitude="gmag", rest_tar=rest_tar))


def _tar(root: Path) -> bytes:
    return tar_of({str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()})


def _as_served(folder: Path, dest: Path) -> Path:
    """The user's HiPS ``folder`` as the archive serves it, written out as a folder ``dest``: its files, and those
    its pack holds (the deeper orders of one sent in two parts), each read as a request is answered
    (:meth:`astrohub_archive._tiles.TileCache.get`)."""
    import json
    import shutil

    from astrohub_archive._tiles import PACK_INDEX, TileCache

    shutil.copytree(folder, dest, ignore=lambda d, names: [n for n in names if n.startswith(".")])
    index = folder / PACK_INDEX
    cache = TileCache(2**30)
    for rel in json.loads(index.read_text()) if index.is_file() else ():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_bytes(cache.get(folder / rel, packed_in=folder).body)
    return dest


def test_a_hips_sent_in_two_parts_is_served_from_the_first_and_whole_with_the_second(tmp_path, monkeypatch):
    first, rest = _parts(tmp_path)
    assert viz.read_hips_properties(first / "properties")["astrohub_building"] == "4"
    assert int(viz.read_hips_properties(first / "properties")["hips_order"]) >= 4  # the viewer asks for the deep tiles
    assert not list(first.glob("Norder4")) and {p.name for p in rest.iterdir()} >= {"properties", "Norder4"}
    store = UserHipsStore(tmp_path / "hips")
    kept = store.add("ann", "big", _tar(first))
    name = kept["name"]
    assert kept["building"] == 4 and store.building(name) == 4 and kept["rows"] < 20_000
    # a first part whose rest never came is not waited for (and is removed: the next test)
    assert UserHipsStore(tmp_path / "hips", rest_stale=0.0).building(name) is None
    # only its owner completes it, only with the orders to come
    for owner, body, status in (("bob", _tar(rest), 404), ("ann", _tar(first), 400)):
        with pytest.raises(UserHipsError) as err:
            store.add_rest(owner, name, body)
        assert err.value.status == status
    whole = store.add_rest("ann", name, _tar(rest))
    assert whole["rows"] == 20_000 and "building" not in whole and store.building(name) is None
    report = viz.validate_hips(_as_served(store.root / name, tmp_path / "served"))
    assert report.rows == 20_000 and max(report.orders) >= 4
    assert "astrohub_building" not in viz.read_hips_properties(store.root / name / "properties")
    assert store.listing("ann")[0]["bytes"] == whole["bytes"] > kept["bytes"]
    with pytest.raises(UserHipsError) as err:  # whole: it takes no more
        store.add_rest("ann", name, _tar(rest))
    assert err.value.status == 409
    assert not [p for p in store.root.iterdir() if p.name.startswith(".")]


def test_the_rest_built_straight_into_a_tar_holds_the_same_files_and_completes_the_hips(tmp_path):
    """The kernel's path (``rest_tar``, no tile files made and packed again) gives the same tiles as the folder."""
    _, folder = _parts(tmp_path / "a")
    first, rest = _parts(tmp_path / "b", rest_tar=True)
    assert rest.is_file() and rest.name.endswith(".rest.tar") and not [p for p in rest.parent.iterdir()
                                                                       if p.name.startswith(".")]
    with tarfile.open(rest) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}
    want = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert got.keys() == want.keys() and len(got) > 100
    assert {k for k in got if got[k] != want[k]} <= {"properties"}  # its release date: the time it was made
    strip = lambda text: [line for line in text.splitlines() if not line.startswith(b"hips_release_date")]
    assert strip(got["properties"]) == strip(want["properties"])
    store = UserHipsStore(tmp_path / "hips")
    name = store.add("ann", "big", _tar(first))["name"]
    assert store.add_rest("ann", name, rest)["rows"] == 20_000


def test_a_first_part_whose_rest_never_came_is_removed_freeing_its_room_and_its_place_and_its_owner_is_told(
        tmp_path, monkeypatch):
    import astrohub_archive.userhips as userhips

    monkeypatch.setattr(userhips, "MAX_PER_OWNER", 2)
    first, rest = _parts(tmp_path)
    store = UserHipsStore(tmp_path / "hips", rest_stale=600.0)
    name = store.add("ann", "big", _tar(first))["name"]
    whole = store.add("ann", "small", _hips_tar(tmp_path / "whole"))
    shared = store.add("bob", "bobs", _tar(first))["name"]  # bob's, abandoned too; shared with a group of ann's
    store.share(type("Viewer", (), {"user": "bob", "groups": ["lab"]})(), shared, "lab")
    with pytest.raises(UserHipsError) as err:  # ann keeps two: no room for a third
        store.add("ann", "third", _hips_tar(tmp_path / "whole"))
    assert err.value.status == 429
    assert len(store.listing("ann")) == 2 and store.expired("ann") == []  # within the timeout: waited for
    later = UserHipsStore(tmp_path / "hips", rest_stale=0.0)  # the same archive once the timeout has passed
    assert [h["name"] for h in later.listing("ann")] == [whole["name"]]
    assert later.room("ann")["used"] == whole["bytes"] and later.used("bob") == 0
    assert later.total_used() == whole["bytes"]
    gone = later.expired("ann")
    assert [(g["name"], g["title"]) for g in gone] == [(name, "big")] and gone[0]["expired"]
    assert "did not come within 0 s" in gone[0]["reason"] and "showing the table again" in gone[0]["reason"]
    assert not (later.root / name).exists() and not (later.root / shared).exists()
    assert not [p for p in later.root.iterdir() if p.name.startswith(".")]
    assert later.shared_with(type("Viewer", (), {"user": "ann", "groups": ["lab"]})()) == []
    for owner, who in (("bob", shared), ("ann", name)):  # each told of their own only
        assert [g["name"] for g in later.expired(owner)] == [who]
    with pytest.raises(UserHipsError) as err:  # the rest coming late: not kept, and why
        later.add_rest("ann", name, _tar(rest))
    assert err.value.status == 404 and "did not come within" in str(err.value)
    assert not [p for p in later.root.iterdir() if p.name.startswith(".")]
    later.add("ann", "third", _hips_tar(tmp_path / "whole"))  # its place is free
    monkeypatch.setattr(userhips, "EXPIRED_KEPT", 0.0)  # told for a day, then forgotten
    assert later.expired("ann") == [] and not (later.owners / f"{name}.json").exists()


def test_the_archive_removes_abandoned_first_parts_when_it_starts(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from astrohub_archive.hips import hips_routes

    first, _ = _parts(tmp_path)
    name = UserHipsStore(tmp_path / "hips").add("ann", "big", _tar(first))["name"]
    monkeypatch.setattr("astrohub_archive.userhips.REST_STALE", 0.0)  # the archive's default timeout, passed
    hips_routes("/", SimpleNamespace(hips_dir=str(tmp_path / "hips"), data_root=str(tmp_path / "data")))
    assert not (tmp_path / "hips" / "~users" / name).exists()


def test_a_first_part_that_holds_an_order_it_says_is_to_come_is_refused(tmp_path):
    first, rest = _parts(tmp_path)
    import shutil

    shutil.copytree(rest / "Norder4", first / "Norder4")
    with pytest.raises(UserHipsError, match="order still to come"):
        UserHipsStore(tmp_path / "hips").add("ann", "big", _tar(first))


def test_a_first_part_whose_kernel_still_builds_the_rest_is_kept_past_the_expiry(tmp_path):
    """The kernel says it still builds the rest (``PUT hips/~/<name>/rest``: :meth:`UserHipsStore.keep_alive`), so
    a rest that takes longer than the expiry (a large table on a busy cluster) finds its first part still there;
    once it says nothing for the expiry, it goes as before. Before, the first part went ``rest_stale`` seconds
    after it was kept, whatever its kernel was doing (no ``keep_alive``)."""
    import json
    import time

    first, rest = _parts(tmp_path)
    store = UserHipsStore(tmp_path / "hips", rest_stale=600.0)
    name = store.add("ann", "big", _tar(first))["name"]
    record = store.owners / f"{name}.json"

    def age(**ago) -> None:  # the record's times, that many seconds ago
        meta = json.loads(record.read_text())
        record.write_text(json.dumps({**meta, **{k: time.time() - v for k, v in ago.items()}}))

    age(building_since=500)
    for owner, status in (("bob", 404),):
        with pytest.raises(UserHipsError) as err:
            store.keep_alive(owner, name)
        assert err.value.status == status
    assert store.keep_alive("ann", name)["building"] == 4
    age(building_since=700)  # kept 700 s ago, but its kernel spoke just now
    assert store.building(name) == 4 and [h["name"] for h in store.listing("ann")] == [name]
    age(building_since=1400, alive_at=650)  # and then said nothing for longer than the expiry
    with pytest.raises(UserHipsError) as err:
        store.keep_alive("ann", name)
    assert err.value.status == 404 and "did not come within 600 s" in str(err.value)
    assert store.listing("ann") == [] and [g["name"] for g in store.expired("ann")] == [name]
    # a whole HiPS waits for nothing
    other = store.add("ann", "big", _tar(first))["name"]
    store.keep_alive("ann", other)
    assert "alive_at" not in store.add_rest("ann", other, _tar(rest))
    with pytest.raises(UserHipsError) as err:
        store.keep_alive("ann", other)
    assert err.value.status == 409


def test_the_rest_is_checked_as_it_is_read_and_no_tile_is_read_back_from_disk(tmp_path, monkeypatch):
    """The deeper orders are checked tile by tile as the tar is read (:class:`platform_lib.viz.HipsTiles`), before
    each is written; nothing of the HiPS is read back from disk. Before, the rest was unpacked, the whole HiPS
    linked into a second folder and :func:`validate_hips` read every tile of both parts back (thousands of files
    for a 10^6-row table). Every refusal of the whole-HiPS check still holds, naming the tar's own paths."""
    import pathlib

    first, rest = _parts(tmp_path)
    files = {str(p.relative_to(rest)): p.read_bytes() for p in sorted(rest.rglob("*")) if p.is_file()}
    tile = next(k for k in files if k.startswith("Norder4/Dir0/Npix"))
    props = files["properties"].decode()
    nrows = next(line for line in props.splitlines() if line.startswith("hips_cat_nrows"))
    store = UserHipsStore(tmp_path / "hips")
    name = store.add("ann", "big", _tar(first))["name"]
    read = []
    real = pathlib.Path.read_bytes
    monkeypatch.setattr(pathlib.Path, "read_bytes", lambda self: (read.append(self), real(self))[1])
    whole = store.add_rest("ann", name, tar_of(files))
    assert whole["rows"] == 20_000 and not [p for p in read if p.name.startswith("Npix")], read[:3]
    monkeypatch.undo()
    # no file made for each of its thousands of tiles: they are packed in one, and served from it
    assert not list((store.root / name).glob("Norder4")) and (store.root / name / ".pack").is_file()
    served = _as_served(store.root / name, tmp_path / "served")
    assert viz.validate_hips(served).rows == 20_000
    assert {k: (served / k).read_bytes() for k in files if k != "properties"} == \
        {k: v for k, v in files.items() if k != "properties"}
    bad = {
        "a damaged tile": ({**files, tile: b"ra\tdec\n--\t--\n1\t2\t3\n"}, f"{tile} line 3 has 3 fields"),
        "a tile in the wrong place": ({**files, tile.replace("Dir0", "Dir10000"): files[tile]}, "wrong place"),
        "rows that do not add up": ({**files, "properties": props.replace(nrows, "hips_cat_nrows = 7").encode()},
                                    "hold 20000 rows but hips_cat_nrows = 7"),
        "another tile format": ({**files, "properties": props.replace("hips_tile_format", "hips_tile_format = fits\n#")
                                 .encode()}, "hips_tile_format = 'fits', but the first part's is 'tsv'"),
        "an order deeper than it says": ({**files, "Norder9/Dir0/Npix0.tsv": files[tile]}, "Norder9"),
        "an order past HEALPix's": ({**files, "Norder99999999/Dir0/Npix0.tsv": files[tile]}, "order 29"),
        "a file that is no tile": ({**files, "Norder4/Dir0/notes.txt": b"x"}, "Norder4/Dir0/notes.txt"),
        "an order of the first part": ({**files, "Norder2/Dir0/Npix0.tsv": files[tile]}, "it holds Norder2"),
        "no properties": ({k: v for k, v in files.items() if k != "properties"}, "no properties"),
    }
    for why, (content, said) in bad.items():
        name = store.add("ann", "big", _tar(first))["name"]
        with pytest.raises(UserHipsError) as err:
            store.add_rest("ann", name, tar_of(content))
        assert err.value.status == 400 and said in str(err.value), (why, str(err.value))
        assert str(store.root) not in str(err.value)
        assert store.building(name) == 4 and not [p for p in store.root.iterdir() if p.name.startswith(".")], why
        store.delete("ann", name)
    twice = io.BytesIO()  # a tile sent twice: refused (only one copy would be kept, both counted)
    with tarfile.open(fileobj=twice, mode="w") as tar:
        for k, data in [*files.items(), (tile, files[tile])]:
            info = tarfile.TarInfo(k)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    name = store.add("ann", "big", _tar(first))["name"]
    with pytest.raises(UserHipsError, match=f"{tile} twice"):
        store.add_rest("ann", name, twice.getvalue())


def test_a_pack_serves_its_files_as_files_are_served(tmp_path):
    """:class:`astrohub_archive._tiles.TilePack` and :meth:`TileCache.get`'s ``packed_in``: each file as written,
    its gzip copy, none for a name it does not hold or a pack cut short, a new version once the pack is replaced,
    nothing once its folder moved (unsharing renames it: the old URL reads nothing)."""
    import gzip
    import os

    from astrohub_archive._tiles import PACK, TileCache, TilePack

    folder = tmp_path / "hips-a"
    folder.mkdir()
    files = {"Norder4/Dir0/Npix7.tsv": b"ra\tdec\n--\t--\n" + b"1.5\t2.5\n" * 200, "Norder4/Allsky.tsv": b"x"}
    pack = TilePack(folder)
    for rel, data in files.items():
        pack.add(rel, data)
    pack.close()
    cache = TileCache(2**20)
    for rel, data in files.items():
        served = cache.get(folder / rel, packed_in=folder)
        assert served.body == data and (served.gz is None or gzip.decompress(served.gz) == data)
        assert ("Content-Type", "text/tab-separated-values; charset=utf-8") in served.headers
    assert cache.get(folder / "Norder4/Dir0/Npix7.tsv", packed_in=folder).gz is not None
    assert cache.get(folder / "Norder4/Dir0/Npix7.tsv") is None  # only where its HiPS may be packed
    assert cache.get(folder / "Norder4/Dir0/Npix8.tsv", packed_in=folder) is None
    first = cache.get(folder / "Norder4/Allsky.tsv", packed_in=folder).etag
    os.utime(folder / PACK, ns=(1, 1))  # replaced
    assert cache.get(folder / "Norder4/Allsky.tsv", packed_in=folder).etag != first
    os.truncate(folder / PACK, 10)  # cut short: not a body of the wrong length
    assert cache.get(folder / "Norder4/Dir0/Npix7.tsv", packed_in=folder) is None
    os.rename(folder, tmp_path / "hips-b")
    assert cache.get(folder / "Norder4/Allsky.tsv", packed_in=folder) is None
