"""The incremental, crash-safe ingestion run.

Per manual, in this order: new chunks are embedded and added to Chroma, kept chunks get
fresh metadata, stale chunks are deleted, and only then the manifest row (hash + chunk
tokens) commits in one SQLite transaction. A kill at any point leaves the manifest saying
"old version" for that manual, so the next run redoes it; ids derive from content, so
redoing is idempotent. A run that died mid-write leaves a `dirty` mark, and the next run
sweeps Chroma for chunks the manifest does not know. The BM25 index is rebuilt from the
manifest whenever its generation moved.
"""

from __future__ import annotations

import fcntl
import hashlib
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from llama_index.core.schema import MetadataMode, TextNode
from tqdm import tqdm

from core.embedding import embeds_in_process, get_embed_model
from core.lexical import LexicalIndex
from core.settings import Settings
from core.store import Storage, add_nodes, chroma_metadata, get_storage, open_collection, write_info
from ingest.discover import discover
from ingest.manifest import FileRecord, Manifest
from ingest.report import Report
from ingest.worker import FileResult, build_file, init_worker

# Fewer changed manuals than this are parsed in-process: starting a spawned parser costs
# 4-7 s of imports, more than parsing a few dozen pages takes.
IN_PROCESS_MAX = 64


class IngestError(RuntimeError):
    """A fatal problem (busy store, bad arguments): nothing was written."""


