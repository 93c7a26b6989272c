"""Questions that name things the way users say them find pages that write them otherwise:
a Hangul transliteration of a Latin product name, a name spelled out in Korean letter
names, an acronym and its expansion - all learned from the ingested pages (core.vocab)."""

from pathlib import Path

import pytest

from core.embedding import get_embed_model
from core.vocab import Vocabulary, page_terms
from ingest.run import ingest
from query.answer.extractive import extractive_answer
from query.answer.retrieve import HybridRetriever
from tests.helpers import ROOT, make_settings, ranked_sections

FIXTURE = ROOT / "tests" / "fixtures" / "vocab"


def test_page_terms_learn_pairs_and_acronyms_from_the_text():
    terms = page_terms("웹 서버의 가상 호스트(virtual host) 설정. Secure Sockets Layer (SSL) 인증서와 "
                       "이 매뉴얼은 한빛텔레콤(Hanbit Telecom) 기준이며 기본값은 (Off) 입니다.")
    assert ("가상 호스트", "virtual host") in terms["pairs"]
    # A Hangul word carrying a particle is not part of the name.
    assert ("한빛텔레콤", "Hanbit Telecom") in terms["pairs"]
    assert ("ssl", "secure sockets layer") in terms["acronyms"]
    assert not any(a == "off" for a, _ in terms["acronyms"])
    assert {"apache", "ssl", "virtual"} - set(page_terms("Apache SSL virtual")["latin"]) == set()


def test_transliterations_match_the_corpus_words_they_sound_like():
    vocab = Vocabulary.build([page_terms(
        "Apache Tomcat GIMP Debian synaptic directory proxy configuration upgrade IPTV SSL "
        "patch party setting solution package Wi-Fi task disk library chrome")])
    assert vocab.transliterations("아파치") == ["apache"]
    assert vocab.transliterations("톰캣") == ["tomcat"]
    assert vocab.transliterations("김프") == ["gimp"]
    assert vocab.transliterations("시냅틱") == ["synaptic"]
    assert vocab.transliterations("컨피규레이션") == ["configuration"]
    assert vocab.transliterations("업그레이드") == ["upgrade"]
    assert vocab.transliterations("아이피티비") == ["iptv"]  # letter names
    assert vocab.transliterations("에스에스엘") == ["ssl"]
    assert vocab.transliterations("와이파이") == ["wi-fi"]  # a hyphenated name, said as one word
    assert vocab.transliterations("태스크") == ["task"]  # ㅐ is English's /æ/, not "disk"
    assert vocab.transliterations("라이브러리") == ["library"]
    # Native Korean words do not sound like the corpus's Latin words.
    for word in ("설정", "방법", "인증서", "변경", "사용자", "처음"):
        assert vocab.transliterations(word) == [], word


@pytest.fixture(scope="module")
def vocab_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    storage = tmp_path_factory.mktemp("vocab") / "storage"
    report = ingest([FIXTURE], make_settings(storage), progress=False)
    assert report.files.failed == 0, report.errors
    return storage


def _top(storage: Path, question: str, **overrides) -> list[str]:
    retriever = HybridRetriever(make_settings(storage, retrieval_mode="lexical", **overrides))
    try:
        return [s.section_id for s in retriever.retrieve(question, top_k=3).sections]
    finally:
        retriever.close()


def test_korean_transliteration_finds_the_latin_named_section(vocab_store):
    # The pages write "Tomcat" and "Apache"; the user says 톰캣 / 아파치 and words the pages
    # never use (껐다 켜다 for 재기동 / 다시 시작).
    assert _top(vocab_store, "톰캣은 어떻게 껐다 켜요?")[0] == "servers.html#tomcat-restart"
    assert _top(vocab_store, "아파치 껐다 켜는 법")[0] == "servers.html#apache-restart"
    # Without the corpus vocabulary nothing in the question is in the index.
    assert _top(vocab_store, "톰캣은 어떻게 껐다 켜요?", query_expansion=False) == []


def test_the_answer_quotes_the_line_naming_the_thing_as_the_corpus_does(vocab_store, settings):
    """"톰캣 ..." is answered by the line about Tomcat, not by the Apache line ranked above it
    that shares the rest of the question's words: the retrieval hands the answer the
    corpus's name for 톰캣 (Retrieval.corpus_terms)."""
    question = "톰캣 재시작하는 동안 요청은 어떻게 되나요?"
    retriever = HybridRetriever(make_settings(vocab_store, retrieval_mode="lexical"))
    try:
        names = retriever.retrieve(question, top_k=3).corpus_terms
    finally:
        retriever.close()
    assert "tomcat" in names
    sections = ranked_sections("서버 운영 안내 › Apache 다시 시작\nApache를 재시작하는 동안 접속 중인 요청은 끊기지 않습니다.",
                               "서버 운영 안내 › Tomcat 재기동\nTomcat을 재시작하는 동안 들어온 요청은 실패합니다.")
    embed = get_embed_model(settings)
    assert extractive_answer(question, sections, embed, corpus_terms=names).startswith("Tomcat을"), names
    assert extractive_answer(question, sections, embed).startswith("Apache를")


