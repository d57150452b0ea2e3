"""What a file is, judged by its first bytes and never by its name or the type the browser claims."""

from __future__ import annotations

import puremagic

SNIFF_BYTES = 4096

# The types procedures accept today, by signature: checked first and exactly.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff(head: bytes) -> str | None:
    """The MIME type of a file starting with `head`, or None when it is not recognised."""
    for signature, mime in _SIGNATURES:
        if head.startswith(signature):
            return mime
    if not head:
        return None
    try:
        guess = puremagic.from_string(head, mime=True)
    except (puremagic.PureError, ValueError):
        return None
    return str(guess) or None
