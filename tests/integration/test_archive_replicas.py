"""Async TAP across archive replicas: two real ``astrohub-archive`` processes that share nothing but the list of
their peers' URLs (each its own index, image tree and job store), as the chart's StatefulSet runs them.

A job made on one is polled, fetched (pyvo too), aborted and deleted through the other, which forwards to the
owner (the owner checks the caller's token itself and builds links to the address the caller used); an id
naming a replica that is not configured is a 404 and calls nothing; a configured replica that is down is a
503 with ``Retry-After`` naming it; the job list merges the caller's jobs of every replica that answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

sys.path.insert(0, str(Path(__file__).parent))
from archive_process import running_archive  # noqa: E402
from test_archive_service import TOKENS, query_status  # noqa: E402

from platform_lib.local.ports import free_ports  # noqa: E402

ALICE = {"Authorization": "token alice-token"}
BOB = {"Authorization": "token bob-token"}
QUERY = "SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    """``(a, b, dead, logs)``: the base URLs of replicas 0 and 1, and of replica 2, configured but never started;
    the log files of 0 and 1."""
    from platform_lib.imageindex import build_index

    ports = free_ports(3)
    peers = ",".join(f"http://127.0.0.1:{p}/" for p in ports)
    roots = []
    for n in range(2):
        tmp = tmp_path_factory.mktemp(f"replica{n}")
        (tmp / "images").mkdir()
        build_index(tmp / "index.sqlite", tmp / "images", workers=1)
        (tmp / "tokens.json").write_text(json.dumps(TOKENS))
        roots.append(tmp)

    def args(n: int) -> list[str]:
        tmp = roots[n]
        return ["--index", str(tmp / "index.sqlite"), "--data-root", str(tmp / "images"),
                "--tokens", str(tmp / "tokens.json"), "--jobs", str(tmp / "jobs.sqlite"), "--update-every", "0",
                "--replica", f"astrohub-archive-{n}", "--peers", peers, "--log-level", "WARNING"]

    with running_archive(args(0), roots[0] / "archive.log", port=ports[0], ready="tap/availability") as a, \
            running_archive(args(1), roots[1] / "archive.log", port=ports[1], ready="tap/availability") as b:
        yield a, b, f"http://127.0.0.1:{ports[2]}/", [tmp / "archive.log" for tmp in roots]


def _create(base: str, headers: dict, run: bool = True) -> str:
    data = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": QUERY} | ({"PHASE": "RUN"} if run else {})
    made = requests.post(base + "tap/async", data=data, headers=headers, allow_redirects=False, timeout=30)
    assert made.status_code == 303, made.text
    assert made.headers["Location"].startswith(base + "tap/async/")
    return made.headers["Location"].rsplit("/", 1)[1]


def test_a_job_made_on_one_replica_is_polled_fetched_and_deleted_through_the_other(replicas):
    from pyvo.dal import AsyncTAPJob

    a, b, _, _ = replicas
    job = _create(a, ALICE)
    assert job.startswith("0.") and len(job) > 12  # the owner's ordinal, then the unguessable token
    done = requests.get(f"{b}tap/async/{job}", params={"WAIT": "30"}, headers=ALICE, timeout=60)
    assert done.status_code == 200 and "<uws:phase>COMPLETED</uws:phase>" in done.text, done.text
    assert f'href="{b}tap/async/{job}/results/result"' in done.text  # links to where the caller asked
    result = requests.get(f"{b}tap/async/{job}/results/result", headers=ALICE, timeout=30)
    assert result.status_code == 200 and result.headers["Content-Type"].startswith("application/x-votable+xml")
    assert query_status(result.content)[0] == "OK"
    assert requests.get(f"{b}tap/async/{job}/phase", headers=ALICE, timeout=30).text == "COMPLETED"
    # the owner checks the caller: another user, or nobody, gets what they get on the owner (404)
    for headers in (BOB, {}):
        assert requests.get(f"{b}tap/async/{job}", headers=headers, timeout=30).status_code == 404
    # a real client through the other replica: pyvo reads the job and its result
    session = requests.Session()
    session.headers.update(ALICE)
    pyvo_job = AsyncTAPJob(f"{b}tap/async/{job}", session=session)
    assert pyvo_job.phase == "COMPLETED" and len(pyvo_job.fetch_result().to_table()) == 1
    # a PENDING job changed, run and aborted through the other replica (POST bodies travel)
    other = _create(b, ALICE, run=False)
    assert other.startswith("1.")
    changed = requests.post(f"{a}tap/async/{other}/executionduration", data={"EXECUTIONDURATION": "9"},
                            headers=ALICE, allow_redirects=False, timeout=30)
    assert changed.status_code == 303 and changed.headers["Location"] == f"{a}tap/async/{other}"
    assert requests.get(f"{a}tap/async/{other}/executionduration", headers=ALICE, timeout=30).text == "9"
    aborted = requests.post(f"{a}tap/async/{other}/phase", data={"PHASE": "ABORT"}, headers=ALICE, timeout=30)
    assert aborted.status_code == 200 and "<uws:phase>ABORTED</uws:phase>" in aborted.text
    # deleted through the other replica: gone on its owner
    for url, method in ((f"{b}tap/async/{job}", "DELETE"), (f"{b}tap/async/{other}", "POST")):
        gone = requests.request(method, url, data={"ACTION": "DELETE"}, headers=ALICE, allow_redirects=False,
                                timeout=30)
        assert gone.status_code == 303 and gone.headers["Location"] == f"{b}tap/async"
    assert requests.get(f"{a}tap/async/{job}", headers=ALICE, timeout=30).status_code == 404
    assert requests.get(f"{b}tap/async/{other}", headers=ALICE, timeout=30).status_code == 404


def test_a_forged_id_calls_no_one_and_a_replica_down_is_a_503_naming_it(replicas):
    a, b, _, logs = replicas
    for forged in ("7.AAAAAAAAAAAAAAAA", "99999.AAAA", "x.AAAA", "1.AAAAAAAAAAAAAAAA"):
        resp = requests.get(f"{a}tap/async/{forged}/phase", headers=ALICE, timeout=30)
        assert resp.status_code == 404, (forged, resp.text)
        assert query_status(resp.content)[0] == "ERROR" and "Traceback" not in resp.text
    down = requests.get(f"{b}tap/async/2.AAAAAAAAAAAAAAAA/results/result", headers=ALICE, timeout=30)
    assert down.status_code == 503 and down.headers["Retry-After"] == "10"
    status, text = query_status(down.content)
    assert status == "ERROR" and "replica 2" in text and "cannot be reached" in text and "Traceback" not in text
    assert "could not forward GET /tap/async/2.AAAAAAAAAAAAAAAA/results/result to replica 2" in logs[1].read_text()
    # a request that was forwarded once is answered where it arrives (no loops, no forwarding chains)
    looped = requests.get(f"{a}tap/async/1.AAAAAAAAAAAAAAAA", headers=ALICE | {"X-Astrohub-Archive-Forwarded": "1"},
                          timeout=30)
    assert looped.status_code == 404


def test_the_job_list_merges_the_callers_jobs_of_every_replica_that_answers(replicas):
    a, b, _, logs = replicas
    on_a, on_b = _create(a, ALICE, run=False), _create(b, ALICE, run=False)
    bobs = _create(b, BOB, run=False)
    for base in (a, b):
        listed = requests.get(base + "tap/async", headers=ALICE, timeout=30)  # replica 2 (down) is left out
        assert listed.status_code == 200
        assert f'href="{base}tap/async/{on_a}"' in listed.text and f'href="{base}tap/async/{on_b}"' in listed.text
        assert bobs not in listed.text
        newest = requests.get(base + "tap/async", params={"LAST": "1", "PHASE": "PENDING"}, headers=ALICE, timeout=30)
        assert newest.text.count("<uws:jobref") == 1
    assert "job list: the jobs of replica 2 (127.0.0.1) are left out" in logs[0].read_text()
    assert "jobref" not in requests.get(a + "tap/async", timeout=30).text  # anonymous jobs are never listed
    for job in (on_a, on_b, bobs):
        requests.delete(f"{a}tap/async/{job}", headers=BOB if job == bobs else ALICE, timeout=30)


@contextlib.contextmanager
def _stand_in_owner(dead: str, answer):
    """Replica 2 (configured, never started) back for one answer: a socket on its port whose first
    connection has its request head read, then gets ``answer(conn)``; closed (and its thread joined) at the
    end of the ``with`` block."""
    owner = socket.create_server(("127.0.0.1", urlsplit(dead).port))

    def serve() -> None:
        conn, _ = owner.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            answer(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        owner.close()
        thread.join(60)


def test_an_answer_cut_off_by_its_owner_is_cut_off_for_the_caller_too(replicas):
    """The replica that keeps a job goes away midway through its result (a pod restarted): the caller's answer
    through the other replica must end as broken (no last chunk), so that a client sees an error rather
    than a complete 200 holding part of a VOTable."""
    a, _, dead, logs = replicas
    sent = threading.Event()

    def answer_half(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-votable+xml\r\nContent-Length: 100000\r\n"
                     b"\r\n" + b"<VOTABLE>" + b" " * 20000)
        sent.set()

    with _stand_in_owner(dead, answer_half):
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            requests.get(f"{a}tap/async/2.AAAAAAAAAAAAAAAA/results/result", headers=ALICE, timeout=30)
        assert sent.is_set()
        assert "could not forward GET /tap/async/2.AAAAAAAAAAAAAAAA/results/result" in logs[0].read_text()
        assert "Traceback" not in logs[0].read_text()


def test_a_result_bigger_than_the_http_clients_default_comes_through_whole(replicas):
    """A job's result of more than 100 MiB (100,000 rows of a wide table) fetched through another replica: the
    forwarding HTTP client's default body limit (100 MiB) made it a 503 "cannot be reached" (or a cut-off
    answer); it comes through whole."""
    import hashlib

    a, _, dead, _ = replicas
    size, piece = 110 * 2**20, b"<TR><TD>1.0</TD></TR>\n" * 4096
    parts = [piece] * (size // len(piece)) + [piece[:size % len(piece)]]
    sent = hashlib.sha256()  # what the owner sends, known before it sends (the caller may finish reading first)
    for part in parts:
        sent.update(part)

    def answer(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-votable+xml\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        try:
            for part in parts:
                conn.sendall(part)
        except OSError:  # the forwarding replica hung up: the test says so below
            pass

    with _stand_in_owner(dead, answer):
        got = requests.get(f"{a}tap/async/2.AAAAAAAAAAAAAAAA/results/result", headers=ALICE, timeout=120,
                           stream=True)
        assert got.status_code == 200, got.text[:500]
        received, n = hashlib.sha256(), 0
        for chunk in got.iter_content(2**20):
            received.update(chunk)
            n += len(chunk)
        assert n == size and received.hexdigest() == sent.hexdigest()


def _replica_pid(base: str) -> int:
    """The process id of the replica serving ``base`` (its command line names its port)."""
    port = str(urlsplit(base).port)
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:  # not a process, or gone
            continue
        if any(arg.endswith(b"astrohub-archive") for arg in argv[:2]) and port.encode() in argv:
            return int(proc.name)
    raise AssertionError(f"no astrohub-archive process serves {base}")


def _unread_by(pid: int, local_port: int, remote_port: int) -> int | None:
    """Bytes waiting unread in the receive queue of the TCP socket ``local_port`` -> ``remote_port`` (the kernel's
    /proc/<pid>/net/tcp; 0 with no such socket), while no thread of ``pid`` is running or waiting to run; None
    while one is (it may be reading them: on a loaded machine a woken thread waits its turn)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # a thread that ended meanwhile
            continue
        if stat[stat.rindex(")") + 2] == "R":  # a thread that may be reading it now
            return None
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == local_port and int(fields[2].split(":")[1], 16) == remote_port:
            return int(fields[4].split(":")[1], 16)
    return 0


