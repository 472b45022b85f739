"""Turning the body rows of a classified sheet into staged records.

Every body row ends in exactly one place: a staged record, an excluded row (blank, totals, note)
or a quarantine entry with a reason. Totals rows are not trusted: each is compared with the rows of
its section (since the previous totals row) or with all rows above it (a grand total), or, when it
stands above the units, with all rows below it; a difference becomes a finding; stated percentages are recomputed and compared
at their stated precision.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from analysis import ratings
from analysis.intake.layout import Header, is_mark, looks_numeric, marker_kind
from analysis.intake.readers import Grid
from analysis.intake.unitmatch import UnitMatcher
from analysis.text import fold, is_blank, parse_vi_number

#: Cell texts that mean "yes" in a flag column (folded).
YES = {"x", "co", "1", "yes", "true", "da", "da to chuc", "dat", "tb", "tieu bieu", "v", "✓", "✔", "+"}
#: Cell texts that mean "no".
NO = {"0", "khong", "no", "false", "chua", "chua to chuc"}


@dataclass
class SheetResult:
    """What staging one sheet produced.

    Attributes:
        records: Staged records (dicts with canonical columns) with their row numbers.
        quarantine: Quarantine entries.
        excluded: Count of excluded rows by kind (blank, total, note).
        findings: Data-quality findings raised while reading (totals, percentages, scores).
    """

    records: list[tuple[int, dict]] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=lambda: {"blank": 0, "total": 0, "note": 0})
    findings: list[dict] = field(default_factory=list)

    @property
    def rows_kept(self) -> int:
        """Rows that became staged records (a wide row counts once)."""
        return len({n for n, _ in self.records})


def raw_values(grid: Grid, header: Header, r: int) -> str:
    """The raw cells of row ``r`` as JSON keyed by header label (or column letter)."""
    row = grid.rows[r] if r < len(grid.rows) else []
    out = {}
    for c, value in enumerate(row):
        if value is None:
            continue
        label = header.labels[c] if c < len(header.labels) and header.labels[c] else f"col{c + 1}"
        out[label] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return json.dumps(out, ensure_ascii=False, default=str)


def classify_row(row: list[object], header: Header) -> str:
    """``blank``, ``total``, ``note`` or ``data`` for one body row."""
    texts = [v for v in row if not is_blank(v)]
    if not texts:
        return "blank"
    name_col = header.column_of("unit_name")
    candidates = []
    if name_col is not None and name_col < len(row) and isinstance(row[name_col], str):
        candidates.append(row[name_col])
    candidates.extend(v for v in texts if isinstance(v, str))
    for text in candidates[:2]:
        kind = marker_kind(text)
        if kind is not None:
            return kind
    numbers = [v for v in texts if looks_numeric(v)]
    unit_cells = [row[c] for c, f in header.fields.items() if f in ("unit_name", "unit_code") and c < len(row)]
    if not any(not is_blank(v) for v in unit_cells):
        # nothing names a unit: a note line or a stray cell
        if len(texts) == 1 or not numbers:
            return "note"
    return "data"


class RowError(ValueError):
    """A cell that cannot be read; carries a reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def read_count(value: object, label: str, required: bool) -> int | None:
    """A non-negative whole count from a cell; blanks and dashes read as 0 (or None when required).

    Raises:
        RowError: Text, a negative number or a fraction where a count belongs.
    """
    if is_blank(value):
        if required:
            raise RowError("missing_value", f"Thiếu số liệu ở cột '{label}'")
        return 0
    if isinstance(value, bool):
        raise RowError("not_a_number", f"Cột '{label}': '{value}' không phải là số")
    try:
        number = parse_vi_number(value)
    except ValueError:
        raise RowError("not_a_number", f"Cột '{label}': '{value}' không phải là số") from None
    if number is None:
        return 0
    if not math.isfinite(number):
        raise RowError("not_a_number", f"Cột '{label}': '{value}' không phải là số hữu hạn")
    if number < 0:
        raise RowError("negative_count", f"Cột '{label}': số âm '{value}' không hợp lệ")
    if abs(number - round(number)) > 1e-9:
        raise RowError("fractional_count", f"Cột '{label}': '{value}' phải là số nguyên")
    if number > 10**9:
        raise RowError("implausible_count", f"Cột '{label}': '{value}' quá lớn")
    return int(round(number))


