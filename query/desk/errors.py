"""One error path for the desk: typed exceptions, one table class -> status, one body shape.

Every refusal the desk makes is a `DeskError` subclass (or an exception of a lower layer
listed in `FOREIGN`), raised wherever it is found; `install` adds the handlers that turn it
into a response, and `error_app` does the same for the access-control middleware, which
runs outside FastAPI's handlers. Why one place: before, four modules each wrote their own
JSON, and a status was chosen by matching message text.

One body shape for every path, OpenAI's (the openai SDK shows `message` to its user; the
web page reads the same field):  {"error": {"message", "type", "code"}}.
Before, /api answered {"error": "message"} from the routes but OpenAI's shape from access
control and feedback; a client had to handle both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from query.ops.querylog import FeedbackError, UnknownExchange


class DeskError(Exception):
    """A refusal with a message the agent (or the calling tool's developer) can act on."""

    status = 400
    kind = "invalid_request_error"  # OpenAI's error type for /v1

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers


class BadRequest(DeskError):
    pass


class QuestionEmpty(BadRequest):
    pass


class QuestionTooLong(BadRequest):
    pass


class QuestionNotText(BadRequest):
    """The question holds what is not text: a lone surrogate (`"\\ud800"` in JSON) or a NUL."""


class NotFound(DeskError):
    status = 404


class UnknownSession(NotFound, KeyError):
    """No such session, or another user's (the same answer: one agent never learns of another's)."""

    def __init__(self, session_id: str, hint: str = "") -> None:
        super().__init__(f"unknown session {session_id!r}{hint}")
        self.session_id = session_id

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class Unauthorized(DeskError):
    status = 401
    kind = "authentication_error"


class Forbidden(DeskError):
    status = 403
    kind = "permission_error"


class RateLimited(DeskError):
    status = 429
    kind = "rate_limit_error"


class Unavailable(DeskError):
    status = 503
    kind = "unavailable"


# Exceptions of the layers below (which know nothing of HTTP) and the desk error they are.
FOREIGN: dict[type[Exception], type[DeskError]] = {UnknownExchange: NotFound, FeedbackError: BadRequest}

_BY_STATUS: dict[int, type[DeskError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
                                          429: RateLimited, 503: Unavailable}


def body(path: str, status: int, message: str, kind: str) -> dict[str, Any]:
    """The error body (`path` kept for a surface that ever needs its own shape)."""
    return {"error": {"message": message, "type": kind, "code": status}}


def respond(path: str, error: DeskError, status: int | None = None) -> JSONResponse:
    status = status or error.status
    return JSONResponse(body(path, status, error.message, error.kind), status_code=status, headers=error.headers)


def as_desk_error(exc: Exception) -> DeskError:
    """Any exception as the desk error it is (a 500 for what nothing above names)."""
    if isinstance(exc, DeskError):
        return exc
    for foreign, desk_class in FOREIGN.items():
        if isinstance(exc, foreign):
            return desk_class(str(exc))
    if isinstance(exc, RequestValidationError):
        return BadRequest(_validation_message(exc))
    if isinstance(exc, StarletteHTTPException):
        return _BY_STATUS.get(exc.status_code, DeskError)(str(exc.detail), getattr(exc, "headers", None))
    error = DeskError(f"internal error: {type(exc).__name__}: {exc}")
    error.status, error.kind = 500, "server_error"
    return error


def error_app(status: int, message: str, kind: str, headers: dict[str, str] | None = None
              ) -> Callable[[dict, Callable, Callable], Awaitable[None]]:
    """An ASGI response for middleware (outside FastAPI's handlers): the shape follows the path."""

    async def app(scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        await JSONResponse(body(path, status, message, kind), status_code=status, headers=headers)(scope, receive, send)

    return app


def _validation_message(exc: RequestValidationError) -> str:
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return "the body is not valid JSON: send {\"question\": \"...\"}"
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "invalid request: " + "; ".join(problems)


def install(app: FastAPI) -> None:
    """The one handler: every exception class -> status -> body in the path's shape."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        error = as_desk_error(exc)
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404:
            error = NotFound(f"not found: {request.url.path}")
        return respond(request.url.path, error, getattr(error, "status", 500))

    for exc_class in (DeskError, RequestValidationError, StarletteHTTPException, *FOREIGN, Exception):
        app.add_exception_handler(exc_class, handle)


def check_question(question: str, max_chars: int) -> str:
    """The question stripped, or the refusal that says what is wrong with it."""
    question = question.strip()
    if not question:
        raise QuestionEmpty("the question is empty")
    if len(question) > max_chars:
        raise QuestionTooLong(f"the question is {len(question)} characters long; the limit is {max_chars} "
                              "(MAX_QUESTION_CHARS)")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QuestionNotText(f"the question is not valid text: {exc.reason} at character {exc.start}") from None
    if "\x00" in question:
        raise QuestionNotText("the question is not valid text: it contains a NUL character")
    return question
