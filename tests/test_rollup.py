"""The subtree sums of analysis.rollup against a direct per-unit computation.

The reference below filters the fact tables by the leaf (or rated-organisation) ids of each unit,
the way the figures are defined; the package computes every unit at once over the closure.
Random trees and facts include rows of non-leaf and unknown units, nulls, duplicates, campaigns of
other years and units that end or start during the years.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import hierarchy, metrics, rollup
from analysis.store import Tables

YEAR = 2020
EXAMPLES = 300 if os.environ.get("HOCTAP_SLOW") else 40
CODES = {"unit": ["htxsnv", "httnv", "htnv", "khtnv"], "member": ["htxsnv", "httnv", "htnv", "khtnv"]}


@st.composite
def tables_strategy(draw) -> Tables:
    n = draw(st.integers(1, 12))
    ids = [f"u{i:02d}" for i in range(n)]
    parents: list[str | None] = [None]
    for i in range(1, n):
        parents.append(draw(st.one_of(st.none(), st.sampled_from(ids[:i]))) if i > 1 else ids[0])
    depth = {}
    for i, p in enumerate(parents):
        depth[ids[i]] = 0 if p is None else depth[p] + 1
    level_of = {0: "cap_tren", 1: "co_so"}
    levels = [draw(st.sampled_from(["cap_tren", "co_so", "chi_bo"])) if draw(st.booleans())
              else level_of.get(depth[u], "chi_bo") for u in ids]
    ends = [draw(st.sampled_from([None, None, None, 2019])) if i else None for i in range(n)]
    # a unit that ended takes its subtree with it (keeps the tree of every year valid)
    for i in range(n):
        p = parents[i]
        if p is not None and ends[ids.index(p)] is not None:
            ends[i] = ends[ids.index(p)]
    units = pd.DataFrame({
        "unit_id": pd.array(ids, dtype="string"), "parent_id": pd.array(parents, dtype="string"),
        "unit_name": pd.array([f"Đơn vị {u}" for u in ids], dtype="string"),
        "unit_level": pd.array(levels, dtype="string"),
        "valid_from_year": pd.array([2010] * n, dtype="Int64"),
        "valid_to_year": pd.array(ends, dtype="Int64"),
    })
    n_camps = draw(st.integers(0, 3))
    camps = pd.DataFrame({
        "campaign_id": pd.array([f"c{j}" for j in range(n_camps)] + ["old"], dtype="string"),
        "year": pd.array([YEAR] * n_camps + [YEAR - 1], dtype="Int64"),
        "start_date": pd.array([f"{YEAR}-0{draw(st.integers(1, 9))}-01" for _ in range(n_camps)] + [None],
                               dtype="string"),
        "title": pd.array([f"Đợt {j}" for j in range(n_camps + 1)], dtype="string"),
        "document_code": pd.array([None] * (n_camps + 1), dtype="string"),
    })
    fact_ids = st.sampled_from([*ids, "ghost"])
    small = st.one_of(st.none(), st.integers(0, 60))
    ms_rows = draw(st.lists(st.tuples(fact_ids, st.sampled_from([YEAR, YEAR - 1]), st.integers(0, 60),
                                      st.integers(0, 70)), max_size=20))
    membership = pd.DataFrame({
        "unit_id": pd.array([r[0] for r in ms_rows], dtype="string"),
        "year": pd.array([r[1] for r in ms_rows], dtype="Int64"),
        "members_total": pd.array([r[2] for r in ms_rows], dtype="Int64"),
        "members_exempt": pd.array([r[3] // 7 if r[3] < 63 else r[3] for r in ms_rows], dtype="Int64"),
    })
    sp_rows = draw(st.lists(st.tuples(fact_ids, st.sampled_from([*camps["campaign_id"], "nope"]), small,
                                      st.one_of(st.none(), st.booleans()), small, small,
                                      st.sampled_from([None, "persons", "households"]),
                                      st.one_of(st.none(), st.integers(0, 3))), max_size=30))
    sp = pd.DataFrame({
        "unit_id": pd.array([r[0] for r in sp_rows], dtype="string"),
        "campaign_id": pd.array([r[1] for r in sp_rows], dtype="string"),
        "members_attended": pd.array([r[2] for r in sp_rows], dtype="Int64"),
        "members_attended_makeup": pd.array([None] * len(sp_rows), dtype="Int64"),
        "is_held": pd.array([r[3] for r in sp_rows], dtype="boolean"),
        "public_target": pd.array([r[4] for r in sp_rows], dtype="Int64"),
        "public_attended": pd.array([r[5] for r in sp_rows], dtype="Int64"),
        "public_basis": pd.array([r[6] for r in sp_rows], dtype="string"),
        "members_exempt_attended": pd.array([r[7] for r in sp_rows], dtype="Int64"),
    })
    ur_rows = draw(st.lists(st.tuples(fact_ids, st.sampled_from([YEAR, YEAR - 1]),
                                      st.sampled_from([*CODES["unit"], None, "xx"]),
                                      st.one_of(st.none(), st.booleans())), max_size=20))
    ur = pd.DataFrame({
        "unit_id": pd.array([r[0] for r in ur_rows], dtype="string"),
        "year": pd.array([r[1] for r in ur_rows], dtype="Int64"),
        "rating_code": pd.array([r[2] for r in ur_rows], dtype="string"),
        "is_exemplary": pd.array([r[3] for r in ur_rows], dtype="boolean"),
    })
    mr_rows = draw(st.lists(st.tuples(fact_ids, st.sampled_from([YEAR, YEAR - 1]),
                                      st.sampled_from([*CODES["member"], None]), st.integers(0, 40),
                                      st.one_of(st.none(), st.integers(0, 5)), st.booleans()), max_size=25))
    mr = pd.DataFrame({
        "unit_id": pd.array([r[0] for r in mr_rows], dtype="string"),
        "year": pd.array([r[1] for r in mr_rows], dtype="Int64"),
        "rating_code": pd.array([r[2] for r in mr_rows], dtype="string"),
        "rating_rank": pd.array([None if (r[2] is None or r[5]) else CODES["member"].index(r[2]) + 1
                                 for r in mr_rows], dtype="Int64"),
        "members_count": pd.array([r[3] for r in mr_rows], dtype="Int64"),
        "members_not_assessed": pd.array([r[4] for r in mr_rows], dtype="Int64"),
    })
    return Tables(units=units, campaigns=camps, membership=membership, study_participation=sp,
                  unit_ratings=ur, member_ratings=mr)


# --- the reference: filter by ids, per unit ----------------------------------------------------

def ref_coverage(t: Tables, unit_id: str, year: int) -> dict:
    leaves = hierarchy.leaf_ids(t.units, unit_id, year)
    camps = t.campaigns[t.campaigns["year"] == year]
    sp = t.study_participation
    sp = sp[sp["unit_id"].isin(leaves) & sp["campaign_id"].isin(camps["campaign_id"])]
    held = sp.loc[sp["is_held"].fillna(False).astype(bool), "unit_id"].nunique()
    m = t.membership[(t.membership["year"] == year) & t.membership["unit_id"].isin(leaves)]
    m = m.groupby("unit_id")[["members_total", "members_exempt"]].sum()
    eligible = float((m["members_total"] - m["members_exempt"]).clip(lower=0).sum())
    known = sp["public_target"].notna() & (sp["public_target"] > 0)
    return {"units": (float(held), float(len(leaves)) if len(camps) else 0.0),
            "members": (float(sp["members_attended"].fillna(0).sum()),
                        eligible * len(camps) + float(sp["members_exempt_attended"].fillna(0).sum())),
            "public": (float(sp.loc[known, "public_attended"].fillna(0).sum()),
                       float(sp.loc[known, "public_target"].sum())),
            "members_total": int(m["members_total"].sum()), "leaves": len(leaves)}


def ref_unit_ratings(t: Tables, unit_id: str, year: int) -> tuple[dict, int, int]:
    level = t.units.set_index("unit_id").loc[unit_id, "unit_level"]
    target = metrics.RATED_LEVEL_BELOW.get(str(level))
    ids = [unit_id]
    if target:
        ids = [u for u in hierarchy.descendants_at_level(t.units, unit_id, year, target) if u != unit_id] or ids
    assert metrics.rated_units(t, unit_id, year) == ids
    ur = t.unit_ratings[(t.unit_ratings["year"] == year) & t.unit_ratings["unit_id"].isin(ids)]
    counts = {c: int(n) for c, n in ur["rating_code"].value_counts().items() if c in CODES["unit"]}
    return counts, int(ur["is_exemplary"].fillna(False).astype(bool).sum()), len(ids) - ur["unit_id"].nunique()


def ref_member_ratings(t: Tables, unit_id: str, year: int) -> tuple[dict, int]:
    leaves = hierarchy.leaf_ids(t.units, unit_id, year)
    mr = t.member_ratings[(t.member_ratings["year"] == year) & t.member_ratings["unit_id"].isin(leaves)]
    counts = {c: int(n) for c, n in mr.groupby("rating_code")["members_count"].sum().items()
              if c in CODES["member"]}
    return counts, int(mr.groupby("unit_id")["members_not_assessed"].first().fillna(0).sum())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_strategy())
def test_every_figure_equals_the_direct_sum_over_the_subtree(t: Tables) -> None:
    active = hierarchy.units_in_year(t.units, YEAR)["unit_id"].tolist()
    for uid in active:
        ref = ref_coverage(t, uid, YEAR)
        cov = metrics.coverage(t, uid, YEAR)
        for key in ("units", "members", "public"):
            assert (cov[key].numerator, cov[key].denominator) == ref[key], (uid, key)
        assert metrics.leaves_for(t, uid, YEAR) == hierarchy.leaf_ids(t.units, uid, YEAR)
        if YEAR in t.years:
            figures = metrics.unit_year_metrics(t, uid, YEAR)
            assert figures["members_count"] == ref["members_total"] and figures["units_count"] == ref["leaves"]
        by_camp = metrics.coverage_by_campaign(t, uid, YEAR)
        assert by_camp["members_attended"].sum() == pytest.approx(ref["members"][0])
        counts, exemplary, not_assessed = ref_unit_ratings(t, uid, YEAR)
        dist = metrics.unit_rating_distribution(t, uid, YEAR)
        got = {r.rating_code: int(r.count) for r in dist["levels"].itertuples() if r.count}
        assert got == {c: n for c, n in counts.items() if n}
        assert (dist["exemplary"]["count"], dist["not_assessed"]) == (exemplary, not_assessed)
        mcounts, m_not = ref_member_ratings(t, uid, YEAR)
        mdist = metrics.member_rating_distribution(t, uid, YEAR)
        assert {r.rating_code: int(r.count) for r in mdist["levels"].itertuples() if r.count} == \
            {c: n for c, n in mcounts.items() if n}
        assert mdist["not_assessed"] == m_not
    for uid in active:
        sub = metrics.coverage_by_subunit(t, uid, YEAR)
        for r in sub.itertuples(index=False):
            ref = ref_coverage(t, r.unit_id, YEAR)
            assert (r.members_attended, r.members_eligible) == ref["members"]


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables_strategy())
def test_member_quota_equals_the_per_organisation_sum(t: Tables) -> None:
    for uid in hierarchy.units_in_year(t.units, YEAR)["unit_id"]:
        got = metrics.member_quota(t, uid, YEAR)
        rows = []
        for org in hierarchy.descendants_at_level(t.units, uid, YEAR, "co_so"):
            leaves = hierarchy.leaf_ids(t.units, org, YEAR)
            mr = t.member_ratings[(t.member_ratings["year"] == YEAR) & t.member_ratings["unit_id"].isin(leaves)]
            rolled = mr.groupby(["year", "rating_code", "rating_rank"], as_index=False)["members_count"].sum()
            rows.append(rolled.assign(unit_id=org))
        from analysis import ratings
        want = ratings.check_member_quota(pd.concat(rows, ignore_index=True) if rows else t.member_ratings.iloc[0:0])
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True), check_dtype=False)


def test_index_is_reused_and_rebuilt_when_a_frame_changes() -> None:
    units = pd.DataFrame({"unit_id": pd.array(["r", "a"], dtype="string"),
                          "parent_id": pd.array([None, "r"], dtype="string"),
                          "unit_name": ["R", "A"], "unit_level": ["co_so", "chi_bo"],
                          "valid_from_year": pd.array([2010, 2010], dtype="Int64"),
                          "valid_to_year": pd.array([None, None], dtype="Int64")})
    def empty(*cols: str) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})

    t = Tables(units=units, campaigns=empty("campaign_id", "year", "start_date", "title", "document_code"),
               membership=pd.DataFrame({"unit_id": ["a"], "year": [YEAR], "members_total": [10],
                                        "members_exempt": [1]}),
               study_participation=empty("unit_id", "campaign_id", "members_attended", "is_held",
                                         "public_target", "public_attended", "public_basis"),
               unit_ratings=empty("unit_id", "year", "rating_code", "is_exemplary"),
               member_ratings=empty("unit_id", "year", "rating_code", "rating_rank", "members_count",
                                    "members_not_assessed"))
    first = rollup.year_index(t, YEAR)
    assert rollup.year_index(t, YEAR) is first
    assert metrics.unit_year_metrics(t, "r", YEAR)["members_count"] == 10
    t = dataclasses.replace(t, membership=pd.DataFrame({"unit_id": ["a"], "year": [YEAR], "members_total": [12],
                                                        "members_exempt": [1]}))
    assert rollup.year_index(t, YEAR) is not first
    assert metrics.unit_year_metrics(t, "r", YEAR)["members_count"] == 12
    assert np.array_equal(rollup.year_index(t, YEAR).leaves, [1.0, 1.0])
