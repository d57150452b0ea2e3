"""The envelope of secrets inside events: the newest key seals, every listed key opens, nothing moves."""

from __future__ import annotations

import base64
import os

import pytest
from motcua.common.sealing import DEVELOPMENT_KID, EventSealer, SealedText, UnreadableSecret, parse_keys


def pair(kid: str) -> str:
    return f"{kid}:{base64.b64encode(os.urandom(32)).decode()}"


OLD, NEW = pair("2026-11"), pair("2026-12")


def test_the_newest_key_seals_and_an_older_listed_key_still_opens() -> None:
    before = EventSealer.configured(OLD).seal("482913", purpose="code", owner="acc-1")
    rotated = EventSealer.configured(f"{NEW}, {OLD}")
    assert rotated.open(before, purpose="code", owner="acc-1") == "482913"
    after = rotated.seal("482913", purpose="code", owner="acc-1")
    assert after.kid == "2026-12"
    assert "482913" not in after.model_dump_json()


def test_a_sealed_secret_opens_only_for_its_purpose_and_owner_and_with_its_key() -> None:
    sealer = EventSealer.configured(NEW)
    sealed = sealer.seal("https://x/reset?token=t", purpose="reset_url", owner="acc-1")
    with pytest.raises(UnreadableSecret):
        sealer.open(sealed, purpose="verification_url", owner="acc-1")
    with pytest.raises(UnreadableSecret):
        sealer.open(sealed, purpose="reset_url", owner="acc-2")
    with pytest.raises(UnreadableSecret) as unknown:
        EventSealer.configured(OLD).open(sealed, purpose="reset_url", owner="acc-1")
    assert unknown.value.kid == "2026-12"
    altered = SealedText(kid=sealed.kid, nonce=sealed.nonce, ciphertext=sealed.ciphertext[:-2] + "AA")
    with pytest.raises(UnreadableSecret):
        sealer.open(altered, purpose="reset_url", owner="acc-1")


def test_a_plain_string_is_an_event_written_before_sealing_began() -> None:
    assert EventSealer.configured("").open("123456", purpose="code", owner="acc-1") == "123456"
    assert EventSealer.configured("").current_kid == DEVELOPMENT_KID


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("just-a-key", "entry 1 is not kid:base64key"),
        ("k1:@@@@@@@@", "entry 1 \\(k1\\) is not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "5 bytes"),
        (f"{OLD},{OLD}", "listed twice"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(setting: str, says: str) -> None:
    with pytest.raises(ValueError, match=says) as refused:
        parse_keys(setting)
    key = setting.partition(":")[2].partition(",")[0]
    assert not key or key not in str(refused.value)
