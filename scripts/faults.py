"""`make faults`: run the standing fault suite and print what happened to each case.

    python scripts/faults.py [--area ingest] [--only NAME ...] [--keep DIR]

Every case (tests/faults) sets up its fault in a fresh directory, runs the real programs,
and reports whether the promised outcome happened (`handled`) and whether anything stored
or to be stored was lost. Exit 0 when every case that ran was handled with no data lost.
Cases that cannot run here (a tmpfs needs root) show as skipped.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults import AREAS  # noqa: E402
from tests.faults.registry import load, run_case, table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", action="append", help="only the cases of this area (ingest, ...)")
    parser.add_argument("--only", action="append", help="only the cases whose name contains this text")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (default: a temporary one)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    cases = [c for c in load(AREAS)
             if (not args.area or c.area in args.area) and (not args.only or any(o in c.name for o in args.only))]
    if args.list:
        for c in cases:
            print(f"{c.area:8} {c.name}: {c.expected}")
        return 0
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for item in cases:
            print(f"running: {item.area} / {item.name} ...", file=sys.stderr, flush=True)
            results.append(run_case(item, workdir))
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(table(results))
    ran = [r for r in results if not r.outcome.skipped]
    return 0 if all(r.outcome.handled and not r.outcome.data_lost for r in ran) else 1


if __name__ == "__main__":
    raise SystemExit(main())
