"""Cross-table and over-time checks of the gate (pure: frames in, finding dicts out).

Every function takes canonical frames (see :mod:`analysis.schema`; never modified) and a
:class:`Scope`, and returns finding dicts ``{"check", "severity", "table", "unit_ids", "rows",
"message"}`` (+ ``"values"`` where figures are compared). Check ids and severities:

==========================================  ========  ==================================================
check                                       severity  what
==========================================  ========  ==================================================
``hierarchy.<problem>``                     critical  unknown/inactive parent, cycle, overlapping
                                                      validity, inconsistent merges
                                                      (:func:`analysis.hierarchy.find_hierarchy_problems`)
``cross.unit_unknown``                      critical  a fact row names a unit not in ``units``
``cross.unit_inactive``                     critical  a fact row names a unit not active that year
``cross.facts_not_leaf``                    critical  counts stored at a unit that has active sub-units
``cross.campaign_unknown``                  critical  study row of a campaign not in ``campaigns``
``cross.completeness``                      critical  an active leaf unit did not report a table (rate
                                                      and missing units listed); a rating is demanded
                                                      when the committee deciding it is in the run
``cross.completeness_above``                warning   run without ``--unit``: no rating that a top
                                                      committee of the folder decides, in a year it
                                                      decided none (a ward's own folder)
``cross.member_ratings_sum``                critical  Σ level counts + not assessed ≠ members − exempt
``cross.member_ratings_without_membership`` critical  member ratings with no membership row
``cross.not_assessed_varies``               critical  members_not_assessed differs between level rows
``cross.exemplary_subset``                  critical  "tiêu biểu" outside level 1
``cross.member_quota``                      critical  level-1 members > quota % of level 2 per co_so
``trend.consistency``                       warning   value vs mean of the 3 previous years beyond ±33%
``trend.outlier``                           warning   modified z-score > 3.5 among sibling units
==========================================  ========  ==================================================

Over-time checks follow the WHO Data Quality Review: consistency over time compares a unit's
value with the mean of its three previous years (all three must exist; for level-1 shares all
four years must be in the same rating scheme — a scheme change is a series break); outliers use
the modified z-score ``0.6745 (x − median) / MAD`` among the sibling units of one parent.

Shares of small units swing by chance (one excellent member more in a cell of ten is +10 points),
so for shares the spread used is never below the binomial sampling error of the unit's base
(``MAD ≥ 0.6745 · √(p(1−p)/n)``), a change over time must also exceed two such standard errors,
and units below a minimum base are not compared (:class:`Thresholds`). Without this the sample
produced dozens of warnings for cells of 10–20 members whose shares differed by 4–17 points.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import hierarchy, ratings
from analysis.quality import messages as msg
from analysis.text import format_number, format_pct

FACT_TABLES = ("membership", "study_participation", "unit_ratings", "member_ratings")
LEAF_TABLES = ("membership", "study_participation", "member_ratings")
#: hierarchy problems the units suite already reports (not repeated here)
_SUITE_COVERED = {"missing-columns", "missing-id", "missing-from-year", "duplicate-key",
                  "invalid-level", "empty-validity"}


def index_in(values: pd.Series | pa.Array | pa.ChunkedArray | Iterable, members: pd.Series | pa.Array | Iterable
             ) -> np.ndarray:
    """Position of each value, as text, in ``members`` (the first, for a repeated member); −1 for
    a missing value or one not among them. One pyarrow hash lookup.

    Example:
        >>> index_in(pd.Series(["b", None, "x"], dtype="string"), ["a", "b"]).tolist()
        [1, -1, -1]
    """
    arr = _arrow_text(values)
    found = pc.index_in(arr, value_set=_arrow_text(members).cast(arr.type))
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def str_isin(values: pd.Series | Iterable, members: Iterable) -> np.ndarray:
    """Whether each value, as text, is one of ``members`` (a missing value is not).

    Same answer as ``values.astype(str).isin(members)`` for text ids, through one pyarrow hash
    lookup (pandas' ``isin`` on string columns takes seconds for millions of rows).

    Example:
        >>> str_isin(pd.Series(["a", None, "c"], dtype="string"), {"a", "b"}).tolist()
        [True, False, False]
    """
    arr = _arrow_text(values)
    keys = _arrow_text(members).drop_null()
    hit = pc.fill_null(pc.is_in(arr, value_set=keys.cast(arr.type)), False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _arrow_text(values: pd.Series | Iterable) -> pa.Array:
    """``values`` as one pyarrow string array (missing values null), without a Python loop when
    they are already text."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array) and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    if not isinstance(values, pd.Series | pd.Index | np.ndarray):
        values = list(values)
        try:
            return pa.array(values, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    ser = pd.Series(values) if not isinstance(values, pd.Series) else values
    if ser.dtype == object or not pd.api.types.is_string_dtype(ser.dtype):
        ser = ser.astype("string")
    out = pa.array(ser.array)
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


def _runs(values: pd.Series | Iterable) -> tuple[pa.Array, np.ndarray] | None:
    """The first value and the length of each run of equal text values (a missing value is a run of
    its own), when ``values`` are Arrow or pandas text in runs averaging four or more; else None."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        values = pa.array(values.array)
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    if not isinstance(values, pa.ChunkedArray) or not (pa.types.is_string(values.type)
                                                       or pa.types.is_large_string(values.type)):
        return None
    heads, lengths = [], []
    for chunk in values.chunks:
        if not len(chunk):
            continue
        change = np.ones(len(chunk), dtype=bool)
        same = pc.not_equal(chunk.slice(1), chunk.slice(0, len(chunk) - 1))
        change[1:] = np.asarray(pc.fill_null(same, True).to_numpy(zero_copy_only=False), dtype=bool)
        starts = np.flatnonzero(change)
        heads.append(chunk.take(pa.array(starts)))
        lengths.append(np.diff(np.append(starts, len(chunk))))
    n_runs = sum(len(h) for h in heads)
    if not n_runs or n_runs * 4 > len(values):
        return None
    return pa.concat_arrays(heads), np.concatenate(lengths)


@dataclass(frozen=True)
class Thresholds:
    """Parameters of the over-time checks (WHO DQR defaults).

    Attributes:
        max_change: Relative change vs the mean of the three previous years that is flagged.
        max_z: Modified z-score above which a sibling unit is an outlier.
        min_members: Smallest mean member base (members, eligible, assessed) compared over time.
        min_subunits: Smallest number of rated sub-organisations for the unit level-1 share.
        min_siblings: Smallest number of sibling units for the outlier test.
        min_sibling_base: Smallest base of a sibling compared (a share of 5 members is noise).
        min_share_z: A share's change over time is flagged only when it also exceeds this many
            binomial standard errors at the unit's base (small bases swing by chance).
    """

    max_change: float = 0.33
    max_z: float = 3.5
    min_members: int = 50
    min_subunits: int = 10
    min_siblings: int = 5
    min_sibling_base: int = 10
    min_share_z: float = 2.0


@dataclass(frozen=True)
class Scope:
    """Which unit-years a run covers.

    Attributes:
        years: Years checked (None: every year with data).
        units: Unit ids in scope per year (None: every unit).
    """

    years: tuple[int, ...] | None = None
    units: dict[int, frozenset[str]] | None = None

    def has_year(self, year: int) -> bool:
        """Whether ``year`` is checked."""
        return self.years is None or int(year) in self.years

    def has(self, unit_id: str, year: int) -> bool:
        """Whether the unit-year is checked."""
        if not self.has_year(year):
            return False
        return self.units is None or unit_id in self.units.get(int(year), frozenset())

    def mask(self, df: pd.DataFrame, year_col: str = "year") -> np.ndarray:
        """Rows of ``df`` (``unit_id``, ``year_col``) inside the scope."""
        if self.years is None and self.units is None:
            return np.ones(len(df), dtype=bool)
        ys = pd.to_numeric(df[year_col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(ys)
        yi = np.where(ok, np.trunc(np.where(ok, ys, 0.0)), 0.0).astype(np.int64)  # int(y) of each row
        if self.years is not None:
            ok &= np.isin(yi, np.array([int(y) for y in self.years], dtype=np.int64))
        if self.units is None:
            return ok
        ids = df["unit_id"].astype("string").reset_index(drop=True)
        inside = np.zeros(len(df), dtype=bool)
        for y, members in self.units.items():
            sel = ok & (yi == int(y))
            if sel.any():
                inside[sel] = str_isin(ids[sel], members)
        return ok & inside


def finding(check: str, severity: str, table: str, unit_ids: Iterable[str], rows: list,
            message: str, values: dict | None = None) -> dict:
    """One finding in the contract shape."""
    out = {"check": check, "severity": severity, "table": table,
           "unit_ids": sorted({str(u) for u in unit_ids}), "rows": rows, "message": message}
    if values is not None:
        out["values"] = values
    return out


def _years_text(years: Iterable[int]) -> str:
    return hierarchy.format_years(years)


def _active_rows(units: pd.DataFrame) -> pd.DataFrame:
    vt = units["valid_to_year"].astype("Float64").fillna(np.inf)
    return pd.DataFrame({"unit_id": units["unit_id"].astype("string"),
                         "parent_id": units["parent_id"].astype("string"),
                         "unit_level": units["unit_level"].astype("string"),
                         "vf": units["valid_from_year"].astype("Float64").to_numpy(dtype=float,
                                                                                  na_value=np.nan),
                         "vt": vt.to_numpy(dtype=float, na_value=np.inf)})


def active_units(units: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows of ``units`` active in ``year`` (unit_id, parent_id, unit_level), without raising."""
    a = _active_rows(units)
    sel = a[(a["vf"] <= year) & (year <= a["vt"])]
    return sel.drop_duplicates("unit_id")[["unit_id", "parent_id", "unit_level"]]


def leaves_of_year(units: pd.DataFrame, year: int) -> set[str]:
    """Active units of ``year`` that have no active child."""
    return UnitYears(units).leaves(year)


_SHARED: contextvars.ContextVar[dict | None] = contextvars.ContextVar("hoctap_quality_shared", default=None)


@contextlib.contextmanager
def shared_tree(units: pd.DataFrame) -> Iterator[None]:
    """Inside the block, the active units and the closure of ``units`` are computed once and
    shared by every check called with that same frame (which must not be modified meanwhile).

    Example:
        >>> u = pd.DataFrame({"unit_id": ["r", "a"], "parent_id": [None, "r"], "unit_level": ["co_so", "chi_bo"],
        ...                   "valid_from_year": [2010, 2010], "valid_to_year": [None, None]})
        >>> with shared_tree(u):
        ...     _unit_years(u) is _unit_years(u)
        True
    """
    token = _SHARED.set({"units": units, "unit_years": None, "closure": {}, "ids": None, "trees": {}})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _shared(units: pd.DataFrame) -> dict | None:
    c = _SHARED.get()
    return c if c is not None and c["units"] is units else None


def _unit_years(units: pd.DataFrame) -> UnitYears:
    """:class:`UnitYears` of ``units`` (shared inside :func:`shared_tree`)."""
    c = _shared(units)
    if c is None:
        return UnitYears(units)
    if c["unit_years"] is None:
        c["unit_years"] = UnitYears(units)
    return c["unit_years"]


class UnitYears:
    """Active units, leaves and grassroots organisations per year (computed once per year).

    Besides Python sets, it gives boolean masks over :attr:`ids` (every unit id, sorted) for
    vectorised lookups: :meth:`codes` turns ids into positions in :attr:`ids`.
    """

    def __init__(self, units: pd.DataFrame) -> None:
        self._rows = _active_rows(units)
        self._act: dict[int, pd.DataFrame] = {}
        self._cache: dict[int, tuple[pd.DataFrame, set[str], set[str]]] = {}
        self._levels: dict[tuple[int, str], set[str]] = {}
        self._masks: dict[tuple[int, str], np.ndarray] = {}
        self._ids: tuple[np.ndarray, pa.Array] | None = None
        self._prep: tuple[hierarchy._Prep, np.ndarray] | None = None
        self._typed_ids: dict[pa.DataType, pa.Array] = {}
        self._index: pd.Index | None = None
        self._lazy: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
        self._parent_codes: dict[int, np.ndarray] = {}

    def active(self, year: int) -> pd.DataFrame:
        """Active rows (unit_id, parent_id, unit_level) of ``year``."""
        year = int(year)
        if year not in self._act:
            a = self._rows
            act = a[(a["vf"] <= year) & (year <= a["vt"])].drop_duplicates("unit_id")
            self._act[year] = act[["unit_id", "parent_id", "unit_level"]]
        return self._act[year]

    def active_parents(self, year: int) -> tuple[np.ndarray, np.ndarray]:
        """Codes (:meth:`codes`) and parent ids (object, None when missing) of the rows of
        :meth:`active` of ``year``."""
        key = (int(year), "parents")
        if key not in self._lazy:
            act = self.active(year)
            self._lazy[key] = (self.codes(act["unit_id"]), act["parent_id"].to_numpy(dtype=object, na_value=None))
        return self._lazy[key]

    def parent_codes(self, year: int) -> np.ndarray:
        """Position in :attr:`ids` of the parent of each unit active in ``year`` (indexed like
        :attr:`ids`); −1 for a unit not active that year, one without a parent, or one whose parent
        is not a unit id."""
        year = int(year)
        if year not in self._parent_codes:
            codes, parents = self.active_parents(year)
            out = np.full(len(self.ids), -1, dtype=np.int64)
            known = codes >= 0
            out[codes[known]] = self.codes(pd.Series(parents[known], dtype="string"))
            self._parent_codes[year] = out
        return self._parent_codes[year]

    def _get(self, year: int) -> tuple[pd.DataFrame, set[str], set[str]]:
        year = int(year)
        if year not in self._cache:
            act = self.active(year)
            ids = set(act["unit_id"].dropna().astype(str).tolist())
            leaves = ids - set(act["parent_id"].dropna().astype(str).tolist())
            self._cache[year] = (act, ids, leaves)
        return self._cache[year]

    def active_ids(self, year: int) -> set[str]:
        """Ids of the units active in ``year``."""
        return self._get(year)[1]

    def leaves(self, year: int) -> set[str]:
        """Active units of ``year`` without an active child."""
        return self._get(year)[2]

    def at_level(self, year: int, level: str) -> set[str]:
        """Active units of ``year`` at ``unit_level == level``."""
        key = (int(year), level)
        if key not in self._levels:
            act = self.active(year)
            self._levels[key] = set(act.loc[(act["unit_level"] == level).fillna(False).to_numpy(dtype=bool),
                                            "unit_id"].astype(str).tolist())
        return self._levels[key]

    @property
    def ids(self) -> np.ndarray:
        """Every unit id (text), sorted and unique."""
        return self._id_arrays()[0]

    def _id_arrays(self) -> tuple[np.ndarray, pa.Array]:
        if self._ids is None:
            # UTF-8 byte order is code-point order: the order of sorted() on Python strings
            uniq = pc.unique(_arrow_text(self._rows["unit_id"]).cast(pa.string()).drop_null())
            values = uniq.take(pc.sort_indices(uniq))
            self._ids = (np.asarray(values.to_numpy(zero_copy_only=False), dtype=object), values)
        return self._ids

    def codes(self, values: pd.Series | Iterable) -> np.ndarray:
        """Position in :attr:`ids` of each value (as text); −1 for a missing or unknown id."""
        runs = _runs(values) if hasattr(values, "__len__") and len(values) > 65_536 else None
        if runs is not None:  # long runs of one id (tables sorted by unit): look up each run once
            heads, lengths = runs
            return np.repeat(self.codes(heads), lengths)
        arr = _arrow_text(values)
        if not len(arr):
            return np.zeros(0, dtype=np.int64)
        if len(arr) * 4 < len(self.ids):  # few values: probe a hash of the ids built once
            if self._index is None:
                self._index = pd.Index(self.ids, dtype=object)
            found = self._index.get_indexer(np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object))
            return np.asarray(found, dtype=np.int64)
        if arr.type not in self._typed_ids:  # the ids in the values' type (no copy of the values)
            self._typed_ids[arr.type] = self._id_arrays()[1].cast(arr.type)
        found = pc.index_in(arr, value_set=self._typed_ids[arr.type])
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)

    def mask_of(self, values: pd.Series | Iterable) -> np.ndarray:
        """Boolean mask over :attr:`ids`: True for the ids among ``values`` (as text).

        Many values: the ids are looked up in ``values`` (one hash of ``values``); few: the values
        among the ids (:meth:`codes`).
        """
        keys = _arrow_text(values).drop_null()
        if not len(keys) or not len(self.ids):
            return np.zeros(len(self.ids), dtype=bool)
        if len(keys) * 4 < len(self.ids):  # few values: look them up
            out = np.zeros(len(self.ids), dtype=bool)
            c = self.codes(keys)
            out[c[c >= 0]] = True
            return out
        hit = pc.is_in(self._id_arrays()[1], value_set=keys.cast(pa.string()))
        return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)

    def prep_codes(self, prep: hierarchy._Prep) -> np.ndarray:
        """:meth:`codes` of every name of a :mod:`analysis.hierarchy` coding of the units (cached)."""
        if self._prep is None or self._prep[0] is not prep:
            self._prep = (prep, self.codes(pd.Series(prep.names, dtype="string")))
        return self._prep[1]

    def mask(self, year: int, what: str) -> np.ndarray:
        """Boolean mask over :attr:`ids` of the units of ``year`` that are ``active``, a ``leaf``
        (active, without an active child) or at the unit level ``what`` (e.g. ``co_so``)."""
        key = (int(year), what)
        if key not in self._masks:
            act = self.active(year)
            if what == "active":  # = mask_of(act["unit_id"]), from the codes of the active rows
                codes = self.active_parents(year)[0]
                m = np.zeros(len(self.ids), dtype=bool)
                m[codes[codes >= 0]] = True
            elif what == "leaf":
                m = self.mask(year, "active") & ~self.mask_of(act["parent_id"])
            else:
                m = self.mask_of(act.loc[(act["unit_level"] == what).fillna(False).to_numpy(dtype=bool),
                                         "unit_id"])
            self._masks[key] = m
        return self._masks[key]


