"""The extractive answer holds the fact when the manual puts it next to the line that
matches the question: the fix after the symptom ("How to tell: ..." / "How to fix: ...";
"... 나오지 않는 경우가 있습니다." / "이때 ..."), the note after an example line ("Note that
... must be ..."), the advice for "should I / 써도 되나요" ("... 권장하지 않으며"), the way for "how do I"
("If you want to ..., dial ...", "...려면"), the limit for "when / 어떤 경우에" ("only when",
"경우에만"), the amount
for "how much do I pay / 얼마를 내야", each side's defining item for "the difference between
A and B", the third line of the best-ranked section; and no picture or figure caption takes
a slot. Each fixture's best-matching line restates the question and says nothing, so these
tests fail when the mechanism is switched off (query.extractive's FOLLOW_CHARS,
ADVICE_BONUS, MONEY_BONUS, PURPOSE_BONUS or CONDITION_BONUS set to 0, TOP_SOURCE_LINES to SOURCE_LINES, SIDE_DEFINES to
False, _NOTE_ON_EXAMPLE or _FIGURE matching nothing): the last test checks that."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

import query.answer.extractive as extractive
from core.embedding import get_embed_model
from query.answer.extractive import WEIGHTS, Weights, extractive_answer, units
from query.answer.question_kind import question_kind
from query.answer.sections import Section
from tests.helpers import ranked_sections

WIFI = """Troubleshooting › Router › Wi-Fi network missing
How to tell: After a power cut the router's lights are on, but phones and laptops no longer find the Wi-Fi network.
How to fix: Hold the WPS button on the back of the router for ten seconds, until the light blinks blue.
The Wi-Fi network name and password are printed on the label under the router."""

SCREEN_KO = """문제 해결 › 셋톱박스 › 화면이 나오지 않음
셋톱박스 전원을 켰는데도 TV 화면에 아무것도 나오지 않는 경우가 있습니다.
이때 리모컨의 [입력] 버튼을 눌러 TV 입력을 HDMI 1로 바꿉니다.
셋톱박스 전면의 표시등은 정상일 때 초록색입니다."""

REBOOT = """Maintenance › Scheduled restart
The set-top box can restart itself every night so that updates take effect. To restart it at 03:00, add this line to the device settings file:
AutoReboot 03:00
Note that the scheduler service must be switched on for these settings to have any effect.
Restarts are listed in the maintenance log."""

PANEL = """Router › Back panel
[Router back panel with the reset button]
Figure 3.2. Router back panel with the reset button
The reset button sits in a small hole between the power socket and the WAN port; press it with a paper clip for five seconds.
The router restarts with the factory settings afterwards."""


WIDTH_KO = """공유기 › 와이파이 › 채널 폭
160MHz 채널 폭을 쓰면 같은 방에 있는 노트북과 휴대폰의 와이파이 속도가 두 배로 빨라집니다.
아파트처럼 이웃 공유기가 많은 곳에서는 160MHz 채널을 권장하지 않으며, 80MHz로 두세요.
채널 폭은 공유기 앱의 와이파이 메뉴에서 바꿉니다."""
ADVICE_Q = "와이파이 빠르게 160MHz 채널 폭 써도 괜찮을까요?"


LOST = """Rental equipment › Lost or damaged equipment
Remote controls are replaced by courier within two days.
Voice remote HB-RC7: KRW 9,900.
Wi-Fi router HB-AX3000: KRW 64,900."""
LOST_KO = """임대 장비 › 분실·훼손
장비는 회사 소유이며 잃어버리면 고객에게 청구됩니다.
음성인식 리모컨 HB-RC7: 9,900원.
와이파이 공유기 HB-AX3000: 64,900원."""
PRICE_QS = [("a customer lost the remote control, how much does the customer pay?", LOST, "KRW 9,900"),
            ("고객이 리모컨을 잃어버렸는데 얼마를 내야 하나요?", LOST_KO, "9,900원")]


BILL = """Billing › Paying the bill
Customers pay the monthly bill by bank transfer, by card or by automatic debit.
The monthly bill is sent on the 1st and must be paid by the 20th of the month.
A bill paid after the 20th gets a surcharge of 2% on the following invoice."""
BILL_APP = """Billing › Reading the bill
Bills can also be read in the mobile app."""
BILL_KO = """요금 › 납부
고객은 매달 청구서를 계좌 이체, 카드 또는 자동 이체로 냅니다.
청구서는 매달 1일에 나가며 20일까지 내야 합니다.
20일이 지나서 낸 청구서에는 다음 달에 2%가 더해집니다."""
BILL_APP_KO = """요금 › 청구서 보기
청구서는 모바일 앱에서도 볼 수 있습니다."""
LATE_QS = [("what happens if the customer pays the monthly bill late?", (BILL, BILL_APP), "surcharge of 2%"),
           ("청구서를 늦게 내면 어떻게 되나요?", (BILL_KO, BILL_APP_KO), "2%가 더해집니다")]


RESET = """Device › Restart and reset
After a restart, the difference is that the remote control keeps working without pairing.
After a reset, the difference is that the customer gets a new password for the device.
• restart - the device switches off and on again; settings and recordings are kept.
• reset - the device erases all settings and recordings and starts like a new one."""
RESET_KO = """장치 › 재시작과 초기화
재시작 후에 다른 점은 리모컨을 다시 연결하지 않아도 된다는 것입니다.
초기화 후에 다른 점은 고객이 새 비밀번호를 받는다는 것입니다.
• 재시작: 장치를 껐다가 다시 켭니다. 설정과 녹화물은 그대로 남습니다.
• 초기화: 모든 설정과 녹화물을 지우고 새 제품처럼 시작합니다."""
SIDE_QS = [("what is the difference between restart and reset?", RESET, ("• restart - ", "• reset - ")),
           ("재시작과 초기화는 뭐가 달라요?", RESET_KO, ("• 재시작: ", "• 초기화: "))]


GREETING = """Voicemail › Greeting
When a caller reaches the voicemail, the standard greeting is played before the tone.
If you want to use your own greeting message, dial 123, press 3 and speak after the tone.
Greetings can be up to 60 seconds long."""
GREETING_KO = """음성사서함 › 인사말
전화가 음성사서함으로 넘어가면 삐 소리 전에 인사말이 나옵니다.
기본 인사말 대신 내 인사말을 쓰려면 123번으로 전화해 3번을 누르고 삐 소리 후에 말합니다.
인사말은 60초까지 녹음할 수 있습니다."""
PURPOSE_QS = [("how do I change my voicemail greeting?", GREETING, "dial 123, press 3"),
              ("음성사서함 인사말을 바꾸려면 어떻게 하나요?", GREETING_KO, "123번으로 전화해 3번을")]


ROAMING = """Mobile › Roaming › Data
Data roaming lets the phone use the internet on partner networks abroad at the roaming rate.
The phone turns data roaming on only when the customer has bought a pass.
Roaming charges appear on the next monthly bill."""
ROAMING_KO = """모바일 › 로밍 › 데이터
데이터 로밍을 쓰면 해외 제휴 통신망에서 로밍 요금으로 인터넷을 쓸 수 있습니다.
해외에서 데이터 로밍은 고객이 로밍 패스를 산 경우에만 켜집니다.
로밍 요금은 다음 달 청구서에 나옵니다."""
CONDITION_QS = [("when does data roaming turn on abroad?", ROAMING, "only when the customer has bought a pass"),
                ("해외에서 인터넷 데이터 로밍은 어떤 경우에 켜지나요?", ROAMING_KO, "로밍 패스를 산 경우에만")]


def _sections(text: str) -> list[Section]:
    node = TextNode(text=text, metadata={"path": "guide.html", "anchor": "a", "heading": text.split("\n")[0]})
    return [Section("guide.html#a", [NodeWithScore(node=node, score=1.0)], 1.0)]


def _first(question: str, text: str, settings, weights: Weights = WEIGHTS) -> tuple[str, str]:
    answer = extractive_answer(question, _sections(text), get_embed_model(settings), weights=weights)
    return answer.split(" [1]\n")[0], answer


def test_the_fix_after_the_symptom_is_shown_with_it(settings) -> None:
    first, answer = _first("my phone can't find the wifi network any more after a power cut, the router lights are on",
                           WIFI, settings)
    assert "How to fix: Hold the WPS button" in first, answer


def test_a_korean_follow_up_sentence_is_shown_with_the_one_it_continues(settings) -> None:
    first, answer = _first("셋톱박스를 켰는데 TV 화면에 아무것도 안 나와요", SCREEN_KO, settings)
    assert "[입력] 버튼을 눌러" in first, answer


def test_the_note_after_an_example_line_is_shown_with_it(settings) -> None:
    first, answer = _first("I added AutoReboot 03:00 to the device settings file but the box never restarts at night, "
                           "what am I missing?", REBOOT, settings)
    assert "scheduler service must be switched on" in first, answer


def test_pictures_and_figure_captions_take_no_slot(settings) -> None:
    first, answer = _first("where is the reset button on the router back panel?", PANEL, settings)
    assert "paper clip" in first, answer
    assert "Figure 3.2" not in answer and "[Router back panel" not in answer, answer


def test_a_question_asking_for_advice_is_answered_by_the_advice(settings) -> None:
    """The sentence describing what the setting does shares more of the question's words;
    the one advising against it is what was asked."""
    first, answer = _first(ADVICE_Q, WIDTH_KO, settings)
    assert "권장하지 않으며" in first, answer


def test_condition_questions_are_told_from_others() -> None:
    assert question_kind("In which case does the box restart by itself?").condition
    assert question_kind("데이터 로밍은 어떤 경우에 켜지나요?").condition
    assert not question_kind("How do I restart the box?").condition
    assert not question_kind("셋톱박스를 다시 켜려면 어떻게 하나요?").condition


def test_advice_questions_are_told_from_others() -> None:
    assert question_kind("is it a good idea to convert photos to indexed mode?").advice
    assert question_kind("Should I ask on the user mailing list?").advice
    assert question_kind("릴리스를 올릴 때 그 도구를 써도 되나요?").advice
    assert question_kind("콘솔에서 쓸 추천 도구").advice
    assert not question_kind("How do I reset the router?").advice
    assert not question_kind("셋톱박스 배상금이 얼마예요?").advice


@pytest.mark.parametrize("question,text,price", PRICE_QS)
def test_a_price_question_is_answered_by_the_amount(settings, question, text, price) -> None:
    """"How much do I pay / 얼마를 내야" wants the row with the amount, not the sentence
    about the same thing that names no price."""
    first, answer = _first(question, text, settings)
    assert price in first, answer


@pytest.mark.parametrize("question,texts,fact", LATE_QS)
def test_the_best_ranked_section_may_give_all_three_lines(settings, question, texts, fact) -> None:
    """The first section's third line states the fact; a weak line from the second section
    must not take its place (it may follow, as a fourth line scoring close to it)."""
    answer = extractive_answer(question, ranked_sections(*texts), get_embed_model(settings))
    first_three = "\n".join(answer.split("\n")[:3])
    assert fact in first_three and "[2]" not in first_three, answer


@pytest.mark.parametrize("question,text,items", SIDE_QS)
def test_a_comparison_leads_with_the_items_defining_each_side(settings, question, text, items) -> None:
    """Sentences mentioning a side in passing share more words with "what is the difference";
    the list items that define each side are what the reader compares."""
    answer = extractive_answer(question, _sections(text), get_embed_model(settings))
    entries = answer.split(" [1]\n")
    assert {entries[0][:len(items[0])], entries[1][:len(items[1])]} == set(items), answer


@pytest.mark.parametrize("question,text,way", PURPOSE_QS)
def test_how_do_i_leads_with_the_sentence_stating_the_purpose(settings, question, text, way) -> None:
    first, answer = _first(question, text, settings)
    assert way in first, answer


def test_a_sentence_about_a_figure_is_kept() -> None:
    """Only a caption ("Figure 3.2. Back panel") or a picture's text alone on its line goes."""
    kept = [u.text for u in units("A › B\nFigure 3.2. Back panel\nFigure 3 shows the reset button.\n[Back panel]")]
    assert kept == ["Figure 3 shows the reset button."], kept


