"""Tests for the legacy 8-bit Vietnamese fonts in analysis.text (TCVN3/ABC, VNI, VISCII).

In an .xlsx, text typed in a legacy font is stored as the legacy *bytes* read as
Windows-1252 characters. The helpers ``as_cell`` below build such strings from bytes.

Oracle: glibc ``iconv`` knows ``TCVN5712-1`` and ``VISCII``. glibc's TCVN5712-1 is the full
"VN1" table of TCVN 5712:1993: it also puts toned capitals on bytes 0x01-0x17, 0x80-0x9F and
a few places in 0xA0-0xFF (0xAF, 0xBA, 0xBF, 0xC0-0xC5, 0xCD, 0xD9-0xDB, 0xE0, 0xF0, 0xFF).
The ABC fonts (.VnTime, .VnArial) implement "VN3", the subset with only the seven capitals
Ă Â Ê Ô Ơ Ư Đ (0xA1-0xA7), the lower-case letters and the combining tone marks (0xB0-0xB4);
toned capitals come from the H fonts (.VnTimeH), which draw the lower-case codes as capitals.
So every lower-case precomposed letter and the seven capitals agree byte for byte with iconv
(asserted below), while the bytes VN1 uses for toned capitals keep their Windows-1252 meaning
in our TCVN3 decoder (0x97 stays "—", not "Ộ").

VNI-Windows has no oracle on this machine; its table (reference/vni.csv) was cross-checked
against two independent public converters (see the CSV header) and is tested here on words.
"""

from __future__ import annotations

import csv
import importlib.resources
import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.text import (
    decode_legacy,
    detect_legacy_encoding,
    encode_legacy,
    encoding_from_font,
    is_caps_font,
    repair_column,
)

ICONV = shutil.which("iconv")
needs_iconv = pytest.mark.skipif(ICONV is None, reason="glibc iconv (the oracle) is not installed")

TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
VOWELS = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
TONED_LOWER = [unicodedata.normalize("NFC", v + t) for v in VOWELS for t in TONES]
LOWER_LETTERS = TONED_LOWER + ["ă", "â", "ê", "ô", "ơ", "ư", "đ"]
SEVEN_CAPITALS = ["Ă", "Â", "Ê", "Ô", "Ơ", "Ư", "Đ"]


def as_cell(data: bytes) -> str:
    """Legacy bytes as Excel stores them: read as Windows-1252, undefined bytes as C1 controls."""
    return "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in data
    )


def iconv(text: str, to: str) -> bytes:
    result = subprocess.run(
        [ICONV, "-f", "UTF-8", "-t", to], input=text.encode(), capture_output=True, check=True
    )
    return result.stdout


