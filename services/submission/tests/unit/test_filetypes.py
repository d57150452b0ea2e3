from typing import Any

import pytest
from motcua.submission.filetypes import sniff

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (PNG, "image/png"),
    ],
)
def test_accepted_types_are_known_by_their_first_bytes(head: Any, mime: Any) -> None:
    assert sniff(head + b"\x00" * 100) == mime


@pytest.mark.parametrize(
    "head",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100,  # a Windows executable
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100,
        b"#!/bin/sh\nrm -rf /\n",
        b"",
        b" %PDF-1.4 not at the start",
    ],
)
def test_anything_else_is_not_a_pdf_or_an_image(head: Any) -> None:
    assert sniff(head) not in {"application/pdf", "image/jpeg", "image/png"}
