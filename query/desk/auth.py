"""Access control for the HTTP API: API keys or a trusted proxy header, and a per-user rate limit.

Off by default (the README's commands keep working). Mounted as ASGI middleware on the
FastAPI app; it guards only `/api/*` and `/v1/*`, so the page and static files load and the
page's own API calls carry the key or pass the proxy.

    API_KEYS=<sha256 hex>[,<sha256 hex>...]        digests in the environment, or
    API_KEYS=/etc/manual-qa/keys                    a file: one "<sha256 hex> [user name]" a line,
                                                    '#' comments allowed
    python -m query.auth new --user agent7          makes a key, prints it and its file line
    python -m query.auth hash KEY                   prints the digest of an existing key

Only digests are stored, so a leaked configuration does not leak keys. A request then needs
`Authorization: Bearer <key>`; the user logged is the name on the key's line (or
`key-<first 8 hex of the digest>`).

AUTH_USER_HEADER=X-Forwarded-User: behind a company proxy that authenticates agents, that
header names the user. It is believed only from the addresses in TRUSTED_PROXIES (default
loopback: a proxy on the same host); the header from any other address is refused with 403,
because anyone who reaches the port directly could write it and claim any user (and escape
that user's rate limit). The address checked is the TCP peer, never X-Forwarded-For, so the
server runs uvicorn with proxy_headers off (query.desk.server). Requests without the header may
still use an API key when API_KEYS is set (scripts inside the network).

The desk page signs in once: it posts the key to `/api/login` (query.desk.login_api), which puts
it in an HttpOnly cookie (`mqa_key`, Path=/api/, SameSite=Strict, Secure over https), so no
script in any page can read it — the page itself keeps nothing. A cookie counts only on a
request that also carries `X-Requested-With: manual-qa`: a custom header no other site can
send without a CORS preflight this server never grants, so a cookie alone cannot be used
for cross-site request forgery.

RATE_LIMIT_PER_MINUTE=N: at most N guarded requests per user in any 60 s (sliding window),
else 429 with Retry-After. Anonymous requests (no auth configured) count per client address.

Why our own ~100 lines rather than a library: FastAPI's `HTTPBearer` only parses the
header, and the rate-limit packages (slowapi, fastapi-limiter) key on the client address or
need Redis; we need the authenticated user as the key and one process's memory is enough
for a per-replica limit.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import re
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from starlette.requests import Request, cookie_parser

from core.settings import Settings
from query.desk.errors import error_app

GUARDED_PREFIXES = ("/api/", "/v1/")
KEY_COOKIE = "mqa_key"
PAGE_HEADER, PAGE_HEADER_VALUE = "x-requested-with", "manual-qa"
OPEN_PATHS = ("/api/logout",)  # forgetting a key needs none (a revoked key must still be clearable)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class AuthConfigError(ValueError):
    """API_KEYS cannot be read; the message says which entry and why."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


def load_keys(value: str) -> dict[str, str]:
    """digest -> user name, from API_KEYS (digests, or a path to a file of them)."""
    value = value.strip()
    if not value:
        return {}
    path = Path(value).expanduser()
    if "/" in value or path.exists():
        if not path.is_file():
            raise AuthConfigError(f"API_KEYS names a file that does not exist: {path}")
        entries = [(f"{path}:{n}", line.split("#", 1)[0].strip())
                   for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)]
    else:
        entries = [(f"API_KEYS entry {n}", item.strip()) for n, item in enumerate(value.split(","), start=1)]
    keys: dict[str, str] = {}
    for where, entry in entries:
        if not entry:
            continue
        digest, _, user = entry.replace(":", " ", 1).partition(" ")
        digest = digest.lower()
        if not _HEX64.match(digest):
            raise AuthConfigError(f"{where}: expected a sha256 hex digest (64 characters), got {digest[:12]!r}...; "
                                  "make one with `python -m query.auth hash KEY`")
        keys[digest] = user.strip() or f"key-{digest[:8]}"
    if not keys:
        raise AuthConfigError("API_KEYS is set but holds no key digest")
    return keys


