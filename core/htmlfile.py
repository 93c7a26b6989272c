"""What a manual file is: a name that says HTML, and bytes -> text in the order a browser
trusts the evidence.

Both sides need it: ingestion reads manuals, and the query server serves them under
/manuals/ decoded the same way, so an agent sees the page as it was indexed.

HTML names: `.html`, `.htm`, `.xhtml`, `.shtml`, and content-negotiation names such as
`page.html.en.utf8` or `page.html.ko.euc-kr`. Decoding: BOM first, then the document's own
`<meta charset>` / `http-equiv`, then the charset in a content-negotiation file name
(`page.html.ko.euc-kr`), then strict UTF-8, then detection. Korean legacy pages say `euc-kr` but routinely use CP949 extensions, so the
EUC-KR family decodes as CP949 (a strict superset). Decoding is strict: a page that
cannot be decoded cleanly is reported, never indexed as mojibake.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_HTML_NAME = re.compile(r"\.(html?|xhtml|shtml)(\.[a-z0-9_-]+)*$", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_NAME_CHARSETS = {
    "utf8": "utf-8", "utf-8": "utf-8", "euc-kr": "cp949", "euckr": "cp949", "cp949": "cp949",
    "ks_c_5601-1987": "cp949", "sjis": "shift_jis", "shift_jis": "shift_jis", "euc-jp": "euc_jp",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "big5": "big5", "gb2312": "gb18030", "koi8-r": "koi8_r",
}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


class DecodeError(ValueError):
    """The bytes are not a decodable text document; the message says why."""


def is_html_name(name: str) -> bool:
    return bool(_HTML_NAME.search(name))


def _normalise(label: str) -> str | None:
    label = label.strip().lower()
    if label in _NAME_CHARSETS:
        return _NAME_CHARSETS[label]
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return {"euc_kr": "cp949", "latin-1": "cp1252", "iso8859-1": "cp1252"}.get(name, name)


def charset_from_name(filename: str) -> str | None:
    """`page.html.ko.euc-kr` -> cp949; `page.html.en.utf8` -> utf-8; `page.html` -> None."""
    for part in reversed(filename.lower().split(".")[1:]):
        if part in _NAME_CHARSETS:
            return _NAME_CHARSETS[part]
    return None


def looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KB: not a text document."""
    head = raw[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > len(head) * 0.05


def _decode_maybe_truncated(raw: bytes, encoding: str) -> str:
    """Strict decoding, except that a multi-byte character cut off by a truncated file at
    the very end is dropped: the rest of the page is intact and worth indexing."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.end >= len(raw) and exc.start >= len(raw) - 4 and "end of data" in exc.reason:
            return raw[: exc.start].decode(encoding)
        raise


def decode_html(raw: bytes, filename: str = "") -> tuple[str, str]:
    """Return (text, encoding used). Raises DecodeError with a reason a person can act on."""
    if not raw.strip():
        raise DecodeError("empty file")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise DecodeError(f"byte-order mark says {encoding} but {exc.reason} at byte {exc.start}") from exc
    if looks_binary(raw):
        raise DecodeError("binary content, not an HTML text file")

    meta = _META_CHARSET.search(raw[:4096])
    declared = _normalise(meta.group(1).decode("ascii", "replace")) if meta else None
    if declared == "utf-16":  # a meta tag written in ASCII cannot be UTF-16: ignore the lie
        declared = None
    hinted = charset_from_name(filename)
    for source, encoding in (("declared charset", declared), ("file-name charset", hinted)):
        if encoding:
            try:
                return _decode_maybe_truncated(raw, encoding), encoding
            except UnicodeDecodeError as exc:
                raise DecodeError(
                    f"undecodable bytes: {source} {encoding} fails ({exc.reason}) at byte {exc.start}"
                ) from exc
    try:
        return _decode_maybe_truncated(raw, "utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    guess = from_bytes(raw[:200_000]).best()
    if guess is None or guess.chaos > 0.2:
        raise DecodeError("undecodable bytes: no charset declared and none detected with confidence")
    try:
        return raw.decode(guess.encoding), guess.encoding
    except UnicodeDecodeError as exc:
        raise DecodeError(f"undecodable bytes: detected {guess.encoding} fails at byte {exc.start}") from exc
