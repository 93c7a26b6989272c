"""The answer's status is set where it is decided (the engine), from what retrieval found
and what the LLM said, never re-derived from the answer's words afterwards."""

from __future__ import annotations

from query.answer.engine import NO_MATCH_ANSWER, Engine
from query.answer.retrieve import Filters
from query.contract import Intent, Mode, Status


def test_a_matched_question_is_answered(engine):
    answer = engine.ask("일시 정지는 1년에 최대 며칠까지 가능한가요?", use_llm=False)
    assert answer.sources and answer.status is Status.ANSWERED and answer.mode is Mode.EXTRACTIVE


def test_small_talk_is_smalltalk_without_sources(engine):
    answer = engine.ask("안녕하세요", use_llm=False)
    assert answer.status is Status.SMALLTALK and answer.intent is Intent.SMALLTALK
    assert answer.sources == [] and answer.answer.startswith("안녕하세요")


def test_no_section_is_no_match(engine):
    answer = engine.ask("일시 정지 한도는?", filters=Filters(under="no-such-folder/"), use_llm=False)
    assert answer.sources == [] and answer.status is Status.NO_MATCH and answer.answer == NO_MATCH_ANSWER


def test_a_far_nearest_section_is_low_confidence(built_store):
    _, settings = built_store
    strict = Engine(settings.model_copy(update={"low_confidence_similarity": 0.99}))
    answer = strict.ask("일시 정지는 1년에 최대 며칠까지 가능한가요?", use_llm=False)
    assert answer.sources and answer.similarity is not None and answer.similarity < 0.99
    assert answer.status is Status.LOW_CONFIDENCE
