"""Greetings and small talk get a short reply, without retrieval or an LLM call.

Agents type "안녕" or "thanks" into the same box as real questions; answering those from
the manuals produces a confident lecture about something unrelated. The patterns are
deliberately narrow (whole message, short): anything with content goes to retrieval.
"""

from __future__ import annotations

import re

_PATTERNS = {
    "greeting": re.compile(
        r"^(안녕(하세요|하십니까)?|하이|ㅎㅇ|반가워요?|반갑습니다|hi|hello|hey|good (morning|afternoon|evening))$"
    ),
    "thanks": re.compile(r"^(고마워요?|감사(합니다|해요)?|땡큐|thanks?( you)?( so much)?|thx|ty)$"),
    "bye": re.compile(r"^(잘 ?가|안녕히 ?(계세요|가세요)|수고하세요|bye|goodbye|see you)$"),
}
_REPLIES = {
    ("greeting", "ko"): "안녕하세요. 상품, 요금, 절차에 대해 질문해 주시면 매뉴얼에서 근거와 함께 찾아 드립니다.",
    ("greeting", "en"): "Hello. Ask about a product, price or procedure and I will answer from the manuals with sources.",
    ("thanks", "ko"): "천만에요. 더 궁금한 점이 있으면 질문해 주세요.",
    ("thanks", "en"): "You're welcome. Ask another question any time.",
    ("bye", "ko"): "수고하세요.",
    ("bye", "en"): "Goodbye.",
}


def smalltalk_reply(question: str) -> str | None:
    text = re.sub(r"[\s!?.~^ㅋㅎ,]+$", "", question.strip().lower())
    text = re.sub(r"\s+", " ", text)
    if len(text) > 24:
        return None
    lang = "ko" if re.search(r"[\uac00-\ud7a3ㄱ-ㅎ]", text) else "en"
    for kind, pattern in _PATTERNS.items():
        if pattern.match(text):
            return _REPLIES[(kind, lang)]
    return None
