"""The row lane (core.rows, query.answer.row_lane): one row of a long table on a page
about many things is found by itself, resolved to its section, and the extractive answer
leads with it, not with the table's other rows."""

from __future__ import annotations

from query.answer.engine import Engine
from ingest.run import ingest
from tests.helpers import make_settings

ACTIONS = [
    ("Ctrl+N", "새 문서 만들기"), ("Ctrl+O", "문서 열기"), ("Ctrl+W", "창 닫기"), ("Ctrl+P", "인쇄하기"),
    ("Ctrl+Z", "실행 취소"), ("Ctrl+Y", "다시 실행"), ("Ctrl+X", "잘라내기"), ("Ctrl+C", "복사하기"),
    ("Ctrl+V", "붙여넣기"), ("Ctrl+A", "모두 선택"), ("Ctrl+F", "찾기"), ("Ctrl+H", "바꾸기"),
    ("Ctrl+G", "줄로 이동"), ("Ctrl+B", "굵게"), ("Ctrl+I", "기울임"), ("Ctrl+U", "밑줄"),
    ("Ctrl+E", "가운데 정렬"), ("Ctrl+L", "왼쪽 정렬"), ("Ctrl+R", "오른쪽 정렬"), ("Ctrl+K", "링크 넣기"),
    ("Ctrl+D", "글꼴 대화 상자"), ("Ctrl+M", "들여쓰기"), ("Ctrl+T", "내어쓰기"), ("Ctrl+Q", "프로그램 끝내기"),
    ("F1", "도움말 보기"), ("F5", "새로 고침"), ("F7", "맞춤법 검사"), ("F11", "전체 화면"),
    ("Ctrl+Shift+N", "새 창 열기"), ("Ctrl+Shift+P", "인쇄 미리 보기"),
    ("Ctrl+Shift+L", "글머리 기호 목록"), ("Ctrl+Shift+F", "글꼴 바꾸기"), ("Ctrl+Shift+Z", "모두 다시 실행"),
] + [(f"Alt+{n}", f"{n}번 탭으로 이동") for n in range(1, 10)]
# The asked row deep in a chunk of twenty rows: read from the table's chunk, the answer
# looks only at a section's first lines and quotes other rows.
ACTIONS.insert(17, ("Ctrl+Shift+S", "다른 이름으로 저장"))

PAGE = """<html lang="ko"><head><title>편집기 단축키</title></head><body>
<h1 id="keys">편집기 단축키</h1>
<p>이 페이지는 편집기에서 쓰는 모든 단축키를 정리합니다. 단축키는 메뉴와 같은 일을 합니다.</p>
<table><caption>표 1. 단축키 목록</caption>
<tr><th>단축키</th><th>기능</th></tr>
{rows}
</table></body></html>"""

# Pages that share the question's words in prose: each outweighs a chunk of twenty rows.
PROSE = [
    ("rename.html", "파일 이름 바꾸기", "파일을 다른 이름으로 바꾸려면 파일 관리자에서 이름 바꾸기를 고릅니다. 다른 이름이 이미 있으면 번호가 붙습니다."),
    ("export.html", "다른 형식으로 내보내기", "문서를 다른 형식으로 저장하려면 내보내기 대화 상자에서 형식과 이름을 고릅니다."),
    ("autosave.html", "자동 저장", "자동 저장은 몇 분마다 문서를 임시 이름으로 저장합니다. 저장 간격은 설정에서 바꿉니다."),
    ("versions.html", "버전 저장", "버전 저장을 켜면 저장할 때마다 이전 내용이 다른 이름의 버전으로 남습니다."),
]


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
    urls = [s["url"] for s in result["sources"]]
    assert urls[0] == "keys.html#table", urls  # the table's section, not the page's intro or the prose pages
    first = result["answer"].split("\n")[0]
    assert "Ctrl+Shift+S" in first and "다른 이름으로 저장" in first, result["answer"]
