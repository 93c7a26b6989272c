"""The row lane at query time: table rows (and, for a value asked by its type, list
entries) searched apart from the chunks (core.rows), fused as one more reciprocal-rank
list, and remembered on the sections they resolve to.

Small-to-big: a row hit names the chunk that states the row, the fusion credits that
chunk's section (its best candidate chunk; HybridRetriever.credit_rows), and the section
is the result. The matched rows go with the section
(`Section.rows`) so the extractive answer leads with the row the question asked for,
not with the table's first rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.rows import ROWS_DIR, RowHit, RowIndex
from query.answer.sections import Section

ROW_CANDIDATES = 20  # rows read per question; each section counts once, at its best row's rank


@dataclass(frozen=True)
class AnswerShape:
    """A kind of value a question asks for by naming its type, and how a row holds one.

    "Which key opens Export As?" / "여러 창 닫는 단축키": the row that answers
    ("Shift + Ctrl + E: Export As...", "Ctrl+Shift+W: 모두 닫기") never writes the type's
    word; it writes a value of that type. BM25 over the question's words found the rows
    that say "shortcut" (a preferences dialog's buttons) instead. So the type's words are
    dropped from the row query and only rows holding such a value are searched: answer-type
    matching, the oldest step of question answering. Shapes of how manuals write keys in
    any language, not one manual's markup.
    """

    name: str
    asks: re.Pattern  # the question asks for a value of this type
    words: re.Pattern  # the words that name the type, left out of the row query
    holds: re.Pattern  # a row that holds such a value


_KEY_NAMES = r"Ctrl|Control|Shift|Alt|AltGr|Cmd|Command|Option|Opt|Meta|Super|Win"
KEY = AnswerShape(
    "key",
    asks=re.compile(r"\b(shortcuts?|hot ?keys?|keystrokes?|key ?bindings?|key combinations?|(which|what) keys?"
                    r"|keys? (to|for|that|does|do))\b|\bkeys?\s*[?.]?\s*$|단축\s*키|바로\s*가기\s*키|(무슨|어떤|어느)\s*키"
                    r"|키(는|가|를)?\s*(뭐|무엇|어떤|몇)|(는|은|할|을|던)\s+키(는|가|를)?(?![가-힣])",
                    re.I),
    words=re.compile(r"\b(keyboard|shortcuts?|hot ?keys?|keystrokes?|key ?bindings?|key combinations?|keys?|which|what)\b"
                     r"|키보드|(단축|바로\s*가기)\s*키(는|가|를|로|은)?|(?<![가-힣])키(는|가|를|로)?(?![가-힣])", re.I),
    holds=re.compile(rf"\b({_KEY_NAMES})\s*[+-]\s*\S|[⌘⇧⌥]|\bF\d{{1,2}}\b"
                     r"|^[^:;]{0,12}\b(Tab|Enter|Return|Esc|Escape|Space|Backspace|Delete|Del|Insert|Home|End|Page ?Up|Page ?Down|PgUp|PgDn)\b"),
)
SHAPES = (KEY,)


@dataclass(frozen=True)
class RowMatch:
    """What the row lane found for one question."""

    hits: list[RowHit]
    weight: float  # its list's weight in the fusion
    shaped: bool = False  # found among the rows holding the value the question asks for (AnswerShape)


NO_ROWS = RowMatch([], 0.0)


def asked_shape(question: str) -> AnswerShape | None:
    """The value type the question asks for by name, if one of SHAPES."""
    return next((shape for shape in SHAPES if shape.asks.search(question)), None)


def load_rows(lexical_dir: Path | None) -> RowIndex | None:
    """The row index of a BM25 snapshot, or None (a snapshot written before the lane)."""
    if lexical_dir is None or not RowIndex.saved(lexical_dir / ROWS_DIR):
        return None
    return RowIndex.load(lexical_dir / ROWS_DIR)


def mode_uses_lexical(settings) -> bool:
    """The lane is lexical: a dense-only retrieval leaves it out, as it does BM25."""
    return settings.retrieval_mode != "dense"


def confident(hits: list[RowHit], min_coverage: float) -> list[RowHit]:
    """The hits that hold at least `min_coverage` of the question's terms (RowIndex.coverage):
    the others are rows that share a word or two with a question about something else."""
    return [h for h in hits if h.coverage >= min_coverage]


def attach_rows(sections: list[Section], match: RowMatch, section_of: Callable[[str], str | None]) -> None:
    """Set each section's `rows` to the row the question picked out of it, if one.

    A list item or definition entry is picked only when it holds the value the question
    asks for (`RowMatch.shaped`: "Shift + Ctrl + E: Export As..." for "which shortcut opens
    Export As"). Otherwise an item found its section but is not the answer's first line:
    items are sentences the extractive answer scores anyway, and leading with one that
    shared the question's words quoted the wrong step or the wrong side of a comparison.

    Picked out: of the section's row hits, the one holding the largest share of the
    question's terms (`RowHit.coverage`), strictly more than any other. Rows that tie
    matched only what all rows of a table share (the page title, the caption, the column
    labels: "정지 유형", "결합 회선 수"): the table is the place, but no row of it is the
    answer, and leading with one of them quoted a row the question never asked about.
    """
    hits = [h for h in match.hits if match.shaped or not h.item]
    for section in sections:
        mine = sorted((h for h in hits if section_of(h.chunk_id) == section.section_id), key=lambda h: (-h.coverage, -h.score))
        if mine and (len(mine) == 1 or mine[0].coverage > mine[1].coverage + 1e-6):
            section.rows = [mine[0].line]
            section.answers = match.shaped
