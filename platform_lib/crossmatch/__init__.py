"""Catalogue crossmatch: positional matching in memory and on Dask, with epochs and probabilities.

This package owns matching two (or more) catalogues on the sky. ``_engine`` is the numba kernel
(arrays in, pairs out), ``_epoch``
propagates proper motions, ``_api`` is the public :func:`crossmatch` (tables in, rows out), ``_dask`` runs the kernel per
HEALPix partition pair. Nothing is imported from here at ``platform_lib`` import time.
"""

from platform_lib.crossmatch._api import crossmatch
from platform_lib.crossmatch._bayes import MatchConfidenceError, PositionalErrors, match_probability
from platform_lib.crossmatch._engine import match_pairs
from platform_lib.crossmatch._epoch import propagate
from platform_lib.crossmatch._errors import CrossmatchError, CrossmatchInputError, DroppedRowsWarning
from platform_lib.crossmatch._nway import nway_match

__all__ = [
    "crossmatch",
    "match_pairs",
    "propagate",
    "CrossmatchError",
    "CrossmatchInputError",
    "DroppedRowsWarning",
    "MatchConfidenceError",
    "PositionalErrors",
    "match_probability",
    "nway_match",
]
