"""Member register and attendance list: the pure aggregation and its file edge (CSV, Parquet)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.parquet as pq
import pytest

from analysis import store
from analysis.intake import register
from analysis.intake.pipeline import ingest
from analysis.intake.register import Source, aggregate_year, classify_columns

UNITS = pd.DataFrame({
    "unit_id": ["p", "a", "b", "old"], "unit_name": ["P", "A", "B", "Old"],
    "parent_id": [None, "p", "p", "p"], "unit_level": ["co_so", "chi_bo", "chi_bo", "chi_bo"],
    "unit_kind": ["khac"] * 4, "valid_from_year": pd.array([2010] * 4, dtype="Int64"),
    "valid_to_year": pd.array([None, None, None, 2012], dtype="Int64")})
CAMPAIGNS = pd.DataFrame({"campaign_id": ["c1", "c2", "x1"], "year": pd.array([2016, 2016, 2015], dtype="Int64"),
                          "title": ["NQ 1", "CT 2", "Khác"]})
L1, L2 = "Đủ tư cách, hoàn thành xuất sắc nhiệm vụ", "Đủ tư cách, HTTNV"


def reg(**cols) -> pa.Table:
    return pa.table(cols)


def test_file_kind_is_decided_by_columns_not_names() -> None:
    assert classify_columns(["Mã đảng viên", "Mã đơn vị", "Năm", "Xếp loại"])[0] == "member_register"
    assert classify_columns(["member_id", "unit_id", "is_exempt"])[0] == "member_register"
    assert classify_columns(["member_id", "campaign_id", "year"])[0] == "attendance"
    assert classify_columns(["member_id", "unit_id", "rating_label", "campaign_id"])[0] is None
    assert classify_columns(["STT", "Tên chi bộ", "Tổng số"])[0] is None


def test_membership_counts_kept_members_and_exempt() -> None:
    t = reg(member_id=["m1", "m2", "m3", "m4"], unit_id=["a", "a", "a", "b"],
            is_exempt=[False, True, False, False], rating_label=[L1, None, None, L2])
    out = aggregate_year(2016, [Source("r.parquet", t)], [], UNITS, CAMPAIGNS)
    assert out.membership[["unit_id", "members_total", "members_exempt"]].values.tolist() == [
        ["a", 3, 1], ["b", 1, 0]]


def test_exempt_members_who_attend_join_the_denominator() -> None:
    """HD 01-HD/TW 13.2: an exempt member is left out of the denominator unless they attend."""
    from analysis import metrics, schema
    from analysis.store import Tables

    t = reg(member_id=["m1", "m2", "m3", "m4", "m5"], unit_id=["a", "a", "a", "a", "b"],
            is_exempt=[False, True, True, False, False], rating_label=[L1, None, None, L2, L2])
    att = pa.table({"member_id": ["m1", "m2", "m4", "m2", "m5"], "campaign_id": ["c1", "c1", "c1", "c2", "c2"]})
    out = aggregate_year(2016, [Source("r", t)], [Source("att", att)], UNITS, CAMPAIGNS)
    sp = out.study_participation.set_index(["unit_id", "campaign_id"])
    assert sp.loc[("a", "c1"), ["members_attended", "members_exempt_attended"]].tolist() == [3, 1]
    assert sp.loc[("a", "c2"), ["members_attended", "members_exempt_attended"]].tolist() == [1, 1]
    assert sp.loc[("b", "c2"), ["members_attended", "members_exempt_attended"]].tolist() == [1, 0]
    units = UNITS.astype({"unit_id": "string", "parent_id": "string"})
    tables = Tables(units=units, campaigns=CAMPAIGNS.assign(start_date=None, document_code=None),
                    membership=out.membership,
                    study_participation=schema.conform(out.study_participation, "study_participation"),
                    unit_ratings=pd.DataFrame({"unit_id": pd.Series(dtype="string"), "year": pd.Series(dtype="Int64"),
                                               "rating_code": pd.Series(dtype="string"),
                                               "is_exemplary": pd.Series(dtype="boolean")}),
                    member_ratings=out.member_ratings)
    # unit a: 4 members, 2 exempt → 2 eligible; c1: 3 attended over 2 + 1 exempt who came; c2: 1 over 2 + 1
    by_camp = metrics.coverage_by_campaign(tables, "a", 2016).set_index("campaign_id")
    assert by_camp.loc["c1", ["members_attended", "members_eligible"]].tolist() == [3, 3]
    assert by_camp.loc["c2", ["members_attended", "members_eligible"]].tolist() == [1, 3]
    cov = metrics.coverage(tables, "p", 2016)["members"]
    assert (cov.numerator, cov.denominator) == (5, (2 + 1) * 2 + 2)  # a and b eligible × 2 campaigns + 2 exempt


def test_member_ratings_every_level_and_not_assessed_excludes_exempt() -> None:
    t = reg(member_id=["m1", "m2", "m3", "m4"], unit_id=["a"] * 4, is_exempt=[False, True, False, False],
            rating_label=[L1, None, None, L2])
    mr = aggregate_year(2016, [Source("r", t)], [], UNITS, CAMPAIGNS).member_ratings
    assert dict(zip(mr["rating_code"], mr["members_count"], strict=True)) == {
        "htxsnv": 1, "httnv": 1, "htnv": 0, "vi-pham": 0}
    assert set(mr["members_not_assessed"]) == {1} and set(mr["scheme_id"]) == {"tsvm-2008"}


def test_exempt_member_with_a_label_is_not_counted_and_reported() -> None:
    t = reg(member_id=["m1", "m2"], unit_id=["a", "a"], is_exempt=[True, False], rating_label=[L1, L1])
    out = aggregate_year(2016, [Source("r", t)], [], UNITS, CAMPAIGNS)
    assert out.member_ratings.set_index("rating_code").loc["htxsnv", "members_count"] == 1
    assert [(f["check"], f["unit_ids"]) for f in out.findings] == [("exempt_member_rated", ["a"])]


def test_bad_rows_are_quarantined_grouped_with_counts_and_row_numbers() -> None:
    t = reg(member_id=["m1", "m2", "m3", "m4", "m5", "m1", None, "m8"],
            unit_id=["zz", "zz", "old", "a", "a", "a", "a", "a"],
            is_exempt=[False] * 8,
            rating_label=[None, None, None, "Trong sạch vững mạnh", "HTXSNV ???", None, None, L2])
    out = aggregate_year(2016, [Source("2016/r.csv", t, first_row=2)], [], UNITS, CAMPAIGNS)
    q = out.quarantine.sort_values("row_number")
    assert q[["row_number", "table", "reason_code"]].values.tolist() == [
        [2, "member_register", "unit_unknown"], [4, "member_register", "unit_inactive"],
        [5, "member_ratings", "other-subject-label"],  # only the rating: m4 is kept
        [7, "member_register", "duplicate_member"], [8, "member_register", "member_id_missing"]]
    # "HTXSNV ???" folds to a valid label: kept
    first = json.loads(q["raw_values"].iloc[0])
    assert first["rows"] == 2 and first["row_numbers"] == [2, 3] and first["member_ids"] == ["m1", "m2"]
    assert "— 2 dòng" in q["reason"].iloc[0]
    c = out.counts["2016/r.csv"]
    assert (c["rows_read"], c["rows_kept"], c["rows_quarantined"], c["values_quarantined"]) == (8, 3, 5, 1)
    assert out.membership["members_total"].tolist() == [3]


def test_attendance_counts_distinct_members_per_campaign() -> None:
    t = reg(member_id=["m1", "m2", "m3"], unit_id=["a", "a", "b"], is_exempt=[False, False, True],
            rating_label=[None, None, None])
    att = reg(member_id=["m1", "m1", "m2", "m3", "m1"], campaign_id=["c1", "c1", "c1", "c1", "c2"])
    out = aggregate_year(2016, [Source("r", t)], [Source("att", att)], UNITS, CAMPAIGNS)
    sp = out.study_participation
    assert sp[["unit_id", "campaign_id", "is_held", "members_attended"]].values.tolist() == [
        ["a", "c1", True, 2], ["a", "c2", True, 1], ["b", "c1", True, 1], ["b", "c2", False, 0]]
    assert out.counts["att"] == {"rows_read": 5, "rows_kept": 4, "rows_excluded": 1, "rows_quarantined": 0,
                                 "excluded": {"duplicate_attendance": 1}, "values_quarantined": 0}


def test_attendance_problems_are_quarantined() -> None:
    t = reg(member_id=["m1", "m2"], unit_id=["a", "zz"], is_exempt=[False, False], rating_label=[None, None])
    att = reg(member_id=["m1", "m9", "m2", "m1", "m1", "m1"], campaign_id=["c1", "c1", "c1", "x1", "nope", None])
    out = aggregate_year(2016, [Source("r", t)], [Source("att", att)], UNITS, CAMPAIGNS)
    codes = sorted(out.quarantine.loc[out.quarantine["table"] == "study_participation", "reason_code"])
    assert codes == ["campaign_missing", "campaign_other_year", "campaign_unknown", "member_quarantined",
                     "member_unknown"]
    c = out.counts["att"]
    assert c["rows_read"] == c["rows_kept"] + c["rows_excluded"] + c["rows_quarantined"] == 6
    assert out.study_participation.set_index("campaign_id").loc["c1", "members_attended"] == 1


def test_text_flags_are_read_like_workbook_flags() -> None:
    t = reg(member_id=["m1", "m2", "m3", "m4"], unit_id=["a"] * 4, is_exempt=["x", "", "Không", "hmm"],
            rating_label=[None] * 4)
    out = aggregate_year(2016, [Source("r", t)], [], UNITS, CAMPAIGNS)
    # "hmm" is neither yes nor no: the member counts, read as not exempt (as a blank cell is)
    assert out.membership[["members_total", "members_exempt"]].values.tolist() == [[4, 1]]
    assert out.quarantine[["table", "reason_code", "row_number"]].values.tolist() == [["membership", "bad_flag", 4]]
    assert "m4" in out.quarantine["reason"].iloc[0] and "'hmm'" in out.quarantine["reason"].iloc[0]
    assert out.counts["r"]["values_quarantined"] == 1 and out.counts["r"]["rows_quarantined"] == 0
    assert out.member_ratings["members_not_assessed"].iloc[0] == 3  # m1 exempt; m2, m3, m4 not assessed


def test_unit_ids_are_trimmed_and_nfc() -> None:
    t = reg(member_id=["m1", "m2"], unit_id=["a", " a "], is_exempt=[False, False], rating_label=[None, None])
    out = aggregate_year(2016, [Source("r", t)], [], UNITS, CAMPAIGNS)
    assert out.membership[["unit_id", "members_total"]].values.tolist() == [["a", 2]]


def test_aggregation_is_vectorised_and_scales() -> None:
    n, rng = 300_000, np.random.default_rng(1)
    units = pd.concat([UNITS, pd.DataFrame({
        "unit_id": [f"u{i}" for i in range(3000)], "unit_name": "U", "parent_id": "p", "unit_level": "chi_bo",
        "unit_kind": "khac", "valid_from_year": pd.array([2010] * 3000, dtype="Int64"),
        "valid_to_year": pd.array([None] * 3000, dtype="Int64")})], ignore_index=True)
    ids = pa.array([f"M{i:07d}" for i in range(n)])
    t = pa.table({"member_id": ids, "unit_id": pa.array([f"u{i}" for i in rng.integers(0, 3000, n)]),
                  "is_exempt": pa.array(rng.random(n) < 0.03),
                  "rating_label": pa.array(np.where(rng.random(n) < 0.2, L1, L2))})
    who = rng.integers(0, n, 4 * n)
    att = pa.table({"member_id": ids.take(pa.array(who)),
                    "campaign_id": pa.array(np.where(rng.random(4 * n) < 0.5, "c1", "c2"))})
    start = time.perf_counter()
    out = aggregate_year(2016, [Source("r", t)], [Source("a", att)], units, CAMPAIGNS)
    assert time.perf_counter() - start < 20  # ~1 s here; a Python loop per row would take minutes
    assert int(out.membership["members_total"].sum()) == n
    assert int(out.study_participation["members_attended"].sum()) == len(set(zip(who, att["campaign_id"].to_pylist(), strict=True)))


# --- through ingest: files under data/raw/<year>/ ---------------------------------------------

UNITS_CSV = """unit_id,unit_name,parent_id,unit_level,unit_kind,valid_from_year,valid_to_year
p,Đảng bộ P,,co_so,khac,2010,
a,Chi bộ A,p,chi_bo,khac,2010,
b,Chi bộ B,p,chi_bo,khac,2010,
"""
CAMPAIGNS_CSV = "campaign_id,year,title,document_code,start_date\nc1,2016,Nghị quyết một,01-NQ/TW,\n" \
                "c2,2017,Nghị quyết hai,02-NQ/TW,\n"


def raw_folder(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    (raw / "campaigns.csv").write_text(CAMPAIGNS_CSV, encoding="utf-8")
    return raw


def test_parquet_register_and_csv_attendance_through_ingest(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    (raw / "2016").mkdir()
    pq.write_table(pa.table({"member_id": ["m1", "m2", "m3"], "year": [2016] * 3, "unit_id": ["a", "a", "zz"],
                             "is_exempt": [False, True, False], "rating_label": [L1, None, L2]}),
                   raw / "2016" / "member_register.parquet")
    (raw / "2016" / "attendance-nq1.csv").write_bytes("member_id;campaign_id\nm1;c1\nm2;c1\nm2;c1\n"
                                                      .encode("utf-8-sig"))
    result = ingest(raw, tmp_path / "out")
    out = tmp_path / "out"
    assert store.load_table(out, "membership")[["unit_id", "members_total", "members_exempt"]].values.tolist() == [
        ["a", 2, 1]]
    sp = store.load_table(out, "study_participation")
    assert sp[["unit_id", "campaign_id", "is_held", "members_attended"]].values.tolist() == [["a", "c1", True, 2]]
    files = {f["file"]: f for f in result.manifest["files"]}
    r, a = files["2016/member_register.parquet"]["sheets"][0], files["2016/attendance-nq1.csv"]["sheets"][0]
    assert (r["table"], r["rows_read"], r["rows_kept"], r["rows_quarantined"]) == ("member_register", 3, 2, 1)
    assert (a["table"], a["rows_read"], a["rows_kept"], a["rows_excluded"]) == ("attendance", 3, 2, 1)
    assert files["2016/attendance-nq1.csv"]["encoding"] == "utf-8-sig"
    q = store.load_table(out, "quarantine")
    assert q[["source_file", "row_number", "reason_code"]].values.tolist() == [
        ["2016/member_register.parquet", 3, "unit_unknown"]]
    assert result.exit_code == 1


def test_multi_year_register_at_the_root_is_split_by_its_year_column(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    (raw / "dang_vien.csv").write_text("member_id,year,unit_id,is_exempt,rating_label\n"
                                       "m1,2016,a,0,\nm2,2016,b,1,\nm1,2017,a,0,HTXSNV\nm3,,a,0,\n",
                                       encoding="utf-8")
    result = ingest(raw, tmp_path / "out")
    m = store.load_table(tmp_path / "out", "membership")
    assert m[["unit_id", "year", "members_total", "members_exempt"]].values.tolist() == [
        ["a", 2016, 1, 0], ["a", 2017, 1, 0], ["b", 2016, 1, 1]]
    s = result.manifest["files"][-1]["sheets"][0]
    assert s["years"] == [2016, 2017] and (s["rows_read"], s["rows_kept"], s["rows_quarantined"]) == (4, 3, 1)
    q = store.load_table(tmp_path / "out", "quarantine")
    assert q[["row_number", "reason_code"]].values.tolist() == [[5, "year_missing"]]


def test_a_workbook_row_already_given_by_the_register_is_a_duplicate(tmp_path: Path) -> None:
    from openpyxl import Workbook

    raw = raw_folder(tmp_path)
    (raw / "2016").mkdir()
    pq.write_table(pa.table({"member_id": ["m1"], "unit_id": ["a"], "is_exempt": [False],
                             "rating_label": pa.array([None], pa.string())}), raw / "2016" / "register.parquet")
    wb = Workbook()
    ws = wb.active
    for row in (["Đảng bộ P"], [], ["STT", "Tên chi bộ", "Tổng số đảng viên"], [1, "Chi bộ A", 5], [2, "Chi bộ B", 7]):
        ws.append(row)
    wb.save(raw / "2016" / "p.xlsx")
    ingest(raw, tmp_path / "out")
    m = store.load_table(tmp_path / "out", "membership")
    assert m[["unit_id", "members_total"]].values.tolist() == [["a", 1], ["b", 7]]
    q = store.load_table(tmp_path / "out", "quarantine")
    assert q["reason_code"].tolist() == ["duplicate_key"] and "register.parquet" in q["reason"].iloc[0]


def test_a_parquet_file_that_is_no_register_is_skipped_with_the_reason(tmp_path: Path) -> None:
    raw = raw_folder(tmp_path)
    (raw / "2016").mkdir()
    pq.write_table(pa.table({"x": [1, 2]}), raw / "2016" / "other.parquet")
    result = ingest(raw, tmp_path / "out")
    f = result.manifest["files"][-1]
    assert f["status"] == "skipped" and "member_id" in f["reason"] and f["sheets"][0]["rows_read"] == 2
    assert result.exit_code == 1


@pytest.mark.parametrize("kind", ["member_register", "attendance"])
def test_register_without_any_year_is_skipped(tmp_path: Path, kind: str) -> None:
    raw = raw_folder(tmp_path)
    body = "member_id,unit_id,is_exempt\nm1,a,0\n" if kind == "member_register" else "member_id,campaign_id\nm1,c1\n"
    (raw / "list.csv").write_text(body, encoding="utf-8")
    result = ingest(raw, tmp_path / "out")
    f = result.manifest["files"][-1]
    assert f["status"] == "skipped" and "năm" in f["reason"]


def test_quarantine_entries_helper_groups_by_code_and_value() -> None:
    src = Source("f.parquet", pa.table({"member_id": ["a", "b", "c", "d"]}))
    e = register.quarantine_entries(src, np.array([0, 1, 3]), np.array(["u", "u", "v"], dtype=object),
                                    np.array(["x", "x", "x"], dtype=object), lambda c, v: f"{c}:{v}", "t", "unit_id")
    assert [(x["reason_code"], x["row_number"], json.loads(x["raw_values"])["rows"]) for x in e] == [
        ("u", 1, 2), ("v", 4, 1)]


@pytest.mark.parametrize("spread", [3, 10**9])  # dense ids (direct table) and sparse ids (sorted search)
def test_numbered_id_lookup_matches_hashing(monkeypatch: pytest.MonkeyPatch, spread: int) -> None:
    monkeypatch.setattr(register, "PARALLEL_LOOKUP_ROWS", 8)
    rng = np.random.default_rng(spread)
    ids = rng.choice(spread * 1000, 1000, replace=False)
    value_set = pa.array([f"DV{i:013d}" for i in ids] + [f"DV{ids[0]:013d}"])  # a repeat: first one wins
    probe = [f"DV{i:013d}" for i in rng.choice(ids, 3000)] + ["DV1", "XX0000000001", None, "DV000000000x"]
    values = pa.chunked_array([pa.array(probe[:1500]), pa.array(probe[1500:])])
    fast = register.lookup(values, value_set)
    slow = pa.compute.fill_null(pa.compute.index_in(values, options=pa.compute.SetLookupOptions(
        value_set=value_set, skip_nulls=True)), -1).to_numpy(zero_copy_only=False)
    assert register._lookup_numbered(values, value_set) is not None
    assert fast.tolist() == slow.tolist()


# --- the fast paths give what hashing gives ---------------------------------------------------

@pytest.mark.parametrize(("prefix", "digits"), [("M", 8), ("", 8), ("DV", 13), ("ĐV", 6), ("HCM-", 17), ("M", 3),
                                                 ("X", 16), ("ABCDEFGHIJ", 2)])
def test_numbered_keys_of_every_shape_match_hashing(prefix: str, digits: int) -> None:
    # one or two strided words, prefix bytes masked as "0", the row-by-row path (short or long ids)
    rng = np.random.default_rng(digits)
    ids = [f"{prefix}{v:0{digits}d}" for v in rng.choice(min(10**digits, 10**6), min(400, 10**digits // 2), replace=False)]
    value_set = pa.array(ids + ids[:3])  # repeats: the first occurrence wins
    probe = [rng.choice(ids) for _ in range(600)] + [None, "", prefix, prefix + "0" * (digits + 1),
                                                     prefix + "x" * digits, prefix + "０" * digits,
                                                     prefix.lower() + "1" * digits, " " + ids[0][1:], ids[0] + " ",
                                                     prefix + ":" * digits, prefix + "/" * digits]
    arr = pa.array(probe, pa.large_string() if digits % 2 else pa.string())
    values = pa.chunked_array([arr.slice(0, 250), arr.slice(250)])  # sliced chunks (offsets)
    slow = pa.compute.fill_null(pa.compute.index_in(values, options=pa.compute.SetLookupOptions(
        value_set=value_set, skip_nulls=True)), -1).to_numpy(zero_copy_only=False)
    fast = register._lookup_numbered(values, value_set)
    assert fast is not None
    assert fast.tolist() == slow.tolist()


def _national_like(n: int, ids: list[str], sort_by_unit: bool) -> tuple[pa.Table, pa.Table, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n_units = n // 25
    unit = np.sort(rng.integers(0, n_units, n)) if sort_by_unit else rng.integers(0, n_units, n)
    units = pd.concat([UNITS, pd.DataFrame({
        "unit_id": [f"u{i}" for i in range(n_units)], "unit_name": "U", "parent_id": "p", "unit_level": "chi_bo",
        "unit_kind": "khac", "valid_from_year": pd.array([2010] * n_units, dtype="Int64"),
        "valid_to_year": pd.array([None] * n_units, dtype="Int64")})], ignore_index=True)
    unit_ids = [f"u{u}" for u in unit]
    unit_ids[7] = "nowhere"  # quarantined rows inside runs of one unit
    unit_ids[n // 2] = " " + unit_ids[n // 2]  # trimmed into its unit
    t = pa.table({"member_id": pa.array(ids), "unit_id": pa.array(unit_ids),
                  "is_exempt": pa.array(rng.random(n) < 0.03), "rating_label": pa.array(np.where(rng.random(n) < 0.2, L1, L2))})
    who = rng.integers(0, n, 3 * n)
    att_ids = [ids[i] for i in who] + ["M9999999", None, ids[7]]
    att = pa.table({"member_id": pa.array(att_ids),
                    "campaign_id": pa.array(list(np.where(rng.random(3 * n) < 0.5, "c1", "c2")) + ["c1", "c2", "x1"])})
    return t, att, units


@pytest.mark.parametrize("sort_by_unit", [True, False])
def test_numbered_and_hashed_ids_give_the_same_tables(sort_by_unit: bool) -> None:
    n = 20_000
    numbered = [f"M{i:07d}" for i in range(n)]
    numbered[11] = numbered[10]  # a repeated member
    t, att, units = _national_like(n, numbered, sort_by_unit)
    fast = aggregate_year(2016, [Source("r", t)], [Source("a", att)], units, CAMPAIGNS)
    # the same members under ids of no numbered shape: hashed
    rename = {m: f"dv-{m[::-1]}" for m in numbered}
    t2 = t.set_column(0, "member_id", pa.array([rename[m] for m in t["member_id"].to_pylist()]))
    att2 = att.set_column(0, "member_id", pa.array([rename.get(m, m) for m in att["member_id"].to_pylist()]))
    slow = aggregate_year(2016, [Source("r", t2)], [Source("a", att2)], units, CAMPAIGNS)
    for name in ("membership", "member_ratings", "study_participation"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(slow, name))
    assert fast.counts == slow.counts
    assert fast.counts["a"]["rows_quarantined"] == 3 + att["member_id"].to_pylist()[:3 * n].count(numbered[7])
    codes = lambda q: sorted(zip(q["reason_code"], [json.loads(v)["rows"] for v in q["raw_values"]], strict=True))  # noqa: E731
    assert codes(fast.quarantine) == codes(slow.quarantine)
    assert int(fast.study_participation["members_attended"].sum()) == len(
        {(m, c) for m, c in zip(att["member_id"].to_pylist()[:3 * n], att["campaign_id"].to_pylist(), strict=False)
         if m != numbered[7]})


def test_attendance_sources_may_be_read_late() -> None:
    t = reg(member_id=["m1", "m2"], unit_id=["a", "a"], is_exempt=[False, False], rating_label=[None, None])
    att = reg(member_id=["m1", "m2"], campaign_id=["c1", "c1"])
    calls = []
    late = lambda: calls.append(1) or Source("att", att)  # noqa: E731
    out = aggregate_year(2016, [Source("r", t)], [late, lambda: None], UNITS, CAMPAIGNS)
    assert calls == [1] and list(out.counts) == ["r", "att"]
    assert out.study_participation.set_index("campaign_id").loc["c1", "members_attended"] == 2
    none = aggregate_year(2016, [Source("r", t)], [lambda: None], UNITS, CAMPAIGNS)  # nothing readable
    assert none.study_participation.empty


def test_a_list_looked_up_while_read_gives_what_its_table_gives() -> None:
    n = 20_000
    numbered = [f"M{i:07d}" for i in range(n)]
    t, att, units = _national_like(n, numbered, sort_by_unit=True)
    att = pa.concat_tables([att, pa.table({"member_id": pa.array(["M0000001", "M0000001", "", "M00000012"]),
                                           "campaign_id": pa.array(["c2", "nope", None, "c1"])})])
    register_src = Source("r", t)
    whole = aggregate_year(2016, [register_src], [Source("a", att)], units, CAMPAIGNS)
    index = register.register_index([t])
    assert index is not None
    cuts = [0, 7, len(att) // 2, len(att)]  # three shares, read on threads, batches of any size
    shares = [(lo, lambda lo=lo, hi=hi: att.slice(lo, hi - lo).to_batches(max_chunksize=1000))
              for lo, hi in zip(cuts, cuts[1:], strict=False)]
    looked = register.look_up_attendance("a", len(att), shares, index, n)
    assert looked.pos.dtype == np.int32 and len(looked.unknown_rows) == 3 + 1  # M9999999, None, "", M00000012
    streamed = aggregate_year(2016, [register_src], [lambda: looked], units, CAMPAIGNS, member_index=index)
    for name in ("membership", "member_ratings", "study_participation", "quarantine"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(streamed, name))
    assert whole.counts == streamed.counts


def test_parquet_attendance_is_looked_up_while_read_through_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.intake import pipeline

    raw = raw_folder(tmp_path)
    (raw / "2016").mkdir()
    ids = [f"DV{i:06d}" for i in range(500)]
    pq.write_table(pa.table({"member_id": ids, "year": [2016] * 500, "unit_id": ["a", "b"] * 249 + ["zz", "a"],
                             "is_exempt": [False] * 500, "rating_label": [L1, L2] * 250}),
                   raw / "2016" / "member_register.parquet")
    rng = np.random.default_rng(3)
    who = [ids[i] for i in rng.integers(0, 500, 3000)] + ["DV999999", None, "dv000001", ids[498]]
    pq.write_table(pa.table({"member_id": who, "campaign_id": ["c1", "c2", "c9"] * 1000 + ["c1"] * 4}),
                   raw / "2016" / "attendance.parquet", row_group_size=700)
    streamed = ingest(raw, tmp_path / "out1")
    looked_up = []
    real = register.look_up_attendance
    monkeypatch.setattr(register, "look_up_attendance", lambda *a, **k: looked_up.append(1) or real(*a, **k))
    ingest(raw, tmp_path / "out2")
    assert looked_up == [1]
    monkeypatch.setattr(pipeline, "_look_up", lambda spec, index: pipeline.read_table_columns(
        spec.path, spec.rel, spec.info, spec.columns, pipeline._FLAT_DICTIONARY))  # the whole table
    whole = ingest(raw, tmp_path / "out3")
    assert json.loads((tmp_path / "out1" / "manifest.json").read_text(encoding="utf-8")) == \
        json.loads((tmp_path / "out3" / "manifest.json").read_text(encoding="utf-8"))
    for name in ("study_participation", "quarantine", "membership"):
        pd.testing.assert_frame_equal(streamed.tables[name], whole.tables[name])
    assert set(whole.tables["quarantine"]["reason_code"]) == {
        "campaign_other_year", "campaign_unknown", "member_quarantined", "member_unknown", "unit_unknown"}
