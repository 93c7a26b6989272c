"""Shared fixtures: a private copy of the fixture manuals and a store built from it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Every Python process the tests start (ingest workers, CLIs, servers) imports
# tests/netguard/sitecustomize.py first: loopback only, as pytest-socket does for this one.
_NETGUARD = str(ROOT / "tests" / "netguard")
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_NETGUARD, os.environ.get("PYTHONPATH")) if p)

from core.settings import Settings  # noqa: E402
from ingest.run import ingest  # noqa: E402
from tests.helpers import CORPUS, FIXTURES, make_settings  # noqa: E402,F401  (helpers live in tests/helpers.py)
# The fault suite's table is printed by the process that reports (tests/faults/table.py).
from tests.faults.table import pytest_runtest_logreport, pytest_runtest_makereport, pytest_terminal_summary  # noqa: E402,F401


@pytest.fixture
def manuals(tmp_path: Path) -> Path:
    """A writable copy of the fixture manuals (tests edit and delete files)."""
    target = tmp_path / "manuals"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "storage")


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    """The fixture manuals ingested once for the read-only tests."""
    base = tmp_path_factory.mktemp("built")
    shutil.copytree(FIXTURES, base / "manuals")
    settings = make_settings(base / "storage")
    report = ingest([base / "manuals"], settings, progress=False)
    assert report.files.failed == 0, report.errors
    return base, settings


@pytest.fixture(scope="session")
def engine(built_store):
    from query.answer.engine import Engine

    _, settings = built_store
    return Engine(settings)
