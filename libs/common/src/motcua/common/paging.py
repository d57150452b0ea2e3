"""How deep a list may be paged: the first 10,000 items of any list, whatever the page size.

A page far down a list makes the database skip every item before it (page 10,000 of 100 skipped a million
documents per request). Every list route checks `page × page_size` here; past the cap it is 422 naming
`/page`, and the caller narrows the list (a search term, a status, a date) instead.
"""

from __future__ import annotations

from motcua.common.errors import InvalidInput

DEEPEST_ITEM = 10_000


def check_depth(page: int, page_size: int) -> None:
    """Refuse a page that ends past the first `DEEPEST_ITEM` items of a list."""
    if page * page_size > DEEPEST_ITEM:
        raise InvalidInput.one(
            "/page",
            f"page × page_size must be at most {DEEPEST_ITEM} (only the first {DEEPEST_ITEM} items of a list "
            f"are paged; with page_size {page_size}, page {max(1, DEEPEST_ITEM // page_size)} is the last)",
        )
