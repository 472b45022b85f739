"""Evidence decides between two readings of a header: the sheet's own stated figures.

Two readings are weighed: the members' "total" of a study sheet (total or eligible, by the stated
rates) and the basis of a public count whose header names none: where some row counts more than its
target, persons cannot be right and attendances are not confirmed, so the column is reported.

"Đảng viên / Tổng số" beside "Miễn sinh hoạt", "Tham gia" and "Tỷ lệ" is the members' total in
most forms (the rate is attended ÷ (total − exempt)), but some committees put the members who had
to study there (the rate is attended ÷ that column). The stated "Tỷ lệ" of every row says which:
the reading under which the stated rates agree wins, and the manifest says so; where neither
agrees, the rows' own findings (``stated_pct_mismatch``) report it — never a guess.
"""

from __future__ import annotations

from dataclasses import replace

from analysis.intake import layout, sheetplan
from analysis.intake.readers import Grid
from analysis.intake.rows import classify_row, pct_mismatch
from analysis.text import is_blank, parse_vi_number

#: How the "total" column of a study part was read, by the stated rates.
READINGS = ("total", "eligible")


def _number(value: object) -> float | None:
    if is_blank(value) or isinstance(value, bool):
        return None
    try:
        return parse_vi_number(value)
    except ValueError:
        return None


def weigh_total(grid: Grid, part: sheetplan.Part) -> tuple[str | None, int, int]:
    """Which reading of a study part's members' total the stated members' rates support.

    Returns:
        (``"total"``, ``"eligible"`` or None when the part cannot tell — no rate, no exempt count,
        or both or neither reading agree on every row; rows agreeing as total; rows checked).
    """
    cols = {f: c for c, f in part.header.fields.items()}
    needed = ("members_total", "members_exempt", "members_pct", "members_attended")
    if not all(f in cols for f in needed) or "members_eligible" in cols:
        return None, 0, 0
    as_total = as_eligible = checked = 0
    for row in grid.rows[part.header.last_row + 1:]:
        if classify_row(row, part.header) != "data":
            continue
        total, exempt, attended = (_number(row[cols[f]]) if cols[f] < len(row) else None
                                   for f in ("members_total", "members_exempt", "members_attended"))
        stated = row[cols["members_pct"]] if cols["members_pct"] < len(row) else None
        if total is None or attended is None or not exempt or is_blank(stated):
            continue
        checked += 1
        as_total += pct_mismatch(stated, attended, total - exempt) is None
        as_eligible += pct_mismatch(stated, attended, total) is None
    if not checked or as_total == as_eligible:
        return None, as_total, checked
    if as_total == checked:
        return "total", as_total, checked
    if as_eligible == checked:
        return "eligible", as_total, checked
    return None, as_total, checked


def weigh_basis(grid: Grid, part: sheetplan.Part) -> int:
    """How many rows of a study part count more public attendances than the public it targets —
    evidence that a public count whose header names no basis counts attendances ("lượt"), not
    persons (0: no such row, or the header says which)."""
    cols = {f: c for c, f in part.header.fields.items()}
    if not {"public_attended", "public_target"} <= set(cols):
        return 0
    column = part.header.columns.get(cols["public_attended"])
    if column is None or column.concepts.basis:
        return 0
    over = 0
    for row in grid.rows[part.header.last_row + 1:]:
        target, attended = (_number(row[cols[f]]) if cols[f] < len(row) else None
                            for f in ("public_target", "public_attended"))
        over += bool(target and attended and attended > target and classify_row(row, part.header) == "data")
    return over


def apply(grid: Grid, plan: sheetplan.Plan) -> tuple[sheetplan.Plan, list[dict]]:
    """Re-read study parts whose stated rates say their "total" column is the members who had to
    study: that column becomes ``members_eligible`` (a check, not stored), and no membership part
    reads it as the total.

    Returns:
        The plan (a new one when a reading changed) and the evidence, one entry per part weighed.
    """
    evidence: list[dict] = []
    eligible_cols: set[int] = set()
    parts: list[sheetplan.Part] = []
    for part in plan.parts:
        reading, agreeing, checked = weigh_total(grid, part) if part.table == "study_participation" \
            else (None, 0, 0)
        if checked:
            c = next(c for c, f in part.header.fields.items() if f == "members_total")
            evidence.append({"column": layout.column_letter(c), "reading": reading or "undecided",
                             "rows_checked": checked, "rows_agreeing_as_total": agreeing,
                             "by": "members_pct"})
            if reading == "eligible":
                eligible_cols.add(c)
                fields = {k: ("members_eligible" if k == c else f) for k, f in part.header.fields.items()}
                part = replace(part, header=replace(part.header, fields=fields))
        over = weigh_basis(grid, part) if part.table == "study_participation" else 0
        if over:  # people or attendances? neither reading is confirmed: reported, not chosen
            c = next(c for c, f in part.header.fields.items() if f == "public_attended")
            evidence.append({"column": layout.column_letter(c), "reading": "undecided", "rows_checked": over,
                             "by": "public_attended > public_target", "header": part.header.labels[c]})
            fields = {k: f for k, f in part.header.fields.items() if k != c}  # nothing stored from it
            part = replace(part, header=replace(part.header, fields=fields))
        parts.append(part)
    if not eligible_cols:
        return replace(plan, parts=parts), evidence
    kept = [p for p in parts if not (p.table == "membership" and set(p.header.fields) & eligible_cols)]
    accounting = dict(plan.accounting)
    for c in eligible_cols:
        accounting[c] = {**accounting[c], "status": "set_aside", "rule": "checked"}
        accounting[c].pop("field", None)
    for p in parts:
        if p not in kept:
            for c, f in p.header.fields.items():
                if f == "members_exempt" and all(c not in q.header.fields for q in kept if q.table == "membership"):
                    accounting[c] = {**accounting[c], "status": "set_aside", "rule": "checked"}
                    accounting[c].pop("field", None)
    return replace(plan, parts=kept, accounting=accounting), evidence
