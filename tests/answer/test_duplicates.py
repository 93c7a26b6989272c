"""Near-duplicate sections (the same help text under several programs) take one place in
the results, and the copies are listed with it (query.sections.group_duplicates)."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from core.chunk_record import LANG, PATH
from ingest.run import ingest
from query.answer.engine import Engine
from query.answer.retrieve import fuse, read_distinct, tied_ranks
from query.answer.sections import Section, group_duplicates
from tests.helpers import make_settings

SHARED = """<html lang="ko"><head><title>{app} 도움말</title></head><body>
<h1 id="print">{app}: 인쇄 여백 바꾸기</h1>
<p>인쇄 여백은 페이지 설정 대화 상자의 여백 탭에서 바꿉니다. 위, 아래, 왼쪽, 오른쪽 여백을 밀리미터로 입력하고
확인을 누르면 다음 인쇄부터 적용됩니다. 머리글과 바닥글은 여백 안쪽에 인쇄됩니다.</p>
</body></html>"""
OTHER = [
    ("scan.html", "스캔 해상도", "스캐너 해상도는 스캔 대화 상자에서 dpi 값으로 고릅니다. 인쇄용 문서는 300 dpi면 충분합니다."),
    ("fonts.html", "글꼴 설치", "새 글꼴은 글꼴 폴더에 복사하면 다음 실행부터 목록에 나타납니다. 인쇄할 때도 같은 글꼴을 씁니다."),
    ("paper.html", "용지 크기", "용지 크기는 페이지 설정 대화 상자의 용지 탭에서 A4, Letter 가운데 고릅니다."),
]


def _manuals(root: Path) -> Path:
    for app in ("writer", "calc", "draw"):
        (root / app).mkdir(parents=True)
        (root / app / "margins.html").write_text(SHARED.format(app=app.title()), encoding="utf-8")
    for name, heading, text in OTHER:
        (root / name).write_text(f'<html lang="ko"><head><title>{heading}</title></head><body><h1 id="x">{heading}</h1>'
                                 f"<p>{text}</p></body></html>", encoding="utf-8")
    return root


def test_copies_of_one_help_text_take_one_place_and_stay_reachable(tmp_path):
    manuals = _manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage", group_duplicates=True)
    assert ingest([manuals], settings, progress=False).files.failed == 0
    question = "인쇄할 때 여백을 바꾸려면 어디서 하나요?"
    sources = Engine(settings).ask(question, use_llm=False).contract()["sources"]
    margins = [s for s in sources if s["path"].endswith("margins.html")]
    assert len(margins) == 1  # one place for the three copies
    assert len(margins[0]["also"]) == 2 and all(a.endswith("margins.html#print") for a in margins[0]["also"])
    assert {s["path"] for s in sources} >= {"paper.html"}  # a distinct place took the freed slot


def _section(section_id: str, text: str, lang: str = "en") -> Section:
    node = TextNode(id_=section_id, text=f"Manual › {section_id}\n{text}",
                    metadata={LANG: lang, PATH: section_id.split("#", 1)[0]})
    return Section(section_id, [NodeWithScore(node=node, score=1.0)])


def test_neighbouring_reference_tables_are_not_copies():
    """Two short reference tables share almost every word and are two places (their
    3-grams differ wherever their names do), even in two folders."""
    first = _section("ssl/checkpeercn.html#directive", "SSLProxyCheckPeerCN on|off Default: off Context: server config, "
                     "virtual host Status: Extension Module: mod_ssl")
    second = _section("proxy/checkpeername.html#directive", "SSLProxyCheckPeerName on|off Default: off Context: server "
                      "config, virtual host Status: Extension Module: mod_ssl")
    assert [s.section_id for s in group_duplicates([first, second], 5)] == [first.section_id, second.section_id]


COPY = ("Page margins are changed on the Margins tab of the Page Setup dialog. Type the top, bottom, left and right "
        "margins in millimetres and press OK; the next printout uses them. Headers and footers print inside the margins.")


def test_the_copy_in_the_question_language_stands_for_the_group():
    """An untranslated section of a Korean page repeats its English original: a Korean
    question is shown the Korean page, with the English one listed beside it."""
    english = _section("en/print.html#margins", COPY, "en")
    korean = _section("ko/print.html#margins", COPY, "ko")
    other = _section("en/scan.html#dpi", "Scanner resolution is chosen in dpi in the Scan dialog. " * 4, "en")
    shown = group_duplicates([english, korean, other], 5, "여백은 어디서 바꾸나요?")
    assert [s.section_id for s in shown] == ["ko/print.html#margins", "en/scan.html#dpi"]
    assert shown[0].also == ["en/print.html#margins"]
    shown = group_duplicates([_section(s.section_id, COPY, lang) for s, lang in ((english, "en"), (korean, "ko"))], 5,
                             "Where do I change the margins?")
    assert [s.section_id for s in shown] == ["en/print.html#margins"] and shown[0].also == ["ko/print.html#margins"]


def test_the_copy_under_the_program_the_question_names_stands_for_the_group():
    writer = _section("writer/margins.html#margins", COPY)
    calc = _section("calc/margins.html#margins", COPY)
    for node, program in ((writer.best, "Writer"), (calc.best, "Calc")):
        node.set_content(f"{program} › Margins\n{COPY}")
    shown = group_duplicates([writer, calc], 5, "How do I change the margins in Calc?")
    assert [s.section_id for s in shown] == ["calc/margins.html#margins"] and shown[0].also == ["writer/margins.html#margins"]


@pytest.mark.parametrize("question, corpus_terms", [
    ("Calc에서 여백은 어떻게 바꿔요?", ()),  # the name with a particle attached
    ("캘크 여백 바꾸기", ("calc",)),  # the name in Hangul, read as the corpus writes it (Retrieval.corpus_terms)
])
def test_a_korean_question_is_shown_the_copy_under_the_program_it_names(question, corpus_terms):
    writer = _section("writer/margins.html#margins", COPY)
    calc = _section("calc/margins.html#margins", COPY)
    for node, program in ((writer.best, "Writer"), (calc.best, "Calc")):
        node.set_content(f"{program} › 여백\n{COPY}")
    shown = group_duplicates([writer, calc], 5, question, corpus_terms)
    assert [s.section_id for s in shown] == ["calc/margins.html#margins"] and shown[0].also == ["writer/margins.html#margins"]


@pytest.mark.parametrize("question, corpus_terms, shown_first", [
    ("Calc에서 여백은 어떻게 바꿔요?", (), "text/scalc/guide/margins.html#margins"),
    ("캘크 여백 바꾸기", ("calc",), "text/scalc/guide/margins.html#margins"),
    ("How do I change the margins in Calc?", (), "text/scalc/guide/margins.html#margins"),
    ("여백은 어떻게 바꿔요?", (), "text/swriter/guide/margins.html#margins"),  # no program named: the best-ranked copy
])
def test_the_copy_filed_under_the_program_a_question_names_stands_for_its_group(question, corpus_terms, shown_first):
    """Help written once for several programs often names the program only in its path
    ("text/scalc/guide/", "swriter/"): the pages' headings are the same words."""
    writer = _section("text/swriter/guide/margins.html#margins", COPY)
    calc = _section("text/scalc/guide/margins.html#margins", COPY)
    for copy in (writer, calc):
        copy.best.set_content(f"도움말 › 여백\n{COPY}")
    shown = group_duplicates([writer, calc], 5, question, corpus_terms)
    assert [s.section_id for s in shown] == [shown_first]


