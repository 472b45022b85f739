"""Subtree sums of one year, computed once for every unit of the tree.

The figures of :mod:`analysis.metrics` are sums over the active leaves (or the rated
organisations) of a unit's subtree. Filtering the fact tables per unit costs a pass over the
whole table for every unit and year asked; at the scale of the whole Party a dashboard asks for
hundreds of units. Here each year is indexed once:

1. the fact rows of the year are mapped to the positions of the year's tree (ids sorted) and
   added up per position (one array or matrix per figure; non-leaf rows are kept apart where the
   conventions say only leaves count);
2. the ancestor closure of the tree (sorted by ancestor) turns those per-unit values into
   per-subtree sums for every unit at once with one ``np.add.reduceat``.

Any unit's figure is then a lookup. Integer counts are summed in int64/float64 and stay exact.
The index is cached on the identity of the frames it was built from (frames are treated as
immutable throughout the package), like the trees of :mod:`analysis.hierarchy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import hierarchy
from analysis.memo import FrameMemo
from analysis.store import Tables


def _subtree_sum(values: np.ndarray, desc: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sum ``values`` (indexed by position, 1-D or 2-D) over every subtree."""
    if len(starts) == 0:
        return values.copy()
    return np.add.reduceat(values[desc], starts, axis=0)


def _unit_codes(prep: hierarchy._Prep, ids: pd.Series) -> np.ndarray:
    """Code of each id among the units table's ids (-1 when unknown)."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    if getattr(prep, "_index", None) is None:
        prep._index = pd.Index(prep.names)  # type: ignore[attr-defined]
    return prep._index.get_indexer(pd.Index(ids.astype(object))).astype(np.int64)  # type: ignore[attr-defined]


def _lookup(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``table[code]`` for each code ≥ 0, −1 for the others (``table`` may be empty)."""
    out = np.full(len(codes), -1, dtype=np.int64)
    ok = codes >= 0
    out[ok] = table[codes[ok]]
    return out


def _code_positions(tree: hierarchy._Tree, codes: np.ndarray, leaves: np.ndarray | None = None) -> np.ndarray:
    """Tree position of each unit code (-1 when unknown, not active in the tree's year, or — with
    ``leaves``, the tree's leaf mask — not a leaf)."""
    pos = _lookup(tree._pos_of_code, codes)
    if leaves is not None:
        pos[pos >= 0] = np.where(leaves[pos[pos >= 0]], pos[pos >= 0], -1)
    return pos


def _positions(tree: hierarchy._Tree, ids: pd.Series, leaves: np.ndarray | None = None) -> np.ndarray:
    """Tree position of each id (see :func:`_code_positions`)."""
    return _code_positions(tree, _unit_codes(tree.prep, ids), leaves)


def _add(n: int, pos: np.ndarray, values: np.ndarray, cols: np.ndarray | None = None,
         k: int = 0) -> np.ndarray:
    """Per-position sums of ``values`` (rows with pos < 0 dropped); 2-D when ``cols`` given."""
    keep = pos >= 0
    if cols is None:
        out = np.zeros(n, dtype=np.float64)
        np.add.at(out, pos[keep], values[keep])
        return out
    out = np.zeros((n, k), dtype=np.float64)
    np.add.at(out, (pos[keep], cols[keep]), values[keep])
    return out


