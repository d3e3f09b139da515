"""``LoadShedder``: a hard bound on upstream work in flight, refusing at once past it."""

from __future__ import annotations

import pytest

from serpgate.errors import ServiceUnavailable
from serpgate.traffic.shedding import LoadShedder


def test_past_the_bound_work_is_refused_at_once_and_the_bound_frees_up() -> None:
    shedder = LoadShedder(2, retry_after=3.0)
    with shedder.slot(), shedder.slot():
        assert shedder.in_flight == 2
        with pytest.raises(ServiceUnavailable) as shed, shedder.slot():
            pass
        assert shed.value.status_code == 503
        assert shed.value.retry_after == 3.0
    assert shedder.in_flight == 0
    with pytest.raises(KeyError), shedder.slot():
        raise KeyError("a failed fetch gives its place back too")
    with shedder.slot():
        assert shedder.snapshot() == {"in_flight": 1, "max_in_flight": 2, "shed": 1}
