"""Synthetic data (``analysis.synth``): determinism, formats intake accepts, planted faults found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import hierarchy, ratings, synth

WARD_YEARS = range(2023, 2026)  # crosses the 2025 reform; the quota applies in every year


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.generate("ward", years=WARD_YEARS, seed=11, out=tmp_path_factory.mktemp("ward"))


@pytest.fixture(scope="module")
def ward_checked(ward: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The ward-scale output ingested and validated once."""
    from analysis.intake.pipeline import ingest
    from analysis.quality import gate

    processed = tmp_path_factory.mktemp("ward-processed")
    ingest(ward, processed)
    return processed, gate.run_gate(processed).to_json()


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.generate("national", years=range(2024, 2026), seed=3, out=tmp_path_factory.mktemp("nat"),
                          size=0.004)


def _planted(raw: Path) -> list[dict]:
    return json.loads((raw / "faults.json").read_text(encoding="utf-8"))["faults"]


def _finding_keys(findings: list[dict]) -> set[tuple[str, str | None]]:
    keys = set()
    for f in findings:
        files = {r.get("source_file") for r in f["rows"] if isinstance(r, dict)} or {None}
        for src in files:
            keys.add((f["check"], src))
    return keys


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = synth.generate("ward", years=range(2018, 2020), seed=5, out=tmp_path / "a")
    b = synth.generate("ward", years=range(2018, 2020), seed=5, out=tmp_path / "b")
    assert _files(a) == _files(b)


def test_other_seed_gives_other_figures(tmp_path: Path) -> None:
    a = synth.generate("ward", years=[2019], seed=5, out=tmp_path / "a")
    b = synth.generate("ward", years=[2019], seed=6, out=tmp_path / "b")
    assert _files(a)["units.csv"] != _files(b)["units.csv"]


def test_national_same_seed_gives_byte_identical_parquet(tmp_path: Path) -> None:
    a = synth.generate("national", years=[2020], seed=2, out=tmp_path / "a", size=0.002)
    b = synth.generate("national", years=[2020], seed=2, out=tmp_path / "b", size=0.002)
    assert _files(a) == _files(b)


# --- formats ------------------------------------------------------------------------------------

def test_ward_folder_has_sample_layout_and_says_synthetic(ward: Path) -> None:
    for name in ("units.csv", "campaigns.csv", "merges.csv", "targets.csv", "dataset.yaml", "README.md"):
        assert (ward / name).is_file()
    assert "illustrative: true" in (ward / "dataset.yaml").read_text(encoding="utf-8")
    assert "SYNTHETIC" in (ward / "README.md").read_text(encoding="utf-8")
    assert sorted(p.name for p in ward.iterdir() if p.is_dir()) == [str(y) for y in WARD_YEARS]


def test_ward_is_about_one_ward_of_thirty_chi_bo(ward: Path) -> None:
    units = pd.read_csv(ward / "units.csv", dtype=str)
    first = units[units["valid_from_year"] == "2023"]
    ward_id = first.loc[first["unit_name"].str.startswith("Đảng bộ phường"), "unit_id"].iloc[0]
    assert (first["parent_id"] == ward_id).sum() == 31


def test_units_tree_and_2025_merges_are_consistent(ward: Path) -> None:
    units = pd.read_csv(ward / "units.csv", dtype={"parent_id": "string"}, keep_default_na=True)
    units["valid_to_year"] = units["valid_to_year"].astype("Int64")
    merges = pd.read_csv(ward / "merges.csv")
    hierarchy.validate_units(units)
    assert len(merges) >= 2 and set(merges["year"]) == {synth.REFORM_YEAR}
    assert hierarchy.find_merge_problems(units, merges) == []


def test_workbook_has_title_rows_two_row_header_totals_and_decimal_commas(ward: Path) -> None:
    from openpyxl import load_workbook

    path = next((ward / "2023").glob("h01-c001-2023.xlsx"), None) or next((ward / "2024").glob("h01-c001-*.xlsx"))
    ws = load_workbook(path)["Học tập 1"]
    rows = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    assert rows[0][0].startswith("ĐẢNG BỘ") and "NĂM" in rows[1][0]
    assert any(str(m) == "D6:G6" for m in ws.merged_cells.ranges)
    assert any(r[1] == "Tổng cộng" for r in rows if len(r) > 1)
    assert any(isinstance(v, str) and "," in v and v.replace(",", "").isdigit() for r in rows for v in r)


_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=12).filter(str.strip)


@given(st.lists(st.one_of(st.integers(-10**9, 10**9), _TEXT), min_size=1, max_size=6))
@settings(max_examples=30, deadline=None)
def test_xlsx_writer_round_trips_through_openpyxl(values: list) -> None:
    import io

    from openpyxl import load_workbook

    book = synth.XlsxBook()
    book.sheet("Số liệu").put(values, style=1)
    ws = load_workbook(io.BytesIO(book.to_bytes()))["Số liệu"]
    read = [c.value for c in next(ws.iter_rows())][: len(values)]
    assert read == values


