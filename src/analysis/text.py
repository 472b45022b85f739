"""Vietnamese text utilities: normalisation, folding, numbers, legacy 8-bit fonts.

Everything here is pure (no I/O except reading packaged reference tables once) and
deterministic. Three groups of functions:

* **Normalisation and matching** — :func:`nfc`, :func:`fold`, :func:`strip_diacritics`.
* **Numbers in Vietnamese style** — :func:`parse_vi_number`, :func:`is_blank`,
  :func:`round_half_up`, :func:`format_vi_number`, :func:`format_vi_pct`,
  :func:`format_number`, :func:`format_pct`. Vietnamese writes a decimal comma and dots
  between thousands ("1.388", "96,4%").
* **Legacy fonts** — old workbooks typed in TCVN3/ABC (``.VnTime``), VNI-Windows
  (``VNI-Times``) or VISCII store the legacy *bytes* read as Windows-1252 characters
  ("Chi bé Tæ d©n phè 1" is "Chi bộ Tổ dân phố 1" in ``.VnTime``). See
  :func:`encoding_from_font`, :func:`decode_legacy`, :func:`encode_legacy`,
  :func:`detect_legacy_encoding` and :func:`repair_column`. The conversion tables are
  data: ``reference/legacy_tcvn3.csv``-style CSV files loaded once.
"""

from __future__ import annotations

import csv
import functools
import importlib.resources
import itertools
import math
import numbers
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Literal

__all__ = [
    "LegacyEncoding",
    "decode_legacy",
    "detect_legacy_encoding",
    "encode_legacy",
    "encoding_from_font",
    "fold",
    "format_number",
    "format_pct",
    "format_vi_number",
    "format_vi_pct",
    "is_blank",
    "is_caps_font",
    "nfc",
    "parse_vi_number",
    "repair_column",
    "round_half_up",
    "strip_diacritics",
]

# ---------------------------------------------------------------------------------------------
# Normalisation and folding
# ---------------------------------------------------------------------------------------------


def nfc(text: str) -> str:
    """Return ``text`` in Unicode normal form C (composed).

    Vietnamese arrives both composed and decomposed ("ộ" as one code point or as
    "o" + U+0323 + U+0302); compare only after this.

    Example:
        >>> nfc("bo\\u0323\\u0302") == "bộ"
        True
    """
    return unicodedata.normalize("NFC", text)


def strip_diacritics(text: str) -> str:
    """Remove every combining mark and map đ/Đ to d/D, keeping case.

    Example:
        >>> strip_diacritics("Đảng bộ phường Tân Thanh")
        'Dang bo phuong Tan Thanh'
    """
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept.translate(_D_TABLE))


