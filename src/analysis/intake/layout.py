"""Layout of a sheet: where its header is, what each column means, where a table starts and ends.

Headers are read by meaning (:mod:`analysis.intake.headers`: subject × measure × basis, rating
levels, the rest as text that may name a campaign), over one, two or three header rows with merged
group cells at any level. Totals and note rows are recognised by their first words
(``reference/row_markers.csv``); tables stacked in one sheet are cut apart (:func:`split_tables`).
What the columns feed is decided by :mod:`analysis.intake.sheetplan`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources

from analysis import ratings
from analysis.intake import headers
from analysis.intake.readers import Grid
from analysis.text import fold, is_blank, parse_vi_number

#: How many top rows may hold titles and the header.
HEADER_SEARCH_ROWS = 25

#: Fields that identify the unit of a row.
UNIT_FIELDS = ("unit_name", "unit_code")



@dataclass(frozen=True)
class Column:
    """What one header column means.

    Attributes:
        label: The header text, group cells first, joined by " / ".
        concepts: Subject, measure and basis read in the stack (:func:`headers.read_stack`).
        field: Canonical or auxiliary field, ``set_aside:<rule>``, or None (not understood).
        member_level: The member rating level the header names in the sheet's year, if any.
        unit_level: The unit rating level the header names in the sheet's year, if any.
        pinned: Whether ``mapping.yaml`` decided the field.
        texts: The header cells, top to bottom.
    """

    label: str
    concepts: headers.Concepts
    field: str | None = None
    member_level: ratings.Level | None = None
    unit_level: ratings.Level | None = None
    pinned: bool = False
    texts: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        """Whether the column has a meaning (a field, a rule or a rating level)."""
        return self.field is not None or self.member_level is not None or self.unit_level is not None

    @property
    def campaign_text(self) -> str:
        """Words of the header that name no concept (a campaign named in a group cell)."""
        return self.concepts.rest

    def campaign(self, campaign_of: Callable[[str], str | None]) -> str | None:
        """The campaign a cell of the header names ("Nghị quyết Trung ương 4 khóa XII" over
        "Tham gia"), top cell first; None when the header has no free words or names none."""
        if not self.campaign_text:
            return None
        return next((cid for cid in map(campaign_of, self.texts) if cid is not None), None)


@dataclass
class Header:
    """A detected header, or the part of one that feeds one table.

    Attributes:
        first_row: 0-based index of the first header row.
        last_row: 0-based index of the last header row (numbering row under it included).
        labels: Raw header text of each column (group cells first, joined by " / ").
        fields: Column index -> canonical field.
        levels: Column index -> rating level (wide member-rating sheets, x-marked unit ratings).
        columns: Column index -> what the header says of it (every non-empty header column).
    """

    first_row: int
    last_row: int
    labels: list[str]
    fields: dict[int, str] = field(default_factory=dict)
    levels: dict[int, ratings.Level] = field(default_factory=dict)
    columns: dict[int, Column] = field(default_factory=dict)

    @property
    def score(self) -> int:
        """Distinct meanings recognised (a field under two campaign groups counts twice)."""
        return len({(c.field, c.member_level, c.unit_level,
                     c.campaign_text if c.field in STUDY_FIELDS + MEMBERSHIP_FIELDS else "")
                    for c in self.columns.values() if c.understood})

    def column_of(self, name: str) -> int | None:
        """Column index of a canonical field, or None."""
        for col, f in self.fields.items():
            if f == name:
                return col
        return None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


class _Rows:
    """Header-row texts of a grid, computed once per sheet (detection tries many row spans)."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self.width = grid.width
        self._group: dict[int, list[str]] = {}
        self._plain: dict[int, list[str]] = {}
        self._figures: dict[int, bool] = {}
        #: (first row, height) -> header texts with groups filled (see _filled)
        self.filled: dict[tuple[int, int], list[list[str]]] = {}

    def plain(self, r: int) -> list[str]:
        """Texts of row ``r`` as typed."""
        if r not in self._plain:
            row = self.grid.rows[r] if r < len(self.grid.rows) else []
            texts = [_text(v) for v in row]
            self._plain[r] = texts + [""] * (self.width - len(texts))
        return self._plain[r]

    def group(self, r: int) -> list[str]:
        """Texts of row ``r`` with merged cells spread over the columns and rows they cover."""
        if r not in self._group:
            texts = list(self.plain(r))
            for r0, c0, r1, c1 in self.grid.merged:
                if r0 <= r <= r1 and (c1 > c0 or r > r0):
                    value = _text(self.grid.cell(r0, c0))
                    for c in range(c0, min(c1 + 1, len(texts))):
                        texts[c] = value
            self._group[r] = texts
        return self._group[r]

    def is_title(self, r: int) -> bool:
        """A row with one text spread over (nearly) the whole width is a title, not a group row."""
        texts = [t for t in self.group(r) if t]
        return bool(texts) and len(set(texts)) == 1 and len(texts) >= max(3, 0.9 * self.width)

    def continues_merge(self, r: int) -> bool:
        """Whether a cell of row ``r`` is the lower part of a cell merged down from above (a header
        never starts inside one)."""
        return any(r0 < r <= r1 for r0, _, r1, _ in self.grid.merged)

    def holds_figures(self, r: int) -> bool:
        """A row with two or more numbers is a body row, never a header row."""
        if r not in self._figures:
            row = self.grid.rows[r] if r < len(self.grid.rows) else []
            self._figures[r] = sum(looks_numeric(v) for v in row) >= 2 and not self.is_numbering(r)
        return self._figures[r]

    def is_numbering(self, r: int) -> bool:
        """A row that only numbers the columns ("(1) (2) (3)", "A B 1 2 = 3")."""
        texts = [t for t in self.plain(r) if t]
        return len(texts) >= 2 and all(headers.is_numbering(t) for t in texts)


