"""Numbers written the way people type them, made plain for PII matching, with a map back.

Callers dictate numbers and agents type what they hear: a phone in Korean numerals
(`공일공-이육사오-칠칠일일`), full-width digits from a Korean IME (`０１０－２２３６－０６７９`),
letters that look like digits (`공1공-3O5O-6789`), a number broken across two lines of a
pasted note. The detectors in query.pii (ko-pii, libphonenumber, our rules) read ASCII
digits, so they run a second time on a normalised copy of the text; every character of
the copy knows which character of the original it came from, so the ORIGINAL span is
what gets redacted.

What is rewritten, and why so narrowly (the manuals are full of these syllables: 일, 이,
사, 오 are everyday words and particles; "일이삼 단계" must stay prose):
- Any decimal digit of any script (`０`, `٣`) becomes its ASCII digit; the full-width
  punctuation and letters (U+FF01-FF5E) and Unicode dashes become their ASCII forms.
  Nothing else is touched (NFKC on the whole text would also rewrite compatibility jamo).
- Korean numerals (공/영 0, 일 1, 이 2, 삼 3, 사 4, 오 5, 육/륙 6, 칠 7, 팔 8, 구 9) and the
  look-alike letters O/o (0), l/I (1) become digits only inside a *digit-like run*: groups
  of digits, numerals and look-alikes joined by a dash, a dot, a line break, or a single
  space between groups of three or more (a phone read as 공일공 이육사오 칠칠일일).
  A run is rewritten only when it has 9 to 19 digits in all, the length of every number
  the redactor knows (phones 9-11, resident numbers 13, cards 14-16, accounts 10-14), and
  every group has at least two of them. A numeral group may not start inside a Hangul
  word (이사공사 is two words, not 2404); a look-alike letter counts only next to no
  other Latin letter (IO-1010 is a product code); a run needs twice as many real digits
  or numerals as look-alikes. Whether a rewritten run is personal data is then decided by
  the detectors' own checks (phone validity, birth date, Luhn), as for typed digits.
- A line break inside a run (with spaces or a dash around it) is replaced by the run's own
  separator ("-" when the run uses dashes, " " for spaces, nothing for a bare digit run),
  so `010-2236-\\n0679` reads as `010-2236-0679`. Two whole numbers on consecutive lines
  make a run longer than 19 digits and are left alone (each is found in the original).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KOREAN_DIGITS = {"공": "0", "영": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5",
                 "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9"}
LOOKALIKES = {"O": "0", "o": "0", "l": "1", "I": "1"}
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\u30fc"
MIN_DIGITS, MAX_DIGITS = 9, 19

_KO = "".join(KOREAN_DIGITS)
# One group: digits, numerals and look-alikes. A numeral may not start a group right after
# another Hangul syllable (inside a word); a look-alike letter may not touch a Latin letter.
_LOOK = r"(?<![A-Za-z])[OolI](?![A-Za-z])"
_GROUP = re.compile(rf"(?:(?<![가-힣])[{_KO}]|[0-9]|{_LOOK})(?:[{_KO}0-9]|{_LOOK})*")
_BREAK = re.compile(r"[ \t]*[-.ㅡ]?[ \t]*\r?\n[ \t]*[-.ㅡ]?[ \t]*")
_MARK = re.compile(r"[ \t]?[-.ㅡ][ \t]?")
_ODD = re.compile(r"[^\x00-\x7f가-힣]")  # a character _plain might change


@dataclass(frozen=True)
class Normalized:
    """`text` for the detectors; `source[i]` is the index in the original of `text[i]`
    (None: the text is unchanged). `copula_ambiguous`: a numeral run ends in 이 glued to
    more Hangul, so reading it with `copula=True` may find another number."""

    text: str
    source: tuple[int, ...] | None = None
    copula_ambiguous: bool = False

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters that made text[start:end]."""
        if self.source is None:
            return start, end
        return self.source[start], self.source[end - 1] + 1


def _plain(ch: str) -> str:
    if ch < "\x80" or "가" <= ch <= "힣":  # the common cases first: this runs on every character
        return ch
    if unicodedata.category(ch) == "Nd":
        return str(unicodedata.digit(ch))
    if "\uff01" <= ch <= "\uff5e" or ch == "\u3000":
        return unicodedata.normalize("NFKC", ch)
    if ch in DASHES:
        return "-"
    return ch


def _joinable(before: str, sep: str, after: str) -> str | None:
    """How two neighbouring groups join inside a run: "mark", "break", "space" or None."""
    if _MARK.fullmatch(sep):
        return "mark"
    if _BREAK.fullmatch(sep):
        return "break"
    if sep == " " and len(after) >= 3 and (len(before) >= 3 or (len(before) == 2 and before[0] in "0공영")):
        return "space"
    return None


