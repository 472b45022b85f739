"""Cross-table and over-time checks on tiny inline frames."""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import hierarchy
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


def _ward_tree() -> pd.DataFrame:
    """A district (d) over two wards (w1: chi bộ c1, c2; w2: chi bộ c3)."""
    return pd.DataFrame({
        "unit_id": pd.array(["d", "w1", "c1", "c2", "w2", "c3"], dtype="string"),
        "unit_name": pd.array(["D", "W1", "C1", "C2", "W2", "C3"], dtype="string"),
        "parent_id": pd.array([None, "d", "w1", "w1", "d", "w2"], dtype="string"),
        "unit_level": pd.array(["cap_tren", "co_so", "chi_bo", "chi_bo", "co_so", "chi_bo"], dtype="string"),
        "unit_kind": pd.array(["khac"] * 6, dtype="string"),
        "valid_from_year": pd.array([2010] * 6, dtype="Int64"),
        "valid_to_year": pd.array([None] * 6, dtype="Int64"),
    })


def _rated(*unit_ids: str, year: int = 2020) -> pd.DataFrame:
    return pd.DataFrame({"unit_id": pd.array(list(unit_ids), dtype="string"),
                         "year": pd.array([year] * len(unit_ids), dtype="Int64")})


def _ratings_completeness(rated: pd.DataFrame, scope: checks.Scope) -> list[tuple[str, str, list[str]]]:
    out = checks.completeness_findings(_ward_tree(), {"unit_ratings": rated}, None, {"unit_ratings": {2020}}, scope)
    return [(f["check"], f["severity"], f["unit_ids"]) for f in out]


def _subtree_scope(*unit_ids: str) -> checks.Scope:
    return checks.Scope(years=(2020,), units={2020: frozenset(unit_ids)})


def test_a_units_own_rating_is_not_demanded_by_its_own_run() -> None:
    # the district decides the ward's rating; the ward decides its chi bộ's
    rated = _rated("c1", "c2")
    assert _ratings_completeness(rated, _subtree_scope("w1", "c1", "c2")) == []
    assert _ratings_completeness(rated, _subtree_scope("c1")) == []
    assert _ratings_completeness(_rated("c1"), _subtree_scope("w1", "c1", "c2")) == [
        ("cross.completeness", "critical", ["c2"])]


def test_the_level_above_is_demanded_the_ratings_it_decides() -> None:
    everyone = _subtree_scope("d", "w1", "c1", "c2", "w2", "c3")
    assert _ratings_completeness(_rated("c1", "c2", "c3", "w2"), everyone) == [
        ("cross.completeness", "critical", ["w1"])]
    assert _ratings_completeness(_rated("c1", "c2", "c3"), everyone) == [
        ("cross.completeness", "critical", ["w1", "w2"])]


def test_unscoped_a_top_committee_that_decided_nothing_that_year_is_a_warning() -> None:
    out = checks.completeness_findings(_ward_tree(), {"unit_ratings": _rated("c1", "c2", "c3")}, None,
                                       {"unit_ratings": {2020}}, ALL)
    assert [(f["check"], f["severity"], f["unit_ids"], f["values"]["decided_by"]) for f in out] == [
        ("cross.completeness_above", "warning", ["w1", "w2"], "d")]
    # once the folder holds one of its decisions, the others are missing: critical
    assert _ratings_completeness(_rated("c1", "c2", "c3", "w2"), ALL) == [("cross.completeness", "critical", ["w1"])]
    # a ward committee's decisions are never softened (it is not the top of the folder)
    assert _ratings_completeness(_rated("c1", "w1", "w2"), ALL) == [("cross.completeness", "critical", ["c2", "c3"])]


def test_unscoped_a_unit_without_a_committee_in_the_folder_is_not_demanded_a_rating() -> None:
    units = _ward_tree()
    units = units[units["unit_id"].isin(["w1", "c1", "c2"])].assign(
        parent_id=pd.array([None, "w1", "w1"], dtype="string"))
    out = checks.completeness_findings(units, {"unit_ratings": _rated("c1", "c2")}, None, {"unit_ratings": {2020}}, ALL)
    assert out == []


