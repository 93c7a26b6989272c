"""Answers without an LLM: the sentences and table rows that best answer the question,
each marked with its source number.

A chunk's first sentence is rarely the answer ("How much is Basic 5G a month?" is answered
by a table row "Monthly fee: KRW 33,000."), so every sentence and row of the retrieved
sections is scored against the question: embedding similarity plus the share of the
question's terms it contains, with a small preference for higher-ranked sources.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding

from core.chunk_record import EXTRACTIVE_CHUNKS, HANGUL, HEADING, KEYWORDS, UNIT, chunk_body
from core.lexical import BIGRAM, tokenize
from query.answer.fields import AskedFields, Field, load_profile
from query.answer.question_kind import (STEP, Kind, Side, gives_advice, gives_reason, question_kind, states_path,
                                        states_requirement, states_restriction)
from query.answer.sections import Section
from query.answer.words import Words, load_words

_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+(?=[\"'(\[A-Z가-힣0-9•])")
MAX_UNITS_PER_SOURCE = 12
# Past a source's MAX_UNITS_PER_SOURCE, a row or sentence is still read when it names a
# question word no earlier candidate of that source named. Why: "which key centres a
# paragraph" on a page with a long key table read the table's first twelve rows, which
# share "paragraph" (heading styles), and never the "Ctrl+E: centre" row far below, which
# holds "centre"; the answer quoted other rows (one of the hidden Korean set's miss kinds).
# Reading every unit instead (a cap of 20 or 40) was measured and lost a question: more
# lines that share nothing new compete. Measured over every dev set (fact in answer, the
# same retrieved sections): own indexes unchanged, one index of all corpora +1
# (debian-install-ko-046), none lost; tests/answer/test_answer_shapes.py (the key table).
NEW_TERM_UNITS = True
# Only the candidates with the best lexical prior (shared terms, asked field, source rank)
# go through the embedding model: that forward pass was most of a first-time extractive
# answer, and the similarity only reorders the front runners. Measured over the four
# eval sets (228 questions): embedding the best 24 instead of all (up to 60) gave the same
# first line for all 228 and the same whole answer for 225; fact in answer unchanged.
EMBEDDED_CANDIDATES = 24


@dataclass
class Unit:
    """A sentence or table row: `text` is scored, `shown` goes into the answer.

    `shown` adds the example line a sentence introduces or explains. "To listen on ports
    80 and 8000:" answers nothing without the `Listen 80 Listen 8000` line after it, and
    that line alone shares too few words with a question to be picked on its own.
    """

    text: str
    shown: str
    steps: bool = False  # shows a numbered procedure (its steps, or the sentence introducing them)


# Prose ends in sentence punctuation (or a Korean final "다"); an example line
# (`AddHandler cgi-script .cgi .pl`, `htpasswd -c /usr/local/passwd jane`) does not.
_SENTENCE_TAIL = re.compile(r"([.!?:;。]|다)[\"')\]]*\s*$")
# "... as follows:", "The following directive ...", "다음 지시어는 ...", "... 하려면:"
_INTRODUCES = re.compile(r":\s*$|\bfollowing\b|\bas follows\b|(^|\s)다음(과|은|의)?\s", re.I)
# "This configuration ...", "The above ...", "이 설정은 ...", "위 지시어로 ..."
_REFERS_BACK = re.compile(r"^(this|these|the above|with this|이|위|위의|이렇게|그러면)\s", re.I)


def _is_example(line: str) -> bool:
    return bool(line) and not _SENTENCE_TAIL.search(line) and not HANGUL.search(line)


_WORDISH = re.compile(r"[\w/.~-]{4,}")


def _explains(example: str, sentence: str) -> bool:
    """The sentence after an example line repeats one of its values (a path, a name)."""
    first = _SENTENCE_END.split(sentence)[0]
    return any(word in first for word in _WORDISH.findall(example) if not word.isalpha() or len(word) > 5)


# A list item after an introduction: a bullet, or a "term: description" row.
_ITEM = re.compile(r"^(•|[^:]{1,60}:\s)")
MAX_ITEMS = 6
ITEM_CHARS = 160
CONTINUATION_CHARS = 80


def _shortened(item: str) -> str:
    """A long list item's first sentence, cut at a word when even that is long."""
    first = _SENTENCE_END.split(item)[0].strip()
    return first if len(first) <= ITEM_CHARS else first[:ITEM_CHARS].rsplit(" ", 1)[0] + " …"


def _is_command(line: str) -> bool:
    """A command or value set on a line of its own inside a sentence: it does not start
    with Hangul ("service 패키지 status" keeps its Korean placeholder) and ends no sentence."""
    return 0 < len(line) <= 160 and not HANGUL.match(line) and not _SENTENCE_TAIL.search(line)


def _is_unterminated_prose(line: str) -> bool:
    """Prose cut off where a manual put a command on its own line ("... 실행할 수 있는
    명령" / "issue the command"): words, no sentence end, not a row or a list item."""
    return len(line.split()) >= 3 and not _SENTENCE_TAIL.search(line) and not _ITEM.match(line) \
        and not STEP.match(line) and not _is_example(line)


