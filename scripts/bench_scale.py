"""Growth benchmark (`make bench-scale`): how ingest, store, memory and latency grow with
the corpus, embedded and through a `chroma run` server.

The corpus is the httpd manual copied under distinct prefixes (`c00/`, `c01/`, ...), each
copy's text varied (an "edition N" word in every paragraph, cell and list item, and in the
title) so that no two copies share a chunk text or a vector. Per multiplier:
  - cold ingest (`python -m ingest`, its own process): seconds and chunks/s
  - store size on disk
  - query server (`python -m query.server`) RSS after the questions, and retrieval
    p50/p95 as the server reports it (`latency.retrieve_ms`) over data/eval/httpd_questions
  - the same through a `chroma run` server serving a copy of the Chroma store
  - freshness: one page edited, incremental ingest, seconds from the publish of the new
    generation to the first question (sent) whose answer shows the edit, with the server
    running all along
Results go to reports/bench_scale.json after each size (a rerun skips the sizes already
there: `--force` to redo), then reports/bench_scale.md and reports/bench_scale.png.
Progress on stderr. 32x (~12,000 pages) takes about an hour on 2 cores; not in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "bench_scale.md"
RESULTS = ROOT / "reports" / "bench_scale.json"
PLOT = ROOT / "reports" / "bench_scale.png"
QUESTIONS = ROOT / "data" / "eval" / "httpd_questions.jsonl"
EDIT_PAGE = "c00/mod/core.html.en.utf8"
sys.path.insert(0, str(ROOT))
from core.store import Storage  # noqa: E402
from tests.servers import free_port, wait_http  # noqa: E402  (the same start-up the tests use)

MARK = re.compile(rb"<(p|td|li)(\s[^>]*)?>", re.I)


def log(message: str) -> None:
    print(f"[bench-scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def env(**extra: str) -> dict:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHROMA_"))}
    out.update(PYTHONPATH=str(ROOT), ANONYMIZED_TELEMETRY="False", **extra)
    return out


def build_corpus(source: Path, target: Path, copies: int) -> int:
    """Copy `source` `copies` times under c00/, c01/... with each copy's text varied."""
    done = target / ".complete"
    if done.exists() and done.read_text() == str(copies):
        return sum(1 for _ in target.rglob("*.html*"))
    shutil.rmtree(target, ignore_errors=True)
    pages = 0
    for i in range(copies):
        for path in source.rglob("*"):
            if not path.is_file() or path.name in ("LICENSE", "SOURCE.md"):
                continue
            dest = target / f"c{i:02d}" / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            raw = path.read_bytes()
            if ".html" in path.name and i:
                word = f"edition{i} ".encode()
                raw = MARK.sub(lambda m: m.group(0) + word, raw)
                raw = re.sub(rb"<title>", b"<title>" + word, raw, count=1, flags=re.I)
            if ".html" in path.name:
                pages += 1
            dest.write_bytes(raw)
    done.write_text(str(copies))
    return pages


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Proc:
    """A server process that is always stopped (context manager)."""

    def __init__(self, args: list[str], log_path: Path, extra_env: dict | None = None) -> None:
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env(**(extra_env or {})), stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self) -> "Proc":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def rss_mb(self) -> tuple[float, float]:
        """(current RSS, peak RSS) in MB, from /proc."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        values = {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in status.splitlines()) if k in ("VmRSS", "VmHWM")}
        return round(values["VmRSS"], 1), round(values["VmHWM"], 1)


def ask(url: str, question: str) -> dict:
    body = json.dumps({"question": question, "top_k": 5}).encode()
    request = urllib.request.Request(url + "/api/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def query_server(storage: Path, work: Path, extra_env: dict | None = None) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc([sys.executable, "-m", "query.server", "--storage", str(storage), "--port", str(port)],
                work / f"server-{port}.log", dict(CACHE_DIR=str(work / f"cache-{port}"), **(extra_env or {})))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/api/health", proc.proc, 600)
    except Exception:
        proc.__exit__()
        raise
    return proc, url


def latencies(url: str, questions: list[str]) -> dict:
    for q in questions[:3]:  # warm-up: lazy model loads
        ask(url, q)
    retrieve = []
    for i, q in enumerate(questions, 1):
        retrieve.append(ask(url, q)["latency"]["retrieve_ms"])
        if i % 20 == 0:
            log(f"  {i}/{len(questions)} questions")
    retrieve.sort()
    return {"p50_ms": round(statistics.median(retrieve), 1),
            "p95_ms": round(retrieve[min(len(retrieve) - 1, int(0.95 * len(retrieve)))], 1), "n": len(retrieve)}


def ingest(corpus: Path, storage: Path, extra_env: dict | None = None) -> tuple[float, dict]:
    """`python -m ingest` as operators run it; its progress bar goes to our stderr."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ingest", str(corpus), "--storage", str(storage), "--json"],
                          cwd=ROOT, env=env(**(extra_env or {})), stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"ingest of {corpus} failed with exit code {proc.returncode} (see its messages above)")
    return wall, json.loads(proc.stdout)


