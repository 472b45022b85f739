"""Which findings a gate run reports, on folders produced by a real ingest (issue 16, items 5 and 6).

Every test writes a small raw folder (``units.csv``, ``campaigns.csv`` and one openpyxl workbook per
commune and year, laid out as committees send them: title rows naming the committee and the year,
a two-row header, a "Tổng cộng" row), ingests it with :func:`analysis.intake.pipeline.ingest`
and runs ``hoctap validate --format json``. No finding or quarantine entry is planted by hand:
the gate is fed what intake really writes (a totals row's finding names the committee whose
sheet it is; a quarantined row names its unit, else that committee).

Scoping rule under test: an intake finding concerns a run when one of its units is in the run's
units (the scoped unit and its subtree, in the finding's year) and, in a run restricted to a year,
when its year is that year; one naming no unit is reported only by a run without ``--unit``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from analysis import cli, store
from analysis.intake.pipeline import ingest

UNITS = """unit_id,unit_name,parent_id,unit_level,unit_kind,valid_from_year,valid_to_year
dbp,Thành ủy Điện Biên Phủ,,cap_tren,khac,2010,
tt,Đảng bộ phường Tân Thanh,dbp,co_so,khu_dan_cu,2010,
tt-1,Chi bộ Tổ dân phố 1,tt,chi_bo,khu_dan_cu,2010,
tt-2,Chi bộ Tổ dân phố 2,tt,chi_bo,khu_dan_cu,2010,
tt-3,Chi bộ Tổ dân phố 3,tt,chi_bo,khu_dan_cu,2010,
hl,Đảng bộ phường Him Lam,dbp,co_so,khu_dan_cu,2010,
hl-1,Chi bộ Bản Him Lam,hl,chi_bo,khu_dan_cu,2010,
hl-2,Chi bộ Tổ dân phố 7,hl,chi_bo,khu_dan_cu,2010,
hl-3,Chi bộ Tổ dân phố 8,hl,chi_bo,khu_dan_cu,2010,
"""
CAMPAIGNS = """campaign_id,year,title,document_code,start_date
2014-01,2014,"Chỉ thị 03-CT/TW, chuyên đề năm 2014",03-CT/TW,2014-05-20
2020-01,2020,"Chỉ thị 05-CT/TW, chuyên đề năm 2020",05-CT/TW,2020-06-08
"""
COMMUNES = {"tt": ("ĐẢNG BỘ PHƯỜNG TÂN THANH", ["Chi bộ Tổ dân phố 1", "Chi bộ Tổ dân phố 2",
                                                 "Chi bộ Tổ dân phố 3"]),
            "hl": ("ĐẢNG BỘ PHƯỜNG HIM LAM", ["Chi bộ Bản Him Lam", "Chi bộ Tổ dân phố 7",
                                             "Chi bộ Tổ dân phố 8"])}
#: Labels of the unit levels and headers of the member levels, per rating scheme in force.
UNIT_LABEL = {2014: "Trong sạch, vững mạnh", 2020: "Hoàn thành tốt nhiệm vụ"}
MEMBER_LEVELS = {2014: ["Đủ tư cách, HTXSNV", "Đủ tư cách, HTTNV", "Đủ tư cách, HTNV", "Vi phạm tư cách"],
                 2020: ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]}


@dataclass
class Faults:
    """What goes wrong in one workbook (nothing by default).

    Attributes:
        stated_total: The "Tổng cộng" row of the members sheet states this many members instead of the sum.
        bad_count: The members count of the first chi bộ is this text (intake quarantines the row).
        unknown_name: The first chi bộ of the members sheet is named so (no unit has this name).
    """

    stated_total: int | None = None
    bad_count: str | None = None
    unknown_name: str | None = None


def _sheet(wb: Workbook, name: str, titles: list[str], header: list, sub: list | None, rows: list[list],
           merges: list[str] = ()) -> None:
    ws = wb.create_sheet(name)
    for t in titles:
        ws.append([t])
    ws.append([])
    h = len(titles) + 2
    ws.append(header)
    if sub is not None:
        ws.append(sub)
    for r in rows:
        ws.append(r)
    for m in merges:
        ws.merge_cells(m.format(h=h, h1=h + 1))


def write_commune_book(raw: Path, commune: str, year: int, faults: Faults | None = None) -> Path:
    """One commune's clean workbook of ``year``: members, study of the year's campaign, its chi bộ's
    ratings (never the commune's own: the level above decides it) and its members' ratings."""
    faults = faults or Faults()
    title, names = COMMUNES[commune]
    head = [title, f"NĂM {year}"]
    members = [(20 + 5 * i, 1) for i in range(len(names))]
    wb = Workbook()
    wb.remove(wb.active)
    rows = [[i + 1, n, t, e] for i, (n, (t, e)) in enumerate(zip(names, members, strict=True))]
    if faults.bad_count is not None:
        rows[0][2] = faults.bad_count
    if faults.unknown_name is not None:
        rows[0][1] = faults.unknown_name
    total = sum(t for t, _ in members)
    rows.append([None, "Tổng cộng", faults.stated_total if faults.stated_total is not None else total,
                 sum(e for _, e in members)])
    _sheet(wb, "Đảng viên", [*head, "BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN"],
           ["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"], None, rows)
    campaign = next(line.split(",", 2)[2].split('",')[0].strip('"') for line in CAMPAIGNS.splitlines()
                    if line.startswith(f"{year}-01"))
    _sheet(wb, "Học tập", [*head, "KẾT QUẢ HỌC TẬP, QUÁN TRIỆT", campaign],
           ["STT", "Tên chi bộ", "Tổ chức học tập", "Đảng viên", None, None, "Quần chúng", None],
           [None, None, None, "Số ĐV phải học", "Tham gia", "Tỷ lệ (%)", "Số được triển khai", "Tham gia"],
           [[i + 1, n, "x", t - e, t - e, "100,0", 100, 80] for i, (n, (t, e)) in
            enumerate(zip(names, members, strict=True))],
           merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:C{h1}", "D{h}:F{h}", "G{h}:H{h}"])
    _sheet(wb, "Xếp loại TCĐ", [*head, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CHI BỘ"],
           ["STT", "Tên chi bộ", "Xếp loại", "Tiêu biểu"], None,
           [[i + 1, n, UNIT_LABEL[year], None] for i, n in enumerate(names)])
    _sheet(wb, "Xếp loại ĐV", [*head, "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI ĐẢNG VIÊN"],
           ["STT", "Tên chi bộ", "Tổng số ĐV", "Số ĐV miễn sinh hoạt", "Kết quả xếp loại", None, None, None,
            "Không đánh giá"],
           [None, None, None, None, *MEMBER_LEVELS[year], None],
           [[i + 1, n, t, e, 2, t - e - 3, 1, 0, 0] for i, (n, (t, e)) in
            enumerate(zip(names, members, strict=True))],
           merges=["A{h}:A{h1}", "B{h}:B{h1}", "C{h}:C{h1}", "D{h}:D{h1}", "E{h}:H{h}", "I{h}:I{h1}"])
    path = raw / str(year) / f"{commune}-{year}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_district_book(raw: Path, year: int, communes: tuple[str, ...] = ("tt", "hl")) -> Path:
    """The district's ratings of its communes in ``year`` (what the level above decides)."""
    wb = Workbook()
    wb.remove(wb.active)
    names = {"tt": "Đảng bộ phường Tân Thanh", "hl": "Đảng bộ phường Him Lam"}
    _sheet(wb, "Xếp loại TCCSĐ", ["THÀNH ỦY ĐIỆN BIÊN PHỦ", f"NĂM {year}",
                                  "KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI TỔ CHỨC CƠ SỞ ĐẢNG"],
           ["STT", "Mã đơn vị", "Tên tổ chức đảng", "Xếp loại", "Tiêu biểu"], None,
           [[i + 1, c, names[c], UNIT_LABEL[year], None] for i, c in enumerate(communes)])
    path = raw / str(year) / f"dbp-xep-loai-{year}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def raw_folder(tmp_path: Path, units: str = UNITS) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "units.csv").write_text(units, encoding="utf-8")
    (raw / "campaigns.csv").write_text(CAMPAIGNS, encoding="utf-8")
    return raw


def ingested(raw: Path, tmp_path: Path) -> Path:
    out = tmp_path / "processed"
    ingest(raw, out)
    return out


def validate(capsys, folder: Path, *extra: str, engine: str = "native") -> tuple[int, dict]:
    """``hoctap validate --data folder --format json *extra`` (``engine=""``: the default engine, Great
    Expectations for a run without --unit/--year; the native one gives the same findings, faster)."""
    code = cli.main(["validate", "--data", str(folder), "--format", "json", *extra,
                     *(["--engine", engine] if engine else [])])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _checks(result: dict) -> list[tuple[str, str, list[str]]]:
    return [(f["check"], f["severity"], f["unit_ids"]) for f in result["findings"]]


def _intake(result: dict) -> list[tuple[str, list[str]]]:
    return [(f["check"], f["unit_ids"]) for f in result["findings"] if f["check"].startswith("intake.")]


def two_communes(tmp_path: Path, faults: Faults) -> Path:
    """The district's folder: Tân Thanh (tt) and Him Lam (hl) and the district's ratings of them,
    2014 and 2020, clean except ``faults`` in tt's 2014 workbook."""
    raw = raw_folder(tmp_path)
    for year in (2014, 2020):
        for commune in ("tt", "hl"):
            write_commune_book(raw, commune, year, faults if (commune, year) == ("tt", 2014) else None)
        write_district_book(raw, year)
    return ingested(raw, tmp_path)


def test_the_clean_two_commune_folder_passes_every_scope(capsys, tmp_path: Path) -> None:
    folder = two_communes(tmp_path, Faults())
    for args in (["--unit", "tt", "--year", "2014"], ["--unit", "hl", "--year", "2020"], ["--unit", "dbp"], []):
        code, result = validate(capsys, folder, *args)
        assert (code, result["counts"]["critical"]) == (0, 0), (args, _checks(result))


# --- (a) a totals row that does not add up --------------------------------------------------------

def test_a_wrong_totals_row_is_its_committees_and_its_years_only(capsys, tmp_path: Path) -> None:
    folder = two_communes(tmp_path, Faults(stated_total=99))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert [(f["check"], f["unit_ids"], f["year"]) for f in manifest["findings"]] == [
        ("total_mismatch", ["tt"], 2014)]  # what intake writes: the committee whose sheet it is
    for args in (["--unit", "tt", "--year", "2014"], ["--unit", "tt"], ["--unit", "dbp", "--year", "2014"],
                 ["--year", "2014"], []):
        code, result = validate(capsys, folder, *args)
        assert code == 1 and result["verdict"] == "fail", args
        assert _intake(result) == [("intake.total_mismatch", ["tt"])], args
        assert result["counts"]["critical"] == 1, (args, _checks(result))
    for args in (["--unit", "hl", "--year", "2014"], ["--unit", "hl"], ["--unit", "tt", "--year", "2020"],
                 ["--unit", "tt-1", "--year", "2014"], ["--year", "2020"]):
        code, result = validate(capsys, folder, *args)
        assert (code, result["verdict"], _intake(result)) == (0, "pass", []), (args, _checks(result))


# --- (b) a quarantined row ------------------------------------------------------------------------

@pytest.mark.parametrize(("faults", "unit_ids", "reason"), [
    (Faults(bad_count="abc"), ["tt-1"], "intake.not_a_number"),  # the row's unit is known
    (Faults(unknown_name="Chi bộ Tổ dân phố 9"), ["tt"], "intake.unit_unknown"),  # the sheet's committee
])
def test_a_quarantined_row_names_its_unit_and_stays_in_its_scope(capsys, tmp_path: Path, faults: Faults,
                                                                 unit_ids: list[str], reason: str) -> None:
    folder = two_communes(tmp_path, faults)
    q = store.load_table(folder, "quarantine")
    assert [(r.reason_code, r.unit_id, int(r.year)) for r in q.itertuples()] == [
        (reason.removeprefix("intake."), unit_ids[0], 2014)]
    for args in (["--unit", "tt", "--year", "2014"], ["--unit", "dbp", "--year", "2014"], []):
        code, result = validate(capsys, folder, *args)
        assert code == 1, args
        # the row's figures are missing from the sum, so the totals row disagrees too: the same committee's
        assert (reason, unit_ids) in _intake(result), args
        assert {u for _, ids in _intake(result) for u in ids} <= {"tt", "tt-1"}, args
    for args in (["--unit", "hl", "--year", "2014"], ["--unit", "hl"], ["--unit", "tt", "--year", "2020"]):
        code, result = validate(capsys, folder, *args)
        assert (code, _intake(result)) == (0, []), (args, _checks(result))


def test_a_row_of_no_known_unit_or_committee_is_reported_only_without_unit(capsys, tmp_path: Path) -> None:
    # a compiled sheet naming no committee, whose chi bộ belong to two wards: nobody owns the bad row
    # (members only, in a year of no campaign: the one table the folder has)
    raw = raw_folder(tmp_path)
    wb = Workbook()
    wb.remove(wb.active)
    names = COMMUNES["tt"][1] + COMMUNES["hl"][1] + ["Chi bộ Tổ dân phố 99"]
    _sheet(wb, "Đảng viên", ["BÁO CÁO SỐ LƯỢNG ĐẢNG VIÊN NĂM 2016"],
           ["STT", "Tên chi bộ", "Tổng số đảng viên", "Số ĐV miễn sinh hoạt"], None,
           [[i + 1, n, 20, 1] for i, n in enumerate(names)])
    (raw / "2016").mkdir()
    wb.save(raw / "2016" / "bao-cao.xlsx")
    folder = ingested(raw, tmp_path)
    q = store.load_table(folder, "quarantine")
    assert [(r.reason_code, pd.isna(r.unit_id)) for r in q.itertuples()] == [("unit_unknown", True)]
    for args in ([], ["--year", "2016"]):
        code, result = validate(capsys, folder, *args)
        assert (code, _intake(result)) == (1, [("intake.unit_unknown", [])]), args
    for args in (["--unit", "tt", "--year", "2016"], ["--unit", "hl"]):
        code, result = validate(capsys, folder, *args)
        assert (code, result["findings"]) == (0, []), args


# --- (c) a commune's own clean folder -------------------------------------------------------------

def _single_commune(tmp_path: Path, with_district: bool = True) -> Path:
    units = "\n".join(line for line in UNITS.splitlines()
                      if not line.startswith("hl") and (with_district or not line.startswith("dbp,")))
    if not with_district:
        units = units.replace(",dbp,co_so,", ",,co_so,")
    raw = raw_folder(tmp_path, units + "\n")
    write_commune_book(raw, "tt", 2020)
    return ingested(raw, tmp_path)


def test_a_clean_single_commune_folder_passes_its_own_validation(capsys, tmp_path: Path) -> None:
    folder = _single_commune(tmp_path)
    code, result = validate(capsys, folder, "--unit", "tt", "--year", "2020")
    assert (code, result["verdict"], result["findings"]) == (0, "pass", [])
    code = cli.main(["validate", "--data", str(folder), "--unit", "tt", "--year", "2020"])
    assert code == 0 and capsys.readouterr().out.strip().endswith("ĐẠT (0 lỗi nghiêm trọng, 0 cảnh báo)")


def test_unscoped_the_missing_rating_of_the_commune_is_a_warning_for_the_level_above(capsys,
                                                                                   tmp_path: Path) -> None:
    folder = _single_commune(tmp_path)
    for args, engine in (([], ""), (["--year", "2020"], "native")):
        code, result = validate(capsys, folder, *args, engine=engine)
        assert (code, result["verdict"]) == (0, "pass"), _checks(result)
        assert _checks(result) == [("cross.completeness_above", "warning", ["tt"])]
        assert result["findings"][0]["values"] == {"year": 2020, "decided_by": "dbp", "missing": ["tt"]}
    _, result = validate(capsys, folder, "--lang", "en")
    assert result["findings"][0]["message"].startswith("No 2020 rating of 1 organisations rated by 'dbp'")


def test_the_level_above_is_still_told_the_commune_rating_is_missing(capsys, tmp_path: Path) -> None:
    folder = _single_commune(tmp_path)
    code, result = validate(capsys, folder, "--unit", "dbp", "--year", "2020")
    assert code == 1
    assert _checks(result) == [("cross.completeness", "critical", ["tt"])]


def test_a_commune_folder_without_its_district_passes_with_no_finding(capsys, tmp_path: Path) -> None:
    folder = _single_commune(tmp_path, with_district=False)
    for args in ([], ["--unit", "tt", "--year", "2020"]):
        code, result = validate(capsys, folder, *args)
        assert (code, result["findings"]) == (0, []), args