_D_TABLE = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def _fold_char(ch: str) -> str:
    """Letters and digits stay; invisible format characters vanish; all else is a space."""
    cat = unicodedata.category(ch)
    if cat[0] in "LN":
        return ch
    if cat == "Cf":  # zero-width space/joiner, soft hyphen, BOM: hidden inside words
        return ""
    return " "


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Fold text for matching: compatibility-normalise, casefold, strip diacritics.

    Steps: NFKC (NFC plus compatibility forms such as full-width digits, ligatures and
    no-break spaces) → ``casefold`` → remove diacritics (đ → d) → every character that is
    not a letter or digit becomes a space (punctuation *and* symbols, so ``%`` does not
    survive: a header "Tỷ lệ (%)" folds to ``"ty le"``) → invisible format characters
    (zero-width space, soft hyphen) are removed → whitespace collapsed and stripped.
    Idempotent: ``fold(fold(s)) == fold(s)``.

    Args:
        text: any string.

    Returns:
        The folded key (ASCII letters and digits for Vietnamese input, single spaces).

    Example:
        >>> fold("Chi bộ Tổ dân phố 1")
        'chi bo to dan pho 1'
        >>> fold("TS ĐV"), fold("Tỷ lệ (%)"), fold("Đảng uỷ")
        ('ts dv', 'ty le', 'dang uy')
    """
    s = unicodedata.normalize("NFKC", text).casefold()
    s = strip_diacritics(s).casefold()
    s = "".join(_fold_char(ch) for ch in s)
    return " ".join(s.split())


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------

_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"  # hyphen-minus, hyphens, dashes, minus
_BLANK_RE = re.compile(rf"[{_DASHES}]*")
_SPACES_RE = re.compile(r"[\s\u00a0\u202f\u2007\u2009\u200a]+")
_MINUS_SIGNS = "-\u2212"  # hyphen-minus and U+2212 MINUS SIGN

# A thousands-grouped integer part: 1–3 leading digits (no leading zero), then groups of 3.
_GROUP = r"[1-9]\d{0,2}"
_VI_GROUPED = re.compile(rf"{_GROUP}(?:\.\d{{3}})+(?:,\d+)?")  # 1.234 / 1.234.567,89
_EN_GROUPED = re.compile(rf"{_GROUP}(?:,\d{{3}})+(?:\.\d+)?")  # 1,234 / 1,234,567.89
_SPACE_GROUPED = re.compile(rf"{_GROUP}(?: \d{{3}})+(?:[.,]\d+)?")  # 1 234 / 1 234,5
_PLAIN_COMMA = re.compile(r"\d*,\d+|\d+")  # 96,4  ,5  550
_PLAIN_DOT = re.compile(r"\d*\.\d+")  # 0.5  96.43  1234.5


def _is_missing(value: object) -> bool:
    """True for None, float/NumPy NaN, Decimal NaN, ``pandas.NA`` and ``pandas.NaT``."""
    if value is None:
        return True
    if type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, Decimal):
        return value.is_nan()
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        try:
            return math.isnan(float(value))
        except (TypeError, ValueError):
            return False
    return False


def is_blank(value: object) -> bool:
    """Tell whether a cell means "no figure": missing, empty, whitespace or only dashes.

    Blank: ``None``, NaN (float, NumPy, ``pandas.NA``/``NaT``), ``""``, whitespace
    (including no-break spaces), and strings made only of dashes ("-", "–", "—",
    "−", "--"). A letter such as "x" or "k" is *not* blank: it is a value the caller
    must judge.

    Example:
        >>> [is_blank(v) for v in (None, float("nan"), " ", "–", "0", "x")]
        [True, True, True, True, False, False]
    """
    if _is_missing(value):
        return True
    if isinstance(value, str):
        s = _SPACES_RE.sub("", value)
        return _BLANK_RE.fullmatch(s) is not None
    return False


#: Superscript digits and signs: footnote marks after a figure, never part of it.
_SUPERSCRIPTS = frozenset("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")


def parse_vi_number(value: object) -> float | None:
    """Read a number written Vietnamese style (or a plain number) as a float.

    Rules, in order:

    * blanks (see :func:`is_blank`: None, NaN, "", whitespace, dashes) → ``None``;
    * ``bool`` → ``ValueError`` (a tick box is not a figure); ints, floats, NumPy
      numbers and Decimals pass through as ``float``; infinities → ``ValueError``;
    * strings are NFKC-normalised and stripped; a trailing ``%`` is dropped (the result is
      in percent units: "96,4%" → 96.4); "(12)" and a leading "-" or "−" (U+2212) make
      it negative; a leading "+" is allowed;
    * a dot followed by groups of exactly three digits is a thousands separator
      ("1.234" → 1234, "1.234.567" → 1234567, "1.234,5" → 1234.5); spaces and
      no-break spaces may also group thousands ("1 234" → 1234);
    * a comma is the decimal separator ("96,4" → 96.4, also "1,234" → 1.234);
    * English style is accepted only when unambiguous: both separators with the dot last
      ("1,234.5" → 1234.5) or several comma groups ("1,234,567");
    * a lone dot not followed by exactly three digits is a decimal point ("0.5" → 0.5,
      "96.43" → 96.43) — decimals typed by hand in Excel. "0.500" is 0.5 too (a group
      never starts with 0).

    Anything else (words, dates, "1.23.4", "12 đv", a footnote mark "504¹") raises ``ValueError``; this function
    never turns garbage into ``None`` silently.

    Args:
        value: a cell value.

    Returns:
        The number, or ``None`` for a blank cell.

    Raises:
        ValueError: with a Vietnamese message quoting the value, when it is not a number.

    Example:
        >>> parse_vi_number("1.234,5"), parse_vi_number("96,4%"), parse_vi_number("–")
        (1234.5, 96.4, None)
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"Không đọc được số: {value!r} (giá trị đúng/sai, không phải số)")
    if isinstance(value, numbers.Real | Decimal) and not isinstance(value, str):
        number = float(value)  # type: ignore[arg-type]
        if not math.isfinite(number):
            raise ValueError(f"Không đọc được số: {value!r} (vô hạn)")
        return number
    if not isinstance(value, str):
        raise ValueError(f"Không đọc được số: {value!r}")
    if any(ch in _SUPERSCRIPTS for ch in value):  # "504¹": a footnote mark, which NFKC would make a digit
        raise ValueError(f"Không đọc được số: {value!r} (có dấu chú thích)")
    number = _parse_number_text(value)
    if number is None:
        raise ValueError(f"Không đọc được số: {value!r}")
    return number


