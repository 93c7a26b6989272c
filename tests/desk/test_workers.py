"""`python -m query.server --workers N`: N server processes behind one port, each with its
own models, all answering (the README's one-process-per-core setting)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.store import get_storage
from tests.helpers import ROOT
from tests.servers import _stop, env, free_port, wait_http

pytestmark = pytest.mark.slow  # two live server processes loading their models


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_workers_2_answers_from_two_processes(built_store, tmp_path):
    _, settings = built_store
    storage = get_storage(settings).root
    port = free_port()
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "query.server", "--storage", str(storage), "--port", str(port),
                                 "--workers", "2"], cwd=ROOT, env=env(QUERY_LOG="false", CACHE_DIR=str(tmp_path / "c")),
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/api/health", proc, 240)
            workers = [pid for pid in _children(proc.pid)
                       if "query.server" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                       or "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
            assert len(workers) >= 2, workers
            for question in ["일시 정지는 1년에 최대 며칠까지 가능한가요?", "How much is the daily roaming pass?"] * 3:
                answer = httpx.post(url + "/api/ask", json={"question": question}, timeout=60)
                assert answer.status_code == 200 and answer.json()["sources"], answer.text
        finally:
            _stop(proc)
    assert "2 workers" in (tmp_path / "server.log").read_text()
