"""What a sheet feeds: its parts (one per table and campaign) and the account of every column.

:func:`plan_sheet` takes a detected header (:mod:`analysis.intake.layout`) and decides which canonical
tables — and, for study figures, which campaigns — the sheet's columns feed, whether level columns hold
member counts or mark a unit's level, and where every non-empty column ends: mapped to a field, set aside
by a rule, or reported. It also finds what cannot be given to one unit (a figure merged over several
rows) and fills unit names merged down over body rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from analysis import ratings
from analysis.intake import headers
from analysis.intake.layout import (
    CHECK_FIELDS,
    MEMBER_RATING_FIELDS,
    MEMBERSHIP_FIELDS,
    ROW_FIELDS,
    STUDY_FIELDS,
    UNIT_FIELDS,
    UNIT_RATING_FIELDS,
    Column,
    Header,
    column_letter,
    is_mark,
    looks_numeric,
    marker_kind,
)
from analysis.intake.readers import Grid
from analysis.text import is_blank, parse_vi_number


@dataclass
class Part:
    """The columns of a sheet that feed one canonical table (one campaign for study figures).

    Attributes:
        table: The canonical table.
        header: The sheet's header restricted to this part's columns.
        campaign_id: The campaign its columns' group names (None: from the title, a campaign column
            or mapping.yaml).
        corroborating: Members' totals read beside other figures (a study or rating sheet): they
            fill the membership table only where no membership sheet gives the unit-year, and are
            compared with it where one does.
    """

    table: str
    header: Header
    campaign_id: str | None = None
    corroborating: bool = False


@dataclass
class Plan:
    """What a sheet feeds and how every non-empty column is accounted for.

    Attributes:
        parts: The parts to stage, in a stable order.
        accounting: Column index -> ``{"column", "header", "status", "field" | "rule" | "reason"}``;
            status is ``mapped``, ``set_aside`` or ``reported``.
        why: Vietnamese explanation when there is no part.
    """

    parts: list[Part]
    accounting: dict[int, dict]
    why: str = ""

    def reported(self) -> list[dict]:
        """Accounting entries of the columns that could not be read."""
        return [a for a in self.accounting.values() if a["status"] == "reported"]


def fill_merged_down(grid: Grid, header: Header) -> Grid:
    """The grid with the body cells of row fields (unit name or code, year, campaign) that a merged
    cell covers filled with its value: "Chi bộ X" merged over its campaigns' rows names each row."""
    cols = {c for c, f in header.fields.items() if f in ROW_FIELDS}
    spans = [(r0, c0, r1, c1) for r0, c0, r1, c1 in grid.merged
             if r1 > r0 and r0 > header.last_row and any(c0 <= c <= c1 for c in cols)]
    if not spans:
        return grid
    rows = [list(r) for r in grid.rows]
    for r0, c0, r1, _ in spans:
        value = grid.cell(r0, c0)
        for r in range(r0 + 1, min(r1 + 1, len(rows))):
            rows[r] += [None] * (c0 + 1 - len(rows[r]))
            if is_blank(rows[r][c0]):
                rows[r][c0] = value
    return Grid(grid.source_file, grid.sheet, rows, grid.fonts, grid.merged, grid.encoding)


def merged_figures(grid: Grid, header: Header) -> list[tuple[int, int, int, int]]:
    """Body cells of figure columns merged over several rows: one figure stated for several units,
    which no unit can be given alone (0-based first row, column, last row, last column)."""
    rows = {c for c, f in header.fields.items() if f in ROW_FIELDS}
    return [(r0, c0, r1, c1) for r0, c0, r1, c1 in grid.merged
            if r1 > r0 and r0 > header.last_row and not any(c0 <= c <= c1 for c in rows)
            and not is_blank(grid.cell(r0, c0))]


def reported(entry: dict, reason: str) -> dict:
    """A column's accounting entry turned into ``reported`` with its reason."""
    return {"column": entry["column"], "header": entry["header"], "status": "reported", "reason": reason}


def column_index(letter: str) -> int:
    """0-based index of an Excel column letter (inverse of :func:`column_letter`).

    Example:
        >>> column_index("A"), column_index("AB")
        (0, 27)
    """
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _body_kind(grid: Grid, header: Header, c: int) -> str:
    """``marks``, ``numbers`` or ``empty`` for the body of column ``c``."""
    marks = numbers = 0
    for row in grid.rows[header.last_row + 1:]:
        v = row[c] if c < len(row) else None
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if is_mark(v):
            marks += 1
        elif looks_numeric(v):
            numbers += 1
    if not marks and not numbers:
        return "empty"
    # member counts are never marked; figures in a marked column are its totals or numbering rows
    return "marks" if marks else "numbers"


