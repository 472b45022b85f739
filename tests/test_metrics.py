"""Unit tests of analysis.metrics on tiny inline frames."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import metrics, schema
from analysis.store import Tables


def units_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (unit_id, parent_id, level, from, to)."""
    return schema.conform(pd.DataFrame([
        {"unit_id": u, "unit_name": f"Tên {u}", "parent_id": p, "unit_level": lv, "unit_kind": "khac",
         "valid_from_year": f, "valid_to_year": t} for u, p, lv, f, t in rows]), "units")


def make_tables(units: pd.DataFrame, membership=(), study=(), unit_ratings=(), member_ratings=(),
                campaigns=(("c1", 2014),), merges=(), targets=()) -> Tables:
    camps = schema.conform(pd.DataFrame([{"campaign_id": c, "year": y, "title": f"Đợt {c}", "document_code": c,
                                          "start_date": f"{y}-01-01"} for c, y in campaigns]), "campaigns")
    mem = pd.DataFrame([{"unit_id": u, "year": y, "members_total": t, "members_exempt": e}
                        for u, y, t, e in membership]) if membership else schema.empty("membership")
    sp = pd.DataFrame([{"unit_id": u, "campaign_id": c, "is_held": h, "members_attended": a,
                        "public_target": pt, "public_attended": pa, "public_basis": "persons"}
                       for u, c, h, a, pt, pa in study]) if study else schema.empty("study_participation")
    ur = pd.DataFrame([{"unit_id": u, "year": y, "scheme_id": "tsvm-2008", "rating_code": code, "rating_rank": r,
                        "is_exemplary": ex} for u, y, code, r, ex in unit_ratings]) if unit_ratings \
        else schema.empty("unit_ratings")
    mr = pd.DataFrame([{"unit_id": u, "year": y, "rating_code": code, "scheme_id": sid, "rating_rank": r,
                        "members_count": n, "members_not_assessed": na} for u, y, code, sid, r, n, na in member_ratings]) \
        if member_ratings else schema.empty("member_ratings")
    kw = {}
    if merges:
        kw["merges"] = pd.DataFrame(merges, columns=["from_unit_id", "to_unit_id", "year"]).astype(
            {"from_unit_id": "string", "to_unit_id": "string", "year": "Int64"})
    if targets:
        kw["targets"] = pd.DataFrame(targets, columns=["unit_id", "indicator", "from_year", "to_year",
                                                       "threshold_pct"]).astype(
            {"unit_id": "string", "indicator": "string", "from_year": "Int64", "to_year": "Int64",
             "threshold_pct": "Float64"})
    return Tables(units=units, campaigns=camps, membership=schema.conform(mem, "membership"),
                  study_participation=schema.conform(sp, "study_participation"),
                  unit_ratings=schema.conform(ur, "unit_ratings"),
                  member_ratings=schema.conform(mr, "member_ratings"), **kw)


TREE = units_frame([
    ("root", None, "co_so", 2014, None),
    ("a", "root", "chi_bo", 2014, None),
    ("b", "root", "chi_bo", 2014, None),
])


def test_member_coverage_of_parent_is_pooled_not_mean_of_children() -> None:
    # a: 9/10 = 90%, b: 1/90 ≈ 1,1%; mean of rates 45,6% — the pooled rate is 10/100 = 10%.
    t = make_tables(TREE, membership=[("a", 2014, 10, 0), ("b", 2014, 95, 5)],
                    study=[("a", "c1", True, 9, None, None), ("b", "c1", True, 1, None, None)])
    cov = metrics.coverage(t, "root", 2014)
    assert (cov["members"].numerator, cov["members"].denominator) == (10, 100)
    assert cov["members"].pct == pytest.approx(10.0)
    child_mean = (metrics.coverage(t, "a", 2014)["members"].pct + metrics.coverage(t, "b", 2014)["members"].pct) / 2
    assert child_mean == pytest.approx(45.5555, rel=1e-3)


def test_unit_that_did_not_hold_keeps_its_eligible_members_in_the_denominator() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 10, 0), ("b", 2014, 10, 0)],
                    study=[("a", "c1", True, 10, None, None)])
    cov = metrics.coverage(t, "root", 2014)
    assert (cov["members"].numerator, cov["members"].denominator) == (10, 20)
    assert (cov["units"].numerator, cov["units"].denominator) == (1, 2)


def test_member_coverage_pools_campaigns_of_the_year() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 10, 2)], campaigns=[("c1", 2014), ("c2", 2014), ("x", 2015)],
                    study=[("a", "c1", True, 8, None, None), ("a", "c2", True, 6, None, None),
                           ("a", "x", True, 7, None, None)])
    cov = metrics.coverage(t, "a", 2014)
    assert (cov["members"].numerator, cov["members"].denominator) == (14, 16)


