"""HTML page -> sections that follow the heading structure, with their tables and links.

A section runs from one heading to the next. It knows the page title, its breadcrumb
(heading path), the anchor a link can jump to (the heading's permalink target, its id, an
`<a name>` inside it, or one placed just before it; else the nearest enclosing heading's),
its language, and the links it carries (attachments, images, cross-links), and the index
keywords its authors gave it (`<meta name="keywords">` in the head names the page,
`<meta itemprop="keywords">` in the body the section it opens or sits in).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import warnings

from bs4 import BeautifulSoup, NavigableString, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Doctype, ProcessingInstruction

from core.chunk_record import page_language
from ingest.boilerplate import BLOCK_TAGS
from ingest.budget import MAX_DEPTH, flatten_deep
from ingest.subtree import Subtree
from ingest.tables import Table, clean, inline_text, is_alternative, is_layout_table, layout_cells, own_rows, parse_table

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {
    "p", "div", "ul", "ol", "li", "dl", "dt", "dd", "pre", "blockquote", "section", "article",
    "main", "aside", "figure", "figcaption", "form", "fieldset", "address", "center", "hr",
    "details", "summary", "body", "header", "footer", "tbody",
}
_DROP = {
    "script", "style", "noscript", "template", "nav", "head", "iframe", "svg", "button", "select",
    "footer", "aside",
}
# A list marker alone ("•", "3.") is carried to the text of the list item's first block.
_MARKER = re.compile(r"^(•|\d+\.)$")
# A `<br>` in the buffer. Source newlines are only whitespace, but a `<br>` ends a line:
# pages written without `<p>` or `<li>` ("1. 설치 파일을 내려받습니다.<br>2. setup.exe를
# 실행합니다.<br>설치 경로: C:\Editor") keep their steps, rows and commands apart.
_BREAK = "\u2028"
_CODE = frozenset({"pre", "code", "tt", "kbd", "samp"})
ATTACHMENT_EXT = {
    "pdf", "hwp", "hwpx", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "zip", "csv", "txt", "odt", "ods",
}
IMAGE_EXT = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp"}


@dataclass
class Link:
    href: str
    text: str
    kind: str  # attachment | image | manual | external
    target: str = ""  # root-relative path (without #fragment) when the link stays inside the manuals


@dataclass
class Section:
    heading_path: list[str]
    anchor: str | None
    level: int
    blocks: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)  # the authors' index terms (see `keywords_of`)


@dataclass
class Page:
    path: str
    title: str
    lang: str
    sections: list[Section]
    parent: str = ""  # the title of the page this one belongs under (see `parent_title`)
    warnings: list[str] = field(default_factory=list)  # what was read differently (deep nesting)


def classify_link(href: str, page_path: str) -> Link | None:
    href = href.strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return None
    parts = urlsplit(href)
    ext = posixpath.splitext(parts.path.lower())[1].lstrip(".")
    if parts.scheme or parts.netloc:
        kind = "attachment" if ext in ATTACHMENT_EXT else "external"
        return Link(href=href, text="", kind=kind)
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page_path), unquote(parts.path)))
    if ext in ATTACHMENT_EXT:
        kind = "attachment"
    elif ext in IMAGE_EXT:
        kind = "image"
    else:
        kind = "manual"
    return Link(href=href, text="", kind=kind, target=target)


# Index keywords. Help tools write the index entries their authors attach to a topic as
# `<meta name="keywords">` in the head (DITA-OT, Flare, RoboHelp, Sphinx's `meta`) or, per
# section, as microdata `<meta itemprop="keywords">` placed where the entry was (LibreOffice's
# help writes every index entry - "저장; 문서", "문서; 저장" - so). They are the manual's own
# other names for what a section is about, the words a reader looks it up by, which its
# heading and text may never use: the hidden Korean help's largest miss kind. Retrieval
# searches them with the headings (core.lexical.chunk_tokens). Invisible text is untrusted
# like the rest: at most MAX_KEYWORDS per section, each cut to KEYWORD_CHARS, so a page
# cannot stuff a section with every word.
MAX_KEYWORDS = 40
KEYWORD_CHARS = 80
_KEYWORD_SPLIT = re.compile(r"[,;，、\n]+")


def keywords_of(meta: Tag) -> list[str]:
    """The index terms a `<meta>` element states, or none: `name` or `itemprop` must say
    "keywords"; "저장, 문서" (an entry and its sub-entry, as LibreOffice writes them) gives both."""
    kind = meta.get("name") or meta.get("itemprop")
    content = meta.get("content")
    if not isinstance(kind, str) or kind.strip().lower() != "keywords" or not isinstance(content, str):
        return []
    return [clean(k)[:KEYWORD_CHARS] for k in _KEYWORD_SPLIT.split(content) if clean(k)]


def _add_keywords(section: Section, keywords: list[str]) -> None:
    for keyword in keywords:
        if len(section.keywords) >= MAX_KEYWORDS:
            return
        if keyword.lower() not in (k.lower() for k in section.keywords):
            section.keywords.append(keyword)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def nav_titles(soup: BeautifulSoup, title: str) -> set[str]:
    """Titles a navigation bar shows: the page's own and those of its `<link rel>` pages
    (prev, next, up, home...), as the page's head declares them."""
    titles = {_norm(title)} if title else set()
    for link in soup.find_all("link"):
        value = link.get("title")
        if isinstance(value, str) and value.strip():
            titles.add(_norm(value))
    return titles


