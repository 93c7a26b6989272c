"""The standing fault suite's table (see tests/faults/conftest.py): its rows and the hooks
that fill and print it.

Why a module of its own, imported by tests/conftest.py: under pytest-xdist (`make test`
runs two workers) the cases run in the workers while the table is printed by the
controller, which loads only the top conftest. What a row needs from the test item (its
docstring, its parameter id, its markers) rides on the item's report, which xdist sends
to the controller; `pytest_runtest_logreport` fills the rows there (and in-process when
the suite runs without workers, as `make faults` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FAULT_ROW = "fault_row"


@dataclass
class Row:
    case: str
    area: str
    promise: str
    result: str  # handled | NOT handled | skipped
    data_lost: bool


ROWS: dict[str, Row] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Where the test runs (a pytest-xdist worker, or this process): what the table needs
    from the item rides on its report, which the controller reads (`pytest_runtest_logreport`)."""
    outcome = yield
    report = outcome.get_result()
    path = Path(str(item.fspath)).resolve()
    if HERE not in path.parents:
        return
    doc = (getattr(item.function, "__doc__", None) or item.name).strip().splitlines()[0]
    name = item.callspec.id if "case" in getattr(getattr(item, "callspec", None), "params", {}) else item.name
    report.user_properties.append((FAULT_ROW, {"case": name.removeprefix("test_"), "area": path.stem.removeprefix("test_"),
                                               "promise": doc, "guards_data": bool(item.get_closest_marker("guards_data"))}))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each report of a fault case updates its row, in the process that prints the table."""
    props = dict(report.user_properties)  # a registered scenario names its area and promise
    found = props.get(FAULT_ROW)
    if found is None:
        return
    row = ROWS.setdefault(report.nodeid, Row(found["case"], props.get("area", found["area"]),
                                             props.get("promise", found["promise"]), "handled", False))
    if "promise" in props:  # recorded during the call: the row was made at set-up
        row.promise, row.area = props["promise"], props.get("area", row.area)
    if report.skipped:
        row.result = "skipped"
    elif report.failed:
        row.result = "NOT handled" if report.when == "call" else f"error in {report.when}"
        # a scenario says itself whether data was lost; a plain test that guards data and fails lost it
        row.data_lost = row.data_lost or bool(props.get("data_lost", found["guards_data"]))


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