@pytest.mark.parametrize("question,text,limit", CONDITION_QS)
def test_in_which_case_leads_with_the_sentence_stating_the_limit(settings, question, text, limit) -> None:
    first, answer = _first(question, text, settings)
    assert limit in first, answer


def test_only_a_complete_short_follow_up_is_added() -> None:
    """A follow-up cut off by a command ("대신 쓸 명령") or one that never ends is not glued on."""
    shown = [u.shown for u in units("A › B\nThe service starts at boot.\nInstead, the command\nsvc stop x")]
    assert shown[0] == "The service starts at boot.", shown


def test_an_example_after_a_plain_sentence_is_shown_with_it(monkeypatch) -> None:
    """A paragraph ending in a plain sentence, then the command: the sentence is shown with it
    (EXAMPLE_AFTER_ANY_SENTENCE), where only a sentence ending in ":" or saying "다음" was."""
    text = ("설치 › 수동 설치\npool에서 deb 파일을 내려받아 작업 폴더에 복사하고 파일을 추출합니다. "
            "파일을 설치하려면 root 권한이 필요할 수도 있습니다.\n# ar -x tool_1.0_all.deb\n작업 폴더는 나중에 지워도 됩니다.")

    def shown_together() -> bool:
        return any("root 권한" in u.shown and "ar -x tool_1.0_all.deb" in u.shown for u in units(text))

    assert shown_together()
    monkeypatch.setattr(extractive, "EXAMPLE_AFTER_ANY_SENTENCE", False)
    assert not shown_together()