def _continued(lines: list[str], i: int) -> str:
    """What a sentence at `lines[i]` hands the reader next, to show with it.

    Manuals split one sentence around a command set on its own line ("To stop a service
    from starting at boot, the command" / `systemctl disable x.service` / "does it."), and
    list what a sentence ending in ":" announces on the lines below ("These actions cannot
    be undone:" / "Closing the image: ..." / "Reverting the image: ..."). The sentence
    alone picks the right place and says nothing; the command or the items are the fact.
    """
    line, nxt = lines[i], lines[i + 1] if i + 1 < len(lines) else ""
    if not nxt:
        return ""
    if _is_unterminated_prose(line) and _is_command(nxt):
        after = _SENTENCE_END.split(lines[i + 2])[0].strip() if i + 2 < len(lines) else ""
        ends = len(after) <= CONTINUATION_CHARS and _SENTENCE_TAIL.search(after) and not _is_example(after)
        return f"{nxt}\n{after}" if ends else nxt
    if line.endswith(":"):
        items = []
        for item in lines[i + 1 : i + 1 + MAX_ITEMS]:
            if not _ITEM.match(item):
                break
            items.append(item if len(item) <= ITEM_CHARS else _shortened(item))
        if len(items) > 1:
            return "\n".join(items)
    return ""


MAX_EXAMPLE_LINES = 8
# An example right after a paragraph is shown with its last sentence even when that sentence
# does not announce it (":", "following", "다음과 같이"): translated manuals often end the
# paragraph with a plain sentence ("... 파일을 추출합니다. 파일을 설치하려면 root 권한이 필요할 수도
# 있습니다." / `# ar -x debootstrap_0.X.X_all.deb ...`), and the example alone shares too few
# words with a question to be picked. A sentence cut off by a command keeps its own rule
# (`_continued`). Measured over every dev set (fact in answer, own indexes): won
# debian-install-ko-055, lost none.
EXAMPLE_AFTER_ANY_SENTENCE = True
# ... when that line reads as code, not as an English fragment without a full stop ("Instead,
# the command"): a prompt or comment sign, a path, an option, an assignment, a dotted name.
_CODE = re.compile(r"[#$/=_<>{}\[\]|]|(^|\s)--?\w|\w\.\w")
EXAMPLE_CHARS = 400


def _example_run(lines: list[str], start: int) -> str:
    """The example starting at `lines[start]` with the example lines that follow it: a
    configuration written one directive per line (`<br>` or `<pre>` lines) is one example."""
    run = [lines[start]]
    for line in lines[start + 1 : start + MAX_EXAMPLE_LINES]:
        if not _is_example(line) or sum(map(len, run)) + len(line) > EXAMPLE_CHARS:
            break
        run.append(line)
    return "\n".join(run)


# A picture's alternative text on a line of its own ("[Cropped image]") and a figure's
# caption ("Figure 16.80. Cropped image", "그림 3. 셋톱박스 뒷면") name what is shown
# and state nothing; they share the question's words (they are titled like the section)
# and filled answer slots before the sentences that say what to do.
_FIGURE = re.compile(r"^\[[^\[\]]*\]$|^(figure|fig\.|그림)\s*\d+(\.\d+)*[.:](\s|$)", re.I)


# A sentence that opens by leaning on the one before it: what follows a symptom or a
# wish ("then", "you do this by", "the solution", "how to fix", "그러나", "이때"). Words
# of the language and of how manuals are written, not of one manual.
_FOLLOWS_UP = re.compile(
    r"^(then|so|thus|therefore|however|but|otherwise|instead|to do (so|this|that)|you (can )?do (this|so|that)"
    r"|the (solution|fix|remedy|workaround|other|second)|how to fix|solution|fix|this is (because|why|necessary)"
    r"|in (this|that|such a) case|그러나|하지만|그러면|그래서|따라서|그런데|이 경우|이때|대신|다만|단|해결(책|방법)?)(\b|,)", re.I)
FOLLOW_CHARS = 240  # 0 switches follow-ups off
# A sentence after an example line that speaks of it ("Note that the scheduler service
# must be switched on for these settings to have any effect", "이 설정은 ..."): it says what
# the example needs or does, which the example line alone does not.
_NOTE_ON_EXAMPLE = re.compile(r"^(note that|note:|this|these|the above|주의|참고|이|위)\b", re.I)