def iconv_decode(data: bytes, source: str) -> str:
    result = subprocess.run(
        [ICONV, "-f", source, "-t", "UTF-8"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode()


def reference_rows(filename: str) -> list[dict[str, str]]:
    text = importlib.resources.files("analysis").joinpath("reference", filename).read_text("utf-8")
    return list(
        csv.DictReader(line for line in text.split("\n") if line and not line.startswith("#"))
    )


# ----- the tables ------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["tcvn3.csv", "vni.csv", "legacy_viscii.csv"])
def test_reference_table_legacy_column_matches_its_bytes(filename):
    for row in reference_rows(filename):
        data = bytes(int(h, 16) for h in row["legacy_hex"].split())
        if row["legacy"]:  # left empty where the bytes are control characters
            assert row["legacy"] == as_cell(data), row


@pytest.mark.parametrize("filename", ["tcvn3.csv", "vni.csv", "legacy_viscii.csv"])
def test_reference_table_is_one_to_one(filename):
    rows = reference_rows(filename)
    assert len({r["legacy_hex"] for r in rows}) == len(rows)
    assert len({r["unicode"] for r in rows}) == len(rows)
    assert all(unicodedata.is_normalized("NFC", r["unicode"]) for r in rows)


def test_vni_table_covers_all_134_vietnamese_letters():
    letters = {r["unicode"] for r in reference_rows("vni.csv")}
    expected = set(LOWER_LETTERS) | {ch.upper() for ch in LOWER_LETTERS}
    assert letters == expected


# ----- TCVN3 against the iconv oracle ------------------------------------------------------


@needs_iconv
def test_tcvn3_lower_case_letters_match_iconv_byte_for_byte():
    letters = LOWER_LETTERS + SEVEN_CAPITALS
    oracle = iconv("\n".join(letters), "TCVN5712-1").split(b"\n")
    assert len(oracle) == len(letters)
    for letter, code in zip(letters, oracle, strict=True):
        assert len(code) == 1, (letter, code)
        assert encode_legacy(letter, "tcvn3") == as_cell(code), letter
        assert decode_legacy(as_cell(code), "tcvn3") == letter


@needs_iconv
def test_tcvn3_combining_tone_bytes_match_iconv():
    for byte in range(0xB0, 0xB5):
        mark = iconv_decode(bytes([byte]), "TCVN5712-1")
        assert decode_legacy("a" + as_cell(bytes([byte])), "tcvn3") == unicodedata.normalize(
            "NFC", "a" + mark
        )


@needs_iconv
def test_tcvn3_vn1_toned_capital_bytes_are_not_abc_letters():
    # glibc (VN1) gives 0x97 to "Ộ"; in ABC (VN3) text that byte is an ordinary "—".
    assert iconv("Ộ", "TCVN5712-1") == b"\x97"
    vn1_only = [b for b in range(0x80, 0x100) if iconv_decode(bytes([b]), "TCVN5712-1").isupper()]
    vn1_only = [b for b in vn1_only if b not in range(0xA1, 0xA8)]
    assert len(vn1_only) > 40
    for byte in vn1_only:
        assert decode_legacy(as_cell(bytes([byte])), "tcvn3") == as_cell(bytes([byte]))


@needs_iconv
def test_viscii_table_matches_iconv_for_every_row():
    for row in reference_rows("legacy_viscii.csv"):
        data = bytes(int(h, 16) for h in row["legacy_hex"].split())
        assert iconv_decode(data, "VISCII") == row["unicode"]
        assert decode_legacy(as_cell(data), "viscii") == row["unicode"]


# ----- realistic cells ---------------------------------------------------------------------


def test_tcvn3_realistic_unit_name():
    assert decode_legacy("Chi bé Tæ d©n phè 1", "tcvn3") == "Chi bộ Tổ dân phố 1"


def test_tcvn3_caps_font_header():
    raw = as_cell(b"\xa7\xb6NG B\xe9")
    assert raw == "§¶NG Bé"
    assert decode_legacy(raw, "tcvn3", caps=True) == "ĐẢNG BỘ"


def test_tcvn3_caps_font_lower_case_codes_draw_capitals():
    assert decode_legacy("®¶ng bé ph\xadêng t©n thanh", "tcvn3", caps=True) == (
        "ĐẢNG BỘ PHƯỜNG TÂN THANH"
    )


def test_tcvn3_longer_sentence():
    raw = "§¶ng viªn ®ñ t­ c¸ch, hoµn thµnh tèt nhiÖm vô"
    assert decode_legacy(raw, "tcvn3") == "Đảng viên đủ tư cách, hoàn thành tốt nhiệm vụ"


def test_tcvn3_keeps_unmapped_windows_1252_punctuation():
    assert decode_legacy("“Chi bé” – 1", "tcvn3") == "“Chi bộ” – 1"


def test_vni_realistic_unit_name():
    assert decode_legacy("Chi boä Toå daân phoá 1", "vni") == "Chi bộ Tổ dân phố 1"


def test_vni_capitals_and_horn_letters():
    assert decode_legacy("ÑAÛNG BOÄ phöôøng Taân Thanh", "vni") == "ĐẢNG BỘ phường Tân Thanh"
    assert decode_legacy("ngöôøi, ñuû tö caùch", "vni") == "người, đủ tư cách"


def test_vni_single_byte_i_letters():
    assert decode_legacy("chæ thò, kyø hoïp, thöïc hieän", "vni") == "chỉ thị, kỳ họp, thực hiện"


def test_viscii_realistic_unit_name():
    raw = as_cell(b"Chi b\xb5 T\xb1 d\xe2n ph\xaf 1")  # iconv -t VISCII of the Unicode text
    assert raw == "Chi bµ T± dân ph¯ 1"
    assert decode_legacy(raw, "viscii") == "Chi bộ Tổ dân phố 1"


def test_viscii_c1_bytes_both_readings():
    # 0x80 is "Ạ": Windows-1252 reads it as "€", a Latin-1 reader as U+0080.
    assert decode_legacy("\u20ac", "viscii") == "Ạ"
    assert decode_legacy("\x80", "viscii") == "Ạ"
    # 0x81 is undefined in Windows-1252, so it arrives as the C1 control U+0081.
    assert decode_legacy("\x81", "viscii") == "Ắ"


def test_viscii_c0_letters_raw_and_xlsx_escaped():
    assert decode_legacy("\x02", "viscii") == "Ẳ"
    assert decode_legacy("_x0014_", "viscii") == "Ỷ"


def test_decode_output_is_nfc():
    decoded = decode_legacy("a\xb4", "tcvn3")  # a + combining dot below
    assert decoded == "ạ"
    assert unicodedata.is_normalized("NFC", decoded)


def test_encode_realistic_cells():
    assert encode_legacy("Chi bộ Tổ dân phố 1", "tcvn3") == "Chi bé Tæ d©n phè 1"
    assert encode_legacy("Chi bộ Tổ dân phố 1", "vni") == "Chi boä Toå daân phoá 1"


def test_encode_tcvn3_toned_capital_uses_combining_tone_byte():
    encoded = encode_legacy("Ộ", "tcvn3")
    assert encoded == "¤´"  # Ô (0xA4) + combining dot below (0xB4)
    assert decode_legacy(encoded, "tcvn3") == "Ộ"


def test_encode_caps_gives_h_font_text():
    assert encode_legacy("ĐẢNG BỘ", "tcvn3", caps=True) == "®¶ng bé"
    assert decode_legacy("®¶ng bé", "tcvn3", caps=True) == "ĐẢNG BỘ"


def test_encode_unrepresentable_character_raises():
    with pytest.raises(ValueError, match="Không mã hoá được"):
        encode_legacy("©", "tcvn3")  # byte 0xA9 means "â" in TCVN3


def test_unknown_encoding_raises():
    with pytest.raises(ValueError):
        decode_legacy("x", "vps")  # type: ignore[arg-type]


# ----- fonts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("font", "expected"),
    [
        (".VnTime", "tcvn3"),
        (".VnTimeH", "tcvn3"),
        (".VnArial", "tcvn3"),
        (".VnArial NarrowH", "tcvn3"),
        (" .vntime ", "tcvn3"),
        ("VnTime", None),
        ("VNI-Times", "vni"),
        ("VNI-Helve", "vni"),
        ("VNI-Helve-Condense", "vni"),
        ("VISCII Times", "viscii"),
        ("Times New Roman", None),
        ("Calibri", None),
        ("VPS Times", None),
        ("", None),
        (None, None),
    ],
)
def test_encoding_from_font(font, expected):
    assert encoding_from_font(font) == expected


@pytest.mark.parametrize(
    ("font", "expected"),
    [
        (".VnTimeH", True),
        (".VnArialH", True),
        (".VnCentury SchoolbookH", True),
        (".VnTimeH Bold", True),
        (".VnTime", False),
        (".VnBahamasB", False),
        ("VNI-Helve", False),
        ("Arial", False),
        (None, False),
    ],
)
def test_is_caps_font(font, expected):
    assert is_caps_font(font) is expected


# ----- round trips -------------------------------------------------------------------------

lower_vietnamese = st.text(
    alphabet=st.sampled_from(LOWER_LETTERS + list("abcdefghiklmnopqrstuvxy0123456789 ,.-()")),
    max_size=60,
)
any_case_vietnamese = st.text(
    alphabet=st.sampled_from(
        LOWER_LETTERS
        + [c.upper() for c in LOWER_LETTERS]
        + list("abcdghklmnpqrstvxBCDGHKLMNPQRSTVX0123456789 ,.")
    ),
    max_size=60,
)


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "viscii"])
@given(text=lower_vietnamese)
def test_round_trip_lower_case(encoding, text):
    assert decode_legacy(encode_legacy(text, encoding), encoding) == text


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "viscii"])
@given(text=any_case_vietnamese)
def test_round_trip_any_case(encoding, text):
    assert decode_legacy(encode_legacy(text, encoding), encoding) == text


