"""Greetings and small talk get a short reply, without retrieval or an LLM call.

Agents type "안녕" or "thanks" into the same box as real questions; answering those from
the manuals produces a confident lecture about something unrelated. The patterns are
deliberately narrow (whole message, short): anything with content goes to retrieval.
"""

from __future__ import annotations

import re

from query.answer.words import GENERIC_SMALLTALK

_PATTERNS = {
    "greeting": re.compile(
        r"^(안녕(하세요|하십니까)?|하이|ㅎㅇ|반가워요?|반갑습니다|hi|hello|hey|good (morning|afternoon|evening))$"
    ),
    "thanks": re.compile(r"^(고마워요?|감사(합니다|해요)?|땡큐|thanks?( you)?( so much)?|thx|ty)$"),
    "bye": re.compile(r"^(잘 ?가|안녕히 ?(계세요|가세요)|수고하세요|bye|goodbye|see you)$"),
}


def smalltalk_reply(question: str, replies: dict[str, dict[str, str]] | None = None) -> str | None:
    """The reply to a greeting, thanks or goodbye; None for anything else. `replies`: by kind
    and language, from the profile file (query.answer.words; its generic defaults when None)."""
    replies = replies or GENERIC_SMALLTALK
    text = re.sub(r"[\s!?.~^ㅋㅎ,]+$", "", question.strip().lower())
    text = re.sub(r"\s+", " ", text)
    if len(text) > 24:
        return None
    lang = "ko" if re.search(r"[\uac00-\ud7a3ㄱ-ㅎ]", text) else "en"
    for kind, pattern in _PATTERNS.items():
        if pattern.match(text):
            return replies[kind][lang]
    return None
