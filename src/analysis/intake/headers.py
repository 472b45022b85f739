"""Column headers read by meaning: subject × measure × basis × rating level, the rest kept as text.

A header cell is folded (:func:`analysis.text.fold`; "%" read as a word) and scanned for the
longest phrases of ``reference/header_concepts.csv``; each phrase gives a concept. A column's
header is the stack of its header cells, top to bottom (merged group cells spread over the columns
they cover); :func:`read_stack` combines them: the lowest cell that names a subject or a measure
wins, a weak measure ("SL", "Số") gives way to a stronger one named above it, a rating level
named anywhere in the stack is kept, and the words that are no concept (a resolution's name in a
group cell) are returned as ``rest`` for the caller to resolve as a campaign.
:func:`field_of` then gives the canonical field from ``reference/header_fields.csv``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from analysis.text import fold

#: Measures that say little, weakest first: a vague "số …" (see :func:`read_text`), "a number of", "tổng số" ("Tổng số ĐV được đánh giá" is
#: the assessed count, "Tổng số ĐV tham gia" the attended), "học tập" (attended, unless a cell under it
#: says what is counted: "Kết quả học tập / Đảng viên / SL" is the members' total). Any other measure
#: named in the stack wins over them; within one cell the stronger one.
WEAK_MEASURES = ("vague", "count", "total", "study")
#: Prefix of a field in header_fields.csv that sets a column aside on purpose.
SET_ASIDE = "set_aside:"

_YEAR_PHRASE = re.compile(r"\bnam (19|20)\d\d\b")
_NUMBERING = re.compile(r"^\(?\s*(\d{1,2}|[a-z])\s*\)?(\s*[=+\-*/x]\s*\(?\s*(\d{1,2}|[a-z])\s*\)?)*$",
                        re.IGNORECASE)


@dataclass(frozen=True)
class Concepts:
    """What one header text names.

    Attributes:
        subject: ``members``, ``public``, ``units`` or "" (none named).
        measure: A measure of header_concepts.csv, or "".
        basis: ``attendances``, ``persons`` or "".
        rest: Folded words that are no concept (a campaign's name, an unknown word), in order.
        qualifier: ``subpopulation`` ("nữ", "dân tộc thiểu số") or ``other_period`` ("đầu kỳ"): the
            figure is not the canonical one; or "".
        year: The year a cell dates its figures to ("Năm 2015" over "Tổng số | Miễn"), if any.
    """

    subject: str = ""
    measure: str = ""
    basis: str = ""
    rest: str = ""
    qualifier: str = ""
    year: int | None = None

    @property
    def empty(self) -> bool:
        """Whether the text named no concept at all."""
        return not (self.subject or self.measure or self.basis)


@cache
def vocabulary() -> dict[tuple[str, ...], tuple[str, str]]:
    """Folded phrase (as words) -> (kind, concept), from ``reference/header_concepts.csv``."""
    raw = resources.files("analysis.reference").joinpath("header_concepts.csv").read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    return {tuple(fold(r["phrase"]).split()): (r["kind"], r["concept"]) for r in csv.DictReader(lines)}


@cache
def _longest_phrase() -> int:
    return max(len(p) for p in vocabulary())


def _rank(measure: str) -> int:
    return WEAK_MEASURES.index(measure) if measure in WEAK_MEASURES else len(WEAK_MEASURES)


@cache
def field_rules() -> tuple[tuple[str, str, str], ...]:
    """(subject, measure, field) lines of ``reference/header_fields.csv``, in file order."""
    raw = resources.files("analysis.reference").joinpath("header_fields.csv").read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    return tuple((r["subject"], r["measure"], r["field"]) for r in csv.DictReader(lines))


def is_numbering(text: str) -> bool:
    """Whether a header cell only numbers the column ("(1)", "A", "3 = 1 - 2").

    Example:
        >>> is_numbering("(3)"), is_numbering("5=3+4"), is_numbering("B"), is_numbering("Tổng số")
        (True, True, True, False)
    """
    return bool(_NUMBERING.match(text.strip()))


@cache
def read_text(text: str) -> Concepts:
    """The concepts one header text names.

    A cell whose only measure is "số"/"tổng số" beside words no concept explains ("Số ĐV đến 31/12")
    gives the measure ``vague``, which no field takes: which total it is, is not known.

    Example:
        >>> read_text("ĐV tham gia học tập")
        Concepts(subject='members', measure='attended', basis='', rest='')
        >>> read_text("Quần chúng (đối tượng)")
        Concepts(subject='public', measure='target', basis='', rest='')
        >>> read_text("Nghị quyết TW 4 khóa XII").rest
        'nghi quyet tw 4 khoa xii'
    """
    # "năm 2017" in a group title dates it; "Năm" alone is the year column
    folded = fold(text.replace("%", " phan tram "))
    dated = _YEAR_PHRASE.search(folded)
    words = _YEAR_PHRASE.sub(" ", folded).split()
    vocab = vocabulary()
    found: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(words):
        for n in range(min(_longest_phrase(), len(words) - i), 0, -1):
            hit = vocab.get(tuple(words[i:i + n]))
            if hit is not None:
                kind, concept = hit
                if kind == "measure" and found.get("measure"):
                    # "Số ĐV tham gia", "Số ĐV học tập": the stronger measure of the cell stays
                    if _rank(concept) > _rank(found["measure"]):
                        found["measure"] = concept
                elif kind == "subject" and found.get("measure") and found.get("subject"):
                    rest.extend(words[i:i + n])  # "… tham gia Chỉ thị 05 … phong cách quần chúng": a title's words
                elif kind == "subject" and found.get("subject") not in (None, concept) \
                        and {found["subject"], concept} <= {"members", "public", "mixed"}:
                    found["subject"] = "mixed"  # "Số cán bộ, đảng viên và quần chúng tham gia": one figure, two subjects
                elif kind != "noise":
                    found.setdefault(kind, concept)
                i += n
                break
        else:
            if not words[i].isdigit():
                rest.append(words[i])
            i += 1
    measure, subject = found.get("measure", ""), found.get("subject", "")
    if measure == "year" and (rest or len(found) > 1):
        measure = ""  # "Tăng trong năm", "Số ĐV cuối năm": a period, not the year column
    if measure in ("count", "total") and rest:
        # "Số ĐV đến 31/12/2015", "Tổng số … khác": which total is not known; no field takes it
        measure, subject = "vague", ""
    return Concepts(subject, measure, found.get("basis", ""), " ".join(rest), found.get("qualifier", ""),
                    int(dated.group(0)[-4:]) if dated else None)


def subjects_named(text: str) -> frozenset[str]:
    """Every subject a text names (a title: "KẾT QUẢ HỌC TẬP CỦA QUẦN CHÚNG NHÂN DÂN" names the public).

    Example:
        >>> sorted(subjects_named("Kết quả học tập của cán bộ, đảng viên và quần chúng"))
        ['mixed']
    """
    return frozenset(read_text(part).subject for part in re.split(r"[|\n;]", text)) - {""}


def read_stack(texts: list[str]) -> Concepts:
    """Combine the concepts of a column's header cells, top to bottom.

    The lowest cell naming a subject gives the subject; the lowest naming a strong measure gives
    the measure (a weak one only when no cell names a strong one); ``rest`` joins every cell's
    unknown words.

    Example:
        >>> read_stack(["Đảng viên", "Tổng số"])
        Concepts(subject='members', measure='total', basis='', rest='')
        >>> read_stack(["Tham gia học tập", "Quần chúng", "SL"])
        Concepts(subject='public', measure='attended', basis='', rest='')
    """
    subject = measure = basis = qualifier = ""
    year: int | None = None
    rest: list[str] = []
    for text in texts:
        c = read_text(text)
        year = c.year or year
        subject = c.subject or subject
        basis = c.basis or basis
        if len(text.split()) <= 4:  # a part named in a short cell ("Trong đó: nữ"), not in a campaign's title
            qualifier = c.qualifier or qualifier
        if c.measure and (c.measure not in WEAK_MEASURES or not measure or measure in WEAK_MEASURES):
            measure = c.measure
        if c.rest:
            rest.append(c.rest)
    return Concepts(subject, measure, basis, " ".join(rest), qualifier, year)


def field_of(c: Concepts) -> str | None:
    """The canonical field (or ``set_aside:<rule>``) a column's concepts give, or None.

    Example:
        >>> field_of(read_stack(["Đảng viên", "Tổng số"]))
        'members_total'
        >>> field_of(read_stack(["Quần chúng", "Lượt"]))
        'public_attended'
        >>> field_of(read_stack(["Quần chúng"])) is None
        True
    """
    if c.qualifier:
        return f"{SET_ASIDE}{c.qualifier}"  # "Đảng viên nữ", "Tổng số đầu kỳ"
    if c.subject == "public" and c.basis == "attendances" and c.measure in ("", "count"):
        return "public_attended"
    if c.subject in ("members", "public") and not c.measure and c.rest:
        return None  # a subject with words no concept explains ("Đảng viên khối cơ quan"): not guessed
    for subject, measure, fld in field_rules():
        if subject in ("*", c.subject) and measure == c.measure and (subject == "*" or subject == c.subject):
            if subject == "*" and not c.measure:
                continue
            return fld
    return None
