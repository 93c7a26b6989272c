"""Access control on a tiny FastAPI app (the lead mounts the same middleware on the server)."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from query.desk.auth import AccessControl, AuthConfigError, RateLimiter, current_user, hash_key, load_keys, main
from tests.helpers import make_settings

KEY, OTHER = "mqa-secret-one", "mqa-secret-two"


LOOPBACK = ("127.0.0.1", 50000)  # where a proxy on the same host connects from


def client(tmp_path, peer: tuple[str, int] = LOOPBACK, **overrides) -> TestClient:
    app = FastAPI()

    @app.get("/")
    def page():
        return {"page": True}

    @app.post("/api/ask")
    def ask(user: str = Depends(current_user)):
        return {"user": user}

    @app.get("/v1/models")
    def models(user: str = Depends(current_user)):
        return {"user": user}

    app.add_middleware(AccessControl, settings=make_settings(tmp_path, **overrides))
    return TestClient(app, client=peer)


def test_off_by_default(tmp_path):
    c = client(tmp_path)
    assert c.post("/api/ask").json() == {"user": ""}


def test_api_keys_from_the_environment(tmp_path):
    c = client(tmp_path, api_keys=f"{hash_key(KEY)},{hash_key(OTHER)}")
    assert c.get("/").status_code == 200  # the page itself is not guarded
    missing = c.post("/api/ask")
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["error"]["message"]
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = c.get("/v1/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["message"] == "invalid API key"
    ok = c.post("/api/ask", headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200 and ok.json()["user"] == f"key-{hash_key(KEY)[:8]}"


def test_api_keys_file_names_users(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(f"# agents\n{hash_key(KEY)} agent7\n\n{hash_key(OTHER)}  # script\n", encoding="utf-8")
    c = client(tmp_path, api_keys=str(keys))
    assert c.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).json() == {"user": "agent7"}
    assert c.get("/v1/models", headers={"Authorization": f"Bearer {OTHER}"}).status_code == 200


def test_bad_configuration_is_a_clear_error(tmp_path):
    with pytest.raises(AuthConfigError, match="sha256 hex digest"):
        load_keys("not-a-digest")
    with pytest.raises(AuthConfigError, match="does not exist"):
        load_keys(str(tmp_path / "missing"))


def test_trusted_proxy_header(tmp_path):
    c = client(tmp_path, auth_user_header="X-Forwarded-User")
    assert c.post("/api/ask", headers={"X-Forwarded-User": "kim.agent"}).json() == {"user": "kim.agent"}
    refused = c.post("/api/ask")
    assert refused.status_code == 401 and "x-forwarded-user" in refused.json()["error"]["message"]
    both = client(tmp_path, auth_user_header="X-Forwarded-User", api_keys=hash_key(KEY))
    assert both.post("/api/ask", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_rate_limit_per_user(tmp_path):
    c = client(tmp_path, auth_user_header="X-Forwarded-User", rate_limit_per_minute=2)
    for _ in range(2):
        assert c.post("/api/ask", headers={"X-Forwarded-User": "a"}).status_code == 200
    limited = c.post("/api/ask", headers={"X-Forwarded-User": "a"})
    assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
    assert "2 requests per minute" in limited.json()["error"]["message"]
    assert c.post("/api/ask", headers={"X-Forwarded-User": "b"}).status_code == 200  # another user


def test_sliding_window():
    limiter = RateLimiter(2)
    assert limiter.check("u", now=0) == 0 and limiter.check("u", now=10) == 0
    assert limiter.check("u", now=30) == pytest.approx(30)
    assert limiter.check("u", now=60.5) == 0


def test_key_commands(capsys):
    assert main(["hash", KEY]) == 0
    assert capsys.readouterr().out.strip() == hash_key(KEY)
    main(["new", "--user", "agent9"])
    out = capsys.readouterr().out
    import json

    made = json.loads(out)
    assert made["api_keys_line"] == f"{hash_key(made['key'])} agent9"


def test_feedback_endpoint_records_the_user(tmp_path):
    from query.desk import errors
    from query.desk.feedback_api import feedback_router
    from query.ops.querylog import QueryLog

    log = QueryLog(f"sqlite:///{tmp_path / 'log.sqlite'}")
    log.record_exchange({"question": "q", "answer": "a", "sources": []}, exchange_id="ex1", user="kim")
    app = FastAPI()
    errors.install(app)
    app.include_router(feedback_router(lambda: log))
    app.add_middleware(AccessControl, settings=make_settings(tmp_path, auth_user_header="X-Forwarded-User"))
    c = TestClient(app, client=LOOPBACK)
    who = {"X-Forwarded-User": "kim"}
    assert c.get("/api/feedback/reasons", headers=who).json()["reasons"][:2] == ["wrong", "outdated"]
    made = c.post("/api/feedback", headers=who, json={"exchange_id": "ex1", "rating": "down",
                                                       "reasons": ["wrong_source"], "comment": "call 010-2345-6789"})
    assert made.status_code == 201
    assert c.post("/api/feedback", json={"exchange_id": "ex1", "rating": "up"}).status_code == 401
    missing = c.post("/api/feedback", headers=who, json={"exchange_id": "nope", "rating": "up"})
    assert missing.status_code == 404 and "no logged exchange" in missing.json()["error"]["message"]
    assert c.post("/api/feedback", headers=who, json={"exchange_id": "ex1", "rating": "up",
                                                      "reasons": ["rude"]}).status_code == 400
    (stored,) = log.get("ex1").feedback
    assert (stored.user, stored.rating, stored.reasons, stored.comment) == ("kim", -1, "wrong_source", "call <PHONE>")
    log.close()


def test_proxy_header_is_believed_only_from_trusted_proxies(tmp_path):
    """A client that reaches the port directly cannot claim a user (nor dodge its rate limit)."""
    header = {"X-Forwarded-User": "kim.agent"}
    direct = client(tmp_path, peer=("10.1.2.3", 40000), auth_user_header="X-Forwarded-User",
                    api_keys=hash_key(KEY), rate_limit_per_minute=1)
    refused = direct.post("/api/ask", headers=header)
    assert refused.status_code == 403, refused.text
    assert "TRUSTED_PROXIES" in refused.json()["error"]["message"] and "10.1.2.3" in refused.json()["error"]["message"]
    # a fresh name per request would have escaped the limit: every one is refused instead
    assert all(direct.post("/api/ask", headers={"X-Forwarded-User": f"u{i}"}).status_code == 403 for i in range(3))
    # a script on that host still uses its API key
    assert direct.post("/api/ask", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    # the proxy itself (loopback by default) is believed
    assert client(tmp_path, auth_user_header="X-Forwarded-User").post("/api/ask", headers=header).json() == {
        "user": "kim.agent"}
    # a proxy on another host, named in TRUSTED_PROXIES (CIDR), is believed; loopback then is not
    remote = client(tmp_path, peer=("10.1.2.3", 40000), auth_user_header="X-Forwarded-User",
                    trusted_proxies="10.1.0.0/16")
    assert remote.post("/api/ask", headers=header).json() == {"user": "kim.agent"}
    assert client(tmp_path, auth_user_header="X-Forwarded-User",
                  trusted_proxies="10.1.0.0/16").post("/api/ask", headers=header).status_code == 403
    # an IPv4 peer on a dual-stack socket arrives as ::ffff:127.0.0.1
    mapped = client(tmp_path, peer=("::ffff:127.0.0.1", 40000), auth_user_header="X-Forwarded-User")
    assert mapped.post("/api/ask", headers=header).status_code == 200


def test_trusted_proxies_must_be_addresses(tmp_path):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not an IP address or CIDR network"):
        make_settings(tmp_path, trusted_proxies="127.0.0.1,proxy.intranet")


def test_feedback_only_on_ones_own_exchange(tmp_path):
    from query.desk import errors
    from query.desk.feedback_api import feedback_router
    from query.ops.querylog import QueryLog

    log = QueryLog(f"sqlite:///{tmp_path / 'log.sqlite'}")
    log.record_exchange({"question": "q", "answer": "a", "sources": []}, exchange_id="kims", user="kim")
    log.record_exchange({"question": "q", "answer": "a", "sources": []}, exchange_id="anon", user="")
    app = FastAPI()
    errors.install(app)
    app.include_router(feedback_router(lambda: log))
    app.add_middleware(AccessControl, settings=make_settings(tmp_path, auth_user_header="X-Forwarded-User"))
    c = TestClient(app, client=LOOPBACK)
    lee, kim = {"X-Forwarded-User": "lee"}, {"X-Forwarded-User": "kim"}
    other = c.post("/api/feedback", headers=lee, json={"exchange_id": "kims", "rating": "down", "comment": "bad"})
    assert other.status_code == 404, other.text  # answered as unknown: another user's ids cannot be probed
    assert "no logged exchange" in other.json()["error"]["message"]
    assert log.get("kims").feedback == []
    assert c.post("/api/feedback", headers=kim, json={"exchange_id": "kims", "rating": "up"}).status_code == 201
    # an exchange logged before users were known belongs to no one
    assert c.post("/api/feedback", headers=lee, json={"exchange_id": "anon", "rating": "up"}).status_code == 201
    assert [f.user for f in log.get("kims").feedback] == ["kim"]
    log.close()
