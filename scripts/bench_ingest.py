"""Ingestion benchmark on a real corpus (default: ../shared/corpora/httpd-manual).

Measures, each in a fresh `python -m ingest` process as operators run it:
  cold ingest, no-change re-ingest, one-page-changed re-ingest, the pure embedding time of
  the same chunks (the floor: the model's own batch call in one process, model loaded,
  texts in memory, BLAS on all cores), and the corpus replicated N times under other
  names (scaling). Cold ingest and the floor alternate `--repeat` times and the ratio
  uses their medians: this shared machine's speed drifts by 20% within minutes.
  Prints a table and the ratios, and writes reports/bench_ingest.md.
  A small extra section reads the generated sample attachments (data/manuals/forms, img)
  and reports attachments/s and MB/s per type (reading only: sniff + extract + units),
  and, when ../shared/samples/attachments/debian-install-ko.pdf exists, compares the PDF
  libraries on it (`--attachments-only` runs just this section: reports/bench_attachments.md).
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


SAMPLE_ATTACHMENTS = [ROOT / "data" / "manuals" / "forms", ROOT / "data" / "manuals" / "img"]
REAL_PDF = ROOT.parent / "shared" / "samples" / "attachments" / "debian-install-ko.pdf"


def attachment_section(repeat: int = 5) -> list[str]:
    """Reading speed per attachment type on the generated samples (median of `repeat`
    passes, in this process, readers imported beforehand), and the PDF libraries compared."""
    sys.path.insert(0, str(ROOT))
    from ingest.attachments.extract import extract
    from ingest.attachments.sniff import sniff
    from ingest.attachments.units import AttachmentError

    files = [p for folder in SAMPLE_ATTACHMENTS if folder.is_dir() for p in sorted(folder.iterdir()) if p.is_file()]
    by_type: dict[str, list[tuple[Path, bytes]]] = {}
    for path in files:
        raw = path.read_bytes()
        by_type.setdefault(sniff(raw, path.name).value, []).append((path, raw))
    lines = ["", "## Attachments (generated samples, reading only: sniff + extract)", "",
             f"| type | files | MB | files/s | MB/s | s per file |", "|---|---:|---:|---:|---:|---:|"]
    for kind, items in sorted(by_type.items()):
        for path, raw in items:  # warm: imports and first-call setup are not reading speed
            try:
                extract(raw, path.name)
            except AttachmentError:
                pass
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            for path, raw in items:
                try:
                    extract(raw, path.name)
                except AttachmentError:
                    pass
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times)
        size = sum(len(raw) for _, raw in items) / 1048576
        lines.append(f"| {kind} | {len(items)} | {size:.3f} | {len(items) / seconds:.1f} | {size / seconds:.2f} | "
                     f"{seconds / len(items):.4f} |")
    if REAL_PDF.exists():
        lines += ["", f"PDF libraries on {REAL_PDF.name} ({REAL_PDF.stat().st_size / 1048576:.1f} MB, a real Korean PDF):", "",
                  "| library | pages | seconds | Hangul syllables | characters |", "|---|---:|---:|---:|---:|"]
        lines += pdf_compare(REAL_PDF)
    return lines


def pdf_compare(path: Path) -> list[str]:
    import io

    data = path.read_bytes()

    def hangul(text: str) -> int:
        return sum(1 for ch in text if "\uac00" <= ch <= "\ud7a3")

    def pdfium() -> list[str]:
        import pypdfium2

        doc = pypdfium2.PdfDocument(data)
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]

    def pypdf_pages() -> list[str]:
        import pypdf

        return [page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(data)).pages]

    def plumber() -> list[str]:
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return [page.extract_text() or "" for page in pdf.pages]

    rows = []
    for name, read in (("pypdfium2 (used)", pdfium), ("pypdf", pypdf_pages), ("pdfplumber", plumber)):
        try:
            started = time.perf_counter()
            pages = read()
            seconds = time.perf_counter() - started
        except ImportError:
            rows.append(f"| {name} | - | not installed | - | - |")
            continue
        text = "".join(pages)
        rows.append(f"| {name} | {len(pages)} | {seconds:.2f} | {hangul(text):,} | {len(text):,} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "httpd-manual")
    parser.add_argument("--replicas", type=int, default=5, help="copies for the scaling run (0 to skip)")
    parser.add_argument("--page", default="mod/mod_dir.html.en.utf8", help="page edited for the one-change run")
    parser.add_argument("--repeat", type=int, default=3, help="cold ingest / floor pairs (medians are reported)")
    parser.add_argument("--attachments-only", action="store_true", help="only the attachment section")
    args = parser.parse_args()
    attachments = attachment_section()
    if args.attachments_only:
        text = "# Attachment reading benchmark\n" + "\n".join(attachments)
        print(text)
        (ROOT / "reports").mkdir(exist_ok=True)
        (ROOT / "reports" / "bench_attachments.md").write_text(text + "\n", encoding="utf-8")
        return 0
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
        f"- cold ingest / pure embedding: **{cold_wall / floor['seconds']:.2f}x** (budget <= 2.0x, issue 22); "
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
    text = "\n".join(lines + attachments)
    print(text)
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench_ingest.md").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
