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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

from core.chunk_record import HANGUL, HANGUL_FIRST, HANGUL_LAST, LANG, text_language
from core.store import Storage
from core.vocab import Vocabulary

_HANGUL_RUN = re.compile(f"[{HANGUL_FIRST}-{HANGUL_LAST}]+")
BIGRAM = "~"
_LATIN_WORD = re.compile(r"[a-z0-9][a-z0-9_]*(?:[.,][0-9]+)*", re.I)
# Kiwi tags kept: nouns, verb/adjective stems, roots, foreign words, numbers, Hanja.
_KEEP_TAGS = ("NNG", "NNP", "NNB", "NR", "VV", "VA", "XR", "SL", "SN", "SH", "MAG", "XSN")
_STOP = frozenset(
    "a an and are as at be by can do does for from how i in is it its of on or that the this to "
    "what when where which who why will with my me you your we our should would could there than "
    "then if into not no yes so such many much".split()
)
# Morphemes every Korean question has ("...할 수 있나요?"): they only favour long chunks.
_KO_STOP = frozenset("수 것 있 없 하 되 등 어느 어떤 무엇 어떻 어디 언제".split())


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


@lru_cache(maxsize=4096)
def _question_morphemes(question: str) -> tuple:
    """Kiwi's reading of a question, shared by its BM25 terms and its nouns (core.vocab):
    one analysis instead of two per question, and none for a question asked again. Kiwi's
    tokens are read-only records, safe to hand to several threads."""
    return tuple(_kiwi().tokenize(question))


def tokenize(text: str, question: bool = False) -> list[str]:
    """Tokens for BM25: Kiwi content morphemes and their words' syllable bigrams for
    Hangul, stemmed words otherwise. `question`: remember Kiwi's analysis (see above)."""
    if not HANGUL.search(text):
        return _latin(_LATIN_WORD.findall(text))
    tokens: list[str] = []
    latin: list[str] = []
    spans: dict[int, list[int]] = {}  # word position -> [start, end] of its content morphemes
    misread: dict[int, list[int]] = {}  # words Kiwi read as a bare auxiliary verb (see _bigrams)
    for token in (_question_morphemes(text) if question else _kiwi().tokenize(text)):
        tag = token.tag.split("-")[0]
        if tag == "VX" and token.word_position not in spans and token.word_position not in misread:
            misread[token.word_position] = [token.start, token.start + token.len]
        elif token.word_position in misread and tag.startswith("E"):
            misread[token.word_position][1] = token.start + token.len
        if tag not in _KEEP_TAGS:
            continue
        if tag in ("SL", "SN"):
            latin.extend(_LATIN_WORD.findall(token.form))
            continue
        if tag == "XSN" and token.form not in ("자", "비", "료", "율", "권"):
            continue
        if token.form in _KO_STOP:
            continue
        tokens.append(token.form)
        span = spans.setdefault(token.word_position, [token.start, token.start + token.len])
        span[0], span[1] = min(span[0], token.start), max(span[1], token.start + token.len)
    words = [text[start:end] for start, end in spans.values()]
    words += [text[start:end] for position, (start, end) in misread.items() if position not in spans and end - start >= 3]
    return tokens + _latin(latin) + _bigrams(words)


def word_terms(text: str, question: bool = False) -> frozenset[str]:
    """`tokenize` without the syllable bigrams: the terms that stand for whole words (Kiwi's
    content morphemes, stemmed Latin words). A bigram ("~재시") matches inside unrelated
    words, so comparing what two texts name uses these only."""
    return frozenset(t for t in tokenize(text, question=question) if not t.startswith(BIGRAM))


def _bigrams(words: Iterable[str]) -> list[str]:
    """Syllable bigrams of each word's content part, a segmentation-free second view.

    Kiwi splits the same word differently by context ("지시어" alone, "지시"+"어" after
    a Latin word), so morphemes alone can miss an exact match; the bigrams of the word
    without its particles and endings ("지시어는" -> 지시, 시어) still meet. A word that
    Kiwi reads as nothing but an auxiliary verb and endings ("지시어" after a directive
    name: 지/VX 시/EP 어/EF) has no content morpheme at all; its bigrams are its only
    terms. Prefixed to stay apart from morphemes.
    """
    out = []
    for word in words:
        for run in _HANGUL_RUN.findall(word):
            out.extend(BIGRAM + run[i : i + 2] for i in range(len(run) - 1))
    return out


