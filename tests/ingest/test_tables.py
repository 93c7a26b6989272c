"""Tables become prose that keeps every value, plus a searchable markdown form."""

from bs4 import BeautifulSoup

from ingest.tables import markdown, parse_table, prose
from tests.helpers import FIXTURES


def _tables(name: str):
    soup = BeautifulSoup((FIXTURES / name).read_text(encoding="utf-8"), "lxml")
    return [parse_table(t) for t in soup.find_all("table") if t.find_parent("table") is None]


def test_every_cell_value_survives_into_prose():
    for name in ("plans.html", "billing/cancel.html", "en/guide.html.en"):
        for table in _tables(name):
            text = prose(table)
            missing = [v for v in table.values() if v not in text]
            assert not missing, f"{name}: {missing} missing from prose:\n{text}"


def test_rowspan_and_grouped_headers_are_stated_on_every_row():
    price = _tables("plans.html")[0]
    rows = prose(price).split("\n")
    assert rows[0] == "2026년 인터넷 월 요금 (VAT 포함)"
    # The rowspan value 광랜 is repeated on the second row it covers; colspan headers compose.
    assert "상품군: 광랜; 요금제: 베이직 500M; 월 요금 / 무약정: 38,500원; 월 요금 / 3년 약정: 33,000원." in rows


def test_key_value_and_nested_tables():
    spec = _tables("plans.html")[1]
    text = prose(spec)
    assert "기본 약정: 3년." in text
    assert "와이파이6" in text and "월 2,200원" in text  # nested table values kept inline


def test_markdown_keeps_exact_values():
    md = markdown(_tables("billing/cancel.html")[0])
    assert "| 1년 미만 | 138,000원 |" in md


def _table(html: str):
    return parse_table(BeautifulSoup(html, "lxml").find("table"))


def test_a_header_row_marked_by_looks_only_names_the_values():
    """Exported HTML marks a header by bold text or a shaded row, not `<th>`: each value is
    still stated with its column's label. A plain first row stays a body row."""
    bold = _table("""<table border=1><tr><td><b>요금제</b></td><td><b>월 요금</b></td><td><b>데이터</b></td></tr>
        <tr><td>베이직</td><td>33,000원</td><td>10GB</td></tr><tr><td>프리미엄</td><td>55,000원</td><td>무제한</td></tr></table>""")
    assert prose(bold).splitlines() == ["요금제: 베이직; 월 요금: 33,000원; 데이터: 10GB.",
                                        "요금제: 프리미엄; 월 요금: 55,000원; 데이터: 무제한."]
    shaded = _table("""<table><tr bgcolor="#dddddd"><td>Plan</td><td>Fee</td><td>Data</td></tr>
        <tr><td>Basic</td><td>KRW 33,000</td><td>10 GB</td></tr><tr><td>Max</td><td>KRW 55,000</td><td>Unlimited</td></tr></table>""")
    assert prose(shaded).splitlines()[0] == "Plan: Basic; Fee: KRW 33,000; Data: 10 GB."
    plain = _table("""<table><tr><td>Plan</td><td>Fee</td><td>Data</td></tr>
        <tr><td>Basic</td><td>KRW 33,000</td><td>10 GB</td></tr><tr><td>Max</td><td>KRW 55,000</td><td>Unlimited</td></tr></table>""")
    assert prose(plain).splitlines()[0] == "Plan | Fee | Data."
