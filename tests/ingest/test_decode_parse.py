"""Decoding (EUC-KR, BOM, hints, bad bytes) and section structure (anchors, breadcrumbs, links)."""

import codecs

import pytest

from core.htmlfile import DecodeError, decode_html
from ingest.parse import parse_page
from tests.helpers import FIXTURES


def test_euc_kr_page_decodes_to_clean_hangul():
    raw = (FIXTURES / "billing" / "suspend.html").read_bytes()
    text, encoding = decode_html(raw, "suspend.html")
    assert encoding == "cp949"
    assert "일시 정지 신청" in text and "4,400원" in text
    assert "\ufffd" not in text


def test_file_name_hint_and_bom():
    body = "<html><body><p>한글 안내문</p></body></html>"
    assert decode_html(body.encode("euc_kr"), "page.html.ko.euc-kr")[0] == body
    assert decode_html(codecs.BOM_UTF8 + body.encode("utf-8"), "page.html")[0] == body
    assert decode_html(body.encode("utf-16"), "page.html")[0] == body


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "empty file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (b'<html><head><meta charset="utf-8"></head><body>\xff\xfe\xfa broken</body></html>', "undecodable"),
    ],
)
def test_bad_bytes_are_reported_with_a_reason(raw, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_html(raw, "bad.html")


def _page(name: str):
    raw = (FIXTURES / name).read_bytes()
    return parse_page(decode_html(raw, name)[0], name)


def test_sections_know_anchor_breadcrumb_language_and_links():
    page = _page("plans.html")
    assert page.lang == "ko" and page.title == "별빛 인터넷 요금제 안내"
    by_anchor = {s.anchor: s for s in page.sections}
    install = by_anchor["install"]
    assert install.heading_path == ["별빛 인터넷 요금제", "상품 사양", "설치 일정"]
    attachment = [l for l in install.links if l.kind == "attachment"][0]
    assert attachment.target == "forms/signup.pdf"
    cross = [l for s in page.sections for l in s.links if l.kind == "manual"]
    assert any(l.target == "billing/cancel.html" for l in cross)
    # page chrome repeated across the store is dropped: tests/test_boilerplate.py


def test_permalink_and_a_name_anchors():
    page = _page("en/guide.html.en")
    anchors = [s.anchor for s in page.sections]
    assert "daily" in anchors  # the permalink target wins over the other anchor in the heading
    assert "refund" in anchors  # <a name> placed just before the heading
    assert page.lang == "en"
    suspend = _page("billing/suspend.html")
    assert [s.anchor for s in suspend.sections if s.tables] == ["limits"]


def test_a_heading_takes_the_id_of_the_section_element_it_opens():
    """HTML5 generators put the jump target on `<section id>` (or an empty element just
    before the heading); a page-wide wrapper's id never becomes a section's anchor, and
    the page title keeps the plain page link."""
    html = """<html lang="en"><head><title>Router setup</title></head><body><div id="content">
    <section id="router-setup"><h1>Router setup</h1><p>Set up the home router before the first call.</p>
    <section id="wifi-password"><h2>Change the Wi-Fi password</h2><p>Open the admin page and choose Wireless.</p>
    <section id="guest-network"><div class="title"><h3>Guest network</h3></div><p>Guests get a separate network.</p></section>
    </section><section id="factory-reset"><h2>Factory reset</h2><p>Hold the reset button for ten seconds.</p></section>
    </section><span id="billing"></span><h2>Billing</h2><p>The router is billed with the line.</p>
    </section></div></body></html>"""
    page = parse_page(html, "router/setup.html")
    anchors = {s.heading_path[-1]: s.anchor for s in page.sections}
    assert anchors == {"Router setup": None, "Change the Wi-Fi password": "wifi-password",
                       "Guest network": "guest-network", "Factory reset": "factory-reset", "Billing": "billing"}
    topic = parse_page("""<html><head><title>Reset</title></head><body><div id="main"><h2>Reset the router</h2>
        <p>Hold the button.</p><h3>After a reset</h3><p>Set the password again.</p></div></body></html>""", "reset.html")
    assert [s.anchor for s in topic.sections] == [None, None]  # the page's wrapper names no section


def test_a_page_laid_out_in_a_table_is_read_as_sections():
    """Older help pages sit inside one big layout table: its headings still open sections
    with their anchors, the navigation cell is dropped, a one-cell note box is text, and
    the real data table inside keeps its table reading."""
    html = """<html><head><title>프린터 설정</title></head><body>
    <table width="100%" border="0"><tr><td><a href="index.html">처음</a> | <a href="next.html">다음 &gt;&gt;</a></td></tr>
    <tr><td><h1>프린터 설정</h1><p>프린터를 처음 연결하면 드라이버를 설치해야 합니다.</p>
    <h2 id="paper">용지 크기</h2><p>기본 용지 크기는 A4입니다.</p>
    <table border="1"><tr><th>항목</th><th>기본값</th></tr><tr><td>용지</td><td>A4</td></tr><tr><td>방향</td><td>세로</td></tr></table>
    <table><tr><td><b>참고</b> 양면 인쇄는 지원되지 않습니다.</td></tr></table>
    <h2 id="color">컬러 인쇄</h2><p>컬러 인쇄는 [설정] 메뉴에서 켭니다.</p></td></tr></table></body></html>"""
    page = parse_page(html, "printer.html")
    by_anchor = {s.anchor: s for s in page.sections}
    assert set(by_anchor) == {None, "paper", "color"}
    assert by_anchor[None].blocks == ["프린터를 처음 연결하면 드라이버를 설치해야 합니다."]
    paper = by_anchor["paper"]
    assert paper.heading_path == ["프린터 설정", "용지 크기"]
    assert paper.blocks == ["기본 용지 크기는 A4입니다.", "참고 양면 인쇄는 지원되지 않습니다."]
    assert [[cell.text for cell in row] for row in paper.tables[0].grid] == [["항목", "기본값"], ["용지", "A4"], ["방향", "세로"]]
    assert by_anchor["color"].blocks == ["컬러 인쇄는 [설정] 메뉴에서 켭니다."]


def test_lines_ended_by_br_stay_apart():
    """A page written without `<p>` or `<li>` keeps its steps and rows as lines, so a step
    list reads as steps and a row as `label: value`; source newlines stay whitespace."""
    html = """<html><head><title>설치</title></head><body><h1>설치</h1>
    <p>프로그램을 설치하려면
    다음과 같이 합니다.<br>1. 설치 파일을 내려받습니다.<br>2. setup.exe를 실행합니다.<br><br>
    설치 경로: C:\\Editor<br>필요 공간: 200MB</p></body></html>"""
    blocks = [b for s in parse_page(html, "setup.html").sections for b in s.blocks]
    assert blocks == ["프로그램을 설치하려면 다음과 같이 합니다.", "1. 설치 파일을 내려받습니다.",
                      "2. setup.exe를 실행합니다.", "설치 경로: C:\\Editor", "필요 공간: 200MB"]