def read_flag(value: object) -> bool | None:
    """A yes/no cell ("x", "Có", "1" → True; blank, "Không" → False; other text → None)."""
    if is_blank(value):
        return False
    f = fold(str(value)) if not isinstance(value, (int, float)) else str(int(value)) if value in (0, 1) else "?"
    if f in YES:
        return True
    if f in NO:
        return False
    return None


def stated_decimals(value: object) -> int:
    """Decimal places a percentage was written with ("96,4" → 1, 96 → 0, 96.43 → 2)."""
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        text = repr(value)
        return min(4, len(text.split(".")[1])) if "." in text and not text.endswith(".0") else 0
    text = str(value).strip().rstrip("%").strip()
    for sep in (",", "."):
        if sep in text:
            tail = text.rsplit(sep, 1)[1]
            if tail.isdigit() and not (sep == "." and len(tail) == 3):
                return len(tail)
    return 0


def pct_mismatch(stated: object, numerator: float, denominator: float) -> float | None:
    """The recomputed percentage when ``stated`` disagrees with it at its stated precision, else None."""
    if is_blank(stated) or not denominator:
        return None
    try:
        value = parse_vi_number(stated)
    except ValueError:
        return None
    if value is None:
        return None
    computed = 100.0 * numerator / denominator
    decimals = stated_decimals(stated)
    if abs(value - computed) <= 0.5 * 10 ** -decimals + 1e-9:
        return None
    # a rate written as a fraction (an Excel percent cell stores 0,964 for 96,4 %): judged at its
    # own precision, two places finer once multiplied by 100
    if 0 <= value <= 1 and abs(value * 100 - computed) <= 0.5 * 10 ** (2 - decimals) + 1e-9:
        return None
    return computed


def read_year(value: object) -> int | None:
    """The year in a year cell: 2016, 2016.0, "2016", "Năm 2016"; None when blank.

    Raises:
        RowError: Not a plausible year (1945–2100).

    Example:
        >>> read_year("Năm 2016"), read_year(2014.0), read_year(None)
        (2016, 2014, None)
    """
    if is_blank(value):
        return None
    year: int | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        year = int(value) if float(value).is_integer() else None
    elif isinstance(value, str):
        digits = [w for w in fold(value).split() if w.isdigit()]
        year = int(digits[0]) if len(digits) == 1 else None
    elif hasattr(value, "year"):  # a date cell
        year = int(value.year)  # type: ignore[attr-defined]
    if year is None or not 1945 <= year <= 2100:
        raise RowError("year_invalid", f"Cột năm: '{value}' không phải là năm hợp lệ")
    return year


#: Resolves the campaign of a row: (year, text naming it) -> (campaign id or None, explanation).
CampaignResolver = Callable[[int, str], tuple[str | None, str]]


#: Figures a totals row restates as the sum of the rows (and "is_held", as the count of units that held).
SUMMED_FIELDS = ("members_total", "members_exempt", "members_eligible", "members_attended", "members_attended_makeup",
                 "public_target", "public_attended", "members_not_assessed")


#: Rules of set-aside columns whose figures a totals row sums (not rates, numbering or notes).
ASIDE_SUMMED = ("other_period", "subpopulation", "breakdown", "sessions", "unit_count", "exempt_from_assessment")


def row_kinds(grid: Grid, header: Header) -> tuple[str, ...]:
    """:func:`classify_row` of every body row (the parts of one sheet share them)."""
    return tuple(classify_row(row, header) for row in grid.rows[header.last_row + 1:])


