"""Lines of extracted text -> paragraph blocks.

PDF text layers break lines where the page did, mid-sentence; a block per printed line
would cut a fact ("월 요금은" / "55,000원입니다") across two sentences for the splitter and
the extractive answer. A line is joined to the next only when it was wrapped: it runs to
(nearly) the full width of the page's longest lines and does not end a sentence, and the
next line does not start a list item or a numbered step. Short lines (headings, table
rows, form labels) stay lines of their own, so a table row keeps its values together and
apart from the next row.
"""

from __future__ import annotations

import re

_ENDS = re.compile(r"([.!?。:：]|[다요음함])\s*$")
_STARTS_ITEM = re.compile(r"^\s*([•·\-*▪■□○●◦]|\(?\d{1,2}[.)]|[가-힣][.)]\s|제\s*\d+\s*[조항장])")
WRAPPED_SHARE = 0.8  # a line this long, relative to the page's long lines, was wrapped


def _width(line: str) -> float:
    """Printed width in Latin-letter units: a Hangul syllable is about two letters wide."""
    return sum(2.0 if "\u1100" <= ch <= "\ud7a3" or "\u3000" <= ch <= "\u9fff" else 1.0 for ch in line)


def paragraphs(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    widths = sorted((_width(line) for line in lines if line), reverse=True)
    full = widths[min(len(widths) - 1, len(widths) // 10)] if widths else 0.0  # the 90th percentile line
    blocks: list[str] = []
    current: list[str] = []
    for line in lines:
        if not line:
            if current:
                blocks.append(" ".join(current))
                current = []
            continue
        if current:
            last = current[-1]
            wrapped = _width(last) >= WRAPPED_SHARE * full and not _ENDS.search(last)
            if not wrapped or _STARTS_ITEM.match(line):
                blocks.append(" ".join(current))
                current = []
        current.append(line)
    if current:
        blocks.append(" ".join(current))
    return blocks