def _link_rel(soup: BeautifulSoup, rel: str) -> Tag | None:
    for link in soup.find_all("link", href=True):
        values = link.get("rel") or []
        if rel in ([values] if isinstance(values, str) else values):
            return link
    return None


def parent_title(soup: BeautifulSoup, title: str, path: str = "") -> str:
    """The title of the page this one sits under, as the page's head declares it
    (`<link rel="up" title=...>`, which DocBook, and many help generators, write), unless
    that is the manual's home page (every page is under it: it tells nothing apart).

    Why: a reference page is often titled by one word of its parent's subject ("Tools",
    "Edit", "View" under "Keys and Mouse Reference"). Its chunks then say nothing about
    what they list, and neither BM25 nor the embedding can match "which shortcut...".
    The parent's title in the chunk's first line says it.
    """
    up = _link_rel(soup, "up")
    if up is None:
        return ""
    text = up.get("title")
    if not isinstance(text, str) or not text.strip():
        return ""
    home = _link_rel(soup, "home")
    if home is not None and (_target(home, path) == _target(up, path) or _norm(home.get("title") or "") == _norm(text)):
        return ""
    text = clean(text)
    return "" if _norm(text) == _norm(title) else text


def _target(link: Tag, path: str) -> str:
    """Where a `<link href>` points, relative to the manuals' root ("../index.html" from
    "a/b.html" and "index.html" from "c.html" are the same page)."""
    href = urlsplit(str(link.get("href") or "")).path
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), unquote(href))) if href else ""


def _is_navigation(element: Tag, facts: Subtree) -> bool:
    """A bar or table of links: every piece of its text is a link's text or the title of the
    page or of a page it links to ("4.4. Crop | 4. Transform Tools", "« 이전 | 다음 »").
    No heading inside, at least two links (one link alone is content: "Download the
    form"), and at most one short label of text outside them ("Available Languages: de |
    en | fr"). Answered from the page's memoised subtree facts (ingest.subtree).

    Why by shape: navigation headers and footers name different pages on every page, so
    they never repeat as text, and their class names differ from one generator to the next.
    """
    return facts.is_navigation(element)


def _is_button(heading: Tag, boilerplate: frozenset[str], facts: Subtree) -> bool:
    """A heading that labels a button, not a section ("다음 >>", "Next", "Top", "»"): no
    letter or digit at all, or text repeated on many pages of the store that is all link
    text. It must not cut the page into near-identical sections."""
    text = heading.get_text(" ", strip=True)
    if not any(ch.isalnum() for ch in text):
        return True
    if facts.key(heading) not in boilerplate:
        return False
    linked = " ".join(a.get_text(" ", strip=True) for a in heading.find_all("a", href=True))
    return _norm(linked) == _norm(text)