class RateLimiter:
    """At most `per_minute` events per key in any 60 s window (in this process)."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now: float | None = None) -> float:
        """0 when allowed (and counted); otherwise the seconds until the next request is allowed."""
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.per_minute:
                return max(0.001, events[0] + self.window - now)
            events.append(now)
            return 0.0


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None):
    # Middleware runs outside FastAPI's handlers: the desk's one error path gives the body
    # (the /api shape, or OpenAI's under /v1).
    return error_app(status, message, kind, headers)


class _Refused(Exception):
    """A request that names a user it may not name (403, not 401: a key would not help)."""


class AccessControl:
    """ASGI middleware: `app.add_middleware(AccessControl, settings=settings)`.

    Sets `request.state.user` ("" when anonymous) for the handlers and the query log."""

    def __init__(self, app, settings: Settings, prefixes: tuple[str, ...] = GUARDED_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes
        self.keys = load_keys(settings.api_keys)
        self.header = settings.auth_user_header.strip().lower()
        self.proxies = [ipaddress.ip_network(v.strip(), strict=False)
                        for v in settings.trusted_proxies.split(",") if v.strip()]
        self.limiter = RateLimiter(settings.rate_limit_per_minute)

    @property
    def enabled(self) -> bool:
        return bool(self.keys or self.header)

    def trusted(self, peer: str) -> bool:
        """Is the TCP peer one of TRUSTED_PROXIES? (A non-IP peer, e.g. a test client, is not.)"""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        if getattr(address, "ipv4_mapped", None):  # ::ffff:127.0.0.1 on a dual-stack socket
            address = address.ipv4_mapped
        return any(address in network for network in self.proxies)

    def identify(self, headers: dict[str, str], peer: str = "") -> tuple[str | None, str]:
        """(user, "") when allowed, (None, why) when not."""
        if self.header and headers.get(self.header, "").strip():
            if not self.trusted(peer):
                raise _Refused(f"the {self.header} header is only accepted from the proxy (TRUSTED_PROXIES); "
                               f"this request came from {peer or 'an unknown address'}")
            return headers[self.header].strip(), ""
        if self.keys:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if not headers.get("authorization") and headers.get(PAGE_HEADER) == PAGE_HEADER_VALUE:
                scheme, token = "bearer", cookie_parser(headers.get("cookie", "")).get(KEY_COOKIE, "")
            if scheme.lower() != "bearer" or not token.strip():
                hint = f" (or come through the proxy that sets {self.header})" if self.header else ""
                return None, f"missing API key: send 'Authorization: Bearer <key>'{hint}"
            user = self.keys.get(hash_key(token))
            return (user, "") if user else (None, "invalid API key")
        if self.header:
            return None, f"missing {self.header} header: this server only answers through the company proxy"
        return "", ""

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] != "http" or not scope["path"].startswith(self.prefixes) or scope.get("method") == "OPTIONS"
                or scope["path"] in OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        client = (scope.get("client") or ("", 0))[0]
        try:
            user, why = self.identify(headers, client)
        except _Refused as refused:
            await _error(403, str(refused), "permission_error")(scope, receive, send)
            return
        if user is None:
            await _error(401, why, "authentication_error", {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        retry = self.limiter.check(user or f"addr:{client}")
        if retry:
            seconds = int(retry) + 1
            await _error(429, f"rate limit: {self.limiter.per_minute} requests per minute per user; "
                              f"retry in {seconds} s", "rate_limit_error",
                         {"Retry-After": str(seconds)})(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def current_user(request: Request) -> str:
    """FastAPI dependency: the authenticated user ("" when anonymous), for the query log."""
    return getattr(request.state, "user", "") or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m query.auth", description="Make or hash API keys.")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="make a random key; print it and its line for the API_KEYS file")
    new.add_argument("--user", default="", help="name logged for this key")
    hashed = sub.add_parser("hash", help="print the sha256 digest of KEY (API_KEYS accepts digests)")
    hashed.add_argument("key")
    args = parser.parse_args(argv)
    if args.command == "hash":
        print(hash_key(args.key))
        return 0
    key = "mqa-" + secrets.token_urlsafe(32)
    print(json.dumps({"key": key, "api_keys_line": f"{hash_key(key)} {args.user}".strip()}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
