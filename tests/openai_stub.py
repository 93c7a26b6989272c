"""A scripted OpenAI-compatible server on a loopback port, for tests.

Tests drive the real `openai` client through real HTTP (retries, timeouts, SSE streaming
and usage accounting included), so the code path is the one production uses against
OpenAI, vLLM or Ollama. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _words(text: str) -> int:
    return max(1, len(text.split()))


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) refuses connections when 32 clients call at once.
    request_queue_size = 128


class StubOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request, to see overlap
        self.usage_tokens: tuple[int, int] | None = None
        self._reply: Callable[[dict], str] = lambda body: "OK [1]"
        # /v1/rerank (the cross-encoder API of vLLM, Jina, Cohere): relevance of a document
        self.rerank_score: Callable[[str, str], float] = lambda query, doc: float(
            len(set(query.lower().split()) & set(doc.lower().split())))
        self._failures: list[tuple[int, float | None]] = []
        self._delays: list[float] = []
        self._garbage = 0  # next N chat requests get 200 with a body that is not JSON
        self._connections: set = set()  # open keep-alive connections, closed by stop()
        self.default_delay = 0.0  # seconds every request waits when none is scripted (benchmarks)
        self.json_type = "application/json"  # some proxies and local servers label JSON text/plain
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    # scripting -------------------------------------------------------------------
    def reply_with(self, fn: Callable[[dict], str]) -> None:
        self._reply = fn

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        with self._lock:
            self._failures.extend([(status, retry_after)] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        with self._lock:
            self._delays.extend([seconds] * times)

    def garbage_next(self, times: int = 1) -> None:
        """A broken proxy or a misconfigured endpoint: 200 with an HTML page instead of JSON."""
        with self._lock:
            self._garbage += times

    # lifecycle -------------------------------------------------------------------
    def start(self, port: int = 0) -> "StubOpenAI":
        """Serve on `port` (0: any free one); start(port) after stop() brings a 'down' endpoint back."""
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and hang up every open connection: a client's keep-alive connection
        must not keep a 'down' endpoint answering."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "StubOpenAI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # serving ---------------------------------------------------------------------
    def _next_script(self) -> tuple[float, tuple[int, float | None] | None]:
        with self._lock:
            delay = self._delays.pop(0) if self._delays else self.default_delay
            failure = self._failures.pop(0) if self._failures else None
        return delay, failure

    def _usage(self, body: dict, reply: str) -> dict:
        if self.usage_tokens:
            prompt, completion = self.usage_tokens
        else:
            prompt = sum(_words(str(m.get("content", ""))) for m in body.get("messages", []))
            completion = _words(reply)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def setup(self) -> None:
                super().setup()
                with stub._lock:
                    stub._connections.add(self.connection)

            def finish(self) -> None:
                with stub._lock:
                    stub._connections.discard(self.connection)
                super().finish()

            def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
                raw = json.dumps(data).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", stub.json_type)
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "stub-model", "object": "model", "owned_by": "stub"}]})
                else:
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error", "code": None}})

            def do_POST(self) -> None:  # noqa: N802
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    self._json(400, {"error": {"message": "bad json", "type": "invalid_request_error", "code": None}})
                    return
                path = self.path.rstrip("/")
                if path not in ("/v1/chat/completions", "/v1/embeddings", "/v1/rerank"):
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error", "code": None}})
                    return
                with stub._lock:
                    stub.requests.append(body)
                    stub.arrivals.append(time.monotonic())
                delay, failure = stub._next_script()
                with stub._lock:
                    garbage, stub._garbage = stub._garbage > 0, max(0, stub._garbage - 1)
                if delay:
                    time.sleep(delay)
                try:
                    if garbage:
                        raw = b"<html><body>502 Bad Gateway</body></html>"
                        self.send_response(200)
                        self.send_header("Content-Type", "text/html")
                        self.send_header("Content-Length", str(len(raw)))
                        self.end_headers()
                        self.wfile.write(raw)
                    elif failure is not None:
                        status, retry_after = failure
                        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
                        self._json(status, {"error": {"message": f"scripted {status}", "type": "server_error",
                                                      "code": str(status)}}, headers)
                    elif path == "/v1/embeddings":
                        self._embeddings(body)
                    elif path == "/v1/rerank":
                        scores = [stub.rerank_score(body["query"], doc) for doc in body["documents"]]
                        order = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.get("top_n") or len(scores)]
                        self._json(200, {"model": body.get("model"), "results": [
                            {"index": i, "relevance_score": scores[i]} for i in order]})
                    elif body.get("stream"):
                        self._stream(body)
                    else:
                        self._complete(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

            def _complete(self, body: dict) -> None:
                reply = stub._reply(body)
                self._json(200, {
                    "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "stub-model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                    "usage": stub._usage(body, reply),
                })

            def _stream(self, body: dict) -> None:
                reply = stub._reply(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                model = body.get("model", "stub-model")

                def event(choices: list, usage: dict | None = None) -> None:
                    chunk = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                             "model": model, "choices": choices}
                    if usage is not None:
                        chunk["usage"] = usage
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode("utf-8"))
                    self.wfile.flush()

                event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
                for i in range(0, len(reply), 6):
                    event([{"index": 0, "delta": {"content": reply[i:i + 6]}, "finish_reason": None}])
                event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
                if (body.get("stream_options") or {}).get("include_usage"):
                    event([], stub._usage(body, reply))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _embeddings(self, body: dict) -> None:
                inputs = body.get("input")
                inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
                data = []
                for i, text in enumerate(inputs):
                    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
                    data.append({"object": "embedding", "index": i, "embedding": [b / 255 - 0.5 for b in digest[:8]]})
                tokens = sum(_words(str(t)) for t in inputs)
                self._json(200, {"object": "list", "data": data, "model": body.get("model", "stub-embed"),
                                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

        return Handler
