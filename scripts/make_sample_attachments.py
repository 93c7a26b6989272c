"""Writes the sample manuals' attachments (data/manuals/forms/) as real documents.

Every fact in these files appears only here, never in the HTML pages that link to them,
so `data/eval/attachment_questions.jsonl` measures whether answers come from inside the
attachments. Run it again after editing the facts below; the files are committed.

Writers: fpdf2 with the NanumGothic TTF (Debian `fonts-nanum`): it embeds a font subset
with a ToUnicode map, so the PDFs have a real Korean text layer (checked at the end with
pypdfium2). XlsxWriter, because it stores a formula together with its computed value, as
Excel does when it saves (openpyxl writes formulas without values, which no reader can show).
python-docx and python-pptx; Pillow draws `img/router_reset.png`, a picture whose text
only OCR can read. python-hwpx writes both the HWPX (OWPML) package and the
HWP 5 binary (`transfer_form.hwp`).

    python scripts/make_sample_attachments.py [--out data/manuals/forms]
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
FONT_BOLD = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
FIXED = dt.datetime(2026, 2, 1, 9, 0, 0)


# ---------------------------------------------------------------- XLSX: price sheet
def price_sheet(path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": "2026년 한빛텔레콤 요금표", "created": FIXED})
    head = book.add_format({"bold": True, "align": "center", "bg_color": "#DDEBF7", "border": 1})
    title = book.add_format({"bold": True, "font_size": 14})
    won = book.add_format({"num_format": '#,##0"원"', "border": 1})
    text = book.add_format({"border": 1})

    sheet = book.add_worksheet("모바일 요금제")
    sheet.merge_range("A1:F1", "2026년 모바일 요금표 (부가세 포함)", title)
    sheet.merge_range("A2:A3", "요금제", head)
    sheet.merge_range("B2:C2", "월 요금", head)
    sheet.write("B3", "정상가", head)
    sheet.write("C3", "선택약정 25% 할인 후", head)
    sheet.merge_range("D2:D3", "데이터", head)
    sheet.merge_range("E2:E3", "가족 데이터 쉐어링", head)
    sheet.merge_range("F2:F3", "출시일", head)
    plans = [
        ("5G 라이트", 39000, "5GB", "제공 안 함", "2026-04-01"),
        ("5G 슬림", 49000, "8GB", "제공 안 함", "2024-03-01"),
        ("5G 스탠다드", 69000, "110GB", "월 20GB", "2024-03-01"),
        ("5G 무제한", 89000, "무제한", "월 40GB", "2024-03-01"),
        ("LTE 세이브", 29000, "2.5GB", "제공 안 함", "2022-07-01"),
    ]
    for i, (name, fee, data, share, launched) in enumerate(plans):
        row = 3 + i
        sheet.write(row, 0, name, text)
        sheet.write_number(row, 1, fee, won)
        sheet.write_formula(row, 2, f"=B{row + 1}*0.75", won, fee * 0.75)
        sheet.write(row, 3, data, text)
        sheet.write(row, 4, share, text)
        sheet.write(row, 5, launched, text)
    sheet.set_column("A:F", 18)

    sheet = book.add_worksheet("단말기")
    sheet.merge_range("A1:E1", "2026년 2월 단말기 가격표 (공시지원금 기준일 2026-02-01)", title)
    for col, label in enumerate(["모델", "출고가", "공시지원금", "할부원금", "24개월 월 할부금"]):
        sheet.write(1, col, label, head)
    phones = [("한빛폰 S26", 1155000, 500000), ("한빛폰 A17", 495000, 300000), ("한빛 키즈폰 2", 330000, 200000),
              ("한빛폰 폴드 3", 2090000, 650000)]
    for i, (model, price, subsidy) in enumerate(phones):
        row = 2 + i
        sheet.write(row, 0, model, text)
        sheet.write_number(row, 1, price, won)
        sheet.write_number(row, 2, subsidy, won)
        sheet.write_formula(row, 3, f"=B{row + 1}-C{row + 1}", won, price - subsidy)
        sheet.write_formula(row, 4, f"=ROUND(D{row + 1}/24,0)", won, round((price - subsidy) / 24))
    sheet.set_column("A:E", 18)

    sheet = book.add_worksheet("부가서비스")
    for col, label in enumerate(["서비스", "월 요금", "내용"]):
        sheet.write(0, col, label, head)
    extras = [
        ("휴대폰 분실보험 플러스", 5900, "분실·파손 시 최대 120만 원 보상, 자기부담금 손해액의 25%"),
        ("통화연결음", 3300, "매월 음원 5곡까지 무료 교체"),
        ("스팸 차단 프리미엄", 1100, "AI 스팸 필터와 해외 발신 번호 자동 차단"),
        ("데이터 안심 차단", 0, "기본 데이터 소진 시 추가 과금 없이 데이터 차단, 무료"),
    ]
    for i, (name, fee, what) in enumerate(extras):
        sheet.write(1 + i, 0, name, text)
        sheet.write_number(1 + i, 1, fee, won)
        sheet.write(1 + i, 2, what, text)
    sheet.set_column("A:A", 22)
    sheet.set_column("C:C", 50)
    book.close()


# ---------------------------------------------------------------- PDFs
def _pdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED)
    pdf.add_font("Nanum", "", str(FONT))
    pdf.add_font("Nanum", "B", str(FONT_BOLD))
    pdf.set_auto_page_break(True, margin=18)
    return pdf


def _para(pdf, text: str, size: int = 10.5, style: str = "") -> None:
    pdf.set_font("Nanum", style, size)
    pdf.multi_cell(0, 6.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _table(pdf, rows: list[list[str]], widths: list[int]) -> None:
    pdf.set_font("Nanum", "", 9.5)
    from fpdf.fonts import FontFace

    with pdf.table(col_widths=widths, text_align="LEFT", line_height=6.5,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(221, 235, 247))) as table:
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(3)


def terms_pdf(path: Path) -> None:
    pdf = _pdf()
    pdf.set_title("한빛텔레콤 이동전화 이용약관 (발췌) 2026")
    pdf.add_page()
    _para(pdf, "한빛텔레콤 이동전화 서비스 이용약관 (발췌)", 16, "B")
    _para(pdf, "시행일: 2026년 3월 1일 · 약관 번호 TOS-MOB-2026-03")
    pdf.start_section("제1장 총칙")  # the PDF outline (bookmarks): readers' heading path
    _para(pdf, "제1장 총칙", 13, "B")
    _para(pdf, "제1조 (목적) 이 약관은 한빛텔레콤(이하 '회사')이 제공하는 이동전화 서비스의 이용 조건과 절차, "
               "회사와 고객의 권리와 의무를 정합니다.")
    _para(pdf, "제2조 (약관의 변경) 회사는 약관을 변경할 때 시행일 30일 전까지 홈페이지와 문자 메시지로 알립니다. "
               "고객에게 불리한 변경은 시행일 45일 전까지 알리며, 고객은 변경 내용에 동의하지 않으면 위약금 없이 "
               "계약을 해지할 수 있습니다.")
    _para(pdf, "제3조 (이용 계약의 성립) 이용 계약은 고객이 가입 신청서를 제출하고 회사가 이를 승낙한 때 성립합니다. "
               "만 14세 미만 고객은 법정대리인의 동의서가 있어야 가입할 수 있습니다.")
    pdf.add_page()
    pdf.start_section("제2장 요금의 청구와 납부")  # the PDF outline (bookmarks): readers' heading path
    _para(pdf, "제2장 요금의 청구와 납부", 13, "B")
    _para(pdf, "제11조 (요금의 청구) 회사는 매월 1일부터 말일까지 사용한 요금을 다음 달 12일에 청구합니다. "
               "요금 명세서는 고객이 선택한 방법(모바일 명세서, 이메일, 우편)으로 보내며, 우편 명세서는 "
               "한 통에 1,000원의 발송 수수료가 부과됩니다.")
    _para(pdf, "제12조 (납부 기한과 연체) 납부 기한은 청구월의 25일입니다. 납부 기한까지 내지 않은 요금에는 "
               "미납 금액의 2%에 해당하는 연체 가산금이 한 번 부과됩니다.")
    _para(pdf, "미납 기간에 따른 조치는 다음 표와 같습니다.")
    _table(pdf, [["미납 기간", "회사의 조치"],
                 ["1개월", "납부 안내 문자 발송"],
                 ["2개월", "발신 정지 (수신과 긴급 통화는 가능)"],
                 ["3개월", "착발신 정지"],
                 ["4개월 이상", "직권 해지 및 채권 추심 위탁"]], [40, 130])
    pdf.add_page()
    pdf.start_section("제3장 손해배상")  # the PDF outline (bookmarks): readers' heading path
    _para(pdf, "제3장 손해배상", 13, "B")
    _para(pdf, "제20조 (서비스 장애에 대한 배상) 회사의 책임으로 서비스를 이용하지 못한 경우, 고객이 장애 사실을 "
               "안 날부터 3개월 안에 청구하면 아래 기준에 따라 배상합니다.")
    _table(pdf, [["장애 유형", "배상 기준", "배상 금액"],
                 ["연속 장애", "연속 3시간 이상", "장애 시간 요금의 8배"],
                 ["누적 장애", "한 달 누적 6시간 이상", "장애 시간 요금의 6배"],
                 ["데이터 속도 저하", "기준 속도의 50% 미만 1시간 이상", "해당 일 데이터 요금 전액"]], [45, 65, 60])
    _para(pdf, "제21조 (배상하지 않는 경우) 천재지변, 고객의 단말기 고장, 회사가 미리 알린 정기 점검(매월 "
               "셋째 주 화요일 새벽 2시부터 4시까지)으로 인한 장애는 배상하지 않습니다.")
    pdf.add_page()
    pdf.start_section("제4장 개인정보와 분쟁 해결")  # the PDF outline (bookmarks): readers' heading path
    _para(pdf, "제4장 개인정보와 분쟁 해결", 13, "B")
    _para(pdf, "제30조 (해지 후 개인정보 보관) 회사는 계약이 끝난 뒤 요금 정산을 위해 고객의 개인정보를 "
               "6개월 동안 보관하고, 그 뒤 지체 없이 파기합니다. 다만 미납 요금이 있으면 완납할 때까지 보관합니다.")
    _para(pdf, "제31조 (분쟁 해결) 요금이나 서비스에 관한 분쟁이 고객센터에서 30일 안에 해결되지 않으면 고객은 "
               "통신분쟁조정위원회에 조정을 신청할 수 있습니다.")
    pdf.output(str(path))


def cancellation_pdf(path: Path) -> None:
    pdf = _pdf()
    pdf.set_title("서비스 해지 신청서")
    pdf.add_page()
    _para(pdf, "한빛텔레콤 서비스 해지 신청서", 16, "B")
    _para(pdf, "서식 번호 FORM-CXL-07 · 2026년 개정")
    _table(pdf, [["항목", "기재 내용"],
                 ["해지 서비스", "인터넷 / IPTV / 모바일 (해당 항목에 표시)"],
                 ["해지 희망일", "신청일로부터 최대 30일 이후까지 지정 가능"],
                 ["환불 계좌", "명의자 본인 계좌만 가능"],
                 ["장비 반납", "해지일로부터 14일 이내, 반납하지 않으면 모뎀 분실료 50,000원 청구"]], [45, 125])
    _para(pdf, "작성 안내", 12, "B")
    _para(pdf, "1. 신청서는 명의자가 직접 서명해야 하며, 서명이 없는 신청서는 접수하지 않습니다.")
    _para(pdf, "2. 해지 신청서 원본은 접수 매장에서 5년 동안 보관합니다.")
    _para(pdf, "3. 해지 후 남은 선납 요금은 해지일로부터 7영업일 안에 환불 계좌로 입금됩니다.")
    pdf.output(str(path))


def ownership_pdf(path: Path) -> None:
    pdf = _pdf()
    pdf.set_title("명의변경 신청서")
    pdf.add_page()
    _para(pdf, "명의변경 신청서", 16, "B")
    _para(pdf, "서식 번호 FORM-OWN-03")
    _table(pdf, [["구분", "기재 항목"],
                 ["양도인", "성명, 생년월일, 서비스 번호, 서명"],
                 ["양수인", "성명, 생년월일, 연락처, 요금 납부 방법, 서명"],
                 ["승계 동의", "잔여 약정과 단말기 할부금 승계에 대한 양수인의 동의"]], [40, 130])
    _para(pdf, "접수 매장은 신청서를 스캔한 뒤 원본을 3년 동안 보관합니다. 신청서의 정정은 두 줄을 긋고 "
               "정정한 사람이 서명한 경우에만 인정됩니다.")
    pdf.output(str(path))


# ---------------------------------------------------------------- DOCX (English)
def activation_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Travel SIM activation procedure for counter staff"
    document.core_properties.created = FIXED
    document.add_heading("Travel SIM activation procedure for counter staff", 0)
    document.add_paragraph("Procedure PRD-TRV-11, revised February 2026. For staff at the airport roaming counters.")
    document.add_heading("Activating a Travel SIM", 1)
    steps = [
        "Check that the passport is valid for at least 30 more days; a passport expiring sooner cannot be registered.",
        "Scan the passport's photo page in the TravelDesk counter system and confirm the name matches the order.",
        "Insert the SIM card, restart the phone and dial *7788# to activate the line.",
        "Wait for the activation text message, which usually arrives within 5 minutes.",
        "Hand over the receipt with the Korean phone number printed on it.",
    ]
    for step in steps:
        document.add_paragraph(step, style="List Number")
    document.add_heading("Data top-up vouchers", 1)
    document.add_paragraph("Counter staff can sell these vouchers in addition to the app top-ups.")
    table = document.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, ["Voucher", "Price", "Extra data"]):
        cell.text = label
    for voucher, price, data in [("Data Boost S", "KRW 5,500", "1 GB for 3 days"),
                                 ("Data Boost M", "KRW 11,000", "3 GB for 7 days"),
                                 ("Data Boost L", "KRW 19,800", "7 GB for 15 days")]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text = voucher, price, data
    document.add_heading("Lost or damaged Travel SIM", 1)
    document.add_paragraph("A lost or damaged Travel SIM is replaced for a fee of KRW 7,700 and keeps the same phone "
                           "number and the remaining validity. A replacement is only possible while the plan is still "
                           "valid and only at the airport counters, never by courier.")
    document.add_heading("Unused eSIM QR codes", 1)
    document.add_paragraph("An eSIM QR code that was never scanned expires 30 days after it was issued. After it "
                           "expires, the customer must buy a new eSIM; the expired one is refunded minus a "
                           "processing fee of KRW 3,300.")
    document.save(str(path))


# ---------------------------------------------------------------- PPTX (briefing)
def campaign_pptx(path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.core_properties.title = "2026 봄 가족결합 캠페인 브리핑"
    deck.core_properties.created = FIXED
    slide = deck.slides.add_slide(deck.slide_layouts[0])
    slide.shapes.title.text = "2026 봄 가족결합 캠페인 브리핑"
    slide.placeholders[1].text = "영업기획팀 · 상담원 교육 자료 · 캠페인 코드 SPRING26"

    def bullets(title: str, lines: list[str], notes: str = "") -> None:
        s = deck.slides.add_slide(deck.slide_layouts[1])
        s.shapes.title.text = title
        frame = s.placeholders[1].text_frame
        frame.text = lines[0]
        for line in lines[1:]:
            p = frame.add_paragraph()
            p.text = line.lstrip("-")
            p.level = 1 if line.startswith("-") else 0
        if notes:
            s.notes_slide.notes_text_frame.text = notes

    bullets("캠페인 개요", ["기간: 2026년 3월 2일부터 4월 30일까지",
                        "대상: 캠페인 기간에 가족결합을 새로 신청한 고객",
                        "-기존 결합 고객이 회선을 추가하는 경우도 포함",
                        "신청 채널: 매장과 고객센터 (온라인 신청은 제외)"],
            notes="고객이 캠페인 코드를 말하지 않아도 기간 안에 신청하면 자동 적용됩니다.")
    s = deck.slides.add_slide(deck.slide_layouts[5])
    s.shapes.title.text = "결합 회선 수별 추가 혜택"
    rows = [["결합 회선 수", "추가 월 할인", "사은품"],
            ["2회선", "3,000원", "무선 충전기"],
            ["3회선", "5,000원", "블루투스 스피커"],
            ["4회선 이상", "8,000원", "로봇 청소기"]]
    shape = s.shapes.add_table(len(rows), 3, Inches(0.6), Inches(1.8), Inches(8.8), Inches(2.4))
    for r, cells in enumerate(rows):
        for c, value in enumerate(cells):
            shape.table.cell(r, c).text = value
            shape.table.cell(r, c).text_frame.paragraphs[0].runs[0].font.size = Pt(16)
    bullets("유의 사항", ["추가 월 할인은 결합 후 12개월 동안 적용됩니다",
                      "12개월 안에 결합을 해제하면 사은품 반환금 30,000원을 청구합니다",
                      "법인 회선은 캠페인 대상이 아닙니다"])
    bullets("기존 결합 할인과 비교", ["기존 패밀리 결합 할인은 그대로 유지되고, 캠페인 할인은 그 위에 더해집니다",
                                "캠페인 할인은 결합 대표 회선의 요금에서 한 번만 차감됩니다",
                                "지난 캠페인(2025 가을)은 추가 할인이 최대 5,000원이었습니다"])
    deck.save(str(path))


# ---------------------------------------------------------------- HWPX / HWP (python-hwpx)
def _hwp_document(title: str, paragraphs: list[str], rows: list[list[str]], after: list[str]):
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    document.paragraphs[0].text = title
    for text in paragraphs:
        document.add_paragraph(text)
    table = document.add_table(len(rows), len(rows[0]))
    for r, cells in enumerate(rows):
        for c, value in enumerate(cells):
            table.set_cell_text(r, c, value)
    for text in after:
        document.add_paragraph(text)
    return document


def transfer_hwp(path: Path) -> None:
    document = _hwp_document(
        "양도·양수 동의서",
        ["같은 세대 가족 사이의 명의 변경에서 양도인의 방문을 대신하는 동의서입니다.",
         "이 동의서의 유효기간은 작성일로부터 14일이며, 기간이 지나면 새로 작성해야 합니다."],
        [["승계 항목", "승계 여부"], ["미납 요금", "양수인에게 승계됨"], ["잔여 약정 기간", "양수인에게 승계됨"],
         ["멤버십 포인트", "승계되지 않고 소멸"], ["데이터 쿠폰", "승계되지 않음"]],
        ["동의서에는 양도인의 휴대폰 본인 인증 확인 번호(6자리)를 반드시 적어야 합니다."])
    document.save_to_path(str(path))


def checklist_hwpx(path: Path) -> None:
    document = _hwp_document(
        "명의변경 상담 체크리스트",
        ["상담원은 명의변경 접수 전에 아래 항목을 차례로 확인합니다.",
         "외국인 양수인은 여권이 아니라 외국인등록증으로만 본인 확인을 합니다."],
        [["확인 항목", "기준"], ["양수인 나이", "만 19세 이상 (미성년자는 법정대리인 동의서 필요)"],
         ["회선 수 제한", "양수인 명의 모바일 회선은 최대 5회선"],
         ["법인 양수 심사", "영업일 기준 2일, 심사 결과는 담당자 이메일로 통보"],
         ["접수 가능 시간", "매장 영업 종료 1시간 전까지"]],
        ["체크리스트는 상담 기록에 첨부하고 1년 동안 보관합니다."])
    document.save_to_path(str(path))


# ---------------------------------------------------------------- an image with text (OCR)
def router_reset_png(path: Path) -> None:
    """A how-to picture whose words exist only as pixels: what OCR makes searchable."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1200, 520), "white")
    draw = ImageDraw.Draw(image)
    title = ImageFont.truetype(str(FONT_BOLD), 44)
    body = ImageFont.truetype(str(FONT), 36)
    draw.text((50, 40), "공유기 초기화 방법", font=title, fill="black")
    lines = ["1. 공유기 뒷면의 RESET 버튼을 15초 이상 누릅니다.",
             "2. 전면의 SYS 표시등이 주황색으로 세 번 깜박이면 손을 뗍니다.",
             "3. 재부팅에는 약 3분이 걸립니다.",
             "초기 관리자 페이지 주소: 192.168.50.1"]
    for i, line in enumerate(lines):
        draw.text((50, 140 + i * 80), line, font=body, fill="black")
    image.save(path, optimize=True)


