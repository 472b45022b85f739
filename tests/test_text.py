"""Tests for analysis.text: NFC, folding, Vietnamese number parsing and formatting."""

from __future__ import annotations

import math
import unicodedata
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.text import (
    fold,
    format_number,
    format_pct,
    format_vi_number,
    format_vi_pct,
    is_blank,
    nfc,
    parse_vi_number,
    round_half_up,
    strip_diacritics,
)

# ----- nfc / fold ------------------------------------------------------------------------------


def test_nfc_composes_decomposed_vietnamese():
    assert nfc(unicodedata.normalize("NFD", "Chi bộ Tổ dân phố")) == "Chi bộ Tổ dân phố"


def test_fold_examples_from_the_brief():
    assert fold("Chi bộ Tổ dân phố 1") == "chi bo to dan pho 1"
    assert fold("TS ĐV") == "ts dv"
    assert fold("Tỷ lệ (%)") == "ty le"


def test_fold_same_key_for_nfd_and_nfc():
    assert fold(unicodedata.normalize("NFD", "Đảng ủy")) == fold("Đảng ủy") == "dang uy"


def test_fold_tone_placement_variants_match():
    assert fold("Đảng uỷ") == fold("Đảng ủy")


def test_fold_punctuation_and_symbols_become_spaces():
    assert fold("Số ĐV được  đánh giá,\nxếp loại / tổng số") == (
        "so dv duoc danh gia xep loai tong so"
    )


def test_fold_removes_zero_width_characters_inside_words():
    assert fold("Chi\u200b bộ\u00ad") == "chi bo"


def test_fold_compatibility_forms():
    assert fold("Ｔổ\u00a0１") == "to 1"


def test_strip_diacritics_keeps_case():
    assert strip_diacritics("Đảng bộ PHƯỜNG") == "Dang bo PHUONG"


vi_text = st.text(
    alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyÀÁẢẠỘỮđĐ ,.;:%()-–/\u0301\u0323")),
    max_size=40,
)


@given(vi_text)
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(vi_text)
def test_fold_output_is_lowercase_ascii_single_spaced(text):
    folded = fold(text)
    assert folded.isascii()
    assert folded == folded.lower()
    assert "  " not in folded
    assert folded == folded.strip()


# ----- is_blank --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [None, float("nan"), np.nan, pd.NA, pd.NaT, "", "   ", "\u00a0", "-", "–", "—", "--"]
)
def test_is_blank_true(value):
    assert is_blank(value)


@pytest.mark.parametrize("value", ["x", "0", 0, 0.0, "k", "a-b", False])
def test_is_blank_false(value):
    assert not is_blank(value)


# ----- parse_vi_number -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234", 1234.0),
        ("1.234.567", 1234567.0),
        ("96,4", 96.4),
        ("96,4%", 96.4),
        ("96,4 %", 96.4),
        ("1.234,5", 1234.5),
        (" 550 ", 550.0),
        ("1 234", 1234.0),
        ("1\u00a0234", 1234.0),
        ("1\u202f234,5", 1234.5),
        ("(12)", -12.0),
        ("\u221212", -12.0),
        ("-0,5", -0.5),
        ("+3", 3.0),
        ("1,234.5", 1234.5),
        ("1,234,567", 1234567.0),
        ("0.5", 0.5),
        ("96.43", 96.43),
        ("0.500", 0.5),
        ("1.23", 1.23),
        ("1.2345", 1.2345),
        ("1234.5", 1234.5),
        (",5", 0.5),
        ("１２", 12.0),
        ("0", 0.0),
    ],
)
def test_parse_vi_number_text(text, expected):
    assert parse_vi_number(text) == expected


def test_parse_vi_number_single_comma_is_a_decimal_comma():
    assert parse_vi_number("1,234") == 1.234


@pytest.mark.parametrize("value", [None, "", "  ", "-", "–", "—", float("nan"), pd.NA, np.nan])
def test_parse_vi_number_blank_is_none(value):
    assert parse_vi_number(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), (2.5, 2.5), (np.int64(7), 7.0), (np.float32(0.5), 0.5), (Decimal("1.5"), 1.5)],
)
def test_parse_vi_number_numbers_pass_through(value, expected):
    result = parse_vi_number(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "12/05/2014",
        "12.3.4",
        "1.234.5",
        "550 đảng viên",
        "1e5",
        "1,2.3",
        "x",
        "1 23",
        True,
        ".",
    ],
)
def test_parse_vi_number_garbage_raises_with_vietnamese_message(value):
    with pytest.raises(ValueError, match="Không đọc được số"):
        parse_vi_number(value)


def test_parse_vi_number_error_quotes_the_value():
    with pytest.raises(ValueError, match="'hai mươi'"):
        parse_vi_number("hai mươi")


def test_parse_vi_number_rejects_infinity():
    with pytest.raises(ValueError):
        parse_vi_number(math.inf)


# ----- rounding and formatting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(19.345, 2, 19.35), (2.5, 0, 3.0), (3.5, 0, 4.0), (-0.125, 2, -0.13), (96.449, 1, 96.4)],
)
def test_round_half_up(value, decimals, expected):
    assert round_half_up(value, decimals) == expected


def test_round_half_up_rejects_bool():
    with pytest.raises(TypeError):
        round_half_up(True, 0)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (5600000, 0, "5.600.000"),
        (96.43, 1, "96,4"),
        (96.45, 1, "96,5"),
        (1234.5, 2, "1.234,50"),
        (-1234.5, 0, "-1.235"),
        (-0.04, 1, "0,0"),
        (0, 0, "0"),
        (None, 0, "—"),
        (float("nan"), 1, "—"),
    ],
)
def test_format_vi_number(value, decimals, expected):
    assert format_vi_number(value, decimals) == expected


def test_format_vi_pct():
    assert format_vi_pct(96.43) == "96,4%"
    assert format_vi_pct(19.345, 2) == "19,35%"
    assert format_vi_pct(None) == "—"


def test_format_number_and_pct_in_english():
    assert format_number(5600000, lang="en") == "5,600,000"
    assert format_number(1234.5, 1, lang="en") == "1,234.5"
    assert format_pct(96.43, lang="en") == "96.4%"
    assert format_pct(96.43) == "96,4%"


def test_format_number_unknown_lang():
    with pytest.raises(ValueError):
        format_number(1, lang="fr")


def test_format_rejects_text():
    with pytest.raises(TypeError):
        format_vi_number("12")  # type: ignore[arg-type]


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(finite)
def test_parse_of_format_equals_round_half_up(x):
    assert parse_vi_number(format_vi_number(x, 2)) == round_half_up(x, 2)


@given(finite, st.integers(min_value=0, max_value=3))
def test_english_and_vietnamese_formats_are_the_same_number(x, decimals):
    vi = format_number(x, decimals)
    en = format_number(x, decimals, lang="en")
    assert vi.translate(str.maketrans(".,", ",.")) == en


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_round_trip_exactly(n):
    assert parse_vi_number(format_vi_number(n)) == n
