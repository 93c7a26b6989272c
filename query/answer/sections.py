"""A search result: one anchored section and the chunks of it that matched.

Its own module because retrieval makes sections and everything after it (reranking, the
cache key, the prompt, the extractive answer, the sources) reads them: none of those
needs the retriever, and the retriever runs the reranker without knowing it (`Reorder`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from llama_index.core.schema import NodeWithScore, TextNode

from core.chunk_record import BREADCRUMB_SEPARATOR, CONTEXT_CHUNKS, LANG, PATH, chunk_body, text_language
from core.lexical import word_terms


@dataclass
class Section:
    """One place in the manuals: the chunks of one anchored section that matched."""

    section_id: str
    chunks: list[NodeWithScore] = field(default_factory=list)
    score: float = 0.0
    also: list[str] = field(default_factory=list)  # sections whose text repeats this one's (`group_duplicates`)
    rows: list[str] = field(default_factory=list)  # the table row the question picked out of it (query.answer.row_lane)
    answers: bool = False  # ... and that row holds the value the question asks for (AnswerShape): it answers

    @property
    def best(self) -> TextNode:
        return self.chunks[0].node  # type: ignore[return-value]

    @property
    def metadata(self) -> dict:
        return self.best.metadata

    @property
    def context(self) -> list[NodeWithScore]:
        """The chunks that stand for the section when it is read as a whole (by the LLM,
        the reranker) and that key its cached answers."""
        return self.chunks[:CONTEXT_CHUNKS]

    def context_text(self) -> str:
        return "\n".join(hit.node.get_content() for hit in self.context)


_WORD = re.compile(r"\w+")
DUPLICATE_JACCARD = 0.8  # share of two sections' word 3-grams in common, of all their 3-grams
DUPLICATE_MIN_SHINGLES = 24  # a shorter text is a pattern many sections share, not a copy


def _shingles(section: Section) -> frozenset[tuple[str, ...]]:
    """The word 3-grams of the section's matched text, breadcrumbs left out (they name the
    page and differ between copies).

    Why 3-grams and a minimum length rather than the words of the best chunk: the words of
    two short reference tables of one manual ("X on|off, Default off, Context server config,
    Module mod_ssl" beside "Y on|off, ...") overlap by 85% and more while the two are
    different places; their 3-grams differ wherever the names do, and a text of a few words
    says too little to call it a near-copy (`_Copy.twin_of` groups it only word for word,
    under the same heading). Measured on the httpd set: word overlap grouped such
    neighbours and lost 3 points of page@5.
    """
    words = _WORD.findall(" ".join(chunk_body(hit.node.get_content()) for hit in section.context).lower())
    return frozenset(zip(words, words[1:], words[2:]))


def _passages(section: Section) -> frozenset[str]:
    """The texts of the section's matched chunks of three words or more, breadcrumbs left out."""
    texts = (" ".join(chunk_body(hit.node.get_content()).split()) for hit in section.chunks)
    return frozenset(t for t in texts if len(t.split()) >= 3)


@dataclass
class _Copy:
    """What grouping compares of a section, read once per grouping."""

    section: Section
    shingles: frozenset[tuple[str, ...]]
    passages: frozenset[str]
    folder: str
    breadcrumb: str  # the best chunk's first line: page and headings

    @classmethod
    def of(cls, section: Section) -> "_Copy":
        return cls(section, _shingles(section), _passages(section), _folder(section),
                   section.best.get_content().split("\n", 1)[0])

    @property
    def heading(self) -> str:
        """The section's own heading: the last step of its breadcrumb."""
        return self.breadcrumb.rsplit(BREADCRUMB_SEPARATOR, 1)[-1].strip()

    def twin_of(self, other: "_Copy") -> bool:
        """Copies: in two folders, and near-duplicates (DUPLICATE_JACCARD of their 3-grams) or,
        under the same heading, sharing a matched chunk word for word.

        Why the second: which chunks of a section match depends on the question's words, so
        two copies of one long section were compared on different chunks and kept apart, and
        a short one (one sentence) has too few 3-grams to compare at all. On debian-install-ko
        copied under three program folders (`scripts/evaluate.py --copies 3`) both took two or
        three of the top 5 places with one text."""
        if self.folder == other.folder:
            return False
        if self.heading == other.heading and self.passages & other.passages:
            return True
        return _twins(self.shingles, other.shingles)


def _twins(a: frozenset, b: frozenset) -> bool:
    if len(a) < DUPLICATE_MIN_SHINGLES or len(b) < DUPLICATE_MIN_SHINGLES:
        return False
    return len(a & b) >= DUPLICATE_JACCARD * len(a | b)


def _folder(section: Section) -> str:
    """The folder a section's page sits in: copies are grouped only across folders. The
    same help text under several programs or manuals sits in each one's folder, while two
    pages of one folder sharing a paragraph are two features of one manual (mod_brotli's
    and mod_deflate's identical proxy notes, where the question about one must find that
    one: measured, grouping them lost the httpd question that expected mod_deflate's)."""
    return posixpath.dirname(section.metadata.get(PATH, ""))


@lru_cache(maxsize=20_000)
def _heading_terms(line: str) -> frozenset[str]:
    """A heading line's terms as the lexical index reads them (a Korean question attaches
    particles to the name, "Calc에서", so as whole words it never named the program a copy
    sits under). Remembered: Kiwi's analysis of a line costs about a millisecond, a copy-heavy
    list compares dozens of copies per question, and the floor's questions meet the same
    sections again (on three copies of debian-install-ko, reading them afresh was 100 of a
    question's 180 ms in a list of 20)."""
    return word_terms(line)


@lru_cache(maxsize=20_000)
def _folder_terms(folder: str) -> frozenset[str]:
    """The terms of a folder path ("text/scalc/guide" -> text, scalc, guid), read as the
    lexical index reads words."""
    return word_terms(re.sub(r"[/_\-.]+", " ", folder))


def _names_folder(word: str, folder_terms: frozenset[str]) -> bool:
    """A question's word names a folder when it is one of the path's terms or ends one of
    them: help written once for several programs is filed under a folder per program, named
    for it whole ("calc/") or with a prefix ("scalc/", "swriter/"). Latin words of four
    letters or more only: a shorter one ("s", "ui") ends too many names."""
    if word in folder_terms:
        return True
    return len(word) >= 4 and word.isascii() and word.isalpha() and any(t.endswith(word) for t in folder_terms)


def _standing(copy: _Copy, question_words: frozenset[str], lang: str | None) -> tuple[int, bool]:
    """How well a copy stands for its group: the question's words in its heading line or in
    the folder it is filed under (the copies differ only in the page or program they sit
    under, and "in the spreadsheet", "Calc에서" names one, on the page or only in its path),
    then being in the question's language (an untranslated section of a Korean page repeats
    its English original word for word, and a Korean caller wants the Korean page)."""
    heading = _heading_terms(copy.breadcrumb)
    folder = _folder_terms(copy.folder)
    named = sum(1 for word in question_words if word in heading or _names_folder(word, folder))
    return named, bool(lang) and copy.section.metadata.get(LANG) == lang


def group_duplicates(sections: list[Section], keep: int, question: str = "",
                     corpus_terms: tuple[str, ...] = ()) -> list[Section]:
    """The first `keep` sections of `sections` (best first) with near-duplicates grouped:
    a section whose text says what a better-ranked one's says (the same help text under
    three programs, a page copied into another manual) is listed in that one's `also`
    instead of taking a place of its own, so the places shown are distinct and the copies
    stay reachable. Near-duplicate: `_twins` on the sections' word 3-grams. The copy that
    stands for a group is the best-ranked one unless another stands better (`_standing`).
    `corpus_terms`: the corpus's names for the question's words (Retrieval.corpus_terms:
    "캘크" -> calc), which name a program as well as the question's own words do.
    """
    words = (word_terms(question, question=True) | frozenset(corpus_terms)) if question else frozenset()
    lang = text_language(question) if question else None
    kept: list[_Copy] = []
    for section in sections:
        copy = _Copy.of(section)
        at = next((i for i, other in enumerate(kept) if copy.twin_of(other)), None)
        if at is None:
            if len(kept) < keep:
                kept.append(copy)
            continue
        twin = kept[at].section
        if _standing(copy, words, lang) > _standing(kept[at], words, lang):
            section.also = [twin.section_id, *twin.also]
            kept[at] = copy
        else:
            twin.also.append(section.section_id)
    return [copy.section for copy in kept]


# A second stage that reorders the fused sections (query.rerank builds one from the
# settings; query.live hands it to each generation's retriever): (question, candidates,
# how many to keep) -> (the kept sections, a notice when it could not run).
Reorder = Callable[[str, list[Section], int], tuple[list[Section], str | None]]
