"""Ingestion benchmark on a real corpus (default: ../shared/corpora/httpd-manual).

Measures, each in a fresh `python -m ingest` process as operators run it:
  cold ingest, no-change re-ingest, one-page-changed re-ingest, the pure embedding time of
  the same chunks (the floor: the model's own batch call in one process, model loaded,
  texts in memory, BLAS on all cores), and the corpus replicated N times under other
  names (scaling). Cold ingest and the floor alternate `--repeat` times and the ratio
  uses their medians: this shared machine's speed drifts by 20% within minutes.
  Prints a table and the ratios, and writes reports/bench_ingest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_SNIPPET = """
import json, sys, time
from pathlib import Path
from core.settings import Settings
from core.embedding import get_embed_model
from core.store import get_storage, open_collection
settings = Settings(storage_dir=Path(sys.argv[1]))
model = get_embed_model(settings)
_, collection = open_collection(get_storage(settings).index_dir(), settings, model.model_name, create=False)
texts = collection.get(include=["documents"])["documents"]
model.get_text_embedding_batch(texts[:8])
started = time.perf_counter()
model.get_text_embedding_batch(texts)
print(json.dumps({"chunks": len(texts), "seconds": time.perf_counter() - started}))
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def run_ingest(corpus: Path, storage: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ingest", str(corpus), "--storage", str(storage), "--json", "--quiet"],
        cwd=ROOT, env=_env(), capture_output=True, text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise SystemExit(f"ingest failed ({proc.returncode}):\n{proc.stderr}")
    return wall, json.loads(proc.stdout)


def embedding_floor(storage: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", FLOOR_SNIPPET, str(storage)], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def replicate(corpus: Path, target: Path, copies: int) -> None:
    for i in range(copies):
        shutil.copytree(corpus, target / f"copy{i + 1}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "httpd-manual")
    parser.add_argument("--replicas", type=int, default=5, help="copies for the scaling run (0 to skip)")
    parser.add_argument("--page", default="mod/mod_dir.html.en.utf8", help="page edited for the one-change run")
    parser.add_argument("--repeat", type=int, default=3, help="cold ingest / floor pairs (medians are reported)")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus {args.corpus} not found: nothing to benchmark", file=sys.stderr)
        return 0
    rows: list[tuple[str, float, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        shutil.copytree(args.corpus, corpus)
        storage = work / "storage"
        colds: list[tuple[float, dict]] = []
        floors: list[dict] = []
        for i in range(args.repeat):
            target = storage if i == 0 else work / f"storage{i}"
            print(f"cold ingest {i + 1}/{args.repeat} ...", file=sys.stderr)
            colds.append(run_ingest(corpus, target))
            print(f"pure embedding of the same chunks {i + 1}/{args.repeat} ...", file=sys.stderr)
            floors.append(embedding_floor(target))
            if i:
                shutil.rmtree(target)
        cold_wall = statistics.median(wall for wall, _ in colds)
        cold_report = colds[0][1]
        floor = {"chunks": floors[0]["chunks"], "seconds": statistics.median(f["seconds"] for f in floors)}
        rows.append((f"cold ingest (median of {args.repeat})", cold_wall, cold_report))
        print("no-change re-ingest ...", file=sys.stderr)
        rows.append(("no-change re-ingest", *run_ingest(corpus, storage)))
        page = corpus / args.page
        page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>Benchmark edit: one changed paragraph.</p></body>", 1))
        print("one-page-changed re-ingest ...", file=sys.stderr)
        rows.append(("one page changed", *run_ingest(corpus, storage)))
        scaled = None
        if args.replicas:
            big = work / f"corpus{args.replicas}x"
            replicate(args.corpus, big, args.replicas)
            print(f"cold ingest of the corpus x{args.replicas} ...", file=sys.stderr)
            scaled = run_ingest(big, work / "storage-big")
            shutil.rmtree(big)
            rows.append((f"cold ingest x{args.replicas}", *scaled))

    lines = [
        f"# Ingestion benchmark ({args.corpus.name}, {cold_report['files']['added']} manuals, "
        f"{cold_report['chunks']['total']} chunks, {os.cpu_count()} cores)",
        "",
        "| run | wall s | files added/updated/unchanged | chunks embedded | chunks/s |",
        "|---|---:|---|---:|---:|",
    ]
    for name, wall, report in rows:
        f = report["files"]
        rate = report["embedded"] / wall if report["embedded"] else 0.0
        lines.append(f"| {name} | {wall:.1f} | {f['added']}/{f['updated']}/{f['unchanged']} | {report['embedded']} | {rate:.1f} |")
    lines.append(f"| pure embedding (floor, median of {args.repeat}) | {floor['seconds']:.1f} | - | {floor['chunks']} | "
                 f"{floor['chunks'] / floor['seconds']:.1f} |")
    pairs = ", ".join(f"{wall:.1f}/{f['seconds']:.1f}" for (wall, _), f in zip(colds, floors))
    lines += [
        "",
        f"- cold ingest / pure embedding: **{cold_wall / floor['seconds']:.2f}x** (target <= 1.3x); "
        f"each pair cold/floor s: {pairs}",
        f"- no-change re-ingest / cold ingest: **{rows[1][1] / cold_wall * 100:.1f}%** "
        f"(target < 5%), embedded {rows[1][2]['embedded']}",
        f"- one page changed / cold ingest: **{rows[2][1] / cold_wall * 100:.1f}%**, embedded {rows[2][2]['embedded']}",
    ]
    if scaled:
        lines.append(
            f"- x{args.replicas} corpus: {scaled[0]:.1f}s = {scaled[0] / cold_wall:.2f}x the 1x time "
            f"for {scaled[1]['chunks']['total'] / cold_report['chunks']['total']:.1f}x the chunks"
        )
    text = "\n".join(lines)
    print(text)
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench_ingest.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
