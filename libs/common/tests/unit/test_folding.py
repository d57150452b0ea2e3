from motcua.common.folding import fold


def test_a_name_folds_without_case_diacritics_or_the_d_with_stroke() -> None:
    assert fold("Nguyễn Thị Ánh") == "nguyen thi anh"
    assert fold("  ĐẶNG   văn  Đức ") == "dang van duc"
    assert fold("Nguyen Thi Anh") == fold("NGUYỄN THỊ ÁNH")


def test_decomposed_and_composed_vietnamese_fold_alike() -> None:
    import unicodedata

    name = "Trần Quý Vỹ"
    assert fold(unicodedata.normalize("NFD", name)) == fold(name) == "tran qui vi"


def test_punctuation_and_markup_only_separate_words() -> None:
    assert fold("O'Brien-Lê") == "o brien le"
    assert fold("!!") == ""