def _parse_number_text(raw: str) -> float | None:
    """Parse a non-blank string; None when it is not a number."""
    s = unicodedata.normalize("NFKC", raw)
    s = _SPACES_RE.sub(" ", s).strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("%"):
        s = s[:-1].strip()
    if s[:1] in _MINUS_SIGNS:
        negative, s = not negative, s[1:].strip()
    elif s[:1] == "+":
        s = s[1:].strip()
    digits = _normalise_digits(s)
    if digits is None:
        return None
    number = float(digits)
    return -number if negative else number


def _normalise_digits(s: str) -> str | None:
    """Turn a sign-free number text into Python float syntax, or None."""
    if _PLAIN_COMMA.fullmatch(s):
        return s.replace(",", ".")
    if _VI_GROUPED.fullmatch(s):
        return s.replace(".", "").replace(",", ".")
    if _EN_GROUPED.fullmatch(s) and (s.count(",") > 1 or "." in s):
        return s.replace(",", "")
    if _PLAIN_DOT.fullmatch(s):
        return s
    if _SPACE_GROUPED.fullmatch(s):
        return s.replace(" ", "").replace(",", ".")
    return None


def _to_decimal(value: float | int | Decimal) -> Decimal:
    """Exact decimal of the value as written (shortest repr), so 19.345 stays 19.345."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    return Decimal(repr(float(value)))


def _quantize(value: float | int | Decimal, decimals: int) -> Decimal:
    """Round half away from zero ("half-up" in school arithmetic) to ``decimals`` places."""
    with localcontext() as ctx:
        ctx.prec = 1000
        try:
            q = _to_decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise ValueError(f"Không làm tròn được: {value!r}") from exc
    if q == 0:
        q = abs(q)  # never show "-0"
    return q


def round_half_up(value: float, decimals: int) -> float:
    """Round half away from zero, on the decimal value as written (not binary noise).

    Python's ``round`` rounds half to even and sees 19.345 as 19.3449999…; reports expect
    19.35. Negative halves round away from zero (-0.125 → -0.13).

    Example:
        >>> round_half_up(19.345, 2), round_half_up(2.5, 0), round_half_up(-0.125, 2)
        (19.35, 3.0, -0.13)
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise TypeError(f"round_half_up needs a number, got {value!r}")
    if not math.isfinite(float(value)):
        return float(value)
    return float(_quantize(value, decimals))


def _format(value: float | int | None, decimals: int, lang: str, suffix: str = "") -> str:
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', got {lang!r}")
    if _is_missing(value):
        return "—"
    if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
        raise TypeError(f"Không định dạng được: {value!r} (không phải số)")
    if not math.isfinite(float(value)):
        raise ValueError(f"Không định dạng được: {value!r} (vô hạn)")
    q = _quantize(value, decimals)
    text = format(q, f",.{max(decimals, 0)}f")  # English grouping: 5,600,000.5
    if lang == "vi":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    return text + suffix