class StoreLock:
    """An exclusive, non-blocking lock on the storage dir that names its holder.

    Why not wait: a second writer would only queue behind the first on SQLite's lock
    and look hung. Failing at once with the holder's pid tells the operator what to do.
    The kernel drops the lock when its process dies, even with kill -9.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = None

    def __enter__(self) -> "StoreLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise IngestError(
                f"another ingestion is writing to {self.path.parent} (pid {holder}); "
                "wait for it to finish or stop it, then run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _resolve_root(paths: list[Path], manifest: Manifest, root_override: Path | None) -> Path:
    stored = manifest.get_meta("root")
    if root_override is not None:
        root = root_override.resolve()
        if stored and Path(stored) != root:
            raise IngestError(f"this store holds manuals rooted at {stored}, not {root}; use another --storage")
    elif stored:
        root = Path(stored)
    elif len(paths) == 1:
        root = paths[0].resolve() if paths[0].is_dir() else paths[0].resolve().parent
    else:
        root = Path(os.path.commonpath([p.resolve() for p in paths]))
        if root.is_file():
            root = root.parent
    for path in paths:
        if os.path.commonpath([path.resolve(), root]) != str(root):
            raise IngestError(
                f"{path} is outside {root}, the root of the manuals in this store; "
                "use another --storage for another manual tree"
            )
    return root


def _in_scope(rel: str, scopes: list[str]) -> bool:
    return any(scope in ("", ".") or rel == scope or rel.startswith(scope.rstrip("/") + "/") for scope in scopes)


class _Parsing:
    """Parses manuals in worker processes, running ahead of the embedder, in submission order.

    Tiny batches parse in-process. One worker per core when workers embed too (bundled
    models), else one core is left to the main process, which then embeds.
    """

    AHEAD = 1024  # manuals parsed ahead of the embedder: bounds memory, not speed

    def __init__(self, tasks: list[tuple[str, bytes, str, frozenset[str]]], settings: Settings,
                 cache_path: Path) -> None:
        self.tasks = tasks
        self.settings = settings
        self.init_args = (settings.model_dump_json(), str(cache_path))

    def __iter__(self) -> Iterator[FileResult]:
        cores = os.cpu_count() or 1
        workers = self.settings.parse_workers or (cores if embeds_in_process(self.settings) else max(1, cores - 1))
        if len(self.tasks) < IN_PROCESS_MAX:
            init_worker(*self.init_args)
            for task in self.tasks:
                yield build_file(*task)
            return
        # spawn, not fork: a forked worker would inherit the store lock's descriptor (and keep
        # the lock alive after the parent is killed) and Chroma's threads.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=init_worker,
                                 initargs=(*self.init_args, True)) as pool:
            window: list[Future] = []
            pending = iter(self.tasks)
            for task in pending:
                window.append(pool.submit(build_file, *task))
                if len(window) >= self.AHEAD:
                    break
            while window:
                result = window.pop(0).result()
                nxt = next(pending, None)
                if nxt is not None:
                    window.append(pool.submit(build_file, *nxt))
                yield result


class _Writer:
    """Applies parsed manuals and deletions to Chroma, then commits them to the manifest.

    Manuals are buffered and written in groups: a Chroma `add` costs ~0.1 s whatever its
    size (it persists the HNSW segment), so one add per manual would double a cold run.
    The manifest still commits only after a group's chunks are in Chroma.
    """

    FLUSH_FILES = 200

    def __init__(self, index_dir: Path, manifest: Manifest, settings: Settings, report: Report) -> None:
        self.settings = settings
        self.manifest = manifest
        self.report = report
        self.embed_model = get_embed_model(settings)
        self.client, self.collection = open_collection(index_dir, settings, self.embed_model.model_name, create=True)
        self.batch = max(1, min(self.client.get_max_batch_size(), 5000))
        self.pending: list[FileResult] = []
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-writer")
        self.in_flight: Future | None = None

    def existing_ids(self, paths: list[str]) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {path: set() for path in paths}
        for i in range(0, len(paths), 100):
            group = paths[i : i + 100]
            where = {"path": group[0]} if len(group) == 1 else {"path": {"$in": group}}
            got = self.collection.get(where=where, include=["metadatas"])
            for chunk_id, metadata in zip(got["ids"], got["metadatas"]):
                found[metadata["path"]].add(chunk_id)
        return found

    def apply(self, result: FileResult) -> None:
        self.pending.append(result)
        # The first group is small so the embedder starts while the parsers warm up.
        limit = self.settings.flush_chunks if self.report.embedded or self.in_flight else min(64, self.settings.flush_chunks)
        if len(self.pending) >= self.FLUSH_FILES or sum(len(r.nodes) for r in self.pending) >= limit:
            self.flush()

    def flush(self) -> None:
        """Store and commit the buffered manuals on the writer thread.

        Chroma's add (HNSW insertion, ~1.4 s per 1,000 chunks) runs on the writer thread
        while this thread collects the next group (and embeds it, for an API model). One
        group is in flight at most, so groups commit in order and memory stays bounded.
        """
        if not self.pending:
            return
        results, self.pending = self.pending, []
        existing = self.existing_ids([r.path for r in results])
        fresh = [n for r in results for n in r.nodes if n.id_ not in existing[r.path]]
        vectors = {chunk_id: v for r in results for chunk_id, v in r.vectors.items()}
        for node in fresh:
            if node.id_ in vectors:
                node.embedding = vectors[node.id_].tolist()
        unembedded = [n for n in fresh if n.embedding is None]
        if unembedded:  # an API model, or a chunk the worker believed stored
            started = time.perf_counter()
            texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in unembedded]
            for node, vector in zip(unembedded, self.embed_model.get_text_embedding_batch(texts)):
                node.embedding = vector
            self.report.embed_seconds += time.perf_counter() - started
        self.drain()
        self.in_flight = self.thread.submit(self._store, results, existing, fresh)

    def drain(self) -> None:
        """Wait for the group in flight (re-raising its error) before touching the manifest."""
        if self.in_flight is not None:
            future, self.in_flight = self.in_flight, None
            future.result()

    def close(self) -> None:
        self.drain()
        self.thread.shutdown(wait=True)

    def _store(self, results: list[FileResult], existing: dict[str, set[str]], fresh: list[TextNode]) -> None:
        fresh_ids = {n.id_ for n in fresh}
        kept = [n for r in results for n in r.nodes if n.id_ not in fresh_ids]
        for i in range(0, len(fresh), self.batch):
            add_nodes(self.collection, fresh[i : i + self.batch])
        self.report.embedded += len(fresh)
        for i in range(0, len(kept), self.batch):
            part = kept[i : i + self.batch]
            self.collection.update(
                ids=[n.id_ for n in part],
                metadatas=[chroma_metadata(n) for n in part],
            )
        stale = sorted(set().union(*existing.values()) - {n.id_ for r in results for n in r.nodes})
        self._delete_ids(stale)
        self.report.chunks.added += len(fresh)
        self.report.chunks.deleted += len(stale)
        for result in results:
            record = FileRecord(
                path=result.path, hash=result.hash, size=result.size, title=result.title, lang=result.lang,
                sections=result.sections, tables=result.tables, chunks=len(result.nodes),
            )
            self.manifest.replace_file(record, result.chunk_rows, _now())

    def _delete_ids(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self.batch):
            self.collection.delete(ids=ids[i : i + self.batch])

    def delete_manual(self, path: str) -> None:
        self.drain()
        stale = sorted(self.existing_ids([path])[path])
        self._delete_ids(stale)
        self.report.chunks.deleted += len(stale)
        self.manifest.delete_file(path)

    def sweep_orphans(self) -> int:
        """Delete Chroma chunks the manifest does not know (left by a killed run)."""
        known = self.manifest.chunk_ids()
        orphans: list[str] = []
        offset = 0
        while True:
            page = self.collection.get(include=[], limit=self.batch, offset=offset)["ids"]
            if not page:
                break
            orphans.extend(i for i in page if i not in known)
            offset += len(page)
        self._delete_ids(orphans)
        return len(orphans)


def rebuild_lexical(index_dir: Path, manifest: Manifest) -> None:
    """Rebuild BM25 from the manifest's chunk rows; the generation marker is written last."""
    generation = manifest.generation()
    ids, tokens, fields = manifest.lexical_rows()
    LexicalIndex.build(ids, tokens, fields).save(index_dir / "lexical")
    (index_dir / "lexical" / "generation").write_text(str(generation))


