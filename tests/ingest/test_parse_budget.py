"""Bounded parse work per page: deep nesting is flattened in seconds, and the memoised subtree
checks answer what the scans they replace did. (A slow page stopped by the time budget, run as
operators run it, is the fault suite's "page over its parse time budget" case.)

Before the fix 50,000 nested divs took ~11 minutes of CPU and then failed with RecursionError
(3,000 levels: RecursionError after 13 s).
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
from bs4 import BeautifulSoup, Tag, XMLParsedAsHTMLWarning
from bs4.element import Comment, Doctype, ProcessingInstruction

from core.htmlfile import decode_html
from ingest.boilerplate import element_key
from ingest.discover import discover
from ingest.parse import HEADINGS, _norm, nav_titles
from ingest.run import ingest
from ingest.subtree import Subtree
from tests.helpers import CORPUS, FIXTURES, ROOT
from tests.faults.helpers import deep_page, paths_saying

_PARSE_DEEP = """
import sys, time
from ingest.parse import parse_page
from tests.faults.helpers import deep_page
started = time.perf_counter()
page = parse_page(deep_page(int(sys.argv[1])), "deep.html")
text = " ".join(b for s in page.sections for b in s.blocks)
print(round(time.perf_counter() - started, 1), "zebracorn" in text, "after" in text, "|".join(page.warnings))
"""


def test_50000_nested_divs_parse_in_seconds_keeping_their_text():
    out = subprocess.run([sys.executable, "-c", _PARSE_DEEP, "50000"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    seconds, innermost, after, notes = out.stdout.split(" ", 3)
    assert float(seconds) < 30
    assert innermost == "True" and after == "True"  # the deep text is kept, and what follows it
    assert "nested more than 256 levels deep" in notes


def test_a_deep_page_is_stored_with_a_warning_and_found_by_its_words(manuals, settings):
    (manuals / "deep.html").write_text(deep_page(20000), encoding="utf-8")
    report = ingest([manuals], settings, progress=False)
    assert report.errors == []
    assert any(w["path"] == "deep.html" and "nested more than 256" in w["reason"] for w in report.warnings)
    assert paths_saying(settings.storage_dir, "zebracorn") == {"deep.html"}


# --- the memoised checks equal the scans they replaced ---------------------------------
def _scan_is_navigation(element: Tag, titles: set[str]) -> bool:
    """ingest.parse._is_navigation before memoisation, kept as the reference."""
    if element.find(list(HEADINGS)) is not None:
        return False
    if len(element.find_all("a", href=True)) < 2:
        return False
    label = 0
    for text in element.find_all(string=True):
        if isinstance(text, (Comment, Doctype, ProcessingInstruction)) or not text.strip():
            continue
        if text.find_parent("a") is not None:
            continue
        norm = _norm(text)
        if norm in titles or all(ch in "|·•,-–—«»<>()[]/:" for ch in norm.replace(" ", "")):
            continue
        if len(norm) <= 30 and not label:
            label += 1
            continue
        return False
    return True


def _compare(root) -> int:
    checked = 0
    for path, rel in discover([root], root).files:
        try:
            html, _ = decode_html(path.read_bytes(), path.name)
        except ValueError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(html, "lxml")
        title = soup.title.get_text(" ") if soup.title else ""
        titles = nav_titles(soup, " ".join(title.split()))
        facts = Subtree(titles)
        for element in soup.find_all(True):
            assert facts.has_heading(element) == (element.find(list(HEADINGS)) is not None), rel
            assert facts.is_navigation(element) == _scan_is_navigation(element, titles), (rel, str(element)[:200])
            assert facts.key(element) == element_key(element), (rel, str(element)[:200])
            checked += 1
    return checked


def test_memoised_subtree_checks_equal_the_scans_on_the_fixtures():
    assert _compare(FIXTURES) > 100


@pytest.mark.corpus
@pytest.mark.slow
def test_memoised_subtree_checks_equal_the_scans_on_the_httpd_manual():
    if not CORPUS.is_dir():
        pytest.skip("httpd corpus absent")
    assert _compare(CORPUS) > 10000


def test_an_alarm_arriving_as_the_block_ends_leaves_the_next_page_its_limit(monkeypatch):
    """The timer can fire just after a page's parse finished, while the limit is being
    taken down: the handler must still be restored, or every later page runs unlimited."""
    import signal as signals

    from ingest import budget

    real = signals.setitimer

    def late(which, seconds, *rest):
        if seconds == 0:
            signals.raise_signal(signals.SIGALRM)  # delivered as the cleanup starts
        return real(which, seconds, *rest)

    monkeypatch.setattr(budget.signal, "setitimer", late)
    try:
        with budget.time_limit(5):
            pass
    except budget.ParseTimeout:
        pass  # a page at its limit may be reported; the point is what comes after
    monkeypatch.setattr(budget.signal, "setitimer", real)
    assert signals.getsignal(signals.SIGALRM) in (signals.SIG_DFL, None)
    with pytest.raises(budget.ParseTimeout):
        with budget.time_limit(0.05):
            while True:
                pass
