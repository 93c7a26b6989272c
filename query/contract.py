"""What an answer is: the one typed contract every surface hands out and every store keeps.

A shared leaf of `query` (like query.pii): the answer package builds it, the desk serves it,
the ops package logs it, and neither of those two may import the other.

The engine builds an `Answer`; the CLI prints it (`--json`), the desk returns it as FastAPI's
`response_model` (so /docs shows it), the sessions store keeps it per turn and the query log
writes its fields. Why one pydantic model instead of the dict it replaced: a reader (or the
OpenAPI schema) sees every field in one place, and the status is a field set where it is
decided (`Status`), never re-derived from the answer's words downstream.

The JSON form (`Answer.model_dump(mode="json")`) is the contract other tools read; fields
added here appear there as well.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


# An answer's `[n]` markers: n is a source's `rank`. Read by the prompt's citation check,
# the follow-up history (markers stripped) and the gap report (which sections were cited).
CITATION = re.compile(r"\[(\d+)\]")


def cited(text: str) -> list[int]:
    """The source numbers an answer cites, in order of first citation."""
    return list(dict.fromkeys(int(n) for n in CITATION.findall(text or "")))


# What a streamed exchange sends, in order: sources, token..., done (or error).
Event = Literal["sources", "token", "done", "error"]


class Mode(StrEnum):
    """How the answer text was made."""

    LLM = "llm"
    EXTRACTIVE = "extractive"


class Status(StrEnum):
    """What the answer is worth to the gap report; decided by the engine, stored by the log.

    answered: sources were found and are close enough to the question.
    no_match: no section matched, or the LLM said the manuals do not cover the question.
    low_confidence: the nearest section's cosine (`similarity`) is below LOW_CONFIDENCE_SIMILARITY.
    smalltalk: a greeting or thanks, answered without retrieval.
    """

    ANSWERED = "answered"
    NO_MATCH = "no_match"
    LOW_CONFIDENCE = "low_confidence"
    SMALLTALK = "smalltalk"


class Intent(StrEnum):
    QUESTION = ""
    SMALLTALK = "smalltalk"


class CacheKind(StrEnum):
    EXACT = "exact"
    SEMANTIC = "semantic"


class Attachment(BaseModel):
    model_config = ConfigDict(extra="allow")
    text: str = ""
    href: str = ""
    path: str = ""


class LinkedFrom(BaseModel):
    """A manual section that links to an attachment source: the file's place in the manuals."""

    path: str = ""
    anchor: str | None = None
    url: str = ""
    heading: str = ""
    title: str = ""
    text: str = Field("", description="The link's own text on the page")
    href: str | None = Field(None, description="The desk's /manuals/ link (set by the desk)")


class Source(BaseModel):
    """One numbered source: the `[n]` markers in the answer refer to `rank`. A source inside an
    attachment (a PDF page, a sheet, a slide) has `file_type` and `location` set, its `url`
    points into the file (`forms/terms.pdf#page=3`), and `linked_from` names the manual
    sections that link to it."""

    rank: int
    title: str = ""
    heading: str = ""
    path: str = ""
    anchor: str | None = None
    url: str = ""
    score: float | None = None
    kind: str = "text"
    lang: str = ""
    snippet: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    href: str | None = Field(None, description="The desk's /manuals/ link (set by the desk for relative urls)")
    file_type: str | None = Field(None, description="An attachment's type by its bytes: pdf, xlsx, docx, pptx, hwpx, hwp, ...")
    location: str | None = Field(None, description="Where in the attachment: 'p. 4', 'sheet 단말기', 'slide 3'")
    linked_from: list[LinkedFrom] = Field(default_factory=list)
    also: list[str] = Field(default_factory=list, description="Sections whose text repeats this one's (GROUP_DUPLICATES)")


class AnswerUsage(BaseModel):
    llm_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class Latency(BaseModel):
    retrieve_ms: float = 0.0
    generate_ms: float | None = None


class Answer(BaseModel):
    """A question's answer with its sources, usage, status and timings."""

    id: str | int | None = Field(None, description="The caller's id, echoed back")
    question: str
    standalone_question: str | None = Field(None, description="The follow-up rewritten to stand alone")
    answer: str = ""
    mode: Mode = Mode.EXTRACTIVE
    status: Status = Status.ANSWERED
    intent: Intent = Intent.QUESTION
    sources: list[Source] = Field(default_factory=list)
    usage: AnswerUsage = Field(default_factory=AnswerUsage)
    latency: Latency = Field(default_factory=Latency)
    latency_ms: float = 0.0
    similarity: float | None = Field(None, description="The best dense hit's cosine (low-confidence flag)")
    notice: str | None = Field(None, description="Why the answer is extractive although an LLM is configured, etc.")
    cached: bool = False
    cache: CacheKind | None = None
    removed_citations: list[int] = Field(default_factory=list)
    exchange_id: str | None = None
    session_id: str | None = None

    def contract(self) -> dict:
        """The JSON contract (what `--json`, the stream's `done` event and the stores carry).
        An optional field that is not set is left out, as it always was (`id` stays)."""
        data = self.model_dump(mode="json")
        return {k: v for k, v in data.items() if v is not None or k == "id"}
