"""One attachment's bytes -> a `FileResult` (chunks, BM25 tokens, vectors), in a parser
process like a page (`ingest.worker.build_file`), so the writer stores it the same way:
per-file transaction, ids from content, unchanged chunks keep their vectors.

Never raises: a bad attachment's reason goes into `error` for the report, and nothing of
the page that links to it depends on it.
"""

from __future__ import annotations



from core import chunk_record as record
from core.lexical import card_tokens, chunk_tokens
from core.vocab import page_terms
from ingest.attachments.document import locations, to_page
from ingest.attachments.extract import extract
from ingest.attachments.safety import ZipLimits
from ingest.attachments.units import AttachmentError, FileType, NothingToIndex
from ingest.chunk import breadcrumb, lexical_text, page_nodes
from ingest.rows import row_units
from ingest.manifest import ChunkRow
from ingest.worker import FileResult, _state, embed_new, embed_summary


def build_attachment(path: str, raw: bytes, digest: str, stored_ids: frozenset[str] = frozenset(),
                     linked: tuple[dict, ...] = ()) -> FileResult:
    """`linked`: the manual sections linking to the file (core.chunk_record.LINKED_FROM)."""
    settings = _state["settings"]
    result = FileResult(path=path, hash=digest, size=len(raw))
    proser = _state["proser"]
    calls_before, fallbacks_before = proser.stats.llm_calls, len(proser.stats.fallbacks)
    try:
        extracted = extract(raw, path.rsplit("/", 1)[-1], max_mb=settings.max_file_mb,
                            limits=ZipLimits(settings.zip_max_unpacked_mb, settings.zip_max_ratio),
                            ocr_mode=settings.ocr)
        result.file_type, result.ocr_pages = extracted.type.value, extracted.ocr_pages
        # the linking page's heading ("단말기 할부 구매 안내", not its <title> with the site name)
        # when one page links to the file; a file several pages link to belongs to none of them
        pages = {link["path"] for link in linked}
        parent = (linked[0]["heading"].split(record.BREADCRUMB_SEPARATOR)[0] or linked[0]["title"]) if len(pages) == 1 else ""
        if extracted.type is FileType.IMAGE and linked:
            # a picture is read under the section that shows it, named by its alt text:
            # "한빛 인터넷 요금제 안내 › 와이파이 공유기 임대 › 공유기 초기화 방법 안내 그림"
            extracted.title = record.breadcrumb([h for h in (linked[0]["heading"], linked[0]["text"] or extracted.title) if h])
            parent = ""
        page = to_page(extracted, path, parent=parent)
        if not page.sections:
            raise AttachmentError("no text found in the file")
        nodes = page_nodes(page, proser, _state["chunker"], digest)
    except AttachmentError as exc:
        result.error = str(exc)
        result.quiet = isinstance(exc, NothingToIndex)
        return result
    except Exception as exc:  # a reader library's bug on odd input must not stop the batch
        result.error = f"could not read attachment: {type(exc).__name__}: {exc}"
        return result
    where = locations(extracted)
    for node in nodes:
        node.metadata.update(record.attachment_fields(
            extracted.type.value, where.get(node.metadata[record.ANCHOR], ""), list(linked)))
        node.excluded_embed_metadata_keys = list(node.metadata)
        node.excluded_llm_metadata_keys = list(node.metadata)
    if extracted.notes:
        result.warning = "; ".join(extracted.notes)
    result.nodes = nodes
    result.title, result.lang = page.title, page.lang
    result.sections = len(page.sections)
    result.tables = sum(len(s.tables) for s in page.sections)
    dirs = record.path_dirs(path)
    heading_paths = {breadcrumb(s): s.heading_path for s in page.sections}
    result.chunk_rows = [
        ChunkRow(n.id_, page.lang, dirs,
                 card_tokens(n.text) if n.metadata[record.CARD]
                 else chunk_tokens(lexical_text(n), heading_paths[n.metadata[record.HEADING]]))
        for n in nodes
    ]
    result.row_units = row_units(page, nodes, settings.row_items)  # a sheet's rows are rows like a page's (ingest.rows)
    result.terms = page_terms("\n".join([page.title] + [n.text for n in nodes]))
    embed_new(result, nodes, stored_ids)
    embed_summary(result, page, nodes, stored_ids, attachment=True)  # one unit per PDF page, sheet, slide
    result.llm_calls = proser.stats.llm_calls - calls_before
    result.prose_fallbacks = proser.stats.fallbacks[fallbacks_before:]
    return result
