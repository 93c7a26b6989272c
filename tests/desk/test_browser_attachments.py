"""An answer from inside an attachment, in the page: the source says where in the file and
which manual links to it, and clicking it opens the PDF at that page (Chromium's viewer)."""

from __future__ import annotations

import pytest

from ingest.run import ingest
from query.desk.server import create_app, load
from query.desk.sessions import SessionStore
from tests.desk.test_browser import ARGS, CHROMIUM, SHOTS, sync_api
from tests.helpers import make_settings
from tests.ingest.test_attachments import attachment_manuals
from tests.live_server import serve

pytestmark = pytest.mark.slow
QUESTION = "서비스 장애가 연속 3시간 이상 이어지면 얼마를 배상받나요?"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    base = tmp_path_factory.mktemp("attach-desk")
    manuals = attachment_manuals(base / "manuals")
    settings = make_settings(base / "storage", ocr="off")
    assert ingest([manuals], settings, progress=False).files.failed == 0
    engine = load(settings, None)
    with serve(create_app(engine, SessionStore(base / "sessions.sqlite"))) as url:
        yield url


def test_clicking_an_attachment_source_opens_the_pdf_at_its_page(site):
    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ko-KR")
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(site + "/")
        page.fill("#q", QUESTION)
        page.keyboard.press("Enter")
        turn = page.locator("section.turn").nth(0)
        expect(turn.locator(".answer")).to_contain_text("8배", timeout=60_000)

        top = turn.locator("ol.sources li").first
        expect(top.locator(".meta").first).to_contain_text("첨부 PDF · p. 3 · forms/terms.pdf#page=3")  # where in the file
        linked = top.locator(".linked a")
        expect(linked).to_have_count(1)  # and which manual section links to it
        assert linked.get_attribute("href").startswith("/manuals/forms.html")
        page.screenshot(path=str(SHOTS / "web_attachment_source.png"))

        served = []
        context.on("response", lambda r: served.append(r) if "/manuals/forms/" in r.url else None)
        with context.expect_page() as popup:
            top.locator("a").first.click()
        viewer = popup.value
        viewer.wait_for_load_state()
        assert viewer.url == site + "/manuals/forms/terms.pdf#page=3", viewer.url
        assert [(r.status, r.headers["content-type"]) for r in served][:1] == [(200, "application/pdf")]
        viewer.wait_for_timeout(1500)  # let the viewer draw the page for the screenshot
        viewer.screenshot(path=str(SHOTS / "web_attachment_pdf.png"))
        browser.close()
