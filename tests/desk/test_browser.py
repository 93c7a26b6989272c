"""The agents' page in a real browser: Playwright driving Debian's Chromium.

Install the browser with `apt-get install -y chromium` (`.ci/run` does it); Playwright's
own browser download is not used (these machines cannot reach it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from query.ops.querylog import open_log
from query.ops.report import run as report_run
from query.desk.server import create_app, load
from query.desk.sessions import SessionStore
from tests.helpers import make_settings
from tests.live_server import serve
from tests.openai_stub import StubOpenAI

pytestmark = pytest.mark.slow  # a real browser / a live server process / `chroma run`

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
# Screenshots go to a throwaway folder: tests never rewrite tracked files. `make screenshots`
# sets SCREENSHOT_DIR=reports to refresh the README's pictures on purpose.
SHOTS = Path(os.environ.get("SCREENSHOT_DIR") or tempfile.mkdtemp(prefix="manual-qa-shots-"))
SCREENSHOT = SHOTS / "web_page.png"
FEEDBACK_SCREENSHOT = SHOTS / "web_feedback.png"
STANDALONE = "인터넷 해지 위약금은 2년 넘게 사용하면 얼마인가요?"

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' installs playwright")
sync_api.expect.set_options(timeout=30_000)  # a shared 2-core CI machine can be slow; passing runs take ~1 s per step
if not Path(CHROMIUM).exists():
    pytest.skip("no Chromium: install it with `apt-get install -y chromium` (or set CHROMIUM=/path)",
                allow_module_level=True)


def _reply(body: dict) -> str:
    messages = body["messages"]
    if messages[0]["content"].startswith("Rewrite the user's last message"):
        return STANDALONE
    if "2년" in messages[-1]["content"].rsplit("Question:", 1)[-1]:
        return "2년 이상 사용했다면 위약금은 46,000원입니다 [1]."
    return "위약금은 사용 기간에 따라 1년 미만 138,000원, 1년 이상 2년 미만 92,000원입니다 [1]. 무약정 고객은 위약금이 없습니다 [1]."


@pytest.fixture(scope="module")
def site(built_store, tmp_path_factory):
    _, settings = built_store
    with StubOpenAI() as stub:
        stub.reply_with(_reply)
        settings = make_settings(settings.storage_dir, openai_base_url=stub.base_url, openai_api_key="test",
                                 llm_max_retries=0)
        engine = load(settings, None)  # models loaded and warmed, as the server does
        engine.cache = None
        private = tmp_path_factory.mktemp("web-sessions")
        sessions = SessionStore(private / "sessions.sqlite")
        log = open_log(settings, private)  # the report test reads it back from `private`
        with serve(create_app(engine, sessions, log)) as url:
            yield url, stub, private


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_conversation_in_the_page(site, browser):
    url, stub, _ = site
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ko-KR")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(url + "/")
    expect = sync_api.expect

    # ask: the sources appear while the model is still writing, then the streamed text
    stub.delay_next(1.5)
    page.fill("#q", "인터넷 해지 위약금은 얼마인가요?")
    page.keyboard.press("Enter")
    first = page.locator("section.turn").nth(0)
    expect(first.locator("ol.sources li").first).to_contain_text("위약금", timeout=30_000)
    expect(first.locator(".answer")).to_have_class("answer pending")
    expect(first.locator(".answer")).to_contain_text("138,000원", timeout=30_000)
    expect(first.locator(".footer")).to_contain_text("llm")

    # [1] highlights its source and opens the manual at the section
    cite = first.locator("a.cite").first
    with context.expect_page() as popup:
        cite.click()
    manual = popup.value
    manual.wait_for_load_state()
    assert manual.url.startswith(url + "/manuals/billing/cancel.html#"), manual.url
    anchor = manual.url.split("#", 1)[1]
    assert manual.locator(f"[id='{anchor}'], [name='{anchor}']").count() >= 1
    assert "위약금" in manual.content()
    manual.close()
    expect(first.locator("ol.sources li.hl")).to_have_count(1)

    # Shift+Enter is a new line, Enter sends: a follow-up in the same conversation
    page.fill("#q", "그럼")
    page.keyboard.press("Shift+Enter")
    assert page.input_value("#q") == "그럼\n"
    page.fill("#q", "그럼 2년 넘게 쓰면요?")
    page.keyboard.press("Enter")
    second = page.locator("section.turn").nth(1)
    expect(second.locator(".answer")).to_contain_text("46,000원", timeout=30_000)
    expect(second.locator(".q .rw")).to_contain_text(STANDALONE)
    expect(page.locator("#sessions li")).to_have_count(1)
    expect(page.locator("#sessions li.current")).to_contain_text("인터넷 해지 위약금")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    # a new conversation starts empty; the old one can be resumed from the list
    page.click("#new")
    expect(page.locator("section.turn")).to_have_count(0)
    page.fill("#q", "How much does the daily roaming pass cost?")
    page.keyboard.press("Enter")
    expect(page.locator("section.turn .footer")).to_have_count(1, timeout=30_000)
    expect(page.locator("#sessions li")).to_have_count(2)
    page.locator("#sessions li", has_text="인터넷 해지 위약금").locator("button.open").click()
    expect(page.locator("section.turn")).to_have_count(2)
    expect(page.locator("section.turn").nth(1).locator(".answer")).to_contain_text("46,000원")

    # English interface
    page.select_option("#ui", "en")
    expect(page.locator("#new")).to_have_text("+ New conversation")
    expect(page.locator("button.copy").first).to_have_text("Copy with references")
    context.close()


def test_copy_with_references(site, browser):
    url, _, _ = site
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"], locale="ko-KR")
    page = context.new_page()
    page.goto(url + "/")
    page.select_option("#lang", "en")
    page.fill("#q", "How much does the daily roaming pass cost?")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator("button.copy")).to_have_count(1, timeout=30_000)
    page.click("button.copy")
    copied = page.evaluate("navigator.clipboard.readText()")
    answer, refs = copied.split("\n\n출처:\n")
    assert "[1]" in answer
    assert refs.startswith("[1] ") and f"{url}/manuals/en/guide.html.en#" in refs
    context.close()


def test_thumbs_down_with_a_reason_reaches_the_gap_report(site, browser, capsys):
    url, _, private = site
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="ko-KR")
    page = context.new_page()
    page.goto(url + "/")
    expect = sync_api.expect
    page.click("#new")
    page.fill("#q", "인터넷 해지 위약금은 얼마인가요?")
    page.keyboard.press("Enter")
    turn = page.locator("section.turn").last
    expect(turn.locator(".footer")).to_contain_text("llm", timeout=20_000)  # generous: 2 busy cores
    exchange_id = turn.locator(".feedback").get_attribute("data-exchange-id")
    assert exchange_id

    turn.locator("button.thumb.down").click()
    panel = turn.locator(".fbpanel")
    expect(panel.locator("button.chip")).to_have_count(5)
    expect(panel.locator("button.chip").nth(1)).to_have_text("오래된 정보")  # labels from the page's language
    panel.locator("button.chip[data-reason='outdated']").click()
    panel.locator("textarea.comment").fill("요금표가 작년 것입니다")
    expect(panel.locator("button.chip.on")).to_have_count(1)
    FEEDBACK_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(FEEDBACK_SCREENSHOT))
    panel.locator("button.send").click()
    expect(turn.locator(".feedback .thanks")).to_have_text("의견 고맙습니다", timeout=15_000)
    expect(turn.locator(".fbpanel")).to_have_count(0)
    context.close()

    capsys.readouterr()
    assert report_run(make_settings(private), private, None, True, private / "reports") == 0
    report = json.loads(capsys.readouterr().out)
    negative = [n for n in report["negative_feedback"] if n["exchange_id"] == exchange_id]
    assert negative, report["negative_feedback"]
    assert negative[0]["question"] == "인터넷 해지 위약금은 얼마인가요?"
    assert negative[0]["reasons"] == ["outdated"] and negative[0]["comments"] == ["요금표가 작년 것입니다"]
    assert negative[0]["cited"] and negative[0]["cited"][0].startswith("billing/cancel.html#")
    assert report["sections_cited_by_negative_answers"][0]["section"] == negative[0]["cited"][0]
