"""Personal data out of everything that is stored or sent out (log, cache, LLM request).

Agents paste what callers say: phone numbers, resident registration numbers, card and
account numbers. `redact(text)` replaces each with a typed placeholder (`<전화번호>` in
Korean text, `<PHONE>` in English text: the placeholder follows the language of the whole
text, as the answer language does in query.answer.generate). The answer shown to the agent is
never redacted; retrieval keeps the raw question in memory.

Why this combination, measured on the first 188 strings of data/eval/pii_cases.jsonl (100 typed
spans, 75 manual-like strings; `python -m query.pii --eval data/eval/pii_cases.jsonl --compare`,
Presidio measured with `pip install presidio-analyzer`, not a dependency):

- `ko-pii` 1.22 (PyPI, dependency-free) alone: registration numbers, business numbers and
  e-mails all found, but recall PHONE 0.75 (no US/UK numbers), CARD 0.86 (Amex 4-6-5
  grouping), ACCOUNT 0.70 (English context), SSN 0.00; it calls 1588-/1577- service
  numbers phones and its name detector marks words (설치비, 명의변경, 포트) as PERSON:
  false positives on 12% of the manual-like strings.
- Presidio 2.2 pattern recognizers (KR_RRN, KR_FRN, KR_BRN, CREDIT_CARD, EMAIL_ADDRESS,
  US_SSN, PHONE_NUMBER; offline, no spaCy model, but spaCy itself is a dependency):
  recall RRN 0.87, SSN 0.60, ACCOUNT 0.00 (no recognizer), PHONE 0.97; it redacts service
  and toll-free numbers and read a product barcode as an RRN: 13% false positives.
- Chosen: ko-pii for the Korean identifiers, cards, accounts, business numbers and
  e-mails (its checksums, date checks and context gates); Google's libphonenumber
  (`phonenumbers`) for phones in any country, which also tells the number's *type*, so
  service numbers are kept (below); two small rules of our own where neither library
  serves: US SSN (SSA validity rules) and English-context bank accounts and Amex-grouped
  cards (4-6-5, which ko-pii misses).

Numbers as people type and say them (Korean numerals 공일공-이육사오-칠칠일일, full-width
digits, 3O5O with letters for digits, a number broken across two lines) are read through
query.pii_normalize: the detectors also run on a normalised copy and its spans are mapped
back, so the original characters are replaced. On the 49 strings added for them (24
numbers in those forms, 22 manual-like strings full of 일/이/사/오 and look-alike codes,
3 questions) recall went from RRN 0.89, PHONE 0.68, CARD 0.84 (whole set) to 1.00 each,
with no false positive; on 22,595 text blocks of the four real corpora (4.1M characters)
the normaliser found nothing the plain detectors had not (0 new spans).

The set was written while the rules were built, and two rules (the account clause gate, the
North American digit grouping) were added after its last 12 strings showed a false positive:
these are development-set figures; expect lower ones on text nobody has looked at yet.

Decisions:
- Service numbers are not personal data and stay: short codes (114, 100), nationwide
  representative numbers (15xx/16xx/18xx-xxxx, libphonenumber type UAN/SHARED_COST) and
  toll-free numbers (080-xxx-xxxx, 1-800-...). Manuals print them and agents quote them.
  Landlines (02-, 031-...) and internet phones (070-) are redacted: a business landline
  cannot be told from a caller's home number.
- Resident registration numbers issued since October 2020 have random last digits, so a
  failed checksum does not clear a number: ko-pii accepts a valid birth date plus a valid
  gender digit (1-4 resident, 5-8 foreigner) and marks the checksum "unverified".
  Business registration numbers have a checksum that is always enforced; cards must pass Luhn.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.chunk_record import text_language
from query.pii_normalize import normalize

TYPES = ("RRN", "FRN", "PHONE", "CARD", "ACCOUNT", "BRN", "EMAIL", "SSN")
PLACEHOLDERS = {
    "ko": {"RRN": "<주민등록번호>", "FRN": "<외국인등록번호>", "PHONE": "<전화번호>", "CARD": "<카드번호>",
           "ACCOUNT": "<계좌번호>", "BRN": "<사업자등록번호>", "EMAIL": "<이메일>", "SSN": "<사회보장번호>"},
    "en": {"RRN": "<RRN>", "FRN": "<FOREIGNER_ID>", "PHONE": "<PHONE>", "CARD": "<CARD>",
           "ACCOUNT": "<ACCOUNT>", "BRN": "<BUSINESS_ID>", "EMAIL": "<EMAIL>", "SSN": "<SSN>"},
}
# When spans overlap, the more specific identifier wins (an RRN is also a string of digits
# a phone or account rule could take).
# A banking word next to the digits is stronger evidence than libphonenumber's "valid in
# some region" (123-456789-01 is a valid US number), so ACCOUNT outranks PHONE.
PRIORITY = {t: i for i, t in enumerate(("RRN", "FRN", "CARD", "BRN", "SSN", "EMAIL", "ACCOUNT", "PHONE"))}

_KO_PII_LABELS = {"RRN": "RRN", "FRN": "FRN", "CARD": "CARD", "ACCOUNT": "ACCOUNT", "BUSINESS_REG": "BRN", "EMAIL": "EMAIL"}


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int
    text: str


# ---- our own rules (where neither library serves; see the module docstring) -------------
_SSN = re.compile(r"(?<![\d-])(\d{3})-(\d{2})-(\d{4})(?![\d-])")
_AMEX = re.compile(r"(?<![\d-])3[47]\d{2}[ -]\d{6}[ -]\d{5}(?![\d-])")
_ACCOUNT = re.compile(r"(?<![\d-])\d{2,6}(?:-\d{2,7}){1,3}(?![\d-])|(?<![\d-])\d{10,14}(?![\d-])")
_ACCOUNT_CONTEXT = re.compile(r"(account|acct|bank|deposit|계좌|입금|출금|은행|환불)", re.IGNORECASE)
_CONTEXT_CHARS = 40
_CLAUSE_END = re.compile(r"[,;.\n]\s")


def _ssn_spans(text: str) -> list[Span]:
    """US SSN with dashes; the SSA never issues area 000/666/9xx, group 00 or serial 0000."""
    out = []
    for m in _SSN.finditer(text):
        area, group, serial = m.groups()
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        out.append(Span("SSN", m.start(), m.end(), m.group(0)))
    return out


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _amex_spans(text: str) -> list[Span]:
    return [Span("CARD", m.start(), m.end(), m.group(0)) for m in _AMEX.finditer(text)
            if luhn(re.sub(r"\D", "", m.group(0)))]


def _account_spans(text: str) -> list[Span]:
    """Digit groups shaped like a bank account, only near a banking word."""
    out = []
    for m in _ACCOUNT.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if not 10 <= len(digits) <= 14:
            continue
        # the banking word must sit in the same clause: "출금일 매월 25일, 결제대행 코드
        # 2026031512" is a code, not an account (a manual-like string of the test set)
        before = _CLAUSE_END.split(text[max(0, m.start() - _CONTEXT_CHARS): m.start()])[-1]
        after = _CLAUSE_END.split(text[m.end(): m.end() + 12])[0]
        if _ACCOUNT_CONTEXT.search(before + " " + after):
            out.append(Span("ACCOUNT", m.start(), m.end(), m.group(0)))
    return out


# ---- libraries ------------------------------------------------------------------------
def _ko_pii_spans(text: str) -> list[Span]:
    import ko_pii

    found = ko_pii.detect_all(text, include=list(_KO_PII_LABELS))
    return [Span(_KO_PII_LABELS[d.label], d.start, d.end, d.text) for d in found if d.label in _KO_PII_LABELS]


@lru_cache(maxsize=1)
def _phone_types() -> frozenset:
    from phonenumbers import PhoneNumberType as T

    # personal lines; TOLL_FREE, SHARED_COST, UAN (15xx/16xx), PREMIUM_RATE are services
    return frozenset({T.MOBILE, T.FIXED_LINE, T.FIXED_LINE_OR_MOBILE, T.VOIP, T.PERSONAL_NUMBER, T.PAGER})


# Korean numbers as written (010-1234-5678, 010 1234 5678, 02.345.6789): libphonenumber's
# matcher scans for the longest plausible number and loses one followed by more digits
# ("070 8282 1234 070 번호"), so these shapes are also parsed one by one.
_KR_PHONE = re.compile(r"(?<![\d+-])0(?:1[016789]|70|2|[3-6][1-5])[-. ]?\d{3,4}[-. ]?\d{4}(?![\d-])")


def _phone_spans(text: str) -> list[Span]:
    import phonenumbers

    out = []
    for m in _KR_PHONE.finditer(text):
        try:
            number = phonenumbers.parse(m.group(0), "KR")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _phone_types():
            out.append(Span("PHONE", m.start(), m.end(), m.group(0)))
    for region in ("KR", "US"):
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            groups = [len(g) for g in re.findall(r"\d+", match.raw_string)]
            if region == "US" and not match.raw_string.startswith("+") and groups[-2:] != [3, 4]:
                continue  # North American numbers are written ...-555-0132; a bare 2026031512 or
                # a 220-81-62518 (a business number failing its checksum) is a code, not a phone
            if region == "KR" and not match.raw_string.lstrip("(").startswith(("0", "+")):
                continue  # Korean numbers are written with the trunk 0 or +82; 220-81-62518 is not a phone
            if phonenumbers.number_type(match.number) in _phone_types():
                out.append(Span("PHONE", match.start, match.end, match.raw_string))
    return out


def _resolve(spans: list[Span]) -> list[Span]:
    """Keep non-overlapping spans: higher priority first, then longer."""
    chosen: list[Span] = []
    for span in sorted(spans, key=lambda s: (PRIORITY[s.type], -(s.end - s.start), s.start)):
        if all(span.end <= other.start or span.start >= other.end for other in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def _detect_plain(text: str) -> list[Span]:
    return _ko_pii_spans(text) + _phone_spans(text) + _ssn_spans(text) + _amex_spans(text) + _account_spans(text)


def detect(text: str) -> list[Span]:
    """Typed personal-data spans in `text`, non-overlapping, in text order.

    The detectors run on the text as written and, when it differs, on its normalised copy
    (Korean numerals, full-width digits, look-alike letters, numbers across a line break:
    query.pii_normalize); spans found in the copy are mapped back to the original."""
    if not text:
        return []
    plain = normalize(text)
    if not any(ch.isdigit() or ch == "@" for ch in plain.text):
        return []  # every type we redact has digits or an @: skip the libraries (fast path)
    spans = _detect_plain(text)
    seen = {text}
    variants = [plain, normalize(text, copula=True)] if plain.copula_ambiguous else [plain]
    for variant in variants:  # 오사삼이에요: 5432 + 에요, or 543 + 이에요
        if variant.text in seen:
            continue
        seen.add(variant.text)
        for span in _detect_plain(variant.text):
            start, end = variant.original_span(span.start, span.end)
            spans.append(Span(span.type, start, end, text[start:end]))
    return _resolve(spans)


# One question is redacted four times on its way (the LLM prompt, the answer cache key,
# the session turn, the query log), and detection with ko-pii and phonenumbers costs about
# 1 ms for a question with digits in it ("5G", "12개월"): on a burst of 32 questions that
# was 6% of the server's time holding the GIL (py-spy). A pure function of its arguments,
# so remembered; lru_cache is safe to call from the desk's threads. The remembered texts
# (at most 4096, raw and redacted) live in this process's memory only, like the requests
# being served; nothing of them is written anywhere.
@lru_cache(maxsize=4096)
def redact(text: str | None, lang: str | None = None) -> str | None:
    """`text` with every detected span replaced by its typed placeholder.

    The placeholder language is `lang` or the text's own (any Hangul -> Korean)."""
    if not text:
        return text
    spans = detect(text)
    if not spans:
        return text
    names = PLACEHOLDERS[lang or text_language(text)]
    parts, last = [], 0
    for span in spans:
        parts += [text[last: span.start], names[span.type]]
        last = span.end
    parts.append(text[last:])
    return "".join(parts)


