"""Concurrent questions are embedded together, and each still gets its own vector."""

from __future__ import annotations

import asyncio

import anyio
import numpy as np

from core.embedding import get_embed_model
from query.answer.question_vectors import QuestionVectors

QUESTIONS = ["인터넷 이전 설치비는 얼마인가요?", "roaming price in Japan", "약정 해지 위약금", "How do I reset my router?",
             "5G 요금제 데이터 한도", "What documents do I need to open an account?"]


class CountingModel:
    """The real model, counting how many forward passes the questions took."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, []

    def encode_queries(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return self.model.encode_queries(texts)


def test_concurrent_questions_get_their_own_vectors_in_fewer_passes(settings) -> None:
    model = get_embed_model(settings)
    counting = CountingModel(model)

    async def ask_all() -> list[list[float]]:
        vectors = QuestionVectors(counting, anyio.CapacityLimiter(1))
        return await asyncio.gather(*(vectors.vector(q) for q in QUESTIONS))

    got = asyncio.run(ask_all())
    for question, vector in zip(QUESTIONS, got):
        alone = np.asarray(model.get_query_embedding(question))
        assert np.allclose(np.asarray(vector), alone, atol=1e-5), question
    assert sum(counting.calls) == len(QUESTIONS)
    assert len(counting.calls) < len(QUESTIONS)  # asked together: one pass, not six


def test_a_failing_model_fails_each_waiting_question_and_the_next_ones_still_work(settings) -> None:
    model = get_embed_model(settings)

    class Flaky:
        failed = False

        def encode_queries(self, texts: list[str]) -> list[list[float]]:
            if not Flaky.failed:
                Flaky.failed = True
                raise RuntimeError("model unavailable")
            return model.encode_queries(texts)

    async def run() -> tuple[BaseException | list[float], list[float]]:
        vectors = QuestionVectors(Flaky(), anyio.CapacityLimiter(1))
        first = await asyncio.gather(vectors.vector("first"), return_exceptions=True)
        return first[0], await vectors.vector("second")

    first, second = asyncio.run(run())
    assert isinstance(first, RuntimeError)
    assert len(second) == len(model.get_query_embedding("second"))


def test_a_burst_is_embedded_in_batches_so_retrieval_can_start_on_the_first(settings) -> None:
    from query.answer.question_vectors import MAX_BATCH

    counting = CountingModel(get_embed_model(settings))
    burst = [f"{q} ({i})" for i in range(4) for q in QUESTIONS]  # 24 questions at once

    async def ask_all() -> list[list[float]]:
        vectors = QuestionVectors(counting, anyio.CapacityLimiter(1))
        return await asyncio.gather(*(vectors.vector(q) for q in burst))

    assert len(asyncio.run(ask_all())) == len(burst)
    assert sum(counting.calls) == len(burst) and max(counting.calls) <= MAX_BATCH < len(burst)