def _fact_years(df: pd.DataFrame, table: str, campaigns: pd.DataFrame | None) -> pd.DataFrame:
    """``unit_id``, ``year`` (and ``campaign_id`` for study) of a fact table."""
    if table == "study_participation":
        if campaigns is None:
            return pd.DataFrame({"unit_id": pd.Series(dtype="string"), "year": pd.Series(dtype="Int64")})
        paired = _campaign_rows(df, campaigns)
        if paired is None:
            return df[["unit_id", "campaign_id"]].merge(campaigns[["campaign_id", "year"]], on="campaign_id",
                                                        how="inner")
        rows, idx = paired  # the inner merge, by lookup
        out = df[["unit_id", "campaign_id"]].iloc[rows].reset_index(drop=True)
        out["year"] = campaigns["year"].array.take(idx)
        return out
    return df[["unit_id", "year"]]


# ---------------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------------


def hierarchy_findings(units: pd.DataFrame, merges: pd.DataFrame | None, scope: Scope,
                       lang: str = "vi") -> list[dict]:
    """The unit tree's problems (parents, cycles, validity, merges) as findings.

    In a restricted run a problem is kept when it names a unit of the scope (or names none).
    """
    problems = [p for p in hierarchy.find_hierarchy_problems(units) if p["check"] not in _SUITE_COVERED]
    if merges is not None and len(merges.columns) and len(merges):
        problems += hierarchy.find_merge_problems(units, merges)
    in_scope = None if scope.units is None else set().union(*scope.units.values())
    out = []
    for p in problems:
        if in_scope is not None and p["unit_ids"] and not set(p["unit_ids"]) & in_scope:
            continue
        out.append(finding(f"hierarchy.{p['check'].replace('-', '_')}", "critical", "units",
                           p["unit_ids"], [{"unit_id": u} for u in p["unit_ids"]],
                           p["message_en"] if lang == "en" else p["message_vi"],
                           {"years": p["years"]} if p["years"] else None))
    return out


