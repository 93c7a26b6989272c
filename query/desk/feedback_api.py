"""HTTP endpoints for feedback on an answer, as a FastAPI router the server includes.

    POST /api/feedback  {"exchange_id", "rating": "up"|"down", "reasons": [...], "comment"}
         -> 201 {"feedback_id", "exchange_id"}; 404 unknown exchange; 400 bad rating/reason
    GET  /api/feedback/reasons -> {"reasons": [...]}   (the page's reason chips)

The user comes from query.desk.auth (`request.state.user`), so feedback carries the same user as
the exchange it judges. The comment is redacted by the query log before it is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from query.desk.auth import current_user
from query.desk.errors import Unavailable
from query.ops.querylog import REASONS, QueryLog


class FeedbackIn(BaseModel):
    exchange_id: str = Field(min_length=1, max_length=64)
    rating: str | int = Field(description="up | down (or 1 | -1)")
    reasons: list[str] = Field(default_factory=list, max_length=len(REASONS))
    comment: str | None = Field(None, max_length=2000)


def feedback_router(get_log: Callable[[], QueryLog | None]) -> APIRouter:
    """`app.include_router(feedback_router(lambda: app.state.querylog))`."""
    router = APIRouter()

    @router.get("/api/feedback/reasons")
    def reasons() -> dict:
        return {"reasons": list(REASONS)}

    @router.post("/api/feedback", status_code=201)
    def feedback(body: FeedbackIn, user: str = Depends(current_user)) -> dict:
        """UnknownExchange (404) and FeedbackError (400) go to the desk's one error handler."""
        log = get_log()
        if log is None:
            raise Unavailable("the query log is off (QUERY_LOG=false)")
        feedback_id = log.record_feedback(body.exchange_id, body.rating, body.reasons, body.comment, user=user)
        return {"feedback_id": feedback_id, "exchange_id": body.exchange_id}

    return router
