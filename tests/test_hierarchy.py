"""Tests of analysis.hierarchy: the unit tree over time, closure roll-ups and merges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.hierarchy import (
    HierarchyError,
    closure,
    closure_all_years,
    comparable_map,
    descendants_at_level,
    find_hierarchy_problems,
    find_merge_problems,
    format_years,
    known_unit_ids,
    leaf_ids,
    rebase,
    subtree_ids,
    unit_name,
    units_in_year,
    validate_units,
    years_active,
)


def _units(rows: list[tuple]) -> pd.DataFrame:
    """rows: (unit_id, parent_id, unit_level, valid_from_year, valid_to_year[, unit_name])."""
    recs = []
    for r in rows:
        uid, parent, level, vf, vt = r[:5]
        name = r[5] if len(r) > 5 else f"Tên {uid}"
        recs.append({"unit_id": uid, "unit_name": name, "parent_id": parent, "unit_level": level,
                     "unit_kind": "khac", "valid_from_year": vf, "valid_to_year": vt})
    df = pd.DataFrame(recs)
    return df.astype({"unit_id": "string", "unit_name": "string", "parent_id": "string",
                      "unit_level": "string", "unit_kind": "string", "valid_from_year": "Int64",
                      "valid_to_year": "Int64"})


@pytest.fixture
def tree() -> pd.DataFrame:
    """City → two wards → cells; cb3 moves from 'nt' to 'tt' in 2020; cb4 ends in 2018."""
    return _units([
        ("tp", None, "cap_tren", 2010, None),
        ("tt", "tp", "co_so", 2010, None, "Đảng bộ phường Tân Thanh"),
        ("nt", "tp", "co_so", 2010, None),
        ("cb1", "tt", "chi_bo", 2010, None),
        ("cb2", "tt", "chi_bo", 2010, None),
        ("cb3", "nt", "chi_bo", 2010, 2019),
        ("cb3", "tt", "chi_bo", 2020, None),
        ("cb4", "nt", "chi_bo", 2010, 2018),
        ("cb5", "nt", "chi_bo", 2015, None),
    ])


# --- the tree of one year ------------------------------------------------------------------


def test_units_in_year_one_row_per_unit(tree: pd.DataFrame) -> None:
    out = units_in_year(tree, 2020)
    assert out["unit_id"].tolist() == ["cb1", "cb2", "cb3", "cb5", "nt", "tp", "tt"]
    assert out.set_index("unit_id").loc["cb3", "parent_id"] == "tt"
    assert out.dtypes.equals(tree.dtypes)


def test_units_in_year_rejects_two_valid_rows() -> None:
    u = _units([("a", None, "co_so", 2010, 2015), ("a", None, "co_so", 2014, None)])
    with pytest.raises(HierarchyError, match="'a'.*2014"):
        units_in_year(u, 2014)


def test_subtree_ids_follow_the_year(tree: pd.DataFrame) -> None:
    assert subtree_ids(tree, "tt", 2019) == ["cb1", "cb2", "tt"]
    assert subtree_ids(tree, "tt", 2020) == ["cb1", "cb2", "cb3", "tt"]
    assert subtree_ids(tree, "nt", 2014) == ["cb3", "cb4", "nt"]


def test_subtree_of_inactive_unit_names_unit_and_year(tree: pd.DataFrame) -> None:
    with pytest.raises(HierarchyError, match="'cb4'.*2019"):
        subtree_ids(tree, "cb4", 2019)


def test_leaf_ids(tree: pd.DataFrame) -> None:
    assert leaf_ids(tree, "tp", 2016) == ["cb1", "cb2", "cb3", "cb4", "cb5"]
    assert leaf_ids(tree, "nt", 2021) == ["cb5"]
    assert leaf_ids(tree, "cb1", 2021) == ["cb1"]


def test_ward_without_cells_is_a_leaf() -> None:
    u = _units([("tp", None, "cap_tren", 2010, None), ("x", "tp", "co_so", 2010, None)])
    assert leaf_ids(u, "tp", 2012) == ["x"]


def test_descendants_at_level(tree: pd.DataFrame) -> None:
    assert descendants_at_level(tree, "tp", 2020, "co_so") == ["nt", "tt"]
    assert descendants_at_level(tree, "tt", 2020, "co_so") == ["tt"]
    assert descendants_at_level(tree, "nt", 2020, "chi_bo") == ["cb5"]
    with pytest.raises(ValueError, match="xa"):
        descendants_at_level(tree, "tp", 2020, "xa")


def test_closure_of_a_tiny_tree() -> None:
    u = _units([("r", None, "cap_tren", 2010, None), ("a", "r", "co_so", 2010, None),
                ("b", "a", "chi_bo", 2010, None)])
    expected = pd.DataFrame({
        "ancestor_id": pd.array(["a", "a", "b", "r", "r", "r"], dtype="string"),
        "unit_id": pd.array(["a", "b", "b", "a", "b", "r"], dtype="string"),
        "depth": np.array([0, 1, 0, 1, 2, 0], dtype=np.int64),
    })
    pd.testing.assert_frame_equal(closure(u, 2012), expected)


def test_closure_moves_with_the_tree(tree: pd.DataFrame) -> None:
    c19, c20 = closure(tree, 2019), closure(tree, 2020)
    anc = lambda c: sorted(c.loc[c["unit_id"] == "cb3", "ancestor_id"])  # noqa: E731
    assert anc(c19) == ["cb3", "nt", "tp"]
    assert anc(c20) == ["cb3", "tp", "tt"]


def test_closure_rejects_inactive_parent_naming_unit_and_year() -> None:
    u = _units([("p", None, "co_so", 2010, 2015), ("c", "p", "chi_bo", 2010, None)])
    with pytest.raises(HierarchyError, match="'c'.*2016"):
        closure(u, 2016)


def test_closure_rejects_cycle_naming_units() -> None:
    u = _units([("a", "b", "co_so", 2010, None), ("b", "a", "co_so", 2010, None)])
    with pytest.raises(HierarchyError, match="a → b → a"):
        closure(u, 2012)


def test_closure_all_years_stacks_per_year_closures(tree: pd.DataFrame) -> None:
    allc = closure_all_years(tree, [2021, 2019, 2020])
    assert list(allc.columns) == ["year", "ancestor_id", "unit_id", "depth"]
    for y in (2019, 2020, 2021):
        part = allc[allc["year"] == y].drop(columns="year").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, closure(tree, y))
    assert closure_all_years(tree, []).empty


def test_rollup_via_closure_sums_leaf_counts(tree: pd.DataFrame) -> None:
    facts = pd.DataFrame({"unit_id": ["cb1", "cb2", "cb3", "cb5"],
                          "members_total": [10, 20, 30, 5]})
    c = closure(tree, 2020)
    rolled = facts.merge(c, on="unit_id").groupby("ancestor_id")["members_total"].sum()
    assert rolled["tp"] == 65 and rolled["tt"] == 60 and rolled["nt"] == 5


# --- validation ----------------------------------------------------------------------------


def test_valid_tree_has_no_problems(tree: pd.DataFrame) -> None:
    assert find_hierarchy_problems(tree) == []
    validate_units(tree)


def _checks(units: pd.DataFrame) -> dict[str, dict]:
    return {p["check"]: p for p in find_hierarchy_problems(units)}


def test_cycle_is_named_with_units_and_years() -> None:
    u = _units([("r", None, "cap_tren", 2010, None), ("a", "r", "co_so", 2010, 2017),
                ("a", "b", "co_so", 2018, 2019), ("b", "a", "chi_bo", 2010, 2019)])
    p = _checks(u)["cycle"]
    assert p["unit_ids"] == ["a", "b"] and p["years"] == [2018, 2019]
    assert "a → b → a" in p["message_vi"] and "2018–2019" in p["message_vi"]
    with pytest.raises(HierarchyError, match="Chu trình"):
        validate_units(u)


def test_self_parent_is_a_cycle() -> None:
    u = _units([("a", "a", "co_so", 2010, 2011)])
    assert _checks(u)["cycle"]["unit_ids"] == ["a"]


def test_unknown_parent_is_named() -> None:
    u = _units([("a", None, "co_so", 2010, None), ("b", "zz", "chi_bo", 2010, None)])
    p = _checks(u)["unknown-parent"]
    assert p["unit_ids"] == ["b"] and "'zz'" in p["message_vi"]


def test_inactive_parent_names_the_years() -> None:
    u = _units([("p", None, "co_so", 2010, 2015), ("c", "p", "chi_bo", 2012, 2018)])
    p = _checks(u)["inactive-parent"]
    assert p["unit_ids"] == ["c"] and p["years"] == [2016, 2017, 2018]
    assert "2016–2018" in p["message_vi"] and "'p'" in p["message_vi"]


def test_inactive_parent_with_open_child_shows_open_range() -> None:
    u = _units([("p", None, "co_so", 2010, 2015), ("c", "p", "chi_bo", 2012, None)])
    p = _checks(u)["inactive-parent"]
    assert p["years"] == [2016] and "2016–" in p["message_vi"]


def test_overlapping_validity_is_named() -> None:
    u = _units([("a", None, "co_so", 2010, 2016), ("a", None, "co_so", 2015, None)])
    p = _checks(u)["overlapping-validity"]
    assert p["unit_ids"] == ["a"] and p["years"] == [2015, 2016]
    assert "2015–2016" in p["message_vi"]


def test_valid_to_before_valid_from_is_named() -> None:
    u = _units([("a", None, "co_so", 2016, 2014)])
    p = _checks(u)["empty-validity"]
    assert p["unit_ids"] == ["a"] and "2014" in p["message_vi"] and "2016" in p["message_vi"]


def test_duplicate_key_is_named() -> None:
    u = _units([("a", None, "co_so", 2010, None), ("a", None, "co_so", 2010, None)])
    p = _checks(u)["duplicate-key"]
    assert p["unit_ids"] == ["a"] and p["years"] == [2010] and "2010" in p["message_vi"]


def test_invalid_level_and_missing_columns() -> None:
    u = _units([("a", None, "xa", 2010, None)])
    assert _checks(u)["invalid-level"]["unit_ids"] == ["a"]
    assert _checks(u.drop(columns="parent_id"))["missing-columns"]["message_vi"].endswith(
        "parent_id")


def test_all_problems_are_reported_at_once() -> None:
    u = _units([("a", None, "co_so", 2016, 2014), ("b", "zz", "chi_bo", 2010, None),
                ("c", "c", "chi_bo", 2010, 2011)])
    problems = find_hierarchy_problems(u)
    assert {p["check"] for p in problems} == {"empty-validity", "unknown-parent", "cycle"}
    assert all(set(p) >= {"check", "unit_ids", "years", "message_vi", "message_en"}
               for p in problems)
    with pytest.raises(HierarchyError) as err:
        validate_units(u)
    assert len(err.value.problems) == 3 and str(err.value).count("\n") == 2


def test_validate_units_in_english() -> None:
    u = _units([("b", "zz", "chi_bo", 2010, None)])
    with pytest.raises(HierarchyError, match="not in the units table"):
        validate_units(u, lang="en")


def test_validation_does_not_mutate_input(tree: pd.DataFrame) -> None:
    before = tree.copy()
    find_hierarchy_problems(tree)
    closure(tree, 2020)
    units_in_year(tree, 2020)
    pd.testing.assert_frame_equal(tree, before)


# --- merges --------------------------------------------------------------------------------


@pytest.fixture
def merged() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ward w: cells a, b, c, d; a merges into c in 2019, c into d in 2021."""
    units = _units([("w", None, "co_so", 2017, None), ("a", "w", "chi_bo", 2017, 2018),
                    ("b", "w", "chi_bo", 2017, None), ("c", "w", "chi_bo", 2017, 2020),
                    ("d", "w", "chi_bo", 2017, None)])
    merges = pd.DataFrame({"from_unit_id": ["a", "c"], "to_unit_id": ["c", "d"],
                           "year": [2019, 2021]})
    return units, merges


