import re
from datetime import UTC, datetime

from motcua.submission.tracking import ALPHABET, new_code, normalise

AT = datetime(2026, 11, 27, 3, tzinfo=UTC)
SHAPE = re.compile(r"^HS-2611-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")


def test_a_code_is_readable_and_dated_in_vietnam() -> None:
    code = new_code(AT)
    assert SHAPE.match(code), code
    assert not set(code) & set("ILOU")
    assert new_code(datetime(2026, 11, 30, 18, tzinfo=UTC)).startswith("HS-2612-")  # 1 Dec in Hà Nội


def test_codes_do_not_follow_each_other() -> None:
    codes = [new_code(AT) for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert codes != sorted(codes)


def test_what_people_type_is_understood() -> None:
    code = new_code(AT)
    assert normalise(code) == code
    assert normalise(code.lower().replace("-", " ")) == code
    assert normalise(code.replace("-", "")) == code
    if "0" in code[8:]:
        assert normalise(code[:8] + code[8:].replace("0", "O")) == code


def test_every_single_typo_is_caught_by_the_check_symbol() -> None:
    code = new_code(AT)
    compact = code.replace("-", "")
    for i in range(6, len(compact)):
        for wrong in ALPHABET:
            if wrong != compact[i]:
                assert normalise(compact[:i] + wrong + compact[i + 1 :]) is None


def test_most_swapped_neighbours_are_caught() -> None:
    caught = total = 0
    for _ in range(200):
        compact = new_code(AT).replace("-", "")
        for i in range(6, len(compact) - 1):
            if compact[i] != compact[i + 1]:
                total += 1
                swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2 :]
                caught += normalise(swapped) is None
    assert caught / total > 0.95


def test_garbage_is_not_a_code() -> None:
    for typed in ["", "HS", "HS-2611-7KQ3", "XX-2611-7KQ3-M9XA", "HS-2611-7KQ3-M9XA-1", "HS-26A1-7KQ3-M9XA", "💥"]:
        assert normalise(typed) is None
