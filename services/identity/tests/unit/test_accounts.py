"""The domain's rules for account details and passwords, without any server."""

import asyncio

import pytest
from motcua.common.errors import InvalidInput
from motcua.identity.details import (
    normalise_email,
    normalise_phone,
    normalise_tax_code,
    person_name_problem,
    validate_registration,
)
from motcua.identity.model import roles_for
from motcua.identity.passwords import Hasher, weakness

GOOD = {
    "account_type": "individual",
    "full_name": "  Nguyễn   Thị An ",
    "email": "An.Nguyen@Example.VN",
    "phone": "0912 345 678",
    "password": "sông Hồng chảy qua bốn mùa",
    "national_id": "001190012345",
}


def test_a_registration_is_normalised() -> None:
    registration = validate_registration(**GOOD)  # type: ignore[arg-type]
    assert registration.full_name == "Nguyễn Thị An"
    assert registration.email == "an.nguyen@example.vn"
    assert registration.phone == "+84912345678"
    assert registration.national_id == "001190012345"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_registration(**{**GOOD, "email": "x", "phone": "1", "national_id": "2", "password": "password1"})  # type: ignore[arg-type]
    assert [p.pointer for p in caught.value.problems] == ["/email", "/phone", "/national_id", "/password"]


@pytest.mark.parametrize("phone", ["0912345678", "+84912345678", "84 912 345 678", "(+84) 0912.345.678", "0387654321"])
def test_vietnamese_mobile_numbers_written_any_way_become_e164(phone: str) -> None:
    assert normalise_phone(phone).startswith("+84")


@pytest.mark.parametrize("phone", ["02438253825", "+14155550123", "091234", "hello", "+84 1900 1234"])
def test_numbers_that_cannot_receive_sms_here_are_refused(phone: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(phone)


def test_tax_codes_of_ten_or_thirteen_digits() -> None:
    assert normalise_tax_code("0101234567") == "0101234567"
    assert normalise_tax_code("0101234567-001") == "0101234567001"
    assert normalise_tax_code("0101234567001") == "0101234567001"
    for bad in ("010123456", "0101234567-01", "01012345678901", "abcdefghij"):
        with pytest.raises(ValueError):
            normalise_tax_code(bad)


def test_emails_are_compared_without_case() -> None:
    assert normalise_email(" An@Example.VN ") == "an@example.vn"
    with pytest.raises(ValueError):
        normalise_email("an@@example.vn")


def test_roles_follow_the_account_type() -> None:
    assert [roles_for(t) for t in ("individual", "business", "organisation", "officer", "admin")] == [
        ["citizen"],
        ["citizen"],
        ["citizen"],
        ["officer"],
        ["admin"],
    ]


@pytest.mark.parametrize(
    "password",
    [
        "password1",
        "12345678",
        "motcua2026",
        "Motcua@2026",
        "matkhau123",
        "qwertyuiop",
        "an.nguyen@example.vn",
        "nguyenthian1990",
        "0912345678",
        "short",
        "        ",
    ],
)
def test_guessable_passwords_are_refused(password: str) -> None:
    personal = [
        "Nguyễn Thị An",
        "Nguyễn",
        "Thị",
        "An",
        "an.nguyen@example.vn",
        "an.nguyen",
        "+84912345678",
        "0912345678",
    ]
    assert weakness(password, personal=personal) is not None


@pytest.mark.parametrize("password", ["sông Hồng chảy qua bốn mùa", "correct horse battery staple", "Xq7#vL9!mW2@kR"])
def test_long_or_random_passwords_of_any_script_pass(password: str) -> None:
    assert weakness(password, personal=["Nguyễn Thị An"]) is None


def test_passwords_are_bounded_but_long_phrases_are_welcome() -> None:
    assert weakness("mùa thu Hà Nội " * 8) is None  # 120 characters
    assert "at most 128" in str(weakness("a" * 129))


async def test_a_password_typed_composed_or_decomposed_is_the_same_password() -> None:
    hasher = Hasher(time_cost=1, memory_kib=1024, parallelism=1, concurrency=2)
    composed = "Hà Nội mùa thu vàng rực"
    decomposed = "Ha\u0300 No\u0323\u0302i mu\u0300a thu va\u0300ng ru\u031b\u0323c"
    assert composed != decomposed
    stored = await hasher.hash(composed)
    assert stored.startswith("$argon2id$")
    assert await hasher.verify(stored, decomposed)
    assert not await hasher.verify(stored, "Ha Noi mua thu vang ruc")
    assert not await hasher.verify(None, composed)  # a missing account never matches
    assert not await hasher.verify("not-a-hash", composed)
    both = await asyncio.gather(hasher.verify(stored, composed), hasher.verify(stored, "x"))
    assert list(both) == [True, False]


def test_a_persons_name_is_letters_spaces_apostrophes_hyphens_and_dots() -> None:
    for name in ("Nguyễn Thị Ánh-Hồng", "O’Brien", "Trần V. Bình", "Nguye\u0302\u0303n", "Łukasz Żółć", "金 正"):
        assert person_name_problem(name) is None, name
    for name in ("<b>An</b>", "An 2", "An_Bình", "An 😀", "=cmd()", "An\u200bBình"):
        assert person_name_problem(name) is not None, name
