"""A running query server follows every ingestion: edits, deletions, rebuilds, rollback.

Operator's view: `python -m query.server` runs in its own process while `python -m ingest`
runs in another; agents keep asking throughout.
"""

from __future__ import annotations

import json
import shutil

import pytest
from pathlib import Path

from ingest.cli import main as ingest_cli
from ingest.run import ingest as run_ingest
from tests.helpers import FIXTURES, make_settings
from tests.servers import Askers, ask, query_server, shows, wait_until

pytestmark = pytest.mark.slow  # a real browser / a live server process / `chroma run`

PRICE = "How much is the daily roaming pass?"
SUSPEND = "일시 정지는 1년에 최대 며칠까지 가능한가요?"
OTHERS = ["1년 안에 인터넷을 해지하면 위약금이 얼마인가요?", "베이직 500M 3년 약정 월 요금은?", PRICE, SUSPEND]
FRESH_WITHIN = 2.0  # seconds from the end of an ingestion to the first answer that shows it


def _edit(page: Path, old: str, new: str) -> None:
    text = page.read_text(encoding="utf-8")
    assert old in text
    page.write_text(text.replace(old, new), encoding="utf-8")


def _no_source_from(url: str, path: str) -> None:
    for question in OTHERS:
        assert all(s["path"] != path for s in ask(url, question)["sources"]), question


def test_running_server_follows_edits_deletes_rebuilds_and_rollback(tmp_path, capsys):
    """The server runs in its own process; ingestion runs here (the test process has the
    models loaded already: a subprocess per run would add ~10 s each on CI)."""
    manuals, storage = tmp_path / "manuals", tmp_path / "storage"
    shutil.copytree(FIXTURES, manuals)
    guide = manuals / "en" / "guide.html.en"
    settings = make_settings(storage)

    def ingest(*, rebuild: bool = False) -> None:
        report = run_ingest([manuals], settings, fresh=rebuild, progress=False)
        assert report.files.failed == 0, report.errors

    ingest()
    with query_server(storage) as url:
        assert shows(ask(url, PRICE), "11,000 KRW")
        askers = Askers([url], OTHERS)

        # an edit, ingested incrementally while agents ask
        _edit(guide, "11,000 KRW", "13,000 KRW")
        with askers.during():
            ingest()
        took, result = wait_until(url, PRICE, lambda r: shows(r, "13,000 KRW"), 10)
        assert shows(result, "13,000 KRW") and not shows(result, "11,000 KRW"), result
        assert took < FRESH_WITHIN, f"the edit showed after {took:.2f}s"

        # a deleted manual never shows again
        (manuals / "billing" / "suspend.html").unlink()
        with askers.during():
            ingest()
        took, _ = wait_until(url, SUSPEND, lambda r: all(s["path"] != "billing/suspend.html" for s in r["sources"]), 10)
        assert took < FRESH_WITHIN, f"the deleted manual was still cited {took:.2f}s after the ingestion"
        _no_source_from(url, "billing/suspend.html")

        # a rebuild swaps in a new index directory
        _edit(guide, "13,000 KRW", "15,000 KRW")
        with askers.during():
            ingest(rebuild=True)
        took, result = wait_until(url, PRICE, lambda r: shows(r, "15,000 KRW"), 10)
        assert shows(result, "15,000 KRW") and not shows(result, "13,000 KRW"), result
        assert took < FRESH_WITHIN, f"the rebuild showed after {took:.2f}s"
        _no_source_from(url, "billing/suspend.html")

        # rollback: the index from before the rebuild is served again, exactly
        with askers.during():
            assert ingest_cli(["--rollback", "--storage", str(storage)]) == 0
        assert "rolled back" in capsys.readouterr().out
        took, result = wait_until(url, PRICE, lambda r: shows(r, "13,000 KRW"), 10)
        assert shows(result, "13,000 KRW") and not shows(result, "15,000 KRW"), result
        assert took < FRESH_WITHIN, f"the rollback showed after {took:.2f}s"
        _no_source_from(url, "billing/suspend.html")

        assert askers.errors == [], askers.errors[:5]
        assert askers.bad_sources == [], askers.bad_sources[:3]
        assert askers.asked >= 4  # answered while ingestions wrote
    pointer = json.loads((storage / "current.json").read_text())
    assert pointer["current"]["kind"] == "rollback" and pointer["current"]["number"] == 6


def test_no_change_ingest_publishes_nothing_and_rollback_without_a_kept_index_is_refused(tmp_path):
    from core.generations import publish, rollback
    from core.store import StoreError, get_storage
    from ingest.run import ingest as run_ingest
    from tests.helpers import make_settings

    manuals = tmp_path / "manuals"
    shutil.copytree(FIXTURES, manuals)
    settings = make_settings(tmp_path / "storage")
    first = run_ingest([manuals], settings, progress=False)
    again = run_ingest([manuals], settings, progress=False)
    assert first.generation == again.generation  # servers are not made to reload for nothing
    storage = get_storage(settings)
    with pytest.raises(StoreError, match="no earlier index is kept"):
        rollback(storage, settings)
    assert storage.current().number == first.generation

    # a second writer that published during this run: this one refuses to move the pointer
    stale = storage.current()
    publish(storage, settings, storage.index_dir(), stale.lexical, "incremental")
    with pytest.raises(StoreError, match="another ingestion published"):
        publish(storage, settings, storage.index_dir(), stale.lexical, "incremental", expected=stale)
