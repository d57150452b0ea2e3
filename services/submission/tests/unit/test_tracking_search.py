"""What an officer types to find a dossier, read as the beginning of a canonical tracking code."""

from datetime import UTC, datetime

import pytest
from motcua.submission import tracking
from motcua.submission.applicants import name_search_prefix


def test_a_whole_code_or_its_beginning_is_read_as_typed_dashes_and_case_optional() -> None:
    code = tracking.new_code(datetime(2026, 12, 2, 3, tzinfo=UTC))
    assert tracking.search_prefix(code) == code
    assert tracking.search_prefix(code.replace("-", "").lower()) == code
    assert tracking.search_prefix(f"  {code}  ") == code
    assert tracking.search_prefix("hs-26") == "HS-26"
    assert tracking.search_prefix("HS2612") == "HS-2612"
    assert tracking.search_prefix("HS-2612-") == "HS-2612"
    assert tracking.search_prefix("hs 2612 7kq") == "HS-2612-7KQ"
    assert tracking.search_prefix("HS-2612-7KQ3-M9") == "HS-2612-7KQ3-M9"
    assert tracking.search_prefix("HS-2612-7KQO") == "HS-2612-7KQ0"  # Crockford: O is 0


@pytest.mark.parametrize("typed", ["", "XX", "HS-26A1", "HS-2612-7KQ3-M9XAZ", "HS-2612-UUUU", "HS/2612", "ЅН-2612"])
def test_what_cannot_begin_a_tracking_code_is_none(typed: str) -> None:
    assert tracking.search_prefix(typed) is None


def test_a_whole_code_with_a_wrong_check_symbol_is_none() -> None:
    code = tracking.new_code(datetime(2026, 12, 2, 3, tzinfo=UTC))
    wrong = next(c for c in tracking.ALPHABET if c != code[-1])
    assert tracking.search_prefix(code[:-1] + wrong) is None


def test_hs_then_a_digit_is_meant_as_a_code_and_anything_else_as_a_name() -> None:
    for typed in ("HS-26A1", "hs 2612", "HS2", " hs-2612-7kq3 "):
        assert tracking.meant_as_code(typed), typed
    for typed in ("Hsu", "HS", "Nguyễn", "hs-", "H2"):
        assert not tracking.meant_as_code(typed), typed


def test_a_name_is_searched_folded_and_nothing_searchable_is_none() -> None:
    assert name_search_prefix("  NGUYỄN   Thị Á") == "nguyen thi a"
    assert name_search_prefix("Đặng Thị Lý") == "dang thi li"
    assert name_search_prefix("!! --") is None
