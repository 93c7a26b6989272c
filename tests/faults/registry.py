"""Fault cases and their outcomes, and the table `make faults` prints."""

from __future__ import annotations

import importlib
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outcome:
    """What one case observed. `handled`: the promised outcome happened (a named error, the
    rest of the batch stored, no hang, no leak). `data_lost`: something stored, or that
    should have been stored, is missing or wrong afterwards."""

    handled: bool
    data_lost: bool
    detail: str
    skipped: bool = False  # the case cannot run here (e.g. no permission to mount a tmpfs)


@dataclass
class Case:
    name: str
    area: str
    expected: str
    run: Callable[[Path], Outcome]  # gets a private, empty work directory


CASES: list[Case] = []


def case(name: str, area: str, expected: str) -> Callable[[Callable[[Path], Outcome]], Callable[[Path], Outcome]]:
    """Register a fault case (decorator)."""

    def register(run: Callable[[Path], Outcome]) -> Callable[[Path], Outcome]:
        CASES.append(Case(name, area, expected, run))
        return run

    return register


def load(modules: list[str]) -> list[Case]:
    for module in modules:
        importlib.import_module(module)
    return CASES


@dataclass
class Result:
    case: Case
    outcome: Outcome
    seconds: float


def run_case(item: Case, workdir: Path) -> Result:
    started = time.perf_counter()
    target = workdir / re.sub(r"[^A-Za-z0-9._-]+", "-", item.name)  # a name may hold "/" ("symlink to /etc")
    target.mkdir(parents=True, exist_ok=True)
    try:
        outcome = item.run(target)
    except Exception as exc:  # a broken case must show in the table, not end the suite
        tail = traceback.format_exc().strip().splitlines()[-1]
        outcome = Outcome(False, False, f"case crashed: {type(exc).__name__}: {tail}")
    return Result(item, outcome, time.perf_counter() - started)


def table(results: list[Result]) -> str:
    rows = [("case", "area", "expected outcome", "handled", "data lost", "s", "detail")]
    for r in results:
        o = r.outcome
        rows.append((r.case.name, r.case.area, r.case.expected, "skipped" if o.skipped else ("yes" if o.handled else "NO"),
                     "-" if o.skipped else ("YES" if o.data_lost else "no"), f"{r.seconds:.0f}", o.detail))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:6], widths)) + "  " + row[6])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 6)
    ran = [r for r in results if not r.outcome.skipped]
    lines.append("")
    lines.append(f"{len(results)} cases, {len(ran)} run: {sum(r.outcome.handled for r in ran)} handled, "
                 f"{sum(not r.outcome.handled for r in ran)} not handled, {sum(r.outcome.data_lost for r in ran)} with data lost, "
                 f"{len(results) - len(ran)} skipped")
    return "\n".join(lines)
