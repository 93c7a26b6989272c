"""The corpus's own vocabulary, to meet questions that name things differently.

Users type product and command names the way they say them: "아파치" for Apache, "김프" for
GIMP, "아이피티비" for IPTV, "SSL" where the page spells out the expansion, or "ONT" where
a Korean page writes "광모뎀(ONT)". BM25 only matches what is written, so a question in
transliteration finds nothing of a page written in Latin letters. Nothing here is a list
written for one product; everything is learned from the ingested pages:

- `page_terms()` (at ingestion, per page): the Latin words a page uses, the pairs it writes
  in parentheses ("가상 호스트(virtual host)", "한빛텔레콤(Hanbit Telecom)") and the
  acronyms it defines ("Secure Sockets Layer (SSL)").
- `Vocabulary` (built with each BM25 snapshot, saved beside it): page frequencies of those
  Latin words, indexed by a coarse phonetic key, and the pairs and acronyms.
- `Vocabulary.expand()` (at query time): for each Hangul noun of the question that the
  corpus rarely writes, the corpus's Latin words that sound the same (a loanword-aware
  comparison of consonant classes and vowels) or that the noun spells out letter by letter
  (아이피티비 -> IPTV); for each side of a learned pair or acronym in the question, the other
  side. A term is kept only when the corpus writes it more often than the question's word;
  it replaces a word the corpus never writes, and is added at a lower weight beside one it
  does (core.lexical.LexicalIndex.search_question).

Why not a romanization package (hangul-romanize, korean-romanizer, g2pk): they implement
the Revised Romanization of native words (ㅓ -> eo, ㅡ -> eu, ㅍ -> p), which is exactly
what loanword matching must undo (컴퓨터 is "computer", not "keompyuteo"; 프 is "p" or "f"
with an epenthetic vowel). Decomposing a syllable into jamo is three lines of the Unicode
standard's arithmetic; the comparison below works on sound classes instead of spellings.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_HYPHENATED = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)+\b")
# "한글 말(Latin words)" and "Latin words(한글 말)": the parenthesis holds the other script.
# Each is found from its parenthesis backwards (the words before it, one space apart): as one
# pattern ("up to 4 words, an optional space, then '('") the engine tried every way of
# cutting every run of letters into words, at every position of every page: a cold ingest
# of the httpd manual took 1.91x the embedding floor instead of 1.28x (py-spy: a third of
# all samples). The same terms come out (checked on all 1,088 pages of the four corpora).
_LATIN_IN_PARENS = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9 .+\-/]{0,40}?)\s*\)")
_KO_IN_PARENS = re.compile(r"\(\s*([\uac00-\ud7a3][\uac00-\ud7a3 ]{0,20}?)\s*\)")
_KO_BEFORE = re.compile(r"([\uac00-\ud7a3]+(?: [\uac00-\ud7a3]+){0,3} ?)$")
_LATIN_BEFORE = re.compile(r"([A-Za-z][A-Za-z0-9.+\-/]*(?: [A-Za-z][A-Za-z0-9.+\-/]*){0,3} ?)$")
# "Secure Sockets Layer (SSL)" and "SSL (Secure Sockets Layer)".
# Found from the parenthesis backwards too.
_ACRONYM_IN_PARENS = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9]{1,9})\s*\)")
_WORDS_BEFORE = re.compile(r"((?:[A-Za-z][\w\-]* ){1,8})$")
_LOOK_BACK = 200  # characters before the parenthesis where its expansion may start
_ACRONYM_THEN_EXPANSION = re.compile(r"\b([A-Z][A-Za-z0-9]{1,9}) ?\(\s*([A-Za-z][\w\- ]{3,80}?)\s*\)")
_MINOR = frozenset("of and the for a an to in on with by".split())
# A name written as one word of capitalised parts (LibreOffice, PowerPoint, KakaoTalk):
# users shorten it to its first part (리브레, "Libre") or its initials ("LO").
_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b")


# ---------------------------------------------------------------- ingestion: one page's terms

def _before_parens(text: str, inside: re.Pattern, before: re.Pattern) -> list[tuple[str, str]]:
    """(words right before a parenthesis, what the parenthesis holds) for every parenthesis
    `inside` matches whose preceding words `before` matches (anchored at the parenthesis)."""
    out = []
    for match in inside.finditer(text):
        words = before.search(text, max(0, match.start() - _LOOK_BACK), match.start())
        if words:
            out.append((words.group(1), match.group(1)))
    return out


def page_terms(text: str) -> dict:
    """What one page contributes to the vocabulary (stored per page in the manifest, so an
    incremental run only re-reads the pages that changed)."""
    # Hyphenated names count whole too ("Wi-Fi" is said 와이파이, not 와이 파이).
    latin = sorted({w.lower() for w in _LATIN.findall(text) + _HYPHENATED.findall(text) if 2 <= len(w) <= 30})
    pairs: set[tuple[str, str]] = set()
    for ko, la in _before_parens(text, _LATIN_IN_PARENS, _KO_BEFORE):
        la = " ".join(la.split())
        ko = _hangul_name(ko.split(), len(la.split()))
        if len(ko) >= 2 and not la.isdigit():
            pairs.add((ko, la))
    for la, ko in _before_parens(text, _KO_IN_PARENS, _LATIN_BEFORE):
        ko = " ".join(ko.split())
        words = la.split()
        la = " ".join(words[-max(1, min(len(ko.split()), len(words))):])
        if len(ko.replace(" ", "")) >= 2 and len(la) >= 2:
            pairs.add((ko, la))
    acronyms: set[tuple[str, str]] = set()
    for phrase, acronym in _before_parens(text, _ACRONYM_IN_PARENS, _WORDS_BEFORE):
        expansion = _expansion_for(acronym, phrase.split())
        if expansion:
            acronyms.add((acronym.lower(), expansion))
    for acronym, phrase in _ACRONYM_THEN_EXPANSION.findall(text):
        expansion = _expansion_for(acronym, phrase.split(), leading=True)
        if expansion:
            acronyms.add((acronym.lower(), expansion))
    compounds = sorted({(w.lower(), re.findall(r"[A-Z][a-z]+", w)[0].lower(), "".join(re.findall(r"[A-Z]", w)).lower())
                        for w in _CAMEL.findall(text)})
    return {"latin": latin, "pairs": sorted(pairs), "acronyms": sorted(acronyms), "compounds": compounds}


_PARTICLE_END = frozenset("은는이가을를의에로와과도서고며면다요")


def _hangul_name(words: list[str], latin_words: int) -> str:
    """The Hangul words a parenthesis names: the last one, and the ones before it while the
    Latin side has more words and they carry no particle ("가상 호스트(virtual host)", but
    only "한빛텔레콤" in "이 매뉴얼은 한빛텔레콤(Hanbit Telecom)")."""
    taken = [words[-1]]
    for word in reversed(words[:-1]):
        if len(taken) >= latin_words or word[-1] in _PARTICLE_END:
            break
        taken.insert(0, word)
    return " ".join(taken)


def _expansion_for(acronym: str, words: list[str], leading: bool = False) -> str | None:
    """The words whose initials spell `acronym` (minor words may be skipped): the last ones
    before "(ACR)", or the first ones inside "ACR (...)". None when the initials do not fit,
    which rejects ordinary parentheses ("the default (Off)")."""
    letters = [c for c in acronym.lower() if c.isalpha()]
    if len(letters) < 2 or acronym.lower() == acronym and not leading:
        return None  # "(see below)" is not an acronym; defined acronyms carry capitals
    seq = words if leading else list(reversed(words))
    wanted = letters if leading else list(reversed(letters))
    taken, i = [], 0
    for word in seq:
        if i == len(wanted):
            break
        initial = word[0].lower()
        if initial == wanted[i]:
            taken.append(word)
            i += 1
        elif word.lower() in _MINOR and taken:
            taken.append(word)
        else:
            return None
    if i != len(wanted):
        return None
    phrase = taken if leading else list(reversed(taken))
    return " ".join(phrase).lower()


# ---------------------------------------------------------------- sound classes

# Hangul jamo (initials, vowels, finals in Unicode order) -> sound symbols. Consonants are
# upper case classes (P = p/b/f/v, T = t/d, K = k/g/c/q, S = s/th, J = j/z/soft g,
# C = ch, L = l/r, N, M, G = ng, H); vowels are lower case, "@" is ㅓ (English's schwa:
# 서버 server, 컴퓨터 computer) and "~" a vowel Korean inserts to pronounce a consonant
# cluster or a final consonant (ㅡ in 스, 프, 트; ㅣ in a final 시/지/치: cache, page).
_INITIAL = ["K", "K", "N", "T", "T", "L", "M", "P", "P", "S", "S", "", "J", "J", "C", "K", "T", "P", "H"]
_VOWEL = ["a", "ä", "ya", "ye", "@", "e", "y@", "ye", "o", "wa", "we", "we", "yo", "u", "w@", "we", "wi", "yu", "~", "i", "i"]
_FINAL = ["", "K", "K", "K", "N", "N", "N", "T", "L", "L", "M", "L", "L", "L", "P", "L",
          "M", "P", "P", "T", "T", "G", "T", "T", "K", "T", "P", "T"]
_VOWELS = frozenset("aeiouyw@~äIE")  # ä: ㅐ, the English /æ/ (태스크 task, 캐시 cache, 앱 app)


def hangul_sounds(word: str) -> list[str]:
    out: list[str] = []
    syllables = [ord(ch) - 0xAC00 for ch in word if 0 <= ord(ch) - 0xAC00 < 11172]
    for n, code in enumerate(syllables):
        initial, vowel, final = code // 588, (code % 588) // 28, code % 28
        if _INITIAL[initial]:
            out.append(_INITIAL[initial])
        if vowel == 20 and not final and _INITIAL[initial] in ("S", "J", "C") and n == len(syllables) - 1:
            out.append("~")  # 캐시, 페이지, 매치: the final i only voices sh/ge/ch
        else:
            out.extend(_VOWEL[vowel])
        if _FINAL[final]:
            out.append(_FINAL[final])
    return _collapse(_diphthongs(out))


def _diphthongs(sounds: list[str]) -> list[str]:
    """아이 and 에이 are how Korean writes English's long i and long a (라이브러리 library,
    와이파이 Wi-Fi, 테이블 table, 업데이트 update): one sound each, "I" and "E"."""
    out: list[str] = []
    for s in sounds:
        if s == "i" and out and out[-1] in ("a", "e"):
            out[-1] = "I" if out[-1] == "a" else "E"
        else:
            out.append(s)
    return out


_LATIN_RULES = {  # spelling -> sounds, matched longest first
    "tion": ["S", "@", "N"], "sion": ["S", "@", "N"], "ture": ["C", "@"],
    "sch": ["S", "K"], "tch": ["C"], "dge": ["J"],
    "ph": ["P"], "th": ["S"], "sh": ["S"], "ch": ["C"], "ck": ["K"], "ng": ["G"],
    "qu": ["K", "w"], "wh": ["w"], "wr": ["L"], "gh": [], "ce": ["S", "e"], "ci": ["S", "i"], "cy": ["S", "i"],
    "x": ["K", "S"],
}
_LATIN_LETTER = {"a": "a", "e": "e", "i": "i", "o": "o", "u": "u", "y": "i", "w": "w",
                 "b": "P", "p": "P", "f": "P", "v": "P", "t": "T", "d": "T", "k": "K", "g": "K",
                 "c": "K", "q": "K", "s": "S", "z": "J", "j": "J", "m": "M", "n": "N",
                 "l": "L", "r": "L", "h": "H"}
_SPELLING = re.compile("|".join(sorted(_LATIN_RULES, key=len, reverse=True)) + "|.")


@lru_cache(maxsize=65536)
def latin_sounds(word: str) -> tuple[str, ...]:
    word = word.lower()
    out: list[str] = []
    for match in _SPELLING.finditer(word):
        piece = match.group()
        if piece in _LATIN_RULES:
            out.extend(_LATIN_RULES[piece])
        elif piece == "g" and match.start() == len(word) - 2 and word.endswith("ge"):
            out.append("J")  # page, image: a final -ge is soft
        elif piece in _LATIN_LETTER:
            out.append(_LATIN_LETTER[piece])
    if len(out) > 1 and out[-1] == "e" and out[-2] not in _VOWELS:
        out.pop()  # silent final e: "apache", "module"
    return tuple(_collapse(out))


def _collapse(sounds: list[str]) -> list[str]:
    """Doubled consonants sound once ("select" / 셀렉트 has ㄹ twice, "apple" p twice)."""
    out: list[str] = []
    for s in sounds:
        if out and s == out[-1] and s not in _VOWELS:
            continue
        out.append(s)
    return out


# Substitutions between consonant classes that loanwords make: th -> ㅅ/ㄷ, soft g -> ㅈ
# (digital 디지털), ch -> ㅊ/ㅈ/시 (cache 캐시), final -ng/-n, t written ㅅ (인터넷).
_NEAR = {frozenset(p): c for p, c in [(("T", "S"), 0.4), (("J", "K"), 0.4), (("C", "J"), 0.3),
                                     (("C", "T"), 0.5), (("S", "J"), 0.4), (("G", "N"), 0.4),
                                     (("C", "S"), 0.3)]}


def _indel(sound: str, latin_side: bool) -> float:
    if sound == "~":
        return 0.1  # Korean's inserted vowel
    if sound in _VOWELS:
        return 0.3  # English silent vowels, Korean glides
    if sound == "H":
        return 0.2
    if sound == "L" and latin_side:
        return 0.15  # r after a vowel is silent in Korean loanwords (server 서버, port 포트); see distance()
    return 1.0


def _sub(a: str, b: str) -> float:
    if a == b:
        return 0.0
    a_vowel, b_vowel = a in _VOWELS, b in _VOWELS
    if a_vowel and b_vowel:
        if "I" in (a, b):
            return 0.05 if "i" in (a, b) else 0.2
        if "E" in (a, b):
            return 0.05 if "a" in (a, b) else 0.1 if "e" in (a, b) else 0.2
        if "ä" in (a, b):
            return 0.05 if "a" in (a, b) else 0.1 if "e" in (a, b) else 0.2
        return 0.1 if "@" in (a, b) or "~" in (a, b) else 0.2
    if a_vowel != b_vowel:
        return 1.3
    return _NEAR.get(frozenset((a, b)), 1.0)


_SOUNDS = tuple("PTKSJCLNMGH") + tuple(_VOWELS)
_LATIN_CLUSTER_L = 1.0  # an l/r after a consonant is heard (크롬 chrome, 플랜 plan)
_SUB = {(a, b): _sub(a, b) for a in _SOUNDS for b in _SOUNDS}
_INDEL_KOREAN = {a: _indel(a, False) for a in _SOUNDS}
_INDEL_LATIN = {a: _indel(a, True) for a in _SOUNDS}


def distance(korean: list[str], latin: tuple[str, ...], limit: float = float("inf")) -> float:
    """Weighted edit distance between two sound sequences (a plain DP: words are short);
    stops as soon as every alignment costs more than `limit` (most candidates part early)."""
    latin_indel = [_LATIN_CLUSTER_L if s == "L" and j and latin[j - 1] not in _VOWELS else _INDEL_LATIN[s]
                   for j, s in enumerate(latin)]
    prev = [0.0]
    for cost in latin_indel:
        prev.append(prev[-1] + cost)
    for k in korean:
        k_cost = _INDEL_KOREAN[k]
        left = prev[0] + k_cost
        row = [left]
        best = left
        for j, s in enumerate(latin):
            left = min(prev[j + 1] + k_cost, left + latin_indel[j], prev[j] + _SUB[k, s])
            row.append(left)
            if left < best:
                best = left
        if best > limit:
            return float("inf")
        prev = row
    return prev[-1]


def _same_onset(first: str, latin: tuple[str, ...]) -> bool:
    """A word's first consonant is heard best and kept closest: 처음 is not "sim". Only
    the soft/hard g (지프 gif) may differ."""
    other = next((s for s in latin if s not in _VOWELS), "")
    return first == other or {first, other} == {"J", "K"}


# Key classes: the consonant skeleton without L (Korean drops r) and H, with the classes
# loanwords confuse merged (s/j/ch: cache 캐시, zip 집; ng/n).
_KEY_CLASS = {"P": "P", "T": "T", "K": "K", "S": "S", "J": "S", "C": "S", "M": "M", "N": "N", "G": "N"}


def sound_key(sounds) -> str:
    """The consonant skeleton a word is filed under: words that can sound alike share it."""
    out = ""
    for s in sounds:
        c = _KEY_CLASS.get(s)
        if c and not out.endswith(c):
            out += c
    return out


def latin_keys(word: str) -> set[str]:
    """A Latin word's key, and its key with a soft g (digital 디지털, engine 엔진)."""
    key = sound_key(latin_sounds(word))
    keys = {key}
    if re.search(r"g[eiy]", word):
        keys.add(sound_key(latin_sounds(re.sub(r"g(?=[eiy])", "j", word))))
    return keys