def test_campaigns_are_checked_in_the_years_the_folder_has_data() -> None:
    camps = pd.DataFrame({"campaign_id": pd.array(["2014-01", "2020-01"], dtype="string"),
                          "year": pd.array([2014, 2020], dtype="Int64")})
    sp = pd.DataFrame({"unit_id": pd.array(["c1", "c2", "c3"], dtype="string"),
                       "campaign_id": pd.array(["2020-01"] * 3, dtype="string")})
    ms = _membership([("c1", 2020, 10, 0), ("c2", 2020, 10, 0), ("c3", 2020, 10, 0)])
    facts = {"study_participation": sp, "membership": ms}
    assert checks.completeness_findings(_ward_tree(), facts, camps, {"membership": {2020},
                                                                      "study_participation": {2020}}, ALL) == []
    out = checks.completeness_findings(_ward_tree(), facts, camps, {"membership": {2014, 2020},
                                                                     "study_participation": {2020}}, ALL)
    assert [(f["table"], f["values"]["campaign_id"], f["unit_ids"]) for f in out] == [
        ("membership", None, ["c1", "c2", "c3"]), ("study_participation", "2014-01", ["c1", "c2", "c3"])]


def test_parent_codes_follow_the_tree_of_each_year() -> None:
    units = _units()
    uy = checks.UnitYears(units)
    ids = list(uy.ids)
    assert [ids[p] if p >= 0 else None for p in uy.parent_codes(2014)] == [None if u == "r" else "r" for u in ids]
    assert uy.parent_codes(2015)[ids.index("c")] == -1  # c is not active in 2015


@pytest.mark.parametrize(("unit_ids", "year", "scope", "kept"), [
    (["w1"], 2014, checks.Scope(), True),
    ([], None, checks.Scope(), True),
    ([], 2014, checks.Scope(years=(2014,)), True),  # no --unit: a finding of nobody is shown
    ([], 2014, checks.Scope(years=(2014,), units={2014: frozenset({"w1", "c1"})}), False),
    (["w1"], 2014, checks.Scope(years=(2014,), units={2014: frozenset({"w1", "c1"})}), True),
    (["c1"], 2014, checks.Scope(years=(2014,), units={2014: frozenset({"w1", "c1"})}), True),
    (["w2"], 2014, checks.Scope(years=(2014,), units={2014: frozenset({"w1", "c1"})}), False),  # a sibling
    (["w1"], 2014, checks.Scope(years=(2014,), units={2014: frozenset({"c1"})}), False),  # the parent
    (["w1"], 2020, checks.Scope(years=(2014,), units={2014: frozenset({"w1", "c1"})}), False),  # another year
    (["w1"], 2020, checks.Scope(years=(2020,)), True),
    (["w1"], 2014, checks.Scope(years=(2020,)), False),
    (["w1"], None, checks.Scope(years=(2014,), units={2014: frozenset({"w1"})}), True),  # year unknown
    (["w1"], 2011, checks.Scope(units={2014: frozenset({"w1"})}), True),  # --unit without --year: any year
])
def test_which_intake_entries_a_run_reports(unit_ids, year, scope, kept) -> None:
    from analysis.quality.gate import intake_in_scope

    assert intake_in_scope(unit_ids, year, scope) is kept


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


# --- vectorised checks against simple reference implementations ---------------------------------
#
# The references below are the per-unit loops the vectorised functions replaced (kept verbatim in
# spirit: one Python dict per series, one np.median per sibling group); the property tests assert
# identical findings, figures and messages.

EXAMPLES = 200 if os.environ.get("HOCTAP_SLOW") else 40
_INDICATORS = ["members", "coverage_members", "member_rank1_share", "unit_rank1_share"]