def freshness(url: str, corpus: Path, storage: Path, n: int, edit_page: str = EDIT_PAGE) -> dict:
    """Edit one page and ingest it while the server runs. Asks from the moment the new
    generation is published (the pointer moves; the ingest process still exits after
    that) until an answer shows the edit: seconds from the publish to that question."""
    token = f"QZX{n}{int(time.time()) % 100000}"
    page = corpus / edit_page
    raw = page.read_bytes()
    page.write_bytes(raw.replace(b"</body>", f"<h2 id=\"benchmark\">Benchmark marker</h2><p>The benchmark marker "
                                            f"code of this edition is {token}.</p></body>".encode(), 1))
    pointer = Storage(storage).pointer_path
    before = json.loads(pointer.read_text())["current"]["number"]
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ingest", str(corpus), "--storage", str(storage), "--json"],
                            cwd=ROOT, env=env(), stdout=subprocess.PIPE, text=True)
    try:
        while json.loads(pointer.read_text())["current"]["number"] == before:
            if proc.poll() is not None:
                raise RuntimeError(f"the incremental ingest ended (exit {proc.returncode}) without publishing")
            time.sleep(0.01)
        published = time.perf_counter()
        question = "What is the benchmark marker code of this edition?"
        while True:
            sent = time.perf_counter() - published
            result = ask(url, question)
            if token in result["answer"] or any(token in s.get("snippet", "") for s in result["sources"]):
                break
            if sent > 120:
                raise RuntimeError("the edit was not visible 120 s after the new generation was published")
            time.sleep(0.05)
        stdout, _ = proc.communicate(timeout=600)
        wall = time.perf_counter() - started
        if proc.returncode not in (0, 3):
            raise RuntimeError(f"the incremental ingest failed with exit code {proc.returncode}")
        return {"incremental_ingest_s": round(wall, 2), "visible_after_s": round(sent, 2),
                "generation": json.loads(stdout).get("generation")}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        page.write_bytes(raw)