def _runs(text: str) -> list[list[re.Match]]:
    groups = list(_GROUP.finditer(text))
    runs: list[list[re.Match]] = []
    for group in groups:
        if runs and _joinable(runs[-1][-1].group(0), text[runs[-1][-1].end():group.start()], group.group(0)):
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


def _trim_particle(text: str, group: re.Match, copula: bool) -> int:
    """End of a numeral group; with `copula`, without a trailing 이 glued to more Hangul.

    "칠칠일일이에요" is 7711 and the copula, "오사삼이에요" is 5432 and 에요: the text cannot
    tell, so query.pii reads both ways and keeps the longer number it finds."""
    end = group.end()
    if copula and group.group(0).endswith("이") and len(group.group(0)) > 1 and re.match(r"[가-힣]", text[end:end + 1]):
        return end - 1
    return end


def _rewrite(text: str, run: list[re.Match], copula: bool) -> list[tuple[int, str]] | None:
    """(original index, new character) for the run, or None when the run stays as written."""
    ends = [_trim_particle(text, g, copula) for g in run]
    groups = [text[g.start():end] for g, end in zip(run, ends)]
    total = sum(len(g) for g in groups)
    numerals = sum(ch in KOREAN_DIGITS for g in groups for ch in g)
    looks = sum(ch in LOOKALIKES for g in groups for ch in g)
    seps = [text[ends[i]:run[i + 1].start()] for i in range(len(run) - 1)]
    breaks = [_BREAK.fullmatch(s) is not None and not _MARK.fullmatch(s) for s in seps]
    if not (numerals or looks or any(breaks)):
        return None  # plain digits on one line: the detectors read the original as it is
    if not MIN_DIGITS <= total <= MAX_DIGITS or any(len(g) < 2 for g in groups):
        return None
    if looks and (total - looks) < 2 * looks:
        return None
    if any(all(ch in LOOKALIKES for ch in g) for g in groups):
        return None  # a group of only letters ("Il") is a word
    marks = [re.sub(r"[ \t]", "", s) for s, b in zip(seps, breaks) if not b]
    joiner = "-" if any(marks) else (" " if marks else "")
    out: list[tuple[int, str]] = []
    for i, (group, start) in enumerate(zip(groups, (g.start() for g in run))):
        out += [(start + k, KOREAN_DIGITS.get(ch) or LOOKALIKES.get(ch) or ch) for k, ch in enumerate(group)]
        if i < len(seps):
            sep, at = seps[i], ends[i]
            if breaks[i]:
                dash = re.search(r"[-.ㅡ]", sep)
                glue = "-" if dash else joiner
                out += [(at + (dash.start() if dash else sep.index("\n")), ch) for ch in glue]
            else:
                mark = sep.strip(" \t")
                out += [(at + sep.index(mark), "-" if mark == "ㅡ" else mark)] if mark else [(at, " ")]
    return out


def normalize(text: str, copula: bool = False) -> Normalized:
    """The text with digit-like runs made plain (see the module docstring). `copula`: read a
    numeral run's trailing 이 before more Hangul as the copula, not as a 2."""
    # _plain maps one character to one, except a few full-width forms: keep a per-char map
    if _ODD.search(text):
        chars: list[tuple[int, str]] = [(index, c) for index, ch in enumerate(text) for c in _plain(ch)]
        plain = "".join(c for _, c in chars)
    else:  # the usual case (ASCII and Hangul syllables): nothing to map
        chars, plain = [], text
    rewrites: dict[int, list[tuple[int, str]]] = {}
    covered: dict[int, int] = {}
    ambiguous = False
    for run in _runs(plain):
        last = run[-1]
        ambiguous = ambiguous or (_trim_particle(plain, last, True) != last.end()
                                  and sum(len(g.group(0)) for g in run) > MIN_DIGITS)
        new = _rewrite(plain, run, copula)
        if new is not None:
            rewrites[run[0].start()] = new
            covered[run[0].start()] = _trim_particle(plain, last, copula)
    if not rewrites and plain == text:
        return Normalized(text, None, ambiguous)
    if not chars:
        chars = list(enumerate(text))
    out_chars: list[str] = []
    source: list[int] = []
    i = 0
    while i < len(chars):
        if i in rewrites:
            for at, ch in rewrites[i]:
                out_chars.append(ch)
                source.append(chars[at][0])
            i = covered[i]
            continue
        source.append(chars[i][0])
        out_chars.append(chars[i][1])
        i += 1
    return Normalized("".join(out_chars), tuple(source), ambiguous)
