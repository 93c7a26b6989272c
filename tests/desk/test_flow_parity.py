"""One answering flow: the CLI's synchronous driver (Engine.ask) and the desk's async one
(Desk.exchange) run the same steps (Engine.answer_flow) and give the same answer."""

from __future__ import annotations

import anyio
import pytest

from query.contract import Answer, Mode
from query.desk.desk import Desk
from query.desk.sessions import SessionStore
from tests.answer.test_llm import PENALTY_Q, llm_engine, store, stub  # noqa: F401  (fixtures)

QUESTIONS = ["일시 정지는 1년에 최대 며칠까지 가능한가요?", "How much is the daily roaming pass?", "안녕", "인터넷 해지 위약금은?"]
TIMING = {"latency", "latency_ms", "exchange_id", "session_id"}


def _comparable(answer: Answer) -> dict:
    return {k: v for k, v in answer.contract().items() if k not in TIMING}


def _desk_answer(desk: Desk, question: str, use_llm: bool) -> tuple[Answer, list[str]]:
    async def run() -> tuple[Answer, list[str]]:
        final, kinds = None, []
        async for kind, data in desk.exchange(question, turns=[], use_llm=use_llm):
            kinds.append(kind)
            if kind == "done":
                final = data
        return final, kinds

    return anyio.run(run)


@pytest.mark.parametrize("question", QUESTIONS)
def test_sync_and_async_give_the_same_extractive_answer(engine, tmp_path, question):
    desk = Desk(engine, SessionStore(tmp_path / "s.sqlite"))
    sync = engine.ask(question, use_llm=False)
    async_answer, kinds = _desk_answer(desk, question, use_llm=False)
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert _comparable(async_answer) == _comparable(sync)


def test_sync_and_async_give_the_same_llm_answer(store, stub, tmp_path):  # noqa: F811
    stub.reply_with(lambda body: "위약금은 138,000원입니다 [1]. 없는 출처 [9].")
    engine = llm_engine(store, stub)
    engine.cache = None  # both must reach the endpoint
    desk = Desk(engine, SessionStore(tmp_path / "s.sqlite"))
    sync = engine.ask(PENALTY_Q)
    async_answer, kinds = _desk_answer(desk, PENALTY_Q, use_llm=True)
    assert sync.mode is Mode.LLM and sync.removed_citations == [9] and "token" in kinds
    assert _comparable(async_answer) == _comparable(sync)