def test_two_pages_of_one_folder_sharing_a_note_stay_two_places():
    """Two modules of one manual with the same proxy note: a question about either must
    find that one, so they are not grouped (copies are grouped across folders only)."""
    brotli = _section("mod/mod_brotli.html#proxies", COPY)
    deflate = _section("mod/mod_deflate.html#proxies", COPY)
    assert [s.section_id for s in group_duplicates([brotli, deflate], 5, "How is Vary set?")] == [
        "mod/mod_brotli.html#proxies", "mod/mod_deflate.html#proxies"]


PROGRAMS = ("writer", "calc", "draw", "impress")
SHARED_TOPICS = [
    ("margins", "인쇄 여백", "인쇄 여백은 페이지 설정 대화 상자의 여백 탭에서 바꿉니다. 위, 아래, 왼쪽, 오른쪽 여백을 밀리미터로 "
                         "입력하고 확인을 누르면 다음 인쇄부터 적용됩니다. 머리글과 바닥글은 여백 안쪽에 인쇄됩니다."),
    ("orientation", "인쇄 방향", "인쇄 방향은 페이지 설정 대화 상자의 용지 탭에서 세로 또는 가로로 고릅니다. 가로를 고르면 넓은 표가 "
                              "한 장에 인쇄되고, 바꾼 방향은 문서와 함께 저장되어 다음 인쇄에도 그대로 쓰입니다."),
    ("copies", "인쇄 매수", "인쇄 매수는 인쇄 대화 상자의 일반 탭에서 정합니다. 여러 부를 인쇄할 때 한 부씩 묶어 인쇄를 켜면 "
                        "쪽 순서대로 한 부가 끝난 다음에 다음 부가 인쇄됩니다. 매수는 문서에 저장되지 않습니다."),
    ("preview", "인쇄 미리 보기", "인쇄 미리 보기는 파일 메뉴에서 엽니다. 미리 보기 창에서 쪽을 넘기며 인쇄될 모양을 확인하고, "
                             "확대와 축소로 세부를 살필 수 있으며, 닫기를 누르면 편집 화면으로 돌아갑니다."),
]
DISTINCT = [
    ("printer.html", "프린터 선택", "인쇄할 프린터는 인쇄 대화 상자의 프린터 목록에서 고릅니다. 기본 프린터는 운영 체제 설정을 따릅니다."),
    ("pdf.html", "PDF로 내보내기", "인쇄 대신 PDF 파일로 내보내려면 파일 메뉴의 PDF로 내보내기를 고릅니다. 쪽 범위도 정할 수 있습니다."),
]


