"""The fast paths of the gate give exactly what the general paths give.

* Subtree sums over the tree of each year (:class:`checks._YearTree`) against the closure join
  (:func:`checks._rollup_joined`, :func:`checks._indicator_frame_joined`) on random trees whose
  units move, close and open between years, with unknown units and missing values.
* A unit's run that reads only its scope's rows as frames and rolls the siblings up from arrays
  (:func:`gate._unit_reads`) against the general path (every row of the scope and its siblings
  read as frames), on the sample with planted faults, for units at every level and open scopes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import save_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import hierarchy, store
from analysis.quality import checks, gate

EXAMPLES = 200 if os.environ.get("HOCTAP_SLOW") else 40
YEARS = [2014, 2015, 2016, 2017]


@st.composite
def _moving_tree(draw) -> pd.DataFrame:
    """A root, 1–3 committees, leaves under them; some leaves move to another committee in 2016,
    one committee may close after 2015 (its leaves move), and a leaf may open in 2016."""
    n_parents = draw(st.integers(1, 3))
    rows = [("r", None, "cap_tren", 2010, None)]
    closes = n_parents > 1 and draw(st.booleans())
    for i in range(n_parents):
        rows.append((f"p{i}", "r", "co_so", 2010, 2015 if closes and i == n_parents - 1 else None))
    for i in range(n_parents):
        for j in range(draw(st.integers(0, 4))):
            uid = f"p{i}c{j}"
            moves = draw(st.booleans()) or (closes and i == n_parents - 1)
            if moves and n_parents > 1:
                to = (i + 1 + draw(st.integers(0, n_parents - 2))) % n_parents
                if closes and to == n_parents - 1:
                    to = 0
                rows += [(uid, f"p{i}", "chi_bo", 2010, 2015), (uid, f"p{to}", "chi_bo", 2016, None)]
            elif closes and i == n_parents - 1:
                rows.append((uid, f"p{i}", "chi_bo", 2010, 2015))
            else:
                rows.append((uid, f"p{i}", "chi_bo", 2010, None))
    if draw(st.booleans()):
        rows.append(("new", "p0", "chi_bo", 2016, None))
    df = pd.DataFrame(rows, columns=["unit_id", "parent_id", "unit_level", "valid_from_year", "valid_to_year"])
    return pd.DataFrame({"unit_id": pd.array(df["unit_id"], dtype="string"),
                         "unit_name": pd.array(df["unit_id"], dtype="string"),
                         "parent_id": pd.array(df["parent_id"], dtype="string"),
                         "unit_level": pd.array(df["unit_level"], dtype="string"),
                         "unit_kind": pd.array(["khac"] * len(df), dtype="string"),
                         "valid_from_year": pd.array(df["valid_from_year"], dtype="Int64"),
                         "valid_to_year": pd.array(df["valid_to_year"], dtype="Int64")})


_count = st.one_of(st.none(), st.integers(0, 60))


@st.composite
def _facts(draw, units: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    ids = sorted(set(units["unit_id"])) + ["ghost"]
    unit = st.one_of(st.sampled_from(ids), st.none())
    year = st.one_of(st.sampled_from(YEARS), st.none())
    ms = draw(st.lists(st.tuples(unit, year, _count, _count), max_size=25))
    membership = pd.DataFrame(ms, columns=["unit_id", "year", "members_total", "members_exempt"]).astype(
        {"unit_id": "string", "year": "Int64", "members_total": "Int64", "members_exempt": "Int64"})
    campaigns = pd.DataFrame({"campaign_id": pd.array(["c14", "c15a", "c15b", "c16", "c17", "cx"], dtype="string"),
                              "year": pd.array([2014, 2015, 2015, 2016, 2017, None], dtype="Int64")})
    camp = st.sampled_from(["c14", "c15a", "c15b", "c16", "c17", "cx", "unknown"])
    sp = draw(st.lists(st.tuples(unit, camp, _count, _count), max_size=30))
    study = pd.DataFrame(sp, columns=["unit_id", "campaign_id", "members_attended", "members_exempt_attended"]).astype(
        {"unit_id": "string", "campaign_id": "string", "members_attended": "Int64", "members_exempt_attended": "Int64"})
    rank = st.one_of(st.none(), st.integers(1, 4))
    mr = draw(st.lists(st.tuples(unit, year, rank, _count), max_size=30))
    member_ratings = pd.DataFrame(mr, columns=["unit_id", "year", "rating_rank", "members_count"]).astype(
        {"unit_id": "string", "year": "Int64", "rating_rank": "Int64", "members_count": "Int64"})
    ur = draw(st.lists(st.tuples(unit, year, rank), max_size=20))
    unit_ratings = pd.DataFrame(ur, columns=["unit_id", "year", "rating_rank"]).astype(
        {"unit_id": "string", "year": "Int64", "rating_rank": "Int64"})
    facts = {"membership": membership, "study_participation": study, "member_ratings": member_ratings,
             "unit_ratings": unit_ratings}
    for name in list(facts):
        if draw(st.integers(0, 5)) == 0:
            facts[name] = None
    return facts, campaigns


@st.composite
def _tree_and_facts(draw):
    units = draw(_moving_tree())
    facts, campaigns = draw(_facts(units))
    return units, facts, campaigns


def _only_mask(units: pd.DataFrame, keep: list[str]) -> np.ndarray:
    return checks.UnitYears(units).mask_of(keep)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tree_and_facts(), st.booleans(), st.booleans(), st.lists(st.sampled_from(["r", "p0", "p1", "p0c0", "p1c1", "new"]),
                                                                 unique=True))
def test_indicator_frame_is_the_closure_join(data, shared, known_only, keep) -> None:
    units, facts, campaigns = data
    ref = facts if not known_only else \
        {n: (None if f is None else f[checks.str_isin(f["unit_id"], units["unit_id"].dropna())]) for n, f in facts.items()}
    ms = ref["membership"]
    if ms is not None and len(ms) and not (ms["unit_id"].notna() & ms["year"].notna()).any():
        # the joined version trips on this case: pandas' assign of a column to an empty frame brings the
        # dropped rows back (then their missing year cannot become an integer); no row is meant
        ref = {**ref, "membership": ms.iloc[:0]}
    want = checks._indicator_frame_joined(units, ref, campaigns, YEARS)
    with checks.shared_tree(units) if shared else contextlib.nullcontext():
        got = checks.indicator_frame(units, facts, campaigns, YEARS, known_only=known_only)
        only = checks.indicator_frame(units, facts, campaigns, YEARS, only=_only_mask(units, keep),
                                      known_only=known_only)
    if not len(want):
        assert not len(got) and not len(only)
        return
    # (an empty part leaves the joined frame's columns of type object: compare the values exactly)
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
    pd.testing.assert_frame_equal(only, want[want["unit_id"].isin(keep)].reset_index(drop=True), check_exact=True,
                                  check_dtype=False)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tree_and_facts(), st.sampled_from([0, 1]), st.booleans())
def test_rollup_with_depth_and_only_is_the_closure_join(data, min_depth, shared) -> None:
    units, facts, _ = data
    mr = facts["member_ratings"]
    if mr is None:
        return
    f = mr.dropna(subset=["unit_id", "year"])
    f = f.assign(members_count=f["members_count"].fillna(0).astype("int64"))
    keep = {2014: ["r", "p0"], 2016: ["p1", "new", "p0c0"]}
    uy = checks.UnitYears(units)
    want = checks._rollup_joined(f, units, YEARS, ["members_count"], ("rating_rank",), min_depth)
    with checks.shared_tree(units) if shared else contextlib.nullcontext():
        got = checks._rollup(f, units, YEARS, ["members_count"], ("rating_rank",), min_depth)
        only = checks._rollup(f, units, YEARS, ["members_count"], ("rating_rank",), min_depth,
                              only=lambda y: uy.mask_of(keep.get(y, [])))
    records = want.astype({"ancestor_id": object}).to_dict("records")
    assert got.astype({"ancestor_id": object}).to_dict("records") == records
    assert only.astype({"ancestor_id": object}).to_dict("records") == [
        r for r in records if r["ancestor_id"] in keep.get(r["year"], [])]


def test_a_broken_tree_raises_as_the_closure_does() -> None:
    units = pd.DataFrame({"unit_id": pd.array(["a", "b"], dtype="string"), "parent_id": pd.array(["b", "a"], dtype="string"),
                          "unit_level": pd.array(["co_so", "chi_bo"], dtype="string"),
                          "valid_from_year": pd.array([2010, 2010], dtype="Int64"),
                          "valid_to_year": pd.array([None, None], dtype="Int64")})
    ms = pd.DataFrame({"unit_id": pd.array(["a"], dtype="string"), "year": pd.array([2014], dtype="Int64"),
                       "members_total": pd.array([3], dtype="Int64"), "members_exempt": pd.array([0], dtype="Int64")})
    with pytest.raises(hierarchy.HierarchyError, match="Chu trình"):
        checks.indicator_frame(units, {"membership": ms}, None, [2014])
    with pytest.raises(hierarchy.HierarchyError, match="Chu trình"):
        checks._indicator_frame_joined(units, {"membership": ms}, None, [2014])


# ---------------------------------------------------------------------------------------------
# A unit's run: scope rows as frames, siblings from arrays == everything as frames
# ---------------------------------------------------------------------------------------------


def _plant_faults(folder: Path) -> None:
    units = store.load_table(folder, "units")
    moved = units[units["unit_id"] == "him-lam-to03"].copy()
    units.loc[units["unit_id"] == "him-lam-to03", "valid_to_year"] = 2017  # moves to Tân Thanh in 2018
    moved = moved.assign(parent_id=pd.array(["tan-thanh"], dtype="string"),
                         valid_from_year=pd.array([2018], dtype="Int64"))
    save_table(folder, "units", pd.concat([units, moved], ignore_index=True))
    sp = store.load_table(folder, "study_participation")
    sp.loc[(sp["unit_id"] == "tan-thanh-tdp05") & sp["campaign_id"].str.startswith("2016-"), "members_attended"] = 2
    odd = sp[(sp["unit_id"] == "him-lam-to01") & sp["campaign_id"].str.startswith("2016-")].head(1)
    save_table(folder, "study_participation", pd.concat([sp, odd.assign(campaign_id=pd.array(["2016-99"], dtype="string"))],
                                          ignore_index=True))
    ms = store.load_table(folder, "membership")
    ms.loc[(ms["unit_id"] == "thanh-minh-pa-pu") & (ms["year"] == 2023), "members_exempt"] = 999
    ms.loc[ms["unit_id"].str.startswith("him-lam-") & (ms["year"] == 2019), "members_total"] *= 2
    extra = ms[(ms["unit_id"] == "him-lam-to01") & (ms["year"] == 2016)]
    ms = pd.concat([ms, extra.assign(unit_id=pd.array(["khong-co"], dtype="string")),
                    ms[(ms["unit_id"] == "tan-thanh-tdp19") & (ms["year"] == 2019)].assign(
                        year=pd.array([2021], dtype="Int64"))], ignore_index=True)
    save_table(folder, "membership", ms)
    mr = store.load_table(folder, "member_ratings")
    sel = mr["unit_id"].str.startswith("thanh-minh") & (mr["year"] == 2024) & (mr["rating_rank"] == 1)
    mr.loc[sel, "members_count"] *= 5
    save_table(folder, "member_ratings", mr)


_UNITS = ("dbp", "him-lam", "him-lam-to03", "tan-thanh", "tan-thanh-tdp05", "tan-thanh-tdp19",
          "tan-thanh-tdp19-20", "thanh-minh", "thanh-minh-pa-pu", "thpt-pdg")


def test_a_units_run_reads_its_siblings_from_arrays_with_the_same_findings(processed_copy: Path, monkeypatch) -> None:
    _plant_faults(processed_copy)
    units = store.load_table(processed_copy, "units")
    scopes: list[tuple[str | None, int | None]] = [(None, 2019)]
    for unit in _UNITS:
        active = set(hierarchy.years_active(units, unit))
        scopes += [(unit, None)] + [(unit, y) for y in (2016, 2019, 2021, 2024) if y in active]
    used = []
    real = gate._unit_reads

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        used.append(out is not None)
        return out

    monkeypatch.setattr(gate, "_unit_reads", spy)
    fast = gate.run_gate_scopes(processed_copy, scopes)
    assert used and all(used)
    monkeypatch.setattr(gate, "_unit_reads", lambda *a, **k: None)
    general = gate.run_gate_scopes(processed_copy, scopes)
    for scope in scopes:
        assert fast[scope].to_json() == general[scope].to_json(), scope
    found = {f["check"] for r in fast.values() for f in r.findings}
    assert {"trend.outlier", "trend.consistency", "cross.unit_inactive", "cross.member_quota",
            "cross.member_ratings_sum", "membership.exempt_le_total", "study_participation.attended_le_eligible"} <= found


def test_a_mistyped_table_takes_the_general_path(processed_copy: Path) -> None:
    ms = store.load_table(processed_copy, "membership")
    save_table(processed_copy, "membership", ms.astype({"members_total": "Float64"}))
    inputs = gate._Inputs(processed_copy, "vi")
    units = inputs.typed["units"]
    with checks.shared_tree(units):
        scope = gate._scope(units, "tan-thanh", 2016, inputs.data_years, "vi", inputs.active)
        assert gate._unit_reads(inputs, "tan-thanh", scope, gate._history_years(scope)) is None
