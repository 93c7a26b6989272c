"""The desk page's sign-in: the API key goes into an HttpOnly cookie, never into the page.

    POST /api/login   with `Authorization: Bearer <key>` -> {"user"}; sets the cookie
    GET  /api/login   -> {"user"} when the request is signed in (401 otherwise, from query.desk.auth)
    POST /api/logout  -> clears the cookie (open: a revoked key must still be clearable)

Why a cookie and not the page's storage: anything in localStorage or sessionStorage is
readable by every script on the origin, and the desk serves untrusted manuals under
`/manuals/` (query.desk.manual_policy sandboxes them, the cookie is the second wall). An
HttpOnly cookie is sent by the browser but readable by no script; Path=/api/ keeps it off
every other URL; SameSite=Strict and query.desk.auth's `X-Requested-With` check keep other sites
from using it. The key is checked by query.desk.auth before the handler runs (the same check as
every API call), so a wrong key never becomes a cookie. The cookie lasts 30 days, as the
agent would expect from a key field that remembered the key before.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from core.settings import Settings
from query.desk.auth import KEY_COOKIE, current_user, load_keys

COOKIE_DAYS = 30


def login_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    keys_required = bool(load_keys(settings.api_keys))

    def cookie_args(request: Request) -> dict:
        return dict(path="/api/", httponly=True, samesite="strict", secure=request.url.scheme == "https")

    @router.post("/api/login")
    def login(request: Request, user: str = Depends(current_user)) -> JSONResponse:
        """Remember the key this request was authorised with (query.desk.auth has checked it)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not keys_required:
            return JSONResponse({"error": {"message": "this server takes no API keys (API_KEYS is not set)",
                                           "type": "invalid_request_error"}}, status_code=400)
        if scheme.lower() != "bearer" or not token.strip():
            return JSONResponse({"error": {"message": "send the key as 'Authorization: Bearer <key>'",
                                           "type": "invalid_request_error"}}, status_code=400)
        response = JSONResponse({"user": user})
        response.set_cookie(KEY_COOKIE, token.strip(), max_age=COOKIE_DAYS * 86400, **cookie_args(request))
        return response

    @router.get("/api/login")
    def whoami(user: str = Depends(current_user)) -> dict:
        return {"user": user, "keys_required": keys_required}

    @router.post("/api/logout")
    def logout(request: Request) -> JSONResponse:
        response = JSONResponse({"signed_out": True})
        response.delete_cookie(KEY_COOKIE, **cookie_args(request))
        return response

    return router