def lexical_generation(index_dir: Path) -> int | None:
    marker = index_dir / "lexical" / "generation"
    return int(marker.read_text()) if marker.exists() else None


def _carry_over(old_dir: Path, new_dir: Path, new_manifest: Manifest, paths: list[str], settings: Settings) -> None:
    """A rebuild must not lose a manual that fails now but was good before: copy its chunks."""
    old_manifest = Manifest(old_dir / "manifest.sqlite")
    try:
        embed_name = get_embed_model(settings).model_name
        _, old = open_collection(old_dir, settings, embed_name, create=False)
        _, new = open_collection(new_dir, settings, embed_name, create=True)
        records = {r.path: r for r in old_manifest.files()}
        for path in paths:
            if path not in records:
                continue
            got = old.get(where={"path": path}, include=["embeddings", "metadatas", "documents"])
            if got["ids"]:
                new.add(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"], documents=got["documents"])
            rows = old_manifest.db.execute("SELECT id, path, lang, dirs, tokens FROM chunks WHERE path = ?", (path,)).fetchall()
            with new_manifest.db:
                new_manifest.db.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?, ?, ?, ?)", rows)
            record = records[path]
            with new_manifest.db:
                new_manifest.db.execute(
                    "INSERT OR REPLACE INTO files (path, hash, size, title, lang, sections, tables, chunks, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.path, record.hash, record.size, record.title, record.lang, record.sections,
                     record.tables, record.chunks, _now()),
                )
    finally:
        old_manifest.close()


