"""The row lane (core.rows, query.answer.row_lane): one row of a long table on a page
about many things is found by itself, resolved to its section, and the extractive answer
leads with it, not with the table's other rows."""

from __future__ import annotations

from query.answer.engine import Engine
from ingest.run import ingest
from tests.answer.test_small_units import ACTIONS, PAGE, PROSE
from tests.helpers import make_settings

# A page about many things: prose on saving, printing and windows before the long table.
INTRO = ("<h2 id=\"about\">편집기 사용</h2><p>편집기는 문서를 만들고 고치는 프로그램입니다. 문서를 저장하고 인쇄하고 "
         "여러 창에서 동시에 열 수 있습니다. 설정 대화 상자에서 글꼴과 색을 바꿀 수 있습니다.</p>")
QUESTION = "문서를 다른 이름으로 저장하려면 어떻게 해요?"


def _manual(root):
    root.mkdir(parents=True)
    rows = "\n".join(f"<tr><td>{key}</td><td>{action}</td></tr>" for key, action in ACTIONS)
    page = PAGE.format(rows=rows).replace('<h1 id="keys">편집기 단축키</h1>', '<h1 id="keys">편집기 단축키</h1>' + INTRO
                                          + '<h2 id="table">단축키 표</h2>')
    (root / "keys.html").write_text(page, encoding="utf-8")
    for name, heading, text in PROSE:
        (root / name).write_text(f'<html lang="ko"><head><title>{heading}</title></head><body><h1 id="x">{heading}</h1>'
                                 f"<p>{text}</p></body></html>", encoding="utf-8")
    return root


def _ask(tmp_path, row_lane: float) -> dict:
    settings = make_settings(tmp_path / "storage", row_lane=row_lane)
    assert ingest([_manual(tmp_path / "manuals")], settings, progress=False).files.failed == 0
    return Engine(settings).ask(QUESTION, use_llm=False).contract()


def test_one_row_of_a_long_table_is_found_and_its_line_leads_the_answer(tmp_path):
    result = _ask(tmp_path, 1.0)
    paths = [s["path"] for s in result["sources"]]
    assert "keys.html" in paths
    first = result["answer"].split("\n")[0]
    assert "Ctrl+Shift+S" in first and "다른 이름으로 저장" in first, result["answer"]