@cache
def _header_level(text: str, year: int, subject: str) -> ratings.Level | None:
    try:
        return ratings.match_header_level(text, year, subject)
    except ratings.SchemeError:
        return None


def _levels(stack: list[str], year: int | None) -> tuple[ratings.Level | None, ratings.Level | None, int]:
    """The member and unit levels named by the lowest cell of the stack that names one (the cell
    itself, or its words that are no concept: "HTXSNV (SL)", "ĐV HT tốt NV"), and that cell's
    position (-1: none)."""
    if year is None:
        return None, None, -1
    for k in range(len(stack) - 1, -1, -1):
        cell = headers.read_text(stack[k])
        # the words left over name a level only where the cell counts ("HTXSNV (SL)", "ĐV HTNV"),
        # not where it names a figure of its own ("TSVM tiêu biểu" is the exemplary flag)
        rest = cell.rest if cell.measure in ("", "pct", *headers.WEAK_MEASURES) else ""
        for text in (stack[k], rest):
            if not text:
                continue
            member, unit = _header_level(text, year, "member"), _header_level(text, year, "unit")
            if member is not None or unit is not None:
                return member, unit, k
    return None, None, -1


@cache
def _column(stack: tuple[str, ...], year: int | None, pinned: str | None) -> Column:
    """What a column's header cells mean (the same headers recur in every workbook of a folder)."""
    return replace(_meaning(stack, year, pinned), texts=stack)


def _meaning(stack: tuple[str, ...], year: int | None, pinned: str | None) -> Column:
    label = " / ".join(stack)
    concepts = headers.read_stack(list(stack))
    if pinned is not None:
        fld = f"{headers.SET_ASIDE}pinned" if pinned in IGNORE_FIELDS else pinned
        return Column(label, concepts, fld, pinned=True)
    member, unit, at = _levels(stack, year)
    fld = headers.field_of(concepts)
    if fld is not None and any(lv is not None and lv.is_special for lv in (member, unit)):
        member = unit = None  # "Số ĐV miễn SH" is the exempt count, "Chưa đánh giá" the not assessed
    if member is not None or unit is not None:
        if concepts.measure == "pct":
            return Column(label, concepts, f"{headers.SET_ASIDE}level_pct")
        below = headers.read_stack(list(stack[at + 1:])) if at + 1 < len(stack) else headers.Concepts()
        if below.measure and below.measure not in headers.WEAK_MEASURES:
            member = unit = None  # "Tổng số ĐV được đánh giá" under a level group is not a level
        else:
            return Column(label, concepts, None, member, unit)
    return Column(label, concepts, fld)