def test_comparable_map_follows_chains(merged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, merges = merged
    m = comparable_map(units, merges, 2022).set_index(["year", "unit_id"])["comparable_unit_id"]
    assert m[(2017, "a")] == "d" and m[(2020, "c")] == "d" and m[(2018, "b")] == "b"
    assert m.index.get_level_values("year").max() == 2021


def test_comparable_map_ignores_merges_after_target(
        merged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, merges = merged
    m = comparable_map(units, merges, 2020).set_index(["year", "unit_id"])["comparable_unit_id"]
    assert m[(2017, "a")] == "c" and m[(2019, "c")] == "c"


def test_rebase_moves_counts_and_keeps_parent_totals(
        merged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, merges = merged
    facts = pd.DataFrame({
        "unit_id": pd.array(["a", "b", "c", "d", "b", "c", "d", "b", "d"], dtype="string"),
        "year": pd.array([2018, 2018, 2018, 2018, 2020, 2020, 2020, 2022, 2022], dtype="Int64"),
        "members_total": pd.array([5, 10, 20, 40, 11, 25, 41, 12, 70], dtype="Int64"),
        "members_attended": pd.array([4, 9, 18, 39, 10, 24, 40, 12, 69], dtype="Int64"),
    })
    counts = ["members_total", "members_attended"]
    out = rebase(facts, comparable_map(units, merges, 2022), counts)
    expected = pd.DataFrame({
        "unit_id": pd.array(["b", "b", "b", "d", "d", "d"], dtype="string"),
        "year": pd.array([2018, 2020, 2022, 2018, 2020, 2022], dtype="Int64"),
        "members_total": pd.array([10, 11, 12, 65, 66, 70], dtype="Int64"),
        "members_attended": pd.array([9, 10, 12, 61, 64, 69], dtype="Int64"),
    })
    pd.testing.assert_frame_equal(out, expected)
    before = facts.groupby("year")[counts].sum()
    after = out.groupby("year")[counts].sum()
    pd.testing.assert_frame_equal(before, after)
    # the parent's roll-up on today's tree equals the parent's total of the raw facts
    c = closure(units, 2022)
    ward = out.merge(c, on="unit_id").query("ancestor_id == 'w'").groupby("year")[counts].sum()
    pd.testing.assert_frame_equal(ward, before)


def test_rebase_keeps_other_keys_and_does_not_mutate(
        merged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, merges = merged
    facts = pd.DataFrame({"unit_id": ["a", "c", "a"], "year": [2018, 2018, 2018],
                          "rating_code": ["httnv", "httnv", "htnv"], "members_count": [1, 2, 3]})
    before = facts.copy()
    out = rebase(facts, comparable_map(units, merges, 2019), ["members_count"])
    assert out.values.tolist() == [["c", 2018, "htnv", 3], ["c", 2018, "httnv", 3]]
    pd.testing.assert_frame_equal(facts, before)


def test_merge_of_still_active_unit_is_refused(merged: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, _ = merged
    bad = pd.DataFrame({"from_unit_id": ["b"], "to_unit_id": ["d"], "year": [2019]})
    with pytest.raises(HierarchyError, match="'b'.*2019") as err:
        comparable_map(units, bad, 2022)
    assert err.value.problems[0]["check"] == "merge-source-years"


@pytest.mark.parametrize(("merges", "check"), [
    ({"from_unit_id": ["a"], "to_unit_id": ["zz"], "year": [2019]}, "merge-unknown"),
    ({"from_unit_id": ["a"], "to_unit_id": ["a"], "year": [2019]}, "merge-self"),
    ({"from_unit_id": ["a", "a"], "to_unit_id": ["b", "d"], "year": [2019, 2019]},
     "merge-duplicate"),
    ({"from_unit_id": ["a"], "to_unit_id": ["c"], "year": [2022]}, "merge-target-inactive"),
])
def test_merge_problems(merged: tuple[pd.DataFrame, pd.DataFrame], merges: dict,
                        check: str) -> None:
    units, _ = merged
    problems = find_merge_problems(units, pd.DataFrame(merges))
    assert check in {p["check"] for p in problems}
    assert all(p["unit_ids"] for p in problems)


def test_merge_cycle_is_reported() -> None:
    units = _units([("a", None, "co_so", 2010, 2018), ("b", None, "co_so", 2010, 2018)])
    merges = pd.DataFrame({"from_unit_id": ["a", "b"], "to_unit_id": ["b", "a"],
                           "year": [2019, 2019]})
    assert "merge-cycle" in {p["check"] for p in find_merge_problems(units, merges)}


# --- lookups -------------------------------------------------------------------------------


def test_unit_name_by_year_and_latest() -> None:
    u = _units([("a", None, "co_so", 2010, 2019, "Cũ"), ("a", None, "co_so", 2020, None, "Mới")])
    assert unit_name(u, "a", 2015) == "Cũ" and unit_name(u, "a") == "Mới"
    with pytest.raises(HierarchyError, match="'zz'"):
        unit_name(u, "zz")
    with pytest.raises(HierarchyError, match="'a'.*2005"):
        unit_name(u, "a", 2005)


def test_known_ids_and_years_active(tree: pd.DataFrame) -> None:
    assert known_unit_ids(tree) == ["cb1", "cb2", "cb3", "cb4", "cb5", "nt", "tp", "tt"]
    assert years_active(tree, "cb4") == list(range(2010, 2019))
    assert years_active(tree, "cb3", until=2021) == list(range(2010, 2022))
    assert years_active(tree, "cb1") == list(range(2010, 2101))  # still active: up to MAX_YEAR


def test_format_years() -> None:
    assert format_years([2019, 2014, 2015, 2016, 2016]) == "2014–2016, 2019"
    assert format_years([]) == ""


# --- invariants ----------------------------------------------------------------------------


@st.composite
def random_trees(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 40))
    parents: list[str | None] = [None]
    for i in range(1, n):
        parents.append(f"u{draw(st.integers(0, i - 1)):02d}")
    ids = [f"u{i:02d}" for i in range(n)]
    units = _units([(uid, p, "co_so", 2020, None) for uid, p in zip(ids, parents, strict=True)])
    has_child = {p for p in parents if p}
    leaves = [u for u in ids if u not in has_child]
    totals = draw(st.lists(st.integers(0, 500), min_size=len(leaves), max_size=len(leaves)))
    attended = [draw(st.integers(0, t)) for t in totals]
    facts = pd.DataFrame({"unit_id": leaves, "eligible": totals, "attended": attended})
    return units, facts


def _python_subtrees(units: pd.DataFrame) -> dict[str, set[str]]:
    """Independent oracle: each unit's subtree by walking parent links in plain Python."""
    parent = dict(zip(units["unit_id"], units["parent_id"], strict=True))
    out: dict[str, set[str]] = {u: set() for u in parent}
    for u in parent:
        node: str | None = u
        while node is not None and not pd.isna(node):
            out[node].add(u)
            node = parent[node]
    return out


@settings(max_examples=60, deadline=None)
@given(random_trees())
def test_rollup_of_parts_equals_whole(data: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    units, facts = data
    c = closure(units, 2021)
    rolled = facts.merge(c, on="unit_id").groupby("ancestor_id")[["eligible", "attended"]].sum()
    subtrees = _python_subtrees(units)
    eligible = dict(zip(facts["unit_id"], facts["eligible"], strict=True))
    attended = dict(zip(facts["unit_id"], facts["attended"], strict=True))
    expected = pd.DataFrame(
        {"eligible": [sum(eligible.get(u, 0) for u in subtrees[a]) for a in sorted(subtrees)],
         "attended": [sum(attended.get(u, 0) for u in subtrees[a]) for a in sorted(subtrees)]},
        index=pd.Index(sorted(subtrees), name="ancestor_id"))
    got = rolled.reindex(expected.index, fill_value=0)
    assert got["eligible"].tolist() == expected["eligible"].tolist()
    assert got["attended"].tolist() == expected["attended"].tolist()
    # a parent equals the sum of its children's roll-ups
    kids = units.dropna(subset=["parent_id"]).assign(
        eligible=lambda d: got.loc[d["unit_id"], "eligible"].to_numpy())
    by_parent = kids.groupby("parent_id")["eligible"].sum()
    assert (got.loc[by_parent.index, "eligible"].to_numpy() == by_parent.to_numpy()).all()
    root = units.loc[units["parent_id"].isna(), "unit_id"].iloc[0]
    assert rolled.loc[root, "eligible"] == facts["eligible"].sum()
    assert sorted(leaf_ids(units, root, 2021)) == sorted(facts["unit_id"])
    with_base = rolled[rolled["eligible"] > 0]
    share = 100 * with_base["attended"] / with_base["eligible"]
    assert ((share >= 0) & (share <= 100)).all()
    assert len(c) == sum(len(m) for m in subtrees.values())
    depth = c.set_index(["ancestor_id", "unit_id"])["depth"]
    assert (depth.xs(root, level="ancestor_id") >= 0).all()