@given(text=any_case_vietnamese)
def test_round_trip_caps_font(text):
    encoded = encode_legacy(text, "tcvn3", caps=True)
    assert decode_legacy(encoded, "tcvn3", caps=True) == text.upper()


# ----- detection ---------------------------------------------------------------------------

UNITS = [
    "Chi bộ Tổ dân phố 1",
    "Chi bộ Tổ dân phố 2",
    "Chi bộ Trường Tiểu học Tân Thanh",
    "Chi bộ Công an phường",
    "Chi bộ Quân sự",
    "Đảng viên đủ tư cách, hoàn thành tốt nhiệm vụ",
    "Trong sạch, vững mạnh",
]


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "viscii"])
def test_detect_realistic_column(encoding):
    assert detect_legacy_encoding([encode_legacy(t, encoding) for t in UNITS]) == encoding


def test_detect_realistic_tcvn3_single_cell():
    assert detect_legacy_encoding(["Chi bé Tæ d©n phè 1"]) == "tcvn3"


def test_detect_column_of_one_repeated_ambiguous_word():
    # "Chi bé" is itself valid Vietnamese; 31 such cells decoding to the common "bộ" decide.
    column = [f"Chi bé {i}" for i in range(1, 32)]
    assert detect_legacy_encoding(column) == "tcvn3"


