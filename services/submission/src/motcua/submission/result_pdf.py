"""The result document as a PDF, before it is signed: the procedure's generic template, or the officer's
upload with a verification page added; both carry the verification code and its QR code (segno).

fpdf2 typesets it (already what the slips use: pure Python, embeds a TrueType subset, so Vietnamese reads
correctly in DejaVu Serif; reportlab would do too, weasyprint needs Pango and a browser-grade CSS engine for
a one-page form). The bottom right of the last page is left free for the signature's visible stamp.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from motcua.common.errors import InvalidInput
from motcua.submission import results
from motcua.submission.due_dates import VIETNAM
from motcua.submission.model import Application, Procedure
from motcua.submission.slip_pdf import Fonts
from pypdf import PdfReader, PdfWriter

QR_MM = 34.0
FOOTER_MM = 62.0  # the QR, the code and the signature's stamp


@dataclass(frozen=True)
class Issue:
    """What is printed about the issue itself."""

    verification_code: str
    issued_at: datetime
    public_base_url: str

    @property
    def url(self) -> str:
        return results.verification_url(self.public_base_url, self.verification_code)


def qr_png(url: str) -> bytes:
    """The QR code of `url` (error correction M, quiet zone of 4 modules) as a PNG."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="png", scale=8, border=4)
    return out.getvalue()


def _document(issue: Issue, app: Application, fonts: Fonts, title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(issue.issued_at)
    pdf.set_title(f"{title} — {app.tracking_code}")
    pdf.set_author(app.agency_code)
    pdf.add_font("result", "", str(fonts.regular))
    pdf.add_font("result", "B", str(fonts.bold))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    return pdf


def _line(pdf: FPDF, text: str, *, size: float = 12, bold: bool = False, align: str = "L", gap: float = 1.5) -> None:
    pdf.set_font("result", "B" if bold else "", size)
    pdf.multi_cell(pdf.w - pdf.l_margin - pdf.r_margin, 6.2, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(gap)


def _footer(pdf: FPDF, issue: Issue) -> None:
    """The QR code and the code at the bottom left of the current page; the stamp goes bottom right."""
    if pdf.get_y() > pdf.h - FOOTER_MM - 4:
        pdf.add_page()
    top = pdf.h - FOOTER_MM + 4
    pdf.image(io.BytesIO(qr_png(issue.url)), x=pdf.l_margin, y=top, w=QR_MM, h=QR_MM)
    pdf.set_xy(pdf.l_margin + QR_MM + 4, top + 2)
    pdf.set_font("result", "B", 10)
    pdf.cell(0, 5, "Mã xác thực / Verification code", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("result", "B", 13)
    pdf.cell(0, 7, results.display(issue.verification_code), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("result", "", 8)
    pdf.multi_cell(54, 4, f"Quét mã QR hoặc truy cập / Scan or visit:\n{issue.url}", new_x=XPos.LEFT, new_y=YPos.NEXT)


def _label(schema: dict[str, Any], key: str) -> str:
    prop = schema.get("properties", {}).get(key, {})
    title = prop.get("title") if isinstance(prop, dict) else None
    return str(title) if title else key.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return str(value)


def render_template(app: Application, procedure: Procedure, issue: Issue, fonts: Fonts) -> bytes:
    """The generic result: the national heading, the agency, the decision, the dossier and its form (what
    the applicant declared, as approved), the date, and the verification code with its QR code."""
    title = "Kết quả giải quyết thủ tục hành chính"
    pdf = _document(issue, app, fonts, title)
    pdf.add_page()
    _line(pdf, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, align="C", gap=0)
    _line(pdf, "Độc lập - Tự do - Hạnh phúc", bold=True, align="C", gap=6)
    _line(pdf, f"Cơ quan giải quyết: {app.agency_code}", size=11, gap=6)
    _line(pdf, title.upper(), size=15, bold=True, align="C", gap=1)
    _line(pdf, "Result of an administrative procedure", size=10, align="C", gap=3)
    _line(pdf, app.procedure_name, size=13, bold=True, align="C", gap=0)
    if app.procedure_name_en:
        _line(pdf, app.procedure_name_en, size=10, align="C", gap=5)
    issued = issue.issued_at.astimezone(VIETNAM)
    _line(
        pdf,
        f"Cơ quan {app.agency_code} xác nhận hồ sơ dưới đây đã được giải quyết và phê duyệt "
        f"theo thủ tục {app.procedure_name} ({app.procedure_code}).",
        gap=3,
    )
    facts = [
        ("Mã hồ sơ", app.tracking_code or ""),
        ("Thủ tục", f"{app.procedure_code} (phiên bản {app.procedure_version})"),
        ("Ngày nộp", app.submitted_at.astimezone(VIETNAM).strftime("%d/%m/%Y") if app.submitted_at else ""),
        ("Ngày cấp", issued.strftime("%H:%M ngày %d/%m/%Y")),
    ]
    for label, value in facts:
        _line(pdf, f"{label}: {value}", gap=0.5)
    if app.data:
        pdf.ln(3)
        _line(pdf, "Nội dung hồ sơ (người nộp kê khai):", bold=True, gap=1)
        for key, value in app.data.items():
            _line(pdf, f"{_label(procedure.form_schema, key)}: {_value(value)}", size=11, gap=0.3)
    pdf.ln(4)
    _line(pdf, "Văn bản điện tử có chữ ký số của cơ quan; đối chiếu tại địa chỉ xác thực dưới đây.", size=9)
    _footer(pdf, issue)
    return bytes(pdf.output())


def with_verification_page(uploaded: bytes, app: Application, issue: Issue, fonts: Fonts) -> bytes:
    """The officer's PDF with one page added: the dossier, the verification code and its QR code (the
    signature's stamp goes on that page, so the agency's own layout is left untouched)."""
    title = "Trang xác thực kết quả"
    pdf = _document(issue, app, fonts, title)
    pdf.add_page()
    _line(pdf, title.upper(), size=14, bold=True, align="C", gap=1)
    _line(pdf, "Verification page of the result", size=10, align="C", gap=6)
    _line(pdf, f"Cơ quan: {app.agency_code}", gap=0.5)
    _line(pdf, f"Thủ tục: {app.procedure_name} ({app.procedure_code})", gap=0.5)
    _line(pdf, f"Mã hồ sơ: {app.tracking_code or ''}", gap=0.5)
    _line(pdf, f"Ngày cấp: {issue.issued_at.astimezone(VIETNAM):%H:%M ngày %d/%m/%Y}", gap=4)
    _line(pdf, "Các trang trước là kết quả do cơ quan ban hành; toàn bộ văn bản được ký số.", size=10)
    _footer(pdf, issue)
    writer = PdfWriter()
    try:
        reader = PdfReader(io.BytesIO(uploaded))
        if reader.is_encrypted:
            raise InvalidInput.one("/file", "the PDF is encrypted: upload it without a password")
        writer.append(reader)
    except InvalidInput:
        raise
    except Exception as exc:  # pypdf raises many kinds on a broken file; none is the server's fault
        raise InvalidInput.one("/file", "the PDF cannot be read") from exc
    writer.append(PdfReader(io.BytesIO(bytes(pdf.output()))))
    writer.add_metadata({"/Title": f"{app.procedure_name} — {app.tracking_code}"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
