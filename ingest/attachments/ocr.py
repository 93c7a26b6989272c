"""Text in images through Tesseract (Debian `tesseract-ocr` + `tesseract-ocr-kor`), read via
`pytesseract`, the maintained wrapper around the command-line tool.

OCR is optional: `OCR=off` never runs it; `OCR=auto` (the default) runs it when the
`tesseract` binary and the `pytesseract` package are both present. Without them ingestion
goes on and the report says which pages or images were skipped for want of OCR.
"""

from __future__ import annotations

import shutil
from functools import lru_cache

LANGS_WANTED = ("kor", "eng")


@lru_cache(maxsize=1)
def ocr_languages() -> str | None:
    """"kor+eng" (what is installed of it) when OCR can run, else None."""
    if shutil.which("tesseract") is None:
        return None
    try:
        import pytesseract

        installed = set(pytesseract.get_languages(config=""))
    except Exception:  # no wrapper, or a broken tesseract install: OCR is simply unavailable
        return None
    langs = [lang for lang in LANGS_WANTED if lang in installed]
    return "+".join(langs) if langs else None


def available(mode: str) -> bool:
    return mode != "off" and ocr_languages() is not None


def image_text(image) -> str:
    """The text Tesseract reads in a PIL image (lines kept)."""
    import pytesseract

    text = pytesseract.image_to_string(image, lang=ocr_languages() or "eng")
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def status(mode: str) -> str:
    """One line saying whether this machine reads text in pictures, for reports whose figures
    depend on it (`make eval`): a picture's facts are found only when OCR ran, and an
    unchanged re-run does not say again what the first run skipped."""
    if available(mode):
        return f"OCR: Tesseract ({ocr_languages()})"
    return f"OCR: not run ({skipped_reason(mode)}): text in pictures and image-only PDF pages is not indexed"


def skipped_reason(mode: str) -> str:
    return "OCR=off" if mode == "off" else "Tesseract (tesseract-ocr, tesseract-ocr-kor) or pytesseract not installed"
