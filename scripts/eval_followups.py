"""Follow-up evaluation: does rewriting a follow-up into a standalone question find the
right section for the second turn of a conversation?

data/eval/followup_questions.jsonl holds two-turn dialogues (Korean and English, over
data/manuals and the httpd corpus). For each, the second turn is retrieved three ways and
scored section@5 / section@1 against the sections that answer it:

  - as asked: the follow-up alone (what the server did before conversations);
  - rule: the deterministic rewrite used without an LLM (query.conversation.rule_rewrite);
  - llm: the LLM condense step, only when OPENAI_API_KEY / OPENAI_BASE_URL are set.

Stores are the ones `scripts/evaluate.py` builds (storage/eval/NAME; an unchanged corpus
re-ingests in seconds). Prints a table and writes reports/eval_followups.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.llm import Usage, achat, make_async_client  # noqa: E402
from core.settings import get_settings  # noqa: E402
from ingest.run import ingest  # noqa: E402
from query.answer.conversation import condense_messages, rule_rewrite  # noqa: E402
from query.answer.engine import Engine  # noqa: E402

K = 5
QUESTIONS = ROOT / "data" / "eval" / "followup_questions.jsonl"


def urls(engine: Engine, question: str) -> list[str]:
    prepared = engine.prepare(question, top_k=K, use_llm=False)
    return [s.url for s in prepared.answer.sources]


def rank(found: list[str], expected: list[str]) -> int | None:
    return next((i + 1 for i, url in enumerate(found[:K]) if url in expected), None)


def condense(settings, first: str, follow: str, usage: Usage) -> str:
    """The server's condense step on a one-turn history (the first answer is not needed to
    resolve the reference, and leaving it out keeps the evaluation independent of it)."""
    client = make_async_client(settings)
    history = [{"role": "user", "content": first}]
    return asyncio.run(achat(client, settings, condense_messages(history, follow), usage, max_tokens=200)).strip() or follow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "httpd-manual")
    parser.add_argument("--storage", type=Path, default=ROOT / "storage" / "eval")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "eval_followups.md")
    args = parser.parse_args()
    dialogues = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    roots = {"sample": ROOT / "data" / "manuals", "httpd": args.corpus}
    base = get_settings()
    use_llm = base.llm_configured
    methods = ["as asked", "rule"] + (["llm"] if use_llm else [])
    rows: list[dict] = []
    usage = Usage()
    for corpus, root in roots.items():
        items = [d for d in dialogues if d["corpus"] == corpus]
        if not root.is_dir():
            print(f"[{corpus}] {root} not found: {len(items)} dialogues skipped", file=sys.stderr)
            continue
        settings = base.model_copy(update={"storage_dir": args.storage / corpus})
        print(f"[{corpus}] ingesting {root} (unchanged files are skipped) ...", file=sys.stderr)
        ingest([root], settings, progress=True)
        engine = Engine(settings)
        print(f"[{corpus}] {len(items)} dialogues ...", file=sys.stderr)
        for d in items:
            first, follow = d["turns"]
            asked = {"as asked": follow, "rule": rule_rewrite(follow, first)}
            if use_llm:
                asked["llm"] = condense(settings, first, follow, usage)
            row = {"id": d["id"], "corpus": corpus, "lang": d["lang"], "expected": d["expected"], "asked": asked}
            for method, question in asked.items():
                row[method] = rank(urls(engine, question), d["expected"])
            rows.append(row)

    def line(label: str, group: list[dict]) -> str:
        cells = []
        for method in methods:
            at5 = sum(r[method] is not None for r in group) / len(group)
            at1 = sum(r[method] == 1 for r in group) / len(group)
            cells.append(f"{at5:.2f} / {at1:.2f}")
        return f"| {label} | {len(group)} | " + " | ".join(cells) + " |"

    report = [f"# Follow-up evaluation: second-turn section@{K} / section@1", "",
              "| dialogues | n | " + " | ".join(methods) + " |", "|---|---:|" + "---:|" * len(methods)]
    for corpus in roots:
        for lang in ("ko", "en"):
            group = [r for r in rows if r["corpus"] == corpus and r["lang"] == lang]
            if group:
                report.append(line(f"{corpus} {lang}", group))
    if rows:
        report.append(line("**all**", rows))
    if use_llm:
        report += ["", f"LLM condense cost: {usage.llm_requests} requests, {usage.input_tokens}+{usage.output_tokens} tokens, "
                       f"${usage.cost_usd:.5f}."]
    else:
        report += ["", "No LLM configured: the LLM condense column is measured when OPENAI_API_KEY/OPENAI_BASE_URL are set."]
    report += ["", "Second turns missed by the rule (rank as asked -> rule):", ""]
    for r in rows:
        if r["rule"] is None or (r["as asked"] or 99) < (r["rule"] or 99):
            report.append(f"- {r['id']}: {r['as asked']} -> {r['rule']} `{r['asked']['rule']}` (expected {r['expected'][0]})")
    text = "\n".join(report)
    print(text)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    (args.out.with_suffix(".json")).write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