@pytest.mark.parametrize("switch", ["FOLLOW_CHARS", "_NOTE_ON_EXAMPLE", "_FIGURE", "ADVICE_BONUS", "MONEY_BONUS", "TOP_SOURCE_LINES", "SIDE_DEFINES", "PURPOSE_BONUS", "CONDITION_BONUS"])
def test_each_mechanism_is_what_the_tests_measure(settings, monkeypatch, switch) -> None:
    """Switched off, the matching test above fails: the fixtures do need the mechanism.
    Weights are switched off by passing a variant of `Weights`; the unit-splitting rules
    (FOLLOW_CHARS and two patterns) are still module constants."""
    weights = {"ADVICE_BONUS": replace(WEIGHTS, advice_bonus=0), "MONEY_BONUS": replace(WEIGHTS, money_bonus=0),
               "PURPOSE_BONUS": replace(WEIGHTS, purpose_bonus=0), "CONDITION_BONUS": replace(WEIGHTS, condition_bonus=0),
               "TOP_SOURCE_LINES": replace(WEIGHTS, top_source_lines=WEIGHTS.source_lines),
               # (a side's defining item is also an entry defining a term the question names)
               "SIDE_DEFINES": replace(WEIGHTS, side_defines=False, named_entry_bonus=0)}.get(switch, WEIGHTS)
    if switch in ("FOLLOW_CHARS", "_NOTE_ON_EXAMPLE", "_FIGURE"):
        monkeypatch.setattr(extractive, switch, 0 if switch == "FOLLOW_CHARS" else re.compile(r"(?!)"))
    if switch == "TOP_SOURCE_LINES":
        for question, texts, fact in LATE_QS:
            assert fact not in extractive_answer(question, ranked_sections(*texts), get_embed_model(settings), weights=weights)
        return
    if switch == "SIDE_DEFINES":
        for question, text, items in SIDE_QS:
            first = extractive_answer(question, _sections(text), get_embed_model(settings),
                                      weights=weights).split(" [1]\n")[0]
            assert not first.startswith(items), first
        return
    cases = {
        "FOLLOW_CHARS": [("my phone can't find the wifi network any more after a power cut, the router lights are on",
                          WIFI, "How to fix: Hold the WPS button"),
                         ("셋톱박스를 켰는데 TV 화면에 아무것도 안 나와요", SCREEN_KO, "[입력] 버튼을 눌러")],
        "_NOTE_ON_EXAMPLE": [("I added AutoReboot 03:00 to the device settings file but the box never restarts at "
                              "night, what am I missing?", REBOOT, "scheduler service must be switched on")],
        "_FIGURE": [("where is the reset button on the router back panel?", PANEL, "paper clip")],
        "ADVICE_BONUS": [(ADVICE_Q, WIDTH_KO, "권장하지 않으며")],
        "MONEY_BONUS": PRICE_QS,
        "PURPOSE_BONUS": PURPOSE_QS,
        "CONDITION_BONUS": CONDITION_QS,
    }[switch]
    for question, text, fact in cases:
        first, _ = _first(question, text, settings, weights)
        assert fact not in first