# ---- evaluation -----------------------------------------------------------------------
def load_cases(path: Path) -> list[dict]:
    cases = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(json.loads(line))
            except ValueError as exc:
                raise SystemExit(f"error: {path}:{line_no}: not JSON ({exc})") from exc
    return cases


def evaluate(cases: list[dict], detector=detect) -> dict:
    """Per type recall (an expected span counts as found when a detected span of the same
    type covers it entirely — partly masked digits still leak), precision on the PII
    strings, and the false-positive rate: share of manual-like (and of clean question)
    strings where anything was detected."""
    per_type = {t: {"expected": 0, "found": 0} for t in TYPES}
    wrong, missed, false_alarms = 0, [], []
    fp = {"manual": [0, 0], "clean": [0, 0]}
    for case in cases:
        spans = detector(case["text"])
        if case["kind"] in fp:
            fp[case["kind"]][1] += 1
            if spans:
                fp[case["kind"]][0] += 1
                false_alarms.append((case["id"], [(s.type, s.text) for s in spans]))
            continue
        for exp in case["spans"]:
            per_type[exp["type"]]["expected"] += 1
            if any(s.type == exp["type"] and s.start <= exp["start"] and s.end >= exp["end"] for s in spans):
                per_type[exp["type"]]["found"] += 1
            else:
                missed.append((case["id"], exp["type"], exp["text"]))
        for s in spans:
            if not any(s.start < e["end"] and s.end > e["start"] for e in case["spans"]):
                wrong += 1
                false_alarms.append((case["id"], [(s.type, s.text)]))
    return {
        "recall": {t: (v["found"] / v["expected"] if v["expected"] else None) for t, v in per_type.items()},
        "support": {t: v["expected"] for t, v in per_type.items()},
        "spurious_spans_in_pii_strings": wrong,
        "fp_rate_manual": fp["manual"][0] / max(1, fp["manual"][1]),
        "fp_rate_clean_questions": fp["clean"][0] / max(1, fp["clean"][1]),
        "n_manual": fp["manual"][1], "n_clean": fp["clean"][1],
        "missed": missed, "false_alarms": false_alarms,
    }