# Letter names as Koreans say them (아이피티비 = IPTV, 에스에스엘 = SSL).
_LETTER_NAMES = {
    "a": ["에이"], "b": ["비"], "c": ["씨", "시"], "d": ["디"], "e": ["이"], "f": ["에프"],
    "g": ["지", "쥐"], "h": ["에이치", "에취"], "i": ["아이"], "j": ["제이"], "k": ["케이"],
    "l": ["엘"], "m": ["엠"], "n": ["엔"], "o": ["오"], "p": ["피"], "q": ["큐"], "r": ["알"],
    "s": ["에스"], "t": ["티"], "u": ["유"], "v": ["브이", "뷔", "비"], "w": ["더블유", "더블류"],
    "x": ["엑스"], "y": ["와이"], "z": ["제트", "지"],
}
_NAME_TO_LETTER = [(name, letter) for letter, names in _LETTER_NAMES.items() for name in names]


def spelled_letters(word: str) -> set[str]:
    """Every way `word` reads as a run of letter names (at most a few: names barely overlap)."""
    results: set[str] = set()

    def walk(i: int, acc: str) -> None:
        if len(results) > 8:
            return
        if i == len(word):
            results.add(acc)
            return
        for name, letter in _NAME_TO_LETTER:
            if word.startswith(name, i):
                walk(i + len(name), acc + letter)

    walk(0, "")
    return {r for r in results if len(r) >= 2}


