"""The HTTP API and the manual links the web page opens."""

import json
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

import pytest

from query.server import make_handler


@pytest.fixture(scope="module")
def server(engine):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(engine))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_ask_returns_the_contract_with_openable_links(server):
    status, result = _post(server + "/api/ask", {"question": "일시 정지는 1년에 최대 며칠까지 가능한가요?", "top_k": 3})
    assert status == 200 and result["mode"] == "extractive"
    limits = [s for s in result["sources"][:2] if s["url"] == "billing/suspend.html#limits"]
    assert limits and limits[0]["href"] == "/manuals/billing/suspend.html#limits", result["sources"]
    with urllib.request.urlopen(server + "/manuals/billing/suspend.html", timeout=10) as page:
        assert page.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "정지 한도" in page.read().decode("utf-8")  # the EUC-KR manual served as clean UTF-8


def test_bad_requests_and_escapes_are_refused(server):
    assert _post(server + "/api/ask", {"q": "x"})[0] == 400
    assert _post(server + "/api/ask", {"question": "  "})[0] == 400
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server + "/manuals/../../../../etc/passwd", timeout=10)
    assert err.value.code == 404
    with urllib.request.urlopen(server + "/", timeout=10) as page:
        assert "매뉴얼 질의응답" in page.read().decode("utf-8")
