"""What kind of answer a question wants, read from its wording (English and Korean).

An extractive answer that quotes the sentence most similar to the question often misses
what was asked: "how do I ..." wants the steps or the example configuration, "why / it
doesn't work / 안 돼요" wants the requirement that was not met ("... must be in effect",
"...가 모두 필요함을 명심하라"), and "difference between A and B" wants a line about each
side, not a sentence that merely names both; "why" also wants the sentence giving the
reason ("... because ...", "...기 때문입니다"); "where is X / which menu / 어디서 바꾸나요" wants
the menu path that reaches it ("Image → Mode → Indexed", "서식 - 문자를 선택합니다"). These are patterns of
the language, not of one manual: nothing here names a product, a markup class or a table
label (corpus wording belongs in a field profile, query/fields.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.chunk_record import HANGUL
from core.lexical import word_terms
from query.answer.words import Words, load_words

# "How do I ...", "steps to ...", "어떻게", "하려면", "방법", and the wish a caller states
# instead of asking ("I want to ...", "... 고르고 싶어요"): what to do is the answer.
PROCESS = re.compile(r"\bhow (do|can|to|should|would)\b|\bsteps?\b|\bprocedure\b|방법|어떻게(?!\s*(되|돼|달라|다른|다르))|하려면|절차|순서"
                     r"|\bi('d| would)? (want|need|like) to\b|\bi'm trying to\b|고\s*싶(어|은데|습니다|다)", re.I)

# Questions about a cause: why, and the spoken form of a failure ("... doesn't work", "nothing
# happens", "what am I missing", "안 돼요", "동작을 안 해요"), answered by the requirement
# that was not met.
CAUSE = re.compile(
    r"\b(why|what am i missing|missing|doesn'?t|don'?t|does not|do not|won'?t|will not|isn'?t|not work\w*"
    r"|nothing happens|stopped working|still do(es)? nothing|do i need)\b"
    r"|왜|안\s*(돼|되|해|나|떠|뜨)|않아|않는|못\s*해",
    re.I,
)
# A sentence that states a requirement.
REQUIREMENT_SENTENCE = re.compile(
    r"\b(must|need|needs|required|requires|have to|has to|make sure|in effect|only if|only when)\b"
    r"|필요|야\s*(한|하|합|돼|된|됩)|반드시|려면|명심",
    re.I,
)

# "Why ... / 왜 / ...는 이유 / how come" asks for a reason, answered by the sentence that gives
# one ("because ...", "..., so that ...", "one reason is ...", "...기 때문입니다", "이유 중 하나는",
# "그래야 ..."), where the sentence sharing most of the question's words restates what happens.
# A failure asked about with "why" is also a CAUSE question (a requirement not met answers it).
REASON = re.compile(r"\b(why|how come|what is the reason|for what reason)\b|왜|이유|까닭|원인", re.I)
REASON_SENTENCE = re.compile(
    r"\b(because|since|due to|so that|the reason|reasons?|otherwise|prevents?|avoids?|in order to)\b"
    r"|때문|이유|까닭|원인|덕분|그래야|(으로|로)\s*인해|않도록|없도록|막기\s*위해|피하기\s*위해|위해서",
    re.I,
)

# Questions asking for advice ("should I", "is it a good idea", "what is the safe way",
# "써도 되나요", "뭘 설치하는 게 좋을까요", "추천"), answered by the sentence that advises
# ("... is not recommended for photographs", "You should make a backup", "새 도구를 대신
# 쓰세요"), not by the one that describes the thing asked about.
ADVICE = re.compile(
    r"\b(should (i|we)|is it (a )?(good|bad|safe|wise|ok|okay)|good idea|recommend\w*|best|safe way|advisable"
    r"|good compromise|aim for)\b|권장|추천|(해|써|깔아|올려|걸어)도\s*(되|돼|괜찮)|괜찮을까|좋을까|좋아요\?|게 좋|나아요|나을까",
    re.I,
)
ADVICE_SENTENCE = re.compile(
    r"\b(recommend\w*|should|advis\w*|best|prefer\w*|good idea|better|reasonable|suggest\w*)\b"
    r"|권장|추천|하세요|쓰세요|십시오|좋습니다|바람직|낫습니다",
    re.I,
)

# "In which case / under what circumstances / when does ... / 어떤 경우에만" asks for the
# condition that limits something, answered by the sentence that states the limit ("only
# when", "unless", "regardless of the setting", "경우에만", "상관없이"). A bonus for any
# if/when sentence was measured and dropped (query.extractive); these words are narrower.
CONDITION = re.compile(
    r"\b(in which case|in what case|under what (circumstances|conditions)|when (is|does|do|will|would|are)"
    r"|what happens (if|when))\b|어떤 경우|어느 경우|언제",
    re.I,
)
RESTRICTION_SENTENCE = re.compile(
    r"\b(only (if|when)|unless|regardless|as long as|provided that|except)\b|경우에만|때만|때에만|에 한해|상관없이",
    re.I,
)

# "Where is / which menu / how do I open|find|get back / 어디서 / 어느 메뉴 / 열려면 / 사라졌어요":
# the caller wants the way to a feature, and desktop software's help states it as a menu path
# ("Choose Format - Character", "Image → Mode → Indexed", "서식 - 문자를 선택합니다") that
# shares few words with a question asked in everyday words. Words of the language, not of
# one program.
REACH = re.compile(
    r"\bwhere(?:'s| (?:is|are|do|does|did|can|could|should|would|to|in)\b)"
    r"|\bhow (?:do|can|could|would|should) (?:i|we|you) (?:open|find|get to|reach|access|bring up|bring back|show"
    r"|display|restore|turn on the \w+ (?:bar|panel|pane))\b"
    r"|\bhow to (?:open|find|get to|reach|access|bring up|bring back|show|display)\b"
    r"|\b(?:which|what|in which|from which) (?:menu|submenu|menu item|menu entry|tab|dialog|dialog box|button|panel"
    r"|pane|toolbar|window|screen|icon|command in the menu)s?\b|\bmenu (?:path|item|entry|command)\b"
    r"|\b(?:get|bring) (?:it|them|this|that|the \w+(?: \w+)?) back\b"
    r"|\b(?:i|we|you) can(?:'t|not| not) (?:find|see|locate)\b"
    r"|\b(?:is|are|has|have) (?:gone|disappeared|vanished)\b|\b(?:disappeared|vanished)\b"
    r"|어디(?!서\s*(?:나|왔|오|유래|따))|어느\s*메뉴|어떤\s*메뉴|무슨\s*메뉴"
    r"|메뉴(?:에서|는|가|를|로|에)?\s*(?:어디|어떻게|뭐|무엇|찾)"
    r"|찾(?:을|으려면|으면|는|나요|아요|아야|고)|(?<![가-힣])열(?:려면|고\s*싶|\s*수|어야|려고|리나요|까요)"
    r"|(?<![가-힣])여(?:나요|는\s*(?:방법|법|메뉴|곳))|어떻게\s*(?:열|여|찾|들어가|가나요|가요)"
    r"|들어가(?:려면|나요|요|야|는)|사라졌|없어졌|안\s*보여|안\s*보이|보이지\s*않|다시\s*(?:보이|띄우|표시|열)",
    re.I,
)
# A line that states a menu path or a way through the interface, by its shape in any
# language: two or more short labels joined by a path separator ("Image → Mode → Indexed",
# "도구 ▸ 옵션", "Edit › Preferences", "메뉴 > 설정 > 환경설정", "Choose Format - Character -
# Font Effects", "서식 - 문자를 선택합니다", "File | Settings"). Arrows separate nothing but
# labels; ">", "|" and a spaced "-" also redirect shell output, join table cells (ingest.tables
# writes a row as "cell | cell"), set off a term from its description ("purge - removes the
# package") and write formulas ("A > B > C", "Y - B - R"), so there the labels must look like
# interface labels (a capital letter and one more character, or Hangul, first; at most three
# words) and a word of navigation ("choose", "menu", "선택합니다") must stand next to the
# path, unless it chains three labels.
_OPENS = r"[\[\"“‘'「(]?"
_CLOSES = r"[\]\"”’」)]?"
_ARROW = re.compile(r"(?<=[\w…).\]\"”’」])\s*(?:→|⇒|▸|▶|►|⟶|＞)\s*(?=" + _OPENS + r"\w)"
                    r"|(?<=[\w…).\]\"”’」])\s(?:›|»|->|=>)\s(?=" + _OPENS + r"[A-Z가-힣])")
_WORD = r"[\w&'’+°-]+(?:\.\.\.|…)?"
_UI_LABEL = (r"(?<![\w./\\])" + _OPENS + r"[A-Z가-힣][\w&'’+°-]+(?:\.\.\.|…)?" + _CLOSES
             + r"(?:\s" + _WORD + r"){0,2}")
_WEAK_CHAIN = re.compile(rf"{_UI_LABEL}\s+(?P<sep>>|-|–)\s+{_UI_LABEL}\s+(?P=sep)\s+{_UI_LABEL}")
_WEAK_PAIR = re.compile(rf"{_UI_LABEL}\s(?:>|\||-|–)\s{_UI_LABEL}")
NAVIGATION = re.compile(
    r"\b(?:choose|select|click|go to|open|navigate|tap|pick|from the \w+ menu|menu|menubar|tab|submenu|access)\b"
    r"|선택|클릭|누르|누릅|눌러|메뉴|탭(?:을|에서|으로)|이동|들어가|열(?:고|어|면|기)|실행",
    re.I,
)
NAVIGATION_REACH = 30  # characters around a ">", "|" or "-" pair where its word of navigation stands
_MENU_ARROW = re.compile(r"→|⇒|▸|▶|►|⟶")
_SEPARATOR = re.compile(r"\s*(?:→|⇒|▸|▶|►|⟶|＞|›|»|->|=>)\s*|\s(?:>|\||-|–)\s")


_SIDES_EN = (
    re.compile(r"\bdiffer\w*\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s*[?.!]*$", re.I),
    re.compile(r"^(?:.*?:\s*)?(?P<a>.+?)\s+(?:vs\.?|versus)\s+(?P<b>.+?)\s*[?.!]*$", re.I),
    re.compile(r"\bhow\s+(?:does|do|is|are)\s+(?P<a>.+?)\s+differ\w*\s+from\s+(?P<b>.+?)\s*[?.!]*$", re.I),
    re.compile(r"\b(?:compare|comparing)\s+(?P<a>.+?)\s+(?:and|with|to)\s+(?P<b>.+?)\s*[?.!]*$", re.I),
)
# "A와 B는 어떻게 다른가요", "A랑 B 차이", "A과 B의 차이점은": word by word, because the
# sides are as long as the particles say (one word or a noun phrase).
_DIFFERENCE_KO = re.compile(r"차이|다르|다른|달라|달리")
_AND_KO = re.compile(r"^(?P<w>.+?)(와|과|랑|이랑|하고)$")
_FILLER_KO = frozenset({"어떤", "점이", "점에서", "무엇이", "뭐가", "어떻게", "좀", "무슨"})
_TOPIC_KO = re.compile(r"^(?P<w>.+?)(은|는|의|이|가|을|를)$")
MAX_SIDE_WORDS = 4


@dataclass(frozen=True)
class Side:
    """One side of a comparison: the terms only it has, and its words as written."""

    terms: frozenset[str]
    phrase: str


@dataclass(frozen=True)
class Kind:
    process: bool
    cause: bool
    advice: bool
    condition: bool
    sides: tuple[Side, Side] | None  # the two things a comparison contrasts
    reach: bool = False  # where a feature is / how to open or get to it: a menu path answers
    reason: bool = False  # why: the sentence giving a reason answers


def _terms(text: str) -> set[str]:
    """Word terms of more than one letter (`word_terms`)."""
    return {t for t in word_terms(text) if len(t) > 1}


_ARTICLE = re.compile(r"^(the|a|an)\s+", re.I)


def _phrase(text: str) -> str:
    return _ARTICLE.sub("", " ".join(text.lower().split()))


def _side_terms(a: str, b: str, lists: Words) -> tuple[Side, Side] | None:
    phrase_a = _phrase(" ".join(a.split()[-MAX_SIDE_WORDS:]))
    phrase_b = _phrase(" ".join(b.split()[:MAX_SIDE_WORDS]))
    # "between the Eco and Turbo modes", "eco mode vs turbo mode, which ...":
    # a trailing noun (and what follows it) belongs to both sides, or to neither. Which nouns
    # say what kind of thing the sides are is the profile's list (query.answer.words).
    a = lists.trailing_kind_noun.sub("", a) or a
    b = lists.trailing_kind_noun.sub("", b) or b
    ta = _terms(" ".join(a.split()[-MAX_SIDE_WORDS:]))
    tb = _terms(" ".join(b.split()[:MAX_SIDE_WORDS]))
    # Korean compounds split differently by side ("이름기반 가상호스트" -> 가상호스트,
    # "IP기반 가상호스트" -> 가상 + 호스트): a Hangul term written inside the other side is shared.
    only_a = frozenset(t for t in ta - tb if not (HANGUL.search(t) and t in b))
    only_b = frozenset(t for t in tb - ta if not (HANGUL.search(t) and t in a))
    if not only_a or not only_b:
        return None
    return Side(only_a, phrase_a), Side(only_b, phrase_b)


def comparison_sides(question: str, words: Words | None = None) -> tuple[Side, Side] | None:
    """The two things a comparison question contrasts, as terms each side alone has.
    `words`: the profile's word lists (the bundled profile's when None)."""
    lists = words or load_words()
    q = " ".join(question.split())
    for pattern in _SIDES_EN:
        m = pattern.search(q)
        if m:
            return _side_terms(m.group("a"), m.group("b"), lists)
    return _korean_sides(q.split(), lists) if _DIFFERENCE_KO.search(q) else None


def _korean_sides(words: list[str], lists: Words) -> tuple[Side, Side] | None:
    for i, word in enumerate(words[:-1]):
        joined = _AND_KO.match(word)
        if not joined:
            continue
        rest = [w for w in words[i + 1:i + 4] if w not in _FILLER_KO]
        if rest and _DIFFERENCE_KO.search(rest[0]):
            # "A는 B와 어떤 점이 다른가요": B ends here, A is the topic before it.
            topics = [k for k in range(i) if _TOPIC_KO.match(words[k])]
            if topics:
                t = topics[-1]
                a_words = words[max(0, t - MAX_SIDE_WORDS + 1):t] + [_TOPIC_KO.match(words[t]).group("w")]
                b_words = words[t + 1:i] + [joined.group("w")]
                return _side_terms(" ".join(a_words[-len(b_words):]), " ".join(b_words), lists)
        b_words: list[str] = []
        for later in words[i + 1:i + 1 + MAX_SIDE_WORDS]:
            if _DIFFERENCE_KO.search(later):
                break
            topic = _TOPIC_KO.match(later)
            b_words.append(topic.group("w") if topic else later)
            if topic:
                break
        if not b_words:
            continue
        a_words = words[max(0, i - len(b_words) + 1):i] + [joined.group("w")]
        return _side_terms(" ".join(a_words), " ".join(b_words), lists)
    return None


def question_kind(question: str, words: Words | None = None) -> Kind:
    sides = comparison_sides(question, words)
    return Kind(
        process=bool(PROCESS.search(question)) and sides is None,
        cause=bool(CAUSE.search(question)) and sides is None,
        advice=bool(ADVICE.search(question)) and sides is None,
        condition=bool(CONDITION.search(question)) and sides is None,
        sides=sides,
        reach=bool(REACH.search(question)) and sides is None,
        reason=bool(REASON.search(question)) and sides is None,
    )


# A numbered step: an ordered list's item as the parser writes it ("2. Press HOME") or a
# step numbered in the text itself; `match` on one line, `findall` over a chunk.
STEP = re.compile(r"^\d+\.\s", re.M)


def shows_steps(text: str) -> bool:
    """The text holds a numbered procedure: two step lines or more (one numbered line is as
    often a heading or a footnote)."""
    return len(STEP.findall(text)) >= 2


def states_requirement(text: str) -> bool:
    return bool(REQUIREMENT_SENTENCE.search(text))


def gives_reason(text: str) -> bool:
    return bool(REASON_SENTENCE.search(text))


def states_restriction(text: str) -> bool:
    return bool(RESTRICTION_SENTENCE.search(text))


def gives_advice(text: str) -> bool:
    return bool(ADVICE_SENTENCE.search(text))


def states_path(text: str, heading: str = "") -> bool:
    """The line states a menu path (REACH's answer): labels joined by an arrow, or by ">",
    "|" or a spaced dash where the labels look like interface labels (see _WEAK_PAIR).

    `heading`: the line's section heading. A line that is nothing but labels ending in the
    heading's own words ("Manual home > Products > Roaming" over "Roaming") is the page's
    breadcrumb, the way through the manual, not through the program."""
    if _ARROW.search(text) or _WEAK_CHAIN.search(text):
        found = True
    else:
        found = any(NAVIGATION.search(text[max(0, m.start() - NAVIGATION_REACH):m.end() + NAVIGATION_REACH])
                    for m in _WEAK_PAIR.finditer(text))
    return found and not (heading and _is_breadcrumb(text, heading))


def _is_breadcrumb(text: str, heading: str) -> bool:
    if _MENU_ARROW.search(text):
        return False  # breadcrumbs are written with ">", "›", "»": an arrow leads through a program
    labels = [label.strip(" []") for label in _SEPARATOR.split(text.strip())]
    last = " ".join(labels[-1].lower().split())
    return (len(labels) > 1 and all(0 < len(label.split()) <= 4 for label in labels) and not NAVIGATION.search(text)
            and bool(last) and last in " ".join(heading.lower().split()))
