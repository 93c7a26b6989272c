"""Follow-ups made standalone, and the history an LLM sees kept within a token budget.

An agent's second question leans on the first ("그럼 약정 12개월이면요?", "and for Japan?").
Retrieval sees one question at a time, so before retrieval the follow-up is rewritten:

- with an LLM: a condense step (the idea of LlamaIndex's `CondensePlusContextChatEngine`,
  done in our engine so its tokens land in the answer's `usage` and it goes through the
  same async client, cancellable like the answer);
- without one: a deterministic rule. A short question, or one that opens with or contains
  an anaphoric marker, carries over the previous turn's content terms (nouns, numbers,
  foreign words from Kiwi) that it does not already contain.
"""

from __future__ import annotations

import re

from core.lexical import _STOP, _kiwi
from core.tokens import count_tokens
from query.contract import CITATION
from query.pii import redact

# Openers that say "same topic, new detail". Korean ones are whole first words.
_KO_MARKERS = ("그럼", "그러면", "그렇다면", "그건", "그거", "그것", "그게", "이거", "이건", "이것",
               "저거", "저건", "거기", "그때", "그리고", "또", "그쪽", "그중", "그 중")
_EN_OPENERS = re.compile(
    r"^\s*(what about|how about|and (for|in|on|with|if|the|what|how|when|where|which)\b|and\b|"
    r"what if|same for|also|then|ok(ay)?,? (and|what|how)|but (what|how|if))", re.I)
_EN_PRONOUN = re.compile(r"\b(it|its|it's|them|they|their|there|that one|this one|those|these)\b", re.I)
_CONTENT_TAGS = ("NNG", "NNP", "NR", "SL", "SN", "SH", "XR")
SHORT_TERMS = 2  # a question with at most this many content terms is a follow-up
MAX_CARRIED = 8



def content_terms(text: str) -> list[str]:
    """Nouns, numbers and foreign words in order of appearance, once each."""
    tokens = _kiwi().tokenize(text)  # shared with retrieval: see query.desk.server on thread safety
    out: list[str] = []
    for token in tokens:
        if not token.tag.startswith(_CONTENT_TAGS):
            continue
        form = token.form
        if token.tag == "SL" and form.lower() in _STOP:
            continue
        if form not in out:
            out.append(form)
    return out


def is_follow_up(question: str) -> bool:
    text = question.strip()
    first = text.split(maxsplit=1)[0] if text else ""
    if any(first.startswith(marker) for marker in _KO_MARKERS) or _EN_OPENERS.match(text):
        return True
    if _EN_PRONOUN.search(text):
        return True
    return len(content_terms(text)) <= SHORT_TERMS


def rule_rewrite(question: str, previous: str | None) -> str:
    """The deterministic rewrite: `question` plus the previous standalone question's terms.

    The follow-up's own words stay first: in "and for China?" after a question about
    Japan, China is what is asked; Japan's terms come along only as context.
    """
    if not previous or not is_follow_up(question):
        return question
    own = set(content_terms(question))
    carried = [t for t in content_terms(previous) if t not in own][:MAX_CARRIED]
    if not carried:
        return question
    return f"{question.strip()} ({' '.join(carried)})"


CONDENSE_SYSTEM = (
    "Rewrite the user's last message as one standalone question that can be understood without "
    "the conversation: resolve pronouns and ellipsis from the earlier turns. Keep the language of "
    "the last message. If it is already standalone, return it unchanged. Reply with the question only."
)


def condense_messages(history: list[dict], question: str) -> list[dict]:
    """The condense request. Everything in it goes to the LLM endpoint, so all of it is
    redacted here: history from /v1 comes straight from the client, not the session store."""
    lines = [f"{'User' if m['role'] == 'user' else 'Assistant'}: {redact(m['content'])}" for m in history]
    user = "Conversation:\n" + "\n".join(lines) + f"\n\nLast message: {redact(question)}\nStandalone question:"
    return [{"role": "system", "content": CONDENSE_SYSTEM}, {"role": "user", "content": user}]


_CITATION = re.compile(r"\s*" + CITATION.pattern)


def history_messages(turns: list[dict], budget: int, model: str) -> list[dict]:
    """Earlier turns as chat messages, newest kept, within `budget` tokens of `model`.

    `[n]` markers are stripped from earlier answers: they pointed at that turn's sources,
    and the new turn numbers its sources afresh.
    """
    pairs: list[list[dict]] = []
    for turn in turns:
        pairs.append([
            {"role": "user", "content": turn.get("rewritten") or turn["question"]},
            {"role": "assistant", "content": _CITATION.sub("", turn.get("answer") or "")},
        ])
    kept: list[list[dict]] = []
    used = 0
    for pair in reversed(pairs):  # newest first: the oldest turns are dropped first
        cost = sum(count_tokens(m["content"], model) + 4 for m in pair)  # +4: per-message overhead
        if used + cost > budget:
            break
        kept.insert(0, pair)
        used += cost
    return [m for pair in kept for m in pair]