def stage_sheet(grid: Grid, header: Header, table: str, year: int | None, campaign_id: str | None,
                matcher: UnitMatcher, scope: str | None, resolve_campaign: CampaignResolver | None = None,
                title: str = "", kinds: tuple[str, ...] | None = None) -> SheetResult:
    """Stage the body rows of one classified sheet.

    A sheet with a year column (several years in one sheet) gives each row the year of its cell
    (a blank cell falls back to the sheet's year); a study sheet with a campaign column resolves
    each row's campaign from its cell. Rating-level columns are re-read in each row's year, since
    the same header may name another level (or none) under another year's scheme.

    Args:
        grid: The sheet.
        header: Its detected header.
        table: The canonical table it feeds.
        year: The sheet's year (None when only a year column gives it).
        campaign_id: The sheet's campaign (study sheets without a campaign column).
        matcher: Unit matcher over units.csv.
        scope: The committee the sheet belongs to, if known.
        resolve_campaign: Finds a campaign from a year and a text (campaign cells, or the title for
            rows of another year than the sheet's).
        title: Title text of the sheet (used with ``resolve_campaign``).
        kinds: :func:`row_kinds` of the sheet, when the caller has them already.
    """
    res = SheetResult()
    cols = {f: c for c, f in header.fields.items()}
    labels = header.labels
    sums: dict[str, float] = {}
    level_cache: dict[int, list[tuple[int, ratings.Level]] | None] = {}

    def cell(row: list[object], fld: str) -> object:
        c = cols.get(fld)
        return row[c] if c is not None and c < len(row) else None

    def quarantine(r: int, code: str, reason: str, unit_id: str | None = None,
                   row_year: int | None = None) -> None:
        res.quarantine.append({"source_file": grid.source_file, "sheet": grid.sheet, "row_number": r + 1,
                               "table": table, "reason_code": code, "reason": reason,
                               "raw_values": raw_values(grid, header, r), "unit_id": unit_id,
                               "year": row_year if row_year is not None else year})

    def finding(r: int, check: str, message: str, unit_ids: list[str], **extra: object) -> None:
        res.findings.append({"check": check, "source_file": grid.source_file, "sheet": grid.sheet,
                             "row_number": r + 1, "table": table, "unit_ids": unit_ids, "year": year,
                             "message": message, **extra})

    def levels_in(row_year: int) -> list[tuple[int, ratings.Level]] | None:
        """Level columns read in ``row_year``'s scheme (None: a level header names no level then)."""
        if row_year not in level_cache:
            if row_year == year or not header.levels:
                level_cache[row_year] = sorted(header.levels.items())
            else:
                found = []
                for c, _ in sorted(header.levels.items()):
                    text = labels[c].split(" / ")[-1]
                    try:
                        lv = ratings.match_header_level(text, row_year, "member")
                    except ratings.SchemeError:
                        lv = None
                    if lv is None or lv.is_special:
                        found = None
                        break
                    found.append((c, lv))
                level_cache[row_year] = found
        return level_cache[row_year]

    numeric_fields = [f for f in cols if f in SUMMED_FIELDS]
    level_cols = sorted(header.levels.items())
    # figures set aside (another period, a part of the population, classes held) are not stored, but a
    # totals row that restates them must still add up: a wrong total anywhere is the form's error
    aside_cols = [c for c, col in header.columns.items() if (col.field or "").removeprefix("set_aside:")
                  in ASIDE_SUMMED and c not in header.fields]

    top_total: int | None = None  # a totals row above the units ("Tổng số" first): checked at the end
    section: dict[str, float] = {}
    seen_data = False
    for r in range(header.last_row + 1, len(grid.rows)):
        row = grid.rows[r]
        kind = kinds[r - header.last_row - 1] if kinds is not None else classify_row(row, header)
        if kind == "total" and not seen_data and top_total is None:
            res.excluded["total"] += 1
            top_total = r
            continue
        if kind == "total" and seen_data:
            # a section's subtotal ("Cộng huyện A", then district B's rows) or the grand total: it must
            # equal the rows since the last total, or all rows so far
            res.excluded["total"] += 1
            _check_totals(row, r, cols, level_cols, (section, sums), finding, grid, header)
            section = {}
            continue
        seen_data = seen_data or kind == "data"
        if kind in ("blank", "note", "total"):
            res.excluded["note" if kind == "total" else kind] += 1
            continue
        # data row: accumulate sums of whatever parses, for the totals check
        for totals in (sums, section):
            for f in numeric_fields:
                _accumulate(totals, f, cell(row, f))
            for c in aside_cols:
                _accumulate(totals, f"col:{c}", row[c] if c < len(row) else None)
            if "is_held" in cols:  # a totals row counts the units that held the study
                _accumulate(totals, "is_held", 1 if read_flag(cell(row, "is_held")) else 0)
            for c, level in level_cols:
                value = row[c] if c < len(row) else None
                _accumulate(totals, f"level:{level.rating_code}",
                            1 if table == "unit_ratings" and is_mark(value) else value)
        try:
            row_year = read_year(cell(row, "year")) if "year" in cols else None
        except RowError as exc:
            quarantine(r, exc.code, str(exc))
            continue
        row_year = row_year if row_year is not None else year
        if row_year is None:
            quarantine(r, "year_missing", "Không xác định được năm của dòng (ô năm trống, tiêu đề và thư mục "
                                          "không ghi năm)")
            continue
        row_campaign = campaign_id
        if table == "study_participation":
            text = cell(row, "campaign")
            if not is_blank(text) or (row_year != year and campaign_id is not None) or campaign_id is None:
                probe = str(text) if not is_blank(text) else title
                row_campaign, why = resolve_campaign(row_year, probe) if resolve_campaign else (None, "")
                if row_campaign is None:
                    quarantine(r, "campaign_unknown", f"Không xác định được đợt học tập: {why}")
                    continue
        m = matcher.match(cell(row, "unit_name"), cell(row, "unit_code"), row_year, scope)
        if m.unit_id is None:
            quarantine(r, m.reason_code or "unit_unknown", m.reason or "Không xác định được đơn vị",
                       row_year=row_year)
            continue
        row_levels = levels_in(row_year) if table == "member_ratings" else level_cols
        if row_levels is None:
            quarantine(r, "level_header_invalid", f"Tiêu đề cột mức xếp loại không thuộc thang của năm {row_year} "
                                                  f"(đơn vị {m.unit_id})", m.unit_id, row_year)
            continue
        try:
            records = _records(table, row, cols, labels, row_levels, m.unit_id, row_year, row_campaign)
        except RowError as exc:
            quarantine(r, exc.code, f"{exc} (đơn vị {m.unit_id})", m.unit_id, row_year)
            continue
        for rec in records:
            res.records.append((r + 1, rec))
        _row_checks(table, row, cols, records, r, finding, m.unit_id, row_year)
    if top_total is not None:
        _check_totals(grid.rows[top_total], top_total, cols, level_cols, (sums, sums), finding, grid, header)
    return res


