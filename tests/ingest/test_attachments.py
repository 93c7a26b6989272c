"""Attachments are content (issue 21): each reader on the generated samples, bad files
reported by name with their reason, incremental runs, and a question answered from inside
an attachment with a source that points into it."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from core import chunk_record as record
from ingest.attachments import ocr
from ingest.attachments.extract import Unsupported, extract
from ingest.attachments.safety import ZipLimits
from ingest.attachments.sniff import sniff
from ingest.attachments.units import AttachmentError, FileType
from ingest.run import ingest
from ingest.tables import prose
from tests.helpers import FIXTURES, ROOT, make_settings

FORMS = ROOT / "data" / "manuals" / "forms"


def text_of(extracted, anchor: str | None = None) -> str:
    """Everything a unit (or the file) says, tables as the prose chunks carry."""
    units = [u for u in extracted.units if anchor is None or u.anchor == anchor]
    return "\n".join(b for u in units for b in u.blocks) + "\n" + "\n".join(prose(t) for u in units for t in u.tables)


# ------------------------------------------------------------------ readers, on the samples
def test_pdf_pages_keep_korean_word_spaces_and_page_anchors():
    got = extract((FORMS / "service_terms_2026.pdf").read_bytes(), "service_terms_2026.pdf")
    assert got.type is FileType.PDF
    assert [u.anchor for u in got.units] == ["page=1", "page=2", "page=3", "page=4"]
    assert "장애 시간 요금의 8배" in text_of(got, "page=3")
    assert got.units[2].headings == ["제3장 손해배상", "p. 3"]  # the PDF outline gives the heading path
    assert "8배" not in text_of(got, "page=2")
    # a wrapped sentence is one block, a table row stays apart from the next row
    blocks = got.units[1].blocks
    assert any("발송 수수료가 부과됩니다" in b and "제11조" in b for b in blocks)
    assert "1개월 납부 안내 문자 발송" in blocks


def test_xlsx_sheets_merged_headers_and_formula_values():
    got = extract((FORMS / "price_sheet_2026.xlsx").read_bytes(), "price_sheet_2026.xlsx")
    assert [u.location for u in got.units] == ["sheet 모바일 요금제", "sheet 단말기", "sheet 부가서비스"]
    plans = text_of(got, got.units[0].anchor)
    # the merged group header "월 요금" labels both sub-columns; the formula shows its value
    assert "월 요금 / 선택약정 25% 할인 후: 36,750원" in plans
    phones = text_of(got, got.units[1].anchor)
    assert "모델: 한빛폰 S26;" in phones and "24개월 월 할부금: 27,292원" in phones
    assert "=ROUND" not in phones


def test_docx_numbered_steps_headings_and_tables():
    got = extract((FORMS / "travel_sim_activation.docx").read_bytes(), "travel_sim_activation.docx")
    steps = next(u for u in got.units if u.headings == ["Activating a Travel SIM"])
    assert steps.blocks[0].startswith("1. Check that the passport")
    assert steps.blocks[2].startswith("3. Insert the SIM card")
    assert "Voucher: Data Boost M; Price: KRW 11,000; Extra data: 3 GB for 7 days." in text_of(got)


def test_pptx_one_unit_per_slide_with_tables_and_notes():
    got = extract((FORMS / "campaign_2026_spring.pptx").read_bytes(), "campaign_2026_spring.pptx")
    assert [u.anchor for u in got.units] == [f"slide={n}" for n in range(1, 6)]
    assert got.units[2].headings == ["3. 결합 회선 수별 추가 혜택"]
    assert "결합 회선 수: 3회선; 추가 월 할인: 5,000원; 사은품: 블루투스 스피커." in text_of(got, "slide=3")
    assert "자동 적용됩니다" in text_of(got, "slide=2")  # the speaker notes


def test_hwpx_and_hwp_text_and_tables():
    hwpx = extract((FORMS / "ownership_checklist.hwpx").read_bytes(), "ownership_checklist.hwpx")
    assert hwpx.type is FileType.HWPX and hwpx.title == "명의변경 상담 체크리스트"
    assert "확인 항목: 회선 수 제한; 기준: 양수인 명의 모바일 회선은 최대 5회선." in text_of(hwpx)
    hwp = extract((FORMS / "transfer_form.hwp").read_bytes(), "transfer_form.hwp")
    assert hwp.type is FileType.HWP
    assert "작성일로부터 14일" in text_of(hwp)
    assert "승계 항목: 멤버십 포인트; 승계 여부: 승계되지 않고 소멸." in text_of(hwp)


def test_csv_in_cp949_and_txt():
    csv = "지역,설치비\n서울,22,000원\n".replace("22,000원", '"22,000원"') + '부산,"27,500원"\n'
    got = extract(csv.encode("cp949"), "fees.csv")
    assert got.type is FileType.CSV and "지역: 부산; 설치비: 27,500원." in text_of(got)
    txt = extract("공지\n\n점검은 매월 둘째 주 수요일입니다.\n".encode(), "notice.txt")
    assert txt.type is FileType.TXT and "점검은 매월 둘째 주 수요일입니다." in text_of(txt)


def test_type_comes_from_the_bytes_not_the_name():
    raw = (FORMS / "price_sheet_2026.xlsx").read_bytes()
    assert sniff(raw, "download.pdf") is FileType.XLSX
    assert sniff((FORMS / "service_terms_2026.pdf").read_bytes(), "terms.xlsx") is FileType.PDF
    assert sniff((FORMS / "transfer_form.hwp").read_bytes(), "form.doc") is FileType.HWP
    with pytest.raises(Unsupported):
        extract(_zip({"a.txt": b"hello"}), "bundle.zip")


# ------------------------------------------------------------------ bad attachments
def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(FORMS / "cancellation_request.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def zip_bomb() -> bytes:
    """A DOCX-shaped package whose document part inflates 3,000x (60 MB of one byte)."""
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * (60 * 1048576)})


def image_only_pdf() -> bytes:
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1400, 300), "white")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 64)
    ImageDraw.Draw(image).text((40, 100), "Router reset code 4417", fill="black", font=font)
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=20, w=190)
    return bytes(pdf.output())


def test_encrypted_pdf_is_reported_as_encrypted():
    with pytest.raises(AttachmentError, match="encrypted PDF"):
        extract(encrypted_pdf(), "locked.pdf")


def test_zip_bomb_is_refused_before_any_reader_inflates_it():
    bomb = zip_bomb()
    assert len(bomb) < 200_000
    with pytest.raises(AttachmentError, match="ZIP bomb suspected: word/document.xml expands"):
        extract(bomb, "bomb.docx")
    with pytest.raises(AttachmentError, match="ZIP bomb suspected: 60 MB uncompressed"):
        extract(bomb, "bomb.docx", limits=ZipLimits(max_total_mb=50, max_ratio=1e9))


def test_corrupt_and_oversized_files():
    raw = (FORMS / "service_terms_2026.pdf").read_bytes()
    with pytest.raises(AttachmentError, match="corrupt PDF"):
        extract(raw[:2000], "cut.pdf")
    with pytest.raises(AttachmentError, match=r"too large .* MAX_FILE_MB"):
        extract(raw, "terms.pdf", max_mb=0.01)


def test_password_protected_office_file_is_named_as_such():
    msoffcrypto = pytest.importorskip("msoffcrypto", reason="msoffcrypto-tool writes the encrypted test file")
    from msoffcrypto.format.ooxml import OOXMLFile

    locked = io.BytesIO()
    OOXMLFile(io.BytesIO((FORMS / "price_sheet_2026.xlsx").read_bytes())).encrypt("secret", locked)
    assert sniff(locked.getvalue(), "prices.xlsx") is FileType.ENCRYPTED_OFFICE
    with pytest.raises(AttachmentError, match="password-protected Office file"):
        extract(locked.getvalue(), "prices.xlsx")


def test_xls_sheet_with_merged_title_and_number_formats():
    xlwt = pytest.importorskip("xlwt", reason="xlwt writes the .xls test file")
    book = xlwt.Workbook()
    sheet = book.add_sheet("요금")
    sheet.write_merge(0, 0, 0, 1, "2026 인터넷 요금")
    sheet.write(1, 0, "상품")
    sheet.write(1, 1, "월 요금")
    won = xlwt.easyxf(num_format_str='#,##0"원"')
    for row, (name, fee) in enumerate([("기가 인터넷", 38500), ("베이직", 27500)], start=2):
        sheet.write(row, 0, name)
        sheet.write(row, 1, fee, won)
    buffer = io.BytesIO()
    book.save(buffer)
    got = extract(buffer.getvalue(), "fees.xls")
    assert got.type is FileType.XLS and got.units[0].location == "sheet 요금"
    table = got.units[0].tables[0]
    assert table.caption == "2026 인터넷 요금"
    assert "상품: 기가 인터넷; 월 요금: 38,500원." in prose(table)


def test_image_only_pdf_without_ocr_is_reported():
    with pytest.raises(AttachmentError, match="image-only PDF .* no OCR \\(OCR=off\\)"):
        extract(image_only_pdf(), "scan.pdf", ocr_mode="off")


@pytest.mark.skipif(not ocr.available("auto"), reason="Tesseract (tesseract-ocr) or pytesseract not installed")
def test_image_only_pdf_is_read_by_ocr_when_tesseract_is_installed():
    got = extract(image_only_pdf(), "scan.pdf", ocr_mode="auto")
    assert got.ocr_pages == 1 and "4417" in text_of(got)


# ------------------------------------------------------------------ ingestion runs
LINKING_PAGE = """<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>서식 모음</title></head><body>
<h1>서식 모음</h1>
<h2 id="terms">약관</h2><p>회사 규정은 <a href="forms/terms.pdf">이용약관</a>을 따릅니다.</p>
<h2 id="prices">요금표</h2><p>단말기 가격은 <a href="forms/prices.xlsx">요금표</a>를 보세요.</p>
<h2 id="bad">기타 서식</h2><p><a href="forms/locked.pdf">잠긴 문서</a>, <a href="forms/bomb.docx">절차서</a>,
<a href="forms/cut.pdf">손상된 문서</a>, <a href="forms/scan.pdf">스캔본</a>, <a href="forms/big.pdf">큰 문서</a></p>
</body></html>"""
SECOND_PAGE = """<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>단말기</title></head><body>
<h1>단말기 구매</h1><h2 id="price">가격</h2><p>가격은 <a href="forms/prices.xlsx">요금표</a>의 단말기 시트에 있습니다.</p>
</body></html>"""


def attachment_manuals(target: Path, bad: bool = False) -> Path:
    shutil.copytree(FIXTURES, target)
    (target / "forms").mkdir()
    shutil.copy(FORMS / "service_terms_2026.pdf", target / "forms" / "terms.pdf")
    shutil.copy(FORMS / "price_sheet_2026.xlsx", target / "forms" / "prices.xlsx")
    (target / "forms.html").write_text(LINKING_PAGE, encoding="utf-8")
    (target / "device.html").write_text(SECOND_PAGE, encoding="utf-8")
    if bad:
        raw = (FORMS / "service_terms_2026.pdf").read_bytes()
        (target / "forms" / "locked.pdf").write_bytes(encrypted_pdf())
        (target / "forms" / "bomb.docx").write_bytes(zip_bomb())
        (target / "forms" / "cut.pdf").write_bytes(raw[:2000])
        (target / "forms" / "scan.pdf").write_bytes(image_only_pdf())
        (target / "forms" / "big.pdf").write_bytes(raw + b"%" + b"0" * 600_000)
        (target / "forms" / "bundle.zip").write_bytes(_zip({"readme.txt": b"archive"}))
    return target


@pytest.fixture(scope="module")
def attachment_store(tmp_path_factory):
    base = tmp_path_factory.mktemp("attach")
    manuals = attachment_manuals(base / "manuals", bad=True)
    settings = make_settings(base / "storage", max_file_mb=0.5, ocr="off")
    report = ingest([manuals], settings, progress=False)
    return manuals, settings, report


def test_bad_attachments_are_reported_by_name_and_the_rest_is_stored(attachment_store):
    _, _, report = attachment_store
    reasons = {e["path"]: e["reason"] for e in report.errors}
    assert "encrypted PDF" in reasons["forms/locked.pdf"]
    assert "ZIP bomb suspected" in reasons["forms/bomb.docx"]
    assert "corrupt PDF" in reasons["forms/cut.pdf"]
    assert "image-only PDF" in reasons["forms/scan.pdf"]
    assert "too large" in reasons["forms/big.pdf"]
    assert set(reasons) == {"forms/locked.pdf", "forms/bomb.docx", "forms/cut.pdf", "forms/scan.pdf", "forms/big.pdf"}
    assert report.files.added == 6  # every page, the one linking to the bad files too
    assert report.attachments.added == 2 and report.attachments.by_type == {"pdf": 1, "xlsx": 1}
    assert report.exit_code == 3
    assert "attachments: 8 found: 2 added" in report.summary()
    # a format we do not read is a warning, not a failure
    assert {"path": "forms/bundle.zip", "reason": "attachment not indexed: unsupported format (zip)"} in report.warnings


def test_question_answered_from_inside_an_attachment_cites_the_page_of_the_file(attachment_store):
    from query.answer.engine import Engine

    _, settings, _ = attachment_store
    result = Engine(settings).ask("서비스 장애가 연속 3시간 이상 이어지면 얼마를 배상받나요?", use_llm=False).contract()
    top = result["sources"][0]
    assert top["url"] == "forms/terms.pdf#page=3"
    assert top["heading"].endswith("제3장 손해배상 › p. 3")
    assert "8배" in result["answer"] and "[1]" in result["answer"]


def test_attachment_chunks_carry_location_and_linking_sections(attachment_store):
    from core.store import get_storage, open_collection

    _, settings, _ = attachment_store
    storage = get_storage(settings)
    _, collection = open_collection(storage.index_dir(), settings, "usem3", create=False)
    got = collection.get(where={record.PATH: "forms/prices.xlsx"}, include=["metadatas"])
    nodes = [json.loads(m["_node_content"])["metadata"] for m in got["metadatas"]]
    phones = [m for m in nodes if m[record.LOCATION] == "sheet 단말기"]
    assert phones and phones[0][record.FILE_TYPE] == "xlsx"
    assert phones[0][record.SECTION_ID].startswith("forms/prices.xlsx#sheet=")
    linked = record.linked_from(phones[0])
    # one file linked from two pages: stored once, citing both sections
    assert [(l["path"], l["anchor"]) for l in linked] == [("device.html", "price"), ("forms.html", "prices")]
    assert linked[1]["url"] == "forms.html#prices" and linked[1]["text"] == "요금표"


def test_incremental_changed_deleted_and_unchanged_attachments(tmp_path):
    manuals = attachment_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage")
    first = ingest([manuals], settings, progress=False)
    assert first.attachments.added == 2 and not first.errors
    again = ingest([manuals], settings, progress=False)
    assert again.attachments.unchanged == 2 and again.embedded == 0 and again.generation == first.generation

    (manuals / "forms" / "notice.txt").write_text("공유기 초기화 코드는 7351입니다.\n", encoding="utf-8")
    added = ingest([manuals], settings, progress=False)
    assert added.attachments.added == 1 and added.attachments.unchanged == 2
    (manuals / "forms" / "notice.txt").write_text("공유기 초기화 코드는 9046입니다.\n", encoding="utf-8")
    changed = ingest([manuals], settings, progress=False)
    assert changed.attachments.updated == 1 and changed.chunks.deleted >= 1

    from query.answer.engine import Engine

    answer = Engine(settings).ask("공유기 초기화 코드는 무엇인가요?", use_llm=False).contract()
    assert answer["sources"][0]["path"] == "forms/notice.txt"
    assert "9046" in answer["answer"] and "7351" not in json.dumps(answer, ensure_ascii=False)

    (manuals / "forms" / "terms.pdf").unlink()
    deleted = ingest([manuals], settings, progress=False)
    assert "forms/terms.pdf" in deleted.deleted_paths
    from core.store import get_storage, open_collection

    _, collection = open_collection(get_storage(settings).index_dir(), settings, "usem3", create=False)
    assert collection.get(where={record.PATH: "forms/terms.pdf"})["ids"] == []


def test_a_page_that_starts_linking_to_a_file_is_cited_by_it(tmp_path):
    manuals = attachment_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage")
    ingest([manuals], settings, progress=False)
    page = manuals / "billing.html"
    page.write_text(SECOND_PAGE.replace('href="forms/prices.xlsx"', 'href="forms/terms.pdf"')
                    .replace('id="price"', 'id="rules"'), encoding="utf-8")
    again = ingest([manuals], settings, progress=False)
    assert again.attachments.updated == 1 and again.attachments.unchanged == 1  # terms.pdf re-cited, prices.xlsx kept
    from core.store import get_storage, open_collection

    _, collection = open_collection(get_storage(settings).index_dir(), settings, "usem3", create=False)
    got = collection.get(where={record.PATH: "forms/terms.pdf"}, include=["metadatas"])
    cited = {(l["path"], l["anchor"]) for m in got["metadatas"]
             for l in record.linked_from(json.loads(m["_node_content"])["metadata"])}
    assert cited == {("billing.html", "rules"), ("forms.html", "terms")}


IMAGE_PAGE = """<!DOCTYPE html><html lang="ko"><head><meta charset="utf-8"><title>공유기</title></head><body>
<h1>공유기 안내</h1><h2 id="reset">초기화</h2><p>초기화 방법은 그림을 보세요.</p>
<img src="img/reset.png" alt="공유기 초기화 안내 그림"></body></html>"""


def image_manuals(target: Path) -> Path:
    shutil.copytree(FIXTURES, target)
    (target / "img").mkdir()
    shutil.copy(ROOT / "data" / "manuals" / "img" / "router_reset.png", target / "img" / "reset.png")
    (target / "router.html").write_text(IMAGE_PAGE, encoding="utf-8")
    return target


def test_without_ocr_linked_images_are_skipped_and_the_status_says_so(tmp_path):
    from ingest.status import format_status, status

    manuals = image_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage", ocr="off")
    report = ingest([manuals], settings, progress=False)
    assert not report.errors and report.files.added == 5
    assert report.attachments.images_skipped == 1 and report.attachments.images_skipped_reason == "OCR=off"
    assert "1 linked image(s) not read (OCR=off)" in report.summary()
    assert "1 linked image(s) not read by OCR (OCR=off)" in format_status(status(settings))


def test_a_report_says_whether_pictures_were_read(monkeypatch):
    """`make eval` heads its report with this line: without Tesseract the attachments set's
    picture questions miss, and an unchanged re-run does not say so again."""
    assert ocr.status("off") == ("OCR: not run (OCR=off): text in pictures and image-only PDF pages is not indexed")
    monkeypatch.setattr(ocr, "ocr_languages", lambda: None)
    assert ocr.status("auto").startswith("OCR: not run (Tesseract (tesseract-ocr, tesseract-ocr-kor) or pytesseract")
    monkeypatch.setattr(ocr, "ocr_languages", lambda: "kor+eng")
    assert ocr.status("auto") == "OCR: Tesseract (kor+eng)"


@pytest.mark.skipif(not ocr.available("auto"), reason="Tesseract (tesseract-ocr) or pytesseract not installed")
def test_text_inside_a_picture_is_found_under_the_section_that_shows_it(tmp_path):
    from query.answer.engine import Engine

    manuals = image_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage", ocr="auto")
    report = ingest([manuals], settings, progress=False)
    assert report.attachments.ocr_pages == 1 and report.attachments.by_type == {"image": 1}
    result = Engine(settings).ask("RESET 버튼은 몇 초 이상 눌러야 하나요?", use_llm=False).contract()
    top = result["sources"][0]
    assert top["path"] == "img/reset.png"
    assert top["heading"] == "공유기 안내 › 초기화 › 공유기 초기화 안내 그림"
    assert "15초" in result["answer"]


@pytest.mark.skipif(not ocr.available("auto"), reason="Tesseract (tesseract-ocr) or pytesseract not installed")
def test_a_linked_picture_is_kept_while_linked_and_deleted_when_no_page_links_to_it(tmp_path):
    """A picture is found only through the page that shows it. Running again with nothing
    changed must change nothing: it used to be deleted as gone and read again by OCR on
    every run, publishing a new generation each time."""
    manuals = image_manuals(tmp_path / "manuals")
    settings = make_settings(tmp_path / "storage", ocr="auto")
    assert ingest([manuals], settings, progress=False).attachments.ocr_pages == 1
    again = ingest([manuals], settings, progress=False)
    assert again.files.deleted == 0 and again.attachments.added == 0 and again.attachments.ocr_pages == 0
    assert again.chunks.added == 0 and again.chunks.deleted == 0

    (manuals / "router.html").write_text(IMAGE_PAGE.replace('<img src="img/reset.png" alt="공유기 초기화 안내 그림">', ""),
                                         encoding="utf-8")
    unlinked = ingest([manuals], settings, progress=False)
    assert unlinked.deleted_paths == ["img/reset.png"]
    from core.store import get_storage, open_collection

    _, collection = open_collection(get_storage(settings).index_dir(), settings, "usem3", create=False)
    assert not collection.get(where={record.PATH: "img/reset.png"})["ids"]
    assert collection.get(where={record.PATH: "router.html"})["ids"]
