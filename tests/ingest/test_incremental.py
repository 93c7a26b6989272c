"""Batch ingestion operators can trust: incremental, scoped, crash-safe, locked, lossless."""

from __future__ import annotations

import os
import time

import pytest

from core.lexical import LexicalIndex, tokenize
from core.settings import Settings
from core.store import get_storage, open_collection
from ingest.run import StoreLock, ingest
from tests.faults.helpers import run_ingest
from tests.helpers import FIXTURES, make_settings


def store_state(settings: Settings) -> dict:
    """What a user can observe: chunk ids and texts in Chroma and in the BM25 index."""
    storage = get_storage(settings)
    index_dir = storage.index_dir()
    _, collection = open_collection(index_dir, settings, "usem3", create=False)
    got = collection.get(include=["documents", "metadatas"])
    lexical = LexicalIndex.load(storage.lexical_dir(storage.current()))
    return {
        "ids": sorted(got["ids"]),
        "paths": sorted({m["path"] for m in got["metadatas"]}),
        "docs": dict(zip(got["ids"], got["documents"])),
        "lexical_ids": sorted(lexical.ids),
        "lexical": lexical,
    }


def lexical_paths(state: dict, text: str) -> set[str]:
    index: LexicalIndex = state["lexical"]
    hits = index.search(tokenize(text), 50)
    by_id = dict(zip(index.ids, index.fields["path"]))
    return {by_id[h.chunk_id] for h in hits}


def test_unchanged_rerun_embeds_nothing(manuals, settings):
    first = ingest([manuals], settings, progress=False)
    assert first.files.added == 4 and first.embedded == first.chunks.total > 0
    second = ingest([manuals], settings, progress=False)
    assert second.files.unchanged == 4 and second.files.added == second.files.updated == 0
    assert second.embedded == 0 and second.chunks.added == second.chunks.deleted == 0
    assert second.chunks.total == first.chunks.total


def test_changed_chunk_settings_rechunk_every_manual(manuals, settings):
    first = ingest([manuals], settings, progress=False)
    smaller = settings.model_copy(update={"chunk_size": 128, "chunk_overlap": 16})
    again = ingest([manuals], smaller, progress=False)
    assert again.files.updated == 4 and again.files.unchanged == 0
    state = store_state(smaller)
    assert len(state["ids"]) > first.chunks.total and state["ids"] == state["lexical_ids"]
    assert ingest([manuals], smaller, progress=False).embedded == 0


def test_edited_manual_replaces_its_chunks(manuals, settings):
    ingest([manuals], settings, progress=False)
    before = store_state(settings)
    page = manuals / "billing" / "cancel.html"
    page.write_text(page.read_text(encoding="utf-8").replace("138,000원", "150,000원"), encoding="utf-8")
    report = ingest([manuals], settings, progress=False)
    assert report.files.updated == 1 and report.files.unchanged == 3
    assert 0 < report.embedded < before["ids"].__len__()  # only the changed chunk is re-embedded
    after = store_state(settings)
    assert not [d for d in after["docs"].values() if "138,000원" in d]
    assert [d for d in after["docs"].values() if "150,000원" in d]
    assert after["ids"] == after["lexical_ids"]
    assert "billing/cancel.html" not in lexical_paths(after, "138000")
    assert "billing/cancel.html" in lexical_paths(after, "150000")


def test_deleted_manual_disappears_from_both_indexes(manuals, settings):
    ingest([manuals], settings, progress=False)
    (manuals / "en" / "guide.html.en").unlink()
    report = ingest([manuals], settings, progress=False)
    assert report.files.deleted == 1 and report.deleted_paths == ["en/guide.html.en"]
    state = store_state(settings)
    assert "en/guide.html.en" not in state["paths"]
    assert state["ids"] == state["lexical_ids"]
    assert not lexical_paths(state, "daily roaming pass refund")


def test_subfolder_batch_leaves_other_manuals_alone(manuals, settings):
    ingest([manuals], settings, progress=False)
    before = store_state(settings)
    (manuals / "plans.html").unlink()  # outside the sub-folder: must not be touched
    report = ingest([manuals / "billing"], settings, progress=False)
    assert report.files.unchanged == 2 and report.files.deleted == 0
    assert store_state(settings)["ids"] == before["ids"]


