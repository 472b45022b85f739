"""A corpus of small workbooks as committees really send them, built by the tests (openpyxl).

Each test writes one or a few workbooks into a fresh raw folder (tiny units.csv/campaigns.csv of
its own), runs ``ingest`` and asserts the resulting rows, quarantine entries and manifest.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from analysis import store
from analysis.intake.pipeline import IngestError, ingest
from analysis.text import encode_legacy

UNITS = """unit_id,unit_name,parent_id,unit_level,unit_kind,valid_from_year,valid_to_year
dbp,Thành ủy Điện Biên Phủ,,cap_tren,khac,2010,
tt,Đảng bộ phường Tân Thanh,dbp,co_so,khu_dan_cu,2010,
tt-1,Chi bộ Tổ dân phố 1,tt,chi_bo,khu_dan_cu,2010,
tt-2,Chi bộ Tổ dân phố 2,tt,chi_bo,khu_dan_cu,2010,
tt-3,Chi bộ Tổ dân phố 3,tt,chi_bo,khu_dan_cu,2010,
tt-cq,Chi bộ Cơ quan phường,tt,chi_bo,co_quan,2010,
hl,Đảng bộ phường Him Lam,dbp,co_so,khu_dan_cu,2010,
hl-1,Chi bộ Tổ dân phố 1,hl,chi_bo,khu_dan_cu,2010,
hl-2,Chi bộ Bản Him Lam,hl,chi_bo,khu_dan_cu,2010,
"""
CAMPAIGNS = """campaign_id,year,title,document_code,start_date
2015-01,2015,"Chỉ thị 05-CT/TW, chuyên đề năm 2015",05-CT/TW,2015-05-01
2016-01,2016,"Nghị quyết Trung ương 4 khóa XII về tăng cường xây dựng, chỉnh đốn Đảng",04-NQ/TW,2016-12-01
2016-02,2016,"Chỉ thị 05-CT/TW, chuyên đề năm 2016",05-CT/TW,2016-06-01
2017-01,2017,"Chỉ thị 05-CT/TW, chuyên đề năm 2017",05-CT/TW,2017-06-01
"""
TT = ["Chi bộ Tổ dân phố 1", "Chi bộ Tổ dân phố 2", "Chi bộ Tổ dân phố 3", "Chi bộ Cơ quan phường"]


@dataclass
class Sheet:
    """One sheet: title rows, one or two header rows, body rows, optional fonts and merges."""

    name: str = "Sheet1"
    titles: list[str] = field(default_factory=list)
    header: list[object] = field(default_factory=list)
    sub: list[object] | None = None  # second header row (two-row header)
    rows: list[list[object]] = field(default_factory=list)
    merges: list[str] = field(default_factory=list)  # relative to the first header row ("C{h}:E{h}")
    font: str | None = None
    blank_after_titles: bool = True


def write_book(path: Path, sheets: list[Sheet]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for spec in sheets:
        ws = wb.create_sheet(spec.name)
        for t in spec.titles:
            ws.append([t])
        if spec.titles and spec.blank_after_titles:
            ws.append([])
        h = len(spec.titles) + (1 if spec.titles and spec.blank_after_titles else 0) + 1  # header row
        ws.append(spec.header)
        if spec.sub is not None:
            ws.append(spec.sub)
        for row in spec.rows:
            ws.append(row)
        for m in spec.merges:
            ws.merge_cells(m.format(h=h, h1=h + 1))
        if spec.font:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.font = Font(name=spec.font)
    wb.save(path)
    return path


def raw_folder(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "units.csv").write_text(UNITS, encoding="utf-8")
    (raw / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
    return raw


def run(raw: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = ingest(raw, out)
    for f in result.manifest["files"]:
        for s in f.get("sheets", []):
            assert s["rows_read"] == s["rows_kept"] + s["rows_excluded"] + s["rows_quarantined"], (f["file"], s)
    return result, out


def table(out: Path, name: str) -> pd.DataFrame:
    return store.load_table(out, name)


def sheet_entry(result, file: str, sheet: str | None = None) -> dict:
    f = next(f for f in result.manifest["files"] if f["file"] == file)
    return f if sheet is None else next(s for s in f["sheets"] if s["sheet"] == sheet)


def membership_sheet(titles: list[str], header: list[str] | None = None, rows=None, **kw) -> Sheet:
    return Sheet("Đảng viên", titles, header or ["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn SH"],
                 rows=rows if rows is not None else [[i + 1, n, 20 + i, i] for i, n in enumerate(TT)], **kw)


def as_records(df: pd.DataFrame, cols: list[str]) -> list[tuple]:
    return [tuple(r) for r in df.sort_values(cols[0])[cols].itertuples(index=False)]


# --- title rows, header spellings ------------------------------------------------------------

@pytest.mark.parametrize("n_titles", [1, 5, 12])
def test_one_to_twelve_title_rows(tmp_path: Path, n_titles: int) -> None:
    raw = raw_folder(tmp_path)
    titles = ["ĐẢNG BỘ PHƯỜNG TÂN THANH"] + [f"Dòng tiêu đề {i}" for i in range(n_titles - 1)]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(titles)])
    result, out = run(raw, tmp_path)
    m = table(out, "membership")
    assert as_records(m, ["unit_id", "year", "members_total", "members_exempt"]) == [
        ("tt-1", 2016, 20, 0), ("tt-2", 2016, 21, 1), ("tt-3", 2016, 22, 2), ("tt-cq", 2016, 23, 3)]
    s = sheet_entry(result, "2016/tt.xlsx", "Đảng viên")
    assert s["header_rows"] == [n_titles + 2, n_titles + 2] and s["year_source"] == "path"
    assert result.exit_code == 0


def test_title_row_right_above_the_header_is_not_a_header_group(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH - NĂM 2016"],
                                                           blank_after_titles=False)])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Đảng viên")
    assert s["header_rows"] == [2, 2] and s["year_source"] == "title" and s["scope"] == "tt"
    assert len(table(out, "membership")) == 4


@pytest.mark.parametrize("header", [
    ["STT", "Tên chi bộ", "TS ĐV", "Số ĐV miễn SH"],
    ["TT", "TEN CHI BO", "TONG SO DANG VIEN", "SO DV MIEN SINH HOAT"],
    ["Số TT", "Đơn vị", "Tổng số Đảng viên", "Miễn công tác và sinh hoạt Đảng"],
    [unicodedata.normalize("NFD", "STT"), unicodedata.normalize("NFD", "Tên chi bộ"),
     unicodedata.normalize("NFD", "Tổng số đảng viên"), unicodedata.normalize("NFD", "Số đảng viên miễn sinh hoạt")],
])
def test_header_spellings_with_and_without_diacritics(tmp_path: Path, header: list[str]) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], header)])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Đảng viên")
    assert sorted(s["columns"].values()) == ["members_exempt", "members_total", "unit_name"]
    assert [a["rule"] for a in s["column_accounting"] if a["status"] == "set_aside"] == ["row_number"]
    assert table(out, "membership")["members_total"].sum() == 20 + 21 + 22 + 23


# --- two-row merged headers, campaign and year from the title ----------------------------------

def study_sheet(titles: list[str], rows: list[list[object]], name: str = "Học tập") -> Sheet:
    return Sheet(name, titles,
                 ["STT", "Tên chi bộ", "Đảng viên", None, None, "Quần chúng", None, None],
                 ["", "", "Tổng số", "Tham gia học tập", "Tỷ lệ (%)", "Số được triển khai", "Tham gia", "Tỷ lệ"],
                 rows, merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:E{h}", "F{h}:H{h}"])


def test_two_row_merged_header_with_campaign_and_year_from_title(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 20, 19, "95,0", "1.234", "1.000", "81,0%"],
            [2, "Chi bộ Tổ dân phố 2", 10, 10, 100, 300, 210, "70"],
            [3, "Chi bộ Tổ dân phố 3", 12, "-", "-", "", "", ""]]
    titles = ["ĐẢNG BỘ PHƯỜNG TÂN THANH", "KẾT QUẢ HỌC TẬP, QUÁN TRIỆT NĂM 2016",
              "Nghị quyết Trung ương 4 khóa XII"]
    write_book(raw / "misc" / "hoc-tap.xlsx", [study_sheet(titles, rows)])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "misc/hoc-tap.xlsx", "Học tập")
    assert s["header_rows"][1] - s["header_rows"][0] == 1
    assert (s["year"], s["year_source"], s["campaign_id"], s["table"]) == (2016, "title", "2016-01",
                                                                          "study_participation")
    sp = table(out, "study_participation")
    got = as_records(sp, ["unit_id", "campaign_id", "is_held", "members_attended", "public_target",
                          "public_attended"])
    assert [tuple(None if pd.isna(v) else v for v in r) for r in got] == [
        ("tt-1", "2016-01", True, 19, 1234, 1000), ("tt-2", "2016-01", True, 10, 300, 210),
        ("tt-3", "2016-01", False, 0, None, None)]
    assert not [f for f in result.manifest["findings"] if f["check"] == "stated_pct_mismatch"]


def test_stated_percentage_is_recomputed_not_trusted(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 20, 19, "96,4", 100, 80, "80%"]]  # 19/20 = 95,0 %, not 96,4
    write_book(raw / "2016" / "tt.xlsx", [study_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH", "Chỉ thị 05-CT/TW"], rows)])
    result, _ = run(raw, tmp_path)
    bad = [f for f in result.manifest["findings"] if f["check"] == "stated_pct_mismatch"]
    assert [(f["field"], f["unit_ids"], round(f["computed"], 1)) for f in bad] == [("members_pct", ["tt-1"], 95.0)]


def test_campaign_not_found_in_title_skips_the_sheet_with_the_reason(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [study_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH", "Học tập chuyên đề"],
                                                      [[1, "Chi bộ Tổ dân phố 1", 20, 19, "", "", "", ""]])])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Học tập")
    assert s["status"] == "skipped" and "đợt học tập" in s["reason"] and "2016-01" in s["reason"]
    assert len(table(out, "study_participation")) == 0 and result.exit_code == 1


# --- totals and notes -------------------------------------------------------------------------

@pytest.mark.parametrize("marker", ["Tổng cộng", "Cộng", "Tổng số", "TỔNG CỘNG TOÀN ĐẢNG BỘ"])
def test_totals_row_is_excluded_and_checked(tmp_path: Path, marker: str) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 20, 1], [2, "Chi bộ Tổ dân phố 2", 30, 0], [None, marker, 50, 1]]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], rows=rows)])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Đảng viên")
    assert s["excluded"]["total"] == 1 and s["rows_kept"] == 2
    assert not [f for f in result.manifest["findings"] if f["check"] == "total_mismatch"]
    assert table(out, "membership")["members_total"].tolist() == [20, 30]


def test_totals_row_that_does_not_add_up_is_a_finding(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 20, 1], [2, "Chi bộ Tổ dân phố 2", 30, 0], [None, "Tổng cộng", 55, 1]]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], rows=rows)])
    result, _ = run(raw, tmp_path)
    bad = [f for f in result.manifest["findings"] if f["check"] == "total_mismatch"]
    assert [(f["field"], f["stated"], f["computed"], f["row_number"]) for f in bad] == [
        ("members_total", 55.0, 50.0, 6)]


def test_note_rows_under_the_table_are_excluded_and_counted(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 20, 1], [None, "Tổng cộng", 20, 1], [],
            ["Ghi chú: số liệu tính đến 31/12"], [None, "Người lập biểu"], [None, None, "T/M ĐẢNG ỦY"]]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], rows=rows)])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Đảng viên")
    assert s["excluded"] == {"blank": 1, "total": 1, "note": 3} and s["rows_kept"] == 1
    assert len(table(out, "quarantine")) == 0


# --- numbers ----------------------------------------------------------------------------------

def test_numbers_as_text_thousands_dots_blanks_and_dashes(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", "1.234", "-"], [2, "Chi bộ Tổ dân phố 2", " 56 ", None],
            [3, "Chi bộ Tổ dân phố 3", 7.0, "2"], [4, "Chi bộ Cơ quan phường", "12,5", 0]]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], rows=rows)])
    result, out = run(raw, tmp_path)
    assert as_records(table(out, "membership"), ["unit_id", "members_total", "members_exempt"]) == [
        ("tt-1", 1234, 0), ("tt-2", 56, 0), ("tt-3", 7, 2)]
    q = table(out, "quarantine")
    assert q[["row_number", "reason_code"]].values.tolist() == [[7, "fractional_count"]]
    assert json.loads(q["raw_values"].iloc[0])["Tổng số đảng viên"] == "12,5"


def test_missing_required_count_is_quarantined_not_zero(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", "", 2], [2, "Chi bộ Tổ dân phố 2", "abc", 0]]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], rows=rows)])
    result, out = run(raw, tmp_path)
    assert table(out, "quarantine")["reason_code"].tolist() == ["missing_value", "not_a_number"]
    assert len(table(out, "membership")) == 0 and result.exit_code == 1


# --- names: NFD, legacy fonts, unknown, ambiguous, codes ---------------------------------------

def test_nfd_unit_names_match(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[i + 1, unicodedata.normalize("NFD", n), 10, 0] for i, n in enumerate(TT)]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet([unicodedata.normalize("NFD", "ĐẢNG BỘ PHƯỜNG TÂN THANH")],
                                                           rows=rows)])
    _, out = run(raw, tmp_path)
    assert sorted(table(out, "membership")["unit_id"]) == ["tt-1", "tt-2", "tt-3", "tt-cq"]


def legacy_sheet(encoding: str, font: str, caps_font: str | None = None) -> Sheet:
    def enc(text: str) -> str:
        return encode_legacy(text, encoding)  # type: ignore[arg-type]

    titles = [enc("Đảng bộ phường Tân Thanh"), enc("Báo cáo số đảng viên năm 2016")]
    header = [enc("STT"), enc("Tên chi bộ"), enc("Tổng số đảng viên"), enc("Số đảng viên miễn sinh hoạt")]
    rows = [[i + 1, enc(n), 10 + i, 1] for i, n in enumerate(TT)]
    return Sheet("Đảng viên", titles, header, rows=rows, font=font)


@pytest.mark.parametrize("encoding,font", [("tcvn3", ".VnTime"), ("vni", "VNI-Times")])
def test_legacy_font_workbook_is_decoded(tmp_path: Path, encoding: str, font: str) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2016" / "tt.xlsx", [legacy_sheet(encoding, font)])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Đảng viên")
    assert s["legacy_encoding"] == encoding and s["scope"] == "tt" and s["year_source"] == "title"
    assert as_records(table(out, "membership"), ["unit_id", "members_total"]) == [
        ("tt-1", 10), ("tt-2", 11), ("tt-3", 12), ("tt-cq", 13)]


def test_tcvn3_caps_font_title_gives_the_year_and_the_committee(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    sheet = legacy_sheet("tcvn3", ".VnTime")
    sheet.titles = [encode_legacy("ĐẢNG BỘ PHƯỜNG TÂN THANH", "tcvn3", caps=True),
                    encode_legacy("NĂM 2016", "tcvn3", caps=True)]
    path = write_book(raw / "misc" / "tt.xlsx", [sheet])
    from openpyxl import load_workbook

    wb = load_workbook(path)
    for row in (1, 2):
        wb.active.cell(row, 1).font = Font(name=".VnTimeH")
    wb.save(path)
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "misc/tt.xlsx", "Đảng viên")
    assert (s["year"], s["year_source"], s["scope"]) == (2016, "title", "tt")
    assert len(table(out, "membership")) == 4


def test_unknown_and_ambiguous_names_are_quarantined_with_candidates(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "Chi bộ Tổ dân phố 1", 10, 0], [2, "Chi bộ Tổ dân phố 9", 11, 0], [3, "CB Bản Him Lam", 9, 0]]
    # no committee named anywhere: "Tổ dân phố 1" exists under both Tân Thanh and Him Lam
    write_book(raw / "2016" / "bao-cao.xlsx", [membership_sheet(["BÁO CÁO SỐ ĐẢNG VIÊN"], rows=rows)])
    result, out = run(raw, tmp_path)
    q = table(out, "quarantine").sort_values("row_number")
    assert q["reason_code"].tolist() == ["unit_ambiguous", "unit_unknown"]
    assert "hl-1" in q["reason"].iloc[0] and "tt-1" in q["reason"].iloc[0]
    assert "gần giống" in q["reason"].iloc[1] and "tt-" in q["reason"].iloc[1]
    assert table(out, "membership")["unit_id"].tolist() == ["hl-2"]
    assert result.exit_code == 1


def test_unit_code_column_wins_over_the_name(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    rows = [[1, "tt-2", "Chi bộ TDP số 2 (cũ)", 10, 0], [2, "hl-1", "Chi bộ Tổ dân phố 1", 11, 0],
            [3, "xx-9", "Chi bộ Tổ dân phố 3", 5, 0]]
    header = ["STT", "Mã đơn vị", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn SH"]
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], header, rows)])
    _, out = run(raw, tmp_path)
    assert as_records(table(out, "membership"), ["unit_id", "members_total"]) == [("hl-1", 11), ("tt-2", 10)]
    assert table(out, "quarantine")["reason_code"].tolist() == ["unit_unknown"]


# --- years and campaigns ----------------------------------------------------------------------

def test_year_from_the_title_beats_the_folder(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    write_book(raw / "2015" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH", "NĂM 2016"])])
    result, out = run(raw, tmp_path)
    assert set(table(out, "membership")["year"]) == {2016}
    assert sheet_entry(result, "2015/tt.xlsx", "Đảng viên")["year_source"] == "title"


def test_year_column_gives_each_row_its_year(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    header = ["STT", "Năm", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn SH"]
    rows = [[1, 2015, "Chi bộ Tổ dân phố 1", 10, 0], [2, "2016", "Chi bộ Tổ dân phố 1", 12, 1],
            [3, "Năm 2017", "Chi bộ Tổ dân phố 1", 13, 1], [4, "20x6", "Chi bộ Tổ dân phố 2", 9, 0]]
    write_book(raw / "tong-hop" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"], header, rows)])
    result, out = run(raw, tmp_path)
    assert as_records(table(out, "membership"), ["year", "unit_id", "members_total"]) == [
        (2015, "tt-1", 10), (2016, "tt-1", 12), (2017, "tt-1", 13)]
    s = sheet_entry(result, "tong-hop/tt.xlsx", "Đảng viên")
    assert s["years"] == [2015, 2016, 2017] and s["year_source"] == "column"
    assert table(out, "quarantine")["reason_code"].tolist() == ["year_invalid"]


def test_year_column_rows_read_rating_headers_in_their_own_scheme(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    header = ["STT", "Năm", "Tên chi bộ", "HTXSNV", "HTTNV", "HTNV", "Không đánh giá"]
    rows = [[1, 2017, "Chi bộ Tổ dân phố 1", 2, 8, 1, 0], [2, 2018, "Chi bộ Tổ dân phố 1", 1, 9, 1, 1]]
    write_book(raw / "tong-hop" / "tt.xlsx",
               [Sheet("Xếp loại ĐV", ["ĐẢNG BỘ PHƯỜNG TÂN THANH"], header, rows=rows)])
    _, out = run(raw, tmp_path)
    mr = table(out, "member_ratings")
    got = {(int(r.year), r.scheme_id, r.rating_code): int(r.members_count) for r in mr.itertuples()}
    assert got[(2017, "tsvm-2008", "htxsnv")] == 2 and got[(2018, "qd132-2018", "htxsnv")] == 1
    assert got[(2018, "qd132-2018", "httnv")] == 9
    assert set(mr.loc[mr["year"] == 2018, "members_not_assessed"]) == {1}


def test_campaign_column_resolves_each_row(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    header = ["STT", "Tên chi bộ", "Đợt học tập", "Số ĐV tham gia"]
    rows = [[1, "Chi bộ Tổ dân phố 1", "04-NQ/TW", 10], [2, "Chi bộ Tổ dân phố 1", "Chỉ thị 05-CT/TW", 11],
            [3, "Chi bộ Tổ dân phố 2", "Nghị quyết 99", 3]]
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Học tập", ["ĐẢNG BỘ PHƯỜNG TÂN THANH"], header, rows=rows)])
    result, out = run(raw, tmp_path)
    assert as_records(table(out, "study_participation"), ["campaign_id", "unit_id", "members_attended"]) == [
        ("2016-01", "tt-1", 10), ("2016-02", "tt-1", 11)]
    assert table(out, "quarantine")["reason_code"].tolist() == ["campaign_unknown"]
    assert sheet_entry(result, "2016/tt.xlsx", "Học tập")["campaigns"] == ["2016-01", "2016-02"]


# --- ratings sheets ---------------------------------------------------------------------------

def test_unit_ratings_with_exemplary_and_invalid_label(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    header = ["STT", "Tên tổ chức đảng", "Xếp loại", "Tiêu biểu"]
    rows = [[1, "Chi bộ Tổ dân phố 1", "TSVM", "x"], [2, "Chi bộ Tổ dân phố 2", "Hoàn thành tốt nhiệm vụ", ""],
            [3, "Chi bộ Tổ dân phố 3", "Hoàn thành xuất sắc nhiệm vụ", ""]]  # not a 2016 level
    write_book(raw / "2016" / "tt.xlsx", [Sheet("Xếp loại", ["ĐẢNG BỘ PHƯỜNG TÂN THANH"], header, rows=rows)])
    _, out = run(raw, tmp_path)
    ur = table(out, "unit_ratings")
    assert as_records(ur, ["unit_id", "rating_code", "is_exemplary"]) == [("tt-1", "tsvm", True),
                                                                         ("tt-2", "httnv", False)]
    assert table(out, "quarantine")["reason_code"].tolist() == ["other-scheme-label"]


# --- sheets that match nothing, mapping pins ----------------------------------------------------

def test_a_page_of_words_is_listed_as_no_data_and_a_table_nobody_reads_as_skipped(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    notes = Sheet("Hướng dẫn", ["Hướng dẫn điền biểu mẫu"], ["Mục", "Nội dung"], rows=[["1", "Ghi đủ số liệu"]])
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"]), notes])
    result, out = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Hướng dẫn")
    assert s["status"] == "not_data" and result.exit_code == 0  # an instructions page is no table to read
    assert len(table(out, "membership")) == 4
    unknown = Sheet("Lạ", ["NĂM 2016"], ["Mục", "Cột A", "Cột B"],
                    rows=[["Chi bộ Tổ dân phố 1", 5, 6], ["Chi bộ Tổ dân phố 2", 7, 8]])
    write_book(raw / "2016" / "tt.xlsx", [membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"]), unknown])
    result, _ = run(raw, tmp_path)
    s = sheet_entry(result, "2016/tt.xlsx", "Lạ")  # figures of units nobody can read: reported, never dropped
    assert s["status"] == "skipped" and "tiêu đề cột" in s["reason"]
    assert result.manifest["totals"]["sheets_skipped"] == 1 and result.exit_code == 1


def test_mapping_pins_header_columns_year_table_and_skip(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    odd = Sheet("Số liệu", ["ĐẢNG BỘ PHƯỜNG TÂN THANH"], ["TT", "Chi bộ", "Cột A", "Cột B", "Ghi chú"],
                rows=[[1, "Chi bộ Tổ dân phố 1", 20, 2, "x"], [2, "Chi bộ Tổ dân phố 2", 30, 0, ""]])
    junk = Sheet("Nháp", [], ["Tên chi bộ", "Tổng số đảng viên"], rows=[["Chi bộ Tổ dân phố 3", 99]])
    write_book(raw / "misc" / "tt.xlsx", [odd, junk])
    (raw / "mapping.yaml").write_text(
        'files:\n'
        '  "misc/*.xlsx":\n'
        '    all_sheets: {year: 2016}\n'
        '  "misc/tt.xlsx":\n'
        '    sheets:\n'
        '      "Số liệu":\n'
        '        header_rows: 3\n'
        '        table: membership\n'
        '        columns: {"Cột A": members_total, "Cột B": members_exempt, "Ghi chú": ignore}\n'
        '      "Nháp": {skip: true}\n', encoding="utf-8")
    result, out = run(raw, tmp_path)
    assert as_records(table(out, "membership"), ["unit_id", "year", "members_total", "members_exempt"]) == [
        ("tt-1", 2016, 20, 2), ("tt-2", 2016, 30, 0)]
    s = sheet_entry(result, "misc/tt.xlsx", "Số liệu")
    assert s["year_source"] == "mapping" and s["pins"] == ["columns", "header_rows", "table", "year"]
    assert sheet_entry(result, "misc/tt.xlsx", "Nháp")["reason"] == "bỏ qua theo mapping.yaml"


def test_mapping_with_an_unknown_key_stops_ingest_naming_it(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    (raw / "mapping.yaml").write_text('files:\n  "a.xlsx":\n    heder_row: 3\n', encoding="utf-8")
    with pytest.raises(IngestError, match="heder_row"):
        ingest(raw, tmp_path / "out")


# --- a workbook with every table, read by both readers ------------------------------------------

def test_fast_reader_matches_openpyxl_on_the_corpus(tmp_path: Path) -> None:
    from analysis.intake.readers import read_xlsx, read_xlsx_openpyxl

    raw = raw_folder(tmp_path)
    path = write_book(raw / "2016" / "all.xlsx", [
        membership_sheet(["ĐẢNG BỘ PHƯỜNG TÂN THANH"]),
        study_sheet(["NĂM 2016"], [[1, "Chi bộ Tổ dân phố 1", 20, 19, "95,0", "1.234", "1.000", 0.81]]),
        legacy_sheet("tcvn3", ".VnTime")])
    fast, slow = read_xlsx(path, "all.xlsx"), read_xlsx_openpyxl(path, "all.xlsx")
    assert [g.sheet for g in fast] == [g.sheet for g in slow]
    for a, b in zip(fast, slow, strict=True):
        assert a.rows == b.rows and sorted(a.merged) == sorted(b.merged)
        texts = [(r, c) for r, row in enumerate(a.rows) for c, v in enumerate(row) if isinstance(v, str)]
        assert [a.fonts[r][c] for r, c in texts] == [b.fonts[r][c] for r, c in texts]
