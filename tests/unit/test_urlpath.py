"""platform_lib.urlpath (the archive's) and astrohub_hub.urlpath (the classes service's copy: the hub package never
imports platform_lib) say the same of every path, and name the byte that is not UTF-8 and where it was sent."""

from __future__ import annotations

import pytest

from astrohub_hub.urlpath import not_utf8 as hub_not_utf8
from platform_lib.urlpath import not_utf8

pytestmark = pytest.mark.unit

PATHS = [
    "/", "/services/archive/tap/sync", "/services/archive/caf%C3%A9", "/caf\u00e9", "/a%2Fb%20c",
    "/services/archive/tap/sync%FF", "/x/%c3", "/x/%C3%A9%FF", "/x/%e9t%e9", "/\xff", "/a/b\xc3", "/a%zz%FF",
    "/%", "/a%F", "/" + "n" * 200 + "%80", "/\u2603%FF",
]


@pytest.mark.parametrize("path", PATHS)
def test_the_hubs_copy_says_the_same(path):
    assert hub_not_utf8(path) == not_utf8(path)


@pytest.mark.parametrize(("path", "where"), [
    ("/x/%C3%A9%FF", "byte 0xFF (sent as %FF) at character 10 of the path, after '/x/\u00e9'"),
    ("/x/%e9t%e9", "byte 0xE9 (sent as %e9) at character 4 of the path, after '/x/'"),
    ("/a%zz%FF", "byte 0xFF (sent as %FF) at character 6 of the path, after '/a%zz'"),
    # raw bytes, as tornado reads them (Latin-1): UTF-8's two bytes of é are text, a lone byte is not
    ("/a/b\xc3", "byte 0xC3 at character 5 of the path, after '/a/b'"),
    ("/caf\u00c3\u00a9/\xe9", "byte 0xE9 at character 8 of the path, after '/caf\u00e9/'"),
    ("/" + "n" * 200 + "%80", "byte 0x80 (sent as %80) at character 202 of the path, after '..." + "n" * 77 + "'"),
])
def test_names_the_byte_and_where_it_was_sent(path, where):
    assert not_utf8(path) == f"the path is not valid UTF-8: {where}; percent-encode the path's text as UTF-8"


@pytest.mark.parametrize("path", ["/", "/caf%C3%A9", "/caf\u00c3\u00a9", "/%", "/a%F", "/a%zz"])
def test_a_path_that_decodes_is_none(path):
    assert not_utf8(path) is None
