"""The ingestion report: one dict for machines (`--json`, `last_ingest.json`), one text for people."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path


def utc_now() -> str:
    """Timestamps of runs and manifest rows (never part of a content hash)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class FileCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0


@dataclass
class ChunkCounts:
    added: int = 0
    deleted: int = 0
    total: int = 0


@dataclass
class AttachmentCounts:
    """The attachment pass (ingest.attachments.step): files found, what happened to them."""

    found: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    unsupported: int = 0
    ocr_pages: int = 0
    images_skipped: int = 0  # linked images not read because OCR is off or not installed
    images_skipped_reason: str = ""
    by_type: dict[str, int] = field(default_factory=dict)  # stored this run, by file type


@dataclass
class Report:
    storage: str = ""
    root: str = ""
    files: FileCounts = field(default_factory=FileCounts)
    chunks: ChunkCounts = field(default_factory=ChunkCounts)
    sections: int = 0
    tables: int = 0
    embedded: int = 0
    llm_calls: int = 0
    skipped_non_manual: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    deleted_paths: list[str] = field(default_factory=list)
    attachments: AttachmentCounts = field(default_factory=AttachmentCounts)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    started_at: str = ""
    interrupted: bool = False
    generation: int | None = None  # the index generation live after this run
    fatal: str = ""  # why the run stopped early (a full disk, a bug); empty when it finished

    def as_dict(self) -> dict:
        return asdict(self)

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    @property
    def exit_code(self) -> int:
        return 3 if self.files.failed else 0

    def summary(self) -> str:
        f, c = self.files, self.chunks
        seen = f.added + f.updated + f.unchanged + f.failed
        lines = [
            f"Ingested {seen} manual(s) from {self.root} into {self.storage} in {self.seconds:.1f}s",
            f"  files:  {f.added} added, {f.updated} updated, {f.unchanged} unchanged, "
            f"{f.deleted} deleted, {f.failed} failed ({self.skipped_non_manual} non-manual files skipped)",
            f"  parsed: {self.sections} sections, {self.tables} tables in changed manuals",
            f"  chunks: {c.added} added, {c.deleted} deleted, {c.total} in store; "
            f"{self.embedded} embedded in {self.embed_seconds:.1f}s; {self.llm_calls} LLM call(s)",
        ]
        a = self.attachments
        if a.found:
            kinds = ", ".join(f"{k} {v}" for k, v in sorted(a.by_type.items()))
            lines.append(f"  attachments: {a.found} found: {a.added} added, {a.updated} updated, {a.unchanged} unchanged, "
                         f"{a.failed} failed, {a.unsupported} unsupported" + (f" ({kinds})" if kinds else "")
                         + (f"; {a.ocr_pages} page(s)/image(s) read by OCR" if a.ocr_pages else ""))
        if a.images_skipped:
            lines.append(f"  images: {a.images_skipped} linked image(s) not read ({a.images_skipped_reason}); "
                         "their alt text and captions are indexed with their sections")
        if self.generation is not None:
            lines.append(f"  live:   index generation {self.generation}")
        for item in self.deleted_paths[:20]:
            lines.append(f"  deleted: {item}")
        for warning in self.warnings[:20]:
            lines.append(f"  warning: {warning['path']}: {warning['reason']}")
        if self.errors:
            lines.append(f"  {len(self.errors)} file(s) failed (their previous version, if any, is kept):")
            for error in self.errors[:50]:
                lines.append(f"    {error['path']}: {error['reason']}")
            if len(self.errors) > 50:
                lines.append(f"    ... and {len(self.errors) - 50} more in last_ingest.json")
        if self.fatal:
            lines.append(f"  STOPPED: {self.fatal}")
        if self.interrupted:
            lines.append("  INTERRUPTED: run the same command again to finish (nothing is lost).")
        return "\n".join(lines)