def _filled(rows: _Rows, r: int, height: int) -> list[list[str]]:
    """The header rows' texts, a group row without merges filled rightwards: a group written once
    over its columns (merges lost in a CSV export, or never drawn) covers the columns after it
    that have cells below it, up to the next text of that row."""
    key = (r, height)
    if key not in rows.filled:
        rows.filled[key] = _fill(rows, r, height)
    return rows.filled[key]


def _fill(rows: _Rows, r: int, height: int) -> list[list[str]]:
    out = []
    for k in range(height):
        texts = list(rows.group(r + k) if k < height - 1 else rows.plain(r + k))
        merged_here = any(r0 <= r + k <= r1 and c1 > c0 for r0, c0, r1, c1 in rows.grid.merged)
        if k < height - 1 and not merged_here:
            below = [any(rows.plain(r + j)[c] for j in range(k + 1, height)) for c in range(rows.width)]
            for c in range(1, rows.width):
                if not texts[c] and texts[c - 1] and below[c] and below[c - 1]:
                    texts[c] = texts[c - 1]
        out.append(texts)
    return out


def _rate_of_the_left(col: Column, left: Column | None) -> Column:
    """A rate that names no subject ("%", "TL") is the rate of the count on its left: of a level
    (set aside, recomputed), of the public, else of the members."""
    if col.pinned or col.concepts.measure != "pct" or col.concepts.subject or left is None:
        return col
    if left.member_level is not None or left.unit_level is not None or left.field == f"{headers.SET_ASIDE}level_pct":
        return replace(col, field=f"{headers.SET_ASIDE}level_pct")
    if left.field in ("public_target", "public_attended"):
        return replace(col, field="public_pct")
    return col


def _stack(rows: _Rows, r: int, height: int, c: int, filled: list[list[str]] | None = None) -> list[str]:
    out: list[str] = []
    filled = filled or _filled(rows, r, height)
    for k in range(height):
        text = filled[k][c]
        if k == height - 1 and not text:
            text = rows.group(r + k)[c]  # a cell merged down into the last row
        if text and not headers.is_numbering(text) and (not out or out[-1] != text):
            out.append(text)
    return out


def _build(rows: _Rows, r: int, height: int, year: int | None, overrides: dict[str, str]) -> Header:
    header = Header(r, r + height - 1, [])
    filled = _filled(rows, r, height)
    for c in range(rows.width):
        stack = _stack(rows, r, height, c, filled)
        label = " / ".join(stack)
        header.labels.append(label)
        if not label:
            continue
        col = _column(tuple(stack), year, overrides.get(fold(label)) if overrides else None)
        col = _rate_of_the_left(col, header.columns.get(c - 1))
        header.columns[c] = col
        if col.field and not col.field.startswith(headers.SET_ASIDE) and col.field not in header.fields.values():
            header.fields[c] = col.field
        elif col.member_level is not None and not col.member_level.is_special:
            header.levels.setdefault(c, col.member_level)
    if r + height < len(rows.grid.rows) and rows.is_numbering(r + height):
        header.last_row += 1
    return header


#: Values of a column pin (mapping file) that mean "not a data column".
IGNORE_FIELDS = ("", "ignore", "-", "none")
#: Header heights tried (rows).
HEADER_HEIGHTS = (1, 2, 3)