def _in_scope_rows(fy: pd.DataFrame, scope: Scope) -> np.ndarray:
    """Rows of ``fy`` (``unit_id``, ``year``) whose year is checked and, in a restricted run,
    whose unit is in the scope of any year."""
    keep = np.ones(len(fy), dtype=bool)
    if scope.years is not None:
        ys = pd.to_numeric(fy["year"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        keep &= np.isin(np.trunc(ys), np.array([float(int(y)) for y in scope.years]))
    if scope.units is not None:
        in_scope = sorted(set().union(*scope.units.values()))
        keep &= str_isin(fy["unit_id"], in_scope)
    return keep


def _years_by_unit(uids: np.ndarray, years: np.ndarray) -> list[tuple[str, list[int]]]:
    """(unit, [years …]) sorted by unit, years in the given order (already ascending)."""
    out: dict[str, list[int]] = {}
    for u, y in zip(uids.tolist(), years.tolist(), strict=True):
        out.setdefault(u, []).append(int(y))
    return sorted(out.items())


def _unit_year_pairs(fy: pd.DataFrame, uy: UnitYears) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The distinct (unit, year) pairs of ``fy`` (no missing value), sorted by unit id then year.

    Returns:
        The pairs of unknown units (``unit_id``, ``year``, ``n`` rows), and the codes
        (:meth:`UnitYears.codes`) and years of the pairs of known units.
    """
    code = uy.codes(fy["unit_id"])
    known = code >= 0
    if not pd.api.types.is_integer_dtype(fy["year"].dtype):  # group the values as they are
        pairs = fy.groupby(["unit_id", "year"], sort=True).size().reset_index(name="n")
        pc_ = uy.codes(pairs["unit_id"].astype(str))
        return (pairs[pc_ < 0], pc_[pc_ >= 0],
                pairs["year"][pc_ >= 0].astype(int).to_numpy(dtype=np.int64))
    unknown = fy[~known].groupby(["unit_id", "year"], sort=True).size().reset_index(name="n")
    kc, ky = code[known], fy["year"].to_numpy(dtype=np.int64)[known]
    order = np.lexsort((ky, kc))
    kc, ky = kc[order], ky[order]
    first = np.ones(len(kc), dtype=bool)
    first[1:] = (kc[1:] != kc[:-1]) | (ky[1:] != ky[:-1])
    return unknown, kc[first], ky[first]


def unit_reference_findings(units: pd.DataFrame, facts: dict[str, pd.DataFrame | None],
                            campaigns: pd.DataFrame | None, scope: Scope,
                            lang: str = "vi") -> list[dict]:
    """Fact rows naming an unknown unit, a unit not active that year, or a non-leaf unit.

    In a restricted run only units of the scope are judged (a unit outside the tree cannot be in a
    subtree: the full run reports it).
    """
    uy = _unit_years(units)
    out: list[dict] = []
    for table in FACT_TABLES:
        df = facts.get(table)
        if df is None or not len(df):
            continue
        fy = _fact_years(df, table, campaigns).dropna(subset=["unit_id", "year"])
        fy = fy[_in_scope_rows(fy, scope)]
        unknown, code, years = _unit_year_pairs(fy, uy)
        for uid, g in unknown.groupby("unit_id", sort=True):
            ys = [int(y) for y in g["year"]]
            out.append(finding("cross.unit_unknown", "critical", table, [uid],
                               [{"unit_id": str(uid), "year": y} for y in ys],
                               msg.say("cross.unit_unknown", lang, table=table, unit=uid,
                                       count=int(g["n"].sum()), years=_years_text(ys))))
        uids = uy.ids[code]
        active = np.zeros(len(code), dtype=bool)
        leaf = np.zeros(len(code), dtype=bool)
        for y in np.unique(years):
            sel = years == y
            active[sel] = uy.mask(int(y), "active")[code[sel]]
            if table in LEAF_TABLES:
                leaf[sel] = uy.mask(int(y), "leaf")[code[sel]]
        inactive = ~active
        not_leaf = active & ~leaf if table in LEAF_TABLES else np.zeros(len(code), dtype=bool)
        for uid, ys in _years_by_unit(uids[inactive], years[inactive]):
            out.append(finding("cross.unit_inactive", "critical", table, [uid],
                               [{"unit_id": uid, "year": y} for y in ys],
                               msg.say("cross.unit_inactive", lang, table=table, unit=uid,
                                       years=_years_text(ys))))
        for uid, ys in _years_by_unit(uids[not_leaf], years[not_leaf]):
            if scope.units is not None and not any(scope.has(uid, y) for y in ys):
                continue
            out.append(finding("cross.facts_not_leaf", "critical", table, [uid],
                               [{"unit_id": uid, "year": y} for y in ys],
                               msg.say("cross.facts_not_leaf", lang, table=table, unit=uid,
                                       years=_years_text(ys))))
    return out


def campaign_findings(study: pd.DataFrame, campaigns: pd.DataFrame, lang: str = "vi") -> list[dict]:
    """Study rows of a campaign that is not in the campaigns table."""
    known = set(campaigns["campaign_id"].dropna().astype(str))
    bad = study[~str_isin(study["campaign_id"], known) & study["campaign_id"].notna().to_numpy(dtype=bool)]
    out = []
    for cid, g in bad.groupby("campaign_id", sort=True):
        ids = sorted(set(g["unit_id"].dropna().astype(str)))
        out.append(finding("cross.campaign_unknown", "critical", "study_participation", ids,
                           [{"unit_id": u, "campaign_id": str(cid)} for u in ids],
                           msg.say("cross.campaign_unknown", lang, campaign=cid, count=len(g))))
    return out


# ---------------------------------------------------------------------------------------------
# Completeness
# ---------------------------------------------------------------------------------------------


def expected_reporters(units: pd.DataFrame | UnitYears, year: int, table: str) -> set[str]:
    """Units expected to report ``table`` in ``year``: active leaves (and, for organisation
    ratings, also every active grassroots organisation)."""
    uy = units if isinstance(units, UnitYears) else UnitYears(units)
    expected = set(uy.leaves(year))
    if table == "unit_ratings":
        expected |= uy.at_level(year, "co_so")
    return expected


def _reported(df: pd.DataFrame, by: str, uy: UnitYears) -> dict:
    """Mask over ``uy.ids`` of the units reporting in ``df``, per value of ``by`` (``year`` as
    int, else str)."""
    sub = df[[by, "unit_id"]].dropna()
    out: dict = {}
    if not len(sub):
        return out
    keys, uniq = pd.factorize(sub[by], sort=False)
    code = uy.codes(sub["unit_id"].astype(str))
    for i, k in enumerate(uniq):
        c = code[(keys == i) & (code >= 0)]
        key = int(k) if by == "year" else str(k)
        if key not in out:
            out[key] = np.zeros(len(uy.ids), dtype=bool)
        out[key][c] = True
    return out


def completeness_findings(units: pd.DataFrame, facts: dict[str, pd.DataFrame | None],
                          campaigns: pd.DataFrame | None, data_years: dict[str, set[int]],
                          scope: Scope, lang: str = "vi") -> list[dict]:
    """Reporting completeness per table and year (per campaign for study participation).

    A table is checked in the years it has any data (``data_years``, from the whole table), a
    campaign in the years any fact table has data; each expected unit (:func:`expected_reporters`)
    inside the scope must have a row (``cross.completeness``, critical).

    A unit's own rating (``unit_ratings``) is not the unit's to report: the committee directly
    above it decides it (a ward's rating is decided by the district, a chi bộ's by the ward). So a
    rating is demanded only when that committee is inside the run's units: a run scoped to a unit
    never demands the unit's own rating (the scope's other units have their committee inside it),
    and no run demands the rating of a unit whose committee is not in the folder. A run without
    ``--unit`` does not know whose folder it judges: a ward's own folder carries the district
    only as its parent, with none of the district's decisions. There, the ratings that a top
    committee of the folder (a unit with no parent) decides, in a year the folder holds none of its
    decisions, are one warning per committee (``cross.completeness_above``) rather than critical;
    once the folder holds some of them, the others are critical as usual, and a run scoped to that
    committee (``--unit``) demands them all.

    Example:
        >>> units = pd.DataFrame({"unit_id": ["d", "w", "c"], "unit_name": ["D", "W", "C"],
        ...                       "parent_id": [None, "d", "w"], "unit_level": ["cap_tren", "co_so", "chi_bo"],
        ...                       "valid_from_year": [2010] * 3, "valid_to_year": [None] * 3})
        >>> ur = pd.DataFrame({"unit_id": ["c"], "year": [2020]})
        >>> ward = Scope(years=(2020,), units={2020: frozenset({"w", "c"})})
        >>> completeness_findings(units, {"unit_ratings": ur}, None, {"unit_ratings": {2020}}, ward)
        []
        >>> [(f["check"], f["severity"], f["unit_ids"]) for f in
        ...  completeness_findings(units, {"unit_ratings": ur}, None, {"unit_ratings": {2020}}, Scope())]
        [('cross.completeness_above', 'warning', ['w'])]
    """
    out: list[dict] = []
    uy = _unit_years(units)
    years_with_data = set().union(*(data_years.get(t, set()) for t in FACT_TABLES))
    for table in FACT_TABLES:
        df = facts.get(table)
        if df is None:
            continue
        if table == "study_participation":
            if campaigns is None:
                continue
            groups = [(int(y), str(c)) for c, y in zip(campaigns["campaign_id"], campaigns["year"],
                                                       strict=True)
                      if pd.notna(y) and pd.notna(c) and int(y) in years_with_data]
            reported = _reported(df, "campaign_id", uy)
        else:
            groups = [(y, None) for y in sorted(data_years.get(table, set()))]
            reported = _reported(df, "year", uy)
        for year, campaign in sorted(groups):
            if not scope.has_year(year):
                continue
            expected = uy.mask(year, "leaf")  # expected_reporters, as a mask over uy.ids
            if table == "unit_ratings":
                expected = expected | uy.mask(year, "co_so")
            if scope.units is not None:
                expected = expected & uy.mask_of(list(scope.units.get(year, frozenset())))
            got = reported.get(campaign if campaign is not None else year)
            if table == "unit_ratings":
                expected, above = _ratings_decided(uy, year, expected, got, scope)
                out.extend(_above_findings(uy, year, above, lang))
            n_expected = int(expected.sum())
            if not n_expected:
                continue
            missing = uy.ids[expected & ~got] if got is not None else uy.ids[expected]
            if not len(missing):
                continue
            missing = missing.tolist()  # sorted: ids are
            n_rep = n_expected - len(missing)
            rate = 100.0 * n_rep / n_expected
            camp = msg.word("campaign", lang, campaign=campaign) if campaign else ""
            out.append(finding(
                "cross.completeness", "critical", table, missing,
                [{"unit_id": u, "year": year, **({"campaign_id": campaign} if campaign else {})}
                 for u in missing],
                msg.say("cross.completeness", lang, table=table, year=year, campaign=camp,
                        reported=n_rep, expected=n_expected, rate=format_pct(rate, 1, lang),
                        missing_count=len(missing), missing=msg.list_ids(missing, lang)),
                {"year": year, "campaign_id": campaign, "reported": n_rep, "expected": n_expected,
                 "rate_pct": round(rate, 2), "missing": missing}))
    return out


def _ratings_decided(uy: UnitYears, year: int, expected: np.ndarray, got: np.ndarray | None,
                     scope: Scope) -> tuple[np.ndarray, np.ndarray]:
    """Split the units expected to be rated in ``year`` (a mask over ``uy.ids``) into the ratings
    a run demands and those a run without ``--unit`` only warns about (see
    :func:`completeness_findings`).

    Returns:
        (demanded, above): masks over ``uy.ids``; ``above`` holds units not rated whose committee
        is a top unit of the folder that decided no rating in ``year``.
    """
    parent = uy.parent_codes(year)
    at = np.maximum(parent, 0)
    inside = uy.mask(year, "active") if scope.units is None else uy.mask_of(list(scope.units.get(year, ())))
    decided_inside = expected & (parent >= 0) & inside[at]  # the committee above is in the run
    above = np.zeros(len(uy.ids), dtype=bool)
    if scope.units is None:
        rated = got if got is not None else np.zeros(len(uy.ids), dtype=bool)
        deciding = np.zeros(len(uy.ids), dtype=bool)  # committees that decided some rating this year
        deciding[parent[rated & (parent >= 0)]] = True
        above = decided_inside & (parent[at] < 0) & ~deciding[at] & ~rated
    return decided_inside & ~above, above


def _above_findings(uy: UnitYears, year: int, above: np.ndarray, lang: str) -> list[dict]:
    """One ``cross.completeness_above`` warning per committee of ``above`` (see :func:`_ratings_decided`)."""
    if not above.any():
        return []
    parent = uy.parent_codes(year)
    out = []
    for p in np.unique(parent[above]):
        missing = uy.ids[above & (parent == p)].tolist()
        committee = str(uy.ids[p])
        out.append(finding(
            "cross.completeness_above", "warning", "unit_ratings", missing,
            [{"unit_id": u, "year": year} for u in missing],
            msg.say("cross.completeness_above", lang, year=year, committee=committee,
                    missing_count=len(missing), missing=msg.list_ids(missing, lang)),
            {"year": year, "decided_by": committee, "missing": missing}))
    return out


# ---------------------------------------------------------------------------------------------
# Ratings
# ---------------------------------------------------------------------------------------------


def member_ratings_sum_findings(member_ratings: pd.DataFrame, membership: pd.DataFrame | None,
                                scope: Scope, lang: str = "vi", set_aside: pd.DataFrame | None = None) -> list[dict]:
    """Σ level counts + not assessed (+ members whose rating intake set aside, already a finding of
    their own) must equal members − exempt, per unit and year.

    Args:
        set_aside: ``unit_id``, ``year``, ``members``: ratings intake set aside
            (:func:`analysis.intake.register.ratings_set_aside`).
    """
    mr = member_ratings[scope.mask(member_ratings)]
    if not len(mr):
        return []
    out: list[dict] = []
    g = mr.groupby(["unit_id", "year"], sort=True).agg(
        rated=("members_count", "sum"),
        na_max=("members_not_assessed", "max"), na_min=("members_not_assessed", "min")).reset_index()
    for r in g[(g["na_max"] != g["na_min"]).fillna(False).astype(bool)].itertuples(index=False):
        vals = sorted(int(v) for v in mr.loc[(mr["unit_id"] == r.unit_id) & (mr["year"] == r.year),
                                             "members_not_assessed"].dropna().unique())
        out.append(finding("cross.not_assessed_varies", "critical", "member_ratings", [r.unit_id],
                           [{"unit_id": str(r.unit_id), "year": int(r.year)}],
                           msg.say("cross.not_assessed_varies", lang, unit=r.unit_id, year=int(r.year),
                                   values=", ".join(str(v) for v in vals))))
    if membership is None:
        return out
    m = membership.groupby(["unit_id", "year"], as_index=False)[["members_total", "members_exempt"]].sum(
        min_count=1)
    j = g.merge(m, on=["unit_id", "year"], how="left")
    aside = set_aside if set_aside is not None and len(set_aside) else None
    j["set_aside"] = 0 if aside is None else j.merge(
        aside.rename(columns={"members": "set_aside"}), on=["unit_id", "year"], how="left")["set_aside"].fillna(0) \
        .astype("int64").to_numpy()
    j = j[_sum_candidates(j)]  # the rows that can produce a finding, checked exactly below
    for r in j.itertuples(index=False):
        unit, year = str(r.unit_id), int(r.year)
        if pd.isna(r.members_total):
            out.append(finding("cross.member_ratings_without_membership", "critical", "member_ratings",
                               [unit], [{"unit_id": unit, "year": year}],
                               msg.say("cross.member_ratings_without_membership", lang, unit=unit,
                                       year=year)))
            continue
        na = 0 if pd.isna(r.na_max) else int(r.na_max)
        exempt = 0 if pd.isna(r.members_exempt) else int(r.members_exempt)
        lhs, rhs = int(r.rated) + na + int(r.set_aside), int(r.members_total) - exempt
        if lhs != rhs:
            out.append(finding(
                "cross.member_ratings_sum", "critical", "member_ratings", [unit],
                [{"unit_id": unit, "year": year}],
                msg.say("cross.member_ratings_sum", lang, unit=unit, year=year, rated=int(r.rated),
                        not_assessed=na, lhs=lhs, total=int(r.members_total), exempt=exempt, rhs=rhs),
                {"rated": int(r.rated), "not_assessed": na, "members_total": int(r.members_total),
                 "members_exempt": exempt, "difference": lhs - rhs}))
    return out


def _sum_candidates(j: pd.DataFrame) -> np.ndarray:
    """Rows of the rated-vs-membership frame that may break Σ counts + not assessed = total − exempt.

    Vectorised pre-filter of :func:`member_ratings_sum_findings` (terms truncated like ``int()``);
    every row it keeps is judged again exactly, so it only has to be a superset.
    """
    def num(col: str) -> np.ndarray:
        return np.trunc(pd.to_numeric(j[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan))

    total = num("members_total")
    na = np.nan_to_num(num("na_max"), nan=0.0)
    exempt = np.nan_to_num(num("members_exempt"), nan=0.0)
    lhs, rhs = num("rated") + na + num("set_aside"), total - exempt
    return np.isnan(total) | ~(lhs == rhs)


def exemplary_findings(unit_ratings: pd.DataFrame, scope: Scope, lang: str = "vi") -> list[dict]:
    """"Tiêu biểu" (exemplary) organisations must be rated level 1."""
    ur = unit_ratings[scope.mask(unit_ratings)]
    bad = ur[ur["is_exemplary"].fillna(False).astype(bool) & (ur["rating_rank"] != 1).fillna(True)]
    out = []
    for r in bad.sort_values(["unit_id", "year"]).itertuples(index=False):
        rank = "?" if pd.isna(r.rating_rank) else int(r.rating_rank)
        out.append(finding("cross.exemplary_subset", "critical", "unit_ratings", [r.unit_id],
                           [{"unit_id": str(r.unit_id), "year": int(r.year)}],
                           msg.say("cross.exemplary_subset", lang, unit=r.unit_id, year=int(r.year),
                                   code=r.rating_code, rank=rank)))
    return out


def _coded_closure(units: pd.DataFrame, years: list[int]) -> tuple[pd.DataFrame, UnitYears] | None:
    """:func:`analysis.hierarchy.closure_all_years` with the ids as integer codes.

    Returns the frame (``year``, ``unit``, ``ancestor``, ``depth``; codes are positions in
    :attr:`UnitYears.ids`) and the :class:`UnitYears` of ``units``, or None when an id of the
    closure is not a unit id as text. Inside :func:`shared_tree` each year is computed once.
    """
    c = _shared(units)
    cache: dict[int, pd.DataFrame] = c["closure"] if c is not None else {}
    uy = _unit_years(units)
    todo = [y for y in years if y not in cache]
    if todo:
        cl = hierarchy.closure_all_years(units, todo)
        unit, anc = uy.codes(cl["unit_id"]), uy.codes(cl["ancestor_id"])
        if (unit < 0).any() or (anc < 0).any():
            return None
        coded = pd.DataFrame({"year": cl["year"].to_numpy(dtype=np.int64), "unit": unit, "ancestor": anc,
                              "depth": cl["depth"].to_numpy(dtype=np.int64)})
        for y in todo:
            cache[y] = coded[coded["year"].to_numpy() == y]
    return pd.concat([cache[y] for y in years], ignore_index=True), uy


class _YearTree:
    """The unit tree of one year over :attr:`UnitYears.ids` codes, for subtree sums.

    Built from :func:`analysis.hierarchy._tree` (the tree :func:`analysis.hierarchy.closure_all_years`
    builds, with the same errors). A subtree sum adds each unit's value to its parent, deepest
    level first: the same integer sums as joining the ancestor closure, without building it.
    (:func:`analysis.rollup._subtree_sum` sums over the closure arrays instead; building those costs
    ≈ 0,2 s per year of the national tree, which a unit's run, reading up to 7 years, would pay
    against ≈ 0,03 s for :meth:`up`.)

    Attributes:
        n: Number of active units (tree positions, sorted like the ids).
        uy_of: Code in :attr:`UnitYears.ids` of each position.
        pos_of: Position of each :attr:`UnitYears.ids` code (−1: not active that year).
        parent: Position of each position's parent (−1 for a root).
        levels: Positions at depth 1, 2, … (index 0 holds depth 1).
    """

    def __init__(self, tree: hierarchy._Tree, uy_of: np.ndarray, n_ids: int) -> None:
        self.n = len(tree)
        self.uy_of = uy_of
        self.pos_of = np.full(n_ids, -1, dtype=np.int64)
        self.pos_of[uy_of] = np.arange(self.n, dtype=np.int64)
        self.parent = np.asarray(tree.pidx, dtype=np.int64)
        depth = np.zeros(self.n, dtype=np.int64)
        cur = self.parent.copy()
        while True:
            up = cur >= 0
            if not up.any():
                break
            depth[up] += 1
            cur[up] = self.parent[cur[up]]
        self.levels = [np.flatnonzero(depth == d) for d in range(1, int(depth.max(initial=0)) + 1)]

    def up(self, values: np.ndarray) -> np.ndarray:
        """Subtree sums (each unit included) of per-position ``values`` (rows = positions)."""
        out = values.copy()
        for idx in reversed(self.levels):
            np.add.at(out, self.parent[idx], out[idx])
        return out

    def sums(self, codes: np.ndarray, cols: list[np.ndarray], key: np.ndarray | None = None, k: int = 1,
             min_depth: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
        """Subtree sums of fact rows over every unit (and key value).

        Args:
            codes: :attr:`UnitYears.ids` code of each row's unit (−1: unknown).
            cols: int64 values per row, summed.
            key: Code ``0 … k − 1`` of each row's extra key (−1: missing, row ignored), or None.
            k: Number of key codes.
            min_depth: 1 to leave each unit's own rows out of its sums.

        Returns:
            Whether any row falls in each (position, key) and the sums, as ``(n, k)`` arrays.
        """
        codes = np.asarray(codes, dtype=np.int64)
        pos = self.pos_of[np.maximum(codes, 0)] if len(self.pos_of) else np.full(len(codes), -1, dtype=np.int64)
        keep = (codes >= 0) & (pos >= 0)
        if key is not None:
            keep &= np.asarray(key) >= 0
        flat = pos[keep] if key is None else pos[keep] * k + np.asarray(key, dtype=np.int64)[keep]
        own = [np.bincount(flat, minlength=self.n * k).astype(np.int64).reshape(self.n, k)]
        for v in cols:
            arr = np.zeros(self.n * k, dtype=np.int64)
            np.add.at(arr, flat, np.asarray(v, dtype=np.int64)[keep])
            own.append(arr.reshape(self.n, k))
        total = [self.up(a) for a in own]
        if min_depth >= 1:
            total = [t - a for t, a in zip(total, own, strict=True)]
        return total[0] > 0, total[1:]


def _year_tree(units: pd.DataFrame, year: int) -> _YearTree | None:
    """The :class:`_YearTree` of ``year`` (once per :func:`shared_tree`).

    Returns None when an id of the tree is not a unit id as text (then callers join on the ids).

    Raises:
        hierarchy.HierarchyError: The tree of the year is invalid, as
            :func:`analysis.hierarchy.closure_all_years` raises it.
    """
    c = _shared(units)
    cache: dict[int, _YearTree | None] = c["trees"] if c is not None else {}
    year = int(year)
    if year not in cache:
        tree = hierarchy._tree(units, year)
        if len(tree) and tree.stuck().any():
            hierarchy._closure_arrays(tree)  # raises the cycle error of the closure
        uy = _unit_years(units)
        uy_of = uy.prep_codes(tree.prep)[tree.uc] if len(tree) else np.zeros(0, dtype=np.int64)
        cache[year] = None if (uy_of < 0).any() else _YearTree(tree, uy_of, len(uy.ids))
    return cache[year]


def _plain_ints(df: pd.DataFrame, cols: Iterable[str]) -> bool:
    """Whether every column of ``cols`` is numpy int64 (summed exactly by :class:`_YearTree`)."""
    return all(df[c].dtype == np.int64 for c in cols)


def _rollup(facts: pd.DataFrame, units: pd.DataFrame, years: Iterable[int],
            value_cols: list[str], extra_keys: tuple[str, ...] = (), min_depth: int = 0,
            only: Callable[[int], np.ndarray] | None = None) -> pd.DataFrame:
    """Sum leaf ``value_cols`` onto every ancestor (self included unless ``min_depth`` ≥ 1) per
    year, sorted by year, ancestor id and ``extra_keys``.

    A (year, ancestor, keys) row exists when a fact row of that year and keys (missing keys
    ignored) falls in the ancestor's subtree. int64 values are summed over the year's tree
    (:class:`_YearTree`); other values, or ids that are not text, go through the closure join
    (:func:`_rollup_joined`), which gives the same frame.

    Args:
        facts: ``unit_id``, ``year``, ``extra_keys`` and ``value_cols``.
        units: The units table.
        years: Years rolled up (the trees of these years are built when ``facts`` has rows).
        value_cols: Columns summed.
        extra_keys: Further grouping columns.
        min_depth: 1 to leave each unit's own rows out of its sums.
        only: ``only(year)`` gives a mask over :attr:`UnitYears.ids` of the ancestors wanted; the
            rows of the other ancestors are left out (the rows kept are unchanged).
    """
    years = sorted({int(y) for y in years})
    if not years or not len(facts):
        return pd.DataFrame(columns=["year", "ancestor_id", *extra_keys, *value_cols])
    trees = [_year_tree(units, y) for y in years]
    if min_depth > 1 or any(t is None for t in trees) or not _plain_ints(facts, value_cols):
        out = _rollup_joined(facts, units, years, value_cols, extra_keys, min_depth)
        if only is not None and len(out):
            uy = _unit_years(units)
            keep = np.zeros(len(out), dtype=bool)
            ry = out["year"].to_numpy()
            code = uy.codes(out["ancestor_id"])
            for y in years:
                sel = (ry == y) & (code >= 0)
                keep[sel] = only(y)[code[sel]]
            out = out[keep].reset_index(drop=True)
        return out
    uy = _unit_years(units)
    fy = facts["year"].astype("int64").to_numpy()
    codes = uy.codes(facts["unit_id"].astype(str))
    key = None
    k = 1
    uniques = []
    if extra_keys:
        key = np.zeros(len(facts), dtype=np.int64)
        for col in extra_keys:
            c, u = pd.factorize(facts[col], sort=True)
            key = np.where((key < 0) | (c < 0), -1, key * max(len(u), 1) + c)
            uniques.append(u)
        k = int(np.prod([max(len(u), 1) for u in uniques]))
    parts: dict[str, list] = {"year": [], "anc": [], "key": [], **{c: [] for c in value_cols}}
    for y, yt in zip(years, trees, strict=True):
        sel = fy == y
        present, sums = yt.sums(codes[sel], [facts[c].to_numpy()[sel] for c in value_cols],
                                None if key is None else key[sel], k, min_depth)
        if only is not None:
            present &= only(y)[yt.uy_of][:, None]
        p, kk = np.nonzero(present)
        parts["year"].append(np.full(len(p), y, dtype=np.int64))
        parts["anc"].append(yt.uy_of[p])
        parts["key"].append(kk)
        for c, v in zip(value_cols, sums, strict=True):
            parts[c].append(v[p, kk])
    anc = np.concatenate(parts["anc"])
    out = pd.DataFrame({"year": np.concatenate(parts["year"]),
                        "ancestor_id": pd.array(uy.ids[anc], dtype="str")})
    kk = np.concatenate(parts["key"])
    for col, u in reversed(list(zip(extra_keys, uniques, strict=True))):
        n_u = max(len(u), 1)
        out.insert(2, col, u.take(kk % n_u) if len(u) else pd.array([], dtype=facts[col].dtype))
        kk = kk // n_u
    for c in value_cols:
        out[c] = np.concatenate(parts[c]).astype(np.int64)
    return out


def _rollup_joined(facts: pd.DataFrame, units: pd.DataFrame, years: Iterable[int],
                   value_cols: list[str], extra_keys: tuple[str, ...] = (), min_depth: int = 0) -> pd.DataFrame:
    """:func:`_rollup` by joining the facts to the ancestor closure (any value dtype).

    The facts are first summed per unit, then joined to the closure on integer codes of the ids
    (the closure is coded once per :func:`shared_tree`); integer sums do not depend on the order.
    """
    years = sorted({int(y) for y in years})
    if not years or not len(facts):
        return pd.DataFrame(columns=["year", "ancestor_id", *extra_keys, *value_cols])
    coded = _coded_closure(units, years)
    if coded is None:  # ids that are not text: join on the ids themselves
        cl = hierarchy.closure_all_years(units, years)
        cl = cl[cl["depth"] >= min_depth]
        f = facts.assign(year=facts["year"].astype("int64"), unit_id=facts["unit_id"].astype(str))
        cl = cl.assign(unit_id=cl["unit_id"].astype(str), ancestor_id=cl["ancestor_id"].astype(str))
        j = f.merge(cl[["year", "ancestor_id", "unit_id", "depth"]], on=["year", "unit_id"], how="inner")
        return j.groupby(["year", "ancestor_id", *extra_keys], as_index=False, sort=True)[value_cols].sum()
    cl, uy = coded
    if min_depth:
        cl = cl[cl["depth"].to_numpy() >= min_depth]
    f = pd.DataFrame({"year": facts["year"].astype("int64").to_numpy(),
                      "unit": uy.codes(facts["unit_id"].astype(str))})
    for k in (*extra_keys, *value_cols):
        f[k] = facts[k].array if isinstance(facts[k].dtype, pd.api.extensions.ExtensionDtype) \
            else facts[k].to_numpy()
    f = f[f["unit"].to_numpy() >= 0]
    f = f.groupby(["year", "unit", *extra_keys], as_index=False, sort=False)[value_cols].sum()
    j = f.merge(cl[["year", "unit", "ancestor"]], on=["year", "unit"], how="inner")
    g = j.groupby(["year", "ancestor", *extra_keys], as_index=False, sort=True)[value_cols].sum()
    anc = g.pop("ancestor").to_numpy()
    g.insert(1, "ancestor_id", pd.array(uy.ids[anc], dtype="str"))
    return g


def member_quota_findings(units: pd.DataFrame, member_ratings: pd.DataFrame, scope: Scope,
                          lang: str = "vi") -> list[dict]:
    """The level-1 member quota of the scheme in force, per grassroots organisation and year."""
    years = [int(y) for y in pd.unique(member_ratings["year"].dropna())
             if scope.has_year(int(y)) and ratings.quota_applies(int(y))]
    if not years:
        return []
    mr = member_ratings[member_ratings["year"].isin(years)]
    mr = mr.assign(members_count=mr["members_count"].fillna(0).astype("int64"))
    uy = _unit_years(units)
    rolled = _rollup(mr[["unit_id", "year", "rating_rank", "members_count"]].dropna(subset=["rating_rank"]),
                     units, years, ["members_count"], ("rating_rank",), only=lambda y: uy.mask(y, "co_so"))
    ry = rolled["year"].astype("int64").to_numpy()  # the roll-up kept grassroots organisations only
    keep = scope.mask(pd.DataFrame({"unit_id": rolled["ancestor_id"].to_numpy(), "year": ry}))
    rolled = rolled[keep].rename(columns={"ancestor_id": "unit_id"})
    if not len(rolled):
        return []
    q = ratings.check_member_quota(rolled)
    schemes = ratings.load_schemes()
    out = []
    for r in q[~q["is_within"]].itertuples(index=False):
        rule = schemes.get(str(r.scheme_id)).quota
        note = msg.word("quota_source" if rule.confirmed_in_primary_text else "quota_unconfirmed",
                        lang, source=rule.source)
        out.append(finding(
            "cross.member_quota", "critical", "member_ratings", [r.unit_id],
            [{"unit_id": str(r.unit_id), "year": int(r.year)}],
            msg.say("cross.member_quota", lang, unit=r.unit_id, year=int(r.year), scheme=r.scheme_id,
                    level1=int(r.level1_count), level2=int(r.level2_count), pct=rule.max_pct_of_level2,
                    limit=int(r.limit_count), note=note),
            {"level1_count": int(r.level1_count), "level2_count": int(r.level2_count),
             "limit_count": int(r.limit_count), "max_pct_of_level2": rule.max_pct_of_level2}))
    return out


# ---------------------------------------------------------------------------------------------
# Over time
# ---------------------------------------------------------------------------------------------


#: The indicators of :func:`indicator_frame`, in the order of its rows.
INDICATORS = ("coverage_members", "member_rank1_share", "members", "unit_rank1_share")


@dataclass
class IndicatorFacts:
    """The fact columns :func:`indicator_frame` rolls up, as aligned arrays.

    ``codes`` are positions in :attr:`UnitYears.ids` (−1: unknown unit), ``years`` int64, counts
    int64 with missing counts as 0. A table is None when it was not given or had no row (its
    indicators are then left out, as :func:`indicator_frame` leaves them out).

    Attributes:
        membership: ``(codes, years, members_total, eligible)`` of the rows with a unit and a year;
            ``eligible`` is ``max(members_total − members_exempt, 0)`` per row.
        study: ``(codes, years, attended, exempt_attended)`` of the study rows of a campaign that has
            a year (that year); only when ``membership`` is given.
        n_campaigns: Campaigns per year (campaigns with a year).
        member_ratings: ``(codes, years, assessed, rank1)`` of the rows with a rank, unit and year.
        unit_ratings: ``(codes, years, rank1)`` of the rows with a rank, unit and year.
        unit_rating_years: Years of the ``unit_ratings`` rows (before the unit lookup).
    """

    membership: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    study: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    n_campaigns: dict[int, int] | None = None
    member_ratings: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    unit_ratings: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    unit_rating_years: frozenset[int] = frozenset()


def _i64(s: pd.Series) -> np.ndarray:
    """The values as int64, missing values as 0."""
    return s.fillna(0).astype("int64").to_numpy()


def _campaign_rows(df: pd.DataFrame, camps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """The rows of ``df`` whose ``campaign_id`` is in ``camps`` and the position of that campaign in
    ``camps`` (how an inner merge on ``campaign_id`` pairs them, in ``df``'s order), or None when a
    merge is needed (campaign ids repeated, missing or not text)."""
    ids = camps["campaign_id"]
    if not (isinstance(df["campaign_id"].dtype, pd.StringDtype) and isinstance(ids.dtype, pd.StringDtype)) \
            or ids.isna().any() or ids.duplicated().any():
        return None
    idx = index_in(df["campaign_id"], ids)
    rows = np.flatnonzero(idx >= 0)
    return rows, idx[rows]


def indicator_facts(units: pd.DataFrame, facts: dict[str, pd.DataFrame | None],
                    campaigns: pd.DataFrame | None, known_only: bool = False) -> IndicatorFacts | None:
    """The :class:`IndicatorFacts` of canonical fact frames (what :func:`indicator_frame` reads).

    Args:
        units: The units table.
        facts: Fact frames, as :func:`indicator_frame` takes them.
        campaigns: The campaigns table.
        known_only: Read only the rows of units in ``units`` (as if the frames were filtered to them).

    Returns:
        The arrays, or None when the study rows must be paired with their campaigns by a merge
        (repeated or non-text campaign ids).
    """
    uy = _unit_years(units)
    out = IndicatorFacts()
    codes: dict[str, np.ndarray] = {}
    for name, f in list(facts.items()):
        if f is not None and len(f):
            codes[name] = uy.codes(f["unit_id"])
            if known_only:
                facts = {**facts, name: f[codes[name] >= 0]}
                codes[name] = codes[name][codes[name] >= 0]

    def rows_with(f: pd.DataFrame, cols: list[str]) -> np.ndarray:
        return np.logical_and.reduce([f[c].notna().to_numpy(dtype=bool) for c in cols])

    ms = facts.get("membership")
    if ms is not None and len(ms):
        ok = rows_with(ms, ["unit_id", "year"])
        eligible = (ms["members_total"].fillna(0) - ms["members_exempt"].fillna(0)).clip(lower=0)
        out.membership = (codes["membership"][ok], ms["year"][ok].astype("int64").to_numpy(),
                          _i64(ms["members_total"])[ok], eligible.astype("int64").to_numpy()[ok])
        sp = facts.get("study_participation")
        if sp is not None and campaigns is not None and len(sp):
            camps = campaigns.dropna(subset=["year"])
            out.n_campaigns = campaigns_per_year(camps)
            paired = _campaign_rows(sp, camps)
            if paired is None:
                return None
            rows, idx = paired
            s = sp.iloc[rows]
            ex_att = (_i64(s["members_exempt_attended"]) if "members_exempt_attended" in s
                      else np.zeros(len(s), dtype=np.int64))
            out.study = (codes["study_participation"][rows], camps["year"].astype("int64").to_numpy()[idx],
                         _i64(s["members_attended"]), ex_att)
    mr = facts.get("member_ratings")
    if mr is not None and len(mr):
        ok = rows_with(mr, ["rating_rank", "unit_id", "year"])
        x = mr[ok]
        assessed = _i64(x["members_count"])
        rank1 = np.where((x["rating_rank"] == 1).to_numpy(dtype=bool), assessed, 0)
        out.member_ratings = (codes["member_ratings"][ok], x["year"].astype("int64").to_numpy(), assessed, rank1)
    ur = facts.get("unit_ratings")
    if ur is not None and len(ur):
        ok = rows_with(ur, ["rating_rank", "unit_id", "year"])
        x = ur[ok]
        out.unit_ratings = (codes["unit_ratings"][ok], x["year"].astype("int64").to_numpy(),
                            (x["rating_rank"] == 1).astype("int64").to_numpy())
    return out


def campaigns_per_year(campaigns: pd.DataFrame) -> dict[int, int]:
    """Number of distinct campaigns of each year (campaigns without a year left out)."""
    named = campaigns.dropna(subset=["year"])
    return {int(y): int(n) for y, n in named.groupby("year")["campaign_id"].nunique().items()}


def indicator_frame(units: pd.DataFrame, facts: dict[str, pd.DataFrame | None],
                    campaigns: pd.DataFrame | None, years: Iterable[int],
                    only: np.ndarray | None = None, known_only: bool = False) -> pd.DataFrame:
    """Indicators of every unit (rolled up over its leaves) per year.

    Each figure is a subtree sum over the tree of its year (:class:`_YearTree`): shares of
    integer counts, the same as summing over the ancestor closure.

    Args:
        units: The units table.
        facts: ``membership``, ``study_participation``, ``member_ratings``, ``unit_ratings``
            (canonical frames; a missing one is left out).
        campaigns: The campaigns table (the year of each study row).
        years: Years computed.
        only: Mask over :attr:`UnitYears.ids`: keep only the rows of these units (their values
            do not depend on it).
        known_only: Leave out the fact rows of units not in ``units`` first.

    Returns:
        Long frame: ``year``, ``unit_id``, ``indicator`` (``members``, ``coverage_members``,
        ``member_rank1_share``, ``unit_rank1_share``), ``value`` (shares in %), ``base`` (the
        denominator, or the value itself for ``members``), sorted by indicator, unit and year.

    Raises:
        hierarchy.HierarchyError: The tree of a year with facts is invalid.
    """
    f = indicator_facts(units, facts, campaigns, known_only)
    out = None if f is None else indicator_frame_of(units, f, years, only)
    if out is not None:
        return out
    if known_only:
        uy = _unit_years(units)
        facts = {n: (None if f is None else f[uy.codes(f["unit_id"]) >= 0]) for n, f in facts.items()}
    out = _indicator_frame_joined(units, facts, campaigns, years)
    if only is not None and len(out):
        code = _unit_years(units).codes(out["unit_id"])
        out = out[(code >= 0) & only[np.where(code >= 0, code, 0)]].reset_index(drop=True)
    return out


def indicator_frame_of(units: pd.DataFrame, facts: IndicatorFacts, years: Iterable[int],
                       only: np.ndarray | None = None) -> pd.DataFrame | None:
    """:func:`indicator_frame` of facts given as arrays (:class:`IndicatorFacts`).

    Returns None when an id of a tree is not a unit id as text (then only the closure join of
    :func:`indicator_frame` applies).
    """
    years = sorted({int(y) for y in years})
    uy = _unit_years(units)
    got: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {i: [] for i in INDICATORS}
    any_part = False

    def trees(ys: list[int], rows: tuple | None) -> list[_YearTree | None]:
        # the trees are built for every year asked as soon as the table has rows (as the closure was)
        return [_year_tree(units, y) for y in ys] if rows is not None and len(rows[0]) else []

    def sums(yt: _YearTree, rows: tuple, y: int, min_depth: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
        sel = rows[1] == y
        present, total = yt.sums(rows[0][sel], [c[sel] for c in rows[2:]], min_depth=min_depth)
        if only is not None:
            present = present & only[yt.uy_of][:, None]
        return present[:, 0], [t[:, 0] for t in total]

    def add(indicator: str, yt: _YearTree, y: int, keep: np.ndarray, value: np.ndarray, base: np.ndarray) -> None:
        p = np.flatnonzero(keep)
        got[indicator].append((yt.uy_of[p], np.full(len(p), y, dtype=np.int64), value[p], base[p]))

    m, s = facts.membership, facts.study
    tm, ts = trees(years, m), trees(years, s)
    if any(t is None for t in (*tm, *ts)):
        return None
    if m is not None:
        any_part = True
        for i, y in enumerate(years):
            m_in, (total, eligible) = sums(tm[i], m, y) if tm else (np.zeros(0, bool), [np.zeros(0)] * 2)
            if not len(m_in):
                continue
            add("members", tm[i], y, m_in, total.astype(float), total.astype(float))
            if not ts:
                continue
            s_in, (att, ex_att) = sums(ts[i], s, y)
            # exempt members who attended count in the denominator (HD 01-HD/TW 13.2)
            den = eligible * (facts.n_campaigns or {}).get(y, 0) + ex_att
            with np.errstate(invalid="ignore", divide="ignore"):
                value = 100.0 * att.astype(float) / den.astype(float)
            add("coverage_members", tm[i], y, m_in & s_in & (den > 0), value, eligible.astype(float))
    mr = facts.member_ratings
    if mr is not None:
        any_part = True
        tr = trees(years, mr)
        if any(t is None for t in tr):
            return None
        for yt, y in zip(tr, years if tr else [], strict=True):
            r_in, (assessed, rank1) = sums(yt, mr, y)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = 100.0 * rank1.astype(float) / assessed.astype(float)
            add("member_rank1_share", yt, y, r_in & (assessed > 0), value, assessed.astype(float))
    ur = facts.unit_ratings
    yrs = sorted(set(years) & set(np.unique(ur[1]).tolist())) if ur is not None else []
    if yrs:
        any_part = True
        tu = trees(yrs, ur)
        if any(t is None for t in tu):
            return None
        rows = (ur[0], ur[1], np.ones(len(ur[0]), dtype=np.int64), ur[2])
        for yt, y in zip(tu, yrs, strict=True):
            u_in, (rated, rank1) = sums(yt, rows, y, min_depth=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = 100.0 * rank1.astype(float) / rated.astype(float)
            add("unit_rank1_share", yt, y, u_in, value, rated.astype(float))
    if not any_part:
        return pd.DataFrame(columns=["year", "unit_id", "indicator", "value", "base"])
    cols: list[list[np.ndarray]] = [[], [], [], [], []]
    for k, indicator in enumerate(INDICATORS):
        for unit, year, value, base in got[indicator]:
            for c, a in zip(cols, (np.full(len(unit), k, dtype=np.int64), unit, year, value, base), strict=True):
                c.append(a)
    ind, unit, year, value, base = (np.concatenate(c) if c else np.zeros(0) for c in cols)
    order = np.lexsort((year, unit, ind))
    unit = unit[order].astype(np.int64)
    return pd.DataFrame({"year": year[order].astype(np.int64),
                         "unit_id": pd.array(uy.ids[unit], dtype="str"),
                         "indicator": pd.array(np.asarray(INDICATORS, dtype=object)[ind[order].astype(np.int64)],
                                               dtype="str"),
                         "value": value[order].astype(float), "base": base[order].astype(float)})


def _indicator_frame_joined(units: pd.DataFrame, facts: dict[str, pd.DataFrame | None],
                            campaigns: pd.DataFrame | None, years: Iterable[int]) -> pd.DataFrame:
    """:func:`indicator_frame` through the closure join (:func:`_rollup_joined`), for ids that are
    not text and campaign ids that repeat."""
    years = sorted({int(y) for y in years})
    parts = []
    ms = facts.get("membership")
    if ms is not None and len(ms):
        m = ms.dropna(subset=["unit_id", "year"]).assign(
            members_total=ms["members_total"].fillna(0).astype("int64"),
            eligible=(ms["members_total"].fillna(0) - ms["members_exempt"].fillna(0)).clip(lower=0)
            .astype("int64"))
        r = _rollup_joined(m[["unit_id", "year", "members_total", "eligible"]], units, years,
                    ["members_total", "eligible"])
        parts.append(pd.DataFrame({"year": r["year"], "unit_id": r["ancestor_id"], "indicator": "members",
                                   "value": r["members_total"].astype(float),
                                   "base": r["members_total"].astype(float)}))
        sp = facts.get("study_participation")
        if sp is not None and campaigns is not None and len(sp):
            camps = campaigns.dropna(subset=["year"])
            n_camps = campaigns_per_year(camps)
            s = sp.merge(camps[["campaign_id", "year"]], on="campaign_id", how="inner")
            ex_att = (s["members_exempt_attended"].fillna(0).astype("int64") if "members_exempt_attended" in s
                      else 0)
            s = s.assign(att=s["members_attended"].fillna(0).astype("int64"), ex_att=ex_att)
            sr = _rollup_joined(s[["unit_id", "year", "att", "ex_att"]], units, years, ["att", "ex_att"])
            j = r.merge(sr, on=["year", "ancestor_id"], how="inner")
            # exempt members who attended count in the denominator (HD 01-HD/TW 13.2)
            den = j["eligible"] * j["year"].map(n_camps).fillna(0) + j["ex_att"]
            ok = den > 0
            parts.append(pd.DataFrame({"year": j["year"][ok], "unit_id": j["ancestor_id"][ok],
                                       "indicator": "coverage_members",
                                       "value": 100.0 * j["att"][ok] / den[ok], "base": j["eligible"][ok]
                                       .astype(float)}))
    mr = facts.get("member_ratings")
    if mr is not None and len(mr):
        x = mr.dropna(subset=["rating_rank", "unit_id", "year"])
        x = x.assign(assessed=x["members_count"].fillna(0).astype("int64"),
                     rank1=x["members_count"].fillna(0).astype("int64").where(x["rating_rank"] == 1, 0))
        rr = _rollup_joined(x[["unit_id", "year", "assessed", "rank1"]], units, years, ["assessed", "rank1"])
        rr = rr[rr["assessed"] > 0]
        parts.append(pd.DataFrame({"year": rr["year"], "unit_id": rr["ancestor_id"],
                                   "indicator": "member_rank1_share",
                                   "value": 100.0 * rr["rank1"] / rr["assessed"],
                                   "base": rr["assessed"].astype(float)}))
    ur = facts.get("unit_ratings")
    if ur is not None and len(ur):
        x = ur.dropna(subset=["rating_rank", "unit_id", "year"])
        x = x.assign(rated=1, rank1=(x["rating_rank"] == 1).astype("int64"))
        yrs = sorted(set(years) & {int(y) for y in x["year"]})
        if yrs:
            g = _rollup_joined(x[["unit_id", "year", "rated", "rank1"]], units, yrs, ["rated", "rank1"], min_depth=1)
            parts.append(pd.DataFrame({"year": g["year"], "unit_id": g["ancestor_id"],
                                       "indicator": "unit_rank1_share",
                                       "value": 100.0 * g["rank1"] / g["rated"],
                                       "base": g["rated"].astype(float)}))
    if not parts:
        return pd.DataFrame(columns=["year", "unit_id", "indicator", "value", "base"])
    out = pd.concat(parts, ignore_index=True)
    out["year"] = out["year"].astype("int64")
    out["unit_id"] = out["unit_id"].astype(str)
    return out.sort_values(["indicator", "unit_id", "year"], kind="mergesort").reset_index(drop=True)


def _fmt(indicator: str, value: float, lang: str) -> str:
    return format_number(value, 0, lang) if indicator == "members" else format_pct(value, 1, lang)


def _scheme(year: int) -> str | None:
    try:
        return ratings.scheme_for_year(year)
    except ratings.SchemeError:
        return None


def _unit_year_key(ind: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """An int64 key per row of ``ind`` combining ``keys`` (factorised) and ``year``.

    Returns the keys, the years (int64) and the year offset ``lo`` such that the key of the same
    series ``k`` years earlier is ``key − k`` whenever ``year − k ≥ lo``.
    """
    codes = np.zeros(len(ind), dtype=np.int64)
    for k in keys:
        c, uniq = pd.factorize(ind[k], sort=False)
        codes = codes * max(len(uniq), 1) + c.astype(np.int64)
    years = ind["year"].to_numpy(dtype=np.int64)
    lo = int(years.min()) if len(years) else 0
    span = (int(years.max()) - lo + 1) if len(years) else 1
    return codes * span + (years - lo), years, lo


def consistency_frame(ind: pd.DataFrame, scope: Scope, thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """The indicator values that :func:`consistency_findings` reports, as one vectorised frame.

    For every (indicator, unit, year) of ``ind`` whose three previous years exist: the values of
    those years (``v3``, ``v2``, ``v1`` for year − 3, − 2, − 1), their mean (``mean``) and the
    relative change (``change``); only the rows that pass every rule of the check are returned,
    sorted by indicator, unit and year (the order of the findings).

    A duplicated (indicator, unit, year) keeps its last row; rows without an indicator or unit are
    ignored.

    Example:
        >>> ind = pd.DataFrame({"year": [2011, 2012, 2013, 2014], "unit_id": "a", "indicator": "members",
        ...                     "value": [100.0, 110, 90, 150], "base": [100.0, 110, 90, 150]})
        >>> consistency_frame(ind, Scope())[["year", "mean", "change"]].round(2).to_dict("records")
        [{'year': 2014, 'mean': 100.0, 'change': 0.5}]
    """
    cols = ["indicator", "unit_id", "year", "value", "base", "v3", "v2", "v1", "mean", "change"]
    d = ind.dropna(subset=["indicator", "unit_id"])
    d = d.drop_duplicates(["indicator", "unit_id", "year"], keep="last").reset_index(drop=True)
    if not len(d):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    key, years, lo = _unit_year_key(d, ["indicator", "unit_id"])
    index = pd.Index(key)
    value = d["value"].to_numpy(dtype=float, na_value=np.nan)
    base = d["base"].to_numpy(dtype=float, na_value=np.nan)
    pos = {}
    for k in (1, 2, 3):
        p = index.get_indexer(key - k)
        p[years - k < lo] = -1
        pos[k] = p
    ok = (pos[1] >= 0) & (pos[2] >= 0) & (pos[3] >= 0)
    ok &= scope.mask(d)
    indicator = d["indicator"].astype(str).to_numpy(dtype=object)
    ind_code, ind_names = pd.factorize(indicator)
    is_share = np.array([str(i).endswith("rank1_share") for i in ind_names], dtype=bool)[ind_code]
    if is_share.any():  # a rating scheme change is a series break, never compared across
        scheme_code = {y: _scheme(y) for y in range(lo - 3, int(years.max()) + 1)}
        codes = pd.factorize(pd.Series([scheme_code[int(y)] for y in range(lo - 3, int(years.max()) + 1)],
                                       dtype=object), use_na_sentinel=False)[0]
        sc = codes[years - (lo - 3)]
        same = (sc == codes[years - 1 - (lo - 3)]) & (sc == codes[years - 2 - (lo - 3)]) & \
            (sc == codes[years - 3 - (lo - 3)])
        ok &= ~is_share | same
    take = np.flatnonzero(ok)
    if not len(take):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    p1, p2, p3 = pos[1][take], pos[2][take], pos[3][take]
    v0, v1, v2, v3 = value[take], value[p1], value[p2], value[p3]
    b0, b1, b2, b3 = base[take], base[p1], base[p2], base[p3]
    min_base = np.where(indicator[take] == "unit_rank1_share", thresholds.min_subunits,
                        thresholds.min_members).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        # min() over [b3, b2, b1, b0] as Python computes it (a NaN first element stays the minimum)
        small = ~np.isnan(b3) & ((b3 < min_base) | (b2 < min_base) | (b1 < min_base) | (b0 < min_base))
        mean = ((v3 + v2) + v1) / 3.0  # the same rounding as np.mean of the three values
        change = v0 / mean - 1.0
        keep = ~small & ~(mean <= 0) & ~(np.abs(change) <= thresholds.max_change)
        noise = thresholds.min_share_z * share_sd_array(mean, b0)
        keep &= (indicator[take] == "members") | ~(np.abs(v0 - mean) <= noise)
    sel = take[keep]
    out = pd.DataFrame({"indicator": d["indicator"].to_numpy(dtype=object)[sel],
                        "unit_id": d["unit_id"].to_numpy(dtype=object)[sel],
                        "year": years[sel], "value": v0[keep], "base": b0[keep],
                        "v3": v3[keep], "v2": v2[keep], "v1": v1[keep], "mean": mean[keep],
                        "change": change[keep]})
    return out.sort_values(["indicator", "unit_id", "year"], kind="mergesort").reset_index(drop=True)


def consistency_findings(ind: pd.DataFrame, scope: Scope, thresholds: Thresholds = Thresholds(),
                         lang: str = "vi") -> list[dict]:
    """Value vs the mean of the three previous years (WHO DQR consistency over time).

    The rules are applied to the whole frame at once (:func:`consistency_frame`); only the
    flagged values are turned into findings.
    """
    out = []
    flagged = consistency_frame(ind, scope, thresholds)
    for r in flagged.itertuples(index=False):
        indicator, unit, year = r.indicator, r.unit_id, int(r.year)
        value, mean, change = float(r.value), float(r.mean), float(r.change)
        prev = [year - 3, year - 2, year - 1]
        prev_values = dict(zip(prev, (r.v3, r.v2, r.v1), strict=True))
        name = msg.indicator_name(indicator, lang)
        history = ", ".join(f"{p}: {_fmt(indicator, prev_values[p], lang)}" for p in prev)
        sign = "+" if change > 0 else "−"
        out.append(finding(
            "trend.consistency", "warning", _TABLE_OF[indicator], [unit],
            [{"unit_id": unit, "year": year}],
            msg.say("trend.consistency", lang, indicator=name, unit=unit, year=year,
                    value=_fmt(indicator, value, lang), change=sign + format_pct(abs(change) * 100, 1, lang),
                    mean=_fmt(indicator, mean, lang), history=history,
                    threshold=format_pct(thresholds.max_change * 100, 0, lang)),
            {"indicator": indicator, "year": year, "value": round(value, 2),
             "mean_previous_3": round(mean, 2), "change_pct": round(change * 100, 2),
             "previous": {str(p): round(float(prev_values[p]), 2) for p in prev}}))
    return out


_TABLE_OF = {"members": "membership", "coverage_members": "study_participation",
             "member_rank1_share": "member_ratings", "unit_rank1_share": "unit_ratings"}


def modified_z(values: np.ndarray, floor: np.ndarray | float = 0.0) -> np.ndarray:
    """Modified z-scores ``0.6745 (x − median) / MAD`` (Iglewicz & Hoaglin).

    Args:
        values: The values of one group.
        floor: Smallest spread allowed per value, as a standard deviation (e.g. the binomial
            sampling error of a share); the MAD used is at least ``0.6745 × floor``.

    When the MAD and the floor are both 0 the mean absolute deviation is used
    (``(x − median) / (1.253314 · meanAD)``); when that is 0 too every score is 0.

    Example:
        >>> modified_z(np.array([10.0, 11, 12, 11, 10, 40])).round(1).tolist()
        [-0.7, 0.0, 0.7, 0.0, -0.7, 19.6]
    """
    med = float(np.median(values))
    dev = np.abs(values - med)
    mad = np.maximum(float(np.median(dev)), 0.6745 * np.asarray(floor, dtype=float))
    if np.all(mad > 0):
        return 0.6745 * (values - med) / mad
    mean_ad = float(np.mean(dev))
    if mean_ad > 0:
        return (values - med) / (1.253314 * mean_ad)
    return np.zeros(len(values))


def share_sd_array(pct: np.ndarray, base: np.ndarray) -> np.ndarray:
    """:func:`share_sd` of each (share, base) pair (same rounding, element by element)."""
    n = np.maximum(np.asarray(base, dtype=float), 1.0)
    p = (np.clip(np.asarray(pct, dtype=float) / 100.0, 0.0, 1.0) * n + 0.5) / (n + 1.0)
    return 100.0 * np.sqrt(p * (1 - p) / n)


def share_sd(pct: float, base: np.ndarray | float) -> np.ndarray:
    """Binomial sampling spread (in percentage points) of a share ``pct`` over ``base`` people.

    Example:
        >>> round(float(share_sd(90.0, 100)), 1), round(float(share_sd(100.0, 20)), 1)
        (3.1, 3.4)
    """
    n = np.maximum(np.asarray(base, dtype=float), 1.0)
    p = (min(max(pct / 100.0, 0.0), 1.0) * n + 0.5) / (n + 1.0)  # 0% and 100% still have a spread
    return 100.0 * np.sqrt(p * (1 - p) / n)


def group_median(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """``np.median`` of ``values`` within each group (codes ``0 … n_groups − 1``), vectorised.

    Gives exactly ``np.median`` of each group's values (the middle value, or the mean of the two
    middle values), NaN for a group holding a NaN or no value.

    Example:
        >>> group_median(np.array([0, 0, 1, 1, 1]), np.array([1.0, 4, 5, 2, 9]), 2).tolist()
        [2.5, 5.0]
    """
    group = np.asarray(group, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    counts = np.bincount(group, minlength=n_groups)
    out = np.full(n_groups, np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, group))  # NaN sorts last within its group
    ordered = values[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    has = counts > 0
    mid = starts + counts // 2
    hi = ordered[np.minimum(mid, len(values) - 1)]
    lo_ = ordered[np.clip(mid - 1, 0, len(values) - 1)]
    even = counts % 2 == 0
    med = np.where(even, (lo_ + hi) / 2, hi)
    has_nan = np.bincount(group, weights=np.isnan(values).astype(float), minlength=n_groups) > 0
    out[has & ~has_nan] = med[has & ~has_nan]
    return out


def modified_z_grouped(group: np.ndarray, values: np.ndarray, floor: np.ndarray,
                       n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`modified_z` of each group at once, with a per-value ``floor``.

    Returns the z-scores (aligned to ``values``) and the median of each group. Groups that need
    the mean-absolute-deviation fallback (MAD and floor both 0 for some value) or hold a NaN are
    computed by :func:`modified_z` itself, so the result is identical group by group.
    """
    group = np.asarray(group, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    floor = np.broadcast_to(np.asarray(floor, dtype=float), values.shape)
    med = group_median(group, values, n_groups)
    dev = np.abs(values - med[group])
    mad_g = group_median(group, dev, n_groups)
    mad = np.maximum(mad_g[group], 0.6745 * floor)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = 0.6745 * (values - med[group]) / mad
    slow = np.bincount(group, weights=(~(mad > 0)).astype(float), minlength=n_groups) > 0
    slow |= np.isnan(med)
    for g in np.flatnonzero(slow & (np.bincount(group, minlength=n_groups) > 0)):
        sel = group == g
        z[sel] = modified_z(values[sel], floor[sel])
    return z, med


def _with_parents(sy: pd.DataFrame, uy: UnitYears) -> pd.DataFrame:
    """The rows of ``sy`` (``year``, ``unit_id``) whose unit is active that year with a parent, in
    their order, with that ``parent`` (the inner merge with the active units, by lookup)."""
    years = sy["year"].to_numpy(dtype=np.int64)
    codes = uy.codes(sy["unit_id"])
    parent = np.full(len(sy), None, dtype=object)
    for year in np.unique(years):
        act_codes, act_parents = uy.active_parents(int(year))
        row_of = np.full(len(uy.ids), -1, dtype=np.int64)
        row_of[act_codes[act_codes >= 0]] = np.flatnonzero(act_codes >= 0)
        sel = np.flatnonzero((years == year) & (codes >= 0))
        rows = row_of[codes[sel]]
        sel, rows = sel[rows >= 0], rows[rows >= 0]
        parent[sel] = act_parents[rows]
    keep = np.array([p is not None for p in parent], dtype=bool)
    return sy[keep].reset_index(drop=True).assign(parent=parent[keep])


def outlier_findings(ind: pd.DataFrame, units: pd.DataFrame, scope: Scope,
                     thresholds: Thresholds = Thresholds(), lang: str = "vi") -> list[dict]:
    """Sibling units (same parent, same year) whose share is an outlier by modified z-score.

    Every (year, indicator, parent) group is scored at once (:func:`modified_z_grouped`); only
    the outliers are turned into findings.
    """
    shares = ind[ind["indicator"].isin(["coverage_members", "member_rank1_share"])
                 & (ind["base"] >= thresholds.min_sibling_base)]
    if scope.years is not None:
        shares = shares[shares["year"].isin([int(y) for y in scope.years])]
    if not len(shares):
        return []
    sy = pd.DataFrame({"year": shares["year"].to_numpy(dtype=np.int64),
                       "unit_id": shares["unit_id"].to_numpy(dtype=object),
                       "indicator": shares["indicator"].to_numpy(dtype=object),
                       "value": shares["value"].to_numpy(dtype=float, na_value=np.nan),
                       "base": shares["base"].to_numpy(dtype=float, na_value=np.nan),
                       "pos": np.arange(len(shares))})
    sy = _with_parents(sy, _unit_years(units))
    if not len(sy):
        return []
    gid = np.zeros(len(sy), dtype=np.int64)
    for k in ("year", "indicator", "parent"):  # codes in sorted order of each key: groups sort as tuples
        c, uniq = pd.factorize(sy[k], sort=True)
        gid = gid * max(len(uniq), 1) + c
    gid = np.unique(gid, return_inverse=True)[1].reshape(-1)
    n_groups = int(gid.max()) + 1
    size = np.bincount(gid, minlength=n_groups)
    big = size[gid] >= thresholds.min_siblings
    sy, gid = sy[big].reset_index(drop=True), gid[big]
    if not len(sy):
        return []
    values = sy["value"].to_numpy()
    med = group_median(gid, values, n_groups)
    z, med = modified_z_grouped(gid, values, share_sd_array(med[gid], sy["base"].to_numpy()), n_groups)
    hit = ~(np.abs(z) <= thresholds.max_z)
    hit &= scope.mask(sy)
    flagged = sy.assign(z=z, med=med[gid], n=size[gid], gid=gid)[hit].sort_values(["gid", "pos"])
    out = []
    for r in flagged.itertuples(index=False):
        indicator, unit, year, value, zi, med_g = r.indicator, r.unit_id, int(r.year), r.value, r.z, float(r.med)
        out.append(finding(
            "trend.outlier", "warning", _TABLE_OF[indicator], [unit],
            [{"unit_id": unit, "year": year}],
            msg.say("trend.outlier", lang, indicator=msg.indicator_name(indicator, lang),
                    unit=unit, year=year, value=_fmt(indicator, value, lang), n=int(r.n),
                    parent=r.parent, median=_fmt(indicator, med_g, lang),
                    z=format_number(float(zi), 1, lang),
                    threshold=format_number(thresholds.max_z, 1, lang)),
            {"indicator": indicator, "year": year, "value": round(float(value), 2),
             "sibling_median": round(med_g, 2), "modified_z": round(float(zi), 2),
             "siblings": int(r.n), "parent_id": str(r.parent)}))
    return out
