"""The pages: the agents' web page, its static files and the manuals themselves.

    GET /              the web page (conversation, streamed answers, clickable [n])
    GET /static/NAME   files beside the page
    GET /manuals/PATH  the manual itself, so `#anchor` links open the section (sandboxed, no
                       scripts: query.desk.manual_policy)
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.htmlfile import DecodeError, decode_html, is_html_name
from query.desk.errors import NotFound
from query.desk.manual_policy import desk_headers, manual_headers

WEB = Path(__file__).parent / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> HTMLResponse:
    html = (WEB / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=desk_headers(html))


@router.get("/static/{name}")
def static(name: str) -> Response:
    target = _inside(WEB.resolve(), name)
    if target is None or target.parent != WEB.resolve() or not target.is_file():
        raise NotFound(f"not found: /static/{name}")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return Response(target.read_bytes(), media_type=kind)


@router.get("/manuals/{rel:path}")
def manual(rel: str, request: Request) -> Response:
    root: Path | None = request.app.state.manuals_root
    if root is None:
        raise NotFound("no manuals root known")
    target = _inside(root, rel)
    if target is None or not target.is_file():  # no escaping the manuals root
        raise NotFound(f"no such manual: {rel}")
    raw = target.read_bytes()
    if is_html_name(target.name):
        try:  # re-encode legacy pages as UTF-8 so every browser shows clean Hangul
            text, _ = decode_html(raw, target.name)
            return HTMLResponse(text, headers=manual_headers("text/html"))
        except DecodeError:
            pass
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    # manuals are untrusted: no script of theirs runs with the desk's origin (query.desk.manual_policy)
    return Response(raw, media_type=kind, headers=manual_headers(kind))


def _inside(root: Path, rel: str) -> Path | None:
    """`root/rel` resolved, or None when it leaves `root` or cannot name a file at all (a NUL
    byte, `%00` in the URL: the OS refuses the name, which raised a 500 before)."""
    if "\x00" in rel:
        return None
    target = (root / rel).resolve()
    return target if root in target.parents else None