def detect_header(grid: Grid, year: int | None, overrides: dict[str, str] | None = None,
                  pinned_rows: tuple[int, int] | None = None) -> Header | None:
    """Find the header row(s) among the first rows of ``grid``.

    Tries every row and every span of two or three rows in the first :data:`HEADER_SEARCH_ROWS`
    rows and keeps the one that recognises most distinct meanings (on a tie the shorter: a title
    row right above a one-row header is not a group row); a header must name the unit column and
    one more field. A row of column numbers under the header ("(1) (2) (3)") belongs to it.

    Args:
        grid: The sheet.
        year: Assessment year, needed to recognise rating-level columns.
        overrides: Folded raw header label -> field, from a user mapping file (wins over the
            vocabulary; a field in :data:`IGNORE_FIELDS` sets the column aside).
        pinned_rows: 0-based (first, last) header rows from a mapping file: no search.

    Example:
        >>> from analysis.intake.readers import Grid
        >>> g = Grid("a.csv", "", [["BÁO CÁO NĂM 2014"], ["STT", "Tên chi bộ", "TS ĐV"], [1, "CB 1", 5]])
        >>> h = detect_header(g, 2014)
        >>> h.first_row, sorted(h.fields.values())
        (1, ['members_total', 'unit_name'])
    """
    rows = _Rows(grid)
    folded = {fold(k): v for k, v in (overrides or {}).items()}
    if pinned_rows is not None:
        first, last = pinned_rows
        if first >= len(grid.rows):
            return None
        return _build(rows, first, last - first + 1, year, folded)
    best: Header | None = None
    start = next((r for r in range(len(grid.rows)) if any(rows.plain(r))), 0)  # a lower table's rows
    limit = min(start + HEADER_SEARCH_ROWS, len(grid.rows))
    for r in range(start, limit):
        if not any(rows.plain(r)) or rows.is_title(r) or rows.is_numbering(r) or rows.continues_merge(r):
            continue
        if rows.holds_figures(r):
            continue
        for height in HEADER_HEIGHTS:
            last = r + height - 1
            if last >= len(grid.rows) or (height > 1 and (rows.is_numbering(last) or rows.holds_figures(last))):
                break
            h = _build(rows, r, height, year, folded)
            if not any(f in h.fields.values() for f in UNIT_FIELDS) or h.score < 2:
                continue
            if best is None or (h.score, best.last_row - best.first_row) > (best.score, h.last_row - h.first_row):
                best = h
    return _extend_down(rows, best, year, folded) if best is not None else None


@cache
def row_markers() -> dict[str, frozenset[str]]:
    """Folded first-cell markers of totals and note rows (``reference/row_markers.csv``)."""
    raw = resources.files("analysis.reference").joinpath("row_markers.csv").read_text(encoding="utf-8")
    lines = [ln for ln in raw.splitlines() if ln.strip() and not ln.startswith("#")]
    out: dict[str, set[str]] = {"total": set(), "note": set()}
    for r in csv.DictReader(lines):
        out[r["kind"]].add(fold(r["text"]))
    return {k: frozenset(v) for k, v in out.items()}


def marker_kind(text: str) -> str | None:
    """``total`` or ``note`` when a cell's text marks a totals or a note row ("Tổng cộng", "Ghi
    chú: …"), else None. A short total marker ("Cộng") must be the whole cell: "Công an" is a unit.

    Example:
        >>> marker_kind("Cộng toàn Đảng bộ"), marker_kind("Nguồn: báo cáo"), marker_kind("Chi bộ Công an")
        ('total', 'note', None)
    """
    f = fold(text)
    markers = row_markers()
    if f in markers["total"] or any(f.startswith(m + " ") for m in markers["total"] if len(m) > 4):
        return "total"
    if any(f == m or f.startswith(m + " ") for m in markers["note"]):
        return "note"
    return None


@cache
def _marker_words() -> frozenset[str]:
    """First words of the note markers ("Ghi chú: …", "Nguồn"): such a row is no sub-header (a totals
    row holds figures, which no sub-header does)."""
    return frozenset(m.split(" ")[0] for m in row_markers()["note"])


def _extend_down(rows: _Rows, header: Header, year: int | None, overrides: dict[str, str]) -> Header:
    """Take the rows right under a header into it while they read as header cells: text only,
    nothing in the unit column, and the header still reads as well (a sub-header row whose
    merges were lost in a CSV export, "(người)" under the labels). A body row always names its unit."""
    # a sub-header cell stands under a figure's column, never in the unit, STT or note column
    unit_cols = [c for c, col in header.columns.items()
                 if col.field in (*UNIT_FIELDS, f"{headers.SET_ASIDE}row_number", f"{headers.SET_ASIDE}note")]
    while header.last_row + 1 - header.first_row < max(HEADER_HEIGHTS):
        r = header.last_row + 1
        row = rows.grid.rows[r] if r < len(rows.grid.rows) else []
        cells = [v for v in row if not is_blank(v)]
        if not cells or any(looks_numeric(v) or is_mark(v) for v in cells) or rows.is_numbering(r) \
                or fold(str(cells[0])).split(" ")[0] in _marker_words() \
                or any(c < len(row) and not is_blank(row[c]) for c in unit_cols):
            return header
        taller = _build(rows, header.first_row, r - header.first_row + 1, year, overrides)
        if taller.score < header.score or not any(f in taller.fields.values() for f in UNIT_FIELDS):
            return header
        header = taller
    return header