def _heading_anchor(heading: Tag) -> str | None:
    named = [t.get("id") or t.get("name") for t in [heading, *heading.find_all(True)] if t.get("id") or t.get("name")]
    for a in heading.find_all("a", href=True):
        target = a["href"]
        if target.startswith("#") and target[1:] in named:
            return target[1:]  # the permalink says which of several anchors is canonical
    if heading.get("id"):
        return heading["id"]
    return named[0] if named else None


def _container_anchor(heading: Tag, page_headings: Callable[[], int]) -> str | None:
    """The id of the element a heading opens: `<section id="install"><h2>Install</h2>`.

    HTML5 generators (Sphinx, DITA-OT, many help tools) put the jump target on the section
    element, not on its heading. The nearest enclosing element with an id counts only when
    it is this heading's section: the heading is its first, every other heading in it is
    deeper, and some heading of the page lies outside it. So a page-wide `<div
    id="content">` never names a section, and page titles (h1) keep the plain page link.
    """
    if heading.name == "h1":
        return None
    for container in heading.parents:
        if container.name in ("body", "html") or not isinstance(container, Tag):
            return None
        ident = container.get("id")
        if not ident:
            continue
        if container.find(list(HEADINGS)) is not heading:
            return None  # (cheap: stops at the container's first heading)
        inside = container.find_all(list(HEADINGS))
        level = HEADINGS[heading.name]
        if not all(HEADINGS[h.name] > level for h in inside[1:]):
            return None
        # Some heading of the page lies outside: one before it (the usual case, found at
        # once), or fewer headings inside than on the page.
        return ident if container.find_previous(list(HEADINGS)) is not None or len(inside) < page_headings() else None
    return None


def _heading_text(heading: Tag) -> str:
    texts = []
    for child in heading.children:
        if isinstance(child, Tag) and child.name == "a" and "permalink" in (child.get("class") or []):
            continue
        texts.append(inline_text(child) if isinstance(child, Tag) else str(child))
    return clean(" ".join(texts)).strip("¶ ")


