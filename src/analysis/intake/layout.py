"""Layout of a sheet: where the header is, what each column means, which table it feeds.

Header spellings are data (``reference/header_synonyms.csv``) compared after
:func:`analysis.text.fold`. Two-row headers (a merged group cell such as "Đảng viên" over
"Tổng số | Tham gia | Tỷ lệ (%)") are joined: a synonym may require its group.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from analysis import ratings
from analysis.intake.readers import Grid
from analysis.text import fold

#: How many top rows may hold titles and the header.
HEADER_SEARCH_ROWS = 25

#: Fields that identify the unit of a row.
UNIT_FIELDS = ("unit_name", "unit_code")

#: Fields that are read but not stored (used for checks).
AUX_FIELDS = ("row_number", "note", "members_eligible", "members_pct", "public_pct")


@dataclass(frozen=True)
class Synonym:
    """One header spelling: folded text, canonical field and optional folded group."""

    text: str
    field: str
    group: str


@cache
def synonyms() -> tuple[Synonym, ...]:
    """Header synonyms from ``reference/header_synonyms.csv`` (folded, longest group first)."""
    raw = resources.files("analysis.reference").joinpath("header_synonyms.csv").read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    out = [Synonym(fold(r["synonym"]), r["field"], fold(r.get("group") or ""))
           for r in csv.DictReader(lines)]
    return tuple(sorted(out, key=lambda s: -len(s.group)))


def _contains_words(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


@cache
def map_header(group: str, sub: str) -> str | None:
    """Canonical field of a column from its (folded) group and sub-header texts.

    Example:
        >>> map_header("dang vien", "tham gia")
        'members_attended'
        >>> map_header("", "so dv mien sh")
        'members_exempt'
    """
    syns = synonyms()
    if group and sub:
        for s in syns:
            if s.group and s.text == sub and _contains_words(group, s.group):
                return s.field
        joined = f"{group} {sub}"
        for s in syns:
            if not s.group and s.text == joined:
                return s.field
    text = sub or group
    for s in syns:
        if not s.group and s.text == text:
            return s.field
    return None


@dataclass
class Header:
    """A detected header.

    Attributes:
        first_row: 0-based index of the first header row.
        last_row: 0-based index of the last header row (equal to first_row for one-row headers).
        labels: Raw header text of each column (group and sub joined by " / ").
        fields: Column index -> canonical field.
        levels: Column index -> rating level (wide member-rating sheets).
        unmapped: Labels of non-empty header cells that mapped to nothing.
    """

    first_row: int
    last_row: int
    labels: list[str]
    fields: dict[int, str] = field(default_factory=dict)
    levels: dict[int, ratings.Level] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        """How many columns were recognised."""
        return len(self.fields) + len(self.levels)

    def column_of(self, name: str) -> int | None:
        """Column index of a canonical field, or None."""
        for col, f in self.fields.items():
            if f == name:
                return col
        return None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


class _Rows:
    """Header-row texts of a grid, computed once per sheet (detection tries many row pairs)."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.width = grid.width
        self._group: dict[int, list[str]] = {}
        self._plain: dict[int, list[str]] = {}

    def plain(self, r: int) -> list[str]:
        """Texts of row ``r`` as typed."""
        if r not in self._plain:
            row = self.grid.rows[r] if r < len(self.grid.rows) else []
            texts = [_text(v) for v in row]
            self._plain[r] = texts + [""] * (self.width - len(texts))
        return self._plain[r]

    def group(self, r: int) -> list[str]:
        """Texts of row ``r`` with horizontally merged cells spread over their columns."""
        if r not in self._group:
            texts = list(self.plain(r))
            for r0, c0, r1, c1 in self.grid.merged:
                if r0 <= r <= r1 and c1 > c0:
                    value = _text(self.grid.cell(r0, c0))
                    for c in range(c0, min(c1 + 1, len(texts))):
                        texts[c] = value
            self._group[r] = texts
        return self._group[r]


def _build(rows: _Rows, r: int, two_rows: bool, year: int | None, overrides: dict[str, str]) -> Header:
    width = rows.width
    top = rows.group(r)
    sub = rows.plain(r + 1) if two_rows else [""] * width
    header = Header(r, r + 1 if two_rows else r, [])
    for c in range(width):
        g, s = top[c], sub[c]
        label = " / ".join(x for x in (g, s) if x) if (g != s) else g
        header.labels.append(label)
        if not label:
            continue
        pinned = overrides.get(fold(label)) if overrides else None
        if pinned is not None:
            if pinned not in IGNORE_FIELDS:
                header.fields[c] = pinned
            continue
        gf, sf = fold(g), fold(s)
        fld = map_header(gf, sf) if s else map_header("", gf)
        if fld is not None and fld not in header.fields.values():
            header.fields[c] = fld
            continue
        level = None
        if year is not None:
            for candidate in (s, g) if s else (g,):
                if candidate:
                    level = _header_level(candidate, year)
                    if level is not None:
                        break
        if level is not None and level.rating_code == "not-assessed":
            if "members_not_assessed" not in header.fields.values():
                header.fields[c] = "members_not_assessed"
            continue
        if level is not None and all(lv.rating_code != level.rating_code for lv in header.levels.values()):
            header.levels[c] = level
        else:
            header.unmapped.append(label)
    return header


