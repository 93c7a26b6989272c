"""Fill the query log with a realistic week of questions, answered by the real Engine.

`python scripts/make_demo_log.py [--storage DIR] [--n 150] [--days 7] [--seed 7]`
(`make demo-log`, after `make ingest`). Questions come from data/eval/sample_questions.jsonl
and data/eval/httpd_questions.jsonl plus questions the sample manuals do not cover (asked in
several wordings, as agents do); some carry a caller's phone or registration number (the log
stores them redacted). Feedback follows what a checking agent would say: a thumbs down with
"wrong source" when the first source is not one the eval set expects, thumbs up otherwise,
"incomplete" on some answers to uncovered questions. Times spread over the last DAYS days.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.settings import get_settings  # noqa: E402
from core.store import StoreError  # noqa: E402

# Topics the sample manuals do not cover, each in the wordings agents use.
UNCOVERED = [
    ["음성사서함 비밀번호를 잊어버렸는데 초기화 방법은?", "보이스메일 PIN 재설정 어떻게 하나요?",
     "How do I reset the voicemail PIN?"],
    ["공유기가 WPA3를 지원하나요?", "Does the router support WPA3?", "와이파이 보안 WPA3 설정 가능한 모델인가요?"],
    ["eSIM을 새 아이폰으로 옮기는 방법", "eSIM 기기변경 시 이전 절차 알려줘", "How do I move an eSIM to a new phone?"],
    ["스마트워치 데이터 쉐어링 월 요금은?", "워치 쉐어링 요금제 가격", "갤럭시 워치 LTE 번호 추가 비용"],
    ["해외 직구 단말기 전파인증 절차", "직구한 폰 개통되나요? 전파인증 필요?"],
    ["VPN 사용 시 속도 저하 문의", "회사 VPN 연결하면 인터넷이 느려져요"],
    ["미사용 선불 데이터 환불 규정", "What is the refund policy for unused prepaid data?"],
    ["알뜰폰으로 번호이동하면 멤버십 포인트 소멸되나요?", "멤버십 포인트 번호이동 후 유지?"],
]
PII_PREFIXES = ["고객 010-{a}-{b} 건인데, ", "주민번호 {rrn} 고객, ", "연락처 02-{c}-{b} / ", "Customer phone +82 10 {a} {b}: "]


def rrn(rng: random.Random) -> str:
    front = f"{rng.randint(60, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    digits = [int(c) for c in front + str(rng.choice((1, 2))) + "".join(str(rng.randint(0, 9)) for _ in range(5))]
    check = (11 - sum(d * w for d, w in zip(digits, [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5])) % 11) % 10
    body = "".join(map(str, digits))
    return f"{body[:6]}-{body[6:]}{check}"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", type=Path, help="the store to answer from (and to log into unless DATABASE_URL)")
    parser.add_argument("--n", type=int, default=150, help="questions to ask")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        counts = generate(get_settings(), args.storage, args.n, args.days, args.seed)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if counts["errors"] else 0


def generate(settings, storage: Path | None, n: int, days: int, seed: int) -> dict:
    """Ask `n` questions through the real Engine on `storage` and log them with feedback."""
    from query.answer.engine import Engine
    from query.ops.querylog import open_log

    engine = Engine(settings, storage)
    rng = random.Random(seed)
    covered = load(ROOT / "data/eval/sample_questions.jsonl")
    other = load(ROOT / "data/eval/httpd_questions.jsonl")
    log = open_log(settings, storage)
    now = datetime.now(timezone.utc)
    users = [f"agent{i}" for i in range(1, 7)]
    counts = {"asked": 0, "down": 0, "up": 0, "pii": 0}
    started = time.perf_counter()
    for i in range(n):
        roll = rng.random()
        if roll < 0.6:
            item = rng.choice(covered)
        elif roll < 0.75:
            item = rng.choice(other)
        else:
            item = {"question": rng.choice(rng.choice(UNCOVERED)), "expected": None}
        question = item["question"]
        if rng.random() < 0.12:
            question = rng.choice(PII_PREFIXES).format(a=rng.randint(1000, 9999), b=rng.randint(1000, 9999),
                                                        c=rng.randint(200, 999), rrn=rrn(rng)) + question
            counts["pii"] += 1
        result = engine.ask(question)
        when = now - timedelta(days=rng.uniform(0, days - 0.01))
        user = rng.choice(users)
        exchange_id = log.record_exchange(result, user=user, session_id=f"{user}-{when:%m%d}", created_at=when)
        counts["asked"] += 1
        top = result.sources[0] if result.sources else None
        top_key = f"{top.path}#{top.anchor}" if top and top.anchor else (top.path if top else None)
        expected = item.get("expected")
        if expected is not None and top_key not in expected and rng.random() < 0.7:
            log.record_feedback(exchange_id, "down", [rng.choice(["wrong_source", "wrong"])],
                                rng.choice([None, "다른 매뉴얼 내용이 나왔어요", "not the right page"]), user=user)
            counts["down"] += 1
        elif expected is None and rng.random() < 0.4:
            log.record_feedback(exchange_id, "down", ["incomplete"], "매뉴얼에 없는 내용인 듯", user=user)
            counts["down"] += 1
        elif expected is not None and rng.random() < 0.3:
            log.record_feedback(exchange_id, "up", user=user)
            counts["up"] += 1
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{n} questions", file=sys.stderr)
    counts["errors"] = log.flush()
    log.close()
    errors = counts["errors"]
    print(f"logged {counts['asked']} exchanges over {days} days in {log.url} "
          f"({counts['pii']} with personal data, stored redacted), {counts['down']} thumbs down, {counts['up']} up, "
          f"in {time.perf_counter() - started:.1f} s" + (f"; {len(errors)} write errors: {errors[:3]}" if errors else ""),
          file=sys.stderr)
    return counts


if __name__ == "__main__":
    raise SystemExit(main())
