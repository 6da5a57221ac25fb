"""A Dask DataFrame whose partitions count how often they are computed, for the tests that a crossmatch computes a
user's Dask DataFrame no more than it says (test_crossmatch_lazy_dask.py, test_crossmatch_hours.py).

Owns :class:`CountedFrame`. The counts live in this module (the partition function and its arguments pickle, as a
distributed client wants even in-process), so they count in this process only: the threaded scheduler, or a
``LocalCluster(processes=False)``."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pandas as pd

_CALLS: dict[int, list[int]] = {}
_LOCK = threading.Lock()
_IDS = itertools.count()


def _part(frame_id: int, rows: pd.DataFrame) -> pd.DataFrame:
    with _LOCK:
        _CALLS[frame_id].append(len(rows))
    return rows


class CountedFrame:
    """``frame`` as a Dask DataFrame (``.frame``) of ``n`` partitions, each made by a delayed function that appends
    its row count to ``calls`` when it runs; ``sizes`` are the partitions' row counts, ``sampled`` what the RA-in-hours
    check reads before a match (``crossmatch._touched._sample_of``: the first partition)."""

    def __init__(self, frame: pd.DataFrame, n: int = 4) -> None:
        import dask
        import dask.dataframe as dd

        self.id = next(_IDS)
        _CALLS[self.id] = []
        bounds = np.linspace(0, len(frame), n + 1).astype(int)
        self.sizes = [int(n) for n in np.diff(bounds)]
        self.sampled = self.sizes[:1]
        self.frame = dd.from_delayed(
            [dask.delayed(_part)(self.id, frame.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])],
            meta=frame.iloc[:0])

    @property
    def calls(self) -> list[int]:
        return _CALLS[self.id]