def _accumulate(sums: dict[str, float], key: str, value: object) -> None:
    try:
        v = parse_vi_number(value) if not isinstance(value, bool) else None
    except ValueError:
        v = None
    if v is not None:
        sums[key] = sums.get(key, 0.0) + v


def _check_totals(row, r, cols, level_cols, candidates, finding, grid, header) -> None:
    """A totals row against the sums it may restate (``candidates``: the section's, then all rows')."""
    checks = [(f, cols[f]) for f in cols if f in (*SUMMED_FIELDS, "is_held")]
    checks += [(f"level:{lv.rating_code}", c) for c, lv in level_cols]
    checks += [(f"col:{c}", c) for c, col in header.columns.items()
               if (col.field or "").removeprefix("set_aside:") in ASIDE_SUMMED and c not in header.fields]
    for key, c in checks:
        if c >= len(row) or is_blank(row[c]):
            continue
        try:
            stated = parse_vi_number(row[c])
        except ValueError:
            continue
        if stated is None:
            continue
        sums = next((t for t in candidates if abs(stated - t.get(key, 0.0)) <= 1e-6), candidates[-1])
        computed = sums.get(key, 0.0)
        if abs(stated - computed) > 1e-6:
            label = header.labels[c] if c < len(header.labels) else key
            finding(r, "total_mismatch",
                    f"Dòng tổng cộng ghi '{label}' = {stated:g} nhưng cộng các dòng được {computed:g}",
                    [], field=key, stated=stated, computed=computed)