def test_detect_single_ambiguous_cell_is_left_alone():
    assert detect_legacy_encoding(["Chi bé"]) is None


@pytest.mark.parametrize(
    "column",
    [
        UNITS,
        [unicodedata.normalize("NFD", t) for t in UNITS],
        ["Total", "Party members", "Coverage (%)"],
        ["Café", "Crème brûlée", "Hôtel de ville", "Señor", "naïve", "Où est-il?"],
        ["Tân Thanh", "Hà Nội", "các", "Tô Hiệu"],
        ["", None, "-", "—"],
        [],
    ],
)
def test_detect_returns_none_on_ordinary_text(column):
    assert detect_legacy_encoding(column) is None


ONSETS = ["", "b", "c", "ch", "d", "đ", "g", "gi", "h", "kh", "l", "m", "n", "ng", "nh", "ph"]
ONSETS += ["qu", "s", "t", "th", "tr", "v", "x"]
RIMES_OPEN = ["a", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "ai", "ao", "âu", "ay", "ia", "oi"]
RIMES_OPEN += ["ua", "ưa", "ươi", "uy", "oa", "iêu", "ôi", "ơi", "ưu", "ui"]
RIMES_CLOSED = ["an", "ăn", "ân", "anh", "ang", "ăng", "âng", "em", "ên", "in", "inh", "iên"]
RIMES_CLOSED += ["on", "ông", "ơn", "un", "ung", "ưng", "ương", "uôn", "uyên", "oan", "ong"]
RIMES_STOP = ["at", "ăt", "ât", "ac", "ăc", "âc", "ach", "êt", "ich", "iêt", "ôc", "ơt", "ut"]
RIMES_STOP += ["ưc", "ươc", "uôc", "ap", "âp", "ep", "ôp", "uyêt", "oat"]


def _apply_tone(rime: str, tone: str) -> str:
    # place the mark on the first vowel carrying a shape mark, else the first vowel (close enough:
    # detection does not care where the mark sits, NFC composes it onto that letter)
    for i, ch in enumerate(rime):
        if ch in "ăâêôơư":
            return unicodedata.normalize("NFC", rime[: i + 1] + tone + rime[i + 1 :])
    for i, ch in enumerate(rime):
        if ch in "aeiouy":
            return unicodedata.normalize("NFC", rime[: i + 1] + tone + rime[i + 1 :])
    return rime


@st.composite
def syllables(draw):
    onset = draw(st.sampled_from(ONSETS))
    kind = draw(st.sampled_from(["open", "closed", "stop"]))
    if kind == "stop":
        rime = draw(st.sampled_from(RIMES_STOP))
        tone = draw(st.sampled_from(["\u0301", "\u0323"]))
    else:
        rime = draw(st.sampled_from(RIMES_OPEN if kind == "open" else RIMES_CLOSED))
        tone = draw(st.sampled_from(["", *TONES]))
    word = onset + _apply_tone(rime, tone)
    return word.capitalize() if draw(st.booleans()) else word


unicode_cells = st.lists(syllables(), min_size=1, max_size=6).map(" ".join)


@settings(max_examples=300)
@given(st.lists(unicode_cells, min_size=1, max_size=15))
def test_detect_returns_none_on_generated_unicode_vietnamese(column):
    assert detect_legacy_encoding(column) is None


@settings(max_examples=100)
@given(
    st.lists(unicode_cells, min_size=4, max_size=15), st.sampled_from(["tcvn3", "vni", "viscii"])
)
def test_detect_finds_generated_legacy_columns(column, encoding):
    legacy = [encode_legacy(cell, encoding) for cell in column]
    if sum(cell != enc for cell, enc in zip(column, legacy, strict=True)) < 4:
        return  # too few cells with diacritics to judge
    assert detect_legacy_encoding(legacy) in (encoding, None)


