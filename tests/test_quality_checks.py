"""Cross-table and over-time checks on tiny inline frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from analysis.quality import checks
from analysis.quality.rules import rating_valid_mask

ALL = checks.Scope()


def _units() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_id": pd.array(["r", "a", "b", "c"], dtype="string"),
        "unit_name": pd.array(["R", "A", "B", "C"], dtype="string"),
        "parent_id": pd.array([None, "r", "r", "r"], dtype="string"),
        "unit_level": pd.array(["co_so", "chi_bo", "chi_bo", "chi_bo"], dtype="string"),
        "unit_kind": pd.array(["khac"] * 4, dtype="string"),
        "valid_from_year": pd.array([2010] * 4, dtype="Int64"),
        "valid_to_year": pd.array([None, None, None, 2014], dtype="Int64"),
    })


def _membership(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["unit_id", "year", "members_total", "members_exempt"]).astype(
        {"unit_id": "string", "year": "Int64", "members_total": "Int64", "members_exempt": "Int64"})


def test_rating_valid_mask_follows_the_scheme_of_each_year() -> None:
    df = pd.DataFrame({"year": [2016, 2020, 2020, 2020, 2005],
                       "scheme_id": ["tsvm-2008", "qd132-2018", "qd132-2018", "tsvm-2008", "tsvm-2008"],
                       "rating_code": ["tsvm", "htxsnv", "htxsnv", "htxsnv", "tsvm"],
                       "rating_rank": [1, 1, 2, 1, 1]})
    assert rating_valid_mask(df, "unit").tolist() == [True, True, False, False, False]


def test_member_codes_differ_from_unit_codes_under_tsvm_2008() -> None:
    df = pd.DataFrame({"year": [2014, 2014], "scheme_id": ["tsvm-2008"] * 2,
                       "rating_code": ["vi-pham", "yeu-kem"], "rating_rank": [4, 4]})
    assert rating_valid_mask(df, "member").tolist() == [True, False]


def test_completeness_lists_missing_leaves_and_the_rate() -> None:
    ms = _membership([("a", 2014, 10, 0), ("c", 2014, 5, 0), ("a", 2015, 10, 0)])
    out = checks.completeness_findings(_units(), {"membership": ms}, None, {"membership": {2014, 2015}}, ALL)
    assert [(f["values"]["year"], f["unit_ids"]) for f in out] == [(2014, ["b"]), (2015, ["b"])]
    assert out[0]["values"]["rate_pct"] == 66.67  # c is active in 2014, not in 2015
    assert out[1]["values"]["expected"] == 2


def test_completeness_respects_the_scope() -> None:
    ms = _membership([("a", 2014, 10, 0)])
    scope = checks.Scope(years=(2014,), units={2014: frozenset({"a"})})
    assert checks.completeness_findings(_units(), {"membership": ms}, None, {"membership": {2014}}, scope) == []


def test_unknown_inactive_and_non_leaf_units() -> None:
    ms = _membership([("zz", 2014, 3, 0), ("c", 2016, 3, 0), ("r", 2014, 3, 0)])
    out = checks.unit_reference_findings(_units(), {"membership": ms}, None, ALL)
    assert [(f["check"], f["unit_ids"]) for f in out] == [
        ("cross.unit_unknown", ["zz"]), ("cross.unit_inactive", ["c"]), ("cross.facts_not_leaf", ["r"])]


def test_member_rating_sum_uses_members_minus_exempt() -> None:
    mr = pd.DataFrame({"unit_id": ["a", "a"], "year": [2014, 2014], "rating_code": ["htxsnv", "httnv"],
                       "members_count": [2, 6], "members_not_assessed": [1, 1]})
    ok = _membership([("a", 2014, 10, 1)])
    bad = _membership([("a", 2014, 10, 0)])
    assert checks.member_ratings_sum_findings(mr, ok, ALL) == []
    out = checks.member_ratings_sum_findings(mr, bad, ALL)
    assert [(f["check"], f["values"]["difference"]) for f in out] == [("cross.member_ratings_sum", -1)]


def test_exemplary_must_be_level_1() -> None:
    ur = pd.DataFrame({"unit_id": ["a", "b"], "year": [2014, 2014], "rating_code": ["tsvm", "httnv"],
                       "rating_rank": pd.array([1, 2], dtype="Int64"),
                       "is_exemplary": pd.array([True, True], dtype="boolean")})
    assert [f["unit_ids"] for f in checks.exemplary_findings(ur, ALL)] == [["b"]]


def test_quota_is_counted_per_grassroots_organisation() -> None:
    mr = pd.DataFrame({"unit_id": ["a", "a", "b", "b"], "year": [2020] * 4,
                       "rating_rank": pd.array([1, 2, 1, 2], dtype="Int64"),
                       "members_count": pd.array([3, 10, 0, 10], dtype="Int64")})
    out = checks.member_quota_findings(_units(), mr, ALL)  # r: level1 3 ≤ 20% of 20 = 4
    assert out == []
    mr.loc[2, "members_count"] = 2
    out = checks.member_quota_findings(_units(), mr, ALL)
    assert [(f["unit_ids"], f["values"]["limit_count"]) for f in out] == [(["r"], 4)]


def test_consistency_flags_a_jump_beyond_a_third_of_the_three_year_mean() -> None:
    ind = pd.DataFrame({"year": [2011, 2012, 2013, 2014], "unit_id": "a", "indicator": "members",
                        "value": [100.0, 110, 90, 150], "base": [100.0, 110, 90, 150]})
    out = checks.consistency_findings(ind, ALL)
    assert [(f["values"]["year"], f["values"]["change_pct"]) for f in out] == [(2014, 50.0)]
    ind.loc[3, ["value", "base"]] = 130.0
    assert checks.consistency_findings(ind, ALL) == []


def test_consistency_never_compares_shares_across_a_scheme_change() -> None:
    ind = pd.DataFrame({"year": [2015, 2016, 2017, 2018], "unit_id": "a", "indicator": "member_rank1_share",
                        "value": [60.0, 60, 60, 15], "base": [500.0] * 4})
    assert checks.consistency_findings(ind, ALL) == []
    ind["year"] = [2019, 2020, 2021, 2022]
    assert len(checks.consistency_findings(ind, ALL)) == 1


def test_modified_z_uses_the_sampling_floor_for_small_shares() -> None:
    vals = np.array([100.0, 100, 100, 100, 95.0])
    assert abs(checks.modified_z(vals)[-1]) > 3.5  # MAD 0: any difference looks extreme
    floor = checks.share_sd(100.0, np.full(5, 20.0))
    assert abs(checks.modified_z(vals, floor)[-1]) < 3.5


@given(st.lists(st.integers(0, 10_000), min_size=3, max_size=30), st.integers(-5_000, 5_000))
def test_modified_z_is_shift_invariant(values, shift) -> None:
    a = np.array(values, dtype=float) / 100  # shares in % with two decimals
    shift = shift / 100
    assert np.allclose(checks.modified_z(a), checks.modified_z(a + shift), atol=1e-6)


def test_data_quality_notebook_is_thin_parameterised_and_stripped() -> None:
    import importlib.util
    from pathlib import Path

    import nbformat

    root = Path(__file__).resolve().parents[1]
    nb = nbformat.read(str(root / "notebooks" / "data_quality.ipynb"), as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3" and nb.metadata["language_info"]["name"] == "python"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for name in ("unit_id", "year", "data_dir", "lang", "validation_path", "rendered_at"):
        assert f"{name} = " in tagged[0].source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert not any("def " in c.source or "class " in c.source for c in code)
    spec = importlib.util.spec_from_file_location("make_dq", root / "tools" / "make_dq_notebook.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.build() == nb  # the committed file is what the tool writes
