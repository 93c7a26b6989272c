"""A bounded in-memory cache in front of an embedding model: for the extractive answer,
and for the summary lane's question vectors (query.answer.retrieve).

Why: the extractive answer embeds every candidate sentence and table row of the retrieved
sections (up to 60 per question), and that forward pass was 80% of an extractive
answer's CPU time (profiled on data/manuals: 0.87 of 1.1 s under load). Agents ask about
the same popular sections all day, so the same sentences come back again and again; a
repeated sentence costs a dictionary lookup instead of a forward pass. The question's own
vector is primed from retrieval, which has already computed it.

Thread-safe: the dictionaries are guarded by a lock held only for lookups and inserts,
never across the model call (two threads may embed the same new sentence at once; the
result is the same vector).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

MAX_TEXTS = 20_000  # 512 floats each: about 40 MB at most
MAX_QUERIES = 2_000


class CachedEmbedding(BaseEmbedding):
    _inner: BaseEmbedding = PrivateAttr()
    _lock: Any = PrivateAttr()
    _texts: OrderedDict = PrivateAttr()
    _queries: OrderedDict = PrivateAttr()

    def __init__(self, inner: BaseEmbedding, **kwargs: Any) -> None:
        super().__init__(model_name=inner.model_name, embed_batch_size=inner.embed_batch_size, **kwargs)
        self._inner = inner
        self._lock = threading.Lock()
        self._texts = OrderedDict()
        self._queries = OrderedDict()

    @staticmethod
    def _put(cache: OrderedDict, key: str, value: list[float], limit: int) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > limit:
            cache.popitem(last=False)

    def remember_query(self, query: str, vector: list[float] | None) -> None:
        if vector is not None:
            with self._lock:
                self._put(self._queries, query, list(vector), MAX_QUERIES)

    def _get_query_embedding(self, query: str) -> list[float]:
        with self._lock:
            hit = self._queries.get(query)
        if hit is not None:
            return hit
        vector = self._inner.get_query_embedding(query)
        self.remember_query(query, vector)
        return vector

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            found = {t: self._texts[t] for t in texts if t in self._texts}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self._inner.get_text_embedding_batch(missing)
            with self._lock:
                for text, vector in zip(missing, vectors):
                    self._put(self._texts, text, vector, MAX_TEXTS)
            found.update(zip(missing, vectors))
        return [found[t] for t in texts]
