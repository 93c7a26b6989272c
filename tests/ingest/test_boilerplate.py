"""Page chrome found from the corpus: repeated blocks, navigation bars, button headings."""

from pathlib import Path

from bs4 import BeautifulSoup

from ingest.boilerplate import BLOCK_TAGS, corpus_boilerplate, element_key, page_keys
from core.htmlfile import decode_html
from ingest.discover import discover
from ingest.parse import parse_page

FIXTURES = Path(__file__).parent.parent / "fixtures" / "manuals"


def _corpus() -> dict[str, str]:
    return {rel: decode_html(path.read_bytes(), path.name)[0] for path, rel in discover([FIXTURES], FIXTURES).files}


def _texts(page) -> str:
    return "\n".join([*(b for s in page.sections for b in s.blocks), *(" ".join(s.heading_path) for s in page.sections)])


def test_blocks_repeated_across_pages_are_dropped_and_content_stays():
    pages = _corpus()
    boilerplate = corpus_boilerplate(pages)
    for rel in ("plans.html", "billing/cancel.html", "en/guide.html.en"):
        page = parse_page(pages[rel], rel, boilerplate[rel])
        text = _texts(page)
        assert "DEBUG render" not in text and "상단 메뉴" not in text
        assert "다음" not in text  # the repeated button heading makes no section
    guide = parse_page(pages["en/guide.html.en"], "en/guide.html.en", boilerplate["en/guide.html.en"])
    assert "Daily pass" not in [s.heading_path[-1] for s in guide.sections if not s.tables and not s.blocks]
    assert any("daily pass starts at midnight" in b for s in guide.sections for b in s.blocks)
    # alone, a page keeps its debug block: nothing says it repeats
    alone = parse_page(pages["plans.html"], "plans.html")
    assert "DEBUG render" in _texts(alone)


def test_navigation_tables_naming_linked_pages_are_dropped():
    html = """<html><head><title>4.4. Crop</title><link rel="up" href="t.html" title="4. Transform Tools">
    </head><body><div><table><tr><th colspan="3">4.4. Crop</th></tr><tr><td><a href="m.html">Prev</a></td>
    <th>4. Transform Tools</th><td><a href="r.html">Next</a></td></tr></table></div>
    <h1>4.4. Crop</h1><p>The Crop Tool is used to crop an image.</p>
    <ol><li><p>Select the area.</p></li><li><p>Press Enter.</p></li></ol></body></html>"""
    page = parse_page(html, "crop.html")
    text = _texts(page)
    assert "Transform Tools" not in text and "Prev" not in text
    assert "1. Select the area." in page.sections[0].blocks and "2. Press Enter." in page.sections[0].blocks


def test_fast_scan_and_parser_agree_on_block_keys():
    for html in _corpus().values():
        soup = BeautifulSoup(html, "lxml")
        body = soup.find("body")
        parsed = {element_key(t) for t in body.find_all(True) if t.name in BLOCK_TAGS or t.name[:1] == "h" and t.name[1:].isdigit()}
        assert page_keys(html) == parsed - {None}


def _chunks(html: str, path: str) -> list[str]:
    from core.settings import Settings
    from ingest.chunk import Chunker, page_nodes
    from ingest.table_prose import TableProser

    page = parse_page(html, path)
    return [n.text for n in page_nodes(page, TableProser(Settings(), None), Chunker(320, 40), "h")]


def test_a_page_under_a_parent_carries_the_parents_title_in_every_chunk():
    """A reference page titled "Tools" lists keys; only its parent says they are shortcuts."""
    head = """<link rel="home" href="index.html" title="User Manual">
    <link rel="up" href="keys.html" title="Keys and Mouse Reference">"""
    html = f"""<html><head><title>Tools</title>{head}</head><body><h2>Tools</h2>
    <dl><dt>Shift + C</dt><dd><p>Crop</p></dd><dt>R</dt><dd><p>Rectangle Select</p></dd></dl>
    <table><tr><th>M</th><td>Move</td></tr></table></body></html>"""
    chunks = _chunks(html, "key-tools.html")
    assert len(chunks) == 2 and all(c.split("\n", 1)[0] == "Keys and Mouse Reference › Tools" for c in chunks)
    assert "Shift + C: Crop" in chunks[0]
    page = parse_page(html, "key-tools.html")
    assert page.parent == "Keys and Mouse Reference" and page.sections[0].heading_path == ["Tools"]
    # directly under the home page (every page is): nothing to add
    at_home = html.replace('href="keys.html" title="Keys and Mouse Reference"', 'href="index.html" title="User Manual"')
    assert all(c.split("\n", 1)[0] == "Tools" for c in _chunks(at_home, "key-tools.html"))
    # the home page under another name and another spelling of its path
    nested = html.replace('href="index.html"', 'href="../index.html"').replace(
        'href="keys.html" title="Keys and Mouse Reference"', 'href="./../index.html" title="Contents"')
    assert all(c.split("\n", 1)[0] == "Tools" for c in _chunks(nested, "keys/tools.html"))
    # no declared parent: nothing to add
    bare = html.replace(head, "")
    assert all(c.split("\n", 1)[0] == "Tools" for c in _chunks(bare, "key-tools.html"))


def test_a_list_of_keys_is_chunked_in_groups_of_whole_rows():
    """Thirty shortcuts in one chunk match no single question; groups of whole rows do, and
    a key never leaves its value."""
    rows = "".join(f"<dt>Ctrl + {chr(65 + i)}</dt><dd><p>Command number {i} of the File menu</p></dd>" for i in range(24))
    html = f"""<html><head><title>File</title></head><body><h2>File</h2><dl>{rows}
    <dt>Ctrl + Alt + O</dt><dd><p>Open image as layers</p></dd></dl>
    <h2>About</h2><p>{"This page lists the keys of the File menu. " * 3}</p></body></html>"""
    chunks = _chunks(html, "keys-file.html")
    listing = [c for c in chunks if c.startswith("File\n")]
    assert len(listing) > 2
    lines = [line for c in listing for line in c.split("\n")[1:]]
    assert len(lines) == 25 and all(": " in line for line in lines)  # every row whole, once
    (layers,) = [c for c in listing if "Open image as layers" in c]
    assert "Ctrl + Alt + O: Open image as layers" in layers and len(layers.split("\n")) < 15
    # questions and answers labelled alike are not a list of keys: they stay together
    faq = "".join(f"<p>Q: How do I do thing {i}?</p><p>A: Open menu {i} and press the button.</p>" for i in range(6))
    assert [c.count("\n") for c in _chunks(f"<html><head><title>FAQ</title></head><body>{faq}</body></html>", "faq.html")] == [12]
    # prose is not a list of keys: one chunk as before
    assert [c for c in chunks if c.startswith("File › About\n")] == ["File › About\n" + "This page lists the keys of the File menu. " * 2 + "This page lists the keys of the File menu."]
