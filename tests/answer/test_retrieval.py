"""Hybrid retrieval: Korean particles on the lexical side, filters on both retrievers,
one result per section."""

from query.answer.retrieve import Filters, HybridRetriever
from tests.helpers import make_settings


def _retriever(built_store, **overrides) -> HybridRetriever:
    _, settings = built_store
    return HybridRetriever(make_settings(settings.storage_dir, **overrides))


def test_korean_question_with_particles_finds_its_section_lexically(built_store):
    retriever = _retriever(built_store, retrieval_mode="lexical")
    # "장비를 반납이" / "해지가": particles glued to the nouns the manual uses (장비 반납, 해지).
    sections = retriever.retrieve("장비를 반납이 확인되어야 해지가 끝나나요?", top_k=3).sections
    assert sections[0].section_id == "billing/cancel.html#process"
    sections = retriever.retrieve("군입대로는 정지가 며칠까지 되나요?", top_k=3).sections
    assert sections[0].section_id == "billing/suspend.html#limits"


def test_filters_apply_to_both_retrievers(built_store):
    retriever = _retriever(built_store)
    question = "위약금과 환불 요금은 얼마인가요?"
    vector = retriever.embed_model.get_query_embedding(question)
    english = Filters(lang="en")
    dense = retriever.nodes([cid for cid, _ in retriever.dense(vector, 10, english)]).values()
    lexical = retriever.nodes([cid for cid, _ in retriever.lexical_hits("refund roaming 위약금", 10, english)])
    assert dense and lexical
    assert {node.metadata["lang"] for node in dense} == {"en"}
    assert {node.metadata["lang"] for node in lexical.values()} == {"en"}

    billing = Filters(under="billing/")
    dense = retriever.nodes([cid for cid, _ in retriever.dense(vector, 10, billing)]).values()
    lexical = retriever.nodes([cid for cid, _ in retriever.lexical_hits(question, 10, billing)])
    assert dense and lexical
    assert all(n.metadata["path"].startswith("billing/") for n in dense)
    assert all(n.metadata["path"].startswith("billing/") for n in lexical.values())

    sources = retriever.retrieve(question, 5, Filters(lang="ko", under="billing")).sections
    assert sources and all(s.section_id.startswith("billing/") for s in sources)


def test_results_are_distinct_sections(built_store):
    retriever = _retriever(built_store)
    sections = retriever.retrieve("인터넷 요금과 약정", top_k=5).sections
    ids = [s.section_id for s in sections]
    assert len(ids) == len(set(ids))


def test_chunks_deleted_behind_a_live_retriever_are_never_returned(manuals, settings):
    """The retriever remembers which section each chunk id belongs to and reads only the
    returned sections' records; a chunk an ingestion deleted since (still named by the HNSW
    index and the BM25 snapshot) must not come back, and the ranking is the one a fresh
    retriever over the same store gives."""
    from ingest.run import ingest

    assert ingest([manuals], settings, progress=False).files.failed == 0
    # lexical only: the BM25 snapshot keeps naming the deleted chunks at the top (Chroma's
    # own query would stop returning them)
    settings = settings.model_copy(update={"retrieval_mode": "lexical"})
    live = HybridRetriever(settings)
    question = "일시 정지는 1년에 최대 며칠까지 가능한가요?"
    before = live.retrieve(question, top_k=5).sections
    assert before[0].section_id.startswith("billing/suspend.html")
    gone = [hit.node.node_id for hit in before[0].chunks]
    live.collection.delete(ids=gone)  # what an ingestion does to a changed page, in place

    after = live.retrieve(question, top_k=5).sections
    assert not {hit.node.node_id for s in after for hit in s.chunks} & set(gone)
    assert all(hit.node.metadata.get("path") for s in after for hit in s.chunks)
    fresh = HybridRetriever(settings).retrieve(question, top_k=5).sections
    assert [(s.section_id, [h.node.node_id for h in s.chunks]) for s in after] == \
        [(s.section_id, [h.node.node_id for h in s.chunks]) for s in fresh]


def test_a_retrievers_first_hit_outranks_a_chunk_both_rank_middling():
    """The one retriever that can match (the dense side for a Korean question over an English
    answer) puts the right chunk first; a chunk both retrievers rank 25th must not bury it."""
    from core.settings import Settings
    from query.answer.retrieve import fuse

    fillers = [f"f{i}" for i in range(24)]
    dense = [(cid, 0.5) for cid in ["sure", *fillers, "both"]]
    lexical = [(cid, 1.0) for cid in [*(f"g{i}" for i in range(24)), "both"]]
    default = Settings.model_fields["rrf_k"].default  # the shipped constant, whatever .env says
    fused = fuse(dense, lexical, Settings().model_copy(update={"rrf_k": default}))
    assert fused["sure"] > fused["both"]
