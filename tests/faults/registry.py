"""Fault cases that need a scenario of their own (a tree of hostile files, a full disk, a
kill -9): each is a plain function of a fresh work directory returning an `Outcome`.
`tests/faults/test_cases.py` runs them under pytest; `tests/faults/conftest.py` prints the
table of every fault case, these and the pytest-native ones, at the end of the run."""

from __future__ import annotations

import importlib
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