def test_public_coverage_only_where_target_known() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 10, 0), ("b", 2014, 10, 0)],
                    study=[("a", "c1", True, 5, 100, 75), ("b", "c1", True, 5, None, 40)])
    cov = metrics.coverage(t, "root", 2014)
    assert (cov["public"].numerator, cov["public"].denominator) == (75, 100)
    assert cov["public_basis"] == "persons"


def test_no_denominator_gives_none_never_zero() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 0, 0)])
    cov = metrics.coverage(t, "a", 2014)
    assert cov["members"].pct is None
    assert cov["members"].to_dict()["pct"] is None


def test_unit_rating_distribution_exclusive_cumulative_and_exemplary() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 1, 0)],
                    unit_ratings=[("a", 2014, "tsvm", 1, True), ("b", 2014, "httnv", 2, False)])
    dist = metrics.unit_rating_distribution(t, "root", 2014)
    levels = dist["levels"].set_index("rating_code")
    assert list(dist["levels"]["rating_code"]) == ["tsvm", "httnv", "htnv", "yeu-kem"]
    assert levels.loc["tsvm", "pct"] == pytest.approx(50.0)
    assert levels.loc["httnv", "cumulative_pct"] == pytest.approx(100.0)
    assert levels.loc["htnv", "count"] == 0
    assert dist["exemplary"] == {"count": 1, "pct_of_assessed": 50.0, "pct_of_level": 100.0}


def test_member_rating_distribution_sums_leaves_and_not_assessed() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 10, 0)], member_ratings=[
        ("a", 2014, "htxsnv", "tsvm-2008", 1, 2, 1), ("a", 2014, "httnv", "tsvm-2008", 2, 6, 1),
        ("b", 2014, "httnv", "tsvm-2008", 2, 4, 0), ("b", 2014, "vi-pham", "tsvm-2008", 4, 0, 0)])
    dist = metrics.member_rating_distribution(t, "root", 2014)
    assert dist["assessed"] == 12
    assert dist["not_assessed"] == 1
    lv = dist["levels"].set_index("rating_code")
    assert lv.loc["httnv", "cumulative_pct"] == pytest.approx(100.0)
    assert lv.loc["htxsnv", "pct"] == pytest.approx(100 * 2 / 12)


def test_unit_year_metrics_contract_keys_and_rounding() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 3, 0)], study=[("a", "c1", True, 2, None, None)],
                    unit_ratings=[("a", 2014, "tsvm", 1, False), ("b", 2014, "tsvm", 1, False)])
    out = metrics.unit_year_metrics(t, "root", 2014)
    assert set(out) >= {"unit_id", "unit_name", "year", "coverage", "unit_ratings", "member_ratings"}
    assert out["coverage"]["members"] == {"numerator": 2, "denominator": 3, "pct": 66.67}
    assert out["coverage"]["public"]["pct"] is None
    assert out["member_ratings"]["levels"][0]["pct"] is None
    assert [lv["rating_rank"] for lv in out["unit_ratings"]["levels"]] == [1, 2, 3, 4]


def test_unknown_unit_and_year_without_data_raise_clear_errors() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 3, 0)])
    with pytest.raises(metrics.MetricsError, match="Không có đơn vị 'zz'"):
        metrics.unit_year_metrics(t, "zz", 2014)
    with pytest.raises(metrics.MetricsError, match="Các năm có số liệu: 2014"):
        metrics.unit_year_metrics(t, "a", 2019)


def test_trend_marks_scheme_break_and_leaves_change_empty_there() -> None:
    tree = units_frame([("a", None, "chi_bo", 2016, None)])
    mr = []
    for y, sid, c1 in ((2016, "tsvm-2008", "htxsnv"), (2017, "tsvm-2008", "htxsnv"), (2018, "qd132-2018", "htxsnv")):
        mr += [("a", y, c1, sid, 1, 2, 0), ("a", y, "httnv", sid, 2, 8, 0)]
    t = make_tables(tree, membership=[("a", y, 10, 0) for y in (2016, 2017, 2018)], member_ratings=mr,
                    campaigns=[("c16", 2016)])
    tr = metrics.trend(t, "a", ["member_ratings.rank1", "coverage.members"])
    rated = tr[tr["indicator"] == "member_ratings.rank1"].set_index("year")
    assert rated.loc[2018, "is_break"] and not rated.loc[2017, "is_break"]
    assert pd.isna(rated.loc[2018, "change_pp"])
    assert rated.loc[2017, "change_pp"] == pytest.approx(0.0)
    assert not tr[tr["indicator"] == "coverage.members"]["is_break"].any()


