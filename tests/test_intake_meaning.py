"""Headers read by meaning, the layouts committees use, evidence between readings and column accounting.

Workbooks are built inline (openpyxl, helpers of test_intake_corpus) with their truth beside them.
The form generator (tests/formgen, test_formgen.py) covers the class; these pin one behaviour each.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_intake_corpus import TT, Sheet, raw_folder, run, sheet_entry, table, write_book

from analysis.intake import headers, layout, sheetplan
from analysis.intake.readers import Grid
from analysis.intake.unitmatch import UnitMatcher
from analysis.text import parse_vi_number

TITLES = ["ĐẢNG BỘ PHƯỜNG TÂN THANH", "NĂM 2016"]


def records(df: pd.DataFrame, cols: list[str]) -> list[tuple]:
    out = df.sort_values(cols[:2])[cols]
    return [tuple(None if pd.isna(v) else v for v in r) for r in out.itertuples(index=False)]


def findings(result, check: str) -> list[dict]:
    return [f for f in result.manifest["findings"] if f["check"] == check]


# --- concepts ----------------------------------------------------------------------------------

def test_header_words_give_subject_measure_and_basis() -> None:
    cases = {
        "ĐV tham gia học tập": "members_attended",
        "Quần chúng (đối tượng)": "public_target",
        "Số đảng viên được miễn sinh hoạt": "members_exempt",
        "QC tham gia (lượt)": "public_attended",
        "TL (%)": "members_pct",
        "Ghi chú": "set_aside:note",
        "Số lớp": "set_aside:sessions",
    }
    assert {t: headers.field_of(headers.read_text(t)) for t in cases} == cases
    assert headers.read_text("QC tham gia (lượt)").basis == "attendances"


def test_a_group_names_the_subject_and_a_weak_measure_gives_way() -> None:
    assert headers.field_of(headers.read_stack(["Quần chúng", "Đối tượng"])) == "public_target"
    assert headers.field_of(headers.read_stack(["Đảng viên", "Tổng số"])) == "members_total"
    assert headers.field_of(headers.read_stack(["Đảng viên tham gia", "SL"])) == "members_attended"
    assert headers.field_of(headers.read_stack(["Quần chúng"])) is None  # target or attended? not guessed


# --- the incident: a commune's ordinary workbook -------------------------------------------------

def incident_book(raw: Path) -> None:
    """Five sheets none of which was made for this package (the shape of the reported workbook)."""
    members = Sheet("Đảng viên", TITLES, ["TT", "Chi bộ", "Đảng viên", None], ["", "", "Tổng số",
                                                                               "Số đảng viên được miễn sinh hoạt"],
                    [[i + 1, n, 30 + i, i % 2] for i, n in enumerate(TT)],
                    merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:D{h}"])
    study = Sheet("NQ TW4", [*TITLES, "Nghị quyết Trung ương 4 khóa XII"],
                  ["STT", "Tên chi bộ", "ĐV tham gia học tập", "Quần chúng (đối tượng)", "QC tham gia", "Ghi chú"],
                  rows=[[i + 1, n, 28 + i, 100 + i, 90 + i, ""] for i, n in enumerate(TT)])
    study2 = Sheet("CT05", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                   ["STT", "Tên chi bộ", "Đảng viên", None, "Quần chúng / Đối tượng", "Quần chúng tham gia"],
                   ["", "", "Tổng số", "Tham gia", "", ""],
                   [[i + 1, n, 30 + i, 27 + i, 80, 60 + i] for i, n in enumerate(TT)],
                   merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:D{h}", "E{h}:E{h1}", "F{h}:F{h1}"])
    units = Sheet("Xếp loại TCĐ", TITLES, ["STT", "Chi bộ", "TSVM", "HTTNV", "HTNV", "Yếu kém", "Tiêu biểu"],
                  rows=[[1, TT[0], "x", None, None, None, "x"], [2, TT[1], None, "x", None, None, None],
                        [3, TT[2], "x", None, None, None, None], [4, TT[3], None, None, "x", None, None]])
    ratings = Sheet("Xếp loại ĐV", TITLES,
                    ["STT", "Chi bộ", "HTXSNV", None, "HTTNV", None, "HTNV", None, "Vi phạm", None],
                    ["", "", "SL", "%", "SL", "%", "SL", "%", "SL", "%"],
                    [[i + 1, n, 5, "16,7", 20, "66,7", 4 + i, "", 1, ""] for i, n in enumerate(TT)],
                    merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:D{h}", "E{h}:F{h}", "G{h}:H{h}", "I{h}:J{h}"])
    write_book(raw / "2016" / "tan-thanh-2016.xlsx", [members, study, study2, units, ratings])


def test_the_communes_ordinary_workbook_is_read_exactly(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    incident_book(raw)
    result, out = run(raw, tmp_path)
    assert result.exit_code == 0, result.manifest["findings"]
    assert records(table(out, "membership"), ["unit_id", "year", "members_total", "members_exempt"]) == [
        ("tt-1", 2016, 30, 0), ("tt-2", 2016, 31, 1), ("tt-3", 2016, 32, 0), ("tt-cq", 2016, 33, 1)]
    sp = records(table(out, "study_participation"),
                 ["unit_id", "campaign_id", "members_attended", "public_target", "public_attended"])
    assert sp[:2] == [("tt-1", "2016-01", 28, 100, 90), ("tt-1", "2016-02", 27, 80, 60)]
    assert len(sp) == 8
    ur = records(table(out, "unit_ratings"), ["unit_id", "year", "rating_code", "is_exemplary"])
    assert ur == [("tt-1", 2016, "tsvm", True), ("tt-2", 2016, "httnv", False), ("tt-3", 2016, "tsvm", False),
                  ("tt-cq", 2016, "htnv", False)]
    mr = table(out, "member_ratings")
    assert mr.groupby("rating_code")["members_count"].sum().to_dict() == {
        "htxsnv": 20, "httnv": 80, "htnv": 22, "vi-pham": 4}
    sheet = sheet_entry(result, "2016/tan-thanh-2016.xlsx", "Xếp loại ĐV")
    assert [a["rule"] for a in sheet["column_accounting"] if a["status"] == "set_aside"] == \
        ["row_number"] + ["level_pct"] * 4


def test_a_column_nobody_understands_is_reported_with_its_pin_and_exit_1(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", TITLES, ["STT", "Chi bộ", "Tổng số ĐV", "Cột lạ"],
                                                rows=[[i + 1, n, 20, 7] for i, n in enumerate(TT)])])
    result, out = run(raw, tmp_path)
    [f] = findings(result, "unmapped_column")
    assert result.exit_code == 1 and f["severity"] == "critical"
    assert (f["column"], f["header"], f["sheet"], f["unit_ids"], f["year"]) == ("D", "Cột lạ", "Đảng viên", ["tt"], 2016)
    assert "mapping.yaml" in f["message"] and "Cột lạ" in f["message"]
    assert table(out, "membership")["members_total"].sum() == 80  # the rest is still read


def test_a_study_sheet_without_members_attendance_is_never_read_as_zero(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Học tập", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                                                ["STT", "Chi bộ", "Tổng số ĐV", "QC tham gia"],
                                                rows=[[i + 1, n, 20, 7] for i, n in enumerate(TT)])])
    result, out = run(raw, tmp_path)
    assert result.exit_code == 1
    assert table(out, "study_participation").empty
    assert findings(result, "unmapped_column")


def test_campaigns_side_by_side_feed_one_part_each(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    sheet = Sheet("Tổng hợp", TITLES,
                  ["STT", "Chi bộ", "Nghị quyết Trung ương 4 khóa XII", None, "Chỉ thị 05-CT/TW, chuyên đề năm 2016", None],
                  ["", "", "ĐV tham gia", "Tỷ lệ", "ĐV tham gia", "Tỷ lệ"],
                  [[i + 1, n, 10 + i, "", 5 + i, ""] for i, n in enumerate(TT)],
                  merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:D{h}", "E{h}:F{h}"])
    write_book(raw / "2016" / "tt.xlsx", [sheet])
    result, out = run(raw, tmp_path)
    assert result.exit_code == 0, result.manifest["findings"]
    sp = records(table(out, "study_participation"), ["unit_id", "campaign_id", "members_attended"])
    assert sp[:2] == [("tt-1", "2016-01", 10), ("tt-1", "2016-02", 5)] and len(sp) == 8
    assert sheet_entry(result, "2016/tt.xlsx", "Tổng hợp")["campaigns"] == ["2016-01", "2016-02"]


def test_two_unknown_groups_over_the_same_measure_are_reported_not_merged(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    sheet = Sheet("Tổng hợp", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                  ["STT", "Chi bộ", "Đợt một", "Đợt hai"], ["", "", "ĐV tham gia", "ĐV tham gia"],
                  [[i + 1, n, 10, 5] for i, n in enumerate(TT)],
                  merges=["A{h}:A{h1}", "B{h}:B{h1}"])
    write_book(raw / "2016" / "tt.xlsx", [sheet])
    result, _ = run(raw, tmp_path)
    assert result.exit_code == 1
    assert [f["column"] for f in findings(result, "unmapped_column")] == ["D"]


def test_the_stated_rate_decides_total_or_eligible(tmp_path: Path) -> None:
    for reading in ("total", "eligible"):
        (tmp_path / reading).mkdir()
        raw = raw_folder(tmp_path / reading)
        rows = []
        for i, n in enumerate(TT):
            total, exempt, attended = 40 + i, 3 + i, 30 + i
            base = total - exempt if reading == "total" else total
            rows.append([i + 1, n, total, exempt, attended, f"{100 * attended / base:.2f}".replace(".", ",")])
        sheet = Sheet("Học tập", [*TITLES, "Nghị quyết Trung ương 4 khóa XII"],
                      ["STT", "Chi bộ", "Đảng viên", None, "ĐV tham gia học tập", "Tỷ lệ (%)"],
                      ["", "", "Tổng số", "Miễn sinh hoạt", "", ""], rows,
                      merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:D{h}", "E{h}:E{h1}", "F{h}:F{h1}"])
        write_book(raw / "2016" / "tt.xlsx", [sheet])
        result, out = run(raw, tmp_path / reading)
        [ev] = sheet_entry(result, "2016/tt.xlsx", "Học tập")["evidence"]
        assert (result.exit_code, ev["reading"], ev["rows_checked"]) == (0, reading, 4)
        members = table(out, "membership")
        assert len(members) == (4 if reading == "total" else 0)  # an eligible count is no total


# --- column accounting as a property -------------------------------------------------------------

WORDS = ["Tên chi bộ", "STT", "Tổng số ĐV", "Miễn SH", "ĐV tham gia", "Tỷ lệ", "Quần chúng", "Đối tượng",
         "Ghi chú", "HTXSNV", "HTTNV", "Cột lạ", "Điểm", "Xếp loại", "Số lớp", None]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=2, max_size=9),
       st.lists(st.lists(st.one_of(st.none(), st.integers(0, 99), st.sampled_from(["x", "abc", "-"])),
                         min_size=0, max_size=11), max_size=5))
def test_every_non_empty_column_is_accounted_for_exactly_once(head: list, body: list) -> None:
    grid = Grid("f.xlsx", "S", [["Tên chi bộ", *head], *([["Chi bộ 1", *r] for r in body])])
    header = layout.Header(0, 0, [])
    rows = layout.detect_header(grid, 2020) or header
    plan = sheetplan.plan_sheet(grid, rows, lambda text: None)
    non_empty = {c for r in grid.rows for c, v in enumerate(r) if v is not None and str(v).strip()}
    if rows is header:
        return  # no header found: the sheet is skipped whole
    assert set(plan.accounting) == non_empty
    assert all(a["status"] in ("mapped", "set_aside", "reported") for a in plan.accounting.values())
    mapped_by_parts = {c for p in plan.parts for c in [*p.header.fields, *p.header.levels]}
    read_by_parts = {c for c, a in plan.accounting.items()
                     if a["status"] == "mapped" or a.get("rule") == "checked"}  # a stated rate checks, not stored
    assert read_by_parts == mapped_by_parts


# --- traps found by the held-out forms, one behaviour each -------------------------------------------

def test_the_date_a_report_was_signed_is_not_its_year(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    titles = ["ĐẢNG BỘ PHƯỜNG TÂN THANH", "Tân Thanh, ngày 12 tháng 01 năm 2017", "KẾT QUẢ NĂM 2016"]
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", titles, ["STT", "Chi bộ", "Tổng số ĐV", "Miễn SH"],
                                                rows=[[i + 1, n, 20, 1] for i, n in enumerate(TT)])])
    result, out = run(raw, tmp_path)
    assert set(table(out, "membership")["year"]) == {2016}


def test_a_committee_row_above_its_own_units_is_a_checked_subtotal(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Đảng bộ phường Tân Thanh", 86, 6], *[[i + 2, n, 20 + i, i] for i, n in enumerate(TT)]]
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", ["ĐẢNG BỘ THÀNH PHỐ ĐIỆN BIÊN PHỦ", "NĂM 2016"],
                                                ["STT", "Đơn vị", "Tổng số ĐV", "Miễn SH"], rows=rows)])
    result, out = run(raw, tmp_path)
    assert sorted(table(out, "membership")["unit_id"]) == ["tt-1", "tt-2", "tt-3", "tt-cq"]
    assert result.exit_code == 0 and sheet_entry(result, "2016/tt.xlsx", "Đảng viên")["excluded"]["subtotal"] == 1
    rows[0][2] = 99  # a subtotal that does not add up is a finding, never stored
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", ["ĐẢNG BỘ THÀNH PHỐ ĐIỆN BIÊN PHỦ", "NĂM 2016"],
                                                ["STT", "Đơn vị", "Tổng số ĐV", "Miễn SH"], rows=rows)])
    result, out = run(raw, tmp_path)
    [f] = findings(result, "total_mismatch")
    assert (f["unit_ids"], f["stated"], f["computed"], result.exit_code) == (["tt"], 99, 86, 1)


def test_levels_ticked_with_1_are_marks_not_member_counts(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    sheet = Sheet("Xếp loại", TITLES, ["STT", "Tên tổ chức đảng", "HTXSNV", "HTTNV", "HTNV", "KHTNV"],
                  rows=[[1, TT[0], 1, 0, 0, 0], [2, TT[1], 0, 1, 0, 0], [3, TT[2], None, 1, None, None],
                        [4, TT[3], 1, None, None, None], ["", "Cộng", 2, 2, 0, 0]])
    write_book(raw / "2020" / "tt.xlsx", [Sheet(sheet.name, ["ĐẢNG BỘ PHƯỜNG TÂN THANH", "NĂM 2020"], sheet.header,
                                                rows=sheet.rows)])
    result, out = run(raw, tmp_path)
    assert table(out, "member_ratings").empty and result.exit_code == 0
    assert records(table(out, "unit_ratings"), ["unit_id", "rating_code"]) == [
        ("tt-1", "htxsnv"), ("tt-2", "httnv"), ("tt-3", "httnv"), ("tt-cq", "htxsnv")]


def test_parts_of_the_population_and_other_periods_are_set_aside_not_read_as_the_total() -> None:
    for text, rule in (("Đảng viên nữ", "subpopulation"), ("Trong đó: dân tộc thiểu số", "subpopulation"),
                       ("Tổng số đầu kỳ", "other_period"), ("Số ĐV mới kết nạp", "subpopulation")):
        assert headers.field_of(headers.read_text(text)) == f"set_aside:{rule}", text
    for vague in ("Số ĐV đến 31/12/2015", "Đảng viên khối cơ quan", "Tăng trong năm"):
        assert headers.field_of(headers.read_text(vague)) is None, vague  # reported, never guessed
    assert headers.field_of(headers.read_text("Số cán bộ, đảng viên và quần chúng tham gia")) is None  # two subjects
    assert headers.field_of(headers.read_text("Tổng số ĐV được đánh giá, xếp loại")) == "members_assessed"
    assert headers.field_of(headers.read_text("Chi bộ tự xếp loại")) == "set_aside:self_assessment"


def test_a_sub_header_row_whose_merges_a_csv_lost_is_still_the_header(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    lines = ["ĐẢNG BỘ PHƯỜNG TÂN THANH", "Chỉ thị 05-CT/TW, chuyên đề năm 2016", "",
             "STT,Tên chi bộ,Đảng viên,,Quần chúng,", ",,Tổng số,Có mặt,Đối tượng,Tham gia",
             *[f"{i + 1},{n},{20 + i},{18 + i},{100 + i},{90 + i}" for i, n in enumerate(TT)]]
    (raw / "2016").mkdir()
    (raw / "2016" / "tt.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, out = run(raw, tmp_path)
    sp = records(table(out, "study_participation"), ["unit_id", "members_attended", "public_target", "public_attended"])
    assert sp[0] == ("tt-1", 18, 100, 90) and len(sp) == 4


def test_a_public_count_above_its_target_is_reported_not_reinterpreted(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Học tập", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                                                ["STT", "Chi bộ", "ĐV tham gia", "QC đối tượng", "QC tham gia"],
                                                rows=[[i + 1, n, 10, 100, 150 + i] for i, n in enumerate(TT)])])
    result, out = run(raw, tmp_path)
    assert table(out, "study_participation")["public_attended"].isna().all()  # persons or attendances: not guessed
    [ev] = sheet_entry(result, "2016/tt.xlsx", "Học tập")["evidence"]
    assert (ev["column"], ev["reading"], ev["rows_checked"]) == ("E", "undecided", 4)
    assert result.exit_code == 1 and [f["column"] for f in findings(result, "unmapped_column")] == ["E"]
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Học tập", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                                                ["STT", "Chi bộ", "ĐV tham gia", "QC đối tượng", "QC tham gia (lượt)"],
                                                rows=[[i + 1, n, 10, 100, 150 + i] for i, n in enumerate(TT)])])
    result, out = run(raw, tmp_path)  # the header says attendances: read as such
    assert result.exit_code == 0 and set(table(out, "study_participation")["public_basis"]) == {"attendances"}


def test_a_totals_row_above_the_units_is_checked_against_the_rows_below(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [["", "Tổng số", 86, 6], *[[i + 1, n, 20 + i, i] for i, n in enumerate(TT)]]
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", TITLES, ["STT", "Chi bộ", "Tổng số ĐV", "Miễn SH"],
                                                rows=rows)])
    result, out = run(raw, tmp_path)
    assert result.exit_code == 0 and len(table(out, "membership")) == 4
    rows[0][2] = 90
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", TITLES, ["STT", "Chi bộ", "Tổng số ĐV", "Miễn SH"],
                                                rows=rows)])
    result, _ = run(raw, tmp_path)
    assert [(f["stated"], f["computed"]) for f in findings(result, "total_mismatch")] == [(90, 86)]


# --- traps found by the realistic forms ---------------------------------------------------------------

def test_a_committees_row_in_another_sheet_than_its_units_is_an_aggregate(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    header = ["STT", "Đơn vị", "Tổng số ĐV", "Miễn SH"]
    summary = Sheet("Tổng hợp", ["THÀNH ỦY ĐIỆN BIÊN PHỦ", "NĂM 2016"], header, rows=[[1, "Đảng bộ phường Tân Thanh", 86, 6]])
    units = Sheet("Tân Thanh", ["ĐẢNG BỘ PHƯỜNG TÂN THANH", "NĂM 2016"], header,
                  rows=[[i + 1, n, 20 + i, i] for i, n in enumerate(TT)])
    write_book(raw / "2016" / "dbp.xlsx", [summary, units])
    result, out = run(raw, tmp_path)
    assert sorted(table(out, "membership")["unit_id"]) == ["tt-1", "tt-2", "tt-3", "tt-cq"]
    entry = sheet_entry(result, "2016/dbp.xlsx", "Tổng hợp")
    assert (entry["rows_kept"], entry["excluded"]["subtotal"], result.exit_code) == (0, 1, 0)


def test_a_unit_the_committee_lacks_is_not_filed_under_another_committees_namesake(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 20, 1], [2, "Chi bộ Bản Him Lam", 15, 0]]  # a Him Lam chi bộ in Tân Thanh's form
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Đảng viên", TITLES, ["STT", "Chi bộ", "Tổng số ĐV", "Miễn SH"],
                                                rows=rows)])
    result, out = run(raw, tmp_path)
    assert list(table(out, "membership")["unit_id"]) == ["tt-1"] and result.exit_code == 1
    assert list(table(out, "quarantine")["reason_code"]) == ["unit_outside_scope"]


def test_the_committee_inside_the_letterhead_is_the_sheets() -> None:
    units = pd.read_csv(io.StringIO(
        "unit_id,unit_name,parent_id,unit_level,unit_kind,valid_from_year,valid_to_year\n"
        "dbd,Đảng bộ huyện Điện Biên Đông,,cap_tren,khac,2010,\n"
        "ns,Đảng bộ xã Na Son,dbd,co_so,khac,2010,\n"
        "ns-1,Chi bộ bản Na Son,ns,chi_bo,khac,2010,\n"), dtype={"valid_to_year": "Int64"})
    # the district's name is the longer one; the commune inside it is the sheet's committee
    assert UnitMatcher(units).scope_of("ĐẢNG BỘ HUYỆN ĐIỆN BIÊN ĐÔNG | ĐẢNG ỦY XÃ NA SON | NĂM 2016", 2016) == "ns"


def test_a_footnote_mark_makes_a_cell_no_number() -> None:
    with pytest.raises(ValueError):
        parse_vi_number("504¹")


def test_a_table_of_labels_nobody_reads_is_reported_not_taken_for_a_cover_page(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    sheet = Sheet("Phân loại", TITLES, ["STT", "Tên gọi", "Kết luận của cấp ủy"],
                  rows=[[i + 1, n, "Hoàn thành tốt nhiệm vụ"] for i, n in enumerate(TT)])  # no figures, units listed
    write_book(raw / "2016" / "tt.xlsx", [sheet])
    result, _ = run(raw, tmp_path)
    assert sheet_entry(result, "2016/tt.xlsx", "Phân loại")["status"] == "skipped" and result.exit_code == 1


def test_a_totals_row_adds_up_in_held_counts_and_in_columns_set_aside(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[i + 1, n, 20 + i, 1, 18, "x"] for i, n in enumerate(TT)] + [["", "Tổng cộng", 86, 4, 72, 5]]
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Học tập", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                                                ["STT", "Chi bộ", "Tổng số đầu kỳ", "Số lớp", "ĐV tham gia", "Đã tổ chức"],
                                                rows=rows)])
    result, out = run(raw, tmp_path)  # 4 units held it, not 5; the set-aside columns add up
    assert [(f["field"], f["stated"], f["computed"]) for f in findings(result, "total_mismatch")] == [("is_held", 5, 4)]
    assert len(table(out, "study_participation")) == 4 and result.exit_code == 1
    rows[-1] = ["", "Tổng cộng", 90, 4, 72, 4]  # a wrong total in a column set aside is the form's error too
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Học tập", [*TITLES, "Chỉ thị 05-CT/TW, chuyên đề năm 2016"],
                                                ["STT", "Chi bộ", "Tổng số đầu kỳ", "Số lớp", "ĐV tham gia", "Đã tổ chức"],
                                                rows=rows)])
    result, _ = run(raw, tmp_path)
    assert [(f["stated"], f["computed"]) for f in findings(result, "total_mismatch")] == [(90, 86)]