def test_a_forwarded_answer_goes_at_the_callers_pace(replicas):
    """A caller reading a big result slowly (or not yet): the replica that forwards it reads from the owner only
    as fast as the caller takes it, instead of holding the rest in its memory (a few slow downloads of big
    results would fill the archive pod's memory); the caller then gets all of it.

    "Held back" is read from the kernel, not from a pause in the owner's progress (a second with nothing sent
    also happens to a replica that reads everything but got no CPU on a loaded machine): the owner's bytes wait
    unread in the replica's socket while every thread of the replica sleeps, in 20 looks in a row with the
    owner's count unchanged (a look while a replica thread runs or waits to run proves nothing: it is not
    counted)."""
    import time

    a, _, dead, _ = replicas
    size, piece = 96 * 2**20, b"x" * 2**20
    sent, peer = [0], []

    def answer(conn) -> None:
        peer.append(conn.getpeername()[1])  # the replica's end of the connection
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-votable+xml\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        try:
            while sent[0] < size:
                conn.sendall(piece)
                sent[0] += len(piece)
        except OSError:  # the forwarding replica hung up: the test says so below
            pass

    pid, owner_port = _replica_pid(a), urlsplit(dead).port
    with _stand_in_owner(dead, answer):
        got = requests.get(f"{a}tap/async/2.AAAAAAAAAAAAAAAA/results/result", headers=ALICE, timeout=120,
                           stream=True)
        assert got.status_code == 200
        looks, busy, deadline = [], 0, time.monotonic() + 60
        while time.monotonic() < deadline and sent[0] < size and len(looks) < 20:  # until the owner is held back
            unread = _unread_by(pid, peer[0], owner_port) if peer else 0
            if unread is None:  # the replica may be reading: this look proves nothing
                busy += 1
            elif unread and looks and looks[-1] == sent[0]:
                looks.append(sent[0])
            else:  # a first look, or the replica read meanwhile: count again
                looks = [sent[0]] if unread else []
            time.sleep(0.02)  # between looks at the kernel's state (bounded by the deadline)
        assert len(looks) == 20, (f"the replica never held back: the owner sent {sent[0] / 2**20:.0f} MiB "
                                  f"({busy} looks found a replica thread running)")
        assert sent[0] <= size // 2, f"the owner sent {sent[0] / 2**20:.0f} MiB to a caller that read nothing"
        assert sum(len(chunk) for chunk in got.iter_content(2**20)) == size