def _consistency_reference(ind: pd.DataFrame, scope: checks.Scope, thresholds: checks.Thresholds,
                           lang: str = "vi") -> list[dict]:
    from analysis.quality import messages as msg
    from analysis.text import format_pct

    out = []
    for (indicator, unit), g in ind.groupby(["indicator", "unit_id"], sort=True):
        series = dict(zip(g["year"].astype(int), zip(g["value"], g["base"], strict=True), strict=True))
        min_base = thresholds.min_subunits if indicator == "unit_rank1_share" else thresholds.min_members
        for year in sorted(series):
            prev = [year - 3, year - 2, year - 1]
            if not scope.has(unit, year) or any(p not in series for p in prev):
                continue
            if indicator.endswith("rank1_share") and len({checks._scheme(y) for y in [*prev, year]}) != 1:
                continue
            values = [series[p][0] for p in prev]
            bases = [series[p][1] for p in prev] + [series[year][1]]
            if min(bases) < min_base:
                continue
            mean = float(np.mean(values))
            value = float(series[year][0])
            if mean <= 0:
                continue
            change = value / mean - 1.0
            if abs(change) <= thresholds.max_change:
                continue
            if indicator != "members" and \
                    abs(value - mean) <= thresholds.min_share_z * float(checks.share_sd(mean, series[year][1])):
                continue
            history = ", ".join(f"{p}: {checks._fmt(indicator, series[p][0], lang)}" for p in prev)
            sign = "+" if change > 0 else "−"
            out.append(checks.finding(
                "trend.consistency", "warning", checks._TABLE_OF[indicator], [unit],
                [{"unit_id": unit, "year": year}],
                msg.say("trend.consistency", lang, indicator=msg.indicator_name(indicator, lang), unit=unit,
                        year=year, value=checks._fmt(indicator, value, lang),
                        change=sign + format_pct(abs(change) * 100, 1, lang),
                        mean=checks._fmt(indicator, mean, lang), history=history,
                        threshold=format_pct(thresholds.max_change * 100, 0, lang)),
                {"indicator": indicator, "year": year, "value": round(value, 2),
                 "mean_previous_3": round(mean, 2), "change_pct": round(change * 100, 2),
                 "previous": {str(p): round(float(series[p][0]), 2) for p in prev}}))
    return out


def _outlier_reference(ind: pd.DataFrame, units: pd.DataFrame, scope: checks.Scope,
                       thresholds: checks.Thresholds, lang: str = "vi") -> list[dict]:
    from analysis.quality import messages as msg
    from analysis.text import format_number

    shares = ind[ind["indicator"].isin(["coverage_members", "member_rank1_share"])
                 & (ind["base"] >= thresholds.min_sibling_base)]
    out = []
    uy = checks.UnitYears(units)
    for year in sorted(set(shares["year"])):
        if not scope.has_year(int(year)):
            continue
        act = uy.active(int(year))
        parent = dict(zip(act["unit_id"].astype(str), act["parent_id"], strict=True))
        sy = shares[shares["year"] == year]
        sy = sy.assign(parent=sy["unit_id"].map(parent))
        for (indicator, par), g in sy.dropna(subset=["parent"]).groupby(["indicator", "parent"], sort=True):
            if len(g) < thresholds.min_siblings:
                continue
            med = float(np.median(g["value"]))
            z = checks.modified_z(g["value"].to_numpy(dtype=float), checks.share_sd(med, g["base"].to_numpy(dtype=float)))
            for (unit, value), zi in zip(zip(g["unit_id"], g["value"], strict=True), z, strict=True):
                if abs(zi) <= thresholds.max_z or not scope.has(unit, int(year)):
                    continue
                out.append(checks.finding(
                    "trend.outlier", "warning", checks._TABLE_OF[indicator], [unit],
                    [{"unit_id": unit, "year": int(year)}],
                    msg.say("trend.outlier", lang, indicator=msg.indicator_name(indicator, lang),
                            unit=unit, year=int(year), value=checks._fmt(indicator, value, lang), n=len(g),
                            parent=par, median=checks._fmt(indicator, med, lang),
                            z=format_number(float(zi), 1, lang),
                            threshold=format_number(thresholds.max_z, 1, lang)),
                    {"indicator": indicator, "year": int(year), "value": round(float(value), 2),
                     "sibling_median": round(med, 2), "modified_z": round(float(zi), 2),
                     "siblings": len(g), "parent_id": str(par)}))
    return out


