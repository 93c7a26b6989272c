"""The live index of a long-running query process: follows the published generation.

Why: a server that loads the store once serves it forever - an edited manual's new fact
never shows, and Chroma's in-process HNSW keeps deleted chunks (ghost sources). Here
every request first reads `storage/current.json` (one small file; ~50 µs), and so does a
watcher thread every LIVE_POLL_SECONDS between requests. When it names
another generation, a loader thread builds a `HybridRetriever` for it *beside* the one in
service; requests keep using the old one meanwhile, so nobody waits for the load. Once
loaded, the next request starts on the new generation; requests already running finish
on the one they started with (they hold it), and the old one is closed when the last of
them ends. See core.generations for how a generation is published.
"""

from __future__ import annotations

import sys
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from core.store import Generation, get_storage
from query.answer.rerank import reranker
from query.answer.retrieve import HybridRetriever

RETRY_SECONDS = 5.0  # after a generation failed to load (e.g. pruned while loading), try again


@dataclass
class _Loaded:
    retriever: HybridRetriever
    users: int = 0
    retired: bool = False

    @property
    def key(self) -> tuple[int, str, str | None]:
        g = self.retriever.generation
        return g.number, g.index, g.lexical


def _key(generation: Generation) -> tuple[int, str, str | None]:
    return generation.number, generation.index, generation.lexical


def _watch(live: weakref.ref[LiveIndex], seconds: float) -> None:
    """Also check between requests, so the first question after an ingestion is
    already answered from the new generation (a request only starts the load).

    Holds the index weakly: an engine nobody uses any more (a finished CLI batch, a test)
    is collected and its watcher ends, instead of loading generations for nobody.
    """
    while True:
        time.sleep(seconds)
        index = live()
        if index is None:
            return
        index.check()
        del index


class LiveIndex:
    def __init__(self, settings: Settings, storage_dir: Path | None = None) -> None:
        self.settings = settings
        self.storage_dir = storage_dir
        self.storage = get_storage(settings, storage_dir)
        self._lock = threading.Lock()
        self._reorder = reranker(settings)  # one reranker client, whatever the generation
        self._active = _Loaded(HybridRetriever(settings, storage_dir, reorder=self._reorder))  # StoreError before any ingestion
        self._loader: threading.Thread | None = None
        self._failed: tuple[tuple, float] | None = None
        if settings.live_poll_seconds > 0:
            threading.Thread(target=_watch, args=(weakref.ref(self), settings.live_poll_seconds),
                             name="generation-watcher", daemon=True).start()

    @property
    def generation(self) -> Generation:
        return self._active.retriever.generation

    @property
    def retriever(self) -> HybridRetriever:
        """The generation in service (for one-off reads; requests use `use()`)."""
        self.check()
        return self._active.retriever

    def check(self) -> threading.Thread | None:
        """Start loading the published generation if it is not the one in service."""
        try:
            published = self.storage.current()
        except (OSError, ValueError):  # pointer unreadable for a moment: keep serving
            return None
        if published is None or _key(published) == self._active.key:
            return None
        with self._lock:
            if self._loader is not None and self._loader.is_alive():
                return self._loader
            if self._failed and self._failed[0] == _key(published) and time.monotonic() - self._failed[1] < RETRY_SECONDS:
                return None
            self._loader = threading.Thread(target=self._load, args=(published,), name="generation-loader", daemon=True)
            self._loader.start()
            return self._loader

    def refresh(self, timeout: float | None = 60.0) -> Generation:
        """Load the published generation now and wait for it (CLI batches, tests)."""
        loader = self.check()
        if loader is not None:
            loader.join(timeout)
        return self.generation

    def _load(self, generation: Generation) -> None:
        started = time.perf_counter()
        try:
            retriever = HybridRetriever(self.settings, self.storage_dir, generation, self._reorder)
        except Exception as exc:  # keep serving the old generation; say why
            self._failed = (_key(generation), time.monotonic())
            print(f"manual-qa: cannot load index generation {generation.number}: {exc}", file=sys.stderr, flush=True)
            return
        with self._lock:
            old, self._active = self._active, _Loaded(retriever)
            old.retired = True
            close_now = old.users == 0
        if close_now:
            old.retriever.close()
        print(f"manual-qa: serving index generation {generation.number} ({generation.kind}, {generation.index}) "
              f"loaded in {time.perf_counter() - started:.2f}s", file=sys.stderr, flush=True)

    @contextmanager
    def use(self) -> Iterator[HybridRetriever]:
        """The generation one request runs on, from start to end."""
        self.check()
        with self._lock:
            loaded = self._active
            loaded.users += 1
        try:
            yield loaded.retriever
        finally:
            with self._lock:
                loaded.users -= 1
                close_now = loaded.retired and loaded.users == 0
            if close_now:
                loaded.retriever.close()
