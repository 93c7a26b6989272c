"""The attachment pass of an ingestion run, after the pages: which files changed, extract
and store them, report.

Attachments are the files under the manuals root named like documents (ingest.discover)
and the files the stored pages link to. The pages go first because an attachment's chunks
cite the sections linking to it (the manifest's `links`, written with each page), so the
link context is known here and is part of the attachment's hash: a page that starts or
stops linking to a file re-indexes that file's chunks (their ids hold, so nothing is
re-embedded when only the citation changed). A file linked from two pages is one path,
stored once, citing both. Deleted attachments disappear with the run's deletions (they
are in `seen` like pages); a failed attachment keeps its previous version, as a page does.

A corpus without attachments pays one dict lookup: nothing is sniffed, no extra pass over
the HTML is made (the links come from the parse that already happened).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from tqdm import tqdm

from core.chunk_record import section_id
from core.sentence_vectors import wants_sentences
from core.settings import Settings
from core.store import Storage
from ingest.attachments.sniff import sniff
from ingest.attachments.units import SUPPORTED, FileType
from ingest.manifest import AttachmentLink, Manifest
from ingest.parse import ATTACHMENT_EXT, IMAGE_EXT
from ingest.report import Report

ATTACHMENT_VERSION = "1"  # bump when extraction changes what an attachment turns into


def linked_from(links: list[AttachmentLink]) -> tuple[dict, ...]:
    """The LINKED_FROM entries (core.chunk_record) of a file, one per linking section."""
    seen: dict[tuple[str, str], dict] = {}
    for link in links:
        key = (link.page, link.anchor)
        if key not in seen:
            seen[key] = {"path": link.page, "anchor": link.anchor, "url": section_id(link.page, link.anchor),
                         "heading": link.heading, "title": link.title, "text": link.text}
    return tuple(seen.values())


_OCR_IMAGES = IMAGE_EXT - {"svg"}  # an SVG's text is in its XML, not in pixels


def is_image(rel: str) -> bool:
    return rel.rsplit(".", 1)[-1].lower() in _OCR_IMAGES


def candidates(found: list[tuple[Path, str]], root: Path, links: dict[str, list[AttachmentLink]]) -> dict[str, Path]:
    """rel -> absolute path: the files found, and linked files under the root (an operator
    who ingests one page still gets the files it links to), images the pages show included."""
    out = {rel: path for path, rel in found}
    for target in links:
        if target not in out and not target.startswith("../") and (target.rsplit(".", 1)[-1].lower() in ATTACHMENT_EXT
                                                                    or is_image(target)):
            path = root / target
            if path.is_file():
                out[target] = path
    return out


def ingest_attachments(
    found: list[tuple[Path, str]], root: Path, index_dir: Path, manifest: Manifest, settings: Settings,
    storage: Storage, report: Report, progress: bool, signature: bytes, linked: list[str] = (),
) -> None:
    """`linked`: stored files that only the pages' links made attachments (the run kept them
    while a stored page linked to them); those no page links to now, or not read now (a
    picture once OCR is off), are deleted here."""
    links = manifest.attachment_links()
    files = candidates(found, root, links)
    from ingest.attachments import ocr

    images = [rel for rel in files if is_image(rel)]
    if images and not ocr.available(settings.ocr):
        # without OCR a picture says nothing its alt text does not: not read, and said so
        report.attachments.images_skipped = len(images)
        report.attachments.images_skipped_reason = ocr.skipped_reason(settings.ocr)
        files = {rel: path for rel, path in files.items() if not is_image(rel)}
    unlinked = [rel for rel in linked if rel not in files]
    if not files and not unlinked:
        return
    known = manifest.hashes()
    limit = int(settings.max_file_mb * 1024 * 1024)
    ocr_state = f"ocr={ocr.available(settings.ocr)}".encode()
    stats = report.attachments
    tasks = []
    stored_chunks = not manifest.sentences_missing(wants_sentences(settings))
    for rel, path in sorted(files.items()):
        stats.found += 1
        try:
            size = path.stat().st_size
            if size > limit:
                raise OSError(f"too large ({size / 1048576:.1f} MB > {settings.max_file_mb:g} MB limit, MAX_FILE_MB)")
            raw = path.read_bytes()
        except OSError as exc:
            report.errors.append({"path": rel, "reason": exc.strerror and f"unreadable: {exc.strerror}" or str(exc)})
            stats.failed += 1
            continue
        kind = sniff(raw, path.name)
        if kind not in SUPPORTED and kind is not FileType.ENCRYPTED_OFFICE:
            stats.unsupported += 1
            report.warnings.append({"path": rel, "reason": f"attachment not indexed: unsupported format ({kind.value})"})
            continue
        cited = linked_from(links.get(rel, []))
        digest = hashlib.sha256(b"\0".join([signature, b"attachment-v" + ATTACHMENT_VERSION.encode(), ocr_state,
                                             hashlib.sha256(raw).digest(),
                                             json.dumps(cited, ensure_ascii=False, sort_keys=True).encode()])).hexdigest()
        if known.get(rel) == digest:
            stats.unchanged += 1
            continue
        stored = manifest.vectors_of(rel, stored_chunks) if rel in known else frozenset()
        tasks.append((rel, raw, digest, stored, cited))
    if not tasks and not unlinked:
        return
    from ingest.attachments.build import build_attachment
    from ingest.parsing import Parsing
    from ingest.writer import Writer

    manifest.set_meta("dirty", "1")
    writer = Writer(index_dir, manifest, settings, report)
    for rel in unlinked:
        writer.delete_manual(rel)
    bar = tqdm(total=len(tasks), desc="attachments", unit="file", file=sys.stderr, disable=not progress)
    try:
        for result in Parsing(tasks, settings, storage.table_prose_db, build=build_attachment):
            bar.update(1)
            report.llm_calls += result.llm_calls
            report.embed_seconds += result.embed_seconds
            if result.error:
                if result.quiet:
                    continue
                if is_image(result.path):  # a picture that cannot be read is a warning, not a failed document
                    report.warnings.append({"path": result.path, "reason": f"image not read: {result.error}"})
                    continue
                stats.failed += 1
                report.errors.append({"path": result.path, "reason": result.error})
                continue
            if result.warning:
                report.warnings.append({"path": result.path, "reason": result.warning})
            writer.apply(result)
            stats.ocr_pages += result.ocr_pages
            stats.by_type[result.file_type] = stats.by_type.get(result.file_type, 0) + 1
            if result.path in known:
                stats.updated += 1
            else:
                stats.added += 1
            report.tables += result.tables
        writer.flush()
    finally:
        writer.close()
        bar.close()

