"""Index keywords a help tool writes into its pages (`<meta name|itemprop="keywords">`) go to
the section they index, and alternatives a script chooses between (`hidden` spans: the
reader's system, the program) are read as separate words (ingest.parse)."""

from ingest.parse import MAX_KEYWORDS, parse_page

# As LibreOffice's help writes a topic: its index entries (bookmarks) just before the heading
# they index, key names and menu paths inside per-system alternatives.
HELP_PAGE = """<html lang="ko"><head><title>문서 저장</title>
<meta name="keywords" content="파일, 디스크에 쓰기"><meta name="description" content="저장 안내"></head>
<body><div id="DisplayArea">
<a name="bm_id1"></a><meta itemprop="keywords" content="저장;문서"><meta itemprop="keywords" content="문서,다른 이름으로 저장">
<h1 id="hd_id1">문서 저장</h1>
<p>다른 이름으로 저장하려면 <span class="switchinline"><span hidden="true" class="MAC">⌘ Cmd</span>
<span hidden="true">Ctrl</span></span>+Shift+S 키를 누릅니다.</p>
<p><span class="switch"><span hidden="true" class="WRITER">Writer 문서는 .odt로 저장됩니다.</span><span hidden="true"
class="CALC">Calc 시트는 .ods로 저장됩니다.</span></span></p>
<meta itemprop="keywords" content="자동 저장">
<p>저장 간격은 옵션에서 바꿉니다.</p>
<meta itemprop="keywords" content="정전; 문서 되살리기">
<h2 id="hd_id2">복구</h2>
<p>다음에 실행할 때 복구 대화 상자가 열립니다.</p>
<table><tr><th>키</th><th>효과</th></tr>
<tr><td><span hidden>⌘ Cmd</span><span hidden>Ctrl</span>+S</td><td>저장</td></tr></table>
</div></body></html>"""


def _sections():
    return {s.heading_path[-1]: s for s in parse_page(HELP_PAGE, "text/shared/guide/save.html").sections}


def test_index_keywords_go_to_the_section_they_index():
    sections = _sections()
    # before the heading -> that heading's section; after its text -> the section it sits in;
    # the head's keywords name the page (its first section); a description is not a keyword
    assert sections["문서 저장"].keywords == ["저장", "문서", "다른 이름으로 저장", "자동 저장", "파일", "디스크에 쓰기"]
    assert sections["복구"].keywords == ["정전", "문서 되살리기"]
    assert not any("저장 안내" in b for s in sections.values() for b in s.blocks)  # (nor text)


def test_a_page_cannot_stuff_a_section_with_keywords():
    stuffed = ("<html><body>" + "".join(f'<meta itemprop="keywords" content="word{i}, {"x" * 500}">' for i in range(200))
               + "<h1>Title</h1><p>Text.</p></body></html>")
    (section,) = parse_page(stuffed, "stuffed.html").sections
    assert len(section.keywords) == MAX_KEYWORDS
    assert max(map(len, section.keywords)) <= 80


def test_hidden_alternatives_are_separate_words():
    sections = _sections()
    blocks = sections["문서 저장"].blocks
    assert blocks[0] == "다른 이름으로 저장하려면 ⌘ Cmd / Ctrl+Shift+S 키를 누릅니다."
    assert blocks[1] == "Writer 문서는 .odt로 저장됩니다. / Calc 시트는 .ods로 저장됩니다."
    (table,) = sections["복구"].tables
    assert table.grid[1][0].text == "⌘ Cmd / Ctrl+S"