def test_xlsx_writer_refuses_control_characters() -> None:
    book = synth.XlsxBook()
    book.sheet("S").put(["a\x01b"])
    with pytest.raises(synth.SynthError):
        book.to_bytes()


def test_national_register_follows_the_contract(national: Path) -> None:
    reg = pq.read_table(national / "2025" / "member_register.parquet")
    att = pq.read_table(national / "2025" / "attendance.parquet")
    assert reg.column_names == ["member_id", "year", "unit_id", "is_exempt", "rating_label"]
    assert att.column_names == ["member_id", "campaign_id"]
    df = reg.to_pandas()
    assert df["member_id"].is_unique and df["member_id"].is_monotonic_increasing
    assert 0.03 <= df["is_exempt"].mean() <= 0.05
    campaigns = pd.read_csv(national / "campaigns.csv")
    n_camp = (campaigns["year"] == 2025).sum()
    eligible = (~df["is_exempt"]).sum()
    assert 0.90 <= att.num_rows / (n_camp * eligible) <= 0.99
    assert set(att.column("member_id").to_pylist()) <= set(df["member_id"])


def test_national_labels_valid_for_the_year_except_planted(national: Path) -> None:
    planted = {f["label"] for f in _planted(national) if f["kind"] == "label_invalid"}
    for year in (2024, 2025):
        labels = pq.read_table(national / str(year) / "member_register.parquet").column("rating_label")
        for label in set(labels.drop_null().to_pylist()) - planted:
            assert ratings.match_label(label, year, "member").matched, label


def test_national_member_quota_holds_except_planted(national: Path) -> None:
    units = pd.read_csv(national / "units.csv", dtype={"parent_id": "string"})
    units["valid_to_year"] = units["valid_to_year"].astype("Int64")
    planted = {(f["unit_id"], f["year"]) for f in _planted(national) if f["kind"] == "quota_exceeded"}
    assert planted
    for year in (2024, 2025):
        df = pq.read_table(national / str(year) / "member_register.parquet").to_pandas()
        df = df[df["rating_label"].notna()]
        rank = [ratings.match_label(x, year, "member").rating_rank for x in df["rating_label"]]
        active = hierarchy.units_in_year(units, year)
        parent = dict(zip(active["unit_id"], active["parent_id"], strict=True))
        level = dict(zip(active["unit_id"], active["unit_level"], strict=True))
        co_so = [u if level.get(u) == "co_so" else parent.get(u) for u in df["unit_id"]]
        mr = pd.DataFrame({"unit_id": co_so, "year": year, "rating_rank": rank, "members_count": 1}).dropna()
        quota = ratings.check_member_quota(mr)
        over = {(u, int(y)) for u, y in zip(quota.loc[~quota["is_within"], "unit_id"],
                                            quota.loc[~quota["is_within"], "year"], strict=True)}
        assert over == {p for p in planted if p[1] == year}


def test_national_tree_has_provinces_blocs_and_valid_merges(national: Path) -> None:
    units = pd.read_csv(national / "units.csv", dtype={"parent_id": "string"})
    units["valid_to_year"] = units["valid_to_year"].astype("Int64")
    hierarchy.validate_units(units)
    assert (units["parent_id"] == "tw").sum() == len(synth.PROVINCES) + len(synth.BLOCS) == 67
    merges = pd.read_csv(national / "merges.csv")
    assert len(merges) and hierarchy.find_merge_problems(units, merges) == []


def test_bad_arguments_raise_synth_error(tmp_path: Path) -> None:
    with pytest.raises(synth.SynthError):
        synth.generate("planet", years=[2020], out=tmp_path)
    with pytest.raises(synth.SynthError):
        synth.generate("ward", years=[], out=tmp_path)
    with pytest.raises(synth.SynthError):
        synth.generate("ward", years=[1990], out=tmp_path)


