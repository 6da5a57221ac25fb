"""platform_lib.gateway.cluster's checks made before it asks the gateway anything (its journey, a cell run again
in one kernel, is tested on the running platform: tests/integration/test_platform_dask.py)."""

from __future__ import annotations

import pytest

from platform_lib import gateway

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("workers", [-1, 1.5, "2", True, None])
def test_workers_must_be_a_whole_number_from_zero_up(workers):
    with pytest.raises(ValueError, match=r"workers must be a whole number from 0 up, got "):
        gateway.cluster(workers)