HEADING = "h:"


def chunk_tokens(body: str, headings: list[str], keywords: Iterable[str] = ()) -> list[str]:
    """A chunk's BM25 terms: its body's, plus its section's headings and index keywords
    (ingest.parse.keywords_of) under a `h:` prefix.

    Why a second field: a directive's name occurs in dozens of sections ("Alias" is on
    every page that configures one), but only one section is headed "Alias Directive".
    Prefixed heading terms are rare, so BM25's IDF gives a heading match the weight a
    fielded engine (BM25F) would, in the same single index. The page title (the first
    heading) is left out: it would mark every section of the page alike, and an intro
    section that has only the title gets no heading terms. Index keywords are another name
    the authors gave the section, as a heading is, and weigh as one.
    """
    named = " ".join([*headings[1:], *keywords])
    return tokenize(body) + [HEADING + t for t in dict.fromkeys(tokenize(named))]


DESCRIPTION = "d:"


def body_terms(terms: list[str]) -> list[str]:
    """The terms of a chunk's text, without the heading and description fields' prefixed ones."""
    return [t for t in terms if not t.startswith((HEADING, DESCRIPTION))]


def card_tokens(card_text: str) -> list[str]:
    """A description card's BM25 terms: the description (after the heading line) under a
    `d:` prefix.

    Why a third field: "how many requests may one persistent connection carry?" names
    no directive; the words it shares with MaxKeepAliveRequests are those of its one-line
    description ("Number of requests allowed on a persistent connection"). In the body
    field those words are common and the short table drowns among long prose chunks; as
    `d:` terms they compete only with other descriptions.
    """
    return [DESCRIPTION + t for t in tokenize(card_text.split("\n", 1)[-1])]


def query_tokens(question: str) -> list[str]:
    """A question's terms, searched in the body, the headings and the descriptions."""
    terms = tokenize(question, question=True)
    return terms + [HEADING + t for t in terms] + [DESCRIPTION + t for t in terms]


# Terms the corpus vocabulary adds (core.vocab) beside a question word the corpus also
# writes count this much of the question's own: they must not outrank a page that matches
# what the user typed.
EXPANSION_WEIGHT = 0.5
_NOUN_TAGS = ("NNG", "NNP", "XR")


def hangul_nouns(text: str) -> list[str]:
    """The question's Hangul nouns, and each word's run of nouns taken whole ("아이피" +
    "티비" -> "아이피티비"): a transliteration Kiwi does not know is often cut in pieces."""
    nouns: list[str] = []
    spans: dict[int, list[int]] = {}
    for token in _question_morphemes(text):
        if token.tag not in _NOUN_TAGS or not HANGUL.search(token.form):
            continue
        nouns.append(token.form)
        span = spans.setdefault(token.word_position, [token.start, token.start + token.len])
        span[0], span[1] = min(span[0], token.start), max(span[1], token.start + token.len)
    whole = [text[a:b] for a, b in spans.values()]
    return list(dict.fromkeys(w for w in whole + nouns if _HANGUL_RUN.fullmatch(w)))


def _word_terms(word: str) -> int:
    """How many BM25 terms a question word makes: a Hangul word its morphemes and syllable
    bigrams (시냅틱: 3), a Latin word one."""
    return max(1, len(tokenize(word)))


def _idf(df: int, n: int) -> float:
    """bm25s's default (Lucene) IDF."""
    return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))


@dataclass
class LexicalHit:
    chunk_id: str
    score: float


