"""The chunk record: the one place that knows what a stored chunk carries and how to read it.

Ingestion writes these keys into every chunk's metadata (`ingest/chunk.py`); Chroma keeps
the filterable ones flat (`core/store.py`), the BM25 snapshot keeps them as filter columns
(`ingest/manifest.py`), and the query side reads them back to group sections, filter,
cite and key the answer cache. When each of those spelled `"section_id"` or `"dir2"` on
its own, a renamed key or a deeper folder filter had to be changed in ten files, and
missing one failed silently (a `.get` default). The names below are the stored format:
changing a value makes existing stores unreadable, so rename the Python names freely and
the strings never (or bump `ingest.run.PIPELINE_VERSION` and re-ingest).

Language detection lives here too: a page's language is a chunk field (filters, the
answer's language), and a question's language picks the prompt's language and the
personal-data placeholders, so both sides must agree on what counts as Korean.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Metadata keys of a chunk (the stored format: never change a value) ----------------------
PATH = "path"  # the manual's root-relative path, e.g. "internet/plans.html"
TITLE = "title"  # the page title
ANCHOR = "anchor"  # the section's id in the page ("" for a page without one)
SECTION_ID = "section_id"  # "path#anchor": what one search result is
HEADING = "heading"  # the breadcrumb line (see `breadcrumb`)
LANG = "lang"  # the page's language code ("ko", "en", ...; see `page_language`)
KIND = "kind"  # KIND_TEXT or KIND_TABLE
POSITION = "position"  # reading order within the page
LINKS = "links"  # JSON list of the section's attachment / manual / external links
TABLE_MD = "table_md"  # the table rows of the chunk as markdown (BM25 indexes it too)
CARD = "card"  # True for a key-value table's short description vector
DOC_HASH = "doc_hash"  # the manual's content hash: a changed manual misses the answer cache
UNIT = "unit"  # True for a small retrieval unit: one list item or definition entry (ingest.chunk.unit_texts)
KEYWORDS = "keywords"  # the section's index keywords, ", "-joined ("" for none; ingest.parse.keywords_of)

# Attachment chunks (ingest.attachments) carry the keys above, read the same way:
#   PATH      the attachment's root-relative path ("forms/terms.pdf"),
#   ANCHOR    the place inside it as a URL fragment ("page=4"; "sheet=<url-quoted name>",
#             "slide=3", "section=2" for a heading section; "" for the whole file), so
#             SECTION_ID and the source `url` are "forms/terms.pdf#page=4", which opens the
#             PDF at that page in browsers' viewers (`/manuals/` serves the file),
#   TITLE     the document's own title (PDF/Office properties, a form's first line) or file name,
#   HEADING   title › location headings (sheet name, "3. 요금 안내" slide title, heading path).
# and these, only on attachment chunks:
FILE_TYPE = "file_type"  # the type its bytes declare: pdf, xlsx, xls, docx, pptx, hwpx, hwp, csv, txt, image
LOCATION = "location"  # the place for people: "p. 4", "sheet 단말기", "slide 3", "제3장 › 제20조"
LINKED_FROM = "linked_from"  # JSON list of the manual sections linking to the file, first one first:
#   [{"path": "mobile/plans.html", "anchor": "fees", "url": "mobile/plans.html#fees",
#     "heading": "모바일 요금제 안내 › 요금", "title": "모바일 요금제 안내", "text": "2026년 요금표(엑셀)"}]
#   empty list for a file found under the manuals root that no page links to

KIND_TEXT = "text"
KIND_TABLE = "table"

# Folder filters (`--under internet/`): Chroma has no prefix operator, so each chunk stores
# its first MAX_DIR_DEPTH ancestor folders as dir1..dirN and a filter is one equality.
MAX_DIR_DEPTH = 4


def dir_key(depth: int) -> str:
    """The metadata key of a path's ancestor folder at `depth` (1 = top folder)."""
    return f"dir{depth}"


DIR_KEYS = tuple(dir_key(i + 1) for i in range(MAX_DIR_DEPTH))
# What filters and deletes need as flat fields (Chroma `where`, BM25 masks).
FILTER_KEYS = (PATH, LANG, *DIR_KEYS)


def path_dirs(path: str) -> dict[str, str]:
    """{"dir1": "a", "dir2": "a/b"} for "a/b/page.html", at most MAX_DIR_DEPTH deep."""
    parts = path.split("/")[:-1]
    return {dir_key(i + 1): "/".join(parts[: i + 1]) for i in range(min(len(parts), MAX_DIR_DEPTH))}


def dir_filter(under: str | None) -> tuple[str, str] | None:
    """(metadata key, value) that selects the chunks under a folder prefix, or None.

    A prefix deeper than MAX_DIR_DEPTH names a key no chunk has, so it matches nothing.
    """
    if not under:
        return None
    prefix = under.strip().strip("/")
    if not prefix:
        return None
    return dir_key(prefix.count("/") + 1), prefix