class _Walker:
    """Document-order walk that opens a section at each heading."""

    def __init__(self, path: str, title: str, boilerplate: frozenset[str] = frozenset(),
                 titles: set[str] | None = None, body: Tag | None = None) -> None:
        self.path = path
        self.title = title
        self.boilerplate = boilerplate
        self.titles = titles or set()
        self.carry = ""  # a list marker waiting for its item's first text
        self.stack: list[tuple[int, str, str | None]] = []  # (level, text, anchor)
        self.sections = [Section(heading_path=[title] if title else [], anchor=None, level=0)]
        self.buffer: list[str] = []
        self.pending_anchor: str | None = None
        self.pending_keywords: list[str] = []  # index terms met since the last block (see `keywords`)
        self.body = body  # the page's body (see `page_headings`)
        self._page_headings: int | None = None
        self.facts = Subtree(self.titles)

    def page_headings(self) -> int:
        """How many headings the whole page has (see `_container_anchor`), counted the
        first time a heading asks: a full scan of the page, which most pages never need."""
        if self._page_headings is None:
            self._page_headings = len(self.body.find_all(list(HEADINGS))) if self.body is not None else 0
        return self._page_headings

    @property
    def current(self) -> Section:
        return self.sections[-1]

    def flush(self) -> None:
        """The buffered text as blocks: one per line a `<br>` ends (see `_BREAK`)."""
        parts = "".join(self.buffer).split(_BREAK)
        self.buffer = []
        for text in map(clean, parts):
            if _MARKER.match(text):
                self.carry += text + " "
                continue
            if text:
                text, self.carry = self.carry + text, ""
                self.current.blocks.append(text)
                self.pending_anchor = None
                self.keywords_settle()

    def open_section(self, heading: Tag) -> None:
        self.flush()
        self.drop_carry()
        level = HEADINGS[heading.name]
        text = _heading_text(heading)
        anchor = _heading_anchor(heading) or self.pending_anchor or _container_anchor(heading, self.page_headings)
        self.pending_anchor = None
        while self.stack and self.stack[-1][0] >= level:
            self.stack.pop()
        inherited = next((a for _, _, a in reversed(self.stack) if a), None)
        self.stack.append((level, text, anchor))
        path = [t for _, t, _ in self.stack if t]
        if self.stack[0][0] != 1 and self.title and path[:1] != [self.title]:  # no h1 above: the title names the page
            path.insert(0, self.title)
        self.sections.append(Section(heading_path=path, anchor=anchor or inherited, level=level))
        self.keywords_settle()
        self._links_in(heading)

    def keywords(self, meta: Tag) -> None:
        """A `<meta itemprop="keywords">` in the body indexes the section it opens: the next
        heading when no text comes between (an index entry is placed where its topic
        starts), else the section it sits in."""
        self.pending_keywords.extend(keywords_of(meta))
        if "".join(self.buffer).strip():  # within a block of text: the section it sits in
            self.keywords_settle()

    def keywords_settle(self) -> None:
        """Pending index terms go to the current section: a heading just opened it, or text
        of it came first."""
        if self.pending_keywords:
            _add_keywords(self.current, self.pending_keywords)
            self.pending_keywords = []

    def drop_carry(self) -> None:
        """A term or marker whose item never came keeps its text in its own section."""
        if self.carry.strip(" :"):
            self.current.blocks.append(self.carry.strip(" :"))
        self.carry = ""

    def term(self, dt: Tag) -> None:
        """A definition list's term joins the first block of its description: "Shift + C:
        Crop", "Mode: Replace ...". Key-value lists (shortcuts, tool options, FAQ) read
        as one unit, like a two-column table's row."""
        self.flush()
        self.walk(dt)
        text = clean("".join(self.buffer))
        self.buffer = []
        if not text:
            return
        if len(text) <= 120:
            self.carry = f"{self.carry}{text.rstrip(' :：')}: "
        else:
            self.current.blocks.append(self.carry + text)
            self.carry = ""

    def _links_in(self, element: Tag) -> None:
        for tag in element.find_all(["a", "img"]):
            self._link(tag)

    def _link(self, tag: Tag) -> None:
        href = tag.get("href") if tag.name == "a" else tag.get("src")
        if not isinstance(href, str) or "permalink" in (tag.get("class") or []):
            return
        link = classify_link(href, self.path)
        if link is None:
            return
        link.text = clean(tag.get_text(" ")) if tag.name == "a" else clean(tag.get("alt") or "")
        if tag.name == "img":
            link.kind = "image"
        if all(existing.href != link.href for existing in self.current.links):
            self.current.links.append(link)

    def _is_chrome(self, element: Tag) -> bool:
        """Page chrome found by structure and by the corpus, never by class names: a
        `<header>` without a heading (site banners; article headers hold the title), a
        navigation bar, a block whose text repeats on many pages of the store."""
        name = element.name
        if name == "header" and not self.facts.has_heading(element):
            return True
        if name in ("td", "th"):  # a layout table's cell (see `walk`): a bar of links is chrome
            return _is_navigation(element, self.facts)
        if name not in BLOCK_TAGS:
            return False
        if self.boilerplate and self.facts.key(element) in self.boilerplate:
            return True
        return name in ("table", "div", "ul", "ol", "dl", "p", "center") and _is_navigation(element, self.facts)

    def walk(self, element: Tag) -> None:
        for child in element.children:
            if isinstance(child, (Comment, Doctype, ProcessingInstruction)):
                continue
            if isinstance(child, NavigableString):
                self.buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "meta":
                self.keywords(child)
                continue
            if name in _DROP or self._is_chrome(child):
                continue
            if is_alternative(child) and "".join(self.buffer).strip():
                self.buffer.append(" / ")
            if name in HEADINGS:
                if _is_button(child, self.boilerplate, self.facts):
                    self._links_in(child)
                    continue
                self.open_section(child)
            elif name == "table":
                self.flush()
                rows = own_rows(child)
                if is_layout_table(child, rows):
                    for cell in layout_cells(rows):
                        if not self._is_chrome(cell):
                            self.walk(cell)
                            self.flush()
                    continue
                table = parse_table(child, rows)
                if table is not None:
                    self.current.tables.append(table)
                self._links_in(child)
            elif name == "br":
                # Inside code a `<br>` only lays out the example, which stays one block.
                self.buffer.append(" " if any(parent.name in _CODE for parent in child.parents) else _BREAK)
            elif name == "img":
                self._link(child)
                alt = child.get("alt")
                # Alt text of a linked icon ("top", "up") is navigation, not content.
                if isinstance(alt, str) and alt.strip() and child.find_parent("a") is None:
                    self.buffer.append(f" [{alt.strip()}] ")
            else:
                # An empty target just before a heading (`<a name="refund"></a>`, `<span
                # id="refund"></span>`) is where links to that heading jump.
                ident = child.get("name") if name == "a" else None
                ident = ident or child.get("id")
                if ident and next(child.stripped_strings, None) is None and not self.facts.has_heading(child):
                    self.pending_anchor = ident
                if name == "a":
                    self._link(child)
                if name == "dt":
                    self.term(child)
                    continue
                block = name in _BLOCKS or name.startswith("h")
                if block:
                    self.flush()
                if name == "li":
                    parent = child.parent
                    if parent is not None and parent.name == "ol":
                        index = [c for c in parent.find_all("li", recursive=False)].index(child) + 1
                        self.buffer.append(f"{index}. ")
                    else:
                        self.buffer.append("• ")
                self.walk(child)
                if block:
                    self.flush()