def test_a_caller_gone_mid_answer_ends_the_forwarding_quietly(replicas):
    """A caller that stops reading a forwarded result and hangs up (a closed notebook, a cancelled download): the
    replica stops reading from the owner (hangs up on it) and logs no traceback. The flush it was waiting on
    failed (StreamClosedError; or was cancelled, and the done-callback meant to keep it quiet raised
    CancelledError), and tornado logged that as an uncaught exception with its traceback, at each caller that
    went away."""
    a, _, dead, logs = replicas
    size, piece = 96 * 2**20, b"x" * 2**20
    ended = threading.Event()

    def answer(conn) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-votable+xml\r\n"
                     b"Content-Length: %d\r\n\r\n" % size)
        try:
            for _ in range(size // len(piece)):
                conn.sendall(piece)
        except OSError:  # the forwarding replica hung up, as it should once its caller has
            ended.set()

    before = len(logs[0].read_text())
    with _stand_in_owner(dead, answer):
        with socket.create_connection(("127.0.0.1", urlsplit(a).port), timeout=60) as caller:
            caller.sendall(b"GET /tap/async/2.AAAAAAAAAAAAAAAA/results/result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Authorization: " + ALICE["Authorization"].encode() + b"\r\n\r\n")
            assert caller.recv(65536).startswith(b"HTTP/1.1 200")
        # hung up mid-answer, the rest unread; the replica logs the cause before it hangs up on the owner
        assert ended.wait(60), "the replica kept reading from the owner for a caller that had gone"
    said = logs[0].read_text()[before:]
    assert "Traceback" not in said and "ERROR" not in said, said[-3000:]
