"""The details a person or body registers with, and the rules they must follow. No I/O.

Every problem is collected, so one 422 names each field that is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from motcua.common.errors import FieldProblem, InvalidInput
from motcua.identity import passwords
from motcua.identity.model import AccountType, Locale, Registration

NAME_MAX = 200
ORGANISATION_MAX = 300

_NATIONAL_ID = re.compile(r"\d{12}")
_TAX_CODE = re.compile(r"(\d{10})(?:-?(\d{3}))?")
_AGENCY_CODE = re.compile(r"[A-Z0-9][A-Z0-9_.-]{0,31}")
_SMS_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def clean_text(value: str) -> str:
    """NFC, trimmed, inner whitespace collapsed; control characters are refused by the caller."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value)


def name_problem(value: str, *, limit: int = NAME_MAX) -> str | None:
    cleaned = clean_text(value)
    if not cleaned:
        return "must not be empty"
    if len(cleaned) > limit:
        return f"must be at most {limit} characters"
    if _has_control(cleaned):
        return "must not contain control characters"
    return None


# Besides letters and combining marks (Vietnamese typed composed or decomposed): space, apostrophes, hyphen, dot.
_NAME_PUNCTUATION = frozenset(" '\u2019-.")


def person_name_problem(value: str) -> str | None:
    """A person's name: letters of any script (Vietnamese included), spaces, apostrophes, hyphens and dots.
    Markup, digits and symbols have no place in a name, and would travel into emails, slips and exports."""
    if (why := name_problem(value)) is not None:
        return why
    if any(ch not in _NAME_PUNCTUATION and unicodedata.category(ch)[0] not in "LM" for ch in clean_text(value)):
        return "may contain only letters, spaces, apostrophes ('), hyphens (-) and dots (.)"
    return None


def normalise_email(value: str) -> str:
    """The address lower-cased (as every mail provider here treats it); ValueError when invalid."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return result.normalized.lower()


def normalise_phone(value: str) -> str:
    """A Vietnamese mobile number in E.164 (`+84…`); ValueError when it cannot receive SMS here."""
    try:
        number = phonenumbers.parse(value.strip(), "VN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number) or phonenumbers.region_code_for_number(number) != "VN":
        raise ValueError("must be a Vietnamese mobile number, such as 0912 345 678 or +84 912 345 678")
    if phonenumbers.number_type(number) not in _SMS_TYPES:
        raise ValueError("must be a mobile number that can receive SMS")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_tax_code(value: str) -> str:
    """10 digits, or 13 (a branch: `0101234567-001` or `0101234567001`), kept as digits only."""
    match = _TAX_CODE.fullmatch(value.strip())
    if match is None:
        raise ValueError("must be 10 digits, or 13 for a branch (0101234567-001)")
    return match.group(1) + (match.group(2) or "")


def normalise_agency_code(value: str) -> str:
    code = value.strip()
    if not _AGENCY_CODE.fullmatch(code):
        raise ValueError("must be an agency code in capitals, such as BTP or UBND-HN")
    return code


def _check(problems: list[FieldProblem], pointer: str, rule: Callable[[str], str], value: str) -> str:
    try:
        result = rule(value)
    except ValueError as exc:
        problems.append(FieldProblem(pointer, str(exc)))
        return value
    return result


def _type_fields(
    problems: list[FieldProblem],
    account_type: str,
    national_id: str | None,
    tax_code: str | None,
    organisation_name: str | None,
) -> tuple[str | None, str | None, str | None]:
    """The fields that depend on the account type: required where they belong, refused elsewhere."""
    nid = tax = org = None
    if account_type == "individual":
        if national_id is None:
            problems.append(FieldProblem("/national_id", "is required for individuals (the 12-digit citizen ID)"))
        elif not _NATIONAL_ID.fullmatch(national_id.strip()):
            problems.append(FieldProblem("/national_id", "must be the 12 digits of a citizen ID card"))
        else:
            nid = national_id.strip()
    elif national_id is not None:
        problems.append(FieldProblem("/national_id", "is only for individual accounts"))
    if account_type == "business" and tax_code is None:
        problems.append(FieldProblem("/tax_code", "is required for businesses"))
    elif account_type == "individual" and tax_code is not None:
        problems.append(FieldProblem("/tax_code", "is only for businesses and organisations"))
    elif tax_code is not None:
        tax = _check(problems, "/tax_code", normalise_tax_code, tax_code)
    if account_type in ("business", "organisation"):
        if organisation_name is None:
            problems.append(FieldProblem("/organisation_name", f"is required for {account_type} accounts"))
        elif (why := name_problem(organisation_name, limit=ORGANISATION_MAX)) is not None:
            problems.append(FieldProblem("/organisation_name", why))
        else:
            org = clean_text(organisation_name)
    elif organisation_name is not None:
        problems.append(FieldProblem("/organisation_name", "is only for businesses and organisations"))
    return nid, tax, org


def validate_registration(
    *,
    account_type: AccountType,
    full_name: str,
    email: str,
    phone: str,
    password: str,
    locale: Locale = "vi",
    national_id: str | None = None,
    tax_code: str | None = None,
    organisation_name: str | None = None,
    agency_code: str | None = None,
    min_score: int = 3,
) -> Registration:
    """The registration, normalised; InvalidInput naming every field that breaks a rule."""
    problems: list[FieldProblem] = []
    if (why := person_name_problem(full_name)) is not None:
        problems.append(FieldProblem("/full_name", why))
    clean_email = _check(problems, "/email", normalise_email, email)
    clean_phone = _check(problems, "/phone", normalise_phone, phone)
    nid, tax, org = _type_fields(problems, account_type, national_id, tax_code, organisation_name)
    agency = None
    if account_type == "officer":
        agency = _check(problems, "/agency_code", normalise_agency_code, agency_code or "")
    registration = Registration(
        account_type=account_type,
        full_name=clean_text(full_name),
        email=clean_email,
        phone=clean_phone,
        locale=locale,
        national_id=nid,
        tax_code=tax,
        organisation_name=org,
        agency_code=agency,
    )
    weak = passwords.weakness(password, personal=registration.personal_words(), min_score=min_score)
    if weak is not None:
        problems.append(FieldProblem("/password", weak))
    if problems:
        raise InvalidInput(problems)
    return registration