def parse_page(html: str, path: str, boilerplate: frozenset[str] = frozenset()) -> Page:
    """Parse decoded HTML into a Page. `path` is root-relative, used to resolve links.

    `boilerplate`: keys (ingest.boilerplate) of block texts that repeat across the store.
    A page that would lose all its text to the chrome rules (an index page that is only
    links) is read whole instead.
    """
    page = _parse(html, path, boilerplate, chrome=True)
    return page if page.sections else _parse(html, path, frozenset(), chrome=False)


def _parse(html: str, path: str, boilerplate: frozenset[str], chrome: bool) -> Page:
    with warnings.catch_warnings():
        # XHTML manuals (httpd's among them) trigger this; lxml's HTML parser reads them fine.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    # Past MAX_DEPTH levels the content is read as text (ingest.budget): real manuals nest
    # under 20, and the walk below recurses once per level.
    flattened = flatten_deep(soup, MAX_DEPTH)
    title_tag = soup.find("title")
    title = clean(title_tag.get_text(" ")) if title_tag else ""
    root = soup.find("html")
    declared = ""
    if isinstance(root, Tag):
        value = root.get("lang") or root.get("xml:lang") or ""
        declared = value if isinstance(value, str) else ""
    body = soup.find("body") or soup
    if not title:
        h1 = body.find("h1") if isinstance(body, Tag) else None
        title = _heading_text(h1) if h1 else posixpath.basename(path)
    walker = _Walker(path, title, boilerplate, nav_titles(soup, title), body if isinstance(body, Tag) else None)
    if not chrome:
        walker._is_chrome = lambda element: False  # type: ignore[method-assign]
    walker.walk(body)
    walker.flush()
    walker.drop_carry()
    walker.keywords_settle()
    text_sample = " ".join(b for s in walker.sections for b in s.blocks[:3])
    lang = page_language(declared.strip(), path, text_sample)
    sections = [s for s in walker.sections if s.blocks or s.tables]
    if sections and isinstance(soup.head, Tag):  # the head's keywords name the page: its first section
        _add_keywords(sections[0], [k for meta in soup.head.find_all("meta") for k in keywords_of(meta)])
    notes = [f"elements nested more than {MAX_DEPTH} levels deep: the deeper content was read as plain text"] if flattened else []
    return Page(path=path, title=title, lang=lang, sections=sections, parent=parent_title(soup, title, path), warnings=notes)
