"""A Decree 61/2018 slip as a PDF, the same file wherever it is made: by submission when the applicant or an
officer opens it in the portal, and by notification when it is attached to the email that announces it.

Both build a `SlipDocument` from what they know (the dossier's history; the event that announced the move) and
render it here, so the emailed slip and the portal's are byte for byte the same file: the slip's own time is the
PDF's creation date, and nothing else varies. The text is Vietnamese: the font is a TrueType font with its
glyphs (DejaVu Serif from Debian's fonts-dejavu-core by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from pydantic import BaseModel, Field

VIETNAM = timezone(timedelta(hours=7), "ICT")


class SlipKind(StrEnum):
    RECEIPT = "receipt"  # phiếu tiếp nhận hồ sơ và hẹn trả kết quả
    SUPPLEMENT_REQUEST = "supplement_request"  # phiếu yêu cầu bổ sung, hoàn thiện hồ sơ
    REFUSAL = "refusal"  # phiếu từ chối tiếp nhận, giải quyết hồ sơ
    APOLOGY = "apology"  # phiếu xin lỗi và hẹn lại ngày trả kết quả


TITLES: dict[SlipKind, tuple[str, str]] = {
    SlipKind.RECEIPT: ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "Receipt and appointment slip"),
    SlipKind.SUPPLEMENT_REQUEST: ("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ", "Request to supplement the dossier"),
    SlipKind.REFUSAL: ("Phiếu từ chối tiếp nhận, giải quyết hồ sơ", "Refusal of the dossier"),
    SlipKind.APOLOGY: ("Phiếu xin lỗi và hẹn lại ngày trả kết quả", "Apology and new appointment"),
}

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
        """At start-up: a missing font would fail the first person who opens (or is sent) a slip instead."""
        for path in (self.regular, self.bold):
            if not path.is_file():
                raise RuntimeError(f"slip font not found: {path} (install fonts-dejavu-core or set SLIP_FONT_FILE)")


class SlipTypeface(BaseModel):
    """Settings of the services that render slips (mixed into their Settings): the typeface, regular and bold."""

    slip_font_file: str = Field(
        default="/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", description="a TrueType font with Vietnamese"
    )
    slip_bold_font_file: str = Field(default="/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf")

    def slip_fonts(self) -> Fonts:
        return Fonts(Path(self.slip_font_file), Path(self.slip_bold_font_file))


@dataclass(frozen=True)
class SlipDocument:
    """Everything a slip prints."""

    kind: SlipKind
    issued_at: datetime
    tracking_code: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    submitted_at: datetime | None
    text: str  # what the officer wrote: the reasons, the comment
    due_date: date | None
    previous_due_date: date | None = None
    items: list[str] = field(default_factory=list)  # a supplement request: every missing item
    supply_by: date | None = None

    @property
    def title(self) -> str:
        return TITLES[self.kind][0]

    @property
    def title_en(self) -> str:
        return TITLES[self.kind][1]

    def filename(self) -> str:
        return f"{self.kind.value}-{self.tracking_code}.pdf"


def render(slip: SlipDocument, fonts: Fonts, public_base_url: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(slip.issued_at.astimezone(UTC))  # one spelling of UTC, whoever read the time
    pdf.set_title(f"{slip.title} — {slip.tracking_code}")
    pdf.set_author(slip.agency_code)
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
    line(slip.agency_code, size=11, gap=6)
    line(slip.title.upper(), size=14, bold=True, align="C", gap=1)
    line(slip.title_en, size=10, align="C", gap=6)
    issued = slip.issued_at.astimezone(VIETNAM)
    submitted = slip.submitted_at.astimezone(VIETNAM).strftime("%H:%M ngày %d/%m/%Y") if slip.submitted_at else ""
    facts = [
        ("Mã hồ sơ", slip.tracking_code),
        ("Thủ tục", f"{slip.procedure_name} ({slip.procedure_code})"),
        ("Ngày nộp", submitted),
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
    line(f"Tra cứu tình trạng hồ sơ: {public_base_url.rstrip('/')}/lookup/{slip.tracking_code}", size=10)
    line("Phiếu được lập trên Cổng dịch vụ công trực tuyến Một Cửa.", size=10)
    return bytes(pdf.output())
