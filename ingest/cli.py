"""`python -m ingest PATH... [--storage DIR] [--json] [--rebuild] | --status | --rollback`

Exit status: 0 all manuals stored, 3 some failed (the rest stored), 2 fatal error,
130 interrupted (run again to finish).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.settings import get_settings
from core.store import StoreError
from ingest.run import IngestError, ingest
from ingest.status import format_status, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Ingest HTML manuals into the store.")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders of HTML manuals")
    parser.add_argument("--storage", type=Path, help="storage directory (default: STORAGE_DIR or storage/)")
    parser.add_argument("--root", type=Path, help="folder that manual paths are relative to (first run only)")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild from scratch into a fresh index and swap it in atomically")
    parser.add_argument("--json", action="store_true", help="print the machine-readable report on stdout")
    parser.add_argument("--status", action="store_true", help="show what the store holds and the last run")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--rollback", action="store_true",
                        help="serve the kept index from before the last --rebuild again (all servers follow)")
    args = parser.parse_args(argv)
    settings = get_settings()

    if args.status:
        data = status(settings, args.storage)
        print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_status(data))
        return 0
    if args.rollback:
        return _rollback(settings, args.storage)
    if not args.paths:
        parser.error("give at least one file or folder to ingest")
    try:
        report = ingest(args.paths, settings, args.storage, args.root, fresh=args.rebuild, progress=not args.quiet)
    except (IngestError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to finish; nothing stored is lost", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        print(report.summary(), file=sys.stderr)
    else:
        print(report.summary())
    return report.exit_code


def _rollback(settings, storage_dir: Path | None) -> int:
    from core.generations import rollback
    from core.store import get_storage
    from ingest.run import StoreLock

    storage = get_storage(settings, storage_dir)
    try:
        with StoreLock(storage.lock_path):
            old, new = rollback(storage, settings)
    except (IngestError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"rolled back: generation {new.number} serves {new.index} ({new.manuals} manuals, {new.chunks} chunks, "
          f"published {new.published_at or 'earlier'}) instead of generation {old.number} ({old.index})")
    return 0
