"""A term on every Korean chunk weighs little for a Korean question even when the index
also holds English manuals, where it never occurs (core.lexical.LexicalIndex.language_weights)."""

from __future__ import annotations

from core.lexical import LexicalIndex, chunk_tokens, query_tokens

KOREAN = [
    ("ko-install", "설치 프로그램으로 패키지를 설치합니다. 설치 화면에서 설치 언어를 고릅니다. 설치 시간은 짧습니다."),
    ("ko-hold", "업그레이드되지 않게 고정하려면 hold를 씁니다."),
    ("ko-disk", "설치 디스크를 준비합니다."),
    ("ko-net", "설치 중 네트워크를 설정합니다."),
    ("ko-user", "설치 후 사용자를 만듭니다."),
]
ENGLISH = [(f"en-{i}", f"Chapter {i} explains module number {i} and its directives.") for i in range(200)]


def _index() -> LexicalIndex:
    chunks = KOREAN + ENGLISH
    return LexicalIndex.build([cid for cid, _ in chunks], [chunk_tokens(text, []) for _, text in chunks],
                              {"lang": ["ko"] * len(KOREAN) + ["en"] * len(ENGLISH)})


def test_a_word_on_every_korean_page_does_not_outweigh_the_one_that_tells_them_apart():
    index = _index()
    question = "패키지를 설치할 때 고정하려면?"
    top = index.search_question(question, 3, expand=False, language_idf=True)
    assert top[0].chunk_id == "ko-hold"
    # Counted over all chunks (English included), "설치" looks rare and its repeats win.
    assert index.search_question(question, 3, expand=False, language_idf=False)[0].chunk_id == "ko-install"


def test_one_language_index_scores_as_plain_bm25():
    chunks = KOREAN
    index = LexicalIndex.build([c for c, _ in chunks], [chunk_tokens(t, []) for _, t in chunks], {"lang": ["ko"] * 5})
    terms = [t for t in query_tokens("설치 고정") if t in index.retriever.vocab_dict]
    assert list(index._scores(terms, "ko")) == list(index.retriever.get_scores(terms))
