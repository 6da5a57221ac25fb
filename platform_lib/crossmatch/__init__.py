"""Catalogue crossmatch: positional matching in memory and on Dask, with epochs and probabilities.

This package owns matching two (or more) catalogues on the sky. ``_engine`` is the numba kernel
(arrays in, pairs out), ``_epoch``
propagates proper motions, ``_api`` is the public :func:`crossmatch` (tables in, rows out), ``_dask`` runs the kernel per
HEALPix partition pair (its :func:`dask_client` is the Dask client the jobs use too), ``_partitions`` matches HATS catalogues on disk with its own reader and
writer, ``_touched`` matches a table against the partitions of a catalogue it touches in memory (``_ondisk`` reads
them with pyarrow, no lsdb), ``_hours`` warns when a side's RA looks like hours (``nway_match`` and sky maps too), ``_sides`` tells what a side is (a table, a Dask DataFrame, a catalogue), ``_inputs`` holds the checked options and table inputs these share, ``_warm`` compiles the kernel ahead of use (the install step's ``astrohub kernels compile``). Nothing is imported from here at ``platform_lib`` import time, and the names below are
imported on first use.
"""

import importlib

__all__ = [
    "compile_kernels",
    "seed_cache",
    "warm_calls",
    "crossmatch",
    "check_columns",
    "match_pairs",
    "prepare",
    "PreparedSide",
    "propagate",
    "CrossmatchError",
    "CrossmatchInputError",
    "DroppedRowsWarning",
    "RaInHoursWarning",
    "warn_ra_in_hours",
    "warn_dropped",
    "MatchConfidenceError",
    "PositionalErrors",
    "match_probability",
    "nway_match",
    "dask_client",
    "input_bytes",
]

# Imported on first use, so that a Dask worker running one partition task (``_partitions``) does not
# import astropy.coordinates, astropy.table and scipy for the in-memory API it never calls.
_HOME = {
    "compile_kernels": "_warm",
    "seed_cache": "_warm",
    "warm_calls": "_warm",
    "crossmatch": "_api",
    "check_columns": "_api",
    "match_pairs": "_engine",
    "prepare": "_engine",
    "PreparedSide": "_engine",
    "propagate": "_epoch",
    "CrossmatchError": "_errors",
    "CrossmatchInputError": "_errors",
    "DroppedRowsWarning": "_errors",
    "RaInHoursWarning": "_errors",
    "warn_ra_in_hours": "_hours",
    "warn_dropped": "_errors",
    "MatchConfidenceError": "_bayes",
    "PositionalErrors": "_bayes",
    "match_probability": "_bayes",
    "nway_match": "_nway",
    "dask_client": "_dask",
    "input_bytes": "_dask",
}


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
