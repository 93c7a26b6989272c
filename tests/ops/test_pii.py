"""PII redaction: the typed placeholders, the service numbers kept, the test set's targets,
and no trace of a caller's numbers in the log, the answer cache or the LLM request."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from query.pii import detect, evaluate, load_cases, redact
from query.ops.querylog import open_log
from tests.answer.test_llm import llm_engine, store, stub  # noqa: F401  (fixtures)

CASES = Path(__file__).resolve().parent.parent.parent / "data" / "eval" / "pii_cases.jsonl"


def test_korean_text_gets_korean_placeholders():
    text = "주민번호 900101-1234568, 연락처 010-2345-6789, 카드 4111-1111-1111-1111 고객 위약금?"
    assert redact(text) == "주민번호 <주민등록번호>, 연락처 <전화번호>, 카드 <카드번호> 고객 위약금?"


def test_english_text_gets_english_placeholders():
    text = "SSN 123-45-6789, call (415) 555-0132 or mail john.doe@example.com"
    assert redact(text) == "SSN <SSN>, call <PHONE> or mail <EMAIL>"


def test_service_numbers_prices_and_dates_stay():
    text = "고객센터 114, 1588-0010, 수신자부담 080-123-4567. 이전 설치비 22,000원 (2026-03-01 시행)"
    assert detect(text) == [] and redact(text) == text


def test_bank_account_needs_a_banking_word():
    assert redact("환불 계좌: 신한 110-123-456789") == "환불 계좌: 신한 <계좌번호>"
    assert redact("문서번호 110-123-456789 참조") == "문서번호 110-123-456789 참조"


def test_checksums_decide_cards_and_business_numbers():
    assert redact("카드 4111-1111-1111-1112") == "카드 4111-1111-1111-1112"  # fails Luhn
    assert redact("사업자등록번호 220-81-62517") == "사업자등록번호 <사업자등록번호>"
    assert redact("사업자등록번호 220-81-62518") == "사업자등록번호 220-81-62518"


def test_the_test_set_meets_the_targets():
    report = evaluate(load_cases(CASES))
    for kind in ("RRN", "FRN", "PHONE", "CARD", "EMAIL"):
        assert report["recall"][kind] >= 0.98, (kind, report["missed"])
    assert report["fp_rate_manual"] <= 0.01, report["false_alarms"]


def test_eval_command_prints_the_table(capsys):
    from query.pii import main

    assert main(["--eval", str(CASES)]) == 0
    out = capsys.readouterr().out
    assert "| RRN |" in out and "false-positive rate, manual-like strings" in out
    assert main(["--eval", "/nonexistent.jsonl"]) == 2


RRN, PHONE = "900101-1234568", "010-2345-6789"


def test_no_trace_in_log_cache_or_llm_request(store, stub):  # noqa: F811
    stub.reply_with(lambda body: "위약금은 138,000원입니다 [1].")
    engine = llm_engine(store, stub)
    question = f"고객 주민번호 {RRN}, 연락처 {PHONE} 인데 1년 안에 인터넷을 해지하면 위약금이 얼마인가요?"
    result = engine.ask(question).contract()
    assert result["mode"] == "llm" and "138,000원" in result["answer"]
    assert result["question"] == question  # the agent sees what was asked

    log = open_log(engine.settings, store / "storage")
    log.record_exchange(result, user="agent", session_id="s")
    log.flush()
    log.close()

    sent = " ".join(str(m["content"]) for r in stub.requests if "messages" in r for m in r["messages"])
    assert "<주민등록번호>" in sent and "<전화번호>" in sent
    places = {"LLM request": sent}
    for name, path in (("log", store / "storage" / "querylog.sqlite"),
                       ("cache", store / "storage" / "cache" / "answers.sqlite")):
        db = sqlite3.connect(path)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        places[name] = " ".join(str(v) for t in tables for row in db.execute(f"SELECT * FROM {t}") for v in row)
        db.close()
    assert "<주민등록번호>" in places["cache"] and "<주민등록번호>" in places["log"]
    for name, dump in places.items():
        for secret in (RRN, RRN.replace("-", ""), "1234568", PHONE, "2345-6789"):
            assert secret not in dump, f"{secret} found in the {name}"
    # the redacted question hits the cache for the same question with another caller's number
    again = engine.ask(question.replace(PHONE, "010-9876-5432")).contract()
    assert again["cached"] is True
