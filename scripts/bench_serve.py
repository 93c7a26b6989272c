"""Serving benchmark: how the API behaves with many agents asking at once.

Ingests data/manuals into a temporary store, starts `python -m query.server` as operators
run it (a separate process, so the load generator does not share its interpreter), pointed
at a loopback OpenAI-compatible endpoint (tests/openai_stub.py) that waits a fixed time
per answer (default 2 s), and measures:

  - 1 / 8 / 32 concurrent conversations over `/api/ask/stream`: wall time, and p50/p95 of
    the time to the `sources` event, to the first token, and to `done`;
  - extractive only (no LLM configured), 8 clients on `/api/ask`: questions per second and
    p50/p95 latency, with one client as the serial reference;
  - for both, the server's CPU time per conversation or question: the work itself, which
    other load on a shared machine does not inflate the way it inflates latencies.

Each level gets a fresh server and an empty answer cache (a cache hit would skip the
endpoint). Prints a table and writes reports/bench_serve.md. A benchmark, not a test:
this machine is shared, so rerun on a quiet one before quoting figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.store import Storage  # noqa: E402
from tests.openai_stub import StubOpenAI  # noqa: E402
from tests.servers import free_port  # noqa: E402

QUESTIONS = ROOT / "data" / "eval" / "sample_questions.jsonl"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def offline_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LLM_", "CHROMA_"))}
    env.update(extra)
    return env


class Server:
    """`python -m query.server` in its own process, stopped on exit."""

    def __init__(self, storage: Path, env: dict, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "query.server", "--storage", str(storage), "--port", str(self.port),
             "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def __enter__(self) -> "Server":
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    # with several workers the first answers as soon as it is up: give the
                    # others the time it took (they load in parallel)
                    if self.workers > 1:
                        time.sleep(5)
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start in 120 s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the server and its worker processes so far, from
        /proc: the work a burst cost, which other load on a shared machine does not inflate
        the way it inflates latencies. NaN where /proc is missing."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return float("nan")
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _children(pid: int) -> list[int]:
    """Child processes of `pid` (uvicorn's workers when --workers > 1), from /proc."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def conversation(client: httpx.AsyncClient, url: str, question: str) -> dict:
    """One streamed question: seconds to the sources event, the first token and done."""
    started = time.perf_counter()
    marks: dict[str, float] = {}
    async with client.stream("POST", url + "/api/ask/stream", json={"question": question}) as response:
        response.raise_for_status()
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
                now = time.perf_counter() - started
                if event == "sources":
                    marks.setdefault("sources", now)
                elif event == "token":
                    marks.setdefault("token", now)
                elif event == "done":
                    marks["done"] = now
                elif event == "error":
                    raise RuntimeError("error event")
            elif line.startswith("data:") and event == "done":
                marks["mode"] = json.loads(line[5:])["mode"]
    return marks


async def run_level(url: str, questions: list[str], n: int) -> dict:
    limits = httpx.Limits(max_connections=n + 4)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*(conversation(client, url, questions[i % len(questions)]) for i in range(n)))
        wall = time.perf_counter() - started
    return {"n": n, "wall": wall, "results": results}


