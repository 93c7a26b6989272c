"""Boilerplate learnt from the corpus itself: block texts that repeat on many pages.

Footers, copyright lines, "Available languages" bars, debug dumps printed at the foot of
every page and "comments" notices are whatever a generator prints on every page; no list
of class names written for one manual finds them in the next. So every page's block
elements (paragraphs, lists, divs, tables...) are keyed by their normalised text, the
manifest counts on how many pages each key occurs, and a key found on at least
`threshold(pages)` pages is boilerplate: the parser drops elements with that text.

The keys come from a fast lxml pass in the scan (about 1 ms a page), before any page is
parsed, so the parsers already know the set: no second parse. The parser computes the
same key from BeautifulSoup's tree (`element_key`); both read only text nodes, skipping
comments, scripts and styles, so they agree (tests/test_boilerplate.py checks the
fixtures, and the httpd/gimp/debian corpora agree on every page).
"""

from __future__ import annotations

import hashlib
import math
import re

import lxml.html
from bs4 import NavigableString, Tag
from bs4.element import Comment, Doctype, ProcessingInstruction

# Elements whose whole text can be one repeated block. Headings are counted too but never
# dropped for repeating: a repeated heading ("Summary", "See also") heads different content
# on every page. Only a repeated heading that is all link text counts as a button
# (ingest.parse._is_button); a heading whose section holds nothing else disappears with its
# empty section.
BLOCK_TAGS = frozenset({
    "p", "div", "ul", "ol", "dl", "li", "dt", "dd", "pre", "blockquote", "section", "article",
    "aside", "figure", "figcaption", "form", "fieldset", "address", "center", "details", "table",
    "header", "footer",
})
HEADING_TAGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP = frozenset({"script", "style", "noscript", "template", "head"})
MAX_BLOCK_CHARS = 3000  # page-wide wrappers are unique anyway; keep the key table small
MIN_PAGES = 3
SHARE = 0.3  # of the store's pages; measured on httpd, gimp and debian (see README)
_WS = re.compile(r"\s+")
_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def key_of(text: str) -> str | None:
    norm = _WS.sub(" ", text).strip().lower()
    if not norm or len(norm) > MAX_BLOCK_CHARS:
        return None
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=8).hexdigest()


def threshold(pages: int) -> int:
    """Pages a block must repeat on to count as boilerplate."""
    return max(MIN_PAGES, math.ceil(SHARE * pages))


def _lxml_text(element: lxml.html.HtmlElement, out: list[str]) -> None:
    if element.text and isinstance(element.tag, str) and element.tag not in _SKIP:
        out.append(element.text)
    for child in element:
        if isinstance(child.tag, str) and child.tag not in _SKIP:
            _lxml_text(child, out)
        if child.tail:
            out.append(child.tail)


def page_keys(html: str) -> set[str]:
    """Keys of every block element of a page (the scan's fast pass)."""
    try:
        # The text is decoded already: the parser must not obey a <meta charset> again.
        root = lxml.html.fromstring(html.encode("utf-8"), parser=_PARSER)
    except (ValueError, lxml.etree.ParserError):
        return set()
    body = root.find("body")
    keys: set[str] = set()
    for element in (body if body is not None else root).iter():
        if isinstance(element.tag, str) and (element.tag in BLOCK_TAGS or element.tag in HEADING_TAGS):
            parts: list[str] = []
            _lxml_text(element, parts)
            key = key_of("".join(parts))
            if key:
                keys.add(key)
    return keys


def _soup_text(element: Tag, out: list[str]) -> None:
    """Iterative (a page may nest thousands of levels; see ingest.budget)."""
    stack = [iter(element.children)]
    while stack:
        for child in stack[-1]:
            if isinstance(child, (Comment, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                out.append(str(child))
            elif isinstance(child, Tag) and child.name not in _SKIP:
                stack.append(iter(child.children))
                break
        else:
            stack.pop()


def element_key(element: Tag) -> str | None:
    """The same key as `page_keys`, from the parser's BeautifulSoup tree (the parser itself
    uses ingest.subtree, which memoises it per element)."""
    parts: list[str] = []
    _soup_text(element, parts)
    return key_of("".join(parts))


def corpus_boilerplate(pages: dict[str, str]) -> dict[str, frozenset[str]]:
    """Each page's boilerplate keys, for a set of decoded pages held in memory (the same
    rule the manifest applies incrementally; used by tools and tests)."""
    keys = {path: page_keys(html) for path, html in pages.items()}
    counts: dict[str, int] = {}
    for found in keys.values():
        for key in found:
            counts[key] = counts.get(key, 0) + 1
    least = threshold(len(pages))
    return {path: frozenset(k for k in found if counts[k] >= least) for path, found in keys.items()}
