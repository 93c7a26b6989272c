"""Index generations: how an ingestion's result reaches every query server at once.

A generation is one value of `storage/current.json`: an index directory (its Chroma store
or server collection, its manifest) plus one BM25 snapshot inside it. An ingestion writes
Chroma, commits the manifest, writes a *new* BM25 snapshot directory, and only then moves
the pointer with one `os.replace`. A query server reads the pointer before each request
(one small file read), loads a new generation beside the one it serves and swaps between
requests (query.live). Nothing a reader may still load is ever overwritten: snapshots are
new directories, and old ones are pruned only a few generations later.

What a generation restores. A `--rebuild` writes a new index directory, so the previous
one stays intact and `rollback()` to it is exact. An incremental ingestion updates the
live index's Chroma store in place (copying a store of 250k chunks for every weekly edit
would cost minutes and double the disk); its generations differ only in their BM25
snapshot, and the vectors of changed manuals are already replaced. So rollback goes back
to the newest kept generation that has an index of its own - it undoes everything since
the last rebuild - and says which one it chose. Restoring one edited manual is an edit
and an ingest (chunk ids derive from content: unchanged chunks keep their vectors).

Server mode (CHROMA_HOST). Vectors live in the `chroma run` server, one collection per
index directory. The pointer, the BM25 snapshots, the manifests and info.json stay in
STORAGE_DIR, which every replica and the ingestion job mount (NFS, EFS, a ReadWriteMany
volume). Why files and not Chroma: Chroma 1.5's local and single-node server have no
sparse/BM25 search ("Sparse vector indexing is not enabled in local"), and no blob store
for a BM25 index of tens of MB; a shared directory needs no extra service, its rename is
atomic, and open() revalidates on NFS, so a replica sees a moved pointer at its next
request. The caches stay local to each process (CACHE_DIR): SQLite must not be shared
over NFS.

One writer at a time. The ingestion takes an flock on STORAGE_DIR/.ingest.lock; that
stops a second writer on the same host. Across hosts the deployment must guarantee a
single ingestion job (one scheduled job, e.g. a Kubernetes CronJob with
`concurrencyPolicy: Forbid`): flock over network filesystems is not reliable everywhere,
and Chroma has no compare-and-swap to build a lease on. `publish()` still refuses to move
the pointer when another writer moved it during the run, so two writers cannot silently
overwrite each other's generation.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from core.settings import Settings
from core.store import COLLECTION, SENTENCES, Generation, Storage, StoreError, chroma_client, collection_name

HISTORY = 10  # previous generations listed in current.json (for --status and rollback)


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def history(storage: Storage) -> tuple[Generation | None, list[Generation]]:
    data = storage.read_pointer()
    current = storage.current()
    previous = [Generation.from_dict(g) for g in data.get("previous", [])]
    return current, previous


def publish(
    storage: Storage, settings: Settings, index_dir: Path, lexical: str | None, kind: str,
    manuals: int = 0, chunks: int = 0, expected: Generation | None = None,
) -> Generation:
    """Move the pointer to a new generation; return it. `expected` is the generation the
    caller started from: if the pointer moved meanwhile, another writer ran (see above)."""
    current, previous = history(storage)
    if expected is not None and current is not None and current.number != expected.number:
        raise StoreError(
            f"another ingestion published generation {current.number} while this one ran "
            f"(started from {expected.number}): run one ingestion job at a time, then ingest again"
        )
    number = (current.number if current else 0) + 1
    generation = Generation(number, index_dir.name, lexical, kind, _now(), manuals, chunks)
    kept = ([current] if current and current.kind != "legacy" else []) + previous
    storage.write_pointer(generation, kept[:HISTORY])
    prune(storage, settings)
    return generation


def rollback(storage: Storage, settings: Settings) -> tuple[Generation, Generation]:
    """Point back at the newest kept generation with an index of its own; return (from, to)."""
    current, previous = history(storage)
    if current is None:
        raise StoreError(f"no manuals indexed in {storage.root}: nothing to roll back")
    for candidate in previous:
        lexical = storage.lexical_dir(candidate)
        if candidate.index != current.index and storage.index_path(candidate.index).is_dir() and (
            lexical is None or lexical.is_dir()
        ):
            target = replace(candidate, number=current.number + 1, kind="rollback", published_at=_now())
            storage.write_pointer(target, [current, *previous][:HISTORY])
            return current, target
    raise StoreError(
        f"no earlier index is kept in {storage.root}: the generations since the last --rebuild "
        "updated the live index in place. Restore the manuals you want back and ingest them"
    )


def prune(storage: Storage, settings: Settings) -> list[str]:
    """Delete index directories (and server collections) and BM25 snapshots no kept
    generation needs. Keeps the current index and the KEEP_INDEXES-1 most recent others,
    and in each the snapshots the kept generations name (a server that read the pointer
    just before it moved may still be loading the previous snapshot)."""
    current, previous = history(storage)
    if current is None:
        return []
    kept_indexes: list[str] = []
    snapshots: set[tuple[str, str]] = set()
    for generation in [current, *previous]:
        if generation.index not in kept_indexes and len(kept_indexes) < settings.keep_indexes:
            kept_indexes.append(generation.index)
        if generation.index in kept_indexes and generation.lexical:
            snapshots.add((generation.index, generation.lexical))
    removed = []
    for path in storage.index_dirs():
        if path.name not in kept_indexes:
            _drop_index(path, settings)
            removed.append(path.name)
            continue
        for snapshot in Storage.lexical_dirs(path):
            if (path.name, snapshot.name) not in snapshots:
                shutil.rmtree(snapshot, ignore_errors=True)
    if removed:
        survivors = [g for g in previous if g.index in kept_indexes]
        storage.write_pointer(current, survivors)
    return removed


def _drop_index(path: Path, settings: Settings) -> None:
    if settings.chroma_host:
        try:
            client = chroma_client(Storage.chroma_dir(path), settings)
        except Exception:  # the server is gone: nothing to drop there
            client = None
        for base in (COLLECTION, SENTENCES):
            try:
                if client is not None:
                    client.delete_collection(collection_name(path, settings, base))
            except Exception:  # never made (a run killed before its first write, no sentences) or already gone
                pass
    shutil.rmtree(path, ignore_errors=True)
