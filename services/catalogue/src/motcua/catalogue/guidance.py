"""What a procedure's page tells the applicant beyond the form, as dichvucong.gov.vn does: the steps
(trình tự thực hiện), the result and how and where it is received, the form templates (tờ khai), the
legal texts with their addresses, and each fee with when it applies.

Every part is optional (an admin's new procedure may leave them out) and bilingual like the rest of
the catalogue: Vietnamese in `x`, English in `x_en`. Pure: pydantic models, no I/O.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
TemplateCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
# https only, no credentials, no spaces: the portal shows these as links
HttpsUrl = Annotated[
    str,
    StringConstraints(
        max_length=500, pattern=r"^https://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][^\s@]*)?$"
    ),
]
# in person at the desk that received the dossier, by public postal service, or as an electronic copy online
DeliveryMethod = Literal["in_person", "post", "online"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Step(_Part):
    """One step of the procedure, in order (trình tự thực hiện)."""

    text: Text
    text_en: Text


class ResultDelivery(_Part):
    """What the applicant receives, and how and where (kết quả thực hiện, cách thức nhận)."""

    document: Short = Field(description="the result, e.g. Giấy khai sinh (bản chính)")
    document_en: Short
    methods: list[DeliveryMethod] = Field(min_length=1, max_length=3)
    place: Note = Field(default="", description="where it is collected in person")
    place_en: Note = ""
    instructions: Note = Field(default="", description="what to bring or do to collect it")
    instructions_en: Note = ""


class FormTemplate(_Part):
    """A form of the law the applicant fills (tờ khai, đơn), with its official code and a copy when there is one."""

    name: Short
    name_en: Short
    code: TemplateCode | None = Field(default=None, description="the form's number, e.g. Mẫu CT01")
    url: HttpsUrl | None = None


class LegalLink(_Part):
    """A legal text the procedure rests on, with the address of its full text."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    title_en: Note = ""
    url: HttpsUrl | None = None


class FeeRule(_Part):
    """One fee or charge and when it applies; `amount_vnd` null when the province sets it (the condition says)."""

    name: Short = Field(description="e.g. Lệ phí đăng ký khai sinh quá hạn")
    name_en: Short
    amount_vnd: int | None = Field(default=None, ge=0, le=1_000_000_000)
    condition: Note = Field(default="", description="when it applies, or who is exempt")
    condition_en: Note = ""