def format_vi_number(value: float | int | None, decimals: int = 0) -> str:
    """Format a number Vietnamese style, rounding half-up.

    Example:
        >>> format_vi_number(5600000), format_vi_number(96.43, 1), format_vi_number(None)
        ('5.600.000', '96,4', '—')
    """
    return _format(value, decimals, "vi")


def format_vi_pct(value: float | None, decimals: int = 1) -> str:
    """Format a percentage (0–100 scale) Vietnamese style: ``96,4%``; ``None`` → "—".

    Example:
        >>> format_vi_pct(96.43), format_vi_pct(100, 0), format_vi_pct(None)
        ('96,4%', '100%', '—')
    """
    return _format(value, decimals, "vi", "%")


def format_number(value: float | int | None, decimals: int = 0, lang: str = "vi") -> str:
    """Format a number for ``lang`` ("vi": ``5.600.000``; "en": ``5,600,000``).

    Example:
        >>> format_number(1234.5, 1, lang="en"), format_number(1234.5, 1)
        ('1,234.5', '1.234,5')
    """
    return _format(value, decimals, lang)


def format_pct(value: float | None, decimals: int = 1, lang: str = "vi") -> str:
    """Format a percentage for ``lang`` ("vi": ``96,4%``; "en": ``96.4%``).

    Example:
        >>> format_pct(96.43, lang="en")
        '96.4%'
    """
    return _format(value, decimals, lang, "%")


# ---------------------------------------------------------------------------------------------
# Legacy 8-bit Vietnamese fonts
# ---------------------------------------------------------------------------------------------

LegacyEncoding = Literal["tcvn3", "vni", "viscii"]

_TABLE_FILES: dict[str, str] = {
    "tcvn3": "tcvn3.csv",
    "vni": "vni.csv",
    "viscii": "legacy_viscii.csv",
}
_ENCODINGS: tuple[LegacyEncoding, ...] = ("tcvn3", "vni", "viscii")
_XLSX_ESCAPE_RE = re.compile(r"_x00([01][0-9A-Fa-f])_")  # how .xlsx stores C0 control characters


def _read_reference_csv(filename: str) -> list[dict[str, str]]:
    """Rows of a packaged CSV in ``analysis/reference``; lines starting with ``#`` are comments."""
    text = importlib.resources.files("analysis").joinpath("reference", filename).read_text("utf-8")
    lines = [line for line in text.split("\n") if line and not line.startswith("#")]
    return list(csv.DictReader(lines))


def _byte_readings(byte: int) -> list[str]:
    """How one legacy byte can arrive in a cell: read as Windows-1252, or as a C1 control.

    Bytes 0x80–0x9F read as Windows-1252 become "€", "‚", "ƒ" …; the five bytes that
    Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) arrive as C1 controls
    (U+0081 …), and a Latin-1 reader turns *every* byte 0x80–0x9F into a C1 control.
    """
    readings = []
    try:
        readings.append(bytes([byte]).decode("cp1252"))
    except UnicodeDecodeError:
        pass
    if 0x80 <= byte <= 0x9F or not readings:
        readings.append(chr(byte))
    return readings


