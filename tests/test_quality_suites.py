"""The GE suites in expectations/: they load whole, cover the schema, and both engines agree."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import save_table

from analysis import cli, schema, store
from analysis.quality import suites as sx


@pytest.fixture(scope="module")
def suites() -> dict[str, dict]:
    return sx.load_suites()


def test_every_canonical_table_has_a_suite_named_after_it(suites) -> None:
    assert set(suites) == set(schema.TABLES)
    assert all(s["name"] == name for name, s in suites.items())


def test_every_expectation_names_a_check_severity_and_both_messages(suites) -> None:
    for name, suite in suites.items():
        for e in suite["expectations"]:
            assert e["severity"] in ("critical", "warning")
            assert e["meta"]["check"].startswith(f"{name}.")
            assert e["meta"]["message_vi"] and e["meta"]["message_en"]


def test_suites_cover_every_column_type_and_key_of_the_schema(suites) -> None:
    ge_type = {"Int64": "int64", "string": "str", "boolean": "bool", "Float64": "float64"}
    for name, table in schema.TABLES.items():
        exps = suites[name]["expectations"]
        exist = {e["kwargs"]["column"] for e in exps if e["type"] == "expect_column_to_exist"}
        types = {e["kwargs"]["column"]: e["kwargs"]["type_"] for e in exps
                 if e["type"] == "expect_column_values_to_be_of_type"}
        assert exist == set(table.column_names)
        assert types == {c.name: ge_type[c.dtype] for c in table.columns}
        keys = [e["kwargs"].get("column_list", [e["kwargs"].get("column")]) for e in exps
                if e["meta"]["check"] == f"{name}.unique_key"]
        assert keys == [list(table.key)]


def test_each_suite_loads_in_ge_with_its_full_count_of_expectations(suites) -> None:
    from analysis.quality import ge_engine  # registers the custom expectations first

    for name, suite in suites.items():
        built = ge_engine.build_suite(suite)
        assert len(built.expectations) == len(suite["expectations"]), name
    custom = [e for e in ge_engine.build_suite(suites["unit_ratings"]).expectations
              if e.expectation_type == "expect_rating_valid_for_scheme_of_year"]
    assert len(custom) == 1


def test_a_suite_naming_an_unknown_expectation_is_refused_not_silently_shortened(suites) -> None:
    from analysis.quality import ge_engine

    bad = copy.deepcopy(suites["membership"])
    bad["expectations"].append({"type": "expect_nothing_known", "kwargs": {"column": "year"},
                                "severity": "critical", "meta": {"check": "membership.x"}})
    with pytest.raises(sx.SuiteError, match="expect_nothing_known"):
        ge_engine.build_suite(bad)
    with pytest.raises(sx.SuiteError):
        sx.run_native("membership", bad, pd.DataFrame({"year": [2014]}))


def test_missing_suite_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(sx.SuiteError, match="units.json"):
        sx.load_suites(tmp_path)


def _plant_table_faults(folder: Path) -> None:
    def load(t):
        return store.load_table(folder, t)

    u = load("units")
    u.loc[u["unit_id"] == "him-lam-to07", "unit_level"] = "to_dang"
    u.loc[u["unit_id"] == "him-lam-to08", "unit_kind"] = "cong_ty"
    save_table(folder, "units", u)
    c = load("campaigns")
    c.loc[c["campaign_id"] == "2013-02", "start_date"] = "20/05/2013"
    c.loc[c["campaign_id"] == "2016-01", "title"] = None
    save_table(folder, "campaigns", c)
    ms = load("membership")
    ms.loc[(ms["unit_id"] == "thanh-minh-pa-pu") & (ms["year"] == 2019), "members_exempt"] = 99
    ms = pd.concat([ms, ms.iloc[[3]], ms.iloc[[5]].assign(year=1990)])
    save_table(folder, "membership", ms)
    sp = load("study_participation")
    sp.loc[(sp["unit_id"] == "him-lam-to03") & (sp["campaign_id"] == "2018-01"), "public_attended"] = -5
    sp.loc[(sp["unit_id"] == "tan-thanh-tdp08") & (sp["campaign_id"] == "2014-02"), "members_attended"] = 90
    sp.loc[(sp["unit_id"] == "tan-thanh-tdp09") & (sp["campaign_id"] == "2015-01"), "public_basis"] = "luot"
    save_table(folder, "study_participation", sp)
    ur = load("unit_ratings")
    ur.loc[(ur["unit_id"] == "tan-thanh-tdp10") & (ur["year"] == 2020), ["rating_code", "rating_rank"]] = ["tsvm", 1]
    ur.loc[(ur["unit_id"] == "tan-thanh-tdp11") & (ur["year"] == 2024), "score"] = 120.0
    save_table(folder, "unit_ratings", ur)
    mr = load("member_ratings")
    mr["members_count"] = mr["members_count"].astype("float64")  # wrong type, same values
    save_table(folder, "member_ratings", mr)


def test_ge_and_native_engines_give_the_same_findings(capsys, processed_copy: Path) -> None:
    _plant_table_faults(processed_copy)
    results = {}
    for engine in ("ge", "native"):
        args = ["validate", "--data", str(processed_copy), "--format", "json"]
        code = cli.main(args + (["--engine", "native"] if engine == "native" else []))
        data = json.loads(capsys.readouterr().out)
        assert data.pop("engine") == engine
        results[engine] = (code, data)
    assert results["ge"] == results["native"]
    code, result = results["ge"]
    assert code == 1
    found = {f["check"] for f in result["findings"]}
    assert found >= {"units.invalid_level", "units.invalid_kind", "campaigns.start_date_format",
                     "campaigns.not_null", "membership.exempt_le_total", "membership.unique_key",
                     "membership.year_range", "study_participation.non_negative",
                     "study_participation.attended_le_eligible", "study_participation.public_basis",
                     "unit_ratings.label_valid", "unit_ratings.score_range", "member_ratings.column_types"}


def test_clean_sample_passes_with_great_expectations(capsys, sample_processed: Path) -> None:
    code = cli.main(["validate", "--data", str(sample_processed), "--format", "json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["verdict"] == "pass"


def test_a_large_full_run_defaults_to_the_native_engine(capsys, monkeypatch, processed_copy: Path) -> None:
    from analysis.quality import gate

    assert gate.default_engine(False, gate.NATIVE_ABOVE_ROWS) == "ge"
    assert gate.default_engine(False, gate.NATIVE_ABOVE_ROWS + 1) == "native"
    assert gate.default_engine(True, 0) == "native"
    _plant_table_faults(processed_copy)
    args = ["validate", "--data", str(processed_copy), "--format", "json"]
    cli.main([*args, "--engine", "native"])
    forced = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(gate, "NATIVE_ABOVE_ROWS", 100)  # the sample counts as "national"
    cli.main(args)
    chosen = json.loads(capsys.readouterr().out)
    assert chosen["engine"] == "native" and chosen == forced