def _same(a: list[dict], b: list[dict]) -> bool:
    """Equal findings (NaN figures compare equal)."""
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


_share_values = st.one_of(st.sampled_from([0.0, 50.0, 100.0, 33.33]), st.floats(0, 120, allow_nan=False))


@st.composite
def _indicator_frames(draw) -> pd.DataFrame:
    n_units = draw(st.integers(1, 6))
    rows = []
    for indicator in draw(st.lists(st.sampled_from(_INDICATORS), min_size=1, max_size=4, unique=True)):
        for u in range(n_units):
            years = draw(st.lists(st.integers(2012, 2025), min_size=1, max_size=10, unique=True))
            for y in years:
                base = draw(st.sampled_from([0.0, 5.0, 10.0, 20.0, 60.0, 500.0]))
                value = draw(st.one_of(_share_values, st.just(base), st.just(float("nan"))))
                rows.append((y, f"u{u}", indicator, value, base))
    ind = pd.DataFrame(rows, columns=["year", "unit_id", "indicator", "value", "base"])
    if draw(st.booleans()) and len(ind):  # a duplicated (indicator, unit, year): the last row counts
        ind = pd.concat([ind, ind.iloc[[draw(st.integers(0, len(ind) - 1))]].assign(value=7.0)], ignore_index=True)
    return ind


_thresholds = st.builds(checks.Thresholds, max_change=st.sampled_from([0.0, 0.05, 0.33]),
                        min_members=st.sampled_from([0, 20, 50]), min_subunits=st.sampled_from([0, 10]),
                        min_share_z=st.sampled_from([0.0, 1.0, 2.0]), max_z=st.sampled_from([0.5, 1.5, 3.5]),
                        min_siblings=st.sampled_from([1, 3, 5]), min_sibling_base=st.sampled_from([0, 10]))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_indicator_frames(), _thresholds, st.sampled_from(["vi", "en"]), st.booleans())
def test_consistency_matches_the_per_unit_reference(ind, thresholds, lang, restricted) -> None:
    scope = checks.Scope(years=(2018, 2021, 2025), units={2018: frozenset({"u0", "u2"}), 2021: frozenset({"u1"}),
                                                         2025: frozenset({"u0", "u1", "u3"})}) \
        if restricted else ALL
    assert _same(checks.consistency_findings(ind, scope, thresholds, lang),
                 _consistency_reference(ind, scope, thresholds, lang))


def _tree(n_parents: int, n_children: int) -> pd.DataFrame:
    ids = ["r"] + [f"p{i}" for i in range(n_parents)] + [f"p{i}c{j}" for i in range(n_parents) for j in range(n_children)]
    parents = [None] + ["r"] * n_parents + [f"p{i}" for i in range(n_parents) for _ in range(n_children)]
    levels = ["cap_tren"] + ["co_so"] * n_parents + ["chi_bo"] * (n_parents * n_children)
    n = len(ids)
    return pd.DataFrame({"unit_id": pd.array(ids, dtype="string"), "unit_name": pd.array(ids, dtype="string"),
                         "parent_id": pd.array(parents, dtype="string"), "unit_level": pd.array(levels, dtype="string"),
                         "unit_kind": pd.array(["khac"] * n, dtype="string"),
                         "valid_from_year": pd.array([2010] * n, dtype="Int64"),
                         "valid_to_year": pd.array([None] * (n - 1) + [2016], dtype="Int64")})