def _candidates() -> dict:
    """Other detectors measured for the choice above (only those installed)."""
    out = {}
    try:
        import ko_pii

        def ko_pii_alone(text: str) -> list[Span]:
            labels = {**_KO_PII_LABELS, "PHONE": "PHONE"}
            return [Span(labels.get(d.label, d.label), d.start, d.end, d.text) for d in ko_pii.detect_all(text)
                    if d.label in labels or d.label not in ("IP", "URL")]  # every label it has counts

        out["ko-pii alone"] = ko_pii_alone
    except ImportError:
        pass
    try:
        out["presidio patterns"] = _presidio_detector()
    except ImportError:
        pass
    return out


def _presidio_detector():
    """Presidio's pattern recognizers without an NLP engine (no spaCy model download)."""
    from presidio_analyzer.predefined_recognizers import (CreditCardRecognizer, EmailRecognizer, KrBrnRecognizer,
                                                          KrFrnRecognizer, KrRrnRecognizer, PhoneRecognizer,
                                                          UsSsnRecognizer)

    recognizers = [(KrRrnRecognizer(), "RRN"), (KrFrnRecognizer(), "FRN"), (KrBrnRecognizer(), "BRN"),
                   (CreditCardRecognizer(), "CARD"), (EmailRecognizer(), "EMAIL"), (UsSsnRecognizer(), "SSN"),
                   (PhoneRecognizer(supported_regions=("KR", "US", "GB")), "PHONE")]

    def presidio(text: str) -> list[Span]:
        spans = []
        for recognizer, name in recognizers:
            for r in recognizer.analyze(text, recognizer.supported_entities, None) or []:
                if r.score >= 0.3:
                    spans.append(Span(name, r.start, r.end, text[r.start:r.end]))
        return _resolve(spans)

    return presidio


