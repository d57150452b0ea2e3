"""Lists are paged over their first 10,000 items only."""

from __future__ import annotations

import pytest
from motcua.common.errors import InvalidInput
from motcua.common.paging import check_depth


def test_a_page_ending_within_the_first_ten_thousand_items_is_served() -> None:
    check_depth(100, 100)
    check_depth(10_000, 1)


@pytest.mark.parametrize(("page", "page_size"), [(101, 100), (10_000, 2), (5_001, 2)])
def test_a_deeper_page_names_the_page_and_the_last_one_allowed(page: int, page_size: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_depth(page, page_size)
    (problem,) = refused.value.problems
    assert problem.pointer == "/page"
    assert f"page {10_000 // page_size} is the last" in problem.message
