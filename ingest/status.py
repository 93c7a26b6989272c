"""`make status`: what the store holds and how the last run went."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from core.settings import Settings
from core.store import Storage, get_storage
from ingest.manifest import Manifest
from ingest.parse import ATTACHMENT_EXT


def status(settings: Settings, storage_dir: Path | None = None) -> dict:
    storage = get_storage(settings, storage_dir)
    index_dir = storage.index_dir()
    data: dict = {"storage": str(storage.root), "index": str(index_dir) if index_dir else None}
    generation = storage.current()
    if generation is not None:
        data["generation"] = generation.as_dict()
        data["previous"] = storage.read_pointer().get("previous", [])
    if index_dir is not None:
        manifest = Manifest(Storage.manifest_db(index_dir))
        try:
            data.update(manifest.totals())
            data["root"] = manifest.get_meta("root")
            files = manifest.files()
            data["languages"] = dict(Counter(r.lang for r in files))
            # attachments are stored like manuals; their share, by extension (ingest.attachments)
            data["attachments"] = dict(Counter(r.path.rsplit(".", 1)[-1].lower() for r in files
                                               if r.path.rsplit(".", 1)[-1].lower() in ATTACHMENT_EXT))
            data["clean"] = manifest.get_meta("dirty") != "1"
        finally:
            manifest.close()
    if storage.report_path.exists():
        data["last_run"] = json.loads(storage.report_path.read_text(encoding="utf-8"))
    return data


def format_status(data: dict) -> str:
    if not data.get("index"):
        return f"No index in {data['storage']} yet: run `make ingest`."
    lines = [
        f"Store {data['storage']} (root {data.get('root')})",
        f"  {data['manuals']} manuals ({', '.join(f'{k}: {v}' for k, v in sorted(data['languages'].items()))}), "
        f"{data['sections']} sections, {data['tables']} tables, {data['chunks']} chunks",
    ]
    if data.get("attachments"):
        lines.append(f"  of which {sum(data['attachments'].values())} attachments "
                     f"({', '.join(f'{k}: {v}' for k, v in sorted(data['attachments'].items()))})")
    if data.get("generation"):
        g = data["generation"]
        lines.append(f"  live generation {g['number']} ({g['kind']}, {g['index']}, published {g['published_at'] or '?'})")
        others = sorted({p["index"] for p in data.get("previous", []) if p["index"] != g["index"]})
        if others:
            lines.append(f"  kept for --rollback: {', '.join(others)}")
    if not data.get("clean"):
        lines.append("  the last ingestion did not finish: run it again to complete it")
    run = data.get("last_run")
    if run:
        f = run["files"]
        lines.append(
            f"  last run {run['started_at']} ({run['seconds']:.1f}s): {f['added']} added, {f['updated']} updated, "
            f"{f['unchanged']} unchanged, {f['deleted']} deleted, {f['failed']} failed"
        )
        if run.get("fatal"):
            lines.append(f"  the last run stopped: {run['fatal']}")
        a = run.get("attachments") or {}
        if a.get("found"):
            lines.append(f"  attachments: {a['found']} found: {a['added']} added, {a['updated']} updated, "
                         f"{a['unchanged']} unchanged, {a['failed']} failed, {a['unsupported']} unsupported"
                         + (f", {a['ocr_pages']} read by OCR" if a.get("ocr_pages") else ""))
        if a.get("images_skipped"):
            lines.append(f"  skipped: {a['images_skipped']} linked image(s) not read by OCR ({a['images_skipped_reason']})")
        for error in run["errors"][:20]:
            lines.append(f"    failed: {error['path']}: {error['reason']}")
        for warning in run.get("warnings", [])[:20]:
            if "OCR" in warning["reason"] or "attachment" in warning["reason"]:
                lines.append(f"    skipped: {warning['path']}: {warning['reason']}")
    return "\n".join(lines)