def test_failed_update_keeps_the_previous_version(manuals, settings):
    ingest([manuals], settings, progress=False)
    before = store_state(settings)
    (manuals / "billing" / "cancel.html").write_bytes(b"\x00\x01\x02 binary garbage \xff" * 100)
    report = ingest([manuals], settings, progress=False)
    assert report.errors == [{"path": "billing/cancel.html", "reason": "binary content, not an HTML text file"}]
    assert report.exit_code == 3
    assert store_state(settings)["ids"] == before["ids"]  # old chunks still searchable


def test_each_kind_of_bad_file_is_reported_and_loses_nothing(manuals, settings):
    (manuals / "empty.html").write_bytes(b"")
    (manuals / "binary.html").write_bytes(os.urandom(4096))
    (manuals / "mis-encoded.html").write_bytes('<meta charset="utf-8"><p>요금</p>'.encode("euc_kr"))
    with open(manuals / "huge.html", "wb") as handle:  # sparse 50 MB file
        handle.truncate(50 * 1024 * 1024)
    (manuals / "dangling.html").symlink_to(manuals / "does-not-exist.html")
    (manuals / "billing" / "loop").symlink_to(manuals)
    truncated = (FIXTURES / "plans.html").read_bytes()[:900]
    (manuals / "truncated.html").write_bytes(truncated)
    report = ingest([manuals], settings, progress=False)
    reasons = {e["path"]: e["reason"] for e in report.errors}
    assert "empty" in reasons["empty.html"]
    assert "binary" in reasons["binary.html"]
    assert "undecodable" in reasons["mis-encoded.html"]
    assert "too large" in reasons["huge.html"]
    assert "dangling" in reasons["dangling.html"]
    assert any("symlink loop" in r for p, r in reasons.items() if p.startswith("billing/loop"))
    assert "truncated.html" not in reasons  # readable part ingested, with a warning
    assert any(w["path"] == "truncated.html" for w in report.warnings)
    assert report.files.added == 5
    assert sorted(store_state(settings)["paths"]) == sorted(
        ["plans.html", "truncated.html", "billing/cancel.html", "billing/suspend.html", "en/guide.html.en"]
    )


def test_second_concurrent_ingest_fails_fast(manuals, settings):
    storage = get_storage(settings)
    with StoreLock(storage.lock_path):
        started = time.time()
        result = run_ingest(manuals, settings.storage_dir, timeout=60)
        elapsed = time.time() - started
    assert result.returncode == 2
    assert "another ingestion is writing" in result.stderr and str(os.getpid()) in result.stderr
    assert elapsed < 30


def test_rebuild_swaps_in_a_fresh_index_and_keeps_failed_manuals(manuals, settings):
    ingest([manuals], settings, progress=False)
    before = store_state(settings)
    old_dir = get_storage(settings).index_dir()
    (manuals / "plans.html").write_bytes(b"")  # fails during the rebuild: its old chunks must survive
    report = ingest([manuals], settings, fresh=True, progress=False)
    assert report.files.failed == 1 and report.files.added == 3
    new_dir = get_storage(settings).index_dir()
    assert new_dir != old_dir and old_dir.exists()  # kept for --rollback (KEEP_INDEXES)
    assert store_state(settings)["ids"] == before["ids"]


@pytest.mark.parametrize("keep", [1, 3])
def test_rebuilds_keep_keep_indexes_index_directories(manuals, tmp_path, keep):
    """Each rebuild publishes a fresh index directory; pruning keeps the current one and
    KEEP_INDEXES-1 before it (for --rollback), and deletes the rest."""
    settings = make_settings(tmp_path / "storage", keep_indexes=keep)
    seen = []
    for _ in range(4):
        ingest([manuals], settings, fresh=True, progress=False)
        seen.append(get_storage(settings).index_dir())
    assert len(set(seen)) == 4  # four generations, four directories
    kept = [d for d in seen if d.exists()]
    assert kept == seen[-keep:], (kept, seen)
