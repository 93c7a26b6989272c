"""Parser processes end with the ingestion that started them, even on kill -9.

Before the fix the death signal was armed only after the worker had loaded LlamaIndex and
the model (~5 s): an ingestion killed in that window left both workers running for ever
(parent pid 1, ~0.8 GB each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.faults.helpers import ROOT, children, env, ingest_cmd, many_manuals, stored_paths, wait_gone


def _start(manuals, storage) -> subprocess.Popen:
    return subprocess.Popen(ingest_cmd(manuals, storage), cwd=ROOT, env=env(PARSE_WORKERS="2", FLUSH_CHUNKS="16"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow
def test_kill_9_of_a_working_ingestion_ends_its_workers(tmp_path):
    """Killed once manuals are committed. (Killed while its workers start, the window of the bug
    above, is the fault suite's "kill -9 of an ingestion with 2 workers".)"""
    manuals = many_manuals(tmp_path / "manuals", 20)  # 80 manuals: parsed in worker processes
    storage = tmp_path / "storage"
    proc = _start(manuals, storage)
    workers: list[int] = []
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            workers = children(proc.pid)
            if storage.exists() and stored_paths(storage):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the ingestion ended before it could be killed"
        workers = sorted(set(workers) | set(children(proc.pid)))
        assert len(workers) >= 2  # the parsers (and multiprocessing's resource tracker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert wait_gone(workers, 15) == [], "worker processes outlived the killed ingestion"
    finally:
        for pid in workers:  # never leave them behind, whatever happened
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()


_WATCHED = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import os, time
import ingest.lifeline as lifeline
lifeline._prctl_death_signal = lambda: False  # as where prctl does not exist
print(lifeline.bind_to_parent(int(os.environ["PARENT"])), flush=True)
time.sleep(120)
'''], env={**os.environ, "PARENT": str(os.getpid())}, stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
time.sleep(120)
"""


def test_without_prctl_a_watchdog_ends_the_worker(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", _WATCHED], cwd=ROOT, env=env(), stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        child_pid, mechanism = parent.stdout.readline().split()
        child = int(child_pid)
        assert mechanism == "watchdog"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert wait_gone([child], 10) == []
    finally:
        for pid in (child, parent.pid):
            try:
                if pid:
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