#: Fields a study part holds (per campaign).
STUDY_FIELDS = ("members_attended", "members_attended_makeup", "public_target", "public_attended", "is_held",
                "members_pct", "public_pct", "members_eligible")
#: Fields a membership part holds.
MEMBERSHIP_FIELDS = ("members_total", "members_exempt")
#: Fields a unit-rating part holds.
UNIT_RATING_FIELDS = ("rating_label", "is_exemplary", "score")
#: Fields a member-rating part holds (besides its level columns).
MEMBER_RATING_FIELDS = ("members_not_assessed", "members_assessed")
#: Fields every part of a sheet shares (they say whose row and which year or campaign it is).
ROW_FIELDS = ("unit_name", "unit_code", "year", "campaign")
#: Auxiliary fields: read to check stated figures (recomputed, not stored).
CHECK_FIELDS = ("members_pct", "public_pct", "members_eligible", "members_assessed")


#: Cell texts that mark a level column (x-marked unit ratings: "x" in the column of the unit's level).
MARKS = frozenset({"x", "v", "✓", "✔", "+", "*"})


def is_mark(value: object) -> bool:
    """Whether a cell marks a level column ("x", "X", "✓").

    Example:
        >>> is_mark(" X "), is_mark("✓"), is_mark(3)
        (True, True, False)
    """
    return isinstance(value, str) and (value.strip() in MARKS or fold(value) in MARKS)


def column_letter(c: int) -> str:
    """Excel letter of a 0-based column ("A", …, "Z", "AA").

    Example:
        >>> column_letter(0), column_letter(27)
        ('A', 'AB')
    """
    out = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        out = chr(65 + rem) + out
    return out


def split_tables(grid: Grid, header: Header, year: int | None, overrides: dict[str, str] | None = None
                 ) -> list[Grid] | None:
    """Two tables stacked in one sheet, each with its own header (membership above study, unit
    ratings above member ratings): the sheet cut in two, or None when it holds one table.

    A table stands above the header when rows above it hold figures; one stands below when a
    text-only row after the body's figures reads as a header (a unit column headed "Tên chi bộ" or
    "Đơn vị", not a unit's name, and at least one figure or level column) and figures follow it.
    The upper part keeps its rows up to the cut; the lower keeps every row, those of the upper
    table left empty, so row numbers stay those of the sheet.
    """
    rows = _Rows(grid)
    folded = {fold(k): v for k, v in (overrides or {}).items()}
    above = [r for r in range(header.first_row) if rows.holds_figures(r)]
    starts = [r for r in range(header.first_row) if _is_header_row(rows, r, year, folded)]
    if starts:  # a table of labels (unit ratings) above has no figures: its rows fill two cells or more
        above += [r for r in range(starts[0] + 1, header.first_row) if sum(bool(t) for t in rows.plain(r)) >= 2]
    if above:
        return [_rows_before(grid, max(above) + 1), _rows_from(grid, max(above) + 1)]
    last_figures = None
    for r in range(header.last_row + 1, len(grid.rows)):
        if rows.holds_figures(r):
            last_figures = r
        elif last_figures is not None and _starts_a_table(rows, r, year, folded):
            return [_rows_before(grid, r), _rows_from(grid, last_figures + 1)]
    return None


def holds_figures(grid: Grid) -> bool:
    """Whether any row of a grid holds two figures or more (a table of figures, not of words)."""
    rows = _Rows(grid)
    return any(rows.holds_figures(r) for r in range(len(grid.rows)))