def _records(table, row, cols, labels, level_cols, unit_id, year, campaign_id) -> list[dict]:
    def get(f):
        c = cols.get(f)
        return row[c] if c is not None and c < len(row) else None

    def label(f):
        c = cols.get(f)
        return labels[c] if c is not None and c < len(labels) else f

    if table == "membership":
        total = read_count(get("members_total"), label("members_total"), required=True)
        exempt = read_count(get("members_exempt"), label("members_exempt"), required=False) or 0
        return [{"unit_id": unit_id, "year": year, "members_total": total, "members_exempt": exempt}]
    if table == "study_participation":
        attended = read_count(get("members_attended"), label("members_attended"), required=False) or 0
        makeup = read_count(get("members_attended_makeup"), label("members_attended_makeup"), required=False)
        target = None
        if "public_target" in cols and not is_blank(get("public_target")):
            target = read_count(get("public_target"), label("public_target"), required=False)
        p_att = None
        if "public_attended" in cols and (target is not None or not is_blank(get("public_attended"))):
            # a blank or "-" is 0 people where a target was set, no figure at all otherwise
            p_att = read_count(get("public_attended"), label("public_attended"), required=False)
        if "is_held" in cols:
            held = read_flag(get("is_held"))
            if held is None:
                raise RowError("bad_flag", f"Cột '{label('is_held')}': '{get('is_held')}' không rõ có/không")
            held = held or attended > 0
        else:
            held = attended > 0 or bool(p_att)
        basis = "attendances" if "luot" in fold(label("public_attended") or "") else "persons"
        return [{"unit_id": unit_id, "campaign_id": campaign_id, "is_held": held, "members_attended": attended,
                 "members_attended_makeup": makeup, "public_target": target, "public_attended": p_att,
                 "public_basis": basis if (target is not None or p_att is not None) else None}]
    if table == "unit_ratings":
        raw = get("rating_label") if "rating_label" in cols else _marked_level(row, level_cols, labels)
        if is_blank(raw):
            raise RowError("missing_value", "Thiếu kết quả xếp loại")
        match = ratings.match_label(str(raw), year, "unit")
        if not match.matched:
            cands = f" (gợi ý: {', '.join(match.candidates)})" if match.candidates else ""
            raise RowError(match.reason_code or "label_invalid", (match.reason or "Nhãn xếp loại không hợp lệ") + cands)
        exemplary = bool(match.is_exemplary)
        if "is_exemplary" in cols:
            flag = read_flag(get("is_exemplary"))
            if flag is None:
                raise RowError("bad_flag", f"Cột '{label('is_exemplary')}': '{get('is_exemplary')}' không rõ có/không")
            exemplary = exemplary or flag
        score = None
        if "score" in cols and not is_blank(get("score")):
            try:
                score = parse_vi_number(get("score"))
            except ValueError:
                raise RowError("not_a_number", f"Điểm '{get('score')}' không phải là số") from None
        return [{"unit_id": unit_id, "year": year, "scheme_id": match.scheme_id, "rating_code": match.rating_code,
                 "rating_rank": match.rating_rank, "is_exemplary": exemplary, "rating_label_raw": str(raw),
                 "score": score}]
    if table == "member_ratings":
        # a form without the column does not say how many were not assessed: unknown, not 0
        not_assessed = read_count(get("members_not_assessed"), label("members_not_assessed"), required=False) \
            if "members_not_assessed" in cols else None
        out = []
        for c, level in level_cols:
            n = read_count(row[c] if c < len(row) else None, labels[c], required=False) or 0
            out.append({"unit_id": unit_id, "year": year, "rating_code": level.rating_code,
                        "scheme_id": level.scheme_id, "rating_rank": level.rating_rank, "members_count": n,
                        "members_not_assessed": not_assessed})
        return out
    raise ValueError(table)


