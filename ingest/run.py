"""The incremental, crash-safe ingestion run: lock, scan, hand changed manuals to the
parsers and the writer, delete what disappeared, report.

Manuals whose content hash is unchanged are skipped before anything heavy is imported: a
no-change nightly run costs a scan, not the 3 s of importing Chroma and LlamaIndex (hence
the imports inside `_run`). A run that died mid-write leaves a `dirty` mark, and the next
run sweeps Chroma for chunks the manifest does not know. The BM25 index is rebuilt from
the manifest whenever its generation moved, into a new snapshot; the run ends by publishing
a new index generation (core.generations). Write order and crash safety: `ingest.writer`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

from tqdm import tqdm

from core.generations import publish
from core.htmlfile import DecodeError, decode_html
from core.sentence_vectors import wants_sentences
from core.settings import Settings
from core.store import Storage, get_storage, write_info
from ingest.boilerplate import page_keys, threshold
from ingest.discover import discover
from ingest.disk import disk_full, written_path
from ingest.files import UnreadableManual, read_manual
from ingest.manifest import Manifest
from ingest.report import Report, utc_now


# Bump when parsing, chunking or tokenizing changes what a manual turns into. It is part of
# every manual's hash, so the next run re-processes each manual once (chunks whose text is
# unchanged keep their vectors); so do the settings that shape chunks.
PIPELINE_VERSION = "24"  # (SMALL_UNITS=true adds "|units" to the signature: its stores re-process with the small units; ROW_ITEMS=false adds "|noitems"); 24: chunks record their section's index keywords (chunk_record.KEYWORDS) for the extractive answer; 23: index keywords (<meta> keywords) searched with the headings and in the summary unit, hidden alternatives kept apart (ingest.parse); 22 (21 on a branch only): list items and definition entries recorded as row-lane units (ingest.rows); 20 (19 on a branch only): table rows of pages and attachments recorded for the row lane (ingest.rows); 18: pages record the compound names they write (core.vocab short forms); 17: pages record their attachment links (ingest.attachments); 16: a <br> outside code ends a block; 15: header rows marked by looks only (bold, shading); 14: layout tables read as page text (ingest.tables.is_layout_table); 13: a heading takes the id of the element it opens (<section id>); 12 (11 on a branch only): key: value lists with distinct keys in groups of whole rows a third of a chunk long; 10: a chunk's first line starts with its parent page's title (<link rel="up">); 9: each manual's vocabulary terms (core.vocab) in the manifest (8 was a trial chunking)


def pipeline_signature(settings: Settings) -> str:
    prose = settings.llm_model if settings.llm_configured and settings.table_prose_llm else "rows"
    units = ("|units" if settings.small_units else "") + ("" if settings.row_items else "|noitems")
    # Turning the lane on (off) adds (drops) the units. "+att": attachments have units too
    # (one per PDF page, sheet, slide): a store made with the lane on before that re-processes
    # its files once (its pages' units keep their vectors: same ids). PIPELINE_VERSION stays:
    # a store with the lane off is not touched by this.
    summary = f"|summary{settings.summary_max_sections}+att" if settings.summary_lane else ""
    # Turning sentence vectors on re-reads every file once, and its chunks are embedded again
    # for their sentences (Manifest.sentences_missing); turning them off re-reads without embedding.
    sentences = "|sentences" if wants_sentences(settings) else ""
    return (f"v{PIPELINE_VERSION}|{settings.embed_model}|{settings.chunk_size}|{settings.chunk_overlap}|{prose}{units}"
            f"{summary}{sentences}")


class IngestError(RuntimeError):
    """A fatal problem (busy store, bad arguments): nothing was written."""


class DiskFullError(IngestError):
    """The disk filled up: the run stopped, and the published generation is still served
    (a run killed mid-write leaves the same state: the next run finishes the work)."""


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


def _learn_boilerplate(
    manifest: Manifest, read: list[tuple[str, bytes, str]], seen: set[str], scopes: list[str]
) -> dict[str, frozenset[str]]:
    """Update the per-page block keys for pages whose bytes changed or vanished, then return
    each page's boilerplate keys. Only changed pages are read (lxml, ~1 ms a page), so a
    no-change run costs one SQL query."""
    stored = manifest.raw_hashes()
    changed = []
    for rel, raw, raw_hash in read:
        if stored.get(rel) != raw_hash:
            try:
                html, _ = decode_html(raw, rel.rsplit("/", 1)[-1])
            except DecodeError:
                continue  # it fails to ingest too: its stored version, and its blocks, stay
            changed.append((rel, raw_hash, page_keys(html)))
    vanished = [p for p in stored if p not in seen and _in_scope(p, scopes)]
    if changed:
        manifest.set_page_blocks(changed)
    if vanished:
        manifest.forget_pages(vanished)
    return manifest.boilerplate(threshold(manifest.page_count()))


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
    report = Report(storage=str(storage.root), started_at=utc_now())
    try:
        storage.root.mkdir(parents=True, exist_ok=True)
        with StoreLock(storage.lock_path):
            _ingest_locked(paths, settings, storage, root, fresh, progress, report)
    except KeyboardInterrupt:
        report.interrupted = True
        raise
    except Exception as exc:
        if not disk_full(exc):
            report.fatal = f"{type(exc).__name__}: {exc}"
            raise
        served = storage.current()
        where = written_path(exc) or f"to {storage.root}"
        report.fatal = (
            f"no space left on device while writing {where}; "
            + (f"the store still serves generation {served.number}, the last good run" if served
               else "nothing was published")
            + "; free space and run the same command again to finish"
        )
        raise DiskFullError(report.fatal) from exc
    finally:
        report.seconds = round(time.perf_counter() - started, 3)
        report.embed_seconds = round(report.embed_seconds, 3)
        report.files.failed = len(report.errors)
        if not report.interrupted:
            try:
                report.save(storage.report_path)
            except OSError:  # a full disk: the run's outcome is still printed
                pass
    return report


def _ingest_locked(paths: list[Path], settings: Settings, storage: Storage, root: Path | None, fresh: bool,
                   progress: bool, report: Report) -> None:
    started_from = storage.current()
    live = storage.index_dir()
    if fresh or live is None:
        index_dir = storage.new_index_dir()
        if live is None:  # first ingestion: nothing to protect, publish at once (resumable)
            started_from = publish(storage, settings, index_dir, None, "first")
    else:
        index_dir = live
    manifest: Manifest | None = None
    try:
        manifest = Manifest(Storage.manifest_db(index_dir))
        if fresh and live is not None:
            old = Manifest(Storage.manifest_db(live))
            stored_root = old.get_meta("root")
            manifest.seed_pages(old)
            old.close()
            if root is None:
                root = Path(stored_root) if stored_root else None
        resolved_root = _resolve_root(paths, manifest, root)
        manifest.set_meta("root", str(resolved_root))
        write_info(index_dir, root=str(resolved_root))
        report.root = str(resolved_root)
        _run(paths, resolved_root, index_dir, manifest, settings, storage, report, progress)
        if fresh and live is not None:
            failed = [e["path"] for e in report.errors]
            if failed:
                from ingest.writer import carry_over

                carry_over(live, index_dir, manifest, failed, settings)
        lexical = _lexical_snapshot(index_dir, manifest, storage)
        totals = manifest.totals()
        report.chunks.total = totals["chunks"]
        # Publish only when what readers see changed: a no-change nightly run leaves
        # every server on its generation instead of making all of them reload.
        if started_from is None or (started_from.index, started_from.lexical) != (index_dir.name, lexical):
            kind = "rebuild" if fresh and live is not None else "incremental"
            generation = publish(storage, settings, index_dir, lexical, kind,
                                 totals["manuals"], totals["chunks"], expected=started_from)
        else:
            generation = started_from
        report.generation = generation.number
    except Exception as exc:
        if fresh and live is not None and disk_full(exc):
            # The unpublished rebuild only takes space the operator needs back; the live
            # index is untouched and a rebuild starts from scratch anyway.
            if manifest is not None:
                manifest.close()
                manifest = None
            shutil.rmtree(index_dir, ignore_errors=True)
        raise
    finally:
        if manifest is not None:
            manifest.close()


def _lexical_snapshot(index_dir: Path, manifest: Manifest, storage: Storage) -> str:
    """The BM25 snapshot of the manifest as it is now, written once per manifest generation
    into a new directory (a server may be loading the previous one)."""
    name = storage.lexical_name(manifest.generation())
    if not Storage.lexical_saved(index_dir / name):
        from ingest.writer import rebuild_lexical

        rebuild_lexical(index_dir / name, manifest)
    return name


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
    signature = pipeline_signature(settings).encode("utf-8") + b"\0"
    read: list[tuple[str, bytes, str]] = []  # (path, bytes, hash of the bytes)
    seen: set[str] = {rel for rel, _ in found.errors} | {rel for _, rel in found.attachments}
    for abs_path, rel in tqdm(found.files, desc="scanning", unit="file", file=sys.stderr,
                              disable=not progress or len(found.files) < 200, leave=False):
        seen.add(rel)
        try:
            raw = read_manual(abs_path, limit, f"{settings.max_file_mb:g} MB limit, MAX_FILE_MB")
        except UnreadableManual as exc:
            report.errors.append({"path": rel, "reason": exc.reason})
            continue
        except OSError as exc:
            report.errors.append({"path": rel, "reason": f"unreadable: {exc.strerror or exc}"})
            continue
        read.append((rel, raw, hashlib.sha256(raw).hexdigest()))
    scopes = [Path(os.path.relpath(p.resolve(), root)).as_posix() for p in paths]
    # A file the pages link to (a picture, a form) is not found by discover() but is stored
    # by the attachment pass: it is not gone while a stored page links to it. Counting it
    # gone deleted and re-read (OCR, embedding, a new generation) every linked picture on
    # every run, changed or not. Whether it is still linked after this run's pages is
    # decided by the attachment pass (`linked`).
    from ingest.attachments.step import candidates, ingest_attachments  # light: readers load only for changed files

    linked = sorted(rel for rel in candidates(found.attachments, root, manifest.attachment_links())
                    if rel in known and rel not in seen)
    gone = sorted(p for p in known if p not in seen and p not in linked and _in_scope(p, scopes))
    boilerplate = _learn_boilerplate(manifest, read, seen, scopes)
    tasks: list[tuple[str, bytes, str, frozenset[str], frozenset[str]]] = []
    stored_chunks = not manifest.sentences_missing(wants_sentences(settings))
    for rel, raw, raw_hash in read:
        # The page's hash covers the boilerplate it contains: when the corpus makes a block
        # of this page boilerplate (or stops doing so), the page is parsed again, and a run
        # that was interrupted and run again ends where one clean run ends.
        own = boilerplate.get(rel, frozenset())
        digest = hashlib.sha256(signature + raw_hash.encode() + b"\0" + " ".join(sorted(own)).encode()).hexdigest()
        if known.get(rel) == digest:
            report.files.unchanged += 1
            continue
        # what the store holds of the page already: its chunk ids and its summary unit's id
        stored = manifest.vectors_of(rel, stored_chunks) if rel in known else frozenset()
        tasks.append((rel, raw, digest, stored, own))

    dirty = manifest.get_meta("dirty") == "1"
    if tasks or gone or dirty:
        from ingest.parsing import Parsing
        from ingest.writer import Writer

        manifest.set_meta("dirty", "1")
        parsing = Parsing(tasks, settings, storage.table_prose_db)
        writer = Writer(index_dir, manifest, settings, report)
        if dirty:
            writer.sweep_orphans()
        bar = tqdm(total=len(tasks), desc="ingesting", unit="file", file=sys.stderr, disable=not progress)
        results = iter(parsing)
        try:
            _store_results(results, writer, bar, known, report)
        finally:
            results.close()  # a run that stops early (full disk) stops its parsers now
        writer.flush()
        writer.close()
        bar.close()
        for rel in gone:
            writer.delete_manual(rel)
    ingest_attachments(found.attachments, root, index_dir, manifest, settings, storage, report, progress, signature,
                       linked)
    manifest.set_meta("dirty", "0")
    manifest.sentences_done(wants_sentences(settings))
    report.files.failed = sum(1 for e in report.errors)


def _store_results(results, writer, bar, known: dict[str, str], report: Report) -> None:
    """Hand each parsed manual to the writer, in order, and count it in the report."""
    for result in results:
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
