"""Numbers as callers say them and agents type them (issue 19): Korean numerals, full-width
digits, look-alike letters, a number broken across two lines. Each is redacted where it
stands (the original characters are replaced), and none reaches the query log, the
sessions database, the answer cache or the LLM endpoint."""

from __future__ import annotations

import httpx
import pytest

from query.pii import detect, redact
from tests.live_server import sse_events
from tests.desk.test_desk_log import _dump, llm_desk  # noqa: F401  (fixture)

FORMS = [
    ("주민번호 팔오공일공칠-일칠칠오삼삼일 고객", "주민번호 <주민등록번호> 고객"),
    ("연락처 ０１０－２２３６－０６７９ 로 회신", "연락처 <전화번호> 로 회신"),
    ("공일공-이육사오-칠칠일일 번호로 문자", "<전화번호> 번호로 문자"),
    ("콜백 번호 공1공-3O5O-6789 입니다", "콜백 번호 <전화번호> 입니다"),
    ("연락처 010-2236-\n0679 입니다", "연락처 <전화번호> 입니다"),
    ("카드번호 4111 1111 1111\n1111 로 결제", "카드번호 <카드번호> 로 결제"),
    ("카드 사일일일 일일일일 일일일일 일일일일 결제 취소", "카드 <카드번호> 결제 취소"),
    ("번호는 공일공-이육사오-칠칠일일이에요", "번호는 <전화번호>이에요"),  # 이에요 is the copula
    ("제 번호는 공일공 구팔칠육 오사삼이에요", "제 번호는 <전화번호>에요"),  # ...and here 이 is a 2
    ("call me at O1O-2236-O679 please", "call me at <PHONE> please"),
]


@pytest.mark.parametrize(("text", "expected"), FORMS, ids=[
    "rrn-numerals", "phone-full-width", "phone-numerals", "phone-mixed", "phone-two-lines", "card-two-lines",
    "card-numerals", "copula-after-7711", "copula-or-digit-2", "phone-look-alikes"])
def test_typed_and_spoken_forms_are_redacted_in_place(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "일이삼 단계를 차례로 진행한 뒤 사용 설정을 마칩니다.",
    "이사 일정이 정해지면 오일 교환 예약과 공사 일정을 함께 잡으세요.",
    "이사 오일 구이 사이 공사 일이 삼일 사일 오일 구일 일정",
    "오류 코드 IO-1010 이 표시되면 전원을 다시 켭니다.",
    "일련번호 SN-2O24-0315-7788 은 본체 뒷면에 있습니다",
    "전화 상담: 1588-0010\n평일 09:00-18:00",
    "Listen 80\nListen 443\nListen 8080",
], ids=["counting", "numeral-words", "numeral-words-spaced", "product-code", "serial-look-alikes",
        "service-number-then-hours", "config-lines"])
def test_prose_with_numeral_syllables_stays(text):
    assert detect(text) == [] and redact(text) == text


SPOKEN_RRN, FULL_WIDTH, SPOKEN_PHONE, MIXED = ("팔오공일공칠-일칠칠오삼삼일", "０１０－２２３６－０６７９",
                                              "공일공-이육사오-칠칠일일", "공1공-3O5O-6789")
SECRETS = (SPOKEN_RRN, "850107-1775331", "8501071775331", "일칠칠오삼삼일", FULL_WIDTH, "２２３６－０６７９",
           "010-2236-0679", "2236-0679", SPOKEN_PHONE, "이육사오-칠칠일일", "010-2645-7711", "2645-7711",
           MIXED, "3O5O-6789", "010-3050-6789", "4111 1111 1111", "4111111111111111", "1111\n1111")


def test_no_trace_of_the_new_forms_through_the_server(llm_desk):  # noqa: F811
    url, stub, log, base = llm_desk
    stub.requests.clear()
    question = (f"고객 주민번호 {SPOKEN_RRN}, 연락처 {FULL_WIDTH} 인데 1년 안에 인터넷을 해지하면 위약금이 "
                f"얼마인가요? 카드번호 4111 1111 1111\n1111")
    with httpx.stream("POST", url + "/api/ask/stream", json={"question": question}, timeout=30) as response:
        events = list(sse_events(response))
    first = events[-1][1]
    assert events[-1][0] == "done" and first["question"] == question  # the agent sees what was asked
    follow = f"그럼 2년 넘게 쓰면요? 번호는 {SPOKEN_PHONE}, 예비 {MIXED}"
    second = httpx.post(url + "/api/ask", json={"question": follow, "session_id": first["session_id"]}, timeout=30)
    assert second.status_code == 200
    chat = httpx.post(url + "/v1/chat/completions", timeout=30, json={"model": "manual-qa", "messages": [
        {"role": "user", "content": question}, {"role": "assistant", "content": "위약금은 138,000원입니다 [1]."},
        {"role": "user", "content": follow}]})
    assert chat.status_code == 200
    assert log.flush() == []

    sent = " ".join(str(m["content"]) for r in stub.requests if "messages" in r for m in r["messages"])
    places = {"LLM requests": sent, "log": _dump(base / "querylog.sqlite"), "cache": _dump(base / "answers.sqlite"),
              "sessions": _dump(base / "sessions.sqlite")}
    for name, dump in places.items():
        assert "<주민등록번호>" in dump and "<전화번호>" in dump and "<카드번호>" in dump, name
        for secret in SECRETS:
            assert secret not in dump, f"{secret!r} found in the {name}"