def _tick_number(value: object) -> float | None:
    try:
        return None if isinstance(value, bool) else parse_vi_number(value)
    except (ValueError, TypeError):
        return None


def _marked_level(row: list[object], level_cols: list[tuple[int, ratings.Level]], labels: list[str]) -> str | None:
    """The label of the one level column marked in ``row`` (x-marked unit ratings).

    Raises:
        RowError: More than one level marked, or a level cell holding something else than a mark.
    """
    marked = []
    for c, level in level_cols:
        value = row[c] if c < len(row) else None
        tick = _tick_number(value)  # a form that ticks with 1 (and leaves 0 in the others)
        if is_blank(value) or tick == 0:
            continue
        if not is_mark(value) and tick != 1:
            raise RowError("bad_mark", f"Cột '{labels[c]}': '{value}' không phải dấu đánh dấu (x)")
        marked.append(level)
    if len(marked) > 1:
        raise RowError("ambiguous_mark", "Đánh dấu nhiều mức xếp loại: "
                                         + ", ".join(lv.label_vi for lv in marked))
    return marked[0].label_vi if marked else None


def _eligible(eligible: object, total: object, exempt: object) -> float | None:
    """Members who had to study, as the row states it: its "phải học" count, else total − exempt."""
    try:
        if not is_blank(eligible):
            return parse_vi_number(eligible)
        if not is_blank(total):
            return (parse_vi_number(total) or 0) - ((parse_vi_number(exempt) or 0) if not is_blank(exempt) else 0)
    except ValueError:
        return None
    return None


def _row_checks(table, row, cols, records, r, finding, unit_id, year) -> None:
    def get(f):
        c = cols.get(f)
        return row[c] if c is not None and c < len(row) else None

    if table == "study_participation":
        rec = records[0]
        eligible = _eligible(get("members_eligible"), get("members_total"), get("members_exempt"))
        if eligible:
            bad = pct_mismatch(get("members_pct"), rec["members_attended"], eligible)
            if bad is not None:
                finding(r, "stated_pct_mismatch",
                        f"Tỷ lệ đảng viên ghi '{get('members_pct')}' nhưng tính lại được {bad:.2f}%".replace(".", ","),
                        [unit_id], field="members_pct", stated=str(get("members_pct")), computed=bad)
        if rec["public_target"]:
            bad = pct_mismatch(get("public_pct"), rec["public_attended"] or 0, rec["public_target"])
            if bad is not None:
                finding(r, "stated_pct_mismatch",
                        f"Tỷ lệ quần chúng ghi '{get('public_pct')}' nhưng tính lại được {bad:.2f}%".replace(".", ","),
                        [unit_id], field="public_pct", stated=str(get("public_pct")), computed=bad)
    if table == "unit_ratings":
        rec = records[0]
        if rec["is_exemplary"] and rec["rating_rank"] != 1:
            finding(r, "exemplary_not_level1", f"Đơn vị {unit_id} được đánh dấu tiêu biểu nhưng xếp loại "
                                               f"'{rec['rating_label_raw']}' không phải mức cao nhất", [unit_id])
        if rec["score"] is not None:
            problem = ratings.check_score(rec["score"], rec["rating_code"], year)
            if problem is not None:
                finding(r, "score_level_mismatch", problem.reason or "Điểm không khớp mức xếp loại", [unit_id])