@dataclass
class YearIndex:
    """Per-unit subtree sums of one year (arrays indexed by tree position; ids sorted).

    Attributes:
        year: The year.
        tree: The tree of the year.
        desc: Closure unit positions, grouped by ancestor (ancestor order = position order).
        starts: Start of each ancestor's group in ``desc``.
        is_leaf: Active units without active children.
        levels: ``unit_level`` per position (object; None when missing).
        names: ``unit_name`` per position.
        campaign_ids: The year's campaigns, ordered by start date then id.
        leaves: Active leaves in each subtree.
        members_total, members_exempt, eligible: Leaf sums (eligible clipped at 0 per leaf).
        attended: Members attended, per unit and campaign (leaf sums).
        exempt_attended: Exempt members who attended, per unit and campaign (they count in that
            campaign's denominator, HD 01-HD/TW 13.2); zero when the data do not say.
        held: Leaves that held each campaign; held_any: leaves that held any campaign.
        public_attended, public_target: Where the target is known (> 0), per campaign.
        bases: Public bases seen; basis_rows: known-target rows per basis (subtree counts).
    """

    year: int
    tree: hierarchy._Tree
    desc: np.ndarray
    starts: np.ndarray
    is_leaf: np.ndarray
    levels: np.ndarray
    names: np.ndarray
    campaign_ids: list[str]
    leaves: np.ndarray
    members_total: np.ndarray
    members_exempt: np.ndarray
    eligible: np.ndarray
    attended: np.ndarray
    exempt_attended: np.ndarray
    held: np.ndarray
    held_any: np.ndarray
    public_attended: np.ndarray
    public_target: np.ndarray
    bases: list[str]
    basis_rows: np.ndarray
    _lazy: dict = field(default_factory=dict, repr=False)

    # -- positions -------------------------------------------------------------------------

    def position(self, unit_id: str) -> int:
        """Position of ``unit_id``.

        Raises:
            hierarchy.HierarchyError: The unit is not active in the year.
        """
        return self.tree.position(unit_id)

    def subtree(self, pos: int) -> np.ndarray:
        """Positions of the subtree of ``pos`` (itself first, then sorted)."""
        end = self.starts[pos + 1] if pos + 1 < len(self.starts) else len(self.desc)
        return self.desc[self.starts[pos]:end]

    def children(self, pos: int) -> np.ndarray:
        """Positions of the direct children of ``pos`` (sorted by id)."""
        return np.nonzero(self.tree.pidx == pos)[0]

    def ids(self, positions: np.ndarray) -> list[str]:
        """Unit ids at ``positions``."""
        return [str(x) for x in self.tree.prep.names[self.tree.uc[positions]]]

    # -- ratings (built on first use) ------------------------------------------------------

    def unit_rating_counts(self, tables: Tables) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Organisation ratings per position: (codes, counts[n, K], exemplary[n], rated_rows[n]).

        ``rated_rows`` is 1 where the organisation has at least one rating row in the year.
        """
        if "ur" not in self._lazy:
            n = len(self.tree)
            ur = tables.unit_ratings
            ur = ur[ur["year"] == self.year]
            pos = _positions(self.tree, ur["unit_id"])
            code_col = ur["rating_code"].astype("string")
            codes = sorted(code_col.dropna().unique().tolist())
            col = pd.Index(codes).get_indexer(code_col.fillna("\0").astype(object)) if codes else \
                np.full(len(ur), -1)
            ok = col >= 0
            counts = _add(n, np.where(ok, pos, -1), np.ones(len(ur)), np.where(ok, col, 0), len(codes))
            ex = ur["is_exemplary"].fillna(False).astype(bool).to_numpy(dtype=np.float64)
            exemplary = _add(n, pos, ex)
            rated = (_add(n, pos, np.ones(len(ur))) > 0).astype(np.float64)
            self._lazy["ur"] = (codes, counts, exemplary, rated)
        return self._lazy["ur"]

    def level_subtree_sums(self, tables: Tables, level: str) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                       np.ndarray]:
        """Subtree sums over the units at ``level``: (count of units, counts[n, K], exemplary, rated)."""
        key = f"lvl:{level}"
        if key not in self._lazy:
            _codes, counts, exemplary, rated = self.unit_rating_counts(tables)
            at = (self.levels == level).astype(np.float64)
            self._lazy[key] = (_subtree_sum(at, self.desc, self.starts),
                               _subtree_sum(counts * at[:, None], self.desc, self.starts),
                               _subtree_sum(exemplary * at, self.desc, self.starts),
                               _subtree_sum(rated * at, self.desc, self.starts))
        return self._lazy[key]

    def member_rating_counts(self, tables: Tables) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray, np.ndarray]:
        """Member ratings summed over leaves.

        Returns:
            ``(keys, counts[n, K], rows[n, K], not_assessed[n])``: keys are (rating_code,
            rating_rank) with rank -1 when missing; rows counts the fact rows behind each sum.
        """
        if "mr" not in self._lazy:
            n = len(self.tree)
            mr = tables.member_ratings
            mr = mr[mr["year"] == self.year]
            pos = _positions(self.tree, mr["unit_id"], self.is_leaf)
            code_ids, code_names = pd.factorize(mr["rating_code"].astype("string"), sort=True)
            rank = pd.to_numeric(mr["rating_rank"], errors="coerce").fillna(-1).to_numpy(dtype=np.int64)
            span = int(rank.max()) + 2 if len(rank) else 1
            combined = np.where(code_ids >= 0, code_ids * span + (rank + 1), -1)
            present, col = np.unique(combined, return_inverse=True)
            col = col.reshape(-1)
            if len(present) and present[0] < 0:  # rows without a code
                col = col - 1
                present = present[1:]
            keys = [(str(code_names[v // span]), int(v % span) - 1) for v in present]
            ok = col >= 0
            cnt = pd.to_numeric(mr["members_count"], errors="coerce").fillna(0).to_numpy(dtype=np.float64)
            counts = _add(n, np.where(ok, pos, -1), cnt, np.where(ok, col, 0), len(keys))
            rows = _add(n, np.where(ok, pos, -1), np.ones(len(mr)), np.where(ok, col, 0), len(keys))
            # members_not_assessed: the first non-null value of each unit (the same on every row)
            na_col = pd.to_numeric(mr["members_not_assessed"], errors="coerce")
            has = na_col.notna().to_numpy() & (pos >= 0)
            first = has & ~pd.Series(np.where(has, pos, -1)).duplicated().to_numpy()
            not_assessed = _add(n, np.where(first, pos, -1), na_col.fillna(0).to_numpy(dtype=np.float64))
            self._lazy["mr"] = (keys, _subtree_sum(counts, self.desc, self.starts),
                                _subtree_sum(rows, self.desc, self.starts),
                                _subtree_sum(not_assessed, self.desc, self.starts))
        return self._lazy["mr"]


@dataclass
class _Facts:
    """The columns every year's index reads, extracted once per set of frames (numpy arrays;
    unit ids as codes of the units table's sorted ids, campaign and basis ids factorised)."""

    ms_year: np.ndarray
    ms_code: np.ndarray
    ms_total: np.ndarray
    ms_exempt: np.ndarray
    sp_code: np.ndarray
    sp_campaign: np.ndarray
    campaign_names: np.ndarray
    sp_attended: np.ndarray
    sp_exempt_attended: np.ndarray
    sp_held: np.ndarray
    sp_known: np.ndarray
    sp_public_attended: np.ndarray
    sp_public_target: np.ndarray
    sp_basis: np.ndarray
    basis_names: np.ndarray