def ingest(
    paths: list[Path],
    settings: Settings,
    storage_dir: Path | None = None,
    root: Path | None = None,
    fresh: bool = False,
    progress: bool = True,
) -> Report:
    started = time.perf_counter()
    storage: Storage = get_storage(settings, storage_dir)
    storage.root.mkdir(parents=True, exist_ok=True)
    report = Report(storage=str(storage.root), started_at=_now())
    with StoreLock(storage.lock_path):
        live = storage.index_dir()
        if fresh or live is None:
            index_dir = storage.new_index_dir()
            if live is None:  # first ingestion: nothing to protect, publish at once
                storage.publish(index_dir)
        else:
            index_dir = live
        manifest = Manifest(index_dir / "manifest.sqlite")
        try:
            if fresh and live is not None and root is None:
                old = Manifest(live / "manifest.sqlite")
                stored_root = old.get_meta("root")
                old.close()
                root = Path(stored_root) if stored_root else None
            resolved_root = _resolve_root(paths, manifest, root)
            manifest.set_meta("root", str(resolved_root))
            write_info(index_dir, root=str(resolved_root))
            report.root = str(resolved_root)
            _run(paths, resolved_root, index_dir, manifest, settings, storage, report, progress)
            if fresh and live is not None:
                failed = [e["path"] for e in report.errors]
                if failed:
                    _carry_over(live, index_dir, manifest, failed, settings)
                    rebuild_lexical(index_dir, manifest)
            report.chunks.total = manifest.totals()["chunks"]
        except KeyboardInterrupt:
            report.interrupted = True
            raise
        finally:
            manifest.close()
            report.seconds = round(time.perf_counter() - started, 3)
            report.embed_seconds = round(report.embed_seconds, 3)
            if not report.interrupted:
                report.save(storage.report_path)
        if fresh and live is not None:
            old = storage.publish(index_dir)
            if old is not None and old != index_dir:
                shutil.rmtree(old, ignore_errors=True)
    return report


def _run(
    paths: list[Path], root: Path, index_dir: Path, manifest: Manifest, settings: Settings,
    storage: Storage, report: Report, progress: bool,
) -> None:
    found = discover(paths, root)
    report.skipped_non_manual = found.skipped
    for rel, reason in found.errors:
        report.errors.append({"path": rel, "reason": reason})
    known = manifest.hashes()
    limit = int(settings.max_file_mb * 1024 * 1024)
    tasks: list[tuple[str, bytes, str, frozenset[str]]] = []
    seen: set[str] = {rel for rel, _ in found.errors}
    for abs_path, rel in tqdm(found.files, desc="scanning", unit="file", file=sys.stderr,
                              disable=not progress or len(found.files) < 200, leave=False):
        seen.add(rel)
        try:
            size = abs_path.stat().st_size
            if size > limit:
                raise OSError(f"too large ({size / 1048576:.1f} MB > {settings.max_file_mb:g} MB limit, MAX_FILE_MB)")
            raw = abs_path.read_bytes()
        except OSError as exc:
            report.errors.append({"path": rel, "reason": exc.strerror and f"unreadable: {exc.strerror}" or str(exc)})
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if known.get(rel) == digest:
            report.files.unchanged += 1
            continue
        tasks.append((rel, raw, digest, manifest.chunk_ids_of(rel) if rel in known else frozenset()))
    scopes = [Path(os.path.relpath(p.resolve(), root)).as_posix() for p in paths]
    gone = sorted(p for p in known if p not in seen and _in_scope(p, scopes))

    dirty = manifest.get_meta("dirty") == "1"
    lexical_stale = lexical_generation(index_dir) != manifest.generation() or not (index_dir / "chroma").exists()
    if tasks or gone or dirty:
        manifest.set_meta("dirty", "1")
        parsing = _Parsing(tasks, settings, storage.cache_dir / "table_prose.sqlite")
        writer = _Writer(index_dir, manifest, settings, report)
        if dirty:
            writer.sweep_orphans()
        bar = tqdm(total=len(tasks), desc="ingesting", unit="file", file=sys.stderr, disable=not progress)
        for result in parsing:
            bar.update(1)
            report.llm_calls += result.llm_calls
            report.embed_seconds += result.embed_seconds
            for note in result.prose_fallbacks:
                report.warnings.append({"path": result.path, "reason": f"table prose fallback: {note}"})
            if result.error:
                report.files.failed += 1
                report.errors.append({"path": result.path, "reason": result.error})
                continue
            if result.warning:
                report.warnings.append({"path": result.path, "reason": result.warning})
            writer.apply(result)
            report.sections += result.sections
            report.tables += result.tables
            if result.path in known:
                report.files.updated += 1
            else:
                report.files.added += 1
        writer.flush()
        writer.close()
        bar.close()
        for rel in gone:
            writer.delete_manual(rel)
            report.files.deleted += 1
            report.deleted_paths.append(rel)
        lexical_stale = True
    if lexical_stale:
        rebuild_lexical(index_dir, manifest)
    manifest.set_meta("dirty", "0")
    report.files.failed = sum(1 for e in report.errors)
