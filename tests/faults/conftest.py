"""The standing fault suite's table: every case in tests/faults/ is a promise under a fault.

`make faults` runs this folder alone; `make test` runs it with everything else. Each test's
docstring states the promised outcome (its first line is the table's "promise"); a test
marked `guards_data` checks that nothing stored was lost or corrupted, so when it fails
the table counts data lost. At the end pytest prints the table (tests/faults/table.py):
cases tried, handled, data lost.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "guards_data: the case checks that no stored data is lost or corrupted")
