"""Manuals parsed (and, with a bundled model, embedded) in worker processes.

Results come back in submission order, so the writer commits manuals in a predictable
order and a killed run resumes cleanly.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from core.embedding import embeds_in_process
from core.settings import Settings
from ingest.lifeline import start_worker
from ingest.worker import FileResult, build_file, init_worker

# Fewer changed manuals than this are parsed in-process: starting a spawned parser costs
# 4-7 s of imports, more than parsing a few dozen pages takes.
IN_PROCESS_MAX = 64


class Parsing:
    """Parses manuals in worker processes, running ahead of the embedder, in submission order.

    Tiny batches parse in-process. One worker per core when workers embed too (bundled
    models), else one core is left to the main process, which then embeds.
    """

    AHEAD = 1024  # manuals parsed ahead of the embedder: bounds memory, not speed

    def __init__(self, tasks: list[tuple], settings: Settings, cache_path: Path,
                 build: Callable[..., FileResult] = build_file) -> None:
        self.tasks = tasks
        self.build = build  # build_file for pages; ingest.attachments.build.build_attachment
        self.settings = settings
        self.init_args = (settings.model_dump_json(), str(cache_path))

    def __iter__(self) -> Iterator[FileResult]:
        cores = os.cpu_count() or 1
        workers = self.settings.parse_workers or (cores if embeds_in_process(self.settings) else max(1, cores - 1))
        if len(self.tasks) < IN_PROCESS_MAX:
            init_worker(*self.init_args)
            for task in self.tasks:
                yield self.build(*task)
            return
        # spawn, not fork: a forked worker would inherit the store lock's descriptor (and keep
        # the lock alive after the parent is killed) and Chroma's threads. Workers die with
        # this process, even on kill -9 (ingest.lifeline).
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=start_worker,
                                 initargs=(os.getpid(), *self.init_args)) as pool:
            try:
                window: list[Future] = []
                pending = iter(self.tasks)
                for task in pending:
                    window.append(pool.submit(self.build, *task))
                    if len(window) >= self.AHEAD:
                        break
                while window:
                    result = window.pop(0).result()
                    nxt = next(pending, None)
                    if nxt is not None:
                        window.append(pool.submit(self.build, *nxt))
                    yield result
            finally:
                # The run stopped early (a full disk, an interrupt): parse nothing more.
                pool.shutdown(wait=True, cancel_futures=True)