@st.composite
def _sibling_frames(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_parents, n_children = draw(st.integers(1, 3)), draw(st.integers(1, 8))
    units = _tree(n_parents, n_children)
    rows = []
    for unit in units["unit_id"]:
        for y in draw(st.lists(st.sampled_from([2015, 2017, 2019]), max_size=3, unique=True)):
            for indicator in ("coverage_members", "member_rank1_share", "members"):
                if draw(st.booleans()):
                    rows.append((y, str(unit), indicator, draw(_share_values),
                                 draw(st.sampled_from([5.0, 10.0, 40.0, 300.0]))))
    rows.append((2017, "ghost", "coverage_members", 1.0, 50.0))  # not in the tree: no parent
    return pd.DataFrame(rows, columns=["year", "unit_id", "indicator", "value", "base"]), units


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sibling_frames(), _thresholds, st.sampled_from(["vi", "en"]), st.booleans())
def test_outliers_match_the_per_group_reference(frames, thresholds, lang, restricted) -> None:
    ind, units = frames
    scope = checks.Scope(years=(2017, 2019), units={2017: frozenset({"p0c1", "p0c2", "p1c0"}), 2019: frozenset({"p0c0"})}) \
        if restricted else ALL
    assert _same(checks.outlier_findings(ind, units, scope, thresholds, lang),
                 _outlier_reference(ind, units, scope, thresholds, lang))


def test_outliers_find_the_one_low_sibling() -> None:
    units = _tree(1, 6)
    ind = pd.DataFrame({"year": 2015, "unit_id": [f"p0c{j}" for j in range(6)], "indicator": "coverage_members",
                        "value": [90.0, 91, 89, 90, 92, 20], "base": [200.0] * 6})
    out = checks.outlier_findings(ind, units, ALL)
    assert [(f["unit_ids"], f["values"]["parent_id"], f["values"]["siblings"]) for f in out] == [(["p0c5"], "p0", 6)]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")))),
                max_size=40))
def test_group_median_is_np_median_of_each_group(pairs) -> None:
    group = np.array([g for g, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=float)
    got = checks.group_median(group, values, 5)
    for g in range(5):
        sel = values[group == g]
        want = float(np.median(sel)) if len(sel) else float("nan")
        assert (np.isnan(want) and np.isnan(got[g])) or got[g] == want


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, 1.0, 50.0, 100.0, 12.5]),
                          st.sampled_from([0.0, 0.0, 0.5, 3.0])), max_size=40))
def test_modified_z_grouped_is_modified_z_of_each_group(rows) -> None:
    group = np.array([r[0] for r in rows], dtype=np.int64)
    values = np.array([r[1] for r in rows], dtype=float)
    floor = np.array([r[2] for r in rows], dtype=float)
    z, med = checks.modified_z_grouped(group, values, floor, 4)
    for g in range(4):
        sel = group == g
        if sel.any():
            assert z[sel].tolist() == checks.modified_z(values[sel], floor[sel]).tolist()
            assert med[g] == float(np.median(values[sel]))


def test_consistency_frame_keeps_the_last_duplicate_and_the_history() -> None:
    ind = pd.DataFrame({"year": [2011, 2012, 2013, 2014, 2014], "unit_id": "a", "indicator": "members",
                        "value": [100.0, 110, 90, 200, 150], "base": [100.0, 110, 90, 200, 150]})
    f = checks.consistency_frame(ind, ALL)
    assert f[["year", "value", "v3", "v2", "v1"]].to_dict("records") == [
        {"year": 2014, "value": 150.0, "v3": 100.0, "v2": 110.0, "v1": 90.0}]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "ç", "long-id-1", ""])), max_size=20),
       st.sets(st.sampled_from(["a", "ç", "", "zz"])), st.sampled_from(["string", "object", "str"]))
def test_str_isin_is_astype_str_isin(values, members, dtype) -> None:
    ser = pd.Series(values, dtype=dtype)
    want = ser.astype("string").isin(list(members)).fillna(False).to_numpy(dtype=bool)
    assert checks.str_isin(ser, members).tolist() == want.tolist()
    assert checks.str_isin(ser, pd.Series(sorted(members), dtype="string")).tolist() == want.tolist()


def test_scope_mask_is_has_row_by_row() -> None:
    df = pd.DataFrame({"unit_id": pd.array(["a", "b", None, "a", "c", "b"], dtype="string"),
                       "year": pd.array([2014, 2014, 2014, 2015, None, 2016], dtype="Int64")})
    for scope in (checks.Scope(years=(2014, 2016)),
                  checks.Scope(years=(2014, 2015), units={2014: frozenset({"a"}), 2015: frozenset({"a", "b"})}),
                  checks.Scope(units={2016: frozenset({"b"})})):
        want = [pd.notna(y) and scope.has(u, int(y)) for u, y in zip(df["unit_id"], df["year"], strict=True)]
        assert scope.mask(df).tolist() == want


