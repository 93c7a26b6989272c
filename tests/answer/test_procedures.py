"""A how-to question is answered by the page that walks through it, not by the reference
page of the dialog it uses, even when that page shares more of the question's words
(query.answer.retrieve.HybridRetriever.credit_procedures)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.run import ingest
from query.answer.engine import Engine
from query.answer.question_kind import shows_steps
from tests.helpers import make_settings

PAGES = {
    "dialog.html": ("페이지 스타일 대화 상자",
                    "<p>페이지 스타일 대화 상자의 여백 탭에서는 왼쪽 여백, 오른쪽 여백, 위쪽 여백, 아래쪽 여백을 "
                    "밀리미터로 지정합니다. 여백 값은 문서의 모든 페이지에 적용되며, 여백 안쪽에 머리글과 바닥글이 "
                    "들어갑니다. 제본 여백은 여백 탭의 제본 항목에서 지정합니다.</p>"),
    "task.html": ("인쇄 가장자리 조정하기",
                  "<p>종이 가장자리에 남는 빈 공간의 크기를 조정합니다.</p><ol>"
                  "<li>서식 - 페이지 스타일을 선택합니다.</li><li>여백 탭을 누릅니다.</li>"
                  "<li>원하는 값을 입력하고 확인을 누릅니다.</li></ol>"),
    "paper.html": ("용지 크기", "<p>용지 크기는 페이지 스타일 대화 상자의 용지 탭에서 A4, Letter 가운데 고릅니다.</p>"),
    "fonts.html": ("글꼴 설치", "<p>새 글꼴은 글꼴 폴더에 복사하면 다음 실행부터 목록에 나타납니다.</p>"),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The four pages, ingested."""
    root = tmp_path_factory.mktemp("procedures")
    manuals = root / "manuals"
    manuals.mkdir()
    for name, (title, body) in PAGES.items():
        (manuals / name).write_text(f'<html lang="ko"><head><title>{title}</title></head><body>'
                                    f'<h1 id="top">{title}</h1>{body}</body></html>', encoding="utf-8")
    assert ingest([manuals], make_settings(root / "storage"), progress=False).files.failed == 0
    return root / "storage"


def _first_source(store: Path, question: str, **settings) -> str:
    return Engine(make_settings(store, **settings)).ask(question, use_llm=False).contract()["sources"][0]["path"]


def test_a_how_to_question_leads_with_the_page_of_steps(store):
    question = "여백을 바꾸려면 어떻게 하나요?"
    assert _first_source(store, question) == "task.html"
    # The dialog's page shares more of the question's words: without the procedure's
    # credit it comes first.
    assert _first_source(store, question, steps_weight=0) == "dialog.html"


def test_a_question_about_the_dialog_keeps_the_dialog_page_first(store):
    assert _first_source(store, "여백 탭에서는 어떤 여백을 지정하나요?") == "dialog.html"


def test_two_numbered_lines_make_a_procedure():
    assert shows_steps("Manual › Page\n1. Open Format.\n2. Choose Page Style.")
    assert not shows_steps("Manual › Page\n1. Introduction")  # a numbered heading alone
    assert not shows_steps("Version 2. Released in 2024. Costs 3. 000 won")  # numbers inside lines
