"""One storage API over the user's spaces: home, group workspaces, datasets (read-only), scratch, object storage.

Public API:

``Storage(settings=None, object_spaces=None, quotas=None)``
    Addresses are ``"<space>:<path>"``: ``home:``, ``scratch:``, ``datasets:`` (read-only),
    ``group/<name>:`` (members only), ``workspace/<name>:`` (a shared analysis workspace whose folder
    lets the user in; read-only for its readers), or a configured object space (any fsspec URL).
    ``list``, ``exists``, ``read_bytes``, ``open``, ``write_bytes`` (atomic), ``mkdir``, ``copy``,
    ``move``, ``delete``, ``share(address, group)``, ``usage(space)``, ``set_quota(space, bytes)``,
    ``read_table``/``write_table``/``read_dataframe`` (FITS, VOTable, Parquet, HDF5, CSV, TSV, ECSV; text
    tables are read by their content, as catalogue ingest reads them) and ``read_image``/``write_image``
    (FITS HDUs).

``quota_path(root)``, ``read_quota(fs, root)``, ``write_quota(fs, root, bytes)``, ``migrate_quota_files(parent)``
    Where a space's quota is kept (beside the space, in ``.astrohub-quotas``, which only the operator writes),
    reading and setting it (``astrohub quotas``), and moving the quota files spaces once held at their root.

``size_text(n)``
    ``n`` bytes in words, as ``platform_lib.usage()`` and the refusals write them (``2.4 MB``, ``1 byte``).

``tree_bytes(path, limit=None)``
    The bytes of the regular files under a local folder, symbolic links neither followed nor counted (a job's
    result against the home's quota, the size of a crossmatch's input), optionally counted only until past a limit.

Errors are :class:`StorageError` subclasses with a ``code``: ``space-not-found``, ``not-found``,
``path-escape``, ``read-only``, ``not-a-member``, ``quota-exceeded``, ``exists``, ``unknown-format``, and
``workspace-deleted`` (:class:`WorkspaceDeleted`, a ``space-not-found``: who deleted the workspace, when, and how to
keep one's work).

Examples
--------
>>> from platform_lib import get_settings
>>> from platform_lib.storage import Storage
>>> st = Storage(get_settings(home="/tmp/alice"))                 # doctest: +SKIP
>>> st.write_table(table, "home:results/m31.parquet")             # doctest: +SKIP
>>> st.share("home:results/m31.parquet", "lensing")               # doctest: +SKIP
'group/lensing:shared/alice/m31.parquet'
"""

from platform_lib.storage._errors import (
    AlreadyExists,
    FormatCannotHold,
    NotAMember,
    PathEscape,
    PathNotFound,
    QuotaExceeded,
    ReadOnlySpace,
    SpaceNotFound,
    StorageError,
    UnknownFormat,
    WorkspaceDeleted,
)
from platform_lib.storage._sizes import size_text
from platform_lib.storage._spaces import Space, migrate_quota_files, quota_path, read_quota, tree_bytes, write_quota
from platform_lib.storage._storage import Entry, Storage, Usage

__all__ = [
    "Storage",
    "Space",
    "Entry",
    "Usage",
    "StorageError",
    "SpaceNotFound",
    "PathNotFound",
    "PathEscape",
    "ReadOnlySpace",
    "NotAMember",
    "QuotaExceeded",
    "AlreadyExists",
    "UnknownFormat",
    "FormatCannotHold",
    "WorkspaceDeleted",
    "size_text",
    "tree_bytes",
    "quota_path",
    "read_quota",
    "write_quota",
    "migrate_quota_files",
]