class _Table:
    """One legacy encoding: decoding regex and map, and the reverse map for encoding."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.decode_map: dict[str, str] = {}
        self.encode_map: dict[str, str] = {}
        used_bytes: set[int] = set()
        for row in rows:
            seq = [int(h, 16) for h in row["legacy_hex"].split()]
            used_bytes.update(seq)
            unicode_text = row["unicode"]
            keys = [""]
            for byte in seq:
                keys = [k + r for k in keys for r in _byte_readings(byte)]
            for key in keys:
                self.decode_map[key] = unicode_text
            self.encode_map.setdefault(unicode_text, keys[0])
        # Longest keys first so that VNI "oâ" (ô) wins over "o" followed by something else.
        alternatives = sorted(self.decode_map, key=lambda k: (-len(k), k))
        self.pattern = re.compile("|".join(re.escape(k) for k in alternatives))
        # Characters that keep their meaning: Windows-1252 characters on bytes the encoding
        # does not use (so "–" or "“" in a TCVN3 cell are themselves).
        self.passthrough: frozenset[str] = frozenset(
            r for b in range(0x80, 0x100) if b not in used_bytes for r in _byte_readings(b)
        )


@functools.cache
def _table(encoding: str) -> _Table:
    if encoding not in _TABLE_FILES:
        raise ValueError(f"Unknown legacy encoding {encoding!r}; expected one of {_ENCODINGS}")
    return _Table(_read_reference_csv(_TABLE_FILES[encoding]))


def encoding_from_font(font_name: str | None) -> LegacyEncoding | None:
    """Tell the legacy encoding a cell's font implies, or ``None`` for a Unicode font.

    Mapping (case-insensitive, surrounding spaces ignored):

    * names starting with ``.Vn`` (ABC fonts: ``.VnTime``, ``.VnTimeH``, ``.VnArial``,
      ``.VnArialH``, ``.VnCentury Schoolbook`` …) → ``"tcvn3"``. Names without the dot
      ("VnTime") are not trusted (some Unicode fonts look alike): they give ``None`` and
      :func:`repair_column` falls back to judging the text;
    * names starting with ``VNI-`` or ``VNI `` (``VNI-Times``, ``VNI-Helve``,
      ``VNI-Aptima``…) → ``"vni"``;
    * names containing ``VISCII`` → ``"viscii"``;
    * anything else → ``None``. VPS (``VPS Times``), BK HCM and VIQR text are not
      supported and also give ``None``.

    Example:
        >>> encoding_from_font(".VnTimeH"), encoding_from_font("VNI-Times"), encoding_from_font("Arial")
        ('tcvn3', 'vni', None)
    """
    if not font_name or not isinstance(font_name, str):
        return None
    name = font_name.strip().casefold()
    if name.startswith(("vni-", "vni ")) or name == "vni":
        return "vni"
    if name.startswith(".vn"):
        return "tcvn3"
    if "viscii" in name:
        return "viscii"
    return None


_STYLE_SUFFIX_RE = re.compile(r"(?:[\s,-]+(?:bold|italic|regular|normal|oblique))+$", re.IGNORECASE)


def is_caps_font(font_name: str | None) -> bool:
    """Tell whether a TCVN3 font is a capitals-only ("H") font such as ``.VnTimeH``.

    ABC capitals fonts end in an upper-case ``H`` (``.VnTimeH``, ``.VnArialH``,
    ``.VnCentury SchoolbookH``, ``.VnBlackH``); they draw the lower-case codes as
    capitals. A trailing style word ("Bold") is ignored. Other fonts → ``False``.

    Example:
        >>> is_caps_font(".VnTimeH"), is_caps_font(".VnTime"), is_caps_font("VNI-Helve")
        (True, False, False)
    """
    if encoding_from_font(font_name) != "tcvn3":
        return False
    name = _STYLE_SUFFIX_RE.sub("", str(font_name).strip())
    return name.endswith("H")


def decode_legacy(text: str, encoding: LegacyEncoding, caps: bool = False) -> str:
    """Turn legacy-font text (its bytes read as Windows-1252) into NFC Unicode.

    Args:
        text: the cell text as stored in the workbook, e.g. ``"Chi bé Tæ d©n phè 1"``.
        encoding: ``"tcvn3"``, ``"vni"`` or ``"viscii"``.
        caps: the cell is in a capitals font (``.VnTimeH``): the result is upper-cased,
            because those fonts draw every code, lower-case ones included, as a capital.

    Returns:
        NFC Unicode text. Characters outside the table are kept as they are.

    Example:
        >>> decode_legacy("Chi bé Tæ d©n phè 1", "tcvn3")
        'Chi bộ Tổ dân phố 1'
        >>> decode_legacy("§¶NG Bé", "tcvn3", caps=True)
        'ĐẢNG BỘ'
        >>> decode_legacy("Chi boä Toå daân phoá 1", "vni")
        'Chi bộ Tổ dân phố 1'
    """
    table = _table(encoding)
    if encoding == "viscii":
        text = _XLSX_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), text)
    decoded = table.pattern.sub(lambda m: table.decode_map[m.group(0)], text)
    decoded = unicodedata.normalize("NFC", decoded)
    return decoded.upper() if caps else decoded


def encode_legacy(text: str, encoding: LegacyEncoding, *, caps: bool = False) -> str:
    """Inverse of :func:`decode_legacy`: Unicode → legacy bytes read as Windows-1252.

    For tests and the sample builder. TCVN3 (ABC) has no toned capitals: they are written
    as the capital base letter followed by a combining tone byte (0xB0–0xB4), which
    decodes back to the same letter. With ``caps=True`` the text is lower-cased first,
    which is what a typist using a ``.VnTimeH`` font produces.

    Raises:
        ValueError: a character the encoding cannot represent (e.g. "é" in TCVN3, whose
            byte means "ộ").

    Example:
        >>> encode_legacy("Chi bộ Tổ dân phố 1", "tcvn3")
        'Chi bé Tæ d©n phè 1'
        >>> encode_legacy("ĐẢNG BỘ", "tcvn3", caps=True)
        '®¶ng bé'
    """
    table = _table(encoding)
    source = unicodedata.normalize("NFC", text)
    if caps:
        source = source.lower()
    out: list[str] = []
    for ch in source:
        if ch in table.encode_map:
            out.append(table.encode_map[ch])
        elif ord(ch) < 0x80 or ch in table.passthrough:
            out.append(ch)
        else:
            out.append(_encode_decomposed(ch, table, encoding))
    return "".join(out)


_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng


def _encode_decomposed(ch: str, table: _Table, encoding: str) -> str:
    """Base letter + combining tone byte, for letters with no code of their own."""
    decomposed = unicodedata.normalize("NFD", ch)
    tone = "".join(m for m in decomposed if m in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(m for m in decomposed if m not in _TONE_MARKS))
    if len(tone) == 1 and tone in table.encode_map:
        base_code = base if ord(base[0]) < 0x80 and len(base) == 1 else table.encode_map.get(base)
        if base_code is not None:
            return base_code + table.encode_map[tone]
    raise ValueError(f"Không mã hoá được ký tự {ch!r} sang {encoding}")


# ----- detection -----------------------------------------------------------------------------

_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnpqrstvx])?"
_NEED_CODA = ["ă", "â", "oă", "uâ", "iê", "yê", "uô", "ươ", "uyê", "oo"]
_OPTIONAL_CODA = ["a", "e", "ê", "i", "y", "o", "ô", "ơ", "u", "ư", "oa", "oe", "uê", "uy"]
_OPEN = [
    "ai", "ao", "au", "ay", "âu", "ây", "eo", "êu", "ia", "iu", "oi", "ôi", "ơi", "ua", "ui",
    "ưa", "ưi", "ưu", "iêu", "yêu", "uôi", "ươi", "ươu", "oai", "oay", "oao", "oeo", "uây",
    "uya", "uyu", "uơ", "ya",
]  # fmt: skip
_CODA = r"(?:ch|ng|nh|[cmnpt])"


def _alternation(items: list[str]) -> str:
    return "|".join(sorted(items, key=lambda s: (-len(s), s)))


_SYLLABLE_RE = re.compile(
    rf"(?P<onset>{_ONSET})"
    rf"(?:(?:{_alternation(_NEED_CODA + _OPTIONAL_CODA)})(?P<coda>{_CODA})"
    rf"|(?:{_alternation(_OPTIONAL_CODA + _OPEN)}))"
)
_STOP_CODAS = {"c", "ch", "p", "t"}
_WORD_SPLIT_RE = re.compile(r"[\s!-/:-@\[-`{-~0-9]+")  # whitespace, ASCII punctuation, digits


@functools.lru_cache(maxsize=65536)
def _is_vietnamese_syllable(word: str) -> bool:
    """Syllable structure check: onset + nucleus + coda, one tone, stop codas sắc/nặng only."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = [m for m in decomposed if m in _TONE_MARKS]
    if len(tones) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(m for m in decomposed if m not in _TONE_MARKS))
    match = _SYLLABLE_RE.fullmatch(base)
    if match is None:
        return False
    if match.group("coda") in _STOP_CODAS:  # "-c, -ch, -p, -t" take only sắc or nặng
        return bool(tones) and tones[0] in "\u0301\u0323"
    return True