async def run_extractive(url: str, questions: list[str], clients: int, per_client: int) -> dict:
    latencies: list[float] = []

    async def worker(offset: int, client: httpx.AsyncClient) -> None:
        for i in range(per_client):
            question = questions[(offset * per_client + i) % len(questions)]
            started = time.perf_counter()
            response = await client.post(url + "/api/ask", json={"question": question})
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients + 4)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c, client) for c in range(clients)))
        wall = time.perf_counter() - started
    return {"clients": clients, "questions": len(latencies), "wall": wall, "qps": len(latencies) / wall,
            "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "manuals")
    parser.add_argument("--llm-seconds", type=float, default=2.0, help="the endpoint's time per answer")
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--per-client", type=int, default=10, help="extractive: questions per client")
    parser.add_argument("--workers", type=int, default=1, help="server processes (python -m query.server --workers)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench_serve.md")
    args = parser.parse_args()
    if args.workers > 1 and args.out.name == "bench_serve.md":
        args.out = args.out.with_name(f"bench_serve_{args.workers}workers.md")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    storage = tmp / "storage"
    rows, extractive = [], []
    try:
        log(f"ingesting {args.data} into {storage} ...")
        subprocess.run([sys.executable, "-m", "ingest", str(args.data), "--storage", str(storage)], cwd=ROOT,
                       env=offline_env(), check=True, stdout=subprocess.DEVNULL)
        with StubOpenAI() as stub:
            stub.default_delay = args.llm_seconds
            stub.reply_with(lambda body: "매뉴얼에 따르면 요금과 조건은 다음과 같습니다 [1]. 자세한 절차는 해당 절을 참고하세요 [2].")
            env = offline_env(OPENAI_BASE_URL=stub.base_url, OPENAI_API_KEY="bench", LLM_MAX_RETRIES="0")
            for n in (int(x) for x in args.levels.split(",")):
                shutil.rmtree(Storage(storage).cache_dir, ignore_errors=True)  # no answer served from an earlier level
                with Server(storage, env, args.workers) as server:
                    log(f"{n} concurrent conversations (endpoint {args.llm_seconds:.1f} s) ...")
                    cpu = server.cpu_seconds()
                    level = asyncio.run(run_level(server.url, questions, n))
                    cpu = server.cpu_seconds() - cpu
                modes = {r.get("mode") for r in level["results"]}
                rows.append((n, level["wall"], [r["sources"] for r in level["results"]],
                             [r["token"] for r in level["results"]], [r["done"] for r in level["results"]], modes,
                             cpu / n))
        with Server(storage, offline_env(), args.workers) as server:
            # First pass: every question new to the server (nothing in the sentence-vector cache).
            log("extractive only, 8 clients, each question once (cold) ...")
            runs = [("8 clients, cold", 8, -(-len(questions) // 8)), ("1 client, warm", 1, args.per_client),
                    ("8 clients, warm", 8, args.per_client)]
            for name, clients, per_client in runs:
                log(f"extractive only, {name} ...")
                cpu = server.cpu_seconds()
                row = asyncio.run(run_extractive(server.url, questions, clients, per_client))
                extractive.append({**row, "clients": name, "cpu": (server.cpu_seconds() - cpu) / row["questions"]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ms = lambda s: f"{s * 1000:.0f}"  # noqa: E731
    lines = [
        f"## Serving benchmark (endpoint waits {args.llm_seconds:.1f} s per answer; {args.workers} server "
        f"process(es); {os.cpu_count()} cores)",
        "",
        "| concurrent conversations | wall s | sources p50 / p95 ms | first token p50 / p95 ms | done p50 / p95 ms "
        "| server CPU ms per conversation | mode |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, wall, sources, tokens, done, modes, cpu in rows:
        lines.append(f"| {n} | {wall:.2f} | {ms(pct(sources, .5))} / {ms(pct(sources, .95))} | "
                     f"{ms(pct(tokens, .5))} / {ms(pct(tokens, .95))} | {ms(pct(done, .5))} / {ms(pct(done, .95))} | "
                     f"{ms(cpu)} | {','.join(sorted(m for m in modes if m))} |")
    lines += ["", "| extractive only | questions | wall s | questions/s | p50 ms | p95 ms | server CPU ms per question |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for row in extractive:
        lines.append(f"| {row['clients']} | {row['questions']} | {row['wall']:.2f} | {row['qps']:.1f} | "
                     f"{ms(row['p50'])} | {ms(row['p95'])} | {ms(row['cpu'])} |")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(text + "\n\nLatencies are noisy on a shared machine. Server CPU is the user + system time of the\n"
                        "server's processes over the whole run of a row, from /proc (10 ms resolution), per conversation\n"
                        "or question: other load does not inflate it.\n", encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
