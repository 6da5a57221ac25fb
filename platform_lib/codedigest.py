"""The digest of some of the platform's own source files: the "made by this code" that a built product records.

Owns :func:`code_digest`. The image index records the digest of the code its records are derived by
(:func:`platform_lib.imageindex.ingest.derivation`), the sample data the digest of the code each item is built by
(:func:`platform_lib.sampledata._versions.version`): when an upgrade changes that code, the product is made again.
Standard library only, so that both may import it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

__all__ = ["PLATFORM", "code_digest"]

#: The folder the patterns are relative to: ``platform_lib/``.
PLATFORM = Path(__file__).resolve().parent


def code_digest(patterns: Iterable[str], root: Path | None = None) -> str:
    """The SHA-256 (hex) of the files under ``root`` (default :data:`PLATFORM`) that the glob ``patterns`` name:
    each file's path relative to ``root`` and its bytes, in path order. A file no pattern names never changes it.

    >>> code_digest(["fitsfiles.py"]) == code_digest(["fitsfiles.py", "fitsfiles.py"])
    True
    """
    root = PLATFORM if root is None else Path(root)
    digest = hashlib.sha256()
    for path in sorted({path for pattern in patterns for path in root.glob(pattern) if path.is_file()}):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest()