def test_cli_synth_writes_a_folder(tmp_path: Path) -> None:
    from analysis.cli import main

    assert main(["synth", "--scale", "ward", "--years", "2020-2020", "--seed", "4", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "2020").is_dir()
    assert main(["synth", "--scale", "ward", "--years", "1990-1990", "--out", str(tmp_path)]) == 2


# --- planted faults -------------------------------------------------------------------------------

def test_every_fault_kind_is_planted_once(ward: Path) -> None:
    kinds = sorted(f["kind"] for f in _planted(ward))
    assert kinds == sorted(synth.FAULT_CHECKS)


def test_ingest_and_validate_find_exactly_the_planted_intake_faults(ward: Path, ward_checked) -> None:
    _, result = ward_checked
    expected = {(f["check"], f["source_file"]) for f in _planted(ward) if f["check"].startswith("intake.")}
    found = {k for k in _finding_keys([f for f in result["findings"] if f["severity"] == "critical"])
             if k[0].startswith("intake.")}
    assert found == expected


def test_legacy_font_workbooks_ingest_with_only_the_planted_findings(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from analysis.intake.pipeline import ingest
    from analysis.quality import gate

    raw = synth.generate("ward", years=[2014, 2015], seed=2, out=tmp_path / "raw")
    fonts = {c.font.name for p in raw.rglob("*.xlsx") for ws in load_workbook(p).worksheets
             for row in ws.iter_rows(max_row=2) for c in row if c.value}
    assert fonts & {".VnTime", ".VnTimeH"}
    ingest(raw, tmp_path / "processed")
    findings = gate.run_gate(tmp_path / "processed").to_json()["findings"]
    expected = {(f["check"], f["source_file"]) for f in _planted(raw) if f["check"].startswith("intake.")}
    assert {k for k in _finding_keys(findings) if k[0].startswith("intake.")} == expected


def test_ingest_and_validate_find_exactly_every_planted_fault(ward: Path, ward_checked) -> None:
    _, result = ward_checked
    planted = _planted(ward)
    critical = [f for f in result["findings"] if f["severity"] == "critical"]
    assert {f["check"] for f in critical} == {f["check"] for f in planted}
    for fault in planted:
        hits = [f for f in critical if f["check"] == fault["check"]]
        assert any(fault["unit_id"] in f["unit_ids"] or
                   fault["source_file"] in {r.get("source_file") for r in f["rows"]} for f in hits), fault


def test_national_ingest_and_validate_find_exactly_the_planted_faults(national: Path, tmp_path: Path) -> None:
    from analysis.intake.pipeline import ingest
    from analysis.quality import gate

    ingest(national, tmp_path / "processed")
    critical = [f for f in gate.run_gate(tmp_path / "processed").to_json()["findings"] if f["severity"] == "critical"]
    planted = _planted(national)
    assert {f["check"] for f in critical} == {f["check"] for f in planted}
    for fault in planted:
        hits = [f for f in critical if f["check"] == fault["check"]]
        assert all(fault["unit_id"] in f["unit_ids"] or fault["source_file"] in
                   {r.get("source_file") for r in f["rows"]} for f in hits), fault


def test_clean_figures_are_realistic(ward_checked) -> None:
    from analysis import store

    processed, _ = ward_checked
    t = store.load_tables(processed)
    m = t.membership
    assert 0.03 <= m["members_exempt"].sum() / m["members_total"].sum() <= 0.05
    elig = m.assign(eligible=m["members_total"] - m["members_exempt"])
    sp = t.study_participation.merge(t.campaigns[["campaign_id", "year"]], on="campaign_id").merge(
        elig, on=["unit_id", "year"])
    assert 0.90 <= sp["members_attended"].sum() / sp["eligible"].sum() <= 0.99


# --- memory ---------------------------------------------------------------------------------------

def test_ingest_runs_under_a_memory_cap(ward: Path, tmp_path: Path) -> None:
    cap = 3 * 1024**3
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
        from analysis.intake.pipeline import ingest
        ingest({str(ward)!r}, {str(tmp_path / "out")!r})
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_province_scale_is_about_a_thousand_committees(tmp_path: Path) -> None:
    """Shape only (writing 1.000 workbooks takes seconds; ingesting them is a benchmark)."""
    out = synth.generate("province", years=[2024], seed=1, out=tmp_path)
    units = pd.read_csv(out / "units.csv")
    levels = units["unit_level"].value_counts()
    assert 900 <= levels["co_so"] <= 1100 and 5000 <= levels["chi_bo"] <= 8000
    assert 18 <= levels["cap_tren"] - 1 <= 22
    assert np.isclose(len(list((out / "2024").glob("*.xlsx"))), levels["co_so"] + levels["cap_tren"] - 1 - 1, atol=1)


def test_province_ingest_and_metrics_run_under_a_memory_cap(tmp_path: Path) -> None:
    """Province scale under a 2 GB address-space cap: intake of every workbook, then every figure.

    A tenth of a province by default (~100 committee workbooks); the whole province with --slow.
    """
    size = 1.0 if os.environ.get("HOCTAP_SLOW") else 0.1
    raw = synth.generate("province", years=[2024], seed=3, out=tmp_path / "raw", size=size)
    cap = 2 * 1024**3
    script = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
        from analysis import hierarchy, metrics, store
        from analysis.intake.pipeline import ingest
        ingest({str(raw)!r}, {str(tmp_path / "out")!r})
        tables = store.load_tables({str(tmp_path / "out")!r})
        roots = tables.units.loc[tables.units["parent_id"].isna(), "unit_id"].tolist()
        figures = metrics.unit_year_metrics(tables, roots[0], 2024)
        orgs = hierarchy.descendants_at_level(tables.units, roots[0], 2024, "co_so")
        total = sum(metrics.unit_year_metrics(tables, o, 2024)["members_count"] for o in orgs)
        print(figures["members_count"], total, len(orgs))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    members, total, orgs = (int(x) for x in proc.stdout.split())
    assert orgs >= 50 * size and members > 0
    assert members == total  # the province is the sum of its grassroots organisations