def main() -> None:
    import logging

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # "TSI* NOT subset": hinting tables fpdf2 drops
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "manuals" / "forms")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    writers = {
        "price_sheet_2026.xlsx": price_sheet,
        "service_terms_2026.pdf": terms_pdf,
        "cancellation_request.pdf": cancellation_pdf,
        "명의변경_신청서.pdf": ownership_pdf,
        "travel_sim_activation.docx": activation_docx,
        "campaign_2026_spring.pptx": campaign_pptx,
        "transfer_form.hwp": transfer_hwp,
        "ownership_checklist.hwpx": checklist_hwpx,
    }
    for name, write in writers.items():
        write(out / name)
        (out / name).chmod(0o644)
        print(f"wrote {out / name} ({(out / name).stat().st_size:,} bytes)")
    import pypdfium2 as pdfium

    images = out.parent / "img"
    images.mkdir(exist_ok=True)
    router_reset_png(images / "router_reset.png")
    print(f"wrote {images / 'router_reset.png'}")
    for name in [n for n in writers if n.endswith(".pdf")]:
        doc = pdfium.PdfDocument(str(out / name))
        text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        assert sum("\uac00" <= ch <= "\ud7a3" for ch in text) > 50, f"{name}: no Korean text layer"
        print(f"{name}: {len(doc)} page(s), Korean text layer OK")


if __name__ == "__main__":
    main()