def _empty_kind(c: int, col: Column, level_cols: list[tuple[int, Column, str]]) -> str:
    """Marks or counts for a level column nobody is in this year ("Yếu kém"): a level of one
    subject only says which; else it follows the nearest level column that holds something."""
    if col.unit_level is not None and col.member_level is None:
        return "marks"
    if col.member_level is not None and col.unit_level is None:
        return "numbers"
    filled = sorted((abs(c - k), k > c, kind) for k, _, kind in level_cols if kind != "empty")
    return filled[0][2] if filled else "numbers"


def _ticked_with_ones(grid: Grid, header: Header, cols: list[int]) -> bool:
    """Whether level columns tick each unit's level with a 1: every row that names a unit holds
    exactly one 1 and nothing else in them (a chi bộ has at least three members, so a row of
    member counts summing to 1 is not one)."""
    if len(cols) < 2:
        return False
    names = [c for c, f in header.fields.items() if f in UNIT_FIELDS]
    ticked = 0
    for row in grid.rows[header.last_row + 1:]:
        cells = [row[c] if c < len(row) else None for c in cols]
        if all(is_blank(v) for v in cells) or not any(c < len(row) and not is_blank(row[c]) for c in names):
            continue
        first = next(str(row[c]) for c in names if c < len(row) and not is_blank(row[c]))
        if marker_kind(first) is not None:
            continue  # the totals row counts the ticks
        filled = [v for v in cells if not is_blank(v)]
        if not all(looks_numeric(v) for v in filled):
            return False
        if sorted(parse_vi_number(v) for v in filled) != [0] * (len(filled) - 1) + [1]:
            return False
        ticked += 1
    return ticked >= 2


def body_columns(grid: Grid, header: Header) -> set[int]:
    """Columns with at least one non-empty body cell."""
    out: set[int] = set()
    for row in grid.rows[header.last_row + 1:]:
        out.update(c for c, v in enumerate(row) if v is not None and not (isinstance(v, str) and not v.strip()))
    return out


def _of_the_title(header: Header, subject: str) -> Header:
    """The header with its figure columns that name no subject read as the one subject the title
    names ("… CỦA QUẦN CHÚNG NHÂN DÂN" over "Đối tượng | Tham gia"); unchanged unless that subject
    is the public (members are what an unnamed figure counts anyway)."""
    if subject != "public":
        return header
    columns = {c: (replace(col, field=headers.field_of(replace(col.concepts, subject=subject)))
                   if not col.concepts.subject and not col.pinned and col.field in _MEMBER_FIGURES else col)
               for c, col in header.columns.items()}
    fields = {c: col.field for c, col in columns.items()
              if col.field and not col.field.startswith(headers.SET_ASIDE)}
    return replace(header, columns=columns, fields=fields)


#: Figures a header with no subject gives to members by default.
_MEMBER_FIGURES = ("members_attended", "members_eligible", "members_pct", "members_total")


def _of_the_year(header: Header, year: int | None) -> Header:
    """The header with the figure columns a cell dates to another year ("Năm 2015 / Tổng số" in a
    2016 sheet) set aside: they are not this year's figures, and not read as if they were."""
    if year is None:
        return header
    other = {c for c, col in header.columns.items() if col.concepts.year not in (None, year) and not col.pinned}
    if not other:
        return header
    columns = {c: (replace(col, field=f"{headers.SET_ASIDE}other_period", member_level=None, unit_level=None)
                   if c in other else col) for c, col in header.columns.items()}
    return replace(header, columns=columns, fields={c: f for c, f in header.fields.items() if c not in other},
                   levels={c: lv for c, lv in header.levels.items() if c not in other})


