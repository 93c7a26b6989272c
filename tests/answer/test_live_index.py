"""The live index of a query process (query/answer/live.py): what outlives an engine."""

from __future__ import annotations

import gc
import threading
import time

from query.answer.live import LiveIndex
from tests.helpers import make_settings


def test_an_engine_nobody_holds_stops_watching_for_generations(built_store):
    """A finished CLI batch, or a test's engine, must not leave a thread behind that keeps
    loading index generations for nobody: in CI such a leftover loader, opening generation
    5 of an earlier test's store, raced the next test's ingestion inside chromadb."""
    base, _ = built_store
    before = set(threading.enumerate())
    live = LiveIndex(make_settings(base / "storage", live_poll_seconds=0.01))
    watchers = [t for t in threading.enumerate() if t not in before and t.name == "generation-watcher"]
    assert len(watchers) == 1 and live.generation.number >= 1
    del live
    gc.collect()
    deadline = time.monotonic() + 5
    while watchers[0].is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not watchers[0].is_alive()