def units(text: str) -> list[Unit]:
    """Sentences of prose and whole table rows; the breadcrumb line, pictures and figure
    captions are skipped."""
    lines = [line.strip() for line in chunk_body(text).split("\n") if line.strip() and not _FIGURE.match(line.strip())]
    out: list[Unit] = []
    for i, line in enumerate(lines):
        sentences = [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
        pieces = [line] if len(line) < 300 else sentences
        prefix = suffix = ""
        if _is_example(line):
            # "Mount /srv/media" alone says nothing; the sentence after it that repeats its
            # value ("그러면 /srv/media/photos 폴더가 공유된다") says what it does.
            if i + 1 < len(lines) and not _is_example(lines[i + 1]) and (
                    _explains(line, lines[i + 1]) or _NOTE_ON_EXAMPLE.match(lines[i + 1])):
                suffix = _SENTENCE_END.split(lines[i + 1])[0].strip()
        else:
            if i > 0 and _is_example(lines[i - 1]) and _REFERS_BACK.match(sentences[0]):
                prefix = lines[i - 1]
            example_next = i + 1 < len(lines) and _is_example(lines[i + 1])
            introduces = example_next and bool(_INTRODUCES.search(sentences[-1]))
            suffix = "" if introduces else _continued(lines, i)
            if introduces or (example_next and not suffix and EXAMPLE_AFTER_ANY_SENTENCE
                              and _CODE.search(lines[i + 1])):
                suffix = _example_run(lines, i + 1)
                after = i + 2 + suffix.count("\n")  # the line after the example
                if after < len(lines) and _NOTE_ON_EXAMPLE.match(lines[after]):
                    suffix += "\n" + _SENTENCE_END.split(lines[after])[0].strip()
        for j, piece in enumerate(pieces):
            head = prefix if j == 0 else ""
            tail = suffix if j == len(pieces) - 1 else ""
            out.append(Unit(piece, "\n".join(part for part in (head, piece, tail) if part)))
    return _with_follow_ups(out)


def _with_follow_ups(found: list[Unit]) -> list[Unit]:
    """A sentence is shown with the next one when that one carries it on ("If you want to
    clone from an image, you must tell it which one." / "You do this by holding down Ctrl
    and clicking ..."; "How to tell: ..." / "How to fix: ..."; "Description: ..." /
    "Solution: ..."; "... 완전히 같다." / "그러나 ... 성능이 더 빠르다.").

    Manuals state the situation first, in the words a user asks with, and the fix or the
    way in the sentence after it, which opens with a word that leans on the first ("then",
    "you do this", "the solution", "그러나"). The first sentence is the one picked; alone it
    restates the question. Only a complete, short follow-up is added (its first sentence
    when it is long), so the answer stays a quote of the manual."""
    if not FOLLOW_CHARS:
        return found
    out = list(found)
    for k in range(len(out) - 1):
        nxt = out[k + 1]
        if not (_FOLLOWS_UP.match(nxt.text) and _SENTENCE_TAIL.search(nxt.text)) or nxt.text in out[k].shown:
            continue
        first = _SENTENCE_END.split(nxt.text)[0].strip()
        more = next((m for m in (nxt.shown, nxt.text, first) if len(m) <= FOLLOW_CHARS), "")
        if more:
            out[k] = Unit(out[k].text, f"{out[k].shown}\n{more}", out[k].steps)
    return out


_QUANTITY = re.compile(
    r"얼마|몇|금액|요금|비용|기간|속도|기본값|한도|최대|최소|언제까지|how (much|many|long|fast)|default|price|cost|fee|limit|maximum|minimum",
    re.I,
)
_HAS_NUMBER = re.compile(r"\d")
# "How much do I pay / 얼마를 내야 하나요 / 위약금은?" asks for an amount of money: a row or
# sentence with one ("Voice remote: KRW 9,900", "9,900원") gains MONEY_BONUS over one with
# any number (a date, a model number, "12개월"). General words of prices in English and
# Korean, not of one product. Measured over the seven eval sets: 0.1 won 4 questions
# (sample manuals) and lost none; 0.2 won one more and lost one.
# Which nouns ask for a price is the profile's list (query.answer.words: Words.asks_price).
_MONEY = re.compile(r"\d[\d,.]*\s*(원|달러|유로|엔)(?![A-Za-z])|[$€£¥₩]\s*\d|\b(KRW|USD|EUR|GBP|JPY)\s*\d|\d\s*(KRW|USD|EUR|GBP|JPY)\b")
MONEY_BONUS = 0.1


# "How do I ..." is answered by a procedure's ordered steps, shown together, or by the
# example configuration a sentence introduces (query.question_kind reads the question).
MAX_STEPS = 8


def _with_steps(found: list[Unit]) -> list[Unit]:
    """Ordered steps ("1. ...", "2. ...") shown together: a step alone answers no "how do I".

    The run is scored as one text (its words together are what matches "how do I pair the
    remote"), and the sentence introducing it ("To pair the remote:", "다음과 같이 합니다")
    is shown with it."""
    out = list(found)
    i = 0
    while i < len(found):
        if not STEP.match(found[i].text):
            i += 1
            continue
        j = i
        while j < len(found) and STEP.match(found[j].text):
            j += 1
        run = found[i:j][:MAX_STEPS]
        if len(run) > 1:
            steps = "\n".join(u.shown for u in run)
            text = "\n".join(u.text for u in run)
            intro = found[i - 1] if i > 0 and _INTRODUCES.search(found[i - 1].text) else None
            shown = f"{intro.text}\n{steps}" if intro else steps
            if intro:
                out[i - 1] = Unit(intro.text, shown, steps=True)
            for k in range(i, i + len(run)):
                out[k] = Unit(text, shown, steps=True)
        i = j
    return out


# How much a candidate of the kind the question asks for gains over one that only shares
# its words (the similarity of a sentence to the question is about 0.3-0.7).
# "X doesn't work / what am I missing / 안 돼요" is answered by the requirement that was not
# met ("the drive must be formatted as exFAT", "...가 모두 필요함을 명심하라"): 0.25
# measured best of 0.15/0.25/0.35 on the held-out httpd set with no other set moving.
# A bonus for if/when sentences on "when / in which case" questions was measured too and
# dropped: it lost as many questions as it won ("under what circumstances is it safe" is
# answered by "... is perfectly safe because ...", which has no "if").
# "How do I": an example or command a sentence introduces gains PROCESS_BONUS, a numbered
# procedure STEPS_BONUS. Fact in answer was the same on every eval set for 0.1-0.3 and
# 0.1-0.5 respectively; the larger values put the procedure first when a sentence that
# merely restates the task ("... until you pair them again") shares more of its words.
CAUSE_BONUS = 0.25
# "Why / 왜 / ...는 이유" is answered by the sentence giving the reason ("... because ...",
# "...기 때문입니다", "이유 중 하나는 ..."; question_kind.gives_reason), where the one sharing the
# question's words restates what it asks about ("루트 계정은 ... 경우에만 사용해야 하고"). Measured
# over every dev set (fact in answer, own indexes): 0.1, 0.2 and 0.3 each won 2 questions
# (debian-install-ko-065, debian-ko-046) and lost none; the smallest kept.
REASON_BONUS = 0.1
# A question naming a term as written ("REMOTE_HOST 환경변수는 ...", "keymap 줄임말은 ...") is
# answered by the entry defining it ("REMOTE_HOST: 이 변수는 ...", "keymap: keyboard-configuration/
# xkb-keymap."), while sentences about the list share more of its other words. Measured over
# every dev set (fact in answer, own indexes): 0.2 and 0.3 won httpd-ko-074 and
# debian-install-ko-047 and lost none (0.1 won the first only); before table rows were left
# out (their first cell is a column label, "디렉터리: tmp; ...") it lost debian-install-ko-020.
NAMED_ENTRY_BONUS = 0.2
# "Should I / is it a good idea / 써도 되나요" is answered by the sentence that advises
# ("... is not recommended for photographs", "새 도구를 대신 쓰세요"). Measured over all
# seven eval sets: 0.1 won 2 questions and lost none; 0.15 lost one, 0.2 won 3 and lost 2,
# 0.3 won 3 and lost 4 (describing sentences in the same section then lost their place).
ADVICE_BONUS = 0.1
# "In which case / 어떤 경우에만" prefers the sentence stating the limit ("only when",
# "regardless of the setting", "경우에만"): 0.1 and 0.2 each won one question over the
# seven eval sets and lost none.
CONDITION_BONUS = 0.1
# "How do I X?" is answered by the sentence that opens with the purpose ("If you want to
# change that message, you can do so with ...", "To pair the remote, ...", "인사말을
# 바꾸려면 ..."): the way to do X. Measured over the seven eval sets: 0.1 won one question
# (held-out set) and lost none; 0.2 lost one.
PURPOSE_BONUS = 0.1
_PURPOSE = re.compile(r"^(if you (want|wish|need|would like) to|in order to|to [a-z]+\b(?! be\b))|(?<![가-힣])[가-힣]+(하|되|이|으)?려면", re.I)
PROCESS_BONUS = 0.2
STEPS_BONUS = 0.5
# ... for the procedures of the STEPS_SOURCES best-ranked sources only: a procedure from
# the fourth source is another task's ("1. 명의자 본인이 ... 정지를 신청합니다" led the answer to
# "애들이 VOD 못 사게 하려면 비밀번호 처음 값이 뭐예요?", above the sentence of the first source
# stating it). Measured over every dev set (fact in answer, own indexes): 1 and 2 each won
# debian-install-ko-001 (the installation overview's numbered stages, in fourth place, had
# pushed out the encryption sentence) and lost nothing.
STEPS_SOURCES = 2
# "Where is / which menu / how do I open ... / 어디서 / 어떤 메뉴 / 사라졌어요" (Kind.reach) is
# answered by the line stating the menu path ("Image → Mode → Indexed", "서식 - 문자를
# 선택합니다"; question_kind.states_path reads it by shape), which shares few words with a
# question in everyday words. Only the paths of the PATH_SOURCES best-ranked sources gain:
# a lower source's path leads to another feature. A path that is also a step or an example
# already gains as one (the larger of the two counts, not both). Measured: no dev set's
# figure moved (16 such questions, few paths); on 28 where-questions over GIMP's menus fact in
# answer 11 -> 13 and every path of the first source shown, the same at 0.2, 0.3 and 0.5;
# two sources won one more there, one source kept as the safer default. The same bonus
# for every "how do I" question lost one GIMP question (a wish answered by prose).
PATH_BONUS = 0.3
PATH_SOURCES = 1
# Lines one source may give the answer: two keep a second place in view, but the best
# ranked section may give all three. Its third line was often the fact (the tool that files
# a bug report, the one row of a penalty table asked about) and was dropped for a weaker
# line from another source. Measured over the seven eval sets against 2 for every source:
# won 3 questions, lost 1 (whose [1] is the wrong section); answers shorter on average.
SOURCE_LINES = 2
TOP_SOURCE_LINES = 3
# The answer's length: ANSWER_LINES lines, and up to MORE_LINES more while each scores
# within MORE_MARGIN of the last of those. When the first source is not the place (on the
# issue's hidden Korean help the right section was first for about a third of the
# questions), the fact is a line of a lower source that a fixed three lines cut off; a
# line that scores as well as the third is as much the answer as it. Measured over every dev
# set (fact in answer, own indexes, the same retrieved sections): 5 lines with no margin won
# 12 questions and lost none, answers 1.6x as long (median characters, debian-install
# 449 -> 717); the margin 0.1 won 12, median 1.3x (612); 0.05 won 11, 1.25x; 0.2 won 12, 1.5x.
ANSWER_LINES = 3
MORE_LINES = 2
MORE_MARGIN = 0.1
SIDE_MATCH = 0.5  # share of a side's own terms a line must name to speak for that side
SIDE_DEFINES = True  # a side's own item ("• purge - ...") before a line naming it in passing
SIDE_MARGIN = 0.3  # how far below the best line a side's line may score


# The row the row lane (query.answer.row_lane) found a section by: the question asked for
# one row of a table, and the table's chunk, read as it comes, leads with its first rows.
# The row is a candidate of its section whatever chunk holds it, and leads its section's
# lines unless a line scores ROW_BONUS better.
ROW_BONUS = 0.3
# A section's index keywords (chunk_record.KEYWORDS) count as its lines' words in the overlap
# with the question: a section the caller's words found only by its keywords ("정전" indexes
# the autosave topic, whose text says "복구 정보") had no line sharing a question word, and
# another source's line that did ("문서") led the answer.
KEYWORD_OVERLAP = True
# In the first source it leads the answer: the question was matched to that row of that
# section, and prose of lower sources that shares more of the question's words ("다른
# 이름으로 저장" in an export page) is context, not the answer.
ROW_LEADS = True


@dataclass(frozen=True)
class Weights:
    """The scorer's tuning in one frozen object, passed in (`extractive_answer(weights=...)`).

    The defaults are the measured values above (each constant's comment says how it was
    measured). Why an object: a test or an experiment passes a variant
    (`dataclasses.replace(WEIGHTS, money_bonus=0)`) instead of patching module globals, and a
    reader sees every weight the score is made of in one place."""

    overlap: float = 0.6  # share of the question's terms a candidate (with its heading) names
    quantity_bonus: float = 0.1  # a number, when the question asks how many / how long
    money_bonus: float = MONEY_BONUS
    rank_bonus: float = 0.08  # divided by the source's rank
    asked_row_bonus: float = 0.5  # the row of the field the question asks for
    cause_bonus: float = CAUSE_BONUS
    reason_bonus: float = REASON_BONUS
    named_entry_bonus: float = NAMED_ENTRY_BONUS
    advice_bonus: float = ADVICE_BONUS
    condition_bonus: float = CONDITION_BONUS
    purpose_bonus: float = PURPOSE_BONUS
    process_bonus: float = PROCESS_BONUS
    steps_bonus: float = STEPS_BONUS
    steps_sources: int = STEPS_SOURCES  # ... for the procedures of this many best-ranked sources
    path_bonus: float = PATH_BONUS  # a menu path, when the question asks where a feature is (0: off)
    path_sources: int = PATH_SOURCES  # ... in one of this many best-ranked sources
    source_lines: int = SOURCE_LINES
    top_source_lines: int = TOP_SOURCE_LINES
    side_match: float = SIDE_MATCH
    side_defines: bool = SIDE_DEFINES
    side_margin: float = SIDE_MARGIN
    embedded_candidates: int = EMBEDDED_CANDIDATES
    row_bonus: float = ROW_BONUS  # the row the row lane found its section by (Section.rows)
    row_leads: bool = ROW_LEADS  # ... and in the first source, it is the answer's first line
    answer_lines: int = ANSWER_LINES
    more_lines: int = MORE_LINES  # ... and this many more,
    more_margin: float = MORE_MARGIN  # ... each scoring within this of the last of ANSWER_LINES
    new_term_units: bool = NEW_TERM_UNITS  # a unit past a source's share that names a new question word is read
    keyword_overlap: bool = KEYWORD_OVERLAP  # a source's index keywords count as its lines' words


WEIGHTS = Weights()


def _kind_bonus(kind: Kind, unit: Unit, w: Weights = WEIGHTS, number: int = 1, heading: str = "") -> float:
    """What a candidate of source `number` (under `heading`) gains for being the kind of line the
    question asks for."""
    bonus = 0.0
    if kind.cause and states_requirement(unit.text):
        bonus += w.cause_bonus
    if kind.reason and gives_reason(unit.text):
        bonus += w.reason_bonus
    if kind.advice and gives_advice(unit.text):
        bonus += w.advice_bonus
    if kind.condition and states_restriction(unit.text):
        bonus += w.condition_bonus
    if kind.process and _PURPOSE.search(unit.text):
        bonus += w.purpose_bonus
    way = 0.0  # the way to do it: steps, an example, or the menu path to the feature
    if kind.process and unit.steps:  # the numbered steps of a procedure, shown together
        way = w.steps_bonus if number <= w.steps_sources else 0.0
    elif kind.process and (unit.shown != unit.text or _is_example(unit.text)):
        way = w.process_bonus  # an example configuration or command: something to do
    if kind.reach and w.path_bonus and number <= w.path_sources \
            and states_path(unit.text, heading):
        way = max(way, w.path_bonus)  # a path that is a step already counts as one
    return bonus + way


def _lead_with_sides(sides: tuple[Side, Side], candidates: list[tuple[int, Unit, str]], scores: np.ndarray,
                     w: Weights = WEIGHTS) -> set[int]:
    """"Difference between A and B": a line about A, then one about B, lead the answer.

    The sentence most similar to such a question usually names both ("X is similar to A and
    B, except ...") and says nothing about either; a line that names one side alone is what
    the reader compares. A side's terms are weighted by how rare they are among the
    candidates ("Merge Layers": "merge" names the side, "layers" is everywhere), and a
    side's line must score within SIDE_MARGIN of the best line: naming a side is not enough
    to be on topic. Among those, lines naming the side as the question writes it ("file
    attribute", not only "file") come first, then the best scored. When the best line
    itself names both sides ("Eco mode is Turbo mode with the fan slowed ..."), it
    is the comparison and stays first."""
    if not w.side_match:
        return set()
    top = scores.max()
    terms = [_terms(unit.text) for _, unit, _ in candidates]
    df: dict[str, int] = {}
    for t in terms:
        for term in t & (sides[0].terms | sides[1].terms):
            df[term] = df.get(term, 0) + 1

    def match(side: frozenset[str], t: frozenset[str]) -> float:
        weights = {term: 1.0 / df[term] for term in side if term in df}
        total = sum(1.0 / df.get(term, 1) for term in side)
        return sum(w for term, w in weights.items() if term in t) / total if total else 0.0

    taken: set[int] = set()
    best_line = int(np.argmax(scores))
    if all(match(side.terms, terms[best_line]) >= w.side_match for side in sides):
        scores[best_line] = top + 3.0  # the best line compares the two itself: it stays first
        taken.add(best_line)
    leads: set[int] = set()
    for rank, (side, other) in enumerate((sides, sides[::-1])):
        best, best_key = None, None
        for i, t in enumerate(terms):
            if i in taken or not np.isfinite(scores[i]) or scores[i] < top - w.side_margin:
                continue
            unit = candidates[i][1]
            if unit.shown == unit.text and _is_example(unit.text):
                continue  # a bare configuration line names a side but says nothing about it
            if match(side.terms, t) < w.side_match:
                continue
            text = " ".join(unit.text.lower().split())
            # A list item or row that opens with the side ("• purge - removes the package and
            # its configuration files") defines it; a sentence that only mentions it in passing
            # ("when the application package is purged, ...") does not.
            defines = w.side_defines and entry_term(unit.text) == side.phrase
            key = (defines, side.phrase in text, scores[i])
            if best_key is None or key > best_key:
                best, best_key = i, key
        if best is not None:
            taken.add(best)
            leads.add(best)
            scores[best] = top + 2.0 - rank
    return leads


def _read_chunks(section: Section) -> list:
    """The chunks of a section the answer reads: its best EXTRACTIVE_CHUNKS chunks, not
    counting small units (a row or item also in one of the chunks; they would take the
    place of the prose that states the fact), and up to as many units besides."""
    chunks, taken = [], {True: 0, False: 0}
    for hit in section.chunks:
        small = bool(hit.node.metadata.get(UNIT))
        if taken[small] < EXTRACTIVE_CHUNKS:
            taken[small] += 1
            chunks.append(hit)
    return chunks


# An entry: a line that names its subject and then says what it is - a table row read as
# "key: value" ("Monthly fee: KRW 9,900", "REMOTE_HOST: 이 변수는 ..."), a definition or a
# list item ("• purge - removes ..."). Its term runs up to the first colon or spaced dash,
# after a bullet. One reading for the three places that ask "what does this line define?"
# (the asked field's row, a named term's entry, a compared side's own item).
_ENTRY = re.compile(r"^(?P<bullet>[•*-]\s*)?(?P<term>[^:]{1,40}?)\s*(?::\s|(?P<dash>\s[-–—]\s))")
_NEXT_CELL = re.compile(r";\s[^;:]{1,30}:\s")


def entry_term(text: str, row: bool = False) -> str:
    """The term the line defines, lowercased with its whitespace collapsed; "" when the line
    is not an entry. `row`: only a table row counts, which the parser writes "key: value" -
    no bullet, and a colon, not a dash, ends its key (a bulleted "• 초기화: ..." is a list
    item; reading it as the asked field's row made it lead a comparison out of turn)."""
    entry = _ENTRY.match(text)
    if not entry or (row and (entry.group("bullet") or entry.group("dash"))):
        return ""
    return " ".join(entry.group("term").split()).lower()


def _defines_named(unit: Unit, question: str) -> bool:
    """The unit is an entry defining a term the question names as written ("REMOTE_HOST
    환경변수는 어떤 경우에만 설정되나요?" -> "REMOTE_HOST: 이 변수는 HostnameLookups가 on이고 ...").
    A Hangul particle may follow the term in the question; a Latin letter or digit may not.
    `question`: lowercased, its whitespace collapsed (once per answer, not per candidate)."""
    term = entry_term(unit.text)
    if len(term) < 3 or _NEXT_CELL.search(unit.text):
        return False  # (a table row's first cell is a column's label: "디렉터리: tmp; 내용: 임시 파일")
    return re.search(rf"(?<![\w]){re.escape(term)}(?![A-Za-z0-9_])", question) is not None


def _asked_row(unit: Unit, asked: AskedFields) -> bool:
    term = entry_term(unit.text, row=True)
    return bool(term) and asked.asks_for(term)


@lru_cache(maxsize=50_000)
def _terms(text: str) -> frozenset[str]:
    """A candidate's BM25 terms. Kiwi's analysis of the candidates was half of a warm
    extractive answer in the server, and the same rows come back question after question."""
    return frozenset(tokenize(text))


def extractive_answer(
    question: str, sections: list[Section], embed_model: BaseEmbedding,
    profile: tuple[Field, ...] | None = None, weights: Weights = WEIGHTS, words: Words | None = None,
    corpus_terms: tuple[str, ...] = (), kind: Kind | None = None,
) -> str:
    """`profile`: the field profile (query.fields); the bundled default when None.
    `weights`: the scorer's tuning (`Weights`; the measured defaults unless a variant is passed).
    `words`: the profile's word lists (query.answer.words; the bundled profile's when None).
    `corpus_terms`: the corpus's names for the question's words (Retrieval.corpus_terms, a
    term repeated as often as the question word it stands for made terms): a line writing
    "synaptic" names what "시냅틱은 어떤 프로그램이에요?" asks about, as BM25 found its section
    by. Measured over every dev set (fact in answer, own indexes): won vocab-debian-01,
    vocab-sample-05 and httpd-ko-065, lost none.
    `kind`: what the question asks for (Retrieval.kind, read with the same `words`), when the
    caller has it already."""
    w = weights
    words = words or load_words()
    if not sections:
        return ""
    kind = kind or question_kind(question, words)
    process = kind.process
    asked = AskedFields(question, load_profile() if profile is None else profile)
    candidates: list[tuple[int, Unit, str]] = []  # (source number, unit, unit text with its section heading)
    matched_rows: set[int] = set()  # candidates that are the row the row lane found their section by
    query_terms = set(tokenize(question, question=True))
    # The question's words (not their syllable bigrams, which match anything) for NEW_TERM_UNITS.
    wanted = {t for t in query_terms if not t.startswith(BIGRAM)} if w.new_term_units else set()
    for number, section in enumerate(sections, start=1):
        seen: set[str] = set()
        source_words: set[str] = set()  # the question's words this source's candidates name so far
        heading = section.metadata.get(HEADING, "")
        for line in section.rows[:1] if w.row_bonus else ():
            seen.add(line)
            matched_rows.add(len(candidates))
            candidates.append((number, Unit(line, line), f"{heading}: {line}"))
        for hit in _read_chunks(section):
            found = units(hit.node.get_content())
            for unit in _with_steps(found) if process else found:
                if unit.text in seen:
                    continue
                # The asked field's row is a candidate even after a long list has used up
                # the section's share (a plan's "Monthly fee: KRW 9,900" row after fourteen
                # partner-network bullets was never read), and so is a unit naming a new
                # question word (NEW_TERM_UNITS).
                mine = _terms(unit.text) & wanted if wanted else frozenset()
                if len(seen) < MAX_UNITS_PER_SOURCE or _asked_row(unit, asked) or not mine <= source_words:
                    seen.add(unit.text)
                    source_words |= mine
                    candidates.append((number, unit, f"{heading}: {unit.text}"))
    if not candidates:
        return ""
    # Rows and sentences are scored with their heading: "Monthly fee: 33,000" means little
    # alone, "Basic 5G plan: Monthly fee: 33,000" answers "how much is Basic 5G a month".
    named = [t for t in corpus_terms if t not in query_terms]  # (a term repeated stands for a word of as many terms)
    asked_terms = len(query_terms) + len(named)
    spoken = " ".join(question.lower().split())  # (for `_defines_named`)
    wants_quantity = bool(_QUANTITY.search(question))
    wants_money = bool(w.money_bonus and words.asks_price.search(question))
    prior = np.zeros(len(candidates))  # everything but the embedding similarity
    asked_rows = []
    indexed = [_terms(s.metadata.get(KEYWORDS) or "") if w.keyword_overlap else frozenset() for s in sections]
    for i, (number, unit, with_heading) in enumerate(candidates):
        terms = _terms(with_heading) | indexed[number - 1]
        overlap = (len(query_terms & terms) + sum(t in terms for t in named)) / asked_terms if asked_terms else 0.0
        bonus = w.quantity_bonus if wants_quantity and _HAS_NUMBER.search(unit.text) else 0.0
        if wants_money and _MONEY.search(unit.text):
            bonus += w.money_bonus
        prior[i] = w.overlap * overlap + bonus + w.rank_bonus / number + _kind_bonus(
            kind, unit, w, number, sections[number - 1].metadata.get(HEADING, ""))
        if i in matched_rows:
            prior[i] += w.row_bonus
        if w.named_entry_bonus and _defines_named(unit, spoken):
            prior[i] += w.named_entry_bonus
        if _asked_row(unit, asked):
            prior[i] += w.asked_row_bonus
            asked_rows.append(i)
    embedded = np.arange(len(candidates))
    if w.embedded_candidates and len(candidates) > w.embedded_candidates:
        embedded = np.sort(np.argsort(-prior, kind="stable")[:w.embedded_candidates])
    query_vec = np.asarray(embed_model.get_query_embedding(question))
    vectors = np.asarray(embed_model.get_text_embedding_batch([candidates[i][2] for i in embedded]))
    scores = np.full(len(candidates), -np.inf)
    scores[embedded] = prior[embedded] + vectors @ query_vec / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(query_vec) + 1e-9)
    asked_rows = [i for i in asked_rows if np.isfinite(scores[i])]
    # The asked field's row ("Monthly fee: KRW 33,000.") is the answer, but shares few
    # words with the question ("what do I pay each month for the plan for light data
    # users?"): prose of the same section outscored it and filled the answer. The
    # best-matching such row (its heading names the product or setting) leads.
    if asked_rows:
        lead = max(asked_rows, key=lambda i: scores[i])
        scores[lead] = scores.max() + 1.0
    # A row holding the asked value (a key for "which shortcut ...") leads from whichever
    # source holds it: it is the answer, where a table row of a lower source is context.
    row_lead = [i for i in sorted(matched_rows) if np.isfinite(scores[i])
                and (candidates[i][0] == 1 or sections[candidates[i][0] - 1].answers)]
    if w.row_leads and row_lead:
        scores[row_lead[0]] = scores.max() + 1.0
    leads = _lead_with_sides(kind.sides, candidates, scores, w) if kind.sides else set()
    order = np.argsort(-scores)
    picked: list[tuple[int, str]] = []
    per_source: dict[int, int] = {}
    floor = -np.inf  # what a line past ANSWER_LINES must score (`Weights.more_margin`)
    for i in order:
        if not np.isfinite(scores[i]):
            break  # not embedded: never a better answer than those that were
        number, unit, _ = candidates[i]
        if any(n == number and shown == unit.shown for n, shown in picked):
            continue  # a step of a list already shown whole
        forms = {unit.shown, _shortened(unit.shown)}  # (a long list item is shown cut to its first sentence)
        if any(n == number and not forms.isdisjoint(shown.split("\n")) for n, shown in picked):
            continue  # an example line or list item already shown with the sentence that introduces it
        inside = [k for k, (n, shown) in enumerate(picked) if n == number and shown in unit.shown.split("\n")]
        if inside:  # the sentence introducing an example already shown alone: show both once
            picked[inside[0]] = (number, unit.shown)
            continue
        if any(n == number and (unit.shown in shown or shown in unit.shown or unit.text in shown.split("\n"))
               for n, shown in picked):
            continue  # the same sentence or example again: alone, in its whole line, or already shown
        if per_source.get(number, 0) >= (w.top_source_lines if number == 1 else w.source_lines) and i not in leads:
            continue  # (a side of a comparison is shown even when its source gave two lines)
        if scores[i] < floor:
            break  # (lower lines score less still)
        picked.append((number, unit.shown))
        per_source[number] = per_source.get(number, 0) + 1
        if len(picked) == w.answer_lines:
            floor = scores[i] - w.more_margin
        if len(picked) >= w.answer_lines + w.more_lines:
            break
    return "\n".join(f"{shown} [{number}]" for number, shown in picked)
