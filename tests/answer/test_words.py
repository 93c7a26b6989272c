"""Word lists of a language or a kind of manual come from the profile file, not from code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from query.answer.engine import Engine
from query.answer.question_kind import comparison_sides
from query.answer.words import GENERIC_PRICE_NOUNS, load_words

ROOT = Path(__file__).resolve().parents[2]


def _profile(tmp_path: Path, words: dict | None) -> str:
    bundled = json.loads((ROOT / "query" / "answer" / "profiles" / "default.json").read_text(encoding="utf-8"))
    data = {"fields": bundled["fields"], **({"words": words} if words is not None else {})}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_price_and_kind_nouns_are_the_profiles(tmp_path):
    bundled = load_words()
    assert bundled.asks_price.search("위약금은요?") and bundled.asks_price.search("what is the deposit")
    (tmp_path / "a").mkdir()
    generic = load_words(_profile(tmp_path / "a", None))
    assert generic.price_nouns == GENERIC_PRICE_NOUNS
    assert not generic.asks_price.search("위약금은요?") and generic.asks_price.search("수수료는 얼마인가요")
    rent = load_words(_profile(tmp_path, {"price_nouns": ["rent"], "kind_nouns": ["gadget"]}))
    assert rent.asks_price.search("what is the rent for May") and not rent.asks_price.search("what is the fee")
    # "alpha vs beta gadgets": "gadgets" says what both are only when the profile lists it
    sides = comparison_sides("alpha vs beta gadgets", rent)
    assert sides and sides[0].terms == {"alpha"} and sides[1].terms == {"beta"}
    plain = comparison_sides("alpha vs beta gadgets", generic)
    assert plain and "gadget" in " ".join(plain[1].terms)


def test_no_billing_or_documentation_word_list_in_code():
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "query").rglob("*.py"))
    for word in ("임대료", "보증금", "위약금", "배상금", "연체료", "directive", "container"):
        assert not re.search(rf"[\"'|(]{word}[\"'|)]", code), word  # as a list item or an alternative


def test_the_greeting_comes_from_the_profile(built_store, tmp_path):
    _, settings = built_store
    path = _profile(tmp_path, {"smalltalk": {"greeting": {"en": "Hi, ask me about the handbook."}}})
    engine = Engine(settings.model_copy(update={"field_profile": path}))
    assert engine.ask("hello", use_llm=False).answer == "Hi, ask me about the handbook."
    assert engine.ask("고마워요", use_llm=False).answer.startswith("천만에요")  # the rest stay generic