class LexicalIndex:
    """bm25s over pre-tokenized chunks, plus the per-chunk fields filters need."""

    def __init__(self, retriever: bm25s.BM25, ids: list[str], fields: dict[str, list[str]],
                 vocab: Vocabulary | None = None) -> None:
        self.retriever = retriever
        self.ids = ids
        self.fields = {name: np.asarray(values, dtype=object) for name, values in fields.items()}
        self.vocab = vocab
        self._codes: tuple[dict[str, int], np.ndarray] | None = None  # see `_language_codes`

    @classmethod
    def build(cls, ids: list[str], tokens: list[list[str]], fields: dict[str, list[str]],
              vocab: Vocabulary | None = None) -> "LexicalIndex":
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        if ids:
            retriever.index(tokens, show_progress=False)
        if vocab is not None:  # (an empty index has no vocab_dict: a first run whose every manual failed)
            vocab.index_hangul(t for t in getattr(retriever, "vocab_dict", {}) if _HANGUL_RUN.fullmatch(t))
        return cls(retriever, ids, fields, vocab)

    def save(self, directory: Path, attach: Callable[[Path], None] | None = None) -> None:
        """Write to a sibling temp dir and rename, so readers never see half an index.
        `attach`: writes what belongs to the same snapshot into the temp dir before the
        rename (the row lane's index, core.rows; the summary lane's vectors, core.summaries),
        so it is published and removed with it."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self.retriever.save(str(Storage.lexical_bm25(tmp)))
        if self.vocab is not None:
            self.vocab.save(Storage.lexical_vocab(tmp))
        Storage.lexical_chunks(tmp).write_text(
            json.dumps({"ids": self.ids, "fields": {k: v.tolist() for k, v in self.fields.items()}}),
            encoding="utf-8",
        )
        if attach is not None:
            attach(tmp)
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        meta = json.loads(Storage.lexical_chunks(directory).read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(Storage.lexical_bm25(directory))) if meta["ids"] else bm25s.BM25()
        return cls(retriever, meta["ids"], meta["fields"], Vocabulary.load(Storage.lexical_vocab(directory)))

    def chunk_frequency(self, token: str) -> int:
        """How many chunks hold `token` (bm25s keeps one sparse column per term)."""
        tid = self.retriever.vocab_dict.get(token)
        if tid is None:
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid])

    def term_frequency(self, term: str) -> int:
        """About how many chunks hold a word or phrase: a Hangul run as a morpheme or else
        by its rarest syllable bigram, a Latin phrase by its rarest word."""
        counts = []
        for run in _HANGUL_RUN.findall(term):
            if run in self.retriever.vocab_dict or len(run) < 2:
                counts.append(self.chunk_frequency(run))
            else:
                counts.append(min(self.chunk_frequency(BIGRAM + run[i : i + 2]) for i in range(len(run) - 1)))
        counts += [self.chunk_frequency(t) for t in _latin(_LATIN_WORD.findall(term))]
        return min(counts, default=0)

    def expansion(self, question: str) -> tuple[list[str], list[str]]:
        """Query terms for what the question names in words the corpus does not use
        (core.vocab): (terms that stand for a question word the corpus never writes, each
        repeated as often as that word made terms; terms beside a word it does). Empty
        without a vocabulary (an older snapshot)."""
        if self.vocab is None or not self.ids:
            return [], []
        nouns = hangul_nouns(question) if HANGUL.search(question) else []
        latin = [w.lower() for w in _LATIN_WORD.findall(question) if w.lower() not in _STOP]
        found = self.vocab.expand(question, nouns, self.term_frequency, latin)
        # A term that replaces a word counts as many times as the word made terms. Why: a
        # Hangul word is searched as its morphemes and their syllable bigrams, so 시냅틱 is
        # three terms that match nothing and "synaptic", counted once, stood for all three:
        # a common word beside it (프로그램, four terms) outweighed it on every page that
        # writes that word. On the index of all dev corpora the transliteration questions
        # (vocab-debian) had the right section in the top 5 for 0.50 of them, 0.92 with this.
        replacing: list[str] = []
        for (word, _), term, replaces in zip(found.reasons, found.text, found.replaces):
            if replaces:
                replacing += query_tokens(term) * _word_terms(word)
        beside = " ".join(t for t, r in zip(found.text, found.replaces) if not r)
        return replacing, (query_tokens(beside) if beside else [])

    def search_question(self, question: str, k: int, allowed: np.ndarray | None = None,
                        expand: bool = True, language_idf: bool = False,
                        expansion: tuple[list[str], list[str]] | None = None) -> list[LexicalHit]:
        """`search` for a question's own terms plus the corpus's names for what it asks
        about: in place of a word the corpus never writes at full weight, beside one it
        does at `EXPANSION_WEIGHT`. `language_idf`: weigh terms by their rarity among the
        chunks in the question's language (`language_weights`). `expansion`: the question's
        `expansion()` when the caller has it already."""
        own = query_tokens(question)
        lang = text_language(question) if language_idf else None
        if not expand:
            return self.search(own, k, allowed, lang=lang)
        replacing, beside = expansion if expansion is not None else self.expansion(question)
        known = set(own)
        own += [t for t in replacing if t not in known]
        known = set(own)
        return self.search(own, k, allowed, [t for t in dict.fromkeys(beside) if t not in known], lang=lang)

    def language_weights(self, token_ids: list[int], lang: str) -> np.ndarray:
        """Per query term: its IDF among the chunks in `lang` over its IDF among all chunks.

        Why: BM25's IDF counts every chunk, so in an index holding English and Korean manuals
        a Korean word on every Korean page ("설치", "다음", "파일") looks rare: the English
        chunks never hold it. Its weight then drowns the words that tell the sections of the
        Korean manuals apart. Counting documents in the question's language only gives
        "occurs everywhere" its meaning in each language, from the corpus itself (no word
        lists). A term no chunk of that language holds keeps its weight (it only meets
        chunks of other languages). Same formula as bm25s's default (Lucene) IDF.
        """
        weights = np.ones(len(token_ids), dtype=np.float32)
        codes = self._language_codes()
        code = codes[0].get(lang)
        if code is None:
            return weights
        mine = codes[1] == code
        n_all, n_lang = len(self.ids), int(mine.sum())
        if n_lang == n_all:
            return weights  # one language: both IDFs are the same
        indptr, indices = self.retriever.scores["indptr"], self.retriever.scores["indices"]
        for i, tid in enumerate(token_ids):
            docs = indices[indptr[tid]:indptr[tid + 1]]
            df_all, df_lang = len(docs), int(mine[docs].sum())
            if df_lang:
                weights[i] = _idf(df_lang, n_lang) / _idf(df_all, n_all)
        return weights

    def _language_codes(self) -> tuple[dict[str, int], np.ndarray]:
        """(language -> code, each chunk's language code), computed once per index."""
        if self._codes is None:
            langs = self.fields.get(LANG)
            names = sorted(set(langs.tolist())) if langs is not None else []
            table = {name: i for i, name in enumerate(names)}
            column = np.asarray([table[x] for x in langs], dtype=np.int16) if langs is not None \
                else np.zeros(len(self.ids), dtype=np.int16)
            self._codes = (table, column)
        return self._codes

    def _scores(self, tokens: list[str], lang: str | None) -> np.ndarray:
        """BM25 scores of every chunk for `tokens` (repeats count again, as in bm25s), each
        term's column weighted by `language_weights` when a language is given."""
        if lang is None:
            return self.retriever.get_scores(tokens)
        vocab = self.retriever.vocab_dict
        ids = [vocab[t] for t in tokens]
        weights = self.language_weights(ids, lang)
        data, indices, indptr = (self.retriever.scores[key] for key in ("data", "indices", "indptr"))
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for tid, weight in zip(ids, weights):
            span = slice(indptr[tid], indptr[tid + 1])
            np.add.at(scores, indices[span], weight * data[span])
        return scores

    def search(self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None,
               extra_tokens: list[str] = (), lang: str | None = None) -> list[LexicalHit]:
        if not self.ids:
            return []
        vocab = self.retriever.vocab_dict
        known = [t for t in query_tokens if t in vocab]
        extra = [t for t in extra_tokens if t in vocab]
        if not known and not extra:
            return []
        scores = self._scores(known, lang) if known else np.zeros(len(self.ids), dtype=np.float32)
        if extra:
            scores = scores + EXPANSION_WEIGHT * self._scores(extra, lang)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [LexicalHit(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
