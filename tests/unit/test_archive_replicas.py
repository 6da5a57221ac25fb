"""Which archive replica owns an async TAP job (pure): the settings, the ids, and the merged job list.

The forwarding itself is tested with two real archive processes in tests/integration/test_archive_replicas.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from astrohub_archive import uws
from astrohub_archive.app import build_parser, main
from astrohub_archive.faults import NotFoundFault
from astrohub_archive.replicas import Replicas, parse_peers, parse_replica

PEERS = ("http://astrohub-archive-0.peers.ns.svc:8080/services/archive/",
         "http://astrohub-archive-1.peers.ns.svc:8080/services/archive/")


def test_a_replica_is_named_by_its_pod_or_its_ordinal_and_peers_are_base_urls():
    assert parse_replica("astrohub-archive-12") == 12 and parse_replica(" 3 ") == 3
    for bad in ("astrohub-archive", "archive-x", "", "-1a"):
        with pytest.raises(ValueError, match="ending in -<ordinal>"):
            parse_replica(bad)
    assert parse_peers([p.rstrip("/") for p in PEERS]) == PEERS
    for bad in ("astrohub-archive-0:8080", "ftp://host/", "http://host/?next=x", "http:///path"):
        with pytest.raises(ValueError, match="is not the base URL of a replica"):
            parse_peers([bad])
    with pytest.raises(ValueError, match="give this replica's ordinal, 0 to 1"):
        Replicas(2, PEERS)
    with pytest.raises(ValueError, match="give this replica's ordinal"):
        Replicas(None, PEERS)


def test_ids_name_their_replica_and_only_configured_ones_are_called():
    one = Replicas(1, PEERS)
    assert one.id_prefix == "1." and one.others() == [(0, PEERS[0])]
    assert one.owner("1.abc") is None  # ours
    assert one.owner("0.abc") == 0  # replica 0's: forwarded to PEERS[0]
    assert one.owner("oldTokenWithoutDot") is None  # made before replicas: ours
    for forged in ("2.abc", "9999.abc", "x.abc", ".abc", "00001.abc"):
        with pytest.raises(NotFoundFault, match="no job"):
            one.owner(forged)
    single = Replicas()  # the local platform: ids as before, nothing forwarded, whatever the id says
    assert single.id_prefix == "" and single.owner("0.abc") is None and single.owner("7.abc") is None
    store = uws.JobStore(id_prefix=one.id_prefix)
    job = store.create("alice", {"QUERY": "SELECT 1"})
    assert job.id.startswith("1.") and len(job.id) == 2 + 16 and store.get(job.id, "alice") == job
    assert uws.JobStore().create("alice", {"QUERY": "SELECT 1"}).id.count(".") == 0


def test_the_job_list_merges_other_replicas_jobrefs_newest_first():
    store = uws.JobStore(id_prefix="0.")
    mine = store.create("alice", {"QUERY": "SELECT 1"})
    mine.created -= 100
    store.save(mine)
    theirs = uws.Job("1.newer", "alice", {}, created=mine.created + 50)
    other_doc = ET.fromstring(uws.jobs_document([theirs], "http://h/tap/async/"))
    refs = list(other_doc)
    merged = ET.fromstring(uws.jobs_document(store.list("alice"), "http://h/tap/async/", refs))
    assert [r.get("id") for r in merged] == ["1.newer", mine.id]
    newest = ET.fromstring(uws.jobs_document(store.list("alice"), "http://h/tap/async/", refs, last=1))
    assert [r.get("id") for r in newest] == ["1.newer"]


def test_the_command_refuses_peers_without_this_replicas_place_in_them(monkeypatch, capsys, tmp_path):
    args = ["--index", str(tmp_path / "i.sqlite"), "--data-root", str(tmp_path), "--peers", ",".join(PEERS)]
    with pytest.raises(SystemExit):
        main(args + ["--replica", "astrohub-archive-2"])
    assert "--replica 2: with --peers listing 2 replicas" in capsys.readouterr().err
    monkeypatch.setenv("ASTROHUB_ARCHIVE_PEERS", "astrohub-archive-0:8080")
    with pytest.raises(SystemExit):
        main(["--index", str(tmp_path / "i.sqlite"), "--data-root", str(tmp_path)])
    assert "ASTROHUB_ARCHIVE_PEERS='astrohub-archive-0:8080': 'astrohub-archive-0:8080' is not the base URL" in \
        capsys.readouterr().err
    monkeypatch.setenv("ASTROHUB_ARCHIVE_PEERS", ",".join(PEERS))
    monkeypatch.setenv("ASTROHUB_ARCHIVE_REPLICA", "astrohub-archive-1")
    parsed = build_parser().parse_args([])
    assert parsed.peers == list(PEERS) and parsed.replica == "astrohub-archive-1"
