"""A slip as a PDF: the national heading, the slip's title, the dossier, what the officer wrote, the date.

Rendered on demand from the slip (itself read from the history), with the slip's own time as the PDF's
creation date, so a slip opened twice is the same file byte for byte. The text is Vietnamese: the font
is a TrueType font with its glyphs (DejaVu Serif from Debian's fonts-dejavu-core by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from motcua.submission.due_dates import VIETNAM
from motcua.submission.model import Application
from motcua.submission.slips import Slip, SlipKind

_WHAT_IT_SAYS = {
    SlipKind.RECEIPT: "Cơ quan đã tiếp nhận hồ sơ đầy đủ, hợp lệ và hẹn trả kết quả như dưới đây.",
    SlipKind.SUPPLEMENT_REQUEST: "Hồ sơ cần được bổ sung, hoàn thiện những nội dung sau (một lần, đầy đủ):",
    SlipKind.REFUSAL: "Cơ quan từ chối tiếp nhận, giải quyết hồ sơ vì những lý do sau:",
    SlipKind.APOLOGY: "Cơ quan xin lỗi vì chưa trả kết quả đúng hẹn, vì lý do sau, và hẹn lại ngày trả kết quả:",
}


@dataclass(frozen=True)
class Fonts:
    regular: Path
    bold: Path

    def check(self) -> None:
        """At start-up: a missing font would fail the first citizen who opens a slip instead."""
        for path in (self.regular, self.bold):
            if not path.is_file():
                raise RuntimeError(f"slip font not found: {path} (install fonts-dejavu-core or set SLIP_FONT_FILE)")


def render(slip: Slip, app: Application, fonts: Fonts, public_base_url: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(slip.issued_at)
    pdf.set_title(f"{slip.title} — {app.tracking_code}")
    pdf.set_author(app.agency_code)
    pdf.add_font("slip", "", str(fonts.regular))
    pdf.add_font("slip", "B", str(fonts.bold))
    pdf.set_margins(20, 18, 20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, *, size: float = 12, bold: bool = False, align: str = "L", gap: float = 1.5) -> None:
        pdf.set_font("slip", "B" if bold else "", size)
        pdf.multi_cell(width, 6.5, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align="C", gap=0)
    line("Độc lập - Tự do - Hạnh phúc", bold=True, align="C", gap=6)
    line(app.agency_code, size=11, gap=6)
    line(slip.title.upper(), size=14, bold=True, align="C", gap=1)
    line(slip.title_en, size=10, align="C", gap=6)
    issued = slip.issued_at.astimezone(VIETNAM)
    facts = [
        ("Mã hồ sơ", app.tracking_code or ""),
        ("Thủ tục", f"{app.procedure_name} ({app.procedure_code})"),
        ("Ngày nộp", app.submitted_at.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y") if app.submitted_at else ""),
        ("Ngày lập phiếu", issued.strftime("%H:%M ngày %d/%m/%Y")),
    ]
    for label, value in facts:
        line(f"{label}: {value}", gap=0.5)
    pdf.ln(4)
    line(_WHAT_IT_SAYS[slip.kind])
    if slip.items:
        for number, item in enumerate(slip.items, start=1):
            line(f"{number}. {item}", bold=True, gap=0.5)
        if slip.text and slip.items != [slip.text]:
            line(slip.text)
    elif slip.text:
        line(slip.text, bold=slip.kind != SlipKind.RECEIPT)
    if slip.supply_by is not None:
        line(f"Hạn bổ sung: {slip.supply_by:%d/%m/%Y}. Thời gian giải quyết tạm dừng cho đến khi nhận đủ.", bold=True)
    if slip.kind == SlipKind.APOLOGY and slip.previous_due_date is not None:
        line(f"Ngày hẹn trước: {slip.previous_due_date:%d/%m/%Y}")
    if slip.due_date is not None and slip.kind in (SlipKind.RECEIPT, SlipKind.APOLOGY):
        line(f"Ngày hẹn trả kết quả: {slip.due_date:%d/%m/%Y}", bold=True, size=13)
    pdf.ln(6)
    code = app.tracking_code or ""
    line(f"Tra cứu tình trạng hồ sơ: {public_base_url.rstrip('/')}/lookup/{code}", size=10)
    line("Phiếu được lập trên Cổng dịch vụ công trực tuyến Một Cửa.", size=10)
    return bytes(pdf.output())