def _programs(root: Path) -> Path:
    """Four programs' folders holding the same four printing pages, and two pages of their own."""
    for program in PROGRAMS:
        (root / program).mkdir(parents=True)
        for name, heading, text in SHARED_TOPICS:
            (root / program / f"{name}.html").write_text(
                f'<html lang="ko"><head><title>{program.title()}: {heading}</title></head><body>'
                f'<h1 id="{name}">{heading}</h1><p>{text}</p></body></html>', encoding="utf-8")
    for name, heading, text in DISTINCT:
        (root / name).write_text(f'<html lang="ko"><head><title>{heading}</title></head><body><h1 id="x">{heading}</h1>'
                                 f"<p>{text}</p></body></html>", encoding="utf-8")
    return root


def test_a_list_of_copies_is_filled_with_distinct_places(tmp_path):
    """Sixteen candidates that are four places copied under four programs: a top 5 must
    still show five places (all four printing pages and a page of its own), not the two
    or three the first ten candidates fold into."""
    manuals = _programs(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage", group_duplicates=True)
    assert ingest([manuals], settings, progress=False).files.failed == 0
    sources = Engine(settings).ask("인쇄 대화 상자에서 인쇄 설정을 바꾸려면?", use_llm=False).contract()["sources"]
    places = [s["path"].rsplit("/", 1)[-1] for s in sources]
    assert len(sources) == 5 and len(set(places)) == 5, places
    assert {f"{name}.html" for name, _, _ in SHARED_TOPICS} <= set(places)
    assert len(sources[0]["also"]) == len(PROGRAMS) - 1  # the best place lists the other programs' copies


def test_a_one_sentence_section_copied_under_three_programs_takes_one_place(tmp_path):
    """A short section has too few 3-grams to be compared as a near-copy; word for word under
    the same heading, its copies are still one place."""
    manuals = tmp_path / "manuals"
    for program in PROGRAMS[:3]:
        (manuals / program).mkdir(parents=True)
        (manuals / program / "netboot.html").write_text(
            f'<html lang="ko"><head><title>{program.title()}: 네트워크 부팅</title></head><body>'
            '<h1 id="netboot">네트워크 부팅</h1><p>네트워크 부팅에는 TFTP 서버가 필요합니다.</p>'
            '<h2 id="etherboot">Etherboot</h2><p>etherboot 프로젝트에는 부팅 디스켓과 부트롬이 있습니다.</p>'
            "</body></html>", encoding="utf-8")
    for name, heading, text in DISTINCT + OTHER:
        (manuals / name).write_text(f'<html lang="ko"><head><title>{heading}</title></head><body><h1 id="x">{heading}</h1>'
                                    f"<p>{text}</p></body></html>", encoding="utf-8")
    settings = make_settings(tmp_path / "storage", group_duplicates=True)
    assert ingest([manuals], settings, progress=False).files.failed == 0
    sources = Engine(settings).ask("부트롬으로 부팅하려면 무엇이 있나요?", use_llm=False).contract()["sources"]
    etherboot = [s for s in sources if s["url"].endswith("#etherboot")]
    assert len(etherboot) == 1 and len(etherboot[0]["also"]) == 2, [s["url"] for s in sources]


def test_copies_tie_and_share_a_rank_so_what_one_side_found_keeps_its_place():
    """Copies of one text score exactly alike on a side: in different folders they share its
    rank there, so a text one side found next is not pushed three ranks down by them. Two
    pages of one folder that tie (a page and its untranslated twin) keep a rank each."""
    settings = make_settings(Path("/nonexistent"))
    folder = {"a1": "writer", "a2": "calc", "a3": "impress", "b": "writer"}
    folders = lambda ids: {cid: folder[cid] for cid in ids}  # noqa: E731
    dense = [("a1", 0.9), ("a2", 0.9), ("a3", 0.9), ("b", 0.8)]
    lexical = [("d", 10.0), ("e", 9.0), ("f", 8.0), ("g", 7.0)]
    fused = fuse(dense, lexical, settings, folders)
    assert fused["b"] > fused["f"]  # b is the second text of its side, as f is of the other
    assert tied_ranks(dense, folders) == [0, 0, 0, 1]
    assert tied_ranks(dense, lambda ids: {cid: "mod" for cid in ids}) == [0, 1, 2, 3]


def test_a_list_of_copies_is_read_on_to_as_many_texts_as_asked():
    """A retriever asked for 4 hits over copies (three of each text, in three folders) reads
    on and returns 4 texts with all their copies; a list without copies is read once."""
    texts = [(f"t{i}-{copy}", 1.0 - i / 100) for i in range(20) for copy in range(3)]
    folders = lambda ids: {cid: cid.split("-")[1] for cid in ids}  # noqa: E731
    asked: list[int] = []

    def search(n: int) -> list[tuple[str, float]]:
        asked.append(n)
        return texts[:n]
    hits = read_distinct(search, 4, folders)
    assert len({score for _, score in hits}) == 4 and len(hits) == 12 and asked == [4, 16]
    asked.clear()
    plain = [(f"t{i}", 1.0 - i / 100) for i in range(20)]
    assert read_distinct(lambda n: asked.append(n) or plain[:n], 4, folders) == plain[:4] and asked == [4]
