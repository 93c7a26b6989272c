"""The desk's walls without a browser (issue 19): manuals are served sandboxed, and the
page's sign-in cookie is HttpOnly and useless without the page's own header."""

from __future__ import annotations

import httpx
import pytest

from query.desk.auth import hash_key
from query.desk.server import create_app
from query.desk.sessions import SessionStore
from tests.live_server import serve
from tests.desk.test_desk_log import _engine_with

KEY = "mqa-cookie-key-agent7"
PAGE = {"X-Requested-With": "manual-qa"}


@pytest.fixture(scope="module")
def keyed(engine, tmp_path_factory):
    base = tmp_path_factory.mktemp("keyed")
    app = create_app(_engine_with(engine, api_keys=f"{hash_key(KEY)}:agent7"), SessionStore(base / "s.sqlite"))
    with serve(app) as url:
        yield url


def test_manuals_are_served_sandboxed_without_scripts(keyed):
    page = httpx.get(keyed + "/manuals/billing/cancel.html", timeout=10)
    assert page.status_code == 200 and "위약금" in page.text
    policy = page.headers["content-security-policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}
    assert "sandbox" in directives and "allow-scripts" not in directives["sandbox"]
    assert "allow-same-origin" not in directives["sandbox"]  # an opaque origin: no storage, no cookies
    assert directives["default-src"] == ["'none'"] and "script-src" not in directives
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_desk_runs_only_its_own_script_and_cannot_be_framed(keyed):
    page = httpx.get(keyed + "/", timeout=10)
    policy = page.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy


def test_sign_in_sets_an_httponly_cookie_that_only_the_page_can_use(keyed):
    with httpx.Client(base_url=keyed, timeout=10) as client:
        assert client.post("/api/login", headers={"Authorization": "Bearer wrong", **PAGE}).status_code == 401
        assert "mqa_key" not in client.cookies  # a wrong key never becomes a cookie
        signed = client.post("/api/login", headers={"Authorization": f"Bearer {KEY}", **PAGE})
        assert signed.status_code == 200 and signed.json()["user"] == "agent7"
        cookie = signed.headers["set-cookie"]
        for attribute in ("HttpOnly", "Path=/api/", "SameSite=strict"):
            assert attribute.lower() in cookie.lower(), cookie
        # the page's calls: the cookie and the page's header
        assert client.get("/api/sessions", headers=PAGE).status_code == 200
        assert client.get("/api/login", headers=PAGE).json() == {"user": "agent7", "keys_required": True}
        # the cookie alone (a form posted from another site, a plain link) is not enough
        forged = client.post("/api/sessions")
        assert forged.status_code == 401, forged.text
        # signing out needs no key (a revoked one must still be clearable) and forgets it
        assert client.post("/api/logout").status_code == 200
        assert client.get("/api/sessions", headers=PAGE).status_code == 401


def test_sign_in_on_a_server_without_keys_is_refused(server_without_keys):
    made = httpx.post(server_without_keys + "/api/login", headers={"Authorization": "Bearer x", **PAGE}, timeout=10)
    assert made.status_code == 400 and "API_KEYS" in made.json()["error"]["message"]
    assert "set-cookie" not in made.headers
    assert httpx.get(server_without_keys + "/api/login", timeout=10).json() == {"user": "", "keys_required": False}


@pytest.fixture(scope="module")
def server_without_keys(engine, tmp_path_factory):
    with serve(create_app(engine, SessionStore(tmp_path_factory.mktemp("open") / "s.sqlite"))) as url:
        yield url


def test_the_real_server_checks_the_proxy_itself_not_x_forwarded_for(built_store, tmp_path):
    """`python -m query.server` behind a proxy on the same host: the proxy forwards the agent's
    address in X-Forwarded-For, and the user header is still believed: uvicorn must not swap
    the peer for that address (with its proxy-header rewriting on, this request is refused,
    and a client could name any address in TRUSTED_PROXIES as its own)."""
    import shutil
    import subprocess
    import sys

    from tests.helpers import ROOT
    from tests.servers import _stop, env, free_port, wait_http

    base, _ = built_store
    storage = tmp_path / "storage"
    shutil.copytree(base / "storage", storage)  # the server writes its sessions beside the index
    port = free_port()
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "query.server", "--storage", str(storage), "--port", str(port)],
                                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=env(AUTH_USER_HEADER="X-Forwarded-User", QUERY_LOG="false", API_KEYS="",
                                        TRUSTED_PROXIES="127.0.0.1/8,::1", RATE_LIMIT_PER_MINUTE="0"))
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/", proc, 120)  # the page is not guarded
            proxied = httpx.get(url + "/api/sessions", timeout=10,
                                headers={"X-Forwarded-User": "kim.agent", "X-Forwarded-For": "10.20.30.40"})
            assert proxied.status_code == 200, proxied.text
        finally:
            _stop(proc)


def test_a_probe_without_a_key_sees_only_that_the_desk_is_up(keyed):
    """A load balancer's health check carries no key: /healthz answers it and says nothing
    more; the counters of /api/health stay behind the keys."""
    probe = httpx.get(keyed + "/healthz", timeout=10)
    assert probe.status_code == 200 and probe.json()["ok"] is True and set(probe.json()) == {"ok", "generation"}
    assert httpx.get(keyed + "/api/health", timeout=10).status_code == 401
    assert httpx.get(keyed + "/api/health", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).json()["in_flight"] == 0
