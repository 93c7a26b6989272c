"""How long the extractive answer is: three lines, and up to two more while they score as
well as the third (query.answer.extractive's ANSWER_LINES, MORE_LINES, MORE_MARGIN).

When the first source is the wrong section, the line that answers is a lower source's and
often the fourth best: a fixed three lines cut it off. Lines that score far below the third
(a source about something else) still stay out, so a clear answer stays short."""

from __future__ import annotations

from dataclasses import replace

from core.embedding import get_embed_model
from query.answer.extractive import WEIGHTS, extractive_answer
from tests.helpers import ranked_sections

CODES_KO = """손님 와이파이 › 접속 코드
손님 와이파이 접속 코드로 방문객이 손님 와이파이에 접속합니다.
손님 와이파이 접속 코드는 휴대폰, 태블릿, 노트북에서 모두 쓸 수 있습니다.
손님 와이파이 접속 코드는 공유기 화면과 앱에 표시됩니다.
손님 와이파이 접속 코드는 여섯 자리 숫자입니다."""

PRINTED_KO = """손님 와이파이 › 인쇄한 코드
인쇄한 손님 코드는 인쇄한 날 자정에 만료됩니다."""

SCHEDULES_KO = """자녀 보호 › 예약
예약을 걸면 정해진 시간에 선택한 기기의 인터넷이 꺼집니다.
예약은 공유기 앱의 가족 메뉴에서 설정합니다."""

QUESTION = "손님 와이파이 코드는 언제까지 써요?"
FACT = "자정에 만료됩니다. [2]"


def _lines(answer: str) -> list[str]:
    return answer.split("\n")


def test_a_lower_sources_line_scoring_like_the_third_is_shown(settings) -> None:
    """The first source says everything about the codes but how long they last; the second
    says that, in fewer of the question's words. It scores fourth, close to the third line."""
    sections = ranked_sections(CODES_KO, PRINTED_KO, SCHEDULES_KO)
    answer = extractive_answer(QUESTION, sections, get_embed_model(settings))
    assert FACT in answer, answer
    three = extractive_answer(QUESTION, sections, get_embed_model(settings), weights=replace(WEIGHTS, more_lines=0))
    assert FACT not in three and len(_lines(three)) == 3, three


def test_lines_far_below_the_third_stay_out(settings) -> None:
    """The third source (parental schedules) shares a word or two and scores well below:
    the answer stops at four lines instead of filling five."""
    sections = ranked_sections(CODES_KO, PRINTED_KO, SCHEDULES_KO)
    answer = extractive_answer(QUESTION, sections, get_embed_model(settings))
    assert len(_lines(answer)) == 4 and "[3]" not in answer, answer
    filled = extractive_answer(QUESTION, sections, get_embed_model(settings), weights=replace(WEIGHTS, more_margin=99.0))
    assert len(_lines(filled)) == 5 and "[3]" in filled, filled