def server_mode(storage: Path, work: Path, questions: list[str]) -> dict:
    """Serve a copy of the embedded Chroma store from `chroma run` and measure the same
    query server against it (the collection renamed to the server-mode name)."""
    layout = Storage(storage)
    pointer = json.loads(layout.pointer_path.read_text())["current"]
    chroma_copy = work / "chroma-server-data"
    shutil.rmtree(chroma_copy, ignore_errors=True)
    shutil.copytree(Storage.chroma_dir(layout.index_path(pointer["index"])), chroma_copy)
    port = free_port()
    chroma_bin = Path(sys.executable).parent / "chroma"
    with Proc([str(chroma_bin), "run", "--path", str(chroma_copy), "--port", str(port)], work / "chroma.log") as chroma:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", chroma.proc, 300)
        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=port)
        client.get_collection("manuals").modify(name=f"manuals-{pointer['index']}")
        server, url = query_server(storage, work, {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": str(port)})
        with server:
            result = latencies(url, questions)
            result["query_server_rss_mb"], _ = server.rss_mb()
        result["chroma_server_rss_mb"], _ = chroma.rss_mb()
    shutil.rmtree(chroma_copy, ignore_errors=True)
    return result


def run_size(copies: int, source: Path, work: Path, questions: list[str]) -> dict:
    size_dir = work / f"{copies}x"
    size_dir.mkdir(parents=True, exist_ok=True)
    corpus, storage = size_dir / "corpus", size_dir / "storage"
    log(f"{copies}x: building the corpus")
    pages = build_corpus(source, corpus, copies)
    shutil.rmtree(storage, ignore_errors=True)
    log(f"{copies}x: cold ingest of {pages} pages")
    wall, report = ingest(corpus, storage)
    chunks = report["chunks"]["total"]
    out = {"copies": copies, "pages": pages, "chunks": chunks, "cold_ingest_s": round(wall, 1),
           "chunks_per_s": round(chunks / wall, 1), "store_mb": round(du(storage) / 1e6, 1)}
    log(f"{copies}x: {chunks} chunks in {wall:.0f}s ({out['chunks_per_s']} chunks/s), store {out['store_mb']} MB")
    log(f"{copies}x: query server (embedded Chroma): {len(questions)} questions")
    server, url = query_server(storage, size_dir)
    with server:
        out["embedded"] = latencies(url, questions)
        out["embedded"]["query_server_rss_mb"], out["embedded"]["query_server_peak_mb"] = server.rss_mb()
        log(f"{copies}x: embedded {out['embedded']}")
        log(f"{copies}x: freshness (edit, incremental ingest, ask until shown)")
        out["freshness"] = freshness(url, corpus, storage, copies)
        log(f"{copies}x: freshness {out['freshness']}")
    log(f"{copies}x: the same through a `chroma run` server")
    out["server"] = server_mode(storage, size_dir, questions)
    log(f"{copies}x: server {out['server']}")
    return out


def slope(rows: list[dict], get) -> str:
    """Growth exponent b of y ~ x^b between the smallest and largest size (log-log)."""
    import math

    points = [(r["chunks"], get(r)) for r in rows if get(r)]
    if len(points) < 2:
        return "n/a (one size)"
    (x0, y0), (x1, y1) = points[0], points[-1]
    return f"{math.log(y1 / y0) / math.log(x1 / x0):.2f}"


def write_report(rows: list[dict]) -> None:
    rows = sorted(rows, key=lambda r: r["copies"])
    metrics = {
        "cold ingest (s)": lambda r: r["cold_ingest_s"],
        "store (MB)": lambda r: r["store_mb"],
        "query server RSS, embedded (MB)": lambda r: r["embedded"]["query_server_rss_mb"],
        "retrieval p95, embedded (ms)": lambda r: r["embedded"]["p95_ms"],
        "retrieval p95, chroma server (ms)": lambda r: r["server"]["p95_ms"],
        "edit visible after (s)": lambda r: r["freshness"]["visible_after_s"],
    }
    lines = [
        "# Growth benchmark (`make bench-scale`)",
        "",
        "The httpd manual copied N times under distinct prefixes, each copy's text varied so no",
        "chunk repeats. Cold ingest in its own process; latencies are the query server's own",
        "`retrieve_ms` over the httpd question set, after a warm-up; RSS of the query server",
        "process after the questions. Server mode: the same store served by `chroma run`.",
        "Freshness: one page edited and ingested incrementally while the server runs; seconds",
        "from the new generation's publish (the pointer moving) to the first question, sent,",
        "whose answer shows the edit.",
        f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores "
        "(shared with other jobs: figures are noisy; re-run on a quiet machine).",
        "",
        "| size | pages | chunks | cold ingest | chunks/s | store | RSS embedded | p50 / p95 embedded "
        "| RSS server mode (query / chroma) | p50 / p95 server mode | incremental ingest | edit visible after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, s, f = r["embedded"], r["server"], r["freshness"]
        lines.append(
            f"| {r['copies']}x | {r['pages']} | {r['chunks']} | {r['cold_ingest_s']:.0f} s | {r['chunks_per_s']:.1f} "
            f"| {r['store_mb']:.0f} MB | {e['query_server_rss_mb']:.0f} MB | {e['p50_ms']:.0f} / {e['p95_ms']:.0f} ms "
            f"| {s['query_server_rss_mb']:.0f} / {s['chroma_server_rss_mb']:.0f} MB | {s['p50_ms']:.0f} / {s['p95_ms']:.0f} ms "
            f"| {f['incremental_ingest_s']:.1f} s | {f['visible_after_s']:.2f} s |"
        )
    lines += ["", "How each grows (exponent b in y ~ chunks^b, smallest to largest size; 1 = linear):", ""]
    lines += [f"- {name}: {slope(rows, get)}" for name, get in metrics.items()]
    lines += ["", "![growth](bench_scale.png)", ""]
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    plot(rows, metrics)


def plot(rows: list[dict], metrics: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["chunks"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in ("cold ingest (s)", "retrieval p95, embedded (ms)", "retrieval p95, chroma server (ms)", "edit visible after (s)"):
        axes[0].plot(x, [metrics[name](r) for r in rows], marker="o", label=name)
    for name in ("query server RSS, embedded (MB)", "store (MB)"):
        axes[1].plot(x, [metrics[name](r) for r in rows], marker="o", label=name)
    for ax, title in zip(axes, ("time", "memory and disk")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "httpd-manual")
    parser.add_argument("--sizes", default="1,8,32", help="multipliers, e.g. 1 or 1,8,32")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "manual-qa-bench-scale",
                        help="scratch space (32x needs a few GB)")
    parser.add_argument("--force", action="store_true", help="re-measure sizes already in reports/bench_scale.json")
    parser.add_argument("--keep", action="store_true", help="keep corpora and stores in --work afterwards")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"error: no corpus at {args.corpus} (give --corpus)", file=sys.stderr)
        return 2
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = {} if args.force or not RESULTS.exists() else {int(k): v for k, v in json.loads(RESULTS.read_text()).items()}
    args.work.mkdir(parents=True, exist_ok=True)
    for copies in sizes:
        if copies in results:
            log(f"{copies}x: already measured (reports/bench_scale.json); --force to redo")
            continue
        started = time.time()
        try:
            results[copies] = run_size(copies, args.corpus, args.work, questions)
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            print(f"error: the {copies}x run failed: {exc}\n  sizes finished so far are kept in {RESULTS}; "
                  f"run again to resume (scratch in {args.work})", file=sys.stderr)
            return 1
        RESULTS.write_text(json.dumps({str(k): v for k, v in sorted(results.items())}, indent=1))
        write_report(list(results.values()))
        log(f"{copies}x done in {time.time() - started:.0f}s")
        if not args.keep:
            shutil.rmtree(args.work / f"{copies}x", ignore_errors=True)
    write_report(list(results.values()))
    print(REPORT.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
