"""The three copies of the sizes' text agree: the hub's pages (``astrohub_hub.sizes``), a save Lab refuses
(``astrohub_server.sizes``) and ``platform_lib.usage()`` and ``platform_lib.storage``'s refusals (``platform_lib.storage.size_text``). Each package keeps
its own (the server imports neither of the others; the hub's image has no ``platform_lib``), so this test is
what keeps them one text."""

import pytest

from astrohub_hub.sizes import size_text as hub_text
from astrohub_server.sizes import size_text as server_text
from platform_lib.storage import size_text as notebook_text

pytestmark = pytest.mark.unit

SIZES = (0, 1, 2, 999, 1_000, 3_072, 999_999, 2_406_272, 10**9 - 1, 50 * 10**9, 10**12, 1_500 * 10**12)


def test_the_hub_the_server_and_the_notebook_write_a_size_alike():
    """classscore23: Lab's refusal said "quota of 50,000,000 bytes" where the class page said 50.0 MB, and
    ``platform_lib.usage()`` wrote 1.5 TB as 1,500.0 GB and one byte as "1 bytes"."""
    expected = [hub_text(n) for n in SIZES]
    assert expected[:6] == ["0 bytes", "1 byte", "2 bytes", "999 bytes", "1.0 kB", "3.1 kB"]
    assert [server_text(n) for n in SIZES] == expected
    assert [notebook_text(n) for n in SIZES] == expected
