"""Parser processes end when the ingestion that started them ends, however it ends.

Why: a `kill -9` (or the OOM killer) takes the ingestion down at once, and its pool never
gets to stop its workers. Each worker holds an embedding model (~0.8 GB); left alone they
sit for ever with parent pid 1. Two layers:

- Linux: `prctl(PR_SET_PDEATHSIG, SIGKILL)` makes the kernel kill the worker when its
  parent dies. It is set in the pool's initializer, which is why this module imports
  nothing heavy: the initializer runs right after the spawned interpreter starts, before
  LlamaIndex, NumPy or the model load.
- The kernel only signals deaths that happen after the call: a parent killed while the
  worker was still starting would be missed. So right after it, the worker compares
  `os.getppid()` with the pid its parent gave it and exits if they differ.
- Elsewhere (no prctl) a daemon thread polls `os.getppid()` once a second.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0


def _prctl_death_signal() -> bool:
    """Ask the kernel for SIGKILL when the parent dies; False where that is not possible."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def bind_to_parent(parent_pid: int) -> str:
    """Make this process end when `parent_pid` does. Returns the mechanism used (for tests)."""
    mechanism = "prctl" if _prctl_death_signal() else "watchdog"
    if mechanism == "watchdog":
        threading.Thread(target=_watch, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    return mechanism


def start_worker(parent_pid: int, settings_json: str, cache_path: str | None) -> None:
    """The pool's initializer: bind to the parent first, then load the parser and model."""
    bind_to_parent(parent_pid)
    from ingest.worker import init_worker

    init_worker(settings_json, cache_path, in_pool=True)