def test_latin_names_find_the_hangul_a_korean_manual_writes():
    vocab = Vocabulary.build([])
    vocab.index_hangul(["데비안", "패키지", "커널", "설정", "방법", "사용"])
    counts = {"데비안": 40, "패키지": 30, "커널": 8}
    found = vocab.expand("How do I upgrade the Debian kernel package?", [],
                         lambda term: counts.get(term, 0), ["upgrade", "debian", "kernel", "package"])
    assert found.text == ["데비안", "커널", "패키지"]  # nothing sounds like "upgrade" here


def test_acronyms_and_pairs_lead_to_the_name_the_corpus_uses():
    vocab = Vocabulary.build([page_terms("Secure Sockets Layer (SSL) 인증서. 가상 호스트(virtual host) 추가.")])
    counts = {"ssl": 12, "secure sockets layer": 1, "virtual host": 1, "가상 호스트": 9}

    def frequency(term: str) -> int:
        return counts.get(term.lower(), 0)

    found = vocab.expand("secure sockets layer 인증서 교체", [], frequency)
    assert found.reasons == [("secure sockets layer", "ssl")]
    found = vocab.expand("virtual host 추가 방법", [], frequency)
    assert found.reasons == [("virtual host", "가상 호스트")]
    # The corpus says SSL more often than its expansion: an "SSL" question needs nothing.
    assert vocab.expand("SSL 인증서 교체", [], frequency).text == []


def test_short_forms_of_a_compound_name_lead_to_it():
    """Users shorten LibreOffice to 리브레 or "LO", and say 라이터 for Writer; the pages
    write the names whole. Learned from the pages' own compounds, not from a list."""
    text = ("LibreOffice Writer opens PowerPoint files. Press the Power button; power saving. "
            "OpenOffice and OpenSource licences.")
    vocab = Vocabulary.build([page_terms(text)] * 3)
    counts = {"libreoffice": 9, "writer": 6, "powerpoint": 3, "power": 5, "openoffice": 2, "opensource": 2}

    def frequency(term: str) -> int:
        return counts.get(term.lower(), 0)

    assert vocab.expand("리브레 라이터에서 표 넣기", ["리브레", "라이터", "표"], frequency).reasons == [
        ("리브레", "libreoffice"), ("라이터", "writer")]
    assert vocab.expand("LO tables", [], frequency, ["lo", "tables"]).reasons == [("lo", "libreoffice")]
    # "Power" is a word of its own on these pages and two names start with "Open": no short form.
    assert vocab.expand("파워 끄기", ["파워"], frequency).text == []
    assert vocab.expand("open tables", [], frequency, ["open", "tables"]).text == []


def _pages(root: Path) -> Path:
    """A package manager named once in Latin letters beside pages that say 프로그램 everywhere."""
    root.mkdir(parents=True)
    (root / "tools.html").write_text(
        '<html lang="ko"><head><title>패키지 도구</title></head><body><h1 id="tools">패키지 도구</h1>'
        '<h2 id="synaptic">synaptic</h2><p>synaptic은 그래픽 패키지 관리자입니다. 목록에서 패키지를 골라 설치하고 지웁니다.</p>'
        '<h2 id="dselect">dselect</h2><p>dselect는 메뉴로 된 패키지 선택 도구입니다.</p></body></html>', encoding="utf-8")
    for i, topic in enumerate(("설치 프로그램 부팅하기", "설치 프로그램 화면", "프로그램 버전 관리", "CGI 프로그램 권한")):
        (root / f"program{i}.html").write_text(
            f'<html lang="ko"><head><title>{topic}</title></head><body><h1 id="p{i}">{topic}</h1>'
            f"<h2 id='s{i}'>{topic} 안내</h2><p>이 프로그램은 다른 프로그램을 시작합니다. 프로그램 목록과 프로그램 설정을 "
            f"보려면 프로그램 메뉴를 엽니다.</p></body></html>", encoding="utf-8")
    return root


def test_a_transliterated_name_weighs_what_the_word_would_have(tmp_path):
    """시냅틱 makes three BM25 terms (the word and its two syllable bigrams) that match
    nothing; the corpus's "synaptic" stands for all three. Counted once, it lost to the
    four terms of 프로그램 on every page that says 프로그램 (vocab-debian-01 on the index of
    all dev corpora: not in the top 20)."""
    storage = tmp_path / "storage"
    assert ingest([_pages(tmp_path / "manuals")], make_settings(storage), progress=False).files.failed == 0
    assert _top(storage, "시냅틱은 어떤 프로그램이에요?")[0] == "tools.html#synaptic"