def attachment_fields(file_type: str, location: str, linked_from: list[dict[str, str]]) -> dict[str, Any]:
    """The keys an attachment chunk adds to `chunk_metadata` (see FILE_TYPE, LOCATION, LINKED_FROM)."""
    return {FILE_TYPE: file_type, LOCATION: location, LINKED_FROM: json.dumps(linked_from, ensure_ascii=False)}


def linked_from(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """The manual sections that link to an attachment chunk's file ([] for a page's chunk)."""
    return json.loads(metadata.get(LINKED_FROM) or "[]")


def chunk_metadata(
    *, path: str, title: str, anchor: str, heading: str, lang: str, kind: str, position: int,
    links: str, table_md: str, card: bool, doc_hash: str, unit: bool = False, keywords: str = "",
) -> dict[str, Any]:
    """A chunk's whole record, in the stored key order."""
    return {
        PATH: path,
        TITLE: title,
        ANCHOR: anchor,
        SECTION_ID: section_id(path, anchor),
        HEADING: heading,
        LANG: lang,
        KIND: kind,
        POSITION: position,
        LINKS: links,
        TABLE_MD: table_md,
        CARD: card,
        DOC_HASH: doc_hash,
        UNIT: unit,
        KEYWORDS: keywords,
        **path_dirs(path),
    }


# Sections and the breadcrumb line ---------------------------------------------------
BREADCRUMB_SEPARATOR = " › "


def breadcrumb(heading_path: list[str]) -> str:
    """The section's headings from the page title down, as one line: the `HEADING` field,
    and the start of every chunk's text (so the section's name is embedded and indexed),
    after the parent page's title when the page names one (ingest.chunk)."""
    return BREADCRUMB_SEPARATOR.join(heading_path)


def chunk_body(text: str) -> str:
    """A chunk's text after its first line (the breadcrumb, or the page title): what a
    snippet shows and an extractive answer quotes from."""
    return text.split("\n", 1)[1] if "\n" in text else text


def section_id(path: str, anchor: str) -> str:
    return f"{path}#{anchor}" if anchor else path


def section_of(metadata: dict[str, Any]) -> str:
    """The section a chunk belongs to (its page when the record has no section id)."""
    return metadata.get(SECTION_ID) or metadata.get(PATH, "")


# How many of a section's matching chunks (best first) stand for it. What the LLM and the
# reranker read is CONTEXT_CHUNKS; the answer cache keys on exactly those chunks, so a
# cached answer is reused only for the same context. The extractive answer looks one
# further for a sentence or row to quote.
CONTEXT_CHUNKS = 3
EXTRACTIVE_CHUNKS = 4

# Links ------------------------------------------------------------------------------
STORED_LINK_KINDS = ("attachment", "manual", "external")
MAX_STORED_LINKS = 20


def links_field(links: list[Any]) -> str:
    """The `LINKS` field: the section's links that a source can show (objects with href,
    text, kind and target), as JSON."""
    keep = [
        {"href": link.href, "text": link.text, "kind": link.kind, "target": link.target}
        for link in links
        if link.kind in STORED_LINK_KINDS
    ]
    return json.dumps(keep[:MAX_STORED_LINKS], ensure_ascii=False)


def attachments(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """The attachments of a chunk's section, as the answer contract lists them."""
    links = json.loads(metadata.get(LINKS) or "[]")
    return [
        {"text": link["text"], "href": link["href"], "path": link.get("target", "")}
        for link in links if link.get("kind") == "attachment"
    ]


# Language ---------------------------------------------------------------------------
HANGUL_FIRST, HANGUL_LAST = "\uac00", "\ud7a3"  # the precomposed Hangul syllables
HANGUL = re.compile(f"[{HANGUL_FIRST}-{HANGUL_LAST}]")
_SAMPLE_CHARS = 20000
_KOREAN_SHARE = 0.2


def text_language(text: str | None) -> str:
    """"ko" when a short text (a question) has any Hangul syllable, else "en"."""
    return "ko" if HANGUL.search(text or "") else "en"


def page_language(declared: str, path: str, text: str) -> str:
    """`<html lang>` first, then a `.ko.`/`.en.` file-name part, then the share of Hangul
    among the letters of a text sample."""
    if declared:
        return declared.split("-")[0].lower()
    for part in path.lower().split(".")[1:]:
        if len(part) == 2 and part.isalpha() and part not in ("md",):
            return part
    sample = text[:_SAMPLE_CHARS]
    hangul = sum(1 for ch in sample if HANGUL_FIRST <= ch <= HANGUL_LAST)
    letters = sum(1 for ch in sample if ch.isalpha()) or 1
    return "ko" if hangul / letters > _KOREAN_SHARE else "en"
