"""Real processes for the live-index tests: query servers, ingestion runs, `chroma run`.

Every process started here is stopped by the context manager that started it.
"""

from __future__ import annotations

import json
import os
import random
import threading
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import ROOT

VENV_BIN = Path(sys.executable).parent


class Askers:
    """Agents asking all the time while an ingestion runs (on threads); records every
    failure and every source without a path or URL."""

    def __init__(self, urls: list[str], questions: list[str], threads: int = 2) -> None:
        self.urls, self.questions, self.threads, self.asked = urls, questions, threads, 0
        self.errors: list[str] = []
        self.bad_sources: list[dict] = []

    def _run(self, stop: threading.Event, seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                result = ask(rng.choice(self.urls), rng.choice(self.questions))
                self.asked += 1
                self.bad_sources += [s for s in result["sources"] if not s.get("path") or not s.get("url")]
            except Exception as exc:  # any failure is what this test is about
                self.errors.append(repr(exc))
            stop.wait(0.2)  # agents read between questions

    @contextmanager
    def during(self) -> Iterator[None]:
        stop = threading.Event()
        threads = [threading.Thread(target=self._run, args=(stop, i), daemon=True) for i in range(self.threads)]
        for t in threads:
            t.start()
        try:
            yield
        finally:
            stop.set()
            for t in threads:
                t.join(60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def env(**extra: str) -> dict:
    """The developer's environment minus anything that would change the path under test."""
    drop = ("OPENAI_", "CHROMA_", "STORAGE_DIR", "CACHE_DIR", "BASE_URL", "EMBED_MODEL", "RETRIEVAL_MODE")
    out = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    # keep the network guard conftest put on PYTHONPATH (tests/netguard)
    out.update(PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), PARSE_WORKERS="1", **extra)
    return out


def wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def query_servers(storage: Path, count: int = 1, extra_env: dict | None = None) -> Iterator[list[str]]:
    """`python -m query.server --storage DIR --port P` replicas, each in its own process
    (started together); yields their URLs."""
    procs, logs, urls = [], [], []
    try:
        for i in range(count):
            port = free_port()
            logs.append(open(storage.parent / f"server-{port}.log", "w"))
            replica_env = env(CACHE_DIR=str(storage.parent / f"cache-{port}"), **(extra_env or {}))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "query.server", "--storage", str(storage), "--port", str(port)],
                cwd=ROOT, env=replica_env, stdout=logs[-1], stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs):
            wait_http(url + "/api/health", proc, 120)
        yield urls
    finally:
        for proc in procs:
            _stop(proc)
        for log in logs:
            log.close()


@contextmanager
def query_server(storage: Path, extra_env: dict | None = None) -> Iterator[str]:
    with query_servers(storage, 1, extra_env) as urls:
        yield urls[0]


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    """chromadb's own `chroma run --path TMP --port FREE`; yields (host, port)."""
    port = free_port()
    log = open(path.parent / f"chroma-{port}.log", "w")
    proc = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(path), "--port", str(port)],
                            cwd=ROOT, env=env(ANONYMIZED_TELEMETRY="False"), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v2/heartbeat", proc, 60)
        yield "127.0.0.1", port
    finally:
        _stop(proc)
        log.close()


def ask(url: str, question: str, top_k: int = 5) -> dict:
    body = json.dumps({"question": question, "top_k": top_k}).encode()
    request = urllib.request.Request(url + "/api/ask", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def shows(result: dict, text: str) -> bool:
    """Whether an answer (its text or a source's snippet) states `text`."""
    return text in result["answer"] or any(text in s.get("snippet", "") for s in result["sources"])


def wait_until(url: str, question: str, predicate, timeout: float) -> tuple[float, dict]:
    """Ask until `predicate(result)` holds. Returns (seconds from the call to the moment
    the first request that got such an answer was *sent*, that answer). Why the send time:
    it is when the server started serving the new state; the answer's own latency (an
    extractive answer takes 0.3-2 s on a busy 2-core CI box) is the same before and after."""
    started = time.perf_counter()
    while True:
        sent = time.perf_counter() - started
        result = ask(url, question)
        if predicate(result) or sent > timeout:
            return sent, result
        time.sleep(0.05)
