"""Which field of a key-value table a question asks for.

A row such as "Default value: 30 seconds" or "월 요금: 33,000원" answers "What is the
default ...?" / "요금이 얼마예요?", yet shares few words with it: the extractive answer
must know the question asks for that row's label. Two ways, neither tied to one corpus:

- the table's own labels, in any language: a label the question asks for directly
  ("which <label>", "what is the <label>", "<label>은 무엇/얼마", "어떤 <label>");
- a field profile (a data file, `query/profiles/default.json`, replaced with
  FIELD_PROFILE): phrases that ask for a field whose label the question does not name
  ("where can I use X?" -> "Scope"). Corpus-specific wording belongs in such a file,
  never in code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT_PROFILE = Path(__file__).with_name("profiles") / "default.json"
MAX_LABEL_WORDS = 4

_EN_ASK = r"\b(?:what|which)(?:\s+(?:is|are|was|were))?(?:\s+(?:the|its|their|a|an))?\s+{label}\b"
_KO_ASK = r"(?:{label}\s*(?:은|는|이|가|을|를|의)?\s*(?:무엇|뭐|뭔|얼마|어떻게|어떤|몇)|(?:어떤|어느|무슨)\s*{label})"


@dataclass(frozen=True)
class Field:
    name: str
    asks: re.Pattern
    labels: frozenset[str]


def normalise(label: str) -> str:
    return " ".join(label.lower().split())


@lru_cache(maxsize=8)
def load_profile(path: str = "") -> tuple[Field, ...]:
    """The fields of a profile file (the bundled default when `path` is empty).

    A broken file is an operator's mistake worth stopping for: ValueError names it."""
    source = Path(path) if path else DEFAULT_PROFILE
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        return tuple(
            Field(item.get("name", ""), re.compile("|".join(f"(?:{a})" for a in item["asks"]), re.I),
                  frozenset(normalise(label) for label in item["labels"]))
            for item in data["fields"]
        )
    except (OSError, ValueError, KeyError, TypeError, re.error) as exc:
        raise ValueError(f"field profile {source}: {exc}") from exc


@lru_cache(maxsize=4096)
def _asks_directly(label: str) -> re.Pattern | None:
    words = label.split()
    if not words or len(words) > MAX_LABEL_WORDS or not re.search(r"\w", label):
        return None
    escaped = r"\s+".join(re.escape(w) for w in words)
    return re.compile(_EN_ASK.format(label=escaped) + "|" + _KO_ASK.format(label=escaped), re.I)


class AskedFields:
    """For one question: is a row label the field it asks for?"""

    def __init__(self, question: str, profile: tuple[Field, ...]) -> None:
        self.question = question
        self.labels = frozenset().union(*(f.labels for f in profile if f.asks.search(question)))

    def asks_for(self, label: str) -> bool:
        label = normalise(label)
        if label in self.labels:
            return True
        pattern = _asks_directly(label)
        return bool(pattern and pattern.search(self.question))
