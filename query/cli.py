"""`python -m query "QUESTION" [--storage DIR] [--top-k K] [--json] [--lang ko] [--under DIR]`
`python -m query --batch questions.jsonl [--out answers.jsonl]`
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.settings import get_settings
from core.store import StoreError
from query.answer.engine import Engine
from query.answer.retrieve import Filters
from query.contract import Answer


def _link(url: str, label: str, root: str | None) -> str:
    """OSC 8 hyperlink on terminals that support it; plain text when piped."""
    if not sys.stdout.isatty():
        return label
    target = url if "://" in url or not root else f"file://{Path(root) / url}"
    return f"\033]8;;{target}\033\\{label}\033]8;;\033\\"


def format_human(result: Answer, root: str | None, with_answer: bool = True) -> str:
    lines = [result.answer or "(no answer)"] if with_answer else []
    if result.notice:
        lines.insert(0, f"[notice] {result.notice}")
    if result.sources:
        lines += ["", "Sources:"]
    for source in result.sources:
        heading = source.heading or source.title
        lines.append(f"  [{source.rank}] {heading}")
        lines.append(f"      {_link(source.url, source.url, root)}  ({source.kind}, score {source.score:.4f})")
        if source.file_type:
            where = f"{source.file_type.upper()}" + (f", {source.location}" if source.location else "")
            pages = "; ".join(f"{link.heading or link.title} ({link.url})" for link in source.linked_from[:2])
            lines.append(f"      in the attachment ({where})" + (f", linked from {pages}" if pages else ""))
        for attachment in source.attachments[:3]:
            lines.append(f"      attachment: {attachment.text or attachment.href} -> {attachment.path or attachment.href}")
    usage, latency = result.usage, result.latency
    cached = f" (cached: {result.cache})" if result.cached else ""
    lines.append(
        f"-- {result.mode}{cached} | {result.latency_ms:.0f} ms (retrieve {latency.retrieve_ms:.0f} ms) | "
        f"{usage.llm_requests} LLM request(s), {usage.input_tokens}+{usage.output_tokens} tokens, "
        f"${usage.cost_usd:.5f}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m query", description="Answer a question from the manuals.")
    parser.add_argument("question", nargs="?")
    parser.add_argument("--storage", type=Path)
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--json", action="store_true", help="print the JSON answer")
    parser.add_argument("--lang", help="only manuals in this language (ko, en)")
    parser.add_argument("--under", help="only manuals under this folder, e.g. mod/")
    parser.add_argument("--batch", type=Path, help="JSONL file of {id, question}; one JSON answer per line")
    parser.add_argument("--out", type=Path, help="with --batch: write answers here instead of stdout")
    parser.add_argument("--stream", action="store_true", help="print the answer as it is generated")
    parser.add_argument("--no-llm", action="store_true", help="extractive answer even when an LLM is configured")
    args = parser.parse_args(argv)
    if not args.question and not args.batch:
        parser.error("give a QUESTION or --batch FILE")
    settings = get_settings()
    filters = Filters(lang=args.lang, under=args.under)
    try:
        engine = Engine(settings, args.storage)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.batch:
        out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
        try:
            for line_no, line in enumerate(args.batch.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                item = json.loads(line)
                result = engine.ask(item["question"], item.get("id", line_no), args.top_k, filters, not args.no_llm)
                out.write(json.dumps(result.contract(), ensure_ascii=False) + "\n")
                out.flush()
        finally:
            if args.out:
                out.close()
        return 0

    if args.stream and not args.json:
        final: Answer | None = None
        for event in engine.stream(args.question, None, args.top_k, filters):
            if isinstance(event, Answer):
                final = event
            else:
                print(event, end="", flush=True)
        print()
        print(format_human(final, engine.root, with_answer=False))
        return 0
    result = engine.ask(args.question, None, args.top_k, filters, not args.no_llm)
    print(json.dumps(result.contract(), ensure_ascii=False, indent=2) if args.json
          else format_human(result, engine.root))
    return 0
