"""The OpenAI-compatible chat client both ingestion (table prose) and query (answers) use.

One code path for OpenAI, vLLM, Ollama or llama.cpp: the `openai` client pointed at
`OPENAI_BASE_URL`. The client itself retries 429/5xx with exponential backoff and enforces
the timeout; we count requests, tokens and cost so every answer can report what it cost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass

from openai import AsyncOpenAI, AsyncStream, OpenAI, Stream

from core.settings import Settings


@dataclass
class Usage:
    llm_requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, settings: Settings, model: str, input_tokens: int, output_tokens: int) -> None:
        self.llm_requests += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost_usd += price(settings, model, input_tokens, output_tokens)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["cost_usd"] = round(data["cost_usd"], 8)
        return data


def price(settings: Settings, model: str, input_tokens: int, output_tokens: int) -> float:
    """Cost in USD from the per-1M-token price table; unknown (e.g. local) models cost 0."""
    rates = settings.llm_prices.get(model)
    if rates is None:
        # "gpt-4o-mini-2024-07-18" is billed as "gpt-4o-mini": take the longest known prefix.
        known = [name for name in settings.llm_prices if model.startswith(name)]
        rates = settings.llm_prices[max(known, key=len)] if known else (0.0, 0.0)
    return (input_tokens * rates[0] + output_tokens * rates[1]) / 1_000_000


def _client_options(settings: Settings) -> dict:
    # Local servers (vLLM, Ollama) accept any key, but the client insists on one.
    return {"api_key": settings.openai_api_key or "not-needed", "base_url": settings.openai_base_url or None,
            "timeout": settings.llm_timeout, "max_retries": settings.llm_max_retries}


def _request(settings: Settings, messages: list[dict], max_tokens: int | None = None, stream: bool = False) -> dict:
    """The completion request, the same for the sync and the async client."""
    request = {"model": settings.llm_model, "messages": messages, "temperature": settings.llm_temperature,
               "max_tokens": max_tokens or settings.llm_max_tokens}
    if stream:
        request.update(stream=True, stream_options={"include_usage": True})
    return request


def _count(settings: Settings, usage: Usage, reported: dict | None) -> None:
    """One request counted, with its tokens when the server reported them."""
    if reported:
        usage.add(settings, settings.llm_model, reported.get("prompt_tokens") or 0,
                  reported.get("completion_tokens") or 0)
    else:  # servers that report no usage still served one request
        usage.add(settings, settings.llm_model, 0, 0)


def _json(body: object) -> dict:
    """The reply as a JSON object. With `cast_to=object` the client hands back the body
    as text when the server labels it other than JSON (some proxies and local servers
    send `text/plain`): that is parsed here; anything else is a clear error, which the
    caller reports as the endpoint failing (extractive answer with a notice)."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            raise ValueError(f"the LLM endpoint replied with something other than JSON: {str(body)[:80]!r}") from None
    if not isinstance(body, dict):
        raise ValueError(f"the LLM endpoint replied with JSON that is not an object: {str(body)[:80]!r}")
    return body


def _content(response: dict) -> str:
    choices = response.get("choices") or []
    return ((choices[0].get("message") or {}).get("content") or "") if choices else ""


def _deltas(chunk: dict) -> Iterator[str]:
    for choice in chunk.get("choices") or []:
        content = (choice.get("delta") or {}).get("content")
        if content:
            yield content


# Requests go through the client's `post` rather than `chat.completions.create`, and come
# back as the JSON the server sent (`cast_to=object`), for the same reason in both
# directions: the SDK's typing machinery costs more CPU than the answer. `create` walks
# the request against its TypedDicts (nothing in it applies to string messages: the body
# sent is this same dict), and the stream turns every chunk into pydantic models. Measured
# in the API server with py-spy / cProfile on a burst of 32 conversations: the request walk
# was a fifth of the time it held the GIL before the `sources` events went out, and chunk
# parsing about 1 ms of event-loop time per token chunk (a 300-token answer: 0.3 s of CPU).
# Everything else is the client's: base URL, auth, timeout, retries, error types, SSE.
_PATH = "/chat/completions"


def make_client(settings: Settings) -> OpenAI:
    return OpenAI(**_client_options(settings))


def chat(client: OpenAI, settings: Settings, messages: list[dict], usage: Usage) -> str:
    """One non-streaming completion; usage is counted even when the content is empty."""
    response = _json(client.post(_PATH, body=_request(settings, messages), cast_to=object))
    _count(settings, usage, response.get("usage"))
    return _content(response)


def chat_stream(client: OpenAI, settings: Settings, messages: list[dict], usage: Usage) -> Iterator[str]:
    """Yield content deltas as they arrive; usage comes in the final chunk (include_usage)."""
    reported = None
    stream = client.post(_PATH, body=_request(settings, messages, stream=True), cast_to=object,
                         stream=True, stream_cls=Stream[object])
    try:
        for chunk in map(_json, stream):
            reported = chunk.get("usage") or reported
            yield from _deltas(chunk)
    finally:
        stream.close()
        _count(settings, usage, reported)


# Async twins for the API server: an answer awaited on the event loop holds no thread
# while the endpoint thinks (32 conversations waiting on a 2 s model cost 32 coroutines,
# not 32 threads), and cancelling the task (the browser went away) closes the HTTP
# request to the endpoint, so the model stops generating for nobody.


def make_async_client(settings: Settings) -> AsyncOpenAI:
    return AsyncOpenAI(**_client_options(settings))


async def achat(client: AsyncOpenAI, settings: Settings, messages: list[dict], usage: Usage,
                max_tokens: int | None = None) -> str:
    response = _json(await client.post(_PATH, body=_request(settings, messages, max_tokens), cast_to=object))
    _count(settings, usage, response.get("usage"))
    return _content(response)


async def achat_stream(
    client: AsyncOpenAI, settings: Settings, messages: list[dict], usage: Usage
) -> AsyncIterator[str]:
    stream = await client.post(_PATH, body=_request(settings, messages, stream=True), cast_to=object,
                               stream=True, stream_cls=AsyncStream[object])
    reported = None
    try:
        async for item in stream:
            chunk = _json(item)
            reported = chunk.get("usage") or reported
            for delta in _deltas(chunk):
                yield delta
    finally:
        await stream.close()  # on cancellation too: the endpoint sees the connection close
        _count(settings, usage, reported)