def plan_sheet(grid: Grid, header: Header, campaign_of: Callable[[str], str | None],
               title_subject: str = "", year: int | None = None) -> Plan:
    """Decide which tables (and campaigns) a sheet feeds and account for every non-empty column.

    Study columns whose header names a campaign (a group cell "Nghị quyết Trung ương 4 khóa XII"
    over "Tham gia | Tỷ lệ", or words in the cell itself) form one part per campaign; the others
    form the sheet's own part, whose campaign comes from the title, a campaign column or the
    mapping. Level columns hold member counts (numbers) or mark the unit's level ("x"), as the
    body says. A column that means the same as another of its part, a level of no scheme of the
    year, or nothing known is reported, never guessed; so is a table's required measure that is
    missing (members' attendance of a study part): that part is not staged.

    Args:
        grid: The sheet (body rows decide marks versus counts).
        header: Its header read in the sheet's year.
        campaign_of: Resolves a header's free words to a campaign id (None: names none).
        title_subject: The one subject the sheet's title names, if any.
        year: The sheet's year (columns dated to another year are set aside).
    """
    header = _of_the_year(_of_the_title(header, title_subject), year)
    used = body_columns(grid, header)
    acc: dict[int, dict] = {}

    def account(c: int, status: str, **what: str) -> None:
        acc[c] = {"column": column_letter(c), "header": header.labels[c] if c < len(header.labels) else "",
                  "status": status, **what}

    row_cols: dict[str, int] = {}
    groups: dict[str | None, dict[str, int]] = {}
    membership: dict[str, int] = {}
    unit_rating: dict[str, int] = {}
    member_rating: dict[str, int] = {}
    level_cols: list[tuple[int, Column, str]] = []

    def place(slot: dict[str, int], c: int, fld: str) -> None:
        if fld in slot:
            account(c, "reported", reason=f"trùng nghĩa với cột {column_letter(slot[fld])} ({fld})")
        else:
            slot[fld] = c

    for c, col in sorted(header.columns.items()):
        if col.member_level is not None or col.unit_level is not None:
            kind = _body_kind(grid, header, c)
            level_cols.append((c, col, kind))
            continue
        fld = col.field
        if fld is None:
            continue
        if fld.startswith(headers.SET_ASIDE):
            account(c, "set_aside", rule=fld.removeprefix(headers.SET_ASIDE))
        elif fld in ROW_FIELDS:
            place(row_cols, c, fld)
        elif fld in STUDY_FIELDS:
            place(groups.setdefault(col.campaign(campaign_of), {}), c, fld)
        elif fld in MEMBERSHIP_FIELDS:
            campaign = col.campaign(campaign_of)
            place(membership if campaign is None else groups.setdefault(campaign, {}), c, fld)
        elif fld == "rating_label" and _body_kind(grid, header, c) == "numbers":
            account(c, "reported", reason="cột kết quả xếp loại chứa số, không phải tên mức xếp loại")
        elif fld in UNIT_RATING_FIELDS:
            place(unit_rating, c, fld)
        elif fld in MEMBER_RATING_FIELDS:
            place(member_rating, c, fld)
        else:
            account(c, "reported", reason=f"trường '{fld}' không thuộc bảng nào")
    level_cols = [(c, col, _empty_kind(c, col, level_cols) if kind == "empty" else kind)
                  for c, col, kind in level_cols]
    if _ticked_with_ones(grid, header, [c for c, col, kind in level_cols if col.unit_level is not None]):
        level_cols = [(c, col, "marks" if col.unit_level is not None else kind) for c, col, kind in level_cols]
    marks = [(c, col) for c, col, kind in level_cols if kind == "marks"]
    counts = [(c, col) for c, col, kind in level_cols if kind != "marks"]
    unit_levels: dict[int, ratings.Level] = {}
    member_levels: dict[int, ratings.Level] = {}
    for c, col in marks:
        lv = col.unit_level
        if lv is None or lv.is_special or any(x.rating_code == lv.rating_code for x in unit_levels.values()):
            account(c, "reported", reason="cột đánh dấu mức xếp loại không thuộc thang tổ chức đảng của năm")
        else:
            unit_levels[c] = lv
    for c, col in counts:
        lv = col.member_level
        if col.concepts.subject == "units":  # "Tổ chức cơ sở đảng / HTTNV": organisations per level
            account(c, "reported", reason="số tổ chức đảng theo mức xếp loại: không có bảng chuẩn nào giữ số này "
                                           "(xếp loại của từng tổ chức đảng ghi ở dòng của nó)")
        elif lv is not None and lv.rating_code == ratings.NOT_ASSESSED:
            place(member_rating, c, "members_not_assessed")
        elif lv is not None and lv.is_special:
            account(c, "set_aside", rule="exempt_from_assessment")
        elif lv is None or any(x.rating_code == lv.rating_code for x in member_levels.values()):
            account(c, "reported", reason="cột số lượng theo mức xếp loại không thuộc thang đảng viên của năm "
                                           "hoặc trùng mức với cột khác")
        else:
            member_levels[c] = lv

    parts: list[Part] = []
    missing: list[str] = []

    def part(table: str, fields: dict[str, int], levels: dict[int, ratings.Level] | None = None,
             campaign: str | None = None, corroborating: bool = False) -> None:
        sub = Header(header.first_row, header.last_row, header.labels,
                     {c: f for f, c in {**row_cols, **fields}.items()}, dict(levels or {}), header.columns)
        parts.append(Part(table, sub, campaign, corroborating))
        for f, c in fields.items():
            if f in CHECK_FIELDS:
                account(c, "set_aside", rule="checked")
            else:
                account(c, "mapped", field=f)
        for c, lv in (levels or {}).items():
            account(c, "mapped", field=f"level:{lv.rating_code}")

    for campaign, fields in sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")):
        if "members_attended" not in fields:
            where = f" (đợt {campaign})" if campaign else ""
            missing.append(f"thiếu cột số đảng viên tham gia học tập{where}")
            for c in fields.values():
                account(c, "reported", reason=f"bảng học tập thiếu cột số đảng viên tham gia{where}: không đọc "
                                               "thành 0")
            continue
        own = {f: c for f, c in fields.items() if f in MEMBERSHIP_FIELDS}
        base = membership if "members_total" in membership else {}
        part("study_participation", {**(own or base), **fields}, campaign=campaign)
        if "members_total" in own:
            part("membership", own, corroborating=True)
    if unit_rating.get("rating_label") is None and not unit_levels:
        for c, a in list(acc.items()):
            if a.get("rule") == "self_assessment":  # the only rating a sheet states is its own proposal
                acc[c] = reported(a, "chỉ có kết quả tự xếp loại, không có kết quả cấp trên quyết định; nếu đây là "
                                     "kết quả chính thức, ghim cột này là rating_label")
    if unit_rating.get("rating_label") is not None or unit_levels:
        part("unit_ratings", unit_rating, unit_levels)
    elif unit_rating:
        for c in unit_rating.values():
            account(c, "reported", reason="cột xếp loại tổ chức đảng không có cột kết quả xếp loại đi kèm")
    if len(member_levels) >= 2:
        part("member_ratings", member_rating, member_levels)
    else:
        for c in [*member_levels, *member_rating.values()]:
            account(c, "reported", reason="cần ít nhất hai cột số lượng theo mức xếp loại đảng viên")
    if "members_total" not in membership:  # official + probationary with no total beside them: not read
        for c, a in list(acc.items()):
            if a.get("rule") == "breakdown":
                acc[c] = reported(a, "số đảng viên chính thức/dự bị mà không có cột tổng số")
    if "members_total" in membership:
        part("membership", membership, corroborating=bool(parts))
    elif membership:
        for c in membership.values():
            account(c, "reported", reason="có số miễn sinh hoạt nhưng không có tổng số đảng viên")
    if parts:
        for c in row_cols.values():
            account(c, "mapped", field=header.columns[c].field or "")
    numbering = {c for r in range(header.first_row, header.last_row + 1) for c, v in enumerate(grid.rows[r])
                 if not is_blank(v)} - set(header.columns)
    for c in sorted(numbering - used):
        account(c, "set_aside", rule="numbering")
    for c in sorted(used | set(header.columns)):
        if c not in acc:
            col = header.columns.get(c)
            if col is None:
                account(c, "reported", reason="cột có số liệu nhưng không có tiêu đề")
            elif col.field in ROW_FIELDS:
                account(c, "reported", reason="trang không có số liệu nào đọc được, nên cột này không được dùng")
            else:
                account(c, "reported", reason="không hiểu tiêu đề cột")
    why = "" if parts else "; ".join(missing) or _no_table_reason(header)
    return Plan(parts, dict(sorted(acc.items())), why)


def _no_table_reason(header: Header) -> str:
    known = ", ".join(sorted(set(header.fields.values()))) or "không có"
    return f"không nhận ra bảng chuẩn nào từ các cột (đã nhận: {known})"