@functools.cache
def _common_syllables() -> frozenset[str]:
    rows = _read_reference_csv("legacy_common_syllables.csv")
    return frozenset(unicodedata.normalize("NFC", r["syllable"]).strip() for r in rows)


def _score(text: str) -> tuple[int, int]:
    """(plausibility score, invalid word count) over the words that are not plain ASCII."""
    common = _common_syllables()
    score = invalid = 0
    for word in _WORD_SPLIT_RE.split(unicodedata.normalize("NFC", text)):
        if not word or word.isascii():
            continue
        lower = word.lower()
        if _is_vietnamese_syllable(lower):
            score += 2 if lower in common else 1
        else:
            score -= 3
            invalid += 1
    return score, invalid


@functools.cache
def _legacy_repertoire() -> frozenset[str]:
    """Every character a legacy byte can become when read as Windows-1252 (or Latin-1)."""
    return frozenset(r for b in range(0x100) for r in _byte_readings(b))


def _cannot_be_legacy(text: str) -> bool:
    repertoire = _legacy_repertoire()
    return any(ch not in repertoire for ch in text)


_DETECT_MAX_DISTINCT = 5000  # distinct non-ASCII values judged per column (first seen first)


def detect_legacy_encoding(texts: Iterable[str]) -> LegacyEncoding | None:
    """Decide whether a whole column is legacy-font text, and in which encoding.

    The column is judged together, never cell by cell. Each cell with a non-ASCII
    character votes:

    * a character no legacy byte can become (ộ, ư, đ, or a combining mark) proves the
      cell is Unicode;
    * otherwise the cell is decoded with each encoding; its words (those that are not
      plain ASCII) are scored for plausible Vietnamese — a syllable-structure check
      (onset, nucleus, coda, one tone, stop codas only with sắc/nặng) plus a bonus for
      common syllables (``reference/legacy_common_syllables.csv``). A cell votes for the
      encoding when the decoded text scores higher than the raw text ("strongly" when the
      raw text had impossible words, "d©n", and the decoded text has none), against it
      when the decoded text scores lower; a tie ("Tân" / "Tõn") does not vote.

    An encoding qualifies when it has a strong vote and at least twice as many votes as
    cells against it (cells it reads worse, plus proven Unicode cells), or (only weak
    votes) at least three votes and none against. Among qualifying encodings the one whose
    decoding raises the column's total score most wins; a tie gives ``None``. Ordinary
    Unicode Vietnamese, English and French-like text ("Café") give ``None``.

    Each distinct value is judged once and counts as often as it occurs; only the first
    5000 distinct non-ASCII values are judged, so large columns stay fast.

    Example:
        >>> detect_legacy_encoding(["Chi bé Tæ d©n phè 1", "Chi bé Tæ d©n phè 2"])
        'tcvn3'
        >>> detect_legacy_encoding(["Chi bộ Tổ dân phố 1", "Café"]) is None
        True
    """
    counts: Counter[str] = Counter(
        t for t in texts if isinstance(t, str) and not t.isascii() and not is_blank(t)
    )
    if not counts:
        return None
    proven_unicode = 0
    candidates: list[tuple[str, int, tuple[int, int]]] = []
    for cell, count in itertools.islice(counts.items(), _DETECT_MAX_DISTINCT):
        if _cannot_be_legacy(cell):
            proven_unicode += count
        else:
            candidates.append((cell, count, _score(cell)))
    firing: list[tuple[int, LegacyEncoding]] = []
    for encoding in _ENCODINGS:
        strong = votes = against = gain = 0
        for cell, count, (raw_score, raw_invalid) in candidates:
            decoded = decode_legacy(cell, encoding)
            if decoded == cell:
                continue
            dec_score, dec_invalid = _score(decoded)
            gain += count * (dec_score - raw_score)
            if dec_score > raw_score:
                votes += count
                strong += count if raw_invalid > 0 and dec_invalid == 0 else 0
            elif dec_score < raw_score:
                against += count
        against += proven_unicode
        if (strong >= 1 and votes >= 2 * against) or (votes >= 3 and against == 0):
            firing.append((gain, encoding))
    if not firing:
        return None
    firing.sort(key=lambda item: -item[0])
    if len(firing) > 1 and firing[1][0] == firing[0][0]:
        return None  # two encodings read the column equally well: do not guess
    return firing[0][1]


