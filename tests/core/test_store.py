"""The store layer: opening Chroma clients from several threads of one process."""

from __future__ import annotations

import threading

from core.settings import Settings
from core.store import chroma_client, reader_client


def test_a_client_opens_while_another_thread_loads_a_generation(tmp_path):
    """A query server's loader thread opens each new generation with a System of its own
    (`reader_client` clears Chroma's per-path cache); an ingestion or a second store opened
    meanwhile in the same process must still get its client, not a KeyError from chromadb.
    Without the lock this fails within a few dozen opens (seen in CI: an ingest test died
    while a previous test's server was loading generation 5)."""
    settings = Settings(storage_dir=str(tmp_path))
    stop = threading.Event()

    def load_generations() -> None:
        while not stop.is_set():
            _, system = reader_client(tmp_path / "served", settings)
            system.stop()

    loader = threading.Thread(target=load_generations, daemon=True)
    loader.start()
    try:
        opened = [chroma_client(tmp_path / "ingesting", settings) for _ in range(150)]
    finally:
        stop.set()
        loader.join(30)
    assert len(opened) == 150 and not loader.is_alive()