# ---------------------------------------------------------------- the corpus vocabulary

def _short_forms(compounds: Counter, latin: Counter) -> dict[str, str]:
    """Short form -> compound name, from the compounds the pages write: the first part
    ("libre" -> "libreoffice") and the initials ("lo"), each only when the corpus writes the
    compound more often than the short form on its own (a first part such as "power" or
    "open" that the manuals use as a word of its own is no short form) and when exactly one
    compound of the corpus shortens that way (two programs named "Open..." share no short form).
    """
    claims: dict[str, set[str]] = {}
    pages: Counter[str] = Counter()
    for (whole, first, initials), count in compounds.items():
        pages[whole] += count
        for short in (first, initials):
            if len(short) >= 2 and short != whole:
                claims.setdefault(short, set()).add(whole)
    return {short: next(iter(wholes)) for short, wholes in sorted(claims.items())
            if len(wholes) == 1 and latin.get(short, 0) < pages[next(iter(wholes))]}


@dataclass
class Expansion:
    """Terms to add to a question, and why (for `--explain`-style debugging and tests)."""

    text: list[str] = field(default_factory=list)  # phrases, tokenized by the caller
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (question word, corpus term)
    # Whether each phrase stands for a question word the corpus never writes: it then takes
    # that word's place at full weight (it is the user's word, written the corpus's way);
    # otherwise it is a second name beside one the corpus knows, and counts less.
    replaces: list[bool] = field(default_factory=list)


