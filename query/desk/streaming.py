"""Server-sent events, for both streaming surfaces (`/api/ask/stream` and `/v1` with stream)."""

from __future__ import annotations

import json

# Proxies (nginx) buffer responses by default, which would hold the tokens back.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str, data: dict) -> str:
    """One server-sent event. JSON on one line: json.dumps escapes newlines inside strings."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_data(data: dict | str) -> str:
    """An unnamed event (OpenAI's stream format: `data: {...}` lines, then `data: [DONE]`)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"
