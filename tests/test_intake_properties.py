"""Property tests: Vietnamese number parsing, and no row lost on generated sheets and registers."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from analysis import store
from analysis.intake.pipeline import ingest
from analysis.intake.register import Source, aggregate_year
from analysis.text import parse_vi_number


def vi_grouped(n: int) -> str:
    """1234567 -> '1.234.567' (written independently of analysis.text)."""
    s = str(n)
    groups = []
    while len(s) > 3:
        groups.insert(0, s[-3:])
        s = s[:-3]
    return ".".join([s, *groups])


@given(st.integers(1000, 10**12))
def test_thousands_dots_read_as_an_integer(n: int) -> None:
    assert parse_vi_number(vi_grouped(n)) == n


@given(st.integers(0, 10**9), st.integers(1, 99))
def test_decimal_comma_with_thousands(whole: int, frac: int) -> None:
    text = f"{vi_grouped(whole) if whole >= 1000 else whole},{frac:02d}"
    assert abs(parse_vi_number(text) - (whole + frac / 100)) < 1e-6


@given(st.integers(0, 100), st.integers(0, 9), st.sampled_from(["%", " %", ""]))
def test_percentages_with_a_decimal_comma(whole: int, tenth: int, suffix: str) -> None:
    assert abs(parse_vi_number(f"{whole},{tenth}{suffix}") - (whole + tenth / 10)) < 1e-9


def test_documented_examples() -> None:
    assert parse_vi_number("1.234,5") == 1234.5
    assert parse_vi_number("96,4%") == 96.4
    assert parse_vi_number("1.234") == 1234
    assert parse_vi_number("-") is None and parse_vi_number("") is None


# --- no row lost: generated sheets through ingest -------------------------------------------------

UNITS = ("unit_id,unit_name,parent_id,unit_level,unit_kind,valid_from_year,valid_to_year\n"
         "p,Đảng bộ P,,co_so,khac,2010,\n"
         + "".join(f"u{i},Chi bộ số {i},p,chi_bo,khac,2010,\n" for i in range(1, 7)))
CAMPAIGNS = "campaign_id,year,title,document_code,start_date\nc1,2016,Nghị quyết một,01-NQ/TW,\n"

row_kind = st.sampled_from(["valid", "valid", "valid", "unknown", "bad_number", "blank", "note"])


@st.composite
def sheet_rows(draw) -> list[tuple[str, list]]:
    kinds = draw(st.lists(row_kind, min_size=0, max_size=14))
    rows = []
    for k in kinds:
        if k == "valid":
            rows.append((k, [None, f"Chi bộ số {draw(st.integers(1, 6))}", draw(st.integers(0, 500)),
                             draw(st.sampled_from([0, 1, "-", None, "2"]))]))
        elif k == "unknown":
            rows.append((k, [None, f"Chi bộ lạ {draw(st.integers(1, 9))}", 10, 0]))
        elif k == "bad_number":
            rows.append((k, [None, f"Chi bộ số {draw(st.integers(1, 6))}", draw(st.sampled_from(["abc", "1,5", -3])), 0]))
        elif k == "blank":
            rows.append((k, []))
        else:
            rows.append((k, [draw(st.sampled_from(["Ghi chú: minh họa", "Người lập biểu", "Nguồn: báo cáo"]))]))
    if draw(st.booleans()):
        rows.append(("total", [None, "Tổng cộng", draw(st.integers(0, 3000)), 0]))
    return rows


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sheet_rows(), st.integers(0, 6))
def test_every_generated_row_ends_in_exactly_one_place(rows: list[tuple[str, list]], n_titles: int) -> None:
    while rows and rows[-1][0] == "blank":  # an empty last row is not stored in the file at all
        rows = rows[:-1]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        (raw / "2016").mkdir(parents=True)
        (raw / "units.csv").write_text(UNITS, encoding="utf-8")
        (raw / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
        wb = Workbook()
        ws = wb.active
        for i in range(n_titles):
            ws.append([f"Đảng bộ P — tiêu đề {i}"])
        ws.append(["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn SH"])
        for _, values in rows:
            ws.append(values)
        wb.save(raw / "2016" / "p.xlsx")
        result = ingest(raw, Path(tmp) / "out")
        sheet = result.manifest["files"][-1]["sheets"][0]
        # the expected fate of each row
        seen: set[str] = set()
        kept = quarantined = 0
        for kind, values in rows:
            if kind == "valid":
                if values[1] in seen:
                    quarantined += 1  # the same unit twice: duplicate_key
                else:
                    seen.add(values[1])
                    kept += 1
            elif kind in ("unknown", "bad_number"):
                quarantined += 1
        excluded = len(rows) - kept - quarantined
        assert sheet["rows_read"] == len(rows)
        assert (sheet["rows_kept"], sheet["rows_quarantined"], sheet["rows_excluded"]) == (kept, quarantined, excluded)
        q = store.load_table(Path(tmp) / "out", "quarantine")
        assert len(q) == quarantined and q["reason"].str.len().gt(0).all()
        assert len(store.load_table(Path(tmp) / "out", "membership")) == kept


# --- no row lost: generated registers ---------------------------------------------------------------

REG_UNITS = pd.DataFrame({
    "unit_id": ["p", "a", "b"], "unit_name": ["P", "A", "B"], "parent_id": [None, "p", "p"],
    "unit_level": ["co_so", "chi_bo", "chi_bo"], "unit_kind": ["khac"] * 3,
    "valid_from_year": pd.array([2010] * 3, dtype="Int64"), "valid_to_year": pd.array([None] * 3, dtype="Int64")})
REG_CAMPAIGNS = pd.DataFrame({"campaign_id": ["c1", "c2", "old"], "year": pd.array([2020, 2020, 2019], dtype="Int64"),
                              "title": ["a", "b", "c"]})

member = st.sampled_from(["m1", "m2", "m3", "m4", "m5", None, ""])
register_row = st.tuples(member, st.sampled_from(["a", "b", "zz", None]), st.booleans(),
                         st.sampled_from(["HTXSNV", "HTTNV", "Trong sạch vững mạnh", "???", None]))
attendance_row = st.tuples(member, st.sampled_from(["c1", "c2", "old", "nope", None]))


@settings(max_examples=60, deadline=None)
@given(st.lists(register_row, max_size=12), st.lists(register_row, max_size=6), st.lists(attendance_row, max_size=20))
def test_every_register_and_attendance_row_is_accounted_for(reg1, reg2, att) -> None:
    def table(rows):
        cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
        return pa.table({"member_id": pa.array(cols[0], pa.string()), "unit_id": pa.array(cols[1], pa.string()),
                         "is_exempt": pa.array(cols[2], pa.bool_()), "rating_label": pa.array(cols[3], pa.string())})

    att_t = pa.table({"member_id": pa.array([r[0] for r in att], pa.string()),
                      "campaign_id": pa.array([r[1] for r in att], pa.string())})
    out = aggregate_year(2020, [Source("r1", table(reg1)), Source("r2", table(reg2))], [Source("att", att_t)],
                         REG_UNITS, REG_CAMPAIGNS)
    q_rows: dict[str, int] = {}
    for e in out.quarantine.to_dict("records") if len(out.quarantine) else []:
        q_rows[e["source_file"]] = q_rows.get(e["source_file"], 0) + json.loads(e["raw_values"])["rows"]
    for name, n in (("r1", len(reg1)), ("r2", len(reg2)), ("att", len(att))):
        c = out.counts[name]
        assert c["rows_read"] == n == c["rows_kept"] + c["rows_excluded"] + c["rows_quarantined"]
        assert q_rows.get(name, 0) == c["rows_quarantined"] + c.get("values_quarantined", 0)
    kept = out.counts["r1"]["rows_kept"] + out.counts["r2"]["rows_kept"]
    assert int(out.membership["members_total"].sum()) == kept if len(out.membership) else kept == 0
    if len(out.study_participation):
        assert int(out.study_participation["members_attended"].sum()) == out.counts["att"]["rows_kept"]