#: Values of a column pin (mapping file) that mean "not a data column".
IGNORE_FIELDS = ("", "ignore", "-", "none")


@cache
def _header_level(text: str, year: int) -> ratings.Level | None:
    try:
        return ratings.match_header_level(text, year, "member")
    except ratings.SchemeError:
        return None


def detect_header(grid: Grid, year: int | None, overrides: dict[str, str] | None = None,
                  pinned_rows: tuple[int, int] | None = None) -> Header | None:
    """Find the header row(s) among the first rows of ``grid``.

    Tries every row (and every pair of rows) in the first :data:`HEADER_SEARCH_ROWS` rows and keeps
    the one that recognises most columns; a header must name the unit column and one more field.

    Args:
        grid: The sheet.
        year: Assessment year, needed to recognise rating-level columns.
        overrides: Folded raw header label -> field, from a user mapping file (wins over synonyms;
            a field in :data:`IGNORE_FIELDS` drops the column).
        pinned_rows: 0-based (first, last) header rows from a mapping file: no search.

    Example:
        >>> from analysis.intake.readers import Grid
        >>> g = Grid("a.csv", "", [["BÁO CÁO NĂM 2014"], ["STT", "Tên chi bộ", "TS ĐV"], [1, "CB 1", 5]])
        >>> h = detect_header(g, 2014)
        >>> h.first_row, sorted(h.fields.values())
        (1, ['members_total', 'row_number', 'unit_name'])
    """
    rows = _Rows(grid)
    folded = {fold(k): v for k, v in (overrides or {}).items()}
    if pinned_rows is not None:
        first, last = pinned_rows
        if first >= len(grid.rows):
            return None
        return _build(rows, first, last > first, year, folded)
    best: Header | None = None
    limit = min(HEADER_SEARCH_ROWS, len(grid.rows))
    for r in range(limit):
        if not any(rows.plain(r)):
            continue
        for two in (False, True):
            if two and r + 1 >= len(grid.rows):
                continue
            h = _build(rows, r, two, year, folded)
            if not any(f in h.fields.values() for f in UNIT_FIELDS):
                continue
            if h.score < 2:
                continue
            # more recognised columns wins; on a tie the shorter header (a title row right above a
            # one-row header must not be taken for a group row)
            if best is None or (h.score, best.last_row - best.first_row) > (best.score, h.last_row - h.first_row):
                best = h
    return best


def classify(header: Header) -> tuple[str | None, str]:
    """Decide which canonical table a sheet feeds from its recognised columns.

    Returns:
        (table name or None, a Vietnamese explanation).
    """
    fields = set(header.fields.values())
    if len(header.levels) >= 2:
        return "member_ratings", "có các cột mức xếp loại đảng viên"
    if fields & {"members_attended", "public_attended"}:
        return "study_participation", "có cột số tham gia học tập"
    if "rating_label" in fields:
        return "unit_ratings", "có cột xếp loại tổ chức đảng"
    if "members_total" in fields:
        return "membership", "có cột tổng số đảng viên"
    known = ", ".join(sorted(fields)) or "không có"
    return None, f"không nhận ra bảng chuẩn nào từ các cột (đã nhận: {known})"


_YEAR_RE = re.compile(r"\bnam\s+(20\d{2}|19\d{2})\b")
_ANY_YEAR_RE = re.compile(r"(?<!\d)(20\d{2})(?!\d)")


def title_text(grid: Grid, header: Header | None) -> str:
    """Text of the rows above the header (or of the first rows when no header was found)."""
    stop = header.first_row if header else min(HEADER_SEARCH_ROWS, len(grid.rows))
    parts = []
    for r in range(stop):
        parts.extend(_text(v) for v in grid.rows[r] if isinstance(v, str) and v.strip())
    return " | ".join(parts)


def year_from_title(text: str) -> int | None:
    """The year stated in title rows ("NĂM 2016", "năm 2014"), else a lone 4-digit year.

    Example:
        >>> year_from_title("ĐẢNG BỘ PHƯỜNG TÂN THANH | NĂM 2014")
        2014
    """
    folded = fold(text)
    m = _YEAR_RE.search(folded)
    if m:
        return int(m.group(1))
    years = {int(y) for y in _ANY_YEAR_RE.findall(folded) if 2000 <= int(y) <= 2100}
    return years.pop() if len(years) == 1 else None


def year_from_path(rel: str) -> int | None:
    """The year of a file from its folder (``<year>/...``) or, failing that, its file name."""
    parts = rel.split("/")
    for part in parts[:-1]:
        if re.fullmatch(r"(19|20)\d{2}", part):
            return int(part)
    m = _ANY_YEAR_RE.findall(parts[-1])
    return int(m[-1]) if len(m) == 1 else None
