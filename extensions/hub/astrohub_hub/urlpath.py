"""Where a request's URL path is not UTF-8, said in words, for the classes service's JSON errors: the same check as
``platform_lib.urlpath`` (the archive's), copied because the hub package never imports ``platform_lib`` (the hub image
installs none of it); ``tests/unit/test_urlpath.py`` checks that the two say the same. Pure; imports the standard
library only.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

__all__ = ["not_utf8"]


def not_utf8(path: str) -> str | None:
    """Why ``path`` (a request's path as the HTTP server read it: percent-escapes as sent, raw bytes as Latin-1
    characters, as tornado gives it) is not UTF-8 once decoded, as a sentence to answer with; None when it is.

    >>> not_utf8("/services/archive/tap/sync") is None
    True
    >>> not_utf8("/services/archive/caf%C3%A9") is None
    True
    >>> not_utf8("/services/archive/tap/sync%FF")
    "the path is not valid UTF-8: byte 0xFF (sent as %FF) at character 27 of the path, after '/services/archive/tap/sync'; percent-encode the path's text as UTF-8"
    >>> not_utf8("/a/\\xff")
    "the path is not valid UTF-8: byte 0xFF at character 4 of the path, after '/a/'; percent-encode the path's text as UTF-8"
    """
    try:
        sent = path.encode("latin-1")
    except UnicodeEncodeError:  # already decoded text: nothing undecodable left in it
        return None
    raw = unquote_to_bytes(sent)
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError as error:
        start = error.start
    # the same byte's place in the path as sent: each escape before it is three characters there
    decoded = 0
    index = 0
    while decoded < start:
        index += 3 if sent[index:index + 1] == b"%" and _is_escape(sent[index:index + 3]) else 1
        decoded += 1
    escaped = sent[index:index + 1] == b"%" and _is_escape(sent[index:index + 3])
    how = f" (sent as {sent[index:index + 3].decode('ascii')})" if escaped else ""
    before = raw[:start].decode("utf-8", "replace")
    before = before if len(before) <= 80 else "..." + before[-77:]
    return (f"the path is not valid UTF-8: byte 0x{raw[start]:02X}{how} at character {index + 1} of the path, after "
            f"{before!r}; percent-encode the path's text as UTF-8")


def _is_escape(three: bytes) -> bool:
    return len(three) == 3 and all(c in b"0123456789abcdefABCDEF" for c in three[1:])
