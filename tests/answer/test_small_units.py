"""Small retrieval units (ingest.chunk.unit_texts): each list item or definition entry of
a list of at least three is also a chunk of its section, when SMALL_UNITS is on. Table rows
are not units: they have their own lane (tests/answer/test_row_lane.py)."""

from __future__ import annotations

from ingest.chunk import Chunker, page_nodes
from ingest.parse import parse_page
from ingest.table_prose import TableProser
from tests.helpers import make_settings

PAGE = """<html lang="ko"><head><title>편집기 도움말</title></head><body>
<h1 id="menu">편집기 도움말</h1>
<p>파일 메뉴에서 할 수 있는 일은 다음과 같습니다.</p>
<ul><li>새로 만들기: 빈 문서를 엽니다.</li><li>열기: 저장된 문서를 엽니다.</li>
<li>다른 이름으로 저장: 문서를 새 파일 이름으로 저장합니다.</li><li>인쇄: 문서를 인쇄합니다.</li></ul>
<table><tr><th>단축키</th><th>기능</th></tr><tr><td>Ctrl+N</td><td>새 문서</td></tr>
<tr><td>Ctrl+O</td><td>열기</td></tr><tr><td>Ctrl+P</td><td>인쇄</td></tr></table></body></html>"""


def test_a_list_item_is_a_unit_and_a_table_row_is_not(tmp_path):
    page = parse_page(PAGE, "menu.html")
    proser = TableProser(make_settings(tmp_path / "s"), None)
    units = [n for n in page_nodes(page, proser, Chunker(320, 40, True), "h") if n.metadata["unit"]]
    item = next(n for n in units if "다른 이름으로 저장" in n.text)
    assert item.text.split("\n")[0].startswith("편집기 도움말")  # the page title leads
    assert "인쇄" not in item.text  # one item, not its neighbours
    assert not [n for n in units if "Ctrl+" in n.text]  # rows are the row lane's (ingest.rows)
    assert not [n for n in page_nodes(page, proser, Chunker(320, 40, False), "h") if n.metadata["unit"]]