def _starts_a_table(rows: _Rows, r: int, year: int | None, overrides: dict[str, str]) -> bool:
    """Whether row ``r`` (after a table's figures) is the header of another table with figures under it."""
    for height in HEADER_HEIGHTS:
        last = r + height - 1
        if last + 1 >= len(rows.grid.rows) or rows.holds_figures(last):
            return False
        following = next((k for k in range(last + 1, len(rows.grid.rows)) if any(rows.plain(k))), None)
        if following is not None and rows.holds_figures(following) and _is_header_row(rows, r, year, overrides,
                                                                                         height):
            return True
    return False


def _is_header_row(rows: _Rows, r: int, year: int | None, overrides: dict[str, str], height: int = 1) -> bool:
    """Whether rows ``r``… read as a table's header: a unit column headed by a header word ("Tên chi
    bộ", "Đơn vị" — not a unit's own name) and a figure, rating or level column."""
    texts = [t for t in rows.plain(r) if t]
    if not texts or marker_kind(texts[0]) is not None or rows.holds_figures(r):
        return False
    h = _build(rows, r, height, year, overrides)
    unit = [h.columns[c] for c, f in h.fields.items() if f in UNIT_FIELDS]
    figures = [f for f in h.fields.values()
               if f in STUDY_FIELDS + MEMBERSHIP_FIELDS + MEMBER_RATING_FIELDS + UNIT_RATING_FIELDS]
    return bool(unit) and h.score >= 2 and bool(figures or h.levels) and \
        any(col.concepts.measure in ("name", "code") or not col.concepts.rest for col in unit)


def _rows_before(grid: Grid, n: int) -> Grid:
    fonts = grid.fonts[:n] if grid.fonts else grid.fonts
    return Grid(grid.source_file, grid.sheet, grid.rows[:n], fonts, [m for m in grid.merged if m[2] < n], grid.encoding)


def _rows_from(grid: Grid, n: int) -> Grid:
    rows = [[] for _ in range(n)] + grid.rows[n:]
    fonts = ([[] for _ in range(n)] + grid.fonts[n:]) if grid.fonts else grid.fonts
    return Grid(grid.source_file, grid.sheet, rows, fonts, [m for m in grid.merged if m[0] >= n], grid.encoding)


def looks_numeric(v: object) -> bool:
    """Whether a cell holds a number (a figure, or text that reads as one; a tick box does not)."""
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    try:
        return parse_vi_number(v) is not None
    except (ValueError, TypeError):
        return False


_YEAR_RE = re.compile(r"\bnam\s+(20\d{2}|19\d{2})\b")
_DATE_RE = re.compile(r"\b(ngay \d{1,2} )?thang \d{1,2} nam (19|20)\d\d\b|\b\d{1,2} \d{1,2} (19|20)\d\d\b")
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
    # the date a report was signed ("ngày 15 tháng 01 năm 2017", "15/01/2017") is not its year
    folded = _DATE_RE.sub(" ", fold(text))
    m = _YEAR_RE.search(folded)
    if m:
        return int(m.group(1))
    years = {int(y) for y in _ANY_YEAR_RE.findall(folded) if 2000 <= int(y) <= 2100}
    return years.pop() if len(years) == 1 else None


_PERIOD_RE = re.compile(r"\b(quy (i|ii|iii|iv|1|2|3|4)|6 thang (dau|cuoi) nam|thang \d{1,2} nam)\b")


def period_in_title(text: str) -> str | None:
    """A part of the year a title says its figures cover ("QUÝ II/2025", "6 tháng đầu năm"), else None.

    Example:
        >>> period_in_title("KẾT QUẢ XẾP LOẠI QUÝ II/2025"), period_in_title("NĂM 2025")
        ('quy ii', None)
    """
    m = _PERIOD_RE.search(_DATE_RE.sub(" ", fold(text)))
    return m.group(1) if m else None


def year_from_path(rel: str) -> int | None:
    """The year of a file from its folder (``<year>/...``) or, failing that, its file name."""
    parts = rel.split("/")
    for part in parts[:-1]:
        if re.fullmatch(r"(19|20)\d{2}", part):
            return int(part)
    m = _ANY_YEAR_RE.findall(parts[-1])
    return int(m[-1]) if len(m) == 1 else None
