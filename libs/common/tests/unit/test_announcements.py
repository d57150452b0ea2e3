"""The relay's memory of what its change stream announced: a read answers a wake only when it covered it."""

from motcua.common.outbox import Announcements


def _insert(event_id: str) -> dict[str, object]:
    return {"operationType": "insert", "documentKey": {"_id": event_id}}


def test_a_read_covers_what_was_announced_before_it_started() -> None:
    seen = Announcements(keep=10)
    assert seen.note(_insert("a"))
    before = seen.before_read()
    assert seen.covered(before, found=["a"])


def test_an_insert_announced_during_a_read_that_did_not_find_it_still_means_a_look() -> None:
    seen = Announcements(keep=10)
    before = seen.before_read()
    assert seen.note(_insert("late"))
    assert not seen.covered(before, found=[])
    assert seen.covered(seen.before_read(), found=["late"])  # the next read finds it


def test_the_late_notice_of_an_event_already_read_wakes_nobody() -> None:
    seen = Announcements(keep=10)
    assert seen.covered(seen.before_read(), found=["a"])
    assert not seen.note(_insert("a"))


def test_an_event_marked_pending_again_always_means_a_look() -> None:
    seen = Announcements(keep=10)
    before = seen.before_read()
    assert seen.note({"operationType": "update", "documentKey": {"_id": "a"}})
    assert not seen.covered(before, found=["a"])


def test_a_flood_during_a_read_is_never_forgotten_by_that_read() -> None:
    """More inserts announced during one read than it keeps ids of: the read may have covered none of them."""
    seen = Announcements(keep=10)
    before = seen.before_read()
    for n in range(11):  # the eleventh makes it forget the ten before and keep only itself
        assert seen.note(_insert(f"flood-{n}"))
    assert not seen.covered(before, found=["flood-10"])


def test_a_reopened_stream_means_a_look() -> None:
    seen = Announcements(keep=10)
    before = seen.before_read()
    seen.must_look()
    assert not seen.covered(before, found=[])