# ----- repair_column -----------------------------------------------------------------------


def test_repair_column_fonts_decide():
    texts = ["Chi bé Tæ d©n phè 1", None, "Chi bé Tæ d©n phè 2"]
    fonts = [".VnTime", ".VnTime", ".VnTime"]
    assert repair_column(texts, fonts) == (
        ["Chi bộ Tổ dân phố 1", None, "Chi bộ Tổ dân phố 2"],
        "tcvn3",
    )


def test_repair_column_majority_font_wins():
    texts = ["Chi boä 1", "Chi boä 2", "Chi boä 3"]
    fonts = ["VNI-Times", "VNI-Times", "Arial"]
    repaired, encoding = repair_column(texts, fonts)
    assert encoding == "vni"
    assert repaired == ["Chi bộ 1", "Chi bộ 2", "Chi bộ 3"]


def test_repair_column_caps_per_cell_font():
    texts = ["§¶NG Bé PH¦êNG", "Chi bé 1"]
    fonts = [".VnTimeH", ".VnTime"]
    assert repair_column(texts, fonts)[0] == ["ĐẢNG BỘ PHƯỜNG", "Chi bộ 1"]


def test_repair_column_detects_without_fonts():
    texts = [encode_legacy(t, "tcvn3") for t in UNITS] + [None]
    repaired, encoding = repair_column(texts)
    assert encoding == "tcvn3"
    assert repaired == [*UNITS, None]


def test_repair_column_detection_recognises_caps_cells():
    texts = ["§¶NG Bé PH¦êNG T¢N THANH", "Chi bé Tæ d©n phè 1", "Chi bé Tæ d©n phè 2"]
    repaired, encoding = repair_column(texts)
    assert encoding == "tcvn3"
    assert repaired[0] == "ĐẢNG BỘ PHƯỜNG TÂN THANH"
    assert repaired[1] == "Chi bộ Tổ dân phố 1"


def test_repair_column_unicode_font_still_detects_legacy_text():
    texts = [encode_legacy(t, "vni") for t in UNITS]
    assert repair_column(texts, ["Calibri"] * len(texts)) == (UNITS, "vni")


def test_repair_column_unicode_text_untouched_but_nfc():
    texts = [unicodedata.normalize("NFD", t) for t in UNITS]
    repaired, encoding = repair_column(texts, ["Times New Roman"] * len(texts))
    assert encoding is None
    assert repaired == UNITS


def test_repair_column_missing_and_non_text_values():
    repaired, encoding = repair_column([None, float("nan"), 12, "Chi bé 1"], [".VnTime"] * 4)
    assert encoding == "tcvn3"
    assert repaired == [None, None, 12, "Chi bộ 1"]


def test_repair_column_does_not_mutate_input():
    texts = ["Chi bé 1", None]
    repair_column(texts, [".VnTime", None])
    assert texts == ["Chi bé 1", None]


def test_repair_column_length_mismatch_raises():
    with pytest.raises(ValueError):
        repair_column(["a", "b"], [".VnTime"])


def test_repair_column_leaves_unicode_cells_in_a_legacy_font_column():
    # "các" typed later in Unicode would read "cỏc" if decoded; "ộ" proves the cell is Unicode.
    texts = ["Chi bé 1", "Chi bộ các tổ"]
    repaired, encoding = repair_column(texts, [".VnTime", ".VnTime"])
    assert encoding == "tcvn3"
    assert repaired == ["Chi bộ 1", "Chi bộ các tổ"]


def test_repair_column_from_an_openpyxl_workbook(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    from openpyxl.styles import Font

    path = tmp_path / "tcvn3.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = encode_legacy("ĐẢNG BỘ PHƯỜNG TÂN THANH", "tcvn3", caps=True)
    ws["A1"].font = Font(name=".VnTimeH")
    for row, name in enumerate(UNITS, start=2):
        ws.cell(row=row, column=1, value=encode_legacy(name, "tcvn3")).font = Font(name=".VnTime")
    wb.save(path)

    cells = list(openpyxl.load_workbook(path).active["A"])
    repaired, encoding = repair_column([c.value for c in cells], [c.font.name for c in cells])
    assert encoding == "tcvn3"
    assert repaired == ["ĐẢNG BỘ PHƯỜNG TÂN THANH", *UNITS]
