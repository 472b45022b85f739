"""Integration on the embedded sample: the 2014 Tân Thanh article figures, trends, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis import metrics
from analysis.cli import main

UNIT = "tan-thanh"


def check_article(m: dict) -> None:
    """The bounds DESIGN.md derives from the article, on a metrics-contract dict."""
    cov = m["coverage"]
    assert cov["units"]["pct"] == 100.0
    assert cov["units"]["denominator"] == 31
    assert 96.0 < cov["members"]["pct"] < 97.0
    assert 74.0 <= cov["public"]["pct"] < 75.0
    ur = m["unit_ratings"]
    assert ur["scheme_id"] == "tsvm-2008"
    assert ur["assessed"] == 31
    level1 = ur["levels"][0]
    assert (level1["rating_code"], level1["count"]) == ("tsvm", 31)
    assert ur["exemplary"]["count"] == 6
    mr = m["member_ratings"]
    good = next(lv for lv in mr["levels"] if lv["rating_rank"] == 2)
    assert 96.0 <= good["cumulative_pct"] < 97.0
    excellent = mr["levels"][0]
    assert excellent["rating_code"] == "htxsnv"
    assert abs(excellent["pct"] - 20.0) <= 0.5
    assert m["members_count"] == 550
    assert m["units_count"] == 31


def test_article_figures_through_the_public_api(sample_tables) -> None:
    check_article(metrics.unit_year_metrics(sample_tables, UNIT, 2014))


def test_article_figures_through_the_command(sample_processed: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["metrics", "--unit", UNIT, "--year", "2014", "--data", str(sample_processed), "--format", "json"])
    assert code == 0
    check_article(json.loads(capsys.readouterr().out))


def test_metrics_table_and_csv_formats(sample_processed: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["metrics", "--unit", UNIT, "--year", "2014", "--data", str(sample_processed)]) == 0
    text = capsys.readouterr().out
    assert "Đảng bộ phường Tân Thanh" in text and "96,43%" in text
    assert main(["metrics", "--unit", UNIT, "--year", "2014", "--data", str(sample_processed),
                 "--format", "csv", "--lang", "en"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0].startswith("indicator,label,numerator,denominator,pct")
    assert "coverage.members" in csv_text


def test_sample_trends_cross_both_scheme_changes(sample_tables) -> None:
    tr = metrics.trend(sample_tables, UNIT, ["unit_ratings.rank1", "member_ratings.rank1-2"])
    for indicator in ("unit_ratings.rank1", "member_ratings.rank1-2"):
        part = tr[tr["indicator"] == indicator]
        assert sorted(part.loc[part["is_break"], "year"]) == [2018, 2023]
        assert part["year"].min() == 2012 and part["year"].max() == 2024


def test_parent_figure_is_the_sum_of_its_grassroots_organisations(sample_tables) -> None:
    city = metrics.coverage(sample_tables, "dbp", 2016)["members"]
    parts = [metrics.coverage(sample_tables, u, 2016)["members"]
             for u in ("tan-thanh", "him-lam", "thanh-minh", "thpt-pdg")]
    assert city.numerator == sum(p.numerator for p in parts)
    assert city.denominator == sum(p.denominator for p in parts)


def test_legacy_font_workbook_reads_as_unicode(sample_tables) -> None:
    names = set(sample_tables.units["unit_name"])
    mem = sample_tables.membership
    him_lam_2013 = mem[(mem["year"] == 2013) & mem["unit_id"].str.startswith("him-lam-")]
    assert len(him_lam_2013) == 12
    assert "Chi bộ Tổ dân phố 1" in names


def test_unknown_unit_exits_2_naming_known_units(sample_processed: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["metrics", "--unit", "khong-co", "--year", "2014", "--data", str(sample_processed)])
    err = capsys.readouterr().err
    assert code == 2
    assert "khong-co" in err and "tan-thanh" in err and len(err.strip().splitlines()) == 1


def test_year_without_data_exits_2_naming_years(sample_processed: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["metrics", "--unit", UNIT, "--year", "2030", "--data", str(sample_processed)])
    err = capsys.readouterr().err
    assert code == 2
    assert "2030" in err and "2012" in err and "2024" in err


def test_missing_raw_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["ingest", str(tmp_path / "khong-co"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "khong-co" in err
    assert not (tmp_path / "out").exists()


def test_missing_units_csv_exits_2_and_writes_nothing(sample_raw: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(sample_raw / "2014", raw / "2014")
    shutil.copy(sample_raw / "campaigns.csv", raw / "campaigns.csv")
    code = main(["ingest", str(raw), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "units.csv" in err
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_metrics_without_processed_data_tells_to_ingest(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(["metrics", "--unit", UNIT, "--year", "2014", "--data", str(tmp_path)])
    assert code == 2
    assert "hoctap ingest" in capsys.readouterr().err


def test_bad_argument_is_one_line_exit_2(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["metrics", "--unit", UNIT, "--year", "hai nghìn"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
