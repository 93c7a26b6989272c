"""Facts about an element's whole subtree, each computed once per page.

Why: the walker asks of every block it meets "does it hold a heading?", "how many links?",
"is all its text link text?" (ingest.parse._is_navigation) and "what is its text's
boilerplate key?" (ingest.boilerplate.element_key). Answered with BeautifulSoup's `find`
or a recursive text walk, each question re-read the element's whole subtree, so a page
cost its size times its nesting depth: minutes for deep pages, and a third of the parse
time of ordinary ones. Here each answer is folded bottom-up from the children's, kept per
element, and computed iteratively (no recursion limit) the first time an element asks.
The answers are exactly those of the scans they replace (tests/ingest/test_parse_budget.py
compares them on the fixtures and the corpora).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from bs4 import NavigableString, Tag
from bs4.element import Comment, Doctype, ProcessingInstruction

from ingest.boilerplate import MAX_BLOCK_CHARS, key_of

HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIPPED = (Comment, Doctype, ProcessingInstruction)
_SKIP_TEXT = frozenset({"script", "style", "noscript", "template", "head"})  # as boilerplate._SKIP
_WS = re.compile(r"\s+")
_PUNCT = "|·•,-–—«»<>()[]/:"
T = TypeVar("T")


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


class Subtree:
    """Memoised subtree facts of one parsed page (`titles`: see ingest.parse.nav_titles)."""

    def __init__(self, titles: set[str]) -> None:
        self.titles = titles
        self._heading: dict[int, bool] = {}
        self._links: dict[int, int] = {}
        self._texts: dict[int, tuple[int, bool]] = {}
        self._text: dict[int, str | None] = {}

    @staticmethod
    def _fold(memo: dict[int, T], element: Tag, combine: Callable[[Tag, dict[int, T]], T]) -> T:
        """Post-order over the element's descendants not yet in `memo` (iterative)."""
        key = id(element)
        if key in memo:
            return memo[key]
        stack: list[tuple[Tag, bool]] = [(element, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                memo[id(node)] = combine(node, memo)
                continue
            stack.append((node, True))
            for child in node.contents:
                if isinstance(child, Tag) and id(child) not in memo:
                    stack.append((child, False))
        return memo[key]

    # -- does any descendant element name a heading? (find(HEADINGS) is not None)
    @staticmethod
    def _heading_of(node: Tag, memo: dict[int, bool]) -> bool:
        return any(isinstance(c, Tag) and (c.name in HEADINGS or memo[id(c)]) for c in node.contents)

    def has_heading(self, element: Tag) -> bool:
        return self._fold(self._heading, element, self._heading_of)

    # -- descendant <a href> elements, counted up to 2 (find_all("a", href=True))
    @staticmethod
    def _links_of(node: Tag, memo: dict[int, int]) -> int:
        count = 0
        for c in node.contents:
            if isinstance(c, Tag):
                count += memo[id(c)] + (c.name == "a" and c.get("href") is not None)
                if count >= 2:
                    return 2
        return count

    def links(self, element: Tag) -> int:
        return self._fold(self._links, element, self._links_of)

    # -- text pieces outside links that are not a page title or punctuation: (how many,
    #    up to 2; whether the first is a short label)
    def _texts_of(self, node: Tag, memo: dict[int, tuple[int, bool]]) -> tuple[int, bool]:
        if node.name == "a":
            return 0, False
        count, short = 0, False
        for c in node.contents:
            if isinstance(c, Tag):
                n, s = memo[id(c)]
            elif isinstance(c, NavigableString) and not isinstance(c, _SKIPPED) and c.strip():
                norm = _norm(c)
                if norm in self.titles or all(ch in _PUNCT for ch in norm.replace(" ", "")):
                    continue
                n, s = 1, len(norm) <= 30
            else:
                continue
            if n:
                if not count:
                    short = s
                count += n
                if count >= 2:
                    return 2, short
        return count, short

    def is_navigation(self, element: Tag) -> bool:
        """A bar or table of links: see ingest.parse._is_navigation for the rule."""
        if self.has_heading(element) or self.links(element) < 2:
            return False
        if any(parent.name == "a" for parent in element.parents):
            return True  # every text piece sits inside a link
        count, short = self._fold(self._texts, element, self._texts_of)
        return count == 0 or (count == 1 and short)

    # -- the boilerplate key of the element's text (ingest.boilerplate.element_key)
    @staticmethod
    def _text_of(node: Tag, memo: dict[int, str | None]) -> str | None:
        parts: list[str] = []
        for c in node.contents:
            if isinstance(c, Tag):
                if c.name in _SKIP_TEXT:
                    continue
                text = memo[id(c)]
                if text is None:  # a child's text is too long already: so is this one
                    return None
                parts.append(text)
            elif isinstance(c, NavigableString) and not isinstance(c, _SKIPPED):
                parts.append(str(c))
        # Whitespace runs collapsed but not stripped: collapsing the parts and then the
        # whole gives what collapsing the raw whole gives, and lengths stay bounded.
        text = _WS.sub(" ", "".join(parts))
        return None if len(text) > MAX_BLOCK_CHARS + 2 and len(text.strip()) > MAX_BLOCK_CHARS else text

    def key(self, element: Tag) -> str | None:
        text = self._fold(self._text, element, self._text_of)
        return key_of(text) if text is not None else None
