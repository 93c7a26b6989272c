"""The extractive answer leads with the table row a question asks for, from the table's own
labels in any language, or from a field profile (a data file) when the question does not
name the label."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from core.embedding import get_embed_model
from query.answer.extractive import extractive_answer
from query.answer.fields import load_profile
from query.answer.sections import Section

SHEET = """Plans › Basic 5G › Plan sheet
The Basic 5G plan suits customers who mostly use messaging and maps, and its fee is lower than the Max plan's.
Customers who exceed the data allowance keep browsing at a reduced speed.
Monthly fee: KRW 33,000
Data allowance: 10 GB
Contract term: 24 months
Warranty cover: device repairs for 12 months"""

SHEET_KO = """요금제 › 베이직 5G › 요금표
베이직 5G 요금제는 메신저와 지도를 주로 쓰는 고객에게 알맞고, 맥스 요금제보다 요금 부담이 적습니다.
데이터를 다 쓰면 느린 속도로 계속 이용할 수 있습니다.
월 요금: 33,000원
데이터 제공량: 10GB
약정 기간: 24개월"""


def _sections(text: str) -> list[Section]:
    node = TextNode(text=text, metadata={"path": "plans.html", "anchor": "basic", "heading": text.split("\n")[0]})
    return [Section("plans.html#basic", [NodeWithScore(node=node, score=1.0)], 1.0)]


@pytest.mark.parametrize(("question", "fact"), [
    ("What is the contract term for customers who mostly use messaging and maps on the Basic 5G plan?",
     "Contract term: 24 months"),
    ("Which data allowance do customers who exceed it and keep browsing at a reduced speed have on Basic 5G?",
     "Data allowance: 10 GB"),
])
def test_a_label_the_question_names_leads_the_answer(settings, question: str, fact: str) -> None:
    answer = extractive_answer(question, _sections(SHEET), get_embed_model(settings))
    assert answer.split("\n")[0].startswith(fact)


def test_a_korean_label_the_question_names_leads_the_answer(settings) -> None:
    answer = extractive_answer("메신저와 지도를 주로 쓰는 고객에게 알맞은 베이직 5G 요금제의 약정 기간은 어떻게 되나요?", _sections(SHEET_KO), get_embed_model(settings))
    assert answer.split("\n")[0].startswith("약정 기간: 24개월")


def test_the_asked_row_after_a_long_list_still_leads(settings) -> None:
    """A list longer than a section's share of candidate sentences comes before the plan
    sheet: the asked row is read all the same."""
    regions = "\n".join(f"• Region {n}: roaming partner network number {n}" for n in range(1, 15))
    text = f"Roaming › Partner networks\nThe plan roams on these partner networks abroad:\n{regions}\nMonthly fee: KRW 9,900"
    answer = extractive_answer("What is the monthly fee of roaming on partner networks abroad?", _sections(text),
                               get_embed_model(settings))
    assert answer.split("\n")[0].startswith("Monthly fee: KRW 9,900"), answer


def test_a_field_profile_maps_wording_to_a_label_the_question_does_not_name(settings, tmp_path: Path) -> None:
    question = "How long are repairs free for customers who mostly use messaging and maps on Basic 5G?"
    profile_file = tmp_path / "profile.json"
    profile_file.write_text(json.dumps({"fields": [
        {"name": "warranty", "asks": [r"how long .* free", "repairs"], "labels": ["warranty cover"]}]}))
    profile = load_profile(str(profile_file))
    answer = extractive_answer(question, _sections(SHEET), get_embed_model(settings), profile=profile)
    assert answer.split("\n")[0].startswith("Warranty cover: device repairs for 12 months")


def test_a_broken_profile_is_reported_by_name(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"fields": [{"asks": ["("], "labels": []}]}')
    with pytest.raises(ValueError, match="broken.json"):
        load_profile(str(broken))
