"""The registered fault scenarios (tests/faults/registry.py) as pytest cases."""

from __future__ import annotations

import pytest

from tests.faults import AREAS
from tests.faults.registry import load

CASES = load(AREAS)


@pytest.mark.slow
@pytest.mark.guards_data
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fault_case(case, tmp_path, record_property):
    record_property("area", case.area)
    record_property("promise", case.expected)
    outcome = case.run(tmp_path)
    record_property("data_lost", outcome.data_lost)
    if outcome.skipped:
        pytest.skip(outcome.detail)
    assert outcome.handled and not outcome.data_lost, outcome.detail
