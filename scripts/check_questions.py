"""Show a manual's anchored sections, or check a question set against its manuals.

Question authors need to know which `path#anchor` our parser gives each section, and an
evaluation is only as good as its answer key: a question whose expected anchor does not
exist, or whose fact is not in the expected section, silently lowers every score. So:

  python scripts/check_questions.py --root DIR --show mod/core.html.en.utf8
      prints every section of the page: url, heading path, table rows / text start.
  python scripts/check_questions.py --root DIR --check data/eval/httpd_questions.jsonl
      verifies every expected url exists and at least one fact occurs (case- and
      space-insensitive) in the text of one expected section; prints the set's make-up
      (languages, categories, table-only, names-term shares). Exit 1 on any error.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.boilerplate import corpus_boilerplate  # noqa: E402
from core.htmlfile import decode_html  # noqa: E402
from ingest.discover import discover  # noqa: E402
from ingest.parse import Page, Section, parse_page  # noqa: E402
from ingest.tables import row_sentences  # noqa: E402


def norm(text: str) -> str:
    return " ".join(text.lower().split())


_BOILERPLATE: dict[Path, dict[str, frozenset[str]]] = {}


def boilerplate_of(root: Path, path: str) -> frozenset[str]:
    """The page's boilerplate keys, learnt from the whole manual tree as ingestion does."""
    if root not in _BOILERPLATE:
        pages = {rel: decode_html(p.read_bytes(), p.name)[0] for p, rel in discover([root], root).files}
        _BOILERPLATE[root] = corpus_boilerplate(pages)
    return _BOILERPLATE[root].get(path, frozenset())


def load_page(root: Path, path: str) -> Page:
    raw = (root / path).read_bytes()
    html, _ = decode_html(raw, path)
    return parse_page(html, path, boilerplate_of(root, path))


def section_text(section: Section) -> str:
    """The words a reader sees in the section: its heading, paragraphs and table rows."""
    rows = [sentence for table in section.tables for sentence, _ in row_sentences(table)]
    return "\n".join([" > ".join(section.heading_path), *section.blocks, *rows])


def sections_by_url(page: Page) -> dict[str, list[Section]]:
    found: dict[str, list[Section]] = collections.defaultdict(list)
    for section in page.sections:
        url = f"{page.path}#{section.anchor}" if section.anchor else page.path
        found[url].append(section)
    return found


def show(root: Path, path: str) -> None:
    page = load_page(root, path)
    print(f"{page.path}  [{page.lang}]  {page.title}")
    for url, sections in sections_by_url(page).items():
        for section in sections:
            print(f"\n{url}\n  heading: {' > '.join(section.heading_path)}")
            for table in section.tables:
                for sentence, _ in row_sentences(table):
                    print(f"  row: {sentence[:160]}")
            for block in section.blocks[:3]:
                print(f"  text: {block[:160]}")


def check(root: Path, questions_file: Path) -> int:
    questions = [json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    pages: dict[str, dict[str, list[Section]]] = {}
    errors: list[str] = []
    ids: set[str] = set()
    for q in questions:
        if q["id"] in ids:
            errors.append(f"{q['id']}: duplicate id")
        ids.add(q["id"])
        texts = []
        for url in q["expected"]:
            path = url.split("#", 1)[0]
            if path not in pages:
                try:
                    pages[path] = sections_by_url(load_page(root, path))
                except OSError as exc:
                    errors.append(f"{q['id']}: {path}: {exc}")
                    pages[path] = {}
            if url not in pages[path]:
                errors.append(f"{q['id']}: no section {url}")
                continue
            texts += [norm(section_text(s)) for s in pages[path][url]]
        if texts and not any(norm(fact) in text for fact in q["facts"] for text in texts):
            errors.append(f"{q['id']}: none of the facts {q['facts']} is in {q['expected']}")
    n = len(questions) or 1
    langs = collections.Counter(q["lang"] for q in questions)
    cats = collections.Counter(q["category"] for q in questions)
    print(f"{len(questions)} questions; languages {dict(langs)} (ko {langs['ko'] / n:.0%}); categories {dict(cats)}")
    print(f"table-only {sum(q['table_only'] for q in questions) / n:.0%}; "
          f"without naming the term {sum(not q['names_term'] for q in questions) / n:.0%}")
    for error in errors:
        print("ERROR", error)
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=ROOT.parent / "shared" / "corpora" / "httpd-manual")
    parser.add_argument("--show", nargs="*", default=[], help="pages (root-relative) whose sections to print")
    parser.add_argument("--check", type=Path, help="question set (JSON lines) to verify")
    args = parser.parse_args()
    for path in args.show:
        show(args.root, path)
    return check(args.root, args.check) if args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
