"""Answers without an LLM: the sentences and table rows that best answer the question,
each marked with its source number.

A chunk's first sentence is rarely the answer ("What is the default X?" is answered by a
table row "Default: X 5."), so every sentence and row of the retrieved sections is scored
against the question: embedding similarity plus the share of the question's terms it
contains, with a small preference for higher-ranked sources.
"""

from __future__ import annotations

import re

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from core.lexical import tokenize
from query.retrieve import Section

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[\"'(\[A-Z가-힣0-9•])")
MAX_UNITS_PER_SOURCE = 12


def units(text: str) -> list[str]:
    """Sentences of prose and whole table rows; the breadcrumb line is skipped."""
    lines = text.split("\n")[1:]
    out: list[str] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if len(line) < 300:
            out.append(line)
        else:
            out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


_QUANTITY = re.compile(
    r"얼마|몇|금액|요금|비용|기간|속도|기본값|한도|최대|최소|언제까지|how (much|many|long|fast)|default|price|cost|fee|limit|maximum|minimum",
    re.I,
)
_HAS_NUMBER = re.compile(r"\d")
_ROW_KEY = re.compile(r"^([^:]{1,30}):\s")
# Questions that ask for one field of a key-value table ("What is the default ...?",
# "어느 설정 위치에서 ...?") are answered by the row with that key, whatever else the
# row's words share with the question. (question pattern, row key pattern)
_ASKED_FIELD = [
    (re.compile(r"default|기본", re.I), re.compile(r"^(default|기본값)$", re.I)),
    (re.compile(r"context|where can|allowed in|사용장소|위치|어디", re.I), re.compile(r"^(context|사용장소)$", re.I)),
    (re.compile(r"which module|what module|모듈", re.I), re.compile(r"^(module|모듈)$", re.I)),
    (re.compile(r"syntax|문법", re.I), re.compile(r"^(syntax|문법)$", re.I)),
]


def extractive_answer(
    question: str, sections: list[Section], embed_model: BaseEmbedding, max_units: int = 3
) -> str:
    if not sections:
        return ""
    candidates: list[tuple[int, str, str]] = []  # (source number, unit, unit with its section heading)
    for number, section in enumerate(sections, start=1):
        seen: set[str] = set()
        heading = section.metadata.get("heading", "")
        for hit in section.chunks[:4]:
            for unit in units(hit.node.get_content()):
                if unit not in seen and len(seen) < MAX_UNITS_PER_SOURCE:
                    seen.add(unit)
                    candidates.append((number, unit, f"{heading}: {unit}"))
    if not candidates:
        return ""
    # Rows and sentences are scored with their heading: "Default: 5" means little alone,
    # "KeepAliveTimeout Directive: Default: 5" answers "default keep-alive timeout".
    query_vec = np.asarray(embed_model.get_query_embedding(question))
    vectors = np.asarray(embed_model.get_text_embedding_batch([c for _, _, c in candidates]))
    similarity = vectors @ query_vec / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query_vec) + 1e-9)
    query_terms = set(tokenize(question))
    wants_quantity = bool(_QUANTITY.search(question))
    asked_keys = [key for pattern, key in _ASKED_FIELD if pattern.search(question)]
    scores = []
    for (number, unit, with_heading), sim in zip(candidates, similarity):
        terms = set(tokenize(with_heading))
        overlap = len(query_terms & terms) / len(query_terms) if query_terms else 0.0
        bonus = 0.1 if wants_quantity and _HAS_NUMBER.search(unit) else 0.0
        row_key = _ROW_KEY.match(unit)
        if row_key and any(key.match(row_key.group(1).strip()) for key in asked_keys):
            bonus += 0.5
        scores.append(float(sim) + 0.6 * overlap + bonus + 0.08 / number)
    order = np.argsort(-np.asarray(scores))
    picked: list[tuple[int, str]] = []
    per_source: dict[int, int] = {}
    for i in order:
        number, unit, _ = candidates[i]
        if per_source.get(number, 0) >= 2 or any(unit == u for _, u in picked):
            continue
        picked.append((number, unit))
        per_source[number] = per_source.get(number, 0) + 1
        if len(picked) >= max_units:
            break
    return "\n".join(f"{unit} [{number}]" for number, unit in picked)