def _table(name: str, report: dict) -> str:
    lines = [f"## {name}", "", "| type | spans | recall |", "|---|---:|---:|"]
    for t in TYPES:
        r = report["recall"][t]
        lines.append(f"| {t} | {report['support'][t]} | {'-' if r is None else f'{r:.3f}'} |")
    lines.append("")
    lines.append(f"false-positive rate, manual-like strings: {report['fp_rate_manual']:.3f} (n={report['n_manual']})")
    lines.append(f"false-positive rate, clean questions:     {report['fp_rate_clean_questions']:.3f} (n={report['n_clean']})")
    lines.append(f"spurious spans inside PII strings: {report['spurious_spans_in_pii_strings']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m query.pii", description="Redact personal data, or measure the redactor.")
    parser.add_argument("text", nargs="?", help="text to redact (prints the redacted text)")
    parser.add_argument("--eval", type=Path, help="JSONL test set: per type recall and false-positive rates")
    parser.add_argument("--compare", action="store_true", help="with --eval: also measure the candidate libraries alone")
    parser.add_argument("--verbose", "-v", action="store_true", help="with --eval: list misses and false alarms")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.eval is None:
        if args.text is None:
            parser.error("give TEXT or --eval FILE")
        print(redact(args.text))
        return 0
    if not args.eval.exists():
        print(f"error: {args.eval} does not exist", file=sys.stderr)
        return 2
    cases = load_cases(args.eval)
    detectors = {"manual-qa redactor (query.pii)": detect}
    if args.compare:
        detectors.update(_candidates())
    reports = {name: evaluate(cases, fn) for name, fn in detectors.items()}
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(cases)} strings from {args.eval}\n")
    for name, report in reports.items():
        print(_table(name, report))
        if args.verbose:
            for item in report["missed"]:
                print("  missed:", item)
            for item in report["false_alarms"]:
                print("  false alarm:", item)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