def test_unit_year_masks_agree_with_the_sets() -> None:
    uy = checks.UnitYears(_units())
    for year in (2014, 2015):
        assert set(uy.ids[uy.mask(year, "active")]) == uy.active_ids(year)
        assert set(uy.ids[uy.mask(year, "leaf")]) == uy.leaves(year)
        assert set(uy.ids[uy.mask(year, "co_so")]) == uy.at_level(year, "co_so")
    assert uy.codes(pd.Series(["c", "zz", None], dtype="string")).tolist() == [uy.ids.tolist().index("c"), -1, -1]


@given(st.lists(st.text(alphabet="aAzZ09-_ăâđêôơưáàảãạếềễ𝔘", min_size=1, max_size=4), min_size=1, max_size=15))
def test_unit_ids_are_in_python_sort_order(ids) -> None:
    units = pd.DataFrame({"unit_id": pd.array(ids, dtype="string"), "parent_id": pd.array([None] * len(ids), dtype="string"),
                          "unit_level": "chi_bo", "valid_from_year": 2010, "valid_to_year": None})
    assert checks.UnitYears(units).ids.tolist() == sorted(set(ids))


def _rollup_reference(facts, units, years, value_cols, extra_keys=()):
    cl = hierarchy.closure_all_years(units, years)
    f = facts.assign(year=facts["year"].astype("int64"), unit_id=facts["unit_id"].astype(str))
    cl = cl.assign(unit_id=cl["unit_id"].astype(str), ancestor_id=cl["ancestor_id"].astype(str))
    j = f.merge(cl[["year", "ancestor_id", "unit_id"]], on=["year", "unit_id"], how="inner")
    return j.groupby(["year", "ancestor_id", *extra_keys], as_index=False, sort=True)[value_cols].sum()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["p0c0", "p0c1", "p1c0", "p1c1", "p1", "ghost"]),
                          st.sampled_from([2014, 2016, 2017]), st.integers(1, 2), st.integers(0, 50)), max_size=25),
       st.booleans())
def test_rollup_matches_the_string_join(rows, shared) -> None:
    units = _tree(2, 2)
    facts = pd.DataFrame(rows, columns=["unit_id", "year", "rating_rank", "members_count"]).astype(
        {"unit_id": "string", "year": "Int64", "rating_rank": "Int64", "members_count": "int64"})
    want = _rollup_reference(facts, units, [2014, 2016, 2017], ["members_count"], ("rating_rank",))
    with checks.shared_tree(units) if shared else contextlib.nullcontext():
        got = checks._rollup(facts, units, [2014, 2016, 2017], ["members_count"], ("rating_rank",))
        again = checks._rollup(facts, units, [2016], ["members_count"], ("rating_rank",))
    assert got.astype({"ancestor_id": object}).to_dict("records") == want.astype({"ancestor_id": object}).to_dict("records")
    assert again.to_dict("records") == got[got["year"] == 2016].reset_index(drop=True).to_dict("records")


def test_completeness_and_references_are_the_same_inside_a_shared_tree() -> None:
    units = _units()
    ms = _membership([("a", 2014, 10, 0), ("zz", 2014, 1, 0), ("c", 2016, 3, 0), ("r", 2014, 3, 0)])
    args = (units, {"membership": ms}, None)
    plain = (checks.completeness_findings(*args, {"membership": {2014, 2016}}, ALL),
             checks.unit_reference_findings(*args, ALL))
    with checks.shared_tree(units):
        shared = (checks.completeness_findings(*args, {"membership": {2014, 2016}}, ALL),
                  checks.unit_reference_findings(*args, ALL))
    assert plain == shared
    assert [f["unit_ids"] for f in plain[0]] == [["b", "c"], ["a", "b"]]
