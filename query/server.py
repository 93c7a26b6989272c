"""HTTP API and the agents' web page: `python -m query.server [--storage DIR] [--port 8080]`.

    GET  /                 the web page (ask, read the answer, click through to the sources)
    POST /api/ask          {"question", "top_k"?, "lang"?, "under"?} -> the JSON answer contract
    GET  /api/health       {"ok": true, "chunks": N}
    GET  /manuals/PATH     the manual (or attachment) itself, so `#anchor` links open the section

The standard library's threading server is enough for a support floor's traffic and adds
no dependency; answers are serialised through one lock because the engine's models are
loaded once and shared.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from core.settings import get_settings
from ingest.decode import DecodeError, decode_html
from ingest.discover import is_html_name
from query.engine import Engine
from query.retrieve import Filters

PAGE = (Path(__file__).parent / "web" / "index.html").read_bytes() if (Path(__file__).parent / "web" / "index.html").exists() else b""
MAX_BODY = 64 * 1024


def make_handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()
    root = Path(engine.root).resolve() if engine.root else None

    class Handler(BaseHTTPRequestHandler):
        server_version = "manual-qa"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict) -> None:
            self._send(status, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; charset=utf-8")

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, PAGE, "text/html; charset=utf-8")
            elif path == "/api/health":
                self._json(HTTPStatus.OK, {"ok": True, "chunks": engine.retriever.collection.count()})
            elif path.startswith("/manuals/"):
                self._manual(unquote(path[len("/manuals/"):]))
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})

        def _manual(self, rel: str) -> None:
            if root is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "no manuals root known"})
                return
            target = (root / rel).resolve()
            if root not in target.parents or not target.is_file():  # no escaping the manuals root
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such manual: {rel}"})
                return
            raw = target.read_bytes()
            if is_html_name(target.name):
                try:  # re-encode legacy pages as UTF-8 so every browser shows clean Hangul
                    text, _ = decode_html(raw, target.name)
                    self._send(HTTPStatus.OK, text.encode("utf-8"), "text/html; charset=utf-8")
                    return
                except DecodeError:
                    pass
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self._send(HTTPStatus.OK, raw, kind)

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            if urlsplit(self.path).path != "/api/ask":
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0 or length > MAX_BODY:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "send a JSON body of at most 64 KB"})
                return
            try:
                body = json.loads(self.rfile.read(length))
                question = str(body["question"]).strip()
                top_k = int(body.get("top_k") or 0) or None
            except (ValueError, KeyError, TypeError):
                self._json(HTTPStatus.BAD_REQUEST, {"error": 'expected {"question": "..."}'})
                return
            if not question:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "the question is empty"})
                return
            filters = Filters(lang=body.get("lang") or None, under=body.get("under") or None)
            with lock:
                result = engine.ask(question, body.get("id"), top_k, filters)
            for source in result["sources"]:
                if "://" not in source["url"]:
                    source["href"] = "/manuals/" + source["url"]
            self._json(HTTPStatus.OK, result)

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m query.server")
    parser.add_argument("--storage", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    engine = Engine(get_settings(), args.storage)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(engine))
    print(f"manual-qa on http://{args.host}:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