@dataclass
class Vocabulary:
    latin: dict[str, int] = field(default_factory=dict)  # Latin word -> pages using it
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (Hangul, Latin) written together
    acronyms: list[tuple[str, str]] = field(default_factory=list)  # (acronym, expansion)
    pages: int = 0
    keys: dict[str, list[str]] = field(default_factory=dict)  # sound key -> Latin words
    hangul: dict[str, list[str]] = field(default_factory=dict)  # sound key -> the corpus's Hangul words
    shorts: dict[str, str] = field(default_factory=dict)  # short form -> the compound name it stands for

    @classmethod
    def build(cls, terms: list[dict]) -> "Vocabulary":
        latin: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        acronyms: Counter[tuple[str, str]] = Counter()
        compounds: Counter[tuple[str, str, str]] = Counter()
        for page in terms:
            latin.update(page.get("latin", ()))
            pairs.update(tuple(p) for p in page.get("pairs", ()))
            acronyms.update(tuple(a) for a in page.get("acronyms", ()))
            compounds.update(tuple(c) for c in page.get("compounds", ()))
        shorts = _short_forms(compounds, latin)
        keys: dict[str, list[str]] = {}
        for word in sorted(set(latin) | {s for s in shorts if len(s) >= 3}):  # first parts are said too (리브레)
            if word.replace("-", "").isalpha() and len(word) >= 3:
                for key in latin_keys(word):
                    if key:
                        keys.setdefault(key, []).append(word)
        return cls(dict(latin), sorted(pairs), sorted(acronyms), len(terms), keys, shorts=shorts)

    def save(self, path: Path) -> None:
        data = {"pages": self.pages, "latin": self.latin, "pairs": self.pairs, "acronyms": self.acronyms,
                "keys": self.keys, "hangul": self.hangul, "shorts": self.shorts}
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "Vocabulary | None":
        if not path.exists():
            return None  # a snapshot written before the vocabulary existed: no expansion
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = cls(data["latin"], [tuple(p) for p in data["pairs"]],
                    [tuple(a) for a in data["acronyms"]], data["pages"], data.get("keys") or {})
        if "keys" not in data:  # written by an earlier version
            vocab.keys = cls.build([{"latin": list(vocab.latin)}]).keys
        vocab.hangul = data.get("hangul") or {}
        vocab.shorts = data.get("shorts") or {}
        return vocab

    def index_hangul(self, words) -> None:
        """File the corpus's Hangul words (its BM25 morphemes) by sound, for questions that
        write in Latin letters what a Korean manual writes in Hangul (Debian -> 데비안)."""
        hangul: dict[str, list[str]] = {}
        for word in sorted(words):
            if len(word) >= 2:
                key = sound_key(hangul_sounds(word))
                if key:
                    hangul.setdefault(key, []).append(word)
        self.hangul = hangul

    def hangul_for(self, word: str, limit: int = 1) -> list[str]:
        """The corpus's Hangul words that sound like the Latin `word` (the reverse of
        `transliterations`, with the same costs and cheap tests)."""
        latin = latin_sounds(word)
        if not latin:
            return []
        scored = []
        for candidate in self.hangul.get(sound_key(latin), ()):
            sounds = hangul_sounds(candidate)
            consonants = sum(1 for s in sounds if s not in _VOWELS)
            if consonants < 2 and len(candidate) < 3:
                continue
            if (abs(len(latin) - len(sounds)) > 3 or (latin[0] in _VOWELS) != (sounds[0] in _VOWELS)
                    or "L" in sounds and "L" not in latin
                    or not _same_onset(next((s for s in sounds if s not in _VOWELS), ""), latin)):
                continue
            allowed = 0.15 * consonants + 0.25
            cost = distance(sounds, latin, allowed)
            if cost <= allowed:
                scored.append((cost, candidate))
        return [c for _, c in sorted(scored)[:limit]]

    def transliterations(self, word: str, limit: int = 2) -> list[str]:
        """Corpus Latin words that `word` (a Hangul noun) sounds like or spells out."""
        found = [w for w in spelled_letters(word) if w in self.latin]
        if found or len(word) < 2:
            return found
        sounds = hangul_sounds(word)
        consonants = sum(1 for s in sounds if s not in _VOWELS)
        if consonants < 2 and len(word) < 3:
            return []  # one consonant in a short word ("웹", "뷰") matches too much by sound alone
        # Calibrated on Korean loanwords against the httpd and GIMP vocabularies: true
        # pairs cost 0-0.8 (컨피규레이션/configuration 1.2), and a longer word may differ more.
        allowed = 0.15 * consonants + 0.25
        starts_with_vowel = sounds[0] in _VOWELS
        first = next((s for s in sounds if s not in _VOWELS), "")
        has_l = "L" in sounds
        scored = []
        for candidate in self.keys.get(sound_key(sounds), ()):
            latin = latin_sounds(candidate)
            # Cheap tests first: true pairs differ by a few silent letters, start alike (a
            # vowel or a consonant), and Korean writes no ㄹ the Latin word lacks.
            if (abs(len(latin) - len(sounds)) > 3 or (latin[0] in _VOWELS) != starts_with_vowel
                    or has_l and "L" not in latin or not _same_onset(first, latin)):
                continue
            scored.append((distance(sounds, latin, allowed), candidate))
        scored = [(cost, c) for cost, c in scored if cost <= allowed]
        if not scored:
            return []
        best = min(cost for cost, _ in scored)
        # Near-ties (파일: file, fail, bail) go to the word the corpus uses most.
        close = sorted(((round(cost * 20), -self.latin.get(c, 0), c) for cost, c in scored if cost <= best + 0.1))
        return [c for _, _, c in close[:limit]]

    def expand(self, question: str, hangul_nouns: list[str], frequency,
               latin_words: list[str] = ()) -> Expansion:
        """Terms the corpus uses for what the question names. `hangul_nouns`: the question's
        Hangul nouns (whole words and their parts); `latin_words`: its Latin content words;
        `frequency(term)`: how many chunks of the corpus hold a word or phrase.

        A term is added only when the corpus writes it more often than the question's word:
        the expansion leads toward the corpus's preferred name (아파치 -> Apache in a manual
        that writes Apache; nothing in one that writes 아파치, or "SSL" -> its expansion in
        a manual that says SSL everywhere).
        """
        out = Expansion()

        def add(source: str, target: str) -> None:
            if target in out.text:
                return
            source_count = frequency(source)
            if frequency(target) > source_count:
                out.text.append(target)
                out.reasons.append((source, target))
                out.replaces.append(source_count == 0)

        lowered = " ".join(question.lower().split())
        words = {w.lower() for w in _LATIN.findall(question)}
        squeezed = re.sub(r"\s+", "", question)
        for word in dict.fromkeys(hangul_nouns):
            if frequency(word) < 3:  # a word the corpus uses is not looked up (and costs nothing)
                for latin in self.transliterations(word):
                    add(word, self.shorts.get(latin, latin))
        for word in dict.fromkeys(latin_words):
            if word in self.shorts and frequency(word) == 0:
                add(word, self.shorts[word])
            elif len(word) >= 3 and word.isalpha() and frequency(word) == 0:
                for hangul in self.hangul_for(word):
                    add(word, hangul)
        for ko, la in self.pairs:
            if ko.replace(" ", "") in squeezed and la.lower() not in lowered:
                add(ko, la)
            elif _has_words(words, lowered, la.lower()) and ko.replace(" ", "") not in squeezed:
                add(la, ko)
        for acronym, expansion in self.acronyms:
            if acronym in words and expansion not in lowered:
                add(acronym, expansion)
            elif expansion in lowered and acronym not in words:
                add(expansion, acronym)
        return out


def _has_words(words: set[str], text: str, phrase: str) -> bool:
    """`phrase` in `text` as whole words ("ont" is not in "front"); a set test first, as
    there may be thousands of pairs."""
    parts = _LATIN.findall(phrase)
    return bool(parts) and all(p in words for p in parts) and phrase in text