def _looks_caps(raw: str) -> bool:
    """A TCVN3 cell typed in an H font: at least two ASCII letters, all of them capitals."""
    letters = [ch for ch in raw if ch.isascii() and ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def repair_column(
    texts: Sequence[str | None],
    font_names: Sequence[str | None] | None = None,
) -> tuple[list[str | None], LegacyEncoding | None]:
    """Repair one column of text that may be in a legacy font; return NFC text.

    Fonts decide when they name a legacy font: the most frequent font among the column's
    non-blank text cells (ties broken alphabetically) gives the encoding, and each cell's
    own font tells whether it is a capitals (``.VnTimeH``) cell. When no font is known, or
    the majority font is a Unicode font (files re-saved by tools often carry a default
    font), :func:`detect_legacy_encoding` judges the text; then a TCVN3 cell whose ASCII
    letters are all capitals (two or more) is taken as typed in an H font. A cell holding
    a character that no legacy byte can become ("ộ", "ư") is Unicode whatever its font,
    and is only normalised.

    Args:
        texts: cell values; ``None``/NaN stay ``None``; non-string values (numbers) are
            returned unchanged.
        font_names: the font of each cell (same length), or ``None``.

    Returns:
        ``(repaired, encoding)``: the NFC texts and the encoding used, ``None`` when the
        column was left as it was (apart from NFC).

    Raises:
        ValueError: ``font_names`` has a different length from ``texts``.

    Example:
        >>> repair_column(["Chi bé 1", None], [".VnTime", ".VnTime"])
        (['Chi bộ 1', None], 'tcvn3')
    """
    values = list(texts)
    fonts = list(font_names) if font_names is not None else [None] * len(values)
    if len(fonts) != len(values):
        raise ValueError(f"font_names has {len(fonts)} entries but texts has {len(values)}")
    counts = Counter(
        f.strip()
        for v, f in zip(values, fonts, strict=True)
        if isinstance(v, str) and not is_blank(v) and isinstance(f, str) and f.strip()
    )
    encoding: LegacyEncoding | None = None
    majority_font: str | None = None
    if counts:
        majority_font = min(counts, key=lambda f: (-counts[f], f))
        encoding = encoding_from_font(majority_font)
    from_font = encoding is not None
    if not from_font:
        encoding = detect_legacy_encoding(v for v in values if isinstance(v, str))
    repaired: list[str | None] = []
    for value, font in zip(values, fonts, strict=True):
        if _is_missing(value):
            repaired.append(None)
        elif not isinstance(value, str):
            repaired.append(value)
        elif encoding is None or _cannot_be_legacy(value):
            repaired.append(nfc(value))
        else:
            if from_font:
                cell_font = font.strip() if isinstance(font, str) and font.strip() else None
                caps = is_caps_font(cell_font or majority_font)
            else:
                caps = encoding == "tcvn3" and _looks_caps(value)
            repaired.append(decode_legacy(value, encoding, caps=caps))
    return repaired, encoding
