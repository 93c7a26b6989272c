"""Answers without an LLM: the sentences and table rows that best answer the question,
each marked with its source number.

A chunk's first sentence is rarely the answer ("How much is Basic 5G a month?" is answered
by a table row "Monthly fee: KRW 33,000."), so every sentence and row of the retrieved
sections is scored against the question: embedding similarity plus the share of the
question's terms it contains, with a small preference for higher-ranked sources.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from core.chunk_record import EXTRACTIVE_CHUNKS, HANGUL, HEADING, chunk_body
from core.lexical import tokenize
from query.fields import AskedFields, Field, load_profile
from query.sections import Section

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[\"'(\[A-Z가-힣0-9•])")
MAX_UNITS_PER_SOURCE = 12
# Only the candidates with the best lexical prior (shared terms, asked field, source rank)
# go through the embedding model: that forward pass was most of a first-time extractive
# answer, and the similarity only reorders the front runners. Measured over the four
# eval sets (228 questions): embedding the best 24 instead of all (up to 60) gave the same
# first line for all 228 and the same whole answer for 225; fact in answer unchanged.
EMBEDDED_CANDIDATES = 24


@dataclass
class Unit:
    """A sentence or table row: `text` is scored, `shown` goes into the answer.

    `shown` adds the example line a sentence introduces or explains. "To listen on ports
    80 and 8000:" answers nothing without the `Listen 80 Listen 8000` line after it, and
    that line alone shares too few words with a question to be picked on its own.
    """

    text: str
    shown: str


# Prose ends in sentence punctuation (or a Korean final "다"); an example line
# (`AddHandler cgi-script .cgi .pl`, `htpasswd -c /usr/local/passwd jane`) does not.
_SENTENCE_TAIL = re.compile(r"([.!?:;。]|다)[\"')\]]*\s*$")
# "... as follows:", "The following directive ...", "다음 지시어는 ...", "... 하려면:"
_INTRODUCES = re.compile(r":\s*$|\bfollowing\b|\bas follows\b|(^|\s)다음(과|은|의)?\s", re.I)
# "This configuration ...", "The above ...", "이 설정은 ...", "위 지시어로 ..."
_REFERS_BACK = re.compile(r"^(this|these|the above|with this|이|위|위의|이렇게|그러면)\s", re.I)


def _is_example(line: str) -> bool:
    return bool(line) and not _SENTENCE_TAIL.search(line) and not HANGUL.search(line)


def units(text: str) -> list[Unit]:
    """Sentences of prose and whole table rows; the breadcrumb line is skipped."""
    lines = [line.strip() for line in chunk_body(text).split("\n") if line.strip()]
    out: list[Unit] = []
    for i, line in enumerate(lines):
        sentences = [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
        pieces = [line] if len(line) < 300 else sentences
        prefix = suffix = ""
        if not _is_example(line):
            if i > 0 and _is_example(lines[i - 1]) and _REFERS_BACK.match(sentences[0]):
                prefix = lines[i - 1]
            if i + 1 < len(lines) and _is_example(lines[i + 1]) and _INTRODUCES.search(sentences[-1]):
                suffix = lines[i + 1]
        for j, piece in enumerate(pieces):
            head = prefix if j == 0 else ""
            tail = suffix if j == len(pieces) - 1 else ""
            out.append(Unit(piece, "\n".join(part for part in (head, piece, tail) if part)))
    return out


_QUANTITY = re.compile(
    r"얼마|몇|금액|요금|비용|기간|속도|기본값|한도|최대|최소|언제까지|how (much|many|long|fast)|default|price|cost|fee|limit|maximum|minimum",
    re.I,
)
_HAS_NUMBER = re.compile(r"\d")
_ROW_KEY = re.compile(r"^([^:]{1,30}):\s")


# "How do I ..." is answered by a procedure's ordered steps, shown together (English and
# Korean wording; other languages fall back to plain scoring).
_PROCESS = re.compile(r"\bhow (do|can|to|should|would)\b|\bsteps?\b|\bprocedure\b|방법|어떻게|하려면|절차|순서", re.I)
_STEP = re.compile(r"^\d+\.\s")
MAX_STEPS = 8


def _with_steps(found: list[Unit]) -> list[Unit]:
    """Ordered steps ("1. ...", "2. ...") shown together: a step alone answers no "how do I"."""
    out = list(found)
    i = 0
    while i < len(found):
        if not _STEP.match(found[i].text):
            i += 1
            continue
        j = i
        while j < len(found) and _STEP.match(found[j].text):
            j += 1
        run = found[i:j][:MAX_STEPS]
        if len(run) > 1:
            shown = "\n".join(u.shown for u in run)
            for k in range(i, i + len(run)):
                out[k] = Unit(found[k].text, shown)
        i = j
    return out


@lru_cache(maxsize=50_000)
def _terms(text: str) -> frozenset[str]:
    """A candidate's BM25 terms. Kiwi's analysis of the candidates was half of a warm
    extractive answer in the server, and the same rows come back question after question."""
    return frozenset(tokenize(text))


def extractive_answer(
    question: str, sections: list[Section], embed_model: BaseEmbedding, max_units: int = 3,
    profile: tuple[Field, ...] | None = None,
) -> str:
    """`profile`: the field profile (query.fields); the bundled default when None."""
    if not sections:
        return ""
    process = bool(_PROCESS.search(question))
    candidates: list[tuple[int, Unit, str]] = []  # (source number, unit, unit text with its section heading)
    for number, section in enumerate(sections, start=1):
        seen: set[str] = set()
        heading = section.metadata.get(HEADING, "")
        for hit in section.chunks[:EXTRACTIVE_CHUNKS]:
            found = units(hit.node.get_content())
            for unit in _with_steps(found) if process else found:
                if unit.text not in seen and len(seen) < MAX_UNITS_PER_SOURCE:
                    seen.add(unit.text)
                    candidates.append((number, unit, f"{heading}: {unit.text}"))
    if not candidates:
        return ""
    # Rows and sentences are scored with their heading: "Monthly fee: 33,000" means little
    # alone, "Basic 5G plan: Monthly fee: 33,000" answers "how much is Basic 5G a month".
    query_terms = set(tokenize(question))
    wants_quantity = bool(_QUANTITY.search(question))
    asked = AskedFields(question, load_profile() if profile is None else profile)
    prior = np.zeros(len(candidates))  # everything but the embedding similarity
    asked_rows = []
    for i, (number, unit, with_heading) in enumerate(candidates):
        terms = _terms(with_heading)
        overlap = len(query_terms & terms) / len(query_terms) if query_terms else 0.0
        bonus = 0.1 if wants_quantity and _HAS_NUMBER.search(unit.text) else 0.0
        prior[i] = 0.6 * overlap + bonus + 0.08 / number
        row_key = _ROW_KEY.match(unit.text)
        if row_key and asked.asks_for(row_key.group(1)):
            prior[i] += 0.5
            asked_rows.append(i)
    embedded = np.arange(len(candidates))
    if EMBEDDED_CANDIDATES and len(candidates) > EMBEDDED_CANDIDATES:
        embedded = np.sort(np.argsort(-prior, kind="stable")[:EMBEDDED_CANDIDATES])
    query_vec = np.asarray(embed_model.get_query_embedding(question))
    vectors = np.asarray(embed_model.get_text_embedding_batch([candidates[i][2] for i in embedded]))
    scores = np.full(len(candidates), -np.inf)
    scores[embedded] = prior[embedded] + vectors @ query_vec / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(query_vec) + 1e-9)
    asked_rows = [i for i in asked_rows if np.isfinite(scores[i])]
    # The asked field's row ("Monthly fee: KRW 33,000.") is the answer, but shares few
    # words with the question ("what do I pay each month for the plan for light data
    # users?"): prose of the same section outscored it and filled the answer. The
    # best-matching such row (its heading names the product or setting) leads.
    if asked_rows:
        lead = max(asked_rows, key=lambda i: scores[i])
        scores[lead] = scores.max() + 1.0
    order = np.argsort(-scores)
    picked: list[tuple[int, str]] = []
    per_source: dict[int, int] = {}
    for i in order:
        if not np.isfinite(scores[i]):
            break  # not embedded: never a better answer than those that were
        number, unit, _ = candidates[i]
        if any(n == number and shown == unit.shown for n, shown in picked):
            continue  # a step of a list already shown whole
        if any(n == number and unit.shown in shown.split("\n") for n, shown in picked):
            continue  # an example line already shown with the sentence that introduces it
        inside = [k for k, (n, shown) in enumerate(picked) if n == number and shown in unit.shown.split("\n")]
        if inside:  # the sentence introducing an example already shown alone: show both once
            picked[inside[0]] = (number, unit.shown)
            continue
        if per_source.get(number, 0) >= 2:
            continue
        picked.append((number, unit.shown))
        per_source[number] = per_source.get(number, 0) + 1
        if len(picked) >= max_units:
            break
    return "\n".join(f"{shown} [{number}]" for number, shown in picked)