def test_rollup_follows_the_tree_of_each_year() -> None:
    tree = units_frame([("p", None, "co_so", 2014, None), ("q", None, "co_so", 2014, None),
                        ("x", "p", "chi_bo", 2014, 2014), ("x", "q", "chi_bo", 2015, None)])
    t = make_tables(tree, membership=[("x", 2014, 10, 0), ("x", 2015, 12, 0)], campaigns=[("c1", 2014), ("c2", 2015)])
    assert metrics.unit_year_metrics(t, "p", 2014)["members_count"] == 10
    assert metrics.unit_year_metrics(t, "q", 2015)["members_count"] == 12
    assert "x" not in metrics.leaves_for(t, "p", 2015)
    assert metrics.leaves_for(t, "q", 2014) == ["q"]


def test_comparable_view_rebases_merged_units_and_keeps_parent_totals() -> None:
    tree = units_frame([("p", None, "co_so", 2018, None), ("a", "p", "chi_bo", 2018, 2019),
                        ("b", "p", "chi_bo", 2018, 2019), ("ab", "p", "chi_bo", 2020, None)])
    t = make_tables(tree, membership=[("a", 2019, 10, 1), ("b", 2019, 5, 0), ("ab", 2020, 16, 1)],
                    campaigns=[("c19", 2019), ("c20", 2020)],
                    study=[("a", "c19", True, 9, None, None), ("b", "c19", True, 4, None, None),
                           ("ab", "c20", True, 15, None, None)],
                    merges=[("a", "ab", 2020), ("b", "ab", 2020)])
    view = metrics.comparable_view(t, 2020)
    before = metrics.coverage(view, "ab", 2019)["members"]
    assert (before.numerator, before.denominator) == (13, 14)
    for year in (2019, 2020):
        orig, rebased = metrics.coverage(t, "p", year)["members"], metrics.coverage(view, "p", year)["members"]
        assert (orig.numerator, orig.denominator) == (rebased.numerator, rebased.denominator)
    assert view.manifest["view"] == "comparable-2020"


def test_targets_apply_from_nearest_ancestor_and_flag_subunits_below() -> None:
    t = make_tables(TREE, membership=[("a", 2014, 10, 0), ("b", 2014, 10, 0)],
                    study=[("a", "c1", True, 10, None, None), ("b", "c1", True, 9, None, None)],
                    targets=[("root", "coverage.members", 2012, None, 95.0)])
    att = metrics.target_attainment(t, "b", 2014)
    assert att.loc[0, "set_by"] == "root"
    assert not att.loc[0, "is_met"]
    below = metrics.subunits_below_target(t, "root", 2014)
    assert list(below["unit_id"]) == ["b"]


def test_member_quota_per_grassroots_organisation() -> None:
    tree = units_frame([("org", None, "co_so", 2020, None), ("a", "org", "chi_bo", 2020, None),
                        ("b", "org", "chi_bo", 2020, None)])
    t = make_tables(tree, membership=[("a", 2020, 30, 0)], campaigns=[("c20", 2020)], member_ratings=[
        ("a", 2020, "htxsnv", "qd132-2018", 1, 5, 0), ("a", 2020, "httnv", "qd132-2018", 2, 10, 0),
        ("b", 2020, "htxsnv", "qd132-2018", 1, 1, 0), ("b", 2020, "httnv", "qd132-2018", 2, 20, 0)])
    q = metrics.member_quota(t, "org", 2020)
    row = q.iloc[0]
    assert (row["unit_id"], row["level1_count"], row["level2_count"], row["limit_count"]) == ("org", 6, 30, 6)
    assert bool(row["is_within"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30), st.integers(0, 200)), min_size=1, max_size=8))
def test_rollup_of_parts_equals_whole_and_shares_in_range(cells: list[tuple[int, int, int]]) -> None:
    rows = [("root", None, "co_so", 2014, None)] + [(f"c{i}", "root", "chi_bo", 2014, None) for i in range(len(cells))]
    membership, study = [], []
    for i, (total, exempt, attended) in enumerate(cells):
        exempt = min(exempt, total)
        membership.append((f"c{i}", 2014, total, exempt))
        study.append((f"c{i}", "c1", attended > 0, min(attended, total - exempt), None, None))
    t = make_tables(units_frame(rows), membership=membership, study=study)
    whole = metrics.coverage(t, "root", 2014)["members"]
    parts = [metrics.coverage(t, f"c{i}", 2014)["members"] for i in range(len(cells))]
    assert whole.numerator == sum(p.numerator for p in parts)
    assert whole.denominator == sum(p.denominator for p in parts)
    for r in [whole, *parts]:
        assert r.pct is None or 0.0 <= r.pct <= 100.0