def _factorized(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes with -1 for missing, names) of a text column."""
    codes, names = pd.factorize(values.astype("string"))
    return codes.astype(np.int64), np.asarray(names.astype(object))


def _number(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def _extract(tables: Tables) -> _Facts:
    prep = hierarchy._prep_for(tables.units)
    ms, sp = tables.membership, tables.study_participation
    camp_codes, camp_names = _factorized(sp["campaign_id"])
    basis_codes, basis_names = _factorized(sp["public_basis"])
    tgt = _number(sp["public_target"])
    ex_att = (_number(sp["members_exempt_attended"]).fillna(0).to_numpy(dtype=np.float64)
              if "members_exempt_attended" in sp.columns else np.zeros(len(sp)))
    return _Facts(
        ms_year=pd.to_numeric(ms["year"]).to_numpy(dtype=np.int64), ms_code=_unit_codes(prep, ms["unit_id"]),
        ms_total=pd.to_numeric(ms["members_total"]).fillna(0).to_numpy(dtype=np.float64),
        ms_exempt=pd.to_numeric(ms["members_exempt"]).fillna(0).to_numpy(dtype=np.float64),
        sp_code=_unit_codes(prep, sp["unit_id"]), sp_campaign=camp_codes, campaign_names=camp_names,
        sp_attended=sp["members_attended"].fillna(0).to_numpy(dtype=np.float64),
        sp_exempt_attended=ex_att,
        sp_held=sp["is_held"].fillna(False).astype(bool).to_numpy(dtype=np.float64),
        sp_known=(tgt.notna() & (tgt > 0)).to_numpy(dtype=bool),
        sp_public_attended=_number(sp["public_attended"]).fillna(0).to_numpy(dtype=np.float64),
        sp_public_target=tgt.fillna(0).to_numpy(dtype=np.float64),
        sp_basis=basis_codes, basis_names=basis_names)


_FACTS: FrameMemo[_Facts] = FrameMemo(8)


def _facts(tables: Tables) -> _Facts:
    """The extracted columns of ``tables`` (cached while the same frames are alive)."""
    return _FACTS((tables.units, tables.membership, tables.study_participation), lambda: _extract(tables))


def _build(tables: Tables, year: int) -> YearIndex:
    units = tables.units
    tree = hierarchy._tree(units, year)
    n = len(tree)
    anc, desc, _depth = hierarchy._closure_arrays(tree)
    starts = np.searchsorted(anc, np.arange(n)).astype(np.int64)
    is_leaf = ~tree.has_children()
    leaf_f = is_leaf.astype(np.float64)
    rows = tree.table_rows
    levels = (units["unit_level"].iloc[rows].astype(object).to_numpy() if "unit_level" in units.columns
              else np.full(n, None, dtype=object))
    names = (units["unit_name"].iloc[rows].astype(object).to_numpy() if "unit_name" in units.columns
             else np.full(n, None, dtype=object))
    f = _facts(tables)

    # members: per unit sums, clipped per leaf, summed over leaves
    in_year = f.ms_year == year
    mpos = _code_positions(tree, f.ms_code[in_year], is_leaf)
    total = _add(n, mpos, f.ms_total[in_year])
    exempt = _add(n, mpos, f.ms_exempt[in_year])
    eligible = np.clip(total - exempt, 0, None)

    camps = tables.campaigns[tables.campaigns["year"] == year]
    camps = camps.sort_values(["start_date", "campaign_id"], na_position="last")
    campaign_ids = [str(c) for c in camps["campaign_id"]]
    k = len(campaign_ids)
    order = {c: i for i, c in enumerate(campaign_ids)}  # a repeated id keeps its last column
    col_of_code = np.array([order.get(str(c), -1) for c in f.campaign_names], dtype=np.int64)
    cidx_all = _lookup(col_of_code, f.sp_campaign)
    sel = cidx_all >= 0
    cidx = cidx_all[sel]
    spos = _code_positions(tree, f.sp_code[sel], is_leaf)
    att = _add(n, spos, f.sp_attended[sel], cidx, k)
    ex_att = _add(n, spos, f.sp_exempt_attended[sel], cidx, k)  # exempt attendees join the denominator
    held_rows = _add(n, spos, f.sp_held[sel], cidx, k)
    held = (held_rows > 0).astype(np.float64)
    held_any = held.any(axis=1).astype(np.float64) if k else np.zeros(n)
    known = f.sp_known[sel]
    kpos = np.where(known, spos, -1)
    p_att = _add(n, kpos, f.sp_public_attended[sel], cidx, k)
    p_tgt = _add(n, kpos, f.sp_public_target[sel], cidx, k)
    bcode = f.sp_basis[sel]
    seen = np.unique(bcode[known & (bcode >= 0)])
    bases = sorted(str(f.basis_names[c]) for c in seen)
    col_of_basis = np.full(len(f.basis_names), -1, dtype=np.int64)
    col_of_basis[seen] = pd.Index(bases).get_indexer([str(f.basis_names[c]) for c in seen])
    bcol = _lookup(col_of_basis, bcode)
    basis_rows = _add(n, np.where(bcol >= 0, kpos, -1), np.ones(len(bcode)), np.where(bcol >= 0, bcol, 0),
                      len(bases))

    def up(values: np.ndarray) -> np.ndarray:
        return _subtree_sum(values, desc, starts)

    return YearIndex(
        year=int(year), tree=tree, desc=desc, starts=starts, is_leaf=is_leaf, levels=levels, names=names,
        campaign_ids=campaign_ids, leaves=up(leaf_f), members_total=up(total * leaf_f),
        members_exempt=up(exempt * leaf_f), eligible=up(eligible * leaf_f), attended=up(att),
        exempt_attended=up(ex_att), held=up(held),
        held_any=up(held_any), public_attended=up(p_att), public_target=up(p_tgt), bases=bases,
        basis_rows=up(basis_rows))


_CACHE: FrameMemo[YearIndex] = FrameMemo(32)


def _frames(tables: Tables) -> tuple:
    return (tables.units, tables.campaigns, tables.membership, tables.study_participation,
            tables.unit_ratings, tables.member_ratings)


def year_index(tables: Tables, year: int) -> YearIndex:
    """The index of ``year`` for ``tables`` (built once while the same frames are alive).

    Raises:
        hierarchy.HierarchyError: The tree of the year is invalid.
    """
    return _CACHE(_frames(tables), lambda: _build(tables, int(year)), (int(year),))
