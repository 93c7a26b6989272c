"""Korean-aware lexical tokenization and the persisted BM25 index.

English-style BM25 tokenizers keep Korean particles glued to nouns (`인증제공자를` never
matches `인증제공자`), so Hangul text goes through Kiwi's morpheme analyser (its model
ships in the `kiwipiepy_model` wheel) and keeps only content morphemes; Latin words are
lower-cased and Snowball-stemmed. Ingestion tokenizes each chunk once and stores the tokens
in the manifest; the BM25 index is rebuilt from those rows, so it always matches Chroma.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9_]*(?:[.,][0-9]+)*", re.I)
# Kiwi tags kept: nouns, verb/adjective stems, roots, foreign words, numbers, Hanja.
_KEEP_TAGS = ("NNG", "NNP", "NNB", "NR", "VV", "VA", "XR", "SL", "SN", "SH", "MAG", "XSN")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i in is it its of on or that the this to "
    "what when where which who why will with my me you your we our should would could there than "
    "then if into not no yes so such".split()
)


@lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def _latin(words: list[str]) -> list[str]:
    stem = _stemmer().stemWords
    words = [w.lower() for w in words]
    words = [w for w in words if w not in _STOP]
    out = []
    for word, stemmed in zip(words, stem(words)):
        out.append(stemmed)
        if "," in word:  # "33,000" is also searched as "33000"
            out.append(word.replace(",", ""))
    return out


def tokenize(text: str) -> list[str]:
    """Tokens for BM25: Kiwi content morphemes for Hangul, stemmed words otherwise."""
    if not _HANGUL.search(text):
        return _latin(_LATIN_WORD.findall(text))
    tokens: list[str] = []
    latin: list[str] = []
    for token in _kiwi().tokenize(text):
        tag = token.tag.split("-")[0]
        if tag not in _KEEP_TAGS:
            continue
        if tag in ("SL", "SN"):
            latin.extend(_LATIN_WORD.findall(token.form))
        elif tag == "XSN" and token.form not in ("자", "비", "료", "율", "권"):
            continue
        else:
            tokens.append(token.form)
    return tokens + _latin(latin)


def tokenize_many(texts: list[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


@dataclass
class LexicalHit:
    chunk_id: str
    score: float


class LexicalIndex:
    """bm25s over pre-tokenized chunks, plus the per-chunk fields filters need."""

    def __init__(self, retriever: bm25s.BM25, ids: list[str], fields: dict[str, list[str]]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.fields = {name: np.asarray(values, dtype=object) for name, values in fields.items()}

    @classmethod
    def build(cls, ids: list[str], tokens: list[list[str]], fields: dict[str, list[str]]) -> "LexicalIndex":
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        if ids:
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ids, fields)

    def save(self, directory: Path) -> None:
        """Write to a sibling temp dir and rename, so readers never see half an index."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self.retriever.save(str(tmp / "bm25"))
        (tmp / "chunks.json").write_text(
            json.dumps({"ids": self.ids, "fields": {k: v.tolist() for k, v in self.fields.items()}}),
            encoding="utf-8",
        )
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        meta = json.loads((directory / "chunks.json").read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(directory / "bm25")) if meta["ids"] else bm25s.BM25()
        return cls(retriever, meta["ids"], meta["fields"])

    def search(self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None) -> list[LexicalHit]:
        if not self.ids:
            return []
        vocab = self.retriever.vocab_dict
        known = [t for t in query_tokens if t in vocab]
        if not known:
            return []
        scores = self.retriever.get_scores(known)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [LexicalHit(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
