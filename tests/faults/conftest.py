"""The standing fault suite's table: every case in tests/faults/ is a promise under a fault.

`make faults` runs this folder alone; `make test` runs it with everything else. Each test's
docstring states the promised outcome (its first line is the table's "promise"); a test
marked `guards_data` checks that nothing stored was lost or corrupted, so when it fails
the table counts data lost. At the end pytest prints the table: cases tried, handled,
data lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    case: str
    area: str
    promise: str
    result: str  # handled | NOT handled | skipped
    data_lost: bool


ROWS: dict[str, Row] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "guards_data: the case checks that no stored data is lost or corrupted")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    path = Path(str(item.fspath)).resolve()
    if HERE not in path.parents:
        return
    props = dict(item.user_properties)  # a registered scenario names its area and promise
    doc = props.get("promise") or (getattr(item.function, "__doc__", None) or item.name).strip().splitlines()[0]
    name = item.callspec.id if "case" in getattr(getattr(item, "callspec", None), "params", {}) else item.name
    row = ROWS.setdefault(item.nodeid, Row(name.removeprefix("test_"), props.get("area", path.stem.removeprefix("test_")),
                                           doc, "handled", False))
    if "promise" in props:  # recorded during the call: the row was made at set-up
        row.promise, row.area = props["promise"], props.get("area", row.area)
    if report.skipped:
        row.result = "skipped"
    elif report.failed:
        row.result = "NOT handled" if report.when == "call" else f"error in {report.when}"
        # a scenario says itself whether data was lost; a plain test that guards data and fails lost it
        row.data_lost = row.data_lost or bool(props.get("data_lost", item.get_closest_marker("guards_data")))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if not ROWS:
        return
    write = terminalreporter.write_line
    write("")
    write("Fault suite (tests/faults):")
    width = max(len(r.case) for r in ROWS.values())
    write(f"  {'area':<10} {'case':<{width}}  {'result':<11} {'data lost':<9}  promise")
    for row in ROWS.values():
        write(f"  {row.area:<10} {row.case:<{width}}  {row.result:<11} {'YES' if row.data_lost else 'no':<9}  {row.promise}")
    tried = [r for r in ROWS.values() if r.result != "skipped"]
    handled = sum(r.result == "handled" for r in tried)
    lost = sum(r.data_lost for r in tried)
    write(f"  cases tried {len(tried)}, handled {handled}, not handled {len(tried) - handled}, "
          f"data lost {lost}, skipped {len(ROWS) - len(tried)}")
