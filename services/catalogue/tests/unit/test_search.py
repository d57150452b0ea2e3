from typing import Any

from motcua.catalogue.search import Entry, Query, SearchIndex, folded_fields
from motcua.common.folding import fold, words


def entry(code: str, name: str, name_en: str = "", description: str = "", **summary: Any) -> Entry:
    agency = summary.pop("agency_code", "UBND-XA")
    applicants = summary.pop("applicant_types", ["individual"])
    return Entry(
        code=code,
        summary={"code": code, "name": name, **summary},
        folded=folded_fields(code, name, name_en, description, ""),
        agency_code=agency,
        applicant_types=frozenset(applicants),
    )


def index(*entries: Entry) -> SearchIndex:
    found = SearchIndex()
    found.apply(entries, [], seq=len(entries))
    return found


def codes(found: SearchIndex, q: str = "", **kwargs: Any) -> list[str]:
    return [item["code"] for item in found.search(Query(q=q, **kwargs)).items]


def test_folding_ignores_case_diacritics_and_the_d_with_stroke() -> None:
    assert fold("ĐĂNG KÝ KINH DOANH") == fold("dang ky kinh doanh") == "dang ki kinh doanh"
    assert fold("Đăng ký thường trú") == "dang ki thuong tru"
    assert fold("Hoà giải") == fold("Hòa giải")


def test_folding_treats_the_i_and_y_spellings_as_one() -> None:
    assert fold("đăng kí") == fold("đăng ký")
    assert fold("lý lịch tư pháp") == fold("lí lịch tư pháp")
    assert fold("kỹ sư") == fold("kĩ sư")
    assert fold("quý") == fold("quí")


def test_folding_keeps_y_where_no_one_writes_i() -> None:
    assert words("tuyến huy may y tế") == ["tuyen", "huy", "may", "y", "te"]
    assert fold("máy") != fold("mai")


def test_words_split_codes_and_punctuation() -> None:
    assert words("HT-KS-01") == ["ht", "ks", "01"]
    assert words("Nghị định 123/2015/NĐ-CP") == ["nghi", "dinh", "123", "2015", "nd", "cp"]
    assert words("  …  ") == []


def test_an_exact_code_ranks_first() -> None:
    found = index(
        entry("HT-KS-01", "Đăng ký khai sinh"),
        entry("HT-KS-02", "Đăng ký lại khai sinh", description="thay thế HT-KS-01"),
    )
    assert codes(found, "ht-ks-01") == ["HT-KS-01", "HT-KS-02"]
    assert codes(found, "HT KS 01")[0] == "HT-KS-01"


def test_a_code_that_starts_with_the_query_comes_next() -> None:
    found = index(
        entry("HT-KS-02", "Đăng ký lại khai sinh", description="Khác với HT-KS-01."),
        entry("HT-KS-01-0042", "Đăng ký khai sinh tại Huế"),
        entry("HT-KS-01", "Đăng ký khai sinh"),
    )
    assert codes(found, "HT-KS-01") == ["HT-KS-01", "HT-KS-01-0042", "HT-KS-02"]
    assert codes(found, "ht ks") == ["HT-KS-01", "HT-KS-02", "HT-KS-01-0042"]


def test_a_long_phrase_must_stand_in_one_piece_and_at_the_start_counts_most() -> None:
    found = index(
        entry("A-1", "hai ba một hai"),  # every pair of the query, but not the phrase
        entry("A-2", "bốn một hai ba"),
        entry("A-3", "một hai ba bốn"),
    )
    assert codes(found, "một hai ba") == ["A-3", "A-2", "A-1"]


def test_a_name_match_outranks_a_description_match_and_a_phrase_outranks_scattered_words() -> None:
    found = index(
        entry("D-1", "Cấp bản sao", description="Bản sao giấy khai sinh"),
        entry("N-1", "Đăng ký lại khai sinh"),
        entry("N-2", "Đăng ký khai sinh có yếu tố nước ngoài"),
        entry("N-3", "Đăng ký khai sinh"),
    )
    # all three names hold the phrase: the shortest (the most general) first
    assert codes(found, "khai sinh") == ["N-3", "N-1", "N-2", "D-1"]
    assert codes(found, "đăng kí khai sinh") == ["N-3", "N-2", "N-1"]


def test_english_names_are_searched_too() -> None:
    found = index(entry("HT-KS-01", "Đăng ký khai sinh", "Birth registration"))
    assert codes(found, "BIRTH registration") == ["HT-KS-01"]


def test_every_word_must_match_somewhere() -> None:
    found = index(entry("A-1", "Đăng ký khai sinh"), entry("A-2", "Đăng ký kết hôn"))
    assert sorted(codes(found, "đăng ký")) == ["A-1", "A-2"]
    assert codes(found, "đăng ký ly hôn") == []
    assert found.search(Query(q="?!")).total == 0


def test_filters_and_pages_with_a_total() -> None:
    found = index(
        *(entry(f"P-{i:02d}", f"Thủ tục số {i}", agency_code="A" if i % 2 else "B") for i in range(1, 26)),
        entry("BIZ-01", "Thủ tục doanh nghiệp", agency_code="B", applicant_types=["business"]),
    )
    everything = found.search(Query(page_size=10))
    assert everything.total == 26
    pages = [codes(found, "thu tuc", page=p, page_size=10) for p in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [10, 10, 6, 0]
    assert len({c for p in pages for c in p}) == 26
    assert found.search(Query(q="thu tuc", agency="A")).total == 13
    assert codes(found, applicant_type="business") == ["BIZ-01"]
    assert codes(found, "thu tuc", agency="A", applicant_type="business") == []


def test_a_change_replaces_the_old_words_and_a_withdrawal_removes_the_entry() -> None:
    found = index(entry("A-1", "Đăng ký khai sinh"))
    found.apply([entry("A-1", "Đăng ký khai tử")], [], seq=2)
    assert codes(found, "khai sinh") == []
    assert codes(found, "khai tu") == ["A-1"]
    found.apply([], ["A-1"], seq=3)
    assert codes(found, "khai tu") == []
    assert found.seq == 3
    assert len(found) == 0


def test_a_freed_place_in_the_index_carries_nothing_of_its_last_holder() -> None:
    found = index(entry("A-1", "Đăng ký khai sinh"), entry("B-1", "Đăng ký kết hôn"))
    found.apply([], ["A-1"], seq=3)
    found.apply([entry("C-1", "Cấp đổi thẻ căn cước", agency_code="CA-XA")], [], seq=4)
    assert codes(found, "khai sinh") == []
    assert codes(found, "can cuoc") == ["C-1"]
    assert codes(found, agency="UBND-XA") == ["B-1"]
    assert codes(found) == ["B-1", "C-1"]  # by name length, then name
    assert found.search(Query(q="đăng ký")).total == 1
