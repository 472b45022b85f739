"""The quality gate on the sample: every check catches exactly its planted fault (through the CLI).

Each test plants one fault in a private copy of the ingested sample (``processed_copy``) by
rewriting one Parquet table with canonical dtypes (the manifest's table hashes are not verified
when loading), runs ``hoctap validate --format json`` through :func:`analysis.cli.main` and
asserts the check id, severity, unit ids and exit code. The planted-fault runs use the built-in
engine (``--engine native``, milliseconds); ``test_quality_suites.py`` proves it gives the same
findings as Great Expectations.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from helpers import save_table

from analysis import cli, store
from analysis.quality import gate


def _load(folder: Path, table: str) -> pd.DataFrame:
    return store.load_table(folder, table)


def _validate(capsys, folder: Path, *extra: str) -> tuple[int, dict]:
    code = cli.main(["validate", "--data", str(folder), "--format", "json", "--engine", "native", *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _only(result: dict, check: str) -> list[dict]:
    return [f for f in result["findings"] if f["check"] == check]


def _assert_found(capsys, folder: Path, check: str, severity: str, unit_ids: list[str] | None,
                  exit_code: int) -> list[dict]:
    code, result = _validate(capsys, folder)
    hits = _only(result, check)
    assert hits, f"{check} not found; got {sorted({f['check'] for f in result['findings']})}"
    assert {f["severity"] for f in hits} == {severity}
    if unit_ids is not None:
        assert sorted({u for f in hits for u in f["unit_ids"]}) == sorted(unit_ids)
    assert code == exit_code
    return hits


# --- the clean sample ----------------------------------------------------------------------------

def test_clean_sample_passes_with_exit_0(capsys, sample_processed: Path) -> None:
    code, result = _validate(capsys, sample_processed)
    assert code == 0
    assert result["verdict"] == "pass"
    assert result["counts"]["critical"] == 0
    assert set(result) >= {"verdict", "counts", "findings"}
    for f in result["findings"]:
        assert set(f) >= {"check", "severity", "table", "unit_ids", "rows", "message"}
        assert f["severity"] in ("critical", "warning")
        assert isinstance(f["unit_ids"], list) and isinstance(f["rows"], list)


def test_clean_sample_warnings_are_only_the_illustrative_missed_campaign(capsys, sample_processed: Path) -> None:
    # the sample builder makes one remote chi bộ of Thanh Minh miss the second campaign in 2012-2013
    _, result = _validate(capsys, sample_processed)
    assert {(f["check"], tuple(f["unit_ids"])) for f in result["findings"]} == {
        ("trend.outlier", ("thanh-minh-truong",))}


def test_text_output_ends_with_the_verdict_line(capsys, sample_processed: Path) -> None:
    code = cli.main(["validate", "--data", str(sample_processed), "--engine", "native"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert out[-1].startswith("Kết quả kiểm tra: ĐẠT")


def test_unit_year_run_is_restricted_to_the_subtree(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    ms.loc[(ms["unit_id"] == "him-lam-to01") & (ms["year"] == 2014), "members_exempt"] = 999
    save_table(processed_copy, "membership", ms)
    code, result = _validate(capsys, processed_copy, "--unit", "tan-thanh", "--year", "2014")
    assert (code, result["verdict"], result["unit"], result["year"]) == (0, "pass", "tan-thanh", 2014)
    code, result = _validate(capsys, processed_copy, "--unit", "him-lam", "--year", "2014")
    assert code == 1
    assert _only(result, "membership.exempt_le_total")[0]["unit_ids"] == ["him-lam-to01"]


# --- bad input -----------------------------------------------------------------------------------

def test_no_processed_data_exits_2_and_says_run_ingest(capsys, tmp_path: Path) -> None:
    code = cli.main(["validate", "--data", str(tmp_path / "nothing")])
    err = capsys.readouterr().err
    assert code == 2
    assert "hoctap ingest" in err
    assert "Traceback" not in err


def test_processed_folder_of_another_version_exits_2_with_a_clear_message(capsys, processed_copy: Path) -> None:
    path = processed_copy / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 0
    path.write_text(json.dumps(manifest), encoding="utf-8")
    code = cli.main(["validate", "--data", str(processed_copy)])
    err = capsys.readouterr().err
    assert code == 2
    assert "phiên bản khác" in err and "hoctap ingest" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--unit", "khong-co"], ["--unit", "tan-thanh", "--year", "1999"],
                                  ["--year", "2040"]])
def test_unknown_unit_or_year_exits_2(capsys, sample_processed: Path, args: list[str]) -> None:
    code = cli.main(["validate", "--data", str(sample_processed), *args])
    assert code == 2
    assert capsys.readouterr().err.startswith("hoctap: ")


# --- output --------------------------------------------------------------------------------------

def test_lang_en_gives_english_messages(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    ms.loc[(ms["unit_id"] == "tan-thanh-tdp02") & (ms["year"] == 2015), "members_exempt"] = 500
    save_table(processed_copy, "membership", ms)
    _, result = _validate(capsys, processed_copy, "--lang", "en")
    msg = _only(result, "membership.exempt_le_total")[0]["message"]
    assert msg.startswith("Members exempt exceed total members in 1 rows")
    _, result = _validate(capsys, processed_copy)
    assert _only(result, "membership.exempt_le_total")[0]["message"].startswith("Số đảng viên miễn")


def test_reports_are_offline_and_escaped(capsys, processed_copy: Path, tmp_path: Path) -> None:
    ms = _load(processed_copy, "membership")
    row = ms.iloc[[0]].assign(unit_id="<script>alert(1)</script>")
    save_table(processed_copy, "membership", pd.concat([ms, row]))
    report = tmp_path / "report"
    code = cli.main(["validate", "--data", str(processed_copy), "--report-dir", str(report), "--engine", "native"])
    capsys.readouterr()
    assert code == 1
    page = (report / "validation.html").read_text(encoding="utf-8")
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "<link" not in page and "@import" not in page
    data = json.loads((report / "validation.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "fail"


# --- table level (suites) ------------------------------------------------------------------------

def test_missing_column(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership").drop(columns=["members_exempt"])
    save_table(processed_copy, "membership", ms)
    hits = _assert_found(capsys, processed_copy, "membership.required_columns", "critical", [], 1)
    assert "members_exempt" in hits[0]["message"]


def test_wrong_type(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    ms["members_total"] = ms["members_total"].astype("float64") + 0.5
    save_table(processed_copy, "membership", ms)
    hits = _assert_found(capsys, processed_copy, "membership.column_types", "critical", [], 1)
    assert hits[0]["values"] == {"column": "members_total", "expected": "int64", "observed": "float64"}


def test_duplicate_key(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    dup = ms[(ms["unit_id"] == "tan-thanh-tdp04") & (ms["year"] == 2017)]
    save_table(processed_copy, "membership", pd.concat([ms, dup]))
    hits = _assert_found(capsys, processed_copy, "membership.unique_key", "critical", ["tan-thanh-tdp04"], 1)
    assert hits[0]["rows"] == [{"unit_id": "tan-thanh-tdp04", "year": 2017}] * 2


def test_required_value_missing(capsys, processed_copy: Path) -> None:
    ur = _load(processed_copy, "campaigns")
    ur.loc[ur["campaign_id"] == "2016-01", "title"] = None
    save_table(processed_copy, "campaigns", ur)
    hits = _assert_found(capsys, processed_copy, "campaigns.not_null", "critical", [], 1)
    assert hits[0]["rows"] == [{"campaign_id": "2016-01"}]


def test_negative_count(capsys, processed_copy: Path) -> None:
    sp = _load(processed_copy, "study_participation")
    sp.loc[(sp["unit_id"] == "him-lam-to03") & (sp["campaign_id"] == "2018-01"), "public_attended"] = -5
    save_table(processed_copy, "study_participation", sp)
    _assert_found(capsys, processed_copy, "study_participation.non_negative", "critical", ["him-lam-to03"], 1)


def test_exempt_above_total(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    sel = (ms["unit_id"] == "thanh-minh-pa-pu") & (ms["year"] == 2019)
    ms.loc[sel, "members_exempt"] = ms.loc[sel, "members_total"] + 1
    save_table(processed_copy, "membership", ms)
    _assert_found(capsys, processed_copy, "membership.exempt_le_total", "critical", ["thanh-minh-pa-pu"], 1)


def test_attended_above_eligible(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    m = ms[(ms["unit_id"] == "tan-thanh-tdp08") & (ms["year"] == 2014)].iloc[0]
    sp = _load(processed_copy, "study_participation")
    sel = (sp["unit_id"] == "tan-thanh-tdp08") & (sp["campaign_id"] == "2014-02")
    sp.loc[sel, "members_attended"] = int(m.members_total - m.members_exempt) + 1
    save_table(processed_copy, "study_participation", sp)
    hits = _assert_found(capsys, processed_copy, "study_participation.attended_le_eligible", "critical",
                         ["tan-thanh-tdp08"], 1)
    assert hits[0]["rows"] == [{"unit_id": "tan-thanh-tdp08", "campaign_id": "2014-02"}]


def test_year_out_of_range(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    row = ms[(ms["unit_id"] == "him-lam-to02") & (ms["year"] == 2012)].assign(year=1990)
    save_table(processed_copy, "membership", pd.concat([ms, row]))
    _assert_found(capsys, processed_copy, "membership.year_range", "critical", ["him-lam-to02"], 1)


def test_unit_label_of_another_scheme(capsys, processed_copy: Path) -> None:
    ur = _load(processed_copy, "unit_ratings")
    sel = (ur["unit_id"] == "tan-thanh-tdp10") & (ur["year"] == 2020)
    ur.loc[sel, ["rating_code", "rating_rank"]] = ["tsvm", 1]
    save_table(processed_copy, "unit_ratings", ur)
    _assert_found(capsys, processed_copy, "unit_ratings.label_valid", "critical", ["tan-thanh-tdp10"], 1)


def test_member_level_of_another_scheme(capsys, processed_copy: Path) -> None:
    mr = _load(processed_copy, "member_ratings")
    sel = (mr["unit_id"] == "him-lam-to05") & (mr["year"] == 2016) & (mr["rating_code"] == "vi-pham")
    mr.loc[sel, "rating_code"] = "khtnv"  # the later schemes' level 4, not tsvm-2008's
    save_table(processed_copy, "member_ratings", mr)
    _assert_found(capsys, processed_copy, "member_ratings.label_valid", "critical", ["him-lam-to05"], 1)


def test_invalid_unit_level(capsys, processed_copy: Path) -> None:
    u = _load(processed_copy, "units")
    u.loc[u["unit_id"] == "him-lam-to07", "unit_level"] = "to_dang"
    save_table(processed_copy, "units", u)
    _assert_found(capsys, processed_copy, "units.invalid_level", "critical", ["him-lam-to07"], 1)


# --- across tables -------------------------------------------------------------------------------

def test_unknown_parent(capsys, processed_copy: Path) -> None:
    u = _load(processed_copy, "units")
    u.loc[u["unit_id"] == "thanh-minh-pa-pu", "parent_id"] = "xa-khong-co"
    save_table(processed_copy, "units", u)
    _assert_found(capsys, processed_copy, "hierarchy.unknown_parent", "critical", ["thanh-minh-pa-pu"], 1)


def test_cycle(capsys, processed_copy: Path) -> None:
    u = _load(processed_copy, "units")
    u.loc[u["unit_id"] == "thanh-minh", "parent_id"] = "thanh-minh-truong"
    save_table(processed_copy, "units", u)
    _assert_found(capsys, processed_copy, "hierarchy.cycle", "critical", ["thanh-minh", "thanh-minh-truong"], 1)


def test_unknown_unit(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    row = ms.iloc[[0]].assign(unit_id="chi-bo-la")
    save_table(processed_copy, "membership", pd.concat([ms, row]))
    _assert_found(capsys, processed_copy, "cross.unit_unknown", "critical", ["chi-bo-la"], 1)


def test_inactive_unit(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")  # tdp19 merged into tdp19-20 in 2020
    row = ms[(ms["unit_id"] == "tan-thanh-tdp19") & (ms["year"] == 2019)].assign(year=2021)
    save_table(processed_copy, "membership", pd.concat([ms, row]))
    _assert_found(capsys, processed_copy, "cross.unit_inactive", "critical", ["tan-thanh-tdp19"], 1)


def test_figures_at_a_unit_with_sub_units(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    row = ms[(ms["unit_id"] == "him-lam-to01") & (ms["year"] == 2014)].assign(unit_id="him-lam")
    save_table(processed_copy, "membership", pd.concat([ms, row]))
    _assert_found(capsys, processed_copy, "cross.facts_not_leaf", "critical", ["him-lam"], 1)


def test_unknown_campaign(capsys, processed_copy: Path) -> None:
    sp = _load(processed_copy, "study_participation")
    row = sp[(sp["unit_id"] == "tan-thanh-tdp01") & (sp["campaign_id"] == "2014-01")].assign(campaign_id="2014-09")
    save_table(processed_copy, "study_participation", pd.concat([sp, row]))
    _assert_found(capsys, processed_copy, "cross.campaign_unknown", "critical", ["tan-thanh-tdp01"], 1)


def test_missing_report(capsys, processed_copy: Path) -> None:
    ur = _load(processed_copy, "unit_ratings")
    ur = ur[~((ur["unit_id"] == "tan-thanh-tdp03") & (ur["year"] == 2016))]
    save_table(processed_copy, "unit_ratings", ur)
    hits = _assert_found(capsys, processed_copy, "cross.completeness", "critical", ["tan-thanh-tdp03"], 1)
    v = hits[0]["values"]
    assert (v["year"], v["missing"], v["reported"] + 1) == (2016, ["tan-thanh-tdp03"], v["expected"])
    assert "tan-thanh-tdp03" in hits[0]["message"]


def test_missing_study_report_names_the_campaign(capsys, processed_copy: Path) -> None:
    sp = _load(processed_copy, "study_participation")
    sp = sp[~((sp["unit_id"] == "him-lam-to02") & (sp["campaign_id"] == "2021-02"))]
    save_table(processed_copy, "study_participation", sp)
    hits = _assert_found(capsys, processed_copy, "cross.completeness", "critical", ["him-lam-to02"], 1)
    assert hits[0]["values"]["campaign_id"] == "2021-02"


def test_member_rating_counts_do_not_add_up(capsys, processed_copy: Path) -> None:
    mr = _load(processed_copy, "member_ratings")
    sel = (mr["unit_id"] == "tan-thanh-tdp12") & (mr["year"] == 2014) & (mr["rating_code"] == "httnv")
    mr.loc[sel, "members_count"] += 2
    save_table(processed_copy, "member_ratings", mr)
    hits = _assert_found(capsys, processed_copy, "cross.member_ratings_sum", "critical", ["tan-thanh-tdp12"], 1)
    assert hits[0]["values"]["difference"] == 2


def test_not_assessed_differs_between_level_rows(capsys, processed_copy: Path) -> None:
    mr = _load(processed_copy, "member_ratings")
    sel = (mr["unit_id"] == "him-lam-to06") & (mr["year"] == 2013) & (mr["rating_code"] == "htnv")
    mr.loc[sel, "members_not_assessed"] += 3
    save_table(processed_copy, "member_ratings", mr)
    _assert_found(capsys, processed_copy, "cross.not_assessed_varies", "critical", ["him-lam-to06"], 1)


def test_exemplary_outside_level_1(capsys, processed_copy: Path) -> None:
    ur = _load(processed_copy, "unit_ratings")
    cand = ur[(ur["year"] == 2015) & (ur["rating_rank"] == 2)].iloc[0]
    ur.loc[(ur["unit_id"] == cand.unit_id) & (ur["year"] == 2015), "is_exemplary"] = True
    save_table(processed_copy, "unit_ratings", ur)
    _assert_found(capsys, processed_copy, "cross.exemplary_subset", "critical", [cand.unit_id], 1)


def test_member_quota_per_grassroots_organisation(capsys, processed_copy: Path) -> None:
    mr = _load(processed_copy, "member_ratings")
    base = (mr["unit_id"] == "thpt-pdg") & (mr["year"] == 2021)
    l1, l2 = base & (mr["rating_rank"] == 1), base & (mr["rating_rank"] == 2)
    moved = int(mr.loc[l2, "members_count"].iloc[0]) // 2
    mr.loc[l1, "members_count"] += moved
    mr.loc[l2, "members_count"] -= moved
    save_table(processed_copy, "member_ratings", mr)
    hits = _assert_found(capsys, processed_copy, "cross.member_quota", "critical", ["thpt-pdg"], 1)
    v = hits[0]["values"]
    assert v["level1_count"] > v["limit_count"] == v["level2_count"] * 20 // 100


def test_member_quota_rolls_up_chi_bo_to_their_co_so(capsys, processed_copy: Path) -> None:
    mr = _load(processed_copy, "member_ratings")
    leaves = [u for u in mr["unit_id"].unique() if str(u).startswith("him-lam-to")]
    for leaf in leaves:
        base = (mr["unit_id"] == leaf) & (mr["year"] == 2020)
        l1, l2 = base & (mr["rating_rank"] == 1), base & (mr["rating_rank"] == 2)
        moved = int(mr.loc[l2, "members_count"].iloc[0]) // 3
        mr.loc[l1, "members_count"] += moved
        mr.loc[l2, "members_count"] -= moved
    save_table(processed_copy, "member_ratings", mr)
    hits = _assert_found(capsys, processed_copy, "cross.member_quota", "critical", ["him-lam"], 1)
    assert hits[0]["rows"] == [{"unit_id": "him-lam", "year": 2020}]


@pytest.fixture(scope="module")
def faulty_sample(tmp_path_factory: pytest.TempPathFactory, sample_raw: Path) -> Path:
    """The sample ingested after two faults in Tân Thanh's 2014 workbook (issue 16): its "Tổng cộng"
    row of members states 551 (the rows add up to 550) and a count of its members' ratings sheet is
    "abc" (intake quarantines the row). What the gate reads is what intake really wrote."""
    from openpyxl import load_workbook

    from analysis.intake.pipeline import ingest

    raw = tmp_path_factory.mktemp("faulty") / "raw"
    shutil.copytree(sample_raw, raw)
    path = raw / "2014" / "tan-thanh-2014.xlsx"
    wb = load_workbook(path)
    total = next(r for r in wb["Đảng viên"].iter_rows() if r[1].value == "Tổng cộng")
    assert total[2].value == 550
    total[2].value = 551
    row = next(r for r in wb["Xếp loại ĐV"].iter_rows() if r[1].value == "Chi bộ Tổ dân phố 2")
    row[2].value = "abc"
    wb.save(path)
    out = raw.parent / "processed"
    ingest(raw, out)
    return out


def test_a_quarantined_row_is_a_critical_finding_of_its_unit(capsys, faulty_sample: Path) -> None:
    q = _load(faulty_sample, "quarantine")
    assert [(r.reason_code, r.unit_id, r.year) for r in q.itertuples()] == [("not_a_number", "tan-thanh-tdp02", 2014)]
    code, result = _validate(capsys, faulty_sample, "--unit", "tan-thanh", "--year", "2014")
    hits = _only(result, "intake.not_a_number")
    assert code == 1 and [(f["severity"], f["unit_ids"], f["table"]) for f in hits] == [
        ("critical", ["tan-thanh-tdp02"], q["table"].iloc[0])]
    assert hits[0]["rows"] == [{"source_file": "2014/tan-thanh-2014.xlsx", "sheet": "Xếp loại ĐV",
                                "row_number": int(q["row_number"].iloc[0])}]


def test_a_stated_total_that_disagrees_is_a_critical_finding_of_its_committee(capsys, faulty_sample: Path) -> None:
    hits = _assert_found(capsys, faulty_sample, "intake.total_mismatch", "critical", ["tan-thanh"], 1)
    assert {f["rows"][0]["sheet"] for f in hits} >= {"Đảng viên"}


@pytest.mark.parametrize(("unit", "year", "exit_code"), [
    ("tan-thanh", "2014", 1), ("dbp", "2014", 1), ("tan-thanh", None, 1),
    ("him-lam", "2020", 0), ("him-lam", "2014", 0), ("tan-thanh", "2020", 0), ("tan-thanh-tdp05", "2014", 0)])
def test_what_intake_found_in_a_workbook_fails_only_its_units_and_year(capsys, faulty_sample: Path, unit: str,
                                                                       year: str | None, exit_code: int) -> None:
    # issue 16: one wrong "Cộng" row in Tân Thanh's 2014 workbook failed every unit's validation of every year
    code, result = _validate(capsys, faulty_sample, "--unit", unit, *(["--year", year] if year else []))
    intake = sorted({f["check"] for f in result["findings"] if f["check"].startswith("intake.")})
    assert code == exit_code, result["findings"]
    assert intake == (["intake.not_a_number", "intake.total_mismatch"] if exit_code else [])


def test_a_missing_rating_of_a_grassroots_committee_is_told_to_the_level_above(capsys, processed_copy: Path) -> None:
    ur = _load(processed_copy, "unit_ratings")
    save_table(processed_copy, "unit_ratings", ur[~((ur["unit_id"] == "tan-thanh") & (ur["year"] == 2016))])
    _assert_found(capsys, processed_copy, "cross.completeness", "critical", ["tan-thanh"], 1)
    code, result = _validate(capsys, processed_copy, "--unit", "dbp", "--year", "2016")
    assert code == 1 and _only(result, "cross.completeness")[0]["unit_ids"] == ["tan-thanh"]
    # the ward's own run does not demand what the city committee decides
    code, result = _validate(capsys, processed_copy, "--unit", "tan-thanh", "--year", "2016")
    assert (code, result["findings"]) == (0, [])


def test_a_year_without_any_rating_by_the_top_committee_is_a_warning(capsys, processed_copy: Path) -> None:
    ur = _load(processed_copy, "unit_ratings")
    co_so = set(_load(processed_copy, "units").query("parent_id == 'dbp'")["unit_id"])
    save_table(processed_copy, "unit_ratings", ur[~(ur["unit_id"].isin(co_so) & (ur["year"] == 2016))])
    hits = _assert_found(capsys, processed_copy, "cross.completeness_above", "warning", sorted(co_so), 0)
    assert hits[0]["values"]["decided_by"] == "dbp"
    assert not _only(_validate(capsys, processed_copy)[1], "cross.completeness")
    code, result = _validate(capsys, processed_copy, "--unit", "dbp", "--year", "2016")
    assert code == 1 and _only(result, "cross.completeness")[0]["unit_ids"] == sorted(co_so)


# --- over time (warnings: exit 0) ----------------------------------------------------------------

def test_attendance_far_below_the_previous_three_years(capsys, processed_copy: Path) -> None:
    sp = _load(processed_copy, "study_participation")
    sel = sp["unit_id"].str.startswith("tan-thanh-") & sp["campaign_id"].str.startswith("2017-")
    sp.loc[sel, "members_attended"] = sp.loc[sel, "members_attended"] // 2
    save_table(processed_copy, "study_participation", sp)
    code, result = _validate(capsys, processed_copy)
    hits = [f for f in _only(result, "trend.consistency") if f["unit_ids"] == ["tan-thanh"]]
    assert code == 0 and result["verdict"] == "pass"
    assert len(hits) == 1 and hits[0]["severity"] == "warning"
    v = hits[0]["values"]
    assert (v["indicator"], v["year"]) == ("coverage_members", 2017)
    assert v["change_pct"] < -33 and set(v["previous"]) == {"2014", "2015", "2016"}


def test_members_jump_is_a_consistency_warning(capsys, processed_copy: Path) -> None:
    ms = _load(processed_copy, "membership")
    mr = _load(processed_copy, "member_ratings")
    sel = ms["unit_id"].str.startswith("him-lam-") & (ms["year"] == 2016)
    ms.loc[sel, "members_total"] *= 2  # every figure of the year doubled consistently
    ms.loc[sel, "members_exempt"] *= 2
    msel = mr["unit_id"].str.startswith("him-lam-") & (mr["year"] == 2016)
    mr.loc[msel, ["members_count", "members_not_assessed"]] *= 2
    save_table(processed_copy, "membership", ms)
    save_table(processed_copy, "member_ratings", mr)
    code, result = _validate(capsys, processed_copy)
    hits = [f for f in _only(result, "trend.consistency") if f["values"]["indicator"] == "members"]
    assert code == 0
    assert {u for f in hits for u in f["unit_ids"]} >= {"him-lam"}
    assert {f["severity"] for f in hits} == {"warning"}


def test_sibling_outlier(capsys, processed_copy: Path) -> None:
    sp = _load(processed_copy, "study_participation")
    sel = (sp["unit_id"] == "tan-thanh-tdp05") & sp["campaign_id"].str.startswith("2016-")
    sp.loc[sel, "members_attended"] = 2
    save_table(processed_copy, "study_participation", sp)
    code, result = _validate(capsys, processed_copy)
    hits = [f for f in _only(result, "trend.outlier") if f["values"]["year"] == 2016]
    assert code == 0
    assert [f["unit_ids"] for f in hits] == [["tan-thanh-tdp05"]]
    assert hits[0]["severity"] == "warning" and hits[0]["values"]["modified_z"] < -3.5
    assert hits[0]["values"]["parent_id"] == "tan-thanh"


# ---------------------------------------------------------------------------------------------
# run_gate_scopes: many scopes from one read, each equal to its own run_gate
# ---------------------------------------------------------------------------------------------

#: Units at every level of the sample, two per language: the province committee, a grassroots
#: organisation, a cell merged away in 2020 and the cell it merged into.
_SCOPE_UNITS = {"vi": ("dbp", "tan-thanh-tdp19"), "en": ("thanh-minh", "tan-thanh-tdp19-20")}


def _unit_year_scopes(folder: Path, unit_ids: tuple[str, ...]) -> list[tuple[str, int]]:
    from analysis import hierarchy

    units = _load(folder, "units")
    data_years = set(_load(folder, "membership")["year"].astype(int))
    return [(u, y) for u in unit_ids for y in hierarchy.years_active(units, u) if y in data_years]


def _assert_scopes_equal_runs(folder: Path, scopes: list, lang: str) -> dict:
    from analysis.quality import gate

    batch = gate.run_gate_scopes(folder, scopes, lang=lang, engine="native")
    assert list(batch) == list(dict.fromkeys(scopes))
    for unit, year in scopes:
        alone = gate.run_gate(folder, unit=unit, year=year, lang=lang, engine="native")
        got = batch[(unit, year)]
        assert (got.unit, got.year, got.engine) == (unit, year, "native")
        assert got.findings == alone.findings, (unit, year)
        assert got.to_json() == alone.to_json(), (unit, year)
    return batch


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_run_gate_scopes_equals_one_run_per_scope(sample_processed: Path, lang: str) -> None:
    """Every year of a unit at each level (committee, grassroots organisation, cell) in one batch."""
    scopes = _unit_year_scopes(sample_processed, _SCOPE_UNITS[lang])
    assert len(scopes) == {"vi": 13 + 8, "en": 13 + 5}[lang]
    _assert_scopes_equal_runs(sample_processed, scopes, lang)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_run_gate_scopes_equals_one_run_per_scope_with_faults(processed_copy: Path, lang: str) -> None:
    """Planted faults (an outlier, more exempt members than members) reach each scope as in its own
    run, and only those; open scopes (every year of a unit, every unit of a year) too."""
    sp = _load(processed_copy, "study_participation")
    sel = (sp["unit_id"] == "tan-thanh-tdp05") & sp["campaign_id"].str.startswith("2016-")
    sp.loc[sel, "members_attended"] = 2
    save_table(processed_copy, "study_participation", sp)
    ms = _load(processed_copy, "membership")
    ms.loc[(ms["unit_id"] == "thanh-minh-pa-pu") & (ms["year"] == 2023), "members_exempt"] = 999
    save_table(processed_copy, "membership", ms)
    scopes = [("him-lam", 2016), ("tan-thanh-tdp05", 2016), ("tan-thanh-tdp05", 2017),
              ("thanh-minh", 2023), ("thanh-minh", 2024), ("dbp", 2016), ("thpt-pdg", None), (None, 2016)]
    found = _assert_scopes_equal_runs(processed_copy, scopes, lang)
    checks_of = {s: {f["check"] for f in r.findings} for s, r in found.items()}
    assert "trend.outlier" in checks_of[("tan-thanh-tdp05", 2016)]
    assert found[("thanh-minh", 2023)].verdict == "fail"
    assert checks_of[("thanh-minh", 2023)] != checks_of[("thanh-minh", 2024)]


def test_run_gate_scopes_rejects_a_scope_as_run_gate_does(sample_processed: Path) -> None:
    from analysis.quality import gate

    with pytest.raises(gate.GateInputError, match="không hoạt động"):
        gate.run_gate_scopes(sample_processed, [("tan-thanh", 2016), ("tan-thanh-tdp19", 2021)])
    with pytest.raises(gate.GateInputError, match="không hoạt động"):
        gate.run_gate(sample_processed, unit="tan-thanh-tdp19", year=2021)


def test_a_tree_broken_outside_the_scope_is_said_not_crashed(processed_copy: Path) -> None:
    units = store.load_table(processed_copy, "units")
    units.loc[units["unit_id"] == "him-lam-to03", "parent_id"] = "khong-co"
    save_table(processed_copy, "units", units)
    for unit, year in (("dbp", 2016), ("thpt-pdg", None)):
        result = gate.run_gate(processed_copy, unit=unit, year=year)
        warned = [f for f in result.findings if f["check"] == "gate.tree_broken_elsewhere"]
        assert len(warned) == 1 and "him-lam-to03" in warned[0]["message"]
        assert not any(f["check"].startswith("trend.") for f in result.findings)
    inside = gate.run_gate(processed_copy, unit="him-lam-to03", year=2016)
    assert "hierarchy.unknown_parent" in {f["check"] for f in inside.findings}


# ---------------------------------------------------------------------------------------------
# The folder cache (<data_dir>/.cache): never changes a result
# ---------------------------------------------------------------------------------------------

_CACHE_SCOPES = [("dbp", 2016), ("tan-thanh", None), ("him-lam-to03", 2016), (None, 2020)]


def _runs(folder: Path) -> list[dict]:
    return [gate.run_gate(folder, unit=u, year=y, engine="native").to_json() for u, y in _CACHE_SCOPES]


def _break_tree(folder: Path) -> None:
    units = store.load_table(folder, "units")  # the manifest is left as it was
    units.loc[units["unit_id"] == "him-lam-to03", "parent_id"] = "khong-co"
    save_table(folder, "units", units)


def test_the_cache_never_changes_a_result(processed_copy: Path, monkeypatch) -> None:
    from analysis.quality import cache

    shutil.rmtree(processed_copy / cache.CACHE_DIR, ignore_errors=True)  # copied from the shared sample
    _break_tree(processed_copy)
    monkeypatch.setenv("HOCTAP_GATE_CACHE", "0")
    plain = _runs(processed_copy)
    assert not (processed_copy / cache.CACHE_DIR).exists()
    monkeypatch.setenv("HOCTAP_GATE_CACHE", "1")
    first = _runs(processed_copy)  # computes and writes
    stored = sorted(p.name for p in (processed_copy / cache.CACHE_DIR).iterdir())
    assert [n.split("-")[:2] for n in stored] == [["tree", "vi"]]
    second = _runs(processed_copy)  # reads
    assert plain == first == second
    assert any(f["check"] == "hierarchy.unknown_parent" for r in second for f in r["findings"])
    # a corrupt entry is recomputed (and replaced)
    (processed_copy / cache.CACHE_DIR / stored[0]).write_text("{not json", encoding="utf-8")
    assert _runs(processed_copy) == plain
    assert json.loads((processed_copy / cache.CACHE_DIR / stored[0]).read_text(encoding="utf-8"))["value"]


def test_a_rewritten_or_reingested_table_is_a_new_cache_key(tmp_path: Path, sample_raw: Path, monkeypatch) -> None:
    from analysis.intake.pipeline import ingest

    raw = tmp_path / "raw"
    shutil.copytree(sample_raw, raw)
    folder = tmp_path / "processed"
    ingest(raw, folder)
    clean = _runs(folder)  # cache written for the clean tree
    assert not any(f["check"].startswith("hierarchy.") for r in clean for f in r["findings"])
    _break_tree(folder)  # a table rewritten by hand, manifest unchanged
    broken = _runs(folder)
    monkeypatch.setenv("HOCTAP_GATE_CACHE", "0")
    assert broken == _runs(folder)
    monkeypatch.setenv("HOCTAP_GATE_CACHE", "1")
    ingest(raw, folder)  # hoctap ingest replaces the tables in place, .cache and all
    assert _runs(folder) == clean
    merges = raw / "merges.csv"  # a merge a year late: a problem of the tree that intake lets through
    text = merges.read_text(encoding="utf-8")
    assert "tan-thanh-tdp20,tan-thanh-tdp19-20,2020" in text
    merges.write_text(text.replace("tan-thanh-tdp20,tan-thanh-tdp19-20,2020", "tan-thanh-tdp20,tan-thanh-tdp19-20,2021"),
                      encoding="utf-8")
    ingest(raw, folder)  # new tables and a new manifest: a new key
    again = _runs(folder)
    assert any(f["check"] == "hierarchy.merge_source_years" for r in again for f in r["findings"])
    monkeypatch.setenv("HOCTAP_GATE_CACHE", "0")
    assert again == _runs(folder)


def test_a_folder_that_cannot_hold_a_cache_still_validates(processed_copy: Path) -> None:
    from analysis.quality import cache

    shutil.rmtree(processed_copy / cache.CACHE_DIR, ignore_errors=True)
    (processed_copy / cache.CACHE_DIR).write_text("not a folder", encoding="utf-8")  # mkdir fails
    assert _runs(processed_copy) == _runs(processed_copy)
    assert (processed_copy / cache.CACHE_DIR).read_text(encoding="utf-8") == "not a folder"


def test_report_fingerprints_ignore_the_cache_folder(processed_copy: Path) -> None:
    from analysis import reports
    from analysis.quality import cache

    def digest() -> dict:
        ctx = reports.DataContext.load(processed_copy)
        params = reports.build_params("annual", unit_id="tan-thanh", data_dir=processed_copy, year=2016, context=ctx)
        return reports.fingerprint("annual", params, reports.SliceSource(ctx))

    before = digest()
    gate.run_gate(processed_copy, unit="tan-thanh", year=2016)
    assert any((processed_copy / cache.CACHE_DIR).iterdir())
    assert digest() == before
