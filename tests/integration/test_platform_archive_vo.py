"""The platform's archive as a VO power user meets it: its answers read by the VO's own validators and clients.

What a walk of the running platform with pyvo and STILTS found (session 17): each test here failed on the code
before it. The archive is the session platform's (``services/archive/`` behind the proxy), read anonymously or
with a user's token as a client would.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import requests

VO = "{http://www.ivoa.net/xml/VOTable/v1.3}"


@pytest.fixture
def archive(platform) -> str:
    """The archive's base URL on the session platform (ends with ``/``)."""
    if not platform.config.archive.enabled:
        pytest.skip("the archive service is not enabled in this platform")
    return f"{platform.url}services/archive/"


def _status(body: bytes) -> tuple[str, str]:
    for info in ET.fromstring(body).iter(VO + "INFO"):
        if info.get("name") == "QUERY_STATUS":
            return info.get("value"), (info.text or "").strip()
    raise AssertionError("no QUERY_STATUS")


@pytest.mark.skipif(shutil.which("stilts") is None, reason="STILTS is installed by make install-test")
def test_datalink_error_rows_pass_stilts_datalinklint(archive):
    """A DataLink row for an ID the archive does not have (or hides) had no ``semantics``: ``stilts datalinklint``
    reported ``E-DRS0 Null semantics entry`` (DataLink: every row has one). It is now a ``#this`` row with the
    ``NotFoundFault``, so pyvo's ``getdataurl()`` raises that message."""
    url = f"{archive}datalink?ID=ivo://astrohub/archive?no/such/image"
    proc = subprocess.run(["stilts", "datalinklint", f"votable={url}"], capture_output=True, text=True, timeout=120)
    report = proc.stdout + proc.stderr
    assert "Totals: Errors: 0; Warnings: 0" in report, report
    rows = ET.fromstring(requests.get(url, timeout=30).content).iter(VO + "TR")
    cells = [[td.text for td in tr.iter(VO + "TD")] for tr in rows]
    assert len(cells) == 1 and cells[0][3].startswith("NotFoundFault:") and cells[0][4] == "#this", cells


def test_tap_refuses_a_format_naming_only_the_formats_tap_offers(archive):
    """An unknown ``RESPONSEFORMAT`` on TAP was refused naming ``ipac`` among the formats to use (SIA's list),
    and ``ipac`` was then refused as "not offered by TAP". Both refusals now name what TAP's capabilities
    declare, and nothing else."""
    from pyvo.io.vosi import parse_capabilities

    caps = parse_capabilities(io.BytesIO(requests.get(f"{archive}tap/capabilities", timeout=30).content))
    (tap,) = [c for c in caps if c.standardid == "ivo://ivoa.net/std/TAP"]
    declared = {of.aliases[0] for of in tap.outputformats}
    assert "ipac" not in declared
    for asked in ("html", "ipac"):
        answer = requests.get(f"{archive}tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT 1",
                                                             "RESPONSEFORMAT": asked}, timeout=30)
        assert answer.status_code == 400
        status, text = _status(answer.content)
        named = set(text.split("use one of ", 1)[1].split(" (or")[0].split(", "))
        assert status == "ERROR" and text.startswith(f"UsageFault: RESPONSEFORMAT='{asked}'"), text
        assert named == declared, text
