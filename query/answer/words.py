"""The word lists that belong to a language or a kind of manual, read from the profile file.

The profile file (query/answer/profiles/default.json, or the one FIELD_PROFILE names) holds,
beside its `fields`, an optional `words` section:

    price_nouns  nouns that ask for an amount of money ("요금", "fee", and a price list's own
                 words for a rent or a deposit): the extractive answer then prefers a line with a sum
    kind_nouns   nouns that say what kind of thing a comparison's sides are ("mode", a directive:
                 "Eco mode vs Turbo mode" contrasts Eco and Turbo)
    smalltalk    the replies to greetings, thanks and goodbyes, by kind and language

Why data, not code: these lists fit one kind of manual (a telecom price sheet's billing nouns,
a server reference's directive); a deployment for other manuals edits its profile file. The
defaults here are the generic words, used when a profile has no `words` section.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.chunk_record import HANGUL
from query.answer.fields import DEFAULT_PROFILE

GENERIC_PRICE_NOUNS = ("요금", "비용", "가격", "금액", "수수료", "이용료", "사용료", "price", "cost", "fee", "charge")
GENERIC_KIND_NOUNS = ("option", "command", "setting", "mode", "tool", "entry", "entries", "format", "file")
GENERIC_SMALLTALK = {
    "greeting": {"ko": "안녕하세요. 질문해 주시면 매뉴얼에서 근거와 함께 찾아 드립니다.",
                 "en": "Hello. Ask a question and I will answer from the manuals with sources."},
    "thanks": {"ko": "천만에요. 더 궁금한 점이 있으면 질문해 주세요.", "en": "You're welcome. Ask another question any time."},
    "bye": {"ko": "수고하세요.", "en": "Goodbye."},
}
# How a question asks "how much" whatever the nouns: general question forms, not word lists.
_HOW_MUCH = (r"얼마(예요|에요|인가요|입니까|인지|를|나\s*(내|더|들)|\s*(더\s*)?(내|들|해|받|청구))"
             r"|\bhow much (do|does|will|would|is|are) (i|we|it|they|the customer)\s+(pay|cost|charged?)\b")


@dataclass(frozen=True)
class Words:
    price_nouns: tuple[str, ...] = GENERIC_PRICE_NOUNS
    kind_nouns: tuple[str, ...] = GENERIC_KIND_NOUNS
    smalltalk: dict[str, dict[str, str]] = field(default_factory=lambda: GENERIC_SMALLTALK, hash=False, compare=False)

    @property
    def asks_price(self) -> re.Pattern:
        return _price_pattern(self.price_nouns)

    @property
    def trailing_kind_noun(self) -> re.Pattern:
        return _trailing_pattern(self.kind_nouns)


@lru_cache(maxsize=16)
def _price_pattern(nouns: tuple[str, ...]) -> re.Pattern:
    # Korean nouns match inside a word ("위약금은"); Latin ones as whole words ("fee", not "feed").
    korean = [re.escape(n) for n in nouns if HANGUL.search(n)]
    latin = [re.escape(n) for n in nouns if not HANGUL.search(n)]
    parts = [_HOW_MUCH, *korean] + ([r"\b(" + "|".join(latin) + r")\b"] if latin else [])
    return re.compile("|".join(parts), re.I)


@lru_cache(maxsize=16)
def _trailing_pattern(nouns: tuple[str, ...]) -> re.Pattern:
    if not nouns:
        return re.compile(r"(?!)")
    return re.compile(r"\s+(" + "|".join(re.escape(n) for n in nouns) + r")s?\b.*$", re.I)


DEFAULT_WORDS = Words()


@lru_cache(maxsize=8)
def load_words(path: str = "") -> Words:
    """The `words` of a profile file (the bundled default when `path` is empty); the generic
    defaults for what it does not list. A broken file stops start-up (ValueError names it)."""
    source = Path(path) if path else DEFAULT_PROFILE
    try:
        data = json.loads(source.read_text(encoding="utf-8")).get("words") or {}
        smalltalk = {kind: {**GENERIC_SMALLTALK.get(kind, {}), **replies}
                     for kind, replies in {**GENERIC_SMALLTALK, **(data.get("smalltalk") or {})}.items()}
        return Words(price_nouns=tuple(data.get("price_nouns") or GENERIC_PRICE_NOUNS),
                     kind_nouns=tuple(data.get("kind_nouns") or GENERIC_KIND_NOUNS), smalltalk=smalltalk)
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"profile {source} (words): {exc}") from exc
