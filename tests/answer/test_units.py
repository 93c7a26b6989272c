"""Units with no test of their own before: citation checks, prices, the history budget."""

from __future__ import annotations

import pytest

from core.llm import Usage, price
from core.settings import Settings
from core.tokens import count_tokens
from query.answer.conversation import history_messages
from query.answer.generate import validate_citations
from query.contract import cited


def test_validate_citations_drops_markers_outside_the_sources():
    text, removed = validate_citations("Fee is 10 [1]. Wrong [4]. Both [2][3] , see [0].", 3)
    assert removed == [4, 0]
    assert text == "Fee is 10 [1]. Wrong. Both [2][3], see."
    assert validate_citations("no markers", 2) == ("no markers", [])
    assert cited("a [2] b [1] c [2]") == [2, 1]


def test_llm_prices_from_the_environment(monkeypatch):
    monkeypatch.setenv("LLM_PRICES", '{"house-model": [2.0, 8.0]}')
    settings = Settings(_env_file=None)
    assert settings.llm_prices["house-model"] == (2.0, 8.0)
    assert "gpt-4o-mini" in settings.llm_prices  # the defaults stay, the variable adds to them
    assert price(settings, "house-model", 1_000_000, 500_000) == pytest.approx(2.0 + 4.0)
    # a dated model name is billed as its longest known prefix; an unknown model costs 0
    assert price(settings, "house-model-2026-01", 1_000_000, 0) == pytest.approx(2.0)
    assert price(settings, "local-llama", 10**6, 10**6) == 0.0
    usage = Usage()
    usage.add(settings, "house-model", 1000, 100)
    assert usage.as_dict() == {"llm_requests": 1, "input_tokens": 1000, "output_tokens": 100,
                               "cost_usd": pytest.approx((1000 * 2.0 + 100 * 8.0) / 1e6)}


def test_history_keeps_the_newest_turns_within_history_tokens():
    turns = [{"question": f"question number {i} " + "word " * 40, "answer": f"answer {i} [1] " + "text " * 40}
             for i in range(6)]
    model = "gpt-4o-mini"
    one_turn = sum(count_tokens(m["content"], model) + 4 for m in history_messages(turns[-1:], 10**6, model))
    budget = 2 * one_turn + one_turn // 2  # room for two turns and a half
    messages = history_messages(turns, budget, model)
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert messages[0]["content"].startswith("question number 4") and messages[2]["content"].startswith("question number 5")
    assert sum(count_tokens(m["content"], model) + 4 for m in messages) <= budget
    assert "[1]" not in messages[1]["content"]  # the old turn's markers pointed at its own sources
    assert history_messages(turns, 0, model) == []
