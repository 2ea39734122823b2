from closedloop.lib.text import clean_cell, fold_search, name_pinyin


def test_full_width_becomes_half_width():
    assert clean_cell("３３０７８２１９６００１０１００１Ｘ") == "33078219600101001X"
    assert clean_cell("ＡＢＣ（１）：") == "ABC(1):"
    assert clean_cell("\u3000张三\u3000") == "张三"


def test_invisible_characters_removed():
    assert clean_cell("\ufeff张\u200b三\u200d") == "张三"
    assert clean_cell("138\u00ad1234\u20605678") == "13812345678"
    assert clean_cell("a\x07b") == "ab"
    assert clean_cell("a\u00a0b") == "a b"
    assert clean_cell("第一行\n第二行") == "第一行 第二行"


def test_cjk_compatibility_characters_are_kept():
    # NFKC would turn U+F900 into U+8C48; a name must not change.
    assert clean_cell("\uf900") == "\uf900"


def test_one_leading_apostrophe_removed():
    assert clean_cell("'13812345678") == "13812345678"
    assert clean_cell("  ' 0579-85123456 ") == "0579-85123456"
    assert clean_cell("''x") == "'x"
    assert clean_cell("＇330782") == "330782"


def test_excel_numbers():
    assert clean_cell(13812345678.0) == "13812345678"
    assert clean_cell(44776.0) == "44776"
    assert clean_cell(1.5) == "1.5"
    assert clean_cell(42) == "42"
    # Beyond 15 significant digits Excel has already lost the tail.
    assert clean_cell(3.30782196001010e17) == "330782196001010000"
    assert clean_cell(float("nan")) == ""


def test_scientific_notation_text_is_left_alone():
    assert clean_cell("1.10105E+17") == "1.10105E+17"
    assert clean_cell("３.３０７８２Ｅ＋１７") == "3.30782E+17"


def test_empty_values():
    assert clean_cell(None) == ""
    assert clean_cell("") == ""
    assert clean_cell(" \u3000\u200b ") == ""


def test_name_pinyin():
    assert name_pinyin("张三") == ("zhangsan", "zs")
    assert name_pinyin("吕布") == ("lvbu", "lb")
    assert name_pinyin(" 张　三 ") == ("zhangsan", "zs")
    assert name_pinyin("买买提·艾力") == ("maimaitiaili", "mmtal")
    assert name_pinyin("Tom 李") == ("tomli", "tl")
    assert name_pinyin("李4") == ("li4", "l4")
    assert name_pinyin("") == ("", "")


def test_fold_search():
    assert fold_search("  Zhang San ") == "zhangsan"
    assert fold_search("ＡＢＣ　１２") == "abc12"
    assert fold_search("'138 1234 5678") == "13812345678"
