"""The row lane's units (ingest.rows) and their index (core.rows): one unit per row of a
table of at least three rows, with its caption and page title, pointing at the chunk that
states it; the published index follows the manuals through changes and deletions."""

from __future__ import annotations

from core.rows import ROWS_DIR, RowIndex
from core.store import get_storage
from ingest.chunk import Chunker, page_nodes
from ingest.parse import parse_page
from ingest.rows import row_units
from ingest.run import ingest
from ingest.table_prose import TableProser
from tests.helpers import make_settings

PAGE = """<html lang="ko"><head><title>편집기 단축키</title></head><body>
<h1 id="keys">편집기 단축키</h1><p>편집기에서 쓰는 단축키입니다.</p>
<table><caption>표 1. 단축키 목록</caption><tr><th>단축키</th><th>기능</th></tr>
{rows}</table>
<h2 id="small">작은 표</h2><table><tr><th>키</th><th>값</th></tr><tr><td>A</td><td>하나</td></tr>
<tr><td>B</td><td>둘</td></tr></table></body></html>"""
ROWS = [("Ctrl+N", "새 문서"), ("Ctrl+O", "열기"), ("Ctrl+Shift+S", "다른 이름으로 저장"), ("F1", "도움말")]


def _page(rows=ROWS) -> str:
    return PAGE.format(rows="\n".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows))


def test_each_row_of_a_table_is_a_unit_with_caption_title_and_its_chunk(tmp_path):
    page = parse_page(_page(), "keys.html")
    nodes = page_nodes(page, TableProser(make_settings(tmp_path), None), Chunker(320, 40), "h")
    units = row_units(page, nodes)
    assert [u.line for u in units] == [f"단축키: {k}; 기능: {v}." for k, v in ROWS]  # the two-row table has none
    unit = units[2]
    chunk = next(n for n in nodes if n.id_ == unit.chunk_id)
    assert unit.line in chunk.text  # small-to-big: the chunk that states the row
    for word in ("편집", "목록", "기능", "저장"):  # page title, caption, header label, the row's value
        assert word in unit.tokens


def _rows(settings) -> RowIndex:
    storage = get_storage(settings)
    return RowIndex.load(storage.lexical_dir(storage.current()) / ROWS_DIR)


def test_row_index_follows_a_changed_and_a_deleted_page(tmp_path):
    root = tmp_path / "manuals"
    root.mkdir()
    (root / "keys.html").write_text(_page(), encoding="utf-8")
    (root / "other.html").write_text(_page([("F5", "새로 고침"), ("F7", "맞춤법"), ("F11", "전체 화면")]), encoding="utf-8")
    settings = make_settings(tmp_path / "storage")
    ingest([root], settings, progress=False)
    assert {h.line for h in _rows(settings).search("다른 이름으로 저장", 3)} >= {"단축키: Ctrl+Shift+S; 기능: 다른 이름으로 저장."}

    (root / "keys.html").write_text(_page([("Ctrl+Alt+S", "다른 이름으로 저장"), *ROWS[:2], ROWS[3]]), encoding="utf-8")
    ingest([root], settings, progress=False)
    rows = _rows(settings)
    assert len(rows) == 7
    hits = rows.search("다른 이름으로 저장", 3)
    assert hits[0].line == "단축키: Ctrl+Alt+S; 기능: 다른 이름으로 저장."
    assert not any("Ctrl+Shift+S" in h.line for h in hits)
    retriever_chunks = {h.chunk_id for h in hits}
    from core.store import open_collection  # noqa: F401  (the chunk ids are live ones)
    from query.answer.retrieve import HybridRetriever

    retriever = HybridRetriever(settings)
    try:
        assert set(retriever.nodes(sorted(retriever_chunks))) == retriever_chunks
    finally:
        retriever.close()

    (root / "keys.html").unlink()
    ingest([root], settings, progress=False)
    rows = _rows(settings)
    assert len(rows) == 3 and not rows.search("다른 이름으로 저장", 3)


LIST_PAGE = """<html lang="en"><head><title>File menu keys</title></head><body>
<h1 id="file">File menu keys</h1><p>Keys of the File menu.</p>
<dl><dt>Ctrl + N</dt><dd>New image</dd><dt>Ctrl + O</dt><dd>Open image</dd><dt>Ctrl + Alt + O</dt><dd>Open as layers</dd></dl>
<h2 id="two">Two items</h2><ul><li>First</li><li>Second</li></ul></body></html>"""


def test_list_items_and_definition_entries_are_units_flagged_as_items(tmp_path):
    page = parse_page(LIST_PAGE, "keys.html")
    nodes = page_nodes(page, TableProser(make_settings(tmp_path), None), Chunker(320, 40), "h")
    units = row_units(page, nodes)
    assert [u.line for u in units] == ["Ctrl + N: New image", "Ctrl + O: Open image", "Ctrl + Alt + O: Open as layers"]
    assert all(u.item for u in units)  # (a list of two is read whole from its chunk)
    assert all(u.line in next(n for n in nodes if n.id_ == u.chunk_id).text for u in units)
    assert "file" in units[2].tokens and "layer" in " ".join(units[2].tokens)  # the page title and the entry
    assert row_units(page, nodes, items=False) == []  # ROW_ITEMS=false
