""""Where is X / which menu / how do I open X / 어디서 바꾸나요 / 사라졌어요" is answered by the
line stating the menu path ("Settings > Wireless > Guest Network", "서식 - 문자 - 글꼴 효과 탭을
선택합니다"), which shares few words with a question asked in everyday words. Each fixture's
best-matching line restates the question and says nothing about where to go, so the answer
tests fail with the mechanism off (`Weights.path_bonus` 0): the last test checks that.
The fixtures are invented (a router's web interface, a billing portal, an office suite)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.embedding import get_embed_model
from query.answer.extractive import WEIGHTS, Unit, Weights, _kind_bonus, extractive_answer
from query.answer.question_kind import question_kind, states_path
from tests.helpers import ranked_sections

GUEST = """Router › Wireless › Guest network
The guest network gives visitors Internet access without access to your own computers and printers.
Visitors on the guest network can be limited to a number of hours, after which they must ask again.
Open Settings > Wireless > Guest Network in the web interface and switch it on.
Up to eight guests can be connected at the same time."""

INVOICES = """Billing portal › Invoices
Invoices are issued on the first day of each month and list every charge of the previous month.
Invoices older than two years are archived and sent by the support team on request.
Choose Account ▸ Billing ▸ Invoice History, then click the month.
Each invoice can be paid by card or by bank transfer."""

STYLES = """Writer › Styles › The Styles panel
The Styles panel lists the paragraph, character and page styles of the open document.
Double-clicking a style in the Styles panel applies it to the selected text.
Choose View - Styles to show it at the right of the window.
Styles you create are saved with the document."""

COLOUR_KO = """서식 › 글자 › 글자 색
글자 색은 문서의 제목과 본문을 구분하거나 중요한 내용을 강조할 때 바꿉니다.
바꾼 글자 색은 인쇄할 때도 화면과 같은 색으로 나옵니다.
서식 - 문자 - 글꼴 효과 탭을 선택한 뒤 목록에서 고릅니다.
새 문서의 기본 글자 색은 검정입니다."""

PORTS_KO = """공유기 › 고급 설정 › 포트 포워딩
포트 포워딩은 외부에서 들어오는 연결을 집 안의 특정 기기로 보내 주는 설정입니다.
포트 포워딩 설정은 게임기나 NAS처럼 외부에서 들어가야 하는 기기에 필요합니다.
관리 화면에서 고급 > NAT > 가상 서버 메뉴로 들어갑니다.
규칙은 최대 32개까지 만들 수 있습니다."""

TOOLBAR_KO = """오피스 › 화면 › 도구 모음
도구 모음은 문서 창 위쪽에 있으며 자주 쓰는 명령을 단추로 모아 둔 곳입니다.
도구 모음이 화면에서 사라지면 자주 쓰는 명령을 단추로 쓸 수 없습니다.
보기 ▸ 도구 모음 ▸ 표준을 선택하면 다시 나타납니다.
도구 모음의 단추는 사용자가 바꿀 수 있습니다."""

PATH_QS = [
    ("Where do I switch on the guest network for visitors?", GUEST, "Settings > Wireless > Guest Network"),
    ("where can I find the invoices of previous months?", INVOICES, "Account ▸ Billing ▸ Invoice History"),
    ("How do I open the Styles panel?", STYLES, "View - Styles"),
    ("글자 색은 어디서 바꾸나요?", COLOUR_KO, "서식 - 문자 - 글꼴 효과"),
    ("포트 포워딩 설정하려면 어떤 메뉴로 들어가야 하나요?", PORTS_KO, "고급 > NAT > 가상 서버"),
    ("문서 위에 있던 도구 모음이 사라졌어요", TOOLBAR_KO, "보기 ▸ 도구 모음 ▸ 표준"),
]


def _entries(question: str, texts: tuple[str, ...], settings, weights: Weights = WEIGHTS) -> list[str]:
    answer = extractive_answer(question, ranked_sections(*texts), get_embed_model(settings), weights=weights)
    return [entry.rsplit(" [", 1)[0] for entry in answer.split("\n") if entry]


@pytest.mark.parametrize(("question", "text", "path"), PATH_QS)
def test_a_where_question_leads_with_the_menu_path(settings, question, text, path) -> None:
    entries = _entries(question, (text,), settings)
    assert path in entries[0], entries


def test_the_path_does_not_push_out_the_best_line(settings) -> None:
    """The line the scorer ranked first without the bonus is still in the answer."""
    for question, text, _ in PATH_QS:
        before = _entries(question, (text,), settings, replace(WEIGHTS, path_bonus=0))
        assert before[0] in _entries(question, (text,), settings), question


def test_only_the_best_sources_paths_gain(settings) -> None:
    """A lower source's path leads to another feature: the first source's line leads."""
    question = "where can I see how many guests are connected?"
    entries = _entries(question, (GUEST.replace("Open Settings > Wireless > Guest Network in the web interface and "
                                                "switch it on.\n", ""), INVOICES), settings)
    assert "eight guests" in entries[0] and not any("Invoice History" in e for e in entries), entries


@pytest.mark.parametrize(("question", "text"), [
    ("How many guests can use the guest network at once?", GUEST),
    ("How do I pay an invoice?", INVOICES),
    ("새 문서의 기본 글자 색은 무엇인가요?", COLOUR_KO),
    ("포트 포워딩 규칙은 몇 개까지 만들 수 있나요?", PORTS_KO),
])
def test_other_questions_are_answered_as_before(settings, question, text) -> None:
    """The bonus is for where-questions only: any other answer is the same with it off."""
    assert not question_kind(question).reach
    assert _entries(question, (text,), settings) == _entries(question, (text,), settings, replace(WEIGHTS, path_bonus=0))


@pytest.mark.parametrize("question", [
    "where do I find the indexed mode conversion?", "How do I open the layers dialog?", "Which menu has the page setup?",
    "The Tool Options dialog got closed by accident, how do I get it back?", "I can't find the export button",
    "글자 색은 어디서 바꾸나요?", "글꼴 효과를 바꾸려면 어떤 메뉴를 써야 하나요?", "레이어 창은 어떻게 여나요?",
    "도구 상자가 사라졌어요", "환경설정 창을 열려면?",
])
def test_where_and_how_to_reach_questions_are_recognised(question) -> None:
    assert question_kind(question).reach, question


@pytest.mark.parametrize("question", [
    "How do I enable compression?", "How much is the Basic plan a month?", "What is the difference between Eco and Turbo mode?",
    "데비안 코드명은 어디서 따온 건가요?", "셋톱박스를 다시 켜려면 어떻게 하나요?", "위약금은 얼마인가요?",
    "Which port does the server listen on by default?",
])
def test_other_questions_are_not_reach_questions(question) -> None:
    assert not question_kind(question).reach, question


@pytest.mark.parametrize("line", [
    "You can access this command from the menubar through Image → Mode → Indexed.",
    "Choose Format - Character - Font Effects tab.", "서식 - 문자를 선택합니다.", "메뉴 > 설정 > 환경설정",
    "도구 ▸ 옵션을 고릅니다.", "Open Edit › Preferences.", "Choose File | Settings.", "[도구] - [옵션]을 선택합니다.",
    "Go to Settings > Network.", "설정 > 네트워크 메뉴에서 바꿉니다.", "Select View » Toolbars.",
])
def test_a_menu_path_is_read_by_its_shape(line) -> None:
    assert states_path(line), line


@pytest.mark.parametrize("line", [
    "• purge - removes the package and its configuration files", "echo Hello > File", "Ctrl+C | Copy | Edit.",
    "cat /etc/passwd | grep root", "The Eco mode - which saves power - is the default.", "데비안 - 리눅스 배포판입니다.",
    "if (a > b) return", "Shift + C | Crop tool | Tools.", "Basic 5G - KRW 33,000 a month.", "x -> y", "a->b",
    "Monthly fee: KRW 33,000.", "데비안 10 - 버스터",
])
def test_dashes_pipes_and_redirections_are_not_paths(line) -> None:
    assert not states_path(line), line


def test_a_pages_breadcrumb_is_not_a_path() -> None:
    """The way through the manual ("Manual home > Products > Roaming" over "Roaming"), not
    through the program; an arrow path ending in the heading's words still counts."""
    assert not states_path("Manual home > Products > Roaming", "Roaming › Data abroad")
    assert not states_path("매뉴얼 홈 > 상품 안내 > 셋톱박스", "셋톱박스 이용 안내")
    assert states_path("Image → Mode → Indexed", "6.6. Indexed mode")
    assert states_path("설정 > 네트워크 메뉴에서 바꿉니다.", "네트워크")


def test_a_path_that_is_a_step_counts_once() -> None:
    """"How do I open ..." is both a how-do-I and a where question: a numbered step holding the
    path gains the steps' bonus, not the steps' and the path's together."""
    kind = question_kind("How do I open the Styles panel?")
    assert kind.process and kind.reach
    step = Unit("1. Choose View - Styles.", "1. Choose View - Styles.", steps=True)
    assert _kind_bonus(kind, step, WEIGHTS) == pytest.approx(WEIGHTS.steps_bonus)
    path = Unit("Choose View - Styles.", "Choose View - Styles.")
    assert _kind_bonus(kind, path, WEIGHTS) == pytest.approx(WEIGHTS.path_bonus)


def test_the_mechanism_is_what_the_tests_measure(settings) -> None:
    """Switched off (`path_bonus=0`), the where-questions above are answered by another line."""
    off = replace(WEIGHTS, path_bonus=0)
    for question, text, path in PATH_QS:
        assert path not in _entries(question, (text,), settings, off)[0], question
